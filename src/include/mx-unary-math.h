/*
 * mx-unary-math.h -- the formulas of the unary ops, one row each, shared by
 * the CPU kernels (src/ops/unary.c) and the CUDA kernels
 * (src/cuda/kernels/unary.cu): each side expands the lists with its own
 * kernel-defining macro, so a formula is written once.
 *
 * An includer defines UM_PI, UM_LN2, UM_LN10, UM_DIGAMMA(v) (double) and
 * UM_TANHF(x) (float tanh) before expanding.
 *
 * MX_UNARY_MATH(M): M(name, float expression, double expression) in x.
 * MX_UNARY_GRADS(G): G(name, reads x, reads y, expression) for the
 * gradient in g (output gradient), x (input), y (output) and T (the type).
 */
#ifndef MX_UNARY_MATH_H
#define MX_UNARY_MATH_H

#define MX_UNARY_MATH(M)                                                   \
  M(sqrt, sqrtf(x), sqrt(x))                                               \
  M(rsqrt, 1.0f / sqrtf(x), 1.0 / sqrt(x))                                 \
  M(cbrt, cbrtf(x), cbrt(x))                                               \
  M(reciprocal, 1.0f / x, 1.0 / x)                                         \
  M(exp, expf(x), exp(x))                                                  \
  M(expm1, expm1f(x), expm1(x))                                            \
  M(log, logf(x), log(x))                                                  \
  M(log1p, log1pf(x), log1p(x))                                            \
  M(log2, log2f(x), log2(x))                                               \
  M(log10, log10f(x), log10(x))                                            \
  M(sin, sinf(x), sin(x))                                                  \
  M(cos, cosf(x), cos(x))                                                  \
  M(tan, tanf(x), tan(x))                                                  \
  M(arcsin, asinf(x), asin(x))                                             \
  M(arccos, acosf(x), acos(x))                                             \
  M(arctan, atanf(x), atan(x))                                             \
  M(sinh, sinhf(x), sinh(x))                                               \
  M(cosh, coshf(x), cosh(x))                                               \
  M(tanh, UM_TANHF(x), tanh(x))                                            \
  M(arcsinh, asinhf(x), asinh(x))                                          \
  M(arccosh, acoshf(x), acosh(x))                                          \
  M(arctanh, atanhf(x), atanh(x))                                          \
  M(sigmoid, 1.0f / (1.0f + expf(-x)), 1.0 / (1.0 + exp(-x)))              \
  M(softsign, x / (1.0f + fabsf(x)), x / (1.0 + fabs(x)))                  \
  M(degrees, x * (float)(180.0 / UM_PI), x * (180.0 / UM_PI))              \
  M(radians, x * (float)(UM_PI / 180.0), x * (UM_PI / 180.0))

#define MX_UNARY_GRADS(G)                                                  \
  /* from the input */                                                     \
  G(abs, 1, 0, (x > 0 ? g : x < 0 ? -g : (T)0))                            \
  G(square, 1, 0, g * (T)2 * x)                                            \
  G(log, 1, 0, g / x)                                                      \
  G(log1p, 1, 0, g / ((T)1 + x))                                           \
  G(log2, 1, 0, g / (x * (T)UM_LN2))                                       \
  G(log10, 1, 0, g / (x * (T)UM_LN10))                                     \
  G(sin, 1, 0, g * cos((double)x))                                         \
  G(cos, 1, 0, -g * sin((double)x))                                        \
  G(arcsin, 1, 0, g / sqrt(1.0 - (double)x * x))                           \
  G(arccos, 1, 0, -g / sqrt(1.0 - (double)x * x))                          \
  G(arctan, 1, 0, g / ((T)1 + x * x))                                      \
  G(sinh, 1, 0, g * cosh((double)x))                                       \
  G(cosh, 1, 0, g * sinh((double)x))                                       \
  G(arcsinh, 1, 0, g / sqrt((double)x * x + 1.0))                          \
  G(arccosh, 1, 0, g / sqrt((double)x * x - 1.0))                          \
  G(arctanh, 1, 0, g / ((T)1 - x * x))                                     \
  G(softsign, 1, 0, g / (((T)1 + (x < 0 ? -x : x)) * ((T)1 + (x < 0 ? -x : x)))) \
  G(gammaln, 1, 0, g * UM_DIGAMMA((double)x))                              \
  /* from the output */                                                    \
  G(sqrt, 0, 1, g * (T)0.5 / y)                                            \
  G(rsqrt, 0, 1, g * (T)-0.5 * y * y * y)                                  \
  G(exp, 0, 1, g * y)                                                      \
  G(expm1, 0, 1, g * (y + (T)1))                                           \
  G(tan, 0, 1, g * ((T)1 + y * y))                                         \
  G(tanh, 0, 1, g * ((T)1 - y * y))                                        \
  G(sigmoid, 0, 1, g * y * ((T)1 - y))                                     \
  G(relu, 0, 1, (y > 0 ? g : (T)0))                                        \
  G(reciprocal, 0, 1, -g * y * y)                                          \
  G(cbrt, 0, 1, g / ((T)3 * y * y))                                        \
  /* from both */                                                          \
  G(gamma, 1, 1, g * y * UM_DIGAMMA((double)x))                            \
  /* from the output gradient alone */                                     \
  G(negative, 0, 0, -g)                                                    \
  G(degrees, 0, 0, g * (T)(180.0 / UM_PI))                                 \
  G(radians, 0, 0, g * (T)(UM_PI / 180.0))

#endif
