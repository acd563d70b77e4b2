/*
 * engine-r.c -- engine-wide settings from R: threads, memory pool, build
 * features, devices, and the log sink.
 */
#include "mx-r.h"

#include <math.h>
#include <pthread.h>
#include <time.h>
#ifndef _WIN32
#include <signal.h>
#endif
#include <R_ext/Print.h>

static pthread_t main_thread;

/* Log lines reach the R console only from R's own thread. */
static void log_to_r(int level, const char *msg, void *user) {
  (void)user;
  if (!pthread_equal(pthread_self(), main_thread)) return;
  if (level >= MX_LOG_WARN) REprintf("mxnet: %s\n", msg);
  else Rprintf("%s\n", msg);
}

/* Ctrl-C: polled by long engine calls (between executor ops, at kernel chunk
 * boundaries) at most every 50 ms, from R's thread only, without jumping out
 * of C: R_ToplevelExec catches the interrupt, the engine call returns
 * MX_ERR_ABORTED after freeing what it holds, and mx_r_fail() then signals
 * an interrupt condition (mxnet_interrupted_error) in the user's context.
 *
 * While such a call runs, the signals R handles asynchronously are held back
 * from R's thread (the engine's pool threads never take them): a signal
 * frame pushed while oneDNN's JIT kernels run corrupted the heap.  A pending
 * SIGINT is let in at each poll, where this thread runs plain C, and the
 * others when the call ends. */
#ifndef _WIN32
static sigset_t held_signals, saved_mask;
#endif
static int poll_depth = 0;
static int held = 0;            /* the outermost call holds signals back */
static double last_poll = 0;

static void hold_signals(int hold) {
#ifndef _WIN32
  if (hold) {
    static int made = 0;   /* the set is the same every time: build it once */
    if (!made) {
      sigemptyset(&held_signals);
      static const int sigs[] = {SIGINT, SIGCHLD, SIGPROF, SIGALRM, SIGUSR1, SIGUSR2, SIGWINCH};
      for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&held_signals, sigs[i]);
      made = 1;
    }
    pthread_sigmask(SIG_BLOCK, &held_signals, &saved_mask);
  } else {
    pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
  }
#else
  (void)hold;
#endif
}

/* Deliver a pending SIGINT now (R's handler marks the interrupt pending). */
static void let_in_sigint(void) {
#ifndef _WIN32
  sigset_t pending, one;
  sigpending(&pending);
  if (!sigismember(&pending, SIGINT) || sigismember(&saved_mask, SIGINT)) return;
  sigemptyset(&one);
  sigaddset(&one, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &one, NULL);
  pthread_sigmask(SIG_BLOCK, &one, NULL);
#endif
}

static void check_interrupt_fn(void *d) { (void)d; R_CheckUserInterrupt(); }
static int abort_poll(void *user) {
  (void)user;
  if (!pthread_equal(pthread_self(), main_thread)) return 0;
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  double t = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
  if (t - last_poll < 0.05) return 0;
  last_poll = t;
  let_in_sigint();
  return R_ToplevelExec(check_interrupt_fn, NULL) ? 0 : 1;
}

/* Nested calls (R code run by a poll that calls mxnet) keep the outer state.
 * Holding signals costs two system calls (about 1 us here), as much as a
 * small op: calls that cannot run long (mx_r_poll_begin_small) only poll. */
static void poll_begin(int hold) {
  if (poll_depth++ > 0) return;
  held = hold;
  if (held) hold_signals(1), mx_compute_begin();
  mx_abort_set_callback(abort_poll, NULL);
}
void mx_r_poll_begin(void) { poll_begin(1); }
void mx_r_poll_begin_small(int small) { poll_begin(!small); }

mx_status mx_r_poll_end(mx_status st) {
  if (--poll_depth > 0) return st;
  mx_abort_set_callback(NULL, NULL);
  if (held) hold_signals(0), mx_compute_end();
  held = 0;
  return st;
}

void mx_r_engine_init(void) {
  main_thread = pthread_self();
  mx_r_wrap_init();
  mx_log_set_callback(log_to_r, NULL);
  mx_shape_format_r(1);
  if (mx_engine_init() != MX_OK) mx_r_fail();
}

SEXP mx_r_threads(SEXP n) {
  if (!Rf_isNull(n)) {
    double v = Rf_asReal(n);
    if (ISNAN(v) || v < 0 || v != floor(v))
      mx_r_value_error("argument 'n' must be a non-negative whole number");
    if (v > mx_threads_max())
      mx_r_value_error("argument 'n' (%.0f) asks for more threads than mxnet uses: at most %d "
                       "(%d per processor)", v, mx_threads_max(), MX_THREADS_PER_PROC);
    mx_r_check(mx_threads_set((int)v));
  } else {
    mx_r_sync_threads();
  }
  return Rf_ScalarInteger(mx_threads_get());
}

SEXP mx_r_pool_stats(SEXP ctx) {
  mx_context c = mx_r_ctx(ctx, "ctx");
  mx_pool_stats st;
  mx_pool_get_stats(c.dev_type, c.dev_id, &st);
  static const char *nm[] = {"bytes_in_use", "bytes_peak", "bytes_cached", "bytes_limit",
                             "n_alloc", "n_reuse", "n_system_alloc", "n_live",
                             "bytes_allocated_total"};
  double v[] = {(double)st.bytes_in_use, (double)st.bytes_peak, (double)st.bytes_cached,
                (double)st.bytes_limit, (double)st.n_alloc, (double)st.n_reuse,
                (double)st.n_system_alloc, (double)st.n_live, (double)st.bytes_allocated_total};
  int n = (int)(sizeof v / sizeof v[0]);
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

SEXP mx_r_pool_release(SEXP ctx) {
  mx_context c = mx_r_ctx(ctx, "ctx");
  mx_pool_release(c.dev_type, c.dev_id);
  return R_NilValue;
}

SEXP mx_r_pool_limit(SEXP bytes) {
  double b = Rf_isNull(bytes) ? -1 : Rf_asReal(bytes);
  if (!Rf_isNull(bytes) && (ISNAN(b) || b < 0)) mx_r_value_error("argument 'bytes' must be a non-negative number");
  if (b > 9e18) b = 9e18;  /* Inf and beyond: no limit (avoid an undefined cast) */
  return Rf_ScalarReal((double)mx_pool_set_limit(MX_CPU, (int64_t)b));
}

SEXP mx_r_features(void) {
  int n = mx_feature_count();
  SEXP en = PROTECT(Rf_allocVector(LGLSXP, n));
  SEXP names = PROTECT(Rf_allocVector(STRSXP, n));
  SEXP detail = PROTECT(Rf_allocVector(STRSXP, n));
  for (int i = 0; i < n; i++) {
    const mx_feature *f = mx_feature_at(i);
    LOGICAL(en)[i] = f->enabled;
    SET_STRING_ELT(names, i, Rf_mkChar(f->name));
    SET_STRING_ELT(detail, i, Rf_mkChar(f->detail));
  }
  Rf_setAttrib(en, R_NamesSymbol, names);
  Rf_setAttrib(detail, R_NamesSymbol, names);
  Rf_setAttrib(en, mx_sym_detail, detail);
  UNPROTECT(3);
  return en;
}

SEXP mx_r_gpu_count(void) { return Rf_ScalarInteger(mx_gpu_count()); }

SEXP mx_r_waitall(void) {
  mx_r_check(mx_device_sync(-1));
  return R_NilValue;
}

SEXP mx_r_gpu_reset(void) {
  mx_r_check(mx_gpu_reset());
  return R_NilValue;
}
