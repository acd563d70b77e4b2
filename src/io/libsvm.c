/*
 * libsvm.c -- LibSVM text files as dense arrays or CSR components
 * (mx.io.LibSVMIter).  See mx-io.h.  The text is parsed twice: once to count
 * the lines (and, for CSR, the pairs), once to fill the arrays of the
 * selected part.  One line parser serves both through a sink.
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

/* Where parse_line puts a line's pairs: a dense row (row != NULL), CSR
 * arrays (cols != NULL, appended at n), or nowhere (counting n only). */
typedef struct libsvm_sink {
  float *row;
  int64_t *cols;
  float *vals;
  int64_t n;
} libsvm_sink;

static void sink_put(libsvm_sink *s, int64_t idx, float v) {
  if (s->row) s->row[idx] = v;
  if (s->cols) {
    s->cols[s->n] = idx;
    s->vals[s->n] = v;
  }
  s->n++;
}

/* Sort the CSR pairs from `from` on by index (stable insertion sort: files
 * are nearly always sorted already); a repeated index keeps its last value,
 * as the dense rows do. */
static void sink_sort_row(libsvm_sink *s, int64_t from) {
  if (!s->cols) return;
  for (int64_t j = from + 1; j < s->n; j++) {
    int64_t c = s->cols[j];
    float v = s->vals[j];
    int64_t k = j;
    for (; k > from && s->cols[k - 1] > c; k--) {
      s->cols[k] = s->cols[k - 1];
      s->vals[k] = s->vals[k - 1];
    }
    s->cols[k] = c;
    s->vals[k] = v;
  }
  int64_t w = from;
  for (int64_t j = from; j < s->n; j++) {
    if (w > from && s->cols[w - 1] == s->cols[j]) w--;
    s->cols[w] = s->cols[j];
    s->vals[w++] = s->vals[j];
  }
  s->n = w;
}

static mx_status parse_line(const char *p, const char *end, const char *name, int64_t lineno,
                            int64_t width, libsvm_sink *sink, float *label) {
  double v;
  while (p < end && is_blank(*p)) p++;
  if (!parse_num(&p, end, &v))
    return mx_error(MX_ERR_FORMAT, "LibSVM file '%s', line %lld: expected a label", name,
                    (long long)lineno);
  if (label) *label = (float)v;
  int64_t from = sink->n;
  for (;;) {
    while (p < end && is_blank(*p)) p++;
    if (p == end || *p == '\n') {
      sink_sort_row(sink, from);
      return MX_OK;
    }
    double idx;
    if (!parse_num(&p, end, &idx) || p == end || *p != ':' || idx != floor(idx)) break;
    p++;
    if (!parse_num(&p, end, &v)) break;
    if (idx < 0 || idx >= (double)width)
      return mx_error(MX_ERR_FORMAT, "LibSVM file '%s', line %lld: feature index %.0f is outside "
                      "[0, %lld) (data.shape)", name, (long long)lineno, idx, (long long)width);
    sink_put(sink, (int64_t)idx, (float)v);
  }
  return mx_error(MX_ERR_FORMAT, "LibSVM file '%s', line %lld: expected index:value pairs", name,
                  (long long)lineno);
}

/* Lines [lo, hi) of the non-empty lines form the selected part. */
static mx_status part_range(const char *text, const char *end, const char *name, int64_t width,
                            int num_parts, int part_index, int64_t *lo, int64_t *hi) {
  if (width < 1 || num_parts < 1 || part_index < 0 || part_index >= num_parts)
    return mx_error(MX_ERR_ARG, "LibSVM: invalid width or parts");
  int64_t n = 0;
  for (const char *p = text; p < end; p = next_line(p, end)) n += !line_empty(p, end);
  *lo = n * part_index / num_parts;
  *hi = n * (part_index + 1) / num_parts;
  if (*hi <= *lo)
    return mx_error(MX_ERR_FORMAT, "LibSVM file '%s' has %lld examples: part %d of %d is empty",
                    name, (long long)n, part_index, num_parts);
  return MX_OK;
}

/* Parse the lines of [lo, hi): example k's pairs go to the dense row
 * d + k*width when d is set, else appended to the sink (indptr[k + 1] is
 * set to the pairs so far when indptr is set); labels to l when set. */
static mx_status parse_part(const char *text, const char *end, const char *name, int64_t width,
                            int64_t lo, int64_t hi, float *d, libsvm_sink *sink, int64_t *indptr,
                            float *l) {
  mx_status st = MX_OK;
  int64_t k = 0, lineno = 0;
  for (const char *p = text; st == MX_OK && p < end && k < hi; p = next_line(p, end)) {
    lineno++;
    if (line_empty(p, end)) continue;
    if (k >= lo) {
      libsvm_sink dense = {d ? d + (k - lo) * width : NULL, NULL, NULL, 0};
      st = parse_line(p, end, name, lineno, width, d ? &dense : sink, l ? l + (k - lo) : NULL);
      if (indptr) indptr[k - lo + 1] = sink->n;
    }
    k++;
  }
  return st;
}

mx_status mx_libsvm_parse(const char *text, size_t len, const char *name, int64_t width,
                          int num_parts, int part_index, mx_ndarray **data, mx_ndarray **labels) {
  *data = *labels = NULL;
  const char *end = text + len;
  int64_t lo, hi;
  mx_status st = part_range(text, end, name, width, num_parts, part_index, &lo, &hi);
  if (st != MX_OK) return st;
  mx_shape ds = {2, {hi - lo, width}}, ls = {1, {hi - lo}};
  mx_context cpu = {MX_CPU, 0};
  st = mx_ndarray_new_fill(&ds, MX_FLOAT32, cpu, 0.0, data);
  if (st == MX_OK) st = mx_ndarray_new(&ls, MX_FLOAT32, cpu, labels);
  if (st == MX_OK)
    st = parse_part(text, end, name, width, lo, hi, (float *)mx_ndarray_data(*data), NULL, NULL,
                    (float *)mx_ndarray_data(*labels));
  if (st != MX_OK) {
    mx_ndarray_free(*data);
    mx_ndarray_free(*labels);
    *data = *labels = NULL;
  }
  return st;
}

mx_status mx_libsvm_parse_csr(const char *text, size_t len, const char *name, int64_t width,
                              int num_parts, int part_index, mx_ndarray **out) {
  for (int k = 0; k < 4; k++) out[k] = NULL;
  const char *end = text + len;
  int64_t lo, hi;
  mx_status st = part_range(text, end, name, width, num_parts, part_index, &lo, &hi);
  if (st != MX_OK) return st;
  libsvm_sink count = {NULL, NULL, NULL, 0};
  st = parse_part(text, end, name, width, lo, hi, NULL, &count, NULL, NULL);
  if (st != MX_OK) return st;
  mx_shape ps = {1, {hi - lo + 1}}, ls = {1, {hi - lo}};
  mx_context cpu = {MX_CPU, 0};
  libsvm_sink sink = {NULL, (int64_t *)mx_malloc((size_t)(count.n + 1) * sizeof(int64_t)),
                      (float *)mx_malloc((size_t)(count.n + 1) * sizeof(float)), 0};
  if (!sink.cols || !sink.vals) st = mx_error(MX_ERR_NOMEM, "out of memory reading '%s'", name);
  if (st == MX_OK) st = mx_ndarray_new(&ps, MX_INT64, cpu, &out[2]);
  if (st == MX_OK) st = mx_ndarray_new(&ls, MX_FLOAT32, cpu, &out[3]);
  if (st == MX_OK) {
    int64_t *indptr = (int64_t *)mx_ndarray_data(out[2]);
    indptr[0] = 0;
    st = parse_part(text, end, name, width, lo, hi, NULL, &sink, indptr,
                    (float *)mx_ndarray_data(out[3]));
  }
  mx_shape vs = {1, {sink.n}};
  if (st == MX_OK) st = mx_ndarray_new(&vs, MX_FLOAT32, cpu, &out[0]);
  if (st == MX_OK) st = mx_ndarray_new(&vs, MX_INT64, cpu, &out[1]);
  if (st == MX_OK && sink.n > 0) {
    memcpy(mx_ndarray_data(out[0]), sink.vals, (size_t)sink.n * sizeof(float));
    memcpy(mx_ndarray_data(out[1]), sink.cols, (size_t)sink.n * sizeof(int64_t));
  }
  mx_free(sink.cols);
  mx_free(sink.vals);
  if (st != MX_OK)
    for (int k = 0; k < 4; k++) {
      mx_ndarray_free(out[k]);
      out[k] = NULL;
    }
  return st;
}

/* The whole (decompressed) file in a buffer the caller frees. */
static mx_status read_all(const char *path, char **text, size_t *size) {
  *text = NULL;
  *size = 0;
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
  if (st != MX_OK) {
    mx_free(buf);
    return st;
  }
  *text = buf;
  *size = len;
  return MX_OK;
}

mx_status mx_libsvm_load(const char *path, int64_t width, int num_parts, int part_index,
                         mx_ndarray **data, mx_ndarray **labels) {
  *data = *labels = NULL;
  char *buf;
  size_t len;
  mx_status st = read_all(path, &buf, &len);
  if (st == MX_OK) st = mx_libsvm_parse(buf, len, path, width, num_parts, part_index, data, labels);
  mx_free(buf);
  return st;
}

mx_status mx_libsvm_load_csr(const char *path, int64_t width, int num_parts, int part_index,
                             mx_ndarray **out) {
  for (int k = 0; k < 4; k++) out[k] = NULL;
  char *buf;
  size_t len;
  mx_status st = read_all(path, &buf, &len);
  if (st == MX_OK) st = mx_libsvm_parse_csr(buf, len, path, width, num_parts, part_index, out);
  mx_free(buf);
  return st;
}
