/*
 * placeholder-tables.c -- TEMPORARY, branch work-cbuild only: empty kernel
 * tables so the module links before the kernel and cuDNN work lands.
 * DELETE AT MERGE: src/cuda/elemwise-table.c and src/cuda/dnn-table.c
 * define the real tables, and the link fails ("multiple definition of
 * mx_gpu_kernels_elemwise") while this file is still here.
 */
#include "cuda-common.h"

const mx_gpu_kernel mx_gpu_kernels_elemwise[] = {{0}};
const mx_gpu_kernel mx_gpu_kernels_dnn[] = {{0}};
