#!/bin/sh
# Run build/gpu-run (make -C tools/cudnn-shape-check gpu-run, built on the
# CPU machine) on a GPU machine: every cuBLAS / cuDNN op of the CUDA module
# against its CPU kernel, forward and backward, float32 and float64, strict
# float32, then with TF32 in convolutions.  Carry tools/cudnn-shape-check/build.
# Finds libcudnn.so.9 / libcublas.so.13 in the system, the toolkit or the
# Python wheels (site-packages/nvidia/...).  Exit status 0 when all pass.
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/build/gpu-run"
[ -x "$bin" ] || { echo "missing $bin: run 'make -C tools/cudnn-shape-check gpu-run' and carry tools/cudnn-shape-check/build"; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null
roots="/usr/local/cuda /usr/lib /opt"
if command -v python3 >/dev/null 2>&1; then
  roots="$roots $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)"
fi
dirs=""
for lib in libcudnn.so.9 libcublas.so.13 libcublasLt.so.13; do
  if ! env LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$bin" | grep -q "$lib => /"; then
    # shellcheck disable=SC2086
    f=$(find $roots -maxdepth 8 -name "$lib" 2>/dev/null | head -1)
    [ -n "$f" ] && dirs="${dirs:+$dirs:}$(dirname "$f")"
  fi
done
export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
if ldd "$bin" | grep "not found"; then exit 2; fi
rc=0
timeout 240 "$bin" || rc=1
log=$(mktemp)
DNN_RUN_TF32=1 timeout 240 "$bin" > "$log" 2>&1 || rc=1
grep -e FAIL -e "^device" -e "comparisons" "$log" | tail -20
rm -f "$log"
exit $rc
