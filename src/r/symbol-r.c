/*
 * symbol-r.c -- symbols from R: creation and composition (with MXNet's
 * argument conventions: dots in names become underscores, symbols are
 * inputs, everything else a parameter), listing, attributes, inference
 * (R-order shapes) and JSON.
 */
#include "mx-r.h"
#include "../include/mx-symbol.h"

#include <string.h>

/* ------------------------------------------------------------- objects */

static void sym_finalizer(SEXP ptr) {
  mx_symbol *s = (mx_symbol *)R_ExternalPtrAddr(ptr);
  if (s) {
    R_ClearExternalPtr(ptr);
    mx_symbol_free(s);
  }
}

int mx_r_is_sym(SEXP x) {
  return TYPEOF(x) == VECSXP && XLENGTH(x) == 1 && Rf_inherits(x, "MXSymbol") &&
         TYPEOF(VECTOR_ELT(x, 0)) == EXTPTRSXP &&
         R_ExternalPtrTag(VECTOR_ELT(x, 0)) == mx_sym_sym_tag;
}

mx_symbol *mx_r_sym(SEXP x, const char *arg) {
  if (!mx_r_is_sym(x))
    mx_r_value_error("argument '%s' must be an MXSymbol, not %s", arg,
             Rf_isNull(x) ? "NULL" : Rf_type2char(TYPEOF(x)));
  mx_symbol *s = (mx_symbol *)mx_r_restore(VECTOR_ELT(x, 0), sym_finalizer);
  if (!s)
    mx_r_value_error("argument '%s' is an MXSymbol that no longer exists (saved with serialization "
             "version 2?); keep symbols with saveRDS(), mx.symbol.save() or as.json()", arg);
  return s;
}

SEXP mx_r_wrap_sym(mx_symbol *s) {
  SEXP ptr = PROTECT(R_MakeExternalPtr(s, mx_sym_sym_tag, R_NilValue));
  R_RegisterCFinalizerEx(ptr, sym_finalizer, TRUE);
  mx_r_persist_attach(ptr);
  SEXP obj = PROTECT(Rf_allocVector(VECSXP, 1));
  SET_VECTOR_ELT(obj, 0, ptr);
  Rf_setAttrib(obj, R_ClassSymbol, mx_str_sym_class);
  UNPROTECT(2);
  return obj;
}

static SEXP wrap_checked(mx_status st, mx_symbol *s) {
  if (st != MX_OK) mx_r_fail();
  return mx_r_wrap_sym(s);
}

/* Named character vector / list of strings -> key/value arrays (R_alloc). */
static int attr_arrays(SEXP attr, const char ***keys, const char ***vals, const char *arg) {
  *keys = *vals = NULL;
  if (Rf_isNull(attr)) return 0;
  SEXP nm = Rf_getAttrib(attr, R_NamesSymbol);
  R_xlen_t n = XLENGTH(attr);
  if ((TYPEOF(attr) != STRSXP && TYPEOF(attr) != VECSXP) || (n > 0 && TYPEOF(nm) != STRSXP))
    mx_r_value_error("argument '%s' must be a named character vector or list of strings", arg);
  *keys = (const char **)R_alloc((size_t)(n + 1), sizeof(char *));
  *vals = (const char **)R_alloc((size_t)(n + 1), sizeof(char *));
  for (R_xlen_t i = 0; i < n; i++) {
    SEXP v = TYPEOF(attr) == STRSXP ? attr : VECTOR_ELT(attr, i);
    R_xlen_t vi = TYPEOF(attr) == STRSXP ? i : 0;
    if (TYPEOF(v) != STRSXP || XLENGTH(v) <= vi || STRING_ELT(v, vi) == NA_STRING)
      mx_r_value_error("argument '%s': every attribute value must be a string", arg);
    const char *k = CHAR(STRING_ELT(nm, i));
    if (!*k) mx_r_value_error("argument '%s': every attribute needs a name", arg);
    (*keys)[i] = k;
    (*vals)[i] = CHAR(STRING_ELT(v, vi));
  }
  return (int)n;
}

static const char *opt_string(SEXP x, const char *arg) {
  if (Rf_isNull(x)) return NULL;
  if (TYPEOF(x) != STRSXP || XLENGTH(x) != 1 || STRING_ELT(x, 0) == NA_STRING)
    mx_r_value_error("argument '%s' must be a single string", arg);
  return CHAR(STRING_ELT(x, 0));
}

SEXP mx_r_sym_variable(SEXP name, SEXP attr) {
  const char *nm = opt_string(name, "name");
  if (!nm || !*nm) mx_r_value_error("argument 'name' must be a non-empty string");
  const char **k, **v;
  int na = attr_arrays(attr, &k, &v, "attr");
  mx_symbol *s = NULL;
  mx_status st_ = mx_symbol_variable(nm, k, v, na, &s);
  return wrap_checked(st_, s);
}

/* ------------------------------------------------------------ creation */

SEXP mx_r_sym_create(SEXP opname, SEXP args, SEXP name, SEXP attr) {
  const char *opn = opt_string(opname, "op");
  const mx_op *op = opn ? mx_op_find(opn) : NULL;
  if (!op) mx_r_value_error("unknown operator '%s'", opn ? opn : "");
  if (TYPEOF(args) != VECSXP) mx_r_value_error("%s: arguments must be a list", opn);
  const char *nodename = opt_string(name, "name");
  const char **ak, **av;
  int na = attr_arrays(attr, &ak, &av, "attr");
  int np = mx_op_num_params(op);
  if (np > 64) mx_r_value_error("%s: too many parameters", opn);
  mx_param_value vals[64];
  unsigned char expl[64] = {0};
  mx_r_check(mx_op_params_init(op, vals));
  SEXP names = Rf_getAttrib(args, R_NamesSymbol);
  R_xlen_t n = XLENGTH(args);
  int cap = 64;
  const char **in_names = (const char **)R_alloc((size_t)cap, sizeof(char *));
  mx_symbol **inputs = (mx_symbol **)R_alloc((size_t)cap, sizeof(mx_symbol *));
  int nin = 0;
  for (R_xlen_t i = 0; i < n; i++) {
    SEXP v = VECTOR_ELT(args, i);
    const char *key = (TYPEOF(names) == STRSXP) ? CHAR(STRING_ELT(names, i)) : "";
    /* a list of symbols: positional inputs (variadic ops, e.g. data = list(a, b)) */
    if (TYPEOF(v) == VECSXP && !mx_r_is_sym(v) && !Rf_inherits(v, "MXContext") && XLENGTH(v) > 0 &&
        mx_r_is_sym(VECTOR_ELT(v, 0))) {
      for (R_xlen_t j = 0; j < XLENGTH(v); j++) {
        if (nin == cap) mx_r_value_error("%s: too many inputs", opn);
        in_names[nin] = NULL;
        inputs[nin++] = mx_r_sym(VECTOR_ELT(v, j), *key ? key : "data");
      }
      continue;
    }
    if (mx_r_is_sym(v)) {
      if (nin == cap) mx_r_value_error("%s: too many inputs", opn);
      char *k2 = NULL;
      if (*key) {
        size_t l = strlen(key);
        k2 = R_alloc(l + 1, 1);
        for (size_t c = 0; c <= l; c++) k2[c] = key[c] == '.' ? '_' : key[c];
      }
      in_names[nin] = k2;
      inputs[nin++] = mx_r_sym(v, *key ? key : "data");
      continue;
    }
    if (!*key)
      mx_r_value_error("%s: unnamed argument %d is not a symbol (parameters must be named)", opn, (int)i + 1);
    if (Rf_isNull(v)) continue;
    size_t l = strlen(key);
    char *k2 = R_alloc(l + 1, 1);
    for (size_t c = 0; c <= l; c++) k2[c] = key[c] == '.' ? '_' : key[c];
    int pi = mx_op_param_index(op, k2);
    if (pi < 0) {
      /* an input given as something other than a symbol */
      if (mx_r_is_nd(v)) mx_r_value_error("%s: argument '%s' is an NDArray; symbols take symbols as inputs", opn, key);
      mx_r_value_error("%s: unknown argument '%s'", opn, key);
    }
    mx_r_set_param(op, vals, pi, v);
    expl[pi] = 1;
  }
  mx_symbol *s = NULL;
  mx_status st_ = mx_symbol_op(op, vals, expl, nodename, ak, av, na, in_names, inputs, nin, &s);
  return wrap_checked(st_, s);
}

SEXP mx_r_sym_group(SEXP syms) {
  if (TYPEOF(syms) != VECSXP || XLENGTH(syms) < 1)
    mx_r_value_error("mx.symbol.Group needs at least one symbol");
  R_xlen_t n = XLENGTH(syms);
  mx_symbol **arr = (mx_symbol **)R_alloc((size_t)n, sizeof(mx_symbol *));
  for (R_xlen_t i = 0; i < n; i++) arr[i] = mx_r_sym(VECTOR_ELT(syms, i), "...");
  mx_symbol *s = NULL;
  mx_status st_ = mx_symbol_group(arr, (int)n, &s);
  return wrap_checked(st_, s);
}

/* ------------------------------------------------------------- queries */

static SEXP string_vec(char **names, int n) {
  SEXP out = PROTECT(Rf_allocVector(STRSXP, n));
  for (int i = 0; i < n; i++) SET_STRING_ELT(out, i, Rf_mkCharCE(names[i], CE_UTF8));
  UNPROTECT(1);
  return out;
}

SEXP mx_r_sym_list(SEXP sym, SEXP kind) {
  mx_symbol *s = mx_r_sym(sym, "x");
  int k = Rf_asInteger(kind);
  char **names;
  int n;
  mx_r_check(mx_symbol_list(s, k, &names, &n));
  SEXP out = string_vec(names, n); /* unprotected-ok: returned; strings copied first */
  mx_string_list_free(names, n);
  return out;
}

SEXP mx_r_sym_output(SEXP sym, SEXP i) {
  mx_symbol *s = mx_r_sym(sym, "x");
  int k = Rf_asInteger(i);
  if (k == NA_INTEGER) mx_r_value_error("argument 'i' must be a number");
  mx_symbol *o = NULL;
  mx_status st_ = mx_symbol_get_output(s, k - 1, &o);
  return wrap_checked(st_, o);
}

SEXP mx_r_sym_internals(SEXP sym) {
  mx_symbol *o = NULL;
  mx_status st_ = mx_symbol_get_internals(mx_r_sym(sym, "x"), &o);
  return wrap_checked(st_, o);
}

SEXP mx_r_sym_children(SEXP sym) {
  mx_symbol *s = mx_r_sym(sym, "x");
  mx_symbol *o = NULL;
  mx_status st = mx_symbol_get_children(s, &o);
  if (st != MX_OK) return R_NilValue;
  return mx_r_wrap_sym(o);
}

SEXP mx_r_sym_name(SEXP sym) {
  const char *n = mx_symbol_name(mx_r_sym(sym, "x"));
  return n ? Rf_mkString(n) : Rf_ScalarString(NA_STRING);
}

SEXP mx_r_sym_num_outputs(SEXP sym) {
  return Rf_ScalarInteger(mx_symbol_num_outputs(mx_r_sym(sym, "x")));
}

SEXP mx_r_sym_attrs(SEXP sym) {
  char **k, **v;
  int n;
  mx_r_check(mx_symbol_attr_list(mx_r_sym(sym, "x"), &k, &v, &n));
  SEXP vals = PROTECT(Rf_allocVector(STRSXP, n));
  SEXP nms = PROTECT(Rf_allocVector(STRSXP, n));
  for (int i = 0; i < n; i++) {
    SET_STRING_ELT(vals, i, Rf_mkCharCE(v[i], CE_UTF8));
    SET_STRING_ELT(nms, i, Rf_mkCharCE(k[i], CE_UTF8));
  }
  mx_string_list_free(k, n);
  mx_string_list_free(v, n);
  Rf_setAttrib(vals, R_NamesSymbol, nms);
  UNPROTECT(2);
  return vals;
}

SEXP mx_r_sym_set_attr(SEXP sym, SEXP key, SEXP val) {
  const char *k = opt_string(key, "key"), *v = opt_string(val, "value");
  if (!k || !v) mx_r_value_error("attributes need a name and a string value");
  mx_r_check(mx_symbol_attr_set(mx_r_sym(sym, "x"), k, v));
  return sym;
}

SEXP mx_r_sym_compose(SEXP sym, SEXP args, SEXP name) {
  mx_symbol *s = mx_r_sym(sym, "x");
  if (TYPEOF(args) != VECSXP) mx_r_value_error("inputs must be a named list of symbols");
  SEXP nm = Rf_getAttrib(args, R_NamesSymbol);
  R_xlen_t n = XLENGTH(args);
  if (n > 0 && TYPEOF(nm) != STRSXP) mx_r_value_error("mx.apply: every input must be named (argument = symbol)");
  const char **names = (const char **)R_alloc((size_t)(n + 1), sizeof(char *));
  mx_symbol **with = (mx_symbol **)R_alloc((size_t)(n + 1), sizeof(mx_symbol *));
  for (R_xlen_t i = 0; i < n; i++) {
    names[i] = CHAR(STRING_ELT(nm, i));
    if (!*names[i]) mx_r_value_error("mx.apply: every input must be named (argument = symbol)");
    with[i] = mx_r_sym(VECTOR_ELT(args, i), names[i]);
  }
  mx_symbol *o = NULL;
  mx_status st_ = mx_symbol_compose(s, names, with, (int)n, opt_string(name, "name"), &o);
  return wrap_checked(st_, o);
}

/* --------------------------------------------------------------- inference */

/* The argument, output and auxiliary-state names of a symbol, checked
 * against the counts inference returned; frees the arrays on failure. */
typedef struct name_lists {
  char **n[3];
  int c[3];
} name_lists;

static void free_lists(name_lists *l) {
  for (int k = 0; k < 3; k++) mx_string_list_free(l->n[k], l->c[k]);
}

static void get_lists(mx_symbol *s, name_lists *l, int na, int no, int nx, void *a, void *o, void *x) {
  memset(l, 0, sizeof *l);
  mx_status st = MX_OK;
  for (int k = 0; k < 3 && st == MX_OK; k++) st = mx_symbol_list(s, k, &l->n[k], &l->c[k]);
  if (st != MX_OK || l->c[0] != na || l->c[1] != no || l->c[2] != nx) {
    mx_free(a); mx_free(o); mx_free(x);
    free_lists(l);
    if (st != MX_OK) mx_r_fail();
    mx_r_raise(MX_ERR_INTERNAL, "internal error: inferred values do not match the argument lists");
  }
}

static SEXP shape_list(const mx_shape *sh, int n, char **names) {
  SEXP out = PROTECT(Rf_allocVector(VECSXP, n));
  SEXP nms = PROTECT(Rf_allocVector(STRSXP, n));
  for (int i = 0; i < n; i++) {
    SEXP d = PROTECT(Rf_allocVector(INTSXP, sh[i].ndim < 0 ? 0 : sh[i].ndim));
    for (int k = 0; k < sh[i].ndim; k++) INTEGER(d)[sh[i].ndim - 1 - k] = (int)sh[i].d[k];
    SET_VECTOR_ELT(out, i, d);
    UNPROTECT(1);
    SET_STRING_ELT(nms, i, Rf_mkCharCE(names[i], CE_UTF8));
  }
  Rf_setAttrib(out, R_NamesSymbol, nms);
  UNPROTECT(2);
  return out;
}

SEXP mx_r_sym_infer_shape(SEXP sym, SEXP shapes) {
  mx_symbol *s = mx_r_sym(sym, "symbol");
  if (TYPEOF(shapes) != VECSXP) mx_r_value_error("shapes must be given as name = c(dims)");
  SEXP nm = Rf_getAttrib(shapes, R_NamesSymbol);
  R_xlen_t n = XLENGTH(shapes);
  if (n > 0 && TYPEOF(nm) != STRSXP) mx_r_value_error("shapes must be named, e.g. data = c(28, 28, 1, 100)");
  const char **keys = (const char **)R_alloc((size_t)(n + 1), sizeof(char *));
  mx_shape *sh = (mx_shape *)R_alloc((size_t)(n + 1), sizeof(mx_shape));
  for (R_xlen_t i = 0; i < n; i++) {
    keys[i] = CHAR(STRING_ELT(nm, i));
    if (!*keys[i]) mx_r_value_error("shapes must be named, e.g. data = c(28, 28, 1, 100)");
    sh[i] = mx_r_shape(VECTOR_ELT(shapes, i), keys[i]);
  }
  mx_shape *args, *outs, *auxs;
  int na, no, nx, complete;
  mx_r_check(mx_symbol_infer_shape(s, keys, sh, (int)n, &args, &na, &outs, &no, &auxs, &nx, &complete));
  if (!complete) {
    mx_free(args); mx_free(outs); mx_free(auxs);
    return R_NilValue;
  }
  name_lists nl;
  get_lists(s, &nl, na, no, nx, args, outs, auxs);
  SEXP res = PROTECT(Rf_allocVector(VECSXP, 3));
  SEXP rn = PROTECT(Rf_allocVector(STRSXP, 3));
  SET_STRING_ELT(rn, 0, Rf_mkChar("arg.shapes"));
  SET_STRING_ELT(rn, 1, Rf_mkChar("out.shapes"));
  SET_STRING_ELT(rn, 2, Rf_mkChar("aux.shapes"));
  Rf_setAttrib(res, R_NamesSymbol, rn);
  SET_VECTOR_ELT(res, 0, shape_list(args, na, nl.n[0]));
  SET_VECTOR_ELT(res, 1, shape_list(outs, no, nl.n[1]));
  SET_VECTOR_ELT(res, 2, shape_list(auxs, nx, nl.n[2]));
  mx_free(args); mx_free(outs); mx_free(auxs);
  free_lists(&nl);
  UNPROTECT(2);
  return res;
}

static SEXP type_list(const int *t, int n, char **names) {
  SEXP out = PROTECT(Rf_allocVector(STRSXP, n));
  SEXP nms = PROTECT(Rf_allocVector(STRSXP, n));
  for (int i = 0; i < n; i++) {
    SET_STRING_ELT(out, i, Rf_mkChar(mx_dtype_name(t[i])));
    SET_STRING_ELT(nms, i, Rf_mkCharCE(names[i], CE_UTF8));
  }
  Rf_setAttrib(out, R_NamesSymbol, nms);
  UNPROTECT(2);
  return out;
}

SEXP mx_r_sym_infer_type(SEXP sym, SEXP types) {
  mx_symbol *s = mx_r_sym(sym, "symbol");
  if (TYPEOF(types) != VECSXP) mx_r_value_error("types must be given as name = \"float32\"");
  SEXP nm = Rf_getAttrib(types, R_NamesSymbol);
  R_xlen_t n = XLENGTH(types);
  if (n > 0 && TYPEOF(nm) != STRSXP) mx_r_value_error("types must be named");
  const char **keys = (const char **)R_alloc((size_t)(n + 1), sizeof(char *));
  int *tt = (int *)R_alloc((size_t)(n + 1), sizeof(int));
  for (R_xlen_t i = 0; i < n; i++) {
    keys[i] = CHAR(STRING_ELT(nm, i));
    tt[i] = mx_r_dtype(VECTOR_ELT(types, i), keys[i]);
  }
  int *args, *outs, *auxs, na, no, nx;
  mx_r_check(mx_symbol_infer_type(s, keys, tt, (int)n, &args, &na, &outs, &no, &auxs, &nx));
  name_lists nl;
  get_lists(s, &nl, na, no, nx, args, outs, auxs);
  SEXP res = PROTECT(Rf_allocVector(VECSXP, 3));
  SEXP rn = PROTECT(Rf_allocVector(STRSXP, 3));
  SET_STRING_ELT(rn, 0, Rf_mkChar("arg.types"));
  SET_STRING_ELT(rn, 1, Rf_mkChar("out.types"));
  SET_STRING_ELT(rn, 2, Rf_mkChar("aux.types"));
  Rf_setAttrib(res, R_NamesSymbol, rn);
  SET_VECTOR_ELT(res, 0, type_list(args, na, nl.n[0]));
  SET_VECTOR_ELT(res, 1, type_list(outs, no, nl.n[1]));
  SET_VECTOR_ELT(res, 2, type_list(auxs, nx, nl.n[2]));
  mx_free(args); mx_free(outs); mx_free(auxs);
  free_lists(&nl);
  UNPROTECT(2);
  return res;
}

/* -------------------------------------------------------------------- JSON */

SEXP mx_r_sym_to_json(SEXP sym) {
  char *json;
  mx_r_check(mx_symbol_to_json(mx_r_sym(sym, "symbol"), &json));
  SEXP out = PROTECT(Rf_allocVector(STRSXP, 1));
  SET_STRING_ELT(out, 0, Rf_mkCharCE(json, CE_UTF8));
  mx_free(json);
  UNPROTECT(1);
  return out;
}

SEXP mx_r_sym_from_json(SEXP json) {
  if (TYPEOF(json) != STRSXP || XLENGTH(json) != 1 || STRING_ELT(json, 0) == NA_STRING)
    mx_r_value_error("argument 'json.str' must be a single string");
  const char *t = Rf_translateCharUTF8(STRING_ELT(json, 0));
  mx_symbol *s = NULL;
  mx_status st_ = mx_symbol_from_json(t, strlen(t), &s);
  return wrap_checked(st_, s);
}

SEXP mx_r_sym_reset_names(void) {
  mx_symbol_reset_names();
  return R_NilValue;
}

/* The graph for drawing: one list per node in topological order with its
 * op ("null" for variables), name, attributes and inputs (0-based node
 * indices).  The engine fills memory from R_alloc first, so no C memory is
 * held while R objects are allocated. */
SEXP mx_r_sym_graph(SEXP sym) {
  mx_symbol *s = mx_r_sym(sym, "symbol");
  int n, nl;
  mx_r_check(mx_symbol_graph(s, 0, 0, NULL, NULL, &n, &nl));
  mx_graph_node *nodes = (mx_graph_node *)R_alloc((size_t)(n > 0 ? n : 1), sizeof *nodes);
  int *links = (int *)R_alloc((size_t)(nl > 0 ? 2 * nl : 1), sizeof(int));
  mx_r_check(mx_symbol_graph(s, n, nl, nodes, links, &n, &nl));
  SEXP res = PROTECT(Rf_allocVector(VECSXP, n));
  static const char *fields[] = {"op", "name", "attrs", "inputs"};
  for (int i = 0; i < n; i++) {
    const mx_graph_node *x = &nodes[i];
    SEXP e = PROTECT(Rf_allocVector(VECSXP, 4));
    SEXP nm = PROTECT(Rf_allocVector(STRSXP, 4));
    for (int k = 0; k < 4; k++) SET_STRING_ELT(nm, k, Rf_mkChar(fields[k]));
    Rf_setAttrib(e, R_NamesSymbol, nm);
    SET_VECTOR_ELT(e, 0, Rf_mkString(x->op));
    SET_VECTOR_ELT(e, 1, Rf_mkString(x->name));
    SEXP av = PROTECT(Rf_allocVector(STRSXP, x->nattr));
    SEXP ak = PROTECT(Rf_allocVector(STRSXP, x->nattr));
    for (int a = 0; a < x->nattr; a++) {
      SET_STRING_ELT(av, a, Rf_mkCharCE(x->attr_vals[a], CE_UTF8));
      SET_STRING_ELT(ak, a, Rf_mkCharCE(x->attr_keys[a], CE_UTF8));
    }
    Rf_setAttrib(av, R_NamesSymbol, ak);
    SET_VECTOR_ELT(e, 2, av);
    SEXP in = PROTECT(Rf_allocVector(INTSXP, x->ninputs));
    for (int j = 0; j < x->ninputs; j++) INTEGER(in)[j] = x->inputs[2 * j];
    SET_VECTOR_ELT(e, 3, in);
    SET_VECTOR_ELT(res, i, e);
    UNPROTECT(5);
  }
  UNPROTECT(1);
  return res;
}
