/*
 * overlap.c -- allreduce of gradients while backward runs (docs/kvstore.md).
 *
 * The gradient arrays are cut into buckets once, by buckets.c's rule (the
 * synchronous allreduce's), and packed through the store's one bucket buffer
 * on the communication thread.  Each bucket is ready
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

/* A bucket of the plan, with the backward step after which its arrays are final. */
typedef struct ov_bucket {
  int ready;
  int k;       /* index into plan.b */
} ov_bucket;

struct mx_kv_overlap {
  mx_kv *kv;
  mx_executor *e;
  mx_kv_plan plan;
  unsigned char **host; /* the gradient arrays' data */
  ov_bucket *b;         /* in the order they are reduced */
  int nb;
  int64_t elems;        /* over all buckets (the statistics of a step) */
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

static int by_ready(const void *x, const void *y) {
  const ov_bucket *a = (const ov_bucket *)x, *b = (const ov_bucket *)y;
  if (a->ready != b->ready) return (a->ready > b->ready) - (a->ready < b->ready);
  return (a->k > b->k) - (a->k < b->k);
}

static mx_status make_buckets(mx_kv_overlap *o, mx_ndarray *const *g, int n) {
  int64_t *elems = (int64_t *)mx_calloc((size_t)n + 1, sizeof *elems);
  int *final = (int *)mx_calloc((size_t)n + 1, sizeof *final);
  o->host = (unsigned char **)mx_calloc((size_t)n + 1, sizeof *o->host);
  mx_status rc = elems && final && o->host ? MX_OK : mx_error(MX_ERR_NOMEM, "out of memory for the kvstore's buckets");
  for (int i = 0; i < n && !rc; i++) {
    elems[i] = mx_ndarray_size(g[i]);
    o->host[i] = (unsigned char *)MX_PTR(g[i]);
    final[i] = mx_executor_final_step(o->e, g[i]);
    if (final[i] < 0) final[i] = INT_MAX; /* never written by backward: at the wait */
  }
  if (!rc)
    rc = mx_kv_plan_make(elems, n, sizeof(float), (int64_t)(mx_kv_bucket_bytes_of(o->kv) / sizeof(float)), 1,
                         &o->plan);
  if (!rc && !mx_kv_bucket_buffer(o->kv)) rc = mx_error(MX_ERR_NOMEM, "out of memory for a kvstore bucket");
  if (!rc && !(o->b = (ov_bucket *)mx_calloc((size_t)o->plan.nb + 1, sizeof *o->b)))
    rc = mx_error(MX_ERR_NOMEM, "out of memory for the kvstore's buckets");
  for (int k = 0; !rc && k < o->plan.nb; k++) {
    const mx_kv_bucket *bk = &o->plan.b[k];
    o->b[k].k = k;
    o->b[k].ready = -1;
    for (int j = bk->first; j < bk->first + bk->count; j++)
      if (final[o->plan.pc[j].arr] > o->b[k].ready) o->b[k].ready = final[o->plan.pc[j].arr];
  }
  for (int k = 0; !rc && k < o->plan.nb; k++) o->elems += o->plan.b[k].n;
  if (!rc) {
    o->nb = o->plan.nb;
    qsort(o->b, (size_t)o->nb, sizeof *o->b, by_ready);
  }
  free(elems);
  free(final);
  return rc;
}

/* ------------------------------------------------------ communication side */

/* One bucket on the communication thread: the R thread makes no collective
 * call meanwhile, so the store's bucket buffer is this thread's. */
static mx_status reduce_bucket(mx_kv_overlap *o, ov_bucket *b) {
  mx_kv_xfer x = {MX_KV_ALLREDUCE, 0, MX_FLOAT32, MX_FLOAT32, sizeof(float), sizeof(float)};
  if ((size_t)o->plan.b[b->k].n * sizeof(float) > mx_kv_bucket_bytes_of(o->kv))
    return mx_error(MX_ERR_ARG, "the kvstore's bucket size changed during training");
  return mx_kv_bucket_run(mx_kv_comm_of(o->kv), &o->plan, b->k, o->host, &x, mx_kv_bucket_buffer(o->kv),
                          mx_kv_timeout_of(o->kv));
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
  mx_kv_count(o->kv, 1, o->elems * (int64_t)sizeof(float), o->nb, secs);
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
  mx_kv_plan_free(&o->plan);
  free(o->host);
  free(o->b);
  pthread_mutex_destroy(&o->mu);
  pthread_cond_destroy(&o->cv);
  free(o);
}
