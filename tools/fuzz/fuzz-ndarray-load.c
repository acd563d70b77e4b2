/*
 * fuzz-ndarray-load.c -- libFuzzer harness for the NDArray list reader
 * (mx_ndarray_load_buffer, src/engine/ndarray-io.c).  Built without R; see
 * README.md in this folder.
 *
 * For every input: load it.  When it loads, every array must re-save and
 * re-load to the same shapes, dtypes, bytes and names (the writer and the
 * reader agree on whatever the reader accepts), and an error must always
 * leave a non-empty message.
 */
#include "../../src/include/mx-internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok) {
  if (!ok) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once = 0;
  if (!once) {
    /* no cached blocks: every freed block goes back to the system, so
     * AddressSanitizer sees use after free */
    mx_pool_set_limit(MX_CPU, 0);
    once = 1;
  }
  mx_ndarray **arr = NULL;
  mx_nd_sparse *sp = NULL;
  char **names = NULL;
  int n = 0;
  if (mx_ndarray_load_buffer(data, size, &arr, &sp, &names, &n) != MX_OK) {
    const char *msg = mx_last_error();
    check(msg != NULL && msg[0] != '\0');
    check(arr == NULL && sp == NULL && names == NULL && n == 0);
    return 0;
  }
  check(n >= 0 && (n == 0 || arr != NULL));
  for (int i = 0; i < n; i++) {
    check(arr[i] != NULL);
    /* touch every byte of the data */
    size_t nb = mx_ndarray_nbytes(arr[i]);
    const unsigned char *p = (const unsigned char *)mx_ndarray_data(arr[i]);
    unsigned sum = 0;
    for (size_t k = 0; k < nb; k++) sum += p[k];
    (void)sum;
  }

  void *buf = NULL;
  size_t len = 0;
  check(mx_ndarray_save_buffer(arr, sp, (const char *const *)names, n, &buf, &len) == MX_OK);
  mx_ndarray **arr2 = NULL;
  mx_nd_sparse *sp2 = NULL;
  char **names2 = NULL;
  int n2 = 0;
  check(mx_ndarray_load_buffer(buf, len, &arr2, &sp2, &names2, &n2) == MX_OK);
  check(n2 == n);
  check((sp == NULL) == (sp2 == NULL));
  for (int i = 0; sp && i < n; i++) {   /* sparse records come back the same */
    check(sp[i].stype == sp2[i].stype);
    if (!sp[i].stype) continue;
    check(mx_shape_equal(&sp[i].shape, &sp2[i].shape));
    for (int k = 0; k < (sp[i].stype == 2 ? 2 : 1); k++) {
      size_t nb = mx_ndarray_nbytes(sp[i].aux[k]);
      check(nb == mx_ndarray_nbytes(sp2[i].aux[k]));
      if (nb) check(memcmp(mx_ndarray_data(sp[i].aux[k]), mx_ndarray_data(sp2[i].aux[k]), nb) == 0);
    }
  }
  check((names == NULL) == (names2 == NULL) || n == 0);
  for (int i = 0; i < n; i++) {
    const mx_ndarray *a = arr[i], *b = arr2[i];
    check(mx_ndarray_dtype(a) == mx_ndarray_dtype(b));
    check(mx_shape_equal(mx_ndarray_shape(a), mx_ndarray_shape(b)));
    size_t nb = mx_ndarray_nbytes(a);
    check(nb == mx_ndarray_nbytes(b));
    if (nb) check(memcmp(mx_ndarray_data(a), mx_ndarray_data(b), nb) == 0);
    if (names) check(strcmp(names[i], names2[i]) == 0);
  }
  mx_ndarray_list_free(arr2, names2, n2);
  mx_nd_sparse_free(sp2, n2);
  mx_free(buf);
  mx_ndarray_list_free(arr, names, n);
  mx_nd_sparse_free(sp, n);
  return 0;
}
