/*
 * host-tests.c -- the index maths and formulas that the CUDA module's own
 * kernels share through src/cuda/kern-common.h, compiled with gcc and
 * checked on the CPU:
 *   - grid sizes;
 *   - broadcast plans against a naive nested-index computation (every
 *     broadcastable pair of shapes of rank <= 4 with extents 1..3);
 *   - reduction plans (kept/reduced offsets, the output element of each
 *     input element, sum-to-shape masks) against naive loops, zero extents
 *     included;
 *   - Concat / SliceChannel block copies against a naive concatenation;
 *   - SoftmaxOutput's layout, label decoding and per-element gradient
 *     against nn.c's CPU backward (bit for bit, every parameter mix);
 *   - the fused optimizer updates against optimizer.c's CPU kernels (bit
 *     for bit);
 *   - Philox uniforms/normals against src/engine/rng.c, and the Dropout and
 *     rrelu masks against nn.c's CPU forward (bit for bit).
 * Build and run: make -C tools/cuda-host-tests test
 */
#define MX_KC_HOST_TEST 1
#include "../../src/cuda/kern-common.h"
#include "../../src/include/mx-op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The engine pieces linked here (nn.c, optimizer.c, shape.c, index.c)
 * reference these, which live in files the test does not link (registry.c,
 * matmul.c); none is reached by the kernels under test except
 * mx_axis_norm, given registry.c's semantics. */
__attribute__((weak)) mx_status mx_gemm(const mx_op_ctx *c, int dtype, int ta, int tb, int64_t M,
                                        int64_t N, int64_t K, double alpha, const void *A,
                                        int64_t lda, const void *B, int64_t ldb, double beta,
                                        void *C, int64_t ldc) {
  (void)c; (void)dtype; (void)ta; (void)tb; (void)M; (void)N; (void)K; (void)alpha; (void)A;
  (void)lda; (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
  return MX_ERR_UNSUPPORTED;
}
__attribute__((weak)) mx_status mx_infer_shape_same(const mx_param_value *p, int nin, mx_shape *in,
                                                    int nout, mx_shape *out) {
  (void)p; (void)nin; (void)in; (void)nout; (void)out;
  return MX_ERR_UNSUPPORTED;
}
__attribute__((weak)) mx_status mx_infer_type_same(const mx_param_value *p, int nin, int *in,
                                                   int nout, int *out) {
  (void)p; (void)nin; (void)in; (void)nout; (void)out;
  return MX_ERR_UNSUPPORTED;
}
__attribute__((weak)) mx_status mx_axis_norm(int64_t axis, int ndim, int *out) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) return MX_ERR_ARG;
  *out = (int)a;
  return MX_OK;
}

static long checks, fails;
/* equal, or both NaN */
static int same(double a, double b) { return a == b || (a != a && b != b); }
#define CHECK(cond, ...)                                        \
  do {                                                          \
    checks++;                                                   \
    if (!(cond)) {                                              \
      if (fails++ < 25) {                                       \
        printf("FAIL %s:%d: ", __FILE__, __LINE__);             \
        printf(__VA_ARGS__);                                    \
        printf("\n");                                           \
      }                                                         \
    }                                                           \
  } while (0)

static mx_shape mk(int nd, const int64_t *d) {
  mx_shape s;
  memset(&s, 0, sizeof s);
  s.ndim = nd;
  for (int k = 0; k < nd; k++) s.d[k] = d[k];
  return s;
}
static int64_t size_of(const mx_shape *s) {
  int64_t n = 1;
  for (int k = 0; k < s->ndim; k++) n *= s->d[k];
  return n;
}
/* multi-index of linear index i */
static void unravel(const mx_shape *s, int64_t i, int64_t *ix) {
  for (int k = s->ndim - 1; k >= 0; k--) {
    ix[k] = s->d[k] ? i % s->d[k] : 0;
    i = s->d[k] ? i / s->d[k] : 0;
  }
}

/* ------------------------------------------------------------ grid */

static void test_grid(void) {
  CHECK(mx_kc_grid(0, 256) == 1, "grid(0)");
  CHECK(mx_kc_grid(1, 256) == 1, "grid(1)");
  CHECK(mx_kc_grid(256, 256) == 1, "grid(256)");
  CHECK(mx_kc_grid(257, 256) == 2, "grid(257)");
  CHECK(mx_kc_grid((int64_t)1 << 40, 256) == MX_KC_MAX_GRID, "grid capped");
  /* the grid-stride loop covers every element exactly once */
  for (int64_t n = 0; n < 3000; n += 97) {
    unsigned g = mx_kc_grid(n, 64);
    int64_t covered = 0, step = (int64_t)g * 64;
    for (int64_t t = 0; t < step; t++)
      for (int64_t i = t; i < n; i += step) covered++;
    CHECK(covered == n, "grid-stride covers %lld of %lld", (long long)covered, (long long)n);
  }
}

/* ------------------------------------------------------------ broadcast */

/* all shapes of rank nd with extents in 1..3, enumerated by code */
static int shape_from_code(int nd, int code, int64_t *d) {
  for (int k = 0; k < nd; k++) {
    d[k] = 1 + code % 3;
    code /= 3;
  }
  return code == 0;
}

static void test_bcast(void) {
  long cases = 0;
  for (int nd = 0; nd <= 4; nd++) {
    int ncode = 1;
    for (int k = 0; k < nd; k++) ncode *= 3;
    for (int oc = 0; oc < ncode; oc++) {
      int64_t od[MX_MAX_DIM];
      shape_from_code(nd, oc, od);
      mx_shape os = mk(nd, od);
      /* a and b: drop 0..nd leading axes, then set any subset to 1 */
      for (int da = 0; da <= nd; da++)
        for (int ma = 0; ma < (1 << (nd - da)); ma++)
          for (int db = 0; db <= nd; db += (nd > 2 ? 2 : 1))
            for (int mb = 0; mb < (1 << (nd - db)); mb += (nd > 3 ? 3 : 1)) {
              int64_t ad[MX_MAX_DIM], bd[MX_MAX_DIM];
              for (int k = 0; k < nd - da; k++) ad[k] = (ma >> k) & 1 ? 1 : od[k + da];
              for (int k = 0; k < nd - db; k++) bd[k] = (mb >> k) & 1 ? 1 : od[k + db];
              mx_shape as = mk(nd - da, ad), bs = mk(nd - db, bd);
              mx_kc_bcast p;
              mx_kc_bcast_make(&as, &bs, &os, &p);
              cases++;
              int64_t n = size_of(&os), ix[MX_MAX_DIM];
              for (int64_t i = 0; i < n; i++) {
                unravel(&os, i, ix);
                int64_t ea = 0, eb = 0;
                for (int k = 0; k < as.ndim; k++) ea = ea * as.d[k] + (as.d[k] == 1 ? 0 : ix[k + da]);
                for (int k = 0; k < bs.ndim; k++) eb = eb * bs.d[k] + (bs.d[k] == 1 ? 0 : ix[k + db]);
                int64_t oa, ob;
                mx_kc_bcast_offsets(&p, i, &oa, &ob);
                CHECK(oa == ea && ob == eb, "bcast nd %d elem %lld: (%lld,%lld) want (%lld,%lld)", nd,
                      (long long)i, (long long)oa, (long long)ob, (long long)ea, (long long)eb);
              }
            }
    }
  }
  /* collapsing: equal shapes become one axis, a row vector two */
  int64_t d3[3] = {4, 5, 6}, d1[1] = {6};
  mx_shape s3 = mk(3, d3), s1 = mk(1, d1);
  mx_kc_bcast p;
  mx_kc_bcast_make(&s3, &s3, &s3, &p);
  CHECK(p.nd == 1 && p.shape[0] == 120, "equal shapes collapse to one axis (nd %d)", p.nd);
  mx_kc_bcast_make(&s3, &s1, &s3, &p);
  CHECK(p.nd == 2 && p.shape[0] == 20 && p.sb[0] == 0 && p.sb[1] == 1, "row broadcast: nd %d", p.nd);
  printf("broadcast plans: %ld shape triples\n", cases);
}

/* ------------------------------------------------------------ reduction */

static void test_reduce(void) {
  long cases = 0;
  for (int nd = 0; nd <= 4; nd++) {
    int ncode = 1;
    for (int k = 0; k < nd; k++) ncode *= 4;
    for (int code = 0; code < ncode; code++) {
      int64_t d[MX_MAX_DIM];
      int c = code;
      for (int k = 0; k < nd; k++) { d[k] = c % 4; c /= 4; }   /* extents 0..3 */
      mx_shape s = mk(nd, d);
      for (int m = 0; m < (1 << nd); m++) {
        int mask[MX_MAX_DIM];
        for (int k = 0; k < nd; k++) mask[k] = (m >> k) & 1;
        mx_kc_red p;
        mx_kc_red_make(&s, mask, &p);
        int64_t ostr[MX_MAX_DIM];
        mx_kc_out_strides(&s, mask, ostr);
        cases++;
        int64_t nout = 1, R = 1;
        for (int k = 0; k < nd; k++) {
          if (mask[k]) R *= d[k];
          else nout *= d[k];
        }
        CHECK(p.nout == nout && p.R == R, "red sizes nd %d mask %d: %lld/%lld want %lld/%lld", nd, m,
              (long long)p.nout, (long long)p.R, (long long)nout, (long long)R);
        /* every input element: its kept index o and reduced index r */
        int64_t n = size_of(&s), ix[MX_MAX_DIM];
        for (int64_t i = 0; i < n; i++) {
          unravel(&s, i, ix);
          int64_t o = 0, r = 0;
          for (int k = 0; k < nd; k++) {
            if (mask[k]) r = r * d[k] + ix[k];
            else o = o * d[k] + ix[k];
          }
          CHECK(mx_kc_red_kept(&p, o) + mx_kc_red_off(&p, r) == i,
                "red offset nd %d mask %d elem %lld", nd, m, (long long)i);
          CHECK(mx_kc_offset(nd, s.d, ostr, i) == o, "out_strides nd %d mask %d elem %lld", nd, m,
                (long long)i);
        }
      }
    }
  }
  /* sum-to-shape masks: big (rank <= 4, extents 1..3) to every small shape
   * that broadcasts to it; the plan's outputs are small's elements */
  long pairs = 0;
  for (int nd = 1; nd <= 4; nd++) {
    int ncode = 1;
    for (int k = 0; k < nd; k++) ncode *= 3;
    for (int code = 0; code < ncode; code++) {
      int64_t bd[MX_MAX_DIM];
      shape_from_code(nd, code, bd);
      mx_shape big = mk(nd, bd);
      for (int drop = 0; drop <= nd; drop++)
        for (int ones = 0; ones < (1 << (nd - drop)); ones++) {
          int64_t sd[MX_MAX_DIM];
          for (int k = 0; k < nd - drop; k++) sd[k] = (ones >> k) & 1 ? 1 : bd[k + drop];
          mx_shape small = mk(nd - drop, sd);
          int mask[MX_MAX_DIM];
          mx_kc_sum_to_mask(&big, &small, mask);
          mx_kc_red p;
          mx_kc_red_make(&big, mask, &p);
          pairs++;
          CHECK(p.nout == size_of(&small), "sum_to nout %lld want %lld", (long long)p.nout,
                (long long)size_of(&small));
          /* naive sums of a ramp vs the plan's sums */
          int64_t n = size_of(&big), m = size_of(&small), ix[MX_MAX_DIM];
          double want[81] = {0}, got[81] = {0};
          for (int64_t i = 0; i < n; i++) {
            unravel(&big, i, ix);
            int64_t j = 0;
            for (int k = 0; k < small.ndim; k++) j = j * sd[k] + (sd[k] == 1 ? 0 : ix[k + drop]);
            want[j] += (double)(i * 7 % 13);
          }
          for (int64_t o = 0; o < p.nout && o < 81; o++)
            for (int64_t r = 0; r < p.R; r++) {
              int64_t at = mx_kc_red_kept(&p, o) + mx_kc_red_off(&p, r);
              got[o] += (double)(at * 7 % 13);
            }
          for (int64_t j = 0; j < m; j++)
            CHECK(got[j] == want[j], "sum_to element %lld: %g want %g", (long long)j, got[j], want[j]);
        }
    }
  }
  printf("reduction plans: %ld shape/mask pairs, %ld sum-to-shape pairs\n", cases, pairs);
}

/* ------------------------------------------------------- concat / slice */

static void apply_copy(int64_t *dst, const int64_t *src, mx_kc_copy2d c) {
  for (int64_t h = 0; h < c.height; h++)
    for (int64_t w = 0; w < c.width; w++)
      dst[c.dst_off + h * c.dst_pitch + w] = src[c.src_off + h * c.src_pitch + w];
}

static void test_concat(void) {
  long cases = 0;
  int64_t buf[4][256], out[1024], back[256];
  for (int nd = 1; nd <= 4; nd++)
    for (int ax = 0; ax < nd; ax++)
      for (int nin = 1; nin <= 3; nin++)
        for (int code = 0; code < 27; code++) {
          int64_t d[MX_MAX_DIM], ext[3];
          for (int k = 0; k < nd; k++) d[k] = 1 + (code + k) % 3;
          for (int j = 0; j < nin; j++) ext[j] = (code / (j + 1)) % 4;   /* 0..3 along ax */
          mx_shape ins[3], os;
          int64_t tot = 0;
          for (int j = 0; j < nin; j++) {
            int64_t dd[MX_MAX_DIM];
            memcpy(dd, d, sizeof dd);
            dd[ax] = ext[j];
            ins[j] = mk(nd, dd);
            tot += ext[j];
            for (int64_t i = 0; i < size_of(&ins[j]); i++) buf[j][i] = 1000 * (j + 1) + i;
          }
          int64_t od[MX_MAX_DIM];
          memcpy(od, d, sizeof od);
          od[ax] = tot;
          os = mk(nd, od);
          int64_t outer = 1, row = 0, start = 0;
          for (int k = 0; k < ax; k++) outer *= d[k];
          int64_t inner[3];
          for (int j = 0; j < nin; j++) {
            inner[j] = 1;
            for (int k = ax; k < nd; k++) inner[j] *= ins[j].d[k];
            row += inner[j];
          }
          for (int64_t i = 0; i < size_of(&os); i++) out[i] = -1;
          for (int j = 0; j < nin; j++) {
            apply_copy(out, buf[j], mx_kc_concat_part(outer, row, start, inner[j]));
            start += inner[j];
          }
          /* naive: output element at multi-index ix comes from the input
           * whose range along ax holds ix[ax] */
          int64_t ix[MX_MAX_DIM];
          for (int64_t i = 0; i < size_of(&os); i++) {
            unravel(&os, i, ix);
            int64_t a = ix[ax];
            int j = 0;
            while (a >= ext[j]) a -= ext[j++];
            int64_t lin = 0;
            for (int k = 0; k < nd; k++) lin = lin * ins[j].d[k] + (k == ax ? a : ix[k]);
            CHECK(out[i] == buf[j][lin], "concat nd %d ax %d elem %lld", nd, ax, (long long)i);
          }
          /* backward / SliceChannel: each part read back out */
          start = 0;
          for (int j = 0; j < nin; j++) {
            apply_copy(back, out, mx_kc_concat_part_back(outer, row, start, inner[j]));
            start += inner[j];
            for (int64_t i = 0; i < size_of(&ins[j]); i++)
              CHECK(back[i] == buf[j][i], "concat back nd %d ax %d part %d elem %lld", nd, ax, j,
                    (long long)i);
          }
          cases++;
        }
  printf("concat/slice copies: %ld cases\n", cases);
}

/* ------------------------------------------------ CPU kernels (engine) */

static const mx_op *find_op(const mx_op *tab, const char *name) {
  for (; tab->name; tab++)
    if (!strcmp(tab->name, name)) return tab;
  return NULL;
}

static mx_ndarray *arr(int nd, const int64_t *d, int dtype) {
  mx_shape s = mk(nd, d);
  mx_ndarray *a = NULL;
  mx_context cpu = {MX_CPU, 0};
  if (mx_ndarray_new(&s, dtype, cpu, &a)) return NULL;
  return a;
}
static double get(const mx_ndarray *a, int64_t i) { return mx_load_f64(MX_PTR(a), a->dtype, i); }
static void set(mx_ndarray *a, int64_t i, double v) { mx_store_f64(MX_PTR(a), a->dtype, i, v); }

static void setp(const mx_op *op, mx_param_value *p, const char *key, const char *val) {
  int i = mx_op_param_index(op, key);
  if (i < 0 || mx_op_param_set_str(op, p, i, val)) {
    printf("cannot set %s = %s on %s\n", key, val, op->name);
    exit(2);
  }
}

/* SoftmaxOutput: nn.c's backward vs mx_kc_so_* on the CPU's forward output */
static void test_softmax_output(void) {
  const mx_op *op = find_op(mx_ops_nn, "SoftmaxOutput");
  if (!op) { CHECK(0, "no SoftmaxOutput"); return; }
  long cases = 0;
  mx_op_ctx c;
  memset(&c, 0, sizeof c);
  c.nthreads = 1;
  c.ctx.dev_type = MX_CPU;
  for (int layout = 0; layout < 3; layout++)          /* plain, multi_output, preserve_shape */
    for (int dt = 0; dt < 2; dt++)
      for (int norm = 0; norm < 3; norm++)
        for (int useign = 0; useign < 2; useign++)
          for (int ograd = 0; ograd < 2; ograd++)
            for (int smooth = 0; smooth < 2; smooth++)
              for (int bad = 0; bad < 2; bad++) {
                int dtype = dt ? MX_FLOAT64 : MX_FLOAT32;
                int64_t dd[3], ld[2];
                int nd, lnd;
                if (layout == 0) { nd = 2; dd[0] = 4; dd[1] = 5; lnd = 1; ld[0] = 4; }
                else if (layout == 1) { nd = 3; dd[0] = 2; dd[1] = 4; dd[2] = 3; lnd = 2; ld[0] = 2; ld[1] = 3; }
                else { nd = 3; dd[0] = 2; dd[1] = 3; dd[2] = 4; lnd = 2; ld[0] = 2; ld[1] = 3; }
                mx_param_value p[MX_MAX_PARAMS];
                mx_op_params_init(op, p);
                setp(op, p, "multi_output", layout == 1 ? "True" : "False");
                setp(op, p, "preserve_shape", layout == 2 ? "True" : "False");
                setp(op, p, "normalization", norm == 0 ? "null" : norm == 1 ? "batch" : "valid");
                setp(op, p, "use_ignore", useign ? "True" : "False");
                setp(op, p, "out_grad", ograd ? "True" : "False");
                setp(op, p, "smooth_alpha", smooth ? "0.1" : "0");
                setp(op, p, "grad_scale", "0.75");
                setp(op, p, "ignore_label", "2");
                mx_ndarray *x = arr(nd, dd, dtype), *y = arr(nd, dd, dtype), *g = arr(nd, dd, dtype);
                mx_ndarray *lab = arr(lnd, ld, MX_FLOAT32), *dx = arr(nd, dd, dtype);
                mx_ndarray *dl = arr(lnd, ld, MX_FLOAT32);
                int64_t n = size_of(&x->shape), L = size_of(&lab->shape);
                for (int64_t i = 0; i < n; i++) {
                  set(x, i, (double)((i * 37) % 11) / 7.0 - 0.6);
                  set(g, i, 0.5 + (double)(i % 5) / 4.0);
                }
                int64_t outer = 0, K = 1, inner = 1;
                mx_kc_so_layout(layout == 1, layout == 2, &x->shape, &outer, &K, &inner);
                for (int64_t i = 0; i < L; i++) set(lab, i, (double)((i * 3) % K));
                if (bad) set(lab, L - 1, (double)K);          /* not a class */
                mx_ndarray *ins[2] = {x, lab}, *outs[1] = {y}, *ogs[1] = {g}, *igs[2] = {dx, dl};
                int req1[1] = {MX_REQ_WRITE}, req2[2] = {MX_REQ_WRITE, MX_REQ_WRITE};
                mx_status rc = op->cpu(&c, p, ins, 2, outs, 1, req1);
                CHECK(rc == MX_OK, "SoftmaxOutput forward: %s", mx_last_error());
                rc = op->backward(&c, p, ogs, 1, ins, 2, outs, igs, req2);
                /* the GPU formula, element by element */
                int64_t ign = mx_kc_sat_i64(2.0), valid = 0, invalid = 0;
                for (int64_t i = 0; i < L; i++) {
                  valid += mx_kc_so_valid(get(lab, i), ign);
                  invalid += mx_kc_so_label(get(lab, i), K, useign, ign) == -2;
                }
                CHECK((rc != MX_OK) == (invalid > 0), "invalid labels: CPU status %d, GPU flags %lld",
                      (int)rc, (long long)invalid);
                if (rc == MX_OK) {
                  double denom = mx_kc_so_denom(norm, layout == 1, outer, L, valid);
                  double alpha = smooth ? 0.1 : 0, on = 1 - alpha, off = K > 1 ? alpha / (double)(K - 1) : 0;
                  for (int64_t i = 0; i < n; i++) {
                    int64_t k, li = mx_kc_so_index(i, K, inner, &k);
                    int64_t l = mx_kc_so_label(get(lab, li), K, useign, ign);
                    double v = mx_kc_so_grad(get(y, i), l, k, on, off, 0.75 / denom,
                                             ograd ? get(g, i) : 1.0);
                    double want = get(dx, i);
                    double have = dtype == MX_FLOAT32 ? (double)(float)v : v;
                    CHECK(have == want, "SoftmaxOutput grad layout %d dt %d norm %d ign %d og %d elem %lld: %.9g want %.9g",
                          layout, dt, norm, useign, ograd, (long long)i, have, want);
                  }
                  for (int64_t i = 0; i < L; i++) CHECK(get(dl, i) == 0, "label gradient not 0");
                }
                mx_ndarray_free(x); mx_ndarray_free(y); mx_ndarray_free(g);
                mx_ndarray_free(lab); mx_ndarray_free(dx); mx_ndarray_free(dl);
                mx_error_clear();
                cases++;
              }
  printf("SoftmaxOutput gradients: %ld parameter mixes vs nn.c\n", cases);
}

/* Optimizers: optimizer.c's kernels vs mx_kc_update_* */
static void test_optimizers(void) {
  static const char *names[MX_KC_NUPD] = {"sgd_update", "sgd_mom_update", "nag_mom_update",
                                          "adam_update", "rmsprop_update", "rmspropalex_update",
                                          "adagrad_update", "adadelta_update"};
  long cases = 0;
  mx_op_ctx c;
  memset(&c, 0, sizeof c);
  c.nthreads = 1;
  c.ctx.dev_type = MX_CPU;
  for (int kind = 0; kind < MX_KC_NUPD; kind++) {
    const mx_op *op = find_op(mx_ops_optimizer, names[kind]);
    if (!op) { CHECK(0, "no %s", names[kind]); continue; }
    for (int dt = 0; dt < 2; dt++)
      for (int clip = 0; clip < 2; clip++)
        for (int wd = 0; wd < 2; wd++) {
          int dtype = dt ? MX_FLOAT64 : MX_FLOAT32;
          mx_param_value p[MX_MAX_PARAMS];
          mx_op_params_init(op, p);
          mx_kc_upd u;
          memset(&u, 0, sizeof u);
          /* every parameter the op has, set to a distinctive value */
          struct { const char *key; const char *val; double *field; } kv[] = {
            {"lr", "0.05", &u.lr}, {"wd", wd ? "0.01" : "0", &u.wd},
            {"rescale_grad", "0.5", &u.rs}, {"clip_gradient", clip ? "0.3" : "-1", &u.cg},
            {"momentum", "0.9", &u.mom}, {"beta1", "0.85", &u.b1}, {"beta2", "0.995", &u.b2},
            {"epsilon", "1e-06", &u.eps}, {"gamma1", "0.93", &u.g1}, {"gamma2", "0.8", &u.g2},
            {"clip_weights", clip ? "0.9" : "-1", &u.cw}, {"rho", "0.92", &u.rho}};
          for (size_t j = 0; j < sizeof kv / sizeof kv[0]; j++)
            if (mx_op_param_index(op, kv[j].key) >= 0) {
              setp(op, p, kv[j].key, kv[j].val);
              *kv[j].field = strtod(kv[j].val, NULL);
            }
          int ns = mx_kc_update_nstates(kind);
          int64_t n = 64, d1[1] = {64};
          mx_ndarray *in[5], *o = arr(1, d1, dtype);
          for (int j = 0; j < 2 + ns; j++) {
            in[j] = arr(1, d1, dtype);
            for (int64_t i = 0; i < n; i++)
              set(in[j], i, j == 0 ? (double)(i - 30) / 17 : j == 1 ? (double)((i * 13) % 23 - 11) / 5
                                  : (double)((i * 7 + j) % 9) / 10 + (j == 2 ? 1 : 0));
          }
          double w0[64], g0[64], s0[3][64];
          for (int64_t i = 0; i < n; i++) {
            w0[i] = get(in[0], i);
            g0[i] = get(in[1], i);
            for (int j = 0; j < ns; j++) s0[j][i] = get(in[2 + j], i);
          }
          mx_ndarray *outs[1] = {o};
          int req[1] = {MX_REQ_WRITE};
          mx_status rc = op->cpu(&c, p, in, 2 + ns, outs, 1, req);
          CHECK(rc == MX_OK, "%s: %s", names[kind], mx_last_error());
          for (int64_t i = 0; i < n; i++) {
            double nw, st[3];
            if (dtype == MX_FLOAT32) {
              float a = (float)s0[0][i], b = (float)s0[1][i], cc = (float)s0[2][i];
              nw = mx_kc_update_f32(kind, &u, (float)w0[i], (float)g0[i], &a, &b, &cc);
              st[0] = a; st[1] = b; st[2] = cc;
            } else {
              double a = s0[0][i], b = s0[1][i], cc = s0[2][i];
              nw = mx_kc_update_f64(kind, &u, w0[i], g0[i], &a, &b, &cc);
              st[0] = a; st[1] = b; st[2] = cc;
            }
            CHECK(same(nw, get(o, i)), "%s dt %d clip %d wd %d elem %lld: weight %.9g want %.9g",
                  names[kind], dt, clip, wd, (long long)i, nw, get(o, i));
            for (int j = 0; j < ns; j++)
              CHECK(same(st[j], get(in[2 + j], i)), "%s state %d elem %lld: %.9g want %.9g", names[kind], j,
                    (long long)i, st[j], get(in[2 + j], i));
          }
          for (int j = 0; j < 2 + ns; j++) mx_ndarray_free(in[j]);
          mx_ndarray_free(o);
          cases++;
        }
  }
  printf("optimizer updates: %ld cases vs optimizer.c\n", cases);
}

/* Philox: rng.c's fills vs the per-element samplers */
static void test_philox(void) {
  long cases = 0;
  for (int64_t n = 1; n <= 41; n += 5)
    for (uint64_t base = 0; base < 3; base++) {
      uint64_t seed = 0x123456789abcdefull + (uint64_t)n;
      float f[41];
      double d[41];
      mx_rng r = {seed, base};
      mx_rng_uniform_f32(&r, f, n, -2, 3);
      CHECK(r.counter == base + mx_kc_blocks_f32(n), "uniform_f32 counter");
      for (int64_t i = 0; i < n; i++)
        CHECK(f[i] == mx_kc_uniform_f32(seed, base, i, -2, 3), "uniform_f32 n %lld elem %lld", (long long)n, (long long)i);
      r.counter = base;
      mx_rng_uniform_f64(&r, d, n, -2, 3);
      CHECK(r.counter == base + mx_kc_blocks_f64(n), "uniform_f64 counter");
      for (int64_t i = 0; i < n; i++)
        CHECK(d[i] == mx_kc_uniform_f64(seed, base, i, -2, 3), "uniform_f64 elem %lld", (long long)i);
      r.counter = base;
      mx_rng_normal_f32(&r, f, n, 1, 2);
      CHECK(r.counter == base + mx_kc_blocks_f32(n), "normal_f32 counter");
      for (int64_t i = 0; i < n; i++)
        CHECK(f[i] == mx_kc_normal_f32(seed, base, i, 1, 2), "normal_f32 elem %lld", (long long)i);
      r.counter = base;
      mx_rng_normal_f64(&r, d, n, 1, 2);
      CHECK(r.counter == base + mx_kc_blocks_f64(n), "normal_f64 counter");
      for (int64_t i = 0; i < n; i++)
        CHECK(d[i] == mx_kc_normal_f64(seed, base, i, 1, 2), "normal_f64 elem %lld", (long long)i);
      cases++;
    }
  /* a known answer: Philox-4x32-10 of counter 0, key 0 (with rng.c's
   * constant third word) is fixed; determinism across calls */
  uint32_t a[4], b[4];
  mx_kc_philox(42, 7, a);
  mx_kc_philox(42, 7, b);
  CHECK(!memcmp(a, b, sizeof a), "philox is deterministic");
  mx_kc_philox(42, 8, b);
  CHECK(memcmp(a, b, sizeof a) != 0, "philox differs between counters");
  printf("Philox samplers: %ld fills vs rng.c\n", cases);
}

/* Dropout and rrelu masks: nn.c's training forward vs the GPU formulas */
static void test_masks(void) {
  const mx_op *dop = find_op(mx_ops_nn, "Dropout"), *lop = find_op(mx_ops_nn, "LeakyReLU");
  if (!dop || !lop) { CHECK(0, "no Dropout/LeakyReLU"); return; }
  long cases = 0;
  for (int dt = 0; dt < 2; dt++)
    for (int axes = 0; axes < 2; axes++) {
      int dtype = dt ? MX_FLOAT64 : MX_FLOAT32;
      mx_op_ctx c;
      memset(&c, 0, sizeof c);
      c.nthreads = 1;
      c.is_train = 1;
      c.ctx.dev_type = MX_CPU;
      c.rng.seed = 987654321ull + (uint64_t)dt;
      c.rng.counter = 11;
      mx_param_value p[MX_MAX_PARAMS];
      mx_op_params_init(dop, p);
      setp(dop, p, "p", "0.3");
      if (axes) setp(dop, p, "axes", "(1,)");
      int64_t d[3] = {3, 4, 5}, md[3] = {3, axes ? 1 : 4, 5};
      mx_ndarray *x = arr(3, d, dtype), *y = arr(3, d, dtype), *m = arr(3, md, dtype);
      for (int64_t i = 0; i < 60; i++) set(x, i, (double)i / 10 - 2);
      mx_ndarray *ins[1] = {x}, *outs[2] = {y, m};
      int req[2] = {MX_REQ_WRITE, MX_REQ_WRITE};
      CHECK(dop->cpu(&c, p, ins, 1, outs, 2, req) == MX_OK, "Dropout forward: %s", mx_last_error());
      double keep = 0.7, scale = 1 / keep;
      int64_t nm = size_of(&m->shape);
      for (int64_t i = 0; i < nm; i++) {
        double want = mx_kc_uniform_f32(c.rng.seed, c.rng.counter, i, 0, 1) < (float)keep
                          ? (dtype == MX_FLOAT32 ? (double)(float)scale : scale) : 0;
        CHECK(get(m, i) == want, "Dropout mask dt %d axes %d elem %lld: %g want %g", dt, axes,
              (long long)i, get(m, i), want);
      }
      /* y = x * m broadcast through the plan the kernel uses */
      mx_kc_bcast bp;
      mx_kc_bcast_make(&y->shape, &m->shape, &y->shape, &bp);
      for (int64_t i = 0; i < 60; i++) {
        int64_t ox, om;
        mx_kc_bcast_offsets(&bp, i, &ox, &om);
        double want = dtype == MX_FLOAT32 ? (double)((float)get(x, i) * (float)get(m, om))
                                          : get(x, i) * get(m, om);
        CHECK(get(y, i) == want, "Dropout output elem %lld", (long long)i);
      }
      mx_ndarray_free(x); mx_ndarray_free(y); mx_ndarray_free(m);
      /* rrelu */
      mx_op_params_init(lop, p);
      setp(lop, p, "act_type", "rrelu");
      int64_t ld[2] = {4, 6};
      mx_ndarray *lx = arr(2, ld, dtype), *ly = arr(2, ld, dtype), *lm = arr(2, ld, dtype);
      for (int64_t i = 0; i < 24; i++) set(lx, i, (double)i / 5 - 2);
      mx_ndarray *lins[2] = {lx, NULL}, *louts[2] = {ly, lm};
      CHECK(lop->cpu(&c, p, lins, 1, louts, 2, req) == MX_OK, "rrelu forward: %s", mx_last_error());
      for (int64_t i = 0; i < 24; i++) {
        double want = dtype == MX_FLOAT32 ? (double)mx_kc_uniform_f32(c.rng.seed, c.rng.counter, i, 0.125, 0.334)
                                          : mx_kc_uniform_f64(c.rng.seed, c.rng.counter, i, 0.125, 0.334);
        CHECK(get(lm, i) == want, "rrelu mask dt %d elem %lld: %.9g want %.9g", dt, (long long)i,
              get(lm, i), want);
      }
      mx_ndarray_free(lx); mx_ndarray_free(ly); mx_ndarray_free(lm);
      cases++;
    }
  printf("Dropout/rrelu masks: %ld cases vs nn.c\n", cases);
}

/* Strided moves: shape.c's kernels vs the gather plans */
static int move_case(const char *name, int nd, const int64_t *d, const char *k1, const char *v1,
                     const char *k2, const char *v2, const char *k3, const char *v3) {
  const mx_op *op = find_op(mx_ops_shape, name);
  if (!op) { CHECK(0, "no %s", name); return 0; }
  mx_param_value p[MX_MAX_PARAMS];
  mx_op_params_init(op, p);
  if (k1) setp(op, p, k1, v1);
  if (k2) setp(op, p, k2, v2);
  if (k3) setp(op, p, k3, v3);
  mx_shape is = mk(nd, d), os;
  os.ndim = -1;
  mx_status cst = op->infer_shape(p, 1, &is, 1, &os);
  mx_error_clear();
  /* the plan of the GPU launcher for this op */
  mx_kc_gather g;
  char msg[MX_KC_MSG];
  mx_status gst;
  int perm[MX_MAX_DIM];
  if (!strcmp(name, "transpose")) {
    gst = mx_kc_transpose_perm(&p[mx_op_param_index(op, "axes")], nd, perm, msg);
    if (!gst) mx_kc_plan_permute(&is, perm, &g);
  } else if (!strcmp(name, "SwapAxis")) {
    gst = mx_kc_swap_perm(&p[mx_op_param_index(op, "dim1")], &p[mx_op_param_index(op, "dim2")], nd,
                          perm, msg);
    if (!gst) mx_kc_plan_permute(&is, perm, &g);
  } else if (!strcmp(name, "slice")) {
    gst = mx_kc_plan_slice(&p[mx_op_param_index(op, "begin")], &p[mx_op_param_index(op, "end")],
                           &p[mx_op_param_index(op, "step")], &is, &g, msg);
  } else if (!strcmp(name, "slice_axis")) {
    gst = mx_kc_plan_slice_axis(&p[mx_op_param_index(op, "axis")], &p[mx_op_param_index(op, "begin")],
                                &p[mx_op_param_index(op, "end")], &is, &g, msg);
  } else if (!strcmp(name, "reverse")) {
    gst = mx_kc_plan_reverse(&p[mx_op_param_index(op, "axis")], &is, &g, msg);
  } else if (!strcmp(name, "tile")) {
    gst = mx_kc_plan_tile(&p[mx_op_param_index(op, "reps")], &is, &g, msg);
  } else {
    gst = mx_kc_plan_repeat(&p[mx_op_param_index(op, "repeats")], &p[mx_op_param_index(op, "axis")],
                            &is, &g, msg);
  }
  CHECK((cst != MX_OK) == (gst != MX_OK), "%s: CPU status %d, plan status %d (%s)", name, (int)cst,
        (int)gst, gst ? msg : "");
  if (cst || gst) return 1;
  CHECK(mx_kc_gather_size(&g) == size_of(&os), "%s: plan size %lld, output size %lld", name,
        (long long)mx_kc_gather_size(&g), (long long)size_of(&os));
  mx_ndarray *x = arr(is.ndim, is.d, MX_FLOAT64), *y = arr(os.ndim, os.d, MX_FLOAT64);
  mx_ndarray *dy = arr(os.ndim, os.d, MX_FLOAT64), *dx = arr(is.ndim, is.d, MX_FLOAT64);
  int64_t n = size_of(&is), m = size_of(&os);
  for (int64_t i = 0; i < n; i++) set(x, i, (double)i + 0.25);
  for (int64_t i = 0; i < m; i++) set(dy, i, (double)((i * 5) % 7) + 0.5);
  mx_op_ctx c;
  memset(&c, 0, sizeof c);
  c.nthreads = 1;
  c.ctx.dev_type = MX_CPU;
  mx_ndarray *ins[1] = {x}, *outs[1] = {y}, *ogs[1] = {dy}, *igs[1] = {dx};
  int req[1] = {MX_REQ_WRITE};
  CHECK(op->cpu(&c, p, ins, 1, outs, 1, req) == MX_OK, "%s forward: %s", name, mx_last_error());
  for (int64_t i = 0; i < m; i++)
    CHECK(get(y, i) == get(x, mx_kc_gather_at(&g, i)), "%s forward elem %lld", name, (long long)i);
  CHECK(op->backward(&c, p, ogs, 1, ins, 1, outs, igs, req) == MX_OK, "%s backward: %s", name,
        mx_last_error());
  /* the GPU backward, emulated */
  double want[4096];
  if (!strcmp(name, "tile")) {
    int tnd = 0;
    int64_t ish[MX_MAX_DIM], rep[MX_MAX_DIM];
    mx_kc_tile_dims(&p[mx_op_param_index(op, "reps")], &is, &tnd, ish, rep, msg);
    mx_kc_tileg t;
    mx_kc_tile_make(tnd, ish, rep, &t);
    for (int64_t e = 0; e < n; e++) {
      double acc = 0;
      for (int64_t q = 0; q < t.Rt; q++) acc += get(dy, mx_kc_tile_base(&t, e) + mx_kc_tile_roff(&t, q));
      want[e] = acc;
    }
  } else if (!strcmp(name, "repeat")) {
    const mx_param_value *ax = &p[mx_op_param_index(op, "axis")];
    int64_t r = p[mx_op_param_index(op, "repeats")].i, inner = 1;
    int a = 0;
    if (ax->is_set) {
      mx_kc_axis("axis", ax->i, nd, &a, msg);
      for (int k = a + 1; k < nd; k++) inner *= d[k];
    }
    for (int64_t q = 0; q < n; q++) {
      int64_t o = q / inner, i = q % inner;
      double acc = 0;
      for (int64_t j = 0; j < r; j++) acc += get(dy, (o * r + j) * inner + i);
      want[q] = acc;
    }
  } else if (!strcmp(name, "slice") || !strcmp(name, "slice_axis")) {
    for (int64_t i = 0; i < n; i++) want[i] = 0;
    for (int64_t i = 0; i < m; i++) want[mx_kc_gather_at(&g, i)] = get(dy, i);
  } else {
    /* transpose, SwapAxis: the inverse permutation; reverse: itself */
    mx_kc_gather gb;
    if (!strcmp(name, "reverse")) {
      mx_kc_plan_reverse(&p[mx_op_param_index(op, "axis")], &os, &gb, msg);
    } else {
      int inv[MX_MAX_DIM];
      for (int k = 0; k < nd; k++) inv[perm[k]] = k;
      mx_kc_plan_permute(&os, inv, &gb);
    }
    for (int64_t i = 0; i < n; i++) want[i] = get(dy, mx_kc_gather_at(&gb, i));
  }
  for (int64_t i = 0; i < n; i++)
    CHECK(get(dx, i) == want[i], "%s backward elem %lld: %g want %g", name, (long long)i, get(dx, i),
          want[i]);
  mx_ndarray_free(x); mx_ndarray_free(y); mx_ndarray_free(dy); mx_ndarray_free(dx);
  return 1;
}

static void test_moves(void) {
  long cases = 0;
  static const int64_t shapes[][4] = {{5, 0, 0, 0}, {2, 3, 0, 0}, {2, 3, 4, 0}, {2, 1, 3, 2}, {3, 0, 2, 0}};
  static const int nds[] = {1, 2, 3, 4, 3};
  char buf[64], b2[64], b3[64];
  for (int si = 0; si < 5; si++) {
    int nd = nds[si];
    const int64_t *d = shapes[si];
    /* transpose: every permutation (and the default), SwapAxis: every pair */
    cases += move_case("transpose", nd, d, NULL, NULL, NULL, NULL, NULL, NULL);
    int idx[4] = {0, 1, 2, 3};
    for (int a = 0; a < 24; a++) {
      int perm[4], used[4] = {0}, q = a;
      for (int k = 0; k < nd; k++) {
        int pick = q % (nd - k);
        q /= (nd - k);
        for (int j = 0; j < nd; j++)
          if (!used[j] && pick-- == 0) { perm[k] = idx[j]; used[j] = 1; break; }
      }
      if (q) break;
      int len = 0;
      len += snprintf(buf + len, sizeof buf - len, "(");
      for (int k = 0; k < nd; k++) len += snprintf(buf + len, sizeof buf - len, "%d,", perm[k]);
      snprintf(buf + len, sizeof buf - len, ")");
      cases += move_case("transpose", nd, d, "axes", buf, NULL, NULL, NULL, NULL);
    }
    cases += move_case("transpose", nd, d, "axes", "(0,0,0,0)", NULL, NULL, NULL, NULL);
    for (int a = -1; a <= nd; a++)
      for (int b = 0; b < nd; b++) {
        snprintf(buf, sizeof buf, "%d", a);
        snprintf(b2, sizeof b2, "%d", b);
        cases += move_case("SwapAxis", nd, d, "dim1", buf, "dim2", b2, NULL, NULL);
      }
    /* slice: begin/end/step mixes on the first one or two axes */
    static const char *bs[] = {"(None,)", "(1,)", "(-1,)", "(7,)", "(0,)"};
    static const char *es[] = {"(None,)", "(2,)", "(-1,)", "(0,)", "(9,)"};
    static const char *ss[] = {"()", "(None,)", "(1,)", "(2,)", "(-1,)", "(-2,)", "(0,)"};
    for (int i = 0; i < 5; i++)
      for (int j = 0; j < 5; j++)
        for (int k = 0; k < 7; k++)
          cases += move_case("slice", nd, d, "begin", bs[i], "end", es[j], "step", ss[k]);
    if (nd >= 2) {
      cases += move_case("slice", nd, d, "begin", "(None,1)", "end", "(None,None)", "step", "(-1,2)");
      cases += move_case("slice", nd, d, "begin", "(1,0)", "end", "(2,)", NULL, NULL);
    }
    /* slice_axis */
    for (int a = -1; a <= nd; a++)
      for (int b = -2; b <= 3; b++)
        for (int e = -3; e <= 4; e++) {
          snprintf(buf, sizeof buf, "%d", a);
          snprintf(b2, sizeof b2, "%d", b);
          snprintf(b3, sizeof b3, "%d", e);
          cases += move_case("slice_axis", nd, d, "axis", buf, "begin", b2, "end", e == 4 ? "None" : b3);
        }
    /* reverse: every axis subset, and a repeated axis */
    for (int m = 0; m < (1 << nd); m++) {
      int len = snprintf(buf, sizeof buf, "(");
      for (int k = 0; k < nd; k++)
        if ((m >> k) & 1) len += snprintf(buf + len, sizeof buf - len, "%d,", k);
      snprintf(buf + len, sizeof buf - len, ")");
      cases += move_case("reverse", nd, d, "axis", buf, NULL, NULL, NULL, NULL);
    }
    cases += move_case("reverse", nd, d, "axis", "(0,-1)", NULL, NULL, NULL, NULL);
    cases += move_case("reverse", nd, d, "axis", "(0,0)", NULL, NULL, NULL, NULL);
    /* tile and repeat */
    static const char *reps[] = {"(2,)", "(1,3)", "(2,1,2)", "(0,)", "(2,2,1,1,2)", "(-1,)"};
    for (int i = 0; i < 6; i++) cases += move_case("tile", nd, d, "reps", reps[i], NULL, NULL, NULL, NULL);
    for (int r = 0; r <= 2; r++) {
      snprintf(buf, sizeof buf, "%d", r);
      cases += move_case("repeat", nd, d, "repeats", buf, NULL, NULL, NULL, NULL);
      for (int a = -1; a <= nd; a++) {
        snprintf(b2, sizeof b2, "%d", a);
        cases += move_case("repeat", nd, d, "repeats", buf, "axis", b2, NULL, NULL);
      }
    }
  }
  printf("strided moves: %ld cases vs shape.c (forward, backward, errors)\n", cases);
}

/* index.c's take/pick/one_hot/where and nn.c's Crop vs the GPU formulas */
static mx_op_ctx cpu_ctx(void) {
  mx_op_ctx c;
  memset(&c, 0, sizeof c);
  c.nthreads = 1;
  c.ctx.dev_type = MX_CPU;
  return c;
}
/* an index as the GPU reads it */
static int64_t gpu_index(const mx_ndarray *a, int64_t i) {
  switch (a->dtype) {
    case MX_INT64: return MX_DATA(a, int64_t)[i];
    case MX_INT32: return MX_DATA(a, int32_t)[i];
    case MX_UINT8: return MX_DATA(a, uint8_t)[i];
    default: return mx_kc_index_f64(get(a, i));
  }
}
static void fill_indices(mx_ndarray *x, int64_t n, int salt) {
  static const double v[] = {0, 1.7, -1, 2, 5, -0.5, 3.99, 7, -6, 1};
  for (int64_t i = 0; i < n; i++) {
    double t = v[(i + salt) % 10];
    if (x->dtype == MX_UINT8 && t < 0) t = 200;
    if (x->dtype != MX_FLOAT32 && x->dtype != MX_FLOAT64) t = (double)(int64_t)t;
    set(x, i, t);
  }
  if (x->dtype == MX_FLOAT32 && n > 3) set(x, 3, NAN);
}

static void test_index(void) {
  long cases = 0;
  mx_op_ctx c = cpu_ctx();
  int req[3] = {MX_REQ_WRITE, MX_REQ_WRITE, MX_REQ_WRITE};
  static const int idts[] = {MX_FLOAT32, MX_INT32, MX_INT64, MX_UINT8};
  int64_t ad[3] = {3, 4, 2};
  /* take and pick */
  for (int ax = -1; ax < 3; ax++)
    for (int wrap = 0; wrap < 2; wrap++)
      for (int it = 0; it < 4; it++) {
        char abuf[8];
        snprintf(abuf, sizeof abuf, "%d", ax);
        int a = ax < 0 ? 2 : ax;
        int64_t outer = 1, len = ad[a], inner = 1;
        for (int k = 0; k < a; k++) outer *= ad[k];
        for (int k = a + 1; k < 3; k++) inner *= ad[k];
        /* take: indices (2, 3) */
        const mx_op *op = find_op(mx_ops_index, "take");
        mx_param_value p[MX_MAX_PARAMS];
        mx_op_params_init(op, p);
        setp(op, p, "axis", abuf);
        setp(op, p, "mode", wrap ? "wrap" : "clip");
        int64_t idd[2] = {2, 3}, ni = 6;
        mx_ndarray *x = arr(3, ad, MX_FLOAT64), *ind = arr(2, idd, idts[it]);
        for (int64_t i = 0; i < 24; i++) set(x, i, (double)i + 0.5);
        fill_indices(ind, ni, it);
        mx_shape sh[2] = {x->shape, ind->shape}, os;
        CHECK(op->infer_shape(p, 2, sh, 1, &os) == MX_OK, "take shape");
        mx_ndarray *y = arr(os.ndim, os.d, MX_FLOAT64), *dy = arr(os.ndim, os.d, MX_FLOAT64);
        mx_ndarray *dx = arr(3, ad, MX_FLOAT64), *di = arr(2, idd, idts[it]);
        int64_t m = size_of(&os);
        for (int64_t q = 0; q < m; q++) set(dy, q, (double)((q * 3) % 7) - 2.5);
        mx_ndarray *ins[2] = {x, ind}, *outs[1] = {y}, *ogs[1] = {dy}, *igs[2] = {dx, di};
        CHECK(op->cpu(&c, p, ins, 2, outs, 1, req) == MX_OK, "take: %s", mx_last_error());
        CHECK(op->backward(&c, p, ogs, 1, ins, 2, outs, igs, req) == MX_OK, "take grad: %s", mx_last_error());
        double want[64] = {0};
        for (int64_t q = 0; q < m; q++) {
          int64_t j, at = mx_kc_take_src(q, ni, len, inner, &j);
          at += mx_kc_index_fix(gpu_index(ind, j), len, wrap) * inner;
          CHECK(get(y, q) == get(x, at), "take ax %d wrap %d idt %d elem %lld", ax, wrap, it, (long long)q);
          want[at] += get(dy, q);
        }
        for (int64_t i = 0; i < 24; i++)
          CHECK(get(dx, i) == want[i], "take grad ax %d elem %lld: %g want %g", ax, (long long)i, get(dx, i), want[i]);
        mx_ndarray_free(y); mx_ndarray_free(dy); mx_ndarray_free(dx); mx_ndarray_free(di);
        mx_ndarray_free(ind);
        /* pick: index of the data's shape without the axis */
        op = find_op(mx_ops_index, "pick");
        mx_op_params_init(op, p);
        setp(op, p, "axis", abuf);
        setp(op, p, "mode", wrap ? "wrap" : "clip");
        int64_t pd[2], np = 0;
        for (int k = 0; k < 3; k++) if (k != a) pd[np++] = ad[k];
        ind = arr(2, pd, idts[it]);
        fill_indices(ind, outer * inner, it + 3);
        y = arr(2, pd, MX_FLOAT64); dy = arr(2, pd, MX_FLOAT64); dx = arr(3, ad, MX_FLOAT64);
        di = arr(2, pd, idts[it]);
        for (int64_t q = 0; q < outer * inner; q++) set(dy, q, (double)q + 0.25);
        ins[1] = ind; outs[0] = y; ogs[0] = dy; igs[0] = dx; igs[1] = di;
        CHECK(op->cpu(&c, p, ins, 2, outs, 1, req) == MX_OK, "pick: %s", mx_last_error());
        CHECK(op->backward(&c, p, ogs, 1, ins, 2, outs, igs, req) == MX_OK, "pick grad: %s", mx_last_error());
        for (int64_t i = 0; i < 24; i++) want[i] = 0;
        for (int64_t i = 0; i < outer * inner; i++) {
          int64_t at = mx_kc_pick_src(i, len, inner, mx_kc_index_fix(gpu_index(ind, i), len, wrap));
          CHECK(get(y, i) == get(x, at), "pick ax %d wrap %d idt %d elem %lld", ax, wrap, it, (long long)i);
          want[at] = get(dy, i);
        }
        for (int64_t i = 0; i < 24; i++) CHECK(get(dx, i) == want[i], "pick grad elem %lld", (long long)i);
        mx_ndarray_free(x); mx_ndarray_free(y); mx_ndarray_free(dy); mx_ndarray_free(dx);
        mx_ndarray_free(di); mx_ndarray_free(ind);
        cases += 2;
      }
  /* one_hot: the index test of the kernel, on/off converted as the dtype */
  static const int odts[] = {MX_FLOAT32, MX_FLOAT64, MX_UINT8, MX_INT32, MX_INT64};
  static const char *odn[] = {"float32", "float64", "uint8", "int32", "int64"};
  for (int ot = 0; ot < 5; ot++)
    for (int it = 0; it < 4; it++) {
      const mx_op *op = find_op(mx_ops_index, "one_hot");
      mx_param_value p[MX_MAX_PARAMS];
      mx_op_params_init(op, p);
      setp(op, p, "depth", "4");
      setp(op, p, "on_value", "300.7");
      setp(op, p, "off_value", "-2.5");
      setp(op, p, "dtype", odn[ot]);
      int64_t id1[1] = {10}, od[2] = {10, 4};
      mx_ndarray *ind = arr(1, id1, idts[it]), *y = arr(2, od, odts[ot]);
      fill_indices(ind, 10, it);
      mx_ndarray *ins[1] = {ind}, *outs[1] = {y};
      CHECK(op->cpu(&c, p, ins, 1, outs, 1, req) == MX_OK, "one_hot: %s", mx_last_error());
      mx_ndarray *ref = arr(1, id1, odts[ot]);
      mx_store_f64(MX_PTR(ref), odts[ot], 0, 300.7);
      mx_store_f64(MX_PTR(ref), odts[ot], 1, -2.5);
      for (int64_t q = 0; q < 40; q++) {
        int64_t i = q / 4, k = q % 4;
        double want = gpu_index(ind, i) == k ? get(ref, 0) : get(ref, 1);
        CHECK(get(y, q) == want, "one_hot dt %s idt %d elem %lld: %g want %g", odn[ot], it, (long long)q,
              get(y, q), want);
      }
      mx_ndarray_free(ind); mx_ndarray_free(y); mx_ndarray_free(ref);
      cases++;
    }
  /* where: same-shape and per-row conditions */
  for (int rows = 0; rows < 2; rows++)
    for (int cdt = 0; cdt < 2; cdt++) {
      const mx_op *op = find_op(mx_ops_index, "where");
      mx_param_value p[MX_MAX_PARAMS];
      mx_op_params_init(op, p);
      int64_t xd[2] = {4, 3}, cd[1] = {4};
      mx_ndarray *cnd = rows ? arr(1, cd, cdt ? MX_INT32 : MX_FLOAT32) : arr(2, xd, cdt ? MX_INT32 : MX_FLOAT32);
      mx_ndarray *x = arr(2, xd, MX_FLOAT64), *yy = arr(2, xd, MX_FLOAT64), *o = arr(2, xd, MX_FLOAT64);
      mx_ndarray *g = arr(2, xd, MX_FLOAT64), *dc = arr(cnd->shape.ndim, cnd->shape.d, cnd->dtype);
      mx_ndarray *dxx = arr(2, xd, MX_FLOAT64), *dyy = arr(2, xd, MX_FLOAT64);
      int64_t nc = size_of(&cnd->shape);
      for (int64_t i = 0; i < nc; i++) set(cnd, i, (i % 3 == 0) ? 0 : (i % 3 == 1 ? 2.5 : -1));
      if (!cdt) set(cnd, nc - 1, NAN);
      for (int64_t i = 0; i < 12; i++) { set(x, i, i); set(yy, i, -i - 1); set(g, i, 0.5 * i); }
      mx_ndarray *ins[3] = {cnd, x, yy}, *outs[1] = {o}, *ogs[1] = {g}, *igs[3] = {dc, dxx, dyy};
      CHECK(op->cpu(&c, p, ins, 3, outs, 1, req) == MX_OK, "where: %s", mx_last_error());
      CHECK(op->backward(&c, p, ogs, 1, ins, 3, outs, igs, req) == MX_OK, "where grad: %s", mx_last_error());
      int64_t row = rows ? 3 : 1;
      for (int64_t i = 0; i < 12; i++) {
        double cv = get(cnd, i / row);
        int t = cv != 0;   /* NaN is true */
        CHECK(get(o, i) == (t ? get(x, i) : get(yy, i)), "where rows %d elem %lld", rows, (long long)i);
        CHECK(get(dxx, i) == (t ? get(g, i) : 0) && get(dyy, i) == (t ? 0 : get(g, i)),
              "where grad rows %d elem %lld", rows, (long long)i);
      }
      mx_ndarray_free(cnd); mx_ndarray_free(x); mx_ndarray_free(yy); mx_ndarray_free(o);
      mx_ndarray_free(g); mx_ndarray_free(dc); mx_ndarray_free(dxx); mx_ndarray_free(dyy);
      cases++;
    }
  /* Crop: offsets and centring */
  static const char *offs[] = {"(0,0)", "(1,2)", "(2,0)"};
  for (int ctr = 0; ctr < 2; ctr++)
    for (int oi = 0; oi < 3; oi++) {
      const mx_op *op = find_op(mx_ops_nn, "Crop");
      mx_param_value p[MX_MAX_PARAMS];
      mx_op_params_init(op, p);
      setp(op, p, "num_args", "1");
      setp(op, p, "h_w", "(3,4)");
      setp(op, p, "offset", offs[oi]);
      setp(op, p, "center_crop", ctr ? "True" : "False");
      int64_t dd[4] = {2, 3, 5, 6}, od[4] = {2, 3, 3, 4};
      mx_ndarray *x = arr(4, dd, MX_FLOAT64), *y = arr(4, od, MX_FLOAT64), *g = arr(4, od, MX_FLOAT64);
      mx_ndarray *dx = arr(4, dd, MX_FLOAT64);
      for (int64_t i = 0; i < 180; i++) set(x, i, i);
      for (int64_t i = 0; i < 72; i++) set(g, i, 1000 + i);
      mx_ndarray *ins[1] = {x}, *outs[1] = {y}, *ogs[1] = {g}, *igs[1] = {dx};
      CHECK(op->cpu(&c, p, ins, 1, outs, 1, req) == MX_OK, "Crop: %s", mx_last_error());
      CHECK(op->backward(&c, p, ogs, 1, ins, 1, outs, igs, req) == MX_OK, "Crop grad: %s", mx_last_error());
      mx_kc_gather gp;
      mx_kc_plan_crop(&x->shape, 3, 4, ctr, &p[mx_op_param_index(op, "offset")], &gp);
      double want[180] = {0};
      for (int64_t i = 0; i < 72; i++) {
        CHECK(get(y, i) == get(x, mx_kc_gather_at(&gp, i)), "Crop ctr %d off %d elem %lld", ctr, oi, (long long)i);
        want[mx_kc_gather_at(&gp, i)] = get(g, i);
      }
      for (int64_t i = 0; i < 180; i++) CHECK(get(dx, i) == want[i], "Crop grad elem %lld", (long long)i);
      mx_ndarray_free(x); mx_ndarray_free(y); mx_ndarray_free(g); mx_ndarray_free(dx);
      cases++;
    }
  /* the float-index conversion against mx_convert */
  const double fv[] = {0, -0.9, 2.9, -3.5, 1e19, -1e19, NAN, 9.2233720368547748e18, 4e15 + 0.5};
  for (size_t i = 0; i < sizeof fv / sizeof fv[0]; i++) {
    int64_t w;
    mx_convert(&fv[i], MX_FLOAT64, &w, MX_INT64, 1);
    CHECK(mx_kc_index_f64(fv[i]) == w, "index of %g: %lld want %lld", fv[i], (long long)mx_kc_index_f64(fv[i]), (long long)w);
  }
  printf("index ops and Crop: %ld cases vs index.c / nn.c\n", cases);
}

/* saturating conversions vs mx-internal.h */
static void test_sat(void) {
  const double v[] = {-1e300, -9.3e18, -3e9, -2147483649.0, -2147483648.0, -129, -1.5, -0.5, 0,
                      0.5, 1.5, 254.5, 255, 256, 2147483647.0, 3e9, 9.3e18, 1e300, NAN,
                      INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    CHECK(mx_kc_sat_u8(v[i]) == mx_sat_u8(v[i]), "sat_u8(%g)", v[i]);
    CHECK(mx_kc_sat_i32(v[i]) == mx_sat_i32(v[i]), "sat_i32(%g)", v[i]);
    CHECK(mx_kc_sat_i64(v[i]) == mx_sat_i64(v[i]), "sat_i64(%g)", v[i]);
    uint8_t u;
    int32_t w;
    int64_t l;
    mx_store_f64(&u, MX_UINT8, 0, v[i]);
    mx_store_f64(&w, MX_INT32, 0, v[i]);
    mx_store_f64(&l, MX_INT64, 0, v[i]);
    CHECK(mx_kc_f2i(v[i], 0, 255) == u, "f2i u8(%g)", v[i]);
    CHECK(mx_kc_f2i(v[i], INT32_MIN, INT32_MAX) == w, "f2i i32(%g)", v[i]);
    CHECK(mx_kc_f2i(v[i], INT64_MIN, INT64_MAX) == l, "f2i i64(%g)", v[i]);
  }
}

int main(void) {
  test_grid();
  test_sat();
  test_bcast();
  test_reduce();
  test_concat();
  test_moves();
  test_index();
  test_softmax_output();
  test_optimizers();
  test_philox();
  test_masks();
  printf("%ld checks, %ld failures\n", checks, fails);
  return fails ? 1 : 0;
}
