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
 * the others are planned: a single simulated run over the steps gives each
 * one a memory block, or the block of an input whose last reader is the
 * current (in-place) op; the blocks then get offsets in one arena, where
 * blocks alive at the same step never overlap (greedy by size).
 * Forward and backward are planned together, so values the backward pass
 * does not read are freed as soon as the forward pass is done with them.
 */
#include "../include/mx-gpu.h"
#include "../include/mx-executor.h"
#include "../include/mx-graph.h"

#include <stdlib.h>
#include <time.h>

enum { ST_FWD, ST_RECOMP, ST_COPY, ST_ZERO, ST_BWD, ST_ACC };

typedef struct buf {
  mx_shape shape;
  int dtype;
  int external;      /* given by the caller (args, aux, user grads)        */
  int keep;          /* planned alone and never reused (graph outputs,
                        planned argument gradients): alive to the end     */
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
  unsigned blk_in, blk_out;   /* mx_op_ctx.blocked_in/out of its calls   */
  int64_t calls;
  double seconds;
} step;

/* Inference folding: a Convolution whose output only a BatchNorm reads
 * (and whose result only a relu reads) runs as one call with the
 * BatchNorm's per-channel map and the relu as its epilogue, when the
 * executor has no backward pass and a forward call is not training.  All
 * three values share one planned block, so the call writes the last one
 * where the first would have been; the other two steps are then skipped. */
typedef struct fold {
  int conv, bn, relu;  /* steps (relu -1: none)                              */
  int out;             /* buffer of the result                               */
  int64_t nch;         /* output channels                                    */
  int done;            /* ran folded in this forward pass                    */
} fold;

/* Buffers that share memory (an in-place chain) and their place in the
 * executor's arena; first/last: the steps between which it is alive. */
typedef struct block {
  size_t bytes, offset;
  int first, last;
} block;

struct mx_executor {
  mx_context ctx;
  mx_symbol *sym;
  mx_node **order;
  int nnodes;
  void **state;            /* per node kernel state                         */
  mx_kernels *kern;        /* per node: kernels on the executor's device    */
  buf *bufs;
  int nbufs, capbufs;
  step *steps;
  int nsteps, capsteps;
  int nfwd;                /* steps [0, nfwd) are the forward pass           */
  block *blocks;
  int nblocks, capblocks;
  mx_storage *arena;       /* the planned buffers' memory (mem.planned_bytes) */
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
  mx_exec_step_fn step_hook; /* called after each backward step              */
  void *step_user;
  int *ws_block;             /* per step: its scratch block, or -1          */
  fold *folds;               /* inference folding (bind_fold)              */
  int nfolds;
  int *fold_of;              /* per step: its fold, or -1 (NULL: none)      */
  int nargs;
  int *arg_grad;             /* per argument: its planned gradient buffer,
                                or -1 (opts.planned_grads)                   */
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
  free(e->kern);
  for (int i = 0; i < e->nbufs; i++) mx_ndarray_free(e->bufs[i].arr);
  free(e->bufs);
  for (int i = 0; i < e->nsteps; i++) {
    step *s = &e->steps[i];
    free(s->in); free(s->out); free(s->og); free(s->ig); free(s->req);
    free(s->a_in); free(s->a_out); free(s->a_og); free(s->a_ig);
  }
  free(e->steps);
  if (e->arena) mx_storage_release(e->arena);
  free(e->blocks);
  free(e->ws_block);
  if (e->head_grad_arr)
    for (int h = 0; h < e->nheads; h++) mx_ndarray_free(e->head_grad_arr[h]);
  free(e->head_grad_arr);
  free(e->head_buf);
  free(e->head_loss);
  free(e->head_grad_buf);
  free(e->arg_grad);
  free(e->order);
  free(e->mirror_ok);
  free(e->folds);
  free(e->fold_of);
  mx_symbol_free(e->sym);
  free(e);
}

/* Ops recomputed in backward under `mirror`: cheap, deterministic, no
 * auxiliary state.  Expensive ops (as MXNet: Convolution, FullyConnected,
 * Concat, ...) carry MX_OPF_NO_MIRROR in their op records (those with a
 * recompute_cost hook may still be chosen by choose_costly); losses and
 * random ops (which must not resample) are never recomputed. */
static int mirrorable(const mx_executor *e, int i) {
  const mx_node *x = e->order[i];
  if (!x->op) return 0;
  if (x->naux > 0 && !((x->op->flags & MX_OPF_MIRROR_STATS) && !e->kern[i].gpu)) return 0;
  return !(x->op->flags & (MX_OPF_RANDOM | MX_OPF_LOSS | MX_OPF_NO_MIRROR));
}

/* ------------------------------------------------------------------- bind */

/* The work state of one bind: the executor being built, the caller's
 * arrays, and per-node and per-value tables.  Per-output tables are flat:
 * output k of node i is slot off[i] + k. */
typedef struct bind_ctx {
  mx_executor *e;
  const mx_symbol *s;
  mx_context ctx;
  mx_exec_opts opts;
  mx_ndarray *const *args, *const *grads, *const *aux;
  const int *grad_req;
  int nargs, naux;
  int n;                    /* nodes, in e->order                            */
  mx_node_index *ix;
  unsigned char *isaux;     /* per node: a variable used as auxiliary state  */
  int *arg_of, *aux_of;     /* per node: argument / auxiliary index, or -1   */
  char **argn, **auxn;
  int nargn, nauxn;
  int *off;                 /* per node: first slot; off[n] = all slots      */
  int *fwd;                 /* per slot: forward value buffer                */
  int *rg;                  /* per slot: the value needs a gradient          */
  int *ncontrib;            /* per slot: contributions to its gradient       */
  int *gbuf;                /* per slot: gradient buffer                     */
  int *done;                /* per slot: contributions planned so far        */
  int *mir;                 /* per slot: recomputed copy (mirror)            */
  int mirror_depth;         /* longest recomputed chain (choose_mirrored)    */
  int any_grad;
} bind_ctx;

typedef mx_status (*bind_phase)(bind_ctx *c);

static mx_status oom(void) { return mx_error(MX_ERR_NOMEM, "out of memory"); }

/* Slot of input j of node x, and its node's topological index. */
static int input_node(const bind_ctx *c, const mx_node *x, int j) {
  return mx_node_index_get(c->ix, x->inputs[j].node);
}
static int input_slot(const bind_ctx *c, const mx_node *x, int j) {
  return c->off[input_node(c, x, j)] + x->inputs[j].index;
}
static int head_slot(const bind_ctx *c, int h) {
  return c->off[mx_node_index_get(c->ix, c->s->heads[h].node)] + c->s->heads[h].index;
}
/* Gradient requests ADD for a variable node. */
static int adds_into(const bind_ctx *c, int node) {
  return !c->e->order[node]->op && c->grad_req[c->arg_of[node]] == MX_GRAD_ADD;
}

static void bind_ctx_free(bind_ctx *c) {
  mx_node_index_free(c->ix);
  free(c->isaux);
  free(c->arg_of);
  free(c->aux_of);
  mx_string_list_free(c->argn, c->nargn);
  mx_string_list_free(c->auxn, c->nauxn);
  free(c->off); free(c->fwd); free(c->rg); free(c->ncontrib);
  free(c->gbuf); free(c->done); free(c->mir);
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Arguments and auxiliary states are matched by name: two distinct
 * variables with one name (e.g. two layers named "fc") cannot both be
 * filled, so they are refused, as MXNet does. */
static mx_status check_unique_names(char **argn, int nargn, char **auxn, int nauxn) {
  int n = nargn + nauxn;
  if (n < 2) return MX_OK;
  const char **all = (const char **)malloc((size_t)n * sizeof *all);
  if (!all) return oom();
  for (int i = 0; i < nargn; i++) all[i] = argn[i];
  for (int i = 0; i < nauxn; i++) all[nargn + i] = auxn[i];
  qsort(all, (size_t)n, sizeof *all, cmp_name);
  mx_status rc = MX_OK;
  for (int i = 1; i < n && rc == MX_OK; i++)
    if (strcmp(all[i - 1], all[i]) == 0)
      rc = mx_error(MX_ERR_ARG, "duplicated argument name '%s': two different variables of the graph "
                    "have this name (give the layers distinct names)", all[i]);
  free(all);
  return rc;
}

/* Phase: the graph in topological order, the tables, argument lists. */
static mx_status bind_setup(bind_ctx *c) {
  mx_executor *e = c->e;
  mx_status rc;
  if ((rc = mx_symbol_copy(c->s, &e->sym))) return rc;
  if ((rc = mx_graph_topo(c->s, &e->order, &e->nnodes))) return rc;
  int n = c->n = e->nnodes;
  if ((rc = mx_node_index_new(e->order, n, &c->ix))) return rc;
  size_t nn = (size_t)(n > 0 ? n : 1);
  c->isaux = (unsigned char *)malloc(nn);
  e->state = (void **)calloc(nn, sizeof(void *));
  e->kern = (mx_kernels *)calloc(nn, sizeof(mx_kernels));
  c->arg_of = ints(n, -1);
  c->aux_of = ints(n, -1);
  c->off = ints(n + 1, 0);
  if (!c->isaux || !e->state || !e->kern || !c->arg_of || !c->aux_of || !c->off) return oom();
  for (int i = 0; i < n; i++) c->off[i + 1] = c->off[i] + e->order[i]->nout;
  int slots = c->off[n];
  c->fwd = ints(slots, -1);
  c->gbuf = ints(slots, -1);
  c->mir = ints(slots, -1);
  c->rg = ints(slots, 0);
  c->ncontrib = ints(slots, 0);
  c->done = ints(slots, 0);
  if (!c->fwd || !c->gbuf || !c->mir || !c->rg || !c->ncontrib || !c->done) return oom();
  mx_graph_aux_flags(e->order, n, c->ix, c->isaux);
  if ((rc = mx_symbol_list(c->s, 0, &c->argn, &c->nargn)) ||
      (rc = mx_symbol_list(c->s, 2, &c->auxn, &c->nauxn)))
    return rc;
  if ((rc = check_unique_names(c->argn, c->nargn, c->auxn, c->nauxn))) return rc;
  if (c->nargs != c->nargn)
    return mx_error(MX_ERR_ARG, "the symbol has %d arguments, %d arrays were given", c->nargn, c->nargs);
  if (c->naux != c->nauxn)
    return mx_error(MX_ERR_ARG, "the symbol has %d auxiliary states, %d arrays were given", c->nauxn, c->naux);
  int ka = 0, kx = 0;
  for (int i = 0; i < n; i++) {
    if (e->order[i]->op) continue;
    if (c->isaux[i]) c->aux_of[i] = kx++;
    else c->arg_of[i] = ka++;
  }
  return MX_OK;
}

static mx_status shape_mismatch(const char *what, const char *name, const mx_shape *has,
                                const mx_shape *needs) {
  char b1[128], b2[128];
  mx_shape_format(has, b1, sizeof b1);
  mx_shape_format(needs, b2, sizeof b2);
  return mx_error(MX_ERR_SHAPE, "%s '%s' has shape %s, the graph needs %s", what, name, b1, b2);
}

/* Shapes and types inferred from the arguments must match every array. */
static mx_status check_inferred(bind_ctx *c, const char **keys, const mx_shape *shp, const int *typ) {
  mx_shape *as = NULL, *os = NULL, *xs = NULL;
  int na = 0, no = 0, nx = 0, complete = 0;
  mx_status rc = mx_symbol_infer_shape(c->s, keys, shp, c->nargs, &as, &na, &os, &no, &xs, &nx, &complete);
  if (rc == MX_OK && !complete)
    rc = mx_error(MX_ERR_SHAPE, "cannot infer every shape of the graph from the arguments");
  for (int i = 0; i < c->nargs && rc == MX_OK; i++)
    if (!mx_shape_equal(&as[i], mx_ndarray_shape(c->args[i])))
      rc = shape_mismatch("argument", c->argn[i], mx_ndarray_shape(c->args[i]), &as[i]);
  for (int i = 0; i < c->naux && rc == MX_OK; i++) {
    if (!c->aux[i]) rc = mx_error(MX_ERR_ARG, "auxiliary state '%s' has no array", c->auxn[i]);
    else if (!mx_shape_equal(&xs[i], mx_ndarray_shape(c->aux[i])))
      rc = shape_mismatch("auxiliary state", c->auxn[i], mx_ndarray_shape(c->aux[i]), &xs[i]);
  }
  mx_free(as); mx_free(os); mx_free(xs);
  int *at = NULL, *ot = NULL, *xt = NULL;
  if (rc == MX_OK) rc = mx_symbol_infer_type(c->s, keys, typ, c->nargs, &at, &na, &ot, &no, &xt, &nx);
  mx_free(at); mx_free(ot); mx_free(xt);
  return rc;
}

/* Phase: the arrays exist, live on the executor's device and agree with
 * shape and type inference. */
static mx_status bind_check_arrays(bind_ctx *c) {
  const char **keys = (const char **)malloc((size_t)(c->nargs + 1) * sizeof(char *));
  mx_shape *shp = (mx_shape *)malloc((size_t)(c->nargs + 1) * sizeof(mx_shape));
  int *typ = ints(c->nargs + 1, 0);
  mx_status rc = !keys || !shp || !typ ? oom() : MX_OK;
  for (int i = 0; i < c->nargs && rc == MX_OK; i++) {
    if (!c->args[i]) {
      rc = mx_error(MX_ERR_ARG, "argument '%s' has no array", c->argn[i]);
      break;
    }
    keys[i] = c->argn[i];
    shp[i] = *mx_ndarray_shape(c->args[i]);
    typ[i] = mx_ndarray_dtype(c->args[i]);
    mx_context d = mx_ndarray_context(c->args[i]);
    if (d.dev_type != c->ctx.dev_type || d.dev_id != c->ctx.dev_id)
      rc = mx_error(MX_ERR_DEVICE, "argument '%s' is on another device than the executor", c->argn[i]);
  }
  if (rc == MX_OK) rc = check_inferred(c, keys, shp, typ);
  free(keys); free(shp); free(typ);
  return rc;
}

/* Output shapes and types of op node i from its inputs' buffers; the op
 * must run on the executor's device with these types. */
static mx_status infer_node(bind_ctx *c, int i, mx_shape *out_s, int *out_t) {
  const mx_node *x = c->e->order[i];
  mx_shape in_s[MX_MAX_INPUTS];
  int in_t[MX_MAX_INPUTS];
  for (int j = 0; j < x->ninputs; j++) {
    const buf *b = &c->e->bufs[c->fwd[input_slot(c, x, j)]];
    in_s[j] = b->shape;
    in_t[j] = b->dtype;
  }
  for (int k = 0; k < x->nout; k++) { out_s[k].ndim = -1; out_t[k] = -1; }
  mx_status rc = x->op->infer_shape(x->params, x->ninputs, in_s, x->nout, out_s);
  if (rc == MX_OK) {
    mx_infer_type_fn f = x->op->infer_type ? x->op->infer_type : mx_infer_type_same;
    rc = f(x->params, x->ninputs, in_t, x->nout, out_t);
  }
  if (rc) return mx_error_prefix(rc, "%s (%s): ", x->name, x->op->name);
  /* storage-only half types reach the executor only where a kernel takes
   * them natively (float16 for the MX_OPF_F16 ops; bfloat16 never) */
  static const int halves[2] = {MX_FLOAT16, MX_BFLOAT16};
  for (int h = 0; h < 2; h++) {
    int t = halves[h];
    if (mx_op_native_dtype(x->op, c->ctx, t)) continue;
    for (int k = 0; k < x->nout; k++)
      if (out_t[k] == t || (x->ninputs > 0 && in_t[0] == t))
        return mx_error(MX_ERR_DTYPE, "%s (%s): executors do not run float16 and bfloat16 through this op yet "
                        "(got %s)", x->name, x->op->name, mx_dtype_name(t));
  }
  mx_kernels *k = &c->e->kern[i];
  if ((rc = mx_op_kernels(x->op, c->ctx, k)) == MX_OK)
    rc = mx_op_kernels_check(x->op, k, x->params, x->ninputs, in_s, in_t);
  if (rc) return mx_error_prefix(rc, "%s: ", x->name);
  for (int k = 0; k < x->nout; k++)
    if (out_s[k].ndim < 0 || !mx_dtype_valid(out_t[k]))
      return mx_error(MX_ERR_SHAPE, "%s (%s): could not infer output %d", x->name, x->op->name, k + 1);
  return MX_OK;
}

/* An external buffer viewing the caller's array a. */
static mx_status external_buf(mx_executor *e, mx_ndarray *a, int *out) {
  int b = new_buf(e, mx_ndarray_shape(a), mx_ndarray_dtype(a), 1, 1);
  if (b < 0) return oom();
  *out = b;
  return mx_ndarray_view(a, &e->bufs[b].arr);
}

/* Phase: a buffer for every forward value, node by node. */
static mx_status bind_forward_values(bind_ctx *c) {
  mx_executor *e = c->e;
  for (int i = 0; i < c->n; i++) {
    const mx_node *x = e->order[i];
    int *fw = c->fwd + c->off[i];
    mx_status rc;
    if (!x->op) {
      mx_ndarray *a = c->isaux[i] ? c->aux[c->aux_of[i]] : c->args[c->arg_of[i]];
      if ((rc = external_buf(e, a, &fw[0]))) return rc;
      continue;
    }
    mx_shape out_s[MX_MAX_OUTPUTS];
    int out_t[MX_MAX_OUTPUTS];
    if ((rc = infer_node(c, i, out_s, out_t))) return rc;
    for (int k = 0; k < x->nout; k++)
      if ((fw[k] = new_buf(e, &out_s[k], out_t[k], 0, 0)) < 0) return oom();
  }
  return MX_OK;
}

/* Phase: graph outputs are kept whole (the caller reads them after forward). */
static mx_status bind_heads(bind_ctx *c) {
  mx_executor *e = c->e;
  int nh = e->nheads = c->s->nheads;
  e->head_buf = ints(nh, -1);
  e->head_loss = ints(nh, 0);
  e->head_grad_buf = ints(nh, -1);
  e->head_grad_arr = (mx_ndarray **)calloc((size_t)(nh > 0 ? nh : 1), sizeof(mx_ndarray *));
  if (!e->head_buf || !e->head_loss || !e->head_grad_buf || !e->head_grad_arr) return oom();
  for (int h = 0; h < nh; h++) {
    const mx_node *x = c->s->heads[h].node;
    int b = c->fwd[head_slot(c, h)];
    e->head_buf[h] = b;
    e->bufs[b].keep = 1;
    e->head_loss[h] = x->op && (x->op->flags & MX_OPF_LOSS);
  }
  return MX_OK;
}

/* A FWD or RECOMP step of node i reading in[] and writing out[]. */
static mx_status add_forward_step(bind_ctx *c, int kind, int i, const int *in, const int *out) {
  const mx_node *x = c->e->order[i];
  step *st = new_step(c->e, kind, i, kind == ST_FWD ? 0 : 1);
  if (!st) return oom();
  st->nin = x->ninputs;
  st->nout = x->nout;
  st->in = ints(x->ninputs, -1);
  st->out = ints(x->nout, -1);
  if (!st->in || !st->out) return oom();
  memcpy(st->in, in, (size_t)x->ninputs * sizeof(int));
  memcpy(st->out, out, (size_t)x->nout * sizeof(int));
  return MX_OK;
}

/* Phase: one forward step per op node. */
static mx_status bind_forward_steps(bind_ctx *c) {
  for (int i = 0; i < c->n; i++) {
    const mx_node *x = c->e->order[i];
    if (!x->op) continue;
    int in[MX_MAX_INPUTS];
    for (int j = 0; j < x->ninputs; j++) in[j] = c->fwd[input_slot(c, x, j)];
    mx_status rc = add_forward_step(c, ST_FWD, i, in, c->fwd + c->off[i]);
    if (rc) return rc;
  }
  c->e->nfwd = c->e->nsteps;
  return MX_OK;
}

/* Phase: which values need gradients (forward from the arguments with a
 * gradient request); an op without a gradient on such a path is an error. */
static mx_status bind_grad_needs(bind_ctx *c) {
  mx_executor *e = c->e;
  for (int i = 0; i < c->n; i++) {
    const mx_node *x = e->order[i];
    if (x->op && (x->op->flags & MX_OPF_RANDOM)) e->is_random = 1;
    if (!x->op) {
      if (!c->isaux[i] && c->grad_req && c->grad_req[c->arg_of[i]] != MX_GRAD_NULL)
        c->rg[c->off[i]] = c->any_grad = 1;
      continue;
    }
    int need = 0;
    for (int j = 0; j < x->ninputs - x->naux; j++)
      if (c->rg[input_slot(c, x, j)]) need = 1;
    if (need && !x->op->backward)
      return mx_error(MX_ERR_UNSUPPORTED, "%s (%s): this op has no gradient, but an input of it needs one "
                      "(set grad.req = \"null\" for the arguments before it, or use BlockGrad)",
                      x->name, x->op->name);
    if (need)
      for (int k = 0; k < x->nout; k++) c->rg[c->off[i] + k] = 1;
  }
  e->has_backward = c->any_grad;
  return MX_OK;
}

/* The gradient buffer of variable node i: the caller's array, checked; or,
 * with opts.planned_grads and no array for a "write" gradient, a buffer of
 * the plan kept from its first write in backward to the end (so it takes
 * no memory while forward values are alive; mx_executor_grad reads it). */
static mx_status argument_grad_buf(bind_ctx *c, int i) {
  int a = c->arg_of[i];
  mx_executor *e = c->e;
  if ((!c->grads || !c->grads[a]) && c->opts.planned_grads && c->grad_req[a] == MX_GRAD_WRITE) {
    if (!e->arg_grad && !(e->arg_grad = ints(c->nargs, -1))) return oom();
    e->nargs = c->nargs;
    int b = new_buf(e, mx_ndarray_shape(c->args[a]), mx_ndarray_dtype(c->args[a]), 0, 1);
    if (b < 0) return oom();
    e->arg_grad[a] = c->gbuf[c->off[i]] = b;
    return MX_OK;
  }
  if (!c->grads || !c->grads[a]) return mx_error(MX_ERR_ARG, "argument '%s' needs a gradient array", c->argn[a]);
  if (!mx_shape_equal(mx_ndarray_shape(c->grads[a]), mx_ndarray_shape(c->args[a])) ||
      mx_ndarray_dtype(c->grads[a]) != mx_ndarray_dtype(c->args[a]))
    return mx_error(MX_ERR_SHAPE, "the gradient array of '%s' does not match the argument", c->argn[a]);
  return external_buf(c->e, c->grads[a], &c->gbuf[c->off[i]]);
}

/* Phase: gradient contributions per value (head gradients, then each
 * backward step that has the value as an input), gradient buffers, and
 * head gradient arrays (ones unless the caller gives some). */
static mx_status bind_grad_buffers(bind_ctx *c) {
  mx_executor *e = c->e;
  if (!c->any_grad) return MX_OK;
  for (int h = 0; h < e->nheads; h++) {
    int q = head_slot(c, h);
    if (c->rg[q] && !e->head_loss[h]) c->ncontrib[q]++;
  }
  for (int i = c->n - 1; i >= 0; i--) {
    const mx_node *x = e->order[i];
    if (!x->op || !c->rg[c->off[i]]) continue;
    for (int j = 0; j < x->ninputs - x->naux; j++)
      if (c->rg[input_slot(c, x, j)]) c->ncontrib[input_slot(c, x, j)]++;
  }
  mx_status rc;
  for (int i = 0; i < c->n; i++) {
    const mx_node *x = e->order[i];
    if (!c->rg[c->off[i]]) continue;
    if (!x->op) {
      if ((rc = argument_grad_buf(c, i))) return rc;
      continue;
    }
    for (int k = 0; k < x->nvis; k++) {
      const buf *f = &e->bufs[c->fwd[c->off[i] + k]];
      mx_shape sh = f->shape;
      if ((c->gbuf[c->off[i] + k] = new_buf(e, &sh, f->dtype, 0, 0)) < 0) return oom();
    }
  }
  for (int h = 0; h < e->nheads; h++) {
    int q = head_slot(c, h);
    if (e->head_loss[h] || !c->rg[q]) continue;
    const buf *f = &e->bufs[c->fwd[q]];
    mx_shape sh = f->shape;
    if ((rc = mx_ndarray_new_fill(&sh, f->dtype, c->ctx, 1.0, &e->head_grad_arr[h]))) return rc;
    if ((rc = external_buf(e, e->head_grad_arr[h], &e->head_grad_buf[h]))) return rc;
  }
  return MX_OK;
}

/* The input gradients of node i's backward step: straight into the value's
 * gradient buffer for its first contribution, else into a temporary that
 * an ACC step adds afterwards (also for ADD requests and an input given
 * twice).  Fills ig/req and the acc pairs. */
static mx_status plan_input_grads(bind_ctx *c, int i, int *ig, int *req, int *acc_src,
                                  int *acc_dst, int *nacc) {
  const mx_node *x = c->e->order[i];
  *nacc = 0;
  for (int j = 0; j < x->ninputs - x->naux; j++) {
    int q = input_slot(c, x, j);
    if (!c->rg[q]) continue;
    int target = c->gbuf[q];
    int dup = 0;
    for (int p = 0; p < j; p++)
      if (x->inputs[p].node == x->inputs[j].node && x->inputs[p].index == x->inputs[j].index) dup = 1;
    req[j] = MX_REQ_WRITE;
    if (c->done[q] == 0 && !adds_into(c, input_node(c, x, j)) && !dup) {
      ig[j] = target;
    } else {
      mx_shape sh = c->e->bufs[target].shape;
      int t = new_buf(c->e, &sh, c->e->bufs[target].dtype, 0, 0);
      if (t < 0) return oom();
      ig[j] = acc_src[*nacc] = t;
      acc_dst[(*nacc)++] = target;
    }
    c->done[q]++;
  }
  return MX_OK;
}

/* Backward of op node i: ZERO steps for output gradients nobody
 * contributes, the BWD step, then ACC steps for temporaries. */
static mx_status add_backward_node(bind_ctx *c, int i) {
  mx_executor *e = c->e;
  const mx_node *x = e->order[i];
  int loss = (x->op->flags & MX_OPF_LOSS) != 0;
  const int *gb = c->gbuf + c->off[i], *fw = c->fwd + c->off[i];
  for (int k = 0; k < x->nvis; k++)
    if (!loss && c->ncontrib[c->off[i] + k] == 0) {
      step *z = new_step(e, ST_ZERO, i, 1);
      if (!z) return oom();
      z->dst = gb[k];
    }
  unsigned char need_in[MX_MAX_INPUTS], need_out[MX_MAX_OUTPUTS], need_og[MX_MAX_OUTPUTS];
  memset(need_in, 1, sizeof need_in);
  memset(need_out, 1, sizeof need_out);
  memset(need_og, 1, sizeof need_og);
  if (x->op->backward_deps) x->op->backward_deps(x->params, x->ninputs, x->nout, need_in, need_out, need_og);
  int ig[MX_MAX_INPUTS], req[MX_MAX_INPUTS], acc_src[MX_MAX_INPUTS], acc_dst[MX_MAX_INPUTS], nacc;
  for (int j = 0; j < x->ninputs; j++) { ig[j] = -1; req[j] = MX_REQ_NULL; }
  mx_status rc = plan_input_grads(c, i, ig, req, acc_src, acc_dst, &nacc);
  if (rc) return rc;
  step *st = new_step(e, ST_BWD, i, 1);
  if (!st) return oom();
  st->nin = x->ninputs;
  st->nout = x->nout;
  st->in = ints(x->ninputs, -1);
  st->out = ints(x->nout, -1);
  st->og = ints(x->nout, -1);
  st->ig = ints(x->ninputs, -1);
  st->req = ints(x->ninputs, MX_REQ_NULL);
  if (!st->in || !st->out || !st->og || !st->ig || !st->req) return oom();
  for (int j = 0; j < x->ninputs; j++) {
    if (need_in[j]) st->in[j] = c->fwd[input_slot(c, x, j)];
    st->ig[j] = ig[j];
    st->req[j] = req[j];
  }
  for (int k = 0; k < x->nout; k++) {
    if (need_out[k]) st->out[k] = fw[k];
    if (k < x->nvis && need_og[k] && !loss) st->og[k] = gb[k];
  }
  for (int a = 0; a < nacc; a++) {
    step *ac = new_step(e, ST_ACC, i, 1);
    if (!ac) return oom();
    ac->src = acc_src[a];
    ac->dst = acc_dst[a];
  }
  return MX_OK;
}

/* Phase: backward steps: head gradients copied (or added) into their
 * values' gradients, then each node in reverse topological order. */
static mx_status bind_backward_steps(bind_ctx *c) {
  mx_executor *e = c->e;
  if (!c->any_grad) return MX_OK;
  for (int h = 0; h < e->nheads; h++) {
    if (e->head_grad_buf[h] < 0) continue;
    int q = head_slot(c, h);
    step *st = new_step(e, ST_COPY, mx_node_index_get(c->ix, c->s->heads[h].node), 1);
    if (!st) return oom();
    st->head = h;
    st->src = e->head_grad_buf[h];
    /* a second contribution, or ADD into the user's array */
    if (c->done[q] > 0 || adds_into(c, st->node)) st->kind = ST_ACC;
    st->dst = c->gbuf[q];
    c->done[q]++;
  }
  for (int i = c->n - 1; i >= 0; i--) {
    if (!e->order[i]->op || !c->rg[c->off[i]]) continue;
    mx_status rc = add_backward_node(c, i);
    if (rc) return rc;
  }
  return MX_OK;
}

/* Costly ops the mirror may recompute too (recompute_cost): those with the
 * least work per output element first, while their forward work stays
 * within opts.mirror_costly of all such ops' forward work.  In a ResNet
 * these are the stem and the 1x1 convolutions that widen the channels of
 * the first stages: a large share of the kept bytes for little work. */
typedef struct costly_node { double per_out, work; int node; } costly_node;
static int cmp_costly(const void *a, const void *b) {
  double x = ((const costly_node *)a)->per_out, y = ((const costly_node *)b)->per_out;
  return x < y ? -1 : x > y;
}
static mx_status choose_costly(bind_ctx *c, unsigned char *sel) {
  mx_executor *e = c->e;
  costly_node *cn = (costly_node *)malloc((size_t)(c->n > 0 ? c->n : 1) * sizeof *cn);
  if (!cn) return oom();
  int m = 0;
  double total = 0, share = c->opts.mirror_costly;
  mx_shape in[MX_MAX_INPUTS];
  for (int i = 0; i < c->n; i++) {
    const mx_node *x = e->order[i];
    if (!x->op || !x->op->recompute_cost || x->naux > 0 || (x->op->flags & MX_OPF_RANDOM) ||
        x->nout != 1 || x->ninputs > MX_MAX_INPUTS)
      continue;
    for (int j = 0; j < x->ninputs; j++) in[j] = e->bufs[c->fwd[input_slot(c, x, j)]].shape;
    double per = x->op->recompute_cost(x->params, x->ninputs, in);
    double outn = (double)mx_shape_size(&e->bufs[c->fwd[c->off[i]]].shape);
    if (per <= 0) continue;
    cn[m++] = (costly_node){per, per * outn, i};
    total += per * outn;
  }
  qsort(cn, (size_t)m, sizeof *cn, cmp_costly);
  double used = 0;
  for (int k = 0; k < m && used + cn[k].work <= share * total; k++) {
    used += cn[k].work;
    sel[cn[k].node] = 1;
  }
  free(cn);
  return MX_OK;
}

/* Which nodes the mirror recomputes: the mirrorable (cheap) ones whose
 * recomputation, back to values that are kept, is a chain of at most D
 * (c->mirror_depth) ops; a node further down keeps its output as a
 * checkpoint and starts a new chain.  Each node is recomputed once, so the
 * extra work is at most one forward pass of the cheap ops (in a ResNet:
 * BatchNorm, relu and the residual sums, from the kept convolutions) for
 * any D; D only moves the checkpoints, and mx_executor_bind plans a few
 * values of D and keeps the one with the smallest arena (docs/memory.md). */
static mx_status choose_mirrored(bind_ctx *c) {
  mx_executor *e = c->e;
  e->mirror_ok = (unsigned char *)calloc((size_t)(c->n > 0 ? c->n : 1), 1);
  int *depth = (int *)calloc((size_t)(c->n > 0 ? c->n : 1), sizeof(int));
  unsigned char *costly = (unsigned char *)calloc((size_t)(c->n > 0 ? c->n : 1), 1);
  mx_status rc = !e->mirror_ok || !depth || !costly ? oom() : choose_costly(c, costly);
  if (rc) {
    free(depth);
    free(costly);
    return rc;
  }
  int lim = c->mirror_depth;
  for (int i = 0; i < c->n; i++) {
    if (!mirrorable(e, i) && !costly[i]) continue;
    const mx_node *x = e->order[i];
    int d = 0;
    for (int j = 0; j < x->ninputs; j++) {
      int k = input_node(c, x, j);
      if (e->mirror_ok[k] && depth[k] > d) d = depth[k];
    }
    if (d < lim) {
      e->mirror_ok[i] = 1;
      depth[i] = d + 1;
    }
  }
  free(depth);
  free(costly);
  return MX_OK;
}

/* Add a RECOMP step for node pi (after recomputing its mirrorable inputs,
 * so that chains of cheap ops are all recomputed from the last kept value). */
static mx_status recompute(bind_ctx *c, int pi) {
  mx_executor *e = c->e;
  const mx_node *x = e->order[pi];
  for (int j = 0; j < x->ninputs; j++) {
    int k = input_node(c, x, j), q = input_slot(c, x, j);
    if (c->mir[c->off[k]] < 0 && e->mirror_ok[k] && !e->bufs[c->fwd[q]].keep) {
      mx_status rc = recompute(c, k);
      if (rc) return rc;
    }
  }
  int *mo = c->mir + c->off[pi];
  for (int k = 0; k < x->nout; k++) {
    const buf *f = &e->bufs[c->fwd[c->off[pi] + k]];
    if (k > 0 && (x->op->flags & MX_OPF_MIRROR_STATS)) {   /* read, as the forward wrote it */
      mo[k] = c->fwd[c->off[pi] + k];
      continue;
    }
    mx_shape sh = f->shape;
    if ((mo[k] = new_buf(e, &sh, f->dtype, 0, 0)) < 0) return oom();
  }
  int in[MX_MAX_INPUTS];
  for (int j = 0; j < x->ninputs; j++) {
    int q = input_slot(c, x, j);
    in[j] = c->mir[q] >= 0 ? c->mir[q] : c->fwd[q];
  }
  mx_status rc = add_forward_step(c, ST_RECOMP, pi, in, mo);
  if (rc == MX_OK) e->mem.n_mirrored++;
  return rc;
}

/* Make backward step bs read recomputed copies of the mirrored forward
 * values it reads (prod: the slot that produced each forward buffer). */
static mx_status mirror_reads(bind_ctx *c, step *bs, const int *prod) {
  mx_executor *e = c->e;
  int vals[MX_MAX_INPUTS + MX_MAX_OUTPUTS], nv = 0;
  for (int j = 0; j < bs->nin; j++) if (bs->in[j] >= 0) vals[nv++] = bs->in[j];
  for (int k = 0; k < bs->nout; k++) if (bs->out[k] >= 0) vals[nv++] = bs->out[k];
  for (int v = 0; v < nv; v++) {
    int q = prod[vals[v]];
    if (q < 0 || e->bufs[vals[v]].keep) continue;
    int pi = 0;   /* the node owning slot q */
    for (int lo = 0, hi = c->n - 1; lo <= hi;) {
      int mid = (lo + hi) / 2;
      if (c->off[mid] <= q) { pi = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (!e->mirror_ok[pi]) continue;
    if (c->mir[c->off[pi]] < 0) {
      mx_status rc = recompute(c, pi);
      if (rc) return rc;
    }
    int copy = c->mir[q];
    for (int j = 0; j < bs->nin; j++) if (bs->in[j] == vals[v]) bs->in[j] = copy;
    for (int k = 0; k < bs->nout; k++) if (bs->out[k] == vals[v]) bs->out[k] = copy;
  }
  return MX_OK;
}

static void step_free_arrays(step *s) {
  free(s->in); free(s->out); free(s->og); free(s->ig); free(s->req);
  free(s->a_in); free(s->a_out); free(s->a_og); free(s->a_ig);
}

/* Phase (mirror): recompute cheap forward values right before the first
 * backward step that reads them, so the forward copies die early.  The
 * backward steps are taken out and moved back one by one; a moved step's
 * entry is cleared, so on failure exactly the unmoved ones are freed. */
static mx_status bind_mirror(bind_ctx *c) {
  mx_executor *e = c->e;
  if (!c->opts.mirror || !c->any_grad) return MX_OK;
  mx_status rc = choose_mirrored(c);
  if (rc) return rc;
  int nb = e->nsteps - e->nfwd, nfwdbufs = e->nbufs;
  step *bsteps = (step *)malloc((size_t)(nb > 0 ? nb : 1) * sizeof(step));
  int *prod = ints(nfwdbufs, -1);
  if (!bsteps || !prod) {
    free(bsteps);
    free(prod);
    return oom();
  }
  for (int i = 0; i < c->n; i++)
    if (e->order[i]->op)
      for (int k = 0; k < e->order[i]->nout; k++) prod[c->fwd[c->off[i] + k]] = c->off[i] + k;
  memcpy(bsteps, e->steps + e->nfwd, (size_t)nb * sizeof(step));
  e->nsteps = e->nfwd;
  for (int q = 0; q < nb && rc == MX_OK; q++) {
    if (bsteps[q].kind == ST_BWD && (rc = mirror_reads(c, &bsteps[q], prod))) break;
    step *ns = new_step(e, bsteps[q].kind, bsteps[q].node, 1);
    if (!ns) { rc = oom(); break; }
    *ns = bsteps[q];
    memset(&bsteps[q], 0, sizeof bsteps[q]);   /* moved: e->steps owns it now */
  }
  for (int q = 0; q < nb; q++) step_free_arrays(&bsteps[q]);
  free(bsteps);
  free(prod);
  return rc;
}

/* Phase: the first write and last read of every buffer. */
static mx_status bind_lifetimes(bind_ctx *c) {
  mx_executor *e = c->e;
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
  return MX_OK;
}

/* Buffers grouped by the step of their first write (a counting sort, stable
 * in buffer order): list[at[t] .. at[t+1]) are those with first == t. */
static mx_status bufs_by_step(const mx_executor *e, int **at_out, int **list_out) {
  int *at = ints(e->nsteps + 1, 0), *pos = ints(e->nsteps + 1, 0), *list = ints(e->nbufs, -1);
  mx_status rc = !at || !pos || !list ? oom() : MX_OK;
  for (int pass = 0; pass < 2 && rc == MX_OK; pass++) {
    for (int b = 0; b < e->nbufs; b++) {
      const buf *bb = &e->bufs[b];
      if (bb->external || bb->first < 0) continue;
      if (pass == 0) at[bb->first + 1]++;
      else list[pos[bb->first]++] = b;
    }
    if (pass > 0) continue;
    for (int t = 0; t < e->nsteps; t++) at[t + 1] += at[t];   /* counts -> starts */
    memcpy(pos, at, (size_t)(e->nsteps + 1) * sizeof *pos);
  }
  free(pos);
  if (rc) {
    free(at);
    free(list);
    return rc;
  }
  *at_out = at;
  *list_out = list;
  return MX_OK;
}

/* In place: forward output k of an element-wise op over input k, or a
 * single-input op's input gradient over its output gradient, when this
 * step is the source's last reader.  Returns the block or -1. */
static int inplace_block(const mx_executor *e, const step *st, int t, int b) {
  const mx_node *x = e->order[st->node];
  if (!x->op) return -1;
  int all = (x->op->flags & MX_OPF_INPLACE) != 0;   /* every output, and backward */
  int first = all || ((x->op->flags & MX_OPF_INPLACE_CPU) && !e->kern[st->node].gpu);
  if (!first) return -1;
  int src = -1;
  if (st->kind == ST_FWD || st->kind == ST_RECOMP)
    for (int k = 0; k < st->nout && k < st->nin && (k == 0 || all); k++)
      if (st->out[k] == b) src = st->in[k];
  if (all && st->kind == ST_BWD && x->ninputs - x->naux == 1 && st->ig[0] == b) src = st->og[0];
  if (src < 0) return -1;
  const buf *sb = &e->bufs[src], *bb = &e->bufs[b];
  /* nothing else in this step may read src after the write: only
   * element-wise ops qualify (checked above) */
  if (sb->external || sb->keep || sb->block < 0 || sb->last != t || buf_bytes(sb) != buf_bytes(bb) ||
      sb->dtype != bb->dtype)
    return -1;
  return sb->block;
}

static int new_block(mx_executor *e, size_t need) {
  if (e->nblocks == e->capblocks) {
    int cap = e->capblocks ? e->capblocks * 2 : 64;
    block *nb = (block *)realloc(e->blocks, (size_t)cap * sizeof(block));
    if (!nb) return -1;
    e->blocks = nb;
    e->capblocks = cap;
  }
  block *bl = &e->blocks[e->nblocks];
  memset(bl, 0, sizeof *bl);
  bl->bytes = mx_scratch_round(need);
  bl->first = bl->last = -1;
  return e->nblocks++;
}

/* Blocks for the buffers step t writes first: the block of an input this
 * step reads for the last time (in place), else a block of their own.  A
 * block lives from its first buffer's write to its last buffer's read (a
 * kept buffer: to the end). */
static mx_status plan_step(mx_executor *e, const mx_exec_opts *o, const int *first_at,
                           const int *first, int t) {
  for (int k = first_at[t]; k < first_at[t + 1]; k++) {
    buf *b = &e->bufs[first[k]];
    int chosen = -1;
    if (o->plan_memory && o->inplace && !b->keep &&
        (chosen = inplace_block(e, &e->steps[t], t, first[k])) >= 0)
      e->mem.n_inplace++;
    if (chosen < 0 && (chosen = new_block(e, buf_bytes(b))) < 0) return oom();
    block *bl = &e->blocks[chosen];
    int last = b->keep ? e->nsteps : b->last;
    if (bl->first < 0) bl->first = t;
    if (bl->last < last) bl->last = last;
    b->block = chosen;
    e->mem.unplanned_bytes += (int64_t)buf_bytes(b);
    e->mem.n_buffers++;
  }
  return MX_OK;
}

static int blocks_overlap(const block *a, const block *b) {
  return a->first <= b->last && b->first <= a->last;
}

/* Orders in which place_blocks may place the blocks: largest first, longest
 * lived first, and largest area (bytes x steps) first; ties: larger, then
 * earlier.  A sort record carries its keys (qsort has no context). */
enum { BY_SIZE, BY_LIFE, BY_AREA, N_ORDERS };
typedef struct block_key { double key, bytes; int first, block; } block_key;
static int cmp_block_key(const void *pa, const void *pb) {
  const block_key *a = (const block_key *)pa, *b = (const block_key *)pb;
  if (a->key != b->key) return a->key > b->key ? -1 : 1;
  if (a->bytes != b->bytes) return a->bytes > b->bytes ? -1 : 1;
  return a->first - b->first;
}
static void order_blocks(const mx_executor *e, int by, block_key *keys, int *order) {
  for (int i = 0; i < e->nblocks; i++) {
    const block *b = &e->blocks[i];
    double life = (double)(b->last - b->first + 1), bytes = (double)b->bytes;
    keys[i] = (block_key){by == BY_SIZE ? bytes : by == BY_LIFE ? life : bytes * life, bytes, b->first, i};
  }
  qsort(keys, (size_t)e->nblocks, sizeof *keys, cmp_block_key);
  for (int i = 0; i < e->nblocks; i++) order[i] = keys[i].block;
}

/* Offset of block b in the arena: the smallest gap, among the blocks
 * placed so far whose lifetimes meet b's (placed[0..np), by offset), that
 * holds it, else the end of the last of them. */
static size_t fit_offset(const mx_executor *e, const int *placed, int np, const block *b) {
  size_t end = 0, best = SIZE_MAX, gap = SIZE_MAX;
  for (int q = 0; q < np; q++) {
    const block *x = &e->blocks[placed[q]];
    if (!blocks_overlap(x, b)) continue;
    if (x->offset >= end && x->offset - end >= b->bytes && x->offset - end < gap) {
      gap = x->offset - end;
      best = end;
    }
    if (x->offset + x->bytes > end) end = x->offset + x->bytes;
  }
  return best != SIZE_MAX ? best : end;
}

/* Place the blocks in the given order (offsets into e->blocks; placed:
 * scratch for n ints); returns the arena's size. */
static size_t place_in_order(mx_executor *e, const int *order, int *placed, int plan_memory) {
  size_t total = 0;
  for (int i = 0, np = 0; i < e->nblocks; i++) {
    block *b = &e->blocks[order[i]];
    b->offset = plan_memory ? fit_offset(e, placed, np, b) : total;
    int at = np++;
    while (at > 0 && e->blocks[placed[at - 1]].offset > b->offset) {
      placed[at] = placed[at - 1];
      at--;
    }
    placed[at] = order[i];
    if (b->offset + b->bytes > total) total = b->offset + b->bytes;
  }
  return total;
}

/* Bytes of the blocks planned so far that are alive at each step. */
static int64_t *live_by_step(const mx_executor *e) {
  int64_t *live = (int64_t *)calloc((size_t)e->nsteps + 2, sizeof *live);
  if (!live) return NULL;
  for (int i = 0; i < e->nblocks; i++) {
    const block *b = &e->blocks[i];
    if (b->first < 0) continue;
    live[b->first] += (int64_t)b->bytes;
    live[(b->last < e->nsteps ? b->last : e->nsteps) + 1] -= (int64_t)b->bytes;
  }
  for (int t = 1; t <= e->nsteps; t++) live[t] += live[t - 1];
  return live;
}

/* The bytes of the blocks alive at the busiest step. */
static mx_status peak_live(mx_executor *e) {
  int64_t *live = live_by_step(e), peak = 0;
  if (!live) return oom();
  for (int t = 0; t <= e->nsteps; t++)
    if (live[t] > peak) peak = live[t];
  free(live);
  e->mem.peak_live_bytes = peak;
  return MX_OK;
}

/* Offsets of the blocks in one arena: blocks alive at the same step never
 * share bytes.  Each order of BY_* is placed greedily, each block in the
 * best-fitting gap; the smallest arena wins (without planning: one block
 * after another).  Sets mem.planned_bytes, the arena's size. */
static mx_status place_blocks(mx_executor *e, int plan_memory) {
  int n = e->nblocks, *order = ints(n, 0), *placed = ints(n, 0);
  size_t *best = (size_t *)malloc((size_t)(n > 0 ? n : 1) * sizeof *best);
  block_key *keys = (block_key *)malloc((size_t)(n > 0 ? n : 1) * sizeof *keys);
  if (!order || !placed || !best || !keys) {
    free(order); free(placed); free(best); free(keys);
    return oom();
  }
  size_t top = SIZE_MAX;
  for (int by = 0; by < (plan_memory ? N_ORDERS : 1); by++) {
    order_blocks(e, by, keys, order);
    size_t total = place_in_order(e, order, placed, plan_memory);
    if (total >= top) continue;
    top = total;
    for (int i = 0; i < n; i++) best[i] = e->blocks[i].offset;
  }
  for (int i = 0; i < n; i++) e->blocks[i].offset = best[i];
  e->mem.planned_bytes = n > 0 ? (int64_t)top : 0;
  free(order); free(placed); free(best); free(keys);
  return peak_live(e);
}

/* Phase: the blocks, from a simulated run over the steps (in-place
 * sharing and lifetimes); bind_place gives them their offsets. */
static mx_status bind_blocks(bind_ctx *c) {
  int *first_at = NULL, *first = NULL;
  mx_status rc = bufs_by_step(c->e, &first_at, &first);
  for (int t = 0; t < c->e->nsteps && rc == MX_OK; t++) rc = plan_step(c->e, &c->opts, first_at, first, t);
  free(first_at);
  free(first);
  return rc;
}

/* Phase: every block's place in the arena (values and workspaces). */
static mx_status bind_place(bind_ctx *c) { return place_blocks(c->e, c->opts.plan_memory); }

/* Phase: allocate the arena and the buffers' views on it. */
static mx_status bind_allocate(bind_ctx *c) {
  mx_executor *e = c->e;
  mx_status rc;
  size_t bytes = (size_t)e->mem.planned_bytes;
  if ((rc = mx_storage_alloc(bytes ? bytes : 1, c->ctx, &e->arena))) return rc;
  e->mem.n_blocks = e->nblocks;
  for (int b = 0; b < e->nbufs; b++) {
    buf *bb = &e->bufs[b];
    if (bb->external || bb->arr) {
      e->mem.external_bytes += (int64_t)buf_bytes(bb);
      continue;
    }
    if (bb->block < 0) continue;     /* never used */
    if ((rc = mx_ndarray_on_storage(e->arena, e->blocks[bb->block].offset, &bb->shape, bb->dtype,
                                    c->ctx, &bb->arr)))
      return rc;
  }
  return MX_OK;
}

/* Arrays of buffers idx[0..n) (-1: NULL) into *out. */
static mx_status resolve(const mx_executor *e, const int *idx, int n, mx_ndarray ***out) {
  *out = (mx_ndarray **)calloc((size_t)(n > 0 ? n : 1), sizeof(mx_ndarray *));
  if (!*out) return oom();
  for (int j = 0; j < n; j++) (*out)[j] = idx[j] >= 0 ? e->bufs[idx[j]].arr : NULL;
  return MX_OK;
}

/* Phase: every step gets the arrays it reads and writes. */
static mx_status bind_resolve_steps(bind_ctx *c) {
  mx_executor *e = c->e;
  for (int t = 0; t < e->nsteps; t++) {
    step *st = &e->steps[t];
    mx_status rc = MX_OK;
    if (st->kind == ST_FWD || st->kind == ST_RECOMP || st->kind == ST_BWD) {
      if ((rc = resolve(e, st->in, st->nin, &st->a_in)) == MX_OK)
        rc = resolve(e, st->out, st->nout, &st->a_out);
    }
    if (st->kind == ST_BWD && rc == MX_OK) {
      if ((rc = resolve(e, st->og, st->nout, &st->a_og)) == MX_OK)
        rc = resolve(e, st->ig, st->nin, &st->a_ig);
    }
    if (rc) return rc;
    if (st->phase == 0) e->mem.n_steps_forward++;
    else e->mem.n_steps_backward++;
  }
  return MX_OK;
}

/* Bytes of a fold's scale and shift at the end of the workspace. */
static size_t fold_bytes(const fold *f) { return mx_scratch_round((size_t)f->nch * 2 * sizeof(float)); }

/* Forward steps that read buffer b (a graph output counts as a reader too,
 * as step -1); *sole: the one step when there is exactly one. */
static int readers(const mx_executor *e, int b, int *sole) {
  int n = 0;
  *sole = -1;
  for (int h = 0; h < e->nheads; h++)
    if (e->head_buf[h] == b) n++;
  for (int t = 0; t < e->nfwd; t++) {
    const step *st = &e->steps[t];
    for (int j = 0; j < st->nin; j++)
      if (st->in[j] == b) n++, *sole = t;
  }
  if (n != 1) *sole = -1;
  return n;
}

/* The one forward step that reads buffer b, or -1 (none, several, or b is
 * a graph output). */
static int sole_reader(const mx_executor *e, int b) {
  int t;
  readers(e, b, &t);
  return t;
}

static const mx_op *step_op(const mx_executor *e, int t) { return e->order[e->steps[t].node]->op; }

/* Two planned buffers in one block (the later one took over in place). */
static int same_block(const mx_executor *e, int a, int b) {
  const buf *x = &e->bufs[a], *y = &e->bufs[b];
  return !x->external && !y->external && !x->keep && !y->keep && x->block >= 0 &&
         x->block == y->block && x->dtype == y->dtype && mx_shape_equal(&x->shape, &y->shape);
}

/* The fold that starts at forward step t (a convolution), if there is one. */
static int find_fold(const mx_executor *e, int t, fold *f) {
  const step *sc = &e->steps[t];
  const mx_op *op = step_op(e, t);
  if (sc->kind != ST_FWD || !op || !op->forward_epilogue || sc->nout != 1) return 0;
  int tb = sole_reader(e, sc->out[0]);
  if (tb < 0 || !step_op(e, tb) || !step_op(e, tb)->inference_affine) return 0;
  const step *sb = &e->steps[tb];
  if (sb->in[0] != sc->out[0] || e->bufs[sc->out[0]].shape.ndim < 2) return 0;
  int unused;
  for (int k = 1; k < sb->nout; k++)   /* the statistics outputs: nobody reads them */
    if (sb->out[k] >= 0 && (readers(e, sb->out[k], &unused) > 0 || e->bufs[sb->out[k]].keep)) return 0;
  f->conv = t;
  f->bn = tb;
  f->relu = sole_reader(e, sb->out[0]);
  const mx_op *rop = f->relu >= 0 ? step_op(e, f->relu) : NULL;
  const step *sr = f->relu >= 0 ? &e->steps[f->relu] : NULL;
  if (!rop || !rop->is_relu || !rop->is_relu(e->order[sr->node]->params) || sr->in[0] != sb->out[0] ||
      !same_block(e, sc->out[0], sr->out[0]))
    f->relu = -1;
  f->out = f->relu >= 0 ? sr->out[0] : sb->out[0];
  f->nch = e->bufs[sc->out[0]].shape.d[1];
  return same_block(e, sc->out[0], f->out);
}

/* Phase: inference folding (executors without backward, on the CPU). */
static mx_status bind_fold(bind_ctx *c) {
  mx_executor *e = c->e;
  if (!c->opts.fold || e->has_backward || e->ctx.dev_type != MX_CPU) return MX_OK;
  e->fold_of = ints(e->nsteps, -1);
  e->folds = (fold *)calloc((size_t)(e->nfwd > 0 ? e->nfwd : 1), sizeof(fold));
  if (!e->fold_of || !e->folds) return oom();
  for (int t = 0; t < e->nfwd; t++) {
    fold f;
    if (e->fold_of[t] >= 0 || !find_fold(e, t, &f)) continue;
    e->fold_of[f.conv] = e->fold_of[f.bn] = e->nfolds;
    if (f.relu >= 0) e->fold_of[f.relu] = e->nfolds;
    e->folds[e->nfolds++] = f;
  }
  e->mem.n_folded = e->nfolds;
  return MX_OK;
}

/* ------------------------------------------------------ blocked layouts */

/* Slot q of an op step (inputs, then outputs): its value's buffer *v and,
 * in backward, its gradient's *g (-1: none); returns the one that is
 * there (the value when both are). */
static int slot_bufs(const step *st, int q, int *v, int *g) {
  int in = q < st->nin, j = in ? q : q - st->nin;
  *v = in ? st->in[j] : st->out[j];
  *g = st->kind != ST_BWD ? -1 : in ? st->ig[j] : st->og[j];
  return *v >= 0 ? *v : *g;
}

/* The forward step of each node (-1: none); NULL when out of memory. */
static int *forward_steps(const mx_executor *e) {
  int *fwd_of = ints(e->nnodes, -1);
  for (int t = 0; fwd_of && t < e->nsteps; t++)
    if (e->steps[t].kind == ST_FWD) fwd_of[e->steps[t].node] = t;
  return fwd_of;
}

/* Whether buffer b can hold the blocked layout: 1 planned float32 (N, C, H,
 * W) with C % 16 == 0 and H W > 1; -1 such a value of H W == 1 (the same
 * bytes in both layouts: no constraint, passed plain); 0 never. */
static int lay_candidate(const buf *b) {
  if (b->external || b->keep || b->dtype != MX_FLOAT32 || b->shape.ndim != 4 || b->shape.d[1] % 16)
    return 0;
  return b->shape.d[2] * b->shape.d[3] > 1 ? 1 : -1;
}

static int uf_root(int *par, int a) {
  while (par[a] != a) a = par[a] = par[par[a]];
  return a;
}

/* Union-find over the buffers: groups that must share one layout, and
 * which groups must stay plain. */
typedef struct lay_ctx {
  const mx_executor *e;
  int *par;
  unsigned char *plain;   /* per buffer: a reader or writer needs it plain */
} lay_ctx;

static void lay_join(lay_ctx *L, int a, int b) {
  if (a < 0 || b < 0 || lay_candidate(&L->e->bufs[a]) < 0 || lay_candidate(&L->e->bufs[b]) < 0) return;
  int ra = uf_root(L->par, a), rb = uf_root(L->par, b);
  if (ra != rb) L->par[ra] = rb;
}

/* A step's modes per input slot, then output slot (all plain: an op
 * without the hook, or more slots than a mask has bits). */
static void step_modes(const mx_executor *e, const step *st, const int *fwd_of, unsigned char *mode) {
  const mx_node *x = e->order[st->node];
  memset(mode, MX_LAY_PLAIN, (size_t)(st->nin + st->nout));
  if (!x->op || !x->op->layouts || fwd_of[st->node] < 0) return;
  const step *f = &e->steps[fwd_of[st->node]];
  mx_shape in[MX_MAX_INPUTS], out[MX_MAX_OUTPUTS];
  for (int j = 0; j < f->nin; j++) in[j] = e->bufs[f->in[j]].shape;
  for (int k = 0; k < f->nout; k++) out[k] = e->bufs[f->out[k]].shape;
  x->op->layouts(x->params, f->nin, in, f->nout, out, mode);
}

/* The constraints of one op step: a value and its gradient share a
 * layout; TIED slots share one; PLAIN slots are plain. */
static void lay_step(lay_ctx *L, const step *st, const int *fwd_of) {
  unsigned char mode[2 * 32];
  int nslot = st->nin <= 32 && st->nout <= 32, anchor = -1, tied_plain = 0;
  if (nslot) step_modes(L->e, st, fwd_of, mode);
  for (int q = 0; q < st->nin + st->nout; q++) {
    int v, g, b = slot_bufs(st, q, &v, &g);
    int m = nslot ? mode[q] : MX_LAY_PLAIN;
    lay_join(L, v, g);
    if (b < 0) continue;
    int cand = lay_candidate(&L->e->bufs[b]);
    if (m == MX_LAY_PLAIN) L->plain[b] = 1;
    if (m == MX_LAY_TIED && cand == 0) tied_plain = 1;
    if (m == MX_LAY_TIED && cand > 0) {
      if (anchor >= 0) lay_join(L, anchor, b);
      else anchor = b;
    }
  }
  if (tied_plain && anchor >= 0) L->plain[anchor] = 1;   /* a tied slot that cannot be blocked */
}

/* MXNET_EXEC_BLOCKED=0 (read per bind) keeps every value plain. */
static int env_blocked(void) {
  const char *v = getenv("MXNET_EXEC_BLOCKED");
  return !(v && strcmp(v, "0") == 0);
}

/* The masks of each op step from its buffers' layouts (blocked[b]). */
static void lay_masks(mx_executor *e, const unsigned char *blocked) {
  for (int t = 0; t < e->nsteps; t++) {
    step *st = &e->steps[t];
    st->blk_in = st->blk_out = 0;
    if (st->kind != ST_FWD && st->kind != ST_RECOMP && st->kind != ST_BWD) continue;
    for (int q = 0; q < st->nin + st->nout; q++) {
      int v, g, b = slot_bufs(st, q, &v, &g), j = q < st->nin ? q : q - st->nin;
      if (b < 0 || !blocked[b] || j >= 32) continue;
      if (q < st->nin) st->blk_in |= 1u << j;
      else st->blk_out |= 1u << j;
    }
  }
}

/* Phase: which planned values (and their gradients) hold oneDNN's blocked
 * layout, so that no reorder runs between two convolutions: those whose
 * every reader and writer takes it (mx_layout_fn).  On the CPU only. */
static mx_status bind_layouts(bind_ctx *c) {
  mx_executor *e = c->e;
  if (e->ctx.dev_type != MX_CPU || !env_blocked()) return MX_OK;
  lay_ctx L = {e, ints(e->nbufs, 0), (unsigned char *)calloc((size_t)e->nbufs + 1, 1)};
  int *fwd_of = forward_steps(e);
  unsigned char *bad = (unsigned char *)calloc((size_t)e->nbufs + 1, 1);   /* per root */
  unsigned char *blocked = (unsigned char *)calloc((size_t)e->nbufs + 1, 1);
  if (!L.par || !L.plain || !fwd_of || !bad || !blocked) {
    free(L.par); free(L.plain); free(fwd_of); free(bad); free(blocked);
    return oom();
  }
  for (int b = 0; b < e->nbufs; b++) L.par[b] = b;
  for (int t = 0; t < e->nsteps; t++) {
    const step *st = &e->steps[t];
    if (st->kind == ST_COPY || st->kind == ST_ACC) lay_join(&L, st->src, st->dst);
    else if (st->kind != ST_ZERO) lay_step(&L, st, fwd_of);
  }
  for (int b = 0; b < e->nbufs; b++)
    if (L.plain[b] || lay_candidate(&e->bufs[b]) == 0) bad[uf_root(L.par, b)] = 1;
  for (int b = 0; b < e->nbufs; b++) {
    blocked[b] = lay_candidate(&e->bufs[b]) > 0 && !bad[uf_root(L.par, b)];
    e->mem.n_blocked += blocked[b];
  }
  lay_masks(e, blocked);
  free(L.par); free(L.plain); free(fwd_of); free(bad); free(blocked);
  return MX_OK;
}

/* The context of a call of op step st's kernel: threads, device, the
 * node's state, the layouts of its slots (the caller adds the rest). */
static void step_ctx(const mx_executor *e, const step *st, mx_op_ctx *kc) {
  memset(kc, 0, sizeof *kc);
  kc->nthreads = mx_threads_get();
  kc->ctx = e->ctx;
  kc->is_train = e->is_train;
  kc->state = &e->state[st->node];
  kc->blocked_in = st->blk_in;
  kc->blocked_out = st->blk_out;
}

/* The scratch one step's kernel asks for; fwd_of: the node's forward step
 * (its inputs' shapes serve the backward call too).  A folded
 * convolution's step also needs its call with the epilogue (asked last, so
 * that a kernel building per-node state keeps that one) and the fold's
 * scale and shift. */
static size_t step_workspace(mx_executor *e, int t, const int *fwd_of, mx_shape *in, int lean) {
  const step *st = &e->steps[t];
  const mx_node *x = e->order[st->node];
  mx_workspace_fn fn = e->kern[st->node].workspace;
  if (!fn || (st->kind != ST_FWD && st->kind != ST_RECOMP && st->kind != ST_BWD)) return 0;
  const step *f = fwd_of[st->node] >= 0 ? &e->steps[fwd_of[st->node]] : st;
  int dtype = -1;
  for (int j = 0; j < f->nin && j < MX_MAX_INPUTS; j++) {
    if (f->in[j] < 0) { in[j].ndim = -1; continue; }
    in[j] = e->bufs[f->in[j]].shape;
    if (dtype < 0) dtype = e->bufs[f->in[j]].dtype;
  }
  mx_op_ctx kc;
  step_ctx(e, st, &kc);
  kc.workspace_lean = lean;
  size_t need = fn(&kc, x->params, f->nin, in, dtype, st->kind == ST_BWD);
  const fold *fd = e->fold_of && e->fold_of[t] >= 0 ? &e->folds[e->fold_of[t]] : NULL;
  if (fd && fd->conv == t) {
    size_t n = mx_scratch_round(fn(&kc, x->params, f->nin, in, dtype, 2 + (fd->relu >= 0))) +
               fold_bytes(fd);
    if (n > need) need = n;
  }
  return need;
}

/* Which steps plan their kernel's leanest variant (lean[t] = 1): those
 * whose fastest one's scratch would take the step above the peak of the
 * plan with the leanest scratch everywhere.  A node's steps of one kind
 * (forward and recompute; backward) share its state, so one lean step
 * makes them all lean.  need, lean_need: each step's scratch with its
 * kernel's fastest and leanest variants. */
static mx_status choose_lean(mx_executor *e, size_t *need, const size_t *lean_need, int *lean) {
  int64_t *live = live_by_step(e), peak = 0;
  unsigned char *nk = (unsigned char *)calloc((size_t)e->nnodes * 2 + 1, 1);
  if (!live || !nk) {
    free(live); free(nk);
    return oom();
  }
  for (int t = 0; t < e->nsteps; t++) {
    int64_t at = live[t] + (int64_t)mx_scratch_round(lean_need[t]);
    if (at > peak) peak = at;
  }
  for (int t = 0; t < e->nsteps; t++)
    if (need[t] > lean_need[t] && live[t] + (int64_t)mx_scratch_round(need[t]) > peak)
      nk[e->steps[t].node * 2 + (e->steps[t].kind == ST_BWD)] = 1;
  for (int t = 0; t < e->nsteps; t++) lean[t] = nk[e->steps[t].node * 2 + (e->steps[t].kind == ST_BWD)];
  free(live);
  free(nk);
  return MX_OK;
}

/* Phase: each step's kernel scratch as a block of the arena alive during
 * that step alone (steps run one at a time), so that a large workspace
 * takes memory only where nothing else is alive; without planning, one
 * block of the largest need that every step shares.  With planning, a
 * kernel whose fastest variant needs more scratch than its leanest (the
 * convolution's Winograd) runs the fastest only where that does not raise
 * the plan's peak (choose_lean). */
static mx_status bind_workspace(bind_ctx *c) {
  mx_executor *e = c->e;
  int *fwd_of = forward_steps(e), *lean = ints(e->nsteps, 0);
  mx_shape *in = (mx_shape *)malloc(MX_MAX_INPUTS * sizeof(mx_shape));
  size_t *need = (size_t *)calloc((size_t)e->nsteps + 1, sizeof *need);
  size_t *lean_need = (size_t *)calloc((size_t)e->nsteps + 1, sizeof *lean_need);
  e->ws_block = ints(e->nsteps, -1);
  mx_status rc = !fwd_of || !lean || !in || !need || !lean_need || !e->ws_block ? oom() : MX_OK;
  int tradeoff = 0;
  for (int t = 0; t < e->nsteps && rc == MX_OK; t++) {
    need[t] = step_workspace(e, t, fwd_of, in, 0);
    lean_need[t] = need[t] && c->opts.plan_memory ? step_workspace(e, t, fwd_of, in, 1) : need[t];
    tradeoff |= lean_need[t] != need[t];
  }
  if (rc == MX_OK && tradeoff) rc = choose_lean(e, need, lean_need, lean);
  int shared = -1;
  for (int t = 0; t < e->nsteps && rc == MX_OK; t++) {
    /* the last call per node sets its variant: ask again in the chosen mode */
    if (need[t] && c->opts.plan_memory) need[t] = step_workspace(e, t, fwd_of, in, lean[t]);
    if (need[t] == 0) continue;
    if ((size_t)e->mem.workspace_bytes < need[t]) e->mem.workspace_bytes = (int64_t)need[t];
    int b = c->opts.plan_memory || shared < 0 ? new_block(e, need[t]) : shared;
    if (b < 0) { rc = oom(); break; }
    block *bl = &e->blocks[b];
    if (bl->bytes < mx_scratch_round(need[t])) bl->bytes = mx_scratch_round(need[t]);
    if (bl->first < 0 || bl->first > t) bl->first = t;
    if (bl->last < t) bl->last = t;
    if (!c->opts.plan_memory) shared = b;
    e->ws_block[t] = b;
  }
  e->mem.unplanned_bytes += e->mem.workspace_bytes;   /* one shared block, unplanned */
  free(fwd_of); free(lean); free(in); free(need); free(lean_need);
  return rc;
}

/* The scratch of step t: its block of the arena (NULL, 0: none). */
static void step_scratch(const mx_executor *e, int t, void **ptr, size_t *bytes) {
  int b = e->ws_block ? e->ws_block[t] : -1;
  *ptr = b >= 0 ? (char *)e->arena->data + e->blocks[b].offset : NULL;
  *bytes = b >= 0 ? e->blocks[b].bytes : 0;
}

/* Binding is a fixed sequence of phases over one bind_ctx; each phase
 * either completes or returns an error, after which the partly built
 * executor is freed as a whole. */
static const bind_phase bind_phases[] = {
  bind_setup,            /* graph order, tables, argument names           */
  bind_check_arrays,     /* devices, shapes and types of the arrays       */
  bind_forward_values,   /* a buffer per forward value                    */
  bind_heads,            /* graph outputs kept                             */
  bind_forward_steps,    /* FWD steps                                      */
  bind_grad_needs,       /* which values need gradients                    */
  bind_grad_buffers,     /* gradient buffers and head gradients            */
  bind_backward_steps,   /* COPY / ZERO / BWD / ACC steps                  */
  bind_mirror,           /* RECOMP steps (opts.mirror)                     */
  bind_lifetimes,        /* first write, last read of each buffer          */
  bind_blocks,           /* blocks: in-place sharing, lifetimes            */
  bind_fold,             /* inference folding                              */
  bind_layouts,          /* blocked activations between convolutions       */
  bind_workspace,        /* a scratch block per step that needs one        */
  bind_place,            /* the blocks' places in the arena                */
  bind_allocate,         /* the arena and the buffers' views               */
  bind_resolve_steps,    /* arrays per step                                */
};
#define N_BIND_PHASES (sizeof bind_phases / sizeof bind_phases[0])

/* The first nphases phases for a copy of c0 (mirror chains of at most
 * depth ops); the executor in *out (NULL after an error). */
static mx_status bind_run(const bind_ctx *c0, int depth, size_t nphases, mx_executor **out) {
  bind_ctx c = *c0;
  c.mirror_depth = depth;
  c.e = (mx_executor *)calloc(1, sizeof *c.e);
  *out = NULL;
  if (!c.e) return oom();
  c.e->ctx = c.ctx;
  mx_status rc = MX_OK;
  for (size_t p = 0; p < nphases && rc == MX_OK; p++) rc = bind_phases[p](&c);
  bind_ctx_free(&c);
  if (rc) mx_executor_free(c.e);
  else *out = c.e;
  return rc;
}

/* Mirror: the chain limit D whose plan needs the smallest arena (ties: the
 * smaller D, more checkpoints).  Planning alone allocates no storage. */
static mx_status best_mirror_depth(const bind_ctx *c0, int *depth) {
  static const int cand[] = {2, 3, 5, 8, 11, 16, 24, 40};
  size_t nplan = 0, best = SIZE_MAX;     /* the phases up to the blocks */
  while (bind_phases[nplan++] != bind_blocks) {}
  *depth = 3;
  for (size_t k = 0; k < sizeof cand / sizeof cand[0]; k++) {
    mx_executor *e;
    mx_status rc = bind_run(c0, cand[k], nplan, &e);
    if (rc == MX_OK && (rc = place_blocks(e, 1)) != MX_OK) mx_executor_free(e);
    if (rc) return rc;
    if ((size_t)e->mem.planned_bytes < best) {
      best = (size_t)e->mem.planned_bytes;
      *depth = cand[k];
    }
    mx_executor_free(e);
  }
  return MX_OK;
}

/* The graph with float32 copies where half values meet kernels that do not
 * take them (bridge.c); NULL when the arrays are incomplete (the phases
 * report it) or nothing needs copies. */
static mx_status bridge_half(const bind_ctx *c, mx_symbol **out) {
  *out = NULL;
  int *at = ints(c->nargs + 1, 0), *xt = ints(c->naux + 1, 0);
  mx_status rc = !at || !xt ? oom() : MX_OK;
  int complete = 1;
  for (int i = 0; i < c->nargs && complete; i++)
    if (c->args[i]) at[i] = mx_ndarray_dtype(c->args[i]);
    else complete = 0;
  for (int i = 0; i < c->naux && complete; i++)
    if (c->aux[i]) xt[i] = mx_ndarray_dtype(c->aux[i]);
    else complete = 0;
  if (rc == MX_OK && complete)
    rc = mx_graph_bridge_half(c->s, c->ctx, at, c->nargs, xt, c->naux, out);
  free(at);
  free(xt);
  return rc;
}

mx_status mx_executor_bind(const mx_symbol *s, mx_context ctx,
                           mx_ndarray *const *args, int nargs,
                           mx_ndarray *const *grads, const int *grad_req,
                           mx_ndarray *const *aux, int naux,
                           const mx_exec_opts *opts, mx_executor **out) {
  *out = NULL;
  mx_status rc = mx_context_check(ctx);
  if (rc) return rc;
  bind_ctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.ctx = ctx;
  c.opts = opts ? *opts : (mx_exec_opts){1, 1, 0, 1, 0};
  c.args = args;
  c.nargs = nargs;
  c.grads = grads;
  c.grad_req = grad_req;
  c.aux = aux;
  c.naux = naux;
  mx_symbol *bridged = NULL;
  if ((rc = bridge_half(&c, &bridged))) return rc;
  if (bridged) c.s = bridged;
  int depth = 3;
  if (!(c.opts.mirror && (rc = best_mirror_depth(&c, &depth))))
    rc = bind_run(&c, depth, N_BIND_PHASES, out);
  mx_symbol_free(bridged);
  return rc;
}

/* -------------------------------------------------------------------- run */

static double now_seconds(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static mx_status run_step(mx_executor *e, int t) {
  step *st = &e->steps[t];
  mx_node *x = e->order[st->node];
  mx_op_ctx kc;
  step_ctx(e, st, &kc);
  /* one stream per node and call: forward and recomputation draw the same */
  mx_rng_init(&kc.rng, e->seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(st->node + 1)));
  kc.recompute = st->kind == ST_RECOMP;
  step_scratch(e, t, &kc.workspace, &kc.workspace_bytes);
  mx_status rc = MX_OK;
  switch (st->kind) {
    case ST_FWD:
    case ST_RECOMP: {
      int req[MX_MAX_OUTPUTS];
      for (int k = 0; k < st->nout; k++) req[k] = MX_REQ_WRITE;
      rc = mx_op_run_forward(x->op, &e->kern[st->node], &kc, x->params, st->a_in, st->nin,
                             st->a_out, st->nout, req);
      break;
    }
    case ST_BWD: {
      rc = mx_op_run_backward(x->op, &e->kern[st->node], &kc, x->params, st->a_og, st->nout,
                              st->a_in, st->nin, st->a_out, st->a_ig, st->req);
      break;
    }
    case ST_COPY:
      rc = mx_ndarray_copy_into(e->bufs[st->src].arr, e->bufs[st->dst].arr);
      break;
    case ST_ACC:
      rc = mx_ndarray_add_into(e->bufs[st->dst].arr, e->bufs[st->src].arr);
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

/* A fold's convolution with the BatchNorm's map (and relu) as epilogue;
 * MX_ERR_UNSUPPORTED (no error): run the three steps instead. */
static mx_status run_fold(mx_executor *e, fold *f) {
  step *sc = &e->steps[f->conv], *sb = &e->steps[f->bn];
  const mx_node *xc = e->order[sc->node], *xb = e->order[sb->node];
  void *ws;
  size_t fb = fold_bytes(f), total;
  step_scratch(e, f->conv, &ws, &total);
  if (total < fb) return MX_ERR_UNSUPPORTED;
  size_t at = (total - fb) & ~(size_t)63;
  float *scale = (float *)(void *)((char *)ws + at), *shift = scale + f->nch;
  mx_status rc = xb->op->inference_affine(xb->params, sb->a_in, sb->nin, scale, shift, f->nch);
  if (rc) return rc;
  mx_op_ctx kc;
  step_ctx(e, sc, &kc);
  kc.workspace = ws;
  kc.workspace_bytes = at;
  mx_epilogue ep = {scale, shift, f->relu >= 0};
  rc = xc->op->forward_epilogue(&kc, xc->params, sc->a_in, sc->nin, e->bufs[f->out].arr, &ep);
  if (rc && rc != MX_ERR_UNSUPPORTED) mx_error_prefix(rc, "%s (%s, folded): ", xc->name, xc->op->name);
  return rc;
}

/* Inference folding at step t: 1 when the step is done (run folded, or
 * skipped because its fold ran), 0 when it runs as usual. */
static int folded_step(mx_executor *e, int t, mx_status *rc) {
  *rc = MX_OK;
  if (!e->fold_of || e->fold_of[t] < 0 || e->is_train) return 0;
  fold *f = &e->folds[e->fold_of[t]];
  if (t != f->conv) return f->done;
  *rc = run_fold(e, f);
  if (*rc == MX_ERR_UNSUPPORTED) *rc = MX_OK;
  else f->done = *rc == MX_OK;
  return f->done || *rc;
}

static mx_status run_range(mx_executor *e, int from, int to) {
  for (int t = from; t < to; t++) {
    if (mx_abort_requested()) return mx_error(MX_ERR_ABORTED, "interrupted");
    double t0 = e->profiling ? now_seconds() : 0;
    mx_status rc;
    if (!folded_step(e, t, &rc)) rc = run_step(e, t);
    /* a GPU step only queues its work: the profile waits for it */
    if (!rc && e->profiling && e->ctx.dev_type == MX_GPU) rc = mx_device_sync(e->ctx.dev_id);
    if (rc) return rc;
    if (e->profiling) {
      e->steps[t].seconds += now_seconds() - t0;
      e->steps[t].calls++;
    }
    if (e->step_hook && t >= e->nfwd) e->step_hook(e->step_user, t);
  }
  return MX_OK;
}

void mx_executor_set_step_hook(mx_executor *e, mx_exec_step_fn fn, void *user) {
  e->step_hook = fn;
  e->step_user = user;
}

/* A gradient array's last use is its final write: gradients are written
 * (or accumulated into) by backward and read by no later step.  The array
 * is the caller's (an external buffer) or a view of a planned gradient (a
 * kept buffer, mx_executor_grad). */
int mx_executor_final_step(const mx_executor *e, const mx_ndarray *a) {
  for (int i = 0; i < e->nbufs; i++) {
    const buf *b = &e->bufs[i];
    if ((b->external || b->keep) && b->arr && mx_ndarray_same(b->arr, a))
      return b->last >= e->nfwd ? b->last : -1;
  }
  return -1;
}

mx_status mx_executor_forward(mx_executor *e, int is_train, uint64_t seed) {
  e->is_train = is_train;
  e->seed = seed;
  for (int i = 0; i < e->nfolds; i++) e->folds[i].done = 0;
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

mx_status mx_executor_grad(const mx_executor *e, int a, mx_ndarray **out) {
  *out = NULL;
  int b = e->arg_grad && a >= 0 && a < e->nargs ? e->arg_grad[a] : -1;
  if (b < 0) return mx_error(MX_ERR_ARG, "argument %d has no planned gradient", a + 1);
  if (!e->bufs[b].arr) return mx_error(MX_ERR_INTERNAL, "the gradient of argument %d has no array", a + 1);
  return mx_ndarray_view(e->bufs[b].arr, out);
}

void mx_executor_memory(const mx_executor *e, mx_exec_memory *out) {
  *out = e->mem;
  out->cached_bytes = 0;
  for (int i = 0; i < e->nnodes; i++) {
    const mx_op *op = e->order[i]->op;
    if (e->state && e->state[i] && op && op->state_bytes)
      out->cached_bytes += (int64_t)op->state_bytes(e->state[i]);
  }
}

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
