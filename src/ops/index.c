/*
 * index.c -- ops that select elements by index arrays: take, pick, one_hot,
 * and where (select by a condition).
 *
 * Index arrays may have any dtype; float indices are truncated towards zero
 * (NaN reads as 0, huge values saturate).  Selection copies bytes, so float16
 * data is handled natively (MX_OPF_F16).  Shapes and axes are C order.
 */
#include "../include/mx-op.h"

#include <stdlib.h>


enum { MODE_CLIP = 0, MODE_WRAP = 1, MODE_RAISE = 2 };

/* The indices of an array as int64 (a new buffer, or the array itself). */
static mx_status index_buffer(const mx_ndarray *a, int64_t **buf, int *owned) {
  int64_t n = mx_ndarray_size(a);
  if (a->dtype == MX_INT64) {
    *buf = MX_DATA(a, int64_t);
    *owned = 0;
    return MX_OK;
  }
  *buf = (int64_t *)malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  if (!*buf) return mx_error(MX_ERR_NOMEM, "out of memory (indices)");
  *owned = 1;
  mx_convert(MX_PTR(a), a->dtype, *buf, MX_INT64, n);
  return MX_OK;
}

/* Map index v into [0, len) by mode; -1 when raise finds it out of range. */
static inline int64_t index_fix(int64_t v, int64_t len, int mode) {
  if (mode == MODE_WRAP) {
    int64_t r = v % len;
    return r < 0 ? r + len : r;
  }
  if (v >= 0 && v < len) return v;
  if (mode == MODE_RAISE) return -1;
  return v < 0 ? 0 : len - 1;
}

/* Copy n elements of es bytes. */
static inline void copy_elems(char *d, const char *s, int64_t n, size_t es) {
  if (n == 1) {
    switch (es) {
      case 1: *(uint8_t *)d = *(const uint8_t *)s; return;
      case 2: memcpy(d, s, 2); return;
      case 4: memcpy(d, s, 4); return;
      case 8: memcpy(d, s, 8); return;
      default: break;
    }
  }
  memcpy(d, s, (size_t)n * es);
}

/* ---------------------------------------------------------------- take */

enum { TK_AXIS, TK_MODE, TK_NPARAMS };

static mx_status type_take(const mx_param_value *p, int nin, int *in, int nout,
                           int *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0] >= 0) out[0] = in[0];
  else if (out[0] >= 0) in[0] = out[0];
  return MX_OK;
}

static mx_status shape_take(const mx_param_value *p, int nin, mx_shape *in,
                            int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  if (in[0].ndim < 1) return mx_error(MX_ERR_SHAPE, "cannot take from an array with no dimensions");
  int ax = 0;
  mx_status rc = mx_axis_norm(p[TK_AXIS].i, in[0].ndim, &ax);
  if (rc) return mx_error_prefix(rc, "parameter 'axis': ");
  int nd = in[0].ndim - 1 + in[1].ndim;
  if (nd > MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "the result would have %d dimensions (at most %d)", nd, MX_MAX_DIM);
  mx_shape o;
  o.ndim = 0;
  for (int k = 0; k < ax; k++) o.d[o.ndim++] = in[0].d[k];
  for (int k = 0; k < in[1].ndim; k++) o.d[o.ndim++] = in[1].d[k];
  for (int k = ax + 1; k < in[0].ndim; k++) o.d[o.ndim++] = in[0].d[k];
  for (int k = o.ndim; k < MX_MAX_DIM; k++) o.d[k] = 0;
  out[0] = o;
  return MX_OK;
}

/* The indices of take mapped into [0, len) by mode (a new buffer, freed by
 * the caller); mode 'raise' fails on an index out of range. */
static mx_status take_indices(const mx_ndarray *ind, int64_t len, int mode, int ax,
                              int64_t **out) {
  int64_t ni = mx_ndarray_size(ind);
  int64_t *idx;
  int owned;
  mx_status rc = index_buffer(ind, &idx, &owned);
  if (rc) return rc;
  int64_t *fixed = (int64_t *)malloc((size_t)(ni > 0 ? ni : 1) * sizeof(int64_t));
  if (!fixed) {
    if (owned) free(idx);
    return mx_error(MX_ERR_NOMEM, "out of memory (indices)");
  }
  for (int64_t j = 0; j < ni; j++) {
    fixed[j] = index_fix(idx[j], len, mode);
    if (fixed[j] < 0) {
      long long bad = (long long)idx[j];
      if (owned) free(idx);
      free(fixed);
      return mx_error(MX_ERR_ARG, "index %lld is out of range for axis %d of length %lld (mode 'raise')",
                      bad, ax, (long long)len);
    }
  }
  if (owned) free(idx);
  *out = fixed;
  return MX_OK;
}

static mx_status k_take(KARGS) {
  UNUSED_KARGS;
  const mx_ndarray *a = in[0];
  int ax, mode = (int)p[TK_MODE].i;
  mx_status rc = mx_axis_norm(p[TK_AXIS].i, a->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer = 1, inner = 1, len = a->shape.d[ax], ni = mx_ndarray_size(in[1]);
  for (int k = 0; k < ax; k++) outer *= a->shape.d[k];
  for (int k = ax + 1; k < a->shape.ndim; k++) inner *= a->shape.d[k];
  if (ni == 0 || outer == 0 || inner == 0) return MX_OK;
  if (len == 0)
    return mx_error(MX_ERR_ARG, "cannot take from axis %d of length 0", ax);
  int64_t *fixed;
  rc = take_indices(in[1], len, mode, ax, &fixed);
  if (rc) return rc;
  size_t es = mx_dtype_size(a->dtype);
  const char *src = (const char *)MX_PTR(a);
  char *dst = (char *)MX_PTR(out[0]);
  int64_t rows = outer * ni;
  int nt = mx_par_threads(rows * inner);
  (void)nt;  /* unused without OpenMP */
  MX_OMP_FOR(nt)
  for (int64_t r = 0; r < rows; r++) {
    int64_t o = r / ni, j = r % ni;
    copy_elems(dst + (size_t)(r * inner) * es,
               src + (size_t)((o * len + fixed[j]) * inner) * es, inner, es);
  }
  free(fixed);
  return MX_OK;
}

/* ---------------------------------------------------------------- pick */

enum { PK_AXIS, PK_KEEPDIMS, PK_MODE, PK_NPARAMS };

static mx_status shape_pick(const mx_param_value *p, int nin, mx_shape *in,
                            int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int ax = 0;
  mx_status rc = mx_axis_norm(p[PK_AXIS].i, in[0].ndim, &ax);
  if (rc) return mx_error_prefix(rc, "parameter 'axis': ");
  mx_shape keep = in[0], drop;
  keep.d[ax] = 1;
  drop.ndim = 0;
  for (int k = 0; k < in[0].ndim; k++)
    if (k != ax) drop.d[drop.ndim++] = in[0].d[k];
  for (int k = drop.ndim; k < MX_MAX_DIM; k++) drop.d[k] = 0;
  if (drop.ndim == 0) {   /* as MXNet: a 1-d input gives (1,), never a scalar */
    drop.ndim = 1;
    drop.d[0] = 1;
  }
  mx_shape o = p[PK_KEEPDIMS].i ? keep : drop;
  if (in[1].ndim < 0) {
    in[1] = o;
  } else if (!mx_shape_equal(&in[1], &keep) && !mx_shape_equal(&in[1], &drop)) {
    char b1[128], b2[128], b3[128];
    mx_shape_format(&in[1], b1, sizeof b1);
    mx_shape_format(&in[0], b2, sizeof b2);
    mx_shape_format(&drop, b3, sizeof b3);
    return mx_error(MX_ERR_SHAPE, "index has shape %s; for data of shape %s and axis %d it must be %s (or that with the axis kept as 1)",
                    b1, b2, ax, b3);
  }
  out[0] = o;
  return MX_OK;
}

static mx_status k_pick(KARGS) {
  UNUSED_KARGS;
  const mx_ndarray *a = in[0];
  int ax, mode = (int)p[PK_MODE].i;
  mx_status rc = mx_axis_norm(p[PK_AXIS].i, a->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer = 1, inner = 1, len = a->shape.d[ax];
  for (int k = 0; k < ax; k++) outer *= a->shape.d[k];
  for (int k = ax + 1; k < a->shape.ndim; k++) inner *= a->shape.d[k];
  int64_t n = outer * inner;
  if (n == 0) return MX_OK;
  if (len == 0) return mx_error(MX_ERR_ARG, "cannot pick from axis %d of length 0", ax);
  int64_t *idx;
  int owned;
  rc = index_buffer(in[1], &idx, &owned);
  if (rc) return rc;
  size_t es = mx_dtype_size(a->dtype);
  const char *src = (const char *)MX_PTR(a);
  char *dst = (char *)MX_PTR(out[0]);
  int nt = mx_par_threads(n);
  (void)nt;  /* unused without OpenMP */
  MX_OMP_FOR(nt)
  for (int64_t i = 0; i < n; i++) {
    int64_t o = i / inner, j = i % inner;
    int64_t v = index_fix(idx[i], len, mode == MODE_WRAP ? MODE_WRAP : MODE_CLIP);
    copy_elems(dst + (size_t)i * es, src + (size_t)((o * len + v) * inner + j) * es, 1, es);
  }
  if (owned) free(idx);
  return MX_OK;
}

static mx_status type_pick(const mx_param_value *p, int nin, int *in, int nout,
                           int *out) {
  return type_take(p, nin, in, nout, out);
}

/* ------------------------------------------------------------- one_hot */

enum { OH_DEPTH, OH_ON, OH_OFF, OH_DTYPE, OH_NPARAMS };

static mx_status shape_one_hot(const mx_param_value *p, int nin, mx_shape *in,
                               int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (p[OH_DEPTH].i < 0) return mx_error(MX_ERR_ARG, "parameter 'depth' must not be negative");
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim + 1 > MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "the result would have more than %d dimensions", MX_MAX_DIM);
  mx_shape o = in[0];
  o.d[o.ndim++] = p[OH_DEPTH].i;
  out[0] = o;
  return MX_OK;
}

static mx_status type_one_hot(const mx_param_value *p, int nin, int *in, int nout,
                              int *out) {
  (void)nin; (void)in; (void)nout;
  out[0] = mx_param_dtype(&p[OH_DTYPE], MX_FLOAT32);
  return MX_OK;
}

static mx_status k_one_hot(KARGS) {
  UNUSED_KARGS;
  int64_t depth = p[OH_DEPTH].i, n = mx_ndarray_size(in[0]);
  int dt = out[0]->dtype;
  if (!mx_dtype_valid(dt) || dt == MX_FLOAT16 || dt == MX_BFLOAT16)
    return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(dt));
  if (n == 0 || depth == 0) return MX_OK;
  int64_t *idx;
  int owned;
  mx_status rc = index_buffer(in[0], &idx, &owned);
  if (rc) return rc;
  double on = p[OH_ON].f, off = p[OH_OFF].f;
  MX_DTYPE_SWITCH(dt, T, {
    T von;
    T voff;
    mx_store_f64(&von, dt, 0, on);     /* converted as the dtype does */
    mx_store_f64(&voff, dt, 0, off);
    T *o = MX_DATA(out[0], T);
    int nt = mx_par_threads(n * depth);
    (void)nt;  /* unused without OpenMP */
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < n; i++) {
      T *row = o + i * depth;
      for (int64_t k = 0; k < depth; k++) row[k] = voff;
      if (idx[i] >= 0 && idx[i] < depth) row[idx[i]] = von;
    }
  });
  if (owned) free(idx);
  return MX_OK;
}

/* --------------------------------------------------------------- where */

static mx_status shape_where(const mx_param_value *p, int nin, mx_shape *in,
                             int nout, mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[1].ndim < 0 && in[2].ndim >= 0) in[1] = in[2];
  if (in[2].ndim < 0 && in[1].ndim >= 0) in[2] = in[1];
  if (in[1].ndim < 0) return MX_OK;
  char b1[128], b2[128];
  if (!mx_shape_equal(&in[1], &in[2])) {
    mx_shape_format(&in[1], b1, sizeof b1);
    mx_shape_format(&in[2], b2, sizeof b2);
    return mx_error(MX_ERR_SHAPE, "x has shape %s and y %s: they must be equal", b1, b2);
  }
  if (in[0].ndim < 0) in[0] = in[1];
  int same = mx_shape_equal(&in[0], &in[1]);
  int rows = in[0].ndim == 1 && in[1].ndim >= 1 && in[0].d[0] == in[1].d[0];
  if (!same && !rows) {
    mx_shape_format(&in[0], b1, sizeof b1);
    mx_shape_format(&in[1], b2, sizeof b2);
    return mx_error(MX_ERR_SHAPE, "condition has shape %s; x has shape %s: condition must have x's shape, or be a vector as long as x's first engine axis (last R dimension)",
                    b1, b2);
  }
  out[0] = in[1];
  return MX_OK;
}

static mx_status type_where(const mx_param_value *p, int nin, int *in, int nout,
                            int *out) {
  (void)p; (void)nin;
  int xy[2] = {in[1], in[2]};
  mx_status rc = mx_infer_type_same(NULL, 2, xy, nout, out);
  if (rc) return rc;
  in[1] = xy[0];
  in[2] = xy[1];
  return MX_OK;
}

/* Nonzero test of a condition element of any dtype (float16 and bfloat16
 * by their bits: NaN counts as true, as != 0 does for other floats). */
static void cond_mask(const mx_ndarray *cnd, uint8_t *m) {
  int64_t n = mx_ndarray_size(cnd);
  int nt = mx_par_threads(n);
  (void)nt;  /* unused without OpenMP */
  switch (cnd->dtype) {
    case MX_FLOAT16:
    case MX_BFLOAT16: {
      const uint16_t *v = MX_DATA(cnd, uint16_t);
      MX_OMP_FOR(nt)
      for (int64_t i = 0; i < n; i++) m[i] = (v[i] & 0x7fffu) != 0;
    } break;
    case MX_FLOAT32: {
      const float *v = MX_DATA(cnd, float);
      MX_OMP_FOR(nt)
      for (int64_t i = 0; i < n; i++) m[i] = v[i] != 0;
    } break;
    case MX_FLOAT64: {
      const double *v = MX_DATA(cnd, double);
      MX_OMP_FOR(nt)
      for (int64_t i = 0; i < n; i++) m[i] = v[i] != 0;
    } break;
    case MX_UINT8: {
      const uint8_t *v = MX_DATA(cnd, uint8_t);
      MX_OMP_FOR(nt)
      for (int64_t i = 0; i < n; i++) m[i] = v[i] != 0;
    } break;
    case MX_INT32: {
      const int32_t *v = MX_DATA(cnd, int32_t);
      MX_OMP_FOR(nt)
      for (int64_t i = 0; i < n; i++) m[i] = v[i] != 0;
    } break;
    default: {
      const int64_t *v = MX_DATA(cnd, int64_t);
      MX_OMP_FOR(nt)
      for (int64_t i = 0; i < n; i++) m[i] = v[i] != 0;
    } break;
  }
}

#define WHERE_LOOP(U)                                                        \
  do {                                                                       \
    const U *x_ = MX_DATA(in[1], U), *y_ = MX_DATA(in[2], U);                \
    U *o_ = MX_DATA(out[0], U);                                              \
    MX_OMP_FOR(nt)                                                           \
    for (int64_t i = 0; i < n; i++) {                                        \
      int t_ = m[per_row ? i / row : i];                                     \
      o_[i] = t_ ? x_[i] : y_[i];                                            \
    }                                                                        \
  } while (0)

static mx_status k_where(KARGS) {
  UNUSED_KARGS;
  int64_t n = mx_ndarray_size(out[0]), nc = mx_ndarray_size(in[0]);
  if (n == 0) return MX_OK;
  uint8_t *m = (uint8_t *)malloc((size_t)(nc > 0 ? nc : 1));
  if (!m) return mx_error(MX_ERR_NOMEM, "out of memory (where mask)");
  cond_mask(in[0], m);
  int per_row = !mx_shape_equal(&in[0]->shape, &in[1]->shape);
  int64_t row = nc > 0 ? n / nc : 1;
  int nt = mx_par_threads(n);
  (void)nt;  /* unused without OpenMP */
  switch (mx_dtype_size(out[0]->dtype)) {
    case 1: WHERE_LOOP(uint8_t); break;
    case 2: WHERE_LOOP(uint16_t); break;
    case 4: WHERE_LOOP(uint32_t); break;
    default: WHERE_LOOP(uint64_t); break;
  }
  free(m);
  return MX_OK;
}

/* ------------------------------------------------------------ gradients */

/* Backward kernels.  Index and condition inputs get zero gradients (any
 * dtype); take scatter-adds the output gradient into a's gradient (repeated
 * indices accumulate; modes as the forward), pick and where move it back to
 * the selected positions.  They read the index/condition and the output
 * gradient only.  take's gradient is float32 or float64 (it adds); pick and
 * where also take float16.  Integer data dtypes are an error.  one_hot has
 * no gradient. */


/* Zeros for the gradient of an index/condition input when requested. */
static mx_status zero_grad(mx_ndarray *const *ig, const int *req, int j) {
  return req[j] == MX_REQ_WRITE ? mx_ndarray_fill(ig[j], 0.0) : MX_OK;
}

/* take: rows of a's gradient are filled in parallel, each by one task that
 * adds, in index order, the output-gradient rows of the indices pointing at
 * it (the indices bucketed by target row beforehand), so repeated indices
 * never race and the result does not depend on the thread count. */
#define TAKE_GRAD(TT)                                                          \
  do {                                                                         \
    typedef TT T;                                                              \
    const T *g_ = MX_DATA(og[0], T);                                           \
    T *d_ = MX_DATA(D, T);                                                     \
    MX_OMP_FOR(nt)                                                             \
    for (int64_t t = 0; t < outer * len; t++) {                                \
      int64_t o = t / len, v = t % len;                                        \
      T *dr = d_ + t * inner;                                                  \
      for (int64_t i = 0; i < inner; i++) dr[i] = 0;                           \
      for (int64_t q = first[v]; q < first[v + 1]; q++) {                      \
        const T *sr = g_ + (o * ni + order[q]) * inner;                        \
        for (int64_t i = 0; i < inner; i++) dr[i] += sr[i];                    \
      }                                                                        \
    }                                                                          \
  } while (0)

static mx_status b_take(BARGS) {
  UNUSED_BARGS;
  mx_status rc = zero_grad(ig, req, 1);
  if (rc || req[0] != MX_REQ_WRITE) return rc;
  mx_ndarray *D = ig[0];
  if (D->dtype != MX_FLOAT32 && D->dtype != MX_FLOAT64) return grad_dtype_error(D->dtype);
  int ax, mode = (int)p[TK_MODE].i;
  rc = mx_axis_norm(p[TK_AXIS].i, D->shape.ndim, &ax);
  if (rc) return rc;
  int64_t outer = 1, inner = 1, len = D->shape.d[ax], ni = mx_ndarray_size(in[1]);
  for (int k = 0; k < ax; k++) outer *= D->shape.d[k];
  for (int k = ax + 1; k < D->shape.ndim; k++) inner *= D->shape.d[k];
  if (ni == 0 || outer == 0 || inner == 0) return mx_ndarray_fill(D, 0.0);
  if (len == 0) return mx_error(MX_ERR_ARG, "cannot take from axis %d of length 0", ax);
  int64_t *fixed;
  rc = take_indices(in[1], len, mode, ax, &fixed);
  if (rc) return rc;
  /* bucket the index positions j by target row: order[first[v] .. first[v+1]) */
  int64_t *first = (int64_t *)calloc((size_t)len + 1, sizeof(int64_t));
  int64_t *order = (int64_t *)malloc((size_t)ni * sizeof(int64_t));
  if (!first || !order) {
    free(fixed); free(first); free(order);
    return mx_error(MX_ERR_NOMEM, "out of memory (take gradient)");
  }
  for (int64_t j = 0; j < ni; j++) first[fixed[j] + 1]++;
  for (int64_t v = 0; v < len; v++) first[v + 1] += first[v];
  for (int64_t j = 0; j < ni; j++) order[first[fixed[j]]++] = j;
  for (int64_t v = len; v > 0; v--) first[v] = first[v - 1];
  first[0] = 0;
  int nt = mx_par_threads(outer * (ni + len) * inner);
  if (nt > outer * len) nt = (int)(outer * len);
  (void)nt;
  if (D->dtype == MX_FLOAT32) TAKE_GRAD(float);
  else TAKE_GRAD(double);
  free(fixed);
  free(first);
  free(order);
  return MX_OK;
}

/* pick: each output position takes one element, so its gradient goes back
 * to that element (distinct positions: plain stores). */
static mx_status b_pick(BARGS) {
  UNUSED_BARGS;
  mx_status rc = zero_grad(ig, req, 1);
  if (rc || req[0] != MX_REQ_WRITE) return rc;
  mx_ndarray *D = ig[0];
  if (!mx_dtype_is_float(D->dtype)) return grad_dtype_error(D->dtype);
  int ax, mode = (int)p[PK_MODE].i;
  rc = mx_axis_norm(p[PK_AXIS].i, D->shape.ndim, &ax);
  if (rc) return rc;
  rc = mx_ndarray_fill(D, 0.0);
  if (rc) return rc;
  int64_t outer = 1, inner = 1, len = D->shape.d[ax];
  for (int k = 0; k < ax; k++) outer *= D->shape.d[k];
  for (int k = ax + 1; k < D->shape.ndim; k++) inner *= D->shape.d[k];
  int64_t n = outer * inner;
  if (n == 0) return MX_OK;
  if (len == 0) return mx_error(MX_ERR_ARG, "cannot pick from axis %d of length 0", ax);
  int64_t *idx;
  int owned;
  rc = index_buffer(in[1], &idx, &owned);
  if (rc) return rc;
  size_t es = mx_dtype_size(D->dtype);
  const char *src = (const char *)MX_PTR(og[0]);
  char *dst = (char *)MX_PTR(D);
  int nt = mx_par_threads(n);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t i = 0; i < n; i++) {
    int64_t o = i / inner, j = i % inner;
    int64_t v = index_fix(idx[i], len, mode == MODE_WRAP ? MODE_WRAP : MODE_CLIP);
    copy_elems(dst + (size_t)((o * len + v) * inner + j) * es, src + (size_t)i * es, 1, es);
  }
  if (owned) free(idx);
  return MX_OK;
}

/* where: x gets og where the condition holds, y elsewhere (0 otherwise) */
#define WHERE_GRAD(U)                                                          \
  do {                                                                         \
    const U *g_ = MX_DATA(og[0], U);                                           \
    U *dx_ = wx ? MX_DATA(ig[1], U) : NULL, *dy_ = wy ? MX_DATA(ig[2], U) : NULL; \
    MX_OMP_FOR(nt)                                                             \
    for (int64_t i = 0; i < n; i++) {                                          \
      int t_ = m[per_row ? i / row : i];                                       \
      U gv = g_[i], zero = 0;                                                  \
      if (dx_) dx_[i] = t_ ? gv : zero;                                        \
      if (dy_) dy_[i] = t_ ? zero : gv;                                        \
    }                                                                          \
  } while (0)

static mx_status b_where(BARGS) {
  UNUSED_BARGS;
  mx_status rc = zero_grad(ig, req, 0);
  if (rc) return rc;
  int wx = req[1] == MX_REQ_WRITE, wy = req[2] == MX_REQ_WRITE;
  if (!wx && !wy) return MX_OK;
  const mx_ndarray *G = og[0];
  if (!mx_dtype_is_float(G->dtype)) return grad_dtype_error(G->dtype);
  int64_t n = mx_ndarray_size(G), nc = mx_ndarray_size(in[0]);
  if (n == 0) return MX_OK;
  uint8_t *m = (uint8_t *)malloc((size_t)(nc > 0 ? nc : 1));
  if (!m) return mx_error(MX_ERR_NOMEM, "out of memory (where mask)");
  cond_mask(in[0], m);
  int per_row = !mx_shape_equal(&in[0]->shape, &G->shape);
  int64_t row = nc > 0 ? n / nc : 1;
  int nt = mx_par_threads(n);
  (void)nt;
  /* float zero is all-zero bits in every float dtype */
  switch (mx_dtype_size(G->dtype)) {
    case 2: WHERE_GRAD(uint16_t); break;
    case 4: WHERE_GRAD(uint32_t); break;
    default: WHERE_GRAD(uint64_t); break;
  }
  free(m);
  return MX_OK;
}

/* take, pick: the indices (input 1) and the output gradient */
static void deps_index1(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                        unsigned char *no, unsigned char *ng) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = j == 1;
  for (int k = 0; k < nout; k++) {
    no[k] = 0;
    ng[k] = 1;
  }
}
/* where: the condition (input 0) and the output gradient */
static void deps_where(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                       unsigned char *no, unsigned char *ng) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = j == 0;
  for (int k = 0; k < nout; k++) {
    no[k] = 0;
    ng[k] = 1;
  }
}

/* ------------------------------------------------------------ registry */

static const char *const in_take[] = {"a", "indices", NULL};
static const char *const in_pick[] = {"data", "index", NULL};
static const char *const in_one_hot[] = {"indices", NULL};
static const char *const in_where[] = {"condition", "x", "y", NULL};

static const mx_param_desc p_take[TK_NPARAMS] = {
  [TK_AXIS] = {"axis", MX_PARAM_INT, 0, "0", NULL, "Engine axis of a to take from (negative counts from the end)."},
  [TK_MODE] = {"mode", MX_PARAM_ENUM, 0, "clip", "clip|wrap|raise",
   "Out-of-range indices: clip to the ends, wrap around, or raise an error."},
};
static const mx_param_desc p_pick[PK_NPARAMS] = {
  [PK_AXIS] = {"axis", MX_PARAM_INT, 0, "-1", NULL, "Engine axis to pick along (-1: the last engine axis, the first R dimension)."},
  [PK_KEEPDIMS] = {"keepdims", MX_PARAM_BOOL, 0, "False", NULL, "Keep the picked axis with extent 1."},
  [PK_MODE] = {"mode", MX_PARAM_ENUM, 0, "clip", "clip|wrap",
   "Out-of-range indices: clip to the ends or wrap around."},
};
static const mx_param_desc p_one_hot[OH_NPARAMS] = {
  [OH_DEPTH] = {"depth", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Length of the one-hot dimension."},
  [OH_ON] = {"on_value", MX_PARAM_FLOAT, 0, "1", NULL, "Value at the index."},
  [OH_OFF] = {"off_value", MX_PARAM_FLOAT, 0, "0", NULL, "Value elsewhere."},
  [OH_DTYPE] = {"dtype", MX_PARAM_DTYPE, 0, "float32", NULL, "Element type of the result."},
};

const mx_op mx_ops_index[] = {
  {.name = "take",
   .doc = "Take slices of an array along an axis at the given indices. Indices are 0-based; float indices are truncated. The result has shape a.shape[:axis] + indices.shape + a.shape[axis+1:] in engine order and a's dtype.",
   .num_inputs = 2, .input_names = in_take, .num_outputs = 1, .params = p_take,
   .num_params = MX_NPARAMS(p_take), .infer_shape = shape_take, .infer_type = type_take,
   .cpu = k_take, .backward = b_take, .flags = MX_OPF_F16, .backward_deps = deps_index1},
  {.name = "pick", .aliases = {"choose_element_0index"},
   .doc = "Pick one element per position along an axis. index (0-based) has data's shape without that axis, or with it kept as 1; a 1-d data gives a 1-element result.",
   .num_inputs = 2, .input_names = in_pick, .num_outputs = 1, .params = p_pick,
   .num_params = MX_NPARAMS(p_pick), .infer_shape = shape_pick, .infer_type = type_pick,
   .cpu = k_pick, .backward = b_pick, .flags = MX_OPF_F16, .backward_deps = deps_index1},
  {.name = "one_hot",
   .doc = "One-hot encoding of indices. A new last engine axis (the first R dimension) of length depth holds on_value at each index and off_value elsewhere; out-of-range indices give a row of off_value.",
   .num_inputs = 1, .input_names = in_one_hot, .num_outputs = 1, .params = p_one_hot,
   .num_params = MX_NPARAMS(p_one_hot), .infer_shape = shape_one_hot, .infer_type = type_one_hot,
   .cpu = k_one_hot},
  {.name = "where",
   .doc = "Elements of x where condition is nonzero, else of y. condition has x's shape, or is a vector as long as x's first engine axis (selecting whole slices); its dtype may differ from x's and y's.",
   .num_inputs = 3, .input_names = in_where, .num_outputs = 1, .infer_shape = shape_where,
   .infer_type = type_where, .cpu = k_where, .backward = b_where, .flags = MX_OPF_F16,
   .backward_deps = deps_where},
  {.name = NULL},
};
