/*
 * mx-internal.h -- structures shared by the engine and the op kernels.
 *
 * Only engine files (src/engine, src/ops, src/io, src/cuda, src/kvstore)
 * include this header; the R glue sees the opaque API of mx.h only.
 */
#ifndef MX_INTERNAL_H
#define MX_INTERNAL_H

#include "mx.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Reference-counted block of device memory from the pooled allocator. */
typedef struct mx_storage {
  void *data;          /* aligned to MX_ALIGN bytes                         */
  size_t bytes;        /* usable bytes (the size class, >= request)         */
  size_t request;      /* bytes asked for                                   */
  mx_context ctx;
  int refcount;        /* atomically updated                                */
  void *raw;           /* what the system allocator returned                */
  struct mx_storage *next;  /* free-list link while cached                  */
} mx_storage;

#define MX_ALIGN 64

/* Allocate storage of at least `bytes` bytes (refcount 1). */
mx_status mx_storage_alloc(size_t bytes, mx_context ctx, mx_storage **out);
void mx_storage_retain(mx_storage *s);
void mx_storage_release(mx_storage *s);

struct mx_ndarray {
  mx_storage *st;      /* never NULL                                        */
  size_t offset;       /* byte offset of element 0 in st->data              */
  mx_shape shape;      /* ndim 0..MX_MAX_DIM, never unknown                 */
  int dtype;
  mx_context ctx;
};

#define MX_PTR(a) ((void *)((char *)(a)->st->data + (a)->offset))
#define MX_DATA(a, T) ((T *)MX_PTR(a))

/* Contiguous row-major strides (in elements) of a shape. */
static inline void mx_shape_strides(const mx_shape *s, int64_t *stride) {
  int64_t acc = 1;
  for (int k = s->ndim - 1; k >= 0; k--) {
    stride[k] = acc;
    acc *= s->d[k];
  }
}

/* Checked construction of a shape; MX_ERR_SHAPE if too many dims or a
 * negative dim, or when the element count overflows. */
mx_status mx_shape_make(mx_shape *s, int ndim, const int64_t *d);

/* A header on existing storage (retained): shape/dtype at a byte offset. */
mx_status mx_ndarray_on_storage(mx_storage *st, size_t offset, const mx_shape *shape,
                                int dtype, mx_context ctx, mx_ndarray **out);

/* Function multi-versioning for hot element-wise loops: GCC builds the
 * function for AVX-512, AVX2 and the baseline, and the dynamic loader
 * picks the best one for the CPU (ifunc).  Elsewhere a plain build.  R's
 * flags (-O2, no -march) would otherwise give SSE2 code only. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && __GNUC__ >= 9
#define MX_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
/* such a function may also say optimize("fp-contract=off") */
#define MX_CLONES_FP_EXACT 1
#else
#define MX_CLONES
#define MX_CLONES_FP_EXACT 0
#endif

/* ------------------------------------------------------- parallel loops */

/* Below this many elements loops run on one thread. */
#define MX_PAR_GRAIN 32768

/* Threads for a loop over n independent elements. */
static inline int mx_par_threads(int64_t n) {
  if (n < MX_PAR_GRAIN) return 1;
  int t = mx_threads_get();
  int64_t cap = n / (MX_PAR_GRAIN / 2);
  if (cap < t) t = (int)cap;
  return t < 1 ? 1 : t;
}

#ifdef _OPENMP
#define MX_PRAGMA(x) _Pragma(#x)
#define MX_OMP_FOR(nt) MX_PRAGMA(omp parallel for num_threads(nt) schedule(static) if (nt > 1))
/* a loop whose iterations are independent: vectorize it */
#define MX_OMP_SIMD MX_PRAGMA(omp simd)
#else
#define MX_OMP_FOR(nt)
#define MX_OMP_SIMD
#endif

/* CALL for each block [i0, i0 + len) of BLK of n elements, the blocks
 * spread over the threads (CALL: a function over one block, often an
 * MX_CLONES one). */
#define MX_PAR_BLOCKS(n, BLK, CALL)                                           \
  do {                                                                        \
    int64_t n_ = (n);                                                         \
    int nt_ = mx_par_threads(n_);                                             \
    int64_t nb_ = (n_ + (BLK) - 1) / (BLK);                                   \
    (void)nt_;                                                                \
    MX_OMP_FOR(nt_)                                                           \
    for (int64_t b_ = 0; b_ < nb_; b_++) {                                    \
      int64_t i0 = b_ * (BLK);                                                \
      int64_t len = (i0 + (BLK) < n_ ? i0 + (BLK) : n_) - i0;                 \
      CALL;                                                                   \
    }                                                                         \
  } while (0)

/* Run fn(arg) with the OpenMP ICV set to the engine's thread count nt, for
 * libraries (oneDNN) that read omp_get_max_threads(); restored afterwards so
 * other packages in the process are unaffected.  A function taking a
 * callback, so that nothing in the body can return past the restore. */
static inline void mx_with_omp_threads(int nt, void (*fn)(void *arg), void *arg) {
#ifdef _OPENMP
  int saved = omp_get_max_threads();
  omp_set_num_threads(nt);
  fn(arg);
  omp_set_num_threads(saved);
#else
  (void)nt;
  fn(arg);
#endif
}

/* ------------------------------------------------------- dtype dispatch */

/* Run the body (the variadic part) with T bound to the C type of dtype (no float16 or bfloat16:
 * callers convert half precision through float32 first). */
#define MX_DTYPE_SWITCH(dtype, T, ...)                                     \
  switch (dtype) {                                                          \
    case MX_FLOAT32: { typedef float T; __VA_ARGS__; } break;                      \
    case MX_FLOAT64: { typedef double T; __VA_ARGS__; } break;                     \
    case MX_UINT8: { typedef uint8_t T; __VA_ARGS__; } break;                      \
    case MX_INT32: { typedef int32_t T; __VA_ARGS__; } break;                      \
    case MX_INT64: { typedef int64_t T; __VA_ARGS__; } break;                      \
    default: return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", \
                             mx_dtype_name(dtype));                         \
  }

#define MX_FLOAT_SWITCH(dtype, T, ...)                                     \
  switch (dtype) {                                                          \
    case MX_FLOAT32: { typedef float T; __VA_ARGS__; } break;                      \
    case MX_FLOAT64: { typedef double T; __VA_ARGS__; } break;                     \
    default: return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", \
                             mx_dtype_name(dtype));                         \
  }

/* Saturating double -> integer conversions without undefined behaviour
 * (NaN -> 0, out-of-range values clamp to the type's limits). */
static inline uint8_t mx_sat_u8(double v) {
  if (!(v > 0)) return 0;           /* NaN too */
  if (v >= 255) return 255;
  return (uint8_t)v;
}
static inline int32_t mx_sat_i32(double v) {
  if (v != v) return 0;
  if (v <= -2147483648.0) return INT32_MIN;
  if (v >= 2147483647.0) return INT32_MAX;
  return (int32_t)v;
}
static inline int64_t mx_sat_i64(double v) {
  if (v != v) return 0;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  if (v >= 9.2233720368547748e18) return INT64_MAX;
  return (int64_t)v;
}
static inline int8_t mx_sat_i8(double v) {
  if (v != v) return 0;
  if (v <= -128) return INT8_MIN;
  if (v >= 127) return INT8_MAX;
  return (int8_t)v;
}
/* The saturating conversion into integer type T (uint8_t, int8_t, int32_t,
 * int64_t): a result never wraps into T's range. */
#define MX_SAT_INT(T, v)                                                           \
  (sizeof(T) == 1 ? ((T)-1 < (T)0 ? (T)mx_sat_i8(v) : (T)mx_sat_u8(v))             \
                  : sizeof(T) == 4 ? (T)mx_sat_i32(v) : (T)mx_sat_i64(v))

/* Convert n elements between dtypes (any pair, float16 included). */
void mx_convert(const void *src, int src_dtype, void *dst, int dst_dtype,
                int64_t n);
/* Read element i of a typed buffer as double / write a double into it. */
double mx_load_f64(const void *p, int dtype, int64_t i);
void mx_store_f64(void *p, int dtype, int64_t i, double v);


/* Host memory (ndarray.c; the fake GPU devices use them too): n elements of
 * dtype at p set to value; dst += src for float dtypes (float16 and
 * bfloat16: summed in float, rounded once). */
void mx_host_fill(void *p, int dtype, int64_t n, double value);
mx_status mx_host_add(void *dst, const void *src, int dtype, int64_t n);

/* malloc/free wrappers that record no statistics (for metadata). */
void *mx_malloc(size_t n);
void *mx_calloc(size_t n, size_t size);
void *mx_realloc(void *p, size_t n);

#endif /* MX_INTERNAL_H */
