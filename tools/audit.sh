#!/bin/sh
# Release audit: calls that R CMD check rejects or that can end the R session,
# R allocations in the glue that are neither protected nor handed on, and the
# symbols our objects import (checked with nm, object by object, so library
# noise is told apart from our own code).
set -u
cd "$(dirname "$0")/.." || exit 2
status=0
say() { printf 'audit: %s\n' "$*"; }

# 1. forbidden calls in the sources
hits=$(grep -rnE '(^|[^_a-zA-Z0-9.>])(printf|puts|putchar|abort|exit|_exit|assert|rand|srand|random|sprintf|vsprintf|fprintf)[[:space:]]*\(' \
         src --include='*.c' --include='*.h' --include='*.cu' --include='*.cuh' \
       | grep -vE '(snprintf|vsnprintf|Rprintf|REprintf)[[:space:]]*\(' \
       | grep -vE '^[^:]*:[0-9]+:[[:space:]]*(/?\*|//)' )
if [ -n "$hits" ]; then
  say "forbidden calls in src/:"; echo "$hits"; status=1
else
  say "no forbidden calls in src/"
fi

# 2. R allocations in src/r and src/init.c must be PROTECTed on the same line,
#    returned, or passed straight into a setter that keeps them.
allocs='(Rf_allocVector|Rf_mkString|Rf_ScalarInteger|Rf_ScalarReal|Rf_ScalarLogical|Rf_ScalarString|Rf_mkChar|R_MakeExternalPtr|Rf_allocMatrix|Rf_duplicate|Rf_lang[0-9])[[:space:]]*\('
bad=$(grep -nE "$allocs" src/r/*.c src/init.c \
      | grep -vE 'PROTECT\(|return |SET_VECTOR_ELT|SET_STRING_ELT|Rf_setAttrib|R_PreserveObject|unprotected-ok')
if [ -n "$bad" ]; then
  say "R allocations that are not visibly protected (mark deliberate ones with /* unprotected-ok: why */):"
  echo "$bad"; status=1
else
  say "every R allocation in the glue is protected or handed on"
fi

# 3. the GPU module's sources (src/cuda): no device-side trap or print, no
#    device-wide sync, streams waited for only in device.c (the read points),
#    every kernel launch on an explicit stream, and every cuda*/cublas*/cudnn*
#    call checked: inside MX_CUDA_TRY/MX_CUBLAS_TRY/MX_CUDNN_TRY or
#    mx_*_check(), compared with the success code, assigned to a status that
#    is then mapped, or deliberately ignored with (void).  Calls that return
#    no status (error strings, versions) need nothing; device.c's error
#    mapping functions are exempt.
cuda_src=$(find src/cuda -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' 2>/dev/null | sort)
if [ -n "$cuda_src" ]; then
  # shellcheck disable=SC2086
  bad=$(grep -nE '__trap|cudaDeviceSynchronize|cudaThreadSynchronize' $cuda_src \
        | grep -vE '^[^:]*:[0-9]+:[[:space:]]*(/?\*|//)')
  # shellcheck disable=SC2086
  bad2=$(grep -nE 'cudaStreamSynchronize' $cuda_src | grep -v '^src/cuda/device\.c:' \
        | grep -vE '^[^:]*:[0-9]+:[[:space:]]*(/?\*|//)')
  # shellcheck disable=SC2086
  bad3=$(grep -noE '<<<[^>]*>>>' $cuda_src | awk -F'<<<' '{ x = $2; if (gsub(/,/, ",", x) < 3) print }')
  # shellcheck disable=SC2086
  bad4=$(awk '
    FNR == 1 { fn = "" }
    /^[A-Za-z_].*[A-Za-z0-9_]+[[:space:]]*\(/ && !/;[[:space:]]*$/ {
      fn = $0; sub(/[[:space:]]*\(.*/, "", fn); sub(/.*[^A-Za-z0-9_]/, "", fn) }
    /^[[:space:]]*(\/?\*|\/\/)/ { next }
    {
      prev = cur; cur = $0
      line = $0; sub(/\/\/.*/, "", line)
      if (FILENAME ~ /src\/cuda\/device\.c$/ &&
          fn ~ /^(cuda_sticky|cuda_hint|forget_error|async_failure|mx_cuda_check|mx_cublas_check|mx_cudnn_check)$/) next
      gsub(/(cudaGetErrorString|cudaGetErrorName|cudaPeekAtLastError|cublasGetStatusString|cublasGetStatusName|cudnnGetErrorString|cudnnGetVersion|cudnnGetCudartVersion)[[:space:]]*\(/, "(", line)
      if (line !~ /(^|[^A-Za-z0-9_])(cuda|cublas|cudnn)[A-Z][A-Za-z0-9_]*[[:space:]]*\(/) next
      if (line ~ /MX_(CUDA|CUBLAS|CUDNN)_TRY[[:space:]]*\(|mx_(cuda|cublas|cudnn)_check[[:space:]]*\(/) next
      if (prev ~ /(MX_(CUDA|CUBLAS|CUDNN)_TRY|mx_(cuda|cublas|cudnn)_check)[[:space:]]*\([[:space:]]*$/) next
      if (line ~ /\(void\)[[:space:]]*(cuda|cublas|cudnn)[A-Z]/) next
      if (line ~ /[!=]=[[:space:]]*(cudaSuccess|CUBLAS_STATUS_SUCCESS|CUDNN_STATUS_SUCCESS)/) next
      if (line ~ /[A-Za-z_][A-Za-z0-9_]*[[:space:]]*=[[:space:]]*(cuda|cublas|cudnn)[A-Z]/) next
      print FILENAME ":" FNR ": " $0
    }' $cuda_src)
  if [ -n "$bad$bad2$bad3$bad4" ]; then
    say "GPU module rules broken in src/cuda:"
    [ -n "$bad" ] && { echo "  __trap or a device-wide sync:"; echo "$bad"; }
    [ -n "$bad2" ] && { echo "  cudaStreamSynchronize outside device.c (kernels never wait):"; echo "$bad2"; }
    [ -n "$bad3" ] && { echo "  kernel launch without an explicit stream (<<<grid, block, shmem, stream>>>):"; echo "$bad3"; }
    [ -n "$bad4" ] && { echo "  unchecked CUDA/cuBLAS/cuDNN calls (wrap in MX_*_TRY):"; echo "$bad4"; }
    status=1
  else
    say "GPU module sources: checked calls, explicit streams, no trap or device-wide sync ($(echo $cuda_src | wc -w) files)"
  fi
fi

# 4. symbols imported by our objects and by the shared libraries
if [ ! -f src/init.o ]; then
  say "building objects (R CMD INSTALL into .lib)"
  mkdir -p .lib && R CMD INSTALL --no-test-load -l .lib . > /dev/null 2>&1 || { say "build failed"; exit 1; }
fi
bad_syms='^(printf|puts|putchar|abort|exit|_exit|_Exit|rand|rand_r|random|srand|srandom|sprintf|vsprintf|vprintf|__printf_chk|__sprintf_chk|__vsprintf_chk|__fprintf_chk|stdout|stderr|__assert_fail|__stack_chk_fail_local_x)$'
objs=$(find src -name '*.o')
found=""
for o in $objs; do
  s=$(nm -u "$o" 2>/dev/null | awk '{print $NF}' | grep -E "$bad_syms")
  [ -n "$s" ] && found="$found
$o: $(echo $s)"
done
if [ -n "$found" ]; then
  say "objects import forbidden symbols:$found"; status=1
else
  say "no object imports a forbidden symbol ($(echo $objs | wc -w) objects checked)"
fi
for so in src/*.so; do
  [ -f "$so" ] || continue
  s=$(nm -D --undefined-only "$so" 2>/dev/null | awk '{print $NF}' | sed 's/@.*//' | grep -E "$bad_syms")
  if [ -n "$s" ]; then say "$so imports: $(echo $s)"; status=1; else say "$so imports no forbidden symbol"; fi
done
# the GPU module is dlopened beside a hidden-visibility mxnet.so and must
# load on machines without a driver: it may not import engine (mx_) or R
# symbols or the driver API (cu*), nor need libcuda, and exports one symbol
mod=src/mxnet_cuda.so
if [ -f "$mod" ]; then
  s=$(nm -D --undefined-only "$mod" 2>/dev/null | awk '{print $NF}' | sed 's/@.*//' \
      | grep -E '^(mx_|R_|Rf_|Rprintf|REprintf|cu[A-Z])')
  e=$(nm -D --defined-only "$mod" 2>/dev/null | awk '{print $NF}' | grep -vx 'mx_cuda_module_init')
  n=$(readelf -d "$mod" 2>/dev/null | grep 'NEEDED.*libcuda\.so')
  if [ -n "$s$e$n" ]; then
    say "$mod: imports engine, R or driver symbols [$(echo $s)], exports more than mx_cuda_module_init [$(echo $e)], or needs libcuda [$n]"
    status=1
  else
    say "$mod imports no engine, R or driver symbol and exports only mx_cuda_module_init"
  fi
fi
[ $status -eq 0 ] && say "passed" || say "FAILED"
exit $status
