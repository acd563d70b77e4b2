/*
 * stream.c -- read-only byte streams over plain or gzip-compressed files.
 *
 * The kind is decided by the first two bytes (gzip magic 1f 8b), not by the
 * file name.  Plain files know how many bytes remain, so readers can check
 * the sizes a header announces against the file before allocating; gzip
 * streams cannot (the trailer's size is modulo 2^32 and multi-member files
 * exist), so readers must grow their buffers as data actually arrives.
 */
#include "mx-io.h"
#include "../include/mx-internal.h"
#include "../mx-config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if MX_HAVE_ZLIB
#include <zlib.h>
#endif

struct mx_io_stream {
  FILE *f;            /* plain files */
#if MX_HAVE_ZLIB
  gzFile gz;          /* gzip files  */
#endif
  int is_gzip;
  int64_t size;       /* plain: file length             */
  int64_t pos;        /* plain: bytes consumed so far   */
  char path[512];     /* for messages (truncated)       */
};

static void short_path(char *dst, size_t len, const char *path) {
  size_t n = strlen(path);
  if (n < len) {
    memcpy(dst, path, n + 1);
  } else {                       /* keep the end, which names the file */
    memcpy(dst, "...", 3);
    memcpy(dst + 3, path + n - (len - 4), len - 4);
    dst[len - 1] = '\0';
  }
}

mx_status mx_io_stream_open(const char *path, mx_io_stream **out) {
  *out = NULL;
  if (!path || !*path) return mx_error(MX_ERR_ARG, "empty file name");
  mx_io_stream *s = (mx_io_stream *)mx_calloc(1, sizeof *s);
  if (!s) return mx_error(MX_ERR_NOMEM, "out of memory opening '%s'", path);
  short_path(s->path, sizeof s->path, path);
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    mx_status st = mx_error(MX_ERR_IO, "cannot open file '%s': %s", s->path, strerror(e));
    mx_free(s);
    return st;
  }
  unsigned char magic[2] = {0, 0};
  size_t m = fread(magic, 1, 2, f);
  int bad = ferror(f);
  int gz = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (!bad && !gz) {
    if (fseek(f, 0, SEEK_END) != 0) bad = 1;
    long len = bad ? -1 : ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) bad = 1;
    s->size = len;
  }
  if (bad) {
    fclose(f);
    mx_status st = mx_error(MX_ERR_IO, "cannot read file '%s' (is it a directory?)", s->path);
    mx_free(s);
    return st;
  }
  if (!gz) {
    s->f = f;
    *out = s;
    return MX_OK;
  }
  fclose(f);
#if MX_HAVE_ZLIB
  s->gz = gzopen(path, "rb");
  if (!s->gz) {
    mx_status st = mx_error(MX_ERR_IO, "cannot open gzip file '%s'", s->path);
    mx_free(s);
    return st;
  }
  gzbuffer(s->gz, 1 << 17);
  s->is_gzip = 1;
  s->size = -1;
  *out = s;
  return MX_OK;
#else
  {
    mx_status st = mx_error(MX_ERR_UNSUPPORTED,
                            "file '%s' is gzip-compressed, but this build of mxnet has no zlib "
                            "(install zlib1g-dev and reinstall, or gunzip the file)", s->path);
    mx_free(s);
    return st;
  }
#endif
}

void mx_io_stream_close(mx_io_stream *s) {
  if (!s) return;
  if (s->f) fclose(s->f);
#if MX_HAVE_ZLIB
  if (s->gz) gzclose(s->gz);
#endif
  mx_free(s);
}

int mx_io_stream_is_gzip(const mx_io_stream *s) { return s->is_gzip; }

int64_t mx_io_stream_remaining(const mx_io_stream *s) {
  if (s->is_gzip) return -1;
  return s->size > s->pos ? s->size - s->pos : 0;
}

#if MX_HAVE_ZLIB
/* zlib's message without the "path: " prefix gzerror puts in front. */
static const char *gz_message(mx_io_stream *s, int *errnum) {
  const char *msg = gzerror(s->gz, errnum);
  if (!msg) return "zlib error";
  size_t l = strlen(s->path);
  if (strncmp(msg, s->path, l) == 0 && msg[l] == ':' && msg[l + 1] == ' ') msg += l + 2;
  return msg;
}
#endif

mx_status mx_io_stream_read(mx_io_stream *s, void *buf, size_t n, size_t *got) {
  *got = 0;
  if (!s->is_gzip) {
    size_t k = n ? fread(buf, 1, n, s->f) : 0;
    *got = k;
    s->pos += (int64_t)k;
    if (k < n && ferror(s->f))
      return mx_error(MX_ERR_IO, "error reading file '%s'", s->path);
    return MX_OK;
  }
#if MX_HAVE_ZLIB
  char *p = (char *)buf;
  while (*got < n) {
    size_t want = n - *got;
    if (want > (1u << 30)) want = 1u << 30;
    int k = gzread(s->gz, p + *got, (unsigned)want);
    if (k < 0) {
      int errnum = 0;
      const char *msg = gz_message(s, &errnum);
      if (errnum == Z_ERRNO)
        return mx_error(MX_ERR_IO, "error reading file '%s'", s->path);
      return mx_error(MX_ERR_FORMAT, "gzip file '%s' is corrupted or truncated (%s)", s->path, msg);
    }
    if (k == 0) {
      /* end of data: a truncated stream reports Z_BUF_ERROR */
      int errnum = 0;
      const char *msg = gz_message(s, &errnum);
      if (errnum != Z_OK)
        return mx_error(MX_ERR_FORMAT, "gzip file '%s' is corrupted or truncated (%s)", s->path, msg);
      break;
    }
    *got += (size_t)k;
  }
  return MX_OK;
#else
  (void)buf;
  (void)n;
  return mx_error(MX_ERR_INTERNAL, "gzip stream without zlib");
#endif
}

mx_status mx_io_stream_skip(mx_io_stream *s, uint64_t n, uint64_t *skipped) {
  *skipped = 0;
  if (!s->is_gzip) {
    int64_t left = mx_io_stream_remaining(s);
    uint64_t k = n < (uint64_t)left ? n : (uint64_t)left;
    int64_t to = s->pos + (int64_t)k;
    if (to > (int64_t)0x7fffffffL && sizeof(long) < 8)
      return mx_error(MX_ERR_IO, "file '%s' is too large to seek in", s->path);
    if (fseek(s->f, (long)to, SEEK_SET) != 0)
      return mx_error(MX_ERR_IO, "error seeking in file '%s'", s->path);
    s->pos = to;
    *skipped = k;
    return MX_OK;
  }
  /* gzip: decompress and discard */
  char tmp[1 << 14];
  while (*skipped < n) {
    uint64_t want = n - *skipped;
    if (want > sizeof tmp) want = sizeof tmp;
    size_t got;
    mx_status st = mx_io_stream_read(s, tmp, (size_t)want, &got);
    if (st != MX_OK) return st;
    *skipped += got;
    if (got < want) break;
  }
  return MX_OK;
}
