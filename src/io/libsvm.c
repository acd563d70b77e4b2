/*
 * libsvm.c -- LibSVM text files as dense arrays (mx.io.LibSVMIter).
 * See mx-io.h.  The text is parsed twice: once to count the lines, once to
 * fill the arrays of the selected part.
 */
#include "mx-io.h"
#include "../include/mx-internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Start of the next line after p (or end). */
static const char *next_line(const char *p, const char *end) {
  const char *q = (const char *)memchr(p, '\n', (size_t)(end - p));
  return q ? q + 1 : end;
}

static int line_empty(const char *p, const char *end) {
  while (p < end && is_blank(*p)) p++;
  return p == end || *p == '\n' || *p == '#';
}

/* A number at p (not past end): strtod on a NUL-terminated copy. */
static int parse_num(const char **p, const char *end, double *v) {
  char tmp[64];
  size_t n = 0;
  while (*p + n < end && n < sizeof tmp - 1 && !is_blank((*p)[n]) && (*p)[n] != '\n' &&
         (*p)[n] != ':')
    n++;
  if (n == 0 || n == sizeof tmp - 1) return 0;
  memcpy(tmp, *p, n);
  tmp[n] = '\0';
  char *e;
  errno = 0;
  *v = strtod(tmp, &e);
  if (e != tmp + n || !isfinite(*v)) return 0;
  *p += n;
  return 1;
}

static mx_status parse_line(const char *p, const char *end, const char *name, int64_t lineno,
                            int64_t width, float *row, float *label) {
  double v;
  while (p < end && is_blank(*p)) p++;
  if (!parse_num(&p, end, &v))
    return mx_error(MX_ERR_FORMAT, "LibSVM file '%s', line %lld: expected a label", name,
                    (long long)lineno);
  *label = (float)v;
  for (;;) {
    while (p < end && is_blank(*p)) p++;
    if (p == end || *p == '\n') return MX_OK;
    double idx;
    if (!parse_num(&p, end, &idx) || p == end || *p != ':' || idx != floor(idx)) break;
    p++;
    if (!parse_num(&p, end, &v)) break;
    if (idx < 0 || idx >= (double)width)
      return mx_error(MX_ERR_FORMAT, "LibSVM file '%s', line %lld: feature index %.0f is outside "
                      "[0, %lld) (data.shape)", name, (long long)lineno, idx, (long long)width);
    row[(int64_t)idx] = (float)v;
  }
  return mx_error(MX_ERR_FORMAT, "LibSVM file '%s', line %lld: expected index:value pairs", name,
                  (long long)lineno);
}

mx_status mx_libsvm_parse(const char *text, size_t len, const char *name, int64_t width,
                          int num_parts, int part_index, mx_ndarray **data, mx_ndarray **labels) {
  *data = *labels = NULL;
  if (width < 1 || num_parts < 1 || part_index < 0 || part_index >= num_parts)
    return mx_error(MX_ERR_ARG, "LibSVM: invalid width or parts");
  const char *end = text + len;
  int64_t n = 0;
  for (const char *p = text; p < end; p = next_line(p, end)) n += !line_empty(p, end);
  int64_t lo = n * part_index / num_parts, hi = n * (part_index + 1) / num_parts;
  if (hi <= lo)
    return mx_error(MX_ERR_FORMAT, "LibSVM file '%s' has %lld examples: part %d of %d is empty",
                    name, (long long)n, part_index, num_parts);
  mx_shape ds = {2, {hi - lo, width}}, ls = {1, {hi - lo}};
  mx_context cpu = {MX_CPU, 0};
  mx_status st = mx_ndarray_new_fill(&ds, MX_FLOAT32, cpu, 0.0, data);
  if (st == MX_OK) st = mx_ndarray_new(&ls, MX_FLOAT32, cpu, labels);
  float *d = st == MX_OK ? (float *)mx_ndarray_data(*data) : NULL;
  float *l = st == MX_OK ? (float *)mx_ndarray_data(*labels) : NULL;
  int64_t k = 0, lineno = 0;
  for (const char *p = text; st == MX_OK && p < end && k < hi; p = next_line(p, end)) {
    lineno++;
    if (line_empty(p, end)) continue;
    if (k >= lo) st = parse_line(p, end, name, lineno, width, d + (k - lo) * width, l + (k - lo));
    k++;
  }
  if (st != MX_OK) {
    mx_ndarray_free(*data);
    mx_ndarray_free(*labels);
    *data = *labels = NULL;
  }
  return st;
}

mx_status mx_libsvm_load(const char *path, int64_t width, int num_parts, int part_index,
                         mx_ndarray **data, mx_ndarray **labels) {
  *data = *labels = NULL;
  mx_io_stream *s;
  mx_status st = mx_io_stream_open(path, &s);
  if (st != MX_OK) return st;
  size_t cap = 1 << 20, len = 0, got = 0;
  char *buf = (char *)mx_malloc(cap);
  while (buf && st == MX_OK) {
    if (len == cap) {
      char *b = (char *)mx_realloc(buf, cap * 2);
      if (!b) break;
      buf = b;
      cap *= 2;
    }
    st = mx_io_stream_read(s, buf + len, cap - len, &got);
    len += got;
    if (got == 0) break;
  }
  mx_io_stream_close(s);
  if (st == MX_OK && (!buf || len == cap))
    st = mx_error(MX_ERR_NOMEM, "out of memory reading LibSVM file '%s'", path);
  if (st == MX_OK) st = mx_libsvm_parse(buf, len, path, width, num_parts, part_index, data, labels);
  mx_free(buf);
  return st;
}
