/*
 * bridge.c -- half precision in executors.
 *
 * float16 and bfloat16 are storage types: most kernels compute in float32.
 * The imperative invoker bridges a call through float32 copies.  For an
 * executor the bridge is a rewrite of the graph before binding: each op
 * node that meets a half value its kernel on the executor's device does not
 * take (mx_op_native_dtype) reads Cast(float32) copies of its half inputs,
 * and each of its visible outputs that type inference makes half is cast
 * back where something needs it in half precision: a node that takes half
 * natively, or the executor's outputs.  Between bridged nodes values stay
 * in float32 (as in MXNet's AMP, whose float32 ops pass float32 on): no
 * round trip through half precision, which would cost memory and a
 * rounding per op.  The copies are ordinary nodes, so the memory planner
 * plans them, the mirror may recompute them, and the gradients flow
 * through Cast's backward (the gradient of a half value is half, as its
 * value).  A value is converted at most once each way.
 *
 * Nodes with a half auxiliary state are left alone: computing them on
 * copies would drop the state's update (the executor then refuses them, as
 * before).  BatchNorm keeps float32 parameters and statistics for half
 * data, as MXNet does, so it is bridged (bfloat16) or native (float16 on
 * the CPU) without that problem.
 */
#include "../include/mx-graph.h"
#include "../include/mx-gpu.h"
#include "../include/mx-op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_half(int t) { return t == MX_FLOAT16 || t == MX_BFLOAT16; }

typedef struct bridge {
  mx_context ctx;
  int nargs, naux;    /* the executor's arrays (their dtypes given) */
  mx_node **order;
  int n;
  mx_node_index *ix;
  int *off;           /* first slot of node i; slots are node outputs */
  int *type;          /* per slot: inferred dtype (-1 unknown)        */
  mx_entry *map;      /* per slot: the entry in the new graph (node
                         NULL: not made yet, the value is as_f32's)   */
  mx_entry *as_f32;   /* per slot: it in float32, node NULL: none yet  */
  mx_node **made;     /* nodes created here (one reference each)       */
  int nmade, capmade;
  const mx_op *cast;
  int cast_dtype;     /* Cast's parameter index                        */
} bridge;

static mx_status keep(bridge *b, mx_node *x) {
  if (b->nmade == b->capmade) {
    int cap = b->capmade ? 2 * b->capmade : 64;
    mx_node **m = (mx_node **)realloc(b->made, (size_t)cap * sizeof *m);
    if (!m) {
      mx_node_release(x);
      return mx_error(MX_ERR_NOMEM, "out of memory");
    }
    b->made = m;
    b->capmade = cap;
  }
  b->made[b->nmade++] = x;
  return MX_OK;
}

/* A new Cast node of entry src to dtype t, named after src's value. */
static mx_status cast_node(bridge *b, mx_entry src, int t, mx_entry *out) {
  mx_param_value vals[MX_MAX_PARAMS];
  const char *tn = mx_dtype_name(t);
  mx_status rc = mx_op_params_init(b->cast, vals);
  if (!rc) rc = mx_op_param_set_str(b->cast, vals, b->cast_dtype, tn);
  if (rc) return rc;
  char name[320];
  mx_node_output_name(src.node, src.index, name, 256);
  size_t len = strlen(name);
  snprintf(name + len, sizeof name - len, "_%s", tn);
  const char *key = "dtype";
  mx_node *x;
  if ((rc = mx_node_new_op(b->cast, vals, name, &key, &tn, 1, &src, 1, &x))) return rc;
  if ((rc = keep(b, x))) return rc;
  out->node = x;
  out->index = 0;
  return MX_OK;
}

/* Slot s in its own (half) dtype: a Cast of its float32 version, made on
 * first use. */
static mx_status half_entry(bridge *b, int s, mx_entry *out) {
  mx_status rc;
  if (!b->map[s].node && (rc = cast_node(b, b->as_f32[s], b->type[s], &b->map[s]))) return rc;
  *out = b->map[s];
  return MX_OK;
}

/* Slot s in float32: a bridged node's output as it is, else a Cast made on
 * first use. */
static mx_status f32_entry(bridge *b, int s, mx_entry *out) {
  mx_status rc;
  if (!b->as_f32[s].node && (rc = cast_node(b, b->map[s], MX_FLOAT32, &b->as_f32[s]))) return rc;
  *out = b->as_f32[s];
  return MX_OK;
}

/* The dtypes of node i's inputs and outputs (outputs -1 when inference
 * fails: the node is then left to the executor, which reports it). */
static void node_types(bridge *b, int i, int *in_t, int *out_t) {
  const mx_node *x = b->order[i];
  for (int j = 0; j < x->ninputs; j++)
    in_t[j] = b->type[b->off[mx_node_index_get(b->ix, x->inputs[j].node)] + x->inputs[j].index];
  for (int k = 0; k < x->nout; k++) out_t[k] = -1;
  mx_infer_type_fn f = x->op->infer_type ? x->op->infer_type : mx_infer_type_same;
  if (f(x->params, x->ninputs, in_t, x->nout, out_t)) {
    mx_error_clear();
    for (int k = 0; k < x->nout; k++) out_t[k] = -1;
  }
}

/* Does node i need float32 copies on this device? */
static int needs_bridge(const bridge *b, int i, const int *in_t, const int *out_t) {
  const mx_node *x = b->order[i];
  int half = 0;
  for (int j = 0; j < x->ninputs; j++) {
    if (!is_half(in_t[j]) || mx_op_native_dtype(x->op, b->ctx, in_t[j])) continue;
    if (j >= x->ninputs - x->naux) return 0;    /* a half state: never */
    half = 1;
  }
  for (int k = 0; k < x->nvis; k++)
    if (is_half(out_t[k]) && !mx_op_native_dtype(x->op, b->ctx, out_t[k])) half = 1;
  return half;
}

/* Node i of the new graph: itself when nothing changes, else a copy whose
 * half inputs are float32 copies (bridged) or whose inputs were rebuilt.
 * A bridged node's half outputs are left in float32 (half_entry converts
 * them for whoever needs them so). */
static mx_status rebuild(bridge *b, int i) {
  mx_node *x = b->order[i];
  int in_t[MX_MAX_INPUTS], out_t[MX_MAX_OUTPUTS];
  node_types(b, i, in_t, out_t);
  int bridged = needs_bridge(b, i, in_t, out_t), moved = 0;
  mx_entry ins[MX_MAX_INPUTS];
  mx_status rc;
  for (int j = 0; j < x->ninputs; j++) {
    int s = b->off[mx_node_index_get(b->ix, x->inputs[j].node)] + x->inputs[j].index;
    rc = bridged && is_half(in_t[j]) ? f32_entry(b, s, &ins[j]) : half_entry(b, s, &ins[j]);
    if (rc) return rc;
    moved |= ins[j].node != x->inputs[j].node || ins[j].index != x->inputs[j].index;
  }
  int *ty = b->type + b->off[i];
  for (int k = 0; k < x->nout; k++) ty[k] = out_t[k];
  mx_entry *mp = b->map + b->off[i];
  for (int k = 0; k < x->nout; k++) mp[k] = (mx_entry){x, k};
  if (!moved) return MX_OK;
  mx_node *y;
  if ((rc = mx_node_new_op(x->op, x->params, x->name, (const char *const *)x->attr_keys,
                           (const char *const *)x->attr_vals, x->nattr, ins, x->ninputs, &y)) ||
      (rc = keep(b, y)))
    return rc;
  for (int k = 0; k < x->nout; k++) {
    mp[k] = (mx_entry){y, k};
    if (bridged && k < x->nvis && is_half(out_t[k])) {
      b->as_f32[b->off[i] + k] = mp[k];
      mp[k].node = NULL;
    }
  }
  return MX_OK;
}

static mx_status bridge_run(bridge *b, const mx_symbol *s, const int *arg_t, const int *aux_t,
                            mx_symbol **out) {
  mx_status rc;
  if ((rc = mx_graph_topo(s, &b->order, &b->n)) || (rc = mx_node_index_new(b->order, b->n, &b->ix)))
    return rc;
  int n = b->n;
  unsigned char *isaux = (unsigned char *)malloc((size_t)(n > 0 ? n : 1));
  b->off = (int *)calloc((size_t)n + 1, sizeof(int));
  if (!isaux || !b->off) {
    free(isaux);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < n; i++) b->off[i + 1] = b->off[i] + b->order[i]->nout;
  int slots = b->off[n];
  b->type = (int *)malloc((size_t)(slots > 0 ? slots : 1) * sizeof(int));
  b->map = (mx_entry *)malloc((size_t)(slots > 0 ? slots : 1) * sizeof(mx_entry));
  b->as_f32 = (mx_entry *)calloc((size_t)(slots > 0 ? slots : 1), sizeof(mx_entry));
  if (!b->type || !b->map || !b->as_f32) {
    free(isaux);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  mx_graph_aux_flags(b->order, n, b->ix, isaux);
  int ka = 0, kx = 0, fits = 1;   /* variables come in the executor's argument order */
  for (int i = 0; i < n && rc == MX_OK && fits; i++) {
    mx_node *x = b->order[i];
    if (x->op) {
      rc = rebuild(b, i);
      continue;
    }
    if (!(fits = isaux[i] ? kx < b->naux : ka < b->nargs)) break;   /* too few arrays */
    b->type[b->off[i]] = isaux[i] ? aux_t[kx++] : arg_t[ka++];
    b->map[b->off[i]] = (mx_entry){x, 0};
  }
  free(isaux);
  /* a count that differs from the graph's: no bridge, the executor reports it */
  if (rc || b->nmade == 0 || !fits || ka != b->nargs || kx != b->naux) return rc;
  mx_entry *heads = (mx_entry *)malloc((size_t)(s->nheads > 0 ? s->nheads : 1) * sizeof *heads);
  if (!heads) return mx_error(MX_ERR_NOMEM, "out of memory");
  for (int h = 0; h < s->nheads && rc == MX_OK; h++)
    rc = half_entry(b, b->off[mx_node_index_get(b->ix, s->heads[h].node)] + s->heads[h].index, &heads[h]);
  if (rc == MX_OK) rc = mx_symbol_from_entries(heads, s->nheads, out);
  free(heads);
  return rc;
}

mx_status mx_graph_bridge_half(const mx_symbol *s, mx_context ctx, const int *arg_t, int nargs,
                               const int *aux_t, int naux, mx_symbol **out) {
  *out = NULL;
  bridge b;
  memset(&b, 0, sizeof b);
  b.ctx = ctx;
  b.nargs = nargs;
  b.naux = naux;
  b.cast = mx_op_find("Cast");
  b.cast_dtype = b.cast ? mx_op_param_index(b.cast, "dtype") : -1;
  if (b.cast_dtype < 0) return mx_error(MX_ERR_INTERNAL, "the Cast op is missing");
  mx_status rc = bridge_run(&b, s, arg_t, aux_t, out);
  for (int i = 0; i < b.nmade; i++) mx_node_release(b.made[i]);
  free(b.made);
  free(b.order);
  if (b.ix) mx_node_index_free(b.ix);
  free(b.off); free(b.type); free(b.map); free(b.as_f32);
  return rc;
}
