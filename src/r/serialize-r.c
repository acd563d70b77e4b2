/*
 * serialize-r.c -- saveRDS()/readRDS() (and serialize()) of NDArrays and
 * symbols, with no help from the caller.
 *
 * The external pointer of every NDArray and symbol keeps, in its protected
 * slot, a zero-length ALTREP raw vector (class "mx_persist") that points back
 * at it. R serializes that slot with the pointer, and asks the ALTREP class
 * for its state: the object's value (mx.nd.save bytes of the one array, or the
 * symbol's JSON). readRDS gives back an external pointer with a NULL address
 * and those bytes, as a plain raw vector, in the slot; the accessors
 * (mx_r_nd, mx_r_sym) rebuild the engine object from them on first use. A
 * restored object is thus never a dangling pointer. Restored NDArrays live on
 * the CPU. (Serialization format version 2 has no ALTREP states: objects
 * saved with it restore without values and say so when used.)
 */
#include "mx-r.h"
#include "../include/mx-symbol.h"

#include <R_ext/Altrep.h>
#include <R_ext/Rdynload.h>
#include <string.h>

static R_altrep_class_t persist_class;

static SEXP bytes_to_raw(const void *buf, size_t len) {
  SEXP out = Rf_allocVector(RAWSXP, (R_xlen_t)len); /* unprotected-ok: filled and returned */
  if (len) memcpy(RAW(out), buf, len);
  return out;
}

/* The value of the object behind the pointer, as bytes. */
static SEXP persist_state(SEXP x) {
  SEXP ptr = R_altrep_data1(x);
  void *addr = R_ExternalPtrAddr(ptr);
  if (!addr) return Rf_allocVector(RAWSXP, 0);
  if (R_ExternalPtrTag(ptr) == mx_sym_nd_tag) {
    mx_ndarray *a = (mx_ndarray *)addr;
    void *buf;
    size_t len;
    mx_r_check(mx_ndarray_save_buffer(&a, NULL, NULL, 1, &buf, &len));
    SEXP out = PROTECT(bytes_to_raw(buf, len)); /* buf leaks only if R is out of memory */
    mx_free(buf);
    UNPROTECT(1);
    return out;
  }
  char *json;
  mx_r_check(mx_symbol_to_json((mx_symbol *)addr, &json));
  SEXP out = PROTECT(bytes_to_raw(json, strlen(json)));
  mx_free(json);
  UNPROTECT(1);
  return out;
}

/* readRDS hands the state back as the slot's content (a plain raw vector). */
static SEXP persist_unserialize(SEXP cls, SEXP state) {
  (void)cls;
  return state;
}

static R_xlen_t persist_length(SEXP x) {
  (void)x;
  return 0;
}

static void *persist_dataptr(SEXP x, Rboolean writeable) {
  static Rbyte none;
  (void)x;
  (void)writeable;
  return &none;
}

static const void *persist_dataptr_or_null(SEXP x) {
  return persist_dataptr(x, FALSE);
}

static Rboolean persist_inspect(SEXP x, int pre, int deep, int pvec,
                                void (*inspect_subtree)(SEXP, int, int, int)) {
  (void)x; (void)pre; (void)deep; (void)pvec; (void)inspect_subtree;
  Rprintf(" mx_persist\n");
  return TRUE;
}

void mx_r_persist_init(DllInfo *dll) {
  persist_class = R_make_altraw_class("mx_persist", "mxnet", dll);
  R_set_altrep_Serialized_state_method(persist_class, persist_state);
  R_set_altrep_Unserialize_method(persist_class, persist_unserialize);
  R_set_altrep_Length_method(persist_class, persist_length);
  R_set_altrep_Inspect_method(persist_class, persist_inspect);
  R_set_altvec_Dataptr_method(persist_class, persist_dataptr);
  R_set_altvec_Dataptr_or_null_method(persist_class, persist_dataptr_or_null);
}

/* Give a new external pointer its persist object. */
void mx_r_persist_attach(SEXP ptr) {
  R_SetExternalPtrProtected(ptr, R_new_altrep(persist_class, ptr, R_NilValue));
}

/* The engine object behind an NDArray's or symbol's external pointer,
 * rebuilt from the bytes readRDS left in its slot when the address is NULL;
 * NULL when there is nothing to rebuild it from. */
void *mx_r_restore(SEXP ptr, R_CFinalizer_t fin) {
  void *addr = R_ExternalPtrAddr(ptr);
  SEXP bytes = R_ExternalPtrProtected(ptr);
  if (addr || TYPEOF(bytes) != RAWSXP || ALTREP(bytes) || XLENGTH(bytes) == 0) return addr;
  if (R_ExternalPtrTag(ptr) == mx_sym_nd_tag) {
    mx_ndarray **arrays;
    char **names;
    int n;
    mx_r_check(mx_ndarray_load_buffer(RAW(bytes), (size_t)XLENGTH(bytes), &arrays, NULL, &names, &n));
    addr = n == 1 ? arrays[0] : NULL;
    if (n == 1) arrays[0] = NULL;
    mx_ndarray_list_free(arrays, names, n);
    if (!addr) mx_r_value_error("a restored NDArray holds %d arrays instead of one", n);
  } else {
    mx_symbol *s;
    mx_r_check(mx_symbol_from_json((const char *)RAW(bytes), (size_t)XLENGTH(bytes), &s));
    addr = s;
  }
  R_SetExternalPtrAddr(ptr, addr);
  R_RegisterCFinalizerEx(ptr, fin, TRUE);
  mx_r_persist_attach(ptr);
  return addr;
}
