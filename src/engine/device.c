/*
 * device.c -- the engine's side of GPU devices: which backend serves them
 * (the fake devices, the dlopened CUDA module, or none, and why), the host
 * services handed to a module, and kernel dispatch for any context.
 *
 * Selection happens once, on first GPU use (or after mx_gpu_reset):
 *   MXNET_FAKE_GPU=1      fake devices on host memory (gpu-fake.c)
 *   MXNET_CUDA=no         no GPU
 *   built without CUDA    no GPU ("built without CUDA")
 *   no libcuda.so.1       no GPU ("no NVIDIA driver"); MXNET_CUDA_FORCE_MODULE=1
 *                         loads the module anyway (so CPU machines test the link)
 *   module fails to load  no GPU, with dlerror()'s text
 *   module init fails     no GPU, with the module's reason
 *   0 devices             no GPU ("no GPU found")
 * library(mxnet) never loads CUDA: the module is opened here, lazily.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* dladdr */
#endif
#include "../include/mx-gpu.h"
#include "../mx-config.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef MX_CUDA_BUILT
#define MX_CUDA_BUILT 0
#endif

static const mx_gpu_backend *backend;
static int probed;
static char why[600] = "";
static void *module_handle;

static void log_fwd(int level, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  mx_log(level, "%s", buf);
}

static const char *env_get(const char *name) { return getenv(name); }

static const mx_host_services host = {
  .abi = MX_GPU_ABI,
  .error_at = mx_error_at,
  .log = log_fwd,
  .abort_requested = mx_abort_requested,
  .op_find = mx_op_find,
  .op_param_index = mx_op_param_index,
  .ndarray_new = mx_ndarray_new,
  .ndarray_free = mx_ndarray_free,
  .storage_alloc = mx_storage_alloc,
  .storage_release = mx_storage_release,
  .scratch_open = mx_scratch_open,
  .scratch_close = mx_scratch_close,
  .convert = mx_convert,
  .getenv = env_get,
  .last_error = mx_last_error,
  .pool_release = mx_pool_release,
};

static int env_on(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0 && strcmp(v, "no") != 0 && strcmp(v, "false") != 0;
}

/* libs/mxnet_cuda.so next to this library. */
static int module_path(char *buf, size_t n) {
  Dl_info info;
  if (!dladdr((void *)&mx_gpu, &info) || !info.dli_fname) return 0;
  const char *slash = strrchr(info.dli_fname, '/');
  size_t dir = slash ? (size_t)(slash - info.dli_fname) : 0;
  int w = dir ? snprintf(buf, n, "%.*s/mxnet_cuda.so", (int)dir, info.dli_fname)
              : snprintf(buf, n, "mxnet_cuda.so");
  return w > 0 && (size_t)w < n;
}

static const mx_gpu_backend *load_module(void) {
  if (!env_on("MXNET_CUDA_FORCE_MODULE")) {
    void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!drv) {
      const char *e = dlerror();
      snprintf(why, sizeof why, "no NVIDIA driver (%s)", e ? e : "libcuda.so.1 not found");
      return NULL;
    }
    dlclose(drv);
  }
  char path[4096];
  if (!module_path(path, sizeof path)) {
    snprintf(why, sizeof why, "cannot locate the GPU module next to mxnet.so");
    return NULL;
  }
  module_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!module_handle) {
    const char *e = dlerror();
    snprintf(why, sizeof why, "the GPU module could not be loaded: %.500s", e ? e : path);
    return NULL;
  }
  mx_gpu_module_init_fn init = (mx_gpu_module_init_fn)dlsym(module_handle, MX_GPU_MODULE_INIT);
  if (!init) {
    snprintf(why, sizeof why, "the GPU module %.400s has no entry point %s", path, MX_GPU_MODULE_INIT);
    return NULL;
  }
  char err[512] = "";
  const mx_gpu_backend *b = init(&host, err, sizeof err);
  if (!b) {
    snprintf(why, sizeof why, "the GPU module cannot run: %s", err[0] ? err : "unknown reason");
    return NULL;
  }
  if (b->abi != MX_GPU_ABI) {
    snprintf(why, sizeof why, "the GPU module was built for interface %d, the engine needs %d "
             "(reinstall mxnet)", b->abi, MX_GPU_ABI);
    return NULL;
  }
  return b;
}

static void probe(void) {
  probed = 1;
  backend = NULL;
  why[0] = 0;
  const mx_gpu_backend *b = NULL;
  if (env_on("MXNET_FAKE_GPU")) {
    b = mx_gpu_fake_backend();
    if (!b) snprintf(why, sizeof why, "the fake GPU devices could not be set up");
  } else if (getenv("MXNET_CUDA") && strcmp(getenv("MXNET_CUDA"), "no") == 0) {
    snprintf(why, sizeof why, "GPUs disabled by MXNET_CUDA=no");
  } else if (!MX_CUDA_BUILT) {
    snprintf(why, sizeof why, "this build of mxnet has no GPU support (built without CUDA); "
             "see mx.features()");
  } else {
    b = load_module();
  }
  if (b && b->device_count() <= 0) {
    const char *d = b->describe ? b->describe() : "";
    snprintf(why, sizeof why, "no GPU found%s%s%s", d && *d ? " (" : "", d ? d : "",
             d && *d ? ")" : "");
    b = NULL;
  }
  backend = b;
}

const mx_gpu_backend *mx_gpu(void) {
  if (!probed) probe();
  return backend;
}

const char *mx_gpu_why(void) {
  if (!probed) probe();
  return backend ? "" : why;
}

const char *mx_gpu_backend_name(void) {
  const mx_gpu_backend *b = mx_gpu();
  return b ? b->name : "none";
}

const char *mx_gpu_describe(void) {
  const mx_gpu_backend *b = mx_gpu();
  if (!b) return mx_gpu_why();
  return b->describe ? b->describe() : b->name;
}

int mx_gpu_count(void) {
  const mx_gpu_backend *b = mx_gpu();
  return b ? b->device_count() : 0;
}

/* ------------------------------------------------------ kernel lookup */

/* Kernel records of the current backend by op pointer (open addressing);
 * a slot remembers "none" too, so a missing kernel costs one lookup. */
#define KSLOTS 2048
static struct { const mx_op *op; const mx_gpu_kernel *k; } kcache[KSLOTS];

static const mx_gpu_kernel *gpu_kernel(const mx_gpu_backend *b, const mx_op *op) {
  uintptr_t h = ((uintptr_t)op >> 4) & (KSLOTS - 1);
  while (kcache[h].op && kcache[h].op != op) h = (h + 1) & (KSLOTS - 1);
  if (!kcache[h].op) {
    kcache[h].op = op;
    kcache[h].k = b->kernel ? b->kernel(op) : NULL;
  }
  return kcache[h].k;
}

mx_status mx_gpu_reset(void) {
  if (probed && backend) {
    int n = backend->device_count();
    for (int d = 0; d < n; d++) {
      mx_pool_release(MX_GPU, d);
      mx_pool_stats st;
      mx_pool_get_stats(MX_GPU, d, &st);
      if (st.n_live > 0)
        return mx_error(MX_ERR_ARG, "gpu(%d) still holds %lld arrays; free them (rm() and gc()) "
                        "before switching GPU backends", d, (long long)st.n_live);
    }
    if (backend->shutdown) backend->shutdown();
  }
  memset(kcache, 0, sizeof kcache);
  probed = 0;
  backend = NULL;
  return MX_OK;
}

static mx_status no_gpu(void) {
  return mx_error(MX_ERR_DEVICE, "no GPU is available: %s", mx_gpu_why());
}

mx_status mx_op_kernels(const mx_op *op, mx_context ctx, mx_kernels *out) {
  memset(out, 0, sizeof *out);
  if (ctx.dev_type == MX_CPU) {
    out->fwd = op->cpu;
    out->bwd = op->backward;
    out->workspace = op->workspace;
    if (!out->fwd) return mx_error(MX_ERR_UNSUPPORTED, "%s: no CPU kernel", op->name);
    return MX_OK;
  }
  const mx_gpu_backend *b = mx_gpu();
  if (!b) return no_gpu();
  const mx_gpu_kernel *k = gpu_kernel(b, op);
  if (!k || !k->fwd)
    return mx_error(MX_ERR_UNSUPPORTED, "%s has no GPU kernel in this version of mxnet; "
                    "run it on the CPU (mx.cpu())", op->name);
  out->fwd = k->fwd;
  out->bwd = k->bwd;
  out->gpu = k;
  return MX_OK;
}

mx_status mx_op_kernels_check(const mx_op *op, const mx_kernels *k, const mx_param_value *p,
                              int nin, const mx_shape *in_s, const int *in_t) {
  if (!k->gpu || !k->gpu->supports) return MX_OK;
  const char *reason = NULL;
  if (k->gpu->supports(p, nin, in_s, in_t, &reason)) return MX_OK;
  return mx_error(MX_ERR_UNSUPPORTED, "%s: not supported on the GPU: %s", op->name,
                  reason ? reason : "these parameters");
}

int mx_op_native_dtype(const mx_op *op, mx_context ctx, int dtype) {
  if (ctx.dev_type != MX_CPU) {
    const mx_gpu_backend *b = mx_gpu();
    const mx_gpu_kernel *k = b ? gpu_kernel(b, op) : NULL;
    if (k) return dtype >= 0 && dtype < 32 && ((k->dtypes >> dtype) & 1u);
  }
  if (dtype == MX_FLOAT16) return (op->flags & MX_OPF_F16) != 0;
  if (dtype == MX_BFLOAT16) return (op->flags & MX_OPF_BF16) != 0;
  if (dtype == MX_INT8) return (op->flags & MX_OPF_INT8) != 0;
  return 1;
}

static mx_status gpu_end(int dev, const char *name, mx_status rc) {
  mx_status rc2 = mx_gpu()->op_end(dev, name);
  return rc ? rc : rc2;
}

mx_status mx_op_run_forward(const mx_op *op, const mx_kernels *k, mx_op_ctx *c,
                            const mx_param_value *p, mx_ndarray *const *in, int nin,
                            mx_ndarray *const *out, int nout, const int *req) {
  if (!k->gpu) return k->fwd(c, p, in, nin, out, nout, req);
  int dev = c->ctx.dev_id;
  mx_status rc = mx_gpu()->op_begin(dev, c);
  if (rc) return rc;
  return gpu_end(dev, op->name, k->fwd(c, p, in, nin, out, nout, req));
}

mx_status mx_op_run_backward(const mx_op *op, const mx_kernels *k, mx_op_ctx *c,
                             const mx_param_value *p, mx_ndarray *const *og, int nout,
                             mx_ndarray *const *in, int nin, mx_ndarray *const *out,
                             mx_ndarray *const *ig, const int *req) {
  if (!k->bwd)
    return mx_error(MX_ERR_UNSUPPORTED, "%s: no gradient on %s", op->name,
                    k->gpu ? "the GPU in this version of mxnet" : "the CPU");
  if (!k->gpu) return k->bwd(c, p, og, nout, in, nin, out, ig, req);
  int dev = c->ctx.dev_id;
  mx_status rc = mx_gpu()->op_begin(dev, c);
  if (rc) return rc;
  return gpu_end(dev, op->name, k->bwd(c, p, og, nout, in, nin, out, ig, req));
}

/* ------------------------------------------------------ memory, sync */

mx_status mx_device_malloc(mx_context ctx, size_t bytes, void **out) {
  const mx_gpu_backend *b = mx_gpu();
  if (!b) return no_gpu();
  return b->malloc(ctx.dev_id, bytes, out);
}

void mx_device_free(mx_context ctx, void *p) {
  const mx_gpu_backend *b = mx_gpu();
  if (b && p) b->free(ctx.dev_id, p);
}

void mx_device_mem_info(int dev, int64_t *free_bytes, int64_t *total_bytes) {
  const mx_gpu_backend *b = mx_gpu();
  *free_bytes = *total_bytes = 0;
  if (b && b->mem_info) b->mem_info(dev, free_bytes, total_bytes);
}

mx_status mx_device_sync(int dev) {
  const mx_gpu_backend *b = probed ? backend : NULL;
  if (!b) return MX_OK;
  int n = b->device_count();
  for (int d = dev < 0 ? 0 : dev; d < (dev < 0 ? n : dev + 1); d++) {
    mx_status rc = b->sync(d);
    if (rc) return rc;
  }
  return MX_OK;
}
