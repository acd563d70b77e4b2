/*
 * kvstore.c -- the kvstore object: types, the sum over devices, and the
 * packing of arrays into host buckets for a communicator (kv-comm.h).
 *
 * An allreduce sends the arrays through buckets of at most bucket_bytes,
 * cut by buckets.c's rule (large arrays in place, small ones packed into one
 * host buffer).  Arrays on a device or of another float type go through a
 * float32 (float64 for float64 arrays) host copy.  Broadcasts send raw bytes
 * the same way.
 */
#include "kv-comm.h"

#include <stdio.h>

#include "../include/mx-gpu.h"
#include "../include/mx-internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mx_kv {
  char type[40];
  int dist;
  int on_devices;    /* a device type: sums over GPUs through the backend's collectives */
  mx_kv_comm *comm;  /* NULL: one worker */
  double timeout;
  size_t bucket_bytes;
  int fp16;
  char desc[300];
  unsigned char *bucket;
  mx_kv_stats stats;
  void *dev_comm;    /* the GPU backend's communicator across workers */
  int dev_comm_dev;
  int dev_comm_failed; /* it could not be made: host staging from then on */
  int dev_reduce_failed; /* the backend's reduction queued nothing: copies and adds */
};

double mx_kv_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ types */

static const char *local_types[] = {"local", "local_update_cpu", "local_allreduce_cpu",
                                    "local_allreduce_device", "device", "nccl"};
static const char *dist_types[] = {"dist_sync", "dist_device_sync", "dist_sync_device"};
static const char *device_types[] = {"device", "nccl", "local_allreduce_device", "dist_sync_device",
                                     "dist_device_sync"};

static int in_list(const char *t, const char **list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(t, list[i])) return 1;
  return 0;
}

static mx_status parse_type(const char *type, char *out, size_t cap, int *dist) {
  size_t n = type ? strlen(type) : 0;
  if (n == 0 || n >= cap) return mx_error(MX_ERR_ARG, "a kvstore type must be a short name such as \"local\"");
  for (size_t i = 0; i <= n; i++) out[i] = (char)tolower((unsigned char)type[i]);
  if (!strncmp(out, "dist_async", 10) || !strcmp(out, "dist_device_async"))
    return mx_error(MX_ERR_UNSUPPORTED,
                    "kvstore \"%s\" is not supported: asynchronous SGD needs parameter-server processes, "
                    "which this package does not run; use \"dist_sync\" (or \"dist_sync_device\" on GPUs), "
                    "which gives every worker the same update", type);
  *dist = in_list(out, dist_types, sizeof dist_types / sizeof *dist_types);
  if (*dist || in_list(out, local_types, sizeof local_types / sizeof *local_types)) return MX_OK;
  return mx_error(MX_ERR_ARG,
                  "unknown kvstore type \"%s\" (known: local, device, nccl, local_update_cpu, "
                  "local_allreduce_cpu, local_allreduce_device, dist_sync, dist_sync_device, dist_device_sync)",
                  type);
}

mx_status mx_kv_new(const char *type, mx_kv **out) {
  *out = NULL;
  char t[40];
  int dist = 0;
  mx_status rc = parse_type(type, t, sizeof t, &dist);
  if (rc) return rc;
  mx_kv *kv = (mx_kv *)mx_calloc(1, sizeof *kv);
  if (!kv) return mx_error(MX_ERR_NOMEM, "out of memory for a kvstore");
  memcpy(kv->type, t, sizeof t);
  kv->dist = dist;
  kv->on_devices = in_list(t, device_types, sizeof device_types / sizeof *device_types);
  kv->timeout = 600;
  kv->bucket_bytes = MX_KV_BUCKET_NET;
  snprintf(kv->desc, sizeof kv->desc, "one process: sums over its devices");
  if (dist) {
    char why[200] = "";
    rc = mx_kv_mpi_open(&kv->comm, why, sizeof why);
    if (rc) {
      free(kv);
      return rc;
    }
    if (kv->comm && kv->comm->one_node) kv->bucket_bytes = MX_KV_BUCKET_NODE;
    if (kv->comm)
      snprintf(kv->desc, sizeof kv->desc, "worker %d of %d (%s)", kv->comm->rank, kv->comm->size,
               kv->comm->name);
    else
      snprintf(kv->desc, sizeof kv->desc, "one worker: %s", why);
  }
  *out = kv;
  return MX_OK;
}

void mx_kv_free(mx_kv *kv) {
  if (!kv) return;
  const mx_gpu_backend *b = kv->dev_comm ? mx_gpu() : NULL;
  if (b && b->ranks_close) b->ranks_close(kv->dev_comm);
  if (kv->comm && kv->comm->free) kv->comm->free(kv->comm);
  free(kv->bucket);
  free(kv);
}

const char *mx_kv_type(const mx_kv *kv) { return kv->type; }
int mx_kv_rank(const mx_kv *kv) { return kv->comm ? kv->comm->rank : 0; }
int mx_kv_size(const mx_kv *kv) { return kv->comm ? kv->comm->size : 1; }
int mx_kv_is_dist(const mx_kv *kv) { return kv->dist; }
const char *mx_kv_describe(const mx_kv *kv) { return kv->desc; }
void mx_kv_set_timeout(mx_kv *kv, double seconds) { kv->timeout = seconds > 0 ? seconds : 0; }
void mx_kv_get_stats(const mx_kv *kv, mx_kv_stats *out) { *out = kv->stats; }

void mx_kv_set_bucket_bytes(mx_kv *kv, size_t bytes) {
  if (bytes < 4096) bytes = 4096;
  if (bytes != kv->bucket_bytes) {
    free(kv->bucket);
    kv->bucket = NULL;
  }
  kv->bucket_bytes = bytes;
}

mx_kv_comm *mx_kv_comm_of(mx_kv *kv) { return kv->comm; }
size_t mx_kv_bucket_bytes_of(const mx_kv *kv) { return kv->bucket_bytes; }
double mx_kv_timeout_of(const mx_kv *kv) { return kv->timeout; }
int mx_kv_fp16_of(const mx_kv *kv) { return kv->fp16; }
void mx_kv_count(mx_kv *kv, int64_t calls, int64_t bytes, int64_t buckets, double seconds) {
  kv->stats.allreduce_calls += calls;
  kv->stats.allreduce_bytes += bytes;
  kv->stats.buckets += buckets;
  kv->stats.allreduce_seconds += seconds;
}

mx_status mx_kv_set_compression(mx_kv *kv, int fp16) {
  kv->fp16 = fp16 != 0;
  return MX_OK;
}

/* -------------------------------------------------------- sum over devices */

mx_status mx_kv_reduce(mx_ndarray *dst, mx_ndarray *const *src, int n) {
  if (n < 1) return mx_error(MX_ERR_ARG, "a reduction needs at least one array");
  for (int i = 0; i < n; i++)
    if (mx_ndarray_size(src[i]) != mx_ndarray_size(dst) || src[i]->dtype != dst->dtype)
      return mx_error(MX_ERR_SHAPE, "the arrays of a reduction must have the same size and dtype "
                                    "(array %d differs from the destination)", i + 1);
  if (!mx_ndarray_same(dst, src[0])) {
    /* dst later in src would be read after being overwritten */
    for (int i = 1; i < n; i++)
      if (mx_ndarray_same(dst, src[i]))
        return mx_error(MX_ERR_ARG, "the destination of a reduction may only be its first array");
    mx_status rc = mx_ndarray_copy_into(src[0], dst);
    if (rc) return rc;
  }
  for (int i = 1; i < n; i++) {
    mx_status rc = mx_ndarray_add_into(dst, src[i]);
    if (rc) return rc;
  }
  return MX_OK;
}

/* The device of array j of every key, when the backend can reduce them all
 * at once: each key's arrays on the same nd distinct GPUs, dst[k] its first. */
static int device_plan(mx_ndarray *const *dst, mx_ndarray *const *src, int nk, int nd, int *devs) {
  if (nd < 2 || nd > 16) return 0;
  for (int j = 0; j < nd; j++) {
    devs[j] = src[j]->ctx.dev_id;
    for (int i = 0; i < j; i++)
      if (devs[i] == devs[j]) return 0;
  }
  for (int k = 0; k < nk; k++) {
    if (!mx_ndarray_same(dst[k], src[k * nd])) return 0;
    for (int j = 0; j < nd; j++) {
      const mx_ndarray *a = src[k * nd + j];
      if (a->ctx.dev_type != MX_GPU || a->ctx.dev_id != devs[j] || a->dtype != dst[k]->dtype ||
          mx_ndarray_size(a) != mx_ndarray_size(dst[k]))
        return 0;
    }
  }
  return 1;
}

/* What a backend collective takes: the data of n arrays, and the size and
 * dtype of every stride-th (one per key). */
typedef struct dev_args {
  void **bufs;
  int64_t *counts;
  int *dtypes;
} dev_args;

static mx_status dev_args_make(mx_ndarray *const *a, int n, int stride, dev_args *d) {
  int nk = n / stride;
  d->bufs = (void **)mx_calloc((size_t)n + 1, sizeof *d->bufs);
  d->counts = (int64_t *)mx_calloc((size_t)nk + 1, sizeof *d->counts);
  d->dtypes = (int *)mx_calloc((size_t)nk + 1, sizeof *d->dtypes);
  if (!d->bufs || !d->counts || !d->dtypes) return mx_error(MX_ERR_NOMEM, "out of memory for a device collective");
  for (int i = 0; i < n; i++) d->bufs[i] = MX_PTR(a[i]);
  for (int k = 0; k < nk; k++) {
    d->counts[k] = mx_ndarray_size(a[k * stride]);
    d->dtypes[k] = a[k * stride]->dtype;
  }
  return MX_OK;
}

static void dev_args_free(dev_args *d) {
  free(d->bufs);
  free(d->counts);
  free(d->dtypes);
}

mx_status mx_kv_reduce_keys(mx_kv *kv, mx_ndarray *const *dst, mx_ndarray *const *src, int nk, int nd) {
  int devs[16];
  const mx_gpu_backend *b = kv && kv->on_devices && !kv->dev_reduce_failed ? mx_gpu() : NULL;
  if (b && b->reduce_devices && nk > 0 && device_plan(dst, src, nk, nd, devs)) {
    dev_args d;
    mx_status rc = dev_args_make(src, nk * nd, nd, &d);
    if (!rc) rc = b->reduce_devices(devs, nd, d.bufs, d.counts, d.dtypes, nk);
    if (!rc) kv->stats.device_collectives++;
    dev_args_free(&d);
    if (rc != MX_ERR_UNSUPPORTED) return rc;
    kv->dev_reduce_failed = 1;   /* nothing was queued: copies and adds from now on */
    mx_log(MX_LOG_WARN, "mxnet: the %s kvstore sums gradients with copies and adds: %s",
           kv->type, mx_last_error());
  }
  for (int k = 0; k < nk; k++) {
    mx_status rc = mx_kv_reduce(dst[k], src + (size_t)k * nd, nd);
    if (rc) return rc;
  }
  return MX_OK;
}

/* ----------------------------------------- across processes on the GPU */

/* Whether every worker gave ok (an MPI sum; *all set on success). */
static mx_status all_ok(mx_kv *kv, mx_status mine, int *all) {
  double ok = mine ? 0 : 1;
  mx_status rc = kv->comm->allreduce(kv->comm, &ok, 1, MX_FLOAT64, kv->timeout);
  if (!rc) *all = ok >= kv->comm->size;
  return rc;
}

static void device_comm_refused(mx_kv *kv, const char *why) {
  kv->dev_comm_failed = 1;
  mx_log(MX_LOG_WARN, "mxnet: dist_sync_device stages gradients through host memory: %s",
         why[0] ? why : "the GPU collective failed on another worker");
}

/* The backend's communicator among the workers' GPUs.  Every worker says
 * whether it can join (library, device; rank 0 also makes the id) before
 * any joins, since a join waits for all of them; afterwards every worker
 * learns whether all joined (NCCL refuses, for example, two workers on one
 * GPU), so that they all use it or all stage through the host. */
static mx_status open_device_comm(mx_kv *kv, const mx_gpu_backend *b, int dev) {
  if (kv->dev_comm) b->ranks_close(kv->dev_comm);
  kv->dev_comm = NULL;
  unsigned char id[512];
  if (b->ranks_id_bytes > sizeof id) return MX_OK;
  memset(id, 0, sizeof id);
  mx_status rc = b->ranks_ready ? b->ranks_ready(dev) : MX_OK;
  if (!rc && kv->comm->rank == 0) rc = b->ranks_id(id);
  char why[300] = "";
  if (rc) snprintf(why, sizeof why, "%s", mx_last_error());
  int all = 0;
  mx_status r2 = all_ok(kv, rc, &all);
  if (!r2 && all) r2 = kv->comm->bcast(kv->comm, id, b->ranks_id_bytes, 0, kv->timeout);
  if (r2) return r2;
  if (!all) {
    device_comm_refused(kv, why);
    return MX_OK;
  }
  void *c = NULL;
  rc = b->ranks_open(id, kv->comm->size, kv->comm->rank, dev, &c);
  if (rc) snprintf(why, sizeof why, "%s", mx_last_error());
  if ((r2 = all_ok(kv, rc, &all))) return r2;
  if (!all) {
    if (c) b->ranks_close(c);
    device_comm_refused(kv, why);
    return MX_OK;
  }
  kv->dev_comm = c;
  kv->dev_comm_dev = dev;
  return MX_OK;
}

/* dist_sync_device with every array on this worker's one GPU: the backend's
 * collective (NCCL), its communicator's id sent from rank 0 over MPI.
 * 1: done (or failed, rc set); 0: not applicable, use host staging. */
static int allreduce_on_device(mx_kv *kv, mx_ndarray *const *arrays, int n, mx_status *rc) {
  const mx_gpu_backend *b = mx_gpu();
  if (!kv->on_devices || !b || !b->ranks_allreduce || !b->ranks_id_bytes || kv->fp16 || n < 1) return 0;
  int dev = arrays[0]->ctx.dev_id;
  for (int i = 0; i < n; i++)
    if (arrays[i]->ctx.dev_type != MX_GPU || arrays[i]->ctx.dev_id != dev) return 0;
  if (kv->dev_comm_failed) return 0;
  if (!kv->dev_comm || kv->dev_comm_dev != dev) {
    *rc = open_device_comm(kv, b, dev);
    if (*rc) return 1;
    if (!kv->dev_comm) return 0;
  }
  dev_args d;
  double t0 = mx_kv_now();
  *rc = dev_args_make(arrays, n, 1, &d);
  if (!*rc) *rc = b->ranks_allreduce(kv->dev_comm, dev, d.bufs, d.counts, d.dtypes, n);
  if (!*rc) {
    kv->stats.device_collectives++;
    for (int i = 0; i < n; i++) kv->stats.allreduce_bytes += (int64_t)mx_ndarray_nbytes(arrays[i]);
    kv->stats.allreduce_seconds += mx_kv_now() - t0;
  }
  dev_args_free(&d);
  return 1;
}

/* ------------------------------------------------------- bucket streaming */

/* One array as host memory of type dt: the array itself, or a host copy. */
typedef struct staged {
  mx_ndarray *a;
  mx_ndarray *tmp; /* host copy, written back when dirty */
} staged;

static mx_status stage(staged *s, mx_ndarray *a, int dt, unsigned char **host, int64_t *n) {
  s->a = a;
  s->tmp = NULL;
  if (a->ctx.dev_type == MX_CPU && (dt < 0 || a->dtype == dt)) {
    *host = (unsigned char *)MX_PTR(a);
  } else {
    mx_context cpu = {MX_CPU, 0};
    mx_status rc = mx_ndarray_copy(a, dt < 0 ? a->dtype : dt, cpu, &s->tmp);
    if (rc) return rc;
    *host = (unsigned char *)MX_PTR(s->tmp);
  }
  *n = dt < 0 ? (int64_t)mx_ndarray_nbytes(a) : mx_ndarray_size(a);
  return MX_OK;
}

static mx_status unstage(staged *s, int write_back) {
  mx_status rc = MX_OK;
  if (s->tmp && write_back) rc = mx_ndarray_copy_into(s->tmp, s->a);
  mx_ndarray_free(s->tmp);
  s->tmp = NULL;
  return rc;
}

unsigned char *mx_kv_bucket_buffer(mx_kv *kv) {
  if (!kv->bucket) kv->bucket = (unsigned char *)malloc(kv->bucket_bytes);
  return kv->bucket;
}

/* The arrays of host type x->dt (all when it is -1) through the buckets. */
static mx_status run_stream(mx_kv *kv, const mx_kv_xfer *x, mx_ndarray *const *arrays, int n) {
  unsigned char *buf = mx_kv_bucket_buffer(kv);
  staged *st = (staged *)mx_calloc((size_t)n + 1, sizeof *st);
  unsigned char **host = (unsigned char **)mx_calloc((size_t)n + 1, sizeof *host);
  int64_t *elems = (int64_t *)mx_calloc((size_t)n + 1, sizeof *elems);
  mx_kv_plan plan;
  memset(&plan, 0, sizeof plan);
  mx_status rc = buf && st && host && elems ? MX_OK : mx_error(MX_ERR_NOMEM, "out of memory for kvstore buckets");
  int ns = 0;
  for (int i = 0; i < n && !rc; i++) {
    if (x->dt >= 0 && (arrays[i]->dtype == MX_FLOAT64) != (x->dt == MX_FLOAT64)) continue;
    rc = stage(&st[ns], arrays[i], x->dt, &host[ns], &elems[ns]);
    if (!rc) ns++;
  }
  if (!rc) rc = mx_kv_plan_make(elems, ns, x->es, (int64_t)(kv->bucket_bytes / x->wes), x->wire == x->dt, &plan);
  for (int k = 0; !rc && k < plan.nb; k++) {
    double t0 = mx_kv_now();
    rc = mx_kv_bucket_run(kv->comm, &plan, k, host, x, buf, kv->timeout);
    mx_kv_count(kv, 0, plan.b[k].n * (int64_t)x->wes, 1, mx_kv_now() - t0);
  }
  mx_kv_plan_free(&plan);
  int write_back = !(x->op == MX_KV_BROADCAST && kv->comm->rank == x->root);
  for (int i = 0; i < ns; i++) {
    mx_status r2 = unstage(&st[i], write_back && !rc);
    if (!rc) rc = r2;
  }
  free(st);
  free(host);
  free(elems);
  return rc;
}

mx_status mx_kv_allreduce(mx_kv *kv, mx_ndarray *const *arrays, int n) {
  for (int i = 0; i < n; i++)
    if (!mx_dtype_is_float(arrays[i]->dtype))
      return mx_error(MX_ERR_DTYPE, "an allreduce sums floating-point arrays; array %d is %s", i + 1,
                      mx_dtype_name(arrays[i]->dtype));
  if (!kv->comm || kv->comm->size == 1 || n == 0) return MX_OK;
  kv->stats.allreduce_calls++;
  mx_status rc = MX_OK;
  if (allreduce_on_device(kv, arrays, n, &rc)) return rc;
  for (int pass = 0; pass < 2; pass++) {
    mx_kv_xfer x = {MX_KV_ALLREDUCE, 0, pass ? MX_FLOAT64 : MX_FLOAT32, 0, 0, 0};
    x.wire = pass ? MX_FLOAT64 : (kv->fp16 ? MX_FLOAT16 : MX_FLOAT32);
    x.es = mx_dtype_size(x.dt);
    x.wes = mx_dtype_size(x.wire);
    rc = run_stream(kv, &x, arrays, n);
    if (rc) return rc;
  }
  return MX_OK;
}

mx_status mx_kv_broadcast(mx_kv *kv, mx_ndarray *const *arrays, int n, int root) {
  if (root < 0 || root >= mx_kv_size(kv))
    return mx_error(MX_ERR_ARG, "broadcast root %d is not a worker (0..%d)", root, mx_kv_size(kv) - 1);
  if (!kv->comm || kv->comm->size == 1 || n == 0) return MX_OK;
  mx_kv_xfer x = {MX_KV_BROADCAST, root, -1, -1, 1, 1};
  return run_stream(kv, &x, arrays, n);
}

mx_status mx_kv_allreduce_f64(mx_kv *kv, double *x, int64_t n) {
  if (!kv->comm || kv->comm->size == 1 || n == 0) return MX_OK;
  return kv->comm->allreduce(kv->comm, x, n, MX_FLOAT64, kv->timeout);
}

mx_status mx_kv_broadcast_bytes(mx_kv *kv, void *buf, size_t nbytes, int root) {
  if (root < 0 || root >= mx_kv_size(kv))
    return mx_error(MX_ERR_ARG, "broadcast root %d is not a worker (0..%d)", root, mx_kv_size(kv) - 1);
  if (!kv->comm || kv->comm->size == 1 || nbytes == 0) return MX_OK;
  return kv->comm->bcast(kv->comm, buf, nbytes, root, kv->timeout);
}

mx_status mx_kv_barrier(mx_kv *kv) {
  if (!kv->comm || kv->comm->size == 1) return MX_OK;
  return kv->comm->barrier(kv->comm, kv->timeout);
}

void mx_kv_end_job(mx_kv *kv, int code) {
  if (kv && kv->comm) kv->comm->end_job(kv->comm, code);
}

void mx_kv_finalize(void) { mx_kv_mpi_finalize(); }
