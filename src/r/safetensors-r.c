/*
 * safetensors-r.c -- the engine's JSON reader (engine/json.c) for R: the
 * header of safetensors files (R/safetensors.R) as nested R lists; CRC-32
 * (io/zip.c) for the zip archives of mx.torch.save (R/pytorch.R).
 */
#include "mx-r.h"
#include "../include/mx-json.h"
#include "../io/mx-io.h"

#include <string.h>

/* A JSON tree as R: null -> NULL, bool -> logical, number -> double,
 * string -> character, array -> list, object -> named list. */
static SEXP json_to_r(const mx_json *j) {
  switch (j->type) {
  case MX_JSON_BOOL: return Rf_ScalarLogical(j->num != 0);
  case MX_JSON_NUM: return Rf_ScalarReal(j->num);
  case MX_JSON_STR: return Rf_mkString(j->str);
  case MX_JSON_ARR:
  case MX_JSON_OBJ: {
    SEXP out = PROTECT(Rf_allocVector(VECSXP, j->n));
    for (int i = 0; i < j->n; i++) SET_VECTOR_ELT(out, i, json_to_r(j->items[i]));
    if (j->type == MX_JSON_OBJ) {
      SEXP nm = PROTECT(Rf_allocVector(STRSXP, j->n));
      for (int i = 0; i < j->n; i++) SET_STRING_ELT(nm, i, Rf_mkCharCE(j->keys[i], CE_UTF8));
      Rf_setAttrib(out, R_NamesSymbol, nm);
      UNPROTECT(1);
    }
    UNPROTECT(1);
    return out;
  }
  default: return R_NilValue;
  }
}

/* Parse JSON text held in a raw vector. */
SEXP mx_r_json_parse(SEXP raw) {
  if (TYPEOF(raw) != RAWSXP) mx_r_value_error("argument 'text' must be a raw vector");
  mx_json *j;
  mx_r_check(mx_json_parse((const char *)RAW(raw), (size_t)XLENGTH(raw), &j));
  /* the tree leaks only if R itself runs out of memory while converting */
  SEXP res = PROTECT(json_to_r(j));
  mx_json_free(j);
  UNPROTECT(1);
  return res;
}

/* CRC-32 of a raw vector (zip entries of mx.torch.save). */
SEXP mx_r_crc32(SEXP raw) {
  if (TYPEOF(raw) != RAWSXP) mx_r_value_error("argument 'bytes' must be a raw vector");
  return Rf_ScalarReal((double)mx_crc32(RAW(raw), (size_t)XLENGTH(raw), 0));
}
