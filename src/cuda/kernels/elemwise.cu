/*
 * elemwise.cu -- element-wise binary ops on the GPU: same-shape
 * (elemwise_*), broadcasting (broadcast_*) and array-scalar (_*_scalar,
 * _r*_scalar) forms, forward and backward, with src/ops/elemwise.c's
 * semantics: integer division/modulo by zero give 0, float modulo takes the
 * divisor's sign (x %% 0 is NaN), maximum/minimum propagate NaN, integer
 * pow/hypot saturate, comparisons give 0/1 in the input dtype.
 *
 * Forward: float32, float64, uint8, int32, int64 (the CPU's dtypes).
 * Backward: float32 and float64; a broadcast input's gradient is computed
 * at the output's shape into a pooled temporary and summed down
 * (mx_kc_sum_to_shape, reduce.cu).
 *
 * UNVERIFIED on a GPU: compiled for sm_90 only (see docs/gpu-kernels.md).
 */
#include "../kern-common.h"

/* --------------------------------------------------------- expressions */

__device__ __forceinline__ int64_t kc_idiv64(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return (int64_t)(0 - (uint64_t)a);
  return a / b;
}
__device__ __forceinline__ int64_t kc_imod64(int64_t a, int64_t b) {
  if (b == 0 || b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
__device__ __forceinline__ double kc_fmod_r(double a, double b) {
  if (b == 0) return CUDART_NAN;
  double r = fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
/* Integer pow and hypot: the CPU truncates glibc's correctly rounded
 * results, exact for integers below 2^53; CUDA's pow and hypot may be an ulp
 * below an exact integer, which truncation turns into the integer below.
 * Below 2^53 these are exact: repeated squaring, and sqrt (correctly
 * rounded, and never within an ulp of an integer unless its square). */
#define KC_EXACT 9007199254740992.0   /* 2^53 */
__device__ __forceinline__ double kc_ipow(double a, double b) {
  if (b < 0 || b > 64) return pow(a, b);
  double r = 1, x = a;
  for (int64_t e = (int64_t)b; e; e >>= 1) {
    if (e & 1) r *= x;
    if (fabs(r) >= KC_EXACT || (e > 1 && fabs(x) >= 94906266.0)) return pow(a, b);   /* x^2 >= 2^53 */
    if (e > 1) x *= x;
  }
  return r;
}
__device__ __forceinline__ double kc_ihypot(double a, double b) {
  double s = a * a + b * b;
  return s < KC_EXACT ? sqrt(s) : hypot(a, b);
}

/* One functor per op: the forward expression E(a, b) in T. */
#define KC_BIN(NAME, EXPR)                                                    \
  struct kb_##NAME {                                                          \
    template <class T> __device__ __forceinline__ T operator()(T a, T b) const { \
      (void)a; (void)b;                                                       \
      return EXPR;                                                            \
    }                                                                         \
  };
#define ISI mx_kc_isint<T>()
KC_BIN(add, (T)(a + b))
KC_BIN(sub, (T)(a - b))
KC_BIN(mul, (T)(a * b))
KC_BIN(div, ISI ? (T)kc_idiv64((int64_t)a, (int64_t)b) : (T)(a / b))
KC_BIN(mod, ISI ? (T)kc_imod64((int64_t)a, (int64_t)b) : (T)kc_fmod_r((double)a, (double)b))
KC_BIN(pow, ISI ? mx_kc_sat<T>(kc_ipow((double)a, (double)b)) : (T)pow((double)a, (double)b))
KC_BIN(max, (a > b || a != a) ? a : b)
KC_BIN(min, (a < b || a != a) ? a : b)
KC_BIN(eq, (T)(a == b))
KC_BIN(ne, (T)(a != b))
KC_BIN(gt, (T)(a > b))
KC_BIN(ge, (T)(a >= b))
KC_BIN(lt, (T)(a < b))
KC_BIN(le, (T)(a <= b))
KC_BIN(and, (T)(a != 0 && b != 0))
KC_BIN(or, (T)(a != 0 || b != 0))
KC_BIN(xor, (T)((a != 0) != (b != 0)))
KC_BIN(hypot, ISI ? mx_kc_sat<T>(kc_ihypot((double)a, (double)b)) : (T)hypot((double)a, (double)b))

/* Gradient functors: ga(a, b, g) = dL/da, gb(a, b, g) = dL/db, float types
 * only, with elemwise.c's expressions (the same mixture of T and double). */
#define KC_GRAD(NAME, GA, GB)                                                 \
  struct kg_##NAME {                                                          \
    template <class T> __device__ __forceinline__ T ga(T a, T b, T g) const { \
      (void)a; (void)b; (void)g;                                              \
      return (T)(GA);                                                         \
    }                                                                         \
    template <class T> __device__ __forceinline__ T gb(T a, T b, T g) const { \
      (void)a; (void)b; (void)g;                                              \
      return (T)(GB);                                                         \
    }                                                                         \
  };
KC_GRAD(add, g, g)
KC_GRAD(sub, g, -g)
KC_GRAD(mul, g * b, g * a)
KC_GRAD(div, g / b, -g * a / (b * b))
KC_GRAD(mod, g, -g * floor((double)a / (double)b))
KC_GRAD(pow, g * b * pow((double)a, (double)b - 1), g * pow((double)a, (double)b) * log((double)a))
KC_GRAD(max, a >= b ? g : (T)0, a >= b ? (T)0 : g)
KC_GRAD(min, a <= b ? g : (T)0, a <= b ? (T)0 : g)
KC_GRAD(hypot, g * a / hypot((double)a, (double)b), g * b / hypot((double)a, (double)b))

/* ------------------------------------------------------------ functors */

template <class T, class E> struct kf_same {      /* equal sizes */
  const T *a, *b; T *o; E e;
  __device__ void operator()(int64_t i) const { o[i] = e(a[i], b[i]); }
};
template <class T, class E> struct kf_bcast {     /* broadcast plan */
  const T *a, *b; T *o; E e; mx_kc_bcast p;
  __device__ void operator()(int64_t i) const {
    int64_t oa, ob;
    mx_kc_bcast_offsets(&p, i, &oa, &ob);
    o[i] = e(a[oa], b[ob]);
  }
};
template <class T, class E> struct kf_scalar {    /* rev: the scalar on the left */
  const T *a; T *o; T s; int rev; E e;
  __device__ void operator()(int64_t i) const { o[i] = rev ? e(s, a[i]) : e(a[i], s); }
};
/* d[i] = side's gradient at output element i over the broadcast plan */
template <class T, class G> struct kf_grad {
  const T *a, *b, *g; T *d; G f; mx_kc_bcast p; int side;
  __device__ void operator()(int64_t i) const {
    int64_t oa, ob;
    mx_kc_bcast_offsets(&p, i, &oa, &ob);
    d[i] = side ? f.gb(a[oa], b[ob], g[i]) : f.ga(a[oa], b[ob], g[i]);
  }
};
/* scalar form: x the array element, v the scalar */
template <class T, class G> struct kf_sgrad {
  const T *x, *g; T *d; T v; int rev; G f;
  __device__ void operator()(int64_t i) const {
    d[i] = rev ? f.gb(v, x[i], g[i]) : f.ga(x[i], v, g[i]);
  }
};
template <class T> struct kf_neg {
  const T *s; T *d;
  __device__ void operator()(int64_t i) const { d[i] = -s[i]; }
};

/* ------------------------------------------------------------ launchers */

template <class E>
static mx_status bin_fwd(const mx_op_ctx *c, mx_ndarray *const *in, mx_ndarray *const *out) {
  cudaStream_t s = MX_KC_STREAM(c);
  int64_t n = mx_cu_size(&out[0]->shape);
  int64_t na = mx_cu_size(&in[0]->shape), nb = mx_cu_size(&in[1]->shape);
  MX_KC_NUM_SWITCH(out[0]->dtype, T, {
    const T *a = MX_KC_PTR(in[0], T), *b = MX_KC_PTR(in[1], T);
    T *o = MX_KC_PTR(out[0], T);
    if (na == n && nb == n) return mx_kc_launch(s, n, kf_same<T, E>{a, b, o, E()});
    kf_bcast<T, E> f{a, b, o, E(), {}};
    mx_kc_bcast_make(&in[0]->shape, &in[1]->shape, &out[0]->shape, &f.p);
    return mx_kc_launch(s, n, f);
  });
  return MX_OK;
}

/* The scalar of an array-scalar op in T (elemwise.c's SCALAR_LOOP). */
template <class T> static T scalar_as(double f) {
  if (mx_kc_isint<T>()) return (T)(int64_t)fmax(fmin(trunc(f), 9.2e18), -9.2e18);
  return (T)f;
}

static int p_scalar = -1;

template <class E>
static mx_status scal_fwd(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in,
                          mx_ndarray *const *out, int rev) {
  MX_KC_PARAM(p_scalar, "_plus_scalar", "scalar");
  cudaStream_t s = MX_KC_STREAM(c);
  int64_t n = mx_cu_size(&out[0]->shape);
  MX_KC_NUM_SWITCH(out[0]->dtype, T, {
    kf_scalar<T, E> f{MX_KC_PTR(in[0], T), MX_KC_PTR(out[0], T),
                      scalar_as<T>(p[p_scalar].f), rev, E()};
    return mx_kc_launch(s, n, f);
  });
  return MX_OK;
}

/* Gradient of one side: straight into d when that input has the output's
 * size, else into a temporary of the output's shape summed down. */
template <class G>
static mx_status grad_side(cudaStream_t s, const mx_op_ctx *c, const mx_ndarray *A,
                           const mx_ndarray *B, const mx_ndarray *Gr, mx_ndarray *D, int side) {
  int64_t n = mx_cu_size(&Gr->shape);
  int dt = Gr->dtype;
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64) return MX_KC_GRAD_DTYPE_ERROR(dt);
  mx_storage *tmp = NULL;
  void *dst = MX_PTR(D);
  if (mx_cu_size(&D->shape) != n) {
    mx_status rc = mx_kc_temp(c, (size_t)n * mx_cu_dtype_size(dt), &tmp);
    if (rc) return rc;
    dst = tmp->data;
  }
  mx_status rc = MX_OK;
  MX_KC_FLOAT_SWITCH(dt, T, {
    kf_grad<T, G> f{MX_KC_PTR(A, T), MX_KC_PTR(B, T), MX_KC_PTR(Gr, T), (T *)dst, G(), {}, side};
    mx_kc_bcast_make(&A->shape, &B->shape, &Gr->shape, &f.p);
    rc = mx_kc_launch(s, n, f);
  });
  if (!rc && tmp) {
    mx_ndarray full = *Gr;           /* a header on the temporary */
    full.st = tmp;
    full.offset = 0;
    rc = mx_kc_sum_to_shape(s, &full, D);
  }
  if (tmp) mx_host->storage_release(tmp);
  return rc;
}

template <class G>
static mx_status bin_bwd(const mx_op_ctx *c, mx_ndarray *const *og, mx_ndarray *const *in,
                         mx_ndarray *const *ig, const int *req) {
  cudaStream_t s = MX_KC_STREAM(c);
  for (int j = 0; j < 2; j++) {
    if (req[j] != MX_REQ_WRITE) continue;
    mx_status rc = grad_side<G>(s, c, in[0], in[1], og[0], ig[j], j);
    if (rc) return rc;
  }
  return MX_OK;
}

template <class G>
static mx_status scal_bwd(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *og,
                          mx_ndarray *const *in, mx_ndarray *const *ig, const int *req, int rev) {
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  MX_KC_PARAM(p_scalar, "_plus_scalar", "scalar");
  cudaStream_t s = MX_KC_STREAM(c);
  int64_t n = mx_cu_size(&og[0]->shape);
  int dt = og[0]->dtype;
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64) return MX_KC_GRAD_DTYPE_ERROR(dt);
  MX_KC_FLOAT_SWITCH(dt, T, {
    kf_sgrad<T, G> f{MX_KC_PTR(in[0], T), MX_KC_PTR(og[0], T), MX_KC_PTR(ig[0], T),
                     (T)p[p_scalar].f, rev, G()};
    return mx_kc_launch(s, n, f);
  });
  return MX_OK;
}

/* ------------------------------------------------------- entry points */

/* Backward bodies: the gradient functors, or zeros for the comparisons
 * and logical ops (no kernels instantiated for those). */
#define KC_BWD_1(NAME, FN, ...) return FN<kg_##NAME>(__VA_ARGS__)
#define KC_BWD_0(NAME, FN, ...) return mx_kc_grad_zeros(c, p, og, nout, in, nin, out, ig, req)

#define KC_DEF_BINARY(NAME, HASGRAD)                                           \
  extern "C" mx_status mx_kc_bin_##NAME(KARGS) {                              \
    UNUSED_KARGS;                                                             \
    return bin_fwd<kb_##NAME>(c, in, out);                                    \
  }                                                                           \
  extern "C" mx_status mx_kc_scal_##NAME(KARGS) {                             \
    UNUSED_KARGS;                                                             \
    return scal_fwd<kb_##NAME>(c, p, in, out, 0);                             \
  }                                                                           \
  extern "C" mx_status mx_kc_rscal_##NAME(KARGS) {                            \
    UNUSED_KARGS;                                                             \
    return scal_fwd<kb_##NAME>(c, p, in, out, 1);                             \
  }                                                                           \
  extern "C" mx_status mx_kc_bin_grad_##NAME(BARGS) {                         \
    UNUSED_BARGS;                                                             \
    KC_BWD_##HASGRAD(NAME, bin_bwd, c, og, in, ig, req);                      \
  }                                                                           \
  extern "C" mx_status mx_kc_scal_grad_##NAME(BARGS) {                        \
    UNUSED_BARGS;                                                             \
    KC_BWD_##HASGRAD(NAME, scal_bwd, c, p, og, in, ig, req, 0);               \
  }                                                                           \
  extern "C" mx_status mx_kc_rscal_grad_##NAME(BARGS) {                       \
    UNUSED_BARGS;                                                             \
    KC_BWD_##HASGRAD(NAME, scal_bwd, c, p, og, in, ig, req, 1);               \
  }
MX_KC_BINARY_OPS(KC_DEF_BINARY)

/* elemwise_add also in float16 and bfloat16 (a half-precision network's
 * residual connections): summed in float, rounded once.  Its backward
 * (addsub_fast) copies the output gradient, whatever the dtype. */
template <class T> struct kf_add_half {
  const T *a, *b; T *o;
  __device__ void operator()(int64_t i) const { o[i] = (T)((float)a[i] + (float)b[i]); }
};
template <class T> static mx_status add_half(cudaStream_t s, mx_ndarray *const *in, mx_ndarray *out) {
  return mx_kc_launch(s, mx_cu_size(&out->shape),
                      kf_add_half<T>{MX_KC_PTR(in[0], const T), MX_KC_PTR(in[1], const T), MX_KC_PTR(out, T)});
}
extern "C" mx_status mx_kc_elemwise_add(KARGS) {
  UNUSED_KARGS;
  if (out[0]->dtype == MX_FLOAT16) return add_half<__half>(MX_KC_STREAM(c), in, out[0]);
  if (out[0]->dtype == MX_BFLOAT16) return add_half<__nv_bfloat16>(MX_KC_STREAM(c), in, out[0]);
  return bin_fwd<kb_add>(c, in, out);
}

/* add/sub without the inputs: og summed down to each gradient's shape
 * (sub negates the right side). */
static mx_status addsub_fast(const mx_op_ctx *c, mx_ndarray *const *og, mx_ndarray *const *ig,
                             const int *req, int sub) {
  cudaStream_t s = MX_KC_STREAM(c);
  for (int j = 0; j < 2; j++) {
    if (req[j] != MX_REQ_WRITE) continue;
    int dt = ig[j]->dtype;
    /* the CPU sums any dtype (mx_sum_to_shape) but negates floats only */
    if (sub && j == 1 && dt != MX_FLOAT32 && dt != MX_FLOAT64) return MX_KC_GRAD_DTYPE_ERROR(dt);
    mx_status rc = mx_kc_sum_to_shape(s, og[0], ig[j]);
    if (rc) return rc;
    if (sub && j == 1) {
      int64_t n = mx_cu_size(&ig[1]->shape);
      MX_KC_FLOAT_SWITCH(dt, T, {
        rc = mx_kc_launch(s, n, kf_neg<T>{MX_KC_PTR(ig[1], T), MX_KC_PTR(ig[1], T)});
      });
      if (rc) return rc;
    }
  }
  return MX_OK;
}

extern "C" mx_status mx_kc_bin_grad_add_fast(BARGS) {
  UNUSED_BARGS;
  return addsub_fast(c, og, ig, req, 0);
}
extern "C" mx_status mx_kc_bin_grad_sub_fast(BARGS) {
  UNUSED_BARGS;
  return addsub_fast(c, og, ig, req, 1);
}

/* _plus_scalar/_minus_scalar: the output gradient itself (any dtype, as
 * the CPU's copy) */
extern "C" mx_status mx_kc_scal_grad_copy(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  int dt = ig[0]->dtype;
  size_t nb = (size_t)mx_cu_size(&ig[0]->shape) * mx_cu_dtype_size(dt);
  if (nb && MX_PTR(ig[0]) != MX_PTR(og[0]))
    MX_CUDA_TRY(cudaMemcpyAsync(MX_PTR(ig[0]), MX_PTR(og[0]), nb, cudaMemcpyDeviceToDevice,
                                MX_KC_STREAM(c)));
  return MX_OK;
}

/* comparisons and logical ops: zero gradients (float dtypes only, as the
 * CPU's mx_ndarray_fill of a gradient array) */
extern "C" mx_status mx_kc_grad_zeros(BARGS) {
  UNUSED_BARGS;
  for (int j = 0; j < nin; j++) {
    if (req[j] != MX_REQ_WRITE || !ig[j]) continue;
    mx_status rc = mx_cu_fill(MX_KC_STREAM(c), MX_PTR(ig[j]), ig[j]->dtype,
                              mx_cu_size(&ig[j]->shape), 0.0);
    if (rc) return rc;
  }
  return MX_OK;
}
