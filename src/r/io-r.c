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

static SEXP result_list(mx_ndarray **arrays, char **names, int n) {
  /* wrap every array first: the R objects then own them */
  SEXP res = PROTECT(Rf_allocVector(VECSXP, n));
  for (int i = 0; i < n; i++) {
    SET_VECTOR_ELT(res, i, mx_r_wrap_nd(arrays[i]));
    arrays[i] = NULL;
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

SEXP mx_r_nd_save(SEXP arrays, SEXP names, SEXP file) {
  if (TYPEOF(file) != STRSXP || XLENGTH(file) != 1 || STRING_ELT(file, 0) == NA_STRING)
    mx_r_value_error("argument 'filename' must be a single file name");
  mx_ndarray **arr;
  const char **nms;
  int n = collect(arrays, names, &arr, &nms);
  const char *path = R_ExpandFileName(Rf_translateChar(STRING_ELT(file, 0)));
  mx_r_check(mx_ndarray_save_file(path, arr, nms, n));
  return R_NilValue;
}

SEXP mx_r_nd_save_raw(SEXP arrays, SEXP names) {
  mx_ndarray **arr;
  const char **nms;
  int n = collect(arrays, names, &arr, &nms);
  void *buf;
  size_t len;
  mx_r_check(mx_ndarray_save_buffer(arr, nms, n, &buf, &len));
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
  char **names;
  int n;
  mx_r_check(mx_ndarray_load_file(path, &arrays, &names, &n));
  return result_list(arrays, names, n);
}

SEXP mx_r_nd_load_raw(SEXP raw) {
  if (TYPEOF(raw) != RAWSXP) mx_r_value_error("argument 'x' must be a raw vector");
  mx_ndarray **arrays;
  char **names;
  int n;
  mx_r_check(mx_ndarray_load_buffer(RAW(raw), (size_t)XLENGTH(raw), &arrays, &names, &n));
  return result_list(arrays, names, n);
}
