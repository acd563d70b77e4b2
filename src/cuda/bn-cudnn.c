/*
 * bn-cudnn.c -- BatchNorm on the GPU with cuDNN (SPATIAL mode on the data
 * viewed as (outer, C, inner, 1), so any channel axis works), forward
 * (training and inference, use_global_stats, fix_gamma) and backward, with
 * the outputs and side effects of the CPU kernel (src/ops/nn.c bn_forward,
 * bn_backward):
 *  - outputs: the normalised data, the mean and the BIASED variance used
 *    (hidden outputs "mean" and "var"; not cuDNN's inverse std);
 *  - training forward updates moving_mean / moving_var in place with the
 *    biased batch variance: cuDNN runs with exponentialAverageFactor 0 and
 *    no running buffers, and an own per-channel kernel
 *    (mx_dnn_bn_finish) forms var = 1 / istd^2 - eps from cuDNN's saved
 *    inverse std and updates the moving statistics (cuDNN's own update
 *    would average the unbiased variance);
 *  - fix_gamma: cuDNN gets a buffer of ones (the user's gamma is never
 *    written) and the gamma gradient is 0;
 *  - inference / use_global_stats: cudnnBatchNormalizationForwardInference
 *    with the moving statistics, which are also copied to mean / var;
 *  - backward with batch statistics: cudnnBatchNormalizationBackward
 *    with the forward's saved mean and 1 / sqrt(var + eps) of its var;
 *    with fixed statistics (use_global_stats or inference), or when the
 *    data gradient is not wanted: an own per-channel kernel with the CPU's
 *    formulas on the saved mean / var;
 *  - empty data (a batch of 0, or C == 0): no handle or descriptor is made
 *    (cuDNN refuses zero dimensions); mean and var are 0 with batch
 *    statistics (the moving statistics stay) or copies of the moving ones,
 *    and the own kernel writes dgamma = dbeta = 0, as the CPU does.
 * float16 and bfloat16 data take float32 gamma, beta and statistics (the
 * dtype type inference gives them; cuDNN's derived descriptor is float):
 * every per-channel array and scratch piece has the parameters' dtype.
 * supports() refuses data of 2^31 elements or more (cuDNN's descriptors
 * take fewer), and half data with half parameters.  eps is clamped to
 * CUDNN_BN_MIN_EPSILON (0 in cuDNN 9).
 * The var reconstruction loses a few bits when var << eps (float32).
 * UNVERIFIED on a GPU: compiled and linked only.
 */
#include "cudnn-desc.h"

static int bn_eps = -1, bn_mom = -1, bn_fix = -1, bn_global = -1, bn_axis = -1;

mx_status mx_dnn_bn_init(void) {
  mx_status rc;
  if ((rc = mx_dnn_param("BatchNorm", "eps", &bn_eps))) return rc;
  if ((rc = mx_dnn_param("BatchNorm", "momentum", &bn_mom))) return rc;
  if ((rc = mx_dnn_param("BatchNorm", "fix_gamma", &bn_fix))) return rc;
  if ((rc = mx_dnn_param("BatchNorm", "use_global_stats", &bn_global))) return rc;
  return mx_dnn_param("BatchNorm", "axis", &bn_axis);
}

typedef struct bn_view {
  int64_t outer, C, inner;
  double eps;
} bn_view;

static int bn_make(const mx_param_value *p, const mx_shape *s, bn_view *v, const char **why) {
  int64_t ax = p[bn_axis].i;
  if (s->ndim < 1) { *why = "BatchNorm of a scalar"; return -1; }
  if (ax < 0) ax += s->ndim;
  if (ax < 0 || ax >= s->ndim) { *why = "axis out of range"; return -1; }
  v->outer = 1;
  v->inner = 1;
  for (int k = 0; k < ax; k++) v->outer *= s->d[k];
  v->C = s->d[ax];
  for (int k = (int)ax + 1; k < s->ndim; k++) v->inner *= s->d[k];
  const int64_t t[1][4] = {{v->outer, v->C, v->inner, 1}};
  const char *big = mx_dnn_desc_why(t, 1);
  if (big) { *why = big; return -1; }
  v->eps = p[bn_eps].f < CUDNN_BN_MIN_EPSILON ? CUDNN_BN_MIN_EPSILON : p[bn_eps].f;
  return 0;
}

int mx_dnn_bn_supports(const mx_param_value *p, int nin, const mx_shape *in, const int *dt,
                       const char **why) {
  int half = dt[0] == MX_FLOAT16 || dt[0] == MX_BFLOAT16;
  for (int j = 1; j < nin; j++)
    if (half && dt[j] != MX_FLOAT32) {
      *why = "half-precision data needs float32 gamma, beta and moving statistics (cuDNN's rule)";
      return 0;
    }
  bn_view v;
  return bn_make(p, &in[0], &v, why) == 0;
}

/* descriptors of one call: the data (outer, C, inner, 1) and cuDNN's
 * per-channel parameter tensor */
typedef struct bn_desc {
  cudnnTensorDescriptor_t x, bn;
} bn_desc;

static void bn_desc_free(bn_desc *d) {
  if (d->x) (void)cudnnDestroyTensorDescriptor(d->x);
  if (d->bn) (void)cudnnDestroyTensorDescriptor(d->bn);
}

/* the view of a call's data, or MX_ERR_UNSUPPORTED with bn_make's reason */
static mx_status bn_view_of(const mx_param_value *p, const mx_shape *s, bn_view *v) {
  const char *why = "";
  if (bn_make(p, s, v, &why)) return mx_error(MX_ERR_UNSUPPORTED, "BatchNorm on the GPU: %s", why);
  return MX_OK;
}

/* no data (outer * inner == 0) or no channel: cuDNN's descriptors refuse a
 * zero dimension, so such calls never reach cuDNN */
static int bn_empty(const bn_view *v) { return v->outer * v->inner == 0 || v->C == 0; }

/* the handle and the descriptors of a non-empty call */
static mx_status bn_begin(const mx_op_ctx *c, int dt, const bn_view *v, bn_desc *d,
                          cudnnHandle_t *h) {
  d->x = d->bn = NULL;
  mx_status rc = mx_cuda_cudnn(mx_cuda_of(c), h);
  if (rc) return rc;
  if ((rc = mx_dnn_tensor4(&d->x, dt, v->outer, v->C, v->inner, 1))) return rc;
  MX_CUDNN_TRY(cudnnCreateTensorDescriptor(&d->bn));
  MX_CUDNN_TRY(cudnnDeriveBNTensorDescriptor(d->bn, d->x, CUDNN_BATCHNORM_SPATIAL));
  return MX_OK;
}

/* The scratch of n per-channel pieces (3 in forward, 4 in backward), each
 * rounded to the scratch alignment (mx_scratch_round: 64 bytes) so that
 * every piece cuDNN gets is as aligned as the block's base; the engine's
 * mx_scratch_take is no host service, so the pieces are indexed here. */
static size_t piece_bytes(int64_t C, int dt) { return mx_scratch_round((size_t)C * mx_cu_dtype_size(dt)); }
static mx_status pieces_open(const mx_op_ctx *c, int n, int64_t C, int dt, mx_scratch *sc) {
  return mx_host->scratch_open(c, (size_t)n * piece_bytes(C, dt), sc);
}

/* C elements of scratch piece number k */
static void *slot(const mx_scratch *sc, int k, int64_t C, int dt) {
  return sc->base + (size_t)k * piece_bytes(C, dt);
}

static mx_status copy_async(const mx_op_ctx *c, void *dst, const void *src, size_t bytes) {
  if (bytes == 0) return MX_OK;
  MX_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, mx_cuda_of(c)->stream));
  return MX_OK;
}

static mx_status fwd_run(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in,
                         mx_ndarray *const *out, const bn_view *v, const bn_desc *d,
                         cudnnHandle_t h, const mx_scratch *sc) {
  int dt = in[0]->dtype, pt = in[1]->dtype, fix = (int)p[bn_fix].i;
  int batch = c->is_train && !p[bn_global].i;
  cudaStream_t st = mx_cuda_of(c)->stream;
  size_t cb = (size_t)v->C * mx_cu_dtype_size(pt);
  mx_status rc;
  const void *gamma = MX_PTR(in[1]);
  if (fix) {   /* gamma fixed at 1: a buffer of ones, the user's gamma untouched */
    if ((rc = mx_cu_fill(st, slot(sc, 0, v->C, pt), pt, v->C, 1.0))) return rc;
    gamma = slot(sc, 0, v->C, pt);
  }
  float af = 1, bf = 0;
  double ad = 1, bd = 0;
  const void *al = dt == MX_FLOAT64 ? (const void *)&ad : (const void *)&af;
  const void *be = dt == MX_FLOAT64 ? (const void *)&bd : (const void *)&bf;
  void *om = out[1] ? MX_PTR(out[1]) : NULL, *ov = out[2] ? MX_PTR(out[2]) : NULL;
  if (!batch) {
    MX_CUDNN_TRY(cudnnBatchNormalizationForwardInference(
        h, CUDNN_BATCHNORM_SPATIAL, al, be, d->x, MX_PTR(in[0]), d->x, MX_PTR(out[0]), d->bn,
        gamma, MX_PTR(in[2]), MX_PTR(in[3]), MX_PTR(in[4]), v->eps));
    if (om && (rc = copy_async(c, om, MX_PTR(in[3]), cb))) return rc;
    if (ov && (rc = copy_async(c, ov, MX_PTR(in[4]), cb))) return rc;
    return MX_OK;
  }
  void *mean = om ? om : slot(sc, 1, v->C, pt), *istd = slot(sc, 2, v->C, pt);
  MX_CUDNN_TRY(cudnnBatchNormalizationForwardTraining(
      h, CUDNN_BATCHNORM_SPATIAL, al, be, d->x, MX_PTR(in[0]), d->x, MX_PTR(out[0]), d->bn, gamma,
      MX_PTR(in[2]), 0.0, NULL, NULL, v->eps, mean, istd));
  return mx_dnn_bn_finish(st, pt, v->C, mean, istd, v->eps, p[bn_mom].f, ov, MX_PTR(in[3]),
                          MX_PTR(in[4]));
}

/* the CPU's results for empty data (bn_empty): the mean and var outputs are
 * 0 with batch statistics, whose moving averages stay as they are, else
 * the moving statistics; the data output has no element */
static mx_status fwd_empty(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in,
                           mx_ndarray *const *out, const bn_view *v, int pt) {
  int batch = c->is_train && !p[bn_global].i;
  size_t cb = (size_t)v->C * mx_cu_dtype_size(pt);
  mx_status rc = MX_OK;
  for (int k = 1; k <= 2 && !rc; k++) {   /* out[1], out[2]: mean, var; in[3], in[4]: moving */
    if (!out[k]) continue;
    rc = batch ? mx_cu_fill(mx_cuda_of(c)->stream, MX_PTR(out[k]), pt, v->C, 0.0)
               : copy_async(c, MX_PTR(out[k]), MX_PTR(in[k + 2]), cb);
  }
  return rc;
}

mx_status mx_dnn_bn_fwd(KARGS) {
  (void)nin; (void)nout; (void)req;
  int dt = in[0]->dtype;
  bn_view v;
  mx_status rc = bn_view_of(p, &in[0]->shape, &v);
  if (rc) return rc;
  if (bn_empty(&v)) return fwd_empty(c, p, in, out, &v, in[1]->dtype);
  bn_desc d;
  cudnnHandle_t h;
  rc = bn_begin(c, dt, &v, &d, &h);
  mx_scratch sc = {0};
  if (!rc) rc = pieces_open(c, 3, v.C, in[1]->dtype, &sc);
  if (!rc) rc = fwd_run(c, p, in, out, &v, &d, h, &sc);
  mx_host->scratch_close(&sc);
  bn_desc_free(&d);
  return rc;
}

/* batch statistics and the data gradient wanted: cuDNN */
static mx_status bwd_cudnn(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *og,
                           mx_ndarray *const *in, mx_ndarray *const *out, mx_ndarray *const *ig,
                           const int *req,
                           const bn_view *v, const bn_desc *d, cudnnHandle_t h,
                           const mx_scratch *sc) {
  int dt = in[0]->dtype, pt = in[1]->dtype, fix = (int)p[bn_fix].i;
  cudaStream_t st = mx_cuda_of(c)->stream;
  mx_status rc;
  const void *gamma = MX_PTR(in[1]);
  if (fix) {
    if ((rc = mx_cu_fill(st, slot(sc, 0, v->C, pt), pt, v->C, 1.0))) return rc;
    gamma = slot(sc, 0, v->C, pt);
  }
  int w1 = mx_dnn_want(ig[1], req, 1), w2 = mx_dnn_want(ig[2], req, 2);
  void *dg = w1 && !fix ? MX_PTR(ig[1]) : slot(sc, 1, v->C, pt);
  void *db = w2 ? MX_PTR(ig[2]) : slot(sc, 2, v->C, pt);
  float af = 1, bf = 0;
  double ad = 1, bd = 0;
  const void *al = dt == MX_FLOAT64 ? (const void *)&ad : (const void *)&af;
  const void *be = dt == MX_FLOAT64 ? (const void *)&bd : (const void *)&bf;
  /* the forward's statistics: its mean and 1 / sqrt(var + eps) of its var */
  void *istd = slot(sc, 3, v->C, pt);
  if ((rc = mx_dnn_bn_istd(st, pt, v->C, MX_PTR(out[2]), v->eps, istd))) return rc;
  MX_CUDNN_TRY(cudnnBatchNormalizationBackward(h, CUDNN_BATCHNORM_SPATIAL, al, be, al, be, d->x,
                                               MX_PTR(in[0]), d->x, MX_PTR(og[0]), d->x,
                                               MX_PTR(ig[0]), d->bn, gamma, dg, db, v->eps,
                                               MX_PTR(out[1]), istd));
  if (w1 && fix) return mx_cu_fill(st, MX_PTR(ig[1]), pt, v->C, 0.0);   /* fixed gamma: 0 */
  return MX_OK;
}

/* cuDNN's backward on a non-empty call: its handle, descriptors, scratch */
static mx_status bwd_batch(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *og,
                           mx_ndarray *const *in, mx_ndarray *const *out, mx_ndarray *const *ig,
                           const int *req, const bn_view *v) {
  int dt = in[0]->dtype;
  bn_desc d;
  cudnnHandle_t h;
  mx_status rc = bn_begin(c, dt, v, &d, &h);
  mx_scratch sc = {0};
  if (!rc) rc = pieces_open(c, 4, v->C, in[1]->dtype, &sc);
  if (!rc) rc = bwd_cudnn(c, p, og, in, out, ig, req, v, &d, h, &sc);
  mx_host->scratch_close(&sc);
  bn_desc_free(&d);
  return rc;
}

mx_status mx_dnn_bn_bwd(BARGS) {
  (void)nout; (void)nin;
  int dt = in[0]->dtype;
  int w0 = mx_dnn_want(ig[0], req, 0), w1 = mx_dnn_want(ig[1], req, 1),
      w2 = mx_dnn_want(ig[2], req, 2);
  if (!w0 && !w1 && !w2) return MX_OK;
  bn_view v;
  mx_status rc = bn_view_of(p, &in[0]->shape, &v);
  if (rc) return rc;
  int batch = c->is_train && !p[bn_global].i, fix = (int)p[bn_fix].i;
  if (batch && w0 && !bn_empty(&v)) return bwd_batch(c, p, og, in, out, ig, req, &v);
  /* fixed statistics (dx = gamma istd dy), only dgamma / dbeta, or empty
   * data (dgamma = dbeta = 0, as the CPU's sums over nothing) */
  return mx_dnn_bn_bwd_stats(mx_cuda_of(c)->stream, dt, in[1]->dtype, MX_PTR(in[0]), MX_PTR(og[0]),
                             MX_PTR(out[1]), MX_PTR(out[2]), MX_PTR(in[1]), p[bn_eps].f, fix,
                             v.outer, v.C, v.inner, w0 && !batch ? MX_PTR(ig[0]) : NULL,
                             w1 ? MX_PTR(ig[1]) : NULL, w2 ? MX_PTR(ig[2]) : NULL);
}
