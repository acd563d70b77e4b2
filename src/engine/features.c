/*
 * features.c -- what this build has, as found by configure (mx-config.h).
 */
#include "../include/mx-internal.h"
#include "../mx-config.h"

#ifdef _OPENMP
#define MX_OPENMP_ON 1
#else
#define MX_OPENMP_ON 0
#endif

static const mx_feature features[] = {
  {"OPENMP", MX_OPENMP_ON, MX_OPENMP_DETAIL},
  {"ONEDNN", MX_HAVE_DNNL, MX_DNNL_DETAIL},
  {"OPENBLAS", MX_HAVE_OPENBLAS, MX_OPENBLAS_DETAIL},
  {"ZLIB", MX_HAVE_ZLIB, MX_ZLIB_DETAIL},
  {"CUDA", 0, MX_CUDA_DETAIL},
  {"CUDNN", 0, MX_CUDNN_DETAIL},
  {"NCCL", 0, MX_NCCL_DETAIL},
  {"MPI", 0, MX_MPI_DETAIL},
};

int mx_feature_count(void) { return (int)(sizeof features / sizeof features[0]); }

const mx_feature *mx_feature_at(int i) {
  return (i >= 0 && i < mx_feature_count()) ? &features[i] : NULL;
}
