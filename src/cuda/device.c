/*
 * device.c -- the CUDA module's entry point and backend table: devices,
 * streams, library handles, raw memory, copies, error mapping.
 *
 * The engine (src/engine/device.c) dlopens libs/mxnet_cuda.so and calls
 * mx_cuda_module_init(), the one exported symbol; everything else here has
 * hidden visibility.  One non-blocking stream per device, created on first
 * use with its cuBLAS handle bound to it (the cuDNN handle on first use,
 * mx_cuda_cudnn).  Work is queued and never waited for, except where the
 * host reads: a copy to the host and sync().
 *
 * Errors: every CUDA call goes through MX_CUDA_TRY (or the mapping functions
 * below); a failure becomes an engine status with a message through
 * mx_host->error_at.  Nothing here aborts, exits or prints.
 *
 * UNVERIFIED on a GPU: this compiles, links and is exercised without a
 * driver on the development machine; the paths that need a device run only
 * in tools/gpu-check.sh.
 */
#include "cuda-common.h"
#include "../mx-config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MX_CUDA_EXPORT __attribute__((visibility("default")))

const mx_host_services *mx_host;

static mx_cuda_dev devs[MX_CUDA_MAX_DEV];
static int dev_ready[MX_CUDA_MAX_DEV];        /* stream and handles made   */
static cudaEvent_t dev_event[MX_CUDA_MAX_DEV]; /* orders peer copies        */
static int ndev;
static int sync_each;                          /* MXNET_CUDA_SYNC=1          */
static int tf32_conv = 1, tf32_gemm = 0;
static char describe_buf[1024];

/* ------------------------------------------------------- error mapping */

/* Errors after which the CUDA context is unusable until the process ends. */
static int cuda_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress: case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError: case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress: case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc: case cudaErrorAssert: case cudaErrorECCUncorrectable:
    case cudaErrorLaunchTimeout: case cudaErrorContextIsDestroyed:
      return 1;
    default:
      return 0;
  }
}

static const char *cuda_hint(cudaError_t e) {
  if (cuda_sticky(e))
    return "; the GPU is unusable in this R session: save your work and restart R";
  if (e == cudaErrorNoKernelImageForDevice)
    return "; this build has GPU code for " MX_CUDA_ARCHS
           ": reinstall with MXNET_CUDA_ARCH set to this GPU's compute capability";
  return "";
}

/* Map a failed CUDA call.  Non-sticky errors are cleared so the next call
 * does not report them again. */
mx_status mx_cuda_check(cudaError_t e, const char *what) {
  if (e == cudaSuccess) return MX_OK;
  if (!cuda_sticky(e)) (void)cudaGetLastError();
  if (e == cudaErrorMemoryAllocation)
    return mx_error(MX_ERR_NOMEM, "GPU out of memory (%s)", what);
  return mx_error(MX_ERR_DEVICE, "%s: %s (%s)%s", what, cudaGetErrorString(e),
                  cudaGetErrorName(e), cuda_hint(e));
}

mx_status mx_cublas_check(cublasStatus_t e, const char *what) {
  if (e == CUBLAS_STATUS_SUCCESS) return MX_OK;
  if (e == CUBLAS_STATUS_ALLOC_FAILED)
    return mx_error(MX_ERR_NOMEM, "GPU out of memory in cuBLAS (%s)", what);
  if (e == CUBLAS_STATUS_NOT_SUPPORTED || e == CUBLAS_STATUS_ARCH_MISMATCH)
    return mx_error(MX_ERR_UNSUPPORTED, "%s: %s", what, cublasGetStatusString(e));
  return mx_error(MX_ERR_DEVICE, "%s: %s (%s)", what, cublasGetStatusString(e),
                  cublasGetStatusName(e));
}

mx_status mx_cudnn_check(cudnnStatus_t e, const char *what) {
  if (e == CUDNN_STATUS_SUCCESS) return MX_OK;
  if (e == CUDNN_STATUS_ALLOC_FAILED)
    return mx_error(MX_ERR_NOMEM, "GPU out of memory in cuDNN (%s)", what);
  if (e == CUDNN_STATUS_NOT_SUPPORTED || e == CUDNN_STATUS_ARCH_MISMATCH)
    return mx_error(MX_ERR_UNSUPPORTED, "%s: %s", what, cudnnGetErrorString(e));
  return mx_error(MX_ERR_DEVICE, "%s: %s", what, cudnnGetErrorString(e));
}

/* After a failed call whose status cannot be returned: clear the error
 * unless it is sticky (then every later call reports it anyway). */
static void forget_error(void) {
  if (!cuda_sticky(cudaPeekAtLastError())) (void)cudaGetLastError();
}

/* A failure found when waiting for a stream: an earlier queued operation. */
static mx_status async_failure(cudaError_t e, int dev) {
  if (!cuda_sticky(e)) (void)cudaGetLastError();
  if (e == cudaErrorMemoryAllocation)
    return mx_error(MX_ERR_NOMEM, "an earlier GPU operation on gpu(%d) ran out of memory", dev);
  return mx_error(MX_ERR_DEVICE,
                  "an earlier GPU operation on gpu(%d) failed: %s (%s); rerun with "
                  "MXNET_CUDA_SYNC=1 to find which%s",
                  dev, cudaGetErrorString(e), cudaGetErrorName(e), cuda_hint(e));
}

/* ------------------------------------------------------------ devices */

static int env_flag(const char *name, int dflt) {
  const char *v = mx_host->getenv(name);
  if (!v || !*v) return dflt;
  return !(strcmp(v, "0") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
           strcmp(v, "FALSE") == 0);
}

static mx_status dev_setup(int dev) {
  mx_cuda_dev *d = &devs[dev];
  int major = 0, minor = 0;
  MX_CUDA_TRY(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  MX_CUDA_TRY(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
  d->id = dev;
  d->sm = major * 10 + minor;
  d->allow_tf32_conv = tf32_conv;
  d->allow_tf32_gemm = tf32_gemm;
  MX_CUDA_TRY(cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking));
  MX_CUDA_TRY(cudaEventCreateWithFlags(&dev_event[dev], cudaEventDisableTiming));
  MX_CUBLAS_TRY(cublasCreate(&d->cublas));
  MX_CUBLAS_TRY(cublasSetStream(d->cublas, d->stream));
  MX_CUBLAS_TRY(cublasSetMathMode(d->cublas, tf32_gemm ? CUBLAS_TF32_TENSOR_OP_MATH
                                                       : CUBLAS_DEFAULT_MATH));
  dev_ready[dev] = 1;
  return MX_OK;
}

/* Make dev current and its stream ready. */
static mx_status dev_use(int dev, mx_cuda_dev **out) {
  if (dev < 0 || dev >= ndev)
    return mx_error(MX_ERR_DEVICE, "gpu(%d) does not exist: this machine has %d GPU%s",
                    dev, ndev, ndev == 1 ? "" : "s");
  MX_CUDA_TRY(cudaSetDevice(dev));
  if (!dev_ready[dev]) {
    mx_status rc = dev_setup(dev);
    if (rc) return rc;
  }
  if (out) *out = &devs[dev];
  return MX_OK;
}

mx_status mx_cuda_dev_get(int dev, mx_cuda_dev **out) { return dev_use(dev, out); }

void mx_cuda_pool_give_back(int dev) { mx_host->pool_release(MX_GPU, dev); }

mx_status mx_cuda_cudnn(mx_cuda_dev *d, cudnnHandle_t *out) {
  if (!d->cudnn_ready) {
    MX_CUDA_TRY(cudaSetDevice(d->id));
    cudnnStatus_t e = cudnnCreate(&d->cudnn);
    if (e != CUDNN_STATUS_SUCCESS) {   /* its memory comes from outside the pool */
      mx_cuda_pool_give_back(d->id);
      e = cudnnCreate(&d->cudnn);
    }
    if (e != CUDNN_STATUS_SUCCESS) return mx_cudnn_check(e, "cudnnCreate");
    e = cudnnSetStream(d->cudnn, d->stream);
    if (e != CUDNN_STATUS_SUCCESS) {   /* never a handle on the default stream */
      (void)cudnnDestroy(d->cudnn);
      return mx_cudnn_check(e, "cudnnSetStream");
    }
    d->cudnn_ready = 1;
  }
  *out = d->cudnn;
  return MX_OK;
}

static int cu_device_count(void) { return ndev; }

static mx_status cu_device_info(int dev, mx_gpu_info *out) {
  if (dev < 0 || dev >= ndev)
    return mx_error(MX_ERR_DEVICE, "gpu(%d) does not exist: this machine has %d GPU%s",
                    dev, ndev, ndev == 1 ? "" : "s");
  struct cudaDeviceProp p;
  MX_CUDA_TRY(cudaGetDeviceProperties(&p, dev));
  memset(out, 0, sizeof *out);
  memcpy(out->name, p.name, sizeof out->name - 1);   /* truncated, terminated */
  out->major = p.major;
  out->minor = p.minor;
  out->total_bytes = (int64_t)p.totalGlobalMem;
  return MX_OK;
}

static const char *cu_describe(void) { return describe_buf; }

/* version numbers as "M.m" (CUDA: 1000*M + 10*m) and "M.m.p" (cuDNN 9) */
static void cuda_version(char *buf, size_t n, int v) {
  snprintf(buf, n, "%d.%d", v / 1000, (v % 1000) / 10);
}

static void describe_init(void) {
  int rt = 0, drv = 0, cb[3] = {0, 0, 0};
  char srt[16], sdrv[16];
  (void)cudaRuntimeGetVersion(&rt);
  (void)cudaDriverGetVersion(&drv);
  (void)cublasGetProperty(MAJOR_VERSION, &cb[0]);
  (void)cublasGetProperty(MINOR_VERSION, &cb[1]);
  (void)cublasGetProperty(PATCH_LEVEL, &cb[2]);
  size_t dn = cudnnGetVersion();
  cuda_version(srt, sizeof srt, rt);
  cuda_version(sdrv, sizeof sdrv, drv);
  int k = snprintf(describe_buf, sizeof describe_buf,
                   "CUDA runtime %s, driver supports CUDA %s, cuDNN %d.%d.%d, cuBLAS %d.%d.%d, "
                   "built for %s; %d GPU%s",
                   srt, sdrv, (int)(dn / 10000), (int)(dn % 10000) / 100, (int)(dn % 100),
                   cb[0], cb[1], cb[2], MX_CUDA_ARCHS, ndev, ndev == 1 ? "" : "s");
  for (int i = 0; i < ndev && k > 0 && (size_t)k < sizeof describe_buf; i++) {
    mx_gpu_info g;
    if (cu_device_info(i, &g) != MX_OK) break;
    k += snprintf(describe_buf + k, sizeof describe_buf - (size_t)k,
                  "%s gpu(%d) %s (sm_%d%d, %.1f GiB)", i ? ";" : ":", i, g.name, g.major,
                  g.minor, (double)g.total_bytes / 1073741824.0);
  }
}

/* -------------------------------------------------------------- memory */

static mx_status cu_malloc(int dev, size_t bytes, void **out) {
  *out = NULL;
  mx_status rc = dev_use(dev, NULL);
  if (rc) return rc;
  cudaError_t e = cudaMalloc(out, bytes ? bytes : 1);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();   /* not sticky: the pool releases and retries */
    *out = NULL;
    return MX_ERR_NOMEM;
  }
  MX_CUDA_TRY(e);
  return MX_OK;
}

static void cu_free(int dev, void *p) {
  if (!p || dev < 0 || dev >= ndev) return;
  /* cudaFree waits for the device; the pool frees only when it releases
   * its cache, never per operation.  A failure here (sticky error) leaves
   * the block to the dying context. */
  if (cudaSetDevice(dev) != cudaSuccess || cudaFree(p) != cudaSuccess) forget_error();
}

static void cu_mem_info(int dev, int64_t *free_bytes, int64_t *total_bytes) {
  size_t f = 0, t = 0;
  *free_bytes = *total_bytes = 0;
  if (dev < 0 || dev >= ndev) return;
  if (cudaSetDevice(dev) != cudaSuccess || cudaMemGetInfo(&f, &t) != cudaSuccess) {
    forget_error();
    return;
  }
  *free_bytes = (int64_t)f;
  *total_bytes = (int64_t)t;
}

/* --------------------------------------------------------------- copies */

/* Direct access from dst_dev (current) to src_dev's memory, enabled once
 * per pair when the hardware allows it; otherwise peer copies go through
 * the host, which is slower but correct.  UNVERIFIED: needs two GPUs. */
static signed char peer_state[MX_CUDA_MAX_DEV][MX_CUDA_MAX_DEV];  /* 0 unknown, 1 on, -1 off */

static void peer_enable(int dst_dev, int src_dev) {
  int can = 0;
  if (peer_state[dst_dev][src_dev]) return;
  peer_state[dst_dev][src_dev] = -1;
  if (cudaDeviceCanAccessPeer(&can, dst_dev, src_dev) != cudaSuccess || !can) {
    forget_error();
    return;
  }
  cudaError_t e = cudaDeviceEnablePeerAccess(src_dev, 0);
  if (e == cudaSuccess || e == cudaErrorPeerAccessAlreadyEnabled) peer_state[dst_dev][src_dev] = 1;
  forget_error();
}

/* Peer copy on dst's stream, ordered after src's queued work; src's stream
 * then waits for the copy, so a later write to src cannot overtake it. */
static mx_status copy_peer(void *dst, int dst_dev, const void *src, int src_dev, size_t bytes) {
  mx_cuda_dev *s, *d;
  mx_status rc = dev_use(src_dev, &s);
  if (rc == MX_OK) rc = dev_use(dst_dev, &d);
  if (rc) return rc;
  MX_CUDA_TRY(cudaSetDevice(src_dev));
  MX_CUDA_TRY(cudaEventRecord(dev_event[src_dev], s->stream));
  MX_CUDA_TRY(cudaSetDevice(dst_dev));
  peer_enable(dst_dev, src_dev);
  MX_CUDA_TRY(cudaStreamWaitEvent(d->stream, dev_event[src_dev], 0));
  MX_CUDA_TRY(cudaMemcpyPeerAsync(dst, dst_dev, src, src_dev, bytes, d->stream));
  MX_CUDA_TRY(cudaEventRecord(dev_event[dst_dev], d->stream));
  MX_CUDA_TRY(cudaSetDevice(src_dev));
  MX_CUDA_TRY(cudaStreamWaitEvent(s->stream, dev_event[dst_dev], 0));
  return MX_OK;
}

/* Overlapping ranges on one device (views of one array): cudaMemcpy's
 * areas may not overlap, so through a stream-ordered temporary. */
static mx_status copy_overlap(mx_cuda_dev *d, void *dst, const void *src, size_t bytes) {
  void *tmp = NULL;
  cudaError_t m = cudaMallocAsync(&tmp, bytes, d->stream);
  if (m == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    mx_cuda_pool_give_back(d->id);
    m = cudaMallocAsync(&tmp, bytes, d->stream);
  }
  MX_CUDA_TRY(m);
  cudaError_t e = cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, d->stream);
  if (e == cudaSuccess) e = cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, d->stream);
  cudaError_t f = cudaFreeAsync(tmp, d->stream);
  return mx_cuda_check(e != cudaSuccess ? e : f, "a copy between overlapping device ranges");
}

static mx_status cu_copy(void *dst, int dst_dev, const void *src, int src_dev, size_t bytes) {
  mx_cuda_dev *d;
  mx_status rc;
  if (bytes == 0) return MX_OK;
  if (dst_dev < 0 && src_dev < 0) {
    memmove(dst, src, bytes);
    return MX_OK;
  }
  if (src_dev < 0) {   /* host to device: queued; pageable sources are staged
                          before the call returns, so the caller may reuse them */
    if ((rc = dev_use(dst_dev, &d))) return rc;
    MX_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, d->stream));
    return MX_OK;
  }
  if (dst_dev < 0) {   /* device to host: a read point */
    if ((rc = dev_use(src_dev, &d))) return rc;
    MX_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, d->stream));
    cudaError_t e = cudaStreamSynchronize(d->stream);
    return e == cudaSuccess ? MX_OK : async_failure(e, src_dev);
  }
  if (src_dev != dst_dev) return copy_peer(dst, dst_dev, src, src_dev, bytes);
  if ((rc = dev_use(dst_dev, &d))) return rc;
  if (dst == src) return MX_OK;
  const char *a = (const char *)src, *b = (const char *)dst;
  if (b < a + bytes && a < b + bytes) return copy_overlap(d, dst, src, bytes);
  MX_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, d->stream));
  return MX_OK;
}

/* ------------------------------------------------- fill, cast, add, sync */

static mx_status cu_fill(int dev, void *p, int dtype, int64_t n, double value) {
  mx_cuda_dev *d;
  mx_status rc = dev_use(dev, &d);
  if (rc || n <= 0) return rc;
  size_t es = mx_cu_dtype_size(dtype);
  if (value == 0 && !signbit(value) && es) {   /* +0 is all zero bytes in every dtype */
    MX_CUDA_TRY(cudaMemsetAsync(p, 0, (size_t)n * es, d->stream));
    return MX_OK;
  }
  return mx_cu_fill(d->stream, p, dtype, n, value);
}

static mx_status cu_cast(int dev, const void *src, int src_dtype, void *dst, int dst_dtype,
                         int64_t n) {
  mx_cuda_dev *d;
  mx_status rc = dev_use(dev, &d);
  if (rc || n <= 0) return rc;
  return mx_cu_cast(d->stream, src, src_dtype, dst, dst_dtype, n);
}

static mx_status cu_add(int dev, void *dst, const void *src, int dtype, int64_t n) {
  mx_cuda_dev *d;
  mx_status rc = dev_use(dev, &d);
  if (rc || n <= 0) return rc;
  return mx_cu_add(d->stream, dst, src, dtype, n);
}

static mx_status sync_one(int dev) {
  if (!dev_ready[dev]) return MX_OK;   /* nothing was ever queued there */
  MX_CUDA_TRY(cudaSetDevice(dev));
  cudaError_t e = cudaStreamSynchronize(devs[dev].stream);
  return e == cudaSuccess ? MX_OK : async_failure(e, dev);
}

static mx_status cu_sync(int dev) {
  if (dev >= ndev)
    return mx_error(MX_ERR_DEVICE, "gpu(%d) does not exist: this machine has %d GPU%s",
                    dev, ndev, ndev == 1 ? "" : "s");
  if (dev >= 0) return sync_one(dev);
  for (int i = 0; i < ndev; i++) {
    mx_status rc = sync_one(i);
    if (rc) return rc;
  }
  return MX_OK;
}

/* ------------------------------------------------------------- op calls */

const mx_gpu_kernel *mx_cuda_kernel_find(const char *op_name);

static const mx_gpu_kernel *cu_kernel(const mx_op *op) {
  return op ? mx_cuda_kernel_find(op->name) : NULL;
}

static mx_status cu_op_begin(int dev, mx_op_ctx *c) {
  mx_cuda_dev *d;
  mx_status rc = dev_use(dev, &d);
  if (rc) return rc;
  c->gpu = d;
  return MX_OK;
}

static mx_status cu_op_end(int dev, const char *op_name) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    return mx_error(MX_ERR_DEVICE, "%s on gpu(%d): %s (%s)%s", op_name, dev,
                    cudaGetErrorString(e), cudaGetErrorName(e), cuda_hint(e));
  if (!sync_each || dev < 0 || dev >= ndev) return MX_OK;
  e = cudaStreamSynchronize(devs[dev].stream);
  if (e == cudaSuccess) return MX_OK;
  if (!cuda_sticky(e)) (void)cudaGetLastError();
  return mx_error(e == cudaErrorMemoryAllocation ? MX_ERR_NOMEM : MX_ERR_DEVICE,
                  "%s failed on gpu(%d) (found by MXNET_CUDA_SYNC=1): %s (%s)%s", op_name,
                  dev, cudaGetErrorString(e), cudaGetErrorName(e), cuda_hint(e));
}

/* Before unload: wait for and destroy what dev_setup made (no
 * cudaDeviceReset: other libraries in the process may share the context). */
static void cu_shutdown(void) {
  mx_cuda_dnn_shutdown();
  mx_cuda_nccl_shutdown();
  for (int i = 0; i < ndev; i++) {
    mx_cuda_dev *d = &devs[i];
    if (!dev_ready[i] || cudaSetDevice(i) != cudaSuccess) continue;
    (void)cudaStreamSynchronize(d->stream);
    if (d->cudnn_ready) (void)cudnnDestroy(d->cudnn);
    (void)cublasDestroy(d->cublas);
    (void)cudaEventDestroy(dev_event[i]);
    (void)cudaStreamDestroy(d->stream);
    d->cudnn_ready = 0;
    dev_ready[i] = 0;
  }
  (void)cudaGetLastError();
}

/* the collectives are filled in by nccl.c (mx_cuda_nccl_table) */
static mx_gpu_backend backend = {
  .abi = MX_GPU_ABI, .name = "cuda", .device_count = cu_device_count, .device_info = cu_device_info,
  .describe = cu_describe, .malloc = cu_malloc, .free = cu_free, .mem_info = cu_mem_info,
  .copy = cu_copy, .fill = cu_fill, .cast = cu_cast, .add = cu_add, .sync = cu_sync,
  .kernel = cu_kernel, .op_begin = cu_op_begin, .op_end = cu_op_end, .shutdown = cu_shutdown,
};

/* --------------------------------------------------------- entry point */

int mx_cuda_kernels_check(char *err, size_t errlen);

MX_CUDA_EXPORT const mx_gpu_backend *mx_cuda_module_init(const mx_host_services *host,
                                                         char *err, size_t errlen);

const mx_gpu_backend *mx_cuda_module_init(const mx_host_services *host, char *err,
                                          size_t errlen) {
  if (!host || host->abi != MX_GPU_ABI) {
    snprintf(err, errlen, "the GPU module (interface version %d) does not match the "
             "package (version %d): reinstall the package", MX_GPU_ABI, host ? host->abi : -1);
    return NULL;
  }
  mx_host = host;
  /* the tables first: a machine without a GPU (MXNET_CUDA_FORCE_MODULE=1)
   * checks them too */
  if (mx_cuda_kernels_check(err, errlen)) return NULL;
  if (mx_cuda_dnn_init() != MX_OK) {
    snprintf(err, errlen, "%s", host->last_error());
    return NULL;
  }
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n <= 0) {
    if (e == cudaSuccess) e = cudaErrorNoDevice;
    snprintf(err, errlen, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    (void)cudaGetLastError();
    return NULL;
  }
  if (n > MX_CUDA_MAX_DEV) {
    host->log(MX_LOG_WARN, "mxnet: using the first %d of %d GPUs", MX_CUDA_MAX_DEV, n);
    n = MX_CUDA_MAX_DEV;
  }
  ndev = n;
  sync_each = env_flag("MXNET_CUDA_SYNC", 0);
  tf32_conv = env_flag("MXNET_CUDA_ALLOW_TF32_CONV", 1);
  tf32_gemm = env_flag("MXNET_CUDA_ALLOW_TF32_GEMM", 0);
  describe_init();
  mx_cuda_nccl_table(&backend);
  return &backend;
}
