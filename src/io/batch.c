/*
 * batch.c -- batching helpers of the in-memory iterators (mx.io.arrayiter,
 * mx.io.CSVIter): gather example rows into a staging array, and MXNet R's
 * shuffle order.
 */
#include "mx-io.h"
#include "../include/mx-internal.h"

mx_status mx_io_gather_rows(const mx_ndarray *src, const int64_t *rows,
                            int64_t n, mx_ndarray *dst) {
  if (src->ctx.dev_type != MX_CPU || dst->ctx.dev_type != MX_CPU)
    return mx_error(MX_ERR_DEVICE, "batch gathering works on CPU arrays only");
  if (src->dtype != dst->dtype)
    return mx_error(MX_ERR_DTYPE, "batch gathering: source is %s, staging array is %s",
                    mx_dtype_name(src->dtype), mx_dtype_name(dst->dtype));
  const mx_shape *a = &src->shape, *b = &dst->shape;
  int same = a->ndim == b->ndim && a->ndim >= 1;
  for (int k = 1; same && k < a->ndim; k++) same = a->d[k] == b->d[k];
  if (!same) {
    char sa[96], sb[96];
    mx_shape_format(a, sa, sizeof sa);
    mx_shape_format(b, sb, sizeof sb);
    return mx_error(MX_ERR_SHAPE, "batch gathering: examples of shape %s do not fit a batch of shape %s",
                    sa, sb);
  }
  if (n < 0 || n > b->d[0])
    return mx_error(MX_ERR_ARG, "batch gathering: %lld rows do not fit a batch of %lld",
                    (long long)n, (long long)b->d[0]);
  for (int64_t k = 0; k < n; k++)
    if (rows[k] < 0 || rows[k] >= a->d[0])
      return mx_error(MX_ERR_ARG, "batch gathering: example %lld is out of range [0, %lld)",
                      (long long)rows[k], (long long)a->d[0]);
  if (mx_ndarray_overlap(src, dst))
    return mx_error(MX_ERR_ARG, "batch gathering: the staging array overlaps the data");
  int64_t per = a->d[0] ? mx_shape_size(a) / a->d[0] : 0;
  size_t row_bytes = (size_t)per * mx_dtype_size(src->dtype);
  if (row_bytes == 0 || n == 0) return MX_OK;
  const char *s = (const char *)MX_PTR(src);
  char *d = (char *)MX_PTR(dst);
  int nt = mx_par_threads(n * per);
  MX_OMP_FOR(nt)
  for (int64_t k = 0; k < n; k++)
    memcpy(d + (size_t)k * row_bytes, s + (size_t)rows[k] * row_bytes, row_bytes);
  return MX_OK;
}

void mx_io_shuffle_order(const double *u, int64_t n, int64_t *order) {
  for (int64_t i = 0; i < n; i++) order[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    double x = u[i];
    int64_t j = 0;
    if (x > 0) {                 /* NaN and negatives: 0 */
      double f = x * (double)(i + 1);
      j = f >= (double)i ? i : (int64_t)f;
    }
    if (j < i) {
      int64_t t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }
}
