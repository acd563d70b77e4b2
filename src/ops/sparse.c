/*
 * sparse.c -- kernels behind the sparse arrays of R/sparse.R (CSR and
 * row_sparse).  The engine's NDArray stays dense: a sparse array is an R
 * object whose components are dense NDArrays, and these internal ops take
 * the components as inputs.
 *
 *   CSR of C shape (M, K): values (nnz), indices (nnz, int64, column of each
 *   value, strictly increasing within a row), indptr (M + 1, int64, row i's
 *   values are [indptr[i], indptr[i+1]), indptr[0] = 0, indptr[M] = nnz).
 *   row_sparse of C shape (M, C...): data (R, C...) holding rows
 *   indices (R, int64, strictly increasing, < M); other rows are zero.
 *
 * Output sizes must follow from input shapes, so the ops whose output size
 * depends on values get it from the caller: _sparse_csr_from_dense takes nnz
 * (counted by _sparse_row_nnz), _sparse_dot_csr_dense_rsp and
 * _sparse_rsp_add take the output row indices as an input.  Every kernel
 * checks the index arrays it reads and fails with MX_ERR_ARG, so malformed
 * components give an error, never a read or write out of bounds.
 *
 * Values are float32 or float64; index arrays int64.  The lazy updates
 * (_sparse_rsp_*_update, MXNet's lazy_update) touch only the weight rows a
 * row_sparse gradient holds; they follow the formulas of the dense update
 * ops of optimizer.c and are MX_OPF_INPLACE (pass out = weight).
 */
#include "../include/mx-op.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------- checks */

static mx_status need_int64(const mx_ndarray *a, const char *what) {
  if (a->dtype != MX_INT64)
    return mx_error(MX_ERR_DTYPE, "%s must be int64, not %s", what, mx_dtype_name(a->dtype));
  return MX_OK;
}

static mx_status same_dtype(const mx_ndarray *a, const mx_ndarray *b, const char *what) {
  if (a->dtype != b->dtype)
    return mx_error(MX_ERR_DTYPE, "%s has dtype %s but the values have %s", what,
                    mx_dtype_name(b->dtype), mx_dtype_name(a->dtype));
  return MX_OK;
}

/* A CSR structure of M rows and ncols columns with nnz values. */
static mx_status csr_check(const int64_t *idx, const int64_t *ptr, int64_t M, int64_t nnz,
                           int64_t ncols) {
  if (ptr[0] != 0) return mx_error(MX_ERR_ARG, "CSR indptr[0] is %lld, not 0", (long long)ptr[0]);
  if (ptr[M] != nnz)
    return mx_error(MX_ERR_ARG, "CSR indptr ends at %lld but there are %lld values",
                    (long long)ptr[M], (long long)nnz);
  for (int64_t i = 0; i < M; i++) {
    if (ptr[i + 1] < ptr[i])
      return mx_error(MX_ERR_ARG, "CSR indptr decreases at row %lld", (long long)i);
    for (int64_t j = ptr[i]; j < ptr[i + 1]; j++) {
      if (idx[j] < 0 || idx[j] >= ncols)
        return mx_error(MX_ERR_ARG, "CSR column index %lld (row %lld) is outside [0, %lld)",
                        (long long)idx[j], (long long)i, (long long)ncols);
      if (j > ptr[i] && idx[j] <= idx[j - 1])
        return mx_error(MX_ERR_ARG, "CSR column indices of row %lld are not strictly increasing",
                        (long long)i);
    }
  }
  return MX_OK;
}

/* Row indices of a row_sparse array: strictly increasing in [0, nrows). */
static mx_status rows_check(const int64_t *idx, int64_t n, int64_t nrows, const char *what) {
  for (int64_t j = 0; j < n; j++) {
    if (idx[j] < 0 || idx[j] >= nrows)
      return mx_error(MX_ERR_ARG, "%s: row index %lld is outside [0, %lld)", what,
                      (long long)idx[j], (long long)nrows);
    if (j > 0 && idx[j] <= idx[j - 1])
      return mx_error(MX_ERR_ARG, "%s: row indices are not strictly increasing", what);
  }
  return MX_OK;
}

/* Position of v in the sorted idx[0..n), or -1. */
static int64_t find_row(const int64_t *idx, int64_t n, int64_t v) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (idx[mid] < v) lo = mid + 1; else hi = mid;
  }
  return lo < n && idx[lo] == v ? lo : -1;
}

/* Elements per row of an array seen as (shape[0], rest). */
static int64_t row_width(const mx_shape *s) {
  int64_t w = 1;
  for (int k = 1; k < s->ndim; k++) w *= s->d[k];
  return w;
}

static int unknown(int n, const mx_shape *s) {
  for (int k = 0; k < n; k++) if (s[k].ndim < 0) return 1;
  return 0;
}

static mx_status ndim_error(const char *what, int want, const mx_shape *s) {
  char b[128];
  mx_shape_format(s, b, sizeof b);
  return mx_error(MX_ERR_SHAPE, "%s must have %d dimension(s), not shape %s", what, want, b);
}

/* ------------------------------------------------------------- params */

enum { NC_NUM_COLS, NC_NPARAMS };
static const mx_param_desc p_ncols[NC_NPARAMS] = {
  [NC_NUM_COLS] = {"num_cols", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Columns of the CSR array."},
};
enum { NR_NUM_ROWS, NR_NPARAMS };
static const mx_param_desc p_nrows[NR_NPARAMS] = {
  [NR_NUM_ROWS] = {"num_rows", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Rows of the row_sparse array."},
};
enum { NZ_NNZ, NZ_NPARAMS };
static const mx_param_desc p_nnz[NZ_NPARAMS] = {
  [NZ_NNZ] = {"nnz", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL,
              "Number of non-zeros (the last entry of indptr)."},
};
enum { SD_TRANSPOSE_A, SD_NUM_COLS, SD_NPARAMS };
static const mx_param_desc p_sdot[SD_NPARAMS] = {
  [SD_TRANSPOSE_A] = {"transpose_a", MX_PARAM_BOOL, 0, "False", NULL, "Use the CSR matrix transposed."},
  [SD_NUM_COLS] = {"num_cols", MX_PARAM_INT, MX_PF_REQUIRED, NULL, NULL, "Columns of the CSR matrix."},
};

/* ----------------------------------------------------------- type rules */

static mx_status type_first(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p; (void)nin;
  for (int k = 0; k < nout; k++) out[k] = in[0];
  return MX_OK;
}

static mx_status type_int64(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p; (void)nin; (void)in;
  for (int k = 0; k < nout; k++) out[k] = MX_INT64;
  return MX_OK;
}

static mx_status type_vals_idx(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p; (void)nin; (void)nout;
  out[0] = in[0];
  out[1] = MX_INT64;
  return MX_OK;
}

/* --------------------------------------------------- dense -> components */

static mx_status shape_row_nnz(const mx_param_value *p, int nin, mx_shape *in, int nout,
                               mx_shape *out) {
  (void)p; (void)nout;
  if (unknown(nin, in)) return MX_OK;
  if (in[0].ndim != 2) return ndim_error("data", 2, &in[0]);
  out[0] = (mx_shape){1, {in[0].d[0]}};
  return MX_OK;
}

/* Non-zeros of each row of a 2-D array. */
static mx_status k_row_nnz(KARGS) {
  UNUSED_KARGS;
  int64_t M = in[0]->shape.d[0], K = in[0]->shape.d[1];
  int64_t *o = MX_DATA(out[0], int64_t);
  int nt = mx_par_threads(M * K);
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T);
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < M; i++) {
      int64_t n = 0;
      for (int64_t k = 0; k < K; k++) n += x[i * K + k] != 0;
      o[i] = n;
    }
  });
  return MX_OK;
}

static mx_status shape_csr_from_dense(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                      mx_shape *out) {
  (void)nout;
  if (unknown(nin, in)) return MX_OK;
  if (in[0].ndim != 2) return ndim_error("data", 2, &in[0]);
  if (in[1].ndim != 1 || in[1].d[0] != in[0].d[0] + 1)
    return mx_error(MX_ERR_SHAPE, "indptr must have rows + 1 = %lld entries",
                    (long long)(in[0].d[0] + 1));
  if (p[NZ_NNZ].i < 0) return mx_error(MX_ERR_ARG, "nnz must be >= 0");
  out[0] = out[1] = (mx_shape){1, {p[NZ_NNZ].i}};
  return MX_OK;
}

/* Raise a flag shared by the threads of a parallel loop. */
#ifdef _OPENMP
#define SET_FLAG(f) MX_PRAGMA(omp atomic write) f = 1
#else
#define SET_FLAG(f) f = 1
#endif

static mx_status k_csr_from_dense(KARGS) {
  UNUSED_KARGS;
  mx_status st = need_int64(in[1], "indptr");
  if (st != MX_OK) return st;
  int64_t M = in[0]->shape.d[0], K = in[0]->shape.d[1], nnz = p[NZ_NNZ].i;
  const int64_t *ptr = MX_DATA(in[1], int64_t);
  int64_t *idx = MX_DATA(out[1], int64_t);
  if (ptr[0] != 0 || ptr[M] != nnz)
    return mx_error(MX_ERR_ARG, "indptr must start at 0 and end at nnz = %lld", (long long)nnz);
  for (int64_t i = 0; i < M; i++)
    if (ptr[i + 1] < ptr[i]) return mx_error(MX_ERR_ARG, "indptr decreases at row %lld", (long long)i);
  int bad = 0;
  int nt = mx_par_threads(M * K);
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *x = MX_DATA(in[0], T);
    T *v = MX_DATA(out[0], T);
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < M; i++) {
      int64_t j = ptr[i];
      for (int64_t k = 0; k < K; k++) {
        if (x[i * K + k] == 0) continue;
        if (j >= ptr[i + 1]) { SET_FLAG(bad); break; }
        v[j] = x[i * K + k];
        idx[j++] = k;
      }
      if (j != ptr[i + 1]) SET_FLAG(bad);
    }
  });
  if (bad) return mx_error(MX_ERR_ARG, "indptr does not match the non-zeros of the data");
  return MX_OK;
}

/* --------------------------------------------------- components -> dense */

static mx_status shape_csr_to_dense(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                    mx_shape *out) {
  (void)nout;
  if (unknown(nin, in)) return MX_OK;
  for (int k = 0; k < 3; k++)
    if (in[k].ndim != 1) return ndim_error(k == 0 ? "values" : k == 1 ? "indices" : "indptr", 1, &in[k]);
  if (in[1].d[0] != in[0].d[0])
    return mx_error(MX_ERR_SHAPE, "CSR indices have %lld entries but values %lld",
                    (long long)in[1].d[0], (long long)in[0].d[0]);
  if (in[2].d[0] < 1) return mx_error(MX_ERR_SHAPE, "CSR indptr is empty");
  if (p[0].i < 0) return mx_error(MX_ERR_ARG, "num_cols must be >= 0");
  out[0] = (mx_shape){2, {in[2].d[0] - 1, p[0].i}};
  return MX_OK;
}

/* The index arrays of a CSR call, checked. */
static mx_status csr_inputs(mx_ndarray *const *in, int64_t ncols, const int64_t **idx,
                            const int64_t **ptr, int64_t *M) {
  mx_status st = need_int64(in[1], "CSR indices");
  if (st == MX_OK) st = need_int64(in[2], "CSR indptr");
  if (st != MX_OK) return st;
  *idx = MX_DATA(in[1], int64_t);
  *ptr = MX_DATA(in[2], int64_t);
  *M = in[2]->shape.d[0] - 1;
  return csr_check(*idx, *ptr, *M, in[0]->shape.d[0], ncols);
}

static mx_status k_csr_to_dense(KARGS) {
  UNUSED_KARGS;
  const int64_t *idx, *ptr;
  int64_t M, K = p[NC_NUM_COLS].i;
  mx_status st = csr_inputs(in, K, &idx, &ptr, &M);
  if (st != MX_OK) return st;
  int nt = mx_par_threads(M * K);
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *v = MX_DATA(in[0], T);
    T *o = MX_DATA(out[0], T);
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < M; i++) {
      memset(o + i * K, 0, (size_t)K * sizeof(T));
      for (int64_t j = ptr[i]; j < ptr[i + 1]; j++) o[i * K + idx[j]] = v[j];
    }
  });
  return MX_OK;
}

static mx_status shape_rsp_to_dense(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                    mx_shape *out) {
  (void)nout;
  if (unknown(nin, in)) return MX_OK;
  if (in[0].ndim < 1) return ndim_error("data", 2, &in[0]);
  if (in[1].ndim != 1 || in[1].d[0] != in[0].d[0])
    return mx_error(MX_ERR_SHAPE, "row_sparse indices must have one entry per data row (%lld)",
                    (long long)in[0].d[0]);
  if (p[NR_NUM_ROWS].i < 0) return mx_error(MX_ERR_ARG, "num_rows must be >= 0");
  out[0] = in[0];
  out[0].d[0] = p[NR_NUM_ROWS].i;
  return MX_OK;
}

static mx_status k_rsp_to_dense(KARGS) {
  UNUSED_KARGS;
  mx_status st = need_int64(in[1], "row_sparse indices");
  if (st != MX_OK) return st;
  int64_t R = in[0]->shape.d[0], W = row_width(&in[0]->shape), M = out[0]->shape.d[0];
  const int64_t *idx = MX_DATA(in[1], int64_t);
  st = rows_check(idx, R, M, "row_sparse");
  if (st != MX_OK) return st;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *d = MX_DATA(in[0], T);
    T *o = MX_DATA(out[0], T);
    memset(o, 0, (size_t)(M * W) * sizeof(T));
    for (int64_t r = 0; r < R; r++) memcpy(o + idx[r] * W, d + r * W, (size_t)W * sizeof(T));
  });
  return MX_OK;
}

/* ---------------------------------------------------------- sparse dot */

/* out[i, :] = sum_j v[j] B[idx[j], :] over row i's entries (rows threaded). */
#define CSR_GATHER(T, v, idx, ptr, M, B, N, o)                               \
  do {                                                                       \
    int nt_ = mx_par_threads((ptr)[M] * (N) + (M));                          \
    MX_OMP_FOR(nt_)                                                          \
    for (int64_t i = 0; i < (M); i++) {                                      \
      T *oi = (o) + i * (N);                                                 \
      for (int64_t n = 0; n < (N); n++) oi[n] = 0;                           \
      for (int64_t j = (ptr)[i]; j < (ptr)[i + 1]; j++) {                    \
        const T *b = (B) + (idx)[j] * (N);                                   \
        T a = (v)[j];                                                        \
        for (int64_t n = 0; n < (N); n++) oi[n] += a * b[n];                 \
      }                                                                      \
    }                                                                        \
  } while (0)

/* out[idx[j], :] += v[j] B[i, :] (out has rows_out rows, zeroed first);
 * threads take disjoint column ranges, so no two write one element. */
#define CSR_SCATTER(T, v, idx, ptr, M, B, N, o, rows_out)                    \
  do {                                                                       \
    memset((o), 0, (size_t)((rows_out) * (N)) * sizeof(T));                  \
    int nt_ = mx_par_threads((ptr)[M] * (N));                                \
    if (nt_ > (N)) nt_ = (int)(N);                                           \
    if (nt_ < 1) nt_ = 1;                                                    \
    MX_OMP_FOR(nt_)                                                          \
    for (int t = 0; t < nt_; t++) {                                          \
      int64_t n0 = (N) * t / nt_, n1 = (N) * (t + 1) / nt_;                  \
      for (int64_t i = 0; i < (M); i++)                                      \
        for (int64_t j = (ptr)[i]; j < (ptr)[i + 1]; j++) {                  \
          T a = (v)[j];                                                      \
          T *oo = (o) + (idx)[j] * (N);                                      \
          const T *b = (B) + i * (N);                                        \
          for (int64_t n = n0; n < n1; n++) oo[n] += a * b[n];               \
        }                                                                    \
    }                                                                        \
  } while (0)

static mx_status shape_sdot(const mx_param_value *p, int nin, mx_shape *in, int nout,
                            mx_shape *out) {
  (void)nout;
  if (unknown(nin, in)) return MX_OK;
  mx_shape v[3] = {in[0], in[1], in[2]};
  mx_shape dense;
  mx_status st = shape_csr_to_dense(p + SD_NUM_COLS, 3, v, 1, &dense);
  if (st != MX_OK) return st;
  if (in[3].ndim != 2) return ndim_error("rhs", 2, &in[3]);
  int64_t M = dense.d[0], K = dense.d[1];
  int ta = (int)p[SD_TRANSPOSE_A].i;
  if (in[3].d[0] != (ta ? M : K))
    return mx_error(MX_ERR_SHAPE, "dot: the CSR matrix%s has %lld columns but rhs has %lld rows",
                    ta ? " (transposed)" : "", (long long)(ta ? M : K), (long long)in[3].d[0]);
  out[0] = (mx_shape){2, {ta ? K : M, in[3].d[1]}};
  return MX_OK;
}

static mx_status k_sdot(KARGS) {
  UNUSED_KARGS;
  const int64_t *idx, *ptr;
  int64_t M, K = p[SD_NUM_COLS].i, N = in[3]->shape.d[1];
  mx_status st = same_dtype(in[0], in[3], "rhs");
  if (st == MX_OK) st = csr_inputs(in, K, &idx, &ptr, &M);
  if (st != MX_OK) return st;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *v = MX_DATA(in[0], T);
    const T *B = MX_DATA(in[3], T);
    T *o = MX_DATA(out[0], T);
    if (p[SD_TRANSPOSE_A].i) CSR_SCATTER(T, v, idx, ptr, M, B, N, o, K);
    else CSR_GATHER(T, v, idx, ptr, M, B, N, o);
  });
  return MX_OK;
}

/* out = op(A) rhs.  d rhs = op(A)^T og; d values[j] (entry (i, k)) =
 * og[i, :] . rhs[k, :] (og[k, :] . rhs[i, :] when transposed). */
static mx_status b_sdot(BARGS) {
  UNUSED_BARGS;
  if (!mx_dtype_is_float(in[0]->dtype)) return grad_dtype_error(in[0]->dtype);
  const int64_t *idx, *ptr;
  int64_t M, K = p[SD_NUM_COLS].i, N = in[3]->shape.d[1];
  int ta = (int)p[SD_TRANSPOSE_A].i;
  mx_status st = csr_inputs(in, K, &idx, &ptr, &M);
  if (st != MX_OK) return st;
  for (int k = 1; k < 3 && st == MX_OK; k++)   /* index arrays: no gradient, zeros */
    if (req[k] == MX_REQ_WRITE) st = mx_ndarray_fill(ig[k], 0.0);
  if (st != MX_OK) return st;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *B = MX_DATA(in[3], T);
    const T *G = MX_DATA(og[0], T);
    const T *v = MX_DATA(in[0], T);
    if (ig[3]) {
      T *d = MX_DATA(ig[3], T);
      if (ta) CSR_GATHER(T, v, idx, ptr, M, G, N, d);
      else CSR_SCATTER(T, v, idx, ptr, M, G, N, d, K);
    }
    if (ig[0]) {
      T *dv = MX_DATA(ig[0], T);
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = ptr[i]; j < ptr[i + 1]; j++) {
          const T *g = G + (ta ? idx[j] : i) * N, *b = B + (ta ? i : idx[j]) * N;
          T s = 0;
          for (int64_t n = 0; n < N; n++) s += g[n] * b[n];
          dv[j] = s;
        }
    }
  });
  return MX_OK;
}

/* A^T rhs kept only on the given rows (a row_sparse result): inputs values,
 * indices, indptr, rhs (M, N), rows (R, sorted, holding every column the
 * CSR matrix uses); output (R, N). */
static mx_status shape_sdot_rsp(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                mx_shape *out) {
  (void)p; (void)nout;
  if (unknown(nin, in)) return MX_OK;
  if (in[3].ndim != 2) return ndim_error("rhs", 2, &in[3]);
  if (in[4].ndim != 1) return ndim_error("rows", 1, &in[4]);
  if (in[2].ndim != 1 || in[2].d[0] != in[3].d[0] + 1)
    return mx_error(MX_ERR_SHAPE, "dot: rhs has %lld rows but the CSR matrix %lld",
                    (long long)in[3].d[0], (long long)(in[2].d[0] - 1));
  out[0] = (mx_shape){2, {in[4].d[0], in[3].d[1]}};
  return MX_OK;
}

static mx_status k_sdot_rsp(KARGS) {
  UNUSED_KARGS;
  const int64_t *idx, *ptr;
  int64_t M, R = in[4]->shape.d[0], N = in[3]->shape.d[1];
  mx_status st = same_dtype(in[0], in[3], "rhs");
  if (st == MX_OK) st = need_int64(in[4], "rows");
  if (st != MX_OK) return st;
  const int64_t *rows = MX_DATA(in[4], int64_t);
  st = rows_check(rows, R, INT64_MAX, "rows");
  if (st == MX_OK) st = csr_inputs(in, INT64_MAX, &idx, &ptr, &M);
  if (st != MX_OK) return st;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *v = MX_DATA(in[0], T);
    const T *B = MX_DATA(in[3], T);
    T *o = MX_DATA(out[0], T);
    memset(o, 0, (size_t)(R * N) * sizeof(T));
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = ptr[i]; j < ptr[i + 1]; j++) {
        int64_t r = find_row(rows, R, idx[j]);
        if (r < 0)
          return mx_error(MX_ERR_ARG, "dot: column %lld of the CSR matrix is not among the rows",
                          (long long)idx[j]);
        for (int64_t n = 0; n < N; n++) o[r * N + n] += v[j] * B[i * N + n];
      }
  });
  return MX_OK;
}

/* ------------------------------------------------------ row_sparse add */

static mx_status shape_rsp_add(const mx_param_value *p, int nin, mx_shape *in, int nout,
                               mx_shape *out) {
  (void)p; (void)nout;
  if (unknown(nin, in)) return MX_OK;
  if (row_width(&in[0]) != row_width(&in[2]) || in[0].ndim != in[2].ndim)
    return mx_shape_pair_error("row_sparse +: data rows of shapes %s and %s differ", &in[0], &in[2]);
  out[0] = in[0];
  out[0].d[0] = in[4].d[0];
  return MX_OK;
}

static mx_status k_rsp_add(KARGS) {
  UNUSED_KARGS;
  static const int index_inputs[] = {1, 3, 4};
  mx_status st = same_dtype(in[0], in[2], "the second operand");
  for (int k = 0; k < 3 && st == MX_OK; k++) st = need_int64(in[index_inputs[k]], "row indices");
  if (st != MX_OK) return st;
  int64_t Ra = in[0]->shape.d[0], Rb = in[2]->shape.d[0], Ro = in[4]->shape.d[0];
  int64_t W = row_width(&in[0]->shape);
  const int64_t *ia = MX_DATA(in[1], int64_t), *ib = MX_DATA(in[3], int64_t),
                *io = MX_DATA(in[4], int64_t);
  st = rows_check(ia, Ra, INT64_MAX, "row_sparse +");
  if (st == MX_OK) st = rows_check(ib, Rb, INT64_MAX, "row_sparse +");
  if (st == MX_OK) st = rows_check(io, Ro, INT64_MAX, "row_sparse +");
  if (st != MX_OK) return st;
  MX_FLOAT_SWITCH(in[0]->dtype, T, {
    const T *a = MX_DATA(in[0], T), *b = MX_DATA(in[2], T);
    T *o = MX_DATA(out[0], T);
    int64_t ja = 0, jb = 0;
    for (int64_t r = 0; r < Ro; r++) {
      T *orow = o + r * W;
      for (int64_t n = 0; n < W; n++) orow[n] = 0;
      if (ja < Ra && ia[ja] == io[r]) { for (int64_t n = 0; n < W; n++) orow[n] += a[ja * W + n]; ja++; }
      if (jb < Rb && ib[jb] == io[r]) { for (int64_t n = 0; n < W; n++) orow[n] += b[jb * W + n]; jb++; }
    }
    if (ja != Ra || jb != Rb)
      return mx_error(MX_ERR_ARG, "row_sparse +: the output rows miss rows of an operand");
  });
  return MX_OK;
}

/* --------------------------------------------------------- lazy updates */

enum { LZ_LR, LZ_BETA1, LZ_BETA2, LZ_EPSILON, LZ_WD, LZ_RESCALE_GRAD, LZ_CLIP_GRADIENT,
       LZ_MOMENTUM, LZ_NPARAMS };
static const mx_param_desc p_lazy[LZ_NPARAMS] = {
  [LZ_LR] = {"lr", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Learning rate."},
  [LZ_BETA1] = {"beta1", MX_PARAM_FLOAT, 0, "0.9", NULL, "Adam: decay rate of the first moment."},
  [LZ_BETA2] = {"beta2", MX_PARAM_FLOAT, 0, "0.999", NULL, "Adam: decay rate of the second moment."},
  [LZ_EPSILON] = {"epsilon", MX_PARAM_FLOAT, 0, "1e-08", NULL, "Adam, AdaGrad: added for stability."},
  [LZ_WD] = {"wd", MX_PARAM_FLOAT, 0, "0", NULL, "Weight decay (applied to the touched rows only)."},
  [LZ_RESCALE_GRAD] = {"rescale_grad", MX_PARAM_FLOAT, 0, "1", NULL, "Factor the gradient is multiplied by first."},
  [LZ_CLIP_GRADIENT] = {"clip_gradient", MX_PARAM_FLOAT, 0, "-1", NULL,
   "Clip the rescaled gradient to [-clip_gradient, clip_gradient]; negative: no clipping."},
  [LZ_MOMENTUM] = {"momentum", MX_PARAM_FLOAT, 0, "0", NULL, "SGD with momentum: the momentum."},
};

/* Inputs: weight (M, C...), grad data (R, C...), grad indices (R), states
 * with the weight's shape; output the weight's shape. */
static mx_status shape_lazy(const mx_param_value *p, int nin, mx_shape *in, int nout,
                            mx_shape *out) {
  (void)p; (void)nout;
  if (unknown(nin, in)) return MX_OK;
  if (in[1].ndim != in[0].ndim || row_width(&in[1]) != row_width(&in[0]))
    return mx_shape_pair_error("lazy update: the gradient rows %s do not match the weight %s",
                               &in[1], &in[0]);
  if (in[2].ndim != 1 || in[2].d[0] != in[1].d[0])
    return mx_error(MX_ERR_SHAPE, "lazy update: the gradient needs one row index per data row");
  for (int k = 3; k < nin; k++)
    if (!mx_shape_equal(&in[k], &in[0]))
      return mx_shape_pair_error("lazy update: a state of shape %s does not match the weight %s",
                                 &in[k], &in[0]);
  out[0] = in[0];
  return MX_OK;
}

#define CLIPG(x, b) ((b) >= 0 ? ((x) > (b) ? (b) : ((x) < -(b) ? -(b) : (x))) : (x))

/* Run BODY for every element e of every touched row: W weight, G gradient
 * (element gi), S1/S2 states, O output (a copy of the weight first unless
 * out = weight). */
#define LAZY_LOOP(NSTATE, BODY)                                               \
  do {                                                                        \
    mx_status st_ = need_int64(in[2], "gradient row indices");                \
    for (int k_ = 1; k_ < 3 + (NSTATE) && st_ == MX_OK; k_++)                 \
      if (k_ != 2) st_ = same_dtype(in[0], in[k_], "an update input");        \
    if (st_ != MX_OK) return st_;                                             \
    int64_t R_ = in[1]->shape.d[0], Wd_ = row_width(&in[0]->shape);           \
    const int64_t *ri_ = MX_DATA(in[2], int64_t);                             \
    st_ = rows_check(ri_, R_, in[0]->shape.d[0], "lazy update");              \
    if (st_ != MX_OK) return st_;                                             \
    int nt_ = mx_par_threads(R_ * Wd_);                                       \
    MX_FLOAT_SWITCH(in[0]->dtype, T, {                                        \
      const T *W = MX_DATA(in[0], T);                                         \
      const T *G = MX_DATA(in[1], T);                                         \
      T *S1 = (NSTATE) >= 1 ? MX_DATA(in[3], T) : NULL;                       \
      T *S2 = (NSTATE) >= 2 ? MX_DATA(in[4], T) : NULL;                       \
      T *O = MX_DATA(out[0], T);                                              \
      (void)S1; (void)S2;                                                     \
      if ((const T *)O != W)                                                  \
        memcpy(O, W, (size_t)mx_ndarray_size(in[0]) * sizeof(T));             \
      MX_OMP_FOR(nt_)                                                         \
      for (int64_t r = 0; r < R_; r++)                                        \
        for (int64_t c_ = 0; c_ < Wd_; c_++) {                                \
          int64_t e = ri_[r] * Wd_ + c_, gi = r * Wd_ + c_;                   \
          BODY                                                                \
        }                                                                     \
    });                                                                       \
  } while (0)

/* weight = (1 - lr*wd)*weight - lr*clip(rescale*grad) (sgd_update). */
static mx_status k_lazy_sgd(KARGS) {
  UNUSED_KARGS;
  const double lr = p[LZ_LR].f, wd = p[LZ_WD].f, rs = p[LZ_RESCALE_GRAD].f, cg = p[LZ_CLIP_GRADIENT].f;
  LAZY_LOOP(0, {
    T g = (T)rs * G[gi];
    g = CLIPG(g, (T)cg);
    O[e] = (T)(1 - lr * wd) * W[e] - (T)lr * g;
  });
  return MX_OK;
}

/* mom = momentum*mom - lr*(clip(rescale*grad) + wd*weight); weight += mom
 * (sgd_mom_update's step, on the touched rows and their momentum). */
static mx_status k_lazy_sgd_mom(KARGS) {
  UNUSED_KARGS;
  const double lr = p[LZ_LR].f, mo = p[LZ_MOMENTUM].f, wd = p[LZ_WD].f, rs = p[LZ_RESCALE_GRAD].f,
               cg = p[LZ_CLIP_GRADIENT].f;
  LAZY_LOOP(1, {
    T w = W[e];
    T g = (T)rs * G[gi];
    g = CLIPG(g, (T)cg);
    T m = (T)mo * S1[e] - (T)lr * (g + (T)wd * w);
    S1[e] = m;
    O[e] = w + m;
  });
  return MX_OK;
}

/* g = clip(rescale*grad); history += g^2;
 * weight -= lr*(g/sqrt(history + eps) + wd*weight) (adagrad_update). */
static mx_status k_lazy_adagrad(KARGS) {
  UNUSED_KARGS;
  const double lr = p[LZ_LR].f, eps = p[LZ_EPSILON].f, wd = p[LZ_WD].f, rs = p[LZ_RESCALE_GRAD].f,
               cg = p[LZ_CLIP_GRADIENT].f;
  LAZY_LOOP(1, {
    T w = W[e];
    T g = (T)rs * G[gi];
    g = CLIPG(g, (T)cg);
    T h = S1[e] + g * g;
    S1[e] = h;
    O[e] = w - (T)lr * (g / (T)sqrt((double)h + eps) + (T)wd * w);
  });
  return MX_OK;
}

/* g = clip(rescale*grad + wd*weight); mean, var as adam_update. */
static mx_status k_lazy_adam(KARGS) {
  UNUSED_KARGS;
  const double lr = p[LZ_LR].f, b1 = p[LZ_BETA1].f, b2 = p[LZ_BETA2].f, eps = p[LZ_EPSILON].f,
               wd = p[LZ_WD].f, rs = p[LZ_RESCALE_GRAD].f, cg = p[LZ_CLIP_GRADIENT].f;
  LAZY_LOOP(2, {
    T w = W[e];
    T g = (T)rs * G[gi] + (T)wd * w;
    g = CLIPG(g, (T)cg);
    T m = (T)b1 * S1[e] + (T)(1 - b1) * g;
    T v = (T)b2 * S2[e] + (T)(1 - b2) * g * g;
    S1[e] = m;
    S2[e] = v;
    O[e] = w - (T)lr * m / ((T)sqrt((double)v) + (T)eps);
  });
  return MX_OK;
}

/* --------------------------------------------------------------- table */

static const char *const in_data[] = {"data", NULL};
static const char *const in_from_dense[] = {"data", "indptr", NULL};
static const char *const in_csr[] = {"values", "indices", "indptr", NULL};
static const char *const in_rsp[] = {"data", "indices", NULL};
static const char *const in_sdot[] = {"values", "indices", "indptr", "rhs", NULL};
static const char *const in_sdot_rsp[] = {"values", "indices", "indptr", "rhs", "rows", NULL};
static const char *const in_rsp_add[] = {"lhs_data", "lhs_indices", "rhs_data", "rhs_indices",
                                         "out_indices", NULL};
static const char *const in_lazy_sgd[] = {"weight", "grad_data", "grad_indices", NULL};
static const char *const in_lazy_adagrad[] = {"weight", "grad_data", "grad_indices", "history", NULL};
static const char *const in_lazy_sgd_mom[] = {"weight", "grad_data", "grad_indices", "mom", NULL};
static const char *const in_lazy_adam[] = {"weight", "grad_data", "grad_indices", "mean", "var", NULL};
static const char *const out_csr[] = {"values", "indices", NULL};

#define LAZY_FLAGS (MX_OPF_INPLACE | MX_OPF_F16 | MX_OPF_NO_MIRROR | MX_OPF_INTERNAL)

const mx_op mx_ops_sparse[] = {
  {.name = "_sparse_row_nnz", .doc = "Non-zeros of each row of a 2-D array (int64).",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .infer_shape = shape_row_nnz,
   .infer_type = type_int64, .cpu = k_row_nnz, .flags = MX_OPF_INTERNAL},
  {.name = "_sparse_csr_from_dense",
   .doc = "Values and column indices of a 2-D array's non-zeros, row by row (indptr from _sparse_row_nnz).",
   .num_inputs = 2, .input_names = in_from_dense, .num_outputs = 2, .params = p_nnz,
   .num_params = MX_NPARAMS(p_nnz), .infer_shape = shape_csr_from_dense,
   .infer_type = type_vals_idx, .cpu = k_csr_from_dense, .output_names = out_csr,
   .flags = MX_OPF_INTERNAL},
  {.name = "_sparse_csr_to_dense", .doc = "The dense array of CSR components.",
   .num_inputs = 3, .input_names = in_csr, .num_outputs = 1, .params = p_ncols,
   .num_params = MX_NPARAMS(p_ncols), .infer_shape = shape_csr_to_dense,
   .infer_type = type_first, .cpu = k_csr_to_dense, .flags = MX_OPF_INTERNAL},
  {.name = "_sparse_rsp_to_dense", .doc = "The dense array of row_sparse components.",
   .num_inputs = 2, .input_names = in_rsp, .num_outputs = 1, .params = p_nrows,
   .num_params = MX_NPARAMS(p_nrows), .infer_shape = shape_rsp_to_dense,
   .infer_type = type_first, .cpu = k_rsp_to_dense, .flags = MX_OPF_INTERNAL},
  {.name = "_sparse_dot_csr_dense",
   .doc = "Product of a CSR matrix (components values, indices, indptr) and a dense matrix; "
          "transpose_a uses the CSR matrix transposed.",
   .num_inputs = 4, .input_names = in_sdot, .num_outputs = 1, .params = p_sdot,
   .num_params = MX_NPARAMS(p_sdot), .infer_shape = shape_sdot, .infer_type = type_first,
   .cpu = k_sdot, .backward = b_sdot, .flags = MX_OPF_INTERNAL | MX_OPF_NO_MIRROR},
  {.name = "_sparse_dot_csr_dense_rsp",
   .doc = "Transposed CSR matrix times a dense matrix, kept on the given rows (a row_sparse result).",
   .num_inputs = 5, .input_names = in_sdot_rsp, .num_outputs = 1, .infer_shape = shape_sdot_rsp,
   .infer_type = type_first, .cpu = k_sdot_rsp, .flags = MX_OPF_INTERNAL | MX_OPF_NO_MIRROR},
  {.name = "_sparse_rsp_add", .doc = "Sum of two row_sparse arrays on the union of their rows.",
   .num_inputs = 5, .input_names = in_rsp_add, .num_outputs = 1, .infer_shape = shape_rsp_add,
   .infer_type = type_first, .cpu = k_rsp_add, .flags = MX_OPF_INTERNAL},
  {.name = "_sparse_rsp_sgd_update",
   .doc = "Lazy SGD update of the weight rows a row_sparse gradient holds; pass out = weight.",
   .num_inputs = 3, .input_names = in_lazy_sgd, .num_outputs = 1, .params = p_lazy,
   .num_params = MX_NPARAMS(p_lazy), .infer_shape = shape_lazy, .infer_type = type_first,
   .cpu = k_lazy_sgd, .flags = LAZY_FLAGS},
  {.name = "_sparse_rsp_sgd_mom_update",
   .doc = "Lazy SGD-with-momentum update of the weight rows a row_sparse gradient holds; mom is "
          "updated in place on those rows; pass out = weight.",
   .num_inputs = 4, .input_names = in_lazy_sgd_mom, .num_outputs = 1, .params = p_lazy,
   .num_params = MX_NPARAMS(p_lazy), .infer_shape = shape_lazy, .infer_type = type_first,
   .cpu = k_lazy_sgd_mom, .flags = LAZY_FLAGS},
  {.name = "_sparse_rsp_adagrad_update",
   .doc = "Lazy AdaGrad update of the weight rows a row_sparse gradient holds; history is updated "
          "in place; pass out = weight.",
   .num_inputs = 4, .input_names = in_lazy_adagrad, .num_outputs = 1, .params = p_lazy,
   .num_params = MX_NPARAMS(p_lazy), .infer_shape = shape_lazy, .infer_type = type_first,
   .cpu = k_lazy_adagrad, .flags = LAZY_FLAGS},
  {.name = "_sparse_rsp_adam_update",
   .doc = "Lazy Adam update of the weight rows a row_sparse gradient holds; mean and var are "
          "updated in place; pass out = weight.",
   .num_inputs = 5, .input_names = in_lazy_adam, .num_outputs = 1, .params = p_lazy,
   .num_params = MX_NPARAMS(p_lazy), .infer_shape = shape_lazy, .infer_type = type_first,
   .cpu = k_lazy_adam, .flags = LAZY_FLAGS},
  {.name = NULL},
};
