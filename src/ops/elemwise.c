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
#include "op.h"

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
#define E_POW(T) (ISINT(T) ? (T)mx_sat_i64(pow((double)a, (double)b)) : (T)pow((double)a, (double)b))
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
#define E_HYPOT(T) (ISINT(T) ? (T)mx_sat_i64(hypot((double)a, (double)b)) : (T)hypot((double)a, (double)b))

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

/* The loop of array-scalar ops; REV puts the scalar on the left. */
#define SCALAR_LOOP(T, EXPR, REV)                                            \
  do {                                                                       \
    const T *A_ = MX_DATA(in[0], T);                                         \
    T *O_ = MX_DATA(out[0], T);                                              \
    int64_t n_ = mx_ndarray_size(out[0]);                                    \
    const T s_ = ISINT(T) ? (T)(int64_t)fmax(fmin(trunc(p[0].f), 9.2e18), -9.2e18) : (T)p[0].f;                     \
    int nt_ = mx_par_threads(n_);                                            \
    if (REV) {                                                               \
      MX_OMP_FOR(nt_)                                                        \
      for (int64_t i = 0; i < n_; i++) { T a = s_, b = A_[i]; O_[i] = EXPR(T); } \
    } else {                                                                 \
      MX_OMP_FOR(nt_)                                                        \
      for (int64_t i = 0; i < n_; i++) { T a = A_[i], b = s_; O_[i] = EXPR(T); } \
    }                                                                        \
  } while (0)

#define KARGS const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in, \
              int nin, mx_ndarray *const *out, int nout, const int *req
#define UNUSED_KARGS (void)c; (void)p; (void)nin; (void)nout; (void)req

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

/* ------------------------------------------------------------ inference */

static mx_status shape_broadcast(const mx_param_value *p, int nin, mx_shape *in,
                                 int nout, mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  return mx_broadcast_shape(&in[0], &in[1], &out[0]);
}

static mx_status shape_same2(const mx_param_value *p, int nin, mx_shape *in,
                             int nout, mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0 && in[1].ndim >= 0) in[0] = in[1];
  if (in[1].ndim < 0 && in[0].ndim >= 0) in[1] = in[0];
  if (in[0].ndim < 0) return MX_OK;
  if (!mx_shape_equal(&in[0], &in[1])) {
    char s1[128], s2[128];
    mx_shape_format(&in[0], s1, sizeof s1);
    mx_shape_format(&in[1], s2, sizeof s2);
    return mx_error(MX_ERR_SHAPE, "shapes %s and %s differ (use the broadcast_ form to broadcast)", s1, s2);
  }
  out[0] = in[0];
  return MX_OK;
}

/* ------------------------------------------------------------ registry */

static const char *const in_lr[] = {"lhs", "rhs", NULL};
static const char *const in_data[] = {"data", NULL};

static const mx_param_desc p_scalar[] = {
  {"scalar", MX_PARAM_FLOAT, 0, "1", NULL, "The scalar operand."},
};

#define BROADCAST(NAME, KERN, A1, A2, DOC)                                   \
  {NAME, {A1, A2, NULL}, DOC, 2, in_lr, 1, NULL, 0, shape_broadcast, NULL,  \
   k_##KERN, NULL, NULL, NULL, MX_OPF_INPLACE}
#define ELEMWISE(NAME, KERN, A1, A2, DOC)                                    \
  {NAME, {A1, A2, NULL}, DOC, 2, in_lr, 1, NULL, 0, shape_same2, NULL,      \
   k_##KERN, NULL, NULL, NULL, MX_OPF_INPLACE}
#define SCALAR(NAME, KERN, DOC)                                              \
  {NAME, {NULL}, DOC, 1, in_data, 1, p_scalar, 1, mx_infer_shape_same, NULL,\
   ks_##KERN, NULL, NULL, NULL, MX_OPF_INPLACE}
#define RSCALAR(NAME, KERN, DOC)                                             \
  {NAME, {NULL}, DOC, 1, in_data, 1, p_scalar, 1, mx_infer_shape_same, NULL,\
   kr_##KERN, NULL, NULL, NULL, MX_OPF_INPLACE}

const mx_op mx_ops_elemwise[] = {
  BROADCAST("broadcast_add", add, "broadcast_plus", NULL, "Sum of two arrays with broadcasting."),
  BROADCAST("broadcast_sub", sub, "broadcast_minus", NULL, "Difference of two arrays with broadcasting."),
  BROADCAST("broadcast_mul", mul, NULL, NULL, "Product of two arrays with broadcasting."),
  BROADCAST("broadcast_div", div, NULL, NULL, "Quotient of two arrays with broadcasting (integer division truncates; division by zero gives 0 for integers)."),
  BROADCAST("broadcast_mod", mod, NULL, NULL, "Remainder with the sign of the divisor, as R's %% (x %% 0 is NaN for floats, 0 for integers), with broadcasting."),
  BROADCAST("broadcast_power", pow, "power", NULL, "lhs raised to the power rhs, with broadcasting."),
  BROADCAST("broadcast_maximum", max, "maximum", NULL, "Element-wise maximum with broadcasting (NaN propagates)."),
  BROADCAST("broadcast_minimum", min, "minimum", NULL, "Element-wise minimum with broadcasting (NaN propagates)."),
  BROADCAST("broadcast_hypot", hypot, NULL, NULL, "sqrt(lhs^2 + rhs^2) with broadcasting."),
  BROADCAST("broadcast_equal", eq, NULL, NULL, "1 where lhs == rhs, else 0 (broadcasting)."),
  BROADCAST("broadcast_not_equal", ne, NULL, NULL, "1 where lhs != rhs, else 0 (broadcasting)."),
  BROADCAST("broadcast_greater", gt, NULL, NULL, "1 where lhs > rhs, else 0 (broadcasting)."),
  BROADCAST("broadcast_greater_equal", ge, NULL, NULL, "1 where lhs >= rhs, else 0 (broadcasting)."),
  BROADCAST("broadcast_lesser", lt, NULL, NULL, "1 where lhs < rhs, else 0 (broadcasting)."),
  BROADCAST("broadcast_lesser_equal", le, NULL, NULL, "1 where lhs <= rhs, else 0 (broadcasting)."),
  BROADCAST("broadcast_logical_and", and, NULL, NULL, "1 where both lhs and rhs are nonzero (broadcasting)."),
  BROADCAST("broadcast_logical_or", or, NULL, NULL, "1 where lhs or rhs is nonzero (broadcasting)."),
  BROADCAST("broadcast_logical_xor", xor, NULL, NULL, "1 where exactly one of lhs and rhs is nonzero (broadcasting)."),
  ELEMWISE("elemwise_add", add, "_plus", "_add", "Sum of two arrays of the same shape."),
  ELEMWISE("elemwise_sub", sub, "_minus", "_sub", "Difference of two arrays of the same shape."),
  ELEMWISE("elemwise_mul", mul, "_mul", NULL, "Product of two arrays of the same shape."),
  ELEMWISE("elemwise_div", div, "_div", NULL, "Quotient of two arrays of the same shape."),
  ELEMWISE("_mod", mod, NULL, NULL, "Remainder of two arrays of the same shape."),
  ELEMWISE("_power", pow, NULL, NULL, "Power of two arrays of the same shape."),
  ELEMWISE("_maximum", max, NULL, NULL, "Maximum of two arrays of the same shape."),
  ELEMWISE("_minimum", min, NULL, NULL, "Minimum of two arrays of the same shape."),
  SCALAR("_plus_scalar", add, "data + scalar."),
  SCALAR("_minus_scalar", sub, "data - scalar."),
  RSCALAR("_rminus_scalar", sub, "scalar - data."),
  SCALAR("_mul_scalar", mul, "data * scalar."),
  SCALAR("_div_scalar", div, "data / scalar."),
  RSCALAR("_rdiv_scalar", div, "scalar / data."),
  SCALAR("_mod_scalar", mod, "data %% scalar."),
  RSCALAR("_rmod_scalar", mod, "scalar %% data."),
  SCALAR("_power_scalar", pow, "data ^ scalar."),
  RSCALAR("_rpower_scalar", pow, "scalar ^ data."),
  SCALAR("_maximum_scalar", max, "maximum(data, scalar)."),
  SCALAR("_minimum_scalar", min, "minimum(data, scalar)."),
  SCALAR("_hypot_scalar", hypot, "hypot(data, scalar)."),
  SCALAR("_equal_scalar", eq, "data == scalar (0/1)."),
  SCALAR("_not_equal_scalar", ne, "data != scalar (0/1)."),
  SCALAR("_greater_scalar", gt, "data > scalar (0/1)."),
  SCALAR("_greater_equal_scalar", ge, "data >= scalar (0/1)."),
  SCALAR("_lesser_scalar", lt, "data < scalar (0/1)."),
  SCALAR("_lesser_equal_scalar", le, "data <= scalar (0/1)."),
  SCALAR("_logical_and_scalar", and, "data & scalar (0/1)."),
  SCALAR("_logical_or_scalar", or, "data | scalar (0/1)."),
  SCALAR("_logical_xor_scalar", xor, "xor(data, scalar) (0/1)."),
  {NULL, {NULL}, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
