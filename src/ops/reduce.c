/*
 * reduce.c -- reductions over axes: sum, mean, prod, nansum, nanprod, max,
 * min, norm (L1/L2), argmax, argmin and moments (mean and variance).
 *
 * Semantics follow MXNet 1.x: `axis` is a tuple of C axes (negative counts
 * from the end; None or () reduces every axis), `exclude` reduces the axes
 * not listed, `keepdims` keeps reduced axes with size 1, and reducing every
 * axis without keepdims gives shape (1,).  The output has the input's dtype
 * (argmax/argmin return indices as numbers of that dtype).
 *
 * Accumulation: float32 and float64 in double; integers in int64 (sums wrap
 * around modulo 2^64, products saturate) and are converted back saturating.
 * max/min/argmax/argmin propagate NaN (the first NaN wins, as R's max());
 * ties of argmax/argmin give the first index.  An empty sum is 0, an empty
 * product 1, an empty mean NaN (0 for integers); max, min, argmax and argmin
 * over a zero-length axis are errors.
 *
 * Layout: adjacent axes with the same role are merged and size-1 axes
 * dropped; when the reduced axes then form one block the input is read as
 * (outer, R, inner) in place, otherwise it is first transposed into a
 * temporary (kept axes, reduced axes).  The reduced axis is cut into chunks
 * of a fixed length, so the order of every floating-point operation depends
 * only on the shape, never on the number of threads: results are
 * bit-identical for any thread count.
 */
#include "../include/mx-op.h"

#include <math.h>


/* Inner positions per task (at most), and the chunking of the reduced
 * axis: about RCE elements per chunk, between 16 and RCH rows.  Both
 * depend on the shape only. */
#define RIB 2048
#define RCE 65536
#define RCH 8192

static inline int64_t chunk_rows(int64_t inner) {
  int64_t w = inner < RIB ? inner : RIB;
  int64_t rc = RCE / (w > 0 ? w : 1);
  return rc < 16 ? 16 : rc > RCH ? RCH : rc;
}

/* Vectorisation hint for inner loops (threads come from MX_OMP_FOR only). */
#ifdef _OPENMP
#define MX_SIMD _Pragma("omp simd")
#else
#define MX_SIMD
#endif

/* Parameters of the reductions (p_reduce), norm (p_norm), argmax/argmin (p_arg). */
enum { RD_AXIS, RD_KEEPDIMS, RD_EXCLUDE, RD_NPARAMS };
enum { NM_ORD, NM_AXIS, NM_KEEPDIMS, NM_NPARAMS };
enum { AG_AXIS, AG_KEEPDIMS, AG_NPARAMS };
enum { MO_AXES, MO_KEEPDIMS, MO_NPARAMS };

/* ------------------------------------------------------------ helpers */

static inline uint8_t isat_u8(int64_t v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v; }
static inline int32_t isat_i32(int64_t v) {
  return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}
static inline int64_t isat_i64(int64_t v) { return v; }
/* uint64 -> int64 modulo 2^64 without implementation-defined conversion */
static inline int64_t u2i64(uint64_t u) {
  return u <= (uint64_t)INT64_MAX ? (int64_t)u
                                  : (int64_t)(u - 9223372036854775808u) + INT64_MIN;
}
/* Saturating int64 product; a saturated operand stays saturated (its sign
 * follows the other factor) unless the other factor is 0. */
static inline int64_t sat_mul64(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  int neg = (a < 0) != (b < 0);
  if (a == INT64_MAX || a == INT64_MIN || b == INT64_MAX || b == INT64_MIN)
    return neg ? INT64_MIN : INT64_MAX;
  uint64_t ua = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
  uint64_t ub = b < 0 ? 0 - (uint64_t)b : (uint64_t)b;
  if (ua > (uint64_t)INT64_MAX / ub) return neg ? INT64_MIN : INT64_MAX;
  int64_t m = (int64_t)(ua * ub);
  return neg ? -m : m;
}

/* ------------------------------------------------------- accumulators */

/* Each reduction: accumulator type A, initial value, STEP(a, x) adds an
 * element, MERGE(a, b) combines two partial accumulators, FIN(a, n) is the
 * result (before conversion to the output dtype) for n reduced elements. */
#define STEP_SUM(a, x) ((a) += (x))
#define STEP_NANSUM(a, x) ((a) += ((x) == (x) ? (x) : 0))
#define STEP_PROD(a, x) ((a) *= (x))
#define STEP_NANPROD(a, x) ((a) *= ((x) == (x) ? (x) : 1))
#define STEP_MAX(a, x) ((a) = ((x) > (a) || (x) != (x)) ? (x) : (a))
#define STEP_MIN(a, x) ((a) = ((x) < (a) || (x) != (x)) ? (x) : (a))
#define STEP_ABS(a, x) ((a) += fabs((double)(x)))
#define STEP_SQ(a, x) ((a) += (double)(x) * (double)(x))
#define STEP_ISUM(a, x) ((a) += (uint64_t)(int64_t)(x))
#define STEP_IPROD(a, x) ((a) = sat_mul64((a), (int64_t)(x)))
#define MERGE_SUM(a, b) ((a) += (b))
#define MERGE_PROD(a, b) ((a) *= (b))
#define MERGE_IPROD(a, b) ((a) = sat_mul64((a), (b)))

#define FIN_ID(a, n) (a)
#define FIN_MEAN(a, n) ((a) / (double)(n))
#define FIN_SQRT(a, n) sqrt(a)
#define FIN_ISUM(a, n) u2i64(a)
#define FIN_IMEAN(a, n) ((n) > 0 ? u2i64(a) / (int64_t)(n) : 0)

/* The core of one (reduction, dtype): src read as (outer, R, inner), dst
 * (outer, inner).  CVT converts FIN's value to T. */
#define DEF_CORE(FN, T, A, INIT, STEP, MERGE, FIN, CVT)                        \
  static mx_status FN(const void *src_, void *dst_, int64_t outer, int64_t R, \
                      int64_t inner) {                                         \
    const T *src = (const T *)src_;                                            \
    T *dst = (T *)dst_;                                                        \
    int64_t nout = outer * inner;                                              \
    if (nout == 0) return MX_OK;                                               \
    int64_t rc = chunk_rows(inner);                                            \
    int64_t nch = R > rc ? (R + rc - 1) / rc : 1;                              \
    int64_t nib = (inner + RIB - 1) / RIB;                                     \
    A *part = NULL;                                                            \
    if (nch > 1) {                                                             \
      part = (A *)mx_malloc(sizeof(A) * (size_t)nout * (size_t)nch);           \
      if (!part) return mx_error(MX_ERR_NOMEM, "out of memory for partial results"); \
    }                                                                          \
    int64_t ntask = outer * nch * nib;                                         \
    int nt = mx_par_threads(nout * (R > 0 ? R : 1));                           \
    if (nt > ntask) nt = (int)ntask;                                           \
    (void)nt;                                                                  \
    MX_OMP_FOR(nt)                                                             \
    for (int64_t t = 0; t < ntask; t++) {                                      \
      int64_t o = t / (nch * nib), rem = t % (nch * nib);                      \
      int64_t ch = rem / nib, ib = rem % nib;                                  \
      int64_t r0 = ch * rc, r1 = r0 + rc < R ? r0 + rc : R;                    \
      if (inner == 1) {                                                        \
        const T *s = src + o * R;                                              \
        A a = INIT;                                                            \
        int64_t r = r0;                                                        \
        if (r1 - r0 >= 32) {                                                   \
          A l[8];                                                              \
          for (int j = 0; j < 8; j++) l[j] = INIT;                             \
          for (; r + 8 <= r1; r += 8)                                          \
            for (int j = 0; j < 8; j++) STEP(l[j], s[r + j]);                  \
          for (int j = 0; j < 8; j++) MERGE(a, l[j]);                          \
        }                                                                      \
        for (; r < r1; r++) STEP(a, s[r]);                                     \
        if (nch == 1) dst[o] = CVT(FIN(a, R));                                 \
        else part[o * nch + ch] = a;                                           \
      } else {                                                                 \
        int64_t i0 = ib * RIB, w = inner - i0 < RIB ? inner - i0 : RIB;        \
        A a[RIB];                                                              \
        for (int64_t i = 0; i < w; i++) a[i] = INIT;                           \
        for (int64_t r = r0; r < r1; r++) {                                    \
          const T *s = src + (o * R + r) * inner + i0;                         \
          MX_SIMD                                                              \
          for (int64_t i = 0; i < w; i++) STEP(a[i], s[i]);                    \
        }                                                                      \
        if (nch == 1) {                                                        \
          for (int64_t i = 0; i < w; i++) dst[o * inner + i0 + i] = CVT(FIN(a[i], R)); \
        } else {                                                               \
          A *pp = part + (o * nch + ch) * inner + i0;                          \
          for (int64_t i = 0; i < w; i++) pp[i] = a[i];                        \
        }                                                                      \
      }                                                                        \
    }                                                                          \
    if (nch > 1) {                                                             \
      int nt2 = mx_par_threads(nout * nch);                                    \
      (void)nt2;                                                               \
      MX_OMP_FOR(nt2)                                                          \
      for (int64_t q = 0; q < nout; q++) {                                     \
        int64_t o = q / inner, i = q % inner;                                  \
        A a = part[o * nch * inner + i];                                       \
        for (int64_t ch = 1; ch < nch; ch++) MERGE(a, part[(o * nch + ch) * inner + i]); \
        dst[q] = CVT(FIN(a, R));                                               \
      }                                                                        \
      mx_free(part);                                                           \
    }                                                                          \
    return MX_OK;                                                              \
  }

#define CVT_F(v) ((float)(v))
#define CVT_D(v) ((double)(v))

/* Floating-point dtypes: one core per reduction and type. */
#define DEF_FLOAT_CORES(TN, T)                                                     \
  DEF_CORE(sum_##TN, T, double, 0.0, STEP_SUM, MERGE_SUM, FIN_ID, (T))             \
  DEF_CORE(mean_##TN, T, double, 0.0, STEP_SUM, MERGE_SUM, FIN_MEAN, (T))          \
  DEF_CORE(prod_##TN, T, double, 1.0, STEP_PROD, MERGE_PROD, FIN_ID, (T))          \
  DEF_CORE(nansum_##TN, T, double, 0.0, STEP_NANSUM, MERGE_SUM, FIN_ID, (T))       \
  DEF_CORE(nanprod_##TN, T, double, 1.0, STEP_NANPROD, MERGE_PROD, FIN_ID, (T))    \
  DEF_CORE(max_##TN, T, T, (T)-INFINITY, STEP_MAX, STEP_MAX, FIN_ID, (T))          \
  DEF_CORE(min_##TN, T, T, (T)INFINITY, STEP_MIN, STEP_MIN, FIN_ID, (T))           \
  DEF_CORE(norm1_##TN, T, double, 0.0, STEP_ABS, MERGE_SUM, FIN_ID, (T))           \
  DEF_CORE(norm2_##TN, T, double, 0.0, STEP_SQ, MERGE_SUM, FIN_SQRT, (T))

/* Integer dtypes: sums in uint64 (wrapping), products saturating in int64,
 * norms in double; results converted back saturating (ISAT from int64, DSAT
 * from double). */
#define DEF_INT_CORES(TN, T, LOWEST, HIGHEST, ISAT, DSAT)                             \
  DEF_CORE(sum_##TN, T, uint64_t, 0, STEP_ISUM, MERGE_SUM, FIN_ISUM, ISAT)            \
  DEF_CORE(mean_##TN, T, uint64_t, 0, STEP_ISUM, MERGE_SUM, FIN_IMEAN, ISAT)          \
  DEF_CORE(prod_##TN, T, int64_t, 1, STEP_IPROD, MERGE_IPROD, FIN_ID, ISAT)           \
  DEF_CORE(max_##TN, T, T, LOWEST, STEP_MAX, STEP_MAX, FIN_ID, (T))                   \
  DEF_CORE(min_##TN, T, T, HIGHEST, STEP_MIN, STEP_MIN, FIN_ID, (T))                  \
  DEF_CORE(norm1_##TN, T, double, 0.0, STEP_ABS, MERGE_SUM, FIN_ID, DSAT)             \
  DEF_CORE(norm2_##TN, T, double, 0.0, STEP_SQ, MERGE_SUM, FIN_SQRT, DSAT)

DEF_FLOAT_CORES(f32, float)
DEF_FLOAT_CORES(f64, double)
DEF_INT_CORES(u8, uint8_t, 0, UINT8_MAX, isat_u8, mx_sat_u8)
DEF_INT_CORES(i32, int32_t, INT32_MIN, INT32_MAX, isat_i32, mx_sat_i32)
DEF_INT_CORES(i64, int64_t, INT64_MIN, INT64_MAX, isat_i64, mx_sat_i64)

typedef mx_status (*core_fn)(const void *, void *, int64_t, int64_t, int64_t);

enum { R_SUM, R_MEAN, R_PROD, R_NANSUM, R_NANPROD, R_MAX, R_MIN, R_NORM1, R_NORM2, R_NOPS };

/* Rows: reductions; columns: float32, float64, uint8, int32, int64 (NaN-
 * skipping reductions are the plain ones on integers). */
static const core_fn cores[R_NOPS][5] = {
  {sum_f32, sum_f64, sum_u8, sum_i32, sum_i64},
  {mean_f32, mean_f64, mean_u8, mean_i32, mean_i64},
  {prod_f32, prod_f64, prod_u8, prod_i32, prod_i64},
  {nansum_f32, nansum_f64, sum_u8, sum_i32, sum_i64},
  {nanprod_f32, nanprod_f64, prod_u8, prod_i32, prod_i64},
  {max_f32, max_f64, max_u8, max_i32, max_i64},
  {min_f32, min_f64, min_u8, min_i32, min_i64},
  {norm1_f32, norm1_f64, norm1_u8, norm1_i32, norm1_i64},
  {norm2_f32, norm2_f64, norm2_u8, norm2_i32, norm2_i64},
};

static int dtype_col(int dtype) {
  switch (dtype) {
    case MX_FLOAT32: return 0;
    case MX_FLOAT64: return 1;
    case MX_UINT8: return 2;
    case MX_INT32: return 3;
    case MX_INT64: return 4;
    default: return -1;
  }
}

/* ------------------------------------------------------------ argmax */

#define BETTER_MAX(x, b) ((x) > (b) || ((x) != (x) && (b) == (b)))
#define BETTER_MIN(x, b) ((x) < (b) || ((x) != (x) && (b) == (b)))

/* Index (0-based) -> output element; saturating for small integer types. */

#define DEF_ARG(FN, T, BETTER, IDX)                                            \
  static mx_status FN(const void *src_, void *dst_, int64_t outer, int64_t R, \
                      int64_t inner) {                                         \
    const T *src = (const T *)src_;                                            \
    T *dst = (T *)dst_;                                                        \
    int64_t nout = outer * inner;                                              \
    if (nout == 0) return MX_OK;                                               \
    int64_t rc = chunk_rows(inner);                                            \
    int64_t nch = R > rc ? (R + rc - 1) / rc : 1;                              \
    int64_t nib = (inner + RIB - 1) / RIB;                                     \
    T *pv = NULL;                                                              \
    int64_t *pi = NULL;                                                        \
    if (nch > 1) {                                                             \
      pv = (T *)mx_malloc(sizeof(T) * (size_t)nout * (size_t)nch);             \
      pi = (int64_t *)mx_malloc(sizeof(int64_t) * (size_t)nout * (size_t)nch); \
      if (!pv || !pi) {                                                        \
        mx_free(pv);                                                           \
        mx_free(pi);                                                           \
        return mx_error(MX_ERR_NOMEM, "out of memory for partial results");    \
      }                                                                        \
    }                                                                          \
    int64_t ntask = outer * nch * nib;                                         \
    int nt = mx_par_threads(nout * R);                                         \
    if (nt > ntask) nt = (int)ntask;                                           \
    (void)nt;                                                                  \
    MX_OMP_FOR(nt)                                                             \
    for (int64_t t = 0; t < ntask; t++) {                                      \
      int64_t o = t / (nch * nib), rem = t % (nch * nib);                      \
      int64_t ch = rem / nib, ib = rem % nib;                                  \
      int64_t r0 = ch * rc, r1 = r0 + rc < R ? r0 + rc : R;                    \
      if (inner == 1) {                                                        \
        const T *s = src + o * R;                                              \
        T v = s[r0];                                                           \
        int64_t k = r0;                                                        \
        for (int64_t r = r0 + 1; r < r1; r++)                                  \
          if (BETTER(s[r], v)) { v = s[r]; k = r; }                            \
        if (nch == 1) dst[o] = IDX(k);                                         \
        else { pv[o * nch + ch] = v; pi[o * nch + ch] = k; }                   \
        continue;                                                              \
      }                                                                        \
      int64_t i0 = ib * RIB, w = inner - i0 < RIB ? inner - i0 : RIB;          \
      T bv[RIB];                                                               \
      int64_t bi[RIB];                                                         \
      const T *s0 = src + (o * R + r0) * inner + i0;                           \
      for (int64_t i = 0; i < w; i++) { bv[i] = s0[i]; bi[i] = r0; }           \
      for (int64_t r = r0 + 1; r < r1; r++) {                                  \
        const T *s = src + (o * R + r) * inner + i0;                           \
        MX_SIMD                                                                \
        for (int64_t i = 0; i < w; i++)                                        \
          if (BETTER(s[i], bv[i])) { bv[i] = s[i]; bi[i] = r; }                \
      }                                                                        \
      if (nch == 1) {                                                          \
        for (int64_t i = 0; i < w; i++) dst[o * inner + i0 + i] = IDX(bi[i]);  \
      } else {                                                                 \
        int64_t base = (o * nch + ch) * inner + i0;                            \
        for (int64_t i = 0; i < w; i++) { pv[base + i] = bv[i]; pi[base + i] = bi[i]; } \
      }                                                                        \
    }                                                                          \
    if (nch > 1) {                                                             \
      int nt2 = mx_par_threads(nout * nch);                                    \
      (void)nt2;                                                               \
      MX_OMP_FOR(nt2)                                                          \
      for (int64_t q = 0; q < nout; q++) {                                     \
        int64_t o = q / inner, i = q % inner;                                  \
        T v = pv[o * nch * inner + i];                                         \
        int64_t k = pi[o * nch * inner + i];                                   \
        for (int64_t ch = 1; ch < nch; ch++) {                                 \
          int64_t at = (o * nch + ch) * inner + i;                             \
          if (BETTER(pv[at], v)) { v = pv[at]; k = pi[at]; }                   \
        }                                                                      \
        dst[q] = IDX(k);                                                       \
      }                                                                        \
      mx_free(pv);                                                             \
      mx_free(pi);                                                             \
    }                                                                          \
    return MX_OK;                                                              \
  }

DEF_ARG(argmax_f32, float, BETTER_MAX, (float))
DEF_ARG(argmax_f64, double, BETTER_MAX, (double))
DEF_ARG(argmax_u8, uint8_t, BETTER_MAX, isat_u8)
DEF_ARG(argmax_i32, int32_t, BETTER_MAX, isat_i32)
DEF_ARG(argmax_i64, int64_t, BETTER_MAX, (int64_t))
DEF_ARG(argmin_f32, float, BETTER_MIN, (float))
DEF_ARG(argmin_f64, double, BETTER_MIN, (double))
DEF_ARG(argmin_u8, uint8_t, BETTER_MIN, isat_u8)
DEF_ARG(argmin_i32, int32_t, BETTER_MIN, isat_i32)
DEF_ARG(argmin_i64, int64_t, BETTER_MIN, (int64_t))

static const core_fn arg_cores[2][5] = {
  {argmax_f32, argmax_f64, argmax_u8, argmax_i32, argmax_i64},
  {argmin_f32, argmin_f64, argmin_u8, argmin_i32, argmin_i64},
};

/* ------------------------------------------------------------ axes */

/* mask[k] = 1 for the C axes that are reduced.  An unset or empty axis
 * tuple means every axis (also with exclude, as MXNet 1.x). */
static mx_status axes_mask(const mx_param_value *axis, int exclude, int ndim,
                           int *mask) {
  if (!axis->is_set || axis->n == 0) {
    for (int k = 0; k < ndim; k++) mask[k] = 1;
    return MX_OK;
  }
  for (int k = 0; k < ndim; k++) mask[k] = 0;
  for (int j = 0; j < axis->n; j++) {
    int64_t v = axis->tup[j];
    if (v == MX_TUPLE_NONE)
      return mx_error(MX_ERR_ARG, "parameter 'axis' must not contain None");
    int64_t a = v < 0 ? v + ndim : v;
    if (a < 0 || a >= ndim)
      return mx_error(MX_ERR_ARG,
                      "parameter 'axis': axis %lld is out of range for an array with %d dimension%s",
                      (long long)v, ndim, ndim == 1 ? "" : "s");
    if (mask[a])
      return mx_error(MX_ERR_ARG, "parameter 'axis' has duplicates (axis %lld)", (long long)a);
    mask[a] = 1;
  }
  if (exclude)
    for (int k = 0; k < ndim; k++) mask[k] = !mask[k];
  return MX_OK;
}

/* Output shape for a mask: reduced axes dropped (or kept as 1); nothing left
 * gives (1,). */
static void reduced_shape(const mx_shape *in, const int *mask, int keepdims,
                          mx_shape *out) {
  mx_shape s;
  s.ndim = 0;
  for (int k = 0; k < MX_MAX_DIM; k++) s.d[k] = 0;
  for (int k = 0; k < in->ndim; k++) {
    if (!mask[k]) s.d[s.ndim++] = in->d[k];
    else if (keepdims) s.d[s.ndim++] = 1;
  }
  if (s.ndim == 0 && !keepdims) {
    s.ndim = 1;
    s.d[0] = 1;
  }
  *out = s;
}

static mx_status shape_reduce(const mx_param_value *p, int nin, mx_shape *in,
                              int nout, mx_shape *out) {
  (void)nin;
  (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int mask[MX_MAX_DIM];
  mx_status rc = axes_mask(&p[RD_AXIS], (int)p[RD_EXCLUDE].i, in[0].ndim, mask);
  if (rc) return rc;
  reduced_shape(&in[0], mask, (int)p[RD_KEEPDIMS].i, &out[0]);
  return MX_OK;
}

static mx_status check_ord(const mx_param_value *p) {
  if (p[NM_ORD].i != 1 && p[NM_ORD].i != 2)
    return mx_error(MX_ERR_ARG, "parameter 'ord' must be 1 or 2, got %lld", (long long)p[NM_ORD].i);
  return MX_OK;
}

static mx_status shape_norm(const mx_param_value *p, int nin, mx_shape *in,
                            int nout, mx_shape *out) {
  (void)nin;
  (void)nout;
  mx_status rc = check_ord(p);
  if (rc) return rc;
  if (in[0].ndim < 0) return MX_OK;
  int mask[MX_MAX_DIM];
  rc = axes_mask(&p[NM_AXIS], 0, in[0].ndim, mask);
  if (rc) return rc;
  reduced_shape(&in[0], mask, (int)p[NM_KEEPDIMS].i, &out[0]);
  return MX_OK;
}

/* argmax/argmin: one axis or (None) the flattened array. */
static mx_status arg_axis(const mx_param_value *axis, int ndim, int *mask) {
  if (!axis->is_set) {
    for (int k = 0; k < ndim; k++) mask[k] = 1;
    return MX_OK;
  }
  int64_t a = axis->i < 0 ? axis->i + ndim : axis->i;
  if (a < 0 || a >= ndim)
    return mx_error(MX_ERR_ARG,
                    "parameter 'axis': axis %lld is out of range for an array with %d dimension%s",
                    (long long)axis->i, ndim, ndim == 1 ? "" : "s");
  for (int k = 0; k < ndim; k++) mask[k] = k == a;
  return MX_OK;
}

static mx_status shape_arg(const mx_param_value *p, int nin, mx_shape *in,
                           int nout, mx_shape *out) {
  (void)nin;
  (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  int mask[MX_MAX_DIM];
  mx_status rc = arg_axis(&p[AG_AXIS], in[0].ndim, mask);
  if (rc) return rc;
  reduced_shape(&in[0], mask, (int)p[AG_KEEPDIMS].i, &out[0]);
  return MX_OK;
}

/* ------------------------------------------------------------ driver */

/* Copy src (C-contiguous, shape gs[0..ng-1]) into dst with the axes in the
 * order perm[0..ng-1]. */
#define PERMUTE_LOOP(E)                                                        \
  do {                                                                         \
    const E *s_ = (const E *)src;                                              \
    E *d_ = (E *)dst;                                                          \
    MX_OMP_FOR(nt)                                                             \
    for (int64_t row = 0; row < nrows; row++) {                                \
      int64_t rem = row, off = 0;                                              \
      for (int k = ng - 2; k >= 0; k--) {                                      \
        int64_t ix = rem % ps[k];                                              \
        rem /= ps[k];                                                          \
        off += ix * pst[k];                                                    \
      }                                                                        \
      E *dr = d_ + row * len;                                                  \
      for (int64_t j = 0; j < len; j++) dr[j] = s_[off + j * lst];             \
    }                                                                          \
  } while (0)

static mx_status permute(const void *src, void *dst, size_t esize, int ng,
                         const int64_t *gs, const int *perm) {
  int64_t st[MX_MAX_DIM], ps[MX_MAX_DIM], pst[MX_MAX_DIM];
  int64_t acc = 1, n = 1;
  if (ng < 1 || ng > MX_MAX_DIM) return mx_error(MX_ERR_INTERNAL, "permute: bad rank %d", ng);
  for (int k = ng - 1; k >= 0; k--) {
    st[k] = acc;
    acc *= gs[k];
  }
  for (int k = 0; k < ng; k++) {
    ps[k] = gs[perm[k]];
    pst[k] = st[perm[k]];
    n *= ps[k];
  }
  if (n == 0) return MX_OK;
  int64_t len = ps[ng - 1], lst = pst[ng - 1], nrows = n / len;
  int nt = mx_par_threads(n);
  (void)nt;
  switch (esize) {
    case 1: PERMUTE_LOOP(uint8_t); break;
    case 2: PERMUTE_LOOP(uint16_t); break;
    case 4: PERMUTE_LOOP(uint32_t); break;
    case 8: PERMUTE_LOOP(uint64_t); break;
    default: return mx_error(MX_ERR_INTERNAL, "bad element size %d", (int)esize);
  }
  return MX_OK;
}

/* The axes of a shape as runs of reduced or kept axes (extent-1 axes
 * dropped): the extent gs[] and reduced flag gf[] of each run, the element
 * count and the reduced extent R. */
typedef struct axis_groups {
  int64_t gs[MX_MAX_DIM];
  int gf[MX_MAX_DIM];
  int ng, nred;
  int64_t total, R;
} axis_groups;

static void group_axes(const mx_shape *s, const int *mask, axis_groups *g) {
  g->ng = g->nred = 0;
  g->total = g->R = 1;
  for (int k = 0; k < s->ndim; k++) {
    g->total *= s->d[k];
    if (mask[k]) g->R *= s->d[k];
    if (s->d[k] == 1) continue;
    if (g->ng > 0 && g->gf[g->ng - 1] == mask[k]) {
      g->gs[g->ng - 1] *= s->d[k];
    } else {
      g->gs[g->ng] = s->d[k];
      g->gf[g->ng] = mask[k];
      g->ng++;
      if (mask[k]) g->nred++;
    }
  }
}

/* With one reduced run: the extents before and after it. */
static void single_block(const axis_groups *g, int64_t *outer, int64_t *inner) {
  int k = 0;
  *outer = *inner = 1;
  for (; !g->gf[k]; k++) *outer *= g->gs[k];
  for (k++; k < g->ng; k++) *inner *= g->gs[k];
}

/* The permutation of the runs that puts the kept ones first. */
static void kept_first(const axis_groups *g, int *perm) {
  int np = 0;
  for (int k = 0; k < g->ng; k++) if (!g->gf[k]) perm[np++] = k;
  for (int k = 0; k < g->ng; k++) if (g->gf[k]) perm[np++] = k;
}

/* Run core fn over the axes in mask: x -> y. */
static mx_status run_reduce(core_fn fn, const mx_ndarray *x, mx_ndarray *y,
                            const int *mask) {
  axis_groups g;
  group_axes(&x->shape, mask, &g);
  int64_t total = g.total, R = g.R;
  if (total == 0) /* nothing to read: every output is the empty reduction */
    return fn(MX_PTR(x), MX_PTR(y), R == 0 ? mx_ndarray_size(y) : 0, R, 1);
  if (g.nred == 0) return fn(MX_PTR(x), MX_PTR(y), total, 1, 1);
  if (g.nred == 1) {
    int64_t outer, inner;
    single_block(&g, &outer, &inner);
    return fn(MX_PTR(x), MX_PTR(y), outer, R, inner);
  }
  /* several reduced blocks: transpose to (kept..., reduced...) first */
  int perm[MX_MAX_DIM];
  kept_first(&g, perm);
  mx_shape ts;
  int64_t tn = total;
  mx_status rc = mx_shape_make(&ts, 1, &tn);
  if (rc) return rc;
  mx_ndarray *tmp = NULL;
  rc = mx_ndarray_new(&ts, x->dtype, x->ctx, &tmp);
  if (rc) return rc;
  rc = permute(MX_PTR(x), MX_PTR(tmp), mx_dtype_size(x->dtype), g.ng, g.gs, perm);
  if (!rc) rc = fn(MX_PTR(tmp), MX_PTR(y), total / R, R, 1);
  mx_ndarray_free(tmp);
  return rc;
}

static mx_status reduce_common(int op, const char *what, const mx_param_value *axis,
                               int exclude, const mx_ndarray *x, mx_ndarray *y) {
  int col = dtype_col(x->dtype);
  if (col < 0)
    return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(x->dtype));
  int mask[MX_MAX_DIM];
  mx_status rc = axes_mask(axis, exclude, x->shape.ndim, mask);
  if (rc) return rc;
  if (what) {
    for (int k = 0; k < x->shape.ndim; k++)
      if (mask[k] && x->shape.d[k] == 0)
        return mx_error(MX_ERR_SHAPE, "cannot take the %s over a zero-length axis (axis %d)",
                        what, k);
  }
  return run_reduce(cores[op][col], x, y, mask);
}

#define DEF_REDUCE_KERNEL(NAME, OP, WHAT)                                      \
  static mx_status k_##NAME(KARGS) {                                           \
    UNUSED_KARGS;                                                              \
    return reduce_common(OP, WHAT, &p[RD_AXIS], (int)p[RD_EXCLUDE].i, in[0], out[0]); \
  }

DEF_REDUCE_KERNEL(sum, R_SUM, NULL)
DEF_REDUCE_KERNEL(mean, R_MEAN, NULL)
DEF_REDUCE_KERNEL(prod, R_PROD, NULL)
DEF_REDUCE_KERNEL(nansum, R_NANSUM, NULL)
DEF_REDUCE_KERNEL(nanprod, R_NANPROD, NULL)
DEF_REDUCE_KERNEL(max, R_MAX, "maximum")
DEF_REDUCE_KERNEL(min, R_MIN, "minimum")

static mx_status k_norm(KARGS) {
  UNUSED_KARGS;
  mx_status rc = check_ord(p);
  if (rc) return rc;
  return reduce_common(p[NM_ORD].i == 1 ? R_NORM1 : R_NORM2, NULL, &p[NM_AXIS], 0, in[0], out[0]);
}

static mx_status arg_common(int which, const mx_param_value *p, const mx_ndarray *x,
                            mx_ndarray *y) {
  int col = dtype_col(x->dtype);
  if (col < 0)
    return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(x->dtype));
  int mask[MX_MAX_DIM];
  mx_status rc = arg_axis(&p[AG_AXIS], x->shape.ndim, mask);
  if (rc) return rc;
  const char *what = which ? "argmin" : "argmax";
  int64_t outer = 1, R = 1, inner = 1;
  int seen = 0;  /* the reduced axis (all axes when axis is None) passed */
  for (int k = 0; k < x->shape.ndim; k++) {
    if (mask[k]) {
      R *= x->shape.d[k];
      seen = 1;
    } else if (!seen) {
      outer *= x->shape.d[k];
    } else {
      inner *= x->shape.d[k];
    }
  }
  if (R == 0)
    return mx_error(MX_ERR_SHAPE, "cannot take the %s over a zero-length axis", what);
  return arg_cores[which][col](MX_PTR(x), MX_PTR(y), outer, R, inner);
}

static mx_status k_argmax(KARGS) {
  UNUSED_KARGS;
  return arg_common(0, p, in[0], out[0]);
}

static mx_status k_argmin(KARGS) {
  UNUSED_KARGS;
  return arg_common(1, p, in[0], out[0]);
}

/* ------------------------------------------------------------ gradients */

/* Backward kernels (float32 and float64; integer dtypes are an error).  The
 * reduced axes come from the params and the shape of the input gradient,
 * so sum and mean read only the output gradient.
 *  - sum: og broadcast back; mean: og / (number of reduced elements).
 *  - nansum: og where x is not NaN, 0 at NaN positions.
 *  - prod (nanprod): the product of the other elements, computed as
 *    P / x from the product P of the nonzero elements and the count of
 *    zeros, so zeros give the exact gradient (MXNet divides out / x and
 *    gets NaN there); nanprod treats NaN as 1 and gives NaN positions 0.
 *  - max/min: as MXNet, og goes to every position equal to the result, so
 *    tied positions each get the full gradient (not a share of it).
 *  - norm: ord 1 gives og * sign(x); ord 2 og * x / norm (0 where the norm
 *    is 0; MXNet gives NaN there).
 *  - argmax/argmin have no gradient. */


/* Strides of the (reduced) output over the input's index space: 0 on the
 * reduced axes.  The same with or without keepdims. */
static void out_strides(const mx_shape *is, const int *mask, int64_t *ostr) {
  int64_t acc = 1;
  for (int k = is->ndim - 1; k >= 0; k--) {
    if (mask[k]) {
      ostr[k] = 0;
    } else {
      ostr[k] = acc;
      acc *= is->d[k];
    }
  }
}

/* D (the input gradient, input shape) = EXPR for every input element; EXPR
 * reads G_[o_] (output gradient), X_[i_] (input), Y_[o_] (output), where i_
 * is the input position and o_ the output position it reduces into. */
#define RGRAD_LOOP(TT, EXPR)                                                   \
  do {                                                                         \
    typedef TT T;                                                              \
    const T *G_ = MX_DATA(og[0], T);                                           \
    const T *X_ = in[0] ? MX_DATA(in[0], T) : NULL;                            \
    const T *Y_ = out[0] ? MX_DATA(out[0], T) : NULL;                          \
    T *D_ = MX_DATA(D, T);                                                     \
    (void)X_; (void)Y_;                                                        \
    int nd_ = D->shape.ndim;                                                   \
    int64_t n_ = mx_ndarray_size(D);                                           \
    if (n_ == 0) break;                                                        \
    int64_t inner_ = nd_ > 0 ? D->shape.d[nd_ - 1] : 1, rows_ = n_ / inner_;   \
    int64_t ls_ = nd_ > 0 ? ostr[nd_ - 1] : 0;                                 \
    int nt_ = mx_par_threads(n_);                                              \
    (void)nt_;                                                                 \
    MX_OMP_FOR(nt_)                                                            \
    for (int64_t r = 0; r < rows_; r++) {                                      \
      int64_t rem_ = r, ob_ = 0;                                               \
      for (int k = nd_ - 2; k >= 0; k--) {                                     \
        ob_ += (rem_ % D->shape.d[k]) * ostr[k];                               \
        rem_ /= D->shape.d[k];                                                 \
      }                                                                        \
      for (int64_t j = 0; j < inner_; j++) {                                   \
        const int64_t i_ = r * inner_ + j, o_ = ob_ + j * ls_;                 \
        D_[i_] = (T)(EXPR);                                                    \
      }                                                                        \
    }                                                                          \
  } while (0)

#define RGRAD_SWITCH(EXPR)                                                     \
  switch (D->dtype) {                                                          \
    case MX_FLOAT32: RGRAD_LOOP(float, EXPR); break;                           \
    case MX_FLOAT64: RGRAD_LOOP(double, EXPR); break;                          \
    default: return grad_dtype_error(D->dtype);                                \
  }

/* The mask of reduced axes for the input gradient D. */
static mx_status grad_mask(const mx_param_value *axis, int exclude, const mx_ndarray *D,
                           int *mask, int64_t *ostr, double *R) {
  mx_status rc = axes_mask(axis, exclude, D->shape.ndim, mask);
  if (rc) return rc;
  out_strides(&D->shape, mask, ostr);
  double r = 1;
  for (int k = 0; k < D->shape.ndim; k++)
    if (mask[k]) r *= (double)D->shape.d[k];
  *R = r;
  return MX_OK;
}

enum { G_SUM, G_MEAN, G_NANSUM, G_EQ, G_NORM1, G_NORM2 };

static mx_status bcast_grad(int kind, const mx_param_value *axis, int exclude,
                            mx_ndarray *const *og, mx_ndarray *const *in,
                            mx_ndarray *const *out, mx_ndarray *D) {
  int mask[MX_MAX_DIM];
  int64_t ostr[MX_MAX_DIM];
  double R;
  mx_status rc = grad_mask(axis, exclude, D, mask, ostr, &R);
  if (rc) return rc;
  switch (kind) {
    case G_SUM: RGRAD_SWITCH(G_[o_]); break;
    case G_MEAN: RGRAD_SWITCH(G_[o_] / R); break;
    case G_NANSUM: RGRAD_SWITCH(X_[i_] == X_[i_] ? G_[o_] : (T)0); break;
    case G_EQ: RGRAD_SWITCH(X_[i_] == Y_[o_] ? G_[o_] : (T)0); break;
    case G_NORM1:
      RGRAD_SWITCH(X_[i_] > 0 ? G_[o_] : X_[i_] < 0 ? -G_[o_] : (T)0);
      break;
    default:
      RGRAD_SWITCH(Y_[o_] == 0 ? (T)0 : G_[o_] * X_[i_] / Y_[o_]);
      break;
  }
  return MX_OK;
}

/* ------------------------------------------------------------ moments */

/* moments: mean and (biased) variance over axes, which must be given
 * (MXNet refuses an empty axes). */
static mx_status moments_axes(const mx_param_value *p) {
  if (!p[MO_AXES].is_set || p[MO_AXES].n == 0)
    return mx_error(MX_ERR_ARG, "parameter 'axes' must name the axes (give all of them for global moments)");
  return MX_OK;
}

static mx_status shape_moments(const mx_param_value *p, int nin, mx_shape *in, int nout,
                               mx_shape *out) {
  (void)nin; (void)nout;
  mx_status rc = moments_axes(p);
  if (rc || in[0].ndim < 0) return rc;
  int mask[MX_MAX_DIM];
  rc = axes_mask(&p[MO_AXES], 0, in[0].ndim, mask);
  if (rc) return rc;
  reduced_shape(&in[0], mask, (int)p[MO_KEEPDIMS].i, &out[0]);
  out[1] = out[0];
  return MX_OK;
}

/* mean = mean(x); var = mean((x - mean)^2), the square formed in a
 * temporary of x's shape by the gradient loop (G_: the mean) */
static mx_status k_moments(KARGS) {
  UNUSED_KARGS;
  if (!mx_dtype_is_float(in[0]->dtype))
    return mx_error(MX_ERR_DTYPE, "dtype %s is not supported here", mx_dtype_name(in[0]->dtype));
  mx_status rc = reduce_common(R_MEAN, NULL, &p[MO_AXES], 0, in[0], out[0]);
  mx_ndarray *D = NULL;
  if (!rc) rc = mx_ndarray_new(&in[0]->shape, in[0]->dtype, in[0]->ctx, &D);
  if (rc) return rc;
  mx_ndarray *const og[1] = {out[0]};
  int mask[MX_MAX_DIM];
  int64_t ostr[MX_MAX_DIM];
  double R;
  rc = grad_mask(&p[MO_AXES], 0, D, mask, ostr, &R);
  if (!rc) {
    switch (D->dtype) {
      case MX_FLOAT32: RGRAD_LOOP(float, (X_[i_] - G_[o_]) * (X_[i_] - G_[o_])); break;
      default: RGRAD_LOOP(double, (X_[i_] - G_[o_]) * (X_[i_] - G_[o_])); break;
    }
    rc = reduce_common(R_MEAN, NULL, &p[MO_AXES], 0, D, out[1]);
  }
  mx_ndarray_free(D);
  return rc;
}

/* d x = g_mean / R + g_var * 2 (x - mean) / R */
static mx_status b_moments(BARGS) {
  UNUSED_BARGS;
  if (!ig[0] || req[0] != MX_REQ_WRITE) return MX_OK;
  if (!og[0] || !og[1])
    return mx_error(MX_ERR_UNSUPPORTED, "moments needs the gradients of both outputs");
  mx_ndarray *D = ig[0];
  int mask[MX_MAX_DIM];
  int64_t ostr[MX_MAX_DIM];
  double R;
  mx_status rc = grad_mask(&p[MO_AXES], 0, D, mask, ostr, &R);
  if (rc) return rc;
  const void *gv = MX_PTR(og[1]);
  RGRAD_SWITCH((G_[o_] + ((const T *)gv)[o_] * 2 * (X_[i_] - Y_[o_])) / (T)R);
  return MX_OK;
}

/* prod/nanprod on the (outer, R, inner) layout: x and d (outer, R, inner),
 * g (outer, inner).  Per output, P = product of the nonzero (non-NaN)
 * elements and z = number of zeros, in double; then d = g * P / x where
 * z == 0, d = g * P at the single zero where z == 1, else 0. */
#define DEF_PROD_GRAD(FN, T)                                                   \
  static void FN(const T *x, const T *g, T *d, int64_t outer, int64_t R,       \
                 int64_t inner, int nan) {                                     \
    int64_t nib = (inner + RIB - 1) / RIB, ntask = outer * nib;                \
    int nt = mx_par_threads(outer * R * inner);                                \
    if (nt > ntask) nt = (int)ntask;                                           \
    (void)nt;                                                                  \
    MX_OMP_FOR(nt)                                                             \
    for (int64_t t = 0; t < ntask; t++) {                                      \
      int64_t o = t / nib, i0 = (t % nib) * RIB;                               \
      int64_t w = inner - i0 < RIB ? inner - i0 : RIB;                         \
      double P[RIB];                                                           \
      int64_t z[RIB];                                                          \
      for (int64_t i = 0; i < w; i++) { P[i] = 1; z[i] = 0; }                  \
      for (int64_t r = 0; r < R; r++) {                                        \
        const T *s = x + (o * R + r) * inner + i0;                             \
        for (int64_t i = 0; i < w; i++) {                                      \
          double v = (double)s[i];                                             \
          if (v == 0) z[i]++;                                                  \
          else if (!(nan && v != v)) P[i] *= v;                                \
        }                                                                      \
      }                                                                        \
      for (int64_t r = 0; r < R; r++) {                                        \
        const T *s = x + (o * R + r) * inner + i0;                             \
        T *dd = d + (o * R + r) * inner + i0;                                  \
        for (int64_t i = 0; i < w; i++) {                                      \
          double v = (double)s[i], gv = (double)g[o * inner + i0 + i];         \
          double res;                                                          \
          if (nan && v != v) res = 0;                                          \
          else if (v == 0) res = z[i] == 1 ? gv * P[i] : 0;                    \
          else res = z[i] == 0 ? gv * (P[i] / v) : 0;                          \
          dd[i] = (T)res;                                                      \
        }                                                                      \
      }                                                                        \
    }                                                                          \
  }

DEF_PROD_GRAD(prod_grad_f32, float)
DEF_PROD_GRAD(prod_grad_f64, double)

static mx_status prod_grad_run(const void *x, const void *g, void *d, int dtype,
                               int64_t outer, int64_t R, int64_t inner, int nan) {
  if (dtype == MX_FLOAT32)
    prod_grad_f32((const float *)x, (const float *)g, (float *)d, outer, R, inner, nan);
  else
    prod_grad_f64((const double *)x, (const double *)g, (double *)d, outer, R, inner, nan);
  return MX_OK;
}

static mx_status prod_grad(const mx_param_value *axis, int exclude, const mx_ndarray *G,
                           const mx_ndarray *X, mx_ndarray *D, int nan) {
  if (D->dtype != MX_FLOAT32 && D->dtype != MX_FLOAT64) return grad_dtype_error(D->dtype);
  int mask[MX_MAX_DIM];
  mx_status rc = axes_mask(axis, exclude, D->shape.ndim, mask);
  if (rc) return rc;
  axis_groups g;
  group_axes(&D->shape, mask, &g);
  int64_t total = g.total, R = g.R;
  if (total == 0) return MX_OK;
  if (g.nred == 0) return prod_grad_run(MX_PTR(X), MX_PTR(G), MX_PTR(D), D->dtype, total, 1, 1, nan);
  if (g.nred == 1) {
    int64_t outer, inner;
    single_block(&g, &outer, &inner);
    return prod_grad_run(MX_PTR(X), MX_PTR(G), MX_PTR(D), D->dtype, outer, R, inner, nan);
  }
  /* several reduced blocks: x to (kept..., reduced...), the gradient there,
   * then back with the inverse permutation */
  int perm[MX_MAX_DIM], inv[MX_MAX_DIM];
  int64_t ps[MX_MAX_DIM];
  kept_first(&g, perm);
  for (int k = 0; k < g.ng; k++) {
    inv[perm[k]] = k;
    ps[k] = g.gs[perm[k]];
  }
  mx_shape ts;
  rc = mx_shape_make(&ts, 1, &total);
  if (rc) return rc;
  mx_ndarray *tx = NULL, *td = NULL;
  rc = mx_ndarray_new(&ts, D->dtype, D->ctx, &tx);
  if (!rc) rc = mx_ndarray_new(&ts, D->dtype, D->ctx, &td);
  size_t es = mx_dtype_size(D->dtype);
  if (!rc) rc = permute(MX_PTR(X), MX_PTR(tx), es, g.ng, g.gs, perm);
  if (!rc) rc = prod_grad_run(MX_PTR(tx), MX_PTR(G), MX_PTR(td), D->dtype, total / R, R, 1, nan);
  if (!rc) rc = permute(MX_PTR(td), MX_PTR(D), es, g.ng, ps, inv);
  mx_ndarray_free(tx);
  mx_ndarray_free(td);
  return rc;
}

#define DEF_REDUCE_GRAD(NAME, KIND)                                            \
  static mx_status b_##NAME(BARGS) {                                           \
    UNUSED_BARGS;                                                              \
    if (req[0] != MX_REQ_WRITE) return MX_OK;                                  \
    return bcast_grad(KIND, &p[RD_AXIS], (int)p[RD_EXCLUDE].i, og, in, out, ig[0]); \
  }

DEF_REDUCE_GRAD(sum, G_SUM)
DEF_REDUCE_GRAD(mean, G_MEAN)
DEF_REDUCE_GRAD(nansum, G_NANSUM)
DEF_REDUCE_GRAD(max, G_EQ)
DEF_REDUCE_GRAD(min, G_EQ)

static mx_status b_prod(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  return prod_grad(&p[RD_AXIS], (int)p[RD_EXCLUDE].i, og[0], in[0], ig[0], 0);
}

static mx_status b_nanprod(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  return prod_grad(&p[RD_AXIS], (int)p[RD_EXCLUDE].i, og[0], in[0], ig[0], 1);
}

static mx_status b_norm(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_status rc = check_ord(p);
  if (rc) return rc;
  return bcast_grad(p[NM_ORD].i == 1 ? G_NORM1 : G_NORM2, &p[NM_AXIS], 0, og, in, out, ig[0]);
}

/* What each backward reads (besides the output gradient). */
static void deps_set(int nin, int nout, unsigned char *ni, unsigned char *no,
                     unsigned char *ng, int x, int y) {
  for (int j = 0; j < nin; j++) ni[j] = (unsigned char)x;
  for (int k = 0; k < nout; k++) {
    no[k] = (unsigned char)y;
    ng[k] = 1;
  }
}
static void deps_g(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                   unsigned char *no, unsigned char *ng) {
  (void)p;
  deps_set(nin, nout, ni, no, ng, 0, 0);
}
static void deps_x(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                   unsigned char *no, unsigned char *ng) {
  (void)p;
  deps_set(nin, nout, ni, no, ng, 1, 0);
}
static void deps_xy(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                    unsigned char *no, unsigned char *ng) {
  (void)p;
  deps_set(nin, nout, ni, no, ng, 1, 1);
}
/* norm: ord 1 needs only the input, ord 2 the norm too */
static void deps_norm(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                      unsigned char *no, unsigned char *ng) {
  deps_set(nin, nout, ni, no, ng, 1, p[NM_ORD].i != 1);
}

/* ------------------------------------------------------------ registry */

static const char *const in_data[] = {"data", NULL};

#define AXIS_DOC "The axes to reduce (C order: 0 is the last R dimension, negative counts from the end); None reduces every axis."
#define KEEP_DOC "Keep the reduced axes as dimensions of size 1."

static const mx_param_desc p_reduce[RD_NPARAMS] = {
  [RD_AXIS] = {"axis", MX_PARAM_SHAPE, MX_PF_OPTIONAL, NULL, NULL, AXIS_DOC},
  [RD_KEEPDIMS] = {"keepdims", MX_PARAM_BOOL, 0, "False", NULL, KEEP_DOC},
  [RD_EXCLUDE] = {"exclude", MX_PARAM_BOOL, 0, "False", NULL, "Reduce over every axis except those in axis."},
};
static const mx_param_desc p_norm[NM_NPARAMS] = {
  [NM_ORD] = {"ord", MX_PARAM_INT, 0, "2", NULL, "Order of the norm: 1 (sum of absolute values) or 2 (Euclidean)."},
  [NM_AXIS] = {"axis", MX_PARAM_SHAPE, MX_PF_OPTIONAL, NULL, NULL, AXIS_DOC},
  [NM_KEEPDIMS] = {"keepdims", MX_PARAM_BOOL, 0, "False", NULL, KEEP_DOC},
};
static const mx_param_desc p_moments[MO_NPARAMS] = {
  [MO_AXES] = {"axes", MX_PARAM_SHAPE, MX_PF_OPTIONAL, NULL, NULL,
   "The axes along which to compute mean and variance (C order: 0 is the last R dimension); required."},
  [MO_KEEPDIMS] = {"keepdims", MX_PARAM_BOOL, 0, "False", NULL, KEEP_DOC},
};
static const char *const out_moments[] = {"mean", "var", NULL};
static void deps_moments(const mx_param_value *p, int nin, int nout, unsigned char *ni,
                         unsigned char *no, unsigned char *ng) {
  (void)p;
  deps_set(nin, nout, ni, no, ng, 1, 1);
  for (int k = 1; k < nout; k++) no[k] = 0;
}
static const mx_param_desc p_arg[AG_NPARAMS] = {
  [AG_AXIS] = {"axis", MX_PARAM_INT, MX_PF_OPTIONAL, NULL, NULL,
   "The axis to reduce (C order: 0 is the last R dimension); None means the flattened array."},
  [AG_KEEPDIMS] = {"keepdims", MX_PARAM_BOOL, 0, "False", NULL, KEEP_DOC},
};

/* DEPS: what the backward kernel b_NAME reads (see the gradient section). */
#define REDUCE(NAME, A1, DOC, DEPS)                                           \
  {.name = #NAME, .aliases = {A1}, .doc = DOC, .num_inputs = 1,               \
   .input_names = in_data, .num_outputs = 1, .params = p_reduce,              \
   .num_params = MX_NPARAMS(p_reduce), .infer_shape = shape_reduce,           \
   .cpu = k_##NAME, .backward = b_##NAME, .backward_deps = DEPS}

const mx_op mx_ops_reduce[] = {
  REDUCE(sum, "sum_axis", "Sum of the elements over the given axes.", deps_g),
  REDUCE(mean, NULL, "Mean of the elements over the given axes.", deps_g),
  REDUCE(prod, NULL, "Product of the elements over the given axes.", deps_x),
  REDUCE(nansum, NULL, "Sum over the given axes, treating NaN as 0.", deps_x),
  REDUCE(nanprod, NULL, "Product over the given axes, treating NaN as 1.", deps_x),
  REDUCE(max, "max_axis", "Maximum over the given axes (NaN propagates).", deps_xy),
  REDUCE(min, "min_axis", "Minimum over the given axes (NaN propagates).", deps_xy),
  {.name = "norm", .doc = "L1 or L2 norm over the given axes (all elements by default).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_norm,
   .num_params = MX_NPARAMS(p_norm), .infer_shape = shape_norm, .cpu = k_norm, .backward = b_norm,
   .backward_deps = deps_norm},
  {.name = "moments",
   .doc = "Mean and variance (divided by the count) of the data over the given axes: two outputs, mean and var.",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 2, .params = p_moments,
   .num_params = MX_NPARAMS(p_moments), .infer_shape = shape_moments, .cpu = k_moments,
   .backward = b_moments, .backward_deps = deps_moments, .output_names = out_moments},
  {.name = "argmax", .doc = "Index of the maximum along an axis (first on ties; NaN wins).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_arg,
   .num_params = MX_NPARAMS(p_arg), .infer_shape = shape_arg, .cpu = k_argmax},
  {.name = "argmin", .doc = "Index of the minimum along an axis (first on ties; NaN wins).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_arg,
   .num_params = MX_NPARAMS(p_arg), .infer_shape = shape_arg, .cpu = k_argmin},
  {.name = NULL},
};
