/*
 * mx-gpu.h -- the GPU backend interface: one versioned table of functions.
 *
 * The engine (mxnet.so) never links CUDA.  A GPU backend is a table of
 * function pointers that src/engine/device.c selects on first GPU use:
 *
 *   - the fake backend (src/engine/gpu-fake.c, MXNET_FAKE_GPU=1): devices
 *     backed by host memory that is readable only while a GPU path runs,
 *     so every GPU code path is testable on a machine without a GPU;
 *   - the CUDA module (src/cuda, built by nvcc into libs/mxnet_cuda.so,
 *     dlopened), whose entry point mx_cuda_module_init() returns the table.
 *
 * Memory: the backend only hands out raw device blocks (malloc/free); the
 * engine's pool (storage.c) rounds, caches, counts and handles running out
 * of memory the same way for every device.
 *
 * Streams: one stream per device.  Kernels, copies to the device, fills and
 * casts are queued and never wait; the host waits only when it reads
 * (copy to the host, sync).  A backend reports an asynchronous failure at
 * the next sync.
 *
 * The module cannot call engine functions directly (R loads mxnet.so with
 * hidden visibility), so the engine passes the services it needs in
 * mx_host_services.
 */
#ifndef MX_GPU_H
#define MX_GPU_H

#include "mx-op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes; the loader refuses a module
 * built for another version. */
#define MX_GPU_ABI 4

/* Engine functions a module may call. */
typedef struct mx_host_services {
  int abi;
  mx_status (*error_at)(const char *func, mx_status st, const char *fmt, ...);
  void (*log)(int level, const char *fmt, ...);
  int (*abort_requested)(void);
  const mx_op *(*op_find)(const char *name);
  int (*op_param_index)(const mx_op *op, const char *key);    /* -1 if none */
  mx_status (*ndarray_new)(const mx_shape *shape, int dtype, mx_context ctx,
                           mx_ndarray **out);                  /* pooled     */
  void (*ndarray_free)(mx_ndarray *a);
  mx_status (*storage_alloc)(size_t bytes, mx_context ctx, mx_storage **out);
  void (*storage_release)(mx_storage *s);
  /* a kernel's scratch (mx-op.h): the planned workspace or a pool block */
  mx_status (*scratch_open)(const mx_op_ctx *c, size_t need, mx_scratch *s);
  void (*scratch_close)(mx_scratch *s);
  void (*convert)(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n);
  const char *(*getenv)(const char *name);
  const char *(*last_error)(void);                              /* this thread's */
  /* give back the pool's cached blocks of a device (for memory a module
   * takes outside the pool, before it retries a failed allocation) */
  void (*pool_release)(int dev_type, int dev_id);
} mx_host_services;

/* GPU kernel flags. */
#define MX_GPUF_INPLACE 1   /* output k may alias input k                    */
#define MX_GPUF_GRAPH   2   /* safe inside a CUDA graph (no sync, no host read,
                               no allocation)                                  */

/* The GPU kernels of one op.  fwd/bwd have the CPU kernels' contracts
 * (mx-op.h) and queue work on c->gpu's stream; they never sync. */
typedef struct mx_gpu_kernel {
  const char *op;                 /* registry name                          */
  mx_compute_fn fwd;
  mx_backward_fn bwd;             /* NULL: no gradient on the GPU           */
  /* NULL: every call is supported; else nonzero when this call can run
   * (e.g. cuDNN pooling refuses sum/lp pooling).  why: a short reason. */
  int (*supports)(const mx_param_value *p, int nin, const mx_shape *in_shapes,
                  const int *in_dtypes, const char **why);
  unsigned dtypes;                /* bit (1u << dtype) per native dtype; the
                                     others are computed through float32     */
  int flags;                      /* MX_GPUF_*                              */
} mx_gpu_kernel;

/* Host-side description of a device (for mx.features and messages). */
typedef struct mx_gpu_info {
  char name[96];
  int major, minor;               /* compute capability                     */
  int64_t total_bytes;
} mx_gpu_info;

typedef struct mx_gpu_backend {
  int abi;                        /* MX_GPU_ABI                             */
  const char *name;               /* "cuda" or "fake"                       */
  int (*device_count)(void);
  mx_status (*device_info)(int dev, mx_gpu_info *out);
  const char *(*describe)(void);  /* one line: versions, driver, devices    */

  /* raw memory; MX_ERR_NOMEM when the device is full (no message needed) */
  mx_status (*malloc)(int dev, size_t bytes, void **out);
  void (*free)(int dev, void *p);
  void (*mem_info)(int dev, int64_t *free_bytes, int64_t *total_bytes);

  /* bytes between the host (dev < 0) and devices, or between devices */
  mx_status (*copy)(void *dst, int dst_dev, const void *src, int src_dev, size_t bytes);
  /* n elements on device dev */
  mx_status (*fill)(int dev, void *p, int dtype, int64_t n, double value);
  mx_status (*cast)(int dev, const void *src, int src_dtype, void *dst, int dst_dtype,
                    int64_t n);
  mx_status (*add)(int dev, void *dst, const void *src, int dtype, int64_t n); /* dst += src */
  /* wait for the device's queue; reports earlier asynchronous failures */
  mx_status (*sync)(int dev);

  /* kernels of op (NULL: none on this backend); resolved once per op */
  const mx_gpu_kernel *(*kernel)(const mx_op *op);
  /* around every kernel call: make dev current and fill c->gpu; after the
   * call, check the launch (and sync when MXNET_CUDA_SYNC=1) */
  mx_status (*op_begin)(int dev, mx_op_ctx *c);
  mx_status (*op_end)(int dev, const char *op_name);
  void (*shutdown)(void);         /* before unload; may be NULL             */

  /* Collectives (NCCL in the CUDA module); each NULL where the backend has
   * none, and then the kvstore copies and adds instead.  Work is queued on
   * the devices' streams, like a kernel's.
   * reduce_devices: for each of n arrays k (counts[k] elements of dtypes[k]),
   * the sum over j of bufs[k * ndev + j], which lives on devs[j], lands in
   * bufs[k * ndev] on devs[0]; the others are only read.  MX_ERR_UNSUPPORTED:
   * nothing was queued (no library, no communicator, a dtype it cannot sum),
   * so the kvstore may copy and add instead. */
  mx_status (*reduce_devices)(const int *devs, int ndev, void *const *bufs,
                              const int64_t *counts, const int *dtypes, int n);
  /* Across processes, one device each: ranks_ready says whether this rank
   * can join on dev (every rank asks before any joins: a join waits for all
   * of them), ranks_id fills an id of ranks_id_bytes on one rank (the
   * caller sends it to the others), ranks_open joins rank of nranks on dev,
   * ranks_allreduce sums each array in place over the ranks, ranks_close
   * ends the communicator. */
  size_t ranks_id_bytes;
  mx_status (*ranks_ready)(int dev);
  mx_status (*ranks_id)(void *id);
  mx_status (*ranks_open)(const void *id, int nranks, int rank, int dev, void **comm);
  mx_status (*ranks_allreduce)(void *comm, int dev, void *const *bufs, const int64_t *counts,
                               const int *dtypes, int n);
  void (*ranks_close)(void *comm);
} mx_gpu_backend;

/* The module's entry point (exported by mxnet_cuda.so).  Returns NULL and
 * writes a reason into err when the module cannot serve (e.g. no driver). */
typedef const mx_gpu_backend *(*mx_gpu_module_init_fn)(const mx_host_services *host,
                                                       char *err, size_t errlen);
#define MX_GPU_MODULE_INIT "mx_cuda_module_init"

/* ------------------------------------------------ engine side (device.c) */

/* The selected backend, or NULL (no GPU; mx_gpu_why() says why). */
const mx_gpu_backend *mx_gpu(void);
const char *mx_gpu_why(void);
/* The fake backend's table (gpu-fake.c); NULL when MXNET_FAKE_GPU is unset. */
const mx_gpu_backend *mx_gpu_fake_backend(void);

/* Kernels of op on ctx: CPU kernels, or the backend's record.  Errors name
 * the op and the device. */
typedef struct mx_kernels {
  mx_compute_fn fwd;
  mx_backward_fn bwd;
  const mx_gpu_kernel *gpu;       /* NULL on the CPU                         */
  mx_workspace_fn workspace;      /* scratch a call needs (NULL: none; GPU
                                     kernels size their own for now)        */
} mx_kernels;
mx_status mx_op_kernels(const mx_op *op, mx_context ctx, mx_kernels *out);
/* Nonzero when op computes dtype natively on ctx (else via float32). */
int mx_op_native_dtype(const mx_op *op, mx_context ctx, int dtype);
/* Run a forward/backward kernel on ctx (wraps op_begin/op_end on a GPU). */
mx_status mx_op_run_forward(const mx_op *op, const mx_kernels *k, mx_op_ctx *c,
                            const mx_param_value *p, mx_ndarray *const *in, int nin,
                            mx_ndarray *const *out, int nout, const int *req);
mx_status mx_op_run_backward(const mx_op *op, const mx_kernels *k, mx_op_ctx *c,
                             const mx_param_value *p, mx_ndarray *const *og, int nout,
                             mx_ndarray *const *in, int nin, mx_ndarray *const *out,
                             mx_ndarray *const *ig, const int *req);

/* Device memory for the pool (storage.c). */
mx_status mx_device_malloc(mx_context ctx, size_t bytes, void **out);
void mx_device_free(mx_context ctx, void *p);
void mx_device_mem_info(int dev, int64_t *free_bytes, int64_t *total_bytes);
/* MX_OK when the GPU record of k supports this call (shapes, params). */
mx_status mx_op_kernels_check(const mx_op *op, const mx_kernels *k, const mx_param_value *p,
                              int nin, const mx_shape *in_s, const int *in_t);

#ifdef __cplusplus
}
#endif

#endif /* MX_GPU_H */
