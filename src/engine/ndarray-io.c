/*
 * ndarray-io.c -- MXNet's binary NDArray list format (mx.nd.save, .params).
 *
 * Layout (little-endian; see docs/formats.md):
 *   u64 0x112 | u64 0 | u64 N | N records | u64 K (0 or N) | K x (u64 len, bytes)
 * Records written: V2 (magic 0xF993FAC9; dense, row_sparse or csr) for arrays
 * with at least one dimension and V3 (0xF993FACA, numpy semantics) for
 * 0-dimensional scalars.  A sparse record adds its storage shape before the
 * shape, its index arrays' types and shapes after the dtype, and their bytes
 * after the values (docs/sparse.md).
 * Records read: V3, V2, V1 (0xF993FAC8) and the pre-0.11 legacy layout whose
 * first u32 is ndim with u32 dims.  Every length is checked against the bytes
 * that remain before anything is allocated, so truncated or corrupted files
 * give an error, never a crash or a huge allocation.
 */
#include "../include/mx-internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <errno.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#define LIST_MAGIC 0x112ULL
#define REC_V1 0xF993FAC8u
#define REC_V2 0xF993FAC9u
#define REC_V3 0xF993FACAu

/* ------------------------------------------------------------- writing */

typedef struct sink {
  FILE *f;                 /* file sink, or                                 */
  unsigned char *buf;      /* growable memory sink                          */
  size_t len, cap;
  int failed;
} sink;

static void put(sink *s, const void *p, size_t n) {
  if (s->failed || n == 0) return;
  if (s->f) {
    if (fwrite(p, 1, n, s->f) != n) s->failed = 1;
    return;
  }
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < s->len + n) cap *= 2;
    unsigned char *nb = (unsigned char *)realloc(s->buf, cap);
    if (!nb) { s->failed = 1; return; }
    s->buf = nb;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
}

/* Explicit little-endian encoding (independent of the host byte order). */
static void put_u32(sink *s, uint32_t v) {
  unsigned char b[4];
  for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
  put(s, b, 4);
}
static void put_u64(sink *s, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
  put(s, b, 8);
}

static int host_little_endian(void) {
  uint16_t x = 1;
  unsigned char c;
  memcpy(&c, &x, 1);
  return c == 1;
}

static void put_shape(sink *s, const mx_shape *sh) {
  put_u32(s, (uint32_t)sh->ndim);
  for (int k = 0; k < sh->ndim; k++) put_u64(s, (uint64_t)sh->d[k]);
}

/* An array's bytes (device arrays are read back one at a time). */
static mx_status put_data(sink *s, const mx_ndarray *a) {
  if (a->ctx.dev_type == MX_CPU) {
    put(s, MX_PTR(a), mx_ndarray_nbytes(a));
    return MX_OK;
  }
  mx_ndarray *h;
  mx_status rc = mx_ndarray_copy(a, a->dtype, (mx_context){MX_CPU, 0}, &h);
  if (rc) return rc;
  put(s, MX_PTR(h), mx_ndarray_nbytes(h));
  mx_ndarray_free(h);
  return MX_OK;
}

static int sparse_naux(int stype) { return stype == 2 ? 2 : stype == 1 ? 1 : 0; }

static mx_status check_sparse(const mx_ndarray *a, const mx_nd_sparse *sp, int i) {
  int na = sparse_naux(sp->stype);
  if (sp->stype != 0 && !na) return mx_error(MX_ERR_ARG, "array %d: invalid storage type %d", i + 1, sp->stype);
  for (int k = 0; k < na; k++)
    if (!sp->aux[k] || sp->aux[k]->dtype != MX_INT64 || sp->aux[k]->shape.ndim != 1)
      return mx_error(MX_ERR_ARG, "array %d: sparse index arrays must be 1-D int64", i + 1);
  if (na && (sp->shape.ndim < 1 || a->shape.ndim < 1))
    return mx_error(MX_ERR_ARG, "array %d: a sparse array needs a shape", i + 1);
  return MX_OK;
}

static mx_status write_list(sink *s, mx_ndarray *const *arrays, const mx_nd_sparse *sparse,
                            const char *const *names, int n) {
  if (!host_little_endian())
    return mx_error(MX_ERR_UNSUPPORTED, "saving NDArrays needs a little-endian machine");
  for (int i = 0; i < n; i++) {
    if (!arrays[i]) return mx_error(MX_ERR_ARG, "array %d is missing", i + 1);
    mx_status rc = sparse ? check_sparse(arrays[i], &sparse[i], i) : MX_OK;
    if (rc) return rc;
  }
  put_u64(s, LIST_MAGIC);
  put_u64(s, 0);
  put_u64(s, (uint64_t)n);
  for (int i = 0; i < n; i++) {
    const mx_ndarray *a = arrays[i];
    const mx_nd_sparse *sp = sparse && sparse[i].stype ? &sparse[i] : NULL;
    put_u32(s, a->shape.ndim == 0 ? REC_V3 : REC_V2);
    put_u32(s, sp ? (uint32_t)sp->stype : 0);
    if (sp) put_shape(s, &a->shape);                 /* storage shape */
    put_shape(s, sp ? &sp->shape : &a->shape);
    put_u32(s, 1);                                   /* cpu */
    put_u32(s, 0);
    put_u32(s, (uint32_t)a->dtype);
    for (int k = 0; sp && k < sparse_naux(sp->stype); k++) {
      put_u32(s, MX_INT64);
      put_shape(s, &sp->aux[k]->shape);
    }
    mx_status rc = put_data(s, a);
    for (int k = 0; !rc && sp && k < sparse_naux(sp->stype); k++) rc = put_data(s, sp->aux[k]);
    if (rc) return rc;
  }
  if (names) {
    put_u64(s, (uint64_t)n);
    for (int i = 0; i < n; i++) {
      size_t l = names[i] ? strlen(names[i]) : 0;
      put_u64(s, (uint64_t)l);
      put(s, names[i], l);
    }
  } else {
    put_u64(s, 0);
  }
  return s->failed ? mx_error(MX_ERR_IO, "write failed (disk full or out of memory?)") : MX_OK;
}

mx_status mx_ndarray_save_buffer(mx_ndarray *const *arrays, const mx_nd_sparse *sparse,
                                 const char *const *names, int n, void **buf, size_t *len) {
  sink s = {NULL, NULL, 0, 0, 0};
  *buf = NULL;
  *len = 0;
  mx_status rc = write_list(&s, arrays, sparse, names, n);
  if (rc) {
    free(s.buf);
    return rc;
  }
  *buf = s.buf;
  *len = s.len;
  return MX_OK;
}

/* What replacing `path` must respect: an existing file's mode, and its
 * write permission (rename() would otherwise replace a read-only file, which
 * saveRDS() refuses).  *mode is -1 when there is no file yet. */
static mx_status check_target(const char *path, int *mode) {
  struct stat st;
  *mode = -1;
  if (stat(path, &st) != 0) return MX_OK;             /* a new file */
  if (S_ISDIR(st.st_mode)) return mx_error(MX_ERR_IO, "cannot write '%s': it is a directory", path);
  if (!S_ISREG(st.st_mode))
    return mx_error(MX_ERR_IO, "cannot write '%s': not a regular file", path);
#ifndef _WIN32
  if (access(path, W_OK) != 0)
    return mx_error(MX_ERR_IO, "cannot open '%s' for writing: %s", path, strerror(errno));
#endif
  *mode = (int)(st.st_mode & 07777);
  return MX_OK;
}

/* Write the list to `tmp` with the mode the target had. */
static mx_status write_file(const char *tmp, const char *path, int mode, mx_ndarray *const *arrays,
                            const mx_nd_sparse *sparse, const char *const *names, int n) {
  FILE *f = fopen(tmp, "wb");
  if (!f) return mx_error(MX_ERR_IO, "cannot open '%s' for writing: %s", path, strerror(errno));
  sink s = {f, NULL, 0, 0, 0};
  mx_status rc = write_list(&s, arrays, sparse, names, n);
  if (fclose(f) != 0 && rc == MX_OK) rc = mx_error(MX_ERR_IO, "cannot write '%s'", path);
  if (rc == MX_OK && mode >= 0 && chmod(tmp, (mode_t)mode) != 0)
    rc = mx_error(MX_ERR_IO, "cannot set the mode of '%s': %s", path, strerror(errno));
  return rc;
}

/* Write to `target` (the file itself) through a temporary beside it. */
static mx_status save_replacing(const char *target, const char *path, mx_ndarray *const *arrays,
                                const mx_nd_sparse *sparse, const char *const *names, int n) {
  int mode;
  mx_status rc = check_target(target, &mode);
  if (rc) return rc;
  size_t pl = strlen(target);
  char *tmp = (char *)malloc(pl + 16);
  if (!tmp) return mx_error(MX_ERR_NOMEM, "out of memory");
  snprintf(tmp, pl + 16, "%s.tmp-mxnet", target);
  rc = write_file(tmp, path, mode, arrays, sparse, names, n);
  if (rc == MX_OK) {
#ifdef _WIN32
    remove(target);
#endif
    if (rename(tmp, target) != 0) rc = mx_error(MX_ERR_IO, "cannot replace '%s'", path);
  }
  if (rc != MX_OK) remove(tmp);
  free(tmp);
  return rc;
}

mx_status mx_ndarray_save_file(const char *path, mx_ndarray *const *arrays, const mx_nd_sparse *sparse,
                               const char *const *names, int n) {
  /* write beside the target and rename, so a failure never destroys a file
   * that was already there; a symbolic link is written through (as saveRDS
   * does), not replaced by a file */
  char *real = NULL;
#ifndef _WIN32
  struct stat lst;
  if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) real = realpath(path, NULL);
#endif
  mx_status rc = save_replacing(real ? real : path, path, arrays, sparse, names, n);
  free(real);
  return rc;
}

/* ------------------------------------------------------------- reading */

typedef struct src {
  const unsigned char *p;
  size_t len, pos;
} src;

static mx_status need(src *r, size_t n, const char *what) {
  if (r->len - r->pos < n)
    return mx_error(MX_ERR_FORMAT, "file is truncated (while reading %s at byte %lu)",
                    what, (unsigned long)r->pos);
  return MX_OK;
}
static mx_status get_u32(src *r, uint32_t *v, const char *what) {
  mx_status rc = need(r, 4, what);
  if (rc) return rc;
  uint32_t x = 0;
  for (int i = 0; i < 4; i++) x |= (uint32_t)r->p[r->pos + i] << (8 * i);
  r->pos += 4;
  *v = x;
  return MX_OK;
}
static mx_status get_u64(src *r, uint64_t *v, const char *what) {
  mx_status rc = need(r, 8, what);
  if (rc) return rc;
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) x |= (uint64_t)r->p[r->pos + i] << (8 * i);
  r->pos += 8;
  *v = x;
  return MX_OK;
}

static const char *flag_name(int32_t f) {
  switch (f) {
    case 7: return "bool";
    case 8: return "int16";
    case 9: return "uint16";
    case 10: return "uint32";
    case 11: return "uint64";
    case 12: return "bfloat16";
    default: return "unknown";
  }
}

/* A V1-V3 shape: u32 ndim (V3: -1 means none), u64 dims.  *none: an empty
 * record, nothing follows. */
static mx_status get_shape(src *r, int idx, int v3, int64_t *d, int *ndim, int *none) {
  uint32_t nd;
  mx_status rc = get_u32(r, &nd, "the number of dimensions");
  if (rc) return rc;
  int32_t snd = (int32_t)nd;
  *none = 0;
  if (v3 && snd == -1) { *none = 1; snd = 0; }
  else if (!v3 && snd == 0) *none = 1;
  if (snd < 0 || snd > MX_MAX_DIM)
    return mx_error(MX_ERR_FORMAT, "array %d has an invalid number of dimensions (%d)", idx + 1, snd);
  *ndim = snd;
  for (int k = 0; k < snd; k++) {
    uint64_t v;
    if ((rc = get_u64(r, &v, "a dimension"))) return rc;
    if ((int64_t)v < 0) return mx_error(MX_ERR_FORMAT, "array %d has a negative dimension", idx + 1);
    d[k] = (int64_t)v;
  }
  return MX_OK;
}

/* The array of shape s and dtype whose bytes come next. */
static mx_status get_array(src *r, int idx, const mx_shape *s, int dtype, mx_ndarray **out) {
  int64_t count = mx_shape_size(s);
  size_t es = mx_dtype_size(dtype);
  if (count > 0 && (uint64_t)count > (r->len - r->pos) / es)
    return mx_error(MX_ERR_FORMAT, "file is truncated (array %d needs %.0f bytes of data, %lu remain)",
                    idx + 1, (double)count * (double)es, (unsigned long)(r->len - r->pos));
  size_t nbytes = (size_t)count * es;
  mx_status rc = mx_ndarray_new(s, dtype, (mx_context){MX_CPU, 0}, out);
  if (rc) return rc;
  if (nbytes) memcpy(MX_PTR(*out), r->p + r->pos, nbytes);
  r->pos += nbytes;
  return MX_OK;
}

static mx_status get_dtype(src *r, int idx, int *dtype) {
  uint32_t flag;
  mx_status rc = get_u32(r, &flag, "the dtype");
  if (rc) return rc;
  if (!mx_dtype_valid((int)(int32_t)flag))
    return mx_error((int32_t)flag >= 5 && (int32_t)flag <= 12 ? MX_ERR_UNSUPPORTED : MX_ERR_FORMAT,
                    "array %d has dtype flag %d (%s), which is not supported",
                    idx + 1, (int32_t)flag, flag_name((int32_t)flag));
  *dtype = (int)flag;
  return MX_OK;
}

/* row_sparse/csr: the index arrays' types and shapes, after the dtype. */
static mx_status get_aux_shapes(src *r, int idx, mx_nd_sparse *sp, mx_shape *as) {
  for (int k = 0; k < (sp->stype == 2 ? 2 : 1); k++) {
    int t, nd, none;
    int64_t d[MX_MAX_DIM];
    mx_status rc = get_dtype(r, idx, &t);
    if (!rc) rc = get_shape(r, idx, 0, d, &nd, &none);
    if (rc) return rc;
    if (t != MX_INT64 || nd != 1)
      return mx_error(MX_ERR_FORMAT, "array %d: sparse index arrays must be 1-D int64", idx + 1);
    if ((rc = mx_shape_make(&as[k], nd, d))) return mx_error_prefix(MX_ERR_FORMAT, "array %d: ", idx + 1);
  }
  return MX_OK;
}

static mx_status read_record(src *r, int idx, mx_ndarray **out, mx_nd_sparse *sp) {
  *out = NULL;
  uint32_t magic, stype = 0;
  mx_status rc = get_u32(r, &magic, "an array header");
  if (rc) return rc;
  int64_t d[MX_MAX_DIM], sd[MX_MAX_DIM];
  int ndim, snd = 0, none = 0, snone = 0;
  if (magic == REC_V2 || magic == REC_V3 || magic == REC_V1) {
    if (magic != REC_V1) {
      if ((rc = get_u32(r, &stype, "the storage type"))) return rc;
      if ((stype == 1 || stype == 2) && !sp)
        return mx_error(MX_ERR_UNSUPPORTED, "array %d uses sparse storage (%s), which is not supported here",
                        idx + 1, stype == 1 ? "row_sparse" : "csr");
      if (stype > 2)
        return mx_error(MX_ERR_FORMAT, "array %d has an invalid storage type (%d)", idx + 1,
                        (int32_t)stype);
      if (stype && (rc = get_shape(r, idx, 0, sd, &snd, &snone))) return rc;
    }
    if ((rc = get_shape(r, idx, magic == REC_V3, d, &ndim, &none))) return rc;
  } else {
    /* legacy: magic is ndim, dims are u32 */
    if (magic > MX_MAX_DIM)
      return magic < 0x10000
                 ? mx_error(MX_ERR_FORMAT, "array %d has %u dimensions; at most %d are supported",
                            idx + 1, magic, MX_MAX_DIM)
                 : mx_error(MX_ERR_FORMAT, "array %d: unrecognised record header 0x%08x", idx + 1, magic);
    ndim = (int)magic;
    none = ndim == 0;
    for (int k = 0; k < ndim; k++) {
      uint32_t v;
      if ((rc = get_u32(r, &v, "a dimension"))) return rc;
      d[k] = v;
    }
  }
  mx_shape s;
  if (none) {
    /* an empty (none) array: nothing follows */
    s.ndim = 1;
    s.d[0] = 0;
    return mx_ndarray_new(&s, MX_FLOAT32, (mx_context){MX_CPU, 0}, out);
  }
  if ((rc = mx_shape_make(&s, ndim, d))) return mx_error_prefix(MX_ERR_FORMAT, "array %d: ", idx + 1);
  uint32_t dev_type, dev_id;
  if ((rc = get_u32(r, &dev_type, "the device type"))) return rc;
  if ((rc = get_u32(r, &dev_id, "the device id"))) return rc;
  if (dev_type != 1 && dev_type != 2 && dev_type != 3 && dev_type != 5)
    return mx_error(MX_ERR_FORMAT, "array %d has an invalid device type (%u)", idx + 1, dev_type);
  int dtype;
  if ((rc = get_dtype(r, idx, &dtype))) return rc;
  if (!stype) return get_array(r, idx, &s, dtype, out);
  /* sparse: the stored values in the storage shape, then the index arrays */
  mx_shape ss, as[2];
  if (snone || (rc = mx_shape_make(&ss, snd, sd))) return mx_error(MX_ERR_FORMAT, "array %d: invalid storage shape", idx + 1);
  sp->stype = (int)stype;
  sp->shape = s;
  if ((rc = get_aux_shapes(r, idx, sp, as))) return rc;
  if ((rc = get_array(r, idx, &ss, dtype, out))) return rc;
  for (int k = 0; k < (stype == 2 ? 2 : 1) && !rc; k++) rc = get_array(r, idx, &as[k], MX_INT64, &sp->aux[k]);
  return rc;
}

void mx_nd_sparse_free(mx_nd_sparse *sparse, int n) {
  for (int i = 0; sparse && i < n; i++) {
    mx_ndarray_free(sparse[i].aux[0]);
    mx_ndarray_free(sparse[i].aux[1]);
  }
  free(sparse);
}

void mx_ndarray_list_free(mx_ndarray **arrays, char **names, int n) {
  for (int i = 0; i < n; i++) {
    if (arrays) mx_ndarray_free(arrays[i]);
    if (names) free(names[i]);
  }
  free(arrays);
  free(names);
}

mx_status mx_ndarray_load_buffer(const void *buf, size_t len, mx_ndarray ***arrays_out,
                                 mx_nd_sparse **sparse_out, char ***names_out, int *n_out) {
  *arrays_out = NULL;
  if (sparse_out) *sparse_out = NULL;
  *names_out = NULL;
  *n_out = 0;
  if (!host_little_endian())
    return mx_error(MX_ERR_UNSUPPORTED, "loading NDArrays needs a little-endian machine");
  src r = {(const unsigned char *)buf, len, 0};
  uint64_t magic, reserved, n;
  mx_status rc;
  if ((rc = get_u64(&r, &magic, "the file header"))) return rc;
  if (magic != LIST_MAGIC)
    return mx_error(MX_ERR_FORMAT, "not an MXNet NDArray file (bad magic number 0x%llx)",
                    (unsigned long long)magic);
  if ((rc = get_u64(&r, &reserved, "the file header"))) return rc;
  if ((rc = get_u64(&r, &n, "the array count"))) return rc;
  /* every record takes at least 4 bytes */
  if (n > (r.len - r.pos) / 4 || n > 100000000ULL)
    return mx_error(MX_ERR_FORMAT, "file is truncated or corrupt (it claims %llu arrays)",
                    (unsigned long long)n);
  mx_ndarray **arrays = (mx_ndarray **)calloc(n ? n : 1, sizeof *arrays);
  if (!arrays) return mx_error(MX_ERR_NOMEM, "out of memory");
  char **names = NULL;
  int count = (int)n, any_sparse = 0;
  mx_nd_sparse *sp = sparse_out ? (mx_nd_sparse *)calloc(n ? n : 1, sizeof *sp) : NULL;
  if (sparse_out && !sp) {
    free(arrays);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < count; i++) {
    if ((rc = read_record(&r, i, &arrays[i], sp ? &sp[i] : NULL))) goto fail;
    if (sp && sp[i].stype) any_sparse = 1;
  }
  uint64_t k;
  if ((rc = get_u64(&r, &k, "the name count"))) goto fail;
  if (k != 0 && k != n) {
    rc = mx_error(MX_ERR_FORMAT, "file has %llu names for %llu arrays",
                  (unsigned long long)k, (unsigned long long)n);
    goto fail;
  }
  if (k) {
    names = (char **)calloc(n, sizeof *names);
    if (!names) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
    for (int i = 0; i < count; i++) {
      uint64_t l;
      if ((rc = get_u64(&r, &l, "a name length"))) goto fail;
      if (l > r.len - r.pos) {
        rc = mx_error(MX_ERR_FORMAT, "file is truncated (name %d)", i + 1);
        goto fail;
      }
      if (memchr(r.p + r.pos, 0, (size_t)l)) {
        rc = mx_error(MX_ERR_FORMAT, "name %d contains a NUL byte", i + 1);
        goto fail;
      }
      names[i] = (char *)malloc((size_t)l + 1);
      if (!names[i]) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
      memcpy(names[i], r.p + r.pos, (size_t)l);
      names[i][l] = '\0';
      r.pos += (size_t)l;
    }
  }
  *arrays_out = arrays;
  *names_out = names;
  *n_out = count;
  if (any_sparse) *sparse_out = sp;
  else mx_nd_sparse_free(sp, count);
  return MX_OK;
fail:
  mx_ndarray_list_free(arrays, names, count);
  mx_nd_sparse_free(sp, count);
  return rc;
}

/* The size of a file that can be read whole: a regular file (a device such
 * as /dev/zero, a pipe or a directory could be endless, block or fail).
 * Checked before opening, so opening a pipe cannot block. */
static mx_status regular_size(const char *path, size_t *size) {
  struct stat st;
  if (stat(path, &st) != 0) return mx_error(MX_ERR_IO, "cannot open '%s' for reading", path);
  if (S_ISDIR(st.st_mode)) return mx_error(MX_ERR_IO, "'%s' is a directory", path);
  if (!S_ISREG(st.st_mode))
    return mx_error(MX_ERR_IO, "'%s' is not a regular file (a device, pipe or socket); "
                    "NDArray files are read whole", path);
  if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2)
    return mx_error(MX_ERR_IO, "'%s' is too large to read", path);
  *size = (size_t)st.st_size;
  return MX_OK;
}

/* Read at most `size` bytes of an open file into a malloc'ed buffer, after
 * checking that it starts like an NDArray file (so nothing big is allocated
 * for other files).  The parser then checks every length the file claims
 * against the bytes present. */
static mx_status read_whole(FILE *f, const char *path, size_t size, unsigned char **out,
                            size_t *len) {
  unsigned char head[8];
  size_t got = fread(head, 1, size < sizeof head ? size : sizeof head, f);
  if (ferror(f)) return mx_error(MX_ERR_IO, "cannot read '%s'", path);
  src h = {head, got, 0};
  uint64_t magic;
  if (get_u64(&h, &magic, "the file header"))
    return mx_error(MX_ERR_FORMAT, "'%s': not an MXNet NDArray file (%lu bytes)", path,
                    (unsigned long)got);
  if (magic != LIST_MAGIC)
    return mx_error(MX_ERR_FORMAT, "'%s': not an MXNet NDArray file (bad magic number 0x%llx)",
                    path, (unsigned long long)magic);
  unsigned char *buf = (unsigned char *)malloc(size);
  if (!buf) return mx_error(MX_ERR_NOMEM, "cannot allocate %.0f bytes to read '%s'", (double)size, path);
  memcpy(buf, head, got);
  size_t n = got + fread(buf + got, 1, size - got, f);
  if (ferror(f)) {
    free(buf);
    return mx_error(MX_ERR_IO, "cannot read '%s'", path);
  }
  *out = buf;
  *len = n;   /* a file that shrank meanwhile reads as truncated */
  return MX_OK;
}

mx_status mx_ndarray_load_file(const char *path, mx_ndarray ***arrays, mx_nd_sparse **sparse,
                               char ***names, int *n) {
  *arrays = NULL;
  if (sparse) *sparse = NULL;
  *names = NULL;
  *n = 0;
  size_t size;
  mx_status rc = regular_size(path, &size);
  if (rc) return rc;
  FILE *f = fopen(path, "rb");
  if (!f) return mx_error(MX_ERR_IO, "cannot open '%s' for reading", path);
  unsigned char *buf = NULL;
  size_t len = 0;
  rc = read_whole(f, path, size, &buf, &len);
  fclose(f);
  if (rc) return rc;
  rc = mx_ndarray_load_buffer(buf, len, arrays, sparse, names, n);
  free(buf);
  if (rc) return mx_error_prefix(rc, "'%s': ", path);
  return MX_OK;
}
