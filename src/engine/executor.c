/*
 * executor.c -- bind a symbol to arrays: gradient construction, memory
 * planning, and running the planned steps.
 *
 * The executor turns the graph into a list of steps:
 *   FWD     run an op's forward kernel
 *   RECOMP  (mirror) run a forward kernel again during backward
 *   COPY    seed a gradient with a head gradient
 *   ZERO    an output gradient nobody contributes to
 *   BWD     run an op's backward kernel
 *   ACC     add a gradient contribution computed into a temporary
 * Every value a step reads or writes is a "buffer".  Buffers of arguments,
 * auxiliary states, user gradients and graph outputs are external or kept;
 * the others are planned: a single simulated run over the steps assigns each
 * one a memory block, reusing the block of an input whose last reader is
 * the current (in-place) op, or a block freed earlier (best fit by size).
 * Forward and backward are planned together, so values the backward pass
 * does not read are freed as soon as the forward pass is done with them.
 */
#include "../include/mx-executor.h"
#include "../include/mx-graph.h"

#include <stdlib.h>
#include <time.h>

enum { ST_FWD, ST_RECOMP, ST_COPY, ST_ZERO, ST_BWD, ST_ACC };

typedef struct buf {
  mx_shape shape;
  int dtype;
  int external;      /* given by the caller (args, aux, user grads)        */
  int keep;          /* planned alone and never reused (graph outputs)     */
  int first, last;   /* steps of the first write and the last read          */
  int block;
  mx_ndarray *arr;
} buf;

typedef struct step {
  int kind;
  int node;          /* topo index                                          */
  int phase;         /* 0 forward, 1 backward                               */
  int nin, nout;
  int *in;           /* FWD/RECOMP: inputs; BWD: forward inputs (-1 = not given) */
  int *out;          /* FWD/RECOMP: outputs; BWD: forward outputs            */
  int *og;           /* BWD: output gradients (-1 = none)                    */
  int *ig;           /* BWD: input gradients (-1 = none)                     */
  int *req;          /* BWD: per input                                       */
  int src, dst;      /* COPY/ACC: buffers; ZERO: dst                         */
  int head;          /* COPY: head index                                     */
  /* resolved arrays */
  mx_ndarray **a_in, **a_out, **a_og, **a_ig;
  int64_t calls;
  double seconds;
} step;

typedef struct block {
  size_t bytes;
  int live;
  mx_storage *st;
} block;

struct mx_executor {
  mx_context ctx;
  mx_symbol *sym;
  mx_node **order;
  int nnodes;
  void **state;            /* per node kernel state                         */
  buf *bufs;
  int nbufs, capbufs;
  step *steps;
  int nsteps, capsteps;
  int nfwd;                /* steps [0, nfwd) are the forward pass           */
  block *blocks;
  int nblocks;
  int nheads;
  int *head_buf;           /* forward buffer of each head                    */
  int *head_loss;          /* head produced by a loss op                     */
  int *head_grad_buf;      /* external buffer with the head gradient (-1)    */
  mx_ndarray **head_grad_arr; /* owned arrays holding head gradients         */
  mx_exec_memory mem;
  int profiling;
  int has_backward;
  uint64_t seed;
  int is_train;
  unsigned char *mirror_ok;  /* per node: recomputed in backward            */
  int is_random;             /* some forward op draws random numbers        */
};

/* ---------------------------------------------------------------- helpers */

static int new_buf(mx_executor *e, const mx_shape *s, int dtype, int external, int keep) {
  const mx_shape shape = *s;   /* s may point into e->bufs, which realloc may move */
  if (e->nbufs == e->capbufs) {
    int cap = e->capbufs ? e->capbufs * 2 : 64;
    buf *nb = (buf *)realloc(e->bufs, (size_t)cap * sizeof *nb);
    if (!nb) return -1;
    e->bufs = nb;
    e->capbufs = cap;
  }
  buf *b = &e->bufs[e->nbufs];
  memset(b, 0, sizeof *b);
  b->shape = shape;
  b->dtype = dtype;
  b->external = external;
  b->keep = keep;
  b->first = b->last = -1;
  b->block = -1;
  return e->nbufs++;
}

static step *new_step(mx_executor *e, int kind, int node, int phase) {
  if (e->nsteps == e->capsteps) {
    int cap = e->capsteps ? e->capsteps * 2 : 64;
    step *ns = (step *)realloc(e->steps, (size_t)cap * sizeof *ns);
    if (!ns) return NULL;
    e->steps = ns;
    e->capsteps = cap;
  }
  step *st = &e->steps[e->nsteps++];
  memset(st, 0, sizeof *st);
  st->kind = kind;
  st->node = node;
  st->phase = phase;
  st->src = st->dst = -1;
  st->head = -1;
  return st;
}

static int *ints(int n, int fill) {
  int *p = (int *)malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
  if (p)
    for (int i = 0; i < n; i++) p[i] = fill;
  return p;
}

static size_t buf_bytes(const buf *b) {
  return (size_t)mx_shape_size(&b->shape) * mx_dtype_size(b->dtype);
}

static void touch(buf *b, int s, int write) {
  if (write) {
    if (b->first < 0 || s < b->first) b->first = s;
    if (b->last < s) b->last = s;
  } else {
    if (b->last < s) b->last = s;
  }
}

void mx_executor_free(mx_executor *e) {
  if (!e) return;
  for (int i = 0; i < e->nnodes; i++)
    if (e->state && e->state[i] && e->order[i]->op && e->order[i]->op->state_free)
      e->order[i]->op->state_free(e->state[i]);
  free(e->state);
  for (int i = 0; i < e->nbufs; i++) mx_ndarray_free(e->bufs[i].arr);
  free(e->bufs);
  for (int i = 0; i < e->nsteps; i++) {
    step *s = &e->steps[i];
    free(s->in); free(s->out); free(s->og); free(s->ig); free(s->req);
    free(s->a_in); free(s->a_out); free(s->a_og); free(s->a_ig);
  }
  free(e->steps);
  for (int i = 0; i < e->nblocks; i++) mx_storage_release(e->blocks[i].st);
  free(e->blocks);
  if (e->head_grad_arr)
    for (int h = 0; h < e->nheads; h++) mx_ndarray_free(e->head_grad_arr[h]);
  free(e->head_grad_arr);
  free(e->head_buf);
  free(e->head_loss);
  free(e->head_grad_buf);
  free(e->order);
  free(e->mirror_ok);
  mx_symbol_free(e->sym);
  free(e);
}

/* Ops recomputed in backward under `mirror`: cheap, deterministic, no
 * auxiliary state (MXNet keeps Convolution, FullyConnected, Concat and the
 * losses; random ops must not resample). */
static int mirrorable(const mx_node *x) {
  if (!x->op || x->naux > 0) return 0;
  if (x->op->flags & (MX_OPF_RANDOM | MX_OPF_LOSS | MX_OPF_NO_MIRROR)) return 0;
  const char *n = x->op->name;
  if (!strcmp(n, "Convolution") || !strcmp(n, "Deconvolution") || !strcmp(n, "FullyConnected") ||
      !strcmp(n, "Concat") || !strcmp(n, "dot") || !strcmp(n, "batch_dot"))
    return 0;
  return 1;
}

/* Add a RECOMP step for node pi (after recomputing its mirrorable inputs,
 * so that chains of cheap ops are all recomputed from the last kept value). */
static mx_status recompute(mx_executor *e, const mx_node_index *ix, int **fwd, int **mir, int pi) {
  mx_node *x = e->order[pi];
  for (int j = 0; j < x->ninputs; j++) {
    int k = mx_node_index_get(ix, x->inputs[j].node);
    if (mir[k][0] < 0 && e->mirror_ok[k] && !e->bufs[fwd[k][x->inputs[j].index]].keep) {
      mx_status rc = recompute(e, ix, fwd, mir, k);
      if (rc) return rc;
    }
  }
  for (int k = 0; k < x->nout; k++) {
    buf *f = &e->bufs[fwd[pi][k]];
    mx_shape sh = f->shape;
    int dt = f->dtype;
    int b = new_buf(e, &sh, dt, 0, 0);
    if (b < 0) return mx_error(MX_ERR_NOMEM, "out of memory");
    mir[pi][k] = b;
  }
  step *rs = new_step(e, ST_RECOMP, pi, 1);
  if (!rs) return mx_error(MX_ERR_NOMEM, "out of memory");
  rs->nin = x->ninputs;
  rs->nout = x->nout;
  rs->in = ints(x->ninputs, -1);
  rs->out = ints(x->nout, -1);
  if (!rs->in || !rs->out) return mx_error(MX_ERR_NOMEM, "out of memory");
  for (int j = 0; j < x->ninputs; j++) {
    int k = mx_node_index_get(ix, x->inputs[j].node);
    int o = x->inputs[j].index;
    rs->in[j] = mir[k][o] >= 0 ? mir[k][o] : fwd[k][o];
  }
  for (int k = 0; k < x->nout; k++) rs->out[k] = mir[pi][k];
  e->mem.n_mirrored++;
  return MX_OK;
}

/* ------------------------------------------------------------------- bind */

mx_status mx_executor_bind(const mx_symbol *s, mx_context ctx,
                           mx_ndarray *const *args, int nargs,
                           mx_ndarray *const *grads, const int *grad_req,
                           mx_ndarray *const *aux, int naux,
                           const mx_exec_opts *opts_in, mx_executor **out) {
  *out = NULL;
  mx_exec_opts opts = opts_in ? *opts_in : (mx_exec_opts){1, 1, 0};
  mx_status rc = mx_context_check(ctx);
  if (rc) return rc;
  mx_executor *e = (mx_executor *)calloc(1, sizeof *e);
  if (!e) return mx_error(MX_ERR_NOMEM, "out of memory");
  e->ctx = ctx;
  mx_node_index *ix = NULL;
  unsigned char *isaux = NULL;
  int **fwd = NULL, **gbuf = NULL, **ncontrib = NULL, **rg = NULL, **mir = NULL;
  int *arg_of = NULL, *aux_of = NULL;
  char **argn = NULL, **auxn = NULL;
  int nargn = 0, nauxn = 0, n_nodes = 0;
  if ((rc = mx_symbol_copy(s, &e->sym))) goto fail;
  if ((rc = mx_graph_topo(s, &e->order, &e->nnodes))) goto fail;
  int n = e->nnodes;
  n_nodes = n;
  if ((rc = mx_node_index_new(e->order, n, &ix))) goto fail;
  isaux = (unsigned char *)malloc((size_t)(n > 0 ? n : 1));
  e->state = (void **)calloc((size_t)(n > 0 ? n : 1), sizeof(void *));
  fwd = (int **)calloc((size_t)(n > 0 ? n : 1), sizeof *fwd);
  gbuf = (int **)calloc((size_t)(n > 0 ? n : 1), sizeof *gbuf);
  ncontrib = (int **)calloc((size_t)(n > 0 ? n : 1), sizeof *ncontrib);
  rg = (int **)calloc((size_t)(n > 0 ? n : 1), sizeof *rg);
  mir = (int **)calloc((size_t)(n > 0 ? n : 1), sizeof *mir);
  arg_of = ints(n, -1);
  aux_of = ints(n, -1);
  if (!isaux || !e->state || !fwd || !gbuf || !ncontrib || !rg || !mir || !arg_of || !aux_of) {
    rc = mx_error(MX_ERR_NOMEM, "out of memory");
    goto fail;
  }
  mx_graph_aux_flags(e->order, n, ix, isaux);
  if ((rc = mx_symbol_list(s, 0, &argn, &nargn)) || (rc = mx_symbol_list(s, 2, &auxn, &nauxn))) goto fail;
  if (nargs != nargn) { rc = mx_error(MX_ERR_ARG, "the symbol has %d arguments, %d arrays were given", nargn, nargs); goto fail; }
  if (naux != nauxn) { rc = mx_error(MX_ERR_ARG, "the symbol has %d auxiliary states, %d arrays were given", nauxn, naux); goto fail; }
  {
    int ka = 0, kx = 0;
    for (int i = 0; i < n; i++) {
      if (e->order[i]->op) continue;
      if (isaux[i]) aux_of[i] = kx++;
      else arg_of[i] = ka++;
    }
  }
  /* check the arrays: device, and shapes/types consistent with inference */
  {
    const char **keys = (const char **)malloc((size_t)(nargs + 1) * sizeof(char *));
    mx_shape *shp = (mx_shape *)malloc((size_t)(nargs + 1) * sizeof(mx_shape));
    int *typ = ints(nargs + 1, 0);
    if (!keys || !shp || !typ) {
      free(keys); free(shp); free(typ);
      rc = mx_error(MX_ERR_NOMEM, "out of memory");
      goto fail;
    }
    for (int i = 0; i < nargs; i++) {
      if (!args[i]) { free(keys); free(shp); free(typ); rc = mx_error(MX_ERR_ARG, "argument '%s' has no array", argn[i]); goto fail; }
      keys[i] = argn[i];
      shp[i] = *mx_ndarray_shape(args[i]);
      typ[i] = mx_ndarray_dtype(args[i]);
      mx_context c = mx_ndarray_context(args[i]);
      if (c.dev_type != ctx.dev_type || c.dev_id != ctx.dev_id) {
        free(keys); free(shp); free(typ);
        rc = mx_error(MX_ERR_DEVICE, "argument '%s' is on another device than the executor", argn[i]);
        goto fail;
      }
    }
    mx_shape *as = NULL, *os = NULL, *xs = NULL;
    int na = 0, no = 0, nx = 0, complete = 0;
    rc = mx_symbol_infer_shape(s, keys, shp, nargs, &as, &na, &os, &no, &xs, &nx, &complete);
    if (rc == MX_OK && !complete)
      rc = mx_error(MX_ERR_SHAPE, "cannot infer every shape of the graph from the arguments");
    if (rc == MX_OK) {
      for (int i = 0; i < nargs && rc == MX_OK; i++)
        if (!mx_shape_equal(&as[i], mx_ndarray_shape(args[i]))) {
          char b1[128], b2[128];
          mx_shape_format(mx_ndarray_shape(args[i]), b1, sizeof b1);
          mx_shape_format(&as[i], b2, sizeof b2);
          rc = mx_error(MX_ERR_SHAPE, "argument '%s' has shape %s, the graph needs %s", argn[i], b1, b2);
        }
      for (int i = 0; i < naux && rc == MX_OK; i++) {
        if (!aux[i]) { rc = mx_error(MX_ERR_ARG, "auxiliary state '%s' has no array", auxn[i]); break; }
        if (!mx_shape_equal(&xs[i], mx_ndarray_shape(aux[i]))) {
          char b1[128], b2[128];
          mx_shape_format(mx_ndarray_shape(aux[i]), b1, sizeof b1);
          mx_shape_format(&xs[i], b2, sizeof b2);
          rc = mx_error(MX_ERR_SHAPE, "auxiliary state '%s' has shape %s, the graph needs %s", auxn[i], b1, b2);
        }
      }
    }
    mx_free(as); mx_free(os); mx_free(xs);
    int *at = NULL, *ot = NULL, *xt = NULL;
    if (rc == MX_OK)
      rc = mx_symbol_infer_type(s, keys, typ, nargs, &at, &na, &ot, &no, &xt, &nx);
    mx_free(at); mx_free(ot); mx_free(xt);
    free(keys); free(shp); free(typ);
    if (rc) goto fail;
  }

  /* forward values: shapes and types node by node */
  for (int i = 0; i < n; i++) {
    mx_node *x = e->order[i];
    fwd[i] = ints(x->nout, -1);
    gbuf[i] = ints(x->nout, -1);
    ncontrib[i] = ints(x->nout, 0);
    rg[i] = ints(x->nout, 0);
    mir[i] = ints(x->nout, -1);
    if (!fwd[i] || !gbuf[i] || !ncontrib[i] || !rg[i] || !mir[i]) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
    if (!x->op) {
      mx_ndarray *a = isaux[i] ? aux[aux_of[i]] : args[arg_of[i]];
      int b = new_buf(e, mx_ndarray_shape(a), mx_ndarray_dtype(a), 1, 1);
      if (b < 0) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
      if ((rc = mx_ndarray_view(a, &e->bufs[b].arr))) goto fail;
      fwd[i][0] = b;
      continue;
    }
    mx_shape in_s[MX_MAX_INPUTS], out_s[MX_MAX_OUTPUTS];
    int in_t[MX_MAX_INPUTS], out_t[MX_MAX_OUTPUTS];
    for (int j = 0; j < x->ninputs; j++) {
      int k = mx_node_index_get(ix, x->inputs[j].node);
      buf *b = &e->bufs[fwd[k][x->inputs[j].index]];
      in_s[j] = b->shape;
      in_t[j] = b->dtype;
    }
    for (int k = 0; k < x->nout; k++) { out_s[k].ndim = -1; out_t[k] = -1; }
    rc = x->op->infer_shape(x->params, x->ninputs, in_s, x->nout, out_s);
    if (rc == MX_OK) {
      mx_infer_type_fn f = x->op->infer_type ? x->op->infer_type : mx_infer_type_same;
      rc = f(x->params, x->ninputs, in_t, x->nout, out_t);
    }
    if (rc) { mx_error_prefix(rc, "%s (%s): ", x->name, x->op->name); goto fail; }
    if (!(x->op->flags & MX_OPF_F16))
      for (int k = 0; k < x->nout; k++)
        if (out_t[k] == MX_FLOAT16 || (x->ninputs > 0 && in_t[0] == MX_FLOAT16)) {
          rc = mx_error(MX_ERR_DTYPE, "%s (%s): executors do not run float16 through this op yet", x->name, x->op->name);
          goto fail;
        }
    if (!(ctx.dev_type == MX_CPU ? x->op->cpu : x->op->cuda)) {
      rc = mx_error(MX_ERR_UNSUPPORTED, "%s (%s): no kernel for this device in this build", x->name, x->op->name);
      goto fail;
    }
    for (int k = 0; k < x->nout; k++) {
      if (out_s[k].ndim < 0 || !mx_dtype_valid(out_t[k])) {
        rc = mx_error(MX_ERR_SHAPE, "%s (%s): could not infer output %d", x->name, x->op->name, k + 1);
        goto fail;
      }
      int b = new_buf(e, &out_s[k], out_t[k], 0, 0);
      if (b < 0) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
      fwd[i][k] = b;
    }
  }
  /* graph outputs are kept whole (the caller reads them after forward) */
  e->nheads = s->nheads;
  e->head_buf = ints(e->nheads, -1);
  e->head_loss = ints(e->nheads, 0);
  e->head_grad_buf = ints(e->nheads, -1);
  e->head_grad_arr = (mx_ndarray **)calloc((size_t)(e->nheads > 0 ? e->nheads : 1), sizeof(mx_ndarray *));
  if (!e->head_buf || !e->head_loss || !e->head_grad_buf || !e->head_grad_arr) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
  for (int h = 0; h < e->nheads; h++) {
    int k = mx_node_index_get(ix, s->heads[h].node);
    int b = fwd[k][s->heads[h].index];
    e->head_buf[h] = b;
    e->bufs[b].keep = 1;
    e->head_loss[h] = e->order[k]->op && (e->order[k]->op->flags & MX_OPF_LOSS);
  }

  /* forward steps */
  for (int i = 0; i < n; i++) {
    mx_node *x = e->order[i];
    if (!x->op) continue;
    step *st = new_step(e, ST_FWD, i, 0);
    if (!st) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
    st->nin = x->ninputs;
    st->nout = x->nout;
    st->in = ints(x->ninputs, -1);
    st->out = ints(x->nout, -1);
    if (!st->in || !st->out) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
    for (int j = 0; j < x->ninputs; j++) {
      int k = mx_node_index_get(ix, x->inputs[j].node);
      st->in[j] = fwd[k][x->inputs[j].index];
    }
    for (int k = 0; k < x->nout; k++) st->out[k] = fwd[i][k];
  }
  e->nfwd = e->nsteps;

  /* which values need gradients */
  int any_grad = 0;
  for (int i = 0; i < n; i++) {
    mx_node *x = e->order[i];
    if (!x->op) {
      if (!isaux[i] && grad_req && grad_req[arg_of[i]] != MX_GRAD_NULL) {
        rg[i][0] = 1;
        any_grad = 1;
      }
      continue;
    }
    int need = 0;
    for (int j = 0; j < x->ninputs - x->naux; j++) {
      int k = mx_node_index_get(ix, x->inputs[j].node);
      if (rg[k][x->inputs[j].index]) need = 1;
    }
    if (need && !x->op->backward) {
      rc = mx_error(MX_ERR_UNSUPPORTED, "%s (%s): this op has no gradient, but an input of it needs one "
                    "(set grad.req = \"null\" for the arguments before it, or use BlockGrad)",
                    x->name, x->op->name);
      goto fail;
    }
    if (need)
      for (int k = 0; k < x->nout; k++) rg[i][k] = 1;
  }
  e->has_backward = any_grad;
  for (int i = 0; i < n; i++)
    if (e->order[i]->op && (e->order[i]->op->flags & MX_OPF_RANDOM)) e->is_random = 1;

  if (any_grad) {
    /* contributions to every value's gradient: head gradients, then each
     * backward step (reverse topological order) that has it as an input */
    for (int h = 0; h < e->nheads; h++) {
      int k = mx_node_index_get(ix, s->heads[h].node);
      if (rg[k][s->heads[h].index] && !e->head_loss[h]) ncontrib[k][s->heads[h].index]++;
    }
    for (int i = n - 1; i >= 0; i--) {
      mx_node *x = e->order[i];
      if (!x->op || !rg[i][0]) continue;
      for (int j = 0; j < x->ninputs - x->naux; j++) {
        int k = mx_node_index_get(ix, x->inputs[j].node);
        if (rg[k][x->inputs[j].index]) ncontrib[k][x->inputs[j].index]++;
      }
    }
    /* gradient buffers */
    for (int i = 0; i < n; i++) {
      mx_node *x = e->order[i];
      if (!x->op) {
        if (!rg[i][0]) continue;
        int a = arg_of[i];
        if (!grads || !grads[a]) { rc = mx_error(MX_ERR_ARG, "argument '%s' needs a gradient array", argn[a]); goto fail; }
        if (!mx_shape_equal(mx_ndarray_shape(grads[a]), mx_ndarray_shape(args[a])) ||
            mx_ndarray_dtype(grads[a]) != mx_ndarray_dtype(args[a])) {
          rc = mx_error(MX_ERR_SHAPE, "the gradient array of '%s' does not match the argument", argn[a]);
          goto fail;
        }
        int b = new_buf(e, mx_ndarray_shape(grads[a]), mx_ndarray_dtype(grads[a]), 1, 1);
        if (b < 0) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
        if ((rc = mx_ndarray_view(grads[a], &e->bufs[b].arr))) goto fail;
        gbuf[i][0] = b;
        continue;
      }
      if (!rg[i][0]) continue;
      for (int k = 0; k < x->nvis; k++) {
        buf *f = &e->bufs[fwd[i][k]];
        int b = new_buf(e, &f->shape, f->dtype, 0, 0);
        if (b < 0) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
        gbuf[i][k] = b;
      }
    }
    /* head gradients: external arrays (ones unless the caller gives some) */
    for (int h = 0; h < e->nheads; h++) {
      int k = mx_node_index_get(ix, s->heads[h].node);
      int o = s->heads[h].index;
      if (e->head_loss[h] || !rg[k][o]) continue;
      buf *f = &e->bufs[fwd[k][o]];
      if ((rc = mx_ndarray_new_fill(&f->shape, f->dtype, ctx, 1.0, &e->head_grad_arr[h]))) goto fail;
      int b = new_buf(e, &f->shape, f->dtype, 1, 1);
      if (b < 0) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
      if ((rc = mx_ndarray_view(e->head_grad_arr[h], &e->bufs[b].arr))) goto fail;
      e->head_grad_buf[h] = b;
    }
    /* backward steps */
    int **done = (int **)calloc((size_t)n, sizeof *done);   /* contributions written so far */
    if (!done) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
    for (int i = 0; i < n && rc == MX_OK; i++)
      if (!(done[i] = ints(e->order[i]->nout, 0))) rc = mx_error(MX_ERR_NOMEM, "out of memory");
    for (int h = 0; h < e->nheads && rc == MX_OK; h++) {
      if (e->head_grad_buf[h] < 0) continue;
      int k = mx_node_index_get(ix, s->heads[h].node);
      int o = s->heads[h].index;
      step *st = new_step(e, ST_COPY, k, 1);
      if (!st) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); break; }
      st->head = h;
      st->src = e->head_grad_buf[h];
      int target = gbuf[k][o];
      int add_mode = !e->order[k]->op && grad_req[arg_of[k]] == MX_GRAD_ADD;
      if (done[k][o] > 0 || add_mode) {
        /* a second contribution (or ADD into the user's array) */
        st->kind = ST_ACC;
      }
      st->dst = target;
      done[k][o]++;
    }
    for (int i = n - 1; i >= 0 && rc == MX_OK; i--) {
      mx_node *x = e->order[i];
      if (!x->op || !rg[i][0]) continue;
      /* output gradients nobody contributed: zeros */
      for (int k = 0; k < x->nvis; k++)
        if (!(x->op->flags & MX_OPF_LOSS) && ncontrib[i][k] == 0) {
          step *z = new_step(e, ST_ZERO, i, 1);
          if (!z) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); break; }
          z->dst = gbuf[i][k];
        }
      if (rc) break;
      unsigned char need_in[MX_MAX_INPUTS], need_out[MX_MAX_OUTPUTS], need_og[MX_MAX_OUTPUTS];
      memset(need_in, 1, sizeof need_in);
      memset(need_out, 1, sizeof need_out);
      memset(need_og, 1, sizeof need_og);
      if (x->op->backward_deps) x->op->backward_deps(x->params, x->ninputs, x->nout, need_in, need_out, need_og);
      step *st = new_step(e, ST_BWD, i, 1);
      if (!st) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); break; }
      st->nin = x->ninputs;
      st->nout = x->nout;
      st->in = ints(x->ninputs, -1);
      st->out = ints(x->nout, -1);
      st->og = ints(x->nout, -1);
      st->ig = ints(x->ninputs, -1);
      st->req = ints(x->ninputs, MX_REQ_NULL);
      if (!st->in || !st->out || !st->og || !st->ig || !st->req) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); break; }
      for (int j = 0; j < x->ninputs; j++)
        if (need_in[j]) {
          int k = mx_node_index_get(ix, x->inputs[j].node);
          st->in[j] = fwd[k][x->inputs[j].index];
        }
      for (int k = 0; k < x->nout; k++) {
        if (need_out[k]) st->out[k] = fwd[i][k];
        if (k < x->nvis && need_og[k] && !(x->op->flags & MX_OPF_LOSS)) st->og[k] = gbuf[i][k];
      }
      /* input gradients: straight into the value's gradient buffer for the
       * first contribution, else into a temporary added afterwards */
      int acc_src[MX_MAX_INPUTS], acc_dst[MX_MAX_INPUTS], nacc = 0;
      for (int j = 0; j < x->ninputs - x->naux; j++) {
        int k = mx_node_index_get(ix, x->inputs[j].node);
        int o = x->inputs[j].index;
        if (!rg[k][o]) continue;
        int target = gbuf[k][o];
        int add_mode = !e->order[k]->op && grad_req[arg_of[k]] == MX_GRAD_ADD;
        /* the same value twice as an input of this op */
        int dup = 0;
        for (int q = 0; q < j; q++)
          if (x->inputs[q].node == x->inputs[j].node && x->inputs[q].index == o) dup = 1;
        st->req[j] = MX_REQ_WRITE;
        if (done[k][o] == 0 && !add_mode && !dup) {
          st->ig[j] = target;
        } else {
          buf *tb = &e->bufs[target];
          int t = new_buf(e, &tb->shape, tb->dtype, 0, 0);
          if (t < 0) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); break; }
          st = &e->steps[e->nsteps - 1];   /* (bufs realloc does not move steps) */
          st->ig[j] = t;
          acc_src[nacc] = t;
          acc_dst[nacc] = target;
          nacc++;
        }
        done[k][o]++;
      }
      for (int a = 0; a < nacc && rc == MX_OK; a++) {
        step *ac = new_step(e, ST_ACC, i, 1);
        if (!ac) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); break; }
        ac->src = acc_src[a];
        ac->dst = acc_dst[a];
      }
    }
    for (int i = 0; i < n; i++) free(done[i]);
    free(done);
    if (rc) goto fail;
  }

  /* mirror: recompute cheap forward values right before the first backward
   * step that reads them, so the forward copies die early */
  if (opts.mirror && any_grad) {
    /* which nodes to recompute: the mirrorable ones, except every k-th of
     * them (k ~ sqrt(count)), kept as checkpoints so that recomputation
     * restarts from there: O(sqrt(n)) values alive instead of O(n) */
    e->mirror_ok = (unsigned char *)calloc((size_t)(n > 0 ? n : 1), 1);
    if (!e->mirror_ok) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
    int cnt = 0;
    for (int i = 0; i < n; i++) if (mirrorable(e->order[i])) cnt++;
    int every = 1;
    while (every * every < cnt) every++;
    int seen_m = 0;
    for (int i = 0; i < n; i++) {
      if (!mirrorable(e->order[i])) continue;
      seen_m++;
      e->mirror_ok[i] = (every > 1 && seen_m % every == 0) ? 0 : 1;
    }
    /* rebuild the backward part with RECOMP steps inserted */
    int nb = e->nsteps - e->nfwd;
    step *bsteps = (step *)malloc((size_t)(nb > 0 ? nb : 1) * sizeof(step));
    if (!bsteps) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
    memcpy(bsteps, e->steps + e->nfwd, (size_t)nb * sizeof(step));
    e->nsteps = e->nfwd;
    for (int q = 0; q < nb && rc == MX_OK; q++) {
      step *bs = &bsteps[q];
      if (bs->kind == ST_BWD) {
        /* every forward value this step reads that a mirrorable node made */
        int vals[2 * MX_MAX_INPUTS + MX_MAX_OUTPUTS], nv = 0;
        for (int j = 0; j < bs->nin; j++) if (bs->in[j] >= 0) vals[nv++] = bs->in[j];
        for (int k = 0; k < bs->nout; k++) if (bs->out[k] >= 0) vals[nv++] = bs->out[k];
        for (int v = 0; v < nv && rc == MX_OK; v++) {
          /* find the producer of vals[v] */
          int pi = -1, pk = -1;
          for (int i = 0; i < n && pi < 0; i++)
            for (int k = 0; k < e->order[i]->nout; k++)
              if (fwd[i][k] == vals[v]) { pi = i; pk = k; }
          if (pi < 0 || !e->mirror_ok[pi] || e->bufs[vals[v]].keep) continue;
          if (mir[pi][0] < 0 && (rc = recompute(e, ix, fwd, mir, pi))) break;
          /* the backward step reads the recomputed copy */
          for (int j = 0; j < bs->nin; j++) if (bs->in[j] == vals[v]) bs->in[j] = mir[pi][pk];
          for (int k = 0; k < bs->nout; k++) if (bs->out[k] == vals[v]) bs->out[k] = mir[pi][pk];
        }
      }
      if (rc) break;
      step *ns = new_step(e, bs->kind, bs->node, 1);
      if (!ns) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); break; }
      *ns = *bs;
    }
    if (rc) {
      /* steps not yet moved back still own their arrays */
      for (int q = 0; q < nb; q++) {
        int moved = 0;
        for (int t = e->nfwd; t < e->nsteps; t++) if (e->steps[t].in == bsteps[q].in && bsteps[q].in) moved = 1;
        if (!moved) { free(bsteps[q].in); free(bsteps[q].out); free(bsteps[q].og); free(bsteps[q].ig); free(bsteps[q].req); }
      }
      free(bsteps);
      goto fail;
    }
    free(bsteps);
  }

  /* lifetimes */
  for (int t = 0; t < e->nsteps; t++) {
    step *st = &e->steps[t];
    switch (st->kind) {
      case ST_FWD: case ST_RECOMP:
        for (int j = 0; j < st->nin; j++) touch(&e->bufs[st->in[j]], t, 0);
        for (int k = 0; k < st->nout; k++) touch(&e->bufs[st->out[k]], t, 1);
        break;
      case ST_BWD:
        for (int j = 0; j < st->nin; j++) if (st->in[j] >= 0) touch(&e->bufs[st->in[j]], t, 0);
        for (int k = 0; k < st->nout; k++) {
          if (st->out[k] >= 0) touch(&e->bufs[st->out[k]], t, 0);
          if (st->og[k] >= 0) touch(&e->bufs[st->og[k]], t, 0);
        }
        for (int j = 0; j < st->nin; j++) if (st->ig[j] >= 0) touch(&e->bufs[st->ig[j]], t, 1);
        break;
      case ST_COPY:
        touch(&e->bufs[st->src], t, 0);
        touch(&e->bufs[st->dst], t, 1);
        break;
      case ST_ACC:
        touch(&e->bufs[st->src], t, 0);
        touch(&e->bufs[st->dst], t, 0);
        touch(&e->bufs[st->dst], t, 1);
        break;
      case ST_ZERO:
        touch(&e->bufs[st->dst], t, 1);
        break;
    }
  }

  /* plan: one simulated run assigning blocks */
  {
    int cap = 64;
    e->blocks = (block *)calloc((size_t)cap, sizeof(block));
    int *freelist = ints(e->nbufs, -1);
    int nfree = 0;
    if (!e->blocks || !freelist) { free(freelist); rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
    /* buffers by first step, outputs largest first */
    for (int t = 0; t < e->nsteps && rc == MX_OK; t++) {
      step *st = &e->steps[t];
      int cand[MX_MAX_INPUTS + MX_MAX_OUTPUTS], nc = 0;
      for (int b = 0; b < e->nbufs; b++)
        if (e->bufs[b].first == t && !e->bufs[b].external && nc < MX_MAX_INPUTS + MX_MAX_OUTPUTS) cand[nc++] = b;
      /* largest first */
      for (int a = 1; a < nc; a++)
        for (int c = a; c > 0 && buf_bytes(&e->bufs[cand[c]]) > buf_bytes(&e->bufs[cand[c - 1]]); c--) {
          int tmp = cand[c]; cand[c] = cand[c - 1]; cand[c - 1] = tmp;
        }
      for (int c = 0; c < nc && rc == MX_OK; c++) {
        buf *b = &e->bufs[cand[c]];
        size_t need = buf_bytes(b);
        int chosen = -1;
        if (opts.plan_memory && !b->keep) {
          /* in place: forward output k of an element-wise op over input k,
           * or a single-input op's input gradient over its output gradient */
          if (opts.inplace) {
            const mx_node *x = e->order[st->node];
            int src = -1;
            if ((st->kind == ST_FWD || st->kind == ST_RECOMP) && x->op && (x->op->flags & MX_OPF_INPLACE))
              for (int k = 0; k < st->nout && k < st->nin; k++)
                if (st->out[k] == cand[c]) src = st->in[k];
            if (st->kind == ST_BWD && x->op && (x->op->flags & MX_OPF_INPLACE) &&
                x->ninputs - x->naux == 1 && st->ig[0] == cand[c])
              src = st->og[0];
            if (src >= 0) {
              buf *sb = &e->bufs[src];
              if (!sb->external && !sb->keep && sb->block >= 0 && sb->last == t &&
                  buf_bytes(sb) == need && sb->dtype == b->dtype) {
                /* nothing else in this step may read src after the write:
                 * only element-wise ops qualify (checked above) */
                chosen = sb->block;
                e->mem.n_inplace++;
              }
            }
          }
          if (chosen < 0) {
            /* best fit among free blocks: the smallest >= need, else the
             * largest within 1/16 of need (grown) */
            int best = -1, bigsmall = -1;
            for (int f = 0; f < nfree; f++) {
              block *bl = &e->blocks[freelist[f]];
              if (bl->bytes >= need) {
                if (best < 0 || bl->bytes < e->blocks[freelist[best]].bytes) best = f;
              } else if (bl->bytes * 16 >= need) {
                if (bigsmall < 0 || bl->bytes > e->blocks[freelist[bigsmall]].bytes) bigsmall = f;
              }
            }
            int pick = best >= 0 ? best : bigsmall;
            if (pick >= 0) {
              chosen = freelist[pick];
              freelist[pick] = freelist[--nfree];
              if (e->blocks[chosen].bytes < need) e->blocks[chosen].bytes = need;
            }
          }
        }
        if (chosen < 0) {
          if (e->nblocks == cap) {
            block *nb = (block *)realloc(e->blocks, (size_t)cap * 2 * sizeof(block));
            if (!nb) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); break; }
            memset(nb + cap, 0, (size_t)cap * sizeof(block));
            e->blocks = nb;
            cap *= 2;
          }
          chosen = e->nblocks++;
          e->blocks[chosen].bytes = need;
          e->blocks[chosen].live = 0;
        }
        b->block = chosen;
        e->blocks[chosen].live++;
        e->mem.unplanned_bytes += (int64_t)need;
        e->mem.n_buffers++;
      }
      /* release buffers whose last reader is this step */
      for (int b = 0; b < e->nbufs; b++) {
        buf *bb = &e->bufs[b];
        if (bb->external || bb->keep || bb->block < 0 || bb->last != t) continue;
        if (--e->blocks[bb->block].live == 0 && opts.plan_memory) freelist[nfree++] = bb->block;
      }
    }
    free(freelist);
    if (rc) goto fail;
  }
  /* allocate the blocks and the views */
  for (int i = 0; i < e->nblocks; i++) {
    size_t bytes = e->blocks[i].bytes ? e->blocks[i].bytes : 1;
    if ((rc = mx_storage_alloc(bytes, ctx, &e->blocks[i].st))) goto fail;
    e->mem.planned_bytes += (int64_t)e->blocks[i].bytes;
  }
  e->mem.n_blocks = e->nblocks;
  for (int b = 0; b < e->nbufs; b++) {
    buf *bb = &e->bufs[b];
    if (bb->external || bb->arr) {
      e->mem.external_bytes += (int64_t)buf_bytes(bb);
      continue;
    }
    if (bb->block < 0) continue;     /* never used */
    if ((rc = mx_ndarray_on_storage(e->blocks[bb->block].st, 0, &bb->shape, bb->dtype, ctx, &bb->arr))) goto fail;
  }
  /* resolve step arrays */
  for (int t = 0; t < e->nsteps; t++) {
    step *st = &e->steps[t];
    if (st->kind == ST_FWD || st->kind == ST_RECOMP || st->kind == ST_BWD) {
      st->a_in = (mx_ndarray **)calloc((size_t)(st->nin > 0 ? st->nin : 1), sizeof(mx_ndarray *));
      st->a_out = (mx_ndarray **)calloc((size_t)(st->nout > 0 ? st->nout : 1), sizeof(mx_ndarray *));
      if (!st->a_in || !st->a_out) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
      for (int j = 0; j < st->nin; j++) st->a_in[j] = st->in[j] >= 0 ? e->bufs[st->in[j]].arr : NULL;
      for (int k = 0; k < st->nout; k++) st->a_out[k] = st->out[k] >= 0 ? e->bufs[st->out[k]].arr : NULL;
    }
    if (st->kind == ST_BWD) {
      st->a_og = (mx_ndarray **)calloc((size_t)(st->nout > 0 ? st->nout : 1), sizeof(mx_ndarray *));
      st->a_ig = (mx_ndarray **)calloc((size_t)(st->nin > 0 ? st->nin : 1), sizeof(mx_ndarray *));
      if (!st->a_og || !st->a_ig) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto fail; }
      for (int k = 0; k < st->nout; k++) st->a_og[k] = st->og[k] >= 0 ? e->bufs[st->og[k]].arr : NULL;
      for (int j = 0; j < st->nin; j++) st->a_ig[j] = st->ig[j] >= 0 ? e->bufs[st->ig[j]].arr : NULL;
    }
    if (st->phase == 0) e->mem.n_steps_forward++;
    else e->mem.n_steps_backward++;
  }
  goto done;

fail:
  mx_executor_free(e);
  e = NULL;
done:
  for (int i = 0; i < n_nodes; i++) {
    if (fwd) free(fwd[i]);
    if (gbuf) free(gbuf[i]);
    if (ncontrib) free(ncontrib[i]);
    if (rg) free(rg[i]);
    if (mir) free(mir[i]);
  }
  free(fwd); free(gbuf); free(ncontrib); free(rg); free(mir);
  mx_node_index_free(ix);
  free(isaux);
  mx_string_list_free(argn, nargn);
  mx_string_list_free(auxn, nauxn);
  free(arg_of);
  free(aux_of);
  if (rc == MX_OK) *out = e;
  return rc;
}

/* -------------------------------------------------------------------- run */

static double now_seconds(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* dst += src (same shape, float types) */
static mx_status add_into(mx_ndarray *dst, const mx_ndarray *src) {
  int64_t n = mx_ndarray_size(dst);
  MX_FLOAT_SWITCH(mx_ndarray_dtype(dst), T, {
    T *d = (T *)mx_ndarray_data(dst);
    const T *a = (const T *)mx_ndarray_data(src);
    int nt = mx_par_threads(n);
    MX_OMP_FOR(nt)
    for (int64_t i = 0; i < n; i++) d[i] += a[i];
  });
  return MX_OK;
}

static mx_status run_step(mx_executor *e, int t) {
  step *st = &e->steps[t];
  mx_node *x = e->order[st->node];
  mx_op_ctx kc;
  kc.nthreads = mx_threads_get();
  /* one stream per node and call: forward and recomputation draw the same */
  mx_rng_init(&kc.rng, e->seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(st->node + 1)));
  kc.ctx = e->ctx;
  kc.is_train = e->is_train;
  kc.state = &e->state[st->node];
  mx_status rc = MX_OK;
  switch (st->kind) {
    case ST_FWD:
    case ST_RECOMP: {
      int req[MX_MAX_OUTPUTS];
      for (int k = 0; k < st->nout; k++) req[k] = MX_REQ_WRITE;
      mx_compute_fn f = e->ctx.dev_type == MX_CPU ? x->op->cpu : x->op->cuda;
      rc = f(&kc, x->params, st->a_in, st->nin, st->a_out, st->nout, req);
      break;
    }
    case ST_BWD: {
      mx_backward_fn f = e->ctx.dev_type == MX_CPU ? x->op->backward : x->op->backward_cuda;
      if (!f) return mx_error(MX_ERR_UNSUPPORTED, "%s (%s): no gradient kernel for this device", x->name, x->op->name);
      rc = f(&kc, x->params, st->a_og, st->nout, st->a_in, st->nin, st->a_out, st->a_ig, st->req);
      break;
    }
    case ST_COPY:
      rc = mx_ndarray_copy_into(e->bufs[st->src].arr, e->bufs[st->dst].arr);
      break;
    case ST_ACC:
      rc = add_into(e->bufs[st->dst].arr, e->bufs[st->src].arr);
      break;
    case ST_ZERO:
      rc = mx_ndarray_fill(e->bufs[st->dst].arr, 0);
      break;
  }
  if (rc) {
    if (x->op) mx_error_prefix(rc, "%s (%s%s): ", x->name, x->op->name, st->kind == ST_BWD ? ", backward" : "");
    else mx_error_prefix(rc, "%s: ", x->name);
  }
  return rc;
}

static mx_status run_range(mx_executor *e, int from, int to) {
  for (int t = from; t < to; t++) {
    if (mx_abort_requested()) return mx_error(MX_ERR_ABORTED, "interrupted");
    double t0 = e->profiling ? now_seconds() : 0;
    mx_status rc = run_step(e, t);
    if (rc) return rc;
    if (e->profiling) {
      e->steps[t].seconds += now_seconds() - t0;
      e->steps[t].calls++;
    }
  }
  return MX_OK;
}

mx_status mx_executor_forward(mx_executor *e, int is_train, uint64_t seed) {
  e->is_train = is_train;
  e->seed = seed;
  return run_range(e, 0, e->nfwd);
}

mx_status mx_executor_backward(mx_executor *e, mx_ndarray *const *head_grads, int n) {
  if (!e->has_backward)
    return mx_error(MX_ERR_ARG, "nothing to differentiate: every argument has grad.req \"null\"");
  if (head_grads && n != e->nheads)
    return mx_error(MX_ERR_ARG, "backward needs %d output gradient%s, got %d", e->nheads,
                    e->nheads == 1 ? "" : "s", n);
  for (int h = 0; h < e->nheads; h++) {
    if (!e->head_grad_arr[h]) continue;
    if (head_grads && head_grads[h]) {
      mx_status rc = mx_ndarray_copy_into(head_grads[h], e->head_grad_arr[h]);
      if (rc) return mx_error_prefix(rc, "output gradient %d: ", h + 1);
    } else {
      mx_status rc = mx_ndarray_fill(e->head_grad_arr[h], 1.0);
      if (rc) return rc;
    }
  }
  return run_range(e, e->nfwd, e->nsteps);
}

int mx_executor_num_outputs(const mx_executor *e) { return e->nheads; }

int mx_executor_is_random(const mx_executor *e) { return e->is_random; }

mx_status mx_executor_output(const mx_executor *e, int i, mx_ndarray **out) {
  *out = NULL;
  if (i < 0 || i >= e->nheads) return mx_error(MX_ERR_ARG, "no output %d", i + 1);
  const buf *b = &e->bufs[e->head_buf[i]];
  if (!b->arr) return mx_error(MX_ERR_INTERNAL, "output %d has no array", i + 1);
  return mx_ndarray_view(b->arr, out);
}

void mx_executor_memory(const mx_executor *e, mx_exec_memory *out) { *out = e->mem; }

void mx_executor_set_profiling(mx_executor *e, int on) {
  e->profiling = on;
  if (on)
    for (int t = 0; t < e->nsteps; t++) {
      e->steps[t].calls = 0;
      e->steps[t].seconds = 0;
    }
}

int mx_executor_profile_count(const mx_executor *e) { return e->nsteps; }

void mx_executor_profile_at(const mx_executor *e, int i, const char **op, const char **node,
                            int *phase, int64_t *calls, double *seconds) {
  const step *st = &e->steps[i];
  const mx_node *x = e->order[st->node];
  static const char *const kinds[] = {"", "(recompute)", "(head gradient)", "(zero gradient)", "", "(accumulate)"};
  *op = x->op && (st->kind == ST_FWD || st->kind == ST_BWD) ? x->op->name
        : (x->op && st->kind == ST_RECOMP ? x->op->name : kinds[st->kind]);
  if (st->kind != ST_FWD && st->kind != ST_BWD && st->kind != ST_RECOMP) *op = kinds[st->kind];
  *node = x->name;
  *phase = st->phase;
  *calls = st->calls;
  *seconds = st->seconds;
}
