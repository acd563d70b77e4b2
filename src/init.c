/*
 * init.c -- registration of every .Call entry point with its real arity,
 * and package initialisation.
 */
#include "r/mx-r.h"

#include <R_ext/Rdynload.h>
#include <R_ext/Visibility.h>

void mx_r_persist_init(DllInfo *dll);  /* r/serialize-r.c */

SEXP mx_sym_nd_tag = NULL;
SEXP mx_sym_device_typeid = NULL;
SEXP mx_sym_device_id = NULL;
SEXP mx_sym_detail = NULL;
SEXP mx_str_nd_class = NULL;
SEXP mx_sym_sym_tag = NULL;
SEXP mx_str_sym_class = NULL;

#define CALLDEF(name, n) {#name, (DL_FUNC)&name, n}

static const R_CallMethodDef call_methods[] = {
  CALLDEF(mx_r_kv_create, 1),
  CALLDEF(mx_r_kv_info, 1),
  CALLDEF(mx_r_kv_configure, 4),
  CALLDEF(mx_r_kv_reduce, 2),
  CALLDEF(mx_r_kv_reduce_lists, 3),
  CALLDEF(mx_r_kv_allreduce, 2),
  CALLDEF(mx_r_kv_broadcast, 3),
  CALLDEF(mx_r_kv_allreduce_num, 2),
  CALLDEF(mx_r_kv_broadcast_vec, 3),
  CALLDEF(mx_r_kv_barrier, 1),
  CALLDEF(mx_r_kv_end_job, 2),
  CALLDEF(mx_r_kv_finalize, 0),
  CALLDEF(mx_r_kv_overlap_new, 3),
  CALLDEF(mx_r_kv_overlap_wait, 1),
  CALLDEF(mx_r_kv_overlap_free, 1),
  CALLDEF(mx_r_nd_from_r, 4),
  CALLDEF(mx_r_nd_to_r, 1),
  CALLDEF(mx_r_nd_dim, 1),
  CALLDEF(mx_r_nd_info, 1),
  CALLDEF(mx_r_nd_all_cpu_dtype, 2),
  CALLDEF(mx_r_nd_valid, 1),
  CALLDEF(mx_r_nd_release, 1),
  CALLDEF(mx_r_nd_full, 4),
  CALLDEF(mx_r_nd_copyto, 3),
  CALLDEF(mx_r_nd_copy_into, 2),
  CALLDEF(mx_r_nd_reshape, 2),
  CALLDEF(mx_r_nd_index_get, 2),
  CALLDEF(mx_r_nd_index_set, 3),
  CALLDEF(mx_r_nd_same, 2),
  CALLDEF(mx_r_nd_invoke, 4),
  CALLDEF(mx_r_nd_forward_backward, 5),
  CALLDEF(mx_r_sym_variable, 2),
  CALLDEF(mx_r_sym_create, 4),
  CALLDEF(mx_r_sym_group, 1),
  CALLDEF(mx_r_sym_list, 2),
  CALLDEF(mx_r_sym_output, 2),
  CALLDEF(mx_r_sym_internals, 1),
  CALLDEF(mx_r_sym_children, 1),
  CALLDEF(mx_r_sym_name, 1),
  CALLDEF(mx_r_sym_num_outputs, 1),
  CALLDEF(mx_r_sym_attrs, 1),
  CALLDEF(mx_r_sym_set_attr, 3),
  CALLDEF(mx_r_sym_compose, 3),
  CALLDEF(mx_r_sym_infer_shape, 2),
  CALLDEF(mx_r_sym_infer_type, 2),
  CALLDEF(mx_r_sym_to_json, 1),
  CALLDEF(mx_r_sym_from_json, 1),
  CALLDEF(mx_r_sym_reset_names, 0),
  CALLDEF(mx_r_sym_graph, 1),
  CALLDEF(mx_r_exec_bind, 7),
  CALLDEF(mx_r_exec_forward, 2),
  CALLDEF(mx_r_exec_backward, 2),
  CALLDEF(mx_r_exec_outputs, 1),
  CALLDEF(mx_r_exec_grad, 2),
  CALLDEF(mx_r_exec_memory, 1),
  CALLDEF(mx_r_scratch_fallbacks, 0),
  CALLDEF(mx_r_exec_profile, 2),
  CALLDEF(mx_r_nd_save, 4),
  CALLDEF(mx_r_nd_load, 1),
  CALLDEF(mx_r_nd_save_raw, 3),
  CALLDEF(mx_r_nd_load_raw, 1),
  CALLDEF(mx_r_op_info, 0),
  CALLDEF(mx_r_hash, 1),
  CALLDEF(mx_r_pool_stats, 1),
  CALLDEF(mx_r_pool_release, 1),
  CALLDEF(mx_r_pool_limit, 1),
  CALLDEF(mx_r_threads, 1),
  CALLDEF(mx_r_features, 0),
  CALLDEF(mx_r_gpu_count, 0),
  CALLDEF(mx_r_waitall, 0),
  CALLDEF(mx_r_gpu_reset, 0),
  CALLDEF(mx_r_set_gc_threshold, 1),
  /* data iterators (r/io-iter-r.c) */
  CALLDEF(mx_r_io_mnist_load, 7),
  CALLDEF(mx_r_io_slice0, 3),
  CALLDEF(mx_r_io_gather, 3),
  CALLDEF(mx_r_io_shuffle_order, 1),
  /* protobuf wire decoder (r/protobuf-r.c) */
  CALLDEF(mx_r_pb_scan, 3),
  CALLDEF(mx_r_pb_varints, 3),
  /* JSON of safetensors headers (r/safetensors-r.c) */
  CALLDEF(mx_r_json_parse, 1),
  CALLDEF(mx_r_crc32, 1),
  /* RecordIO and image records (r/recordio-r.c) */
  CALLDEF(mx_r_recordio_open, 3),
  CALLDEF(mx_r_recordio_close, 1),
  CALLDEF(mx_r_recordio_write, 3),
  CALLDEF(mx_r_recordio_read, 1),
  CALLDEF(mx_r_recordio_seek, 2),
  CALLDEF(mx_r_recordio_tell, 1),
  CALLDEF(mx_r_recordio_read_idx, 1),
  CALLDEF(mx_r_irheader_pack, 5),
  CALLDEF(mx_r_irheader_unpack, 1),
  /* images (r/image-r.c) */
  CALLDEF(mx_r_image_decode, 4),
  CALLDEF(mx_r_image_encode, 3),
  CALLDEF(mx_r_image_resize, 3),
  CALLDEF(mx_r_im2rec, 7),
  CALLDEF(mx_r_image_iter_new, 5),
  CALLDEF(mx_r_image_iter_reset, 1),
  CALLDEF(mx_r_image_iter_size, 1),
  CALLDEF(mx_r_image_iter_next, 1),
  CALLDEF(mx_r_image_iter_slots, 1),
  CALLDEF(mx_r_image_iter_bad, 1),
  /* LibSVM (r/libsvm-r.c) */
  CALLDEF(mx_r_io_libsvm_load, 5),
  {NULL, NULL, 0}
};

void attribute_visible R_init_mxnet(DllInfo *dll) {
  R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
  R_useDynamicSymbols(dll, FALSE);
  R_forceSymbols(dll, TRUE);
  mx_sym_nd_tag = Rf_install("MXNDArray");
  mx_sym_device_typeid = Rf_install("device_typeid");
  mx_sym_device_id = Rf_install("device_id");
  mx_sym_detail = Rf_install("detail");
  mx_str_nd_class = Rf_mkString("MXNDArray"); /* unprotected-ok: preserved next */
  R_PreserveObject(mx_str_nd_class);
  mx_sym_sym_tag = Rf_install("MXSymbol");
  mx_str_sym_class = Rf_mkString("MXSymbol"); /* unprotected-ok: preserved next */
  R_PreserveObject(mx_str_sym_class);
  mx_r_persist_init(dll);
  mx_r_engine_init();
}
