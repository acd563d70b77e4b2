/*
 * emu-test.c -- every record of mx_gpu_kernels_elemwise[] run through the
 * host emulation of its kernels (emu-cuda.h) and compared with the CPU op
 * of src/ops, forward and backward, per dtype of the record's mask.
 *
 * What it proves: the launchers read the right parameters, shapes, dtypes
 * and inputs, the index maths and per-element code compute what the CPU
 * computes, block reductions combine correctly, in-place state updates
 * land.  What it cannot prove: anything about the real device (timing,
 * memory spaces, launch limits, CUDA's math library, atomics under
 * contention).  The GPU check still has to run.
 */
#include "../../../src/cuda/cuda-common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------- module stand-ins */

const mx_host_services *mx_host;

mx_status mx_cuda_check(cudaError_t e, const char *what) {
  return mx_error_at(__func__, MX_ERR_DEVICE, "%s failed (%d)", what, (int)e);
}
/* basic.cu's fill and cast, as the engine does them */
mx_status mx_cu_fill(cudaStream_t s, void *p, int dtype, int64_t n, double value) {
  (void)s;
  for (int64_t i = 0; i < n; i++) mx_store_f64(p, dtype, i, value);
  return MX_OK;
}
mx_status mx_cu_cast(cudaStream_t s, const void *src, int sd, void *dst, int dd, int64_t n) {
  (void)s;
  mx_convert(src, sd, dst, dd, n);
  return MX_OK;
}

static const mx_op *const *tables(void) {
  static const mx_op *t[] = {mx_ops_elemwise, mx_ops_unary, mx_ops_reduce, mx_ops_shape,
                             mx_ops_index, mx_ops_random, mx_ops_nn, mx_ops_optimizer, NULL};
  return t;
}
static const mx_op *op_find(const char *name) {
  for (const mx_op *const *t = tables(); *t; t++)
    for (const mx_op *o = *t; o->name; o++)
      if (!strcmp(o->name, name)) return o;
  return NULL;
}
static void host_log(int level, const char *fmt, ...) { (void)level; (void)fmt; }
static int no_abort(void) { return 0; }
static const char *host_getenv(const char *name) { return getenv(name); }

static const mx_host_services services = {
  .abi = MX_GPU_ABI, .error_at = mx_error_at, .log = host_log, .abort_requested = no_abort,
  .op_find = op_find, .op_param_index = mx_op_param_index, .ndarray_new = mx_ndarray_new,
  .ndarray_free = mx_ndarray_free, .storage_alloc = mx_storage_alloc,
  .storage_release = mx_storage_release, .convert = mx_convert, .getenv = host_getenv,
};

/* --------------------------------------------------------- harness */

static long checks, fails, runs, refused, both_failed;
static const char *both_failed_ops[64];
#define CHECK(cond, ...)                                        \
  do {                                                          \
    checks++;                                                   \
    if (!(cond)) {                                              \
      if (fails++ < 4000) {                                     \
        printf("FAIL %s:%d: ", __FILE__, __LINE__);             \
        printf(__VA_ARGS__);                                    \
        printf("\n");                                           \
      }                                                         \
    }                                                           \
  } while (0)

static const mx_gpu_kernel *gpu_rec(const char *name) {
  for (const mx_gpu_kernel *k = mx_gpu_kernels_elemwise; k->op; k++)
    if (!strcmp(k->op, name)) return k;
  return NULL;
}
static int used[512];
static int g_train = 1;   /* is_train of the calls */

static const mx_context CPU = {MX_CPU, 0};
static mx_ndarray *arr(const mx_shape *s, int dt) {
  mx_ndarray *a = NULL;
  if (mx_ndarray_new(s, dt, CPU, &a)) {
    printf("allocation failed: %s\n", mx_last_error());
    exit(2);
  }
  memset(MX_PTR(a), 0, mx_ndarray_nbytes(a));
  return a;
}
static mx_ndarray *dup(const mx_ndarray *a) {
  mx_ndarray *b = arr(&a->shape, a->dtype);
  memcpy(MX_PTR(b), MX_PTR(a), mx_ndarray_nbytes(a));
  return b;
}
static double get(const mx_ndarray *a, int64_t i) { return mx_load_f64(MX_PTR(a), a->dtype, i); }

/* values: a any (ties included), p positive, u in (-1, 1), g > 1, l class
 * labels 0..2, i indices (some out of range), c a 0/1 condition, z with
 * zeros and NaN, s optimizer states (positive), h half-integers */
static double gen(char g, int64_t i, int isint) {
  double r = (double)((i * 7919 + 13) % 97) / 97.0;     /* 0..1, deterministic */
  switch (g) {
    case 'p': return isint ? 1 + (i % 5) : 0.1 + 2.9 * r;
    case 'u': return isint ? 0 : -0.9 + 1.8 * r;
    case 'g': return isint ? 2 + (i % 4) : 1.1 + 2 * r;
    case 'l': return (double)(i % 3);
    case 'i': return (double)((i * 5) % 9) - 2;
    case 'c': return (double)(i % 3 != 0);
    case 'z': return i % 5 == 0 ? 0 : (i % 7 == 3 && !isint ? NAN : -2 + 4 * r);
    case 's': return 0.05 + r;
    case 'h': return (double)((i * 3) % 11) - 5 + 0.5;
    default:
      if (isint) return (double)((i * 5) % 11) - 5;
      return i % 6 == 5 ? 1.0 : -2 + 4 * r;   /* some exact ties at 1.0 */
  }
}

static int is_float(int dt) { return dt == MX_FLOAT32 || dt == MX_FLOAT64; }

static int close_enough(double a, double b, int dt) {
  if (a == b || (a != a && b != b)) return 1;
  if (!is_float(dt) && dt != MX_FLOAT16) return 0;
  double tol = dt == MX_FLOAT64 ? 1e-12 : 2e-6;
  double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return fabs(a - b) <= tol * (m > 1 ? m : 1);
}

static int compare(const char *what, const char *op, int dt, const mx_ndarray *cpu,
                   const mx_ndarray *gpu) {
  int64_t n = mx_ndarray_size(cpu);
  int bad = 0;
  for (int64_t i = 0; i < n && bad < 3; i++) {
    double a = get(cpu, i), b = get(gpu, i);
    if (!close_enough(a, b, cpu->dtype)) {
      CHECK(0, "%s %s (%s) element %lld: GPU %.9g, CPU %.9g", op, what, mx_dtype_name(dt),
            (long long)i, b, a);
      bad++;
    }
  }
  checks++;
  return bad == 0;
}

typedef struct tcase {
  const char *op;
  const char *params;   /* "key=value;key=value" */
  const char *shapes;   /* input shapes "2x3;3x1" (C order; "-" for none) */
  const char *gens;     /* one generator letter per input */
  const char *idt;      /* per input: 'd' the case dtype, or a fixed one: f (float32), i (int32) */
  unsigned dtypes;      /* dtypes to try (intersected with the record's mask) */
  int bwd;
} tcase;

static int parse_shapes(const char *s, mx_shape *sh) {
  int n = 0;
  if (!s || !*s || !strcmp(s, "-")) return 0;
  while (*s) {
    mx_shape x;
    memset(&x, 0, sizeof x);
    if (*s == 's') {           /* "s": a shape of no dimensions */
      s++;
    } else {
      for (;;) {
        x.d[x.ndim++] = strtoll(s, (char **)&s, 10);
        if (*s != 'x') break;
        s++;
      }
    }
    sh[n++] = x;
    if (*s == ';') s++;
  }
  return n;
}

static void set_params(const mx_op *op, mx_param_value *p, const char *spec) {
  mx_op_params_init(op, p);
  if (!spec) return;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", spec);
  for (char *kv = strtok(buf, ";"); kv; kv = strtok(NULL, ";")) {
    char *eq = strchr(kv, '=');
    *eq = 0;
    int i = mx_op_param_index(op, kv);
    if (i < 0 || mx_op_param_set_str(op, p, i, eq + 1)) {
      printf("cannot set %s=%s on %s: %s\n", kv, eq + 1, op->name, mx_last_error());
      exit(2);
    }
  }
}

static int num_outputs(const mx_op *op, const mx_param_value *p) {
  if (op->num_outputs >= 0) return op->num_outputs;
  return (int)p[mx_op_param_index(op, "num_outputs")].i;
}

/* The CPU kernel's call context and the emulated GPU kernel's (same seed). */
static void contexts(mx_cuda_dev *dev, mx_op_ctx *cc, mx_op_ctx *cg) {
  memset(dev, 0, sizeof *dev);
  memset(cc, 0, sizeof *cc);
  cc->nthreads = 1;
  cc->ctx = CPU;
  cc->is_train = g_train;
  cc->rng.seed = 0x5eed1234ull;
  cc->rng.counter = 3;
  *cg = *cc;
  cg->gpu = dev;
}

static void run_case(const tcase *t, int dt) {
  const mx_op *op = op_find(t->op);
  const mx_gpu_kernel *rec = gpu_rec(t->op);
  if (!op || !rec) { CHECK(0, "%s: no CPU op or GPU record", t->op); return; }
  used[rec - mx_gpu_kernels_elemwise] = 1;
  mx_param_value p[MX_MAX_PARAMS];
  set_params(op, p, t->params);
  mx_shape ins[8], outs[MX_MAX_OUTPUTS > 32 ? 32 : MX_MAX_OUTPUTS];
  int nin = parse_shapes(t->shapes, ins), nout = num_outputs(op, p);
  int idt[8], odt[32];
  for (int j = 0; j < nin; j++) {
    char f = t->idt && t->idt[j] ? t->idt[j] : 'd';
    idt[j] = f == 'f' ? MX_FLOAT32 : f == 'i' ? MX_INT32 : dt;
  }
  for (int k = 0; k < nout; k++) { outs[k].ndim = -1; odt[k] = -1; }
  if (op->infer_shape(p, nin, ins, nout, outs)) {
    CHECK(0, "%s: shape inference failed: %s", t->op, mx_last_error());
    return;
  }
  if (op->infer_type) op->infer_type(p, nin, idt, nout, odt);
  else mx_infer_type_same(p, nin, idt, nout, odt);
  if (nin == 0)   /* random ops: dtype param */
    for (int k = 0; k < nout; k++) odt[k] = dt;
  if (rec->supports) {
    const char *why = NULL;
    if (!rec->supports(p, nin, ins, idt, &why)) { refused++; return; }
  }
  runs++;
  mx_ndarray *xc[8], *xg[8], *yc[32], *yg[32];
  for (int j = 0; j < nin; j++) {
    xc[j] = arr(&ins[j], idt[j]);
    for (int64_t i = 0; i < mx_ndarray_size(xc[j]); i++)
      mx_store_f64(MX_PTR(xc[j]), idt[j], i, gen(t->gens[j], i + 17 * j, !is_float(idt[j])));
    xg[j] = dup(xc[j]);
  }
  for (int k = 0; k < nout; k++) {
    yc[k] = arr(&outs[k], odt[k]);
    yg[k] = arr(&outs[k], odt[k]);
  }
  int req[32];
  for (int k = 0; k < 32; k++) req[k] = MX_REQ_WRITE;
  mx_cuda_dev dev;
  mx_op_ctx cc, cg;
  contexts(&dev, &cc, &cg);
  mx_status sc = op->cpu(&cc, p, xc, nin, yc, nout, req);
  mx_error_clear();
  mx_status sg = rec->fwd(&cg, p, xg, nin, yg, nout, req);
  if (sc != MX_OK && sg != MX_OK && both_failed < 64) both_failed_ops[both_failed++] = t->op;
  CHECK((sc == MX_OK) == (sg == MX_OK), "%s (%s): CPU status %d, GPU status %d: %s", t->op,
        mx_dtype_name(dt), (int)sc, (int)sg, mx_last_error());
  mx_error_clear();
  if (sc == MX_OK && sg == MX_OK) {
    for (int k = 0; k < nout; k++) compare("output", t->op, dt, yc[k], yg[k]);
    for (int j = 0; j < nin; j++) compare("input after the call", t->op, dt, xc[j], xg[j]);
  }
  /* in place: output 0 written over (a fresh copy of) input 0 */
  if (sc == MX_OK && (rec->flags & MX_GPUF_INPLACE) && nin >= 1 && nout >= 1 &&
      idt[0] == odt[0] && mx_ndarray_size(yc[0]) == mx_ndarray_size(xg[0]) &&
      strstr(t->op, "_update") == NULL) {
    mx_ndarray *xi[8], *yi[32];
    for (int j = 0; j < nin; j++) xi[j] = dup(xg[j]);
    for (int k = 0; k < nout; k++) yi[k] = k == 0 ? xi[0] : dup(yg[k]);
    for (int64_t i = 0; i < mx_ndarray_size(xi[0]); i++)   /* the original input 0 */
      mx_store_f64(MX_PTR(xi[0]), idt[0], i, gen(t->gens[0], i, !is_float(idt[0])));
    sg = rec->fwd(&cg, p, xi, nin, yi, nout, req);
    CHECK(sg == MX_OK, "%s in place: %s", t->op, mx_last_error());
    if (sg == MX_OK) compare("output in place", t->op, dt, yc[0], xi[0]);
    mx_error_clear();
    for (int j = 0; j < nin; j++) mx_ndarray_free(xi[j]);
    for (int k = 1; k < nout; k++) mx_ndarray_free(yi[k]);
  }
  /* backward from the CPU's forward values */
  if (t->bwd && sc == MX_OK && op->backward && rec->bwd) {   /* integer dtypes: both must refuse */
    int nvis = op->num_visible_outputs ? op->num_visible_outputs(p) : nout;
    mx_ndarray *og[32], *gc[8], *gg[8];
    for (int k = 0; k < nout; k++) {
      og[k] = NULL;
      if (k < nvis) {
        og[k] = arr(&outs[k], odt[k]);
        for (int64_t i = 0; i < mx_ndarray_size(og[k]); i++)
          mx_store_f64(MX_PTR(og[k]), odt[k], i, gen('a', 3 * i + k, 0));
      }
    }
    for (int j = 0; j < nin; j++) {
      gc[j] = arr(&ins[j], idt[j]);
      gg[j] = arr(&ins[j], idt[j]);
    }
    sc = op->backward(&cc, p, og, nout, xc, nin, yc, gc, req);
    mx_error_clear();
    sg = rec->bwd(&cg, p, og, nout, xc, nin, yc, gg, req);
    CHECK((sc == MX_OK) == (sg == MX_OK), "%s backward (%s): CPU status %d, GPU status %d: %s",
          t->op, mx_dtype_name(dt), (int)sc, (int)sg, mx_last_error());
    mx_error_clear();
    if (sc == MX_OK && sg == MX_OK)
      for (int j = 0; j < nin; j++) compare("input gradient", t->op, dt, gc[j], gg[j]);
    /* again without input 0's gradient (req null), and, for SliceChannel,
     * without the last output's gradient */
    if (sc == MX_OK && nin > 1) {
      int rq[32];
      mx_ndarray *gc2[8], *gg2[8];
      for (int j = 0; j < nin; j++) {
        rq[j] = j == 0 ? MX_REQ_NULL : MX_REQ_WRITE;
        gc2[j] = j == 0 ? NULL : arr(&ins[j], idt[j]);
        gg2[j] = j == 0 ? NULL : arr(&ins[j], idt[j]);
      }
      sc = op->backward(&cc, p, og, nout, xc, nin, yc, gc2, rq);
      mx_error_clear();
      sg = rec->bwd(&cg, p, og, nout, xc, nin, yc, gg2, rq);
      CHECK((sc == MX_OK) == (sg == MX_OK), "%s backward, input 0 not requested: CPU %d, GPU %d",
            t->op, (int)sc, (int)sg);
      mx_error_clear();
      if (sc == MX_OK && sg == MX_OK)
        for (int j = 1; j < nin; j++) compare("input gradient (input 0 not requested)", t->op, dt, gc2[j], gg2[j]);
      for (int j = 1; j < nin; j++) { mx_ndarray_free(gc2[j]); mx_ndarray_free(gg2[j]); }
    }
    if (!strcmp(t->op, "SliceChannel") && nout > 1) {
      mx_ndarray *keep = og[nout - 1];
      og[nout - 1] = NULL;
      sc = op->backward(&cc, p, og, nout, xc, nin, yc, gc, req);
      sg = rec->bwd(&cg, p, og, nout, xc, nin, yc, gg, req);
      CHECK(sc == MX_OK && sg == MX_OK, "SliceChannel backward without a gradient: %d %d", (int)sc, (int)sg);
      compare("input gradient (an output without gradient)", t->op, dt, gc[0], gg[0]);
      og[nout - 1] = keep;
      mx_error_clear();
    }
    for (int k = 0; k < nout; k++) mx_ndarray_free(og[k]);
    for (int j = 0; j < nin; j++) { mx_ndarray_free(gc[j]); mx_ndarray_free(gg[j]); }
  }
  for (int j = 0; j < nin; j++) { mx_ndarray_free(xc[j]); mx_ndarray_free(xg[j]); }
  for (int k = 0; k < nout; k++) { mx_ndarray_free(yc[k]); mx_ndarray_free(yg[k]); }
}

static void run(const tcase *t) {
  const mx_gpu_kernel *rec = gpu_rec(t->op);
  unsigned mask = t->dtypes & (rec ? rec->dtypes : 0);
  if (!rec) { CHECK(0, "%s: no GPU record", t->op); return; }
  static const int order[] = {MX_FLOAT32, MX_FLOAT64, MX_UINT8, MX_INT32, MX_INT64, MX_FLOAT16,
                              MX_INT8, MX_BFLOAT16};
  for (int k = 0; k < 8; k++)
    if (mask & (1u << order[k])) run_case(t, order[k]);
}

#define F ((1u << MX_FLOAT32) | (1u << MX_FLOAT64))
#define N (F | (1u << MX_UINT8) | (1u << MX_INT32) | (1u << MX_INT64))
/* byte moves: every dtype, float16 and int8 included (the CPU ops flagged
 * MX_OPF_F16 take float16 themselves); bfloat16 where the record takes it */
#define H (N | (1u << MX_FLOAT16) | (1u << MX_BFLOAT16))

/* elemwise_add in float16 and bfloat16 (the one half-precision arithmetic
 * record): the CPU's float32 sum of the same values, rounded once, and the
 * output gradient passed on. */
static void check_add_half(void) {
  const mx_op *op = op_find("elemwise_add");
  const mx_gpu_kernel *rec = gpu_rec("elemwise_add");
  static const int dts[2] = {MX_FLOAT16, MX_BFLOAT16};
  mx_shape s;
  parse_shapes("3x5", &s);
  mx_cuda_dev dev;
  mx_op_ctx cc, cg;
  contexts(&dev, &cc, &cg);
  int req[2] = {MX_REQ_WRITE, MX_REQ_WRITE};
  for (int d = 0; d < 2; d++) {
    int dt = dts[d];
    mx_ndarray *h[2], *f[2], *yh = arr(&s, dt), *yf = arr(&s, MX_FLOAT32), *want = arr(&s, dt);
    for (int j = 0; j < 2; j++) {
      h[j] = arr(&s, dt);
      f[j] = arr(&s, MX_FLOAT32);
      for (int64_t i = 0; i < 15; i++) {
        mx_store_f64(MX_PTR(h[j]), dt, i, gen('a', i + 17 * j, 0));
        mx_store_f64(MX_PTR(f[j]), MX_FLOAT32, i, get(h[j], i));
      }
    }
    mx_status sc = op->cpu(&cc, NULL, f, 2, &yf, 1, req);
    mx_status sg = rec->fwd(&cg, NULL, h, 2, &yh, 1, req);
    CHECK(sc == MX_OK && sg == MX_OK, "elemwise_add (%s): CPU %d, GPU %d", mx_dtype_name(dt), (int)sc, (int)sg);
    for (int64_t i = 0; i < 15; i++) mx_store_f64(MX_PTR(want), dt, i, get(yf, i));
    for (int64_t i = 0; i < 15; i++)
      CHECK(get(yh, i) == get(want, i), "elemwise_add (%s) element %lld: GPU %.9g, expected %.9g",
            mx_dtype_name(dt), (long long)i, get(yh, i), get(want, i));
    mx_ndarray *og = dup(yh), *g[2] = {arr(&s, dt), arr(&s, dt)};
    sg = rec->bwd(&cg, NULL, &og, 1, h, 2, &yh, g, req);
    CHECK(sg == MX_OK, "elemwise_add backward (%s): %d", mx_dtype_name(dt), (int)sg);
    for (int j = 0; j < 2; j++)
      for (int64_t i = 0; i < 15; i++)
        CHECK(get(g[j], i) == get(og, i), "elemwise_add backward (%s): gradient %d differs", mx_dtype_name(dt), j);
    for (int j = 0; j < 2; j++) { mx_ndarray_free(h[j]); mx_ndarray_free(f[j]); mx_ndarray_free(g[j]); }
    mx_ndarray_free(yh); mx_ndarray_free(yf); mx_ndarray_free(want); mx_ndarray_free(og);
  }
}

int main(void) {
  mx_host = &services;
  /* binary: broadcast forms with several broadcast patterns, same-shape
   * forms, scalar forms (a fractional and an integer scalar) */
  static const char *bops[] = {"add", "sub", "mul", "div", "mod", "power", "maximum", "minimum",
                               "hypot", "equal", "not_equal", "greater", "greater_equal", "lesser",
                               "lesser_equal", "logical_and", "logical_or", "logical_xor"};
  static const char *bshapes[] = {"2x3x4;2x3x4", "2x3x4;3x1", "2x1x4;3x1", "4;2x3x4", "2x3x4;1", "3x1x2;1x4x1"};
  char name[64];
  for (size_t i = 0; i < sizeof bops / sizeof bops[0]; i++)
    for (size_t s = 0; s < sizeof bshapes / sizeof bshapes[0]; s++) {
      snprintf(name, sizeof name, "broadcast_%s", bops[i]);
      tcase t = {name, NULL, bshapes[s], !strcmp(bops[i], "power") ? "pu" : "az", NULL, N, 1};
      run(&t);
    }
  static const char *eops[] = {"elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div",
                               "_mod", "_power", "_maximum", "_minimum"};
  for (size_t i = 0; i < sizeof eops / sizeof eops[0]; i++) {
    tcase t = {eops[i], NULL, "3x5;3x5", !strcmp(eops[i], "_power") ? "pu" : "az", NULL, N, 1};
    run(&t);
  }
  static const char *sops[] = {"_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar",
                               "_div_scalar", "_rdiv_scalar", "_mod_scalar", "_rmod_scalar",
                               "_power_scalar", "_rpower_scalar", "_maximum_scalar",
                               "_minimum_scalar", "_hypot_scalar", "_equal_scalar",
                               "_not_equal_scalar", "_greater_scalar", "_greater_equal_scalar",
                               "_lesser_scalar", "_lesser_equal_scalar", "_logical_and_scalar",
                               "_logical_or_scalar", "_logical_xor_scalar"};
  for (size_t i = 0; i < sizeof sops / sizeof sops[0]; i++) {
    int pw = strstr(sops[i], "power") != NULL;
    tcase t1 = {sops[i], "scalar=1.5", "4x6", pw ? "p" : "z", NULL, N, 1};
    tcase t2 = {sops[i], "scalar=-3", "4x6", pw ? "p" : "a", NULL, N, 1};
    tcase t3 = {sops[i], "scalar=0", "4x6", "a", NULL, N, 1};
    run(&t1);
    run(&t2);
    if (!pw) run(&t3);
  }
  /* unary (values in each function's domain), clip, copies, Cast */
  static const struct { const char *op; const char *g; } uops[] = {
    {"abs", "a"}, {"sign", "z"}, {"sqrt", "p"}, {"rsqrt", "p"}, {"square", "a"}, {"exp", "a"},
    {"log", "p"}, {"log1p", "p"}, {"expm1", "a"}, {"log2", "p"}, {"log10", "p"}, {"sin", "a"},
    {"cos", "a"}, {"tan", "u"}, {"arcsin", "u"}, {"arccos", "u"}, {"arctan", "a"}, {"sinh", "a"},
    {"cosh", "a"}, {"tanh", "a"}, {"arcsinh", "a"}, {"arccosh", "g"}, {"arctanh", "u"},
    {"sigmoid", "a"}, {"relu", "z"}, {"softsign", "a"}, {"round", "h"}, {"rint", "h"},
    {"floor", "h"}, {"ceil", "h"}, {"trunc", "h"}, {"fix", "h"}, {"negative", "a"},
    {"reciprocal", "p"}, {"cbrt", "a"}, {"gamma", "p"}, {"gammaln", "p"}, {"degrees", "a"},
    {"radians", "a"}, {"logical_not", "z"}, {"identity", "a"}, {"zeros_like", "a"},
    {"ones_like", "a"}};
  static const char *uany[] = {"identity", "zeros_like", "ones_like"};
  for (size_t i = 0; i < sizeof uops / sizeof uops[0]; i++) {
    tcase t = {uops[i].op, NULL, "3x7", uops[i].g, NULL, N, 1};
    run(&t);
  }
  for (size_t i = 0; i < sizeof uany / sizeof uany[0]; i++) {
    tcase t = {uany[i], NULL, "3x7", "a", NULL, 1u << MX_FLOAT16, 1};
    run(&t);
  }
  tcase misc[] = {
    {"clip", "a_min=-0.5;a_max=1.2", "5x4", "a", NULL, N, 1},
    {"clip", "a_min=-2.5;a_max=300", "5x4", "a", NULL, N, 1},
    {"Cast", "dtype=int32", "5x4", "h", NULL, F, 0},
    {"Cast", "dtype=float64", "5x4", "a", NULL, F, 1},
    {"Cast", "dtype=float32", "5x4", "a", NULL, H, 0},
    {"Cast", "dtype=float16", "5x4", "a", NULL, F, 1},
    {"Reshape", "shape=(4,5)", "5x4", "a", NULL, H, 1},
    {"Flatten", NULL, "2x3x4", "a", NULL, H, 1},
    {"expand_dims", "axis=1", "2x3", "a", NULL, H, 1},
    {"squeeze", NULL, "2x1x3", "a", NULL, H, 1},
    {"BlockGrad", NULL, "2x3", "a", NULL, H, 1},
    {"MakeLoss", "grad_scale=0.5", "2x3", "a", NULL, F, 1},
    {"MakeLoss", "normalization=batch", "4x3", "a", NULL, F, 1},
    {"MakeLoss", "normalization=valid", "4x3", "a", NULL, F, 1},
    /* reductions: axis sets, keepdims, exclude; long axes take the block kernels */
    {"sum", NULL, "3x4x5", "a", NULL, N, 1},
    {"sum", "axis=(1,);keepdims=True", "3x4x5", "a", NULL, N, 1},
    {"sum", "axis=(0,2)", "3x4x5", "a", NULL, N, 1},
    {"sum", "axis=(1,);exclude=True", "3x4x5", "a", NULL, N, 1},
    {"sum", "axis=(1,)", "3x600x2", "a", NULL, N, 1},
    {"sum", "axis=(0,)", "0x3", "a", NULL, N, 1},
    {"mean", "axis=(-1,)", "3x4x5", "a", NULL, N, 1},
    {"mean", NULL, "40x30", "a", NULL, N, 1},
    {"prod", "axis=(1,)", "3x4x5", "z", NULL, N, 1},
    {"prod", "axis=(0,2)", "3x4x5", "l", NULL, N, 1},
    {"nansum", "axis=(1,)", "3x4x5", "z", NULL, N, 1},
    {"nanprod", "axis=(2,)", "3x4x5", "z", NULL, N, 1},
    {"max", "axis=(1,)", "3x4x5", "z", NULL, N, 1},
    {"max", NULL, "30x40", "a", NULL, N, 1},
    {"min", "axis=(0,2);keepdims=True", "3x4x5", "a", NULL, N, 1},
    {"min", "axis=(0,)", "0x3", "a", NULL, N, 1},
    {"norm", NULL, "3x4x5", "a", NULL, N, 1},
    {"norm", "ord=1;axis=(1,)", "3x4x5", "z", NULL, N, 1},
    {"norm", "ord=2;axis=(0,);keepdims=True", "3x4x5", "l", NULL, N, 1},
    {"argmax", "axis=1", "3x4x5", "z", NULL, N, 0},
    {"argmax", NULL, "3x4x5", "a", NULL, N, 0},
    {"argmax", "axis=0", "300x2", "a", NULL, N, 0},
    {"argmin", "axis=-1;keepdims=True", "3x4x5", "a", NULL, N, 0},
    {"argmin", "axis=0", "3x4", "z", NULL, N, 0},
    /* shape moves */
    {"Concat", "num_args=3;dim=1", "2x3x2;2x1x2;2x4x2", "aaa", NULL, H, 1},
    {"Concat", "num_args=2;dim=0", "2x3;4x3", "aa", NULL, H, 1},
    {"Concat", "num_args=2;dim=-1", "2x3;2x5", "aa", NULL, H, 1},
    {"SliceChannel", "num_outputs=3;axis=1", "2x6x2", "a", NULL, H, 1},
    {"SliceChannel", "num_outputs=2;axis=0;squeeze_axis=True", "2x3", "a", NULL, H, 1},
    {"stack", "num_args=3;axis=1", "2x3;2x3;2x3", "aaa", NULL, H, 1},
    {"stack", "num_args=2;axis=2", "2x3;2x3", "aa", NULL, H, 1},
    {"transpose", NULL, "2x3x4", "a", NULL, H, 1},
    {"transpose", "axes=(1,2,0)", "2x3x4", "a", NULL, H, 1},
    {"SwapAxis", "dim1=0;dim2=2", "2x3x4", "a", NULL, H, 1},
    {"slice", "begin=(1,None);end=(None,-1);step=(1,2)", "3x5", "a", NULL, H, 1},
    {"slice", "begin=(None,);end=(None,);step=(-2,)", "7x2", "a", NULL, H, 1},
    {"slice_axis", "axis=1;begin=1;end=None", "3x5", "a", NULL, H, 1},
    {"reverse", "axis=(0,2)", "2x3x4", "a", NULL, H, 1},
    {"tile", "reps=(2,1,3)", "3x2", "a", NULL, H, 1},
    {"repeat", "repeats=3;axis=1", "2x3", "a", NULL, H, 1},
    {"repeat", "repeats=2", "2x3", "a", NULL, H, 1},
    {"Crop", "num_args=1;h_w=(2,3);offset=(1,1)", "2x2x4x5", "a", NULL, H, 1},
    {"Crop", "num_args=2;center_crop=True", "2x2x5x6;1x1x3x2", "aa", NULL, H, 1},
    /* index ops */
    {"take", "axis=0", "5x3;2x2", "ai", "di", H, 1},
    {"take", "axis=1;mode=wrap", "2x4x3;3", "ai", "df", H, 1},
    {"take", "axis=0;mode=raise", "5x3;2", "ai", "di", H, 1},
    {"pick", "axis=1", "4x5;4", "ai", "di", H, 1},
    {"pick", "axis=0;mode=wrap;keepdims=True", "3x4;1x4", "ai", "df", H, 1},
    {"one_hot", "depth=5;on_value=2.5;off_value=-1", "6", "i", "i", N, 0},
    {"where", NULL, "3x4;3x4;3x4", "caa", "fdd", H, 1},
    {"where", NULL, "3;3x4;3x4", "caa", "idd", H, 1},
    /* loss heads and layers */
    {"SoftmaxOutput", NULL, "4x10;4", "al", NULL, F, 1},
    {"SoftmaxOutput", "normalization=batch;grad_scale=0.5", "4x300;4", "al", NULL, F, 1},
    {"SoftmaxOutput", "multi_output=True;normalization=valid;use_ignore=True;ignore_label=1",
     "2x3x5;2x5", "al", NULL, F, 1},
    {"SoftmaxOutput", "preserve_shape=True;smooth_alpha=0.1", "2x3x4;2x3", "al", NULL, F, 1},
    {"SoftmaxOutput", "out_grad=True", "3x4;3", "al", NULL, F, 1},
    {"LinearRegressionOutput", "grad_scale=2", "4x3;4x3", "aa", NULL, F, 1},
    {"LogisticRegressionOutput", NULL, "4x1;4", "aa", NULL, F, 1},
    {"MAERegressionOutput", NULL, "4x3;4x3", "aa", NULL, F, 1},
    {"LeakyReLU", "act_type=leaky;slope=0.1", "2x3x4", "a", NULL, F, 1},
    {"LeakyReLU", "act_type=elu", "2x3x4", "a", NULL, F, 1},
    {"LeakyReLU", "act_type=selu", "2x3x4", "a", NULL, F, 1},
    {"LeakyReLU", "act_type=gelu", "2x3x4", "a", NULL, F, 1},
    {"LeakyReLU", "act_type=rrelu", "2x3x4", "a", NULL, F, 1},
    {"LeakyReLU", "act_type=prelu", "2x3x4;3", "ap", NULL, F, 1},
    {"LeakyReLU", "act_type=prelu", "2x300x2;1", "ap", NULL, F, 1},
    {"Dropout", "p=0.3", "4x5", "a", NULL, F, 1},
    {"Dropout", "p=0.5;axes=(0,)", "4x5", "a", NULL, F, 1},
    {"Dropout", "p=0.5;mode=always", "3x2x2", "a", NULL, F, 1},
    {"Dropout", "p=0;mode=always", "3x2", "a", NULL, F, 1},
    {"Embedding", "input_dim=6;output_dim=3", "2x4;6x3", "ia", "dd", F, 1},
    {"Embedding", "input_dim=6;output_dim=3", "7;6x3", "ia", "id", F, 1},
    /* optimizers (states updated in place) */
    {"sgd_update", "lr=0.1;wd=0.01;clip_gradient=0.5", "3x4;3x4", "aa", NULL, F, 0},
    {"sgd_mom_update", "lr=0.1;momentum=0.9;rescale_grad=0.5", "3x4;3x4;3x4", "aas", NULL, F, 0},
    {"nag_mom_update", "lr=0.1;momentum=0.9;wd=0.1", "3x4;3x4;3x4", "aas", NULL, F, 0},
    {"adam_update", "lr=0.01;clip_gradient=1", "3x4;3x4;3x4;3x4", "aass", NULL, F, 0},
    {"rmsprop_update", "lr=0.01;clip_weights=0.5", "3x4;3x4;3x4", "aas", NULL, F, 0},
    {"rmspropalex_update", "lr=0.01", "3x4;3x4;3x4;3x4;3x4", "aasss", NULL, F, 0},
    {"adagrad_update", "lr=0.01;wd=0.1", "3x4;3x4;3x4", "aas", NULL, F, 0},
    {"adadelta_update", "rho=0.8", "3x4;3x4;3x4;3x4", "aass", NULL, F, 0},
    /* random */
    {"random_uniform", "low=-1;high=3;shape=(5,7)", "-", "", NULL, F, 0},
    {"random_normal", "loc=1;scale=2;shape=(9,)", "-", "", NULL, F, 0},
  };
  for (size_t i = 0; i < sizeof misc / sizeof misc[0]; i++) run(&misc[i]);
  /* inference: Dropout passes through, rrelu uses the mean slope */
  g_train = 0;
  tcase infer[] = {
    {"Dropout", "p=0.3", "4x5", "a", NULL, F, 1},
    {"LeakyReLU", "act_type=rrelu", "2x3x4", "a", NULL, F, 1},
  };
  for (size_t i = 0; i < sizeof infer / sizeof infer[0]; i++) run(&infer[i]);
  g_train = 1;
  check_add_half();
  /* every record was exercised */
  int nrec = 0;
  for (const mx_gpu_kernel *k = mx_gpu_kernels_elemwise; k->op; k++, nrec++)
    CHECK(used[nrec], "record %s has no emulation case", k->op);
  printf("forward refused by both (the same error status):");
  for (long i = 0; i < both_failed; i++) printf(" %s", both_failed_ops[i]);
  printf("\n");
  printf("emulation: %d records, %ld runs (%ld refused by supports()), %ld checks, %ld failures\n",
         nrec, runs, refused, checks, fails);
  return fails ? 1 : 0;
}
