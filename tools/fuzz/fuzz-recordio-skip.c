/*
 * fuzz-recordio-skip.c -- libFuzzer harness for the skipping of bad records
 * (src/io/recordio.c: mx_recordio_scan_skip, mx_recordio_resync;
 * src/io/image-iter.c with skip_bad: mx.io.ImageRecordIter(bad.records =
 * "skip")).  Built without R; see README.md here.
 *
 * Input: byte 0 flags (bits 0-1: batch size - 1; bit 2: round_batch; bit 3:
 * shuffle; bit 4: 2 threads), then the .rec file, written to /dev/shm.
 * Checks:
 *  - the skipping scan never fails on damage; its records all read, at
 *    increasing 4-aligned offsets, each after the end of the one before;
 *    every damage report has a message, an increasing offset and the number
 *    of the records found before it;
 *  - when the plain scan succeeds, the skipping one finds the same records
 *    and no damage;
 *  - an epoch of the iterator with skip_bad ends (no hang), every batch
 *    but the last has no padding, and the delivered rows plus the records
 *    skipped at decoding add up to the records located, or it fails with a
 *    message (labels that do not fit label_width stay errors).
 */
#include "../../src/include/mx-internal.h"
#include "../../src/io/mx-io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-files.h"

#define check fuzz_check
static const char *in_path = fuzz_path[0];

static void setup(void) {
  static const char *const names[1] = {"in.rec"};
  fuzz_files_setup("fuzz-skip", 1, names);
  mx_pool_set_limit(MX_CPU, 0);
}

typedef struct damage_log {
  int64_t n, last_recno;
  uint64_t last_offset;
} damage_log;

static mx_status on_damage(void *ctx, uint64_t offset, int64_t recno, const char *msg) {
  damage_log *d = (damage_log *)ctx;
  check(msg && msg[0]);
  check(d->n == 0 || offset > d->last_offset);
  check(recno >= d->last_recno);
  d->n++;
  d->last_offset = offset;
  d->last_recno = recno;
  return MX_OK;
}

static void check_scan(mx_recordio *r, int64_t *located, int64_t *damaged) {
  damage_log d = {0, 0, 0};
  uint64_t *o;
  int64_t n;
  check(mx_recordio_scan_skip(r, &o, &n, on_damage, &d) == MX_OK);
  const mx_recordio_src *src = mx_recordio_source(r);
  uint8_t *buf = NULL;
  size_t cap = 0, len;
  uint64_t end = 0, next;
  for (int64_t k = 0; k < n; k++) {
    check(o[k] % 4 == 0 && o[k] >= end);
    check(mx_recordio_read_at(src, o[k], k, &buf, &cap, &len, &next) == MX_OK);
    end = next;
  }
  mx_free(buf);
  uint64_t *p;
  int64_t pn;
  if (mx_recordio_scan(r, &p, &pn) == MX_OK) {
    check(d.n == 0 && pn == n && (n == 0 || memcmp(p, o, (size_t)n * sizeof *o) == 0));
    mx_free(p);
  } else {
    check(d.n > 0);
  }
  mx_free(o);
  *located = n;
  *damaged = d.n;
}

static void check_epoch(const uint8_t flags, int64_t located, int64_t damaged) {
  mx_image_iter_opts o;
  memset(&o, 0, sizeof o);
  o.aug.out_w = 4;
  o.aug.out_h = 3;
  o.aug.c = 3;
  o.aug.std[0] = o.aug.std[1] = o.aug.std[2] = 1;
  o.aug.scale = 1;
  o.batch_size = 1 + (flags & 3);
  o.label_width = 1;
  o.round_batch = (flags >> 2) & 1;
  o.shuffle = (flags >> 3) & 1;
  o.num_parts = 1;
  o.threads = 1 + ((flags >> 4) & 1);
  o.prefetch = 2;
  o.skip_bad = 1;
  mx_image_iter *it;
  mx_status st = mx_image_iter_new(in_path, NULL, &o, &it);
  if (st != MX_OK) {
    check(mx_last_error()[0] != '\0');
    return;
  }
  check(mx_image_iter_size(it) == located);
  int64_t rows = 0, batches = 0, last_pad = 0;
  for (;;) {
    int slot, pad, has;
    st = mx_image_iter_next(it, &slot, &pad, &has);
    if (st != MX_OK) {
      check(mx_last_error()[0] != '\0');
      break;
    }
    if (!has) break;
    check(last_pad == 0 && pad >= 0 && pad < o.batch_size);
    check(slot >= 0 && slot < mx_image_iter_slots(it));
    rows += o.batch_size - pad;
    last_pad = pad;
    batches++;
  }
  if (st == MX_OK) {
    const mx_image_bad *first;
    int nfirst;
    int64_t bad = mx_image_iter_bad(it, &first, &nfirst);
    check(rows + bad - damaged == located);
    for (int i = 0; i < nfirst; i++) check(first[i].why[0] != '\0');
  }
  mx_image_iter_free(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once = 0;
  if (!once) {
    setup();
    once = 1;
  }
  if (size < 1) return 0;
  fuzz_put_file(in_path, data + 1, size - 1);
  mx_recordio *r;
  check(mx_recordio_open(in_path, 0, NULL, &r) == MX_OK);
  int64_t located, damaged;
  check_scan(r, &located, &damaged);
  mx_recordio_close(r);
  check_epoch(data[0], located, damaged);
  return 0;
}
