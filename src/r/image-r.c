/*
 * image-r.c -- R glue of image decoding, encoding and resizing (R/image.R):
 * images cross the boundary as R arrays c(width, height, channels) of
 * 0-255 values (MXNet R's data.shape order); the engine's are interleaved
 * rows (src/io/image.c).
 */
#include "mx-r.h"
#include "../io/mx-io.h"
#include "../mx-config.h"

#include <math.h>
#include <string.h>

/* An engine image as an integer array c(w, h, c); frees the image. */
static SEXP image_to_r(mx_image *img) {
  int w = img->w, h = img->h, c = img->c;
  SEXP out = PROTECT(Rf_allocVector(INTSXP, (R_xlen_t)w * h * c));
  int *o = INTEGER(out);
  for (int k = 0; k < c; k++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        o[((size_t)k * h + y) * w + x] = img->data[((size_t)y * w + x) * c + k];
  mx_image_free(img);
  SEXP dim = PROTECT(Rf_allocVector(INTSXP, 3));
  INTEGER(dim)[0] = w;
  INTEGER(dim)[1] = h;
  INTEGER(dim)[2] = c;
  Rf_setAttrib(out, R_DimSymbol, dim);
  UNPROTECT(2);
  return out;
}

/* An R array c(w, h, c) (c = 1 or 3) of 0-255 values into *img. */
static void image_from_r(SEXP x, mx_image *img) {
  SEXP dim = Rf_getAttrib(x, R_DimSymbol);
  if ((TYPEOF(x) != INTSXP && TYPEOF(x) != REALSXP) || XLENGTH(dim) < 2 || XLENGTH(dim) > 3)
    mx_r_value_error("an image must be a numeric array c(width, height) or c(width, height, channels)");
  int w = INTEGER(dim)[0], h = INTEGER(dim)[1], c = XLENGTH(dim) == 3 ? INTEGER(dim)[2] : 1;
  if (c != 1 && c != 3) mx_r_value_error("an image must have 1 or 3 channels, not %d", c);
  mx_r_check(mx_image_alloc(img, w, h, c));
  R_xlen_t n = XLENGTH(x);
  for (R_xlen_t i = 0; i < n; i++) {
    double v = TYPEOF(x) == INTSXP ? (INTEGER(x)[i] == NA_INTEGER ? NAN : INTEGER(x)[i]) : REAL(x)[i];
    int k = (int)(i / ((R_xlen_t)w * h)), y = (int)(i / w % h), xx = (int)(i % w);
    img->data[((size_t)y * w + xx) * c + k] = v >= 0 && v <= 255 ? (uint8_t)(v + 0.5) : 0;
    if (!(v >= 0 && v <= 255)) {
      mx_image_free(img);
      mx_r_value_error("image values must be numbers in [0, 255]");
    }
  }
}

/* path: 0 mx_image_decode; for tests of PNG decoding, 1 only png-fast.c
 * (NULL when it declines the file) and 2 only libpng. */
SEXP mx_r_image_decode(SEXP raw, SEXP channels, SEXP min_short, SEXP path) {
  if (TYPEOF(raw) != RAWSXP) mx_r_value_error("argument 'buf' must be a raw vector");
  int c = Rf_asInteger(channels), m = Rf_asInteger(min_short), p = Rf_asInteger(path);
  const uint8_t *b = RAW(raw);
  size_t n = (size_t)XLENGTH(raw);
  mx_image img;
  if (p == 1) {
    if (!mx_png_fast(b, n, c, &img)) return R_NilValue;
  } else if (p == 2) {
#if MX_HAVE_PNG
    mx_r_check(mx_png_decode_libpng(b, n, c, &img));
#else
    mx_r_raise(MX_ERR_UNSUPPORTED, "this build has no libpng");
#endif
  } else {
    mx_r_check(mx_image_decode(b, n, c, m == NA_INTEGER ? 0 : m, &img));
  }
  return image_to_r(&img);
}

SEXP mx_r_image_encode(SEXP x, SEXP png, SEXP quality) {
  mx_image img;
  image_from_r(x, &img);
  uint8_t *buf;
  size_t n;
  mx_status st = mx_image_encode(&img, Rf_asLogical(png) == TRUE, Rf_asInteger(quality), &buf, &n);
  mx_image_free(&img);
  mx_r_check(st);
  /* unprotected-ok: nothing allocates before it is returned */
  SEXP out = Rf_allocVector(RAWSXP, (R_xlen_t)n); /* unprotected-ok */
  memcpy(RAW(out), buf, n);
  mx_free(buf);
  return out;
}

SEXP mx_r_image_resize(SEXP x, SEXP w, SEXP h) {
  mx_image img, out;
  image_from_r(x, &img);
  mx_status st = mx_image_resize(&img, Rf_asInteger(w), Rf_asInteger(h), &out);
  mx_image_free(&img);
  mx_r_check(st);
  return image_to_r(&out);
}

/* opts: resize, center_crop, quality, png, channels, pass_through,
 * pack_label, threads, skip_bad (integers).  Returns the 0-based positions
 * of the images skipped, with attribute "why" (the first one's reason). */
SEXP mx_r_im2rec(SEXP paths, SEXP labels, SEXP width, SEXP ids, SEXP opts, SEXP rec, SEXP idx) {
  R_xlen_t n = XLENGTH(paths);
  int w = Rf_asInteger(width);
  if (TYPEOF(paths) != STRSXP || TYPEOF(labels) != REALSXP || TYPEOF(ids) != REALSXP ||
      TYPEOF(opts) != INTSXP || XLENGTH(opts) != 9 || w < 1 || XLENGTH(labels) != n * w ||
      XLENGTH(ids) != n)
    mx_r_value_error("im2rec: inconsistent image list");
  const char *rp = mx_r_path_arg(rec, "output_rec"), *ip = mx_r_path_arg(idx, "idx");
  const char **p = (const char **)R_alloc(n ? (size_t)n : 1, sizeof(char *));
  float *lab = (float *)R_alloc(n * w ? (size_t)(n * w) : 1, sizeof(float));
  uint64_t *id = (uint64_t *)R_alloc(n ? (size_t)n : 1, sizeof(uint64_t));
  for (R_xlen_t i = 0; i < n; i++) {
    if (STRING_ELT(paths, i) == NA_STRING) mx_r_value_error("im2rec: an image path is NA");
    p[i] = Rf_translateChar(STRING_ELT(paths, i));   /* expanded in R */
    double v = REAL(ids)[i];
    if (!(v >= 0 && v <= 9007199254740992.0)) mx_r_value_error("im2rec: image index must be >= 0");
    id[i] = (uint64_t)v;
  }
  for (R_xlen_t i = 0; i < n * w; i++) lab[i] = (float)REAL(labels)[i];
  const int *op = INTEGER(opts);
  mx_im2rec_opts o = {op[0], op[1], op[2], op[3], op[4], op[5], op[6], op[7], op[8]};
  mx_im2rec_skips sk = {(int64_t *)R_alloc(n ? (size_t)n : 1, sizeof(int64_t)), 0, ""};
  mx_r_check(MX_R_POLLED(mx_im2rec(p, lab, w, id, (int64_t)n, &o, rp, ip, &sk)));
  SEXP res = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)sk.n));
  for (int64_t i = 0; i < sk.n; i++) REAL(res)[i] = (double)sk.index[i];
  Rf_setAttrib(res, Rf_install("why"), Rf_mkString(sk.first_why));
  UNPROTECT(1);
  return res;
}

/* ------------------------------------------------------ ImageRecordIter */

static SEXP iter_tag = NULL;

static void iter_finalizer(SEXP ptr) {
  mx_image_iter_free((mx_image_iter *)R_ExternalPtrAddr(ptr));
  R_ClearExternalPtr(ptr);
}

static mx_image_iter *iter_get(SEXP ptr) {
  if (TYPEOF(ptr) != EXTPTRSXP || R_ExternalPtrTag(ptr) != iter_tag || !R_ExternalPtrAddr(ptr))
    mx_r_value_error("not an open ImageRecordIter");
  return (mx_image_iter *)R_ExternalPtrAddr(ptr);
}

/* The value of a named element of a double vector (checked in R). */
static double par(SEXP p, const char *name) {
  SEXP nm = Rf_getAttrib(p, R_NamesSymbol);
  for (R_xlen_t i = 0; i < XLENGTH(p); i++)
    if (strcmp(CHAR(STRING_ELT(nm, i)), name) == 0) return REAL(p)[i];
  mx_r_raise(MX_ERR_INTERNAL, "ImageRecordIter: parameter '%s' missing", name);
}

SEXP mx_r_image_iter_new(SEXP rec, SEXP idx, SEXP params, SEXP list_ids, SEXP list_labels) {
  if (TYPEOF(params) != REALSXP || TYPEOF(list_ids) != REALSXP || TYPEOF(list_labels) != REALSXP)
    mx_r_value_error("ImageRecordIter: bad parameters");
  const char *rp = mx_r_path_arg(rec, "path.imgrec");
  const char *ip = Rf_isNull(idx) ? NULL : mx_r_path_arg(idx, "path.imgidx");
  mx_image_iter_opts o;
  memset(&o, 0, sizeof o);
  mx_image_aug *a = &o.aug;
  a->out_w = (int)par(params, "w");
  a->out_h = (int)par(params, "h");
  a->c = (int)par(params, "c");
  a->resize = (int)par(params, "resize");
  a->rand_crop = par(params, "rand.crop") != 0;
  a->rand_mirror = par(params, "rand.mirror") != 0;
  a->mirror = par(params, "mirror") != 0;
  static const char *mean[3] = {"mean.r", "mean.g", "mean.b"}, *sd[3] = {"std.r", "std.g", "std.b"};
  for (int k = 0; k < 3; k++) {
    a->mean[k] = (float)par(params, mean[k]);
    a->std[k] = (float)par(params, sd[k]);
  }
  a->scale = (float)par(params, "scale");
  a->max_random_contrast = (float)par(params, "max.random.contrast");
  a->max_random_illumination = (float)par(params, "max.random.illumination");
  a->brightness = (float)par(params, "brightness");
  a->contrast = (float)par(params, "contrast");
  a->saturation = (float)par(params, "saturation");
  a->random_h = (float)par(params, "random.h");
  a->random_s = (float)par(params, "random.s");
  a->random_l = (float)par(params, "random.l");
  a->uint8_out = par(params, "uint8") != 0;
  o.batch_size = (int)par(params, "batch.size");
  o.label_width = (int)par(params, "label.width");
  o.shuffle = par(params, "shuffle") != 0;
  o.round_batch = par(params, "round.batch") != 0;
  o.num_parts = (int)par(params, "num.parts");
  o.part_index = (int)par(params, "part.index");
  o.threads = (int)par(params, "preprocess.threads");
  if (o.threads <= 0) o.threads = mx_threads_get();
  o.prefetch = (int)par(params, "prefetch.buffer");
  o.skip_bad = par(params, "skip.bad") != 0;
  R_xlen_t nl = XLENGTH(list_ids);
  if (XLENGTH(list_labels) != nl * o.label_width) mx_r_value_error("ImageRecordIter: bad image list");
  uint64_t *ids = (uint64_t *)R_alloc(nl ? (size_t)nl : 1, sizeof(uint64_t));
  float *lab = (float *)R_alloc(nl ? (size_t)(nl * o.label_width) : 1, sizeof(float));
  for (R_xlen_t i = 0; i < nl; i++) ids[i] = (uint64_t)REAL(list_ids)[i];
  for (R_xlen_t i = 0; i < nl * o.label_width; i++) lab[i] = (float)REAL(list_labels)[i];
  o.list_ids = ids;
  o.list_labels = lab;
  o.n_list = (int64_t)nl;
  if (!iter_tag) iter_tag = Rf_install("MXImageRecordIter");
  SEXP ptr = PROTECT(R_MakeExternalPtr(NULL, iter_tag, R_NilValue));
  R_RegisterCFinalizerEx(ptr, iter_finalizer, TRUE);
  mx_image_iter *it;
  mx_r_check(MX_R_POLLED(mx_image_iter_new(rp, ip, &o, &it)));
  R_SetExternalPtrAddr(ptr, it);
  UNPROTECT(1);
  return ptr;
}

SEXP mx_r_image_iter_reset(SEXP ptr) {
  mx_image_iter *it = iter_get(ptr);
  mx_r_check(mx_image_iter_reset(it, mx_r_seed()));
  return R_NilValue;
}

SEXP mx_r_image_iter_size(SEXP ptr) { return Rf_ScalarReal((double)mx_image_iter_size(iter_get(ptr))); }

/* The batch arrays of every slot: a list of list(data, label). */
SEXP mx_r_image_iter_slots(SEXP ptr) {
  mx_image_iter *it = iter_get(ptr);
  int n = mx_image_iter_slots(it);
  SEXP res = PROTECT(Rf_allocVector(VECSXP, n));
  for (int s = 0; s < n; s++) {
    mx_ndarray *d, *l;
    mx_r_check(mx_image_iter_slot(it, s, &d, &l));
    SET_VECTOR_ELT(res, s, Rf_allocVector(VECSXP, 2));
    SEXP pair = VECTOR_ELT(res, s);
    SET_VECTOR_ELT(pair, 1, mx_r_wrap_nd(l));  /* owned by R from here, even on failure */
    SET_VECTOR_ELT(pair, 0, mx_r_wrap_nd(d));
  }
  UNPROTECT(1);
  return res;
}

/* The next batch: c(slot, pad) (0-based slot), or NULL at the end. */
SEXP mx_r_image_iter_next(SEXP ptr) {
  mx_image_iter *it = iter_get(ptr);
  int slot, pad, has;
  mx_r_check(mx_image_iter_next(it, &slot, &pad, &has));
  if (!has) return R_NilValue;
  SEXP res = PROTECT(Rf_allocVector(INTSXP, 2));
  INTEGER(res)[0] = slot;
  INTEGER(res)[1] = pad;
  UNPROTECT(1);
  return res;
}

/* The records skipped in this epoch: list(count, record, offset, reason)
 * with the first few described. */
SEXP mx_r_image_iter_bad(SEXP ptr) {
  const mx_image_bad *b;
  int k;
  int64_t count = mx_image_iter_bad(iter_get(ptr), &b, &k);
  SEXP res = PROTECT(Rf_allocVector(VECSXP, 4));
  SET_VECTOR_ELT(res, 0, Rf_ScalarReal((double)count));
  SET_VECTOR_ELT(res, 1, Rf_allocVector(REALSXP, k));
  SET_VECTOR_ELT(res, 2, Rf_allocVector(REALSXP, k));
  SET_VECTOR_ELT(res, 3, Rf_allocVector(STRSXP, k));
  for (int i = 0; i < k; i++) {
    REAL(VECTOR_ELT(res, 1))[i] = (double)b[i].record;
    REAL(VECTOR_ELT(res, 2))[i] = (double)b[i].offset;
    SET_STRING_ELT(VECTOR_ELT(res, 3), i, Rf_mkChar(b[i].why));
  }
  UNPROTECT(1);
  return res;
}
