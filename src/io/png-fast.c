/*
 * png-fast.c -- the common PNG without libpng: 8-bit grey decoded to one
 * channel, or 8-bit RGB to three, not interlaced, with no chunk that would
 * change the colours.  See mx_png_fast in mx-io.h.
 *
 * Why: libpng hands zlib one row at a time, so a small image is inflated a
 * few dozen bytes per call through zlib's slow path (inflate_fast needs 258
 * bytes of room), and its set-up per image is a good part of the rest.
 * For Fashion-MNIST's 28 x 28 PNG records that was 14 us per image, the
 * decoding that training through mx.io.ImageRecordIter paid for.  Here the
 * image data is inflated in one pass into a buffer of all rows and then
 * unfiltered.
 *
 * Anything outside that case, and anything irregular (a CRC that does not
 * match, chunks out of order, data that does not inflate to exactly the
 * image, an unknown filter), returns 0 and libpng decodes the file, so
 * errors and every other format read exactly as before.  The fuzz harness
 * fuzz-image-record.c checks that a file decoded here decodes to the same
 * pixels through libpng.
 */
#include "mx-io.h"
#include "../include/mx-internal.h"
#include "../mx-config.h"

#include <string.h>

#if MX_HAVE_PNG && MX_HAVE_ZLIB
#include <zlib.h>

#define PNG_MAX_SIDE 1000000u   /* libpng's default user limit on each side */

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_type(const uint8_t *t, const char *name) { return memcmp(t, name, 4) == 0; }

/* Chunks that change how libpng's simplified reader maps the samples (or
 * that only other colour types may carry): leave those files to libpng. */
static int changes_colours(const uint8_t *t) {
  static const char *names[] = {"PLTE", "tRNS", "gAMA", "cHRM", "iCCP", "sRGB", "sBIT", "bKGD"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (is_type(t, names[i])) return 1;
  return 0;
}

typedef struct png_walk {
  const uint8_t *buf;
  size_t n, pos;          /* pos: the next chunk's length field */
  uint32_t w, h;
  int c;
  size_t idat_total;
} png_walk;

/* The chunk at w->pos: its type and payload, after checking that it lies
 * in the buffer, has a valid name and (crc: for critical chunks) its CRC. */
static int next_chunk(png_walk *w, int crc, const uint8_t **type, const uint8_t **data,
                      uint32_t *len) {
  if (w->n - w->pos < 12) return 0;
  uint32_t l = be32(w->buf + w->pos);
  if (l > 0x7fffffffu || (size_t)l > w->n - w->pos - 12) return 0;
  const uint8_t *t = w->buf + w->pos + 4;
  for (int i = 0; i < 4; i++)
    if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z'))) return 0;
  if (crc && !(t[0] & 0x20) &&
      (uLong)be32(t + 4 + l) != crc32(crc32(0L, Z_NULL, 0), t, (uInt)(l + 4)))
    return 0;
  *type = t;
  *data = t + 4;
  *len = l;
  w->pos += (size_t)l + 12;
  return 1;
}

/* IHDR: 8-bit grey (type 0) for one channel or RGB (type 2) for three,
 * compression and filter method 0, not interlaced. */
static int read_ihdr(png_walk *w, int channels) {
  const uint8_t *t, *d;
  uint32_t len;
  if (!next_chunk(w, 1, &t, &d, &len) || !is_type(t, "IHDR") || len != 13) return 0;
  w->w = be32(d);
  w->h = be32(d + 4);
  int type_ok = (channels == 1 && d[9] == 0) || (channels == 3 && d[9] == 2);
  if (w->w == 0 || w->h == 0 || w->w > PNG_MAX_SIDE || w->h > PNG_MAX_SIDE) return 0;
  if (d[8] != 8 || !type_ok || d[10] != 0 || d[11] != 0 || d[12] != 0) return 0;
  w->c = channels;
  return 1;
}

/* Walk every chunk after IHDR: one run of IDAT chunks, then IEND last;
 * no unknown critical chunk and none that changes colours. */
static int check_chunks(png_walk *w) {
  size_t start = w->pos;
  int idat_state = 0;   /* 0 before the IDAT run, 1 in it, 2 after it */
  const uint8_t *t, *d;
  uint32_t len;
  for (;;) {
    if (!next_chunk(w, 1, &t, &d, &len)) return 0;
    if (is_type(t, "IEND")) break;
    if (is_type(t, "IDAT")) {
      if (idat_state == 2) return 0;
      idat_state = 1;
      w->idat_total += len;
    } else {
      if (idat_state == 1) idat_state = 2;
      if (!(t[0] & 0x20) || changes_colours(t)) return 0;
    }
  }
  if (idat_state == 0 || w->pos != w->n) return 0;
  w->pos = start;
  return 1;
}

/* Inflate the IDAT run into `out` (exactly `need` bytes, then the end of
 * the zlib stream with nothing after it); check_chunks verified the walk. */
static int inflate_idat(png_walk *w, uint8_t *out, size_t need) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit(&z) != Z_OK) return 0;
  z.next_out = out;
  z.avail_out = (uInt)need;
  int ret = Z_OK, ok = 1;
  const uint8_t *t, *d;
  uint32_t len;
  /* Z_FINISH: no sliding window is kept when the stream ends in one call
   * (one IDAT chunk); with several, Z_BUF_ERROR asks for the next one. */
  while (ok && next_chunk(w, 0, &t, &d, &len) && !is_type(t, "IEND")) {
    if (!is_type(t, "IDAT") || len == 0) continue;
    if (ret == Z_STREAM_END) { ok = 0; break; }   /* data after the stream */
    z.next_in = (Bytef *)(uintptr_t)d;
    z.avail_in = len;
    ret = inflate(&z, Z_FINISH);
    if (ret == Z_BUF_ERROR && z.avail_in == 0 && z.avail_out > 0) ret = Z_OK;
    if ((ret != Z_OK && ret != Z_STREAM_END) || z.avail_in != 0) ok = 0;
  }
  ok = ok && ret == Z_STREAM_END && z.avail_out == 0;
  inflateEnd(&z);
  return ok;
}

static uint8_t paeth(int a, int b, int c) {
  int p = a + b - c, pa = p > a ? p - a : a - p, pb = p > b ? p - b : b - p,
      pc = p > c ? p - c : c - p;
  return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

/* Undo one row's filter: src (filter byte, then n bytes) into out; up is
 * the row above in the output, NULL for the first row. */
static int unfilter_row(const uint8_t *src, uint8_t *out, const uint8_t *up, size_t n, size_t bpp) {
  const uint8_t *r = src + 1;
  switch (src[0]) {
  case 0: memcpy(out, r, n); break;
  case 1:
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(r[i] + (i >= bpp ? out[i - bpp] : 0));
    break;
  case 2:
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(r[i] + (up ? up[i] : 0));
    break;
  case 3:
    for (size_t i = 0; i < n; i++)
      out[i] = (uint8_t)(r[i] + (((i >= bpp ? out[i - bpp] : 0) + (up ? up[i] : 0)) >> 1));
    break;
  case 4:
    for (size_t i = 0; i < n; i++) {
      int a = i >= bpp ? out[i - bpp] : 0, b = up ? up[i] : 0,
          c = up && i >= bpp ? up[i - bpp] : 0;
      out[i] = (uint8_t)(r[i] + paeth(a, b, c));
    }
    break;
  default: return 0;
  }
  return 1;
}

int mx_png_fast(const uint8_t *buf, size_t n, int channels, mx_image *out) {
  png_walk w = {buf, n, 8, 0, 0, 0, 0};
  if (mx_image_format(buf, n) != MX_IMAGE_PNG || !read_ihdr(&w, channels) || !check_chunks(&w))
    return 0;
  size_t row = (size_t)w.w * (size_t)w.c, need = (row + 1) * (size_t)w.h;
  if (need / 1032 > w.idat_total + 1) return 0;   /* more than deflate can expand to */
  uint8_t *filtered = (uint8_t *)mx_malloc(need);
  mx_image img = {0, 0, 0, NULL};
  int ok = filtered && inflate_idat(&w, filtered, need) &&
           mx_image_alloc(&img, (int)w.w, (int)w.h, w.c) == MX_OK;
  for (uint32_t y = 0; ok && y < w.h; y++)
    ok = unfilter_row(filtered + (row + 1) * y, img.data + row * y, y ? img.data + row * (y - 1) : NULL,
                      row, (size_t)w.c);
  mx_free(filtered);
  if (!ok) {
    mx_image_free(&img);
    mx_error_clear();
    return 0;
  }
  *out = img;
  return 1;
}

#else
int mx_png_fast(const uint8_t *buf, size_t n, int channels, mx_image *out) {
  (void)buf, (void)n, (void)channels, (void)out;
  return 0;
}
#endif
