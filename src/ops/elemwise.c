/*
 * elemwise.c -- element-wise binary ops: same-shape (elemwise_*, used by
 * symbol arithmetic), broadcasting (broadcast_*, used by NDArray arithmetic)
 * and array-scalar forms with the scalar on either side (_*_scalar).
 *
 * Semantics follow MXNet, with R's where MXNet is undefined: integer division
 * or modulo by zero gives 0 (never a trap), float modulo takes the sign of
 * the divisor (R's %%) and x %% 0 is NaN, maximum/minimum propagate NaN.
 * Comparisons return 0/1 in the input dtype.
 */
#include "../include/mx-op.h"

#include <math.h>

#define ISINT(T) ((T)0.5 == (T)0)

static inline int64_t idiv64(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return (int64_t)(0 - (uint64_t)a);
  return a / b;
}
static inline int64_t imod64(int64_t a, int64_t b) {
  if (b == 0 || b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
static inline double fmod_r(double a, double b) {
  if (b == 0) return NAN;
  double r = fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

/* Binary expressions on a, b of type T. */
#define E_ADD(T) (T)(a + b)
#define E_SUB(T) (T)(a - b)
#define E_MUL(T) (T)(a * b)
#define E_DIV(T) (ISINT(T) ? (T)idiv64((int64_t)a, (int64_t)b) : (T)(a / b))
#define E_MOD(T) (ISINT(T) ? (T)imod64((int64_t)a, (int64_t)b) : (T)fmod_r((double)a, (double)b))
#define E_POW(T) (ISINT(T) ? MX_SAT_INT(T, pow((double)a, (double)b)) : (T)pow((double)a, (double)b))
#define E_MAX(T) ((a > b || a != a) ? a : b)
#define E_MIN(T) ((a < b || a != a) ? a : b)
#define E_EQ(T) (T)(a == b)
#define E_NE(T) (T)(a != b)
#define E_GT(T) (T)(a > b)
#define E_GE(T) (T)(a >= b)
#define E_LT(T) (T)(a < b)
#define E_LE(T) (T)(a <= b)
#define E_AND(T) (T)(a != 0 && b != 0)
#define E_OR(T) (T)(a != 0 || b != 0)
#define E_XOR(T) (T)((a != 0) != (b != 0))
#define E_HYPOT(T) (ISINT(T) ? MX_SAT_INT(T, hypot((double)a, (double)b)) : (T)hypot((double)a, (double)b))

/* Broadcast plan: strides of a and b over the output (0 on broadcast axes). */
typedef struct bplan {
  int nd;
  int64_t shape[MX_MAX_DIM];
  int64_t sa[MX_MAX_DIM], sb[MX_MAX_DIM];
} bplan;

static void make_plan(const mx_shape *as, const mx_shape *bs, const mx_shape *os, bplan *p) {
  int64_t sa[MX_MAX_DIM], sb[MX_MAX_DIM];
  mx_shape_strides(as, sa);
  mx_shape_strides(bs, sb);
  p->nd = os->ndim;
  for (int k = 0; k < os->ndim; k++) {
    int ka = k - (os->ndim - as->ndim), kb = k - (os->ndim - bs->ndim);
    p->shape[k] = os->d[k];
    p->sa[k] = (ka >= 0 && as->d[ka] != 1) ? sa[ka] : 0;
    p->sb[k] = (kb >= 0 && bs->d[kb] != 1) ? sb[kb] : 0;
  }
}

/* The element loop shared by all binary ops: fast paths for equal sizes
 * and scalar operands, else rows of the last axis with strides. */
#define BINARY_LOOP(T, EXPR)                                                 \
  do {                                                                       \
    const T *A_ = MX_DATA(in[0], T);                                         \
    const T *B_ = MX_DATA(in[1], T);                                         \
    T *O_ = MX_DATA(out[0], T);                                              \
    int64_t n_ = mx_ndarray_size(out[0]);                                    \
    int64_t na_ = mx_ndarray_size(in[0]), nb_ = mx_ndarray_size(in[1]);      \
    int nt_ = mx_par_threads(n_);                                            \
    if (na_ == n_ && nb_ == n_) {                                            \
      MX_OMP_FOR(nt_)                                                        \
      for (int64_t i = 0; i < n_; i++) { T a = A_[i], b = B_[i]; O_[i] = EXPR(T); } \
    } else if (na_ == n_ && nb_ == 1) {                                      \
      const T b = B_[0];                                                     \
      MX_OMP_FOR(nt_)                                                        \
      for (int64_t i = 0; i < n_; i++) { T a = A_[i]; O_[i] = EXPR(T); }     \
    } else if (na_ == 1 && nb_ == n_) {                                      \
      const T a = A_[0];                                                     \
      MX_OMP_FOR(nt_)                                                        \
      for (int64_t i = 0; i < n_; i++) { T b = B_[i]; O_[i] = EXPR(T); }     \
    } else if (n_ > 0) {                                                     \
      bplan p_;                                                              \
      make_plan(&in[0]->shape, &in[1]->shape, &out[0]->shape, &p_);          \
      int last_ = p_.nd - 1;                                                 \
      int64_t inner_ = p_.shape[last_], rows_ = n_ / inner_;                 \
      int64_t la_ = p_.sa[last_], lb_ = p_.sb[last_];                        \
      int rt_ = mx_par_threads(n_);                                          \
      MX_OMP_FOR(rt_)                                                        \
      for (int64_t r = 0; r < rows_; r++) {                                  \
        int64_t rem_ = r, oa_ = 0, ob_ = 0;                                  \
        for (int k = last_ - 1; k >= 0; k--) {                               \
          int64_t ix_ = rem_ % p_.shape[k];                                  \
          rem_ /= p_.shape[k];                                               \
          oa_ += ix_ * p_.sa[k];                                             \
          ob_ += ix_ * p_.sb[k];                                             \
        }                                                                    \
        T *o_ = O_ + r * inner_;                                             \
        for (int64_t j = 0; j < inner_; j++) {                               \
          T a = A_[oa_ + j * la_], b = B_[ob_ + j * lb_];                    \
          o_[j] = EXPR(T);                                                   \
        }                                                                    \
      }                                                                      \
    }                                                                        \
  } while (0)

/* Parameters of the array-scalar ops (p_scalar). */
enum { SCAL_SCALAR, SCAL_NPARAMS };

/* The loop of array-scalar ops; REV puts the scalar on the left. */
#define SCALAR_LOOP(T, EXPR, REV)                                            \
  do {                                                                       \
    const T *A_ = MX_DATA(in[0], T);                                         \
    T *O_ = MX_DATA(out[0], T);                                              \
    int64_t n_ = mx_ndarray_size(out[0]);                                    \
    const T s_ = ISINT(T) ? (T)(int64_t)fmax(fmin(trunc(p[SCAL_SCALAR].f), 9.2e18), -9.2e18) : (T)p[SCAL_SCALAR].f; \
    int nt_ = mx_par_threads(n_);                                            \
    if (REV) {                                                               \
      MX_OMP_FOR(nt_)                                                        \
      for (int64_t i = 0; i < n_; i++) { T a = s_, b = A_[i]; O_[i] = EXPR(T); } \
    } else {                                                                 \
      MX_OMP_FOR(nt_)                                                        \
      for (int64_t i = 0; i < n_; i++) { T a = A_[i], b = s_; O_[i] = EXPR(T); } \
    }                                                                        \
  } while (0)


#define DEF_BINARY(NAME, EXPR)                                               \
  static mx_status k_##NAME(KARGS) {                                         \
    UNUSED_KARGS;                                                            \
    MX_DTYPE_SWITCH(out[0]->dtype, T, BINARY_LOOP(T, EXPR));                 \
    return MX_OK;                                                            \
  }                                                                          \
  static mx_status ks_##NAME(KARGS) {                                        \
    UNUSED_KARGS;                                                            \
    MX_DTYPE_SWITCH(out[0]->dtype, T, SCALAR_LOOP(T, EXPR, 0));              \
    return MX_OK;                                                            \
  }                                                                          \
  static mx_status kr_##NAME(KARGS) {                                        \
    UNUSED_KARGS;                                                            \
    MX_DTYPE_SWITCH(out[0]->dtype, T, SCALAR_LOOP(T, EXPR, 1));              \
    return MX_OK;                                                            \
  }

DEF_BINARY(add, E_ADD)
DEF_BINARY(sub, E_SUB)
DEF_BINARY(mul, E_MUL)
DEF_BINARY(div, E_DIV)
DEF_BINARY(mod, E_MOD)
DEF_BINARY(pow, E_POW)
DEF_BINARY(max, E_MAX)
DEF_BINARY(min, E_MIN)
DEF_BINARY(eq, E_EQ)
DEF_BINARY(ne, E_NE)
DEF_BINARY(gt, E_GT)
DEF_BINARY(ge, E_GE)
DEF_BINARY(lt, E_LT)
DEF_BINARY(le, E_LE)
DEF_BINARY(and, E_AND)
DEF_BINARY(or, E_OR)
DEF_BINARY(xor, E_XOR)
DEF_BINARY(hypot, E_HYPOT)

/* ------------------------------------------------------------- gradients */

/* Sum src (the broadcast output shape) down to dst's shape: the gradient of
 * an input that was broadcast.  dst = scale * sum over broadcast axes. */
mx_status mx_sum_to_shape(const mx_ndarray *src, mx_ndarray *dst) {
  int64_t n = mx_ndarray_size(src), m = mx_ndarray_size(dst);
  if (n == m) return mx_ndarray_copy_into(src, dst);
  bplan pl;
  make_plan(&dst->shape, &dst->shape, &src->shape, &pl);   /* sa: dst strides */
  double *acc = (double *)mx_calloc((size_t)(m > 0 ? m : 1), sizeof(double));
  if (!acc) return mx_error(MX_ERR_NOMEM, "out of memory");
  int64_t cnt[MX_MAX_DIM] = {0};
  const void *sp = MX_PTR(src);
  int dt = src->dtype;
  for (int64_t i = 0; i < n; i++) {
    int64_t o = 0;
    for (int k = 0; k < pl.nd; k++) o += cnt[k] * pl.sa[k];
    acc[o] += mx_load_f64(sp, dt, i);
    for (int k = pl.nd - 1; k >= 0; k--) {
      if (++cnt[k] < pl.shape[k]) break;
      cnt[k] = 0;
    }
  }
  mx_convert(acc, MX_FLOAT64, MX_PTR(dst), dst->dtype, m);
  mx_free(acc);
  return MX_OK;
}

/* Gradient expressions in a, b (inputs, broadcast) and g (output gradient);
 * GA/GB give d(loss)/da and d(loss)/db. */
#define GA_ADD g
#define GB_ADD g
#define GA_SUB g
#define GB_SUB (-g)
#define GA_MUL (g * b)
#define GB_MUL (g * a)
#define GA_DIV (g / b)
#define GB_DIV (-g * a / (b * b))
#define GA_MOD g
#define GB_MOD (-g * floor((double)a / (double)b))
#define GA_POW (g * b * pow((double)a, (double)b - 1))
#define GB_POW (g * pow((double)a, (double)b) * log((double)a))
#define GA_MAX (a >= b ? g : 0)
#define GB_MAX (a >= b ? 0 : g)
#define GA_MIN (a <= b ? g : 0)
#define GB_MIN (a <= b ? 0 : g)
#define GA_HYPOT (g * a / hypot((double)a, (double)b))
#define GB_HYPOT (g * b / hypot((double)a, (double)b))
#define GA_ZERO 0
#define GB_ZERO 0

/* dst (output shape) = EXPR over broadcast a, b and g. */
#define GRAD_LOOP(T, EXPR)                                                   \
  do {                                                                       \
    const T *A_ = MX_DATA(A, T), *B_ = MX_DATA(B, T), *G_ = MX_DATA(G, T);   \
    T *D_ = MX_DATA(D, T);                                                   \
    bplan p_;                                                                \
    make_plan(&A->shape, &B->shape, &G->shape, &p_);                         \
    int64_t n_ = mx_ndarray_size(G);                                         \
    if (n_ == 0) break;                                                      \
    int last_ = p_.nd - 1;                                                   \
    int64_t inner_ = last_ >= 0 ? p_.shape[last_] : 1, rows_ = n_ / inner_;  \
    int64_t la_ = last_ >= 0 ? p_.sa[last_] : 0, lb_ = last_ >= 0 ? p_.sb[last_] : 0; \
    int nt_ = mx_par_threads(n_);                                            \
    MX_OMP_FOR(nt_)                                                          \
    for (int64_t r = 0; r < rows_; r++) {                                    \
      int64_t rem_ = r, oa_ = 0, ob_ = 0;                                    \
      for (int k = last_ - 1; k >= 0; k--) {                                 \
        int64_t ix_ = rem_ % p_.shape[k];                                    \
        rem_ /= p_.shape[k];                                                 \
        oa_ += ix_ * p_.sa[k];                                               \
        ob_ += ix_ * p_.sb[k];                                               \
      }                                                                      \
      for (int64_t j = 0; j < inner_; j++) {                                 \
        T a = A_[oa_ + j * la_], b = B_[ob_ + j * lb_], g = G_[r * inner_ + j]; \
        (void)a; (void)b; (void)g;                                           \
        D_[r * inner_ + j] = (T)(EXPR);                                      \
      }                                                                      \
    }                                                                        \
  } while (0)

/* Write the gradient of one side: directly when that input has the output's
 * shape, else through a temporary summed down to the input's shape. */
#define GRAD_SIDE(EXPR, GRADARR)                                             \
  do {                                                                       \
    mx_ndarray *D = GRADARR, *tmp_ = NULL;                                   \
    if (mx_ndarray_size(D) != mx_ndarray_size(G)) {                          \
      mx_status rc_ = mx_ndarray_new(&G->shape, G->dtype, G->ctx, &tmp_);    \
      if (rc_) return rc_;                                                   \
      D = tmp_;                                                              \
    }                                                                        \
    MX_FLOAT_SWITCH(G->dtype, T, GRAD_LOOP(T, EXPR));                        \
    if (tmp_) {                                                              \
      mx_status rc_ = mx_sum_to_shape(tmp_, GRADARR);                        \
      mx_ndarray_free(tmp_);                                                 \
      if (rc_) return rc_;                                                   \
    }                                                                        \
  } while (0)


/* Gradient of an array-scalar op with respect to its array: each element
 * x (with the scalar v on the other side; rev: the scalar is the left
 * operand) maps to d(loss)/dx given g. */
#define DEF_SCALAR_GRAD_FN(NAME, GA, GB)                                      \
  static float sg_##NAME##_f(float x, float v, float g, int rev) {            \
    (void)g;                                                                  \
    if (rev) { float a = v, b = x; (void)a; (void)b; return (float)(GB); }    \
    float a = x, b = v; (void)a; (void)b; return (float)(GA);                 \
  }                                                                           \
  static double sg_##NAME##_d(double x, double v, double g, int rev) {        \
    (void)g;                                                                  \
    if (rev) { double a = v, b = x; (void)a; (void)b; return (double)(GB); }  \
    double a = x, b = v; (void)a; (void)b; return (double)(GA);               \
  }

typedef float (*sg_f32_fn)(float, float, float, int);
typedef double (*sg_f64_fn)(double, double, double, int);

/* The gradient loop of the array-scalar ops. */
static mx_status scalar_grad(mx_ndarray *const *og, mx_ndarray *const *in,
                             mx_ndarray *const *ig, const int *req, double sv, int rev,
                             sg_f32_fn ff, sg_f64_fn fd) {
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  const mx_ndarray *X = in[0], *G = og[0];
  mx_ndarray *D = ig[0];
  int64_t n = mx_ndarray_size(G);
  int nt = mx_par_threads(n);
  switch (G->dtype) {
    case MX_FLOAT32: {
      const float *x = MX_DATA(X, float), *g = MX_DATA(G, float);
      float *d = MX_DATA(D, float);
      const float v = (float)sv;
      MX_OMP_FOR(nt)
      for (int64_t i = 0; i < n; i++) d[i] = ff(x[i], v, g[i], rev);
      return MX_OK;
    }
    case MX_FLOAT64: {
      const double *x = MX_DATA(X, double), *g = MX_DATA(G, double);
      double *d = MX_DATA(D, double);
      MX_OMP_FOR(nt)
      for (int64_t i = 0; i < n; i++) d[i] = fd(x[i], sv, g[i], rev);
      return MX_OK;
    }
    default:
      return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(G->dtype));
  }
}

#define DEF_BINARY_GRAD(NAME, GA, GB)                                        \
  DEF_SCALAR_GRAD_FN(NAME, GA, GB)                                        \
  static mx_status b_##NAME(BARGS) {                                         \
    UNUSED_BARGS;                                                            \
    const mx_ndarray *A = in[0], *B = in[1], *G = og[0];                     \
    if (req[0] == MX_REQ_WRITE) GRAD_SIDE(GA, ig[0]);                        \
    if (req[1] == MX_REQ_WRITE) GRAD_SIDE(GB, ig[1]);                        \
    return MX_OK;                                                            \
  }                                                                          \
  /* scalar forms: the scalar plays b (or a when reversed) */                \
  static mx_status bs_##NAME(BARGS) {                                        \
    UNUSED_BARGS;                                                            \
    return scalar_grad(og, in, ig, req, p[SCAL_SCALAR].f, 0, sg_##NAME##_f, sg_##NAME##_d); \
  }                                                                          \
  static mx_status br_##NAME(BARGS) {                                        \
    UNUSED_BARGS;                                                            \
    return scalar_grad(og, in, ig, req, p[SCAL_SCALAR].f, 1, sg_##NAME##_f, sg_##NAME##_d); \
  }

DEF_BINARY_GRAD(add, GA_ADD, GB_ADD)
DEF_BINARY_GRAD(sub, GA_SUB, GB_SUB)
DEF_BINARY_GRAD(mul, GA_MUL, GB_MUL)
DEF_BINARY_GRAD(div, GA_DIV, GB_DIV)
DEF_BINARY_GRAD(mod, GA_MOD, GB_MOD)
DEF_BINARY_GRAD(pow, GA_POW, GB_POW)
DEF_BINARY_GRAD(max, GA_MAX, GB_MAX)
DEF_BINARY_GRAD(min, GA_MIN, GB_MIN)
DEF_BINARY_GRAD(hypot, GA_HYPOT, GB_HYPOT)
DEF_BINARY_GRAD(zero, GA_ZERO, GB_ZERO)

/* comparisons: nothing (the gradient is zero) */
static void deps_none(const mx_param_value *p, int nin, int nout,
                      unsigned char *ni, unsigned char *no, unsigned char *ng) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 0;
  for (int k = 0; k < nout; k++) { no[k] = 0; ng[k] = 0; }
}
/* zero gradients need no inputs: write zeros */
static mx_status b_zeros(BARGS) {
  UNUSED_BARGS;
  (void)og;
  for (int j = 0; j < nin; j++)
    if (req[j] == MX_REQ_WRITE) {
      mx_status rc = mx_ndarray_fill(ig[j], 0);
      if (rc) return rc;
    }
  return MX_OK;
}

/* add/sub without the inputs: in_grad shapes come from the gradient arrays */
static mx_status b_add_fast(BARGS) {
  UNUSED_BARGS;
  (void)in;
  for (int j = 0; j < 2; j++) {
    if (req[j] != MX_REQ_WRITE) continue;
    mx_status rc = mx_sum_to_shape(og[0], ig[j]);
    if (rc) return rc;
  }
  return MX_OK;
}
static mx_status b_sub_fast(BARGS) {
  UNUSED_BARGS;
  (void)in;
  for (int j = 0; j < 2; j++) {
    if (req[j] != MX_REQ_WRITE) continue;
    mx_status rc = mx_sum_to_shape(og[0], ig[j]);
    if (rc) return rc;
    if (j == 1) {
      int64_t n = mx_ndarray_size(ig[1]);
      MX_FLOAT_SWITCH(ig[1]->dtype, T, {
        T *d = MX_DATA(ig[1], T);
        for (int64_t i = 0; i < n; i++) d[i] = -d[i];
      });
    }
  }
  return MX_OK;
}
static mx_status bs_add_fast(BARGS) {
  UNUSED_BARGS;
  (void)in;
  return req[0] == MX_REQ_WRITE ? mx_ndarray_copy_into(og[0], ig[0]) : MX_OK;
}

/* ------------------------------------------------------------ inference */

static mx_status shape_broadcast(const mx_param_value *p, int nin, mx_shape *in,
                                 int nout, mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  return mx_broadcast_shape(&in[0], &in[1], &out[0]);
}

/* Both inputs and the output have one shape (MXNet's ElemwiseShape): an
 * unknown input takes the other input's shape, or the output's when known. */
static mx_status shape_same2(const mx_param_value *p, int nin, mx_shape *in,
                             int nout, mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  const mx_shape *known = in[0].ndim >= 0 ? &in[0] : in[1].ndim >= 0 ? &in[1]
                        : out[0].ndim >= 0 ? &out[0] : NULL;
  if (!known) return MX_OK;
  mx_shape s = *known;
  for (int j = 0; j < 2; j++) if (in[j].ndim < 0) in[j] = s;
  const mx_shape *other = !mx_shape_equal(&in[1], &s) ? &in[1]
                        : (out[0].ndim >= 0 && !mx_shape_equal(&out[0], &s)) ? &out[0] : NULL;
  if (other) {
    char s1[128], s2[128];
    mx_shape_format(&s, s1, sizeof s1);
    mx_shape_format(other, s2, sizeof s2);
    return mx_error(MX_ERR_SHAPE, "shapes %s and %s differ (use the broadcast_ form to broadcast)", s1, s2);
  }
  out[0] = s;
  return MX_OK;
}

/* ------------------------------------------------------------ registry */

static const char *const in_lr[] = {"lhs", "rhs", NULL};
static const char *const in_data[] = {"data", NULL};

static const mx_param_desc p_scalar[SCAL_NPARAMS] = {
  [SCAL_SCALAR] = {"scalar", MX_PARAM_FLOAT, 0, "1", NULL, "The scalar operand."},
};

/* GRAD: backward kernel and its dependencies (see the gradient section). */
#define BROADCAST(NAME, KERN, A1, A2, DOC, BW, DEPS)                          \
  {.name = NAME, .aliases = {A1, A2}, .doc = DOC, .num_inputs = 2,            \
   .input_names = in_lr, .num_outputs = 1, .infer_shape = shape_broadcast,    \
   .cpu = k_##KERN, .backward = BW, .flags = MX_OPF_INPLACE,                  \
   .backward_deps = DEPS, .layouts = mx_lay_same}
#define ELEMWISE(NAME, KERN, A1, A2, DOC, BW, DEPS)                           \
  {.name = NAME, .aliases = {A1, A2}, .doc = DOC, .num_inputs = 2,            \
   .input_names = in_lr, .num_outputs = 1, .infer_shape = shape_same2,        \
   .cpu = k_##KERN, .backward = BW,                                           \
   .flags = MX_OPF_INPLACE | MX_OPF_PARTIAL_SHAPE,                            \
   .backward_deps = DEPS, .layouts = mx_lay_same}
#define SCALAR(NAME, KERN, DOC, BW, DEPS)                                     \
  {.name = NAME, .doc = DOC, .num_inputs = 1, .input_names = in_data,         \
   .num_outputs = 1, .params = p_scalar, .num_params = SCAL_NPARAMS,          \
   .infer_shape = mx_infer_shape_same, .cpu = ks_##KERN, .backward = BW,      \
   .flags = MX_OPF_INPLACE, .backward_deps = DEPS}
#define RSCALAR(NAME, KERN, DOC, BW, DEPS)                                    \
  {.name = NAME, .doc = DOC, .num_inputs = 1, .input_names = in_data,         \
   .num_outputs = 1, .params = p_scalar, .num_params = SCAL_NPARAMS,          \
   .infer_shape = mx_infer_shape_same, .cpu = kr_##KERN, .backward = BW,      \
   .flags = MX_OPF_INPLACE, .backward_deps = DEPS}

const mx_op mx_ops_elemwise[] = {
  BROADCAST("broadcast_add", add, "broadcast_plus", NULL, "Sum of two arrays with broadcasting.", b_add_fast, mx_deps_out_grads),
  BROADCAST("broadcast_sub", sub, "broadcast_minus", NULL, "Difference of two arrays with broadcasting.", b_sub_fast, mx_deps_out_grads),
  BROADCAST("broadcast_mul", mul, NULL, NULL, "Product of two arrays with broadcasting.", b_mul, mx_deps_in_out_grads),
  BROADCAST("broadcast_div", div, NULL, NULL, "Quotient of two arrays with broadcasting (integer division truncates; division by zero gives 0 for integers).", b_div, mx_deps_in_out_grads),
  BROADCAST("broadcast_mod", mod, NULL, NULL, "Remainder with the sign of the divisor, as R's %% (x %% 0 is NaN for floats, 0 for integers), with broadcasting.", b_mod, mx_deps_in_out_grads),
  BROADCAST("broadcast_power", pow, "power", NULL, "lhs raised to the power rhs, with broadcasting.", b_pow, mx_deps_in_out_grads),
  BROADCAST("broadcast_maximum", max, "maximum", NULL, "Element-wise maximum with broadcasting (NaN propagates).", b_max, mx_deps_in_out_grads),
  BROADCAST("broadcast_minimum", min, "minimum", NULL, "Element-wise minimum with broadcasting (NaN propagates).", b_min, mx_deps_in_out_grads),
  BROADCAST("broadcast_hypot", hypot, NULL, NULL, "sqrt(lhs^2 + rhs^2) with broadcasting.", b_hypot, mx_deps_in_out_grads),
  BROADCAST("broadcast_equal", eq, NULL, NULL, "1 where lhs == rhs, else 0 (broadcasting).", b_zeros, deps_none),
  BROADCAST("broadcast_not_equal", ne, NULL, NULL, "1 where lhs != rhs, else 0 (broadcasting).", b_zeros, deps_none),
  BROADCAST("broadcast_greater", gt, NULL, NULL, "1 where lhs > rhs, else 0 (broadcasting).", b_zeros, deps_none),
  BROADCAST("broadcast_greater_equal", ge, NULL, NULL, "1 where lhs >= rhs, else 0 (broadcasting).", b_zeros, deps_none),
  BROADCAST("broadcast_lesser", lt, NULL, NULL, "1 where lhs < rhs, else 0 (broadcasting).", b_zeros, deps_none),
  BROADCAST("broadcast_lesser_equal", le, NULL, NULL, "1 where lhs <= rhs, else 0 (broadcasting).", b_zeros, deps_none),
  BROADCAST("broadcast_logical_and", and, NULL, NULL, "1 where both lhs and rhs are nonzero (broadcasting).", b_zeros, deps_none),
  BROADCAST("broadcast_logical_or", or, NULL, NULL, "1 where lhs or rhs is nonzero (broadcasting).", b_zeros, deps_none),
  BROADCAST("broadcast_logical_xor", xor, NULL, NULL, "1 where exactly one of lhs and rhs is nonzero (broadcasting).", b_zeros, deps_none),
  ELEMWISE("elemwise_add", add, "_plus", "_add", "Sum of two arrays of the same shape.", b_add_fast, mx_deps_out_grads),
  ELEMWISE("elemwise_sub", sub, "_minus", "_sub", "Difference of two arrays of the same shape.", b_sub_fast, mx_deps_out_grads),
  ELEMWISE("elemwise_mul", mul, "_mul", NULL, "Product of two arrays of the same shape.", b_mul, mx_deps_in_out_grads),
  ELEMWISE("elemwise_div", div, "_div", NULL, "Quotient of two arrays of the same shape.", b_div, mx_deps_in_out_grads),
  ELEMWISE("_mod", mod, NULL, NULL, "Remainder of two arrays of the same shape.", b_mod, mx_deps_in_out_grads),
  ELEMWISE("_power", pow, NULL, NULL, "Power of two arrays of the same shape.", b_pow, mx_deps_in_out_grads),
  ELEMWISE("_maximum", max, NULL, NULL, "Maximum of two arrays of the same shape.", b_max, mx_deps_in_out_grads),
  ELEMWISE("_minimum", min, NULL, NULL, "Minimum of two arrays of the same shape.", b_min, mx_deps_in_out_grads),
  SCALAR("_plus_scalar", add, "data + scalar.", bs_add_fast, mx_deps_out_grads),
  SCALAR("_minus_scalar", sub, "data - scalar.", bs_add_fast, mx_deps_out_grads),
  RSCALAR("_rminus_scalar", sub, "scalar - data.", br_sub, mx_deps_in_out_grads),
  SCALAR("_mul_scalar", mul, "data * scalar.", bs_mul, mx_deps_in_out_grads),
  SCALAR("_div_scalar", div, "data / scalar.", bs_div, mx_deps_in_out_grads),
  RSCALAR("_rdiv_scalar", div, "scalar / data.", br_div, mx_deps_in_out_grads),
  SCALAR("_mod_scalar", mod, "data %% scalar.", bs_mod, mx_deps_in_out_grads),
  RSCALAR("_rmod_scalar", mod, "scalar %% data.", br_mod, mx_deps_in_out_grads),
  SCALAR("_power_scalar", pow, "data ^ scalar.", bs_pow, mx_deps_in_out_grads),
  RSCALAR("_rpower_scalar", pow, "scalar ^ data.", br_pow, mx_deps_in_out_grads),
  SCALAR("_maximum_scalar", max, "maximum(data, scalar).", bs_max, mx_deps_in_out_grads),
  SCALAR("_minimum_scalar", min, "minimum(data, scalar).", bs_min, mx_deps_in_out_grads),
  SCALAR("_hypot_scalar", hypot, "hypot(data, scalar).", bs_hypot, mx_deps_in_out_grads),
  SCALAR("_equal_scalar", eq, "data == scalar (0/1).", b_zeros, deps_none),
  SCALAR("_not_equal_scalar", ne, "data != scalar (0/1).", b_zeros, deps_none),
  SCALAR("_greater_scalar", gt, "data > scalar (0/1).", b_zeros, deps_none),
  SCALAR("_greater_equal_scalar", ge, "data >= scalar (0/1).", b_zeros, deps_none),
  SCALAR("_lesser_scalar", lt, "data < scalar (0/1).", b_zeros, deps_none),
  SCALAR("_lesser_equal_scalar", le, "data <= scalar (0/1).", b_zeros, deps_none),
  SCALAR("_logical_and_scalar", and, "data & scalar (0/1).", b_zeros, deps_none),
  SCALAR("_logical_or_scalar", or, "data | scalar (0/1).", b_zeros, deps_none),
  SCALAR("_logical_xor_scalar", xor, "xor(data, scalar) (0/1).", b_zeros, deps_none),
  {.name = NULL},
};
