/*
 * fuzz-symbol-json.c -- libFuzzer harness for the symbol JSON reader
 * (mx_symbol_from_json, src/engine/symbol-json.c over json.c: the engine
 * behind mx.symbol.load.json and mx.symbol.load).  Built without R; see
 * README.md in this folder.
 *
 * For every input: load it (the bytes are not NUL-terminated, so a read past
 * the end is an AddressSanitizer report).  An error must leave a non-empty
 * message and no symbol.  A symbol that loads must
 *  - save to JSON, and that JSON must load again and save to the same text;
 *  - list its arguments, outputs and auxiliary states, and its attributes;
 *  - infer shapes and types, with nothing known and with "data" given
 *    (2, 1, 28, 28): either an error with a message or results whose counts
 *    match the lists;
 *  - do the same for its internals (every node's outputs as a group).
 */
#include "../../src/include/mx-graph.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok) {
  if (!ok) __builtin_trap();
}

static void check_error(mx_status rc) {
  const char *msg = mx_last_error();
  check(rc != MX_OK && msg != NULL && msg[0] != '\0');
}

static int list_count(const mx_symbol *s, int kind) {
  char **names = NULL;
  int n = -1;
  check(mx_symbol_list(s, kind, &names, &n) == MX_OK);
  check(n >= 0 && (n == 0 || names != NULL));
  for (int i = 0; i < n; i++) check(names[i] != NULL);
  mx_string_list_free(names, n);
  return n;
}

static void check_attrs(const mx_symbol *s) {
  char **k = NULL, **v = NULL;
  int n = -1;
  check(mx_symbol_attr_list(s, &k, &v, &n) == MX_OK);
  for (int i = 0; i < n; i++) check(mx_symbol_attr_get(s, k[i]) != NULL);
  mx_string_list_free(k, n);
  mx_string_list_free(v, n);
}

static void check_infer(const mx_symbol *s, int na, int no, int nx) {
  static const char *const keys[] = {"data"};
  mx_shape known = {4, {2, 1, 28, 28}};
  for (int nk = 0; nk <= 1; nk++) {
    mx_shape *args = NULL, *outs = NULL, *auxs = NULL;
    int nargs = 0, nouts = 0, naux = 0, complete = 0;
    mx_status rc = mx_symbol_infer_shape(s, keys, &known, nk, &args, &nargs, &outs, &nouts,
                                         &auxs, &naux, &complete);
    if (rc != MX_OK) {
      check_error(rc);
    } else {
      check(nargs == na && nouts == no && naux == nx);
      for (int i = 0; i < nargs; i++) check(args[i].ndim >= -1 && args[i].ndim <= MX_MAX_DIM);
      for (int i = 0; i < nouts; i++) check(outs[i].ndim >= -1 && outs[i].ndim <= MX_MAX_DIM);
    }
    mx_free(args);
    mx_free(outs);
    mx_free(auxs);
  }
  int *ta = NULL, *to = NULL, *tx = NULL;
  int nta = 0, nto = 0, ntx = 0;
  mx_status rc = mx_symbol_infer_type(s, NULL, NULL, 0, &ta, &nta, &to, &nto, &tx, &ntx);
  if (rc != MX_OK) check_error(rc);
  else check(nta == na && nto == no && ntx == nx);
  mx_free(ta);
  mx_free(to);
  mx_free(tx);
}

/* Save s, reload, save again: the two texts must be equal. */
static void check_round_trip(const mx_symbol *s) {
  char *j1 = NULL, *j2 = NULL;
  check(mx_symbol_to_json(s, &j1) == MX_OK && j1 != NULL);
  mx_symbol *s2 = NULL;
  check(mx_symbol_from_json(j1, strlen(j1), &s2) == MX_OK && s2 != NULL);
  check(mx_symbol_to_json(s2, &j2) == MX_OK && j2 != NULL);
  check(strcmp(j1, j2) == 0);
  check(mx_symbol_num_outputs(s2) == mx_symbol_num_outputs(s));
  mx_symbol_free(s2);
  free(j1);
  free(j2);
}

static void check_symbol(const mx_symbol *s) {
  check_round_trip(s);
  int na = list_count(s, 0), no = list_count(s, 1), nx = list_count(s, 2);
  check(no == mx_symbol_num_outputs(s));
  check_attrs(s);
  check_infer(s, na, no, nx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once = 0;
  if (!once) {
    /* no cached blocks: freed blocks go back to the system, where
     * AddressSanitizer sees a use after free */
    mx_pool_set_limit(MX_CPU, 0);
    once = 1;
  }
  mx_symbol *s = NULL;
  mx_status rc = mx_symbol_from_json((const char *)data, size, &s);
  if (rc != MX_OK) {
    check_error(rc);
    check(s == NULL);
    return 0;
  }
  check(s != NULL);
  check_symbol(s);
  mx_symbol *in = NULL;
  rc = mx_symbol_get_internals(s, &in);
  if (rc != MX_OK) {
    check_error(rc);
  } else {
    check_symbol(in);
    mx_symbol_free(in);
  }
  mx_symbol_free(s);
  return 0;
}
