/*
 * shape.cu -- Concat and SliceChannel on the GPU, forward and backward:
 * each input (output) is one pitched 2-D copy (mx_kc_concat_part and
 * mx_kc_concat_part_back in kern-common.h, host-tested), queued with
 * cudaMemcpy2DAsync on the device's stream.  Byte moves: every dtype.
 * The gradients take the float dtypes only, as shape.c / nn.c.
 *
 * UNVERIFIED on a GPU: compiled for sm_90 only (see docs/gpu-kernels.md).
 */
#include "../kern-common.h"

#include <limits.h>

#define WANT(j) (ig[j] && (req[j] == MX_REQ_WRITE || req[j] == MX_REQ_INPLACE))

static int is_float_dt(int dt) { return dt == MX_FLOAT32 || dt == MX_FLOAT64 || dt == MX_FLOAT16; }

/* The 2-D copies and sets refuse a pitch above the device's limit (2^31 - 1
 * bytes, say); rows that far apart are few (each holds 2 GiB), so those go
 * row by row. */
#define KC_PITCH_MAX ((size_t)INT_MAX)

/* One block copy of es-byte elements between device buffers. */
static mx_status copy2d(cudaStream_t s, void *dst, const void *src, size_t es, mx_kc_copy2d cp) {
  if (cp.width <= 0 || cp.height <= 0) return MX_OK;
  char *d = (char *)dst + (size_t)cp.dst_off * es;
  const char *a = (const char *)src + (size_t)cp.src_off * es;
  size_t w = (size_t)cp.width * es, dp = (size_t)cp.dst_pitch * es, sp = (size_t)cp.src_pitch * es;
  if (cp.height == 1 || (cp.dst_pitch == cp.width && cp.src_pitch == cp.width)) {
    MX_CUDA_TRY(cudaMemcpyAsync(d, a, w * (size_t)cp.height, cudaMemcpyDeviceToDevice, s));
  } else if (dp > KC_PITCH_MAX || sp > KC_PITCH_MAX) {
    for (int64_t r = 0; r < cp.height; r++)
      MX_CUDA_TRY(cudaMemcpyAsync(d + (size_t)r * dp, a + (size_t)r * sp, w, cudaMemcpyDeviceToDevice, s));
  } else {
    MX_CUDA_TRY(cudaMemcpy2DAsync(d, (size_t)cp.dst_pitch * es, a, (size_t)cp.src_pitch * es, w,
                                  (size_t)cp.height, cudaMemcpyDeviceToDevice, s));
  }
  return MX_OK;
}
/* Zeros in the destination block of cp. */
static mx_status zero2d(cudaStream_t s, void *dst, size_t es, mx_kc_copy2d cp) {
  if (cp.width <= 0 || cp.height <= 0) return MX_OK;
  char *d = (char *)dst + (size_t)cp.dst_off * es;
  size_t dp = (size_t)cp.dst_pitch * es, w = (size_t)cp.width * es;
  if (cp.height > 1 && dp > KC_PITCH_MAX) {
    for (int64_t r = 0; r < cp.height; r++) MX_CUDA_TRY(cudaMemsetAsync(d + (size_t)r * dp, 0, w, s));
    return MX_OK;
  }
  MX_CUDA_TRY(cudaMemset2DAsync(d, dp, 0, w, (size_t)cp.height, s));
  return MX_OK;
}

static mx_status axis_check(const char *name, int64_t axis, int ndim, int *out) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    return mx_error(MX_ERR_ARG, "parameter '%s' = %lld is out of range for an array with %d dimension%s",
                    name, (long long)axis, ndim, ndim == 1 ? "" : "s");
  *out = (int)a;
  return MX_OK;
}

/* ------------------------------------------------------------- Concat */

static int cc_dim = -1;

/* outer rows; per part k, inner[k] elements from column start[k] of row */
static mx_status concat_layout(const mx_param_value *p, const mx_shape *os, int nin,
                               mx_ndarray *const *a, mx_ndarray *const *b, int64_t *outer,
                               int64_t *row, int64_t *inner, int64_t *start) {
  MX_KC_PARAM(cc_dim, "Concat", "dim");
  int ax = 0;
  mx_status rc = axis_check("dim", p[cc_dim].i, os->ndim, &ax);
  if (rc) return rc;
  *outer = 1;
  for (int k = 0; k < ax; k++) *outer *= os->d[k];
  *row = 0;
  for (int k = 0; k < nin; k++) {
    const mx_ndarray *x = (a && a[k]) ? a[k] : b ? b[k] : NULL;
    if (!x) return mx_error(MX_ERR_INTERNAL, "Concat: the shape of input %d is unknown", k + 1);
    inner[k] = 1;
    for (int j = ax; j < x->shape.ndim; j++) inner[k] *= x->shape.d[j];
    start[k] = *row;
    *row += inner[k];
  }
  return MX_OK;
}

extern "C" mx_status mx_kc_concat(KARGS) {
  UNUSED_KARGS;
  int64_t outer, row, inner[MX_MAX_INPUTS], start[MX_MAX_INPUTS];
  mx_status rc = concat_layout(p, &out[0]->shape, nin, in, NULL, &outer, &row, inner, start);
  if (rc) return rc;
  size_t es = mx_cu_dtype_size(out[0]->dtype);
  for (int k = 0; k < nin && !rc; k++)
    rc = copy2d(MX_KC_STREAM(c), MX_PTR(out[0]), MX_PTR(in[k]), es,
                mx_kc_concat_part(outer, row, start[k], inner[k]));
  return rc;
}

extern "C" mx_status mx_kc_concat_grad(BARGS) {
  UNUSED_BARGS;
  int64_t outer, row, inner[MX_MAX_INPUTS], start[MX_MAX_INPUTS];
  mx_status rc = concat_layout(p, &og[0]->shape, nin, ig, in, &outer, &row, inner, start);
  if (rc) return rc;
  size_t es = mx_cu_dtype_size(og[0]->dtype);
  for (int k = 0; k < nin && !rc; k++) {
    if (req[k] != MX_REQ_WRITE) continue;
    if (!is_float_dt(ig[k]->dtype)) return MX_KC_GRAD_DTYPE_ERROR(ig[k]->dtype);
    rc = copy2d(MX_KC_STREAM(c), MX_PTR(ig[k]), MX_PTR(og[0]), es,
                mx_kc_concat_part_back(outer, row, start[k], inner[k]));
  }
  return rc;
}

/* ------------------------------------------------------- SliceChannel */

static int sc_num = -1, sc_axis = -1;

/* SliceChannel is Concat read backwards: output k is part k of every row
 * (each part part*inner elements of a row of len*inner). */
static mx_status slice_layout(const mx_param_value *p, const mx_shape *s, int64_t *outer,
                              int64_t *row, int64_t *w, int64_t *n) {
  MX_KC_PARAM(sc_num, "SliceChannel", "num_outputs");
  MX_KC_PARAM(sc_axis, "SliceChannel", "axis");
  int ax = 0;
  mx_status rc = axis_check("axis", p[sc_axis].i, s->ndim, &ax);
  if (rc) return rc;
  int64_t len, inner;
  mx_kc_split_at(s, ax, outer, &len, &inner);
  *n = p[sc_num].i;
  if (*n < 1 || len % *n != 0)
    return mx_error(MX_ERR_SHAPE, "axis %d of extent %lld cannot be split into %lld equal parts", ax,
                    (long long)len, (long long)*n);
  *row = len * inner;
  *w = len / *n * inner;
  return MX_OK;
}

extern "C" mx_status mx_kc_slice_channel(KARGS) {
  UNUSED_KARGS;
  int64_t outer, row, w, n;
  mx_status rc = slice_layout(p, &in[0]->shape, &outer, &row, &w, &n);
  if (rc) return rc;
  size_t es = mx_cu_dtype_size(in[0]->dtype);
  for (int k = 0; k < nout && !rc; k++)
    rc = copy2d(MX_KC_STREAM(c), MX_PTR(out[k]), MX_PTR(in[0]), es,
                mx_kc_concat_part_back(outer, row, k * w, w));
  return rc;
}

extern "C" mx_status mx_kc_slice_channel_grad(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;   /* any dtype: nn.c's b_slice_channel copies bytes */
  int64_t outer, row, w, n;
  mx_status rc = slice_layout(p, &ig[0]->shape, &outer, &row, &w, &n);
  if (rc) return rc;
  size_t es = mx_cu_dtype_size(ig[0]->dtype);
  cudaStream_t s = MX_KC_STREAM(c);
  for (int64_t k = 0; k < n && !rc; k++) {
    mx_kc_copy2d cp = mx_kc_concat_part(outer, row, k * w, w);
    if (k < nout && og[k]) rc = copy2d(s, MX_PTR(ig[0]), MX_PTR(og[k]), es, cp);
    else rc = zero2d(s, MX_PTR(ig[0]), es, cp);   /* an output without a gradient */
  }
  return rc;
}

/* -------------------------------------------------------------- stack */

static int sk_axis = -1;

/* outer rows of (nin, inner): input k is part k of every row */
static mx_status stack_layout(const mx_param_value *p, const mx_shape *os, const mx_shape *is,
                              int64_t *outer, int64_t *inner) {
  MX_KC_PARAM(sk_axis, "stack", "axis");
  int ax = 0;
  mx_status rc = axis_check("axis", p[sk_axis].i, os->ndim, &ax);
  if (rc) return rc;
  *outer = 1;
  *inner = 1;
  for (int k = 0; k < ax; k++) *outer *= is->d[k];
  for (int k = ax; k < is->ndim; k++) *inner *= is->d[k];
  return MX_OK;
}

extern "C" mx_status mx_kc_stack(KARGS) {
  UNUSED_KARGS;
  int64_t outer, inner;
  mx_status rc = stack_layout(p, &out[0]->shape, &in[0]->shape, &outer, &inner);
  size_t es = mx_cu_dtype_size(out[0]->dtype);
  for (int k = 0; k < nin && !rc; k++)
    rc = copy2d(MX_KC_STREAM(c), MX_PTR(out[0]), MX_PTR(in[k]), es,
                mx_kc_concat_part(outer, nin * inner, k * inner, inner));
  return rc;
}

extern "C" mx_status mx_kc_stack_grad(BARGS) {
  UNUSED_BARGS;
  const mx_ndarray *a = NULL;
  for (int k = 0; k < nin && !a; k++)
    if (req[k] == MX_REQ_WRITE) a = ig[k];
  if (!a) return MX_OK;
  if (!is_float_dt(a->dtype)) return MX_KC_GRAD_DTYPE_ERROR(a->dtype);
  int64_t outer, inner;
  mx_status rc = stack_layout(p, &og[0]->shape, &a->shape, &outer, &inner);
  size_t es = mx_cu_dtype_size(og[0]->dtype);
  for (int k = 0; k < nin && !rc; k++)
    if (req[k] == MX_REQ_WRITE)
      rc = copy2d(MX_KC_STREAM(c), MX_PTR(ig[k]), MX_PTR(og[0]), es,
                  mx_kc_concat_part_back(outer, nin * inner, k * inner, inner));
  return rc;
}
