/*
 * conv-cudnn.c -- Convolution and Deconvolution on the GPU with cuDNN's
 * legacy API, forward and backward (data, weight, bias), 1-D (as H = 1)
 * and 2-D, groups, dilation, stride, padding, no_bias, with the CPU's
 * conventions (src/ops/nn-conv.c); supports() refuses an input, output or
 * filter of 2^31 elements or more (mx_dnn_conv_geom: cuDNN's legacy
 * descriptors take fewer).  A Deconvolution is the transpose of the
 * convolution whose input is its output: its forward is that convolution's
 * backward-data, its data gradient a forward, its weight gradient a
 * backward-filter with data and output gradient exchanged.
 *
 * Algorithms, per MXNet's cudnn_tune (unset: MXNET_CUDNN_AUTOTUNE_DEFAULT,
 * 1 by default, in executors -- calls with a per-node state slot -- and
 * 'off' in imperative calls):
 *   off                cudnnGet*Algorithm_v7 heuristics: the first algorithm
 *                      that needs at most `workspace` MB;
 *   limited_workspace  cudnnFind*AlgorithmEx on the call's own buffers with a
 *                      pool scratch of at most `workspace` MB: the fastest;
 *   fastest            the same with the largest workspace any algorithm asks
 *                      for (falls back to `workspace` MB when that is not free).
 * MXNET_ENFORCE_DETERMINISM=1 keeps only deterministic algorithms.  The
 * search runs with CUDNN_FMA_MATH for float32 when MXNET_CUDA_ALLOW_TF32_CONV
 * is off, else with CUDNN_DEFAULT_MATH (TF32 allowed for float32 on sm_80+;
 * float64 has no TF32, and DEFAULT keeps every double engine); afterwards
 * the descriptor takes the chosen algorithm's math type (FMA when strict).
 *
 * The choices and descriptors live in a process-wide cache keyed by a hash
 * of (geometry, dtype, device, tuning mode, workspace limit, TF32,
 * determinism): MXNet's algorithm registry.  The executor's per-node state
 * slot (c->state) belongs to the CPU op (its state_free), so it is not used
 * here; rebinding an executor with the same shapes finds its plans again.
 * Workspace: the executor's planned c->workspace when large enough, else a
 * block from the device pool returned once the work is queued; when the GPU
 * has no room for it even after the pool gave back its cache, that call runs
 * the first algorithm cuDNN's heuristics rank that needs none (warned once
 * per plan and operation) instead of failing.
 * Empty tensors never reach cuDNN (its descriptors refuse a zero
 * dimension): an output or gradient with elements whose sums have no term
 * (a batch of 0, no input channel) is written as 0, then the bias where
 * the CPU adds it; the bias gradient's own kernel gives 0 for a batch of 0.
 * UNVERIFIED on a GPU: compiled and linked only; descriptors and output
 * sizes are checked without a GPU by tools/cudnn-shape-check.
 */
#include "cudnn-desc.h"

#include <stdlib.h>
#include <string.h>

static mx_dnn_conv_ix cix, dix;     /* Convolution, Deconvolution */
static int autotune_default = 1;    /* MXNET_CUDNN_AUTOTUNE_DEFAULT   */
static int enforce_determinism = 0; /* MXNET_ENFORCE_DETERMINISM      */

static mx_status conv_ix_init(const char *op, int deconv, mx_dnn_conv_ix *ix) {
  struct { const char *key; int *slot; } keys[] = {
    {"kernel", &ix->kernel}, {"stride", &ix->stride}, {"dilate", &ix->dilate},
    {"pad", &ix->pad}, {"num_filter", &ix->num_filter}, {"num_group", &ix->num_group},
    {"workspace", &ix->workspace}, {"no_bias", &ix->no_bias}, {"cudnn_tune", &ix->cudnn_tune},
    {"cudnn_off", &ix->cudnn_off}, {"layout", &ix->layout},
    {"adj", &ix->adj}, {"target_shape", &ix->target}};
  struct { const char *key, *choice; int *slot; } choices[] = {
    {"cudnn_tune", "off", &ix->tune_off}, {"cudnn_tune", "limited_workspace", &ix->tune_limited},
    {"cudnn_tune", "fastest", &ix->tune_fastest}, {"layout", "NCW", &ix->layout_ncw},
    {"layout", "NCHW", &ix->layout_nchw}};
  int nkeys = deconv ? 13 : 11;   /* adj, target_shape: Deconvolution only */
  ix->adj = ix->target = -1;
  mx_status rc;
  for (int k = 0; k < nkeys; k++)
    if ((rc = mx_dnn_param(op, keys[k].key, keys[k].slot))) return rc;
  for (size_t k = 0; k < sizeof choices / sizeof choices[0]; k++)
    if ((rc = mx_dnn_choice(op, choices[k].key, choices[k].choice, choices[k].slot))) return rc;
  return MX_OK;
}

static int env_int(const char *name, int def) {
  const char *v = mx_host->getenv ? mx_host->getenv(name) : NULL;
  return v && *v ? atoi(v) : def;
}

mx_status mx_dnn_conv_init(void) {
  mx_status rc = conv_ix_init("Convolution", 0, &cix);
  if (rc) return rc;
  autotune_default = env_int("MXNET_CUDNN_AUTOTUNE_DEFAULT", 1);
  enforce_determinism = env_int("MXNET_ENFORCE_DETERMINISM", 0) != 0;
  return conv_ix_init("Deconvolution", 1, &dix);
}

/* ------------------------------------------------ the plan cache */

enum { OP_FWD, OP_BWD_DATA, OP_BWD_FILTER, NOPS };

#define KEY_LEN 24
typedef struct conv_plan {
  int64_t key[KEY_LEN];
  mx_dnn_conv_desc d;
  int have[NOPS], algo[NOPS], warned[NOPS];
  cudnnMathType_t math[NOPS];
  size_t ws[NOPS];
  struct conv_plan *next;
} conv_plan;

#define NBUCKET 256
#define MAX_PLANS 4096
static conv_plan *g_bucket[NBUCKET];
static int g_nplans;

void mx_dnn_conv_shutdown(void) {
  for (int b = 0; b < NBUCKET; b++) {
    while (g_bucket[b]) {
      conv_plan *pl = g_bucket[b];
      g_bucket[b] = pl->next;
      mx_dnn_conv_desc_free(&pl->d);
      free(pl);
    }
  }
  g_nplans = 0;
}

/* the tuning mode a call uses: 0 off, 1 limited_workspace, 2 fastest */
static int tune_mode(const mx_op_ctx *c, const mx_dnn_conv *g) {
  if (g->tune >= 0) return g->tune;
  if (!c->state) return 0;
  return autotune_default < 0 ? 0 : autotune_default > 2 ? 2 : autotune_default;
}

static int tf32_ok(const mx_op_ctx *c, int dt) {
  return dt == MX_FLOAT32 && mx_cuda_of(c)->allow_tf32_conv;
}

/* strict float32 (TF32 off): FMA_MATH keeps TF32 out; float64 has no TF32,
 * and DEFAULT_MATH keeps every double engine available */
static int fma_only(const mx_op_ctx *c, int dt) { return dt == MX_FLOAT32 && !tf32_ok(c, dt); }

static void make_key(const mx_op_ctx *c, const mx_dnn_conv *g, int dt, int64_t *k) {
  int64_t v[KEY_LEN] = {dt, mx_cuda_of(c)->id, tune_mode(c, g), g->ws_mb, tf32_ok(c, dt),
                        enforce_determinism, g->N, g->C, g->H, g->W, g->F, g->G, g->kh, g->kw,
                        g->sh, g->sw, g->dh, g->dw, g->ph, g->pw, g->Ho, g->Wo, 0, 0};
  memcpy(k, v, sizeof v);
}

static unsigned key_hash(const int64_t *k) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < KEY_LEN; i++) {
    h ^= (uint64_t)k[i];
    h *= 1099511628211ull;
  }
  return (unsigned)(h ^ (h >> 32)) % NBUCKET;
}

static mx_status plan_get(const mx_op_ctx *c, const mx_dnn_conv *g, int dt, conv_plan **out) {
  int64_t key[KEY_LEN];
  make_key(c, g, dt, key);
  unsigned b = key_hash(key);
  for (conv_plan *pl = g_bucket[b]; pl; pl = pl->next)
    if (!memcmp(pl->key, key, sizeof key)) {
      *out = pl;
      return MX_OK;
    }
  if (g_nplans >= MAX_PLANS) mx_dnn_conv_shutdown();   /* shapes keep changing: start over */
  conv_plan *pl = calloc(1, sizeof *pl);
  if (!pl) return mx_error(MX_ERR_NOMEM, "out of memory (convolution plan)");
  memcpy(pl->key, key, sizeof key);
  mx_status rc = mx_dnn_conv_desc_make(g, dt, &pl->d);
  if (rc) {
    free(pl);
    return rc;
  }
  pl->next = g_bucket[b];
  g_bucket[b] = pl;
  g_nplans++;
  *out = pl;
  return MX_OK;
}

/* ------------------------------------------------ algorithm choice */

/* the buffers of one operation: x, w, y (y / x are dy / dx in backward) */
typedef struct conv_bufs {
  const void *x, *w, *y;     /* inputs of the operation (by role)          */
  void *out;                 /* what it writes: y (fwd), x (bwd data), w (bwd filter) */
} conv_bufs;

/* one candidate from a heuristic or Find result */
typedef struct cand {
  int algo;
  cudnnStatus_t status;
  size_t memory;
  cudnnDeterminism_t det;
  cudnnMathType_t math;
} cand;

#define NCAND 16

/* copy the three result types into cands */
#define COPY_PERF(perf, n, cands)                                                      \
  for (int i_ = 0; i_ < (n); i_++) {                                                   \
    (cands)[i_].algo = (int)(perf)[i_].algo;                                           \
    (cands)[i_].status = (perf)[i_].status;                                            \
    (cands)[i_].memory = (perf)[i_].memory;                                            \
    (cands)[i_].det = (perf)[i_].determinism;                                          \
    (cands)[i_].math = (perf)[i_].mathType;                                            \
  }

static mx_status workspace_size(cudnnHandle_t h, const conv_plan *pl, int op, int algo,
                                size_t *out) {
  const mx_dnn_conv_desc *d = &pl->d;
  cudnnStatus_t e;
  if (op == OP_FWD)
    e = cudnnGetConvolutionForwardWorkspaceSize(h, d->x, d->w, d->conv, d->y,
                                                (cudnnConvolutionFwdAlgo_t)algo, out);
  else if (op == OP_BWD_DATA)
    e = cudnnGetConvolutionBackwardDataWorkspaceSize(h, d->w, d->y, d->conv, d->x,
                                                     (cudnnConvolutionBwdDataAlgo_t)algo, out);
  else
    e = cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d->x, d->y, d->conv, d->w,
                                                       (cudnnConvolutionBwdFilterAlgo_t)algo, out);
  return e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnGetConvolution*WorkspaceSize");
}

static int algo_count(int op) {
  return op == OP_FWD ? CUDNN_CONVOLUTION_FWD_ALGO_COUNT
         : op == OP_BWD_DATA ? CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT
                             : CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
}

/* cudnnGet*Algorithm_v7: ranked by cuDNN's heuristics */
static mx_status heuristics(cudnnHandle_t h, const conv_plan *pl, int op, cand *cands, int *n) {
  const mx_dnn_conv_desc *d = &pl->d;
  cudnnStatus_t e;
  if (op == OP_FWD) {
    cudnnConvolutionFwdAlgoPerf_t perf[NCAND];
    e = cudnnGetConvolutionForwardAlgorithm_v7(h, d->x, d->w, d->conv, d->y, NCAND, n, perf);
    if (e == CUDNN_STATUS_SUCCESS) COPY_PERF(perf, *n, cands);
  } else if (op == OP_BWD_DATA) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[NCAND];
    e = cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d->w, d->y, d->conv, d->x, NCAND, n, perf);
    if (e == CUDNN_STATUS_SUCCESS) COPY_PERF(perf, *n, cands);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[NCAND];
    e = cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d->x, d->y, d->conv, d->w, NCAND, n, perf);
    if (e == CUDNN_STATUS_SUCCESS) COPY_PERF(perf, *n, cands);
  }
  return e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnGetConvolution*Algorithm_v7");
}

/* cudnnFind*AlgorithmEx on the call's buffers and our scratch: timed */
static mx_status find_ex(cudnnHandle_t h, const conv_plan *pl, int op, const conv_bufs *b,
                         void *ws, size_t wsz, cand *cands, int *n) {
  const mx_dnn_conv_desc *d = &pl->d;
  cudnnStatus_t e;
  if (op == OP_FWD) {
    cudnnConvolutionFwdAlgoPerf_t perf[NCAND];
    e = cudnnFindConvolutionForwardAlgorithmEx(h, d->x, b->x, d->w, b->w, d->conv, d->y, b->out,
                                               NCAND, n, perf, ws, wsz);
    if (e == CUDNN_STATUS_SUCCESS) COPY_PERF(perf, *n, cands);
  } else if (op == OP_BWD_DATA) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[NCAND];
    e = cudnnFindConvolutionBackwardDataAlgorithmEx(h, d->w, b->w, d->y, b->y, d->conv, d->x,
                                                    b->out, NCAND, n, perf, ws, wsz);
    if (e == CUDNN_STATUS_SUCCESS) COPY_PERF(perf, *n, cands);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[NCAND];
    e = cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d->x, b->x, d->y, b->y, d->conv, d->w,
                                                      b->out, NCAND, n, perf, ws, wsz);
    if (e == CUDNN_STATUS_SUCCESS) COPY_PERF(perf, *n, cands);
  }
  return e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnFindConvolution*AlgorithmEx");
}

/* the largest workspace any algorithm of op asks for (failures ignored) */
static size_t max_workspace(cudnnHandle_t h, const conv_plan *pl, int op) {
  size_t mx = 0;
  for (int a = 0; a < algo_count(op); a++) {
    size_t s = 0;
    cudnnStatus_t e;
    const mx_dnn_conv_desc *d = &pl->d;
    if (op == OP_FWD)
      e = cudnnGetConvolutionForwardWorkspaceSize(h, d->x, d->w, d->conv, d->y,
                                                  (cudnnConvolutionFwdAlgo_t)a, &s);
    else if (op == OP_BWD_DATA)
      e = cudnnGetConvolutionBackwardDataWorkspaceSize(h, d->w, d->y, d->conv, d->x,
                                                       (cudnnConvolutionBwdDataAlgo_t)a, &s);
    else
      e = cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d->x, d->y, d->conv, d->w,
                                                         (cudnnConvolutionBwdFilterAlgo_t)a, &s);
    if (e == CUDNN_STATUS_SUCCESS && s > mx) mx = s;
  }
  return mx;
}

/* Run the search of one operation with the scratch it may use. */
static mx_status search(const mx_op_ctx *c, cudnnHandle_t h, conv_plan *pl, int op, int mode,
                        size_t limit, const conv_bufs *b, cand *cands, int *n, size_t *avail) {
  if (mode == 0) {
    *avail = limit;
    return heuristics(h, pl, op, cands, n);
  }
  size_t want = max_workspace(h, pl, op);
  if (mode == 1 && want > limit) want = limit;
  mx_scratch sc;
  mx_status rc = mx_host->scratch_open(c, want, &sc);
  if (rc == MX_ERR_NOMEM && mode == 2 && want > limit) {   /* fastest: fall back to the limit */
    want = limit;
    rc = mx_host->scratch_open(c, want, &sc);
  }
  if (rc) return rc;
  *avail = want;
  rc = find_ex(h, pl, op, b, sc.base, want, cands, n);
  mx_host->scratch_close(&sc);
  return rc;
}

static mx_status choose(const mx_op_ctx *c, cudnnHandle_t h, conv_plan *pl, const mx_dnn_conv *g,
                        int dt, int op, const conv_bufs *b) {
  int mode = tune_mode(c, g), fma = fma_only(c, dt);
  size_t limit = g->ws_mb > 0 ? (size_t)g->ws_mb << 20 : 0;
  MX_CUDNN_TRY(cudnnSetConvolutionMathType(pl->d.conv, fma ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH));
  cand cands[NCAND];
  int n = 0;
  size_t avail = 0;
  mx_status rc = search(c, h, pl, op, mode, limit, b, cands, &n, &avail);
  if (rc) return rc;
  for (int i = 0; i < n; i++) {
    const cand *k = &cands[i];
    if (k->status != CUDNN_STATUS_SUCCESS || k->memory > avail) continue;
    if (enforce_determinism && k->det != CUDNN_DETERMINISTIC) continue;
    cudnnMathType_t math = fma ? CUDNN_FMA_MATH : k->math;
    MX_CUDNN_TRY(cudnnSetConvolutionMathType(pl->d.conv, math));
    size_t ws = 0;
    if (workspace_size(h, pl, op, k->algo, &ws) || ws > avail)
      continue;
    pl->algo[op] = k->algo;
    pl->math[op] = math;
    pl->ws[op] = ws;
    pl->have[op] = 1;
    return MX_OK;
  }
  return mx_error(MX_ERR_UNSUPPORTED, "cuDNN offers no %s%s algorithm within the workspace limit "
                  "of %lld MB for this convolution (raise 'workspace' or use cudnn_tune)",
                  enforce_determinism ? "deterministic " : "",
                  op == OP_FWD ? "forward" : op == OP_BWD_DATA ? "data-gradient" : "weight-gradient",
                  (long long)g->ws_mb);
}

/* The GPU has no room for the chosen algorithm's workspace even after the
 * pool gave back its cache: the first algorithm cuDNN's heuristics rank that
 * needs none (a deterministic one under MXNET_ENFORCE_DETERMINISM), for this
 * call only, with a warning the first time for this plan. */
static mx_status no_workspace(cudnnHandle_t h, conv_plan *pl, int op, int *algo) {
  cand cands[NCAND];
  int n = 0;
  mx_status rc = heuristics(h, pl, op, cands, &n);
  for (int i = 0; i < n && !rc; i++) {
    size_t ws = 1;
    if (cands[i].status != CUDNN_STATUS_SUCCESS || cands[i].memory > 0) continue;
    if (enforce_determinism && cands[i].det != CUDNN_DETERMINISTIC) continue;
    if (workspace_size(h, pl, op, cands[i].algo, &ws) || ws > 0) continue;
    if (!pl->warned[op] && mx_host->log)
      mx_host->log(MX_LOG_WARN, "mxnet: a convolution's %s runs an algorithm without workspace: "
                   "the GPU has no room for the %lld MB its usual one needs",
                   op == OP_FWD ? "forward" : op == OP_BWD_DATA ? "data gradient" : "weight gradient",
                   (long long)(pl->ws[op] >> 20));
    pl->warned[op] = 1;
    *algo = cands[i].algo;
    return MX_OK;
  }
  return rc ? rc : MX_ERR_NOMEM;
}

/* ------------------------------------------------ running one operation */

/* elements of x (N, C, H, W), w (F, C / G, kh, kw) or y (N, F, Ho, Wo) */
static int64_t x_count(const mx_dnn_conv *g) { return g->N * g->C * g->H * g->W; }
static int64_t w_count(const mx_dnn_conv *g) { return g->F * (g->C / g->G) * g->kh * g->kw; }
static int64_t y_count(const mx_dnn_conv *g) { return g->N * g->F * g->Ho * g->Wo; }

/* the elements operation op writes: y (forward), x (backward data), w
 * (backward filter) */
static int64_t out_count(const mx_dnn_conv *g, int op) {
  return op == OP_FWD ? y_count(g) : op == OP_BWD_DATA ? x_count(g) : w_count(g);
}

/* Run operation op of g into b->out.  Each operation sums products of the
 * other two tensors, so when one of them is empty (a batch of 0, no input
 * channel) the result is 0, as on the CPU; cuDNN, whose descriptors refuse
 * a zero dimension, never sees such a call.  An empty output: nothing. */
static mx_status run_op(const mx_op_ctx *c, const mx_dnn_conv *g, int dt, int op,
                        const conv_bufs *b) {
  int64_t n = out_count(g, op);
  if (n == 0) return MX_OK;
  if (x_count(g) == 0 || w_count(g) == 0 || y_count(g) == 0)
    return mx_cu_fill(mx_cuda_of(c)->stream, b->out, dt, n, 0.0);
  cudnnHandle_t h;
  mx_status rc = mx_cuda_cudnn(mx_cuda_of(c), &h);
  if (rc) return rc;
  conv_plan *pl = NULL;
  if ((rc = plan_get(c, g, dt, &pl))) return rc;
  if (!pl->have[op] && (rc = choose(c, h, pl, g, dt, op, b))) return rc;
  MX_CUDNN_TRY(cudnnSetConvolutionMathType(pl->d.conv, pl->math[op]));
  mx_scratch sc;
  int algo = pl->algo[op];
  size_t ws = pl->ws[op];
  if ((rc = mx_host->scratch_open(c, ws, &sc)) == MX_ERR_NOMEM && ws > 0 &&
      no_workspace(h, pl, op, &algo) == MX_OK) {
    ws = 0;
    rc = mx_host->scratch_open(c, 0, &sc);
  }
  if (rc) return rc;
  float af = 1, bf = 0;
  double ad = 1, bd = 0;
  const void *al = dt == MX_FLOAT64 ? (const void *)&ad : (const void *)&af;
  const void *be = dt == MX_FLOAT64 ? (const void *)&bd : (const void *)&bf;
  const mx_dnn_conv_desc *d = &pl->d;
  cudnnStatus_t e;
  if (op == OP_FWD)
    e = cudnnConvolutionForward(h, al, d->x, b->x, d->w, b->w, d->conv,
                                (cudnnConvolutionFwdAlgo_t)algo, sc.base, ws, be, d->y, b->out);
  else if (op == OP_BWD_DATA)
    e = cudnnConvolutionBackwardData(h, al, d->w, b->w, d->y, b->y, d->conv,
                                     (cudnnConvolutionBwdDataAlgo_t)algo, sc.base, ws, be, d->x,
                                     b->out);
  else
    e = cudnnConvolutionBackwardFilter(h, al, d->x, b->x, d->y, b->y, d->conv,
                                       (cudnnConvolutionBwdFilterAlgo_t)algo, sc.base, ws, be,
                                       d->w, b->out);
  mx_host->scratch_close(&sc);
  return e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnConvolution*");
}

static mx_status geom(const mx_param_value *p, int deconv, const mx_shape *data, mx_dnn_conv *g) {
  const char *why = "";
  if (mx_dnn_conv_geom(p, deconv ? &dix : &cix, deconv, data, g, &why))
    return mx_error(MX_ERR_UNSUPPORTED, "%s on the GPU: %s", deconv ? "Deconvolution" : "Convolution", why);
  return MX_OK;
}

static int supports(const mx_param_value *p, int deconv, const mx_shape *in, const char **why) {
  mx_dnn_conv g;
  return mx_dnn_conv_geom(p, deconv ? &dix : &cix, deconv, &in[0], &g, why) == 0;
}

int mx_dnn_conv_supports(const mx_param_value *p, int nin, const mx_shape *in, const int *dt,
                         const char **why) {
  (void)nin; (void)dt;
  return supports(p, 0, in, why);
}

int mx_dnn_deconv_supports(const mx_param_value *p, int nin, const mx_shape *in, const int *dt,
                           const char **why) {
  (void)nin; (void)dt;
  return supports(p, 1, in, why);
}

/* ------------------------------------------------ Convolution */

mx_status mx_dnn_conv_fwd(KARGS) {
  (void)nin; (void)nout; (void)req;
  mx_dnn_conv g;
  mx_status rc = geom(p, 0, &in[0]->shape, &g);
  if (rc) return rc;
  int dt = out[0]->dtype;
  conv_bufs b = {MX_PTR(in[0]), MX_PTR(in[1]), NULL, MX_PTR(out[0])};
  if ((rc = run_op(c, &g, dt, OP_FWD, &b))) return rc;
  if (g.no_bias) return MX_OK;
  return mx_dnn_bias_add(mx_cuda_of(c)->stream, dt, MX_PTR(out[0]), MX_PTR(in[2]), g.N, g.F,
                         g.Ho * g.Wo);
}

mx_status mx_dnn_conv_bwd(BARGS) {
  (void)nout; (void)nin; (void)out;
  mx_dnn_conv g;
  mx_status rc = geom(p, 0, &in[0]->shape, &g);
  if (rc) return rc;
  int dt = og[0]->dtype;
  if (mx_dnn_want(ig[0], req, 0)) {   /* dx = backward data of dy with w */
    conv_bufs b = {NULL, MX_PTR(in[1]), MX_PTR(og[0]), MX_PTR(ig[0])};
    if ((rc = run_op(c, &g, dt, OP_BWD_DATA, &b))) return rc;
  }
  if (mx_dnn_want(ig[1], req, 1)) {   /* dw = backward filter of x and dy */
    conv_bufs b = {MX_PTR(in[0]), NULL, MX_PTR(og[0]), MX_PTR(ig[1])};
    if ((rc = run_op(c, &g, dt, OP_BWD_FILTER, &b))) return rc;
  }
  if (!g.no_bias && mx_dnn_want(ig[2], req, 2))
    rc = mx_dnn_bias_grad(mx_cuda_of(c)->stream, dt, MX_PTR(ig[2]), MX_PTR(og[0]), g.N, g.F,
                          g.Ho * g.Wo);
  return rc;
}

/* ------------------------------------------------ Deconvolution */

mx_status mx_dnn_deconv_fwd(KARGS) {
  (void)nin; (void)nout; (void)req;
  mx_dnn_conv g;
  mx_status rc = geom(p, 1, &in[0]->shape, &g);
  if (rc) return rc;
  int dt = out[0]->dtype;
  /* output = the convolution's data gradient of the input */
  conv_bufs b = {NULL, MX_PTR(in[1]), MX_PTR(in[0]), MX_PTR(out[0])};
  if ((rc = run_op(c, &g, dt, OP_BWD_DATA, &b))) return rc;
  if (g.no_bias) return MX_OK;
  return mx_dnn_bias_add(mx_cuda_of(c)->stream, dt, MX_PTR(out[0]), MX_PTR(in[2]), g.N, g.C,
                         g.H * g.W);
}

mx_status mx_dnn_deconv_bwd(BARGS) {
  (void)nout; (void)nin; (void)out;
  mx_dnn_conv g;
  mx_status rc = geom(p, 1, &in[0]->shape, &g);
  if (rc) return rc;
  int dt = og[0]->dtype;
  if (mx_dnn_want(ig[0], req, 0)) {   /* data gradient = convolution of dy */
    conv_bufs b = {MX_PTR(og[0]), MX_PTR(in[1]), NULL, MX_PTR(ig[0])};
    if ((rc = run_op(c, &g, dt, OP_FWD, &b))) return rc;
  }
  if (mx_dnn_want(ig[1], req, 1)) {   /* weight gradient: x = dy, dy = data */
    conv_bufs b = {MX_PTR(og[0]), NULL, MX_PTR(in[0]), MX_PTR(ig[1])};
    if ((rc = run_op(c, &g, dt, OP_BWD_FILTER, &b))) return rc;
  }
  if (!g.no_bias && mx_dnn_want(ig[2], req, 2))
    rc = mx_dnn_bias_grad(mx_cuda_of(c)->stream, dt, MX_PTR(ig[2]), MX_PTR(og[0]), g.N, g.C,
                          g.H * g.W);
  return rc;
}
