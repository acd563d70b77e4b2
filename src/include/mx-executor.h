/*
 * mx-executor.h -- a symbol bound to arrays: forward, backward, and the
 * memory plan behind them.
 *
 * Binding appends the backward pass to the forward graph, infers shapes and
 * types, and plans every intermediate buffer (forward and backward
 * together): an output takes over its input's buffer when the op is the
 * last reader and allows it (in place), and buffers whose last reader has
 * run are recycled for later values of similar size.  With `mirror`, cheap
 * nodes are recomputed during backward instead of being kept from forward.
 * forward()/backward() then run the planned steps without allocating.
 */
#ifndef MX_EXECUTOR_H
#define MX_EXECUTOR_H

#include "mx.h"
#include "mx-symbol.h"

typedef struct mx_executor mx_executor;

enum { MX_GRAD_NULL = 0, MX_GRAD_WRITE = 1, MX_GRAD_ADD = 3 };

typedef struct mx_exec_opts {
  int plan_memory;   /* 0: every intermediate gets its own buffer         */
  int inplace;       /* allow outputs to reuse their inputs' buffers      */
  int mirror;        /* recompute cheap nodes in backward                  */
  int fold;          /* inference folding (executors without backward)     */
  double mirror_costly; /* mirror: share of the forward work of costly ops
                           (convolutions) that may be recomputed too       */
  int planned_grads; /* an argument with grad_req WRITE and no gradient array
                        gets a gradient in the plan, valid from the end of
                        backward until the next forward (mx_executor_grad) */
} mx_exec_opts;

/* args/aux in the symbol's list order (arguments(), auxiliary.states());
 * grads[i] may be NULL where grad_req[i] is MX_GRAD_NULL.  The executor
 * keeps its own views of every array, so callers may free theirs. */
mx_status mx_executor_bind(const mx_symbol *s, mx_context ctx,
                           mx_ndarray *const *args, int nargs,
                           mx_ndarray *const *grads, const int *grad_req,
                           mx_ndarray *const *aux, int naux,
                           const mx_exec_opts *opts, mx_executor **out);
void mx_executor_free(mx_executor *e);

/* seed: for random ops (drawn by the caller from R's RNG). */
mx_status mx_executor_forward(mx_executor *e, int is_train, uint64_t seed);
/* head_grads: one per output (NULL entries, or head_grads == NULL: ones;
 * ignored for loss outputs). */
mx_status mx_executor_backward(mx_executor *e, mx_ndarray *const *head_grads, int n);

/* Gradient readiness, for overlapping communication with backward: after
 * each backward step, fn(user, step) is called (fn NULL: none).
 * mx_executor_final_step() is the step after which a bound array (a
 * gradient) holds its final value in a backward pass, -1 when backward does
 * not write it. */
typedef void (*mx_exec_step_fn)(void *user, int step);
void mx_executor_set_step_hook(mx_executor *e, mx_exec_step_fn fn, void *user);
int mx_executor_final_step(const mx_executor *e, const mx_ndarray *a);

int mx_executor_num_outputs(const mx_executor *e);
/* Nonzero when forward draws random numbers (the caller then supplies a seed). */
int mx_executor_is_random(const mx_executor *e);
/* A new view of output i (the caller frees it). */
mx_status mx_executor_output(const mx_executor *e, int i, mx_ndarray **out);
/* A view of argument a's planned gradient (opts.planned_grads); an error
 * when it has none. */
mx_status mx_executor_grad(const mx_executor *e, int a, mx_ndarray **out);

typedef struct mx_exec_memory {
  int64_t planned_bytes;     /* the arena: intermediate values and scratch    */
  int64_t unplanned_bytes;   /* values without sharing + one scratch block    */
  int64_t peak_live_bytes;   /* blocks alive at the busiest step: the least
                                any placement of these blocks needs          */
  int64_t external_bytes;    /* arguments, gradients, auxiliary states, heads */
  int64_t workspace_bytes;   /* the largest scratch of one step (in the arena) */
  int64_t cached_bytes;      /* kept in nodes' kernel state (op->state_bytes) */
  int64_t n_buffers;         /* planned values                               */
  int64_t n_blocks;          /* blocks after sharing                         */
  int64_t n_inplace;         /* values that took over their input's block    */
  int64_t n_mirrored;        /* nodes recomputed in backward                 */
  int64_t n_folded;          /* convolutions with BatchNorm (and relu) folded in at inference */
  int64_t n_blocked;         /* planned values in oneDNN's blocked layout    */
  int64_t n_steps_forward, n_steps_backward;
} mx_exec_memory;
void mx_executor_memory(const mx_executor *e, mx_exec_memory *out);
/* Kernel scratch that did not come from an executor's workspace (imperative
 * calls, a need larger than planned): calls and bytes, process-wide. */
void mx_scratch_fallbacks(int64_t *calls, int64_t *bytes);

/* Time per op (profiling): when on, forward/backward record the wall time
 * of each step; the report lists op name, node name, phase, calls, seconds. */
void mx_executor_set_profiling(mx_executor *e, int on);
int mx_executor_profile_count(const mx_executor *e);
void mx_executor_profile_at(const mx_executor *e, int i, const char **op,
                            const char **node, int *phase, int64_t *calls,
                            double *seconds);

#endif
