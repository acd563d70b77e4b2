/*
 * overlap.c -- allreduce of gradients while backward runs (docs/kvstore.md).
 *
 * The gradient arrays are cut into buckets once, last array first (backward
 * writes them in roughly that order): an array of MX_KV_INPLACE_BYTES or more
 * makes buckets of its own, reduced in place; smaller ones are packed into
 * buckets of at most bucket_bytes with their own buffer.  Each bucket is ready
 * after the latest final write of its arrays (mx_executor_final_step).  The
 * executor's step hook queues ready buckets; one communication thread reduces
 * them in order while the R thread goes on with backward.  The R thread makes
 * no MPI call until mx_kv_overlap_wait() has seen every bucket done.
 */
#include "kv-comm.h"

#include "../include/mx-executor.h"
#include "../include/mx-internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct piece {
  float *p;
  int64_t n;
} piece;

typedef struct ov_bucket {
  int ready;     /* backward step after which its arrays are final */
  piece *pc;
  int npc;
  float *buf;    /* packing buffer; NULL: one piece, reduced in place */
  int64_t n;
} ov_bucket;

struct mx_kv_overlap {
  mx_kv *kv;
  mx_executor *e;
  ov_bucket *b;
  int nb;
  pthread_t thread;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int queued, done, quit;
  mx_status err;
  char msg[512];
  double seconds;
};

/* --------------------------------------------------------------- buckets */

static ov_bucket *add_bucket(mx_kv_overlap *o, int *cap) {
  if (o->nb == *cap) {
    int nc = *cap ? 2 * *cap : 16;
    ov_bucket *p = (ov_bucket *)mx_realloc(o->b, (size_t)nc * sizeof *p);
    if (!p) return NULL;
    o->b = p;
    *cap = nc;
  }
  ov_bucket *b = &o->b[o->nb++];
  memset(b, 0, sizeof *b);
  b->ready = -1;
  return b;
}

static int add_piece(ov_bucket *b, float *p, int64_t n, int ready) {
  piece *pc = (piece *)mx_realloc(b->pc, (size_t)(b->npc + 1) * sizeof *pc);
  if (!pc) return 0;
  b->pc = pc;
  b->pc[b->npc].p = p;
  b->pc[b->npc++].n = n;
  b->n += n;
  if (ready < 0) ready = INT_MAX; /* never written by backward: at the wait */
  if (ready > b->ready) b->ready = ready;
  return 1;
}

static int by_ready(const void *x, const void *y) {
  const ov_bucket *a = (const ov_bucket *)x, *b = (const ov_bucket *)y;
  return (a->ready > b->ready) - (a->ready < b->ready);
}

static mx_status make_buckets(mx_kv_overlap *o, mx_ndarray *const *g, int n) {
  int64_t cap = (int64_t)(mx_kv_bucket_bytes_of(o->kv) / sizeof(float));
  int bcap = 0;
  ov_bucket *open = NULL;
  for (int i = n - 1; i >= 0; i--) {
    float *p = (float *)MX_PTR(g[i]);
    int64_t m = mx_ndarray_size(g[i]);
    int ready = mx_executor_final_step(o->e, g[i]);
    if (m * (int64_t)sizeof(float) >= MX_KV_INPLACE_BYTES || m > cap) {
      for (int64_t off = 0; off < m; off += cap) {
        ov_bucket *b = add_bucket(o, &bcap);
        if (!b || !add_piece(b, p + off, m - off < cap ? m - off : cap, ready)) goto oom;
      }
      open = NULL;
      continue;
    }
    if (!open || open->n + m > cap) {
      open = add_bucket(o, &bcap);
      if (!open) goto oom;
    }
    if (!add_piece(open, p, m, ready)) goto oom;
  }
  for (int k = 0; k < o->nb; k++) {
    ov_bucket *b = &o->b[k];
    if (b->npc > 1) { /* one piece is contiguous already */
      b->buf = (float *)malloc((size_t)b->n * sizeof(float));
      if (!b->buf) goto oom;
    }
  }
  qsort(o->b, (size_t)o->nb, sizeof *o->b, by_ready);
  return MX_OK;
oom:
  return mx_error(MX_ERR_NOMEM, "out of memory for the kvstore's buckets");
}

/* ------------------------------------------------------ communication side */

static mx_status reduce_bucket(mx_kv_overlap *o, ov_bucket *b) {
  mx_kv_comm *c = mx_kv_comm_of(o->kv);
  double to = mx_kv_timeout_of(o->kv);
  if (!b->buf) return c->allreduce(c, b->pc[0].p, b->n, MX_FLOAT32, to);
  int64_t at = 0;
  for (int i = 0; i < b->npc; i++, at += b->pc[i - 1].n)
    memcpy(b->buf + at, b->pc[i].p, (size_t)b->pc[i].n * sizeof(float));
  mx_status rc = c->allreduce(c, b->buf, b->n, MX_FLOAT32, to);
  if (rc) return rc;
  at = 0;
  for (int i = 0; i < b->npc; i++, at += b->pc[i - 1].n)
    memcpy(b->pc[i].p, b->buf + at, (size_t)b->pc[i].n * sizeof(float));
  return MX_OK;
}

static void *comm_main(void *arg) {
  mx_kv_overlap *o = (mx_kv_overlap *)arg;
  pthread_mutex_lock(&o->mu);
  for (;;) {
    while (!o->quit && o->done == o->queued) pthread_cond_wait(&o->cv, &o->mu);
    if (o->quit) break;
    int k = o->done;
    int failed = o->err != MX_OK;
    pthread_mutex_unlock(&o->mu);
    mx_status rc = MX_OK;
    double t0 = mx_kv_now();
    if (!failed) rc = reduce_bucket(o, &o->b[k]); /* after a failure the rest would not match */
    double dt = mx_kv_now() - t0;
    pthread_mutex_lock(&o->mu);
    o->seconds += dt;
    if (rc && o->err == MX_OK) {
      o->err = rc;
      snprintf(o->msg, sizeof o->msg, "%s", mx_last_error());
    }
    o->done++;
    pthread_cond_broadcast(&o->cv);
  }
  pthread_mutex_unlock(&o->mu);
  return NULL;
}

/* The executor's step hook: queue the buckets that step t made ready. */
static void on_step(void *user, int t) {
  mx_kv_overlap *o = (mx_kv_overlap *)user;
  pthread_mutex_lock(&o->mu);
  int q = o->queued;
  while (q < o->nb && o->b[q].ready <= t) q++;
  if (q != o->queued) {
    o->queued = q;
    pthread_cond_broadcast(&o->cv);
  }
  pthread_mutex_unlock(&o->mu);
}

/* ------------------------------------------------------------------ API */

mx_status mx_kv_overlap_new(mx_kv *kv, mx_executor *e, mx_ndarray *const *grads, int n,
                            mx_kv_overlap **out) {
  *out = NULL;
  mx_kv_comm *c = mx_kv_comm_of(kv);
  if (!c || c->size < 2) return mx_error(MX_ERR_UNSUPPORTED, "overlap needs a store of several workers");
  if (!c->threads_ok) return mx_error(MX_ERR_UNSUPPORTED, "this MPI does not allow collectives off its thread");
  if (mx_kv_fp16_of(kv)) return mx_error(MX_ERR_UNSUPPORTED, "overlap sends float32 only");
  for (int i = 0; i < n; i++)
    if (grads[i]->ctx.dev_type != MX_CPU || grads[i]->dtype != MX_FLOAT32)
      return mx_error(MX_ERR_UNSUPPORTED, "overlap reduces float32 host arrays only");
  mx_kv_overlap *o = (mx_kv_overlap *)mx_calloc(1, sizeof *o);
  if (!o) return mx_error(MX_ERR_NOMEM, "out of memory for the kvstore's overlap");
  o->kv = kv;
  o->e = e;
  pthread_mutex_init(&o->mu, NULL);
  pthread_cond_init(&o->cv, NULL);
  mx_status rc = make_buckets(o, grads, n);
  if (!rc && pthread_create(&o->thread, NULL, comm_main, o) != 0)
    rc = mx_error(MX_ERR_UNSUPPORTED, "could not start the kvstore's communication thread");
  if (rc) {
    mx_kv_overlap_free(o, 0);
    return rc;
  }
  o->started = 1;
  mx_executor_set_step_hook(e, on_step, o);
  *out = o;
  return MX_OK;
}

mx_status mx_kv_overlap_wait(mx_kv_overlap *o) {
  int64_t elems = 0;
  pthread_mutex_lock(&o->mu);
  o->queued = o->nb; /* what backward did not make ready (or no backward ran) */
  pthread_cond_broadcast(&o->cv);
  while (o->done < o->nb) pthread_cond_wait(&o->cv, &o->mu);
  mx_status err = o->err;
  char msg[512];
  memcpy(msg, o->msg, sizeof msg);
  double secs = o->seconds;
  o->queued = o->done = 0;
  o->err = MX_OK;
  o->seconds = 0;
  pthread_mutex_unlock(&o->mu);
  for (int k = 0; k < o->nb; k++) elems += o->b[k].n;
  mx_kv_count(o->kv, 1, elems * (int64_t)sizeof(float), o->nb, secs);
  return err ? mx_error(err, "%s", msg) : MX_OK;
}

void mx_kv_overlap_free(mx_kv_overlap *o, int detach) {
  if (!o) return;
  if (o->started) {
    if (detach) mx_executor_set_step_hook(o->e, NULL, NULL);
    pthread_mutex_lock(&o->mu);
    o->quit = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    pthread_join(o->thread, NULL);
  }
  for (int k = 0; k < o->nb; k++) {
    free(o->b[k].pc);
    free(o->b[k].buf);
  }
  free(o->b);
  pthread_mutex_destroy(&o->mu);
  pthread_cond_destroy(&o->cv);
  free(o);
}
