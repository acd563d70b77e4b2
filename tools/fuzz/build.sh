#!/bin/sh
# Build the libFuzzer harness for the NDArray list reader without R:
#   tools/fuzz/build.sh [output]        (run from anywhere; needs clang)
# The engine's generated src/mx-config.h is only needed by features.c, which
# the harness does not use, so it is left out.
set -e
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../../src"
out=${1:-"$here/fuzz-ndarray-load"}
files=""
for f in "$src"/engine/*.c "$src"/ops/*.c "$src"/cuda-stub/cuda-stub.c; do
  case "$f" in */features.c) ;; *) files="$files $f" ;; esac
done
# shellcheck disable=SC2086
clang -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$src" -I"$src/include" \
  "$here/fuzz-ndarray-load.c" $files -lm -lpthread -o "$out"
echo "built $out"
