// dnn-kernels.cu -- the small kernels of the cuBLAS / cuDNN ops: bias add
// and bias gradient (FullyConnected, Convolution, Deconvolution),
// softrelu / softsign (no cuDNN mode), a scale (softmax temperature), and
// the BatchNorm moving-statistics update and fixed-statistics gradient.
// Launchers are extern "C", queue work on the given stream and never sync.
// float32 and float64, and float16 and bfloat16 with float arithmetic (one
// rounding into the output; BatchNorm's per-channel arrays then float32).
// The formulas are the CPU kernels' (src/ops/nn.c, src/ops/nn-conv.c).
// UNVERIFIED on a GPU (compiled only).
#include "../cudnn-desc.h"
#include "../dnn-math.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace {

constexpr int kThreads = 256;

int64_t grid_for(int64_t n) {
  int64_t g = (n + kThreads - 1) / kThreads;
  if (g < 1) g = 1;
  return g > 65535 ? 65535 : g;
}

mx_status launched(const char *what) {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? MX_OK : mx_cuda_check(e, what);
}

// Sum of v over the block (every thread gets it); sh has kThreads entries.
template <typename A>
__device__ A block_sum(A v, A *sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  A r = sh[0];
  __syncthreads();
  return r;
}

// the arithmetic type of storage type T: float for the half types
template <typename T> struct acc_of { typedef T type; };
template <> struct acc_of<__half> { typedef float type; };
template <> struct acc_of<__nv_bfloat16> { typedef float type; };

#define MX_DNN_TO_FLOAT(v) ((float)(v))
MX_DNN_POOL_DEFS(__half, float, f16, MX_DNN_TO_FLOAT)
MX_DNN_POOL_DEFS(__nv_bfloat16, float, bf16, MX_DNN_TO_FLOAT)

template <typename T>
__global__ void k_bias_add(T *y, const T *b, int64_t n, int64_t C, int64_t inner) {
  typedef typename acc_of<T>::type A;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = (T)((A)y[i] + (A)b[(i / inner) % C]);
}

// one block per channel (grid-stride over channels)
template <typename T>
__global__ void k_bias_grad(T *db, const T *dy, int64_t outer, int64_t C, int64_t inner) {
  typedef typename acc_of<T>::type A;
  __shared__ A sh[kThreads];
  int64_t m = outer * inner;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    A acc = 0;
    for (int64_t j = threadIdx.x; j < m; j += kThreads) {
      int64_t o = j / inner, i = j % inner;
      acc += (A)dy[(o * C + c) * inner + i];
    }
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0) db[c] = (T)acc;
  }
}

// the formulas of dnn-math.h, by element type
__device__ __forceinline__ float act_of(int a, float x) { return mx_dnn_act_f32(a, x); }
__device__ __forceinline__ double act_of(int a, double x) { return mx_dnn_act_f64(a, x); }
__device__ __forceinline__ float act_grad_of(int a, float g, float x) { return mx_dnn_act_grad_f32(a, g, x); }
__device__ __forceinline__ double act_grad_of(int a, double g, double x) { return mx_dnn_act_grad_f64(a, g, x); }
__device__ __forceinline__ int64_t maxpool_arg(const float *xp, float m, const mx_dnn_pool &g,
                                               int64_t oh, int64_t ow) {
  return mx_dnn_maxpool_arg_f32(xp, m, g.H, g.W, oh, ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw);
}
__device__ __forceinline__ int64_t maxpool_arg(const double *xp, double m, const mx_dnn_pool &g,
                                               int64_t oh, int64_t ow) {
  return mx_dnn_maxpool_arg_f64(xp, m, g.H, g.W, oh, ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw);
}
__device__ __forceinline__ int64_t maxpool_arg(const __half *xp, __half m, const mx_dnn_pool &g,
                                               int64_t oh, int64_t ow) {
  return mx_dnn_maxpool_arg_f16(xp, (float)m, g.H, g.W, oh, ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw);
}
__device__ __forceinline__ int64_t maxpool_arg(const __nv_bfloat16 *xp, __nv_bfloat16 m,
                                               const mx_dnn_pool &g, int64_t oh, int64_t ow) {
  return mx_dnn_maxpool_arg_bf16(xp, (float)m, g.H, g.W, oh, ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw);
}

// softrelu (act 0) and softsign (act 1)
template <typename T>
__global__ void k_act_fwd(int act, const T *x, T *y, int64_t n) {
  typedef typename acc_of<T>::type A;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = (T)act_of(act, (A)x[i]);
}

template <typename T>
__global__ void k_act_bwd(int act, const T *dy, const T *x, T *dx, int64_t n) {
  typedef typename acc_of<T>::type A;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dx[i] = (T)act_grad_of(act, (A)dy[i], (A)x[i]);
}

// max pooling backward, one thread per output: the gradient goes to the
// first cell equal to the window's maximum (dx zeroed before)
template <typename T>
__global__ void k_maxpool_bwd(mx_dnn_pool g, const T *x, const T *y, const T *dy, T *dx) {
  int64_t per = g.Ho * g.Wo, n = g.N * g.C * per;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t pl = i / per, r = i % per;
    int64_t a = maxpool_arg(x + pl * g.H * g.W, y[i], g, r / g.Wo, r % g.Wo);
    if (a >= 0) atomicAdd(dx + pl * g.H * g.W + a, dy[i]);
  }
}

template <typename T>
__global__ void k_scale(const T *x, T *y, double s, int64_t n) {
  typedef typename acc_of<T>::type A;
  const A sa = (A)s;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = (T)((A)x[i] * sa);
}

template <typename T>
__global__ void k_bn_finish(int64_t C, const T *mean, const T *istd, double eps, double mom,
                            T *var_out, T *mm, T *mv) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C;
       c += (int64_t)gridDim.x * blockDim.x) {
    double var = mx_dnn_bn_var((double)istd[c], eps);
    if (var_out) var_out[c] = (T)var;
    mm[c] = (T)mx_dnn_moving((double)mm[c], (double)mean[c], mom);
    mv[c] = (T)mx_dnn_moving((double)mv[c], var, mom);
  }
}

template <typename T>
__global__ void k_bn_istd(int64_t C, const T *var, double eps, T *istd) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C;
       c += (int64_t)gridDim.x * blockDim.x)
    istd[c] = (T)mx_dnn_istd_of((double)var[c], eps);
}

// src/ops/nn.c bn_backward with fixed statistics: one block per channel;
// data of type T, per-channel arrays of type P (float for the half types)
template <typename T, typename P>
__global__ void k_bn_bwd_stats(const T *x, const T *dy, const P *mean, const P *var,
                               const P *gamma, double eps, int fix, int64_t outer, int64_t C,
                               int64_t inner, T *dx, P *dg, P *db) {
  typedef typename acc_of<T>::type A;
  __shared__ double sh[kThreads];
  int64_t m = outer * inner;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double mu = (double)mean[c], istd = rsqrt((double)var[c] + eps);
    double sg = 0, sgx = 0;
    for (int64_t j = threadIdx.x; j < m; j += kThreads) {
      int64_t k = ((j / inner) * C + c) * inner + j % inner;
      double g = (double)(A)dy[k];
      sg += g;
      sgx += g * ((double)(A)x[k] - mu);
    }
    sg = block_sum(sg, sh);
    sgx = block_sum(sgx, sh);
    if (threadIdx.x == 0) {
      if (db) db[c] = (P)sg;
      if (dg) dg[c] = fix ? P(0) : (P)(sgx * istd);
    }
    if (dx) {
      double a = (fix ? 1.0 : (double)gamma[c]) * istd;
      for (int64_t j = threadIdx.x; j < m; j += kThreads) {
        int64_t k = ((j / inner) * C + c) * inner + j % inner;
        dx[k] = (T)(A)(a * (double)(A)dy[k]);
      }
    }
  }
}

mx_status bad_dtype(int dtype) {
  return mx_error(MX_ERR_DTYPE, "GPU kernel: dtype %d is not supported (float32, float64, float16, "
                  "bfloat16; BatchNorm's statistics float32 or the data's)", dtype);
}

}  // namespace

#define DNN_DISPATCH(dtype, T, ...)                    \
  switch (dtype) {                                     \
    case MX_FLOAT32: { typedef float T; __VA_ARGS__; } break;  \
    case MX_FLOAT64: { typedef double T; __VA_ARGS__; } break; \
    default: return bad_dtype(dtype);                  \
  }
// DNN_DISPATCH with float16 and bfloat16 too
#define DNN_DISPATCH_HALF(dtype, T, ...)                               \
  switch (dtype) {                                                     \
    case MX_FLOAT16: { typedef __half T; __VA_ARGS__; } break;         \
    case MX_BFLOAT16: { typedef __nv_bfloat16 T; __VA_ARGS__; } break; \
    default: DNN_DISPATCH(dtype, T, __VA_ARGS__);                      \
  }

extern "C" mx_status mx_dnn_bias_add(cudaStream_t s, int dtype, void *y, const void *b,
                                     int64_t outer, int64_t C, int64_t inner) {
  int64_t n = outer * C * inner;
  if (n == 0) return MX_OK;
  DNN_DISPATCH_HALF(dtype, T, k_bias_add<T><<<grid_for(n), kThreads, 0, s>>>((T *)y, (const T *)b, n, C, inner));
  return launched("bias add");
}

extern "C" mx_status mx_dnn_bias_grad(cudaStream_t s, int dtype, void *db, const void *dy,
                                      int64_t outer, int64_t C, int64_t inner) {
  if (C == 0) return MX_OK;
  int64_t g = C > 65535 ? 65535 : C;
  DNN_DISPATCH_HALF(dtype, T, k_bias_grad<T><<<g, kThreads, 0, s>>>((T *)db, (const T *)dy, outer, C, inner));
  return launched("bias gradient");
}

extern "C" mx_status mx_dnn_act_fwd(cudaStream_t s, int dtype, int act, const void *x, void *y,
                                    int64_t n) {
  if (n == 0) return MX_OK;
  DNN_DISPATCH_HALF(dtype, T, k_act_fwd<T><<<grid_for(n), kThreads, 0, s>>>(act, (const T *)x, (T *)y, n));
  return launched("activation");
}

extern "C" mx_status mx_dnn_act_bwd(cudaStream_t s, int dtype, int act, const void *dy,
                                    const void *x, void *dx, int64_t n) {
  if (n == 0) return MX_OK;
  DNN_DISPATCH_HALF(dtype, T, k_act_bwd<T><<<grid_for(n), kThreads, 0, s>>>(act, (const T *)dy, (const T *)x, (T *)dx, n));
  return launched("activation gradient");
}

extern "C" mx_status mx_dnn_scale(cudaStream_t s, int dtype, const void *x, void *y, double scale,
                                  int64_t n) {
  if (n == 0) return MX_OK;
  DNN_DISPATCH_HALF(dtype, T, k_scale<T><<<grid_for(n), kThreads, 0, s>>>((const T *)x, (T *)y, scale, n));
  return launched("scale");
}

extern "C" mx_status mx_dnn_bn_finish(cudaStream_t s, int dtype, int64_t C, const void *mean,
                                      const void *istd, double eps, double mom, void *var_out,
                                      void *mm, void *mv) {
  if (C == 0) return MX_OK;
  DNN_DISPATCH(dtype, T, k_bn_finish<T><<<grid_for(C), kThreads, 0, s>>>(C, (const T *)mean, (const T *)istd, eps, mom, (T *)var_out, (T *)mm, (T *)mv));
  return launched("BatchNorm moving statistics");
}

extern "C" mx_status mx_dnn_bn_istd(cudaStream_t s, int dtype, int64_t C, const void *var,
                                     double eps, void *istd) {
  if (C == 0) return MX_OK;
  DNN_DISPATCH(dtype, T, k_bn_istd<T><<<grid_for(C), kThreads, 0, s>>>(C, (const T *)var, eps, (T *)istd));
  return launched("BatchNorm inverse std");
}

extern "C" mx_status mx_dnn_bn_bwd_stats(cudaStream_t s, int dtype, int pdtype, const void *x,
                                         const void *dy,
                                         const void *mean, const void *var, const void *gamma,
                                         double eps, int fix, int64_t outer, int64_t C,
                                         int64_t inner, void *dx, void *dg, void *db) {
  if (C == 0) return MX_OK;
  int64_t g = C > 65535 ? 65535 : C;
  if ((dtype == MX_FLOAT16 || dtype == MX_BFLOAT16) && pdtype == MX_FLOAT32) {
    DNN_DISPATCH_HALF(dtype, T, k_bn_bwd_stats<T, float><<<g, kThreads, 0, s>>>((const T *)x, (const T *)dy, (const float *)mean, (const float *)var, (const float *)gamma, eps, fix, outer, C, inner, (T *)dx, (float *)dg, (float *)db));
  } else {
    if (pdtype != dtype) return bad_dtype(pdtype);
    DNN_DISPATCH(dtype, T, k_bn_bwd_stats<T, T><<<g, kThreads, 0, s>>>((const T *)x, (const T *)dy, (const T *)mean, (const T *)var, (const T *)gamma, eps, fix, outer, C, inner, (T *)dx, (T *)dg, (T *)db));
  }
  return launched("BatchNorm gradient");
}

extern "C" mx_status mx_dnn_maxpool_bwd(cudaStream_t s, int dtype, const mx_dnn_pool *g,
                                        const void *x, const void *y, const void *dy, void *dx) {
  int64_t nx = g->N * g->C * g->H * g->W, ny = g->N * g->C * g->Ho * g->Wo;
  if (nx == 0) return MX_OK;
  cudaError_t e = cudaMemsetAsync(dx, 0, (size_t)nx * mx_cu_dtype_size(dtype), s);
  if (e != cudaSuccess) return mx_cuda_check(e, "cudaMemsetAsync");
  if (ny == 0) return MX_OK;
  DNN_DISPATCH_HALF(dtype, T, k_maxpool_bwd<T><<<grid_for(ny), kThreads, 0, s>>>(*g, (const T *)x, (const T *)y, (const T *)dy, (T *)dx));
  return launched("max pooling gradient");
}
