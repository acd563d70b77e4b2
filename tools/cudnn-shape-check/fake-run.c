/*
 * fake-run -- runs the GPU kernels of the cuBLAS / cuDNN ops (the real host
 * files src/cuda/{gemm-cublas,conv-cudnn,pool-cudnn,bn-cudnn,act-cudnn,
 * rnn-cudnn,dnn-table,cudnn-desc}.c) on the host and compares them with the CPU
 * kernels (src/ops) of a CPU-only engine build, op by op, forward and
 * backward, with the forward values backward is given restricted by each
 * op's backward_deps.
 *
 * "Device memory" is host memory.  The library calls that need a GPU are
 * replaced by host implementations written here from cuDNN's and cuBLAS's
 * documented semantics (the executable's definitions take precedence over
 * the shared libraries'); cuDNN's descriptor functions are the real ones.
 * The module's own CUDA kernels (kernels/dnn-kernels.cu) are replaced by
 * host versions of the same formulas.  So this checks what the host code
 * does -- parameter lookup by name, geometry, descriptor roles (the
 * Deconvolution's transposed convolution), cuBLAS argument mapping and
 * strides, req / NULL handling, BatchNorm's statistics and side effects,
 * algorithm selection per cudnn_tune and the math type, empty data,
 * supports()' size limits -- not cuDNN or the GPU itself.
 */
#include "../../src/cuda/cudnn-desc.h"
#include "../../src/cuda/dnn-math.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MX_DNN_REAL_GPU
/* ================================================== device.c stand-ins (real GPU) */

static cudaStream_t g_stream;
static mx_cuda_dev g_dev;

static mx_status r_alloc(size_t bytes, mx_context ctx, mx_storage **out) {
  mx_storage *s = calloc(1, sizeof *s);
  void *p = NULL;
  if (!s || cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
    free(s);
    return mx_error_at("r_alloc", MX_ERR_NOMEM, "cudaMalloc of %zu bytes failed", bytes);
  }
  s->data = s->raw = p;
  s->bytes = s->request = bytes;
  s->ctx = ctx;
  s->refcount = 1;
  *out = s;
  return MX_OK;
}
static void r_release(mx_storage *s) {
  cudaStreamSynchronize(g_stream);   /* the test's pool: free only after the queued work */
  cudaFree(s->data);
  free(s);
}
static mx_status h_error_at(const char *func, mx_status st, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return mx_error_at(func, st, "%s", buf);
}
static const char *h_getenv(const char *name) { return getenv(name); }
/* the engine's scratch rule (mx_scratch_open) on this harness's allocator */
static mx_status h_scratch_open(const mx_op_ctx *c, size_t need, mx_scratch *s) {
  memset(s, 0, sizeof *s);
  s->size = need;
  if (need == 0) return MX_OK;
  if (c->workspace && c->workspace_bytes >= need) {
    s->base = (char *)c->workspace;
    return MX_OK;
  }
  mx_status rc = r_alloc(need, c->ctx, &s->own);
  if (rc == MX_OK) s->base = (char *)s->own->data;
  return rc;
}
static void h_scratch_close(mx_scratch *s) {
  if (s->own) r_release(s->own);
  memset(s, 0, sizeof *s);
}
static const mx_host_services g_host = {
  .abi = MX_GPU_ABI, .error_at = h_error_at, .op_find = mx_op_find,
  .op_param_index = mx_op_param_index, .storage_alloc = r_alloc, .storage_release = r_release,
  .scratch_open = h_scratch_open, .scratch_close = h_scratch_close, .getenv = h_getenv};
void mx_cuda_pool_give_back(int dev) { (void)dev; }   /* r_alloc keeps no cache */
const mx_host_services *mx_host = &g_host;

mx_status mx_cuda_check(cudaError_t e, const char *what) {
  return mx_error_at("cuda", MX_ERR_DEVICE, "%s: %s", what, cudaGetErrorString(e));
}
mx_status mx_cublas_check(cublasStatus_t e, const char *what) {
  return mx_error_at("cublas", MX_ERR_DEVICE, "%s failed (%d)", what, (int)e);
}
mx_status mx_cudnn_check(cudnnStatus_t e, const char *what) {
  return mx_error_at("cudnn", MX_ERR_DEVICE, "%s: %s", what, cudnnGetErrorString(e));
}
mx_status mx_cuda_cudnn(mx_cuda_dev *d, cudnnHandle_t *out) {
  *out = d->cudnn;
  return MX_OK;
}
mx_status mx_cu_fill(cudaStream_t s, void *p, int dtype, int64_t n, double v) {
  size_t es = mx_dtype_size(dtype);
  void *h = malloc((size_t)n * es + 1);
  for (int64_t i = 0; i < n; i++) mx_store_f64(h, dtype, i, v);
  cudaError_t e = cudaMemcpyAsync(p, h, (size_t)n * es, cudaMemcpyHostToDevice, s);
  if (e == cudaSuccess) e = cudaStreamSynchronize(s);
  free(h);
  return e == cudaSuccess ? MX_OK : mx_cuda_check(e, "fill");
}

static int dev_init(void) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    printf("no GPU: %s\n", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    return -1;
  }
  struct cudaDeviceProp pr;
  cudaGetDeviceProperties(&pr, 0);
  cudaSetDevice(0);
  g_dev.id = 0;
  g_dev.sm = pr.major * 10 + pr.minor;
  if (cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking) != cudaSuccess ||
      cublasCreate(&g_dev.cublas) != CUBLAS_STATUS_SUCCESS ||
      cublasSetStream(g_dev.cublas, g_stream) != CUBLAS_STATUS_SUCCESS ||
      cudnnCreate(&g_dev.cudnn) != CUDNN_STATUS_SUCCESS ||
      cudnnSetStream(g_dev.cudnn, g_stream) != CUDNN_STATUS_SUCCESS) {
    printf("could not create the stream and library handles\n");
    return -1;
  }
  g_dev.stream = g_stream;
  g_dev.cudnn_ready = 1;
  /* strict float32 everywhere, so float32 results compare with the CPU's */
  g_dev.allow_tf32_conv = getenv("DNN_RUN_TF32") ? 1 : 0;
  g_dev.allow_tf32_gemm = 0;
  printf("device: %s (sm_%d), cuDNN %zu, TF32 in convolutions %s\n", pr.name, g_dev.sm,
         cudnnGetVersion(), g_dev.allow_tf32_conv ? "on" : "off");
  return 0;
}

static mx_ndarray *dev_from(const mx_ndarray *h) {
  size_t bytes = (size_t)mx_shape_size(&h->shape) * mx_dtype_size(h->dtype);
  mx_context gpu = {MX_GPU, 0};
  mx_storage *st;
  if (r_alloc(bytes, gpu, &st)) { printf("%s\n", mx_last_error()); exit(2); }
  cudaMemcpy(st->data, MX_PTR(h), bytes, cudaMemcpyHostToDevice);
  mx_ndarray *a = calloc(1, sizeof *a);
  a->st = st;
  a->shape = h->shape;
  a->dtype = h->dtype;
  a->ctx = gpu;
  return a;
}
static mx_ndarray *new_arr(const mx_shape *s, int dt, int fill);
static mx_ndarray *host_from(const mx_ndarray *d) {
  mx_ndarray *h = new_arr(&d->shape, d->dtype, 0);
  cudaStreamSynchronize(g_stream);
  cudaMemcpy(MX_PTR(h), MX_PTR(d), (size_t)mx_shape_size(&d->shape) * mx_dtype_size(d->dtype),
             cudaMemcpyDeviceToHost);
  return h;
}
static void dev_free(mx_ndarray *a) {
  if (!a) return;
  r_release(a->st);
  free(a);
}
/* queued work finished without an asynchronous error */
static mx_status dev_done(void) {
  cudaError_t e = cudaStreamSynchronize(g_stream);
  if (e == cudaSuccess) e = cudaGetLastError();
  return e == cudaSuccess ? MX_OK : mx_cuda_check(e, "the queued work");
}
/* float32: 1e-3 relative (cuDNN's FFT / Winograd algorithms); TF32 5e-3 */
#define F32_TOL (g_dev.allow_tf32_conv ? 5e-3 : 1e-3)
#define F64_TOL 1e-8
#else
/* ================================================== device.c stand-ins */

static mx_status h_error_at(const char *func, mx_status st, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return mx_error_at(func, st, "%s", buf);
}
static const char *h_getenv(const char *name) { return getenv(name); }
static int g_scratch_fail;   /* scratch requests of some bytes still to fail (out of memory) */
static mx_status h_scratch_open(const mx_op_ctx *c, size_t need, mx_scratch *s) {
  if (need > 0 && g_scratch_fail > 0) {
    g_scratch_fail--;
    return mx_error(MX_ERR_NOMEM, "fake GPU: no room for %zu bytes of scratch", need);
  }
  return mx_scratch_open(c, need, s);
}
static int g_warnings;
static void h_log(int level, const char *fmt, ...) {
  (void)fmt;
  g_warnings += level >= MX_LOG_WARN;
}
static const mx_host_services g_host = {
  .abi = MX_GPU_ABI, .error_at = h_error_at, .log = h_log, .op_find = mx_op_find,
  .op_param_index = mx_op_param_index, .storage_alloc = mx_storage_alloc,
  .storage_release = mx_storage_release, .scratch_open = h_scratch_open,
  .scratch_close = mx_scratch_close, .getenv = h_getenv};
static long g_pool_releases;   /* the module asked the engine's pool to give back */
void mx_cuda_pool_give_back(int dev) {   /* "device" memory is the CPU pool's here */
  (void)dev;
  mx_pool_release(MX_CPU, 0);
  g_pool_releases++;
}
const mx_host_services *mx_host = &g_host;

mx_status mx_cuda_check(cudaError_t e, const char *what) {
  return mx_error_at("cuda", e == cudaErrorMemoryAllocation ? MX_ERR_NOMEM : MX_ERR_DEVICE,
                     "%s failed (%d)", what, (int)e);
}
mx_status mx_cublas_check(cublasStatus_t e, const char *what) {
  return mx_error_at("cublas", MX_ERR_DEVICE, "%s failed (%d)", what, (int)e);
}
mx_status mx_cudnn_check(cudnnStatus_t e, const char *what) {
  return mx_error_at("cudnn", MX_ERR_DEVICE, "%s: %s", what, cudnnGetErrorString(e));
}
static int g_fake_handle;
mx_status mx_cuda_cudnn(mx_cuda_dev *d, cudnnHandle_t *out) {
  (void)d;
  *out = (cudnnHandle_t)&g_fake_handle;
  return MX_OK;
}
mx_status mx_cu_fill(cudaStream_t s, void *p, int dtype, int64_t n, double v) {
  (void)s;
  for (int64_t i = 0; i < n; i++) mx_store_f64(p, dtype, i, v);
  return MX_OK;
}
static long g_memcpy_async;   /* calls: the RNN's weight copies, counted by main */
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream) {
  (void)kind; (void)stream;
  g_memcpy_async++;
  memmove(dst, src, count);
  return cudaSuccess;
}

/* ================================================== own kernels (host) */

mx_status mx_dnn_bias_add(cudaStream_t s, int dt, void *y, const void *b, int64_t outer, int64_t C,
                          int64_t inner) {
  (void)s;
  for (int64_t i = 0; i < outer * C * inner; i++)
    mx_store_f64(y, dt, i, mx_load_f64(y, dt, i) + mx_load_f64(b, dt, (i / inner) % C));
  return MX_OK;
}
mx_status mx_dnn_bias_grad(cudaStream_t s, int dt, void *db, const void *dy, int64_t outer,
                           int64_t C, int64_t inner) {
  (void)s;
  for (int64_t c = 0; c < C; c++) {
    double acc = 0;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < inner; i++) acc += mx_load_f64(dy, dt, (o * C + c) * inner + i);
    mx_store_f64(db, dt, c, acc);
  }
  return MX_OK;
}
/* the same formulas as the device (dnn-math.h), in the element type (half:
 * in float, as the device) */
static float ldf(const void *p, int dt, int64_t i) { return (float)mx_load_f64(p, dt, i); }
mx_status mx_dnn_act_fwd(cudaStream_t s, int dt, int act, const void *x, void *y, int64_t n) {
  (void)s;
  for (int64_t i = 0; i < n; i++) {
    if (dt == MX_FLOAT64) ((double *)y)[i] = mx_dnn_act_f64(act, ((const double *)x)[i]);
    else mx_store_f64(y, dt, i, mx_dnn_act_f32(act, ldf(x, dt, i)));
  }
  return MX_OK;
}
mx_status mx_dnn_act_bwd(cudaStream_t s, int dt, int act, const void *dy, const void *x, void *dx,
                         int64_t n) {
  (void)s;
  for (int64_t i = 0; i < n; i++) {
    if (dt == MX_FLOAT64)
      ((double *)dx)[i] = mx_dnn_act_grad_f64(act, ((const double *)dy)[i], ((const double *)x)[i]);
    else
      mx_store_f64(dx, dt, i, mx_dnn_act_grad_f32(act, ldf(dy, dt, i), ldf(x, dt, i)));
  }
  return MX_OK;
}
mx_status mx_dnn_maxpool_bwd(cudaStream_t s, int dt, const mx_dnn_pool *g, const void *x,
                             const void *y, const void *dy, void *dx) {
  (void)s;
  int64_t hw = g->H * g->W, per = g->Ho * g->Wo, nx = g->N * g->C * hw;
  for (int64_t i = 0; i < nx; i++) mx_store_f64(dx, dt, i, 0);
  float *xf = NULL;   /* half: x as float (exact), compared as the device does */
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64) {
    xf = malloc((size_t)(nx > 0 ? nx : 1) * sizeof *xf);
    for (int64_t i = 0; i < nx; i++) xf[i] = ldf(x, dt, i);
  }
  for (int64_t i = 0; i < g->N * g->C * per; i++) {   /* one device thread per output */
    int64_t pl = i / per, r = i % per, a;
    if (dt != MX_FLOAT64)
      a = mx_dnn_maxpool_arg_f32((xf ? xf : (const float *)x) + pl * hw, ldf(y, dt, i), g->H, g->W,
                                 r / g->Wo, r % g->Wo, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw);
    else
      a = mx_dnn_maxpool_arg_f64((const double *)x + pl * hw, ((const double *)y)[i], g->H, g->W,
                                 r / g->Wo, r % g->Wo, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw);
    if (a >= 0)
      mx_store_f64(dx, dt, pl * hw + a, mx_load_f64(dx, dt, pl * hw + a) + mx_load_f64(dy, dt, i));
  }
  free(xf);
  return MX_OK;
}
mx_status mx_dnn_scale(cudaStream_t s, int dt, const void *x, void *y, double sc, int64_t n) {
  (void)s;
  for (int64_t i = 0; i < n; i++) mx_store_f64(y, dt, i, mx_load_f64(x, dt, i) * sc);
  return MX_OK;
}
mx_status mx_dnn_bn_finish(cudaStream_t s, int dt, int64_t C, const void *mean, const void *istd,
                           double eps, double mom, void *var_out, void *mm, void *mv) {
  (void)s;
  for (int64_t c = 0; c < C; c++) {
    double var = mx_dnn_bn_var(mx_load_f64(istd, dt, c), eps);
    if (var_out) mx_store_f64(var_out, dt, c, var);
    mx_store_f64(mm, dt, c, mx_dnn_moving(mx_load_f64(mm, dt, c), mx_load_f64(mean, dt, c), mom));
    mx_store_f64(mv, dt, c, mx_dnn_moving(mx_load_f64(mv, dt, c), var, mom));
  }
  return MX_OK;
}
mx_status mx_dnn_bn_istd(cudaStream_t s, int dt, int64_t C, const void *var, double eps,
                         void *istd) {
  (void)s;
  for (int64_t c = 0; c < C; c++) mx_store_f64(istd, dt, c, mx_dnn_istd_of(mx_load_f64(var, dt, c), eps));
  return MX_OK;
}
mx_status mx_dnn_bn_bwd_stats(cudaStream_t s, int dt, int pt, const void *x, const void *dy,
                              const void *mean, const void *var, const void *gamma, double eps,
                              int fix, int64_t outer, int64_t C, int64_t inner, void *dx, void *dg,
                              void *db) {
  (void)s;
  for (int64_t c = 0; c < C; c++) {
    double mu = mx_load_f64(mean, pt, c), istd = 1 / sqrt(mx_load_f64(var, pt, c) + eps);
    double sg = 0, sgx = 0;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t k = (o * C + c) * inner + i;
        sg += mx_load_f64(dy, dt, k);
        sgx += mx_load_f64(dy, dt, k) * (mx_load_f64(x, dt, k) - mu);
      }
    if (db) mx_store_f64(db, pt, c, sg);
    if (dg) mx_store_f64(dg, pt, c, fix ? 0 : sgx * istd);
    double a = (fix ? 1 : mx_load_f64(gamma, pt, c)) * istd;
    if (dx)
      for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
          int64_t k = (o * C + c) * inner + i;
          mx_store_f64(dx, dt, k, a * mx_load_f64(dy, dt, k));
        }
  }
  return MX_OK;
}

/* ================================================== fake cuBLAS */

static int g_calls_gemm, g_calls_find, g_calls_heur;

/* Element i of a tensor of dtype dt (the fakes compute in double and round
 * once on storing). */
static double ldt(const void *p, int dt, int64_t i) { return mx_load_f64(p, dt, i); }
static void stt(void *p, int dt, int64_t i, double v) { mx_store_f64(p, dt, i, v); }
static int is_half(int dt) { return dt == MX_FLOAT16 || dt == MX_BFLOAT16; }
static int cuda_dtype(cudaDataType t) {
  return t == CUDA_R_64F ? MX_FLOAT64 : t == CUDA_R_16F ? MX_FLOAT16 : t == CUDA_R_16BF ? MX_BFLOAT16
                                                                                     : MX_FLOAT32;
}

static cublasStatus_t gemm_host(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const void *alpha, const void *A, cudaDataType at, int lda,
                                long long sa, const void *B, int ldb, long long sb,
                                const void *beta, void *C, cudaDataType ctp, int ldc, long long sc,
                                int batch, cublasComputeType_t ct) {
  int dt = cuda_dtype(at);
  if ((dt == MX_FLOAT64) != (ct == CUBLAS_COMPUTE_64F) || cuda_dtype(ctp) != dt)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (is_half(dt) && ct != CUBLAS_COMPUTE_32F) return CUBLAS_STATUS_INVALID_VALUE;   /* half: float sums */
  if (lda < (ta == CUBLAS_OP_N ? m : k) || ldb < (tb == CUBLAS_OP_N ? k : n) || ldc < m)
    return CUBLAS_STATUS_INVALID_VALUE;
  double al = dt == MX_FLOAT64 ? *(const double *)alpha : *(const float *)alpha;
  double be = dt == MX_FLOAT64 ? *(const double *)beta : *(const float *)beta;
  g_calls_gemm++;
  for (int b = 0; b < batch; b++)
    for (int j = 0; j < n; j++)
      for (int i = 0; i < m; i++) {
        double acc = 0;
        for (int l = 0; l < k; l++) {
          double a = ta == CUBLAS_OP_N ? ldt(A, dt, b * sa + i + (int64_t)l * lda)
                                       : ldt(A, dt, b * sa + l + (int64_t)i * lda);
          double bb = tb == CUBLAS_OP_N ? ldt(B, dt, b * sb + l + (int64_t)j * ldb)
                                        : ldt(B, dt, b * sb + j + (int64_t)l * ldb);
          acc += a * bb;
        }
        int64_t ci = b * sc + i + (int64_t)j * ldc;
        stt(C, dt, ci, al * acc + (be != 0 ? be * ldt(C, dt, ci) : 0));
      }
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void *alpha, const void *A, cudaDataType at,
                            int lda, const void *B, cudaDataType bt, int ldb, const void *beta,
                            void *C, cudaDataType ctp, int ldc, cublasComputeType_t ct,
                            cublasGemmAlgo_t algo) {
  (void)h; (void)bt; (void)algo;
  return gemm_host(ta, tb, m, n, k, alpha, A, at, lda, 0, B, ldb, 0, beta, C, ctp, ldc, 0, 1, ct);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta,
                                          cublasOperation_t tb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType at,
                                          int lda, long long sa, const void *B, cudaDataType bt,
                                          int ldb, long long sb, const void *beta, void *C,
                                          cudaDataType ctp, int ldc, long long sc, int batch,
                                          cublasComputeType_t ct, cublasGemmAlgo_t algo) {
  (void)h; (void)bt; (void)algo;
  return gemm_host(ta, tb, m, n, k, alpha, A, at, lda, sa, B, ldb, sb, beta, C, ctp, ldc, sc, batch, ct);
}

/* ================================================== fake cuDNN compute */

typedef struct t4 { int n, c, h, w, dt; } t4;
static t4 tget(cudnnTensorDescriptor_t d) {
  t4 t;
  cudnnDataType_t dt;
  int ns, cs, hs, ws;
  cudnnGetTensor4dDescriptor(d, &dt, &t.n, &t.c, &t.h, &t.w, &ns, &cs, &hs, &ws);
  t.dt = dt == CUDNN_DATA_DOUBLE ? MX_FLOAT64 : dt == CUDNN_DATA_HALF ? MX_FLOAT16
        : dt == CUDNN_DATA_BFLOAT16 ? MX_BFLOAT16 : MX_FLOAT32;
  return t;
}
/* alpha and beta: double for double tensors, else float */
static double scal(const void *p, int dt) { return dt == MX_FLOAT64 ? *(const double *)p : *(const float *)p; }
/* out = alpha r + beta out over n values */
static void blend(void *out, int dt, const double *r, int64_t n, const void *al, const void *be) {
  double a = scal(al, dt), b = scal(be, dt);
  for (int64_t i = 0; i < n; i++) stt(out, dt, i, a * r[i] + (b != 0 ? b * ldt(out, dt, i) : 0));
}

/* ---- convolution: cross-correlation with groups, from the descriptors */
static int g_conv_math[16][2];   /* compute calls by [dtype][FMA_MATH] */
typedef struct cv { t4 x, y; int K, Cg, kh, kw, ph, pw, sh, sw, dh, dw, G; } cv;
static cv cget(cudnnTensorDescriptor_t xd, cudnnFilterDescriptor_t wd, cudnnConvolutionDescriptor_t cd,
               cudnnTensorDescriptor_t yd) {
  cv v;
  v.x = tget(xd);
  v.y = tget(yd);
  cudnnDataType_t dt;
  cudnnTensorFormat_t f;
  cudnnGetFilter4dDescriptor(wd, &dt, &f, &v.K, &v.Cg, &v.kh, &v.kw);
  cudnnConvolutionMode_t mode;
  cudnnDataType_t ct;
  cudnnGetConvolution2dDescriptor(cd, &v.ph, &v.pw, &v.sh, &v.sw, &v.dh, &v.dw, &mode, &ct);
  cudnnGetConvolutionGroupCount(cd, &v.G);
  cudnnMathType_t m;
  cudnnGetConvolutionMathType(cd, &m);
  g_conv_math[v.x.dt][m == CUDNN_FMA_MATH]++;
  if (is_half(v.x.dt) && ct != CUDNN_DATA_FLOAT) v.K = -1;   /* half: float compute only */
  return v;
}
enum { C_FWD, C_BD, C_BF };
/* which: y = x * w; dx from dy and w; dw from x and dy */
static cudnnStatus_t conv_host(const cv *v, int which, const void *x, const void *w, const void *y,
                               void *out, const void *al, const void *be) {
  int dt = v->x.dt;
  if (v->y.n != v->x.n || v->y.c != v->K || v->x.c != v->Cg * v->G) return CUDNN_STATUS_BAD_PARAM;
  int64_t nx = (int64_t)v->x.n * v->x.c * v->x.h * v->x.w, ny = (int64_t)v->y.n * v->y.c * v->y.h * v->y.w;
  int64_t nw = (int64_t)v->K * v->Cg * v->kh * v->kw;
  int64_t nout = which == C_FWD ? ny : which == C_BD ? nx : nw;
  double *r = calloc((size_t)nout, sizeof *r);
  int Kg = v->K / v->G;
  for (int n = 0; n < v->x.n; n++)
    for (int k = 0; k < v->K; k++)
      for (int oh = 0; oh < v->y.h; oh++)
        for (int ow = 0; ow < v->y.w; ow++) {
          int64_t yi = (((int64_t)n * v->K + k) * v->y.h + oh) * v->y.w + ow;
          int g = k / Kg;
          for (int c = 0; c < v->Cg; c++)
            for (int i = 0; i < v->kh; i++)
              for (int j = 0; j < v->kw; j++) {
                int ih = oh * v->sh - v->ph + i * v->dh, iw = ow * v->sw - v->pw + j * v->dw;
                if (ih < 0 || ih >= v->x.h || iw < 0 || iw >= v->x.w) continue;
                int64_t xi = (((int64_t)n * v->x.c + g * v->Cg + c) * v->x.h + ih) * v->x.w + iw;
                int64_t wi = (((int64_t)k * v->Cg + c) * v->kh + i) * v->kw + j;
                if (which == C_FWD) r[yi] += ldt(x, dt, xi) * ldt(w, dt, wi);
                else if (which == C_BD) r[xi] += ldt(w, dt, wi) * ldt(y, dt, yi);
                else r[wi] += ldt(x, dt, xi) * ldt(y, dt, yi);
              }
        }
  blend(out, dt, r, nout, al, be);
  free(r);
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *al, const cudnnTensorDescriptor_t xd,
                                      const void *x, const cudnnFilterDescriptor_t wd, const void *w,
                                      const cudnnConvolutionDescriptor_t cd,
                                      cudnnConvolutionFwdAlgo_t a, void *ws, size_t wsz,
                                      const void *be, const cudnnTensorDescriptor_t yd, void *y) {
  (void)h; (void)a;
  if (wsz && !ws) return CUDNN_STATUS_BAD_PARAM;
  cv v = cget(xd, wd, cd, yd);
  return conv_host(&v, C_FWD, x, w, NULL, y, al, be);
}
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void *al,
                                           const cudnnFilterDescriptor_t wd, const void *w,
                                           const cudnnTensorDescriptor_t dyd, const void *dy,
                                           const cudnnConvolutionDescriptor_t cd,
                                           cudnnConvolutionBwdDataAlgo_t a, void *ws, size_t wsz,
                                           const void *be, const cudnnTensorDescriptor_t dxd,
                                           void *dx) {
  (void)h; (void)a;
  if (wsz && !ws) return CUDNN_STATUS_BAD_PARAM;
  cv v = cget(dxd, wd, cd, dyd);
  return conv_host(&v, C_BD, NULL, w, dy, dx, al, be);
}
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void *al,
                                             const cudnnTensorDescriptor_t xd, const void *x,
                                             const cudnnTensorDescriptor_t dyd, const void *dy,
                                             const cudnnConvolutionDescriptor_t cd,
                                             cudnnConvolutionBwdFilterAlgo_t a, void *ws,
                                             size_t wsz, const void *be,
                                             const cudnnFilterDescriptor_t dwd, void *dw) {
  (void)h; (void)a;
  if (wsz && !ws) return CUDNN_STATUS_BAD_PARAM;
  cv v = cget(xd, dwd, cd, dyd);
  return conv_host(&v, C_BF, x, NULL, dy, dw, al, be);
}

/* algorithms: 1 needs 1 MB of workspace, 0 none; the rest do not exist */
static cudnnStatus_t ws_size(int algo, size_t *s) {
  if (algo > 1) return CUDNN_STATUS_NOT_SUPPORTED;
  *s = algo == 1 ? (size_t)1 << 20 : 0;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
    const cudnnFilterDescriptor_t w, const cudnnConvolutionDescriptor_t c,
    const cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t a, size_t *s) {
  (void)h; (void)x; (void)w; (void)c; (void)y;
  return ws_size((int)a, s);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t h,
    const cudnnFilterDescriptor_t w, const cudnnTensorDescriptor_t dy,
    const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t dx,
    cudnnConvolutionBwdDataAlgo_t a, size_t *s) {
  (void)h; (void)w; (void)dy; (void)c; (void)dx;
  return ws_size((int)a, s);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t h,
    const cudnnTensorDescriptor_t x, const cudnnTensorDescriptor_t dy,
    const cudnnConvolutionDescriptor_t c, const cudnnFilterDescriptor_t dw,
    cudnnConvolutionBwdFilterAlgo_t a, size_t *s) {
  (void)h; (void)x; (void)dy; (void)c; (void)dw;
  return ws_size((int)a, s);
}
/* each candidate carries the descriptor's math type, as cuDNN's results do */
#define FAKE_PERF(perf, n, want, cd)                                    \
  do {                                                                  \
    *(n) = (want) < 2 ? (want) : 2;                                     \
    for (int i_ = 0; i_ < *(n); i_++) {                                 \
      memset(&(perf)[i_], 0, sizeof (perf)[i_]);                        \
      (perf)[i_].algo = i_ == 0 ? 1 : 0;                                \
      (perf)[i_].status = CUDNN_STATUS_SUCCESS;                         \
      (perf)[i_].memory = i_ == 0 ? (size_t)1 << 20 : 0;                \
      (perf)[i_].determinism = i_ == 0 ? CUDNN_NON_DETERMINISTIC : CUDNN_DETERMINISTIC; \
      cudnnGetConvolutionMathType((cd), &(perf)[i_].mathType);          \
    }                                                                   \
  } while (0)
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
    const cudnnFilterDescriptor_t w, const cudnnConvolutionDescriptor_t c,
    const cudnnTensorDescriptor_t y, const int req, int *n, cudnnConvolutionFwdAlgoPerf_t *perf) {
  (void)h; (void)x; (void)w; (void)c; (void)y;
  g_calls_heur++;
  FAKE_PERF(perf, n, req, c);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t h,
    const cudnnFilterDescriptor_t w, const cudnnTensorDescriptor_t dy,
    const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t dx, const int req, int *n,
    cudnnConvolutionBwdDataAlgoPerf_t *perf) {
  (void)h; (void)w; (void)dy; (void)c; (void)dx;
  g_calls_heur++;
  FAKE_PERF(perf, n, req, c);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t h,
    const cudnnTensorDescriptor_t x, const cudnnTensorDescriptor_t dy,
    const cudnnConvolutionDescriptor_t c, const cudnnFilterDescriptor_t dw, const int req, int *n,
    cudnnConvolutionBwdFilterAlgoPerf_t *perf) {
  (void)h; (void)x; (void)dy; (void)c; (void)dw;
  g_calls_heur++;
  FAKE_PERF(perf, n, req, c);
  return CUDNN_STATUS_SUCCESS;
}
/* Find*Ex: checks the scratch and scribbles over the output it "times" */
static void scribble(cudnnTensorDescriptor_t d, void *p) {
  t4 t = tget(d);
  for (int64_t i = 0; i < (int64_t)t.n * t.c * t.h * t.w; i++) stt(p, t.dt, i, 12345.0);
}
cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t h, const cudnnTensorDescriptor_t xd,
    const void *x, const cudnnFilterDescriptor_t wd, const void *w,
    const cudnnConvolutionDescriptor_t cd, const cudnnTensorDescriptor_t yd, void *y, const int req,
    int *n, cudnnConvolutionFwdAlgoPerf_t *perf, void *ws, size_t wsz) {
  (void)h; (void)xd; (void)x; (void)wd; (void)w; (void)cd;
  if (wsz < ((size_t)1 << 20) || !ws) return CUDNN_STATUS_BAD_PARAM;
  g_calls_find++;
  scribble(yd, y);
  FAKE_PERF(perf, n, req, cd);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t h,
    const cudnnFilterDescriptor_t wd, const void *w, const cudnnTensorDescriptor_t dyd,
    const void *dy, const cudnnConvolutionDescriptor_t cd, const cudnnTensorDescriptor_t dxd,
    void *dx, const int req, int *n, cudnnConvolutionBwdDataAlgoPerf_t *perf, void *ws,
    size_t wsz) {
  (void)h; (void)wd; (void)w; (void)dyd; (void)dy; (void)cd;
  if (wsz < ((size_t)1 << 20) || !ws) return CUDNN_STATUS_BAD_PARAM;
  g_calls_find++;
  scribble(dxd, dx);
  FAKE_PERF(perf, n, req, cd);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t h,
    const cudnnTensorDescriptor_t xd, const void *x, const cudnnTensorDescriptor_t dyd,
    const void *y, const cudnnConvolutionDescriptor_t cd, const cudnnFilterDescriptor_t dwd,
    void *dw, const int req, int *n, cudnnConvolutionBwdFilterAlgoPerf_t *perf, void *ws,
    size_t wsz) {
  (void)h; (void)xd; (void)x; (void)dyd; (void)y; (void)cd; (void)dwd; (void)dw;
  if (wsz < ((size_t)1 << 20) || !ws) return CUDNN_STATUS_BAD_PARAM;
  g_calls_find++;
  FAKE_PERF(perf, n, req, cd);
  return CUDNN_STATUS_SUCCESS;
}

/* ---- pooling: max takes the first maximum of the cells inside the data */
typedef struct pl { t4 x, y; cudnnPoolingMode_t mode; int wh, ww, ph, pw, sh, sw; } pl;
static pl pget(cudnnPoolingDescriptor_t pd, cudnnTensorDescriptor_t xd, cudnnTensorDescriptor_t yd) {
  pl v;
  cudnnNanPropagation_t nan;
  cudnnGetPooling2dDescriptor(pd, &v.mode, &nan, &v.wh, &v.ww, &v.ph, &v.pw, &v.sh, &v.sw);
  v.x = tget(xd);
  v.y = tget(yd);
  return v;
}
/* window of output (p, oh, ow) (p = plane): visits cells; returns the argmax (max mode) */
static int64_t pool_window(const pl *v, const void *x, int64_t pln, int oh, int ow, double *sum,
                           int *cnt) {
  int dt = v->x.dt;
  int64_t arg = -1;
  double m = 0;
  *sum = 0;
  *cnt = 0;
  for (int i = 0; i < v->wh; i++)
    for (int j = 0; j < v->ww; j++) {
      int ih = oh * v->sh - v->ph + i, iw = ow * v->sw - v->pw + j;
      if (ih < 0 || ih >= v->x.h || iw < 0 || iw >= v->x.w) continue;
      int64_t xi = (pln * v->x.h + ih) * v->x.w + iw;
      double a = x ? ldt(x, dt, xi) : 0;
      if (arg < 0 || a > m) { m = a; arg = xi; }
      *sum += a;
      (*cnt)++;
    }
  return arg;
}
static int is_max(cudnnPoolingMode_t m) { return m == CUDNN_POOLING_MAX || m == CUDNN_POOLING_MAX_DETERMINISTIC; }
cudnnStatus_t cudnnPoolingForward(cudnnHandle_t h, const cudnnPoolingDescriptor_t pd, const void *al,
                                  const cudnnTensorDescriptor_t xd, const void *x, const void *be,
                                  const cudnnTensorDescriptor_t yd, void *y) {
  (void)h;
  pl v = pget(pd, xd, yd);
  int64_t ny = (int64_t)v.y.n * v.y.c * v.y.h * v.y.w;
  double *r = calloc((size_t)ny, sizeof *r);
  for (int64_t pln = 0; pln < (int64_t)v.y.n * v.y.c; pln++)
    for (int oh = 0; oh < v.y.h; oh++)
      for (int ow = 0; ow < v.y.w; ow++) {
        double s;
        int cnt;
        int64_t arg = pool_window(&v, x, pln, oh, ow, &s, &cnt);
        int64_t yi = (pln * v.y.h + oh) * v.y.w + ow;
        r[yi] = is_max(v.mode) ? ldt(x, v.x.dt, arg)
                : v.mode == CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING ? s / (v.wh * v.ww) : s / cnt;
      }
  blend(y, v.x.dt, r, ny, al, be);
  free(r);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnPoolingBackward(cudnnHandle_t h, const cudnnPoolingDescriptor_t pd, const void *al,
                                   const cudnnTensorDescriptor_t yd, const void *y,
                                   const cudnnTensorDescriptor_t dyd, const void *dy,
                                   const cudnnTensorDescriptor_t xd, const void *x, const void *be,
                                   const cudnnTensorDescriptor_t dxd, void *dx) {
  (void)h; (void)y; (void)dyd; (void)dxd;
  if (!y || !x || !dy || !dx) return CUDNN_STATUS_BAD_PARAM;
  pl v = pget(pd, xd, yd);
  int64_t nx = (int64_t)v.x.n * v.x.c * v.x.h * v.x.w;
  double *r = calloc((size_t)nx, sizeof *r);
  int dt = v.x.dt;
  for (int64_t pln = 0; pln < (int64_t)v.y.n * v.y.c; pln++)
    for (int oh = 0; oh < v.y.h; oh++)
      for (int ow = 0; ow < v.y.w; ow++) {
        double s;
        int cnt;
        int64_t yi = (pln * v.y.h + oh) * v.y.w + ow;
        double g = ldt(dy, dt, yi);
        if (is_max(v.mode)) {
          r[pool_window(&v, x, pln, oh, ow, &s, &cnt)] += g;
          continue;
        }
        pool_window(&v, NULL, pln, oh, ow, &s, &cnt);
        double a = v.mode == CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING ? v.wh * v.ww : cnt;
        for (int i = 0; i < v.wh; i++)
          for (int j = 0; j < v.ww; j++) {
            int ih = oh * v.sh - v.ph + i, iw = ow * v.sw - v.pw + j;
            if (ih >= 0 && ih < v.x.h && iw >= 0 && iw < v.x.w) r[(pln * v.x.h + ih) * v.x.w + iw] += g / a;
          }
      }
  blend(dx, dt, r, nx, al, be);
  free(r);
  return CUDNN_STATUS_SUCCESS;
}

/* ---- batch norm (spatial): per channel over n, h, w */
static int g_bn_running_given, g_bn_saved_given;
static int g_bn_misaligned;   /* per-channel arrays not 16-byte aligned (vector loads) */
static void bn_aligned(const void *const *p, int n) {
  for (int i = 0; i < n; i++) g_bn_misaligned += (uintptr_t)p[i] % 16 != 0;
}
static void bn_stats(const t4 *t, const void *x, int c, double *mean, double *var) {
  double s = 0, ss = 0;
  int64_t m = (int64_t)t->n * t->h * t->w;
  for (int n = 0; n < t->n; n++)
    for (int64_t i = 0; i < (int64_t)t->h * t->w; i++) s += ldt(x, t->dt, ((int64_t)n * t->c + c) * t->h * t->w + i);
  *mean = s / m;
  for (int n = 0; n < t->n; n++)
    for (int64_t i = 0; i < (int64_t)t->h * t->w; i++) {
      double d = ldt(x, t->dt, ((int64_t)n * t->c + c) * t->h * t->w + i) - *mean;
      ss += d * d;
    }
  *var = ss / m;
}
static void bn_apply(const t4 *t, const void *x, void *y, int c, double a, double b) {
  for (int n = 0; n < t->n; n++)
    for (int64_t i = 0; i < (int64_t)t->h * t->w; i++) {
      int64_t k = ((int64_t)n * t->c + c) * t->h * t->w + i;
      stt(y, t->dt, k, ldt(x, t->dt, k) * a + b);
    }
}
cudnnStatus_t cudnnBatchNormalizationForwardTraining(cudnnHandle_t h, cudnnBatchNormMode_t mode,
    const void *al, const void *be, const cudnnTensorDescriptor_t xd, const void *x,
    const cudnnTensorDescriptor_t yd, void *y, const cudnnTensorDescriptor_t bnd, const void *scale,
    const void *bias, double factor, void *rm, void *rv, double eps, void *sm, void *siv) {
  (void)h; (void)al; (void)be; (void)yd;
  if (mode != CUDNN_BATCHNORM_SPATIAL) return CUDNN_STATUS_NOT_SUPPORTED;
  if (rm || rv || factor != 0) g_bn_running_given++;
  bn_aligned((const void *[]){scale, bias, rm, rv, sm, siv}, 6);
  t4 t = tget(xd);
  int pk = tget(bnd).dt;   /* the per-channel arrays' dtype: float for half data */
  for (int c = 0; c < t.c; c++) {
    double mean, var;
    bn_stats(&t, x, c, &mean, &var);
    double is = 1 / sqrt(var + eps), g = ldt(scale, pk, c);
    bn_apply(&t, x, y, c, g * is, ldt(bias, pk, c) - mean * g * is);
    if (sm) stt(sm, pk, c, mean);
    if (siv) stt(siv, pk, c, is);
  }
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnBatchNormalizationForwardInference(cudnnHandle_t h, cudnnBatchNormMode_t mode,
    const void *al, const void *be, const cudnnTensorDescriptor_t xd, const void *x,
    const cudnnTensorDescriptor_t yd, void *y, const cudnnTensorDescriptor_t bnd, const void *scale,
    const void *bias, const void *em, const void *ev, double eps) {
  (void)h; (void)al; (void)be; (void)yd;
  if (mode != CUDNN_BATCHNORM_SPATIAL) return CUDNN_STATUS_NOT_SUPPORTED;
  bn_aligned((const void *[]){scale, bias, em, ev}, 4);
  t4 t = tget(xd);
  int pk = tget(bnd).dt;   /* the per-channel arrays' dtype: float for half data */
  for (int c = 0; c < t.c; c++) {
    double is = 1 / sqrt(ldt(ev, pk, c) + eps), g = ldt(scale, pk, c);
    bn_apply(&t, x, y, c, g * is, ldt(bias, pk, c) - ldt(em, pk, c) * g * is);
  }
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnBatchNormalizationBackward(cudnnHandle_t h, cudnnBatchNormMode_t mode,
    const void *ad, const void *bd, const void *ap, const void *bp, const cudnnTensorDescriptor_t xd,
    const void *x, const cudnnTensorDescriptor_t dyd, const void *dy,
    const cudnnTensorDescriptor_t dxd, void *dx, const cudnnTensorDescriptor_t bnd,
    const void *scale, void *dscale, void *dbias, double eps, const void *sm, const void *siv) {
  (void)h; (void)ad; (void)bd; (void)ap; (void)bp; (void)dyd; (void)dxd;
  if (mode != CUDNN_BATCHNORM_SPATIAL || (!sm) != (!siv)) return CUDNN_STATUS_BAD_PARAM;
  if (sm) g_bn_saved_given++;
  bn_aligned((const void *[]){scale, dscale, dbias, sm, siv}, 5);
  t4 t = tget(xd);
  int pk = tget(bnd).dt;   /* the per-channel arrays' dtype: float for half data */
  int64_t hw = (int64_t)t.h * t.w, m = t.n * hw;
  for (int c = 0; c < t.c; c++) {
    double mean, var;
    bn_stats(&t, x, c, &mean, &var);
    double is = sm ? ldt(siv, pk, c) : 1 / sqrt(var + eps);
    if (sm) mean = ldt(sm, pk, c);
    double sg = 0, sgx = 0;
    for (int n = 0; n < t.n; n++)
      for (int64_t i = 0; i < hw; i++) {
        int64_t k = ((int64_t)n * t.c + c) * hw + i;
        sg += ldt(dy, t.dt, k);
        sgx += ldt(dy, t.dt, k) * (ldt(x, t.dt, k) - mean) * is;
      }
    stt(dbias, pk, c, sg);
    stt(dscale, pk, c, sgx);
    double g = ldt(scale, pk, c);
    for (int n = 0; n < t.n; n++)
      for (int64_t i = 0; i < hw; i++) {
        int64_t k = ((int64_t)n * t.c + c) * hw + i;
        double xh = (ldt(x, t.dt, k) - mean) * is;
        stt(dx, t.dt, k, g * is / m * (m * ldt(dy, t.dt, k) - sg - xh * sgx));
      }
  }
  return CUDNN_STATUS_SUCCESS;
}

/* ---- activation */
static cudnnActivationMode_t amode(cudnnActivationDescriptor_t ad) {
  cudnnActivationMode_t m;
  cudnnNanPropagation_t nan;
  double coef;
  cudnnGetActivationDescriptor(ad, &m, &nan, &coef);
  return m;
}
static int64_t tsize(const t4 *t) { return (int64_t)t->n * t->c * t->h * t->w; }
cudnnStatus_t cudnnActivationForward(cudnnHandle_t h, cudnnActivationDescriptor_t ad, const void *al,
                                     const cudnnTensorDescriptor_t xd, const void *x, const void *be,
                                     const cudnnTensorDescriptor_t yd, void *y) {
  (void)h; (void)yd;
  t4 t = tget(xd);
  cudnnActivationMode_t m = amode(ad);
  int64_t n = tsize(&t);
  double *r = malloc((size_t)n * sizeof *r);
  for (int64_t i = 0; i < n; i++) {
    double v = ldt(x, t.dt, i);
    r[i] = m == CUDNN_ACTIVATION_RELU ? (v > 0 ? v : 0) : m == CUDNN_ACTIVATION_SIGMOID ? 1 / (1 + exp(-v)) : tanh(v);
  }
  blend(y, t.dt, r, n, al, be);
  free(r);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnActivationBackward(cudnnHandle_t h, cudnnActivationDescriptor_t ad, const void *al,
                                      const cudnnTensorDescriptor_t yd, const void *y,
                                      const cudnnTensorDescriptor_t dyd, const void *dy,
                                      const cudnnTensorDescriptor_t xd, const void *x, const void *be,
                                      const cudnnTensorDescriptor_t dxd, void *dx) {
  (void)h; (void)dyd; (void)xd; (void)dxd;
  t4 t = tget(yd);
  cudnnActivationMode_t m = amode(ad);
  int64_t n = tsize(&t);
  double *r = malloc((size_t)n * sizeof *r);
  for (int64_t i = 0; i < n; i++) {
    double yv = ldt(y, t.dt, i), g = ldt(dy, t.dt, i);
    r[i] = m == CUDNN_ACTIVATION_RELU ? (ldt(x, t.dt, i) > 0 ? g : 0)
           : m == CUDNN_ACTIVATION_SIGMOID ? g * yv * (1 - yv) : g * (1 - yv * yv);
  }
  blend(dx, t.dt, r, n, al, be);
  free(r);
  return CUDNN_STATUS_SUCCESS;
}

/* ---- softmax over the channel axis */
cudnnStatus_t cudnnSoftmaxForward(cudnnHandle_t h, cudnnSoftmaxAlgorithm_t algo,
                                  cudnnSoftmaxMode_t mode, const void *al,
                                  const cudnnTensorDescriptor_t xd, const void *x, const void *be,
                                  const cudnnTensorDescriptor_t yd, void *y) {
  (void)h; (void)yd;
  if (mode != CUDNN_SOFTMAX_MODE_CHANNEL) return CUDNN_STATUS_NOT_SUPPORTED;
  t4 t = tget(xd);
  int64_t hw = (int64_t)t.h * t.w, n = tsize(&t);
  double *r = malloc((size_t)n * sizeof *r);
  for (int b = 0; b < t.n; b++)
    for (int64_t s = 0; s < hw; s++) {
      double mx = -INFINITY, sum = 0;
      for (int c = 0; c < t.c; c++) mx = fmax(mx, ldt(x, t.dt, ((int64_t)b * t.c + c) * hw + s));
      for (int c = 0; c < t.c; c++) sum += exp(ldt(x, t.dt, ((int64_t)b * t.c + c) * hw + s) - mx);
      for (int c = 0; c < t.c; c++) {
        int64_t k = ((int64_t)b * t.c + c) * hw + s;
        double v = ldt(x, t.dt, k) - mx;
        r[k] = algo == CUDNN_SOFTMAX_LOG ? v - log(sum) : exp(v) / sum;
      }
    }
  blend(y, t.dt, r, n, al, be);
  free(r);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSoftmaxBackward(cudnnHandle_t h, cudnnSoftmaxAlgorithm_t algo,
                                   cudnnSoftmaxMode_t mode, const void *al,
                                   const cudnnTensorDescriptor_t yd, const void *y,
                                   const cudnnTensorDescriptor_t dyd, const void *dy, const void *be,
                                   const cudnnTensorDescriptor_t dxd, void *dx) {
  (void)h; (void)dyd; (void)dxd;
  if (mode != CUDNN_SOFTMAX_MODE_CHANNEL) return CUDNN_STATUS_NOT_SUPPORTED;
  t4 t = tget(yd);
  int64_t hw = (int64_t)t.h * t.w, n = tsize(&t);
  double *r = malloc((size_t)n * sizeof *r);
  for (int b = 0; b < t.n; b++)
    for (int64_t s = 0; s < hw; s++) {
      double acc = 0;
      for (int c = 0; c < t.c; c++) {
        int64_t k = ((int64_t)b * t.c + c) * hw + s;
        acc += algo == CUDNN_SOFTMAX_LOG ? ldt(dy, t.dt, k) : ldt(dy, t.dt, k) * ldt(y, t.dt, k);
      }
      for (int c = 0; c < t.c; c++) {
        int64_t k = ((int64_t)b * t.c + c) * hw + s;
        double g = ldt(dy, t.dt, k), yv = ldt(y, t.dt, k);
        r[k] = algo == CUDNN_SOFTMAX_LOG ? g - exp(yv) * acc : yv * (g - acc);
      }
    }
  blend(dx, t.dt, r, n, al, be);
  free(r);
  return CUDNN_STATUS_SUCCESS;
}


/* ---- RNN: cuDNN's RNN calls in terms of the engine's CPU RNN kernel ----
 * The fake weight space has a layout of its own (per pseudo-layer and
 * linear layer: 8 padding values, the bias, then the matrix), unlike the
 * op's flat vector, so the module's copies in and out are what is checked;
 * the fake reserve space is the CPU reserve and g_rnn_extra bytes more (so
 * that the module must keep it in the node's state block); the weight
 * gradient is summed into the given space, as CUDNN_WGRAD_MODE_ADD. */
static void set_params(const mx_op *op, mx_param_value *p, const char *spec);
static int64_t g_rnn_extra;
static int g_rnn_same_layout;   /* the fake weight space in the op's own layout */
static int g_rnn_fwd, g_rnn_bwd_data, g_rnn_bwd_w;
typedef struct fake_rnn { cudnnRNNMode_t cell; int D, L, G, dt; int64_t I, H; const float *p; } fake_rnn;
typedef struct fake_drop { float p; int ready; } fake_drop;   /* a dropout descriptor */
static int g_drop_inits, g_drop_restores;
static struct { const void *x; mx_ndarray *dw; } g_rnn_stash;

cudnnStatus_t cudnnCreateRNNDescriptor(cudnnRNNDescriptor_t *d) {
  *d = (cudnnRNNDescriptor_t)calloc(1, sizeof(fake_rnn));
  return *d ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}
cudnnStatus_t cudnnDestroyRNNDescriptor(cudnnRNNDescriptor_t d) {
  free(d);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetRNNDescriptor_v8(cudnnRNNDescriptor_t d, cudnnRNNAlgo_t algo, cudnnRNNMode_t cell,
                                       cudnnRNNBiasMode_t bias, cudnnDirectionMode_t dir,
                                       cudnnRNNInputMode_t inmode, cudnnDataType_t dt,
                                       cudnnDataType_t prec, cudnnMathType_t math, int32_t in,
                                       int32_t hid, int32_t proj, int32_t layers,
                                       cudnnDropoutDescriptor_t drop, uint32_t aux) {
  (void)algo; (void)math;
  if (bias != CUDNN_RNN_DOUBLE_BIAS || inmode != CUDNN_LINEAR_INPUT || proj != hid || dt != prec ||
      aux != 0 || !drop || !((fake_drop *)drop)->ready || in < 1 || hid < 1 || layers < 1)
    return CUDNN_STATUS_BAD_PARAM;
  fake_rnn *f = (fake_rnn *)d;
  f->p = &((fake_drop *)drop)->p;   /* read at each call: a restore may change it */
  f->cell = cell;
  f->G = cell == CUDNN_LSTM ? 4 : cell == CUDNN_GRU ? 3 : 1;
  f->D = dir == CUDNN_BIDIRECTIONAL ? 2 : 1;
  f->L = layers;
  f->I = in;
  f->H = hid;
  f->dt = dt == CUDNN_DATA_DOUBLE ? MX_FLOAT64 : MX_FLOAT32;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateDropoutDescriptor(cudnnDropoutDescriptor_t *d) {
  *d = (cudnnDropoutDescriptor_t)calloc(1, sizeof(fake_drop));
  return *d ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}
cudnnStatus_t cudnnDestroyDropoutDescriptor(cudnnDropoutDescriptor_t d) {
  free(d);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDropoutGetStatesSize(cudnnHandle_t h, size_t *n) { (void)h; *n = 64; return CUDNN_STATUS_SUCCESS; }
static cudnnStatus_t fake_drop_set(cudnnDropoutDescriptor_t d, float p, void *st, size_t n) {
  if (p < 0 || p >= 1 || (p > 0 && (!st || n < 64))) return CUDNN_STATUS_BAD_PARAM;
  ((fake_drop *)d)->p = p;
  ((fake_drop *)d)->ready = 1;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetDropoutDescriptor(cudnnDropoutDescriptor_t d, cudnnHandle_t h, float p, void *st,
                                        size_t n, unsigned long long seed) {
  (void)h; (void)seed;
  if (p > 0) g_drop_inits++;
  return fake_drop_set(d, p, st, n);
}
cudnnStatus_t cudnnRestoreDropoutDescriptor(cudnnDropoutDescriptor_t d, cudnnHandle_t h, float p,
                                            void *st, size_t n, unsigned long long seed) {
  (void)h; (void)seed;
  if (!((fake_drop *)d)->ready) return CUDNN_STATUS_BAD_PARAM;   /* restores an initialised state */
  g_drop_restores++;
  return fake_drop_set(d, p, st, n);
}
static int g_malloc_fail;   /* cudaMalloc calls still to fail (out of memory) */
cudaError_t cudaMalloc(void **p, size_t n) {
  int fail = g_malloc_fail > 0;
  g_malloc_fail -= fail;
  *p = fail ? NULL : malloc(n ? n : 1);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void *p) { free(p); return cudaSuccess; }
cudaError_t cudaSetDevice(int dev) { return dev == 0 ? cudaSuccess : cudaErrorInvalidDevice; }
cudaError_t cudaGetLastError(void) { return cudaSuccess; }
cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s) { (void)s; memset(p, v, n); return cudaSuccess; }

static int64_t fr_cols(const fake_rnn *f, int k, int id) {
  return id >= f->G ? f->H : k / f->D ? f->D * f->H : f->I;
}
/* offset (elements) of pseudo-layer k's linear layer id in the padded fake
 * space: its bias, then its matrix */
static int64_t fr_off(const fake_rnn *f, int k, int id) {
  int64_t o = 0;
  for (int kk = 0; kk < f->L * f->D; kk++)
    for (int ii = 0; ii < 2 * f->G; ii++) {
      if (kk == k && ii == id) return o + 8;
      o += 8 + f->H + f->H * fr_cols(f, kk, ii);
    }
  return o;
}
/* offsets of the matrix and bias in the op's flat vector (the reference
 * layout: all matrices, layer and direction in turn, i2h then h2h; then all
 * biases); with k = L D, *bo = the vector's size */
static void fr_ours(const fake_rnn *f, int k, int id, int64_t *mo, int64_t *bo) {
  int64_t GH = f->G * f->H, wall = 0, wo = 0;
  for (int kk = 0; kk < f->L * f->D; kk++) {
    int64_t n = GH * (fr_cols(f, kk, 0) + f->H);
    if (kk < k) wo += n;
    wall += n;
  }
  int rec = id >= f->G, gate = rec ? id - f->G : id;
  int64_t in = k < f->L * f->D ? fr_cols(f, k, 0) : 0, cols = rec ? f->H : in;
  *mo = wo + (rec ? GH * in : 0) + gate * f->H * cols;
  *bo = wall + (int64_t)k * 2 * GH + (rec ? GH : 0) + gate * f->H;
}
/* offsets of the matrix and bias in the fake space, and its size */
static void fr_place(const fake_rnn *f, int k, int id, int64_t *mo, int64_t *bo) {
  if (g_rnn_same_layout) {
    fr_ours(f, k, id, mo, bo);
    return;
  }
  *bo = fr_off(f, k, id);
  *mo = *bo + f->H;
}
static int64_t fr_space(const fake_rnn *f) {
  int64_t mo, bo;
  fr_ours(f, f->L * f->D, 0, &mo, &bo);
  return g_rnn_same_layout ? bo : fr_off(f, f->L * f->D, 0);
}
cudnnStatus_t cudnnGetRNNWeightSpaceSize(cudnnHandle_t h, cudnnRNNDescriptor_t d, size_t *n) {
  (void)h;
  const fake_rnn *f = (const fake_rnn *)d;
  *n = (size_t)fr_space(f) * mx_dtype_size(f->dt);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetRNNWeightParams(cudnnHandle_t h, cudnnRNNDescriptor_t d, int32_t k, size_t wn,
                                      const void *w, int32_t id, cudnnTensorDescriptor_t md, void **ma,
                                      cudnnTensorDescriptor_t bd, void **ba) {
  (void)h;
  const fake_rnn *f = (const fake_rnn *)d;
  size_t es = mx_dtype_size(f->dt);
  if (k < 0 || k >= f->L * f->D || id < 0 || id >= 2 * f->G || wn < (size_t)fr_space(f) * es)
    return CUDNN_STATUS_BAD_PARAM;
  int64_t mo, bo, cols = fr_cols(f, k, id);
  fr_place(f, k, id, &mo, &bo);
  cudnnDataType_t t = f->dt == MX_FLOAT64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  int mdim[3] = {1, (int)f->H, (int)cols}, mstr[3] = {(int)(f->H * cols), (int)cols, 1};
  int bdim[3] = {1, (int)f->H, 1}, bstr[3] = {(int)f->H, 1, 1};
  if (cudnnSetTensorNdDescriptor(md, t, 3, mdim, mstr) || cudnnSetTensorNdDescriptor(bd, t, 3, bdim, bstr))
    return CUDNN_STATUS_BAD_PARAM;
  *ba = (char *)w + (size_t)bo * es;
  *ma = (char *)w + (size_t)mo * es;
  return CUDNN_STATUS_SUCCESS;
}
/* The op's parameters of f's network, as a params spec. */
static void fr_params(const fake_rnn *f, mx_param_value *p) {
  char spec[160];
  const char *mode = f->cell == CUDNN_LSTM ? "lstm" : f->cell == CUDNN_GRU ? "gru"
                     : f->cell == CUDNN_RNN_RELU ? "rnn_relu" : "rnn_tanh";
  snprintf(spec, sizeof spec, "state_size=%lld;num_layers=%d;bidirectional=%s;mode=%s;p=%g",
           (long long)f->H, f->L, f->D == 2 ? "True" : "False", mode, (double)*f->p);
  set_params(mx_op_find("RNN"), p, spec);
}
/* the op's flat parameter vector <-> the fake space */
static void fr_flat(const fake_rnn *f, char *flat, char *space, int to_flat) {
  size_t es = mx_dtype_size(f->dt);
  for (int k = 0; k < f->L * f->D; k++)
    for (int id = 0; id < 2 * f->G; id++) {
      int64_t mo, bo, so, sb, n = f->H * fr_cols(f, k, id);
      fr_ours(f, k, id, &mo, &bo);
      fr_place(f, k, id, &so, &sb);
      char *fm = flat + mo * es, *fb = flat + bo * es, *sm = space + so * es, *sbp = space + sb * es;
      memmove(to_flat ? fm : sm, to_flat ? sm : fm, (size_t)n * es);
      memmove(to_flat ? fb : sbp, to_flat ? sbp : fb, (size_t)f->H * es);
    }
}
/* the CPU op's arrays of one call; shapes from its shape inference */
typedef struct fr_call {
  const mx_op *op;
  mx_param_value p[MX_MAX_PARAMS];
  mx_shape is[4], os[4];
  mx_ndarray *in[4], *out[4];
  int nin;
  int64_t T, N;
} fr_call;
static int fr_open(const fake_rnn *f, cudnnRNNDataDescriptor_t xd, const int32_t *lens, fr_call *c) {
  memset(c, 0, sizeof *c);
  cudnnDataType_t t;
  cudnnRNNDataLayout_t lay;
  int T, N, V, L[64];
  double pad;   /* cuDNN's getter wants somewhere to write the padding value */
  if (cudnnGetRNNDataDescriptor(xd, &t, &lay, &T, &N, &V, 64, L, &pad) || lay != CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED ||
      V != f->I || N > 64)
    return -1;
  for (int n = 0; n < N; n++)
    if (L[n] != T || lens[n] != T) return -1;
  c->op = mx_op_find("RNN");
  fr_params(f, c->p);
  c->nin = f->cell == CUDNN_LSTM ? 4 : 3;
  c->T = T;
  c->N = N;
  for (int j = 0; j < c->nin; j++) c->is[j].ndim = -1;
  c->is[0].ndim = 3;
  c->is[0].d[0] = T; c->is[0].d[1] = N; c->is[0].d[2] = f->I;
  if (c->op->infer_shape(c->p, c->nin, c->is, 4, c->os)) return -1;
  mx_context cpu = {MX_CPU, 0};
  for (int j = 0; j < c->nin; j++) mx_ndarray_new(&c->is[j], f->dt, cpu, &c->in[j]);
  for (int k = 0; k < 4; k++) mx_ndarray_new(&c->os[k], f->dt, cpu, &c->out[k]);
  return 0;
}
static void fr_close(fr_call *c) {
  for (int j = 0; j < 4; j++) { mx_ndarray_free(c->in[j]); mx_ndarray_free(c->out[j]); }
}
static size_t fr_bytes(const mx_ndarray *a) { return (size_t)mx_shape_size(&a->shape) * mx_dtype_size(a->dtype); }
cudnnStatus_t cudnnGetRNNTempSpaceSizes(cudnnHandle_t h, cudnnRNNDescriptor_t d, cudnnForwardMode_t m,
                                        cudnnRNNDataDescriptor_t xd, size_t *work, size_t *res) {
  (void)h;
  fr_call c;
  int32_t lens[64];
  cudnnDataType_t t;
  cudnnRNNDataLayout_t lay;
  int T, N, V;
  double pad;
  if (cudnnGetRNNDataDescriptor(xd, &t, &lay, &T, &N, &V, 64, lens, &pad)) return CUDNN_STATUS_BAD_PARAM;
  if (fr_open((const fake_rnn *)d, xd, lens, &c)) return CUDNN_STATUS_BAD_PARAM;
  *work = 96;
  *res = m == CUDNN_FWD_MODE_TRAINING ? fr_bytes(c.out[3]) + (size_t)g_rnn_extra : 0;
  fr_close(&c);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnRNNForward(cudnnHandle_t h, cudnnRNNDescriptor_t d, cudnnForwardMode_t m,
                              const int32_t *lens, cudnnRNNDataDescriptor_t xd, const void *x,
                              cudnnRNNDataDescriptor_t yd, void *y, cudnnTensorDescriptor_t hd,
                              const void *hx, void *hy, cudnnTensorDescriptor_t cd, const void *cx,
                              void *cy, size_t wn, const void *w, size_t workn, void *work,
                              size_t resn, void *res) {
  (void)h; (void)yd; (void)hd; (void)cd; (void)wn; (void)workn; (void)work;
  const fake_rnn *f = (const fake_rnn *)d;
  fr_call c;
  if (!lens || fr_open(f, xd, lens, &c)) return CUDNN_STATUS_BAD_PARAM;
  int train = m == CUDNN_FWD_MODE_TRAINING;
  cudnnStatus_t st = CUDNN_STATUS_SUCCESS;
  if (train && (!res || resn != fr_bytes(c.out[3]) + (size_t)g_rnn_extra)) st = CUDNN_STATUS_BAD_PARAM;
  if (!train && (res || resn)) st = CUDNN_STATUS_BAD_PARAM;
  if (f->cell == CUDNN_LSTM && !cx) st = CUDNN_STATUS_BAD_PARAM;
  if (!st) {
    memcpy(MX_PTR(c.in[0]), x, fr_bytes(c.in[0]));
    fr_flat(f, (char *)MX_PTR(c.in[1]), (char *)w, 1);
    memcpy(MX_PTR(c.in[2]), hx, fr_bytes(c.in[2]));
    if (f->cell == CUDNN_LSTM) memcpy(MX_PTR(c.in[3]), cx, fr_bytes(c.in[3]));
    mx_op_ctx cc = {.nthreads = 1, .ctx = {MX_CPU, 0}, .is_train = train};
    int req[4] = {MX_REQ_WRITE, MX_REQ_WRITE, MX_REQ_WRITE, MX_REQ_WRITE};
    if (c.op->cpu(&cc, c.p, c.in, c.nin, c.out, 4, req)) st = CUDNN_STATUS_EXECUTION_FAILED;
  }
  if (!st) {
    memcpy(y, MX_PTR(c.out[0]), fr_bytes(c.out[0]));
    if (hy) memcpy(hy, MX_PTR(c.out[1]), fr_bytes(c.out[1]));
    if (cy && f->cell == CUDNN_LSTM) memcpy(cy, MX_PTR(c.out[2]), fr_bytes(c.out[2]));
    if (train) memcpy(res, MX_PTR(c.out[3]), fr_bytes(c.out[3]));
    g_rnn_stash.x = x;
    g_rnn_fwd++;
  }
  fr_close(&c);
  return st;
}
cudnnStatus_t cudnnRNNBackwardData_v8(cudnnHandle_t h, cudnnRNNDescriptor_t d, const int32_t *lens,
                                      cudnnRNNDataDescriptor_t yd, const void *y, const void *dy,
                                      cudnnRNNDataDescriptor_t xd, void *dx, cudnnTensorDescriptor_t hd,
                                      const void *hx, const void *dhy, void *dhx,
                                      cudnnTensorDescriptor_t cd, const void *cx, const void *dcy,
                                      void *dcx, size_t wn, const void *w, size_t workn, void *work,
                                      size_t resn, void *res) {
  (void)h; (void)yd; (void)hd; (void)cd; (void)wn; (void)workn; (void)work;
  const fake_rnn *f = (const fake_rnn *)d;
  fr_call c;
  if (!lens || !dy || !dx || !res || fr_open(f, xd, lens, &c)) return CUDNN_STATUS_BAD_PARAM;
  cudnnStatus_t st = resn == fr_bytes(c.out[3]) + (size_t)g_rnn_extra && g_rnn_stash.x
                     ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM;
  mx_ndarray *og[4] = {0}, *ig[4] = {0};
  mx_context cpu = {MX_CPU, 0};
  if (!st) {
    memcpy(MX_PTR(c.in[0]), g_rnn_stash.x, fr_bytes(c.in[0]));
    fr_flat(f, (char *)MX_PTR(c.in[1]), (char *)w, 1);
    memcpy(MX_PTR(c.in[2]), hx, fr_bytes(c.in[2]));
    if (f->cell == CUDNN_LSTM) memcpy(MX_PTR(c.in[3]), cx, fr_bytes(c.in[3]));
    memcpy(MX_PTR(c.out[0]), y, fr_bytes(c.out[0]));
    memcpy(MX_PTR(c.out[3]), res, fr_bytes(c.out[3]));
    const void *ogs[3] = {dy, dhy, f->cell == CUDNN_LSTM ? dcy : NULL};
    for (int k = 0; k < 3; k++)
      if (ogs[k]) {
        mx_ndarray_new(&c.os[k], f->dt, cpu, &og[k]);
        memcpy(MX_PTR(og[k]), ogs[k], fr_bytes(og[k]));
      }
    void *igs[4] = {dx, (void *)1, dhx, f->cell == CUDNN_LSTM ? dcx : NULL};
    int req[4];
    for (int j = 0; j < c.nin; j++) {
      req[j] = igs[j] ? MX_REQ_WRITE : MX_REQ_NULL;
      if (igs[j]) mx_ndarray_new(&c.is[j], f->dt, cpu, &ig[j]);
    }
    mx_ndarray *bo[4] = {c.out[0], NULL, NULL, c.out[3]};
    mx_op_ctx cc = {.nthreads = 1, .ctx = {MX_CPU, 0}, .is_train = 1};
    if (c.op->backward(&cc, c.p, og, 4, c.in, c.nin, bo, ig, req)) st = CUDNN_STATUS_EXECUTION_FAILED;
  }
  if (!st) {
    memcpy(dx, MX_PTR(ig[0]), fr_bytes(ig[0]));
    if (dhx) memcpy(dhx, MX_PTR(ig[2]), fr_bytes(ig[2]));
    if (ig[3]) memcpy(dcx, MX_PTR(ig[3]), fr_bytes(ig[3]));
    mx_ndarray_free(g_rnn_stash.dw);
    g_rnn_stash.dw = ig[1];
    ig[1] = NULL;
    g_rnn_bwd_data++;
  }
  for (int k = 0; k < 4; k++) { mx_ndarray_free(og[k]); mx_ndarray_free(ig[k]); }
  fr_close(&c);
  return st;
}
cudnnStatus_t cudnnRNNBackwardWeights_v8(cudnnHandle_t h, cudnnRNNDescriptor_t d, cudnnWgradMode_t add,
                                         const int32_t *lens, cudnnRNNDataDescriptor_t xd, const void *x,
                                         cudnnTensorDescriptor_t hd, const void *hx,
                                         cudnnRNNDataDescriptor_t yd, const void *y, size_t wn, void *dw,
                                         size_t workn, void *work, size_t resn, void *res) {
  (void)h; (void)lens; (void)xd; (void)hd; (void)hx; (void)yd; (void)y; (void)workn; (void)work;
  (void)resn; (void)res;
  const fake_rnn *f = (const fake_rnn *)d;
  size_t es = mx_dtype_size(f->dt), n = (size_t)fr_space(f);
  if (add != CUDNN_WGRAD_MODE_ADD || x != g_rnn_stash.x || !g_rnn_stash.dw || wn < n * es)
    return CUDNN_STATUS_BAD_PARAM;
  /* the data gradient's weight gradient, in the fake layout, added to dw */
  char *tmp = calloc(n, es);
  fr_flat(f, (char *)MX_PTR(g_rnn_stash.dw), tmp, 0);
  for (size_t i = 0; i < n; i++)
    mx_store_f64(dw, f->dt, (int64_t)i, mx_load_f64(dw, f->dt, (int64_t)i) + mx_load_f64(tmp, f->dt, (int64_t)i));
  free(tmp);
  mx_ndarray_free(g_rnn_stash.dw);
  g_rnn_stash.dw = NULL;
  g_rnn_bwd_w++;
  return CUDNN_STATUS_SUCCESS;
}


static mx_cuda_dev g_dev;
static int dev_init(void) { return 0; }
static mx_ndarray *clone(const mx_ndarray *a);
static mx_ndarray *dev_from(const mx_ndarray *h) { return clone(h); }
static mx_ndarray *host_from(const mx_ndarray *d) { return clone(d); }
static void dev_free(mx_ndarray *a) { mx_ndarray_free(a); }
static mx_status dev_done(void) { return MX_OK; }
#define F32_TOL 2e-4
#define F64_TOL 1e-9
#endif /* MX_DNN_REAL_GPU */

/* ================================================== the comparisons */

static int g_fail, g_pass, g_ties;
static unsigned g_seed = 12345;
static double urand(void) {
  g_seed = g_seed * 1103515245u + 12345u;
  return ((g_seed >> 8) & 0xffff) / 65536.0 * 2 - 1;
}

typedef struct tcase {
  const char *op;
  const char *params;        /* "key=value;key=value" (MXNet string forms, C order) */
  int nd[3];                 /* ndim of data, and of lhs/rhs for dot */
  int64_t shape[3][4];       /* explicit input shapes (data first; others inferred when 0-dim) */
  int nshape;
  int dtype, is_train, no_dx, executor;
} tcase;

static void set_params(const mx_op *op, mx_param_value *p, const char *spec) {
  mx_op_params_init(op, p);
  char buf[512];
  snprintf(buf, sizeof buf, "%s", spec);
  for (char *tok = strtok(buf, ";"); tok; tok = strtok(NULL, ";")) {
    char *eq = strchr(tok, '=');
    *eq = 0;
    int i = mx_op_param_index(op, tok);
    if (i < 0 || mx_op_param_set_str(op, p, i, eq + 1)) {
      printf("bad param %s=%s for %s: %s\n", tok, eq + 1, mx_op_name(op), mx_last_error());
      exit(2);
    }
  }
}

static mx_ndarray *new_arr(const mx_shape *s, int dt, int fill) {
  mx_ndarray *a;
  mx_context cpu = {MX_CPU, 0};
  if (mx_ndarray_new(s, dt, cpu, &a)) { printf("alloc: %s\n", mx_last_error()); exit(2); }
  int64_t n = mx_shape_size(s);
  for (int64_t i = 0; i < n; i++) {
    double v = fill ? urand() : 777.0;
    if (fill && g_ties) v = v < 0 ? 0 : floor(v * 2) / 2;
    mx_store_f64(MX_PTR(a), dt, i, v);
  }
  return a;
}
static mx_ndarray *clone(const mx_ndarray *a) {
  mx_ndarray *b = new_arr(&a->shape, a->dtype, 0);
  memcpy(MX_PTR(b), MX_PTR(a), (size_t)mx_shape_size(&a->shape) * mx_dtype_size(a->dtype));
  return b;
}

/* a, or a copy of it converted to dt */
static mx_ndarray *as_type(mx_ndarray *a, int dt) {
  if (!a || a->dtype == dt) return a;
  mx_ndarray *b = new_arr(&a->shape, dt, 0);
  mx_convert(MX_PTR(a), a->dtype, MX_PTR(b), dt, mx_shape_size(&a->shape));
  return b;
}
static void free_copy(mx_ndarray *copy, mx_ndarray *of) { if (copy != of) mx_ndarray_free(copy); }
/* a device array of shape s and dtype dt (filled as new_arr fills) */
static mx_ndarray *dev_new(const mx_shape *s, int dt, int fill) {
  mx_ndarray *h = new_arr(s, dt, fill), *d = dev_from(h);
  mx_ndarray_free(h);
  return d;
}

static double max_rel_diff(const mx_ndarray *a, const mx_ndarray *b) {
  double worst = 0;
  for (int64_t i = 0; i < mx_shape_size(&a->shape); i++) {
    double x = mx_load_f64(MX_PTR(a), a->dtype, i), y = mx_load_f64(MX_PTR(b), b->dtype, i);
    double d = fabs(x - y) / (1 + fabs(x));
    if (d != d) d = 1e30;
    if (d > worst) worst = d;
  }
  return worst;
}

static const mx_gpu_kernel *gpu_rec(const char *name) {
  for (const mx_gpu_kernel *k = mx_gpu_kernels_dnn; k->op; k++)
    if (!strcmp(k->op, name)) return k;
  return NULL;
}

static void compare(const char *what, const tcase *t, const mx_ndarray *cpu, const mx_ndarray *gpu) {
  /* half: the CPU's float32 result against one rounding to half */
  double tol = t->dtype == MX_FLOAT64 ? F64_TOL : t->dtype == MX_FLOAT16 ? 1e-3
               : t->dtype == MX_BFLOAT16 ? 8e-3 : F32_TOL;
  double d = max_rel_diff(cpu, gpu);
  if (d <= tol) {
    g_pass++;
  } else {
    g_fail++;
    printf("FAIL %s [%s] dtype %d train %d no_dx %d: %s differs by %g\n", t->op, t->params,
           t->dtype, t->is_train, t->no_dx, what, d);
  }
}

#define MAXIO 8
static void run_case(const tcase *t) {
  const mx_op *op = mx_op_find(t->op);
  const mx_gpu_kernel *gk = gpu_rec(t->op);
  if (!op || !gk) { printf("no op %s\n", t->op); g_fail++; return; }
  mx_param_value p[MX_MAX_PARAMS];
  set_params(op, p, t->params);
  int nin = mx_op_num_inputs(op, p), nout = mx_op_num_outputs(op, p);
  int naux = mx_op_num_aux(op, p), nvis = mx_op_num_visible_outputs(op, p);
  mx_shape is[MAXIO], os[MAXIO];
  for (int j = 0; j < nin; j++) is[j].ndim = -1;
  for (int j = 0; j < t->nshape; j++) {
    is[j].ndim = t->nd[j];
    for (int k = 0; k < t->nd[j]; k++) is[j].d[k] = t->shape[j][k];
  }
  if (op->infer_shape(p, nin, is, nout, os)) { printf("shape %s: %s\n", t->op, mx_last_error()); g_fail++; return; }
  /* each array's dtype: the data's, or what the op's type inference gives
   * (BatchNorm: float32 parameters for half data) */
  int it[MAXIO], ot[MAXIO];
  for (int j = 0; j < nin; j++) it[j] = j == 0 ? t->dtype : -1;
  for (int k = 0; k < nout; k++) ot[k] = -1;
  if ((op->infer_type ? op->infer_type : mx_infer_type_same)(p, nin, it, nout, ot)) {
    printf("type %s: %s\n", t->op, mx_last_error());
    g_fail++;
    return;
  }
  for (int j = 0; j < nin; j++) if (it[j] < 0) it[j] = t->dtype;
  for (int k = 0; k < nout; k++) if (ot[k] < 0) ot[k] = t->dtype;
  const char *why = "";
  if (gk->supports && !gk->supports(p, nin, is, it, &why)) {
    printf("FAIL %s [%s]: refused: %s\n", t->op, t->params, why);
    g_fail++;
    return;
  }
  /* host arrays for the CPU kernel; device copies (d*) for the GPU kernel.
   * Half precision: the CPU computes in float32 (ct) on the same values */
#define CT(d) (is_half(d) ? MX_FLOAT32 : (d))
  mx_ndarray *in[MAXIO], *cin[MAXIO], *din[MAXIO], *out[MAXIO], *dout[MAXIO];
  for (int j = 0; j < nin; j++) {
    in[j] = new_arr(&is[j], it[j], 1);
    if (j >= nin - naux && !strcmp(t->op, "BatchNorm") && j == nin - 1)   /* variance > 0 */
      for (int64_t i = 0; i < mx_shape_size(&is[j]); i++)
        mx_store_f64(MX_PTR(in[j]), it[j], i, 0.5 + fabs(mx_load_f64(MX_PTR(in[j]), it[j], i)));
    din[j] = dev_from(in[j]);
    cin[j] = as_type(in[j], CT(it[j]));
  }
  for (int k = 0; k < nout; k++) {
    out[k] = new_arr(&os[k], CT(ot[k]), 0);
    dout[k] = dev_new(&os[k], ot[k], 0);
  }
  int req[MAXIO];
  for (int k = 0; k < MAXIO; k++) req[k] = MX_REQ_WRITE;
  void *slot = NULL;
  mx_op_ctx cc = {.nthreads = 1, .ctx = {MX_CPU, 0}, .is_train = t->is_train};
  mx_op_ctx gc = cc;
  gc.gpu = &g_dev;
#ifdef MX_DNN_REAL_GPU
  gc.ctx.dev_type = MX_GPU;
#endif
  if (t->executor) gc.state = &slot;
  mx_status rc = op->cpu(&cc, p, cin, nin, out, nout, req);
  mx_status rg = gk->fwd(&gc, p, din, nin, dout, nout, req);
  if (!rg) rg = dev_done();
  if (rc || rg) {
    printf("FAIL %s [%s]: forward cpu %d gpu %d: %s\n", t->op, t->params, rc, rg, mx_last_error());
    g_fail++;
    return;
  }
  char what[64];
  for (int k = 0; k < nout; k++) {
    if (!strcmp(t->op, "RNN") && k == 3) continue;   /* the reserve: cuDNN's own, opaque */
    snprintf(what, sizeof what, "output %d", k);
    mx_ndarray *h = host_from(dout[k]);
    compare(what, t, out[k], h);
    mx_ndarray_free(h);
  }
  for (int j = 0; j < nin; j++) {   /* aux updated alike; the others untouched */
    snprintf(what, sizeof what, "input %d after forward", j);
    mx_ndarray *h = host_from(din[j]);
    compare(what, t, cin[j], h);
    mx_ndarray_free(h);
  }
  /* backward, with what backward_deps allows */
  unsigned char ni[MAXIO], no[MAXIO], ng[MAXIO];
  memset(ni, 1, sizeof ni); memset(no, 1, sizeof no); memset(ng, 1, sizeof ng);
  if (op->backward_deps) op->backward_deps(p, nin, nout, ni, no, ng);
  mx_ndarray *og[MAXIO], *cog[MAXIO], *dog[MAXIO], *bi[MAXIO], *bo[MAXIO], *dbi[MAXIO], *dbo[MAXIO];
  mx_ndarray *ig[MAXIO], *dig[MAXIO];
  int breq[MAXIO];
  for (int k = 0; k < nout; k++) {
    og[k] = ng[k] && k < nvis ? new_arr(&os[k], ot[k], 1) : NULL;
    dog[k] = og[k] ? dev_from(og[k]) : NULL;
    cog[k] = as_type(og[k], CT(ot[k]));
    bo[k] = no[k] ? out[k] : NULL;
    dbo[k] = no[k] ? dout[k] : NULL;
  }
  for (int j = 0; j < nin; j++) {
    bi[j] = ni[j] ? cin[j] : NULL;
    dbi[j] = ni[j] ? din[j] : NULL;
    int want = j < nin - naux && !(t->no_dx && j == 0);
    ig[j] = want ? new_arr(&is[j], CT(it[j]), 0) : NULL;
    dig[j] = want ? dev_new(&is[j], it[j], 0) : NULL;
    breq[j] = want ? MX_REQ_WRITE : MX_REQ_NULL;
  }
  rc = op->backward(&cc, p, cog, nout, bi, nin, bo, ig, breq);
  rg = gk->bwd(&gc, p, dog, nout, dbi, nin, dbo, dig, breq);
  if (!rg) rg = dev_done();
  if (rc || rg) {
    printf("FAIL %s [%s]: backward cpu %d gpu %d: %s\n", t->op, t->params, rc, rg, mx_last_error());
    g_fail++;
    return;
  }
  for (int j = 0; j < nin; j++)
    if (ig[j]) {
      snprintf(what, sizeof what, "gradient %d", j);
      mx_ndarray *h = host_from(dig[j]);
      compare(what, t, ig[j], h);
      mx_ndarray_free(h);
    }
  for (int j = 0; j < nin; j++) {
    free_copy(cin[j], in[j]);
    mx_ndarray_free(in[j]); dev_free(din[j]); mx_ndarray_free(ig[j]); dev_free(dig[j]);
  }
  for (int k = 0; k < nout; k++) {
    free_copy(cog[k], og[k]);
    mx_ndarray_free(out[k]); dev_free(dout[k]); mx_ndarray_free(og[k]); dev_free(dog[k]);
  }
  if (slot) mx_host->storage_release((mx_storage *)slot);   /* the RNN's reserve block */
}

#define S4(a, b, c, d) {a, b, c, d}

static const char *CONV_P[] = {
  /* test-ops-conv.R Convolution cases (C order) */
  "kernel=(2,3);num_filter=6;stride=(1,2);pad=(0,1)",
  "kernel=(3,3);num_filter=4;pad=(1,2);dilate=(1,2);num_group=2",
  "kernel=(3,2);num_filter=6;stride=(2,3);pad=(1,1);dilate=(2,1);num_group=3;no_bias=True",
};
static const int64_t CONV_X[][4] = {{2, 4, 6, 7}, {3, 4, 7, 8}, {2, 6, 6, 9}};
static const char *DECONV_P[] = {
  "kernel=(2,3);num_filter=4;stride=(1,2);pad=(0,1);adj=(0,1);no_bias=False",
  "kernel=(3,2);num_filter=6;stride=(3,2);pad=(1,0);dilate=(1,2);num_group=2",
  "kernel=(3,3);num_filter=2;stride=(2,2);target_shape=(7,8);pad=(5,5);no_bias=False",
};
static const int64_t DECONV_X[][4] = {{2, 3, 3, 4}, {2, 4, 4, 5}, {2, 3, 4, 4}};
static const char *POOL_P[] = {
  "kernel=(2,2);stride=(2,2);pool_type=max",
  "kernel=(2,3);stride=(1,2);pad=(1,1);pool_type=max",
  "kernel=(2,3);stride=(1,2);pad=(1,1);pool_type=avg",
  "kernel=(2,3);stride=(1,2);pad=(1,1);pool_type=avg;count_include_pad=False",
  "kernel=(3,3);stride=(1,1);pad=(1,1);pool_type=avg;count_include_pad=False",
  "global_pool=True;pool_type=max",
  "global_pool=True;pool_type=avg",
  "kernel=(3,3);stride=(1,1);pool_type=avg;pooling_convention=same",
};

/* supports() on shapes only (nothing allocated): cuDNN's legacy descriptors
 * take fewer than 2^31 elements per tensor (cudnnSetTensor4dDescriptor:
 * NOT_SUPPORTED from there), so a call with a larger input, output or
 * filter is refused, with a reason; one element fewer is accepted */
static void check_supports(const char *name, const char *params, int nd, const int64_t *d, int want) {
  const mx_op *op = mx_op_find(name);
  const mx_gpu_kernel *gk = gpu_rec(name);
  mx_param_value p[MX_MAX_PARAMS];
  set_params(op, p, params);
  int nin = mx_op_num_inputs(op, p), nout = mx_op_num_outputs(op, p), dts[MAXIO];
  mx_shape is[MAXIO], os[MAXIO];
  for (int j = 0; j < nin; j++) { is[j].ndim = -1; dts[j] = MX_FLOAT32; }
  is[0].ndim = nd;
  memcpy(is[0].d, d, (size_t)nd * sizeof *d);
  if (op->infer_shape(p, nin, is, nout, os)) { printf("shape %s: %s\n", name, mx_last_error()); g_fail++; return; }
  const char *why = "";
  int ok = gk->supports(p, nin, is, dts, &why);
  if (ok == want && (ok || *why)) {
    g_pass++;
    return;
  }
  g_fail++;
  printf("FAIL %s [%s] supports(): %s, expected %s (%s)\n", name, params, ok ? "accepted" : "refused",
         want ? "accepted" : "refused", why);
}

static void check_sizes(void) {
  const int64_t G = (int64_t)1 << 30, M = INT32_MAX;
  struct { const char *op, *p; int nd; int64_t d[4]; int want; } c[] = {
    {"Convolution", "kernel=(1,1);num_filter=1", 4, S4(2, 1024, 1024, 1024), 0},   /* input  */
    {"Convolution", "kernel=(1,1);num_filter=2", 4, S4(1, 1, 32768, 32768), 0},    /* output */
    {"Convolution", "kernel=(1,1);num_filter=65536", 4, S4(1, 32768, 1, 1), 0},    /* filter */
    {"Convolution", "kernel=(1,1);num_filter=1", 4, S4(1, 1, 1, M), 1},
    {"Convolution", "kernel=(1);num_filter=1", 3, S4(2, 1, G, 0), 0},
    {"Deconvolution", "kernel=(1,1);num_filter=4", 4, S4(1, 2, 32768, 16384), 0},  /* output */
    {"Deconvolution", "kernel=(1,1);num_filter=2", 4, S4(1, 2, 32768, 16384), 1},
    {"Pooling", "kernel=(1,1);pool_type=max", 4, S4(2, 1024, 1024, 1024), 0},
    {"Pooling", "kernel=(1,1);pool_type=avg", 4, S4(1, 1, 1, M), 1},
    {"BatchNorm", "fix_gamma=False", 4, S4(2, 1024, 1024, 1024), 0},
    {"BatchNorm", "fix_gamma=False;axis=0", 2, S4(2, G, 0, 0), 0},
    {"BatchNorm", "fix_gamma=False", 3, S4(1, 1, M, 0), 1},
    {"softmax", "axis=-1", 2, S4(3, 715827883, 0, 0), 0},
    {"softmax", "axis=-1", 2, S4(3, 715827882, 0, 0), 1},
    {"log_softmax", "axis=0", 4, S4(2, 1024, 1024, 1024), 0},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) check_supports(c[i].op, c[i].p, c[i].nd, c[i].d, c[i].want);
}

/* Pooling of every kind, 2-D and 1-D, and max pooling with tied maxima
 * (inputs max(x, 0) rounded to 0.5: the first cell gets the gradient) */
static void pooling_cases(int dt) {
  for (size_t i = 0; i < sizeof POOL_P / sizeof POOL_P[0]; i++) {
    tcase t = {"Pooling", POOL_P[i], {4}, {S4(2, 3, 6, 7)}, 1, dt, 1, 0, 0};
    run_case(&t);
  }
  tcase t1 = {"Pooling", "kernel=(3);stride=(2);pad=(1);pool_type=avg", {3}, {S4(2, 3, 9, 0)}, 1, dt, 1, 0, 0};
  run_case(&t1);
  g_ties = 1;
  const char *tp[] = {"kernel=(3,3);stride=(2,2);pad=(1,1);pool_type=max",
                      "kernel=(2,2);stride=(1,1);pool_type=max", "global_pool=True;pool_type=max"};
  for (int i = 0; i < 3; i++) {
    tcase t = {"Pooling", tp[i], {4}, {S4(2, 3, 6, 7)}, 1, dt, 1, 0, 0};
    run_case(&t);
  }
  g_ties = 0;
}

/* every activation, softmax and log_softmax along several axes */
static void act_softmax_cases(int dt) {
  const char *acts[] = {"act_type=relu", "act_type=sigmoid", "act_type=tanh", "act_type=softrelu", "act_type=softsign"};
  for (int i = 0; i < 5; i++) {
    tcase t = {"Activation", acts[i], {3}, {S4(3, 4, 5, 0)}, 1, dt, 1, 0, 0};
    run_case(&t);
  }
  const char *sm[] = {"axis=-1", "axis=1", "axis=0", "axis=-1;temperature=2.5"};
  for (int i = 0; i < 4; i++)
    for (int lg = 0; lg < 2; lg++) {
      tcase t = {lg ? "log_softmax" : "softmax", sm[i], {3}, {S4(3, 4, 5, 0)}, 1, dt, 1, 0, 0};
      run_case(&t);
    }
}

int main(void) {
  if (mx_engine_init()) { printf("engine: %s\n", mx_last_error()); return 2; }
  if (dev_init()) return 2;
  if (mx_cuda_dnn_init()) { printf("dnn init: %s\n", mx_last_error()); return 1; }
  check_sizes();
  int dts[2] = {MX_FLOAT64, MX_FLOAT32};
  for (int di = 0; di < 2; di++) {
    int dt = dts[di];
    /* FullyConnected */
    const char *fc[] = {"num_hidden=6", "num_hidden=6;no_bias=True", "num_hidden=6;flatten=False",
                        "num_hidden=1;flatten=False;no_bias=True"};
    for (int i = 0; i < 4; i++)
      for (int nodx = 0; nodx < 2; nodx++) {
        tcase t = {"FullyConnected", fc[i], {3}, {S4(4, 3, 5, 0)}, 1, dt, 1, nodx, 0};
        run_case(&t);
      }
    /* dot: every transpose pair, vectors, a 3-D lhs */
    struct { const char *p; int nl, nr; int64_t l[4], r[4]; } dots[] = {
      {"", 2, 2, S4(3, 4, 0, 0), S4(4, 5, 0, 0)},
      {"transpose_a=True", 2, 2, S4(4, 3, 0, 0), S4(4, 5, 0, 0)},
      {"transpose_b=True", 2, 2, S4(3, 4, 0, 0), S4(5, 4, 0, 0)},
      {"transpose_a=True;transpose_b=True", 2, 2, S4(4, 3, 0, 0), S4(5, 4, 0, 0)},
      {"", 1, 2, S4(4, 0, 0, 0), S4(4, 5, 0, 0)},
      {"transpose_b=True", 2, 1, S4(3, 4, 0, 0), S4(4, 0, 0, 0)},
      {"", 1, 1, S4(6, 0, 0, 0), S4(6, 0, 0, 0)},
      {"", 3, 2, S4(2, 3, 4, 0), S4(4, 5, 0, 0)},
      {"transpose_a=True", 3, 3, S4(2, 3, 4, 0), S4(2, 5, 2, 0)},
    };
    for (size_t i = 0; i < sizeof dots / sizeof dots[0]; i++) {
      tcase t = {"dot", dots[i].p, {dots[i].nl, dots[i].nr}, {{0}}, 2, dt, 1, 0, 0};
      memcpy(t.shape[0], dots[i].l, sizeof dots[i].l);
      memcpy(t.shape[1], dots[i].r, sizeof dots[i].r);
      run_case(&t);
    }
    /* batch_dot */
    struct { const char *p; int nd; int64_t l[4], r[4]; } bd[] = {
      {"", 3, S4(3, 2, 4, 0), S4(3, 4, 5, 0)},
      {"transpose_a=True", 3, S4(3, 4, 2, 0), S4(3, 4, 5, 0)},
      {"transpose_b=True", 3, S4(3, 2, 4, 0), S4(3, 5, 4, 0)},
      {"transpose_a=True;transpose_b=True", 4, S4(2, 2, 4, 3), S4(2, 2, 5, 4)},
      {"", 3, S4(1, 2, 4, 0), S4(1, 4, 5, 0)},
    };
    for (size_t i = 0; i < sizeof bd / sizeof bd[0]; i++) {
      tcase t = {"batch_dot", bd[i].p, {bd[i].nd, bd[i].nd}, {{0}}, 2, dt, 1, 0, 0};
      memcpy(t.shape[0], bd[i].l, sizeof bd[i].l);
      memcpy(t.shape[1], bd[i].r, sizeof bd[i].r);
      run_case(&t);
    }
    /* Convolution: each tuning mode; 1-D */
    const char *tunes[] = {"", ";cudnn_tune=off", ";cudnn_tune=limited_workspace", ";cudnn_tune=fastest"};
    for (int i = 0; i < 3; i++)
      for (int tu = 0; tu < 4; tu++)
        for (int ex = 0; ex < 2; ex++) {
          char prm[256];
          snprintf(prm, sizeof prm, "%s%s", CONV_P[i], tunes[tu]);
          tcase t = {"Convolution", prm, {4}, {{0}}, 1, dt, 1, ex, ex};
          memcpy(t.shape[0], CONV_X[i], sizeof CONV_X[i]);
          run_case(&t);
        }
    {
      tcase t = {"Convolution", "kernel=(3);num_filter=5;stride=(2);pad=(1);dilate=(2)", {3}, {S4(2, 4, 11, 0)}, 1, dt, 1, 0, 0};
      run_case(&t);
    }
    /* no room for the chosen algorithm's workspace (the fakes rank one that
     * needs 1 MB first): each call runs one that needs none, warned once */
    for (int fails = 1; fails <= 3; fails += 2) {
      int warned = g_warnings;
      g_scratch_fail = fails;
      tcase t = {"Convolution", fails == 1 ? "kernel=(3,3);num_filter=3;pad=(1,1)" : "kernel=(3,3);num_filter=3",
                 {4}, {S4(2, 2, 5, 5)}, 1, dt, 1, 0, 0};
      run_case(&t);
      if (g_scratch_fail || g_warnings - warned != fails) {
        printf("FAIL Convolution without room for its workspace: %d scratch failures left, %d warnings\n",
               g_scratch_fail, g_warnings - warned);
        g_fail++;
      }
      g_scratch_fail = 0;
    }
    for (int i = 0; i < 3; i++)
      for (int tu = 0; tu < 4; tu += 3) {
        char prm[256];
        snprintf(prm, sizeof prm, "%s%s", DECONV_P[i], tunes[tu]);
        tcase t = {"Deconvolution", prm, {4}, {{0}}, 1, dt, 1, 0, tu == 0};
        memcpy(t.shape[0], DECONV_X[i], sizeof DECONV_X[i]);
        run_case(&t);
      }
    {
      tcase t = {"Deconvolution", "kernel=(3);num_filter=4;stride=(3);pad=(1);adj=(2)", {3}, {S4(2, 3, 6, 0)}, 1, dt, 1, 0, 0};
      run_case(&t);
    }
    pooling_cases(dt);
    /* BatchNorm */
    const char *bn[] = {"fix_gamma=False", "fix_gamma=True", "fix_gamma=False;use_global_stats=True",
                        "fix_gamma=False;axis=-1;output_mean_var=True", "fix_gamma=True;eps=0.00002;momentum=0.8"};
    for (int i = 0; i < 5; i++)
      for (int tr = 0; tr < 2; tr++)
        for (int nodx = 0; nodx < 2; nodx++) {
          tcase t = {"BatchNorm", bn[i], {4}, {S4(3, 4, 2, 5)}, 1, dt, tr, nodx, 0};
          run_case(&t);
        }
    /* empty data: no cuDNN descriptor has a zero dimension; what the CPU
     * writes is written (new_arr starts outputs and gradients at 777):
     * BatchNorm's statistics, the weight and bias gradients of a batch of
     * 0, the bias as the output of a convolution over 0 channels */
    for (int tr = 0; tr < 2; tr++) {
      tcase t = {"BatchNorm", "fix_gamma=False;output_mean_var=True", {4}, {S4(0, 4, 2, 5)}, 1, dt, tr, 0, 0};
      run_case(&t);
      tcase t0 = {"BatchNorm", "fix_gamma=False", {4}, {S4(3, 0, 2, 5)}, 1, dt, tr, 0, 0};
      run_case(&t0);
    }
    struct { const char *op, *p; int64_t x[4]; } empties[] = {
      {"Convolution", "kernel=(3,3);num_filter=4;pad=(1,1)", S4(0, 3, 6, 7)},
      {"Convolution", "kernel=(3,3);num_filter=4;pad=(1,1)", S4(2, 0, 6, 7)},
      {"Deconvolution", "kernel=(3,3);num_filter=4;pad=(1,1);no_bias=False", S4(0, 3, 6, 7)},
      {"Deconvolution", "kernel=(3,3);num_filter=4;pad=(1,1);no_bias=False", S4(2, 0, 6, 7)},
    };
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
      tcase t = {empties[i].op, empties[i].p, {4}, {{0}}, 1, dt, 1, 0, (int)i % 2};
      memcpy(t.shape[0], empties[i].x, sizeof empties[i].x);
      run_case(&t);
    }
    act_softmax_cases(dt);
    /* RNN: every cell, one layer and two bidirectional ones, final states as
     * outputs or not; in an executor (the reserve space in the node's state
     * block when the reserve output is too small: g_rnn_extra) or not */
    const char *rnn_modes[] = {"rnn_relu", "rnn_tanh", "lstm", "gru"};
    const char *rnn_shapes[] = {"num_layers=1;bidirectional=False", "num_layers=2;bidirectional=True"};
    for (int m = 0; m < 4; m++)
      for (int sh = 0; sh < 2; sh++)
        for (int so = 0; so < 2; so++)
          for (int ex = 0; ex < 2; ex++) {
            char prm[256];
            snprintf(prm, sizeof prm, "state_size=3;mode=%s;%s;state_outputs=%s", rnn_modes[m],
                     rnn_shapes[sh], so ? "True" : "False");
#ifndef MX_DNN_REAL_GPU
            g_rnn_extra = ex ? 40 : 0;
            /* cuDNN's space in the op's layout: the module passes the op's arrays,
             * no weight copies (g_memcpy_async), else copies gate by gate */
            for (int lay = 0; lay < 2; lay++) {
              g_rnn_same_layout = lay;
              long before = g_memcpy_async;
#endif
              tcase t = {"RNN", prm, {3}, {S4(4, 2, 5, 0)}, 1, dt, 1, (m + so) % 2, ex};
              run_case(&t);
#ifndef MX_DNN_REAL_GPU
              if ((g_memcpy_async != before) == lay) {
                printf("FAIL RNN [%s]: %ld weight copies with cuDNN's layout %s the op's\n", prm,
                       g_memcpy_async - before, lay ? "equal to" : "unlike");
                g_fail++;
              }
            }
            g_rnn_same_layout = 0;
#endif
          }
#ifndef MX_DNN_REAL_GPU
    /* dropout between layers, two rates in turn (the fakes' CPU kernel
     * draws the reference's masks: both calls have the same zero seed; a
     * real GPU's masks are cuDNN's, which test-rnn.R checks by training) */
    g_rnn_extra = 0;
    /* the first dropout call finds the GPU out of memory: it makes its
     * states again after the engine's pool gives back its cache */
    static int oom_tried;
    long released = g_pool_releases;
    g_malloc_fail = !oom_tried;
    for (int k = 0; k < 4; k++) {
      const char *dp[] = {"p=0.3", "p=0.6"};
      char prm[256];
      snprintf(prm, sizeof prm, "state_size=3;mode=%s;num_layers=3;%s", k % 2 ? "gru" : "lstm", dp[k / 2]);
      tcase t = {"RNN", prm, {3}, {S4(4, 2, 5, 0)}, 1, dt, 1, 0, 1};
      run_case(&t);
    }
    if (!oom_tried && (g_pool_releases != released + 1 || g_malloc_fail)) {
      printf("FAIL RNN dropout: %ld pool releases after an out-of-memory cudaMalloc (expected 1)\n",
             g_pool_releases - released);
      g_fail++;
    }
    oom_tried = 1;
    /* backward after a forward in inference mode (no reserve space; the
     * module runs a training forward first), with and without dropout's p
     * and the executor's state slot */
    for (int m = 0; m < 4; m++)
      for (int ex = 0; ex < 2; ex++) {
        char prm[256];
        snprintf(prm, sizeof prm, "state_size=3;mode=%s;num_layers=2;bidirectional=True;p=0.5;"
                 "state_outputs=True", rnn_modes[m]);
        g_rnn_extra = ex ? 40 : 0;
        tcase t = {"RNN", prm, {3}, {S4(4, 2, 5, 0)}, 1, dt, 0, m % 2, ex};
        run_case(&t);
      }
    g_rnn_extra = 0;
#endif
  }
  /* float16 and bfloat16 tensors with float32 arithmetic: the records that
   * take them natively (products, convolutions, pooling, activations,
   * softmax), against the CPU's float32 kernels on the same values */
  for (int hd = 0; hd < 2; hd++) {
    int dt = hd ? MX_BFLOAT16 : MX_FLOAT16;
    const char *fc[] = {"num_hidden=6", "num_hidden=5;flatten=False;no_bias=True"};
    for (int i = 0; i < 2; i++) {
      tcase t = {"FullyConnected", fc[i], {3}, {S4(4, 3, 5, 0)}, 1, dt, 1, i, 0};
      run_case(&t);
    }
    tcase d = {"dot", "transpose_b=True", {2, 2}, {S4(3, 4, 0, 0), S4(5, 4, 0, 0)}, 2, dt, 1, 0, 0};
    run_case(&d);
    tcase b = {"batch_dot", "transpose_a=True", {3, 3}, {S4(2, 4, 3, 0), S4(2, 4, 5, 0)}, 2, dt, 1, 0, 0};
    run_case(&b);
    for (int i = 0; i < 3; i++) {
      tcase t = {"Convolution", CONV_P[i], {4}, {{0}}, 1, dt, 1, i == 1, i == 2};
      memcpy(t.shape[0], CONV_X[i], sizeof CONV_X[i]);
      run_case(&t);
      tcase u = {"Deconvolution", DECONV_P[i], {4}, {{0}}, 1, dt, 1, 0, i == 0};
      memcpy(u.shape[0], DECONV_X[i], sizeof DECONV_X[i]);
      run_case(&u);
    }
    tcase e = {"Convolution", "kernel=(3,3);num_filter=4;pad=(1,1)", {4}, {S4(0, 3, 6, 7)}, 1, dt, 1, 0, 0};
    run_case(&e);
    pooling_cases(dt);
    act_softmax_cases(dt);
    /* BatchNorm: half data, float32 parameters and statistics */
    const char *bnh[] = {"fix_gamma=False", "fix_gamma=True;output_mean_var=True",
                         "fix_gamma=False;use_global_stats=True"};
    for (int i = 0; i < 3; i++)
      for (int tr = 0; tr < 2; tr++)
        for (int nodx = 0; nodx < 2; nodx++) {
          tcase t = {"BatchNorm", bnh[i], {4}, {S4(3, 4, 2, 5)}, 1, dt, tr, nodx, 0};
          run_case(&t);
        }
    tcase be = {"BatchNorm", "fix_gamma=False;output_mean_var=True", {4}, {S4(0, 4, 2, 5)}, 1, dt, 1, 0, 0};
    run_case(&be);
  }
#ifndef MX_DNN_REAL_GPU
  printf("algorithm searches: %d heuristic, %d Find*Ex; GEMM calls %d; BN running buffers given %d\n",
         g_calls_heur, g_calls_find, g_calls_gemm, g_bn_running_given);
  if (g_calls_find == 0 || g_calls_heur == 0) { printf("FAIL: a tuning path never ran\n"); g_fail++; }
  /* TF32 off (g_dev): float32 strict (FMA_MATH); float64 DEFAULT_MATH, which keeps every engine */
  printf("convolution math: float32 %d FMA, %d other; float64 %d FMA, %d other\n", g_conv_math[MX_FLOAT32][1],
         g_conv_math[MX_FLOAT32][0], g_conv_math[MX_FLOAT64][1], g_conv_math[MX_FLOAT64][0]);
  printf("convolution math: float16 %d FMA, %d other; bfloat16 %d FMA, %d other\n", g_conv_math[MX_FLOAT16][1],
         g_conv_math[MX_FLOAT16][0], g_conv_math[MX_BFLOAT16][1], g_conv_math[MX_BFLOAT16][0]);
  const int (*cm)[2] = g_conv_math;
  if (cm[MX_FLOAT32][0] || cm[MX_FLOAT64][1] || !cm[MX_FLOAT32][1] || !cm[MX_FLOAT64][0] ||
      cm[MX_FLOAT16][1] || cm[MX_BFLOAT16][1] || !cm[MX_FLOAT16][0] || !cm[MX_BFLOAT16][0]) {
    printf("FAIL: a convolution ran with the wrong math type\n");
    g_fail++;
  }
  if (g_bn_running_given) { printf("FAIL: cuDNN got running buffers or a nonzero factor\n"); g_fail++; }
  if (g_bn_misaligned) { printf("FAIL: BatchNorm gave cuDNN %d arrays not 16-byte aligned\n", g_bn_misaligned); g_fail++; }
  if (!g_bn_saved_given) { printf("FAIL: BatchNorm backward never passed saved statistics\n"); g_fail++; }
  printf("RNN: %d forward, %d backward-data, %d backward-weights calls; dropout states set up %d, "
         "restored %d times\n", g_rnn_fwd, g_rnn_bwd_data, g_rnn_bwd_w, g_drop_inits, g_drop_restores);
  if (!g_rnn_fwd || !g_rnn_bwd_data || !g_rnn_bwd_w) { printf("FAIL: an RNN path never ran\n"); g_fail++; }
  /* one dropout state for the device, set up once; other rates restore it */
  if (g_drop_inits != 1 || g_drop_restores < 1) { printf("FAIL: the dropout state was not set up once and restored\n"); g_fail++; }
#endif
  mx_cuda_dnn_shutdown();
  printf("%d comparisons passed, %d failed\n", g_pass, g_fail);
  return g_fail ? 1 : 0;
}
