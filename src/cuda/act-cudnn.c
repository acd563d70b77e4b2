/*
 * act-cudnn.c -- Activation, softmax and log_softmax on the GPU, forward
 * and backward, with the CPU kernels' semantics (src/ops/nn.c k_act, b_act,
 * softmax_fwd, softmax_bwd).
 *
 *  - relu, sigmoid, tanh: cudnnActivationForward / Backward.  Backward gets
 *    only the output (deps_act in nn.c), so the output is passed as cuDNN's
 *    x too, as MXNet did: relu's x > 0 iff y > 0, and cuDNN's sigmoid and
 *    tanh gradients are formed from y.
 *  - softrelu, softsign: no cuDNN mode; own kernels (kernels/dnn-kernels.cu)
 *    on the input, as the CPU.
 *  - softmax / log_softmax along `axis`: the array is viewed as
 *    (outer, K, inner, 1) and cuDNN's CHANNEL mode normalises over K
 *    (ACCURATE / LOG algorithms).  A temperature T scales the input into a
 *    scratch buffer first; backward passes alpha = 1 / T.  supports()
 *    refuses data of 2^31 elements or more (one cuDNN descriptor takes
 *    fewer); the activations split their range instead.
 * UNVERIFIED on a GPU: compiled and linked only.
 */
#include "cudnn-desc.h"

static int act_type = -1, act_relu = -1, act_sigmoid = -1, act_tanh = -1, act_softrelu = -1,
           act_softsign = -1;
static int sm_axis[2] = {-1, -1}, sm_temp[2] = {-1, -1};   /* softmax, log_softmax */

mx_status mx_dnn_act_init(void) {
  mx_status rc;
  if ((rc = mx_dnn_param("Activation", "act_type", &act_type))) return rc;
  if ((rc = mx_dnn_choice("Activation", "act_type", "relu", &act_relu))) return rc;
  if ((rc = mx_dnn_choice("Activation", "act_type", "sigmoid", &act_sigmoid))) return rc;
  if ((rc = mx_dnn_choice("Activation", "act_type", "tanh", &act_tanh))) return rc;
  if ((rc = mx_dnn_choice("Activation", "act_type", "softrelu", &act_softrelu))) return rc;
  if ((rc = mx_dnn_choice("Activation", "act_type", "softsign", &act_softsign))) return rc;
  const char *ops[2] = {"softmax", "log_softmax"};
  for (int k = 0; k < 2; k++) {
    if ((rc = mx_dnn_param(ops[k], "axis", &sm_axis[k]))) return rc;
    if ((rc = mx_dnn_param(ops[k], "temperature", &sm_temp[k]))) return rc;
  }
  return MX_OK;
}

/* alpha = 1 and beta = 0 in the scaling type of dtype (double for float64) */
typedef struct scal {
  float f[2];
  double d[2];
} scal;
static const void *sc_alpha(const scal *s, int dt) { return dt == MX_FLOAT64 ? (const void *)&s->d[0] : (const void *)&s->f[0]; }
static const void *sc_beta(const scal *s, int dt) { return dt == MX_FLOAT64 ? (const void *)&s->d[1] : (const void *)&s->f[1]; }
static scal sc_make(double a) { scal s = {{(float)a, 0.0f}, {a, 0.0}}; return s; }

/* ------------------------------------------------ Activation */

/* cuDNN's mode of an act_type, or -1 for the own kernels */
static int cudnn_mode(int act) {
  if (act == act_relu) return CUDNN_ACTIVATION_RELU;
  if (act == act_sigmoid) return CUDNN_ACTIVATION_SIGMOID;
  if (act == act_tanh) return CUDNN_ACTIVATION_TANH;
  return -1;
}

/* softrelu 0, softsign 1 (the own kernels' codes) */
static int own_code(int act) { return act == act_softrelu ? 0 : 1; }

#define ACT_CHUNK ((int64_t)1 << 30)

/* y = f(x) or dx = f'(.) dy on n elements, in chunks cuDNN's int sizes hold;
 * bwd: y and dy given, x = y. */
static mx_status act_cudnn(const mx_op_ctx *c, int mode, int dt, int bwd, const char *y_or_x,
                           const char *dy, char *out, int64_t n) {
  cudnnHandle_t h;
  mx_status rc = mx_cuda_cudnn(mx_cuda_of(c), &h);
  if (rc) return rc;
  cudnnActivationDescriptor_t ad;
  MX_CUDNN_TRY(cudnnCreateActivationDescriptor(&ad));
  cudnnStatus_t e = cudnnSetActivationDescriptor(ad, (cudnnActivationMode_t)mode,
                                                 CUDNN_PROPAGATE_NAN, 0.0);
  size_t es = mx_cu_dtype_size(dt);
  scal s = sc_make(1.0);
  for (int64_t i0 = 0; i0 < n && e == CUDNN_STATUS_SUCCESS && !rc; i0 += ACT_CHUNK) {
    int64_t len = n - i0 < ACT_CHUNK ? n - i0 : ACT_CHUNK;
    cudnnTensorDescriptor_t td;
    if ((rc = mx_dnn_tensor4(&td, dt, 1, 1, 1, len))) break;
    size_t off = (size_t)i0 * es;
    if (!bwd)
      e = cudnnActivationForward(h, ad, sc_alpha(&s, dt), td, y_or_x + off, sc_beta(&s, dt), td,
                                 out + off);
    else
      e = cudnnActivationBackward(h, ad, sc_alpha(&s, dt), td, y_or_x + off, td, dy + off, td,
                                  y_or_x + off, sc_beta(&s, dt), td, out + off);
    (void)cudnnDestroyTensorDescriptor(td);
  }
  (void)cudnnDestroyActivationDescriptor(ad);
  if (rc) return rc;
  return e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnActivation");
}

mx_status mx_dnn_activation_fwd(KARGS) {
  (void)nin; (void)nout; (void)req;
  int act = (int)p[act_type].i, dt = out[0]->dtype, mode = cudnn_mode(act);
  int64_t n = mx_cu_size(&out[0]->shape);
  if (n == 0) return MX_OK;
  if (mode < 0)
    return mx_dnn_act_fwd(mx_cuda_of(c)->stream, dt, own_code(act), MX_PTR(in[0]), MX_PTR(out[0]), n);
  return act_cudnn(c, mode, dt, 0, (const char *)MX_PTR(in[0]), NULL, (char *)MX_PTR(out[0]), n);
}

mx_status mx_dnn_activation_bwd(BARGS) {
  (void)nout; (void)nin;
  if (!mx_dnn_want(ig[0], req, 0)) return MX_OK;
  int act = (int)p[act_type].i, dt = ig[0]->dtype, mode = cudnn_mode(act);
  int64_t n = mx_cu_size(&ig[0]->shape);
  if (n == 0) return MX_OK;
  if (mode < 0)   /* softrelu, softsign: from the input */
    return mx_dnn_act_bwd(mx_cuda_of(c)->stream, dt, own_code(act), MX_PTR(og[0]), MX_PTR(in[0]),
                          MX_PTR(ig[0]), n);
  return act_cudnn(c, mode, dt, 1, (const char *)MX_PTR(out[0]), (const char *)MX_PTR(og[0]),
                   (char *)MX_PTR(ig[0]), n);
}

/* ------------------------------------------------ softmax, log_softmax */

typedef struct sm_view {
  int64_t outer, K, inner;
  double invt;
} sm_view;

static int sm_make(const mx_param_value *p, int lg, const mx_shape *s, sm_view *v, const char **why) {
  int64_t ax = p[sm_axis[lg]].i;
  if (s->ndim < 1) { *why = "softmax of a scalar"; return -1; }
  if (ax < 0) ax += s->ndim;
  if (ax < 0 || ax >= s->ndim) { *why = "axis out of range"; return -1; }
  v->outer = 1;
  v->inner = 1;
  for (int k = 0; k < ax; k++) v->outer *= s->d[k];
  v->K = s->d[ax];
  for (int k = (int)ax + 1; k < s->ndim; k++) v->inner *= s->d[k];
  v->invt = p[sm_temp[lg]].is_set ? 1.0 / p[sm_temp[lg]].f : 1.0;
  const int64_t t[1][4] = {{v->outer, v->K, v->inner, 1}};
  const char *big = mx_dnn_desc_why(t, 1);
  if (big) { *why = big; return -1; }
  return 0;
}

int mx_dnn_softmax_supports(const mx_param_value *p, int nin, const mx_shape *in,
                            const int *in_dtypes, const char **why) {
  (void)nin; (void)in_dtypes;
  sm_view v;
  return sm_make(p, 0, &in[0], &v, why) == 0;
}

int mx_dnn_log_softmax_supports(const mx_param_value *p, int nin, const mx_shape *in,
                                const int *in_dtypes, const char **why) {
  (void)nin; (void)in_dtypes;
  sm_view v;
  return sm_make(p, 1, &in[0], &v, why) == 0;
}

static mx_status sm_fwd(KARGS, int lg) {
  (void)nin; (void)nout; (void)req;
  sm_view v;
  const char *why = "";
  if (sm_make(p, lg, &in[0]->shape, &v, &why))
    return mx_error(MX_ERR_UNSUPPORTED, "softmax on the GPU: %s", why);
  int dt = out[0]->dtype;
  if (v.outer * v.K * v.inner == 0) return MX_OK;
  cudnnHandle_t h;
  mx_status rc = mx_cuda_cudnn(mx_cuda_of(c), &h);
  if (rc) return rc;
  const void *x = MX_PTR(in[0]);
  mx_scratch sc = {0};
  int64_t n = v.outer * v.K * v.inner;
  if (v.invt != 1.0) {   /* softmax of x / T */
    if ((rc = mx_host->scratch_open(c, (size_t)n * mx_cu_dtype_size(dt), &sc))) return rc;
    if ((rc = mx_dnn_scale(mx_cuda_of(c)->stream, dt, x, sc.base, v.invt, n))) goto done;
    x = sc.base;
  }
  cudnnTensorDescriptor_t td;
  if ((rc = mx_dnn_tensor4(&td, dt, v.outer, v.K, v.inner, 1))) goto done;
  scal s = sc_make(1.0);
  cudnnStatus_t e = cudnnSoftmaxForward(h, lg ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE,
                                        CUDNN_SOFTMAX_MODE_CHANNEL, sc_alpha(&s, dt), td, x,
                                        sc_beta(&s, dt), td, MX_PTR(out[0]));
  (void)cudnnDestroyTensorDescriptor(td);
  if (e != CUDNN_STATUS_SUCCESS) rc = mx_cudnn_check(e, "cudnnSoftmaxForward");
done:
  mx_host->scratch_close(&sc);
  return rc;
}

/* softmax: dx = y (g - sum g y) / T; log_softmax: dx = (g - exp(y) sum g) / T */
static mx_status sm_bwd(BARGS, int lg) {
  (void)nout; (void)nin; (void)in;
  if (!mx_dnn_want(ig[0], req, 0)) return MX_OK;
  sm_view v;
  const char *why = "";
  if (sm_make(p, lg, &out[0]->shape, &v, &why))
    return mx_error(MX_ERR_UNSUPPORTED, "softmax on the GPU: %s", why);
  int dt = ig[0]->dtype;
  if (v.outer * v.K * v.inner == 0) return MX_OK;
  cudnnHandle_t h;
  mx_status rc = mx_cuda_cudnn(mx_cuda_of(c), &h);
  if (rc) return rc;
  cudnnTensorDescriptor_t td;
  if ((rc = mx_dnn_tensor4(&td, dt, v.outer, v.K, v.inner, 1))) return rc;
  scal s = sc_make(v.invt);
  cudnnStatus_t e = cudnnSoftmaxBackward(h, lg ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE,
                                         CUDNN_SOFTMAX_MODE_CHANNEL, sc_alpha(&s, dt), td,
                                         MX_PTR(out[0]), td, MX_PTR(og[0]), sc_beta(&s, dt), td,
                                         MX_PTR(ig[0]));
  (void)cudnnDestroyTensorDescriptor(td);
  return e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnSoftmaxBackward");
}

mx_status mx_dnn_softmax_fwd(KARGS) { return sm_fwd(c, p, in, nin, out, nout, req, 0); }
mx_status mx_dnn_log_softmax_fwd(KARGS) { return sm_fwd(c, p, in, nin, out, nout, req, 1); }
mx_status mx_dnn_softmax_bwd(BARGS) { return sm_bwd(c, p, og, nout, in, nin, out, ig, req, 0); }
mx_status mx_dnn_log_softmax_bwd(BARGS) { return sm_bwd(c, p, og, nout, in, nin, out, ig, req, 1); }
