/*
 * shape.c -- ops that move elements without computing on them: reshape,
 * Flatten, expand_dims, squeeze (views of their input when possible),
 * transpose, SwapAxis, concat, stack, slice, slice_axis, tile, repeat and
 * reverse.
 *
 * All shapes and axes are C order (axis 0 is the last R dimension).  The
 * kernels copy bytes, so every dtype, float16 included, is handled natively
 * (MX_OPF_F16): no float32 round trip, and the view ops stay views.
 */
#include "../include/mx-op.h"


/* ------------------------------------------------------------- helpers */

#define SC_MAXD (2 * MX_MAX_DIM + 1)

/* Copy n elements of es bytes from s (element stride str) to contiguous d. */
static inline void copy_row(char *d, const char *s, int64_t n, int64_t str, size_t es) {
  if (str == 1) {
    memcpy(d, s, (size_t)n * es);
    return;
  }
  switch (es) {
    case 1: { uint8_t *dd = (uint8_t *)d; const uint8_t *ss = (const uint8_t *)s;
              for (int64_t i = 0; i < n; i++) dd[i] = ss[i * str]; } break;
    case 2: { uint16_t *dd = (uint16_t *)d; const uint16_t *ss = (const uint16_t *)s;
              for (int64_t i = 0; i < n; i++) dd[i] = ss[i * str]; } break;
    case 4: { uint32_t *dd = (uint32_t *)d; const uint32_t *ss = (const uint32_t *)s;
              for (int64_t i = 0; i < n; i++) dd[i] = ss[i * str]; } break;
    default: { uint64_t *dd = (uint64_t *)d; const uint64_t *ss = (const uint64_t *)s;
               for (int64_t i = 0; i < n; i++) dd[i] = ss[i * str]; } break;
  }
}

/* Copy n contiguous elements of es bytes from s to d (element stride str). */
static inline void scatter_row(char *d, const char *s, int64_t n, int64_t str, size_t es) {
  if (str == 1) {
    memcpy(d, s, (size_t)n * es);
    return;
  }
  switch (es) {
    case 1: { uint8_t *dd = (uint8_t *)d; const uint8_t *ss = (const uint8_t *)s;
              for (int64_t i = 0; i < n; i++) dd[i * str] = ss[i]; } break;
    case 2: { uint16_t *dd = (uint16_t *)d; const uint16_t *ss = (const uint16_t *)s;
              for (int64_t i = 0; i < n; i++) dd[i * str] = ss[i]; } break;
    case 4: { uint32_t *dd = (uint32_t *)d; const uint32_t *ss = (const uint32_t *)s;
              for (int64_t i = 0; i < n; i++) dd[i * str] = ss[i]; } break;
    default: { uint64_t *dd = (uint64_t *)d; const uint64_t *ss = (const uint64_t *)s;
               for (int64_t i = 0; i < n; i++) dd[i * str] = ss[i]; } break;
  }
}

/* Copy between a contiguous buffer with shape[0..nd-1] and a strided view
 * of another: element (i_0, ..., i_{nd-1}) of the view is at offset
 * off0 + sum i_k str[k] (in elements; 0 repeats, negative walks backwards).
 * scatter = 0 gathers the view into the contiguous buffer; scatter = 1
 * writes the contiguous buffer into the view (whose elements must then be
 * distinct).  nd <= SC_MAXD.  Extent-1 axes are dropped and axes that walk
 * memory as one are merged; rows of the last axis go to the threads. */
static void strided_move(char *contig, char *view, size_t es, int nd, const int64_t *shape,
                         const int64_t *str, int64_t off0, int scatter) {
  int64_t sh[SC_MAXD], st[SC_MAXD], total = 1;
  for (int k = 0; k < nd; k++) total *= shape[k];
  if (total == 0) return;
  int n = 0;
  for (int k = 0; k < nd; k++) {
    if (shape[k] == 1) continue;
    if (n > 0 && st[n - 1] == str[k] * shape[k]) {
      sh[n - 1] *= shape[k];
      st[n - 1] = str[k];
      continue;
    }
    sh[n] = shape[k];
    st[n] = str[k];
    n++;
  }
  if (n == 0) {
    sh[0] = 1;
    st[0] = 1;
    n = 1;
  }
  int64_t inner = sh[n - 1], istr = st[n - 1], rows = total / inner;
  int nt = mx_par_threads(total);
  if (nt > rows) nt = (int)rows;
  MX_OMP_FOR(nt)
  for (int t = 0; t < nt; t++) {
    int64_t r0 = rows / nt * t + (t < rows % nt ? t : rows % nt);
    int64_t r1 = r0 + rows / nt + (t < rows % nt ? 1 : 0);
    int64_t cnt[SC_MAXD], off = off0, rem = r0;
    for (int k = n - 2; k >= 0; k--) {
      cnt[k] = rem % sh[k];
      rem /= sh[k];
      off += cnt[k] * st[k];
    }
    for (int64_t r = r0; r < r1; r++) {
      char *c = contig + (size_t)(r * inner) * es, *v = view + off * (int64_t)es;
      if (scatter) scatter_row(v, c, inner, istr, es);
      else copy_row(c, v, inner, istr, es);
      for (int k = n - 2; k >= 0; k--) {
        off += st[k];
        if (++cnt[k] < sh[k]) break;
        off -= st[k] * sh[k];
        cnt[k] = 0;
      }
    }
  }
}

/* Fill the contiguous array dst from the strided view of src at soff. */
static void strided_copy(void *dst, const void *src, size_t es, int nd,
                         const int64_t *shape, const int64_t *str, int64_t soff) {
  strided_move((char *)dst, (char *)(uintptr_t)src, es, nd, shape, str, soff, 0);
}

/* The inverse: contiguous src goes to the strided view of dst at doff. */
static void strided_scatter(void *dst, const void *src, size_t es, int nd,
                            const int64_t *shape, const int64_t *str, int64_t doff) {
  strided_move((char *)(uintptr_t)src, (char *)dst, es, nd, shape, str, doff, 1);
}

static mx_status shape_error(const char *what, const mx_shape *s) {
  char b[128];
  mx_shape_format(s, b, sizeof b);
  return mx_error(MX_ERR_SHAPE, what, b);
}

/* Normalise an axis of an array with ndim dimensions, naming the param. */
static mx_status axis_check(const char *name, int64_t axis, int ndim, int *out) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    return mx_error(MX_ERR_ARG, "parameter '%s' = %lld is out of range for an array with %d dimension%s",
                    name, (long long)axis, ndim, ndim == 1 ? "" : "s");
  *out = (int)a;
  return MX_OK;
}

static void shape_zero_tail(mx_shape *s) {
  for (int k = s->ndim < 0 ? 0 : s->ndim; k < MX_MAX_DIM; k++) s->d[k] = 0;
}

/* View ops: the output is input 0's memory with another shape. */
static mx_status view_reshape(const mx_param_value *p, const mx_ndarray *in,
                              const mx_shape *out_shape, mx_ndarray **out) {
  (void)p;
  return mx_ndarray_reshape_view(in, out_shape, out);
}

/* Their kernel (out= given): a plain copy. */
static mx_status k_copy(KARGS) {
  UNUSED_KARGS;
  size_t nb = mx_ndarray_nbytes(out[0]);
  if (nb) memmove(MX_PTR(out[0]), MX_PTR(in[0]), nb);
  return MX_OK;
}

/* ------------------------------------------------------------- reshape */

enum { RS_SHAPE, RS_REVERSE, RS_TARGET_SHAPE, RS_KEEP_HIGHEST, RS_NPARAMS };

/* The result must hold the input's elements. */
static mx_status reshape_check(const mx_shape *is, const mx_shape *o, const char *param) {
  if (mx_shape_size(o) == mx_shape_size(is)) return MX_OK;
  char b[128], b2[128];
  mx_shape_format(is, b, sizeof b);
  mx_shape_format(o, b2, sizeof b2);
  return mx_error(MX_ERR_SHAPE, "parameter '%s': cannot reshape an array of shape %s (%lld elements) into %s",
                  param, b, (long long)mx_shape_size(is), b2);
}

static mx_status reshape_infer(const mx_shape *is, const mx_param_value *ps, int reverse,
                               mx_shape *os) {
  int64_t src[MX_MAX_DIM], want[MX_MAX_TUPLE], res[MX_MAX_TUPLE * 2];
  int ns = is->ndim, np = ps->n, nr = 0, inf = -1, si = 0;
  for (int k = 0; k < ns; k++) src[k] = reverse ? is->d[ns - 1 - k] : is->d[k];
  for (int k = 0; k < np; k++) want[k] = reverse ? ps->tup[np - 1 - k] : ps->tup[k];
  char b[128];
  mx_shape_format(is, b, sizeof b);
  for (int i = 0; i < np; i++) {
    int64_t v = want[i];
    if (nr >= MX_MAX_TUPLE * 2 - 2) break;
    if (v == 0) {
      if (si >= ns)
        return mx_error(MX_ERR_SHAPE, "parameter 'shape': 0 at position %d has no input dimension to copy (input %s)", i + 1, b);
      res[nr++] = src[si++];
    } else if (v == -1) {
      if (inf >= 0)
        return mx_error(MX_ERR_ARG, "parameter 'shape' may contain -1 only once");
      inf = nr;
      res[nr++] = 1;
      si++;
    } else if (v == -2) {
      while (si < ns && nr < MX_MAX_TUPLE * 2 - 2) res[nr++] = src[si++];
    } else if (v == -3) {
      if (si + 1 >= ns)
        return mx_error(MX_ERR_SHAPE, "parameter 'shape': -3 at position %d needs two input dimensions to merge (input %s)", i + 1, b);
      res[nr++] = src[si] * src[si + 1];
      si += 2;
    } else if (v == -4) {
      if (i + 2 >= np)
        return mx_error(MX_ERR_ARG, "parameter 'shape': -4 must be followed by two values");
      if (si >= ns)
        return mx_error(MX_ERR_SHAPE, "parameter 'shape': -4 at position %d has no input dimension to split (input %s)", i + 1, b);
      int64_t d0 = src[si++], d1 = want[++i], d2 = want[++i];
      if ((d1 == -1 && d2 == -1) || d1 < -1 || d2 < -1)
        return mx_error(MX_ERR_ARG, "parameter 'shape': the two values after -4 must be positive, or one of them -1");
      if (d1 == -1) d1 = d2 ? d0 / d2 : 0;
      if (d2 == -1) d2 = d1 ? d0 / d1 : 0;
      if (d1 * d2 != d0)
        return mx_error(MX_ERR_SHAPE, "parameter 'shape': -4 cannot split dimension %lld into %lld x %lld",
                        (long long)d0, (long long)d1, (long long)d2);
      res[nr++] = d1;
      res[nr++] = d2;
    } else if (v > 0) {
      res[nr++] = v;
      si++;
    } else {
      return mx_error(MX_ERR_ARG, "parameter 'shape' contains %lld; allowed are positive sizes and the special values 0, -1, -2, -3, -4",
                      (long long)v);
    }
  }
  if (nr > MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "parameter 'shape' gives more than %d dimensions", MX_MAX_DIM);
  int64_t total = mx_shape_size(is);
  if (inf >= 0) {
    int64_t known = 1;
    for (int k = 0; k < nr; k++)
      if (k != inf) known *= res[k];
    if (known == 0)
      return mx_error(MX_ERR_SHAPE, "parameter 'shape': -1 cannot be inferred when other dimensions are 0 (input %s)", b);
    res[inf] = total / known;
  }
  mx_shape o;
  o.ndim = nr;
  for (int k = 0; k < nr; k++) o.d[k] = reverse ? res[nr - 1 - k] : res[k];
  shape_zero_tail(&o);
  mx_status rc = reshape_check(is, &o, "shape");
  if (rc == MX_OK) *os = o;
  return rc;
}

/* MXNet's deprecated target_shape: sizes as given, one 0 inferred from the
 * rest; keep_highest keeps the first engine axis of the input. */
static mx_status reshape_target(const mx_shape *is, const mx_param_value *t, int keep_highest,
                                mx_shape *os) {
  if (t->n > MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "parameter 'target_shape' gives more than %d dimensions", MX_MAX_DIM);
  mx_shape o;
  o.ndim = t->n;
  int zeros = 0, inf = -1;
  for (int k = 0; k < t->n; k++) {
    o.d[k] = (keep_highest && k == 0) ? (is->ndim > 0 ? is->d[0] : 1) : t->tup[k];
    if (o.d[k] < 0)
      return mx_error(MX_ERR_ARG, "parameter 'target_shape' must not contain negative values");
    if (o.d[k] == 0 && !(keep_highest && k == 0)) { zeros++; inf = k; }
  }
  if (zeros == 1) {
    int64_t known = 1;
    for (int k = 0; k < o.ndim; k++) if (k != inf) known *= o.d[k];
    o.d[inf] = known ? mx_shape_size(is) / known : 0;
  }
  shape_zero_tail(&o);
  mx_status rc = reshape_check(is, &o, "target_shape");
  if (rc == MX_OK) *os = o;
  return rc;
}

static mx_status shape_reshape(const mx_param_value *p, int nin, mx_shape *in,
                               int nout, mx_shape *out) {
  (void)nin; (void)nout;
  const mx_param_value *sh = &p[RS_SHAPE], *tg = &p[RS_TARGET_SHAPE];
  if (sh->n > 0 && tg->n > 0)
    return mx_error(MX_ERR_ARG, "parameters 'shape' and 'target_shape' cannot be used together");
  if (sh->n == 0 && tg->n == 0)
    return mx_error(MX_ERR_ARG, "parameter 'shape' is required (or the deprecated 'target_shape')");
  if (in[0].ndim < 0) return MX_OK;
  if (tg->n > 0) return reshape_target(&in[0], tg, (int)p[RS_KEEP_HIGHEST].i, &out[0]);
  return reshape_infer(&in[0], sh, (int)p[RS_REVERSE].i, &out[0]);
}

/* ------------------------------------------------------- Flatten etc. */

static mx_status shape_flatten(const mx_param_value *p, int nin, mx_shape *in,
                               int nout, mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim < 1) return shape_error("cannot flatten an array of shape %s (no dimensions)", &in[0]);
  mx_shape o;
  o.ndim = 2;
  o.d[0] = in[0].d[0];
  o.d[1] = 1;
  for (int k = 1; k < in[0].ndim; k++) o.d[1] *= in[0].d[k];
  shape_zero_tail(&o);
  out[0] = o;
  return MX_OK;
}

enum { ED_AXIS, ED_NPARAMS };
static mx_status shape_expand_dims(const mx_param_value *p, int nin, mx_shape *in,
                                   int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int nd = in[0].ndim;
  int a = 0;
  mx_status rc = axis_check("axis", p[ED_AXIS].i, nd + 1, &a);
  if (rc) return rc;
  if (nd + 1 > MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "an array has at most %d dimensions", MX_MAX_DIM);
  mx_shape o;
  o.ndim = nd + 1;
  for (int k = 0, j = 0; k <= nd; k++) o.d[k] = k == a ? 1 : in[0].d[j++];
  shape_zero_tail(&o);
  out[0] = o;
  return MX_OK;
}

enum { SQ_AXIS, SQ_NPARAMS };
static mx_status shape_squeeze(const mx_param_value *p, int nin, mx_shape *in,
                               int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int nd = in[0].ndim, drop[MX_MAX_DIM] = {0};
  if (p[SQ_AXIS].is_set) {
    for (int i = 0; i < p[SQ_AXIS].n; i++) {
      int a = 0;
      mx_status rc = axis_check("axis", p[SQ_AXIS].tup[i], nd, &a);
      if (rc) return rc;
      if (drop[a]) return mx_error(MX_ERR_ARG, "parameter 'axis' lists axis %d twice", a);
      if (in[0].d[a] != 1) {
        char b[128];
        mx_shape_format(&in[0], b, sizeof b);
        return mx_error(MX_ERR_SHAPE, "parameter 'axis': axis %d of an array of shape %s has extent %lld, not 1",
                        a, b, (long long)in[0].d[a]);
      }
      drop[a] = 1;
    }
  } else {
    for (int k = 0; k < nd; k++) drop[k] = in[0].d[k] == 1;
  }
  mx_shape o;
  o.ndim = 0;
  for (int k = 0; k < nd; k++)
    if (!drop[k]) o.d[o.ndim++] = in[0].d[k];
  if (o.ndim == 0 && nd > 0) {   /* never squeeze down to no dimensions */
    o.ndim = 1;
    o.d[0] = 1;
  }
  shape_zero_tail(&o);
  out[0] = o;
  return MX_OK;
}

/* ---------------------------------------------------- transpose, swap */

/* Output axis k is input axis perm[k]. */
static mx_status permute_copy(const mx_ndarray *x, mx_ndarray *y, const int *perm) {
  int nd = x->shape.ndim;
  int64_t istr[MX_MAX_DIM], sh[MX_MAX_DIM], st[MX_MAX_DIM];
  mx_shape_strides(&x->shape, istr);
  for (int k = 0; k < nd; k++) {
    sh[k] = x->shape.d[perm[k]];
    st[k] = istr[perm[k]];
  }
  strided_copy(MX_PTR(y), MX_PTR(x), mx_dtype_size(x->dtype), nd, sh, st, 0);
  return MX_OK;
}

enum { TR_AXES, TR_NPARAMS };
static mx_status transpose_perm(const mx_param_value *p, int nd, int *perm) {
  if (p[TR_AXES].n == 0) {
    for (int k = 0; k < nd; k++) perm[k] = nd - 1 - k;
    return MX_OK;
  }
  if (p[TR_AXES].n != nd)
    return mx_error(MX_ERR_ARG, "parameter 'axes' has %d entries; the array has %d dimension%s",
                    p[TR_AXES].n, nd, nd == 1 ? "" : "s");
  int seen[MX_MAX_DIM] = {0};
  for (int k = 0; k < nd; k++) {
    int a = 0;
    mx_status rc = axis_check("axes", p[TR_AXES].tup[k], nd, &a);
    if (rc) return rc;
    if (seen[a]) return mx_error(MX_ERR_ARG, "parameter 'axes' is not a permutation (axis %d repeats)", a);
    seen[a] = 1;
    perm[k] = a;
  }
  return MX_OK;
}

static mx_status shape_transpose(const mx_param_value *p, int nin, mx_shape *in,
                                 int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int perm[MX_MAX_DIM];
  mx_status rc = transpose_perm(p, in[0].ndim, perm);
  if (rc) return rc;
  mx_shape o = in[0];
  for (int k = 0; k < o.ndim; k++) o.d[k] = in[0].d[perm[k]];
  out[0] = o;
  return MX_OK;
}

static mx_status k_transpose(KARGS) {
  UNUSED_KARGS;
  int perm[MX_MAX_DIM];
  mx_status rc = transpose_perm(p, in[0]->shape.ndim, perm);
  if (rc) return rc;
  return permute_copy(in[0], out[0], perm);
}

enum { SW_DIM1, SW_DIM2, SW_NPARAMS };
static mx_status swap_perm(const mx_param_value *p, int nd, int *perm) {
  int a = 0, b = 0;
  mx_status rc = axis_check("dim1", p[SW_DIM1].i, nd, &a);
  if (rc) return rc;
  rc = axis_check("dim2", p[SW_DIM2].i, nd, &b);
  if (rc) return rc;
  for (int k = 0; k < nd; k++) perm[k] = k;
  perm[a] = b;
  perm[b] = a;
  return MX_OK;
}

static mx_status shape_swapaxis(const mx_param_value *p, int nin, mx_shape *in,
                                int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int perm[MX_MAX_DIM];
  mx_status rc = swap_perm(p, in[0].ndim, perm);
  if (rc) return rc;
  mx_shape o = in[0];
  for (int k = 0; k < o.ndim; k++) o.d[k] = in[0].d[perm[k]];
  out[0] = o;
  return MX_OK;
}

static mx_status k_swapaxis(KARGS) {
  UNUSED_KARGS;
  int perm[MX_MAX_DIM];
  mx_status rc = swap_perm(p, in[0]->shape.ndim, perm);
  if (rc) return rc;
  return permute_copy(in[0], out[0], perm);
}

/* -------------------------------------------------------------- concat */

enum { CC_NUM, CC_DIM, CC_NPARAMS };

static mx_status shape_concat(const mx_param_value *p, int nin, mx_shape *in,
                              int nout, mx_shape *out) {
  (void)nout;
  if (nin < 1) return mx_error(MX_ERR_ARG, "parameter 'num_args' must be at least 1");
  for (int k = 0; k < nin; k++)
    if (in[k].ndim < 0) return MX_OK;
  int nd = in[0].ndim, ax = 0;
  if (nd < 1) return mx_error(MX_ERR_SHAPE, "cannot concatenate arrays with no dimensions");
  mx_status rc = axis_check("dim", p[CC_DIM].i, nd, &ax);
  if (rc) return rc;
  mx_shape o = in[0];
  for (int k = 1; k < nin; k++) {
    int ok = in[k].ndim == nd;
    for (int j = 0; ok && j < nd; j++)
      if (j != ax && in[k].d[j] != in[0].d[j]) ok = 0;
    if (!ok) {
      char b1[128], b2[128];
      mx_shape_format(&in[0], b1, sizeof b1);
      mx_shape_format(&in[k], b2, sizeof b2);
      return mx_error(MX_ERR_SHAPE, "input 1 has shape %s and input %d shape %s: they must agree except along 'dim' (axis %d)",
                      b1, k + 1, b2, ax);
    }
    o.d[ax] += in[k].d[ax];
  }
  out[0] = o;
  return MX_OK;
}

static mx_status k_concat(KARGS) {
  UNUSED_KARGS;
  int ax = 0;
  mx_status rc = axis_check("dim", p[CC_DIM].i, out[0]->shape.ndim, &ax);
  if (rc) return rc;
  size_t es = mx_dtype_size(out[0]->dtype);
  int64_t outer = 1;
  for (int k = 0; k < ax; k++) outer *= out[0]->shape.d[k];
  int64_t inner[MX_MAX_INPUTS], row = 0;
  for (int k = 0; k < nin; k++) {
    inner[k] = 1;
    for (int j = ax; j < in[k]->shape.ndim; j++) inner[k] *= in[k]->shape.d[j];
    row += inner[k];
  }
  if (outer == 0 || row == 0) return MX_OK;
  char *d = (char *)MX_PTR(out[0]);
  int nt = mx_par_threads(outer * row);
  if (nt > outer) nt = (int)outer;
  MX_OMP_FOR(nt)
  for (int64_t o = 0; o < outer; o++) {
    char *dst = d + (size_t)(o * row) * es;
    for (int k = 0; k < nin; k++) {
      if (inner[k] == 0) continue;
      memcpy(dst, (const char *)MX_PTR(in[k]) + (size_t)(o * inner[k]) * es, (size_t)inner[k] * es);
      dst += (size_t)inner[k] * es;
    }
  }
  return MX_OK;
}

/* --------------------------------------------------------------- stack */

enum { SK_AXIS, SK_NUM, SK_NPARAMS };

static mx_status shape_stack(const mx_param_value *p, int nin, mx_shape *in,
                             int nout, mx_shape *out) {
  (void)nout;
  if (nin < 1) return mx_error(MX_ERR_ARG, "parameter 'num_args' must be at least 1");
  for (int k = 0; k < nin; k++)
    if (in[k].ndim < 0) return MX_OK;
  for (int k = 1; k < nin; k++)
    if (!mx_shape_equal(&in[k], &in[0])) {
      char b1[128], b2[128];
      mx_shape_format(&in[0], b1, sizeof b1);
      mx_shape_format(&in[k], b2, sizeof b2);
      return mx_error(MX_ERR_SHAPE, "input 1 has shape %s and input %d shape %s: stack needs equal shapes",
                      b1, k + 1, b2);
    }
  int nd = in[0].ndim, ax = 0;
  mx_status rc = axis_check("axis", p[SK_AXIS].i, nd + 1, &ax);
  if (rc) return rc;
  if (nd + 1 > MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "an array has at most %d dimensions", MX_MAX_DIM);
  mx_shape o;
  o.ndim = nd + 1;
  for (int k = 0, j = 0; k <= nd; k++) o.d[k] = k == ax ? nin : in[0].d[j++];
  shape_zero_tail(&o);
  out[0] = o;
  return MX_OK;
}

static mx_status k_stack(KARGS) {
  UNUSED_KARGS;
  int ax = 0;
  mx_status rc = axis_check("axis", p[SK_AXIS].i, out[0]->shape.ndim, &ax);
  if (rc) return rc;
  size_t es = mx_dtype_size(out[0]->dtype);
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < ax; k++) outer *= in[0]->shape.d[k];
  for (int k = ax; k < in[0]->shape.ndim; k++) inner *= in[0]->shape.d[k];
  if (outer == 0 || inner == 0) return MX_OK;
  char *d = (char *)MX_PTR(out[0]);
  int nt = mx_par_threads(outer * inner * nin);
  if (nt > outer) nt = (int)outer;
  MX_OMP_FOR(nt)
  for (int64_t o = 0; o < outer; o++)
    for (int k = 0; k < nin; k++)
      memcpy(d + (size_t)((o * nin + k) * inner) * es,
             (const char *)MX_PTR(in[k]) + (size_t)(o * inner) * es, (size_t)inner * es);
  return MX_OK;
}

/* --------------------------------------------------------------- slice */

enum { SL_BEGIN, SL_END, SL_STEP, SL_NPARAMS };

/* Python slicing per axis: start b, step s, count n. */
static mx_status slice_plan(const mx_param_value *p, const mx_shape *is,
                            int64_t *b, int64_t *s, int64_t *n) {
  const mx_param_value *pb = &p[SL_BEGIN], *pe = &p[SL_END], *ps = &p[SL_STEP];
  int nd = is->ndim;
  if (pb->n != pe->n)
    return mx_error(MX_ERR_ARG, "parameters 'begin' and 'end' have different lengths (%d and %d)", pb->n, pe->n);
  if (pb->n > nd)
    return mx_error(MX_ERR_ARG, "parameter 'begin' has %d entries; the array has %d dimension%s",
                    pb->n, nd, nd == 1 ? "" : "s");
  if (ps->n != 0 && ps->n != pb->n)
    return mx_error(MX_ERR_ARG, "parameter 'step' has %d entries; 'begin' has %d", ps->n, pb->n);
  for (int k = 0; k < nd; k++) {
    int64_t len = is->d[k];
    if (k >= pb->n) {
      b[k] = 0;
      s[k] = 1;
      n[k] = len;
      continue;
    }
    int64_t st = (ps->n && ps->tup[k] != MX_TUPLE_NONE) ? ps->tup[k] : 1;
    if (st == 0) return mx_error(MX_ERR_ARG, "parameter 'step' must not contain 0");
    int64_t bv = pb->tup[k], ev = pe->tup[k], bb, ee, cnt;
    if (st > 0) {
      bb = bv == MX_TUPLE_NONE ? 0 : (bv < 0 ? bv + len : bv);
      ee = ev == MX_TUPLE_NONE ? len : (ev < 0 ? ev + len : ev);
      bb = bb < 0 ? 0 : bb > len ? len : bb;
      ee = ee < 0 ? 0 : ee > len ? len : ee;
      cnt = ee > bb ? (ee - bb - 1) / st + 1 : 0;
    } else {
      bb = bv == MX_TUPLE_NONE ? len - 1 : (bv < 0 ? bv + len : bv);
      ee = ev == MX_TUPLE_NONE ? -1 : (ev < 0 ? ev + len : ev);
      bb = bb < -1 ? -1 : bb > len - 1 ? len - 1 : bb;
      ee = ee < -1 ? -1 : ee > len - 1 ? len - 1 : ee;
      cnt = bb > ee ? (bb - ee - 1) / (-st) + 1 : 0;
    }
    b[k] = cnt > 0 ? bb : 0;
    s[k] = st;
    n[k] = cnt;
  }
  return MX_OK;
}

static mx_status shape_slice(const mx_param_value *p, int nin, mx_shape *in,
                             int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int64_t b[MX_MAX_DIM], s[MX_MAX_DIM], n[MX_MAX_DIM];
  mx_status rc = slice_plan(p, &in[0], b, s, n);
  if (rc) return rc;
  mx_shape o = in[0];
  for (int k = 0; k < o.ndim; k++) o.d[k] = n[k];
  out[0] = o;
  return MX_OK;
}

static mx_status k_slice(KARGS) {
  UNUSED_KARGS;
  int64_t b[MX_MAX_DIM], s[MX_MAX_DIM], n[MX_MAX_DIM], istr[MX_MAX_DIM], st[MX_MAX_DIM];
  mx_status rc = slice_plan(p, &in[0]->shape, b, s, n);
  if (rc) return rc;
  int nd = in[0]->shape.ndim;
  mx_shape_strides(&in[0]->shape, istr);
  int64_t off = 0;
  for (int k = 0; k < nd; k++) {
    off += b[k] * istr[k];
    st[k] = s[k] * istr[k];
  }
  strided_copy(MX_PTR(out[0]), MX_PTR(in[0]), mx_dtype_size(in[0]->dtype), nd, n, st, off);
  return MX_OK;
}

/* ---------------------------------------------------------- slice_axis */

enum { SA_AXIS, SA_BEGIN, SA_END, SA_NPARAMS };

static mx_status slice_axis_plan(const mx_param_value *p, const mx_shape *is,
                                 int *ax, int64_t *b, int64_t *e) {
  mx_status rc = axis_check("axis", p[SA_AXIS].i, is->ndim, ax);
  if (rc) return rc;
  int64_t len = is->d[*ax];
  int64_t bb = p[SA_BEGIN].i, ee = p[SA_END].is_set ? p[SA_END].i : len;
  if (bb < 0) bb += len;
  if (p[SA_END].is_set && ee < 0) ee += len;
  if (len == 0) {
    *b = *e = 0;
    return MX_OK;
  }
  if (bb < 0 || bb >= len)
    return mx_error(MX_ERR_ARG, "parameter 'begin' = %lld is out of range for an axis of length %lld",
                    (long long)p[SA_BEGIN].i, (long long)len);
  if (ee > len || ee < 0)
    return mx_error(MX_ERR_ARG, "parameter 'end' = %lld is out of range for an axis of length %lld",
                    (long long)p[SA_END].i, (long long)len);
  if (ee <= bb)
    return mx_error(MX_ERR_ARG, "parameter 'end' (%lld) must come after 'begin' (%lld)",
                    (long long)p[SA_END].i, (long long)p[SA_BEGIN].i);
  *b = bb;
  *e = ee;
  return MX_OK;
}

static mx_status shape_slice_axis(const mx_param_value *p, int nin, mx_shape *in,
                                  int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int ax = 0;
  int64_t b, e;
  mx_status rc = slice_axis_plan(p, &in[0], &ax, &b, &e);
  if (rc) return rc;
  mx_shape o = in[0];
  o.d[ax] = e - b;
  out[0] = o;
  return MX_OK;
}

static mx_status k_slice_axis(KARGS) {
  UNUSED_KARGS;
  int ax = 0;
  int64_t b, e, istr[MX_MAX_DIM];
  mx_status rc = slice_axis_plan(p, &in[0]->shape, &ax, &b, &e);
  if (rc) return rc;
  mx_shape_strides(&in[0]->shape, istr);
  mx_shape o = in[0]->shape;
  o.d[ax] = e - b;
  strided_copy(MX_PTR(out[0]), MX_PTR(in[0]), mx_dtype_size(in[0]->dtype), o.ndim, o.d,
               istr, b * istr[ax]);
  return MX_OK;
}

/* ---------------------------------------------------------------- tile */

/* Input shape and reps padded with leading 1s to the output rank. */
enum { TL_REPS, TL_NPARAMS };
static mx_status tile_plan(const mx_param_value *p, const mx_shape *is, int *nd,
                           int64_t *ish, int64_t *rep) {
  int ni = is->ndim, nr = p[TL_REPS].n, no = ni > nr ? ni : nr;
  if (no > MX_MAX_DIM)
    return mx_error(MX_ERR_ARG, "parameter 'reps' would give more than %d dimensions", MX_MAX_DIM);
  for (int k = 0; k < nr; k++)
    if (p[TL_REPS].tup[k] < 0)
      return mx_error(MX_ERR_ARG, "parameter 'reps' must not contain negative values");
  for (int k = 0; k < no; k++) {
    int ki = k - (no - ni), kr = k - (no - nr);
    ish[k] = ki >= 0 ? is->d[ki] : 1;
    rep[k] = kr >= 0 ? p[TL_REPS].tup[kr] : 1;
  }
  *nd = no;
  return MX_OK;
}

static mx_status shape_tile(const mx_param_value *p, int nin, mx_shape *in,
                            int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int nd;
  int64_t ish[MX_MAX_DIM], rep[MX_MAX_DIM];
  mx_status rc = tile_plan(p, &in[0], &nd, ish, rep);
  if (rc) return rc;
  mx_shape o;
  o.ndim = nd;
  for (int k = 0; k < nd; k++) o.d[k] = ish[k] * rep[k];
  shape_zero_tail(&o);
  out[0] = o;
  return MX_OK;
}

static mx_status k_tile(KARGS) {
  UNUSED_KARGS;
  int nd;
  int64_t ish[MX_MAX_DIM], rep[MX_MAX_DIM], sh[SC_MAXD], st[SC_MAXD], istr[MX_MAX_DIM];
  mx_status rc = tile_plan(p, &in[0]->shape, &nd, ish, rep);
  if (rc) return rc;
  mx_shape ps;
  ps.ndim = nd;
  for (int k = 0; k < nd; k++) ps.d[k] = ish[k];
  mx_shape_strides(&ps, istr);
  for (int k = 0; k < nd; k++) {   /* output axis k = (repeat, element) */
    sh[2 * k] = rep[k];
    st[2 * k] = 0;
    sh[2 * k + 1] = ish[k];
    st[2 * k + 1] = istr[k];
  }
  strided_copy(MX_PTR(out[0]), MX_PTR(in[0]), mx_dtype_size(in[0]->dtype), 2 * nd, sh, st, 0);
  return MX_OK;
}

/* -------------------------------------------------------------- repeat */

enum { RP_REPEATS, RP_AXIS, RP_NPARAMS };

static mx_status shape_repeat(const mx_param_value *p, int nin, mx_shape *in,
                              int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int64_t r = p[RP_REPEATS].i;
  if (r < 0) return mx_error(MX_ERR_ARG, "parameter 'repeats' must not be negative");
  mx_shape o;
  if (!p[RP_AXIS].is_set) {
    o.ndim = 1;
    o.d[0] = mx_shape_size(&in[0]) * r;
  } else {
    int ax = 0;
    mx_status rc = axis_check("axis", p[RP_AXIS].i, in[0].ndim, &ax);
    if (rc) return rc;
    o = in[0];
    o.d[ax] *= r;
  }
  shape_zero_tail(&o);
  out[0] = o;
  return MX_OK;
}

static mx_status k_repeat(KARGS) {
  UNUSED_KARGS;
  int64_t r = p[RP_REPEATS].i, sh[SC_MAXD], st[SC_MAXD], istr[MX_MAX_DIM];
  int n = 0;
  if (!p[RP_AXIS].is_set) {
    sh[0] = mx_ndarray_size(in[0]);
    st[0] = 1;
    sh[1] = r;
    st[1] = 0;
    n = 2;
  } else {
    int ax = 0;
    mx_status rc = axis_check("axis", p[RP_AXIS].i, in[0]->shape.ndim, &ax);
    if (rc) return rc;
    mx_shape_strides(&in[0]->shape, istr);
    for (int k = 0; k < in[0]->shape.ndim; k++) {
      sh[n] = in[0]->shape.d[k];
      st[n++] = istr[k];
      if (k == ax) {
        sh[n] = r;
        st[n++] = 0;
      }
    }
  }
  strided_copy(MX_PTR(out[0]), MX_PTR(in[0]), mx_dtype_size(in[0]->dtype), n, sh, st, 0);
  return MX_OK;
}

/* ------------------------------------------------------------- reverse */

enum { RV_AXIS, RV_NPARAMS };
static mx_status reverse_axes(const mx_param_value *p, int nd, int *flip) {
  for (int k = 0; k < nd; k++) flip[k] = 0;
  for (int i = 0; i < p[RV_AXIS].n; i++) {
    int a = 0;
    mx_status rc = axis_check("axis", p[RV_AXIS].tup[i], nd, &a);
    if (rc) return rc;
    if (flip[a]) return mx_error(MX_ERR_ARG, "parameter 'axis' lists axis %d twice", a);
    flip[a] = 1;
  }
  return MX_OK;
}

static mx_status shape_reverse(const mx_param_value *p, int nin, mx_shape *in,
                               int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int flip[MX_MAX_DIM];
  mx_status rc = reverse_axes(p, in[0].ndim, flip);
  if (rc) return rc;
  out[0] = in[0];
  return MX_OK;
}

static mx_status k_reverse(KARGS) {
  UNUSED_KARGS;
  int nd = in[0]->shape.ndim, flip[MX_MAX_DIM];
  mx_status rc = reverse_axes(p, nd, flip);
  if (rc) return rc;
  int64_t istr[MX_MAX_DIM], st[MX_MAX_DIM], off = 0;
  mx_shape_strides(&in[0]->shape, istr);
  for (int k = 0; k < nd; k++) {
    st[k] = flip[k] ? -istr[k] : istr[k];
    if (flip[k] && in[0]->shape.d[k] > 0) off += (in[0]->shape.d[k] - 1) * istr[k];
  }
  strided_copy(MX_PTR(out[0]), MX_PTR(in[0]), mx_dtype_size(in[0]->dtype), nd,
               in[0]->shape.d, st, off);
  return MX_OK;
}

/* ------------------------------------------------------------ gradients */

/* Backward kernels: each moves the output gradient back to where the
 * forward took its elements from, reading nothing but the output gradient
 * (Concat also reads its inputs, for their extents along dim: an input
 * whose gradient is not requested has no gradient array to tell it).
 * Pure moves take any float dtype (float16 included, like the forwards);
 * tile and repeat add and take float32 or float64.  Integer dtypes are an
 * error. */


static mx_status grad_move_check(int dtype) {
  return mx_dtype_is_float(dtype) ? MX_OK : grad_dtype_error(dtype);
}
static mx_status grad_add_check(int dtype) {
  return (dtype == MX_FLOAT32 || dtype == MX_FLOAT64) ? MX_OK : grad_dtype_error(dtype);
}



/* Reshape, Flatten, expand_dims, squeeze: the same bytes */
static mx_status b_copy(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_status rc = grad_move_check(ig[0]->dtype);
  if (rc) return rc;
  size_t nb = mx_ndarray_nbytes(ig[0]);
  if (nb && MX_PTR(ig[0]) != MX_PTR(og[0])) memmove(MX_PTR(ig[0]), MX_PTR(og[0]), nb);
  return MX_OK;
}

/* transpose: the inverse permutation; SwapAxis is its own inverse */
static mx_status b_transpose(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_status rc = grad_move_check(ig[0]->dtype);
  if (rc) return rc;
  int perm[MX_MAX_DIM], inv[MX_MAX_DIM], nd = ig[0]->shape.ndim;
  rc = transpose_perm(p, nd, perm);
  if (rc) return rc;
  for (int k = 0; k < nd; k++) inv[perm[k]] = k;
  return permute_copy(og[0], ig[0], inv);
}

static mx_status b_swapaxis(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_status rc = grad_move_check(ig[0]->dtype);
  if (rc) return rc;
  int perm[MX_MAX_DIM];
  rc = swap_perm(p, ig[0]->shape.ndim, perm);
  if (rc) return rc;
  return permute_copy(og[0], ig[0], perm);
}

/* Concat: each input's block of every row */
/* Joined along the channels of 4-D arrays, an image's channels are one
 * contiguous run in both layouts when every part fills whole 16-channel
 * blocks (the executor keeps the others plain): the kernels need no change. */
static void lay_concat(const mx_param_value *p, int nin, const mx_shape *in, int nout,
                       const mx_shape *out, unsigned char *mode) {
  int64_t ax = p[CC_DIM].i < 0 ? p[CC_DIM].i + 4 : p[CC_DIM].i;
  (void)in;
  if (out[0].ndim == 4 && ax == 1) memset(mode, MX_LAY_TIED, (size_t)(nin + nout));
}

static mx_status b_concat(BARGS) {
  UNUSED_BARGS;
  const mx_ndarray *G = og[0];
  int ax = 0;
  mx_status rc = axis_check("dim", p[CC_DIM].i, G->shape.ndim, &ax);
  if (rc) return rc;
  size_t es = mx_dtype_size(G->dtype);
  int64_t outer = 1, inner[MX_MAX_INPUTS], start[MX_MAX_INPUTS], row = 0;
  for (int k = 0; k < ax; k++) outer *= G->shape.d[k];
  for (int k = 0; k < nin; k++) {
    const mx_ndarray *a = ig[k] ? ig[k] : in[k];
    if (!a) return mx_error(MX_ERR_INTERNAL, "Concat backward: the shape of input %d is unknown", k + 1);
    if (req[k] == MX_REQ_WRITE) {
      rc = grad_move_check(ig[k]->dtype);
      if (rc) return rc;
    }
    inner[k] = 1;
    for (int j = ax; j < a->shape.ndim; j++) inner[k] *= a->shape.d[j];
    start[k] = row;
    row += inner[k];
  }
  if (outer == 0 || row == 0) return MX_OK;
  const char *g = (const char *)MX_PTR(G);
  int nt = mx_par_threads(outer * row);
  if (nt > outer) nt = (int)outer;
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t o = 0; o < outer; o++)
    for (int k = 0; k < nin; k++) {
      if (req[k] != MX_REQ_WRITE || inner[k] == 0) continue;
      memcpy((char *)MX_PTR(ig[k]) + (size_t)(o * inner[k]) * es,
             g + (size_t)(o * row + start[k]) * es, (size_t)inner[k] * es);
    }
  return MX_OK;
}

/* stack: slice k of the new axis */
static mx_status b_stack(BARGS) {
  UNUSED_BARGS;
  const mx_ndarray *G = og[0];
  int ax = 0;
  mx_status rc = axis_check("axis", p[SK_AXIS].i, G->shape.ndim, &ax);
  if (rc) return rc;
  for (int k = 0; k < nin; k++)
    if (req[k] == MX_REQ_WRITE) {
      rc = grad_move_check(ig[k]->dtype);
      if (rc) return rc;
    }
  size_t es = mx_dtype_size(G->dtype);
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < ax; k++) outer *= G->shape.d[k];
  for (int k = ax + 1; k < G->shape.ndim; k++) inner *= G->shape.d[k];
  if (outer == 0 || inner == 0) return MX_OK;
  const char *g = (const char *)MX_PTR(G);
  int nt = mx_par_threads(outer * inner * nin);
  if (nt > outer) nt = (int)outer;
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t o = 0; o < outer; o++)
    for (int k = 0; k < nin; k++)
      if (req[k] == MX_REQ_WRITE)
        memcpy((char *)MX_PTR(ig[k]) + (size_t)(o * inner) * es,
               g + (size_t)((o * nin + k) * inner) * es, (size_t)inner * es);
  return MX_OK;
}

/* slice: zeros, and the output gradient scattered to the sliced positions */
static mx_status b_slice(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_ndarray *D = ig[0];
  mx_status rc = grad_move_check(D->dtype);
  if (rc) return rc;
  int64_t b[MX_MAX_DIM], s[MX_MAX_DIM], n[MX_MAX_DIM], istr[MX_MAX_DIM], st[MX_MAX_DIM];
  rc = slice_plan(p, &D->shape, b, s, n);
  if (rc) return rc;
  rc = mx_ndarray_fill(D, 0.0);
  if (rc) return rc;
  int nd = D->shape.ndim;
  mx_shape_strides(&D->shape, istr);
  int64_t off = 0;
  for (int k = 0; k < nd; k++) {
    off += b[k] * istr[k];
    st[k] = s[k] * istr[k];
  }
  strided_scatter(MX_PTR(D), MX_PTR(og[0]), mx_dtype_size(D->dtype), nd, n, st, off);
  return MX_OK;
}

static mx_status b_slice_axis(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_ndarray *D = ig[0];
  mx_status rc = grad_move_check(D->dtype);
  if (rc) return rc;
  int ax = 0;
  int64_t b, e, istr[MX_MAX_DIM];
  rc = slice_axis_plan(p, &D->shape, &ax, &b, &e);
  if (rc) return rc;
  rc = mx_ndarray_fill(D, 0.0);
  if (rc) return rc;
  mx_shape_strides(&D->shape, istr);
  mx_shape o = D->shape;
  o.d[ax] = e - b;
  strided_scatter(MX_PTR(D), MX_PTR(og[0]), mx_dtype_size(D->dtype), o.ndim, o.d, istr,
                  b * istr[ax]);
  return MX_OK;
}

/* tile: the sum over all tiles.  Output element (r_k * ish_k + e_k)_k is
 * input element (e_k)_k, so D[e] = sum over tile offsets roff[q] of
 * G[base(e) + roff[q]]; rows of the last axis are contiguous in both. */
#define TILE_GRAD(TT)                                                          \
  do {                                                                         \
    typedef TT T;                                                              \
    const T *g_ = MX_DATA(og[0], T);                                           \
    T *d_ = MX_DATA(D, T);                                                     \
    MX_OMP_FOR(nt)                                                             \
    for (int64_t row = 0; row < rows; row++) {                                 \
      int64_t rem = row, base = 0;                                             \
      for (int k = nd - 2; k >= 0; k--) {                                      \
        base += (rem % ish[k]) * ostr[k];                                      \
        rem /= ish[k];                                                         \
      }                                                                        \
      T *dr = d_ + row * L;                                                    \
      for (int64_t j = 0; j < L; j++) dr[j] = 0;                               \
      for (int64_t q = 0; q < Rt; q++) {                                       \
        const T *sr = g_ + base + roff[q];                                     \
        for (int64_t j = 0; j < L; j++) dr[j] += sr[j];                        \
      }                                                                        \
    }                                                                          \
  } while (0)

static mx_status b_tile(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_ndarray *D = ig[0];
  mx_status rc = grad_add_check(D->dtype);
  if (rc) return rc;
  int nd;
  int64_t ish[MX_MAX_DIM], rep[MX_MAX_DIM], ostr[MX_MAX_DIM];
  rc = tile_plan(p, &D->shape, &nd, ish, rep);
  if (rc) return rc;
  int64_t n = mx_ndarray_size(D), Rt = 1;
  for (int k = 0; k < nd; k++) Rt *= rep[k];
  if (n == 0) return MX_OK;
  if (Rt == 0 || nd == 0) {
    if (Rt == 0) return mx_ndarray_fill(D, 0.0);
    memmove(MX_PTR(D), MX_PTR(og[0]), mx_ndarray_nbytes(D));
    return MX_OK;
  }
  mx_shape os;
  os.ndim = nd;
  for (int k = 0; k < nd; k++) os.d[k] = ish[k] * rep[k];
  mx_shape_strides(&os, ostr);
  int64_t *roff = (int64_t *)mx_malloc((size_t)Rt * sizeof(int64_t));
  if (!roff) return mx_error(MX_ERR_NOMEM, "out of memory (tile gradient)");
  for (int64_t q = 0; q < Rt; q++) {
    int64_t rem = q, o = 0;
    for (int k = nd - 1; k >= 0; k--) {
      o += (rem % rep[k]) * ish[k] * ostr[k];
      rem /= rep[k];
    }
    roff[q] = o;
  }
  int64_t L = ish[nd - 1], rows = n / L;
  int nt = mx_par_threads(n * Rt);
  if (nt > rows) nt = (int)rows;
  (void)nt;
  if (D->dtype == MX_FLOAT32) TILE_GRAD(float);
  else TILE_GRAD(double);
  mx_free(roff);
  return MX_OK;
}

/* repeat: the gradient viewed as (outer, repeats, inner) summed over the
 * middle axis (outer includes the repeated axis itself). */
#define REPEAT_GRAD(TT)                                                        \
  do {                                                                         \
    typedef TT T;                                                              \
    const T *g_ = MX_DATA(og[0], T);                                           \
    T *d_ = MX_DATA(D, T);                                                     \
    MX_OMP_FOR(nt)                                                             \
    for (int64_t o = 0; o < outer; o++) {                                      \
      T *dr = d_ + o * inner;                                                  \
      for (int64_t i = 0; i < inner; i++) dr[i] = 0;                           \
      for (int64_t j = 0; j < r; j++) {                                        \
        const T *sr = g_ + (o * r + j) * inner;                                \
        for (int64_t i = 0; i < inner; i++) dr[i] += sr[i];                    \
      }                                                                        \
    }                                                                          \
  } while (0)

static mx_status b_repeat(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_ndarray *D = ig[0];
  mx_status rc = grad_add_check(D->dtype);
  if (rc) return rc;
  int64_t r = p[RP_REPEATS].i, n = mx_ndarray_size(D), outer = n, inner = 1;
  if (p[RP_AXIS].is_set) {
    int ax = 0;
    rc = axis_check("axis", p[RP_AXIS].i, D->shape.ndim, &ax);
    if (rc) return rc;
    outer = 1;
    for (int k = 0; k <= ax; k++) outer *= D->shape.d[k];
    for (int k = ax + 1; k < D->shape.ndim; k++) inner *= D->shape.d[k];
  }
  if (n == 0) return MX_OK;
  int nt = mx_par_threads(n * (r > 0 ? r : 1));
  if (nt > outer) nt = (int)outer;
  (void)nt;
  if (D->dtype == MX_FLOAT32) REPEAT_GRAD(float);
  else REPEAT_GRAD(double);
  return MX_OK;
}

/* reverse: reversed again */
static mx_status b_reverse(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_ndarray *D = ig[0];
  mx_status rc = grad_move_check(D->dtype);
  if (rc) return rc;
  int nd = D->shape.ndim, flip[MX_MAX_DIM];
  rc = reverse_axes(p, nd, flip);
  if (rc) return rc;
  int64_t istr[MX_MAX_DIM], st[MX_MAX_DIM], off = 0;
  mx_shape_strides(&D->shape, istr);
  for (int k = 0; k < nd; k++) {
    st[k] = flip[k] ? -istr[k] : istr[k];
    if (flip[k] && D->shape.d[k] > 0) off += (D->shape.d[k] - 1) * istr[k];
  }
  strided_copy(MX_PTR(D), MX_PTR(og[0]), mx_dtype_size(D->dtype), nd, D->shape.d, st, off);
  return MX_OK;
}

/* Concat: the inputs too (their shapes only) */
static void deps_concat(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                        unsigned char *no, unsigned char *ng) {
  mx_deps_out_grads(p, nin, nout, ni, no, ng);
  for (int j = 0; j < nin; j++) ni[j] = 1;
}

/* ------------------------------------------------------------ registry */

static const char *const in_data[] = {"data", NULL};

static const mx_param_desc p_reshape[RS_NPARAMS] = {
  [RS_SHAPE] = {"shape", MX_PARAM_SHAPE, 0, "()", NULL,
   "The new shape. Special values (applied in engine order, i.e. to the R dimensions from the last): 0 copies the input dimension, -1 infers it (at most once), -2 copies all remaining dimensions, -3 merges the next two input dimensions, -4 splits one input dimension into the two values that follow (one may be -1)."},
  [RS_REVERSE] = {"reverse", MX_PARAM_BOOL, 0, "False", NULL,
   "Apply the special values from right to left (engine order)."},
  [RS_TARGET_SHAPE] = {"target_shape", MX_PARAM_SHAPE, 0, "()", NULL,
   "Deprecated (use shape): the new shape, where one 0 is inferred from the other sizes."},
  [RS_KEEP_HIGHEST] = {"keep_highest", MX_PARAM_BOOL, 0, "False", NULL,
   "Deprecated (with target_shape): keep the input's last R dimension (first engine axis)."},
};
static const mx_param_desc p_expand_dims[ED_NPARAMS] = {
  [ED_AXIS] = {"axis", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL,
   "Engine axis at which the new axis of extent 1 appears (-ndim-1 to ndim)."},
};
static const mx_param_desc p_squeeze[SQ_NPARAMS] = {
  [SQ_AXIS] = {"axis", MX_PARAM_SHAPE, MX_PF_OPTIONAL, NULL, NULL,
   "Engine axes to remove (each of extent 1); default: every axis of extent 1."},
};
static const mx_param_desc p_transpose[TR_NPARAMS] = {
  [TR_AXES] = {"axes", MX_PARAM_SHAPE, 0, "()", NULL,
   "Permutation of the engine axes (output axis k is input axis axes[k]); empty reverses all axes."},
};
static const mx_param_desc p_swapaxis[SW_NPARAMS] = {
  [SW_DIM1] = {"dim1", MX_PARAM_INT, 0, "0", NULL, "First engine axis."},
  [SW_DIM2] = {"dim2", MX_PARAM_INT, 0, "0", NULL, "Second engine axis."},
};
static const mx_param_desc p_concat[CC_NPARAMS] = {
  [CC_NUM] = {"num_args", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL,
   "Number of inputs (filled in from the arrays given)."},
  [CC_DIM] = {"dim", MX_PARAM_INT, 0, "1", NULL, "Engine axis along which to concatenate."},
};
static const mx_param_desc p_stack[SK_NPARAMS] = {
  [SK_AXIS] = {"axis", MX_PARAM_INT, 0, "0", NULL,
   "Engine axis of the result along which the inputs are stacked."},
  [SK_NUM] = {"num_args", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL,
   "Number of inputs (filled in from the arrays given)."},
};
static const mx_param_desc p_slice[SL_NPARAMS] = {
  [SL_BEGIN] = {"begin", MX_PARAM_SHAPE, MX_PF_REQUIRED | MX_PF_TUPLE_NONE, NULL, NULL,
   "First index per axis (0-based, negative counts from the end, NA = None = from the start)."},
  [SL_END] = {"end", MX_PARAM_SHAPE, MX_PF_REQUIRED | MX_PF_TUPLE_NONE, NULL, NULL,
   "End index per axis (exclusive, negative counts from the end, NA = None = to the end)."},
  [SL_STEP] = {"step", MX_PARAM_SHAPE, MX_PF_TUPLE_NONE, "()", NULL,
   "Step per axis (negative walks backwards; default 1)."},
};
static const mx_param_desc p_slice_axis[SA_NPARAMS] = {
  [SA_AXIS] = {"axis", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Engine axis to slice."},
  [SA_BEGIN] = {"begin", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL,
   "First index (0-based; negative counts from the end)."},
  [SA_END] = {"end", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL,
   "End index (exclusive; negative counts from the end; None: to the end)."},
};
static const mx_param_desc p_tile[TL_NPARAMS] = {
  [TL_REPS] = {"reps", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL,
   "Repetitions per axis, aligned at the last engine axis (the first R dimension), as numpy's tile."},
};
static const mx_param_desc p_repeat[RP_NPARAMS] = {
  [RP_REPEATS] = {"repeats", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "How many times each element is repeated."},
  [RP_AXIS] = {"axis", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL,
   "Engine axis along which to repeat; None: the flattened array."},
};
static const mx_param_desc p_reverse[RV_NPARAMS] = {
  [RV_AXIS] = {"axis", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL, "Engine axes to reverse."},
};

#define OPF_MOVE MX_OPF_F16
/* the views (a byte copy when not a view, the gradient a byte copy too)
 * take bfloat16 as well: no float32 round trip in a bfloat16 network */
#define OPF_VIEW (MX_OPF_F16 | MX_OPF_BF16)

const mx_op mx_ops_shape[] = {
  {.name = "Reshape", .aliases = {"reshape"},
   .doc = "Reshape an array without copying. The result shares the input's memory. The shape is given in R order; its special values act in engine order.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_reshape,
   .num_params = MX_NPARAMS(p_reshape), .infer_shape = shape_reshape, .cpu = k_copy,
   .view = view_reshape, .backward = b_copy, .flags = OPF_VIEW, .backward_deps = mx_deps_out_grads},
  {.name = "Flatten", .aliases = {"flatten"},
   .doc = "Flatten all axes but the last R dimension into one. The engine shape (d0, d1, ..., dn) becomes (d0, d1*...*dn): R dims c(a, b, n) become c(a*b, n). No copy.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .infer_shape = shape_flatten,
   .cpu = k_copy, .view = view_reshape, .backward = b_copy, .flags = OPF_VIEW,
   .backward_deps = mx_deps_out_grads},
  {.name = "expand_dims", .doc = "Insert an axis of extent 1 (no copy).", .num_inputs = 1,
   .input_names = in_data, .num_outputs = 1, .params = p_expand_dims,
   .num_params = MX_NPARAMS(p_expand_dims), .infer_shape = shape_expand_dims, .cpu = k_copy,
   .view = view_reshape, .backward = b_copy, .flags = OPF_VIEW, .backward_deps = mx_deps_out_grads},
  {.name = "squeeze",
   .doc = "Remove axes of extent 1 (no copy). A result that would have no dimensions keeps one of extent 1.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_squeeze,
   .num_params = MX_NPARAMS(p_squeeze), .infer_shape = shape_squeeze, .cpu = k_copy,
   .view = view_reshape, .backward = b_copy, .flags = OPF_VIEW, .backward_deps = mx_deps_out_grads},
  {.name = "transpose",
   .doc = "Permute the axes of an array. Without axes all axes are reversed (for a matrix, R's t()).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_transpose,
   .num_params = MX_NPARAMS(p_transpose), .infer_shape = shape_transpose, .cpu = k_transpose,
   .backward = b_transpose, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "SwapAxis", .aliases = {"swapaxes"}, .doc = "Interchange two axes.", .num_inputs = 1,
   .input_names = in_data, .num_outputs = 1, .params = p_swapaxis,
   .num_params = MX_NPARAMS(p_swapaxis), .infer_shape = shape_swapaxis, .cpu = k_swapaxis,
   .backward = b_swapaxis, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "Concat", .aliases = {"concat"},
   .doc = "Join arrays along an axis. All inputs have one dtype and the same shape except along dim (an engine axis: the default 1 is the second-to-last R dimension).",
   .num_inputs = -1, .input_names = in_data, .num_outputs = 1, .params = p_concat,
   .num_params = MX_NPARAMS(p_concat), .infer_shape = shape_concat, .cpu = k_concat,
   .backward = b_concat, .flags = OPF_MOVE | MX_OPF_NO_MIRROR, .backward_deps = deps_concat,
   .layouts = lay_concat},
  {.name = "stack", .doc = "Join arrays of one shape along a new axis.", .num_inputs = -1,
   .input_names = in_data, .num_outputs = 1, .params = p_stack, .num_params = MX_NPARAMS(p_stack),
   .infer_shape = shape_stack, .cpu = k_stack, .backward = b_stack, .flags = OPF_MOVE,
   .backward_deps = mx_deps_out_grads},
  {.name = "slice", .aliases = {"crop"},
   .doc = "Slice an array with begin, end and step per axis. As Python's slicing: 0-based, end exclusive, negative values count from the end, out-of-range bounds are clipped. Tuples are given in R order and address the last R dimensions when shorter than the rank; axes not covered are kept whole.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_slice,
   .num_params = MX_NPARAMS(p_slice), .infer_shape = shape_slice, .cpu = k_slice,
   .backward = b_slice, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "slice_axis",
   .doc = "Slice one axis from begin (inclusive) to end (exclusive), 0-based.", .num_inputs = 1,
   .input_names = in_data, .num_outputs = 1, .params = p_slice_axis,
   .num_params = MX_NPARAMS(p_slice_axis), .infer_shape = shape_slice_axis, .cpu = k_slice_axis,
   .backward = b_slice_axis, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "tile", .doc = "Repeat the whole array along each axis, as numpy's tile.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_tile,
   .num_params = MX_NPARAMS(p_tile), .infer_shape = shape_tile, .cpu = k_tile, .backward = b_tile,
   .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "repeat", .doc = "Repeat each element, along an axis or over the flattened array.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_repeat,
   .num_params = MX_NPARAMS(p_repeat), .infer_shape = shape_repeat, .cpu = k_repeat,
   .backward = b_repeat, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = "reverse", .aliases = {"flip"},
   .doc = "Reverse the order of the elements along the given axes.", .num_inputs = 1,
   .input_names = in_data, .num_outputs = 1, .params = p_reverse,
   .num_params = MX_NPARAMS(p_reverse), .infer_shape = shape_reverse, .cpu = k_reverse,
   .backward = b_reverse, .flags = OPF_MOVE, .backward_deps = mx_deps_out_grads},
  {.name = NULL},
};
