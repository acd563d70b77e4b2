/*
 * cudnn-desc.h -- shared by the cuBLAS / cuDNN host files of the CUDA module
 * (gemm-cublas.c, conv-cudnn.c, pool-cudnn.c, bn-cudnn.c, act-cudnn.c,
 * rnn-cudnn.c, dnn-table.c) and by tools/cudnn-shape-check, which links cudnn-desc.c to
 * test the real descriptor code without a GPU.
 *
 *  - parameter indices resolved by name (the parameter enums are private to
 *    src/ops files): mx_dnn_param, mx_dnn_choice;
 *  - the geometry of Convolution / Deconvolution / Pooling read from their
 *    params with the CPU's conventions (src/ops/nn-conv.c: conv_spat,
 *    read_tuple, deconv_geom, pool_geom), and the cuDNN descriptors built
 *    from it;
 *  - the row-major -> column-major mapping of a GEMM for cuBLAS;
 *  - the launchers of the module's own small kernels (kernels/dnn-*.cu).
 *
 * cudnn-desc.c needs only cuDNN's descriptor functions (they run without a
 * GPU or driver), mx_host->error_at (through mx_error) and mx_cudnn_check.
 */
#ifndef MX_CUDNN_DESC_H
#define MX_CUDNN_DESC_H

#include "cuda-common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------ parameters by name */

/* Index of parameter `key` of op `op_name`; an error (never -1) when the op
 * or the parameter does not exist. */
mx_status mx_dnn_param(const char *op_name, const char *key, int *out);
/* Index of `choice` in the ENUM parameter `key` of op `op_name`. */
mx_status mx_dnn_choice(const char *op_name, const char *key, const char *choice, int *out);
/* Position of `choice` in a "a|b|c" list, or -1. */
int mx_dnn_choice_pos(const char *choices, const char *choice);

/* ------------------------------------------------ convolution geometry */

/* Indices of the Convolution / Deconvolution parameters (adj and
 * target_shape: Deconvolution only, -1 for Convolution). */
typedef struct mx_dnn_conv_ix {
  int kernel, stride, dilate, pad, adj, target, num_filter, num_group, workspace, no_bias,
      cudnn_tune, cudnn_off, layout;
  int tune_off, tune_limited, tune_fastest;   /* cudnn_tune choices        */
  int layout_ncw, layout_nchw;                /* layout choices            */
} mx_dnn_conv_ix;

/* A 2-D convolution (1-D: H = kh = sh = dh = 1, ph = 0):
 * x (N, C, H, W), w (F, C / G, kh, kw), y (N, F, Ho, Wo).
 * A Deconvolution is described by the convolution it transposes: x is the
 * deconvolution's output, y its data. */
typedef struct mx_dnn_conv {
  int nd, deconv, no_bias;
  int tune;                      /* -1 unset, else 0 off, 1 limited, 2 fastest */
  int64_t ws_mb;                 /* the workspace parameter (MB)              */
  int64_t N, C, H, W, F, Ho, Wo, G;
  int64_t kh, kw, sh, sw, dh, dw, ph, pw;
  int64_t adj_h, adj_w;          /* deconv: rows/cols beyond the symmetric pad */
} mx_dnn_conv;

/* Geometry of a Convolution (deconv = 0; data: its input) or a
 * Deconvolution (deconv = 1; data: its input, the convolution's output)
 * with the CPU's conventions.  Returns 0, or -1 with *why when the call is
 * one this module refuses (3-D, another layout, a shape the CPU would
 * reject, an input, output or filter of 2^31 elements or more). */
int mx_dnn_conv_geom(const mx_param_value *p, const mx_dnn_conv_ix *ix, int deconv,
                     const mx_shape *data, mx_dnn_conv *g, const char **why);

/* ------------------------------------------------ pooling geometry */

typedef struct mx_dnn_pool_ix {
  int kernel, pool_type, global_pool, cudnn_off, convention, stride, pad, p_value, count_pad,
      layout;
  int type_max, type_avg;                       /* pool_type choices         */
  int conv_valid, conv_full, conv_same;         /* pooling_convention choices */
  int layout_ncw, layout_nchw;
} mx_dnn_pool_ix;

typedef struct mx_dnn_pool {
  int nd, max, count_pad;        /* max: 1 max pooling, 0 average            */
  int64_t N, C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw;
} mx_dnn_pool;

/* Geometry of a Pooling call; -1 with *why for what cuDNN cannot do as the
 * CPU does (sum and lp pooling, 'full' and 'same' conventions whose
 * output differs from 'valid', 3-D, an input or output of 2^31 elements
 * or more). */
int mx_dnn_pool_geom(const mx_param_value *p, const mx_dnn_pool_ix *ix, const mx_shape *data,
                     mx_dnn_pool *g, const char **why);

/* ------------------------------------------------ cuDNN descriptors */

/* cuDNN's data type of an engine dtype; -1 where cuDNN has none. */
int mx_dnn_cudnn_dtype(int dtype);

typedef struct mx_dnn_conv_desc {
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
} mx_dnn_conv_desc;

/* Descriptors of g in dtype (y from cuDNN's output size, which must equal
 * g's Ho, Wo: else MX_ERR_UNSUPPORTED).  On failure nothing is left
 * allocated. */
mx_status mx_dnn_conv_desc_make(const mx_dnn_conv *g, int dtype, mx_dnn_conv_desc *d);
void mx_dnn_conv_desc_free(mx_dnn_conv_desc *d);
/* cuDNN's output size for x, w and conv of d (n, c, h, w). */
mx_status mx_dnn_conv_out_dims(const mx_dnn_conv_desc *d, int out[4]);

typedef struct mx_dnn_pool_desc {
  cudnnTensorDescriptor_t x, y;
  cudnnPoolingDescriptor_t pool;
} mx_dnn_pool_desc;

mx_status mx_dnn_pool_desc_make(const mx_dnn_pool *g, int dtype, mx_dnn_pool_desc *d);
void mx_dnn_pool_desc_free(mx_dnn_pool_desc *d);
mx_status mx_dnn_pool_out_dims(const mx_dnn_pool_desc *d, int out[4]);

/* NULL when cuDNN's legacy descriptors take each of the n packed 4-D
 * tensors in dims: every dimension in int range and fewer than 2^31
 * elements (cudnnSetTensor4dDescriptor answers NOT_SUPPORTED from 2^31;
 * filters are held to the same limit; an empty tensor passes, as it is
 * never described to cuDNN); else why not. */
const char *mx_dnn_desc_why(const int64_t dims[][4], int n);

/* An NCHW tensor descriptor (n, c, h, w) in dtype. */
mx_status mx_dnn_tensor4(cudnnTensorDescriptor_t *t, int dtype, int64_t n, int64_t c, int64_t h,
                         int64_t w);

/* ------------------------------------------------ GEMM mapping */

/* C (M x N, row-major, leading dimension ldc) = op(A) op(B) with A stored
 * (M x K) or, when ta, (K x M) (leading dimension lda), B (K x N) or (N x K)
 * (ldb).  Column-major cuBLAS computes the same memory as
 * C^T = op(B)^T op(A)^T: first operand B, second A, m = N, n = M. */
typedef struct mx_gemm_colmajor {
  int trans_first, trans_second;   /* 1: CUBLAS_OP_T                     */
  int64_t m, n, k;
  int first_is_b;                  /* always 1: the first operand is B   */
  int64_t ld_first, ld_second, ldc;
} mx_gemm_colmajor;

static inline mx_gemm_colmajor mx_gemm_to_colmajor(int ta, int tb, int64_t M, int64_t N,
                                                   int64_t K, int64_t lda, int64_t ldb,
                                                   int64_t ldc) {
  mx_gemm_colmajor g;
  g.trans_first = tb;
  g.trans_second = ta;
  g.m = N;
  g.n = M;
  g.k = K;
  g.first_is_b = 1;
  g.ld_first = ldb;
  g.ld_second = lda;
  g.ldc = ldc;
  return g;
}

/* ------------------------------------------------ own kernels (dnn-*.cu) */

/* y[o, c, i] += b[c] for (outer, C, inner) y; dtype float32 or float64. */
mx_status mx_dnn_bias_add(cudaStream_t s, int dtype, void *y, const void *b, int64_t outer,
                          int64_t C, int64_t inner);
/* db[c] = sum over o, i of dy[o, c, i]. */
mx_status mx_dnn_bias_grad(cudaStream_t s, int dtype, void *db, const void *dy, int64_t outer,
                           int64_t C, int64_t inner);
/* softrelu (act 0) and softsign (act 1): y = f(x); dx = dy f'(x). */
mx_status mx_dnn_act_fwd(cudaStream_t s, int dtype, int act, const void *x, void *y, int64_t n);
mx_status mx_dnn_act_bwd(cudaStream_t s, int dtype, int act, const void *dy, const void *x,
                         void *dx, int64_t n);
/* Max pooling backward as the CPU (nn-conv.c pool_bwd): dx = 0, then each
 * output's gradient goes to the first cell of its window equal to the
 * output (dnn-math.h mx_dnn_maxpool_arg_*). */
mx_status mx_dnn_maxpool_bwd(cudaStream_t s, int dtype, const mx_dnn_pool *g, const void *x,
                             const void *y, const void *dy, void *dx);
/* y = x * scale (n elements; y may be x). */
mx_status mx_dnn_scale(cudaStream_t s, int dtype, const void *x, void *y, double scale, int64_t n);
/* BatchNorm after cuDNN's training forward (exponential factor 0): from the
 * saved inverse standard deviation istd = 1 / sqrt(var + eps), the biased
 * variance var = 1 / istd^2 - eps into var_out (may be NULL), and the
 * moving statistics mm = mm mom + mean (1 - mom), mv = mv mom + var (1 - mom)
 * (C channels; mean is cuDNN's saved mean). */
mx_status mx_dnn_bn_finish(cudaStream_t s, int dtype, int64_t C, const void *mean,
                           const void *istd, double eps, double mom, void *var_out, void *mm,
                           void *mv);
/* istd[c] = 1 / sqrt(var[c] + eps) (C channels). */
mx_status mx_dnn_bn_istd(cudaStream_t s, int dtype, int64_t C, const void *var, double eps,
                         void *istd);
/* BatchNorm backward with given statistics (x, dy, dx (outer, C, inner)
 * of dtype; mean, var, gamma, dg, db of pdtype: float32 for half data):
 * db = sum dy, dg = sum dy (x - mean) istd (0 when fix), and, when dx is
 * not NULL, dx = g istd dy (the use_global_stats / inference gradient). */
mx_status mx_dnn_bn_bwd_stats(cudaStream_t s, int dtype, int pdtype, const void *x, const void *dy,
                              const void *mean, const void *var, const void *gamma, double eps,
                              int fix, int64_t outer, int64_t C, int64_t inner, void *dx,
                              void *dg, void *db);

/* ------------------------------------------------ family entry points */

/* Kernels (mx-op.h contracts) and supports() of each op, listed in
 * mx_gpu_kernels_dnn (dnn-table.c). */
#define MX_DNN_OP(name)                                                           \
  mx_status mx_dnn_##name##_fwd(KARGS);                                           \
  mx_status mx_dnn_##name##_bwd(BARGS);
MX_DNN_OP(fc)
MX_DNN_OP(dot)
MX_DNN_OP(batch_dot)
MX_DNN_OP(conv)
MX_DNN_OP(deconv)
MX_DNN_OP(pool)
MX_DNN_OP(bn)
MX_DNN_OP(rnn)
MX_DNN_OP(activation)
MX_DNN_OP(softmax)
MX_DNN_OP(log_softmax)
#undef MX_DNN_OP
#define MX_DNN_SUPPORTS(name)                                                     \
  int mx_dnn_##name##_supports(const mx_param_value *p, int nin, const mx_shape *in, \
                               const int *in_dtypes, const char **why);
MX_DNN_SUPPORTS(matmul)
MX_DNN_SUPPORTS(conv)
MX_DNN_SUPPORTS(deconv)
MX_DNN_SUPPORTS(pool)
MX_DNN_SUPPORTS(bn)
MX_DNN_SUPPORTS(rnn)
MX_DNN_SUPPORTS(softmax)
MX_DNN_SUPPORTS(log_softmax)
#undef MX_DNN_SUPPORTS

/* ------------------------------------------------ family hooks */

/* Resolve each family's parameter indices (dnn-table.c calls them all
 * from mx_cuda_dnn_init). */
mx_status mx_dnn_gemm_init(void);
mx_status mx_dnn_conv_init(void);
mx_status mx_dnn_pool_init(void);
mx_status mx_dnn_bn_init(void);
mx_status mx_dnn_rnn_init(void);
mx_status mx_dnn_act_init(void);
/* Release the convolution algorithm cache (its descriptors). */
void mx_dnn_conv_shutdown(void);
/* Release the RNN's dropout states (one per device). */
void mx_dnn_rnn_shutdown(void);

/* Module hooks (called by device.c): init after mx_host is set, before
 * the first kernel lookup; shutdown before handles are destroyed. */
mx_status mx_cuda_dnn_init(void);
void mx_cuda_dnn_shutdown(void);

/* Scratch device memory for one call: the engine's mx_scratch_open through
 * mx_host (c->workspace when the executor planned enough, else a pool block,
 * closed once the work is queued: the block's next user is queued on the
 * same stream, after this work). */

/* Whether output/gradient k is to be written (the CPU's WANT). */
static inline int mx_dnn_want(const mx_ndarray *a, const int *req, int k) {
  return a && req && (req[k] == MX_REQ_WRITE || req[k] == MX_REQ_INPLACE);
}

#ifdef __cplusplus
}
#endif

#endif /* MX_CUDNN_DESC_H */
