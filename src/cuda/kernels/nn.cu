/*
 * nn.cu -- layers and loss heads of src/ops/nn.c on the GPU:
 * SoftmaxOutput, LinearRegressionOutput, LogisticRegressionOutput,
 * MAERegressionOutput, LeakyReLU (leaky, elu, prelu, rrelu, selu, gelu),
 * Dropout and Embedding, forward and backward, float32 and float64.
 *
 * Random numbers (Dropout's mask, rrelu's slopes) come from
 * mx_kc_uniform_* (kern-common.h): Philox-4x32-10 with rng.c's layout, so
 * the same c->rng (seed and counter) gives the same mask as the CPU, and a
 * mirror recomputation of the forward (same c->rng) the same mask again.
 *
 * Differences from the CPU: SoftmaxOutput's backward cannot raise the CPU's
 * error for a label outside [0, K) without waiting for the device; it
 * writes NaN into that position's gradient instead (docs/gpu-kernels.md).
 * Float exp/sigmoid use CUDA's expf (the CPU a polynomial within 2 ulp).
 *
 * UNVERIFIED on a GPU: compiled for sm_90 only (see docs/gpu-kernels.md).
 */
#include "../kern-common.h"

#define WANT(j) (ig[j] && (req[j] == MX_REQ_WRITE || req[j] == MX_REQ_INPLACE))

static mx_status dev_fill(const mx_op_ctx *c, mx_ndarray *a, double v) {
  return mx_cu_fill(MX_KC_STREAM(c), MX_PTR(a), a->dtype, mx_cu_size(&a->shape), v);
}
static mx_status dev_copy(const mx_op_ctx *c, const mx_ndarray *src, mx_ndarray *dst) {
  size_t nb = (size_t)mx_cu_size(&dst->shape) * mx_cu_dtype_size(dst->dtype);
  if (nb && MX_PTR(src) != MX_PTR(dst))
    MX_CUDA_TRY(cudaMemcpyAsync(MX_PTR(dst), MX_PTR(src), nb, cudaMemcpyDeviceToDevice,
                                MX_KC_STREAM(c)));
  return MX_OK;
}

/* ====================================================== SoftmaxOutput */

static int so_scale = -1, so_ign = -1, so_multi = -1, so_useign = -1, so_pres = -1,
           so_norm = -1, so_og = -1, so_smooth = -1;

static mx_status so_params(void) {
  MX_KC_PARAM(so_scale, "SoftmaxOutput", "grad_scale");
  MX_KC_PARAM(so_ign, "SoftmaxOutput", "ignore_label");
  MX_KC_PARAM(so_multi, "SoftmaxOutput", "multi_output");
  MX_KC_PARAM(so_useign, "SoftmaxOutput", "use_ignore");
  MX_KC_PARAM(so_pres, "SoftmaxOutput", "preserve_shape");
  MX_KC_PARAM(so_norm, "SoftmaxOutput", "normalization");
  MX_KC_PARAM(so_og, "SoftmaxOutput", "out_grad");
  MX_KC_PARAM(so_smooth, "SoftmaxOutput", "smooth_alpha");
  return MX_OK;
}

/* One row (o, s): K entries at stride inner.  Max with NaN propagation;
 * exponentials rounded to T, summed in double; then scaled (nn.c). */
template <class T> struct kf_softmax_row {
  const T *x; T *y; int64_t K, inner;
  __device__ void operator()(int64_t r) const {
    int64_t o = r / inner, s = r % inner;
    const T *xr = x + o * K * inner + s;
    T *yr = y + o * K * inner + s;
    T mx = (T)-CUDART_INF;
    for (int64_t k = 0; k < K; k++) {
      T v = xr[k * inner];
      if (v > mx || v != v) mx = v;
    }
    double sum = 0;
    for (int64_t k = 0; k < K; k++) {
      T e = (T)exp(xr[k * inner] - mx);
      yr[k * inner] = e;
      sum += e;
    }
    T inv = (T)(1.0 / sum);
    for (int64_t k = 0; k < K; k++) yr[k * inner] *= inv;
  }
};

/* One block per row for long rows (inner == 1 or not). */
template <class T>
__global__ void kc_softmax_block(const T *x, T *y, int64_t rows, int64_t K, int64_t inner) {
  __shared__ double sh[MX_KC_BLOCK];
  __shared__ T shm[MX_KC_BLOCK];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    int64_t o = r / inner, s = r % inner;
    const T *xr = x + o * K * inner + s;
    T *yr = y + o * K * inner + s;
    T mx = (T)-CUDART_INF;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
      T v = xr[k * inner];
      if (v > mx || v != v) mx = v;
    }
    shm[threadIdx.x] = mx;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
      if ((int)threadIdx.x < h) {
        T v = shm[threadIdx.x + h];
        if (v > shm[threadIdx.x] || v != v) shm[threadIdx.x] = v;
      }
      __syncthreads();
    }
    mx = shm[0];
    double sum = 0;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
      T e = (T)exp(xr[k * inner] - mx);
      yr[k * inner] = e;
      sum += e;
    }
    sh[threadIdx.x] = sum;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
      if ((int)threadIdx.x < h) sh[threadIdx.x] += sh[threadIdx.x + h];
      __syncthreads();
    }
    T inv = (T)(1.0 / sh[0]);
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) yr[k * inner] *= inv;
    __syncthreads();
  }
}

template <class T>
static mx_status softmax_rows(cudaStream_t s, const T *x, T *y, int64_t outer, int64_t K,
                              int64_t inner) {
  int64_t rows = outer * inner;
  if (K == 0 || rows == 0) return MX_OK;
  if (K >= 128) {
    unsigned g = rows < MX_KC_MAX_GRID ? (unsigned)rows : MX_KC_MAX_GRID;
    MX_KC_KERNEL(kc_softmax_block<T>, g, MX_KC_BLOCK, s, x, y, rows, K, inner);
    MX_CUDA_TRY(cudaGetLastError());
    return MX_OK;
  }
  return mx_kc_launch(s, rows, kf_softmax_row<T>{x, y, K, inner});
}

static mx_status so_layout(const mx_param_value *p, const mx_shape *d, int64_t *outer, int64_t *K,
                           int64_t *inner) {
  if (!mx_kc_so_layout((int)p[so_multi].i, (int)p[so_pres].i, d, outer, K, inner))
    return mx_error(MX_ERR_SHAPE, p[so_multi].i ? "multi_output needs data with at least 2 dimensions"
                                                 : "input 'data' must have at least one dimension");
  return MX_OK;
}

extern "C" mx_status mx_kc_softmax_output(KARGS) {
  UNUSED_KARGS;
  mx_status rc = so_params();
  int64_t outer = 0, K = 0, inner = 1;
  if (!rc) rc = so_layout(p, &in[0]->shape, &outer, &K, &inner);
  if (rc) return rc;
  MX_KC_FLOAT_SWITCH(out[0]->dtype, T, {
    return softmax_rows<T>(MX_KC_STREAM(c), MX_KC_PTR(in[0], T), MX_KC_PTR(out[0], T), outer, K,
                           inner);
  });
  return MX_OK;
}

/* count of labels that differ from ignore_label, into *cnt (zeroed first).
 * The counter is a device variable of the module (one per device): the
 * device's one stream orders its uses, and no allocation makes SoftmaxOutput
 * safe inside a CUDA graph. */
__device__ unsigned long long kc_so_valid_count;
#define KC_MAX_DEVICES 64
static unsigned long long *kc_so_valid_at[KC_MAX_DEVICES];

static mx_status so_counter(const mx_op_ctx *c, unsigned long long **out) {
  int dev = mx_cuda_of(c)->id;
  if (dev < 0 || dev >= KC_MAX_DEVICES)
    return mx_error(MX_ERR_DEVICE, "SoftmaxOutput: device %d is beyond the module's %d", dev,
                    KC_MAX_DEVICES);
  if (!kc_so_valid_at[dev])
    MX_CUDA_TRY(cudaGetSymbolAddress((void **)&kc_so_valid_at[dev], (const void *)&kc_so_valid_count));
  *out = kc_so_valid_at[dev];
  return MX_OK;
}

struct kf_so_valid {
  const void *lab; int ldt; int64_t ign; unsigned long long *cnt;
  __device__ void operator()(int64_t i) const {
    if (mx_kc_so_valid(mx_kc_load_f64(lab, ldt, i), ign)) atomicAdd(cnt, 1ull);
  }
};

template <class T> struct kf_so_grad {
  const T *y, *go; T *d; const void *lab; int ldt;
  int64_t K, inner, outer, L, ign; int use_ignore, norm, multi;
  const unsigned long long *valid; double gscale, on, off;
  __device__ void operator()(int64_t i) const {
    int64_t k, li = mx_kc_so_index(i, K, inner, &k);
    int64_t l = mx_kc_so_label(mx_kc_load_f64(lab, ldt, li), K, use_ignore, ign);
    if (l == -2) {               /* the CPU raises an error here */
      d[i] = (T)CUDART_NAN;
      return;
    }
    double denom = mx_kc_so_denom(norm, multi, outer, L, valid ? (int64_t)*valid : 0);
    d[i] = (T)mx_kc_so_grad((double)y[i], l, k, on, off, gscale / denom,
                            go ? (double)go[i] : 1.0);
  }
};

extern "C" mx_status mx_kc_softmax_output_grad(BARGS) {
  UNUSED_BARGS;
  mx_status rc = so_params();
  if (rc) return rc;
  if (nin > 1 && WANT(1)) {
    rc = dev_fill(c, ig[1], 0);
    if (rc) return rc;
  }
  if (!WANT(0)) return MX_OK;
  const mx_ndarray *Y = out[0];
  int64_t outer = 0, K = 0, inner = 1;
  rc = so_layout(p, &Y->shape, &outer, &K, &inner);
  if (rc) return rc;
  int64_t L = outer * inner, n = mx_cu_size(&Y->shape);
  if (p[so_og].i && !og[0])
    return mx_error(MX_ERR_UNSUPPORTED,
                    "out_grad = TRUE needs the output's gradient, which this call does not pass to a loss op");
  if (mx_cu_size(&in[1]->shape) != L)
    return mx_error(MX_ERR_SHAPE, "'label' has %lld elements, expected %lld",
                    (long long)mx_cu_size(&in[1]->shape), (long long)L);
  cudaStream_t s = MX_KC_STREAM(c);
  int64_t ign = mx_kc_sat_i64(p[so_ign].f);
  int norm = (int)p[so_norm].i;
  unsigned long long *valid = NULL;
  if (norm == MX_KC_NORM_VALID) {
    rc = so_counter(c, &valid);
    if (rc) return rc;
    MX_CUDA_TRY(cudaMemsetAsync(valid, 0, sizeof *valid, s));
    rc = mx_kc_launch(s, L, kf_so_valid{MX_PTR(in[1]), in[1]->dtype, ign, valid});
  }
  double alpha = p[so_smooth].f;
  double on = 1 - alpha, off = K > 1 ? alpha / (double)(K - 1) : 0;
  if (!rc) {
    MX_KC_FLOAT_SWITCH(Y->dtype, T, {
      kf_so_grad<T> f{MX_KC_PTR(Y, T), p[so_og].i ? MX_KC_PTR(og[0], T) : NULL, MX_KC_PTR(ig[0], T),
                      MX_PTR(in[1]), in[1]->dtype, K, inner, outer, L, ign,
                      (int)p[so_useign].i, norm, (int)p[so_multi].i, valid, p[so_scale].f, on, off};
      rc = mx_kc_launch(s, n, f);
    });
  }
  return rc;
}

/* ================================================ regression outputs */

static int rg_scale = -1;

template <class T> struct kf_sigmoid {
  const T *x; T *y;
  __device__ void operator()(int64_t i) const { y[i] = (T)(1 / (1 + exp(-x[i]))); }
};

extern "C" mx_status mx_kc_linreg(KARGS) {
  UNUSED_KARGS;
  return dev_copy(c, in[0], out[0]);
}
extern "C" mx_status mx_kc_logreg(KARGS) {
  UNUSED_KARGS;
  int64_t n = mx_cu_size(&out[0]->shape);
  MX_KC_FLOAT_SWITCH(out[0]->dtype, T, {
    return mx_kc_launch(MX_KC_STREAM(c), n, kf_sigmoid<T>{MX_KC_PTR(in[0], T), MX_KC_PTR(out[0], T)});
  });
  return MX_OK;
}

/* (out - label) * s, or sign(out - label) * s (MAE); the label converted
 * to the output's dtype first, as nn.c's as_dtype */
template <class T> struct kf_reg_grad {
  const T *y; const void *lab; int ldt; T *d; T s; int mae;
  __device__ void operator()(int64_t i) const {
    T l = (T)mx_kc_load_f64(lab, ldt, i);
    T e = y[i] - l;
    d[i] = mae ? (e > 0 ? s : e < 0 ? -s : (T)0) : e * s;
  }
};

static mx_status regression_bwd(const mx_op_ctx *c, const mx_param_value *p, int nin,
                                mx_ndarray *const *in, mx_ndarray *const *out,
                                mx_ndarray *const *ig, const int *req, int mae) {
  MX_KC_PARAM(rg_scale, "LinearRegressionOutput", "grad_scale");
  if (nin > 1 && WANT(1)) {
    mx_status rc = dev_fill(c, ig[1], 0);
    if (rc) return rc;
  }
  if (!WANT(0)) return MX_OK;
  int64_t n = mx_cu_size(&out[0]->shape), nl = mx_cu_size(&in[1]->shape);
  if (nl != n)
    return mx_error(MX_ERR_SHAPE, "'label' has %lld elements, expected %lld", (long long)nl, (long long)n);
  int64_t batch = in[1]->shape.ndim > 0 ? in[1]->shape.d[0] : 1;
  double num_output = batch > 0 ? (double)(nl / batch) : 1;
  if (num_output <= 0) num_output = 1;
  double sc = p[rg_scale].f / num_output;
  MX_KC_FLOAT_SWITCH(out[0]->dtype, T, {
    kf_reg_grad<T> f{MX_KC_PTR(out[0], T), MX_PTR(in[1]), in[1]->dtype, MX_KC_PTR(ig[0], T), (T)sc, mae};
    return mx_kc_launch(MX_KC_STREAM(c), n, f);
  });
  return MX_OK;
}

extern "C" mx_status mx_kc_linreg_grad(BARGS) {
  UNUSED_BARGS;
  return regression_bwd(c, p, nin, in, out, ig, req, 0);
}
extern "C" mx_status mx_kc_mae_grad(BARGS) {
  UNUSED_BARGS;
  return regression_bwd(c, p, nin, in, out, ig, req, 1);
}

/* =========================================================== MakeLoss */

static int ml_scale = -1, ml_norm = -1;

/* the gradient is grad_scale, divided by the batch size (first axis) for
 * normalization "batch"; "valid" is refused by supports() */
extern "C" mx_status mx_kc_make_loss_grad(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  MX_KC_PARAM(ml_scale, "MakeLoss", "grad_scale");
  MX_KC_PARAM(ml_norm, "MakeLoss", "normalization");
  double g = p[ml_scale].f;
  if (p[ml_norm].i == MX_KC_NORM_BATCH) {
    int64_t b = ig[0]->shape.ndim > 0 ? ig[0]->shape.d[0] : 1;
    g /= (double)(b > 0 ? b : 1);
  } else if (p[ml_norm].i != MX_KC_NORM_NULL) {
    return mx_error(MX_ERR_UNSUPPORTED, "MakeLoss: normalization 'valid' has no GPU kernel");
  }
  return dev_fill(c, ig[0], g);
}

extern "C" int mx_kc_supports_make_loss(MX_KC_SUPPORTS_ARGS) {
  (void)nin; (void)in_shapes; (void)in_dtypes;
  MX_KC_PARAM_OR_REFUSE(ml_norm, "MakeLoss", "normalization", why);
  if (p[ml_norm].i == MX_KC_NORM_VALID) {
    *why = "MakeLoss with normalization = 'valid' has no GPU kernel";
    return 0;
  }
  return 1;
}

/* ========================================================== LeakyReLU */

enum { LR_LEAKY, LR_ELU, LR_PRELU, LR_RRELU, LR_SELU, LR_GELU };
static int lr_act = -1, lr_slope = -1, lr_lower = -1, lr_upper = -1;

static mx_status leaky_params(void) {
  MX_KC_PARAM(lr_act, "LeakyReLU", "act_type");
  MX_KC_PARAM(lr_slope, "LeakyReLU", "slope");
  MX_KC_PARAM(lr_lower, "LeakyReLU", "lower_bound");
  MX_KC_PARAM(lr_upper, "LeakyReLU", "upper_bound");
  return MX_OK;
}

#define KC_SQRT1_2 0.70710678118654752440
#define KC_SELU_ALPHA 1.6732632423543772848170429916717
#define KC_SELU_LAMBDA 1.0507009873554804934193349852946

/* leaky, elu, selu, gelu, prelu (gamma per channel: (i / inner) % C, or
 * gamma[0]), rrelu (slope from the mask) */
template <class T> struct kf_leaky {
  const T *x, *gm, *m; T *y; T s; int act; int64_t C, inner, ng;
  __device__ void operator()(int64_t i) const {
    T v = x[i];
    switch (act) {
      case LR_LEAKY: y[i] = v > 0 ? v : s * v; break;
      case LR_ELU: y[i] = v > 0 ? v : s * (T)expm1((double)v); break;
      case LR_SELU:
        y[i] = (T)(KC_SELU_LAMBDA * (v > 0 ? (double)v : KC_SELU_ALPHA * expm1((double)v)));
        break;
      case LR_GELU: {
        double xd = (double)v;
        y[i] = (T)(0.5 * xd * (1 + erf(xd * KC_SQRT1_2)));
        break;
      }
      case LR_PRELU: {
        T gv = gm[ng == 1 ? 0 : (i / inner) % C];
        y[i] = v > 0 ? v : gv * v;
        break;
      }
      default: y[i] = v > 0 ? v : m[i] * v; break;   /* rrelu */
    }
  }
};
template <class T> struct kf_leaky_grad {
  const T *g, *x, *gm, *m; T *d; T s; int act; int64_t C, inner, ng;
  __device__ void operator()(int64_t i) const {
    T v = x[i], gv = g[i];
    switch (act) {
      case LR_LEAKY: d[i] = v > 0 ? gv : s * gv; break;
      case LR_ELU: d[i] = v > 0 ? gv : gv * s * (T)exp((double)v); break;
      case LR_SELU:
        d[i] = (T)((double)gv * KC_SELU_LAMBDA * (v > 0 ? 1.0 : KC_SELU_ALPHA * exp((double)v)));
        break;
      case LR_GELU: {
        double xd = (double)v;
        d[i] = (T)((double)gv * (0.5 * (1 + erf(xd * KC_SQRT1_2)) +
                                 xd * exp(-0.5 * xd * xd) * 0.39894228040143267794));
        break;
      }
      case LR_PRELU: d[i] = v > 0 ? gv : gm[ng == 1 ? 0 : (i / inner) % C] * gv; break;
      default: d[i] = v > 0 ? gv : m[i] * gv; break;
    }
  }
};
/* rrelu's mask: uniforms in [lower, upper) from c->rng, or their mean */
template <class T> struct kf_rrelu_mask {
  T *m; uint64_t seed, base; double lo, hi; int train;
  __device__ void operator()(int64_t i) const {
    if (!train) m[i] = (T)((lo + hi) / 2);
    else if (sizeof(T) == sizeof(float)) m[i] = (T)mx_kc_uniform_f32(seed, base, i, lo, hi);
    else m[i] = (T)mx_kc_uniform_f64(seed, base, i, lo, hi);
  }
};
/* prelu's d gamma: one block per channel, sum of g * x where x <= 0 in
 * double over (outer, inner) (all of them when gamma has one element) */
template <class T>
__global__ void kc_prelu_dgamma(const T *g, const T *x, T *dg, int64_t outer, int64_t C,
                                int64_t inner, int64_t ng) {
  __shared__ double sh[MX_KC_BLOCK];
  int64_t per = ng == 1 ? outer * C * inner : outer * inner;
  for (int64_t ch = blockIdx.x; ch < ng; ch += gridDim.x) {
    double acc = 0;
    for (int64_t r = threadIdx.x; r < per; r += blockDim.x) {
      int64_t i = ng == 1 ? r : ((r / inner) * C + ch) * inner + r % inner;
      acc += x[i] > 0 ? 0 : (double)g[i] * x[i];
    }
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
      if ((int)threadIdx.x < h) sh[threadIdx.x] += sh[threadIdx.x + h];
      __syncthreads();
    }
    if (threadIdx.x == 0) dg[ch] = (T)sh[0];
    __syncthreads();
  }
}

static void leaky_dims(const mx_ndarray *x, int64_t n, int64_t *outer, int64_t *C, int64_t *inner) {
  if (x->shape.ndim >= 2) {
    int64_t cc;
    mx_kc_split_at(&x->shape, 1, outer, &cc, inner);
    *C = cc;
  } else {
    *outer = 1;
    *C = 1;
    *inner = n;
  }
}

extern "C" mx_status mx_kc_leaky(KARGS) {
  UNUSED_KARGS;
  mx_status rc = leaky_params();
  if (rc) return rc;
  int act = (int)p[lr_act].i;
  int64_t n = mx_cu_size(&out[0]->shape), outer, C, inner;
  leaky_dims(in[0], n, &outer, &C, &inner);
  cudaStream_t s = MX_KC_STREAM(c);
  MX_KC_FLOAT_SWITCH(out[0]->dtype, T, {
    const T *gm = act == LR_PRELU ? MX_KC_PTR(in[1], T) : NULL;
    int64_t ng = act == LR_PRELU ? mx_cu_size(&in[1]->shape) : 1;
    T *m = act == LR_RRELU ? MX_KC_PTR(out[1], T) : NULL;
    if (act == LR_RRELU) {
      kf_rrelu_mask<T> fm{m, c->rng.seed, c->rng.counter, p[lr_lower].f, p[lr_upper].f, c->is_train};
      rc = mx_kc_launch(s, n, fm);
      if (rc) return rc;
    }
    kf_leaky<T> f{MX_KC_PTR(in[0], T), gm, m, MX_KC_PTR(out[0], T), (T)p[lr_slope].f, act,
                  C, inner, ng};
    return mx_kc_launch(s, n, f);
  });
  return MX_OK;
}

extern "C" mx_status mx_kc_leaky_grad(BARGS) {
  UNUSED_BARGS;
  mx_status rc = leaky_params();
  if (rc) return rc;
  int act = (int)p[lr_act].i;
  int64_t n = mx_cu_size(&og[0]->shape), outer, C, inner;
  leaky_dims(in[0], n, &outer, &C, &inner);
  cudaStream_t s = MX_KC_STREAM(c);
  MX_KC_FLOAT_SWITCH(og[0]->dtype, T, {
    const T *gm = act == LR_PRELU ? MX_KC_PTR(in[1], T) : NULL;
    int64_t ng = act == LR_PRELU ? mx_cu_size(&in[1]->shape) : 1;
    const T *m = act == LR_RRELU ? MX_KC_PTR(out[1], T) : NULL;
    if (WANT(0)) {
      kf_leaky_grad<T> f{MX_KC_PTR(og[0], T), MX_KC_PTR(in[0], T), gm, m, MX_KC_PTR(ig[0], T),
                         (T)p[lr_slope].f, act, C, inner, ng};
      rc = mx_kc_launch(s, n, f);
      if (rc) return rc;
    }
    if (act == LR_PRELU && nin > 1 && WANT(1) && ng > 0) {
      unsigned g = ng < MX_KC_MAX_GRID ? (unsigned)ng : MX_KC_MAX_GRID;
      MX_KC_KERNEL(kc_prelu_dgamma<T>, g, MX_KC_BLOCK, s, MX_KC_PTR(og[0], T), MX_KC_PTR(in[0], T),
                   MX_KC_PTR(ig[1], T), outer, C, inner, ng);
      MX_CUDA_TRY(cudaGetLastError());
    }
  });
  return MX_OK;
}

/* ============================================================ Dropout */

static int do_p = -1, do_mode = -1;

/* m[i] = u_i < keep ? scale : 0 with u_i the float32 uniforms of
 * mx_rng_uniform_f32(c->rng) (nn.c draws float32 for both dtypes) */
template <class T> struct kf_drop_mask {
  T *m; uint64_t seed, base; float keep; T scale;
  __device__ void operator()(int64_t i) const {
    m[i] = mx_kc_uniform_f32(seed, base, i, 0, 1) < keep ? scale : (T)0;
  }
};
/* y = x * m, m broadcast over the axes where its extent is 1 */
template <class T> struct kf_bmul {
  const T *x, *m; T *y; mx_kc_bcast p;
  __device__ void operator()(int64_t i) const {
    int64_t ox, om;
    mx_kc_bcast_offsets(&p, i, &ox, &om);
    y[i] = x[i] * m[om];
  }
};

template <class T>
static mx_status bcast_mul(cudaStream_t s, const mx_ndarray *X, const mx_ndarray *M, mx_ndarray *Y) {
  kf_bmul<T> f{MX_KC_PTR(X, T), MX_KC_PTR(M, T), MX_KC_PTR(Y, T), {}};
  mx_kc_bcast_make(&Y->shape, &M->shape, &Y->shape, &f.p);
  return mx_kc_launch(s, mx_cu_size(&Y->shape), f);
}

extern "C" mx_status mx_kc_dropout(KARGS) {
  UNUSED_KARGS;
  MX_KC_PARAM(do_p, "Dropout", "p");
  MX_KC_PARAM(do_mode, "Dropout", "mode");
  double pr = p[do_p].f;
  int active = (c->is_train || p[do_mode].i == 1) && pr > 0;
  if (!active) {
    mx_status rc = dev_copy(c, in[0], out[0]);
    return rc ? rc : dev_fill(c, out[1], 1);
  }
  double keep = 1 - pr, scale = keep > 0 ? 1 / keep : 0;
  cudaStream_t s = MX_KC_STREAM(c);
  int64_t nm = mx_cu_size(&out[1]->shape);
  MX_KC_FLOAT_SWITCH(out[0]->dtype, T, {
    kf_drop_mask<T> fm{MX_KC_PTR(out[1], T), c->rng.seed, c->rng.counter, (float)keep, (T)scale};
    mx_status rc = mx_kc_launch(s, nm, fm);
    if (rc) return rc;
    return bcast_mul<T>(s, in[0], out[1], out[0]);
  });
  return MX_OK;
}

extern "C" mx_status mx_kc_dropout_grad(BARGS) {
  UNUSED_BARGS;
  if (!WANT(0)) return MX_OK;
  MX_KC_FLOAT_SWITCH(og[0]->dtype, T, {
    return bcast_mul<T>(MX_KC_STREAM(c), og[0], out[1], ig[0]);
  });
  return MX_OK;
}

/* ========================================================== Embedding */

static int em_in = -1, em_out = -1;

/* nn.c's embedding_rows: truncated, clipped into [0, K-1] */
__device__ __forceinline__ int64_t kc_emb_row(double v, int64_t K) {
  return !(v > 0) ? 0 : v >= (double)(K - 1) ? K - 1 : (int64_t)v;
}
/* y[i, j] = w[row(i), j], elements of E bytes (any dtype) */
template <class E> struct kf_emb {
  const void *idx; int idt; const E *w; E *y; int64_t K, D;
  __device__ void operator()(int64_t q) const {
    int64_t i = q / D, j = q - i * D;
    y[q] = w[kc_emb_row(mx_kc_load_f64(idx, idt, i), K) * D + j];
  }
};
/* dW[row(i), j] += dy[i, j] (atomics: the order of additions varies) */
template <class T> struct kf_emb_grad {
  const void *idx; int idt; const T *g; T *dw; int64_t K, D;
  __device__ void operator()(int64_t q) const {
    int64_t i = q / D, j = q - i * D;
    atomicAdd(dw + kc_emb_row(mx_kc_load_f64(idx, idt, i), K) * D + j, g[q]);
  }
};

extern "C" mx_status mx_kc_embedding(KARGS) {
  UNUSED_KARGS;
  MX_KC_PARAM(em_in, "Embedding", "input_dim");
  MX_KC_PARAM(em_out, "Embedding", "output_dim");
  int64_t n = mx_cu_size(&in[0]->shape), K = p[em_in].i, D = p[em_out].i;
  cudaStream_t s = MX_KC_STREAM(c);
  const void *ix = MX_PTR(in[0]);
  int idt = in[0]->dtype;
  switch (mx_cu_dtype_size(out[0]->dtype)) {
    case 1: return mx_kc_launch(s, n * D, kf_emb<uint8_t>{ix, idt, MX_KC_PTR(in[1], uint8_t), MX_KC_PTR(out[0], uint8_t), K, D});
    case 2: return mx_kc_launch(s, n * D, kf_emb<uint16_t>{ix, idt, MX_KC_PTR(in[1], uint16_t), MX_KC_PTR(out[0], uint16_t), K, D});
    case 4: return mx_kc_launch(s, n * D, kf_emb<uint32_t>{ix, idt, MX_KC_PTR(in[1], uint32_t), MX_KC_PTR(out[0], uint32_t), K, D});
    case 8: return mx_kc_launch(s, n * D, kf_emb<uint64_t>{ix, idt, MX_KC_PTR(in[1], uint64_t), MX_KC_PTR(out[0], uint64_t), K, D});
    default: return MX_KC_DTYPE_ERROR(out[0]->dtype);
  }
}

extern "C" mx_status mx_kc_embedding_grad(BARGS) {
  UNUSED_BARGS;
  MX_KC_PARAM(em_in, "Embedding", "input_dim");
  MX_KC_PARAM(em_out, "Embedding", "output_dim");
  mx_status rc;
  if (WANT(0)) {
    rc = dev_fill(c, ig[0], 0);
    if (rc) return rc;
  }
  if (!WANT(1)) return MX_OK;
  int64_t n = mx_cu_size(&in[0]->shape), K = p[em_in].i, D = p[em_out].i;
  rc = dev_fill(c, ig[1], 0);
  if (rc) return rc;
  MX_KC_FLOAT_SWITCH(ig[1]->dtype, T, {
    kf_emb_grad<T> f{MX_PTR(in[0]), in[0]->dtype, MX_KC_PTR(og[0], T), MX_KC_PTR(ig[1], T), K, D};
    return mx_kc_launch(MX_KC_STREAM(c), n * D, f);
  });
  return MX_OK;
}

/* ============================================================ supports */

extern "C" int mx_kc_supports_float(MX_KC_SUPPORTS_ARGS) {
  (void)p; (void)in_shapes;
  for (int j = 0; j < nin && j < 1; j++)
    if (in_dtypes[j] != MX_FLOAT32 && in_dtypes[j] != MX_FLOAT64) {
      *why = "the GPU kernel computes float32 and float64 only (as the CPU)";
      return 0;
    }
  return 1;
}

/* indices of any dtype the CPU reads (not float16/int8); the weight any */
extern "C" int mx_kc_supports_embedding(MX_KC_SUPPORTS_ARGS) {
  (void)p; (void)in_shapes;
  if (nin < 1) return 1;
  int d = in_dtypes[0];
  if (d == MX_FLOAT16 || d == MX_INT8) {
    *why = "Embedding's indices must be float32, float64, uint8, int32 or int64 on the GPU";
    return 0;
  }
  return 1;
}

/* SoftmaxOutput: the labels are read in any dtype; the data float32/64 */
extern "C" int mx_kc_supports_softmax_output(MX_KC_SUPPORTS_ARGS) {
  (void)p; (void)in_shapes;
  if (nin >= 1 && in_dtypes[0] != MX_FLOAT32 && in_dtypes[0] != MX_FLOAT64) {
    *why = "SoftmaxOutput computes float32 and float64 data only (as the CPU)";
    return 0;
  }
  return 1;
}
