/*
 * tensor.c -- tensor ops of MXNet 1.9.1 that move, sort and select elements:
 * broadcast_to, broadcast_axis, broadcast_like, add_n, cumsum, topk, sort,
 * argsort, reshape_like, diag, argmax_channel, batch_take, gather_nd,
 * scatter_nd, slice_like, shape_array, size_array, ravel_multi_index,
 * unravel_index, depth_to_space, space_to_depth, khatri_rao, and
 * erf / erfinv / rcbrt.
 *
 * Shapes and axes are C order (the R glue reverses shape vectors; scalar
 * axes count engine axes, 0 = the last R dimension).  Ops that only move
 * elements copy bytes and so take every dtype natively (float16, int8).
 * Gradients are float32/float64; index inputs get zero gradients.
 */
#include "../include/mx-op.h"

#include <math.h>
#include <stdlib.h>


/* ------------------------------------------------------------- helpers */

static void shape_fill_rest(mx_shape *s) {
  for (int k = s->ndim; k < MX_MAX_DIM; k++) s->d[k] = 0;
}

/* Zero the gradient of input j when requested. */
static mx_status zero_ig(mx_ndarray *const *ig, const int *req, int j) {
  return req[j] == MX_REQ_WRITE ? mx_ndarray_fill(ig[j], 0.0) : MX_OK;
}

/* Gradient needs input 1 (indices) and the output gradients. */
static void deps_in1_og(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                        unsigned char *no, unsigned char *ng) {
  mx_deps_out_grads(p, nin, nout, ni, no, ng);
  if (nin > 1) ni[1] = 1;
}

/* Output 0 of a dtype given by nothing but input 0. */
static mx_status type_in0(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p; (void)nin;
  if (in[0] < 0 && out[0] >= 0) in[0] = out[0];
  for (int k = 0; k < nout; k++) out[k] = in[0];
  return MX_OK;
}

/* Index element i of any dtype as int64 (truncated; NaN -> 0, saturating). */
static inline int64_t load_index(const mx_ndarray *a, int64_t i) {
  double v = mx_load_f64(MX_PTR(a), a->dtype, i);
  if (v != v) return 0;
  if (v >= 9.2e18) return INT64_MAX;
  if (v <= -9.2e18) return INT64_MIN;
  return (int64_t)v;
}

/* A shape error naming two shapes (fmt has two %s); declared in mx-op.h. */
mx_status mx_shape_pair_error(const char *fmt, const mx_shape *a, const mx_shape *b) {
  char b1[128], b2[128];
  mx_shape_format(a, b1, sizeof b1);
  mx_shape_format(b, b2, sizeof b2);
  return mx_error(MX_ERR_SHAPE, fmt, b1, b2);
}

/* ----------------------------------------------------------- broadcast */

/* Copy src into dst, broadcasting: same ndim, src dims equal or 1. */
static mx_status broadcast_copy(const mx_ndarray *src, mx_ndarray *dst) {
  const mx_shape *os = &dst->shape, *is = &src->shape;
  int nd = os->ndim;
  int64_t n = mx_ndarray_size(dst);
  if (n == 0) return MX_OK;
  if (nd == 0) return mx_ndarray_copy_into(src, dst);
  int64_t st[MX_MAX_DIM], s = 1;
  for (int k = nd - 1; k >= 0; k--) {
    st[k] = is->d[k] == 1 ? 0 : s;
    s *= is->d[k];
  }
  size_t es = mx_dtype_size(dst->dtype);
  const char *sp = (const char *)MX_PTR(src);
  char *dp = (char *)MX_PTR(dst);
  int64_t inner = os->d[nd - 1], rows = n / inner, ls = st[nd - 1];
  int nt = mx_par_threads(n);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t r = 0; r < rows; r++) {
    int64_t rem = r, off = 0;
    for (int k = nd - 2; k >= 0; k--) {
      off += (rem % os->d[k]) * st[k];
      rem /= os->d[k];
    }
    char *o = dp + (size_t)(r * inner) * es;
    for (int64_t j = 0; j < inner; j++)
      memcpy(o + (size_t)j * es, sp + (size_t)(off + j * ls) * es, es);
  }
  return MX_OK;
}

static mx_status k_broadcast(KARGS) {
  UNUSED_KARGS;
  return broadcast_copy(in[0], out[0]);
}

/* Gradient of a broadcast: sum the output gradient down to the input. */
static mx_status b_broadcast(BARGS) {
  UNUSED_BARGS;
  for (int j = 1; j < nin; j++) {
    mx_status rc = zero_ig(ig, req, j);
    if (rc) return rc;
  }
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  return mx_sum_to_shape(og[0], ig[0]);
}

/* Check that `from` can broadcast to `to` (same ndim, dims equal or 1). */
static mx_status broadcast_check(const mx_shape *from, const mx_shape *to) {
  int ok = from->ndim == to->ndim;
  for (int k = 0; ok && k < to->ndim; k++)
    ok = from->d[k] == to->d[k] || from->d[k] == 1;
  if (ok) return MX_OK;
  return mx_shape_pair_error("cannot broadcast shape %s to %s (dimensions must be equal or 1)", from, to);
}

enum { BT_SHAPE, BT_NPARAMS };

static mx_status shape_broadcast_to(const mx_param_value *p, int nin, mx_shape *in,
                                    int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  const mx_param_value *s = &p[BT_SHAPE];
  if (s->n != in[0].ndim)
    return mx_error(MX_ERR_ARG, "parameter 'shape' has %d entries; the input has %d dimensions",
                    s->n, in[0].ndim);
  mx_shape o = in[0];
  for (int k = 0; k < s->n; k++) {
    if (s->tup[k] < 0) return mx_error(MX_ERR_ARG, "parameter 'shape' must not contain negative sizes");
    if (s->tup[k] > 0) o.d[k] = s->tup[k];
  }
  mx_status rc = broadcast_check(&in[0], &o);
  if (rc) return rc;
  out[0] = o;
  return MX_OK;
}

enum { BA_AXIS, BA_SIZE, BA_NPARAMS };

static mx_status shape_broadcast_axis(const mx_param_value *p, int nin, mx_shape *in,
                                      int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (p[BA_AXIS].n != p[BA_SIZE].n)
    return mx_error(MX_ERR_ARG, "parameters 'axis' (%d entries) and 'size' (%d) must have the same length",
                    p[BA_AXIS].n, p[BA_SIZE].n);
  if (in[0].ndim < 0) return MX_OK;
  mx_shape o = in[0];
  for (int k = 0; k < p[BA_AXIS].n; k++) {
    int ax;
    mx_status rc = mx_axis_norm(p[BA_AXIS].tup[k], in[0].ndim, &ax);
    if (rc) return mx_error_prefix(rc, "parameter 'axis': ");
    if (in[0].d[ax] != 1)
      return mx_error(MX_ERR_SHAPE, "axis %d has length %lld; broadcast_axis needs length 1",
                      ax, (long long)in[0].d[ax]);
    if (p[BA_SIZE].tup[k] < 1) return mx_error(MX_ERR_ARG, "parameter 'size' must be positive");
    o.d[ax] = p[BA_SIZE].tup[k];
  }
  out[0] = o;
  return MX_OK;
}

enum { BL_LHS_AXES, BL_RHS_AXES, BL_NPARAMS };

static mx_status shape_broadcast_like(const mx_param_value *p, int nin, mx_shape *in,
                                      int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  const mx_param_value *la = &p[BL_LHS_AXES], *ra = &p[BL_RHS_AXES];
  if (!la->is_set && !ra->is_set) {
    mx_status rc = broadcast_check(&in[0], &in[1]);
    if (rc) return rc;
    out[0] = in[1];
    return MX_OK;
  }
  if (!la->is_set || !ra->is_set || la->n != ra->n)
    return mx_error(MX_ERR_ARG, "parameters 'lhs_axes' and 'rhs_axes' must both be given, with the same length");
  mx_shape o = in[0];
  for (int k = 0; k < la->n; k++) {
    int a, b;
    mx_status rc = mx_axis_norm(la->tup[k], in[0].ndim, &a);
    if (rc) return mx_error_prefix(rc, "parameter 'lhs_axes': ");
    rc = mx_axis_norm(ra->tup[k], in[1].ndim, &b);
    if (rc) return mx_error_prefix(rc, "parameter 'rhs_axes': ");
    if (in[0].d[a] != 1 && in[0].d[a] != in[1].d[b])
      return mx_error(MX_ERR_SHAPE, "lhs axis %d has length %lld; it must be 1 or rhs axis %d's length %lld",
                      a, (long long)in[0].d[a], b, (long long)in[1].d[b]);
    o.d[a] = in[1].d[b];
  }
  out[0] = o;
  return MX_OK;
}

static mx_status type_lhs(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0] < 0 && out[0] >= 0) in[0] = out[0];
  out[0] = in[0];
  return MX_OK;
}

/* --------------------------------------------------------------- add_n */

enum { AN_NUM, AN_NPARAMS };

static mx_status shape_add_n(const mx_param_value *p, int nin, mx_shape *in, int nout,
                             mx_shape *out) {
  (void)p; (void)nout;
  if (nin < 1) return mx_error(MX_ERR_ARG, "parameter 'num_args' must be at least 1");
  int known = -1;
  for (int j = 0; j < nin && known < 0; j++)
    if (in[j].ndim >= 0) known = j;
  if (known < 0 && out[0].ndim >= 0) {
    for (int j = 0; j < nin; j++) in[j] = out[0];
    return MX_OK;
  }
  if (known < 0) return MX_OK;
  for (int j = 0; j < nin; j++) {
    if (in[j].ndim < 0) in[j] = in[known];
    if (!mx_shape_equal(&in[j], &in[known])) {
      char b1[128], b2[128];
      mx_shape_format(&in[j], b1, sizeof b1);
      mx_shape_format(&in[known], b2, sizeof b2);
      return mx_error(MX_ERR_SHAPE, "input %d has shape %s, input %d %s: all must be equal", j, b1, known, b2);
    }
  }
  out[0] = in[known];
  return MX_OK;
}

static mx_status k_add_n(KARGS) {
  UNUSED_KARGS;
  int64_t n = mx_ndarray_size(out[0]);
  int nt = mx_par_threads(n * nin);
  (void)nt;
  int isf = mx_dtype_is_float(out[0]->dtype);
  MX_DTYPE_SWITCH(out[0]->dtype, T, {
    T *o = MX_DATA(out[0], T);
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < n; i++) {
      if (isf) {
        double acc = 0;
        for (int j = 0; j < nin; j++) acc += (double)MX_DATA(in[j], T)[i];
        o[i] = (T)acc;
      } else {  /* integers wrap around, as MXNet's */
        uint64_t acc = 0;
        for (int j = 0; j < nin; j++) acc += (uint64_t)(int64_t)MX_DATA(in[j], T)[i];
        o[i] = (T)(int64_t)acc;
      }
    }
  });
  return MX_OK;
}

static mx_status b_add_n(BARGS) {
  UNUSED_BARGS;
  for (int j = 0; j < nin; j++) {
    if (req[j] != MX_REQ_WRITE) continue;
    if (!mx_dtype_is_float(ig[j]->dtype)) return grad_dtype_error(ig[j]->dtype);
    mx_status rc = mx_ndarray_copy_into(og[0], ig[j]);
    if (rc) return rc;
  }
  return MX_OK;
}

/* -------------------------------------------------------------- cumsum */

enum { CS_AXIS, CS_DTYPE, CS_NPARAMS };

static mx_status shape_cumsum(const mx_param_value *p, int nin, mx_shape *in, int nout,
                              mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (!p[CS_AXIS].is_set) {
    mx_shape o;
    o.ndim = 1;
    o.d[0] = mx_shape_size(&in[0]);
    shape_fill_rest(&o);
    out[0] = o;
    return MX_OK;
  }
  int ax;
  mx_status rc = mx_axis_norm(p[CS_AXIS].i, in[0].ndim, &ax);
  if (rc) return mx_error_prefix(rc, "parameter 'axis': ");
  out[0] = in[0];
  return MX_OK;
}

static mx_status type_cumsum(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nin; (void)nout;
  out[0] = mx_param_dtype(&p[CS_DTYPE], in[0]);
  return MX_OK;
}

/* outer x len x inner of input 0 for an axis param (unset: flattened). */
static mx_status axis_split(const mx_shape *s, const mx_param_value *axis, int64_t *outer,
                            int64_t *len, int64_t *inner) {
  if (!axis->is_set) {
    *outer = 1;
    *inner = 1;
    *len = mx_shape_size(s);
    return MX_OK;
  }
  int ax;
  mx_status rc = mx_axis_norm(axis->i, s->ndim, &ax);
  if (rc) return mx_error_prefix(rc, "parameter 'axis': ");
  *outer = 1;
  *inner = 1;
  for (int k = 0; k < ax; k++) *outer *= s->d[k];
  for (int k = ax + 1; k < s->ndim; k++) *inner *= s->d[k];
  *len = s->d[ax];
  return MX_OK;
}

/* dst = running sum of src along the axis (reverse: from the end). */
static mx_status cumsum_run(const mx_ndarray *src, mx_ndarray *dst, const mx_param_value *axis,
                            int reverse) {
  int64_t outer, len, inner;
  mx_status rc = axis_split(&src->shape, axis, &outer, &len, &inner);
  if (rc) return rc;
  const void *s = MX_PTR(src);
  void *d = MX_PTR(dst);
  int nt = mx_par_threads(outer * len * inner);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t r = 0; r < outer * inner; r++) {
    int64_t o = r / inner, j = r % inner;
    double acc = 0;
    for (int64_t q = 0; q < len; q++) {
      int64_t t = reverse ? len - 1 - q : q;
      int64_t i = (o * len + t) * inner + j;
      acc += mx_load_f64(s, src->dtype, i);
      mx_store_f64(d, dst->dtype, i, acc);
    }
  }
  return MX_OK;
}

static mx_status k_cumsum(KARGS) {
  UNUSED_KARGS;
  return cumsum_run(in[0], out[0], &p[CS_AXIS], 0);
}

static mx_status b_cumsum(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  /* the gradient is the reverse running sum, laid out as the input */
  mx_ndarray *g;
  mx_status rc = mx_ndarray_reshape_view(og[0], &ig[0]->shape, &g);
  if (rc) return rc;
  rc = cumsum_run(g, ig[0], &p[CS_AXIS], 1);
  mx_ndarray_free(g);
  return rc;
}

/* ------------------------------------------------- topk, sort, argsort */

enum { TOPK_AXIS, TOPK_K, TOPK_RET, TOPK_ASCEND, TOPK_DTYPE, TOPK_NPARAMS };
enum { RET_VALUE, RET_INDICES, RET_MASK, RET_BOTH };
enum { SO_AXIS, SO_ASCEND, SO_NPARAMS };
enum { AS_AXIS, AS_ASCEND, AS_DTYPE, AS_NPARAMS };

typedef struct { double v; int64_t i; } keyed;

static int cmp_asc(const void *a, const void *b) {
  const keyed *x = (const keyed *)a, *y = (const keyed *)b;
  if (x->v < y->v) return -1;
  if (x->v > y->v) return 1;
  return (x->i > y->i) - (x->i < y->i);
}
static int cmp_desc(const void *a, const void *b) {
  const keyed *x = (const keyed *)a, *y = (const keyed *)b;
  if (x->v > y->v) return -1;
  if (x->v < y->v) return 1;
  return (x->i > y->i) - (x->i < y->i);
}

/* What one sort-family call asks: axis (unset: flattened), k, direction. */
typedef struct { const mx_param_value *axis; int64_t k; int ascend, ret; } sort_req;

static sort_req req_of(const mx_op_ctx *c, const mx_param_value *p, int which);

/* Output shape: input with the axis cut to k (flattened: (k,)); mask keeps it. */
static mx_status sort_shape(const sort_req *r, const mx_shape *in, mx_shape *o,
                            int64_t *kk) {
  int64_t outer, len, inner;
  mx_status rc = axis_split(in, r->axis, &outer, &len, &inner);
  if (rc) return rc;
  int64_t k = r->k < 1 ? len : r->k;
  if (k > len)
    return mx_error(MX_ERR_ARG, "parameter 'k' (%lld) exceeds the length %lld of the sorted axis",
                    (long long)k, (long long)len);
  if (kk) *kk = k;
  if (r->ret == RET_MASK) {
    *o = *in;
    return MX_OK;
  }
  if (!r->axis->is_set) {
    o->ndim = 1;
    o->d[0] = k;
    shape_fill_rest(o);
    return MX_OK;
  }
  int ax;
  mx_axis_norm(r->axis->i, in->ndim, &ax);
  *o = *in;
  o->d[ax] = k;
  return MX_OK;
}

static mx_status shape_sortlike(const mx_param_value *p, int which, mx_shape *in, int nout,
                                mx_shape *out) {
  if (in[0].ndim < 0) return MX_OK;
  sort_req r = req_of(NULL, p, which);
  mx_shape o;
  mx_status rc = sort_shape(&r, &in[0], &o, NULL);
  if (rc) return rc;
  out[0] = o;
  if (nout > 1) {
    sort_req ri = r;
    ri.ret = RET_INDICES;
    return sort_shape(&ri, &in[0], &out[1], NULL);
  }
  return MX_OK;
}

static mx_status shape_topk(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin;
  return shape_sortlike(p, 0, in, nout, out);
}
static mx_status shape_sort(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin;
  return shape_sortlike(p, 1, in, nout, out);
}
static mx_status shape_argsort(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin;
  return shape_sortlike(p, 2, in, nout, out);
}

static sort_req req_of(const mx_op_ctx *c, const mx_param_value *p, int which) {
  (void)c;
  sort_req r;
  if (which == 0) {
    r.axis = &p[TOPK_AXIS];
    r.k = p[TOPK_K].i;
    r.ascend = (int)p[TOPK_ASCEND].i;
    r.ret = (int)p[TOPK_RET].i;
  } else if (which == 1) {
    r.axis = &p[SO_AXIS];
    r.k = 0;
    r.ascend = (int)p[SO_ASCEND].i;
    r.ret = RET_VALUE;
  } else {
    r.axis = &p[AS_AXIS];
    r.k = 0;
    r.ascend = (int)p[AS_ASCEND].i;
    r.ret = RET_INDICES;
  }
  return r;
}

static mx_status type_topk(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nin;
  int idt = mx_param_dtype(&p[TOPK_DTYPE], MX_FLOAT32);
  int ret = (int)p[TOPK_RET].i;
  out[0] = ret == RET_INDICES ? idt : in[0];
  if (nout > 1) out[1] = idt;
  return MX_OK;
}
static mx_status type_sort(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p; (void)nin;
  out[0] = in[0];
  if (nout > 1) out[1] = MX_FLOAT32;
  return MX_OK;
}
static mx_status type_argsort(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nin; (void)in; (void)nout;
  out[0] = mx_param_dtype(&p[AS_DTYPE], MX_FLOAT32);
  return MX_OK;
}

/* Sort every line along the axis; write values (vals), indices (idx) and
 * the mask as asked (NULL arrays are skipped). */
static mx_status sort_run(const sort_req *r, const mx_ndarray *x, mx_ndarray *vals,
                          mx_ndarray *idx, mx_ndarray *mask) {
  int64_t outer, len, inner, k;
  mx_shape o;
  mx_status rc = sort_shape(r, &x->shape, &o, &k);
  if (rc) return rc;
  axis_split(&x->shape, r->axis, &outer, &len, &inner);
  if (mask) {
    rc = mx_ndarray_fill(mask, 0.0);
    if (rc) return rc;
  }
  int64_t lines = outer * inner;
  if (lines == 0 || len == 0) return MX_OK;
  keyed *buf = (keyed *)malloc((size_t)len * sizeof(keyed));
  if (!buf) return mx_error(MX_ERR_NOMEM, "out of memory (sort)");
  const void *xp = MX_PTR(x);
  for (int64_t l = 0; l < lines; l++) {
    int64_t ou = l / inner, j = l % inner;
    for (int64_t q = 0; q < len; q++) {
      buf[q].v = mx_load_f64(xp, x->dtype, (ou * len + q) * inner + j);
      buf[q].i = q;
    }
    qsort(buf, (size_t)len, sizeof(keyed), r->ascend ? cmp_asc : cmp_desc);
    for (int64_t q = 0; q < k; q++) {
      int64_t oi = (ou * k + q) * inner + j;
      int64_t src = (ou * len + buf[q].i) * inner + j;
      if (vals) memcpy((char *)MX_PTR(vals) + (size_t)oi * mx_dtype_size(x->dtype),
                       (const char *)xp + (size_t)src * mx_dtype_size(x->dtype),
                       mx_dtype_size(x->dtype));
      if (idx) mx_store_f64(MX_PTR(idx), idx->dtype, oi, (double)buf[q].i);
      if (mask) mx_store_f64(MX_PTR(mask), mask->dtype, src, 1.0);
    }
  }
  free(buf);
  return MX_OK;
}

static mx_status k_topk(KARGS) {
  UNUSED_KARGS;
  sort_req r = req_of(c, p, 0);
  mx_ndarray *vals = NULL, *idx = out[1], *mask = NULL;
  if (r.ret == RET_VALUE || r.ret == RET_BOTH) vals = out[0];
  if (r.ret == RET_MASK) mask = out[0];
  mx_status rc = sort_run(&r, in[0], vals, idx, mask);
  if (rc || r.ret != RET_INDICES) return rc;
  return mx_ndarray_copy_into(out[1], out[0]);
}

static mx_status k_sort(KARGS) {
  UNUSED_KARGS;
  sort_req r = req_of(c, p, 1);
  return sort_run(&r, in[0], out[0], out[1], NULL);
}

static mx_status k_argsort(KARGS) {
  UNUSED_KARGS;
  sort_req r = req_of(c, p, 2);
  return sort_run(&r, in[0], NULL, out[0], NULL);
}

/* Values' gradient goes back to where each value came from (indices in the
 * hidden output 1); indices and masks have zero gradients. */
static mx_status sort_grad(const sort_req *r, mx_ndarray *D, const mx_ndarray *G,
                           const mx_ndarray *I) {
  if (!mx_dtype_is_float(D->dtype)) return grad_dtype_error(D->dtype);
  mx_status rc = mx_ndarray_fill(D, 0.0);
  if (rc || r->ret == RET_INDICES || r->ret == RET_MASK) return rc;
  int64_t outer, len, inner, k;
  mx_shape o;
  rc = sort_shape(r, &D->shape, &o, &k);
  if (rc) return rc;
  axis_split(&D->shape, r->axis, &outer, &len, &inner);
  for (int64_t l = 0; l < outer * inner; l++) {
    int64_t ou = l / inner, j = l % inner;
    for (int64_t q = 0; q < k; q++) {
      int64_t oi = (ou * k + q) * inner + j, t = load_index(I, oi);
      if (t < 0 || t >= len) return mx_error(MX_ERR_INTERNAL, "sort index %lld out of range", (long long)t);
      int64_t di = (ou * len + t) * inner + j;
      mx_store_f64(MX_PTR(D), D->dtype, di,
                   mx_load_f64(MX_PTR(D), D->dtype, di) + mx_load_f64(MX_PTR(G), G->dtype, oi));
    }
  }
  return MX_OK;
}

static mx_status b_topk(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  sort_req r = req_of(c, p, 0);
  return sort_grad(&r, ig[0], og[0], out[1]);
}

static mx_status b_sort(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  sort_req r = req_of(c, p, 1);
  return sort_grad(&r, ig[0], og[0], out[1]);
}

static void deps_sorted(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                        unsigned char *no, unsigned char *ng) {
  mx_deps_out_grads(p, nin, nout, ni, no, ng);
  if (nout > 1) no[1] = 1;
}

static int vis_topk(const mx_param_value *p) { return p[TOPK_RET].i == RET_BOTH ? 2 : 1; }
static int vis_one(const mx_param_value *p) { (void)p; return 1; }

/* --------------------------------------------------------- reshape_like */

enum { RL_LB, RL_LE, RL_RB, RL_RE, RL_NPARAMS };

/* [begin, end) of an optional axis range over ndim axes (end may be ndim). */
static mx_status axis_range(const mx_param_value *b, const mx_param_value *e, int nd,
                            const char *what, int *lo, int *hi) {
  int64_t bl = b->is_set ? b->i : 0, el = e->is_set ? e->i : nd;
  if (bl < 0) bl += nd;
  if (el < 0) el += nd;
  if (bl < 0 || el > nd || bl > el)
    return mx_error(MX_ERR_ARG, "parameters '%s_begin'/'%s_end' give an empty or out-of-range axis range for %d dimensions",
                    what, what, nd);
  *lo = (int)bl;
  *hi = (int)el;
  return MX_OK;
}

static mx_status shape_reshape_like(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                    mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  int lb, le, rb, re;
  mx_status rc = axis_range(&p[RL_LB], &p[RL_LE], in[0].ndim, "lhs", &lb, &le);
  if (!rc) rc = axis_range(&p[RL_RB], &p[RL_RE], in[1].ndim, "rhs", &rb, &re);
  if (rc) return rc;
  mx_shape o;
  o.ndim = 0;
  int nd = lb + (re - rb) + (in[0].ndim - le);
  if (nd > MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "the result would have %d dimensions (at most %d)", nd, MX_MAX_DIM);
  for (int k = 0; k < lb; k++) o.d[o.ndim++] = in[0].d[k];
  for (int k = rb; k < re; k++) o.d[o.ndim++] = in[1].d[k];
  for (int k = le; k < in[0].ndim; k++) o.d[o.ndim++] = in[0].d[k];
  shape_fill_rest(&o);
  if (mx_shape_size(&o) != mx_shape_size(&in[0])) {
    return mx_shape_pair_error("cannot reshape %s to %s (sizes differ)", &in[0], &o);
  }
  out[0] = o;
  return MX_OK;
}

static mx_status k_copy_bytes(KARGS) {
  UNUSED_KARGS;
  if (MX_PTR(in[0]) != MX_PTR(out[0]))
    memmove(MX_PTR(out[0]), MX_PTR(in[0]), mx_ndarray_nbytes(out[0]));
  return MX_OK;
}

static mx_status b_reshape_like(BARGS) {
  UNUSED_BARGS;
  mx_status rc = zero_ig(ig, req, 1);
  if (rc || req[0] != MX_REQ_WRITE) return rc;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  memmove(MX_PTR(ig[0]), MX_PTR(og[0]), mx_ndarray_nbytes(ig[0]));
  return MX_OK;
}

/* ---------------------------------------------------------------- diag */

enum { DG_K, DG_AXIS1, DG_AXIS2, DG_NPARAMS };

/* Length of diagonal k of an r x c matrix. */
static int64_t diag_len(int64_t r, int64_t c, int64_t k) {
  int64_t n = k >= 0 ? (r < c - k ? r : c - k) : (r + k < c ? r + k : c);
  return n > 0 ? n : 0;
}

static mx_status diag_axes(const mx_param_value *p, int nd, int *a1, int *a2) {
  mx_status rc = mx_axis_norm(p[DG_AXIS1].i, nd, a1);
  if (rc) return mx_error_prefix(rc, "parameter 'axis1': ");
  rc = mx_axis_norm(p[DG_AXIS2].i, nd, a2);
  if (rc) return mx_error_prefix(rc, "parameter 'axis2': ");
  if (*a1 == *a2) return mx_error(MX_ERR_ARG, "parameters 'axis1' and 'axis2' must differ");
  return MX_OK;
}

static mx_status shape_diag(const mx_param_value *p, int nin, mx_shape *in, int nout,
                            mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim == 0) return mx_error(MX_ERR_SHAPE, "diag needs at least one dimension");
  int64_t k = p[DG_K].i;
  mx_shape o;
  if (in[0].ndim == 1) {
    int64_t n = in[0].d[0] + (k < 0 ? -k : k);
    o.ndim = 2;
    o.d[0] = o.d[1] = n;
  } else {
    int a1, a2;
    mx_status rc = diag_axes(p, in[0].ndim, &a1, &a2);
    if (rc) return rc;
    o.ndim = 0;
    for (int q = 0; q < in[0].ndim; q++)
      if (q != a1 && q != a2) o.d[o.ndim++] = in[0].d[q];
    o.d[o.ndim++] = diag_len(in[0].d[a1], in[0].d[a2], k);
  }
  shape_fill_rest(&o);
  out[0] = o;
  return MX_OK;
}

/* Walk the diagonal: for element (rest r, position t) call the pair of
 * offsets (in the matrix array, in the diagonal array). */
typedef struct { int64_t n, nd, st1, st2, base0; int64_t rest_n; int rest_nd;
                 int64_t rest_d[MX_MAX_DIM], rest_st[MX_MAX_DIM]; } diag_plan;

static void diag_make(const mx_param_value *p, const mx_shape *m, diag_plan *pl) {
  int a1, a2;
  diag_axes(p, m->ndim, &a1, &a2);
  int64_t st[MX_MAX_DIM], s = 1, k = p[DG_K].i;
  for (int q = m->ndim - 1; q >= 0; q--) { st[q] = s; s *= m->d[q]; }
  pl->n = diag_len(m->d[a1], m->d[a2], k);
  pl->st1 = st[a1];
  pl->st2 = st[a2];
  pl->base0 = k >= 0 ? k * st[a2] : -k * st[a1];
  pl->rest_nd = 0;
  pl->rest_n = 1;
  for (int q = 0; q < m->ndim; q++)
    if (q != a1 && q != a2) {
      pl->rest_d[pl->rest_nd] = m->d[q];
      pl->rest_st[pl->rest_nd++] = st[q];
      pl->rest_n *= m->d[q];
    }
}

static int64_t diag_off(const diag_plan *pl, int64_t r, int64_t t) {
  int64_t off = pl->base0 + t * (pl->st1 + pl->st2);
  for (int q = pl->rest_nd - 1; q >= 0; q--) {
    off += (r % pl->rest_d[q]) * pl->rest_st[q];
    r /= pl->rest_d[q];
  }
  return off;
}

/* matrix <-> diagonal: to_diag copies the diagonal out, else writes it into
 * a zeroed matrix.  1-d data: the matrix is the output (a 2-d diag plan). */
static mx_status diag_move(const mx_param_value *p, const mx_ndarray *mat, const mx_ndarray *dg,
                           int to_diag, int from_vec) {
  diag_plan pl;
  mx_param_value pp[DG_NPARAMS];
  memcpy(pp, p, sizeof pp);
  if (from_vec) { pp[DG_AXIS1].i = 0; pp[DG_AXIS2].i = 1; }
  diag_make(pp, &mat->shape, &pl);
  if (!to_diag) {
    mx_status rc = mx_ndarray_fill((mx_ndarray *)mat, 0.0);
    if (rc) return rc;
  }
  size_t es = mx_dtype_size(mat->dtype);
  char *mp = (char *)MX_PTR(mat), *dp = (char *)MX_PTR(dg);
  for (int64_t r = 0; r < pl.rest_n; r++)
    for (int64_t t = 0; t < pl.n; t++) {
      int64_t mo = diag_off(&pl, r, t), d = r * pl.n + t;
      if (to_diag) memcpy(dp + (size_t)d * es, mp + (size_t)mo * es, es);
      else memcpy(mp + (size_t)mo * es, dp + (size_t)d * es, es);
    }
  return MX_OK;
}

static mx_status k_diag(KARGS) {
  UNUSED_KARGS;
  if (in[0]->shape.ndim == 1) return diag_move(p, out[0], in[0], 0, 1);
  return diag_move(p, in[0], out[0], 1, 0);
}

static mx_status b_diag(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  if (ig[0]->shape.ndim == 1) return diag_move(p, og[0], ig[0], 1, 1);
  return diag_move(p, ig[0], og[0], 0, 0);
}

/* ------------------------------------------------------ argmax_channel */

static mx_status shape_argmax_channel(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                      mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim < 1) return mx_error(MX_ERR_SHAPE, "argmax_channel needs at least one dimension");
  mx_shape o = in[0];
  o.ndim--;
  if (o.ndim == 0) { o.ndim = 1; o.d[0] = 1; }
  shape_fill_rest(&o);
  out[0] = o;
  return MX_OK;
}

static mx_status k_argmax_channel(KARGS) {
  UNUSED_KARGS;
  const mx_ndarray *x = in[0];
  int64_t len = x->shape.d[x->shape.ndim - 1], rows = len ? mx_ndarray_size(x) / len : 0;
  if (len == 0 && mx_ndarray_size(out[0]) > 0)
    return mx_error(MX_ERR_ARG, "cannot take argmax_channel over an axis of length 0");
  const void *xp = MX_PTR(x);
  int nt = mx_par_threads(rows * len);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t r = 0; r < rows; r++) {
    int64_t best = 0;
    double bv = mx_load_f64(xp, x->dtype, r * len);
    for (int64_t q = 1; q < len && bv == bv; q++) {
      double v = mx_load_f64(xp, x->dtype, r * len + q);
      if (v > bv || v != v) { bv = v; best = q; }
    }
    mx_store_f64(MX_PTR(out[0]), out[0]->dtype, r, (double)best);
  }
  return MX_OK;
}

/* ---------------------------------------------------------- batch_take */

static mx_status shape_batch_take(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  int64_t na = mx_shape_size(&in[0]), ni = mx_shape_size(&in[1]);
  if (ni == 0 ? na != 0 : na % ni != 0) {
    return mx_shape_pair_error("a of shape %s does not split into one row per index (indices of shape %s)", &in[0], &in[1]);
  }
  out[0] = in[1];
  return MX_OK;
}

static mx_status k_batch_take(KARGS) {
  UNUSED_KARGS;
  int64_t ni = mx_ndarray_size(in[1]);
  if (ni == 0) return MX_OK;
  int64_t m = mx_ndarray_size(in[0]) / ni;
  if (m == 0) return mx_error(MX_ERR_ARG, "cannot take from rows of length 0");
  size_t es = mx_dtype_size(in[0]->dtype);
  for (int64_t i = 0; i < ni; i++) {
    int64_t v = load_index(in[1], i);
    v = v < 0 ? 0 : (v >= m ? m - 1 : v);   /* clipped, as MXNet */
    memcpy((char *)MX_PTR(out[0]) + (size_t)i * es,
           (const char *)MX_PTR(in[0]) + (size_t)(i * m + v) * es, es);
  }
  return MX_OK;
}

/* ---------------------------------------------- gather_nd, scatter_nd */

enum { SN_SHAPE, SN_NPARAMS };

/* data shape X (N dims), indices (M, Y...): result Y... + X[M:]. */
static mx_status nd_result(const mx_shape *x, const mx_shape *ind, mx_shape *o) {
  if (ind->ndim < 1) return mx_error(MX_ERR_SHAPE, "indices need at least one dimension");
  int64_t m = ind->d[0];
  if (m < 1 || m > x->ndim)
    return mx_error(MX_ERR_SHAPE, "indices' first engine axis (%lld) must be between 1 and the data's %d dimensions",
                    (long long)m, x->ndim);
  int nd = ind->ndim - 1 + x->ndim - (int)m;
  if (nd > MX_MAX_DIM) return mx_error(MX_ERR_SHAPE, "the result would have %d dimensions", nd);
  o->ndim = 0;
  for (int k = 1; k < ind->ndim; k++) o->d[o->ndim++] = ind->d[k];
  for (int k = (int)m; k < x->ndim; k++) o->d[o->ndim++] = x->d[k];
  if (o->ndim == 0) { o->ndim = 1; o->d[0] = 1; }
  shape_fill_rest(o);
  return MX_OK;
}

static mx_status shape_gather_nd(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                 mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  return nd_result(&in[0], &in[1], &out[0]);
}

static mx_status shape_scatter_nd(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)nin; (void)nout;
  mx_shape x;
  x.ndim = p[SN_SHAPE].n;
  if (x.ndim < 1 || x.ndim > MX_MAX_DIM)
    return mx_error(MX_ERR_ARG, "parameter 'shape' needs 1 to %d entries", MX_MAX_DIM);
  for (int k = 0; k < x.ndim; k++) {
    if (p[SN_SHAPE].tup[k] < 0) return mx_error(MX_ERR_ARG, "parameter 'shape' must not contain negative sizes");
    x.d[k] = p[SN_SHAPE].tup[k];
  }
  shape_fill_rest(&x);
  out[0] = x;
  if (in[1].ndim < 0) return MX_OK;
  mx_shape want;
  mx_status rc = nd_result(&x, &in[1], &want);
  if (rc) return rc;
  if (in[0].ndim < 0) in[0] = want;
  if (mx_shape_size(&in[0]) != mx_shape_size(&want)) {
    return mx_shape_pair_error("data has shape %s; with these indices and shape it must be %s", &in[0], &want);
  }
  return MX_OK;
}

/* Offsets (in blocks of `inner` elements) of every index tuple into the
 * X-shaped array; negative indices count from the end; others out of range
 * are an error. */
static mx_status nd_offsets(const mx_shape *x, const mx_ndarray *ind, int64_t **offs,
                            int64_t *nt, int64_t *inner) {
  int64_t m = ind->shape.d[0], n = m ? mx_ndarray_size(ind) / m : 0;
  *inner = 1;
  for (int k = (int)m; k < x->ndim; k++) *inner *= x->d[k];
  int64_t *o = (int64_t *)malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  if (!o) return mx_error(MX_ERR_NOMEM, "out of memory (indices)");
  for (int64_t j = 0; j < n; j++) {
    int64_t off = 0;
    for (int64_t a = 0; a < m; a++) {
      int64_t v = load_index(ind, a * n + j), len = x->d[a];
      if (v < 0) v += len;
      if (v < 0 || v >= len) {
        free(o);
        return mx_error(MX_ERR_ARG, "index %lld is out of range for axis %lld of length %lld",
                        (long long)load_index(ind, a * n + j), (long long)a, (long long)len);
      }
      off = off * len + v;
    }
    o[j] = off;
  }
  *offs = o;
  *nt = n;
  return MX_OK;
}

/* gather (X -> Y) copies blocks; scatter (Y -> X) writes them (add: sums,
 * float dtypes only). */
static mx_status nd_move(const mx_ndarray *xarr, const mx_ndarray *ind, const mx_ndarray *yarr,
                         int gather, int add) {
  int64_t *offs = NULL, n = 0, inner = 1;
  mx_status rc = nd_offsets(&xarr->shape, ind, &offs, &n, &inner);
  if (rc) return rc;
  if (!gather) {
    rc = mx_ndarray_fill((mx_ndarray *)xarr, 0.0);
    if (rc) { free(offs); return rc; }
  }
  size_t es = mx_dtype_size(xarr->dtype);
  char *xp = (char *)MX_PTR(xarr), *yp = (char *)MX_PTR(yarr);
  for (int64_t j = 0; j < n; j++) {
    char *xb = xp + (size_t)(offs[j] * inner) * es, *yb = yp + (size_t)(j * inner) * es;
    if (gather) memcpy(yb, xb, (size_t)inner * es);
    else if (!add) memcpy(xb, yb, (size_t)inner * es);
    else
      for (int64_t t = 0; t < inner; t++)
        mx_store_f64(xb, xarr->dtype, t, mx_load_f64(xb, xarr->dtype, t) + mx_load_f64(yb, yarr->dtype, t));
  }
  free(offs);
  return MX_OK;
}

static mx_status k_gather_nd(KARGS) {
  UNUSED_KARGS;
  return nd_move(in[0], in[1], out[0], 1, 0);
}

static mx_status b_gather_nd(BARGS) {
  UNUSED_BARGS;
  mx_status rc = zero_ig(ig, req, 1);
  if (rc || req[0] != MX_REQ_WRITE) return rc;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  return nd_move(ig[0], in[1], og[0], 0, 1);
}

static mx_status k_scatter_nd(KARGS) {
  UNUSED_KARGS;
  return nd_move(out[0], in[1], in[0], 0, 0);
}

static mx_status b_scatter_nd(BARGS) {
  UNUSED_BARGS;
  mx_status rc = zero_ig(ig, req, 1);
  if (rc || req[0] != MX_REQ_WRITE) return rc;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  return nd_move(og[0], in[1], ig[0], 1, 0);
}

static mx_status type_data_index(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  return type_lhs(p, nin, in, nout, out);
}

/* ----------------------------------------------------------- erf, erfinv */

/* Inverse error function: Giles' single-precision approximation refined by
 * two Newton steps in double; +-1 give +-Inf, |y| > 1 and NaN give NaN. */
static double erfinv_d(double y) {
  if (y != y || y < -1 || y > 1) return NAN;
  if (y == 1) return INFINITY;
  if (y == -1) return -INFINITY;
  double w = -log((1 - y) * (1 + y)), x;
  if (w < 5) {
    w -= 2.5;
    x = 2.81022636e-08;
    x = 3.43273939e-07 + x * w; x = -3.5233877e-06 + x * w;
    x = -4.39150654e-06 + x * w; x = 0.00021858087 + x * w;
    x = -0.00125372503 + x * w; x = -0.00417768164 + x * w;
    x = 0.246640727 + x * w; x = 1.50140941 + x * w;
  } else {
    w = sqrt(w) - 3;
    x = -0.000200214257;
    x = 0.000100950558 + x * w; x = 0.00134934322 + x * w;
    x = -0.00367342844 + x * w; x = 0.00573950773 + x * w;
    x = -0.0076224613 + x * w; x = 0.00943887047 + x * w;
    x = 1.00167406 + x * w; x = 2.83297682 + x * w;
  }
  x *= y;
  for (int it = 0; it < 2; it++) {
    double e = erf(x) - y, d = 1.1283791670955126 * exp(-x * x);
    if (d > 0) x -= e / d;
  }
  return x;
}

static mx_status unary_map(const mx_ndarray *x, mx_ndarray *o, double (*f)(double)) {
  int64_t n = mx_ndarray_size(o);
  int nt = mx_par_threads(n * 8);
  (void)nt;
  const void *xp = MX_PTR(x);
  void *op = MX_PTR(o);
  MX_OMP_FOR(nt)
  for (int64_t i = 0; i < n; i++) mx_store_f64(op, o->dtype, i, f(mx_load_f64(xp, x->dtype, i)));
  return MX_OK;
}

static mx_status k_erf(KARGS) { UNUSED_KARGS; return unary_map(in[0], out[0], erf); }
static mx_status k_erfinv(KARGS) { UNUSED_KARGS; return unary_map(in[0], out[0], erfinv_d); }

/* erf'(x) = 2/sqrt(pi) exp(-x^2); erfinv'(y) = sqrt(pi)/2 exp(erfinv(y)^2). */
static mx_status b_erf_family(BARGS, int inv) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_ndarray *D = ig[0];
  if (!mx_dtype_is_float(D->dtype)) return grad_dtype_error(D->dtype);
  int64_t n = mx_ndarray_size(D);
  for (int64_t i = 0; i < n; i++) {
    double g = mx_load_f64(MX_PTR(og[0]), og[0]->dtype, i), d;
    if (inv) {
      double y = mx_load_f64(MX_PTR(out[0]), out[0]->dtype, i);
      d = 0.88622692545275801 * exp(y * y);
    } else {
      double x = mx_load_f64(MX_PTR(in[0]), in[0]->dtype, i);
      d = 1.1283791670955126 * exp(-x * x);
    }
    mx_store_f64(MX_PTR(D), D->dtype, i, g * d);
  }
  return MX_OK;
}
static mx_status b_erf(BARGS) { return b_erf_family(c, p, og, nout, in, nin, out, ig, req, 0); }
static mx_status b_erfinv(BARGS) { return b_erf_family(c, p, og, nout, in, nin, out, ig, req, 1); }

static void deps_in0_og(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                        unsigned char *no, unsigned char *ng) {
  mx_deps_out_grads(p, nin, nout, ni, no, ng);
  ni[0] = 1;
}
static void deps_out0_og(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                         unsigned char *no, unsigned char *ng) {
  mx_deps_out_grads(p, nin, nout, ni, no, ng);
  no[0] = 1;
}

/* ---------------------------------------------- shape_array, size_array */

static mx_status shape_shape_array(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                   mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  mx_shape o;
  o.ndim = 1;
  o.d[0] = in[0].ndim;
  shape_fill_rest(&o);
  out[0] = o;
  return MX_OK;
}
static mx_status shape_size_array(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  mx_shape o;
  o.ndim = 1;
  o.d[0] = 1;
  shape_fill_rest(&o);
  out[0] = o;
  return MX_OK;
}
static mx_status type_int64(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p; (void)nin; (void)in; (void)nout;
  out[0] = MX_INT64;
  return MX_OK;
}
static mx_status k_shape_array(KARGS) {
  UNUSED_KARGS;
  for (int k = 0; k < in[0]->shape.ndim; k++) MX_DATA(out[0], int64_t)[k] = in[0]->shape.d[k];
  return MX_OK;
}
static mx_status k_size_array(KARGS) {
  UNUSED_KARGS;
  MX_DATA(out[0], int64_t)[0] = mx_ndarray_size(in[0]);
  return MX_OK;
}

/* ---------------------------------------------------------- slice_like */

enum { SL_AXES, SL_NPARAMS };

static mx_status shape_slice_like(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  mx_shape o = in[0];
  const mx_param_value *ax = &p[SL_AXES];
  if (ax->n == 0 && in[0].ndim != in[1].ndim)
    return mx_shape_pair_error("data of shape %s and shape_like of shape %s need the same number of dimensions", &in[0], &in[1]);
  int n = ax->n ? ax->n : in[0].ndim;
  for (int k = 0; k < n; k++) {
    int a = k;
    if (ax->n) {
      mx_status rc = mx_axis_norm(ax->tup[k], in[0].ndim, &a);
      if (rc) return mx_error_prefix(rc, "parameter 'axes': ");
      if (a >= in[1].ndim) return mx_error(MX_ERR_ARG, "parameter 'axes': axis %d is beyond shape_like's dimensions", a);
    }
    if (in[1].d[a] > in[0].d[a])
      return mx_shape_pair_error("shape_like of shape %s is larger than data of shape %s", &in[1], &in[0]);
    o.d[a] = in[1].d[a];
  }
  out[0] = o;
  return MX_OK;
}

/* Copy the leading corner of `big` into `small` (to_small) or back. */
static mx_status corner_move(const mx_ndarray *big, const mx_ndarray *small, int to_small) {
  int nd = big->shape.ndim;
  int64_t n = mx_ndarray_size(small);
  if (!to_small) {
    mx_status rc = mx_ndarray_fill((mx_ndarray *)big, 0.0);
    if (rc) return rc;
  }
  if (n == 0) return MX_OK;
  size_t es = mx_dtype_size(big->dtype);
  int64_t bst[MX_MAX_DIM], s = 1;
  for (int k = nd - 1; k >= 0; k--) { bst[k] = s; s *= big->shape.d[k]; }
  char *bp = (char *)MX_PTR(big), *sp = (char *)MX_PTR(small);
  for (int64_t i = 0; i < n; i++) {
    int64_t rem = i, off = 0;
    for (int k = nd - 1; k >= 0; k--) {
      off += (rem % small->shape.d[k]) * bst[k];
      rem /= small->shape.d[k];
    }
    if (to_small) memcpy(sp + (size_t)i * es, bp + (size_t)off * es, es);
    else memcpy(bp + (size_t)off * es, sp + (size_t)i * es, es);
  }
  return MX_OK;
}
static mx_status k_slice_like(KARGS) {
  UNUSED_KARGS;
  return corner_move(in[0], out[0], 1);
}
static mx_status b_slice_like(BARGS) {
  UNUSED_BARGS;
  mx_status rc = zero_ig(ig, req, 1);
  if (rc || req[0] != MX_REQ_WRITE) return rc;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  return corner_move(ig[0], og[0], 0);
}

/* --------------------------------------- ravel_multi_index, unravel_index */

enum { RV_SHAPE, RV_NPARAMS };

static mx_status shape_ravel(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (p[RV_SHAPE].n < 1) return mx_error(MX_ERR_ARG, "parameter 'shape' must not be empty");
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim < 1 || in[0].d[0] != p[RV_SHAPE].n)
    return mx_error(MX_ERR_SHAPE, "data's first engine axis (its last R dimension) must hold %d coordinates", p[RV_SHAPE].n);
  mx_shape o = in[0];
  o.ndim--;
  for (int k = 0; k < o.ndim; k++) o.d[k] = in[0].d[k + 1];
  if (o.ndim == 0) { o.ndim = 1; o.d[0] = 1; }
  shape_fill_rest(&o);
  out[0] = o;
  return MX_OK;
}
static mx_status shape_unravel(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (p[RV_SHAPE].n < 1) return mx_error(MX_ERR_ARG, "parameter 'shape' must not be empty");
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim >= MX_MAX_DIM) return mx_error(MX_ERR_SHAPE, "the result would have too many dimensions");
  mx_shape o;
  o.ndim = in[0].ndim + 1;
  o.d[0] = p[RV_SHAPE].n;
  for (int k = 0; k < in[0].ndim; k++) o.d[k + 1] = in[0].d[k];
  shape_fill_rest(&o);
  out[0] = o;
  return MX_OK;
}
static mx_status k_ravel(KARGS) {
  UNUSED_KARGS;
  int m = p[RV_SHAPE].n;
  int64_t n = mx_ndarray_size(out[0]);
  for (int64_t j = 0; j < n; j++) {
    double flat = 0;
    for (int a = 0; a < m; a++) flat = flat * (double)p[RV_SHAPE].tup[a] + mx_load_f64(MX_PTR(in[0]), in[0]->dtype, a * n + j);
    mx_store_f64(MX_PTR(out[0]), out[0]->dtype, j, flat);
  }
  return MX_OK;
}
static mx_status k_unravel(KARGS) {
  UNUSED_KARGS;
  int m = p[RV_SHAPE].n;
  int64_t n = mx_ndarray_size(in[0]);
  for (int a = 0; a < m; a++)
    if (p[RV_SHAPE].tup[a] < 1) return mx_error(MX_ERR_ARG, "parameter 'shape' must hold positive sizes");
  for (int64_t j = 0; j < n; j++) {
    int64_t v = load_index(in[0], j);
    for (int a = m - 1; a >= 0; a--) {
      int64_t d = p[RV_SHAPE].tup[a], r = v % d;
      if (r < 0) r += d;
      mx_store_f64(MX_PTR(out[0]), out[0]->dtype, a * n + j, (double)r);
      v = (v - r) / d;
    }
  }
  return MX_OK;
}

/* ------------------------------------------ depth_to_space, space_to_depth */

enum { BS_BLOCK, BS_NPARAMS };

/* (N, C, H, W) <-> (N, C / b^2, H b, W b): element (n, c, h b + i, w b + j)
 * of the space layout is (n, (i b + j) C' + c, h, w) of the depth layout. */
static mx_status shape_d2s(const mx_param_value *p, int to_space, mx_shape *in, mx_shape *out) {
  if (in[0].ndim < 0) return MX_OK;
  int64_t b = p[BS_BLOCK].i;
  if (b < 1) return mx_error(MX_ERR_ARG, "parameter 'block_size' must be positive");
  if (in[0].ndim != 4) return mx_error(MX_ERR_SHAPE, "data must have 4 dimensions (N, C, H, W), not %d", in[0].ndim);
  mx_shape o = in[0];
  if (to_space) {
    if (in[0].d[1] % (b * b)) return mx_error(MX_ERR_SHAPE, "channels (%lld) must be a multiple of block_size^2", (long long)in[0].d[1]);
    o.d[1] /= b * b; o.d[2] *= b; o.d[3] *= b;
  } else {
    if (in[0].d[2] % b || in[0].d[3] % b)
      return mx_error(MX_ERR_SHAPE, "height and width must be multiples of block_size (%lld)", (long long)b);
    o.d[1] *= b * b; o.d[2] /= b; o.d[3] /= b;
  }
  out[0] = o;
  return MX_OK;
}
static mx_status shape_depth_to_space(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  return shape_d2s(p, 1, in, out);
}
static mx_status shape_space_to_depth(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  return shape_d2s(p, 0, in, out);
}

/* Move between the space array sp (N, C', H b, W b) and the depth array dp. */
static void d2s_move(const mx_ndarray *sp, const mx_ndarray *dp, int64_t b, int to_space) {
  const int64_t *s = sp->shape.d;
  int64_t N = s[0], C = s[1], H = s[2] / b, W = s[3] / b;
  size_t es = mx_dtype_size(sp->dtype);
  char *S = (char *)MX_PTR(sp), *D = (char *)MX_PTR(dp);
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t y = 0; y < H * b; y++)
        for (int64_t x = 0; x < W * b; x++) {
          int64_t i = y % b, j = x % b;
          int64_t so = ((n * C + c) * H * b + y) * W * b + x;
          int64_t dof = ((n * C * b * b + (i * b + j) * C + c) * H + y / b) * W + x / b;
          if (to_space) memcpy(S + (size_t)so * es, D + (size_t)dof * es, es);
          else memcpy(D + (size_t)dof * es, S + (size_t)so * es, es);
        }
}
static mx_status k_depth_to_space(KARGS) { UNUSED_KARGS; d2s_move(out[0], in[0], p[BS_BLOCK].i, 1); return MX_OK; }
static mx_status k_space_to_depth(KARGS) { UNUSED_KARGS; d2s_move(in[0], out[0], p[BS_BLOCK].i, 0); return MX_OK; }
static mx_status b_depth_to_space(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  d2s_move(og[0], ig[0], p[BS_BLOCK].i, 0);
  return MX_OK;
}
static mx_status b_space_to_depth(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  d2s_move(ig[0], og[0], p[BS_BLOCK].i, 1);
  return MX_OK;
}

/* ---------------------------------------------------------------- rcbrt */

static double rcbrt_d(double x) { return 1 / cbrt(x); }
static mx_status k_rcbrt(KARGS) { UNUSED_KARGS; return unary_map(in[0], out[0], rcbrt_d); }
static mx_status b_rcbrt(BARGS) {
  UNUSED_BARGS;   /* d/dx x^(-1/3) = -y / (3 x) = -y^4 / 3 */
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_ndarray *D = ig[0];
  if (!mx_dtype_is_float(D->dtype)) return grad_dtype_error(D->dtype);
  int64_t n = mx_ndarray_size(D);
  for (int64_t i = 0; i < n; i++) {
    double y = mx_load_f64(MX_PTR(out[0]), out[0]->dtype, i);
    mx_store_f64(MX_PTR(D), D->dtype, i, mx_load_f64(MX_PTR(og[0]), og[0]->dtype, i) * (-y * y * y * y / 3));
  }
  return MX_OK;
}

/* ----------------------------------------------------------- khatri_rao */

/* Column-wise Kronecker product of matrices A_j (M_j x N, engine order):
 * row (i_1, ..., i_n) of the (M_1 ... M_n) x N result, first index slowest. */
static mx_status shape_khatri_rao(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)p; (void)nout;
  if (nin < 1) return mx_error(MX_ERR_ARG, "parameter 'num_args' must be at least 1");
  int64_t rows = 1, cols = -1;
  for (int j = 0; j < nin; j++) {
    if (in[j].ndim < 0) return MX_OK;
    if (in[j].ndim != 2) return mx_error(MX_ERR_SHAPE, "input %d must be a matrix, not %d-dimensional", j, in[j].ndim);
    if (cols >= 0 && in[j].d[1] != cols)
      return mx_error(MX_ERR_SHAPE, "input %d has %lld columns (engine order), input 0 %lld: they must agree",
                      j, (long long)in[j].d[1], (long long)cols);
    cols = in[j].d[1];
    rows *= in[j].d[0];
  }
  mx_shape o;
  o.ndim = 2;
  o.d[0] = rows;
  o.d[1] = cols;
  shape_fill_rest(&o);
  out[0] = o;
  return MX_OK;
}

/* Product over inputs of A_j[i_j, k] for result row r, skipping input `skip`. */
static double kr_prod(mx_ndarray *const *in, int nin, int64_t r, int64_t k, int skip, int64_t *idx_skip) {
  double v = 1;
  for (int j = nin - 1; j >= 0; j--) {
    int64_t m = in[j]->shape.d[0], n = in[j]->shape.d[1], i = r % m;
    r /= m;
    if (j == skip) { *idx_skip = i; continue; }
    v *= mx_load_f64(MX_PTR(in[j]), in[j]->dtype, i * n + k);
  }
  return v;
}

static mx_status k_khatri_rao(KARGS) {
  UNUSED_KARGS;
  int64_t rows = out[0]->shape.d[0], n = out[0]->shape.d[1], dummy;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < n; k++)
      mx_store_f64(MX_PTR(out[0]), out[0]->dtype, r * n + k, kr_prod(in, nin, r, k, -1, &dummy));
  return MX_OK;
}

static mx_status b_khatri_rao(BARGS) {
  UNUSED_BARGS;
  int64_t rows = og[0]->shape.d[0], n = og[0]->shape.d[1];
  for (int j = 0; j < nin; j++) {
    if (req[j] != MX_REQ_WRITE) continue;
    if (!mx_dtype_is_float(ig[j]->dtype)) return grad_dtype_error(ig[j]->dtype);
    mx_status rc = mx_ndarray_fill(ig[j], 0.0);
    if (rc) return rc;
    for (int64_t r = 0; r < rows; r++)
      for (int64_t k = 0; k < n; k++) {
        int64_t i = 0;
        double v = kr_prod((mx_ndarray *const *)in, nin, r, k, j, &i) *
                   mx_load_f64(MX_PTR(og[0]), og[0]->dtype, r * n + k);
        mx_store_f64(MX_PTR(ig[j]), ig[j]->dtype, i * n + k, mx_load_f64(MX_PTR(ig[j]), ig[j]->dtype, i * n + k) + v);
      }
  }
  return MX_OK;
}

/* ------------------------------------------------------------ registry */

static const char *const in_data[] = {"data", NULL};
static const char *const in_lr[] = {"lhs", "rhs", NULL};
static const char *const in_args[] = {"args", NULL};
static const char *const in_a[] = {"a", NULL};
static const char *const in_take[] = {"a", "indices", NULL};
static const char *const in_nd[] = {"data", "indices", NULL};
static const char *const out_topk[] = {"output", "indices", NULL};
static const char *const in_slice_like[] = {"data", "shape_like", NULL};

static const mx_param_desc p_broadcast_to[BT_NPARAMS] = {
  [BT_SHAPE] = {"shape", MX_PARAM_SHAPE, 0, "[]", NULL,
   "Target shape (R order), one entry per input dimension; 0 keeps that dimension."},
};
static const mx_param_desc p_broadcast_axis[BA_NPARAMS] = {
  [BA_AXIS] = {"axis", MX_PARAM_SHAPE, 0, "[]", NULL, "Engine axes to broadcast (each of length 1)."},
  [BA_SIZE] = {"size", MX_PARAM_SHAPE, 0, "[]", NULL, "New length of each axis, in axis's order."},
};
static const mx_param_desc p_broadcast_like[BL_NPARAMS] = {
  [BL_LHS_AXES] = {"lhs_axes", MX_PARAM_SHAPE, MX_PF_OPTIONAL, NULL, NULL,
   "Engine axes of lhs to broadcast (None: all, lhs and rhs having one ndim)."},
  [BL_RHS_AXES] = {"rhs_axes", MX_PARAM_SHAPE, MX_PF_OPTIONAL, NULL, NULL,
   "Engine axes of rhs giving the new lengths, in lhs_axes' order."},
};
static const mx_param_desc p_add_n[AN_NPARAMS] = {
  [AN_NUM] = {"num_args", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of inputs."},
};
static const mx_param_desc p_cumsum[CS_NPARAMS] = {
  [CS_AXIS] = {"axis", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL,
   "Engine axis to sum along (None: the flattened array)."},
  [CS_DTYPE] = {"dtype", MX_PARAM_DTYPE, MX_PF_OPTIONAL, NULL, NULL,
   "Dtype of the result (None: the input's)."},
};
static const mx_param_desc p_topk[TOPK_NPARAMS] = {
  [TOPK_AXIS] = {"axis", MX_PARAM_INT, MX_PF_OPTIONAL, "-1", NULL,
   "Engine axis to search (None: the flattened array)."},
  [TOPK_K] = {"k", MX_PARAM_INT, 0, "1", NULL, "Number of elements to keep; k < 1 keeps the whole axis."},
  [TOPK_RET] = {"ret_typ", MX_PARAM_ENUM, 0, "indices", "value|indices|mask|both",
   "What to return: the values, their 0-based indices, a 0/1 mask of the input's shape, or values and indices."},
  [TOPK_ASCEND] = {"is_ascend", MX_PARAM_BOOL, 0, "False", NULL, "Smallest first (TRUE) or largest first."},
  [TOPK_DTYPE] = {"dtype", MX_PARAM_DTYPE, 0, "float32", NULL, "Dtype of the indices."},
};
static const mx_param_desc p_sort[SO_NPARAMS] = {
  [SO_AXIS] = {"axis", MX_PARAM_INT, MX_PF_OPTIONAL, "-1", NULL,
   "Engine axis to sort along (None: the flattened array)."},
  [SO_ASCEND] = {"is_ascend", MX_PARAM_BOOL, 0, "True", NULL, "Ascending (TRUE) or descending order."},
};
static const mx_param_desc p_argsort[AS_NPARAMS] = {
  [AS_AXIS] = {"axis", MX_PARAM_INT, MX_PF_OPTIONAL, "-1", NULL,
   "Engine axis to sort along (None: the flattened array)."},
  [AS_ASCEND] = {"is_ascend", MX_PARAM_BOOL, 0, "True", NULL, "Ascending (TRUE) or descending order."},
  [AS_DTYPE] = {"dtype", MX_PARAM_DTYPE, 0, "float32", NULL, "Dtype of the indices."},
};
static const mx_param_desc p_reshape_like[RL_NPARAMS] = {
  [RL_LB] = {"lhs_begin", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL, "First engine axis of lhs to replace (None: 0)."},
  [RL_LE] = {"lhs_end", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL, "End (excluded) of lhs's axes to replace (None: all)."},
  [RL_RB] = {"rhs_begin", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL, "First engine axis of rhs to copy (None: 0)."},
  [RL_RE] = {"rhs_end", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL, "End (excluded) of rhs's axes to copy (None: all)."},
};
static const mx_param_desc p_diag[DG_NPARAMS] = {
  [DG_K] = {"k", MX_PARAM_INT, 0, "0", NULL,
   "Diagonal offset in engine order: positive above the main diagonal of the (axis1, axis2) matrix."},
  [DG_AXIS1] = {"axis1", MX_PARAM_INT, 0, "0", NULL, "First engine axis of the matrices (data of 2+ dimensions)."},
  [DG_AXIS2] = {"axis2", MX_PARAM_INT, 0, "1", NULL, "Second engine axis of the matrices."},
};
static const mx_param_desc p_scatter_nd[SN_NPARAMS] = {
  [SN_SHAPE] = {"shape", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL, "Shape of the result (R order)."},
};

static const mx_param_desc p_slice_like[SL_NPARAMS] = {
  [SL_AXES] = {"axes", MX_PARAM_SHAPE, 0, "()", NULL, "Engine axes to slice (empty: all)."},
};
static const mx_param_desc p_ravel[RV_NPARAMS] = {
  [RV_SHAPE] = {"shape", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL, "Shape of the array the indices address (R order)."},
};
static const mx_param_desc p_block[BS_NPARAMS] = {
  [BS_BLOCK] = {"block_size", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Size of the square blocks moved between space and depth."},
};

#define OPF_MOVE (MX_OPF_F16 | MX_OPF_INT8)

const mx_op mx_ops_tensor[] = {
  {.name = "broadcast_to",
   .doc = "Broadcast an array to a shape. Dimensions of length 1 are repeated; a 0 in shape keeps that dimension.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_broadcast_to,
   .num_params = MX_NPARAMS(p_broadcast_to), .infer_shape = shape_broadcast_to,
   .cpu = k_broadcast, .backward = b_broadcast, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "broadcast_axis", .aliases = {"broadcast_axes"},
   .doc = "Broadcast axes of length 1 to the given sizes.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_broadcast_axis,
   .num_params = MX_NPARAMS(p_broadcast_axis), .infer_shape = shape_broadcast_axis,
   .cpu = k_broadcast, .backward = b_broadcast, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "broadcast_like",
   .doc = "Broadcast lhs to the shape of rhs (or along lhs_axes to the lengths of rhs_axes). The result has lhs's dtype; rhs gets a zero gradient.",
   .num_inputs = 2, .input_names = in_lr, .num_outputs = 1, .params = p_broadcast_like,
   .num_params = MX_NPARAMS(p_broadcast_like), .infer_shape = shape_broadcast_like,
   .infer_type = type_lhs, .cpu = k_broadcast, .backward = b_broadcast, .flags = OPF_MOVE,
   .backward_deps = mx_deps_out_grads},
  {.name = "add_n", .aliases = {"ElementWiseSum"},
   .doc = "Add all inputs element-wise. Inputs share one shape and dtype; floats are summed in double, integers wrap around.",
   .num_inputs = -1, .input_names = in_args, .num_outputs = 1, .params = p_add_n,
   .num_params = MX_NPARAMS(p_add_n), .infer_shape = shape_add_n, .cpu = k_add_n,
   .backward = b_add_n, .backward_deps = mx_deps_out_grads, .layouts = mx_lay_same},
  {.name = "cumsum",
   .doc = "Cumulative sum along an axis (None: over the flattened array, giving a 1-d result), accumulated in double.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .params = p_cumsum,
   .num_params = MX_NPARAMS(p_cumsum), .infer_shape = shape_cumsum, .infer_type = type_cumsum,
   .cpu = k_cumsum, .backward = b_cumsum, .backward_deps = mx_deps_out_grads},
  {.name = "topk",
   .doc = "The k largest (or smallest) elements along an axis: their values, 0-based indices, a mask, or both values and indices. Ties keep the lower index first.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 2, .params = p_topk,
   .num_params = MX_NPARAMS(p_topk), .infer_shape = shape_topk, .infer_type = type_topk,
   .cpu = k_topk, .backward = b_topk, .flags = MX_OPF_F16 | MX_OPF_INT8, .backward_deps = deps_sorted,
   .num_visible_outputs = vis_topk, .output_names = out_topk},
  {.name = "sort",
   .doc = "Sort along an axis (None: the flattened array). Ties keep their order.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 2, .params = p_sort,
   .num_params = MX_NPARAMS(p_sort), .infer_shape = shape_sort, .infer_type = type_sort,
   .cpu = k_sort, .backward = b_sort, .flags = MX_OPF_F16 | MX_OPF_INT8, .backward_deps = deps_sorted,
   .num_visible_outputs = vis_one, .output_names = out_topk},
  {.name = "argsort",
   .doc = "0-based indices that sort an array along an axis (None: the flattened array). Ties keep their order.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_argsort,
   .num_params = MX_NPARAMS(p_argsort), .infer_shape = shape_argsort, .infer_type = type_argsort,
   .cpu = k_argsort, .flags = MX_OPF_F16 | MX_OPF_INT8},
  {.name = "reshape_like",
   .doc = "Reshape lhs to rhs's shape, or replace lhs's axes [lhs_begin, lhs_end) by rhs's axes [rhs_begin, rhs_end) (engine axes). Sizes must agree.",
   .num_inputs = 2, .input_names = in_lr, .num_outputs = 1, .params = p_reshape_like,
   .num_params = MX_NPARAMS(p_reshape_like), .infer_shape = shape_reshape_like,
   .infer_type = type_lhs, .cpu = k_copy_bytes, .backward = b_reshape_like, .flags = OPF_MOVE,
   .backward_deps = mx_deps_out_grads},
  {.name = "diag",
   .doc = "Diagonal of a matrix, or a matrix with a diagonal. 1-d data gives a square matrix with data on diagonal k; data of 2+ dimensions gives diagonal k of the matrices in engine axes axis1 and axis2, as a new last engine axis.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_diag,
   .num_params = MX_NPARAMS(p_diag), .infer_shape = shape_diag, .cpu = k_diag,
   .backward = b_diag, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "argmax_channel",
   .doc = "0-based index of the maximum along the last engine axis (the first R dimension); first on ties, NaN wins. The result has data's dtype.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1,
   .infer_shape = shape_argmax_channel, .cpu = k_argmax_channel},
  {.name = "batch_take",
   .doc = "One element per row: a is split into as many rows as indices has elements, and row i gives a[i, indices[i]] (0-based, clipped to the row). The result has indices' shape and a's dtype.",
   .num_inputs = 2, .input_names = in_take, .num_outputs = 1, .infer_shape = shape_batch_take,
   .infer_type = type_data_index, .cpu = k_batch_take, .flags = OPF_MOVE},
  {.name = "gather_nd",
   .doc = "Gather elements or slices by index tuples. indices has shape (M, Y...) in engine order (M is its last R dimension); the result has shape Y... + data.shape[M:]. Negative indices count from the end.",
   .num_inputs = 2, .input_names = in_nd, .num_outputs = 1, .infer_shape = shape_gather_nd,
   .infer_type = type_data_index, .cpu = k_gather_nd, .backward = b_gather_nd, .flags = OPF_MOVE,
   .backward_deps = deps_in1_og},
  {.name = "scatter_nd",
   .doc = "Scatter data into a zero array of the given shape at index tuples (the inverse of gather_nd). With repeated indices one of the writes wins.",
   .num_inputs = 2, .input_names = in_nd, .num_outputs = 1, .params = p_scatter_nd,
   .num_params = MX_NPARAMS(p_scatter_nd), .infer_shape = shape_scatter_nd,
   .infer_type = type_data_index, .cpu = k_scatter_nd, .backward = b_scatter_nd,
   .flags = OPF_MOVE, .backward_deps = deps_in1_og},
  {.name = "erf", .doc = "Gauss error function, element-wise (integer inputs give saturated integers).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .infer_shape = mx_infer_shape_same,
   .infer_type = type_in0, .cpu = k_erf, .backward = b_erf, .flags = MX_OPF_INPLACE,
   .backward_deps = deps_in0_og},
  {.name = "erfinv", .doc = "Inverse error function, element-wise: +-Inf at +-1, NaN outside [-1, 1].",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .infer_shape = mx_infer_shape_same,
   .infer_type = type_in0, .cpu = k_erfinv, .backward = b_erfinv, .flags = MX_OPF_INPLACE,
   .backward_deps = deps_out0_og},
  {.name = "shape_array", .doc = "The shape of data in engine order (the reverse of R's dim()), as a 1-d int64 array.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .infer_shape = shape_shape_array,
   .infer_type = type_int64, .cpu = k_shape_array, .flags = OPF_MOVE},
  {.name = "size_array", .doc = "The number of elements of data, as a 1-element int64 array.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .infer_shape = shape_size_array,
   .infer_type = type_int64, .cpu = k_size_array, .flags = OPF_MOVE},
  {.name = "slice_like",
   .doc = "The leading part of data with shape_like's lengths along axes (engine axes; empty: all axes). shape_like gets a zero gradient.",
   .num_inputs = 2, .input_names = in_slice_like, .num_outputs = 1, .params = p_slice_like,
   .num_params = MX_NPARAMS(p_slice_like), .infer_shape = shape_slice_like, .infer_type = type_lhs,
   .cpu = k_slice_like, .backward = b_slice_like, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "ravel_multi_index", .aliases = {"_ravel_multi_index"},
   .doc = "Flat (row-major, engine order) indices of coordinate tuples. data holds one tuple per position along its first engine axis (its last R dimension), coordinates in engine axis order.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_ravel,
   .num_params = MX_NPARAMS(p_ravel), .infer_shape = shape_ravel, .cpu = k_ravel},
  {.name = "unravel_index", .aliases = {"_unravel_index"},
   .doc = "Coordinate tuples (engine axis order) of flat row-major indices; the inverse of ravel_multi_index.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_ravel,
   .num_params = MX_NPARAMS(p_ravel), .infer_shape = shape_unravel, .cpu = k_unravel},
  {.name = "depth_to_space",
   .doc = "Move blocks of channels into space: (N, C, H, W) to (N, C / block_size^2, H block_size, W block_size) in engine order.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_block,
   .num_params = MX_NPARAMS(p_block), .infer_shape = shape_depth_to_space, .cpu = k_depth_to_space,
   .backward = b_depth_to_space, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "space_to_depth",
   .doc = "Move blocks of space into channels: (N, C, H, W) to (N, C block_size^2, H / block_size, W / block_size) in engine order; the inverse of depth_to_space.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_block,
   .num_params = MX_NPARAMS(p_block), .infer_shape = shape_space_to_depth, .cpu = k_space_to_depth,
   .backward = b_space_to_depth, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "rcbrt", .doc = "Reciprocal cube root 1 / cbrt(x), element-wise.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .infer_shape = mx_infer_shape_same,
   .infer_type = type_in0, .cpu = k_rcbrt, .backward = b_rcbrt, .flags = MX_OPF_INPLACE,
   .backward_deps = deps_out0_og},
  {.name = "khatri_rao",
   .doc = "Column-wise Khatri-Rao (Kronecker) product of matrices with one number of columns (engine order: each R matrix is seen transposed, so R rows are shared).",
   .num_inputs = -1, .input_names = in_args, .num_outputs = 1, .params = p_add_n,
   .num_params = MX_NPARAMS(p_add_n), .infer_shape = shape_khatri_rao, .cpu = k_khatri_rao,
   .backward = b_khatri_rao},
  {.name = NULL},
};
