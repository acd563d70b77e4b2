/*
 * buckets.c -- the one rule that cuts arrays into communication buckets, and
 * the one routine that moves a bucket through a communicator.  The
 * synchronous allreduce and broadcast (kvstore.c) and the allreduce that
 * overlaps backward (overlap.c) both use these.
 *
 * Arrays are visited last to first (backward produces gradients in that
 * order).  An array of at least MX_KV_INPLACE_BYTES, when its host type is its
 * wire type, makes buckets of its own of at most cap elements that are
 * reduced in place: above that size copying it into a bucket and back costs
 * more than the extra call.  Smaller arrays are packed into buckets of cap
 * elements, split where a bucket fills, so that every packed bucket but the
 * last is full.
 */
#include "kv-comm.h"

#include "../include/mx-internal.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **p, int *cap, int need, size_t size) {
  if (need <= *cap) return 1;
  int nc = *cap ? 2 * *cap : 32;
  while (nc < need) nc *= 2;
  void *q = mx_realloc(*p, (size_t)nc * size);
  if (!q) return 0;
  *p = q;
  *cap = nc;
  return 1;
}

/* A new bucket that starts at the next piece. */
static int open_bucket(mx_kv_plan *p, int *bcap, int in_place) {
  if (!grow((void **)&p->b, bcap, p->nb + 1, sizeof *p->b)) return 0;
  mx_kv_bucket *b = &p->b[p->nb++];
  b->first = p->npc;
  b->count = 0;
  b->n = 0;
  b->in_place = in_place;
  return 1;
}

static int add_piece(mx_kv_plan *p, int *pcap, int arr, int64_t off, int64_t n) {
  if (!grow((void **)&p->pc, pcap, p->npc + 1, sizeof *p->pc)) return 0;
  mx_kv_piece g = {arr, off, n};
  p->pc[p->npc++] = g;
  mx_kv_bucket *b = &p->b[p->nb - 1];
  b->count++;
  b->n += n;
  return 1;
}

mx_status mx_kv_plan_make(const int64_t *elems, int n, size_t elem_bytes, int64_t cap, int in_place_ok,
                          mx_kv_plan *out) {
  memset(out, 0, sizeof *out);
  if (cap < 1) return mx_error(MX_ERR_ARG, "a kvstore bucket must hold at least one element");
  int bcap = 0, pcap = 0;
  int64_t room = 0; /* free elements in the open packed bucket */
  for (int i = n - 1; i >= 0; i--) {
    int64_t m = elems[i];
    if (in_place_ok && m * (int64_t)elem_bytes >= MX_KV_INPLACE_BYTES) {
      for (int64_t off = 0; off < m; off += cap)
        if (!open_bucket(out, &bcap, 1) || !add_piece(out, &pcap, i, off, m - off < cap ? m - off : cap))
          goto oom;
      room = 0;
      continue;
    }
    for (int64_t off = 0; off < m;) {
      if (room == 0) {
        if (!open_bucket(out, &bcap, 0)) goto oom;
        room = cap;
      }
      int64_t k = m - off < room ? m - off : room;
      if (!add_piece(out, &pcap, i, off, k)) goto oom;
      off += k;
      room -= k;
    }
  }
  return MX_OK;
oom:
  mx_kv_plan_free(out);
  return mx_error(MX_ERR_NOMEM, "out of memory for the kvstore's buckets");
}

void mx_kv_plan_free(mx_kv_plan *p) {
  free(p->pc);
  free(p->b);
  memset(p, 0, sizeof *p);
}

/* host elements <-> wire elements (float32 <-> float16 on a compressed wire) */
static void move(const mx_kv_xfer *x, unsigned char *host, unsigned char *wire, int64_t n, int to_wire) {
  if (x->wire == x->dt || x->dt < 0) {
    if (to_wire) memcpy(wire, host, (size_t)n * x->es);
    else memcpy(host, wire, (size_t)n * x->es);
  } else if (to_wire) {
    mx_convert(host, x->dt, wire, x->wire, n);
  } else {
    mx_convert(wire, x->wire, host, x->dt, n);
  }
}

static mx_status call(mx_kv_comm *c, const mx_kv_xfer *x, void *buf, int64_t n, double timeout) {
  return x->op == MX_KV_ALLREDUCE ? c->allreduce(c, buf, n, x->wire, timeout)
                                  : c->bcast(c, buf, (size_t)n * x->wes, x->root, timeout);
}

mx_status mx_kv_bucket_run(mx_kv_comm *c, const mx_kv_plan *p, int k, unsigned char *const *host,
                           const mx_kv_xfer *x, unsigned char *buf, double timeout) {
  const mx_kv_bucket *b = &p->b[k];
  const mx_kv_piece *pc = &p->pc[b->first];
  if (b->in_place) return call(c, x, host[pc->arr] + (size_t)pc->off * x->es, pc->n, timeout);
  int64_t at = 0;
  for (int i = 0; i < b->count; at += pc[i].n, i++)
    move(x, host[pc[i].arr] + (size_t)pc[i].off * x->es, buf + (size_t)at * x->wes, pc[i].n, 1);
  mx_status rc = call(c, x, buf, b->n, timeout);
  if (rc || (x->op == MX_KV_BROADCAST && c->rank == x->root)) return rc;
  at = 0;
  for (int i = 0; i < b->count; at += pc[i].n, i++)
    move(x, host[pc[i].arr] + (size_t)pc[i].off * x->es, buf + (size_t)at * x->wes, pc[i].n, 0);
  return MX_OK;
}
