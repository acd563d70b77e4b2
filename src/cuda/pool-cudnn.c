/*
 * pool-cudnn.c -- Pooling on the GPU with cuDNN (cudnnPoolingForward /
 * Backward), forward and backward, for what cuDNN computes as the CPU does
 * (src/ops/nn-conv.c pool_geom, k_pool, b_pool): max and avg pooling
 * (count_include_pad TRUE, the default, or FALSE), global pooling, 1-D as
 * H = 1, the 'valid' convention, and 'full' / 'same' where they give the
 * same windows as 'valid' with symmetric padding.  supports() refuses sum
 * and lp pooling, the other conventions and tensors of 2^31 elements or
 * more with a reason (mx_dnn_pool_geom, checked without a GPU by
 * tools/cudnn-shape-check).
 *
 * Max pooling forward uses CUDNN_POOLING_MAX_DETERMINISTIC without NaN
 * propagation; its backward is an own kernel (kernels/dnn-kernels.cu,
 * formula in dnn-math.h) that sends each window's gradient to the first
 * cell equal to its maximum, as the CPU does, so tied maxima (windows of
 * zeros after a relu) get the CPU's gradient whatever cuDNN's tie rule.
 * UNVERIFIED on a GPU: that cuDNN's max forward never lets a padded cell
 * win (the CPU ignores them) -- tools/gpu-check must compare with the CPU.
 */
#include "cudnn-desc.h"

static mx_dnn_pool_ix ix;

mx_status mx_dnn_pool_init(void) {
  static const struct { const char *key; int *slot; } keys[] = {
    {"kernel", &ix.kernel}, {"pool_type", &ix.pool_type}, {"global_pool", &ix.global_pool},
    {"cudnn_off", &ix.cudnn_off}, {"pooling_convention", &ix.convention},
    {"stride", &ix.stride}, {"pad", &ix.pad}, {"p_value", &ix.p_value},
    {"count_include_pad", &ix.count_pad}, {"layout", &ix.layout}};
  static const struct { const char *key, *choice; int *slot; } choices[] = {
    {"pool_type", "max", &ix.type_max}, {"pool_type", "avg", &ix.type_avg},
    {"pooling_convention", "valid", &ix.conv_valid}, {"pooling_convention", "full", &ix.conv_full},
    {"pooling_convention", "same", &ix.conv_same}, {"layout", "NCW", &ix.layout_ncw},
    {"layout", "NCHW", &ix.layout_nchw}};
  mx_status rc;
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    if ((rc = mx_dnn_param("Pooling", keys[k].key, keys[k].slot))) return rc;
  for (size_t k = 0; k < sizeof choices / sizeof choices[0]; k++)
    if ((rc = mx_dnn_choice("Pooling", choices[k].key, choices[k].choice, choices[k].slot)))
      return rc;
  return MX_OK;
}

int mx_dnn_pool_supports(const mx_param_value *p, int nin, const mx_shape *in,
                         const int *in_dtypes, const char **why) {
  (void)nin; (void)in_dtypes;
  mx_dnn_pool g;
  return mx_dnn_pool_geom(p, &ix, &in[0], &g, why) == 0;
}

/* geometry, descriptors and the handle of one call */
static mx_status pool_geom(const mx_param_value *p, const mx_shape *x, mx_dnn_pool *g) {
  const char *why = "";
  if (mx_dnn_pool_geom(p, &ix, x, g, &why))
    return mx_error(MX_ERR_UNSUPPORTED, "Pooling on the GPU: %s", why);
  return MX_OK;
}

static mx_status pool_begin(const mx_op_ctx *c, const mx_param_value *p, const mx_shape *x,
                            int dt, mx_dnn_pool_desc *d, cudnnHandle_t *h) {
  mx_dnn_pool g;
  mx_status rc = pool_geom(p, x, &g);
  if (!rc) rc = mx_cuda_cudnn(mx_cuda_of(c), h);
  if (rc) return rc;
  return mx_dnn_pool_desc_make(&g, dt, d);
}

mx_status mx_dnn_pool_fwd(KARGS) {
  (void)nin; (void)nout; (void)req;
  int dt = out[0]->dtype;
  if (mx_cu_size(&out[0]->shape) == 0) return MX_OK;
  mx_dnn_pool_desc d;
  cudnnHandle_t h;
  mx_status rc = pool_begin(c, p, &in[0]->shape, dt, &d, &h);
  if (rc) return rc;
  float af = 1, bf = 0;
  double ad = 1, bd = 0;
  int dbl = dt == MX_FLOAT64;
  cudnnStatus_t e = cudnnPoolingForward(h, d.pool, dbl ? (void *)&ad : (void *)&af, d.x,
                                        MX_PTR(in[0]), dbl ? (void *)&bd : (void *)&bf, d.y,
                                        MX_PTR(out[0]));
  mx_dnn_pool_desc_free(&d);
  return e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnPoolingForward");
}

mx_status mx_dnn_pool_bwd(BARGS) {
  (void)nout; (void)nin;
  if (!mx_dnn_want(ig[0], req, 0)) return MX_OK;
  int dt = ig[0]->dtype;
  if (mx_cu_size(&ig[0]->shape) == 0) return MX_OK;
  mx_dnn_pool g;
  mx_status rc = pool_geom(p, &ig[0]->shape, &g);
  if (rc) return rc;
  if (g.max)   /* the CPU's tie rule: own kernel on x and y */
    return mx_dnn_maxpool_bwd(mx_cuda_of(c)->stream, dt, &g, MX_PTR(in[0]), MX_PTR(out[0]),
                              MX_PTR(og[0]), MX_PTR(ig[0]));
  mx_dnn_pool_desc d;
  cudnnHandle_t h;
  if ((rc = pool_begin(c, p, &ig[0]->shape, dt, &d, &h))) return rc;
  /* avg backward gets no x and y (deps_pool) and cuDNN does not read them:
   * arrays of the same shapes stand in */
  const void *x = in[0] ? MX_PTR(in[0]) : MX_PTR(ig[0]);
  const void *y = out[0] ? MX_PTR(out[0]) : MX_PTR(og[0]);
  float af = 1, bf = 0;
  double ad = 1, bd = 0;
  int dbl = dt == MX_FLOAT64;
  cudnnStatus_t e = cudnnPoolingBackward(h, d.pool, dbl ? (void *)&ad : (void *)&af, d.y, y, d.y,
                                         MX_PTR(og[0]), d.x, x,
                                         dbl ? (void *)&bd : (void *)&bf, d.x, MX_PTR(ig[0]));
  mx_dnn_pool_desc_free(&d);
  return e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnPoolingBackward");
}
