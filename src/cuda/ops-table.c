/*
 * ops-table.c -- the module's GPU kernels by op name.
 *
 * Each kernel family exports a table of mx_gpu_kernel records ending with a
 * zeroed record (cuda-common.h): mx_gpu_kernels_elemwise (own kernels,
 * src/cuda/elemwise-table.c) and mx_gpu_kernels_dnn (cuBLAS and cuDNN,
 * src/cuda/dnn-table.c).  A new family adds its table to `tables` below.
 * The engine asks once per op (backend->kernel) and caches the answer.
 */
#include "cuda-common.h"

#include <stdio.h>
#include <string.h>

static const mx_gpu_kernel *const tables[] = {
  mx_gpu_kernels_elemwise,
  mx_gpu_kernels_dnn,
};
#define NTABLES ((int)(sizeof tables / sizeof tables[0]))

const mx_gpu_kernel *mx_cuda_kernel_find(const char *op_name);
int mx_cuda_kernels_check(char *err, size_t errlen);

const mx_gpu_kernel *mx_cuda_kernel_find(const char *op_name) {
  if (!op_name) return NULL;
  for (int t = 0; t < NTABLES; t++)
    for (const mx_gpu_kernel *k = tables[t]; k->op; k++)
      if (strcmp(k->op, op_name) == 0) return k;
  return NULL;
}

/* One record's faults, or NULL. */
static const char *record_fault(const mx_gpu_kernel *k) {
  const mx_op *op = mx_host->op_find(k->op);
  if (!op) return "names no registered op";
  if (strcmp(op->name, k->op) != 0) return "uses an alias, not the op's registry name";
  if (!k->fwd) return "has no forward kernel";
  if (!k->dtypes) return "has an empty dtype mask";
  if (mx_cuda_kernel_find(k->op) != k) return "is listed twice";
  return NULL;
}

/* At module init, before any device is touched (so a machine without a GPU
 * checks the tables too): every record names a registered op by its
 * registry name, has a forward kernel and dtypes, and no op is listed
 * twice.  Nonzero with a message in err otherwise (a build bug). */
int mx_cuda_kernels_check(char *err, size_t errlen) {
  for (int t = 0; t < NTABLES; t++)
    for (const mx_gpu_kernel *k = tables[t]; k->op; k++) {
      const char *why = record_fault(k);
      if (why) {
        snprintf(err, errlen, "the GPU module's kernel record for '%s' %s "
                 "(a bug in src/cuda: please report it)", k->op, why);
        return 1;
      }
    }
  return 0;
}
