#!/bin/sh
# Install what building, testing and the demos need (Debian/Ubuntu).
# As root it runs apt-get; otherwise it prints the command to run.
# The GPU module needs NVIDIA's CUDA toolkit (nvcc), cuBLAS and cuDNN 9, which
# Debian does not package in usable versions: this script only reports them
# (configure finds them in CUDA_HOME, on PATH or in /usr/local/cuda).
# Open MPI (openmpi-bin, libopenmpi-dev) builds the dist_* kvstores.
PKGS="r-base-dev make gcc libdnnl-dev libopenblas-dev zlib1g-dev \
r-cran-testthat r-cran-knitr r-cran-rmarkdown r-cran-jsonlite r-cran-roxygen2 pandoc dataset-fashion-mnist r-cran-progress r-cran-mlbench r-cran-pkgdown r-cran-matrix r-cran-ggplot2 \
openmpi-bin libopenmpi-dev"
# MXNET_DEPS_SLURM=1 (CI) adds what the Slurm test needs: a one-node cluster
# from Debian's slurm-wlm and munge (tests/testthat/test-kvstore-slurm.R)
if [ "${MXNET_DEPS_SLURM:-0}" = 1 ]; then PKGS="$PKGS slurm-wlm munge"; fi
PKGS="$PKGS protobuf-compiler python3-opencv opencv-doc"  # Caffe interop tests (protoc fixtures, OpenCV reference)
PKGS="$PKGS libjpeg62-turbo-dev libpng-dev r-cran-jpeg r-cran-png"
PKGS="$PKGS libonnx-testdata python3-onnx"
PKGS="$PKGS node-clipboard fonts-font-awesome"  # offline pkgdown site (tools/site-offline.R: clipboard.js, Font Awesome 4.7)
# MXNET_DEPS_SITE=1 (CI) adds the browser of the site check (tools/site-check.sh)
if [ "${MXNET_DEPS_SITE:-0}" = 1 ]; then PKGS="$PKGS chromium"; fi
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
cuda_note() {
  nvcc=""
  if [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; then nvcc="$CUDA_HOME/bin/nvcc"
  elif command -v nvcc > /dev/null 2>&1; then nvcc=$(command -v nvcc)
  elif [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc; fi
  if [ -n "$nvcc" ]; then
    echo "install-deps: CUDA toolkit found ($nvcc): the package builds its GPU module"
  else
    echo "install-deps: no CUDA toolkit (optional; for GPUs install NVIDIA's CUDA toolkit, cuBLAS and cuDNN 9)"
  fi
}
cuda_note
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
