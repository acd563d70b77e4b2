/*
 * rng.c -- counter-based random numbers (Philox-4x32-10, Salmon et al.,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
 *
 * Element block j of a stream is philox(key = seed, counter = position + j),
 * so a fill gives the same numbers on any number of threads (and, later, on
 * the GPU).  The seed of each imperative call is drawn by the R glue from R's
 * own generator, which makes set.seed() the one seed users need.
 */
#include "../include/mx-internal.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void philox(uint64_t seed, uint64_t ctr, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0x5eedu, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
    uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void mx_rng_init(mx_rng *r, uint64_t seed) {
  r->seed = seed;
  r->counter = 0;
}

/* [0, 1) with 24 / 53 random bits; (0, 1] variants for logarithms */
static inline float u24(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }
static inline double u53(uint32_t a, uint32_t b) {
  return (double)(((uint64_t)(a >> 5) << 26) | (b >> 6)) * (1.0 / 9007199254740992.0);
}

#define TWO_PI 6.283185307179586476925286766559

void mx_rng_uniform_f32(mx_rng *r, float *dst, int64_t n, double lo, double hi) {
  int64_t nb = (n + 3) / 4;
  uint64_t seed = r->seed, base = r->counter;
  float flo = (float)lo, span = (float)(hi - lo);
  int nt = mx_par_threads(n);
  MX_OMP_FOR(nt)
  for (int64_t b = 0; b < nb; b++) {
    uint32_t x[4];
    philox(seed, base + (uint64_t)b, x);
    for (int j = 0; j < 4; j++) {
      int64_t i = b * 4 + j;
      if (i < n) {
        float v = flo + span * u24(x[j]);
        /* rounding can reach hi when span is large relative to lo */
        dst[i] = v < (float)hi ? v : flo;
      }
    }
  }
  r->counter += (uint64_t)nb;
}

void mx_rng_uniform_f64(mx_rng *r, double *dst, int64_t n, double lo, double hi) {
  int64_t nb = (n + 1) / 2;
  uint64_t seed = r->seed, base = r->counter;
  int nt = mx_par_threads(n);
  MX_OMP_FOR(nt)
  for (int64_t b = 0; b < nb; b++) {
    uint32_t x[4];
    philox(seed, base + (uint64_t)b, x);
    for (int j = 0; j < 2; j++) {
      int64_t i = b * 2 + j;
      if (i < n) {
        double v = lo + (hi - lo) * u53(x[2 * j], x[2 * j + 1]);
        dst[i] = v < hi ? v : lo;
      }
    }
  }
  r->counter += (uint64_t)nb;
}

void mx_rng_normal_f32(mx_rng *r, float *dst, int64_t n, double mean, double sd) {
  int64_t nb = (n + 3) / 4;
  uint64_t seed = r->seed, base = r->counter;
  int nt = mx_par_threads(n);
  MX_OMP_FOR(nt)
  for (int64_t b = 0; b < nb; b++) {
    uint32_t x[4];
    philox(seed, base + (uint64_t)b, x);
    for (int j = 0; j < 2; j++) {
      double u1 = 1.0 - (double)u24(x[2 * j]);       /* (0, 1] */
      double u2 = (double)u24(x[2 * j + 1]);
      double rad = sqrt(-2.0 * log(u1));
      double z0 = rad * cos(TWO_PI * u2), z1 = rad * sin(TWO_PI * u2);
      int64_t i = b * 4 + 2 * j;
      if (i < n) dst[i] = (float)(mean + sd * z0);
      if (i + 1 < n) dst[i + 1] = (float)(mean + sd * z1);
    }
  }
  r->counter += (uint64_t)nb;
}

void mx_rng_normal_f64(mx_rng *r, double *dst, int64_t n, double mean, double sd) {
  int64_t nb = (n + 1) / 2;
  uint64_t seed = r->seed, base = r->counter;
  int nt = mx_par_threads(n);
  MX_OMP_FOR(nt)
  for (int64_t b = 0; b < nb; b++) {
    uint32_t x[4];
    philox(seed, base + (uint64_t)b, x);
    double u1 = 1.0 - u53(x[0], x[1]);
    double u2 = u53(x[2], x[3]);
    double rad = sqrt(-2.0 * log(u1));
    int64_t i = b * 2;
    if (i < n) dst[i] = mean + sd * rad * cos(TWO_PI * u2);
    if (i + 1 < n) dst[i + 1] = mean + sd * rad * sin(TWO_PI * u2);
  }
  r->counter += (uint64_t)nb;
}
