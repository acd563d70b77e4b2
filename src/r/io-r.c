/*
 * io-r.c -- mx.nd.save / mx.nd.load (files and raw vectors).
 */
#include "mx-r.h"

#include <string.h>

/* Collect the arrays and names of an R list (names may be NULL). */
static int collect(SEXP arrays, SEXP names, mx_ndarray ***arr, const char ***nms) {
  if (TYPEOF(arrays) != VECSXP) mx_r_value_error("argument 'ndarray' must be an MXNDArray or a list of them");
  R_xlen_t n = XLENGTH(arrays);
  if (n > 100000000) mx_r_value_error("too many arrays");
  *arr = (mx_ndarray **)R_alloc(n ? (size_t)n : 1, sizeof(mx_ndarray *));
  for (R_xlen_t i = 0; i < n; i++) {
    char arg[48];
    snprintf(arg, sizeof arg, "ndarray[[%d]]", (int)i + 1);
    (*arr)[i] = mx_r_nd(VECTOR_ELT(arrays, i), arg);
  }
  *nms = NULL;
  if (!Rf_isNull(names)) {
    if (TYPEOF(names) != STRSXP || XLENGTH(names) != n)
      mx_r_value_error("names must be a character vector with one name per array");
    *nms = (const char **)R_alloc(n ? (size_t)n : 1, sizeof(char *));
    for (R_xlen_t i = 0; i < n; i++) {
      if (STRING_ELT(names, i) == NA_STRING) mx_r_value_error("names must not be NA");
      (*nms)[i] = Rf_translateCharUTF8(STRING_ELT(names, i));
    }
  }
  return (int)n;
}

/* The sparse descriptions of mx.nd.save's R side: NULL (all dense) or one
 * entry per array, NULL or list(stype, shape = C-order dims, aux = list of
 * int64 NDArrays). */
static mx_nd_sparse *collect_sparse(SEXP sparse, int n) {
  if (Rf_isNull(sparse)) return NULL;
  if (TYPEOF(sparse) != VECSXP || XLENGTH(sparse) != n) mx_r_value_error("internal: one sparse entry per array");
  mx_nd_sparse *sp = (mx_nd_sparse *)R_alloc(n ? (size_t)n : 1, sizeof *sp);
  memset(sp, 0, (n ? (size_t)n : 1) * sizeof *sp);
  for (int i = 0; i < n; i++) {
    SEXP e = VECTOR_ELT(sparse, i);
    if (Rf_isNull(e)) continue;
    if (TYPEOF(e) != VECSXP || XLENGTH(e) != 3) mx_r_value_error("internal: a sparse entry is list(stype, shape, aux)");
    sp[i].stype = Rf_asInteger(VECTOR_ELT(e, 0));
    SEXP sh = VECTOR_ELT(e, 1), aux = VECTOR_ELT(e, 2);
    if (TYPEOF(sh) != REALSXP || XLENGTH(sh) < 1 || XLENGTH(sh) > MX_MAX_DIM || TYPEOF(aux) != VECSXP ||
        XLENGTH(aux) > 2)
      mx_r_value_error("internal: a sparse entry's shape or index arrays are malformed");
    sp[i].shape.ndim = (int)XLENGTH(sh);
    for (R_xlen_t k = 0; k < XLENGTH(sh); k++) {
      double v = REAL(sh)[k];
      if (!(v >= 0 && v < 9.0e15)) mx_r_value_error("internal: a sparse shape must hold non-negative sizes");
      sp[i].shape.d[k] = (int64_t)v;
    }
    for (R_xlen_t k = 0; k < XLENGTH(aux); k++) sp[i].aux[k] = mx_r_nd(VECTOR_ELT(aux, k), "a sparse index array");
  }
  return sp;
}

/* list(stype, shape, aux) per array (NULL when dense); the R objects take
 * the index arrays. */
static SEXP sparse_list(mx_nd_sparse *sp, int n) {
  SEXP out = PROTECT(Rf_allocVector(VECSXP, n));
  const char *names[] = {"stype", "shape", "aux", ""};
  for (int i = 0; i < n; i++) {
    if (!sp[i].stype) continue;
    SEXP e = PROTECT(Rf_mkNamed(VECSXP, names));
    SET_VECTOR_ELT(out, i, e);
    UNPROTECT(1);
    SET_VECTOR_ELT(e, 0, Rf_ScalarInteger(sp[i].stype));
    SEXP sh = PROTECT(Rf_allocVector(REALSXP, sp[i].shape.ndim));
    for (int k = 0; k < sp[i].shape.ndim; k++) REAL(sh)[k] = (double)sp[i].shape.d[k];
    SET_VECTOR_ELT(e, 1, sh);
    UNPROTECT(1);
    int na = sp[i].stype == 2 ? 2 : 1;
    SEXP aux = PROTECT(Rf_allocVector(VECSXP, na));
    SET_VECTOR_ELT(e, 2, aux);
    UNPROTECT(1);
    for (int k = 0; k < na; k++) {
      SET_VECTOR_ELT(aux, k, mx_r_wrap_nd(sp[i].aux[k]));
      sp[i].aux[k] = NULL;
    }
  }
  UNPROTECT(1);
  return out;
}

static SEXP result_list(mx_ndarray **arrays, mx_nd_sparse *sp, char **names, int n) {
  /* wrap every array first: the R objects then own them */
  SEXP res = PROTECT(Rf_allocVector(VECSXP, n));
  for (int i = 0; i < n; i++) {
    SET_VECTOR_ELT(res, i, mx_r_wrap_nd(arrays[i]));
    arrays[i] = NULL;
  }
  if (sp) {
    Rf_setAttrib(res, Rf_install("sparse"), sparse_list(sp, n));
    mx_nd_sparse_free(sp, n);
  }
  if (names) {
    SEXP nm = PROTECT(Rf_allocVector(STRSXP, n));
    for (int i = 0; i < n; i++) SET_STRING_ELT(nm, i, Rf_mkCharCE(names[i], CE_UTF8));
    Rf_setAttrib(res, R_NamesSymbol, nm);
    UNPROTECT(1);
  }
  mx_ndarray_list_free(arrays, names, n);
  UNPROTECT(1);
  return res;
}

SEXP mx_r_nd_save(SEXP arrays, SEXP names, SEXP file, SEXP sparse) {
  if (TYPEOF(file) != STRSXP || XLENGTH(file) != 1 || STRING_ELT(file, 0) == NA_STRING)
    mx_r_value_error("argument 'filename' must be a single file name");
  mx_ndarray **arr;
  const char **nms;
  int n = collect(arrays, names, &arr, &nms);
  const char *path = R_ExpandFileName(Rf_translateChar(STRING_ELT(file, 0)));
  mx_r_check(mx_ndarray_save_file(path, arr, collect_sparse(sparse, n), nms, n));
  return R_NilValue;
}

SEXP mx_r_nd_save_raw(SEXP arrays, SEXP names, SEXP sparse) {
  mx_ndarray **arr;
  const char **nms;
  int n = collect(arrays, names, &arr, &nms);
  void *buf;
  size_t len;
  mx_r_check(mx_ndarray_save_buffer(arr, collect_sparse(sparse, n), nms, n, &buf, &len));
  /* unprotected-ok: nothing allocates before it is returned (buf leaks only if R itself is out of memory) */
  SEXP out = Rf_allocVector(RAWSXP, (R_xlen_t)len); /* unprotected-ok */
  memcpy(RAW(out), buf, len);
  mx_free(buf);
  return out;
}

SEXP mx_r_nd_load(SEXP file) {
  if (TYPEOF(file) != STRSXP || XLENGTH(file) != 1 || STRING_ELT(file, 0) == NA_STRING)
    mx_r_value_error("argument 'filename' must be a single file name");
  const char *path = R_ExpandFileName(Rf_translateChar(STRING_ELT(file, 0)));
  mx_ndarray **arrays;
  mx_nd_sparse *sp;
  char **names;
  int n;
  mx_r_check(mx_ndarray_load_file(path, &arrays, &sp, &names, &n));
  return result_list(arrays, sp, names, n);
}

SEXP mx_r_nd_load_raw(SEXP raw) {
  if (TYPEOF(raw) != RAWSXP) mx_r_value_error("argument 'x' must be a raw vector");
  mx_ndarray **arrays;
  mx_nd_sparse *sp;
  char **names;
  int n;
  mx_r_check(mx_ndarray_load_buffer(RAW(raw), (size_t)XLENGTH(raw), &arrays, &sp, &names, &n));
  return result_list(arrays, sp, names, n);
}
