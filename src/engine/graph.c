/*
 * graph.c -- symbols: a DAG of reference-counted nodes, composition with
 * MXNet's naming rules, listing, attributes and shape/type inference.
 */
#include "../include/mx-graph.h"

#include <ctype.h>
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

static mx_status node_set_attrs(mx_node *n, const char *const *keys,
                                const char *const *vals, int nattr) {
  for (int i = 0; i < nattr; i++) {
    mx_status rc = mx_node_set_attr(n, keys[i], vals[i]);
    if (rc) return rc;
  }
  return MX_OK;
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
  if (n->nout > MX_MAX_OUTPUTS) {   /* inference and execution use arrays of this size */
    int k = n->nout;
    node_destroy(n);
    return mx_error(MX_ERR_ARG, "%s: %d outputs, more than the engine's limit of %d", op->name, k,
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
    mx_entry heads[MX_MAX_OUTPUTS];
    for (int k = 0; k < node->nvis; k++) {
      heads[k].node = node;
      heads[k].index = k;
    }
    rc = mx_symbol_from_entries(heads, node->nvis, out);
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

/* Parse a "__shape__" attribute ("(1, 2)"); 0 dims mean unknown in MXNet. */
static int parse_shape_attr(const char *s, mx_shape *out) {
  int64_t d[MX_MAX_DIM];
  int n = 0;
  const char *p = s;
  while (*p && *p != '(' && *p != '[') p++;
  if (!*p) return 0;
  p++;
  for (;;) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')' || *p == ']' || !*p) break;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || n == MX_MAX_DIM || v <= 0) return 0;
    d[n++] = v;
    p = end;
  }
  out->ndim = n;
  for (int k = 0; k < n; k++) out->d[k] = d[k];
  return 1;
}

/* May the op's shape function be called with unknown inputs beyond the
 * first?  Ops with weights (list_inputs, aux) fill their weights' shapes. */
static int partial_ok(const mx_op *op) {
  return op->list_inputs != NULL || op->num_aux != NULL || (op->flags & MX_OPF_PARTIAL_SHAPE);
}

mx_status mx_symbol_infer_shape(const mx_symbol *s, const char *const *keys,
                                const mx_shape *shapes, int nk,
                                mx_shape **args, int *nargs, mx_shape **outs,
                                int *nouts, mx_shape **auxs, int *naux,
                                int *complete) {
  *args = *outs = *auxs = NULL;
  *nargs = *nouts = *naux = 0;
  *complete = 0;
  mx_node **order;
  int n;
  mx_status rc = mx_graph_topo(s, &order, &n);
  if (rc) return rc;
  mx_node_index *ix = NULL;
  mx_shape **es = (mx_shape **)calloc((size_t)(n > 0 ? n : 1), sizeof *es);
  unsigned char *aux = (unsigned char *)malloc((size_t)(n > 0 ? n : 1));
  if (!es || !aux) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
  if ((rc = mx_node_index_new(order, n, &ix))) goto done;
  for (int i = 0; i < n; i++) {
    es[i] = (mx_shape *)malloc((size_t)order[i]->nout * sizeof(mx_shape));
    if (!es[i]) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
    for (int k = 0; k < order[i]->nout; k++) es[i][k].ndim = -1;
    if (!order[i]->op) {
      const char *sa = mx_node_attr(order[i], "__shape__");
      if (sa) parse_shape_attr(sa, &es[i][0]);
    }
  }
  for (int k = 0; k < nk; k++) {
    int found = 0;
    for (int i = 0; i < n; i++)
      if (!order[i]->op && strcmp(order[i]->name, keys[k]) == 0) {
        es[i][0] = shapes[k];
        found = 1;
      }
    if (!found) {
      rc = mx_error(MX_ERR_ARG, "the symbol has no argument named '%s'", keys[k]);
      goto done;
    }
  }
  for (int pass = 0; pass < 32; pass++) {
    int changed = 0;
    for (int i = 0; i < n; i++) {
      mx_node *x = order[i];
      if (!x->op) continue;
      mx_shape in[MX_MAX_INPUTS], out[MX_MAX_OUTPUTS];
      int known_in = 1;
      for (int j = 0; j < x->ninputs; j++) {
        int k = mx_node_index_get(ix, x->inputs[j].node);
        in[j] = es[k][x->inputs[j].index];
        if (in[j].ndim < 0) known_in = 0;
      }
      if (x->ninputs > 0 && in[0].ndim < 0) continue;
      if (!known_in && !partial_ok(x->op)) continue;
      for (int k = 0; k < x->nout; k++) out[k] = es[i][k];
      int all_out_known = 1;
      for (int k = 0; k < x->nout; k++) if (out[k].ndim < 0) all_out_known = 0;
      if (known_in && all_out_known) continue;
      /* the op's function fills outputs (and unknown weight inputs) */
      for (int k = 0; k < x->nout; k++) out[k].ndim = -1;
      rc = x->op->infer_shape(x->params, x->ninputs, in, x->nout, out);
      if (rc) {
        mx_error_prefix(rc, "%s (%s): ", x->name, x->op->name);
        goto done;
      }
      for (int j = 0; j < x->ninputs; j++) {
        int k = mx_node_index_get(ix, x->inputs[j].node);
        mx_shape *cur = &es[k][x->inputs[j].index];
        if (in[j].ndim < 0) continue;
        if (cur->ndim < 0) {
          *cur = in[j];
          changed = 1;
        } else if (!mx_shape_equal(cur, &in[j])) {
          char b1[128], b2[128];
          mx_shape_format(cur, b1, sizeof b1);
          mx_shape_format(&in[j], b2, sizeof b2);
          const char *inm = mx_op_param_input_name(x->op, x->params, j);
          rc = mx_error(MX_ERR_SHAPE, "%s (%s): input '%s' (%s) has shape %s, expected %s",
                        x->name, x->op->name, inm ? inm : "?", x->inputs[j].node->name, b1, b2);
          goto done;
        }
      }
      for (int k = 0; k < x->nout; k++) {
        if (out[k].ndim < 0) continue;
        if (es[i][k].ndim < 0) changed = 1;
        es[i][k] = out[k];
      }
    }
    if (!changed) break;
  }
  /* results */
  mx_graph_aux_flags(order, n, ix, aux);
  {
    int na = 0, nx = 0;
    for (int i = 0; i < n; i++)
      if (!order[i]->op) { if (aux[i]) nx++; else na++; }
    *args = (mx_shape *)malloc((size_t)(na > 0 ? na : 1) * sizeof(mx_shape));
    *auxs = (mx_shape *)malloc((size_t)(nx > 0 ? nx : 1) * sizeof(mx_shape));
    *outs = (mx_shape *)malloc((size_t)(s->nheads > 0 ? s->nheads : 1) * sizeof(mx_shape));
    if (!*args || !*auxs || !*outs) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
    int all = 1;
    for (int i = 0; i < n; i++) {
      if (order[i]->op) continue;
      mx_shape sh = es[i][0];
      if (sh.ndim < 0) all = 0;
      if (aux[i]) (*auxs)[(*naux)++] = sh;
      else (*args)[(*nargs)++] = sh;
    }
    for (int h = 0; h < s->nheads; h++) {
      int k = mx_node_index_get(ix, s->heads[h].node);
      (*outs)[h] = es[k][s->heads[h].index];
      if ((*outs)[h].ndim < 0) all = 0;
    }
    *nouts = s->nheads;
    *complete = all;
  }
done:
  if (es)
    for (int i = 0; i < n; i++) free(es[i]);
  free(es);
  free(aux);
  mx_node_index_free(ix);
  free(order);
  if (rc) {
    free(*args); free(*outs); free(*auxs);
    *args = *outs = *auxs = NULL;
    *nargs = *nouts = *naux = 0;
  }
  return rc;
}

mx_status mx_symbol_infer_type(const mx_symbol *s, const char *const *keys,
                               const int *types, int nk, int **args, int *nargs,
                               int **outs, int *nouts, int **auxs, int *naux) {
  *args = *outs = *auxs = NULL;
  *nargs = *nouts = *naux = 0;
  mx_node **order;
  int n;
  mx_status rc = mx_graph_topo(s, &order, &n);
  if (rc) return rc;
  mx_node_index *ix = NULL;
  int **et = (int **)calloc((size_t)(n > 0 ? n : 1), sizeof *et);
  unsigned char *aux = (unsigned char *)malloc((size_t)(n > 0 ? n : 1));
  if (!et || !aux) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
  if ((rc = mx_node_index_new(order, n, &ix))) goto done;
  for (int i = 0; i < n; i++) {
    et[i] = (int *)malloc((size_t)order[i]->nout * sizeof(int));
    if (!et[i]) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
    for (int k = 0; k < order[i]->nout; k++) et[i][k] = -1;
    if (!order[i]->op) {
      const char *da = mx_node_attr(order[i], "__dtype__");
      if (da) {
        int t = mx_dtype_from_name(da);
        if (t < 0 && isdigit((unsigned char)da[0])) t = atoi(da);
        if (mx_dtype_valid(t)) et[i][0] = t;
      }
    }
  }
  for (int k = 0; k < nk; k++)
    for (int i = 0; i < n; i++)
      if (!order[i]->op && strcmp(order[i]->name, keys[k]) == 0) et[i][0] = types[k];
  for (int round = 0; round < 2; round++) {
    for (int pass = 0; pass < 32; pass++) {
      int changed = 0;
      for (int i = 0; i < n; i++) {
        mx_node *x = order[i];
        if (!x->op) continue;
        int in[MX_MAX_INPUTS], out[MX_MAX_OUTPUTS];
        for (int j = 0; j < x->ninputs; j++) {
          int k = mx_node_index_get(ix, x->inputs[j].node);
          in[j] = et[k][x->inputs[j].index];
        }
        for (int k = 0; k < x->nout; k++) out[k] = et[i][k];
        mx_infer_type_fn f = x->op->infer_type ? x->op->infer_type : mx_infer_type_same;
        rc = f(x->params, x->ninputs, in, x->nout, out);
        if (rc) {
          mx_error_prefix(rc, "%s (%s): ", x->name, x->op->name);
          goto done;
        }
        for (int j = 0; j < x->ninputs; j++) {
          int k = mx_node_index_get(ix, x->inputs[j].node);
          int *cur = &et[k][x->inputs[j].index];
          if (in[j] >= 0 && *cur < 0) { *cur = in[j]; changed = 1; }
        }
        for (int k = 0; k < x->nout; k++)
          if (out[k] >= 0 && et[i][k] < 0) { et[i][k] = out[k]; changed = 1; }
      }
      if (!changed) break;
    }
    /* unknown arguments default to float32, then propagate once more */
    int any = 0;
    for (int i = 0; i < n; i++)
      if (!order[i]->op && et[i][0] < 0) { et[i][0] = MX_FLOAT32; any = 1; }
    if (!any) break;
  }
  mx_graph_aux_flags(order, n, ix, aux);
  {
    int na = 0, nx = 0;
    for (int i = 0; i < n; i++)
      if (!order[i]->op) { if (aux[i]) nx++; else na++; }
    *args = (int *)malloc((size_t)(na > 0 ? na : 1) * sizeof(int));
    *auxs = (int *)malloc((size_t)(nx > 0 ? nx : 1) * sizeof(int));
    *outs = (int *)malloc((size_t)(s->nheads > 0 ? s->nheads : 1) * sizeof(int));
    if (!*args || !*auxs || !*outs) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
    for (int i = 0; i < n; i++) {
      if (order[i]->op) continue;
      if (aux[i]) (*auxs)[(*naux)++] = et[i][0];
      else (*args)[(*nargs)++] = et[i][0];
    }
    for (int h = 0; h < s->nheads; h++) {
      int k = mx_node_index_get(ix, s->heads[h].node);
      (*outs)[h] = et[k][s->heads[h].index];
    }
    *nouts = s->nheads;
  }
done:
  if (et)
    for (int i = 0; i < n; i++) free(et[i]);
  free(et);
  free(aux);
  mx_node_index_free(ix);
  free(order);
  if (rc) {
    free(*args); free(*outs); free(*auxs);
    *args = *outs = *auxs = NULL;
    *nargs = *nouts = *naux = 0;
  }
  return rc;
}
