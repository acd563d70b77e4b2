/*
 * image-aug.c -- resizing, cropping and the per-example augmentation of
 * mx.io.ImageRecordIter (mx_image_augment).  See mx-io.h.
 *
 * Deliberate differences from MXNet 1.9.1 (documented in ?mx.io.ImageRecordIter):
 * contrast and saturation use the grey of the RGB image (MXNet applied
 * OpenCV's RGB weights to BGR data), and HLS offsets are uniform in
 * [-random.x, random.x] (MXNet drew (u1 + 4 u2) / 5).
 */
#include "mx-io.h"
#include "../include/mx-internal.h"

#include <math.h>
#include <string.h>

static uint8_t clamp_u8(float v) {
  return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)(v + 0.5f);
}

/* Source coordinate of destination pixel d: lower index, weight of upper. */
static void lin_coord(int d, double f, int n, int *i0, float *w) {
  double s = (d + 0.5) * f - 0.5;
  if (s < 0) s = 0;
  int i = (int)s;
  if (i >= n - 1) {
    *i0 = n - 1;
    *w = 0.0f;
    return;
  }
  *i0 = i;
  *w = (float)(s - i);
}

mx_status mx_image_resize_window(const mx_image *src, int w, int h, int x0, int y0, int cw,
                                 int ch, mx_image *dst) {
  if (w < 1 || h < 1 || x0 < 0 || y0 < 0 || x0 + cw > w || y0 + ch > h)
    return mx_error(MX_ERR_ARG, "resize: window (%d, %d, %d x %d) is outside %d x %d", x0, y0, cw,
                    ch, w, h);
  mx_status st = mx_image_alloc(dst, cw, ch, src->c);
  if (st != MX_OK) return st;
  int c = src->c;
  int *xi = (int *)mx_malloc((size_t)cw * sizeof(int));
  float *xw = (float *)mx_malloc((size_t)cw * sizeof(float));
  if (!xi || !xw) {
    mx_free(xi);
    mx_free(xw);
    mx_image_free(dst);
    return mx_error(MX_ERR_NOMEM, "out of memory for a resize");
  }
  double fx = (double)src->w / w, fy = (double)src->h / h;
  for (int x = 0; x < cw; x++) lin_coord(x0 + x, fx, src->w, &xi[x], &xw[x]);
  size_t sstride = (size_t)src->w * c;
  for (int y = 0; y < ch; y++) {
    int yy;
    float wy;
    lin_coord(y0 + y, fy, src->h, &yy, &wy);
    const uint8_t *r0 = src->data + sstride * yy;
    const uint8_t *r1 = wy > 0.0f ? r0 + sstride : r0;
    uint8_t *o = dst->data + (size_t)y * cw * c;
    for (int x = 0; x < cw; x++) {
      int a0 = xi[x] * c, a1 = xw[x] > 0.0f ? a0 + c : a0;
      float a = xw[x];
      for (int k = 0; k < c; k++) {
        float top = r0[a0 + k] + a * (r0[a1 + k] - r0[a0 + k]);
        float bot = r1[a0 + k] + a * (r1[a1 + k] - r1[a0 + k]);
        o[x * c + k] = clamp_u8(top + wy * (bot - top));
      }
    }
  }
  mx_free(xi);
  mx_free(xw);
  return MX_OK;
}

mx_status mx_image_resize(const mx_image *src, int w, int h, mx_image *dst) {
  return mx_image_resize_window(src, w, h, 0, 0, w, h, dst);
}

mx_status mx_image_crop(const mx_image *src, int x, int y, int w, int h, mx_image *dst) {
  if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > src->w || y + h > src->h)
    return mx_error(MX_ERR_ARG, "crop window (%d, %d, %d x %d) is outside a %d x %d image", x, y,
                    w, h, src->w, src->h);
  mx_status st = mx_image_alloc(dst, w, h, src->c);
  if (st != MX_OK) return st;
  size_t row = (size_t)w * src->c;
  for (int r = 0; r < h; r++)
    memcpy(dst->data + row * r, src->data + ((size_t)(y + r) * src->w + x) * src->c, row);
  return MX_OK;
}

/* MXNet's short-side resize: the short side becomes `size`, the other is
 * scaled by integer division. */
static void short_side(int *w, int *h, int size) {
  if (*w < *h) {
    *h = (int)((int64_t)*h * size / *w);
    *w = size;
  } else {
    *w = (int)((int64_t)*w * size / *h);
    *h = size;
  }
  if (*w < 1) *w = 1;
  if (*h < 1) *h = 1;
}

mx_status mx_image_resize_short(const mx_image *src, int size, mx_image *dst) {
  if (size <= 0) return mx_error(MX_ERR_ARG, "resize: the short side must be positive, not %d", size);
  int w = src->w, h = src->h;
  short_side(&w, &h, size);
  return mx_image_resize(src, w, h, dst);
}

/* --------------------------------------------------------------- colour */

static float grey_of(const uint8_t *p) { return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]; }

/* x = x * alpha + base * (1 - alpha); base = grey mean (contrast), grey
 * pixel (saturation) or 0 (brightness). */
static void blend(mx_image *img, int kind, float alpha) {
  size_t np = (size_t)img->w * img->h;
  int c = img->c;
  float mean = 0.0f;
  if (kind == 1) {
    double sum = 0;
    for (size_t i = 0; i < np; i++) sum += c == 3 ? grey_of(img->data + 3 * i) : img->data[i];
    mean = (float)(sum / (double)np);
  }
  for (size_t i = 0; i < np; i++) {
    uint8_t *p = img->data + c * i;
    float base = kind == 1 ? mean : kind == 2 ? (c == 3 ? grey_of(p) : p[0]) : 0.0f;
    for (int k = 0; k < c; k++) p[k] = clamp_u8(p[k] * alpha + base * (1.0f - alpha));
  }
}

static float hue_value(float m1, float m2, float h) {
  if (h < 0) h += 360.0f;
  if (h >= 360.0f) h -= 360.0f;
  if (h < 60.0f) return m1 + (m2 - m1) * h / 60.0f;
  if (h < 180.0f) return m2;
  if (h < 240.0f) return m1 + (m2 - m1) * (240.0f - h) / 60.0f;
  return m1;
}

/* Shift hue (OpenCV units: 180 = a full turn), lightness and saturation
 * (0-255) of every pixel of an RGB image. */
static void hls_shift(mx_image *img, float dh, float ds, float dl) {
  size_t np = (size_t)img->w * img->h;
  for (size_t i = 0; i < np; i++) {
    uint8_t *p = img->data + 3 * i;
    float r = p[0] / 255.0f, g = p[1] / 255.0f, b = p[2] / 255.0f;
    float mx = fmaxf(r, fmaxf(g, b)), mn = fminf(r, fminf(g, b));
    float l = (mx + mn) / 2, s = 0, h = 0, d = mx - mn;
    if (d > 0) {
      s = l < 0.5f ? d / (mx + mn) : d / (2 - mx - mn);
      h = mx == r ? 60 * (g - b) / d : mx == g ? 120 + 60 * (b - r) / d : 240 + 60 * (r - g) / d;
    }
    h = fmodf(h + dh * 2.0f + 720.0f, 360.0f);
    l = fminf(fmaxf(l + dl / 255.0f, 0.0f), 1.0f);
    s = fminf(fmaxf(s + ds / 255.0f, 0.0f), 1.0f);
    float m2 = l <= 0.5f ? l * (1 + s) : l + s - l * s, m1 = 2 * l - m2;
    if (s == 0) {
      p[0] = p[1] = p[2] = clamp_u8(l * 255.0f);
      continue;
    }
    p[0] = clamp_u8(255.0f * hue_value(m1, m2, h + 120));
    p[1] = clamp_u8(255.0f * hue_value(m1, m2, h));
    p[2] = clamp_u8(255.0f * hue_value(m1, m2, h - 120));
  }
}

/* Brightness, contrast, saturation in a random order (u[1..2]; amounts
 * u[4..6]), then HLS (u[7..9]). */
static void colour_jitter(const mx_image_aug *a, mx_image *img, const double *u) {
  float range[3] = {a->brightness, a->contrast, a->saturation};
  int order[3] = {0, 1, 2};
  for (int i = 2; i > 0; i--) {
    int j = (int)(u[i] * (i + 1));
    int t = order[i];
    order[i] = order[j > i ? i : j];
    order[j > i ? i : j] = t;
  }
  for (int k = 0; k < 3; k++) {
    int kind = order[k];
    if (range[kind] > 0) blend(img, kind, 1.0f + range[kind] * (float)(2 * u[4 + kind] - 1));
  }
  if (img->c == 3 && (a->random_h > 0 || a->random_s > 0 || a->random_l > 0))
    hls_shift(img, a->random_h * (float)(2 * u[7] - 1), a->random_s * (float)(2 * u[8] - 1),
              a->random_l * (float)(2 * u[9] - 1));
}

/* ------------------------------------------------------------- pipeline */

/* Mirror, normalise and transpose HWC (uint8) into CHW. */
static void write_example(const mx_image_aug *a, const mx_image *img, int flip, const double *u,
                          void *out) {
  int w = img->w, h = img->h, c = img->c;
  size_t plane = (size_t)w * h;
  if (a->uint8_out) {
    uint8_t *o = (uint8_t *)out;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        const uint8_t *p = img->data + ((size_t)y * w + (flip ? w - 1 - x : x)) * c;
        for (int k = 0; k < c; k++) o[k * plane + (size_t)y * w + x] = p[k];
      }
    return;
  }
  float mul = a->scale * (1.0f + a->max_random_contrast * (float)(2 * u[0] - 1));
  float add = a->max_random_illumination * (float)(2 * u[1] - 1) * a->scale;
  float sc[3], off[3];
  for (int k = 0; k < c; k++) {
    sc[k] = mul / a->std[k];
    off[k] = add / a->std[k] - a->mean[k] * mul / a->std[k];
  }
  float *o = (float *)out;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *p = img->data + ((size_t)y * w + (flip ? w - 1 - x : x)) * c;
      for (int k = 0; k < c; k++) o[k * plane + (size_t)y * w + x] = p[k] * sc[k] + off[k];
    }
}

mx_status mx_image_augment(const mx_image_aug *a, const uint8_t *buf, size_t n, uint64_t seed,
                           void *out) {
  double u[16];
  mx_rng rng;
  mx_rng_init(&rng, seed);
  mx_rng_uniform_f64(&rng, u, 16, 0.0, 1.0);
  mx_image img, crop;
  mx_status st = mx_image_decode(buf, n, a->c, a->resize, &img);
  if (st != MX_OK) return st;
  int w = img.w, h = img.h;           /* size after resize and upscale */
  if (a->resize > 0) short_side(&w, &h, a->resize);
  if (w < a->out_w || h < a->out_h) {   /* upscale, keeping the aspect ratio */
    double f = fmax((double)a->out_w / w, (double)a->out_h / h);
    int uw = (int)ceil(w * f - 1e-9), uh = (int)ceil(h * f - 1e-9);
    w = uw < a->out_w ? a->out_w : uw;
    h = uh < a->out_h ? a->out_h : uh;
  }
  int x = (w - a->out_w) / 2, y = (h - a->out_h) / 2;
  if (a->rand_crop) {
    x = (int)(u[0] * (w - a->out_w + 1));
    y = (int)(u[1] * (h - a->out_h + 1));
  }
  /* only the crop window of the resized image is computed */
  st = w == img.w && h == img.h ? mx_image_crop(&img, x, y, a->out_w, a->out_h, &crop)
                                : mx_image_resize_window(&img, w, h, x, y, a->out_w, a->out_h, &crop);
  mx_image_free(&img);
  if (st != MX_OK) return st;
  colour_jitter(a, &crop, u + 3);
  int flip = a->mirror || (a->rand_mirror && u[2] < 0.5);
  write_example(a, &crop, flip, u + 13, out);
  mx_image_free(&crop);
  return MX_OK;
}
