/*
 * index.cu -- src/ops/index.c on the GPU: take, pick, one_hot and where,
 * forward and backward.  Indices and conditions may have any dtype (float
 * indices truncated, NaN read as 0, huge values saturated, as mx_convert to
 * int64); data moves are byte copies (every dtype).
 *
 * Differences: take with mode "raise" is refused by supports() (the check
 * would need the indices on the host); take's gradient adds with atomics,
 * so repeated indices accumulate in another order than the CPU's (float
 * rounding only).
 *
 * UNVERIFIED on a GPU: compiled for sm_90 only (see docs/gpu-kernels.md).
 */
#include "../kern-common.h"

enum { MODE_CLIP = 0, MODE_WRAP = 1, MODE_RAISE = 2 };

/* index element i as int64 (mx_convert's semantics) */
__device__ __forceinline__ int64_t kc_index(const void *p, int dt, int64_t i) {
  switch (dt) {
    case MX_INT64: return ((const int64_t *)p)[i];
    case MX_INT32: return ((const int32_t *)p)[i];
    case MX_UINT8: return ((const uint8_t *)p)[i];
    case MX_INT8: return ((const int8_t *)p)[i];
    default: return mx_kc_index_f64(mx_kc_load_f64(p, dt, i));
  }
}

static int tk_axis = -1, tk_mode = -1, pk_axis = -1, pk_mode = -1;
static int oh_depth = -1, oh_on = -1, oh_off = -1;

static mx_status axis_norm(int64_t axis, int ndim, int *out) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    return mx_error(MX_ERR_ARG, "axis %lld is out of range for an array with %d dimension%s",
                    (long long)axis, ndim, ndim == 1 ? "" : "s");
  *out = (int)a;
  return MX_OK;
}
static void around(const mx_shape *s, int ax, int64_t *outer, int64_t *len, int64_t *inner) {
  mx_kc_split_at(s, ax, outer, len, inner);
}

/* ---------------------------------------------------------------- take */

template <class E> struct kf_take {
  const E *a; const void *idx; int idt; E *y; int64_t ni, len, inner; int wrap;
  __device__ void operator()(int64_t q) const {
    int64_t j, at = mx_kc_take_src(q, ni, len, inner, &j);
    y[q] = a[at + mx_kc_index_fix(kc_index(idx, idt, j), len, wrap) * inner];
  }
};
template <class T> struct kf_take_grad {
  const T *g; const void *idx; int idt; T *d; int64_t ni, len, inner; int wrap;
  __device__ void operator()(int64_t q) const {
    int64_t j, at = mx_kc_take_src(q, ni, len, inner, &j);
    atomicAdd(d + at + mx_kc_index_fix(kc_index(idx, idt, j), len, wrap) * inner, g[q]);
  }
};

static mx_status take_setup(const mx_param_value *p, const mx_shape *as, int *ax, int64_t *outer,
                            int64_t *len, int64_t *inner) {
  MX_KC_PARAM(tk_axis, "take", "axis");
  MX_KC_PARAM(tk_mode, "take", "mode");
  if (p[tk_mode].i == MODE_RAISE)
    return mx_error(MX_ERR_UNSUPPORTED, "take with mode 'raise' has no GPU kernel");
  mx_status rc = axis_norm(p[tk_axis].i, as->ndim, ax);
  if (rc) return rc;
  around(as, *ax, outer, len, inner);
  return MX_OK;
}

extern "C" mx_status mx_kc_take(KARGS) {
  UNUSED_KARGS;
  int ax = 0;
  int64_t outer, len, inner, ni = mx_cu_size(&in[1]->shape);
  mx_status rc = take_setup(p, &in[0]->shape, &ax, &outer, &len, &inner);
  if (rc) return rc;
  if (ni == 0 || outer == 0 || inner == 0) return MX_OK;
  if (len == 0) return mx_error(MX_ERR_ARG, "cannot take from axis %d of length 0", ax);
  cudaStream_t s = MX_KC_STREAM(c);
  int64_t n = outer * ni * inner;
  int wrap = p[tk_mode].i == MODE_WRAP;
#define KC_TAKE(E)                                                                             \
  return mx_kc_launch(s, n, kf_take<E>{(const E *)MX_PTR(in[0]), MX_PTR(in[1]), in[1]->dtype, \
                                       (E *)MX_PTR(out[0]), ni, len, inner, wrap})
  switch (mx_cu_dtype_size(in[0]->dtype)) {
    case 1: KC_TAKE(uint8_t);
    case 2: KC_TAKE(uint16_t);
    case 4: KC_TAKE(uint32_t);
    case 8: KC_TAKE(uint64_t);
    default: return MX_KC_DTYPE_ERROR(in[0]->dtype);
  }
#undef KC_TAKE
}

extern "C" mx_status mx_kc_take_grad(BARGS) {
  UNUSED_BARGS;
  cudaStream_t s = MX_KC_STREAM(c);
  mx_status rc = MX_OK;
  if (req[1] == MX_REQ_WRITE)
    rc = mx_cu_fill(s, MX_PTR(ig[1]), ig[1]->dtype, mx_cu_size(&ig[1]->shape), 0.0);
  if (rc || req[0] != MX_REQ_WRITE) return rc;
  mx_ndarray *D = ig[0];
  if (D->dtype != MX_FLOAT32 && D->dtype != MX_FLOAT64) return MX_KC_GRAD_DTYPE_ERROR(D->dtype);
  int ax = 0;
  int64_t outer, len, inner, ni = mx_cu_size(&in[1]->shape);
  rc = take_setup(p, &D->shape, &ax, &outer, &len, &inner);
  if (!rc) rc = mx_cu_fill(s, MX_PTR(D), D->dtype, mx_cu_size(&D->shape), 0.0);
  if (rc) return rc;
  if (ni == 0 || outer == 0 || inner == 0) return MX_OK;
  if (len == 0) return mx_error(MX_ERR_ARG, "cannot take from axis %d of length 0", ax);
  int wrap = p[tk_mode].i == MODE_WRAP;
  MX_KC_FLOAT_SWITCH(D->dtype, T, {
    kf_take_grad<T> f{MX_KC_PTR(og[0], T), MX_PTR(in[1]), in[1]->dtype, MX_KC_PTR(D, T), ni, len,
                      inner, wrap};
    return mx_kc_launch(s, outer * ni * inner, f);
  });
  return MX_OK;
}

/* ---------------------------------------------------------------- pick */

template <class E> struct kf_pick {
  const E *a; const void *idx; int idt; E *y; int64_t len, inner; int wrap, back;
  __device__ void operator()(int64_t i) const {
    int64_t at = mx_kc_pick_src(i, len, inner, mx_kc_index_fix(kc_index(idx, idt, i), len, wrap));
    if (back) y[at] = a[i];     /* gradient: og[i] back to the picked element */
    else y[i] = a[at];
  }
};

static mx_status pick_run(const mx_op_ctx *c, const mx_param_value *p, const mx_ndarray *data_shape,
                          const mx_ndarray *src, const mx_ndarray *idx, mx_ndarray *dst, int back) {
  MX_KC_PARAM(pk_axis, "pick", "axis");
  MX_KC_PARAM(pk_mode, "pick", "mode");
  int ax = 0;
  mx_status rc = axis_norm(p[pk_axis].i, data_shape->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer, len, inner;
  around(&data_shape->shape, ax, &outer, &len, &inner);
  int64_t n = outer * inner;
  if (n == 0) return MX_OK;
  if (len == 0) return mx_error(MX_ERR_ARG, "cannot pick from axis %d of length 0", ax);
  cudaStream_t s = MX_KC_STREAM(c);
  int wrap = p[pk_mode].i == MODE_WRAP;
#define KC_PICK(E)                                                                              \
  return mx_kc_launch(s, n, kf_pick<E>{(const E *)MX_PTR(src), MX_PTR(idx), idx->dtype,          \
                                       (E *)MX_PTR(dst), len, inner, wrap, back})
  switch (mx_cu_dtype_size(dst->dtype)) {
    case 1: KC_PICK(uint8_t);
    case 2: KC_PICK(uint16_t);
    case 4: KC_PICK(uint32_t);
    case 8: KC_PICK(uint64_t);
    default: return MX_KC_DTYPE_ERROR(dst->dtype);
  }
#undef KC_PICK
}

extern "C" mx_status mx_kc_pick(KARGS) {
  UNUSED_KARGS;
  return pick_run(c, p, in[0], in[0], in[1], out[0], 0);
}

extern "C" mx_status mx_kc_pick_grad(BARGS) {
  UNUSED_BARGS;
  cudaStream_t s = MX_KC_STREAM(c);
  mx_status rc = MX_OK;
  if (req[1] == MX_REQ_WRITE)
    rc = mx_cu_fill(s, MX_PTR(ig[1]), ig[1]->dtype, mx_cu_size(&ig[1]->shape), 0.0);
  if (rc || req[0] != MX_REQ_WRITE) return rc;
  mx_ndarray *D = ig[0];
  int dt = D->dtype;
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64 && dt != MX_FLOAT16) return MX_KC_GRAD_DTYPE_ERROR(dt);
  rc = mx_cu_fill(s, MX_PTR(D), dt, mx_cu_size(&D->shape), 0.0);
  if (rc) return rc;
  return pick_run(c, p, D, og[0], in[1], D, 1);
}

/* ------------------------------------------------------------- one_hot */

template <class T> struct kf_one_hot {
  const void *idx; int idt; T *y; int64_t depth; T von, voff;
  __device__ void operator()(int64_t q) const {
    int64_t i = q / depth, k = q - i * depth;
    y[q] = kc_index(idx, idt, i) == k ? von : voff;
  }
};

/* v converted as mx_store_f64 does (NaN -> 0, saturating for integers) */
template <class T> static T store_as(double v) {
  if (!mx_kc_isint<T>()) return (T)v;
  if (sizeof(T) == 1) return (T)mx_kc_f2i(v, 0, 255);
  if (sizeof(T) == 4) return (T)mx_kc_f2i(v, INT32_MIN, INT32_MAX);
  return (T)mx_kc_f2i(v, INT64_MIN, INT64_MAX);
}

extern "C" mx_status mx_kc_one_hot(KARGS) {
  UNUSED_KARGS;
  MX_KC_PARAM(oh_depth, "one_hot", "depth");
  MX_KC_PARAM(oh_on, "one_hot", "on_value");
  MX_KC_PARAM(oh_off, "one_hot", "off_value");
  int64_t depth = p[oh_depth].i, n = mx_cu_size(&in[0]->shape);
  if (n == 0 || depth == 0) return MX_OK;
  MX_KC_NUM_SWITCH(out[0]->dtype, T, {
    kf_one_hot<T> f{MX_PTR(in[0]), in[0]->dtype, MX_KC_PTR(out[0], T), depth,
                    store_as<T>(p[oh_on].f), store_as<T>(p[oh_off].f)};
    return mx_kc_launch(MX_KC_STREAM(c), n * depth, f);
  });
  return MX_OK;
}

/* --------------------------------------------------------------- where */

/* condition element i nonzero (float16 by its bits: NaN is true) */
__device__ __forceinline__ int kc_cond(const void *p, int dt, int64_t i) {
  switch (dt) {
    case MX_FLOAT16: return (((const uint16_t *)p)[i] & 0x7fffu) != 0;
    case MX_FLOAT32: return ((const float *)p)[i] != 0;
    case MX_FLOAT64: return ((const double *)p)[i] != 0;
    case MX_UINT8: return ((const uint8_t *)p)[i] != 0;
    case MX_INT8: return ((const int8_t *)p)[i] != 0;
    case MX_INT32: return ((const int32_t *)p)[i] != 0;
    default: return ((const int64_t *)p)[i] != 0;
  }
}

template <class E> struct kf_where {
  const void *cnd; int cdt; const E *x, *y; E *o; int64_t row;
  __device__ void operator()(int64_t i) const {
    o[i] = kc_cond(cnd, cdt, i / row) ? x[i] : y[i];
  }
};
template <class E> struct kf_where_grad {
  const void *cnd; int cdt; const E *g; E *dx, *dy; int64_t row;
  __device__ void operator()(int64_t i) const {
    int t = kc_cond(cnd, cdt, i / row);
    if (dx) dx[i] = t ? g[i] : (E)0;
    if (dy) dy[i] = t ? (E)0 : g[i];
  }
};

/* elements per condition element: 1, or a whole slice (per_row) */
static int64_t where_row(const mx_ndarray *cnd, const mx_shape *xs) {
  int64_t n = mx_cu_size(xs), nc = mx_cu_size(&cnd->shape);
  int same = cnd->shape.ndim == xs->ndim;
  for (int k = 0; same && k < xs->ndim; k++) same = cnd->shape.d[k] == xs->d[k];
  return same ? 1 : (nc > 0 ? n / nc : 1);
}

extern "C" mx_status mx_kc_where(KARGS) {
  UNUSED_KARGS;
  int64_t n = mx_cu_size(&out[0]->shape);
  if (n == 0) return MX_OK;
  int64_t row = where_row(in[0], &in[1]->shape);
  cudaStream_t s = MX_KC_STREAM(c);
#define KC_WHERE(E)                                                                           \
  return mx_kc_launch(s, n, kf_where<E>{MX_PTR(in[0]), in[0]->dtype, (const E *)MX_PTR(in[1]), \
                                        (const E *)MX_PTR(in[2]), (E *)MX_PTR(out[0]), row})
  switch (mx_cu_dtype_size(out[0]->dtype)) {
    case 1: KC_WHERE(uint8_t);
    case 2: KC_WHERE(uint16_t);
    case 4: KC_WHERE(uint32_t);
    case 8: KC_WHERE(uint64_t);
    default: return MX_KC_DTYPE_ERROR(out[0]->dtype);
  }
#undef KC_WHERE
}

extern "C" mx_status mx_kc_where_grad(BARGS) {
  UNUSED_BARGS;
  cudaStream_t s = MX_KC_STREAM(c);
  mx_status rc = MX_OK;
  if (req[0] == MX_REQ_WRITE)
    rc = mx_cu_fill(s, MX_PTR(ig[0]), ig[0]->dtype, mx_cu_size(&ig[0]->shape), 0.0);
  int wx = req[1] == MX_REQ_WRITE, wy = req[2] == MX_REQ_WRITE;
  if (rc || (!wx && !wy)) return rc;
  const mx_ndarray *G = og[0];
  int dt = G->dtype;
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64 && dt != MX_FLOAT16) return MX_KC_GRAD_DTYPE_ERROR(dt);
  int64_t n = mx_cu_size(&G->shape);
  if (n == 0) return MX_OK;
  int64_t row = where_row(in[0], &G->shape);
  /* float zero is all-zero bits in every float dtype */
#define KC_WGRAD(E)                                                                            \
  return mx_kc_launch(s, n, kf_where_grad<E>{MX_PTR(in[0]), in[0]->dtype, (const E *)MX_PTR(G), \
                                             wx ? (E *)MX_PTR(ig[1]) : NULL,                    \
                                             wy ? (E *)MX_PTR(ig[2]) : NULL, row})
  switch (mx_cu_dtype_size(dt)) {
    case 2: KC_WGRAD(uint16_t);
    case 4: KC_WGRAD(uint32_t);
    default: KC_WGRAD(uint64_t);
  }
#undef KC_WGRAD
}

/* take: mode "raise" needs the indices on the host */
extern "C" int mx_kc_supports_take(MX_KC_SUPPORTS_ARGS) {
  (void)nin; (void)in_shapes; (void)in_dtypes;
  MX_KC_PARAM_OR_REFUSE(tk_mode, "take", "mode", why);
  if (p[tk_mode].i == MODE_RAISE) {
    *why = "take with mode = 'raise' has no GPU kernel (use clip or wrap)";
    return 0;
  }
  return 1;
}
