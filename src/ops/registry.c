/*
 * registry.c -- the op table, lookup by name or alias, shared inference
 * helpers, and imperative invocation (mx_op_invoke).
 */
#include "../include/mx-gpu.h"
#include "../include/mx-executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mx_op *const families[] = {
  mx_ops_elemwise, mx_ops_unary, mx_ops_reduce, mx_ops_matmul,
  mx_ops_shape, mx_ops_index, mx_ops_random, mx_ops_conv, mx_ops_nn,
  mx_ops_optimizer, mx_ops_layers, mx_ops_sequence, mx_ops_spatial,
  mx_ops_tensor, mx_ops_linalg, mx_ops_sample, mx_ops_rnn,
  mx_ops_sparse,
  mx_ops_random_pdf, mx_ops_nn_extra,
};

/* Lookup table: open addressing over names and aliases, at most half full. */
#define HASH_SIZE 4096
static const mx_op *all_ops[MX_MAX_OPS];
static int n_ops = -1, n_keys;
static mx_status build_status;
static struct { const char *key; const mx_op *op; } table[HASH_SIZE];

static uint32_t str_hash(const char *s) {
  return (uint32_t)mx_hash_bytes(s, strlen(s), 0);
}

/* A name or alias used twice is an error, never a silent shadowing. */
static mx_status table_put(const char *key, const mx_op *op) {
  if (n_keys >= HASH_SIZE / 2)
    return mx_error(MX_ERR_INTERNAL, "op registry: more than %d names and aliases", HASH_SIZE / 2);
  uint32_t h = str_hash(key) & (HASH_SIZE - 1);
  while (table[h].key) {
    if (strcmp(table[h].key, key) == 0)
      return mx_error(MX_ERR_INTERNAL, "op registry: '%s' (op %s) is already registered by op %s",
                      key, op->name, table[h].op->name);
    h = (h + 1) & (HASH_SIZE - 1);
  }
  table[h].key = key;
  table[h].op = op;
  n_keys++;
  return MX_OK;
}

/* The parameter table is indexed by the op's enum (docs/adding-an-op.md):
 * every slot named (a hole means an enum value without an entry), names
 * unique, and within the limit callers size their value arrays by. */
static mx_status check_params(const mx_op *op) {
  if (op->num_params < 0 || op->num_params > MX_MAX_PARAMS)
    return mx_error(MX_ERR_INTERNAL, "op %s: %d parameters (at most %d)", op->name,
                    op->num_params, MX_MAX_PARAMS);
  for (int i = 0; i < op->num_params; i++) {
    if (!op->params[i].name)
      return mx_error(MX_ERR_INTERNAL, "op %s: parameter slot %d has no entry", op->name, i);
    for (int j = 0; j < i; j++)
      if (strcmp(op->params[i].name, op->params[j].name) == 0)
        return mx_error(MX_ERR_INTERNAL, "op %s: parameter '%s' appears twice", op->name,
                        op->params[i].name);
  }
  return MX_OK;
}

static mx_status register_op(const mx_op *op) {
  if (n_ops >= MX_MAX_OPS)
    return mx_error(MX_ERR_INTERNAL, "op registry: more than MX_MAX_OPS (%d) ops; op %s not added",
                    MX_MAX_OPS, op->name);
  mx_status st = check_params(op);
  if (st == MX_OK) st = table_put(op->name, op);
  for (int a = 0; st == MX_OK && a < 4 && op->aliases[a]; a++) st = table_put(op->aliases[a], op);
  if (st == MX_OK) all_ops[n_ops++] = op;
  return st;
}

/* Builds once; a failure is kept and returned by every later call. */
static mx_status registry_build(void) {
  if (n_ops >= 0) return build_status;
  n_ops = 0;
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
    for (const mx_op *op = families[f]; op->name && build_status == MX_OK; op++)
      build_status = register_op(op);
  return build_status;
}

mx_status mx_engine_init(void) {
  mx_status st = registry_build();
  if (st != MX_OK)
    return mx_error_prefix(st, "the op registry is inconsistent (a bug in this build of mxnet): ");
  (void)mx_threads_get();
  return MX_OK;
}

int mx_op_count(void) {
  (void)registry_build();
  return n_ops;
}

const mx_op *mx_op_at(int i) {
  (void)registry_build();
  return (i >= 0 && i < n_ops) ? all_ops[i] : NULL;
}

const mx_op *mx_op_find(const char *name) {
  (void)registry_build();
  if (!name) return NULL;
  uint32_t h = str_hash(name) & (HASH_SIZE - 1);
  while (table[h].key) {
    if (strcmp(table[h].key, name) == 0) return table[h].op;
    h = (h + 1) & (HASH_SIZE - 1);
  }
  return NULL;
}

const char *mx_op_name(const mx_op *op) { return op->name; }
int mx_op_flags(const mx_op *op) { return op->flags; }
const char *mx_op_doc(const mx_op *op) { return op->doc ? op->doc : ""; }
const char *mx_op_alias(const mx_op *op, int k) {
  return (k >= 0 && k < 4) ? op->aliases[k] : NULL;
}
int mx_op_declared_inputs(const mx_op *op) { return op->num_inputs; }
const char *mx_op_input_name(const mx_op *op, int k) {
  if (!op->input_names) return NULL;
  for (int i = 0; op->input_names[i]; i++)
    if (i == k) return op->input_names[i];
  return NULL;
}
int mx_op_declared_outputs(const mx_op *op) { return op->num_outputs; }
const char *mx_op_param_default(const mx_op *op, int i) {
  return (i >= 0 && i < op->num_params) ? op->params[i].def : NULL;
}
const char *mx_op_param_choices(const mx_op *op, int i) {
  return (i >= 0 && i < op->num_params) ? op->params[i].choices : NULL;
}
int mx_op_param_flags(const mx_op *op, int i) {
  return (i >= 0 && i < op->num_params) ? op->params[i].flags : 0;
}
const char *mx_op_param_doc(const mx_op *op, int i) {
  return (i >= 0 && i < op->num_params && op->params[i].doc) ? op->params[i].doc : "";
}

int mx_op_num_inputs(const mx_op *op, const mx_param_value *vals) {
  if (op->list_inputs) {
    const char *names[MX_MAX_INPUTS];
    return op->list_inputs(vals, names, MX_MAX_INPUTS);
  }
  if (op->num_inputs >= 0) return op->num_inputs;
  int k = mx_op_param_index(op, "num_args");
  if (k < 0 || !vals[k].is_set) return -1;
  return (int)vals[k].i;
}

int mx_op_num_outputs(const mx_op *op, const mx_param_value *vals) {
  if (op->num_outputs >= 0) return op->num_outputs;
  if (op->count_outputs) return op->count_outputs(vals);
  int k = mx_op_param_index(op, "num_outputs");
  if (k < 0 || !vals[k].is_set) return -1;
  return (int)vals[k].i;
}

int mx_op_num_visible_outputs(const mx_op *op, const mx_param_value *vals) {
  return op->num_visible_outputs ? op->num_visible_outputs(vals) : mx_op_num_outputs(op, vals);
}

int mx_op_num_aux(const mx_op *op, const mx_param_value *vals) {
  return op->num_aux ? op->num_aux(vals) : 0;
}

int mx_op_has_backward(const mx_op *op) { return op->backward != NULL; }
int mx_op_has_optional_inputs(const mx_op *op) { return op->list_inputs != NULL; }

const char *mx_op_param_input_name(const mx_op *op, const mx_param_value *vals, int k) {
  if (k < 0) return NULL;
  if (op->list_inputs) {
    const char *names[MX_MAX_INPUTS];
    int n = op->list_inputs(vals, names, MX_MAX_INPUTS);
    return k < n ? names[k] : NULL;
  }
  return mx_op_input_name(op, op->num_inputs < 0 ? 0 : k);
}

/* ------------------------------------------------------ inference helpers */

static void deps_grads(int in, int nin, int nout, unsigned char *need_in, unsigned char *need_out,
                       unsigned char *need_out_grad) {
  for (int j = 0; j < nin; j++) need_in[j] = (unsigned char)in;
  for (int k = 0; k < nout; k++) {
    need_out[k] = 0;
    need_out_grad[k] = 1;
  }
}
void mx_deps_out_grads(const mx_param_value *p, int nin, int nout, unsigned char *need_in,
                       unsigned char *need_out, unsigned char *need_out_grad) {
  (void)p;
  deps_grads(0, nin, nout, need_in, need_out, need_out_grad);
}
void mx_deps_in_out_grads(const mx_param_value *p, int nin, int nout, unsigned char *need_in,
                          unsigned char *need_out, unsigned char *need_out_grad) {
  (void)p;
  deps_grads(1, nin, nout, need_in, need_out, need_out_grad);
}

/* Element-wise ops: every slot TIED when all shapes are input 0's (the
 * kernels then see flat arrays of one element order); else left plain. */
void mx_lay_same(const mx_param_value *p, int nin, const mx_shape *in, int nout,
                 const mx_shape *out, unsigned char *mode) {
  (void)p;
  int same = 1;
  for (int j = 0; j < nin + nout; j++) {
    const mx_shape *s = j < nin ? &in[j] : &out[j - nin];
    same &= mx_shape_equal(s, &in[0]);
  }
  if (same) memset(mode, MX_LAY_TIED, (size_t)(nin + nout));
}

mx_status mx_infer_type_same(const mx_param_value *p, int nin, int *in,
                             int nout, int *out) {
  (void)p;
  int t = -1;
  for (int k = 0; k < nin; k++) {
    if (in[k] < 0) continue;
    if (t < 0) t = in[k];
    else if (in[k] != t)
      return mx_error(MX_ERR_DTYPE, "inputs have different dtypes (%s and %s); convert one with mx.nd.cast or as.array",
                      mx_dtype_name(t), mx_dtype_name(in[k]));
  }
  for (int k = 0; k < nout; k++) {
    if (out[k] >= 0 && t < 0) t = out[k];
  }
  if (t < 0) return MX_OK;  /* nothing known yet */
  for (int k = 0; k < nin; k++) if (in[k] < 0) in[k] = t;
  for (int k = 0; k < nout; k++) out[k] = t;
  return MX_OK;
}

mx_status mx_infer_shape_same(const mx_param_value *p, int nin, mx_shape *in,
                              int nout, mx_shape *out) {
  (void)p;
  (void)nin;
  if (in[0].ndim < 0 && nout > 0 && out[0].ndim >= 0) in[0] = out[0];  /* backward */
  if (in[0].ndim < 0) return MX_OK;
  for (int k = 0; k < nout; k++) out[k] = in[0];
  return MX_OK;
}

mx_status mx_broadcast_shape(const mx_shape *a, const mx_shape *b,
                             mx_shape *out) {
  int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
  mx_shape r;
  r.ndim = nd;
  for (int k = 0; k < nd; k++) {
    int ka = k - (nd - a->ndim), kb = k - (nd - b->ndim);
    int64_t da = ka >= 0 ? a->d[ka] : 1, db = kb >= 0 ? b->d[kb] : 1;
    if (da == db || db == 1) r.d[k] = da;
    else if (da == 1) r.d[k] = db;
    else {
      char s1[128], s2[128];
      mx_shape_format(a, s1, sizeof s1);
      mx_shape_format(b, s2, sizeof s2);
      return mx_error(MX_ERR_SHAPE, "shapes %s and %s cannot be broadcast together", s1, s2);
    }
  }
  for (int k = nd; k < MX_MAX_DIM; k++) r.d[k] = 0;
  *out = r;
  return MX_OK;
}

mx_status mx_axis_norm(int64_t axis, int ndim, int *out) {
  int64_t a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    return mx_error(MX_ERR_ARG, "axis %lld is out of range for an array with %d dimension%s",
                    (long long)axis, ndim, ndim == 1 ? "" : "s");
  *out = (int)a;
  return MX_OK;
}

/* ------------------------------------------------------------- invoke */

static int find_ctx_param(const mx_op *op, const mx_param_value *p, mx_context *ctx) {
  for (int i = 0; i < op->num_params; i++)
    if (op->params[i].type == MX_PARAM_CTX && p[i].is_set) {
      ctx->dev_type = (int)(p[i].i / 65536);
      ctx->dev_id = (int)(p[i].i % 65536);
      return 1;
    }
  return 0;
}

/* Everything an imperative call decides before allocating. */
typedef struct call_plan {
  mx_context ctx;
  mx_kernels k;
  int nout;                          /* all outputs, hidden included */
  int nvis;                          /* visible outputs              */
  int bridge;                        /* (b)float16/int8 computed wider */
  mx_shape out_s[MX_MAX_OUTPUTS];
  int out_t[MX_MAX_OUTPUTS];         /* dtypes of the results        */
  int k_in_t[MX_MAX_INPUTS];         /* dtypes the kernel sees       */
  int k_out_t[MX_MAX_OUTPUTS];
} call_plan;

/* The dtype an op's kernel computes a value of dtype t in. */
static int kernel_dtype(const mx_op *op, mx_context ctx, int t) {
  if (mx_op_native_dtype(op, ctx, t)) return t;
  if (t == MX_FLOAT16 || t == MX_BFLOAT16) return MX_FLOAT32;
  if (t == MX_INT8) return MX_INT32;
  return t;   /* the kernel refuses what it cannot compute */
}

/* Ops whose kernels update some inputs in place are flagged MX_OPF_F16 (no
 * float32 copies for float16) and either MX_OPF_NO_MIRROR (the optimizer
 * updates) or have auxiliary states (BatchNorm's moving statistics).
 * Computing them on converted copies would silently drop those updates. */
static int updates_inputs(const mx_op *op) {
  return (op->flags & MX_OPF_F16) && ((op->flags & MX_OPF_NO_MIRROR) || op->num_aux);
}

static mx_status plan_call(const mx_op *op, const mx_param_value *params,
                           mx_ndarray *const *inputs, int nin,
                           const mx_invoke_opts *opts, call_plan *cp) {
  mx_status rc = mx_op_params_check(op, params);
  if (rc) return rc;
  int want_in = mx_op_num_inputs(op, params);
  if (want_in != nin)
    return mx_error(MX_ERR_ARG, "%s: expects %d input%s, got %d", op->name,
                    want_in, want_in == 1 ? "" : "s", nin);
  if (nin > MX_MAX_INPUTS) return mx_error(MX_ERR_ARG, "%s: too many inputs", op->name);
  cp->nout = mx_op_num_outputs(op, params);
  cp->nvis = mx_op_num_visible_outputs(op, params);
  /* ops declared with no outputs (reset_arrays) only update their inputs */
  int none = op->num_outputs == 0 && cp->nout == 0 && cp->nvis == 0;
  if (!none && (cp->nout < 1 || cp->nout > MX_MAX_OUTPUTS || cp->nvis < 1 || cp->nvis > cp->nout))
    return mx_error(MX_ERR_ARG, "%s: cannot determine the number of outputs", op->name);

  /* device */
  mx_context ctx = opts ? opts->ctx : (mx_context){MX_CPU, 0};
  if (nin > 0) {
    ctx = inputs[0]->ctx;
    for (int k = 1; k < nin; k++)
      if (inputs[k]->ctx.dev_type != ctx.dev_type || inputs[k]->ctx.dev_id != ctx.dev_id)
        return mx_error(MX_ERR_DEVICE, "%s: inputs are on different devices; copy them with mx.nd.copyto first", op->name);
  } else {
    find_ctx_param(op, params, &ctx);
  }
  rc = mx_context_check(ctx);
  if (rc) return mx_error_prefix(rc, "%s: ", op->name);
  cp->ctx = ctx;
  rc = mx_op_kernels(op, ctx, &cp->k);
  if (rc) return rc;

  /* shapes and types */
  mx_shape in_s[MX_MAX_INPUTS];
  int in_t[MX_MAX_INPUTS];
  for (int k = 0; k < nin; k++) {
    in_s[k] = inputs[k]->shape;
    in_t[k] = inputs[k]->dtype;
  }
  for (int k = 0; k < cp->nout; k++) {
    cp->out_s[k].ndim = -1;
    cp->out_t[k] = -1;
  }
  rc = op->infer_shape(params, nin, in_s, cp->nout, cp->out_s);
  if (rc) return mx_error_prefix(rc, "%s: ", op->name);
  for (int k = 0; k < nin; k++)
    if (!mx_shape_equal(&in_s[k], &inputs[k]->shape)) {
      char b1[128], b2[128];
      mx_shape_format(&inputs[k]->shape, b1, sizeof b1);
      mx_shape_format(&in_s[k], b2, sizeof b2);
      const char *nm = mx_op_param_input_name(op, params, k);
      return mx_error(MX_ERR_SHAPE, "%s: input '%s' has shape %s, expected %s", op->name,
                      nm ? nm : "?", b1, b2);
    }
  for (int k = 0; k < cp->nout; k++) {
    if (cp->out_s[k].ndim < 0)
      return mx_error(MX_ERR_INTERNAL, "%s: could not infer the output shape", op->name);
    mx_shape chk;
    rc = mx_shape_make(&chk, cp->out_s[k].ndim, cp->out_s[k].d);
    if (rc) return mx_error_prefix(rc, "%s: ", op->name);
  }
  mx_infer_type_fn itype = op->infer_type ? op->infer_type : mx_infer_type_same;
  rc = itype(params, nin, in_t, cp->nout, cp->out_t);
  if (rc) return mx_error_prefix(rc, "%s: ", op->name);
  for (int k = 0; k < cp->nout; k++)
    if (!mx_dtype_valid(cp->out_t[k]))
      return mx_error(MX_ERR_INTERNAL, "%s: could not infer the output dtype", op->name);

  /* storage-only dtypes without a native kernel: float16 and bfloat16 are
   * computed in float32, int8 in int32 (exact; results saturate back into
   * int8) */
  /* a GPU kernel's supports() sees half inputs as the kernel will get them:
   * float32 copies where it does not take them natively */
  int chk_t[MX_MAX_INPUTS];
  for (int k = 0; k < nin; k++)
    chk_t[k] = in_t[k] == MX_FLOAT16 || in_t[k] == MX_BFLOAT16 ? kernel_dtype(op, ctx, in_t[k]) : in_t[k];
  rc = mx_op_kernels_check(op, &cp->k, params, nin, in_s, chk_t);
  if (rc) return rc;
  cp->bridge = 0;
  for (int k = 0; k < nin; k++) {
    cp->k_in_t[k] = kernel_dtype(op, ctx, in_t[k]);
    if (cp->k_in_t[k] == in_t[k]) continue;
    cp->bridge = 1;
    if (updates_inputs(op))
      return mx_error(MX_ERR_DTYPE, "%s: %s inputs are not supported here (this op updates its "
                      "inputs in place and cannot work on %s copies)", op->name,
                      mx_dtype_name(in_t[k]), mx_dtype_name(cp->k_in_t[k]));
  }
  for (int k = 0; k < cp->nout; k++) {
    cp->k_out_t[k] = kernel_dtype(op, ctx, cp->out_t[k]);
    if (cp->k_out_t[k] != cp->out_t[k]) cp->bridge = 1;
  }
  return MX_OK;
}

static void kernel_ctx(const call_plan *cp, const mx_invoke_opts *opts, mx_op_ctx *kc) {
  memset(kc, 0, sizeof *kc);
  kc->nthreads = mx_threads_get();
  mx_rng_init(&kc->rng, opts ? opts->seed : 0);
  kc->ctx = cp->ctx;
  kc->is_train = opts ? opts->is_train : 0;
  kc->state = NULL;
  kc->gpu = NULL;
  kc->workspace = NULL;
  kc->workspace_bytes = 0;
}

mx_status mx_op_invoke(const mx_op *op, const mx_param_value *params,
                       mx_ndarray *const *inputs, int nin,
                       mx_ndarray **outputs, int nout,
                       const mx_invoke_opts *opts) {
  call_plan cp;
  mx_status rc = plan_call(op, params, inputs, nin, opts, &cp);
  if (rc) return rc;
  if (nout != cp.nvis)
    return mx_error(MX_ERR_ARG, "%s: expects %d output%s, got %d", op->name,
                    cp.nvis, cp.nvis == 1 ? "" : "s", nout);

  /* given outputs must match shape and device */
  for (int k = 0; k < nout; k++) {
    if (!outputs[k]) continue;
    if (!mx_shape_equal(&outputs[k]->shape, &cp.out_s[k])) {
      char b1[128], b2[128];
      mx_shape_format(&outputs[k]->shape, b1, sizeof b1);
      mx_shape_format(&cp.out_s[k], b2, sizeof b2);
      return mx_error(MX_ERR_SHAPE, "%s: 'out' has shape %s but the result has shape %s",
                      op->name, b1, b2);
    }
    if (outputs[k]->ctx.dev_type != cp.ctx.dev_type || outputs[k]->ctx.dev_id != cp.ctx.dev_id)
      return mx_error(MX_ERR_DEVICE, "%s: 'out' is on another device", op->name);
  }

  /* view ops: no copy when nothing forces one */
  if (op->view && cp.nout == 1 && !outputs[0] && !cp.bridge) {
    mx_ndarray *v = NULL;
    rc = op->view(params, inputs[0], &cp.out_s[0], &v);
    if (rc) return mx_error_prefix(rc, "%s: ", op->name);
    if (v) {
      outputs[0] = v;
      return MX_OK;
    }
  }

  mx_ndarray *kin[MX_MAX_INPUTS], *kout[MX_MAX_OUTPUTS];
  mx_ndarray *tmp_in[MX_MAX_INPUTS], *fresh[MX_MAX_OUTPUTS], *tmp_out[MX_MAX_OUTPUTS];
  /* clear only what is used: the limits are large, the calls frequent */
  memset(tmp_in, 0, (size_t)nin * sizeof *tmp_in);
  memset(fresh, 0, (size_t)cp.nout * sizeof *fresh);
  memset(tmp_out, 0, (size_t)cp.nout * sizeof *tmp_out);
  for (int k = 0; k < nin; k++) {
    kin[k] = inputs[k];
    if (cp.k_in_t[k] != inputs[k]->dtype) {
      rc = mx_ndarray_copy(inputs[k], cp.k_in_t[k], cp.ctx, &tmp_in[k]);
      if (rc) goto fail;
      kin[k] = tmp_in[k];
    }
  }
  for (int k = 0; k < cp.nout; k++) {
    mx_ndarray *given = k < nout ? outputs[k] : NULL;
    mx_ndarray *final = given;
    if (!final) {
      rc = mx_ndarray_new(&cp.out_s[k], cp.out_t[k], cp.ctx, &fresh[k]);
      if (rc) goto fail;
      final = fresh[k];
    }
    int need_tmp = final->dtype != cp.k_out_t[k];
    if (!need_tmp && given) {
      for (int j = 0; j < nin; j++) {
        if (!mx_ndarray_overlap(final, inputs[j])) continue;
        int inplace = cp.k.gpu ? (cp.k.gpu->flags & MX_GPUF_INPLACE) : (op->flags & MX_OPF_INPLACE);
        /* a multi-weight update: output k may be its own group's weight */
        if (!cp.k.gpu && (op->flags & MX_OPF_OUT_IS_INPUT) && j == k * (nin / cp.nout)) inplace = 1;
        int exact = inplace && mx_ndarray_same(final, inputs[j]);
        if (!exact) need_tmp = 1;
      }
    }
    if (need_tmp) {
      rc = mx_ndarray_new(&cp.out_s[k], cp.k_out_t[k], cp.ctx, &tmp_out[k]);
      if (rc) goto fail;
      kout[k] = tmp_out[k];
    } else {
      kout[k] = final;
    }
  }

  {
    mx_op_ctx kc;
    kernel_ctx(&cp, opts, &kc);
    int req[MX_MAX_OUTPUTS];
    for (int k = 0; k < cp.nout; k++) req[k] = MX_REQ_WRITE;
    rc = mx_op_run_forward(op, &cp.k, &kc, params, kin, nin, kout, cp.nout, req);
    if (rc) {
      mx_error_prefix(rc, "%s: ", op->name);
      goto fail;
    }
  }
  for (int k = 0; k < nout; k++) {
    if (!tmp_out[k]) continue;
    mx_ndarray *final = outputs[k] ? outputs[k] : fresh[k];
    rc = mx_ndarray_copy_into(tmp_out[k], final);
    if (rc) goto fail;
  }
  for (int k = 0; k < nin; k++) mx_ndarray_free(tmp_in[k]);
  for (int k = 0; k < cp.nout; k++) {
    mx_ndarray_free(tmp_out[k]);
    if (k < nout) {
      if (!outputs[k]) outputs[k] = fresh[k];
    } else {
      mx_ndarray_free(fresh[k]);            /* hidden outputs */
    }
  }
  return MX_OK;

fail:
  for (int k = 0; k < nin; k++) mx_ndarray_free(tmp_in[k]);
  for (int k = 0; k < cp.nout; k++) {
    mx_ndarray_free(tmp_out[k]);
    mx_ndarray_free(fresh[k]);
  }
  return rc;
}

mx_status mx_op_forward_backward(const mx_op *op, const mx_param_value *params,
                                 mx_ndarray *const *inputs, int nin,
                                 mx_ndarray *const *out_grads, int n_out_grads,
                                 const mx_invoke_opts *opts,
                                 mx_ndarray **outputs, mx_ndarray **in_grads) {
  if (!op->backward)
    return mx_error(MX_ERR_UNSUPPORTED, "%s: this op has no gradient", op->name);
  call_plan cp;
  mx_status rc = plan_call(op, params, inputs, nin, opts, &cp);
  if (rc) return rc;
  if (!cp.k.bwd)
    return mx_error(MX_ERR_UNSUPPORTED, "%s: no gradient on the GPU in this version of mxnet", op->name);
  if (cp.bridge)
    return mx_error(MX_ERR_DTYPE, "%s: gradients are not computed in float16 or bfloat16", op->name);
  if (n_out_grads != cp.nvis)
    return mx_error(MX_ERR_ARG, "%s: expects %d output gradient%s, got %d", op->name,
                    cp.nvis, cp.nvis == 1 ? "" : "s", n_out_grads);
  for (int k = 0; k < cp.nvis; k++) {
    if (!(op->flags & MX_OPF_LOSS) &&
        (!out_grads[k] || !mx_shape_equal(&out_grads[k]->shape, &cp.out_s[k]) ||
         out_grads[k]->dtype != cp.out_t[k]))
      return mx_error(MX_ERR_SHAPE, "%s: output gradient %d does not match output %d", op->name,
                      k + 1, k + 1);
  }
  int naux = mx_op_num_aux(op, params);
  mx_ndarray *outs[MX_MAX_OUTPUTS] = {0};
  mx_ndarray *grads[MX_MAX_INPUTS] = {0};
  for (int k = 0; k < cp.nout; k++) {
    rc = mx_ndarray_new(&cp.out_s[k], cp.out_t[k], cp.ctx, &outs[k]);
    if (rc) goto fail;
  }
  for (int j = 0; j < nin - naux; j++) {
    rc = mx_ndarray_new(&inputs[j]->shape, inputs[j]->dtype, cp.ctx, &grads[j]);
    if (rc) goto fail;
  }
  {
    mx_op_ctx kc;
    kernel_ctx(&cp, opts, &kc);
    int req[MX_MAX_INPUTS > MX_MAX_OUTPUTS ? MX_MAX_INPUTS : MX_MAX_OUTPUTS];
    for (int k = 0; k < cp.nout; k++) req[k] = MX_REQ_WRITE;
    rc = mx_op_run_forward(op, &cp.k, &kc, params, inputs, nin, outs, cp.nout, req);
    if (rc) {
      mx_error_prefix(rc, "%s: ", op->name);
      goto fail;
    }
    /* backward sees only what it declares it needs */
    unsigned char need_in[MX_MAX_INPUTS], need_out[MX_MAX_OUTPUTS], need_og[MX_MAX_OUTPUTS];
    memset(need_in, 1, sizeof need_in);
    memset(need_out, 1, sizeof need_out);
    memset(need_og, 1, sizeof need_og);
    if (op->backward_deps) op->backward_deps(params, nin, cp.nout, need_in, need_out, need_og);
    mx_ndarray *bin[MX_MAX_INPUTS], *bout[MX_MAX_OUTPUTS], *bog[MX_MAX_OUTPUTS];
    for (int j = 0; j < nin; j++) bin[j] = need_in[j] ? inputs[j] : NULL;
    for (int k = 0; k < cp.nout; k++) {
      bout[k] = need_out[k] ? outs[k] : NULL;
      bog[k] = (k < cp.nvis && need_og[k] && !(op->flags & MX_OPF_LOSS)) ? out_grads[k] : NULL;
    }
    for (int j = 0; j < nin; j++) req[j] = j < nin - naux ? MX_REQ_WRITE : MX_REQ_NULL;
    rc = mx_op_run_backward(op, &cp.k, &kc, params, bog, cp.nout, bin, nin, bout, grads, req);
    if (rc) {
      mx_error_prefix(rc, "%s (backward): ", op->name);
      goto fail;
    }
  }
  for (int k = 0; k < cp.nout; k++) {
    if (k < cp.nvis) outputs[k] = outs[k];
    else mx_ndarray_free(outs[k]);
  }
  for (int j = 0; j < nin; j++) in_grads[j] = grads[j];
  return MX_OK;
fail:
  for (int k = 0; k < cp.nout; k++) mx_ndarray_free(outs[k]);
  for (int j = 0; j < nin; j++) mx_ndarray_free(grads[j]);
  return rc;
}

/* ------------------------------------------------------ kernel scratch */

static int64_t scratch_fb_calls, scratch_fb_bytes;

mx_status mx_scratch_open(const mx_op_ctx *c, size_t need, mx_scratch *s) {
  memset(s, 0, sizeof *s);
  need = mx_scratch_round(need);
  s->size = need;
  if (need == 0) return MX_OK;
  if (c->workspace && c->workspace_bytes >= need) {
    s->base = (char *)c->workspace;
    return MX_OK;
  }
  mx_status rc = mx_storage_alloc(need, c->ctx, &s->own);
  if (rc) return rc;
  s->base = (char *)s->own->data;
  __atomic_add_fetch(&scratch_fb_calls, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&scratch_fb_bytes, (int64_t)need, __ATOMIC_RELAXED);
  return MX_OK;
}

void *mx_scratch_take(mx_scratch *s, size_t bytes) {
  bytes = mx_scratch_round(bytes);
  if (!s->base || s->used + bytes > s->size) return NULL;
  void *p = s->base + s->used;
  s->used += bytes;
  return p;
}

void mx_scratch_close(mx_scratch *s) {
  if (s->own) mx_storage_release(s->own);
  memset(s, 0, sizeof *s);
}

void mx_scratch_fallbacks(int64_t *calls, int64_t *bytes) {
  *calls = __atomic_load_n(&scratch_fb_calls, __ATOMIC_RELAXED);
  *bytes = __atomic_load_n(&scratch_fb_bytes, __ATOMIC_RELAXED);
}
