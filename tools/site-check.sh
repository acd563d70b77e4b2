#!/bin/sh
# Browser check of the pkgdown site (issue 13): serves site/ on localhost,
# opens the home page, one reference page and one vignette in headless
# Chromium (Debian's chromium), keeps a screenshot of each in
# build/site-check/ and fails when a page logs a console error.
# Run after `make site`: sh tools/site-check.sh [site-dir] [port]
# Debian 12's pkgdown 2.0.7 pages load their libraries from CDNs;
# `make site` runs tools/site-offline.R, which points them at local copies
# in site/deps/offline/, so a page that logs an error here is a real fault.
SITE=${1:-site}
PORT=${2:-8765}
OUT=build/site-check
command -v chromium > /dev/null 2>&1 || { echo "site-check: skipped, no chromium (apt-get install chromium)"; exit 0; }
[ -f "$SITE/index.html" ] || { echo "site-check: $SITE/index.html missing; run make site first"; exit 1; }
mkdir -p "$OUT"
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$SITE" > "$OUT/http.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 1
status=0
for page in index.html reference/mx.model.FeedForward.create.html articles/get-started.html; do
  name=$(echo "$page" | tr '/' '_' | sed 's/\.html$//')
  timeout 120 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
    --window-size=1280,1600 --screenshot="$OUT/$name.png" "http://127.0.0.1:$PORT/$page" \
    > "$OUT/$name.log" 2>&1
  # console messages are logged as INFO:CONSOLE; errors among them say so
  errs=$(grep 'CONSOLE' "$OUT/$name.log" | grep -i 'error\|uncaught\|not allowed\|failed to load')
  if [ ! -s "$OUT/$name.png" ]; then
    echo "FAIL $page: no screenshot"; status=1
  elif [ -n "$errs" ]; then
    echo "FAIL $page: console errors:"; echo "$errs"; status=1
  else
    echo "ok   $page ($OUT/$name.png)"
  fi
done
exit $status
