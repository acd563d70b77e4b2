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
 * Collectives are the blocking ones: Open MPI's non-blocking collectives
 * (libnbc) measured 1.5-3x slower here (docs/kvstore.md).  Deadlines come from
 * a watchdog thread: a worker that died makes MPI fail (MPI_ERRORS_RETURN,
 * MX_ERR_DIST for the caller, who ends the job) or mpirun end the job; when a
 * collective outlives its deadline because a worker hangs, the watchdog
 * writes one line to stderr (R cannot be reached from that thread) and ends
 * the job with MPI_Abort.  MPI is asked for MPI_THREAD_MULTIPLE for that one
 * call from the watchdog; the collectives stay on the thread that started MPI.
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
#include <pthread.h>
#include <time.h>
#include <unistd.h>

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

/* ---------------------------------------------------------------- watchdog */

/* A collective's start and end are two atomic stores on the calling thread:
 * no lock and no wake-up.  The watchdog thread looks every WD_PERIOD seconds.
 * Waking it at each collective (a condition variable, as before) cost 4-5 ms
 * per training step with one process per core: the woken thread waits for
 * the core that the collective's caller spins on (docs/kvstore.md). */
#define WD_PERIOD 0.2

static struct {
  pthread_mutex_t mu;    /* guards starting the thread */
  int started;
  unsigned long gen;     /* collective number; odd while one runs (atomic) */
  int64_t deadline_ns;   /* monotonic ns (atomic, stored before gen) */
  double timeout;        /* of the running collective, for the message */
  const char *what;
  int rank, size;
} wd = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, NULL, 0, 1};

static void wd_expired(void) {
  char line[300];
  int n = snprintf(line, sizeof line,
                   "mxnet: the %s on worker %d of %d timed out after %.1f s: another worker is stuck or gone "
                   "(options(mxnet.dist.timeout =) sets the deadline); ending the job\n",
                   wd.what ? wd.what : "collective", wd.rank, wd.size, wd.timeout);
  if (n > 0 && write(2, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)) < 0) n = 0;
  MPI_Abort(MPI_COMM_WORLD, 3);
}

static void *wd_main(void *arg) {
  (void)arg;
  struct timespec ts = {0, (long)(WD_PERIOD * 1e9)};
  for (;;) {
    nanosleep(&ts, NULL);
    unsigned long g = __atomic_load_n(&wd.gen, __ATOMIC_ACQUIRE);
    if (!(g & 1)) continue;
    int64_t d = __atomic_load_n(&wd.deadline_ns, __ATOMIC_RELAXED);
    if ((int64_t)(mx_kv_now() * 1e9) >= d && __atomic_load_n(&wd.gen, __ATOMIC_ACQUIRE) == g) wd_expired();
  }
  return NULL;
}

static void wd_begin(const char *what, double timeout) {
  if (timeout <= 0) return;
  if (!__atomic_load_n(&wd.started, __ATOMIC_ACQUIRE)) {
    pthread_mutex_lock(&wd.mu);
    if (!wd.started) {
      pthread_t t;
      pthread_attr_t at;
      pthread_attr_init(&at);
      pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
      __atomic_store_n(&wd.started, pthread_create(&t, &at, wd_main, NULL) == 0, __ATOMIC_RELEASE);
      pthread_attr_destroy(&at);
    }
    pthread_mutex_unlock(&wd.mu);
  }
  wd.what = what;
  wd.timeout = timeout;
  __atomic_store_n(&wd.deadline_ns, (int64_t)((mx_kv_now() + timeout) * 1e9), __ATOMIC_RELAXED);
  __atomic_store_n(&wd.gen, wd.gen | 1UL, __ATOMIC_RELEASE);
}

static void wd_end(double timeout) {
  if (timeout <= 0) return;
  __atomic_store_n(&wd.gen, wd.gen + 1UL, __ATOMIC_RELEASE); /* even: idle, a new number */
}

/* ------------------------------------------------------------- collectives */

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
    char *p = (char *)buf + (size_t)off * mx_dtype_size(t);
    wd_begin("allreduce", timeout);
    int rc = MPI_Allreduce(MPI_IN_PLACE, p, m, dt, op, c->comm);
    wd_end(timeout);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "allreduce");
    off += m;
  }
  return MX_OK;
}

static mx_status c_bcast(mx_kv_comm *base, void *buf, size_t nbytes, int root, double timeout) {
  mpi_comm *c = (mpi_comm *)base;
  for (size_t off = 0; off < nbytes;) {
    int m = nbytes - off > ((size_t)1 << 30) ? (1 << 30) : (int)(nbytes - off);
    wd_begin("broadcast", timeout);
    int rc = MPI_Bcast((char *)buf + off, m, MPI_BYTE, root, c->comm);
    wd_end(timeout);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "broadcast");
    off += (size_t)m;
  }
  return MX_OK;
}

static mx_status c_barrier(mx_kv_comm *base, double timeout) {
  mpi_comm *c = (mpi_comm *)base;
  wd_begin("barrier", timeout);
  int rc = MPI_Barrier(c->comm);
  wd_end(timeout);
  return rc == MPI_SUCCESS ? MX_OK : mpi_fail(rc, "barrier");
}

static void c_end_job(mx_kv_comm *base, int code) {
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
  int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
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
  MPI_Comm node;
  if (MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    int n = 0;
    MPI_Comm_size(node, &n);
    c->base.one_node = n == c->base.size;
    MPI_Comm_free(&node);
  }
  wd.rank = c->base.rank;
  wd.size = c->base.size;
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  c->base.threads_ok = level >= MPI_THREAD_SERIALIZED;
  c->base.name = "MPI";
  c->base.allreduce = c_allreduce;
  c->base.bcast = c_bcast;
  c->base.barrier = c_barrier;
  c->base.end_job = c_end_job;
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
