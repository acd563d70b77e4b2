/*
 * nn-conv.c -- Convolution, Deconvolution and Pooling (1-D, 2-D and 3-D,
 * channels first: data NCW, NCHW or NCDHW in engine order), forward and
 * backward, with MXNet 1.9.1's parameters and output sizes.
 *
 * Convolution back ends, chosen per operation (forward, data gradient,
 * weight gradient) of each geometry:
 *  - oneDNN's convolution primitives (float32, builds with oneDNN), either
 *    on the layouts the library prefers (blocked; reorders from and to our
 *    plain NCHW / OIHW arrays run around each primitive) or on the plain
 *    layout itself; 3x3 layers of stride 1 with enough channels and
 *    tiles run oneDNN's Winograd F(4x4, 3x3) instead (wino_fits; off with
 *    MXNET_CONV_WINOGRAD=0);
 *  - built-in im2col / col2im (3-D: vol2col, one depth slice of the
 *    volume at a time through the same plane loops) over chunks of
 *    images + mx_gemm, OpenMP-
 *    parallel (each thread takes a share of the images when there are
 *    enough).  The only back end for float64 and without oneDNN; forced by
 *    the internal ops _Convolution_builtin / _Deconvolution_builtin (tests
 *    run both paths) and by MXNET_CONV_IMPL=builtin (read once).
 *  Which one runs is a fixed, shape-based choice (fixed_variant, from
 *  measurements), deterministic like MXNet's CPU convolution; with
 *  cudnn_tune = "limited_workspace" or "fastest" (or, for layers that leave
 *  it unset, MXNET_CUDNN_AUTOTUNE_DEFAULT=1) the candidates are timed on
 *  the first calls instead and the fastest is kept.
 *  The primitives, reorders and their buffers are cached: in the node's
 *  state slot when the caller gives one (executors), else in a few
 *  process-wide caches (imperative calls), keyed by the geometry, the
 *  thread count and the tuning mode.  A configuration oneDNN rejects falls
 *  back to the built-in path.
 *
 * All three operations are written on one "convolution geometry": a
 * Deconvolution is the transpose of a convolution whose input is the
 * deconvolution's output, so its forward pass is that convolution's
 * backward-data pass, its data gradient a convolution forward pass and its
 * weight gradient a convolution weight gradient with the roles of data and
 * output gradient exchanged.  1-D operations are 2-D ones with height 1;
 * 1-D and 2-D ones have depth 1 (oneDNN then gets 4-D descriptors, 3-D
 * operations 5-D ones).
 *
 * Pooling (max, avg, sum, lp with p_value 1, 2 or 3; 1-D to 3-D windows)
 * has its own C kernels (a fast path for the common 2-D 2x2 stride-2
 * window).  Max backward sends the
 * gradient to the first maximum of each window (scan order), found again
 * from the forward input and output, so no index array is stored.
 */
#include "../include/mx-op.h"
#include "../mx-config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#if MX_HAVE_DNNL
#include <dnnl.h>
#endif


/* Largest kernel / stride / dilation / padding accepted (keeps every size
 * computation far from int64 overflow). */
#define MAX_PARAM ((int64_t)1 << 30)

/* ====================================================== parameters */

/* Convolution */
enum { CP_KERNEL, CP_STRIDE, CP_DILATE, CP_PAD, CP_NUM_FILTER, CP_NUM_GROUP, CP_WORKSPACE,
       CP_NO_BIAS, CP_CUDNN_TUNE, CP_CUDNN_OFF, CP_LAYOUT, CP_NPARAMS };
/* Deconvolution */
enum { DP_KERNEL, DP_STRIDE, DP_DILATE, DP_PAD, DP_ADJ, DP_TARGET, DP_NUM_FILTER, DP_NUM_GROUP,
       DP_WORKSPACE, DP_NO_BIAS, DP_CUDNN_TUNE, DP_CUDNN_OFF, DP_LAYOUT, DP_NPARAMS };
/* Pooling */
enum { PP_KERNEL, PP_POOL_TYPE, PP_GLOBAL, PP_CUDNN_OFF, PP_CONVENTION, PP_STRIDE, PP_PAD,
       PP_P_VALUE, PP_COUNT_PAD, PP_LAYOUT, PP_NPARAMS };
enum { POOL_MAX, POOL_AVG, POOL_SUM, POOL_LP };
enum { CONV_VALID, CONV_FULL, CONV_SAME };

static const char *const conv_layouts[] = {"NCW", "NCHW", "NCDHW", "NHWC", "NDHWC"};
static const char *const pool_layouts[] = {"NCW", "NCHW", "NCDHW", "NWC", "NHWC", "NDHWC"};

/* Spatial parameters in (depth, height, width) order; axes a 2-D or 1-D
 * operation lacks have kernel 1, stride 1, dilation 1, padding 0. */
typedef struct spat {
  int nd;                     /* 1, 2 or 3                                 */
  int64_t k[3], s[3], d[3], p[3], adj[3], tgt[3];
  int has_tgt;
} spat;

static const char *const axis_names[3] = {"depth", "height", "width"};

/* Read a SHAPE param with nd entries (empty: every entry def; one entry
 * for a 2-D or 3-D op: used for every axis, a convenience MXNet does not
 * offer) whose entries must be at least lo, into (d, h, w) order. */
static mx_status read_tuple(const mx_param_value *v, const char *name, int nd,
                            int64_t def, int64_t lo, int64_t out[3]) {
  int64_t t[3] = {def, def, def};
  if (v->is_set && v->n > 0) {
    if (v->n != nd && v->n != 1)
      return mx_error(MX_ERR_ARG, "parameter '%s' has %d entr%s but 'kernel' has %d",
                      name, v->n, v->n == 1 ? "y" : "ies", nd);
    for (int k = 0; k < v->n; k++) {
      int64_t x = v->tup[k];
      if (x < lo)
        return mx_error(MX_ERR_ARG, "parameter '%s' must contain %s numbers, got %lld",
                        name, lo > 0 ? "positive" : "non-negative", (long long)x);
      if (x > MAX_PARAM)
        return mx_error(MX_ERR_ARG, "parameter '%s' has an entry that is too large (%lld)",
                        name, (long long)x);
      t[k] = x;
    }
    if (v->n == 1) t[1] = t[2] = t[0];
  }
  for (int a = 0; a < 3; a++) out[a] = lo > 0 ? 1 : 0;
  for (int a = 0; a < nd; a++) out[3 - nd + a] = t[a];
  return MX_OK;
}

static mx_status check_layout(const mx_param_value *v, int nd, const char *const *names,
                              int nnames) {
  static const char *const want[4] = {"", "NCW", "NCHW", "NCDHW"};
  if (!v->is_set) return MX_OK;
  int i = (int)v->i;
  const char *nm = (i >= 0 && i < nnames) ? names[i] : "?";
  if (strcmp(nm, "NCW") != 0 && strcmp(nm, "NCHW") != 0 && strcmp(nm, "NCDHW") != 0)
    return mx_error(MX_ERR_UNSUPPORTED,
                    "parameter 'layout' %s is not supported: only the channels-first "
                    "layouts NCW (1-D), NCHW (2-D) and NCDHW (3-D) are implemented", nm);
  if (strcmp(nm, want[nd]) != 0)
    return mx_error(MX_ERR_ARG, "parameter 'layout' %s does not match a %d-D operation (use %s)",
                    nm, nd, want[nd]);
  return MX_OK;
}

static mx_status kernel_dims(const mx_param_value *kern, const char *what, int *nd) {
  int n = kern->is_set ? kern->n : 0;
  if (n < 1 || n > 3)
    return mx_error(MX_ERR_ARG, "parameter 'kernel' must have 1, 2 or 3 entries (1-D, 2-D or 3-D "
                    "%s), got %d", what, n);
  *nd = n;
  return MX_OK;
}

/* Spatial params of Convolution (deconv = 0) or Deconvolution (1). */
static mx_status conv_spat(const mx_param_value *p, int deconv, spat *sp) {
  int ik = deconv ? DP_KERNEL : CP_KERNEL, is = deconv ? DP_STRIDE : CP_STRIDE;
  int id = deconv ? DP_DILATE : CP_DILATE, ip = deconv ? DP_PAD : CP_PAD;
  int il = deconv ? DP_LAYOUT : CP_LAYOUT;
  const char *what = deconv ? "deconvolution" : "convolution";
  memset(sp, 0, sizeof *sp);
  mx_status rc = kernel_dims(&p[ik], what, &sp->nd);
  if (rc) return rc;
  int nd = sp->nd;
  if ((rc = read_tuple(&p[ik], "kernel", nd, 1, 1, sp->k))) return rc;
  if ((rc = read_tuple(&p[is], "stride", nd, 1, 1, sp->s))) return rc;
  if ((rc = read_tuple(&p[id], "dilate", nd, 1, 1, sp->d))) return rc;
  if ((rc = read_tuple(&p[ip], "pad", nd, 0, 0, sp->p))) return rc;
  if (deconv) {
    if ((rc = read_tuple(&p[DP_ADJ], "adj", nd, 0, 0, sp->adj))) return rc;
    if ((rc = read_tuple(&p[DP_TARGET], "target_shape", nd, 0, 0, sp->tgt))) return rc;
    int npos = 0;
    for (int a = 3 - nd; a < 3; a++) npos += sp->tgt[a] != 0;
    sp->has_tgt = npos > 0;
    if (sp->has_tgt && npos != nd)
      return mx_error(MX_ERR_ARG, "parameter 'target_shape' must be all positive or all zero (unused)");
    for (int a = 0; a < 3 - nd; a++) sp->tgt[a] = 1;
  }
  int inf = deconv ? DP_NUM_FILTER : CP_NUM_FILTER, ing = deconv ? DP_NUM_GROUP : CP_NUM_GROUP;
  if (p[inf].i < 1 || p[inf].i > MAX_PARAM)
    return mx_error(MX_ERR_ARG, "parameter 'num_filter' must be a positive number, got %lld",
                    (long long)p[inf].i);
  if (p[ing].i < 1 || p[ing].i > MAX_PARAM)
    return mx_error(MX_ERR_ARG, "parameter 'num_group' must be a positive number, got %lld",
                    (long long)p[ing].i);
  return check_layout(&p[il], nd, conv_layouts, 5);
}

/* ====================================================== geometry */

/* A convolution: input (N, C, [D,] H, W), weight (F, C/G, [kd,] kh, kw),
 * output (N, F, [Do,] Ho, Wo).  Padding before (pd, ph, pw) and after (pdr,
 * phr, pwr; may be negative: rows the sliding window never reaches).  1-D
 * and 2-D operations have depth 1 (D = Do = kd = sd = dd = 1, pd = pdr = 0);
 * nd says which it is (the layout of the arrays). */
typedef struct cgeom {
  int64_t N, C, H, W, F, Ho, Wo, G;
  int64_t kh, kw, sh, sw, dh, dw, ph, pw, phr, pwr;
  int64_t nd, D, Do, kd, sd, dd, pd, pdr;
} cgeom;

/* Spatial sizes of one image: input, output, kernel. */
static inline int64_t g_isz(const cgeom *g) { return g->D * g->H * g->W; }
static inline int64_t g_osz(const cgeom *g) { return g->Do * g->Ho * g->Wo; }
static inline int64_t g_ksz(const cgeom *g) { return g->kd * g->kh * g->kw; }

/* Fill the spatial fields of g from sp (d, h, w order) and the sizes
 * in[], out[] and the padding before (pb) and after (pa). */
static void geom_set(cgeom *g, const spat *sp, const int64_t in[3], const int64_t out[3],
                     const int64_t pb[3], const int64_t pa[3]) {
  g->nd = sp->nd;
  g->D = in[0]; g->H = in[1]; g->W = in[2];
  g->Do = out[0]; g->Ho = out[1]; g->Wo = out[2];
  g->kd = sp->k[0]; g->kh = sp->k[1]; g->kw = sp->k[2];
  g->sd = sp->s[0]; g->sh = sp->s[1]; g->sw = sp->s[2];
  g->dd = sp->d[0]; g->dh = sp->d[1]; g->dw = sp->d[2];
  g->pd = pb[0]; g->ph = pb[1]; g->pw = pb[2];
  g->pdr = pa[0]; g->phr = pa[1]; g->pwr = pa[2];
}

/* The spatial sizes of data shape ds in (d, h, w) order (1 where absent). */
static void spatial_in(const mx_shape *ds, int nd, int64_t in[3]) {
  for (int a = 0; a < 3; a++) in[a] = 1;
  for (int a = 0; a < nd; a++) in[3 - nd + a] = ds->d[2 + a];
}

static void fmt_shape(const mx_shape *s, char *buf, size_t len) { mx_shape_format(s, buf, len); }

static mx_status check_data_ndim(const mx_shape *d, int nd, const char *what) {
  static const char *const axes[4] = {"", "width", "height, width", "depth, height, width"};
  if (d->ndim == nd + 2) return MX_OK;
  char b[128];
  fmt_shape(d, b, sizeof b);
  return mx_error(MX_ERR_SHAPE, "data must have %d dimensions for a %d-D %s (batch, channel, %s), "
                  "got shape %s", nd + 2, nd, what, axes[nd], b);
}

/* Convolution geometry from its params and data shape. */
static mx_status conv_geom(const mx_param_value *p, const mx_shape *ds, cgeom *g, spat *spo) {
  spat sp;
  mx_status rc = conv_spat(p, 0, &sp);
  if (rc) return rc;
  if ((rc = check_data_ndim(ds, sp.nd, "convolution"))) return rc;
  memset(g, 0, sizeof *g);
  g->N = ds->d[0];
  g->C = ds->d[1];
  g->F = p[CP_NUM_FILTER].i;
  g->G = p[CP_NUM_GROUP].i;
  if (g->C % g->G != 0)
    return mx_error(MX_ERR_SHAPE, "parameter 'num_group' (%lld) must divide the number of input "
                    "channels (%lld)", (long long)g->G, (long long)g->C);
  if (g->F % g->G != 0)
    return mx_error(MX_ERR_ARG, "parameter 'num_filter' (%lld) must be a multiple of 'num_group' (%lld)",
                    (long long)g->F, (long long)g->G);
  int64_t in[3], o[3], pa[3];
  spatial_in(ds, sp.nd, in);
  for (int a = 0; a < 3; a++) {
    int64_t dk = sp.d[a] * (sp.k[a] - 1) + 1, span = in[a] + 2 * sp.p[a];
    if (span < dk)
      return mx_error(MX_ERR_SHAPE, "parameter 'kernel': the %skernel (extent %lld) is larger than the "
                      "padded input (%lld) along the %s axis", sp.d[a] > 1 ? "dilated " : "",
                      (long long)dk, (long long)span, axis_names[a]);
    o[a] = (span - dk) / sp.s[a] + 1;
    pa[a] = (o[a] - 1) * sp.s[a] + dk - in[a] - sp.p[a];
  }
  geom_set(g, &sp, in, o, sp.p, pa);
  if (spo) *spo = sp;
  return MX_OK;
}

/* Multiply-adds per output element of a convolution (mirror's cost). */
static double cost_conv(const mx_param_value *p, int nin, const mx_shape *in) {
  cgeom g;
  if (nin < 1 || conv_geom(p, &in[0], &g, NULL)) return 0;
  return (double)(g.C / g.G) * (double)g_ksz(&g);
}

/* Deconvolution geometry: the convolution whose input is the
 * deconvolution's output (N, num_filter, [Dout,] Hout, Wout) and whose
 * output is the deconvolution's data (N, C, [D,] H, W). */
static mx_status deconv_geom(const mx_param_value *p, const mx_shape *ds, cgeom *g, spat *spo) {
  spat sp;
  mx_status rc = conv_spat(p, 1, &sp);
  if (rc) return rc;
  if ((rc = check_data_ndim(ds, sp.nd, "deconvolution"))) return rc;
  memset(g, 0, sizeof *g);
  int64_t Cin = ds->d[1];
  g->N = ds->d[0];
  g->F = Cin;                       /* the convolution's output channels */
  g->C = p[DP_NUM_FILTER].i;        /* the convolution's input channels  */
  g->G = p[DP_NUM_GROUP].i;
  if (Cin % g->G != 0)
    return mx_error(MX_ERR_SHAPE, "parameter 'num_group' (%lld) must divide the number of input "
                    "channels (%lld)", (long long)g->G, (long long)Cin);
  if (g->C % g->G != 0)
    return mx_error(MX_ERR_ARG, "parameter 'num_filter' (%lld) must be a multiple of 'num_group' (%lld)",
                    (long long)g->C, (long long)g->G);
  int64_t in[3], o[3], pad[3], after[3];
  spatial_in(ds, sp.nd, in);
  for (int a = 0; a < 3; a++) {
    int64_t dk = sp.d[a] * (sp.k[a] - 1) + 1, adj;
    if (in[a] < 1)
      return mx_error(MX_ERR_SHAPE, "data must not have an empty spatial axis for a deconvolution");
    if ((double)sp.s[a] * (double)(in[a] - 1) + (double)dk > 4e18)
      return mx_error(MX_ERR_SHAPE, "the deconvolution output would be too large");
    int64_t full = sp.s[a] * (in[a] - 1) + dk;
    if (sp.has_tgt) {
      /* MXNet's InferPad: padding and adj that give exactly target_shape */
      int64_t tot = full - sp.tgt[a];
      if (tot < 0)
        return mx_error(MX_ERR_SHAPE, "parameter 'target_shape' (%lld) is too large: at most %lld "
                        "along the %s axis", (long long)sp.tgt[a], (long long)full, axis_names[a]);
      adj = tot % 2;
      pad[a] = (tot + 1) / 2;
    } else {
      pad[a] = sp.p[a];
      adj = sp.adj[a];
    }
    o[a] = full - 2 * pad[a] + adj;
    after[a] = pad[a] - adj;
    if (o[a] < 1)
      return mx_error(MX_ERR_SHAPE, "parameter 'pad' (%lld) is too large: the deconvolution output "
                      "would be empty along the %s axis", (long long)pad[a], axis_names[a]);
  }
  /* the convolution's input is the deconvolution's output */
  geom_set(g, &sp, o, in, pad, after);
  if (spo) *spo = sp;
  return MX_OK;
}

/* ====================================================== shape / type inference */

/* (a, b, spatial...) with nd spatial axes taken from the last nd of
 * (d, h, w). */
static void make_shape(mx_shape *s, int nd, int64_t a, int64_t b, int64_t d, int64_t h, int64_t w) {
  int64_t sp[3] = {d, h, w};
  memset(s, 0, sizeof *s);
  s->ndim = nd + 2;
  s->d[0] = a;
  s->d[1] = b;
  for (int k = 0; k < nd; k++) s->d[2 + k] = sp[3 - nd + k];
}

/* Fill an unknown input shape, or check a known one. */
static mx_status fill_or_check(mx_shape *s, const mx_shape *want, const char *name) {
  if (s->ndim < 0) {
    *s = *want;
    return MX_OK;
  }
  if (mx_shape_equal(s, want)) return MX_OK;
  char b1[128], b2[128];
  fmt_shape(s, b1, sizeof b1);
  fmt_shape(want, b2, sizeof b2);
  return mx_error(MX_ERR_SHAPE, "%s has shape %s, expected %s", name, b1, b2);
}

static mx_status shape_conv(const mx_param_value *p, int nin, mx_shape *in, int nout,
                            mx_shape *out) {
  (void)nout;
  spat sp;
  mx_status rc = conv_spat(p, 0, &sp);
  if (rc) return rc;
  if (in[0].ndim < 0) return MX_OK;
  cgeom g;
  if ((rc = conv_geom(p, &in[0], &g, &sp))) return rc;
  mx_shape ws, bs;
  make_shape(&ws, sp.nd, g.F, g.C / g.G, g.kd, g.kh, g.kw);
  if ((rc = fill_or_check(&in[1], &ws, "weight"))) return rc;
  if (!p[CP_NO_BIAS].i && nin > 2) {
    memset(&bs, 0, sizeof bs);
    bs.ndim = 1;
    bs.d[0] = g.F;
    if ((rc = fill_or_check(&in[2], &bs, "bias"))) return rc;
  }
  make_shape(&out[0], sp.nd, g.N, g.F, g.Do, g.Ho, g.Wo);
  return MX_OK;
}

static mx_status shape_deconv(const mx_param_value *p, int nin, mx_shape *in, int nout,
                              mx_shape *out) {
  (void)nout;
  spat sp;
  mx_status rc = conv_spat(p, 1, &sp);
  if (rc) return rc;
  if (in[0].ndim < 0) return MX_OK;
  cgeom g;
  if ((rc = deconv_geom(p, &in[0], &g, &sp))) return rc;
  mx_shape ws, bs;
  /* MXNet's deconvolution weight: (in channels, num_filter / num_group, [kd,] kh, kw) */
  make_shape(&ws, sp.nd, g.F, g.C / g.G, g.kd, g.kh, g.kw);
  if ((rc = fill_or_check(&in[1], &ws, "weight"))) return rc;
  if (!p[DP_NO_BIAS].i && nin > 2) {
    memset(&bs, 0, sizeof bs);
    bs.ndim = 1;
    bs.d[0] = g.C;
    if ((rc = fill_or_check(&in[2], &bs, "bias"))) return rc;
  }
  make_shape(&out[0], sp.nd, g.N, g.C, g.D, g.H, g.W);
  return MX_OK;
}

/* One floating-point dtype for all inputs and the output. */
static mx_status type_float(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  mx_status rc = mx_infer_type_same(p, nin, in, nout, out);
  if (rc) return rc;
  for (int k = 0; k < nout; k++)
    if (out[k] >= 0 && !mx_dtype_is_float(out[k]))
      return mx_error(MX_ERR_DTYPE, "needs floating-point data (float32, float64 or float16), got %s",
                      mx_dtype_name(out[k]));
  return MX_OK;
}

static int list_conv(const mx_param_value *p, const char **names, int max) {
  static const char *const all[] = {"data", "weight", "bias"};
  int n = p[CP_NO_BIAS].i ? 2 : 3;
  for (int k = 0; k < n && k < max; k++) names[k] = all[k];
  return n;
}
static int list_deconv(const mx_param_value *p, const char **names, int max) {
  static const char *const all[] = {"data", "weight", "bias"};
  int n = p[DP_NO_BIAS].i ? 2 : 3;
  for (int k = 0; k < n && k < max; k++) names[k] = all[k];
  return n;
}

/* Backward needs data and weight (not the output) and the output gradient. */
static void deps_conv(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                      unsigned char *no, unsigned char *ng) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = j < 2;
  for (int k = 0; k < nout; k++) { no[k] = 0; ng[k] = 1; }
}

/* ====================================================== built-in convolution */

/* Output columns ow in [lo, hi) read input column off + ow * s inside [0, W). */
static void col_range(int64_t W, int64_t Wo, int64_t s, int64_t off, int64_t *lo, int64_t *hi) {
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = (W - 1 - off) < 0 ? 0 : (W - 1 - off) / s + 1;
  if (l > Wo) l = Wo;
  if (h > Wo) h = Wo;
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

/* Short row copies and sums (a conv row is often 8 to 24 elements): blocks
 * of 8 with a fixed-size memcpy (inlined as vector moves) or an unrolled
 * sum, so the per-element loop overhead does not dominate. */
#define DEF_ROW_OPS(S, T)                                                        \
  static inline void rowcpy_##S(T *restrict d, const T *restrict s, int64_t n) { \
    int64_t k = 0;                                                               \
    for (; k + 8 <= n; k += 8) memcpy(d + k, s + k, 8 * sizeof(T));             \
    for (; k < n; k++) d[k] = s[k];                                              \
  }                                                                              \
  static inline void rowadd_##S(T *restrict d, const T *restrict s, int64_t n) { \
    int64_t k = 0;                                                               \
    for (; k + 8 <= n; k += 8) {                                                 \
      d[k] += s[k]; d[k + 1] += s[k + 1]; d[k + 2] += s[k + 2];                  \
      d[k + 3] += s[k + 3]; d[k + 4] += s[k + 4]; d[k + 5] += s[k + 5];          \
      d[k + 6] += s[k + 6]; d[k + 7] += s[k + 7];                                \
    }                                                                            \
    for (; k < n; k++) d[k] += s[k];                                             \
  }

DEF_ROW_OPS(f32, float)
DEF_ROW_OPS(f64, double)

/* Where kernel offset (i, j) reads an input plane (declares the locals):
 * input column off + ow * sw for output column ow, the output columns
 * [lo, hi) whose column is inside the plane, input row ih0 + oh * sh for
 * output row oh, and whether the whole window is inside (no bounds checks
 * needed). */
#define KERNEL_OFFSET(g, i, j, off, lo, hi, ih0, inside)                        \
  int64_t off = (j) * (g)->dw - (g)->pw, lo, hi;                                 \
  col_range((g)->W, (g)->Wo, (g)->sw, off, &lo, &hi);                            \
  int64_t ih0 = (i) * (g)->dh - (g)->ph;                                         \
  const int inside = lo == 0 && hi == (g)->Wo && ih0 >= 0 &&                     \
                     ih0 + ((g)->Ho - 1) * (g)->sh < (g)->H

/* The sizes of a plane loop as locals, and its loops over the kernel
 * offsets (i, j). */
#define FOR_KERNEL_OFFSETS(g, i, j)                                             \
  const int64_t H = (g)->H, W = (g)->W, Ho = (g)->Ho, Wo = (g)->Wo, sw = (g)->sw; \
  const int64_t kh = (g)->kh, kw = (g)->kw, sh = (g)->sh;                       \
  for (int64_t i = 0; i < kh; i++)                                              \
    for (int64_t j = 0; j < kw; j++)

/* The column matrix of images n0 .. n0+nb-1: row (c*kh + i)*kw + j, column
 * b*Ho*Wo + oh*Wo + ow holds x[n0+b, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
 * (0 outside); 3-D: row ((c*kd + a)*kh + i)*kw + j, column
 * ((b*Do + od)*Ho + oh)*Wo + ow, depth od*sd - pd + a*dd.  col2im adds such
 * a matrix back into images (zeroed first).  Both work one input plane
 * (one depth slice) at a time: the kh*kw rows of kernel offset r0 that
 * read plane src, each row L long, starting at dst0.
 * scatter writes a (F x nb*Do*Ho*Wo) product into the NC[D]HW output (plus
 * bias); gather is its inverse. */
#define DEF_CONV_HELPERS(S, T)                                                   \
  static inline void im2col_plane_##S(const cgeom *g, const T *src, T *dst0,     \
                                      int64_t L, int64_t r0) {                   \
    FOR_KERNEL_OFFSETS(g, i, j) {                                                \
        T *dst = dst0 + (r0 + i * kw + j) * L;                                   \
        KERNEL_OFFSET(g, i, j, off, lo, hi, ih0, inside);                        \
        if (inside) {                                                            \
          /* window inside the image: no bounds checks per row */                \
          for (int64_t oh = 0; oh < Ho; oh++) {                                  \
            const T *rs = src + (ih0 + oh * sh) * W + off;                       \
            T *d = dst + oh * Wo;                                                \
            if (sw == 1)                                                         \
              rowcpy_##S(d, rs, Wo);                                             \
            else                                                                 \
              for (int64_t ow = 0; ow < Wo; ow++) d[ow] = rs[ow * sw];           \
          }                                                                      \
          continue;                                                              \
        }                                                                        \
        for (int64_t oh = 0; oh < Ho; oh++) {                                    \
          int64_t ih = ih0 + oh * sh;                                            \
          T *d = dst + oh * Wo;                                                  \
          if (ih < 0 || ih >= H) {                                               \
            for (int64_t ow = 0; ow < Wo; ow++) d[ow] = 0;                       \
            continue;                                                            \
          }                                                                      \
          const T *row = src + ih * W;                                           \
          for (int64_t ow = 0; ow < lo; ow++) d[ow] = 0;                         \
          if (sw == 1) {                                                         \
            rowcpy_##S(d + lo, row + (off + lo), hi - lo);                       \
          } else {                                                               \
            for (int64_t ow = lo; ow < hi; ow++) d[ow] = row[off + ow * sw];     \
          }                                                                      \
          for (int64_t ow = hi; ow < Wo; ow++) d[ow] = 0;                        \
        }                                                                        \
      }                                                                          \
  }                                                                              \
  static void im2col_##S(const cgeom *g, const T *x, int64_t n0, int64_t nb,     \
                         T *col, int nt) {                                       \
    const int64_t C = g->C, HW = g->H * g->W, HoWo = g->Ho * g->Wo;              \
    const int64_t D = g->D, Do = g->Do, kd = g->kd, khw = g->kh * g->kw;         \
    const int64_t L = nb * Do * HoWo;                                            \
    (void)nt;                                                                    \
    if (g->nd < 3) {                                                             \
      /* one task per (image, channel): its plane is read kh*kw times */         \
      MX_OMP_FOR(nt)                                                             \
      for (int64_t t = 0; t < nb * C; t++) {                                     \
        int64_t b = t / C, cc = t % C;                                           \
        im2col_plane_##S(g, x + ((n0 + b) * C + cc) * HW, col + b * HoWo, L, cc * khw); \
      }                                                                          \
      return;                                                                    \
    }                                                                            \
    /* 3-D: one task per (image, channel, depth offset, output depth) */         \
    MX_OMP_FOR(nt)                                                               \
    for (int64_t t = 0; t < nb * C * kd * Do; t++) {                             \
      int64_t od = t % Do, a = (t / Do) % kd, bc = t / (Do * kd);                \
      int64_t b = bc / C, cc = bc % C, id = od * g->sd - g->pd + a * g->dd;      \
      T *dst0 = col + (b * Do + od) * HoWo;                                      \
      int64_t r0 = (cc * kd + a) * khw;                                          \
      if (id >= 0 && id < D)                                                     \
        im2col_plane_##S(g, x + (((n0 + b) * C + cc) * D + id) * HW, dst0, L, r0); \
      else                  /* a depth slice in the padding: zero rows */        \
        for (int64_t r = r0; r < r0 + khw; r++)                                  \
          for (int64_t e = 0; e < HoWo; e++) dst0[r * L + e] = 0;                \
    }                                                                            \
  }                                                                              \
  static inline void col2im_plane_##S(const cgeom *g, const T *src0, T *dst,     \
                                      int64_t L, int64_t r0) {                   \
    FOR_KERNEL_OFFSETS(g, i, j) {                                                \
        const T *src = src0 + (r0 + i * kw + j) * L;                             \
        KERNEL_OFFSET(g, i, j, off, lo, hi, ih0, inside);                        \
        if (inside) {                                                            \
          for (int64_t oh = 0; oh < Ho; oh++) {                                  \
            T *rd = dst + (ih0 + oh * sh) * W + off;                             \
            const T *s = src + oh * Wo;                                          \
            if (sw == 1)                                                         \
              rowadd_##S(rd, s, Wo);                                             \
            else                                                                 \
              for (int64_t ow = 0; ow < Wo; ow++) rd[ow * sw] += s[ow];          \
          }                                                                      \
          continue;                                                              \
        }                                                                        \
        for (int64_t oh = 0; oh < Ho; oh++) {                                    \
          int64_t ih = ih0 + oh * sh;                                            \
          if (ih < 0 || ih >= H) continue;                                       \
          T *row = dst + ih * W;                                                 \
          const T *s = src + oh * Wo;                                            \
          if (sw == 1) {                                                         \
            rowadd_##S(row + (off + lo), s + lo, hi - lo);                       \
          } else {                                                               \
            for (int64_t ow = lo; ow < hi; ow++) row[off + ow * sw] += s[ow];    \
          }                                                                      \
        }                                                                        \
      }                                                                          \
  }                                                                              \
  static void col2im_##S(const cgeom *g, const T *col, int64_t n0, int64_t nb,   \
                         T *dx, int nt) {                                        \
    const int64_t C = g->C, HW = g->H * g->W, HoWo = g->Ho * g->Wo;              \
    const int64_t D = g->D, Do = g->Do, kd = g->kd, khw = g->kh * g->kw;         \
    const int64_t L = nb * Do * HoWo, ntask = nb * C;                            \
    (void)nt;                                                                    \
    /* one task per (image, channel): it owns that volume of dx */               \
    MX_OMP_FOR(nt)                                                               \
    for (int64_t t = 0; t < ntask; t++) {                                        \
      int64_t b = t / C, cc = t % C;                                             \
      T *dst = dx + ((n0 + b) * C + cc) * D * HW;                                \
      for (int64_t e = 0; e < D * HW; e++) dst[e] = 0;                           \
      if (g->nd < 3) {                                                           \
        col2im_plane_##S(g, col + b * HoWo, dst, L, cc * khw);                   \
        continue;                                                                \
      }                                                                          \
      for (int64_t a = 0; a < kd; a++)                                           \
        for (int64_t od = 0; od < Do; od++) {                                    \
          int64_t id = od * g->sd - g->pd + a * g->dd;                           \
          if (id < 0 || id >= D) continue;                                       \
          col2im_plane_##S(g, col + (b * Do + od) * HoWo, dst + id * HW, L,      \
                           (cc * kd + a) * khw);                                 \
        }                                                                        \
    }                                                                            \
  }                                                                              \
  static void scatter_##S(int64_t F, int64_t HoWo, const T *m, const T *bias,    \
                          int64_t n0, int64_t nb, T *y, int nt) {                \
    const int64_t L = nb * HoWo, ntask = nb * F;                                 \
    (void)nt;                                                                    \
    MX_OMP_FOR(nt)                                                               \
    for (int64_t t = 0; t < ntask; t++) {                                        \
      int64_t b = t / F, f = t % F;                                              \
      T *dst = y + ((n0 + b) * F + f) * HoWo;                                    \
      const T *src = m + f * L + b * HoWo;                                       \
      const T bv = bias ? bias[f] : (T)0;                                        \
      for (int64_t s = 0; s < HoWo; s++) dst[s] = src[s] + bv;                   \
    }                                                                            \
  }                                                                              \
  static void gather_##S(int64_t F, int64_t HoWo, const T *y, int64_t n0,        \
                         int64_t nb, T *m, int nt) {                             \
    const int64_t L = nb * HoWo, ntask = nb * F;                                 \
    (void)nt;                                                                    \
    MX_OMP_FOR(nt)                                                               \
    for (int64_t t = 0; t < ntask; t++) {                                        \
      int64_t b = t / F, f = t % F;                                              \
      memcpy(m + f * L + b * HoWo, y + ((n0 + b) * F + f) * HoWo,                \
             (size_t)HoWo * sizeof(T));                                          \
    }                                                                            \
  }                                                                              \
  /* db[f] = sum over images and positions of dy[n, f, .] */                     \
  static void bias_grad_##S(int64_t N, int64_t F, int64_t HW, const T *dy,       \
                            T *db, int nt) {                                     \
    (void)nt;                                                                    \
    MX_OMP_FOR(nt)                                                               \
    for (int64_t f = 0; f < F; f++) {                                            \
      double acc = 0;                                                            \
      for (int64_t n = 0; n < N; n++) {                                          \
        const T *s = dy + (n * F + f) * HW;                                      \
        T part = 0;                                                              \
        for (int64_t e = 0; e < HW; e++) part += s[e];                           \
        acc += (double)part;                                                     \
      }                                                                          \
      db[f] = (T)acc;                                                            \
    }                                                                            \
  }                                                                              \
  /* part[0][i] += part[1][i] + ... */                                          \
  static void sum_parts_##S(int64_t n, void *const *part, int np, int nt) {      \
    T *d = (T *)part[0];                                                         \
    (void)nt;                                                                    \
    MX_OMP_FOR(nt)                                                               \
    for (int64_t i = 0; i < n; i++) {                                            \
      T acc = d[i];                                                              \
      for (int k = 1; k < np; k++) acc += ((const T *)part[k])[i];               \
      d[i] = acc;                                                                \
    }                                                                            \
  }                                                                              \
  static void add_bias_##S(int64_t N, int64_t F, int64_t HW, const T *bias,      \
                           T *y, int nt) {                                       \
    (void)nt;                                                                    \
    MX_OMP_FOR(nt)                                                               \
    for (int64_t t = 0; t < N * F; t++) {                                        \
      const T bv = bias[t % F];                                                  \
      T *d = y + t * HW;                                                         \
      for (int64_t e = 0; e < HW; e++) d[e] += bv;                               \
    }                                                                            \
  }

DEF_CONV_HELPERS(f32, float)
DEF_CONV_HELPERS(f64, double)

#define CALL_T(dt, NAME, ...)                                                    \
  do {                                                                           \
    if ((dt) == MX_FLOAT32) NAME##_f32(__VA_ARGS__);                             \
    else NAME##_f64(__VA_ARGS__);                                                \
  } while (0)

/* Threads for a loop of ntask tasks over nelem elements. */
static int task_threads(const mx_op_ctx *c, int64_t ntask, int64_t nelem) {
  int nt = mx_par_threads(nelem);
  if (nt > c->nthreads) nt = c->nthreads;
  if (ntask < nt) nt = (int)(ntask < 1 ? 1 : ntask);
  return nt < 1 ? 1 : nt;
}

/* Images per chunk: the column matrix and the product of one chunk stay
 * near cap bytes (at least one image).  Measured on LeNet's conv2 (AVX-512,
 * 2 MB L2): 4 MB suits the forward and data-gradient products, 1 MB the
 * weight gradient (whose product is summed over the chunk's columns). */
#define CHUNK_FWD ((double)(4 << 20))
#define CHUNK_BWD_W ((double)(1 << 20))
static int64_t chunk_images(const cgeom *g, size_t es, double cap) {
  double per = ((double)g->C * (double)g_ksz(g) + (double)g->F) *
               (double)g_osz(g) * (double)es;
  int64_t nb = per > 0 ? (int64_t)(cap / per) : g->N;
  if (nb < 1) nb = 1;
  if (nb > g->N) nb = g->N;
  return nb < 1 ? 1 : nb;
}

/* Most threads the weight gradient splits its images over. */
#define MX_MAX_SPLIT 64

/* One chunk's column and product matrices, pieces of the call's scratch. */
typedef struct wspace {
  char *col, *mat;
} wspace;

static size_t ws_col_bytes(const cgeom *g, int64_t nb, size_t es) {
  return mx_scratch_round((size_t)(g->C * g_ksz(g)) * (size_t)(nb * g_osz(g)) * es);
}
static size_t ws_mat_bytes(const cgeom *g, int64_t nb, size_t es) {
  return mx_scratch_round((size_t)g->F * (size_t)(nb * g_osz(g)) * es);
}

static void ws_take(const cgeom *g, int64_t nb, size_t es, mx_scratch *s, wspace *w) {
  w->col = (char *)mx_scratch_take(s, ws_col_bytes(g, nb, es));
  w->mat = (char *)mx_scratch_take(s, ws_mat_bytes(g, nb, es));
}

/* One built-in operation over the images of a convolution. */
typedef struct conv_job {
  const cgeom *g;
  int dt;
  const void *x, *w, *b, *dy;  /* inputs (by operation)                     */
  void *y, *dx;                /* forward output, data gradient            */
  int64_t nb;                  /* images per chunk                         */
} conv_job;

/* Images [n0, n1) in chunks with workspace ws; nt_loops: threads for the
 * loops and products (1 inside a thread's share); acc: the weight gradient
 * (summed over the range, overwritten) for the weight gradient only. */
typedef mx_status (*conv_range_fn)(const mx_op_ctx *c, const conv_job *j, int64_t n0, int64_t n1,
                                   wspace *ws, void *acc, int nt_loops);

static int loop_threads(const mx_op_ctx *c, int nt_loops, int64_t ntask, int64_t nelem) {
  return nt_loops > 1 ? task_threads(c, ntask, nelem) : 1;
}

/* y = conv(x, w) + b (b may be NULL). */
static mx_status fwd_range(const mx_op_ctx *c, const conv_job *j, int64_t n0, int64_t n1,
                           wspace *ws, void *acc, int ntl) {
  const cgeom *g = j->g;
  int dt = j->dt;
  size_t es = mx_dtype_size(dt);
  int64_t HoWo = g_osz(g), Fg = g->F / g->G, Kg = (g->C / g->G) * g_ksz(g);
  mx_status rc = MX_OK;
  (void)acc;
  for (int64_t s = n0; s < n1 && !rc; s += j->nb) {
    if ((rc = mx_abort_check())) break;
    int64_t cur = n1 - s < j->nb ? n1 - s : j->nb, L = cur * HoWo;
    int nt = loop_threads(c, ntl, g->C * cur, g->C * g_ksz(g) * L);
    CALL_T(dt, im2col, g, j->x, s, cur, (void *)ws->col, nt);
    for (int64_t gi = 0; gi < g->G && !rc; gi++) {
      char *m = ws->mat + (size_t)(gi * Fg * L) * es;
      if (Kg == 0) {
        memset(m, 0, (size_t)(Fg * L) * es);
        continue;
      }
      rc = mx_gemm(c, dt, 0, 0, Fg, L, Kg, 1.0, (const char *)j->w + (size_t)(gi * Fg * Kg) * es,
                   Kg, ws->col + (size_t)(gi * Kg * L) * es, L, 0.0, m, L);
    }
    if (rc) break;
    nt = loop_threads(c, ntl, cur * g->F, g->F * L);
    CALL_T(dt, scatter, g->F, HoWo, (const void *)ws->mat, j->b, s, cur, j->y, nt);
  }
  return rc;
}

/* dx = the gradient of conv(x, w) with respect to x, given dy (F > 0). */
static mx_status bwd_data_range(const mx_op_ctx *c, const conv_job *j, int64_t n0, int64_t n1,
                                wspace *ws, void *acc, int ntl) {
  const cgeom *g = j->g;
  int dt = j->dt;
  size_t es = mx_dtype_size(dt);
  int64_t HoWo = g_osz(g), Fg = g->F / g->G, Kg = (g->C / g->G) * g_ksz(g);
  mx_status rc = MX_OK;
  (void)acc;
  for (int64_t s = n0; s < n1 && !rc; s += j->nb) {
    if ((rc = mx_abort_check())) break;
    int64_t cur = n1 - s < j->nb ? n1 - s : j->nb, L = cur * HoWo;
    int nt = loop_threads(c, ntl, cur * g->F, g->F * L);
    CALL_T(dt, gather, g->F, HoWo, j->dy, s, cur, (void *)ws->mat, nt);
    for (int64_t gi = 0; gi < g->G && !rc && Kg > 0; gi++)
      rc = mx_gemm(c, dt, 1, 0, Kg, L, Fg, 1.0, (const char *)j->w + (size_t)(gi * Fg * Kg) * es,
                   Kg, ws->mat + (size_t)(gi * Fg * L) * es, L, 0.0,
                   ws->col + (size_t)(gi * Kg * L) * es, L);
    if (rc) break;
    nt = loop_threads(c, ntl, cur * g->C, cur * g->C * (g_isz(g) + g_ksz(g) * HoWo));
    CALL_T(dt, col2im, g, (const void *)ws->col, s, cur, j->dx, nt);
  }
  return rc;
}

/* acc = the weight gradient of images [n0, n1). */
static mx_status bwd_w_range(const mx_op_ctx *c, const conv_job *j, int64_t n0, int64_t n1,
                             wspace *ws, void *acc, int ntl) {
  const cgeom *g = j->g;
  int dt = j->dt;
  size_t es = mx_dtype_size(dt);
  int64_t HoWo = g_osz(g), Fg = g->F / g->G, Kg = (g->C / g->G) * g_ksz(g);
  mx_status rc = MX_OK;
  for (int64_t s = n0; s < n1 && !rc; s += j->nb) {
    if ((rc = mx_abort_check())) break;
    int64_t cur = n1 - s < j->nb ? n1 - s : j->nb, L = cur * HoWo;
    int nt = loop_threads(c, ntl, g->C * cur, g->C * g_ksz(g) * L);
    CALL_T(dt, im2col, g, j->x, s, cur, (void *)ws->col, nt);
    nt = loop_threads(c, ntl, cur * g->F, g->F * L);
    CALL_T(dt, gather, g->F, HoWo, j->dy, s, cur, (void *)ws->mat, nt);
    for (int64_t gi = 0; gi < g->G && !rc; gi++)
      rc = mx_gemm(c, dt, 0, 1, Fg, Kg, L, 1.0, ws->mat + (size_t)(gi * Fg * L) * es, L,
                   ws->col + (size_t)(gi * Kg * L) * es, L, s == n0 ? 0.0 : 1.0,
                   (char *)acc + (size_t)(gi * Fg * Kg) * es, Kg);
  }
  return rc;
}

/* Threads that each take a share of the chunks (1: one pass with threaded
 * loops and products). */
static int chunk_split(const mx_op_ctx *c, const cgeom *g, int dt, int64_t nb) {
  int64_t nchunk = (g->N + nb - 1) / nb;
  int nt = task_threads(c, nchunk, g->N * g->C * g_ksz(g) * g_osz(g));
  if (nt > MX_MAX_SPLIT) nt = MX_MAX_SPLIT;
  return nt <= 1 || !(MX_HAVE_DNNL || dt == MX_FLOAT64) ? 1 : nt;
}

/* Scratch of run_chunks: a column and product matrix per share, and the
 * shares' partial weight gradients (nacc elements) after the first. */
static size_t chunks_need(const mx_op_ctx *c, const cgeom *g, int dt, int64_t nb, int64_t nacc) {
  size_t es = mx_dtype_size(dt);
  int nt = chunk_split(c, g, dt, nb);
  size_t per = ws_col_bytes(g, nb, es) + ws_mat_bytes(g, nb, es);
  return (size_t)nt * per + (nt > 1 ? (size_t)(nt - 1) * mx_scratch_round((size_t)nacc * es) : 0);
}

/* Run fn over all images.  With several threads and at least one chunk
 * per thread, each thread takes a share of the chunks with its own
 * workspace and single-threaded loops and products (LeNet-sized products
 * scale poorly when threaded one by one); for the weight gradient
 * (acc != NULL, nacc elements) the threads' partial sums are added.  Not
 * with OpenBLAS, whose GEMM is not meant to be called from several threads
 * at once: there the loops and products are threaded instead. */
static mx_status run_chunks(const mx_op_ctx *c, const conv_job *j, conv_range_fn fn, void *acc,
                            int64_t nacc) {
  const cgeom *g = j->g;
  size_t es = mx_dtype_size(j->dt);
  int64_t nchunk = (g->N + j->nb - 1) / j->nb;
  int nt = chunk_split(c, g, j->dt, j->nb);
  mx_scratch sc;
  mx_status rc = mx_scratch_open(c, chunks_need(c, g, j->dt, j->nb, acc ? nacc : 0), &sc);
  if (rc) return rc;
  wspace ws[MX_MAX_SPLIT];
  void *part[MX_MAX_SPLIT];
  for (int t = 0; t < nt; t++) ws_take(g, j->nb, es, &sc, &ws[t]);
  if (nt == 1) {
    rc = fn(c, j, 0, g->N, &ws[0], acc, c->nthreads);
    mx_scratch_close(&sc);
    return rc;
  }
  for (int t = 0; t < nt && acc; t++)
    part[t] = t == 0 ? acc : mx_scratch_take(&sc, (size_t)nacc * es);
  {
    mx_op_ctx c1 = *c;
    c1.nthreads = 1;
    int failed = 0;
    MX_OMP_FOR(nt)
    for (int t = 0; t < nt; t++) {
      int64_t k0 = nchunk * t / nt, k1 = nchunk * (t + 1) / nt;
      int64_t n0 = k0 * j->nb, n1 = k1 * j->nb < g->N ? k1 * j->nb : g->N;
      mx_status r = MX_OK;
      if (n1 > n0) r = fn(&c1, j, n0, n1, &ws[t], acc ? part[t] : NULL, 1);
      else if (acc) memset(part[t], 0, (size_t)nacc * es);
      if (r != MX_OK) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
        failed = 1;
      }
    }
    /* the worker's message lives on its own thread: record one here */
    if (failed && !(rc = mx_abort_check()))
      rc = mx_error(MX_ERR_NOMEM, "convolution: a matrix product failed (out of memory?)");
    if (!rc && acc) {
      int rt = task_threads(c, nacc, nacc * nt);
      CALL_T(j->dt, sum_parts, nacc, part, nt, rt);
    }
  }
  mx_scratch_close(&sc);
  return rc;
}

/* y = act(scale * y + shift) per output channel (float32). */
static void apply_epilogue(const mx_op_ctx *c, const cgeom *g, float *y, const mx_epilogue *ep) {
  int64_t planes = g->N * g->F, HW = g_osz(g);
  int nt = task_threads(c, planes, planes * HW);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t q = 0; q < planes; q++) {
    float a = ep->scale[q % g->F], b = ep->shift[q % g->F], *r = y + q * HW;
    if (ep->relu)
      for (int64_t i = 0; i < HW; i++) { float v = r[i] * a + b; r[i] = v > 0 ? v : 0.0f; }
    else
      for (int64_t i = 0; i < HW; i++) r[i] = r[i] * a + b;
  }
}

/* Convolution's executor values in oneDNN's blocked layout (bit 0 of the
 * mx_op_ctx masks: the data, of the outputs: the output; Deconvolution has
 * no layout hook, its bits are 0), which only oneDNN's primitives read. */
static int64_t conv_blocked(const mx_op_ctx *c) {
  return (int64_t)((c->blocked_in & 1u) | ((c->blocked_out & 1u) << 1));
}

/* The built-in kernels read and write the plain layout only. */
static mx_status builtin_plain(const mx_op_ctx *c) {
  return conv_blocked(c) ? mx_error(MX_ERR_INTERNAL, "convolution on blocked values without a oneDNN primitive")
                         : MX_OK;
}

/* ep: NULL, or the epilogue of a folded inference call (float32). */
static mx_status builtin_fwd(const mx_op_ctx *c, const cgeom *g, int dt, const void *x,
                             const void *w, const void *b, void *y, const mx_epilogue *ep) {
  mx_status plain_rc = builtin_plain(c);
  if (plain_rc) return plain_rc;
  conv_job j = {g, dt, x, w, b, NULL, y, NULL, chunk_images(g, mx_dtype_size(dt), CHUNK_FWD)};
  mx_status rc = run_chunks(c, &j, fwd_range, NULL, 0);
  if (!rc && ep) apply_epilogue(c, g, (float *)y, ep);
  return rc;
}

static mx_status builtin_bwd_data(const mx_op_ctx *c, const cgeom *g, int dt, const void *dy,
                                  const void *w, void *dx) {
  mx_status plain_rc = builtin_plain(c);
  if (plain_rc) return plain_rc;
  if (g->F / g->G == 0) {       /* no output channels: nothing flows back */
    memset(dx, 0, (size_t)(g->N * g->C * g_isz(g)) * mx_dtype_size(dt));
    return MX_OK;
  }
  conv_job j = {g, dt, NULL, w, NULL, dy, NULL, dx, chunk_images(g, mx_dtype_size(dt), CHUNK_FWD)};
  return run_chunks(c, &j, bwd_data_range, NULL, 0);
}

/* dw (may be NULL) and db (may be NULL) from x and dy. */
static mx_status builtin_bwd_weights(const mx_op_ctx *c, const cgeom *g, int dt, const void *x,
                                     const void *dy, void *dw, void *db) {
  mx_status plain_rc = builtin_plain(c);
  if (plain_rc) return plain_rc;
  size_t es = mx_dtype_size(dt);
  int64_t HoWo = g_osz(g);
  if (db) {
    int nt = task_threads(c, g->F, g->N * g->F * HoWo);
    CALL_T(dt, bias_grad, g->N, g->F, HoWo, dy, db, nt);
  }
  if (!dw) return MX_OK;
  int64_t Kg = (g->C / g->G) * g_ksz(g), nw = g->F * Kg;
  if (g->N == 0 || Kg == 0) {
    memset(dw, 0, (size_t)nw * es);
    return MX_OK;
  }
  conv_job j = {g, dt, x, NULL, NULL, dy, NULL, NULL, chunk_images(g, es, CHUNK_BWD_W)};
  return run_chunks(c, &j, bwd_w_range, dw, nw);
}

/* ====================================================== oneDNN convolution */

/* Which implementation runs one operation (forward, backward data,
 * backward weights) of a geometry:
 *   V_ANY      oneDNN with the layouts it prefers (blocked), reorders around
 *   V_PLAIN    oneDNN on our plain NCHW layout (no activation reorders)
 *   V_WINO     oneDNN's Winograd F(4x4, 3x3) with blocked layouts (3x3,
 *              stride 1, no groups or dilation; about 2x fewer multiplies)
 *   V_BUILTIN  im2col / col2im + GEMM
 * Their speed depends on the shape (e.g. blocked layouts pad channels to
 * 16).  Without tuning the choice is fixed_variant's; with tuning a cache
 * times each candidate on its first calls (TUNE_TRIALS each, all of them
 * correct computations) and keeps the fastest (results then depend, in
 * the last bits, on which one won). */
enum { V_ANY, V_PLAIN, V_WINO, V_BUILTIN, NVARIANT };
#define NDNN V_BUILTIN   /* the oneDNN variants */
enum { OP_FWD, OP_BWD_DATA, OP_BWD_W, NOPS };
#define TUNE_TRIALS 2

#if MX_HAVE_DNNL
/* MXNET_CONV_IMPL=builtin (read once) forces the built-in path. */
static int env_builtin(void) {
  static int v = -1;
  if (v < 0) {
    const char *e = getenv("MXNET_CONV_IMPL");
    v = (e && strcmp(e, "builtin") == 0) ? 1 : 0;
  }
  return v;
}

/* MXNET_CONV_WINOGRAD=0 keeps Winograd out (read per call, so that a
 * test can compare both; it is part of the cache key). */
static int env_winograd(void) {
  const char *e = getenv("MXNET_CONV_WINOGRAD");
  return !(e && strcmp(e, "0") == 0);
}

#ifdef _OPENMP
/* MXNET_CUDNN_AUTOTUNE_DEFAULT=1 or 2 (read once): tune layers that leave
 * cudnn_tune unset. */
static int env_autotune_default(void) {
  static int v = -1;
  if (v < 0) {
    const char *e = getenv("MXNET_CUDNN_AUTOTUNE_DEFAULT");
    v = (e && (strcmp(e, "1") == 0 || strcmp(e, "2") == 0)) ? 1 : 0;
  }
  return v;
}
#endif

/* Key of a cached set of primitives. */
typedef struct conv_key {
  cgeom g;
  int64_t fwd_bias, bw_bias, nthreads, tune;
  int64_t epi;   /* forward epilogue: 0 none, 1 scale and shift, 2 and relu */
  int64_t wino;  /* Winograd allowed (MXNET_CONV_WINOGRAD) */
  int64_t blk;   /* executor values in the blocked layout (mx_layout_fn):
                    bit 0 x and dx, bit 1 y and dy; oneDNN only */
} conv_key;

/* One primitive argument in the caller's plain layout, with a reorder to or
 * from the primitive's layout when they differ. */
typedef struct dnn_arg {
  int arg, is_out;
  dnnl_memory_t user, inner;   /* inner: no buffer of its own (workspace) */
  size_t off;                  /* inner's place in the call's workspace   */
  size_t step;                 /* bytes the user buffer advances per chunk
                                * of images (0: the same for every chunk) */
  dnnl_primitive_t reorder;
  dnnl_memory_t scales;        /* the reorder's per-channel output scales
                                * (folded BatchNorm), or NULL             */
} dnn_arg;

/* A primitive's buffers (layout conversions, oneDNN's scratchpad in user
 * mode) are pieces of one workspace of ws_bytes, given per call: the
 * executor's planned workspace, nothing held between calls. */
typedef struct dnn_prim {
  int state;                   /* 0 not built, 1 ready, -1 not available */
  dnnl_primitive_t prim;
  int64_t nchunk;              /* runs over chunks of images (dnn_fwd_chunk) */
  int nargs;
  dnn_arg a[6];
  dnnl_memory_t scratch;       /* oneDNN's scratchpad (NULL: none)       */
  size_t scratch_off, ws_bytes;
} dnn_prim;

/* The output gradient as the data gradient's primitive reordered it into
 * the planned workspace, for the weight gradient of the same call
 * (conv_backward; zeroed per call in conv_run), which reads it in place when its own copy would have
 * the same layout at the same place: one reorder of dy instead of two. */
typedef struct dnn_share {
  const void *user;            /* dy, NULL: nothing recorded */
  const char *at;              /* its copy in the workspace  */
  dnnl_memory_t mem;           /* with this memory's layout  */
} dnn_share;

typedef struct conv_cache {
  conv_key key;
  int valid;
  dnnl_primitive_attr_t attr;  /* user-managed scratchpad                 */
  dnnl_stream_t stream;
  dnnl_primitive_desc_t hint[NDNN];   /* forward descriptors (backward hints), per variant */
  int hint_state[NDNN];
  dnn_prim prim[NOPS][NDNN];          /* per operation and oneDNN variant */
  int choice[NOPS];                /* chosen variant; -1 while tuning */
  int tune_n[NOPS][NVARIANT];      /* timed runs (TUNE_TRIALS: done or unavailable) */
  double tune_t[NOPS][NVARIANT];   /* best time seen */
} conv_cache;

static dnnl_engine_t g_engine = NULL;

static dnnl_engine_t dnn_engine(void) {
  dnnl_engine_t e = NULL;
#ifdef _OPENMP
#pragma omp critical(mx_conv_dnnl_engine)
#endif
  {
    if (!g_engine && dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success) g_engine = NULL;
    e = g_engine;
  }
  return e;
}

static void dnn_prim_free(dnn_prim *P) {
  if (P->prim) dnnl_primitive_destroy(P->prim);
  for (int k = 0; k < P->nargs; k++) {
    dnn_arg *A = &P->a[k];
    if (A->reorder) dnnl_primitive_destroy(A->reorder);
    if (A->inner) dnnl_memory_destroy(A->inner);
    if (A->user) dnnl_memory_destroy(A->user);
    if (A->scales) dnnl_memory_destroy(A->scales);
  }
  if (P->scratch) dnnl_memory_destroy(P->scratch);
  int st = P->state;
  memset(P, 0, sizeof *P);
  P->state = st == 1 ? 0 : st;
}

static void conv_cache_clear(conv_cache *cc) {
  for (int k = 0; k < NOPS; k++)
    for (int l = 0; l < NDNN; l++) dnn_prim_free(&cc->prim[k][l]);
  for (int l = 0; l < NDNN; l++)
    if (cc->hint[l]) dnnl_primitive_desc_destroy(cc->hint[l]);
  if (cc->stream) dnnl_stream_destroy(cc->stream);
  if (cc->attr) dnnl_primitive_attr_destroy(cc->attr);
  memset(cc, 0, sizeof *cc);
}

/* The choice without tuning, from measurements on this kind of machine
 * (AVX-512, 1 and 2 threads; bench/conv-kernels.c and larger layers):
 *  - oneDNN's blocked layouts are 1.4-3x faster than the alternatives for
 *    channel counts that fill its 16-channel blocks (16, 32, 64, 128 ...);
 *  - when padding the channels to 16 wastes much of the work (LeNet's
 *    conv2: 20 -> 50 channels fill 49 %), im2col + GEMM is 1.3-1.6x faster;
 *  - first layers (under 8 input channels) run forward and weight gradient
 *    best with oneDNN's dedicated kernels (the forward on the plain layout
 *    when the output channels fill blocks poorly), but its data gradient
 *    there is up to 10x slower than col2im;
 *  - grouped layers with few channels per group (depthwise) stay with
 *    oneDNN, which has kernels for them;
 *  - 3x3 layers of stride 1 run 1.5-3x faster with Winograd (wino_fits).
 */
static int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

/* Winograd F(4x4, 3x3) where it wins (ResNet-50's and ResNet-20's layers,
 * forward and both gradients, 2 threads): 3x3, stride 1, no dilation or
 * groups, at least 32 channels in and out in whole 16-channel blocks (16
 * channels run 1.4x slower than direct), and at least 64 output tiles of
 * 4x4 in the batch (under that, as 512 channels of 7x7 at batch 8, the
 * weights' transform dominates and it runs 1.1-1.4x slower).  Its scratch
 * (planned workspace) is larger than the direct one's, 7-10 MB at least
 * (docs/memory.md): layers with under 1 MB of input and output, where it
 * would save microseconds, keep the direct convolution. */
#define WINO_MIN_ACT_BYTES ((int64_t)1 << 20)
static int wino_fits(const cgeom *g) {
  int64_t tiles = g->N * ((g->Ho + 3) / 4) * ((g->Wo + 3) / 4);
  int64_t act = g->N * (g->C * g->H * g->W + g->F * g->Ho * g->Wo) * (int64_t)sizeof(float);
  return g->nd == 2 && g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 &&
         g->dw == 1 && g->G == 1 && g->C % 16 == 0 && g->F % 16 == 0 && g->C >= 32 &&
         g->F >= 32 && tiles >= 64 && act >= WINO_MIN_ACT_BYTES;
}

static int fixed_variant_plain(const conv_key *key, int which) {
  const cgeom *g = &key->g;
  if (key->wino && wino_fits(g)) return V_WINO;
  int64_t cg = g->C / g->G, fg = g->F / g->G;
  if (cg < 8) {
    if (g->G > 1) return V_ANY;
    if (which == OP_BWD_DATA) return V_BUILTIN;
    /* forward with output channels that fill blocks poorly (LeNet's conv1:
     * 20 of 32): oneDNN on the plain layout saves the output reorder */
    if (which == OP_FWD && (double)fg / (double)round16(fg) < 0.8) return V_PLAIN;
    return V_ANY;
  }
  double fill = (double)(cg * fg) / ((double)round16(cg) * (double)round16(fg));
  return fill < 0.6 ? V_BUILTIN : V_ANY;
}

/* Blocked values leave the plain-layout variants out. */
static int fixed_variant(const conv_key *key, int which) {
  int v = fixed_variant_plain(key, which);
  return key->blk && (v == V_PLAIN || v == V_BUILTIN) ? V_ANY : v;
}

/* Empty the cache and give it a new key. */
static void conv_cache_reset(conv_cache *cc, const conv_key *key) {
  conv_cache_clear(cc);
  cc->key = *key;
  cc->valid = 1;
  for (int k = 0; k < NOPS; k++) {
    cc->choice[k] = key->tune ? -1 : fixed_variant(key, k);
    if (!key->wino) cc->tune_n[k][V_WINO] = TUNE_TRIALS;   /* not a candidate */
    if (key->blk) cc->tune_n[k][V_PLAIN] = cc->tune_n[k][V_BUILTIN] = TUNE_TRIALS;
  }
}

/* A node's cache keeps primitives and descriptors only: its buffers are
 * pieces of the call's workspace. */
static size_t conv_state_bytes(const void *s) { return s ? sizeof(conv_cache) : 0; }

static void conv_state_free(void *s) {
  if (!s) return;
  conv_cache_clear((conv_cache *)s);
  free(s);
}

/* User and primitive descriptors of the geometry.  The user's activations
 * are plain NCHW, or nChw16c where blk says (executor values, bit 0 the
 * data and its gradient, bit 1 the output and its gradient); lay: V_ANY
 * lets oneDNN choose activation and weight layouts, V_PLAIN fixes the
 * primitive's activations to NCHW (weights still free). */
typedef struct conv_mds {
  dnnl_memory_desc_t src, wei, bia, dst;          /* plain       */
  dnnl_memory_desc_t src_a, wei_a, bia_a, dst_a;  /* primitive's */
  dnnl_dims_t strides, dilates, pad_l, pad_r;
} conv_mds;

static int conv_mds_init(const cgeom *g, int lay, int64_t blk, conv_mds *m) {
  /* 3-D: NCDHW / OIDHW (5 dims, grouped 6); 1-D and 2-D: NCHW / OIHW */
  int v = g->nd == 3, an = v ? 5 : 4;
  dnnl_dims_t sd = {g->N, g->C}, dd = {g->N, g->F}, bd = {g->F};
  dnnl_dims_t wd = {g->F, g->C}, wgd = {g->G, g->F / g->G, g->C / g->G};
  int64_t is[3] = {g->D, g->H, g->W}, os[3] = {g->Do, g->Ho, g->Wo}, ks[3] = {g->kd, g->kh, g->kw};
  int64_t st[3] = {g->sd, g->sh, g->sw}, dl[3] = {g->dd, g->dh, g->dw};
  int64_t pl[3] = {g->pd, g->ph, g->pw}, pr[3] = {g->pdr, g->phr, g->pwr};
  for (int k = 0; k < an - 2; k++) {
    int a = 3 - (an - 2) + k;
    sd[2 + k] = is[a]; dd[2 + k] = os[a]; wd[2 + k] = ks[a]; wgd[3 + k] = ks[a];
    m->strides[k] = st[a];
    m->dilates[k] = dl[a] - 1;
    m->pad_l[k] = pl[a];
    m->pad_r[k] = pr[a];
  }
  int wn = g->G > 1 ? an + 1 : an;
  dnnl_format_tag_t plain = v ? dnnl_abcde : dnnl_abcd;
  dnnl_format_tag_t wt = g->G > 1 ? (v ? dnnl_abcdef : dnnl_abcde) : plain;
  dnnl_format_tag_t at = lay == V_PLAIN ? plain : dnnl_format_tag_any;
  const int64_t *wdims = g->G > 1 ? wgd : wd;
  if (dnnl_memory_desc_init_by_tag(&m->src, an, sd, dnnl_f32, blk & 1 ? dnnl_aBcd16b : plain) ||
      dnnl_memory_desc_init_by_tag(&m->dst, an, dd, dnnl_f32, blk & 2 ? dnnl_aBcd16b : plain) ||
      dnnl_memory_desc_init_by_tag(&m->wei, wn, wdims, dnnl_f32, wt) ||
      dnnl_memory_desc_init_by_tag(&m->bia, 1, bd, dnnl_f32, dnnl_a) ||
      dnnl_memory_desc_init_by_tag(&m->src_a, an, sd, dnnl_f32, at) ||
      dnnl_memory_desc_init_by_tag(&m->dst_a, an, dd, dnnl_f32, at) ||
      dnnl_memory_desc_init_by_tag(&m->wei_a, wn, wdims, dnnl_f32, dnnl_format_tag_any) ||
      dnnl_memory_desc_init_by_tag(&m->bia_a, 1, bd, dnnl_f32, dnnl_format_tag_any))
    return -1;
  return 0;
}

/* The (1, F, 1, 1[, 1]) plain descriptor of the epilogue's scale and shift. */
static int epi_md(const cgeom *g, dnnl_memory_desc_t *md) {
  int an = g->nd == 3 ? 5 : 4;
  dnnl_dims_t d = {1, g->F, 1, 1, 1};
  return dnnl_memory_desc_init_by_tag(md, an, d, dnnl_f32, an == 5 ? dnnl_abcde : dnnl_abcd) !=
         dnnl_success;
}

/* A folded epilogue on a convolution without bias goes into the weights
 * and the bias: the weights' reorder scales output channel f by scale[f],
 * shift[f] is the primitive's bias, and relu (epi 2) its only post-op.
 * With a bias of its own the epilogue stays post-ops (below). */
static int fold_in_weights(const conv_key *k) { return k->epi && !k->fwd_bias; }

/* The epilogue as oneDNN post-ops: binary mul (scale), binary add (shift),
 * then relu for epi 2; only the relu when folded in the weights. */
static int epi_post_ops(dnnl_primitive_attr_t attr, const conv_key *k) {
  const cgeom *g = &k->g;
  int64_t epi = k->epi;
  dnnl_memory_desc_t md;
  dnnl_post_ops_t po = NULL;
  if (epi_md(g, &md) || dnnl_post_ops_create(&po) != dnnl_success) return -1;
  int in_w = fold_in_weights(k);
  int bad = (!in_w && dnnl_post_ops_append_binary(po, dnnl_binary_mul, &md) != dnnl_success) ||
            (!in_w && dnnl_post_ops_append_binary(po, dnnl_binary_add, &md) != dnnl_success) ||
            (epi == 2 && dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f) !=
                             dnnl_success) ||
            dnnl_primitive_attr_set_post_ops(attr, po) != dnnl_success;
  dnnl_post_ops_destroy(po);
  return bad ? -1 : 0;
}

/* Set up one argument of a primitive: its user memory (no buffer: the
 * handle is set per call) and, if the layouts differ, an inner memory (a
 * piece of the workspace) and a reorder. */
static dnnl_status_t dnn_arg_init(dnn_prim *P, const_dnnl_primitive_desc_t pd,
                                  int arg, int is_out, const dnnl_memory_desc_t *user_md,
                                  dnnl_engine_t eng) {
  dnn_arg *A = &P->a[P->nargs++];
  A->arg = arg;
  A->is_out = is_out;
  const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
  if (!pmd) return dnnl_runtime_error;
  dnnl_status_t st = dnnl_memory_create(&A->user, user_md, eng, DNNL_MEMORY_NONE);
  if (st != dnnl_success) return st;
  if (dnnl_memory_desc_equal(pmd, user_md)) return dnnl_success;
  if ((st = dnnl_memory_create(&A->inner, pmd, eng, DNNL_MEMORY_NONE)) != dnnl_success) return st;
  A->off = P->ws_bytes;
  P->ws_bytes += mx_scratch_round(dnnl_memory_desc_get_size(pmd));
  dnnl_primitive_desc_t rpd = NULL;
  st = is_out ? dnnl_reorder_primitive_desc_create(&rpd, pmd, eng, user_md, eng, NULL)
              : dnnl_reorder_primitive_desc_create(&rpd, user_md, eng, pmd, eng, NULL);
  if (st != dnnl_success) return st;
  st = dnnl_primitive_create(&A->reorder, rpd);
  dnnl_primitive_desc_destroy(rpd);
  return st;
}

/* The primitive's scratchpad, when it has one, after its arguments. */
static dnnl_status_t dnn_scratch_init(dnn_prim *P, const_dnnl_primitive_desc_t pd, dnnl_engine_t eng) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  size_t sz = md ? dnnl_memory_desc_get_size(md) : 0;
  if (sz == 0) return dnnl_success;
  P->scratch_off = P->ws_bytes;
  P->ws_bytes += mx_scratch_round(sz);
  return dnnl_memory_create(&P->scratch, md, eng, DNNL_MEMORY_NONE);
}

/* Whether sh holds user buffer u in A's layout at A's place in ws. */
static int share_holds(const dnn_share *sh, const dnn_arg *A, const void *u, const char *ws) {
  const dnnl_memory_desc_t *a, *b;
  return sh->user == u && sh->at == ws + A->off && sh->mem &&
         dnnl_memory_get_memory_desc(sh->mem, &a) == dnnl_success &&
         dnnl_memory_get_memory_desc(A->inner, &b) == dnnl_success && dnnl_memory_desc_equal(a, b);
}

/* Set argument A's buffers for chunk k of a call (user buffer u) and
 * reorder it into the primitive's layout when it is an input: arguments
 * without a step (weights, bias, epilogue) only on the first chunk. */
static dnnl_status_t dnn_arg_in(dnn_arg *A, dnnl_stream_t s, void *u, char *ws, int64_t k,
                                void *scales, dnn_share *sh) {
  dnnl_status_t st;
  if (k > 0 && A->step == 0) return dnnl_success;
  if ((st = dnnl_memory_set_data_handle(A->user, (char *)u + (size_t)k * A->step)) != dnnl_success)
    return st;
  if (A->inner && (st = dnnl_memory_set_data_handle(A->inner, ws + A->off)) != dnnl_success) return st;
  if (!A->inner || A->is_out) return dnnl_success;
  if (sh && A->arg == DNNL_ARG_DIFF_DST) {
    if (share_holds(sh, A, u, ws)) return dnnl_success;   /* already there */
    sh->user = u;
    sh->at = ws + A->off;
    sh->mem = A->inner;
  }
  if (A->scales && (st = dnnl_memory_set_data_handle(A->scales, scales)) != dnnl_success) return st;
  dnnl_exec_arg_t ra[3] = {{DNNL_ARG_FROM, A->user}, {DNNL_ARG_TO, A->inner},
                           {DNNL_ARG_ATTR_OUTPUT_SCALES, A->scales}};
  return dnnl_primitive_execute(A->reorder, s, A->scales ? 3 : 2, ra);
}

/* Run a primitive on user buffers ptr[k] (one per argument, in the order
 * they were set up; then the scales of a scaled reorder, dnn_arg_scaled),
 * its inner buffers and scratchpad in ws, chunk by
 * chunk of images when it was built for a chunk (dnn_fwd_chunk); sh: NULL,
 * or the output gradient shared with the other backward primitive. */
static dnnl_status_t dnn_run(dnn_prim *P, dnnl_stream_t s, void *const *ptr, char *ws, dnn_share *sh) {
  dnnl_exec_arg_t args[7];
  dnnl_status_t st;
  if (P->scratch && (st = dnnl_memory_set_data_handle(P->scratch, ws + P->scratch_off)) != dnnl_success)
    return st;
  int na = P->nargs;
  for (int k = 0; k < P->nargs; k++) {
    args[k].arg = P->a[k].arg;
    args[k].memory = P->a[k].inner ? P->a[k].inner : P->a[k].user;
  }
  if (P->scratch) {
    args[na].arg = DNNL_ARG_SCRATCHPAD;
    args[na++].memory = P->scratch;
  }
  for (int64_t c = 0; c < P->nchunk; c++) {
    for (int k = 0; k < P->nargs; k++)
      if ((st = dnn_arg_in(&P->a[k], s, ptr[k], ws, c, P->a[k].scales ? ptr[P->nargs] : NULL, sh)) !=
          dnnl_success)
        return st;
    if ((st = dnnl_primitive_execute(P->prim, s, na, args)) != dnnl_success) return st;
    for (int k = 0; k < P->nargs; k++) {
      dnn_arg *A = &P->a[k];
      if (A->inner && A->is_out) {
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, A->inner}, {DNNL_ARG_TO, A->user}};
        if ((st = dnnl_primitive_execute(A->reorder, s, 2, ra)) != dnnl_success) return st;
      }
    }
  }
  return dnnl_stream_wait(s);
}

/* The forward descriptor of the geometry of m (the hint of the backward
 * ones, or a chunk's own); 0 on success. */
static dnnl_alg_kind_t dnn_alg(int lay) {
  return lay == V_WINO ? dnnl_convolution_winograd : dnnl_convolution_direct;
}

static int fwd_desc(conv_cache *cc, int lay, const conv_mds *m, dnnl_engine_t eng,
                    dnnl_primitive_desc_t *pd) {
  dnnl_convolution_desc_t cd;
  return dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_training, dnn_alg(lay),
             &m->src_a, &m->wei_a, cc->key.fwd_bias || fold_in_weights(&cc->key) ? &m->bia_a : NULL,
             &m->dst_a, m->strides,
             m->dilates, m->pad_l, m->pad_r) != dnnl_success ||
         dnnl_primitive_desc_create(pd, &cd, cc->attr, eng, NULL) != dnnl_success;
}

/* Images per forward run in the blocked layout: the largest divisor of N
 * whose input and output stay within FWD_CHUNK_BYTES, so that the reorder
 * buffers (the step's scratch) are a chunk's, not the batch's. */
#define FWD_CHUNK_BYTES ((int64_t)8 << 20)
static int64_t dnn_fwd_chunk(const cgeom *g) {
  int64_t per = (g->C * g_isz(g) + g->F * g_osz(g)) * (int64_t)sizeof(float), nb = g->N;
  while (nb > 1 && (nb * per > FWD_CHUNK_BYTES || g->N % nb)) nb--;
  return nb;
}

/* A forward run over chunks of nb images: the activations advance by a
 * chunk per run. */
static void dnn_chunk_steps(dnn_prim *P, const cgeom *g, int64_t nb) {
  P->nchunk = g->N / nb;
  for (int k = 0; k < P->nargs; k++) {
    dnn_arg *A = &P->a[k];
    if (A->arg == DNNL_ARG_SRC) A->step = (size_t)(nb * g->C * g_isz(g)) * sizeof(float);
    if (A->arg == DNNL_ARG_DST) A->step = (size_t)(nb * g->F * g_osz(g)) * sizeof(float);
  }
}

/* The weights (the last argument set up) go through a reorder that scales
 * output channel f by scale[f], given per call (folded BatchNorm), also
 * when the primitive takes the plain layout. */
static dnnl_status_t dnn_arg_scaled(dnn_prim *P, const cgeom *g, dnnl_engine_t eng) {
  dnn_arg *A = &P->a[P->nargs - 1];
  const dnnl_memory_desc_t *umd, *imd;
  dnnl_status_t st = dnnl_memory_get_memory_desc(A->user, &umd);
  if (st != dnnl_success) return st;
  if (A->reorder) {
    dnnl_primitive_destroy(A->reorder);
    A->reorder = NULL;
  } else {
    if ((st = dnnl_memory_create(&A->inner, umd, eng, DNNL_MEMORY_NONE)) != dnnl_success) return st;
    A->off = P->ws_bytes;
    P->ws_bytes += mx_scratch_round(dnnl_memory_desc_get_size(umd));
  }
  if ((st = dnnl_memory_get_memory_desc(A->inner, &imd)) != dnnl_success) return st;
  dnnl_primitive_attr_t ra = NULL;
  dnnl_primitive_desc_t rpd = NULL;
  float runtime = DNNL_RUNTIME_F32_VAL;
  dnnl_dims_t sd = {g->F};
  dnnl_memory_desc_t smd;
  if ((st = dnnl_primitive_attr_create(&ra)) == dnnl_success &&
      (st = dnnl_primitive_attr_set_output_scales(ra, 1, g->G > 1 ? 3 : 1, &runtime)) == dnnl_success &&
      (st = dnnl_reorder_primitive_desc_create(&rpd, umd, eng, imd, eng, ra)) == dnnl_success &&
      (st = dnnl_primitive_create(&A->reorder, rpd)) == dnnl_success &&
      (st = dnnl_memory_desc_init_by_tag(&smd, 1, sd, dnnl_f32, dnnl_a)) == dnnl_success)
    st = dnnl_memory_create(&A->scales, &smd, eng, DNNL_MEMORY_NONE);
  if (rpd) dnnl_primitive_desc_destroy(rpd);
  if (ra) dnnl_primitive_attr_destroy(ra);
  return st;
}

/* The forward primitive's arguments in run_fwd's pointer order: x, w, the
 * bias (the convolution's, or the folded shift), y; then the epilogue's
 * scale and shift as post-op inputs, or, folded in the weights, only the
 * scale of the weights' reorder (not an argument of the primitive). */
static dnnl_status_t dnn_fwd_args(conv_cache *cc, dnn_prim *P, const_dnnl_primitive_desc_t pd,
                                  const conv_mds *m, const conv_mds *mc, dnnl_engine_t eng) {
  const cgeom *g = &cc->key.g;
  int in_w = fold_in_weights(&cc->key);
  dnnl_memory_desc_t em;
  dnnl_status_t st;
  if ((st = dnn_arg_init(P, pd, DNNL_ARG_SRC, 0, &mc->src, eng)) != dnnl_success ||
      (st = dnn_arg_init(P, pd, DNNL_ARG_WEIGHTS, 0, &m->wei, eng)) != dnnl_success ||
      (in_w && (st = dnn_arg_scaled(P, g, eng)) != dnnl_success) ||
      ((cc->key.fwd_bias || in_w) &&
       (st = dnn_arg_init(P, pd, DNNL_ARG_BIAS, 0, &m->bia, eng)) != dnnl_success) ||
      (st = dnn_arg_init(P, pd, DNNL_ARG_DST, 1, &mc->dst, eng)) != dnnl_success)
    return st;
  for (int k = 0; k < 2 && cc->key.epi && !in_w; k++) {   /* scale, shift */
    if (epi_md(g, &em)) return dnnl_invalid_arguments;
    st = dnn_arg_init(P, pd, DNNL_ARG_ATTR_MULTIPLE_POST_OP(k) | DNNL_ARG_SRC_1, 0, &em, eng);
    if (st != dnnl_success) return st;
  }
  return dnnl_success;
}

/* Build the primitive of one operation in one layout (state 1), or mark it
 * unavailable (state -1). */
static void dnn_build(conv_cache *cc, int which, int lay) {
  dnn_prim *P = &cc->prim[which][lay];
  if (P->state) return;
  P->state = -1;
  P->nchunk = 1;
  const cgeom *g = &cc->key.g;
  dnnl_engine_t eng = dnn_engine();
  conv_mds m;
  if (!eng || conv_mds_init(g, lay, cc->key.blk, &m)) return;
  if (!cc->stream && dnnl_stream_create(&cc->stream, eng, dnnl_stream_default_flags) != dnnl_success) {
    cc->stream = NULL;
    return;
  }
  if (!cc->attr && (dnnl_primitive_attr_create(&cc->attr) != dnnl_success ||
                    dnnl_primitive_attr_set_scratchpad_mode(cc->attr, dnnl_scratchpad_mode_user) !=
                        dnnl_success ||
                    (cc->key.epi && epi_post_ops(cc->attr, &cc->key)))) {
    if (cc->attr) dnnl_primitive_attr_destroy(cc->attr);
    cc->attr = NULL;
    return;
  }
  dnnl_convolution_desc_t cd;
  if (!cc->hint_state[lay]) {
    cc->hint_state[lay] = fwd_desc(cc, lay, &m, eng, &cc->hint[lay]) ? -1 : 1;
    if (cc->hint_state[lay] != 1) cc->hint[lay] = NULL;
  }
  if (cc->hint_state[lay] != 1) return;
  dnnl_primitive_desc_t pd = NULL, hint = cc->hint[lay];
  dnnl_status_t st;
  conv_mds mc = m;                 /* the forward's activations: one chunk */
  /* chunks keep reorder buffers small; blocked data and output have none */
  int64_t nb = which == OP_FWD && lay != V_PLAIN && cc->key.blk != 3 ? dnn_fwd_chunk(g) : g->N;
  if (which == OP_FWD) {
    cgeom gc = *g;
    gc.N = nb;
    if (nb == g->N) pd = hint;
    else if (conv_mds_init(&gc, lay, cc->key.blk, &mc) || fwd_desc(cc, lay, &mc, eng, &pd)) return;
  } else if (which == OP_BWD_DATA) {
    st = dnnl_dilated_convolution_backward_data_desc_init(&cd, dnn_alg(lay), &m.src_a,
            &m.wei_a, &m.dst_a, m.strides, m.dilates, m.pad_l, m.pad_r);
    if (st != dnnl_success || dnnl_primitive_desc_create(&pd, &cd, cc->attr, eng, hint) != dnnl_success)
      return;
  } else {
    st = dnnl_dilated_convolution_backward_weights_desc_init(&cd, dnn_alg(lay), &m.src_a,
            &m.wei_a, cc->key.bw_bias ? &m.bia_a : NULL, &m.dst_a, m.strides, m.dilates, m.pad_l,
            m.pad_r);
    if (st != dnnl_success || dnnl_primitive_desc_create(&pd, &cd, cc->attr, eng, hint) != dnnl_success)
      return;
  }
  st = dnnl_primitive_create(&P->prim, pd);
  if (st == dnnl_success) {
    if (which == OP_FWD) {
      st = dnn_fwd_args(cc, P, pd, &m, &mc, eng);
      dnn_chunk_steps(P, g, nb);
    } else if (which == OP_BWD_DATA) {
      if (!(st = dnn_arg_init(P, pd, DNNL_ARG_DIFF_DST, 0, &m.dst, eng)) &&
          !(st = dnn_arg_init(P, pd, DNNL_ARG_WEIGHTS, 0, &m.wei, eng)))
        st = dnn_arg_init(P, pd, DNNL_ARG_DIFF_SRC, 1, &m.src, eng);
    } else {
      /* dy first, as in the data gradient: its copy at the same place */
      if (!(st = dnn_arg_init(P, pd, DNNL_ARG_DIFF_DST, 0, &m.dst, eng)) &&
          !(st = dnn_arg_init(P, pd, DNNL_ARG_SRC, 0, &m.src, eng)) &&
          !(st = dnn_arg_init(P, pd, DNNL_ARG_DIFF_WEIGHTS, 1, &m.wei, eng)) && cc->key.bw_bias)
        st = dnn_arg_init(P, pd, DNNL_ARG_DIFF_BIAS, 1, &m.bia, eng);
    }
    if (st == dnnl_success) st = dnn_scratch_init(P, pd, eng);
  }
  if (pd != hint) dnnl_primitive_desc_destroy(pd);
  if (st != dnnl_success) {
    dnn_prim_free(P);
    P->state = -1;
    return;
  }
  P->state = 1;
}

/* Run one operation with oneDNN in one layout.  MX_ERR_UNSUPPORTED (no
 * error recorded): oneDNN cannot do it this way. */
/* Build (once) and run one primitive; oneDNN reads the OpenMP ICV. */
typedef struct dnn_call {
  conv_cache *cc;
  int which, lay;
  void *const *ptr;            /* NULL: build only                         */
  char *ws;
  dnn_share *sh;
  dnnl_status_t st;
} dnn_call;

static void dnn_build_run(void *arg) {
  dnn_call *d = (dnn_call *)arg;
  dnn_prim *P = &d->cc->prim[d->which][d->lay];
  dnn_build(d->cc, d->which, d->lay);
  if (P->state == 1 && d->ptr) d->st = dnn_run(P, d->cc->stream, d->ptr, d->ws, d->sh);
}

/* Build (once) the primitive of one operation in one layout; its
 * workspace need, or 0 when oneDNN cannot do it this way. */
static size_t dnn_need(const mx_op_ctx *c, conv_cache *cc, int which, int lay) {
  dnn_call d = {cc, which, lay, NULL, NULL, NULL, dnnl_success};
  if (!cc->prim[which][lay].state) mx_with_omp_threads(c->nthreads, dnn_build_run, &d);
  return cc->prim[which][lay].state == 1 ? cc->prim[which][lay].ws_bytes : 0;
}

/* sh: the call's output gradient shared between its backward primitives,
 * used only in the planned workspace (an allocated one is gone after the
 * call). */
static mx_status dnn_exec(const mx_op_ctx *c, conv_cache *cc, int which, int lay, void *const *ptr,
                          dnn_share *sh) {
  dnn_need(c, cc, which, lay);
  dnn_prim *P = &cc->prim[which][lay];
  if (P->state != 1) return MX_ERR_UNSUPPORTED;
  mx_scratch ws;
  mx_status rc = mx_scratch_open(c, P->ws_bytes, &ws);
  if (rc) return rc;
  dnn_call d = {cc, which, lay, ptr, ws.base, ws.own ? NULL : sh, dnnl_success};
  mx_with_omp_threads(c->nthreads, dnn_build_run, &d);
  mx_scratch_close(&ws);
  if (d.st != dnnl_success)
    return mx_error(MX_ERR_INTERNAL, "oneDNN convolution failed (status %d)", (int)d.st);
  return MX_OK;
}

/* The variant to run now: the chosen one, or while tuning the candidate
 * with the fewest timed runs; when all are timed, the fastest is chosen
 * and the primitives of the others are freed. */
static int pick_variant(conv_cache *cc, int which) {
  if (cc->choice[which] >= 0) return cc->choice[which];
  int best = -1;
  for (int v = 0; v < NVARIANT; v++)
    if (cc->tune_n[which][v] < TUNE_TRIALS && (best < 0 || cc->tune_n[which][v] < cc->tune_n[which][best]))
      best = v;
  if (best >= 0) return best;
  for (int v = 0; v < NVARIANT; v++)
    if (cc->tune_t[which][v] > 0 && (best < 0 || cc->tune_t[which][v] < cc->tune_t[which][best]))
      best = v;
  if (best < 0) best = V_BUILTIN;
  cc->choice[which] = best;
  for (int l = 0; l < NDNN; l++)
    if (l != best) dnn_prim_free(&cc->prim[which][l]);
  return best;
}

static void tune_record(conv_cache *cc, int which, int v, double t) {
  if (cc->choice[which] >= 0) return;
  if (t <= 0) t = 1e-9;
  if (cc->tune_t[which][v] <= 0 || t < cc->tune_t[which][v]) cc->tune_t[which][v] = t;
  cc->tune_n[which][v]++;
}

/* The oneDNN variant to try when v is unavailable: direct convolution in
 * blocked layouts for Winograd, else the other layout. */
static int dnn_fallback(int v) { return v == V_ANY ? V_PLAIN : V_ANY; }

static void tune_unavailable(conv_cache *cc, int which, int v) {
  cc->tune_n[which][v] = TUNE_TRIALS;
  cc->tune_t[which][v] = 0;
  if (cc->choice[which] == v) {     /* a fixed choice: the fallback, else built-in */
    int other = dnn_fallback(v);
    cc->choice[which] = cc->prim[which][other].state != -1 ? other : V_BUILTIN;
  }
}

static double wall_time(void) {
#ifdef _OPENMP
  return omp_get_wtime();
#else
  return 0;
#endif
}

/* The node's cache for this key (rebuilt when the key changed). */
static conv_cache *node_cache(const mx_op_ctx *c, const conv_key *key) {
  if (!*c->state) {
    *c->state = calloc(1, sizeof(conv_cache));
    if (!*c->state) return NULL;
  }
  conv_cache *cc = (conv_cache *)*c->state;
  if (!cc->valid || memcmp(&cc->key, key, sizeof *key) != 0) conv_cache_reset(cc, key);
  return cc;
}

/* Calls without a state slot (imperative) share a few process-wide caches,
 * as MXNet keeps its oneDNN primitives in a global map: the least recently
 * used free one is rebuilt for a new key. */
#define GCACHE_SLOTS 8
static conv_cache g_cache[GCACHE_SLOTS];
static int g_busy[GCACHE_SLOTS];
static uint64_t g_stamp[GCACHE_SLOTS], g_clock;

static conv_cache *gcache_acquire(const conv_key *key) {
  int pick = -1;
#ifdef _OPENMP
#pragma omp critical(mx_conv_gcache)
#endif
  {
    for (int i = 0; i < GCACHE_SLOTS && pick < 0; i++)
      if (!g_busy[i] && g_cache[i].valid && memcmp(&g_cache[i].key, key, sizeof *key) == 0) pick = i;
    for (int i = 0; i < GCACHE_SLOTS && pick < 0; i++)
      if (!g_busy[i] && !g_cache[i].valid) pick = i;
    if (pick < 0)
      for (int i = 0; i < GCACHE_SLOTS; i++)
        if (!g_busy[i] && (pick < 0 || g_stamp[i] < g_stamp[pick])) pick = i;
    if (pick >= 0) {
      g_busy[pick] = 1;
      g_stamp[pick] = ++g_clock;
    }
  }
  if (pick < 0) return NULL;
  conv_cache *cc = &g_cache[pick];
  if (!cc->valid || memcmp(&cc->key, key, sizeof *key) != 0) conv_cache_reset(cc, key);
  return cc;
}

static void gcache_release(conv_cache *cc) {
  int i = (int)(cc - g_cache);
#ifdef _OPENMP
#pragma omp critical(mx_conv_gcache)
#endif
  g_busy[i] = 0;
}

#else /* !MX_HAVE_DNNL */

typedef struct conv_cache { int unused; } conv_cache;
typedef struct dnn_share { int unused; } dnn_share;
static void conv_state_free(void *s) { free(s); }
static size_t conv_state_bytes(const void *s) { return s ? sizeof(conv_cache) : 0; }

#endif

/* ====================================================== dispatch */

/* How one call computes: with a cache (oneDNN variants, tuning) or always
 * built-in (cc == NULL). */
typedef struct conv_run {
  const mx_op_ctx *c;
  const cgeom *g;
  int dt;
  conv_cache *cc;
  int global;          /* cc is a shared cache */
  conv_cache local;
  dnn_share share;     /* dy between the backward primitives of one call */
} conv_run;

/* tune: 1 tune, 0 fixed choice, -1 the process default */
static void run_begin(conv_run *r, const mx_op_ctx *c, const cgeom *g, int dt, int builtin,
                      int fwd_bias, int bw_bias, int tune, int epi) {
  memset(r, 0, sizeof *r);
  r->c = c;
  r->g = g;
  r->dt = dt;
  r->cc = NULL;
#if MX_HAVE_DNNL
  if (dt == MX_FLOAT32 && !builtin && !env_builtin()) {
    conv_key key;
    memset(&key, 0, sizeof key);
    key.g = *g;
    key.fwd_bias = fwd_bias;
    key.bw_bias = bw_bias;
    key.epi = epi;
    key.wino = env_winograd();
    key.blk = conv_blocked(c);
    key.nthreads = c->nthreads;
#ifdef _OPENMP
    key.tune = tune < 0 ? env_autotune_default() : tune;
#else
    (void)tune;     /* no timer without OpenMP: fixed choice */
#endif
    if (c->state) {
      r->cc = node_cache(c, &key);            /* NULL (no memory): built-in */
    } else {
      r->cc = gcache_acquire(&key);
      r->global = r->cc != NULL;
      if (!r->cc) {                            /* all shared caches busy */
        key.tune = 0;
        r->cc = &r->local;
        conv_cache_reset(r->cc, &key);
      }
    }
  }
#else
  (void)builtin; (void)fwd_bias; (void)bw_bias; (void)tune; (void)epi;
#endif
}

static void run_end(conv_run *r) {
#if MX_HAVE_DNNL
  if (r->cc == &r->local) conv_cache_clear(&r->local);
  else if (r->cc && r->global) gcache_release(r->cc);
#endif
  r->cc = NULL;
}

#if MX_HAVE_DNNL
/* Run operation `which` with the cache's variant (tuning if it is), the
 * built-in function as the V_BUILTIN candidate. */
#define RUN_VARIANTS(r, which, ptr, BUILTIN_CALL)                                \
  do {                                                                           \
    conv_cache *cc_ = (r)->cc;                                                   \
    for (;;) {                                                                   \
      int v_ = pick_variant(cc_, which);                                         \
      double t0_ = wall_time();                                                  \
      mx_status rc_;                                                             \
      if (v_ == V_BUILTIN) {                                                     \
        rc_ = BUILTIN_CALL;                                                      \
      } else {                                                                   \
        rc_ = dnn_exec((r)->c, cc_, which, v_, ptr, &(r)->share);                \
        if (rc_ == MX_ERR_UNSUPPORTED) {                                         \
          tune_unavailable(cc_, which, v_);                                      \
          continue;                                                              \
        }                                                                        \
      }                                                                          \
      if (rc_ == MX_OK) tune_record(cc_, which, v_, wall_time() - t0_);         \
      return rc_;                                                                \
    }                                                                            \
  } while (0)
#endif

static mx_status run_fwd(conv_run *r, const void *x, const void *w, const void *b, void *y,
                         const mx_epilogue *ep) {
  const cgeom *g = r->g;
  if (g->N == 0 || g->F == 0) return MX_OK;
#if MX_HAVE_DNNL
  if (r->cc && (b != NULL) == (r->cc->key.fwd_bias != 0) && (ep != NULL) == (r->cc->key.epi != 0)) {
    void *ptr[7] = {NULL};
    int k = 0;
    ptr[k++] = (void *)x;
    ptr[k++] = (void *)w;
    if (b) ptr[k++] = (void *)b;
    else if (ep) ptr[k++] = (void *)ep->shift;   /* folded in the weights: the bias */
    ptr[k++] = y;
    if (ep) ptr[k++] = (void *)ep->scale;
    if (ep && b) ptr[k++] = (void *)ep->shift;
    RUN_VARIANTS(r, OP_FWD, ptr, builtin_fwd(r->c, g, r->dt, x, w, b, y, ep));
  }
#endif
  return builtin_fwd(r->c, g, r->dt, x, w, b, y, ep);
}

static mx_status run_bwd_data(conv_run *r, const void *dy, const void *w, void *dx) {
  const cgeom *g = r->g;
  if (g->N == 0 || g->C == 0) return MX_OK;
#if MX_HAVE_DNNL
  if (r->cc) {
    void *ptr[3] = {(void *)dy, (void *)w, dx};
    RUN_VARIANTS(r, OP_BWD_DATA, ptr, builtin_bwd_data(r->c, g, r->dt, dy, w, dx));
  }
#endif
  return builtin_bwd_data(r->c, g, r->dt, dy, w, dx);
}

#if MX_HAVE_DNNL
static mx_status run_bwd_w_dnn(conv_run *r, const void *x, const void *dy, void *dw, void *db,
                               float *tmp) {
  const cgeom *g = r->g;
  void *ptr[4] = {(void *)dy, (void *)x, dw, db ? db : (void *)tmp};
  RUN_VARIANTS(r, OP_BWD_W, ptr, builtin_bwd_weights(r->c, g, r->dt, x, dy, dw, db));
}
#endif

/* dw and db may be NULL (not wanted). */
static mx_status run_bwd_w(conv_run *r, const void *x, const void *dy, void *dw, void *db) {
  const cgeom *g = r->g;
  if (!dw && !db) return MX_OK;
#if MX_HAVE_DNNL
  if (r->cc && dw && g->N > 0 && g->C > 0 && (r->cc->key.bw_bias || !db)) {
    float *tmp = NULL;
    if (r->cc->key.bw_bias && !db) {   /* the primitive writes a bias gradient */
      tmp = (float *)malloc((size_t)g->F * sizeof(float) + 1);
      if (!tmp) return mx_error(MX_ERR_NOMEM, "out of memory (bias gradient)");
    }
    mx_status rc = run_bwd_w_dnn(r, x, dy, dw, db, tmp);
    free(tmp);
    return rc;
  }
#endif
  return builtin_bwd_weights(r->c, g, r->dt, x, dy, dw, db);
}

/* ====================================================== Convolution ops */

/* cudnn_tune: "off" keeps the fixed choice, "limited_workspace" and
 * "fastest" tune, unset follows MXNET_CUDNN_AUTOTUNE_DEFAULT (default: no
 * tuning, as MXNet on the CPU). */
static int tune_param(const mx_param_value *v) { return v->is_set ? v->i != 0 : -1; }

/* Images per forward chunk.  One oneDNN primitive call cannot be
 * interrupted, so an imperative call (no per-node state) with much work runs
 * its batch in chunks of about CONV_CHUNK_FLOP and polls for Ctrl-C between
 * them; executors poll between ops and keep one primitive per node. */
#define CONV_CHUNK_FLOP 4e9
static int64_t fwd_chunk(const mx_op_ctx *c, const cgeom *g) {
  if (c->state || g->N < 2) return g->N;
  double per = 2.0 * (double)g->F * (double)g_osz(g) * (double)(g->C / g->G) *
               (double)g_ksz(g);
  if (per * (double)g->N < 2 * CONV_CHUNK_FLOP) return g->N;
  int64_t n = (int64_t)(CONV_CHUNK_FLOP / per);
  return n < 1 ? 1 : n;
}

/* ep: NULL, or the epilogue of a folded inference call (float32 only). */
static mx_status conv_forward(KARGS, int builtin, const mx_epilogue *ep) {
  (void)nin; (void)nout; (void)req;
  cgeom g;
  mx_status rc = conv_geom(p, &in[0]->shape, &g, NULL);
  if (rc) return rc;
  int has_bias = !p[CP_NO_BIAS].i, dt = out[0]->dtype;
  size_t es = mx_dtype_size(dt);
  const char *x = (const char *)MX_PTR(in[0]);
  char *y = (char *)MX_PTR(out[0]);
  int64_t step = fwd_chunk(c, &g);
  for (int64_t n0 = 0; n0 < g.N || n0 == 0; n0 += step) {
    cgeom gc = g;
    gc.N = g.N - n0 < step ? g.N - n0 : step;
    conv_run r;
    run_begin(&r, c, &gc, dt, builtin, has_bias, has_bias, tune_param(&p[CP_CUDNN_TUNE]),
              ep ? 1 + (ep->relu != 0) : 0);
    rc = run_fwd(&r, x + (size_t)(n0 * g.C * g_isz(&g)) * es, MX_PTR(in[1]),
                 has_bias ? MX_PTR(in[2]) : NULL, y + (size_t)(n0 * g.F * g_osz(&g)) * es, ep);
    run_end(&r);
    if (rc || n0 + step >= g.N) break;
    if ((rc = mx_abort_check())) break;
  }
  return rc;
}

static mx_status conv_backward(BARGS, int builtin) {
  (void)nout; (void)nin; (void)out;
  cgeom g;
  mx_status rc = conv_geom(p, &in[0]->shape, &g, NULL);
  if (rc) return rc;
  int has_bias = !p[CP_NO_BIAS].i;
  conv_run r;
  run_begin(&r, c, &g, og[0]->dtype, builtin, has_bias, has_bias, tune_param(&p[CP_CUDNN_TUNE]), 0);
  const void *dy = MX_PTR(og[0]);
  if (req[0] == MX_REQ_WRITE) rc = run_bwd_data(&r, dy, MX_PTR(in[1]), MX_PTR(ig[0]));
  if (!rc) {
    void *dw = req[1] == MX_REQ_WRITE ? MX_PTR(ig[1]) : NULL;
    void *db = has_bias && req[2] == MX_REQ_WRITE ? MX_PTR(ig[2]) : NULL;
    rc = run_bwd_w(&r, MX_PTR(in[0]), dy, dw, db);
  }
  run_end(&r);
  return rc;
}

static mx_status k_conv(KARGS) { return conv_forward(c, p, in, nin, out, nout, req, 0, NULL); }

/* The data and the output (and their gradients) in either layout, where
 * oneDNN runs the layer: 2-D, with or without groups (depthwise layers
 * compute on nChw16c too; where a primitive prefers another layout it
 * reorders from the one given). */
static void lay_conv(const mx_param_value *p, int nin, const mx_shape *in, int nout,
                     const mx_shape *out, unsigned char *mode) {
  (void)p; (void)nout; (void)out;
#if MX_HAVE_DNNL
  if (!env_builtin() && in[0].ndim == 4) mode[0] = mode[nin] = MX_LAY_OWN;
#else
  (void)nin; (void)in; (void)mode;
#endif
}
static mx_status k_conv_builtin(KARGS) { return conv_forward(c, p, in, nin, out, nout, req, 1, NULL); }

/* The forward call with an epilogue (inference folding, mx_epilogue_fn). */
static mx_status conv_epilogue(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in,
                               int nin, mx_ndarray *out, const mx_epilogue *ep, int builtin) {
  if (out->dtype != MX_FLOAT32 || out->shape.ndim < 2) return MX_ERR_UNSUPPORTED;
  int req = MX_REQ_WRITE;
  return conv_forward(c, p, in, nin, &out, 1, &req, builtin, ep);
}
static mx_status e_conv(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in, int nin,
                        mx_ndarray *out, const mx_epilogue *ep) {
  return conv_epilogue(c, p, in, nin, out, ep, 0);
}
static mx_status e_conv_builtin(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in,
                                int nin, mx_ndarray *out, const mx_epilogue *ep) {
  return conv_epilogue(c, p, in, nin, out, ep, 1);
}
static mx_status b_conv(BARGS) { return conv_backward(c, p, og, nout, in, nin, out, ig, req, 0); }
static mx_status b_conv_builtin(BARGS) { return conv_backward(c, p, og, nout, in, nin, out, ig, req, 1); }

/* ====================================================== Deconvolution ops */

static void add_bias(const mx_op_ctx *c, int dt, int64_t N, int64_t F, int64_t HW, const void *b,
                     void *y) {
  int nt = task_threads(c, N * F, N * F * HW);
  CALL_T(dt, add_bias, N, F, HW, b, y, nt);
}

static mx_status deconv_forward(KARGS, int builtin) {
  (void)nin; (void)nout; (void)req;
  cgeom g;
  mx_status rc = deconv_geom(p, &in[0]->shape, &g, NULL);
  if (rc) return rc;
  int dt = out[0]->dtype;
  conv_run r;
  run_begin(&r, c, &g, dt, builtin, 0, 0, tune_param(&p[DP_CUDNN_TUNE]), 0);
  /* deconvolution output = the convolution's data gradient */
  rc = run_bwd_data(&r, MX_PTR(in[0]), MX_PTR(in[1]), MX_PTR(out[0]));
  run_end(&r);
  if (rc) return rc;
  if (!p[DP_NO_BIAS].i) add_bias(c, dt, g.N, g.C, g_isz(&g), MX_PTR(in[2]), MX_PTR(out[0]));
  return MX_OK;
}

static mx_status deconv_backward(BARGS, int builtin) {
  (void)nout; (void)nin; (void)out;
  cgeom g;
  mx_status rc = deconv_geom(p, &in[0]->shape, &g, NULL);
  if (rc) return rc;
  int dt = og[0]->dtype;
  int has_bias = !p[DP_NO_BIAS].i;
  conv_run r;
  run_begin(&r, c, &g, dt, builtin, 0, 0, tune_param(&p[DP_CUDNN_TUNE]), 0);
  const void *dy = MX_PTR(og[0]);
  /* data gradient = convolution of the output gradient */
  if (req[0] == MX_REQ_WRITE) rc = run_fwd(&r, dy, MX_PTR(in[1]), NULL, MX_PTR(ig[0]), NULL);
  if (!rc && req[1] == MX_REQ_WRITE)
    rc = run_bwd_w(&r, dy, MX_PTR(in[0]), MX_PTR(ig[1]), NULL);
  run_end(&r);
  if (!rc && has_bias && req[2] == MX_REQ_WRITE) {
    int nt = task_threads(c, g.C, g.N * g.C * g_isz(&g));
    CALL_T(dt, bias_grad, g.N, g.C, g_isz(&g), dy, MX_PTR(ig[2]), nt);
  }
  return rc;
}

static mx_status k_deconv(KARGS) { return deconv_forward(c, p, in, nin, out, nout, req, 0); }
static mx_status k_deconv_builtin(KARGS) { return deconv_forward(c, p, in, nin, out, nout, req, 1); }
static mx_status b_deconv(BARGS) { return deconv_backward(c, p, og, nout, in, nin, out, ig, req, 0); }
static mx_status b_deconv_builtin(BARGS) { return deconv_backward(c, p, og, nout, in, nin, out, ig, req, 1); }

/* ====================================================== planned workspace */

/* Scratch of the built-in implementation of one operation. */
static size_t builtin_need(const mx_op_ctx *c, const cgeom *g, int dt, int which) {
  size_t es = mx_dtype_size(dt);
  if (which == OP_BWD_W)
    return chunks_need(c, g, dt, chunk_images(g, es, CHUNK_BWD_W),
                       g->F * (g->C / g->G) * g_ksz(g));
  return chunks_need(c, g, dt, chunk_images(g, es, CHUNK_FWD), 0);
}

/* Scratch of one operation: its chosen variant's (building the node's
 * primitives now, as the first call would), while tuning the largest of
 * the candidates, and the built-in one's where oneDNN may decline. */
static size_t run_need(conv_run *r, int which) {
  size_t bi = builtin_need(r->c, r->g, r->dt, which);
#if MX_HAVE_DNNL
  if (r->cc) {
    int ch = r->cc->choice[which];
    if (ch == V_BUILTIN) return bi;
    size_t need = 0;
    int declined = 0;
    for (int v = V_ANY; v < NDNN; v++) {
      if (ch >= 0 && v != ch) continue;
      if (ch < 0 && r->cc->tune_n[which][v] >= TUNE_TRIALS && r->cc->tune_t[which][v] <= 0)
        continue;   /* not a candidate */
      size_t n = dnn_need(r->c, r->cc, which, v);
      if (r->cc->prim[which][v].state != 1) declined = 1;
      if (n > need) need = n;
    }
    if (declined && ch >= 0) need = dnn_need(r->c, r->cc, which, dnn_fallback(ch));
    return (ch < 0 || declined) && bi > need ? bi : need;
  }
#endif
  return bi;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* The executor's plan sets a node's variant of one operation (fixed
 * choice only): the fixed one, or where that is Winograd and the plan asks
 * for the leanest scratch, the direct convolution. */
static void plan_choice(conv_run *r, int which, int lean) {
#if MX_HAVE_DNNL
  conv_cache *cc = r->cc;
  if (!cc || cc->key.tune || !r->c->state) return;
  int v = fixed_variant(&cc->key, which);
  cc->choice[which] = lean && v == V_WINO ? dnn_fallback(v) : v;
#else
  (void)r; (void)which; (void)lean;
#endif
}

/* The workspace of a Convolution (deconv 0) or Deconvolution call: which
 * operations run in its forward and backward calls (a deconvolution's
 * forward is its convolution's data gradient). */
static size_t conv_workspace(const mx_op_ctx *c, const mx_param_value *p, const mx_shape *in,
                             int dtype, int backward, int deconv, int builtin) {
  cgeom g;
  if (in[0].ndim < 0 || dtype < 0) return 0;
  if ((deconv ? deconv_geom(p, &in[0], &g, NULL) : conv_geom(p, &in[0], &g, NULL)) != MX_OK) {
    mx_error_clear();
    return 0;
  }
  int bias = !deconv && !p[CP_NO_BIAS].i, epi = !deconv && backward >= 2 ? backward - 1 : 0;
  conv_run r;
  run_begin(&r, c, &g, dtype, builtin, bias, bias,
            tune_param(&p[deconv ? DP_CUDNN_TUNE : CP_CUDNN_TUNE]), epi);
  int ops[2] = {deconv ? OP_BWD_DATA : OP_FWD, -1};
  if (backward == 1) {
    ops[0] = deconv ? OP_FWD : OP_BWD_DATA;
    ops[1] = OP_BWD_W;
  }
  size_t need = 0;
  for (int k = 0; k < 2 && ops[k] >= 0; k++) {
    plan_choice(&r, ops[k], c->workspace_lean);
    need = max_size(need, run_need(&r, ops[k]));
  }
  run_end(&r);
  return need;
}

#define WS_ARGS const mx_op_ctx *c, const mx_param_value *p, int nin, const mx_shape *in, \
                int dtype, int backward
static size_t ws_conv(WS_ARGS) { (void)nin; return conv_workspace(c, p, in, dtype, backward, 0, 0); }
static size_t ws_deconv(WS_ARGS) { (void)nin; return conv_workspace(c, p, in, dtype, backward, 1, 0); }
static size_t ws_conv_builtin(WS_ARGS) { (void)nin; return conv_workspace(c, p, in, dtype, backward, 0, 1); }
static size_t ws_deconv_builtin(WS_ARGS) { (void)nin; return conv_workspace(c, p, in, dtype, backward, 1, 1); }

/* ====================================================== im2col, col2im */

/* MXNet's im2col: the column matrix of the convolution with these sliding
 * params (one filter, one group), (N, C * prod(kernel), output positions),
 * rows channel-major then kernel offsets, as the built-in convolution makes
 * it per image; col2im adds such matrices back into images (its gradient,
 * and im2col is col2im's). */
enum { IM_KERNEL, IM_STRIDE, IM_DILATE, IM_PAD, IM_NPARAMS };
enum { CI_OUTPUT_SIZE, CI_KERNEL, CI_STRIDE, CI_DILATE, CI_PAD, CI_NPARAMS };

/* k: kernel, stride, dilate, pad (consecutive params); ds: the images. */
static mx_status sliding_geom(const mx_param_value *k, const mx_shape *ds, cgeom *g) {
  mx_param_value cp[CP_NPARAMS];
  memset(cp, 0, sizeof cp);
  for (int j = 0; j < 4; j++) cp[CP_KERNEL + j] = k[j];
  cp[CP_NUM_FILTER].i = 1;
  cp[CP_NUM_GROUP].i = 1;
  return conv_geom(cp, ds, g, NULL);
}

/* The images col2im writes, from its column input cs. */
static mx_status col2im_geom(const mx_param_value *p, const mx_shape *cs, cgeom *g, mx_shape *img) {
  int nd;
  int64_t sz[3], ks[3];
  mx_status rc = kernel_dims(&p[CI_KERNEL], "col2im", &nd);
  if (!rc) rc = read_tuple(&p[CI_OUTPUT_SIZE], "output_size", nd, 1, 1, sz);
  if (!rc) rc = read_tuple(&p[CI_KERNEL], "kernel", nd, 1, 1, ks);
  if (rc) return rc;
  if (p[CI_OUTPUT_SIZE].n != nd)
    return mx_error(MX_ERR_ARG, "parameter 'output_size' must have %d entries, as 'kernel'", nd);
  int64_t k = ks[0] * ks[1] * ks[2];
  if (cs->ndim != 3 || cs->d[1] % k != 0)
    return mx_error(MX_ERR_SHAPE, "data must be (batch, channels x %lld kernel positions, blocks)",
                    (long long)k);
  make_shape(img, nd, cs->d[0], cs->d[1] / k, sz[0], sz[1], sz[2]);
  if ((rc = sliding_geom(&p[CI_KERNEL], img, g))) return rc;
  if (g_osz(g) != cs->d[2])
    return mx_error(MX_ERR_SHAPE, "data has %lld blocks, but these images and params give %lld",
                    (long long)cs->d[2], (long long)g_osz(g));
  return MX_OK;
}

static mx_status shape_im2col(const mx_param_value *p, int nin, mx_shape *in, int nout,
                              mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  cgeom g;
  mx_status rc = sliding_geom(p, &in[0], &g);
  if (rc) return rc;
  out[0].ndim = 3;
  out[0].d[0] = g.N;
  out[0].d[1] = g.C * g_ksz(&g);
  out[0].d[2] = g_osz(&g);
  return MX_OK;
}

static mx_status shape_col2im(const mx_param_value *p, int nin, mx_shape *in, int nout,
                              mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  cgeom g;
  return col2im_geom(p, &in[0], &g, &out[0]);
}

/* to_cols: image n of img into its column matrix, else the reverse (sum). */
static void sliding_run(const mx_op_ctx *c, const cgeom *g, int dt, void *img, void *cols,
                        int to_cols) {
  size_t es = mx_dtype_size(dt), per = (size_t)(g->C * g_ksz(g) * g_osz(g)) * es;
  int nt = task_threads(c, g->C, g->C * g_ksz(g) * g_osz(g));
  for (int64_t n = 0; n < g->N; n++) {
    void *m = (char *)cols + per * (size_t)n;
    if (to_cols) CALL_T(dt, im2col, g, img, n, 1, m, nt);
    else CALL_T(dt, col2im, g, m, n, 1, img, nt);
  }
}

/* One call of im2col (col2im_op 0) or col2im (1): the geometry from the
 * images or from the columns, then the images into columns (to_cols) or
 * the columns summed into the images. */
static mx_status sliding(const mx_op_ctx *c, const mx_param_value *p, int col2im_op,
                         mx_ndarray *img, mx_ndarray *cols, int to_cols) {
  cgeom g;
  mx_shape ishape;
  mx_status rc = col2im_op ? col2im_geom(p, &cols->shape, &g, &ishape)
                           : sliding_geom(p, &img->shape, &g);
  if (!rc) sliding_run(c, &g, img->dtype, MX_PTR(img), MX_PTR(cols), to_cols);
  return rc;
}
static mx_status k_im2col(KARGS) {
  (void)nin; (void)nout; (void)req;
  return sliding(c, p, 0, in[0], out[0], 1);
}
static mx_status b_im2col(BARGS) {
  (void)nout; (void)nin; (void)out; (void)in;
  return req[0] == MX_REQ_WRITE ? sliding(c, p, 0, ig[0], og[0], 0) : MX_OK;
}
static mx_status k_col2im(KARGS) {
  (void)nin; (void)nout; (void)req;
  return sliding(c, p, 1, out[0], in[0], 0);
}
static mx_status b_col2im(BARGS) {
  (void)nout; (void)nin; (void)out; (void)in;
  return req[0] == MX_REQ_WRITE ? sliding(c, p, 1, og[0], ig[0], 1) : MX_OK;
}

/* ====================================================== Pooling */

/* A pooling: NC planes (volumes) of (D, H, W) to (Do, Ho, Wo); 1-D and 2-D
 * have depth 1 (kd = sd = 1, pd = pde = 0). */
typedef struct pgeom {
  int nd, type, pv, cip;
  int64_t NC, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw;
  int64_t phe, pwe;      /* padding after, for the window clipping of avg */
  int64_t D, Do, kd, sd, pd, pde;
  int whole;             /* global: one window, the whole plane (volume) */
} pgeom;

/* Checks that do not need the data shape; *nd_out: 1, 2 or 3 from the
 * kernel, 0 for global pooling (taken from the data). */
static mx_status pool_params(const mx_param_value *p, int *nd_out) {
  int type = (int)p[PP_POOL_TYPE].i;
  if (type == POOL_LP) {
    if (!p[PP_P_VALUE].is_set || p[PP_P_VALUE].i < 1 || p[PP_P_VALUE].i > 3)
      return mx_error(MX_ERR_ARG, "parameter 'p_value' must be 1, 2 or 3 for pool_type 'lp'");
  }
  int nd = 0;
  if (!p[PP_GLOBAL].i) {
    if (!p[PP_KERNEL].is_set || p[PP_KERNEL].n == 0)
      return mx_error(MX_ERR_ARG, "parameter 'kernel' is required unless global_pool is TRUE");
    mx_status rc = kernel_dims(&p[PP_KERNEL], "pooling", &nd);
    if (rc) return rc;
  }
  *nd_out = nd;
  return MX_OK;
}

/* Output size, padding before (*pb, updated for 'same') and after (*pe) of
 * one axis of axis_names[a]. */
static mx_status pool_axis(int conv, int a, int64_t in, int64_t k, int64_t s, int64_t *pb,
                           int64_t *o, int64_t *pe) {
  if (conv == CONV_SAME) {
    /* output ceil(in / stride); the padding the window needs beyond the
     * input is split with the smaller half before (as TensorFlow's SAME).
     * MXNet 1.9.1 offers 'same' for 1-D max pooling only; here it works
     * for every type in 1-D, 2-D and 3-D. */
    *o = (in + s - 1) / s;
    int64_t tot = (*o - 1) * s + k - in;
    if (tot < 0) tot = 0;
    *pb = tot / 2;
    *pe = tot - *pb;
    return MX_OK;
  }
  int64_t span = in + 2 * *pb;
  if (span < k)
    return mx_error(MX_ERR_SHAPE, "parameter 'kernel' (%lld) is larger than the padded input (%lld) "
                    "along the %s axis", (long long)k, (long long)span, axis_names[a]);
  *o = conv == CONV_FULL ? (span - k + s - 1) / s + 1 : (span - k) / s + 1;
  *pe = *pb;
  return MX_OK;
}

static mx_status pool_geom(const mx_param_value *p, const mx_shape *ds, pgeom *g) {
  int nd;
  mx_status rc = pool_params(p, &nd);
  if (rc) return rc;
  int glob = (int)p[PP_GLOBAL].i;
  if (nd == 0) {
    if (ds->ndim < 3 || ds->ndim > 5) {
      char b[128];
      fmt_shape(ds, b, sizeof b);
      return mx_error(MX_ERR_SHAPE, "data must have 3, 4 or 5 dimensions for pooling (batch, channel, "
                      "spatial axes), got shape %s", b);
    }
    nd = ds->ndim - 2;
  } else if ((rc = check_data_ndim(ds, nd, "pooling"))) {
    return rc;
  }
  if ((rc = check_layout(&p[PP_LAYOUT], nd, pool_layouts, 6))) return rc;
  memset(g, 0, sizeof *g);
  g->nd = nd;
  g->type = (int)p[PP_POOL_TYPE].i;
  g->pv = p[PP_P_VALUE].is_set ? (int)p[PP_P_VALUE].i : 2;
  g->cip = p[PP_COUNT_PAD].is_set ? (int)p[PP_COUNT_PAD].i : 1;
  if ((double)ds->d[0] * (double)ds->d[1] > 9e18)
    return mx_error(MX_ERR_SHAPE, "data is too large");
  g->NC = ds->d[0] * ds->d[1];
  int64_t k[3], s[3] = {1, 1, 1}, pd[3] = {0, 0, 0}, in[3], o[3] = {1, 1, 1}, pe[3] = {0, 0, 0};
  spatial_in(ds, nd, in);
  if (glob) {
    for (int a = 0; a < 3; a++) k[a] = in[a];
  } else {
    if ((rc = read_tuple(&p[PP_KERNEL], "kernel", nd, 1, 1, k))) return rc;
    if ((rc = read_tuple(&p[PP_STRIDE], "stride", nd, 1, 1, s))) return rc;
    if ((rc = read_tuple(&p[PP_PAD], "pad", nd, 0, 0, pd))) return rc;
    int conv = (int)p[PP_CONVENTION].i;
    if (conv == CONV_SAME && (pd[0] != 0 || pd[1] != 0 || pd[2] != 0))
      return mx_error(MX_ERR_ARG, "parameter 'pad' must be 0 with pooling_convention 'same' "
                      "(the padding is computed)");
    for (int a = 3 - nd; a < 3; a++)
      if ((rc = pool_axis(conv, a, in[a], k[a], s[a], &pd[a], &o[a], &pe[a]))) return rc;
  }
  g->D = in[0]; g->H = in[1]; g->W = in[2];
  g->kd = k[0]; g->kh = k[1]; g->kw = k[2];
  g->sd = s[0]; g->sh = s[1]; g->sw = s[2];
  g->pd = pd[0]; g->ph = pd[1]; g->pw = pd[2];
  g->pde = pe[0]; g->phe = pe[1]; g->pwe = pe[2];
  g->Do = o[0]; g->Ho = o[1]; g->Wo = o[2];
  g->whole = glob;
  return MX_OK;
}

static mx_status shape_pool(const mx_param_value *p, int nin, mx_shape *in, int nout,
                            mx_shape *out) {
  (void)nin; (void)nout;
  int nd;
  mx_status rc = pool_params(p, &nd);
  if (rc) return rc;
  if (in[0].ndim < 0) return MX_OK;
  pgeom g;
  if ((rc = pool_geom(p, &in[0], &g))) return rc;
  make_shape(&out[0], g.nd, in[0].d[0], in[0].d[1], g.Do, g.Ho, g.Wo);
  return MX_OK;
}

/* max and lp backward read the input and the output; avg and sum only the
 * output gradient. */
static void deps_pool(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                      unsigned char *no, unsigned char *ng) {
  int need = p[PP_POOL_TYPE].i == POOL_MAX || p[PP_POOL_TYPE].i == POOL_LP;
  for (int j = 0; j < nin; j++) ni[j] = (unsigned char)need;
  for (int k = 0; k < nout; k++) { no[k] = (unsigned char)need; ng[k] = 1; }
}

/* The window of output (od, oh, ow): slices [z0, z1), rows [h0, h1),
 * columns [w0, w1) inside the input; for avg, the divisor. */
#define POOL_WINDOW(g, od, oh, ow, z0, z1, h0, h1, w0, w1, area)                \
  int64_t z0 = (od) * (g)->sd - (g)->pd;                                         \
  int64_t h0 = (oh) * (g)->sh - (g)->ph, w0 = (ow) * (g)->sw - (g)->pw;          \
  int64_t z1 = z0 + (g)->kd, h1 = h0 + (g)->kh, w1 = w0 + (g)->kw;               \
  if (z1 > (g)->D + (g)->pde) z1 = (g)->D + (g)->pde;                            \
  if (h1 > (g)->H + (g)->phe) h1 = (g)->H + (g)->phe;                           \
  if (w1 > (g)->W + (g)->pwe) w1 = (g)->W + (g)->pwe;                           \
  int64_t area = (z1 - z0) * (h1 - h0) * (w1 - w0);                              \
  if (z0 < 0) z0 = 0;                                                            \
  if (h0 < 0) h0 = 0;                                                           \
  if (w0 < 0) w0 = 0;                                                           \
  if (z1 > (g)->D) z1 = (g)->D;                                                  \
  if (h1 > (g)->H) h1 = (g)->H;                                                 \
  if (w1 > (g)->W) w1 = (g)->W;                                                 \
  if (!(g)->cip) area = (z1 - z0) * (h1 - h0) * (w1 - w0);                       \
  (void)area

/* Loop over the outputs (od, oh, ow) of a plane (volume): Do, Ho, Wo are
 * the caller's locals. */
#define FOR_POOL_OUTPUTS(od, oh, ow)                                            \
  for (int64_t od = 0; od < Do; od++)                                           \
    for (int64_t oh = 0; oh < Ho; oh++)                                         \
      for (int64_t ow = 0; ow < Wo; ow++)

/* Loop over the cells of a window: e is the cell's offset in the plane
 * (volume). */
#define POOL_CELLS(g, z0, z1, h0, h1, w0, w1, e)                                 \
  for (int64_t z_ = z0; z_ < z1; z_++)                                           \
    for (int64_t h_ = h0; h_ < h1; h_++)                                         \
      for (int64_t e = (z_ * (g)->H + h_) * (g)->W + w0,                         \
           e1_ = e + (w1 - w0); e < e1_; e++)

static inline double lp_pow(double x, int pv) {
  return pv == 1 ? x : pv == 2 ? x * x : x * x * x;
}
static inline double lp_root(double x, int pv) {
  return pv == 1 ? x : pv == 2 ? sqrt(x) : cbrt(x);
}

/* One output row of 2x2 stride-2 max-pooling backward: the gradient goes to
 * the first cell equal to the window's maximum (cells a, b on the first
 * input row, c, d on the second).  The maximum is a copy of one cell, so
 * comparing bits is exact; integer masks instead of branches or float
 * compares let the loop vectorise (MX_CLONES builds AVX2/AVX-512 versions). */
#ifdef _OPENMP
#define POOL_SIMD _Pragma("omp simd")
#else
#define POOL_SIMD
#endif
#define DEF_POOL2_ROW(S, T, IT)                                                  \
  MX_CLONES static void pool2x2_bwd_row_##S(const T *r0, const T *r1, const T *mo, \
                                           const T *go, T *q0, T *q1, int64_t Wo) { \
    POOL_SIMD                                                                    \
    for (int64_t ow = 0; ow < Wo; ow++) {                                        \
      IT m, g, a, b, c, d;                                                       \
      memcpy(&m, &mo[ow], sizeof m);                                             \
      memcpy(&g, &go[ow], sizeof g);                                             \
      memcpy(&a, &r0[2 * ow], sizeof a);                                         \
      memcpy(&b, &r0[2 * ow + 1], sizeof b);                                     \
      memcpy(&c, &r1[2 * ow], sizeof c);                                         \
      memcpy(&d, &r1[2 * ow + 1], sizeof d);                                     \
      IT ka = (IT)0 - (IT)(a == m);                                              \
      IT kb = ((IT)0 - (IT)(b == m)) & ~ka;                                      \
      IT kc = ((IT)0 - (IT)(c == m)) & ~(ka | kb);                               \
      IT kd = ((IT)0 - (IT)(d == m)) & ~(ka | kb | kc);                          \
      IT va = g & ka, vb = g & kb, vc = g & kc, vd = g & kd;                     \
      memcpy(&q0[2 * ow], &va, sizeof va);                                       \
      memcpy(&q0[2 * ow + 1], &vb, sizeof vb);                                   \
      memcpy(&q1[2 * ow], &vc, sizeof vc);                                       \
      memcpy(&q1[2 * ow + 1], &vd, sizeof vd);                                   \
    }                                                                            \
  }
DEF_POOL2_ROW(f32, float, uint32_t)
DEF_POOL2_ROW(f64, double, uint64_t)

#define DEF_POOL(S, T, UT, LOWEST)                                                   \
  /* offset of the first cell equal to m in the window (scan order), or -1 */    \
  static inline int64_t pool_first_##S(const pgeom *g, const T *xp, T m, int64_t z0, \
                                       int64_t z1, int64_t h0, int64_t h1,       \
                                       int64_t w0, int64_t w1) {                 \
    POOL_CELLS(g, z0, z1, h0, h1, w0, w1, e)                                     \
      if (xp[e] == m) return e;                                                  \
    return -1;                                                                   \
  }                                                                              \
  static void pool_fwd_##S(const pgeom *g, const T *x, T *y, int nt) {           \
    const int64_t H = g->H, W = g->W, Ho = g->Ho, Wo = g->Wo;                    \
    const int64_t DHW = g->D * H * W, Do = g->Do;                                \
    const int fast = g->nd < 3 && g->type == POOL_MAX && g->kh == 2 && g->kw == 2 && \
                     g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0 &&    \
                     2 * Ho <= H && 2 * Wo <= W;                                 \
    (void)nt;                                                                    \
    MX_OMP_FOR(nt)                                                               \
    for (int64_t pl = 0; pl < g->NC; pl++) {                                     \
      const T *xp = x + pl * DHW;                                                \
      T *yp = y + pl * Do * Ho * Wo;                                             \
      if (fast) {                                                                \
        for (int64_t oh = 0; oh < Ho; oh++) {                                    \
          const T *r0 = xp + 2 * oh * W, *r1 = r0 + W;                           \
          T *d = yp + oh * Wo;                                                   \
          for (int64_t ow = 0; ow < Wo; ow++) {                                  \
            T m = LOWEST, a = r0[2 * ow], b = r0[2 * ow + 1];                    \
            T e = r1[2 * ow], f = r1[2 * ow + 1];                                \
            if (a > m) m = a;                                                    \
            if (b > m) m = b;                                                    \
            if (e > m) m = e;                                                    \
            if (f > m) m = f;                                                    \
            d[ow] = m;                                                           \
          }                                                                      \
        }                                                                        \
        continue;                                                                \
      }                                                                          \
      if (g->whole && g->type != POOL_LP) {   /* one contiguous window */        \
        T m = LOWEST, acc = 0;                                                   \
        if (g->type == POOL_MAX)                                                 \
          for (int64_t e = 0; e < DHW; e++) m = xp[e] > m ? xp[e] : m;           \
        else                                                                     \
          for (int64_t e = 0; e < DHW; e++) acc += xp[e];                        \
        *yp = g->type == POOL_MAX ? m : g->type == POOL_SUM || DHW == 0 ? acc    \
              : acc / (T)DHW;                                                    \
        continue;                                                                \
      }                                                                          \
      FOR_POOL_OUTPUTS(od, oh, ow) {                                             \
            POOL_WINDOW(g, od, oh, ow, z0, z1, h0, h1, w0, w1, area);            \
            T *yo = yp + (od * Ho + oh) * Wo + ow;                               \
            if (g->type == POOL_MAX) {                                           \
              T m = LOWEST;                                                      \
              POOL_CELLS(g, z0, z1, h0, h1, w0, w1, e)                           \
                if (xp[e] > m) m = xp[e];                                        \
              *yo = m;                                                           \
            } else if (g->type == POOL_LP) {                                     \
              double acc = 0;                                                    \
              POOL_CELLS(g, z0, z1, h0, h1, w0, w1, e)                           \
                acc += lp_pow((double)xp[e], g->pv);                             \
              *yo = (T)lp_root(acc, g->pv);                                      \
            } else {                                                             \
              T acc = 0;                                                         \
              POOL_CELLS(g, z0, z1, h0, h1, w0, w1, e) acc += xp[e];             \
              if (g->type == POOL_AVG) acc = area > 0 ? acc / (T)area : (T)0;    \
              *yo = acc;                                                         \
            }                                                                    \
          }                                                                      \
    }                                                                            \
  }                                                                              \
  /* x, y: forward input and output (max and lp only) */                         \
  static void pool_bwd_##S(const pgeom *g, const T *dy, const T *x, const T *y,  \
                           T *dx, int nt) {                                      \
    const int64_t H = g->H, W = g->W, Ho = g->Ho, Wo = g->Wo;                    \
    const int64_t DHW = g->D * H * W, Do = g->Do, DoHoWo = Do * Ho * Wo;         \
    const int fast = g->nd < 3 && g->type == POOL_MAX && g->kh == 2 && g->kw == 2 && \
                     g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0 &&    \
                     2 * Ho <= H && 2 * Wo <= W;                                 \
    (void)nt;                                                                    \
    MX_OMP_FOR(nt)                                                               \
    for (int64_t pl = 0; pl < g->NC; pl++) {                                     \
      T *dxp = dx + pl * DHW;                                                    \
      const T *dyp = dy + pl * DoHoWo;                                           \
      const T *xp = x ? x + pl * DHW : NULL, *yp = y ? y + pl * DoHoWo : NULL;   \
      if (!fast || 2 * Ho != H || 2 * Wo != W)                                   \
        for (int64_t e = 0; e < DHW; e++) dxp[e] = 0;                            \
      if (fast) {                                                                \
        for (int64_t oh = 0; oh < Ho; oh++) {                                    \
          const T *r0 = xp + 2 * oh * W, *r1 = r0 + W;                           \
          T *q0 = dxp + 2 * oh * W, *q1 = q0 + W;                                \
          pool2x2_bwd_row_##S(r0, r1, yp + oh * Wo, dyp + oh * Wo, q0, q1, Wo);  \
        }                                                                        \
        continue;                                                                \
      }                                                                          \
      FOR_POOL_OUTPUTS(od, oh, ow) {                                             \
            POOL_WINDOW(g, od, oh, ow, z0, z1, h0, h1, w0, w1, area);            \
            const int64_t o = (od * Ho + oh) * Wo + ow;                          \
            const T gr = dyp[o];                                                 \
            if (g->type == POOL_MAX) {                                           \
              int64_t e = pool_first_##S(g, xp, yp[o], z0, z1, h0, h1, w0, w1);  \
              if (e >= 0) dxp[e] += gr;                                          \
            } else if (g->type == POOL_LP) {                                     \
              const double m = (double)yp[o];                                    \
              POOL_CELLS(g, z0, z1, h0, h1, w0, w1, e) {                         \
                double v = (double)xp[e];                                        \
                double f = g->pv == 1 ? 1.0 : g->pv == 2 ? v / m : (v / m) * (v / m); \
                dxp[e] += (T)((double)gr * f);                                   \
              }                                                                  \
            } else {                                                             \
              const T v = g->type == POOL_AVG ? (area > 0 ? gr / (T)area : (T)0) : gr; \
              POOL_CELLS(g, z0, z1, h0, h1, w0, w1, e) dxp[e] += v;              \
            }                                                                    \
          }                                                                      \
    }                                                                            \
  }

DEF_POOL(f32, float, uint32_t, -FLT_MAX)
DEF_POOL(f64, double, uint64_t, -DBL_MAX)

/* 2-D max, avg and sum pooling on the blocked layout (mx_layout_fn): a
 * plane is 16 channels of one image, the channels are the vector lanes;
 * per channel the same cells in the same order as the plain kernels.  An
 * output of one pixel is the same bytes in both layouts. */
#define PLB 16
/* One plane (16 channels of one image): every output window, the lanes
 * as the vector. */
MX_CLONES static void poolb_plane_fwd(const pgeom *g, const float *restrict xp, float *restrict yp) {
  const int mx = g->type == POOL_MAX, avg = g->type == POOL_AVG;
  for (int64_t oh = 0; oh < g->Ho; oh++)
    for (int64_t ow = 0; ow < g->Wo; ow++) {
      POOL_WINDOW(g, 0, oh, ow, z0, z1, h0, h1, w0, w1, area);
      (void)z0; (void)z1;
      float acc[PLB];
      for (int l = 0; l < PLB; l++) acc[l] = mx ? -FLT_MAX : 0.0f;
      for (int64_t h = h0; h < h1; h++)
        for (int64_t w = w0; w < w1; w++) {
          const float *c = xp + (h * g->W + w) * PLB;
          if (mx) {
            POOL_SIMD
            for (int l = 0; l < PLB; l++) acc[l] = c[l] > acc[l] ? c[l] : acc[l];
          } else {
            POOL_SIMD
            for (int l = 0; l < PLB; l++) acc[l] += c[l];
          }
        }
      float *yo = yp + (oh * g->Wo + ow) * PLB;
      if (avg) {
        for (int l = 0; l < PLB; l++) yo[l] = area > 0 ? acc[l] / (float)area : 0.0f;
      } else {
        for (int l = 0; l < PLB; l++) yo[l] = acc[l];
      }
    }
}

/* The gradient of one plane (dxp zeroed by the caller): max to the first
 * cell equal to the maximum, per lane; avg and sum spread it. */
MX_CLONES static void poolb_plane_bwd(const pgeom *g, const float *restrict xp, const float *restrict yp,
                                      const float *restrict dyp, float *restrict dxp) {
  for (int64_t oh = 0; oh < g->Ho; oh++)
    for (int64_t ow = 0; ow < g->Wo; ow++) {
      POOL_WINDOW(g, 0, oh, ow, z0, z1, h0, h1, w0, w1, area);
      (void)z0; (void)z1;
      const int64_t o = (oh * g->Wo + ow) * PLB;
      if (g->type == POOL_MAX) {
        int done[PLB] = {0};
        for (int64_t h = h0; h < h1; h++)
          for (int64_t w = w0; w < w1; w++) {
            const float *c = xp + (h * g->W + w) * PLB;
            float *d = dxp + (h * g->W + w) * PLB;
            POOL_SIMD
            for (int l = 0; l < PLB; l++) {
              int hit = !done[l] && c[l] == yp[o + l];
              d[l] += hit ? dyp[o + l] : 0.0f;
              done[l] |= hit;
            }
          }
        continue;
      }
      float v[PLB];
      for (int l = 0; l < PLB; l++)
        v[l] = g->type == POOL_AVG ? (area > 0 ? dyp[o + l] / (float)area : 0.0f) : dyp[o + l];
      for (int64_t h = h0; h < h1; h++)
        for (int64_t w = w0; w < w1; w++) {
          float *d = dxp + (h * g->W + w) * PLB;
          POOL_SIMD
          for (int l = 0; l < PLB; l++) d[l] += v[l];
        }
    }
}

static void poolb_fwd(const pgeom *g, const float *x, float *y, int nt) {
  const int64_t HW = g->H * g->W, HoWo = g->Ho * g->Wo;
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t pl = 0; pl < g->NC / PLB; pl++) poolb_plane_fwd(g, x + pl * HW * PLB, y + pl * HoWo * PLB);
}

static void poolb_bwd(const pgeom *g, const float *dy, const float *x, const float *y, float *dx, int nt) {
  const int64_t HW = g->H * g->W, HoWo = g->Ho * g->Wo;
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t pl = 0; pl < g->NC / PLB; pl++) {
    float *dxp = dx + pl * HW * PLB;
    memset(dxp, 0, (size_t)(HW * PLB) * sizeof(float));
    poolb_plane_bwd(g, x ? x + pl * HW * PLB : NULL, y ? y + pl * HoWo * PLB : NULL, dy + pl * HoWo * PLB,
                    dxp);
  }
}

/* Data and output in either layout, the same for both: 2-D max, avg and
 * sum pooling. */
static void lay_pool(const mx_param_value *p, int nin, const mx_shape *in, int nout,
                     const mx_shape *out, unsigned char *mode) {
  (void)nout; (void)out;
  if (in[0].ndim == 4 && p[PP_POOL_TYPE].i != POOL_LP) mode[0] = mode[nin] = MX_LAY_TIED;
}

static mx_status k_pool(KARGS) {
  (void)nin; (void)nout; (void)req;
  pgeom g;
  mx_status rc = pool_geom(p, &in[0]->shape, &g);
  if (rc) return rc;
  int blk = (c->blocked_in & 1u) != 0;   /* planes of 16 channels */
  int nt = task_threads(c, blk ? g.NC / PLB : g.NC, g.NC * (g.D * g.H * g.W + g.Do * g.Ho * g.Wo));
  if (blk) {
    poolb_fwd(&g, MX_PTR(in[0]), MX_PTR(out[0]), nt);
    return MX_OK;
  }
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    if (sizeof(T) == sizeof(float)) pool_fwd_f32(&g, MX_PTR(in[0]), MX_PTR(out[0]), nt);
    else pool_fwd_f64(&g, MX_PTR(in[0]), MX_PTR(out[0]), nt);
  });
  return MX_OK;
}

static mx_status b_pool(BARGS) {
  (void)nout; (void)nin;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  pgeom g;
  mx_status rc = pool_geom(p, &ig[0]->shape, &g);
  if (rc) return rc;
  int need = g.type == POOL_MAX || g.type == POOL_LP;
  const void *x = need ? MX_PTR(in[0]) : NULL, *y = need ? MX_PTR(out[0]) : NULL;
  int blk = (c->blocked_in & 1u) != 0;
  int nt = task_threads(c, blk ? g.NC / PLB : g.NC, g.NC * (g.D * g.H * g.W + g.Do * g.Ho * g.Wo));
  if (blk) {
    poolb_bwd(&g, MX_PTR(og[0]), x, y, MX_PTR(ig[0]), nt);
    return MX_OK;
  }
  MX_FLOAT_SWITCH(ig[0]->dtype, T, {
    if (sizeof(T) == sizeof(float)) pool_bwd_f32(&g, MX_PTR(og[0]), x, y, MX_PTR(ig[0]), nt);
    else pool_bwd_f64(&g, MX_PTR(og[0]), x, y, MX_PTR(ig[0]), nt);
  });
  return MX_OK;
}

/* ====================================================== registry */

static const char *const in_conv[] = {"data", "weight", "bias", NULL};
static const char *const in_data[] = {"data", NULL};

#define CONV_COMMON_TAIL(E)                                                             \
  [E##_WORKSPACE] = {"workspace", MX_PARAM_INT, 0, "1024", NULL,                        \
   "Workspace limit in MB (accepted for compatibility; ignored)."},                     \
  [E##_NO_BIAS] = {"no_bias", MX_PARAM_BOOL, 0, NO_BIAS_DEFAULT, NULL, "Whether to disable the bias."}, \
  [E##_CUDNN_TUNE] = {"cudnn_tune", MX_PARAM_ENUM, MX_PF_OPTIONAL, NULL, "off|limited_workspace|fastest", \
   "Algorithm selection: on the CPU, limited_workspace or fastest time the oneDNN and built-in implementations on the first calls and keep the fastest; off or unset use a fixed choice (MXNET_CUDNN_AUTOTUNE_DEFAULT=1 tunes unset layers)."}, \
  [E##_CUDNN_OFF] = {"cudnn_off", MX_PARAM_BOOL, 0, "False", NULL,                      \
   "Turn off cuDNN (accepted for compatibility; ignored on the CPU)."},                 \
  [E##_LAYOUT] = {"layout", MX_PARAM_ENUM, MX_PF_OPTIONAL, NULL, "NCW|NCHW|NCDHW|NHWC|NDHWC", \
   "Data layout; only the channels-first NCW (1-D), NCHW (2-D) and NCDHW (3-D) are supported (the default)."}

#define NO_BIAS_DEFAULT "False"
static const mx_param_desc p_conv[CP_NPARAMS] = {
  [CP_KERNEL] = {"kernel", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL,
   "Kernel size: one entry (1-D), two (2-D; in R c(width, height)) or three (3-D; in R c(width, height, depth))."},
  [CP_STRIDE] = {"stride", MX_PARAM_SHAPE, 0, "()", NULL, "Stride per spatial axis (default 1)."},
  [CP_DILATE] = {"dilate", MX_PARAM_SHAPE, 0, "()", NULL, "Dilation per spatial axis (default 1)."},
  [CP_PAD] = {"pad", MX_PARAM_SHAPE, 0, "()", NULL, "Zero padding on both sides per spatial axis (default 0)."},
  [CP_NUM_FILTER] = {"num_filter", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of output channels."},
  [CP_NUM_GROUP] = {"num_group", MX_PARAM_INT, 0, "1", NULL,
   "Number of groups: input and output channels are split into this many independent convolutions."},
  CONV_COMMON_TAIL(CP),
};
#undef NO_BIAS_DEFAULT

#define NO_BIAS_DEFAULT "True"
static const mx_param_desc p_deconv[DP_NPARAMS] = {
  [DP_KERNEL] = {"kernel", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL,
   "Kernel size: one entry (1-D), two (2-D; in R c(width, height)) or three (3-D; in R c(width, height, depth))."},
  [DP_STRIDE] = {"stride", MX_PARAM_SHAPE, 0, "()", NULL, "Stride per spatial axis (default 1)."},
  [DP_DILATE] = {"dilate", MX_PARAM_SHAPE, 0, "()", NULL, "Dilation per spatial axis (default 1)."},
  [DP_PAD] = {"pad", MX_PARAM_SHAPE, 0, "()", NULL,
   "Padding removed from both sides of the output per spatial axis (default 0)."},
  [DP_ADJ] = {"adj", MX_PARAM_SHAPE, 0, "()", NULL, "Extra rows/columns added at the end of the output (default 0)."},
  [DP_TARGET] = {"target_shape", MX_PARAM_SHAPE, 0, "()", NULL,
   "Output spatial size; when given, pad and adj are computed from it (as MXNet does)."},
  [DP_NUM_FILTER] = {"num_filter", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of output channels."},
  [DP_NUM_GROUP] = {"num_group", MX_PARAM_INT, 0, "1", NULL, "Number of groups."},
  CONV_COMMON_TAIL(DP),
};
#undef NO_BIAS_DEFAULT

static const mx_param_desc p_pool[PP_NPARAMS] = {
  [PP_KERNEL] = {"kernel", MX_PARAM_SHAPE, 0, "()", NULL,
   "Pooling window: one entry (1-D), two (2-D; in R c(width, height)) or three (3-D; in R c(width, height, depth)); not needed with global_pool."},
  [PP_POOL_TYPE] = {"pool_type", MX_PARAM_ENUM, 0, "max", "max|avg|sum|lp", "Pooling type."},
  [PP_GLOBAL] = {"global_pool", MX_PARAM_BOOL, 0, "False", NULL,
   "Pool over the whole spatial extent (kernel, stride and pad are ignored)."},
  [PP_CUDNN_OFF] = {"cudnn_off", MX_PARAM_BOOL, 0, "False", NULL, "Accepted for compatibility; ignored on the CPU."},
  [PP_CONVENTION] = {"pooling_convention", MX_PARAM_ENUM, 0, "valid", "valid|full|same",
   "Output size: valid floor((in + 2 pad - kernel) / stride) + 1, full uses ceil, same ceil(in / stride) (padding computed, pad must be 0)."},
  [PP_STRIDE] = {"stride", MX_PARAM_SHAPE, 0, "()", NULL, "Stride per spatial axis (default 1)."},
  [PP_PAD] = {"pad", MX_PARAM_SHAPE, 0, "()", NULL, "Padding per spatial axis (default 0)."},
  [PP_P_VALUE] = {"p_value", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL, "p of lp pooling (1, 2 or 3)."},
  [PP_COUNT_PAD] = {"count_include_pad", MX_PARAM_BOOL, MX_PF_OPTIONAL, NULL, NULL,
   "avg pooling: divide by the window size including padding (default TRUE)."},
  [PP_LAYOUT] = {"layout", MX_PARAM_ENUM, MX_PF_OPTIONAL, NULL, "NCW|NCHW|NCDHW|NWC|NHWC|NDHWC",
   "Data layout; only the channels-first NCW (1-D), NCHW (2-D) and NCDHW (3-D) are supported (the default)."},
};

#define CONV_DOC                                                                       \
  "Convolution (1-D, 2-D or 3-D) with an optional bias. In engine (C) order data is "  \
  "(batch, channel, [[depth,] height,] width), weight (num_filter, channel / "         \
  "num_group, [[kd,] kh,] kw) and the output (batch, num_filter, [[out_d,] out_h,] "   \
  "out_w) with out = floor((in + 2 pad - dilate (kernel - 1) - 1) / stride) + 1; in R " \
  "the dimensions are reversed (data c(width, height, channel, batch), 3-D "           \
  "c(width, height, depth, channel, batch)). float32 uses oneDNN when available, "     \
  "otherwise (and for float64) im2col (vol2col in 3-D) with matrix products."
#define DECONV_DOC                                                                     \
  "Deconvolution (transposed convolution, 1-D, 2-D or 3-D): the gradient of a "        \
  "convolution with respect to its data. In engine (C) order data is (batch, "         \
  "channel, [[depth,] height,] width), weight (channel, num_filter / num_group, "      \
  "[[kd,] kh,] kw) and the output (batch, num_filter, [[out_d,] out_h,] out_w) with "  \
  "out = (in - 1) stride - 2 pad + dilate (kernel - 1) + 1 + adj, or target_shape "    \
  "when given."
#define SLIDING_PARAMS(P)                                                                  \
  [P##_KERNEL] = {"kernel", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL,                    \
   "Sliding kernel size: one entry (1-D), two (2-D; in R c(width, height)) or three (3-D)."}, \
  [P##_STRIDE] = {"stride", MX_PARAM_SHAPE, 0, "()", NULL, "Stride per spatial axis (default 1)."}, \
  [P##_DILATE] = {"dilate", MX_PARAM_SHAPE, 0, "()", NULL, "Dilation per spatial axis (default 1)."}, \
  [P##_PAD] = {"pad", MX_PARAM_SHAPE, 0, "()", NULL, "Zero padding on both sides per spatial axis (default 0)."}
static const mx_param_desc p_im2col[IM_NPARAMS] = {SLIDING_PARAMS(IM)};
static const mx_param_desc p_col2im[CI_NPARAMS] = {
  [CI_OUTPUT_SIZE] = {"output_size", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL,
   "Spatial size of the images (as 'kernel': in R c(width, height))."},
  SLIDING_PARAMS(CI)};
#define IM2COL_DOC                                                                     \
  "The sliding blocks of images (batch, channel, spatial...) as columns: output "      \
  "(batch, channel x prod(kernel), blocks), blocks being the positions of the "        \
  "convolution with the same kernel, stride, dilate and pad; rows channel-major, "     \
  "then kernel offsets. Its gradient is col2im."
#define COL2IM_DOC                                                                     \
  "Adds the columns of (batch, channel x prod(kernel), blocks) back into images of "   \
  "output_size (overlapping blocks are summed): the gradient of im2col, whose "        \
  "gradient it has."
#define POOL_DOC                                                                       \
  "Pooling (max, avg, sum or lp; 1-D, 2-D or 3-D) over windows of each channel. Max "  \
  "pooling ignores padded cells and sends the gradient to the first maximum of each "  \
  "window; avg divides by the window size including padding unless "                   \
  "count_include_pad is FALSE; global_pool pools over the whole spatial extent."

const mx_op mx_ops_conv[] = {
  {.name = "Convolution", .doc = CONV_DOC, .num_inputs = 3, .input_names = in_conv,
   .num_outputs = 1, .params = p_conv, .num_params = MX_NPARAMS(p_conv),
   .infer_shape = shape_conv, .infer_type = type_float, .cpu = k_conv, .backward = b_conv,
   .flags = MX_OPF_NO_MIRROR, .backward_deps = deps_conv, .list_inputs = list_conv,
   .state_free = conv_state_free, .state_bytes = conv_state_bytes, .workspace = ws_conv,
   .forward_epilogue = e_conv, .recompute_cost = cost_conv, .layouts = lay_conv},
  {.name = "Deconvolution", .doc = DECONV_DOC, .num_inputs = 3, .input_names = in_conv,
   .num_outputs = 1, .params = p_deconv, .num_params = MX_NPARAMS(p_deconv),
   .infer_shape = shape_deconv, .infer_type = type_float, .cpu = k_deconv, .backward = b_deconv,
   .flags = MX_OPF_NO_MIRROR, .backward_deps = deps_conv, .list_inputs = list_deconv,
   .state_free = conv_state_free, .state_bytes = conv_state_bytes, .workspace = ws_deconv},
  {.name = "Pooling", .doc = POOL_DOC, .num_inputs = 1, .input_names = in_data, .num_outputs = 1,
   .params = p_pool, .num_params = MX_NPARAMS(p_pool), .infer_shape = shape_pool,
   .infer_type = type_float, .cpu = k_pool, .backward = b_pool, .backward_deps = deps_pool,
   .layouts = lay_pool},
  {.name = "im2col", .doc = IM2COL_DOC, .num_inputs = 1, .input_names = in_data, .num_outputs = 1,
   .params = p_im2col, .num_params = MX_NPARAMS(p_im2col), .infer_shape = shape_im2col,
   .infer_type = type_float, .cpu = k_im2col, .backward = b_im2col,
   .backward_deps = mx_deps_out_grads},
  {.name = "col2im", .doc = COL2IM_DOC, .num_inputs = 1, .input_names = in_data, .num_outputs = 1,
   .params = p_col2im, .num_params = MX_NPARAMS(p_col2im), .infer_shape = shape_col2im,
   .infer_type = type_float, .cpu = k_col2im, .backward = b_col2im,
   .backward_deps = mx_deps_out_grads},
  {.name = "_Convolution_builtin",
   .doc = "Convolution computed with the built-in im2col kernels (tests the fallback).",
   .num_inputs = 3, .input_names = in_conv, .num_outputs = 1, .params = p_conv,
   .num_params = MX_NPARAMS(p_conv), .infer_shape = shape_conv, .infer_type = type_float,
   .cpu = k_conv_builtin, .backward = b_conv_builtin, .flags = MX_OPF_INTERNAL | MX_OPF_NO_MIRROR,
   .backward_deps = deps_conv, .list_inputs = list_conv, .workspace = ws_conv_builtin,
   .forward_epilogue = e_conv_builtin, .recompute_cost = cost_conv},
  {.name = "_Deconvolution_builtin",
   .doc = "Deconvolution computed with the built-in kernels (tests the fallback).",
   .num_inputs = 3, .input_names = in_conv, .num_outputs = 1, .params = p_deconv,
   .num_params = MX_NPARAMS(p_deconv), .infer_shape = shape_deconv, .infer_type = type_float,
   .cpu = k_deconv_builtin, .backward = b_deconv_builtin,
   .flags = MX_OPF_INTERNAL | MX_OPF_NO_MIRROR, .backward_deps = deps_conv,
   .list_inputs = list_deconv, .workspace = ws_deconv_builtin},
  {.name = NULL},
};
