/*
 * gemm-cublas.c -- FullyConnected, dot and batch_dot on the GPU with cuBLAS
 * (cublasGemmEx / cublasGemmStridedBatchedEx), forward and backward, with
 * the CPU kernels' shapes and conventions (src/ops/nn.c k_fc / b_fc,
 * src/ops/matmul.c dot_dims / batch_dims / matmul_grad).
 *
 * Row-major products are computed as C^T = op(B)^T op(A)^T in cuBLAS's
 * column-major convention (mx_gemm_to_colmajor, checked on the host by
 * tools/cudnn-shape-check).  float32 uses CUBLAS_COMPUTE_32F (strict fp32),
 * or CUBLAS_COMPUTE_32F_FAST_TF32 when MXNET_CUDA_ALLOW_TF32_GEMM is set;
 * float64 CUBLAS_COMPUTE_64F; float16 and bfloat16 (CUDA_R_16F, CUDA_R_16BF)
 * CUBLAS_COMPUTE_32F, which rounds the float32 sums once into the output.
 * Bias add and bias gradient are own kernels
 * (kernels/dnn-kernels.cu).  Everything here is queued on the device's
 * stream through its cuBLAS handle (bound to that stream by device.c).
 * UNVERIFIED on a GPU: compiled and linked only.
 */
#include "cudnn-desc.h"

#include <limits.h>

static int fc_num_hidden = -1, fc_no_bias = -1, fc_flatten = -1;
static int dot_ta = -1, dot_tb = -1, bdot_ta = -1, bdot_tb = -1;

mx_status mx_dnn_gemm_init(void) {
  mx_status rc;
  if ((rc = mx_dnn_param("FullyConnected", "num_hidden", &fc_num_hidden))) return rc;
  if ((rc = mx_dnn_param("FullyConnected", "no_bias", &fc_no_bias))) return rc;
  if ((rc = mx_dnn_param("FullyConnected", "flatten", &fc_flatten))) return rc;
  if ((rc = mx_dnn_param("dot", "transpose_a", &dot_ta))) return rc;
  if ((rc = mx_dnn_param("dot", "transpose_b", &dot_tb))) return rc;
  if ((rc = mx_dnn_param("batch_dot", "transpose_a", &bdot_ta))) return rc;
  return mx_dnn_param("batch_dot", "transpose_b", &bdot_tb);
}

/* ------------------------------------------------ GEMM */

static int fits(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* batch products C_b = op(A_b) op(B_b) + beta C_b, row-major, strides in
 * elements between the matrices of consecutive products */
typedef struct gemm_call {
  int ta, tb;
  int64_t M, N, K, batch;
  const void *A, *B;
  int64_t lda, ldb, sa, sb;
  void *C;
  int64_t ldc, sc;
} gemm_call;

static mx_status gemm_zero(const mx_op_ctx *c, int dtype, const gemm_call *g) {
  /* an empty contraction: C = 0 (C contiguous in every use here) */
  if (g->ldc != g->N || (g->batch > 1 && g->sc != g->M * g->N))
    return mx_error(MX_ERR_INTERNAL, "empty GEMM on a strided output");
  return mx_cu_fill(mx_cuda_of(c)->stream, g->C, dtype, g->batch * g->M * g->N, 0.0);
}

static mx_status gemm_run(const mx_op_ctx *c, int dtype, const gemm_call *g) {
  if (g->M == 0 || g->N == 0 || g->batch == 0) return MX_OK;
  if (g->K == 0) return gemm_zero(c, dtype, g);
  mx_cuda_dev *d = mx_cuda_of(c);
  mx_gemm_colmajor m = mx_gemm_to_colmajor(g->ta, g->tb, g->M, g->N, g->K, g->lda, g->ldb, g->ldc);
  if (!fits(m.m) || !fits(m.n) || !fits(m.k) || !fits(m.ld_first) || !fits(m.ld_second) ||
      !fits(m.ldc) || !fits(g->batch))
    return mx_error(MX_ERR_UNSUPPORTED, "matrix product too large for cuBLAS (a size exceeds 2^31 - 1)");
  cudaDataType_t t;
  cublasComputeType_t ct;
  float af = 1.0f, bf = 0.0f;
  double ad = 1.0, bd = 0.0;
  const void *alpha, *beta;
  if (dtype == MX_FLOAT32) {
    t = CUDA_R_32F;
    ct = d->allow_tf32_gemm ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    alpha = &af;
    beta = &bf;
  } else if (dtype == MX_FLOAT64) {
    t = CUDA_R_64F;
    ct = CUBLAS_COMPUTE_64F;
    alpha = &ad;
    beta = &bd;
  } else if (dtype == MX_FLOAT16 || dtype == MX_BFLOAT16) {   /* tensor cores, float32 sums */
    t = dtype == MX_FLOAT16 ? CUDA_R_16F : CUDA_R_16BF;
    ct = CUBLAS_COMPUTE_32F;
    alpha = &af;
    beta = &bf;
  } else {
    return mx_error(MX_ERR_DTYPE, "cuBLAS products are float32, float64, float16 or bfloat16 here "
                    "(dtype %d)", dtype);
  }
  const void *first = m.first_is_b ? g->B : g->A, *second = m.first_is_b ? g->A : g->B;
  int64_t s_first = m.first_is_b ? g->sb : g->sa, s_second = m.first_is_b ? g->sa : g->sb;
  cublasOperation_t o1 = m.trans_first ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t o2 = m.trans_second ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (g->batch == 1) {
    MX_CUBLAS_TRY(cublasGemmEx(d->cublas, o1, o2, (int)m.m, (int)m.n, (int)m.k, alpha, first, t,
                               (int)m.ld_first, second, t, (int)m.ld_second, beta, g->C, t,
                               (int)m.ldc, ct, CUBLAS_GEMM_DEFAULT));
  } else {
    MX_CUBLAS_TRY(cublasGemmStridedBatchedEx(d->cublas, o1, o2, (int)m.m, (int)m.n, (int)m.k,
                                             alpha, first, t, (int)m.ld_first, s_first, second,
                                             t, (int)m.ld_second, s_second, beta, g->C, t,
                                             (int)m.ldc, g->sc, (int)g->batch, ct,
                                             CUBLAS_GEMM_DEFAULT));
  }
  return MX_OK;
}

/* One (or batch) plain product C = op(A) op(B), contiguous operands. */
static mx_status gemm(const mx_op_ctx *c, int dtype, int ta, int tb, int64_t M, int64_t N,
                      int64_t K, const void *A, int64_t lda, const void *B, int64_t ldb, void *C,
                      int64_t ldc, int64_t batch) {
  gemm_call g = {ta, tb, M, N, K, batch, A, B, lda, ldb, M * K, K * N, C, ldc, M * N};
  return gemm_run(c, dtype, &g);
}

static int float_dtype(int dt) { return dt == MX_FLOAT32 || dt == MX_FLOAT64; }

static int sup_float(const mx_param_value *p, int nin, const mx_shape *in, const int *dt,
                     const char **why) {
  (void)p; (void)in;
  for (int j = 0; j < nin; j++)
    if (dt[j] >= 0 && !float_dtype(dt[j]) && dt[j] != MX_FLOAT16 && dt[j] != MX_BFLOAT16) {
      *why = "integer matrix products run on the CPU only";
      return 0;
    }
  return 1;
}

/* ------------------------------------------------ FullyConnected */

static void fc_dims(const mx_param_value *p, const mx_shape *d, int64_t *M, int64_t *K) {
  int64_t r = 1;
  if (p[fc_flatten].i) {
    *M = d->d[0];
    for (int k = 1; k < d->ndim; k++) r *= d->d[k];
    *K = r;
  } else {
    for (int k = 0; k < d->ndim - 1; k++) r *= d->d[k];
    *M = r;
    *K = d->d[d->ndim - 1];
  }
}

mx_status mx_dnn_fc_fwd(KARGS) {
  (void)nin; (void)nout; (void)req;
  int64_t M, K, H = p[fc_num_hidden].i;
  fc_dims(p, &in[0]->shape, &M, &K);
  int dt = out[0]->dtype;
  /* y (M x H) = x (M x K) w^T, w (H x K) */
  mx_status rc = gemm(c, dt, 0, 1, M, H, K, MX_PTR(in[0]), K, MX_PTR(in[1]), K, MX_PTR(out[0]), H, 1);
  if (rc || p[fc_no_bias].i) return rc;
  return mx_dnn_bias_add(mx_cuda_of(c)->stream, dt, MX_PTR(out[0]), MX_PTR(in[2]), M, H, 1);
}

mx_status mx_dnn_fc_bwd(BARGS) {
  (void)nout; (void)out;
  int64_t M, K, H = p[fc_num_hidden].i;
  fc_dims(p, &in[0]->shape, &M, &K);
  int dt = og[0]->dtype;
  mx_status rc = MX_OK;
  if (mx_dnn_want(ig[0], req, 0))   /* dx (M x K) = g (M x H) w (H x K) */
    rc = gemm(c, dt, 0, 0, M, K, H, MX_PTR(og[0]), H, MX_PTR(in[1]), K, MX_PTR(ig[0]), K, 1);
  if (!rc && mx_dnn_want(ig[1], req, 1))   /* dw (H x K) = g^T x */
    rc = gemm(c, dt, 1, 0, H, K, M, MX_PTR(og[0]), H, MX_PTR(in[0]), K, MX_PTR(ig[1]), K, 1);
  if (!rc && nin > 2 && !p[fc_no_bias].i && mx_dnn_want(ig[2], req, 2))
    rc = mx_dnn_bias_grad(mx_cuda_of(c)->stream, dt, MX_PTR(ig[2]), MX_PTR(og[0]), M, H, 1);
  return rc;
}

/* ------------------------------------------------ dot, batch_dot */

/* matmul.c dot_dims: the matrix view of dot's operands; 1-d operands are
 * one row (lhs) or one column (rhs) and drop their transpose flag. */
static void dot_view(const mx_shape *ls, const mx_shape *rs, int *ta, int *tb, int64_t *M,
                     int64_t *N, int64_t *K) {
  int64_t m = 1, n = 1;
  if (ls->ndim == 1) *ta = 0;
  if (rs->ndim == 1) *tb = 0;
  if (*ta) {
    *K = ls->d[0];
    for (int k = 1; k < ls->ndim; k++) m *= ls->d[k];
  } else {
    *K = ls->d[ls->ndim - 1];
    for (int k = 0; k < ls->ndim - 1; k++) m *= ls->d[k];
  }
  if (*tb) {
    for (int k = 0; k < rs->ndim - 1; k++) n *= rs->d[k];
  } else {
    for (int k = 1; k < rs->ndim; k++) n *= rs->d[k];
  }
  *M = m;
  *N = n;
}

static void bdot_view(const mx_shape *ls, const mx_shape *rs, int ta, int tb, int64_t *B,
                      int64_t *M, int64_t *N, int64_t *K) {
  int nd = ls->ndim;
  int64_t nb = 1;
  for (int k = 0; k < nd - 2; k++) nb *= ls->d[k];
  *B = nb;
  *M = ta ? ls->d[nd - 1] : ls->d[nd - 2];
  *K = ta ? ls->d[nd - 2] : ls->d[nd - 1];
  *N = tb ? rs->d[nd - 2] : rs->d[nd - 1];
}

mx_status mx_dnn_dot_fwd(KARGS) {
  (void)nin; (void)nout; (void)req;
  int ta = (int)p[dot_ta].i, tb = (int)p[dot_tb].i;
  int64_t M, N, K;
  dot_view(&in[0]->shape, &in[1]->shape, &ta, &tb, &M, &N, &K);
  return gemm(c, out[0]->dtype, ta, tb, M, N, K, MX_PTR(in[0]), ta ? M : K, MX_PTR(in[1]),
              tb ? K : N, MX_PTR(out[0]), N, 1);
}

mx_status mx_dnn_batch_dot_fwd(KARGS) {
  (void)nin; (void)nout; (void)req;
  int ta = (int)p[bdot_ta].i, tb = (int)p[bdot_tb].i;
  int64_t B, M, N, K;
  bdot_view(&in[0]->shape, &in[1]->shape, ta, tb, &B, &M, &N, &K);
  return gemm(c, out[0]->dtype, ta, tb, M, N, K, MX_PTR(in[0]), ta ? M : K, MX_PTR(in[1]),
              tb ? K : N, MX_PTR(out[0]), N, B);
}

/* matmul.c matmul_grad, for batch products of (M x N) = op(A) op(B):
 * dA = G op(B)^T (or dA^T = op(B) G^T when ta), dB = op(A)^T G (or
 * dB^T = G^T op(A) when tb). */
static mx_status matmul_grad(const mx_op_ctx *c, int dt, int ta, int tb, int64_t M, int64_t N,
                             int64_t K, int64_t batch, const void *A, const void *Bm,
                             const void *G, void *dA, void *dB) {
  int64_t lda = ta ? M : K, ldb = tb ? K : N;
  mx_status rc = MX_OK;
  if (dA) {
    gemm_call g = !ta ? (gemm_call){0, !tb, M, K, N, batch, G, Bm, N, ldb, M * N, K * N, dA, K, M * K}
                      : (gemm_call){tb, 1, K, M, N, batch, Bm, G, ldb, N, K * N, M * N, dA, M, M * K};
    rc = gemm_run(c, dt, &g);
  }
  if (!rc && dB) {
    gemm_call g = !tb ? (gemm_call){!ta, 0, K, N, M, batch, A, G, lda, N, M * K, M * N, dB, N, K * N}
                      : (gemm_call){1, ta, N, K, M, batch, G, A, N, lda, M * N, M * K, dB, K, K * N};
    rc = gemm_run(c, dt, &g);
  }
  return rc;
}

mx_status mx_dnn_dot_bwd(BARGS) {
  (void)nout; (void)nin; (void)out;
  int wa = mx_dnn_want(ig[0], req, 0), wb = mx_dnn_want(ig[1], req, 1);
  if (!wa && !wb) return MX_OK;
  int ta = (int)p[dot_ta].i, tb = (int)p[dot_tb].i;
  int64_t M, N, K;
  dot_view(&in[0]->shape, &in[1]->shape, &ta, &tb, &M, &N, &K);
  return matmul_grad(c, in[0]->dtype, ta, tb, M, N, K, 1, MX_PTR(in[0]), MX_PTR(in[1]),
                     MX_PTR(og[0]), wa ? MX_PTR(ig[0]) : NULL, wb ? MX_PTR(ig[1]) : NULL);
}

mx_status mx_dnn_batch_dot_bwd(BARGS) {
  (void)nout; (void)nin; (void)out;
  int wa = mx_dnn_want(ig[0], req, 0), wb = mx_dnn_want(ig[1], req, 1);
  if (!wa && !wb) return MX_OK;
  int ta = (int)p[bdot_ta].i, tb = (int)p[bdot_tb].i;
  int64_t B, M, N, K;
  bdot_view(&in[0]->shape, &in[1]->shape, ta, tb, &B, &M, &N, &K);
  return matmul_grad(c, in[0]->dtype, ta, tb, M, N, K, B, MX_PTR(in[0]), MX_PTR(in[1]),
                     MX_PTR(og[0]), wa ? MX_PTR(ig[0]) : NULL, wb ? MX_PTR(ig[1]) : NULL);
}

int mx_dnn_matmul_supports(const mx_param_value *p, int nin, const mx_shape *in, const int *dt,
                           const char **why) {
  return sup_float(p, nin, in, dt, why);
}
