/*
 * threads.c -- the one thread-count getter.
 *
 * Order of precedence: mx_threads_set(n > 0) (the R option mxnet.threads),
 * else OMP_NUM_THREADS, else the processor count; the result is capped by
 * OMP_THREAD_LIMIT.  Every parallel region in the engine asks mx_threads_get()
 * and passes the answer in a num_threads clause; nothing calls
 * omp_set_num_threads globally (see mx_with_omp_threads for oneDNN).
 */
#include "../include/mx-internal.h"

#include <stdlib.h>
#ifndef _WIN32
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#endif

/*
 * The cap also holds OpenMP's own thread limit and 4 threads per processor
 * (mx_threads_set refuses more).
 *
 * A forked child (R's parallel::mclapply) runs on one thread: OpenMP's thread
 * pool does not survive fork(), and a parallel region in the child would wait
 * for threads that are not there.  A fork handler marks the child (getpid()
 * on every op cost a system call per op); the R package never unloads its
 * library, so the handler cannot dangle.
 *
 * The pool's threads take no asynchronous signals (only faults such as
 * SIGSEGV): a signal frame pushed onto a thread running oneDNN's JIT kernels
 * corrupted the heap (Ctrl-C during a convolution aborted R with "corrupted
 * size vs. prev_size").  mask_pool() starts the threads of a count with the
 * signals blocked; the caller's own thread is left to its owner (the R glue
 * holds R's signals back while it runs long engine calls).
 */

static int user_threads = 0;   /* 0: automatic */
static int resolved = 0;
static volatile int forked = 0; /* set in a forked child */
static int procs = 0;           /* processor count, asked once */

#ifndef _WIN32
static void on_fork_child(void) { forked = 1; }
#endif

static void watch_forks(void) {
#ifndef _WIN32
  static int registered = 0;
  if (!registered) registered = pthread_atfork(NULL, NULL, on_fork_child) == 0;
#endif
}

static int env_int(const char *name) {
  const char *s = getenv(name);
  if (!s || !*s) return 0;
  char *end = NULL;
  long v = strtol(s, &end, 10);   /* "4,2" (nested list) reads as 4 */
  if (end == s || v <= 0 || v > 1024) return 0;
  return (int)v;
}

int mx_threads_available(void) {
  if (procs <= 0) {
#ifdef _OPENMP
    int n = omp_get_num_procs();   /* a system call: once */
    procs = n > 0 ? n : 1;
#else
    procs = 1;
#endif
  }
  return procs;
}

int mx_threads_max(void) { return MX_THREADS_PER_PROC * mx_threads_available(); }

/* OMP_THREAD_LIMIT as set now, or as OpenMP read it at start-up. */
static int thread_limit(void) {
  int limit = env_int("OMP_THREAD_LIMIT");
#ifdef _OPENMP
  int omp = omp_get_thread_limit();
  if (omp > 0 && (limit <= 0 || omp < limit)) limit = omp;
#endif
  return limit;
}

static int resolve(void) {
  int n = user_threads;
  if (n <= 0) n = env_int("OMP_NUM_THREADS");
  if (n <= 0) n = mx_threads_available();
  if (n > mx_threads_max()) n = mx_threads_max();
  int limit = thread_limit();
  if (limit > 0 && n > limit) n = limit;
#ifndef _OPENMP
  n = 1;
#endif
  return n < 1 ? 1 : n;
}

static void mask_pool(int n) {
#if defined(_OPENMP) && !defined(_WIN32)
  static int masked = 1;        /* pool threads started with signals blocked */
  if (n <= masked) return;
  sigset_t s;
  sigfillset(&s);
  static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) sigdelset(&s, faults[i]);
#pragma omp parallel num_threads(n)
  if (omp_get_thread_num() != 0) pthread_sigmask(SIG_BLOCK, &s, NULL);
  masked = n;
#else
  (void)n;
#endif
}

int mx_threads_get(void) {
  if (resolved <= 0) {
    resolved = resolve();
    watch_forks();
    if (!forked) mask_pool(resolved);
  }
  if (forked) return 1;
  return resolved;
}

mx_status mx_threads_set(int n) {
  if (n < 0 || n > mx_threads_max())
    return mx_error(MX_ERR_ARG,
                    "%d threads is out of range: give 0 (automatic) to %d (%d per processor)",
                    n, mx_threads_max(), MX_THREADS_PER_PROC);
  user_threads = n;
  resolved = resolve();
  watch_forks();
  if (!forked) mask_pool(resolved);
  return MX_OK;
}
