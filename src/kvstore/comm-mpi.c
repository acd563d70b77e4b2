/*
 * comm-mpi.c -- the MPI communicator of the kvstore (Open MPI from Debian;
 * any MPI-3 library).  Compiled to a stub when configure found no MPI.
 *
 * MPI is initialised lazily, by the first dist_* kvstore of a process that
 * an MPI launcher started (mpirun, srun): never at package load, so forks
 * before that stay safe.  libmpi is promoted to the global symbol scope
 * before MPI_Init (R loads package libraries RTLD_LOCAL; Open MPI's
 * components need libmpi's symbols).  Only the thread that initialised MPI
 * calls it (MPI_THREAD_FUNNELED).
 *
 * Every collective is non-blocking and polled against a deadline: a worker
 * that died makes MPI fail (MPI_ERRORS_RETURN), one that hangs makes the
 * deadline pass; both come back as MX_ERR_DIST and the caller aborts the job.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include "kv-comm.h"

#include <stdio.h>

#include "../mx-config.h"

#include <stdlib.h>
#include <string.h>

#if MX_HAVE_MPI

#include <dlfcn.h>
#include <mpi.h>
#include <time.h>

typedef struct mpi_comm {
  mx_kv_comm base;
  MPI_Comm comm;
} mpi_comm;

static int mpi_started_here;
static MPI_Op op_sum_f16 = MPI_OP_NULL;

static const char *launcher_env[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK",
                                     "MPI_LOCALNRANKS", "MV2_COMM_WORLD_SIZE"};

static int under_launcher(void) {
  for (size_t i = 0; i < sizeof launcher_env / sizeof *launcher_env; i++)
    if (getenv(launcher_env[i])) return 1;
  return 0;
}

static mx_status mpi_fail(int code, const char *what) {
  char msg[MPI_MAX_ERROR_STRING + 1];
  int len = 0;
  if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) len = 0;
  msg[len] = '\0';
  return mx_error(MX_ERR_DIST, "MPI %s failed: %s (a worker may have stopped)", what, msg);
}

/* Poll a request until done, the deadline, or a user interrupt. */
static mx_status wait_req(mpi_comm *c, MPI_Request *req, double timeout, const char *what) {
  double t0 = mx_kv_now();
  struct timespec nap = {0, 20000};
  for (long spin = 0;; spin++) {
    int done = 0;
    int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, what);
    if (done) return MX_OK;
    if (spin < 2000) continue;
    nanosleep(&nap, NULL);
    if ((spin & 63) != 0) continue;
    double waited = mx_kv_now() - t0;
    if (timeout > 0 && waited > timeout)
      return mx_error(MX_ERR_DIST,
                      "the %s on worker %d of %d timed out after %.1f s: another worker is stuck or gone "
                      "(options(mxnet.dist.timeout =) sets the deadline)",
                      what, c->base.rank, c->base.size, waited);
    if (mx_abort_requested())
      return mx_error(MX_ERR_DIST, "the %s on worker %d was interrupted by the user", what, c->base.rank);
  }
}

static void sum_f16(void *in, void *inout, int *len, MPI_Datatype *dt) {
  (void)dt;
  const uint16_t *a = (const uint16_t *)in;
  uint16_t *b = (uint16_t *)inout;
  for (int i = 0; i < *len; i++) b[i] = mx_f32_to_f16(mx_f16_to_f32(a[i]) + mx_f16_to_f32(b[i]));
}

static mx_status c_allreduce(mx_kv_comm *base, void *buf, int64_t n, int t, double timeout) {
  mpi_comm *c = (mpi_comm *)base;
  MPI_Datatype dt = t == MX_FLOAT64 ? MPI_DOUBLE : t == MX_FLOAT16 ? MPI_UINT16_T : MPI_FLOAT;
  MPI_Op op = t == MX_FLOAT16 ? op_sum_f16 : MPI_SUM;
  for (int64_t off = 0; off < n;) {
    int m = n - off > (1 << 30) ? (1 << 30) : (int)(n - off);
    MPI_Request req;
    char *p = (char *)buf + (size_t)off * mx_dtype_size(t);
    int rc = MPI_Iallreduce(MPI_IN_PLACE, p, m, dt, op, c->comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "allreduce");
    mx_status st = wait_req(c, &req, timeout, "allreduce");
    if (st) return st;
    off += m;
  }
  return MX_OK;
}

static mx_status c_bcast(mx_kv_comm *base, void *buf, size_t nbytes, int root, double timeout) {
  mpi_comm *c = (mpi_comm *)base;
  for (size_t off = 0; off < nbytes;) {
    int m = nbytes - off > ((size_t)1 << 30) ? (1 << 30) : (int)(nbytes - off);
    MPI_Request req;
    int rc = MPI_Ibcast((char *)buf + off, m, MPI_BYTE, root, c->comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "broadcast");
    mx_status st = wait_req(c, &req, timeout, "broadcast");
    if (st) return st;
    off += (size_t)m;
  }
  return MX_OK;
}

static mx_status c_barrier(mx_kv_comm *base, double timeout) {
  mpi_comm *c = (mpi_comm *)base;
  MPI_Request req;
  int rc = MPI_Ibarrier(c->comm, &req);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "barrier");
  return wait_req(c, &req, timeout, "barrier");
}

static void c_abort(mx_kv_comm *base, int code) {
  mpi_comm *c = (mpi_comm *)base;
  MPI_Abort(c->comm, code);
}

static void c_free(mx_kv_comm *base) {
  mpi_comm *c = (mpi_comm *)base;
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin) MPI_Comm_free(&c->comm);
  free(c);
}

/* Make libmpi's symbols global, then initialise MPI once per process. */
static mx_status start_mpi(void) {
  int inited = 0, fin = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&fin);
  if (fin) return mx_error(MX_ERR_DIST, "MPI was finalised in this process; start a new R process");
  if (inited) return MX_OK;
  Dl_info info;
  if (dladdr((void *)&MPI_Init, &info) && info.dli_fname)
    (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  int provided = 0;
  int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
  if (rc != MPI_SUCCESS) return mpi_fail(rc, "initialisation");
  mpi_started_here = 1;
  MPI_Op_create(sum_f16, 1, &op_sum_f16);
  return MX_OK;
}

mx_status mx_kv_mpi_open(mx_kv_comm **out, char *why, size_t why_len) {
  *out = NULL;
  if (!under_launcher()) {
    snprintf(why, why_len, "not started by mpirun or srun");
    return MX_OK;
  }
  mx_status st = start_mpi();
  if (st) return st;
  mpi_comm *c = (mpi_comm *)calloc(1, sizeof *c);
  if (!c) return mx_error(MX_ERR_NOMEM, "out of memory for an MPI communicator");
  int rc = MPI_Comm_dup(MPI_COMM_WORLD, &c->comm);
  if (rc != MPI_SUCCESS) {
    free(c);
    return mpi_fail(rc, "communicator set-up");
  }
  MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(c->comm, &c->base.rank);
  MPI_Comm_size(c->comm, &c->base.size);
  c->base.name = "MPI";
  c->base.allreduce = c_allreduce;
  c->base.bcast = c_bcast;
  c->base.barrier = c_barrier;
  c->base.abort = c_abort;
  c->base.free = c_free;
  *out = &c->base;
  return MX_OK;
}

void mx_kv_mpi_finalize(void) {
  int inited = 0, fin = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&fin);
  if (inited && !fin && mpi_started_here) {
    if (op_sum_f16 != MPI_OP_NULL) MPI_Op_free(&op_sum_f16);
    MPI_Finalize();
  }
}

#else /* no MPI in this build */

mx_status mx_kv_mpi_open(mx_kv_comm **out, char *why, size_t why_len) {
  *out = NULL;
  const char *s = getenv("OMPI_COMM_WORLD_SIZE");
  if (!s) s = getenv("PMIX_RANK");
  if (s)
    return mx_error(MX_ERR_UNSUPPORTED,
                    "this process was started by an MPI launcher but the package was built without MPI: "
                    "install Open MPI (Debian: apt-get install libopenmpi-dev openmpi-bin) and reinstall mxnet");
  snprintf(why, why_len, "not started by mpirun or srun (and this build has no MPI)");
  return MX_OK;
}

void mx_kv_mpi_finalize(void) {}

#endif
