/*
 * mx-cuda.h -- what the engine asks of the CUDA backend.
 *
 * src/cuda implements these when configure finds the CUDA toolkit and the
 * GPU backend is built; src/cuda-stub/cuda-stub.c answers "built without
 * CUDA" otherwise, so the rest of the engine has no #ifdefs.
 */
#ifndef MX_CUDA_H
#define MX_CUDA_H

#include "mx-internal.h"

int mx_cuda_device_count(void);
mx_status mx_cuda_storage_alloc(size_t bytes, mx_context ctx, mx_storage **out);
void mx_cuda_storage_free(mx_storage *s);
void mx_cuda_pool_stats(int dev_id, mx_pool_stats *out);
void mx_cuda_pool_release(int dev_id);
/* Copy bytes between host and device (kind: 0 h2d, 1 d2h, 2 d2d). */
mx_status mx_cuda_memcpy(void *dst, const void *src, size_t bytes, int kind,
                         int dev_id);

#endif
