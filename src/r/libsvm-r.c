/*
 * libsvm-r.c -- R glue of the LibSVM reader (mx.io.LibSVMIter, R/libsvm.R).
 */
#include "mx-r.h"
#include "../io/mx-io.h"

SEXP mx_r_io_libsvm_load(SEXP path, SEXP width, SEXP num_parts, SEXP part_index) {
  const char *p = mx_r_path_arg(path, "data.libsvm");
  double w = Rf_asReal(width);
  if (!(w >= 1 && w <= 1e12)) mx_r_value_error("argument 'data.shape' must be positive");
  mx_ndarray *d, *l;
  mx_r_maybe_gc();
  mx_r_check(mx_libsvm_load(p, (int64_t)w, Rf_asInteger(num_parts), Rf_asInteger(part_index), &d, &l));
  SEXP res = PROTECT(Rf_allocVector(VECSXP, 2));
  SET_VECTOR_ELT(res, 1, mx_r_wrap_nd(l));  /* owned by R from here, even on failure */
  SET_VECTOR_ELT(res, 0, mx_r_wrap_nd(d));
  UNPROTECT(1);
  return res;
}
