#!/bin/sh
# asan-check.sh -- run the testthat suite against a build of the package with
# AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   tools/asan-check.sh [regexp]     (from anywhere; regexp selects test files)
#   tools/asan-check.sh --build-only (step 1 only; prints how to run R on it)
#
# 1. copies the package sources of this worktree (found from this script's
#    location) to $ASAN_CHECK_DIR/src, so the worktree's own objects are not
#    touched, and installs them with R CMD INSTALL into $ASAN_CHECK_DIR/lib,
#    compiled with -fsanitize=address,undefined through a private Makevars
#    (R_MAKEVARS_USER);
# 2. runs every tests/testthat/test-*.R in its own R process with libasan
#    preloaded, so one report does not hide the files after it;
# 3. prints one line per file and a total; logs stay in $ASAN_CHECK_DIR/logs.
#
# Environment: ASAN_CHECK_DIR (default <repo>/build/asan, ignored by git),
# OMP_THREAD_LIMIT (default 2), ASAN_CHECK_POOL_LIMIT (default 0: the
# engine's block cache is off, mx.memory.limit(0), so that freed NDArray
# memory goes back to malloc where AddressSanitizer sees a use after free;
# set it to "keep" to leave the default cache).
# Exit status: 0 when no file had a sanitizer report or crashed (test
# failures are listed but do not count), 1 otherwise, 2 when the build failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=${ASAN_CHECK_DIR:-"$repo/build/asan"}
filter=${1:-.}
build_only=no
[ "$filter" = --build-only ] && build_only=yes
pool=${ASAN_CHECK_POOL_LIMIT:-0}
export OMP_THREAD_LIMIT="${OMP_THREAD_LIMIT:-2}"
cc=$(R CMD config CC)
libasan=$($cc -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
  echo "asan-check: $cc has no libasan.so" >&2
  exit 2
fi

rm -rf "$work"
mkdir -p "$work/src" "$work/lib" "$work/logs"
(cd "$repo" && tar --exclude=./.git --exclude=./.lib --exclude=./build --exclude=./device \
  --exclude='*.o' --exclude='*.so' --exclude='*.Rcheck' --exclude=./tools/fuzz/corpus -cf - .) |
  (cd "$work/src" && tar -xf -)
san="-fsanitize=address,undefined -fno-omit-frame-pointer"
printf 'CFLAGS = -g -O1 %s\nLDFLAGS = %s\n' "$san" "$san" > "$work/Makevars"

echo "asan-check: building $repo into $work/lib (log: $work/logs/install.log)"
# The load test of R CMD INSTALL would load the sanitized library into an R
# without libasan, so it is skipped; the tests below load it.
if ! R_MAKEVARS_USER="$work/Makevars" R CMD INSTALL --no-multiarch --no-test-load \
    -l "$work/lib" "$work/src" > "$work/logs/install.log" 2>&1; then
  tail -20 "$work/logs/install.log"
  echo "asan-check: the sanitized build failed"
  exit 2
fi

setup='invisible(NULL)'
[ "$pool" = keep ] || setup="invisible(mxnet::mx.memory.limit($pool))"
if [ "$build_only" = yes ]; then
  printf 'local(%s)\n' "$setup" > "$work/Rprofile"
  echo "asan-check: built $work/lib; run R on it with"
  echo "  LD_PRELOAD=$libasan \\"
  echo "  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 \\"
  echo "  UBSAN_OPTIONS=print_stacktrace=1 R_LIBS=$work/lib R_PROFILE_USER=$work/Rprofile \\"
  echo "  OMP_THREAD_LIMIT=$OMP_THREAD_LIMIT Rscript ..."
  exit 0
fi
bad=0
nfiles=0
tfail=0
tests=0
printf '%-28s %6s %6s  %s\n' "file" "tests" "failed" "sanitizers"
for f in "$work"/src/tests/testthat/test-*.R; do
  b=$(basename "$f")
  echo "$b" | grep -Eq -- "$filter" || continue
  nfiles=$((nfiles + 1))
  log="$work/logs/${b%.R}.log"
  LD_PRELOAD="$libasan" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1 R_LIBS="$work/lib" \
    Rscript -e "library(mxnet); $setup" -e "
      res <- as.data.frame(testthat::test_file('$f', package = 'mxnet',
                                               load_package = 'installed', reporter = 'summary'))
      cat(sprintf('\nASAN-CHECK-RESULT %d %d\n', nrow(res), sum(res\$failed > 0 | res\$error)))" \
    > "$log" 2>&1
  rc=$?
  nasan=$(grep -c 'ERROR: AddressSanitizer' "$log")
  nub=$(grep -c 'runtime error:' "$log")
  res=$(sed -n 's/^ASAN-CHECK-RESULT //p' "$log")
  note=""
  [ "$nasan" -gt 0 ] && note="$note AddressSanitizer: $(grep -m1 'SUMMARY: AddressSanitizer' "$log" | cut -c1-90)"
  [ "$nub" -gt 0 ] && note="$note UBSan x$nub: $(grep -m1 'runtime error:' "$log" | sed 's|.*/src/||' | cut -c1-90)"
  if [ -z "$res" ]; then
    [ -n "$note" ] || note=" R stopped (exit $rc) before the end: see $log"
    res="? ?"
  fi
  [ -n "$note" ] && bad=$((bad + 1))
  # shellcheck disable=SC2086
  set -- $res
  case "$1" in [0-9]*) tests=$((tests + $1)); tfail=$((tfail + $2)) ;; esac
  printf '%-28s %6s %6s %s\n' "$b" "$1" "$2" "${note:- clean}"
done
echo "asan-check: $nfiles files, $tests tests, $tfail failed or erred;" \
  "$bad files with sanitizer reports or crashes (logs: $work/logs)"
[ "$bad" -eq 0 ]
