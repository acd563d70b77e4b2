/*
 * kv-comm.h -- the communicators behind the kvstore (src/kvstore): one
 * table per transport.  kvstore.c packs arrays into host buckets and calls
 * these; a communicator only moves host bytes.
 */
#ifndef MX_KV_COMM_H
#define MX_KV_COMM_H

#include "../include/mx-kvstore.h"

#include <stddef.h>
#include <stdint.h>

typedef struct mx_kv_comm mx_kv_comm;
struct mx_kv_comm {
  const char *name;
  int rank, size;
  int threads_ok; /* collectives may run on a thread other than MPI's own */
  /* in place sum of n elements of dtype t (MX_FLOAT32, MX_FLOAT64 or
   * MX_FLOAT16, summed in float32) across workers */
  mx_status (*allreduce)(mx_kv_comm *c, void *buf, int64_t n, int t, double timeout);
  mx_status (*bcast)(mx_kv_comm *c, void *buf, size_t nbytes, int root, double timeout);
  mx_status (*barrier)(mx_kv_comm *c, double timeout);
  void (*end_job)(mx_kv_comm *c, int code); /* every process of the job */
  void (*free)(mx_kv_comm *c);
};

/* The MPI communicator (comm-mpi.c): *out is NULL, with MX_OK, when this
 * process was not started by an MPI launcher (one worker); why says so. */
mx_status mx_kv_mpi_open(mx_kv_comm **out, char *why, size_t why_len);
void mx_kv_mpi_finalize(void);

/* What overlap.c needs of a store (kvstore.c). */
mx_kv_comm *mx_kv_comm_of(mx_kv *kv);
size_t mx_kv_bucket_bytes_of(const mx_kv *kv);
double mx_kv_timeout_of(const mx_kv *kv);
int mx_kv_fp16_of(const mx_kv *kv);
void mx_kv_count(mx_kv *kv, int64_t calls, int64_t bytes, int64_t buckets, double seconds);

/* Arrays of at least this many bytes are reduced in place (in pieces of at
 * most a bucket) rather than copied into a bucket and back: above it the two
 * copies cost more than the extra call (docs/kvstore.md). */
#define MX_KV_INPLACE_BYTES ((int64_t)512 * 1024)

/* Seconds on a monotonic clock. */
double mx_kv_now(void);

#endif /* MX_KV_COMM_H */
