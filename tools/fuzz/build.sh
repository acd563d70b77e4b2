#!/bin/sh
# Build the libFuzzer harnesses of this folder against the engine, without R:
#   tools/fuzz/build.sh [harness] [output]   one harness (default ndarray-load)
#   tools/fuzz/build.sh all [folder]         every fuzz-*.c, into folder
# (run from anywhere; needs clang).  harness: ndarray-load, symbol-json, mnist,
# io-batch, protobuf, recordio, recordio-skip or image-record; the source is fuzz-<harness>.c.  The engine is compiled once
# per call with -fsanitize=fuzzer-no-link,address,undefined.
# src/mx-config.h and src/Makevars are written by configure (make install
# runs it); when they are there, their flags and libraries (oneDNN, zlib) are
# used.  Otherwise a private mx-config.h (zlib, libjpeg, libpng) is used.
# features.c is left out.
set -e
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../../src"
name=${1:-ndarray-load}
if [ "$name" = all ]; then
  dir=${2:-"$here"}
  names=""
  for f in "$here"/fuzz-*.c; do names="$names $(basename "$f" .c | sed 's/^fuzz-//')"; done
else
  [ -f "$here/fuzz-$name.c" ] || { echo "no harness $here/fuzz-$name.c" >&2; exit 1; }
  names=$name
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Sources include "../mx-config.h": found in src/ when configure ran,
# otherwise through -I"$tmp/inc" as "$tmp/inc/../mx-config.h".
mkdir "$tmp/inc" "$tmp/obj"
printf '#define MX_HAVE_ZLIB 1\n#define MX_HAVE_JPEG 1\n#define MX_HAVE_PNG 1\n' > "$tmp/mx-config.h"
extra="-lz -ljpeg -lpng"
if [ -f "$src/mx-config.h" ] && [ -f "$src/Makevars" ]; then
  # configure's flags, without make variables and R's "-I."
  # shellcheck disable=SC2016
  extra="$(sed -n 's/^PKG_CPPFLAGS *= *//p; s/^PKG_LIBS *= *//p' "$src/Makevars" |
    sed -e 's/\$([A-Z_]*)//g' -e 's/^-I\. *//' | tr '\n' ' ')"
fi
cflags="-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cflags="$cflags -I$src -I$src/include -I$tmp/inc"
i=0
for f in "$src"/engine/*.c "$src"/ops/*.c "$src"/io/*.c ; do
  case "$f" in */features.c) continue ;; esac
  i=$((i + 1))
  # shellcheck disable=SC2086
  clang $cflags -fsanitize=fuzzer-no-link,address,undefined -c "$f" \
    -o "$tmp/obj/$i-$(basename "$f" .c).o"
done
for n in $names; do
  if [ "$name" = all ]; then out="$dir/fuzz-$n"; else out=${2:-"$here/fuzz-$n"}; fi
  # shellcheck disable=SC2086
  clang $cflags -fsanitize=fuzzer,address,undefined "$here/fuzz-$n.c" "$tmp"/obj/*.o \
    $extra -lm -lpthread -o "$out"
  echo "built $out"
done
