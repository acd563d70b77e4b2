/*
 * cuda-common.h -- shared by the host files of the CUDA module (the .c files in src/cuda,
 * built by R's C compiler with CUDA headers via -isystem) and, through
 * kern-common.h, the kernel launchers (the .cu files in src/cuda/kernels, built by nvcc).
 *
 * The module is a separate shared object (libs/mxnet_cuda.so) that the
 * engine dlopens (src/engine/device.c).  It may not call engine functions
 * (mxnet.so hides them): everything goes through mx_host, the services the
 * engine passed to mx_cuda_module_init().  mx_error() below is redirected
 * there; `make cuda-lint` fails when the module has an undefined mx_ symbol.
 */
#ifndef MX_CUDA_COMMON_H
#define MX_CUDA_COMMON_H

#include "../include/mx-gpu.h"

#include <cuda_runtime_api.h>
#include <cublas_v2.h>
#include <cudnn.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const mx_host_services *mx_host;

#undef mx_error
#define mx_error(...) mx_host->error_at(__func__, __VA_ARGS__)

/* Up to this many devices are served (more are ignored and reported). */
#define MX_CUDA_MAX_DEV 16

/* One per device; an op's mx_op_ctx.gpu points at its device's record. */
typedef struct mx_cuda_dev {
  int id;
  int sm;                       /* compute capability, major*10 + minor     */
  cudaStream_t stream;          /* the one stream of this device            */
  cublasHandle_t cublas;        /* bound to stream                          */
  cudnnHandle_t cudnn;          /* bound to stream (created on first use)   */
  int cudnn_ready;
  int allow_tf32_conv;          /* MXNET_CUDA_ALLOW_TF32_CONV (default 1)   */
  int allow_tf32_gemm;          /* MXNET_CUDA_ALLOW_TF32_GEMM (default 0)   */
} mx_cuda_dev;

/* The device record of an op call. */
static inline mx_cuda_dev *mx_cuda_of(const mx_op_ctx *c) { return (mx_cuda_dev *)c->gpu; }

/* Map library failures to engine statuses (device.c); never abort. */
mx_status mx_cuda_check(cudaError_t e, const char *what);
mx_status mx_cublas_check(cublasStatus_t e, const char *what);
mx_status mx_cudnn_check(cudnnStatus_t e, const char *what);
#define MX_CUDA_TRY(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) return mx_cuda_check(e_, #call); } while (0)
#define MX_CUBLAS_TRY(call) do { cublasStatus_t e_ = (call); if (e_ != CUBLAS_STATUS_SUCCESS) return mx_cublas_check(e_, #call); } while (0)
#define MX_CUDNN_TRY(call) do { cudnnStatus_t e_ = (call); if (e_ != CUDNN_STATUS_SUCCESS) return mx_cudnn_check(e_, #call); } while (0)

/* Make dev current, its stream ready; *out (may be NULL) its record. */
mx_status mx_cuda_dev_get(int dev, mx_cuda_dev **out);
/* Ask the engine's pool to give back its cached blocks on dev: memory taken
 * outside the pool (library handles, NCCL, temporaries) does this before
 * one more try, since the pool keeps what it frees. */
void mx_cuda_pool_give_back(int dev);
/* The collectives of the backend table (nccl.c), and their teardown. */
void mx_cuda_nccl_table(mx_gpu_backend *b);
void mx_cuda_nccl_shutdown(void);

/* The cuDNN handle of a device (created on first use). */
mx_status mx_cuda_cudnn(mx_cuda_dev *d, cudnnHandle_t *out);

/* Element counts and sizes without engine calls. */
static inline int64_t mx_cu_size(const mx_shape *s) {
  int64_t n = 1;
  for (int k = 0; k < s->ndim; k++) n *= s->d[k];
  return n;
}
static inline size_t mx_cu_dtype_size(int dtype) {
  switch (dtype) {
    case MX_FLOAT64: case MX_INT64: return 8;
    case MX_FLOAT32: case MX_INT32: return 4;
    case MX_FLOAT16: case MX_BFLOAT16: return 2;
    case MX_UINT8: case MX_INT8: return 1;
    default: return 0;
  }
}

/* Launchers of the basic kernels (kernels/basic.cu), used by device.c for
 * the backend's fill, cast and add.  They queue work on stream, never sync,
 * and return cudaGetLastError()'s status mapped by mx_cuda_check. */
mx_status mx_cu_fill(cudaStream_t stream, void *p, int dtype, int64_t n, double value);
mx_status mx_cu_cast(cudaStream_t stream, const void *src, int src_dtype, void *dst,
                     int dst_dtype, int64_t n);
mx_status mx_cu_add(cudaStream_t stream, void *dst, const void *src, int dtype, int64_t n);

/* Module hooks of the cuBLAS/cuDNN family (dnn-table.c): parameter
 * indices by name (an error names a missing op, parameter or choice) and the
 * algorithm cache's release. */
mx_status mx_cuda_dnn_init(void);
void mx_cuda_dnn_shutdown(void);

/* Each kernel family file exports a table ending with a zeroed record;
 * ops-table.c lists the tables. */
extern const mx_gpu_kernel mx_gpu_kernels_elemwise[];   /* kernels/elemwise.cu and friends */
extern const mx_gpu_kernel mx_gpu_kernels_dnn[];        /* cuBLAS / cuDNN host files      */

#ifdef __cplusplus
}
#endif

#endif /* MX_CUDA_COMMON_H */
