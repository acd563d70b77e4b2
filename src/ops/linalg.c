/*
 * linalg.c -- MXNet's linalg_* family: gemm, gemm2, potrf, potri, trmm,
 * trsm, syrk, gelqf, sumlogdiag, extractdiag, makediag, extracttrian, maketrian,
 * inverse, det and slogdet, with gradients.
 *
 * Matrices are the last two engine axes (row-major); leading axes are a
 * batch.  An R matrix m reaches the engine as t(m): see the op docs.  Each
 * call works in double (float32 data is converted in and out); products go
 * through mx_gemm, inverses through Gauss-Jordan elimination with partial
 * pivoting.  Triangular inputs read only their triangle, and their
 * gradients are zero outside it.
 */
#include "../include/mx-op.h"

#include <math.h>
#include <stdlib.h>


/* ------------------------------------------------------------- helpers */

/* The array as a malloc'ed double buffer (NULL on failure). */
static double *to_d(const mx_ndarray *a) {
  int64_t n = mx_ndarray_size(a);
  double *d = (double *)malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
  if (d) mx_convert(MX_PTR(a), a->dtype, d, MX_FLOAT64, n);
  return d;
}
static void from_d(const double *d, mx_ndarray *a) {
  mx_convert(d, MX_FLOAT64, MX_PTR(a), a->dtype, mx_ndarray_size(a));
}
static double *zeros_d(int64_t n) {
  return (double *)calloc((size_t)(n > 0 ? n : 1), sizeof(double));
}
static mx_status nomem(void) { return mx_error(MX_ERR_NOMEM, "out of memory (linalg)"); }

/* C = alpha op(A) op(B) + beta C for row-major M x K by K x N (double). */
static mx_status mm(int ta, int tb, int64_t M, int64_t N, int64_t K, double alpha,
                    const double *A, const double *B, double beta, double *C) {
  if (M == 0 || N == 0) return MX_OK;
  return mx_gemm(NULL, MX_FLOAT64, ta, tb, M, N, K, alpha, A, ta ? M : K, B, tb ? K : N,
                 beta, C, N);
}

static void transpose_d(const double *a, int64_t r, int64_t c, double *t) {
  for (int64_t i = 0; i < r; i++)
    for (int64_t j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
}

/* Inverse of an n x n matrix by Gauss-Jordan with partial pivoting; the
 * log of |det| and its sign.  A singular matrix gives sign 0 and, when inv
 * is wanted, an error. */
static mx_status inverse_d(const double *a, int64_t n, double *inv, double *logabs, double *sign) {
  double *w = (double *)malloc((size_t)(n * n > 0 ? n * n : 1) * sizeof(double));
  if (!w) return nomem();
  memcpy(w, a, (size_t)(n * n) * sizeof(double));
  if (inv)
    for (int64_t i = 0; i < n * n; i++) inv[i] = (i % (n + 1)) == 0 ? 1 : 0;
  double la = 0, sg = 1;
  for (int64_t k = 0; k < n; k++) {
    int64_t piv = k;
    for (int64_t i = k + 1; i < n; i++)
      if (fabs(w[i * n + k]) > fabs(w[piv * n + k])) piv = i;
    if (w[piv * n + k] == 0) {
      free(w);
      if (logabs) *logabs = -INFINITY;
      if (sign) *sign = 0;
      return inv ? mx_error(MX_ERR_ARG, "the matrix is singular") : MX_OK;
    }
    if (piv != k) {
      sg = -sg;
      for (int64_t j = 0; j < n; j++) {
        double t = w[k * n + j]; w[k * n + j] = w[piv * n + j]; w[piv * n + j] = t;
        if (inv) { t = inv[k * n + j]; inv[k * n + j] = inv[piv * n + j]; inv[piv * n + j] = t; }
      }
    }
    double p = w[k * n + k];
    la += log(fabs(p));
    if (p < 0) sg = -sg;
    for (int64_t j = 0; j < n; j++) {
      w[k * n + j] /= p;
      if (inv) inv[k * n + j] /= p;
    }
    for (int64_t i = 0; i < n; i++) {
      if (i == k || w[i * n + k] == 0) continue;
      double f = w[i * n + k];
      for (int64_t j = 0; j < n; j++) {
        w[i * n + j] -= f * w[k * n + j];
        if (inv) inv[i * n + j] -= f * inv[k * n + j];
      }
    }
  }
  free(w);
  if (logabs) *logabs = la;
  if (sign) *sign = sg;
  return MX_OK;
}

/* Is (i, j) in the triangle: lower (with the diagonal) or upper. */
static inline int in_tri(int64_t i, int64_t j, int lower) { return lower ? i >= j : j >= i; }

/* Zero everything outside the triangle. */
static void tri_mask(double *a, int64_t n, int lower) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++)
      if (!in_tri(i, j, lower)) a[i * n + j] = 0;
}

/* Batch count and matrix dims of the last two axes. */
static void mat_dims(const mx_shape *s, int64_t *batch, int64_t *r, int64_t *c) {
  *r = s->d[s->ndim - 2];
  *c = s->d[s->ndim - 1];
  *batch = 1;
  for (int k = 0; k < s->ndim - 2; k++) *batch *= s->d[k];
}

static mx_status need_matrix(const mx_shape *s, const char *what) {
  if (s->ndim < 2)
    return mx_error(MX_ERR_SHAPE, "%s must have at least 2 dimensions (a batch of matrices), not %d", what, s->ndim);
  return MX_OK;
}
static mx_status need_square(const mx_shape *s, const char *what) {
  mx_status rc = need_matrix(s, what);
  if (rc) return rc;
  if (s->d[s->ndim - 1] != s->d[s->ndim - 2]) {
    char b[128];
    mx_shape_format(s, b, sizeof b);
    return mx_error(MX_ERR_SHAPE, "%s must hold square matrices, not shape %s", what, b);
  }
  return MX_OK;
}
/* Same batch dims (all but the last two axes). */
static mx_status same_batch(const mx_shape *a, const mx_shape *b) {
  int ok = a->ndim == b->ndim;
  for (int k = 0; ok && k < a->ndim - 2; k++) ok = a->d[k] == b->d[k];
  if (ok) return MX_OK;
  return mx_shape_pair_error("inputs of shapes %s and %s do not share their batch dimensions", a, b);
}

static mx_status type_float(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  mx_status rc = mx_infer_type_same(p, nin, in, nout, out);
  if (rc) return rc;
  if (in[0] >= 0 && !mx_dtype_is_float(in[0]))
    return mx_error(MX_ERR_DTYPE, "linalg ops need float32 or float64 data, not %s", mx_dtype_name(in[0]));
  return MX_OK;
}

static void deps_all(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                     unsigned char *no, unsigned char *ng) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 1;
  for (int k = 0; k < nout; k++) { no[k] = 1; ng[k] = 1; }
}

/* Loads of every input and output gradient, freed together. */
typedef struct { double *v[8]; int n; } dbufs;
static double *keep(dbufs *b, double *p) {
  if (b->n < 8) b->v[b->n++] = p;
  return p;
}
static void free_all(dbufs *b) {
  for (int i = 0; i < b->n; i++) free(b->v[i]);
  b->n = 0;
}

/* ---------------------------------------------------------- gemm, gemm2 */

enum { GM_TA, GM_TB, GM_ALPHA, GM_BETA, GM_AXIS, GM_NPARAMS };
enum { G2_TA, G2_TB, G2_ALPHA, G2_AXIS, G2_NPARAMS };

/* op(A) is M x K, op(B) K x N. */
static mx_status gemm_dims(const mx_shape *a, const mx_shape *b, int ta, int tb, int64_t *M,
                           int64_t *N, int64_t *K) {
  mx_status rc = need_matrix(a, "A");
  if (!rc) rc = need_matrix(b, "B");
  if (!rc) rc = same_batch(a, b);
  if (rc) return rc;
  int64_t ar = a->d[a->ndim - 2], ac = a->d[a->ndim - 1], br = b->d[b->ndim - 2], bc = b->d[b->ndim - 1];
  *M = ta ? ac : ar;
  *K = ta ? ar : ac;
  *N = tb ? br : bc;
  int64_t k2 = tb ? bc : br;
  if (k2 != *K)
    return mx_error(MX_ERR_SHAPE, "op(A) has %lld columns but op(B) %lld rows", (long long)*K, (long long)k2);
  return MX_OK;
}

static mx_status shape_gemm_common(int64_t axis, int ta, int tb, int nin, mx_shape *in, mx_shape *out) {
  if (axis != -2 && axis != (in[0].ndim >= 0 ? in[0].ndim - 2 : -2))
    return mx_error(MX_ERR_UNSUPPORTED, "parameter 'axis' other than -2 is not supported");
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  int64_t M, N, K;
  mx_status rc = gemm_dims(&in[0], &in[1], ta, tb, &M, &N, &K);
  if (rc) return rc;
  mx_shape o = in[0];
  o.d[o.ndim - 2] = M;
  o.d[o.ndim - 1] = N;
  if (nin > 2) {
    if (in[2].ndim < 0) in[2] = o;
    if (!mx_shape_equal(&in[2], &o)) {
      return mx_shape_pair_error("C has shape %s; it must be %s", &in[2], &o);
    }
  }
  out[0] = o;
  return MX_OK;
}

static mx_status shape_gemm(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nout;
  return shape_gemm_common(p[GM_AXIS].i, (int)p[GM_TA].i, (int)p[GM_TB].i, nin, in, out);
}
static mx_status shape_gemm2(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nout;
  return shape_gemm_common(p[G2_AXIS].i, (int)p[G2_TA].i, (int)p[G2_TB].i, nin, in, out);
}

/* out = alpha op(A) op(B) + beta C (C absent: beta 0). */
static mx_status gemm_fwd(const mx_ndarray *A, const mx_ndarray *B, const mx_ndarray *C, int ta,
                          int tb, double alpha, double beta, mx_ndarray *O) {
  int64_t M, N, K, batch, r, c;
  mx_status rc = gemm_dims(&A->shape, &B->shape, ta, tb, &M, &N, &K);
  if (rc) return rc;
  mat_dims(&A->shape, &batch, &r, &c);
  dbufs bf = {{0}, 0};
  double *a = keep(&bf, to_d(A)), *b = keep(&bf, to_d(B));
  double *o = keep(&bf, C ? to_d(C) : zeros_d(batch * M * N));
  if (!a || !b || !o) { free_all(&bf); return nomem(); }
  for (int64_t q = 0; q < batch && !rc; q++)
    rc = mm(ta, tb, M, N, K, alpha, a + q * M * K, b + q * K * N, C ? beta : 0, o + q * M * N);
  if (!rc) from_d(o, O);
  free_all(&bf);
  return rc;
}

static mx_status k_gemm(KARGS) {
  UNUSED_KARGS;
  return gemm_fwd(in[0], in[1], in[2], (int)p[GM_TA].i, (int)p[GM_TB].i, p[GM_ALPHA].f,
                  p[GM_BETA].f, out[0]);
}
static mx_status k_gemm2(KARGS) {
  UNUSED_KARGS;
  return gemm_fwd(in[0], in[1], NULL, (int)p[G2_TA].i, (int)p[G2_TB].i, p[G2_ALPHA].f, 0, out[0]);
}

/* Gradients of out = alpha op(A) op(B) (+ beta C). */
static mx_status gemm_bwd(const mx_ndarray *G, const mx_ndarray *A, const mx_ndarray *B, int ta,
                          int tb, double alpha, mx_ndarray *dA, mx_ndarray *dB) {
  int64_t M, N, K, batch, r, c;
  mx_status rc = gemm_dims(&A->shape, &B->shape, ta, tb, &M, &N, &K);
  if (rc) return rc;
  mat_dims(&A->shape, &batch, &r, &c);
  dbufs bf = {{0}, 0};
  double *g = keep(&bf, to_d(G)), *a = keep(&bf, to_d(A)), *b = keep(&bf, to_d(B));
  double *da = keep(&bf, zeros_d(batch * M * K)), *db = keep(&bf, zeros_d(batch * K * N));
  if (!g || !a || !b || !da || !db) { free_all(&bf); return nomem(); }
  for (int64_t q = 0; q < batch && !rc; q++) {
    const double *gq = g + q * M * N, *aq = a + q * M * K, *bq = b + q * K * N;
    if (dA && !ta) rc = mm(0, !tb, M, K, N, alpha, gq, bq, 0, da + q * M * K);
    if (dA && ta && !rc) rc = mm(tb, 1, K, M, N, alpha, bq, gq, 0, da + q * M * K);
    if (dB && !tb && !rc) rc = mm(!ta, 0, K, N, M, alpha, aq, gq, 0, db + q * K * N);
    if (dB && tb && !rc) rc = mm(1, ta, N, K, M, alpha, gq, aq, 0, db + q * K * N);
  }
  if (!rc && dA) from_d(da, dA);
  if (!rc && dB) from_d(db, dB);
  free_all(&bf);
  return rc;
}

static mx_status check_grad_dtypes(mx_ndarray *const *ig, const int *req, int nin) {
  for (int j = 0; j < nin; j++)
    if (req[j] == MX_REQ_WRITE && !mx_dtype_is_float(ig[j]->dtype)) return grad_dtype_error(ig[j]->dtype);
  return MX_OK;
}
#define WANT(j) (req[j] == MX_REQ_WRITE ? ig[j] : NULL)

static mx_status b_gemm(BARGS) {
  UNUSED_BARGS;
  mx_status rc = check_grad_dtypes(ig, req, nin);
  if (rc) return rc;
  rc = gemm_bwd(og[0], in[0], in[1], (int)p[GM_TA].i, (int)p[GM_TB].i, p[GM_ALPHA].f, WANT(0), WANT(1));
  if (rc || !WANT(2)) return rc;
  double *g = to_d(og[0]);
  if (!g) return nomem();
  for (int64_t i = 0; i < mx_ndarray_size(og[0]); i++) g[i] *= p[GM_BETA].f;
  from_d(g, ig[2]);
  free(g);
  return MX_OK;
}
static mx_status b_gemm2(BARGS) {
  UNUSED_BARGS;
  mx_status rc = check_grad_dtypes(ig, req, nin);
  if (rc) return rc;
  return gemm_bwd(og[0], in[0], in[1], (int)p[G2_TA].i, (int)p[G2_TB].i, p[G2_ALPHA].f, WANT(0), WANT(1));
}

/* -------------------------------------------------------- one-matrix ops */

static mx_status shape_square_same(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                   mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  mx_status rc = need_square(&in[0], "A");
  if (rc) return rc;
  out[0] = in[0];
  return MX_OK;
}

/* Batch shape (the input without its matrix axes; (1,) for one matrix). */
static mx_status shape_square_scalar(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                     mx_shape *out) {
  (void)p; (void)nin;
  if (in[0].ndim < 0) return MX_OK;
  mx_status rc = need_square(&in[0], "A");
  if (rc) return rc;
  mx_shape o = in[0];
  o.ndim -= 2;
  if (o.ndim == 0) { o.ndim = 1; o.d[0] = 1; }
  for (int k = o.ndim; k < MX_MAX_DIM; k++) o.d[k] = 0;
  for (int k = 0; k < nout; k++) out[k] = o;
  return MX_OK;
}

/* Cholesky factor L (lower) of one n x n matrix, reading its lower triangle. */
static mx_status chol_d(const double *a, int64_t n, double *l) {
  for (int64_t i = 0; i < n * n; i++) l[i] = 0;
  for (int64_t j = 0; j < n; j++) {
    double s = a[j * n + j];
    for (int64_t k = 0; k < j; k++) s -= l[j * n + k] * l[j * n + k];
    if (!(s > 0)) return mx_error(MX_ERR_ARG, "the matrix is not positive definite");
    double d = sqrt(s);
    l[j * n + j] = d;
    for (int64_t i = j + 1; i < n; i++) {
      double t = a[i * n + j];
      for (int64_t k = 0; k < j; k++) t -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = t / d;
    }
  }
  return MX_OK;
}

/* Per-matrix kernels of the square ops: a (input), o (output 0), o2
 * (output 1 or NULL). */
typedef mx_status (*mat_fn)(const double *a, int64_t n, double *o, double *o2);

static mx_status f_potrf(const double *a, int64_t n, double *o, double *o2) {
  (void)o2;
  return chol_d(a, n, o);
}
static mx_status f_potri(const double *a, int64_t n, double *o, double *o2) {
  (void)o2;   /* (L L^T)^-1 from the lower triangle L */
  double *l = (double *)malloc((size_t)(n * n > 0 ? n * n : 1) * sizeof(double));
  if (!l) return nomem();
  memcpy(l, a, (size_t)(n * n) * sizeof(double));
  tri_mask(l, n, 1);
  double *li = (double *)malloc((size_t)(n * n > 0 ? n * n : 1) * sizeof(double));
  mx_status rc = li ? inverse_d(l, n, li, NULL, NULL) : nomem();
  if (!rc) rc = mm(1, 0, n, n, n, 1, li, li, 0, o);
  free(l);
  free(li);
  return rc;
}
static mx_status f_inverse(const double *a, int64_t n, double *o, double *o2) {
  (void)o2;
  return inverse_d(a, n, o, NULL, NULL);
}
static mx_status f_det(const double *a, int64_t n, double *o, double *o2) {
  (void)o2;
  double la, sg;
  mx_status rc = inverse_d(a, n, NULL, &la, &sg);
  o[0] = sg * exp(la);
  return rc;
}
static mx_status f_slogdet(const double *a, int64_t n, double *o, double *o2) {
  return inverse_d(a, n, NULL, o2, o);
}
static mx_status f_sumlogdiag(const double *a, int64_t n, double *o, double *o2) {
  (void)o2;
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += log(a[i * n + i]);
  o[0] = s;
  return MX_OK;
}

/* Run fn on every matrix of in[0]; outputs per matrix: n*n or 1 element. */
static mx_status square_run(const mx_ndarray *A, mx_ndarray *const *out, int nout, mat_fn fn) {
  int64_t batch, n, c;
  mat_dims(&A->shape, &batch, &n, &c);
  int64_t per = mx_ndarray_size(out[0]) / (batch > 0 ? batch : 1);
  dbufs bf = {{0}, 0};
  double *a = keep(&bf, to_d(A)), *o = keep(&bf, zeros_d(mx_ndarray_size(out[0])));
  double *o2 = nout > 1 ? keep(&bf, zeros_d(mx_ndarray_size(out[1]))) : NULL;
  if (!a || !o || (nout > 1 && !o2)) { free_all(&bf); return nomem(); }
  mx_status rc = MX_OK;
  for (int64_t q = 0; q < batch && !rc; q++)
    rc = fn(a + q * n * n, n, o + q * per, o2 ? o2 + q : NULL);
  if (!rc) {
    from_d(o, out[0]);
    if (o2) from_d(o2, out[1]);
  }
  free_all(&bf);
  return rc;
}

static mx_status k_potrf(KARGS) { UNUSED_KARGS; return square_run(in[0], out, nout, f_potrf); }
static mx_status k_potri(KARGS) { UNUSED_KARGS; return square_run(in[0], out, nout, f_potri); }
static mx_status k_inverse(KARGS) { UNUSED_KARGS; return square_run(in[0], out, nout, f_inverse); }
static mx_status k_det(KARGS) { UNUSED_KARGS; return square_run(in[0], out, nout, f_det); }
static mx_status k_slogdet(KARGS) { UNUSED_KARGS; return square_run(in[0], out, nout, f_slogdet); }
static mx_status k_sumlogdiag(KARGS) { UNUSED_KARGS; return square_run(in[0], out, nout, f_sumlogdiag); }

/* Gradients of the square ops, per matrix: a input, o output(s), g output
 * gradient(s), d input gradient (n x n), w scratch (3 n x n). */
typedef mx_status (*mat_bwd)(const double *a, const double *o, const double *g, int64_t n,
                             double *d, double *w);

/* A^{-T} into w (n x n) or an error. */
static mx_status inv_t(const double *a, int64_t n, double *w, double *tmp) {
  mx_status rc = inverse_d(a, n, tmp, NULL, NULL);
  if (!rc) transpose_d(tmp, n, n, w);
  return rc;
}

static mx_status g_inverse(const double *a, const double *o, const double *g, int64_t n,
                           double *d, double *w) {
  (void)a;   /* dA = -O^T G O^T */
  mm(1, 0, n, n, n, 1, o, g, 0, w);
  return mm(0, 1, n, n, n, -1, w, o, 0, d);
}
static mx_status g_det(const double *a, const double *o, const double *g, int64_t n,
                       double *d, double *w) {
  mx_status rc = inv_t(a, n, w, w + n * n);   /* dA = g det A^{-T} */
  for (int64_t i = 0; !rc && i < n * n; i++) d[i] = g[0] * o[0] * w[i];
  return rc;
}
static mx_status g_logdet(const double *a, const double *o, const double *g, int64_t n,
                          double *d, double *w) {
  (void)o;    /* slogdet: only logabsdet (output 1) has a gradient */
  mx_status rc = inv_t(a, n, w, w + n * n);
  for (int64_t i = 0; !rc && i < n * n; i++) d[i] = g[0] * w[i];
  return rc;
}
static mx_status g_sumlogdiag(const double *a, const double *o, const double *g, int64_t n,
                              double *d, double *w) {
  (void)o; (void)w;
  for (int64_t i = 0; i < n * n; i++) d[i] = 0;
  for (int64_t i = 0; i < n; i++) d[i * n + i] = g[0] / a[i * n + i];
  return MX_OK;
}
/* potrf: dA = sym(L^{-T} Phi(L^T dL) L^{-1}), Phi = lower triangle with the
 * diagonal halved (Murray 2016); symmetric, as MXNet's. */
static mx_status g_potrf(const double *a, const double *o, const double *g, int64_t n,
                         double *d, double *w) {
  (void)a;
  double *li = w, *ph = w + n * n, *t = w + 2 * n * n;
  mx_status rc = inverse_d(o, n, li, NULL, NULL);
  if (rc) return rc;
  mm(1, 0, n, n, n, 1, o, g, 0, ph);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++)
      ph[i * n + j] = j > i ? 0 : (i == j ? 0.5 : 1) * ph[i * n + j];
  mm(1, 0, n, n, n, 1, li, ph, 0, t);
  mm(0, 0, n, n, n, 1, t, li, 0, ph);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) d[i * n + j] = 0.5 * (ph[i * n + j] + ph[j * n + i]);
  return MX_OK;
}
/* potri: O = (L L^T)^{-1}; dL = tril(-(O Gs O) 2 L) with Gs = sym(G). */
static mx_status g_potri(const double *a, const double *o, const double *g, int64_t n,
                         double *d, double *w) {
  double *gs = w, *t = w + n * n, *l = w + 2 * n * n;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) gs[i * n + j] = 0.5 * (g[i * n + j] + g[j * n + i]);
  mm(0, 0, n, n, n, 1, o, gs, 0, t);
  mm(0, 0, n, n, n, 1, t, o, 0, gs);
  memcpy(l, a, (size_t)(n * n) * sizeof(double));
  tri_mask(l, n, 1);
  mm(0, 0, n, n, n, -2, gs, l, 0, d);
  tri_mask(d, n, 1);
  return MX_OK;
}

/* Input gradient of a square op; go is the index of the output whose
 * gradient it reads, per its output size. */
static mx_status square_bwd(mx_ndarray *const *og, mx_ndarray *const *in, mx_ndarray *const *out,
                            mx_ndarray *const *ig, const int *req, int go, mat_bwd fn) {
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  int64_t batch, n, c;
  mat_dims(&in[0]->shape, &batch, &n, &c);
  int64_t per = mx_ndarray_size(og[go]) / (batch > 0 ? batch : 1);
  int64_t per0 = mx_ndarray_size(out[0]) / (batch > 0 ? batch : 1);
  dbufs bf = {{0}, 0};
  double *a = keep(&bf, to_d(in[0])), *o = keep(&bf, to_d(out[0])), *g = keep(&bf, to_d(og[go]));
  double *d = keep(&bf, zeros_d(batch * n * n)), *w = keep(&bf, zeros_d(3 * n * n));
  if (!a || !o || !g || !d || !w) { free_all(&bf); return nomem(); }
  mx_status rc = MX_OK;
  for (int64_t q = 0; q < batch && !rc; q++)
    rc = fn(a + q * n * n, o + q * per0, g + q * per, n, d + q * n * n, w);
  if (!rc) from_d(d, ig[0]);
  free_all(&bf);
  return rc;
}

static mx_status b_potrf(BARGS) { UNUSED_BARGS; return square_bwd(og, in, out, ig, req, 0, g_potrf); }
static mx_status b_potri(BARGS) { UNUSED_BARGS; return square_bwd(og, in, out, ig, req, 0, g_potri); }
static mx_status b_inverse(BARGS) { UNUSED_BARGS; return square_bwd(og, in, out, ig, req, 0, g_inverse); }
static mx_status b_det(BARGS) { UNUSED_BARGS; return square_bwd(og, in, out, ig, req, 0, g_det); }
static mx_status b_slogdet(BARGS) { UNUSED_BARGS; return square_bwd(og, in, out, ig, req, 1, g_logdet); }
static mx_status b_sumlogdiag(BARGS) { UNUSED_BARGS; return square_bwd(og, in, out, ig, req, 0, g_sumlogdiag); }

/* ---------------------------------------------------------------- syrk */

enum { SY_T, SY_ALPHA, SY_NPARAMS };

static mx_status shape_syrk(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  mx_status rc = need_matrix(&in[0], "A");
  if (rc) return rc;
  mx_shape o = in[0];
  int64_t m = p[SY_T].i ? in[0].d[o.ndim - 1] : in[0].d[o.ndim - 2];
  o.d[o.ndim - 2] = o.d[o.ndim - 1] = m;
  out[0] = o;
  return MX_OK;
}

static mx_status k_syrk(KARGS) {
  UNUSED_KARGS;   /* alpha A A^T, or alpha A^T A (transpose) */
  int t = (int)p[SY_T].i;
  int64_t batch, r, cc;
  mat_dims(&in[0]->shape, &batch, &r, &cc);
  int64_t m = t ? cc : r, k = t ? r : cc;
  double *a = to_d(in[0]), *o = zeros_d(batch * m * m);
  mx_status rc = a && o ? MX_OK : nomem();
  for (int64_t q = 0; q < batch && !rc; q++)
    rc = mm(t, !t, m, m, k, p[SY_ALPHA].f, a + q * r * cc, a + q * r * cc, 0, o + q * m * m);
  if (!rc) from_d(o, out[0]);
  free(a);
  free(o);
  return rc;
}

static mx_status b_syrk(BARGS) {
  UNUSED_BARGS;   /* A A^T: dA = alpha (G + G^T) A; A^T A: dA = alpha A (G + G^T) */
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  int t = (int)p[SY_T].i;
  int64_t batch, r, cc;
  mat_dims(&in[0]->shape, &batch, &r, &cc);
  int64_t m = t ? cc : r;
  dbufs bf = {{0}, 0};
  double *a = keep(&bf, to_d(in[0])), *g = keep(&bf, to_d(og[0]));
  double *gs = keep(&bf, zeros_d(m * m)), *d = keep(&bf, zeros_d(batch * r * cc));
  if (!a || !g || !gs || !d) { free_all(&bf); return nomem(); }
  mx_status rc = MX_OK;
  for (int64_t q = 0; q < batch && !rc; q++) {
    const double *gq = g + q * m * m, *aq = a + q * r * cc;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < m; j++) gs[i * m + j] = gq[i * m + j] + gq[j * m + i];
    rc = t ? mm(0, 0, r, cc, cc, p[SY_ALPHA].f, aq, gs, 0, d + q * r * cc)
           : mm(0, 0, r, cc, r, p[SY_ALPHA].f, gs, aq, 0, d + q * r * cc);
  }
  if (!rc) from_d(d, ig[0]);
  free_all(&bf);
  return rc;
}

/* ----------------------------------------------------------- trmm, trsm */

enum { TR_T, TR_RIGHT, TR_LOWER, TR_ALPHA, TR_NPARAMS };

static mx_status shape_tr(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  mx_status rc = need_square(&in[0], "A");
  if (!rc) rc = need_matrix(&in[1], "B");
  if (!rc) rc = same_batch(&in[0], &in[1]);
  if (rc) return rc;
  int64_t n = in[0].d[in[0].ndim - 1];
  int64_t want = p[TR_RIGHT].i ? in[1].d[in[1].ndim - 1] : in[1].d[in[1].ndim - 2];
  if (want != n)
    return mx_error(MX_ERR_SHAPE, "B's %s (%lld) must match the order %lld of A",
                    p[TR_RIGHT].i ? "columns" : "rows", (long long)want, (long long)n);
  out[0] = in[1];
  return MX_OK;
}

/* op(A) of one triangular matrix, explicit (t: the triangle, then maybe
 * transposed), into m. */
static void tri_op(const double *a, int64_t n, int lower, int trans, double *m) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      double v = in_tri(i, j, lower) ? a[i * n + j] : 0;
      m[trans ? j * n + i : i * n + j] = v;
    }
}

/* trmm / trsm forward and backward on one matrix pair.  solve: trsm. */
typedef struct { int trans, right, lower, solve; double alpha; } tr_args;

static tr_args tr_of(const mx_param_value *p, int solve) {
  tr_args t = {(int)p[TR_T].i, (int)p[TR_RIGHT].i, (int)p[TR_LOWER].i, solve, p[TR_ALPHA].f};
  return t;
}

/* op = op(A) (or its inverse for trsm); out = alpha op B or alpha B op. */
static mx_status tr_prepare(const tr_args *t, const double *a, int64_t n, double *op, double *tmp) {
  tri_op(a, n, t->lower, t->trans, t->solve ? tmp : op);
  return t->solve ? inverse_d(tmp, n, op, NULL, NULL) : MX_OK;
}

static mx_status tr_run(const mx_param_value *p, int solve, const mx_ndarray *A, const mx_ndarray *B,
                        const mx_ndarray *G, mx_ndarray *O, mx_ndarray *dA, mx_ndarray *dB) {
  tr_args t = tr_of(p, solve);
  int64_t batch, n, r, c, b2;
  mat_dims(&A->shape, &batch, &n, &n);
  mat_dims(&B->shape, &b2, &r, &c);
  dbufs bf = {{0}, 0};
  double *a = keep(&bf, to_d(A)), *b = keep(&bf, to_d(B));
  double *g = G ? keep(&bf, to_d(G)) : NULL;
  double *o = keep(&bf, zeros_d(batch * r * c)), *da = keep(&bf, zeros_d(batch * n * n));
  double *w = keep(&bf, zeros_d(3 * n * n + r * c));
  if (!a || !b || (G && !g) || !o || !da || !w) { free_all(&bf); return nomem(); }
  mx_status rc = MX_OK;
  double *op = w, *tmp = w + n * n, *gop = w + 2 * n * n, *x = w + 3 * n * n;
  for (int64_t q = 0; q < batch && !rc; q++) {
    const double *bq = b + q * r * c;
    rc = tr_prepare(&t, a + q * n * n, n, op, tmp);
    if (rc) break;
    double *oq = o + q * r * c;
    if (!G) {  /* forward */
      rc = t.right ? mm(0, 0, r, c, n, t.alpha, bq, op, 0, oq) : mm(0, 0, r, c, n, t.alpha, op, bq, 0, oq);
      continue;
    }
    const double *gq = g + q * r * c;
    /* dB = alpha G op^T (right) or alpha op^T G (left), op = op(A) or its inverse */
    rc = t.right ? mm(0, 1, r, c, n, t.alpha, gq, op, 0, oq) : mm(1, 0, r, c, n, t.alpha, op, gq, 0, oq);
    if (rc || !dA) continue;
    if (!t.solve) {   /* d op(A) = alpha B^T G (right) or alpha G B^T (left) */
      rc = t.right ? mm(1, 0, n, n, r, t.alpha, bq, gq, 0, gop) : mm(0, 1, n, n, c, t.alpha, gq, bq, 0, gop);
    } else {          /* X = output; d op(A) = -X^T dB / alpha (right) or -dB X^T / alpha (left) */
      rc = t.right ? mm(0, 0, r, c, n, t.alpha, bq, op, 0, x) : mm(0, 0, r, c, n, t.alpha, op, bq, 0, x);
      if (!rc) rc = t.right ? mm(1, 0, n, n, r, -1 / t.alpha, x, oq, 0, gop)
                            : mm(0, 1, n, n, c, -1 / t.alpha, oq, x, 0, gop);
    }
    double *dq = da + q * n * n;
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < n; j++) dq[i * n + j] = t.trans ? gop[j * n + i] : gop[i * n + j];
    tri_mask(dq, n, t.lower);
  }
  if (!rc && O) from_d(o, O);
  if (!rc && dB) from_d(o, dB);
  if (!rc && dA) from_d(da, dA);
  free_all(&bf);
  return rc;
}

static mx_status k_trmm(KARGS) { UNUSED_KARGS; return tr_run(p, 0, in[0], in[1], NULL, out[0], NULL, NULL); }
static mx_status k_trsm(KARGS) { UNUSED_KARGS; return tr_run(p, 1, in[0], in[1], NULL, out[0], NULL, NULL); }

static mx_status tr_bwd(const mx_param_value *p, int solve, mx_ndarray *const *og, mx_ndarray *const *in,
                        mx_ndarray *const *ig, const int *req) {
  mx_status rc = check_grad_dtypes(ig, req, 2);
  if (rc) return rc;
  if (!WANT(0) && !WANT(1)) return MX_OK;
  mx_ndarray *dB = WANT(1), *tmp = NULL;
  if (!dB) {   /* dA needs dB's values: compute them into a scratch array */
    rc = mx_ndarray_new(&in[1]->shape, in[1]->dtype, mx_ndarray_context(in[1]), &tmp);
    if (rc) return rc;
    dB = tmp;
  }
  rc = tr_run(p, solve, in[0], in[1], og[0], NULL, WANT(0), dB);
  mx_ndarray_free(tmp);
  return rc;
}
static mx_status b_trmm(BARGS) { UNUSED_BARGS; return tr_bwd(p, 0, og, in, ig, req); }
static mx_status b_trsm(BARGS) { UNUSED_BARGS; return tr_bwd(p, 1, og, in, ig, req); }

/* --------------------------------------------------------------- gelqf */

/* A (m x n, m <= n) = L Q: Q has orthonormal rows, L is lower triangular
 * with a positive diagonal (modified Gram-Schmidt on the rows of A). */
static mx_status shape_gelqf(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  mx_status rc = need_matrix(&in[0], "A");
  if (rc) return rc;
  int64_t m = in[0].d[in[0].ndim - 2], n = in[0].d[in[0].ndim - 1];
  if (m > n)
    return mx_error(MX_ERR_SHAPE, "A must not have more rows (%lld) than columns (%lld)", (long long)m, (long long)n);
  out[0] = in[0];
  out[1] = in[0];
  out[1].d[in[0].ndim - 1] = m;
  return MX_OK;
}

static mx_status lq_d(const double *a, int64_t m, int64_t n, double *q, double *l) {
  memcpy(q, a, (size_t)(m * n) * sizeof(double));
  for (int64_t i = 0; i < m * m; i++) l[i] = 0;
  for (int64_t i = 0; i < m; i++) {
    double *qi = q + i * n;
    for (int64_t j = 0; j < i; j++) {
      const double *qj = q + j * n;
      double d = 0;
      for (int64_t k = 0; k < n; k++) d += qi[k] * qj[k];
      l[i * m + j] = d;
      for (int64_t k = 0; k < n; k++) qi[k] -= d * qj[k];
    }
    double nr = 0;
    for (int64_t k = 0; k < n; k++) nr += qi[k] * qi[k];
    nr = sqrt(nr);
    if (!(nr > 0)) return mx_error(MX_ERR_ARG, "A does not have full row rank");
    l[i * m + i] = nr;
    for (int64_t k = 0; k < n; k++) qi[k] /= nr;
  }
  return MX_OK;
}

static mx_status k_gelqf(KARGS) {
  UNUSED_KARGS;
  int64_t batch, m, n;
  mat_dims(&in[0]->shape, &batch, &m, &n);
  dbufs bf = {{0}, 0};
  double *a = keep(&bf, to_d(in[0])), *q = keep(&bf, zeros_d(batch * m * n)), *l = keep(&bf, zeros_d(batch * m * m));
  if (!a || !q || !l) { free_all(&bf); return nomem(); }
  mx_status rc = MX_OK;
  for (int64_t b = 0; b < batch && !rc; b++) rc = lq_d(a + b * m * n, m, n, q + b * m * n, l + b * m * m);
  if (!rc) { from_d(q, out[0]); from_d(l, out[1]); }
  free_all(&bf);
  return rc;
}

/* M = L^T dL - dQ Q^T; dA = L^{-T} (dQ + copyltu(M) Q), copyltu mirroring
 * M's lower triangle into its upper one. */
static mx_status b_gelqf(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  int64_t batch, m, n;
  mat_dims(&in[0]->shape, &batch, &m, &n);
  dbufs bf = {{0}, 0};
  double *q = keep(&bf, to_d(out[0])), *l = keep(&bf, to_d(out[1]));
  double *gq = keep(&bf, og[0] ? to_d(og[0]) : zeros_d(batch * m * n));
  double *gl = keep(&bf, og[1] ? to_d(og[1]) : zeros_d(batch * m * m));
  double *d = keep(&bf, zeros_d(batch * m * n)), *w = keep(&bf, zeros_d(2 * m * m + m * n));
  if (!q || !l || !gq || !gl || !d || !w) { free_all(&bf); return nomem(); }
  mx_status rc = MX_OK;
  double *M = w, *li = w + m * m, *x = w + 2 * m * m;
  for (int64_t b = 0; b < batch && !rc; b++) {
    const double *qb = q + b * m * n, *lb = l + b * m * m, *gqb = gq + b * m * n, *glb = gl + b * m * m;
    mm(1, 0, m, m, m, 1, lb, glb, 0, M);
    mm(0, 1, m, m, n, -1, gqb, qb, 1, M);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = i + 1; j < m; j++) M[i * m + j] = M[j * m + i];
    memcpy(x, gqb, (size_t)(m * n) * sizeof(double));
    mm(0, 0, m, n, m, 1, M, qb, 1, x);
    rc = inverse_d(lb, m, li, NULL, NULL);
    if (!rc) rc = mm(1, 0, m, n, m, 1, li, x, 0, d + b * m * n);
  }
  if (!rc) from_d(d, ig[0]);
  free_all(&bf);
  return rc;
}

/* --------------------------------------- extract/make diag and triangle */

enum { DI_OFFSET, DI_NPARAMS };
enum { TI_OFFSET, TI_LOWER, TI_NPARAMS };

/* (i, j) of an n x n matrix selected by offset (triangle: above/below
 * the offset diagonal; lower picks the side when offset is 0). */
static inline int tri_sel(int64_t i, int64_t j, int64_t off, int lower) {
  if (off > 0) return j - i >= off;
  if (off < 0) return i - j >= -off;
  return in_tri(i, j, lower);
}

static mx_status shape_extractdiag(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  mx_status rc = need_square(&in[0], "A");
  if (rc) return rc;
  int64_t n = in[0].d[in[0].ndim - 1], off = p[DI_OFFSET].i, m = n - (off < 0 ? -off : off);
  if (m < 1) return mx_error(MX_ERR_ARG, "parameter 'offset' (%lld) is out of range for matrices of order %lld",
                             (long long)off, (long long)n);
  mx_shape o = in[0];
  o.ndim--;
  o.d[o.ndim - 1] = m;
  o.d[o.ndim] = 0;
  out[0] = o;
  return MX_OK;
}

static mx_status shape_makediag(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim < 1 || in[0].ndim >= MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "A must have 1 to %d dimensions", MX_MAX_DIM - 1);
  int64_t off = p[DI_OFFSET].i, n = in[0].d[in[0].ndim - 1] + (off < 0 ? -off : off);
  mx_shape o = in[0];
  o.d[o.ndim - 1] = n;
  o.d[o.ndim++] = n;
  out[0] = o;
  return MX_OK;
}

/* Packed count m (m + 1) / 2 -> m, or -1. */
static int64_t tri_order(int64_t count) {
  int64_t m = (int64_t)floor((sqrt(8.0 * (double)count + 1) - 1) / 2 + 0.5);
  return m * (m + 1) / 2 == count ? m : -1;
}

static mx_status shape_extracttrian(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  mx_status rc = need_square(&in[0], "A");
  if (rc) return rc;
  int64_t n = in[0].d[in[0].ndim - 1], off = p[TI_OFFSET].i, m = n - (off < 0 ? -off : off);
  if (m < 1) return mx_error(MX_ERR_ARG, "parameter 'offset' (%lld) is out of range for matrices of order %lld",
                             (long long)off, (long long)n);
  mx_shape o = in[0];
  o.ndim--;
  o.d[o.ndim - 1] = m * (m + 1) / 2;
  o.d[o.ndim] = 0;
  out[0] = o;
  return MX_OK;
}

static mx_status shape_maketrian(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim < 1 || in[0].ndim >= MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "A must have 1 to %d dimensions", MX_MAX_DIM - 1);
  int64_t m = tri_order(in[0].d[in[0].ndim - 1]), off = p[TI_OFFSET].i;
  if (m < 1)
    return mx_error(MX_ERR_SHAPE, "A's last engine axis (%lld) is not a triangular number m (m + 1) / 2",
                    (long long)in[0].d[in[0].ndim - 1]);
  mx_shape o = in[0];
  int64_t n = m + (off < 0 ? -off : off);
  o.d[o.ndim - 1] = n;
  o.d[o.ndim++] = n;
  out[0] = o;
  return MX_OK;
}

/* Move the selected elements between n x n matrices and packed vectors
 * (row-major order): diag (pairs (i, i + off)) or triangle. */
static mx_status pack_move(const mx_param_value *p, int tri, const mx_ndarray *mat,
                           const mx_ndarray *vec, int to_vec) {
  int64_t batch, n, c;
  mat_dims(&mat->shape, &batch, &n, &c);
  int64_t off = p[DI_OFFSET].i, per = mx_ndarray_size(vec) / (batch > 0 ? batch : 1);
  int lower = tri ? (int)p[TI_LOWER].i : 1;
  if (!to_vec) {
    mx_status rc = mx_ndarray_fill((mx_ndarray *)mat, 0.0);
    if (rc) return rc;
  }
  size_t es = mx_dtype_size(mat->dtype);
  char *mp = (char *)MX_PTR(mat), *vp = (char *)MX_PTR(vec);
  for (int64_t q = 0; q < batch; q++) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < n; j++) {
        int sel = tri ? tri_sel(i, j, off, lower) : j - i == off;
        if (!sel) continue;
        char *mpos = mp + (size_t)(q * n * n + i * n + j) * es, *vpos = vp + (size_t)(q * per + k++) * es;
        if (to_vec) memcpy(vpos, mpos, es);
        else memcpy(mpos, vpos, es);
      }
  }
  return MX_OK;
}

static mx_status k_extractdiag(KARGS) { UNUSED_KARGS; return pack_move(p, 0, in[0], out[0], 1); }
static mx_status k_makediag(KARGS) { UNUSED_KARGS; return pack_move(p, 0, out[0], in[0], 0); }
static mx_status k_extracttrian(KARGS) { UNUSED_KARGS; return pack_move(p, 1, in[0], out[0], 1); }
static mx_status k_maketrian(KARGS) { UNUSED_KARGS; return pack_move(p, 1, out[0], in[0], 0); }

static mx_status pack_bwd(const mx_param_value *p, int tri, int extract, mx_ndarray *const *og,
                          mx_ndarray *const *ig, const int *req) {
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  if (!mx_dtype_is_float(ig[0]->dtype)) return grad_dtype_error(ig[0]->dtype);
  return extract ? pack_move(p, tri, ig[0], og[0], 0) : pack_move(p, tri, og[0], ig[0], 1);
}
static mx_status b_extractdiag(BARGS) { UNUSED_BARGS; return pack_bwd(p, 0, 1, og, ig, req); }
static mx_status b_makediag(BARGS) { UNUSED_BARGS; return pack_bwd(p, 0, 0, og, ig, req); }
static mx_status b_extracttrian(BARGS) { UNUSED_BARGS; return pack_bwd(p, 1, 1, og, ig, req); }
static mx_status b_maketrian(BARGS) { UNUSED_BARGS; return pack_bwd(p, 1, 0, og, ig, req); }

/* ------------------------------------------------------------ registry */

static const char *const in_abc[] = {"A", "B", "C", NULL};
static const char *const in_ab[] = {"A", "B", NULL};
static const char *const in_a[] = {"A", NULL};
static const char *const out_slogdet[] = {"sign", "logabsdet", NULL};
static const char *const out_gelqf[] = {"Q", "L", NULL};

#define P_TAB(X) \
  [X##_TA] = {"transpose_a", MX_PARAM_BOOL, 0, "False", NULL, "Use the transpose of A."}, \
  [X##_TB] = {"transpose_b", MX_PARAM_BOOL, 0, "False", NULL, "Use the transpose of B."}, \
  [X##_ALPHA] = {"alpha", MX_PARAM_FLOAT, 0, "1", NULL, "Scale of the product."}, \
  [X##_AXIS] = {"axis", MX_PARAM_INT, 0, "-2", NULL, "Engine axis of the matrix rows; only -2 (the last two engine axes hold the matrices) is supported."}

static const mx_param_desc p_gemm[GM_NPARAMS] = {
  P_TAB(GM),
  [GM_BETA] = {"beta", MX_PARAM_FLOAT, 0, "1", NULL, "Scale of C."},
};
static const mx_param_desc p_gemm2[G2_NPARAMS] = {P_TAB(G2)};
static const mx_param_desc p_tr[TR_NPARAMS] = {
  [TR_T] = {"transpose", MX_PARAM_BOOL, 0, "False", NULL, "Use the transpose of the triangular A."},
  [TR_RIGHT] = {"rightside", MX_PARAM_BOOL, 0, "False", NULL, "A multiplies from the right."},
  [TR_LOWER] = {"lower", MX_PARAM_BOOL, 0, "True", NULL, "A is lower (TRUE) or upper triangular; the other triangle is not read."},
  [TR_ALPHA] = {"alpha", MX_PARAM_FLOAT, 0, "1", NULL, "Scale of the result."},
};
static const mx_param_desc p_syrk[SY_NPARAMS] = {
  [SY_T] = {"transpose", MX_PARAM_BOOL, 0, "False", NULL, "Compute alpha A^T A instead of alpha A A^T."},
  [SY_ALPHA] = {"alpha", MX_PARAM_FLOAT, 0, "1", NULL, "Scale of the result."},
};
static const mx_param_desc p_diagoff[DI_NPARAMS] = {
  [DI_OFFSET] = {"offset", MX_PARAM_INT, 0, "0", NULL, "Diagonal: 0 the main one, positive above it, negative below (engine order)."},
};
static const mx_param_desc p_trian[TI_NPARAMS] = {
  [TI_OFFSET] = {"offset", MX_PARAM_INT, 0, "0", NULL, "Triangle bounded by this diagonal: positive above it, negative below (engine order)."},
  [TI_LOWER] = {"lower", MX_PARAM_BOOL, 0, "True", NULL, "With offset 0: the lower (TRUE) or upper triangle."},
};

const mx_op mx_ops_linalg[] = {
  {.name = "linalg_gemm", .aliases = {"_linalg_gemm"},
   .doc = "alpha op(A) op(B) + beta C over the last two engine axes (each R matrix is seen transposed). Leading axes are a batch.",
   .num_inputs = 3, .input_names = in_abc, .num_outputs = 1, .params = p_gemm,
   .num_params = MX_NPARAMS(p_gemm), .infer_shape = shape_gemm, .infer_type = type_float,
   .cpu = k_gemm, .backward = b_gemm, .backward_deps = deps_all},
  {.name = "linalg_gemm2", .aliases = {"_linalg_gemm2"},
   .doc = "alpha op(A) op(B) over the last two engine axes (each R matrix is seen transposed). Leading axes are a batch.",
   .num_inputs = 2, .input_names = in_ab, .num_outputs = 1, .params = p_gemm2,
   .num_params = MX_NPARAMS(p_gemm2), .infer_shape = shape_gemm2, .infer_type = type_float,
   .cpu = k_gemm2, .backward = b_gemm2, .backward_deps = deps_all},
  {.name = "linalg_potrf", .aliases = {"_linalg_potrf"},
   .doc = "Cholesky factor L (lower triangular, A = L L^T) of symmetric positive definite matrices; reads A's lower triangle.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .infer_shape = shape_square_same,
   .infer_type = type_float, .cpu = k_potrf, .backward = b_potrf, .backward_deps = deps_all},
  {.name = "linalg_potri", .aliases = {"_linalg_potri"},
   .doc = "Inverse (L L^T)^-1 of a matrix from its Cholesky factor L (the lower triangle of A).",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .infer_shape = shape_square_same,
   .infer_type = type_float, .cpu = k_potri, .backward = b_potri, .backward_deps = deps_all},
  {.name = "linalg_trmm", .aliases = {"_linalg_trmm"},
   .doc = "alpha op(A) B (or alpha B op(A) with rightside) for triangular A.",
   .num_inputs = 2, .input_names = in_ab, .num_outputs = 1, .params = p_tr,
   .num_params = MX_NPARAMS(p_tr), .infer_shape = shape_tr, .infer_type = type_float,
   .cpu = k_trmm, .backward = b_trmm, .backward_deps = deps_all},
  {.name = "linalg_trsm", .aliases = {"_linalg_trsm"},
   .doc = "Solve op(A) X = alpha B (or X op(A) = alpha B with rightside) for triangular A.",
   .num_inputs = 2, .input_names = in_ab, .num_outputs = 1, .params = p_tr,
   .num_params = MX_NPARAMS(p_tr), .infer_shape = shape_tr, .infer_type = type_float,
   .cpu = k_trsm, .backward = b_trsm, .backward_deps = deps_all},
  {.name = "linalg_syrk", .aliases = {"_linalg_syrk"},
   .doc = "alpha A A^T (or alpha A^T A with transpose) over the last two engine axes.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .params = p_syrk,
   .num_params = MX_NPARAMS(p_syrk), .infer_shape = shape_syrk, .infer_type = type_float,
   .cpu = k_syrk, .backward = b_syrk, .backward_deps = deps_all},
  {.name = "linalg_sumlogdiag", .aliases = {"_linalg_sumlogdiag"},
   .doc = "Sum of the logs of the diagonal of square matrices; one value per matrix.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .infer_shape = shape_square_scalar,
   .infer_type = type_float, .cpu = k_sumlogdiag, .backward = b_sumlogdiag, .backward_deps = deps_all},
  {.name = "linalg_det", .aliases = {"_linalg_det"},
   .doc = "Determinant of square matrices (LU with partial pivoting); one value per matrix.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .infer_shape = shape_square_scalar,
   .infer_type = type_float, .cpu = k_det, .backward = b_det, .backward_deps = deps_all},
  {.name = "linalg_slogdet", .aliases = {"_linalg_slogdet"},
   .doc = "Sign and log of the absolute determinant of square matrices (outputs sign, logabsdet).",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 2, .infer_shape = shape_square_scalar,
   .infer_type = type_float, .cpu = k_slogdet, .backward = b_slogdet, .backward_deps = deps_all,
   .output_names = out_slogdet},
  {.name = "linalg_inverse", .aliases = {"_linalg_inverse"},
   .doc = "Inverse of square matrices (Gauss-Jordan with partial pivoting); a singular matrix is an error.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .infer_shape = shape_square_same,
   .infer_type = type_float, .cpu = k_inverse, .backward = b_inverse, .backward_deps = deps_all},
  {.name = "linalg_gelqf", .aliases = {"_linalg_gelqf"},
   .doc = "LQ factorisation A = L Q of matrices with no more rows than columns (outputs Q with orthonormal rows, and L lower triangular with a positive diagonal).",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 2, .infer_shape = shape_gelqf,
   .infer_type = type_float, .cpu = k_gelqf, .backward = b_gelqf, .backward_deps = deps_all,
   .output_names = out_gelqf},
  {.name = "linalg_extractdiag", .aliases = {"_linalg_extractdiag"},
   .doc = "Diagonal offset of square matrices, as a vector per matrix.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .params = p_diagoff,
   .num_params = MX_NPARAMS(p_diagoff), .infer_shape = shape_extractdiag, .infer_type = type_float,
   .cpu = k_extractdiag, .backward = b_extractdiag, .backward_deps = mx_deps_out_grads},
  {.name = "linalg_makediag", .aliases = {"_linalg_makediag"},
   .doc = "Square matrices with the vectors of A on diagonal offset, zero elsewhere.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .params = p_diagoff,
   .num_params = MX_NPARAMS(p_diagoff), .infer_shape = shape_makediag, .infer_type = type_float,
   .cpu = k_makediag, .backward = b_makediag, .backward_deps = mx_deps_out_grads},
  {.name = "linalg_extracttrian", .aliases = {"_linalg_extracttrian"},
   .doc = "Triangle of square matrices packed row by row (engine order) into a vector per matrix.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .params = p_trian,
   .num_params = MX_NPARAMS(p_trian), .infer_shape = shape_extracttrian, .infer_type = type_float,
   .cpu = k_extracttrian, .backward = b_extracttrian, .backward_deps = mx_deps_out_grads},
  {.name = "linalg_maketrian", .aliases = {"_linalg_maketrian"},
   .doc = "Square matrices with the packed vectors of A in a triangle (the inverse of extracttrian), zero elsewhere.",
   .num_inputs = 1, .input_names = in_a, .num_outputs = 1, .params = p_trian,
   .num_params = MX_NPARAMS(p_trian), .infer_shape = shape_maketrian, .infer_type = type_float,
   .cpu = k_maketrian, .backward = b_maketrian, .backward_deps = mx_deps_out_grads},
  {.name = NULL},
};
