/*
 * nn-extra.c -- Correlation (FlowNet's correlation layer), MXNet 1.9.1's
 * CPU semantics, forward and backward.
 *
 * data1, data2: NCHW of one shape.  Both are zero-padded by pad_size; with
 * border = max_displacement + (kernel_size - 1)/2 the output is
 * (N, D*D, Ho, Wo), Ho = ceil((H + 2*pad - 2*border)/stride1) (Wo alike),
 * D = 2*(max_displacement/stride2) + 1.  Output channel tc = p*D + q
 * compares the kernel_size^2 patch of data1 at padded position
 * (i*stride1 + max_displacement, j*stride1 + max_displacement) (its top-left
 * corner, as MXNet's CPU kernel) with the patch of data2 displaced by
 * ((p - D/2)*stride2, (q - D/2)*stride2): the sum over the patch and the
 * channels of a*b (is_multiply) or |a - b|, divided by kernel_size^2 * C.
 *
 * MXNet keeps the padded copies as two hidden outputs (tmp1, tmp2); here
 * the kernels read the inputs directly (zero outside), so the op has its
 * one output.  float32 and float64 (float16 through the invoker); no GPU
 * kernel.
 */
#include "../include/mx-op.h"

#include <math.h>

enum { CO_KERNEL_SIZE, CO_MAX_DISPLACEMENT, CO_STRIDE1, CO_STRIDE2, CO_PAD_SIZE,
       CO_IS_MULTIPLY, CO_NPARAMS };
static const mx_param_desc p_correlation[CO_NPARAMS] = {
  [CO_KERNEL_SIZE] = {"kernel_size", MX_PARAM_INT, 0, "1", NULL, "Patch size (odd)."},
  [CO_MAX_DISPLACEMENT] = {"max_displacement", MX_PARAM_INT, 0, "1", NULL, "Largest displacement compared."},
  [CO_STRIDE1] = {"stride1", MX_PARAM_INT, 0, "1", NULL, "Stride of the positions in data1."},
  [CO_STRIDE2] = {"stride2", MX_PARAM_INT, 0, "1", NULL, "Stride of the displacements within the neighbourhood."},
  [CO_PAD_SIZE] = {"pad_size", MX_PARAM_INT, 0, "0", NULL, "Zero padding of both inputs."},
  [CO_IS_MULTIPLY] = {"is_multiply", MX_PARAM_BOOL, 0, "True", NULL,
   "Compare by products (TRUE) or by absolute differences (FALSE)."},
};

/* The geometry of a call. */
typedef struct {
  int64_t N, C, H, W, Ho, Wo, k, md, s1, s2, pad, rad, D;
  int mul;
} corr_geom;

static mx_status corr_geometry(const mx_param_value *p, const mx_shape *s, corr_geom *g) {
  g->k = p[CO_KERNEL_SIZE].i;
  g->md = p[CO_MAX_DISPLACEMENT].i;
  g->s1 = p[CO_STRIDE1].i;
  g->s2 = p[CO_STRIDE2].i;
  g->pad = p[CO_PAD_SIZE].i;
  g->mul = (int)p[CO_IS_MULTIPLY].i;
  if (g->k < 1 || g->k % 2 == 0) return mx_error(MX_ERR_ARG, "parameter 'kernel_size' must be odd and positive");
  if (g->md < 0 || g->pad < 0 || g->s1 < 1 || g->s2 < 1)
    return mx_error(MX_ERR_ARG, "parameters 'max_displacement' and 'pad_size' must be >= 0, the strides >= 1");
  if (s->ndim != 4) return mx_error(MX_ERR_SHAPE, "the inputs must have 4 dimensions (NCHW)");
  g->N = s->d[0];
  g->C = s->d[1];
  g->H = s->d[2];
  g->W = s->d[3];
  int64_t border = g->md + (g->k - 1) / 2;
  int64_t ph = g->H + 2 * g->pad - 2 * border, pw = g->W + 2 * g->pad - 2 * border;
  g->Ho = ph > 0 ? (ph + g->s1 - 1) / g->s1 : 0;
  g->Wo = pw > 0 ? (pw + g->s1 - 1) / g->s1 : 0;
  if (g->Ho < 1 || g->Wo < 1)
    return mx_error(MX_ERR_SHAPE, "the neighbourhood and the kernel do not fit in the (padded) input");
  g->rad = g->md / g->s2;
  g->D = 2 * g->rad + 1;
  return MX_OK;
}

static mx_status shape_correlation(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                   mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0 && in[1].ndim >= 0) in[0] = in[1];
  if (in[0].ndim < 0) return MX_OK;
  if (in[1].ndim < 0) in[1] = in[0];
  if (!mx_shape_equal(&in[0], &in[1]))
    return mx_shape_pair_error("data1 has shape %s but data2 %s", &in[0], &in[1]);
  corr_geom g;
  mx_status rc = corr_geometry(p, &in[0], &g);
  if (rc) return rc;
  int64_t d[4] = {g.N, g.D * g.D, g.Ho, g.Wo};
  return mx_shape_make(&out[0], 4, d);
}

/* The body (the macro's last arguments) for every patch offset (h, w) and
 * channel c of output element (tc, i, j): data1 is read at unpadded
 * (ya, xa) (inside: in1), data2 at (yb, xb) (inside: in2). */
#define CORR_FOR_PATCH(g, tc, i, j, ...)                                           \
  do {                                                                             \
    const int64_t x1_ = (j) * (g)->s1 + (g)->md, y1_ = (i) * (g)->s1 + (g)->md;    \
    const int64_t x2_ = x1_ + ((tc) % (g)->D - (g)->rad) * (g)->s2;                \
    const int64_t y2_ = y1_ + ((tc) / (g)->D - (g)->rad) * (g)->s2;                \
    for (int64_t h = 0; h < (g)->k; h++)                                           \
      for (int64_t w = 0; w < (g)->k; w++) {                                       \
        const int64_t ya = y1_ + h - (g)->pad, xa = x1_ + w - (g)->pad;            \
        const int64_t yb = y2_ + h - (g)->pad, xb = x2_ + w - (g)->pad;            \
        const int in1 = ya >= 0 && ya < (g)->H && xa >= 0 && xa < (g)->W;          \
        const int in2 = yb >= 0 && yb < (g)->H && xb >= 0 && xb < (g)->W;          \
        for (int64_t c = 0; c < (g)->C; c++) { __VA_ARGS__; }                      \
      }                                                                            \
  } while (0)

/* padded value of a (n, c) plane at (y, x) */
#define CORR_AT(P, ok, y, x) ((ok) ? (double)(P)[(y) * g.W + (x)] : 0.0)

static mx_status k_correlation(KARGS) {
  UNUSED_KARGS;
  corr_geom g;
  mx_status rc = corr_geometry(p, &in[0]->shape, &g);
  if (rc) return rc;
  const int64_t HW = g.H * g.W, rows = g.N * g.D * g.D * g.Ho;
  const double inv = 1.0 / (double)(g.k * g.k * g.C);
  MX_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *a = MX_DATA(in[0], T), *b = MX_DATA(in[1], T);
    T *o = MX_DATA(out[0], T);
    int nt = mx_par_threads(rows * g.Wo * g.k * g.k * g.C);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t r = 0; r < rows; r++) {
      int64_t i = r % g.Ho, tc = (r / g.Ho) % (g.D * g.D), n = r / (g.Ho * g.D * g.D);
      for (int64_t j = 0; j < g.Wo; j++) {
        double acc = 0;
        CORR_FOR_PATCH(&g, tc, i, j, {
          const T *pa = a + (n * g.C + c) * HW, *pb = b + (n * g.C + c) * HW;
          double va = CORR_AT(pa, in1, ya, xa), vb = CORR_AT(pb, in2, yb, xb);
          acc += g.mul ? va * vb : fabs(va - vb);
        });
        o[r * g.Wo + j] = (T)(acc * inv);
      }
    }
  });
  return MX_OK;
}

/* MXNet's CPU gradient: d data1 += og * data2' / (k^2 C) (is_multiply) or
 * og * (data1' >= data2' ? 1 : -1) / (k^2 C), data2 alike; one task per
 * image (each owns its gradient planes). */
static mx_status b_correlation(BARGS) {
  UNUSED_BARGS;
  corr_geom g;
  mx_status rc = corr_geometry(p, &in[0]->shape, &g);
  if (rc) return rc;
  for (int j = 0; j < 2; j++)
    if (ig[j] && (rc = mx_ndarray_fill(ig[j], 0))) return rc;
  const int64_t HW = g.H * g.W, TC = g.D * g.D;
  const double inv = 1.0 / (double)(g.k * g.k * g.C);
  MX_FLOAT_SWITCH(og[0]->dtype, T, {
    const T *a = MX_DATA(in[0], T), *b = MX_DATA(in[1], T), *go = MX_DATA(og[0], T);
    T *da = ig[0] ? MX_DATA(ig[0], T) : NULL, *db = ig[1] ? MX_DATA(ig[1], T) : NULL;
    int nt = mx_par_threads(g.N * TC * g.Ho * g.Wo * g.k * g.k * g.C);
    if (nt > g.N) nt = (int)g.N;
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t n = 0; n < g.N; n++)
      for (int64_t tc = 0; tc < TC; tc++)
        for (int64_t i = 0; i < g.Ho; i++)
          for (int64_t j = 0; j < g.Wo; j++) {
            const double gv = (double)go[((n * TC + tc) * g.Ho + i) * g.Wo + j] * inv;
            CORR_FOR_PATCH(&g, tc, i, j, {
              const int64_t pc = (n * g.C + c) * HW;
              double va = CORR_AT(a + pc, in1, ya, xa), vb = CORR_AT(b + pc, in2, yb, xb);
              double s = va >= vb ? 1.0 : -1.0;
              if (da && in1) da[pc + ya * g.W + xa] += (T)(gv * (g.mul ? vb : s));
              if (db && in2) db[pc + yb * g.W + xb] += (T)(gv * (g.mul ? va : -s));
            });
          }
  });
  return MX_OK;
}

static const char *const in_correlation[] = {"data1", "data2", NULL};

const mx_op mx_ops_nn_extra[] = {
  {.name = "Correlation",
   .doc = "Correlation layer of FlowNet: compares each patch of data1 (NCHW) with the patches of data2 within max_displacement, by products (is_multiply) or absolute differences, averaged over the patch and the channels; the output has one channel per displacement.",
   .num_inputs = 2, .input_names = in_correlation, .num_outputs = 1, .params = p_correlation,
   .num_params = MX_NPARAMS(p_correlation), .infer_shape = shape_correlation,
   .cpu = k_correlation, .backward = b_correlation},
  {.name = NULL},
};
