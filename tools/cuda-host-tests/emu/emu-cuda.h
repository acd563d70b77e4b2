/*
 * emu-cuda.h -- force-included (g++ -include) when the module's kernel
 * files are compiled as plain host C++ for the emulation test
 * (MX_KC_EMULATE).  It keeps the CUDA headers' declarations, turns the
 * execution-space keywords into nothing, and provides what device code
 * uses: threadIdx/blockIdx (per host thread), blockDim/gridDim,
 * __syncthreads (a barrier), atomicAdd, and the bit casts of
 * math_constants.h.  Grid-stride kernels run as a plain loop
 * (mx_kc_launch); block kernels (MX_KC_KERNEL) run block after block, each
 * with blockDim host threads, so their shared-memory trees and barriers
 * really execute.  It emulates the semantics the kernels rely on, not the
 * GPU: float results come from the host's libm.
 */
#ifndef MX_EMU_CUDA_H
#define MX_EMU_CUDA_H

#include <cuda_runtime_api.h>
#include <cuda_fp16.h>
#include <math_constants.h>

#include <pthread.h>
#include <string.h>
#include <thread>
#include <vector>

#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __shared__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

static inline double __longlong_as_double(unsigned long long x) {
  double d;
  memcpy(&d, &x, sizeof d);
  return d;
}
static inline float __int_as_float(unsigned x) {
  float f;
  memcpy(&f, &x, sizeof f);
  return f;
}

struct mx_emu_dim { unsigned x, y, z; };
extern thread_local mx_emu_dim threadIdx, blockIdx;
extern mx_emu_dim blockDim, gridDim;
extern pthread_barrier_t mx_emu_barrier;

static inline void __syncthreads(void) { pthread_barrier_wait(&mx_emu_barrier); }

/* Atomics: the grid-stride kernels run on one host thread; the block
 * kernels do not use atomics. */
static inline float atomicAdd(float *p, float v) { float o = *p; *p = o + v; return o; }
static inline double atomicAdd(double *p, double v) { double o = *p; *p = o + v; return o; }
static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) {
  unsigned long long o = *p;
  *p = o + v;
  return o;
}

/* Run k() as a grid of g blocks of b threads. */
template <class K>
static void mx_emu_blocks(unsigned g, unsigned b, K k) {
  gridDim.x = g; gridDim.y = gridDim.z = 1;
  blockDim.x = b; blockDim.y = blockDim.z = 1;
  for (unsigned bx = 0; bx < g; bx++) {
    pthread_barrier_init(&mx_emu_barrier, NULL, b);
    std::vector<std::thread> th;
    for (unsigned t = 0; t < b; t++)
      th.emplace_back([&k, bx, t]() {
        blockIdx.x = bx; blockIdx.y = blockIdx.z = 0;
        threadIdx.x = t; threadIdx.y = threadIdx.z = 0;
        k();
      });
    for (auto &x : th) x.join();
    pthread_barrier_destroy(&mx_emu_barrier);
  }
}

#endif
