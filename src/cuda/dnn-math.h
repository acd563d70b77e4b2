/*
 * dnn-math.h -- per-element and per-window formulas of the module's own
 * kernels (kernels/dnn-kernels.cu), written once for the device and the
 * host: nvcc compiles them as __host__ __device__, gcc as static inline,
 * so tools/cudnn-shape-check/fake-run runs the same code on the host and
 * compares it with the CPU kernels.  The formulas are the CPU's
 * (src/ops/nn.c, src/ops/nn-conv.c).
 */
#ifndef MX_DNN_MATH_H
#define MX_DNN_MATH_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define MX_DNN_HD static __host__ __device__ __forceinline__
#else
#define MX_DNN_HD static inline
#endif

/* softrelu (act 0; x itself above MXNet's threshold 20) and softsign
 * (act 1), and their gradients from the input x. */
#define MX_DNN_ACT_DEFS(T, S)                                                     \
  MX_DNN_HD T mx_dnn_act_##S(int act, T x) {                                      \
    return act == 0 ? (x > (T)20 ? x : (T)log1p(exp(x))) : x / ((T)1 + (T)fabs(x)); \
  }                                                                               \
  MX_DNN_HD T mx_dnn_act_grad_##S(int act, T g, T x) {                            \
    T t = (T)1 + (T)fabs(x);                                                      \
    return act == 0 ? g / ((T)1 + (T)exp(-x)) : g / (t * t);                      \
  }

/* Max pooling backward (nn-conv.c pool_bwd): the cell of a plane (offset
 * h * W + w) that receives the gradient of output (oh, ow) -- the first
 * cell of the window, in scan order, equal to the output m -- or -1.
 * Storage type T, compared as M after conversion CV (the half types as
 * float: exact). */
#define MX_DNN_SAME(v) (v)
#define MX_DNN_POOL_DEFS(T, M, S, CV)                                             \
  MX_DNN_HD int64_t mx_dnn_maxpool_arg_##S(const T *xp, M m, int64_t H, int64_t W, \
                                           int64_t oh, int64_t ow, int64_t kh,   \
                                           int64_t kw, int64_t sh, int64_t sw,   \
                                           int64_t ph, int64_t pw) {             \
    int64_t h0 = oh * sh - ph, w0 = ow * sw - pw, h1 = h0 + kh, w1 = w0 + kw;    \
    if (h1 > H) h1 = H;                                                           \
    if (w1 > W) w1 = W;                                                           \
    if (h0 < 0) h0 = 0;                                                           \
    if (w0 < 0) w0 = 0;                                                           \
    for (int64_t h = h0; h < h1; h++)                                             \
      for (int64_t w = w0; w < w1; w++)                                           \
        if (CV(xp[h * W + w]) == m) return h * W + w;                             \
    return -1;                                                                    \
  }

MX_DNN_ACT_DEFS(float, f32)
MX_DNN_ACT_DEFS(double, f64)
MX_DNN_POOL_DEFS(float, float, f32, MX_DNN_SAME)
MX_DNN_POOL_DEFS(double, double, f64, MX_DNN_SAME)

/* BatchNorm after cuDNN's training forward: the biased variance from the
 * saved inverse standard deviation istd = 1 / sqrt(var + eps), and one
 * step of a moving average (nn.c bn_forward). */
MX_DNN_HD double mx_dnn_bn_var(double istd, double eps) {
  double v = 1.0 / (istd * istd) - eps;
  return v < 0 ? 0 : v;
}
MX_DNN_HD double mx_dnn_istd_of(double var, double eps) { return 1.0 / sqrt(var + eps); }
MX_DNN_HD double mx_dnn_moving(double old, double batch, double mom) {
  return old * mom + batch * (1 - mom);
}

#endif /* MX_DNN_MATH_H */
