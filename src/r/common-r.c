/*
 * common-r.c -- conversions every entry point shares: NDArray objects,
 * contexts, shapes, dtypes, errors, seeds, threads and the GC trigger.
 */
#include "mx-r.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- errors */

static SEXP pkg_ns = NULL;

/* The package namespace, found once (the glue only runs once it is loaded). */
static SEXP mx_r_namespace(void) {
  if (!pkg_ns) {
    SEXP name = PROTECT(Rf_mkString("mxnet"));
    pkg_ns = R_FindNamespace(name);
    R_PreserveObject(pkg_ns);
    UNPROTECT(1);
  }
  return pkg_ns;
}

/* Signal the classed condition through mx.engine.error() in R/errors.R, which
 * also finds the user's call; Rf_error is only a fallback. */
static void raise_status(int st, const char *msg) MX_R_NORETURN;
static void raise_status(int st, const char *msg) {
  SEXP code = PROTECT(Rf_ScalarInteger(st));
  SEXP name = PROTECT(Rf_mkString(mx_status_name(st)));
  SEXP m = PROTECT(Rf_mkString(msg));
  SEXP call = PROTECT(Rf_lang4(Rf_install("mx.engine.error"), code, name, m));
  Rf_eval(call, mx_r_namespace());
  UNPROTECT(4);
  for (;;) Rf_error("%s", msg);
}

void mx_r_fail(void) {
  const char *msg = mx_last_error();
  int st = mx_last_status();
  raise_status(st == MX_OK ? MX_ERR_INTERNAL : st,
               (msg && *msg) ? msg : "unknown engine error (please report this bug)");
}

void mx_r_raise(int st, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  raise_status(st, buf);
}

/* ------------------------------------------------------------- NDArray */

static void nd_finalizer(SEXP ptr) {
  mx_ndarray *a = (mx_ndarray *)R_ExternalPtrAddr(ptr);
  if (a) {
    R_ClearExternalPtr(ptr);
    mx_ndarray_free(a);
  }
}

int mx_r_is_nd(SEXP x) {
  return TYPEOF(x) == VECSXP && XLENGTH(x) == 1 && Rf_inherits(x, "MXNDArray") &&
         TYPEOF(VECTOR_ELT(x, 0)) == EXTPTRSXP &&
         R_ExternalPtrTag(VECTOR_ELT(x, 0)) == mx_sym_nd_tag;
}

/* The array of an NDArray object (rebuilt on first use after readRDS), or
 * NULL when it was released. */
mx_ndarray *mx_r_nd_addr(SEXP x) {
  return (mx_ndarray *)mx_r_restore(VECTOR_ELT(x, 0), nd_finalizer);
}

mx_ndarray *mx_r_nd(SEXP x, const char *arg) {
  if (!mx_r_is_nd(x))
    mx_r_value_error("argument '%s' must be an MXNDArray, not %s%s", arg,
             Rf_isNull(x) ? "NULL" : Rf_type2char(TYPEOF(x)),
             (Rf_isNumeric(x) || Rf_isLogical(x)) ? " (convert it with mx.nd.array())" : "");
  mx_ndarray *a = mx_r_nd_addr(x);
  if (!a)
    mx_r_value_error("argument '%s' is an MXNDArray whose memory no longer exists "
             "(NDArrays saved with serialization version 2 or from a finalized array "
             "have no values; keep them with saveRDS() or mx.nd.save())", arg);
  return a;
}

/* Wrapping allocates, and an R allocation can fail with a longjmp: until the
 * finalizer is registered the engine array is freed by the unwind cleanup,
 * after that by the finalizer (so it is never leaked or freed twice). */
typedef struct wrap_job {
  mx_ndarray *a;
  int owned;      /* the external pointer's finalizer owns a */
} wrap_job;

static SEXP unwind_token = NULL;

void mx_r_wrap_init(void) {
  if (unwind_token) return;
  unwind_token = R_MakeUnwindCont();
  R_PreserveObject(unwind_token);
}

static SEXP wrap_body(void *data) {
  wrap_job *j = (wrap_job *)data;
  SEXP ptr = PROTECT(R_MakeExternalPtr(j->a, mx_sym_nd_tag, R_NilValue));
  R_RegisterCFinalizerEx(ptr, nd_finalizer, TRUE);
  j->owned = 1;
  mx_r_persist_attach(ptr);
  SEXP obj = PROTECT(Rf_allocVector(VECSXP, 1));
  SET_VECTOR_ELT(obj, 0, ptr);
  Rf_setAttrib(obj, R_ClassSymbol, mx_str_nd_class);
  UNPROTECT(2);
  return obj;
}

static void wrap_cleanup(void *data, Rboolean jump) {
  wrap_job *j = (wrap_job *)data;
  if (jump && !j->owned) mx_ndarray_free(j->a);
}

SEXP mx_r_wrap_nd(mx_ndarray *a) {
  wrap_job j = {a, 0};
  if (!unwind_token) mx_r_wrap_init();
  SEXP obj = PROTECT(R_UnwindProtect(wrap_body, &j, wrap_cleanup, &j, unwind_token));
  SETCAR(unwind_token, R_NilValue);   /* the token keeps the last result alive */
  UNPROTECT(1);
  return obj;
}

/* ------------------------------------------------------------- contexts */

static SEXP list_elt(SEXP list, SEXP sym) {
  SEXP names = Rf_getAttrib(list, R_NamesSymbol);
  if (TYPEOF(names) != STRSXP) return R_NilValue;
  const char *want = CHAR(PRINTNAME(sym));
  for (R_xlen_t i = 0; i < XLENGTH(names); i++)
    if (strcmp(CHAR(STRING_ELT(names, i)), want) == 0) return VECTOR_ELT(list, i);
  return R_NilValue;
}

static int scalar_int(SEXP x, int *out) {
  if ((TYPEOF(x) != INTSXP && TYPEOF(x) != REALSXP) || XLENGTH(x) != 1) return 0;
  if (TYPEOF(x) == INTSXP && INTEGER(x)[0] != NA_INTEGER) { *out = INTEGER(x)[0]; return 1; }
  if (TYPEOF(x) == REALSXP && R_FINITE(REAL(x)[0]) && REAL(x)[0] == floor(REAL(x)[0]) &&
      fabs(REAL(x)[0]) < 2e9) { *out = (int)REAL(x)[0]; return 1; }
  return 0;
}

mx_context mx_r_ctx(SEXP ctx, const char *arg) {
  mx_context c = {MX_CPU, 0};
  if (Rf_isNull(ctx)) return c;
  if (TYPEOF(ctx) != VECSXP || !Rf_inherits(ctx, "MXContext"))
    mx_r_value_error("argument '%s' must be a context such as mx.cpu() or mx.gpu(0)", arg);
  int t, id;
  if (!scalar_int(list_elt(ctx, mx_sym_device_typeid), &t) ||
      !scalar_int(list_elt(ctx, mx_sym_device_id), &id) || (t != MX_CPU && t != MX_GPU) || id < 0)
    mx_r_value_error("argument '%s' is a malformed MXContext", arg);
  c.dev_type = t;
  c.dev_id = id;
  return c;
}

SEXP mx_r_ctx_new(mx_context c) {
  SEXP obj = PROTECT(Rf_allocVector(VECSXP, 3));
  SEXP nms = PROTECT(Rf_allocVector(STRSXP, 3));
  SET_STRING_ELT(nms, 0, Rf_mkChar("device"));
  SET_STRING_ELT(nms, 1, Rf_mkChar("device_id"));
  SET_STRING_ELT(nms, 2, Rf_mkChar("device_typeid"));
  SET_VECTOR_ELT(obj, 0, Rf_mkString(c.dev_type == MX_GPU ? "gpu" : "cpu"));
  SET_VECTOR_ELT(obj, 1, Rf_ScalarInteger(c.dev_id));
  SET_VECTOR_ELT(obj, 2, Rf_ScalarInteger(c.dev_type));
  Rf_setAttrib(obj, R_NamesSymbol, nms);
  Rf_setAttrib(obj, R_ClassSymbol, Rf_mkString("MXContext"));
  UNPROTECT(2);
  return obj;
}

/* --------------------------------------------------------------- shapes */

mx_shape mx_r_shape(SEXP dims, const char *arg) {
  mx_shape s;
  s.ndim = 0;
  if (Rf_isNull(dims)) return s;
  if (TYPEOF(dims) != INTSXP && TYPEOF(dims) != REALSXP)
    mx_r_value_error("argument '%s' must be a numeric vector of dimensions", arg);
  R_xlen_t n = XLENGTH(dims);
  if (n > MX_MAX_DIM)
    mx_r_value_error("argument '%s' has %d dimensions; at most %d are supported", arg, (int)n, MX_MAX_DIM);
  s.ndim = (int)n;
  for (R_xlen_t i = 0; i < n; i++) {
    double v = TYPEOF(dims) == INTSXP
                   ? (INTEGER(dims)[i] == NA_INTEGER ? NA_REAL : INTEGER(dims)[i])
                   : REAL(dims)[i];
    if (ISNAN(v)) mx_r_value_error("argument '%s' contains NA", arg);
    if (v < 0 || v != floor(v) || v > 9e15)
      mx_r_value_error("argument '%s' must contain non-negative whole numbers", arg);
    s.d[n - 1 - i] = (int64_t)v;
  }
  return s;
}

int mx_r_dtype(SEXP dtype, const char *arg) {
  if (Rf_isNull(dtype)) return MX_FLOAT32;
  if (TYPEOF(dtype) != STRSXP || XLENGTH(dtype) != 1 || STRING_ELT(dtype, 0) == NA_STRING)
    mx_r_value_error("argument '%s' must be a dtype name such as \"float32\"", arg);
  int t = mx_dtype_from_name(CHAR(STRING_ELT(dtype, 0)));
  if (t < 0)
    mx_r_value_error("argument '%s': unknown dtype \"%s\" (use float32, float64, float16, bfloat16, uint8, int8, int32 or int64)",
             arg, CHAR(STRING_ELT(dtype, 0)));
  return t;
}

/* ---------------------------------------------------------------- seeds */

uint64_t mx_r_seed(void) {
  GetRNGstate();
  double u1 = unif_rand(), u2 = unif_rand();
  PutRNGstate();
  uint64_t hi = (uint64_t)(u1 * 4294967296.0), lo = (uint64_t)(u2 * 4294967296.0);
  return (hi << 32) | (lo & 0xffffffffu);
}

/* -------------------------------------------------------------- threads */

static SEXP sym_threads_opt = NULL;
static int last_threads_opt = -1;

void mx_r_sync_threads(void) {
  if (!sym_threads_opt) sym_threads_opt = Rf_install("mxnet.threads");
  SEXP o = Rf_GetOption1(sym_threads_opt);
  double v = 0;   /* NULL, NA, negative or not a number: automatic */
  if ((TYPEOF(o) == INTSXP || TYPEOF(o) == REALSXP) && XLENGTH(o) == 1) v = Rf_asReal(o);
  if (ISNAN(v) || v < 0) v = 0;
  int n = v > mx_threads_max() ? mx_threads_max() + 1 : (int)v;
  if (n == last_threads_opt) return;
  last_threads_opt = n;
  if (n > mx_threads_max()) {
    /* warned once per value; ops go on with the most threads allowed */
    Rf_warning("options(mxnet.threads = %.0f) asks for more threads than mxnet uses; "
               "using %d (%d per processor)", v, mx_threads_max(), MX_THREADS_PER_PROC);
    n = mx_threads_max();
  }
  mx_r_check(mx_threads_set(n));
}

/* ------------------------------------------------------------------- gc */

static double gc_threshold = 1024.0 * 1024.0 * 1024.0;  /* bytes of growth */
static double gc_baseline = 0;

static double bytes_in_use(void) { return (double)mx_pool_bytes_in_use_all(); }

void mx_r_maybe_gc(void) {
  double used = bytes_in_use();
  if (used < gc_baseline) gc_baseline = used;
  if (used - gc_baseline > gc_threshold) {
    R_gc();
    gc_baseline = bytes_in_use();
  }
}

SEXP mx_r_set_gc_threshold(SEXP bytes) {
  double old = gc_threshold;
  if (!Rf_isNull(bytes)) {
    double v = Rf_asReal(bytes);
    if (ISNAN(v) || v < 0) mx_r_value_error("argument 'bytes' must be a non-negative number");
    gc_threshold = v;
  }
  return Rf_ScalarReal(old);
}
