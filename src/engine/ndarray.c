/*
 * ndarray.c -- n-dimensional arrays: a header (shape, dtype, device, byte
 * offset) over reference-counted storage.  Views share storage; the storage
 * goes back to the pool when its last header is freed.
 */
#include "../include/mx-internal.h"
#include "../include/mx-gpu.h"

#include <math.h>
#include <stdlib.h>

mx_status mx_context_check(mx_context ctx) {
  if (ctx.dev_type == MX_CPU) {
    if (ctx.dev_id < 0) return mx_error(MX_ERR_DEVICE, "invalid device id %d", ctx.dev_id);
    return MX_OK;
  }
  if (ctx.dev_type == MX_GPU) {
    int n = mx_gpu_count();
    if (n == 0) return mx_error(MX_ERR_DEVICE, "no GPU is available: %s", mx_gpu_why());
    if (ctx.dev_id < 0 || ctx.dev_id >= n)
      return mx_error(MX_ERR_DEVICE, "gpu(%d) does not exist (this machine has %d GPU%s)",
                      ctx.dev_id, n, n == 1 ? "" : "s");
    return MX_OK;
  }
  return mx_error(MX_ERR_DEVICE, "unknown device type %d", ctx.dev_type);
}

static mx_status header_new(const mx_shape *shape, int dtype, mx_context ctx,
                            mx_storage *st, size_t offset, mx_ndarray **out) {
  mx_ndarray *a = (mx_ndarray *)malloc(sizeof(mx_ndarray));
  if (!a) return mx_error(MX_ERR_NOMEM, "out of memory (array header)");
  a->st = st;
  a->offset = offset;
  a->shape = *shape;
  a->dtype = dtype;
  a->ctx = ctx;
  *out = a;
  return MX_OK;
}

mx_status mx_ndarray_on_storage(mx_storage *st, size_t offset, const mx_shape *shape,
                                int dtype, mx_context ctx, mx_ndarray **out) {
  *out = NULL;
  if ((size_t)mx_shape_size(shape) * mx_dtype_size(dtype) + offset > st->bytes)
    return mx_error(MX_ERR_INTERNAL, "view exceeds its storage");
  mx_status rc = header_new(shape, dtype, ctx, st, offset, out);
  if (rc == MX_OK) mx_storage_retain(st);
  return rc;
}

mx_status mx_ndarray_new(const mx_shape *shape, int dtype, mx_context ctx,
                         mx_ndarray **out) {
  *out = NULL;
  if (!mx_dtype_valid(dtype))
    return mx_error(MX_ERR_DTYPE, "unknown dtype code %d", dtype);
  mx_shape s;
  mx_status rc = mx_shape_make(&s, shape->ndim, shape->d);
  if (rc) return rc;
  rc = mx_context_check(ctx);
  if (rc) return rc;
  size_t bytes = (size_t)mx_shape_size(&s) * mx_dtype_size(dtype);
  mx_storage *st;
  rc = mx_storage_alloc(bytes, ctx, &st);
  if (rc) return rc;
  rc = header_new(&s, dtype, ctx, st, 0, out);
  if (rc) mx_storage_release(st);
  return rc;
}

mx_status mx_ndarray_new_fill(const mx_shape *shape, int dtype, mx_context ctx,
                              double value, mx_ndarray **out) {
  mx_status rc = mx_ndarray_new(shape, dtype, ctx, out);
  if (rc) return rc;
  rc = mx_ndarray_fill(*out, value);
  if (rc) {
    mx_ndarray_free(*out);
    *out = NULL;
  }
  return rc;
}

void mx_ndarray_free(mx_ndarray *a) {
  if (!a) return;
  mx_storage_release(a->st);
  free(a);
}

mx_status mx_ndarray_view(const mx_ndarray *a, mx_ndarray **out) {
  mx_status rc = header_new(&a->shape, a->dtype, a->ctx, a->st, a->offset, out);
  if (rc == MX_OK) mx_storage_retain(a->st);
  return rc;
}

mx_status mx_ndarray_reshape_view(const mx_ndarray *a, const mx_shape *shape,
                                  mx_ndarray **out) {
  *out = NULL;
  mx_shape s;
  mx_status rc = mx_shape_make(&s, shape->ndim, shape->d);
  if (rc) return rc;
  if (mx_shape_size(&s) != mx_shape_size(&a->shape)) {
    char b1[128], b2[128];
    mx_shape_format(&a->shape, b1, sizeof b1);
    mx_shape_format(&s, b2, sizeof b2);
    return mx_error(MX_ERR_SHAPE, "cannot reshape %s into %s: sizes differ", b1, b2);
  }
  rc = header_new(&s, a->dtype, a->ctx, a->st, a->offset, out);
  if (rc == MX_OK) mx_storage_retain(a->st);
  return rc;
}

mx_status mx_ndarray_slice0_view(const mx_ndarray *a, int64_t begin,
                                 int64_t end, mx_ndarray **out) {
  *out = NULL;
  if (a->shape.ndim < 1)
    return mx_error(MX_ERR_SHAPE, "cannot slice a 0-dimensional array");
  if (begin < 0 || end < begin || end > a->shape.d[0])
    return mx_error(MX_ERR_ARG, "slice [%lld, %lld) is out of range for axis of length %lld",
                    (long long)begin, (long long)end, (long long)a->shape.d[0]);
  mx_shape s = a->shape;
  int64_t row = mx_shape_size(&s) / (s.d[0] ? s.d[0] : 1);
  if (s.d[0] == 0) row = 0;
  s.d[0] = end - begin;
  size_t off = a->offset + (size_t)(begin * row) * mx_dtype_size(a->dtype);
  mx_status rc = header_new(&s, a->dtype, a->ctx, a->st, off, out);
  if (rc == MX_OK) mx_storage_retain(a->st);
  return rc;
}

const mx_shape *mx_ndarray_shape(const mx_ndarray *a) { return &a->shape; }
int mx_ndarray_dtype(const mx_ndarray *a) { return a->dtype; }
mx_context mx_ndarray_context(const mx_ndarray *a) { return a->ctx; }
int64_t mx_ndarray_size(const mx_ndarray *a) { return mx_shape_size(&a->shape); }
size_t mx_ndarray_nbytes(const mx_ndarray *a) {
  return (size_t)mx_shape_size(&a->shape) * mx_dtype_size(a->dtype);
}
void *mx_ndarray_data(const mx_ndarray *a) {
  return a->ctx.dev_type == MX_CPU ? MX_PTR(a) : NULL;
}

int mx_ndarray_overlap(const mx_ndarray *a, const mx_ndarray *b) {
  if (a->st != b->st) return 0;
  size_t a0 = a->offset, a1 = a->offset + mx_ndarray_nbytes(a);
  size_t b0 = b->offset, b1 = b->offset + mx_ndarray_nbytes(b);
  if (a0 == a1 || b0 == b1) return 0;
  return a0 < b1 && b0 < a1;
}

int mx_ndarray_same(const mx_ndarray *a, const mx_ndarray *b) {
  return a->st == b->st && a->offset == b->offset && a->dtype == b->dtype &&
         mx_shape_equal(&a->shape, &b->shape);
}

static int on_gpu(const mx_ndarray *a) { return a->ctx.dev_type == MX_GPU; }
/* Device of an array for the backend's copy (-1: the host). */
static int dev_of(const mx_ndarray *a) { return on_gpu(a) ? a->ctx.dev_id : -1; }

void mx_host_fill(void *p, int dtype, int64_t n, double value) {
  size_t es = mx_dtype_size(dtype);
  if (n <= 0) return;
  if (value == 0 && !signbit(value)) {
    memset(p, 0, (size_t)n * es);
    return;
  }
  /* write one element, then replicate it */
  mx_store_f64(p, dtype, 0, value);
  for (int64_t done = 1; done < n;) {
    int64_t c = done < n - done ? done : n - done;
    memcpy((char *)p + (size_t)done * es, p, (size_t)c * es);
    done += c;
  }
}

mx_status mx_host_add(void *dst, const void *src, int dtype, int64_t n) {
  if (dtype == MX_FLOAT16 || dtype == MX_BFLOAT16) {   /* float sums, rounded once (as basic.cu) */
    uint16_t *d = (uint16_t *)dst;
    const uint16_t *a = (const uint16_t *)src;
    int nt = mx_par_threads(n), h = dtype == MX_FLOAT16;
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < n; i++)
      d[i] = h ? mx_f32_to_f16(mx_f16_to_f32(d[i]) + mx_f16_to_f32(a[i]))
               : mx_f32_to_bf16(mx_bf16_to_f32(d[i]) + mx_bf16_to_f32(a[i]));
    return MX_OK;
  }
  MX_FLOAT_SWITCH(dtype, T, {
    T *d = (T *)dst;
    const T *a = (const T *)src;
    int nt = mx_par_threads(n);
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < n; i++) d[i] += a[i];
  });
  return MX_OK;
}

mx_status mx_ndarray_fill(mx_ndarray *a, double value) {
  int64_t n = mx_ndarray_size(a);
  if (n == 0) return MX_OK;
  if (on_gpu(a)) return mx_gpu()->fill(a->ctx.dev_id, MX_PTR(a), a->dtype, n, value);
  mx_host_fill(MX_PTR(a), a->dtype, n, value);
  return MX_OK;
}

/* n elements of dtype st at src into dtype dt at dst, both on the device
 * (or both on the host) of a. */
static mx_status convert_on(const mx_ndarray *a, const void *src, int st, void *dst, int dt,
                            int64_t n) {
  if (on_gpu(a)) return mx_gpu()->cast(a->ctx.dev_id, src, st, dst, dt, n);
  mx_convert(src, st, dst, dt, n);
  return MX_OK;
}

/* Copy with a dtype change where a device is involved: convert on the
 * source's device into a temporary, then copy bytes. */
static mx_status copy_convert(const mx_ndarray *src, mx_ndarray *dst) {
  mx_ndarray *tmp;
  mx_status rc = mx_ndarray_new(&src->shape, dst->dtype, src->ctx, &tmp);
  if (rc) return rc;
  rc = convert_on(src, MX_PTR(src), src->dtype, MX_PTR(tmp), tmp->dtype, mx_ndarray_size(src));
  if (rc == MX_OK) rc = mx_ndarray_copy_into(tmp, dst);
  mx_ndarray_free(tmp);
  return rc;
}

mx_status mx_ndarray_copy_into(const mx_ndarray *src, mx_ndarray *dst) {
  if (!mx_shape_equal(&src->shape, &dst->shape)) {
    if (mx_ndarray_size(src) != mx_ndarray_size(dst)) {
      char b1[128], b2[128];
      mx_shape_format(&src->shape, b1, sizeof b1);
      mx_shape_format(&dst->shape, b2, sizeof b2);
      return mx_error(MX_ERR_SHAPE, "cannot copy an array of shape %s into one of shape %s", b1, b2);
    }
  }
  if (mx_ndarray_same(src, dst)) return MX_OK;
  if (on_gpu(src) || on_gpu(dst)) {
    if (src->dtype != dst->dtype) return copy_convert(src, dst);
    size_t nb = mx_ndarray_nbytes(dst);
    return nb ? mx_gpu()->copy(MX_PTR(dst), dev_of(dst), MX_PTR(src), dev_of(src), nb) : MX_OK;
  }
  if (mx_ndarray_overlap(src, dst) && src->dtype != dst->dtype) {
    /* convert through a temporary so no element is read after being written */
    mx_ndarray *tmp;
    mx_status rc = mx_ndarray_copy(src, src->dtype, src->ctx, &tmp);
    if (rc) return rc;
    mx_convert(MX_PTR(tmp), tmp->dtype, MX_PTR(dst), dst->dtype, mx_ndarray_size(dst));
    mx_ndarray_free(tmp);
    return MX_OK;
  }
  mx_convert(MX_PTR(src), src->dtype, MX_PTR(dst), dst->dtype, mx_ndarray_size(dst));
  return MX_OK;
}

/* dst += src: same element count and dtype, floating types; src on any
 * device (copied to dst's device first when it is elsewhere). */
mx_status mx_ndarray_add_into(mx_ndarray *dst, const mx_ndarray *src) {
  int64_t n = mx_ndarray_size(dst);
  if (mx_ndarray_size(src) != n || src->dtype != dst->dtype)
    return mx_error(MX_ERR_SHAPE, "cannot add an array of %lld elements (dtype %s) into one of %lld (dtype %s)",
                    (long long)mx_ndarray_size(src), mx_dtype_name(src->dtype), (long long)n,
                    mx_dtype_name(dst->dtype));
  if (n == 0) return MX_OK;
  /* cpu(i) and cpu(j) share host memory: only device arrays move */
  if ((on_gpu(src) || on_gpu(dst)) &&
      (src->ctx.dev_type != dst->ctx.dev_type || src->ctx.dev_id != dst->ctx.dev_id)) {
    mx_ndarray *tmp;
    mx_status rc = mx_ndarray_copy(src, src->dtype, dst->ctx, &tmp);
    if (rc) return rc;
    rc = mx_ndarray_add_into(dst, tmp);
    mx_ndarray_free(tmp);
    return rc;
  }
  if (on_gpu(dst)) return mx_gpu()->add(dst->ctx.dev_id, MX_PTR(dst), MX_PTR(src), dst->dtype, n);
  return mx_host_add(MX_PTR(dst), MX_PTR(src), dst->dtype, n);
}

mx_status mx_ndarray_copy(const mx_ndarray *a, int dtype, mx_context ctx,
                          mx_ndarray **out) {
  mx_status rc = mx_ndarray_new(&a->shape, dtype, ctx, out);
  if (rc) return rc;
  rc = mx_ndarray_copy_into(a, *out);
  if (rc) {
    mx_ndarray_free(*out);
    *out = NULL;
  }
  return rc;
}

/* A host array with a's values (a itself when a is on the host, else a
 * copy read back from the device: a read point, the host waits). */
static mx_status host_view(const mx_ndarray *a, mx_ndarray **tmp, const mx_ndarray **h) {
  *tmp = NULL;
  *h = a;
  if (!on_gpu(a)) return MX_OK;
  mx_status rc = mx_ndarray_copy(a, a->dtype, (mx_context){MX_CPU, 0}, tmp);
  *h = *tmp;
  return rc;
}

static mx_status check_n(const mx_ndarray *a, int64_t n) {
  if (n != mx_ndarray_size(a))
    return mx_error(MX_ERR_SHAPE, "expected %lld values, got %lld",
                    (long long)mx_ndarray_size(a), (long long)n);
  return MX_OK;
}

mx_status mx_ndarray_to_f64(const mx_ndarray *a, double *dst, int64_t n) {
  mx_status rc = check_n(a, n);
  mx_ndarray *tmp = NULL;
  const mx_ndarray *h;
  if (rc == MX_OK) rc = host_view(a, &tmp, &h);
  if (rc == MX_OK) mx_convert(MX_PTR(h), h->dtype, dst, MX_FLOAT64, n);
  mx_ndarray_free(tmp);
  return rc;
}

/* n values of dtype st from host memory src into a (any device). */
static mx_status from_host(mx_ndarray *a, const void *src, int st, int64_t n) {
  mx_status rc = check_n(a, n);
  if (rc) return rc;
  if (!on_gpu(a)) {
    mx_convert(src, st, MX_PTR(a), a->dtype, n);
    return MX_OK;
  }
  mx_ndarray *tmp;
  if ((rc = mx_ndarray_new(&a->shape, a->dtype, (mx_context){MX_CPU, 0}, &tmp))) return rc;
  mx_convert(src, st, MX_PTR(tmp), a->dtype, n);
  rc = mx_ndarray_copy_into(tmp, a);
  mx_ndarray_free(tmp);
  return rc;
}

mx_status mx_ndarray_from_f64(mx_ndarray *a, const double *src, int64_t n) {
  return from_host(a, src, MX_FLOAT64, n);
}

mx_status mx_ndarray_from_i32(mx_ndarray *a, const int32_t *src, int64_t n) {
  return from_host(a, src, MX_INT32, n);
}

mx_status mx_ndarray_to_bytes(const mx_ndarray *a, void *dst, size_t nbytes) {
  if (nbytes != mx_ndarray_nbytes(a))
    return mx_error(MX_ERR_ARG, "byte count mismatch");
  if (!nbytes) return MX_OK;
  if (on_gpu(a)) return mx_gpu()->copy(dst, -1, MX_PTR(a), a->ctx.dev_id, nbytes);
  memcpy(dst, MX_PTR(a), nbytes);
  return MX_OK;
}

mx_status mx_ndarray_from_bytes(mx_ndarray *a, const void *src, size_t nbytes) {
  if (nbytes != mx_ndarray_nbytes(a))
    return mx_error(MX_ERR_ARG, "byte count mismatch");
  if (!nbytes) return MX_OK;
  if (on_gpu(a)) return mx_gpu()->copy(MX_PTR(a), a->ctx.dev_id, src, -1, nbytes);
  memcpy(MX_PTR(a), src, nbytes);
  return MX_OK;
}

/* ------------------------------------------------------------ indexing */

static mx_status check_index(const mx_ndarray *a, const int64_t *const *idx,
                             const int64_t *n, mx_shape *out) {
  out->ndim = a->shape.ndim;
  for (int k = 0; k < a->shape.ndim; k++) {
    if (!idx[k]) {
      out->d[k] = a->shape.d[k];
      continue;
    }
    if (n[k] < 0) return mx_error(MX_ERR_ARG, "negative index count");
    out->d[k] = n[k];
    for (int64_t j = 0; j < n[k]; j++)
      if (idx[k][j] < 0 || idx[k][j] >= a->shape.d[k])
        return mx_error(MX_ERR_ARG, "subscript out of bounds: index %lld on an axis of extent %lld",
                        (long long)idx[k][j] + 1, (long long)a->shape.d[k]);
  }
  return MX_OK;
}

/* Walk every element of the indexed sub-array in row-major order, calling
 * the body with src (flat offset into a) and dst (flat offset into out). */
#define INDEX_WALK(a, idx, outs, BODY)                                      \
  do {                                                                      \
    int nd_ = (a)->shape.ndim;                                              \
    int64_t sstr_[MX_MAX_DIM];                                              \
    mx_shape_strides(&(a)->shape, sstr_);                                   \
    int64_t total_ = mx_shape_size(outs);                                   \
    int64_t cnt_[MX_MAX_DIM] = {0};                                         \
    for (int64_t dst = 0; dst < total_; dst++) {                            \
      int64_t src = 0;                                                      \
      for (int k_ = 0; k_ < nd_; k_++)                                      \
        src += (idx[k_] ? idx[k_][cnt_[k_]] : cnt_[k_]) * sstr_[k_];        \
      BODY;                                                                 \
      for (int k_ = nd_ - 1; k_ >= 0; k_--) {                               \
        if (++cnt_[k_] < (outs)->d[k_]) break;                              \
        cnt_[k_] = 0;                                                       \
      }                                                                     \
    }                                                                       \
  } while (0)

static mx_status index_get_host(const mx_ndarray *a, const int64_t *const *idx,
                                const int64_t *n, mx_ndarray **out) {
  *out = NULL;
  mx_shape os;
  mx_status rc = check_index(a, idx, n, &os);
  if (rc) return rc;
  rc = mx_ndarray_new(&os, a->dtype, a->ctx, out);
  if (rc) return rc;
  size_t es = mx_dtype_size(a->dtype);
  const char *sp = (const char *)MX_PTR(a);
  char *dp = (char *)MX_PTR(*out);
  INDEX_WALK(a, idx, &os, memcpy(dp + dst * es, sp + src * es, es));
  return MX_OK;
}

static mx_status index_set_host(mx_ndarray *a, const int64_t *const *idx,
                                const int64_t *n, const mx_ndarray *value) {
  mx_shape os;
  mx_status rc = check_index(a, idx, n, &os);
  if (rc) return rc;
  int64_t nv = mx_ndarray_size(value), no = mx_shape_size(&os);
  if (nv != 1 && nv != no)
    return mx_error(MX_ERR_SHAPE, "replacement has %lld values; the selection has %lld",
                    (long long)nv, (long long)no);
  /* value converted to a's dtype first (also protects against overlap) */
  mx_ndarray *v;
  rc = mx_ndarray_copy(value, a->dtype, a->ctx, &v);
  if (rc) return rc;
  size_t es = mx_dtype_size(a->dtype);
  char *ap = (char *)MX_PTR(a);
  const char *vp = (const char *)MX_PTR(v);
  if (nv == 1) {
    INDEX_WALK(a, idx, &os, memcpy(ap + src * es, vp, es));
  } else {
    INDEX_WALK(a, idx, &os, memcpy(ap + src * es, vp + dst * es, es));
  }
  mx_ndarray_free(v);
  return MX_OK;
}

/* Device arrays take a round trip through the host (a read point). */
mx_status mx_ndarray_index_get(const mx_ndarray *a, const int64_t *const *idx,
                               const int64_t *n, mx_ndarray **out) {
  *out = NULL;
  if (!on_gpu(a)) return index_get_host(a, idx, n, out);
  mx_ndarray *tmp, *res = NULL;
  const mx_ndarray *h;
  mx_status rc = host_view(a, &tmp, &h);
  if (rc == MX_OK) rc = index_get_host(h, idx, n, &res);
  if (rc == MX_OK) rc = mx_ndarray_copy(res, res->dtype, a->ctx, out);
  mx_ndarray_free(res);
  mx_ndarray_free(tmp);
  return rc;
}

mx_status mx_ndarray_index_set(mx_ndarray *a, const int64_t *const *idx,
                               const int64_t *n, const mx_ndarray *value) {
  if (!on_gpu(a) && !on_gpu(value)) return index_set_host(a, idx, n, value);
  mx_ndarray *ta = NULL, *tv = NULL;
  const mx_ndarray *ha, *hv;
  mx_status rc = host_view(a, &ta, &ha);
  if (rc == MX_OK) rc = host_view(value, &tv, &hv);
  if (rc == MX_OK) rc = index_set_host((mx_ndarray *)ha, idx, n, hv);
  if (rc == MX_OK && ta) rc = mx_ndarray_copy_into(ta, a);
  mx_ndarray_free(ta);
  mx_ndarray_free(tv);
  return rc;
}
