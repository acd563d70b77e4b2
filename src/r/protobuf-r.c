/*
 * protobuf-r.c -- the protobuf wire decoder (io/protobuf.c) for R: one
 * message level of a slice of a raw vector at a time (R/caffe-import.R).
 */
#include "mx-r.h"
#include "../io/mx-io.h"

#include <string.h>

/* The slice [offset, offset + length) of a raw vector, checked. */
static const uint8_t *slice(SEXP raw, SEXP offset, SEXP length, size_t *len) {
  if (TYPEOF(raw) != RAWSXP) mx_r_value_error("argument 'buf' must be a raw vector");
  double off = Rf_asReal(offset), n = Rf_asReal(length);
  if (!(off >= 0) || !(n >= 0) || off + n > (double)XLENGTH(raw))
    mx_r_value_error("the slice [%.0f, %.0f) lies outside the buffer of %.0f bytes", off, off + n,
                     (double)XLENGTH(raw));
  *len = (size_t)n;
  return RAW(raw) + (size_t)off;
}

static double field_value(const mx_pb_field *f) {
  if (f->wire == 0) return (double)(int64_t)f->value;
  if (f->wire == 1) {
    double d;
    memcpy(&d, &f->value, sizeof d);
    return d;
  }
  if (f->wire == 5) {
    uint32_t u = (uint32_t)f->value;
    float x;
    memcpy(&x, &u, sizeof x);
    return (double)x;
  }
  return NA_REAL;
}

SEXP mx_r_pb_scan(SEXP raw, SEXP offset, SEXP length) {
  size_t len, n;
  const uint8_t *buf = slice(raw, offset, length, &len);
  mx_pb_field *fs;
  mx_r_check(mx_pb_scan(buf, len, &fs, &n));
  double base = Rf_asReal(offset);
  SEXP res = PROTECT(Rf_allocVector(VECSXP, 5));
  SEXP num = PROTECT(Rf_allocVector(INTSXP, (R_xlen_t)n));
  SEXP wire = PROTECT(Rf_allocVector(INTSXP, (R_xlen_t)n));
  SEXP val = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)n));
  SEXP off = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)n));
  SEXP ln = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)n));
  for (size_t i = 0; i < n; i++) {
    INTEGER(num)[i] = (int)fs[i].number;
    INTEGER(wire)[i] = fs[i].wire;
    REAL(val)[i] = field_value(&fs[i]);
    REAL(off)[i] = base + (double)fs[i].offset;
    REAL(ln)[i] = (double)fs[i].length;
  }
  mx_free(fs);
  SET_VECTOR_ELT(res, 0, num);
  SET_VECTOR_ELT(res, 1, wire);
  SET_VECTOR_ELT(res, 2, val);
  SET_VECTOR_ELT(res, 3, off);
  SET_VECTOR_ELT(res, 4, ln);
  SEXP nm = PROTECT(Rf_allocVector(STRSXP, 5));
  const char *names[] = {"field", "wire", "value", "offset", "length"};
  for (int k = 0; k < 5; k++) SET_STRING_ELT(nm, k, Rf_mkChar(names[k]));
  Rf_setAttrib(res, R_NamesSymbol, nm);
  UNPROTECT(7);
  return res;
}

SEXP mx_r_pb_varints(SEXP raw, SEXP offset, SEXP length) {
  size_t len, n;
  const uint8_t *buf = slice(raw, offset, length, &len);
  int64_t *v = (int64_t *)R_alloc(len ? len : 1, sizeof(int64_t));
  mx_r_check(mx_pb_varints(buf, len, v, &n));
  SEXP res = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)n));
  for (size_t i = 0; i < n; i++) REAL(res)[i] = (double)v[i];
  UNPROTECT(1);
  return res;
}
