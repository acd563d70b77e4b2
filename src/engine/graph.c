/*
 * graph.c -- symbols: a DAG of reference-counted nodes, composition with
 * MXNet's naming rules, listing, attributes and shape/type inference.
 */
#include "../include/mx-graph.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

char *mx_strdup(const char *s) {
  size_t l = strlen(s);
  char *p = (char *)malloc(l + 1);
  if (p) memcpy(p, s, l + 1);
  return p;
}

/* ------------------------------------------------------------------ nodes */

void mx_node_retain(mx_node *n) {
  if (n) __atomic_add_fetch(&n->refcount, 1, __ATOMIC_RELAXED);
}

static void node_destroy(mx_node *n) {
  free(n->name);
  for (int i = 0; i < n->nattr; i++) {
    free(n->attr_keys[i]);
    free(n->attr_vals[i]);
  }
  free(n->attr_keys);
  free(n->attr_vals);
  free(n->params);
  free(n->inputs);
  free(n);
}

/* Release without recursion (long chains would otherwise overflow the C
 * stack): an explicit worklist of nodes whose count dropped to zero. */
void mx_node_release(mx_node *n) {
  if (!n) return;
  if (__atomic_sub_fetch(&n->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  size_t cap = 64, len = 0;
  mx_node **work = (mx_node **)malloc(cap * sizeof *work);
  if (!work) {             /* out of memory: leak rather than crash */
    return;
  }
  work[len++] = n;
  while (len > 0) {
    mx_node *x = work[--len];
    for (int i = 0; i < x->ninputs; i++) {
      mx_node *in = x->inputs[i].node;
      if (__atomic_sub_fetch(&in->refcount, 1, __ATOMIC_ACQ_REL) == 0) {
        if (len == cap) {
          mx_node **nw = (mx_node **)realloc(work, cap * 2 * sizeof *nw);
          if (!nw) continue;   /* leak this subgraph rather than crash */
          work = nw;
          cap *= 2;
        }
        work[len++] = in;
      }
    }
    node_destroy(x);
  }
  free(work);
}

const char *mx_node_attr(const mx_node *n, const char *key) {
  for (int i = 0; i < n->nattr; i++)
    if (strcmp(n->attr_keys[i], key) == 0) return n->attr_vals[i];
  return NULL;
}

mx_status mx_node_set_attr(mx_node *n, const char *key, const char *val) {
  for (int i = 0; i < n->nattr; i++)
    if (strcmp(n->attr_keys[i], key) == 0) {
      char *v = mx_strdup(val);
      if (!v) return mx_error(MX_ERR_NOMEM, "out of memory");
      free(n->attr_vals[i]);
      n->attr_vals[i] = v;
      return MX_OK;
    }
  char **nk = (char **)realloc(n->attr_keys, (size_t)(n->nattr + 1) * sizeof *nk);
  if (!nk) return mx_error(MX_ERR_NOMEM, "out of memory");
  n->attr_keys = nk;
  char **nv = (char **)realloc(n->attr_vals, (size_t)(n->nattr + 1) * sizeof *nv);
  if (!nv) return mx_error(MX_ERR_NOMEM, "out of memory");
  n->attr_vals = nv;
  char *k = mx_strdup(key), *v = mx_strdup(val);
  if (!k || !v) {
    free(k);
    free(v);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  n->attr_keys[n->nattr] = k;
  n->attr_vals[n->nattr] = v;
  n->nattr++;
  return MX_OK;
}

static mx_status node_alloc(const char *name, mx_node **out) {
  mx_node *n = (mx_node *)calloc(1, sizeof *n);
  if (!n) return mx_error(MX_ERR_NOMEM, "out of memory");
  n->name = mx_strdup(name ? name : "");
  if (!n->name) {
    free(n);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  n->refcount = 1;
  n->nout = 1;
  n->nvis = 1;
  *out = n;
  return MX_OK;
}

/* The attributes of a new node (which has none yet): a repeated key keeps
 * its first position and takes its last value.  Hashed, so that a node
 * with 10^5 attributes loads in linear time. */
static mx_status node_set_attrs(mx_node *n, const char *const *keys,
                                const char *const *vals, int nattr) {
  if (nattr <= 0) return MX_OK;
  size_t cap = 16;
  while (cap < 2 * (size_t)nattr) cap *= 2;
  int *slot = (int *)malloc(cap * sizeof *slot);
  n->attr_keys = (char **)calloc((size_t)nattr, sizeof(char *));
  n->attr_vals = (char **)calloc((size_t)nattr, sizeof(char *));
  if (!slot || !n->attr_keys || !n->attr_vals) {
    free(slot);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  for (size_t h = 0; h < cap; h++) slot[h] = -1;
  mx_status rc = MX_OK;
  for (int i = 0; i < nattr && rc == MX_OK; i++) {
    size_t h = (size_t)mx_hash_bytes(keys[i], strlen(keys[i]), 0) & (cap - 1);
    while (slot[h] >= 0 && strcmp(n->attr_keys[slot[h]], keys[i]) != 0) h = (h + 1) & (cap - 1);
    char *v = mx_strdup(vals[i]);
    if (!v) rc = mx_error(MX_ERR_NOMEM, "out of memory");
    else if (slot[h] >= 0) {
      free(n->attr_vals[slot[h]]);
      n->attr_vals[slot[h]] = v;
    } else if (!(n->attr_keys[n->nattr] = mx_strdup(keys[i]))) {
      free(v);
      rc = mx_error(MX_ERR_NOMEM, "out of memory");
    } else {
      n->attr_vals[n->nattr] = v;
      slot[h] = n->nattr++;
    }
  }
  free(slot);
  return rc;
}

mx_status mx_node_new_variable(const char *name, const char *const *attr_keys,
                               const char *const *attr_vals, int nattr,
                               mx_node **out) {
  *out = NULL;
  if (!name || !*name) return mx_error(MX_ERR_ARG, "a variable needs a name");
  mx_node *n;
  mx_status rc = node_alloc(name, &n);
  if (rc) return rc;
  rc = node_set_attrs(n, attr_keys, attr_vals, nattr);
  if (rc) {
    node_destroy(n);
    return rc;
  }
  *out = n;
  return MX_OK;
}

mx_status mx_node_new_op(const mx_op *op, const mx_param_value *vals,
                         const char *name, const char *const *attr_keys,
                         const char *const *attr_vals, int nattr,
                         const mx_entry *inputs, int nin, mx_node **out) {
  *out = NULL;
  if (nin > MX_MAX_INPUTS)
    return mx_error(MX_ERR_ARG, "%s: %d inputs exceed the engine's limit of %d", op->name, nin,
                    MX_MAX_INPUTS);
  mx_node *n;
  mx_status rc = node_alloc(name, &n);
  if (rc) return rc;
  n->op = op;
  n->params = (mx_param_value *)malloc((size_t)(op->num_params > 0 ? op->num_params : 1) *
                                       sizeof(mx_param_value));
  n->inputs = (mx_entry *)malloc((size_t)(nin > 0 ? nin : 1) * sizeof(mx_entry));
  if (!n->params || !n->inputs) {
    node_destroy(n);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  if (op->num_params > 0) memcpy(n->params, vals, (size_t)op->num_params * sizeof(mx_param_value));
  rc = node_set_attrs(n, attr_keys, attr_vals, nattr);
  if (rc) {
    node_destroy(n);
    return rc;
  }
  n->nout = mx_op_num_outputs(op, vals);
  n->nvis = mx_op_num_visible_outputs(op, vals);
  n->naux = mx_op_num_aux(op, vals);
  if (n->nout < 1 || n->nvis < 1 || n->nvis > n->nout) {
    node_destroy(n);
    return mx_error(MX_ERR_ARG, "%s: cannot determine the number of outputs", op->name);
  }
  if (n->nout > MX_MAX_OUTPUTS) {
    int nout = n->nout;
    node_destroy(n);
    return mx_error(MX_ERR_ARG, "%s: %d outputs exceed the engine's limit of %d", op->name, nout,
                    MX_MAX_OUTPUTS);
  }
  for (int i = 0; i < nin; i++) {
    n->inputs[i] = inputs[i];
    mx_node_retain(inputs[i].node);
  }
  n->ninputs = nin;
  *out = n;
  return MX_OK;
}

void mx_node_output_name(const mx_node *n, int k, char *buf, size_t len) {
  if (!n->op) {
    snprintf(buf, len, "%s", n->name);
    return;
  }
  if (n->op->output_names) {
    const char *on = NULL;
    for (int i = 0; n->op->output_names[i]; i++)
      if (i == k) on = n->op->output_names[i];
    if (on) {
      snprintf(buf, len, "%s_%s", n->name, on);
      return;
    }
  }
  if (n->nvis == 1) snprintf(buf, len, "%s_output", n->name);
  else snprintf(buf, len, "%s_output%d", n->name, k);
}

/* ---------------------------------------------------------------- symbols */

mx_status mx_symbol_from_entries(const mx_entry *e, int n, mx_symbol **out) {
  *out = NULL;
  mx_symbol *s = (mx_symbol *)calloc(1, sizeof *s);
  if (!s) return mx_error(MX_ERR_NOMEM, "out of memory");
  s->heads = (mx_entry *)malloc((size_t)(n > 0 ? n : 1) * sizeof(mx_entry));
  if (!s->heads) {
    free(s);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < n; i++) {
    s->heads[i] = e[i];
    mx_node_retain(e[i].node);
  }
  s->nheads = n;
  *out = s;
  return MX_OK;
}

void mx_symbol_free(mx_symbol *s) {
  if (!s) return;
  for (int i = 0; i < s->nheads; i++) mx_node_release(s->heads[i].node);
  free(s->heads);
  free(s);
}

mx_status mx_symbol_copy(const mx_symbol *s, mx_symbol **out) {
  return mx_symbol_from_entries(s->heads, s->nheads, out);
}

mx_status mx_symbol_variable(const char *name, const char *const *attr_keys,
                             const char *const *attr_vals, int nattr,
                             mx_symbol **out) {
  *out = NULL;
  mx_node *n;
  mx_status rc = mx_node_new_variable(name, attr_keys, attr_vals, nattr, &n);
  if (rc) return rc;
  mx_entry e = {n, 0};
  rc = mx_symbol_from_entries(&e, 1, out);
  mx_node_release(n);
  return rc;
}

/* Automatic names: lower-cased op name + a per-name counter. */
#define NAME_SLOTS 512
static pthread_mutex_t name_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { char key[64]; int count; } name_tbl[NAME_SLOTS];

void mx_symbol_reset_names(void) {
  pthread_mutex_lock(&name_mu);
  memset(name_tbl, 0, sizeof name_tbl);
  pthread_mutex_unlock(&name_mu);
}

static void auto_name(const char *opname, char *buf, size_t len) {
  char key[64];
  size_t i = 0;
  for (; opname[i] && i < sizeof key - 1; i++) key[i] = (char)tolower((unsigned char)opname[i]);
  key[i] = '\0';
  uint32_t h = (uint32_t)mx_hash_bytes(key, strlen(key), 0) % NAME_SLOTS;
  int count = 0;
  pthread_mutex_lock(&name_mu);
  for (int probe = 0; probe < NAME_SLOTS; probe++, h = (h + 1) % NAME_SLOTS) {
    if (name_tbl[h].key[0] == '\0') {
      snprintf(name_tbl[h].key, sizeof name_tbl[h].key, "%s", key);
      name_tbl[h].count = 1;
      count = 0;
      break;
    }
    if (strcmp(name_tbl[h].key, key) == 0) {
      count = name_tbl[h].count++;
      break;
    }
  }
  pthread_mutex_unlock(&name_mu);
  snprintf(buf, len, "%s%d", key, count);
}

mx_status mx_symbol_op(const mx_op *op, const mx_param_value *vals_in,
                       const unsigned char *explicit_set, const char *name,
                       const char *const *attr_keys, const char *const *attr_vals,
                       int nattr, const char *const *in_names,
                       mx_symbol *const *inputs, int nin, mx_symbol **out) {
  *out = NULL;
  mx_param_value vals[64];
  if (op->num_params > 64) return mx_error(MX_ERR_INTERNAL, "too many parameters");
  if (op->num_params > 0) memcpy(vals, vals_in, (size_t)op->num_params * sizeof *vals);
  char autoname[128];
  if (!name || !*name) {
    auto_name(op->name, autoname, sizeof autoname);
    name = autoname;
  }
  for (int k = 0; k < nin; k++)
    if (inputs[k]->nheads != 1)
      return mx_error(MX_ERR_ARG, "%s: input %s is a group of %d outputs; pick one with [[i]]",
                      name, in_names && in_names[k] ? in_names[k] : "", inputs[k]->nheads);
  /* variadic ops: every input positional; num_args (when the op has one
   * and the user did not give it) = the number of inputs given */
  int variadic = op->num_inputs < 0 && !op->list_inputs;
  if (variadic)
    for (int k = 0; k < nin; k++)
      if (in_names && in_names[k])
        return mx_error(MX_ERR_ARG, "%s: %s takes its inputs by position, not as '%s'",
                        name, op->name, in_names[k]);
  {
    int ka = mx_op_param_index(op, "num_args");
    if (ka >= 0) {
      if (explicit_set && explicit_set[ka] && vals[ka].is_set && vals[ka].i != nin && variadic)
        return mx_error(MX_ERR_ARG, "%s: num.args is %lld but %d inputs were given", name,
                        (long long)vals[ka].i, nin);
      if (!(explicit_set && explicit_set[ka]) || !vals[ka].is_set) {
        double d = nin;
        mx_status rc0 = mx_op_param_set_nums(op, vals, ka, &d, 1);
        if (rc0) return rc0;
      }
    }
  }
  mx_status rc = mx_op_params_check(op, vals);
  if (rc) return mx_error_prefix(rc, "%s: ", name);
  int want = mx_op_num_inputs(op, vals);
  if (want < 0) return mx_error(MX_ERR_ARG, "%s: cannot determine the inputs of %s", name, op->name);
  if (nin > want)
    return mx_error(MX_ERR_ARG, "%s: %s takes %d input%s, got %d", name, op->name, want,
                    want == 1 ? "" : "s", nin);
  if (want > MX_MAX_INPUTS) return mx_error(MX_ERR_ARG, "%s: too many inputs", name);

  /* match inputs: keyword first, then positional in order */
  mx_entry ent[MX_MAX_INPUTS];
  int filled[MX_MAX_INPUTS] = {0};
  mx_node *created[MX_MAX_INPUTS] = {0};
  for (int k = 0; k < nin; k++) {
    if (!in_names || !in_names[k]) continue;
    int slot = -1;
    for (int j = 0; j < want; j++) {
      const char *nm = mx_op_param_input_name(op, vals, j);
      if (nm && strcmp(nm, in_names[k]) == 0) slot = j;
    }
    if (slot < 0) {
      char list[512] = "";
      size_t pos = 0;
      for (int j = 0; j < want && pos < sizeof list; j++) {
        int w = snprintf(list + pos, sizeof list - pos, j ? ", %s" : "%s",
                         mx_op_param_input_name(op, vals, j));
        if (w > 0) pos += (size_t)w;
      }
      return mx_error(MX_ERR_ARG, "%s: %s has no input '%s' (inputs: %s)", name, op->name,
                      in_names[k], list);
    }
    if (filled[slot])
      return mx_error(MX_ERR_ARG, "%s: input '%s' given twice", name, in_names[k]);
    ent[slot] = inputs[k]->heads[0];
    filled[slot] = 1;
  }
  int next = 0;
  for (int k = 0; k < nin; k++) {
    if (in_names && in_names[k]) continue;
    while (next < want && filled[next]) next++;
    if (next >= want) return mx_error(MX_ERR_ARG, "%s: too many inputs", name);
    ent[next] = inputs[k]->heads[0];
    filled[next] = 1;
  }
  for (int j = 0; j < want; j++) {
    if (filled[j]) continue;
    const char *nm = mx_op_param_input_name(op, vals, j);
    char vname[256];
    snprintf(vname, sizeof vname, "%s_%s", name, nm ? nm : "input");
    rc = mx_node_new_variable(vname, NULL, NULL, 0, &created[j]);
    if (rc) goto fail;
    ent[j].node = created[j];
    ent[j].index = 0;
  }
  /* the parameters the user set go into the node's attributes */
  {
    const char *keys[128], *vstr[128];
    char bufs[64][256];
    int na = 0;
    for (int i = 0; i < op->num_params && na < 64; i++) {
      if (!explicit_set || !explicit_set[i] || !vals[i].is_set) continue;
      rc = mx_op_param_format(op, vals, i, bufs[na], sizeof bufs[na]);
      if (rc) goto fail;
      keys[na] = op->params[i].name;
      vstr[na] = bufs[na];
      na++;
    }
    for (int i = 0; i < nattr && na < 128; i++) {
      keys[na] = attr_keys[i];
      vstr[na] = attr_vals[i];
      na++;
    }
    mx_node *node;
    rc = mx_node_new_op(op, vals, name, keys, vstr, na, ent, want, &node);
    if (rc) goto fail;
    mx_entry *heads = (mx_entry *)malloc((size_t)node->nvis * sizeof *heads);
    if (!heads) rc = mx_error(MX_ERR_NOMEM, "out of memory");
    for (int k = 0; heads && k < node->nvis; k++) {
      heads[k].node = node;
      heads[k].index = k;
    }
    if (heads) rc = mx_symbol_from_entries(heads, node->nvis, out);
    free(heads);
    mx_node_release(node);
  }
fail:
  for (int j = 0; j < want; j++) mx_node_release(created[j]);
  return rc;
}

mx_status mx_symbol_group(mx_symbol *const *syms, int n, mx_symbol **out) {
  int total = 0;
  for (int i = 0; i < n; i++) total += syms[i]->nheads;
  mx_entry *e = (mx_entry *)malloc((size_t)(total > 0 ? total : 1) * sizeof *e);
  if (!e) return mx_error(MX_ERR_NOMEM, "out of memory");
  int k = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < syms[i]->nheads; j++) e[k++] = syms[i]->heads[j];
  mx_status rc = mx_symbol_from_entries(e, total, out);
  free(e);
  return rc;
}

mx_status mx_symbol_get_output(const mx_symbol *s, int i, mx_symbol **out) {
  if (i < 0 || i >= s->nheads)
    return mx_error(MX_ERR_ARG, "output index %d is out of range (the symbol has %d output%s)",
                    i + 1, s->nheads, s->nheads == 1 ? "" : "s");
  return mx_symbol_from_entries(&s->heads[i], 1, out);
}

int mx_symbol_num_outputs(const mx_symbol *s) { return s->nheads; }

const char *mx_symbol_name(const mx_symbol *s) {
  if (s->nheads < 1) return NULL;
  mx_node *n = s->heads[0].node;
  for (int i = 1; i < s->nheads; i++)
    if (s->heads[i].node != n) return NULL;
  return n->name;
}

/* -------------------------------------------------------------- traversal */

struct mx_node_index {
  int cap;
  const mx_node **keys;
  int *vals;
};

static uint32_t ptr_hash(const void *p) {
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 17;
  x *= 0xed5ad4bbu;
  x ^= x >> 11;
  return (uint32_t)x;
}

static mx_status index_init(mx_node_index *ix, int n) {
  int cap = 16;
  while (cap < 2 * n + 1) cap *= 2;
  ix->cap = cap;
  ix->keys = (const mx_node **)calloc((size_t)cap, sizeof *ix->keys);
  ix->vals = (int *)malloc((size_t)cap * sizeof *ix->vals);
  if (!ix->keys || !ix->vals) {
    free(ix->keys);
    free(ix->vals);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  return MX_OK;
}

static int index_find(const mx_node_index *ix, const mx_node *n) {
  uint32_t h = ptr_hash(n) & (uint32_t)(ix->cap - 1);
  while (ix->keys[h]) {
    if (ix->keys[h] == n) return ix->vals[h];
    h = (h + 1) & (uint32_t)(ix->cap - 1);
  }
  return -1;
}

static void index_put(mx_node_index *ix, const mx_node *n, int v) {
  uint32_t h = ptr_hash(n) & (uint32_t)(ix->cap - 1);
  while (ix->keys[h] && ix->keys[h] != n) h = (h + 1) & (uint32_t)(ix->cap - 1);
  ix->keys[h] = n;
  ix->vals[h] = v;
}

static mx_status index_grow(mx_node_index *ix) {
  mx_node_index big;
  mx_status rc = index_init(&big, ix->cap);
  if (rc) return rc;
  for (int i = 0; i < ix->cap; i++)
    if (ix->keys[i]) index_put(&big, ix->keys[i], ix->vals[i]);
  free(ix->keys);
  free(ix->vals);
  *ix = big;
  return MX_OK;
}

mx_status mx_node_index_new(mx_node *const *order, int n, mx_node_index **out) {
  mx_node_index *ix = (mx_node_index *)malloc(sizeof *ix);
  if (!ix) return mx_error(MX_ERR_NOMEM, "out of memory");
  mx_status rc = index_init(ix, n);
  if (rc) {
    free(ix);
    return rc;
  }
  for (int i = 0; i < n; i++) index_put(ix, order[i], i);
  *out = ix;
  return MX_OK;
}

int mx_node_index_get(const mx_node_index *ix, const mx_node *node) { return index_find(ix, node); }

void mx_node_index_free(mx_node_index *ix) {
  if (!ix) return;
  free(ix->keys);
  free(ix->vals);
  free(ix);
}

mx_status mx_graph_topo(const mx_symbol *s, mx_node ***order_out, int *n_out) {
  *order_out = NULL;
  *n_out = 0;
  mx_node_index seen;
  mx_status rc = index_init(&seen, 64);
  if (rc) return rc;
  int nseen = 0;
  size_t cap = 64, len = 0, scap = 64, slen = 0;
  mx_node **order = (mx_node **)malloc(cap * sizeof *order);
  struct frame { mx_node *n; int next; } *stack = (struct frame *)malloc(scap * sizeof *stack);
  if (!order || !stack) {
    rc = mx_error(MX_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int h = 0; h < s->nheads; h++) {
    mx_node *root = s->heads[h].node;
    if (index_find(&seen, root) >= 0) continue;
    stack[slen].n = root;
    stack[slen].next = 0;
    slen++;
    if (2 * (nseen + 1) >= seen.cap && (rc = index_grow(&seen))) goto done;
    index_put(&seen, root, 0);
    nseen++;
    while (slen > 0) {
      struct frame *f = &stack[slen - 1];
      if (f->next < f->n->ninputs) {
        mx_node *in = f->n->inputs[f->next++].node;
        if (index_find(&seen, in) >= 0) continue;
        if (2 * (nseen + 1) >= seen.cap && (rc = index_grow(&seen))) goto done;
        index_put(&seen, in, 0);
        nseen++;
        if (slen == scap) {
          struct frame *ns = (struct frame *)realloc(stack, scap * 2 * sizeof *ns);
          if (!ns) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
          stack = ns;
          scap *= 2;
        }
        stack[slen].n = in;
        stack[slen].next = 0;
        slen++;
      } else {
        if (len == cap) {
          mx_node **no = (mx_node **)realloc(order, cap * 2 * sizeof *no);
          if (!no) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
          order = no;
          cap *= 2;
        }
        order[len++] = f->n;
        slen--;
      }
    }
  }
done:
  free(seen.keys);
  free(seen.vals);
  free(stack);
  if (rc) {
    free(order);
    return rc;
  }
  *order_out = order;
  *n_out = (int)len;
  return MX_OK;
}

void mx_graph_aux_flags(mx_node *const *order, int n, const mx_node_index *ix,
                        unsigned char *is_aux) {
  memset(is_aux, 0, (size_t)n);
  for (int i = 0; i < n; i++) {
    const mx_node *x = order[i];
    for (int j = x->ninputs - x->naux; j < x->ninputs; j++) {
      int k = mx_node_index_get(ix, x->inputs[j].node);
      if (k >= 0 && !order[k]->op) is_aux[k] = 1;
    }
  }
}

/* ------------------------------------------------------- description */

mx_status mx_symbol_graph(const mx_symbol *s, int cap_nodes, int cap_links,
                          mx_graph_node *nodes, int *links, int *n_out, int *nlinks_out) {
  mx_node **order;
  int n;
  mx_status rc = mx_graph_topo(s, &order, &n);
  if (rc) return rc;
  int nl = 0;
  for (int i = 0; i < n; i++) nl += order[i]->ninputs;
  *n_out = n;
  *nlinks_out = nl;
  mx_node_index *ix = NULL;
  if (cap_nodes == 0 && cap_links == 0) goto done;
  if (cap_nodes < n || cap_links < nl || !nodes || (nl > 0 && !links)) {
    rc = mx_error(MX_ERR_ARG, "mx_symbol_graph: room for %d nodes and %d inputs is needed", n, nl);
    goto done;
  }
  if ((rc = mx_node_index_new(order, n, &ix))) goto done;
  int *l = links;
  for (int i = 0; i < n; i++) {
    const mx_node *x = order[i];
    nodes[i] = (mx_graph_node){x->op ? x->op->name : "null", x->name, x->nattr,
                               (const char *const *)x->attr_keys, (const char *const *)x->attr_vals,
                               x->ninputs, l};
    for (int j = 0; j < x->ninputs; j++) {
      *l++ = mx_node_index_get(ix, x->inputs[j].node);
      *l++ = x->inputs[j].index;
    }
  }
done:
  mx_node_index_free(ix);
  free(order);
  return rc;
}

/* ------------------------------------------------------------------ lists */

void mx_string_list_free(char **names, int n) {
  if (!names) return;
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

mx_status mx_symbol_list(const mx_symbol *s, int kind, char ***names_out, int *n_out) {
  *names_out = NULL;
  *n_out = 0;
  mx_node **order;
  int n;
  mx_status rc = mx_graph_topo(s, &order, &n);
  if (rc) return rc;
  int cap = kind == 1 ? s->nheads : n;
  char **names = (char **)calloc((size_t)(cap > 0 ? cap : 1), sizeof *names);
  int k = 0;
  mx_node_index *ix = NULL;
  unsigned char *aux = (unsigned char *)malloc((size_t)(n > 0 ? n : 1));
  if (!names || !aux) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
  if (kind == 1) {
    for (int h = 0; h < s->nheads; h++) {
      char buf[512];
      mx_node_output_name(s->heads[h].node, s->heads[h].index, buf, sizeof buf);
      if (!(names[k++] = mx_strdup(buf))) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
    }
  } else {
    if ((rc = mx_node_index_new(order, n, &ix))) goto done;
    mx_graph_aux_flags(order, n, ix, aux);
    for (int i = 0; i < n; i++) {
      if (order[i]->op) continue;
      if ((kind == 2) != (aux[i] != 0)) continue;
      if (!(names[k++] = mx_strdup(order[i]->name))) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
    }
  }
done:
  mx_node_index_free(ix);
  free(aux);
  free(order);
  if (rc) {
    mx_string_list_free(names, k);
    return rc;
  }
  *names_out = names;
  *n_out = k;
  return MX_OK;
}

mx_status mx_symbol_get_internals(const mx_symbol *s, mx_symbol **out) {
  mx_node **order;
  int n;
  mx_status rc = mx_graph_topo(s, &order, &n);
  if (rc) return rc;
  int total = 0;
  for (int i = 0; i < n; i++) total += order[i]->nvis;
  mx_entry *e = (mx_entry *)malloc((size_t)(total > 0 ? total : 1) * sizeof *e);
  if (!e) {
    free(order);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  int k = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < order[i]->nvis; j++) {
      e[k].node = order[i];
      e[k].index = j;
      k++;
    }
  rc = mx_symbol_from_entries(e, k, out);
  free(e);
  free(order);
  return rc;
}

mx_status mx_symbol_get_children(const mx_symbol *s, mx_symbol **out) {
  int total = 0;
  for (int h = 0; h < s->nheads; h++) total += s->heads[h].node->ninputs;
  mx_entry *e = (mx_entry *)malloc((size_t)(total > 0 ? total : 1) * sizeof *e);
  if (!e) return mx_error(MX_ERR_NOMEM, "out of memory");
  int k = 0;
  for (int h = 0; h < s->nheads; h++) {
    const mx_node *x = s->heads[h].node;
    int seen_before = 0;
    for (int p = 0; p < h; p++) if (s->heads[p].node == x) seen_before = 1;
    if (seen_before) continue;
    for (int j = 0; j < x->ninputs; j++) e[k++] = x->inputs[j];
  }
  mx_status rc = k == 0 ? mx_error(MX_ERR_ARG, "the symbol has no children (it is a variable)")
                        : mx_symbol_from_entries(e, k, out);
  free(e);
  return rc;
}

/* ------------------------------------------------------------- attributes */

const char *mx_symbol_attr_get(const mx_symbol *s, const char *key) {
  if (s->nheads < 1) return NULL;
  return mx_node_attr(s->heads[0].node, key);
}

mx_status mx_symbol_attr_list(const mx_symbol *s, char ***keys, char ***vals, int *n) {
  *keys = NULL;
  *vals = NULL;
  *n = 0;
  if (s->nheads < 1) return MX_OK;
  const mx_node *x = s->heads[0].node;
  char **k = (char **)calloc((size_t)(x->nattr + 1), sizeof *k);
  char **v = (char **)calloc((size_t)(x->nattr + 1), sizeof *v);
  if (!k || !v) {
    free(k);
    free(v);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < x->nattr; i++) {
    k[i] = mx_strdup(x->attr_keys[i]);
    v[i] = mx_strdup(x->attr_vals[i]);
    if (!k[i] || !v[i]) {
      mx_string_list_free(k, i + 1);
      mx_string_list_free(v, i + 1);
      return mx_error(MX_ERR_NOMEM, "out of memory");
    }
  }
  *keys = k;
  *vals = v;
  *n = x->nattr;
  return MX_OK;
}

mx_status mx_symbol_attr_set(mx_symbol *s, const char *key, const char *val) {
  if (s->nheads < 1) return mx_error(MX_ERR_ARG, "empty symbol");
  mx_node *x = s->heads[0].node;
  for (int i = 1; i < s->nheads; i++)
    if (s->heads[i].node != x)
      return mx_error(MX_ERR_ARG, "cannot set attributes on a group of symbols");
  if (x->op) {
    for (int i = 0; i < x->op->num_params; i++)
      if (strcmp(x->op->params[i].name, key) == 0)
        return mx_error(MX_ERR_ARG, "'%s' is a parameter of %s, not an attribute", key, x->op->name);
  }
  return mx_node_set_attr(x, key, val);
}

/* ------------------------------------------------------------- composition */

mx_status mx_symbol_compose(const mx_symbol *s, const char *const *names,
                            mx_symbol *const *with, int nw, const char *name,
                            mx_symbol **out) {
  *out = NULL;
  for (int i = 0; i < nw; i++)
    if (with[i]->nheads != 1)
      return mx_error(MX_ERR_ARG, "the replacement for '%s' must have one output", names[i]);
  mx_node **order;
  int n;
  mx_status rc = mx_graph_topo(s, &order, &n);
  if (rc) return rc;
  mx_node_index *ix = NULL;
  mx_node **copy = (mx_node **)calloc((size_t)(n > 0 ? n : 1), sizeof *copy);
  int *used = (int *)calloc((size_t)(nw > 0 ? nw : 1), sizeof *used);
  if (!copy || !used) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
  if ((rc = mx_node_index_new(order, n, &ix))) goto done;
  /* copy the graph bottom-up; variables named in `names` are replaced */
  for (int i = 0; i < n; i++) {
    mx_node *x = order[i];
    if (!x->op) {
      int r = -1;
      for (int k = 0; k < nw; k++) if (strcmp(names[k], x->name) == 0) r = k;
      if (r >= 0) {
        used[r] = 1;
        copy[i] = with[r]->heads[0].node;   /* index handled below */
        mx_node_retain(copy[i]);
      } else {
        copy[i] = x;
        mx_node_retain(x);
      }
      continue;
    }
    mx_entry ins[MX_MAX_INPUTS];
    int changed = 0;
    for (int j = 0; j < x->ninputs; j++) {
      int k = mx_node_index_get(ix, x->inputs[j].node);
      ins[j].node = copy[k];
      ins[j].index = x->inputs[j].index;
      if (!order[k]->op) {
        for (int r = 0; r < nw; r++)
          if (strcmp(names[r], order[k]->name) == 0) ins[j].index = with[r]->heads[0].index;
      }
      if (copy[k] != x->inputs[j].node) changed = 1;
    }
    if (!changed) {
      copy[i] = x;
      mx_node_retain(x);
      continue;
    }
    rc = mx_node_new_op(x->op, x->params, x->name, (const char *const *)x->attr_keys,
                        (const char *const *)x->attr_vals, x->nattr, ins, x->ninputs, &copy[i]);
    if (rc) goto done;
  }
  for (int k = 0; k < nw; k++)
    if (!used[k]) {
      rc = mx_error(MX_ERR_ARG, "the symbol has no argument named '%s'", names[k]);
      goto done;
    }
  {
    mx_entry *heads = (mx_entry *)malloc((size_t)(s->nheads > 0 ? s->nheads : 1) * sizeof *heads);
    if (!heads) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
    for (int h = 0; h < s->nheads; h++) {
      int k = mx_node_index_get(ix, s->heads[h].node);
      heads[h].node = copy[k];
      heads[h].index = s->heads[h].index;
    }
    rc = mx_symbol_from_entries(heads, s->nheads, out);
    free(heads);
    if (rc == MX_OK && name && *name && (*out)->nheads > 0 && (*out)->heads[0].node->op) {
      mx_node *hn = (*out)->heads[0].node;
      char *nn = mx_strdup(name);
      if (nn) {
        free(hn->name);
        hn->name = nn;
      }
    }
  }
done:
  if (copy)
    for (int i = 0; i < n; i++) mx_node_release(copy[i]);
  free(copy);
  free(used);
  mx_node_index_free(ix);
  free(order);
  return rc;
}

/* -------------------------------------------------------------- inference */

/* Element count of a known shape, or -1 when it overflows int64. */
static int64_t checked_size(const mx_shape *s) {
  int64_t n = 1;
  for (int k = 0; k < s->ndim; k++)
    if (s->d[k] < 0 || __builtin_mul_overflow(n, s->d[k], &n)) return -1;
  return n;
}

static mx_status bad_hint(const mx_node *v, const char *s, const char *why) {
  return mx_error(MX_ERR_ARG, "variable '%s': __shape__ hint '%s' %s", v->name, s, why);
}

/* Parse variable v's "__shape__" hint, such as "(1, 2)" or "[3,]".  A 0
 * dimension means unknown in MXNet: the hint then leaves the shape
 * unknown.  Anything else that is not a shape is an error. */
static mx_status parse_shape_hint(const mx_node *v, const char *s, mx_shape *out) {
  const char *p = s;
  while (*p == ' ') p++;
  char close = *p == '(' ? ')' : *p == '[' ? ']' : 0;
  if (!close) return bad_hint(v, s, "is not a shape such as (2, 3)");
  mx_shape sh = {0, {0}};
  int unknown = 0;
  for (p++;;) {
    while (*p == ' ') p++;
    if (*p == close) break;
    char *end;
    errno = 0;
    long long d = strtoll(p, &end, 10);
    if (end == p) return bad_hint(v, s, "is not a shape such as (2, 3)");
    if (errno == ERANGE) return bad_hint(v, s, "has a dimension that overflows a 64-bit integer");
    if (d < 0) return bad_hint(v, s, "has a negative dimension");
    if (sh.ndim == MX_MAX_DIM) return bad_hint(v, s, "has too many dimensions");
    if (d == 0) unknown = 1;
    sh.d[sh.ndim++] = d;
    for (p = end; *p == ' '; p++) {}
    if (*p == ',') p++;
    else if (*p != close) return bad_hint(v, s, "is not a shape such as (2, 3)");
  }
  for (p++; *p == ' '; p++) {}
  if (*p) return bad_hint(v, s, "is not a shape such as (2, 3)");
  if (checked_size(&sh) < 0) return bad_hint(v, s, "has more elements than a 64-bit count holds");
  if (!unknown) *out = sh;
  return MX_OK;
}

/* A shape inference produced or was given must have a countable size. */
static mx_status check_countable(const mx_node *x, int k, const mx_shape *sh) {
  if (sh->ndim < 0 || checked_size(sh) >= 0) return MX_OK;
  char b[256];
  mx_shape_format(sh, b, sizeof b);
  if (!x->op) return mx_error(MX_ERR_SHAPE, "argument '%s': shape %s has more elements than a 64-bit count holds", x->name, b);
  return mx_error(MX_ERR_SHAPE, "%s (%s): output %d would have shape %s, more elements than a 64-bit count holds",
                  x->name, x->op->name, k + 1, b);
}

typedef struct named_key {
  const char *name;
  int idx;
} named_key;

static int cmp_named_key(const void *a, const void *b) {
  const named_key *x = (const named_key *)a, *y = (const named_key *)b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* key_of[i]: the key naming variable node order[i] (the last such key; -1:
 * none).  With `strict`, a key naming no variable is an error.  Sorted, so
 * many keys cost n log n rather than n * keys. */
static mx_status match_keys(mx_node *const *order, int n, const char *const *keys, int nk,
                            int strict, int *key_of) {
  named_key *sk = (named_key *)malloc((size_t)(nk > 0 ? nk : 1) * sizeof *sk);
  unsigned char *used = (unsigned char *)calloc((size_t)(nk > 0 ? nk : 1), 1);
  if (!sk || !used) {
    free(sk);
    free(used);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  for (int k = 0; k < nk; k++) sk[k] = (named_key){keys[k], k};
  qsort(sk, (size_t)nk, sizeof *sk, cmp_named_key);
  for (int i = 0; i < n; i++) {
    key_of[i] = -1;
    if (order[i]->op) continue;
    int lo = 0, hi = nk;        /* the first entry not before this name */
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (strcmp(sk[mid].name, order[i]->name) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (; lo < nk && !strcmp(sk[lo].name, order[i]->name); lo++) {
      key_of[i] = sk[lo].idx;    /* ascending: the last key wins */
      used[sk[lo].idx] = 1;
    }
  }
  mx_status rc = MX_OK;
  for (int k = 0; k < nk && strict && rc == MX_OK; k++)
    if (!used[k]) rc = mx_error(MX_ERR_ARG, "the symbol has no argument named '%s'", keys[k]);
  free(sk);
  free(used);
  return rc;
}

/* Shape and type inference share one walker over a table holding one value
 * (an mx_shape or a dtype code) per node output: variables are seeded from
 * the given keys or their hints, then the op nodes are visited in order,
 * pass after pass, until nothing changes.  A rule says how values are
 * seeded, how an op node's function is applied and how its results fold
 * back into the table. */
typedef struct infer_rule {
  size_t size;   /* bytes per value */
  /* the value of output k of node x; given: the caller's value for a variable (or NULL) */
  mx_status (*seed)(const mx_node *x, int k, const void *given, void *val);
  /* apply op node x's function to in/out, copied from the table; *skip: nothing to learn */
  mx_status (*apply)(const mx_node *x, void *in, void *out, int *skip);
  /* fold v, the result for input (is_out 0) or output (1) j of x, into cur */
  mx_status (*merge)(const mx_node *x, int is_out, int j, void *cur, const void *v, int *changed);
  /* after the passes: a default for an unknown variable value (returns 1), or NULL */
  int (*fallback)(void *val);
} infer_rule;

typedef struct infer_result {
  char *args, *outs, *auxs;   /* malloc'ed, in list order */
  int nargs, nouts, naux;
} infer_result;

typedef struct infer_walk {
  const infer_rule *r;
  mx_node **order;
  int n;
  mx_node_index *ix;
  int *off;      /* per node: first table slot */
  char *tab;     /* the values */
} infer_walk;

static void *slot_of(const infer_walk *w, int node, int k) {
  return w->tab + (size_t)(w->off[node] + k) * w->r->size;
}

static void *input_of(const infer_walk *w, const mx_node *x, int j) {
  return slot_of(w, mx_node_index_get(w->ix, x->inputs[j].node), x->inputs[j].index);
}

/* One visit of op node i: gather, apply, fold back. */
static mx_status infer_visit(infer_walk *w, int i, int *changed) {
  const infer_rule *r = w->r;
  const mx_node *x = w->order[i];
  mx_shape in_buf[MX_MAX_INPUTS], out_buf[MX_MAX_OUTPUTS];   /* room for either kind */
  char *in = (char *)in_buf, *out = (char *)out_buf;
  for (int j = 0; j < x->ninputs; j++) memcpy(in + j * r->size, input_of(w, x, j), r->size);
  for (int k = 0; k < x->nout; k++) memcpy(out + k * r->size, slot_of(w, i, k), r->size);
  int skip = 0;
  mx_status rc = r->apply(x, in, out, &skip);
  if (rc) return mx_error_prefix(rc, "%s (%s): ", x->name, x->op->name);
  for (int j = 0; j < x->ninputs && !skip && rc == MX_OK; j++)
    rc = r->merge(x, 0, j, input_of(w, x, j), in + j * r->size, changed);
  for (int k = 0; k < x->nout && !skip && rc == MX_OK; k++)
    rc = r->merge(x, 1, k, slot_of(w, i, k), out + k * r->size, changed);
  return rc;
}

static mx_status infer_seed(infer_walk *w, const char *const *keys, const char *given, int nk, int strict) {
  int *key_of = (int *)malloc((size_t)(w->n > 0 ? w->n : 1) * sizeof(int));
  if (!key_of) return mx_error(MX_ERR_NOMEM, "out of memory");
  mx_status rc = match_keys(w->order, w->n, keys, nk, strict, key_of);
  for (int i = 0; i < w->n && rc == MX_OK; i++)
    for (int k = 0; k < w->order[i]->nout && rc == MX_OK; k++)
      rc = w->r->seed(w->order[i], k, key_of[i] >= 0 ? given + (size_t)key_of[i] * w->r->size : NULL,
                      slot_of(w, i, k));
  free(key_of);
  return rc;
}

static mx_status infer_passes(infer_walk *w) {
  for (int round = 0; round < 2; round++) {
    for (int pass = 0; pass < 32; pass++) {
      int changed = 0;
      for (int i = 0; i < w->n; i++) {
        if (!w->order[i]->op) continue;
        mx_status rc = infer_visit(w, i, &changed);
        if (rc) return rc;
      }
      if (!changed) break;
    }
    int any = 0;
    for (int i = 0; i < w->n && w->r->fallback; i++)
      if (!w->order[i]->op && w->r->fallback(slot_of(w, i, 0))) any = 1;
    if (!any) break;
  }
  return MX_OK;
}

/* Values of the arguments, outputs and auxiliary states, in list order. */
static mx_status infer_collect(const infer_walk *w, const mx_symbol *s, infer_result *res) {
  size_t z = w->r->size;
  unsigned char *aux = (unsigned char *)malloc((size_t)(w->n > 0 ? w->n : 1));
  if (!aux) return mx_error(MX_ERR_NOMEM, "out of memory");
  mx_graph_aux_flags(w->order, w->n, w->ix, aux);
  int na = 0, nx = 0;
  for (int i = 0; i < w->n; i++)
    if (!w->order[i]->op) { if (aux[i]) nx++; else na++; }
  res->args = (char *)malloc((size_t)(na > 0 ? na : 1) * z);
  res->auxs = (char *)malloc((size_t)(nx > 0 ? nx : 1) * z);
  res->outs = (char *)malloc((size_t)(s->nheads > 0 ? s->nheads : 1) * z);
  if (!res->args || !res->auxs || !res->outs) {
    free(aux);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < w->n; i++) {
    if (w->order[i]->op) continue;
    if (aux[i]) memcpy(res->auxs + (size_t)res->naux++ * z, slot_of(w, i, 0), z);
    else memcpy(res->args + (size_t)res->nargs++ * z, slot_of(w, i, 0), z);
  }
  for (int h = 0; h < s->nheads; h++)
    memcpy(res->outs + (size_t)h * z,
           slot_of(w, mx_node_index_get(w->ix, s->heads[h].node), s->heads[h].index), z);
  res->nouts = s->nheads;
  free(aux);
  return MX_OK;
}

/* given: nk values of rule->size bytes, named by keys.  strict: a key that
 * names no variable is an error. */
static mx_status infer_run(const mx_symbol *s, const infer_rule *r, const char *const *keys,
                           const void *given, int nk, int strict, infer_result *res) {
  memset(res, 0, sizeof *res);
  infer_walk w = {r, NULL, 0, NULL, NULL, NULL};
  mx_status rc = mx_graph_topo(s, &w.order, &w.n);
  if (rc) return rc;
  w.off = (int *)calloc((size_t)(w.n + 1), sizeof(int));
  if (!w.off) rc = mx_error(MX_ERR_NOMEM, "out of memory");
  for (int i = 0; i < w.n && rc == MX_OK; i++) w.off[i + 1] = w.off[i] + w.order[i]->nout;
  if (rc == MX_OK && !(w.tab = (char *)malloc((size_t)(w.off[w.n] > 0 ? w.off[w.n] : 1) * r->size)))
    rc = mx_error(MX_ERR_NOMEM, "out of memory");
  if (rc == MX_OK) rc = mx_node_index_new(w.order, w.n, &w.ix);
  if (rc == MX_OK) rc = infer_seed(&w, keys, (const char *)given, nk, strict);
  if (rc == MX_OK) rc = infer_passes(&w);
  if (rc == MX_OK) rc = infer_collect(&w, s, res);
  if (rc) {
    free(res->args); free(res->outs); free(res->auxs);
    memset(res, 0, sizeof *res);
  }
  mx_node_index_free(w.ix);
  free(w.tab);
  free(w.off);
  free(w.order);
  return rc;
}

/* May the op's shape function be called with unknown inputs beyond the
 * first?  Ops with weights (list_inputs, aux) fill their weights' shapes. */
static int partial_ok(const mx_op *op) {
  return op->list_inputs != NULL || op->num_aux != NULL || (op->flags & MX_OPF_PARTIAL_SHAPE);
}

static mx_status shape_seed(const mx_node *x, int k, const void *given, void *val) {
  mx_shape *sh = (mx_shape *)val;
  sh->ndim = -1;
  if (x->op) return MX_OK;
  const char *hint = mx_node_attr(x, "__shape__");
  if (given) *sh = *(const mx_shape *)given;
  else if (hint) {
    mx_status rc = parse_shape_hint(x, hint, sh);
    if (rc) return rc;
  }
  return check_countable(x, k, sh);
}

/* Outputs (and unknown weight inputs) from the inputs, when there is
 * something left to learn.  Ops with weights need their first input; ops
 * that fill inputs from each other or from a known output (element-wise,
 * MX_OPF_PARTIAL_SHAPE, and mx_infer_shape_same) run on whatever is known,
 * so shapes also flow backward (MXNet's ElemwiseShape). */
static mx_status shape_apply(const mx_node *x, void *in_v, void *out_v, int *skip) {
  mx_shape *in = (mx_shape *)in_v, *out = (mx_shape *)out_v;
  int known_in = 1, known_out = 1, any_out = 0;
  for (int j = 0; j < x->ninputs; j++) if (in[j].ndim < 0) known_in = 0;
  for (int k = 0; k < x->nout; k++) {
    if (out[k].ndim < 0) known_out = 0;
    else any_out = 1;
  }
  int elemwise = (x->op->flags & MX_OPF_PARTIAL_SHAPE) || x->op->infer_shape == mx_infer_shape_same;
  int from_out = elemwise && any_out;
  *skip = (known_in && known_out) ||
          (x->ninputs > 0 && in[0].ndim < 0 && !(x->op->flags & MX_OPF_PARTIAL_SHAPE) && !from_out) ||
          (!known_in && !partial_ok(x->op) && !from_out);
  if (*skip) return MX_OK;
  if (!elemwise)
    for (int k = 0; k < x->nout; k++) out[k].ndim = -1;
  return x->op->infer_shape(x->params, x->ninputs, in, x->nout, out);
}

static mx_status shape_merge(const mx_node *x, int is_out, int j, void *cur_v, const void *v_v, int *changed) {
  mx_shape *cur = (mx_shape *)cur_v;
  const mx_shape *v = (const mx_shape *)v_v;
  if (v->ndim < 0) return MX_OK;
  if (is_out) {
    mx_status rc = check_countable(x, j, v);
    if (rc) return rc;
    if (cur->ndim < 0) *changed = 1;
    *cur = *v;
    return MX_OK;
  }
  if (cur->ndim < 0) {
    *cur = *v;
    *changed = 1;
  } else if (!mx_shape_equal(cur, v)) {
    char b1[128], b2[128];
    mx_shape_format(cur, b1, sizeof b1);
    mx_shape_format(v, b2, sizeof b2);
    const char *inm = mx_op_param_input_name(x->op, x->params, j);
    return mx_error(MX_ERR_SHAPE, "%s (%s): input '%s' (%s) has shape %s, expected %s", x->name,
                    x->op->name, inm ? inm : "?", x->inputs[j].node->name, b1, b2);
  }
  return MX_OK;
}

static const infer_rule shape_rule = {sizeof(mx_shape), shape_seed, shape_apply, shape_merge, NULL};

mx_status mx_symbol_infer_shape(const mx_symbol *s, const char *const *keys,
                                const mx_shape *shapes, int nk,
                                mx_shape **args, int *nargs, mx_shape **outs,
                                int *nouts, mx_shape **auxs, int *naux,
                                int *complete) {
  infer_result r;
  mx_status rc = infer_run(s, &shape_rule, keys, shapes, nk, 1, &r);
  *args = (mx_shape *)r.args;
  *outs = (mx_shape *)r.outs;
  *auxs = (mx_shape *)r.auxs;
  *nargs = r.nargs;
  *nouts = r.nouts;
  *naux = r.naux;
  *complete = rc == MX_OK;
  for (int i = 0; i < r.nargs; i++) if ((*args)[i].ndim < 0) *complete = 0;
  for (int i = 0; i < r.naux; i++) if ((*auxs)[i].ndim < 0) *complete = 0;
  for (int i = 0; i < r.nouts; i++) if ((*outs)[i].ndim < 0) *complete = 0;
  return rc;
}

static mx_status type_seed(const mx_node *x, int k, const void *given, void *val) {
  (void)k;
  int *t = (int *)val;
  *t = -1;
  if (x->op) return MX_OK;
  const char *da = mx_node_attr(x, "__dtype__");
  if (given) {
    *t = *(const int *)given;
  } else if (da) {
    int d = mx_dtype_from_name(da);
    if (d < 0 && isdigit((unsigned char)da[0])) d = atoi(da);
    if (mx_dtype_valid(d)) *t = d;
  }
  return MX_OK;
}

static mx_status type_apply(const mx_node *x, void *in, void *out, int *skip) {
  *skip = 0;
  mx_infer_type_fn f = x->op->infer_type ? x->op->infer_type : mx_infer_type_same;
  return f(x->params, x->ninputs, (int *)in, x->nout, (int *)out);
}

static mx_status type_merge(const mx_node *x, int is_out, int j, void *cur, const void *v, int *changed) {
  (void)x; (void)is_out; (void)j;
  if (*(const int *)v >= 0 && *(int *)cur < 0) {
    *(int *)cur = *(const int *)v;
    *changed = 1;
  }
  return MX_OK;
}

/* Unknown arguments default to float32 (then the passes run once more). */
static int type_fallback(void *val) {
  if (*(int *)val >= 0) return 0;
  *(int *)val = MX_FLOAT32;
  return 1;
}

static const infer_rule type_rule = {sizeof(int), type_seed, type_apply, type_merge, type_fallback};

mx_status mx_symbol_infer_type(const mx_symbol *s, const char *const *keys,
                               const int *types, int nk, int **args, int *nargs,
                               int **outs, int *nouts, int **auxs, int *naux) {
  infer_result r;
  mx_status rc = infer_run(s, &type_rule, keys, types, nk, 0, &r);
  *args = (int *)r.args;
  *outs = (int *)r.outs;
  *auxs = (int *)r.auxs;
  *nargs = r.nargs;
  *nouts = r.nouts;
  *naux = r.naux;
  return rc;
}
