/*
 * mx.h -- the public C API of the mxnet engine.
 *
 * This header is plain C99 and includes no R header: the engine (src/engine,
 * src/ops, src/io, src/kvstore, src/cuda) can be built and tested without R.
 *
 * Conventions
 *  - Every function that can fail returns an mx_status.  MX_OK is 0; on any
 *    other value the message is kept, per thread, for mx_last_error().
 *  - Objects come in _new/_free pairs and are opaque to callers outside the
 *    engine (the R glue only uses the functions declared here).
 *  - Shapes are in C (row-major) order: shape[0] varies slowest.  The R glue
 *    reverses them at the boundary (R dim c(d1..dk) == C shape (dk..d1)).
 *  - The engine never calls abort, exit, printf, assert or the C library's
 *    rand: messages go through the log callback, failures through statuses.
 */
#ifndef MX_H
#define MX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status */

typedef enum mx_status {
  MX_OK = 0,
  MX_ERR_ARG = 1,          /* an argument or parameter is invalid             */
  MX_ERR_SHAPE = 2,        /* shapes do not agree                             */
  MX_ERR_DTYPE = 3,        /* element type not supported or mismatched        */
  MX_ERR_NOMEM = 4,        /* an allocation failed                            */
  MX_ERR_IO = 5,           /* a file could not be opened, read or written     */
  MX_ERR_FORMAT = 6,       /* a file or string is malformed                   */
  MX_ERR_UNSUPPORTED = 7,  /* valid request this build cannot serve           */
  MX_ERR_DEVICE = 8,       /* the device is unknown or failed                 */
  MX_ERR_ABORTED = 9,      /* the abort callback asked to stop                */
  MX_ERR_INTERNAL = 10,    /* a broken invariant: a bug in the engine         */
  MX_ERR_DIST = 11         /* a collective across workers failed or timed out */
} mx_status;

/* The message of the last failure on this thread ("" if none). */
const char *mx_last_error(void);
/* The status of the last failure on this thread (MX_OK if none). */
mx_status mx_last_status(void);
/* A status's short name: "ok", "arg", "shape", ..., "internal" ("unknown"
 * for a value outside the enum). */
const char *mx_status_name(int st);
/* Record a failure (printf-style message) and return its status.  Called as
 * mx_error(st, fmt, ...): the macro passes the calling function's name, which
 * an MX_ERR_INTERNAL message names, with a request to report the bug. */
mx_status mx_error_at(const char *func, mx_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#define mx_error(...) mx_error_at(__func__, __VA_ARGS__)
/* Prefix the current message with context ("op 'sum': ..."); returns st. */
mx_status mx_error_prefix(mx_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void mx_error_clear(void);

/* Engine initialisation (op registry, thread defaults); idempotent. */
mx_status mx_engine_init(void);

/* ------------------------------------------------------------------ logging */

typedef enum mx_log_level {
  MX_LOG_DEBUG = 0, MX_LOG_INFO = 1, MX_LOG_WARN = 2, MX_LOG_ERROR = 3
} mx_log_level;

typedef void (*mx_log_fn)(int level, const char *msg, void *user);
/* Install the log sink (NULL silences the engine). */
void mx_log_set_callback(mx_log_fn fn, void *user);
void mx_log(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Abort polling: long computations call mx_abort_requested() between steps
 * (executor ops, kernel chunks).  The callback is called only on the thread
 * that installed it (so a poll from an OpenMP worker never reaches R); once
 * it returned nonzero, every thread sees the request until the callback is
 * installed again (which clears it). */
typedef int (*mx_abort_fn)(void *user);
void mx_abort_set_callback(mx_abort_fn fn, void *user);
int mx_abort_requested(void);
/* MX_ERR_ABORTED ("interrupted by the user") when a stop was requested,
 * else MX_OK: the one-line poll of a kernel's chunk loop. */
mx_status mx_abort_check(void);

/* ------------------------------------------------------------------ threads */

/* The one thread-count getter used by every parallel region.  The value is
 * the user's setting (mx_threads_set; 0 = automatic) or OMP_NUM_THREADS or the
 * number of processors, capped by mx_threads_max() and OMP_THREAD_LIMIT
 * (OpenMP's thread limit); always >= 1, and 1 in a forked child process. */
int mx_threads_get(void);
/* Set the thread count (0 = automatic).  Re-reads the environment.  Fails
 * with MX_ERR_ARG for n < 0 or n > mx_threads_max(). */
mx_status mx_threads_set(int n);
/* Number of processors OpenMP reports (1 without OpenMP). */
int mx_threads_available(void);
/* Most threads a setting may ask for: MX_THREADS_PER_PROC per processor. */
#define MX_THREADS_PER_PROC 4
int mx_threads_max(void);

/* Long engine calls in progress (threads.c).  The caller of a call that may
 * run parallel ops brackets it with begin/end (the R glue does, for calls it
 * polls for Ctrl-C).  mx_compute_busy(): such a call runs and its threads
 * fill the processors.  mx_compute_wait(ms): wait until no such call runs,
 * at most ms milliseconds.  For helper threads that work ahead (image
 * decoding) and should leave the cores to a parallel op meanwhile. */
void mx_compute_begin(void);
void mx_compute_end(void);
int mx_compute_busy(void);
void mx_compute_wait(int max_ms);

/* ------------------------------------------------------------------ dtypes */

/* Values are MXNet's type flags, so they go to and from files unchanged. */
typedef enum mx_dtype {
  MX_FLOAT32 = 0,
  MX_FLOAT64 = 1,
  MX_FLOAT16 = 2,
  MX_UINT8 = 3,
  MX_INT32 = 4,
  MX_INT8 = 5,
  MX_INT64 = 6,
  MX_BFLOAT16 = 12   /* storage only, like float16: ops compute it in float32 */
} mx_dtype;

int mx_dtype_valid(int dtype);
size_t mx_dtype_size(int dtype);            /* 0 for an invalid dtype      */
const char *mx_dtype_name(int dtype);       /* "float32", ...; "?" if bad  */
int mx_dtype_from_name(const char *name);   /* -1 if unknown               */
int mx_dtype_is_float(int dtype);

/* IEEE half <-> single conversion (round to nearest even). */
uint16_t mx_f32_to_f16(float f);
float mx_f16_to_f32(uint16_t h);
/* bfloat16 (the top 16 bits of a float32) <-> single: round to nearest
 * even, NaN stays a (quiet) NaN, overflow gives Inf; widening is exact. */
uint16_t mx_f32_to_bf16(float f);
float mx_bf16_to_f32(uint16_t h);

/* ------------------------------------------------------------------ contexts */

typedef enum mx_devtype { MX_CPU = 1, MX_GPU = 2 } mx_devtype;

typedef struct mx_context {
  int dev_type;  /* MX_CPU or MX_GPU */
  int dev_id;
} mx_context;

/* MX_OK when the context can hold arrays in this build/machine. */
mx_status mx_context_check(mx_context ctx);
/* Number of GPUs usable by this build (0 without CUDA). */
int mx_gpu_count(void);
/* The GPU backend serving mx.gpu(): "cuda", "fake" (MXNET_FAKE_GPU=1) or
 * "none"; mx_gpu_describe() is one line about it, or why there is none. */
const char *mx_gpu_backend_name(void);
const char *mx_gpu_describe(void);
/* Choose the backend again (after changing MXNET_FAKE_GPU); refused while
 * GPU arrays are alive. */
mx_status mx_gpu_reset(void);
/* Wait until device dev's queued work is done (every GPU when dev < 0);
 * reports a failure of earlier asynchronous work. */
mx_status mx_device_sync(int dev);

/* ------------------------------------------------------------------ shapes */

#define MX_MAX_DIM 8

typedef struct mx_shape {
  int ndim;                    /* 0..MX_MAX_DIM; -1 = unknown */
  int64_t d[MX_MAX_DIM];
} mx_shape;

int64_t mx_shape_size(const mx_shape *s);   /* product of dims; 1 for ndim 0 */
int mx_shape_equal(const mx_shape *a, const mx_shape *b);
/* Writes a shape for messages into buf (always NUL-terminated): "(2, 3)" in
 * C order by default, or "c(3, 2)" in R order once mx_shape_format_r(1) was
 * called (the R glue does, so errors speak the user's dimension order). */
void mx_shape_format(const mx_shape *s, char *buf, size_t len);
void mx_shape_format_r(int r_order);

/* ------------------------------------------------------------------ storage */

/* Statistics of the pooled allocator (bytes, counts since start). */
typedef struct mx_pool_stats {
  int64_t bytes_in_use;      /* held by live storage                      */
  int64_t bytes_peak;        /* maximum of bytes_in_use                   */
  int64_t bytes_cached;      /* freed blocks kept for reuse               */
  int64_t bytes_limit;       /* cap on bytes_cached                       */
  int64_t n_alloc;           /* storage requests                          */
  int64_t n_reuse;           /* requests served from the cache            */
  int64_t n_system_alloc;    /* requests that went to the system          */
  int64_t n_live;            /* live storage blocks                       */
  int64_t bytes_allocated_total; /* sum of all requested bytes            */
} mx_pool_stats;

void mx_pool_get_stats(int dev_type, int dev_id, mx_pool_stats *out);
/* Bytes held by live storage on every device (the CPU and each GPU used). */
int64_t mx_pool_bytes_in_use_all(void);
/* Return cached blocks to the system. */
void mx_pool_release(int dev_type, int dev_id);
/* Cap on cached bytes (negative = leave unchanged); returns the old cap. */
int64_t mx_pool_set_limit(int dev_type, int64_t bytes);

/* ------------------------------------------------------------------ ndarray */

typedef struct mx_ndarray mx_ndarray;

/* A new array with uninitialised contents. */
mx_status mx_ndarray_new(const mx_shape *shape, int dtype, mx_context ctx,
                         mx_ndarray **out);
/* A new array filled with a value (converted to dtype). */
mx_status mx_ndarray_new_fill(const mx_shape *shape, int dtype,
                              mx_context ctx, double value, mx_ndarray **out);
void mx_ndarray_free(mx_ndarray *a);     /* NULL is fine */

/* A second handle on the same memory (a view of the whole array). */
mx_status mx_ndarray_view(const mx_ndarray *a, mx_ndarray **out);
/* A view with another shape of the same element count (no copy). */
mx_status mx_ndarray_reshape_view(const mx_ndarray *a, const mx_shape *shape,
                                  mx_ndarray **out);
/* A view of rows [begin, end) along axis 0 (contiguous, no copy). */
mx_status mx_ndarray_slice0_view(const mx_ndarray *a, int64_t begin,
                                 int64_t end, mx_ndarray **out);

/* Deep copy into a new array of the same or another dtype/context. */
mx_status mx_ndarray_copy(const mx_ndarray *a, int dtype, mx_context ctx,
                          mx_ndarray **out);
/* Copy src into dst (same shape; dtype converted). */
mx_status mx_ndarray_copy_into(const mx_ndarray *src, mx_ndarray *dst);
mx_status mx_ndarray_fill(mx_ndarray *a, double value);
/* dst += src (same element count and floating dtype; src on any device). */
mx_status mx_ndarray_add_into(mx_ndarray *dst, const mx_ndarray *src);

const mx_shape *mx_ndarray_shape(const mx_ndarray *a);
int mx_ndarray_dtype(const mx_ndarray *a);
mx_context mx_ndarray_context(const mx_ndarray *a);
int64_t mx_ndarray_size(const mx_ndarray *a);
size_t mx_ndarray_nbytes(const mx_ndarray *a);
/* Host pointer to the first element (CPU arrays only; NULL otherwise). */
void *mx_ndarray_data(const mx_ndarray *a);
/* Nonzero when the two arrays' bytes overlap. */
int mx_ndarray_overlap(const mx_ndarray *a, const mx_ndarray *b);
/* Nonzero when a and b are the same bytes with the same shape and dtype. */
int mx_ndarray_same(const mx_ndarray *a, const mx_ndarray *b);

/* Element-type conversions between an array and host buffers of double, int32
 * or uint8 (CPU or GPU arrays; waits for pending work). n must equal size. */
mx_status mx_ndarray_to_f64(const mx_ndarray *a, double *dst, int64_t n);
mx_status mx_ndarray_from_f64(mx_ndarray *a, const double *src, int64_t n);
mx_status mx_ndarray_from_i32(mx_ndarray *a, const int32_t *src, int64_t n);
/* Raw bytes in the array's own dtype. */
mx_status mx_ndarray_to_bytes(const mx_ndarray *a, void *dst, size_t nbytes);
mx_status mx_ndarray_from_bytes(mx_ndarray *a, const void *src, size_t nbytes);

/* Gather: out = a[idx_0, idx_1, ...] with one 0-based index list per C axis
 * (idx[k] == NULL: the whole axis).  The result has shape (n_0, ..., n_k). */
mx_status mx_ndarray_index_get(const mx_ndarray *a, const int64_t *const *idx,
                               const int64_t *n, mx_ndarray **out);
/* Scatter: a[idx...] = value, value broadcast from size 1 or of the full
 * indexed shape (same element count).  value's dtype is converted. */
mx_status mx_ndarray_index_set(mx_ndarray *a, const int64_t *const *idx,
                               const int64_t *n, const mx_ndarray *value);

/* ------------------------------------------------------------------ random */

/* Counter-based generator (Philox-4x32-10): the same seed gives the same
 * numbers whatever the thread count or device. */
typedef struct mx_rng { uint64_t seed; uint64_t counter; } mx_rng;
void mx_rng_init(mx_rng *r, uint64_t seed);
/* Fill n uniforms in [lo, hi) / normals N(mean, sd) into a float or double
 * buffer, drawing from stream position r->counter and advancing it. */
void mx_rng_uniform_f32(mx_rng *r, float *dst, int64_t n, double lo, double hi);
void mx_rng_uniform_f64(mx_rng *r, double *dst, int64_t n, double lo, double hi);
void mx_rng_normal_f32(mx_rng *r, float *dst, int64_t n, double mean, double sd);
void mx_rng_normal_f64(mx_rng *r, double *dst, int64_t n, double mean, double sd);

/* ------------------------------------------------------------------ ops */

typedef struct mx_op mx_op;

/* Parameter value types of the op registry. */
typedef enum mx_param_type {
  MX_PARAM_INT = 0,     /* int64                                          */
  MX_PARAM_FLOAT = 1,   /* double                                         */
  MX_PARAM_BOOL = 2,
  MX_PARAM_ENUM = 3,    /* one of a fixed set of strings (stored as index) */
  MX_PARAM_SHAPE = 4,   /* tuple of int64 (a single int is a 1-tuple)      */
  MX_PARAM_FTUPLE = 5,  /* tuple of double                                 */
  MX_PARAM_DTYPE = 6,   /* a dtype name                                    */
  MX_PARAM_CTX = 7,     /* "cpu(0)", "gpu(1)"                              */
  MX_PARAM_STRING = 8
} mx_param_type;

#define MX_MAX_TUPLE 16
/* Marks a None entry inside a tuple (e.g. slice begin=(None, 2)). */
#define MX_TUPLE_NONE INT64_MIN

typedef struct mx_param_value {
  int is_set;    /* 0 = not given and no default: the param is None       */
  int n;         /* tuple length                                          */
  int64_t i;     /* INT, BOOL, ENUM (index), DTYPE, CTX (type*65536+id)    */
  double f;      /* FLOAT                                                  */
  int64_t tup[MX_MAX_TUPLE];
  double ftup[MX_MAX_TUPLE];
  char str[128]; /* STRING                                                 */
} mx_param_value;

/* Op flags. */
#define MX_OPF_RANDOM   1    /* draws random numbers (needs a seed)          */
#define MX_OPF_CREATE   2    /* no array inputs: ctx/dtype from params        */
#define MX_OPF_INPLACE  4    /* output k may alias input k (elementwise)      */
#define MX_OPF_F16      8    /* the kernel handles float16 itself            */
#define MX_OPF_INTERNAL 16   /* not for users (hidden from R's namespace)     */
#define MX_OPF_LOSS     32   /* a loss head: backward ignores its out_grad    */
#define MX_OPF_NO_MIRROR 64  /* never recomputed in backward under `mirror`:
                                costly ops whose outputs are kept (Convolution,
                                Deconvolution, FullyConnected, Concat, dot,
                                batch_dot; the update ops)                    */
#define MX_OPF_PARTIAL_SHAPE 128 /* infer_shape accepts unknown inputs after
                                    the first and fills them (weights)       */
#define MX_OPF_INT8    256   /* the kernel handles int8 itself; other ops see
                                int8 inputs/outputs as int32 (imperative calls) */
#define MX_OPF_MIRROR_STATS 512 /* recomputable under `mirror` although it has
                                auxiliary states: a recompute call
                                (mx_op_ctx.recompute) reads its hidden outputs
                                (BatchNorm's batch mean and variance) as its
                                forward call wrote them and leaves the
                                auxiliary states alone (CPU kernels only)    */
#define MX_OPF_INPLACE_CPU 1024 /* output 0 may alias input 0 with the CPU
                                kernel (BatchNorm: per channel, the kernel
                                reads x before it writes y); GPU kernels are
                                not assumed to allow it                     */
#define MX_OPF_OUT_IS_INPUT 2048 /* in an imperative call output k may be
                                exactly input k * (inputs / outputs): the
                                multi-weight updates, whose output k is the
                                weight of group k, read element by element
                                before it is written; no temporary output */
#define MX_OPF_BF16 4096     /* the kernel handles bfloat16 itself (Cast)     */

/* Registry limits: registration fails (mx_engine_init) rather than drop an
 * op; every op's inputs, outputs and parameters fit arrays of these sizes. */
#define MX_MAX_OPS 512
#define MX_MAX_INPUTS 1024
#define MX_MAX_OUTPUTS 1024
#define MX_MAX_PARAMS 32

/* Registry queries. */
int mx_op_count(void);
const mx_op *mx_op_at(int i);
/* By canonical name or alias; NULL if unknown. */
const mx_op *mx_op_find(const char *name);
const char *mx_op_name(const mx_op *op);
int mx_op_flags(const mx_op *op);
const char *mx_op_doc(const mx_op *op);
/* Alias k (0-based) or NULL. */
const char *mx_op_alias(const mx_op *op, int k);
/* Declared inputs: count (-1 variadic) and names (variadic: name prefix). */
int mx_op_declared_inputs(const mx_op *op);
const char *mx_op_input_name(const mx_op *op, int k);
int mx_op_declared_outputs(const mx_op *op);
/* Parameter description for documentation: default (NULL if none), enum
 * choices ("a|b"), flags (1 required, 2 optional/None) and doc text. */
const char *mx_op_param_default(const mx_op *op, int i);
const char *mx_op_param_choices(const mx_op *op, int i);
int mx_op_param_flags(const mx_op *op, int i);
/* Param flag (with MX_PF_* in mx-op.h): a tuple of one value per input
 * (lrs, wds), passed from R in its own order, not reversed. */
#define MX_PF_LIST 8
const char *mx_op_param_doc(const mx_op *op, int i);

/* Parameters: filled with defaults by mx_op_params_init, then set by name
 * from a string (MXNet's string forms) or from typed values (used by the R
 * glue, which has already reversed tuples into C order). */
int mx_op_num_params(const mx_op *op);
int mx_op_param_index(const mx_op *op, const char *key);       /* -1 if none */
const char *mx_op_param_name(const mx_op *op, int i);
int mx_op_param_type(const mx_op *op, int i);
mx_status mx_op_params_init(const mx_op *op, mx_param_value *vals);
mx_status mx_op_param_set_str(const mx_op *op, mx_param_value *vals, int i,
                              const char *s);
mx_status mx_op_param_set_nums(const mx_op *op, mx_param_value *vals, int i,
                               const double *v, int n);
/* Check required params are set and values are in range. */
mx_status mx_op_params_check(const mx_op *op, const mx_param_value *vals);
/* Format one parameter value the way it is stored in symbol JSON. */
mx_status mx_op_param_format(const mx_op *op, const mx_param_value *vals,
                             int i, char *buf, size_t len);

/* Number of inputs/outputs given the parameters (variadic ops). */
int mx_op_num_inputs(const mx_op *op, const mx_param_value *vals);
int mx_op_num_outputs(const mx_op *op, const mx_param_value *vals);

/* Options of one imperative call. */
typedef struct mx_invoke_opts {
  mx_context ctx;     /* for ops without array inputs (creation, random) */
  uint64_t seed;      /* for random ops: drawn by the caller             */
  int is_train;       /* training-mode forward (Dropout, BatchNorm)      */
} mx_invoke_opts;

/* Run an op imperatively.  outputs[k] == NULL: the engine allocates it (or
 * returns a view for view ops); otherwise the result is written into it
 * (shape must match; dtype converted).  On failure nothing is allocated. */
mx_status mx_op_invoke(const mx_op *op, const mx_param_value *params,
                       mx_ndarray *const *inputs, int n_inputs,
                       mx_ndarray **outputs, int n_outputs,
                       const mx_invoke_opts *opts);

/* Forward then backward of one op (for gradient tests and imperative
 * autograd): outputs[] (visible outputs) and in_grads[] (one per input; NULL
 * for auxiliary states) are allocated here.  out_grads has one array per
 * visible output (ignored by loss ops).  Backward sees only the forward
 * values its op declares it needs.  Fails with MX_ERR_UNSUPPORTED when the
 * op has no gradient. */
mx_status mx_op_forward_backward(const mx_op *op, const mx_param_value *params,
                                 mx_ndarray *const *inputs, int n_inputs,
                                 mx_ndarray *const *out_grads, int n_out_grads,
                                 const mx_invoke_opts *opts,
                                 mx_ndarray **outputs, mx_ndarray **in_grads);
/* Visible outputs and auxiliary inputs for these params. */
int mx_op_num_visible_outputs(const mx_op *op, const mx_param_value *vals);
int mx_op_num_aux(const mx_op *op, const mx_param_value *vals);
/* Name of input k for these params (aux states last), or NULL. */
const char *mx_op_param_input_name(const mx_op *op, const mx_param_value *vals, int k);
int mx_op_has_backward(const mx_op *op);
/* Nonzero when the inputs depend on the parameters (some may be left out). */
int mx_op_has_optional_inputs(const mx_op *op);

/* ------------------------------------------------------------------ files */

/* MXNet's binary NDArray list (mx.nd.save / .params).  Names may be NULL
 * (an unnamed list).  Readers accept the V3, V2, V1 and legacy layouts.
 * Sparse entries (MXNet's row_sparse and csr records) travel as their
 * components: the array holds the stored values (row_sparse: the stored rows,
 * shape (rows, ...); csr: the values, shape (nnz)) and an mx_nd_sparse
 * gives the storage type, the logical shape and the int64 index arrays
 * (row_sparse: row indices; csr: indptr, then indices). */
typedef struct mx_nd_sparse {
  int stype;                /* 0 dense (the rest unused), 1 row_sparse, 2 csr */
  mx_shape shape;           /* logical shape, C order                       */
  mx_ndarray *aux[2];
} mx_nd_sparse;
/* sparse: NULL (all dense) or n entries. */
mx_status mx_ndarray_save_file(const char *path, mx_ndarray *const *arrays, const mx_nd_sparse *sparse,
                               const char *const *names, int n);
/* Serialise to a malloc'ed buffer (freed by mx_free). */
mx_status mx_ndarray_save_buffer(mx_ndarray *const *arrays, const mx_nd_sparse *sparse,
                                 const char *const *names, int n, void **buf, size_t *len);
/* Loading yields arrays on the CPU; *names is NULL for an unnamed list.
 * With sparse NULL a sparse record is an error; otherwise *sparse is NULL
 * (nothing sparse) or n entries.  Free with mx_ndarray_list_free and
 * mx_nd_sparse_free. */
mx_status mx_ndarray_load_file(const char *path, mx_ndarray ***arrays, mx_nd_sparse **sparse,
                               char ***names, int *n);
mx_status mx_ndarray_load_buffer(const void *buf, size_t len, mx_ndarray ***arrays,
                                 mx_nd_sparse **sparse, char ***names, int *n);
void mx_ndarray_list_free(mx_ndarray **arrays, char **names, int n);
void mx_nd_sparse_free(mx_nd_sparse *sparse, int n);
void mx_free(void *p);

/* ------------------------------------------------------------------ build */

/* Feature table filled in by configure: name, compiled in?, detail. */
typedef struct mx_feature {
  const char *name;
  int enabled;
  const char *detail;
} mx_feature;
int mx_feature_count(void);
const mx_feature *mx_feature_at(int i);

/* 64-bit FNV-1a hash of bytes (used to detect stale generated code). */
uint64_t mx_hash_bytes(const void *p, size_t n, uint64_t h);

#ifdef __cplusplus
}
#endif
#endif /* MX_H */
