/*
 * nn.c -- neural-network layers, losses and normalisation, forward and
 * backward, with MXNet 1.9.1's names, parameters and semantics:
 * FullyConnected, Activation, LeakyReLU, softmax, log_softmax, softmin,
 * softmax_cross_entropy, SVMOutput, SoftmaxOutput (Softmax), LinearRegressionOutput, LogisticRegressionOutput,
 * MAERegressionOutput, MakeLoss (make_loss), BlockGrad (stop_gradient),
 * SliceChannel (split), BatchNorm, Dropout, Embedding and Crop.
 *
 * Shapes are in C order.  Kernels are written for float32 and float64
 * (float16 is computed in float32 by the invoker), except the pure data
 * movers (SliceChannel, Crop, BlockGrad), which copy bytes of any dtype, and
 * BatchNorm, which converts float16 itself so that its moving statistics
 * are updated in the caller's arrays.
 *
 * Where this engine departs from MXNet 1.9.1 (on purpose):
 *  - BatchNorm updates moving_mean/moving_var during the training forward
 *    (MXNet's CPU kernel does it in backward); like MXNet's CPU kernel the
 *    moving variance averages the biased batch variance (sum / count;
 *    cuDNN would use the unbiased one).  Its hidden "var" output holds the
 *    variance (MXNet's CPU kernel leaves the inverse standard deviation
 *    there).
 *  - LeakyReLU's leaky/elu/selu gradients are computed from the input, so a
 *    negative slope gives the true gradient; gelu is the exact erf form.
 *    rrelu: a random slope in [lower_bound, upper_bound) per element in
 *    training (kept in the hidden "mask" output), the mean slope otherwise.
 *    LeakyReLU is flagged random for rrelu's sake, so every call takes a
 *    seed from R's generator.
 *  - SoftmaxOutput: labels outside [0, classes) are an error naming the
 *    label (MXNet reads out of bounds); out_grad = TRUE needs the output
 *    gradient, which loss ops are not given by mx_op_forward_backward, so it
 *    fails with a clear error there.
 *  - Dropout with p = 1 drops everything (MXNet computes 0 * inf = NaN).
 *  - Embedding clips out-of-range indices into [0, input_dim - 1] (MXNet's
 *    behaviour); NaN indices read row 0; the gradient of 'data' is zero.
 *  - SliceChannel allows at most 16 outputs (the engine's output limit).
 */
#include "../include/mx-op.h"

#include <math.h>
#include <stdio.h>

#define DARGS const mx_param_value *p, int nin, int nout, unsigned char *ni, \
              unsigned char *no, unsigned char *ng

/* Whether backward writes the gradient of input j. */
#define WANT(j) (ig[j] && (req[j] == MX_REQ_WRITE || req[j] == MX_REQ_INPLACE))

#ifdef _OPENMP
#define NN_SIMD _Pragma("omp simd")
#define NN_SIMD_SUM1 _Pragma("omp simd reduction(+:s1)")
#define NN_SIMD_SUM2 _Pragma("omp simd reduction(+:s1, s2)")
#else
#define NN_SIMD
#define NN_SIMD_SUM1
#define NN_SIMD_SUM2
#endif

/* for i in [0, n): BODY, in blocks, the blocks spread over threads when n
 * warrants it; the inner loop is a SIMD candidate (elements independent). */
#define NN_BLK 8192
#define PAR_MAP(n, BODY)                                                      \
  do {                                                                        \
    int64_t n_ = (n);                                                         \
    int nt_ = mx_par_threads(n_);                                             \
    int64_t nb_ = (n_ + NN_BLK - 1) / NN_BLK;                                 \
    (void)nt_;                                                                \
    MX_OMP_FOR(nt_)                                                           \
    for (int64_t b_ = 0; b_ < nb_; b_++) {                                    \
      int64_t i1_ = b_ * NN_BLK + NN_BLK < n_ ? b_ * NN_BLK + NN_BLK : n_;    \
      NN_SIMD                                                                 \
      for (int64_t i = b_ * NN_BLK; i < i1_; i++) { BODY; }                   \
    }                                                                         \
  } while (0)

/* ------------------------------------------------------------ helpers */

static int64_t prod_dims(const mx_shape *s, int a, int b) {
  int64_t r = 1;
  for (int k = a; k < b; k++) r *= s->d[k];
  return r;
}

static mx_shape shape1(int64_t a) {
  mx_shape s;
  memset(&s, 0, sizeof s);
  s.ndim = 1;
  s.d[0] = a;
  return s;
}

static mx_shape shape2(int64_t a, int64_t b) {
  mx_shape s = shape1(a);
  s.ndim = 2;
  s.d[1] = b;
  return s;
}

/* Fill an unknown input shape, or check a known one. */
static mx_status shape_assign(mx_shape *slot, const mx_shape *want, const char *what) {
  if (slot->ndim < 0) {
    *slot = *want;
    return MX_OK;
  }
  if (mx_shape_equal(slot, want)) return MX_OK;
  char b1[128], b2[128];
  mx_shape_format(slot, b1, sizeof b1);
  mx_shape_format(want, b2, sizeof b2);
  return mx_error(MX_ERR_SHAPE, "input '%s' has shape %s, expected %s", what, b1, b2);
}

/* Split a shape around axis ax: outer * n * inner. */
static void split_at(const mx_shape *s, int ax, int64_t *outer, int64_t *n, int64_t *inner) {
  *outer = prod_dims(s, 0, ax);
  *n = s->d[ax];
  *inner = prod_dims(s, ax + 1, s->ndim);
}

/* A copy of a in dtype dt when its dtype differs (labels given in another
 * dtype than the data); *use is a or the copy, *tmp what to free. */
static mx_status as_dtype(mx_ndarray *a, int dt, mx_ndarray **tmp, mx_ndarray **use) {
  *tmp = NULL;
  *use = a;
  if (!a || a->dtype == dt) return MX_OK;
  mx_status rc = mx_ndarray_copy(a, dt, a->ctx, tmp);
  if (rc) return rc;
  *use = *tmp;
  return MX_OK;
}

/* C = op(A) op(B) + beta C for contiguous C (ldc == N), with the empty
 * cases (K == 0) handled here. */
static mx_status gemm(const mx_op_ctx *c, int dt, int ta, int tb, int64_t M, int64_t N,
                      int64_t K, const void *A, int64_t lda, const void *B, int64_t ldb,
                      double beta, void *C) {
  if (M == 0 || N == 0) return MX_OK;
  if (K == 0) {
    if (beta == 0) memset(C, 0, (size_t)(M * N) * mx_dtype_size(dt));
    return MX_OK;
  }
  return mx_gemm(c, dt, ta, tb, M, N, K, 1.0, A, lda, B, ldb, beta, C, N);
}

/* Type inference of the loss heads (and Crop): outputs take the data's
 * dtype; the label (crop_like) may have any dtype (it is converted when
 * read, or only its shape is used). */
static mx_status type_data_label(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p;
  int t = in[0] >= 0 ? in[0] : out[0];
  if (t < 0) return MX_OK;
  in[0] = t;
  for (int j = 1; j < nin; j++)
    if (in[j] < 0) in[j] = t;
  for (int k = 0; k < nout; k++) out[k] = t;
  return MX_OK;
}

/* ---------------------------------------------------- fast float math */

/* Bits of a float and back (no aliasing issues; compiles to moves). */
static inline int32_t f2bits(float x) {
  int32_t i;
  memcpy(&i, &x, sizeof i);
  return i;
}
static inline float bits2f(int32_t i) {
  float x;
  memcpy(&x, &i, sizeof x);
  return x;
}
#define BITS_87 0x42AE0000      /* 87.0f   */
#define BITS_9 0x41100000       /* 9.0f    */
#define BITS_0625 0x3F200000    /* 0.625f  */
#define BITS_INF 0x7F800000

/* expf for float32 loops: Cody-Waite range reduction x = n ln2 + r, a
 * degree-7 polynomial for exp(r) and the scale 2^n built from its bits;
 * within about 2 ulp of expf.  |x| is clamped to 87 (so the result never
 * overflows; exp(-87) is 1.6e-38).  Every select is on integer bits, never a
 * float comparison: with GCC's default -ftrapping-math a float comparison
 * in the loop body blocks vectorisation.  NaN propagates, and no float is
 * converted to an integer (no undefined behaviour). */
static inline float exp_f(float x) {
  int32_t xi = f2bits(x), ai = xi & 0x7FFFFFFF;
  int clamp = (ai > BITS_87) & (ai <= BITS_INF);
  x = clamp ? bits2f(BITS_87 | (xi & INT32_MIN)) : x;
  float t = x * 1.44269504088896341f + 12582912.0f;   /* 1.5 * 2^23: round */
  float n = t - 12582912.0f;
  int32_t ni = f2bits(t) - 0x4B400000;
  ni = ni < -126 ? -126 : ni;            /* only reached by NaN */
  ni = ni > 127 ? 127 : ni;
  float r = x - n * 0.693145752f;        /* ln 2, high bits (exact product) */
  r = r - n * 1.428606820e-06f;          /* ln 2, low bits                 */
  float q = 1.0f / 5040.0f;
  q = q * r + 1.0f / 720.0f;
  q = q * r + 1.0f / 120.0f;
  q = q * r + 1.0f / 24.0f;
  q = q * r + 1.0f / 6.0f;
  q = q * r + 0.5f;
  q = q * r + 1.0f;
  q = q * r + 1.0f;
  return q * bits2f((int32_t)((uint32_t)(ni + 127) << 23));
}

/* tanh for float32 loops: the odd series of tanh for |x| < 0.625 (the
 * terms through x^17 keep it within float rounding there), 1 - 2/(e^2|x|+1)
 * above (|x| capped at 9, where tanh is 1.0f); both computed and one
 * selected on integer bits, so the loop vectorises.  NaN propagates. */
static inline float tanh_f(float x) {
  int32_t xi = f2bits(x), ai = xi & 0x7FFFFFFF;
  float z = x * x;
  float s = 6404582.0f / 10854718875.0f;
  s = s * z - 929569.0f / 638512875.0f;
  s = s * z + 21844.0f / 6081075.0f;
  s = s * z - 1382.0f / 155925.0f;
  s = s * z + 62.0f / 2835.0f;
  s = s * z - 17.0f / 315.0f;
  s = s * z + 2.0f / 15.0f;
  s = s * z - 1.0f / 3.0f;
  float small = x + x * z * s;
  float e = exp_f(2.0f * bits2f(ai > BITS_9 ? BITS_9 : ai));
  float big = bits2f(f2bits(1.0f - 2.0f / (e + 1.0f)) | (xi & INT32_MIN));
  /* select by masks: a ?: would let the compiler move `big` into a branch */
  int32_t m = -(int32_t)((ai < BITS_0625) | (ai > BITS_INF));
  return bits2f((f2bits(small) & m) | (f2bits(big) & ~m));
}

static inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }
static inline double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

/* ================================================== FullyConnected */

enum { FC_NUM_HIDDEN, FC_NO_BIAS, FC_FLATTEN, FC_NPARAMS };

static const mx_param_desc p_fc[FC_NPARAMS] = {
  [FC_NUM_HIDDEN] = {"num_hidden", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of hidden units (outputs)."},
  [FC_NO_BIAS] = {"no_bias", MX_PARAM_BOOL, 0, "False", NULL, "Whether to leave out the bias."},
  [FC_FLATTEN] = {"flatten", MX_PARAM_BOOL, 0, "True", NULL,
   "Whether to flatten the input to (batch, features) first; otherwise the layer applies to the last engine axis (the first R dimension)."},
};
static const char *const in_fc[] = {"data", "weight", "bias", NULL};

static int list_fc(const mx_param_value *p, const char **names, int max) {
  int n = p[FC_NO_BIAS].i ? 2 : 3;
  for (int k = 0; k < n && k < max; k++) names[k] = in_fc[k];
  return n;
}

/* rows M and input size K of the data */
static void fc_dims(const mx_param_value *p, const mx_shape *d, int64_t *M, int64_t *K) {
  if (p[FC_FLATTEN].i) {
    *M = d->d[0];
    *K = prod_dims(d, 1, d->ndim);
  } else {
    *M = prod_dims(d, 0, d->ndim - 1);
    *K = d->d[d->ndim - 1];
  }
}

static mx_status shape_fc(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nout;
  int64_t H = p[FC_NUM_HIDDEN].i;
  if (H < 1) return mx_error(MX_ERR_ARG, "parameter 'num_hidden' must be positive, got %lld", (long long)H);
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim == 0) return mx_error(MX_ERR_SHAPE, "input 'data' must have at least one dimension");
  int64_t M, K;
  fc_dims(p, &in[0], &M, &K);
  (void)M;
  mx_shape w = shape2(H, K);
  mx_status rc = shape_assign(&in[1], &w, "weight");
  if (rc) return rc;
  if (!p[FC_NO_BIAS].i && nin > 2) {
    mx_shape b = shape1(H);
    rc = shape_assign(&in[2], &b, "bias");
    if (rc) return rc;
  }
  if (p[FC_FLATTEN].i) {
    out[0] = shape2(in[0].d[0], H);
  } else {
    out[0] = in[0];
    out[0].d[in[0].ndim - 1] = H;
  }
  return MX_OK;
}

static mx_status k_fc(KARGS) {
  UNUSED_KARGS;
  int64_t M, K, H = p[FC_NUM_HIDDEN].i;
  fc_dims(p, &in[0]->shape, &M, &K);
  int has_bias = !p[FC_NO_BIAS].i;
  int dt = out[0]->dtype;
  MX_FLOAT_SWITCH(dt, T, {
    T *y = MX_DATA(out[0], T);
    if (has_bias) {
      const T *b = MX_DATA(in[2], T);
      int nt = mx_par_threads(M * H);
      (void)nt;
      MX_OMP_FOR(nt)
      for (int64_t r = 0; r < M; r++) memcpy(y + r * H, b, (size_t)H * sizeof(T));
    }
  });
  return gemm(c, dt, 0, 1, M, H, K, MX_PTR(in[0]), K, MX_PTR(in[1]), K, has_bias ? 1.0 : 0.0,
              MX_PTR(out[0]));
}

/* db[j] = sum over rows of g[., j]; column blocks per thread */
#define COLSUM(T, G, DB, M, H)                                                \
  do {                                                                        \
    int nt_ = mx_par_threads((M) * (H));                                      \
    if (nt_ > (H)) nt_ = (int)(H);                                            \
    if (nt_ < 1) nt_ = 1;                                                     \
    MX_OMP_FOR(nt_)                                                           \
    for (int t_ = 0; t_ < nt_; t_++) {                                        \
      int64_t j0_ = (H) * t_ / nt_, j1_ = (H) * (t_ + 1) / nt_;               \
      for (int64_t j = j0_; j < j1_; j++) (DB)[j] = 0;                        \
      for (int64_t i = 0; i < (M); i++) {                                     \
        const T *gr_ = (G) + i * (H);                                         \
        NN_SIMD                                                               \
        for (int64_t j = j0_; j < j1_; j++) (DB)[j] += gr_[j];                \
      }                                                                       \
    }                                                                         \
  } while (0)

static mx_status b_fc(BARGS) {
  UNUSED_BARGS;
  int64_t M, K, H = p[FC_NUM_HIDDEN].i;
  fc_dims(p, &in[0]->shape, &M, &K);
  int dt = og[0]->dtype;
  mx_status rc;
  if (WANT(0)) {   /* dX (M, K) = G (M, H) W (H, K) */
    rc = gemm(c, dt, 0, 0, M, K, H, MX_PTR(og[0]), H, MX_PTR(in[1]), K, 0.0, MX_PTR(ig[0]));
    if (rc) return rc;
  }
  if (WANT(1)) {   /* dW (H, K) = G^T X */
    rc = gemm(c, dt, 1, 0, H, K, M, MX_PTR(og[0]), H, MX_PTR(in[0]), K, 0.0, MX_PTR(ig[1]));
    if (rc) return rc;
  }
  if (nin > 2 && WANT(2)) {
    MX_FLOAT_SWITCH(dt, T, {
      const T *g = MX_DATA(og[0], T);
      T *db = MX_DATA(ig[2], T);
      COLSUM(T, g, db, M, H);
    });
  }
  return MX_OK;
}

static void deps_fc(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = j < 2;   /* data, weight; not bias */
  for (int k = 0; k < nout; k++) { no[k] = 0; ng[k] = 1; }
}

/* ====================================================== Activation */

enum { ACT_RELU, ACT_SIGMOID, ACT_TANH, ACT_SOFTRELU, ACT_SOFTSIGN };

enum { AP_ACT_TYPE, AP_NPARAMS };
static const mx_param_desc p_act[AP_NPARAMS] = {
  [AP_ACT_TYPE] = {"act_type", MX_PARAM_ENUM, MX_PF_REQUIRED, NULL, "relu|sigmoid|tanh|softrelu|softsign",
   "Activation function: relu max(x, 0), sigmoid, tanh, softrelu log(1 + exp(x)), softsign x/(1 + |x|)."},
};
static const char *const in_data[] = {"data", NULL};

/* softrelu is x itself above this (MXNet's threshold) */
#define SOFTRELU_T 20

/* One block of a float32 activation (and of its gradient), built for
 * several instruction sets (MX_CLONES). */
MX_CLONES static void act_f32_block(int act, const float *a, float *o, int64_t n) {
  switch (act) {
    case ACT_RELU: NN_SIMD for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = x <= 0 ? 0.0f : x; } break;
    case ACT_SIGMOID: NN_SIMD for (int64_t i = 0; i < n; i++) o[i] = sigmoid_f(a[i]); break;
    case ACT_TANH: NN_SIMD for (int64_t i = 0; i < n; i++) o[i] = tanh_f(a[i]); break;
    case ACT_SOFTRELU:
      for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = x > SOFTRELU_T ? x : log1pf(expf(x)); }
      break;
    default: NN_SIMD for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = x / (1.0f + fabsf(x)); } break;
  }
}

MX_CLONES static void act_grad_f32_block(int act, const float *g, const float *y, float *d, int64_t n) {
  switch (act) {
    case ACT_RELU: NN_SIMD for (int64_t i = 0; i < n; i++) d[i] = y[i] > 0 ? g[i] : 0.0f; break;
    case ACT_SIGMOID: NN_SIMD for (int64_t i = 0; i < n; i++) { float v = y[i]; d[i] = g[i] * v * (1.0f - v); } break;
    default: NN_SIMD for (int64_t i = 0; i < n; i++) { float v = y[i]; d[i] = g[i] * (1.0f - v * v); } break;
  }
}

/* Blocks of NN_BLK elements spread over the threads. */
#define PAR_BLOCKS(n, CALL) MX_PAR_BLOCKS(n, NN_BLK, CALL)

static mx_status k_act(KARGS) {
  UNUSED_KARGS;
  int64_t n = mx_ndarray_size(out[0]);
  int act = (int)p[AP_ACT_TYPE].i;
  if (out[0]->dtype == MX_FLOAT32) {
    const float *a = MX_DATA(in[0], float);
    float *o = MX_DATA(out[0], float);
    PAR_BLOCKS(n, act_f32_block(act, a + i0, o + i0, len));
    return MX_OK;
  }
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *a = MX_DATA(in[0], T);
    T *o = MX_DATA(out[0], T);
    switch (act) {
      case ACT_RELU: PAR_MAP(n, T x = a[i]; o[i] = x <= 0 ? 0 : x); break;
      case ACT_SIGMOID: PAR_MAP(n, o[i] = (T)sigmoid_d(a[i])); break;
      case ACT_TANH: PAR_MAP(n, o[i] = (T)tanh(a[i])); break;
      case ACT_SOFTRELU: PAR_MAP(n, T x = a[i]; o[i] = x > SOFTRELU_T ? x : (T)log1p(exp(x))); break;
      default: PAR_MAP(n, T x = a[i]; o[i] = x / (1 + fabs(x))); break;
    }
  });
  return MX_OK;
}

/* relu, sigmoid and tanh read the output; softrelu and softsign the input */
static mx_status b_act(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  int64_t n = mx_ndarray_size(ig[0]);
  int act = (int)p[AP_ACT_TYPE].i;
  if (ig[0]->dtype == MX_FLOAT32 && (act == ACT_RELU || act == ACT_SIGMOID || act == ACT_TANH)) {
    const float *g = MX_DATA(og[0], float), *y = MX_DATA(out[0], float);
    float *d = MX_DATA(ig[0], float);
    PAR_BLOCKS(n, act_grad_f32_block(act, g + i0, y + i0, d + i0, len));
    return MX_OK;
  }
  MX_FLOAT_SWITCH(ig[0]->dtype, T, {
    const T *g = MX_DATA(og[0], T);
    T *d = MX_DATA(ig[0], T);
    const T *y = out[0] ? MX_DATA(out[0], T) : NULL;
    const T *x = in[0] ? MX_DATA(in[0], T) : NULL;
    switch (act) {
      case ACT_RELU: PAR_MAP(n, d[i] = y[i] > 0 ? g[i] : 0); break;
      case ACT_SIGMOID: PAR_MAP(n, T v = y[i]; d[i] = g[i] * v * (1 - v)); break;
      case ACT_TANH: PAR_MAP(n, T v = y[i]; d[i] = g[i] * (1 - v * v)); break;
      case ACT_SOFTRELU:
        if (sizeof(T) == sizeof(float)) PAR_MAP(n, d[i] = g[i] * (T)sigmoid_f((float)x[i]));
        else PAR_MAP(n, d[i] = g[i] * (T)sigmoid_d((double)x[i]));
        break;
      default: PAR_MAP(n, T t = 1 + fabs(x[i]); d[i] = g[i] / (t * t)); break;
    }
  });
  return MX_OK;
}

static void deps_act(DARGS) {
  int act = (int)p[AP_ACT_TYPE].i;
  int from_out = act == ACT_RELU || act == ACT_SIGMOID || act == ACT_TANH;
  for (int j = 0; j < nin; j++) ni[j] = !from_out;
  for (int k = 0; k < nout; k++) { no[k] = from_out && k == 0; ng[k] = k == 0; }
}

/* ======================================================= LeakyReLU */

enum { LR_LEAKY, LR_ELU, LR_PRELU, LR_RRELU, LR_SELU, LR_GELU };
enum { LR_ACT, LR_SLOPE, LR_LOWER, LR_UPPER, LR_NPARAMS };

static const mx_param_desc p_leaky[LR_NPARAMS] = {
  [LR_ACT] = {"act_type", MX_PARAM_ENUM, 0, "leaky", "leaky|elu|prelu|rrelu|selu|gelu",
   "leaky: x or slope*x; elu: x or slope*(exp(x) - 1); prelu: x or gamma*x with a learned gamma per channel (axis 1); rrelu: a random slope in [lower_bound, upper_bound) in training, their mean otherwise; selu; gelu (erf form)."},
  [LR_SLOPE] = {"slope", MX_PARAM_FLOAT, 0, "0.25", NULL, "Slope of leaky and elu."},
  [LR_LOWER] = {"lower_bound", MX_PARAM_FLOAT, 0, "0.125", NULL, "Lower bound of rrelu's random slope."},
  [LR_UPPER] = {"upper_bound", MX_PARAM_FLOAT, 0, "0.334", NULL, "Upper bound of rrelu's random slope."},
};
static const char *const in_leaky[] = {"data", "gamma", NULL};
static const char *const out_mask[] = {"output", "mask", NULL};

#define NN_SQRT1_2 0.70710678118654752440
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_LAMBDA 1.0507009873554804934193349852946

static int list_leaky(const mx_param_value *p, const char **names, int max) {
  int n = p[LR_ACT].i == LR_PRELU ? 2 : 1;
  for (int k = 0; k < n && k < max; k++) names[k] = in_leaky[k];
  return n;
}
static int vis1(const mx_param_value *p) { (void)p; return 1; }

/* leaky, elu, selu and gelu are element-wise: data and output in either
 * layout (prelu's gamma is per channel; rrelu draws per element, which
 * would tie its slopes to the layout) */
static void lay_leaky(const mx_param_value *p, int nin, const mx_shape *in, int nout, const mx_shape *out,
                      unsigned char *mode) {
  int act = (int)p[LR_ACT].i;
  (void)nout;
  if (act != LR_PRELU && act != LR_RRELU && mx_shape_equal(&in[0], &out[0])) mode[0] = mode[nin] = MX_LAY_TIED;
}

static int64_t leaky_channels(const mx_shape *d) { return d->ndim >= 2 ? d->d[1] : 1; }

static mx_status shape_leaky(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int act = (int)p[LR_ACT].i;
  if (act == LR_PRELU) {
    int64_t C = leaky_channels(&in[0]);
    if (in[1].ndim < 0) in[1] = shape1(C);
    else if (!(in[1].ndim == 1 && (in[1].d[0] == C || in[1].d[0] == 1))) {
      mx_shape w = shape1(C);
      return shape_assign(&in[1], &w, "gamma");
    }
  }
  if (act == LR_RRELU && p[LR_LOWER].f > p[LR_UPPER].f)
    return mx_error(MX_ERR_ARG, "parameter 'lower_bound' (%g) must not exceed 'upper_bound' (%g)",
                    p[LR_LOWER].f, p[LR_UPPER].f);
  out[0] = in[0];
  out[1] = act == LR_RRELU ? in[0] : shape1(0);   /* the mask only for rrelu */
  return MX_OK;
}

static mx_status k_leaky(KARGS) {
  UNUSED_KARGS;
  int64_t n = mx_ndarray_size(out[0]);
  int act = (int)p[LR_ACT].i;
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *a = MX_DATA(in[0], T);
    T *o = MX_DATA(out[0], T);
    const T s = (T)p[LR_SLOPE].f;
    switch (act) {
      case LR_LEAKY: PAR_MAP(n, T x = a[i]; o[i] = x > 0 ? x : s * x); break;
      case LR_ELU: PAR_MAP(n, T x = a[i]; o[i] = x > 0 ? x : s * (T)expm1((double)x)); break;
      case LR_SELU:
        PAR_MAP(n, T x = a[i];
                o[i] = (T)(SELU_LAMBDA * (x > 0 ? (double)x : SELU_ALPHA * expm1((double)x))));
        break;
      case LR_GELU:
        PAR_MAP(n, double x = (double)a[i]; o[i] = (T)(0.5 * x * (1 + erf(x * NN_SQRT1_2))));
        break;
      case LR_PRELU: {
        const T *gm = MX_DATA(in[1], T);
        int64_t ng = mx_ndarray_size(in[1]);
        int64_t outer, C, inner;
        if (in[0]->shape.ndim >= 2) split_at(&in[0]->shape, 1, &outer, &C, &inner);
        else { outer = 1; C = 1; inner = n; }
        int nt = mx_par_threads(n);
        (void)nt;
        MX_OMP_FOR(nt)
        for (int64_t oc = 0; oc < outer * C; oc++) {
          T gv = gm[ng == 1 ? 0 : oc % C];
          const T *xr = a + oc * inner;
          T *yr = o + oc * inner;
          NN_SIMD
          for (int64_t i = 0; i < inner; i++) yr[i] = xr[i] > 0 ? xr[i] : gv * xr[i];
        }
        break;
      }
      default: {   /* rrelu */
        T *m = MX_DATA(out[1], T);
        if (c->is_train) {
          mx_rng r = c->rng;
          if (sizeof(T) == sizeof(float))
            mx_rng_uniform_f32(&r, (float *)(void *)m, n, p[LR_LOWER].f, p[LR_UPPER].f);
          else
            mx_rng_uniform_f64(&r, (double *)(void *)m, n, p[LR_LOWER].f, p[LR_UPPER].f);
        } else {
          const T mean = (T)((p[LR_LOWER].f + p[LR_UPPER].f) / 2);
          PAR_MAP(n, m[i] = mean);
        }
        PAR_MAP(n, T x = a[i]; o[i] = x > 0 ? x : m[i] * x);
        break;
      }
    }
  });
  return MX_OK;
}

/* all variants read the input (and gamma, or rrelu's mask) */
static mx_status b_leaky(BARGS) {
  UNUSED_BARGS;
  int act = (int)p[LR_ACT].i;
  int64_t n = mx_ndarray_size(og[0]);
  MX_FLOAT_SWITCH(og[0]->dtype, T, {
    const T *g = MX_DATA(og[0], T);
    const T *a = MX_DATA(in[0], T);
    T *d = WANT(0) ? MX_DATA(ig[0], T) : NULL;
    const T s = (T)p[LR_SLOPE].f;
    if (act == LR_PRELU) {
      const T *gm = MX_DATA(in[1], T);
      int64_t ng = mx_ndarray_size(in[1]);
      int64_t outer, C, inner;
      if (in[0]->shape.ndim >= 2) split_at(&in[0]->shape, 1, &outer, &C, &inner);
      else { outer = 1; C = 1; inner = n; }
      if (d) {
        int nt = mx_par_threads(n);
        (void)nt;
        MX_OMP_FOR(nt)
        for (int64_t oc = 0; oc < outer * C; oc++) {
          T gv = gm[ng == 1 ? 0 : oc % C];
          const T *xr = a + oc * inner, *gr = g + oc * inner;
          T *dr = d + oc * inner;
          NN_SIMD
          for (int64_t i = 0; i < inner; i++) dr[i] = xr[i] > 0 ? gr[i] : gv * gr[i];
        }
      }
      if (nin > 1 && WANT(1)) {   /* d gamma[c] = sum of g * x where x <= 0 */
        T *dg = MX_DATA(ig[1], T);
        for (int64_t k = 0; k < ng; k++) dg[k] = 0;
        for (int64_t oc = 0; oc < outer * C; oc++) {
          const T *xr = a + oc * inner, *gr = g + oc * inner;
          double acc = 0;
          for (int64_t i = 0; i < inner; i++) acc += xr[i] > 0 ? 0 : (double)gr[i] * xr[i];
          dg[ng == 1 ? 0 : oc % C] += (T)acc;
        }
      }
      return MX_OK;
    }
    if (!d) return MX_OK;
    switch (act) {
      case LR_LEAKY: PAR_MAP(n, d[i] = a[i] > 0 ? g[i] : s * g[i]); break;
      case LR_ELU: PAR_MAP(n, T x = a[i]; d[i] = x > 0 ? g[i] : g[i] * s * (T)exp((double)x)); break;
      case LR_SELU:
        PAR_MAP(n, T x = a[i];
                d[i] = (T)((double)g[i] * SELU_LAMBDA * (x > 0 ? 1.0 : SELU_ALPHA * exp((double)x))));
        break;
      case LR_GELU:
        PAR_MAP(n, double x = (double)a[i];
                d[i] = (T)((double)g[i] * (0.5 * (1 + erf(x * NN_SQRT1_2)) +
                                           x * exp(-0.5 * x * x) * 0.39894228040143267794)));
        break;
      default: {   /* rrelu: the slope of each element is in the mask */
        const T *m = MX_DATA(out[1], T);
        PAR_MAP(n, d[i] = a[i] > 0 ? g[i] : m[i] * g[i]);
        break;
      }
    }
  });
  return MX_OK;
}

static void deps_leaky(DARGS) {
  int act = (int)p[LR_ACT].i;
  for (int j = 0; j < nin; j++) ni[j] = 1;
  for (int k = 0; k < nout; k++) { no[k] = act == LR_RRELU && k == 1; ng[k] = k == 0; }
}

/* ============================================== softmax, log_softmax */

enum { SM_AXIS, SM_TEMPERATURE, SM_NPARAMS };
static const mx_param_desc p_softmax[SM_NPARAMS] = {
  [SM_AXIS] = {"axis", MX_PARAM_INT, 0, "-1", NULL, "The engine axis along which to normalise (-1: the last, i.e. the first R dimension)."},
  [SM_TEMPERATURE] = {"temperature", MX_PARAM_FLOAT, MX_PF_OPTIONAL, NULL, NULL, "Temperature T: softmax of x/T (None: 1)."},
};

/* Softmax (or log-softmax) of rows of K entries at stride `inner`; rows are
 * (o, s) for o < outer, s < inner.  x/T is formed before the maximum is
 * taken, so any nonzero T is stable. */
#define SOFTMAX_ROWS(T, EXPF, X, Y, OUTER, K, INNER, INVT, LOG)              \
  do {                                                                        \
    int64_t rows_ = (OUTER) * (INNER);                                        \
    int nt_ = mx_par_threads(rows_ * (K));                                    \
    (void)nt_;                                                                \
    MX_OMP_FOR(nt_)                                                           \
    for (int64_t r_ = 0; r_ < rows_; r_++) {                                  \
      int64_t o_ = r_ / (INNER), s_ = r_ % (INNER);                           \
      const T *xr = (X) + o_ * (K) * (INNER) + s_;                            \
      T *yr = (Y) + o_ * (K) * (INNER) + s_;                                  \
      const T it_ = (T)(INVT);                                                \
      T mx_ = -INFINITY;                                                      \
      for (int64_t k = 0; k < (K); k++) {                                     \
        T v = xr[k * (INNER)] * it_;                                          \
        if (v > mx_ || v != v) mx_ = v;                                       \
      }                                                                       \
      double sum_ = 0;                                                        \
      if (LOG) {                                                              \
        for (int64_t k = 0; k < (K); k++) sum_ += EXPF(xr[k * (INNER)] * it_ - mx_); \
        T lse_ = (T)log(sum_) + mx_;                                          \
        for (int64_t k = 0; k < (K); k++) yr[k * (INNER)] = xr[k * (INNER)] * it_ - lse_; \
      } else {                                                                \
        for (int64_t k = 0; k < (K); k++) {                                   \
          T e_ = EXPF(xr[k * (INNER)] * it_ - mx_);                           \
          yr[k * (INNER)] = e_;                                               \
          sum_ += e_;                                                         \
        }                                                                     \
        T inv_ = (T)(1.0 / sum_);                                             \
        for (int64_t k = 0; k < (K); k++) yr[k * (INNER)] *= inv_;            \
      }                                                                       \
    }                                                                         \
  } while (0)

static mx_status softmax_rows(int dt, const void *x, void *y, int64_t outer, int64_t K,
                              int64_t inner, double invt, int lg) {
  if (K == 0 || outer * inner == 0) return MX_OK;
  if (dt == MX_FLOAT32) {
    SOFTMAX_ROWS(float, exp_f, (const float *)x, (float *)y, outer, K, inner, invt, lg);
  } else if (dt == MX_FLOAT64) {
    SOFTMAX_ROWS(double, exp, (const double *)x, (double *)y, outer, K, inner, invt, lg);
  } else {
    return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(dt));
  }
  return MX_OK;
}

static double softmax_invt(const mx_param_value *p) {
  return p[SM_TEMPERATURE].is_set ? 1.0 / p[SM_TEMPERATURE].f : 1.0;
}

static mx_status shape_softmax(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (p[SM_TEMPERATURE].is_set && p[SM_TEMPERATURE].f == 0)
    return mx_error(MX_ERR_ARG, "parameter 'temperature' must not be 0");
  if (in[0].ndim < 0) return MX_OK;
  int ax;
  if (in[0].ndim == 0) return mx_error(MX_ERR_SHAPE, "input 'data' must have at least one dimension");
  mx_status rc = mx_axis_norm(p[SM_AXIS].i, in[0].ndim, &ax);
  if (rc) return mx_error_prefix(rc, "parameter 'axis': ");
  out[0] = in[0];
  return MX_OK;
}

/* sg = -1: softmin (the softmax of -x/T) */
static mx_status softmax_fwd(KARGS, int lg, double sg) {
  UNUSED_KARGS;
  int ax;
  mx_status rc = mx_axis_norm(p[SM_AXIS].i, in[0]->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer, K, inner;
  split_at(&in[0]->shape, ax, &outer, &K, &inner);
  return softmax_rows(out[0]->dtype, MX_PTR(in[0]), MX_PTR(out[0]), outer, K, inner,
                      sg * softmax_invt(p), lg);
}
static mx_status k_softmax(KARGS) { return softmax_fwd(c, p, in, nin, out, nout, req, 0, 1); }
static mx_status k_log_softmax(KARGS) { return softmax_fwd(c, p, in, nin, out, nout, req, 1, 1); }
static mx_status k_softmin(KARGS) { return softmax_fwd(c, p, in, nin, out, nout, req, 0, -1); }

/* softmax: dx = y (g - sum g y) / T;  log_softmax: dx = (g - exp(y) sum g) / T */
static mx_status softmax_bwd(BARGS, int lg, double sg) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  int ax;
  mx_status rc = mx_axis_norm(p[SM_AXIS].i, out[0]->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer, K, inner;
  split_at(&out[0]->shape, ax, &outer, &K, &inner);
  double invt = sg * softmax_invt(p);
  int64_t rows = outer * inner;
  MX_FLOAT_SWITCH(og[0]->dtype, T, {
    const T *g = MX_DATA(og[0], T), *y = MX_DATA(out[0], T);
    T *d = MX_DATA(ig[0], T);
    int nt = mx_par_threads(rows * K);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t r = 0; r < rows; r++) {
      int64_t o = r / inner, s = r % inner, base = o * K * inner + s;
      double acc = 0;
      if (lg) {
        for (int64_t k = 0; k < K; k++) acc += g[base + k * inner];
        for (int64_t k = 0; k < K; k++) {
          int64_t i = base + k * inner;
          d[i] = (T)(((double)g[i] - exp((double)y[i]) * acc) * invt);
        }
      } else {
        for (int64_t k = 0; k < K; k++) acc += (double)g[base + k * inner] * y[base + k * inner];
        for (int64_t k = 0; k < K; k++) {
          int64_t i = base + k * inner;
          d[i] = (T)((double)y[i] * ((double)g[i] - acc) * invt);
        }
      }
    }
  });
  return MX_OK;
}
static mx_status b_softmax(BARGS) { return softmax_bwd(c, p, og, nout, in, nin, out, ig, req, 0, 1); }
static mx_status b_log_softmax(BARGS) { return softmax_bwd(c, p, og, nout, in, nin, out, ig, req, 1, 1); }
static mx_status b_softmin(BARGS) { return softmax_bwd(c, p, og, nout, in, nin, out, ig, req, 0, -1); }

/* reads the output and its gradient only */
static void deps_out(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 0;
  for (int k = 0; k < nout; k++) { no[k] = k == 0; ng[k] = k == 0; }
}

/* =================================================== SoftmaxOutput */

enum { SO_GRAD_SCALE, SO_IGNORE_LABEL, SO_MULTI, SO_USE_IGNORE, SO_PRESERVE, SO_NORM, SO_OUT_GRAD,
       SO_SMOOTH, SO_NPARAMS };
enum { NORM_NULL, NORM_BATCH, NORM_VALID };

static const mx_param_desc p_softmax_output[SO_NPARAMS] = {
  [SO_GRAD_SCALE] = {"grad_scale", MX_PARAM_FLOAT, 0, "1", NULL, "Scale of the gradient."},
  [SO_IGNORE_LABEL] = {"ignore_label", MX_PARAM_FLOAT, 0, "-1", NULL, "The label value ignored when use_ignore is TRUE."},
  [SO_MULTI] = {"multi_output", MX_PARAM_BOOL, 0, "False", NULL,
   "Softmax over axis 1 at every position of the remaining axes (data (n, k, ...), label (n, ...))."},
  [SO_USE_IGNORE] = {"use_ignore", MX_PARAM_BOOL, 0, "False", NULL, "Whether positions labelled ignore_label get a zero gradient."},
  [SO_PRESERVE] = {"preserve_shape", MX_PARAM_BOOL, 0, "False", NULL, "Softmax over the last engine axis (the first R dimension), keeping the shape."},
  [SO_NORM] = {"normalization", MX_PARAM_ENUM, 0, "null", "null|batch|valid",
   "Gradient normalisation: none, divided by the batch size, or by the number of labels that are not ignore_label."},
  [SO_OUT_GRAD] = {"out_grad", MX_PARAM_BOOL, 0, "False", NULL, "Whether to multiply the gradient by the output's gradient."},
  [SO_SMOOTH] = {"smooth_alpha", MX_PARAM_FLOAT, 0, "0", NULL,
   "Label smoothing: the target is 1 - smooth_alpha for the label and smooth_alpha/(k - 1) for the other classes."},
};
static const char *const in_data_label[] = {"data", "label", NULL};

/* rows (outer), classes K, positions per row (inner) of the data */
static mx_status so_layout(const mx_param_value *p, const mx_shape *d, int64_t *outer,
                           int64_t *K, int64_t *inner) {
  if (p[SO_MULTI].i) {
    if (d->ndim < 2)
      return mx_error(MX_ERR_SHAPE, "multi_output needs data with at least 2 dimensions");
    split_at(d, 1, outer, K, inner);
  } else if (p[SO_PRESERVE].i) {
    if (d->ndim < 1) return mx_error(MX_ERR_SHAPE, "input 'data' must have at least one dimension");
    split_at(d, d->ndim - 1, outer, K, inner);
  } else {
    if (d->ndim < 1) return mx_error(MX_ERR_SHAPE, "input 'data' must have at least one dimension");
    *outer = d->d[0];
    *K = prod_dims(d, 1, d->ndim);
    *inner = 1;
  }
  return MX_OK;
}

static mx_status shape_softmax_output(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                      mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int64_t outer, K, inner;
  mx_status rc = so_layout(p, &in[0], &outer, &K, &inner);
  if (rc) return rc;
  mx_shape want;
  memset(&want, 0, sizeof want);
  if (p[SO_MULTI].i) {          /* (n, spatial...) */
    want.ndim = in[0].ndim - 1;
    want.d[0] = in[0].d[0];
    for (int k = 2; k < in[0].ndim; k++) want.d[k - 1] = in[0].d[k];
  } else if (p[SO_PRESERVE].i) { /* data's shape without its last axis */
    want.ndim = in[0].ndim - 1;
    for (int k = 0; k + 1 < in[0].ndim; k++) want.d[k] = in[0].d[k];
  } else {
    want = shape1(in[0].d[0]);
  }
  if (in[1].ndim < 0) {
    in[1] = want;
  } else if (!mx_shape_equal(&in[1], &want)) {
    /* other layouts of the same labels: (n, prod(spatial)), (n, 1, spatial...), (n, 1) */
    int ok = mx_shape_size(&in[1]) == outer * inner && in[1].ndim >= 1 &&
             (p[SO_PRESERVE].i || in[1].d[0] == in[0].d[0]);
    if (!ok) return shape_assign(&in[1], &want, "label");
  }
  out[0] = in[0];
  return MX_OK;
}

static mx_status k_softmax_output(KARGS) {
  UNUSED_KARGS;
  int64_t outer, K, inner;
  mx_status rc = so_layout(p, &in[0]->shape, &outer, &K, &inner);
  if (rc) return rc;
  return softmax_rows(out[0]->dtype, MX_PTR(in[0]), MX_PTR(out[0]), outer, K, inner, 1.0, 0);
}

/* Class indices of the labels (-1: ignored); *valid counts the labels that
 * differ from ignore_label (MXNet's "valid" normalisation). */
static mx_status read_labels(const mx_ndarray *lab, int64_t L, int64_t K, int use_ignore,
                             double ignore, int64_t *idx, int64_t *valid) {
  const void *lp = MX_PTR(lab);
  int64_t ign = mx_sat_i64(ignore), cnt = 0;
  for (int64_t i = 0; i < L; i++) {
    double v = mx_load_f64(lp, lab->dtype, i);
    int is_ign = mx_sat_i64(v) == ign;
    if (!is_ign) cnt++;
    if (use_ignore && is_ign) {
      idx[i] = -1;
      continue;
    }
    if (!(v >= 0 && v < (double)K))
      return mx_error(MX_ERR_ARG,
                      "label %g (element %lld of 'label') is not a class index in [0, %lld)%s",
                      v, (long long)(i + 1), (long long)K,
                      is_ign ? " (it equals ignore_label: set use_ignore = TRUE to skip it)" : "");
    idx[i] = (int64_t)v;
  }
  *valid = cnt;
  return MX_OK;
}

static mx_status b_softmax_output(BARGS) {
  UNUSED_BARGS;
  if (nin > 1 && WANT(1)) {
    mx_status rc = mx_ndarray_fill(ig[1], 0);
    if (rc) return rc;
  }
  if (!WANT(0)) return MX_OK;
  const mx_ndarray *Y = out[0];
  int64_t outer, K, inner;
  mx_status rc = so_layout(p, &Y->shape, &outer, &K, &inner);
  if (rc) return rc;
  int64_t L = outer * inner;
  if (p[SO_OUT_GRAD].i && !og[0])
    return mx_error(MX_ERR_UNSUPPORTED,
                    "out_grad = TRUE needs the output's gradient, which this call does not pass to a loss op");
  if (mx_ndarray_size(in[1]) != L)
    return mx_error(MX_ERR_SHAPE, "'label' has %lld elements, expected %lld",
                    (long long)mx_ndarray_size(in[1]), (long long)L);
  int64_t *lab = (int64_t *)mx_malloc((size_t)(L > 0 ? L : 1) * sizeof(int64_t));
  if (!lab) return mx_error(MX_ERR_NOMEM, "out of memory (labels)");
  int64_t valid = 0;
  rc = read_labels(in[1], L, K, (int)p[SO_USE_IGNORE].i, p[SO_IGNORE_LABEL].f, lab, &valid);
  if (rc) {
    mx_free(lab);
    return rc;
  }
  double denom = 1;
  switch ((int)p[SO_NORM].i) {
    case NORM_BATCH: denom = p[SO_MULTI].i ? (double)outer : (double)L; break;
    case NORM_VALID: denom = valid > 0 ? (double)valid : 1; break;
    default: break;
  }
  if (denom == 0) denom = 1;
  double scale = p[SO_GRAD_SCALE].f / denom;
  double alpha = p[SO_SMOOTH].f;
  double on = 1 - alpha, off = K > 1 ? alpha / (double)(K - 1) : 0;
  MX_FLOAT_SWITCH(Y->dtype, T, {
    const T *y = MX_DATA(Y, T);
    const T *go = p[SO_OUT_GRAD].i ? MX_DATA(og[0], T) : NULL;
    T *d = MX_DATA(ig[0], T);
    int nt = mx_par_threads(L * K);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t o = 0; o < outer; o++) {
      const int64_t *lr = lab + o * inner;
      for (int64_t k = 0; k < K; k++) {
        int64_t base = (o * K + k) * inner;
        for (int64_t s = 0; s < inner; s++) {
          int64_t l = lr[s];
          double v = 0;
          if (l >= 0) v = ((double)y[base + s] - (l == k ? on : off)) * scale;
          if (go) v *= (double)go[base + s];
          d[base + s] = (T)v;
        }
      }
    }
  });
  mx_free(lab);
  return MX_OK;
}

/* the output and the label (and out_grad when asked for) */
static void deps_softmax_output(DARGS) {
  for (int j = 0; j < nin; j++) ni[j] = j == 1;
  for (int k = 0; k < nout; k++) { no[k] = k == 0; ng[k] = k == 0 && p[SO_OUT_GRAD].i; }
}

/* ============================================ softmax_cross_entropy */

/* data (n, k), label (n,) -> (1,): sum over rows of -log(max(softmax, 1e-8))
 * at the label (MXNet 1.9.1). */
static mx_status shape_softmax_ce(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim != 2) return mx_error(MX_ERR_SHAPE, "input 'data' must have 2 dimensions (batch, classes)");
  mx_shape want = shape1(in[0].d[0]);
  mx_status rc = shape_assign(&in[1], &want, "label");
  if (rc) return rc;
  out[0] = shape1(1);
  return MX_OK;
}

/* The softmax of the (n, k) data into y and the class index of every row
 * into idx (an error for labels outside [0, k)). */
static mx_status softmax_ce_rows(const mx_ndarray *x, const mx_ndarray *lab, void *y,
                                 int64_t *idx) {
  int64_t n = x->shape.d[0], K = x->shape.d[1], valid;
  mx_status rc = read_labels(lab, n, K, 0, -1, idx, &valid);
  if (rc) return rc;
  return softmax_rows(x->dtype, MX_PTR(x), y, n, K, 1, 1.0, 0);
}

static mx_status k_softmax_ce(KARGS) {
  UNUSED_KARGS;
  int64_t n = in[0]->shape.d[0], K = in[0]->shape.d[1];
  size_t es = mx_dtype_size(in[0]->dtype);
  void *y = mx_malloc((size_t)(n * K > 0 ? n * K : 1) * es);
  int64_t *idx = (int64_t *)mx_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  mx_status rc = (!y || !idx) ? mx_error(MX_ERR_NOMEM, "out of memory (softmax_cross_entropy)")
                              : softmax_ce_rows(in[0], in[1], y, idx);
  if (!rc) {
    double loss = 0;
    for (int64_t r = 0; r < n; r++) {
      double v = mx_load_f64(y, in[0]->dtype, r * K + idx[r]);
      loss -= log(v > 1e-8 ? v : 1e-8);
    }
    rc = mx_ndarray_fill(out[0], loss);
  }
  mx_free(y);
  mx_free(idx);
  return rc;
}

/* d data = out_grad * (softmax - one_hot(label)); the label gets zeros */
static mx_status b_softmax_ce(BARGS) {
  UNUSED_BARGS;
  if (WANT(1)) {
    mx_status rc = mx_ndarray_fill(ig[1], 0);
    if (rc) return rc;
  }
  if (!WANT(0)) return MX_OK;
  int64_t n = in[0]->shape.d[0], K = in[0]->shape.d[1];
  int64_t *idx = (int64_t *)mx_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  if (!idx) return mx_error(MX_ERR_NOMEM, "out of memory (softmax_cross_entropy)");
  mx_status rc = softmax_ce_rows(in[0], in[1], MX_PTR(ig[0]), idx);
  if (!rc) {
    MX_FLOAT_SWITCH(ig[0]->dtype, T, {
      T *d = MX_DATA(ig[0], T);
      const T g = MX_DATA(og[0], T)[0];
      for (int64_t r = 0; r < n; r++) d[r * K + idx[r]] -= (T)1;
      for (int64_t i = 0; i < n * K; i++) d[i] *= g;
    });
  }
  mx_free(idx);
  return rc;
}

/* ========================================================= SVMOutput */

enum { SVM_MARGIN, SVM_REG, SVM_USE_LINEAR, SVM_NPARAMS };
static const mx_param_desc p_svm_output[SVM_NPARAMS] = {
  [SVM_MARGIN] = {"margin", MX_PARAM_FLOAT, 0, "1", NULL, "The loss penalises outputs that lie outside this margin."},
  [SVM_REG] = {"regularization_coefficient", MX_PARAM_FLOAT, 0, "1", NULL,
   "Regularisation parameter: the scale of the loss against the size of the coefficients."},
  [SVM_USE_LINEAR] = {"use_linear", MX_PARAM_BOOL, 0, "False", NULL,
   "Whether to use the L1-SVM objective (hinge); the L2-SVM objective (squared hinge) by default."},
};

/* label: the data's shape without its last axis (MXNet) */
static mx_status shape_svm_output(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim < 1) return mx_error(MX_ERR_SHAPE, "input 'data' must have at least one dimension");
  mx_shape want = in[0];
  want.ndim--;
  want.d[want.ndim] = 0;
  mx_status rc = shape_assign(&in[1], &want, "label");
  if (rc) return rc;
  out[0] = in[0];
  return MX_OK;
}

/* Gradient of the hinge loss (MXNet's L1_SVM / L2_SVM) over rows of K
 * scores y, label l: at l, -reg * [margin > y] (L1) or -2 reg (margin - y)+
 * (L2); elsewhere reg * [margin > -y] or 2 reg (margin + y)+. */
static mx_status b_svm_output(BARGS) {
  UNUSED_BARGS;
  if (WANT(1)) {
    mx_status rc = mx_ndarray_fill(ig[1], 0);
    if (rc) return rc;
  }
  if (!WANT(0)) return MX_OK;
  const mx_shape *s = &out[0]->shape;
  int64_t K = s->d[s->ndim - 1], n = K > 0 ? mx_shape_size(s) / K : 0;
  int64_t *idx = (int64_t *)mx_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t)), valid;
  if (!idx) return mx_error(MX_ERR_NOMEM, "out of memory (SVMOutput)");
  mx_status rc = read_labels(in[1], n, K, 0, -1, idx, &valid);
  const double m = p[SVM_MARGIN].f, reg = p[SVM_REG].f;
  const int l1 = (int)p[SVM_USE_LINEAR].i;
  if (!rc) {
    MX_FLOAT_SWITCH(out[0]->dtype, T, {
      const T *y = MX_DATA(out[0], T);
      T *d = MX_DATA(ig[0], T);
      for (int64_t r = 0; r < n; r++)
        for (int64_t k = 0; k < K; k++) {
          double v = (double)y[r * K + k], h = k == idx[r] ? m - v : m + v;
          double gv = h > 0 ? (l1 ? reg : 2 * reg * h) : 0;
          d[r * K + k] = (T)(k == idx[r] ? -gv : gv);
        }
    });
  }
  mx_free(idx);
  return rc;
}

/* ================================================ regression outputs */

enum { RG_GRAD_SCALE, RG_NPARAMS };
static const mx_param_desc p_regression[RG_NPARAMS] = {
  [RG_GRAD_SCALE] = {"grad_scale", MX_PARAM_FLOAT, 0, "1", NULL, "Scale of the gradient."},
};

/* MXNet: a label of shape (n,) goes with data (n, 1); else the data's shape
 * (any label with the same first extent and element count is accepted). */
static mx_status shape_regression(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim == 0) return mx_error(MX_ERR_SHAPE, "input 'data' must have at least one dimension");
  if (in[1].ndim < 0) {
    in[1] = (in[0].ndim == 2 && in[0].d[1] == 1) ? shape1(in[0].d[0]) : in[0];
  } else if (in[1].ndim == 0 || in[1].d[0] != in[0].d[0] ||
             mx_shape_size(&in[1]) != mx_shape_size(&in[0])) {
    mx_shape want = in[0];
    return shape_assign(&in[1], &want, "label");
  }
  out[0] = in[0];
  return MX_OK;
}

static mx_status k_copy(KARGS) {
  UNUSED_KARGS;
  if (MX_PTR(out[0]) != MX_PTR(in[0])) memcpy(MX_PTR(out[0]), MX_PTR(in[0]), mx_ndarray_nbytes(in[0]));
  return MX_OK;
}

static mx_status k_logistic(KARGS) {
  UNUSED_KARGS;
  int64_t n = mx_ndarray_size(out[0]);
  if (out[0]->dtype == MX_FLOAT32) {
    const float *a = MX_DATA(in[0], float);
    float *o = MX_DATA(out[0], float);
    PAR_MAP(n, o[i] = sigmoid_f(a[i]));
    return MX_OK;
  }
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *a = MX_DATA(in[0], T);
    T *o = MX_DATA(out[0], T);
    PAR_MAP(n, o[i] = (T)sigmoid_d(a[i]));
  });
  return MX_OK;
}

/* grad = (out - label) * grad_scale / (label size / batch); MAE: sign(out - label) */
static mx_status regression_bwd(BARGS, int mae) {
  UNUSED_BARGS;
  if (nin > 1 && WANT(1)) {
    mx_status rc = mx_ndarray_fill(ig[1], 0);
    if (rc) return rc;
  }
  if (!WANT(0)) return MX_OK;
  int64_t n = mx_ndarray_size(out[0]), nl = mx_ndarray_size(in[1]);
  if (nl != n)
    return mx_error(MX_ERR_SHAPE, "'label' has %lld elements, expected %lld", (long long)nl, (long long)n);
  int64_t batch = in[1]->shape.ndim > 0 ? in[1]->shape.d[0] : 1;
  double num_output = batch > 0 ? (double)(nl / batch) : 1;
  if (num_output <= 0) num_output = 1;
  mx_ndarray *tmp, *lab;
  mx_status rc = as_dtype(in[1], out[0]->dtype, &tmp, &lab);
  if (rc) return rc;
  double sc = p[RG_GRAD_SCALE].f / num_output;
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *y = MX_DATA(out[0], T), *l = MX_DATA(lab, T);
    T *d = MX_DATA(ig[0], T);
    const T s = (T)sc;
    if (mae) PAR_MAP(n, T e = y[i] - l[i]; d[i] = (e > 0 ? s : e < 0 ? -s : 0));
    else PAR_MAP(n, d[i] = (y[i] - l[i]) * s);
  });
  mx_ndarray_free(tmp);
  return MX_OK;
}
static mx_status b_regression(BARGS) { return regression_bwd(c, p, og, nout, in, nin, out, ig, req, 0); }
static mx_status b_mae(BARGS) { return regression_bwd(c, p, og, nout, in, nin, out, ig, req, 1); }

/* the output and the label; loss heads ignore their output gradient */
static void deps_loss_label(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = j == 1;
  for (int k = 0; k < nout; k++) { no[k] = k == 0; ng[k] = 0; }
}

/* ========================================================== MakeLoss */

enum { ML_GRAD_SCALE, ML_VALID_THRESH, ML_NORM, ML_NPARAMS };

static const mx_param_desc p_make_loss[ML_NPARAMS] = {
  [ML_GRAD_SCALE] = {"grad_scale", MX_PARAM_FLOAT, 0, "1", NULL, "The gradient of every element."},
  [ML_VALID_THRESH] = {"valid_thresh", MX_PARAM_FLOAT, 0, "0", NULL, "With normalization valid: elements greater than this count as valid."},
  [ML_NORM] = {"normalization", MX_PARAM_ENUM, 0, "null", "null|batch|valid",
   "Gradient normalisation: none, divided by the batch size (first engine axis), or by the number of elements greater than valid_thresh."},
};

static mx_status b_make_loss(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  double g = p[ML_GRAD_SCALE].f;
  int norm = (int)p[ML_NORM].i;
  if (norm == NORM_BATCH) {
    int64_t b = ig[0]->shape.ndim > 0 ? ig[0]->shape.d[0] : 1;
    g /= (double)(b > 0 ? b : 1);
  } else if (norm == NORM_VALID) {
    int64_t n = mx_ndarray_size(in[0]), cnt = 0;
    double th = p[ML_VALID_THRESH].f;
    MX_FLOAT_SWITCH(in[0]->dtype, T, {
      const T *x = MX_DATA(in[0], T);
      for (int64_t i = 0; i < n; i++) cnt += (double)x[i] > th;
    });
    g /= (double)(cnt > 0 ? cnt : 1);
  }
  return mx_ndarray_fill(ig[0], g);
}

static void deps_make_loss(DARGS) {
  for (int j = 0; j < nin; j++) ni[j] = p[ML_NORM].i == NORM_VALID;
  for (int k = 0; k < nout; k++) { no[k] = 0; ng[k] = 0; }
}

/* ========================================================= BlockGrad */

static mx_status b_zero(BARGS) {
  UNUSED_BARGS;
  for (int j = 0; j < nin; j++)
    if (WANT(j)) {
      mx_status rc = mx_ndarray_fill(ig[j], 0);
      if (rc) return rc;
    }
  return MX_OK;
}

static void deps_none(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 0;
  for (int k = 0; k < nout; k++) { no[k] = 0; ng[k] = 0; }
}

/* ====================================================== SliceChannel */

enum { SC_NUM_OUTPUTS, SC_AXIS, SC_SQUEEZE, SC_NPARAMS };

static const mx_param_desc p_slice_channel[SC_NPARAMS] = {
  [SC_NUM_OUTPUTS] = {"num_outputs", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of equal parts (at most 16)."},
  [SC_AXIS] = {"axis", MX_PARAM_INT, 0, "1", NULL, "The engine axis to split (1: the second engine axis; negative counts from the end)."},
  [SC_SQUEEZE] = {"squeeze_axis", MX_PARAM_BOOL, 0, "False", NULL,
   "Whether to drop the split axis from the outputs (its extent must then equal num_outputs)."},
};

static mx_status shape_slice_channel(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                     mx_shape *out) {
  (void)nin;
  int64_t n = p[SC_NUM_OUTPUTS].i;
  if (n < 1 || n > MX_MAX_OUTPUTS)
    return mx_error(MX_ERR_ARG, "parameter 'num_outputs' must be in 1..%d, got %lld", MX_MAX_OUTPUTS,
                    (long long)n);
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim == 0) return mx_error(MX_ERR_SHAPE, "input 'data' must have at least one dimension");
  int ax;
  mx_status rc = mx_axis_norm(p[SC_AXIS].i, in[0].ndim, &ax);
  if (rc) return mx_error_prefix(rc, "parameter 'axis': ");
  int64_t len = in[0].d[ax];
  if (len % n != 0)
    return mx_error(MX_ERR_SHAPE, "axis %d of extent %lld cannot be split into %lld equal parts", ax,
                    (long long)len, (long long)n);
  mx_shape o = in[0];
  o.d[ax] = len / n;
  if (p[SC_SQUEEZE].i) {
    if (len != n)
      return mx_error(MX_ERR_SHAPE, "squeeze_axis needs the split axis (extent %lld) to equal num_outputs (%lld)",
                      (long long)len, (long long)n);
    for (int k = ax; k + 1 < o.ndim; k++) o.d[k] = o.d[k + 1];
    o.d[--o.ndim] = 0;
  }
  for (int k = 0; k < nout; k++) out[k] = o;
  return MX_OK;
}

/* out[k] = in[..., k*len:(k+1)*len, ...] (bytes, any dtype) */
static mx_status k_slice_channel(KARGS) {
  UNUSED_KARGS;
  int ax;
  mx_status rc = mx_axis_norm(p[SC_AXIS].i, in[0]->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer, len, inner, n = nout;
  split_at(&in[0]->shape, ax, &outer, &len, &inner);
  int64_t part = len / n;
  size_t es = mx_dtype_size(in[0]->dtype), blk = (size_t)(part * inner) * es;
  const char *src = (const char *)MX_PTR(in[0]);
  int nt = mx_par_threads(mx_ndarray_size(in[0]));
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t t = 0; t < outer * n; t++) {
    int64_t o = t / n, k = t % n;
    memcpy((char *)MX_PTR(out[k]) + (size_t)o * blk, src + ((size_t)o * n + (size_t)k) * blk, blk);
  }
  return MX_OK;
}

static mx_status b_slice_channel(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  int ax;
  mx_status rc = mx_axis_norm(p[SC_AXIS].i, ig[0]->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer, len, inner, n = p[SC_NUM_OUTPUTS].i;
  split_at(&ig[0]->shape, ax, &outer, &len, &inner);
  int64_t part = len / n;
  size_t es = mx_dtype_size(ig[0]->dtype), blk = (size_t)(part * inner) * es;
  char *dst = (char *)MX_PTR(ig[0]);
  for (int64_t t = 0; t < outer * n; t++) {
    int64_t o = t / n, k = t % n;
    char *d = dst + ((size_t)o * n + (size_t)k) * blk;
    if (og[k]) memcpy(d, (const char *)MX_PTR(og[k]) + (size_t)o * blk, blk);
    else memset(d, 0, blk);   /* an output without a gradient */
  }
  return MX_OK;
}

/* ========================================================= BatchNorm */

enum { BN_EPS, BN_MOMENTUM, BN_FIX_GAMMA, BN_GLOBAL, BN_OUT_MEAN_VAR, BN_AXIS, BN_CUDNN_OFF,
       BN_NPARAMS };

static const mx_param_desc p_batch_norm[BN_NPARAMS] = {
  [BN_EPS] = {"eps", MX_PARAM_FLOAT, 0, "0.001", NULL, "Added to the variance before the square root."},
  [BN_MOMENTUM] = {"momentum", MX_PARAM_FLOAT, 0, "0.9", NULL, "Momentum of the moving averages: moving = moving * momentum + batch * (1 - momentum)."},
  [BN_FIX_GAMMA] = {"fix_gamma", MX_PARAM_BOOL, 0, "True", NULL, "Whether gamma is fixed at 1 (its gradient is then 0)."},
  [BN_GLOBAL] = {"use_global_stats", MX_PARAM_BOOL, 0, "False", NULL, "Whether to use the moving statistics in training too."},
  [BN_OUT_MEAN_VAR] = {"output_mean_var", MX_PARAM_BOOL, 0, "False", NULL, "Whether to return the mean and variance as well."},
  [BN_AXIS] = {"axis", MX_PARAM_INT, 0, "1", NULL, "The channel axis (engine order: 1 is the second engine axis; negative counts from the end)."},
  [BN_CUDNN_OFF] = {"cudnn_off", MX_PARAM_BOOL, 0, "False", NULL, "Ignored (no cuDNN)."},
};
static const char *const in_batch_norm[] = {"data", "gamma", "beta", "moving_mean", "moving_var", NULL};
static const char *const out_batch_norm[] = {"output", "mean", "var", NULL};

static int aux2(const mx_param_value *p) { (void)p; return 2; }
static int vis_batch_norm(const mx_param_value *p) { return p[BN_OUT_MEAN_VAR].i ? 3 : 1; }

static mx_status shape_batch_norm(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)nin; (void)nout;
  if (p[BN_EPS].f < 0) return mx_error(MX_ERR_ARG, "parameter 'eps' must not be negative");
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim == 0) return mx_error(MX_ERR_SHAPE, "input 'data' must have at least one dimension");
  int ax;
  mx_status rc = mx_axis_norm(p[BN_AXIS].i, in[0].ndim, &ax);
  if (rc) return mx_error_prefix(rc, "parameter 'axis': ");
  mx_shape cs = shape1(in[0].d[ax]);
  for (int j = 1; j < 5; j++) {
    rc = shape_assign(&in[j], &cs, in_batch_norm[j]);
    if (rc) return rc;
  }
  out[0] = in[0];
  out[1] = cs;
  out[2] = cs;
  return MX_OK;
}

/* Row reductions of BatchNorm over float32, vectorised (omp simd
 * reductions into double accumulators; the summation order is the SIMD
 * width's, deterministic for a build and machine).  A plain double loop
 * adds one element per add latency. */
MX_CLONES static double bn_sum_f32(const float *x, int64_t n, double mean) {
  double s1 = 0;
  NN_SIMD_SUM1
  for (int64_t i = 0; i < n; i++) s1 += (double)x[i] - mean;
  return s1;
}
MX_CLONES static double bn_sq_f32(const float *x, int64_t n, double mean) {
  double s1 = 0;
  NN_SIMD_SUM1
  for (int64_t i = 0; i < n; i++) { double d = (double)x[i] - mean; s1 += d * d; }
  return s1;
}
MX_CLONES static void bn_dsums_f32(const float *g, const float *x, int64_t n, double mean, double *sg,
                                   double *sgx) {
  double s1 = 0, s2 = 0;
  NN_SIMD_SUM2
  for (int64_t i = 0; i < n; i++) { s1 += g[i]; s2 += (double)g[i] * ((double)x[i] - mean); }
  *sg += s1;
  *sgx += s2;
}
MX_CLONES static void bn_dx_f32(const float *g, const float *x, float *d, int64_t n, double a, double mg,
                                double mean, double k2) {
  NN_SIMD
  for (int64_t i = 0; i < n; i++) d[i] = (float)(a * ((double)g[i] - mg - ((double)x[i] - mean) * k2));
}

/* The per-channel map y = x * a + b that normalises with these statistics
 * (the forward kernel and the inference folding both use it). */
static void bn_coef(double mean, double var, double eps, double gamma, double beta, double *a,
                    double *b) {
  double istd = 1.0 / sqrt(var + eps);
  *a = gamma * istd;
  *b = beta - mean * gamma * istd;
}

/* How a forward call normalises (bn_forward, bn_forward_blocked): with the
 * forward's saved statistics (again: the mirror's recompute), this batch's
 * (batch), or the moving ones; M values per channel. */
typedef struct bn_how {
  int again, batch, fix;
  int64_t M;
  double eps, mom;
} bn_how;

/* One channel: the mean and variance it normalises with, written to the
 * saved statistics *sm, *sv (the forward's, read when again); bm, bv:
 * this batch's, rounded to the stored dtype, which also move the moving
 * averages *mm, *mv; and its map y = a x + b. */
static void bn_channel(const bn_how *h, double bm, double bv, double gamma, double beta, double *mm,
                       double *mv, double *sm, double *sv, double *a, double *b) {
  double mean = *mm, var = *mv;
  if (h->again) {
    mean = *sm;
    var = *sv;
  } else if (h->batch) {
    mean = bm;
    var = bv;
    if (h->M > 0) {
      *mm = *mm * h->mom + mean * (1 - h->mom);
      *mv = *mv * h->mom + var * (1 - h->mom);
    }
  }
  *sm = mean;
  *sv = var;
  bn_coef(mean, var, h->eps, h->fix ? 1.0 : gamma, beta, a, b);
}

/* ---- the blocked layout (mx_layout_fn): float32 (N, C, H, W) as
 * nChw16c, one 16-channel block of hw pixels per image and block; the
 * channels of a block are the vector lanes.  Double accumulators as in
 * the plain kernels; the statistics in one shifted pass (bnb_stats), the
 * sums in another order. */
#define BNB 16
/* s += x - k, q += (x - k)^2 per lane (k: a sample of the channel, so
 * that the variance q / M - (s / M)^2 does not cancel) */
MX_CLONES static void bnb_sums(const float *restrict x, int64_t hw, const double *restrict k,
                               double *restrict s, double *restrict q) {
  double as[BNB], aq[BNB], kk[BNB];
  for (int l = 0; l < BNB; l++) { as[l] = aq[l] = 0; kk[l] = k[l]; }
  for (int64_t i = 0; i < hw; i++) {
    NN_SIMD
    for (int l = 0; l < BNB; l++) {
      double d = (double)x[i * BNB + l] - kk[l];
      as[l] += d;
      aq[l] += d * d;
    }
  }
  for (int l = 0; l < BNB; l++) { s[l] += as[l]; q[l] += aq[l]; }
}
MX_CLONES static void bnb_apply(const float *x, float *y, int64_t hw, const double *a, const double *b) {
  float aa[BNB], bb[BNB];
  for (int l = 0; l < BNB; l++) { aa[l] = (float)a[l]; bb[l] = (float)b[l]; }
  for (int64_t i = 0; i < hw; i++) {
    NN_SIMD
    for (int l = 0; l < BNB; l++) y[i * BNB + l] = x[i * BNB + l] * aa[l] + bb[l];
  }
}
MX_CLONES static void bnb_dsums(const float *restrict g, const float *restrict x, int64_t hw,
                                const double *restrict mean, double *restrict sg, double *restrict sgx) {
  double a1[BNB], a2[BNB], mu[BNB];
  for (int l = 0; l < BNB; l++) { a1[l] = a2[l] = 0; mu[l] = mean[l]; }
  for (int64_t i = 0; i < hw; i++) {
    NN_SIMD
    for (int l = 0; l < BNB; l++) {
      a1[l] += g[i * BNB + l];
      a2[l] += (double)g[i * BNB + l] * ((double)x[i * BNB + l] - mu[l]);
    }
  }
  for (int l = 0; l < BNB; l++) { sg[l] += a1[l]; sgx[l] += a2[l]; }
}
MX_CLONES static void bnb_dx(const float *g, const float *x, float *d, int64_t hw, const double *k) {
  /* k: a, mg, mean, k2 per lane, 16 each */
  double a[BNB], mg[BNB], mu[BNB], k2[BNB];
  for (int l = 0; l < BNB; l++) { a[l] = k[l]; mg[l] = k[BNB + l]; mu[l] = k[2 * BNB + l]; k2[l] = k[3 * BNB + l]; }
  for (int64_t i = 0; i < hw; i++) {
    NN_SIMD
    for (int l = 0; l < BNB; l++)
      d[i * BNB + l] = (float)(a[l] * ((double)g[i * BNB + l] - mg[l] - ((double)x[i * BNB + l] - mu[l]) * k2[l]));
  }
}

/* The blocked kernels run over tasks of one image and one block (N CB of
 * them, so that few channels still spread over the threads).  Sums go
 * through per-task partials, added over the images in order: the result
 * does not depend on the thread count. */
typedef struct bnb_job {
  int64_t N, CB, hw;
  double *part;            /* 2 N CB 16: two sets of per-task sums */
} bnb_job;

/* A blocked call's scratch in doubles (bnb_job.part first): forward the
 * partials, then per channel mean, variance and the map a, b; backward
 * the partials, then per channel the mean, both sums and the dx map. */
static size_t bnb_doubles(const mx_shape *xs, int backward) {
  int64_t C = xs->d[1];
  return (size_t)(2 * xs->d[0] * C + (backward ? 7 : 4) * C);
}

/* BatchNorm's workspace hook: only the blocked kernels need scratch. */
static size_t ws_batch_norm(const mx_op_ctx *c, const mx_param_value *p, int nin, const mx_shape *in,
                            int dtype, int backward) {
  (void)p; (void)nin; (void)dtype;
  return c->blocked_in & 1u ? bnb_doubles(&in[0], backward == 1) * sizeof(double) : 0;
}

static size_t bnb_off(const bnb_job *j, int64_t n, int64_t cb) {
  return (size_t)((n * j->CB + cb) * j->hw * BNB);
}

/* acc[cb 16 + l] = sum over the images of part[(n CB + cb) 16 + l] */
static void bnb_reduce(const bnb_job *j, const double *part, double *acc) {
  for (int64_t k = 0; k < j->CB * BNB; k++) acc[k] = 0;
  for (int64_t n = 0; n < j->N; n++)
    for (int64_t k = 0; k < j->CB * BNB; k++) acc[k] += part[n * j->CB * BNB + k];
}

/* Batch statistics in one pass over x, shifted by the channel's first
 * value: mean[C] and var[C] (biased); j->part holds two sets of partials. */
static void bnb_stats(const bnb_job *j, const float *x, int nt, double *mean, double *var) {
  int64_t T = j->N * j->CB, M = j->N * j->hw, C = j->CB * BNB;
  for (int64_t ch = 0; ch < C; ch++)
    mean[ch] = M > 0 ? x[bnb_off(j, 0, ch / BNB) + (size_t)(ch % BNB)] : 0;   /* the shift */
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t t = 0; t < T; t++) {
    double *s = j->part + t * BNB, *q = j->part + (T + t) * BNB;
    for (int l = 0; l < BNB; l++) s[l] = q[l] = 0;
    bnb_sums(x + bnb_off(j, t / j->CB, t % j->CB), j->hw, mean + (t % j->CB) * BNB, s, q);
  }
  bnb_reduce(j, j->part, var);           /* sum of x - k, for now */
  for (int64_t ch = 0; ch < C; ch++) {
    double d = M > 0 ? var[ch] / (double)M : 0;
    mean[ch] += d;
    var[ch] = d;
  }
  double *q = j->part;                   /* the first set is read: its place */
  bnb_reduce(j, j->part + T * BNB, q);
  for (int64_t ch = 0; ch < C; ch++) {
    double v = M > 0 ? q[ch] / (double)M - var[ch] * var[ch] : 0;
    var[ch] = v > 0 ? v : 0;
  }
}

static int bnb_threads(const bnb_job *j) {
  int nt = mx_par_threads(j->N * j->CB * j->hw * BNB);
  return nt > j->N * j->CB ? (int)(j->N * j->CB > 0 ? j->N * j->CB : 1) : nt;
}

/* Forward on the blocked layout: bn_forward's arguments, float32, axis 1. */
static mx_status bn_forward_blocked(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in,
                                    mx_ndarray *const *out) {
  const mx_shape *xs = &in[0]->shape;
  bnb_job j = {xs->d[0], xs->d[1] / BNB, xs->d[2] * xs->d[3], NULL};
  int64_t C = xs->d[1];
  int batch = c->is_train && !p[BN_GLOBAL].i;
  bn_how h = {batch && c->recompute && out[1] && out[2], batch, (int)p[BN_FIX_GAMMA].i,
              j.N * j.hw, p[BN_EPS].f, p[BN_MOMENTUM].f};
  const float *x = MX_DATA(in[0], float), *gam = MX_DATA(in[1], float), *bet = MX_DATA(in[2], float);
  float *mm = MX_DATA(in[3], float), *mv = MX_DATA(in[4], float), *y = MX_DATA(out[0], float);
  float *om = out[1] ? MX_DATA(out[1], float) : NULL, *ov = out[2] ? MX_DATA(out[2], float) : NULL;
  mx_scratch ws;
  mx_status rc = mx_scratch_open(c, bnb_doubles(xs, 0) * sizeof(double), &ws);
  if (rc) return rc;
  j.part = (double *)(void *)ws.base;
  double *mean = j.part + 2 * j.N * C, *var = mean + C, *ab = var + C;
  int nt = bnb_threads(&j);
  if (h.batch && !h.again) bnb_stats(&j, x, nt, mean, var);
  for (int64_t ch = 0; ch < C; ch++) {
    double mmd = mm[ch], mvd = mv[ch], smd = om ? om[ch] : 0, svd = ov ? ov[ch] : 0, ad, bd;
    bn_channel(&h, (double)(float)mean[ch], (double)(float)var[ch], gam[ch], bet[ch], &mmd, &mvd, &smd,
               &svd, &ad, &bd);
    mm[ch] = (float)mmd;
    mv[ch] = (float)mvd;
    if (om && !h.again) om[ch] = (float)smd;
    if (ov && !h.again) ov[ch] = (float)svd;
    ab[ch] = ad;
    ab[C + ch] = bd;
  }
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t t = 0; t < j.N * j.CB; t++) {
    size_t o = bnb_off(&j, t / j.CB, t % j.CB);
    bnb_apply(x + o, y + o, j.hw, ab + (t % j.CB) * BNB, ab + C + (t % j.CB) * BNB);
  }
  mx_scratch_close(&ws);
  return MX_OK;
}

/* Backward on the blocked layout: bn_backward's arguments, float32, axis 1. */
static mx_status bn_backward_blocked(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *og,
                                     mx_ndarray *const *in, mx_ndarray *const *out,
                                     mx_ndarray *const *ig, const int *req) {
  const mx_shape *xs = &in[0]->shape;
  bnb_job j = {xs->d[0], xs->d[1] / BNB, xs->d[2] * xs->d[3], NULL};
  int64_t C = xs->d[1], M = j.N * j.hw, T = j.N * j.CB;
  int batch = c->is_train && !p[BN_GLOBAL].i;
  int fix = (int)p[BN_FIX_GAMMA].i;
  double eps = p[BN_EPS].f;
  const float *x = MX_DATA(in[0], float), *dy = MX_DATA(og[0], float), *gam = MX_DATA(in[1], float);
  const float *om = MX_DATA(out[1], float), *ov = MX_DATA(out[2], float);
  float *dx = WANT(0) ? MX_DATA(ig[0], float) : NULL;
  float *dg = WANT(1) ? MX_DATA(ig[1], float) : NULL;
  float *db = WANT(2) ? MX_DATA(ig[2], float) : NULL;
  mx_scratch ws;
  mx_status rc = mx_scratch_open(c, bnb_doubles(xs, 1) * sizeof(double), &ws);
  if (rc) return rc;
  double *part = (double *)(void *)ws.base, *mean = part + 2 * T * BNB, *sg = mean + C, *sgx = sg + C;
  double *k = sgx + C;                   /* the dx map: 4 C */
  for (int64_t ch = 0; ch < C; ch++) mean[ch] = om[ch];
  int nt = bnb_threads(&j);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t t = 0; t < T; t++) {
    double *s1 = part + t * BNB, *s2 = part + (T + t) * BNB;
    for (int l = 0; l < BNB; l++) s1[l] = s2[l] = 0;
    size_t o = bnb_off(&j, t / j.CB, t % j.CB);
    bnb_dsums(dy + o, x + o, j.hw, mean + (t % j.CB) * BNB, s1, s2);
  }
  bnb_reduce(&j, part, sg);
  bnb_reduce(&j, part + T * BNB, sgx);
  for (int64_t ch = 0; ch < C; ch++) {
    int64_t cb = ch / BNB, l = ch % BNB;
    double istd = 1.0 / sqrt((double)ov[ch] + eps), g = fix ? 1.0 : (double)gam[ch];
    if (db) db[ch] = (float)sg[ch];
    if (dg) dg[ch] = fix ? 0 : (float)(sgx[ch] * istd);
    double *kc = k + cb * 4 * BNB;
    kc[l] = g * istd;
    kc[BNB + l] = M > 0 && batch ? sg[ch] / (double)M : 0;
    kc[2 * BNB + l] = mean[ch];
    kc[3 * BNB + l] = M > 0 && batch ? sgx[ch] * istd * istd / (double)M : 0;
  }
  if (dx) {
    MX_OMP_FOR(nt)
    for (int64_t t = 0; t < T; t++) {
      size_t o = bnb_off(&j, t / j.CB, t % j.CB);
      bnb_dx(dy + o, x + o, dx + o, j.hw, k + (t % j.CB) * 4 * BNB);
    }
  }
  mx_scratch_close(&ws);
  return MX_OK;
}

/* Data and output (and their gradients) in either layout, the same for
 * both: float32 channels on axis 1 of 4-D data; the rest plain. */
static void lay_batch_norm(const mx_param_value *p, int nin, const mx_shape *in, int nout,
                           const mx_shape *out, unsigned char *mode) {
  (void)nout; (void)out;
  int ax;
  if (in[0].ndim == 4 && mx_axis_norm(p[BN_AXIS].i, 4, &ax) == MX_OK && ax == 1) mode[0] = mode[nin] = MX_LAY_TIED;
}

/* Training (batch statistics, moving averages updated in place) or
 * inference / use_global_stats (moving statistics).  Outputs: the
 * normalised data, the mean and the (biased) variance that were used. */
static mx_status bn_forward(KARGS) {
  UNUSED_KARGS;
  if (c->blocked_in & 1u) return bn_forward_blocked(c, p, in, out);
  int ax;
  mx_status rc = mx_axis_norm(p[BN_AXIS].i, in[0]->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer, C, inner;
  split_at(&in[0]->shape, ax, &outer, &C, &inner);
  int64_t M = outer * inner;
  int batch = c->is_train && !p[BN_GLOBAL].i;
  /* the mirror's recompute: the statistics the forward call used, no update */
  bn_how h = {batch && c->recompute && out[1] && out[2], batch, (int)p[BN_FIX_GAMMA].i, M,
              p[BN_EPS].f, p[BN_MOMENTUM].f};
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T), *gam = MX_DATA(in[1], T), *bet = MX_DATA(in[2], T);
    T *mm = MX_DATA(in[3], T), *mv = MX_DATA(in[4], T);
    T *y = MX_DATA(out[0], T);
    T *om = out[1] ? MX_DATA(out[1], T) : NULL, *ov = out[2] ? MX_DATA(out[2], T) : NULL;
    int nt = mx_par_threads(M * C);
    if (nt > C) nt = (int)(C > 0 ? C : 1);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t ch = 0; ch < C; ch++) {
      double mean = 0, var = 0;
      if (h.batch && !h.again) {
        double s = 0, ss = 0;
        int f32 = sizeof(T) == sizeof(float);
        for (int64_t o = 0; o < outer; o++) {
          const T *xr = x + (o * C + ch) * inner;
          if (f32) s += bn_sum_f32((const float *)(const void *)xr, inner, 0.0);
          else for (int64_t i = 0; i < inner; i++) s += xr[i];
        }
        mean = M > 0 ? s / (double)M : 0;
        for (int64_t o = 0; o < outer; o++) {
          const T *xr = x + (o * C + ch) * inner;
          if (f32) {
            ss += bn_sq_f32((const float *)(const void *)xr, inner, mean);
            continue;
          }
          for (int64_t i = 0; i < inner; i++) {
            double dv = (double)xr[i] - mean;
            ss += dv * dv;
          }
        }
        var = M > 0 ? ss / (double)M : 0;
        /* normalise with the statistics as stored (the output's dtype), as
         * backward and the mirror's recompute read them */
        mean = (double)(T)mean;
        var = (double)(T)var;
      }
      double mmd = mm[ch], mvd = mv[ch], smd = om ? om[ch] : 0, svd = ov ? ov[ch] : 0, ad, bd;
      bn_channel(&h, mean, var, gam[ch], bet[ch], &mmd, &mvd, &smd, &svd, &ad, &bd);
      mm[ch] = (T)mmd;
      mv[ch] = (T)mvd;
      if (om && !h.again) om[ch] = (T)smd;
      if (ov && !h.again) ov[ch] = (T)svd;
      const T a = (T)ad, b = (T)bd;
      for (int64_t o = 0; o < outer; o++) {
        const T *xr = x + (o * C + ch) * inner;
        T *yr = y + (o * C + ch) * inner;
        NN_SIMD
        for (int64_t i = 0; i < inner; i++) yr[i] = xr[i] * a + b;
      }
    }
  });
  return MX_OK;
}

/* Batch statistics: dx = g istd (dy - mean(dy) - xhat mean(dy xhat));
 * moving statistics: dx = g istd dy.  dgamma = sum dy xhat (0 with
 * fix_gamma), dbeta = sum dy. */
static mx_status bn_backward(BARGS) {
  UNUSED_BARGS;
  if (c->blocked_in & 1u) return bn_backward_blocked(c, p, og, in, out, ig, req);
  const mx_ndarray *X = in[0];
  int ax;
  mx_status rc = mx_axis_norm(p[BN_AXIS].i, X->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer, C, inner;
  split_at(&X->shape, ax, &outer, &C, &inner);
  int64_t M = outer * inner;
  int batch = c->is_train && !p[BN_GLOBAL].i;
  int fix = (int)p[BN_FIX_GAMMA].i;
  double eps = p[BN_EPS].f;
  int w0 = WANT(0), w1 = WANT(1), w2 = WANT(2);
  MX_FLOAT_SWITCH(X->dtype, T, {
    const T *x = MX_DATA(X, T), *dy = MX_DATA(og[0], T), *gam = MX_DATA(in[1], T);
    const T *om = MX_DATA(out[1], T), *ov = MX_DATA(out[2], T);
    T *dx = w0 ? MX_DATA(ig[0], T) : NULL;
    T *dg = w1 ? MX_DATA(ig[1], T) : NULL;
    T *db = w2 ? MX_DATA(ig[2], T) : NULL;
    int nt = mx_par_threads(M * C);
    if (nt > C) nt = (int)(C > 0 ? C : 1);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t ch = 0; ch < C; ch++) {
      double mean = om[ch], istd = 1.0 / sqrt((double)ov[ch] + eps);
      double g = fix ? 1.0 : (double)gam[ch];
      double sg = 0, sgx = 0;
      int f32 = sizeof(T) == sizeof(float);
      for (int64_t o = 0; o < outer; o++) {
        const T *xr = x + (o * C + ch) * inner, *gr = dy + (o * C + ch) * inner;
        if (f32) {
          bn_dsums_f32((const float *)(const void *)gr, (const float *)(const void *)xr, inner, mean,
                       &sg, &sgx);
          continue;
        }
        for (int64_t i = 0; i < inner; i++) {
          sg += gr[i];
          sgx += (double)gr[i] * ((double)xr[i] - mean);
        }
      }
      if (db) db[ch] = (T)sg;
      if (dg) dg[ch] = fix ? 0 : (T)(sgx * istd);
      if (dx) {
        double a = g * istd;
        double mg = M > 0 && batch ? sg / (double)M : 0;
        double k2 = M > 0 && batch ? sgx * istd * istd / (double)M : 0;
        for (int64_t o = 0; o < outer; o++) {
          const T *xr = x + (o * C + ch) * inner, *gr = dy + (o * C + ch) * inner;
          T *dr = dx + (o * C + ch) * inner;
          if (f32) {
            bn_dx_f32((const float *)(const void *)gr, (const float *)(const void *)xr,
                      (float *)(void *)dr, inner, a, mg, mean, k2);
            continue;
          }
          for (int64_t i = 0; i < inner; i++)
            dr[i] = (T)(a * ((double)gr[i] - mg - ((double)xr[i] - mean) * k2));
        }
      }
    }
  });
  return MX_OK;
}

/* float16: computed in float32 copies; outputs, gradients and the moving
 * statistics are written back. */
static mx_status to_f32(mx_ndarray *a, mx_ndarray **t) {
  *t = NULL;
  return a ? mx_ndarray_copy(a, MX_FLOAT32, a->ctx, t) : MX_OK;
}

/* Inference as an affine map (inference folding, mx_affine_fn): float32
 * data with the channels on axis 1. */
static mx_status bn_affine(const mx_param_value *p, mx_ndarray *const *in, int nin, float *scale,
                           float *shift, int64_t n) {
  int ax;
  if (nin < 5 || in[0]->dtype != MX_FLOAT32 || mx_axis_norm(p[BN_AXIS].i, in[0]->shape.ndim, &ax) ||
      ax != 1 || in[0]->shape.d[1] != n) {
    mx_error_clear();
    return MX_ERR_UNSUPPORTED;
  }
  const float *gam = MX_DATA(in[1], float), *bet = MX_DATA(in[2], float);
  const float *mm = MX_DATA(in[3], float), *mv = MX_DATA(in[4], float);
  for (int64_t ch = 0; ch < n; ch++) {
    double a, b;
    bn_coef(mm[ch], mv[ch], p[BN_EPS].f, p[BN_FIX_GAMMA].i ? 1.0 : (double)gam[ch], bet[ch], &a, &b);
    scale[ch] = (float)a;
    shift[ch] = (float)b;
  }
  return MX_OK;
}

static int act_is_relu(const mx_param_value *p) { return p[AP_ACT_TYPE].i == ACT_RELU; }

static mx_status k_batch_norm(KARGS) {
  if (in[0]->dtype != MX_FLOAT16) return bn_forward(c, p, in, nin, out, nout, req);
  mx_ndarray *ti[5] = {0}, *to[3] = {0};
  mx_status rc = MX_OK;
  for (int j = 0; j < 5 && !rc; j++) rc = to_f32(in[j], &ti[j]);
  for (int k = 0; k < 3 && !rc; k++)   /* a recompute reads the statistics */
    if (out[k]) rc = k > 0 && c->recompute ? to_f32(out[k], &to[k])
                                           : mx_ndarray_new(&out[k]->shape, MX_FLOAT32, out[k]->ctx, &to[k]);
  if (!rc) rc = bn_forward(c, p, ti, nin, to, nout, req);
  for (int k = 0; k < 3 && !rc; k++)
    if (out[k]) rc = mx_ndarray_copy_into(to[k], out[k]);
  if (!rc && c->is_train && !p[BN_GLOBAL].i && !c->recompute) {
    rc = mx_ndarray_copy_into(ti[3], in[3]);
    if (!rc) rc = mx_ndarray_copy_into(ti[4], in[4]);
  }
  for (int j = 0; j < 5; j++) mx_ndarray_free(ti[j]);
  for (int k = 0; k < 3; k++) mx_ndarray_free(to[k]);
  return rc;
}

static mx_status b_batch_norm(BARGS) {
  if (in[0]->dtype != MX_FLOAT16) return bn_backward(c, p, og, nout, in, nin, out, ig, req);
  mx_ndarray *tg[3] = {0}, *ti[5] = {0}, *to[3] = {0}, *td[5] = {0};
  mx_status rc = MX_OK;
  for (int k = 0; k < 3 && !rc; k++) rc = to_f32(og[k], &tg[k]);
  for (int k = 0; k < 3 && !rc; k++) rc = to_f32(out[k], &to[k]);
  for (int j = 0; j < 5 && !rc; j++) rc = to_f32(in[j], &ti[j]);
  for (int j = 0; j < 3 && !rc; j++)
    if (WANT(j)) rc = mx_ndarray_new(&ig[j]->shape, MX_FLOAT32, ig[j]->ctx, &td[j]);
  if (!rc) rc = bn_backward(c, p, tg, nout, ti, nin, to, td, req);
  for (int j = 0; j < 3 && !rc; j++)
    if (td[j]) rc = mx_ndarray_copy_into(td[j], ig[j]);
  for (int k = 0; k < 3; k++) { mx_ndarray_free(tg[k]); mx_ndarray_free(to[k]); }
  for (int j = 0; j < 5; j++) { mx_ndarray_free(ti[j]); mx_ndarray_free(td[j]); }
  return rc;
}

/* Gamma, beta and the statistics are float32 for half data, as in MXNet
 * (cuDNN takes no other), else of the data's dtype; half ones are taken
 * too (computed in float32 alike). */
static mx_status type_batch_norm(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p;
  int t = in[0] >= 0 ? in[0] : out[0];
  for (int j = 1; j < nin && t < 0; j++) t = in[j];
  if (t < 0) return MX_OK;
  int pt = t == MX_FLOAT16 || t == MX_BFLOAT16 ? MX_FLOAT32 : t;
  in[0] = t;
  for (int j = 1; j < nin; j++) {
    if (in[j] < 0) in[j] = pt;
    else if (in[j] != pt && in[j] != t)
      return mx_error(MX_ERR_DTYPE, "BatchNorm: input %d is %s; for %s data it must be %s", j + 1,
                      mx_dtype_name(in[j]), mx_dtype_name(t), mx_dtype_name(pt));
  }
  out[0] = t;
  for (int k = 1; k < nout; k++) out[k] = nin > 1 ? in[1] : pt;
  return MX_OK;
}

/* data, gamma, the saved mean and variance, the output's gradient */
static void deps_batch_norm(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = j < 2;
  for (int k = 0; k < nout; k++) { no[k] = k >= 1; ng[k] = k == 0; }
}

/* =========================================================== Dropout */

enum { DO_P, DO_MODE, DO_AXES, DO_CUDNN_OFF, DO_NPARAMS };

static const mx_param_desc p_dropout[DO_NPARAMS] = {
  [DO_P] = {"p", MX_PARAM_FLOAT, 0, "0.5", NULL, "Fraction of the input that is dropped."},
  [DO_MODE] = {"mode", MX_PARAM_ENUM, 0, "training", "training|always",
   "training: drop only in training; always: also at inference."},
  [DO_AXES] = {"axes", MX_PARAM_SHAPE, 0, "()", NULL, "Engine axes along which one mask value is shared (variational dropout)."},
  [DO_CUDNN_OFF] = {"cudnn_off", MX_PARAM_BOOL, 0, "False", NULL, "Ignored (no cuDNN)."},
};

static mx_status shape_dropout(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  double pr = p[DO_P].f;
  if (!(pr >= 0 && pr <= 1)) return mx_error(MX_ERR_ARG, "parameter 'p' must be in [0, 1], got %g", pr);
  if (in[0].ndim < 0) return MX_OK;
  mx_shape m = in[0];
  for (int k = 0; k < p[DO_AXES].n; k++) {
    int ax;
    mx_status rc = mx_axis_norm(p[DO_AXES].tup[k], in[0].ndim, &ax);
    if (rc) return mx_error_prefix(rc, "parameter 'axes': ");
    m.d[ax] = 1;
  }
  out[0] = in[0];
  out[1] = m;
  return MX_OK;
}

/* y = x * m with m broadcast over the axes where its extent is 1 */
#define BCAST_MUL(T, X, Mk, Y, DS, MS)                                        \
  do {                                                                        \
    int64_t bn_ = mx_shape_size(DS), bm_ = mx_shape_size(MS);                  \
    if (bm_ == bn_) {                                                          \
      PAR_MAP(bn_, (Y)[i] = (X)[i] * (Mk)[i]);                                 \
    } else if (bn_ > 0) {                                                      \
      int nd_ = (DS)->ndim, last_ = nd_ - 1;                                  \
      int64_t st_[MX_MAX_DIM], bs_[MX_MAX_DIM];                               \
      mx_shape_strides(MS, st_);                                              \
      for (int k_ = 0; k_ < nd_; k_++) bs_[k_] = (MS)->d[k_] == 1 ? 0 : st_[k_]; \
      int64_t inner_ = (DS)->d[last_], rows_ = bn_ / inner_, ls_ = bs_[last_]; \
      int nt_ = mx_par_threads(bn_);                                           \
      (void)nt_;                                                              \
      MX_OMP_FOR(nt_)                                                         \
      for (int64_t r_ = 0; r_ < rows_; r_++) {                                \
        int64_t rem_ = r_, mo_ = 0;                                           \
        for (int k_ = last_ - 1; k_ >= 0; k_--) {                             \
          mo_ += (rem_ % (DS)->d[k_]) * bs_[k_];                              \
          rem_ /= (DS)->d[k_];                                                \
        }                                                                     \
        const T *xr_ = (X) + r_ * inner_;                                     \
        T *yr_ = (Y) + r_ * inner_;                                           \
        for (int64_t j_ = 0; j_ < inner_; j_++) yr_[j_] = xr_[j_] * (Mk)[mo_ + j_ * ls_]; \
      }                                                                       \
    }                                                                         \
  } while (0)

static mx_status k_dropout(KARGS) {
  UNUSED_KARGS;
  double pr = p[DO_P].f;
  int active = (c->is_train || p[DO_MODE].i == 1) && pr > 0;
  int64_t nm = mx_ndarray_size(out[1]);
  int dt = out[0]->dtype;
  if (!active) {   /* identity; the mask is 1 so that backward passes dy */
    if (MX_PTR(out[0]) != MX_PTR(in[0]))
      memcpy(MX_PTR(out[0]), MX_PTR(in[0]), mx_ndarray_nbytes(in[0]));
    return mx_ndarray_fill(out[1], 1);
  }
  double keep = 1 - pr, scale = keep > 0 ? 1 / keep : 0;
  mx_rng r = c->rng;
  float *u = dt == MX_FLOAT32 ? MX_DATA(out[1], float)
                              : (float *)mx_malloc((size_t)(nm > 0 ? nm : 1) * sizeof(float));
  if (!u) return mx_error(MX_ERR_NOMEM, "out of memory (dropout mask)");
  mx_rng_uniform_f32(&r, u, nm, 0, 1);
  const float kf = (float)keep;
  MX_FLOAT_SWITCH(dt, T, {
    T *m = MX_DATA(out[1], T);
    const T s = (T)scale;
    PAR_MAP(nm, m[i] = u[i] < kf ? s : (T)0);
    const T *x = MX_DATA(in[0], T);
    T *y = MX_DATA(out[0], T);
    BCAST_MUL(T, x, m, y, &out[0]->shape, &out[1]->shape);
  });
  if ((void *)u != MX_PTR(out[1])) mx_free(u);
  return MX_OK;
}

static mx_status b_dropout(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  MX_FLOAT_SWITCH(og[0]->dtype, T, {
    const T *g = MX_DATA(og[0], T), *m = MX_DATA(out[1], T);
    T *d = MX_DATA(ig[0], T);
    BCAST_MUL(T, g, m, d, &og[0]->shape, &out[1]->shape);
  });
  return MX_OK;
}

/* the mask and the output's gradient */
static void deps_dropout(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 0;
  for (int k = 0; k < nout; k++) { no[k] = k == 1; ng[k] = k == 0; }
}

/* ========================================================= Embedding */

enum { EM_INPUT_DIM, EM_OUTPUT_DIM, EM_DTYPE, EM_SPARSE, EM_NPARAMS };

static const mx_param_desc p_embedding[EM_NPARAMS] = {
  [EM_INPUT_DIM] = {"input_dim", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Vocabulary size: indices are in [0, input_dim)."},
  [EM_OUTPUT_DIM] = {"output_dim", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Size of each embedding vector."},
  [EM_DTYPE] = {"dtype", MX_PARAM_DTYPE, 0, "float32", NULL, "dtype of the weight (and the output) when not known from the weight."},
  [EM_SPARSE] = {"sparse_grad", MX_PARAM_BOOL, 0, "False", NULL, "The weight's gradient as row_sparse rows: mx.model.FeedForward.create then updates only the rows the batch uses (sgd, adam, adagrad; lazy update). On one CPU it computes the Embedding outside the executor, so no vocabulary-sized gradient exists; a bound executor still computes a dense gradient."},
};
static const char *const in_embedding[] = {"data", "weight", NULL};

static mx_status shape_embedding(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                 mx_shape *out) {
  (void)nin; (void)nout;
  int64_t K = p[EM_INPUT_DIM].i, D = p[EM_OUTPUT_DIM].i;
  if (K < 1) return mx_error(MX_ERR_ARG, "parameter 'input_dim' must be positive, got %lld", (long long)K);
  if (D < 1) return mx_error(MX_ERR_ARG, "parameter 'output_dim' must be positive, got %lld", (long long)D);
  mx_shape w = shape2(K, D);
  mx_status rc = shape_assign(&in[1], &w, "weight");
  if (rc) return rc;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim >= MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "input 'data' may have at most %d dimensions", MX_MAX_DIM - 1);
  out[0] = in[0];
  out[0].d[out[0].ndim++] = D;
  return MX_OK;
}

/* the output takes the weight's dtype (the dtype param when unknown); the
 * indices may have any dtype */
static mx_status type_embedding(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nin; (void)nout;
  int dt = mx_param_dtype(&p[EM_DTYPE], MX_FLOAT32);
  if (in[1] < 0) in[1] = out[0] >= 0 ? out[0] : dt;
  if (in[0] < 0) in[0] = dt;
  out[0] = in[1];
  return MX_OK;
}

/* Row index of every element of data, clipped into [0, K-1]. */
static mx_status embedding_rows(const mx_ndarray *data, int64_t K, int64_t *idx) {
  int64_t n = mx_ndarray_size(data);
  MX_DTYPE_SWITCH(data->dtype, T, {
    const T *x = MX_DATA(data, T);
    for (int64_t i = 0; i < n; i++) {
      double v = (double)x[i];
      idx[i] = !(v > 0) ? 0 : v >= (double)(K - 1) ? K - 1 : (int64_t)v;
    }
  });
  return MX_OK;
}

static mx_status k_embedding(KARGS) {
  UNUSED_KARGS;
  int64_t n = mx_ndarray_size(in[0]), K = p[EM_INPUT_DIM].i, D = p[EM_OUTPUT_DIM].i;
  int64_t *idx = (int64_t *)mx_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  if (!idx) return mx_error(MX_ERR_NOMEM, "out of memory (indices)");
  mx_status rc = embedding_rows(in[0], K, idx);
  if (rc) {
    mx_free(idx);
    return rc;
  }
  size_t row = (size_t)D * mx_dtype_size(out[0]->dtype);
  const char *w = (const char *)MX_PTR(in[1]);
  char *y = (char *)MX_PTR(out[0]);
  int nt = mx_par_threads(n * D);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t i = 0; i < n; i++) memcpy(y + (size_t)i * row, w + (size_t)idx[i] * row, row);
  mx_free(idx);
  return MX_OK;
}

/* dW[idx[i], ] += dy[i, ]; columns are split between threads, so no two
 * threads write the same element */
static mx_status b_embedding(BARGS) {
  UNUSED_BARGS;
  if (WANT(0)) {
    mx_status rc = mx_ndarray_fill(ig[0], 0);
    if (rc) return rc;
  }
  if (!WANT(1)) return MX_OK;
  int64_t n = mx_ndarray_size(in[0]), K = p[EM_INPUT_DIM].i, D = p[EM_OUTPUT_DIM].i;
  int64_t *idx = (int64_t *)mx_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  if (!idx) return mx_error(MX_ERR_NOMEM, "out of memory (indices)");
  mx_status rc = embedding_rows(in[0], K, idx);
  if (!rc) rc = mx_ndarray_fill(ig[1], 0);
  if (rc) {
    mx_free(idx);
    return rc;
  }
  MX_FLOAT_SWITCH(ig[1]->dtype, T, {
    const T *g = MX_DATA(og[0], T);
    T *dw = MX_DATA(ig[1], T);
    int nt = mx_par_threads(n * D);
    if (nt > D) nt = (int)D;
    if (nt < 1) nt = 1;
    MX_OMP_FOR(nt)
    for (int t = 0; t < nt; t++) {
      int64_t j0 = D * t / nt, j1 = D * (t + 1) / nt;
      for (int64_t i = 0; i < n; i++) {
        T *dr = dw + idx[i] * D;
        const T *gr = g + i * D;
        NN_SIMD
        for (int64_t j = j0; j < j1; j++) dr[j] += gr[j];
      }
    }
  });
  mx_free(idx);
  return MX_OK;
}

/* the indices and the output's gradient */
static void deps_embedding(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = j == 0;
  for (int k = 0; k < nout; k++) { no[k] = 0; ng[k] = 1; }
}

/* ============================================================== Crop */

enum { CR_NUM_ARGS, CR_OFFSET, CR_H_W, CR_CENTER, CR_NPARAMS };

static const mx_param_desc p_crop[CR_NPARAMS] = {
  [CR_NUM_ARGS] = {"num_args", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "1 (crop to h_w) or 2 (crop to the spatial size of the second input)."},
  [CR_OFFSET] = {"offset", MX_PARAM_SHAPE, 0, "(0, 0)", NULL, "Offset of the crop's top left corner (engine order (y, x))."},
  [CR_H_W] = {"h_w", MX_PARAM_SHAPE, 0, "(0, 0)", NULL, "Height and width of the crop (engine order (h, w)) when num_args is 1."},
  [CR_CENTER] = {"center_crop", MX_PARAM_BOOL, 0, "False", NULL, "Whether to crop the centre (offset is then ignored)."},
};
static const char *const in_crop[] = {"data", "crop_like", NULL};

static int list_crop(const mx_param_value *p, const char **names, int max) {
  int n = p[CR_NUM_ARGS].is_set && p[CR_NUM_ARGS].i == 2 ? 2 : 1;
  for (int k = 0; k < n && k < max; k++) names[k] = in_crop[k];
  return n;
}

/* crop window (y0, x0, h, w) of a 4-d data shape */
static mx_status crop_window(const mx_param_value *p, const mx_shape *d, const mx_shape *like,
                             int64_t *y0, int64_t *x0, int64_t *h, int64_t *w) {
  if (p[CR_OFFSET].n != 2) return mx_error(MX_ERR_ARG, "parameter 'offset' must have 2 entries");
  if (like) {
    if (like->ndim != 4)
      return mx_error(MX_ERR_SHAPE, "input 'crop_like' must have 4 dimensions (NCHW), got %d", like->ndim);
    *h = like->d[2];
    *w = like->d[3];
  } else {
    if (p[CR_H_W].n != 2) return mx_error(MX_ERR_ARG, "parameter 'h_w' must have 2 entries");
    *h = p[CR_H_W].tup[0];
    *w = p[CR_H_W].tup[1];
    if (*h < 1 || *w < 1)
      return mx_error(MX_ERR_ARG, "parameter 'h_w' must be positive (or give crop_like)");
  }
  int64_t H = d->d[2], W = d->d[3];
  if (p[CR_CENTER].i) {
    *y0 = (H - *h) / 2;
    *x0 = (W - *w) / 2;
  } else {
    *y0 = p[CR_OFFSET].tup[0];
    *x0 = p[CR_OFFSET].tup[1];
  }
  if (*y0 < 0 || *x0 < 0 || *h > H - *y0 || *w > W - *x0)
    return mx_error(MX_ERR_SHAPE, "a crop of %lld x %lld at offset (%lld, %lld) does not fit data of %lld x %lld",
                    (long long)*h, (long long)*w, (long long)*y0, (long long)*x0, (long long)H,
                    (long long)W);
  return MX_OK;
}

static mx_status shape_crop(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nout;
  int64_t na = p[CR_NUM_ARGS].i;
  if (na != 1 && na != 2) return mx_error(MX_ERR_ARG, "parameter 'num_args' must be 1 or 2, got %lld", (long long)na);
  if (nin != na) return mx_error(MX_ERR_ARG, "expects %lld inputs, got %d", (long long)na, nin);
  if (in[0].ndim < 0 || (na == 2 && in[1].ndim < 0)) return MX_OK;
  if (in[0].ndim != 4)
    return mx_error(MX_ERR_SHAPE, "input 'data' must have 4 dimensions (NCHW), got %d", in[0].ndim);
  int64_t y0, x0, h, w;
  mx_status rc = crop_window(p, &in[0], na == 2 ? &in[1] : NULL, &y0, &x0, &h, &w);
  if (rc) return rc;
  out[0] = in[0];
  out[0].d[2] = h;
  out[0].d[3] = w;
  return MX_OK;
}

static mx_status k_crop(KARGS) {
  UNUSED_KARGS;
  const mx_shape *d = &in[0]->shape;
  int64_t y0, x0, h, w;
  mx_status rc = crop_window(p, d, nin == 2 ? &in[1]->shape : NULL, &y0, &x0, &h, &w);
  if (rc) return rc;
  int64_t NC = d->d[0] * d->d[1], H = d->d[2], W = d->d[3];
  size_t es = mx_dtype_size(in[0]->dtype);
  const char *x = (const char *)MX_PTR(in[0]);
  char *y = (char *)MX_PTR(out[0]);
  int nt = mx_par_threads(NC * h * w);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t t = 0; t < NC * h; t++) {
    int64_t nc = t / h, r = t % h;
    memcpy(y + (size_t)(t * w) * es, x + (size_t)((nc * H + y0 + r) * W + x0) * es, (size_t)w * es);
  }
  return MX_OK;
}

/* the data's gradient is dy padded with zeros; crop_like gets zeros */
static mx_status b_crop(BARGS) {
  UNUSED_BARGS;
  if (nin > 1 && WANT(1)) {
    mx_status rc = mx_ndarray_fill(ig[1], 0);
    if (rc) return rc;
  }
  if (!WANT(0)) return MX_OK;
  const mx_shape *d = &ig[0]->shape, *os = &og[0]->shape;
  int64_t h = os->d[2], w = os->d[3], H = d->d[2], W = d->d[3], y0, x0;
  if (p[CR_CENTER].i) {
    y0 = (H - h) / 2;
    x0 = (W - w) / 2;
  } else {
    y0 = p[CR_OFFSET].tup[0];
    x0 = p[CR_OFFSET].tup[1];
  }
  mx_status rc = mx_ndarray_fill(ig[0], 0);
  if (rc) return rc;
  int64_t NC = d->d[0] * d->d[1];
  size_t es = mx_dtype_size(ig[0]->dtype);
  const char *g = (const char *)MX_PTR(og[0]);
  char *dx = (char *)MX_PTR(ig[0]);
  for (int64_t t = 0; t < NC * h; t++) {
    int64_t nc = t / h, r = t % h;
    memcpy(dx + (size_t)((nc * H + y0 + r) * W + x0) * es, g + (size_t)(t * w) * es, (size_t)w * es);
  }
  return MX_OK;
}

/* ========================================================== registry */

#define END_OP {0}

const mx_op mx_ops_nn[] = {
  {.name = "FullyConnected",
   .doc = "Fully connected layer: out = data . t(weight) + bias, with weight of engine shape (num_hidden, input size) and the data flattened to (batch, input size) unless flatten is FALSE. With no_bias the op takes no bias input.",
   .num_inputs = 3, .input_names = in_fc, .num_outputs = 1, .params = p_fc,
   .num_params = MX_NPARAMS(p_fc), .infer_shape = shape_fc, .cpu = k_fc, .backward = b_fc,
   .flags = MX_OPF_NO_MIRROR, .backward_deps = deps_fc, .list_inputs = list_fc},
  {.name = "Activation",
   .doc = "Element-wise activation function: relu, sigmoid, tanh, softrelu or softsign.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_act,
   .num_params = MX_NPARAMS(p_act), .infer_shape = mx_infer_shape_same, .cpu = k_act,
   .backward = b_act, .flags = MX_OPF_INPLACE, .backward_deps = deps_act, .is_relu = act_is_relu,
   .layouts = mx_lay_same},
  {.name = "LeakyReLU",
   .doc = "Leaky rectified linear units and relatives: leaky, elu, prelu (learned slope per channel), rrelu (random slope), selu and gelu.",
   .num_inputs = 2, .input_names = in_leaky, .num_outputs = 2, .params = p_leaky,
   .num_params = MX_NPARAMS(p_leaky), .infer_shape = shape_leaky, .cpu = k_leaky,
   .backward = b_leaky, .flags = MX_OPF_RANDOM, .backward_deps = deps_leaky,
   .list_inputs = list_leaky, .num_visible_outputs = vis1, .output_names = out_mask,
   .layouts = lay_leaky},
  {.name = "softmax", .doc = "Softmax along an axis: exp(x/T) / sum(exp(x/T)).", .num_inputs = 1,
   .input_names = in_data, .num_outputs = 1, .params = p_softmax,
   .num_params = MX_NPARAMS(p_softmax), .infer_shape = shape_softmax, .cpu = k_softmax,
   .backward = b_softmax, .backward_deps = deps_out},
  {.name = "log_softmax", .doc = "Logarithm of the softmax along an axis.", .num_inputs = 1,
   .input_names = in_data, .num_outputs = 1, .params = p_softmax,
   .num_params = MX_NPARAMS(p_softmax), .infer_shape = shape_softmax, .cpu = k_log_softmax,
   .backward = b_log_softmax, .backward_deps = deps_out},
  {.name = "softmin", .doc = "Softmin along an axis: exp(-x/T) / sum(exp(-x/T)).", .num_inputs = 1,
   .input_names = in_data, .num_outputs = 1, .params = p_softmax,
   .num_params = MX_NPARAMS(p_softmax), .infer_shape = shape_softmax, .cpu = k_softmin,
   .backward = b_softmin, .backward_deps = deps_out},
  {.name = "softmax_cross_entropy",
   .doc = "Cross-entropy of the softmax of data (batch, classes) at the labels (batch,), summed over the batch into shape (1,).",
   .num_inputs = 2, .input_names = in_data_label, .num_outputs = 1,
   .infer_shape = shape_softmax_ce, .infer_type = type_data_label, .cpu = k_softmax_ce,
   .backward = b_softmax_ce, .backward_deps = mx_deps_in_out_grads},
  {.name = "SVMOutput",
   .doc = "Support vector machine loss head: the output is the data (scores over the last axis); the gradient is that of the squared hinge loss (L2-SVM), or of the hinge loss with use_linear, at margin, scaled by regularization_coefficient. Labels are class indices (0-based).",
   .num_inputs = 2, .input_names = in_data_label, .num_outputs = 1, .params = p_svm_output,
   .num_params = MX_NPARAMS(p_svm_output), .infer_shape = shape_svm_output,
   .infer_type = type_data_label, .cpu = k_copy, .backward = b_svm_output,
   .flags = MX_OPF_LOSS | MX_OPF_PARTIAL_SHAPE, .backward_deps = deps_loss_label},
  {.name = "SoftmaxOutput", .aliases = {"Softmax"},
   .doc = "Softmax with a cross-entropy loss head: the output is the softmax of the data over its classes; the gradient is (softmax - one_hot(label)) * grad_scale, normalised as asked. Labels are class indices (0-based).",
   .num_inputs = 2, .input_names = in_data_label, .num_outputs = 1, .params = p_softmax_output,
   .num_params = MX_NPARAMS(p_softmax_output), .infer_shape = shape_softmax_output,
   .infer_type = type_data_label, .cpu = k_softmax_output, .backward = b_softmax_output,
   .flags = MX_OPF_LOSS | MX_OPF_PARTIAL_SHAPE, .backward_deps = deps_softmax_output},
  {.name = "LinearRegressionOutput",
   .doc = "Least-squares loss head: the output is the data; the gradient is (output - label) * grad_scale / (outputs per example).",
   .num_inputs = 2, .input_names = in_data_label, .num_outputs = 1, .params = p_regression,
   .num_params = MX_NPARAMS(p_regression), .infer_shape = shape_regression,
   .infer_type = type_data_label, .cpu = k_copy, .backward = b_regression,
   .flags = MX_OPF_LOSS | MX_OPF_PARTIAL_SHAPE, .backward_deps = deps_loss_label},
  {.name = "LogisticRegressionOutput",
   .doc = "Logistic loss head: the output is sigmoid(data); the gradient is (output - label) * grad_scale / (outputs per example).",
   .num_inputs = 2, .input_names = in_data_label, .num_outputs = 1, .params = p_regression,
   .num_params = MX_NPARAMS(p_regression), .infer_shape = shape_regression,
   .infer_type = type_data_label, .cpu = k_logistic, .backward = b_regression,
   .flags = MX_OPF_LOSS | MX_OPF_PARTIAL_SHAPE, .backward_deps = deps_loss_label},
  {.name = "MAERegressionOutput",
   .doc = "Mean-absolute-error loss head: the output is the data; the gradient is sign(output - label) * grad_scale / (outputs per example).",
   .num_inputs = 2, .input_names = in_data_label, .num_outputs = 1, .params = p_regression,
   .num_params = MX_NPARAMS(p_regression), .infer_shape = shape_regression,
   .infer_type = type_data_label, .cpu = k_copy, .backward = b_mae,
   .flags = MX_OPF_LOSS | MX_OPF_PARTIAL_SHAPE, .backward_deps = deps_loss_label},
  {.name = "MakeLoss", .aliases = {"make_loss"},
   .doc = "Make a loss head of any array: the output is the data and its gradient is grad_scale (normalised as asked), whatever comes from above.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_make_loss,
   .num_params = MX_NPARAMS(p_make_loss), .infer_shape = mx_infer_shape_same, .cpu = k_copy,
   .backward = b_make_loss, .flags = MX_OPF_LOSS | MX_OPF_INPLACE,
   .backward_deps = deps_make_loss},
  {.name = "BlockGrad", .aliases = {"stop_gradient"},
   .doc = "Identity that stops gradients: the output is the data, the data's gradient is zero.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .infer_shape = mx_infer_shape_same,
   .cpu = k_copy, .backward = b_zero, .flags = MX_OPF_INPLACE | MX_OPF_F16,
   .backward_deps = deps_none},
  {.name = "SliceChannel", .aliases = {"split"},
   .doc = "Split an array into num_outputs equal parts along an axis.", .num_inputs = 1,
   .input_names = in_data, .num_outputs = -1, .params = p_slice_channel,
   .num_params = MX_NPARAMS(p_slice_channel), .infer_shape = shape_slice_channel,
   .cpu = k_slice_channel, .backward = b_slice_channel, .flags = MX_OPF_F16,
   .backward_deps = mx_deps_out_grads},
  {.name = "BatchNorm",
   .doc = "Batch normalisation over all axes but the channel axis, with learned gamma and beta and moving statistics (auxiliary states) that a training forward updates in place.",
   .num_inputs = 5, .input_names = in_batch_norm, .num_outputs = 3, .params = p_batch_norm,
   .num_params = MX_NPARAMS(p_batch_norm), .infer_shape = shape_batch_norm,
   .infer_type = type_batch_norm, .cpu = k_batch_norm,
   .backward = b_batch_norm, .flags = MX_OPF_F16 | MX_OPF_MIRROR_STATS | MX_OPF_INPLACE_CPU,
   .backward_deps = deps_batch_norm, .num_aux = aux2, .num_visible_outputs = vis_batch_norm,
   .output_names = out_batch_norm, .inference_affine = bn_affine, .layouts = lay_batch_norm,
   .workspace = ws_batch_norm},
  {.name = "Dropout",
   .doc = "Dropout: in training each element is kept with probability 1 - p and scaled by 1/(1 - p), else zeroed; identity at inference unless mode is always.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 2, .params = p_dropout,
   .num_params = MX_NPARAMS(p_dropout), .infer_shape = shape_dropout, .cpu = k_dropout,
   .backward = b_dropout, .flags = MX_OPF_RANDOM | MX_OPF_NO_MIRROR | MX_OPF_INPLACE,
   .backward_deps = deps_dropout, .num_visible_outputs = vis1, .output_names = out_mask},
  {.name = "Embedding",
   .doc = "Look up rows of a weight matrix (input_dim, output_dim) by index: the output has the data's shape plus an axis of output_dim. Indices are truncated to integers and clipped into [0, input_dim - 1]; they get a zero gradient.",
   .num_inputs = 2, .input_names = in_embedding, .num_outputs = 1, .params = p_embedding,
   .num_params = MX_NPARAMS(p_embedding), .infer_shape = shape_embedding,
   .infer_type = type_embedding, .cpu = k_embedding, .backward = b_embedding,
   .flags = MX_OPF_PARTIAL_SHAPE, .backward_deps = deps_embedding},
  {.name = "Crop",
   .doc = "Crop the spatial axes of NCHW data to h_w or to the spatial size of a second input, at an offset or centred.",
   .num_inputs = -1, .input_names = in_crop, .num_outputs = 1, .params = p_crop,
   .num_params = MX_NPARAMS(p_crop), .infer_shape = shape_crop, .infer_type = type_data_label,
   .cpu = k_crop, .backward = b_crop, .flags = MX_OPF_F16, .backward_deps = mx_deps_out_grads,
   .list_inputs = list_crop},
  END_OP,
};
