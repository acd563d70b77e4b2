/*
 * mx-graph.h -- graph internals shared by symbols (graph.c, symbol-json.c)
 * and executors (executor.c).  Not part of the engine's public API.
 */
#ifndef MX_GRAPH_H
#define MX_GRAPH_H

#include "mx-internal.h"
#include "mx-symbol.h"
#include "mx-op.h"

typedef struct mx_node mx_node;

typedef struct mx_entry {
  mx_node *node;
  int index;            /* output index of the node */
} mx_entry;

struct mx_node {
  int refcount;
  const mx_op *op;      /* NULL: a variable */
  char *name;
  int nattr;
  char **attr_keys;     /* hidden/user attributes and, for op nodes, the   */
  char **attr_vals;     /* parameters the user set (their string forms)     */
  mx_param_value *params;   /* op nodes: all parameters, defaults included */
  int ninputs;
  mx_entry *inputs;
  int nout;             /* total outputs (hidden included); 1 for variables */
  int nvis;             /* visible outputs                                 */
  int naux;             /* the last naux inputs are auxiliary states       */
};

struct mx_symbol {
  int nheads;
  mx_entry *heads;
};

void mx_node_retain(mx_node *n);
void mx_node_release(mx_node *n);
/* Attribute lookup on a node (NULL if absent). */
const char *mx_node_attr(const mx_node *n, const char *key);
/* Set (or replace) an attribute. */
mx_status mx_node_set_attr(mx_node *n, const char *key, const char *val);
/* Name of output k of an op node as listed by outputs(): "<name>_output",
 * "<name>_output<k>" or "<name>_<output name>". */
void mx_node_output_name(const mx_node *n, int k, char *buf, size_t len);

/* Nodes reachable from the heads in DFS post-order (inputs before their
 * consumers, inputs visited in order).  *order is malloc'ed. */
mx_status mx_graph_topo(const mx_symbol *s, mx_node ***order, int *n);
/* The graph an executor on ctx binds when its arguments and auxiliary
 * states have dtypes arg_t, aux_t (bridge.c): op nodes that meet float16 or
 * bfloat16 values their kernels do not take read Cast(float32) copies and
 * cast their outputs back.  *out is NULL when nothing needs it. */
mx_status mx_graph_bridge_half(const mx_symbol *s, mx_context ctx, const int *arg_t, int nargs,
                               const int *aux_t, int naux, mx_symbol **out);
/* Index of a node in a topological order (a hash of node pointers). */
typedef struct mx_node_index mx_node_index;
mx_status mx_node_index_new(mx_node *const *order, int n, mx_node_index **out);
int mx_node_index_get(const mx_node_index *ix, const mx_node *node);
void mx_node_index_free(mx_node_index *ix);
/* Is variable node v used as an auxiliary state anywhere in order[]? */
void mx_graph_aux_flags(mx_node *const *order, int n, const mx_node_index *ix,
                        unsigned char *is_aux);

/* Build an op node with already-resolved inputs (used by JSON loading and
 * composition).  Takes references to the input nodes. */
mx_status mx_node_new_op(const mx_op *op, const mx_param_value *vals,
                         const char *name, const char *const *attr_keys,
                         const char *const *attr_vals, int nattr,
                         const mx_entry *inputs, int nin, mx_node **out);
mx_status mx_node_new_variable(const char *name, const char *const *attr_keys,
                               const char *const *attr_vals, int nattr,
                               mx_node **out);
/* A symbol whose heads are the given entries (references taken). */
mx_status mx_symbol_from_entries(const mx_entry *e, int n, mx_symbol **out);

char *mx_strdup(const char *s);

#endif
