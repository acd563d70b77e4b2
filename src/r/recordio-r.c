/*
 * recordio-r.c -- R glue of RecordIO files and image record headers
 * (R/recordio.R): mx.io.MXRecordIO / mx.io.MXIndexedRecordIO handles and
 * mx.io.recordio.pack / unpack.
 */
#include "mx-r.h"
#include "../io/mx-io.h"

#include <math.h>
#include <string.h>

static SEXP rec_tag = NULL;

static void rec_finalizer(SEXP ptr) {
  mx_recordio_close((mx_recordio *)R_ExternalPtrAddr(ptr));
  R_ClearExternalPtr(ptr);
}

static mx_recordio *rec_get(SEXP ptr) {
  if (TYPEOF(ptr) != EXTPTRSXP || R_ExternalPtrTag(ptr) != rec_tag)
    mx_r_value_error("not a RecordIO handle");
  mx_recordio *r = (mx_recordio *)R_ExternalPtrAddr(ptr);
  if (!r) mx_r_raise(MX_ERR_IO, "the RecordIO file is closed");
  return r;
}

static const char *str_arg(SEXP x, const char *arg, int empty_ok) {
  if (TYPEOF(x) != STRSXP || XLENGTH(x) != 1 || STRING_ELT(x, 0) == NA_STRING)
    mx_r_value_error("argument '%s' must be a single string", arg);
  const char *s = Rf_translateChar(STRING_ELT(x, 0));
  if (!empty_ok && !*s) mx_r_value_error("argument '%s' must not be empty", arg);
  return s;
}

/* A path argument copied out of R_ExpandFileName's static buffer. */
const char *mx_r_path_arg(SEXP x, const char *arg) {
  const char *p = R_ExpandFileName(str_arg(x, arg, 0));
  size_t n = strlen(p) + 1;
  char *c = R_alloc(n, 1);
  memcpy(c, p, n);
  return c;
}

static double num_arg(SEXP x, const char *arg, double lo, double hi) {
  if (XLENGTH(x) != 1 || (TYPEOF(x) != INTSXP && TYPEOF(x) != REALSXP))
    mx_r_value_error("argument '%s' must be a single number", arg);
  double v = Rf_asReal(x);
  if (!R_FINITE(v) || v != floor(v) || v < lo || v > hi)
    mx_r_value_error("argument '%s' must be a whole number in [%.0f, %.0f]", arg, lo, hi);
  return v;
}

SEXP mx_r_recordio_open(SEXP path, SEXP write, SEXP idx) {
  const char *p = mx_r_path_arg(path, "uri");
  const char *ip = Rf_isNull(idx) ? NULL : mx_r_path_arg(idx, "idx.path");
  int w = Rf_asLogical(write) == TRUE;
  if (!rec_tag) rec_tag = Rf_install("MXRecordIO");
  SEXP ptr = PROTECT(R_MakeExternalPtr(NULL, rec_tag, R_NilValue));
  R_RegisterCFinalizerEx(ptr, rec_finalizer, TRUE);
  mx_recordio *r;
  mx_r_check(mx_recordio_open(p, w, ip, &r));
  R_SetExternalPtrAddr(ptr, r);
  UNPROTECT(1);
  return ptr;
}

SEXP mx_r_recordio_close(SEXP ptr) {
  if (TYPEOF(ptr) == EXTPTRSXP && R_ExternalPtrTag(ptr) == rec_tag) rec_finalizer(ptr);
  return R_NilValue;
}

SEXP mx_r_recordio_write(SEXP ptr, SEXP buf, SEXP key) {
  mx_recordio *r = rec_get(ptr);
  if (TYPEOF(buf) != RAWSXP) mx_r_value_error("argument 'buf' must be a raw vector");
  double k = num_arg(key, "key", -1, 9007199254740992.0);
  uint64_t off;
  mx_r_check(mx_recordio_write(r, RAW(buf), (size_t)XLENGTH(buf), (int64_t)k, &off));
  return Rf_ScalarReal((double)off);
}

SEXP mx_r_recordio_read(SEXP ptr) {
  mx_recordio *r = rec_get(ptr);
  const uint8_t *d;
  size_t n;
  int eof;
  mx_r_check(mx_recordio_read(r, &d, &n, &eof));
  if (eof) return R_NilValue;
  SEXP out = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t)n));
  if (n) memcpy(RAW(out), d, n);
  UNPROTECT(1);
  return out;
}

SEXP mx_r_recordio_seek(SEXP ptr, SEXP offset) {
  mx_recordio *r = rec_get(ptr);
  double o = num_arg(offset, "offset", 0, 9007199254740992.0);
  mx_r_check(mx_recordio_seek(r, (uint64_t)o, 0));
  return R_NilValue;
}

SEXP mx_r_recordio_tell(SEXP ptr) { return Rf_ScalarReal((double)mx_recordio_tell(rec_get(ptr))); }

SEXP mx_r_recordio_read_idx(SEXP path) {
  const char *p = mx_r_path_arg(path, "idx.path");
  int64_t *keys, n;
  uint64_t *offs;
  mx_r_check(mx_recordio_read_idx(p, &keys, &offs, &n));
  SEXP res = PROTECT(Rf_allocVector(VECSXP, 2));
  SET_VECTOR_ELT(res, 0, Rf_allocVector(REALSXP, (R_xlen_t)n));
  SET_VECTOR_ELT(res, 1, Rf_allocVector(REALSXP, (R_xlen_t)n));
  SEXP k = VECTOR_ELT(res, 0), o = VECTOR_ELT(res, 1);
  for (int64_t i = 0; i < n; i++) {
    REAL(k)[i] = (double)keys[i];
    REAL(o)[i] = (double)offs[i];
  }
  mx_free(keys);
  mx_free(offs);
  UNPROTECT(1);
  return res;
}

SEXP mx_r_irheader_pack(SEXP flag, SEXP label, SEXP id, SEXP id2, SEXP payload) {
  if (TYPEOF(label) != REALSXP) mx_r_value_error("argument 'label' must be numeric");
  if (TYPEOF(payload) != RAWSXP) mx_r_value_error("argument 's' must be a raw vector");
  mx_irheader h;
  R_xlen_t nl = XLENGTH(label);
  if (nl > 100000000) mx_r_value_error("too many labels");
  h.flag = (uint32_t)num_arg(flag, "header$flag", 0, 4294967295.0);
  h.id = (uint64_t)num_arg(id, "header$id", 0, 9007199254740992.0);
  h.id2 = (uint64_t)num_arg(id2, "header$id2", 0, 9007199254740992.0);
  h.label = nl == 1 ? (float)REAL(label)[0] : 0.0f;
  float *lab = (float *)R_alloc(nl ? (size_t)nl : 1, sizeof(float));
  for (R_xlen_t i = 0; i < nl; i++) lab[i] = (float)REAL(label)[i];
  uint8_t *out;
  size_t n;
  mx_r_check(mx_irheader_pack(&h, lab, nl == 1 ? 0 : (uint32_t)nl, RAW(payload),
                              (size_t)XLENGTH(payload), &out, &n));
  /* unprotected-ok: nothing allocates before it is returned */
  SEXP res = Rf_allocVector(RAWSXP, (R_xlen_t)n); /* unprotected-ok */
  memcpy(RAW(res), out, n);
  mx_free(out);
  return res;
}

SEXP mx_r_irheader_unpack(SEXP rec) {
  if (TYPEOF(rec) != RAWSXP) mx_r_value_error("argument 's' must be a raw vector");
  mx_irheader h;
  const uint8_t *lab, *pay;
  size_t pn;
  mx_r_check(mx_irheader_unpack(RAW(rec), (size_t)XLENGTH(rec), &h, &lab, &pay, &pn));
  SEXP res = PROTECT(Rf_allocVector(VECSXP, 5));
  SET_VECTOR_ELT(res, 0, Rf_ScalarReal((double)h.flag));
  SET_VECTOR_ELT(res, 1, Rf_allocVector(REALSXP, h.flag ? (R_xlen_t)h.flag : 1));
  SEXP l = VECTOR_ELT(res, 1);
  if (!h.flag) REAL(l)[0] = h.label;
  for (uint32_t i = 0; i < h.flag; i++) {
    float f;
    memcpy(&f, lab + 4 * (size_t)i, 4);
    REAL(l)[i] = f;
  }
  SET_VECTOR_ELT(res, 2, Rf_ScalarReal((double)h.id));
  SET_VECTOR_ELT(res, 3, Rf_ScalarReal((double)h.id2));
  SET_VECTOR_ELT(res, 4, Rf_allocVector(RAWSXP, (R_xlen_t)pn));
  SEXP s = VECTOR_ELT(res, 4);
  if (pn) memcpy(RAW(s), pay, pn);
  UNPROTECT(1);
  return res;
}
