/*
 * kvstore-r.c -- the R side of the kvstore (src/kvstore, R/kvstore.R):
 * an external pointer per store, and calls that take lists of NDArrays.
 */
#include "mx-r.h"

#include "../include/mx-executor.h"
#include "../include/mx-kvstore.h"

#include <string.h>

static SEXP kv_tag = NULL;

static void kv_finalizer(SEXP ptr) {
  mx_kv *kv = (mx_kv *)R_ExternalPtrAddr(ptr);
  if (kv) {
    mx_kv_free(kv);
    R_ClearExternalPtr(ptr);
  }
}

static mx_kv *kv_get(SEXP ptr) {
  if (TYPEOF(ptr) != EXTPTRSXP || R_ExternalPtrTag(ptr) != kv_tag || !R_ExternalPtrAddr(ptr))
    mx_r_value_error("not a live kvstore (was it saved and restored? create it again with mx.kv.create)");
  return (mx_kv *)R_ExternalPtrAddr(ptr);
}

/* The NDArrays of a list, as a transient array (R_alloc: freed on return). */
static mx_ndarray **nd_list(SEXP lst, const char *what, int *n) {
  if (TYPEOF(lst) != VECSXP) mx_r_value_error("%s must be a list of NDArrays", what);
  *n = (int)XLENGTH(lst);
  mx_ndarray **a = (mx_ndarray **)R_alloc((size_t)*n + 1, sizeof *a);
  for (int i = 0; i < *n; i++) a[i] = mx_r_nd(VECTOR_ELT(lst, i), what);
  return a;
}

static void kv_check(mx_status st) {
  if (mx_r_poll_end(st) != MX_OK) mx_r_fail();
}

SEXP mx_r_kv_create(SEXP type) {
  if (!Rf_isString(type) || XLENGTH(type) != 1 || STRING_ELT(type, 0) == NA_STRING)
    mx_r_value_error("argument 'type' must be a single string such as \"local\"");
  if (!kv_tag) kv_tag = Rf_install("MXKVStore");
  SEXP ptr = PROTECT(R_MakeExternalPtr(NULL, kv_tag, R_NilValue));
  R_RegisterCFinalizerEx(ptr, kv_finalizer, FALSE);
  mx_kv *kv = NULL;
  mx_r_check(mx_kv_new(CHAR(STRING_ELT(type, 0)), &kv));
  R_SetExternalPtrAddr(ptr, kv);
  UNPROTECT(1);
  return ptr;
}

/* list(type, rank, size, dist, describe, stats) */
SEXP mx_r_kv_info(SEXP ptr) {
  mx_kv *kv = kv_get(ptr);
  mx_kv_stats s;
  mx_kv_get_stats(kv, &s);
  const char *names[] = {"type", "rank", "num.workers", "dist", "describe", "stats", "bucket.bytes", ""};
  SEXP out = PROTECT(Rf_mkNamed(VECSXP, names));
  SET_VECTOR_ELT(out, 0, Rf_mkString(mx_kv_type(kv)));
  SET_VECTOR_ELT(out, 1, Rf_ScalarInteger(mx_kv_rank(kv)));
  SET_VECTOR_ELT(out, 2, Rf_ScalarInteger(mx_kv_size(kv)));
  SET_VECTOR_ELT(out, 3, Rf_ScalarLogical(mx_kv_is_dist(kv)));
  SET_VECTOR_ELT(out, 4, Rf_mkString(mx_kv_describe(kv)));
  SEXP st = PROTECT(Rf_allocVector(REALSXP, 5));
  REAL(st)[0] = (double)s.allreduce_calls;
  REAL(st)[1] = (double)s.allreduce_bytes;
  REAL(st)[2] = (double)s.buckets;
  REAL(st)[3] = s.allreduce_seconds;
  REAL(st)[4] = (double)s.device_collectives;
  SET_VECTOR_ELT(out, 5, st);
  SET_VECTOR_ELT(out, 6, Rf_ScalarReal((double)mx_kv_bucket_bytes_of(kv)));
  UNPROTECT(2);
  return out;
}

/* timeout (seconds), bucket bytes, fp16 wire (NA leaves a setting alone) */
SEXP mx_r_kv_configure(SEXP ptr, SEXP timeout, SEXP bucket, SEXP fp16) {
  mx_kv *kv = kv_get(ptr);
  double t = Rf_asReal(timeout), b = Rf_asReal(bucket);
  int f = Rf_asLogical(fp16);
  if (!ISNAN(t)) mx_kv_set_timeout(kv, t);
  if (!ISNAN(b)) {
    if (b < 4096 || b > 1073741824.0) mx_r_value_error("the bucket size must be between 4 KiB and 1 GiB");
    mx_kv_set_bucket_bytes(kv, (size_t)b);
  }
  if (f != NA_LOGICAL) mx_r_check(mx_kv_set_compression(kv, f));
  return R_NilValue;
}

/* dst = sum of the arrays of src (any devices) */
SEXP mx_r_kv_reduce(SEXP dst, SEXP src) {
  mx_ndarray *d = mx_r_nd(dst, "dst");
  int n = 0;
  mx_ndarray **s = nd_list(src, "src", &n);
  mx_r_check(mx_kv_reduce(d, s, n));
  return dst;
}

/* For each key k: dsts[[k]] = sum over devices of srcs[[d]][[k]] */
SEXP mx_r_kv_reduce_lists(SEXP dsts, SEXP srcs, SEXP ptr) {
  int nk = 0, nd = 0;
  mx_ndarray **d = nd_list(dsts, "the destinations", &nk);
  if (TYPEOF(srcs) != VECSXP) mx_r_value_error("the sources must be a list (per device) of lists");
  nd = (int)XLENGTH(srcs);
  mx_ndarray **s = (mx_ndarray **)R_alloc((size_t)nk * nd + 1, sizeof *s);
  for (int j = 0; j < nd; j++) {
    int n = 0;
    mx_ndarray **row = nd_list(VECTOR_ELT(srcs, j), "each device's list", &n);
    if (n != nk) mx_r_value_error("device %d gives %d arrays for %d keys", j + 1, n, nk);
    for (int k = 0; k < nk; k++) s[k * nd + j] = row[k];
  }
  mx_r_check(mx_kv_reduce_keys(Rf_isNull(ptr) ? NULL : kv_get(ptr), d, s, nk, nd));
  return R_NilValue;
}

SEXP mx_r_kv_allreduce(SEXP ptr, SEXP arrays) {
  mx_kv *kv = kv_get(ptr);
  int n = 0;
  mx_ndarray **a = nd_list(arrays, "arrays", &n);
  mx_r_sync_threads();
  mx_r_poll_begin();
  kv_check(mx_kv_allreduce(kv, a, n));
  return arrays;
}

SEXP mx_r_kv_broadcast(SEXP ptr, SEXP arrays, SEXP root) {
  mx_kv *kv = kv_get(ptr);
  int n = 0;
  mx_ndarray **a = nd_list(arrays, "arrays", &n);
  mx_r_sync_threads();
  mx_r_poll_begin();
  kv_check(mx_kv_broadcast(kv, a, n, Rf_asInteger(root)));
  return arrays;
}

/* A double vector summed over workers (a new vector). */
SEXP mx_r_kv_allreduce_num(SEXP ptr, SEXP x) {
  mx_kv *kv = kv_get(ptr);
  SEXP out = PROTECT(TYPEOF(x) == REALSXP ? Rf_duplicate(x) : Rf_coerceVector(x, REALSXP));
  mx_r_poll_begin();
  kv_check(mx_kv_allreduce_f64(kv, REAL(out), XLENGTH(out)));
  UNPROTECT(1);
  return out;
}

/* An integer, double, logical or raw vector: root's values on every worker
 * (every worker passes a vector of the same type and length). */
SEXP mx_r_kv_broadcast_vec(SEXP ptr, SEXP x, SEXP root) {
  mx_kv *kv = kv_get(ptr);
  size_t es = 0;
  switch (TYPEOF(x)) {
    case INTSXP: case LGLSXP: es = sizeof(int); break;
    case REALSXP: es = sizeof(double); break;
    case RAWSXP: es = 1; break;
    default: mx_r_value_error("only integer, double, logical and raw vectors are broadcast");
  }
  SEXP out = PROTECT(Rf_duplicate(x));
  void *p = TYPEOF(out) == RAWSXP ? (void *)RAW(out) : TYPEOF(out) == REALSXP ? (void *)REAL(out)
                                                                              : (void *)INTEGER(out);
  mx_r_poll_begin();
  kv_check(mx_kv_broadcast_bytes(kv, p, (size_t)XLENGTH(out) * es, Rf_asInteger(root)));
  UNPROTECT(1);
  return out;
}

SEXP mx_r_kv_barrier(SEXP ptr) {
  mx_kv *kv = kv_get(ptr);
  mx_r_poll_begin();
  kv_check(mx_kv_barrier(kv));
  return R_NilValue;
}

SEXP mx_r_kv_end_job(SEXP ptr, SEXP code) {
  mx_kv *kv = kv_get(ptr);
  mx_kv_end_job(kv, Rf_asInteger(code));
  return R_NilValue;
}

SEXP mx_r_kv_finalize(void) {
  mx_kv_finalize();
  return R_NilValue;
}

/* ---------------------------------------------------------------- overlap */

static SEXP ov_tag = NULL;

static void ov_finalizer(SEXP ptr) {
  mx_kv_overlap *o = (mx_kv_overlap *)R_ExternalPtrAddr(ptr);
  if (o) {
    /* unreachable with its executor, which may be freed already */
    mx_kv_overlap_free(o, 0);
    R_ClearExternalPtr(ptr);
  }
}

/* An overlap of the store's allreduce with the executor's backward, or NULL
 * when the arrays or the store do not allow one (the caller reduces after
 * backward).  The pointer keeps the store and the executor alive. */
SEXP mx_r_kv_overlap_new(SEXP kvptr, SEXP execptr, SEXP grads) {
  mx_kv *kv = kv_get(kvptr);
  mx_executor *e = mx_r_exec_get(execptr);
  int n = 0;
  mx_ndarray **g = nd_list(grads, "grads", &n);
  if (!ov_tag) ov_tag = Rf_install("MXKVOverlap");
  SEXP keep = PROTECT(Rf_allocVector(VECSXP, 2));
  SET_VECTOR_ELT(keep, 0, kvptr);
  SET_VECTOR_ELT(keep, 1, execptr);
  SEXP ptr = PROTECT(R_MakeExternalPtr(NULL, ov_tag, keep));
  R_RegisterCFinalizerEx(ptr, ov_finalizer, TRUE);
  mx_kv_overlap *o = NULL;
  mx_status st = mx_kv_overlap_new(kv, e, g, n, &o);
  if (st == MX_ERR_UNSUPPORTED) {
    mx_error_clear();
    UNPROTECT(2);
    return R_NilValue;
  }
  mx_r_check(st);
  R_SetExternalPtrAddr(ptr, o);
  UNPROTECT(2);
  return ptr;
}

SEXP mx_r_kv_overlap_wait(SEXP ptr) {
  if (TYPEOF(ptr) != EXTPTRSXP || R_ExternalPtrTag(ptr) != ov_tag || !R_ExternalPtrAddr(ptr))
    mx_r_value_error("not a live kvstore overlap");
  mx_r_check(mx_kv_overlap_wait((mx_kv_overlap *)R_ExternalPtrAddr(ptr)));
  return R_NilValue;
}

/* Free an overlap now, detaching it from its (live) executor. */
SEXP mx_r_kv_overlap_free(SEXP ptr) {
  if (TYPEOF(ptr) == EXTPTRSXP && R_ExternalPtrTag(ptr) == ov_tag && R_ExternalPtrAddr(ptr)) {
    mx_kv_overlap_free((mx_kv_overlap *)R_ExternalPtrAddr(ptr), 1);
    R_ClearExternalPtr(ptr);
  }
  return R_NilValue;
}
