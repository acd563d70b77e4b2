/*
 * layers.c -- normalisation, padding and resampling layers with MXNet
 * 1.9.1's names, parameters and semantics: LRN, UpSampling, LayerNorm,
 * InstanceNorm, GroupNorm, L2Normalization, Pad (pad) and
 * SoftmaxActivation, forward and backward.
 *
 * Shapes are in C order.  Kernels compute float32 and float64 in double
 * accumulators (float16 is computed in float32 by the invoker).
 *
 * Most of these ops reduce over one axis-group of a view (A, M, B) of the
 * data: for every column (a, b) the M elements a*M*B + m*B + b.  LayerNorm
 * (over an axis), InstanceNorm (over the spatial axes), GroupNorm (over a
 * group of channels), L2Normalization and SoftmaxActivation all use it.
 *
 * Where this engine departs from MXNet 1.9.1 (on purpose; docs/ops-layers.md):
 *  - LRN accepts any data of two or more axes (channels on axis 1); MXNet's
 *    kernel assumes four.
 *  - UpSampling (nearest) with several inputs requires each input's scale to
 *    be the same along both spatial axes (MXNet takes the height's).
 *    Bilinear requires num_filter equal to the data's channels (MXNet builds
 *    a grouped Deconvolution that only agrees with its own shape inference
 *    then); it is computed directly as that depthwise transposed convolution
 *    with the learnable 'weight' input, whose gradient is computed too.
 *  - Pad accepts any number of axes and padding on every axis; MXNet asks
 *    for 4-d or 5-d data padded on the spatial axes only.  From R, a numeric
 *    pad_width is reversed like every tuple: give it as R-order pairs
 *    (after, before) per R dimension, or as MXNet's string
 *    "(0,0,0,0,1,1,2,2)" in C order with (before, after) pairs.
 *  - The hidden outputs (LRN's tmp_norm, L2Normalization's norm,
 *    InstanceNorm's mean and var) hold the documented statistics; gradients
 *    flow only through the main output (as in MXNet).
 */
#include "../include/mx-op.h"

#include <math.h>

#define DARGS const mx_param_value *p, int nin, int nout, unsigned char *ni, \
              unsigned char *no, unsigned char *ng

/* Whether backward writes the gradient of input j. */
#define WANT(j) (ig[j] && (req[j] == MX_REQ_WRITE || req[j] == MX_REQ_INPLACE))

static const char *const in_data[] = {"data", NULL};
static const char *const in_norm[] = {"data", "gamma", "beta", NULL};

static int vis1(const mx_param_value *p) { (void)p; return 1; }

/* data, gamma (when there) and the main output's gradient */
static void deps_data_grad(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 1;
  for (int k = 0; k < nout; k++) { no[k] = 0; ng[k] = k == 0; }
}

/* the outputs and the main output's gradient */
static void deps_out_grad(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 0;
  for (int k = 0; k < nout; k++) { no[k] = 1; ng[k] = k == 0; }
}

static int64_t dims_prod(const mx_shape *s, int a, int b) {
  int64_t r = 1;
  for (int k = a; k < b; k++) r *= s->d[k];
  return r;
}

/* A 1-d or 2-d shape. */
static mx_shape vec_shape(int ndim, int64_t a, int64_t b) {
  mx_shape s;
  memset(&s, 0, sizeof s);
  s.ndim = ndim;
  s.d[0] = a;
  s.d[1] = b;
  return s;
}

/* A parameter input (gamma, beta) of shape (n): fill it when unknown,
 * else check it. */
static mx_status param_shape(mx_shape *slot, int64_t n, const char *name) {
  mx_shape want = vec_shape(1, n, 0);
  if (slot->ndim < 0) *slot = want;
  if (mx_shape_equal(slot, &want)) return MX_OK;
  char got[128];
  mx_shape_format(slot, got, sizeof got);
  return mx_error(MX_ERR_SHAPE, "input '%s' has shape %s, expected (%lld)", name, got, (long long)n);
}

static mx_status need_ndim(const mx_shape *s, int lo, const char *what) {
  if (s->ndim >= lo) return MX_OK;
  return mx_error(MX_ERR_SHAPE, "input 'data' must have at least %d dimensions%s, not %d", lo, what,
                  s->ndim);
}

/* ---------------------------------------------------- column views */

typedef struct { int64_t A, M, B; } colview;

/* for every column (a, b) in parallel: x0 = first element, st = stride */
#define FOR_COLS(v, ...)                                                      \
  do {                                                                        \
    int64_t ncol_ = (v).A * (v).B;                                            \
    int nt_ = mx_par_threads(ncol_ * (v).M);                                  \
    (void)nt_;                                                                \
    MX_OMP_FOR(nt_)                                                           \
    for (int64_t col = 0; col < ncol_; col++) {                               \
      int64_t a_ = col / (v).B, b_ = col % (v).B;                             \
      int64_t x0 = a_ * (v).M * (v).B + b_, st = (v).B;                       \
      (void)x0; (void)st;                                                     \
      __VA_ARGS__;                                                            \
    }                                                                         \
  } while (0)

/* =========================================================== norms
 * LayerNorm, InstanceNorm and GroupNorm: per column, mean and variance over
 * M; y = (x - mean) / sqrt(var + eps) * gamma + beta, with gamma and beta
 * indexed by m (LayerNorm) or by a % P (InstanceNorm: channel, GroupNorm:
 * group). */

typedef struct {
  colview v;
  int by_m;        /* gamma indexed by m; else by a % P */
  int64_t P;
  double eps;
  int stat_var;    /* second statistic: variance (else standard deviation) */
} normplan;

static inline int64_t norm_pidx(const normplan *np, int64_t col, int64_t m) {
  return np->by_m ? m : (col / np->v.B) % np->P;
}

/* mean and standard deviation sqrt(var + eps) (var biased) of column x0 */
#define COL_MOMENTS(x, M, eps, mean, var, sd)                                 \
  double mean = 0, var = 0, sd;                                               \
  do {                                                                        \
    double s_ = 0, ss_ = 0;                                                   \
    for (int64_t m = 0; m < (M); m++) s_ += (x)[x0 + m * st];                 \
    mean = (M) > 0 ? s_ / (double)(M) : 0;                                    \
    for (int64_t m = 0; m < (M); m++) {                                       \
      double d_ = (double)(x)[x0 + m * st] - mean;                            \
      ss_ += d_ * d_;                                                         \
    }                                                                         \
    var = (M) > 0 ? ss_ / (double)(M) : 0;                                    \
    sd = sqrt(var + (eps));                                                   \
  } while (0)

static mx_status norm_forward(const normplan *np, mx_ndarray *const *in, mx_ndarray *const *out) {
  colview v = np->v;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T), *g = MX_DATA(in[1], T), *be = MX_DATA(in[2], T);
    T *y = MX_DATA(out[0], T);
    T *om = out[1] ? MX_DATA(out[1], T) : NULL, *os = out[2] ? MX_DATA(out[2], T) : NULL;
    FOR_COLS(v, {
      COL_MOMENTS(x, v.M, np->eps, mean, var, sd);
      if (om) om[col] = (T)mean;
      if (os) os[col] = (T)(np->stat_var ? var : sd);
      for (int64_t m = 0; m < v.M; m++) {
        int64_t pi = norm_pidx(np, col, m);
        y[x0 + m * st] = (T)(((double)x[x0 + m * st] - mean) / sd * (double)g[pi] + (double)be[pi]);
      }
    });
  });
  return MX_OK;
}

/* dx = (dxh - mean(dxh) - xh mean(dxh xh)) / sd with dxh = dy gamma;
 * dgamma = sum dy xh, dbeta = sum dy (serial: the sums cross columns). */
static mx_status norm_backward(const normplan *np, mx_ndarray *const *og, mx_ndarray *const *in,
                               mx_ndarray *const *ig, const int *req) {
  colview v = np->v;
  int64_t ncol = v.A * v.B;
  if (in[0]->dtype != MX_FLOAT32 && in[0]->dtype != MX_FLOAT64) return grad_dtype_error(in[0]->dtype);
  double *st2 = (double *)mx_calloc((size_t)(ncol > 0 ? 2 * ncol : 1), sizeof(double));
  if (!st2) return mx_error(MX_ERR_NOMEM, "out of memory");
  int w0 = WANT(0), w1 = WANT(1), w2 = WANT(2);
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T), *g = MX_DATA(in[1], T), *dy = MX_DATA(og[0], T);
    T *dx = w0 ? MX_DATA(ig[0], T) : NULL;
    FOR_COLS(v, {
      COL_MOMENTS(x, v.M, np->eps, mean, var, sd);
      (void)var;
      st2[2 * col] = mean;
      st2[2 * col + 1] = sd;
      if (dx) {
        double sg = 0, sgx = 0;
        for (int64_t m = 0; m < v.M; m++) {
          double dh = (double)dy[x0 + m * st] * (double)g[norm_pidx(np, col, m)];
          sg += dh;
          sgx += dh * ((double)x[x0 + m * st] - mean) / sd;
        }
        sg /= (double)v.M;
        sgx /= (double)v.M;
        for (int64_t m = 0; m < v.M; m++) {
          double dh = (double)dy[x0 + m * st] * (double)g[norm_pidx(np, col, m)];
          double xh = ((double)x[x0 + m * st] - mean) / sd;
          dx[x0 + m * st] = (T)((dh - sg - xh * sgx) / sd);
        }
      }
    });
    if (w1 || w2) {
      T *dg = w1 ? MX_DATA(ig[1], T) : NULL, *db = w2 ? MX_DATA(ig[2], T) : NULL;
      int64_t np_ = mx_ndarray_size(w1 ? ig[1] : ig[2]);
      double *acc = (double *)mx_calloc((size_t)(2 * np_ + 1), sizeof(double));
      if (!acc) {
        mx_free(st2);
        return mx_error(MX_ERR_NOMEM, "out of memory");
      }
      for (int64_t col = 0; col < ncol; col++) {
        int64_t x0 = (col / v.B) * v.M * v.B + col % v.B;
        for (int64_t m = 0; m < v.M; m++) {
          int64_t pi = norm_pidx(np, col, m), e = x0 + m * v.B;
          acc[2 * pi] += (double)dy[e] * ((double)x[e] - st2[2 * col]) / st2[2 * col + 1];
          acc[2 * pi + 1] += (double)dy[e];
        }
      }
      for (int64_t k = 0; k < np_; k++) {
        if (dg) dg[k] = (T)acc[2 * k];
        if (db) db[k] = (T)acc[2 * k + 1];
      }
      mx_free(acc);
    }
  });
  mx_free(st2);
  return MX_OK;
}

/* the forward and backward kernels of a norm, given its plan function */
#define NORM_KERNELS(name, plan)                                              \
  static mx_status k_##name(KARGS) {                                          \
    UNUSED_KARGS;                                                             \
    normplan np = plan(p, &in[0]->shape);                                     \
    return norm_forward(&np, in, out);                                        \
  }                                                                           \
  static mx_status b_##name(BARGS) {                                          \
    UNUSED_BARGS;                                                             \
    normplan np = plan(p, &in[0]->shape);                                     \
    return norm_backward(&np, og, in, ig, req);                               \
  }

/* ---------------------------------------------------------- LayerNorm */

enum { LN_AXIS, LN_EPS, LN_OUT_MEAN_VAR, LN_NPARAMS };
static const mx_param_desc p_layer_norm[LN_NPARAMS] = {
  [LN_AXIS] = {"axis", MX_PARAM_INT, 0, "-1", NULL, "The axis to normalise over (engine order; negative counts from the end)."},
  [LN_EPS] = {"eps", MX_PARAM_FLOAT, 0, "1e-05", NULL, "Added to the variance before the square root."},
  [LN_OUT_MEAN_VAR] = {"output_mean_var", MX_PARAM_BOOL, 0, "False", NULL, "Whether to return the mean and the standard deviation as well."},
};
static const char *const out_mean_std[] = {"output", "mean", "std", NULL};
static int vis_ln(const mx_param_value *p) { return p[LN_OUT_MEAN_VAR].i ? 3 : 1; }

static mx_status shape_layer_norm(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)nin; (void)nout;
  if (p[LN_EPS].f < 0) return mx_error(MX_ERR_ARG, "parameter 'eps' must not be negative");
  if (in[0].ndim < 0) return MX_OK;
  mx_status rc = need_ndim(&in[0], 1, "");
  int ax;
  if (!rc) rc = mx_axis_norm(p[LN_AXIS].i, in[0].ndim, &ax);
  if (rc) return mx_error_prefix(rc, "parameter 'axis': ");
  if ((rc = param_shape(&in[1], in[0].d[ax], "gamma")) || (rc = param_shape(&in[2], in[0].d[ax], "beta")))
    return rc;
  out[0] = in[0];
  out[1] = in[0];
  out[1].d[ax] = 1;
  out[2] = out[1];
  return MX_OK;
}

static normplan ln_plan(const mx_param_value *p, const mx_shape *s) {
  int ax = 0;
  mx_axis_norm(p[LN_AXIS].i, s->ndim, &ax);
  normplan np = {{dims_prod(s, 0, ax), s->d[ax], dims_prod(s, ax + 1, s->ndim)}, 1, 1,
                 p[LN_EPS].f, 0};
  return np;
}
NORM_KERNELS(layer_norm, ln_plan)

/* ------------------------------------------------------- InstanceNorm */

enum { IN_EPS, IN_NPARAMS };
static const mx_param_desc p_instance_norm[IN_NPARAMS] = {
  [IN_EPS] = {"eps", MX_PARAM_FLOAT, 0, "0.001", NULL, "Added to the variance before the square root."},
};
static const char *const out_mean_var[] = {"output", "mean", "var", NULL};

static mx_status shape_instance_norm(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                     mx_shape *out) {
  (void)nin; (void)nout;
  if (p[IN_EPS].f < 0) return mx_error(MX_ERR_ARG, "parameter 'eps' must not be negative");
  if (in[0].ndim < 0) return MX_OK;
  mx_status rc = need_ndim(&in[0], 3, " (batch, channel, spatial...)");
  if (rc || (rc = param_shape(&in[1], in[0].d[1], "gamma")) ||
      (rc = param_shape(&in[2], in[0].d[1], "beta")))
    return rc;
  out[0] = in[0];
  out[1] = vec_shape(2, in[0].d[0], in[0].d[1]);
  out[2] = out[1];
  return MX_OK;
}

static normplan inst_plan(const mx_param_value *p, const mx_shape *s) {
  normplan np = {{s->d[0] * s->d[1], dims_prod(s, 2, s->ndim), 1}, 0, s->d[1], p[IN_EPS].f, 1};
  return np;
}
NORM_KERNELS(instance_norm, inst_plan)

/* ---------------------------------------------------------- GroupNorm */

enum { GN_NUM_GROUPS, GN_EPS, GN_OUT_MEAN_VAR, GN_NPARAMS };
static const mx_param_desc p_group_norm[GN_NPARAMS] = {
  [GN_NUM_GROUPS] = {"num_groups", MX_PARAM_INT, 0, "1", NULL, "Number of groups the channels are divided into."},
  [GN_EPS] = {"eps", MX_PARAM_FLOAT, 0, "1e-05", NULL, "Added to the variance before the square root."},
  [GN_OUT_MEAN_VAR] = {"output_mean_var", MX_PARAM_BOOL, 0, "False", NULL, "Whether to return the mean and the standard deviation as well."},
};
static int vis_gn(const mx_param_value *p) { return p[GN_OUT_MEAN_VAR].i ? 3 : 1; }

static mx_status shape_group_norm(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)nin; (void)nout;
  int64_t G = p[GN_NUM_GROUPS].i;
  if (G < 1) return mx_error(MX_ERR_ARG, "parameter 'num_groups' must be at least 1");
  if (p[GN_EPS].f < 0) return mx_error(MX_ERR_ARG, "parameter 'eps' must not be negative");
  if (in[0].ndim < 0) return MX_OK;
  mx_status rc = need_ndim(&in[0], 3, " (batch, channel, spatial...)");
  if (rc) return rc;
  if (in[0].d[1] % G != 0)
    return mx_error(MX_ERR_SHAPE, "the %lld channels are not divisible by num_groups = %lld",
                    (long long)in[0].d[1], (long long)G);
  if ((rc = param_shape(&in[1], G, "gamma")) || (rc = param_shape(&in[2], G, "beta"))) return rc;
  out[0] = in[0];
  out[1] = vec_shape(2, in[0].d[0], G);
  out[2] = out[1];
  return MX_OK;
}

static normplan gn_plan(const mx_param_value *p, const mx_shape *s) {
  int64_t G = p[GN_NUM_GROUPS].i;
  normplan np = {{s->d[0] * G, G > 0 ? dims_prod(s, 1, s->ndim) / G : 0, 1}, 0, G,
                 p[GN_EPS].f, 0};
  return np;
}
NORM_KERNELS(group_norm, gn_plan)

/* ---------------------------------------------------- L2Normalization */

enum { L2_EPS, L2_MODE, L2_NPARAMS };
enum { L2M_INSTANCE, L2M_CHANNEL, L2M_SPATIAL };
static const mx_param_desc p_l2[L2_NPARAMS] = {
  [L2_EPS] = {"eps", MX_PARAM_FLOAT, 0, "1e-10", NULL, "Added to the sum of squares before the square root."},
  [L2_MODE] = {"mode", MX_PARAM_ENUM, 0, "instance", "instance|channel|spatial", "instance: normalise each example; channel: each position across channels (axis 1); spatial: each channel over its spatial axes."},
};
static const char *const out_l2[] = {"output", "norm", NULL};

static mx_status shape_l2(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (p[L2_EPS].f < 0) return mx_error(MX_ERR_ARG, "parameter 'eps' must not be negative");
  if (in[0].ndim < 0) return MX_OK;
  int mode = (int)p[L2_MODE].i;
  mx_status rc = need_ndim(&in[0], mode == L2M_INSTANCE ? 1 : mode == L2M_CHANNEL ? 2 : 3,
                           mode == L2M_INSTANCE ? "" : " for this mode");
  if (rc) return rc;
  out[0] = in[0];
  if (mode == L2M_INSTANCE) {
    out[1] = vec_shape(1, in[0].d[0], 0);
  } else if (mode == L2M_SPATIAL) {
    out[1] = vec_shape(2, in[0].d[0], in[0].d[1]);
  } else {
    out[1] = in[0];              /* the data's shape without axis 1 */
    for (int k = 1; k + 1 < in[0].ndim; k++) out[1].d[k] = in[0].d[k + 1];
    out[1].ndim = in[0].ndim - 1;
  }
  return MX_OK;
}

/* The view of L2Normalization and SoftmaxActivation: instance mode
 * reduces over everything but axis 0, channel mode over axis 1, spatial
 * mode over the axes after 1. */
static colview mode_view(int mode, const mx_shape *s) {
  colview v;
  if (mode == L2M_INSTANCE) {
    v.A = s->ndim > 0 ? s->d[0] : 1;
    v.M = dims_prod(s, 1, s->ndim);
    v.B = 1;
  } else if (mode == L2M_CHANNEL) {
    v.A = s->d[0];
    v.M = s->d[1];
    v.B = dims_prod(s, 2, s->ndim);
  } else {
    v.A = s->d[0] * s->d[1];
    v.M = dims_prod(s, 2, s->ndim);
    v.B = 1;
  }
  return v;
}

static mx_status k_l2(KARGS) {
  UNUSED_KARGS;
  colview v = mode_view((int)p[L2_MODE].i, &in[0]->shape);
  double eps = p[L2_EPS].f;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T);
    T *y = MX_DATA(out[0], T), *nr = out[1] ? MX_DATA(out[1], T) : NULL;
    FOR_COLS(v, {
      double ss = 0;
      for (int64_t m = 0; m < v.M; m++) ss += (double)x[x0 + m * st] * (double)x[x0 + m * st];
      double r = sqrt(ss + eps);
      if (nr) nr[col] = (T)r;
      for (int64_t m = 0; m < v.M; m++) y[x0 + m * st] = (T)((double)x[x0 + m * st] / r);
    });
  });
  return MX_OK;
}

/* y = x / r: dx = (dy - y sum(dy y)) / r, r from the saved norm */
static mx_status b_l2(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  colview v = mode_view((int)p[L2_MODE].i, &out[0]->shape);
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *y = MX_DATA(out[0], T), *nr = MX_DATA(out[1], T), *dy = MX_DATA(og[0], T);
    T *dx = MX_DATA(ig[0], T);
    FOR_COLS(v, {
      double s = 0;
      for (int64_t m = 0; m < v.M; m++) s += (double)dy[x0 + m * st] * (double)y[x0 + m * st];
      double r = nr[col];
      for (int64_t m = 0; m < v.M; m++)
        dx[x0 + m * st] = (T)(((double)dy[x0 + m * st] - (double)y[x0 + m * st] * s) / r);
    });
  });
  return MX_OK;
}

/* -------------------------------------------------- SoftmaxActivation */

enum { SA_MODE, SA_NPARAMS };
static const mx_param_desc p_softmax_act[SA_NPARAMS] = {
  [SA_MODE] = {"mode", MX_PARAM_ENUM, 0, "instance", "instance|channel", "instance: softmax over everything but axis 0; channel: over axis 1 at every position."},
};

static mx_status shape_softmax_act(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                   mx_shape *out) {
  if (in[0].ndim >= 0) {
    mx_status rc = need_ndim(&in[0], p[SA_MODE].i ? 2 : 1, p[SA_MODE].i ? " for mode channel" : "");
    if (rc) return rc;
  }
  return mx_infer_shape_same(p, nin, in, nout, out);
}

static mx_status k_softmax_act(KARGS) {
  UNUSED_KARGS;
  colview v = mode_view((int)p[SA_MODE].i, &in[0]->shape);
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T);
    T *y = MX_DATA(out[0], T);
    FOR_COLS(v, {
      double mx = -INFINITY, s = 0;
      for (int64_t m = 0; m < v.M; m++) if ((double)x[x0 + m * st] > mx) mx = x[x0 + m * st];
      for (int64_t m = 0; m < v.M; m++) s += exp((double)x[x0 + m * st] - mx);
      for (int64_t m = 0; m < v.M; m++) y[x0 + m * st] = (T)(exp((double)x[x0 + m * st] - mx) / s);
    });
  });
  return MX_OK;
}

/* dx = y (dy - sum(dy y)) */
static mx_status b_softmax_act(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  colview v = mode_view((int)p[SA_MODE].i, &out[0]->shape);
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *y = MX_DATA(out[0], T), *dy = MX_DATA(og[0], T);
    T *dx = MX_DATA(ig[0], T);
    FOR_COLS(v, {
      double s = 0;
      for (int64_t m = 0; m < v.M; m++) s += (double)dy[x0 + m * st] * (double)y[x0 + m * st];
      for (int64_t m = 0; m < v.M; m++)
        dx[x0 + m * st] = (T)((double)y[x0 + m * st] * ((double)dy[x0 + m * st] - s));
    });
  });
  return MX_OK;
}

/* ---------------------------------------------------------------- LRN
 * tmp_norm = knorm + alpha / nsize * sum over the channel window
 * [c - nsize/2, c + nsize/2] of x^2; y = x * tmp_norm^-beta. */

enum { LRN_ALPHA, LRN_BETA, LRN_KNORM, LRN_NSIZE, LRN_NPARAMS };
static const mx_param_desc p_lrn[LRN_NPARAMS] = {
  [LRN_ALPHA] = {"alpha", MX_PARAM_FLOAT, 0, "0.0001", NULL, "Scale of the sum of squares (divided by nsize)."},
  [LRN_BETA] = {"beta", MX_PARAM_FLOAT, 0, "0.75", NULL, "Exponent of the normaliser."},
  [LRN_KNORM] = {"knorm", MX_PARAM_FLOAT, 0, "2", NULL, "Added to the scaled sum of squares."},
  [LRN_NSIZE] = {"nsize", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of neighbouring channels summed over (the window is nsize/2 channels either side)."},
};
static const char *const out_lrn[] = {"output", "tmp_norm", NULL};

static mx_status shape_lrn(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  if (p[LRN_NSIZE].i < 1) return mx_error(MX_ERR_ARG, "parameter 'nsize' must be at least 1");
  if (in[0].ndim >= 0) {
    mx_status rc = need_ndim(&in[0], 2, " (batch, channel, ...)");
    if (rc) return rc;
  }
  return mx_infer_shape_same(p, nin, in, nout, out);
}

/* the channel window of c: [lo, hi) */
static void lrn_window(int64_t c, int64_t C, int64_t h, int64_t *lo, int64_t *hi) {
  *lo = c > h ? c - h : 0;
  *hi = c + h + 1 < C ? c + h + 1 : C;
}

static mx_status k_lrn(KARGS) {
  UNUSED_KARGS;
  const mx_shape *s = &in[0]->shape;
  colview v = {s->d[0], s->d[1], dims_prod(s, 2, s->ndim)};
  double sal = p[LRN_ALPHA].f / (double)p[LRN_NSIZE].i, kn = p[LRN_KNORM].f, be = p[LRN_BETA].f;
  int64_t h = p[LRN_NSIZE].i / 2;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T);
    T *y = MX_DATA(out[0], T), *tn = out[1] ? MX_DATA(out[1], T) : NULL;
    FOR_COLS(v, {
      for (int64_t m = 0; m < v.M; m++) {
        int64_t lo, hi;
        lrn_window(m, v.M, h, &lo, &hi);
        double ss = 0;
        for (int64_t k = lo; k < hi; k++) ss += (double)x[x0 + k * st] * (double)x[x0 + k * st];
        double t = kn + sal * ss;
        if (tn) tn[x0 + m * st] = (T)t;
        y[x0 + m * st] = (T)((double)x[x0 + m * st] * pow(t, -be));
      }
    });
  });
  return MX_OK;
}

/* dx_c = dy_c t_c^-b - 2 b salpha x_c sum_{k in window(c)} dy_k x_k t_k^(-b-1) */
static mx_status b_lrn(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  const mx_shape *s = &in[0]->shape;
  colview v = {s->d[0], s->d[1], dims_prod(s, 2, s->ndim)};
  double sal = p[LRN_ALPHA].f / (double)p[LRN_NSIZE].i, be = p[LRN_BETA].f;
  int64_t h = p[LRN_NSIZE].i / 2;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T), *tn = MX_DATA(out[1], T), *dy = MX_DATA(og[0], T);
    T *dx = MX_DATA(ig[0], T);
    FOR_COLS(v, {
      for (int64_t m = 0; m < v.M; m++) {
        int64_t lo, hi;
        lrn_window(m, v.M, h, &lo, &hi);
        double acc = 0;
        for (int64_t k = lo; k < hi; k++) {
          int64_t e = x0 + k * st;
          acc += (double)dy[e] * (double)x[e] * pow((double)tn[e], -be - 1);
        }
        int64_t e = x0 + m * st;
        dx[e] = (T)((double)dy[e] * pow((double)tn[e], -be) - 2 * be * sal * (double)x[e] * acc);
      }
    });
  });
  return MX_OK;
}

static void deps_lrn(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 1;
  for (int k = 0; k < nout; k++) { no[k] = k == 1; ng[k] = k == 0; }
}

/* ---------------------------------------------------------------- Pad */

enum { PD_MODE, PD_PAD_WIDTH, PD_CONSTANT_VALUE, PD_NPARAMS };
enum { PDM_CONSTANT, PDM_EDGE, PDM_REFLECT };
static const mx_param_desc p_pad[PD_NPARAMS] = {
  [PD_MODE] = {"mode", MX_PARAM_ENUM, 0, "constant", "constant|edge|reflect", "constant: pad with constant_value; edge: repeat the edge values; reflect: mirror the values next to the edge."},
  [PD_PAD_WIDTH] = {"pad_width", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL, "Padding before and after every axis, 2 * ndim entries (MXNet's string form is in engine order: (before_0, after_0, before_1, after_1, ...); an R vector is reversed)."},
  [PD_CONSTANT_VALUE] = {"constant_value", MX_PARAM_FLOAT, 0, "0", NULL, "The padding value in constant mode."},
};

static mx_status shape_pad(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int nd = in[0].ndim, mode = (int)p[PD_MODE].i;
  if (p[PD_PAD_WIDTH].n != 2 * nd)
    return mx_error(MX_ERR_ARG, "parameter 'pad_width' must have 2 entries per data axis (%d), not %d",
                    2 * nd, p[PD_PAD_WIDTH].n);
  out[0] = in[0];
  for (int k = 0; k < nd; k++) {
    int64_t b = p[PD_PAD_WIDTH].tup[2 * k], a = p[PD_PAD_WIDTH].tup[2 * k + 1], n = in[0].d[k];
    if (b < 0 || a < 0) return mx_error(MX_ERR_ARG, "parameter 'pad_width' must not be negative");
    if (mode == PDM_REFLECT && (b >= n || a >= n) && (a > 0 || b > 0))
      return mx_error(MX_ERR_ARG, "reflect padding of %lld and %lld needs an axis longer than both, not %lld",
                      (long long)b, (long long)a, (long long)n);
    if (mode == PDM_EDGE && n == 0 && (a > 0 || b > 0))
      return mx_error(MX_ERR_ARG, "edge padding of an empty axis");
    out[0].d[k] = n + a + b;
  }
  return MX_OK;
}

/* The input index that output index o of an axis reads (-1: the constant). */
static inline int64_t pad_src(int mode, int64_t o, int64_t b, int64_t n) {
  int64_t i = o - b;
  if (i >= 0 && i < n) return i;
  if (mode == PDM_CONSTANT) return -1;
  if (mode == PDM_EDGE) return i < 0 ? 0 : n - 1;
  return i < 0 ? -i : 2 * (n - 1) - i;
}

/* Input offset of output element e (-1: the constant). */
static int64_t pad_offset(const mx_param_value *p, const mx_shape *is, const mx_shape *os, int64_t e) {
  int64_t off = 0, mul = 1;
  int mode = (int)p[PD_MODE].i;
  for (int k = os->ndim - 1; k >= 0; k--) {
    int64_t o = e % os->d[k];
    e /= os->d[k];
    int64_t i = pad_src(mode, o, p[PD_PAD_WIDTH].tup[2 * k], is->d[k]);
    if (i < 0) return -1;
    off += i * mul;
    mul *= is->d[k];
  }
  return off;
}

static mx_status k_pad(KARGS) {
  UNUSED_KARGS;
  int64_t n = mx_ndarray_size(out[0]);
  double cv = p[PD_CONSTANT_VALUE].f;
  const mx_shape *is = &in[0]->shape, *os = &out[0]->shape;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T);
    T *y = MX_DATA(out[0], T);
    int nt = mx_par_threads(n * os->ndim);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t e = 0; e < n; e++) {
      int64_t o = pad_offset(p, is, os, e);
      y[e] = o < 0 ? (T)cv : x[o];
    }
  });
  return MX_OK;
}

/* every output element's gradient goes to the element it read */
static mx_status b_pad(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  int64_t n = mx_ndarray_size(og[0]);
  const mx_shape *is = &ig[0]->shape, *os = &og[0]->shape;
  mx_status rc = mx_ndarray_fill(ig[0], 0);
  if (rc) return rc;
  MX_FLOAT_SWITCH(ig[0]->dtype, T, {
    const T *dy = MX_DATA(og[0], T);
    T *dx = MX_DATA(ig[0], T);
    for (int64_t e = 0; e < n; e++) {
      int64_t o = pad_offset(p, is, os, e);
      if (o >= 0) dx[o] += dy[e];
    }
  });
  return MX_OK;
}

/* --------------------------------------------------------- UpSampling
 * nearest: every input (arg0, arg1, ...) is repeated to the output size
 * (input 0's size times scale), then concatenated over channels or summed.
 * bilinear: a depthwise transposed convolution of data with weight
 * (C, 1, k, k), k = 2 scale - scale % 2, stride scale, pad
 * ceil((scale - 1) / 2): MXNet's Deconvolution with num_group = num_filter. */

enum { UP_SCALE, UP_NUM_FILTER, UP_SAMPLE_TYPE, UP_MULTI_INPUT_MODE, UP_NUM_ARGS, UP_WORKSPACE,
       UP_NPARAMS };
enum { UPS_NEAREST, UPS_BILINEAR };
static const mx_param_desc p_upsampling[UP_NPARAMS] = {
  [UP_SCALE] = {"scale", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Up-sampling factor of both spatial axes."},
  [UP_NUM_FILTER] = {"num_filter", MX_PARAM_INT, 0, "0", NULL, "Bilinear only: the data's number of channels."},
  [UP_SAMPLE_TYPE] = {"sample_type", MX_PARAM_ENUM, MX_PF_REQUIRED, NULL, "nearest|bilinear", "nearest (repeat values) or bilinear (a transposed convolution with the input 'weight')."},
  [UP_MULTI_INPUT_MODE] = {"multi_input_mode", MX_PARAM_ENUM, 0, "concat", "concat|sum", "Nearest with several inputs: concatenate them over channels or sum them."},
  [UP_NUM_ARGS] = {"num_args", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of inputs (nearest); bilinear takes data and weight."},
  [UP_WORKSPACE] = {"workspace", MX_PARAM_INT, 0, "512", NULL, "Ignored (MXNet's temporary workspace in MB)."},
};
static const char *const in_up_bilinear[] = {"data", "weight", NULL};
static const char *const in_up_nearest[] = {"arg0", "arg1", "arg2", "arg3", "arg4", "arg5",
                                            "arg6", "arg7", "arg8", "arg9", NULL};

static int list_upsampling(const mx_param_value *p, const char **names, int max) {
  if (p[UP_SAMPLE_TYPE].i == UPS_BILINEAR) {
    for (int k = 0; k < 2 && k < max; k++) names[k] = in_up_bilinear[k];
    return 2;
  }
  int n = p[UP_NUM_ARGS].is_set ? (int)p[UP_NUM_ARGS].i : 1;
  for (int k = 0; k < n && k < max; k++) names[k] = k < 10 ? in_up_nearest[k] : "arg";
  return n;
}

static int64_t up_kernel(int64_t s) { return 2 * s - s % 2; }
static int64_t up_pad(int64_t s) { return s / 2; }   /* ceil((s - 1) / 2) */

static mx_status shape_upsampling(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                  mx_shape *out) {
  (void)nout;
  int64_t s = p[UP_SCALE].i;
  if (s < 1) return mx_error(MX_ERR_ARG, "parameter 'scale' must be at least 1");
  if (p[UP_NUM_ARGS].i < 1) return mx_error(MX_ERR_ARG, "parameter 'num_args' must be at least 1");
  for (int j = 0; j < nin; j++)
    if (in[j].ndim >= 0 && in[j].ndim != 4 && (j == 0 || p[UP_SAMPLE_TYPE].i == UPS_NEAREST))
      return mx_error(MX_ERR_SHAPE, "input %d must be 4-d (batch, channel, y, x), not %d-d", j + 1,
                      in[j].ndim);
  if (in[0].ndim < 0) return MX_OK;
  mx_shape o = in[0];
  o.d[2] *= s;
  o.d[3] *= s;
  if (p[UP_SAMPLE_TYPE].i == UPS_BILINEAR) {
    if (p[UP_NUM_FILTER].i != in[0].d[1])
      return mx_error(MX_ERR_ARG, "bilinear: parameter 'num_filter' (%lld) must equal the data's channels (%lld)",
                      (long long)p[UP_NUM_FILTER].i, (long long)in[0].d[1]);
    int64_t k = up_kernel(s), wd[4] = {in[0].d[1], 1, k, k};
    mx_shape w;
    mx_status rc = mx_shape_make(&w, 4, wd);
    if (rc) return rc;
    if (in[1].ndim < 0) in[1] = w;
    if (!mx_shape_equal(&in[1], &w)) {
      char got[128], want[128];
      mx_shape_format(&in[1], got, sizeof got);
      mx_shape_format(&w, want, sizeof want);
      return mx_error(MX_ERR_SHAPE, "input 'weight' has shape %s, expected %s", got, want);
    }
    out[0] = o;
    return MX_OK;
  }
  o.d[1] = 0;
  for (int j = 0; j < nin; j++) {
    if (in[j].ndim < 0) return MX_OK;
    const mx_shape *d = &in[j];
    if (d->d[2] < 1 || d->d[3] < 1 || o.d[2] % d->d[2] || o.d[3] % d->d[3] ||
        o.d[2] / d->d[2] != o.d[3] / d->d[3] || d->d[0] != o.d[0])
      return mx_error(MX_ERR_SHAPE, "input %d's size does not divide the output size by one integer scale", j + 1);
    if (p[UP_MULTI_INPUT_MODE].i == 1 && j > 0 && d->d[1] != o.d[1])
      return mx_error(MX_ERR_SHAPE, "multi_input_mode sum needs inputs with the same number of channels");
    o.d[1] = p[UP_MULTI_INPUT_MODE].i == 1 ? d->d[1] : o.d[1] + d->d[1];
  }
  out[0] = o;
  return MX_OK;
}

/* Nearest: output (N, OC, OH, OW); input j (N, C, H, W) lands at channel
 * offset c0 (concat) or 0 (sum).  back = 0: y (+)= x repeated; back = 1:
 * dx = the sums of dy over each block. */
static mx_status nearest_one(const mx_ndarray *y, const mx_ndarray *x, int64_t c0, int add, int back) {
  const int64_t *od = y->shape.d, *id = x->shape.d;
  int64_t N = id[0], C = id[1], H = id[2], W = id[3], s = od[2] / H;
  MX_FLOAT_SWITCH(x->dtype, T, {
    T *yp = (T *)MX_PTR(y), *xp = (T *)MX_PTR(x);
    int nt = mx_par_threads(N * C * od[2] * od[3]);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t nc = 0; nc < N * C; nc++) {
      int64_t n = nc / C, c = nc % C;
      T *yc = yp + ((n * od[1] + c0 + c) * od[2]) * od[3];
      T *xc = xp + nc * H * W;
      for (int64_t i = 0; i < H * W; i++) {
        if (back) xc[i] = 0;
        for (int64_t dy = 0; dy < s; dy++)
          for (int64_t dx = 0; dx < s; dx++) {
            T *e = yc + (i / W * s + dy) * od[3] + i % W * s + dx;
            if (back) xc[i] += *e;
            else *e = add ? *e + xc[i] : xc[i];
          }
      }
    }
  });
  return MX_OK;
}

/* Bilinear as a depthwise transposed convolution: y[n,c,i*s-pad+ky,j*s-pad+kx]
 * += x[n,c,i,j] w[c,ky,kx].  mode 0: forward (y written); 1: dx; 2: dw. */
static mx_status bilinear_pass(int mode, const mx_ndarray *X, const mx_ndarray *Wt, const mx_ndarray *Y,
                               int64_t s) {
  const int64_t *id = X->shape.d;
  int64_t N = id[0], C = id[1], H = id[2], W = id[3], OH = H * s, OW = W * s;
  int64_t K = up_kernel(s), pd = up_pad(s);
  MX_FLOAT_SWITCH(X->dtype, T, {
    T *x = (T *)MX_PTR(X), *w = (T *)MX_PTR(Wt), *y = (T *)MX_PTR(Y);
    int nt = mode == 2 ? mx_par_threads(C * N * H * W * K * K) : mx_par_threads(N * C * OH * OW);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t t = 0; t < (mode == 2 ? C : N * C); t++) {
      int64_t c = mode == 2 ? t : t % C, n0 = mode == 2 ? 0 : t / C, n1 = mode == 2 ? N : n0 + 1;
      const T *wc = w + c * K * K;
      if (mode == 0) memset(y + t * OH * OW, 0, (size_t)(OH * OW) * sizeof(T));
      if (mode == 2) memset(w + c * K * K, 0, (size_t)(K * K) * sizeof(T));
      for (int64_t n = n0; n < n1; n++) {
        T *xc = x + (n * C + c) * H * W, *yc = y + (n * C + c) * OH * OW;
        for (int64_t i = 0; i < H; i++)
          for (int64_t j = 0; j < W; j++) {
            double acc = 0;
            for (int64_t ky = 0; ky < K; ky++) {
              int64_t oy = i * s - pd + ky;
              if (oy < 0 || oy >= OH) continue;
              for (int64_t kx = 0; kx < K; kx++) {
                int64_t ox = j * s - pd + kx;
                if (ox < 0 || ox >= OW) continue;
                if (mode == 0) yc[oy * OW + ox] += xc[i * W + j] * wc[ky * K + kx];
                else if (mode == 1) acc += (double)yc[oy * OW + ox] * (double)wc[ky * K + kx];
                else w[c * K * K + ky * K + kx] += yc[oy * OW + ox] * xc[i * W + j];
              }
            }
            if (mode == 1) xc[i * W + j] = (T)acc;
          }
      }
    }
  });
  return MX_OK;
}

static mx_status k_upsampling(KARGS) {
  UNUSED_KARGS;
  if (p[UP_SAMPLE_TYPE].i == UPS_BILINEAR) return bilinear_pass(0, in[0], in[1], out[0], p[UP_SCALE].i);
  int sum = p[UP_MULTI_INPUT_MODE].i == 1;
  int64_t c0 = 0;
  for (int j = 0; j < nin; j++) {
    mx_status rc = nearest_one(out[0], in[j], sum ? 0 : c0, sum && j > 0, 0);
    if (rc) return rc;
    c0 += in[j]->shape.d[1];
  }
  return MX_OK;
}

static mx_status b_upsampling(BARGS) {
  UNUSED_BARGS;
  mx_status rc = MX_OK;
  if (p[UP_SAMPLE_TYPE].i == UPS_BILINEAR) {
    if (WANT(0)) rc = bilinear_pass(1, ig[0], in[1], og[0], p[UP_SCALE].i);
    if (!rc && WANT(1)) rc = bilinear_pass(2, in[0], ig[1], og[0], p[UP_SCALE].i);
    return rc;
  }
  int sum = p[UP_MULTI_INPUT_MODE].i == 1;
  int64_t c0 = 0;
  for (int j = 0; j < nin && !rc; j++) {
    if (WANT(j)) rc = nearest_one(og[0], ig[j], sum ? 0 : c0, 0, 1);
    c0 += in[j]->shape.d[1];
  }
  return rc;
}

/* ========================================================== registry */

const mx_op mx_ops_layers[] = {
  {.name = "LRN",
   .doc = "Local response normalisation across channels: out = data / (knorm + alpha / nsize * sum of data^2 over nsize neighbouring channels)^beta.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 2, .params = p_lrn,
   .num_params = MX_NPARAMS(p_lrn), .infer_shape = shape_lrn, .cpu = k_lrn, .backward = b_lrn,
   .backward_deps = deps_lrn, .num_visible_outputs = vis1, .output_names = out_lrn},
  {.name = "UpSampling",
   .doc = "Up-sample 4-d (batch, channel, y, x) data by an integer scale: nearest repeats values (several inputs are brought to the first's size times scale and concatenated or summed); bilinear is a depthwise transposed convolution with a learnable weight (C, 1, 2 scale - scale % 2, same), usually initialised with mx.init.Bilinear-style weights.",
   .num_inputs = -1, .input_names = in_up_nearest, .num_outputs = 1, .params = p_upsampling,
   .num_params = MX_NPARAMS(p_upsampling), .infer_shape = shape_upsampling, .cpu = k_upsampling,
   .backward = b_upsampling, .backward_deps = deps_data_grad, .list_inputs = list_upsampling},
  {.name = "LayerNorm",
   .doc = "Layer normalisation over one axis: out = (data - mean) / sqrt(var + eps) * gamma + beta, gamma and beta of the axis' length.",
   .num_inputs = 3, .input_names = in_norm, .num_outputs = 3, .params = p_layer_norm,
   .num_params = MX_NPARAMS(p_layer_norm), .infer_shape = shape_layer_norm, .cpu = k_layer_norm,
   .backward = b_layer_norm, .flags = MX_OPF_PARTIAL_SHAPE,
   .backward_deps = deps_data_grad, .num_visible_outputs = vis_ln,
   .output_names = out_mean_std},
  {.name = "InstanceNorm",
   .doc = "Instance normalisation: each channel of each example is normalised over its spatial axes, out = (data - mean) / sqrt(var + eps) * gamma + beta, gamma and beta per channel.",
   .num_inputs = 3, .input_names = in_norm, .num_outputs = 3, .params = p_instance_norm,
   .num_params = MX_NPARAMS(p_instance_norm), .infer_shape = shape_instance_norm,
   .cpu = k_instance_norm, .backward = b_instance_norm, .flags = MX_OPF_PARTIAL_SHAPE,
   .backward_deps = deps_data_grad,
   .num_visible_outputs = vis1, .output_names = out_mean_var},
  {.name = "GroupNorm",
   .doc = "Group normalisation: the channels are split into num_groups groups, each normalised over its channels and spatial axes per example; gamma and beta have one value per group (MXNet 1.9.1).",
   .num_inputs = 3, .input_names = in_norm, .num_outputs = 3, .params = p_group_norm,
   .num_params = MX_NPARAMS(p_group_norm), .infer_shape = shape_group_norm, .cpu = k_group_norm,
   .backward = b_group_norm, .flags = MX_OPF_PARTIAL_SHAPE,
   .backward_deps = deps_data_grad, .num_visible_outputs = vis_gn,
   .output_names = out_mean_std},
  {.name = "L2Normalization",
   .doc = "Divide the data by its L2 norm sqrt(sum(data^2) + eps), per example (instance), per position across channels (channel) or per channel over the spatial axes (spatial).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 2, .params = p_l2,
   .num_params = MX_NPARAMS(p_l2), .infer_shape = shape_l2, .cpu = k_l2, .backward = b_l2,
   .backward_deps = deps_out_grad, .num_visible_outputs = vis1, .output_names = out_l2},
  {.name = "Pad", .aliases = {"pad"},
   .doc = "Pad an array with a constant, its edge values or its reflection, pad_width giving the amounts before and after every axis.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_pad,
   .num_params = MX_NPARAMS(p_pad), .infer_shape = shape_pad, .cpu = k_pad, .backward = b_pad,
   .backward_deps = mx_deps_out_grads},
  {.name = "SoftmaxActivation",
   .doc = "Softmax over everything but the first axis (mode instance) or over axis 1 at every position (mode channel).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_softmax_act,
   .num_params = MX_NPARAMS(p_softmax_act), .infer_shape = shape_softmax_act,
   .cpu = k_softmax_act, .backward = b_softmax_act, .backward_deps = deps_out_grad},
  {.name = NULL},
};
