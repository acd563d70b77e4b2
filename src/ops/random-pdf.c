/*
 * random-pdf.c -- densities of the samplers (MXNet 1.9.1's random_pdf_*):
 * uniform, normal, gamma, exponential, poisson, negative_binomial,
 * generalized_negative_binomial and dirichlet, with is_log, and their
 * gradients.
 *
 * Shapes (C order, as MXNet): the parameters share one shape P; the sample
 * has shape P + S (S may be empty) and every parameter element j covers the
 * prod(S) consecutive samples j*prod(S) .. (j+1)*prod(S)-1.  The output has
 * the sample's shape.  dirichlet: alpha has shape P + (k,), the sample
 * P + S + (k,), the output P + S ((1,) for a single vector sample).
 *
 * Formulas and gradients are MXNet's (pdf_op.h), computed in double:
 * gamma's beta is a rate (density b^a x^(a-1) e^(-bx) / Gamma(a)); the
 * negative binomial counts failures x before k successes of probability p;
 * the generalized one is it with k = 1/alpha, p = 1/(1 + mu*alpha).  As in
 * MXNet, the gradient of a discrete sample (poisson, negative binomials)
 * and of a uniform sample is zero, nothing checks a sample's support, and
 * the parameters' gradients sum over the samples they cover.
 * float32 and float64 (float16 through the invoker); no GPU kernel.
 */
#include "../include/mx-op.h"

#include <math.h>

#define LOG_SQRT_2PI 0.91893853320467274178

enum { PDF_IS_LOG, PDF_NPARAMS };
static const mx_param_desc p_pdf[PDF_NPARAMS] = {
  [PDF_IS_LOG] = {"is_log", MX_PARAM_BOOL, 0, "False", NULL,
   "If set, compute the log-density instead of the density."},
};

/* ------------------------------------------------- scalar distributions */

/* Log-density of x with parameters a (and b); when g is given, also its
 * derivatives g[0] by x, g[1] by a and g[2] by b. */
typedef double (*pdf_fn)(double x, double a, double b, double *g);

static double lp_uniform(double x, double l, double h, double *g) {
  (void)x;
  if (g) { g[0] = 0; g[1] = 1 / (h - l); g[2] = -1 / (h - l); }
  return -log(h - l);
}

static double lp_normal(double x, double u, double s, double *g) {
  double d = x - u, s2 = s * s;
  if (g) { g[0] = -d / s2; g[1] = d / s2; g[2] = (d * d - s2) / (s2 * s); }
  return -0.5 * d * d / s2 - log(s) - LOG_SQRT_2PI;
}

static double lp_gamma(double x, double a, double b, double *g) {
  if (g) { g[0] = (a - 1) / x - b; g[1] = log(b) + log(x) - mx_digamma(a); g[2] = a / b - x; }
  return a * log(b) + (a - 1) * log(x) - b * x - lgamma(a);
}

static double lp_exponential(double x, double l, double unused, double *g) {
  (void)unused;
  if (g) { g[0] = -l; g[1] = 1 / l - x; g[2] = 0; }
  return log(l) - l * x;
}

static double lp_poisson(double x, double l, double unused, double *g) {
  (void)unused;
  if (g) { g[0] = 0; g[1] = x / l - 1; g[2] = 0; }
  return x * log(l) - lgamma(x + 1) - l;
}

static double lp_negbin(double x, double k, double p, double *g) {
  if (g) {
    g[0] = 0;
    g[1] = mx_digamma(x + k) - mx_digamma(k) + log(p);
    g[2] = k / p - x / (1 - p);
  }
  return lgamma(x + k) - lgamma(x + 1) - lgamma(k) + k * log(p) + x * log(1 - p);
}

static double lp_gnegbin(double x, double mu, double al, double *g) {
  double den = mu * al + 1, gk[3];
  double lp = lp_negbin(x, 1 / al, 1 / den, g ? gk : NULL);
  if (g) {
    g[0] = 0;
    g[1] = -gk[2] * al / (den * den);
    g[2] = -gk[1] / (al * al) - gk[2] * mu / (den * den);
  }
  return lp;
}

/* ------------------------------------------------------------- shapes */

/* Parameters: one shape (MXNet: a leading part of the sample's shape; the
 * last entry is the vector length k for dirichlet, vec = 1). */
static mx_status pdf_shape(int vec, int nin, mx_shape *in, mx_shape *out) {
  for (int j = 0; j < nin; j++)
    if (in[j].ndim < 0) return MX_OK;
  const mx_shape *s = &in[0], *q = &in[1];
  for (int j = 2; j < nin; j++)
    if (!mx_shape_equal(&in[j], q))
      return mx_shape_pair_error("the parameters must have one shape, not %s and %s", &in[j], q);
  int ok = q->ndim >= (vec ? 1 : 0) && q->ndim <= s->ndim;
  for (int d = 0; ok && d < q->ndim; d++) {
    int sd = vec && d == q->ndim - 1 ? s->ndim - 1 : d;
    ok = q->d[d] == s->d[sd];
  }
  if (!ok)
    return mx_shape_pair_error(vec ? "sample of shape %s does not fit alpha of shape %s (alpha: "
                                     "the sample's leading axes and its last)"
                                   : "sample of shape %s does not begin with the parameters' shape %s",
                               s, q);
  *out = *s;
  if (vec) {
    out->ndim--;
    if (out->ndim == 0) { out->ndim = 1; out->d[0] = 1; }
  }
  return MX_OK;
}

static mx_status shape_pdf(const mx_param_value *p, int nin, mx_shape *in, int nout,
                           mx_shape *out) {
  (void)p; (void)nout;
  return pdf_shape(0, nin, in, out);
}

static mx_status shape_pdf_vec(const mx_param_value *p, int nin, mx_shape *in, int nout,
                               mx_shape *out) {
  (void)p; (void)nout;
  return pdf_shape(1, nin, in, out);
}

/* ------------------------------------------------------------ kernels */

/* np parameter elements, ns samples each */
static void pdf_counts(mx_ndarray *const *in, int64_t *np, int64_t *ns) {
  *np = mx_ndarray_size(in[1]);
  *ns = *np > 0 ? mx_ndarray_size(in[0]) / *np : 0;
}

static mx_status pdf_forward(KARGS, pdf_fn fn) {
  UNUSED_KARGS;
  int64_t np, ns;
  pdf_counts(in, &np, &ns);
  const int lg = (int)p[PDF_IS_LOG].i;
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T), *a = MX_DATA(in[1], T);
    const T *b = nin > 2 ? MX_DATA(in[2], T) : a;
    T *o = MX_DATA(out[0], T);
    int nt = mx_par_threads(np * ns);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < np * ns; i++) {
      double lp = fn((double)x[i], (double)a[i / ns], (double)b[i / ns], NULL);
      o[i] = (T)(lg ? lp : exp(lp));
    }
  });
  return MX_OK;
}

/* d sample = scale * dlp/dx; d param j = sum over its samples of scale *
 * dlp/dparam, scale = out_grad * (is_log ? 1 : density) */
static mx_status pdf_backward(BARGS, pdf_fn fn) {
  UNUSED_BARGS;
  int64_t np, ns;
  pdf_counts(in, &np, &ns);
  const int lg = (int)p[PDF_IS_LOG].i;
  MX_FLOAT_SWITCH(og[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T), *a = MX_DATA(in[1], T);
    const T *b = nin > 2 ? MX_DATA(in[2], T) : a;
    const T *o = MX_DATA(out[0], T), *go = MX_DATA(og[0], T);
    T *dx = ig[0] ? MX_DATA(ig[0], T) : NULL;
    T *da = ig[1] ? MX_DATA(ig[1], T) : NULL;
    T *db = nin > 2 && ig[2] ? MX_DATA(ig[2], T) : NULL;
    int nt = mx_par_threads(np * ns);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t j = 0; j < np; j++) {
      double sa = 0, sb = 0;
      for (int64_t i = j * ns; i < (j + 1) * ns; i++) {
        double g[3];
        fn((double)x[i], (double)a[j], (double)b[j], g);
        double sc = (double)go[i] * (lg ? 1.0 : (double)o[i]);
        if (dx) dx[i] = (T)(sc * g[0]);
        sa += sc * g[1];
        sb += sc * g[2];
      }
      if (da) da[j] = (T)sa;
      if (db) db[j] = (T)sb;
    }
  });
  return MX_OK;
}

#define DEF_PDF(NAME, FN)                                                     \
  static mx_status k_##NAME(KARGS) { return pdf_forward(c, p, in, nin, out, nout, req, FN); } \
  static mx_status b_##NAME(BARGS) { return pdf_backward(c, p, og, nout, in, nin, out, ig, req, FN); }

DEF_PDF(uniform, lp_uniform)
DEF_PDF(normal, lp_normal)
DEF_PDF(gamma, lp_gamma)
DEF_PDF(exponential, lp_exponential)
DEF_PDF(poisson, lp_poisson)
DEF_PDF(negbin, lp_negbin)
DEF_PDF(gnegbin, lp_gnegbin)

/* ---------------------------------------------------------- dirichlet */

/* np distributions of k entries, ns vector samples each */
static void dir_counts(mx_ndarray *const *in, int64_t *k, int64_t *np, int64_t *ns) {
  *k = in[1]->shape.d[in[1]->shape.ndim - 1];
  *np = *k > 0 ? mx_ndarray_size(in[1]) / *k : 0;
  *ns = *np > 0 ? mx_ndarray_size(in[0]) / (*np * *k) : 0;
}

/* sum (a_m - 1) log x_m + lgamma(sum a) - sum lgamma(a_m) */
static mx_status k_dirichlet(KARGS) {
  UNUSED_KARGS;
  int64_t k, np, ns;
  dir_counts(in, &k, &np, &ns);
  const int lg = (int)p[PDF_IS_LOG].i;
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T), *a = MX_DATA(in[1], T);
    T *o = MX_DATA(out[0], T);
    int nt = mx_par_threads(np * ns * k);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < np * ns; i++) {
      const T *xi = x + i * k, *aj = a + (i / ns) * k;
      double sa = 0, slg = 0, sx = 0;
      for (int64_t m = 0; m < k; m++) {
        sa += (double)aj[m];
        slg += lgamma((double)aj[m]);
        sx += ((double)aj[m] - 1) * log((double)xi[m]);
      }
      double lp = sx + lgamma(sa) - slg;
      o[i] = (T)(lg ? lp : exp(lp));
    }
  });
  return MX_OK;
}

/* d x_m = scale (a_m - 1) / x_m; d a_m = sum of scale (log x_m + psi(sum a) - psi(a_m)) */
static mx_status b_dirichlet(BARGS) {
  UNUSED_BARGS;
  int64_t k, np, ns;
  dir_counts(in, &k, &np, &ns);
  const int lg = (int)p[PDF_IS_LOG].i;
  MX_FLOAT_SWITCH(og[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T), *a = MX_DATA(in[1], T);
    const T *o = MX_DATA(out[0], T), *go = MX_DATA(og[0], T);
    T *dx = ig[0] ? MX_DATA(ig[0], T) : NULL;
    T *da = ig[1] ? MX_DATA(ig[1], T) : NULL;
    int nt = mx_par_threads(np * ns * k);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t j = 0; j < np; j++) {
      const T *aj = a + j * k;
      double sa = 0;
      for (int64_t m = 0; m < k; m++) sa += (double)aj[m];
      const double psum = mx_digamma(sa);
      for (int64_t m = 0; m < k; m++) {
        double acc = 0, pm = mx_digamma((double)aj[m]);
        for (int64_t s = 0; s < ns; s++) {
          int64_t i = j * ns + s;
          double xm = (double)x[i * k + m];
          double sc = (double)go[i] * (lg ? 1.0 : (double)o[i]);
          if (dx) dx[i * k + m] = (T)(sc * ((double)aj[m] - 1) / xm);
          acc += sc * (log(xm) + psum - pm);
        }
        if (da) da[j * k + m] = (T)acc;
      }
    }
  });
  return MX_OK;
}

/* ------------------------------------------------------------ registry */

static const char *const in_uniform[] = {"sample", "low", "high", NULL};
static const char *const in_normal[] = {"sample", "mu", "sigma", NULL};
static const char *const in_gamma[] = {"sample", "alpha", "beta", NULL};
static const char *const in_lam[] = {"sample", "lam", NULL};
static const char *const in_negbin[] = {"sample", "k", "p", NULL};
static const char *const in_gnegbin[] = {"sample", "mu", "alpha", NULL};
static const char *const in_alpha[] = {"sample", "alpha", NULL};

#define SHAPES " Parameters of shape P; samples of shape P + S, each parameter element covering its prod(S) samples; is_log gives the log-density."
#define PDF_REC(NAME, DOC, NIN, INS, K, B, SHAPE)                                \
  {.name = "random_pdf_" NAME, .aliases = {"_random_pdf_" NAME},                 \
   .doc = DOC, \
   .num_inputs = NIN, .input_names = INS, .num_outputs = 1, .params = p_pdf,     \
   .num_params = MX_NPARAMS(p_pdf), .infer_shape = SHAPE, .cpu = K, .backward = B}

const mx_op mx_ops_random_pdf[] = {
  PDF_REC("uniform", "Density of the uniform distributions on [low, high) at the samples (not checked against the support)." SHAPES,
          3, in_uniform, k_uniform, b_uniform, shape_pdf),
  PDF_REC("normal", "Density of the normal distributions with means mu and standard deviations sigma at the samples." SHAPES,
          3, in_normal, k_normal, b_normal, shape_pdf),
  PDF_REC("gamma", "Density of the gamma distributions with shape alpha and rate beta, b^a x^(a-1) exp(-b x) / Gamma(a), at the samples." SHAPES,
          3, in_gamma, k_gamma, b_gamma, shape_pdf),
  PDF_REC("exponential", "Density of the exponential distributions with rate lam at the samples." SHAPES,
          2, in_lam, k_exponential, b_exponential, shape_pdf),
  PDF_REC("poisson", "Probability of the samples under Poisson distributions with mean lam." SHAPES,
          2, in_lam, k_poisson, b_poisson, shape_pdf),
  PDF_REC("negative_binomial", "Probability of the samples (failures before k successes) under negative binomial distributions with success probability p." SHAPES,
          3, in_negbin, k_negbin, b_negbin, shape_pdf),
  PDF_REC("generalized_negative_binomial", "Probability of the samples under generalized negative binomial distributions with mean mu and dispersion alpha (variance mu + alpha mu^2)." SHAPES,
          3, in_gnegbin, k_gnegbin, b_gnegbin, shape_pdf),
  PDF_REC("dirichlet", "Density of the Dirichlet distributions with concentrations alpha (shape P + (k,)) at the vector samples (shape P + S + (k,)); the output has shape P + S; is_log gives the log-density.",
          2, in_alpha, k_dirichlet, b_dirichlet, shape_pdf_vec),
  {.name = NULL},
};
