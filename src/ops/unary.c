/*
 * unary.c -- element-wise ops of one array: arithmetic (abs, sign, square,
 * negative, ...), exponentials and logarithms, trigonometric and hyperbolic
 * functions, rounding, activations (sigmoid, relu, softsign), gamma
 * functions, clip, hard_sigmoid, smooth_l1 (real dtypes only), copies
 * (identity, zeros_like, ones_like) and Cast.
 *
 * float32 uses the float functions of libm (expf, ...), float64 the double
 * ones; float16 is computed in float32 by the invoker.  Integer dtypes are
 * computed in double and converted back without undefined behaviour (NaN
 * gives 0, out-of-range values saturate), except the ops that are exact on
 * integers (abs, sign, negative, square, relu, clip, the rounding family,
 * logical_not and the copies), which stay in the integer type; negative,
 * abs and square wrap around like MXNet (uint8 negative is modulo 256).
 * sign(NaN) and relu(NaN) are NaN (R and numpy agree; MXNet gives 0 for sign).
 */
#include "../include/mx-op.h"
#include "../include/mx-unary-math.h"

#include <math.h>
#include <stdio.h>


/* Wrap-around negation and multiplication of signed integers (no overflow
 * UB: computed in uint64_t, converted back modulo 2^bits). */
static inline int32_t wrap_i32(uint64_t u) {
  uint32_t w = (uint32_t)u;
  return w <= (uint32_t)INT32_MAX ? (int32_t)w : (int32_t)(w - 2147483648u) + INT32_MIN;
}
static inline int64_t wrap_i64(uint64_t u) {
  return u <= (uint64_t)INT64_MAX ? (int64_t)u : (int64_t)(u - 9223372036854775808u) + INT64_MIN;
}
#define WRAP(T, u) (sizeof(T) == 4 ? (T)wrap_i32(u) : (T)wrap_i64(u))
#define WNEG(T, x) WRAP(T, 0 - (uint64_t)(int64_t)(x))
#define WMUL(T, x, y) WRAP(T, (uint64_t)(int64_t)(x) * (uint64_t)(int64_t)(y))

/* Vectorisation hint for the inner loops (no threads: those come from
 * MX_OMP_FOR only).  Elements are independent, and an output is either
 * disjoint from the input or the very same memory. */
#ifdef _OPENMP
#define MX_SIMD _Pragma("omp simd")
#else
#define MX_SIMD
#endif

/* Elements per block of the parallel loop. */
#define MAP_BLK 8192

/* One loop over n elements: x is the input element (as XT), EXPR the
 * output. */
#define MAP_X(TI, TO, XT, EXPR)                                              \
  do {                                                                       \
    const TI *a_ = (const TI *)MX_PTR(in[0]);                                \
    TO *o_ = (TO *)MX_PTR(out[0]);                                           \
    int64_t nb_ = (n_ + MAP_BLK - 1) / MAP_BLK;                              \
    MX_OMP_FOR(nt_)                                                          \
    for (int64_t b_ = 0; b_ < nb_; b_++) {                                   \
      int64_t i1_ = b_ * MAP_BLK + MAP_BLK < n_ ? b_ * MAP_BLK + MAP_BLK : n_; \
      MX_SIMD                                                                \
      for (int64_t i = b_ * MAP_BLK; i < i1_; i++) {                         \
        XT x = (XT)a_[i];                                                    \
        o_[i] = EXPR;                                                        \
      }                                                                      \
    }                                                                        \
  } while (0)

#define MAP(TI, TO, EXPR) MAP_X(TI, TO, TI, EXPR)
/* Integer input computed in double, converted back by SAT. */
#define MAP_D(TI, SAT, DEXPR) MAP_X(TI, TI, double, SAT(DEXPR))

#define BAD_DTYPE(t) \
  mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(t))

/* Math functions: float expression (x is float), double expression (x is
 * double) and the expression for integers (x is the element as a double). */
#define DEF_MATH_X(NAME, FEXPR, DEXPR, IEXPR, NTHREADS)                      \
  static mx_status k_##NAME(KARGS) {                                         \
    UNUSED_KARGS;                                                            \
    int64_t n_ = mx_ndarray_size(out[0]);                                    \
    int nt_ = NTHREADS;                                                      \
    (void)nt_;                                                               \
    switch (out[0]->dtype) {                                                 \
      case MX_FLOAT32: MAP(float, float, FEXPR); break;                      \
      case MX_FLOAT64: MAP(double, double, DEXPR); break;                    \
      case MX_UINT8: MAP_D(uint8_t, mx_sat_u8, IEXPR); break;                   \
      case MX_INT32: MAP_D(int32_t, mx_sat_i32, IEXPR); break;                  \
      case MX_INT64: MAP_D(int64_t, mx_sat_i64, IEXPR); break;                  \
      default: return BAD_DTYPE(out[0]->dtype);                              \
    }                                                                        \
    return MX_OK;                                                            \
  }
#define DEF_MATH(NAME, FEXPR, DEXPR) DEF_MATH_X(NAME, FEXPR, DEXPR, DEXPR, mx_par_threads(n_))

/* gamma of a whole number: (x-1)! by exact products (libm's tgamma may be
 * an ulp off, which truncation to an integer would turn into 12! - 1);
 * beyond 30 the result saturates every integer dtype anyway. */
static inline double gamma_whole(double x) {
  if (x < 1 || x > 30) return tgamma(x);
  double f = 1;
  for (int k = 2; k < (int)x; k++) f *= k;
  return f;
}

/* Ops exact on integers: float, double, uint8 and signed-integer (T is
 * int32_t or int64_t) expressions. */
#define DEF_EXACT(NAME, FEXPR, DEXPR, UEXPR, IEXPR)                          \
  static mx_status k_##NAME(KARGS) {                                         \
    UNUSED_KARGS;                                                            \
    int64_t n_ = mx_ndarray_size(out[0]);                                    \
    int nt_ = mx_par_threads(n_);                                            \
    (void)nt_;                                                               \
    switch (out[0]->dtype) {                                                 \
      case MX_FLOAT32: MAP(float, float, FEXPR); break;                      \
      case MX_FLOAT64: MAP(double, double, DEXPR); break;                    \
      case MX_UINT8: MAP(uint8_t, uint8_t, UEXPR); break;                    \
      case MX_INT32: { typedef int32_t T; MAP(T, T, IEXPR); } break;         \
      case MX_INT64: { typedef int64_t T; MAP(T, T, IEXPR); } break;         \
      default: return BAD_DTYPE(out[0]->dtype);                              \
    }                                                                        \
    return MX_OK;                                                            \
  }

#define PI_D 3.14159265358979323846

/* float tanh, a few times faster than libm's tanhf and within 3 ulp:
 * an odd Taylor polynomial below 0.625, 1 - 2/(exp(2|x|) + 1) above
 * (computed for every x and selected without a branch; NaN propagates). */
static inline float tanh_f(float x) {
  float ax = fabsf(x), z = x * x;
  float p = 6404582.0f / 10854718875.0f;
  p = p * z - 929569.0f / 638512875.0f;
  p = p * z + 21844.0f / 6081075.0f;
  p = p * z - 1382.0f / 155925.0f;
  p = p * z + 62.0f / 2835.0f;
  p = p * z - 17.0f / 315.0f;
  p = p * z + 2.0f / 15.0f;
  p = p * z - 1.0f / 3.0f;
  float small = x + x * z * p;
  float e = expf(2.0f * (ax > 9.0f ? 9.0f : ax));   /* tanh(9) is 1.0f */
  float big = copysignf(1.0f - 2.0f / (e + 1.0f), x);
  return ax < 0.625f ? small : big;
}

/* ------------------------------------------------------ exact on integers */

DEF_EXACT(abs, fabsf(x), fabs(x), x, (x < 0 ? WNEG(T, x) : x))
DEF_EXACT(sign, (x > 0 ? 1.0f : x < 0 ? -1.0f : x), (x > 0 ? 1.0 : x < 0 ? -1.0 : x),
          (uint8_t)(x > 0), (T)((x > 0) - (x < 0)))
DEF_EXACT(negative, -x, -x, (uint8_t)(0u - (unsigned)x), WNEG(T, x))
DEF_EXACT(square, x * x, x * x, (uint8_t)((unsigned)x * (unsigned)x), WMUL(T, x, x))
DEF_EXACT(relu, (x <= 0 ? 0.0f : x), (x <= 0 ? 0.0 : x), x,
          (x > 0 ? x : (T)0))
DEF_EXACT(round, roundf(x), round(x), x, x)
DEF_EXACT(rint, rintf(x), rint(x), x, x)
DEF_EXACT(floor, floorf(x), floor(x), x, x)
DEF_EXACT(ceil, ceilf(x), ceil(x), x, x)
DEF_EXACT(trunc, truncf(x), trunc(x), x, x)
DEF_EXACT(fix, truncf(x), trunc(x), x, x)
DEF_EXACT(logical_not, (x == 0 ? 1.0f : 0.0f), (x == 0 ? 1.0 : 0.0), (uint8_t)(x == 0),
          (T)(x == 0))

/* ---------------------------------------------------------- math (double) */

/* the formulas: src/include/mx-unary-math.h (the CUDA kernels share them) */
#define UM_PI PI_D
#define UM_LN2 LN2_D
#define UM_LN10 LN10_D
#define UM_DIGAMMA mx_digamma
#define UM_TANHF tanh_f
MX_UNARY_MATH(DEF_MATH)
DEF_MATH_X(gamma, tgammaf(x), tgamma(x), gamma_whole(x), mx_par_threads(n_))
/* lgamma may write the global signgam: one thread */
DEF_MATH_X(gammaln, lgammaf(x), lgamma(x), lgamma(x), 1)

/* ------------------------------------------------------------------ clip */

enum { CLIP_A_MIN, CLIP_A_MAX, CLIP_NPARAMS };
enum { CAST_DTYPE, CAST_NPARAMS };

static mx_status k_clip(KARGS) {
  UNUSED_KARGS;
  int64_t n_ = mx_ndarray_size(out[0]);
  int nt_ = mx_par_threads(n_);   /* read by MAP's MX_OMP_FOR */
  (void)nt_;                      /* unused in a build without OpenMP */
  double lo = p[CLIP_A_MIN].f, hi = p[CLIP_A_MAX].f;
  if (lo != lo) return mx_error(MX_ERR_ARG, "parameter 'a_min' must not be NaN");
  if (hi != hi) return mx_error(MX_ERR_ARG, "parameter 'a_max' must not be NaN");
  /* MXNet order: above a_max gives a_max, else below a_min gives a_min;
   * NaN compares false and stays NaN. */
  switch (out[0]->dtype) {
    case MX_FLOAT32: {
      const float flo = (float)lo, fhi = (float)hi;
      MAP(float, float, (x > fhi ? fhi : (x < flo ? flo : x)));
    } break;
    case MX_FLOAT64:
      MAP(double, double, (x > hi ? hi : (x < lo ? lo : x)));
      break;
    default: {
      /* integer x: x > a_max <=> x > floor(a_max); x < a_min <=> x < ceil(a_min);
       * the bounds written are a_min, a_max converted to the dtype */
      const int64_t hc = mx_sat_i64(floor(hi)), lc = mx_sat_i64(ceil(lo));
      switch (out[0]->dtype) {
        case MX_UINT8: {
          const uint8_t hv = mx_sat_u8(hi), lv = mx_sat_u8(lo);
          MAP(uint8_t, uint8_t, ((int64_t)x > hc ? hv : ((int64_t)x < lc ? lv : x)));
        } break;
        case MX_INT32: {
          const int32_t hv = mx_sat_i32(hi), lv = mx_sat_i32(lo);
          MAP(int32_t, int32_t, ((int64_t)x > hc ? hv : ((int64_t)x < lc ? lv : x)));
        } break;
        case MX_INT64: {
          const int64_t hv = mx_sat_i64(hi), lv = mx_sat_i64(lo);
          MAP(int64_t, int64_t, (x > hc ? hv : (x < lc ? lv : x)));
        } break;
        default: return BAD_DTYPE(out[0]->dtype);
      }
    }
  }
  return MX_OK;
}

/* ------------------------------------------- hard_sigmoid and smooth_l1 */

enum { HS_ALPHA, HS_BETA, HS_NPARAMS };
enum { SL1_SCALAR, SL1_NPARAMS };

/* FLOAT_MAP(EXPR): out = EXPR in x (float32 or float64 as T), else a dtype
 * error; for the ops MXNet defines on real types only. */
#define FLOAT_MAP(EXPR)                                                      \
  int64_t n_ = mx_ndarray_size(out[0]);                                      \
  int nt_ = mx_par_threads(n_);                                              \
  (void)nt_;                                                                 \
  switch (out[0]->dtype) {                                                   \
    case MX_FLOAT32: { typedef float T; MAP(T, T, EXPR); } break;            \
    case MX_FLOAT64: { typedef double T; MAP(T, T, EXPR); } break;           \
    default: return BAD_DTYPE(out[0]->dtype);                                \
  }                                                                          \
  return MX_OK

/* max(0, min(1, alpha*x + beta)) */
static mx_status k_hard_sigmoid(KARGS) {
  UNUSED_KARGS;
  const double a = p[HS_ALPHA].f, b = p[HS_BETA].f;
  FLOAT_MAP(((T)a * x + (T)b > (T)1 ? (T)1 : ((T)a * x + (T)b < (T)0 ? (T)0 : (T)a * x + (T)b)));
}

/* MXNet's smooth_l1_loss with sigma = scalar: 0.5*(sigma*x)^2 where
 * |x| < 1/sigma^2, else |x| - 0.5/sigma^2 */
static mx_status k_smooth_l1(KARGS) {
  UNUSED_KARGS;
  const double bsq = p[SL1_SCALAR].f * p[SL1_SCALAR].f, ib = 1.0 / bsq;
  FLOAT_MAP((x > (T)ib ? x - (T)(0.5 * ib) : x < -(T)ib ? -x - (T)(0.5 * ib) : (T)0.5 * x * x * (T)bsq));
}

/* ------------------------------------------------------- copies and Cast */

/* identity, zeros_like, ones_like and Cast handle every dtype (float16
 * included) themselves. */
static mx_status k_identity(KARGS) {
  UNUSED_KARGS;
  void *src = MX_PTR(in[0]), *dst = MX_PTR(out[0]);
  if (src != dst) memmove(dst, src, mx_ndarray_nbytes(out[0]));
  return MX_OK;
}

static mx_status k_zeros_like(KARGS) {
  UNUSED_KARGS;
  return mx_ndarray_fill(out[0], 0.0);
}

static mx_status k_ones_like(KARGS) {
  UNUSED_KARGS;
  return mx_ndarray_fill(out[0], 1.0);
}

/* Cast, amp_cast and amp_multicast: output k is input k converted */
static mx_status k_cast(KARGS) {
  UNUSED_KARGS;
  for (int k = 0; k < nout; k++)
    if (MX_PTR(in[k]) != MX_PTR(out[k]) || in[k]->dtype != out[k]->dtype)
      mx_convert(MX_PTR(in[k]), in[k]->dtype, MX_PTR(out[k]), out[k]->dtype,
                 mx_ndarray_size(out[k]));
  return MX_OK;
}

/* amp_cast (MXNet): float32, float16 and bfloat16 inputs become dtype,
 * others keep theirs */
static int amp_float(int t) { return t == MX_FLOAT32 || t == MX_FLOAT16 || t == MX_BFLOAT16; }
static mx_status type_amp_cast(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nin; (void)nout;
  if (in[0] >= 0) out[0] = amp_float(in[0]) ? (int)p[CAST_DTYPE].i : in[0];
  return MX_OK;
}

/* amp_multicast: the float32/float16/bfloat16 inputs become the widest of
 * them (float32 when one is float32), or with cast_narrow the narrowest
 * (float16 or bfloat16 when one is); others keep their dtype */
enum { AMC_NUM_OUTPUTS, AMC_CAST_NARROW, AMC_NPARAMS };
static mx_status type_amp_multicast(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nout;
  int narrow = (int)p[AMC_CAST_NARROW].i, t = narrow ? MX_FLOAT32 : in[0];
  for (int k = 0; k < nin; k++) {
    if (in[k] < 0) return MX_OK;
    if (!narrow && in[k] == MX_FLOAT32) t = MX_FLOAT32;
    else if (narrow && (in[k] == MX_FLOAT16 || in[k] == MX_BFLOAT16)) t = in[k];
  }
  for (int k = 0; k < nin; k++) out[k] = amp_float(in[k]) ? t : in[k];
  return MX_OK;
}

/* input names data_0, data_1, ... */
static int list_amp_multicast(const mx_param_value *p, const char **names, int max) {
  static char buf[MX_MAX_INPUTS][16];
  int n = (int)p[AMC_NUM_OUTPUTS].i;
  for (int k = 0; k < n && k < max && k < MX_MAX_INPUTS; k++) {
    if (!buf[k][0]) snprintf(buf[k], sizeof buf[k], "data_%d", k);
    names[k] = buf[k];
  }
  return n;
}

static mx_status type_cast(const mx_param_value *p, int nin, int *in, int nout,
                           int *out) {
  (void)nin;
  (void)in;
  (void)nout;
  out[0] = (int)p[CAST_DTYPE].i;
  return MX_OK;
}

/* output k has input k's shape */
static mx_status shape_multicast(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                 mx_shape *out) {
  for (int k = 0; k < nin && k < nout; k++) {
    mx_status rc = mx_infer_shape_same(p, 1, in + k, 1, out + k);
    if (rc) return rc;
  }
  return MX_OK;
}

/* ------------------------------------------------------------- gradients */

/* Backward kernels write d(loss)/dx = og * f'(x).  Where f' is cheaper from
 * the output y (exp, sqrt, rsqrt, tan, tanh, sigmoid, relu, expm1,
 * reciprocal, cbrt) only the output is declared needed, so the memory
 * planner may free (or overwrite in place) the input.  Gradients are float32
 * and float64 only (identity, Cast and the zero-gradient ops, which compute
 * nothing, take float16 too); integer dtypes are an error. */


/* Digamma psi(x) = d/dx log|gamma(x)|: upward recurrence to x >= 10, then
 * the asymptotic series (error below 1e-14); reflection for x <= 0 (poles
 * at 0, -1, -2, ... give NaN). */
static double digamma_pos(double x) {
  double r = 0;
  while (x < 10) {
    r -= 1 / x;
    x += 1;
  }
  double f = 1 / (x * x);
  double t = f * (-1.0 / 12 + f * (1.0 / 120 + f * (-1.0 / 252 + f * (1.0 / 240 + f * (-1.0 / 132)))));
  return r + log(x) - 0.5 / x + t;
}
double mx_digamma(double x) {
  if (x != x) return x;
  if (x <= 0) {
    if (x == floor(x)) return NAN;
    return digamma_pos(1 - x) - PI_D / tan(PI_D * x);
  }
  return digamma_pos(x);
}

#define LN2_D 0.69314718055994530942
#define LN10_D 2.30258509299404568402

/* d = EXPR in g (output gradient), x (input) and y (output), all of type T;
 * UX/UY say whether x/y are read (the others are NULL). */
#define UGRAD_LOOP(TT, UX, UY, EXPR)                                         \
  do {                                                                       \
    typedef TT T;                                                            \
    const T *G_ = MX_DATA(og[0], T);                                         \
    const T *X_ = (UX) ? MX_DATA(in[0], T) : G_;                             \
    const T *Y_ = (UY) ? MX_DATA(out[0], T) : G_;                            \
    T *D_ = MX_DATA(ig[0], T);                                               \
    int64_t n_ = mx_ndarray_size(ig[0]);                                     \
    int nt_ = mx_par_threads(n_);                                            \
    (void)nt_;                                                               \
    MX_OMP_FOR(nt_)                                                          \
    for (int64_t i = 0; i < n_; i++) {                                       \
      T g = G_[i], x = X_[i], y = Y_[i];                                     \
      (void)x; (void)y;                                                      \
      D_[i] = (T)(EXPR);                                                     \
    }                                                                        \
  } while (0)

#define DEF_UGRAD(NAME, UX, UY, EXPR)                                        \
  static mx_status b_##NAME(BARGS) {                                         \
    UNUSED_BARGS;                                                            \
    if (req[0] != MX_REQ_WRITE) return MX_OK;                                \
    switch (ig[0]->dtype) {                                                  \
      case MX_FLOAT32: UGRAD_LOOP(float, UX, UY, EXPR); break;               \
      case MX_FLOAT64: UGRAD_LOOP(double, UX, UY, EXPR); break;              \
      default: return grad_dtype_error(ig[0]->dtype);                        \
    }                                                                        \
    return MX_OK;                                                            \
  }

MX_UNARY_GRADS(DEF_UGRAD)

/* clip (MXNet): the gradient passes where a_min <= x <= a_max (NaN too),
 * else 0. */
static mx_status b_clip(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  double lo = p[CLIP_A_MIN].f, hi = p[CLIP_A_MAX].f;
  switch (ig[0]->dtype) {
    case MX_FLOAT32: {
      const float flo = (float)lo, fhi = (float)hi;
      UGRAD_LOOP(float, 1, 0, ((x > fhi || x < flo) ? 0.0f : g));
    } break;
    case MX_FLOAT64: UGRAD_LOOP(double, 1, 0, ((x > hi || x < lo) ? 0.0 : g)); break;
    default: return grad_dtype_error(ig[0]->dtype);
  }
  return MX_OK;
}

/* FLOAT_GRAD(EXPR): the input gradient EXPR in g, x and y (T float32/64) */
#define FLOAT_GRAD(EXPR)                                                     \
  if (req[0] != MX_REQ_WRITE) return MX_OK;                                  \
  switch (ig[0]->dtype) {                                                    \
    case MX_FLOAT32: UGRAD_LOOP(float, 1, 0, EXPR); break;                   \
    case MX_FLOAT64: UGRAD_LOOP(double, 1, 0, EXPR); break;                  \
    default: return grad_dtype_error(ig[0]->dtype);                          \
  }                                                                          \
  return MX_OK

/* hard_sigmoid: alpha where 0 < alpha*x + beta < 1, else 0 (MXNet) */
static mx_status b_hard_sigmoid(BARGS) {
  UNUSED_BARGS;
  const double a = p[HS_ALPHA].f, b = p[HS_BETA].f;
  FLOAT_GRAD(((T)a * x + (T)b > (T)0 && (T)a * x + (T)b < (T)1 ? g * (T)a : (T)0));
}

/* smooth_l1: sigma^2 * x where |x| < 1/sigma^2, else sign(x) */
static mx_status b_smooth_l1(BARGS) {
  UNUSED_BARGS;
  const double bsq = p[SL1_SCALAR].f * p[SL1_SCALAR].f, ib = 1.0 / bsq;
  FLOAT_GRAD((x > (T)ib ? g : x < -(T)ib ? -g : g * x * (T)bsq));
}

/* identity: the output gradient itself (any float dtype) */
static mx_status b_identity(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  void *src = MX_PTR(og[0]), *dst = MX_PTR(ig[0]);
  if (src != dst) memmove(dst, src, mx_ndarray_nbytes(ig[0]));
  return MX_OK;
}

/* sign, rounding, logical_not, zeros_like, ones_like: exact zeros */
static mx_status b_zero(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  return mx_ndarray_fill(ig[0], 0.0);
}

/* Cast: the output gradient converted back to the input's dtype */
static mx_status b_cast(BARGS) {
  UNUSED_BARGS;
  for (int k = 0; k < nin; k++) {
    if (req[k] != MX_REQ_WRITE) continue;
    if (!mx_dtype_is_float(ig[k]->dtype)) return grad_dtype_error(ig[k]->dtype);
    if (!mx_dtype_is_float(og[k]->dtype)) return grad_dtype_error(og[k]->dtype);
    mx_convert(MX_PTR(og[k]), og[k]->dtype, MX_PTR(ig[k]), ig[k]->dtype, mx_ndarray_size(ig[k]));
  }
  return MX_OK;
}

/* What each backward reads: the input (X), the output (Y),
 * both, only the output gradient (G), or nothing at all (zero gradients). */
static void deps_set(int nin, int nout, unsigned char *ni, unsigned char *no,
                     unsigned char *ng, int x, int y, int g) {
  for (int j = 0; j < nin; j++) ni[j] = (unsigned char)x;
  for (int k = 0; k < nout; k++) {
    no[k] = (unsigned char)y;
    ng[k] = (unsigned char)g;
  }
}
#define DEF_DEPS(NAME, X, Y, G)                                              \
  static void deps_##NAME(const mx_param_value *p, int nin, int nout,        \
                          unsigned char *ni, unsigned char *no, unsigned char *ng) { \
    (void)p;                                                                 \
    deps_set(nin, nout, ni, no, ng, X, Y, G);                                \
  }
DEF_DEPS(x, 1, 0, 1)
DEF_DEPS(y, 0, 1, 1)
DEF_DEPS(xy, 1, 1, 1)
DEF_DEPS(g, 0, 0, 1)
DEF_DEPS(none, 0, 0, 0)

/* ------------------------------------------------------------ registry */

static const char *const in_data[] = {"data", NULL};

static const mx_param_desc p_clip[CLIP_NPARAMS] = {
  [CLIP_A_MIN] = {"a_min", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Minimum value."},
  [CLIP_A_MAX] = {"a_max", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Maximum value."},
};
static const mx_param_desc p_cast[CAST_NPARAMS] = {
  [CAST_DTYPE] = {"dtype", MX_PARAM_DTYPE, MX_PF_REQUIRED, NULL, NULL, "The output dtype."},
};

static const mx_param_desc p_amp_multicast[AMC_NPARAMS] = {
  [AMC_NUM_OUTPUTS] = {"num_outputs", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL,
   "Number of input/output pairs cast to the widest type."},
  [AMC_CAST_NARROW] = {"cast_narrow", MX_PARAM_BOOL, 0, "False", NULL, "Whether to cast to the narrowest type instead."},
};
static const mx_param_desc p_hard_sigmoid[HS_NPARAMS] = {
  [HS_ALPHA] = {"alpha", MX_PARAM_FLOAT, 0, "0.2", NULL, "Slope of hard sigmoid."},
  [HS_BETA] = {"beta", MX_PARAM_FLOAT, 0, "0.5", NULL, "Bias of hard sigmoid."},
};
static const mx_param_desc p_smooth_l1[SL1_NPARAMS] = {
  [SL1_SCALAR] = {"scalar", MX_PARAM_FLOAT, 0, "1", NULL, "sigma: the quadratic part covers |x| < 1/sigma^2."},
};

/* BW, DEPS: backward kernel and what it reads (see the gradient section). */
#define UNARY(NAME, A1, DOC, BW, DEPS)                                        \
  {.name = #NAME, .aliases = {A1}, .doc = DOC, .num_inputs = 1,               \
   .input_names = in_data, .num_outputs = 1,                                  \
   .infer_shape = mx_infer_shape_same, .cpu = k_##NAME, .backward = BW,       \
   .flags = MX_OPF_INPLACE, .backward_deps = DEPS}
#define UNARY_ANY(NAME, A1, DOC, BW, DEPS)                                    \
  {.name = #NAME, .aliases = {A1}, .doc = DOC, .num_inputs = 1,               \
   .input_names = in_data, .num_outputs = 1,                                  \
   .infer_shape = mx_infer_shape_same, .cpu = k_##NAME, .backward = BW,       \
   .flags = MX_OPF_INPLACE | MX_OPF_F16, .backward_deps = DEPS}

const mx_op mx_ops_unary[] = {
  UNARY(abs, NULL, "Absolute value, element-wise.", b_abs, deps_x),
  UNARY(sign, NULL, "Sign (-1, 0 or 1), element-wise; NaN stays NaN.", b_zero, deps_none),
  UNARY(sqrt, NULL, "Square root, element-wise.", b_sqrt, deps_y),
  UNARY(rsqrt, NULL, "Reciprocal square root 1/sqrt(x), element-wise.", b_rsqrt, deps_y),
  UNARY(square, NULL, "Square, element-wise.", b_square, deps_x),
  UNARY(exp, NULL, "Exponential, element-wise.", b_exp, deps_y),
  UNARY(log, NULL, "Natural logarithm, element-wise.", b_log, deps_x),
  UNARY(log1p, NULL, "log(1 + x), element-wise, accurate for small x.", b_log1p, deps_x),
  UNARY(expm1, NULL, "exp(x) - 1, element-wise, accurate for small x.", b_expm1, deps_y),
  UNARY(log2, NULL, "Base-2 logarithm, element-wise.", b_log2, deps_x),
  UNARY(log10, NULL, "Base-10 logarithm, element-wise.", b_log10, deps_x),
  UNARY(sin, NULL, "Sine, element-wise.", b_sin, deps_x),
  UNARY(cos, NULL, "Cosine, element-wise.", b_cos, deps_x),
  UNARY(tan, NULL, "Tangent, element-wise.", b_tan, deps_y),
  UNARY(arcsin, NULL, "Inverse sine, element-wise.", b_arcsin, deps_x),
  UNARY(arccos, NULL, "Inverse cosine, element-wise.", b_arccos, deps_x),
  UNARY(arctan, NULL, "Inverse tangent, element-wise.", b_arctan, deps_x),
  UNARY(sinh, NULL, "Hyperbolic sine, element-wise.", b_sinh, deps_x),
  UNARY(cosh, NULL, "Hyperbolic cosine, element-wise.", b_cosh, deps_x),
  UNARY(tanh, NULL, "Hyperbolic tangent, element-wise.", b_tanh, deps_y),
  UNARY(arcsinh, NULL, "Inverse hyperbolic sine, element-wise.", b_arcsinh, deps_x),
  UNARY(arccosh, NULL, "Inverse hyperbolic cosine, element-wise.", b_arccosh, deps_x),
  UNARY(arctanh, NULL, "Inverse hyperbolic tangent, element-wise.", b_arctanh, deps_x),
  UNARY(sigmoid, NULL, "Logistic sigmoid 1/(1 + exp(-x)), element-wise.", b_sigmoid, deps_y),
  UNARY(relu, NULL, "Rectified linear unit max(x, 0), element-wise.", b_relu, deps_y),
  UNARY(softsign, NULL, "Softsign x/(1 + |x|), element-wise.", b_softsign, deps_x),
  UNARY(round, NULL, "Round to the nearest integer, halves away from zero, element-wise.", b_zero, deps_none),
  UNARY(rint, NULL, "Round to the nearest integer, halves to even (as R's round), element-wise.", b_zero, deps_none),
  UNARY(floor, NULL, "Largest integer not greater than x, element-wise.", b_zero, deps_none),
  UNARY(ceil, NULL, "Smallest integer not less than x, element-wise.", b_zero, deps_none),
  UNARY(trunc, NULL, "Integer part of x (rounded towards zero), element-wise.", b_zero, deps_none),
  UNARY(fix, NULL, "Round towards zero, element-wise.", b_zero, deps_none),
  UNARY(negative, NULL, "Negation -x, element-wise.", b_negative, deps_g),
  UNARY(reciprocal, NULL, "Reciprocal 1/x, element-wise.", b_reciprocal, deps_y),
  UNARY(cbrt, NULL, "Cube root, element-wise.", b_cbrt, deps_y),
  UNARY(gamma, NULL, "Gamma function, element-wise.", b_gamma, deps_xy),
  UNARY(gammaln, NULL, "Logarithm of the absolute value of the gamma function, element-wise.", b_gammaln, deps_x),
  UNARY(degrees, NULL, "Radians to degrees, element-wise.", b_degrees, deps_g),
  UNARY(radians, NULL, "Degrees to radians, element-wise.", b_radians, deps_g),
  UNARY(logical_not, NULL, "1 where x is 0, else 0, element-wise.", b_zero, deps_none),
  UNARY_ANY(identity, "_copy", "A copy of the input.", b_identity, deps_g),
  UNARY_ANY(zeros_like, NULL, "An array of zeros with the shape and dtype of the input.", b_zero, deps_none),
  UNARY_ANY(ones_like, NULL, "An array of ones with the shape and dtype of the input.", b_zero, deps_none),
  {.name = "clip", .doc = "Clip values to [a_min, a_max] (NaN stays NaN).", .num_inputs = 1,
   .input_names = in_data, .num_outputs = 1, .params = p_clip, .num_params = MX_NPARAMS(p_clip),
   .infer_shape = mx_infer_shape_same, .cpu = k_clip, .backward = b_clip, .flags = MX_OPF_INPLACE,
   .backward_deps = deps_x},
  {.name = "amp_cast",
   .doc = "Cast for mixed-precision training: float32, float16 and bfloat16 data become dtype, other dtypes pass unchanged.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_cast,
   .num_params = MX_NPARAMS(p_cast), .infer_shape = mx_infer_shape_same, .infer_type = type_amp_cast,
   .cpu = k_cast, .backward = b_cast, .flags = MX_OPF_INPLACE | MX_OPF_F16 | MX_OPF_BF16 | MX_OPF_INT8,
   .backward_deps = deps_g},
  {.name = "amp_multicast",
   .doc = "Cast num_outputs arrays for mixed-precision training: the float32, float16 and bfloat16 ones to the widest of their dtypes (the narrowest with cast_narrow); others pass unchanged.",
   .num_inputs = -1, .input_names = in_data, .num_outputs = -1, .params = p_amp_multicast,
   .num_params = MX_NPARAMS(p_amp_multicast), .infer_shape = shape_multicast,
   .infer_type = type_amp_multicast, .cpu = k_cast, .backward = b_cast,
   .flags = MX_OPF_INPLACE | MX_OPF_F16 | MX_OPF_BF16 | MX_OPF_INT8, .backward_deps = deps_g,
   .list_inputs = list_amp_multicast},
  {.name = "hard_sigmoid", .doc = "Hard sigmoid max(0, min(1, alpha*x + beta)), element-wise.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_hard_sigmoid,
   .num_params = MX_NPARAMS(p_hard_sigmoid), .infer_shape = mx_infer_shape_same,
   .cpu = k_hard_sigmoid, .backward = b_hard_sigmoid, .flags = MX_OPF_INPLACE, .backward_deps = deps_x},
  {.name = "smooth_l1",
   .doc = "Smooth L1 loss, element-wise: 0.5*(sigma*x)^2 where |x| < 1/sigma^2, else |x| - 0.5/sigma^2 (sigma = scalar).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_smooth_l1,
   .num_params = MX_NPARAMS(p_smooth_l1), .infer_shape = mx_infer_shape_same,
   .cpu = k_smooth_l1, .backward = b_smooth_l1, .flags = MX_OPF_INPLACE, .backward_deps = deps_x},
  {.name = "Cast", .aliases = {"cast"}, .doc = "Convert the elements to another dtype.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_cast,
   .num_params = MX_NPARAMS(p_cast), .infer_shape = mx_infer_shape_same, .infer_type = type_cast,
   .cpu = k_cast, .backward = b_cast,
   .flags = MX_OPF_INPLACE | MX_OPF_F16 | MX_OPF_BF16 | MX_OPF_INT8,
   .backward_deps = deps_g},
  {.name = NULL},
};
