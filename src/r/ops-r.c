/*
 * ops-r.c -- imperative op calls from R (the generated mx.nd.* wrappers) and
 * the registry description the wrapper generator reads.
 *
 * This file owns the R -> op parameter conversion: numeric vectors given for
 * tuple parameters are reversed into C order (R's kernel = c(3, 5) is C
 * (5, 3)) except lists of one value per input (MX_PF_LIST: lrs, wds);
 * scalars, including axis numbers, pass through unchanged (they
 * count C axes, as in MXNet); strings are parsed as MXNet's string forms and
 * are not reversed.
 */
#include "mx-r.h"

#include <math.h>
#include <string.h>

void mx_r_set_param(const mx_op *op, mx_param_value *vals, int i, SEXP v) {
  const char *name = mx_op_param_name(op, i);
  int type = mx_op_param_type(op, i);
  int st_type = TYPEOF(v);
  mx_status st;
  if (st_type == STRSXP) {
    if (XLENGTH(v) != 1 || STRING_ELT(v, 0) == NA_STRING)
      mx_r_value_error("%s: argument '%s' must be a single string", mx_op_name(op), name);
    st = mx_op_param_set_str(op, vals, i, CHAR(STRING_ELT(v, 0)));
  } else if (type == MX_PARAM_CTX) {
    mx_context c = mx_r_ctx(v, name);
    char buf[32];
    snprintf(buf, sizeof buf, "%s(%d)", c.dev_type == MX_GPU ? "gpu" : "cpu", c.dev_id);
    st = mx_op_param_set_str(op, vals, i, buf);
  } else if (st_type == REALSXP || st_type == INTSXP || st_type == LGLSXP) {
    R_xlen_t n = XLENGTH(v);
    int tuple = type == MX_PARAM_SHAPE || type == MX_PARAM_FTUPLE;
    int rev = tuple && !(mx_op_param_flags(op, i) & MX_PF_LIST);
    if (n > MX_MAX_TUPLE) mx_r_value_error("%s: argument '%s' is too long", mx_op_name(op), name);
    if (!tuple && n != 1)
      mx_r_value_error("%s: argument '%s' must be a single value, not length %d", mx_op_name(op), name, (int)n);
    double x[MX_MAX_TUPLE];
    for (R_xlen_t j = 0; j < n; j++) {
      double d;
      if (st_type == REALSXP) d = REAL(v)[j];
      else {
        int iv = st_type == INTSXP ? INTEGER(v)[j] : LOGICAL(v)[j];
        d = iv == NA_INTEGER ? NA_REAL : iv;
      }
      if (ISNA(d) && !tuple)
        mx_r_value_error("%s: argument '%s' must not be NA", mx_op_name(op), name);
      if (ISNAN(d) && !ISNA(d) && tuple)
        mx_r_value_error("%s: argument '%s' must not contain NaN", mx_op_name(op), name);
      x[rev ? n - 1 - j : j] = ISNA(d) ? NAN : d;  /* NA in a tuple = None */
    }
    st = mx_op_param_set_nums(op, vals, i, x, (int)n);
  } else {
    mx_r_value_error("%s: argument '%s' has an unsupported type (%s)", mx_op_name(op), name,
             Rf_type2char((SEXPTYPE)st_type));
  }
  if (st != MX_OK) mx_r_fail();
}

/* Resolve the op, its input arrays and its parameters from R values. */
static const mx_op *parse_call(SEXP opname, SEXP inputs, SEXP params,
                               mx_ndarray **in, int *nin_out, mx_param_value *vals) {
  if (TYPEOF(opname) != STRSXP || XLENGTH(opname) != 1)
    mx_r_value_error("argument 'op' must be an operator name");
  const char *name = CHAR(STRING_ELT(opname, 0));
  const mx_op *op = mx_op_find(name);
  if (!op) mx_r_value_error("unknown operator '%s'", name);
  if (TYPEOF(inputs) != VECSXP) mx_r_value_error("%s: inputs must be a list", name);
  int nin = (int)XLENGTH(inputs);
  if (nin > MX_MAX_INPUTS) mx_r_value_error("%s: too many inputs (%d)", name, nin);

  int np = mx_op_num_params(op);
  if (np > MX_MAX_PARAMS) mx_r_value_error("%s: too many parameters", name);
  mx_r_check(mx_op_params_init(op, vals));
  if (!Rf_isNull(params)) {
    if (TYPEOF(params) != VECSXP) mx_r_value_error("%s: params must be a list", name);
    SEXP pn = Rf_getAttrib(params, R_NamesSymbol);
    R_xlen_t len = XLENGTH(params);
    if (len > 0 && TYPEOF(pn) != STRSXP) mx_r_value_error("%s: params must be named", name);
    for (R_xlen_t j = 0; j < len; j++) {
      SEXP v = VECTOR_ELT(params, j);
      if (Rf_isNull(v)) continue;
      const char *key = CHAR(STRING_ELT(pn, j));
      int i = (j < np && strcmp(mx_op_param_name(op, (int)j), key) == 0)
                  ? (int)j : mx_op_param_index(op, key);
      if (i < 0) mx_r_value_error("%s: unknown argument '%s'", name, key);
      mx_r_set_param(op, vals, i, v);
    }
  }
  int declared = mx_op_declared_inputs(op);
  {
    int k = mx_op_param_index(op, "num_args");
    if (k >= 0 && !vals[k].is_set) {
      double d = nin;
      mx_r_check(mx_op_param_set_nums(op, vals, k, &d, 1));
    }
  }
  for (int k = 0; k < nin; k++) {
    char arg[64];
    const char *iname = mx_op_param_input_name(op, vals, k);
    if (declared < 0) snprintf(arg, sizeof arg, "%s[[%d]]", iname ? iname : "data", k + 1);
    else snprintf(arg, sizeof arg, "%s", iname ? iname : "data");
    in[k] = mx_r_nd(VECTOR_ELT(inputs, k), arg);
  }
  *nin_out = nin;
  return op;
}

static SEXP wrap_list(mx_ndarray **arr, int n) {
  /* wrap every array before anything can fail, so none leaks */
  SEXP res = PROTECT(Rf_allocVector(VECSXP, n));
  for (int k = 0; k < n; k++) {
    if (arr[k]) SET_VECTOR_ELT(res, k, mx_r_wrap_nd(arr[k]));
    arr[k] = NULL;
  }
  UNPROTECT(1);
  return res;
}

/* Inputs of fewer than 2^16 elements in all: an op on them ends in
 * microseconds (creation ops, which have no inputs, can be large). */
static int small_call(mx_ndarray *const *in, int nin) {
  if (nin == 0) return 0;
  int64_t n = 0;
  for (int k = 0; k < nin; k++) n += mx_ndarray_size(in[k]);
  return n < 65536;
}

SEXP mx_r_nd_invoke(SEXP opname, SEXP inputs, SEXP params, SEXP out) {
  mx_ndarray *in[MX_MAX_INPUTS];
  mx_param_value vals[MX_MAX_PARAMS];
  int nin;
  const mx_op *op = parse_call(opname, inputs, params, in, &nin, vals);
  const char *name = mx_op_name(op);

  int nout = mx_op_num_visible_outputs(op, vals);
  int none = nout == 0 && mx_op_declared_outputs(op) == 0;   /* reset_arrays */
  if (!none && (nout < 1 || nout > MX_MAX_OUTPUTS))
    mx_r_value_error("%s: cannot determine the number of outputs", name);
  mx_ndarray *outs[MX_MAX_OUTPUTS];
  memset(outs, 0, (size_t)nout * sizeof *outs);
  int given_out = !Rf_isNull(out);
  if (given_out) {
    if (mx_r_is_nd(out)) {
      if (nout != 1) mx_r_value_error("%s: 'out' must be a list of %d MXNDArrays", name, nout);
      outs[0] = mx_r_nd(out, "out");
    } else if (TYPEOF(out) == VECSXP && XLENGTH(out) == nout) {
      for (int k = 0; k < nout; k++) outs[k] = mx_r_nd(VECTOR_ELT(out, k), "out");
    } else {
      mx_r_value_error("%s: 'out' must be an MXNDArray%s", name, nout > 1 ? " list of matching length" : "");
    }
  }

  mx_r_sync_threads();
  mx_r_maybe_gc();
  mx_invoke_opts opts;
  opts.ctx = (mx_context){MX_CPU, 0};
  opts.seed = (mx_op_flags(op) & MX_OPF_RANDOM) ? mx_r_seed() : 0;
  opts.is_train = 0;
  mx_r_check(MX_R_POLLED_OP(small_call(in, nin), mx_op_invoke(op, vals, in, nin, outs, nout, &opts)));
  if (given_out || none) return out;
  if (nout == 1) return mx_r_wrap_nd(outs[0]);
  return wrap_list(outs, nout);
}

/* Forward and backward of one op: list(outputs = , grads = ).  Used by the
 * gradient tests (finite differences) and imperative autograd helpers. */
SEXP mx_r_nd_forward_backward(SEXP opname, SEXP inputs, SEXP params, SEXP out_grads,
                              SEXP is_train) {
  mx_ndarray *in[MX_MAX_INPUTS];
  mx_param_value vals[MX_MAX_PARAMS];
  int nin;
  const mx_op *op = parse_call(opname, inputs, params, in, &nin, vals);
  if (TYPEOF(out_grads) != VECSXP) mx_r_value_error("argument 'out_grads' must be a list");
  int nog = (int)XLENGTH(out_grads);
  if (nog > MX_MAX_OUTPUTS) mx_r_value_error("too many output gradients");
  mx_ndarray *og[MX_MAX_OUTPUTS];
  for (int k = 0; k < nog; k++)
    og[k] = Rf_isNull(VECTOR_ELT(out_grads, k)) ? NULL : mx_r_nd(VECTOR_ELT(out_grads, k), "out_grads");
  mx_r_sync_threads();
  mx_invoke_opts opts;
  opts.ctx = (mx_context){MX_CPU, 0};
  opts.seed = (mx_op_flags(op) & MX_OPF_RANDOM) ? mx_r_seed() : 0;
  opts.is_train = Rf_asLogical(is_train) == TRUE;
  mx_ndarray *outs[MX_MAX_OUTPUTS] = {0}, *grads[MX_MAX_INPUTS] = {0};
  mx_r_check(MX_R_POLLED(mx_op_forward_backward(op, vals, in, nin, og, nog, &opts, outs, grads)));
  int nvis = mx_op_num_visible_outputs(op, vals);
  SEXP res = PROTECT(Rf_allocVector(VECSXP, 2));
  SEXP nms = PROTECT(Rf_allocVector(STRSXP, 2));
  SET_STRING_ELT(nms, 0, Rf_mkChar("outputs"));
  SET_STRING_ELT(nms, 1, Rf_mkChar("grads"));
  Rf_setAttrib(res, R_NamesSymbol, nms);
  SET_VECTOR_ELT(res, 0, wrap_list(outs, nvis));
  SET_VECTOR_ELT(res, 1, wrap_list(grads, nin));
  UNPROTECT(2);
  return res;
}

/* ---------------------------------------------------------- op registry */

static SEXP mkstr_or_na(const char *s) {
  return s ? Rf_mkString(s) : Rf_ScalarString(NA_STRING);
}

static SEXP named_list(int n, const char **names) {
  SEXP l = PROTECT(Rf_allocVector(VECSXP, n));
  SEXP nm = PROTECT(Rf_allocVector(STRSXP, n));
  for (int i = 0; i < n; i++) SET_STRING_ELT(nm, i, Rf_mkChar(names[i]));
  Rf_setAttrib(l, R_NamesSymbol, nm);
  UNPROTECT(2);
  return l;
}

static const char *type_name(int t) {
  switch (t) {
    case MX_PARAM_INT: return "int";
    case MX_PARAM_FLOAT: return "float";
    case MX_PARAM_BOOL: return "boolean";
    case MX_PARAM_ENUM: return "enum";
    case MX_PARAM_SHAPE: return "shape";
    case MX_PARAM_FTUPLE: return "float tuple";
    case MX_PARAM_DTYPE: return "dtype";
    case MX_PARAM_CTX: return "context";
    case MX_PARAM_STRING: return "string";
    default: return "?";
  }
}

/* Visible outputs with default parameters (-1 when they depend on one). */
static int mx_op_num_visible_default(const mx_op *op) {
  mx_param_value v[MX_MAX_PARAMS];
  if (mx_op_num_params(op) > MX_MAX_PARAMS || mx_op_params_init(op, v) != MX_OK) return mx_op_declared_outputs(op);
  mx_error_clear();
  return mx_op_num_visible_outputs(op, v);
}

SEXP mx_r_op_info(void) {
  int n = mx_op_count();
  SEXP res = PROTECT(Rf_allocVector(VECSXP, n));
  static const char *fields[] = {"name", "aliases", "doc", "inputs", "variadic",
                                 "num_outputs", "random", "params", "optional_inputs",
                                 "no_mirror"};
  static const char *pfields[] = {"name", "type", "default", "choices", "required",
                                  "optional", "doc"};
  for (int i = 0; i < n; i++) {
    const mx_op *op = mx_op_at(i);
    SEXP e = PROTECT(named_list(10, fields));
    SET_VECTOR_ELT(e, 9, Rf_ScalarLogical((mx_op_flags(op) & MX_OPF_NO_MIRROR) != 0));
    SET_VECTOR_ELT(e, 8, Rf_ScalarLogical(mx_op_has_optional_inputs(op)));
    SET_VECTOR_ELT(e, 0, Rf_mkString(mx_op_name(op)));
    int na = 0;
    while (na < 4 && mx_op_alias(op, na)) na++;
    SEXP al = PROTECT(Rf_allocVector(STRSXP, na));
    for (int k = 0; k < na; k++) SET_STRING_ELT(al, k, Rf_mkChar(mx_op_alias(op, k)));
    SET_VECTOR_ELT(e, 1, al);
    SET_VECTOR_ELT(e, 2, Rf_mkString(mx_op_doc(op)));
    int ni = 0;
    while (mx_op_input_name(op, ni)) ni++;
    SEXP ins = PROTECT(Rf_allocVector(STRSXP, ni));
    for (int k = 0; k < ni; k++) SET_STRING_ELT(ins, k, Rf_mkChar(mx_op_input_name(op, k)));
    SET_VECTOR_ELT(e, 3, ins);
    SET_VECTOR_ELT(e, 4, Rf_ScalarLogical(mx_op_declared_inputs(op) < 0));
    SET_VECTOR_ELT(e, 5, Rf_ScalarInteger(mx_op_num_visible_default(op)));
    SET_VECTOR_ELT(e, 6, Rf_ScalarLogical((mx_op_flags(op) & MX_OPF_RANDOM) != 0));
    int np = mx_op_num_params(op);
    SEXP ps = PROTECT(Rf_allocVector(VECSXP, np));
    for (int k = 0; k < np; k++) {
      SEXP p = PROTECT(named_list(7, pfields));
      SET_VECTOR_ELT(p, 0, Rf_mkString(mx_op_param_name(op, k)));
      SET_VECTOR_ELT(p, 1, Rf_mkString(type_name(mx_op_param_type(op, k))));
      SET_VECTOR_ELT(p, 2, mkstr_or_na(mx_op_param_default(op, k)));
      SET_VECTOR_ELT(p, 3, mkstr_or_na(mx_op_param_choices(op, k)));
      SET_VECTOR_ELT(p, 4, Rf_ScalarLogical((mx_op_param_flags(op, k) & 1) != 0));
      SET_VECTOR_ELT(p, 5, Rf_ScalarLogical((mx_op_param_flags(op, k) & 2) != 0));
      SET_VECTOR_ELT(p, 6, Rf_mkString(mx_op_param_doc(op, k)));
      SET_VECTOR_ELT(ps, k, p);
      UNPROTECT(1);
    }
    SET_VECTOR_ELT(e, 7, ps);
    SET_VECTOR_ELT(res, i, e);
    UNPROTECT(4);
  }
  Rf_setAttrib(res, Rf_install("max_ops"), Rf_ScalarInteger(MX_MAX_OPS));
  UNPROTECT(1);
  return res;
}

SEXP mx_r_hash(SEXP str) {
  if (TYPEOF(str) != STRSXP) mx_r_value_error("argument 'x' must be a character vector");
  uint64_t h = 0;
  for (R_xlen_t i = 0; i < XLENGTH(str); i++) {
    const char *s = STRING_ELT(str, i) == NA_STRING ? "NA" : CHAR(STRING_ELT(str, i));
    h = mx_hash_bytes(s, strlen(s), h);
    h = mx_hash_bytes("\n", 1, h);
  }
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return Rf_mkString(buf);
}
