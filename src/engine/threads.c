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
#include <time.h>
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

/* ------------------------------------------------------ compute in progress
 *
 * Helper threads that prepare work ahead (the decoding threads of the image
 * record iterator) should not take a core from a parallel op: with every
 * core in the op's team, a preempted team thread makes the others wait for
 * it at the op's end, so an image decoded then costs its time twice (issue
 * 10: training through ImageRecordIter at 0.87 of the in-memory speed with
 * both cores computing).  The R glue brackets its long engine calls with
 * mx_compute_begin/end; helpers ask mx_compute_busy() and, when they are
 * ahead, mx_compute_wait() until the call ends.  Counters are atomics; the
 * condition variable is touched only when a helper waits (Dekker order:
 * the ender lowers `busy` then reads `waiters`, a waiter raises `waiters`
 * then reads `busy`, both sequentially consistent). */
#ifndef _WIN32
static int busy = 0;        /* long engine calls in progress (atomic) */
static int busy_full = 0;   /* their thread count fills the processors (atomic) */
static int waiters = 0;     /* helpers in mx_compute_wait (atomic) */
static pthread_mutex_t busy_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_cv = PTHREAD_COND_INITIALIZER;
#endif

void mx_compute_begin(void) {
#ifndef _WIN32
  __atomic_store_n(&busy_full, mx_threads_get() >= mx_threads_available(), __ATOMIC_RELAXED);
  __atomic_add_fetch(&busy, 1, __ATOMIC_SEQ_CST);
#endif
}

void mx_compute_end(void) {
#ifndef _WIN32
  if (__atomic_sub_fetch(&busy, 1, __ATOMIC_SEQ_CST) == 0 &&
      __atomic_load_n(&waiters, __ATOMIC_SEQ_CST) > 0) {
    pthread_mutex_lock(&busy_mu);
    pthread_cond_broadcast(&busy_cv);
    pthread_mutex_unlock(&busy_mu);
  }
#endif
}

int mx_compute_busy(void) {
#ifndef _WIN32
  return __atomic_load_n(&busy, __ATOMIC_SEQ_CST) > 0 &&
         __atomic_load_n(&busy_full, __ATOMIC_RELAXED);
#else
  return 0;
#endif
}

void mx_compute_wait(int max_ms) {
#ifndef _WIN32
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += (long)max_ms * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&busy_mu);
  __atomic_add_fetch(&waiters, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&busy, __ATOMIC_SEQ_CST) > 0)
    if (pthread_cond_timedwait(&busy_cv, &busy_mu, &until) != 0) break;
  __atomic_sub_fetch(&waiters, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&busy_mu);
#else
  (void)max_ms;
#endif
}
