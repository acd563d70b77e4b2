/*
 * mx-r.h -- shared helpers of the R glue (the only C that sees SEXP).
 *
 * Every entry point converts and checks its R arguments (errors name the
 * argument), calls the engine, releases what it owns, and only then turns a
 * failing status into an R error (Rf_error never skips a free).
 */
#ifndef MX_R_H
#define MX_R_H

#define R_NO_REMAP
#define STRICT_R_HEADERS
#include <R.h>
#include <Rinternals.h>

#include "../include/mx.h"

/* Symbols and strings installed once at load (init.c). */
extern SEXP mx_sym_nd_tag;          /* tag of NDArray external pointers */
extern SEXP mx_sym_device_typeid;
extern SEXP mx_sym_device_id;
extern SEXP mx_str_nd_class;        /* "MXNDArray" */
extern SEXP mx_sym_detail;
extern SEXP mx_sym_sym_tag;          /* tag of Symbol external pointers */
extern SEXP mx_str_sym_class;        /* "MXSymbol" */
void mx_r_engine_init(void);

#if defined(__GNUC__)
#define MX_R_NORETURN __attribute__((noreturn))
#define MX_R_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MX_R_NORETURN
#define MX_R_PRINTF(a, b)
#endif

/* Errors reach R as classed conditions (see ?mxnet_error and R/errors.R):
 * c("mxnet_<kind>_error", "mxnet_error", "error", "condition"), the kind
 * following the engine status, with the status code and name kept. */
/* Raise the engine's last error (never returns). */
void mx_r_fail(void) MX_R_NORETURN;
/* Raise an error of status st with a printf-style message. */
void mx_r_raise(int st, const char *fmt, ...) MX_R_NORETURN MX_R_PRINTF(2, 3);
/* A bad argument: class mxnet_value_error (status "arg"). */
#define mx_r_value_error(...) mx_r_raise(MX_ERR_ARG, __VA_ARGS__)
/* Check a status: OK returns, otherwise mx_r_fail(). */
static inline void mx_r_check(mx_status st) {
  if (st != MX_OK) mx_r_fail();
}

/* Engine calls that may run long poll for Ctrl-C between begin and end:
 * mx_r_check(MX_R_POLLED(mx_op_invoke(...))).  An interrupt makes the call
 * return MX_ERR_ABORTED, which mx_r_fail() signals as an R interrupt. */
void mx_r_poll_begin(void);
mx_status mx_r_poll_end(mx_status st);
#define MX_R_POLLED(call) (mx_r_poll_begin(), mx_r_poll_end(call))
/* The same for an imperative op; `small` (inputs too small for a long run)
 * skips holding signals back. */
void mx_r_poll_begin_small(int small);
#define MX_R_POLLED_OP(small, call) (mx_r_poll_begin_small(small), mx_r_poll_end(call))

/* NDArray objects: a length-1 list of class "MXNDArray" holding an external
 * pointer whose finalizer frees the engine array. */
int mx_r_is_nd(SEXP x);
/* The engine array of an R NDArray; an R error naming `arg` otherwise. */
mx_ndarray *mx_r_nd(SEXP x, const char *arg);
mx_ndarray *mx_r_nd_addr(SEXP x);
/* Wrap an engine array (ownership passes to R, also when wrapping fails:
 * an R allocation error frees it).  mx_r_wrap_init() runs at load. */
SEXP mx_r_wrap_nd(mx_ndarray *a);
/* saveRDS support (serialize-r.c): the persist slot of a new pointer, and
 * the object rebuilt from a restored pointer's bytes (NULL if none). */
void mx_r_persist_attach(SEXP ptr);
void *mx_r_restore(SEXP ptr, R_CFinalizer_t fin);
void mx_r_wrap_init(void);

/* An MXContext list (or NULL: the CPU) as an engine context. */
mx_context mx_r_ctx(SEXP ctx, const char *arg);
SEXP mx_r_ctx_new(mx_context ctx);
/* R dims (R order) to a C shape (reversed); R error naming `arg`. */
mx_shape mx_r_shape(SEXP dims, const char *arg);
/* A dtype name; R error naming `arg`. */
int mx_r_dtype(SEXP dtype, const char *arg);

/* Convert an R value into op parameter i (tuples reversed into C order);
 * R errors name the parameter. */
void mx_r_set_param(const mx_op *op, mx_param_value *vals, int i, SEXP v);

/* Draw a 64-bit seed from R's RNG (so set.seed() controls the engine). */
uint64_t mx_r_seed(void);
/* Keep the engine's thread count in step with options(mxnet.threads=). */
void mx_r_sync_threads(void);
/* Run R's garbage collector when engine memory has grown a lot since the
 * last collection (finalizers of dropped NDArrays then return memory). */
void mx_r_maybe_gc(void);

/* Entry points (registered in init.c). */
SEXP mx_r_nd_from_r(SEXP src, SEXP dims, SEXP dtype, SEXP ctx);
SEXP mx_r_nd_to_r(SEXP nd);
SEXP mx_r_nd_dim(SEXP nd);
SEXP mx_r_nd_info(SEXP nd);
SEXP mx_r_nd_all_cpu_dtype(SEXP list, SEXP dtype);
SEXP mx_r_nd_valid(SEXP nd);
SEXP mx_r_nd_release(SEXP list);
SEXP mx_r_nd_full(SEXP shape, SEXP value, SEXP dtype, SEXP ctx);
SEXP mx_r_nd_copyto(SEXP nd, SEXP ctx, SEXP dtype);
SEXP mx_r_nd_copy_into(SEXP src, SEXP dst);
SEXP mx_r_nd_reshape(SEXP nd, SEXP dims);
SEXP mx_r_nd_index_get(SEXP nd, SEXP idx);
SEXP mx_r_nd_index_set(SEXP nd, SEXP idx, SEXP value);
SEXP mx_r_nd_same(SEXP a, SEXP b);
SEXP mx_r_nd_invoke(SEXP op, SEXP inputs, SEXP params, SEXP out);
SEXP mx_r_sym_variable(SEXP name, SEXP attr);
SEXP mx_r_sym_create(SEXP op, SEXP args, SEXP name, SEXP attr);
SEXP mx_r_sym_group(SEXP syms);
SEXP mx_r_sym_list(SEXP sym, SEXP kind);
SEXP mx_r_sym_output(SEXP sym, SEXP i);
SEXP mx_r_sym_internals(SEXP sym);
SEXP mx_r_sym_children(SEXP sym);
SEXP mx_r_sym_name(SEXP sym);
SEXP mx_r_sym_num_outputs(SEXP sym);
SEXP mx_r_sym_attrs(SEXP sym);
SEXP mx_r_sym_set_attr(SEXP sym, SEXP key, SEXP val);
SEXP mx_r_sym_compose(SEXP sym, SEXP args, SEXP name);
SEXP mx_r_sym_infer_shape(SEXP sym, SEXP shapes);
SEXP mx_r_sym_infer_type(SEXP sym, SEXP types);
SEXP mx_r_sym_to_json(SEXP sym);
SEXP mx_r_sym_from_json(SEXP json);
SEXP mx_r_sym_reset_names(void);
SEXP mx_r_sym_graph(SEXP sym);
SEXP mx_r_exec_bind(SEXP sym, SEXP ctx, SEXP args, SEXP grads, SEXP reqs, SEXP aux, SEXP opts);
SEXP mx_r_exec_forward(SEXP ptr, SEXP is_train);
SEXP mx_r_exec_backward(SEXP ptr, SEXP head_grads);
SEXP mx_r_exec_outputs(SEXP ptr);
SEXP mx_r_exec_grad(SEXP ptr, SEXP i);
SEXP mx_r_exec_memory(SEXP ptr);
SEXP mx_r_scratch_fallbacks(void);
SEXP mx_r_exec_profile(SEXP ptr, SEXP on);
int mx_r_is_sym(SEXP x);
struct mx_symbol *mx_r_sym(SEXP x, const char *arg);
SEXP mx_r_wrap_sym(struct mx_symbol *s);
SEXP mx_r_nd_forward_backward(SEXP op, SEXP inputs, SEXP params, SEXP out_grads, SEXP is_train);
SEXP mx_r_nd_save(SEXP arrays, SEXP names, SEXP file, SEXP sparse);
SEXP mx_r_nd_load(SEXP file);
SEXP mx_r_nd_save_raw(SEXP arrays, SEXP names, SEXP sparse);
SEXP mx_r_nd_load_raw(SEXP raw);
SEXP mx_r_op_info(void);
SEXP mx_r_hash(SEXP str);
SEXP mx_r_pool_stats(SEXP ctx);
SEXP mx_r_pool_release(SEXP ctx);
SEXP mx_r_pool_limit(SEXP bytes);
SEXP mx_r_threads(SEXP n);
SEXP mx_r_features(void);
SEXP mx_r_gpu_count(void);
SEXP mx_r_waitall(void);
SEXP mx_r_gpu_reset(void);
SEXP mx_r_set_gc_threshold(SEXP bytes);

/* Data iterators (io-iter-r.c). */
SEXP mx_r_io_mnist_load(SEXP image, SEXP label, SEXP shuffle, SEXP seed, SEXP flat,
                        SEXP num_parts, SEXP part_index);
SEXP mx_r_io_slice0(SEXP nd, SEXP begin, SEXP end);
SEXP mx_r_io_gather(SEXP src, SEXP rows, SEXP dst);
SEXP mx_r_io_shuffle_order(SEXP unif);
SEXP mx_r_kv_create(SEXP type);
SEXP mx_r_kv_info(SEXP ptr);
SEXP mx_r_kv_configure(SEXP ptr, SEXP timeout, SEXP bucket, SEXP fp16);
SEXP mx_r_kv_reduce(SEXP dst, SEXP src);
SEXP mx_r_kv_reduce_lists(SEXP dsts, SEXP srcs, SEXP ptr);
SEXP mx_r_kv_allreduce(SEXP ptr, SEXP arrays);
SEXP mx_r_kv_broadcast(SEXP ptr, SEXP arrays, SEXP root);
SEXP mx_r_kv_allreduce_num(SEXP ptr, SEXP x);
SEXP mx_r_kv_broadcast_vec(SEXP ptr, SEXP x, SEXP root);
SEXP mx_r_kv_barrier(SEXP ptr);
SEXP mx_r_kv_end_job(SEXP ptr, SEXP code);
SEXP mx_r_kv_finalize(void);
SEXP mx_r_kv_overlap_new(SEXP kvptr, SEXP execptr, SEXP grads);
SEXP mx_r_kv_overlap_wait(SEXP ptr);
SEXP mx_r_kv_overlap_free(SEXP ptr);
/* the executor of an R executor pointer (an R error when it is not one) */
struct mx_executor *mx_r_exec_get(SEXP ptr);
/* protobuf-r.c */
SEXP mx_r_pb_scan(SEXP raw, SEXP offset, SEXP length);
SEXP mx_r_pb_varints(SEXP raw, SEXP offset, SEXP length);
/* safetensors-r.c */
SEXP mx_r_json_parse(SEXP raw);
SEXP mx_r_crc32(SEXP raw);

/* RecordIO and image records (recordio-r.c). */
const char *mx_r_path_arg(SEXP x, const char *arg);
SEXP mx_r_recordio_open(SEXP path, SEXP write, SEXP idx);
SEXP mx_r_recordio_close(SEXP ptr);
SEXP mx_r_recordio_write(SEXP ptr, SEXP buf, SEXP key);
SEXP mx_r_recordio_read(SEXP ptr);
SEXP mx_r_recordio_seek(SEXP ptr, SEXP offset);
SEXP mx_r_recordio_tell(SEXP ptr);
SEXP mx_r_recordio_read_idx(SEXP path);
SEXP mx_r_irheader_pack(SEXP flag, SEXP label, SEXP id, SEXP id2, SEXP payload);
SEXP mx_r_irheader_unpack(SEXP rec);

/* Images (image-r.c). */
SEXP mx_r_image_decode(SEXP raw, SEXP channels, SEXP min_short, SEXP path);
SEXP mx_r_image_encode(SEXP x, SEXP png, SEXP quality);
SEXP mx_r_image_resize(SEXP x, SEXP w, SEXP h);
SEXP mx_r_im2rec(SEXP paths, SEXP labels, SEXP width, SEXP ids, SEXP opts, SEXP rec, SEXP idx);
SEXP mx_r_image_iter_new(SEXP rec, SEXP idx, SEXP params, SEXP list_ids, SEXP list_labels);
SEXP mx_r_image_iter_reset(SEXP ptr);
SEXP mx_r_image_iter_size(SEXP ptr);
SEXP mx_r_image_iter_next(SEXP ptr);
SEXP mx_r_image_iter_slots(SEXP ptr);
SEXP mx_r_image_iter_bad(SEXP ptr);

/* LibSVM (libsvm-r.c). */
SEXP mx_r_io_libsvm_load(SEXP path, SEXP width, SEXP num_parts, SEXP part_index, SEXP csr);

#endif
