/*
 * fuzz-mnist.c -- libFuzzer harness for the MNIST idx reader
 * (mx_mnist_load, src/io/mnist.c over the streams of src/io/stream.c: the
 * engine behind mx.io.MNISTIter).  Built without R; see README.md here.
 *
 * Input layout (make-seeds.R writes seeds in it):
 *   byte 0   flags: bit 0 shuffle, bit 1 flat, bit 2 gzip the image file,
 *            bit 3 gzip the label file (the harness compresses them, so the
 *            reader sees valid gzip of fuzzed content); bits 4-7 num_parts
 *            (0 is allowed and must be refused)
 *   byte 1   part_index (signed)
 *   byte 2-3 length L of the image file (big-endian), clamped to what is left
 *   then     L bytes of image file, and the rest is the label file.
 * Both files are written to a private temporary folder (in /dev/shm when it
 * exists) for every input (the reader takes paths), removed at exit.  Raw
 * gzip bytes in the input reach zlib's inflate directly.
 *
 * An error must leave a non-empty message and no arrays.  Arrays that load
 * must have the shapes the headers give, pixel values k/256, and, when the
 * files are plain (or compressed here) and not shuffled, exactly the bytes of
 * the selected part; shuffled, the same sums.
 */
#include "../../src/include/mx-internal.h"
#include "../../src/io/mx-io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static void check(int ok) {
  if (!ok) __builtin_trap();
}

static char dir_path[64], img_path[256], lab_path[256];

static void cleanup(void) {
  remove(img_path);
  remove(lab_path);
  rmdir(dir_path);
}

static void setup(void) {
  /* tmpfs when there is one: on ext4, rewriting a file flushes it on close */
  char shm[] = "/dev/shm/fuzz-mnist-XXXXXX", tmp[] = "/tmp/fuzz-mnist-XXXXXX";
  const char *dir = mkdtemp(shm);
  if (!dir) dir = mkdtemp(tmp);
  check(dir != NULL);
  snprintf(dir_path, sizeof dir_path, "%s", dir);
  atexit(cleanup);
  snprintf(img_path, sizeof img_path, "%s/images", dir);
  snprintf(lab_path, sizeof lab_path, "%s/labels", dir);
  mx_pool_set_limit(MX_CPU, 0);
}

/* Write bytes to path, gzip-compressed when gz. */
static void put_file(const char *path, const uint8_t *p, size_t n, int gz) {
  if (gz) {
    gzFile f = gzopen(path, "wb1");
    check(f != NULL);
    if (n) check(gzwrite(f, p, (unsigned)n) == (int)n);
    check(gzclose(f) == Z_OK);
    return;
  }
  FILE *f = fopen(path, "wb");
  check(f != NULL);
  if (n) check(fwrite(p, 1, n, f) == n);
  check(fclose(f) == 0);
}

static int64_t be32(const uint8_t *b) {
  uint32_t u = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
  return u > 0x7fffffffu ? (int64_t)u - 4294967296LL : (int64_t)u;
}

static int is_gzip(const uint8_t *p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

/* Compare the loaded arrays with the files' bytes (plain content known). */
static void check_content(const uint8_t *im, const uint8_t *lb, const mx_mnist_opts *o,
                          const mx_ndarray *img, const mx_ndarray *lbl) {
  int64_t count = be32(im + 4), rows = be32(im + 8), cols = be32(im + 12), rc = rows * cols;
  int64_t begin = (int64_t)((double)count / o->num_parts * o->part_index);
  int64_t n = mx_ndarray_shape(lbl)->d[0];
  check(begin + n <= count);
  const float *x = (const float *)mx_ndarray_data(img), *y = (const float *)mx_ndarray_data(lbl);
  if (!o->shuffle) {
    for (int64_t k = 0; k < n * rc; k++) check(x[k] == (float)im[16 + begin * rc + k] / 256.0f);
    for (int64_t k = 0; k < n; k++) check(y[k] == (float)lb[8 + begin + k]);
    return;
  }
  double sx = 0, sy = 0, tx = 0, ty = 0;
  for (int64_t k = 0; k < n * rc; k++) {
    sx += x[k] * 256.0;
    tx += im[16 + begin * rc + k];
  }
  for (int64_t k = 0; k < n; k++) {
    sy += y[k];
    ty += lb[8 + begin + k];
  }
  check(sx == tx && sy == ty);
}

static void check_arrays(const mx_mnist_opts *o, const mx_ndarray *img, const mx_ndarray *lbl) {
  check(img != NULL && lbl != NULL);
  const mx_shape *si = mx_ndarray_shape(img), *sl = mx_ndarray_shape(lbl);
  check(sl->ndim == 1 && si->ndim == (o->flat ? 2 : 4) && si->d[0] == sl->d[0]);
  check(mx_ndarray_dtype(img) == MX_FLOAT32 && mx_ndarray_dtype(lbl) == MX_FLOAT32);
  const float *x = (const float *)mx_ndarray_data(img);
  int64_t m = mx_shape_size(si);
  for (int64_t k = 0; k < m; k++) check(x[k] >= 0.0f && x[k] < 1.0f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once = 0;
  if (!once) {
    setup();
    once = 1;
  }
  if (size < 4) return 0;
  mx_mnist_opts o;
  o.shuffle = data[0] & 1;
  o.flat = (data[0] >> 1) & 1;
  o.num_parts = data[0] >> 4;
  o.part_index = (int8_t)data[1];
  o.seed = (uint64_t)data[1] * 7919u;
  int gzi = (data[0] >> 2) & 1, gzl = (data[0] >> 3) & 1;
  size_t li = ((size_t)data[2] << 8) | data[3];
  const uint8_t *im = data + 4;
  size_t left = size - 4;
  if (li > left) li = left;
  const uint8_t *lb = im + li;
  size_t ll = left - li;
  put_file(img_path, im, li, gzi);
  put_file(lab_path, lb, ll, gzl);

  mx_ndarray *img = NULL, *lbl = NULL;
  mx_status rc = mx_mnist_load(img_path, lab_path, &o, &img, &lbl);
  if (rc != MX_OK) {
    const char *msg = mx_last_error();
    check(msg != NULL && msg[0] != '\0');
    check(img == NULL && lbl == NULL);
    return 0;
  }
  check_arrays(&o, img, lbl);
  /* content known: compressed here, or not gzip to begin with */
  if ((gzi || !is_gzip(im, li)) && (gzl || !is_gzip(lb, ll))) {
    check(li >= 16 && ll >= 8);
    check_content(im, lb, &o, img, lbl);
  }
  mx_ndarray_free(img);
  mx_ndarray_free(lbl);
  return 0;
}
