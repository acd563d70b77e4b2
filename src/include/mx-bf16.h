/*
 * mx-bf16.h -- bfloat16 <-> float32 on bit patterns, one definition for
 * the engine (dtype.c) and the CUDA module (kernels/basic.cu), so host and
 * device round identically.  bfloat16 is the top half of a float32.
 */
#ifndef MX_BF16_H
#define MX_BF16_H

#include <stdint.h>

#ifdef __CUDACC__
#define MX_BF16_FN __host__ __device__ static inline
#else
#define MX_BF16_FN static inline
#endif

/* float32 bits -> bfloat16 bits: round to nearest even; a NaN stays NaN
 * (sign and top payload kept, quiet bit set); a carry out of the mantissa
 * moves into the exponent, so the largest finite values round up to Inf
 * as IEEE overflow does, and Inf stays Inf. */
MX_BF16_FN uint16_t mx_bf16_from_bits(uint32_t x) {
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x0040u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t)(x >> 16);
}

/* bfloat16 bits -> float32 bits (exact). */
MX_BF16_FN uint32_t mx_bf16_to_bits(uint16_t h) { return (uint32_t)h << 16; }

#undef MX_BF16_FN
#endif /* MX_BF16_H */
