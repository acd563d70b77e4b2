/*
 * io-iter-r.c -- R glue of the data iterators (R/io.R): the MNIST reader,
 * axis-0 views for batches, row gathering into staging arrays and MXNet R's
 * arrayiter shuffle order.
 */
#include "mx-r.h"
#include "../io/mx-io.h"

#include <math.h>
#include <string.h>

static int r_flag(SEXP x, const char *arg) {
  if (XLENGTH(x) != 1 || (TYPEOF(x) != LGLSXP && TYPEOF(x) != INTSXP && TYPEOF(x) != REALSXP))
    mx_r_value_error("argument '%s' must be TRUE or FALSE", arg);
  int v = Rf_asLogical(x);
  if (v == NA_LOGICAL) mx_r_value_error("argument '%s' must be TRUE or FALSE, not NA", arg);
  return v;
}

static double r_whole(SEXP x, const char *arg, double lo, double hi) {
  if (XLENGTH(x) != 1 || (TYPEOF(x) != INTSXP && TYPEOF(x) != REALSXP && TYPEOF(x) != LGLSXP))
    mx_r_value_error("argument '%s' must be a single number", arg);
  double v = Rf_asReal(x);
  if (!R_FINITE(v) || v != floor(v) || v < lo || v > hi)
    mx_r_value_error("argument '%s' must be a whole number in [%.0f, %.0f]", arg, lo, hi);
  return v;
}

static const char *r_path(SEXP x, const char *arg) {
  if (TYPEOF(x) != STRSXP || XLENGTH(x) != 1 || STRING_ELT(x, 0) == NA_STRING)
    mx_r_value_error("argument '%s' must be a single file name", arg);
  return R_ExpandFileName(Rf_translateChar(STRING_ELT(x, 0)));
}

SEXP mx_r_io_mnist_load(SEXP image, SEXP label, SEXP shuffle, SEXP seed, SEXP flat,
                        SEXP num_parts, SEXP part_index) {
  mx_mnist_opts o;
  o.shuffle = r_flag(shuffle, "shuffle");
  o.flat = r_flag(flat, "flat");
  double sd = r_whole(seed, "seed", -9007199254740992.0, 9007199254740992.0);
  o.seed = (uint64_t)(int64_t)sd;
  o.num_parts = (int)r_whole(num_parts, "num.parts", 1, 2147483647.0);
  o.part_index = (int)r_whole(part_index, "part.index", 0, 2147483647.0);
  if (o.part_index >= o.num_parts)
    mx_r_value_error("argument 'part.index' (%d) must be smaller than 'num.parts' (%d)", o.part_index,
             o.num_parts);
  /* R_ExpandFileName's buffer is static: copy the first path */
  const char *ip0 = r_path(image, "image");
  size_t len = strlen(ip0) + 1;
  char *ip = R_alloc(len, 1);
  memcpy(ip, ip0, len);
  const char *lp = r_path(label, "label");
  mx_r_maybe_gc();
  mx_ndarray *img, *lbl;
  mx_r_check(mx_mnist_load(ip, lp, &o, &img, &lbl));
  SEXP res = PROTECT(Rf_allocVector(VECSXP, 2));
  SET_VECTOR_ELT(res, 1, mx_r_wrap_nd(lbl));  /* owned by R from here, even on failure */
  SET_VECTOR_ELT(res, 0, mx_r_wrap_nd(img));
  SEXP nm = PROTECT(Rf_allocVector(STRSXP, 2));
  SET_STRING_ELT(nm, 0, Rf_mkChar("data"));
  SET_STRING_ELT(nm, 1, Rf_mkChar("label"));
  Rf_setAttrib(res, R_NamesSymbol, nm);
  UNPROTECT(2);
  return res;
}

SEXP mx_r_io_slice0(SEXP nd, SEXP begin, SEXP end) {
  mx_ndarray *a = mx_r_nd(nd, "data");
  double b = r_whole(begin, "begin", 0, 9007199254740992.0);
  double e = r_whole(end, "end", 0, 9007199254740992.0);
  mx_ndarray *v;
  mx_r_check(mx_ndarray_slice0_view(a, (int64_t)b, (int64_t)e, &v));
  return mx_r_wrap_nd(v);
}

SEXP mx_r_io_gather(SEXP src, SEXP rows, SEXP dst) {
  mx_ndarray *s = mx_r_nd(src, "data");
  mx_ndarray *d = mx_r_nd(dst, "staging");
  if (TYPEOF(rows) != INTSXP) mx_r_value_error("argument 'rows' must be an integer vector");
  R_xlen_t n = XLENGTH(rows);
  int64_t *r = (int64_t *)R_alloc(n ? (size_t)n : 1, sizeof(int64_t));
  const int *ri = INTEGER(rows);
  for (R_xlen_t k = 0; k < n; k++) {
    if (ri[k] == NA_INTEGER) mx_r_value_error("argument 'rows' contains NA");
    r[k] = ri[k];
  }
  mx_r_check(mx_io_gather_rows(s, r, (int64_t)n, d));
  return R_NilValue;
}

SEXP mx_r_io_shuffle_order(SEXP unif) {
  if (TYPEOF(unif) != REALSXP) mx_r_value_error("argument 'unif' must be a double vector");
  R_xlen_t n = XLENGTH(unif);
  if (n > 2147483647) mx_r_value_error("too many examples to shuffle");
  int64_t *order = (int64_t *)R_alloc(n ? (size_t)n : 1, sizeof(int64_t));
  mx_io_shuffle_order(REAL(unif), (int64_t)n, order);
  SEXP res = PROTECT(Rf_allocVector(INTSXP, n));
  for (R_xlen_t k = 0; k < n; k++) INTEGER(res)[k] = (int)order[k];
  UNPROTECT(1);
  return res;
}
