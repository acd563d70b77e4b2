/*
 * image-iter.c -- the engine of mx.io.ImageRecordIter: a queue of
 * `prefetch` batch slots filled by worker threads (pthreads; they never see
 * R) while the caller consumes batches in order.  See mx-io.h.
 *
 * Items are the example positions of an epoch, taken in order by the
 * workers; item i goes to row i % B of slot (i / B) % prefetch, and a worker
 * waits while that slot still holds a batch not yet released.  Slots are
 * NDArrays that the caller reads in place (no copy): the batch handed out
 * by mx_image_iter_next stays untouched until the next call.  Each example's
 * random draws come from a generator seeded by (epoch seed, position), so
 * the batches do not depend on the number of threads.
 *
 * Skipping bad records (o.skip_bad): a worker that cannot read, unpack or
 * decode a record marks its row bad instead of failing the batch.  The
 * caller walks the items in order with a cursor: a batch without bad rows
 * that starts at the cursor is handed out in place as above; otherwise the
 * good rows are copied in order into one extra batch (slot `prefetch`),
 * the bad ones are counted as the cursor passes them (so the count and the
 * report do not depend on the threads either), and at the end of the epoch
 * that batch is completed with the first good records of the epoch
 * (round_batch, decoded on the caller's thread) or zeros.  Structural
 * damage found by the scan of the file (no .idx) is skipped there, by
 * resynchronising at the next record head, and counted in every epoch.
 */
#define _POSIX_C_SOURCE 200809L
#include "mx-io.h"
#include "../include/mx-internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64
#define MAX_REPORT 10      /* bad records described per epoch */
#define MAX_DAMAGE 65536   /* damaged places a scan may skip  */
#define WHY_LEN ((int)sizeof(((mx_image_bad *)0)->why))

typedef struct slot {
  mx_ndarray *data_nd, *label_nd;   /* handed to the caller as views */
  uint8_t *data;
  float *label;
  int64_t done;       /* examples written                       */
  int64_t err_item;   /* first failing item, -1 if none          */
  mx_status err;
  char msg[512];
  int64_t nbad;       /* rows marked bad (skip_bad)              */
  uint8_t *bad;       /* per row, and the reason (WHY_LEN each)  */
  char *why;
} slot;

typedef struct id_label {
  uint64_t id;
  int64_t row;
} id_label;

struct mx_image_iter {
  mx_image_iter_opts o;
  mx_recordio *rec;
  uint64_t *offsets;        /* records of this part */
  int64_t n, first;         /* its size, and the file's number of its first */
  id_label *list;           /* sorted by id */
  float *list_labels;
  size_t example_bytes;
  slot *slots;
  int64_t *order;
  uint64_t seed;
  int64_t nbatch, next_item, total_items;
  int64_t cur, consumed;    /* the caller's next item, and batches released (slot free) */
  int held;                 /* slot of the batch handed out in place last, -1 if none */
  int nslots;               /* prefetch, + 1 assembling batch when skipping */
  mx_image_bad *damage;     /* structural damage of this part (scan) */
  int64_t ndamage;
  mx_image_bad report[MAX_REPORT];
  int64_t nbad;             /* skipped in this epoch */
  uint8_t *pad_buf;         /* the caller's record buffer for round_batch padding */
  size_t pad_cap;
  int running, stop, nthreads;
  pthread_t threads[MAX_THREADS];
  pthread_mutex_t mu;
  pthread_cond_t ready, space;
};

static uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static int cmp_id(const void *a, const void *b) {
  uint64_t x = ((const id_label *)a)->id, y = ((const id_label *)b)->id;
  return x < y ? -1 : x > y;
}

static void set_bad(mx_image_bad *b, int64_t record, uint64_t offset, const char *why) {
  b->record = record;
  b->offset = offset;
  snprintf(b->why, sizeof b->why, "%s", why);
}

/* mx_recordio_damage_fn of the scan: keep every damaged place. */
static mx_status note_damage(void *ctx, uint64_t offset, int64_t recno, const char *msg) {
  mx_image_iter *it = (mx_image_iter *)ctx;
  if (it->ndamage == MAX_DAMAGE)
    return mx_error(MX_ERR_FORMAT, "%s (and %d more damaged places: not a RecordIO file?)", msg,
                    MAX_DAMAGE);
  if (it->ndamage % 256 == 0) {
    mx_image_bad *d = (mx_image_bad *)mx_realloc(it->damage, (size_t)(it->ndamage + 256) * sizeof *d);
    if (!d) return mx_error(MX_ERR_NOMEM, "ImageRecordIter: out of memory");
    it->damage = d;
  }
  set_bad(&it->damage[it->ndamage++], recno, offset, msg);
  return MX_OK;
}

/* Keep the damage before records lo .. hi - 1 of n (after the last: last part). */
static void damage_of_part(mx_image_iter *it, int64_t lo, int64_t hi, int64_t n) {
  int64_t k = 0;
  for (int64_t i = 0; i < it->ndamage; i++) {
    int64_t r = it->damage[i].record;
    if ((r >= lo && r < hi) || (r == n && hi == n)) it->damage[k++] = it->damage[i];
  }
  it->ndamage = k;
}

static mx_status load_offsets(mx_image_iter *it, const char *rec_path, const char *idx_path) {
  uint64_t *all;
  int64_t n;
  mx_status st;
  if (idx_path && *idx_path) {
    int64_t *keys;
    st = mx_recordio_read_idx(idx_path, &keys, &all, &n);
    if (st == MX_OK) mx_free(keys);
  } else {
    st = mx_recordio_scan_skip(it->rec, &all, &n, it->o.skip_bad ? note_damage : NULL, it);
  }
  if (st != MX_OK) return st;
  int64_t lo = n * it->o.part_index / it->o.num_parts;
  int64_t hi = n * (it->o.part_index + 1) / it->o.num_parts;
  damage_of_part(it, lo, hi, n);
  it->n = hi - lo;
  it->first = lo;
  if (it->n <= 0) {
    mx_free(all);
    if (it->ndamage) return mx_error(MX_ERR_FORMAT, "ImageRecordIter: part %d of '%s' has no "
                                     "readable record: %s", it->o.part_index, rec_path, it->damage[0].why);
    return mx_error(MX_ERR_ARG, "ImageRecordIter: '%s' has %lld records: part %d of %d is empty",
                    rec_path, (long long)n, it->o.part_index, it->o.num_parts);
  }
  memmove(all, all + lo, (size_t)it->n * sizeof *all);
  it->offsets = all;
  return MX_OK;
}

static mx_status load_list(mx_image_iter *it) {
  int64_t n = it->o.n_list;
  int w = it->o.label_width;
  it->list = (id_label *)mx_malloc((size_t)n * sizeof(id_label));
  it->list_labels = (float *)mx_malloc((size_t)n * w * sizeof(float));
  if (!it->list || !it->list_labels) return mx_error(MX_ERR_NOMEM, "ImageRecordIter: out of memory");
  for (int64_t i = 0; i < n; i++) it->list[i] = (id_label){it->o.list_ids[i], i};
  memcpy(it->list_labels, it->o.list_labels, (size_t)n * w * sizeof(float));
  qsort(it->list, (size_t)n, sizeof(id_label), cmp_id);
  it->o.list_ids = NULL;
  it->o.list_labels = NULL;
  return MX_OK;
}

/* A batch's arrays, and its bad-row marks when skipping. */
static mx_status slot_new(mx_image_iter *it, slot *sl) {
  const mx_image_aug *a = &it->o.aug;
  int B = it->o.batch_size;
  mx_shape ds = {4, {B, a->c, a->out_h, a->out_w}};
  mx_shape ls = {it->o.label_width == 1 ? 1 : 2, {B, it->o.label_width}};
  mx_context cpu = {MX_CPU, 0};
  mx_status st = mx_ndarray_new_fill(&ds, a->uint8_out ? MX_UINT8 : MX_FLOAT32, cpu, 0.0, &sl->data_nd);
  if (st == MX_OK) st = mx_ndarray_new_fill(&ls, MX_FLOAT32, cpu, 0.0, &sl->label_nd);
  if (st != MX_OK) return st;
  sl->data = (uint8_t *)mx_ndarray_data(sl->data_nd);
  sl->label = (float *)mx_ndarray_data(sl->label_nd);
  if (!it->o.skip_bad) return MX_OK;
  sl->bad = (uint8_t *)mx_calloc((size_t)B, 1);
  sl->why = (char *)mx_malloc((size_t)B * WHY_LEN);
  if (!sl->bad || !sl->why) return mx_error(MX_ERR_NOMEM, "ImageRecordIter: out of memory");
  return MX_OK;
}

mx_status mx_image_iter_new(const char *rec_path, const char *idx_path, const mx_image_iter_opts *o,
                            mx_image_iter **out) {
  *out = NULL;
  const mx_image_aug *a = &o->aug;
  if (o->batch_size < 1 || o->label_width < 1 || o->num_parts < 1 || o->part_index < 0 ||
      o->part_index >= o->num_parts || a->out_w < 1 || a->out_h < 1 || (a->c != 1 && a->c != 3) ||
      (int64_t)a->out_w * a->out_h > (1 << 26))
    return mx_error(MX_ERR_ARG, "ImageRecordIter: invalid batch size, label width, parts or data shape");
  mx_image_iter *it = (mx_image_iter *)mx_calloc(1, sizeof *it);
  if (!it) return mx_error(MX_ERR_NOMEM, "ImageRecordIter: out of memory");
  it->o = *o;
  it->o.threads = o->threads < 1 ? 1 : o->threads > MAX_THREADS ? MAX_THREADS : o->threads;
  it->o.prefetch = (o->prefetch < 1 ? 1 : o->prefetch) + 1;   /* + the one the caller holds */
  pthread_mutex_init(&it->mu, NULL);
  pthread_cond_init(&it->ready, NULL);
  pthread_cond_init(&it->space, NULL);
  it->example_bytes = (size_t)a->out_w * a->out_h * a->c * (a->uint8_out ? 1 : sizeof(float));
  mx_status st = mx_recordio_open(rec_path, 0, NULL, &it->rec);
  if (st == MX_OK) st = load_offsets(it, rec_path, idx_path);
  if (st == MX_OK && o->n_list > 0) st = load_list(it);
  it->nslots = it->o.prefetch + (o->skip_bad != 0);
  it->slots = st == MX_OK ? (slot *)mx_calloc((size_t)it->nslots, sizeof(slot)) : NULL;
  it->order = it->slots ? (int64_t *)mx_malloc((size_t)it->n * sizeof(int64_t)) : NULL;
  for (int s = 0; st == MX_OK && it->order && s < it->nslots; s++) st = slot_new(it, &it->slots[s]);
  if (st == MX_OK && !it->order)
    st = mx_error(MX_ERR_NOMEM, "ImageRecordIter: out of memory for %d batches of %d examples",
                  it->o.prefetch, o->batch_size);
  if (st == MX_OK) st = mx_image_iter_reset(it, 0);
  if (st != MX_OK) {
    mx_image_iter_free(it);
    return st;
  }
  *out = it;
  return MX_OK;
}

int64_t mx_image_iter_size(const mx_image_iter *it) { return it->n; }

/* The labels of one record into lab[0 .. label_width). */
static mx_status record_labels(const mx_image_iter *it, const mx_irheader *h, const uint8_t *extra,
                               float *lab) {
  int w = it->o.label_width;
  if (it->list) {
    id_label key = {h->id, 0};
    const id_label *f = (const id_label *)bsearch(&key, it->list, (size_t)it->o.n_list,
                                                  sizeof key, cmp_id);
    if (!f) return mx_error(MX_ERR_FORMAT, "its id %llu is not in path.imglist", (unsigned long long)h->id);
    memcpy(lab, it->list_labels + (size_t)f->row * w, sizeof(float) * w);
  } else if (h->flag > 0) {
    if (h->flag != (uint32_t)w)
      return mx_error(MX_ERR_FORMAT, "it has %u labels but label.width is %d", h->flag, w);
    memcpy(lab, extra, sizeof(float) * w);
  } else {
    if (w != 1)
      return mx_error(MX_ERR_FORMAT, "it has one label but label.width is %d (give path.imglist)", w);
    lab[0] = h->label;
  }
  return MX_OK;
}

/* Example `item` of the epoch into dst and lab.  On failure *skippable says
 * whether the record itself is bad (cannot be read, unpacked or decoded:
 * MX_ERR_FORMAT), and *id is its id when the header was read. */
static mx_status make_example(mx_image_iter *it, int64_t item, uint8_t **buf, size_t *cap,
                              uint8_t *dst, float *lab, int *skippable, uint64_t *id) {
  *skippable = 0;
  *id = 0;
  if (item >= it->n && !it->o.round_batch) {
    memset(dst, 0, it->example_bytes);
    memset(lab, 0, sizeof(float) * it->o.label_width);
    return MX_OK;
  }
  int64_t rec = it->order[item % it->n];
  size_t len;
  const mx_recordio_src *src = mx_recordio_source(it->rec);
  mx_status st = mx_recordio_read_at(src, it->offsets[rec], it->first + rec, buf, cap, &len, NULL);
  mx_irheader h = {0, 0.0f, 0, 0};
  const uint8_t *extra, *img;
  size_t img_n;
  if (st == MX_OK) st = mx_irheader_unpack(*buf, len, &h, &extra, &img, &img_n);
  *id = h.id;
  if (st == MX_OK) {
    st = record_labels(it, &h, extra, lab);
    if (st != MX_OK) return st;   /* a list or label.width that does not fit: not skipped */
    st = mx_image_augment(&it->o.aug, img, img_n, mix64(it->seed ^ mix64((uint64_t)item)), dst);
  }
  *skippable = st == MX_ERR_FORMAT;
  return st;
}

/* Name the file and record in the message of a failed item. */
static mx_status example_error(const mx_image_iter *it, mx_status st, int64_t item, uint64_t id) {
  return mx_error_prefix(st, "ImageRecordIter: file '%s', record %lld (id %llu): ",
                         mx_recordio_source(it->rec)->name,
                         (long long)(it->first + it->order[item % it->n]), (unsigned long long)id);
}

/* Record the outcome of item (row `row` of s); called with the lock held. */
static void item_done(mx_image_iter *it, slot *s, int64_t item, mx_status st, int skippable,
                      uint64_t id) {
  int64_t row = item % it->o.batch_size;
  if (st != MX_OK && skippable && it->o.skip_bad) {
    s->bad[row] = 1;
    s->nbad++;
    snprintf(s->why + row * WHY_LEN, (size_t)WHY_LEN, "%s", mx_last_error());
  } else if (st != MX_OK && (s->err_item < 0 || item < s->err_item)) {
    s->err_item = item;
    s->err = example_error(it, st, item, id);
    snprintf(s->msg, sizeof s->msg, "%s", mx_last_error());
  }
  if (++s->done == it->o.batch_size) pthread_cond_broadcast(&it->ready);
}

static void *worker(void *arg) {
  mx_image_iter *it = (mx_image_iter *)arg;
  uint8_t *buf = NULL;
  size_t cap = 0;
  int64_t B = it->o.batch_size, P = it->o.prefetch;
  pthread_mutex_lock(&it->mu);
  while (!it->stop && it->next_item < it->total_items) {
    int64_t item = it->next_item, b = item / B, row = item % B;
    if (b >= it->consumed + P) {
      pthread_cond_wait(&it->space, &it->mu);
      continue;
    }
    if (b > it->consumed + 1 && mx_compute_busy()) {
      /* The consumer holds batch `consumed` and next takes consumed + 1:
       * this one is for later, so leave the cores to the parallel op that
       * runs now (see mx_compute_begin).  Items of the next batch are made
       * at once; 10 ms bounds the wait, so a stop is seen soon. */
      pthread_mutex_unlock(&it->mu);
      mx_compute_wait(10);
      pthread_mutex_lock(&it->mu);
      continue;
    }
    it->next_item++;
    slot *s = &it->slots[b % P];
    pthread_mutex_unlock(&it->mu);
    int skippable;
    uint64_t id;
    mx_status st = make_example(it, item, &buf, &cap, s->data + it->example_bytes * row,
                                s->label + (size_t)it->o.label_width * row, &skippable, &id);
    pthread_mutex_lock(&it->mu);
    item_done(it, s, item, st, skippable, id);
  }
  pthread_mutex_unlock(&it->mu);
  mx_free(buf);
  return NULL;
}

static void stop_threads(mx_image_iter *it) {
  pthread_mutex_lock(&it->mu);
  it->stop = 1;
  pthread_cond_broadcast(&it->space);
  pthread_cond_broadcast(&it->ready);
  pthread_mutex_unlock(&it->mu);
  for (int t = 0; t < it->nthreads; t++) pthread_join(it->threads[t], NULL);
  it->nthreads = 0;
  it->running = 0;
}

void mx_image_iter_free(mx_image_iter *it) {
  if (!it) return;
  stop_threads(it);
  for (int s = 0; it->slots && s < it->nslots; s++) {
    mx_ndarray_free(it->slots[s].data_nd);
    mx_ndarray_free(it->slots[s].label_nd);
    mx_free(it->slots[s].bad);
    mx_free(it->slots[s].why);
  }
  mx_free(it->slots);
  mx_free(it->order);
  mx_free(it->offsets);
  mx_free(it->list);
  mx_free(it->list_labels);
  mx_free(it->damage);
  mx_free(it->pad_buf);
  mx_recordio_close(it->rec);
  pthread_mutex_destroy(&it->mu);
  pthread_cond_destroy(&it->ready);
  pthread_cond_destroy(&it->space);
  mx_free(it);
}

/* Empty a slot for its next batch. */
static void slot_clear(const mx_image_iter *it, slot *s) {
  s->done = 0;
  s->err = MX_OK;
  s->err_item = -1;
  if (s->bad && s->nbad) memset(s->bad, 0, (size_t)it->o.batch_size);
  s->nbad = 0;
}

mx_status mx_image_iter_reset(mx_image_iter *it, uint64_t seed) {
  stop_threads(it);
  it->seed = seed;
  it->stop = 0;
  int64_t B = it->o.batch_size;
  it->nbatch = (it->n + B - 1) / B;
  it->total_items = it->nbatch * B;
  it->next_item = it->consumed = it->cur = 0;
  it->held = -1;
  for (int s = 0; s < it->nslots; s++) slot_clear(it, &it->slots[s]);
  it->nbad = it->ndamage;   /* the scan's skips count in every epoch */
  for (int64_t i = 0; i < it->ndamage && i < MAX_REPORT; i++) it->report[i] = it->damage[i];
  if (!it->o.shuffle) {
    for (int64_t i = 0; i < it->n; i++) it->order[i] = i;
    return MX_OK;
  }
  double *u = (double *)mx_malloc((size_t)it->n * sizeof(double));
  if (!u) return mx_error(MX_ERR_NOMEM, "ImageRecordIter: out of memory");
  mx_rng r;
  mx_rng_init(&r, mix64(seed ^ 0x5348554646ULL));
  mx_rng_uniform_f64(&r, u, it->n, 0.0, 1.0);
  mx_io_shuffle_order(u, it->n, it->order);
  mx_free(u);
  return MX_OK;
}

static mx_status start_threads(mx_image_iter *it) {
  it->running = 1;
  for (int t = 0; t < it->o.threads; t++) {
    if (pthread_create(&it->threads[t], NULL, worker, it) != 0) break;
    it->nthreads++;
  }
  if (it->nthreads == 0) return mx_error(MX_ERR_INTERNAL, "ImageRecordIter: cannot start a thread");
  return MX_OK;
}

int mx_image_iter_slots(const mx_image_iter *it) { return it->nslots; }

mx_status mx_image_iter_slot(const mx_image_iter *it, int s, mx_ndarray **data, mx_ndarray **label) {
  *data = *label = NULL;
  if (s < 0 || s >= it->nslots) return mx_error(MX_ERR_ARG, "ImageRecordIter: no slot %d", s);
  mx_status st = mx_ndarray_view(it->slots[s].data_nd, data);
  if (st == MX_OK) st = mx_ndarray_view(it->slots[s].label_nd, label);
  if (st != MX_OK) {
    mx_ndarray_free(*data);
    *data = NULL;
  }
  return st;
}

int64_t mx_image_iter_bad(const mx_image_iter *it, const mx_image_bad **first, int *nfirst) {
  *first = it->report;
  *nfirst = it->nbad < MAX_REPORT ? (int)it->nbad : MAX_REPORT;
  return it->nbad;
}

/* Give a batch's slot back to the workers. */
static void release(mx_image_iter *it, slot *s) {
  pthread_mutex_lock(&it->mu);
  slot_clear(it, s);
  it->consumed++;
  pthread_cond_broadcast(&it->space);
  pthread_mutex_unlock(&it->mu);
}

/* The slot of the cursor's batch, once every row of it is made. */
static slot *cursor_slot(mx_image_iter *it) {
  slot *s = &it->slots[(it->cur / it->o.batch_size) % it->o.prefetch];
  pthread_mutex_lock(&it->mu);
  while (s->done < it->o.batch_size) pthread_cond_wait(&it->ready, &it->mu);
  pthread_mutex_unlock(&it->mu);
  return s;
}

/* A batch that failed: its error, and the cursor on the next batch. */
static mx_status batch_error(mx_image_iter *it, slot *s) {
  mx_status st = mx_error(s->err, "%s", s->msg);
  release(it, s);
  it->cur = (it->cur / it->o.batch_size + 1) * it->o.batch_size;
  return st;
}

static void copy_row(const mx_image_iter *it, const slot *from, int64_t r, slot *to, int64_t k) {
  size_t lw = (size_t)it->o.label_width;
  memcpy(to->data + it->example_bytes * k, from->data + it->example_bytes * r, it->example_bytes);
  memcpy(to->label + lw * k, from->label + lw * r, lw * sizeof(float));
}

/* Rows k.. of the assembling batch at the end of an epoch: the first good
 * records of the epoch (round_batch), made here, or zeros. */
static mx_status fill_pad(mx_image_iter *it, slot *out, int64_t k) {
  int64_t B = it->o.batch_size, lw = it->o.label_width, fails = 0;
  for (int64_t j = 0; k < B; j++) {
    uint8_t *dst = out->data + it->example_bytes * k;
    float *lab = out->label + lw * k;
    int skippable = 0;
    uint64_t id;
    mx_status st = MX_OK;
    if (it->o.round_batch && fails < it->n)
      st = make_example(it, it->n + j, &it->pad_buf, &it->pad_cap, dst, lab, &skippable, &id);
    else {
      memset(dst, 0, it->example_bytes);
      memset(lab, 0, sizeof(float) * (size_t)lw);
    }
    if (st == MX_OK) k++, fails = 0;
    else if (skippable) fails++;   /* counted when the cursor passed it */
    else return example_error(it, st, it->n + j, id);
  }
  return MX_OK;
}

/* The next batch from the cursor on, without the bad rows (skip_bad). */
static mx_status assemble(mx_image_iter *it, int *slot_index, int *pad, int *has) {
  int64_t B = it->o.batch_size, k = 0;
  slot *out = &it->slots[it->o.prefetch];
  while (k < B && it->cur < it->n) {
    slot *s = cursor_slot(it);
    if (s->err != MX_OK) return batch_error(it, s);
    int64_t r = it->cur % B;
    if (!s->bad[r]) {
      copy_row(it, s, r, out, k++);
    } else if (it->nbad++ < MAX_REPORT) {
      int64_t rec = it->order[it->cur % it->n];
      set_bad(&it->report[it->nbad - 1], it->first + rec, it->offsets[rec], s->why + r * WHY_LEN);
    }
    if (++it->cur % B == 0) release(it, s);
  }
  if (k == 0) return MX_OK;   /* the epoch ends on bad records */
  *pad = (int)(B - k);
  mx_status st = fill_pad(it, out, k);
  if (st != MX_OK) return st;
  *has = 1;
  *slot_index = it->o.prefetch;
  return MX_OK;
}

mx_status mx_image_iter_next(mx_image_iter *it, int *slot_index, int *pad, int *has) {
  *has = 0;
  *pad = 0;
  *slot_index = -1;
  if (it->held >= 0) release(it, &it->slots[it->held]);
  it->held = -1;
  if (it->cur >= it->n) return MX_OK;
  if (!it->running) {
    mx_status st = start_threads(it);
    if (st != MX_OK) return st;
  }
  int64_t B = it->o.batch_size;
  if (it->cur % B == 0) {
    slot *s = cursor_slot(it);
    if (s->err != MX_OK) return batch_error(it, s);
    if (s->nbad == 0) {   /* handed out in place */
      int64_t left = it->n - it->cur;
      *pad = left < B ? (int)(B - left) : 0;
      *has = 1;
      it->held = (int)((it->cur / B) % it->o.prefetch);
      *slot_index = it->held;
      it->cur += B;
      return MX_OK;
    }
  }
  return assemble(it, slot_index, pad, has);
}
