/*
 * mx-symbol.h -- symbols (declarative graphs) and their JSON form.
 *
 * A symbol is a list of output entries (node, output index) of a DAG of
 * reference-counted nodes; composing symbols shares nodes.  Variables are
 * nodes without an op.  Shapes are C order (the R glue reverses them).
 */
#ifndef MX_SYMBOL_H
#define MX_SYMBOL_H

#include "mx.h"

typedef struct mx_symbol mx_symbol;

void mx_symbol_free(mx_symbol *s);
mx_status mx_symbol_copy(const mx_symbol *s, mx_symbol **out);

/* A variable (an argument of the graph); attrs are hidden keys such as
 * "__shape__", "__lr_mult__" or user keys. */
mx_status mx_symbol_variable(const char *name, const char *const *attr_keys,
                             const char *const *attr_vals, int nattr,
                             mx_symbol **out);

/* An op node composed with its inputs.  vals: the op's parameters (from
 * mx_op_params_init + setters); explicit[i] != 0 marks the ones the user
 * gave (only those are stored in JSON).  in_names[k] (NULL: positional)
 * names input k; inputs not given become variables "<name>_<input>".
 * name NULL: an automatic name (lower-cased op name + counter). */
mx_status mx_symbol_op(const mx_op *op, const mx_param_value *vals,
                       const unsigned char *explicit_set, const char *name,
                       const char *const *attr_keys, const char *const *attr_vals,
                       int nattr, const char *const *in_names,
                       mx_symbol *const *inputs, int nin, mx_symbol **out);
/* Reset the automatic-name counters (tests). */
void mx_symbol_reset_names(void);

mx_status mx_symbol_group(mx_symbol *const *syms, int n, mx_symbol **out);
mx_status mx_symbol_get_output(const mx_symbol *s, int i, mx_symbol **out);
mx_status mx_symbol_get_internals(const mx_symbol *s, mx_symbol **out);
mx_status mx_symbol_get_children(const mx_symbol *s, mx_symbol **out);
/* Replace variables by name with other symbols (returns a new graph). */
mx_status mx_symbol_compose(const mx_symbol *s, const char *const *names,
                            mx_symbol *const *with, int n, const char *name,
                            mx_symbol **out);

/* Name lists (malloc'ed array of malloc'ed strings; free with
 * mx_string_list_free). kind: 0 arguments, 1 outputs, 2 auxiliary states. */
mx_status mx_symbol_list(const mx_symbol *s, int kind, char ***names, int *n);
void mx_string_list_free(char **names, int n);
int mx_symbol_num_outputs(const mx_symbol *s);
/* Name of the single head node (NULL for a group). */
const char *mx_symbol_name(const mx_symbol *s);

/* Attributes of the head node: get one (NULL if absent), list all, set. */
const char *mx_symbol_attr_get(const mx_symbol *s, const char *key);
mx_status mx_symbol_attr_list(const mx_symbol *s, char ***keys, char ***vals, int *n);
mx_status mx_symbol_attr_set(mx_symbol *s, const char *key, const char *val);

/* Shape inference.  known: shapes by argument name (C order).  Results are
 * in list order (arguments, outputs, auxiliary states); *complete is 0 when
 * some shape stays unknown (ndim -1).  Arrays are malloc'ed (mx_free). */
mx_status mx_symbol_infer_shape(const mx_symbol *s, const char *const *keys,
                                const mx_shape *shapes, int nk,
                                mx_shape **args, int *nargs, mx_shape **outs,
                                int *nouts, mx_shape **auxs, int *naux,
                                int *complete);
/* Type inference (unknown arguments default to float32). */
mx_status mx_symbol_infer_type(const mx_symbol *s, const char *const *keys,
                               const int *types, int nk, int **args, int *nargs,
                               int **outs, int *nouts, int **auxs, int *naux);

/* JSON (MXNet's format, version 1.9.1); readers upgrade legacy files. */
mx_status mx_symbol_to_json(const mx_symbol *s, char **json);
mx_status mx_symbol_from_json(const char *json, size_t len, mx_symbol **out);

/* A read-only description of the graph for printing and drawing, filled
 * into the caller's memory (so glue code can hold it in memory its own
 * runtime reclaims).  Nodes are in topological order (inputs first).
 * Call with cap_nodes = cap_links = 0 to get *n (nodes) and *nlinks (inputs
 * of all nodes together); then with nodes[*n] and links[2 * *nlinks].
 * Node i's inputs are nodes[i].inputs[2 j] (node index) and
 * nodes[i].inputs[2 j + 1] (output index), pointing into links.  Strings
 * are borrowed from the symbol: valid while it lives and is unchanged. */
typedef struct mx_graph_node {
  const char *op;                 /* op name; "null" for a variable */
  const char *name;
  int nattr;
  const char *const *attr_keys;
  const char *const *attr_vals;
  int ninputs;
  const int *inputs;
} mx_graph_node;
mx_status mx_symbol_graph(const mx_symbol *s, int cap_nodes, int cap_links,
                          mx_graph_node *nodes, int *links, int *n, int *nlinks);

#endif
