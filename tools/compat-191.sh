#!/bin/sh
# Run MXNet 1.9.1's own R material against the installed package, unchanged,
# from a temporary folder (nothing of it enters this repository).
#
#   tools/compat-191.sh MXNET_REPO_GIT_DIR [LIB]
#
# MXNET_REPO_GIT_DIR is a git directory of apache/mxnet that has tag 1.9.1
# (for example the one the search tool's fetch gives); LIB is the R library
# holding mxnet (default: .lib of this checkout).  It extracts R-package/ and
# the R example scripts of the tag, then runs
#   1. the testthat files (tests/testthat/test_*.R), expectation counts per file;
#   2. every vignette (knitr::purl, then Rscript, 300 s each);
#   3. every demo;
#   4. every example/image-classification/symbol_*.R: build the network and
#      infer its shapes for a 224x224 (299 for inception and googlenet) 3-channel
#      batch.
# Each line of the summary says ok or the first error.  Downloads fail (the
# machine has no network): those lines say so.
set -u
git_dir=${1:?usage: tools/compat-191.sh MXNET_REPO_GIT_DIR [LIB]}
here=$(cd "$(dirname "$0")/.." && pwd)
lib=${2:-"$here/.lib"}
work=$(mktemp -d "${TMPDIR:-/tmp}/mx191.XXXXXX")
export R_LIBS="$lib" OMP_THREAD_LIMIT="${OMP_THREAD_LIMIT:-2}"

for f in $(git --git-dir="$git_dir" ls-tree -r --name-only 1.9.1 R-package example |
           grep -E '^(R-package/(tests|vignettes|demo)/|example/.*\.R$)'); do
  mkdir -p "$work/$(dirname "$f")"
  git --git-dir="$git_dir" show "1.9.1:$f" > "$work/$f" 2>/dev/null
done

run() {  # label, folder, command...
  label=$1; dir=$2; shift 2
  out=$(cd "$dir" && timeout 300 "$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then echo "ok      $label"
  else echo "FAILED  $label: $(printf '%s\n' "$out" | grep -m1 -E 'Error|error' | cut -c1-160)"; fi
}

echo "== testthat (tests/testthat)"
cat > "$work/run-tests.R" <<'EOF'
suppressMessages({library(testthat); library(mxnet)})
for (f in list.files(".", "^test_.*\\.R$")) {
  r <- as.data.frame(test_file(f, reporter = "silent", stop_on_failure = FALSE))
  bad <- r$test[r$failed > 0 | r$error]
  cat(sprintf("%-20s %3d expectations, %d failed, %d errors%s\n", f, sum(r$nb), sum(r$failed),
              sum(r$error), if (length(bad)) paste0(": ", paste(bad, collapse = "; ")) else ""))
}
EOF
(cd "$work/R-package/tests/testthat" && Rscript "$work/run-tests.R")

echo "== vignettes"
for v in "$work"/R-package/vignettes/*.Rmd; do
  n=$(basename "$v" .Rmd)
  # some vignettes fence their code as ```R (not knitr chunks): make them chunks
  sed 's/^```[Rr] *$/```{r}/' "$v" > "$v.tmp" && mv "$v.tmp" "$v"
  (cd "$work" && Rscript -e "knitr::purl('$v', output = '$n.R', quiet = TRUE)" > /dev/null 2>&1)
  run "$n" "$work" Rscript "$n.R"
done

echo "== demos"
for d in "$work"/R-package/demo/*.R; do run "$(basename "$d")" "$work" Rscript "$d"; done

echo "== example networks"
for s in "$work"/example/image-classification/symbol_*.R; do
  n=$(basename "$s" .R)
  # googlenet's last pooling (7x7, "valid") needs more than 224 pixels, in
  # MXNet too: 224 leaves it 6x6, which MXNet's shape check refuses
  size=224; case $n in *inception*|*googlenet*) size=299 ;; *28-small*) size=28 ;; esac
  run "$n" "$work" Rscript -e "suppressMessages(library(mxnet)); source('$s');
    net <- get_symbol(10)
    sh <- mx.symbol.infer.shape(net, data = c($size, $size, 3, 2))
    if (is.null(sh)) stop('shape inference incomplete'); cat(length(arguments(net)), 'arguments\n')"
done
echo "(work folder: $work)"
