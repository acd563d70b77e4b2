/*
 * sample.c -- the random samplers beyond uniform and normal, and shuffle:
 * random_exponential, random_gamma, random_poisson, random_negative_binomial,
 * random_generalized_negative_binomial, random_randint, their sample_*
 * versions (distribution parameters given per element by arrays; also
 * sample_uniform and sample_normal), sample_multinomial and shuffle.
 *
 * Every element draws from its own Philox stream (mx_rng, src/engine/rng.c)
 * keyed by the call's seed and the element's index, so rejection samplers
 * (gamma: Marsaglia-Tsang; poisson: Knuth below 10, PTRS above) give the
 * same numbers on any number of threads, and set.seed() in R reproduces
 * them.  Results are drawn in double and stored in the output dtype.
 */
#include "../include/mx-op.h"

#include <math.h>
#include <stdlib.h>


/* ------------------------------------------------------ element streams */

static uint64_t mix64(uint64_t z) {   /* splitmix64's finaliser */
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static mx_rng stream_of(const mx_rng *call, int64_t i) {
  mx_rng r;
  mx_rng_init(&r, mix64(call->seed ^ mix64(call->counter + (uint64_t)i)));
  return r;
}

static double unif(mx_rng *r) {   /* [0, 1) */
  double u;
  mx_rng_uniform_f64(r, &u, 1, 0, 1);
  return u;
}
static double gauss(mx_rng *r) {
  double z;
  mx_rng_normal_f64(r, &z, 1, 0, 1);
  return z;
}

/* Gamma(shape a, scale b): Marsaglia and Tsang (2000); a < 1 boosted. */
static double draw_gamma(mx_rng *r, double a, double b) {
  if (a <= 0 || b <= 0) return a == 0 || b == 0 ? 0 : NAN;
  double boost = 1;
  if (a < 1) {
    boost = pow(1 - unif(r), 1 / a);
    a += 1;
  }
  double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);
  for (;;) {
    double z = gauss(r), v = 1 + c * z;
    if (v <= 0) continue;
    v = v * v * v;
    double u = 1 - unif(r);
    if (log(u) < 0.5 * z * z + d - d * v + d * log(v)) return d * v * b * boost;
  }
}

/* Poisson(lam): multiplication (Knuth) below 10, else PTRS (Hormann 1993). */
static double draw_poisson(mx_rng *r, double lam) {
  if (!(lam > 0)) return lam == 0 ? 0 : NAN;
  if (lam < 10) {
    double L = exp(-lam), p = 1;
    int64_t k = -1;
    do { k++; p *= unif(r); } while (p > L);
    return (double)k;
  }
  double sl = sqrt(lam), ll = log(lam), b = 0.931 + 2.53 * sl, a = -0.059 + 0.02483 * b;
  double inva = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    double u = unif(r) - 0.5, v = unif(r), us = 0.5 - fabs(u);
    double k = floor((2 * a / us + b) * u + lam + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (log(v) + log(inva) - log(a / (us * us) + b) <= -lam + k * ll - lgamma(k + 1)) return k;
  }
}

enum { D_UNIFORM, D_NORMAL, D_EXP, D_GAMMA, D_POISSON, D_NEGBIN, D_GNEGBIN, D_RANDINT };

static double draw(int dist, mx_rng *r, double a, double b) {
  switch (dist) {
    case D_UNIFORM: return a + (b - a) * unif(r);
    case D_NORMAL: return a + b * gauss(r);
    case D_EXP: return -log(1 - unif(r)) / a;
    case D_GAMMA: return draw_gamma(r, a, b);
    case D_POISSON: return draw_poisson(r, a);
    case D_NEGBIN:   /* k failures before ... with success probability p */
      return b >= 1 ? 0 : draw_poisson(r, draw_gamma(r, a, (1 - b) / b));
    case D_GNEGBIN:  /* mean mu (a), dispersion alpha (b) */
      return b == 0 ? draw_poisson(r, a) : draw_poisson(r, draw_gamma(r, 1 / b, a * b));
    default: {       /* randint in [a, b) */
      double span = b - a, v = a + floor(span * unif(r));
      return v < b ? v : b - 1;
    }
  }
}

/* Parameter checks of a distribution, one message per parameter. */
static mx_status check_dist(int dist, double a, double b) {
  switch (dist) {
    case D_UNIFORM:
      return b < a ? mx_error(MX_ERR_ARG, "parameter 'high' (%g) must not be less than 'low' (%g)", b, a) : MX_OK;
    case D_NORMAL:
      return !(b >= 0) ? mx_error(MX_ERR_ARG, "parameter 'scale' must not be negative, got %g", b) : MX_OK;
    case D_EXP:
      return !(a > 0) ? mx_error(MX_ERR_ARG, "parameter 'lam' must be positive, got %g", a) : MX_OK;
    case D_GAMMA:
      if (!(a > 0)) return mx_error(MX_ERR_ARG, "parameter 'alpha' must be positive, got %g", a);
      return !(b > 0) ? mx_error(MX_ERR_ARG, "parameter 'beta' must be positive, got %g", b) : MX_OK;
    case D_POISSON:
      return !(a >= 0) ? mx_error(MX_ERR_ARG, "parameter 'lam' must not be negative, got %g", a) : MX_OK;
    case D_NEGBIN:
      if (!(a > 0)) return mx_error(MX_ERR_ARG, "parameter 'k' must be positive, got %g", a);
      return !(b > 0 && b <= 1) ? mx_error(MX_ERR_ARG, "parameter 'p' must be in (0, 1], got %g", b) : MX_OK;
    case D_GNEGBIN:
      if (!(a >= 0)) return mx_error(MX_ERR_ARG, "parameter 'mu' must not be negative, got %g", a);
      return !(b >= 0) ? mx_error(MX_ERR_ARG, "parameter 'alpha' must not be negative, got %g", b) : MX_OK;
    default:
      return !(b > a) ? mx_error(MX_ERR_ARG, "parameter 'high' (%g) must be greater than 'low' (%g)", b, a) : MX_OK;
  }
}

/* ------------------------------------------------------------ random_* */

enum { RS_A, RS_B, RS_SHAPE, RS_CTX, RS_DTYPE, RS_NPARAMS };
enum { RE_LAM, RE_SHAPE, RE_CTX, RE_DTYPE, RE_NPARAMS };   /* one-parameter laws */


/* Output shape of a tuple parameter (negative sizes refused). */
static mx_status tuple_shape(const mx_param_value *s, mx_shape *o) {
  if (s->n > MX_MAX_DIM)
    return mx_error(MX_ERR_ARG, "parameter 'shape' has %d entries (at most %d)", s->n, MX_MAX_DIM);
  o->ndim = s->n;
  for (int k = 0; k < MX_MAX_DIM; k++) {
    if (k < s->n && s->tup[k] < 0) return mx_error(MX_ERR_ARG, "parameter 'shape' must not contain negative sizes");
    o->d[k] = k < s->n ? s->tup[k] : 0;
  }
  return MX_OK;
}

/* Random ops of two parameters (gamma, negative binomials, randint) and of
 * one (exponential, poisson) share kernels through these macros. */
#define RANDOM_OP2(NAME, DIST)                                                  \
  static mx_status shape_##NAME(const mx_param_value *p, int nin, mx_shape *in,  \
                                int nout, mx_shape *out) {                       \
    (void)nin; (void)in; (void)nout;                                             \
    mx_status rc = check_dist(DIST, p[RS_A].f, p[RS_B].f);                       \
    return rc ? rc : tuple_shape(&p[RS_SHAPE], &out[0]);                         \
  }                                                                              \
  static mx_status k_##NAME(KARGS) {                                             \
    UNUSED_KARGS;                                                                \
    return fill_random(c, DIST, p[RS_A].f, p[RS_B].f, out[0]);                   \
  }
#define RANDOM_OP1(NAME, DIST)                                                  \
  static mx_status shape_##NAME(const mx_param_value *p, int nin, mx_shape *in,  \
                                int nout, mx_shape *out) {                       \
    (void)nin; (void)in; (void)nout;                                             \
    mx_status rc = check_dist(DIST, p[RE_LAM].f, 0);                             \
    return rc ? rc : tuple_shape(&p[RE_SHAPE], &out[0]);                         \
  }                                                                              \
  static mx_status k_##NAME(KARGS) {                                             \
    UNUSED_KARGS;                                                                \
    return fill_random(c, DIST, p[RE_LAM].f, 0, out[0]);                         \
  }

static mx_status fill_random(const mx_op_ctx *c, int dist, double a, double b, mx_ndarray *o) {
  int64_t n = mx_ndarray_size(o);
  void *op = MX_PTR(o);
  int dt = o->dtype, nt = mx_par_threads(n * 16);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t i = 0; i < n; i++) {
    mx_rng r = stream_of(&c->rng, i);
    mx_store_f64(op, dt, i, draw(dist, &r, a, b));
  }
  return MX_OK;
}

RANDOM_OP2(gamma, D_GAMMA)
RANDOM_OP2(negbin, D_NEGBIN)
RANDOM_OP2(gnegbin, D_GNEGBIN)
RANDOM_OP1(exponential, D_EXP)
RANDOM_OP1(poisson, D_POISSON)

enum { RI_LOW, RI_HIGH, RI_SHAPE, RI_CTX, RI_DTYPE, RI_NPARAMS };

static mx_status shape_randint(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)in; (void)nout;
  mx_status rc = check_dist(D_RANDINT, (double)p[RI_LOW].i, (double)p[RI_HIGH].i);
  return rc ? rc : tuple_shape(&p[RI_SHAPE], &out[0]);
}
static mx_status k_randint(KARGS) {
  UNUSED_KARGS;
  return fill_random(c, D_RANDINT, (double)p[RI_LOW].i, (double)p[RI_HIGH].i, out[0]);
}

static mx_status type_float_param(const mx_param_value *p, int idx, int *out) {
  int dt = mx_param_dtype(&p[idx], MX_FLOAT32);
  if (!mx_dtype_is_float(dt))
    return mx_error(MX_ERR_DTYPE, "parameter 'dtype' must be float32, float64 or float16, got %s", mx_dtype_name(dt));
  out[0] = dt;
  return MX_OK;
}
static mx_status type_r2(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nin; (void)in; (void)nout;
  return type_float_param(p, RS_DTYPE, out);
}
static mx_status type_r1(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nin; (void)in; (void)nout;
  return type_float_param(p, RE_DTYPE, out);
}
static mx_status type_randint(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nin; (void)in; (void)nout;
  int dt = mx_param_dtype(&p[RI_DTYPE], MX_INT32);
  if (dt != MX_INT32 && dt != MX_INT64)
    return mx_error(MX_ERR_DTYPE, "parameter 'dtype' must be int32 or int64, got %s", mx_dtype_name(dt));
  out[0] = dt;
  return MX_OK;
}

/* ------------------------------------------------------------ sample_* */

enum { SS_SHAPE, SS_DTYPE, SS_NPARAMS };

/* Output: the parameter arrays' shape + shape. */
static mx_status shape_sample(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  for (int j = 1; j < nin; j++) {
    if (in[j].ndim < 0) in[j] = in[0];
    if (!mx_shape_equal(&in[j], &in[0]))
      return mx_shape_pair_error("the parameter arrays have shapes %s and %s: they must be equal", &in[0], &in[j]);
  }
  mx_shape s;
  mx_status rc = tuple_shape(&p[SS_SHAPE], &s);
  if (rc) return rc;
  if (in[0].ndim + s.ndim > MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "the result would have %d dimensions (at most %d)", in[0].ndim + s.ndim, MX_MAX_DIM);
  mx_shape o = in[0];
  for (int k = 0; k < s.ndim; k++) o.d[o.ndim++] = s.d[k];
  out[0] = o;
  return MX_OK;
}

static mx_status type_sample(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nout;
  for (int j = 0; j < nin; j++)
    if (in[j] >= 0 && !mx_dtype_is_float(in[j]))
      return mx_error(MX_ERR_DTYPE, "the parameter arrays must have a float dtype, not %s", mx_dtype_name(in[j]));
  if (p[SS_DTYPE].is_set) return type_float_param(p, SS_DTYPE, out);
  out[0] = in[0] >= 0 ? in[0] : MX_FLOAT32;
  return MX_OK;
}

/* Every parameter element draws prod(shape) values. */
static mx_status fill_sample(const mx_op_ctx *c, int dist, mx_ndarray *const *in, int nin, mx_ndarray *o) {
  int64_t np = mx_ndarray_size(in[0]), n = mx_ndarray_size(o), per = np ? n / np : 0;
  for (int64_t j = 0; j < np; j++) {
    double a = mx_load_f64(MX_PTR(in[0]), in[0]->dtype, j);
    double b = nin > 1 ? mx_load_f64(MX_PTR(in[1]), in[1]->dtype, j) : 0;
    mx_status rc = check_dist(dist, a, b);
    if (rc) return mx_error_prefix(rc, "element %lld: ", (long long)j);
  }
  void *op = MX_PTR(o);
  int dt = o->dtype, nt = mx_par_threads(n * 16);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t i = 0; i < n; i++) {
    int64_t j = i / per;
    double a = mx_load_f64(MX_PTR(in[0]), in[0]->dtype, j);
    double b = nin > 1 ? mx_load_f64(MX_PTR(in[1]), in[1]->dtype, j) : 0;
    mx_rng r = stream_of(&c->rng, i);
    mx_store_f64(op, dt, i, draw(dist, &r, a, b));
  }
  return MX_OK;
}

#define SAMPLE_KERNEL(NAME, DIST) \
  static mx_status ks_##NAME(KARGS) { UNUSED_KARGS; return fill_sample(c, DIST, in, nin, out[0]); }
SAMPLE_KERNEL(uniform, D_UNIFORM)
SAMPLE_KERNEL(normal, D_NORMAL)
SAMPLE_KERNEL(exponential, D_EXP)
SAMPLE_KERNEL(gamma, D_GAMMA)
SAMPLE_KERNEL(poisson, D_POISSON)
SAMPLE_KERNEL(negbin, D_NEGBIN)
SAMPLE_KERNEL(gnegbin, D_GNEGBIN)

/* --------------------------------------------------- sample_multinomial */

enum { SM_SHAPE, SM_GETPROB, SM_DTYPE, SM_NPARAMS };

static mx_status shape_multinomial(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim < 1) return mx_error(MX_ERR_SHAPE, "data needs at least one dimension (the categories)");
  mx_shape s;
  mx_status rc = tuple_shape(&p[SM_SHAPE], &s);
  if (rc) return rc;
  mx_shape o = in[0];
  o.ndim--;
  if (o.ndim + s.ndim > MX_MAX_DIM) return mx_error(MX_ERR_SHAPE, "the result would have too many dimensions");
  for (int k = 0; k < s.ndim; k++) o.d[o.ndim++] = s.d[k];
  if (o.ndim == 0) { o.ndim = 1; o.d[0] = 1; }
  for (int k = o.ndim; k < MX_MAX_DIM; k++) o.d[k] = 0;
  for (int k = 0; k < nout; k++) out[k] = o;
  return MX_OK;
}

static mx_status type_multinomial(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)nin;
  int dt = mx_param_dtype(&p[SM_DTYPE], MX_INT32);
  if (dt == MX_BFLOAT16) return mx_error(MX_ERR_DTYPE, "parameter 'dtype' must not be bfloat16");
  out[0] = dt;
  if (nout > 1) out[1] = in[0] >= 0 ? in[0] : MX_FLOAT32;
  return MX_OK;
}

static mx_status k_multinomial(KARGS) {
  UNUSED_KARGS;
  const mx_ndarray *d = in[0];
  int64_t k = d->shape.d[d->shape.ndim - 1], rows = k ? mx_ndarray_size(d) / k : 0;
  int64_t n = mx_ndarray_size(out[0]), per = rows ? n / rows : 0;
  if (n > 0 && k == 0) return mx_error(MX_ERR_ARG, "data has no categories");
  for (int64_t r = 0; r < rows; r++) {
    double s = 0;
    for (int64_t q = 0; q < k; q++) {
      double v = mx_load_f64(MX_PTR(d), d->dtype, r * k + q);
      if (!(v >= 0)) return mx_error(MX_ERR_ARG, "probabilities must not be negative or NaN (row %lld)", (long long)r);
      s += v;
    }
    if (fabs(s - 1) > 1e-4)
      return mx_error(MX_ERR_ARG, "the probabilities of row %lld sum to %g, not 1", (long long)r, s);
  }
  int nt = mx_par_threads(n * k);
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t i = 0; i < n; i++) {
    int64_t r = i / per, q = 0;
    mx_rng g = stream_of(&c->rng, i);
    double u = unif(&g), acc = 0;
    for (q = 0; q < k - 1; q++) {
      acc += mx_load_f64(MX_PTR(d), d->dtype, r * k + q);
      if (u < acc) break;
    }
    mx_store_f64(MX_PTR(out[0]), out[0]->dtype, i, (double)q);
    if (nout > 1)
      mx_store_f64(MX_PTR(out[1]), out[1]->dtype, i, log(mx_load_f64(MX_PTR(d), d->dtype, r * k + q)));
  }
  return MX_OK;
}

static int vis_multinomial(const mx_param_value *p) { return p[SM_GETPROB].i ? 2 : 1; }

/* ------------------------------------------------------------- shuffle */

static mx_status k_shuffle(KARGS) {
  UNUSED_KARGS;   /* Fisher-Yates over the first engine axis (last R dimension) */
  const mx_ndarray *x = in[0];
  int64_t len = x->shape.ndim ? x->shape.d[0] : 1, n = mx_ndarray_size(x);
  size_t row = (size_t)(len ? n / len : 0) * mx_dtype_size(x->dtype);
  int64_t *perm = (int64_t *)malloc((size_t)(len > 0 ? len : 1) * sizeof(int64_t));
  if (!perm) return mx_error(MX_ERR_NOMEM, "out of memory (shuffle)");
  for (int64_t i = 0; i < len; i++) perm[i] = i;
  mx_rng g = stream_of(&c->rng, 0);
  for (int64_t i = len - 1; i > 0; i--) {
    int64_t j = (int64_t)floor(unif(&g) * (double)(i + 1));
    if (j > i) j = i;
    int64_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
  }
  char *dst = (char *)MX_PTR(out[0]);
  const char *src = (const char *)MX_PTR(x);
  for (int64_t i = 0; i < len; i++) memcpy(dst + (size_t)i * row, src + (size_t)perm[i] * row, row);
  free(perm);
  return MX_OK;
}

/* ------------------------------------------------------------ registry */

static const char *const in_data[] = {"data", NULL};
static const char *const in_lam[] = {"lam", NULL};
static const char *const in_lowhigh[] = {"low", "high", NULL};
static const char *const in_musigma[] = {"mu", "sigma", NULL};
static const char *const in_ab[] = {"alpha", "beta", NULL};
static const char *const in_kp[] = {"k", "p", NULL};
static const char *const in_mualpha[] = {"mu", "alpha", NULL};

#define P_TAIL(X, DT, DTDOC) \
  [X##_SHAPE] = {"shape", MX_PARAM_SHAPE, 0, "()", NULL, "Dimensions of the result (R order)."}, \
  [X##_CTX] = {"ctx", MX_PARAM_CTX, MX_PF_OPTIONAL, NULL, NULL, "Device of the result."}, \
  [X##_DTYPE] = {"dtype", MX_PARAM_DTYPE, 0, DT, NULL, DTDOC}
#define P_TAIL_F(X) P_TAIL(X, "float32", "float32, float64 or float16.")

static const mx_param_desc p_gamma[RS_NPARAMS] = {
  [RS_A] = {"alpha", MX_PARAM_FLOAT, 0, "1", NULL, "Shape (positive)."},
  [RS_B] = {"beta", MX_PARAM_FLOAT, 0, "1", NULL, "Scale (positive)."},
  P_TAIL_F(RS),
};
static const mx_param_desc p_negbin[RS_NPARAMS] = {
  [RS_A] = {"k", MX_PARAM_FLOAT, 0, "1", NULL, "Number of failures (positive)."},
  [RS_B] = {"p", MX_PARAM_FLOAT, 0, "1", NULL, "Success probability, in (0, 1]."},
  P_TAIL_F(RS),
};
static const mx_param_desc p_gnegbin[RS_NPARAMS] = {
  [RS_A] = {"mu", MX_PARAM_FLOAT, 0, "1", NULL, "Mean (not negative)."},
  [RS_B] = {"alpha", MX_PARAM_FLOAT, 0, "1", NULL, "Dispersion (not negative; 0 gives a Poisson law)."},
  P_TAIL_F(RS),
};
static const mx_param_desc p_exponential[RE_NPARAMS] = {
  [RE_LAM] = {"lam", MX_PARAM_FLOAT, 0, "1", NULL, "Rate (positive)."},
  P_TAIL_F(RE),
};
static const mx_param_desc p_poisson[RE_NPARAMS] = {
  [RE_LAM] = {"lam", MX_PARAM_FLOAT, 0, "1", NULL, "Mean (not negative)."},
  P_TAIL_F(RE),
};
static const mx_param_desc p_randint[RI_NPARAMS] = {
  [RI_LOW] = {"low", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Lower bound (included)."},
  [RI_HIGH] = {"high", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Upper bound (excluded)."},
  P_TAIL(RI, "int32", "int32 or int64."),
};
static const mx_param_desc p_sample[SS_NPARAMS] = {
  [SS_SHAPE] = {"shape", MX_PARAM_SHAPE, 0, "()", NULL, "Samples per parameter element (R order), appended to the parameters' shape."},
  [SS_DTYPE] = {"dtype", MX_PARAM_DTYPE, MX_PF_OPTIONAL, NULL, NULL, "Dtype of the result (None: the parameters')."},
};
static const mx_param_desc p_multinomial[SM_NPARAMS] = {
  [SM_SHAPE] = {"shape", MX_PARAM_SHAPE, 0, "()", NULL, "Samples per distribution (R order)."},
  [SM_GETPROB] = {"get_prob", MX_PARAM_BOOL, 0, "False", NULL, "Also return the log-probability of each sample."},
  [SM_DTYPE] = {"dtype", MX_PARAM_DTYPE, 0, "int32", NULL, "Dtype of the sampled categories."},
};

#define RANDOM_REC(NAME, ALIAS, DOC, PS, SHAPE, TYPE, K) \
  {.name = NAME, .aliases = {ALIAS}, .doc = DOC, .num_inputs = 0, .num_outputs = 1, \
   .params = PS, .num_params = MX_NPARAMS(PS), .infer_shape = SHAPE, .infer_type = TYPE, \
   .cpu = K, .flags = MX_OPF_RANDOM | MX_OPF_CREATE}
#define SAMPLE_REC(NAME, DOC, NIN, INS, K) \
  {.name = NAME, .doc = DOC, .num_inputs = NIN, .input_names = INS, .num_outputs = 1, \
   .params = p_sample, .num_params = MX_NPARAMS(p_sample), .infer_shape = shape_sample, \
   .infer_type = type_sample, .cpu = K, .flags = MX_OPF_RANDOM}
#define REPRO " Reproducible with set.seed(), whatever the number of threads."

const mx_op mx_ops_sample[] = {
  RANDOM_REC("random_exponential", "_random_exponential", "Exponentially distributed random numbers with rate lam." REPRO,
             p_exponential, shape_exponential, type_r1, k_exponential),
  RANDOM_REC("random_gamma", "_random_gamma", "Gamma distributed random numbers with shape alpha and scale beta (Marsaglia-Tsang)." REPRO,
             p_gamma, shape_gamma, type_r2, k_gamma),
  RANDOM_REC("random_poisson", "_random_poisson", "Poisson distributed random numbers with mean lam." REPRO,
             p_poisson, shape_poisson, type_r1, k_poisson),
  RANDOM_REC("random_negative_binomial", "_random_negative_binomial",
             "Negative binomial random numbers: failures before k successes of probability p." REPRO,
             p_negbin, shape_negbin, type_r2, k_negbin),
  RANDOM_REC("random_generalized_negative_binomial", "_random_generalized_negative_binomial",
             "Generalized negative binomial random numbers with mean mu and variance mu + alpha mu^2." REPRO,
             p_gnegbin, shape_gnegbin, type_r2, k_gnegbin),
  RANDOM_REC("random_randint", "_random_randint", "Uniformly distributed random integers in [low, high)." REPRO,
             p_randint, shape_randint, type_randint, k_randint),
  SAMPLE_REC("sample_uniform", "Uniform samples in [low, high) per element of low and high." REPRO, 2, in_lowhigh, ks_uniform),
  SAMPLE_REC("sample_normal", "Normal samples with mean mu and standard deviation sigma per element." REPRO, 2, in_musigma, ks_normal),
  SAMPLE_REC("sample_exponential", "Exponential samples with rate lam per element." REPRO, 1, in_lam, ks_exponential),
  SAMPLE_REC("sample_gamma", "Gamma samples with shape alpha and scale beta per element." REPRO, 2, in_ab, ks_gamma),
  SAMPLE_REC("sample_poisson", "Poisson samples with mean lam per element." REPRO, 1, in_lam, ks_poisson),
  SAMPLE_REC("sample_negative_binomial", "Negative binomial samples with k and p per element." REPRO, 2, in_kp, ks_negbin),
  SAMPLE_REC("sample_generalized_negative_binomial",
             "Generalized negative binomial samples with mean mu and dispersion alpha per element." REPRO,
             2, in_mualpha, ks_gnegbin),
  {.name = "sample_multinomial",
   .doc = "Categories (0-based) drawn from the distributions along data's last engine axis (its first R dimension); with get_prob, also each sample's log-probability (no gradient)." REPRO,
   .num_inputs = 1, .input_names = in_data, .num_outputs = 2, .params = p_multinomial,
   .num_params = MX_NPARAMS(p_multinomial), .infer_shape = shape_multinomial,
   .infer_type = type_multinomial, .cpu = k_multinomial, .flags = MX_OPF_RANDOM,
   .num_visible_outputs = vis_multinomial},
  {.name = "shuffle", .aliases = {"_shuffle"},
   .doc = "Randomly permute the slices along the first engine axis (the last R dimension)." REPRO,
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .infer_shape = mx_infer_shape_same,
   .cpu = k_shuffle, .flags = MX_OPF_RANDOM | MX_OPF_F16 | MX_OPF_INT8},
  {.name = NULL},
};
