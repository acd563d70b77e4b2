/*
 * ndarray-r.c -- NDArray creation, conversion to and from R, indexing.
 *
 * R arrays and engine arrays share one memory order: R dim c(d1, ..., dk) is
 * C shape (dk, ..., d1), so values are copied verbatim (converted between
 * double and the dtype) and only the dimension vector is reversed.
 */
#include "mx-r.h"

#include <math.h>
#include <string.h>

static SEXP r_dims(const mx_shape *s) {
  int big = 0;
  for (int k = 0; k < s->ndim; k++) if (s->d[k] > INT32_MAX) big = 1;
  SEXP d = PROTECT(Rf_allocVector(big ? REALSXP : INTSXP, s->ndim));
  for (int k = 0; k < s->ndim; k++) {
    if (big) REAL(d)[s->ndim - 1 - k] = (double)s->d[k];
    else INTEGER(d)[s->ndim - 1 - k] = (int)s->d[k];
  }
  UNPROTECT(1);
  return d;
}

SEXP mx_r_nd_from_r(SEXP src, SEXP dims, SEXP dtype, SEXP ctx) {
  int type = TYPEOF(src);
  if (type != REALSXP && type != INTSXP && type != LGLSXP)
    mx_r_value_error("argument 'src.array' must be numeric, integer or logical, not %s",
             Rf_type2char((SEXPTYPE)type));
  int dt = mx_r_dtype(dtype, "dtype");
  mx_context c = mx_r_ctx(ctx, "ctx");
  mx_shape s;
  R_xlen_t n = XLENGTH(src);
  if (Rf_isNull(dims)) {
    s.ndim = 1;
    s.d[0] = n;
  } else {
    s = mx_r_shape(dims, "dim(src.array)");
    int64_t total = 1;
    for (int k = 0; k < s.ndim; k++) total *= s.d[k];
    if (total != n)
      mx_r_value_error("argument 'src.array' has %.0f values but its dimensions need %.0f",
               (double)n, (double)total);
  }
  /* missing values are not representable: name the first one */
  if (type == REALSXP) {
    const double *x = REAL(src);
    for (R_xlen_t i = 0; i < n; i++)
      if (ISNAN(x[i])) {
        if (R_IsNA(x[i]))
          mx_r_value_error("argument 'src.array' contains NA (element %.0f); NDArrays cannot hold missing values",
                   (double)i + 1);
        if (!mx_dtype_is_float(dt))
          mx_r_value_error("argument 'src.array' contains NaN (element %.0f), which %s cannot hold",
                   (double)i + 1, mx_dtype_name(dt));
      } else if (!mx_dtype_is_float(dt) && !R_FINITE(x[i])) {
        mx_r_value_error("argument 'src.array' contains an infinite value (element %.0f), which %s cannot hold",
                 (double)i + 1, mx_dtype_name(dt));
      }
  } else {
    const int *x = type == INTSXP ? INTEGER(src) : LOGICAL(src);
    for (R_xlen_t i = 0; i < n; i++)
      if (x[i] == NA_INTEGER)
        mx_r_value_error("argument 'src.array' contains NA (element %.0f); NDArrays cannot hold missing values",
                 (double)i + 1);
  }
  mx_r_maybe_gc();
  mx_ndarray *a;
  mx_r_check(mx_ndarray_new(&s, dt, c, &a));
  mx_status st = type == REALSXP ? mx_ndarray_from_f64(a, REAL(src), n)
                                 : mx_ndarray_from_i32(a, type == INTSXP ? INTEGER(src) : LOGICAL(src), n);
  if (st != MX_OK) {
    mx_ndarray_free(a);
    mx_r_fail();
  }
  return mx_r_wrap_nd(a);
}

SEXP mx_r_nd_to_r(SEXP nd) {
  mx_ndarray *a = mx_r_nd(nd, "x");
  int64_t n = mx_ndarray_size(a);
  const mx_shape *s = mx_ndarray_shape(a);
  /* R dims are int: a longer 1-d array becomes a plain (long) vector */
  int big = 0;
  for (int k = 0; k < s->ndim; k++) if (s->d[k] > INT32_MAX) big = 1;
  if (big && s->ndim > 1)
    mx_r_value_error("argument 'x' has a dimension longer than an R array allows (%s); reshape it first",
             "2^31 - 1");
  SEXP out = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)n));
  mx_r_check(mx_ndarray_to_f64(a, REAL(out), n));
  if (s->ndim > 0 && !big) Rf_setAttrib(out, R_DimSymbol, r_dims(s));
  UNPROTECT(1);
  return out;
}

SEXP mx_r_nd_dim(SEXP nd) {
  /* a released array has no dims (so printing and error tracing work) */
  if (mx_r_is_nd(nd) && !mx_r_nd_addr(nd)) return R_NilValue;
  return r_dims(mx_ndarray_shape(mx_r_nd(nd, "x")));
}

SEXP mx_r_nd_info(SEXP nd) {
  mx_ndarray *a = mx_r_nd(nd, "x");
  SEXP out = PROTECT(Rf_allocVector(VECSXP, 4));
  SEXP nms = PROTECT(Rf_allocVector(STRSXP, 4));
  SET_STRING_ELT(nms, 0, Rf_mkChar("dtype"));
  SET_STRING_ELT(nms, 1, Rf_mkChar("ctx"));
  SET_STRING_ELT(nms, 2, Rf_mkChar("size"));
  SET_STRING_ELT(nms, 3, Rf_mkChar("bytes"));
  SET_VECTOR_ELT(out, 0, Rf_mkString(mx_dtype_name(mx_ndarray_dtype(a))));
  SET_VECTOR_ELT(out, 1, mx_r_ctx_new(mx_ndarray_context(a)));
  SET_VECTOR_ELT(out, 2, Rf_ScalarReal((double)mx_ndarray_size(a)));
  SET_VECTOR_ELT(out, 3, Rf_ScalarReal((double)mx_ndarray_nbytes(a)));
  Rf_setAttrib(out, R_NamesSymbol, nms);
  UNPROTECT(2);
  return out;
}

/* Whether every element of the list is a live dense NDArray of dtype
 * `dtype` on one CPU device, the same for all (the updater's test for one
 * multi-weight call). */
SEXP mx_r_nd_all_cpu_dtype(SEXP list, SEXP dtype) {
  int dt = mx_r_dtype(dtype, "dtype");
  if (TYPEOF(list) != VECSXP) return Rf_ScalarLogical(FALSE);
  int dev = -1;
  for (R_xlen_t k = 0; k < XLENGTH(list); k++) {
    SEXP x = VECTOR_ELT(list, k);
    mx_ndarray *a = mx_r_is_nd(x) ? mx_r_nd_addr(x) : NULL;
    if (!a || mx_ndarray_dtype(a) != dt) return Rf_ScalarLogical(FALSE);
    mx_context c = mx_ndarray_context(a);
    if (c.dev_type != MX_CPU || (dev >= 0 && c.dev_id != dev)) return Rf_ScalarLogical(FALSE);
    dev = c.dev_id;
  }
  return Rf_ScalarLogical(TRUE);
}

SEXP mx_r_nd_valid(SEXP nd) {
  if (!mx_r_is_nd(nd)) return Rf_ScalarLogical(FALSE);
  return Rf_ScalarLogical(mx_r_nd_addr(nd) != NULL);
}

SEXP mx_r_nd_full(SEXP shape, SEXP value, SEXP dtype, SEXP ctx) {
  mx_shape s = mx_r_shape(shape, "shape");
  int dt = mx_r_dtype(dtype, "dtype");
  mx_context c = mx_r_ctx(ctx, "ctx");
  if ((TYPEOF(value) != REALSXP && TYPEOF(value) != INTSXP && TYPEOF(value) != LGLSXP) ||
      XLENGTH(value) != 1)
    mx_r_value_error("argument 'value' must be a single number");
  double v = Rf_asReal(value);
  if (ISNA(v)) mx_r_value_error("argument 'value' must not be NA");
  if (!mx_dtype_is_float(dt) && !R_FINITE(v))
    mx_r_value_error("argument 'value' must be finite for dtype %s", mx_dtype_name(dt));
  mx_r_maybe_gc();
  mx_ndarray *a;
  mx_r_check(mx_ndarray_new_fill(&s, dt, c, v, &a));
  return mx_r_wrap_nd(a);
}

SEXP mx_r_nd_copyto(SEXP nd, SEXP ctx, SEXP dtype) {
  mx_ndarray *a = mx_r_nd(nd, "src");
  mx_context c = Rf_isNull(ctx) ? mx_ndarray_context(a) : mx_r_ctx(ctx, "ctx");
  int dt = Rf_isNull(dtype) ? mx_ndarray_dtype(a) : mx_r_dtype(dtype, "dtype");
  mx_r_maybe_gc();
  mx_ndarray *b;
  mx_r_check(mx_ndarray_copy(a, dt, c, &b));
  return mx_r_wrap_nd(b);
}

SEXP mx_r_nd_copy_into(SEXP src, SEXP dst) {
  mx_ndarray *a = mx_r_nd(src, "src");
  mx_ndarray *b = mx_r_nd(dst, "dst");
  mx_r_check(mx_ndarray_copy_into(a, b));
  return dst;
}

SEXP mx_r_nd_reshape(SEXP nd, SEXP dims) {
  mx_ndarray *a = mx_r_nd(nd, "x");
  mx_shape s = mx_r_shape(dims, "value");
  mx_ndarray *b;
  mx_r_check(mx_ndarray_reshape_view(a, &s, &b));
  return mx_r_wrap_nd(b);
}

SEXP mx_r_nd_same(SEXP a, SEXP b) {
  return Rf_ScalarLogical(mx_ndarray_same(mx_r_nd(a, "x"), mx_r_nd(b, "y")));
}

/* Index lists arrive in R order, 1-based, already checked to be positive
 * whole numbers by the R side; bounds are checked by the engine. */
static void index_lists(mx_ndarray *a, SEXP idx, int64_t **lists, int64_t *n) {
  int nd = mx_ndarray_shape(a)->ndim;
  if (TYPEOF(idx) != VECSXP || XLENGTH(idx) != nd)
    mx_r_value_error("incorrect number of dimensions: the array has %d", nd);
  for (int r = 0; r < nd; r++) {
    int k = nd - 1 - r;  /* C axis of R axis r */
    SEXP v = VECTOR_ELT(idx, r);
    if (Rf_isNull(v)) {
      lists[k] = NULL;
      n[k] = 0;
      continue;
    }
    R_xlen_t len = XLENGTH(v);
    lists[k] = (int64_t *)R_alloc(len > 0 ? (size_t)len : 1, sizeof(int64_t));
    n[k] = len;
    for (R_xlen_t j = 0; j < len; j++) {
      double x = TYPEOF(v) == INTSXP ? (INTEGER(v)[j] == NA_INTEGER ? NA_REAL : INTEGER(v)[j])
                 : TYPEOF(v) == REALSXP ? REAL(v)[j] : NA_REAL;
      if (ISNAN(x) || x < 1 || x != floor(x))
        mx_r_value_error("subscript %d contains an invalid index", r + 1);
      lists[k][j] = (int64_t)x - 1;
    }
  }
}

SEXP mx_r_nd_index_get(SEXP nd, SEXP idx) {
  mx_ndarray *a = mx_r_nd(nd, "x");
  int64_t *lists[MX_MAX_DIM], n[MX_MAX_DIM];
  index_lists(a, idx, lists, n);
  mx_ndarray *b;
  mx_r_check(mx_ndarray_index_get(a, (const int64_t *const *)lists, n, &b));
  return mx_r_wrap_nd(b);
}

SEXP mx_r_nd_index_set(SEXP nd, SEXP idx, SEXP value) {
  mx_ndarray *a = mx_r_nd(nd, "x");
  int64_t *lists[MX_MAX_DIM], n[MX_MAX_DIM];
  index_lists(a, idx, lists, n);
  mx_ndarray *v;
  mx_ndarray *owned = NULL;
  if (mx_r_is_nd(value)) {
    v = mx_r_nd(value, "value");
  } else {
    int type = TYPEOF(value);
    if (type != REALSXP && type != INTSXP && type != LGLSXP)
      mx_r_value_error("argument 'value' must be numeric or an MXNDArray");
    R_xlen_t len = XLENGTH(value);
    for (R_xlen_t j = 0; j < len; j++) {
      int na = type == REALSXP ? R_IsNA(REAL(value)[j])
               : (type == INTSXP ? INTEGER(value)[j] : LOGICAL(value)[j]) == NA_INTEGER;
      if (na) mx_r_value_error("argument 'value' contains NA");
    }
    mx_shape s;
    s.ndim = 1;
    s.d[0] = len;
    mx_r_check(mx_ndarray_new(&s, MX_FLOAT64, (mx_context){MX_CPU, 0}, &owned));
    mx_status st = type == REALSXP ? mx_ndarray_from_f64(owned, REAL(value), len)
                                   : mx_ndarray_from_i32(owned, type == INTSXP ? INTEGER(value) : LOGICAL(value), len);
    if (st != MX_OK) {
      mx_ndarray_free(owned);
      mx_r_fail();
    }
    v = owned;
  }
  mx_status st = mx_ndarray_index_set(a, (const int64_t *const *)lists, n, v);
  mx_ndarray_free(owned);
  mx_r_check(st);
  return nd;
}

/* Release the memory of NDArrays the package made for its own use (the
 * initial parameters once executors hold copies): the R objects then say
 * "memory released" rather than keep the storage until R's next garbage
 * collection. */
SEXP mx_r_nd_release(SEXP list) {
  if (TYPEOF(list) != VECSXP) mx_r_value_error("argument 'x' must be a list of MXNDArrays");
  for (R_xlen_t i = 0; i < XLENGTH(list); i++) {
    SEXP x = VECTOR_ELT(list, i);
    if (!mx_r_is_nd(x)) continue;
    SEXP ptr = VECTOR_ELT(x, 0);
    mx_ndarray *a = mx_r_nd_addr(x);
    if (!a) continue;
    R_ClearExternalPtr(ptr);
    mx_ndarray_free(a);
  }
  return R_NilValue;
}
