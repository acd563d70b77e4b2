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
  int one_node;   /* every worker on this host (shared memory between all) */
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
double mx_kv_timeout_of(const mx_kv *kv);
int mx_kv_fp16_of(const mx_kv *kv);
void mx_kv_count(mx_kv *kv, int64_t calls, int64_t bytes, int64_t buckets, double seconds);

/* Default bucket sizes: shared memory between all workers, and across hosts
 * (docs/kvstore.md, "Buckets"). */
#define MX_KV_BUCKET_NODE ((size_t)2 << 20)
#define MX_KV_BUCKET_NET ((size_t)16 << 20)

/* Arrays of at least this many bytes are reduced in place (in pieces of at
 * most a bucket) rather than copied into a bucket and back: above it the two
 * copies cost more than the extra call (docs/kvstore.md). */
#define MX_KV_INPLACE_BYTES ((int64_t)512 * 1024)

/* Buckets (buckets.c): which pieces of which arrays travel together. */
typedef struct mx_kv_piece {
  int arr;          /* index into the caller's arrays */
  int64_t off, n;   /* elements */
} mx_kv_piece;

typedef struct mx_kv_bucket {
  int first, count; /* its pieces in mx_kv_plan.pc */
  int64_t n;        /* elements */
  int in_place;     /* one piece, sent from the array itself */
} mx_kv_bucket;

typedef struct mx_kv_plan {
  mx_kv_piece *pc;
  int npc;
  mx_kv_bucket *b;
  int nb;
} mx_kv_plan;

/* Buckets of at most cap elements over n arrays of elems[i] elements of
 * elem_bytes each (on the host), last array first; large arrays in place
 * when in_place_ok (their host type is the wire type). */
mx_status mx_kv_plan_make(const int64_t *elems, int n, size_t elem_bytes, int64_t cap, int in_place_ok,
                          mx_kv_plan *out);
void mx_kv_plan_free(mx_kv_plan *p);

enum { MX_KV_ALLREDUCE = 0, MX_KV_BROADCAST = 1 };

/* How a bucket travels: host type dt (MX_FLOAT32/64; -1: raw bytes), wire
 * type, element sizes on each side. */
typedef struct mx_kv_xfer {
  int op, root;
  int dt, wire;
  size_t es, wes;
} mx_kv_xfer;

/* Bucket k of p through c: packed from the host arrays into buf (at least
 * p->b[k].n wire elements) unless in place, then copied back (not on a
 * broadcast's root). */
mx_status mx_kv_bucket_run(mx_kv_comm *c, const mx_kv_plan *p, int k, unsigned char *const *host,
                           const mx_kv_xfer *x, unsigned char *buf, double timeout);

/* The store's bucket buffer (bucket_bytes), made on first use. */
unsigned char *mx_kv_bucket_buffer(mx_kv *kv);

/* Seconds on a monotonic clock. */
double mx_kv_now(void);

#endif /* MX_KV_COMM_H */
