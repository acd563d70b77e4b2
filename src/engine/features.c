/*
 * features.c -- what this build has, as found by configure (mx-config.h),
 * and, for the GPU, what this machine offers at run time (device.c).
 */
#include "../include/mx-gpu.h"
#include "../mx-config.h"

#include <stdio.h>

#ifdef _OPENMP
#define MX_OPENMP_ON 1
#else
#define MX_OPENMP_ON 0
#endif
#ifndef MX_CUDA_BUILT
#define MX_CUDA_BUILT 0
#endif

enum { F_CUDA = 4, F_GPU = 5 };

static mx_feature features[] = {
  {"OPENMP", MX_OPENMP_ON, MX_OPENMP_DETAIL},
  {"ONEDNN", MX_HAVE_DNNL, MX_DNNL_DETAIL},
  {"OPENBLAS", MX_HAVE_OPENBLAS, MX_OPENBLAS_DETAIL},
  {"ZLIB", MX_HAVE_ZLIB, MX_ZLIB_DETAIL},
  [F_CUDA] = {"CUDA", MX_CUDA_BUILT, MX_CUDA_DETAIL},
  [F_GPU] = {"GPU", 0, ""},
  {"CUDNN", MX_CUDA_BUILT && MX_CUDNN_FOUND, MX_CUDNN_DETAIL},
  {"NCCL", MX_CUDA_BUILT && MX_NCCL_FOUND, MX_NCCL_DETAIL},
  {"MPI", MX_HAVE_MPI, MX_MPI_DETAIL},
  {"JPEG", MX_HAVE_JPEG, MX_JPEG_DETAIL},
  {"PNG", MX_HAVE_PNG, MX_PNG_DETAIL},
};

int mx_feature_count(void) { return (int)(sizeof features / sizeof features[0]); }

/* GPU: usable devices now, and which backend serves them or why none. */
static void gpu_feature(void) {
  static char detail[700];
  int n = mx_gpu_count();
  if (n > 0)
    snprintf(detail, sizeof detail, "%d device%s (%s backend): %s", n, n == 1 ? "" : "s",
             mx_gpu_backend_name(), mx_gpu_describe());
  else
    snprintf(detail, sizeof detail, "none: %s", mx_gpu_why());
  features[F_GPU].enabled = n > 0;
  features[F_GPU].detail = detail;
}

const mx_feature *mx_feature_at(int i) {
  if (i == F_GPU) gpu_feature();
  return (i >= 0 && i < mx_feature_count()) ? &features[i] : NULL;
}
