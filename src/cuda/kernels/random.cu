/*
 * random.cu -- random_uniform and random_normal on the GPU: element i of
 * the CPU's fill (src/engine/rng.c, Philox-4x32-10 from c->rng's seed and
 * counter) computed independently on the device (mx_kc_uniform_* and
 * mx_kc_normal_* in kern-common.h, host-tested against rng.c).  Uniforms are
 * bit-identical to the CPU's; normals go through the device's log/cos/sin,
 * which may differ from the host's libm by an ulp.
 *
 * UNVERIFIED on a GPU: compiled for sm_90 only (see docs/gpu-kernels.md).
 */
#include "../kern-common.h"

static int ru_lo = -1, ru_hi = -1, rn_mean = -1, rn_sd = -1;

template <class T> struct kf_uniform {
  T *y; uint64_t seed, base; double a, b;
  __device__ void operator()(int64_t i) const {
    if (sizeof(T) == sizeof(float)) y[i] = (T)mx_kc_uniform_f32(seed, base, i, a, b);
    else y[i] = (T)mx_kc_uniform_f64(seed, base, i, a, b);
  }
};
template <class T> struct kf_normal {
  T *y; uint64_t seed, base; double a, b;
  __device__ void operator()(int64_t i) const {
    if (sizeof(T) == sizeof(float)) y[i] = (T)mx_kc_normal_f32(seed, base, i, a, b);
    else y[i] = (T)mx_kc_normal_f64(seed, base, i, a, b);
  }
};

extern "C" mx_status mx_kc_random_uniform(KARGS) {
  UNUSED_KARGS;
  MX_KC_PARAM(ru_lo, "random_uniform", "low");
  MX_KC_PARAM(ru_hi, "random_uniform", "high");
  int64_t n = mx_cu_size(&out[0]->shape);
  MX_KC_FLOAT_SWITCH(out[0]->dtype, T, {
    kf_uniform<T> f{MX_KC_PTR(out[0], T), c->rng.seed, c->rng.counter, p[ru_lo].f, p[ru_hi].f};
    return mx_kc_launch(MX_KC_STREAM(c), n, f);
  });
  return MX_OK;
}

extern "C" mx_status mx_kc_random_normal(KARGS) {
  UNUSED_KARGS;
  MX_KC_PARAM(rn_mean, "random_normal", "loc");
  MX_KC_PARAM(rn_sd, "random_normal", "scale");
  int64_t n = mx_cu_size(&out[0]->shape);
  MX_KC_FLOAT_SWITCH(out[0]->dtype, T, {
    kf_normal<T> f{MX_KC_PTR(out[0], T), c->rng.seed, c->rng.counter, p[rn_mean].f, p[rn_sd].f};
    return mx_kc_launch(MX_KC_STREAM(c), n, f);
  });
  return MX_OK;
}
