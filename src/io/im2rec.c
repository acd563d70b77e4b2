/*
 * im2rec.c -- pack image files into a RecordIO file and its .idx (the C of
 * im2rec()): chunks of files are read, decoded, cropped, resized and
 * encoded by worker threads, then written in order by the calling thread.
 */
#define _POSIX_C_SOURCE 200809L
#include "mx-io.h"
#include "../include/mx-internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct item {
  uint8_t *rec;
  size_t n;
  mx_status st;
  char msg[512];
} item;

typedef struct job {
  const char *const *paths;
  const float *labels;
  const uint64_t *ids;
  int width;
  const mx_im2rec_opts *o;
  int64_t first, count;
  item *items;
  int tid, nt;
} job;

static mx_status read_file(const char *path, uint8_t **buf, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return mx_error(MX_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (len < 0 || len >= (long)MX_RECORDIO_MAX || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return mx_error(MX_ERR_IO, "cannot read '%s': %s", path,
                    len < 0 ? "not a seekable file" : "larger than a record can be (512 MB)");
  }
  uint8_t *b = (uint8_t *)mx_malloc(len ? (size_t)len : 1);
  size_t got = b ? fread(b, 1, (size_t)len, f) : 0;
  fclose(f);
  if (!b || got != (size_t)len) {
    mx_free(b);
    return mx_error(b ? MX_ERR_IO : MX_ERR_NOMEM, "cannot read '%s'", path);
  }
  *buf = b;
  *n = got;
  return MX_OK;
}

/* Decode, crop the centre square, resize the short side, encode. */
static mx_status transcode(const mx_im2rec_opts *o, const uint8_t *in, size_t n, uint8_t **out,
                           size_t *out_n) {
  mx_image img, tmp;
  mx_status st = mx_image_decode(in, n, o->channels, o->center_crop ? 0 : o->resize, &img);
  if (st == MX_OK && o->center_crop) {
    int s = img.w < img.h ? img.w : img.h;
    st = mx_image_crop(&img, (img.w - s) / 2, (img.h - s) / 2, s, s, &tmp);
    mx_image_free(&img);
    img = tmp;
  }
  if (st == MX_OK && o->resize > 0 && (img.w < img.h ? img.w : img.h) != o->resize) {
    st = mx_image_resize_short(&img, o->resize, &tmp);
    mx_image_free(&img);
    img = tmp;
  }
  if (st == MX_OK) st = mx_image_encode(&img, o->png, o->quality, out, out_n);
  mx_image_free(&img);
  return st;
}

static void make_record(const job *j, int64_t k, item *it) {
  const mx_im2rec_opts *o = j->o;
  uint8_t *file = NULL, *img = NULL;
  size_t n = 0, img_n = 0;
  mx_status st = read_file(j->paths[k], &file, &n);
  if (st == MX_OK && !o->pass_through) {
    st = transcode(o, file, n, &img, &img_n);
    if (st != MX_OK) mx_error_prefix(st, "image '%s': ", j->paths[k]);
  }
  if (st == MX_OK) {
    mx_irheader h = {0, 0.0f, j->ids[k], 0};
    const float *lab = j->labels + (size_t)k * j->width;
    uint32_t nlab = 0;
    if (j->width > 1 || o->pack_label) {
      h.flag = nlab = (uint32_t)j->width;
    } else {
      h.label = lab[0];
    }
    st = o->pass_through ? mx_irheader_pack(&h, lab, nlab, file, n, &it->rec, &it->n)
                         : mx_irheader_pack(&h, lab, nlab, img, img_n, &it->rec, &it->n);
  }
  mx_free(file);
  mx_free(img);
  it->st = st;
  if (st != MX_OK) snprintf(it->msg, sizeof it->msg, "%s", mx_last_error());
}

static void *worker(void *arg) {
  job *j = (job *)arg;
  for (int64_t i = j->tid; i < j->count; i += j->nt) make_record(j, j->first + i, &j->items[i]);
  return NULL;
}

/* Run the jobs of one chunk on nt threads (the calling thread is one). */
static void run_chunk(job *jobs, int nt) {
  pthread_t th[64];
  int started = 0;
  for (int t = 1; t < nt; t++, started++)
    if (pthread_create(&th[t], NULL, worker, &jobs[t]) != 0) break;
  for (int t = started + 1; t < nt; t++) worker(&jobs[t]);   /* could not start: run here */
  worker(&jobs[0]);
  for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
}

/* Write item i of a chunk, or skip it (o->skip_bad: a file that cannot be
 * read or decoded) and note it. */
static mx_status put_item(mx_recordio *w, const mx_im2rec_opts *o, item *it, int64_t k, int64_t key,
                          mx_im2rec_skips *sk) {
  mx_status st = MX_OK;
  if (it->st == MX_OK) {
    st = mx_recordio_write(w, it->rec, it->n, key, NULL);
  } else if (o->skip_bad && (it->st == MX_ERR_IO || it->st == MX_ERR_FORMAT)) {
    if (sk->n == 0) snprintf(sk->first_why, sizeof sk->first_why, "%s", it->msg);
    sk->index[sk->n++] = k;
  } else {
    st = mx_error(it->st, "%s", it->msg);
  }
  return st;
}

mx_status mx_im2rec(const char *const *paths, const float *labels, int width, const uint64_t *ids,
                    int64_t n, const mx_im2rec_opts *o, const char *rec_path, const char *idx_path,
                    mx_im2rec_skips *sk) {
  if (o->skip_bad && !sk) return mx_error(MX_ERR_ARG, "im2rec: skipping needs a place for the skips");
  if (sk) sk->n = 0;
  if (width < 1) return mx_error(MX_ERR_ARG, "im2rec: label width must be at least 1");
  int nt = o->threads < 1 ? 1 : o->threads > 64 ? 64 : o->threads;
  int64_t chunk = 16 * (int64_t)nt;
  mx_recordio *w;
  mx_status st = mx_recordio_open(rec_path, 1, idx_path, &w);
  if (st != MX_OK) return st;
  item *items = (item *)mx_calloc((size_t)chunk, sizeof(item));
  if (!items) {
    mx_recordio_close(w);
    return mx_error(MX_ERR_NOMEM, "im2rec: out of memory");
  }
  job jobs[64];
  for (int64_t first = 0; st == MX_OK && first < n; first += chunk) {
    int64_t count = n - first < chunk ? n - first : chunk;
    for (int t = 0; t < nt; t++)
      jobs[t] = (job){paths, labels, ids, width, o, first, count, items, t, nt};
    run_chunk(jobs, nt);
    for (int64_t i = 0; i < count; i++) {
      if (st == MX_OK) st = put_item(w, o, &items[i], first + i, (int64_t)ids[first + i], sk);
      mx_free(items[i].rec);
      items[i].rec = NULL;
    }
    if (st == MX_OK) st = mx_abort_check();
  }
  mx_free(items);
  mx_recordio_close(w);
  return st;
}
