#!/bin/sh
# Install what building, testing and the demos need (Debian/Ubuntu).
# As root it runs apt-get; otherwise it prints the command to run.
PKGS="r-base-dev make gcc libdnnl-dev libopenblas-dev zlib1g-dev \
r-cran-testthat r-cran-knitr r-cran-rmarkdown r-cran-jsonlite r-cran-roxygen2 pandoc dataset-fashion-mnist"
missing=""
if command -v dpkg-query > /dev/null 2>&1; then
  for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
else
  echo "install-deps: not a Debian/Ubuntu system; install R (>= 4.1) with the development headers,"
  echo "oneDNN (optional), OpenBLAS (optional), zlib and the R packages testthat, knitr, rmarkdown."
  exit 0
fi
if [ -z "$missing" ]; then
  echo "install-deps: everything needed is installed"
  exit 0
fi
if [ "$(id -u)" = "0" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
else
  echo "install-deps: missing packages:$missing"
  echo "run:  sudo apt-get install -y --no-install-recommends$missing"
  exit 1
fi
