/*
 * recordio.c -- MXNet's RecordIO files (dmlc-core framing), their .idx
 * index files, and the image record header (IRHeader).  See mx-io.h.
 *
 * Readers use pread on a file descriptor, so many threads can read records
 * of one file at once (mx_recordio_read_at); every length is checked against
 * the file's size before anything is allocated for it.  With buf NULL,
 * mx_recordio_read_at only walks the headers (mx_recordio_scan).
 */
#define _POSIX_C_SOURCE 200809L
#include "mx-io.h"
#include "../include/mx-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct mx_recordio {
  mx_recordio_src src;   /* reader: fd >= 0 */
  FILE *out;             /* writer */
  FILE *idx;             /* writer's index, or NULL */
  char *path;
  uint64_t pos;
  int64_t recno;
  uint8_t *buf;
  size_t cap;
};

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static uint64_t get_u64(const uint8_t *p) { return get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static void put_u64(uint8_t *p, uint64_t v) {
  put_u32(p, (uint32_t)v);
  put_u32(p + 4, (uint32_t)(v >> 32));
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = (char *)mx_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

mx_status mx_recordio_open(const char *path, int write, const char *idx_path,
                           mx_recordio **out) {
  *out = NULL;
  if (!path || !*path) return mx_error(MX_ERR_ARG, "RecordIO: no file name");
  mx_recordio *r = (mx_recordio *)mx_calloc(1, sizeof *r);
  if (!r || !(r->path = dup_str(path))) {
    mx_free(r);
    return mx_error(MX_ERR_NOMEM, "RecordIO: out of memory");
  }
  r->src.fd = -1;
  r->src.name = r->path;
  if (write) {
    r->out = fopen(path, "wb");
    if (r->out && idx_path && *idx_path) r->idx = fopen(idx_path, "w");
    if (!r->out || (idx_path && *idx_path && !r->idx)) {
      int e = errno;
      const char *which = r->out ? idx_path : path;
      mx_recordio_close(r);
      return mx_error(MX_ERR_IO, "RecordIO: cannot create '%s': %s", which, strerror(e));
    }
  } else {
    struct stat st;
    r->src.fd = open(path, O_RDONLY);
    if (r->src.fd < 0 || fstat(r->src.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      int e = r->src.fd < 0 ? errno : EISDIR;
      mx_recordio_close(r);
      return mx_error(MX_ERR_IO, "RecordIO: cannot open '%s': %s", path, strerror(e));
    }
    r->src.size = (uint64_t)st.st_size;
  }
  *out = r;
  return MX_OK;
}

void mx_recordio_close(mx_recordio *r) {
  if (!r) return;
  if (r->src.fd >= 0) close(r->src.fd);
  if (r->out) fclose(r->out);
  if (r->idx) fclose(r->idx);
  mx_free(r->buf);
  mx_free(r->path);
  mx_free(r);
}

static mx_status put_bytes(mx_recordio *r, const void *p, size_t n) {
  if (n && fwrite(p, 1, n, r->out) != n)
    return mx_error(MX_ERR_IO, "RecordIO: writing '%s' failed: %s", r->path, strerror(errno));
  return MX_OK;
}

static mx_status put_part(mx_recordio *r, uint32_t cflag, const uint8_t *p, size_t n) {
  uint8_t head[8];
  put_u32(head, MX_RECORDIO_MAGIC);
  put_u32(head + 4, cflag << 29 | (uint32_t)n);
  mx_status st = put_bytes(r, head, 8);
  if (st == MX_OK) st = put_bytes(r, p, n);
  r->pos += 8 + n;
  return st;
}

mx_status mx_recordio_write(mx_recordio *r, const void *buf, size_t n, int64_t key,
                            uint64_t *offset) {
  if (!r || !r->out) return mx_error(MX_ERR_ARG, "RecordIO: the file is not open for writing");
  if (n > MX_RECORDIO_MAX)
    return mx_error(MX_ERR_ARG, "RecordIO '%s': a record of %zu bytes is too long (at most %u)",
                    r->path, n, MX_RECORDIO_MAX);
  const uint8_t *p = (const uint8_t *)buf;
  uint64_t start = r->pos;
  size_t done = 0;
  mx_status st = MX_OK;
  for (size_t i = 0; st == MX_OK && i + 4 <= n; i += 4) {
    if (get_u32(p + i) != MX_RECORDIO_MAGIC) continue;
    st = put_part(r, done == 0 ? 1u : 2u, p + done, i - done);
    done = i + 4;
  }
  if (st == MX_OK) st = put_part(r, done ? 3u : 0u, p + done, n - done);
  static const uint8_t zeros[4] = {0, 0, 0, 0};
  size_t pad = (4 - (n - done) % 4) % 4;
  if (st == MX_OK) st = put_bytes(r, zeros, pad);
  r->pos += pad;
  if (st == MX_OK && r->idx && key >= 0) {
    char line[64];
    int len = snprintf(line, sizeof line, "%lld\t%llu\n", (long long)key, (unsigned long long)start);
    if (fwrite(line, 1, (size_t)len, r->idx) != (size_t)len)
      st = mx_error(MX_ERR_IO, "RecordIO: writing the index of '%s' failed", r->path);
  }
  if (offset) *offset = start;
  r->recno++;
  return st;
}

static mx_status pread_all(const mx_recordio_src *s, void *p, size_t n, uint64_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(s->fd, (char *)p + got, n - got, (off_t)(off + got));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0)
      return mx_error(MX_ERR_IO, "RecordIO '%s': read failed at byte %llu: %s", s->name,
                      (unsigned long long)(off + got), k < 0 ? strerror(errno) : "end of file");
    got += (size_t)k;
  }
  return MX_OK;
}

static mx_status grow(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap) return MX_OK;
  size_t c = *cap ? *cap : 4096;
  while (c < need) c *= 2;
  uint8_t *b = (uint8_t *)mx_realloc(*buf, c);
  if (!b) return mx_error(MX_ERR_NOMEM, "RecordIO: out of memory for a record of %zu bytes", need);
  *buf = b;
  *cap = c;
  return MX_OK;
}

#define RECORD_ERR(s, recno, off, ...)                                                      \
  mx_error_prefix(mx_error(MX_ERR_FORMAT, __VA_ARGS__), "RecordIO file '%s', record %lld at byte %llu: ", \
                  (s)->name, (long long)(recno), (unsigned long long)(off))

mx_status mx_recordio_read_at(const mx_recordio_src *src, uint64_t offset, int64_t recno,
                              uint8_t **buf, size_t *cap, size_t *n, uint64_t *next) {
  size_t total = 0;
  uint64_t off = offset;
  *n = 0;
  for (int part = 0;; part++) {
    uint8_t head[8];
    if (off % 4 || off > src->size || src->size - off < 8)
      return RECORD_ERR(src, recno, off, "%s", off % 4 ? "offset is not a multiple of 4"
                        : "truncated (the file ends inside a record header)");
    mx_status st = pread_all(src, head, 8, off);
    if (st != MX_OK) return st;
    uint32_t magic = get_u32(head), lrec = get_u32(head + 4);
    uint32_t cflag = lrec >> 29, len = lrec & MX_RECORDIO_MAX;
    if (magic != MX_RECORDIO_MAGIC)
      return RECORD_ERR(src, recno, off, "bad magic number 0x%08x (expected 0x%08x)", magic,
                        MX_RECORDIO_MAGIC);
    if (cflag > 3 || (part == 0) != (cflag <= 1))
      return RECORD_ERR(src, recno, off, "bad continuation flag %u in part %d of the record",
                        cflag, part + 1);
    uint64_t padded = ((uint64_t)len + 3) & ~(uint64_t)3;
    if (src->size - off - 8 < padded)
      return RECORD_ERR(src, recno, off, "truncated: the record's length %u runs past the end "
                        "of the file (%llu bytes)", len, (unsigned long long)src->size);
    off += 8 + padded;
    if (!buf) {                 /* a scan: skip the payload */
      if (cflag == 0 || cflag == 3) break;
      continue;
    }
    size_t extra = part ? 4 : 0;
    if ((st = grow(buf, cap, total + extra + len + 1)) != MX_OK) return st;
    if (part) put_u32(*buf + total, MX_RECORDIO_MAGIC);
    total += extra;
    if (len && (st = pread_all(src, *buf + total, len, off - padded)) != MX_OK) return st;
    total += len;
    if (cflag == 0 || cflag == 3) break;
  }
  *n = total;
  if (next) *next = off;
  return MX_OK;
}

const mx_recordio_src *mx_recordio_source(const mx_recordio *r) { return &r->src; }

mx_status mx_recordio_read(mx_recordio *r, const uint8_t **data, size_t *n, int *eof) {
  *data = NULL;
  *n = 0;
  *eof = 0;
  if (!r || r->src.fd < 0) return mx_error(MX_ERR_ARG, "RecordIO: the file is not open for reading");
  if (r->pos == r->src.size) {
    *eof = 1;
    return MX_OK;
  }
  uint64_t next;
  mx_status st = mx_recordio_read_at(&r->src, r->pos, r->recno, &r->buf, &r->cap, n, &next);
  if (st != MX_OK) return st;
  r->pos = next;
  r->recno++;
  *data = r->buf;
  return MX_OK;
}

mx_status mx_recordio_seek(mx_recordio *r, uint64_t offset, int64_t recno) {
  if (!r || r->src.fd < 0) return mx_error(MX_ERR_ARG, "RecordIO: the file is not open for reading");
  if (offset > r->src.size || offset % 4)
    return mx_error(MX_ERR_ARG, "RecordIO '%s': cannot seek to byte %llu (file of %llu bytes)",
                    r->path, (unsigned long long)offset, (unsigned long long)r->src.size);
  r->pos = offset;
  r->recno = recno;
  return MX_OK;
}

uint64_t mx_recordio_tell(const mx_recordio *r) { return r->pos; }

/* Does a record start at `off`: the magic, then cflag 0 or 1 and a length
 * that fits in the file?  (An aligned magic inside a payload is escaped by
 * the writer, so outside damage only record heads pass.) */
static int record_head_at(const mx_recordio_src *src, const uint8_t *p, uint64_t off) {
  uint32_t lrec = get_u32(p + 4), len = lrec & MX_RECORDIO_MAX;
  return get_u32(p) == MX_RECORDIO_MAGIC && (lrec >> 29) <= 1 &&
         src->size - off - 8 >= (((uint64_t)len + 3) & ~(uint64_t)3);
}

mx_status mx_recordio_resync(const mx_recordio_src *src, uint64_t from, uint64_t *found) {
  uint8_t chunk[16384];
  uint64_t off = (from + 3) & ~(uint64_t)3;
  *found = src->size;
  while (off + 8 <= src->size) {
    size_t want = src->size - off < sizeof chunk ? (size_t)(src->size - off) : sizeof chunk;
    mx_status st = pread_all(src, chunk, want, off);
    if (st != MX_OK) return st;
    size_t i = 0;
    for (; i + 8 <= want; i += 4)
      if (record_head_at(src, chunk + i, off + i)) {
        *found = off + i;
        return MX_OK;
      }
    off += i;
  }
  return MX_OK;
}

static mx_status push_offset(uint64_t **o, size_t *cap, int64_t k, uint64_t off) {
  if ((size_t)k == *cap) {
    size_t c = *cap ? 2 * *cap : 1024;
    uint64_t *b = (uint64_t *)mx_realloc(*o, c * sizeof *b);
    if (!b) return mx_error(MX_ERR_NOMEM, "RecordIO: out of memory");
    *o = b;
    *cap = c;
  }
  (*o)[k] = off;
  return MX_OK;
}

mx_status mx_recordio_scan_skip(mx_recordio *r, uint64_t **offsets, int64_t *n,
                                mx_recordio_damage_fn on_damage, void *ctx) {
  *offsets = NULL;
  *n = 0;
  if (!r || r->src.fd < 0) return mx_error(MX_ERR_ARG, "RecordIO: the file is not open for reading");
  size_t cap = 0;
  int64_t k = 0;
  uint64_t *o = NULL;
  mx_status st = MX_OK;
  for (uint64_t off = 0; st == MX_OK && off < r->src.size;) {
    size_t len;
    uint64_t next;
    st = mx_recordio_read_at(&r->src, off, k, NULL, NULL, &len, &next);
    if (st == MX_OK) {
      st = push_offset(&o, &cap, k++, off);
      off = next;
    } else if (st == MX_ERR_FORMAT && on_damage) {
      st = on_damage(ctx, off, k, mx_last_error());
      if (st == MX_OK) st = mx_recordio_resync(&r->src, off + 4, &off);
    }
  }
  if (st != MX_OK) {
    mx_free(o);
    return st;
  }
  *offsets = o;
  *n = k;
  return MX_OK;
}

mx_status mx_recordio_scan(mx_recordio *r, uint64_t **offsets, int64_t *n) {
  return mx_recordio_scan_skip(r, offsets, n, NULL, NULL);
}

mx_status mx_recordio_read_idx(const char *path, int64_t **keys, uint64_t **offsets, int64_t *n) {
  *keys = NULL;
  *offsets = NULL;
  *n = 0;
  FILE *f = fopen(path, "r");
  if (!f) return mx_error(MX_ERR_IO, "RecordIO index: cannot open '%s': %s", path, strerror(errno));
  size_t cap = 0;
  int64_t k = 0, *ks = NULL;
  uint64_t *os = NULL;
  char line[256];
  mx_status st = MX_OK;
  while (st == MX_OK && fgets(line, sizeof line, f)) {
    if (line[0] == '\n' || line[0] == '\0') continue;
    char *e1, *e2;
    errno = 0;
    long long key = strtoll(line, &e1, 10);
    unsigned long long off = (*e1 == '\t' || *e1 == ' ') ? strtoull(e1 + 1, &e2, 10) : 0;
    if (e1 == line || (*e1 != '\t' && *e1 != ' ') || e2 == e1 + 1 || errno ||
        (*e2 != '\n' && *e2 != '\0' && *e2 != '\r') || e1[1] == '-') {
      st = mx_error(MX_ERR_FORMAT, "RecordIO index '%s', line %lld: expected \"key<TAB>offset\"",
                    path, (long long)k + 1);
      break;
    }
    if ((size_t)k == cap) {
      cap = cap ? 2 * cap : 1024;
      int64_t *a = (int64_t *)mx_realloc(ks, cap * sizeof *ks);
      if (a) ks = a;
      uint64_t *b = a ? (uint64_t *)mx_realloc(os, cap * sizeof *os) : NULL;
      if (b) os = b;
      if (!a || !b) st = mx_error(MX_ERR_NOMEM, "RecordIO index: out of memory");
    }
    if (st == MX_OK) {
      ks[k] = key;
      os[k++] = off;
    }
  }
  if (st == MX_OK && ferror(f)) st = mx_error(MX_ERR_IO, "RecordIO index: reading '%s' failed", path);
  fclose(f);
  if (st != MX_OK) {
    mx_free(ks);
    mx_free(os);
    return st;
  }
  *keys = ks;
  *offsets = os;
  *n = k;
  return MX_OK;
}

mx_status mx_irheader_unpack(const uint8_t *rec, size_t n, mx_irheader *h, const uint8_t **labels,
                             const uint8_t **payload, size_t *payload_n) {
  if (n < MX_IRHEADER_SIZE)
    return mx_error(MX_ERR_FORMAT, "image record of %zu bytes is shorter than its 24-byte header", n);
  h->flag = get_u32(rec);
  uint32_t lb = get_u32(rec + 4);
  memcpy(&h->label, &lb, 4);
  h->id = get_u64(rec + 8);
  h->id2 = get_u64(rec + 16);
  size_t nl = (size_t)h->flag * 4;
  if ((n - MX_IRHEADER_SIZE) / 4 < h->flag)
    return mx_error(MX_ERR_FORMAT, "image record: its header announces %u labels but the record "
                    "has %zu bytes", h->flag, n);
  *labels = rec + MX_IRHEADER_SIZE;
  *payload = rec + MX_IRHEADER_SIZE + nl;
  *payload_n = n - MX_IRHEADER_SIZE - nl;
  return MX_OK;
}

mx_status mx_irheader_pack(const mx_irheader *h, const float *labels, uint32_t nlab,
                           const uint8_t *payload, size_t payload_n, uint8_t **out, size_t *out_n) {
  *out = NULL;
  *out_n = 0;
  if (nlab && h->flag != nlab)
    return mx_error(MX_ERR_ARG, "image record: flag %u must equal the number of labels %u", h->flag,
                    nlab);
  size_t n = MX_IRHEADER_SIZE + (size_t)nlab * 4 + payload_n;
  uint8_t *b = (uint8_t *)mx_malloc(n ? n : 1);
  if (!b) return mx_error(MX_ERR_NOMEM, "image record: out of memory");
  uint32_t lb;
  memcpy(&lb, &h->label, 4);
  put_u32(b, h->flag);
  put_u32(b + 4, lb);
  put_u64(b + 8, h->id);
  put_u64(b + 16, h->id2);
  for (uint32_t i = 0; i < nlab; i++) {
    memcpy(&lb, labels + i, 4);
    put_u32(b + MX_IRHEADER_SIZE + 4 * i, lb);
  }
  if (payload_n) memcpy(b + MX_IRHEADER_SIZE + 4 * (size_t)nlab, payload, payload_n);
  *out = b;
  *out_n = n;
  return MX_OK;
}
