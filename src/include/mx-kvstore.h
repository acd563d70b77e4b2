/*
 * mx-kvstore.h -- the kvstore: sums of gradients over the devices of one
 * process and across the worker processes of a job (distributed.md,
 * docs/kvstore.md).  Plain C, no R.
 *
 * Types (MXNet's names):
 *   local, local_update_cpu, local_allreduce_cpu, local_allreduce_device,
 *   device, nccl          one process; sums over its devices
 *   dist_sync, dist_device_sync, dist_sync_device
 *                         one process per worker, started by mpirun or srun;
 *                         sums across workers by MPI allreduce (device
 *                         arrays are staged through host memory)
 *   dist_async            refused (MX_ERR_UNSUPPORTED): needs server processes
 *
 * A dist_* store outside an MPI launcher is one worker (rank 0 of 1); it
 * says so in mx_kv_describe().  Every collective has a deadline
 * (mx_kv_set_timeout); past it the call fails with MX_ERR_DIST, and the
 * caller should end the job with mx_kv_end_job() (continuing alone would leave
 * the other workers waiting).
 */
#ifndef MX_KVSTORE_H
#define MX_KVSTORE_H

#include "mx.h"

typedef struct mx_kv mx_kv;

mx_status mx_kv_new(const char *type, mx_kv **out);
void mx_kv_free(mx_kv *kv); /* NULL is fine */
const char *mx_kv_type(const mx_kv *kv);
int mx_kv_rank(const mx_kv *kv);
int mx_kv_size(const mx_kv *kv);
int mx_kv_is_dist(const mx_kv *kv);
/* A line for the user: the communicator and how the job was started. */
const char *mx_kv_describe(const mx_kv *kv);
/* Deadline of every collective, seconds (<= 0: none).  Default 600. */
void mx_kv_set_timeout(mx_kv *kv, double seconds);
/* Largest bucket of an allreduce, bytes (at least 4 KiB; by default 2 MiB
 * when every worker is on this host, else 16 MiB). */
void mx_kv_set_bucket_bytes(mx_kv *kv, size_t bytes);
size_t mx_kv_bucket_bytes_of(const mx_kv *kv);
/* Wire format of allreduce buckets: 0 float32 (default), 1 float16 (sums in
 * float32 on arrival; halves the bytes sent). */
mx_status mx_kv_set_compression(mx_kv *kv, int fp16);

/* dst = sum of src[0..n) over any devices (dst may be src[0]). */
mx_status mx_kv_reduce(mx_ndarray *dst, mx_ndarray *const *src, int n);
/* For each of nk keys, dst[k] = sum over j of src[k * nd + j].  A store kv
 * (may be NULL) of a device type (device, nccl, local_allreduce_device,
 * dist_sync_device) uses the GPU backend's collective (NCCL) when every
 * key's arrays lie on the same nd distinct GPUs and dst[k] is src[k * nd];
 * otherwise, and for other types, copies and adds. */
mx_status mx_kv_reduce_keys(mx_kv *kv, mx_ndarray *const *dst, mx_ndarray *const *src, int nk, int nd);
/* In place, across workers: each arrays[i] becomes the sum over workers.
 * Floating dtypes; packed into buckets in reverse order (the order backward
 * produces gradients).  A no-op with one worker. */
mx_status mx_kv_allreduce(mx_kv *kv, mx_ndarray *const *arrays, int n);
mx_status mx_kv_allreduce_f64(mx_kv *kv, double *x, int64_t n);
/* In place: every worker gets root's values (any dtype). */
mx_status mx_kv_broadcast(mx_kv *kv, mx_ndarray *const *arrays, int n, int root);
mx_status mx_kv_broadcast_bytes(mx_kv *kv, void *buf, size_t nbytes, int root);
mx_status mx_kv_barrier(mx_kv *kv);
/* Ends every process of the job with exit code `code` (MPI_Abort); returns
 * only when the store is not distributed. */
void mx_kv_end_job(mx_kv *kv, int code);
/* MPI_Finalize when MPI was initialised (call once, at process exit). */
void mx_kv_finalize(void);
/* Overlap of the allreduce with backward: the gradient arrays (host
 * float32, the executor's own gradient arrays) are packed into buckets once;
 * during each backward pass of e, a bucket is handed to a communication
 * thread as soon as backward has written its last array, and
 * mx_kv_overlap_wait() (after backward) waits for every bucket and returns
 * the first error.  MX_ERR_UNSUPPORTED when the arrays or the store do not
 * allow it (the caller then reduces after backward).  Free it before e. */
typedef struct mx_kv_overlap mx_kv_overlap;
struct mx_executor;
mx_status mx_kv_overlap_new(mx_kv *kv, struct mx_executor *e, mx_ndarray *const *grads, int n,
                            mx_kv_overlap **out);
mx_status mx_kv_overlap_wait(mx_kv_overlap *o);
/* detach: also remove the step hook from the executor (which must still
 * exist); 0 when the executor may be gone already (R finalizers). */
void mx_kv_overlap_free(mx_kv_overlap *o, int detach);

/* Bytes and calls of the last and all allreduces (for benchmarks). */
typedef struct mx_kv_stats {
  int64_t allreduce_calls, allreduce_bytes, buckets;
  double allreduce_seconds;
  int64_t device_collectives;   /* reductions and allreduces done by the GPU backend */
} mx_kv_stats;
void mx_kv_get_stats(const mx_kv *kv, mx_kv_stats *out);

#endif /* MX_KVSTORE_H */
