/*
 * mx-op.h -- the op descriptor: one record per operator; the contract
 * between the op families (src/ops) and the engine (invoker, executor).
 *
 * Adding an op (see docs/adding-an-op.md):
 *  1. In the family file (src/ops/<family>.c) write its parameter enum and
 *     table, shape/type inference, CPU kernel and gradient, and append a
 *     record (designated initializers) to the family's mx_ops_<family>[].
 *  2. Regenerate the R wrappers (make generate) and add tests: values against
 *     an R reference, gradients against finite differences.
 *
 * The same descriptor serves imperative calls (mx_op_invoke), symbols and
 * executors.  Registration (mx_engine_init) rejects duplicate names and
 * aliases, more than MX_MAX_OPS ops and malformed parameter tables.
 */
#ifndef MX_OP_H
#define MX_OP_H

#include "mx-internal.h"

/* ----------------------------------------------------------- parameters */

/* Parameter flags. */
#define MX_PF_REQUIRED   1   /* must be given                               */
#define MX_PF_OPTIONAL   2   /* may be None (its default when def == NULL)  */
#define MX_PF_TUPLE_NONE 4   /* tuple entries may be None (MX_TUPLE_NONE)   */
/* MX_PF_LIST (8, mx.h): a tuple of one value per input (lrs, wds), which
 * R passes in its own order, not reversed. */

typedef struct mx_param_desc {
  const char *name;
  int type;              /* mx_param_type                                   */
  int flags;             /* MX_PF_*                                         */
  const char *def;       /* default in string form; NULL: required or None  */
  const char *choices;   /* ENUM: "a|b|c"                                   */
  const char *doc;       /* one sentence for the R help page                */
} mx_param_desc;

/* ------------------------------------------------------------- kernels */

/* How an output is written. */
enum { MX_REQ_NULL = 0, MX_REQ_WRITE = 1, MX_REQ_INPLACE = 2, MX_REQ_ADD = 3 };

/* What a kernel gets besides its arrays. */
typedef struct mx_op_ctx {
  int nthreads;          /* from mx_threads_get()                           */
  mx_rng rng;            /* random ops: seeded per call                     */
  mx_context ctx;        /* device of the outputs                           */
  int is_train;          /* training forward (Dropout, BatchNorm statistics) */
  int recompute;         /* the mirror's recompute of a forward call (see
                            MX_OPF_MIRROR_STATS)                          */
  void **state;          /* per-node slot that survives between calls (e.g.
                            a cached oneDNN primitive), owned by the caller
                            and released with op->state_free; NULL when the
                            call has no such slot (imperative calls)        */
  void *gpu;             /* GPU calls: the backend's device record (stream,
                            library handles); NULL on the CPU              */
  void *workspace;       /* scratch planned by the executor (the step's
                            block of its arena), or NULL; kernels take it
                            through mx_scratch_open                      */
  size_t workspace_bytes;
  int workspace_lean;    /* workspace hooks only: 1 plan for the variant
                            with the least scratch, and run it in this
                            node's calls from now on (the executor asks
                            where the fastest one would raise its peak);
                            0 the fastest                                */
  unsigned blocked_in;   /* executor calls on the CPU: bit j set when input j
                            and its gradient hold float32 (N, C, H, W) in
                            oneDNN's nChw16c layout (see mx_layout_fn)    */
  unsigned blocked_out;  /* the same for the outputs                      */
} mx_op_ctx;

/* Shape inference.  Unknown shapes have ndim == -1; an implementation fills
 * every output shape and may fill unknown input shapes (e.g. weights). */
typedef mx_status (*mx_infer_shape_fn)(const mx_param_value *p, int nin,
                                       mx_shape *in, int nout, mx_shape *out);
/* Type inference; dtypes are -1 when unknown. */
typedef mx_status (*mx_infer_type_fn)(const mx_param_value *p, int nin,
                                      int *in, int nout, int *out);
/* A kernel writes all outputs (req[k] tells how; imperative calls always
 * pass MX_REQ_WRITE).  Inputs and outputs are on the same device. */
typedef mx_status (*mx_compute_fn)(const mx_op_ctx *c, const mx_param_value *p,
                                   mx_ndarray *const *in, int nin,
                                   mx_ndarray *const *out, int nout,
                                   const int *req);
/* Backward kernel.  out_grad[k] is the gradient of output k (NULL for
 * hidden outputs and where backward_deps says it is not needed); in[] and
 * out[] are the forward inputs and outputs (NULL where not needed);
 * in_grad[j] receives the gradient of input j when req[j] == MX_REQ_WRITE
 * (NULL and MX_REQ_NULL otherwise; aux states never get one).  Kernels only
 * see WRITE or NULL: the executor implements grad_req "add" itself. */
typedef mx_status (*mx_backward_fn)(const mx_op_ctx *c, const mx_param_value *p,
                                    mx_ndarray *const *out_grad, int nout,
                                    mx_ndarray *const *in, int nin,
                                    mx_ndarray *const *out,
                                    mx_ndarray *const *in_grad, const int *req);
/* Which forward values backward reads (1 = needed), so the memory planner
 * can free the others early.  NULL: it needs all of them. */
typedef void (*mx_backward_deps_fn)(const mx_param_value *p, int nin, int nout,
                                    unsigned char *need_in,
                                    unsigned char *need_out,
                                    unsigned char *need_out_grad);
/* Input names for these params, aux states last (e.g. FullyConnected with
 * no_bias drops "bias"); returns the count.  NULL: input_names. */
typedef int (*mx_list_inputs_fn)(const mx_param_value *p, const char **names,
                                 int max);

/* Scratch bytes one call of the op needs for these input shapes and this
 * dtype (backward: 0 the forward call, 1 the backward call, 2 the forward
 * call with an affine epilogue and 3 with an affine and relu epilogue, see
 * mx_epilogue_fn), with c's
 * threads and state slot (a kernel may build its per-node state here, as
 * its first call would; c->workspace_lean asks for its leanest variant).
 * The executor plans each step's need as a block of its arena, alive
 * during that step, and passes it in mx_op_ctx.workspace. */
typedef size_t (*mx_workspace_fn)(const mx_op_ctx *c, const mx_param_value *p, int nin,
                                  const mx_shape *in, int dtype, int backward);

/* Inference folding (executor.c): a forward call whose output goes through
 * a per-channel affine map and optionally relu, computed as one call:
 *   out = act(scale[f] * op(in) + shift[f])   (f: axis 1 of the output).
 * MX_ERR_UNSUPPORTED with no error recorded: the caller runs the ops one by
 * one instead. */
typedef struct mx_epilogue {
  const float *scale, *shift;   /* one per output channel */
  int relu;
} mx_epilogue;
typedef mx_status (*mx_epilogue_fn)(const mx_op_ctx *c, const mx_param_value *p,
                                    mx_ndarray *const *in, int nin, mx_ndarray *out,
                                    const mx_epilogue *ep);
/* An op that is a per-channel affine map of input 0 at inference
 * (BatchNorm): fill scale and shift (n channels of axis 1) from its inputs
 * exactly as its inference forward would apply them; MX_ERR_UNSUPPORTED
 * (nothing recorded) where it is not one (another axis or dtype). */
typedef mx_status (*mx_affine_fn)(const mx_param_value *p, mx_ndarray *const *in, int nin,
                                  float *scale, float *shift, int64_t n);

/* Blocked activations (executor.c, docs/memory.md): between oneDNN
 * convolutions an executor on the CPU keeps float32 4-D values of C % 16 ==
 * 0 channels and H W > 1, and their gradients, in the nChw16c layout
 * (channel c of pixel p of image n at ((n C/16 + c/16) H W + p) 16 + c % 16)
 * wherever every op that reads or writes them takes that layout.  An op
 * sets per input slot, then per output slot, how its kernels do (mode
 * arrives all MX_LAY_PLAIN; the hook marks the slots that take more):
 *   MX_LAY_PLAIN  only the plain layout (also every op without this hook)
 *   MX_LAY_OWN    either, per slot, as mx_op_ctx.blocked_in/out say
 *   MX_LAY_TIED   either, the same for all its TIED slots; a slot of H W
 *                 == 1 (global pooling's output) reads the same in both
 *                 and is passed plain. */
enum { MX_LAY_PLAIN, MX_LAY_OWN, MX_LAY_TIED };
typedef void (*mx_layout_fn)(const mx_param_value *p, int nin, const mx_shape *in, int nout,
                             const mx_shape *out, unsigned char *mode);

/* View ops: build output 0 as a view of input 0 (no copy); NULL result
 * means "not possible here, run the kernel". */
typedef mx_status (*mx_view_fn)(const mx_param_value *p, const mx_ndarray *in,
                                const mx_shape *out_shape, mx_ndarray **out);

/* Op flags (MX_OPF_*) are in mx.h. */

struct mx_op {
  const char *name;
  const char *aliases[4];            /* NULL-terminated                     */
  const char *doc;                   /* description for the R help page     */
  int num_inputs;                    /* -1: variadic, count = num_args      */
  const char *const *input_names;    /* NULL-terminated; variadic: prefix   */
  int num_outputs;
  const mx_param_desc *params;
  int num_params;
  mx_infer_shape_fn infer_shape;
  mx_infer_type_fn infer_type;       /* NULL: all inputs one dtype -> out   */
  mx_compute_fn cpu;
  mx_view_fn view;
  mx_backward_fn backward;           /* CPU gradient; NULL: not differentiable */
  int flags;
  /* --- symbolic interface (all optional) --- */
  mx_backward_deps_fn backward_deps;
  mx_list_inputs_fn list_inputs;
  int (*num_aux)(const mx_param_value *p);            /* last k inputs    */
  int (*num_visible_outputs)(const mx_param_value *p);/* NULL: all        */
  const char *const *output_names;   /* NULL: "output" / "output<k>"       */
  void (*state_free)(void *state);
  size_t (*state_bytes)(const void *state);  /* bytes a state keeps (NULL: its size unknown, 0) */
  mx_workspace_fn workspace;         /* NULL: the kernels need no scratch   */
  int (*count_outputs)(const mx_param_value *p); /* num_outputs -1 counted by
                                        another param (num_weights); NULL:
                                        the param num_outputs            */
  /* --- inference folding (all optional, CPU) --- */
  mx_epilogue_fn forward_epilogue;   /* can absorb a following affine map   */
  mx_affine_fn inference_affine;     /* is one at inference                 */
  int (*is_relu)(const mx_param_value *p);   /* is max(x, 0) with these params */
  /* --- mirror (optional) --- */
  /* Multiply-adds per output element of a forward call with these input
   * shapes: an op flagged MX_OPF_NO_MIRROR with this hook may still be
   * recomputed in backward, cheapest per output byte first, within the
   * executor's budget (executor.c, choose_costly). */
  double (*recompute_cost)(const mx_param_value *p, int nin, const mx_shape *in);
  /* --- blocked activations (optional, CPU) --- */
  mx_layout_fn layouts;
  /* GPU kernels are not here: a GPU backend (mx-gpu.h) carries its own
   * records, looked up by op name. */
};

/* Entries of a parameter table.  Tables are declared with the size of
 * their enum and designated entries, `static const mx_param_desc
 * p_x[X_NPARAMS] = {[X_AXIS] = {"axis", ...}, ...}`, so kernels read
 * p[X_AXIS] and the registry rejects a table with a slot left empty. */
#define MX_NPARAMS(tbl) ((int)(sizeof(tbl) / sizeof((tbl)[0])))

/* Registry tables, one per family file, each ending with a zeroed record. */
extern const mx_op mx_ops_elemwise[];
extern const mx_op mx_ops_unary[];
extern const mx_op mx_ops_reduce[];
extern const mx_op mx_ops_matmul[];
extern const mx_op mx_ops_shape[];
extern const mx_op mx_ops_index[];
extern const mx_op mx_ops_random[];
extern const mx_op mx_ops_conv[];       /* nn-conv.c: Convolution, Deconvolution, Pooling */
extern const mx_op mx_ops_nn[];         /* nn.c: layers, losses, normalisation */
extern const mx_op mx_ops_optimizer[];  /* optimizer.c: fused update ops */
extern const mx_op mx_ops_layers[];     /* layers.c: LRN, UpSampling, LayerNorm, Pad, ... */
extern const mx_op mx_ops_sequence[];   /* sequence.c: SequenceMask/Last/Reverse, CTCLoss */
extern const mx_op mx_ops_spatial[];    /* spatial.c: GridGenerator, BilinearSampler, ROIPooling, ... */
extern const mx_op mx_ops_tensor[];     /* tensor.c: broadcast_to, topk, sort, gather_nd, ... */
extern const mx_op mx_ops_linalg[];     /* linalg.c: linalg_gemm, potrf, trsm, ... */
extern const mx_op mx_ops_sample[];     /* sample.c: random_gamma, sample_*, shuffle, ... */
extern const mx_op mx_ops_rnn[];        /* rnn.c: the fused RNN op */
extern const mx_op mx_ops_sparse[];     /* sparse.c: CSR / row_sparse kernels (R/sparse.R) */
extern const mx_op mx_ops_random_pdf[]; /* random-pdf.c: random_pdf_* densities */
extern const mx_op mx_ops_nn_extra[];   /* nn-extra.c: Correlation */

/* ------------------------------------------------------ shared helpers */

/* backward_deps of ops whose backward reads only the output gradients
 * (input shapes come with the gradient arrays). */
void mx_deps_out_grads(const mx_param_value *p, int nin, int nout, unsigned char *need_in,
                       unsigned char *need_out, unsigned char *need_out_grad);
/* ... that read the inputs and the output gradients, not the outputs. */
void mx_deps_in_out_grads(const mx_param_value *p, int nin, int nout, unsigned char *need_in,
                          unsigned char *need_out, unsigned char *need_out_grad);
/* mx_layout_fn of element-wise ops: all slots TIED when the shapes agree. */
void mx_lay_same(const mx_param_value *p, int nin, const mx_shape *in, int nout,
                 const mx_shape *out, unsigned char *mode);
/* Default type inference: all inputs share one dtype, outputs take it. */
mx_status mx_infer_type_same(const mx_param_value *p, int nin, int *in,
                             int nout, int *out);
/* Shape inference for ops whose outputs have input 0's shape; an unknown
 * input 0 takes a known output 0's shape. */
mx_status mx_infer_shape_same(const mx_param_value *p, int nin, mx_shape *in,
                              int nout, mx_shape *out);
/* numpy/MXNet broadcasting of two shapes (aligned at the last C axis). */
mx_status mx_broadcast_shape(const mx_shape *a, const mx_shape *b,
                             mx_shape *out);
/* Sum src (a broadcast result) down to dst's shape: the gradient of an
 * input that was broadcast (elemwise.c). */
mx_status mx_sum_to_shape(const mx_ndarray *src, mx_ndarray *dst);
/* C = alpha * op(A) op(B) + beta * C, row-major with leading dimensions
 * (op = transpose when ta/tb); float32 (oneDNN, OpenBLAS or built-in) or
 * float64 (built-in).  c may be NULL (threads from mx_threads_get). */
mx_status mx_gemm(const mx_op_ctx *c, int dtype, int ta, int tb, int64_t M,
                  int64_t N, int64_t K, double alpha, const void *A, int64_t lda,
                  const void *B, int64_t ldb, double beta, void *C, int64_t ldc);
/* A kernel's scratch: the executor's workspace when it is large enough,
 * else (imperative calls, a need that grew) a block from the device pool,
 * counted by mx_scratch_fallbacks (mx-executor.h).  mx_scratch_take hands out 64-byte
 * aligned pieces of the need given to open (NULL when it is exhausted). */
typedef struct mx_scratch {
  char *base;
  size_t size, used;
  mx_storage *own;
} mx_scratch;
mx_status mx_scratch_open(const mx_op_ctx *c, size_t need, mx_scratch *s);
void *mx_scratch_take(mx_scratch *s, size_t bytes);
void mx_scratch_close(mx_scratch *s);
/* Round bytes up to the scratch alignment (sizes of several pieces add up). */
static inline size_t mx_scratch_round(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

/* MX_ERR_SHAPE with a message naming two shapes (fmt has two %s; tensor.c). */
mx_status mx_shape_pair_error(const char *fmt, const mx_shape *a, const mx_shape *b);
/* Digamma psi(x) = d/dx log|gamma(x)| (unary.c; NaN at the poles). */
double mx_digamma(double x);
/* Normalise an axis against ndim (negative counts from the end). */
mx_status mx_axis_norm(int64_t axis, int ndim, int *out);

/* Kernel and gradient signatures for definitions in the family files:
 *   static mx_status k_clip(KARGS) { UNUSED_KARGS; ... }
 * UNUSED_* silence unused-parameter warnings (voiding a used one is harmless). */
#define KARGS const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *in, \
              int nin, mx_ndarray *const *out, int nout, const int *req
#define UNUSED_KARGS (void)c; (void)p; (void)in; (void)nin; (void)out; (void)nout; \
              (void)req
#define BARGS const mx_op_ctx *c, const mx_param_value *p, mx_ndarray *const *og, \
              int nout, mx_ndarray *const *in, int nin, mx_ndarray *const *out, \
              mx_ndarray *const *ig, const int *req
#define UNUSED_BARGS (void)c; (void)p; (void)og; (void)nout; (void)in; (void)nin; \
              (void)out; (void)ig; (void)req

/* The error of a gradient kernel asked for an integer dtype. */
static inline mx_status grad_dtype_error(int dtype) {
  return mx_error(MX_ERR_DTYPE, "gradients need a floating-point dtype (float32 or float64), not %s",
                  mx_dtype_name(dtype));
}

/* Dtype of a DTYPE param value, or fallback when unset. */
static inline int mx_param_dtype(const mx_param_value *v, int fallback) {
  return v->is_set ? (int)v->i : fallback;
}

#endif /* MX_OP_H */
