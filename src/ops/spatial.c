/*
 * spatial.c -- MXNet 1.9.1's spatial sampling ops: GridGenerator,
 * BilinearSampler, SpatialTransformer and ROIPooling, forward and backward,
 * float32 and float64, on 4-d (batch, channel, y, x) data in C order.
 *
 * Grids hold normalised coordinates: channel 0 is x, channel 1 is y, -1
 * the first pixel and 1 the last.  Sampling reads the four neighbours of
 * ((x + 1) (W - 1) / 2, (y + 1) (H - 1) / 2) with bilinear weights;
 * neighbours outside the data count as zero (as MXNet).
 *
 * Where this engine departs from MXNet 1.9.1 (on purpose):
 *  - the ops have one output: MXNet's hidden work outputs (GridGenerator's
 *    grid_dst, BilinearSampler's tmp, SpatialTransformer's grids,
 *    ROIPooling's maxidx) are not kept; the gradients recompute them.
 *  - ROIPooling rejects a roi whose batch index is outside the batch.
 */
#include "../include/mx-op.h"

#include <math.h>

#define DARGS const mx_param_value *p, int nin, int nout, unsigned char *ni, \
              unsigned char *no, unsigned char *ng
#define WANT(j) (ig[j] && (req[j] == MX_REQ_WRITE || req[j] == MX_REQ_INPLACE))

static mx_status shape4(mx_shape *s, int64_t a, int64_t b, int64_t c, int64_t d) {
  int64_t v[4] = {a, b, c, d};
  return mx_shape_make(s, 4, v);
}

static mx_status want_ndim(const mx_shape *s, int nd, const char *name, const char *layout) {
  if (s->ndim < 0 || s->ndim == nd) return MX_OK;
  return mx_error(MX_ERR_SHAPE, "input '%s' must be %d-d %s, not %d-d", name, nd, layout, s->ndim);
}

/* Fill an unknown input shape or check a known one. */
static mx_status fill_or_check(mx_shape *slot, const mx_shape *want, const char *name) {
  if (slot->ndim < 0) *slot = *want;
  if (mx_shape_equal(slot, want)) return MX_OK;
  char got[128], exp[128];
  mx_shape_format(slot, got, sizeof got);
  mx_shape_format(want, exp, sizeof exp);
  return mx_error(MX_ERR_SHAPE, "input '%s' has shape %s, expected %s", name, got, exp);
}

/* all inputs and the output's gradient */
static void deps_in_grad(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = 1;
  for (int k = 0; k < nout; k++) { no[k] = 0; ng[k] = 1; }
}

/* ================================================ bilinear sampling */

/* out[n, c] sampled from data[n, c] at grid[n] (2, OH, OW).  Backward
 * (dout given): ddata and dgrid (either may be NULL) accumulate. */
static mx_status sample(const mx_ndarray *data, const mx_ndarray *grid, const mx_ndarray *out,
                        const mx_ndarray *dout, const mx_ndarray *ddata, const mx_ndarray *dgrid) {
  const int64_t *d = data->shape.d, *g = grid->shape.d;
  int64_t N = d[0], C = d[1], H = d[2], W = d[3], OH = g[2], OW = g[3], P = OH * OW;
  MX_FLOAT_SWITCH(data->dtype, T, {
    const T *x = MX_DATA(data, T), *gr = MX_DATA(grid, T);
    T *y = out ? MX_DATA(out, T) : NULL;
    const T *dy = dout ? MX_DATA(dout, T) : NULL;
    T *dx = ddata ? MX_DATA(ddata, T) : NULL, *dg = dgrid ? MX_DATA(dgrid, T) : NULL;
    if (dx) memset(dx, 0, (size_t)(N * C * H * W) * sizeof(T));
    if (dg) memset(dg, 0, (size_t)(N * 2 * P) * sizeof(T));
    int nt = mx_par_threads(N * C * P * 4);
    if (nt > N) nt = (int)(N > 0 ? N : 1);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t n = 0; n < N; n++)
      for (int64_t q = 0; q < P; q++) {
        double xr = ((double)gr[(n * 2) * P + q] + 1) * (double)(W - 1) / 2;
        double yr = ((double)gr[(n * 2 + 1) * P + q] + 1) * (double)(H - 1) / 2;
        double fx0 = floor(xr), fy0 = floor(yr), fx = xr - fx0, fy = yr - fy0;
        int64_t x0 = (int64_t)fx0, y0 = (int64_t)fy0;
        int ok[4];
        int64_t off[4];
        double wt[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
        for (int k = 0; k < 4; k++) {
          int64_t xi = x0 + (k & 1), yi = y0 + (k >> 1);
          ok[k] = xi >= 0 && xi < W && yi >= 0 && yi < H;
          off[k] = ok[k] ? yi * W + xi : 0;
        }
        double gx = 0, gy = 0;
        for (int64_t c = 0; c < C; c++) {
          const T *xc = x + (n * C + c) * H * W;
          double v[4];
          for (int k = 0; k < 4; k++) v[k] = ok[k] ? (double)xc[off[k]] : 0;
          if (y) y[(n * C + c) * P + q] = (T)(v[0] * wt[0] + v[1] * wt[1] + v[2] * wt[2] + v[3] * wt[3]);
          if (!dy) continue;
          double go = dy[(n * C + c) * P + q];
          if (dx)
            for (int k = 0; k < 4; k++)
              if (ok[k]) dx[(n * C + c) * H * W + off[k]] += (T)(go * wt[k]);
          gx += go * ((1 - fy) * (v[1] - v[0]) + fy * (v[3] - v[2]));
          gy += go * ((1 - fx) * (v[2] - v[0]) + fx * (v[3] - v[1]));
        }
        if (dg) {
          dg[(n * 2) * P + q] = (T)(gx * (double)(W - 1) / 2);
          dg[(n * 2 + 1) * P + q] = (T)(gy * (double)(H - 1) / 2);
        }
      }
  });
  return MX_OK;
}

/* --------------------------------------------------- BilinearSampler */

enum { BS_CUDNN_OFF, BS_NPARAMS };
static const mx_param_desc p_bs[BS_NPARAMS] = {
  [BS_CUDNN_OFF] = {"cudnn_off", MX_PARAM_BOOL, MX_PF_OPTIONAL, NULL, NULL, "Ignored (no cuDNN)."},
};
static const char *const in_bs[] = {"data", "grid", NULL};

static mx_status shape_bs(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)p; (void)nin; (void)nout;
  mx_status rc = want_ndim(&in[0], 4, "data", "(batch, channel, y, x)");
  if (!rc) rc = want_ndim(&in[1], 4, "grid", "(batch, 2, y, x)");
  if (rc || in[0].ndim < 0 || in[1].ndim < 0) return rc;
  if (in[1].d[1] != 2 || in[1].d[0] != in[0].d[0])
    return mx_error(MX_ERR_SHAPE, "input 'grid' must be (batch, 2, y, x) with the data's batch size");
  return shape4(&out[0], in[0].d[0], in[0].d[1], in[1].d[2], in[1].d[3]);
}

static mx_status k_bs(KARGS) {
  UNUSED_KARGS;
  return sample(in[0], in[1], out[0], NULL, NULL, NULL);
}

static mx_status b_bs(BARGS) {
  UNUSED_BARGS;
  return sample(in[0], in[1], NULL, og[0], WANT(0) ? ig[0] : NULL, WANT(1) ? ig[1] : NULL);
}

/* ====================================================== grid makers */

/* affine (src theta (N, 6)): grid[n, r, h, w] = theta[n, r, 0] x_w +
 * theta[n, r, 1] y_h + theta[n, r, 2] with x_w = -1 + 2 w / (W - 1), y_h
 * likewise.  warp (src flow (N, 2, H, W)): grid[n, 0] = (w + flow[n, 0]) /
 * ((W - 1) / 2) - 1, channel 1 with h and H.  back: src receives the
 * gradient from the grid's. */
static mx_status grid_pass(int warp, const mx_ndarray *src, const mx_ndarray *grid, int back) {
  int64_t N = grid->shape.d[0], H = grid->shape.d[2], W = grid->shape.d[3], P = H * W;
  MX_FLOAT_SWITCH(src->dtype, T, {
    T *sp = MX_DATA(src, T), *g = MX_DATA(grid, T);
    for (int64_t n = 0; n < N; n++)
      for (int r = 0; r < 2; r++) {
        T *gr = g + (n * 2 + r) * P;
        T *t = warp ? NULL : sp + n * 6 + r * 3, *f = warp ? sp + (n * 2 + r) * P : NULL;
        double acc[3] = {0, 0, 0}, half = (double)((r == 0 ? W : H) - 1) / 2;
        for (int64_t q = 0; q < P; q++) {
          double xw = W > 1 ? -1.0 + (double)(q % W) * 2.0 / (double)(W - 1) : -1.0;
          double yh = H > 1 ? -1.0 + (double)(q / W) * 2.0 / (double)(H - 1) : -1.0;
          if (warp && back) {
            f[q] = (T)((double)gr[q] / half);
          } else if (warp) {
            gr[q] = (T)(((double)f[q] + (double)(r == 0 ? q % W : q / W)) / half - 1);
          } else if (back) {
            acc[0] += (double)gr[q] * xw;
            acc[1] += (double)gr[q] * yh;
            acc[2] += (double)gr[q];
          } else {
            gr[q] = (T)((double)t[0] * xw + (double)t[1] * yh + (double)t[2]);
          }
        }
        if (back && !warp)
          for (int k = 0; k < 3; k++) t[k] = (T)acc[k];
      }
  });
  return MX_OK;
}

/* ----------------------------------------------------- GridGenerator */

enum { GG_TRANSFORM_TYPE, GG_TARGET_SHAPE, GG_NPARAMS };
enum { GGT_AFFINE, GGT_WARP };
static const mx_param_desc p_gg[GG_NPARAMS] = {
  [GG_TRANSFORM_TYPE] = {"transform_type", MX_PARAM_ENUM, MX_PF_REQUIRED, NULL, "affine|warp", "affine: data (batch, 6) holds 2 x 3 affine matrices; warp: data (batch, 2, y, x) holds an optical flow."},
  [GG_TARGET_SHAPE] = {"target_shape", MX_PARAM_SHAPE, 0, "(0, 0)", NULL, "Affine: the output's (height, width) (engine order; an R vector is c(width, height))."},
};
static const char *const in_data[] = {"data", NULL};

/* the output grid's (height, width) of affine parameters */
static mx_status target_hw(const mx_param_value *tp, int64_t *h, int64_t *w) {
  if (tp->n != 2 || tp->tup[0] < 1 || tp->tup[1] < 1)
    return mx_error(MX_ERR_ARG, "parameter 'target_shape' must be two positive sizes");
  *h = tp->tup[0];
  *w = tp->tup[1];
  return MX_OK;
}

static mx_status shape_gg(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (p[GG_TRANSFORM_TYPE].i == GGT_WARP) {
    mx_status rc = want_ndim(&in[0], 4, "data", "(batch, 2, y, x) for warp");
    if (rc) return rc;
    if (in[0].d[1] != 2) return mx_error(MX_ERR_SHAPE, "warp: input 'data' must have 2 channels");
    out[0] = in[0];
    return MX_OK;
  }
  int64_t h = 0, w = 0;
  mx_status rc = target_hw(&p[GG_TARGET_SHAPE], &h, &w);
  if (rc) return rc;
  if (in[0].ndim != 2 || in[0].d[1] != 6)
    return mx_error(MX_ERR_SHAPE, "affine: input 'data' must be (batch, 6)");
  return shape4(&out[0], in[0].d[0], 2, h, w);
}

static mx_status k_gg(KARGS) {
  UNUSED_KARGS;
  return grid_pass(p[GG_TRANSFORM_TYPE].i == GGT_WARP, in[0], out[0], 0);
}

static mx_status b_gg(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  return grid_pass(p[GG_TRANSFORM_TYPE].i == GGT_WARP, ig[0], og[0], 1);
}

/* ------------------------------------------------ SpatialTransformer */

enum { ST_TARGET_SHAPE, ST_TRANSFORM_TYPE, ST_SAMPLER_TYPE, ST_CUDNN_OFF, ST_NPARAMS };
static const mx_param_desc p_st[ST_NPARAMS] = {
  [ST_TARGET_SHAPE] = {"target_shape", MX_PARAM_SHAPE, 0, "(0, 0)", NULL, "The output's (height, width) (engine order; an R vector is c(width, height))."},
  [ST_TRANSFORM_TYPE] = {"transform_type", MX_PARAM_ENUM, MX_PF_REQUIRED, NULL, "affine", "The transformation: affine (loc holds 2 x 3 matrices)."},
  [ST_SAMPLER_TYPE] = {"sampler_type", MX_PARAM_ENUM, MX_PF_REQUIRED, NULL, "bilinear", "The sampler: bilinear."},
  [ST_CUDNN_OFF] = {"cudnn_off", MX_PARAM_BOOL, MX_PF_OPTIONAL, NULL, NULL, "Ignored (no cuDNN)."},
};
static const char *const in_st[] = {"data", "loc", NULL};

static mx_status shape_st(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  int64_t h = 0, w = 0;
  mx_status rc = target_hw(&p[ST_TARGET_SHAPE], &h, &w);
  if (!rc) rc = want_ndim(&in[0], 4, "data", "(batch, channel, y, x)");
  if (rc || in[0].ndim < 0) return rc;
  mx_shape ls;
  int64_t ld[2] = {in[0].d[0], 6};
  if ((rc = mx_shape_make(&ls, 2, ld)) || (rc = fill_or_check(&in[1], &ls, "loc"))) return rc;
  return shape4(&out[0], in[0].d[0], in[0].d[1], h, w);
}

/* the sampling grid of loc, in a new array */
static mx_status st_grid(const mx_param_value *p, const mx_ndarray *data, const mx_ndarray *loc,
                         mx_ndarray **grid) {
  mx_shape gs;
  mx_status rc = shape4(&gs, data->shape.d[0], 2, p[ST_TARGET_SHAPE].tup[0], p[ST_TARGET_SHAPE].tup[1]);
  if (!rc) rc = mx_ndarray_new(&gs, data->dtype, data->ctx, grid);
  if (!rc) rc = grid_pass(0, loc, *grid, 0);
  return rc;
}

static mx_status k_st(KARGS) {
  UNUSED_KARGS;
  mx_ndarray *grid = NULL;
  mx_status rc = st_grid(p, in[0], in[1], &grid);
  if (!rc) rc = sample(in[0], grid, out[0], NULL, NULL, NULL);
  mx_ndarray_free(grid);
  return rc;
}

static mx_status b_st(BARGS) {
  UNUSED_BARGS;
  mx_ndarray *grid = NULL, *dgrid = NULL;
  mx_status rc = st_grid(p, in[0], in[1], &grid);
  if (!rc && WANT(1)) rc = mx_ndarray_new(&grid->shape, grid->dtype, grid->ctx, &dgrid);
  if (!rc) rc = sample(in[0], grid, NULL, og[0], WANT(0) ? ig[0] : NULL, dgrid);
  if (!rc && dgrid) rc = grid_pass(0, ig[1], dgrid, 1);
  mx_ndarray_free(grid);
  mx_ndarray_free(dgrid);
  return rc;
}

/* ======================================================== ROIPooling
 * Each roi (batch index, x1, y1, x2, y2) in input coordinates is scaled by
 * spatial_scale and rounded; its (h, w) box is split into pooled_size bins
 * [floor(i h / ph), ceil((i + 1) h / ph)) (offset by the box's corner,
 * clipped to the data); each output is its bin's maximum (0 when empty). */

enum { RP_POOLED_SIZE, RP_SPATIAL_SCALE, RP_NPARAMS };
static const mx_param_desc p_roi[RP_NPARAMS] = {
  [RP_POOLED_SIZE] = {"pooled_size", MX_PARAM_SHAPE, MX_PF_REQUIRED, NULL, NULL, "The output's (height, width) per roi (engine order; an R vector is c(width, height))."},
  [RP_SPATIAL_SCALE] = {"spatial_scale", MX_PARAM_FLOAT, MX_PF_REQUIRED, NULL, NULL, "Ratio of the data's size to the input image's (the rois' coordinates are multiplied by it)."},
};
static const char *const in_roi[] = {"data", "rois", NULL};

static mx_status shape_roi(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  const mx_param_value *ps = &p[RP_POOLED_SIZE];
  if (ps->n != 2 || ps->tup[0] < 1 || ps->tup[1] < 1)
    return mx_error(MX_ERR_ARG, "parameter 'pooled_size' must be two positive sizes");
  if (!(p[RP_SPATIAL_SCALE].f > 0)) return mx_error(MX_ERR_ARG, "parameter 'spatial_scale' must be positive");
  mx_status rc = want_ndim(&in[0], 4, "data", "(batch, channel, y, x)");
  if (!rc) rc = want_ndim(&in[1], 2, "rois", "(number of rois, 5)");
  if (rc || in[0].ndim < 0 || in[1].ndim < 0) return rc;
  if (in[1].d[1] != 5) return mx_error(MX_ERR_SHAPE, "input 'rois' must be (number of rois, 5)");
  return shape4(&out[0], in[1].d[0], in[0].d[1], ps->tup[0], ps->tup[1]);
}

/* Max pooling of every roi bin; back: the output's gradient goes to each
 * bin's maximum (the first one in row-major order). */
static mx_status roi_pass(const mx_param_value *p, const mx_ndarray *data, const mx_ndarray *rois,
                          const mx_ndarray *out, const mx_ndarray *dout, const mx_ndarray *ddata) {
  const int64_t *d = data->shape.d;
  int64_t N = d[0], C = d[1], H = d[2], W = d[3], R = rois->shape.d[0];
  int64_t PH = p[RP_POOLED_SIZE].tup[0], PW = p[RP_POOLED_SIZE].tup[1];
  double sc = p[RP_SPATIAL_SCALE].f;
  for (int64_t r = 0; r < R; r++) {
    double b = mx_load_f64(MX_PTR(rois), rois->dtype, r * 5);
    if (!(b >= 0 && b < (double)N))
      return mx_error(MX_ERR_ARG, "roi %lld has batch index %g, outside [0, %lld)", (long long)r + 1, b,
                      (long long)N);
  }
  MX_FLOAT_SWITCH(data->dtype, T, {
    const T *x = MX_DATA(data, T);
    T *y = out ? MX_DATA(out, T) : NULL, *dx = ddata ? MX_DATA(ddata, T) : NULL;
    const T *dy = dout ? MX_DATA(dout, T) : NULL;
    if (dx) memset(dx, 0, (size_t)(N * C * H * W) * sizeof(T));
    for (int64_t r = 0; r < R; r++) {
      double rv[5];
      for (int k = 0; k < 5; k++) rv[k] = mx_load_f64(MX_PTR(rois), rois->dtype, r * 5 + k);
      int64_t n = (int64_t)rv[0];
      int64_t x1 = (int64_t)round(rv[1] * sc), y1 = (int64_t)round(rv[2] * sc);
      int64_t x2 = (int64_t)round(rv[3] * sc), y2 = (int64_t)round(rv[4] * sc);
      double bh = (double)(y2 - y1 + 1 > 1 ? y2 - y1 + 1 : 1) / (double)PH;
      double bw = (double)(x2 - x1 + 1 > 1 ? x2 - x1 + 1 : 1) / (double)PW;
      for (int64_t c = 0; c < C; c++) {
        const T *xc = x + (n * C + c) * H * W;
        for (int64_t i = 0; i < PH * PW; i++) {
          int64_t ph = i / PW, pw = i % PW;
          int64_t hs = (int64_t)floor((double)ph * bh) + y1, he = (int64_t)ceil((double)(ph + 1) * bh) + y1;
          int64_t ws = (int64_t)floor((double)pw * bw) + x1, we = (int64_t)ceil((double)(pw + 1) * bw) + x1;
          hs = hs < 0 ? 0 : hs > H ? H : hs;
          he = he < 0 ? 0 : he > H ? H : he;
          ws = ws < 0 ? 0 : ws > W ? W : ws;
          we = we < 0 ? 0 : we > W ? W : we;
          int64_t best = -1;
          for (int64_t hh = hs; hh < he; hh++)
            for (int64_t ww = ws; ww < we; ww++)
              if (best < 0 || xc[hh * W + ww] > xc[best]) best = hh * W + ww;
          int64_t o = (r * C + c) * PH * PW + i;
          if (y) y[o] = best < 0 ? (T)0 : xc[best];
          if (dx && best >= 0) dx[(n * C + c) * H * W + best] += dy[o];
        }
      }
    }
  });
  return MX_OK;
}

static mx_status k_roi(KARGS) {
  UNUSED_KARGS;
  return roi_pass(p, in[0], in[1], out[0], NULL, NULL);
}

/* the rois get a zero gradient */
static mx_status b_roi(BARGS) {
  UNUSED_BARGS;
  mx_status rc = WANT(1) ? mx_ndarray_fill(ig[1], 0) : MX_OK;
  if (!rc && WANT(0)) rc = roi_pass(p, in[0], in[1], NULL, og[0], ig[0]);
  return rc;
}

/* ========================================================== registry */

const mx_op mx_ops_spatial[] = {
  {.name = "GridGenerator",
   .doc = "Make a sampling grid for BilinearSampler: from 2 x 3 affine matrices (data (batch, 6), output (batch, 2, target_shape)) or from an optical flow (warp: data (batch, 2, y, x)). Channel 0 holds x, channel 1 y, normalised to [-1, 1].",
   .num_inputs = 1, .input_names = in_data, .num_outputs = 1, .params = p_gg,
   .num_params = MX_NPARAMS(p_gg), .infer_shape = shape_gg, .cpu = k_gg, .backward = b_gg,
   .backward_deps = mx_deps_out_grads},
  {.name = "BilinearSampler",
   .doc = "Sample 4-d data at the normalised coordinates of a grid (batch, 2, y, x) with bilinear interpolation; points outside the data read zeros.",
   .num_inputs = 2, .input_names = in_bs, .num_outputs = 1, .params = p_bs,
   .num_params = MX_NPARAMS(p_bs), .infer_shape = shape_bs, .cpu = k_bs, .backward = b_bs,
   .backward_deps = deps_in_grad},
  {.name = "SpatialTransformer",
   .doc = "Spatial transformer: warp 4-d data by per-example 2 x 3 affine matrices loc (batch, 6) into target_shape with bilinear sampling (GridGenerator then BilinearSampler).",
   .num_inputs = 2, .input_names = in_st, .num_outputs = 1, .params = p_st,
   .num_params = MX_NPARAMS(p_st), .infer_shape = shape_st, .cpu = k_st, .backward = b_st,
   .flags = MX_OPF_PARTIAL_SHAPE, .backward_deps = deps_in_grad},
  {.name = "ROIPooling",
   .doc = "Max pooling of regions of interest: every roi (batch index, x1, y1, x2, y2) of the input image, scaled by spatial_scale, is pooled into pooled_size bins per channel.",
   .num_inputs = 2, .input_names = in_roi, .num_outputs = 1, .params = p_roi,
   .num_params = MX_NPARAMS(p_roi), .infer_shape = shape_roi, .cpu = k_roi,
   .backward = b_roi, .backward_deps = deps_in_grad},
  {.name = NULL},
};
