/*
 * protobuf.c -- a bounds-checked decoder of the protobuf wire format (no
 * protobuf library), enough for Caffe's .caffemodel / .binaryproto files.
 *
 * The wire format: a message is a sequence of (tag, value) pairs; the tag is
 * a varint field_number << 3 | wire_type; wire types 0 (varint), 1 (64-bit
 * little endian), 2 (length-delimited: varint length then bytes: strings,
 * sub-messages, packed repeated scalars) and 5 (32-bit).  Groups (3, 4) are
 * deprecated and rejected.  mx_pb_scan reads one message level; callers walk
 * the schema by scanning sub-messages (offset, length) in turn.
 */
#include "mx-io.h"
#include "../include/mx-internal.h"

#include <string.h>

/* Read a varint at *pos (at most 10 bytes); MX_ERR_FORMAT when it runs past
 * len or is longer than 64 bits. */
static mx_status read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v) {
  uint64_t x = 0;
  size_t start = *pos;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= len)
      return mx_error(MX_ERR_FORMAT, "protobuf data truncated inside a varint at byte %zu", start);
    uint8_t b = buf[(*pos)++];
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return MX_OK;
    }
  }
  return mx_error(MX_ERR_FORMAT, "protobuf varint longer than 10 bytes at byte %zu", start);
}

static uint64_t le_bytes(const uint8_t *p, int n) {
  uint64_t x = 0;
  for (int k = n - 1; k >= 0; k--) x = (x << 8) | p[k];
  return x;
}

/* Read the value of one field with wire type f->wire at *pos. */
static mx_status read_value(const uint8_t *buf, size_t len, size_t *pos, mx_pb_field *f) {
  f->offset = *pos;
  f->length = 0;
  f->value = 0;
  switch (f->wire) {
  case 0:
    return read_varint(buf, len, pos, &f->value);
  case 1:
  case 5: {
    size_t n = f->wire == 1 ? 8 : 4;
    if (len - *pos < n)
      return mx_error(MX_ERR_FORMAT, "protobuf field %u truncated: needs %zu bytes at byte %zu",
                      (unsigned)f->number, n, *pos);
    f->value = le_bytes(buf + *pos, (int)n);
    *pos += n;
    return MX_OK;
  }
  case 2: {
    uint64_t n;
    mx_status st = read_varint(buf, len, pos, &n);
    if (st != MX_OK) return st;
    if (n > (uint64_t)(len - *pos))
      return mx_error(MX_ERR_FORMAT,
                      "protobuf field %u claims %llu bytes at byte %zu, only %zu remain",
                      (unsigned)f->number, (unsigned long long)n, *pos, len - *pos);
    f->offset = *pos;
    f->length = (size_t)n;
    *pos += (size_t)n;
    return MX_OK;
  }
  default:
    return mx_error(MX_ERR_FORMAT, "protobuf wire type %d (field %u, byte %zu) is not supported",
                    f->wire, (unsigned)f->number, *pos);
  }
}

mx_status mx_pb_scan(const uint8_t *buf, size_t len, mx_pb_field **out, size_t *n) {
  *out = NULL;
  *n = 0;
  size_t cap = 0, pos = 0;
  mx_pb_field *fs = NULL;
  while (pos < len) {
    size_t at = pos;
    uint64_t tag;
    mx_status st = read_varint(buf, len, &pos, &tag);
    mx_pb_field f;
    f.number = (uint32_t)(tag >> 3);
    f.wire = (int)(tag & 7);
    if (st == MX_OK && (tag >> 3 == 0 || tag >> 3 > 536870911u))
      st = mx_error(MX_ERR_FORMAT, "protobuf field number %llu at byte %zu is invalid",
                    (unsigned long long)(tag >> 3), at);
    if (st == MX_OK) st = read_value(buf, len, &pos, &f);
    if (st == MX_OK && *n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      mx_pb_field *nf = (mx_pb_field *)mx_realloc(fs, ncap * sizeof(mx_pb_field));
      if (!nf) st = mx_error(MX_ERR_NOMEM, "out of memory decoding protobuf data");
      else { fs = nf; cap = ncap; }
    }
    if (st != MX_OK) {
      mx_free(fs);
      *n = 0;
      return st;
    }
    fs[(*n)++] = f;
  }
  *out = fs;
  return MX_OK;
}

mx_status mx_pb_varints(const uint8_t *buf, size_t len, int64_t *out, size_t *n) {
  size_t pos = 0, k = 0;
  while (pos < len) {
    uint64_t v;
    mx_status st = read_varint(buf, len, &pos, &v);
    if (st != MX_OK) return st;
    out[k++] = (int64_t)v;
  }
  *n = k;
  return MX_OK;
}
