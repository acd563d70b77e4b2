/*
 * rnn.c -- the fused recurrent layer (MXNet's RNN op): vanilla relu/tanh,
 * LSTM and GRU cells; several layers; one or two directions; dropout
 * between layers; initial and final states.
 *
 * Layout (MXNet 1.9.1, cuDNN compatible):
 *  - data (T, N, I) [TNC]; state and state_cell (L*D, N, H), entry l*D + d;
 *  - parameters: one flat vector; first every weight, layer by layer and
 *    direction by direction, i2h (G*H, in) then h2h (G*H, H); then every
 *    bias in the same order, i2h (G*H) then h2h (G*H).  G = 1, 4 (gates
 *    i, f, g, o) or 3 (gates r, z, n);
 *  - GRU: r = s(Wr x + br + Ur h + cr), z likewise, n = tanh(Wn x + bn +
 *    r * (Un h + cn)), h' = (1 - z) n + z h.
 *
 * Outputs: out (T, N, D*H), hy, cy (L*D, N, H; cy zero unless LSTM) and a
 * hidden reserve that keeps what backward reads: per layer and direction
 * the activated gates (and LSTM cells, GRU's Un h + cn); per lower layer
 * its output and, with dropout, the mask and the next layer's input.
 *
 * The input-to-hidden products of a layer are one GEMM over all steps;
 * each step adds one (N, H) x (H, G*H) GEMM and element-wise work.
 */
#include "../include/mx-op.h"

#include <math.h>

#define DARGS const mx_param_value *p, int nin, int nout, unsigned char *ni, \
              unsigned char *no, unsigned char *ng
#define WANT(j) (ig[j] && (req[j] == MX_REQ_WRITE || req[j] == MX_REQ_INPLACE))
#define AT(ptr, k) ((char *)(ptr) + (size_t)(k) * es)

enum { M_RELU, M_TANH, M_LSTM, M_GRU };

enum { RN_STATE_SIZE, RN_NUM_LAYERS, RN_BIDIRECTIONAL, RN_MODE, RN_P, RN_STATE_OUTPUTS,
       RN_PROJECTION_SIZE, RN_CLIP_MIN, RN_CLIP_MAX, RN_CLIP_NAN, RN_USE_SEQ_LEN,
       RN_NPARAMS };

static const mx_param_desc p_rnn[RN_NPARAMS] = {
  [RN_STATE_SIZE] = {"state_size", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Size of the hidden state of each layer."},
  [RN_NUM_LAYERS] = {"num_layers", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Number of stacked layers."},
  [RN_BIDIRECTIONAL] = {"bidirectional", MX_PARAM_BOOL, 0, "False", NULL, "Whether each layer also runs backwards in time (outputs concatenated)."},
  [RN_MODE] = {"mode", MX_PARAM_ENUM, MX_PF_REQUIRED, NULL, "rnn_relu|rnn_tanh|lstm|gru", "The cell type."},
  [RN_P] = {"p", MX_PARAM_FLOAT, 0, "0", NULL, "Dropout rate on the outputs of each layer but the last (training only)."},
  [RN_STATE_OUTPUTS] = {"state_outputs", MX_PARAM_BOOL, 0, "False", NULL, "Whether the final states are outputs too."},
  [RN_PROJECTION_SIZE] = {"projection_size", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL, "LSTM projection size (not offered: must be None)."},
  [RN_CLIP_MIN] = {"lstm_state_clip_min", MX_PARAM_FLOAT, MX_PF_OPTIONAL, NULL, NULL, "LSTM cell clipping minimum (not offered: must be None)."},
  [RN_CLIP_MAX] = {"lstm_state_clip_max", MX_PARAM_FLOAT, MX_PF_OPTIONAL, NULL, NULL, "LSTM cell clipping maximum (not offered: must be None)."},
  [RN_CLIP_NAN] = {"lstm_state_clip_nan", MX_PARAM_BOOL, 0, "False", NULL, "Whether clipping also replaces NaN (ignored without clipping)."},
  [RN_USE_SEQ_LEN] = {"use_sequence_length", MX_PARAM_BOOL, 0, "False", NULL, "Variable-length sequences through a sequence_length input (not offered: must be FALSE)."},
};

static const char *const in_rnn[] = {"data", "parameters", "state", "state_cell", NULL};
static const char *const out_rnn[] = {"output", "state", "state_cell", "reserve", NULL};

/* ------------------------------------------------------------ dimensions */

typedef struct {
  int mode, L, D, G;
  int64_t T, N, I, H;
  int drop;          /* dropout between layers (p > 0 and L > 1) */
} rnn_dims;

static int rnn_gates(int mode) { return mode == M_LSTM ? 4 : mode == M_GRU ? 3 : 1; }

static int64_t layer_in(const rnn_dims *r, int l) { return l ? r->D * r->H : r->I; }

/* elements of all weights (the biases follow them) */
static int64_t weights_size(const rnn_dims *r) {
  int64_t gh = r->G * r->H, n = 0;
  for (int l = 0; l < r->L; l++) n += r->D * gh * (layer_in(r, l) + r->H);
  return n;
}

static int64_t params_size(const rnn_dims *r) {
  return weights_size(r) + (int64_t)r->L * r->D * 2 * r->G * r->H;
}

/* per layer and direction: gates (T N G H), then cells (LSTM) or Un h + cn
 * (GRU), T N H */
static int64_t cell_block(const rnn_dims *r) {
  int64_t tnh = r->T * r->N * r->H;
  return tnh * r->G + (r->mode >= M_LSTM ? tnh : 0);
}

/* per lower layer: its output, and with dropout the mask and the next input */
static int64_t layer_block(const rnn_dims *r) {
  return r->T * r->N * r->D * r->H * (r->drop ? 3 : 1);
}

static int64_t reserve_size(const rnn_dims *r) {
  return (int64_t)r->L * r->D * cell_block(r) + (int64_t)(r->L - 1) * layer_block(r);
}

static mx_status rnn_params_check(const mx_param_value *p) {
  if (p[RN_STATE_SIZE].i < 1)
    return mx_error(MX_ERR_ARG, "parameter 'state_size' must be positive, got %lld", (long long)p[RN_STATE_SIZE].i);
  if (p[RN_NUM_LAYERS].i < 1)
    return mx_error(MX_ERR_ARG, "parameter 'num_layers' must be positive, got %lld", (long long)p[RN_NUM_LAYERS].i);
  if (!(p[RN_P].f >= 0 && p[RN_P].f <= 1))
    return mx_error(MX_ERR_ARG, "parameter 'p' must be in [0, 1], got %g", p[RN_P].f);
  if (p[RN_PROJECTION_SIZE].is_set)
    return mx_error(MX_ERR_UNSUPPORTED, "parameter 'projection_size' (LSTM projection) is not offered; leave it NULL");
  if (p[RN_CLIP_MIN].is_set || p[RN_CLIP_MAX].is_set)
    return mx_error(MX_ERR_UNSUPPORTED, "parameters 'lstm_state_clip_min'/'lstm_state_clip_max' are not offered; leave them NULL");
  if (p[RN_USE_SEQ_LEN].i)
    return mx_error(MX_ERR_UNSUPPORTED, "parameter 'use_sequence_length' is not offered; mask padded steps with SequenceMask instead");
  return MX_OK;
}

static void rnn_dims_of(const mx_param_value *p, const mx_shape *data, rnn_dims *r) {
  r->mode = (int)p[RN_MODE].i;
  r->L = (int)p[RN_NUM_LAYERS].i;
  r->D = p[RN_BIDIRECTIONAL].i ? 2 : 1;
  r->G = rnn_gates(r->mode);
  r->H = p[RN_STATE_SIZE].i;
  r->T = data->d[0];
  r->N = data->d[1];
  r->I = data->d[2];
  r->drop = p[RN_P].f > 0 && r->L > 1;
}

/* ------------------------------------------------------------ inference */

static int list_rnn(const mx_param_value *p, const char **names, int max) {
  int n = p[RN_MODE].i == M_LSTM ? 4 : 3;
  for (int k = 0; k < n && k < max; k++) names[k] = in_rnn[k];
  return n;
}

static int vis_rnn(const mx_param_value *p) {
  if (!p[RN_STATE_OUTPUTS].i) return 1;
  return p[RN_MODE].i == M_LSTM ? 3 : 2;
}

static mx_shape shape_n(int nd, int64_t a, int64_t b, int64_t c) {
  mx_shape s;
  memset(&s, 0, sizeof s);
  s.ndim = nd;
  s.d[0] = a;
  s.d[1] = b;
  s.d[2] = c;
  return s;
}

/* Fill the unknown inputs 1.. (parameters, states) with want[], or check
 * the known ones against it. */
static mx_status fill_inputs(int nin, mx_shape *in, const mx_shape *want) {
  for (int j = 1; j < nin; j++) {
    if (in[j].ndim < 0) in[j] = want[j];
    if (mx_shape_equal(&in[j], &want[j])) continue;
    char got[128], exp[128];
    mx_shape_format(&in[j], got, sizeof got);
    mx_shape_format(&want[j], exp, sizeof exp);
    return mx_error(MX_ERR_SHAPE, "input '%s' has shape %s, expected %s", in_rnn[j], got, exp);
  }
  return MX_OK;
}

static mx_status shape_rnn(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nout;
  mx_status rc = rnn_params_check(p);
  if (rc) return rc;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim != 3) {
    char b[128];
    mx_shape_format(&in[0], b, sizeof b);
    return mx_error(MX_ERR_SHAPE, "input 'data' must be 3-D (sequence, batch, input) [TNC], got %s", b);
  }
  rnn_dims r;
  rnn_dims_of(p, &in[0], &r);
  mx_shape st = shape_n(3, (int64_t)r.L * r.D, r.N, r.H);
  mx_shape want[4] = {in[0], shape_n(1, params_size(&r), 0, 0), st, st};
  if ((rc = fill_inputs(nin < 4 ? nin : 4, in, want))) return rc;
  out[0] = shape_n(3, r.T, r.N, r.D * r.H);
  out[1] = st;
  out[2] = st;
  out[3] = shape_n(1, reserve_size(&r), 0, 0);
  return MX_OK;
}

/* --------------------------------------------------- element-wise cells */

/* exp and tanh in the element type T of the enclosing MX_FLOAT_SWITCH */
#define EXPT(x) (sizeof(T) == sizeof(float) ? (T)expf((float)(x)) : (T)exp((double)(x)))
#define TANHT(x) (sizeof(T) == sizeof(float) ? (T)tanhf((float)(x)) : (T)tanh((double)(x)))
#define SIGM(T, x) ((T)1 / ((T)1 + EXPT(-(x))))

/* One step's rows: g (N, G H) holds x Wx' and becomes the activated gates;
 * gh (N, G H) = h_prev Wh'; hp (ld ldh) and cp the previous states; h
 * (ld ldh) and cc receive the new ones; m receives GRU's Un h + cn. */
typedef struct {
  void *g;
  const void *gh, *bx, *bh, *hp, *cp;
  void *h, *cc, *m;
  int64_t ldhp, ldh;
} step_fwd;

/* One step backwards: dy (ld ldy) the output's gradient, dh (N, H) the
 * gradient from the next step, becomes the direct part of h_prev's; dc
 * (LSTM) likewise; dg, dgh (N, G H) receive the gate gradients on the x
 * and h sides (the same array but for GRU). */
typedef struct {
  const void *g, *hp, *cp, *cc, *m, *h, *dy;
  void *dh, *dc, *dg, *dgh;
  int64_t ldhp, ldy, ldh;
} step_bwd;

/* One step of the cells, forward (sf) or backward (sb), row by row. */
static mx_status cell_step(const rnn_dims *r, int dt, const step_fwd *sf, const step_bwd *sb) {
  int64_t N = r->N, H = r->H, GH = r->G * H;
  int mode = r->mode;
  int nt = mx_par_threads(N * GH);
  (void)nt;
  MX_FLOAT_SWITCH(dt, T, {
    MX_OMP_FOR(nt)
    for (int64_t n = 0; n < N; n++) {
      if (sf) {
        T *g = (T *)sf->g + n * GH;
        const T *gh = (const T *)sf->gh + n * GH, *bx = (const T *)sf->bx, *bh = (const T *)sf->bh;
        const T *hp = (const T *)sf->hp + n * sf->ldhp;
        T *h = (T *)sf->h + n * sf->ldh;
        for (int64_t j = 0; j < H; j++) {
          if (mode == M_LSTM) {
            const T *cp = (const T *)sf->cp + n * H;
            T *cc = (T *)sf->cc + n * H;
            T gi = SIGM(T, g[j] + gh[j] + bx[j] + bh[j]);
            T gf = SIGM(T, g[H + j] + gh[H + j] + bx[H + j] + bh[H + j]);
            T gg = TANHT(g[2 * H + j] + gh[2 * H + j] + bx[2 * H + j] + bh[2 * H + j]);
            T go = SIGM(T, g[3 * H + j] + gh[3 * H + j] + bx[3 * H + j] + bh[3 * H + j]);
            T cv = gf * cp[j] + gi * gg;
            g[j] = gi; g[H + j] = gf; g[2 * H + j] = gg; g[3 * H + j] = go;
            cc[j] = cv;
            h[j] = go * TANHT(cv);
          } else if (mode == M_GRU) {
            T *m = (T *)sf->m + n * H;
            T gr = SIGM(T, g[j] + gh[j] + bx[j] + bh[j]);
            T gz = SIGM(T, g[H + j] + gh[H + j] + bx[H + j] + bh[H + j]);
            T mv = gh[2 * H + j] + bh[2 * H + j];
            T gn = TANHT(g[2 * H + j] + bx[2 * H + j] + gr * mv);
            g[j] = gr; g[H + j] = gz; g[2 * H + j] = gn;
            m[j] = mv;
            h[j] = (1 - gz) * gn + gz * hp[j];
          } else {
            T a = g[j] + gh[j] + bx[j] + bh[j];
            a = mode == M_TANH ? TANHT(a) : (a > 0 ? a : 0);
            g[j] = a;
            h[j] = a;
          }
        }
      } else {
        const T *g = (const T *)sb->g + n * GH, *hp = (const T *)sb->hp + n * sb->ldhp;
        const T *dy = sb->dy ? (const T *)sb->dy + n * sb->ldy : NULL;
        T *dh = (T *)sb->dh + n * H, *dg = (T *)sb->dg + n * GH;
        for (int64_t j = 0; j < H; j++) {
          T d = dh[j] + (dy ? dy[j] : 0);
          if (mode == M_LSTM) {
            const T *cp = (const T *)sb->cp + n * H, *cc = (const T *)sb->cc + n * H;
            T *dc = (T *)sb->dc + n * H;
            T gi = g[j], gf = g[H + j], gg = g[2 * H + j], go = g[3 * H + j];
            T tc = TANHT(cc[j]);
            T dct = dc[j] + d * go * (1 - tc * tc);
            dg[j] = (T)(dct * gg * gi * (1 - gi));
            dg[H + j] = (T)(dct * cp[j] * gf * (1 - gf));
            dg[2 * H + j] = (T)(dct * gi * (1 - gg * gg));
            dg[3 * H + j] = (T)(d * tc * go * (1 - go));
            dc[j] = (T)(dct * gf);
            dh[j] = 0;
          } else if (mode == M_GRU) {
            const T *m = (const T *)sb->m + n * H;
            T *dgh = (T *)sb->dgh + n * GH;
            T gr = g[j], gz = g[H + j], gn = g[2 * H + j];
            T dan = d * (1 - gz) * (1 - gn * gn);
            T dar = dan * m[j] * gr * (1 - gr);
            T daz = d * (hp[j] - gn) * gz * (1 - gz);
            dg[j] = dgh[j] = (T)dar;
            dg[H + j] = dgh[H + j] = (T)daz;
            dg[2 * H + j] = (T)dan;
            dgh[2 * H + j] = (T)(dan * gr);
            dh[j] = (T)(d * gz);
          } else {
            T a = g[j];
            dg[j] = (T)(mode == M_TANH ? d * (1 - a * a) : (a > 0 ? d : 0));
            dh[j] = 0;
          }
        }
      }
    }
  });
  return MX_OK;
}

/* b[k] = sum of the rows of a (rows, cols), row by row (cache friendly),
 * into acc (cols doubles of scratch) */
static mx_status col_sums(int dt, const void *a, int64_t rows, int64_t cols, void *b, double *acc) {
  memset(acc, 0, (size_t)cols * sizeof *acc);
  MX_FLOAT_SWITCH(dt, T, {
    const T *x = (const T *)a;
    T *y = (T *)b;
    for (int64_t i = 0; i < rows; i++)
      for (int64_t k = 0; k < cols; k++) acc[k] += x[i * cols + k];
    for (int64_t k = 0; k < cols; k++) y[k] = (T)acc[k];
  });
  return MX_OK;
}

/* y = x * m, n elements */
static mx_status mul_mask(int dt, const void *x, const void *m, void *y, int64_t n) {
  int nt = mx_par_threads(n);
  (void)nt;
  MX_FLOAT_SWITCH(dt, T, {
    const T *a = (const T *)x, *b = (const T *)m;
    T *o = (T *)y;
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < n; i++) o[i] = a[i] * b[i];
  });
  return MX_OK;
}

/* mx_gemm, on one thread when the product is small (the per-step products
 * of small layers: a parallel region per step costs more than it saves,
 * above all on a busy machine) */
#define RNN_GEMM_SMALL 4194304.0
static mx_status rnn_gemm(const mx_op_ctx *c, int dt, int ta, int tb, int64_t M, int64_t N,
                          int64_t K, double alpha, const void *A, int64_t lda, const void *B,
                          int64_t ldb, double beta, void *C, int64_t ldc) {
  mx_op_ctx one;
  if (c && c->nthreads > 1 && (double)M * (double)N * (double)K < RNN_GEMM_SMALL) {
    one = *c;
    one.nthreads = 1;
    c = &one;
  }
  return mx_gemm(c, dt, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ------------------------------------------------------------- layout */

/* Where one layer's and direction's arrays live. */
typedef struct {
  int64_t in;                     /* layer input size */
  const char *x;                  /* layer input (T N in) */
  char *y;                        /* layer output (T N D H), this direction's column */
  const char *wx, *wh, *bx, *bh;  /* parameters */
  const char *hx, *cx;            /* initial states (N H) */
  char *gates, *cells;            /* reserve: gates (T N G H); cells or GRU's m (T N H) */
} lay;

typedef struct {
  rnn_dims r;
  int dt;
  size_t es;
  const char *data, *w, *hx, *cx;
  char *out, *res;
} rnn_io;

/* lower layer l's output, mask and next input (reserve) */
static char *layer_out(const rnn_io *io, int l, int which) {
  const rnn_dims *r = &io->r;
  size_t es = io->es;
  if (l == r->L - 1) return io->out;
  int64_t tnd = r->T * r->N * r->D * r->H;
  char *base = AT(io->res, (int64_t)r->L * r->D * cell_block(r) + l * layer_block(r));
  return r->drop ? AT(base, which * tnd) : base;
}

static const char *layer_input(const rnn_io *io, int l) {
  return l ? layer_out(io, l - 1, 2) : io->data;
}

static void lay_of(const rnn_io *io, int l, int d, lay *a) {
  const rnn_dims *r = &io->r;
  size_t es = io->es;
  int64_t gh = r->G * r->H, k = (int64_t)l * r->D + d, woff = 0;
  for (int i = 0; i < l; i++) woff += r->D * gh * (layer_in(r, i) + r->H);
  a->in = layer_in(r, l);
  woff += d * gh * (a->in + r->H);
  a->x = layer_input(io, l);
  a->y = AT(layer_out(io, l, 0), d * r->H);
  a->wx = AT(io->w, woff);
  a->wh = AT(io->w, woff + gh * a->in);
  a->bx = AT(io->w, weights_size(r) + k * 2 * gh);
  a->bh = AT(a->bx, gh);
  a->hx = AT(io->hx, k * r->N * r->H);
  a->cx = io->cx ? AT(io->cx, k * r->N * r->H) : NULL;
  a->gates = AT(io->res, k * cell_block(r));
  a->cells = AT(a->gates, r->T * r->N * gh);
}

/* time of step s, and of the step before it (-1: the initial state) */
static int64_t step_time(const rnn_dims *r, int d, int64_t s) { return d ? r->T - 1 - s : s; }

/* h at time t of this layer and direction (t < 0: the initial state) */
static const char *h_at(const rnn_io *io, const lay *a, int64_t t, int64_t *ld) {
  const rnn_dims *r = &io->r;
  size_t es = io->es;
  if (t < 0) {
    *ld = r->H;
    return a->hx;
  }
  *ld = r->D * r->H;
  return AT(a->y, t * r->N * r->D * r->H);
}

/* ------------------------------------------------------------- forward */

/* dst (cols x rows) = the transpose of src (rows x cols) */
static mx_status transpose(int dt, const void *src, int64_t rows, int64_t cols, void *dst) {
  MX_FLOAT_SWITCH(dt, T, {
    const T *x = (const T *)src;
    T *y = (T *)dst;
    for (int64_t i = 0; i < rows; i++)
      for (int64_t k = 0; k < cols; k++) y[k * rows + i] = x[i * cols + k];
  });
  return MX_OK;
}

/* Forward of one layer and direction; gh: scratch (N G H), wht: scratch
 * (H G H) for Wh' (the per-step products run faster on it than on Wh
 * transposed on the fly) */
static mx_status layer_fwd(const mx_op_ctx *c, const rnn_io *io, const lay *a, int d, char *gh,
                           char *wht) {
  const rnn_dims *r = &io->r;
  size_t es = io->es;
  int64_t N = r->N, H = r->H, GH = r->G * H, nh = N * H;
  mx_status rc = rnn_gemm(c, io->dt, 0, 1, r->T * N, GH, a->in, 1, a->x, a->in, a->wx, a->in, 0,
                         a->gates, GH);
  if (!rc) rc = transpose(io->dt, a->wh, GH, H, wht);
  for (int64_t s = 0; s < r->T && !rc; s++) {
    int64_t t = step_time(r, d, s), tp = s ? step_time(r, d, s - 1) : -1, ldhp, ldh;
    const char *hp = h_at(io, a, tp, &ldhp);
    char *h = (char *)h_at(io, a, t, &ldh);
    rc = rnn_gemm(c, io->dt, 0, 0, N, GH, H, 1, hp, ldhp, wht, GH, 0, gh, GH);
    if (rc) break;
    step_fwd sf = {AT(a->gates, t * N * GH), gh, a->bx, a->bh, hp,
                   tp < 0 ? a->cx : AT(a->cells, tp * nh), h, AT(a->cells, t * nh),
                   AT(a->cells, t * nh), ldhp, ldh};
    rc = cell_step(r, io->dt, &sf, NULL);
  }
  return rc;
}

/* copy the last step's states of every layer and direction into hy, cy */
static void final_states(const rnn_io *io, char *hy, char *cy) {
  const rnn_dims *r = &io->r;
  size_t es = io->es;
  int64_t nh = r->N * r->H;
  for (int l = 0; l < r->L; l++)
    for (int d = 0; d < r->D; d++) {
      lay a;
      lay_of(io, l, d, &a);
      int64_t k = (int64_t)l * r->D + d, t = step_time(r, d, r->T - 1), ld;
      const char *h = h_at(io, &a, t, &ld);
      for (int64_t n = 0; n < r->N; n++)
        memcpy(AT(hy, k * nh + n * r->H), AT(h, n * ld), (size_t)r->H * es);
      if (r->mode == M_LSTM) memcpy(AT(cy, k * nh), AT(a.cells, t * nh), (size_t)nh * es);
    }
}

/* the next layer's input: this layer's output, dropped in training (u:
 * scratch for T N D H uniforms) */
static mx_status drop_between(const mx_op_ctx *c, const rnn_io *io, int l, double pr, float *u) {
  const rnn_dims *r = &io->r;
  int64_t n = r->T * r->N * r->D * r->H;
  char *y = layer_out(io, l, 0), *m = layer_out(io, l, 1), *x = layer_out(io, l, 2);
  int on = c->is_train;
  mx_rng g = c->rng;
  if (on) mx_rng_uniform_f32(&g, u, n, 0, 1);
  double keep = 1 - pr, sc = keep > 0 ? 1 / keep : 0;
  MX_FLOAT_SWITCH(io->dt, T, {
    T *mk = (T *)m;
    for (int64_t i = 0; i < n; i++) mk[i] = (T)(!on ? 1 : u[i] < keep ? sc : 0);
  });
  return mul_mask(io->dt, y, m, x, n);
}

static mx_status rnn_io_of(const mx_param_value *p, mx_ndarray *const *in, int nin,
                           mx_ndarray *const *out, rnn_io *io) {
  rnn_dims_of(p, &in[0]->shape, &io->r);
  io->dt = in[0]->dtype;
  if (io->dt != MX_FLOAT32 && io->dt != MX_FLOAT64)
    return mx_error(MX_ERR_DTYPE, "RNN needs float32 or float64 data, not %s", mx_dtype_name(io->dt));
  if (io->r.T < 1 || io->r.N < 1 || io->r.I < 1)
    return mx_error(MX_ERR_SHAPE, "input 'data' must have at least one step, one sequence and one input feature");
  io->es = mx_dtype_size(io->dt);
  io->data = (const char *)MX_PTR(in[0]);
  io->w = (const char *)MX_PTR(in[1]);
  io->hx = (const char *)MX_PTR(in[2]);
  io->cx = io->r.mode == M_LSTM && nin > 3 ? (const char *)MX_PTR(in[3]) : NULL;
  io->out = (char *)MX_PTR(out[0]);
  io->res = (char *)MX_PTR(out[3]);
  return MX_OK;
}

/* The pieces of one call's scratch, in bytes (0: not needed), in the order
 * they are taken: forward RF_* (the step's gate buffer, the transposed h2h
 * weights, the dropout uniforms), backward RB_* (rnn_scratch).  The
 * executor plans their sum (ws_rnn); the kernels take them in order. */
enum { RF_GH, RF_WHT, RF_U, RF_N };
enum { RB_DG, RB_DGH, RB_DH, RB_DC, RB_DX0, RB_DX1, RB_ACC, RB_N };
static int rnn_pieces(const rnn_dims *r, size_t es, int backward, size_t *sz) {
  size_t tn = (size_t)(r->T * r->N), gh = (size_t)(r->G * r->H), nh = (size_t)(r->N * r->H);
  size_t wide = (size_t)(r->I > r->D * r->H ? r->I : r->D * r->H);
  if (!backward) {
    sz[RF_GH] = (size_t)r->N * gh * es;
    sz[RF_WHT] = (size_t)r->H * gh * es;
    sz[RF_U] = r->drop ? tn * (size_t)(r->D * r->H) * sizeof(float) : 0;
    return RF_N;
  }
  sz[RB_DG] = tn * gh * es;
  sz[RB_DGH] = r->mode == M_GRU ? tn * gh * es : 0;
  sz[RB_DH] = sz[RB_DC] = nh * es;
  sz[RB_DX0] = tn * wide * es;
  sz[RB_DX1] = r->L > 1 ? tn * wide * es : 0;
  sz[RB_ACC] = gh * sizeof(double);
  return RB_N;
}

static size_t rnn_need(const rnn_dims *r, size_t es, int backward) {
  size_t sz[RB_N], need = 0;
  for (int k = 0, n = rnn_pieces(r, es, backward, sz); k < n; k++) need += mx_scratch_round(sz[k]);
  return need;
}

/* Open the scratch of one call and take its pieces (NULL where not needed). */
static mx_status rnn_scratch_open(const mx_op_ctx *c, const rnn_io *io, int backward, mx_scratch *s,
                                  void **piece) {
  size_t sz[RB_N];
  int n = rnn_pieces(&io->r, io->es, backward, sz);
  mx_status rc = mx_scratch_open(c, rnn_need(&io->r, io->es, backward), s);
  for (int k = 0; k < n && rc == MX_OK; k++) piece[k] = sz[k] ? mx_scratch_take(s, sz[k]) : NULL;
  return rc;
}

static size_t ws_rnn(const mx_op_ctx *c, const mx_param_value *p, int nin, const mx_shape *in,
                     int dtype, int backward) {
  (void)c;
  if (nin < 1 || in[0].ndim != 3 || (dtype != MX_FLOAT32 && dtype != MX_FLOAT64)) return 0;
  rnn_dims r;
  rnn_dims_of(p, &in[0], &r);
  return rnn_need(&r, mx_dtype_size(dtype), backward != 0);
}

static mx_status k_rnn(KARGS) {
  UNUSED_KARGS;
  rnn_io io;
  mx_scratch s;
  void *pc[RF_N];
  mx_status rc = rnn_io_of(p, in, nin, out, &io);
  if (rc || (rc = rnn_scratch_open(c, &io, 0, &s, pc))) return rc;
  const rnn_dims *r = &io.r;
  char *gh = (char *)pc[RF_GH], *wht = (char *)pc[RF_WHT];
  float *u = (float *)pc[RF_U];
  for (int l = 0; l < r->L && !rc; l++) {
    for (int d = 0; d < r->D && !rc; d++) {
      lay a;
      lay_of(&io, l, d, &a);
      rc = layer_fwd(c, &io, &a, d, gh, wht);
    }
    if (!rc && l < r->L - 1 && r->drop) rc = drop_between(c, &io, l, p[RN_P].f, u);
  }
  mx_scratch_close(&s);
  if (rc || (rc = mx_ndarray_fill(out[2], 0))) return rc;
  final_states(&io, (char *)MX_PTR(out[1]), (char *)MX_PTR(out[2]));
  return MX_OK;
}

/* ------------------------------------------------------------ backward */

/* Scratch of a backward pass. */
typedef struct {
  char *dg, *dgh;    /* gate gradients (T N G H), x and h sides */
  char *dh, *dc;     /* state gradients (N H) */
  char *dx[2];       /* gradients of layer inputs / outputs (T N max(I, D H)) */
  double *acc;       /* bias gradient sums (G H) */
} rnn_scratch;

/* Gradients of one layer and direction: dy (ld D H, NULL = 0) the output's
 * gradient; dhy, dcy (NULL = 0) the final states'; adds dx (T N in; NULL =
 * not wanted) (sets it when d == 0) and writes dw (this block of the parameter gradient,
 * NULL = not wanted), dhx, dcx (NULL = not wanted). */
typedef struct {
  const char *dy, *dhy, *dcy;
  char *dx, *dw, *db, *dhx, *dcx;
} lay_grad;

static mx_status layer_bwd(const mx_op_ctx *c, const rnn_io *io, const lay *a, int d,
                           const lay_grad *lg, rnn_scratch *sc) {
  const rnn_dims *r = &io->r;
  size_t es = io->es;
  int dt = io->dt;
  int64_t N = r->N, H = r->H, GH = r->G * H, nh = N * H, TN = r->T * N, ldy = r->D * H;
  mx_status rc = MX_OK;
  if (lg->dhy) memcpy(sc->dh, lg->dhy, (size_t)nh * es); else memset(sc->dh, 0, (size_t)nh * es);
  if (r->mode == M_LSTM) {
    if (lg->dcy) memcpy(sc->dc, lg->dcy, (size_t)nh * es); else memset(sc->dc, 0, (size_t)nh * es);
  }
  char *dgh = r->mode == M_GRU ? sc->dgh : sc->dg;
  for (int64_t s = r->T - 1; s >= 0 && !rc; s--) {
    int64_t t = step_time(r, d, s), tp = s ? step_time(r, d, s - 1) : -1, ldhp, ldh;
    const char *hp = h_at(io, a, tp, &ldhp);
    step_bwd sb = {AT(a->gates, t * N * GH), hp, tp < 0 ? a->cx : AT(a->cells, tp * nh),
                   AT(a->cells, t * nh), AT(a->cells, t * nh), h_at(io, a, t, &ldh),
                   lg->dy ? AT(lg->dy, t * N * ldy + d * H) : NULL, sc->dh, sc->dc,
                   AT(sc->dg, t * N * GH), AT(dgh, t * N * GH), ldhp, ldy, ldh};
    rc = cell_step(r, dt, NULL, &sb);
    if (!rc) rc = rnn_gemm(c, dt, 0, 0, N, H, GH, 1, AT(dgh, t * N * GH), GH, a->wh, H,
                 r->mode == M_GRU ? 1 : 0, sc->dh, H);
  }
  if (rc) return rc;
  if (lg->dhx) memcpy(lg->dhx, sc->dh, (size_t)nh * es);
  if (lg->dcx && r->mode == M_LSTM) memcpy(lg->dcx, sc->dc, (size_t)nh * es);
  if (lg->dx) rc = rnn_gemm(c, dt, 0, 0, TN, a->in, GH, 1, sc->dg, GH, a->wx, a->in, d ? 1 : 0, lg->dx, a->in);
  if (rc || !lg->dw) return rc;
  /* dWx = dG' x; dWh = sum_t dGh_t' h_prev(t); biases: column sums */
  char *dwx = lg->dw, *dwh = AT(lg->dw, GH * a->in);
  rc = rnn_gemm(c, dt, 1, 0, GH, a->in, TN, 1, sc->dg, GH, a->x, a->in, 0, dwx, a->in);
  int64_t first = d ? 0 : 1, t0 = step_time(r, d, 0);   /* steps whose h_prev is in y */
  if (!rc && r->T > 1)
    rc = rnn_gemm(c, dt, 1, 0, GH, H, (r->T - 1) * N, 1, AT(dgh, first * N * GH), GH,
                 AT(a->y, (1 - first) * N * ldy), ldy, 0, dwh, H);
  if (!rc)
    rc = rnn_gemm(c, dt, 1, 0, GH, H, N, 1, AT(dgh, t0 * N * GH), GH, a->hx, H, r->T > 1, dwh,
                 H);
  if (!rc) rc = col_sums(dt, sc->dg, TN, GH, lg->db, sc->acc);
  if (!rc && dgh != sc->dg) rc = col_sums(dt, dgh, TN, GH, AT(lg->db, GH), sc->acc);
  else if (!rc) memcpy(AT(lg->db, GH), lg->db, (size_t)GH * es);   /* the same sums */
  return rc;
}

/* the gradient of one layer: both directions, then through the dropout */
static mx_status layer_grad(const mx_op_ctx *c, const rnn_io *io, int l, const char *dy,
                            mx_ndarray *const *og, mx_ndarray *const *ig, const int *req,
                            rnn_scratch *sc, char *dx) {
  const rnn_dims *r = &io->r;
  size_t es = io->es;
  int64_t nh = r->N * r->H, gh = r->G * r->H;
  mx_status rc = MX_OK;
  for (int d = 0; d < r->D && !rc; d++) {
    lay a;
    lay_of(io, l, d, &a);
    int64_t k = (int64_t)l * r->D + d;
    lay_grad lg = {dy, og[1] ? AT(MX_PTR(og[1]), k * nh) : NULL,
                   og[2] ? AT(MX_PTR(og[2]), k * nh) : NULL, dx,
                   WANT(1) ? (char *)MX_PTR(ig[1]) + (a.wx - io->w) : NULL,
                   WANT(1) ? AT(MX_PTR(ig[1]), weights_size(r) + k * 2 * gh) : NULL,
                   WANT(2) ? AT(MX_PTR(ig[2]), k * nh) : NULL,
                   r->mode == M_LSTM && WANT(3) ? AT(MX_PTR(ig[3]), k * nh) : NULL};
    rc = layer_bwd(c, io, &a, d, &lg, sc);
  }
  if (!rc && l > 0 && r->drop) {
    int64_t n = r->T * r->N * r->D * r->H;
    rc = mul_mask(io->dt, dx, layer_out(io, l - 1, 1), dx, n);
  }
  return rc;
}

static mx_status b_rnn(BARGS) {
  UNUSED_BARGS;
  rnn_io io;
  rnn_scratch sc;
  mx_scratch s;
  void *pc[RB_N];
  mx_status rc = rnn_io_of(p, in, nin, out, &io);
  if (rc || (rc = rnn_scratch_open(c, &io, 1, &s, pc))) return rc;
  sc = (rnn_scratch){(char *)pc[RB_DG], (char *)pc[RB_DGH], (char *)pc[RB_DH], (char *)pc[RB_DC],
                     {(char *)pc[RB_DX0], (char *)pc[RB_DX1]}, (double *)pc[RB_ACC]};
  const rnn_dims *r = &io.r;
  const char *dy = og[0] ? (const char *)MX_PTR(og[0]) : NULL;
  for (int l = r->L - 1; l >= 0 && !rc; l--) {
    char *dx = l > 0 ? sc.dx[l % 2] : WANT(0) ? (char *)MX_PTR(ig[0]) : NULL;   /* NULL: not wanted */
    rc = layer_grad(c, &io, l, dy, og, ig, req, &sc, dx);
    dy = dx;
  }
  mx_scratch_close(&s);
  return rc;
}

/* the inputs, the output, the reserve and the visible outputs' gradients */
static void deps_rnn(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 1;
  for (int k = 0; k < nout; k++) {
    no[k] = k == 0 || k == 3;
    ng[k] = k < 3;
  }
}

/* The executor's per-node state of an RNN node is only ever set on a GPU:
 * a device block holding cuDNN's reserve space from forward to backward
 * when the reserve output (sized for the CPU) is too small for it
 * (src/cuda/rnn-cudnn.c). */
static void rnn_state_free(void *s) { mx_storage_release((mx_storage *)s); }

const mx_op mx_ops_rnn[] = {
  {.name = "RNN",
   .doc = "Fused recurrent layers (MXNet's RNN op): vanilla relu or tanh cells, LSTM (gates i, f, g, o) or GRU (gates r, z, n, cuDNN form), num_layers stacked, optionally bidirectional, with dropout p between layers in training. Data is (sequence, batch, input) in engine order [TNC]; parameters is one flat vector: every weight (i2h then h2h, layer by layer, direction by direction) followed by every bias in the same order; state (and state_cell for LSTM) hold the initial states (num_layers * directions, batch, state_size). With state_outputs the final states are outputs 2 and 3.",
   .num_inputs = 4, .input_names = in_rnn, .num_outputs = 4, .params = p_rnn,
   .num_params = MX_NPARAMS(p_rnn), .infer_shape = shape_rnn, .cpu = k_rnn, .backward = b_rnn,
   .flags = MX_OPF_RANDOM | MX_OPF_NO_MIRROR, .backward_deps = deps_rnn, .list_inputs = list_rnn,
   .num_visible_outputs = vis_rnn, .output_names = out_rnn, .workspace = ws_rnn,
   .state_free = rnn_state_free},
  {0},
};
