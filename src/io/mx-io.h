/*
 * mx-io.h -- data readers of the engine (plain C, no R headers).
 *
 *  - byte streams over plain or gzip-compressed files (stream.c),
 *  - MNIST idx images and labels (mnist.c),
 *  - batching helpers for in-memory iterators (batch.c),
 *  - RecordIO files and image records (recordio.c),
 *  - JPEG/PNG decoding and encoding (image.c), resizing and cropping
 *    (image-aug.c), packing image files into RecordIO (im2rec.c),
 *  - the threaded image record iterator (image-iter.c),
 *  - LibSVM text files as dense arrays (libsvm.c).
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

/* ---------------------------------------------------------------- RecordIO */

/* MXNet's (dmlc-core's) RecordIO framing, byte for byte: each part is the
 * u32 magic 0xced7230a, a u32 lrec = cflag << 29 | length (little-endian),
 * the payload and zero padding to 4 bytes.  The writer splits a payload at
 * every 4-byte-aligned occurrence of the magic (cflag 1 first, 2 middle, 3
 * last; 0 unsplit) and drops those 4 bytes; the reader puts them back.
 * Records of 2^29 bytes or more are refused (MXNet corrupts them). */
#define MX_RECORDIO_MAGIC 0xced7230aU
#define MX_RECORDIO_MAX ((1u << 29) - 1u)

typedef struct mx_recordio mx_recordio;

/* Open a file for reading (write = 0) or writing (write = 1, truncates).
 * A writer given idx_path also writes the index, one "key\toffset" line per
 * record written with a key. */
mx_status mx_recordio_open(const char *path, int write, const char *idx_path,
                           mx_recordio **out);
void mx_recordio_close(mx_recordio *r);   /* NULL is fine */
/* Append a record; its offset (of its first magic) in *offset when not
 * NULL, and an index line "key\toffset" when the writer has an index. */
mx_status mx_recordio_write(mx_recordio *r, const void *buf, size_t n,
                            int64_t key, uint64_t *offset);
/* The next record: *data (owned by the reader, valid until its next call)
 * and *n; *eof = 1 and n = 0 at the clean end of the file.  A bad magic,
 * a bad continuation flag or a record running past the end of the file fail
 * with MX_ERR_FORMAT naming the file, the record number and the offset. */
mx_status mx_recordio_read(mx_recordio *r, const uint8_t **data, size_t *n, int *eof);
/* Position the reader at a byte offset (from the index); record numbers in
 * messages then count from `recno`. */
mx_status mx_recordio_seek(mx_recordio *r, uint64_t offset, int64_t recno);
uint64_t mx_recordio_tell(const mx_recordio *r);
/* Offsets of every record of a reader's file (a scan of the headers from
 * the start, skipping payloads): a malloc'ed array in *offsets (mx_free). */
mx_status mx_recordio_scan(mx_recordio *r, uint64_t **offsets, int64_t *n);
/* The same, skipping damage: where a record cannot be walked (bad magic,
 * bad continuation flag, a length running past the end of the file) it
 * calls on_damage(ctx, byte offset, number of the next record, message),
 * then goes on at the next record head (mx_recordio_resync) after that
 * offset; a status other than MX_OK from on_damage stops the scan. */
typedef mx_status (*mx_recordio_damage_fn)(void *ctx, uint64_t offset, int64_t recno,
                                           const char *msg);
mx_status mx_recordio_scan_skip(mx_recordio *r, uint64_t **offsets, int64_t *n,
                                mx_recordio_damage_fn on_damage, void *ctx);

/* Thread-safe random access for many readers of one file: read the record
 * at `offset` into *buf (grown with mx_realloc as needed, capacity *cap);
 * `name` and `recno` only label messages.  *next is the offset after it.
 * With buf NULL only the headers are walked (*n = 0). */
typedef struct mx_recordio_src {
  int fd;
  uint64_t size;
  const char *name;
} mx_recordio_src;
mx_status mx_recordio_read_at(const mx_recordio_src *src, uint64_t offset, int64_t recno,
                              uint8_t **buf, size_t *cap, size_t *n, uint64_t *next);
/* The reader's source (for read_at from other threads). */
const mx_recordio_src *mx_recordio_source(const mx_recordio *r);
/* The first offset >= from, rounded up to 4, where a record head is: the
 * magic, continuation flag 0 or 1 and a length that fits in the file (the
 * writer escapes aligned magics inside payloads, so only damage can fake
 * one); the file's size when there is none. */
mx_status mx_recordio_resync(const mx_recordio_src *src, uint64_t from, uint64_t *found);

/* Read an index file: keys and offsets (malloc'ed, mx_free), *n lines.
 * Malformed lines fail with MX_ERR_FORMAT naming the file and line. */
mx_status mx_recordio_read_idx(const char *path, int64_t **keys, uint64_t **offsets,
                               int64_t *n);

/* ------------------------------------------------------- image records */

/* MXNet's IRHeader (struct format IfQQ, 24 bytes, little-endian): flag,
 * label, id, id2; then `flag` float labels when flag > 0, then the image. */
typedef struct mx_irheader {
  uint32_t flag;
  float label;
  uint64_t id;
  uint64_t id2;
} mx_irheader;
#define MX_IRHEADER_SIZE 24

/* Parse a record: header, the flag extra labels (*labels points into rec,
 * unaligned: read with memcpy) and the payload.  Fails with MX_ERR_FORMAT
 * when the record is shorter than its header says. */
mx_status mx_irheader_unpack(const uint8_t *rec, size_t n, mx_irheader *h,
                             const uint8_t **labels, const uint8_t **payload,
                             size_t *payload_n);
/* Write header, nlab labels (flag must equal nlab when nlab > 0) and
 * payload into a new mx_malloc'ed buffer. */
mx_status mx_irheader_pack(const mx_irheader *h, const float *labels, uint32_t nlab,
                           const uint8_t *payload, size_t payload_n, uint8_t **out,
                           size_t *out_n);

/* ---------------------------------------------------------------- images */

/* An 8-bit image, rows of w pixels of c interleaved channels (1 grey, 3 RGB:
 * red first), h rows; data from mx_malloc (mx_image_free). */
typedef struct mx_image {
  int w, h, c;
  uint8_t *data;
} mx_image;

enum { MX_IMAGE_UNKNOWN = 0, MX_IMAGE_JPEG = 1, MX_IMAGE_PNG = 2 };
/* The format from the first bytes (JPEG FF D8 FF, PNG's 8-byte signature). */
int mx_image_format(const uint8_t *p, size_t n);
void mx_image_free(mx_image *img);   /* frees data, zeroes the struct */
mx_status mx_image_alloc(mx_image *img, int w, int h, int c);

/* Decode a JPEG (libjpeg) or PNG (libpng) held in memory into `channels`
 * (1 or 3) channels.  min_short > 0 lets a JPEG be decoded at a reduced
 * scale M/8 (libjpeg's DCT scaling) as long as its short side stays >=
 * min_short (for a short-side resize that follows).  Corrupt or truncated
 * data fail with MX_ERR_FORMAT (never an exit or a print), a format not
 * built in with MX_ERR_UNSUPPORTED. */
mx_status mx_image_decode(const uint8_t *buf, size_t n, int channels, int min_short,
                          mx_image *out);
/* The common PNG without libpng (png-fast.c): 8-bit grey to 1 channel or
 * 8-bit RGB to 3, not interlaced, no chunk that changes colours, every
 * critical CRC right and the data inflating to exactly the image.  Returns
 * 1 with *out decoded, else 0 (out untouched, no error set): the caller
 * then decodes with libpng, mx_png_decode_libpng, which mx_image_decode
 * uses for every other PNG (both are here for tests and fuzzing). */
int mx_png_fast(const uint8_t *buf, size_t n, int channels, mx_image *out);
mx_status mx_png_decode_libpng(const uint8_t *buf, size_t n, int channels, mx_image *out);
/* Encode as JPEG (quality 1-100) or PNG (png != 0; zlib level 0-9) into an
 * mx_malloc'ed buffer. */
mx_status mx_image_encode(const mx_image *img, int png, int quality, uint8_t **buf,
                          size_t *n);

/* Bilinear resize to w x h (OpenCV's pixel-centre convention). */
mx_status mx_image_resize(const mx_image *src, int w, int h, mx_image *dst);
/* Only the window (x0, y0, cw x ch) of that resize (a crop of it, same
 * pixels, without computing the rest). */
mx_status mx_image_resize_window(const mx_image *src, int w, int h, int x0, int y0, int cw,
                                 int ch, mx_image *dst);
/* Resize so the short side is `size` (the other side scaled by integer
 * division, as MXNet does); a no-op copy when it already is. */
mx_status mx_image_resize_short(const mx_image *src, int size, mx_image *dst);
/* Copy the window (x, y, w, h), which must lie inside src. */
mx_status mx_image_crop(const mx_image *src, int x, int y, int w, int h, mx_image *dst);

/* The per-example pipeline of mx.io.ImageRecordIter, in MXNet's order:
 * decode, short-side resize, upscale when smaller than the output (keeping
 * the aspect ratio), crop (random or centre), brightness / contrast /
 * saturation (in a random order), HLS jitter, then one pass that mirrors
 * and normalises into C x H x W:
 *   out = (x - mean_c) * scale * (1 + U(-mrc, mrc)) / std_c + U(-mri, mri) * scale / std_c.
 * Every random draw comes from a generator seeded with `seed` alone, so an
 * example's augmentation does not depend on the thread that makes it. */
typedef struct mx_image_aug {
  int out_w, out_h, c;         /* data.shape; c = 1 or 3                  */
  int resize;                  /* short side; <= 0: off                   */
  int rand_crop, rand_mirror, mirror;
  float mean[3], std[3], scale;
  float max_random_contrast, max_random_illumination;
  float brightness, contrast, saturation;   /* jitter ranges (0: off)    */
  float random_h, random_s, random_l;       /* HLS offsets (OpenCV units: H 0-180, S, L 0-255) */
  int uint8_out;               /* uint8 output: no normalisation          */
} mx_image_aug;
/* Decode an image payload and write one example (out_h x out_w x c values
 * in C, H, W order, float32 or uint8) to out. */
mx_status mx_image_augment(const mx_image_aug *a, const uint8_t *buf, size_t n, uint64_t seed,
                           void *out);

/* ---------------------------------------------------------------- im2rec */

typedef struct mx_im2rec_opts {
  int resize;          /* short side after the crop; <= 0: keep          */
  int center_crop;     /* crop the centre square first                   */
  int quality;         /* JPEG 1-100, PNG level 0-9                      */
  int png;             /* encode as PNG instead of JPEG                  */
  int channels;        /* 3 colour, 1 grey                               */
  int pass_through;    /* store the files' bytes unchanged               */
  int pack_label;      /* labels after the header even when width is 1   */
  int threads;         /* >= 1                                           */
  int skip_bad;        /* skip unreadable or corrupt files (see below)   */
} mx_im2rec_opts;

/* The files skipped: their positions in `paths` (room for n), how many,
 * and the first one's reason. */
typedef struct mx_im2rec_skips {
  int64_t *index;
  int64_t n;
  char first_why[256];
} mx_im2rec_skips;

/* Pack n image files into a RecordIO file and its index: record k holds
 * an IRHeader (id ids[k], label width labels labels[k * width ...]) and the
 * image, re-encoded after crop and resize unless pass_through.  Files are
 * read and encoded by `threads` threads and written in order; an unreadable
 * or corrupt image fails with its path in the message, or, with
 * o->skip_bad, is left out (no record, no index line) and noted in *sk
 * (which may be NULL otherwise). */
mx_status mx_im2rec(const char *const *paths, const float *labels, int width,
                    const uint64_t *ids, int64_t n, const mx_im2rec_opts *o,
                    const char *rec_path, const char *idx_path, mx_im2rec_skips *sk);

/* ----------------------------------------------------- image record iterator */

/* mx.io.ImageRecordIter's engine: records of a .rec file (all of them, or
 * the offsets of an .idx), part part_index of num_parts contiguous parts,
 * decoded and augmented (mx_image_augment) by `threads` worker threads into
 * a queue of `prefetch` batches while the caller trains.  Labels come from
 * the list (by record id) when one is given, else from the record's labels
 * (flag must equal label_width), else from header.label (label_width 1).
 * The last batch of an epoch is completed with the first examples of the
 * epoch (round_batch) or with zeros; either way *pad counts them.
 * With skip_bad, a record that cannot be read, unpacked or decoded
 * (MX_ERR_FORMAT) is left out and counted instead of failing its batch (the
 * batches are filled from the next good records), and the scan of a file
 * without .idx skips structural damage by resynchronising at the next
 * record head (mx_recordio_scan_skip); labels that do not fit label_width
 * or the list stay errors. */
typedef struct mx_image_iter_opts {
  mx_image_aug aug;
  int batch_size, label_width;
  int shuffle, round_batch;
  int num_parts, part_index;
  int threads, prefetch;
  const uint64_t *list_ids;     /* n_list ids and n_list * label_width labels */
  const float *list_labels;
  int64_t n_list;
  int skip_bad;
} mx_image_iter_opts;

/* A skipped record: its number in the file (for damage found by the scan:
 * the number of the record after it), the byte offset of its head (of the
 * damage) and the reason. */
typedef struct mx_image_bad {
  int64_t record;
  uint64_t offset;
  char why[200];
} mx_image_bad;

typedef struct mx_image_iter mx_image_iter;
mx_status mx_image_iter_new(const char *rec_path, const char *idx_path,
                            const mx_image_iter_opts *o, mx_image_iter **out);
void mx_image_iter_free(mx_image_iter *it);   /* stops and joins the threads */
int64_t mx_image_iter_size(const mx_image_iter *it);   /* records of this part */
/* Start a new epoch (threads start at the first next): the shuffle order
 * and every example's augmentation derive from `seed` only. */
mx_status mx_image_iter_reset(mx_image_iter *it, uint64_t seed);
/* The batch arrays of slot s (0 <= s < mx_image_iter_slots): new views,
 * data (batch_size, c, out_h, out_w) float32 or uint8 (aug.uint8_out) and
 * label (batch_size) or (batch_size, label_width) float32.  With skip_bad
 * the last slot is the batch assembled around skipped records. */
int mx_image_iter_slots(const mx_image_iter *it);
mx_status mx_image_iter_slot(const mx_image_iter *it, int s, mx_ndarray **data, mx_ndarray **label);
/* The next batch: the slot holding it (valid, and not written, until the
 * next call or reset) and its padding; *has = 0 after the last batch.  A
 * record that cannot be read or decoded fails with a message naming the
 * file and the record, unless skip_bad leaves it out. */
mx_status mx_image_iter_next(mx_image_iter *it, int *slot, int *pad, int *has);
/* Records skipped in this epoch so far (skip_bad; the scan's damage counts
 * from the reset on); the first min(count, 10) described in *first. */
int64_t mx_image_iter_bad(const mx_image_iter *it, const mx_image_bad **first, int *nfirst);

/* ---------------------------------------------------------------- LibSVM */

/* A LibSVM text file (plain or gzip) as dense arrays: one example per
 * non-empty line, "label idx:value idx:value ..." with 0-based indices
 * below `width` (MXNet's LibSVMIter); absent features are 0.  Part
 * part_index of num_parts contiguous parts of the lines.  *data is float32
 * (n, width), *labels float32 (n) (the first number of each line).  A
 * malformed line or an index out of range fails with MX_ERR_FORMAT naming
 * the file (`name`) and the line. */
mx_status mx_libsvm_parse(const char *text, size_t len, const char *name, int64_t width,
                          int num_parts, int part_index, mx_ndarray **data, mx_ndarray **labels);
mx_status mx_libsvm_load(const char *path, int64_t width, int num_parts, int part_index,
                         mx_ndarray **data, mx_ndarray **labels);
/* The same as CSR components: out[0] values (float32, nnz), out[1] column
 * indices (int64, nnz, increasing within a row; a repeated index keeps its
 * last value), out[2] indptr (int64, n + 1), out[3] labels (float32, n). */
mx_status mx_libsvm_parse_csr(const char *text, size_t len, const char *name, int64_t width,
                              int num_parts, int part_index, mx_ndarray **out);
mx_status mx_libsvm_load_csr(const char *path, int64_t width, int num_parts, int part_index,
                             mx_ndarray **out);

#ifdef __cplusplus
}
#endif
#endif /* MX_IO_H */
