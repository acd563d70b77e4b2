/*
 * dtype.c -- element types: names, sizes, half precision, conversions.
 */
#include "../include/mx-internal.h"
#include "../include/mx-bf16.h"

#include <math.h>
#include <stdio.h>

int mx_dtype_valid(int dtype) {
  switch (dtype) {
    case MX_FLOAT32: case MX_FLOAT64: case MX_FLOAT16: case MX_BFLOAT16:
    case MX_UINT8: case MX_INT8: case MX_INT32: case MX_INT64:
      return 1;
    default:
      return 0;
  }
}

size_t mx_dtype_size(int dtype) {
  switch (dtype) {
    case MX_FLOAT32: return 4;
    case MX_FLOAT64: return 8;
    case MX_FLOAT16: return 2;
    case MX_BFLOAT16: return 2;
    case MX_UINT8: return 1;
    case MX_INT8: return 1;
    case MX_INT32: return 4;
    case MX_INT64: return 8;
    default: return 0;
  }
}

const char *mx_dtype_name(int dtype) {
  switch (dtype) {
    case MX_FLOAT32: return "float32";
    case MX_FLOAT64: return "float64";
    case MX_FLOAT16: return "float16";
    case MX_BFLOAT16: return "bfloat16";
    case MX_UINT8: return "uint8";
    case MX_INT8: return "int8";
    case MX_INT32: return "int32";
    case MX_INT64: return "int64";
    default: return "?";
  }
}

int mx_dtype_from_name(const char *name) {
  static const struct { const char *n; int t; } tbl[] = {
    {"float32", MX_FLOAT32}, {"float64", MX_FLOAT64}, {"float16", MX_FLOAT16},
    {"uint8", MX_UINT8}, {"int8", MX_INT8}, {"int32", MX_INT32}, {"int64", MX_INT64},
    {"bfloat16", MX_BFLOAT16},
    {"float", MX_FLOAT32}, {"double", MX_FLOAT64}, {"half", MX_FLOAT16},
  };
  if (!name) return -1;
  for (size_t i = 0; i < sizeof tbl / sizeof tbl[0]; i++)
    if (strcmp(name, tbl[i].n) == 0) return tbl[i].t;
  return -1;
}

int mx_dtype_is_float(int dtype) {
  return dtype == MX_FLOAT32 || dtype == MX_FLOAT64 || dtype == MX_FLOAT16 ||
         dtype == MX_BFLOAT16;
}

/* ------------------------------------------------------------ float16 */

uint16_t mx_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mant = x & 0x7fffffu;
  int32_t exp = (int32_t)((x >> 23) & 0xffu);
  if (exp == 0xff) {                         /* inf or NaN */
    if (mant) return (uint16_t)(sign | 0x7e00u | (mant >> 13));
    return (uint16_t)(sign | 0x7c00u);
  }
  int32_t e = exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u);      /* overflow */
  if (e <= 0) {                                           /* subnormal */
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000u;
    int shift = 14 - e;
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (h & 1u))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = sign | ((uint32_t)e << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;  /* may carry */
  return (uint16_t)h;
}

float mx_f16_to_f32(uint16_t hv) {
  uint32_t h = hv;
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {
      int32_t e = 1;
      while (!(mant & 0x400u)) { mant <<= 1; e--; }
      mant &= 0x3ffu;
      x = sign | ((uint32_t)(e + 112) << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

/* ----------------------------------------------------------- bfloat16 */

uint16_t mx_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  return mx_bf16_from_bits(x);
}

float mx_bf16_to_f32(uint16_t h) {
  uint32_t x = mx_bf16_to_bits(h);
  float f;
  memcpy(&f, &x, 4);
  return f;
}

/* --------------------------------------------------------- conversions */

/* Float to integer without undefined behaviour: NaN -> 0, saturate. */
#define MX_F2I(T, lo, hi, v) \
  ((v) != (v) ? (T)0 : (v) <= (double)(lo) ? (T)(lo) : (v) >= (double)(hi) ? (T)(hi) : (T)(v))

static inline double ld(const void *p, int dt, int64_t i) {
  switch (dt) {
    case MX_FLOAT32: return ((const float *)p)[i];
    case MX_FLOAT64: return ((const double *)p)[i];
    case MX_FLOAT16: return mx_f16_to_f32(((const uint16_t *)p)[i]);
    case MX_BFLOAT16: return mx_bf16_to_f32(((const uint16_t *)p)[i]);
    case MX_UINT8: return ((const uint8_t *)p)[i];
    case MX_INT8: return ((const int8_t *)p)[i];
    case MX_INT32: return ((const int32_t *)p)[i];
    case MX_INT64: return (double)((const int64_t *)p)[i];
    default: return 0;
  }
}

double mx_load_f64(const void *p, int dtype, int64_t i) { return ld(p, dtype, i); }

void mx_store_f64(void *p, int dtype, int64_t i, double v) {
  switch (dtype) {
    case MX_FLOAT32: ((float *)p)[i] = (float)v; break;
    case MX_FLOAT64: ((double *)p)[i] = v; break;
    case MX_FLOAT16: ((uint16_t *)p)[i] = mx_f32_to_f16((float)v); break;
    case MX_BFLOAT16: ((uint16_t *)p)[i] = mx_f32_to_bf16((float)v); break;
    case MX_UINT8: ((uint8_t *)p)[i] = MX_F2I(uint8_t, 0, 255, v); break;
    case MX_INT8: ((int8_t *)p)[i] = MX_F2I(int8_t, -128, 127, v); break;
    case MX_INT32: ((int32_t *)p)[i] = MX_F2I(int32_t, INT32_MIN, INT32_MAX, v); break;
    case MX_INT64: ((int64_t *)p)[i] = MX_F2I(int64_t, INT64_MIN, INT64_MAX, v); break;
    default: break;
  }
}

/* Loops over two C element types; EXPR converts v. */
#define CONV_LOOP(S, D, EXPR)                                   \
  do {                                                          \
    const S *s_ = (const S *)src;                               \
    D *d_ = (D *)dst;                                           \
    int nt_ = mx_par_threads(n);                                \
    MX_OMP_FOR(nt_)                                             \
    for (int64_t i = 0; i < n; i++) { S v = s_[i]; d_[i] = EXPR; } \
  } while (0)

/* A copy of nb bytes: large copies between separate buffers in parallel
 * chunks (one core does not reach the memory bandwidth of two), others with
 * memmove (they may overlap). */
#define COPY_CHUNK ((size_t)1 << 18)
static void copy_bytes(void *dst, const void *src, size_t nb) {
  const char *s = (const char *)src;
  char *d = (char *)dst;
  if (nb < 8 * COPY_CHUNK || (d < s + nb && s < d + nb)) {
    memmove(d, s, nb);
    return;
  }
  int64_t nc = (int64_t)((nb + COPY_CHUNK - 1) / COPY_CHUNK);
  int nt = mx_par_threads((int64_t)(nb / sizeof(float)));
  (void)nt;
  MX_OMP_FOR(nt)
  for (int64_t c = 0; c < nc; c++) {
    size_t off = (size_t)c * COPY_CHUNK, len = nb - off < COPY_CHUNK ? nb - off : COPY_CHUNK;
    memcpy(d + off, s + off, len);
  }
}

void mx_convert(const void *src, int st, void *dst, int dt, int64_t n) {
  if (n <= 0) return;
  if (st == dt) {
    if (src != dst) copy_bytes(dst, src, (size_t)n * mx_dtype_size(st));
    return;
  }
  /* fast common paths */
  if (st == MX_FLOAT64 && dt == MX_FLOAT32) { CONV_LOOP(double, float, (float)v); return; }
  if (st == MX_FLOAT32 && dt == MX_FLOAT64) { CONV_LOOP(float, double, (double)v); return; }
  if (st == MX_FLOAT32 && dt == MX_FLOAT16) { CONV_LOOP(float, uint16_t, mx_f32_to_f16(v)); return; }
  if (st == MX_FLOAT16 && dt == MX_FLOAT32) { CONV_LOOP(uint16_t, float, mx_f16_to_f32(v)); return; }
  if (st == MX_FLOAT32 && dt == MX_BFLOAT16) { CONV_LOOP(float, uint16_t, mx_f32_to_bf16(v)); return; }
  if (st == MX_BFLOAT16 && dt == MX_FLOAT32) { CONV_LOOP(uint16_t, float, mx_bf16_to_f32(v)); return; }
  if (st == MX_INT32 && dt == MX_FLOAT32) { CONV_LOOP(int32_t, float, (float)v); return; }
  if (st == MX_INT32 && dt == MX_FLOAT64) { CONV_LOOP(int32_t, double, (double)v); return; }
  /* general path through double (exact for every pair except int64 beyond
   * 2^53, which only loses precision when converted to a float type anyway) */
  if (st == MX_INT64 && !mx_dtype_is_float(dt)) {
    const int64_t *s = (const int64_t *)src;
    for (int64_t i = 0; i < n; i++) {
      int64_t v = s[i];
      if (dt == MX_INT32) ((int32_t *)dst)[i] = v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
      else if (dt == MX_INT8) ((int8_t *)dst)[i] = v < -128 ? -128 : v > 127 ? 127 : (int8_t)v;
      else ((uint8_t *)dst)[i] = v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
    }
    return;
  }
  if (dt == MX_INT64 && (st == MX_INT32 || st == MX_UINT8)) {
    for (int64_t i = 0; i < n; i++) ((int64_t *)dst)[i] = st == MX_INT32 ? ((const int32_t *)src)[i] : ((const uint8_t *)src)[i];
    return;
  }
  int nt = mx_par_threads(n);
  MX_OMP_FOR(nt)
  for (int64_t i = 0; i < n; i++) mx_store_f64(dst, dt, i, ld(src, st, i));
}

/* ------------------------------------------------------------- shapes */

int64_t mx_shape_size(const mx_shape *s) {
  int64_t n = 1;
  for (int k = 0; k < s->ndim; k++) n *= s->d[k];
  return n;
}

int mx_shape_equal(const mx_shape *a, const mx_shape *b) {
  if (a->ndim != b->ndim) return 0;
  for (int k = 0; k < a->ndim; k++)
    if (a->d[k] != b->d[k]) return 0;
  return 1;
}

static int shape_r_order = 0;

void mx_shape_format_r(int r_order) { shape_r_order = r_order; }

void mx_shape_format(const mx_shape *s, char *buf, size_t len) {
  if (len == 0) return;
  if (s->ndim < 0) { snprintf(buf, len, "(unknown)"); return; }
  int r = shape_r_order;
  size_t pos = 0;
  int w = snprintf(buf, len, r ? "c(" : "(");
  pos = w > 0 ? (size_t)w : 0;
  for (int k = 0; k < s->ndim && pos < len; k++) {
    int64_t v = r ? s->d[s->ndim - 1 - k] : s->d[k];
    w = snprintf(buf + pos, len - pos, k ? ", %lld" : "%lld", (long long)v);
    if (w > 0) pos += (size_t)w;
  }
  if (pos < len) snprintf(buf + pos, len - pos, (!r && s->ndim == 1) ? ",)" : ")");
}

mx_status mx_shape_make(mx_shape *s, int ndim, const int64_t *d) {
  if (ndim < 0 || ndim > MX_MAX_DIM)
    return mx_error(MX_ERR_SHAPE, "an array has at most %d dimensions, got %d",
                    MX_MAX_DIM, ndim);
  s->ndim = ndim;
  int64_t total = 1;
  for (int k = 0; k < ndim; k++) {
    if (d[k] < 0)
      return mx_error(MX_ERR_SHAPE, "dimension %d is negative (%lld)", k,
                      (long long)d[k]);
    s->d[k] = d[k];
    if (d[k] > 0 && total > INT64_MAX / 16 / d[k])
      return mx_error(MX_ERR_SHAPE, "the array is too large");
    total *= d[k];
  }
  for (int k = ndim; k < MX_MAX_DIM; k++) s->d[k] = 0;
  return MX_OK;
}
