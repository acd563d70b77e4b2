/*
 * basic.cu -- fill, cast and add (dst += src) on the device: what the
 * backend table's fill/cast/add entries run (device.c).  Values follow the
 * CPU's rules in src/engine/dtype.c: conversions go through double, float to
 * integer saturates and maps NaN to 0, int64 to a narrower integer clamps
 * exactly, float16 and bfloat16 round to nearest even (bfloat16 with the
 * engine's own bit-pattern rounding, include/mx-bf16.h, so NaN payloads
 * match the CPU's too).
 *
 * Launchers queue one grid-stride kernel on the caller's stream and never
 * wait.  UNVERIFIED on a GPU until tools/gpu-check.sh has run.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <string.h>

#include "../../include/mx-bf16.h"
#include "../cuda-common.h"

namespace {

const int kThreads = 256;
const int64_t kMaxBlocks = 65536;

int blocks_for(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return (int)(b < kMaxBlocks ? b : kMaxBlocks);
}

/* ------------------------------------------------ conversions via double */

template <typename T> __host__ __device__ inline double to_f64(T v) { return (double)v; }
template <> __host__ __device__ inline double to_f64<__half>(__half v) {
  return (double)__half2float(v);
}
/* bfloat16 through its bits (mx-bf16.h): exact widening */
__host__ __device__ inline float bf16_to_f32(__nv_bfloat16 v) {
  uint32_t b = mx_bf16_to_bits(static_cast<__nv_bfloat16_raw>(v).x);
  float f;
  memcpy(&f, &b, 4);
  return f;
}
__host__ __device__ inline __nv_bfloat16 f32_to_bf16(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  __nv_bfloat16_raw r;
  r.x = mx_bf16_from_bits(b);
  return __nv_bfloat16(r);
}
template <> __host__ __device__ inline double to_f64<__nv_bfloat16>(__nv_bfloat16 v) {
  return (double)bf16_to_f32(v);
}

/* float to integer: NaN -> 0, saturating (dtype.c's MX_F2I) */
template <typename T> __host__ __device__ inline T sat(double v, double lo, double hi) {
  return v != v ? (T)0 : v <= lo ? (T)lo : v >= hi ? (T)hi : (T)v;
}

template <typename T> __host__ __device__ inline T from_f64(double v) { return (T)v; }
template <> __host__ __device__ inline __half from_f64<__half>(double v) {
  return __float2half_rn((float)v);
}
template <> __host__ __device__ inline __nv_bfloat16 from_f64<__nv_bfloat16>(double v) {
  return f32_to_bf16((float)v);
}
template <> __host__ __device__ inline uint8_t from_f64<uint8_t>(double v) {
  return sat<uint8_t>(v, 0.0, 255.0);
}
template <> __host__ __device__ inline int8_t from_f64<int8_t>(double v) {
  return sat<int8_t>(v, -128.0, 127.0);
}
template <> __host__ __device__ inline int32_t from_f64<int32_t>(double v) {
  return sat<int32_t>(v, (double)INT32_MIN, (double)INT32_MAX);
}
/* (double)INT64_MAX is 2^63, which int64 cannot hold: the bounds are integers */
template <> __host__ __device__ inline int64_t from_f64<int64_t>(double v) {
  return v != v ? 0 : v <= -9223372036854775808.0 ? INT64_MIN : v >= 9223372036854775808.0 ? INT64_MAX
                                                                                         : (int64_t)v;
}

template <typename T> struct is_int { static const bool value = false; };
template <> struct is_int<uint8_t> { static const bool value = true; };
template <> struct is_int<int8_t> { static const bool value = true; };
template <> struct is_int<int32_t> { static const bool value = true; };
template <> struct is_int<int64_t> { static const bool value = true; };

template <typename T> __device__ inline T clamp_i64(int64_t v, int64_t lo, int64_t hi) {
  return (T)(v < lo ? lo : v > hi ? hi : v);
}

template <typename S, typename D> __device__ inline D convert(S v) {
  if constexpr (sizeof(S) == 8 && is_int<S>::value && is_int<D>::value) {
    /* int64 to an integer: exact clamp, not through double */
    if constexpr (sizeof(D) == 8) return (D)v;
    else if constexpr (sizeof(D) == 4) return clamp_i64<D>((int64_t)v, INT32_MIN, INT32_MAX);
    else if constexpr (D(-1) < D(0)) return clamp_i64<D>((int64_t)v, -128, 127);
    else return clamp_i64<D>((int64_t)v, 0, 255);
  } else {
    return from_f64<D>(to_f64<S>(v));
  }
}

/* ------------------------------------------------------------- kernels */

template <typename T> __global__ void fill_k(T *p, int64_t n, T v) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    p[i] = v;
}

template <typename S, typename D> __global__ void cast_k(const S *s, D *d, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    d[i] = convert<S, D>(s[i]);
}

template <typename T> __device__ inline T add1(T a, T b) { return (T)(a + b); }
template <> __device__ inline __half add1<__half>(__half a, __half b) {
  return __float2half_rn(__half2float(a) + __half2float(b));
}
template <> __device__ inline __nv_bfloat16 add1<__nv_bfloat16>(__nv_bfloat16 a, __nv_bfloat16 b) {
  return f32_to_bf16(bf16_to_f32(a) + bf16_to_f32(b));
}

template <typename T> __global__ void add_k(T *d, const T *s, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    d[i] = add1<T>(d[i], s[i]);
}

/* ------------------------------------------------------------ dispatch */

/* Calls f(T()) with T the C type of dtype; false for an unknown dtype. */
template <typename F> bool with_type(int dtype, F f) {
  switch (dtype) {
    case MX_FLOAT32: f(float()); return true;
    case MX_FLOAT64: f(double()); return true;
    case MX_FLOAT16: f(__half()); return true;
    case MX_BFLOAT16: f(__nv_bfloat16()); return true;
    case MX_UINT8: f(uint8_t()); return true;
    case MX_INT8: f(int8_t()); return true;
    case MX_INT32: f(int32_t()); return true;
    case MX_INT64: f(int64_t()); return true;
    default: return false;
  }
}

mx_status bad_dtype(int dtype, const char *what) {
  return mx_error(MX_ERR_DTYPE, "%s on the GPU: unsupported dtype %d", what, dtype);
}

}  // namespace

extern "C" mx_status mx_cu_fill(cudaStream_t stream, void *p, int dtype, int64_t n,
                                double value) {
  if (n <= 0) return MX_OK;
  bool ok = with_type(dtype, [&](auto t) {
    typedef decltype(t) T;
    fill_k<T><<<blocks_for(n), kThreads, 0, stream>>>((T *)p, n, from_f64<T>(value));
  });
  if (!ok) return bad_dtype(dtype, "fill");
  return mx_cuda_check(cudaGetLastError(), "fill kernel launch");
}

extern "C" mx_status mx_cu_cast(cudaStream_t stream, const void *src, int src_dtype,
                                void *dst, int dst_dtype, int64_t n) {
  if (n <= 0) return MX_OK;
  bool ok_dst = true;
  bool ok = with_type(src_dtype, [&](auto s) {
    typedef decltype(s) S;
    ok_dst = with_type(dst_dtype, [&](auto d) {
      typedef decltype(d) D;
      cast_k<S, D><<<blocks_for(n), kThreads, 0, stream>>>((const S *)src, (D *)dst, n);
    });
  });
  if (!ok) return bad_dtype(src_dtype, "cast");
  if (!ok_dst) return bad_dtype(dst_dtype, "cast");
  return mx_cuda_check(cudaGetLastError(), "cast kernel launch");
}

extern "C" mx_status mx_cu_add(cudaStream_t stream, void *dst, const void *src, int dtype,
                               int64_t n) {
  if (n <= 0) return MX_OK;
  bool ok = with_type(dtype, [&](auto t) {
    typedef decltype(t) T;
    add_k<T><<<blocks_for(n), kThreads, 0, stream>>>((T *)dst, (const T *)src, n);
  });
  if (!ok) return bad_dtype(dtype, "add");
  return mx_cuda_check(cudaGetLastError(), "add kernel launch");
}
