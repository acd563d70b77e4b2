/*
 * cudnn-desc.c -- Convolution / Deconvolution / Pooling geometry from op
 * params (the CPU's conventions, src/ops/nn-conv.c) and the cuDNN
 * descriptors built from it.  No device is needed: cuDNN's descriptor
 * functions run without a GPU, so tools/cudnn-shape-check links this file
 * and compares cuDNN's output sizes with the CPU's shape inference.
 */
#include "cudnn-desc.h"

#include <limits.h>
#include <string.h>

int mx_dnn_choice_pos(const char *choices, const char *choice) {
  size_t n = strlen(choice);
  int k = 0;
  for (const char *s = choices; s && *s; k++) {
    const char *bar = strchr(s, '|');
    size_t len = bar ? (size_t)(bar - s) : strlen(s);
    if (len == n && strncmp(s, choice, n) == 0) return k;
    s = bar ? bar + 1 : NULL;
  }
  return -1;
}

/* ------------------------------------------------ tuples */

/* A SHAPE param as the CPU reads it (nn-conv.c read_tuple): empty -> def;
 * nd entries, or one entry used for both axes; each >= lo.  Result in
 * (h, w) order; 1-D: h is 1 (lo > 0) or 0.  -1 when the CPU would reject. */
static int read2(const mx_param_value *v, int nd, int64_t def, int64_t lo, int64_t out[2]) {
  int64_t t[2] = {def, def};
  if (v->is_set && v->n > 0) {
    if (v->n != nd && v->n != 1) return -1;
    for (int k = 0; k < v->n; k++) {
      if (v->tup[k] < lo || v->tup[k] > ((int64_t)1 << 30)) return -1;
      t[k] = v->tup[k];
    }
    if (v->n == 1) t[1] = t[0];
  }
  out[0] = nd == 2 ? t[0] : (lo > 0 ? 1 : 0);
  out[1] = nd == 2 ? t[1] : t[0];
  return 0;
}

static int layout_ok(const mx_param_value *v, int nd, int ncw, int nchw) {
  if (!v->is_set) return 1;
  return v->i == (nd == 1 ? ncw : nchw);
}

static int fits_int(const int64_t *v, int n) {
  for (int k = 0; k < n; k++)
    if (v[k] < 0 || v[k] > INT_MAX) return 0;
  return 1;
}

const char *mx_dnn_desc_why(const int64_t dims[][4], int n) {
  for (int t = 0; t < n; t++) {
    const int64_t *d = dims[t];
    if (!fits_int(d, 4)) return "a dimension exceeds cuDNN's int range";
    /* d0 d1 d2 d3 > INT_MAX without overflow (each factor < 2^31) */
    if (d[0] && d[1] && d[2] && d[3] && d[0] * d[1] > INT_MAX / (d[2] * d[3]))
      return "a tensor of 2^31 elements or more (cuDNN's legacy descriptors take fewer)";
  }
  return NULL;
}

#define REFUSE(msg) do { *why = (msg); return -1; } while (0)

/* ------------------------------------------------ convolution */

/* Deconvolution: the convolution it transposes (nn-conv.c deconv_geom). */
static int deconv_fill(const mx_param_value *p, const mx_dnn_conv_ix *ix, const int64_t k[2],
                       const int64_t s[2], const int64_t d[2], const int64_t pd[2],
                       mx_dnn_conv *g, const char **why) {
  int64_t adj[2], tgt[2];
  if (read2(&p[ix->adj], g->nd, 0, 0, adj) || read2(&p[ix->target], g->nd, 0, 0, tgt))
    REFUSE("invalid adj or target_shape");
  int has_tgt = tgt[1] != 0 || (g->nd == 2 && tgt[0] != 0);
  if (g->nd == 1) tgt[0] = 1;
  int64_t in[2] = {g->Ho, g->Wo}, o[2], pad[2], ad[2];
  for (int a = 0; a < 2; a++) {
    int64_t dk = d[a] * (k[a] - 1) + 1;
    if (in[a] < 1) REFUSE("empty spatial axis");
    int64_t full = s[a] * (in[a] - 1) + dk;
    if (has_tgt) {
      int64_t tot = full - tgt[a];
      if (tot < 0) REFUSE("target_shape too large");
      ad[a] = tot % 2;
      pad[a] = (tot + 1) / 2;
    } else {
      pad[a] = pd[a];
      ad[a] = adj[a];
    }
    o[a] = full - 2 * pad[a] + ad[a];
    if (o[a] < 1) REFUSE("pad too large");
    /* cuDNN pads symmetrically: the transposed convolution's output size
     * (H + 2 pad - dk) / s + 1 equals the data's only when adj < stride */
    if (ad[a] >= s[a]) REFUSE("Deconvolution with adj (or target_shape) giving adj >= stride "
                              "(cuDNN pads symmetrically)");
  }
  g->H = o[0];
  g->W = o[1];
  g->ph = pad[0];
  g->pw = pad[1];
  g->adj_h = ad[0];
  g->adj_w = ad[1];
  return 0;
}

int mx_dnn_conv_geom(const mx_param_value *p, const mx_dnn_conv_ix *ix, int deconv,
                     const mx_shape *data, mx_dnn_conv *g, const char **why) {
  memset(g, 0, sizeof *g);
  const mx_param_value *kern = &p[ix->kernel];
  int nd = kern->is_set ? kern->n : 0;
  if (nd != 1 && nd != 2) REFUSE("only 1-D and 2-D convolutions");
  if (!layout_ok(&p[ix->layout], nd, ix->layout_ncw, ix->layout_nchw))
    REFUSE("only the layouts NCW (1-D) and NCHW (2-D)");
  if (data->ndim != nd + 2) REFUSE("data dimensions do not match the kernel");
  int64_t k[2], s[2], d[2], pd[2];
  if (read2(kern, nd, 1, 1, k) || read2(&p[ix->stride], nd, 1, 1, s) ||
      read2(&p[ix->dilate], nd, 1, 1, d) || read2(&p[ix->pad], nd, 0, 0, pd))
    REFUSE("invalid kernel, stride, dilate or pad");
  g->nd = nd;
  g->deconv = deconv;
  g->no_bias = (int)p[ix->no_bias].i;
  g->tune = p[ix->cudnn_tune].is_set ? (p[ix->cudnn_tune].i == ix->tune_fastest ? 2
                                        : p[ix->cudnn_tune].i == ix->tune_limited ? 1 : 0)
                                     : -1;
  g->ws_mb = p[ix->workspace].i;
  g->N = data->d[0];
  g->G = p[ix->num_group].i;
  g->kh = k[0]; g->kw = k[1];
  g->sh = s[0]; g->sw = s[1];
  g->dh = d[0]; g->dw = d[1];
  int64_t din = data->d[1], dh = nd == 2 ? data->d[2] : 1, dw = data->d[data->ndim - 1];
  if (g->G < 1 || din % g->G || p[ix->num_filter].i % g->G) REFUSE("num_group must divide the channels");
  if (!deconv) {
    g->C = din; g->H = dh; g->W = dw;
    g->F = p[ix->num_filter].i;
    g->ph = pd[0]; g->pw = pd[1];
    int64_t in[2] = {dh, dw}, o[2];
    for (int a = 0; a < 2; a++) {
      int64_t dk = d[a] * (k[a] - 1) + 1, span = in[a] + 2 * pd[a];
      if (span < dk) REFUSE("kernel larger than the padded input");
      o[a] = (span - dk) / s[a] + 1;
    }
    g->Ho = o[0]; g->Wo = o[1];
  } else {
    g->F = din; g->Ho = dh; g->Wo = dw;
    g->C = p[ix->num_filter].i;
    if (deconv_fill(p, ix, k, s, d, pd, g, why)) return -1;
  }
  int64_t all[] = {g->N, g->C, g->H, g->W, g->F, g->Ho, g->Wo, g->G, g->kh, g->kw,
                   g->sh, g->sw, g->dh, g->dw, g->ph, g->pw};
  if (!fits_int(all, (int)(sizeof all / sizeof all[0]))) REFUSE("a dimension exceeds cuDNN's int range");
  const int64_t xwy[3][4] = {{g->N, g->C, g->H, g->W}, {g->F, g->C / g->G, g->kh, g->kw},
                             {g->N, g->F, g->Ho, g->Wo}};
  const char *big = mx_dnn_desc_why(xwy, 3);
  if (big) REFUSE(big);
  return 0;
}

/* ------------------------------------------------ pooling */

int mx_dnn_pool_geom(const mx_param_value *p, const mx_dnn_pool_ix *ix, const mx_shape *data,
                     mx_dnn_pool *g, const char **why) {
  memset(g, 0, sizeof *g);
  int type = (int)p[ix->pool_type].i;
  if (type != ix->type_max && type != ix->type_avg)
    REFUSE("pool_type 'sum' and 'lp' have no cuDNN mode (not available on the GPU)");
  int glob = (int)p[ix->global_pool].i, nd;
  if (glob) {
    if (data->ndim != 3 && data->ndim != 4) REFUSE("only 1-D and 2-D pooling");
    nd = data->ndim - 2;
  } else {
    nd = p[ix->kernel].is_set ? p[ix->kernel].n : 0;
    if (nd != 1 && nd != 2) REFUSE("only 1-D and 2-D pooling");
    if (data->ndim != nd + 2) REFUSE("data dimensions do not match the kernel");
  }
  if (!layout_ok(&p[ix->layout], nd, ix->layout_ncw, ix->layout_nchw))
    REFUSE("only the layouts NCW (1-D) and NCHW (2-D)");
  g->nd = nd;
  g->max = type == ix->type_max;
  g->count_pad = p[ix->count_pad].is_set ? (int)p[ix->count_pad].i : 1;
  g->N = data->d[0];
  g->C = data->d[1];
  g->H = nd == 2 ? data->d[2] : 1;
  g->W = data->d[data->ndim - 1];
  int64_t k[2], s[2] = {1, 1}, pd[2] = {0, 0}, in[2] = {g->H, g->W}, o[2];
  if (glob) {
    k[0] = g->H; k[1] = g->W;
    o[0] = o[1] = 1;
  } else {
    if (read2(&p[ix->kernel], nd, 1, 1, k) || read2(&p[ix->stride], nd, 1, 1, s) ||
        read2(&p[ix->pad], nd, 0, 0, pd))
      REFUSE("invalid kernel, stride or pad");
    int conv = (int)p[ix->convention].i;
    for (int a = 0; a < 2; a++) {
      if (conv == ix->conv_same) {
        /* nn-conv.c pool_geom: out ceil(in / s), padding split with the
         * smaller half before; symmetric only when the total is even */
        if (pd[a] != 0) REFUSE("pad must be 0 with pooling_convention 'same'");
        int64_t oa = (in[a] + s[a] - 1) / s[a], tot = (oa - 1) * s[a] + k[a] - in[a];
        if (tot < 0) tot = 0;
        if (tot % 2) REFUSE("pooling_convention 'same' with uneven padding (cuDNN pads symmetrically)");
        pd[a] = tot / 2;
      }
      int64_t span = in[a] + 2 * pd[a];
      if (span < k[a]) REFUSE("kernel larger than the padded input");
      o[a] = (span - k[a]) / s[a] + 1;
      if (conv == ix->conv_full && (span - k[a]) % s[a] != 0)
        REFUSE("pooling_convention 'full' with a partial last window (cuDNN has no ceil mode)");
      if (pd[a] >= k[a]) REFUSE("pad must be smaller than the kernel for cuDNN");
    }
  }
  g->kh = k[0]; g->kw = k[1];
  g->sh = s[0]; g->sw = s[1];
  g->ph = pd[0]; g->pw = pd[1];
  g->Ho = o[0]; g->Wo = o[1];
  int64_t all[] = {g->N, g->C, g->H, g->W, g->Ho, g->Wo, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw};
  if (!fits_int(all, (int)(sizeof all / sizeof all[0]))) REFUSE("a dimension exceeds cuDNN's int range");
  const int64_t xy[2][4] = {{g->N, g->C, g->H, g->W}, {g->N, g->C, g->Ho, g->Wo}};
  const char *big = mx_dnn_desc_why(xy, 2);
  if (big) REFUSE(big);
  return 0;
}

/* ------------------------------------------------ descriptors */

int mx_dnn_cudnn_dtype(int dtype) {
  switch (dtype) {
    case MX_FLOAT32: return CUDNN_DATA_FLOAT;
    case MX_FLOAT64: return CUDNN_DATA_DOUBLE;
    case MX_FLOAT16: return CUDNN_DATA_HALF;
    case MX_BFLOAT16: return CUDNN_DATA_BFLOAT16;
    default: return -1;
  }
}

static mx_status dtype_of(int dtype, cudnnDataType_t *out) {
  int t = mx_dnn_cudnn_dtype(dtype);
  if (t < 0) return mx_error(MX_ERR_DTYPE, "cuDNN has no data type for this dtype (%d)", dtype);
  *out = (cudnnDataType_t)t;
  return MX_OK;
}

mx_status mx_dnn_tensor4(cudnnTensorDescriptor_t *t, int dtype, int64_t n, int64_t c, int64_t h,
                         int64_t w) {
  cudnnDataType_t dt;
  mx_status rc = dtype_of(dtype, &dt);
  if (rc) return rc;
  const int64_t v[1][4] = {{n, c, h, w}};
  const char *why = mx_dnn_desc_why(v, 1);
  if (why) return mx_error(MX_ERR_UNSUPPORTED, "%s", why);
  MX_CUDNN_TRY(cudnnCreateTensorDescriptor(t));
  cudnnStatus_t e = cudnnSetTensor4dDescriptor(*t, CUDNN_TENSOR_NCHW, dt, (int)n, (int)c, (int)h, (int)w);
  if (e != CUDNN_STATUS_SUCCESS) {
    (void)cudnnDestroyTensorDescriptor(*t);
    *t = NULL;
    return mx_cudnn_check(e, "cudnnSetTensor4dDescriptor");
  }
  return MX_OK;
}

void mx_dnn_conv_desc_free(mx_dnn_conv_desc *d) {
  if (d->x) (void)cudnnDestroyTensorDescriptor(d->x);
  if (d->y) (void)cudnnDestroyTensorDescriptor(d->y);
  if (d->w) (void)cudnnDestroyFilterDescriptor(d->w);
  if (d->conv) (void)cudnnDestroyConvolutionDescriptor(d->conv);
  memset(d, 0, sizeof *d);
}

mx_status mx_dnn_conv_out_dims(const mx_dnn_conv_desc *d, int out[4]) {
  MX_CUDNN_TRY(cudnnGetConvolution2dForwardOutputDim(d->conv, d->x, d->w, &out[0], &out[1],
                                                     &out[2], &out[3]));
  return MX_OK;
}

static mx_status conv_desc_fill(const mx_dnn_conv *g, int dtype, mx_dnn_conv_desc *d) {
  cudnnDataType_t dt, ct;
  mx_status rc = dtype_of(dtype, &dt);
  if (rc) return rc;
  ct = dtype == MX_FLOAT64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  if ((rc = mx_dnn_tensor4(&d->x, dtype, g->N, g->C, g->H, g->W))) return rc;
  MX_CUDNN_TRY(cudnnCreateFilterDescriptor(&d->w));
  MX_CUDNN_TRY(cudnnSetFilter4dDescriptor(d->w, dt, CUDNN_TENSOR_NCHW, (int)g->F,
                                          (int)(g->C / g->G), (int)g->kh, (int)g->kw));
  MX_CUDNN_TRY(cudnnCreateConvolutionDescriptor(&d->conv));
  MX_CUDNN_TRY(cudnnSetConvolution2dDescriptor(d->conv, (int)g->ph, (int)g->pw, (int)g->sh,
                                               (int)g->sw, (int)g->dh, (int)g->dw,
                                               CUDNN_CROSS_CORRELATION, ct));
  MX_CUDNN_TRY(cudnnSetConvolutionGroupCount(d->conv, (int)g->G));
  int o[4];
  if ((rc = mx_dnn_conv_out_dims(d, o))) return rc;
  if (o[0] != g->N || o[1] != g->F || o[2] != g->Ho || o[3] != g->Wo)
    return mx_error(MX_ERR_UNSUPPORTED, "cuDNN's convolution output (%d, %d, %d, %d) differs from "
                    "the expected (%lld, %lld, %lld, %lld)", o[0], o[1], o[2], o[3],
                    (long long)g->N, (long long)g->F, (long long)g->Ho, (long long)g->Wo);
  return mx_dnn_tensor4(&d->y, dtype, g->N, g->F, g->Ho, g->Wo);
}

mx_status mx_dnn_conv_desc_make(const mx_dnn_conv *g, int dtype, mx_dnn_conv_desc *d) {
  memset(d, 0, sizeof *d);
  mx_status rc = conv_desc_fill(g, dtype, d);
  if (rc) mx_dnn_conv_desc_free(d);
  return rc;
}

void mx_dnn_pool_desc_free(mx_dnn_pool_desc *d) {
  if (d->x) (void)cudnnDestroyTensorDescriptor(d->x);
  if (d->y) (void)cudnnDestroyTensorDescriptor(d->y);
  if (d->pool) (void)cudnnDestroyPoolingDescriptor(d->pool);
  memset(d, 0, sizeof *d);
}

mx_status mx_dnn_pool_out_dims(const mx_dnn_pool_desc *d, int out[4]) {
  MX_CUDNN_TRY(cudnnGetPooling2dForwardOutputDim(d->pool, d->x, &out[0], &out[1], &out[2], &out[3]));
  return MX_OK;
}

static mx_status pool_desc_fill(const mx_dnn_pool *g, int dtype, mx_dnn_pool_desc *d) {
  mx_status rc = mx_dnn_tensor4(&d->x, dtype, g->N, g->C, g->H, g->W);
  if (rc) return rc;
  /* max: padded cells never win and NaN is skipped (as the CPU: only
   * x > max replaces the maximum); avg: divide by the whole window
   * (count_include_pad, the default) or by its cells inside the data */
  cudnnPoolingMode_t mode = g->max ? CUDNN_POOLING_MAX_DETERMINISTIC
                            : g->count_pad ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                           : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
  MX_CUDNN_TRY(cudnnCreatePoolingDescriptor(&d->pool));
  cudnnNanPropagation_t nan = g->max ? CUDNN_NOT_PROPAGATE_NAN : CUDNN_PROPAGATE_NAN;
  MX_CUDNN_TRY(cudnnSetPooling2dDescriptor(d->pool, mode, nan, (int)g->kh,
                                           (int)g->kw, (int)g->ph, (int)g->pw, (int)g->sh,
                                           (int)g->sw));
  int o[4];
  if ((rc = mx_dnn_pool_out_dims(d, o))) return rc;
  if (o[0] != g->N || o[1] != g->C || o[2] != g->Ho || o[3] != g->Wo)
    return mx_error(MX_ERR_UNSUPPORTED, "cuDNN's pooling output (%d, %d, %d, %d) differs from "
                    "the expected (%lld, %lld, %lld, %lld)", o[0], o[1], o[2], o[3],
                    (long long)g->N, (long long)g->C, (long long)g->Ho, (long long)g->Wo);
  return mx_dnn_tensor4(&d->y, dtype, g->N, g->C, g->Ho, g->Wo);
}

mx_status mx_dnn_pool_desc_make(const mx_dnn_pool *g, int dtype, mx_dnn_pool_desc *d) {
  memset(d, 0, sizeof *d);
  mx_status rc = pool_desc_fill(g, dtype, d);
  if (rc) mx_dnn_pool_desc_free(d);
  return rc;
}
