/*
 * optimizer.cu -- the fused optimizer updates of src/ops/optimizer.c on the
 * GPU: sgd_update, sgd_mom_update, nag_mom_update, adam_update,
 * rmsprop_update, rmspropalex_update, adagrad_update, adadelta_update.
 *
 * The per-element formulas are mx_kc_update_f32/_f64 (kern-common.h),
 * optimizer.c's expressions cast for cast, host-tested against the CPU
 * kernels.  Output 0 may be the weight (in place) and the states are
 * updated in place: every element is read before it is written.
 * float32 and float64 only (float16 is refused by supports(), as the CPU
 * refuses it: bridging through float32 copies would drop the state
 * updates).
 *
 * UNVERIFIED on a GPU: compiled for sm_90 only (see docs/gpu-kernels.md).
 */
#include "../kern-common.h"

/* The fields of mx_kc_upd, in order, and each op's parameter names for
 * them (NULL: not a parameter of that op). */
enum { F_LR, F_WD, F_RS, F_CG, F_MOM, F_B1, F_B2, F_EPS, F_G1, F_G2, F_CW, F_RHO, F_N };

typedef struct upd_op {
  const char *name;
  int kind;
  const char *keys[F_N];
  int idx[F_N];
  int ready;
} upd_op;

#define WRC "wd", "rescale_grad", "clip_gradient"
static upd_op upd_ops[MX_KC_NUPD] = {
  {"sgd_update", MX_KC_SGD, {"lr", WRC}, {0}, 0},
  {"sgd_mom_update", MX_KC_SGD_MOM, {"lr", WRC, "momentum"}, {0}, 0},
  {"nag_mom_update", MX_KC_NAG, {"lr", WRC, "momentum"}, {0}, 0},
  {"adam_update", MX_KC_ADAM, {"lr", WRC, NULL, "beta1", "beta2", "epsilon"}, {0}, 0},
  {"rmsprop_update", MX_KC_RMSPROP,
   {"lr", WRC, NULL, NULL, NULL, "epsilon", "gamma1", NULL, "clip_weights"}, {0}, 0},
  {"rmspropalex_update", MX_KC_RMSPROPALEX,
   {"lr", WRC, NULL, NULL, NULL, "epsilon", "gamma1", "gamma2", "clip_weights"}, {0}, 0},
  {"adagrad_update", MX_KC_ADAGRAD, {"lr", WRC, NULL, NULL, NULL, "epsilon"}, {0}, 0},
  {"adadelta_update", MX_KC_ADADELTA,
   {NULL, WRC, NULL, NULL, NULL, "epsilon", NULL, NULL, NULL, "rho"}, {0}, 0},
};

static mx_status upd_resolve(upd_op *u) {
  if (u->ready) return MX_OK;
  for (int f = 0; f < F_N; f++) {
    u->idx[f] = -1;
    if (u->keys[f]) MX_KC_PARAM(u->idx[f], u->name, u->keys[f]);
  }
  u->ready = 1;
  return MX_OK;
}

static double pf(const mx_param_value *p, const upd_op *u, int f) {
  return u->idx[f] >= 0 ? p[u->idx[f]].f : 0;
}

__device__ __forceinline__ float kc_upd(int k, const mx_kc_upd *u, float w, float g, float *a,
                                        float *b, float *c) {
  return mx_kc_update_f32(k, u, w, g, a, b, c);
}
__device__ __forceinline__ double kc_upd(int k, const mx_kc_upd *u, double w, double g, double *a,
                                         double *b, double *c) {
  return mx_kc_update_f64(k, u, w, g, a, b, c);
}

template <class T> struct kf_update {
  const T *w, *g; T *s1, *s2, *s3, *o; mx_kc_upd u; int kind;
  __device__ void operator()(int64_t i) const {
    T a = s1 ? s1[i] : (T)0, b = s2 ? s2[i] : (T)0, c = s3 ? s3[i] : (T)0;
    T nw = kc_upd(kind, &u, w[i], g[i], &a, &b, &c);
    if (s1) s1[i] = a;
    if (s2) s2[i] = b;
    if (s3) s3[i] = c;
    o[i] = nw;
  }
};

static mx_status run_update(int which, const mx_op_ctx *c, const mx_param_value *p,
                            mx_ndarray *const *in, int nin, mx_ndarray *const *out) {
  upd_op *op = &upd_ops[which];
  mx_status rc = upd_resolve(op);
  if (rc) return rc;
  int ns = mx_kc_update_nstates(op->kind);
  if (nin < 2 + ns)
    return mx_error(MX_ERR_INTERNAL, "%s: %d inputs, expected %d", op->name, nin, 2 + ns);
  mx_kc_upd u;
  u.lr = pf(p, op, F_LR); u.wd = pf(p, op, F_WD); u.rs = pf(p, op, F_RS); u.cg = pf(p, op, F_CG);
  u.mom = pf(p, op, F_MOM); u.b1 = pf(p, op, F_B1); u.b2 = pf(p, op, F_B2); u.eps = pf(p, op, F_EPS);
  u.g1 = pf(p, op, F_G1); u.g2 = pf(p, op, F_G2); u.cw = pf(p, op, F_CW); u.rho = pf(p, op, F_RHO);
  int64_t n = mx_cu_size(&in[0]->shape);
  MX_KC_FLOAT_SWITCH(in[0]->dtype, T, {
    kf_update<T> f{MX_KC_PTR(in[0], T), MX_KC_PTR(in[1], T),
                   ns >= 1 ? MX_KC_PTR(in[2], T) : NULL, ns >= 2 ? MX_KC_PTR(in[3], T) : NULL,
                   ns >= 3 ? MX_KC_PTR(in[4], T) : NULL, MX_KC_PTR(out[0], T), u, op->kind};
    return mx_kc_launch(MX_KC_STREAM(c), n, f);
  });
  return MX_OK;
}

#define KC_DEF_UPDATE(NAME, KIND)                                             \
  extern "C" mx_status mx_kc_##NAME(KARGS) {                                  \
    UNUSED_KARGS;                                                             \
    return run_update(KIND, c, p, in, nin, out);                              \
  }
KC_DEF_UPDATE(sgd_update, MX_KC_SGD)
KC_DEF_UPDATE(sgd_mom_update, MX_KC_SGD_MOM)
KC_DEF_UPDATE(nag_mom_update, MX_KC_NAG)
KC_DEF_UPDATE(adam_update, MX_KC_ADAM)
KC_DEF_UPDATE(rmsprop_update, MX_KC_RMSPROP)
KC_DEF_UPDATE(rmspropalex_update, MX_KC_RMSPROPALEX)
KC_DEF_UPDATE(adagrad_update, MX_KC_ADAGRAD)
KC_DEF_UPDATE(adadelta_update, MX_KC_ADADELTA)
