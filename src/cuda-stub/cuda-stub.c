/*
 * cuda-stub.c -- the GPU backend of a build without CUDA: every request
 * fails with a clear message and no device is reported.
 */
#include "../include/mx-cuda.h"

static mx_status no_cuda(void) {
  return mx_error(MX_ERR_UNSUPPORTED,
                  "this build of mxnet has no GPU support (built without CUDA); "
                  "see mx.features()");
}

int mx_cuda_device_count(void) { return 0; }

mx_status mx_cuda_storage_alloc(size_t bytes, mx_context ctx, mx_storage **out) {
  (void)bytes; (void)ctx;
  *out = NULL;
  return no_cuda();
}

void mx_cuda_storage_free(mx_storage *s) { (void)s; }

void mx_cuda_pool_stats(int dev_id, mx_pool_stats *out) {
  (void)dev_id;
  memset(out, 0, sizeof *out);
}

void mx_cuda_pool_release(int dev_id) { (void)dev_id; }

mx_status mx_cuda_memcpy(void *dst, const void *src, size_t bytes, int kind,
                         int dev_id) {
  (void)dst; (void)src; (void)bytes; (void)kind; (void)dev_id;
  return no_cuda();
}
