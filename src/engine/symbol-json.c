/*
 * symbol-json.c -- symbols to and from MXNet's JSON (docs/formats in
 * ../shared/reference/mxnet-formats.md section a): writing the 1.9.1 layout,
 * reading it and the legacy (<= 0.8) layout with MXNet's upgrade steps.
 */
#include "../include/mx-graph.h"
#include "../include/mx-json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MXNET_VERSION 10901

/* ---------------------------------------------------------------- writing */

typedef struct attr_pair {
  const char *k, *v;
} attr_pair;

static int cmp_pair(const void *a, const void *b) {
  return strcmp(((const attr_pair *)a)->k, ((const attr_pair *)b)->k);
}

mx_status mx_symbol_to_json(const mx_symbol *s, char **json) {
  *json = NULL;
  mx_node **order;
  int n;
  mx_status rc = mx_graph_topo(s, &order, &n);
  if (rc) return rc;
  mx_node_index *ix = NULL;
  if ((rc = mx_node_index_new(order, n, &ix))) {
    free(order);
    return rc;
  }
  mx_strbuf b;
  mx_sb_init(&b);
  mx_sb_puts(&b, "{\n  \"nodes\": [\n");
  for (int i = 0; i < n; i++) {
    const mx_node *x = order[i];
    mx_sb_puts(&b, "    {\n      \"op\": ");
    mx_sb_json_string(&b, x->op ? x->op->name : "null");
    mx_sb_puts(&b, ",\n      \"name\": ");
    mx_sb_json_string(&b, x->name);
    if (x->nattr > 0) {
      attr_pair *keys = (attr_pair *)malloc((size_t)x->nattr * sizeof *keys);
      if (!keys) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); break; }
      for (int a = 0; a < x->nattr; a++) keys[a] = (attr_pair){x->attr_keys[a], x->attr_vals[a]};
      qsort(keys, (size_t)x->nattr, sizeof *keys, cmp_pair);
      mx_sb_puts(&b, ",\n      \"attrs\": {\n");
      for (int a = 0; a < x->nattr; a++) {
        mx_sb_puts(&b, "        ");
        mx_sb_json_string(&b, keys[a].k);
        mx_sb_puts(&b, ": ");
        mx_sb_json_string(&b, keys[a].v);
        mx_sb_puts(&b, a + 1 < x->nattr ? ",\n" : "\n");
      }
      mx_sb_puts(&b, "      }");
      free(keys);
    }
    mx_sb_puts(&b, ",\n      \"inputs\": [");
    for (int j = 0; j < x->ninputs; j++)
      mx_sb_printf(&b, "%s[%d, %d, 0]", j ? ", " : "", mx_node_index_get(ix, x->inputs[j].node),
                   x->inputs[j].index);
    mx_sb_puts(&b, i + 1 < n ? "]\n    },\n" : "]\n    }\n");
  }
  mx_sb_puts(&b, "  ],\n  \"arg_nodes\": [");
  int first = 1;
  for (int i = 0; i < n; i++)
    if (!order[i]->op) {
      mx_sb_printf(&b, first ? "%d" : ", %d", i);
      first = 0;
    }
  mx_sb_puts(&b, "],\n  \"node_row_ptr\": [0");
  int acc = 0;
  for (int i = 0; i < n; i++) {
    acc += order[i]->nout;
    mx_sb_printf(&b, ", %d", acc);
  }
  mx_sb_puts(&b, "],\n  \"heads\": [");
  for (int h = 0; h < s->nheads; h++)
    mx_sb_printf(&b, "%s[%d, %d, 0]", h ? ", " : "", mx_node_index_get(ix, s->heads[h].node),
                 s->heads[h].index);
  mx_sb_printf(&b, "],\n  \"attrs\": {\"mxnet_version\": [\"int\", %d]}\n}", MXNET_VERSION);
  mx_node_index_free(ix);
  free(order);
  if (rc) {
    mx_sb_free(&b);
    return rc;
  }
  *json = mx_sb_take(&b);
  if (!*json) return mx_error(MX_ERR_NOMEM, "out of memory writing JSON");
  return MX_OK;
}

/* ---------------------------------------------------------------- reading */

static const char *const hidden_keys[] = {"ctx_group", "lr_mult", "wd_mult",
                                          "force_mirroring", "mirror_stage", NULL};

static int is_hidden(const char *k) {
  for (int i = 0; hidden_keys[i]; i++)
    if (strcmp(k, hidden_keys[i]) == 0) return 1;
  return 0;
}

/* Attribute value as text (strings as they are; numbers and booleans
 * printed, for files written by hand or other tools). */
static int value_text(const mx_json *v, char *buf, size_t len) {
  if (v->type == MX_JSON_STR) {
    if (strlen(v->str) >= len) return -1;
    snprintf(buf, len, "%s", v->str);
    return 0;
  }
  if (v->type == MX_JSON_NUM) {
    if (v->num == floor(v->num) && fabs(v->num) < 1e15) snprintf(buf, len, "%lld", (long long)v->num);
    else snprintf(buf, len, "%.17g", v->num);
    return 0;
  }
  if (v->type == MX_JSON_BOOL) {
    snprintf(buf, len, v->num != 0 ? "True" : "False");
    return 0;
  }
  return -1;
}

typedef struct kv {
  char **k, **v;
  int n, cap;
} kv;

/* Append (a repeated key is resolved when the node is made: later sources
 * override, see node_set_attrs in graph.c). */
static mx_status kv_add(kv *a, const char *k, const char *v) {
  if (a->n == a->cap) {
    int cap = a->cap ? a->cap * 2 : 8;
    char **nk = (char **)realloc(a->k, (size_t)cap * sizeof *nk);
    if (!nk) return mx_error(MX_ERR_NOMEM, "out of memory");
    a->k = nk;
    char **nv = (char **)realloc(a->v, (size_t)cap * sizeof *nv);
    if (!nv) return mx_error(MX_ERR_NOMEM, "out of memory");
    a->v = nv;
    a->cap = cap;
  }
  a->k[a->n] = mx_strdup(k);
  a->v[a->n] = mx_strdup(v);
  if (!a->k[a->n] || !a->v[a->n]) {
    free(a->k[a->n]);
    free(a->v[a->n]);
    return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  a->n++;
  return MX_OK;
}

static void kv_free(kv *a) {
  for (int i = 0; i < a->n; i++) {
    free(a->k[i]);
    free(a->v[i]);
  }
  free(a->k);
  free(a->v);
  a->k = a->v = NULL;
  a->n = a->cap = 0;
}

static mx_status collect_attrs(const mx_json *node, int idx, kv *out) {
  static const char *const fields[] = {"param", "attr", "attrs"};
  for (int f = 0; f < 3; f++) {
    const mx_json *o = mx_json_get(node, fields[f]);
    if (!o || o->type == MX_JSON_NULL) continue;
    if (o->type != MX_JSON_OBJ)
      return mx_error(MX_ERR_FORMAT, "node %d: '%s' must be an object", idx, fields[f]);
    for (int i = 0; i < o->n; i++) {
      char buf[4096];
      if (value_text(o->items[i], buf, sizeof buf) != 0)
        return mx_error(MX_ERR_FORMAT, "node %d: attribute '%s' must be a string", idx, o->keys[i]);
      mx_status rc = kv_add(out, o->keys[i], buf);
      if (rc) return rc;
    }
  }
  return MX_OK;
}

static int json_int(const mx_json *v, int64_t *out) {
  if (!v || v->type != MX_JSON_NUM || v->num != floor(v->num) || fabs(v->num) > 2e9) return -1;
  *out = (int64_t)v->num;
  return 0;
}

static mx_status read_entry(const mx_json *e, int nnodes_so_far, mx_node **nodes,
                            const char *what, mx_entry *out) {
  if (!e || e->type != MX_JSON_ARR || e->n < 2 || e->n > 3)
    return mx_error(MX_ERR_FORMAT, "%s: an entry must be [node, output] or [node, output, version]", what);
  int64_t id, idx;
  if (json_int(e->items[0], &id) || json_int(e->items[1], &idx))
    return mx_error(MX_ERR_FORMAT, "%s: entry values must be integers", what);
  if (id < 0 || id >= nnodes_so_far)
    return mx_error(MX_ERR_FORMAT, "%s: entry refers to node %lld, which is not defined before it",
                    what, (long long)id);
  if (idx < 0 || idx >= nodes[id]->nout)
    return mx_error(MX_ERR_FORMAT, "%s: node '%s' has no output %lld", what, nodes[id]->name,
                    (long long)idx);
  out->node = nodes[id];
  out->index = (int)idx;
  return MX_OK;
}

mx_status mx_symbol_from_json(const char *text, size_t len, mx_symbol **out) {
  *out = NULL;
  mx_json *root;
  mx_status rc = mx_json_parse(text, len, &root);
  if (rc) return mx_error_prefix(rc, "symbol JSON: ");
  mx_node **nodes = NULL;
  int nn = 0;
  kv attrs = {0};
  if (root->type != MX_JSON_OBJ) { rc = mx_error(MX_ERR_FORMAT, "symbol JSON: not an object"); goto done; }
  const mx_json *jn = mx_json_get(root, "nodes"), *jh = mx_json_get(root, "heads");
  if (!jn || jn->type != MX_JSON_ARR) { rc = mx_error(MX_ERR_FORMAT, "symbol JSON: no 'nodes' array"); goto done; }
  if (!jh || jh->type != MX_JSON_ARR) { rc = mx_error(MX_ERR_FORMAT, "symbol JSON: no 'heads' array"); goto done; }
  int version = 800;
  const mx_json *ja = mx_json_get(root, "attrs");
  const mx_json *jv = ja ? mx_json_get(ja, "mxnet_version") : NULL;
  if (jv && jv->type == MX_JSON_ARR && jv->n == 2 && jv->items[1]->type == MX_JSON_NUM) {
    int64_t v;
    if (json_int(jv->items[1], &v)) {
      rc = mx_error(MX_ERR_FORMAT, "symbol JSON: 'mxnet_version' must be an integer version number");
      goto done;
    }
    version = (int)v;
  }
  nodes = (mx_node **)calloc((size_t)(jn->n > 0 ? jn->n : 1), sizeof *nodes);
  if (!nodes) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
  for (int i = 0; i < jn->n; i++) {
    const mx_json *node = jn->items[i];
    char what[64];
    snprintf(what, sizeof what, "symbol JSON node %d", i);
    if (node->type != MX_JSON_OBJ) { rc = mx_error(MX_ERR_FORMAT, "%s: not an object", what); goto done; }
    const mx_json *jop = mx_json_get(node, "op"), *jname = mx_json_get(node, "name"),
                  *jin = mx_json_get(node, "inputs");
    if (!jop || jop->type != MX_JSON_STR || !jname || jname->type != MX_JSON_STR) {
      rc = mx_error(MX_ERR_FORMAT, "%s: needs string fields 'op' and 'name'", what);
      goto done;
    }
    if (jin && jin->type != MX_JSON_ARR) { rc = mx_error(MX_ERR_FORMAT, "%s: 'inputs' must be an array", what); goto done; }
    kv_free(&attrs);
    if ((rc = collect_attrs(node, i, &attrs))) goto done;
    /* upgrade: hidden keys become __key__ */
    for (int a = 0; a < attrs.n; a++)
      if (is_hidden(attrs.k[a])) {
        char nk[256];
        snprintf(nk, sizeof nk, "__%s__", attrs.k[a]);
        char *d = mx_strdup(nk);
        if (!d) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
        free(attrs.k[a]);
        attrs.k[a] = d;
      }
    if (strcmp(jop->str, "null") == 0) {
      if (jin && jin->n > 0) { rc = mx_error(MX_ERR_FORMAT, "%s: a variable has inputs", what); goto done; }
      rc = mx_node_new_variable(jname->str, (const char *const *)attrs.k,
                                (const char *const *)attrs.v, attrs.n, &nodes[i]);
      if (rc) goto done;
      nn = i + 1;
      continue;
    }
    const mx_op *op = mx_op_find(jop->str);
    if (!op) {
      rc = mx_error(MX_ERR_UNSUPPORTED, "symbol JSON: node '%s' uses operator '%s', which this version does not have",
                    jname->str, jop->str);
      goto done;
    }
    mx_param_value vals[64];
    if (op->num_params > 64 || (rc = mx_op_params_init(op, vals))) {
      if (!rc) rc = mx_error(MX_ERR_INTERNAL, "too many parameters");
      goto done;
    }
    kv keep = {0};
    for (int a = 0; a < attrs.n && rc == MX_OK; a++) {
      int pi = mx_op_param_index(op, attrs.k[a]);
      if (pi >= 0) {
        rc = mx_op_param_set_str(op, vals, pi, attrs.v[a]);
        if (rc) mx_error_prefix(rc, "symbol JSON node '%s': ", jname->str);
        else if (version < 905 && (!strcmp(op->name, "argmax") || !strcmp(op->name, "argmin")) &&
                 !strcmp(attrs.k[a], "axis") && !strcmp(attrs.v[a], "-1")) {
          vals[pi].is_set = 0;   /* upgrade: axis -1 meant "flatten" */
          continue;
        }
      }
      if (rc == MX_OK) rc = kv_add(&keep, attrs.k[a], attrs.v[a]);
    }
    if (rc) { kv_free(&keep); goto done; }
    int given = jin ? jin->n : 0;
    {
      int ka = mx_op_param_index(op, "num_args");
      if (ka >= 0 && !vals[ka].is_set) {
        double d = given;
        mx_op_param_set_nums(op, vals, ka, &d, 1);
      }
    }
    if ((rc = mx_op_params_check(op, vals))) {
      kv_free(&keep);
      mx_error_prefix(rc, "symbol JSON node '%s': ", jname->str);
      goto done;
    }
    int want = mx_op_num_inputs(op, vals);
    if (want < 0 || want > MX_MAX_INPUTS || given > want) {
      kv_free(&keep);
      rc = mx_error(MX_ERR_FORMAT, "symbol JSON node '%s': %s takes %d inputs, the file gives %d",
                    jname->str, op->name, want, given);
      goto done;
    }
    mx_entry ins[MX_MAX_INPUTS];
    mx_node *created[MX_MAX_INPUTS] = {0};
    for (int j = 0; j < given && rc == MX_OK; j++)
      rc = read_entry(jin->items[j], i, nodes, what, &ins[j]);
    if (rc == MX_OK && given < want) {
      if (version >= 900) {
        rc = mx_error(MX_ERR_FORMAT, "symbol JSON node '%s': %s takes %d inputs, the file gives %d",
                      jname->str, op->name, want, given);
      } else {
        /* upgrade (< 0.9.0): auxiliary states were not stored */
        for (int j = given; j < want && rc == MX_OK; j++) {
          char vn[512];
          const char *inm = mx_op_param_input_name(op, vals, j);
          snprintf(vn, sizeof vn, "%s_%s", jname->str, inm ? inm : "input");
          rc = mx_node_new_variable(vn, NULL, NULL, 0, &created[j]);
          if (rc == MX_OK) {
            ins[j].node = created[j];
            ins[j].index = 0;
          }
        }
      }
    }
    /* upgrade: "<input>_lr_mult" style keys move to that input variable */
    kv rest = {0};
    for (int a = 0; a < keep.n && rc == MX_OK; a++) {
      int moved = 0;
      const char *suf[] = {"_lr_mult", "_wd_mult"};
      for (int q = 0; q < 2 && !moved; q++) {
        size_t lk = strlen(keep.k[a]), ls = strlen(suf[q]);
        if (lk <= ls || strcmp(keep.k[a] + lk - ls, suf[q]) != 0 || keep.k[a][0] == '_') continue;
        for (int j = 0; j < want && !moved; j++) {
          const char *inm = mx_op_param_input_name(op, vals, j);
          if (!inm || strlen(inm) != lk - ls || strncmp(inm, keep.k[a], lk - ls) != 0) continue;
          if (ins[j].node->op) continue;
          rc = mx_node_set_attr(ins[j].node, q == 0 ? "__lr_mult__" : "__wd_mult__", keep.v[a]);
          moved = 1;
        }
      }
      if (!moved && rc == MX_OK) rc = kv_add(&rest, keep.k[a], keep.v[a]);
    }
    if (rc == MX_OK)
      rc = mx_node_new_op(op, vals, jname->str, (const char *const *)rest.k,
                          (const char *const *)rest.v, rest.n, ins, want, &nodes[i]);
    for (int j = 0; j < want; j++) mx_node_release(created[j]);
    kv_free(&keep);
    kv_free(&rest);
    if (rc) goto done;
    nn = i + 1;
  }
  {
    if (jh->n < 1) { rc = mx_error(MX_ERR_FORMAT, "symbol JSON: 'heads' is empty"); goto done; }
    mx_entry *heads = (mx_entry *)malloc((size_t)jh->n * sizeof *heads);
    if (!heads) { rc = mx_error(MX_ERR_NOMEM, "out of memory"); goto done; }
    for (int h = 0; h < jh->n && rc == MX_OK; h++)
      rc = read_entry(jh->items[h], nn, nodes, "symbol JSON heads", &heads[h]);
    if (rc == MX_OK) rc = mx_symbol_from_entries(heads, jh->n, out);
    free(heads);
  }
done:
  kv_free(&attrs);
  for (int i = 0; i < nn; i++) mx_node_release(nodes[i]);
  free(nodes);
  mx_json_free(root);
  return rc;
}
