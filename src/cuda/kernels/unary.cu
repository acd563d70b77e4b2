/*
 * unary.cu -- element-wise ops of one array on the GPU, with
 * src/ops/unary.c's semantics: float32 with the float functions, float64
 * with the double ones, integers computed in double and converted back
 * saturating, except the ops exact on integers (abs, sign, negative,
 * square, relu, the rounding family, logical_not), which stay in the
 * integer type and wrap around like the CPU (uint8 negative is modulo 256).
 * Also clip, identity, zeros_like, ones_like and Cast.
 *
 * Gradients: float32 and float64, unary.c's formulas (including which of
 * x, y each reads: the others may be NULL).
 *
 * Differences from the CPU beyond rounding: float32 tanh uses CUDA's tanhf
 * (the CPU a polynomial within 3 ulp of it); libm and CUDA's math library
 * differ by a few ulp elsewhere.
 *
 * UNVERIFIED on a GPU: compiled for sm_90 only (see docs/gpu-kernels.md).
 */
#include "../kern-common.h"
#include "../../include/mx-unary-math.h"

#define KC_PI 3.14159265358979323846
#define KC_LN2 0.69314718055994530942
#define KC_LN10 2.30258509299404568402

/* wrap-around negation / product of signed integers (unary.c's WRAP) */
__device__ __forceinline__ int32_t kc_wrap_i32(uint64_t u) {
  uint32_t w = (uint32_t)u;
  return w <= (uint32_t)INT32_MAX ? (int32_t)w : (int32_t)(w - 2147483648u) + INT32_MIN;
}
__device__ __forceinline__ int64_t kc_wrap_i64(uint64_t u) {
  return u <= (uint64_t)INT64_MAX ? (int64_t)u
                                  : (int64_t)(u - 9223372036854775808ull) + INT64_MIN;
}
#define KC_WRAP(T, u) (sizeof(T) == 4 ? (T)kc_wrap_i32(u) : (T)kc_wrap_i64(u))
#define KC_WNEG(T, x) KC_WRAP(T, 0 - (uint64_t)(int64_t)(x))
#define KC_WMUL(T, x, y) KC_WRAP(T, (uint64_t)(int64_t)(x) * (uint64_t)(int64_t)(y))

/* gamma of a whole number by exact products (unary.c's gamma_whole) */
__device__ __forceinline__ double kc_gamma_whole(double x) {
  if (x < 1 || x > 30) return tgamma(x);
  double f = 1;
  for (int k = 2; k < (int)x; k++) f *= k;
  return f;
}

/* digamma as unary.c: recurrence to x >= 10, asymptotic series, reflection */
static __device__ double kc_digamma(double x) {
  if (x != x) return x;
  double r = 0;
  if (x <= 0) {
    if (x == floor(x)) return CUDART_NAN;
    r = -KC_PI / tan(KC_PI * x);
    x = 1 - x;
  }
  while (x < 10) {
    r -= 1 / x;
    x += 1;
  }
  double f = 1 / (x * x);
  double t = f * (-1.0 / 12 + f * (1.0 / 120 + f * (-1.0 / 252 + f * (1.0 / 240 + f * (-1.0 / 132)))));
  return r + log(x) - 0.5 / x + t;
}

/* ------------------------------------------------------- forward functors */

/* Math ops: float, double expressions; integers through double (IEXPR,
 * x a double) and saturated back. */
#define KC_UMATH_X(NAME, FEXPR, DEXPR, IEXPR)                                  \
  struct ku_##NAME {                                                          \
    __device__ __forceinline__ float operator()(float x) const { return FEXPR; } \
    __device__ __forceinline__ double operator()(double x) const { return DEXPR; } \
    template <class I> __device__ __forceinline__ I operator()(I xi) const {  \
      double x = (double)xi;                                                  \
      return mx_kc_sat<I>(IEXPR);                                             \
    }                                                                         \
  };
#define KC_UMATH(NAME, FEXPR, DEXPR) KC_UMATH_X(NAME, FEXPR, DEXPR, DEXPR)

/* Exact ops: float, double, uint8 and signed (T = int32_t/int64_t) forms. */
#define KC_UEXACT(NAME, FEXPR, DEXPR, UEXPR, IEXPR)                            \
  struct ku_##NAME {                                                          \
    __device__ __forceinline__ float operator()(float x) const { return FEXPR; } \
    __device__ __forceinline__ double operator()(double x) const { return DEXPR; } \
    __device__ __forceinline__ uint8_t operator()(uint8_t x) const { return UEXPR; } \
    template <class T> __device__ __forceinline__ T operator()(T x) const { return IEXPR; } \
  };

KC_UEXACT(abs, fabsf(x), fabs(x), x, (x < 0 ? KC_WNEG(T, x) : x))
KC_UEXACT(sign, (x > 0 ? 1.0f : x < 0 ? -1.0f : x), (x > 0 ? 1.0 : x < 0 ? -1.0 : x),
          (uint8_t)(x > 0), (T)((x > 0) - (x < 0)))
KC_UEXACT(negative, -x, -x, (uint8_t)(0u - (unsigned)x), KC_WNEG(T, x))
KC_UEXACT(square, x * x, x * x, (uint8_t)((unsigned)x * (unsigned)x), KC_WMUL(T, x, x))
KC_UEXACT(relu, (x <= 0 ? 0.0f : x), (x <= 0 ? 0.0 : x), x, (x > 0 ? x : (T)0))
KC_UEXACT(round, roundf(x), round(x), x, x)
KC_UEXACT(rint, rintf(x), rint(x), x, x)
KC_UEXACT(floor, floorf(x), floor(x), x, x)
KC_UEXACT(ceil, ceilf(x), ceil(x), x, x)
KC_UEXACT(trunc, truncf(x), trunc(x), x, x)
KC_UEXACT(fix, truncf(x), trunc(x), x, x)
KC_UEXACT(logical_not, (x == 0 ? 1.0f : 0.0f), (x == 0 ? 1.0 : 0.0), (uint8_t)(x == 0),
          (T)(x == 0))

/* the formulas: src/include/mx-unary-math.h (shared with src/ops/unary.c) */
#define UM_PI KC_PI
#define UM_LN2 KC_LN2
#define UM_LN10 KC_LN10
#define UM_DIGAMMA kc_digamma
#define UM_TANHF tanhf
MX_UNARY_MATH(KC_UMATH)
KC_UMATH_X(gamma, tgammaf(x), tgamma(x), kc_gamma_whole(x))
KC_UMATH_X(gammaln, lgammaf(x), lgamma(x), lgamma(x))

/* ------------------------------------------------------ gradient functors */

/* d = EXPR(g, x, y) in T; UX/UY: whether x/y are read. */
#define KC_UGRAD(NAME, UX, UY, EXPR)                                          \
  struct kd_##NAME {                                                          \
    static const int ux = UX, uy = UY;                                        \
    template <class T> __device__ __forceinline__ T operator()(T g, T x, T y) const { \
      (void)g; (void)x; (void)y;                                              \
      return (T)(EXPR);                                                       \
    }                                                                         \
  };
MX_UNARY_GRADS(KC_UGRAD)
/* zero gradients (sign, rounding, logical_not) */
#define KC_UGRAD_ZERO(NAME) KC_UGRAD(NAME, 0, 0, 0)
KC_UGRAD_ZERO(sign)
KC_UGRAD_ZERO(round)
KC_UGRAD_ZERO(rint)
KC_UGRAD_ZERO(floor)
KC_UGRAD_ZERO(ceil)
KC_UGRAD_ZERO(trunc)
KC_UGRAD_ZERO(fix)
KC_UGRAD_ZERO(logical_not)

template <class T, class F> struct kf_map {
  const T *x; T *y; F f;
  __device__ void operator()(int64_t i) const { y[i] = f(x[i]); }
};
template <class T, class F> struct kf_ugrad {
  const T *g, *x, *y; T *d; F f;
  __device__ void operator()(int64_t i) const { d[i] = f(g[i], x[i], y[i]); }
};

template <class F>
static mx_status un_fwd(const mx_op_ctx *c, mx_ndarray *const *in, mx_ndarray *const *out) {
  int64_t n = mx_cu_size(&out[0]->shape);
  MX_KC_NUM_SWITCH(out[0]->dtype, T, {
    return mx_kc_launch(MX_KC_STREAM(c), n,
                        kf_map<T, F>{MX_KC_PTR(in[0], T), MX_KC_PTR(out[0], T), F()});
  });
  return MX_OK;
}

template <class F>
static mx_status un_bwd(const mx_op_ctx *c, mx_ndarray *const *og, mx_ndarray *const *in,
                        mx_ndarray *const *out, mx_ndarray *const *ig, const int *req) {
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  int dt = ig[0]->dtype;
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64) return MX_KC_GRAD_DTYPE_ERROR(dt);
  int64_t n = mx_cu_size(&ig[0]->shape);
  MX_KC_FLOAT_SWITCH(dt, T, {
    const T *g = MX_KC_PTR(og[0], T);
    const T *x = F::ux ? MX_KC_PTR(in[0], T) : g;
    const T *y = F::uy ? MX_KC_PTR(out[0], T) : g;
    return mx_kc_launch(MX_KC_STREAM(c), n, kf_ugrad<T, F>{g, x, y, MX_KC_PTR(ig[0], T), F()});
  });
  return MX_OK;
}

#define KC_DEF_UNARY(NAME)                                                    \
  extern "C" mx_status mx_kc_un_##NAME(KARGS) {                               \
    UNUSED_KARGS;                                                             \
    return un_fwd<ku_##NAME>(c, in, out);                                     \
  }                                                                           \
  extern "C" mx_status mx_kc_un_grad_##NAME(BARGS) {                          \
    UNUSED_BARGS;                                                             \
    return un_bwd<kd_##NAME>(c, og, in, out, ig, req);                        \
  }
MX_KC_UNARY_OPS(KC_DEF_UNARY)

/* ------------------------------------------------------------------ clip */

static int p_clip_min = -1, p_clip_max = -1;

/* MXNet order: above a_max gives a_max, else below a_min gives a_min.
 * Integers compare against floor(a_max) / ceil(a_min) and write the
 * saturated bounds (unary.c). */
template <class T> struct kf_clip {
  const T *x; T *y; T lo, hi; int64_t lc, hc;
  __device__ void operator()(int64_t i) const {
    T v = x[i];
    if (mx_kc_isint<T>()) y[i] = (int64_t)v > hc ? hi : ((int64_t)v < lc ? lo : v);
    else y[i] = v > hi ? hi : (v < lo ? lo : v);
  }
};
template <class T> struct kf_clip_grad {
  const T *x, *g; T *d; T lo, hi;
  __device__ void operator()(int64_t i) const {
    T v = x[i];
    d[i] = (v > hi || v < lo) ? (T)0 : g[i];
  }
};

template <class T> static T clip_bound(double v) {
  if (!mx_kc_isint<T>()) return (T)v;
  if (sizeof(T) == 1) return (T)mx_kc_sat_u8(v);
  if (sizeof(T) == 4) return (T)mx_kc_sat_i32(v);
  return (T)mx_kc_sat_i64(v);
}

extern "C" mx_status mx_kc_clip(KARGS) {
  UNUSED_KARGS;
  MX_KC_PARAM(p_clip_min, "clip", "a_min");
  MX_KC_PARAM(p_clip_max, "clip", "a_max");
  double lo = p[p_clip_min].f, hi = p[p_clip_max].f;
  if (lo != lo) return mx_error(MX_ERR_ARG, "parameter 'a_min' must not be NaN");
  if (hi != hi) return mx_error(MX_ERR_ARG, "parameter 'a_max' must not be NaN");
  int64_t n = mx_cu_size(&out[0]->shape);
  int64_t hc = mx_kc_sat_i64(floor(hi)), lc = mx_kc_sat_i64(ceil(lo));
  MX_KC_NUM_SWITCH(out[0]->dtype, T, {
    kf_clip<T> f{MX_KC_PTR(in[0], T), MX_KC_PTR(out[0], T), clip_bound<T>(lo), clip_bound<T>(hi),
                 lc, hc};
    return mx_kc_launch(MX_KC_STREAM(c), n, f);
  });
  return MX_OK;
}

extern "C" mx_status mx_kc_clip_grad(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  MX_KC_PARAM(p_clip_min, "clip", "a_min");
  MX_KC_PARAM(p_clip_max, "clip", "a_max");
  int dt = ig[0]->dtype;
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64) return MX_KC_GRAD_DTYPE_ERROR(dt);
  int64_t n = mx_cu_size(&ig[0]->shape);
  MX_KC_FLOAT_SWITCH(dt, T, {
    kf_clip_grad<T> f{MX_KC_PTR(in[0], T), MX_KC_PTR(og[0], T), MX_KC_PTR(ig[0], T),
                      (T)p[p_clip_min].f, (T)p[p_clip_max].f};
    return mx_kc_launch(MX_KC_STREAM(c), n, f);
  });
  return MX_OK;
}

/* ------------------------------------------------------- copies and Cast */

static mx_status dev_copy(const mx_op_ctx *c, const mx_ndarray *src, mx_ndarray *dst) {
  size_t nb = (size_t)mx_cu_size(&dst->shape) * mx_cu_dtype_size(dst->dtype);
  if (nb && MX_PTR(src) != MX_PTR(dst))
    MX_CUDA_TRY(cudaMemcpyAsync(MX_PTR(dst), MX_PTR(src), nb, cudaMemcpyDeviceToDevice,
                                MX_KC_STREAM(c)));
  return MX_OK;
}

static int is_float_dt(int dt) { return dt == MX_FLOAT32 || dt == MX_FLOAT64 || dt == MX_FLOAT16 ||
                                     dt == MX_BFLOAT16; }

/* identity (also Reshape, Flatten, expand_dims, squeeze, BlockGrad and the
 * copy-forward loss heads): the same bytes, any dtype */
extern "C" mx_status mx_kc_identity(KARGS) {
  UNUSED_KARGS;
  return dev_copy(c, in[0], out[0]);
}
/* their backward: the output gradient itself (float dtypes) */
extern "C" mx_status mx_kc_identity_grad(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!is_float_dt(ig[0]->dtype)) return MX_KC_GRAD_DTYPE_ERROR(ig[0]->dtype);
  return dev_copy(c, og[0], ig[0]);
}
/* zeros_like/ones_like's gradient: zeros, float dtypes only (unary.c's
 * b_zero; the comparisons' and BlockGrad's zeros take any dtype) */
extern "C" mx_status mx_kc_grad_zeros_float(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!is_float_dt(ig[0]->dtype)) return MX_KC_GRAD_DTYPE_ERROR(ig[0]->dtype);
  return mx_cu_fill(MX_KC_STREAM(c), MX_PTR(ig[0]), ig[0]->dtype, mx_cu_size(&ig[0]->shape), 0.0);
}

extern "C" mx_status mx_kc_zeros_like(KARGS) {
  UNUSED_KARGS;
  return mx_cu_fill(MX_KC_STREAM(c), MX_PTR(out[0]), out[0]->dtype, mx_cu_size(&out[0]->shape), 0.0);
}
extern "C" mx_status mx_kc_ones_like(KARGS) {
  UNUSED_KARGS;
  return mx_cu_fill(MX_KC_STREAM(c), MX_PTR(out[0]), out[0]->dtype, mx_cu_size(&out[0]->shape), 1.0);
}
/* Cast: basic.cu's conversion (the engine's mx_convert semantics) */
extern "C" mx_status mx_kc_cast(KARGS) {
  UNUSED_KARGS;
  return mx_cu_cast(MX_KC_STREAM(c), MX_PTR(in[0]), in[0]->dtype, MX_PTR(out[0]), out[0]->dtype,
                    mx_cu_size(&out[0]->shape));
}
extern "C" mx_status mx_kc_cast_grad(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!is_float_dt(ig[0]->dtype)) return MX_KC_GRAD_DTYPE_ERROR(ig[0]->dtype);
  if (!is_float_dt(og[0]->dtype)) return MX_KC_GRAD_DTYPE_ERROR(og[0]->dtype);
  return mx_cu_cast(MX_KC_STREAM(c), MX_PTR(og[0]), og[0]->dtype, MX_PTR(ig[0]), ig[0]->dtype,
                    mx_cu_size(&ig[0]->shape));
}
