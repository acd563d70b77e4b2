/*
 * executor-r.c -- executors from R: bind, forward, backward, outputs,
 * memory report, profiling; Ctrl-C stops a running pass between ops.
 */
#include "mx-r.h"
#include "../include/mx-executor.h"

static SEXP exec_tag = NULL;

static void exec_finalizer(SEXP ptr) {
  mx_executor *e = (mx_executor *)R_ExternalPtrAddr(ptr);
  if (e) {
    R_ClearExternalPtr(ptr);
    mx_executor_free(e);
  }
}

mx_executor *mx_r_exec_get(SEXP ptr) {
  if (!exec_tag) exec_tag = Rf_install("MXExecutor");
  if (TYPEOF(ptr) != EXTPTRSXP || R_ExternalPtrTag(ptr) != exec_tag)
    mx_r_value_error("argument 'exec' must be an executor (from mx.simple.bind)");
  mx_executor *e = (mx_executor *)R_ExternalPtrAddr(ptr);
  if (!e) mx_r_value_error("the executor no longer exists (executors do not survive saveRDS()/load())");
  return e;
}

static mx_ndarray **nd_list(SEXP l, const char *what, int allow_null, int *n) {
  if (Rf_isNull(l)) { *n = 0; return NULL; }
  if (TYPEOF(l) != VECSXP) mx_r_value_error("%s must be a list of MXNDArrays", what);
  R_xlen_t len = XLENGTH(l);
  mx_ndarray **a = (mx_ndarray **)R_alloc((size_t)(len + 1), sizeof(mx_ndarray *));
  SEXP nm = Rf_getAttrib(l, R_NamesSymbol);
  for (R_xlen_t i = 0; i < len; i++) {
    SEXP v = VECTOR_ELT(l, i);
    if (Rf_isNull(v) && allow_null) { a[i] = NULL; continue; }
    char arg[256];
    snprintf(arg, sizeof arg, "%s[[\"%s\"]]", what,
             TYPEOF(nm) == STRSXP ? CHAR(STRING_ELT(nm, i)) : "?");
    a[i] = mx_r_nd(v, arg);
  }
  *n = (int)len;
  return a;
}

SEXP mx_r_exec_bind(SEXP sym, SEXP ctx, SEXP args, SEXP grads, SEXP reqs, SEXP aux, SEXP opts) {
  mx_symbol *s = mx_r_sym(sym, "symbol");
  mx_context c = mx_r_ctx(ctx, "ctx");
  int na, ng, nx;
  mx_ndarray **a = nd_list(args, "arg.arrays", 0, &na);
  mx_ndarray **g = nd_list(grads, "grad.arrays", 1, &ng);
  mx_ndarray **x = nd_list(aux, "aux.arrays", 0, &nx);
  if (TYPEOF(reqs) != INTSXP || XLENGTH(reqs) != na) mx_r_value_error("grad.req must give one request per argument");
  if (g && ng != na) mx_r_value_error("grad.arrays must have one entry (or NULL) per argument");
  mx_exec_opts o = {1, 1, 0, 1, 0, 0};
  if (TYPEOF(opts) == REALSXP && XLENGTH(opts) >= 5) {
    o.plan_memory = REAL(opts)[0] != 0;
    o.inplace = REAL(opts)[1] != 0;
    o.mirror = REAL(opts)[2] != 0;
    o.fold = REAL(opts)[3] != 0;
    o.mirror_costly = REAL(opts)[4];
    o.planned_grads = XLENGTH(opts) > 5 && REAL(opts)[5] != 0;
  }
  if (!exec_tag) exec_tag = Rf_install("MXExecutor");
  SEXP ptr = PROTECT(R_MakeExternalPtr(NULL, exec_tag, R_NilValue));
  R_RegisterCFinalizerEx(ptr, exec_finalizer, TRUE);
  mx_r_sync_threads();
  mx_r_maybe_gc();
  mx_executor *e = NULL;
  mx_status st = mx_executor_bind(s, c, a, na, g, INTEGER(reqs), x, nx, &o, &e);
  if (st != MX_OK) mx_r_fail();
  R_SetExternalPtrAddr(ptr, e);
  UNPROTECT(1);
  return ptr;
}

/* Ctrl-C stops a pass between ops (mx_r_poll_begin); the executor stays
 * usable. */
static void run_checked(mx_status st) {
  if (mx_r_poll_end(st) == MX_ERR_ABORTED)
    mx_r_raise(MX_ERR_ABORTED, "interrupted by the user (the executor can be used again)");
  if (st != MX_OK) mx_r_fail();
}

SEXP mx_r_exec_forward(SEXP ptr, SEXP is_train) {
  mx_executor *e = mx_r_exec_get(ptr);
  int tr = Rf_asLogical(is_train);
  if (tr == NA_LOGICAL) mx_r_value_error("argument 'is.train' must be TRUE or FALSE");
  uint64_t seed = mx_executor_is_random(e) ? mx_r_seed() : 0;
  mx_r_sync_threads();
  mx_r_poll_begin();
  run_checked(mx_executor_forward(e, tr, seed));
  return R_NilValue;
}

SEXP mx_r_exec_backward(SEXP ptr, SEXP head_grads) {
  mx_executor *e = mx_r_exec_get(ptr);
  int n;
  mx_ndarray **g = nd_list(head_grads, "out.grads", 1, &n);
  mx_r_sync_threads();
  mx_r_poll_begin();
  run_checked(mx_executor_backward(e, g, g ? n : 0));
  return R_NilValue;
}

SEXP mx_r_exec_outputs(SEXP ptr) {
  mx_executor *e = mx_r_exec_get(ptr);
  int n = mx_executor_num_outputs(e);
  SEXP out = PROTECT(Rf_allocVector(VECSXP, n));
  for (int i = 0; i < n; i++) {
    mx_ndarray *a;
    mx_r_check(mx_executor_output(e, i, &a));
    SET_VECTOR_ELT(out, i, mx_r_wrap_nd(a));
  }
  UNPROTECT(1);
  return out;
}

/* The planned gradient of argument i (1-based), a view (exec.bind). */
SEXP mx_r_exec_grad(SEXP ptr, SEXP i) {
  mx_executor *e = mx_r_exec_get(ptr);
  mx_ndarray *a;
  mx_r_check(mx_executor_grad(e, Rf_asInteger(i) - 1, &a));
  return mx_r_wrap_nd(a);
}

/* A named numeric vector of n values. */
static SEXP named_reals(const char *const *nm, const double *v, int n) {
  SEXP out = PROTECT(Rf_allocVector(REALSXP, n));
  SEXP names = PROTECT(Rf_allocVector(STRSXP, n));
  for (int i = 0; i < n; i++) {
    REAL(out)[i] = v[i];
    SET_STRING_ELT(names, i, Rf_mkChar(nm[i]));
  }
  Rf_setAttrib(out, R_NamesSymbol, names);
  UNPROTECT(2);
  return out;
}

SEXP mx_r_exec_memory(SEXP ptr) {
  mx_exec_memory m;
  mx_executor_memory(mx_r_exec_get(ptr), &m);
  static const char *const nm[] = {"planned_bytes", "unplanned_bytes", "external_bytes",
                                   "workspace_bytes", "cached_bytes", "n_buffers", "n_blocks",
                                   "n_inplace", "n_mirrored", "n_steps_forward", "n_steps_backward",
                                   "n_folded", "peak_live_bytes", "n_blocked"};
  double v[] = {(double)m.planned_bytes, (double)m.unplanned_bytes, (double)m.external_bytes,
                (double)m.workspace_bytes, (double)m.cached_bytes, (double)m.n_buffers,
                (double)m.n_blocks, (double)m.n_inplace, (double)m.n_mirrored,
                (double)m.n_steps_forward, (double)m.n_steps_backward, (double)m.n_folded,
                (double)m.peak_live_bytes, (double)m.n_blocked};
  return named_reals(nm, v, (int)(sizeof v / sizeof v[0]));
}

SEXP mx_r_exec_profile(SEXP ptr, SEXP on) {
  mx_executor *e = mx_r_exec_get(ptr);
  if (!Rf_isNull(on)) {
    mx_executor_set_profiling(e, Rf_asLogical(on) == TRUE);
    return R_NilValue;
  }
  int n = mx_executor_profile_count(e);
  SEXP ops = PROTECT(Rf_allocVector(STRSXP, n));
  SEXP nodes = PROTECT(Rf_allocVector(STRSXP, n));
  SEXP phase = PROTECT(Rf_allocVector(STRSXP, n));
  SEXP calls = PROTECT(Rf_allocVector(REALSXP, n));
  SEXP secs = PROTECT(Rf_allocVector(REALSXP, n));
  for (int i = 0; i < n; i++) {
    const char *op, *node;
    int ph;
    int64_t c;
    double sec;
    mx_executor_profile_at(e, i, &op, &node, &ph, &c, &sec);
    SET_STRING_ELT(ops, i, Rf_mkChar(op));
    SET_STRING_ELT(nodes, i, Rf_mkChar(node));
    SET_STRING_ELT(phase, i, Rf_mkChar(ph ? "backward" : "forward"));
    REAL(calls)[i] = (double)c;
    REAL(secs)[i] = sec;
  }
  SEXP out = PROTECT(Rf_allocVector(VECSXP, 5));
  SEXP nms = PROTECT(Rf_allocVector(STRSXP, 5));
  const char *cn[] = {"op", "node", "phase", "calls", "seconds"};
  SEXP cols[] = {ops, nodes, phase, calls, secs};
  for (int i = 0; i < 5; i++) {
    SET_VECTOR_ELT(out, i, cols[i]);
    SET_STRING_ELT(nms, i, Rf_mkChar(cn[i]));
  }
  Rf_setAttrib(out, R_NamesSymbol, nms);
  UNPROTECT(7);
  return out;
}

/* Kernel scratch that could not come from an executor's workspace. */
SEXP mx_r_scratch_fallbacks(void) {
  int64_t calls, bytes;
  mx_scratch_fallbacks(&calls, &bytes);
  static const char *const nm[] = {"calls", "bytes"};
  double v[] = {(double)calls, (double)bytes};
  return named_reals(nm, v, 2);
}
