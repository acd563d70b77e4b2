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

/* Run BODY for every element i with T bound to the weight's dtype; the
 * macro-local pointers W (weight), G (grad), S1..S3 (states), O (output)
 * are set for the body. */
#define UPDATE_LOOP(NSTATE, BODY)                                            \
  do {                                                                       \
    int64_t n_ = mx_ndarray_size(in[0]);                                     \
    int nt_ = mx_par_threads(n_);                                            \
    MX_FLOAT_SWITCH(in[0]->dtype, T, {                                       \
      const T *W = MX_DATA(in[0], T);                                        \
      const T *G = MX_DATA(in[1], T);                                        \
      T *S1 = (NSTATE) >= 1 ? MX_DATA(in[2], T) : NULL;                      \
      T *S2 = (NSTATE) >= 2 ? MX_DATA(in[3], T) : NULL;                      \
      T *S3 = (NSTATE) >= 3 ? MX_DATA(in[4], T) : NULL;                      \
      T *O = MX_DATA(out[0], T);                                             \
      (void)S1; (void)S2; (void)S3;                                          \
      MX_OMP_FOR(nt_)                                                        \
      for (int64_t i = 0; i < n_; i++) { BODY }                              \
    });                                                                      \
  } while (0)

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

/* weight = (1 - lr*wd) * weight - lr * clip(rescale*grad) */
static mx_status k_sgd(KARGS) {
  UNUSED_KARGS;
  const double lr = p[SGD_LR].f, wd = p[SGD_WD].f, rs = p[SGD_RESCALE_GRAD].f,
               cg = p[SGD_CLIP_GRADIENT].f;
  UPDATE_LOOP(0, {
    T w = W[i];
    T g = (T)rs * G[i];
    g = CLIPG(T, g, (T)cg);
    O[i] = ((T)1 - (T)lr * (T)wd) * w - (T)lr * g;
  });
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
static mx_status k_sgd_mom(KARGS) {
  UNUSED_KARGS;
  const double lr = p[SGDM_LR].f, mo = p[SGDM_MOMENTUM].f, wd = p[SGDM_WD].f,
               rs = p[SGDM_RESCALE_GRAD].f, cg = p[SGDM_CLIP_GRADIENT].f;
  UPDATE_LOOP(1, {
    T w = W[i];
    T g = (T)rs * G[i];
    g = CLIPG(T, g, (T)cg);
    T m = (T)mo * S1[i] - (T)lr * (g + (T)wd * w);
    S1[i] = m;
    O[i] = w + m;
  });
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
static mx_status k_nag(KARGS) {
  UNUSED_KARGS;
  const double lr = p[NAG_LR].f, mo = p[NAG_MOMENTUM].f, wd = p[NAG_WD].f,
               rs = p[NAG_RESCALE_GRAD].f, cg = p[NAG_CLIP_GRADIENT].f;
  UPDATE_LOOP(1, {
    T w = W[i];
    T g = (T)rs * G[i];
    g = CLIPG(T, g, (T)cg);
    T d = g + (T)wd * w;
    T m = (T)mo * S1[i] - (T)lr * d;
    S1[i] = m;
    O[i] = w + (T)mo * m - (T)lr * d;
  });
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
    T w = W[i];
    T g = (T)rs * G[i] + (T)wd * w;
    g = CLIPG(T, g, (T)cg);
    T m = (T)b1 * S1[i] + (T)(1 - b1) * g;
    T v = (T)b2 * S2[i] + (T)(1 - b2) * g * g;
    S1[i] = m;
    S2[i] = v;
    O[i] = w - (T)lr * m / ((T)sqrt((double)v) + (T)eps);
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
    T w = W[i];
    T g = (T)rs * G[i] + (T)wd * w;
    g = CLIPG(T, g, (T)cg);
    T n = (T)(1 - g1) * g * g + (T)g1 * S1[i];
    S1[i] = n;
    T nw = w - (T)lr * (g / (T)sqrt((double)n + eps));
    O[i] = CLIPG(T, nw, (T)cw);
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
    T w = W[i];
    T g = (T)rs * G[i] + (T)wd * w;
    g = CLIPG(T, g, (T)cg);
    T n = (T)(1 - g1) * g * g + (T)g1 * S1[i];
    T gb = (T)(1 - g1) * g + (T)g1 * S2[i];
    T dl = (T)g2 * S3[i] - (T)lr * (g / (T)sqrt((double)(n - gb * gb) + eps));
    S1[i] = n;
    S2[i] = gb;
    S3[i] = dl;
    T nw = w + dl;
    O[i] = CLIPG(T, nw, (T)cw);
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
    T w = W[i];
    T g = (T)rs * G[i];
    g = CLIPG(T, g, (T)cg);
    T h = S1[i] + g * g;
    S1[i] = h;
    O[i] = w - (T)lr * (g / (T)sqrt((double)h + eps) + (T)wd * w);
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
    T w = W[i];
    T g = (T)rs * G[i];
    g = CLIPG(T, g, (T)cg);
    T ag = (T)rho * S1[i] + (T)(1 - rho) * g * g;
    T dl = (T)(sqrt((double)S2[i] + eps) / sqrt((double)ag + eps)) * g;
    S1[i] = ag;
    S2[i] = (T)rho * S2[i] + (T)(1 - rho) * dl * dl;
    O[i] = w - dl - (T)wd * w;
  });
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
  {.name = NULL},
};
