/*
 * mnist.c -- MNIST idx files (the reader behind mx.io.MNISTIter).
 *
 * Layout (MXNet src/io/iter_mnist.cc): big-endian int32 header -- images:
 * magic 2051 (read, not checked), count, rows, cols; labels: magic 2049,
 * count -- then one unsigned byte per pixel (image-major, row-major inside an
 * image) or per label.  Files may be gzip-compressed (stream.c).
 *
 * Differences from MXNet, on purpose:
 *  - the image and label counts must agree (MXNet reads them independently
 *    and indexes past the shorter one);
 *  - the shuffle permutation comes from the engine's Philox generator seeded
 *    with `seed`, not from std::mt19937, so the order of the examples differs
 *    from MXNet's for the same seed (it is deterministic all the same);
 *  - truncated and inconsistent files are errors, never short reads.
 */
#include "mx-io.h"
#include "../include/mx-internal.h"

#include <stdlib.h>

/* A header int: big-endian, signed like MXNet's ReadInt. */
static int64_t be_i32(const unsigned char *b) {
  uint32_t u = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
  return u > 0x7fffffffu ? (int64_t)u - 4294967296LL : (int64_t)u;
}

static mx_status read_header(mx_io_stream *s, const char *what, const char *path,
                             int nints, int64_t *vals) {
  unsigned char b[16];
  size_t need = (size_t)nints * 4, got;
  mx_status st = mx_io_stream_read(s, b, need, &got);
  if (st != MX_OK) return mx_error_prefix(st, "MNIST %s file: ", what);
  if (got < need)
    return mx_error(MX_ERR_FORMAT,
                    "MNIST %s file '%s' is truncated: its header needs %d bytes, the file has %d",
                    what, path, (int)need, (int)got);
  for (int k = 0; k < nints; k++) vals[k] = be_i32(b + 4 * k);
  return MX_OK;
}

/* Read exactly n bytes into a malloc'ed buffer.  The buffer grows with the
 * data that actually arrives, so a header that lies about its size cannot
 * make us allocate more than about twice the real data. */
static mx_status read_body(mx_io_stream *s, const char *what, const char *path,
                           uint64_t n, const char *unit, int64_t count_units,
                           unsigned char **out) {
  *out = NULL;
  uint64_t cap = n;
  const uint64_t first = (uint64_t)1 << 24;
  if (mx_io_stream_remaining(s) < 0 && cap > first) cap = first;
  if (cap == 0) cap = 1;
  if (cap > (uint64_t)SIZE_MAX)
    return mx_error(MX_ERR_NOMEM, "MNIST %s file '%s' is too large for this machine", what, path);
  unsigned char *buf = (unsigned char *)mx_malloc((size_t)cap);
  if (!buf) return mx_error(MX_ERR_NOMEM, "out of memory reading MNIST %s file '%s'", what, path);
  uint64_t have = 0;
  while (have < n) {
    if (have == cap) {
      uint64_t ncap = cap * 2 < n ? cap * 2 : n;
      unsigned char *nb = (unsigned char *)mx_realloc(buf, (size_t)ncap);
      if (!nb) {
        mx_free(buf);
        return mx_error(MX_ERR_NOMEM, "out of memory reading MNIST %s file '%s'", what, path);
      }
      buf = nb;
      cap = ncap;
    }
    size_t got;
    mx_status st = mx_io_stream_read(s, buf + have, (size_t)(cap - have), &got);
    if (st != MX_OK) {
      mx_free(buf);
      return mx_error_prefix(st, "MNIST %s file: ", what);
    }
    have += got;
    if (got == 0) break;
  }
  if (have < n) {
    mx_free(buf);
    return mx_error(MX_ERR_FORMAT,
                    "MNIST %s file '%s' is truncated: its header announces %lld %s "
                    "(%llu bytes to read here) but only %llu bytes follow",
                    what, path, (long long)count_units, unit,
                    (unsigned long long)n, (unsigned long long)have);
  }
  *out = buf;
  return MX_OK;
}

/* Read one byte past the content of a gzip stream: zlib then verifies the
 * trailer.  Extra bytes are allowed (plain files may have them too). */
static mx_status gz_check_end(mx_io_stream *s, const char *what) {
  if (!mx_io_stream_is_gzip(s)) return MX_OK;
  unsigned char b;
  size_t got;
  mx_status st = mx_io_stream_read(s, &b, 1, &got);
  if (st != MX_OK) return mx_error_prefix(st, "MNIST %s file: ", what);
  return MX_OK;
}

/* MXNet's GetPart: static_cast<int>(double(count) / parts * index). */
static void part_range(int64_t count, int parts, int index, int64_t *begin, int64_t *end) {
  double c = (double)count;
  *begin = (int64_t)(c / parts * index);
  *end = (int64_t)(c / parts * (index + 1));
  if (*end > count) *end = count;
  if (*begin > *end) *begin = *end;
}

static mx_status open_checked(const char *path, const char *what, mx_io_stream **s) {
  mx_status st = mx_io_stream_open(path, s);
  if (st != MX_OK) return mx_error_prefix(st, "MNIST %s file: ", what);
  return MX_OK;
}

mx_status mx_mnist_load(const char *image_path, const char *label_path,
                        const mx_mnist_opts *o, mx_ndarray **images,
                        mx_ndarray **labels) {
  *images = NULL;
  *labels = NULL;
  if (o->num_parts < 1)
    return mx_error(MX_ERR_ARG, "num.parts must be at least 1 (got %d)", o->num_parts);
  if (o->part_index < 0 || o->part_index >= o->num_parts)
    return mx_error(MX_ERR_ARG, "part.index must be in [0, num.parts) = [0, %d) (got %d)",
                    o->num_parts, o->part_index);

  mx_io_stream *si = NULL, *sl = NULL;
  unsigned char *pix = NULL, *lab = NULL;
  int64_t *order = NULL;
  mx_ndarray *img = NULL, *lbl = NULL;
  mx_status st;
  int64_t hi[4], hl[2];

  /* ---- headers of both files first: cheap consistency checks */
  if ((st = open_checked(image_path, "image", &si)) != MX_OK) goto done;
  if ((st = read_header(si, "image", image_path, 4, hi)) != MX_OK) goto done;
  if ((st = open_checked(label_path, "label", &sl)) != MX_OK) goto done;
  if ((st = read_header(sl, "label", label_path, 2, hl)) != MX_OK) goto done;
  int64_t count = hi[1], rows = hi[2], cols = hi[3], nlab = hl[1];
  if (count < 0 || rows <= 0 || cols <= 0) {
    st = mx_error(MX_ERR_FORMAT,
                  "MNIST image file '%s' is corrupted: its header says %lld images of %lld x %lld pixels",
                  image_path, (long long)count, (long long)rows, (long long)cols);
    goto done;
  }
  if (nlab < 0) {
    st = mx_error(MX_ERR_FORMAT, "MNIST label file '%s' is corrupted: its header says %lld labels",
                  label_path, (long long)nlab);
    goto done;
  }
  /* all three are < 2^31, so pixels per image < 2^62 and no product below overflows
   * once it is checked against INT64_MAX / count */
  int64_t rc = rows * cols;
  if (count > 0 && rc > INT64_MAX / count) {
    st = mx_error(MX_ERR_FORMAT, "MNIST image file '%s' is corrupted: %lld images of %lld x %lld pixels",
                  image_path, (long long)count, (long long)rows, (long long)cols);
    goto done;
  }
  /* plain files: the whole announced content must be there */
  int64_t left = mx_io_stream_remaining(si);
  if (left >= 0 && count * rc > left) {
    st = mx_error(MX_ERR_FORMAT,
                  "MNIST image file '%s' is truncated: its header announces %lld images of %lld x %lld "
                  "pixels (%lld bytes) but only %lld bytes follow the header",
                  image_path, (long long)count, (long long)rows, (long long)cols,
                  (long long)(count * rc), (long long)left);
    goto done;
  }
  left = mx_io_stream_remaining(sl);
  if (left >= 0 && nlab > left) {
    st = mx_error(MX_ERR_FORMAT,
                  "MNIST label file '%s' is truncated: its header announces %lld labels "
                  "but only %lld bytes follow the header",
                  label_path, (long long)nlab, (long long)left);
    goto done;
  }
  if (nlab != count) {
    st = mx_error(MX_ERR_FORMAT,
                  "MNIST files disagree: image file '%s' has %lld images, label file '%s' has %lld labels",
                  image_path, (long long)count, label_path, (long long)nlab);
    goto done;
  }

  /* ---- the selected part */
  int64_t begin, end;
  part_range(count, o->num_parts, o->part_index, &begin, &end);
  int64_t n = end - begin;
  uint64_t skipped;
  if ((st = mx_io_stream_skip(si, (uint64_t)(begin * rc), &skipped)) != MX_OK) goto done;
  if (skipped < (uint64_t)(begin * rc)) {
    st = mx_error(MX_ERR_FORMAT,
                  "MNIST image file '%s' is truncated: it ends before image %lld of the %lld it announces",
                  image_path, (long long)begin + 1, (long long)count);
    goto done;
  }
  if ((st = read_body(si, "image", image_path, (uint64_t)(n * rc), "images", count, &pix)) != MX_OK)
    goto done;
  if ((st = mx_io_stream_skip(sl, (uint64_t)begin, &skipped)) != MX_OK) goto done;
  if (skipped < (uint64_t)begin) {
    st = mx_error(MX_ERR_FORMAT,
                  "MNIST label file '%s' is truncated: it ends before label %lld of the %lld it announces",
                  label_path, (long long)begin + 1, (long long)count);
    goto done;
  }
  if ((st = read_body(sl, "label", label_path, (uint64_t)n, "labels", count, &lab)) != MX_OK)
    goto done;
  /* gzip: when the last part was read, touch the end of the stream so that
   * zlib checks the trailer's CRC (corruption that still inflates) */
  if (end == count) {
    if ((st = gz_check_end(si, "image")) != MX_OK) goto done;
    if ((st = gz_check_end(sl, "label")) != MX_OK) goto done;
  }

  /* ---- the order: order[k] = the example placed at position k */
  order = (int64_t *)mx_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  if (!order) {
    st = mx_error(MX_ERR_NOMEM, "out of memory loading MNIST");
    goto done;
  }
  for (int64_t k = 0; k < n; k++) order[k] = k;
  if (o->shuffle && n > 1) {
    mx_rng r;
    mx_rng_init(&r, o->seed);
    double u[1024];
    int64_t used = 1024;
    for (int64_t i = n - 1; i > 0; i--) {
      if (used == 1024) {
        mx_rng_uniform_f64(&r, u, 1024, 0.0, 1.0);
        used = 0;
      }
      int64_t j = (int64_t)(u[used++] * (double)(i + 1));
      if (j > i) j = i;
      int64_t t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }

  /* ---- the arrays */
  mx_shape shp;
  shp.ndim = o->flat ? 2 : 4;
  shp.d[0] = n;
  if (o->flat) {
    shp.d[1] = rc;
  } else {
    shp.d[1] = 1;
    shp.d[2] = rows;
    shp.d[3] = cols;
  }
  mx_context cpu = {MX_CPU, 0};
  if ((st = mx_ndarray_new(&shp, MX_FLOAT32, cpu, &img)) != MX_OK) goto done;
  mx_shape ls;
  ls.ndim = 1;
  ls.d[0] = n;
  if ((st = mx_ndarray_new(&ls, MX_FLOAT32, cpu, &lbl)) != MX_OK) goto done;
  {
    float *dst = MX_DATA(img, float);
    float *ldst = MX_DATA(lbl, float);
    const unsigned char *src = pix;
    const int64_t *ord = order;
    int nt = mx_par_threads(n * rc);
    MX_OMP_FOR(nt)
    for (int64_t k = 0; k < n; k++) {
      const unsigned char *p = src + ord[k] * rc;
      float *q = dst + k * rc;
      for (int64_t e = 0; e < rc; e++) q[e] = (float)p[e] * (1.0f / 256.0f);
    }
    for (int64_t k = 0; k < n; k++) ldst[k] = (float)lab[order[k]];
  }
  *images = img;
  *labels = lbl;
  img = lbl = NULL;
  st = MX_OK;

done:
  mx_ndarray_free(img);
  mx_ndarray_free(lbl);
  mx_free(order);
  mx_free(pix);
  mx_free(lab);
  mx_io_stream_close(si);
  mx_io_stream_close(sl);
  return st;
}
