/*
 * storage.c -- reference-counted memory blocks from a pooled allocator, one
 * pool per device (the CPU and each GPU).
 *
 * Requests are rounded up to a size class (64 bytes, then four classes per
 * power of two, so at most 25% slack) and freed blocks are cached on a free
 * list per class, up to a byte limit; the next request of that class reuses
 * one.  This keeps repeated imperative calls and executors from paying the
 * system allocator and the page faults of fresh memory each time.
 *
 * GPU pools take raw blocks from the GPU backend (mx-gpu.h).  Above 1 MiB a
 * GPU request is rounded to 2 MiB and served by the smallest cached block
 * that fits and is at most 1/8 larger (fragmentation stays low, as in
 * MXNet's pooled GPU allocator).  When the device is full, the pool returns
 * its cache to the device and tries once more; then the request fails with
 * a recoverable "GPU out of memory" error that says what is in use.
 */
#include "../include/mx-gpu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#define N_CLASSES 256
#define MX_MAX_GPUS 16
#define GPU_SMALL ((size_t)1 << 20)
#define GPU_ROUND ((size_t)2 << 20)

typedef struct pool {
  pthread_mutex_t mu;
  mx_storage *free_list[N_CLASSES];
  mx_storage *large;            /* GPU blocks above GPU_SMALL               */
  mx_pool_stats st;
} pool;

/* The CPU pool caches up to 1 GiB; GPU pools cache everything (a full
 * device first gets its cache back, see system_alloc). */
#define POOL_INIT(lim) {PTHREAD_MUTEX_INITIALIZER, {0}, NULL, {0, 0, 0, (lim), 0, 0, 0, 0, 0}}
#define GPU_POOL POOL_INIT((int64_t)1 << 60)
static pool cpu_pool = POOL_INIT((int64_t)1 << 30);
static pool gpu_pools[MX_MAX_GPUS] = {GPU_POOL, GPU_POOL, GPU_POOL, GPU_POOL,
                                      GPU_POOL, GPU_POOL, GPU_POOL, GPU_POOL,
                                      GPU_POOL, GPU_POOL, GPU_POOL, GPU_POOL,
                                      GPU_POOL, GPU_POOL, GPU_POOL, GPU_POOL};

/* 1 + the highest GPU id that ever allocated: what totals need to visit. */
static int gpu_pools_used;

static pool *pool_of(mx_context ctx) {
  if (ctx.dev_type == MX_CPU) return &cpu_pool;
  if (ctx.dev_type == MX_GPU && ctx.dev_id >= 0 && ctx.dev_id < MX_MAX_GPUS)
    return &gpu_pools[ctx.dev_id];
  return NULL;
}

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

/* GPU: class lists up to 1 MiB, the large list (cls -1) above. */
static int gpu_class(size_t n, size_t *rounded) {
  if (n <= GPU_SMALL) return size_class(n, rounded);
  *rounded = (n + GPU_ROUND - 1) / GPU_ROUND * GPU_ROUND;
  return -1;
}

static void *aligned_raw(size_t bytes, void **raw) {
  *raw = malloc(bytes + MX_ALIGN);
  if (!*raw) return NULL;
  uintptr_t p = ((uintptr_t)*raw + MX_ALIGN) & ~(uintptr_t)(MX_ALIGN - 1);
  return (void *)p;
}

/* A cached block for (cls, rounded), or NULL; the pool's lock is held. */
static mx_storage *take_cached(pool *pl, int cls, size_t rounded) {
  mx_storage *s = NULL;
  if (cls >= 0) {
    s = pl->free_list[cls];
    if (s) pl->free_list[cls] = s->next;
  } else {
    mx_storage **best = NULL;
    for (mx_storage **q = &pl->large; *q; q = &(*q)->next)
      if ((*q)->bytes >= rounded && (*q)->bytes <= rounded + rounded / 8 &&
          (!best || (*q)->bytes < (*best)->bytes))
        best = q;
    if (best) {
      s = *best;
      *best = s->next;
    }
  }
  if (s) {
    pl->st.bytes_cached -= (int64_t)s->bytes;
    pl->st.n_reuse++;
  }
  return s;
}

static void system_free(mx_storage *s) {
  if (s->ctx.dev_type == MX_GPU) mx_device_free(s->ctx, s->raw);
  else free(s->raw);
  free(s);
}

static mx_status gpu_oom(mx_context ctx, size_t rounded) {
  mx_pool_stats st;
  mx_pool_get_stats(MX_GPU, ctx.dev_id, &st);
  int64_t fr, tot;
  mx_device_mem_info(ctx.dev_id, &fr, &tot);
  return mx_error(MX_ERR_NOMEM, "GPU out of memory on gpu(%d): asked %.1f MiB, in use %.1f MiB, "
                  "cached %.1f MiB, device free %.1f of %.1f MiB", ctx.dev_id,
                  (double)rounded / 1048576.0, (double)st.bytes_in_use / 1048576.0,
                  (double)st.bytes_cached / 1048576.0, (double)fr / 1048576.0,
                  (double)tot / 1048576.0);
}

/* New memory from the system (CPU) or the device (GPU: on failure the
 * cache goes back to the device and the request is tried once more). */
static mx_status system_alloc(mx_context ctx, size_t rounded, mx_storage *s) {
  if (ctx.dev_type == MX_CPU) {
    s->data = aligned_raw(rounded, &s->raw);
    return s->data ? MX_OK : mx_error(MX_ERR_NOMEM, "out of memory: cannot allocate %.0f bytes",
                                      (double)rounded);
  }
  mx_status rc = mx_device_malloc(ctx, rounded, &s->raw);
  if (rc == MX_ERR_NOMEM) {
    mx_pool_release(MX_GPU, ctx.dev_id);
    rc = mx_device_malloc(ctx, rounded, &s->raw);
    if (rc == MX_ERR_NOMEM) return gpu_oom(ctx, rounded);
  }
  s->data = s->raw;
  return rc;
}

mx_status mx_storage_alloc(size_t bytes, mx_context ctx, mx_storage **out) {
  *out = NULL;
  pool *pl = pool_of(ctx);
  if (!pl) return mx_error(MX_ERR_DEVICE, "unknown device %d(%d)", ctx.dev_type, ctx.dev_id);
  if (bytes > ((size_t)1 << 46))
    return mx_error(MX_ERR_NOMEM, "cannot allocate %.0f bytes", (double)bytes);
  size_t rounded;
  int cls = ctx.dev_type == MX_GPU ? gpu_class(bytes, &rounded) : size_class(bytes, &rounded);
  if (ctx.dev_type == MX_GPU && ctx.dev_id >= gpu_pools_used) gpu_pools_used = ctx.dev_id + 1;
  pthread_mutex_lock(&pl->mu);
  pl->st.n_alloc++;
  pl->st.bytes_allocated_total += (int64_t)bytes;
  mx_storage *s = take_cached(pl, cls, rounded);
  pthread_mutex_unlock(&pl->mu);
  if (!s) {
    s = (mx_storage *)malloc(sizeof(mx_storage));
    if (!s) return mx_error(MX_ERR_NOMEM, "out of memory (storage header)");
    mx_status rc = system_alloc(ctx, rounded, s);
    if (rc) {
      free(s);
      return rc;
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

/* Back to the pool's cache, or to the system when over the limit.  GPU
 * blocks are reused at once: work queued on the device's one stream runs
 * in order, so a later user cannot overtake an earlier one. */
static void pool_return(mx_storage *s) {
  pool *pl = pool_of(s->ctx);
  size_t rounded;
  int gpu = s->ctx.dev_type == MX_GPU;
  int cls = gpu ? gpu_class(s->bytes, &rounded) : size_class(s->bytes, &rounded);
  pthread_mutex_lock(&pl->mu);
  pl->st.bytes_in_use -= (int64_t)s->bytes;
  pl->st.n_live--;
  int keep = rounded == s->bytes && (cls >= 0 || gpu) &&
             pl->st.bytes_cached + (int64_t)s->bytes <= pl->st.bytes_limit;
  if (keep) {
    mx_storage **head = cls >= 0 ? &pl->free_list[cls] : &pl->large;
    s->next = *head;
    *head = s;
    pl->st.bytes_cached += (int64_t)s->bytes;
  }
  pthread_mutex_unlock(&pl->mu);
  if (!keep) system_free(s);
}

void mx_storage_release(mx_storage *s) {
  if (!s) return;
  if (__atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  pool_return(s);
}

void mx_pool_get_stats(int dev_type, int dev_id, mx_pool_stats *out) {
  memset(out, 0, sizeof *out);
  pool *pl = pool_of((mx_context){dev_type, dev_id});
  if (!pl) return;
  pthread_mutex_lock(&pl->mu);
  *out = pl->st;
  pthread_mutex_unlock(&pl->mu);
}

void mx_pool_release(int dev_type, int dev_id) {
  pool *pl = pool_of((mx_context){dev_type, dev_id});
  if (!pl) return;
  mx_storage *all = NULL;
  pthread_mutex_lock(&pl->mu);
  for (int c = 0; c <= N_CLASSES; c++) {
    mx_storage **head = c < N_CLASSES ? &pl->free_list[c] : &pl->large;
    mx_storage *s = *head;
    while (s) {
      mx_storage *nx = s->next;
      s->next = all;
      all = s;
      s = nx;
    }
    *head = NULL;
  }
  pl->st.bytes_cached = 0;
  pthread_mutex_unlock(&pl->mu);
  /* a device block may still be read by queued work: wait before freeing */
  if (dev_type == MX_GPU && all) (void)mx_device_sync(dev_id);
  while (all) {
    mx_storage *nx = all->next;
    system_free(all);
    all = nx;
  }
#if defined(__GLIBC__)
  /* glibc keeps freed heap pages mapped (RSS stays high after a release) */
  if (dev_type == MX_CPU) malloc_trim(0);
#endif
}

int64_t mx_pool_bytes_in_use_all(void) {
  int64_t used = 0;
  for (int d = -1; d < gpu_pools_used; d++) {
    pool *pl = d < 0 ? &cpu_pool : &gpu_pools[d];
    pthread_mutex_lock(&pl->mu);
    used += pl->st.bytes_in_use;
    pthread_mutex_unlock(&pl->mu);
  }
  return used;
}

static int64_t set_limit(pool *pl, int dev_type, int dev_id, int64_t bytes) {
  pthread_mutex_lock(&pl->mu);
  int64_t old = pl->st.bytes_limit;
  if (bytes >= 0) pl->st.bytes_limit = bytes;
  int over = pl->st.bytes_cached > pl->st.bytes_limit;
  pthread_mutex_unlock(&pl->mu);
  if (over) mx_pool_release(dev_type, dev_id);
  return old;
}

/* The CPU pool's cap, or every GPU pool's (the old value of gpu(0)'s). */
int64_t mx_pool_set_limit(int dev_type, int64_t bytes) {
  if (dev_type == MX_CPU) return set_limit(&cpu_pool, MX_CPU, 0, bytes);
  if (dev_type != MX_GPU) return 0;
  int64_t old = gpu_pools[0].st.bytes_limit;
  int n = mx_gpu_count();
  for (int d = 0; d < n && d < MX_MAX_GPUS; d++) set_limit(&gpu_pools[d], MX_GPU, d, bytes);
  return old;
}

void *mx_malloc(size_t n) { return malloc(n ? n : 1); }
void *mx_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *mx_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
void mx_free(void *p) { free(p); }
