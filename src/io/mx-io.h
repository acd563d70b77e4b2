/*
 * mx-io.h -- data readers of the engine (plain C, no R headers).
 *
 *  - byte streams over plain or gzip-compressed files (stream.c),
 *  - MNIST idx images and labels (mnist.c),
 *  - batching helpers for in-memory iterators (batch.c).
 */
#ifndef MX_IO_H
#define MX_IO_H

#include "../include/mx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- streams */

/* A read-only byte stream over a file.  Files that start with the gzip magic
 * (1f 8b) are decompressed on the fly through zlib; without zlib in the
 * build, opening one fails with MX_ERR_UNSUPPORTED and says so. */
typedef struct mx_io_stream mx_io_stream;

mx_status mx_io_stream_open(const char *path, mx_io_stream **out);
void mx_io_stream_close(mx_io_stream *s);   /* NULL is fine */
/* Read up to n bytes; *got < n only at the end of the data.  Read errors and
 * corrupted compressed data fail with MX_ERR_IO / MX_ERR_FORMAT. */
mx_status mx_io_stream_read(mx_io_stream *s, void *buf, size_t n, size_t *got);
/* Skip up to n bytes; *skipped < n only at the end of the data. */
mx_status mx_io_stream_skip(mx_io_stream *s, uint64_t n, uint64_t *skipped);
/* Bytes left to read in a plain file; -1 when unknown (gzip). */
int64_t mx_io_stream_remaining(const mx_io_stream *s);
int mx_io_stream_is_gzip(const mx_io_stream *s);

/* ---------------------------------------------------------------- MNIST */

typedef struct mx_mnist_opts {
  int shuffle;        /* permute the examples once, at load               */
  uint64_t seed;      /* seed of that permutation (Philox, not mt19937)   */
  int flat;           /* images as (n, rows*cols) instead of (n,1,rows,cols) */
  int num_parts;      /* >= 1                                              */
  int part_index;     /* 0 <= part_index < num_parts                       */
} mx_mnist_opts;

/* Load an idx image file (magic 2051, not checked; count, rows, cols;
 * unsigned bytes) and an idx label file (magic 2049; count; bytes), plain
 * or gzip-compressed.  Part part_index of num_parts is the contiguous range
 * [floor(count/parts*idx), floor(count/parts*(idx+1))).  Images are scaled
 * by 1/256; both outputs are float32 CPU arrays whose axis 0 is the example
 * (labels: shape (n,)).  Truncated or inconsistent files fail with
 * MX_ERR_FORMAT before any allocation the file cannot justify. */
mx_status mx_mnist_load(const char *image_path, const char *label_path,
                        const mx_mnist_opts *opts, mx_ndarray **images,
                        mx_ndarray **labels);

/* ---------------------------------------------------------------- batching */

/* dst[k, ...] = src[rows[k], ...] for k < n (axis 0 = examples); rows of dst
 * from n on are left untouched.  Same dtype and trailing shape, CPU only. */
mx_status mx_io_gather_rows(const mx_ndarray *src, const int64_t *rows,
                            int64_t n, mx_ndarray *dst);

/* The order permutation of MXNet R's arrayiter: identity, then for
 * i = n-1 .. 1 swap order[i] and order[floor(u[i] * (i+1))] (a Fisher-Yates
 * pass driven by n given uniforms in [0, 1)). */
void mx_io_shuffle_order(const double *u, int64_t n, int64_t *order);

/* ---------------------------------------------------------------- protobuf */

/* One field of a protobuf message (protobuf.c).  wire: 0 varint, 1 64-bit,
 * 2 length-delimited, 5 32-bit.  value: the varint or the fixed-width bits;
 * offset/length: the payload of a length-delimited field (offset is where
 * the value starts for the other types). */
typedef struct mx_pb_field {
  uint32_t number;
  int wire;
  uint64_t value;
  size_t offset;
  size_t length;
} mx_pb_field;

/* The fields of one message level of buf[0, len), in order, in a malloc'ed
 * array (mx_free).  Truncated data, bad varints, lengths past the end,
 * field number 0 and group wire types fail with MX_ERR_FORMAT (the message
 * gives the byte offset). */
mx_status mx_pb_scan(const uint8_t *buf, size_t len, mx_pb_field **out, size_t *n);
/* Packed varints of buf[0, len) into out (room for len values: each takes
 * at least one byte); *n is the count. */
mx_status mx_pb_varints(const uint8_t *buf, size_t len, int64_t *out, size_t *n);

/* ---------------------------------------------------------------- zip */

/* CRC-32 of buf[0, len) continuing from crc (0 to start), as zip stores it. */
uint32_t mx_crc32(const uint8_t *buf, size_t len, uint32_t crc);

#ifdef __cplusplus
}
#endif
#endif /* MX_IO_H */
