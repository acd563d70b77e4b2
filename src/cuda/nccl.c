/*
 * nccl.c -- the GPU module's collectives (mx-gpu.h: reduce_devices, ranks_*)
 * on NCCL, for the `device`/`nccl` kvstores (the devices of one process) and
 * `dist_sync_device` (one device per process, the communicator's id sent
 * over MPI by src/kvstore).
 *
 * NCCL is opened with dlopen at the first collective, so the module (and the
 * package) loads on machines without libnccl; there the table entries fail
 * with a message that names the library, and the kvstore falls back to
 * copies and adds (device: reduce_devices fails with MX_ERR_UNSUPPORTED
 * whenever it queued nothing) or host staging (dist_sync_device: every
 * rank says whether it is ready before any joins).  Calls are
 * queued on each device's stream, like kernels.  Communicators among the
 * devices of this process are kept per device list.
 *
 * UNVERIFIED on a GPU: this compiles and links on the development machine,
 * which has no GPU; tools/gpu-check.sh runs it on one GPU (one device per
 * communicator), and several GPUs have not been available.
 */
#include "cuda-common.h"
#include "../mx-config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#if MX_NCCL_FOUND
#include <nccl.h>

static struct {
  int tried, ok;
  char why[200];
  ncclResult_t (*get_unique_id)(ncclUniqueId *);
  ncclResult_t (*comm_init_rank)(ncclComm_t *, int, ncclUniqueId, int);
  ncclResult_t (*comm_init_all)(ncclComm_t *, int, const int *);
  ncclResult_t (*comm_destroy)(ncclComm_t);
  ncclResult_t (*reduce)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, int, ncclComm_t,
                         cudaStream_t);
  ncclResult_t (*all_reduce)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                             cudaStream_t);
  ncclResult_t (*group_start)(void);
  ncclResult_t (*group_end)(void);
  const char *(*error_string)(ncclResult_t);
} nc;

static mx_status nccl_load(void) {
  if (nc.tried) return nc.ok ? MX_OK : mx_error(MX_ERR_UNSUPPORTED, "%s", nc.why);
  nc.tried = 1;
  void *h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h) h = dlopen("libnccl.so", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(nc.why, sizeof nc.why, "NCCL is not installed (libnccl.so.2 could not be opened)");
    return mx_error(MX_ERR_UNSUPPORTED, "%s", nc.why);
  }
  struct { void **slot; const char *name; } syms[] = {
    {(void **)&nc.get_unique_id, "ncclGetUniqueId"}, {(void **)&nc.comm_init_rank, "ncclCommInitRank"},
    {(void **)&nc.comm_init_all, "ncclCommInitAll"}, {(void **)&nc.comm_destroy, "ncclCommDestroy"},
    {(void **)&nc.reduce, "ncclReduce"},             {(void **)&nc.all_reduce, "ncclAllReduce"},
    {(void **)&nc.group_start, "ncclGroupStart"},    {(void **)&nc.group_end, "ncclGroupEnd"},
    {(void **)&nc.error_string, "ncclGetErrorString"},
  };
  for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
    *syms[i].slot = dlsym(h, syms[i].name);
    if (!*syms[i].slot) {
      snprintf(nc.why, sizeof nc.why, "the NCCL library found lacks %s (too old?)", syms[i].name);
      return mx_error(MX_ERR_UNSUPPORTED, "%s", nc.why);
    }
  }
  nc.ok = 1;
  return MX_OK;
}

static mx_status nccl_check(ncclResult_t r, const char *what) {
  if (r == ncclSuccess) return MX_OK;
  return mx_error(MX_ERR_DIST, "NCCL %s failed: %s", what, nc.error_string ? nc.error_string(r) : "?");
}

static int nccl_type(int dtype, ncclDataType_t *out) {
  switch (dtype) {
    case MX_FLOAT32: *out = ncclFloat32; return 1;
    case MX_FLOAT64: *out = ncclFloat64; return 1;
    case MX_FLOAT16: *out = ncclFloat16; return 1;
    case MX_BFLOAT16: *out = ncclBfloat16; return 1;
    default: return 0;
  }
}

static mx_status check_types(const int *dtypes, int n) {
  ncclDataType_t t;
  for (int k = 0; k < n; k++)
    if (!nccl_type(dtypes[k], &t))
      return mx_error(MX_ERR_DTYPE, "NCCL sums floating-point arrays only (array %d is not)", k + 1);
  return MX_OK;
}

/* ------------------------------------------------ devices of this process */

#define NC_SETS 4

static struct {
  int ndev;
  int devs[16];
  ncclComm_t comms[16];
} sets[NC_SETS];
static int nsets;

static mx_status comms_for(const int *devs, int ndev, ncclComm_t **out) {
  for (int s = 0; s < nsets; s++)
    if (sets[s].ndev == ndev && memcmp(sets[s].devs, devs, (size_t)ndev * sizeof *devs) == 0) {
      *out = sets[s].comms;
      return MX_OK;
    }
  if (ndev > 16) return mx_error(MX_ERR_UNSUPPORTED, "NCCL reductions over more than 16 devices");
  if (nsets == NC_SETS) return mx_error(MX_ERR_UNSUPPORTED, "more than %d device lists in one process", NC_SETS);
  /* NCCL's buffers come from outside the pool */
  for (int j = 0; j < ndev; j++) mx_cuda_pool_give_back(devs[j]);
  mx_status rc = nccl_check(nc.comm_init_all(sets[nsets].comms, ndev, devs), "communicator set-up");
  if (rc) return rc;
  sets[nsets].ndev = ndev;
  memcpy(sets[nsets].devs, devs, (size_t)ndev * sizeof *devs);
  *out = sets[nsets++].comms;
  return MX_OK;
}

static mx_status nc_reduce_devices(const int *devs, int ndev, void *const *bufs, const int64_t *counts,
                                   const int *dtypes, int n) {
  mx_status rc = nccl_load();
  if (!rc) rc = check_types(dtypes, n);
  ncclComm_t *comms = NULL;
  if (!rc) rc = comms_for(devs, ndev, &comms);
  mx_cuda_dev *d[16];
  for (int j = 0; j < ndev && !rc; j++) rc = mx_cuda_dev_get(devs[j], &d[j]);
  if (rc) return mx_error(MX_ERR_UNSUPPORTED, "%s", mx_host->last_error());   /* nothing queued */
  rc = nccl_check(nc.group_start(), "group start");
  for (int k = 0; k < n && !rc; k++) {
    ncclDataType_t t;
    nccl_type(dtypes[k], &t);
    for (int j = 0; j < ndev && !rc; j++)
      rc = nccl_check(nc.reduce(bufs[k * ndev + j], j == 0 ? bufs[k * ndev] : NULL, (size_t)counts[k], t, ncclSum,
                                0, comms[j], d[j]->stream), "reduce");
  }
  mx_status r2 = nccl_check(nc.group_end(), "group end");
  return rc ? rc : r2;
}

/* ------------------------------------------------- one device per process */

static mx_status nc_ranks_id(void *id) {
  mx_status rc = nccl_load();
  if (rc) return rc;
  ncclUniqueId u;
  rc = nccl_check(nc.get_unique_id(&u), "id");
  if (!rc) memcpy(id, &u, sizeof u);
  return rc;
}

static mx_status nc_ranks_ready(int dev) {
  mx_status rc = nccl_load();
  return rc ? rc : mx_cuda_dev_get(dev, NULL);
}

static mx_status nc_ranks_open(const void *id, int nranks, int rank, int dev, void **comm) {
  mx_status rc = nc_ranks_ready(dev);
  if (rc) return rc;
  mx_cuda_pool_give_back(dev);   /* NCCL's buffers come from outside the pool */
  ncclUniqueId u;
  memcpy(&u, id, sizeof u);
  ncclComm_t c;
  rc = nccl_check(nc.comm_init_rank(&c, nranks, u, rank), "communicator set-up");
  if (!rc) *comm = c;
  return rc;
}

static mx_status nc_ranks_allreduce(void *comm, int dev, void *const *bufs, const int64_t *counts,
                                    const int *dtypes, int n) {
  mx_cuda_dev *d;
  mx_status rc = check_types(dtypes, n);
  if (!rc) rc = mx_cuda_dev_get(dev, &d);
  if (rc) return rc;
  rc = nccl_check(nc.group_start(), "group start");
  for (int k = 0; k < n && !rc; k++) {
    ncclDataType_t t;
    nccl_type(dtypes[k], &t);
    rc = nccl_check(nc.all_reduce(bufs[k], bufs[k], (size_t)counts[k], t, ncclSum, (ncclComm_t)comm, d->stream),
                    "allreduce");
  }
  mx_status r2 = nccl_check(nc.group_end(), "group end");
  return rc ? rc : r2;
}

static void nc_ranks_close(void *comm) {
  if (comm && nc.ok) (void)nc.comm_destroy((ncclComm_t)comm);
}

void mx_cuda_nccl_shutdown(void) {
  for (int s = 0; s < nsets; s++)
    for (int j = 0; j < sets[s].ndev; j++) (void)nc.comm_destroy(sets[s].comms[j]);
  nsets = 0;
}

void mx_cuda_nccl_table(mx_gpu_backend *b) {
  b->reduce_devices = nc_reduce_devices;
  b->ranks_id_bytes = NCCL_UNIQUE_ID_BYTES;
  b->ranks_ready = nc_ranks_ready;
  b->ranks_id = nc_ranks_id;
  b->ranks_open = nc_ranks_open;
  b->ranks_allreduce = nc_ranks_allreduce;
  b->ranks_close = nc_ranks_close;
}

#else /* built without nccl.h: no collectives; the kvstore copies and adds */

void mx_cuda_nccl_shutdown(void) {}
void mx_cuda_nccl_table(mx_gpu_backend *b) { (void)b; }

#endif
