/*
 * conv-kernels.c -- LeNet's convolution and pooling layers (batch 128) timed
 * at the kernel level, the way an executor calls them: one per-node state
 * slot (cached and tuned oneDNN primitives), forward, data gradient and
 * weight (+ bias) gradient separately.  Complements bench/conv-bench.R,
 * whose imperative backward always includes the data gradient.
 *
 * Build against the objects an in-tree install leaves in src/ and run:
 *   R CMD INSTALL -l .lib .
 *   gcc -O2 -fopenmp -Isrc -o /tmp/conv-kernels bench/conv-kernels.c \
 *       src/engine/[a-z]*.o src/ops/[a-z]*.o src/cuda-stub/[a-z]*.o -ldnnl -lz -lm
 *   /tmp/conv-kernels [threads] [reps]
 *   MXNET_CONV_IMPL=builtin /tmp/conv-kernels [threads] [reps]
 * (without oneDNN: drop -ldnnl, add the BLAS flags configure printed.)
 * Times are the minimum over reps calls after 8 warm-up calls (which build
 * and tune the primitives).
 */
#include "include/mx-op.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static mx_ndarray *arr(int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
  mx_shape s;
  memset(&s, 0, sizeof s);
  s.ndim = nd;
  s.d[0] = a; s.d[1] = b; s.d[2] = c; s.d[3] = d;
  mx_ndarray *r = NULL;
  mx_context cpu = {MX_CPU, 0};
  if (mx_ndarray_new(&s, MX_FLOAT32, cpu, &r)) return NULL;
  float *p = MX_DATA(r, float);
  uint32_t x = 12345;
  for (int64_t i = 0; i < mx_ndarray_size(r); i++) {
    x = x * 1664525u + 1013904223u;
    p[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
  }
  return r;
}

typedef mx_status (*step_fn)(void *);
typedef struct call {
  const mx_op *op;
  mx_param_value *p;
  mx_op_ctx *c;
  mx_ndarray **in, **out, **og, **ig;
  int nin, mode;               /* 0 forward, 1 data grad, 2 weight grad, 3 all grads */
} call;

static mx_status run(void *v) {
  call *k = (call *)v;
  int req[3] = {MX_REQ_WRITE, MX_REQ_WRITE, MX_REQ_WRITE};
  if (k->mode == 0) return k->op->cpu(k->c, k->p, k->in, k->nin, k->out, 1, req);
  mx_ndarray *ig[3] = {NULL, NULL, NULL};
  int rq[3] = {0, 0, 0};
  for (int j = 0; j < k->nin; j++) {
    int want = k->mode == 3 || (k->mode == 1 && j == 0) || (k->mode == 2 && j > 0);
    rq[j] = want ? MX_REQ_WRITE : MX_REQ_NULL;
    ig[j] = want ? k->ig[j] : NULL;
  }
  return k->op->backward(k->c, k->p, k->og, 1, k->in, k->nin, k->out, ig, rq);
}

static double best_ms(call *k, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps + 8; r++) {
    double t0 = now();
    if (run(k)) {
      fprintf(stderr, "error: %s\n", mx_last_error());
      exit(1);
    }
    double t = now() - t0;
    if (r >= 8 && t < best) best = t;
  }
  return best * 1e3;
}

int main(int argc, char **argv) {
  int nt = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 20;
  const char *impl = getenv("MXNET_CONV_IMPL") ? getenv("MXNET_CONV_IMPL") : "default";
  mx_engine_init();
  mx_threads_set(nt);
  for (int layer = 1; layer <= 4; layer++) {
    int conv = layer <= 2;
    const mx_op *op = mx_op_find(conv ? "Convolution" : "Pooling");
    mx_param_value p[16];
    mx_op_params_init(op, p);
    double two[2] = {2, 2}, five[2] = {5, 5}, F = layer == 1 ? 20 : 50;
    if (conv) {
      mx_op_param_set_nums(op, p, mx_op_param_index(op, "kernel"), five, 2);
      mx_op_param_set_nums(op, p, mx_op_param_index(op, "num_filter"), &F, 1);
    } else {
      mx_op_param_set_nums(op, p, mx_op_param_index(op, "kernel"), two, 2);
      mx_op_param_set_nums(op, p, mx_op_param_index(op, "stride"), two, 2);
    }
    mx_ndarray *in[3], *out[1], *og[1], *ig[3];
    int nin = conv ? 3 : 1;
    switch (layer) {
      case 1: in[0] = arr(4, 128, 1, 28, 28); in[1] = arr(4, 20, 1, 5, 5);
              in[2] = arr(1, 20, 0, 0, 0); out[0] = arr(4, 128, 20, 24, 24); break;
      case 2: in[0] = arr(4, 128, 20, 12, 12); in[1] = arr(4, 50, 20, 5, 5);
              in[2] = arr(1, 50, 0, 0, 0); out[0] = arr(4, 128, 50, 8, 8); break;
      case 3: in[0] = arr(4, 128, 20, 24, 24); out[0] = arr(4, 128, 20, 12, 12); break;
      default: in[0] = arr(4, 128, 50, 8, 8); out[0] = arr(4, 128, 50, 4, 4); break;
    }
    og[0] = arr(out[0]->shape.ndim, out[0]->shape.d[0], out[0]->shape.d[1], out[0]->shape.d[2],
                out[0]->shape.d[3]);
    for (int j = 0; j < nin; j++)
      ig[j] = arr(in[j]->shape.ndim, in[j]->shape.d[0], in[j]->shape.d[1], in[j]->shape.d[2],
                  in[j]->shape.d[3]);
    void *state = NULL;
    mx_op_ctx c;
    memset(&c, 0, sizeof c);
    c.nthreads = nt;
    c.ctx.dev_type = MX_CPU;
    c.is_train = 1;
    c.state = &state;
    call k = {op, p, &c, in, out, og, ig, nin, 0};
    static const char *const names[] = {"conv1", "conv2", "pool1", "pool2"};
    double t[4] = {0, 0, 0, 0};
    for (int m = 0; m < (conv ? 4 : 2); m++) {
      k.mode = conv ? m : (m == 0 ? 0 : 3);
      t[m] = best_ms(&k, reps);
    }
    if (conv)
      printf("%s %-8s threads %d: forward %6.2f  data grad %6.2f  weight+bias grad %6.2f  all grads %6.2f ms\n",
             names[layer - 1], impl, nt, t[0], t[1], t[2], t[3]);
    else
      printf("%s %-8s threads %d: forward %6.2f  data grad %6.2f ms\n", names[layer - 1], "C", nt,
             t[0], t[1]);
    if (op->state_free) op->state_free(state);
    for (int j = 0; j < nin; j++) { mx_ndarray_free(in[j]); mx_ndarray_free(ig[j]); }
    mx_ndarray_free(out[0]);
    mx_ndarray_free(og[0]);
  }
  return 0;
}
