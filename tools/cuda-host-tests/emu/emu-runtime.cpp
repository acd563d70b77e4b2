/*
 * emu-runtime.cpp -- the host side of the emulation (emu-cuda.h): the
 * thread indices and the CUDA runtime calls the kernel files make, on host
 * memory.  Nothing here is queued: every call completes before it returns.
 */
#include "emu-cuda.h"

thread_local mx_emu_dim threadIdx, blockIdx;
mx_emu_dim blockDim, gridDim;
pthread_barrier_t mx_emu_barrier;

extern "C" {

cudaError_t cudaGetLastError(void) { return cudaSuccess; }

/* a __device__ variable is a host global here */
cudaError_t cudaGetSymbolAddress(void **devPtr, const void *symbol) {
  *devPtr = (void *)symbol;
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream) {
  (void)kind; (void)stream;
  memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                              size_t height, enum cudaMemcpyKind kind, cudaStream_t stream) {
  (void)kind; (void)stream;
  if (width > dpitch || width > spitch) return cudaErrorInvalidPitchValue;
  for (size_t h = 0; h < height; h++)
    memmove((char *)dst + h * dpitch, (const char *)src + h * spitch, width);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t count, cudaStream_t stream) {
  (void)stream;
  memset(p, value, count);
  return cudaSuccess;
}

cudaError_t cudaMemset2DAsync(void *p, size_t pitch, int value, size_t width, size_t height,
                              cudaStream_t stream) {
  (void)stream;
  if (width > pitch) return cudaErrorInvalidPitchValue;
  for (size_t h = 0; h < height; h++) memset((char *)p + h * pitch, value, width);
  return cudaSuccess;
}

}
