/*
 * moves.cu -- the strided moves of src/ops/shape.c on the GPU: transpose,
 * SwapAxis, slice, slice_axis, reverse, tile and repeat, forward and
 * backward.  Each forward is one gather (mx_kc_gather, planned by the
 * mx_kc_plan_* functions of kern-common.h, which the host tests compare
 * with shape.c's kernels); slice backward scatters into zeros; tile and
 * repeat backward add in the element type, in the CPU's order.
 * Forward: every dtype (byte moves); backward: float dtypes for moves,
 * float32/float64 for tile and repeat (as shape.c).
 *
 * UNVERIFIED on a GPU: compiled for sm_90 only (see docs/gpu-kernels.md).
 */
#include "../kern-common.h"

template <class E> struct kf_gather {
  const E *s; E *d; mx_kc_gather g;
  __device__ void operator()(int64_t i) const { d[i] = s[mx_kc_gather_at(&g, i)]; }
};
template <class E> struct kf_scatter {
  const E *s; E *d; mx_kc_gather g;
  __device__ void operator()(int64_t i) const { d[mx_kc_gather_at(&g, i)] = s[i]; }
};

/* dst (contiguous, the plan's shape) = gather from src, or scatter src
 * (contiguous) into dst */
static mx_status move(const mx_op_ctx *c, const void *src, void *dst, int dtype,
                      const mx_kc_gather &g, int scatter) {
  cudaStream_t s = MX_KC_STREAM(c);
  int64_t n = mx_kc_gather_size(&g);
#define KC_MOVE(E)                                                                       \
  return scatter ? mx_kc_launch(s, n, kf_scatter<E>{(const E *)src, (E *)dst, g})        \
                 : mx_kc_launch(s, n, kf_gather<E>{(const E *)src, (E *)dst, g})
  switch (mx_cu_dtype_size(dtype)) {
    case 1: KC_MOVE(uint8_t);
    case 2: KC_MOVE(uint16_t);
    case 4: KC_MOVE(uint32_t);
    case 8: KC_MOVE(uint64_t);
    default: return MX_KC_DTYPE_ERROR(dtype);
  }
#undef KC_MOVE
}

static int is_float_dt(int dt) { return dt == MX_FLOAT32 || dt == MX_FLOAT64 || dt == MX_FLOAT16; }

#define KC_PLAN(call)                                                         \
  do {                                                                        \
    char msg_[MX_KC_MSG];                                                     \
    mx_status rc_ = (call);                                                   \
    if (rc_) return mx_error(rc_, "%s", msg_);                                \
  } while (0)
#define KC_GRAD_MOVE_CHECK(a)                                                 \
  do {                                                                        \
    if (!is_float_dt((a)->dtype)) return MX_KC_GRAD_DTYPE_ERROR((a)->dtype);  \
  } while (0)

/* ---------------------------------------------------- transpose, swap */

static int tr_axes = -1, sw_d1 = -1, sw_d2 = -1;

static mx_status perm_of(const mx_param_value *p, int swap, int nd, int *perm) {
  char msg[MX_KC_MSG];
  mx_status rc;
  if (swap) {
    MX_KC_PARAM(sw_d1, "SwapAxis", "dim1");
    MX_KC_PARAM(sw_d2, "SwapAxis", "dim2");
    rc = mx_kc_swap_perm(&p[sw_d1], &p[sw_d2], nd, perm, msg);
  } else {
    MX_KC_PARAM(tr_axes, "transpose", "axes");
    rc = mx_kc_transpose_perm(&p[tr_axes], nd, perm, msg);
  }
  return rc ? mx_error(rc, "%s", msg) : MX_OK;
}

static mx_status permute_fwd(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in,
                             mx_ndarray *const *out, int swap) {
  int perm[MX_MAX_DIM];
  mx_status rc = perm_of(p, swap, in[0]->shape.ndim, perm);
  if (rc) return rc;
  mx_kc_gather g;
  mx_kc_plan_permute(&in[0]->shape, perm, &g);
  return move(c, MX_PTR(in[0]), MX_PTR(out[0]), in[0]->dtype, g, 0);
}
/* backward: the inverse permutation of the output gradient */
static mx_status permute_bwd(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *og,
                             mx_ndarray *const *ig, const int *req, int swap) {
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  KC_GRAD_MOVE_CHECK(ig[0]);
  int nd = ig[0]->shape.ndim, perm[MX_MAX_DIM], inv[MX_MAX_DIM];
  mx_status rc = perm_of(p, swap, nd, perm);
  if (rc) return rc;
  for (int k = 0; k < nd; k++) inv[perm[k]] = k;
  mx_kc_gather g;
  mx_kc_plan_permute(&og[0]->shape, inv, &g);
  return move(c, MX_PTR(og[0]), MX_PTR(ig[0]), ig[0]->dtype, g, 0);
}

extern "C" mx_status mx_kc_transpose(KARGS) {
  UNUSED_KARGS;
  return permute_fwd(c, p, in, out, 0);
}
extern "C" mx_status mx_kc_transpose_grad(BARGS) {
  UNUSED_BARGS;
  return permute_bwd(c, p, og, ig, req, 0);
}
extern "C" mx_status mx_kc_swapaxis(KARGS) {
  UNUSED_KARGS;
  return permute_fwd(c, p, in, out, 1);
}
extern "C" mx_status mx_kc_swapaxis_grad(BARGS) {
  UNUSED_BARGS;
  return permute_bwd(c, p, og, ig, req, 1);
}

/* ------------------------------------------------- slice, slice_axis */

static int sl_b = -1, sl_e = -1, sl_s = -1, sa_a = -1, sa_b = -1, sa_e = -1;

static mx_status slice_plan(const mx_param_value *p, int axis_form, const mx_shape *is,
                            mx_kc_gather *g) {
  if (axis_form) {
    MX_KC_PARAM(sa_a, "slice_axis", "axis");
    MX_KC_PARAM(sa_b, "slice_axis", "begin");
    MX_KC_PARAM(sa_e, "slice_axis", "end");
    KC_PLAN(mx_kc_plan_slice_axis(&p[sa_a], &p[sa_b], &p[sa_e], is, g, msg_));
  } else {
    MX_KC_PARAM(sl_b, "slice", "begin");
    MX_KC_PARAM(sl_e, "slice", "end");
    MX_KC_PARAM(sl_s, "slice", "step");
    KC_PLAN(mx_kc_plan_slice(&p[sl_b], &p[sl_e], &p[sl_s], is, g, msg_));
  }
  return MX_OK;
}

static mx_status slice_fwd(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in,
                           mx_ndarray *const *out, int axis_form) {
  mx_kc_gather g;
  mx_status rc = slice_plan(p, axis_form, &in[0]->shape, &g);
  if (rc) return rc;
  return move(c, MX_PTR(in[0]), MX_PTR(out[0]), in[0]->dtype, g, 0);
}
/* zeros, and the output gradient scattered to the sliced positions */
static mx_status slice_bwd(const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *og,
                           mx_ndarray *const *ig, const int *req, int axis_form) {
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  mx_ndarray *D = ig[0];
  KC_GRAD_MOVE_CHECK(D);
  mx_kc_gather g;
  mx_status rc = slice_plan(p, axis_form, &D->shape, &g);
  if (!rc) rc = mx_cu_fill(MX_KC_STREAM(c), MX_PTR(D), D->dtype, mx_cu_size(&D->shape), 0.0);
  if (rc) return rc;
  return move(c, MX_PTR(og[0]), MX_PTR(D), D->dtype, g, 1);
}

extern "C" mx_status mx_kc_slice(KARGS) {
  UNUSED_KARGS;
  return slice_fwd(c, p, in, out, 0);
}
extern "C" mx_status mx_kc_slice_grad(BARGS) {
  UNUSED_BARGS;
  return slice_bwd(c, p, og, ig, req, 0);
}
extern "C" mx_status mx_kc_slice_axis(KARGS) {
  UNUSED_KARGS;
  return slice_fwd(c, p, in, out, 1);
}
extern "C" mx_status mx_kc_slice_axis_grad(BARGS) {
  UNUSED_BARGS;
  return slice_bwd(c, p, og, ig, req, 1);
}

/* ------------------------------------------------------------ reverse */

static int rv_axis = -1;

extern "C" mx_status mx_kc_reverse(KARGS) {
  UNUSED_KARGS;
  MX_KC_PARAM(rv_axis, "reverse", "axis");
  mx_kc_gather g;
  KC_PLAN(mx_kc_plan_reverse(&p[rv_axis], &in[0]->shape, &g, msg_));
  return move(c, MX_PTR(in[0]), MX_PTR(out[0]), in[0]->dtype, g, 0);
}
extern "C" mx_status mx_kc_reverse_grad(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  KC_GRAD_MOVE_CHECK(ig[0]);
  MX_KC_PARAM(rv_axis, "reverse", "axis");
  mx_kc_gather g;
  KC_PLAN(mx_kc_plan_reverse(&p[rv_axis], &ig[0]->shape, &g, msg_));
  return move(c, MX_PTR(og[0]), MX_PTR(ig[0]), ig[0]->dtype, g, 0);
}

/* ------------------------------------------------------- tile, repeat */

static int tl_reps = -1, rp_reps = -1, rp_axis = -1;

extern "C" mx_status mx_kc_tile(KARGS) {
  UNUSED_KARGS;
  MX_KC_PARAM(tl_reps, "tile", "reps");
  mx_kc_gather g;
  KC_PLAN(mx_kc_plan_tile(&p[tl_reps], &in[0]->shape, &g, msg_));
  return move(c, MX_PTR(in[0]), MX_PTR(out[0]), in[0]->dtype, g, 0);
}

template <class T> struct kf_tile_grad {
  const T *g; T *d; mx_kc_tileg t;
  __device__ void operator()(int64_t e) const {
    const T *b = g + mx_kc_tile_base(&t, e);
    T acc = 0;
    for (int64_t q = 0; q < t.Rt; q++) acc += b[mx_kc_tile_roff(&t, q)];
    d[e] = acc;
  }
};

extern "C" mx_status mx_kc_tile_grad(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  MX_KC_PARAM(tl_reps, "tile", "reps");
  mx_ndarray *D = ig[0];
  int nd;
  int64_t ish[MX_MAX_DIM], rep[MX_MAX_DIM];
  KC_PLAN(mx_kc_tile_dims(&p[tl_reps], &D->shape, &nd, ish, rep, msg_));
  mx_kc_tileg t;
  mx_kc_tile_make(nd, ish, rep, &t);
  int64_t n = mx_cu_size(&D->shape);
  MX_KC_FLOAT_SWITCH(D->dtype, T, {
    return mx_kc_launch(MX_KC_STREAM(c), n, kf_tile_grad<T>{MX_KC_PTR(og[0], T), MX_KC_PTR(D, T), t});
  });
  return MX_OK;
}

extern "C" mx_status mx_kc_repeat(KARGS) {
  UNUSED_KARGS;
  MX_KC_PARAM(rp_reps, "repeat", "repeats");
  MX_KC_PARAM(rp_axis, "repeat", "axis");
  mx_kc_gather g;
  KC_PLAN(mx_kc_plan_repeat(&p[rp_reps], &p[rp_axis], &in[0]->shape, &g, msg_));
  return move(c, MX_PTR(in[0]), MX_PTR(out[0]), in[0]->dtype, g, 0);
}

/* the gradient viewed as (outer, repeats, inner), summed over the middle */
template <class T> struct kf_repeat_grad {
  const T *g; T *d; int64_t r, inner;
  __device__ void operator()(int64_t q) const {
    int64_t o = q / inner, i = q - o * inner;
    T acc = 0;
    for (int64_t j = 0; j < r; j++) acc += g[(o * r + j) * inner + i];
    d[q] = acc;
  }
};

extern "C" mx_status mx_kc_repeat_grad(BARGS) {
  UNUSED_BARGS;
  if (req[0] != MX_REQ_WRITE) return MX_OK;
  MX_KC_PARAM(rp_reps, "repeat", "repeats");
  MX_KC_PARAM(rp_axis, "repeat", "axis");
  mx_ndarray *D = ig[0];
  int64_t r = p[rp_reps].i, inner = 1;
  if (p[rp_axis].is_set) {
    int ax = 0;
    KC_PLAN(mx_kc_axis("axis", p[rp_axis].i, D->shape.ndim, &ax, msg_));
    for (int k = ax + 1; k < D->shape.ndim; k++) inner *= D->shape.d[k];
  }
  int64_t n = mx_cu_size(&D->shape);
  MX_KC_FLOAT_SWITCH(D->dtype, T, {
    return mx_kc_launch(MX_KC_STREAM(c), n, kf_repeat_grad<T>{MX_KC_PTR(og[0], T), MX_KC_PTR(D, T), r, inner});
  });
  return MX_OK;
}

/* --------------------------------------------------------------- Crop */

static int cr_offset = -1, cr_center = -1;

static mx_status crop_params(const mx_param_value *p, const mx_shape *d) {
  MX_KC_PARAM(cr_offset, "Crop", "offset");
  MX_KC_PARAM(cr_center, "Crop", "center_crop");
  if (p[cr_offset].n != 2) return mx_error(MX_ERR_ARG, "parameter 'offset' must have 2 entries");
  if (d->ndim != 4)
    return mx_error(MX_ERR_SHAPE, "input 'data' must have 4 dimensions (NCHW), got %d", d->ndim);
  return MX_OK;
}

extern "C" mx_status mx_kc_crop(KARGS) {
  UNUSED_KARGS;
  mx_status rc = crop_params(p, &in[0]->shape);
  if (rc) return rc;
  mx_kc_gather g;
  mx_kc_plan_crop(&in[0]->shape, out[0]->shape.d[2], out[0]->shape.d[3], (int)p[cr_center].i,
                  &p[cr_offset], &g);
  return move(c, MX_PTR(in[0]), MX_PTR(out[0]), in[0]->dtype, g, 0);
}

/* the data's gradient is the output gradient padded with zeros; crop_like
 * gets zeros */
extern "C" mx_status mx_kc_crop_grad(BARGS) {
  UNUSED_BARGS;
  cudaStream_t s = MX_KC_STREAM(c);
  mx_status rc = MX_OK;
  if (nin > 1 && ig[1] && req[1] == MX_REQ_WRITE)
    rc = mx_cu_fill(s, MX_PTR(ig[1]), ig[1]->dtype, mx_cu_size(&ig[1]->shape), 0.0);
  if (rc || !ig[0] || req[0] != MX_REQ_WRITE) return rc;
  mx_ndarray *D = ig[0];
  rc = crop_params(p, &D->shape);
  if (!rc) rc = mx_cu_fill(s, MX_PTR(D), D->dtype, mx_cu_size(&D->shape), 0.0);
  if (rc) return rc;
  mx_kc_gather g;
  mx_kc_plan_crop(&D->shape, og[0]->shape.d[2], og[0]->shape.d[3], (int)p[cr_center].i,
                  &p[cr_offset], &g);
  return move(c, MX_PTR(og[0]), MX_PTR(D), D->dtype, g, 1);
}
