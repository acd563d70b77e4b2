/*
 * random.c -- random arrays: random_uniform and random_normal.
 *
 * The numbers come from the counter-based generator of the call (c->rng,
 * seeded by the caller; from R, by R's own generator, so set.seed() makes
 * them reproducible).  They do not depend on the number of threads.
 * float16 and bfloat16 outputs are drawn in float32 and converted by the
 * invoker.
 */
#include "../include/mx-op.h"

#include <math.h>


/* Both ops' parameters: the distribution's two (uniform: low, high; normal:
 * loc, scale), then shape, ctx, dtype. */
enum { R_A, R_B, R_SHAPE, R_CTX, R_DTYPE, R_NPARAMS };

static mx_status random_shape(const mx_param_value *p, mx_shape *out) {
  const mx_param_value *s = &p[R_SHAPE];
  if (s->n > MX_MAX_DIM)
    return mx_error(MX_ERR_ARG, "parameter 'shape' has %d entries (at most %d)", s->n, MX_MAX_DIM);
  mx_shape o;
  o.ndim = s->n;
  for (int k = 0; k < s->n; k++) {
    if (s->tup[k] < 0)
      return mx_error(MX_ERR_ARG, "parameter 'shape' must not contain negative sizes");
    o.d[k] = s->tup[k];
  }
  for (int k = o.ndim; k < MX_MAX_DIM; k++) o.d[k] = 0;
  *out = o;
  return MX_OK;
}

static mx_status shape_uniform(const mx_param_value *p, int nin, mx_shape *in,
                               int nout, mx_shape *out) {
  (void)nin; (void)in; (void)nout;
  double lo = p[R_A].f, hi = p[R_B].f;
  if (!isfinite(lo)) return mx_error(MX_ERR_ARG, "parameter 'low' must be finite");
  if (!isfinite(hi)) return mx_error(MX_ERR_ARG, "parameter 'high' must be finite");
  if (hi < lo)
    return mx_error(MX_ERR_ARG, "parameter 'high' (%g) must not be less than 'low' (%g)", hi, lo);
  return random_shape(p, &out[0]);
}

static mx_status shape_normal(const mx_param_value *p, int nin, mx_shape *in,
                              int nout, mx_shape *out) {
  (void)nin; (void)in; (void)nout;
  if (!isfinite(p[R_A].f)) return mx_error(MX_ERR_ARG, "parameter 'loc' must be finite");
  if (!isfinite(p[R_B].f) || p[R_B].f < 0)
    return mx_error(MX_ERR_ARG, "parameter 'scale' must be finite and not negative, got %g", p[R_B].f);
  return random_shape(p, &out[0]);
}

static mx_status type_random(const mx_param_value *p, int nin, int *in, int nout,
                             int *out) {
  (void)nin; (void)in; (void)nout;
  int dt = mx_param_dtype(&p[R_DTYPE], MX_FLOAT32);
  if (!mx_dtype_is_float(dt))
    return mx_error(MX_ERR_DTYPE, "parameter 'dtype' must be float32, float64, float16 or bfloat16, got %s",
                    mx_dtype_name(dt));
  out[0] = dt;
  return MX_OK;
}

static mx_status k_uniform(KARGS) {
  (void)in; (void)nin; (void)nout; (void)req;
  mx_rng r = c->rng;
  int64_t n = mx_ndarray_size(out[0]);
  if (out[0]->dtype == MX_FLOAT64)
    mx_rng_uniform_f64(&r, MX_DATA(out[0], double), n, p[R_A].f, p[R_B].f);
  else if (out[0]->dtype == MX_FLOAT32)
    mx_rng_uniform_f32(&r, MX_DATA(out[0], float), n, p[R_A].f, p[R_B].f);
  else
    return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(out[0]->dtype));
  return MX_OK;
}

static mx_status k_normal(KARGS) {
  (void)in; (void)nin; (void)nout; (void)req;
  mx_rng r = c->rng;
  int64_t n = mx_ndarray_size(out[0]);
  if (out[0]->dtype == MX_FLOAT64)
    mx_rng_normal_f64(&r, MX_DATA(out[0], double), n, p[R_A].f, p[R_B].f);
  else if (out[0]->dtype == MX_FLOAT32)
    mx_rng_normal_f32(&r, MX_DATA(out[0], float), n, p[R_A].f, p[R_B].f);
  else
    return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(out[0]->dtype));
  return MX_OK;
}

static const mx_param_desc p_uniform[R_NPARAMS] = {
  [R_A] = {"low", MX_PARAM_FLOAT, 0, "0", NULL, "Lower bound (included)."},
  [R_B] = {"high", MX_PARAM_FLOAT, 0, "1", NULL, "Upper bound (excluded); not less than low."},
  [R_SHAPE] = {"shape", MX_PARAM_SHAPE, 0, "()", NULL, "Dimensions of the result (R order)."},
  [R_CTX] = {"ctx", MX_PARAM_CTX, MX_PF_OPTIONAL, NULL, NULL, "Device of the result."},
  [R_DTYPE] = {"dtype", MX_PARAM_DTYPE, 0, "float32", NULL, "float32, float64, float16 or bfloat16."},
};
static const mx_param_desc p_normal[R_NPARAMS] = {
  [R_A] = {"loc", MX_PARAM_FLOAT, 0, "0", NULL, "Mean."},
  [R_B] = {"scale", MX_PARAM_FLOAT, 0, "1", NULL, "Standard deviation (not negative)."},
  [R_SHAPE] = {"shape", MX_PARAM_SHAPE, 0, "()", NULL, "Dimensions of the result (R order)."},
  [R_CTX] = {"ctx", MX_PARAM_CTX, MX_PF_OPTIONAL, NULL, NULL, "Device of the result."},
  [R_DTYPE] = {"dtype", MX_PARAM_DTYPE, 0, "float32", NULL, "float32, float64, float16 or bfloat16."},
};

const mx_op mx_ops_random[] = {
  {.name = "random_uniform", .aliases = {"uniform"},
   .doc = "Uniformly distributed random numbers in [low, high). Reproducible with set.seed(), whatever the number of threads.",
   .num_inputs = 0, .num_outputs = 1, .params = p_uniform, .num_params = MX_NPARAMS(p_uniform),
   .infer_shape = shape_uniform, .infer_type = type_random, .cpu = k_uniform,
   .flags = MX_OPF_RANDOM | MX_OPF_CREATE},
  {.name = "random_normal", .aliases = {"normal"},
   .doc = "Normally distributed random numbers with mean loc and standard deviation scale. Reproducible with set.seed(), whatever the number of threads.",
   .num_inputs = 0, .num_outputs = 1, .params = p_normal, .num_params = MX_NPARAMS(p_normal),
   .infer_shape = shape_normal, .infer_type = type_random, .cpu = k_normal,
   .flags = MX_OPF_RANDOM | MX_OPF_CREATE},
  {.name = NULL},
};
