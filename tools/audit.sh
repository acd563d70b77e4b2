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

# 3. symbols imported by our objects and by the shared library
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
so=$(ls src/*.so 2>/dev/null | head -n 1)
if [ -n "$so" ]; then
  s=$(nm -D --undefined-only "$so" 2>/dev/null | awk '{print $NF}' | sed 's/@.*//' | grep -E "$bad_syms")
  if [ -n "$s" ]; then say "$so imports: $(echo $s)"; status=1; else say "$so imports no forbidden symbol"; fi
fi
[ $status -eq 0 ] && say "passed" || say "FAILED"
exit $status
