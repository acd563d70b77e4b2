/*
 * gpu-fake.c -- fake GPU devices for machines without one (MXNET_FAKE_GPU=1).
 *
 * A third implementation of the backend table (mx-gpu.h): each device is an
 * arena of host address space, mapped PROT_NONE.  Only the GPU paths open it
 * (kernels through op_begin/op_end, copies, fills, casts, adds): any other
 * host code that dereferences device memory faults at the culprit, which is
 * how the test suite finds a CPU assumption on the GPU path.  Kernels are the
 * CPU kernels, run while the arenas are open.  Copies, pools, out-of-memory
 * handling (the arena is the device's capacity) and several devices behave
 * as on a real machine.
 *
 * Knobs: MXNET_FAKE_GPU_COUNT (devices, default 2), MXNET_FAKE_GPU_MEM
 * (bytes per device, default 4 GiB; suffixes K, M, G), MXNET_FAKE_GPU_GUARD=0
 * (leave the arenas readable: faster, catches less), MXNET_FAKE_GPU_NO_KERNEL
 * (comma-separated op names that get no GPU kernel, to test how the engine
 * treats ops a real GPU backend lacks), MXNET_FAKE_GPU_NO_GRAD (the same for
 * gradients), MXNET_FAKE_GPU_RANKS (below).
 */
#include "../include/mx-gpu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define FAKE_MAX_DEV 8
#define PAGE 4096

typedef struct fblock {
  size_t off, len;
  int used;
  struct fblock *next;      /* by address */
} fblock;

typedef struct fdev {
  char *raw;                /* what mmap returned                       */
  char *base;               /* raw aligned to 2 MiB                     */
  size_t cap;
  size_t used;
  size_t hwm;               /* end of the highest block ever handed out */
  fblock *blocks;
} fdev;

static fdev devs[FAKE_MAX_DEV];
static int ndev = -1;
static int guard = 1;
static int open_depth[FAKE_MAX_DEV];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char desc[160];
static mx_gpu_kernel recs[MX_MAX_OPS];

static size_t env_bytes(const char *name, size_t def) {
  const char *v = getenv(name);
  if (!v || !*v) return def;
  char *end;
  double x = strtod(v, &end);
  if (*end == 'K' || *end == 'k') x *= 1024.0;
  else if (*end == 'M' || *end == 'm') x *= 1048576.0;
  else if (*end == 'G' || *end == 'g') x *= 1073741824.0;
  return x >= PAGE ? (size_t)x : def;
}

/* Open device d's arena (nested calls count).  Only the part ever used
 * changes protection, in huge pages: mprotect's cost grows with the pages
 * it touches, and ops are frequent. */
static void fake_open(int d) {
  if (d >= 0 && open_depth[d]++ == 0 && guard && devs[d].hwm)
    mprotect(devs[d].base, devs[d].hwm, PROT_READ | PROT_WRITE);
}

static void fake_close(int d) {
  if (d >= 0 && --open_depth[d] == 0 && guard && devs[d].hwm)
    mprotect(devs[d].base, devs[d].hwm, PROT_NONE);
}

static void ranks_setup(void);

static int setup(void) {
  if (ndev >= 0) return ndev > 0;
  const char *c = getenv("MXNET_FAKE_GPU_COUNT");
  int n = c && *c ? atoi(c) : 2;
  if (n < 1) n = 1;
  if (n > FAKE_MAX_DEV) n = FAKE_MAX_DEV;
  size_t cap = env_bytes("MXNET_FAKE_GPU_MEM", (size_t)4 << 30);
  cap = (cap + PAGE - 1) / PAGE * PAGE;
  const char *g = getenv("MXNET_FAKE_GPU_GUARD");
  guard = !(g && strcmp(g, "0") == 0);
  ranks_setup();
  ndev = 0;
  for (int d = 0; d < n; d++) {
    /* 2 MiB aligned, so the arena can use huge pages */
    size_t huge = (size_t)2 << 20;
    char *raw = (char *)mmap(NULL, cap + huge, guard ? PROT_NONE : PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == (char *)MAP_FAILED) break;
    char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
#ifdef MADV_HUGEPAGE
    madvise(p, cap, MADV_HUGEPAGE);
#endif
    fblock *b = (fblock *)calloc(1, sizeof *b);
    if (!b) { munmap(raw, cap + huge); break; }
    b->len = cap;
    devs[d] = (fdev){raw, p, cap, 0, 0, b};
    ndev++;
  }
  snprintf(desc, sizeof desc, "fake GPU devices (MXNET_FAKE_GPU): %d x %.0f MiB of host memory%s",
           ndev, (double)cap / 1048576.0, guard ? ", guarded" : "");
  return ndev > 0;
}

static int f_count(void) { return setup() ? ndev : 0; }

static mx_status f_info(int dev, mx_gpu_info *out) {
  if (dev < 0 || dev >= ndev) return mx_error(MX_ERR_DEVICE, "no fake gpu(%d)", dev);
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "fake GPU %d (host memory)", dev);
  out->major = 9;
  out->total_bytes = (int64_t)devs[dev].cap;
  return MX_OK;
}

static const char *f_describe(void) { return desc; }

/* First fit over the address-ordered block list; splits the block. */
static mx_status f_malloc(int dev, size_t bytes, void **out) {
  *out = NULL;
  size_t len = (bytes + PAGE - 1) / PAGE * PAGE;
  if (len == 0) len = PAGE;
  pthread_mutex_lock(&mu);
  fblock *b = devs[dev].blocks;
  while (b && (b->used || b->len < len)) b = b->next;
  if (b && b->len > len) {
    fblock *rest = (fblock *)calloc(1, sizeof *rest);
    if (!rest) b = NULL;
    else {
      *rest = (fblock){b->off + len, b->len - len, 0, b->next};
      b->len = len;
      b->next = rest;
    }
  }
  if (b) {
    b->used = 1;
    devs[dev].used += b->len;
    if (b->off + b->len > devs[dev].hwm) devs[dev].hwm = b->off + b->len;
    *out = devs[dev].base + b->off;
    /* allocated inside an open section (a kernel's temporary): usable now */
    if (open_depth[dev] > 0 && guard) mprotect(*out, b->len, PROT_READ | PROT_WRITE);
  }
  pthread_mutex_unlock(&mu);
  return b ? MX_OK : mx_error(MX_ERR_NOMEM, "fake gpu(%d) is full", dev);
}

/* Frees and merges with free neighbours; the pages go back to the system. */
static void f_free(int dev, void *p) {
  pthread_mutex_lock(&mu);
  size_t off = (size_t)((char *)p - devs[dev].base);
  fblock *prev = NULL, *b = devs[dev].blocks;
  while (b && b->off != off) { prev = b; b = b->next; }
  if (b && b->used) {
    b->used = 0;
    devs[dev].used -= b->len;
    madvise(devs[dev].base + b->off, b->len, MADV_DONTNEED);
    fblock *nx = b->next;
    if (nx && !nx->used) { b->len += nx->len; b->next = nx->next; free(nx); }
    if (prev && !prev->used) { prev->len += b->len; prev->next = b->next; free(b); }
  }
  pthread_mutex_unlock(&mu);
}

static void f_mem_info(int dev, int64_t *free_bytes, int64_t *total) {
  *total = (int64_t)devs[dev].cap;
  *free_bytes = (int64_t)(devs[dev].cap - devs[dev].used);
}

static mx_status f_copy(void *dst, int dst_dev, const void *src, int src_dev, size_t bytes) {
  fake_open(dst_dev);
  if (src_dev != dst_dev) fake_open(src_dev);
  memmove(dst, src, bytes);
  if (src_dev != dst_dev) fake_close(src_dev);
  fake_close(dst_dev);
  return MX_OK;
}

static mx_status f_fill(int dev, void *p, int dtype, int64_t n, double v) {
  fake_open(dev);
  mx_host_fill(p, dtype, n, v);
  fake_close(dev);
  return MX_OK;
}

static mx_status f_cast(int dev, const void *src, int st, void *dst, int dt, int64_t n) {
  fake_open(dev);
  mx_convert(src, st, dst, dt, n);
  fake_close(dev);
  return MX_OK;
}

static mx_status f_add(int dev, void *dst, const void *src, int dtype, int64_t n) {
  fake_open(dev);
  mx_status rc = mx_host_add(dst, src, dtype, n);
  fake_close(dev);
  return rc;
}

static mx_status f_sync(int dev) { (void)dev; return MX_OK; }

/* NCCL's reduce to devs[0], as the CUDA module's nccl.c does it: tests the
 * kvstore's use of the collective where no GPU is (no collectives across
 * processes: dist_sync_device stages through the host here). */
static int no_reduce;   /* MXNET_FAKE_GPU_NO_REDUCE=1: the collective cannot start (no NCCL) */

static mx_status f_reduce_devices(const int *devs, int nd, void *const *bufs, const int64_t *counts,
                                  const int *dtypes, int n) {
  if (no_reduce) return mx_error(MX_ERR_UNSUPPORTED, "fake GPUs: no collective (MXNET_FAKE_GPU_NO_REDUCE)");
  mx_status rc = MX_OK;
  for (int j = 0; j < nd; j++) fake_open(devs[j]);
  for (int k = 0; k < n && !rc; k++)
    for (int j = 1; j < nd && !rc; j++) rc = mx_host_add(bufs[k * nd], bufs[k * nd + j], dtypes[k], counts[k]);
  for (int j = 0; j < nd; j++) fake_close(devs[j]);
  return rc;
}

/* MXNET_FAKE_GPU_RANKS=fail:R gives the fake backend collectives across
 * processes whose set-up fails on worker R, a stand-in for NCCL refusing
 * (two workers on one GPU, say): the kvstore must then have every worker
 * stage through the host.  notready:R: worker R (OMPI_COMM_WORLD_RANK) is
 * not ready to join (no NCCL there), and a join by any worker is an error,
 * since a real one would wait for R forever.  Unset, the fake has none
 * (like a module without NCCL). */
static int fail_rank = -1, notready_rank = -1;

static mx_status f_ranks_ready(int dev) {
  (void)dev;
  const char *r = getenv("OMPI_COMM_WORLD_RANK");
  if (r && atoi(r) == notready_rank)
    return mx_error(MX_ERR_UNSUPPORTED, "fake GPUs: worker %d is not ready (MXNET_FAKE_GPU_RANKS)", notready_rank);
  return MX_OK;
}

static mx_status f_ranks_id(void *id) {
  memset(id, 0x5a, 16);
  return MX_OK;
}

static mx_status f_ranks_open(const void *id, int nranks, int rank, int dev, void **comm) {
  (void)id;
  (void)nranks;
  (void)dev;
  if (notready_rank >= 0)
    return mx_error(MX_ERR_INTERNAL, "fake GPUs: worker %d joined although worker %d was not ready", rank,
                    notready_rank);
  if (rank == fail_rank) return mx_error(MX_ERR_UNSUPPORTED, "fake GPUs: worker %d cannot join (MXNET_FAKE_GPU_RANKS)", rank);
  *comm = &fail_rank;
  return MX_OK;
}

static mx_status f_ranks_allreduce(void *comm, int dev, void *const *bufs, const int64_t *counts, const int *dtypes,
                                   int n) {
  (void)comm, (void)dev, (void)bufs, (void)counts, (void)dtypes, (void)n;
  return mx_error(MX_ERR_UNSUPPORTED, "fake GPUs have no collective across processes");
}

static void f_ranks_close(void *comm) { (void)comm; }

static int listed(const char *env, const char *name) {
  const char *v = getenv(env);
  size_t n = strlen(name);
  for (const char *p = v; p && *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return 1;
    p = e ? e + 1 : NULL;
  }
  return 0;
}

/* The CUDA module's Convolution, Deconvolution and Pooling are 1-D and 2-D
 * only (src/cuda/cudnn-desc.c): their fake records refuse 3-D (5-D data)
 * as those do, so a 3-D layer on a GPU context fails at bind here too. */
static int f_supports_2d(const mx_param_value *p, int nin, const mx_shape *in,
                         const int *in_dtypes, const char **why) {
  (void)p; (void)nin; (void)in_dtypes;
  if (in[0].ndim <= 4) return 1;
  *why = "only 1-D and 2-D (3-D has no CUDA kernel); run it on the CPU (mx.cpu())";
  return 0;
}

static int spatial_2d_only(const char *name) {
  return strcmp(name, "Convolution") == 0 || strcmp(name, "Deconvolution") == 0 ||
         strcmp(name, "Pooling") == 0;
}

/* The CPU kernels, as GPU records: native dtypes are the CPU kernel's
 * (bfloat16 only where the CPU takes it: elsewhere it is computed in
 * float32, as on the CPU). */
static const mx_gpu_kernel *f_kernel(const mx_op *op) {
  int n = mx_op_count();
  for (int i = 0; i < n && i < MX_MAX_OPS; i++) {
    if (mx_op_at(i) != op) continue;
    unsigned mask = 0;
    for (int t = 0; t < 32; t++)
      if (mx_dtype_valid(t) && (t != MX_BFLOAT16 || (op->flags & MX_OPF_BF16)) &&
          (t != MX_FLOAT16 || (op->flags & MX_OPF_F16)) &&
          (t != MX_INT8 || (op->flags & MX_OPF_INT8)))
        mask |= 1u << t;
    if (listed("MXNET_FAKE_GPU_NO_KERNEL", op->name)) return NULL;
    mx_backward_fn bwd = listed("MXNET_FAKE_GPU_NO_GRAD", op->name) ? NULL : op->backward;
    recs[i] = (mx_gpu_kernel){.op = op->name, .fwd = op->cpu, .bwd = bwd,
                              .dtypes = mask,
                              .supports = spatial_2d_only(op->name) ? f_supports_2d : NULL,
                              .flags = (op->flags & MX_OPF_INPLACE) ? MX_GPUF_INPLACE : 0};
    return op->cpu ? &recs[i] : NULL;
  }
  return NULL;
}

static mx_status f_op_begin(int dev, mx_op_ctx *c) {
  if (dev < 0 || dev >= ndev) return mx_error(MX_ERR_DEVICE, "no fake gpu(%d)", dev);
  fake_open(dev);
  c->gpu = &devs[dev];
  return MX_OK;
}

static mx_status f_op_end(int dev, const char *name) {
  (void)name;
  fake_close(dev);
  return MX_OK;
}

/* Unmap the arenas (mx_gpu_reset calls this once no array is left), so the
 * next setup reads the knobs again. */
static void f_shutdown(void) {
  size_t huge = (size_t)2 << 20;
  for (int d = 0; d < ndev; d++) {
    for (fblock *b = devs[d].blocks; b;) {
      fblock *nx = b->next;
      free(b);
      b = nx;
    }
    munmap(devs[d].raw, devs[d].cap + huge);
    memset(&devs[d], 0, sizeof devs[d]);
    open_depth[d] = 0;
  }
  ndev = -1;
}

static mx_gpu_backend fake = {
  .abi = MX_GPU_ABI,
  .name = "fake",
  .device_count = f_count,
  .device_info = f_info,
  .describe = f_describe,
  .malloc = f_malloc,
  .free = f_free,
  .mem_info = f_mem_info,
  .copy = f_copy,
  .fill = f_fill,
  .cast = f_cast,
  .add = f_add,
  .sync = f_sync,
  .kernel = f_kernel,
  .op_begin = f_op_begin,
  .op_end = f_op_end,
  .shutdown = f_shutdown,
  .reduce_devices = f_reduce_devices,
};

/* The knobs MXNET_FAKE_GPU_RANKS and MXNET_FAKE_GPU_NO_REDUCE (read by setup, with the others). */
static void ranks_setup(void) {
  const char *r = getenv("MXNET_FAKE_GPU_RANKS");
  fail_rank = r && strncmp(r, "fail:", 5) == 0 ? atoi(r + 5) : -1;
  notready_rank = r && strncmp(r, "notready:", 9) == 0 ? atoi(r + 9) : -1;
  const char *nr = getenv("MXNET_FAKE_GPU_NO_REDUCE");
  no_reduce = nr && strcmp(nr, "1") == 0;
  int on = fail_rank >= 0 || notready_rank >= 0;
  fake.ranks_id_bytes = on ? 16 : 0;
  fake.ranks_ready = on ? f_ranks_ready : NULL;
  fake.ranks_id = on ? f_ranks_id : NULL;
  fake.ranks_open = on ? f_ranks_open : NULL;
  fake.ranks_allreduce = on ? f_ranks_allreduce : NULL;
  fake.ranks_close = on ? f_ranks_close : NULL;
}

const mx_gpu_backend *mx_gpu_fake_backend(void) {
  return setup() ? &fake : NULL;
}
