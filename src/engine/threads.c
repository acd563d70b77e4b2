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

static int user_threads = 0;   /* 0: automatic */
static int resolved = 0;

static int env_int(const char *name) {
  const char *s = getenv(name);
  if (!s || !*s) return 0;
  char *end = NULL;
  long v = strtol(s, &end, 10);   /* "4,2" (nested list) reads as 4 */
  if (end == s || v <= 0 || v > 1024) return 0;
  return (int)v;
}

int mx_threads_available(void) {
#ifdef _OPENMP
  int n = omp_get_num_procs();
  return n > 0 ? n : 1;
#else
  return 1;
#endif
}

static int resolve(void) {
  int n = user_threads;
  if (n <= 0) n = env_int("OMP_NUM_THREADS");
  if (n <= 0) n = mx_threads_available();
  int limit = env_int("OMP_THREAD_LIMIT");
  if (limit > 0 && n > limit) n = limit;
#ifndef _OPENMP
  n = 1;
#endif
  return n < 1 ? 1 : n;
}

int mx_threads_get(void) {
  if (resolved <= 0) resolved = resolve();
  return resolved;
}

void mx_threads_set(int n) {
  user_threads = n > 0 ? n : 0;
  resolved = resolve();
}
