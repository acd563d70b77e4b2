/*
 * fuzz-image-record.c -- libFuzzer harness for the image record path of
 * mx.io.ImageRecordIter and im2rec: the image header (src/io/recordio.c),
 * JPEG and PNG decoding (image.c, libjpeg / libpng, png-fast.c) and the augmentation
 * pipeline (image-aug.c).  Built without R; see README.md here.
 *
 * Input layout (make-seeds.R writes seeds in it):
 *   byte 0   flags: bit 0 grey (1 channel), bit 1 rand_crop, bit 2
 *            rand_mirror, bit 3 uint8 output, bit 4 colour jitter, bit 5
 *            HLS jitter
 *   byte 1   output width - 1 (low 5 bits) ; byte 2 output height - 1
 *   byte 3   resize (short side; 0 = off)
 *   then     an image record: IRHeader, labels, JPEG or PNG bytes.
 * Checks: errors leave a message; a PNG that png-fast.c decodes decodes to
 * the same pixels through libpng; a decoded image has 1 or 3 channels and a
 * positive size, and encodes to PNG and decodes back to the same pixels; the
 * augmented example is finite (float) and the same for the same seed.
 */
#include "../../src/include/mx-internal.h"
#include "../../src/io/mx-io.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok) {
  if (!ok) __builtin_trap();
}

static void check_failed(mx_status st) {
  check(st != MX_OK);
  const char *msg = mx_last_error();
  check(msg != NULL && msg[0] != '\0');
}

static void check_png_round_trip(const mx_image *img) {
  uint8_t *buf;
  size_t n;
  check(mx_image_encode(img, 1, 1, &buf, &n) == MX_OK);
  mx_image back;
  check(mx_image_decode(buf, n, img->c, 0, &back) == MX_OK);
  check(back.w == img->w && back.h == img->h && back.c == img->c);
  check(memcmp(back.data, img->data, (size_t)img->w * img->h * img->c) == 0);
  mx_image_free(&back);
  mx_free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once = 0;
  if (!once) {
    mx_pool_set_limit(MX_CPU, 0);
    once = 1;
  }
  if (size < 4) return 0;
  mx_irheader h;
  const uint8_t *lab, *img;
  size_t img_n;
  mx_status st = mx_irheader_unpack(data + 4, size - 4, &h, &lab, &img, &img_n);
  if (st != MX_OK) {
    check_failed(st);
    return 0;
  }
  mx_image_aug a;
  memset(&a, 0, sizeof a);
  a.c = data[0] & 1 ? 1 : 3;
  a.rand_crop = (data[0] >> 1) & 1;
  a.rand_mirror = (data[0] >> 2) & 1;
  a.uint8_out = (data[0] >> 3) & 1;
  if ((data[0] >> 4) & 1) a.brightness = a.contrast = a.saturation = 0.4f;
  if ((data[0] >> 5) & 1) {
    a.random_h = 30;
    a.random_s = a.random_l = 40;
  }
  a.out_w = (data[1] & 31) + 1;
  a.out_h = (data[2] & 31) + 1;
  a.resize = data[3] & 63;
  a.scale = 1.0f / 255;
  a.max_random_contrast = a.max_random_illumination = 0.1f;
  for (int k = 0; k < 3; k++) {
    a.mean[k] = 100.0f;
    a.std[k] = 50.0f;
  }
  mx_image dec;
  if (mx_png_fast(img, img_n, a.c, &dec)) {   /* the fast path's pixels are libpng's */
    mx_image lib;
    check(mx_png_decode_libpng(img, img_n, a.c, &lib) == MX_OK);
    check(lib.w == dec.w && lib.h == dec.h && lib.c == dec.c);
    check(memcmp(lib.data, dec.data, (size_t)dec.w * dec.h * dec.c) == 0);
    mx_image_free(&lib);
    mx_image_free(&dec);
  }
  st = mx_image_decode(img, img_n, a.c, a.resize, &dec);
  if (st != MX_OK) {
    check_failed(st);
  } else {
    check(dec.w > 0 && dec.h > 0 && dec.c == a.c && dec.data != NULL);
    if ((int64_t)dec.w * dec.h <= 1 << 16) check_png_round_trip(&dec);
    mx_image_free(&dec);
  }
  size_t per = (size_t)a.out_w * a.out_h * a.c, bytes = per * (a.uint8_out ? 1 : 4);
  uint8_t *o1 = (uint8_t *)malloc(bytes), *o2 = (uint8_t *)malloc(bytes);
  check(o1 && o2);
  uint64_t seed = (uint64_t)h.id * 2654435761u + size;
  st = mx_image_augment(&a, img, img_n, seed, o1);
  if (st != MX_OK) {
    check_failed(st);
  } else {
    check(mx_image_augment(&a, img, img_n, seed, o2) == MX_OK);
    check(memcmp(o1, o2, bytes) == 0);
    if (!a.uint8_out)
      for (size_t k = 0; k < per; k++) check(isfinite(((float *)o1)[k]));
  }
  free(o1);
  free(o2);
  return 0;
}
