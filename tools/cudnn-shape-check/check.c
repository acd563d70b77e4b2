/*
 * cudnn-shape-check -- runs without a GPU or driver.
 *
 * 1. For every Convolution / Deconvolution / Pooling case of
 *    tests/testthat/test-ops-conv.R and the layers of ResNet-50 and
 *    Inception-BN, builds the cuDNN descriptors with the module's own code
 *    (src/cuda/cudnn-desc.c: params -> geometry -> descriptors, exactly as
 *    conv-cudnn.c and pool-cudnn.c do) and compares cuDNN's output size
 *    (cudnnGetConvolution2dForwardOutputDim / cudnnGetPooling2dForwardOutputDim)
 *    with the CPU's shape inference formula (re-stated below from
 *    src/ops/nn-conv.c).  Cases cuDNN cannot compute as the CPU does must be
 *    refused with a reason.
 * 2. Checks the row-major -> column-major GEMM mapping used for cuBLAS
 *    (mx_gemm_to_colmajor) with a naive column-major GEMM against a
 *    row-major reference, for every transpose pair and padded leading
 *    dimensions.
 *
 * Shapes and tuples are written in engine (C) order: the R tests' dims
 * reversed.  Exit status 0 when every check passes.
 */
#include "../../src/cuda/cudnn-desc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------ the services the module code needs */

static char g_err[512];
static mx_status t_error_at(const char *func, mx_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(g_err, sizeof g_err, "%s: ", func);
  vsnprintf(g_err + n, sizeof g_err - (size_t)n, fmt, ap);
  va_end(ap);
  return st;
}
static const mx_host_services g_host = {.abi = MX_GPU_ABI, .error_at = t_error_at};
const mx_host_services *mx_host = &g_host;
mx_status mx_cudnn_check(cudnnStatus_t e, const char *what) {
  return t_error_at("cudnn", MX_ERR_DEVICE, "%s: %s", what, cudnnGetErrorString(e));
}

static int g_fail, g_pass;
#define CHECK(cond, ...) do { if (cond) g_pass++; else { g_fail++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

/* ------------------------------------------------ params */

/* The tool's own parameter layout (the module resolves the real indices by
 * name; the geometry code only sees the index table). */
enum { K_KERNEL, K_STRIDE, K_DILATE, K_PAD, K_ADJ, K_TARGET, K_NUM_FILTER, K_NUM_GROUP,
       K_WORKSPACE, K_NO_BIAS, K_TUNE, K_CUDNN_OFF, K_LAYOUT, K_N };
enum { Q_KERNEL, Q_TYPE, Q_GLOBAL, Q_CUDNN_OFF, Q_CONV, Q_STRIDE, Q_PAD, Q_PV, Q_CIP, Q_LAYOUT, Q_N };

/* choice strings as in src/ops/nn-conv.c (p_conv, p_pool) */
static const char *TUNE = "off|limited_workspace|fastest";
static const char *CLAYOUT = "NCW|NCHW|NCDHW|NHWC|NDHWC";
static const char *PTYPE = "max|avg|sum|lp";
static const char *PCONV = "valid|full|same";
static const char *PLAYOUT = "NCW|NCHW|NCDHW|NWC|NHWC|NDHWC";

static void set_tup(mx_param_value *v, int n, const int64_t *t) {
  v->is_set = 1;
  v->n = n;
  for (int k = 0; k < n; k++) v->tup[k] = t[k];
}
static void set_int(mx_param_value *v, int64_t i) { v->is_set = 1; v->n = 1; v->i = i; }

static mx_shape shp(int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
  mx_shape s;
  memset(&s, 0, sizeof s);
  s.ndim = nd;
  int64_t v[4] = {a, b, c, d};
  for (int k = 0; k < nd; k++) s.d[k] = v[k];
  return s;
}

/* ------------------------------------------------ the CPU's formulas (nn-conv.c) */

/* conv_geom: out = (in + 2 pad - (dilate (kernel - 1) + 1)) / stride + 1 */
static int64_t cpu_conv_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p) {
  return (in + 2 * p - (d * (k - 1) + 1)) / s + 1;
}
/* deconv_geom: out = s (in - 1) + d (k - 1) + 1 - 2 pad + adj, with pad and
 * adj from target_shape when given (MXNet's InferPad) */
static int64_t cpu_deconv_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p, int64_t adj,
                              int64_t tgt) {
  int64_t full = s * (in - 1) + d * (k - 1) + 1;
  if (tgt > 0) {
    int64_t tot = full - tgt;
    adj = tot % 2;
    p = (tot + 1) / 2;
  }
  return full - 2 * p + adj;
}
/* pool_geom: valid floor, full ceil, same ceil(in / s) */
static int64_t cpu_pool_out(int64_t in, int64_t k, int64_t s, int64_t p, const char *conv) {
  if (!strcmp(conv, "same")) return (in + s - 1) / s;
  int64_t span = in + 2 * p;
  if (!strcmp(conv, "full")) return (span - k + s - 1) / s + 1;
  return (span - k) / s + 1;
}

/* ------------------------------------------------ convolution cases */

typedef struct conv_case {
  const char *name;
  int deconv, nd;                 /* nd: 1 or 2 spatial axes            */
  int64_t x[4];                   /* data, C order                      */
  int64_t k[2], s[2], d[2], p[2], adj[2], tgt[2];   /* C order, nd entries */
  int64_t F, G;
  int expect_refuse;
} conv_case;

static mx_dnn_conv_ix conv_ix(void) {
  mx_dnn_conv_ix ix = {K_KERNEL, K_STRIDE, K_DILATE, K_PAD, K_ADJ, K_TARGET, K_NUM_FILTER,
                       K_NUM_GROUP, K_WORKSPACE, K_NO_BIAS, K_TUNE, K_CUDNN_OFF, K_LAYOUT,
                       0, 0, 0, 0, 0};
  ix.tune_off = mx_dnn_choice_pos(TUNE, "off");
  ix.tune_limited = mx_dnn_choice_pos(TUNE, "limited_workspace");
  ix.tune_fastest = mx_dnn_choice_pos(TUNE, "fastest");
  ix.layout_ncw = mx_dnn_choice_pos(CLAYOUT, "NCW");
  ix.layout_nchw = mx_dnn_choice_pos(CLAYOUT, "NCHW");
  return ix;
}

static void run_conv_case(const conv_case *cs, int dtype) {
  mx_param_value p[K_N];
  memset(p, 0, sizeof p);
  set_tup(&p[K_KERNEL], cs->nd, cs->k);
  set_tup(&p[K_STRIDE], cs->nd, cs->s);
  set_tup(&p[K_DILATE], cs->nd, cs->d);
  set_tup(&p[K_PAD], cs->nd, cs->p);
  set_tup(&p[K_ADJ], cs->nd, cs->adj);
  if (cs->tgt[0] || cs->tgt[1]) set_tup(&p[K_TARGET], cs->nd, cs->tgt);
  else set_tup(&p[K_TARGET], 0, cs->tgt);
  set_int(&p[K_NUM_FILTER], cs->F);
  set_int(&p[K_NUM_GROUP], cs->G);
  set_int(&p[K_WORKSPACE], 1024);
  set_int(&p[K_NO_BIAS], 0);
  mx_dnn_conv_ix ix = conv_ix();
  mx_shape ds = shp(cs->nd + 2, cs->x[0], cs->x[1], cs->x[2], cs->x[3]);
  mx_dnn_conv g;
  const char *why = NULL;
  int r = mx_dnn_conv_geom(p, &ix, cs->deconv, &ds, &g, &why);
  if (cs->expect_refuse) {
    CHECK(r != 0 && why, "%s: expected a refusal", cs->name);
    return;
  }
  CHECK(r == 0, "%s: refused: %s", cs->name, why ? why : "?");
  if (r) return;
  /* the CPU's output shape (engine order), axis by axis */
  int64_t in[2], k[2], s[2], d[2], pd[2], adj[2], tgt[2];
  for (int a = 0; a < 2; a++) {
    int j = cs->nd == 2 ? a : 0, one = cs->nd == 2 || a == 1;
    in[a] = cs->nd == 2 ? cs->x[2 + a] : (a ? cs->x[2] : 1);
    k[a] = one ? cs->k[j] : 1; s[a] = one ? cs->s[j] : 1; d[a] = one ? cs->d[j] : 1;
    pd[a] = one ? cs->p[j] : 0; adj[a] = one ? cs->adj[j] : 0;
    tgt[a] = one ? cs->tgt[j] : (cs->tgt[0] ? 1 : 0);
  }
  int64_t oh, ow, och = cs->deconv ? cs->F : cs->F;
  if (cs->deconv) {
    oh = cpu_deconv_out(in[0], k[0], s[0], d[0], pd[0], adj[0], tgt[0]);
    ow = cpu_deconv_out(in[1], k[1], s[1], d[1], pd[1], adj[1], tgt[1]);
  } else {
    oh = cpu_conv_out(in[0], k[0], s[0], d[0], pd[0]);
    ow = cpu_conv_out(in[1], k[1], s[1], d[1], pd[1]);
  }
  mx_dnn_conv_desc dd;
  mx_status st = mx_dnn_conv_desc_make(&g, dtype, &dd);
  CHECK(st == MX_OK, "%s (dtype %d): descriptors: %s", cs->name, dtype, g_err);
  if (st) return;
  int o[4];
  st = mx_dnn_conv_out_dims(&dd, o);
  CHECK(st == MX_OK, "%s: output dims: %s", cs->name, g_err);
  if (!cs->deconv) {
    /* cuDNN's forward output = the op's output */
    CHECK(o[0] == cs->x[0] && o[1] == och && o[2] == oh && o[3] == ow,
          "%s: cuDNN (%d,%d,%d,%d) vs CPU (%lld,%lld,%lld,%lld)", cs->name, o[0], o[1], o[2], o[3],
          (long long)cs->x[0], (long long)och, (long long)oh, (long long)ow);
  } else {
    /* the transposed convolution: its input is the op's output (N, F, oh,
     * ow), its output must be the op's data */
    CHECK(g.N == cs->x[0] && g.C == cs->F && g.H == oh && g.W == ow,
          "%s: deconv output (%lld,%lld,%lld,%lld) vs CPU (%lld,%lld,%lld,%lld)", cs->name,
          (long long)g.N, (long long)g.C, (long long)g.H, (long long)g.W, (long long)cs->x[0],
          (long long)cs->F, (long long)oh, (long long)ow);
    CHECK(o[0] == cs->x[0] && o[1] == cs->x[1] && o[2] == in[0] && o[3] == in[1],
          "%s: cuDNN (%d,%d,%d,%d) vs data (%lld,%lld,%lld,%lld)", cs->name, o[0], o[1], o[2],
          o[3], (long long)cs->x[0], (long long)cs->x[1], (long long)in[0], (long long)in[1]);
  }
  /* the weight: (F, C / G, kh, kw) for Convolution; (C_in, F / G, kh, kw) for Deconvolution */
  cudnnDataType_t wdt;
  cudnnTensorFormat_t wf;
  int wk, wc, wh, ww;
  st = cudnnGetFilter4dDescriptor(dd.w, &wdt, &wf, &wk, &wc, &wh, &ww) == CUDNN_STATUS_SUCCESS
           ? MX_OK : MX_ERR_DEVICE;
  int64_t ek = cs->deconv ? cs->x[1] : cs->F, ec = cs->deconv ? cs->F / cs->G : cs->x[1] / cs->G;
  CHECK(st == MX_OK && wk == ek && wc == ec && wh == k[0] && ww == k[1],
        "%s: filter (%d,%d,%d,%d) vs weight (%lld,%lld,%lld,%lld)", cs->name, wk, wc, wh, ww,
        (long long)ek, (long long)ec, (long long)k[0], (long long)k[1]);
  mx_dnn_conv_desc_free(&dd);
}

/* ------------------------------------------------ pooling cases */

typedef struct pool_case {
  const char *name;
  int nd, global;
  int64_t x[4];
  int64_t k[2], s[2], p[2];
  const char *type, *conv;
  int cip;                        /* -1 unset, 0, 1 */
  int expect_refuse;
} pool_case;

static void run_pool_case(const pool_case *cs, int dtype) {
  mx_param_value p[Q_N];
  memset(p, 0, sizeof p);
  int nd = cs->nd;
  if (cs->k[0]) set_tup(&p[Q_KERNEL], nd, cs->k); else set_tup(&p[Q_KERNEL], 0, cs->k);
  if (cs->s[0]) set_tup(&p[Q_STRIDE], nd, cs->s); else set_tup(&p[Q_STRIDE], 0, cs->s);
  set_tup(&p[Q_PAD], nd, cs->p);
  set_int(&p[Q_TYPE], mx_dnn_choice_pos(PTYPE, cs->type));
  set_int(&p[Q_GLOBAL], cs->global);
  set_int(&p[Q_CONV], mx_dnn_choice_pos(PCONV, cs->conv));
  if (cs->cip >= 0) set_int(&p[Q_CIP], cs->cip);
  mx_dnn_pool_ix ix = {Q_KERNEL, Q_TYPE, Q_GLOBAL, Q_CUDNN_OFF, Q_CONV, Q_STRIDE, Q_PAD, Q_PV,
                       Q_CIP, Q_LAYOUT, 0, 0, 0, 0, 0, 0, 0};
  ix.type_max = mx_dnn_choice_pos(PTYPE, "max");
  ix.type_avg = mx_dnn_choice_pos(PTYPE, "avg");
  ix.conv_valid = mx_dnn_choice_pos(PCONV, "valid");
  ix.conv_full = mx_dnn_choice_pos(PCONV, "full");
  ix.conv_same = mx_dnn_choice_pos(PCONV, "same");
  ix.layout_ncw = mx_dnn_choice_pos(PLAYOUT, "NCW");
  ix.layout_nchw = mx_dnn_choice_pos(PLAYOUT, "NCHW");
  mx_shape ds = shp(nd + 2, cs->x[0], cs->x[1], cs->x[2], cs->x[3]);
  mx_dnn_pool g;
  const char *why = NULL;
  int r = mx_dnn_pool_geom(p, &ix, &ds, &g, &why);
  if (cs->expect_refuse) {
    CHECK(r != 0 && why, "%s: expected a refusal", cs->name);
    return;
  }
  CHECK(r == 0, "%s: refused: %s", cs->name, why ? why : "?");
  if (r) return;
  int64_t oh = 1, ow = 1;
  if (!cs->global) {
    int64_t h = nd == 2 ? cs->x[2] : 1, w = cs->x[nd + 1];
    if (nd == 2) oh = cpu_pool_out(h, cs->k[0], cs->s[0], cs->p[0], cs->conv);
    ow = cpu_pool_out(w, cs->k[nd - 1], cs->s[nd - 1], cs->p[nd - 1], cs->conv);
  }
  CHECK(g.max == !strcmp(cs->type, "max") && g.count_pad == (cs->cip != 0),
        "%s: mode (max %d, count_pad %d)", cs->name, g.max, g.count_pad);
  mx_dnn_pool_desc dd;
  mx_status st = mx_dnn_pool_desc_make(&g, dtype, &dd);
  CHECK(st == MX_OK, "%s (dtype %d): descriptors: %s", cs->name, dtype, g_err);
  if (st) return;
  int o[4];
  st = mx_dnn_pool_out_dims(&dd, o);
  CHECK(st == MX_OK && o[0] == cs->x[0] && o[1] == cs->x[1] && o[2] == oh && o[3] == ow,
        "%s: cuDNN (%d,%d,%d,%d) vs CPU (%lld,%lld,%lld,%lld)", cs->name, o[0], o[1], o[2], o[3],
        (long long)cs->x[0], (long long)cs->x[1], (long long)oh, (long long)ow);
  cudnnPoolingMode_t mode;
  cudnnNanPropagation_t nan;
  int wh, ww, ph, pw, sh, sw;
  cudnnGetPooling2dDescriptor(dd.pool, &mode, &nan, &wh, &ww, &ph, &pw, &sh, &sw);
  cudnnPoolingMode_t want = g.max ? CUDNN_POOLING_MAX_DETERMINISTIC
                            : cs->cip != 0 ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                           : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
  CHECK(mode == want, "%s: pooling mode %d, want %d", cs->name, (int)mode, (int)want);
  /* the CPU's max skips NaN (only x > max replaces it); avg sums it */
  CHECK(nan == (g.max ? CUDNN_NOT_PROPAGATE_NAN : CUDNN_PROPAGATE_NAN), "%s: NaN mode", cs->name);
  mx_dnn_pool_desc_free(&dd);
}

/* ------------------------------------------------ GEMM mapping */

/* column-major C (m x n, ldc) = op(A) op(B), A (m x k) or (k x m) when ta */
static void naive_colmajor(int ta, int tb, int64_t m, int64_t n, int64_t k, const double *A,
                           int64_t lda, const double *B, int64_t ldb, double *C, int64_t ldc) {
  for (int64_t j = 0; j < n; j++)
    for (int64_t i = 0; i < m; i++) {
      double acc = 0;
      for (int64_t l = 0; l < k; l++) {
        double a = ta ? A[l + i * lda] : A[i + l * lda];
        double b = tb ? B[j + l * ldb] : B[l + j * ldb];
        acc += a * b;
      }
      C[i + j * ldc] = acc;
    }
}

static void check_gemm(int ta, int tb, int64_t M, int64_t N, int64_t K, int pad) {
  /* row-major storage: A (M x K) or (K x M), B (K x N) or (N x K) */
  int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  int64_t ra = ta ? K : M, rb = tb ? N : K;
  double *A = calloc((size_t)(ra * lda), sizeof *A), *B = calloc((size_t)(rb * ldb), sizeof *B);
  double *C = calloc((size_t)(M * ldc), sizeof *C), *R = calloc((size_t)(M * N), sizeof *R);
  for (int64_t i = 0; i < ra * lda; i++) A[i] = (double)((i * 7 + 3) % 11) - 5;
  for (int64_t i = 0; i < rb * ldb; i++) B[i] = (double)((i * 5 + 1) % 13) - 6;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0;
      for (int64_t l = 0; l < K; l++)
        acc += (ta ? A[l * lda + i] : A[i * lda + l]) * (tb ? B[j * ldb + l] : B[l * ldb + j]);
      R[i * N + j] = acc;
    }
  mx_gemm_colmajor g = mx_gemm_to_colmajor(ta, tb, M, N, K, lda, ldb, ldc);
  const double *first = g.first_is_b ? B : A, *second = g.first_is_b ? A : B;
  naive_colmajor(g.trans_first, g.trans_second, g.m, g.n, g.k, first, g.ld_first, second,
                 g.ld_second, C, g.ldc);
  int bad = 0;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) bad += C[i * ldc + j] != R[i * N + j];
  CHECK(bad == 0, "gemm ta=%d tb=%d M=%lld N=%lld K=%lld pad=%d: %d wrong entries", ta, tb,
        (long long)M, (long long)N, (long long)K, pad, bad);
  free(A); free(B); free(C); free(R);
}

/* ------------------------------------------------ the cases */

#define T2(a, b) {a, b}
#define T1(a) {a, 0}

static const conv_case CONV_CASES[] = {
  /* tests/testthat/test-ops-conv.R "Convolution matches the R reference" (R dims reversed) */
  {"conv t1", 0, 2, {2, 4, 6, 7}, T2(2, 3), T2(1, 2), T2(1, 1), T2(0, 1), T2(0, 0), T2(0, 0), 6, 1, 0},
  {"conv t2", 0, 2, {3, 4, 7, 8}, T2(3, 3), T2(1, 1), T2(1, 2), T2(1, 2), T2(0, 0), T2(0, 0), 4, 2, 0},
  {"conv t3", 0, 2, {2, 1, 5, 5}, T2(5, 5), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), T2(0, 0), 3, 1, 0},
  {"conv t4", 0, 2, {2, 6, 6, 9}, T2(3, 2), T2(2, 3), T2(2, 1), T2(1, 1), T2(0, 0), T2(0, 0), 6, 3, 0},
  {"conv t5 1-D", 0, 1, {2, 4, 11, 0}, T1(3), T1(2), T1(2), T1(1), T1(0), T1(0), 5, 1, 0},
  {"conv t6 1-D", 0, 1, {3, 4, 10, 0}, T1(4), T1(1), T1(1), T1(0), T1(0), T1(0), 2, 2, 0},
  /* test-ops-conv.R symbol cases: LeNet conv, grouped 3x2, 1-D */
  {"lenet conv1", 0, 2, {2, 1, 28, 28}, T2(5, 5), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), T2(0, 0), 20, 1, 0},
  {"lenet conv2", 0, 2, {2, 20, 12, 12}, T2(5, 5), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), T2(0, 0), 50, 1, 0},
  {"big 64ch", 0, 2, {9, 3, 32, 32}, T2(3, 3), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), T2(0, 0), 64, 1, 0},
  /* ResNet-50 (v1 and v2) */
  {"resnet conv0", 0, 2, {64, 3, 224, 224}, T2(7, 7), T2(2, 2), T2(1, 1), T2(3, 3), T2(0, 0), T2(0, 0), 64, 1, 0},
  {"resnet 1x1", 0, 2, {64, 64, 56, 56}, T2(1, 1), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), T2(0, 0), 256, 1, 0},
  {"resnet 3x3", 0, 2, {64, 64, 56, 56}, T2(3, 3), T2(1, 1), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), 64, 1, 0},
  {"resnet 3x3/2", 0, 2, {64, 128, 56, 56}, T2(3, 3), T2(2, 2), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), 128, 1, 0},
  {"resnet 1x1/2", 0, 2, {64, 256, 56, 56}, T2(1, 1), T2(2, 2), T2(1, 1), T2(0, 0), T2(0, 0), T2(0, 0), 512, 1, 0},
  {"resnet 3x3 7x7", 0, 2, {64, 512, 7, 7}, T2(3, 3), T2(1, 1), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), 512, 1, 0},
  /* Inception-BN */
  {"incep conv1", 0, 2, {64, 3, 224, 224}, T2(7, 7), T2(2, 2), T2(1, 1), T2(3, 3), T2(0, 0), T2(0, 0), 64, 1, 0},
  {"incep conv2red", 0, 2, {64, 64, 56, 56}, T2(1, 1), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), T2(0, 0), 64, 1, 0},
  {"incep conv2", 0, 2, {64, 64, 56, 56}, T2(3, 3), T2(1, 1), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), 192, 1, 0},
  {"incep 3x3/2", 0, 2, {64, 128, 28, 28}, T2(3, 3), T2(2, 2), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), 160, 1, 0},
  {"depthwise", 0, 2, {4, 32, 14, 14}, T2(3, 3), T2(1, 1), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), 32, 32, 0},
  /* "Deconvolution matches the R reference" */
  {"deconv t1", 1, 2, {2, 3, 3, 4}, T2(2, 3), T2(1, 2), T2(1, 1), T2(0, 1), T2(0, 1), T2(0, 0), 4, 1, 0},
  {"deconv t2", 1, 2, {2, 4, 4, 5}, T2(3, 2), T2(3, 2), T2(1, 2), T2(1, 0), T2(0, 0), T2(0, 0), 6, 2, 0},
  {"deconv t3", 1, 2, {1, 2, 3, 3}, T2(3, 3), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), T2(0, 0), 2, 1, 0},
  {"deconv t4 1-D", 1, 1, {2, 3, 6, 0}, T1(3), T1(3), T1(1), T1(1), T1(2), T1(0), 4, 1, 0},
  {"deconv t5 1-D", 1, 1, {2, 4, 5, 0}, T1(2), T1(1), T1(3), T1(0), T1(0), T1(0), 2, 2, 0},
  /* "target_shape sets pad and adj": target R c(8, 7) -> (7, 8); pad is ignored */
  {"deconv target", 1, 2, {2, 3, 4, 4}, T2(3, 3), T2(2, 2), T2(1, 1), T2(5, 5), T2(0, 0), T2(7, 8), 2, 1, 0},
  {"deconv stride2", 1, 2, {2, 3, 4, 4}, T2(3, 3), T2(2, 2), T2(1, 1), T2(0, 0), T2(0, 0), T2(0, 0), 2, 1, 0},
  {"deconv 4x4/2 p1", 1, 2, {2, 8, 5, 5}, T2(4, 4), T2(2, 2), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), 3, 1, 0},
  /* refused: adj >= stride (cuDNN pads symmetrically), odd target total at stride 1, 3-D */
  {"deconv adj>=stride", 1, 2, {1, 1, 3, 3}, T2(3, 3), T2(1, 1), T2(1, 1), T2(0, 0), T2(1, 1), T2(0, 0), 1, 1, 1},
  {"deconv odd target s1", 1, 2, {1, 1, 3, 3}, T2(3, 3), T2(1, 1), T2(1, 1), T2(0, 0), T2(0, 0), T2(4, 4), 1, 1, 1},
};

static const pool_case POOL_CASES[] = {
  /* "Pooling matches the R reference": x R c(7, 6, 3, 2) -> (2, 3, 6, 7) */
  {"pool t1 max", 2, 0, {2, 3, 6, 7}, T2(2, 2), T2(2, 2), T2(0, 0), "max", "valid", -1, 0},
  {"pool t1 avg", 2, 0, {2, 3, 6, 7}, T2(2, 2), T2(2, 2), T2(0, 0), "avg", "valid", -1, 0},
  {"pool t2 max", 2, 0, {2, 3, 6, 7}, T2(2, 3), T2(1, 2), T2(1, 1), "max", "valid", -1, 0},
  {"pool t2 avg", 2, 0, {2, 3, 6, 7}, T2(2, 3), T2(1, 2), T2(1, 1), "avg", "valid", -1, 0},
  {"pool t2 avg nopad", 2, 0, {2, 3, 6, 7}, T2(2, 3), T2(1, 2), T2(1, 1), "avg", "valid", 0, 0},
  {"pool t3 full", 2, 0, {2, 3, 6, 7}, T2(3, 3), T2(2, 2), T2(0, 1), "max", "full", -1, 1},
  {"pool t4 same", 2, 0, {2, 3, 6, 7}, T2(3, 2), T2(2, 2), T2(0, 0), "avg", "same", -1, 1},
  {"pool t5 max", 2, 0, {2, 3, 6, 7}, T2(3, 3), T2(1, 1), T2(1, 1), "max", "valid", -1, 0},
  {"pool t5 avg nopad", 2, 0, {2, 3, 6, 7}, T2(3, 3), T2(1, 1), T2(1, 1), "avg", "valid", 0, 0},
  {"pool sum", 2, 0, {2, 3, 6, 7}, T2(2, 2), T2(2, 2), T2(0, 0), "sum", "valid", -1, 1},
  {"pool lp", 2, 0, {2, 3, 6, 7}, T2(2, 3), T2(1, 2), T2(0, 0), "lp", "valid", -1, 1},
  {"global max", 2, 1, {2, 3, 6, 7}, T2(0, 0), T2(0, 0), T2(0, 0), "max", "valid", -1, 0},
  {"global avg kernel+pad ignored", 2, 1, {2, 3, 6, 7}, T2(2, 2), T2(0, 0), T2(1, 1), "avg", "valid", -1, 0},
  {"global avg 1-D", 1, 1, {2, 3, 9, 0}, T1(0), T1(0), T1(0), "avg", "valid", -1, 0},
  {"1-D max valid", 1, 0, {2, 3, 9, 0}, T1(3), T1(2), T1(1), "max", "valid", -1, 0},
  {"1-D avg full (= valid)", 1, 0, {2, 3, 9, 0}, T1(3), T1(2), T1(1), "avg", "full", -1, 0},
  {"same even (= valid)", 2, 0, {2, 3, 6, 6}, T2(2, 2), T2(2, 2), T2(0, 0), "max", "same", -1, 0},
  {"same s1 k3", 2, 0, {2, 3, 6, 7}, T2(3, 3), T2(1, 1), T2(0, 0), "avg", "same", -1, 0},
  {"lenet pool", 2, 0, {3, 4, 24, 24}, T2(2, 2), T2(2, 2), T2(0, 0), "max", "valid", -1, 0},
  {"symbol full 3x3/2 (refused: partial)", 2, 0, {2, 3, 6, 6}, T2(3, 3), T2(2, 2), T2(0, 0), "max", "full", -1, 1},
  /* ResNet-50, Inception-BN */
  {"resnet pool0", 2, 0, {64, 64, 112, 112}, T2(3, 3), T2(2, 2), T2(1, 1), "max", "valid", -1, 0},
  {"resnet global", 2, 1, {64, 2048, 7, 7}, T2(7, 7), T2(1, 1), T2(0, 0), "avg", "valid", -1, 0},
  {"incep pool1", 2, 0, {64, 64, 112, 112}, T2(3, 3), T2(2, 2), T2(0, 0), "max", "valid", -1, 0},
  {"incep pool avg 3x3/1 p1", 2, 0, {64, 192, 28, 28}, T2(3, 3), T2(1, 1), T2(1, 1), "avg", "valid", -1, 0},
  {"incep pool max 3x3/2 28", 2, 0, {64, 320, 28, 28}, T2(3, 3), T2(2, 2), T2(0, 0), "max", "valid", -1, 0},
  {"incep global 7", 2, 1, {64, 1024, 7, 7}, T2(7, 7), T2(1, 1), T2(0, 0), "avg", "valid", -1, 0},
  {"pad >= kernel", 2, 0, {2, 3, 6, 7}, T2(2, 2), T2(1, 1), T2(2, 2), "avg", "valid", -1, 1},
};

int main(void) {
  /* descriptors work without a GPU; a handle does not */
  cudnnTensorDescriptor_t t;
  CHECK(cudnnCreateTensorDescriptor(&t) == CUDNN_STATUS_SUCCESS, "cudnnCreateTensorDescriptor");
  cudnnDestroyTensorDescriptor(t);
  printf("cuDNN %zu (header %d.%d.%d)\n", cudnnGetVersion(), CUDNN_MAJOR, CUDNN_MINOR,
         CUDNN_PATCHLEVEL);

  CHECK(mx_dnn_choice_pos("off|limited_workspace|fastest", "fastest") == 2, "choice_pos");
  CHECK(mx_dnn_choice_pos("max|avg|sum|lp", "lp") == 3, "choice_pos last");
  CHECK(mx_dnn_choice_pos("max|avg|sum|lp", "av") == -1, "choice_pos prefix");
  CHECK(mx_dnn_cudnn_dtype(MX_INT32) == -1, "no cuDNN int32 data");

  int dts[] = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  for (size_t i = 0; i < sizeof CONV_CASES / sizeof CONV_CASES[0]; i++)
    for (int d = 0; d < 4; d++) run_conv_case(&CONV_CASES[i], dts[d]);
  for (size_t i = 0; i < sizeof POOL_CASES / sizeof POOL_CASES[0]; i++)
    for (int d = 0; d < 3; d++) run_pool_case(&POOL_CASES[i], dts[d]);

  /* a layout the CPU refuses is refused here too */
  {
    conv_case cs = CONV_CASES[0];
    mx_param_value p[K_N];
    memset(p, 0, sizeof p);
    set_tup(&p[K_KERNEL], 2, cs.k);
    set_int(&p[K_NUM_FILTER], 6);
    set_int(&p[K_NUM_GROUP], 1);
    set_int(&p[K_LAYOUT], mx_dnn_choice_pos(CLAYOUT, "NHWC"));
    mx_dnn_conv_ix ix = conv_ix();
    mx_shape ds = shp(4, 2, 4, 6, 7);
    mx_dnn_conv g;
    const char *why = NULL;
    CHECK(mx_dnn_conv_geom(p, &ix, 0, &ds, &g, &why) != 0 && why, "NHWC refused");
    set_int(&p[K_LAYOUT], mx_dnn_choice_pos(CLAYOUT, "NCHW"));
    set_int(&p[K_TUNE], mx_dnn_choice_pos(TUNE, "limited_workspace"));
    CHECK(mx_dnn_conv_geom(p, &ix, 0, &ds, &g, &why) == 0 && g.tune == 1, "NCHW + tune");
  }

  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (int pad = 0; pad < 3; pad += 2) {
        check_gemm(ta, tb, 3, 5, 4, pad);
        check_gemm(ta, tb, 1, 7, 2, pad);
        check_gemm(ta, tb, 6, 1, 5, pad);
        check_gemm(ta, tb, 4, 4, 1, pad);
      }

  printf("%d checks passed, %d failed\n", g_pass, g_fail);
  return g_fail ? 1 : 0;
}
