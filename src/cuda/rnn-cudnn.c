/*
 * rnn-cudnn.c -- the fused RNN op (src/ops/rnn.c: vanilla relu/tanh, LSTM,
 * GRU; layers; one or two directions; dropout between layers; initial and
 * final states) on the GPU with cuDNN 9's RNN API (cudnnRNNForward,
 * cudnnRNNBackwardData_v8, cudnnRNNBackwardWeights_v8).
 *
 *  - Cells: cuDNN's formulas are the CPU's (LSTM gates i, f, g, o; GRU gates
 *    r, z, n with r applied to Un h + cn; two bias vectors per gate,
 *    CUDNN_RNN_DOUBLE_BIAS).
 *  - Weights: the op's flat parameter vector keeps the CPU (MXNet) layout.
 *    Each call asks cudnnGetRNNWeightParams where cuDNN puts every gate's
 *    matrix and bias (a gate's matrix is H rows of the layer's input width,
 *    row-major, in both).  When that is where the flat vector has them
 *    (MXNet 1.9.1 passed this vector to cuDNN's legacy API as its
 *    weights), the op's arrays are cuDNN's weight and weight-gradient
 *    spaces; otherwise each call copies them into a weight space and
 *    backward copies the weight gradient back out.  The weight
 *    spaces, cuDNN's workspace and the sequence lengths are the call's
 *    scratch (the planned workspace, else a pool block).
 *  - Data: (T, N, I) sequence-major with every sequence T long
 *    (CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED); states (L*D, N, H).
 *  - Forward with is_train runs cuDNN's training mode, whose reserve space
 *    backward reads: the op's hidden `reserve` output when it is large
 *    enough (its size is the CPU's, from infer_shape, which cannot ask
 *    cuDNN), else a device block kept in the executor's per-node state slot
 *    (released by the op's state_free), else (an imperative call, which has
 *    no backward) a scratch block.  Without is_train: inference mode; a
 *    backward after it (the CPU differentiates that forward too) first runs
 *    a training forward without dropout into scratch for its reserve space.
 *  - Dropout (p in (0, 1), more than one layer, training): cuDNN's dropout
 *    between layers, from one dropout state per device (created at first
 *    use with the call's seed, cudnnRestoreDropoutDescriptor for another
 *    p).  Its masks are cuDNN's own random numbers, not the CPU's, and
 *    mx.set.seed does not restart them.
 *  - Math: float32 in strict FMA math unless MXNET_CUDA_ALLOW_TF32_GEMM=1
 *    (as FullyConnected), float64 in double.
 * UNVERIFIED on a GPU: compiled and linked only.
 */
#include "cudnn-desc.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 256

static int rn_size = -1, rn_layers, rn_bidir, rn_mode, rn_p;
static int m_relu, m_tanh, m_lstm, m_gru;   /* choices of 'mode' */

mx_status mx_dnn_rnn_init(void) {
  struct { const char *key; int *slot; } keys[] = {
    {"state_size", &rn_size}, {"num_layers", &rn_layers}, {"bidirectional", &rn_bidir},
    {"mode", &rn_mode}, {"p", &rn_p}};
  struct { const char *choice; int *slot; } modes[] = {
    {"rnn_relu", &m_relu}, {"rnn_tanh", &m_tanh}, {"lstm", &m_lstm}, {"gru", &m_gru}};
  mx_status rc;
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    if ((rc = mx_dnn_param("RNN", keys[k].key, keys[k].slot))) return rc;
  for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++)
    if ((rc = mx_dnn_choice("RNN", "mode", modes[k].choice, modes[k].slot))) return rc;
  return MX_OK;
}

/* ------------------------------------------------ geometry */

typedef struct rnn_geo {
  int lstm, L, D, G, dt, cdt;
  cudnnRNNMode_t cell;
  int64_t T, N, I, H;
  double p;
} rnn_geo;

static int geo_of(const mx_param_value *p, const mx_shape *x, int dt, rnn_geo *g, const char **why) {
  int64_t mode = p[rn_mode].i;
  if (x->ndim != 3) { *why = "data must be 3-D (sequence, batch, input)"; return -1; }
  g->lstm = mode == m_lstm;
  g->cell = mode == m_lstm ? CUDNN_LSTM : mode == m_gru ? CUDNN_GRU
            : mode == m_relu ? CUDNN_RNN_RELU : CUDNN_RNN_TANH;
  g->G = mode == m_lstm ? 4 : mode == m_gru ? 3 : 1;
  g->L = (int)p[rn_layers].i;
  g->D = p[rn_bidir].i ? 2 : 1;
  g->H = p[rn_size].i;
  g->T = x->d[0];
  g->N = x->d[1];
  g->I = x->d[2];
  g->p = p[rn_p].f;
  g->dt = dt;
  g->cdt = mx_dnn_cudnn_dtype(dt);
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64) { *why = "RNN runs in float32 or float64"; return -1; }
  if (g->T < 1 || g->N < 1 || g->I < 1 || g->H < 1 || g->L < 1) { *why = "an empty sequence"; return -1; }
  if (g->L > 1 && !(g->p >= 0 && g->p < 1)) { *why = "the dropout rate p must be in [0, 1)"; return -1; }
  if (g->T > INT_MAX || g->N > INT_MAX || g->I > INT_MAX || g->H > INT_MAX ||
      g->N * g->H * g->L * g->D > INT_MAX) {
    *why = "a dimension exceeds cuDNN's int range";
    return -1;
  }
  return 0;
}

int mx_dnn_rnn_supports(const mx_param_value *p, int nin, const mx_shape *in, const int *dt,
                        const char **why) {
  (void)nin;
  rnn_geo g;
  return geo_of(p, &in[0], dt[0], &g, why) == 0;
}

/* dropout between layers in this call */
static int dropping(const mx_op_ctx *c, const rnn_geo *g) { return c->is_train && g->p > 0 && g->L > 1; }

/* ------------------------------------------------ dropout state per device */

typedef struct drop_state {
  cudnnDropoutDescriptor_t desc;
  void *states;
  size_t bytes;
  float p;
} drop_state;

static drop_state g_drop[MX_CUDA_MAX_DEV];

static void drop_free(drop_state *s) {
  if (s->desc) (void)cudnnDestroyDropoutDescriptor(s->desc);
  if (s->states) (void)cudaFree(s->states);
  memset(s, 0, sizeof *s);
}

/* Before unload: each device's states freed on that device (cudaFree
 * waits for the device's work). */
void mx_dnn_rnn_shutdown(void) {
  for (int k = 0; k < MX_CUDA_MAX_DEV; k++) {
    if (!g_drop[k].desc && !g_drop[k].states) continue;
    (void)cudaSetDevice(k);
    drop_free(&g_drop[k]);
  }
  (void)cudaGetLastError();
}

/* A dropout descriptor at rate p with its own states, built in *s only on
 * success (a failure frees what it made). */
static mx_status drop_make(cudnnHandle_t h, float p, unsigned long long seed, drop_state *s) {
  drop_state t;
  memset(&t, 0, sizeof t);
  cudnnStatus_t e = cudnnCreateDropoutDescriptor(&t.desc);
  if (e == CUDNN_STATUS_SUCCESS) e = cudnnDropoutGetStatesSize(h, &t.bytes);
  mx_status rc = e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnDropoutGetStatesSize");
  if (!rc) {
    cudaError_t ce = cudaMalloc(&t.states, t.bytes);
    if (ce != cudaSuccess) rc = mx_cuda_check(ce, "cudaMalloc (RNN dropout states)");
  }
  if (!rc && (e = cudnnSetDropoutDescriptor(t.desc, h, p, t.states, t.bytes, seed)))
    rc = mx_cudnn_check(e, "cudnnSetDropoutDescriptor");
  if (rc) {
    drop_free(&t);
    return rc;
  }
  t.p = p;
  *s = t;
  return MX_OK;
}

/* The device's dropout descriptor at rate p.  First use makes its states
 * (seeded with the call's seed; when the GPU is out of memory, again after
 * the engine's pool gives back its cached blocks); another p restores it. */
static mx_status drop_get(const mx_op_ctx *c, cudnnHandle_t h, float p, cudnnDropoutDescriptor_t *out) {
  int dev = mx_cuda_of(c)->id;
  if (dev < 0 || dev >= MX_CUDA_MAX_DEV) return mx_error(MX_ERR_DEVICE, "RNN dropout on gpu(%d): too many devices", dev);
  drop_state *s = &g_drop[dev];
  unsigned long long seed = (unsigned long long)c->rng.seed;
  if (!s->desc) {
    mx_status rc = drop_make(h, p, seed, s);
    if (rc == MX_ERR_NOMEM) {
      mx_cuda_pool_give_back(dev);
      rc = drop_make(h, p, seed, s);
    }
    if (rc) return rc;
  } else if (s->p != p) {
    MX_CUDNN_TRY(cudnnRestoreDropoutDescriptor(s->desc, h, p, s->states, s->bytes, seed));
    s->p = p;
  }
  *out = s->desc;
  return MX_OK;
}

/* ------------------------------------------------ descriptors */

typedef struct rnn_desc {
  cudnnRNNDescriptor_t rnn;
  cudnnRNNDataDescriptor_t x, y;
  cudnnTensorDescriptor_t h, m, b;    /* states; a gate's matrix and bias */
  cudnnDropoutDescriptor_t nodrop;    /* rate 0 (no states)               */
  size_t wbytes, work, reserve;       /* cuDNN's sizes                     */
} rnn_desc;

static void desc_free(rnn_desc *d) {
  if (d->rnn) (void)cudnnDestroyRNNDescriptor(d->rnn);
  if (d->x) (void)cudnnDestroyRNNDataDescriptor(d->x);
  if (d->y) (void)cudnnDestroyRNNDataDescriptor(d->y);
  if (d->h) (void)cudnnDestroyTensorDescriptor(d->h);
  if (d->m) (void)cudnnDestroyTensorDescriptor(d->m);
  if (d->b) (void)cudnnDestroyTensorDescriptor(d->b);
  if (d->nodrop) (void)cudnnDestroyDropoutDescriptor(d->nodrop);
}

/* (T, N, width) sequence-major data, every sequence T long */
static mx_status data_desc(cudnnRNNDataDescriptor_t *d, const rnn_geo *g, int64_t width) {
  int *lens = (int *)malloc((size_t)g->N * sizeof(int));
  if (!lens) return mx_error(MX_ERR_NOMEM, "out of memory (RNN sequence lengths)");
  for (int64_t k = 0; k < g->N; k++) lens[k] = (int)g->T;
  cudnnStatus_t st = cudnnCreateRNNDataDescriptor(d);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnSetRNNDataDescriptor(*d, (cudnnDataType_t)g->cdt, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED,
                                   (int)g->T, (int)g->N, (int)width, lens, NULL);
  free(lens);
  return st == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(st, "cudnnSetRNNDataDescriptor");
}

static mx_status desc_make(const mx_op_ctx *c, cudnnHandle_t h, const rnn_geo *g, int train,
                           rnn_desc *d) {
  memset(d, 0, sizeof *d);
  mx_status rc;
  cudnnDropoutDescriptor_t drop = NULL;
  if (dropping(c, g)) {
    if ((rc = drop_get(c, h, (float)g->p, &drop))) return rc;
  } else {
    MX_CUDNN_TRY(cudnnCreateDropoutDescriptor(&d->nodrop));
    MX_CUDNN_TRY(cudnnSetDropoutDescriptor(d->nodrop, h, 0.0f, NULL, 0, 0));
    drop = d->nodrop;
  }
  /* float32: FMA only (no TF32) unless allowed; float64 has no tensor-core math */
  cudnnMathType_t math = g->dt == MX_FLOAT32 && !mx_cuda_of(c)->allow_tf32_gemm ? CUDNN_FMA_MATH
                                                                                  : CUDNN_DEFAULT_MATH;
  MX_CUDNN_TRY(cudnnCreateRNNDescriptor(&d->rnn));
  MX_CUDNN_TRY(cudnnSetRNNDescriptor_v8(
      d->rnn, CUDNN_RNN_ALGO_STANDARD, g->cell, CUDNN_RNN_DOUBLE_BIAS,
      g->D == 2 ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT,
      (cudnnDataType_t)g->cdt, (cudnnDataType_t)g->cdt, math, (int32_t)g->I, (int32_t)g->H,
      (int32_t)g->H, g->L, drop, CUDNN_RNN_PADDED_IO_DISABLED));
  if ((rc = data_desc(&d->x, g, g->I))) return rc;
  if ((rc = data_desc(&d->y, g, g->D * g->H))) return rc;
  int dims[3] = {g->L * g->D, (int)g->N, (int)g->H};
  int strides[3] = {(int)(g->N * g->H), (int)g->H, 1};
  MX_CUDNN_TRY(cudnnCreateTensorDescriptor(&d->h));
  MX_CUDNN_TRY(cudnnSetTensorNdDescriptor(d->h, (cudnnDataType_t)g->cdt, 3, dims, strides));
  MX_CUDNN_TRY(cudnnCreateTensorDescriptor(&d->m));
  MX_CUDNN_TRY(cudnnCreateTensorDescriptor(&d->b));
  MX_CUDNN_TRY(cudnnGetRNNWeightSpaceSize(h, d->rnn, &d->wbytes));
  MX_CUDNN_TRY(cudnnGetRNNTempSpaceSizes(h, d->rnn, train ? CUDNN_FWD_MODE_TRAINING
                                                          : CUDNN_FWD_MODE_INFERENCE,
                                         d->x, &d->work, &d->reserve));
  return MX_OK;
}

/* ------------------------------------------------ weights */

/* Elements of a cuDNN matrix or bias descriptor. */
static mx_status desc_elems(cudnnTensorDescriptor_t t, int64_t *n) {
  cudnnDataType_t dt;
  int nd = 0, dims[8], strides[8];
  MX_CUDNN_TRY(cudnnGetTensorNdDescriptor(t, 8, &dt, &nd, dims, strides));
  *n = 1;
  for (int k = 0; k < nd; k++) *n *= dims[k];
  return MX_OK;
}

/* What weights_walk does with each gate's matrix and bias. */
enum { W_TO_SPACE, W_FROM_SPACE, W_CHECK };

/* Every gate's matrix and bias, between the op's flat vector `flat`
 * (src/ops/rnn.c's layout: all weights, layer by layer and direction by
 * direction, i2h (G H, in) then h2h (G H, H); then all biases in the same
 * order) and cuDNN's weight space `space`: copied into the space
 * (W_TO_SPACE) or out of it (W_FROM_SPACE); or (W_CHECK, space = flat)
 * *same = whether cuDNN puts each of them where the flat vector has it. */
static mx_status weights_walk(cudnnHandle_t h, cudaStream_t st, const rnn_geo *g, const rnn_desc *d,
                              char *flat, char *space, int mode, int *same) {
  size_t es = mx_cu_dtype_size(g->dt);
  int64_t GH = g->G * g->H, woff = 0, wall = 0;
  for (int l = 0; l < g->L; l++) wall += g->D * GH * ((l ? g->D * g->H : g->I) + g->H);
  if (same) *same = d->wbytes <= (size_t)(wall + (int64_t)g->L * g->D * 2 * GH) * es;
  for (int l = 0; l < g->L; l++) {
    int64_t in = l ? g->D * g->H : g->I;
    for (int dir = 0; dir < g->D; dir++) {
      int k = l * g->D + dir;
      int64_t boff = wall + (int64_t)k * 2 * GH;
      for (int id = 0; id < 2 * g->G; id++) {
        int rec = id >= g->G, gate = rec ? id - g->G : id;
        int64_t cols = rec ? g->H : in;
        int64_t mo = woff + (rec ? GH * in : 0) + gate * g->H * cols;
        int64_t bo = boff + (rec ? GH : 0) + gate * g->H;
        void *ma = NULL, *ba = NULL;
        int64_t mn, bn;
        MX_CUDNN_TRY(cudnnGetRNNWeightParams(h, d->rnn, k, d->wbytes, space, id, d->m, &ma, d->b, &ba));
        mx_status rc = desc_elems(d->m, &mn);
        if (!rc) rc = desc_elems(d->b, &bn);
        if (rc) return rc;
        if (!ma || !ba || mn != g->H * cols || bn != g->H)
          return mx_error(MX_ERR_INTERNAL, "RNN on the GPU: cuDNN's weight %d of layer %d holds %lld "
                          "values and its bias %lld, expected %lld and %lld", id, k, (long long)mn,
                          (long long)bn, (long long)(g->H * cols), (long long)g->H);
        char *fm = flat + (size_t)mo * es, *fb = flat + (size_t)bo * es;
        if (mode == W_CHECK) {
          *same = *same && ma == (void *)fm && ba == (void *)fb;
          continue;
        }
        int in_space = mode == W_TO_SPACE;
        size_t mb = (size_t)mn * es, bb = (size_t)bn * es;
        MX_CUDA_TRY(cudaMemcpyAsync(in_space ? ma : fm, in_space ? fm : ma, mb, cudaMemcpyDeviceToDevice, st));
        MX_CUDA_TRY(cudaMemcpyAsync(in_space ? ba : fb, in_space ? fb : ba, bb, cudaMemcpyDeviceToDevice, st));
      }
      woff += GH * (in + g->H);
    }
  }
  return MX_OK;
}

/* ------------------------------------------------ scratch and reserve */

static size_t up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

/* The call's scratch, carved in order: weight space, weight-gradient space
 * (backward; neither when cuDNN's layout is the op's, `direct`), cuDNN's
 * workspace, sequence lengths, then `extra` bytes. */
typedef struct rnn_parts {
  mx_scratch sc;
  char *w, *dw, *work, *extra;
  int32_t *lens;
} rnn_parts;

static mx_status parts_open(const mx_op_ctx *c, const rnn_geo *g, const rnn_desc *d, int backward,
                            int direct, size_t extra, rnn_parts *s) {
  memset(s, 0, sizeof *s);
  size_t lens = up((size_t)g->N * sizeof(int32_t)), ws = direct ? 0 : up(d->wbytes);
  size_t need = ws * (backward ? 2 : 1) + up(d->work) + lens + up(extra);
  mx_status rc = mx_host->scratch_open(c, need, &s->sc);
  if (rc) return rc;
  char *p = s->sc.base;
  s->w = p;
  p += ws;
  if (backward) {
    s->dw = p;
    p += ws;
  }
  s->work = p;
  p += up(d->work);
  s->lens = (int32_t *)p;
  p += lens;
  s->extra = extra ? p : NULL;
  return mx_cu_fill(mx_cuda_of(c)->stream, s->lens, MX_INT32, g->N, (double)g->T);
}

/* Where training keeps cuDNN's reserve space: the reserve output when it
 * is large enough, else the node's state block (grown here when forward),
 * else NULL (an imperative call: the caller takes scratch). */
static mx_status reserve_of(const mx_op_ctx *c, mx_ndarray *res, size_t need, int forward, void **out) {
  size_t have = res ? (size_t)mx_cu_size(&res->shape) * mx_cu_dtype_size(res->dtype) : 0;
  *out = NULL;
  if (need <= have) {
    *out = MX_PTR(res);
    return MX_OK;
  }
  if (!c->state) return MX_OK;
  mx_storage *s = (mx_storage *)*c->state;
  if (forward && (!s || s->bytes < need)) {
    if (s) mx_host->storage_release(s);
    *c->state = NULL;
    mx_status rc = mx_host->storage_alloc(need, c->ctx, &s);
    if (rc) return rc;
    *c->state = s;
  }
  if (!s || s->bytes < need)
    return mx_error(MX_ERR_INTERNAL, "RNN backward on the GPU found no reserve space of its forward "
                    "(backward needs a forward with is.train = TRUE first)");
  *out = s->data;
  return MX_OK;
}

/* ------------------------------------------------ forward */

/* the initial cell state: LSTM only, and optional */
static const void *cx_of(const rnn_geo *g, mx_ndarray *const *in, int nin) {
  return g->lstm && nin > 3 ? MX_PTR(in[3]) : NULL;
}

/* cudnnRNNForward on the op's inputs and the call's scratch s, into y, hy
 * and cy (NULL: not kept; cy is NULL unless LSTM); training mode when it
 * keeps a reserve space. */
static mx_status fwd_call(cudnnHandle_t h, const rnn_geo *g, const rnn_desc *d,
                          mx_ndarray *const *in, int nin, const rnn_parts *s, void *y, void *hy,
                          void *cy, void *reserve) {
  cudnnStatus_t e = cudnnRNNForward(
      h, d->rnn, reserve ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE, s->lens, d->x,
      MX_PTR(in[0]), d->y, y, d->h, MX_PTR(in[2]), hy, d->h, cx_of(g, in, nin), g->lstm ? cy : NULL,
      d->wbytes, s->w, d->work, s->work, reserve ? d->reserve : 0, reserve);
  return e == CUDNN_STATUS_SUCCESS ? MX_OK : mx_cudnn_check(e, "cudnnRNNForward");
}

/* cuDNN's direct use of the op's flat weight vector (and, backward, of its
 * gradient): its layout must be the op's and the arrays aligned as pool
 * blocks are, since they may be views */
static mx_status direct_of(cudnnHandle_t h, cudaStream_t st, const rnn_geo *g, const rnn_desc *d,
                           char *flat, const void *dflat, int *direct) {
  mx_status rc = weights_walk(h, st, g, d, flat, flat, W_CHECK, direct);
  if (((uintptr_t)flat | (uintptr_t)dflat) % 16) *direct = 0;
  return rc;
}

static mx_status fwd_run(const mx_op_ctx *c, cudnnHandle_t h, const rnn_geo *g, const rnn_desc *d,
                         mx_ndarray *const *in, int nin, mx_ndarray *const *out) {
  int train = c->is_train;
  void *reserve = NULL;
  mx_status rc = train ? reserve_of(c, out[3], d->reserve, 1, &reserve) : MX_OK;
  if (rc) return rc;
  cudaStream_t st = mx_cuda_of(c)->stream;
  char *flat = (char *)MX_PTR(in[1]);
  int direct;
  if ((rc = direct_of(h, st, g, d, flat, NULL, &direct))) return rc;
  rnn_parts s;
  if ((rc = parts_open(c, g, d, 0, direct, train && !reserve ? d->reserve : 0, &s))) return rc;
  if (train && !reserve) reserve = s.extra;
  if (direct) s.w = flat;
  else rc = weights_walk(h, st, g, d, flat, s.w, W_TO_SPACE, NULL);
  if (!rc) rc = fwd_call(h, g, d, in, nin, &s, MX_PTR(out[0]), MX_PTR(out[1]), MX_PTR(out[2]), reserve);
  /* cy is 0 unless LSTM, as on the CPU */
  if (!rc && !g->lstm) rc = mx_cu_fill(st, MX_PTR(out[2]), g->dt, mx_cu_size(&out[2]->shape), 0.0);
  mx_host->scratch_close(&s.sc);
  return rc;
}

mx_status mx_dnn_rnn_fwd(KARGS) {
  (void)nout; (void)req;
  const char *why = "";
  rnn_geo g;
  if (geo_of(p, &in[0]->shape, in[0]->dtype, &g, &why))
    return mx_error(MX_ERR_UNSUPPORTED, "RNN on the GPU: %s", why);
  cudnnHandle_t h;
  rnn_desc d;
  memset(&d, 0, sizeof d);
  mx_status rc = mx_cuda_cudnn(mx_cuda_of(c), &h);
  if (!rc) rc = desc_make(c, h, &g, c->is_train, &d);
  if (!rc) rc = fwd_run(c, h, &g, &d, in, nin, out);
  desc_free(&d);
  return rc;
}

/* ------------------------------------------------ backward */

#define WANT(j) mx_dnn_want(ig[j], req, j)

static mx_status bwd_run(const mx_op_ctx *c, cudnnHandle_t h, const rnn_geo *g, const rnn_desc *d,
                         mx_ndarray *const *og, mx_ndarray *const *in, int nin,
                         mx_ndarray *const *out, mx_ndarray *const *ig, const int *req) {
  int again = !c->is_train;   /* the forward kept no reserve space */
  void *reserve = NULL;
  mx_status rc = again ? MX_OK : reserve_of(c, out[3], d->reserve, 0, &reserve);
  if (rc) return rc;
  if (!again && !reserve)
    return mx_error(MX_ERR_UNSUPPORTED, "RNN backward on the GPU needs an executor (its forward's "
                    "reserve space)");
  size_t es = mx_cu_dtype_size(g->dt);
  size_t ybytes = (size_t)(g->T * g->N * g->D * g->H) * es, xbytes = (size_t)(g->T * g->N * g->I) * es;
  /* extra: zeros for a missing output gradient, dx when it is not wanted,
   * then, after a forward in inference mode, a second forward's y and
   * reserve space */
  size_t zero = og[0] ? 0 : up(ybytes), dxs = WANT(0) ? 0 : up(xbytes);
  size_t re = again ? up(ybytes) + up(d->reserve) : 0;
  cudaStream_t st = mx_cuda_of(c)->stream;
  char *flat = (char *)MX_PTR(in[1]);
  int direct;
  if ((rc = direct_of(h, st, g, d, flat, WANT(1) ? MX_PTR(ig[1]) : NULL, &direct))) return rc;
  rnn_parts s;
  if ((rc = parts_open(c, g, d, 1, direct, zero + dxs + re, &s))) return rc;
  const void *dy = og[0] ? MX_PTR(og[0]) : s.extra;
  void *dx = WANT(0) ? MX_PTR(ig[0]) : s.extra + zero;
  const void *y = MX_PTR(out[0]);
  if (!og[0]) rc = mx_cu_fill(st, s.extra, g->dt, (int64_t)(ybytes / es), 0.0);
  if (direct) {   /* the op's arrays are cuDNN's weight spaces */
    s.w = flat;
    s.dw = WANT(1) ? (char *)MX_PTR(ig[1]) : NULL;
  } else if (!rc) {
    rc = weights_walk(h, st, g, d, flat, s.w, W_TO_SPACE, NULL);
  }
  if (again && !rc) {   /* the CPU differentiates that forward, without dropout: a
                          training one (dropping() is off) for its reserve space */
    char *r = s.extra + zero + dxs;
    reserve = r + up(ybytes);
    rc = fwd_call(h, g, d, in, nin, &s, r, NULL, NULL, reserve);
    y = r;
  }
  const void *cx = cx_of(g, in, nin);
  if (!rc) {
    cudnnStatus_t e = cudnnRNNBackwardData_v8(
        h, d->rnn, s.lens, d->y, y, dy, d->x, dx, d->h, MX_PTR(in[2]),
        og[1] ? MX_PTR(og[1]) : NULL, WANT(2) ? MX_PTR(ig[2]) : NULL, d->h, cx,
        g->lstm && og[2] ? MX_PTR(og[2]) : NULL, g->lstm && nin > 3 && WANT(3) ? MX_PTR(ig[3]) : NULL,
        d->wbytes, s.w, d->work, s.work, d->reserve, reserve);
    if (e != CUDNN_STATUS_SUCCESS) rc = mx_cudnn_check(e, "cudnnRNNBackwardData_v8");
  }
  /* the weight gradient after the data gradient (it reads what that left
   * in the reserve space), summed into a zeroed space, then copied out */
  if (!rc && WANT(1)) {
    cudaError_t ce = cudaMemsetAsync(s.dw, 0, d->wbytes, st);
    if (ce != cudaSuccess) rc = mx_cuda_check(ce, "cudaMemsetAsync");
  }
  if (!rc && WANT(1)) {
    cudnnStatus_t e = cudnnRNNBackwardWeights_v8(
        h, d->rnn, CUDNN_WGRAD_MODE_ADD, s.lens, d->x, MX_PTR(in[0]), d->h, MX_PTR(in[2]), d->y,
        y, d->wbytes, s.dw, d->work, s.work, d->reserve, reserve);
    if (e != CUDNN_STATUS_SUCCESS) rc = mx_cudnn_check(e, "cudnnRNNBackwardWeights_v8");
    if (!rc && !direct) rc = weights_walk(h, st, g, d, (char *)MX_PTR(ig[1]), s.dw, W_FROM_SPACE, NULL);
  }
  mx_host->scratch_close(&s.sc);
  return rc;
}

mx_status mx_dnn_rnn_bwd(BARGS) {
  (void)nout;
  const char *why = "";
  rnn_geo g;
  if (geo_of(p, &in[0]->shape, in[0]->dtype, &g, &why))
    return mx_error(MX_ERR_UNSUPPORTED, "RNN on the GPU: %s", why);
  int any = 0;
  for (int j = 0; j < nin; j++) any |= WANT(j);
  if (!any) return MX_OK;
  cudnnHandle_t h;
  rnn_desc d;
  memset(&d, 0, sizeof d);
  mx_status rc = mx_cuda_cudnn(mx_cuda_of(c), &h);
  if (!rc) rc = desc_make(c, h, &g, 1, &d);
  if (!rc) rc = bwd_run(c, h, &g, &d, og, in, nin, out, ig, req);
  desc_free(&d);
  return rc;
}
