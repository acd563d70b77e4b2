/*
 * libsvm-r.c -- R glue of the LibSVM reader (mx.io.LibSVMIter, R/libsvm.R).
 */
#include "mx-r.h"
#include "../io/mx-io.h"

/* Dense (csr = FALSE): list(data, labels); CSR: list(values, indices,
 * indptr, labels) (mx-io.h). */
SEXP mx_r_io_libsvm_load(SEXP path, SEXP width, SEXP num_parts, SEXP part_index, SEXP csr) {
  const char *p = mx_r_path_arg(path, "data.libsvm");
  double w = Rf_asReal(width);
  if (!(w >= 1 && w <= 1e12)) mx_r_value_error("argument 'data.shape' must be positive");
  mx_ndarray *a[4] = {NULL, NULL, NULL, NULL};
  int n = Rf_asLogical(csr) == TRUE ? 4 : 2;
  mx_r_maybe_gc();
  if (n == 4)
    mx_r_check(mx_libsvm_load_csr(p, (int64_t)w, Rf_asInteger(num_parts), Rf_asInteger(part_index), a));
  else
    mx_r_check(mx_libsvm_load(p, (int64_t)w, Rf_asInteger(num_parts), Rf_asInteger(part_index),
                              &a[0], &a[1]));
  SEXP res = PROTECT(Rf_allocVector(VECSXP, n));
  for (int k = n - 1; k >= 0; k--)
    SET_VECTOR_ELT(res, k, mx_r_wrap_nd(a[k]));  /* owned by R from here, even on failure */
  UNPROTECT(1);
  return res;
}
