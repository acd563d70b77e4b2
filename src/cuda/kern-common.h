/*
 * kern-common.h -- what the module's own kernels (src/cuda/kernels/<family>.cu)
 * share with each other and with the host tests (tools/cuda-host-tests).
 *
 * Everything marked MX_HD is index maths or a per-element formula that a
 * kernel evaluates on the device and the host tests evaluate with gcc
 * against reference loops and the CPU kernels of src/ops:
 *   - grid sizes of the grid-stride loops;
 *   - broadcast plans (offsets of both operands of an output element);
 *   - reduction plans (kept and reduced index spaces, the output element an
 *     input element reduces into);
 *   - block copies of Concat / SliceChannel (2-D pitched copies);
 *   - SoftmaxOutput's layout, label decoding and per-element gradient;
 *   - the fused optimizer updates (optimizer.c's formulas);
 *   - Philox-4x32-10 exactly as src/engine/rng.c (same seed and counter give
 *     the same bits on the GPU as on the CPU);
 *   - the saturating conversions of mx-internal.h.
 *
 * MX_HD is `__host__ __device__ __forceinline__` under nvcc and `static
 * inline` under a C compiler.  The header is plain C99 apart from what sits
 * behind MX_KC_CXX: nvcc, or the host emulation of tools/cuda-host-tests/emu
 * (MX_KC_EMULATE: the .cu files compiled by g++ with emu-cuda.h, kernels run
 * on the host so that every launcher can be compared with the CPU op).
 *
 * The second half (launcher declarations) is for the module only: the
 * kernels' extern "C" entry points with the CPU kernels' signatures, which
 * elemwise-table.c lists as mx_gpu_kernels_elemwise[].
 */
#ifndef MX_KERN_COMMON_H
#define MX_KERN_COMMON_H

#ifdef MX_KC_HOST_TEST
#include "../include/mx-internal.h"   /* host tests: no CUDA headers needed */
#else
#include "cuda-common.h"
#endif

#include <math.h>
#include <stdint.h>
#include <stdio.h>   /* snprintf: the plans' messages */

#if defined(__CUDACC__) || defined(MX_KC_EMULATE)
#define MX_KC_CXX 1
#endif

#ifdef MX_KC_CXX
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math_constants.h>
#define MX_HD static __host__ __device__ __forceinline__
#else
#define MX_HD static inline
#endif

/* ------------------------------------------------------------- grid sizes */

#define MX_KC_BLOCK 256          /* threads per block of the grid-stride loops */
#define MX_KC_MAX_GRID 65536     /* blocks at most; the loop covers the rest    */

/* Blocks for n elements (at least 1, at most MX_KC_MAX_GRID). */
MX_HD unsigned mx_kc_grid(int64_t n, int block) {
  int64_t g = (n + block - 1) / block;
  if (g < 1) g = 1;
  if (g > MX_KC_MAX_GRID) g = MX_KC_MAX_GRID;
  return (unsigned)g;
}

/* ------------------------------------------------------------ conversions */

/* The saturating conversions of mx-internal.h (NaN -> 0, clamp). */
MX_HD uint8_t mx_kc_sat_u8(double v) {
  if (!(v > 0)) return 0;
  if (v >= 255) return 255;
  return (uint8_t)v;
}
MX_HD int32_t mx_kc_sat_i32(double v) {
  if (v != v) return 0;
  if (v <= -2147483648.0) return INT32_MIN;
  if (v >= 2147483647.0) return INT32_MAX;
  return (int32_t)v;
}
MX_HD int64_t mx_kc_sat_i64(double v) {
  if (v != v) return 0;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  if (v >= 9.2233720368547748e18) return INT64_MAX;
  return (int64_t)v;
}

/* mx_store_f64's conversion of a double into an integer dtype of range
 * [lo, hi] (dtype.c's MX_F2I: NaN -> 0, clamped, truncated). */
MX_HD int64_t mx_kc_f2i(double v, int64_t lo, int64_t hi) {
  return v != v ? 0 : v <= (double)lo ? lo : v >= (double)hi ? hi : (int64_t)v;
}

/* Split shape s around axis ax: outer * n * inner. */
MX_HD void mx_kc_split_at(const mx_shape *s, int ax, int64_t *outer, int64_t *n,
                          int64_t *inner) {
  int64_t o = 1, in = 1;
  for (int k = 0; k < ax; k++) o *= s->d[k];
  for (int k = ax + 1; k < s->ndim; k++) in *= s->d[k];
  *outer = o;
  *n = s->d[ax];
  *inner = in;
}

/* Offset of linear index i of a row-major index space (extents s[0..n-1])
 * under strides st. */
MX_HD int64_t mx_kc_offset(int n, const int64_t *s, const int64_t *st, int64_t i) {
  int64_t off = 0;
  for (int k = n - 1; k >= 0; k--) {
    int64_t q = i / s[k];
    off += (i - q * s[k]) * st[k];
    i = q;
  }
  return off;
}

/* ------------------------------------------------------------- broadcast */

/* Output index space (collapsed: extent-1 axes dropped, adjacent axes merged
 * where both operands walk them contiguously) and the operands' strides
 * over it (0 on broadcast axes). */
typedef struct mx_kc_bcast {
  int nd;
  int64_t shape[MX_MAX_DIM];
  int64_t sa[MX_MAX_DIM], sb[MX_MAX_DIM];
} mx_kc_bcast;

/* Plan for a (shape as) and b (shape bs) broadcast to os (aligned at the
 * last axis, as elemwise.c's make_plan). */
MX_HD void mx_kc_bcast_make(const mx_shape *as, const mx_shape *bs, const mx_shape *os,
                            mx_kc_bcast *p) {
  int64_t sa[MX_MAX_DIM], sb[MX_MAX_DIM], acc;
  acc = 1;
  for (int k = as->ndim - 1; k >= 0; k--) { sa[k] = acc; acc *= as->d[k]; }
  acc = 1;
  for (int k = bs->ndim - 1; k >= 0; k--) { sb[k] = acc; acc *= bs->d[k]; }
  p->nd = 0;
  for (int k = 0; k < os->ndim; k++) {
    int ka = k - (os->ndim - as->ndim), kb = k - (os->ndim - bs->ndim);
    int64_t e = os->d[k];
    int64_t xa = (ka >= 0 && as->d[ka] != 1) ? sa[ka] : 0;
    int64_t xb = (kb >= 0 && bs->d[kb] != 1) ? sb[kb] : 0;
    if (e == 1) continue;
    int j = p->nd - 1;
    if (j >= 0 && p->sa[j] == xa * e && p->sb[j] == xb * e) {
      p->shape[j] *= e;        /* merge into the previous axis */
      p->sa[j] = xa;
      p->sb[j] = xb;
      continue;
    }
    p->shape[p->nd] = e;
    p->sa[p->nd] = xa;
    p->sb[p->nd] = xb;
    p->nd++;
  }
}

/* Offsets into a and b of output element i. */
MX_HD void mx_kc_bcast_offsets(const mx_kc_bcast *p, int64_t i, int64_t *oa, int64_t *ob) {
  int64_t a = 0, b = 0;
  for (int k = p->nd - 1; k >= 0; k--) {
    int64_t q = i / p->shape[k], ix = i - q * p->shape[k];
    a += ix * p->sa[k];
    b += ix * p->sb[k];
    i = q;
  }
  *oa = a;
  *ob = b;
}

/* ------------------------------------------------------------- reduction */

/* An input read as (kept axes) x (reduced axes): output element o (the
 * kept axes in order, which is also the output's layout, keepdims or not)
 * reads input offsets kept(o) + red(r) for r in [0, R).  Extent-1 axes are
 * dropped and contiguous neighbours merged; r runs over the reduced axes
 * in their order, so it is the flattened index argmax/argmin report. */
typedef struct mx_kc_red {
  int nk, nr;
  int64_t ks[MX_MAX_DIM], kst[MX_MAX_DIM];   /* kept extents, input strides    */
  int64_t rs[MX_MAX_DIM], rst[MX_MAX_DIM];   /* reduced extents, input strides */
  int64_t nout, R;
} mx_kc_red;

MX_HD void mx_kc_red_push(int *n, int64_t *s, int64_t *st, int64_t e, int64_t stride) {
  if (e == 1) return;
  if (*n > 0 && st[*n - 1] == stride * e) {
    s[*n - 1] *= e;
    st[*n - 1] = stride;
    return;
  }
  s[*n] = e;
  st[*n] = stride;
  (*n)++;
}

/* mask[k] nonzero: axis k of in is reduced. */
MX_HD void mx_kc_red_make(const mx_shape *in, const int *mask, mx_kc_red *p) {
  int64_t st[MX_MAX_DIM], acc = 1;
  for (int k = in->ndim - 1; k >= 0; k--) { st[k] = acc; acc *= in->d[k]; }
  p->nk = p->nr = 0;
  p->nout = p->R = 1;
  for (int k = 0; k < in->ndim; k++) {
    if (mask[k]) {
      p->R *= in->d[k];
      mx_kc_red_push(&p->nr, p->rs, p->rst, in->d[k], st[k]);
    } else {
      p->nout *= in->d[k];
      mx_kc_red_push(&p->nk, p->ks, p->kst, in->d[k], st[k]);
    }
  }
}

MX_HD int64_t mx_kc_red_kept(const mx_kc_red *p, int64_t o) {
  return mx_kc_offset(p->nk, p->ks, p->kst, o);
}
MX_HD int64_t mx_kc_red_off(const mx_kc_red *p, int64_t r) {
  return mx_kc_offset(p->nr, p->rs, p->rst, r);
}

/* For gradients: the output element that input element i reduces into is
 * mx_kc_offset(nd, shape, ostr, i) with these strides (0 on reduced axes;
 * reduce.c's out_strides). */
MX_HD void mx_kc_out_strides(const mx_shape *in, const int *mask, int64_t *ostr) {
  int64_t acc = 1;
  for (int k = in->ndim - 1; k >= 0; k--) {
    if (mask[k]) {
      ostr[k] = 0;
    } else {
      ostr[k] = acc;
      acc *= in->d[k];
    }
  }
}

/* The reduction mask that sums a broadcast result (shape big) down to small
 * (aligned at the last axis; mx_sum_to_shape): big is reduced along every
 * axis where small has extent 1 (or no axis). */
MX_HD void mx_kc_sum_to_mask(const mx_shape *big, const mx_shape *small, int *mask) {
  for (int k = 0; k < big->ndim; k++) {
    int ks = k - (big->ndim - small->ndim);
    mask[k] = ks < 0 || small->d[ks] == 1;
  }
}

/* ------------------------------------------------------------ block copy */

/* height rows of width elements: dst[dst_off + h*dst_pitch + w] =
 * src[src_off + h*src_pitch + w] (Concat and SliceChannel, forward and
 * backward, are one such copy per input/output). */
typedef struct mx_kc_copy2d {
  int64_t dst_off, dst_pitch, src_off, src_pitch, width, height;
} mx_kc_copy2d;

/* Concat of parts along an axis: outer rows of row elements in the output;
 * part k has inner_k elements per row and starts at column start_k. */
MX_HD mx_kc_copy2d mx_kc_concat_part(int64_t outer, int64_t row, int64_t start,
                                     int64_t inner) {
  mx_kc_copy2d c;
  c.dst_off = start;
  c.dst_pitch = row;
  c.src_off = 0;
  c.src_pitch = inner;
  c.width = inner;
  c.height = outer;
  return c;
}
/* The inverse (Concat backward): the part's block of every row. */
MX_HD mx_kc_copy2d mx_kc_concat_part_back(int64_t outer, int64_t row, int64_t start,
                                          int64_t inner) {
  mx_kc_copy2d c;
  c.dst_off = 0;
  c.dst_pitch = inner;
  c.src_off = start;
  c.src_pitch = row;
  c.width = inner;
  c.height = outer;
  return c;
}

/* ------------------------------------------------------ strided gathers */

/* dst[i] = src[off + offset of i over (sh, st)] for i over the contiguous
 * index space sh (up to 2*MX_MAX_DIM+1 axes: tile and repeat interleave
 * repetition axes of stride 0).  transpose, SwapAxis, slice, slice_axis,
 * reverse, tile and repeat are each one gather (shape.c's strided_copy);
 * the backward of slice/slice_axis the same plan as a scatter. */
#define MX_KC_MAXG (2 * MX_MAX_DIM + 1)
typedef struct mx_kc_gather {
  int nd;
  int64_t sh[MX_KC_MAXG], st[MX_KC_MAXG];
  int64_t off;
} mx_kc_gather;

MX_HD int64_t mx_kc_gather_at(const mx_kc_gather *g, int64_t i) {
  return g->off + mx_kc_offset(g->nd, g->sh, g->st, i);
}
MX_HD int64_t mx_kc_gather_size(const mx_kc_gather *g) {
  int64_t n = 1;
  for (int k = 0; k < g->nd; k++) n *= g->sh[k];
  return n;
}

/* The plans below are host code: they read the op's parameters, fail with
 * shape.c's messages (written into msg) and fill a gather over an input
 * of shape is. */
#define MX_KC_MSG 200
#define MX_KC_FAIL(msg, ...) (snprintf(msg, MX_KC_MSG, __VA_ARGS__), MX_ERR_ARG)

static inline void mx_kc_strides(const mx_shape *s, int64_t *st) {
  int64_t acc = 1;
  for (int k = s->ndim - 1; k >= 0; k--) { st[k] = acc; acc *= s->d[k]; }
}
static inline mx_status mx_kc_axis(const char *name, int64_t axis, int ndim, int *out, char *msg) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    return MX_KC_FAIL(msg, "parameter '%s' = %lld is out of range for an array with %d dimension%s",
                      name, (long long)axis, ndim, ndim == 1 ? "" : "s");
  *out = (int)a;
  return MX_OK;
}

/* output axis k is input axis perm[k] */
static inline void mx_kc_plan_permute(const mx_shape *is, const int *perm, mx_kc_gather *g) {
  int64_t st[MX_MAX_DIM];
  mx_kc_strides(is, st);
  g->nd = is->ndim;
  g->off = 0;
  for (int k = 0; k < is->ndim; k++) {
    g->sh[k] = is->d[perm[k]];
    g->st[k] = st[perm[k]];
  }
}
/* transpose: axes (empty: reversed) */
static inline mx_status mx_kc_transpose_perm(const mx_param_value *axes, int nd, int *perm,
                                             char *msg) {
  if (axes->n == 0) {
    for (int k = 0; k < nd; k++) perm[k] = nd - 1 - k;
    return MX_OK;
  }
  if (axes->n != nd)
    return MX_KC_FAIL(msg, "parameter 'axes' has %d entries; the array has %d dimension%s", axes->n,
                      nd, nd == 1 ? "" : "s");
  int seen[MX_MAX_DIM] = {0};
  for (int k = 0; k < nd; k++) {
    int a = 0;
    mx_status rc = mx_kc_axis("axes", axes->tup[k], nd, &a, msg);
    if (rc) return rc;
    if (seen[a]) return MX_KC_FAIL(msg, "parameter 'axes' is not a permutation (axis %d repeats)", a);
    seen[a] = 1;
    perm[k] = a;
  }
  return MX_OK;
}
/* SwapAxis: dim1 <-> dim2 */
static inline mx_status mx_kc_swap_perm(const mx_param_value *d1, const mx_param_value *d2, int nd,
                                        int *perm, char *msg) {
  int a = 0, b = 0;
  mx_status rc = mx_kc_axis("dim1", d1->i, nd, &a, msg);
  if (!rc) rc = mx_kc_axis("dim2", d2->i, nd, &b, msg);
  if (rc) return rc;
  for (int k = 0; k < nd; k++) perm[k] = k;
  perm[a] = b;
  perm[b] = a;
  return MX_OK;
}
/* slice: Python slicing per axis (shape.c's slice_plan) */
static inline mx_status mx_kc_plan_slice(const mx_param_value *pb, const mx_param_value *pe,
                                         const mx_param_value *ps, const mx_shape *is,
                                         mx_kc_gather *g, char *msg) {
  int nd = is->ndim;
  if (pb->n != pe->n)
    return MX_KC_FAIL(msg, "parameters 'begin' and 'end' have different lengths (%d and %d)", pb->n, pe->n);
  if (pb->n > nd)
    return MX_KC_FAIL(msg, "parameter 'begin' has %d entries; the array has %d dimension%s", pb->n, nd,
                      nd == 1 ? "" : "s");
  if (ps->n != 0 && ps->n != pb->n)
    return MX_KC_FAIL(msg, "parameter 'step' has %d entries; 'begin' has %d", ps->n, pb->n);
  int64_t istr[MX_MAX_DIM];
  mx_kc_strides(is, istr);
  g->nd = nd;
  g->off = 0;
  for (int k = 0; k < nd; k++) {
    int64_t len = is->d[k], b = 0, st = 1, cnt = len;
    if (k < pb->n) {
      st = (ps->n && ps->tup[k] != MX_TUPLE_NONE) ? ps->tup[k] : 1;
      if (st == 0) return MX_KC_FAIL(msg, "parameter 'step' must not contain 0");
      int64_t bv = pb->tup[k], ev = pe->tup[k], bb, ee;
      if (st > 0) {
        bb = bv == MX_TUPLE_NONE ? 0 : (bv < 0 ? bv + len : bv);
        ee = ev == MX_TUPLE_NONE ? len : (ev < 0 ? ev + len : ev);
        bb = bb < 0 ? 0 : bb > len ? len : bb;
        ee = ee < 0 ? 0 : ee > len ? len : ee;
        cnt = ee > bb ? (ee - bb - 1) / st + 1 : 0;
      } else {
        bb = bv == MX_TUPLE_NONE ? len - 1 : (bv < 0 ? bv + len : bv);
        ee = ev == MX_TUPLE_NONE ? -1 : (ev < 0 ? ev + len : ev);
        bb = bb < -1 ? -1 : bb > len - 1 ? len - 1 : bb;
        ee = ee < -1 ? -1 : ee > len - 1 ? len - 1 : ee;
        cnt = bb > ee ? (bb - ee - 1) / (-st) + 1 : 0;
      }
      b = cnt > 0 ? bb : 0;
    }
    g->sh[k] = cnt;
    g->st[k] = st * istr[k];
    g->off += b * istr[k];
  }
  return MX_OK;
}
/* slice_axis: [begin, end) of one axis (shape.c's slice_axis_plan) */
static inline mx_status mx_kc_plan_slice_axis(const mx_param_value *pa, const mx_param_value *pb,
                                              const mx_param_value *pe, const mx_shape *is,
                                              mx_kc_gather *g, char *msg) {
  int ax = 0;
  mx_status rc = mx_kc_axis("axis", pa->i, is->ndim, &ax, msg);
  if (rc) return rc;
  int64_t len = is->d[ax], bb = pb->i, ee = pe->is_set ? pe->i : len;
  if (bb < 0) bb += len;
  if (pe->is_set && ee < 0) ee += len;
  if (len == 0) {
    bb = ee = 0;
  } else {
    if (bb < 0 || bb >= len)
      return MX_KC_FAIL(msg, "parameter 'begin' = %lld is out of range for an axis of length %lld",
                        (long long)pb->i, (long long)len);
    if (ee > len || ee < 0)
      return MX_KC_FAIL(msg, "parameter 'end' = %lld is out of range for an axis of length %lld",
                        (long long)pe->i, (long long)len);
    if (ee <= bb)
      return MX_KC_FAIL(msg, "parameter 'end' (%lld) must come after 'begin' (%lld)", (long long)pe->i,
                        (long long)pb->i);
  }
  int64_t istr[MX_MAX_DIM];
  mx_kc_strides(is, istr);
  g->nd = is->ndim;
  for (int k = 0; k < is->ndim; k++) {
    g->sh[k] = k == ax ? ee - bb : is->d[k];
    g->st[k] = istr[k];
  }
  g->off = bb * istr[ax];
  return MX_OK;
}
/* reverse: negative strides on the listed axes */
static inline mx_status mx_kc_plan_reverse(const mx_param_value *axis, const mx_shape *is,
                                           mx_kc_gather *g, char *msg) {
  int nd = is->ndim, flip[MX_MAX_DIM] = {0};
  for (int i = 0; i < axis->n; i++) {
    int a = 0;
    mx_status rc = mx_kc_axis("axis", axis->tup[i], nd, &a, msg);
    if (rc) return rc;
    if (flip[a]) return MX_KC_FAIL(msg, "parameter 'axis' lists axis %d twice", a);
    flip[a] = 1;
  }
  int64_t istr[MX_MAX_DIM];
  mx_kc_strides(is, istr);
  g->nd = nd;
  g->off = 0;
  for (int k = 0; k < nd; k++) {
    g->sh[k] = is->d[k];
    g->st[k] = flip[k] ? -istr[k] : istr[k];
    if (flip[k] && is->d[k] > 0) g->off += (is->d[k] - 1) * istr[k];
  }
  return MX_OK;
}
/* tile: input and reps padded with leading 1s to the output rank; output
 * axis k = (repeat r_k, element e_k) */
static inline mx_status mx_kc_tile_dims(const mx_param_value *reps, const mx_shape *is, int *nd,
                                        int64_t *ish, int64_t *rep, char *msg) {
  int ni = is->ndim, nr = reps->n, no = ni > nr ? ni : nr;
  if (no > MX_MAX_DIM)
    return MX_KC_FAIL(msg, "parameter 'reps' would give more than %d dimensions", MX_MAX_DIM);
  for (int k = 0; k < nr; k++)
    if (reps->tup[k] < 0) return MX_KC_FAIL(msg, "parameter 'reps' must not contain negative values");
  for (int k = 0; k < no; k++) {
    int ki = k - (no - ni), kr = k - (no - nr);
    ish[k] = ki >= 0 ? is->d[ki] : 1;
    rep[k] = kr >= 0 ? reps->tup[kr] : 1;
  }
  *nd = no;
  return MX_OK;
}
static inline mx_status mx_kc_plan_tile(const mx_param_value *reps, const mx_shape *is,
                                        mx_kc_gather *g, char *msg) {
  int nd;
  int64_t ish[MX_MAX_DIM], rep[MX_MAX_DIM];
  mx_status rc = mx_kc_tile_dims(reps, is, &nd, ish, rep, msg);
  if (rc) return rc;
  mx_shape ps;
  ps.ndim = nd;
  for (int k = 0; k < nd; k++) ps.d[k] = ish[k];
  int64_t istr[MX_MAX_DIM];
  mx_kc_strides(&ps, istr);
  g->nd = 2 * nd;
  g->off = 0;
  for (int k = 0; k < nd; k++) {
    g->sh[2 * k] = rep[k];
    g->st[2 * k] = 0;
    g->sh[2 * k + 1] = ish[k];
    g->st[2 * k + 1] = istr[k];
  }
  return MX_OK;
}
/* repeat: each element r times, along axis or over the flattened array */
static inline mx_status mx_kc_plan_repeat(const mx_param_value *reps, const mx_param_value *axis,
                                          const mx_shape *is, mx_kc_gather *g, char *msg) {
  int64_t r = reps->i, istr[MX_MAX_DIM], n = 1;
  g->off = 0;
  g->nd = 0;
  if (!axis->is_set) {
    for (int k = 0; k < is->ndim; k++) n *= is->d[k];
    g->sh[0] = n;
    g->st[0] = 1;
    g->sh[1] = r;
    g->st[1] = 0;
    g->nd = 2;
    return MX_OK;
  }
  int ax = 0;
  mx_status rc = mx_kc_axis("axis", axis->i, is->ndim, &ax, msg);
  if (rc) return rc;
  mx_kc_strides(is, istr);
  for (int k = 0; k < is->ndim; k++) {
    g->sh[g->nd] = is->d[k];
    g->st[g->nd++] = istr[k];
    if (k == ax) {
      g->sh[g->nd] = r;
      g->st[g->nd++] = 0;
    }
  }
  return MX_OK;
}

/* Crop (nn.c): the (h, w) window of NCHW data at offset (y0, x0), or
 * centred; h and w come from the output (forward) or output gradient
 * (backward) shape, as nn.c's b_crop reads them. */
static inline void mx_kc_plan_crop(const mx_shape *d, int64_t h, int64_t w, int center,
                                   const mx_param_value *offset, mx_kc_gather *g) {
  int64_t H = d->d[2], W = d->d[3];
  int64_t y0 = center ? (H - h) / 2 : offset->tup[0], x0 = center ? (W - w) / 2 : offset->tup[1];
  g->nd = 4;
  g->sh[0] = d->d[0]; g->st[0] = d->d[1] * H * W;
  g->sh[1] = d->d[1]; g->st[1] = H * W;
  g->sh[2] = h;       g->st[2] = W;
  g->sh[3] = w;       g->st[3] = 1;
  g->off = y0 * W + x0;
}

/* Index ops (index.c): a float index as int64 (mx_convert: truncated, NaN
 * 0, saturated), mapped into [0, len) by wrapping or clipping; take's
 * output element q reads a at mx_kc_take_src, pick's element i at
 * mx_kc_pick_src. */
MX_HD int64_t mx_kc_index_f64(double v) {
  return v != v ? 0 : v <= -9223372036854775808.0 ? INT64_MIN
                    : v >= 9223372036854775808.0 ? INT64_MAX : (int64_t)v;
}
MX_HD int64_t mx_kc_index_fix(int64_t v, int64_t len, int wrap) {
  if (wrap) {
    int64_t r = v % len;
    return r < 0 ? r + len : r;
  }
  return v < 0 ? 0 : v >= len ? len - 1 : v;
}
/* take: output (outer, ni, inner); v = the fixed index of position j */
MX_HD int64_t mx_kc_take_src(int64_t q, int64_t ni, int64_t len, int64_t inner, int64_t *j) {
  int64_t i = q % inner, r = q / inner;
  *j = r % ni;
  return ((r / ni) * len) * inner + i;   /* + v * inner */
}
MX_HD int64_t mx_kc_pick_src(int64_t i, int64_t len, int64_t inner, int64_t v) {
  int64_t o = i / inner, j = i % inner;
  return (o * len + v) * inner + j;
}

/* tile's gradient (shape.c's b_tile): input element e (over the padded
 * shape ish) gets the sum, in order q = 0, 1, ..., of the output gradient
 * at base(e) + roff(q), q running over the repetitions. */
typedef struct mx_kc_tileg {
  int nd;
  int64_t ish[MX_MAX_DIM], rep[MX_MAX_DIM], ostr[MX_MAX_DIM];
  int64_t Rt;
} mx_kc_tileg;

static inline void mx_kc_tile_make(int nd, const int64_t *ish, const int64_t *rep, mx_kc_tileg *t) {
  int64_t acc = 1;
  t->nd = nd;
  t->Rt = 1;
  for (int k = nd - 1; k >= 0; k--) {
    t->ish[k] = ish[k];
    t->rep[k] = rep[k];
    t->ostr[k] = acc;
    acc *= ish[k] * rep[k];
  }
  for (int k = 0; k < nd; k++) t->Rt *= rep[k];
}
MX_HD int64_t mx_kc_tile_base(const mx_kc_tileg *t, int64_t e) {
  return mx_kc_offset(t->nd, t->ish, t->ostr, e);
}
MX_HD int64_t mx_kc_tile_roff(const mx_kc_tileg *t, int64_t q) {
  int64_t o = 0;
  for (int k = t->nd - 1; k >= 0; k--) {
    int64_t r = q / t->rep[k];
    o += (q - r * t->rep[k]) * t->ish[k] * t->ostr[k];
    q = r;
  }
  return o;
}

/* ---------------------------------------------------------- SoftmaxOutput */

/* rows (outer), classes K and positions per row (inner) of the data (nn.c's
 * so_layout); 0 when the data has too few dimensions. */
MX_HD int mx_kc_so_layout(int multi, int preserve, const mx_shape *d, int64_t *outer,
                          int64_t *K, int64_t *inner) {
  if (multi) {
    if (d->ndim < 2) return 0;
    mx_kc_split_at(d, 1, outer, K, inner);
  } else if (preserve) {
    if (d->ndim < 1) return 0;
    mx_kc_split_at(d, d->ndim - 1, outer, K, inner);
  } else {
    if (d->ndim < 1) return 0;
    int64_t k = 1;
    for (int j = 1; j < d->ndim; j++) k *= d->d[j];
    *outer = d->d[0];
    *K = k;
    *inner = 1;
  }
  return 1;
}

/* Class of label value v (nn.c's read_labels): >= 0 a class, -1 ignored
 * (use_ignore and v equals ignore_label), -2 invalid (not in [0, K)). */
MX_HD int64_t mx_kc_so_label(double v, int64_t K, int use_ignore, int64_t ign) {
  if (use_ignore && mx_kc_sat_i64(v) == ign) return -1;
  if (!(v >= 0 && v < (double)K)) return -2;
  return (int64_t)v;
}
/* Element i of the data (outer, K, inner): its class k and the index of
 * its label (o * inner + s). */
MX_HD int64_t mx_kc_so_index(int64_t i, int64_t K, int64_t inner, int64_t *k) {
  int64_t s = i % inner, q = i / inner;
  *k = q % K;
  return (q / K) * inner + s;
}

/* Whether a label counts for normalization "valid": it differs from
 * ignore_label (whatever use_ignore says). */
MX_HD int mx_kc_so_valid(double v, int64_t ign) { return mx_kc_sat_i64(v) != ign; }

/* The gradient of one element: class k of a position labelled l (-1:
 * ignored), softmax output y; on/off the smoothed targets, scale =
 * grad_scale / normaliser, go the output gradient (out_grad) or 1. */
MX_HD double mx_kc_so_grad(double y, int64_t l, int64_t k, double on, double off,
                           double scale, double go) {
  double v = 0;
  if (l >= 0) v = (y - (l == k ? on : off)) * scale;
  return v * go;
}

/* The normaliser (nn.c): batch -> outer (multi_output) or outer*inner,
 * valid -> the count of valid labels (1 when none), null -> 1. */
#define MX_KC_NORM_NULL 0
#define MX_KC_NORM_BATCH 1
#define MX_KC_NORM_VALID 2
MX_HD double mx_kc_so_denom(int norm, int multi, int64_t outer, int64_t L, int64_t valid) {
  double d = 1;
  if (norm == MX_KC_NORM_BATCH) d = multi ? (double)outer : (double)L;
  else if (norm == MX_KC_NORM_VALID) d = valid > 0 ? (double)valid : 1;
  return d == 0 ? 1 : d;
}

/* ------------------------------------------------------- optimizer maths */

/* Clip to [-b, b] when b >= 0 (optimizer.c's CLIPG). */
#define MX_KC_CLIPG(x, b) ((b) >= 0 ? ((x) > (b) ? (b) : ((x) < -(b) ? -(b) : (x))) : (x))

/* The hyper-parameters of one update call, read from the op's params. */
typedef struct mx_kc_upd {
  double lr, wd, rs, cg;       /* learning rate, weight decay, rescale, clip_gradient */
  double mom;                  /* momentum (sgd_mom, nag)                         */
  double b1, b2, eps;          /* adam: beta1, beta2; epsilon (adam, rms*, ada*)   */
  double g1, g2, cw;           /* rmsprop(alex): gamma1, gamma2, clip_weights      */
  double rho;                  /* adadelta                                         */
} mx_kc_upd;

enum { MX_KC_SGD, MX_KC_SGD_MOM, MX_KC_NAG, MX_KC_ADAM, MX_KC_RMSPROP, MX_KC_RMSPROPALEX,
       MX_KC_ADAGRAD, MX_KC_ADADELTA, MX_KC_NUPD };

/* One element of each update in type T (float or double): w the weight,
 * gr the gradient, s1..s3 the states (updated); returns the new weight.
 * The expressions are optimizer.c's, cast for cast. */
#define MX_KC_DEF_UPDATE(T, SUF)                                                     \
  MX_HD T mx_kc_update_##SUF(int kind, const mx_kc_upd *u, T w, T gr, T *s1, T *s2,  \
                             T *s3) {                                                \
    T g, m, v, n, d;                                                                 \
    switch (kind) {                                                                  \
      case MX_KC_SGD:                                                                \
        g = (T)u->rs * gr;                                                           \
        g = MX_KC_CLIPG(g, (T)u->cg);                                                \
        return ((T)1 - (T)u->lr * (T)u->wd) * w - (T)u->lr * g;                      \
      case MX_KC_SGD_MOM:                                                            \
        g = (T)u->rs * gr;                                                           \
        g = MX_KC_CLIPG(g, (T)u->cg);                                                \
        m = (T)u->mom * *s1 - (T)u->lr * (g + (T)u->wd * w);                         \
        *s1 = m;                                                                     \
        return w + m;                                                                \
      case MX_KC_NAG:                                                                \
        g = (T)u->rs * gr;                                                           \
        g = MX_KC_CLIPG(g, (T)u->cg);                                                \
        d = g + (T)u->wd * w;                                                        \
        m = (T)u->mom * *s1 - (T)u->lr * d;                                          \
        *s1 = m;                                                                     \
        return w + (T)u->mom * m - (T)u->lr * d;                                     \
      case MX_KC_ADAM:                                                               \
        g = (T)u->rs * gr + (T)u->wd * w;                                            \
        g = MX_KC_CLIPG(g, (T)u->cg);                                                \
        m = (T)u->b1 * *s1 + (T)(1 - u->b1) * g;                                     \
        v = (T)u->b2 * *s2 + (T)(1 - u->b2) * g * g;                                 \
        *s1 = m;                                                                     \
        *s2 = v;                                                                     \
        return w - (T)u->lr * m / ((T)sqrt((double)v) + (T)u->eps);                  \
      case MX_KC_RMSPROP: {                                                          \
        g = (T)u->rs * gr + (T)u->wd * w;                                            \
        g = MX_KC_CLIPG(g, (T)u->cg);                                                \
        n = (T)(1 - u->g1) * g * g + (T)u->g1 * *s1;                                 \
        *s1 = n;                                                                     \
        T nw = w - (T)u->lr * (g / (T)sqrt((double)n + u->eps));                     \
        return MX_KC_CLIPG(nw, (T)u->cw);                                            \
      }                                                                              \
      case MX_KC_RMSPROPALEX: {                                                      \
        g = (T)u->rs * gr + (T)u->wd * w;                                            \
        g = MX_KC_CLIPG(g, (T)u->cg);                                                \
        n = (T)(1 - u->g1) * g * g + (T)u->g1 * *s1;                                 \
        T gb = (T)(1 - u->g1) * g + (T)u->g1 * *s2;                                  \
        T dl = (T)u->g2 * *s3 - (T)u->lr * (g / (T)sqrt((double)(n - gb * gb) + u->eps)); \
        *s1 = n;                                                                     \
        *s2 = gb;                                                                    \
        *s3 = dl;                                                                    \
        T nw = w + dl;                                                               \
        return MX_KC_CLIPG(nw, (T)u->cw);                                            \
      }                                                                              \
      case MX_KC_ADAGRAD: {                                                          \
        g = (T)u->rs * gr;                                                           \
        g = MX_KC_CLIPG(g, (T)u->cg);                                                \
        T h = *s1 + g * g;                                                           \
        *s1 = h;                                                                     \
        return w - (T)u->lr * (g / (T)sqrt((double)h + u->eps) + (T)u->wd * w);     \
      }                                                                              \
      default: {                                                /* adadelta */       \
        g = (T)u->rs * gr;                                                           \
        g = MX_KC_CLIPG(g, (T)u->cg);                                                \
        T ag = (T)u->rho * *s1 + (T)(1 - u->rho) * g * g;                            \
        T dl = (T)(sqrt((double)*s2 + u->eps) / sqrt((double)ag + u->eps)) * g;      \
        *s1 = ag;                                                                    \
        *s2 = (T)u->rho * *s2 + (T)(1 - u->rho) * dl * dl;                           \
        return w - dl - (T)u->wd * w;                                                \
      }                                                                              \
    }                                                                                \
  }
MX_KC_DEF_UPDATE(float, f32)
MX_KC_DEF_UPDATE(double, f64)

/* States per update (inputs after weight and grad). */
MX_HD int mx_kc_update_nstates(int kind) {
  switch (kind) {
    case MX_KC_SGD: return 0;
    case MX_KC_ADAM: case MX_KC_ADADELTA: return 2;
    case MX_KC_RMSPROPALEX: return 3;
    default: return 1;
  }
}

/* ----------------------------------------------------------------- Philox */

/* Philox-4x32-10 with rng.c's key and counter layout: block ctr of stream
 * seed.  Element i of a fill that starts at counter base lies in block
 * base + i/4 (float32: 4 per block) or base + i/2 (float64, float32
 * normals: 2 per block, see the samplers below). */
MX_HD void mx_kc_philox(uint64_t seed, uint64_t ctr, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0x5eedu, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0;
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

MX_HD float mx_kc_u24(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }
MX_HD double mx_kc_u53(uint32_t a, uint32_t b) {
  return (double)(((uint64_t)(a >> 5) << 26) | (b >> 6)) * (1.0 / 9007199254740992.0);
}

#define MX_KC_TWO_PI 6.283185307179586476925286766559

/* Element i of mx_rng_uniform_f32(seed, base, lo, hi): float32 in [lo, hi). */
MX_HD float mx_kc_uniform_f32(uint64_t seed, uint64_t base, int64_t i, double lo, double hi) {
  uint32_t x[4];
  mx_kc_philox(seed, base + (uint64_t)(i / 4), x);
  float flo = (float)lo, span = (float)(hi - lo);
  float v = flo + span * mx_kc_u24(x[i % 4]);
  return v < (float)hi ? v : flo;
}
/* Element i of mx_rng_uniform_f64. */
MX_HD double mx_kc_uniform_f64(uint64_t seed, uint64_t base, int64_t i, double lo, double hi) {
  uint32_t x[4];
  mx_kc_philox(seed, base + (uint64_t)(i / 2), x);
  int j = (int)(i % 2);
  double v = lo + (hi - lo) * mx_kc_u53(x[2 * j], x[2 * j + 1]);
  return v < hi ? v : lo;
}
/* Element i of mx_rng_normal_f32 (Box-Muller on pairs of 24-bit uniforms;
 * log/cos/sin may differ from the host's libm by an ulp). */
MX_HD float mx_kc_normal_f32(uint64_t seed, uint64_t base, int64_t i, double mean, double sd) {
  uint32_t x[4];
  mx_kc_philox(seed, base + (uint64_t)(i / 4), x);
  int j = (int)((i % 4) / 2);
  double u1 = 1.0 - (double)mx_kc_u24(x[2 * j]);
  double u2 = (double)mx_kc_u24(x[2 * j + 1]);
  double rad = sqrt(-2.0 * log(u1));
  double z = (i % 2) ? rad * sin(MX_KC_TWO_PI * u2) : rad * cos(MX_KC_TWO_PI * u2);
  return (float)(mean + sd * z);
}
/* Element i of mx_rng_normal_f64. */
MX_HD double mx_kc_normal_f64(uint64_t seed, uint64_t base, int64_t i, double mean, double sd) {
  uint32_t x[4];
  mx_kc_philox(seed, base + (uint64_t)(i / 2), x);
  double u1 = 1.0 - mx_kc_u53(x[0], x[1]);
  double u2 = mx_kc_u53(x[2], x[3]);
  double rad = sqrt(-2.0 * log(u1));
  return (i % 2) ? mean + sd * rad * sin(MX_KC_TWO_PI * u2)
                 : mean + sd * rad * cos(MX_KC_TWO_PI * u2);
}
/* Blocks of the stream a fill of n elements uses (the counter advance). */
MX_HD uint64_t mx_kc_blocks_f32(int64_t n) { return (uint64_t)((n + 3) / 4); }
MX_HD uint64_t mx_kc_blocks_f64(int64_t n) { return (uint64_t)((n + 1) / 2); }

/* ============================================= module side (not the tests) */

#ifndef MX_KC_HOST_TEST

#ifdef __cplusplus
extern "C" {
#endif

/* The index of parameter key of op (resolved once into *slot, which starts
 * at -1).  A missing op or parameter is an internal error, never a silent
 * -1 (elemwise-table.c). */
mx_status mx_kc_param_index(const char *op, const char *key, int *slot);
#define MX_KC_PARAM(slot, op, key)                                    \
  do {                                                                \
    if ((slot) < 0) {                                                 \
      mx_status s_ = mx_kc_param_index(op, key, &(slot));             \
      if (s_) return s_;                                              \
    }                                                                 \
  } while (0)
/* The same inside supports(): refuse (with why) when it cannot resolve. */
#define MX_KC_PARAM_OR_REFUSE(slot, op, key, why)                     \
  do {                                                                \
    if ((slot) < 0 && mx_kc_param_index(op, key, &(slot)) != MX_OK) { \
      *(why) = "internal: a parameter index could not be resolved";   \
      return 0;                                                       \
    }                                                                 \
  } while (0)

/* Temporary device memory from the engine's pool, on the kernel's device.
 * Stream-ordered: releasing right after queuing the kernels is safe (one
 * stream per device). */
static inline mx_status mx_kc_temp(const mx_op_ctx *c, size_t bytes, mx_storage **st) {
  return mx_host->storage_alloc(bytes ? bytes : 1, c->ctx, st);
}

/* A dtype's name for messages (the engine's mx_dtype_name is not
 * callable from the module). */
static inline const char *mx_kc_dtype_name(int dt) {
  switch (dt) {
    case MX_FLOAT32: return "float32";
    case MX_FLOAT64: return "float64";
    case MX_FLOAT16: return "float16";
    case MX_BFLOAT16: return "bfloat16";
    case MX_UINT8: return "uint8";
    case MX_INT32: return "int32";
    case MX_INT8: return "int8";
    case MX_INT64: return "int64";
    default: return "?";
  }
}
#define MX_KC_DTYPE_ERROR(dt) \
  mx_error(MX_ERR_DTYPE, "dtype %s is not supported by this GPU kernel", mx_kc_dtype_name(dt))
#define MX_KC_GRAD_DTYPE_ERROR(dt)                                                   \
  mx_error(MX_ERR_DTYPE, "gradients need a floating-point dtype (float32 or float64), not %s", \
           mx_kc_dtype_name(dt))

/* Dtype masks of the records. */
#define MX_KC_DT(t) (1u << (t))
#define MX_KC_FLOATS (MX_KC_DT(MX_FLOAT32) | MX_KC_DT(MX_FLOAT64))
#define MX_KC_INTS (MX_KC_DT(MX_UINT8) | MX_KC_DT(MX_INT32) | MX_KC_DT(MX_INT64))
#define MX_KC_NUMERIC (MX_KC_FLOATS | MX_KC_INTS)
#define MX_KC_ALL (MX_KC_NUMERIC | MX_KC_DT(MX_FLOAT16) | MX_KC_DT(MX_INT8))

/* The launchers: fwd (KARGS), bwd (BARGS) and supports() of each kernel
 * family, listed by elemwise-table.c.  Binary ops are generated from one
 * list (MX_KC_BINARY_OPS) in kernels/elemwise.cu; unary ones from
 * MX_KC_UNARY_OPS in kernels/unary.cu. */
#define MX_KC_SUPPORTS_ARGS const mx_param_value *p, int nin, const mx_shape *in_shapes, \
                            const int *in_dtypes, const char **why

/* binary: name, has a float gradient (1) or a zero one (0) */
#define MX_KC_BINARY_OPS(X)                                                   \
  X(add, 1) X(sub, 1) X(mul, 1) X(div, 1) X(mod, 1) X(pow, 1) X(max, 1)       \
  X(min, 1) X(hypot, 1) X(eq, 0) X(ne, 0) X(gt, 0) X(ge, 0) X(lt, 0) X(le, 0) \
  X(and, 0) X(or, 0) X(xor, 0)
#define MX_KC_DECL_BINARY(NAME, G)                                            \
  mx_status mx_kc_bin_##NAME(KARGS);                                          \
  mx_status mx_kc_scal_##NAME(KARGS);                                         \
  mx_status mx_kc_rscal_##NAME(KARGS);                                        \
  mx_status mx_kc_bin_grad_##NAME(BARGS);                                     \
  mx_status mx_kc_scal_grad_##NAME(BARGS);                                    \
  mx_status mx_kc_rscal_grad_##NAME(BARGS);
MX_KC_BINARY_OPS(MX_KC_DECL_BINARY)
mx_status mx_kc_elemwise_add(KARGS);        /* also float16 and bfloat16        */
mx_status mx_kc_bin_grad_add_fast(BARGS);   /* add/sub: the output gradient only */
mx_status mx_kc_bin_grad_sub_fast(BARGS);
mx_status mx_kc_scal_grad_copy(BARGS);      /* _plus_scalar, _minus_scalar      */
mx_status mx_kc_grad_zeros(BARGS);          /* every requested gradient 0       */

/* unary: name, gradient kind (0 none/zero, 1 float formula) */
#define MX_KC_UNARY_OPS(X)                                                    \
  X(abs) X(sign) X(sqrt) X(rsqrt) X(square) X(exp) X(log) X(log1p) X(expm1)    \
  X(log2) X(log10) X(sin) X(cos) X(tan) X(arcsin) X(arccos) X(arctan) X(sinh)  \
  X(cosh) X(tanh) X(arcsinh) X(arccosh) X(arctanh) X(sigmoid) X(relu)          \
  X(softsign) X(round) X(rint) X(floor) X(ceil) X(trunc) X(fix) X(negative)    \
  X(reciprocal) X(cbrt) X(gamma) X(gammaln) X(degrees) X(radians) X(logical_not)
#define MX_KC_DECL_UNARY(NAME)                                                \
  mx_status mx_kc_un_##NAME(KARGS);                                           \
  mx_status mx_kc_un_grad_##NAME(BARGS);
MX_KC_UNARY_OPS(MX_KC_DECL_UNARY)
mx_status mx_kc_clip(KARGS);
mx_status mx_kc_clip_grad(BARGS);
mx_status mx_kc_identity(KARGS);            /* identity, Reshape, Flatten, copies */
mx_status mx_kc_identity_grad(BARGS);
mx_status mx_kc_grad_zeros_float(BARGS);
mx_status mx_kc_zeros_like(KARGS);
mx_status mx_kc_ones_like(KARGS);
mx_status mx_kc_cast(KARGS);
mx_status mx_kc_cast_grad(BARGS);

/* reductions (kernels/reduce.cu) */
mx_status mx_kc_sum(KARGS);
mx_status mx_kc_mean(KARGS);
mx_status mx_kc_prod(KARGS);
mx_status mx_kc_nansum(KARGS);
mx_status mx_kc_nanprod(KARGS);
mx_status mx_kc_max(KARGS);
mx_status mx_kc_min(KARGS);
mx_status mx_kc_norm(KARGS);
mx_status mx_kc_argmax(KARGS);
mx_status mx_kc_argmin(KARGS);
mx_status mx_kc_sum_grad(BARGS);
mx_status mx_kc_mean_grad(BARGS);
mx_status mx_kc_prod_grad(BARGS);
mx_status mx_kc_nansum_grad(BARGS);
mx_status mx_kc_nanprod_grad(BARGS);
mx_status mx_kc_max_grad(BARGS);
mx_status mx_kc_min_grad(BARGS);
mx_status mx_kc_norm_grad(BARGS);
/* dst (small) = sum of src (big, a broadcast result) over the broadcast
 * axes, in double, converted to dst's dtype (float32/float64). */
mx_status mx_kc_sum_to_shape(cudaStream_t s, const mx_ndarray *src, mx_ndarray *dst);

/* nn (kernels/nn.cu) */
mx_status mx_kc_softmax_output(KARGS);
mx_status mx_kc_softmax_output_grad(BARGS);
mx_status mx_kc_linreg(KARGS);              /* Linear/MAE: a copy            */
mx_status mx_kc_logreg(KARGS);              /* Logistic: the sigmoid          */
mx_status mx_kc_linreg_grad(BARGS);
mx_status mx_kc_mae_grad(BARGS);
mx_status mx_kc_leaky(KARGS);
mx_status mx_kc_leaky_grad(BARGS);
mx_status mx_kc_dropout(KARGS);
mx_status mx_kc_dropout_grad(BARGS);
mx_status mx_kc_embedding(KARGS);
mx_status mx_kc_embedding_grad(BARGS);
mx_status mx_kc_make_loss_grad(BARGS);
int mx_kc_supports_make_loss(MX_KC_SUPPORTS_ARGS);
int mx_kc_supports_softmax_output(MX_KC_SUPPORTS_ARGS);
int mx_kc_supports_float(MX_KC_SUPPORTS_ARGS);
int mx_kc_supports_embedding(MX_KC_SUPPORTS_ARGS);

/* shape moves (kernels/shape.cu) */
mx_status mx_kc_concat(KARGS);
mx_status mx_kc_concat_grad(BARGS);
mx_status mx_kc_slice_channel(KARGS);
mx_status mx_kc_slice_channel_grad(BARGS);
mx_status mx_kc_stack(KARGS);
mx_status mx_kc_stack_grad(BARGS);
/* strided moves (kernels/moves.cu) */
mx_status mx_kc_transpose(KARGS);
mx_status mx_kc_transpose_grad(BARGS);
mx_status mx_kc_swapaxis(KARGS);
mx_status mx_kc_swapaxis_grad(BARGS);
mx_status mx_kc_slice(KARGS);
mx_status mx_kc_slice_grad(BARGS);
mx_status mx_kc_slice_axis(KARGS);
mx_status mx_kc_slice_axis_grad(BARGS);
mx_status mx_kc_reverse(KARGS);
mx_status mx_kc_reverse_grad(BARGS);
mx_status mx_kc_tile(KARGS);
mx_status mx_kc_tile_grad(BARGS);
mx_status mx_kc_repeat(KARGS);
mx_status mx_kc_repeat_grad(BARGS);
mx_status mx_kc_crop(KARGS);
mx_status mx_kc_crop_grad(BARGS);

/* index ops (kernels/index.cu) */
mx_status mx_kc_take(KARGS);
mx_status mx_kc_take_grad(BARGS);
mx_status mx_kc_pick(KARGS);
mx_status mx_kc_pick_grad(BARGS);
mx_status mx_kc_one_hot(KARGS);
mx_status mx_kc_where(KARGS);
mx_status mx_kc_where_grad(BARGS);
int mx_kc_supports_take(MX_KC_SUPPORTS_ARGS);

/* optimizers (kernels/optimizer.cu) */
mx_status mx_kc_sgd_update(KARGS);
mx_status mx_kc_sgd_mom_update(KARGS);
mx_status mx_kc_nag_mom_update(KARGS);
mx_status mx_kc_adam_update(KARGS);
mx_status mx_kc_rmsprop_update(KARGS);
mx_status mx_kc_rmspropalex_update(KARGS);
mx_status mx_kc_adagrad_update(KARGS);
mx_status mx_kc_adadelta_update(KARGS);

/* random samplers (kernels/random.cu) */
mx_status mx_kc_random_uniform(KARGS);
mx_status mx_kc_random_normal(KARGS);

#ifdef __cplusplus
}
#endif

#ifdef MX_KC_CXX
/* ------------------------------------------- the grid-stride template */

/* f(i) for every i in [0, n): one kernel per functor type. */
template <class F>
__global__ void mx_kc_map_kernel(int64_t n, F f) {
  int64_t step = (int64_t)blockDim.x * gridDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) f(i);
}

/* Queue f over [0, n) on stream s (never waits). */
template <class F>
static mx_status mx_kc_launch(cudaStream_t s, int64_t n, F f) {
  if (n <= 0) return MX_OK;
#ifndef MX_KC_EMULATE
  mx_kc_map_kernel<F><<<mx_kc_grid(n, MX_KC_BLOCK), MX_KC_BLOCK, 0, s>>>(n, f);
#else
  (void)s;
  for (int64_t i = 0; i < n; i++) f(i);
#endif
  MX_CUDA_TRY(cudaGetLastError());
  return MX_OK;
}

/* Launch a block kernel k<<<g, b, 0, s>>>(args) (the emulation runs the
 * blocks one after the other, each with b host threads). */
#ifndef MX_KC_EMULATE
#define MX_KC_KERNEL(k, g, b, s, ...) k<<<g, b, 0, s>>>(__VA_ARGS__)
#else
#define MX_KC_KERNEL(k, g, b, s, ...) \
  ((void)(s), mx_emu_blocks(g, b, [&]() { k(__VA_ARGS__); }))
#endif

/* Dtype dispatch inside launchers: T bound to the element type. */
#define MX_KC_FLOAT_SWITCH(dt, T, ...)                                       \
  switch (dt) {                                                              \
    case MX_FLOAT32: { typedef float T; __VA_ARGS__; } break;                \
    case MX_FLOAT64: { typedef double T; __VA_ARGS__; } break;               \
    default: return MX_KC_DTYPE_ERROR(dt);                                   \
  }
#define MX_KC_NUM_SWITCH(dt, T, ...)                                         \
  switch (dt) {                                                              \
    case MX_FLOAT32: { typedef float T; __VA_ARGS__; } break;                \
    case MX_FLOAT64: { typedef double T; __VA_ARGS__; } break;               \
    case MX_UINT8: { typedef uint8_t T; __VA_ARGS__; } break;                \
    case MX_INT32: { typedef int32_t T; __VA_ARGS__; } break;                \
    case MX_INT64: { typedef int64_t T; __VA_ARGS__; } break;                \
    default: return MX_KC_DTYPE_ERROR(dt);                                   \
  }

/* Saturating double -> T (floats: a plain conversion). */
template <class T> __device__ __forceinline__ T mx_kc_sat(double v) { return (T)v; }
template <> __device__ __forceinline__ uint8_t mx_kc_sat<uint8_t>(double v) { return mx_kc_sat_u8(v); }
template <> __device__ __forceinline__ int32_t mx_kc_sat<int32_t>(double v) { return mx_kc_sat_i32(v); }
template <> __device__ __forceinline__ int64_t mx_kc_sat<int64_t>(double v) { return mx_kc_sat_i64(v); }
template <class T> __host__ __device__ constexpr bool mx_kc_isint() { return (T)0.5 == (T)0; }

/* Element i of a buffer of any dtype as double (labels, indices). */
__device__ __forceinline__ double mx_kc_load_f64(const void *p, int dt, int64_t i) {
  switch (dt) {
    case MX_FLOAT32: return (double)((const float *)p)[i];
    case MX_FLOAT64: return ((const double *)p)[i];
    case MX_FLOAT16: return (double)__half2float(((const __half *)p)[i]);
    case MX_UINT8: return (double)((const uint8_t *)p)[i];
    case MX_INT32: return (double)((const int32_t *)p)[i];
    case MX_INT8: return (double)((const int8_t *)p)[i];
    default: return (double)((const int64_t *)p)[i];
  }
}

/* An array's device data as T. */
#define MX_KC_PTR(a, T) ((T *)MX_PTR(a))
#define MX_KC_STREAM(c) (mx_cuda_of(c)->stream)
#endif /* MX_KC_CXX */

#endif /* MX_KC_HOST_TEST */

#endif /* MX_KERN_COMMON_H */
