/*
 * reduce.cu -- reductions on the GPU with src/ops/reduce.c's semantics:
 * sum, mean, prod, nansum, nanprod, max, min, norm (ord 1, 2), argmax,
 * argmin; axis / keepdims / exclude as the CPU reads them; their gradients
 * (argmax/argmin have none); and mx_kc_sum_to_shape, the gradient of a
 * broadcast input.
 *
 * Accumulation as the CPU: float32/float64 in double (max/min in the
 * element type), integers in uint64 (sums wrap) or saturating int64
 * (products), norms in double; results converted back saturating.
 * max/min/argmax/argmin propagate NaN (the first NaN wins); argmax/argmin
 * ties give the first index.  The order of additions differs from the CPU
 * (a tree per output instead of fixed chunks): float results agree within
 * rounding, not bit for bit.
 *
 * Index maths: mx_kc_red (kern-common.h), host-tested.  Small reductions
 * run one thread per output; long ones one block per output with a
 * shared-memory tree.
 *
 * UNVERIFIED on a GPU: compiled for sm_90 only (see docs/gpu-kernels.md).
 */
#include "../kern-common.h"

/* ------------------------------------------------------------ helpers */

template <class T> __device__ __forceinline__ T kc_isat(int64_t v) { return (T)v; }
template <> __device__ __forceinline__ uint8_t kc_isat<uint8_t>(int64_t v) {
  return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}
template <> __device__ __forceinline__ int32_t kc_isat<int32_t>(int64_t v) {
  return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}
__device__ __forceinline__ int64_t kc_u2i64(uint64_t u) {
  return u <= (uint64_t)INT64_MAX ? (int64_t)u
                                  : (int64_t)(u - 9223372036854775808ull) + INT64_MIN;
}
__device__ __forceinline__ int64_t kc_sat_mul64(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  int neg = (a < 0) != (b < 0);
  if (a == INT64_MAX || a == INT64_MIN || b == INT64_MAX || b == INT64_MIN)
    return neg ? INT64_MIN : INT64_MAX;
  uint64_t ua = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
  uint64_t ub = b < 0 ? 0 - (uint64_t)b : (uint64_t)b;
  if (ua > (uint64_t)INT64_MAX / ub) return neg ? INT64_MIN : INT64_MAX;
  int64_t m = (int64_t)(ua * ub);
  return neg ? -m : m;
}
template <class T> __device__ __forceinline__ T kc_lowest() {
  return mx_kc_isint<T>() ? (T)(sizeof(T) == 1 ? 0 : sizeof(T) == 4 ? INT32_MIN : INT64_MIN)
                          : (T)-CUDART_INF;
}
template <class T> __device__ __forceinline__ T kc_highest() {
  return mx_kc_isint<T>() ? (T)(sizeof(T) == 1 ? 255 : sizeof(T) == 4 ? INT32_MAX : INT64_MAX)
                          : (T)CUDART_INF;
}

/* ------------------------------------------------------- accumulators */

/* Each reduction: accumulator A, init(), step(a, x, r) for element r of
 * the reduced range, merge(a, b) (b covers later elements than a or
 * carries its own index), fin(a, R) -> T. */
#define KC_RED_FLOAT_INT(NAME, FBODY, IBODY)                                  \
  template <class T, bool I = mx_kc_isint<T>()> struct NAME;                  \
  template <class T> struct NAME<T, false> { FBODY };                         \
  template <class T> struct NAME<T, true> { IBODY };

KC_RED_FLOAT_INT(r_sum,
  typedef double A;
  __device__ A init() const { return 0; }
  __device__ void step(A &a, T x, int64_t) const { a += (double)x; }
  __device__ void merge(A &a, const A &b) const { a += b; }
  __device__ T fin(A a, int64_t) const { return (T)a; },
  typedef uint64_t A;
  __device__ A init() const { return 0; }
  __device__ void step(A &a, T x, int64_t) const { a += (uint64_t)(int64_t)x; }
  __device__ void merge(A &a, const A &b) const { a += b; }
  __device__ T fin(A a, int64_t) const { return kc_isat<T>(kc_u2i64(a)); })

KC_RED_FLOAT_INT(r_mean,
  typedef double A;
  __device__ A init() const { return 0; }
  __device__ void step(A &a, T x, int64_t) const { a += (double)x; }
  __device__ void merge(A &a, const A &b) const { a += b; }
  __device__ T fin(A a, int64_t n) const { return (T)(a / (double)n); },
  typedef uint64_t A;
  __device__ A init() const { return 0; }
  __device__ void step(A &a, T x, int64_t) const { a += (uint64_t)(int64_t)x; }
  __device__ void merge(A &a, const A &b) const { a += b; }
  __device__ T fin(A a, int64_t n) const { return kc_isat<T>(n > 0 ? kc_u2i64(a) / n : 0); })

KC_RED_FLOAT_INT(r_prod,
  typedef double A;
  __device__ A init() const { return 1; }
  __device__ void step(A &a, T x, int64_t) const { a *= (double)x; }
  __device__ void merge(A &a, const A &b) const { a *= b; }
  __device__ T fin(A a, int64_t) const { return (T)a; },
  typedef int64_t A;
  __device__ A init() const { return 1; }
  __device__ void step(A &a, T x, int64_t) const { a = kc_sat_mul64(a, (int64_t)x); }
  __device__ void merge(A &a, const A &b) const { a = kc_sat_mul64(a, b); }
  __device__ T fin(A a, int64_t) const { return kc_isat<T>(a); })

/* NaN-skipping forms (floats; integers use the plain ones) */
template <class T> struct r_nansum {
  typedef double A;
  __device__ A init() const { return 0; }
  __device__ void step(A &a, T x, int64_t) const { a += x == x ? (double)x : 0; }
  __device__ void merge(A &a, const A &b) const { a += b; }
  __device__ T fin(A a, int64_t) const { return (T)a; }
};
template <class T> struct r_nanprod {
  typedef double A;
  __device__ A init() const { return 1; }
  __device__ void step(A &a, T x, int64_t) const { a *= x == x ? (double)x : 1; }
  __device__ void merge(A &a, const A &b) const { a *= b; }
  __device__ T fin(A a, int64_t) const { return (T)a; }
};

/* mx_sum_to_shape's sum: double for every dtype, converted back as
 * mx_convert does (integers saturating) */
template <class T> struct r_dsum {
  typedef double A;
  __device__ A init() const { return 0; }
  __device__ void step(A &a, T x, int64_t) const { a += (double)x; }
  __device__ void merge(A &a, const A &b) const { a += b; }
  __device__ T fin(A a, int64_t) const {
    if (!mx_kc_isint<T>()) return (T)a;
    return sizeof(T) == 1 ? (T)mx_kc_f2i(a, 0, 255)
         : sizeof(T) == 4 ? (T)mx_kc_f2i(a, INT32_MIN, INT32_MAX)
                          : (T)mx_kc_f2i(a, INT64_MIN, INT64_MAX);
  }
};

template <class T> struct r_max {
  typedef T A;
  __device__ A init() const { return kc_lowest<T>(); }
  __device__ void step(A &a, T x, int64_t) const { a = (x > a || x != x) ? x : a; }
  __device__ void merge(A &a, const A &b) const { step(a, b, 0); }
  __device__ T fin(A a, int64_t) const { return a; }
};
template <class T> struct r_min {
  typedef T A;
  __device__ A init() const { return kc_highest<T>(); }
  __device__ void step(A &a, T x, int64_t) const { a = (x < a || x != x) ? x : a; }
  __device__ void merge(A &a, const A &b) const { step(a, b, 0); }
  __device__ T fin(A a, int64_t) const { return a; }
};
/* norms in double; integers converted back saturating */
template <class T, int ORD> struct r_norm {
  typedef double A;
  __device__ A init() const { return 0; }
  __device__ void step(A &a, T x, int64_t) const {
    a += ORD == 1 ? fabs((double)x) : (double)x * (double)x;
  }
  __device__ void merge(A &a, const A &b) const { a += b; }
  __device__ T fin(A a, int64_t) const { return mx_kc_sat<T>(ORD == 1 ? a : sqrt(a)); }
};

/* argmax / argmin: (value, index); the first NaN wins, ties keep the
 * smaller index.  The result is the index as T (saturating for uint8 and
 * int32, as reduce.c's IDX). */
template <class T> struct kc_vi { T v; int64_t i; };
template <class T, int MIN> struct r_arg {
  typedef kc_vi<T> A;
  __device__ A init() const { A a; a.v = (T)0; a.i = -1; return a; }
  __device__ static bool better(T x, T b) {
    return MIN ? (x < b || (x != x && b == b)) : (x > b || (x != x && b == b));
  }
  __device__ void step(A &a, T x, int64_t r) const {
    if (a.i < 0 || better(x, a.v)) { a.v = x; a.i = r; }
  }
  __device__ void merge(A &a, const A &b) const {
    if (b.i < 0) return;
    if (a.i < 0 || better(b.v, a.v) ||
        (!better(a.v, b.v) && b.i < a.i)) { a = b; }
  }
  __device__ T fin(A a, int64_t) const { return mx_kc_isint<T>() ? kc_isat<T>(a.i) : (T)a.i; }
};

/* ------------------------------------------------------------ kernels */

/* one thread per output element */
template <class T, class Op> struct kf_red {
  const T *x; T *y; mx_kc_red p; Op op;
  __device__ void operator()(int64_t o) const {
    const T *b = x + mx_kc_red_kept(&p, o);
    typename Op::A a = op.init();
    for (int64_t r = 0; r < p.R; r++) op.step(a, b[mx_kc_red_off(&p, r)], r);
    y[o] = op.fin(a, p.R);
  }
};

/* one block per output element (grid-stride over outputs) */
template <class T, class Op>
__global__ void kc_red_block(const T *x, T *y, mx_kc_red p, Op op) {
  typedef typename Op::A A;
  __shared__ A sh[MX_KC_BLOCK];
  for (int64_t o = blockIdx.x; o < p.nout; o += gridDim.x) {
    const T *b = x + mx_kc_red_kept(&p, o);
    A a = op.init();
    for (int64_t r = threadIdx.x; r < p.R; r += blockDim.x) op.step(a, b[mx_kc_red_off(&p, r)], r);
    sh[threadIdx.x] = a;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if ((int)threadIdx.x < s) op.merge(sh[threadIdx.x], sh[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) y[o] = op.fin(sh[0], p.R);
    __syncthreads();
  }
}

template <class T, class Op>
static mx_status run_red(cudaStream_t s, const T *x, T *y, const mx_kc_red &p) {
  if (p.nout <= 0) return MX_OK;
  if (p.R >= 256 || (p.R >= 32 && p.nout < 4096)) {
    unsigned g = p.nout < MX_KC_MAX_GRID ? (unsigned)p.nout : MX_KC_MAX_GRID;
    void (*k)(const T *, T *, mx_kc_red, Op) = kc_red_block<T, Op>;
    MX_KC_KERNEL(k, g, MX_KC_BLOCK, s, x, y, p, Op());
    MX_CUDA_TRY(cudaGetLastError());
    return MX_OK;
  }
  return mx_kc_launch(s, p.nout, kf_red<T, Op>{x, y, p, Op()});
}

/* ------------------------------------------------------------ params */

static int p_axis = -1, p_keep = -1, p_excl = -1;         /* sum family (p_reduce) */
static int p_nord = -1, p_naxis = -1;                     /* norm                  */
static int p_aaxis = -1;                                  /* argmax/argmin         */

static mx_status reduce_params(void) {
  MX_KC_PARAM(p_axis, "sum", "axis");
  MX_KC_PARAM(p_keep, "sum", "keepdims");
  MX_KC_PARAM(p_excl, "sum", "exclude");
  MX_KC_PARAM(p_nord, "norm", "ord");
  MX_KC_PARAM(p_naxis, "norm", "axis");
  MX_KC_PARAM(p_aaxis, "argmax", "axis");
  return MX_OK;
}

/* reduce.c's axes_mask: unset or () means every axis; exclude inverts. */
static mx_status axes_mask(const mx_param_value *axis, int exclude, int ndim, int *mask) {
  if (!axis->is_set || axis->n == 0) {
    for (int k = 0; k < ndim; k++) mask[k] = 1;
    return MX_OK;
  }
  for (int k = 0; k < ndim; k++) mask[k] = 0;
  for (int j = 0; j < axis->n; j++) {
    int64_t v = axis->tup[j];
    if (v == MX_TUPLE_NONE) return mx_error(MX_ERR_ARG, "parameter 'axis' must not contain None");
    int64_t a = v < 0 ? v + ndim : v;
    if (a < 0 || a >= ndim)
      return mx_error(MX_ERR_ARG,
                      "parameter 'axis': axis %lld is out of range for an array with %d dimension%s",
                      (long long)v, ndim, ndim == 1 ? "" : "s");
    if (mask[a]) return mx_error(MX_ERR_ARG, "parameter 'axis' has duplicates (axis %lld)", (long long)a);
    mask[a] = 1;
  }
  if (exclude)
    for (int k = 0; k < ndim; k++) mask[k] = !mask[k];
  return MX_OK;
}

enum { K_SUM, K_MEAN, K_PROD, K_NANSUM, K_NANPROD, K_MAX, K_MIN, K_NORM1, K_NORM2 };

template <class T>
static mx_status red_typed(cudaStream_t s, int kind, const T *x, T *y, const mx_kc_red &p) {
  switch (kind) {
    case K_SUM: return run_red<T, r_sum<T> >(s, x, y, p);
    case K_MEAN: return run_red<T, r_mean<T> >(s, x, y, p);
    case K_PROD: return run_red<T, r_prod<T> >(s, x, y, p);
    case K_NANSUM:
      return mx_kc_isint<T>() ? run_red<T, r_sum<T> >(s, x, y, p) : run_red<T, r_nansum<T> >(s, x, y, p);
    case K_NANPROD:
      return mx_kc_isint<T>() ? run_red<T, r_prod<T> >(s, x, y, p) : run_red<T, r_nanprod<T> >(s, x, y, p);
    case K_MAX: return run_red<T, r_max<T> >(s, x, y, p);
    case K_MIN: return run_red<T, r_min<T> >(s, x, y, p);
    case K_NORM1: return run_red<T, r_norm<T, 1> >(s, x, y, p);
    default: return run_red<T, r_norm<T, 2> >(s, x, y, p);
  }
}

static mx_status reduce_common(const mx_op_ctx *c, int kind, const char *what,
                               const mx_param_value *axis, int exclude, const mx_ndarray *x,
                               mx_ndarray *y) {
  int mask[MX_MAX_DIM];
  mx_status rc = axes_mask(axis, exclude, x->shape.ndim, mask);
  if (rc) return rc;
  if (what)
    for (int k = 0; k < x->shape.ndim; k++)
      if (mask[k] && x->shape.d[k] == 0)
        return mx_error(MX_ERR_SHAPE, "cannot take the %s over a zero-length axis (axis %d)", what, k);
  mx_kc_red p;
  mx_kc_red_make(&x->shape, mask, &p);
  MX_KC_NUM_SWITCH(x->dtype, T, {
    return red_typed<T>(MX_KC_STREAM(c), kind, MX_KC_PTR(x, T), MX_KC_PTR(y, T), p);
  });
  return MX_OK;
}

#define KC_DEF_REDUCE(NAME, KIND, WHAT)                                         \
  extern "C" mx_status mx_kc_##NAME(KARGS) {                                   \
    UNUSED_KARGS;                                                              \
    mx_status rc = reduce_params();                                            \
    if (rc) return rc;                                                         \
    return reduce_common(c, KIND, WHAT, &p[p_axis], (int)p[p_excl].i, in[0], out[0]); \
  }
KC_DEF_REDUCE(sum, K_SUM, NULL)
KC_DEF_REDUCE(mean, K_MEAN, NULL)
KC_DEF_REDUCE(prod, K_PROD, NULL)
KC_DEF_REDUCE(nansum, K_NANSUM, NULL)
KC_DEF_REDUCE(nanprod, K_NANPROD, NULL)
KC_DEF_REDUCE(max, K_MAX, "maximum")
KC_DEF_REDUCE(min, K_MIN, "minimum")

static mx_status check_ord(const mx_param_value *p) {
  if (p[p_nord].i != 1 && p[p_nord].i != 2)
    return mx_error(MX_ERR_ARG, "parameter 'ord' must be 1 or 2, got %lld", (long long)p[p_nord].i);
  return MX_OK;
}

extern "C" mx_status mx_kc_norm(KARGS) {
  UNUSED_KARGS;
  mx_status rc = reduce_params();
  if (!rc) rc = check_ord(p);
  if (rc) return rc;
  return reduce_common(c, p[p_nord].i == 1 ? K_NORM1 : K_NORM2, NULL, &p[p_naxis], 0, in[0], out[0]);
}

static mx_status arg_common(const mx_op_ctx *c, int is_min, const mx_param_value *p,
                            const mx_ndarray *x, mx_ndarray *y) {
  mx_status rc = reduce_params();
  if (rc) return rc;
  const mx_param_value *axis = &p[p_aaxis];
  int nd = x->shape.ndim, mask[MX_MAX_DIM];
  if (!axis->is_set) {
    for (int k = 0; k < nd; k++) mask[k] = 1;
  } else {
    int64_t a = axis->i < 0 ? axis->i + nd : axis->i;
    if (a < 0 || a >= nd)
      return mx_error(MX_ERR_ARG,
                      "parameter 'axis': axis %lld is out of range for an array with %d dimension%s",
                      (long long)axis->i, nd, nd == 1 ? "" : "s");
    for (int k = 0; k < nd; k++) mask[k] = k == a;
  }
  mx_kc_red pl;
  mx_kc_red_make(&x->shape, mask, &pl);
  if (pl.R == 0)
    return mx_error(MX_ERR_SHAPE, "cannot take the %s over a zero-length axis",
                    is_min ? "argmin" : "argmax");
  cudaStream_t s = MX_KC_STREAM(c);
  MX_KC_NUM_SWITCH(x->dtype, T, {
    if (is_min) return run_red<T, r_arg<T, 1> >(s, MX_KC_PTR(x, T), MX_KC_PTR(y, T), pl);
    return run_red<T, r_arg<T, 0> >(s, MX_KC_PTR(x, T), MX_KC_PTR(y, T), pl);
  });
  return MX_OK;
}

extern "C" mx_status mx_kc_argmax(KARGS) {
  UNUSED_KARGS;
  return arg_common(c, 0, p, in[0], out[0]);
}
extern "C" mx_status mx_kc_argmin(KARGS) {
  UNUSED_KARGS;
  return arg_common(c, 1, p, in[0], out[0]);
}

/* --------------------------------------------------------- sum to shape */

/* (any dtype of the CPU's: the gradient of broadcast_add/elemwise_add
 * works on integers there too) */

extern "C" mx_status mx_kc_sum_to_shape(cudaStream_t s, const mx_ndarray *src, mx_ndarray *dst) {
  int64_t n = mx_cu_size(&src->shape), m = mx_cu_size(&dst->shape);
  if (src->dtype != dst->dtype) return mx_error(MX_ERR_INTERNAL, "sum_to_shape: dtypes differ");
  if (n == m) {
    size_t nb = (size_t)n * mx_cu_dtype_size(dst->dtype);
    if (nb && MX_PTR(src) != MX_PTR(dst))
      MX_CUDA_TRY(cudaMemcpyAsync(MX_PTR(dst), MX_PTR(src), nb, cudaMemcpyDeviceToDevice, s));
    return MX_OK;
  }
  int mask[MX_MAX_DIM];
  mx_kc_sum_to_mask(&src->shape, &dst->shape, mask);
  mx_kc_red p;
  mx_kc_red_make(&src->shape, mask, &p);
  if (p.nout != m) return mx_error(MX_ERR_INTERNAL, "sum_to_shape: the shapes do not broadcast");
  MX_KC_NUM_SWITCH(dst->dtype, T, {
    return run_red<T, r_dsum<T> >(s, MX_KC_PTR(src, T), MX_KC_PTR(dst, T), p);
  });
  return MX_OK;
}

/* ------------------------------------------------------------ gradients */

enum { G_SUM, G_MEAN, G_NANSUM, G_EQ, G_NORM1, G_NORM2 };

/* d[i] (input shape) from g[o], x[i], y[o], o the output element of i */
template <class T> struct kf_rgrad {
  const T *g, *x, *y; T *d; int nd; int64_t shape[MX_MAX_DIM], ostr[MX_MAX_DIM]; double R;
  int kind;
  __device__ void operator()(int64_t i) const {
    int64_t o = mx_kc_offset(nd, shape, ostr, i);
    T gv = g[o];
    switch (kind) {
      case G_SUM: d[i] = gv; break;
      case G_MEAN: d[i] = (T)(gv / R); break;
      case G_NANSUM: d[i] = x[i] == x[i] ? gv : (T)0; break;
      case G_EQ: d[i] = x[i] == y[o] ? gv : (T)0; break;
      case G_NORM1: d[i] = x[i] > 0 ? gv : x[i] < 0 ? -gv : (T)0; break;
      default: d[i] = y[o] == 0 ? (T)0 : (T)(gv * x[i] / y[o]); break;
    }
  }
};

static mx_status bcast_grad(const mx_op_ctx *c, int kind, const mx_param_value *axis, int exclude,
                            mx_ndarray *const *og, mx_ndarray *const *in,
                            mx_ndarray *const *out, mx_ndarray *D) {
  if (D->dtype != MX_FLOAT32 && D->dtype != MX_FLOAT64) return MX_KC_GRAD_DTYPE_ERROR(D->dtype);
  int mask[MX_MAX_DIM];
  mx_status rc = axes_mask(axis, exclude, D->shape.ndim, mask);
  if (rc) return rc;
  double R = 1;
  for (int k = 0; k < D->shape.ndim; k++)
    if (mask[k]) R *= (double)D->shape.d[k];
  int64_t n = mx_cu_size(&D->shape);
  MX_KC_FLOAT_SWITCH(D->dtype, T, {
    kf_rgrad<T> f;
    f.g = MX_KC_PTR(og[0], T);
    f.x = (kind == G_NANSUM || kind >= G_EQ) ? MX_KC_PTR(in[0], T) : f.g;
    f.y = (kind == G_EQ || kind == G_NORM2) ? MX_KC_PTR(out[0], T) : f.g;
    f.d = MX_KC_PTR(D, T);
    f.nd = D->shape.ndim;
    for (int k = 0; k < f.nd; k++) f.shape[k] = D->shape.d[k];
    mx_kc_out_strides(&D->shape, mask, f.ostr);
    f.R = R;
    f.kind = kind;
    return mx_kc_launch(MX_KC_STREAM(c), n, f);
  });
  return MX_OK;
}

#define KC_DEF_REDUCE_GRAD(NAME, KIND)                                          \
  extern "C" mx_status mx_kc_##NAME##_grad(BARGS) {                            \
    UNUSED_BARGS;                                                              \
    if (req[0] != MX_REQ_WRITE) return MX_OK;                                  \
    mx_status rc = reduce_params();                                            \
    if (rc) return rc;                                                         \
    return bcast_grad(c, KIND, &p[p_axis], (int)p[p_excl].i, og, in, out, ig[0]); \
  }
KC_DEF_REDUCE_GRAD(sum, G_SUM)
KC_DEF_REDUCE_GRAD(mean, G_MEAN)
KC_DEF_REDUCE_GRAD(nansum, G_NANSUM)
KC_DEF_REDUCE_GRAD(max, G_EQ)
KC_DEF_REDUCE_GRAD(min, G_EQ)

extern "C" mx_status mx_kc_norm_grad(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_status rc = reduce_params();
  if (!rc) rc = check_ord(p);
  if (rc) return rc;
  return bcast_grad(c, p[p_nord].i == 1 ? G_NORM1 : G_NORM2, &p[p_naxis], 0, og, in, out, ig[0]);
}

/* prod / nanprod: per output P (product of the nonzero, non-NaN elements,
 * in double) and z (count of zeros); then d = g P / x where z == 0,
 * g P at the single zero where z == 1, else 0 (reduce.c). */
template <class T> struct kf_prod_stats {
  const T *x; double *P; int64_t *z; mx_kc_red p; int nan;
  __device__ void operator()(int64_t o) const {
    const T *b = x + mx_kc_red_kept(&p, o);
    double pr = 1;
    int64_t zc = 0;
    for (int64_t r = 0; r < p.R; r++) {
      double v = (double)b[mx_kc_red_off(&p, r)];
      if (v == 0) zc++;
      else if (!(nan && v != v)) pr *= v;
    }
    P[o] = pr;
    z[o] = zc;
  }
};
template <class T> struct kf_prod_grad {
  const T *x, *g; T *d; const double *P; const int64_t *z;
  int nd; int64_t shape[MX_MAX_DIM], ostr[MX_MAX_DIM]; int nan;
  __device__ void operator()(int64_t i) const {
    int64_t o = mx_kc_offset(nd, shape, ostr, i);
    double v = (double)x[i], gv = (double)g[o], res;
    if (nan && v != v) res = 0;
    else if (v == 0) res = z[o] == 1 ? gv * P[o] : 0;
    else res = z[o] == 0 ? gv * (P[o] / v) : 0;
    d[i] = (T)res;
  }
};

static mx_status prod_grad(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *og,
                           mx_ndarray *const *in, mx_ndarray *D, int nan) {
  if (D->dtype != MX_FLOAT32 && D->dtype != MX_FLOAT64) return MX_KC_GRAD_DTYPE_ERROR(D->dtype);
  mx_status rc = reduce_params();
  if (rc) return rc;
  int mask[MX_MAX_DIM];
  rc = axes_mask(&p[p_axis], (int)p[p_excl].i, D->shape.ndim, mask);
  if (rc) return rc;
  mx_kc_red pl;
  mx_kc_red_make(&D->shape, mask, &pl);
  int64_t n = mx_cu_size(&D->shape);
  if (n == 0) return MX_OK;
  mx_storage *st = NULL;
  rc = mx_kc_temp(c, (size_t)pl.nout * (sizeof(double) + sizeof(int64_t)), &st);
  if (rc) return rc;
  double *P = (double *)st->data;
  int64_t *z = (int64_t *)(P + pl.nout);
  cudaStream_t s = MX_KC_STREAM(c);
  MX_KC_FLOAT_SWITCH(D->dtype, T, {
    rc = mx_kc_launch(s, pl.nout, kf_prod_stats<T>{MX_KC_PTR(in[0], T), P, z, pl, nan});
    if (!rc) {
      kf_prod_grad<T> f;
      f.x = MX_KC_PTR(in[0], T);
      f.g = MX_KC_PTR(og[0], T);
      f.d = MX_KC_PTR(D, T);
      f.P = P;
      f.z = z;
      f.nd = D->shape.ndim;
      for (int k = 0; k < f.nd; k++) f.shape[k] = D->shape.d[k];
      mx_kc_out_strides(&D->shape, mask, f.ostr);
      f.nan = nan;
      rc = mx_kc_launch(s, n, f);
    }
  });
  mx_host->storage_release(st);
  return rc;
}

extern "C" mx_status mx_kc_prod_grad(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  return prod_grad(c, p, og, in, ig[0], 0);
}
extern "C" mx_status mx_kc_nanprod_grad(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  return prod_grad(c, p, og, in, ig[0], 1);
}
