/*
 * params.c -- typed op parameters: defaults, parsing from MXNet's string
 * forms (symbol JSON, user strings), setting from numbers (the R glue) and
 * formatting back to strings.
 */
#include "../include/mx-op.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int mx_op_num_params(const mx_op *op) { return op->num_params; }
const char *mx_op_param_name(const mx_op *op, int i) {
  return (i >= 0 && i < op->num_params) ? op->params[i].name : NULL;
}
int mx_op_param_type(const mx_op *op, int i) {
  return (i >= 0 && i < op->num_params) ? op->params[i].type : -1;
}

int mx_op_param_index(const mx_op *op, const char *key) {
  for (int i = 0; i < op->num_params; i++)
    if (strcmp(op->params[i].name, key) == 0) return i;
  return -1;
}

static mx_status perr(const mx_op *op, const mx_param_desc *d, const char *fmt,
                      const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, fmt, what);
  return mx_error(MX_ERR_ARG, "%s: parameter '%s' %s", op->name, d->name, msg);
}

static const char *skip_ws(const char *s) {
  while (*s && isspace((unsigned char)*s)) s++;
  return s;
}

static int is_none(const char *s) {
  s = skip_ws(s);
  if (strncmp(s, "None", 4) != 0) return 0;
  return *skip_ws(s + 4) == '\0';
}

/* Parse "(1, 2)", "[1,2]", "1", "(1,)", "()" into up to MX_MAX_TUPLE
 * numbers; None entries become NAN.  Returns count or -1. */
static int parse_tuple(const char *s, double *v) {
  s = skip_ws(s);
  char close = 0;
  if (*s == '(') close = ')';
  else if (*s == '[') close = ']';
  if (close) s++;
  int n = 0;
  for (;;) {
    s = skip_ws(s);
    if (close && *s == close) { s++; break; }
    if (!close && *s == '\0') break;
    if (n == MX_MAX_TUPLE) return -1;
    if (strncmp(s, "None", 4) == 0) {
      v[n++] = NAN;
      s += 4;
    } else {
      char *end;
      errno = 0;
      double x = strtod(s, &end);
      if (end == s || errno == ERANGE) return -1;
      /* accept integer suffixes written by Python (e.g. "3L") */
      if (*end == 'L') end++;
      v[n++] = x;
      s = end;
    }
    s = skip_ws(s);
    if (*s == ',') { s++; continue; }
    if (close && *s == close) { s++; break; }
    if (!close && *s == '\0') break;
    return -1;
  }
  s = skip_ws(s);
  return *s == '\0' ? n : -1;
}

static int enum_index(const char *choices, const char *s) {
  int idx = 0;
  const char *p = choices;
  size_t ls = strlen(s);
  while (p && *p) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == ls && strncmp(p, s, len) == 0) return idx;
    idx++;
    p = bar ? bar + 1 : NULL;
  }
  return -1;
}

static int enum_name(const char *choices, int idx, char *buf, size_t len) {
  const char *p = choices;
  for (int i = 0; p && *p; i++) {
    const char *bar = strchr(p, '|');
    size_t l = bar ? (size_t)(bar - p) : strlen(p);
    if (i == idx) {
      if (l >= len) l = len - 1;
      memcpy(buf, p, l);
      buf[l] = '\0';
      return 0;
    }
    p = bar ? bar + 1 : NULL;
  }
  return -1;
}

static int parse_ctx(const char *s, int64_t *out) {
  int dev = 0, id = 0;
  s = skip_ws(s);
  const char *rest;
  if (strncmp(s, "cpu_pinned", 10) == 0) { dev = MX_CPU; rest = s + 10; }
  else if (strncmp(s, "cpu_shared", 10) == 0) { dev = MX_CPU; rest = s + 10; }
  else if (strncmp(s, "cpu", 3) == 0) { dev = MX_CPU; rest = s + 3; }
  else if (strncmp(s, "gpu", 3) == 0) { dev = MX_GPU; rest = s + 3; }
  else return -1;
  rest = skip_ws(rest);
  if (*rest == '(') {
    char *end;
    long v = strtol(rest + 1, &end, 10);
    if (end == rest + 1 || *end != ')' || v < 0 || v > 65535) return -1;
    id = (int)v;
    rest = skip_ws(end + 1);
  }
  if (*rest) return -1;
  *out = (int64_t)dev * 65536 + id;
  return 0;
}

static mx_status set_tuple(const mx_op *op, const mx_param_desc *d,
                           mx_param_value *v, const double *x, int n) {
  if (n < 0 || n > MX_MAX_TUPLE)
    return perr(op, d, "has too many entries (at most %s)", "16");
  for (int k = 0; k < n; k++) {
    if (isnan(x[k])) {
      if (!(d->flags & MX_PF_TUPLE_NONE))
        return perr(op, d, "must not contain missing values%s", "");
      v->tup[k] = MX_TUPLE_NONE;
      v->ftup[k] = NAN;
      continue;
    }
    if (d->type == MX_PARAM_SHAPE) {
      if (x[k] != floor(x[k]) || fabs(x[k]) > 9e15)
        return perr(op, d, "must contain whole numbers%s", "");
      v->tup[k] = (int64_t)x[k];
      v->ftup[k] = x[k];
    } else {
      v->ftup[k] = x[k];
      v->tup[k] = 0;
    }
  }
  v->n = n;
  v->is_set = 1;
  return MX_OK;
}

static mx_status set_one_num(const mx_op *op, const mx_param_desc *d,
                             mx_param_value *v, double x) {
  switch (d->type) {
    case MX_PARAM_INT:
      if (isnan(x) || x != floor(x) || fabs(x) > 9e15)
        return perr(op, d, "must be a whole number%s", "");
      v->i = (int64_t)x;
      v->f = x;
      break;
    case MX_PARAM_FLOAT:
      v->f = x;
      break;
    case MX_PARAM_BOOL:
      if (x != 0 && x != 1) return perr(op, d, "must be TRUE or FALSE%s", "");
      v->i = (int64_t)x;
      break;
    default:
      return perr(op, d, "expects a string%s", "");
  }
  v->n = 1;
  v->is_set = 1;
  return MX_OK;
}

mx_status mx_op_param_set_nums(const mx_op *op, mx_param_value *vals, int i,
                               const double *x, int n) {
  if (i < 0 || i >= op->num_params)
    return mx_error(MX_ERR_ARG, "%s: no parameter number %d", op->name, i);
  const mx_param_desc *d = &op->params[i];
  mx_param_value *v = &vals[i];
  if (d->type == MX_PARAM_SHAPE || d->type == MX_PARAM_FTUPLE)
    return set_tuple(op, d, v, x, n);
  if (n != 1) return perr(op, d, "must be a single value%s", "");
  return set_one_num(op, d, v, x[0]);
}

mx_status mx_op_param_set_str(const mx_op *op, mx_param_value *vals, int i,
                              const char *s) {
  if (i < 0 || i >= op->num_params)
    return mx_error(MX_ERR_ARG, "%s: no parameter number %d", op->name, i);
  const mx_param_desc *d = &op->params[i];
  mx_param_value *v = &vals[i];
  if (!s) return perr(op, d, "is missing%s", "");
  if (is_none(s) && d->type != MX_PARAM_STRING) {
    if (!(d->flags & MX_PF_OPTIONAL))
      return perr(op, d, "cannot be None%s", "");
    v->is_set = 0;
    v->n = 0;
    return MX_OK;
  }
  switch (d->type) {
    case MX_PARAM_INT:
    case MX_PARAM_FLOAT: {
      char *end;
      const char *p = skip_ws(s);
      errno = 0;
      double x = strtod(p, &end);
      if (end == p || errno == ERANGE) return perr(op, d, "cannot parse '%s' as a number", s);
      if (*end == 'L') end++;
      if (*skip_ws(end)) return perr(op, d, "cannot parse '%s' as a number", s);
      return set_one_num(op, d, v, x);
    }
    case MX_PARAM_BOOL: {
      const char *p = skip_ws(s);
      int b;
      if (!strcmp(p, "1") || !strcmp(p, "True") || !strcmp(p, "true") || !strcmp(p, "TRUE")) b = 1;
      else if (!strcmp(p, "0") || !strcmp(p, "False") || !strcmp(p, "false") || !strcmp(p, "FALSE")) b = 0;
      else return perr(op, d, "must be a boolean, got '%s'", s);
      v->i = b;
      v->n = 1;
      v->is_set = 1;
      return MX_OK;
    }
    case MX_PARAM_ENUM: {
      int k = enum_index(d->choices, s);
      if (k < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "must be one of %s, got '%s'", d->choices, s);
        return mx_error(MX_ERR_ARG, "%s: parameter '%s' %s", op->name, d->name, msg);
      }
      v->i = k;
      v->n = 1;
      v->is_set = 1;
      return MX_OK;
    }
    case MX_PARAM_SHAPE:
    case MX_PARAM_FTUPLE: {
      double x[MX_MAX_TUPLE];
      int n = parse_tuple(s, x);
      if (n < 0) return perr(op, d, "cannot parse '%s' as a tuple", s);
      return set_tuple(op, d, v, x, n);
    }
    case MX_PARAM_DTYPE: {
      int t = mx_dtype_from_name(skip_ws(s));
      if (t < 0)
        return perr(op, d, "must be one of float32, float64, float16, bfloat16, uint8, int8, int32, int64; got '%s'", s);
      v->i = t;
      v->n = 1;
      v->is_set = 1;
      return MX_OK;
    }
    case MX_PARAM_CTX: {
      if (parse_ctx(s, &v->i) != 0) return perr(op, d, "must be a context like 'cpu(0)', got '%s'", s);
      v->n = 1;
      v->is_set = 1;
      return MX_OK;
    }
    case MX_PARAM_STRING: {
      size_t l = strlen(s);
      if (l >= sizeof v->str) return perr(op, d, "is too long%s", "");
      memcpy(v->str, s, l + 1);
      v->n = 1;
      v->is_set = 1;
      return MX_OK;
    }
    default:
      return mx_error(MX_ERR_INTERNAL, "%s: parameter '%s' has unknown type", op->name, d->name);
  }
}

mx_status mx_op_params_init(const mx_op *op, mx_param_value *vals) {
  for (int i = 0; i < op->num_params; i++) {
    memset(&vals[i], 0, sizeof vals[i]);
    if (op->params[i].def) {
      mx_status rc = mx_op_param_set_str(op, vals, i, op->params[i].def);
      if (rc) return mx_error_prefix(MX_ERR_INTERNAL, "bad default: ");
    }
  }
  return MX_OK;
}

mx_status mx_op_params_check(const mx_op *op, const mx_param_value *vals) {
  for (int i = 0; i < op->num_params; i++) {
    const mx_param_desc *d = &op->params[i];
    if ((d->flags & MX_PF_REQUIRED) && !vals[i].is_set)
      return mx_error(MX_ERR_ARG, "%s: required parameter '%s' is missing", op->name, d->name);
  }
  return MX_OK;
}

/* Shortest "%.*g" that reads back to the same double. */
static void fmt_double(double x, char *buf, size_t len) {
  if (isinf(x)) { snprintf(buf, len, x > 0 ? "inf" : "-inf"); return; }
  if (isnan(x)) { snprintf(buf, len, "nan"); return; }
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) return;
  }
}

mx_status mx_op_param_format(const mx_op *op, const mx_param_value *vals,
                             int i, char *buf, size_t len) {
  if (i < 0 || i >= op->num_params || len < 2)
    return mx_error(MX_ERR_ARG, "bad parameter index");
  const mx_param_desc *d = &op->params[i];
  const mx_param_value *v = &vals[i];
  if (!v->is_set) { snprintf(buf, len, "None"); return MX_OK; }
  switch (d->type) {
    case MX_PARAM_INT: snprintf(buf, len, "%lld", (long long)v->i); break;
    case MX_PARAM_FLOAT: fmt_double(v->f, buf, len); break;
    case MX_PARAM_BOOL: snprintf(buf, len, v->i ? "True" : "False"); break;
    case MX_PARAM_ENUM:
      if (enum_name(d->choices, (int)v->i, buf, len) != 0)
        return mx_error(MX_ERR_INTERNAL, "bad enum value");
      break;
    case MX_PARAM_DTYPE: snprintf(buf, len, "%s", mx_dtype_name((int)v->i)); break;
    case MX_PARAM_CTX:
      snprintf(buf, len, "%s(%d)", v->i / 65536 == MX_GPU ? "gpu" : "cpu", (int)(v->i % 65536));
      break;
    case MX_PARAM_STRING: snprintf(buf, len, "%s", v->str); break;
    case MX_PARAM_SHAPE:
    case MX_PARAM_FTUPLE: {
      size_t pos = 0;
      buf[pos++] = '(';
      for (int k = 0; k < v->n && pos < len; k++) {
        char item[40];
        if (d->type == MX_PARAM_SHAPE) {
          if (v->tup[k] == MX_TUPLE_NONE) snprintf(item, sizeof item, "None");
          else snprintf(item, sizeof item, "%lld", (long long)v->tup[k]);
        } else {
          fmt_double(v->ftup[k], item, sizeof item);
        }
        int w = snprintf(buf + pos, len - pos, k ? ", %s" : "%s", item);
        if (w > 0) pos += (size_t)w;
      }
      if (pos < len) snprintf(buf + pos, len - pos, v->n == 1 ? ",)" : ")");
      break;
    }
    default:
      return mx_error(MX_ERR_INTERNAL, "bad parameter type");
  }
  return MX_OK;
}
