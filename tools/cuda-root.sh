#!/bin/sh
# Prints the CUDA toolkit root the tools' Makefiles build against, found the
# way configure finds it: CUDA_HOME, then nvcc on PATH, then /usr/local/cuda.
# nvcc on PATH may be a wrapper script in another folder (/usr/local/bin/nvcc
# that execs the real one), so the root comes from nvcc itself (its _HERE_).
if [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ]; then nvcc="$CUDA_HOME/bin/nvcc"
elif command -v nvcc > /dev/null 2>&1; then nvcc=$(command -v nvcc)
elif [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc
else exit 1; fi
here=$("$nvcc" --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ _HERE_=//p' | head -n 1)
[ -n "$here" ] || here=$(dirname "$nvcc")
cd "$here/.." && pwd -P
