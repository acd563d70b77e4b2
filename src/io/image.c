/*
 * image.c -- JPEG (libjpeg-turbo's libjpeg API) and PNG (libpng) decoding
 * and encoding in memory.  See mx-io.h.
 *
 * Both libraries report errors by longjmp from their error handlers: the
 * handlers here keep the message and jump back to a setjmp in the calling
 * function, which frees everything and returns MX_ERR_FORMAT.  Nothing is
 * printed and nothing exits.  libjpeg's warnings (a truncated or corrupt
 * stream, which it would otherwise fill with grey) are errors too, except
 * extraneous bytes before a marker, which real cameras write.
 */
#include "mx-io.h"
#include "../include/mx-internal.h"
#include "../mx-config.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if MX_HAVE_JPEG
#include <jpeglib.h>
#include <jerror.h>
#endif
#if MX_HAVE_PNG
#include <png.h>
#endif

int mx_image_format(const uint8_t *p, size_t n) {
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) return MX_IMAGE_JPEG;
  if (n >= 8 && memcmp(p, png_sig, 8) == 0) return MX_IMAGE_PNG;
  return MX_IMAGE_UNKNOWN;
}

void mx_image_free(mx_image *img) {
  if (!img) return;
  mx_free(img->data);
  memset(img, 0, sizeof *img);
}

mx_status mx_image_alloc(mx_image *img, int w, int h, int c) {
  memset(img, 0, sizeof *img);
  if (w <= 0 || h <= 0 || (c != 1 && c != 3) || (int64_t)w * h > ((int64_t)1 << 28) / c)
    return mx_error(MX_ERR_ARG, "image of %d x %d pixels x %d channels is invalid or too large", w,
                    h, c);
  img->data = (uint8_t *)mx_malloc((size_t)w * h * c);
  if (!img->data) return mx_error(MX_ERR_NOMEM, "out of memory for a %d x %d image", w, h);
  img->w = w;
  img->h = h;
  img->c = c;
  return MX_OK;
}

/* ------------------------------------------------------------------ JPEG */
#if MX_HAVE_JPEG
typedef struct jerr {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jerr;

static void jpeg_fail(j_common_ptr c) {
  jerr *e = (jerr *)c->err;
  c->err->format_message(c, e->msg);
  longjmp(e->jump, 1);
}

static void jpeg_emit(j_common_ptr c, int level) {
  if (level >= 0 || c->err->msg_code == JWRN_EXTRANEOUS_DATA) return;  /* traces, benign */
  jpeg_fail(c);   /* a warning: truncated or corrupt data */
}

static void jpeg_quiet(j_common_ptr c) { (void)c; }

static void jpeg_errors(jerr *e) {
  jpeg_std_error(&e->pub);
  e->pub.error_exit = jpeg_fail;
  e->pub.emit_message = jpeg_emit;
  e->pub.output_message = jpeg_quiet;
  e->msg[0] = '\0';
}

#define JPEG_MAX_MEMORY (512L << 20)
static mx_status jpeg_decode(const uint8_t *buf, size_t n, int channels, int min_short,
                             mx_image *out) {
  struct jpeg_decompress_struct c;
  jerr e;
  mx_image img = {0, 0, 0, NULL};
  volatile mx_image *vimg = &img;
  c.err = &e.pub;
  jpeg_errors(&e);
  if (setjmp(e.jump)) {
    jpeg_destroy_decompress(&c);
    mx_image_free((mx_image *)vimg);
    if (e.pub.msg_code == JERR_NO_BACKING_STORE)
      return mx_error(MX_ERR_FORMAT, "JPEG too large: its decoding buffers would exceed %ld MB",
                      JPEG_MAX_MEMORY >> 20);
    return mx_error(MX_ERR_FORMAT, "corrupt or truncated JPEG: %s", e.msg);
  }
  jpeg_create_decompress(&c);
  /* libjpeg's own buffers (a progressive file's whole-image coefficients)
   * are capped: past this a header claiming a huge image fails as corrupt
   * instead of allocating a gigabyte (found by fuzz-image-record.c) */
  c.mem->max_memory_to_use = JPEG_MAX_MEMORY;
  jpeg_mem_src(&c, (unsigned char *)buf, (unsigned long)n);
  jpeg_read_header(&c, TRUE);
  c.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  if (min_short > 0) {
    unsigned s = c.image_width < c.image_height ? c.image_width : c.image_height;
    unsigned m = 1;
    while (m < 8 && (s * m + 7) / 8 < (unsigned)min_short) m++;
    c.scale_num = m;
    c.scale_denom = 8;
  }
  jpeg_start_decompress(&c);
  if (mx_image_alloc(&img, (int)c.output_width, (int)c.output_height, channels) != MX_OK) {
    jpeg_destroy_decompress(&c);
    return mx_last_status();
  }
  size_t stride = (size_t)img.w * channels;
  while (c.output_scanline < c.output_height) {
    JSAMPROW row = img.data + stride * c.output_scanline;
    jpeg_read_scanlines(&c, &row, 1);
  }
  jpeg_finish_decompress(&c);
  jpeg_destroy_decompress(&c);
  *out = img;
  return MX_OK;
}

static mx_status jpeg_encode(const mx_image *img, int quality, uint8_t **buf, size_t *n) {
  struct jpeg_compress_struct c;
  jerr e;
  unsigned char *volatile mem = NULL;
  unsigned long len = 0;
  c.err = &e.pub;
  jpeg_errors(&e);
  if (setjmp(e.jump)) {
    jpeg_destroy_compress(&c);
    free(mem);
    return mx_error(MX_ERR_FORMAT, "JPEG encoding failed: %s", e.msg);
  }
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, (unsigned char **)&mem, &len);
  c.image_width = (JDIMENSION)img->w;
  c.image_height = (JDIMENSION)img->h;
  c.input_components = img->c;
  c.in_color_space = img->c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  size_t stride = (size_t)img->w * img->c;
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = img->data + stride * c.next_scanline;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  *buf = (uint8_t *)mx_malloc(len ? len : 1);
  if (*buf) memcpy(*buf, mem, len);
  free(mem);
  if (!*buf) return mx_error(MX_ERR_NOMEM, "out of memory");
  *n = len;
  return MX_OK;
}
#endif

/* ------------------------------------------------------------------ PNG */
#if MX_HAVE_PNG
mx_status mx_png_decode_libpng(const uint8_t *buf, size_t n, int channels, mx_image *out) {
  memset(out, 0, sizeof *out);
  png_image p;
  memset(&p, 0, sizeof p);
  p.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&p, buf, n))
    return mx_error(MX_ERR_FORMAT, "corrupt PNG: %s", p.message);
  p.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  mx_image img;
  if (mx_image_alloc(&img, (int)p.width, (int)p.height, channels) != MX_OK) {
    png_image_free(&p);
    return mx_last_status();
  }
  if (!png_image_finish_read(&p, NULL, img.data, 0, NULL)) {
    mx_image_free(&img);
    return mx_error(MX_ERR_FORMAT, "corrupt or truncated PNG: %s", p.message);
  }
  *out = img;
  return MX_OK;
}

typedef struct pngw {
  uint8_t *p;
  size_t n, cap;
  char msg[200];
} pngw;

static void png_put(png_structp png, png_bytep data, size_t len) {
  pngw *w = (pngw *)png_get_io_ptr(png);
  if (w->n + len > w->cap) {
    size_t cap = w->cap ? w->cap : 65536;
    while (cap < w->n + len) cap *= 2;
    uint8_t *b = (uint8_t *)mx_realloc(w->p, cap);
    if (!b) png_error(png, "out of memory");
    w->p = b;
    w->cap = cap;
  }
  memcpy(w->p + w->n, data, len);
  w->n += len;
}

static void png_flush_none(png_structp png) { (void)png; }

static void png_fail(png_structp png, png_const_charp msg) {
  pngw *w = (pngw *)png_get_error_ptr(png);
  snprintf(w->msg, sizeof w->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void png_warn_none(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static mx_status png_encode(const mx_image *img, int level, uint8_t **buf, size_t *n) {
  pngw w;
  memset(&w, 0, sizeof w);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, png_fail, png_warn_none);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    return mx_error(MX_ERR_NOMEM, "out of memory for PNG encoding");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    mx_free(w.p);
    return mx_error(MX_ERR_FORMAT, "PNG encoding failed: %s", w.msg);
  }
  png_set_write_fn(png, &w, png_put, png_flush_none);
  png_set_compression_level(png, level < 0 ? 0 : level > 9 ? 9 : level);
  png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8,
               img->c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < img->h; y++) png_write_row(png, img->data + (size_t)y * img->w * img->c);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  *buf = w.p;
  *n = w.n;
  return MX_OK;
}
#endif

mx_status mx_image_decode(const uint8_t *buf, size_t n, int channels, int min_short,
                          mx_image *out) {
  memset(out, 0, sizeof *out);
  if (channels != 1 && channels != 3)
    return mx_error(MX_ERR_ARG, "images are decoded to 1 or 3 channels, not %d", channels);
  int f = mx_image_format(buf, n);
  if (f == MX_IMAGE_JPEG) {
#if MX_HAVE_JPEG
    return jpeg_decode(buf, n, channels, min_short, out);
#else
    return mx_error(MX_ERR_UNSUPPORTED, "this build has no JPEG decoder (%s)", MX_JPEG_DETAIL);
#endif
  }
  if (f == MX_IMAGE_PNG) {
#if MX_HAVE_PNG
    if (mx_png_fast(buf, n, channels, out)) return MX_OK;
    return mx_png_decode_libpng(buf, n, channels, out);
#else
    return mx_error(MX_ERR_UNSUPPORTED, "this build has no PNG decoder (%s)", MX_PNG_DETAIL);
#endif
  }
  return mx_error(MX_ERR_FORMAT, "not a JPEG or PNG image (%zu bytes)", n);
}

mx_status mx_image_encode(const mx_image *img, int png, int quality, uint8_t **buf, size_t *n) {
  *buf = NULL;
  *n = 0;
  if (!img->data || img->w <= 0 || img->h <= 0 || (img->c != 1 && img->c != 3))
    return mx_error(MX_ERR_ARG, "cannot encode an empty image or one of %d channels", img->c);
  if (png) {
#if MX_HAVE_PNG
    return png_encode(img, quality, buf, n);
#else
    return mx_error(MX_ERR_UNSUPPORTED, "this build has no PNG encoder (%s)", MX_PNG_DETAIL);
#endif
  }
#if MX_HAVE_JPEG
  if (quality < 1 || quality > 100)
    return mx_error(MX_ERR_ARG, "JPEG quality must be in [1, 100], not %d", quality);
  return jpeg_encode(img, quality, buf, n);
#else
  return mx_error(MX_ERR_UNSUPPORTED, "this build has no JPEG encoder (%s)", MX_JPEG_DETAIL);
#endif
}
