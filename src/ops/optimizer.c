/*
 * optimizer.c -- fused optimizer updates (MXNet 1.9.1 names, parameters and
 * formulas): sgd_update, sgd_mom_update, nag_mom_update, adam_update,
 * rmsprop_update, rmspropalex_update, adagrad_update, adadelta_update.
 *
 * Conventions (as in MXNet): input 0 is the weight, input 1 the gradient,
 * the rest are optimizer states.  Output 0 receives the new weight (callers
 * pass out = weight, which the invoker allows because the ops are
 * MX_OPF_INPLACE and output 0 is exactly input 0); the state inputs are
 * updated IN PLACE by the kernel.  Each element is read completely before
 * it is written, so out = weight is safe.
 *
 * rescaled(g) = rescale_grad * g, clipped to [-clip_gradient, clip_gradient]
 * when clip_gradient >= 0 (negative = off).  Where MXNet applies weight
 * decay before or after clipping differs per op; each kernel says which.
 *
 * float32 and float64 only.  float16 is refused (the ops are flagged
 * MX_OPF_F16 so the invoker does not bridge through float32 copies, which
 * would silently drop the in-place state updates).  No gradients.
 *
 * adagrad_update and adadelta_update have no dense fused op in MXNet 1.9.1
 * (its Python/R optimizers build them from NDArray/symbol arithmetic; MXNet
 * has only the row-sparse _sparse_adagrad_update); the kernels here compute
 * exactly what MXNet's R optimizers (mx.opt.adagrad, mx.opt.adadelta) do.
 */
#include "../include/mx-op.h"

#include <math.h>
#include <stdio.h>


/* ----------------------------------------------------------- inference */

/* Every input has the weight's shape; the output too.  Unknown shapes are
 * filled from any known one (the symbolic executor binds states this way). */
static mx_status infer_shape_update(const mx_param_value *p, int nin, mx_shape *in,
                                    int nout, mx_shape *out) {
  (void)p;
  int known = -1;
  for (int k = 0; k < nin; k++)
    if (in[k].ndim >= 0) { known = k; break; }
  if (known < 0 && nout > 0 && out[0].ndim >= 0) {
    for (int k = 0; k < nin; k++) in[k] = out[0];
    return MX_OK;
  }
  if (known < 0) return MX_OK;
  mx_shape s = in[known];
  for (int k = 0; k < nin; k++) {
    if (in[k].ndim < 0) { in[k] = s; continue; }
    if (!mx_shape_equal(&in[k], &s)) {
      char b1[128], b2[128];
      mx_shape_format(&in[k], b1, sizeof b1);
      mx_shape_format(&s, b2, sizeof b2);
      return mx_error(MX_ERR_SHAPE, "input %d has shape %s but the weight has shape %s",
                      k + 1, b1, b2);
    }
  }
  for (int k = 0; k < nout; k++) out[k] = s;
  return MX_OK;
}

/* --------------------------------------------------------------- loops */

/* Clip to [-b, b] when b >= 0 (MXNet's mshadow_op::clip). */
#define CLIPG(T, x, b) ((b) >= 0 ? ((x) > (b) ? (b) : ((x) < -(b) ? -(b) : (x))) : (x))

/* Run BODY for every element i with T bound to the weight's dtype: BODY
 * reads w (the weight) and gr (the raw gradient) and sets res (the new
 * weight, written to OUTA); the macro-local pointers S1..S3 are the states
 * INS[2..4], updated by BODY in place.  INS are the op's inputs (weight,
 * grad, states...), or one group of them (multi-tensor ops). */
#define UPDATE_LOOP_AT(INS, OUTA, NSTATE, BODY)                              \
  do {                                                                       \
    mx_ndarray *const *a_ = (INS);                                           \
    int64_t n_ = mx_ndarray_size(a_[0]);                                     \
    int nt_ = mx_par_threads(n_);                                            \
    MX_FLOAT_SWITCH(a_[0]->dtype, T, {                                       \
      const T *W_ = MX_DATA(a_[0], T);                                       \
      const T *G_ = MX_DATA(a_[1], T);                                       \
      T *S1 = (NSTATE) >= 1 ? MX_DATA(a_[2], T) : NULL;                      \
      T *S2 = (NSTATE) >= 2 ? MX_DATA(a_[3], T) : NULL;                      \
      T *S3 = (NSTATE) >= 3 ? MX_DATA(a_[4], T) : NULL;                      \
      T *O_ = MX_DATA(OUTA, T);                                              \
      (void)S1; (void)S2; (void)S3;                                          \
      MX_OMP_FOR(nt_)                                                        \
      for (int64_t i = 0; i < n_; i++) {                                     \
        const T w = W_[i], gr = G_[i];                                       \
        T res;                                                               \
        BODY                                                                 \
        O_[i] = res;                                                         \
      }                                                                      \
    });                                                                      \
  } while (0)
#define UPDATE_LOOP(NSTATE, BODY) UPDATE_LOOP_AT(in, out[0], NSTATE, BODY)

/* Multi-precision (MXNet's mp_*): the weight and gradient are float16 (or
 * float32), the states INS[2..] and the master copy INS[2 + NSTATE] float32.
 * BODY (as above, T = float) runs on the master copy; with MASTER the new
 * weight goes to the master copy and, converted, to OUTA; without it res
 * goes to OUTA as float32 (LAMB's phase one). */
#define MP_LOOP_AT(INS, OUTA, NSTATE, MASTER, BODY)                          \
  do {                                                                       \
    mx_ndarray *const *a_ = (INS);                                           \
    mx_status rc_ = mp_check(a_, 2 + (NSTATE), (OUTA), (MASTER));            \
    if (rc_) return rc_;                                                     \
    typedef float T;                                                         \
    const int h_ = a_[0]->dtype == MX_FLOAT16;                               \
    int64_t n_ = mx_ndarray_size(a_[0]);                                     \
    int nt_ = mx_par_threads(n_);                                            \
    const void *G_ = MX_PTR(a_[1]);                                          \
    T *S1 = (NSTATE) >= 1 ? MX_DATA(a_[2], T) : NULL;                        \
    T *S2 = (NSTATE) >= 2 ? MX_DATA(a_[3], T) : NULL;                        \
    T *W32_ = MX_DATA(a_[2 + (NSTATE)], T);                                  \
    void *O_ = MX_PTR(OUTA);                                                 \
    (void)S1; (void)S2;                                                      \
    MX_OMP_FOR(nt_)                                                          \
    for (int64_t i = 0; i < n_; i++) {                                       \
      const T w = W32_[i];                                                   \
      const T gr = h_ ? mx_f16_to_f32(((const uint16_t *)G_)[i]) : ((const float *)G_)[i]; \
      T res;                                                                 \
      BODY                                                                   \
      if (!(MASTER)) ((float *)O_)[i] = res;                                 \
      else {                                                                 \
        W32_[i] = res;                                                       \
        if (h_) ((uint16_t *)O_)[i] = mx_f32_to_f16(res);                    \
        else ((float *)O_)[i] = res;                                         \
      }                                                                      \
    }                                                                        \
  } while (0)
#define MP_LOOP(NSTATE, BODY) MP_LOOP_AT(in, out[0], NSTATE, 1, BODY)

/* The dtypes MP_LOOP_AT needs: weight and grad float16 or float32 alike,
 * inputs 2 .. nf (states, master copy) float32. */
static mx_status mp_check(mx_ndarray *const *a, int nf, const mx_ndarray *o, int master) {
  int t = a[0]->dtype;
  if ((t != MX_FLOAT16 && t != MX_FLOAT32) || a[1]->dtype != t || (master && o->dtype != t))
    return mx_error(MX_ERR_DTYPE, "multi-precision updates need a float16 (or float32) weight and gradient, not %s",
                    mx_dtype_name(a[1]->dtype != t ? a[1]->dtype : t));
  for (int k = 2; k <= nf; k++)
    if (a[k]->dtype != MX_FLOAT32)
      return mx_error(MX_ERR_DTYPE, "input %d (a state or the master copy) must be float32, not %s",
                      k + 1, mx_dtype_name(a[k]->dtype));
  return MX_OK;
}

/* ----------------------------------------------------------------- SGD */

/* The parameters every update op shares; E is the op's enum prefix. */
#define P_WD_RESCALE_CLIP(E)                                                     \
  [E##_WD] = {"wd", MX_PARAM_FLOAT, 0, "0", NULL,                                \
              "Weight decay (L2 penalty) coefficient."},                         \
  [E##_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL,            \
                        "Factor the gradient is multiplied by first."},          \
  [E##_CLIP_GRADIENT] = {"clip_gradient", MX_PARAM_FLOAT, 0, "-1", NULL,         \
   "Clip the rescaled gradient to [-clip_gradient, clip_gradient]; negative: no clipping."}

enum { SGD_LR, SGD_WD, SGD_RESCALE_GRAD, SGD_CLIP_GRADIENT, SGD_LAZY_UPDATE, SGD_NPARAMS };
static const mx_param_desc p_sgd[SGD_NPARAMS] = {
  [SGD_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  P_WD_RESCALE_CLIP(SGD),
  [SGD_LAZY_UPDATE] = {"lazy_update", MX_PARAM_BOOL, 0, "True", NULL,
   "Accepted for compatibility; only matters for row-sparse gradients (dense here)."},
};

/* weight = (1 - lr*wd) * weight - lr * clip(rescale*grad); the steps
 * (SGD_STEP, SGDM_STEP, NAG_STEP) read lr, wd, rs, cg (and mo) from the
 * kernel; sgd, its mp_ and multi_ versions share them. */
#define SGD_STEP {                                                           \
    T g = (T)rs * gr;                                                        \
    g = CLIPG(T, g, (T)cg);                                                  \
    res = ((T)1 - (T)lr * (T)wd) * w - (T)lr * g;                            \
  }
#define SGD_ARGS                                                             \
  const double lr = p[SGD_LR].f, wd = p[SGD_WD].f, rs = p[SGD_RESCALE_GRAD].f, \
               cg = p[SGD_CLIP_GRADIENT].f
static mx_status k_sgd(KARGS) {
  UNUSED_KARGS;
  SGD_ARGS;
  UPDATE_LOOP(0, SGD_STEP);
  return MX_OK;
}
static mx_status k_mp_sgd(KARGS) {
  UNUSED_KARGS;
  SGD_ARGS;
  MP_LOOP(0, SGD_STEP);
  return MX_OK;
}

enum { SGDM_LR, SGDM_MOMENTUM, SGDM_WD, SGDM_RESCALE_GRAD, SGDM_CLIP_GRADIENT, SGDM_LAZY_UPDATE,
       SGDM_NPARAMS };
static const mx_param_desc p_sgd_mom[SGDM_NPARAMS] = {
  [SGDM_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [SGDM_MOMENTUM] = {"momentum", MX_PARAM_FLOAT, 0, "0", NULL, "Momentum (decay of the previous update)."},
  P_WD_RESCALE_CLIP(SGDM),
  [SGDM_LAZY_UPDATE] = {"lazy_update", MX_PARAM_BOOL, 0, "True", NULL,
   "Accepted for compatibility; only matters for row-sparse gradients (dense here)."},
};

/* mom = momentum*mom - lr*(clip(rescale*grad) + wd*weight); weight += mom */
#define SGDM_STEP {                                                          \
    T g = (T)rs * gr;                                                        \
    g = CLIPG(T, g, (T)cg);                                                  \
    T m = (T)mo * S1[i] - (T)lr * (g + (T)wd * w);                           \
    S1[i] = m;                                                               \
    res = w + m;                                                             \
  }
#define SGDM_ARGS                                                            \
  const double lr = p[SGDM_LR].f, mo = p[SGDM_MOMENTUM].f, wd = p[SGDM_WD].f, \
               rs = p[SGDM_RESCALE_GRAD].f, cg = p[SGDM_CLIP_GRADIENT].f
/* SGDM_STEP on float32 arrays (sgd_mom_update and multi_sgd_mom_update),
 * as one vectorized loop built for several instruction sets (MX_CLONES)
 * without contracting its products into FMAs, so that every build rounds
 * as SGDM_STEP does; out may be w. */
#if MX_CLONES_FP_EXACT
MX_CLONES __attribute__((optimize("fp-contract=off")))
#endif
static void sgdm_f32(const float *w, const float *gr, float *mom, float *out, int64_t n, double lr,
                     double mo, double wd, double rs, double cg) {
  const float flr = (float)lr, fmo = (float)mo, fwd = (float)wd, frs = (float)rs;
  const float hi = cg >= 0 ? (float)cg : INFINITY;
  MX_OMP_SIMD
  for (int64_t i = 0; i < n; i++) {
    float g = frs * gr[i];
    g = g > hi ? hi : (g < -hi ? -hi : g);
    float m = fmo * mom[i] - flr * (g + fwd * w[i]);
    mom[i] = m;
    out[i] = w[i] + m;
  }
}

/* Group in[0..2] (weight, grad, mom) and out, all float32? */
static int sgdm_is_f32(mx_ndarray *const *in, const mx_ndarray *out) {
  return in[0]->dtype == MX_FLOAT32 && in[1]->dtype == MX_FLOAT32 && in[2]->dtype == MX_FLOAT32 &&
         out->dtype == MX_FLOAT32;
}

/* sgdm_f32 over the group's elements, in blocks spread over the threads. */
static void sgdm_f32_run(mx_ndarray *const *in, mx_ndarray *out, double lr, double mo, double wd,
                         double rs, double cg) {
  const float *w = MX_DATA(in[0], float), *g = MX_DATA(in[1], float);
  float *m = MX_DATA(in[2], float), *o = MX_DATA(out, float);
  MX_PAR_BLOCKS(mx_ndarray_size(in[0]), MX_PAR_GRAIN,
                sgdm_f32(w + i0, g + i0, m + i0, o + i0, len, lr, mo, wd, rs, cg));
}

static mx_status k_sgd_mom(KARGS) {
  UNUSED_KARGS;
  SGDM_ARGS;
  if (sgdm_is_f32(in, out[0])) {
    sgdm_f32_run(in, out[0], lr, mo, wd, rs, cg);
    return MX_OK;
  }
  UPDATE_LOOP(1, SGDM_STEP);
  return MX_OK;
}
static mx_status k_mp_sgd_mom(KARGS) {
  UNUSED_KARGS;
  SGDM_ARGS;
  MP_LOOP(1, SGDM_STEP);
  return MX_OK;
}

enum { NAG_LR, NAG_MOMENTUM, NAG_WD, NAG_RESCALE_GRAD, NAG_CLIP_GRADIENT, NAG_NPARAMS };
static const mx_param_desc p_nag[NAG_NPARAMS] = {
  [NAG_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [NAG_MOMENTUM] = {"momentum", MX_PARAM_FLOAT, 0, "0", NULL, "Momentum (decay of the previous update)."},
  P_WD_RESCALE_CLIP(NAG),
};

/* Nesterov momentum (MXNet NAGMomKernel):
 *   d = clip(rescale*grad) + wd*weight
 *   mom = momentum*mom - lr*d
 *   weight = weight + momentum*mom - lr*d */
#define NAG_STEP {                                                           \
    T g = (T)rs * gr;                                                        \
    g = CLIPG(T, g, (T)cg);                                                  \
    T d = g + (T)wd * w;                                                     \
    T m = (T)mo * S1[i] - (T)lr * d;                                         \
    S1[i] = m;                                                               \
    res = w + (T)mo * m - (T)lr * d;                                         \
  }
#define NAG_ARGS                                                             \
  const double lr = p[NAG_LR].f, mo = p[NAG_MOMENTUM].f, wd = p[NAG_WD].f,   \
               rs = p[NAG_RESCALE_GRAD].f, cg = p[NAG_CLIP_GRADIENT].f
static mx_status k_nag(KARGS) {
  UNUSED_KARGS;
  NAG_ARGS;
  UPDATE_LOOP(1, NAG_STEP);
  return MX_OK;
}
/* MXNet's mp_nag_mom_update takes wd * (the new weight) into the momentum;
 * here both use the weight before the step, as nag_mom_update does. */
static mx_status k_mp_nag(KARGS) {
  UNUSED_KARGS;
  NAG_ARGS;
  MP_LOOP(1, NAG_STEP);
  return MX_OK;
}

/* ---------------------------------------------------------------- Adam */

enum { ADAM_LR, ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, ADAM_WD, ADAM_RESCALE_GRAD,
       ADAM_CLIP_GRADIENT, ADAM_LAZY_UPDATE, ADAM_NPARAMS };
static const mx_param_desc p_adam[ADAM_NPARAMS] = {
  [ADAM_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL,
   "Learning rate (mx.opt.adam folds the bias correction into it when bias.correction = TRUE)."},
  [ADAM_BETA1] = {"beta1", MX_PARAM_FLOAT, 0, "0.9", NULL, "Decay rate of the first moment."},
  [ADAM_BETA2] = {"beta2", MX_PARAM_FLOAT, 0, "0.999", NULL, "Decay rate of the second moment."},
  [ADAM_EPSILON] = {"epsilon", MX_PARAM_FLOAT, 0, "1e-08", NULL, "Added to the denominator for stability."},
  [ADAM_WD] = {"wd", MX_PARAM_FLOAT, 0, "0", NULL, "Weight decay (L2 penalty) coefficient."},
  [ADAM_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL, "Factor the gradient is multiplied by first."},
  [ADAM_CLIP_GRADIENT] = {"clip_gradient", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Clip the gradient (after rescaling and weight decay) to [-clip_gradient, clip_gradient]; negative: no clipping."},
  [ADAM_LAZY_UPDATE] = {"lazy_update", MX_PARAM_BOOL, 0, "True", NULL,
   "Accepted for compatibility; only matters for row-sparse gradients (dense here)."},
};

/* g = clip(rescale*grad + wd*weight); mean = b1*mean + (1-b1)*g;
 * var = b2*var + (1-b2)*g^2; weight -= lr * mean / (sqrt(var) + eps) */
static mx_status k_adam(KARGS) {
  UNUSED_KARGS;
  const double lr = p[ADAM_LR].f, b1 = p[ADAM_BETA1].f, b2 = p[ADAM_BETA2].f,
               eps = p[ADAM_EPSILON].f, wd = p[ADAM_WD].f, rs = p[ADAM_RESCALE_GRAD].f,
               cg = p[ADAM_CLIP_GRADIENT].f;
  UPDATE_LOOP(2, {
    T g = (T)rs * gr + (T)wd * w;
    g = CLIPG(T, g, (T)cg);
    T m = (T)b1 * S1[i] + (T)(1 - b1) * g;
    T v = (T)b2 * S2[i] + (T)(1 - b2) * g * g;
    S1[i] = m;
    S2[i] = v;
    res = w - (T)lr * m / ((T)sqrt((double)v) + (T)eps);
  });
  return MX_OK;
}

/* ------------------------------------------------------------- RMSProp */

enum { RMS_LR, RMS_GAMMA1, RMS_EPSILON, RMS_WD, RMS_RESCALE_GRAD, RMS_CLIP_GRADIENT,
       RMS_CLIP_WEIGHTS, RMS_NPARAMS };
static const mx_param_desc p_rmsprop[RMS_NPARAMS] = {
  [RMS_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [RMS_GAMMA1] = {"gamma1", MX_PARAM_FLOAT, 0, "0.95", NULL, "Decay rate of the squared-gradient average."},
  [RMS_EPSILON] = {"epsilon", MX_PARAM_FLOAT, 0, "1e-08", NULL, "Added inside the square root for stability."},
  [RMS_WD] = {"wd", MX_PARAM_FLOAT, 0, "0", NULL, "Weight decay (L2 penalty) coefficient."},
  [RMS_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL, "Factor the gradient is multiplied by first."},
  [RMS_CLIP_GRADIENT] = {"clip_gradient", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Clip the gradient (after rescaling and weight decay) to [-clip_gradient, clip_gradient]; negative: no clipping."},
  [RMS_CLIP_WEIGHTS] = {"clip_weights", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Clip the new weight to [-clip_weights, clip_weights]; negative: no clipping."},
};

/* g = clip(rescale*grad + wd*weight); n = (1-g1)*g^2 + g1*n;
 * weight = clipw(weight - lr * g / sqrt(n + eps)) */
static mx_status k_rmsprop(KARGS) {
  UNUSED_KARGS;
  const double lr = p[RMS_LR].f, g1 = p[RMS_GAMMA1].f, eps = p[RMS_EPSILON].f, wd = p[RMS_WD].f,
               rs = p[RMS_RESCALE_GRAD].f, cg = p[RMS_CLIP_GRADIENT].f, cw = p[RMS_CLIP_WEIGHTS].f;
  UPDATE_LOOP(1, {
    T g = (T)rs * gr + (T)wd * w;
    g = CLIPG(T, g, (T)cg);
    T n = (T)(1 - g1) * g * g + (T)g1 * S1[i];
    S1[i] = n;
    T nw = w - (T)lr * (g / (T)sqrt((double)n + eps));
    res = CLIPG(T, nw, (T)cw);
  });
  return MX_OK;
}

enum { RMSA_LR, RMSA_GAMMA1, RMSA_GAMMA2, RMSA_EPSILON, RMSA_WD, RMSA_RESCALE_GRAD,
       RMSA_CLIP_GRADIENT, RMSA_CLIP_WEIGHTS, RMSA_NPARAMS };
static const mx_param_desc p_rmspropalex[RMSA_NPARAMS] = {
  [RMSA_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [RMSA_GAMMA1] = {"gamma1", MX_PARAM_FLOAT, 0, "0.95", NULL, "Decay rate of the gradient averages."},
  [RMSA_GAMMA2] = {"gamma2", MX_PARAM_FLOAT, 0, "0.9", NULL, "Momentum of the update."},
  [RMSA_EPSILON] = {"epsilon", MX_PARAM_FLOAT, 0, "1e-08", NULL, "Added inside the square root for stability."},
  [RMSA_WD] = {"wd", MX_PARAM_FLOAT, 0, "0", NULL, "Weight decay (L2 penalty) coefficient."},
  [RMSA_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL, "Factor the gradient is multiplied by first."},
  [RMSA_CLIP_GRADIENT] = {"clip_gradient", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Clip the gradient (after rescaling and weight decay) to [-clip_gradient, clip_gradient]; negative: no clipping."},
  [RMSA_CLIP_WEIGHTS] = {"clip_weights", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Clip the new weight to [-clip_weights, clip_weights]; negative: no clipping."},
};

/* Centered RMSProp (Graves 2013):
 * g = clip(rescale*grad + wd*weight); n = (1-g1)*g^2 + g1*n;
 * gbar = (1-g1)*g + g1*gbar; delta = g2*delta - lr * g / sqrt(n - gbar^2 + eps);
 * weight = clipw(weight + delta) */
static mx_status k_rmspropalex(KARGS) {
  UNUSED_KARGS;
  const double lr = p[RMSA_LR].f, g1 = p[RMSA_GAMMA1].f, g2 = p[RMSA_GAMMA2].f,
               eps = p[RMSA_EPSILON].f, wd = p[RMSA_WD].f, rs = p[RMSA_RESCALE_GRAD].f,
               cg = p[RMSA_CLIP_GRADIENT].f, cw = p[RMSA_CLIP_WEIGHTS].f;
  UPDATE_LOOP(3, {
    T g = (T)rs * gr + (T)wd * w;
    g = CLIPG(T, g, (T)cg);
    T n = (T)(1 - g1) * g * g + (T)g1 * S1[i];
    T gb = (T)(1 - g1) * g + (T)g1 * S2[i];
    T dl = (T)g2 * S3[i] - (T)lr * (g / (T)sqrt((double)(n - gb * gb) + eps));
    S1[i] = n;
    S2[i] = gb;
    S3[i] = dl;
    T nw = w + dl;
    res = CLIPG(T, nw, (T)cw);
  });
  return MX_OK;
}

/* ------------------------------------------------------------- AdaGrad */

enum { ADAG_LR, ADAG_EPSILON, ADAG_WD, ADAG_RESCALE_GRAD, ADAG_CLIP_GRADIENT, ADAG_NPARAMS };
static const mx_param_desc p_adagrad[ADAG_NPARAMS] = {
  [ADAG_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [ADAG_EPSILON] = {"epsilon", MX_PARAM_FLOAT, 0, "1e-07", NULL, "Added inside the square root for stability."},
  P_WD_RESCALE_CLIP(ADAG),
};

/* g = clip(rescale*grad); history += g^2;
 * weight -= lr * (g / sqrt(history + eps) + wd*weight)   (MXNet R/Python) */
static mx_status k_adagrad(KARGS) {
  UNUSED_KARGS;
  const double lr = p[ADAG_LR].f, eps = p[ADAG_EPSILON].f, wd = p[ADAG_WD].f,
               rs = p[ADAG_RESCALE_GRAD].f, cg = p[ADAG_CLIP_GRADIENT].f;
  UPDATE_LOOP(1, {
    T g = (T)rs * gr;
    g = CLIPG(T, g, (T)cg);
    T h = S1[i] + g * g;
    S1[i] = h;
    res = w - (T)lr * (g / (T)sqrt((double)h + eps) + (T)wd * w);
  });
  return MX_OK;
}

/* ------------------------------------------------------------ AdaDelta */

enum { ADAD_RHO, ADAD_EPSILON, ADAD_WD, ADAD_RESCALE_GRAD, ADAD_CLIP_GRADIENT, ADAD_NPARAMS };
static const mx_param_desc p_adadelta[ADAD_NPARAMS] = {
  [ADAD_RHO] = {"rho", MX_PARAM_FLOAT, 0, "0.9", NULL, "Decay rate of the running averages."},
  [ADAD_EPSILON] = {"epsilon", MX_PARAM_FLOAT, 0, "1e-05", NULL, "Added inside the square roots for stability."},
  P_WD_RESCALE_CLIP(ADAD),
};

/* g = clip(rescale*grad); acc_g = rho*acc_g + (1-rho)*g^2;
 * delta = sqrt(acc_delta + eps) / sqrt(acc_g + eps) * g;
 * acc_delta = rho*acc_delta + (1-rho)*delta^2; weight -= delta + wd*weight */
static mx_status k_adadelta(KARGS) {
  UNUSED_KARGS;
  const double rho = p[ADAD_RHO].f, eps = p[ADAD_EPSILON].f, wd = p[ADAD_WD].f,
               rs = p[ADAD_RESCALE_GRAD].f, cg = p[ADAD_CLIP_GRADIENT].f;
  UPDATE_LOOP(2, {
    T g = (T)rs * gr;
    g = CLIPG(T, g, (T)cg);
    T ag = (T)rho * S1[i] + (T)(1 - rho) * g * g;
    T dl = (T)(sqrt((double)S2[i] + eps) / sqrt((double)ag + eps)) * g;
    S1[i] = ag;
    S2[i] = (T)rho * S2[i] + (T)(1 - rho) * dl * dl;
    res = w - dl - (T)wd * w;
  });
  return MX_OK;
}

/* ------------------------------------------------------ signSGD, Signum */

enum { SSGD_LR, SSGD_WD, SSGD_RESCALE_GRAD, SSGD_CLIP_GRADIENT, SSGD_NPARAMS };
static const mx_param_desc p_signsgd[SSGD_NPARAMS] = {
  [SSGD_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [SSGD_WD] = {"wd", MX_PARAM_FLOAT, 0, "0", NULL, "Weight decay (L2 penalty) coefficient."},
  [SSGD_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL,
   "Accepted for compatibility; the sign of the gradient does not depend on it."},
  [SSGD_CLIP_GRADIENT] = {"clip_gradient", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Accepted for compatibility; clipping does not change the sign of the gradient."},
};

/* weight = (1 - lr*wd)*weight - lr*sign(grad) (MXNet: no rescaling or clipping) */
static mx_status k_signsgd(KARGS) {
  UNUSED_KARGS;
  const double lr = p[SSGD_LR].f, wd = p[SSGD_WD].f;
  UPDATE_LOOP(0, { res = ((T)1 - (T)lr * (T)wd) * w - (T)lr * (T)((gr > 0) - (gr < 0)); });
  return MX_OK;
}

enum { SIGNUM_LR, SIGNUM_MOMENTUM, SIGNUM_WD, SIGNUM_RESCALE_GRAD, SIGNUM_CLIP_GRADIENT,
       SIGNUM_WD_LH, SIGNUM_NPARAMS };
static const mx_param_desc p_signum[SIGNUM_NPARAMS] = {
  [SIGNUM_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [SIGNUM_MOMENTUM] = {"momentum", MX_PARAM_FLOAT, 0, "0", NULL, "Decay rate of the momentum."},
  P_WD_RESCALE_CLIP(SIGNUM),
  [SIGNUM_WD_LH] = {"wd_lh", MX_PARAM_FLOAT, 0, "0", NULL,
   "Decoupled weight decay (Loshchilov and Hutter), applied to the weight directly."},
};

/* mom = momentum*mom - (1-momentum)*(wd*weight + clip(rescale*grad));
 * weight = (1 - lr*wd_lh)*weight + lr*sign(mom) */
static mx_status k_signum(KARGS) {
  UNUSED_KARGS;
  const double lr = p[SIGNUM_LR].f, mo = p[SIGNUM_MOMENTUM].f, wd = p[SIGNUM_WD].f,
               rs = p[SIGNUM_RESCALE_GRAD].f, cg = p[SIGNUM_CLIP_GRADIENT].f,
               lh = p[SIGNUM_WD_LH].f;
  UPDATE_LOOP(1, {
    T g = (T)rs * gr;
    g = CLIPG(T, g, (T)cg);
    T m = (T)mo * S1[i] - (T)(1 - mo) * (T)wd * w - (T)(1 - mo) * g;
    S1[i] = m;
    res = ((T)1 - (T)lr * (T)lh) * w + (T)lr * (T)((m > 0) - (m < 0));
  });
  return MX_OK;
}

/* ---------------------------------------------------------- FTML, FTRL */

enum { FTML_LR, FTML_BETA1, FTML_BETA2, FTML_EPSILON, FTML_T, FTML_WD, FTML_RESCALE_GRAD,
       FTML_CLIP_GRAD, FTML_NPARAMS };
static const mx_param_desc p_ftml[FTML_NPARAMS] = {
  [FTML_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [FTML_BETA1] = {"beta1", MX_PARAM_FLOAT, 0, "0.6", NULL, "Decay rate of the first moment (generally close to 0.5)."},
  [FTML_BETA2] = {"beta2", MX_PARAM_FLOAT, 0, "0.999", NULL, "Decay rate of the second moment (generally close to 1)."},
  [FTML_EPSILON] = {"epsilon", MX_PARAM_FLOAT, 0, "1e-08", NULL, "Added to the denominator for stability."},
  [FTML_T] = {"t", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of the update (1 for the first)."},
  [FTML_WD] = {"wd", MX_PARAM_FLOAT, 0, "0", NULL, "Weight decay (L2 penalty) coefficient."},
  [FTML_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL, "Factor the gradient is multiplied by first."},
  [FTML_CLIP_GRAD] = {"clip_grad", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Clip the gradient (after rescaling and weight decay) to [-clip_grad, clip_grad]; negative: no clipping."},
};

/* FTML (Zheng and Kwok 2017), MXNet's FTMLKernel: g = clip(rescale*grad + wd*weight);
 * v = b2*v + (1-b2)*g^2; d_t = (1 - b1^t)/lr * (sqrt(v/(1 - b2^t)) + eps);
 * z = b1*z + (1-b1)*g - (d_t - b1*d)*weight; d = d_t; weight = -z/d_t */
static mx_status k_ftml(KARGS) {
  UNUSED_KARGS;
  const double lr = p[FTML_LR].f, b1 = p[FTML_BETA1].f, b2 = p[FTML_BETA2].f,
               eps = p[FTML_EPSILON].f, wd = p[FTML_WD].f, rs = p[FTML_RESCALE_GRAD].f,
               cg = p[FTML_CLIP_GRAD].f, t = (double)p[FTML_T].i;
  const double c1 = (1 - pow(b1, t)) / lr, c2 = 1 - pow(b2, t);
  UPDATE_LOOP(3, {
    T g = (T)rs * gr + (T)wd * w;
    g = CLIPG(T, g, (T)cg);
    T v = (T)b2 * S2[i] + (T)(1 - b2) * g * g;
    T dt = (T)c1 * ((T)sqrt((double)v / c2) + (T)eps);
    T z = (T)b1 * S3[i] + (T)(1 - b1) * g - (dt - (T)b1 * S1[i]) * w;
    S1[i] = dt;
    S2[i] = v;
    S3[i] = z;
    res = -z / dt;
  });
  return MX_OK;
}

enum { FTRL_LR, FTRL_LAMDA1, FTRL_BETA, FTRL_WD, FTRL_RESCALE_GRAD, FTRL_CLIP_GRADIENT,
       FTRL_NPARAMS };
static const mx_param_desc p_ftrl[FTRL_NPARAMS] = {
  [FTRL_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [FTRL_LAMDA1] = {"lamda1", MX_PARAM_FLOAT, 0, "0.01", NULL, "The L1 regularisation coefficient."},
  [FTRL_BETA] = {"beta", MX_PARAM_FLOAT, 0, "1", NULL, "Per-coordinate learning rate beta."},
  P_WD_RESCALE_CLIP(FTRL),
};

/* FTRL-proximal (McMahan et al.), MXNet's FtrlUpdateKernel: g = clip(rescale*grad);
 * z += g - (sqrt(n + g^2) - sqrt(n))*weight/lr; n += g^2;
 * weight = (sign(z)*lamda1 - z) / ((beta + sqrt(n))/lr + wd) where |z| > lamda1, else 0 */
static mx_status k_ftrl(KARGS) {
  UNUSED_KARGS;
  const double lr = p[FTRL_LR].f, l1 = p[FTRL_LAMDA1].f, beta = p[FTRL_BETA].f,
               wd = p[FTRL_WD].f, rs = p[FTRL_RESCALE_GRAD].f, cg = p[FTRL_CLIP_GRADIENT].f;
  UPDATE_LOOP(2, {
    T g = (T)rs * gr;
    g = CLIPG(T, g, (T)cg);
    T n = S2[i];
    T z = S1[i] + g - ((T)sqrt((double)(n + g * g)) - (T)sqrt((double)n)) * w / (T)lr;
    n += g * g;
    S1[i] = z;
    S2[i] = n;
    T az = z < 0 ? -z : z;
    res = az > (T)l1 ? ((T)((z > 0) - (z < 0)) * (T)l1 - z) / (((T)beta + (T)sqrt((double)n)) / (T)lr + (T)wd)
                     : (T)0;
  });
  return MX_OK;
}

/* ---------------------------------------------------------------- LAMB */

enum { LAMB1_BETA1, LAMB1_BETA2, LAMB1_EPSILON, LAMB1_T, LAMB1_BIAS_CORRECTION, LAMB1_WD,
       LAMB1_RESCALE_GRAD, LAMB1_CLIP_GRADIENT, LAMB1_NPARAMS };
static const mx_param_desc p_lamb1[LAMB1_NPARAMS] = {
  [LAMB1_BETA1] = {"beta1", MX_PARAM_FLOAT, 0, "0.9", NULL, "Decay rate of the first moment."},
  [LAMB1_BETA2] = {"beta2", MX_PARAM_FLOAT, 0, "0.999", NULL, "Decay rate of the second moment."},
  [LAMB1_EPSILON] = {"epsilon", MX_PARAM_FLOAT, 0, "1e-06", NULL, "Added to the denominator for stability."},
  [LAMB1_T] = {"t", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of the update (1 for the first)."},
  [LAMB1_BIAS_CORRECTION] = {"bias_correction", MX_PARAM_BOOL, 0, "True", NULL, "Whether to correct the moments' bias."},
  [LAMB1_WD] = {"wd", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Weight decay (L2 penalty) coefficient."},
  [LAMB1_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL, "Factor the gradient is multiplied by first."},
  [LAMB1_CLIP_GRADIENT] = {"clip_gradient", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Clip the rescaled gradient to [-clip_gradient, clip_gradient]; negative: no clipping."},
};

/* LAMB phase one (You et al. 2019): g = clip(rescale*grad);
 * mean = b1*mean + (1-b1)*g; var = b2*var + (1-b2)*g^2;
 * out = mean'/(sqrt(var') + eps) + wd*weight, mean' = mean/(1 - b1^t) and
 * var' = var/(1 - b2^t) with bias_correction, else mean and var. */
#define LAMB1_STEP {                                                         \
    T g = (T)rs * gr;                                                        \
    g = CLIPG(T, g, (T)cg);                                                  \
    T m = (T)b1 * S1[i] + (T)(1 - b1) * g;                                   \
    T v = (T)b2 * S2[i] + (T)(1 - b2) * g * g;                               \
    S1[i] = m;                                                               \
    S2[i] = v;                                                               \
    res = m / (T)c1 / ((T)sqrt((double)v / c2) + (T)eps) + (T)wd * w;        \
  }
#define LAMB1_ARGS                                                           \
  const double b1 = p[LAMB1_BETA1].f, b2 = p[LAMB1_BETA2].f, eps = p[LAMB1_EPSILON].f, \
               wd = p[LAMB1_WD].f, rs = p[LAMB1_RESCALE_GRAD].f,              \
               cg = p[LAMB1_CLIP_GRADIENT].f, t = (double)p[LAMB1_T].i;       \
  const int bc = (int)p[LAMB1_BIAS_CORRECTION].i;                             \
  const double c1 = bc ? 1 - pow(b1, t) : 1, c2 = bc ? 1 - pow(b2, t) : 1
static mx_status k_lamb1(KARGS) {
  UNUSED_KARGS;
  LAMB1_ARGS;
  UPDATE_LOOP(2, LAMB1_STEP);
  return MX_OK;
}
static mx_status k_mp_lamb1(KARGS) {
  UNUSED_KARGS;
  LAMB1_ARGS;
  MP_LOOP_AT(in, out[0], 2, 0, LAMB1_STEP);
  return MX_OK;
}

enum { LAMB2_LR, LAMB2_LOWER_BOUND, LAMB2_UPPER_BOUND, LAMB2_NPARAMS };
static const mx_param_desc p_lamb2[LAMB2_NPARAMS] = {
  [LAMB2_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [LAMB2_LOWER_BOUND] = {"lower_bound", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Lower limit of the weight's norm r1; negative: none."},
  [LAMB2_UPPER_BOUND] = {"upper_bound", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Upper limit of the weight's norm r1; negative: none."},
};

/* weight, g of one shape; r1, r2 of shape (1,) */
static mx_status shape_lamb2(const mx_param_value *p, int nin, mx_shape *in, int nout,
                             mx_shape *out) {
  mx_shape one;
  int64_t d1 = 1;
  mx_status rc = mx_shape_make(&one, 1, &d1);
  for (int k = 2; !rc && k < 4; k++) {
    if (in[k].ndim < 0) in[k] = one;
    else if (mx_shape_size(&in[k]) != 1)
      rc = mx_error(MX_ERR_SHAPE, "input %d (%s) must hold one value", k + 1, k == 2 ? "r1" : "r2");
  }
  if (rc) return rc;
  if (nin > 4) {   /* mp: weight32 with the weight's shape */
    mx_shape ws[3] = {in[0], in[1], in[4]};
    rc = infer_shape_update(p, 3, ws, nout, out);
    in[0] = ws[0]; in[1] = ws[1]; in[4] = ws[2];
    return rc;
  }
  return infer_shape_update(p, 2, in, nout, out);
}

/* LAMB phase two: lr' = lr * r1'/r2 (lr where r1' or r2 is 0), r1' = r1 held
 * to [lower_bound, upper_bound]; out = weight - lr' * g.  mp: from the
 * master copy (which, as in MXNet, is not updated). */
static double lamb2_lr(const mx_param_value *p, mx_ndarray *const *in) {
  double r1 = mx_load_f64(MX_PTR(in[2]), in[2]->dtype, 0), r2 = mx_load_f64(MX_PTR(in[3]), in[3]->dtype, 0);
  double lo = p[LAMB2_LOWER_BOUND].f, hi = p[LAMB2_UPPER_BOUND].f;
  if (lo >= 0 && r1 < lo) r1 = lo;
  if (hi >= 0 && r1 > hi) r1 = hi;
  return (r1 == 0 || r2 == 0) ? p[LAMB2_LR].f : p[LAMB2_LR].f * r1 / r2;
}
static mx_status k_lamb2(KARGS) {
  UNUSED_KARGS;
  const double lr = lamb2_lr(p, in);
  UPDATE_LOOP(0, { res = w - (T)lr * gr; });
  return MX_OK;
}
static mx_status k_mp_lamb2(KARGS) {
  UNUSED_KARGS;
  const double lr = lamb2_lr(p, in);
  if (in[1]->dtype != MX_FLOAT32 || in[4]->dtype != MX_FLOAT32)
    return mx_error(MX_ERR_DTYPE, "g and weight32 must be float32");
  int h = in[0]->dtype == MX_FLOAT16;
  if (!h && in[0]->dtype != MX_FLOAT32)
    return mx_error(MX_ERR_DTYPE, "the weight must be float16 or float32, not %s", mx_dtype_name(in[0]->dtype));
  const float *g = MX_DATA(in[1], float), *w32 = MX_DATA(in[4], float);
  int64_t n = mx_ndarray_size(in[0]);
  for (int64_t i = 0; i < n; i++) {
    float v = w32[i] - (float)lr * g[i];
    if (h) MX_DATA(out[0], uint16_t)[i] = mx_f32_to_f16(v);
    else MX_DATA(out[0], float)[i] = v;
  }
  return MX_OK;
}

/* ------------------------------------------------- multi-tensor updates */

/* multi_*: groups (weight, grad, [mom], [weight32]) of num_weights
 * weights, learning rates and weight decays per weight (lrs, wds; the
 * preloaded_ versions take them as the last two inputs). */
enum { MSGD_LRS, MSGD_WDS, MSGD_RESCALE_GRAD, MSGD_CLIP_GRADIENT, MSGD_NUM_WEIGHTS, MSGD_NPARAMS };
enum { MSGDM_LRS, MSGDM_WDS, MSGDM_MOMENTUM, MSGDM_RESCALE_GRAD, MSGDM_CLIP_GRADIENT,
       MSGDM_NUM_WEIGHTS, MSGDM_NPARAMS };
enum { PSGD_RESCALE_GRAD, PSGD_CLIP_GRADIENT, PSGD_NUM_WEIGHTS, PSGD_NPARAMS };
enum { PSGDM_MOMENTUM, PSGDM_RESCALE_GRAD, PSGDM_CLIP_GRADIENT, PSGDM_NUM_WEIGHTS, PSGDM_NPARAMS };

#define P_LRS_WDS(E)                                                           \
  [E##_LRS] = {"lrs", MX_PARAM_FTUPLE, MX_PF_REQUIRED | MX_PF_LIST, NULL, NULL, \
               "Learning rates, one per weight (in the order of the weights)."}, \
  [E##_WDS] = {"wds", MX_PARAM_FTUPLE, MX_PF_REQUIRED | MX_PF_LIST, NULL, NULL, \
               "Weight decays, one per weight (in the order of the weights)."}
#define P_MULTI_TAIL(E)                                                        \
  [E##_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL,          \
                        "Factor the gradients are multiplied by first."},      \
  [E##_CLIP_GRADIENT] = {"clip_gradient", MX_PARAM_FLOAT, 0, "-1", NULL,       \
   "Clip the rescaled gradients to [-clip_gradient, clip_gradient]; negative: no clipping."}, \
  [E##_NUM_WEIGHTS] = {"num_weights", MX_PARAM_INT, 0, "1", NULL, "Number of weights updated."}
#define P_MOMENTUM(E)                                                          \
  [E##_MOMENTUM] = {"momentum", MX_PARAM_FLOAT, 0, "0", NULL, "Momentum (decay of the previous update)."}

static const mx_param_desc p_multi_sgd[MSGD_NPARAMS] = {P_LRS_WDS(MSGD), P_MULTI_TAIL(MSGD)};
static const mx_param_desc p_multi_sgd_mom[MSGDM_NPARAMS] = {
  P_LRS_WDS(MSGDM), P_MOMENTUM(MSGDM), P_MULTI_TAIL(MSGDM)};
static const mx_param_desc p_pre_sgd[PSGD_NPARAMS] = {P_MULTI_TAIL(PSGD)};
static const mx_param_desc p_pre_sgd_mom[PSGDM_NPARAMS] = {P_MOMENTUM(PSGDM), P_MULTI_TAIL(PSGDM)};

/* What a multi-tensor call needs: weights, inputs per weight (stride),
 * whether lrs/wds are the last two inputs, the scalars, and the per-weight
 * rates read from the params or those inputs. */
typedef struct {
  int nw, stride, pre;
  double mo, rs, cg;
  const mx_param_value *lrs, *wds;
} multi_args;

/* e_lrs, e_mo, e_rs: the enum values of lrs (wds follows it), momentum and
 * rescale_grad (clip_gradient follows it); -1 where the table has none */
static multi_args multi_of(const mx_param_value *p, int e_lrs, int e_mo, int e_rs, int nw_idx,
                           int stride, int pre) {
  multi_args m;
  m.nw = (int)p[nw_idx].i;
  m.stride = stride;
  m.pre = pre;
  m.lrs = e_lrs >= 0 ? &p[e_lrs] : NULL;
  m.wds = e_lrs >= 0 ? &p[e_lrs + 1] : NULL;
  m.mo = e_mo >= 0 ? p[e_mo].f : 0;
  m.rs = p[e_rs].f;
  m.cg = p[e_rs + 1].f;
  return m;
}

/* lr and wd of weight k */
static void multi_rates(const multi_args *m, mx_ndarray *const *in, int k, double *lr, double *wd) {
  if (m->pre) {
    const mx_ndarray *L = in[m->nw * m->stride], *D = in[m->nw * m->stride + 1];
    *lr = mx_load_f64(MX_PTR(L), L->dtype, k);
    *wd = mx_load_f64(MX_PTR(D), D->dtype, k);
  } else {
    *lr = m->lrs->ftup[k];
    *wd = m->wds->ftup[k];
  }
}

static mx_status multi_check(const multi_args *m, int nin) {
  if (m->nw < 1 || nin != m->nw * m->stride + 2 * m->pre)
    return mx_error(MX_ERR_ARG, "num_weights = %d needs %d inputs, got %d", m->nw,
                    m->nw * m->stride + 2 * m->pre, nin);
  if (!m->pre && (m->lrs->n != m->nw || m->wds->n != m->nw))
    return mx_error(MX_ERR_ARG, "parameters 'lrs' and 'wds' need num_weights = %d values each", m->nw);
  return MX_OK;
}

/* For each weight k: lr, wd of k, then BODY's loop over group k. */
#define MULTI_RUN(MP, NSTATE, BODY)                                          \
  do {                                                                       \
    mx_status rc_m = multi_check(&m, nin);                                   \
    if (rc_m) return rc_m;                                                   \
    const double mo = m.mo, rs = m.rs, cg = m.cg;                            \
    (void)mo;                                                                \
    for (int k = 0; k < m.nw; k++) {                                         \
      double lr, wd;                                                         \
      multi_rates(&m, in, k, &lr, &wd);                                      \
      if (MP) MP_LOOP_AT(in + k * m.stride, out[k], NSTATE, 1, BODY);        \
      else UPDATE_LOOP_AT(in + k * m.stride, out[k], NSTATE, BODY);          \
    }                                                                        \
    return MX_OK;                                                            \
  } while (0)

static mx_status k_multi_sgd(KARGS) {
  UNUSED_KARGS;
  multi_args m = multi_of(p, MSGD_LRS, -1, MSGD_RESCALE_GRAD, MSGD_NUM_WEIGHTS, 2, 0);
  MULTI_RUN(0, 0, SGD_STEP);
}
static mx_status k_multi_mp_sgd(KARGS) {
  UNUSED_KARGS;
  multi_args m = multi_of(p, MSGD_LRS, -1, MSGD_RESCALE_GRAD, MSGD_NUM_WEIGHTS, 3, 0);
  MULTI_RUN(1, 0, SGD_STEP);
}
static mx_status k_multi_sgd_mom(KARGS) {
  UNUSED_KARGS;
  multi_args m = multi_of(p, MSGDM_LRS, MSGDM_MOMENTUM, MSGDM_RESCALE_GRAD, MSGDM_NUM_WEIGHTS, 3, 0);
  mx_status rc = multi_check(&m, nin);
  if (rc) return rc;
  int f32 = 1;
  for (int k = 0; k < m.nw && f32; k++) f32 = sgdm_is_f32(in + 3 * k, out[k]);
  if (!f32) MULTI_RUN(0, 1, SGDM_STEP);
  for (int k = 0; k < m.nw; k++) {
    double lr, wd;
    multi_rates(&m, in, k, &lr, &wd);
    sgdm_f32_run(in + 3 * k, out[k], lr, m.mo, wd, m.rs, m.cg);
  }
  return MX_OK;
}
static mx_status k_multi_mp_sgd_mom(KARGS) {
  UNUSED_KARGS;
  multi_args m = multi_of(p, MSGDM_LRS, MSGDM_MOMENTUM, MSGDM_RESCALE_GRAD, MSGDM_NUM_WEIGHTS, 4, 0);
  MULTI_RUN(1, 1, SGDM_STEP);
}
static mx_status k_pre_sgd(KARGS) {
  UNUSED_KARGS;
  multi_args m = multi_of(p, -1, -1, PSGD_RESCALE_GRAD, PSGD_NUM_WEIGHTS, 2, 1);
  MULTI_RUN(0, 0, SGD_STEP);
}
static mx_status k_pre_mp_sgd(KARGS) {
  UNUSED_KARGS;
  multi_args m = multi_of(p, -1, -1, PSGD_RESCALE_GRAD, PSGD_NUM_WEIGHTS, 3, 1);
  MULTI_RUN(1, 0, SGD_STEP);
}
static mx_status k_pre_sgd_mom(KARGS) {
  UNUSED_KARGS;
  multi_args m = multi_of(p, -1, PSGDM_MOMENTUM, PSGDM_RESCALE_GRAD, PSGDM_NUM_WEIGHTS, 3, 1);
  MULTI_RUN(0, 1, SGDM_STEP);
}
static mx_status k_pre_mp_sgd_mom(KARGS) {
  UNUSED_KARGS;
  multi_args m = multi_of(p, -1, PSGDM_MOMENTUM, PSGDM_RESCALE_GRAD, PSGDM_NUM_WEIGHTS, 4, 1);
  MULTI_RUN(1, 1, SGDM_STEP);
}

/* num_weights of the multi ops (the enums put it at different places) */
#define DEF_NW(NAME, IDX) \
  static int NAME(const mx_param_value *p) { return (int)p[IDX].i; }
DEF_NW(nw_msgd, MSGD_NUM_WEIGHTS)
DEF_NW(nw_msgdm, MSGDM_NUM_WEIGHTS)
DEF_NW(nw_psgd, PSGD_NUM_WEIGHTS)
DEF_NW(nw_psgdm, PSGDM_NUM_WEIGHTS)

/* Input names weight_0, grad_0, [mom_0], [weight32_0], weight_1, ...
 * (then lrs, wds for preloaded_); GROUP lists the names of one group. */
static char multi_names[5][4][MX_MAX_INPUTS / 4][16];
static int list_multi(int nw, const char *const *grp, int stride, int pre, int slot,
                      const char **names, int max) {
  int n = 0;
  for (int k = 0; k < nw && k < MX_MAX_INPUTS / 4; k++)
    for (int j = 0; j < stride; j++) {
      char *b = multi_names[slot][j][k];
      if (!b[0]) snprintf(b, 16, "%s_%d", grp[j], k);
      if (n < max) names[n] = b;
      n++;
    }
  if (pre) {
    if (n < max) names[n] = "lrs";
    n++;
    if (n < max) names[n] = "wds";
    n++;
  }
  return n;
}
static const char *const grp_sgd[] = {"weight", "grad", "weight32"};
static const char *const grp_mom[] = {"weight", "grad", "mom", "weight32"};
#define DEF_LIST(NAME, NW, GRP, STRIDE, PRE, SLOT)                                       \
  static int NAME(const mx_param_value *p, const char **names, int max) {               \
    return list_multi(NW(p), GRP, STRIDE, PRE, SLOT, names, max);                      \
  }
DEF_LIST(list_msgd, nw_msgd, grp_sgd, 2, 0, 0)
DEF_LIST(list_mmpsgd, nw_msgd, grp_sgd, 3, 0, 0)
DEF_LIST(list_msgdm, nw_msgdm, grp_mom, 3, 0, 1)
DEF_LIST(list_mmpsgdm, nw_msgdm, grp_mom, 4, 0, 1)
DEF_LIST(list_psgd, nw_psgd, grp_sgd, 2, 1, 2)
DEF_LIST(list_pmpsgd, nw_psgd, grp_sgd, 3, 1, 2)
DEF_LIST(list_psgdm, nw_psgdm, grp_mom, 3, 1, 3)
DEF_LIST(list_pmpsgdm, nw_psgdm, grp_mom, 4, 1, 3)

/* Shapes of the multi ops: each group as one update op (output k = weight
 * k); the preloaded lrs and wds hold num_weights values. */
static mx_status shape_groups(const mx_param_value *p, int nin, mx_shape *in, int nout,
                              mx_shape *out, int pre) {
  if (nout < 1) return mx_error(MX_ERR_ARG, "num_weights must be at least 1");
  int stride = (nin - 2 * pre) / nout;
  for (int k = 0; k < nout; k++) {
    mx_status rc = infer_shape_update(p, stride, in + k * stride, 1, out + k);
    if (rc) return mx_error_prefix(rc, "weight %d: ", k + 1);
  }
  for (int j = nin - 2 * pre; j < nin; j++) {
    int64_t d = nout;
    if (in[j].ndim < 0) mx_shape_make(&in[j], 1, &d);
    else if (mx_shape_size(&in[j]) != nout)
      return mx_error(MX_ERR_SHAPE, "'%s' must hold num_weights = %d values", j == nin - 2 ? "lrs" : "wds", nout);
  }
  return MX_OK;
}
static mx_status shape_multi(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  return shape_groups(p, nin, in, nout, out, 0);
}
static mx_status shape_pre(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  return shape_groups(p, nin, in, nout, out, 1);
}

/* Types: in each group of stride inputs the first `same` share the
 * weight's dtype (all of them, or weight and grad for mp_), the others
 * (states, master copies) and lrs/wds are float32; output k takes weight
 * k's dtype (float32 for mp_lamb_update_phase1). */
static mx_status type_groups(int nin, int *in, int nout, int *out, int pre, int same, int out32) {
  int stride = (nin - 2 * pre) / (nout > 0 ? nout : 1);
  for (int k = 0; k < nout; k++) {
    int *g = in + k * stride, t = -1;
    for (int j = 0; j < same && t < 0; j++) t = g[j];
    if (t < 0 && !out32) t = out[k];
    for (int j = 0; j < stride; j++) {
      int want = j < same ? t : MX_FLOAT32;
      if (g[j] < 0) g[j] = want;
      else if (want >= 0 && g[j] != want)
        return mx_error(MX_ERR_DTYPE, "input %d has dtype %s, expected %s", k * stride + j + 1,
                        mx_dtype_name(g[j]), mx_dtype_name(want));
    }
    out[k] = out32 ? MX_FLOAT32 : t;
  }
  for (int j = nin - 2 * pre; j < nin; j++)
    if (in[j] < 0) in[j] = MX_FLOAT32;
  return MX_OK;
}
#define DEF_TYPE(NAME, PRE, SAME, OUT32)                                                  \
  static mx_status NAME(const mx_param_value *p, int nin, int *in, int nout, int *out) {  \
    (void)p;                                                                              \
    return type_groups(nin, in, nout, out, PRE, SAME, OUT32);                             \
  }
DEF_TYPE(type_mp, 0, 2, 0)
DEF_TYPE(type_mp_pre, 1, 2, 0)
DEF_TYPE(type_multi_pre, 1, 4, 0)
DEF_TYPE(type_mp_lamb1, 0, 2, 1)

/* mp_lamb_update_phase2: weight (any float), the others float32 */
static mx_status type_mp_lamb2(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p; (void)nout;
  for (int j = 1; j < nin; j++) {
    if (in[j] < 0) in[j] = MX_FLOAT32;
    else if (in[j] != MX_FLOAT32)
      return mx_error(MX_ERR_DTYPE, "input %d must be float32, not %s", j + 1, mx_dtype_name(in[j]));
  }
  out[0] = in[0];
  return MX_OK;
}

/* ------------------------------------ multi-tensor and AMP helper ops */

/* multi_sum_sq, multi_all_finite, reset_arrays: num_arrays inputs
 * array_0, array_1, ...; multi_lars works on vectors of one value per
 * weight. */
enum { NA_NUM_ARRAYS, NA_NPARAMS };
enum { MAF_NUM_ARRAYS, MAF_INIT_OUTPUT, MAF_NPARAMS };
enum { AF_INIT_OUTPUT, AF_NPARAMS };
enum { LARS_ETA, LARS_EPS, LARS_RESCALE_GRAD, LARS_NPARAMS };
#define INIT_OUTPUT_DOC "Whether to set the output to 1 first (else it keeps its value unless an element is not finite)."
static const mx_param_desc p_num_arrays[NA_NPARAMS] = {
  [NA_NUM_ARRAYS] = {"num_arrays", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of input arrays."},
};
static const mx_param_desc p_multi_all_finite[MAF_NPARAMS] = {
  [MAF_NUM_ARRAYS] = {"num_arrays", MX_PARAM_INT, 0, "1", NULL, "Number of input arrays."},
  [MAF_INIT_OUTPUT] = {"init_output", MX_PARAM_BOOL, 0, "True", NULL, INIT_OUTPUT_DOC},
};
static const mx_param_desc p_all_finite[AF_NPARAMS] = {
  [AF_INIT_OUTPUT] = {"init_output", MX_PARAM_BOOL, 0, "True", NULL, INIT_OUTPUT_DOC},
};
static const mx_param_desc p_lars[LARS_NPARAMS] = {
  [LARS_ETA] = {"eta", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "LARS eta (trust coefficient)."},
  [LARS_EPS] = {"eps", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "LARS epsilon, added to the denominator."},
  [LARS_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL, "Factor the gradient norms are multiplied by."},
};

static const char *const grp_array[] = {"array", NULL};
/* num_arrays is the first parameter of every table that uses this */
static int list_arrays(const mx_param_value *p, const char **names, int max) {
  return list_multi((int)p[0].i, grp_array, 1, 0, 4, names, max);
}

/* multi_sum_sq: (num_arrays,); all_finite, multi_all_finite: (1,) */
static mx_status shape_sum_sq(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)p; (void)in; (void)nout;
  int64_t d = nin;
  return mx_shape_make(&out[0], 1, &d);
}
static mx_status shape_flag(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)p; (void)nin; (void)in; (void)nout;
  int64_t d = 1;
  return mx_shape_make(&out[0], 1, &d);
}
static mx_status shape_none(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)p; (void)nin; (void)in; (void)nout; (void)out;
  return MX_OK;
}
/* the inputs keep their dtypes; the output is float32 */
static mx_status type_out32(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p; (void)nin; (void)in;
  for (int k = 0; k < nout; k++) out[k] = MX_FLOAT32;
  return MX_OK;
}

/* sum of squares of each input (accumulated in double) */
static mx_status k_multi_sum_sq(KARGS) {
  UNUSED_KARGS;
  float *o = MX_DATA(out[0], float);
  for (int k = 0; k < nin; k++) {
    int64_t n = mx_ndarray_size(in[k]);
    double s = 0;
    MX_FLOAT_SWITCH(in[k]->dtype, T, {
      const T *x = MX_DATA(in[k], T);
      for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    });
    o[k] = (float)s;
  }
  return MX_OK;
}

/* out = 0 when an element of an input is infinite or NaN (1 first with
 * init_output); integer inputs are finite */
static mx_status finite_run(mx_ndarray *const *in, int nin, mx_ndarray *o, int init) {
  float *r = MX_DATA(o, float);
  if (init) r[0] = 1;
  for (int k = 0; k < nin; k++) {
    if (!mx_dtype_is_float(in[k]->dtype)) continue;
    int64_t n = mx_ndarray_size(in[k]);
    MX_FLOAT_SWITCH(in[k]->dtype, T, {
      const T *x = MX_DATA(in[k], T);
      for (int64_t i = 0; i < n; i++)
        if (!isfinite((double)x[i])) { r[0] = 0; break; }
    });
  }
  return MX_OK;
}
static mx_status k_all_finite(KARGS) {
  UNUSED_KARGS;
  return finite_run(in, nin, out[0], (int)p[AF_INIT_OUTPUT].i);
}
static mx_status k_multi_all_finite(KARGS) {
  UNUSED_KARGS;
  return finite_run(in, nin, out[0], (int)p[MAF_INIT_OUTPUT].i);
}

/* every input set to zero in place (any dtype: zero is all bits zero) */
static mx_status k_reset_arrays(KARGS) {
  UNUSED_KARGS;
  for (int k = 0; k < nin; k++) memset(MX_PTR(in[k]), 0, mx_ndarray_nbytes(in[k]));
  return MX_OK;
}

/* LARS (You et al. 2017), MXNet's MultiLARSKernel: per weight,
 * lr * eta * |w| / (|g| * rescale_grad + wd * |w| + eps) where |w| > 0 and
 * |g| > 0 (from the sums of squares), else lr */
static mx_status k_multi_lars(KARGS) {
  UNUSED_KARGS;
  for (int k = 0; k < 4; k++)
    if (in[k]->dtype != MX_FLOAT32)
      return mx_error(MX_ERR_DTYPE, "multi_lars takes float32 inputs, not %s", mx_dtype_name(in[k]->dtype));
  const float *lrs = MX_DATA(in[0], float), *ws = MX_DATA(in[1], float),
              *gs = MX_DATA(in[2], float), *wds = MX_DATA(in[3], float);
  float *o = MX_DATA(out[0], float);
  const double eta = p[LARS_ETA].f, eps = p[LARS_EPS].f, rs = p[LARS_RESCALE_GRAD].f;
  int64_t n = mx_ndarray_size(in[0]);
  for (int64_t i = 0; i < n; i++) {
    double wn = sqrt((double)ws[i]);
    o[i] = (wn > 0 && gs[i] > 0)
               ? (float)(lrs[i] * eta * wn / (sqrt((double)gs[i]) * rs + wds[i] * wn + eps))
               : lrs[i];
  }
  return MX_OK;
}

/* --------------------------------------------------------------- table */

static const char *const in_sgd[] = {"weight", "grad", NULL};
static const char *const in_mom[] = {"weight", "grad", "mom", NULL};
static const char *const in_adam[] = {"weight", "grad", "mean", "var", NULL};
static const char *const in_rms[] = {"weight", "grad", "n", NULL};
static const char *const in_rmsalex[] = {"weight", "grad", "n", "g", "delta", NULL};
static const char *const in_adagrad[] = {"weight", "grad", "history", NULL};
static const char *const in_adadelta[] = {"weight", "grad", "acc_g", "acc_delta", NULL};

#define UPD_FLAGS (MX_OPF_INPLACE | MX_OPF_F16 | MX_OPF_NO_MIRROR)
/* multi-tensor ops: output k is input k * stride, not input k */
#define MULTI_FLAGS (MX_OPF_F16 | MX_OPF_NO_MIRROR | MX_OPF_OUT_IS_INPUT)

static const char *const in_lars[] = {"lrs", "weights_sum_sq", "grads_sum_sq", "wds", NULL};
static const char *const in_data[] = {"data", NULL};
static const char *const in_signum[] = {"weight", "grad", "mom", NULL};
static const char *const in_ftml[] = {"weight", "grad", "d", "v", "z", NULL};
static const char *const in_ftrl[] = {"weight", "grad", "z", "n", NULL};
static const char *const in_mp_sgd[] = {"weight", "grad", "weight32", NULL};
static const char *const in_mp_mom[] = {"weight", "grad", "mom", "weight32", NULL};
static const char *const in_lamb1[] = {"weight", "grad", "mean", "var", NULL};
static const char *const in_mp_lamb1[] = {"weight", "grad", "mean", "var", "weight32", NULL};
static const char *const in_lamb2[] = {"weight", "g", "r1", "r2", NULL};
static const char *const in_mp_lamb2[] = {"weight", "g", "r1", "r2", "weight32", NULL};

#define MP_DOC " Multi-precision: weight and grad float16 (or float32), the states and the master copy weight32 float32; the step runs on weight32, which is updated in place, and out (pass out = weight) receives it converted."
#define MULTI_REC(NAME, DOC, PS, K, LIST, NW, SHAPE, TYPE)                                 \
  {.name = NAME, .doc = DOC, .num_inputs = -1, .input_names = in_sgd, .num_outputs = -1,   \
   .params = PS, .num_params = MX_NPARAMS(PS), .infer_shape = SHAPE, .infer_type = TYPE,   \
   .cpu = K, .flags = MULTI_FLAGS, .list_inputs = LIST, .count_outputs = NW}
#define MULTI_DOC " Inputs: num_weights groups, each updated as by the single-weight op; output k is the new weight k (pass out = the list of weights)."

const mx_op mx_ops_optimizer[] = {
  {.name = "sgd_update",
   .doc = "Fused SGD update: weight = (1 - lr*wd)*weight - lr*clip(rescale_grad*grad). "
          "Pass out = weight to update the weight in place.",
   .num_inputs = 2, .input_names = in_sgd, .num_outputs = 1, .params = p_sgd,
   .num_params = MX_NPARAMS(p_sgd), .infer_shape = infer_shape_update, .cpu = k_sgd,
   .flags = UPD_FLAGS},
  {.name = "sgd_mom_update",
   .doc = "Fused SGD update with momentum: mom = momentum*mom - lr*(clip(rescale_grad*grad) + wd*weight); "
          "weight = weight + mom. The state mom is updated in place; pass out = weight.",
   .num_inputs = 3, .input_names = in_mom, .num_outputs = 1, .params = p_sgd_mom,
   .num_params = MX_NPARAMS(p_sgd_mom), .infer_shape = infer_shape_update, .cpu = k_sgd_mom,
   .flags = UPD_FLAGS},
  {.name = "nag_mom_update",
   .doc = "Fused Nesterov momentum update: d = clip(rescale_grad*grad) + wd*weight; "
          "mom = momentum*mom - lr*d; weight = weight + momentum*mom - lr*d. "
          "The state mom is updated in place; pass out = weight.",
   .num_inputs = 3, .input_names = in_mom, .num_outputs = 1, .params = p_nag,
   .num_params = MX_NPARAMS(p_nag), .infer_shape = infer_shape_update, .cpu = k_nag,
   .flags = UPD_FLAGS},
  {.name = "adam_update",
   .doc = "Fused Adam update (no bias correction: fold it into lr): g = clip(rescale_grad*grad + wd*weight); "
          "mean = beta1*mean + (1-beta1)*g; var = beta2*var + (1-beta2)*g^2; "
          "weight = weight - lr*mean/(sqrt(var) + epsilon). The states are updated in place; pass out = weight.",
   .num_inputs = 4, .input_names = in_adam, .num_outputs = 1, .params = p_adam,
   .num_params = MX_NPARAMS(p_adam), .infer_shape = infer_shape_update, .cpu = k_adam,
   .flags = UPD_FLAGS},
  {.name = "rmsprop_update",
   .doc = "Fused RMSProp update (Tieleman and Hinton): g = clip(rescale_grad*grad + wd*weight); "
          "n = (1-gamma1)*g^2 + gamma1*n; weight = weight - lr*g/sqrt(n + epsilon). "
          "The state n is updated in place; pass out = weight.",
   .num_inputs = 3, .input_names = in_rms, .num_outputs = 1, .params = p_rmsprop,
   .num_params = MX_NPARAMS(p_rmsprop), .infer_shape = infer_shape_update, .cpu = k_rmsprop,
   .flags = UPD_FLAGS},
  {.name = "rmspropalex_update",
   .doc = "Fused centered RMSProp update (Graves 2013): g = clip(rescale_grad*grad + wd*weight); "
          "n = (1-gamma1)*g^2 + gamma1*n; gbar = (1-gamma1)*g + gamma1*gbar; "
          "delta = gamma2*delta - lr*g/sqrt(n - gbar^2 + epsilon); weight = weight + delta. "
          "The states n, g (gbar) and delta are updated in place; pass out = weight.",
   .num_inputs = 5, .input_names = in_rmsalex, .num_outputs = 1, .params = p_rmspropalex,
   .num_params = MX_NPARAMS(p_rmspropalex), .infer_shape = infer_shape_update,
   .cpu = k_rmspropalex, .flags = UPD_FLAGS},
  {.name = "adagrad_update",
   .doc = "Fused AdaGrad update: g = clip(rescale_grad*grad); history = history + g^2; "
          "weight = weight - lr*(g/sqrt(history + epsilon) + wd*weight). "
          "The state history is updated in place; pass out = weight.",
   .num_inputs = 3, .input_names = in_adagrad, .num_outputs = 1, .params = p_adagrad,
   .num_params = MX_NPARAMS(p_adagrad), .infer_shape = infer_shape_update, .cpu = k_adagrad,
   .flags = UPD_FLAGS},
  {.name = "adadelta_update",
   .doc = "Fused AdaDelta update: g = clip(rescale_grad*grad); acc_g = rho*acc_g + (1-rho)*g^2; "
          "delta = sqrt(acc_delta + epsilon)/sqrt(acc_g + epsilon)*g; "
          "acc_delta = rho*acc_delta + (1-rho)*delta^2; weight = weight - delta - wd*weight. "
          "The states are updated in place; pass out = weight.",
   .num_inputs = 4, .input_names = in_adadelta, .num_outputs = 1, .params = p_adadelta,
   .num_params = MX_NPARAMS(p_adadelta), .infer_shape = infer_shape_update, .cpu = k_adadelta,
   .flags = UPD_FLAGS},
  {.name = "signsgd_update",
   .doc = "signSGD update: weight = (1 - lr*wd)*weight - lr*sign(grad); pass out = weight.",
   .num_inputs = 2, .input_names = in_sgd, .num_outputs = 1, .params = p_signsgd,
   .num_params = MX_NPARAMS(p_signsgd), .infer_shape = infer_shape_update, .cpu = k_signsgd,
   .flags = UPD_FLAGS},
  {.name = "signum_update",
   .doc = "Signum update: mom = momentum*mom - (1-momentum)*(wd*weight + clip(rescale_grad*grad)); "
          "weight = (1 - lr*wd_lh)*weight + lr*sign(mom). The state mom is updated in place; pass out = weight.",
   .num_inputs = 3, .input_names = in_signum, .num_outputs = 1, .params = p_signum,
   .num_params = MX_NPARAMS(p_signum), .infer_shape = infer_shape_update, .cpu = k_signum,
   .flags = UPD_FLAGS},
  {.name = "ftml_update",
   .doc = "FTML update (Follow the Moving Leader): g = clip(rescale_grad*grad + wd*weight); v = beta2*v + (1-beta2)*g^2; "
          "d_t = (1 - beta1^t)/lr*(sqrt(v/(1 - beta2^t)) + epsilon); z = beta1*z + (1-beta1)*g - (d_t - beta1*d)*weight; "
          "d = d_t; weight = -z/d_t. The states d, v, z are updated in place; pass out = weight.",
   .num_inputs = 5, .input_names = in_ftml, .num_outputs = 1, .params = p_ftml,
   .num_params = MX_NPARAMS(p_ftml), .infer_shape = infer_shape_update, .cpu = k_ftml,
   .flags = UPD_FLAGS},
  {.name = "ftrl_update",
   .doc = "FTRL-proximal update: g = clip(rescale_grad*grad); z = z + g - (sqrt(n + g^2) - sqrt(n))*weight/lr; n = n + g^2; "
          "weight = (sign(z)*lamda1 - z)/((beta + sqrt(n))/lr + wd) where |z| > lamda1, else 0. "
          "The states z and n are updated in place; pass out = weight.",
   .num_inputs = 4, .input_names = in_ftrl, .num_outputs = 1, .params = p_ftrl,
   .num_params = MX_NPARAMS(p_ftrl), .infer_shape = infer_shape_update, .cpu = k_ftrl,
   .flags = UPD_FLAGS},
  {.name = "mp_sgd_update", .doc = "Multi-precision SGD update (as sgd_update)." MP_DOC,
   .num_inputs = 3, .input_names = in_mp_sgd, .num_outputs = 1, .params = p_sgd,
   .num_params = MX_NPARAMS(p_sgd), .infer_shape = infer_shape_update, .infer_type = type_mp,
   .cpu = k_mp_sgd, .flags = UPD_FLAGS},
  {.name = "mp_sgd_mom_update", .doc = "Multi-precision SGD update with momentum (as sgd_mom_update; mom float32)." MP_DOC,
   .num_inputs = 4, .input_names = in_mp_mom, .num_outputs = 1, .params = p_sgd_mom,
   .num_params = MX_NPARAMS(p_sgd_mom), .infer_shape = infer_shape_update, .infer_type = type_mp,
   .cpu = k_mp_sgd_mom, .flags = UPD_FLAGS},
  {.name = "mp_nag_mom_update", .doc = "Multi-precision Nesterov momentum update (as nag_mom_update; mom float32)." MP_DOC,
   .num_inputs = 4, .input_names = in_mp_mom, .num_outputs = 1, .params = p_nag,
   .num_params = MX_NPARAMS(p_nag), .infer_shape = infer_shape_update, .infer_type = type_mp,
   .cpu = k_mp_nag, .flags = UPD_FLAGS},
  {.name = "lamb_update_phase1",
   .doc = "LAMB phase one: g = clip(rescale_grad*grad); mean = beta1*mean + (1-beta1)*g; var = beta2*var + (1-beta2)*g^2; "
          "the output is mean'/(sqrt(var') + epsilon) + wd*weight (mean', var' bias-corrected with bias_correction). "
          "The states are updated in place; the weight is not changed.",
   .num_inputs = 4, .input_names = in_lamb1, .num_outputs = 1, .params = p_lamb1,
   .num_params = MX_NPARAMS(p_lamb1), .infer_shape = infer_shape_update, .cpu = k_lamb1,
   .flags = MX_OPF_F16 | MX_OPF_NO_MIRROR},
  {.name = "lamb_update_phase2",
   .doc = "LAMB phase two: weight = weight - lr'*g with lr' = lr*r1/r2 (r1, the weight's norm, held to [lower_bound, upper_bound]; lr where r1 or r2 is 0); pass out = weight.",
   .num_inputs = 4, .input_names = in_lamb2, .num_outputs = 1, .params = p_lamb2,
   .num_params = MX_NPARAMS(p_lamb2), .infer_shape = shape_lamb2, .cpu = k_lamb2,
   .flags = UPD_FLAGS},
  {.name = "mp_lamb_update_phase1",
   .doc = "Multi-precision LAMB phase one (as lamb_update_phase1, from the float32 master copy weight32); the output is float32.",
   .num_inputs = 5, .input_names = in_mp_lamb1, .num_outputs = 1, .params = p_lamb1,
   .num_params = MX_NPARAMS(p_lamb1), .infer_shape = infer_shape_update, .infer_type = type_mp_lamb1,
   .cpu = k_mp_lamb1, .flags = MX_OPF_F16 | MX_OPF_NO_MIRROR},
  {.name = "mp_lamb_update_phase2",
   .doc = "Multi-precision LAMB phase two: out = weight32 - lr'*g in the weight's dtype (lr' as lamb_update_phase2); as in MXNet, weight32 itself is not changed.",
   .num_inputs = 5, .input_names = in_mp_lamb2, .num_outputs = 1, .params = p_lamb2,
   .num_params = MX_NPARAMS(p_lamb2), .infer_shape = shape_lamb2, .infer_type = type_mp_lamb2,
   .cpu = k_mp_lamb2, .flags = UPD_FLAGS},
  MULTI_REC("multi_sgd_update", "SGD update of several weights (as sgd_update; groups weight, grad)." MULTI_DOC,
            p_multi_sgd, k_multi_sgd, list_msgd, nw_msgd, shape_multi, NULL),
  MULTI_REC("multi_mp_sgd_update", "Multi-precision SGD update of several weights (as mp_sgd_update; groups weight, grad, weight32)." MULTI_DOC,
            p_multi_sgd, k_multi_mp_sgd, list_mmpsgd, nw_msgd, shape_multi, type_mp),
  MULTI_REC("multi_sgd_mom_update", "SGD update with momentum of several weights (as sgd_mom_update; groups weight, grad, mom)." MULTI_DOC,
            p_multi_sgd_mom, k_multi_sgd_mom, list_msgdm, nw_msgdm, shape_multi, NULL),
  MULTI_REC("multi_mp_sgd_mom_update", "Multi-precision SGD update with momentum of several weights (as mp_sgd_mom_update; groups weight, grad, mom, weight32)." MULTI_DOC,
            p_multi_sgd_mom, k_multi_mp_sgd_mom, list_mmpsgdm, nw_msgdm, shape_multi, type_mp),
  MULTI_REC("preloaded_multi_sgd_update", "As multi_sgd_update, with the learning rates and weight decays given as the last two inputs (lrs, wds: arrays of num_weights values)." MULTI_DOC,
            p_pre_sgd, k_pre_sgd, list_psgd, nw_psgd, shape_pre, type_multi_pre),
  MULTI_REC("preloaded_multi_mp_sgd_update", "As multi_mp_sgd_update, with the learning rates and weight decays given as the last two inputs (lrs, wds: float32 arrays of num_weights values)." MULTI_DOC,
            p_pre_sgd, k_pre_mp_sgd, list_pmpsgd, nw_psgd, shape_pre, type_mp_pre),
  MULTI_REC("preloaded_multi_sgd_mom_update", "As multi_sgd_mom_update, with the learning rates and weight decays given as the last two inputs (lrs, wds: arrays of num_weights values)." MULTI_DOC,
            p_pre_sgd_mom, k_pre_sgd_mom, list_psgdm, nw_psgdm, shape_pre, type_multi_pre),
  MULTI_REC("preloaded_multi_mp_sgd_mom_update", "As multi_mp_sgd_mom_update, with the learning rates and weight decays given as the last two inputs (lrs, wds: float32 arrays of num_weights values)." MULTI_DOC,
            p_pre_sgd_mom, k_pre_mp_sgd_mom, list_pmpsgdm, nw_psgdm, shape_pre, type_mp_pre),
  {.name = "multi_sum_sq",
   .doc = "Sums of squares of num_arrays arrays: a float32 array of num_arrays values (for LARS and gradient clipping).",
   .num_inputs = -1, .input_names = grp_array, .num_outputs = 1, .params = p_num_arrays,
   .num_params = MX_NPARAMS(p_num_arrays), .infer_shape = shape_sum_sq, .infer_type = type_out32,
   .cpu = k_multi_sum_sq, .list_inputs = list_arrays},
  {.name = "multi_lars",
   .doc = "LARS learning rates: per weight i, lrs[i]*eta*|w_i|/(|g_i|*rescale_grad + wds[i]*|w_i| + eps), with the norms from weights_sum_sq and grads_sum_sq; lrs[i] where a norm is 0. float32.",
   .num_inputs = 4, .input_names = in_lars, .num_outputs = 1, .params = p_lars,
   .num_params = MX_NPARAMS(p_lars), .infer_shape = infer_shape_update, .cpu = k_multi_lars},
  {.name = "reset_arrays",
   .doc = "Set num_arrays arrays to zero in place (no outputs).",
   .num_inputs = -1, .input_names = grp_array, .num_outputs = 0, .params = p_num_arrays,
   .num_params = MX_NPARAMS(p_num_arrays), .infer_shape = shape_none, .infer_type = type_out32,
   .cpu = k_reset_arrays, .flags = MX_OPF_F16 | MX_OPF_INT8 | MX_OPF_NO_MIRROR,
   .list_inputs = list_arrays},
  {.name = "all_finite",
   .doc = "1 (float32, shape (1,)) when every element of data is finite, else 0 (mixed-precision training).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_all_finite,
   .num_params = MX_NPARAMS(p_all_finite), .infer_shape = shape_flag, .infer_type = type_out32,
   .cpu = k_all_finite},
  {.name = "multi_all_finite",
   .doc = "1 (float32, shape (1,)) when every element of the num_arrays arrays is finite, else 0 (mixed-precision training).",
   .num_inputs = -1, .input_names = grp_array, .num_outputs = 1, .params = p_multi_all_finite,
   .num_params = MX_NPARAMS(p_multi_all_finite), .infer_shape = shape_flag, .infer_type = type_out32,
   .cpu = k_multi_all_finite, .list_inputs = list_arrays},
  {.name = NULL},
};
