/*
 * matmul.c -- matrix products: dot (MXNet's N-d dot) and batch_dot.
 *
 * Shapes are C order.  dot views lhs as a matrix by merging all axes but the
 * last (or, with transpose_a, all but the first) and rhs by merging all axes
 * but the first (with transpose_b, all but the last), multiplies, and gives
 * the result the un-merged axes.
 *
 * GEMM back ends: float32 goes to oneDNN's dnnl_sgemm when the build has
 * oneDNN, else to OpenBLAS's cblas_sgemm, else to the built-in kernel.
 * float64 and the integer types always use the built-in cache-blocked kernel
 * (integers accumulate in unsigned 64-bit arithmetic, so overflow wraps as in
 * the dtype, never traps).  The internal ops _dot_builtin and
 * _batch_dot_builtin force the built-in kernel for float32 too, so the
 * fallback stays tested on machines with oneDNN.
 */
#include "../include/mx-op.h"
#include "../mx-config.h"

#include <stdlib.h>

#if MX_HAVE_DNNL
#include <dnnl.h>
#elif MX_HAVE_OPENBLAS
#include <cblas.h>
#endif


/* ------------------------------------------------------ built-in GEMM */

/* Block sizes: MB rows of C per task, KB x NB panels of B (fits L2). */
#define GEMM_MB 32
#define GEMM_KB 128
#define GEMM_NB 512

/* C (M x N, row stride ldc) = A (M x K, lda) * B (K x N, ldb), all
 * row-major.  Rows of C are split into blocks of GEMM_MB, one task each; a
 * task sweeps K and N in cache-sized panels with a 4-row x 4-k register tile
 * whose innermost loop (over columns) vectorises. */
#define DEF_GEMM(NAME, CT)                                                     \
  static void NAME(int64_t M, int64_t N, int64_t K, const CT *A, int64_t lda,  \
                   const CT *B, int64_t ldb, CT *C, int64_t ldc, int nt) {     \
    int64_t nrb = (M + GEMM_MB - 1) / GEMM_MB;                                 \
    (void)nt;                                                                  \
    MX_OMP_FOR(nt)                                                             \
    for (int64_t rb = 0; rb < nrb; rb++) {                                     \
      int64_t i0 = rb * GEMM_MB, i1 = i0 + GEMM_MB < M ? i0 + GEMM_MB : M;     \
      for (int64_t i = i0; i < i1; i++)                                        \
        for (int64_t j = 0; j < N; j++) C[i * ldc + j] = (CT)0;                \
      for (int64_t k0 = 0; k0 < K; k0 += GEMM_KB) {                            \
        int64_t k1 = k0 + GEMM_KB < K ? k0 + GEMM_KB : K;                      \
        for (int64_t j0 = 0; j0 < N; j0 += GEMM_NB) {                          \
          int64_t nj = (j0 + GEMM_NB < N ? j0 + GEMM_NB : N) - j0;             \
          int64_t i = i0;                                                      \
          for (; i + 4 <= i1; i += 4) {                                        \
            CT *restrict c0 = C + i * ldc + j0, *restrict c1 = c0 + ldc;       \
            CT *restrict c2 = c1 + ldc, *restrict c3 = c2 + ldc;               \
            const CT *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda,        \
                     *a3 = a2 + lda;                                           \
            int64_t k = k0;                                                    \
            for (; k + 4 <= k1; k += 4) {                                      \
              const CT *restrict b0 = B + k * ldb + j0, *restrict b1 = b0 + ldb; \
              const CT *restrict b2 = b1 + ldb, *restrict b3 = b2 + ldb;       \
              CT x00 = a0[k], x01 = a0[k + 1], x02 = a0[k + 2], x03 = a0[k + 3]; \
              CT x10 = a1[k], x11 = a1[k + 1], x12 = a1[k + 2], x13 = a1[k + 3]; \
              CT x20 = a2[k], x21 = a2[k + 1], x22 = a2[k + 2], x23 = a2[k + 3]; \
              CT x30 = a3[k], x31 = a3[k + 1], x32 = a3[k + 2], x33 = a3[k + 3]; \
              for (int64_t j = 0; j < nj; j++) {                               \
                CT v0 = b0[j], v1 = b1[j], v2 = b2[j], v3 = b3[j];             \
                c0[j] += x00 * v0 + x01 * v1 + x02 * v2 + x03 * v3;            \
                c1[j] += x10 * v0 + x11 * v1 + x12 * v2 + x13 * v3;            \
                c2[j] += x20 * v0 + x21 * v1 + x22 * v2 + x23 * v3;            \
                c3[j] += x30 * v0 + x31 * v1 + x32 * v2 + x33 * v3;            \
              }                                                                \
            }                                                                  \
            for (; k < k1; k++) {                                              \
              const CT *restrict b0 = B + k * ldb + j0;                        \
              CT x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];               \
              for (int64_t j = 0; j < nj; j++) {                               \
                CT v = b0[j];                                                  \
                c0[j] += x0 * v;                                               \
                c1[j] += x1 * v;                                               \
                c2[j] += x2 * v;                                               \
                c3[j] += x3 * v;                                               \
              }                                                                \
            }                                                                  \
          }                                                                    \
          for (; i < i1; i++) {                                                \
            CT *restrict c0 = C + i * ldc + j0;                                \
            const CT *a0 = A + i * lda;                                        \
            int64_t k = k0;                                                    \
            for (; k + 4 <= k1; k += 4) {                                      \
              const CT *restrict b0 = B + k * ldb + j0, *restrict b1 = b0 + ldb; \
              const CT *restrict b2 = b1 + ldb, *restrict b3 = b2 + ldb;       \
              CT x0 = a0[k], x1 = a0[k + 1], x2 = a0[k + 2], x3 = a0[k + 3];   \
              for (int64_t j = 0; j < nj; j++)                                 \
                c0[j] += x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j];    \
            }                                                                  \
            for (; k < k1; k++) {                                              \
              const CT *restrict b0 = B + k * ldb + j0;                        \
              CT x0 = a0[k];                                                   \
              for (int64_t j = 0; j < nj; j++) c0[j] += x0 * b0[j];            \
            }                                                                  \
          }                                                                    \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }

DEF_GEMM(gemm_f32, float)
DEF_GEMM(gemm_f64, double)
DEF_GEMM(gemm_u64, uint64_t)

/* Threads for an M x N x K product done in GEMM_MB row blocks. */
static int gemm_threads(int nthreads, int64_t M, int64_t N, int64_t K) {
  double work = (double)M * (double)N * (double)K;
  if (work < 262144.0 || nthreads <= 1) return 1;
  int64_t nrb = (M + GEMM_MB - 1) / GEMM_MB;
  int t = nthreads;
  if (nrb < t) t = (int)nrb;
  return t < 1 ? 1 : t;
}

/* Copy a rows x cols matrix (element (r, k) at src[r * rs + k * cs]) into a
 * row-major CT buffer, converting the element type. */
#define PACK(T, CT, src, rows, cols, rs, cs, dst)                            \
  do {                                                                       \
    const T *s_ = (const T *)(src);                                          \
    for (int64_t r_ = 0; r_ < (rows); r_++)                                  \
      for (int64_t k_ = 0; k_ < (cols); k_++)                                \
        (dst)[r_ * (cols) + k_] = (CT)s_[r_ * (rs) + k_ * (cs)];             \
  } while (0)

/* One product with the built-in kernel: C (M x N) = op(A) op(B) where A is
 * stored (M x K) or, transposed, (K x M); B (K x N) or (N x K).  dtype is
 * the element type of A, B and C (no float16). */
static mx_status gemm_builtin(int dtype, int64_t M, int64_t N, int64_t K,
                              int ta, int tb, const void *A, const void *B,
                              void *C, int nt) {
  if (M == 0 || N == 0) return MX_OK;
  size_t es = mx_dtype_size(dtype);
  if (K == 0) {
    memset(C, 0, (size_t)(M * N) * es);
    return MX_OK;
  }
  int64_t ars = ta ? 1 : K, acs = ta ? M : 1;     /* A(i, k) = A[i*ars + k*acs] */
  int64_t brs = tb ? 1 : N, bcs = tb ? K : 1;     /* B(k, j) = B[k*brs + j*bcs] */
  if (dtype == MX_FLOAT32 || dtype == MX_FLOAT64) {
    void *pa = NULL, *pb = NULL;
    if (ta) {
      pa = malloc((size_t)(M * K) * es);
      if (!pa) return mx_error(MX_ERR_NOMEM, "out of memory (dot workspace)");
    }
    if (tb) {
      pb = malloc((size_t)(K * N) * es);
      if (!pb) {
        free(pa);
        return mx_error(MX_ERR_NOMEM, "out of memory (dot workspace)");
      }
    }
    if (dtype == MX_FLOAT32) {
      if (pa) PACK(float, float, A, M, K, ars, acs, (float *)pa);
      if (pb) PACK(float, float, B, K, N, brs, bcs, (float *)pb);
      gemm_f32(M, N, K, pa ? (const float *)pa : (const float *)A, K,
               pb ? (const float *)pb : (const float *)B, N, (float *)C, N, nt);
    } else {
      if (pa) PACK(double, double, A, M, K, ars, acs, (double *)pa);
      if (pb) PACK(double, double, B, K, N, brs, bcs, (double *)pb);
      gemm_f64(M, N, K, pa ? (const double *)pa : (const double *)A, K,
               pb ? (const double *)pb : (const double *)B, N, (double *)C, N, nt);
    }
    free(pa);
    free(pb);
    return MX_OK;
  }
  /* integers: wrap-around arithmetic in uint64 (two's complement), then the
   * low bits go back into the dtype */
  uint64_t *pa = (uint64_t *)malloc((size_t)(M * K) * sizeof(uint64_t));
  uint64_t *pb = (uint64_t *)malloc((size_t)(K * N) * sizeof(uint64_t));
  uint64_t *pc = (uint64_t *)malloc((size_t)(M * N) * sizeof(uint64_t));
  if (!pa || !pb || !pc) {
    free(pa); free(pb); free(pc);
    return mx_error(MX_ERR_NOMEM, "out of memory (dot workspace)");
  }
  switch (dtype) {
    case MX_UINT8:
      PACK(uint8_t, uint64_t, A, M, K, ars, acs, pa);
      PACK(uint8_t, uint64_t, B, K, N, brs, bcs, pb);
      break;
    case MX_INT32:
      PACK(int32_t, uint64_t, A, M, K, ars, acs, pa);
      PACK(int32_t, uint64_t, B, K, N, brs, bcs, pb);
      break;
    case MX_INT64:
      PACK(int64_t, uint64_t, A, M, K, ars, acs, pa);
      PACK(int64_t, uint64_t, B, K, N, brs, bcs, pb);
      break;
    default:
      free(pa); free(pb); free(pc);
      return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(dtype));
  }
  gemm_u64(M, N, K, pa, K, pb, N, pc, N, nt);
  int64_t n = M * N;
  switch (dtype) {
    case MX_UINT8: for (int64_t i = 0; i < n; i++) ((uint8_t *)C)[i] = (uint8_t)pc[i]; break;
    case MX_INT32: for (int64_t i = 0; i < n; i++) ((int32_t *)C)[i] = (int32_t)(uint32_t)pc[i]; break;
    default: for (int64_t i = 0; i < n; i++) ((int64_t *)C)[i] = (int64_t)pc[i]; break;
  }
  free(pa); free(pb); free(pc);
  return MX_OK;
}

/* One float32 product C = alpha op(A) op(B) + beta C, row-major with
 * leading dimensions, for the library GEMM. */
typedef struct sgemm_call {
  int ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int status;                        /* the library's status (oneDNN) */
} sgemm_call;

#if MX_HAVE_DNNL
static void sgemm_dnnl(void *arg) {
  sgemm_call *g = (sgemm_call *)arg;
  g->status = (int)dnnl_sgemm(g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', (dnnl_dim_t)g->M,
                              (dnnl_dim_t)g->N, (dnnl_dim_t)g->K, g->alpha, g->A,
                              (dnnl_dim_t)g->lda, g->B, (dnnl_dim_t)g->ldb, g->beta, g->C,
                              (dnnl_dim_t)g->ldc);
}
#endif

/* float32 through the library GEMM (oneDNN or OpenBLAS) with nt threads;
 * returns MX_ERR_UNSUPPORTED (without recording an error) when there is
 * none or the sizes do not fit its index type. */
static mx_status sgemm_library(int nt, sgemm_call *g) {
#if MX_HAVE_DNNL
  mx_with_omp_threads(nt, sgemm_dnnl, g);
  if (g->status != (int)dnnl_success)
    return mx_error(MX_ERR_INTERNAL, "oneDNN sgemm failed (status %d)", g->status);
  return MX_OK;
#elif MX_HAVE_OPENBLAS
  (void)nt;
  const int64_t big = 2147483647;
  if (g->M > big || g->N > big || g->K > big || g->lda > big || g->ldb > big || g->ldc > big)
    return MX_ERR_UNSUPPORTED;
  cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
              (int)g->M, (int)g->N, (int)g->K, g->alpha, g->A, (int)g->lda, g->B, (int)g->ldb,
              g->beta, g->C, (int)g->ldc);
  return MX_OK;
#else
  (void)nt; (void)g;
  return MX_ERR_UNSUPPORTED;
#endif
}

/* Long products run in blocks of rows of C of about 2^30 multiply-adds,
 * polling for an interrupt between blocks (mx_abort_check): the rows of a
 * block (M when the product is short). */
static int64_t gemm_block_rows(int64_t M, int64_t N, int64_t K) {
  double per_row = (double)N * (double)(K > 0 ? K : 1);
  if (per_row * (double)M <= 1073741824.0) return M > 0 ? M : 1;
  int64_t rows = (int64_t)(1073741824.0 / per_row);
  return rows < 1 ? 1 : rows;
}

static mx_status gemm_any_once(const mx_op_ctx *c, int dtype, int64_t M, int64_t N,
                               int64_t K, int ta, int tb, const void *A,
                               const void *B, void *C, int builtin, int nt);

/* One product with the best back end for the dtype (in row blocks unless
 * op(A) is a transpose, whose rows are not contiguous). */
static mx_status gemm_any(const mx_op_ctx *c, int dtype, int64_t M, int64_t N,
                          int64_t K, int ta, int tb, const void *A,
                          const void *B, void *C, int builtin, int nt) {
  int64_t rows = gemm_block_rows(M, N, K);
  if (ta || rows >= M) return gemm_any_once(c, dtype, M, N, K, ta, tb, A, B, C, builtin, nt);
  size_t es = mx_dtype_size(dtype);
  mx_status rc = MX_OK;
  for (int64_t i = 0; i < M && !rc; i += rows) {
    if (i > 0 && (rc = mx_abort_check())) break;
    rc = gemm_any_once(c, dtype, M - i < rows ? M - i : rows, N, K, 0, tb,
                       (const char *)A + (size_t)(i * K) * es, B,
                       (char *)C + (size_t)(i * N) * es, builtin, nt);
  }
  return rc;
}

static mx_status gemm_any_once(const mx_op_ctx *c, int dtype, int64_t M, int64_t N,
                               int64_t K, int ta, int tb, const void *A,
                               const void *B, void *C, int builtin, int nt) {
  if (M == 0 || N == 0) return MX_OK;
  if (K == 0) {
    memset(C, 0, (size_t)(M * N) * mx_dtype_size(dtype));
    return MX_OK;
  }
  if (dtype == MX_FLOAT32 && !builtin) {
    sgemm_call g = {ta, tb, M, N, K, ta ? M : K, tb ? K : N, N, 1.0f, 0.0f,
                    (const float *)A, (const float *)B, (float *)C, 0};
    mx_status rc = sgemm_library(c->nthreads, &g);
    if (rc != MX_ERR_UNSUPPORTED) return rc;
  }
  return gemm_builtin(dtype, M, N, K, ta, tb, A, B, C, nt);
}

/* ----------------------------------------------------------- public GEMM */

static mx_status gemm_once(const mx_op_ctx *c, int dtype, int ta, int tb, int64_t M,
                           int64_t N, int64_t K, double alpha, const void *A, int64_t lda,
                           const void *B, int64_t ldb, double beta, void *C, int64_t ldc);

/* In row blocks (gemm_block_rows). */
mx_status mx_gemm(const mx_op_ctx *c, int dtype, int ta, int tb, int64_t M,
                  int64_t N, int64_t K, double alpha, const void *A, int64_t lda,
                  const void *B, int64_t ldb, double beta, void *C, int64_t ldc) {
  int64_t rows = gemm_block_rows(M, N, K);
  if (rows >= M) return gemm_once(c, dtype, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  size_t es = mx_dtype_size(dtype);
  mx_status rc = MX_OK;
  for (int64_t i = 0; i < M && !rc; i += rows) {
    if (i > 0 && (rc = mx_abort_check())) break;
    const char *Ai = (const char *)A + (size_t)(ta ? i : i * lda) * es;
    rc = gemm_once(c, dtype, ta, tb, M - i < rows ? M - i : rows, N, K, alpha, Ai, lda, B, ldb,
                   beta, (char *)C + (size_t)(i * ldc) * es, ldc);
  }
  return rc;
}

static mx_status gemm_once(const mx_op_ctx *c, int dtype, int ta, int tb, int64_t M,
                           int64_t N, int64_t K, double alpha, const void *A, int64_t lda,
                           const void *B, int64_t ldb, double beta, void *C, int64_t ldc) {
  if (dtype != MX_FLOAT32 && dtype != MX_FLOAT64)
    return mx_error(MX_ERR_DTYPE, "GEMM needs float32 or float64, not %s", mx_dtype_name(dtype));
  if (M == 0 || N == 0) return MX_OK;
  int nt = c ? c->nthreads : mx_threads_get();
  if (dtype == MX_FLOAT32) {
    sgemm_call g = {ta, tb, M, N, K, lda, ldb, ldc, (float)alpha, (float)beta,
                    (const float *)A, (const float *)B, (float *)C, 0};
    mx_status rc = sgemm_library(nt, &g);
    if (rc != MX_ERR_UNSUPPORTED) return rc;
  }
  /* built-in: pack op(A), op(B) contiguously, multiply into T, then
   * C = alpha * T + beta * C */
  size_t es = mx_dtype_size(dtype);
  void *pa = malloc((size_t)(M * K) * es + 1), *pb = malloc((size_t)(K * N) * es + 1),
       *pt = malloc((size_t)(M * N) * es + 1);
  if (!pa || !pb || !pt) {
    free(pa); free(pb); free(pt);
    return mx_error(MX_ERR_NOMEM, "out of memory (GEMM workspace)");
  }
  int64_t ars = ta ? 1 : lda, acs = ta ? lda : 1;
  int64_t brs = tb ? 1 : ldb, bcs = tb ? ldb : 1;
  if (dtype == MX_FLOAT32) {
    PACK(float, float, A, M, K, ars, acs, (float *)pa);
    PACK(float, float, B, K, N, brs, bcs, (float *)pb);
  } else {
    PACK(double, double, A, M, K, ars, acs, (double *)pa);
    PACK(double, double, B, K, N, brs, bcs, (double *)pb);
  }
  mx_status rc = gemm_builtin(dtype, M, N, K, 0, 0, pa, pb, pt, nt);
  if (rc == MX_OK) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        if (dtype == MX_FLOAT32) {
          float *cc = (float *)C + i * ldc + j;
          float t = ((float *)pt)[i * N + j];
          *cc = beta == 0 ? (float)alpha * t : (float)alpha * t + (float)beta * *cc;
        } else {
          double *cc = (double *)C + i * ldc + j;
          double t = ((double *)pt)[i * N + j];
          *cc = beta == 0 ? alpha * t : alpha * t + beta * *cc;
        }
      }
  }
  free(pa); free(pb); free(pt);
  return rc;
}

/* ---------------------------------------------------------------- dot */

/* dot and batch_dot parameters */
enum { P_TA, P_TB, P_NPARAMS };

/* Matrix view of dot's operands and its output shape. */
static mx_status dot_dims(const mx_shape *ls, const mx_shape *rs, int ta, int tb,
                          int64_t *M, int64_t *N, int64_t *K, mx_shape *os) {
  char b1[128], b2[128];
  if (ls->ndim < 1 || rs->ndim < 1) {
    mx_shape_format(ls, b1, sizeof b1);
    mx_shape_format(rs, b2, sizeof b2);
    return mx_error(MX_ERR_SHAPE, "dot needs arrays with at least one dimension, got %s and %s", b1, b2);
  }
  int64_t lk, rk, m = 1, n = 1;
  mx_shape o;
  o.ndim = 0;
  if (ls->ndim == 1 && rs->ndim == 1) {
    lk = ls->d[0];
    rk = rs->d[0];
  } else {
    if (ta) {
      lk = ls->d[0];
      for (int k = 1; k < ls->ndim; k++) m *= ls->d[k];
      if (ls->ndim > 1)
        for (int k = 1; k < ls->ndim; k++) o.d[o.ndim++] = ls->d[k];
    } else {
      lk = ls->d[ls->ndim - 1];
      for (int k = 0; k < ls->ndim - 1; k++) {
        m *= ls->d[k];
        o.d[o.ndim++] = ls->d[k];
      }
    }
    if (tb) {
      rk = rs->d[rs->ndim - 1];
      for (int k = 0; k < rs->ndim - 1; k++) n *= rs->d[k];
      if (rs->ndim > 1) {
        for (int k = 0; k < rs->ndim - 1; k++) {
          if (o.ndim >= MX_MAX_DIM) goto toomany;
          o.d[o.ndim++] = rs->d[k];
        }
      }
    } else {
      rk = rs->d[0];
      for (int k = 1; k < rs->ndim; k++) {
        n *= rs->d[k];
        if (o.ndim >= MX_MAX_DIM) goto toomany;
        o.d[o.ndim++] = rs->d[k];
      }
    }
  }
  if (lk != rk) {
    mx_shape_format(ls, b1, sizeof b1);
    mx_shape_format(rs, b2, sizeof b2);
    return mx_error(MX_ERR_SHAPE,
                    "shapes %s and %s do not match: the contracted dimensions are %lld and %lld%s",
                    b1, b2, (long long)lk, (long long)rk,
                    (ta || tb) ? " (after transpose_a/transpose_b)" : "");
  }
  if (o.ndim == 0) {   /* vector . vector */
    o.ndim = 1;
    o.d[0] = 1;
  }
  for (int k = o.ndim; k < MX_MAX_DIM; k++) o.d[k] = 0;
  *M = m;
  *N = n;
  *K = lk;
  *os = o;
  return MX_OK;
toomany:
  mx_shape_format(ls, b1, sizeof b1);
  mx_shape_format(rs, b2, sizeof b2);
  return mx_error(MX_ERR_SHAPE, "the product of %s and %s would have more than %d dimensions",
                  b1, b2, MX_MAX_DIM);
}

static mx_status shape_dot(const mx_param_value *p, int nin, mx_shape *in,
                           int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  int64_t M, N, K;
  return dot_dims(&in[0], &in[1], (int)p[P_TA].i, (int)p[P_TB].i, &M, &N, &K, &out[0]);
}

static mx_status dot_run(KARGS, int builtin) {
  (void)nin; (void)nout; (void)req;
  int ta = (int)p[P_TA].i, tb = (int)p[P_TB].i;
  int64_t M, N, K;
  mx_shape os;
  mx_status rc = dot_dims(&in[0]->shape, &in[1]->shape, ta, tb, &M, &N, &K, &os);
  if (rc) return rc;
  if (in[0]->shape.ndim == 1 && in[1]->shape.ndim == 1) ta = tb = 0;
  /* a 1-d operand is a single row (lhs) or column (rhs); its "transpose"
   * has the same memory layout, so only the flag matters for the sizes */
  if (in[0]->shape.ndim == 1) ta = 0;
  if (in[1]->shape.ndim == 1) tb = 0;
  return gemm_any(c, out[0]->dtype, M, N, K, ta, tb, MX_PTR(in[0]), MX_PTR(in[1]),
                  MX_PTR(out[0]), builtin, gemm_threads(c->nthreads, M, N, K));
}

static mx_status k_dot(KARGS) { return dot_run(c, p, in, nin, out, nout, req, 0); }
static mx_status k_dot_builtin(KARGS) { return dot_run(c, p, in, nin, out, nout, req, 1); }

/* ---------------------------------------------------------- batch_dot */

/* (B..., M, K) x (B..., K, N) -> (B..., M, N), with the transposes applied to
 * the last two axes. */
static mx_status batch_dims(const mx_shape *ls, const mx_shape *rs, int ta, int tb,
                            int64_t *B, int64_t *M, int64_t *N, int64_t *K,
                            mx_shape *os) {
  char b1[128], b2[128];
  mx_shape_format(ls, b1, sizeof b1);
  mx_shape_format(rs, b2, sizeof b2);
  if (ls->ndim < 3 || ls->ndim != rs->ndim)
    return mx_error(MX_ERR_SHAPE,
                    "batch_dot needs two arrays with the same number (at least 3) of dimensions, got %s and %s",
                    b1, b2);
  int nd = ls->ndim;
  int64_t nb = 1;
  for (int k = 0; k < nd - 2; k++) {
    if (ls->d[k] != rs->d[k])
      return mx_error(MX_ERR_SHAPE, "batch sizes of %s and %s differ", b1, b2);
    nb *= ls->d[k];
  }
  int64_t m = ta ? ls->d[nd - 1] : ls->d[nd - 2];
  int64_t lk = ta ? ls->d[nd - 2] : ls->d[nd - 1];
  int64_t rk = tb ? rs->d[nd - 1] : rs->d[nd - 2];
  int64_t n = tb ? rs->d[nd - 2] : rs->d[nd - 1];
  if (lk != rk)
    return mx_error(MX_ERR_SHAPE,
                    "shapes %s and %s do not match: the contracted dimensions are %lld and %lld%s",
                    b1, b2, (long long)lk, (long long)rk,
                    (ta || tb) ? " (after transpose_a/transpose_b)" : "");
  *os = *ls;
  os->d[nd - 2] = m;
  os->d[nd - 1] = n;
  *B = nb;
  *M = m;
  *N = n;
  *K = lk;
  return MX_OK;
}

static mx_status shape_batch_dot(const mx_param_value *p, int nin, mx_shape *in,
                                 int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0 || in[1].ndim < 0) return MX_OK;
  int64_t B, M, N, K;
  return batch_dims(&in[0], &in[1], (int)p[P_TA].i, (int)p[P_TB].i, &B, &M, &N, &K, &out[0]);
}

static mx_status batch_dot_run(KARGS, int builtin) {
  (void)nin; (void)nout; (void)req;
  int ta = (int)p[P_TA].i, tb = (int)p[P_TB].i;
  int64_t B, M, N, K;
  mx_shape os;
  mx_status rc = batch_dims(&in[0]->shape, &in[1]->shape, ta, tb, &B, &M, &N, &K, &os);
  if (rc) return rc;
  int dtype = out[0]->dtype;
  size_t es = mx_dtype_size(dtype);
  const char *A = (const char *)MX_PTR(in[0]), *Bm = (const char *)MX_PTR(in[1]);
  char *C = (char *)MX_PTR(out[0]);
  size_t sa = (size_t)(M * K) * es, sb = (size_t)(K * N) * es, sc = (size_t)(M * N) * es;
  int lib = dtype == MX_FLOAT32 && !builtin && (MX_HAVE_DNNL || MX_HAVE_OPENBLAS);
  int per = gemm_threads(c->nthreads, M, N, K);
  if (lib || per > 1 || B < 2) {
    /* one product after another, each using the threads itself */
    for (int64_t b = 0; b < B; b++) {
      rc = gemm_any(c, dtype, M, N, K, ta, tb, A + b * sa, Bm + b * sb, C + b * sc, builtin, per);
      if (rc) return rc;
    }
    return MX_OK;
  }
  /* many small products: one thread per product */
  int nt = gemm_threads(c->nthreads, B * M, N, K);
  if (nt > B) nt = (int)B;
  int failed = 0;
  MX_OMP_FOR(nt)
  for (int64_t b = 0; b < B; b++) {
    if (gemm_builtin(dtype, M, N, K, ta, tb, A + b * sa, Bm + b * sb, C + b * sc, 1) != MX_OK) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
      failed = 1;
    }
  }
  /* the worker's message lives on its own thread: record it here */
  if (failed) return mx_error(MX_ERR_NOMEM, "out of memory (batch_dot workspace)");
  return MX_OK;
}

static mx_status k_batch_dot(KARGS) { return batch_dot_run(c, p, in, nin, out, nout, req, 0); }
static mx_status k_batch_dot_builtin(KARGS) { return batch_dot_run(c, p, in, nin, out, nout, req, 1); }

/* ------------------------------------------------------------ gradients */

/* With C = op(A) op(B) (M x N, contraction K) and G = dC:
 *   dA = G op(B)^T          stored (M x K), or transposed (K x M) when
 *                           transpose_a: dA^T = op(B) G^T;
 *   dB = op(A)^T G          stored (K x N), or transposed (N x K) when
 *                           transpose_b: dB^T = G^T op(A).
 * All through mx_gemm (oneDNN for float32 when built with it).  float32 and
 * float64 only.  Backward reads the inputs and the output gradient. */


/* One product's gradients; A stored (M x K) or (K x M) when ta, B (K x N)
 * or (N x K) when tb, G (M x N). */
static mx_status matmul_grad(const mx_op_ctx *c, int dtype, int ta, int tb, int64_t M,
                             int64_t N, int64_t K, const void *A, const void *B,
                             const void *G, void *dA, void *dB) {
  int64_t lda = ta ? M : K, ldb = tb ? K : N;
  size_t es = mx_dtype_size(dtype);
  mx_status rc = MX_OK;
  if (dA) {
    if (N == 0) memset(dA, 0, (size_t)(M * K) * es);
    else if (!ta) rc = mx_gemm(c, dtype, 0, !tb, M, K, N, 1.0, G, N, B, ldb, 0.0, dA, K);
    else rc = mx_gemm(c, dtype, tb, 1, K, M, N, 1.0, B, ldb, G, N, 0.0, dA, M);
    if (rc) return rc;
  }
  if (dB) {
    if (M == 0) memset(dB, 0, (size_t)(K * N) * es);
    else if (!tb) rc = mx_gemm(c, dtype, !ta, 0, K, N, M, 1.0, A, lda, G, N, 0.0, dB, N);
    else rc = mx_gemm(c, dtype, 1, ta, N, K, M, 1.0, G, N, A, lda, 0.0, dB, K);
  }
  return rc;
}

static mx_status grad_dtype_check(int dtype) {
  if (dtype == MX_FLOAT32 || dtype == MX_FLOAT64) return MX_OK;
  return mx_error(MX_ERR_DTYPE, "gradients need a floating-point dtype (float32 or float64), not %s",
                  mx_dtype_name(dtype));
}

static mx_status b_dot(BARGS) {
  (void)nout; (void)nin; (void)out;
  int wa = req[0] == MX_REQ_WRITE, wb = req[1] == MX_REQ_WRITE;
  if (!wa && !wb) return MX_OK;
  mx_status rc = grad_dtype_check(in[0]->dtype);
  if (rc) return rc;
  int ta = (int)p[P_TA].i, tb = (int)p[P_TB].i;
  int64_t M, N, K;
  mx_shape os;
  rc = dot_dims(&in[0]->shape, &in[1]->shape, ta, tb, &M, &N, &K, &os);
  if (rc) return rc;
  /* as the forward: a 1-d lhs is one row, a 1-d rhs one column */
  if (in[0]->shape.ndim == 1) ta = 0;
  if (in[1]->shape.ndim == 1) tb = 0;
  return matmul_grad(c, in[0]->dtype, ta, tb, M, N, K, MX_PTR(in[0]), MX_PTR(in[1]),
                     MX_PTR(og[0]), wa ? MX_PTR(ig[0]) : NULL, wb ? MX_PTR(ig[1]) : NULL);
}

static mx_status b_batch_dot(BARGS) {
  (void)nout; (void)nin; (void)out;
  int wa = req[0] == MX_REQ_WRITE, wb = req[1] == MX_REQ_WRITE;
  if (!wa && !wb) return MX_OK;
  mx_status rc = grad_dtype_check(in[0]->dtype);
  if (rc) return rc;
  int ta = (int)p[P_TA].i, tb = (int)p[P_TB].i;
  int64_t B, M, N, K;
  mx_shape os;
  rc = batch_dims(&in[0]->shape, &in[1]->shape, ta, tb, &B, &M, &N, &K, &os);
  if (rc) return rc;
  int dtype = in[0]->dtype;
  size_t es = mx_dtype_size(dtype);
  size_t sa = (size_t)(M * K) * es, sb = (size_t)(K * N) * es, sc = (size_t)(M * N) * es;
  const char *A = (const char *)MX_PTR(in[0]), *Bm = (const char *)MX_PTR(in[1]);
  const char *G = (const char *)MX_PTR(og[0]);
  char *dA = wa ? (char *)MX_PTR(ig[0]) : NULL, *dB = wb ? (char *)MX_PTR(ig[1]) : NULL;
  for (int64_t b = 0; b < B; b++) {
    rc = matmul_grad(c, dtype, ta, tb, M, N, K, A + b * sa, Bm + b * sb, G + b * sc,
                     dA ? dA + b * sa : NULL, dB ? dB + b * sb : NULL);
    if (rc) return rc;
  }
  return MX_OK;
}

/* ------------------------------------------------------------ registry */

static const char *const in_lr[] = {"lhs", "rhs", NULL};

static const mx_param_desc p_dot[P_NPARAMS] = {
  [P_TA] = {"transpose_a", MX_PARAM_BOOL, 0, "False", NULL,
   "Contract lhs's first axis instead of its last (lhs used transposed)."},
  [P_TB] = {"transpose_b", MX_PARAM_BOOL, 0, "False", NULL,
   "Contract rhs's last axis instead of its first (rhs used transposed)."},
};

static const mx_param_desc p_batch_dot[P_NPARAMS] = {
  [P_TA] = {"transpose_a", MX_PARAM_BOOL, 0, "False", NULL,
   "Use each lhs matrix transposed."},
  [P_TB] = {"transpose_b", MX_PARAM_BOOL, 0, "False", NULL,
   "Use each rhs matrix transposed."},
};

#define DOT_DOC                                                                  \
  "Dot product of two arrays. In engine (C) order the last axis of lhs is "      \
  "contracted with the first axis of rhs, giving lhs.shape[:-1] + "              \
  "rhs.shape[1:]; transpose_a contracts lhs's first axis and transpose_b "       \
  "rhs's last axis; two vectors give a 1-element array. Because R dimensions "   \
  "are the engine's in reverse order, for R matrices A and B "                   \
  "as.array(mx.nd.dot(mx.nd.array(A), mx.nd.array(B))) equals B %*% A (as in "   \
  "MXNet's R package); use mx.nd.dot(B, A) for A %*% B. float32 uses oneDNN or " \
  "OpenBLAS when available; float64 and integer types use a built-in kernel "    \
  "(integer overflow wraps around)."

#define BATCH_DOC                                                                \
  "Batched matrix product. In engine (C) order lhs is (batch, M, K) and rhs "    \
  "(batch, K, N), giving (batch, M, N) (more leading batch axes are allowed); "  \
  "transpose_a/transpose_b transpose each matrix. In R order the batch is the "  \
  "last dimension and each slice x[, , i] of the result is "                     \
  "rhs[, , i] %*% lhs[, , i]."

const mx_op mx_ops_matmul[] = {
  {.name = "dot", .doc = DOT_DOC, .num_inputs = 2, .input_names = in_lr, .num_outputs = 1,
   .params = p_dot, .num_params = MX_NPARAMS(p_dot), .infer_shape = shape_dot, .cpu = k_dot,
   .backward = b_dot, .flags = MX_OPF_NO_MIRROR, .backward_deps = mx_deps_in_out_grads},
  {.name = "batch_dot", .doc = BATCH_DOC, .num_inputs = 2, .input_names = in_lr, .num_outputs = 1,
   .params = p_batch_dot, .num_params = MX_NPARAMS(p_batch_dot), .infer_shape = shape_batch_dot,
   .cpu = k_batch_dot, .backward = b_batch_dot, .flags = MX_OPF_NO_MIRROR,
   .backward_deps = mx_deps_in_out_grads},
  {.name = "_dot_builtin", .doc = "dot computed with the built-in kernel (tests the fallback).",
   .num_inputs = 2, .input_names = in_lr, .num_outputs = 1, .params = p_dot,
   .num_params = MX_NPARAMS(p_dot), .infer_shape = shape_dot, .cpu = k_dot_builtin,
   .backward = b_dot, .flags = MX_OPF_INTERNAL | MX_OPF_NO_MIRROR, .backward_deps = mx_deps_in_out_grads},
  {.name = "_batch_dot_builtin",
   .doc = "batch_dot computed with the built-in kernel (tests the fallback).", .num_inputs = 2,
   .input_names = in_lr, .num_outputs = 1, .params = p_batch_dot,
   .num_params = MX_NPARAMS(p_batch_dot), .infer_shape = shape_batch_dot,
   .cpu = k_batch_dot_builtin, .backward = b_batch_dot, .flags = MX_OPF_INTERNAL | MX_OPF_NO_MIRROR,
   .backward_deps = mx_deps_in_out_grads},
  {.name = NULL},
};
