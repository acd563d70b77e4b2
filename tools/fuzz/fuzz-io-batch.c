/*
 * fuzz-io-batch.c -- libFuzzer harness for the batching code behind
 * mx.io.CSVIter and mx.io.arrayiter (src/io/batch.c): the shuffle order
 * (mx_io_shuffle_order) and the row gathering into the staging array
 * (mx_io_gather_rows).  The CSV text itself is parsed by R's scan() in
 * R/io.R, which has no C code of ours; tools/fuzz/fuzz-csv.R fuzzes that path
 * from R.  Built without R; see README.md in this folder.
 *
 * Input layout:
 *   byte 0     dtype (index into the list below) and flags: bit 4 the
 *              staging array gets another trailing shape, bit 5 it is the
 *              source itself (overlap), bit 6 it is float64 when the source
 *              is not
 *   byte 1     number of trailing dimensions (0..3)
 *   bytes 2-4  trailing extents (0..7 each)
 *   byte 5     examples N (0..63), byte 6 batch size B (0..63),
 *   byte 7     rows to gather n (0..63)
 *   then       n row indices (signed bytes, may be out of range), then
 *              doubles for the shuffle (raw bits: NaN, negatives, >= 1).
 * Gathering must succeed exactly when everything is consistent and then copy
 * the rows; otherwise fail with a message and leave the staging array alone.
 * The shuffle order must be a permutation of 0..N-1.
 */
#include "../../src/include/mx-internal.h"
#include "../../src/io/mx-io.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok) {
  if (!ok) __builtin_trap();
}

static const int dtypes[] = {MX_FLOAT32, MX_FLOAT64, MX_UINT8, MX_INT32, MX_INT64, MX_FLOAT16};

static void check_shuffle(const uint8_t *p, size_t left, int64_t n) {
  double u[64];
  memset(u, 0, sizeof u);
  size_t nb = left < sizeof u ? left : sizeof u;
  memcpy(u, p, nb);
  int64_t order[64];
  mx_io_shuffle_order(u, n, order);
  unsigned char seen[64] = {0};
  for (int64_t i = 0; i < n; i++) {
    check(order[i] >= 0 && order[i] < n && !seen[order[i]]);
    seen[order[i]] = 1;
  }
}

static mx_ndarray *make(int dtype, int64_t n, int nd, const int64_t *ext, unsigned char fill) {
  mx_shape s;
  s.ndim = nd + 1;
  s.d[0] = n;
  for (int k = 0; k < nd; k++) s.d[k + 1] = ext[k];
  mx_context cpu = {MX_CPU, 0};
  mx_ndarray *a = NULL;
  check(mx_ndarray_new(&s, dtype, cpu, &a) == MX_OK);
  size_t nb = mx_ndarray_nbytes(a);
  unsigned char *d = (unsigned char *)mx_ndarray_data(a);
  for (size_t i = 0; i < nb; i++) d[i] = (unsigned char)(fill + i * 7u);
  return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once = 0;
  if (!once) {
    mx_pool_set_limit(MX_CPU, 0);
    once = 1;
  }
  if (size < 8) return 0;
  int dtype = dtypes[(data[0] & 15) % (sizeof dtypes / sizeof dtypes[0])];
  int other_shape = (data[0] >> 4) & 1, same = (data[0] >> 5) & 1, other_type = (data[0] >> 6) & 1;
  int nd = data[1] % 4;
  int64_t ext[3], ext2[3];
  for (int k = 0; k < 3; k++) ext[k] = ext2[k] = data[2 + k] % 8;
  if (other_shape && nd > 0) ext2[nd - 1] += 1;
  int64_t n_ex = data[5] % 64, batch = data[6] % 64, n = data[7] % 64;
  const uint8_t *p = data + 8;
  size_t left = size - 8;
  if ((size_t)n > left) n = (int64_t)left;
  int64_t rows[64];
  for (int64_t k = 0; k < n; k++) rows[k] = (int8_t)p[k];
  check_shuffle(p + n, left - (size_t)n, n_ex);

  mx_ndarray *src = make(dtype, n_ex, nd, ext, 1);
  int dtype2 = other_type && dtype != MX_FLOAT64 ? MX_FLOAT64 : dtype;
  mx_ndarray *dst = same ? src : make(dtype2, batch, nd, ext2, 0xA5);
  int64_t per = 1;
  for (int k = 0; k < nd; k++) per *= ext[k];
  /* an empty array overlaps nothing */
  int ok = same ? mx_ndarray_nbytes(src) == 0 && n <= n_ex
                : dtype2 == dtype && !(other_shape && nd > 0) && n <= batch;
  for (int64_t k = 0; k < n && ok; k++) ok = rows[k] >= 0 && rows[k] < n_ex;

  size_t nb = mx_ndarray_nbytes(dst);
  unsigned char *before = (unsigned char *)malloc(nb ? nb : 1);
  check(before != NULL);
  memcpy(before, mx_ndarray_data(dst), nb);
  mx_status rc = mx_io_gather_rows(src, rows, n, dst);
  const unsigned char *s = (const unsigned char *)mx_ndarray_data(src);
  const unsigned char *d = (const unsigned char *)mx_ndarray_data(dst);
  if (ok) {
    check(rc == MX_OK);
    size_t rb = (size_t)per * mx_dtype_size(dtype);
    for (int64_t k = 0; k < n; k++) check(memcmp(d + k * rb, s + rows[k] * rb, rb) == 0);
    check(memcmp(d + n * rb, before + n * rb, nb - n * rb) == 0);
  } else {
    const char *msg = mx_last_error();
    check(rc != MX_OK && msg != NULL && msg[0] != '\0');
    check(memcmp(d, before, nb) == 0);
  }
  free(before);
  if (!same) mx_ndarray_free(dst);
  mx_ndarray_free(src);
  return 0;
}
