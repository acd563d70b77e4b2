/*
 * storage.c -- reference-counted memory blocks from a pooled allocator.
 *
 * Requests are rounded up to a size class (64 bytes, then four classes per
 * power of two, so at most 25% slack) and freed blocks are cached on a free
 * list per class, up to a byte limit; the next request of that class reuses
 * one.  This keeps repeated imperative calls and executors from paying the
 * system allocator and the page faults of fresh memory each time.
 *
 * GPU memory is handled by the CUDA backend (src/cuda) with the same
 * interface; this build's stub answers "built without CUDA".
 */
#include "../include/mx-internal.h"
#include "../include/mx-cuda.h"

#include <pthread.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#define N_CLASSES 256

typedef struct pool {
  pthread_mutex_t mu;
  mx_storage *free_list[N_CLASSES];
  mx_pool_stats st;
} pool;

static pool cpu_pool = {PTHREAD_MUTEX_INITIALIZER, {0}, {0, 0, 0, (int64_t)1 << 30, 0, 0, 0, 0, 0}};

/* Size class of a request: index and rounded size. */
static int size_class(size_t n, size_t *rounded) {
  if (n <= 64) { *rounded = 64; return 0; }
  int k = 63 - __builtin_clzll((unsigned long long)(n - 1));  /* 2^k < n <= 2^(k+1) */
  size_t base = (size_t)1 << k;
  size_t step = base >> 2;                                     /* quarter steps */
  size_t q = (n - base + step - 1) / step;                     /* 1..4 */
  *rounded = base + q * step;
  int idx = (k - 6) * 4 + (int)q;
  return idx < N_CLASSES ? idx : -1;
}

static void *aligned_raw(size_t bytes, void **raw) {
  *raw = malloc(bytes + MX_ALIGN);
  if (!*raw) return NULL;
  uintptr_t p = ((uintptr_t)*raw + MX_ALIGN) & ~(uintptr_t)(MX_ALIGN - 1);
  return (void *)p;
}

mx_status mx_storage_alloc(size_t bytes, mx_context ctx, mx_storage **out) {
  *out = NULL;
  if (ctx.dev_type == MX_GPU) return mx_cuda_storage_alloc(bytes, ctx, out);
  if (ctx.dev_type != MX_CPU)
    return mx_error(MX_ERR_DEVICE, "unknown device type %d", ctx.dev_type);
  if (bytes > ((size_t)1 << 46))
    return mx_error(MX_ERR_NOMEM, "cannot allocate %.0f bytes", (double)bytes);
  size_t rounded;
  int cls = size_class(bytes, &rounded);
  pool *pl = &cpu_pool;
  mx_storage *s = NULL;
  pthread_mutex_lock(&pl->mu);
  pl->st.n_alloc++;
  pl->st.bytes_allocated_total += (int64_t)bytes;
  if (cls >= 0 && pl->free_list[cls]) {
    s = pl->free_list[cls];
    pl->free_list[cls] = s->next;
    pl->st.bytes_cached -= (int64_t)s->bytes;
    pl->st.n_reuse++;
  }
  pthread_mutex_unlock(&pl->mu);
  if (!s) {
    s = (mx_storage *)malloc(sizeof(mx_storage));
    if (!s) return mx_error(MX_ERR_NOMEM, "out of memory (storage header)");
    s->data = aligned_raw(rounded, &s->raw);
    if (!s->data) {
      free(s);
      return mx_error(MX_ERR_NOMEM, "out of memory: cannot allocate %.0f bytes",
                      (double)rounded);
    }
    s->bytes = rounded;
    pthread_mutex_lock(&pl->mu);
    pl->st.n_system_alloc++;
    pthread_mutex_unlock(&pl->mu);
  }
  s->request = bytes;
  s->ctx = ctx;
  s->refcount = 1;
  s->next = NULL;
  pthread_mutex_lock(&pl->mu);
  pl->st.bytes_in_use += (int64_t)s->bytes;
  pl->st.n_live++;
  if (pl->st.bytes_in_use > pl->st.bytes_peak) pl->st.bytes_peak = pl->st.bytes_in_use;
  pthread_mutex_unlock(&pl->mu);
  *out = s;
  return MX_OK;
}

void mx_storage_retain(mx_storage *s) {
  if (s) __atomic_add_fetch(&s->refcount, 1, __ATOMIC_RELAXED);
}

static void cpu_return(mx_storage *s) {
  pool *pl = &cpu_pool;
  size_t rounded;
  int cls = size_class(s->bytes, &rounded);
  pthread_mutex_lock(&pl->mu);
  pl->st.bytes_in_use -= (int64_t)s->bytes;
  pl->st.n_live--;
  int keep = cls >= 0 && rounded == s->bytes &&
             pl->st.bytes_cached + (int64_t)s->bytes <= pl->st.bytes_limit;
  if (keep) {
    s->next = pl->free_list[cls];
    pl->free_list[cls] = s;
    pl->st.bytes_cached += (int64_t)s->bytes;
  }
  pthread_mutex_unlock(&pl->mu);
  if (!keep) {
    free(s->raw);
    free(s);
  }
}

void mx_storage_release(mx_storage *s) {
  if (!s) return;
  if (__atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  if (s->ctx.dev_type == MX_GPU) {
    mx_cuda_storage_free(s);
    return;
  }
  cpu_return(s);
}

void mx_pool_get_stats(int dev_type, int dev_id, mx_pool_stats *out) {
  (void)dev_id;
  memset(out, 0, sizeof *out);
  if (dev_type != MX_CPU) {
    mx_cuda_pool_stats(dev_id, out);
    return;
  }
  pthread_mutex_lock(&cpu_pool.mu);
  *out = cpu_pool.st;
  pthread_mutex_unlock(&cpu_pool.mu);
}

void mx_pool_release(int dev_type, int dev_id) {
  if (dev_type != MX_CPU) {
    mx_cuda_pool_release(dev_id);
    return;
  }
  mx_storage *all = NULL;
  pthread_mutex_lock(&cpu_pool.mu);
  for (int c = 0; c < N_CLASSES; c++) {
    mx_storage *s = cpu_pool.free_list[c];
    while (s) {
      mx_storage *nx = s->next;
      s->next = all;
      all = s;
      s = nx;
    }
    cpu_pool.free_list[c] = NULL;
  }
  cpu_pool.st.bytes_cached = 0;
  pthread_mutex_unlock(&cpu_pool.mu);
  while (all) {
    mx_storage *nx = all->next;
    free(all->raw);
    free(all);
    all = nx;
  }
#if defined(__GLIBC__)
  /* glibc keeps freed heap pages mapped (RSS stays high after a release) */
  malloc_trim(0);
#endif
}

int64_t mx_pool_set_limit(int dev_type, int64_t bytes) {
  if (dev_type != MX_CPU) return 0;
  pthread_mutex_lock(&cpu_pool.mu);
  int64_t old = cpu_pool.st.bytes_limit;
  if (bytes >= 0) cpu_pool.st.bytes_limit = bytes;
  int over = cpu_pool.st.bytes_cached > cpu_pool.st.bytes_limit;
  pthread_mutex_unlock(&cpu_pool.mu);
  if (over) mx_pool_release(MX_CPU, 0);
  return old;
}

void *mx_malloc(size_t n) { return malloc(n ? n : 1); }
void *mx_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *mx_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
void mx_free(void *p) { free(p); }
