/*
 * fuzz-recordio.c -- libFuzzer harness for the RecordIO reader and writer
 * and the image record header (src/io/recordio.c: mx.io.MXRecordIO,
 * mx.io.ImageRecordIter, im2rec).  Built without R; see README.md here.
 *
 * The input is written to a file (in /dev/shm when it exists) and read as a
 * .rec file, and as an .idx file.  Checks:
 *  - an error leaves a non-empty message; sequential reading fails exactly
 *    when the header scan (mx_recordio_scan) fails, and otherwise both see
 *    the same records at the same offsets;
 *  - every record read is written again by the writer and read back
 *    identically (records containing the magic number are split and joined);
 *  - a record whose image header unpacks packs again to the same bytes.
 */
#include "../../src/include/mx-internal.h"
#include "../../src/io/mx-io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-files.h"

#define check fuzz_check
static const char *in_path = fuzz_path[0], *out_path = fuzz_path[1];

static void setup(void) {
  static const char *const names[2] = {"in.rec", "out.rec"};
  fuzz_files_setup("fuzz-rec", 2, names);
  mx_pool_set_limit(MX_CPU, 0);
}

static void check_failed(mx_status st) {
  check(st != MX_OK);
  const char *msg = mx_last_error();
  check(msg != NULL && msg[0] != '\0');
}

/* Unpack an image header; when it parses, packing gives the record back. */
static void check_header(const uint8_t *rec, size_t n) {
  mx_irheader h;
  const uint8_t *lab, *pay;
  size_t pn;
  mx_status st = mx_irheader_unpack(rec, n, &h, &lab, &pay, &pn);
  if (st != MX_OK) {
    check_failed(st);
    return;
  }
  check(pay + pn == rec + n);
  float *l = (float *)malloc(h.flag ? (size_t)h.flag * 4 : 1);
  check(l != NULL);
  if (h.flag) memcpy(l, lab, (size_t)h.flag * 4);
  uint8_t *out;
  size_t on;
  check(mx_irheader_pack(&h, l, h.flag, pay, pn, &out, &on) == MX_OK);
  check(on == n && memcmp(out, rec, n) == 0);
  mx_free(out);
  free(l);
}

#define MAXREC 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once = 0;
  if (!once) {
    setup();
    once = 1;
  }
  fuzz_put_file(in_path, data, size);
  /* as an index file */
  int64_t *keys, nk;
  uint64_t *offs;
  mx_status st = mx_recordio_read_idx(in_path, &keys, &offs, &nk);
  if (st == MX_OK) {
    check(nk >= 0);
    mx_free(keys);
    mx_free(offs);
  } else {
    check_failed(st);
  }
  /* as a record file: sequential reading, the scan, and a round trip */
  mx_recordio *r, *w, *r2;
  check(mx_recordio_open(in_path, 0, NULL, &r) == MX_OK);
  check(mx_recordio_open(out_path, 1, NULL, &w) == MX_OK);
  static uint64_t pos[MAXREC + 1];
  int64_t n = 0;
  mx_status rst = MX_OK;
  for (;;) {
    const uint8_t *rec;
    size_t len;
    int eof;
    pos[n] = mx_recordio_tell(r);
    rst = mx_recordio_read(r, &rec, &len, &eof);
    if (rst != MX_OK) {
      check_failed(rst);
      break;
    }
    if (eof || n == MAXREC) break;
    check(mx_recordio_write(w, rec, len, n, NULL) == MX_OK);
    check_header(rec, len);
    n++;
  }
  mx_recordio_close(w);
  uint64_t *so;
  int64_t sn;
  mx_status sst = mx_recordio_scan(r, &so, &sn);
  if (n < MAXREC) check((sst == MX_OK) == (rst == MX_OK));
  if (sst == MX_OK) {
    if (n < MAXREC) check(sn == n);
    for (int64_t k = 0; k < n && k < sn; k++) check(so[k] == pos[k]);
    mx_free(so);
  } else {
    check_failed(sst);
  }
  /* the copy reads back record for record */
  check(mx_recordio_open(out_path, 0, NULL, &r2) == MX_OK);
  check(mx_recordio_seek(r, 0, 0) == MX_OK);
  for (int64_t k = 0; k < n; k++) {
    const uint8_t *a, *b;
    size_t la, lb;
    int ea, eb;
    check(mx_recordio_read(r, &a, &la, &ea) == MX_OK && !ea);
    check(mx_recordio_read(r2, &b, &lb, &eb) == MX_OK && !eb);
    check(la == lb && (la == 0 || memcmp(a, b, la) == 0));
  }
  if (n < MAXREC) {
    const uint8_t *b;
    size_t lb;
    int eb;
    check(mx_recordio_read(r2, &b, &lb, &eb) == MX_OK && eb);
  }
  mx_recordio_close(r2);
  mx_recordio_close(r);
  return 0;
}
