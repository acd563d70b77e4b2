/*
 * elemwise-table.c -- the records of the module's own kernels
 * (src/cuda/kernels/<family>.cu, declared in kern-common.h), looked up by
 * registry name: mx_gpu_kernels_elemwise[], ending with a zeroed record.
 * Also mx_kc_param_index, which the kernels use to find their parameters
 * by name (the parameter enums are private to src/ops/<family>.c).
 *
 * Every kernel here is UNVERIFIED on a GPU until tools/gpu-check.sh has run
 * (docs/gpu-kernels.md lists what each record covers and refuses).
 */
#include "kern-common.h"

mx_status mx_kc_param_index(const char *op, const char *key, int *slot) {
  const mx_op *o = mx_host->op_find(op);
  if (!o) return mx_error(MX_ERR_INTERNAL, "GPU kernels: no op '%s' in the registry", op);
  int i = mx_host->op_param_index(o, key);
  if (i < 0) return mx_error(MX_ERR_INTERNAL, "GPU kernels: op '%s' has no parameter '%s'", op, key);
  *slot = i;
  return MX_OK;
}

#define G MX_GPUF_GRAPH
#define IP MX_GPUF_INPLACE

/* element-wise binary ops: broadcast_* (temporaries when a gradient is
 * summed down: not graph-safe), elemwise_* (same shapes), scalar forms */
#define BCAST(NAME, K, BW) {.op = NAME, .fwd = mx_kc_bin_##K, .bwd = BW, .dtypes = MX_KC_NUMERIC, .flags = IP}
#define ELEMW(NAME, K, BW) {.op = NAME, .fwd = mx_kc_bin_##K, .bwd = BW, .dtypes = MX_KC_NUMERIC, .flags = IP | G}
#define SCAL(NAME, K, BW) {.op = NAME, .fwd = mx_kc_scal_##K, .bwd = BW, .dtypes = MX_KC_NUMERIC, .flags = IP | G}
#define RSCAL(NAME, K, BW) {.op = NAME, .fwd = mx_kc_rscal_##K, .bwd = BW, .dtypes = MX_KC_NUMERIC, .flags = IP | G}
#define UNARY(NAME) {.op = #NAME, .fwd = mx_kc_un_##NAME, .bwd = mx_kc_un_grad_##NAME, .dtypes = MX_KC_NUMERIC, .flags = IP | G},
/* the byte moves take bfloat16 too (their backward: a copy or zeros) */
#define MOVE(NAME, BW) {.op = NAME, .fwd = mx_kc_identity, .bwd = BW, \
                        .dtypes = MX_KC_ALL | MX_KC_DT(MX_BFLOAT16), .flags = IP | G}
#define REDUCE(NAME, FLAGS) {.op = #NAME, .fwd = mx_kc_##NAME, .bwd = mx_kc_##NAME##_grad, .dtypes = MX_KC_NUMERIC, .flags = FLAGS}
#define UPDATE(NAME) {.op = #NAME, .fwd = mx_kc_##NAME, .supports = mx_kc_supports_float, .dtypes = MX_KC_FLOATS, .flags = IP | G}

const mx_gpu_kernel mx_gpu_kernels_elemwise[] = {
  BCAST("broadcast_add", add, mx_kc_bin_grad_add_fast),
  BCAST("broadcast_sub", sub, mx_kc_bin_grad_sub_fast),
  BCAST("broadcast_mul", mul, mx_kc_bin_grad_mul),
  BCAST("broadcast_div", div, mx_kc_bin_grad_div),
  BCAST("broadcast_mod", mod, mx_kc_bin_grad_mod),
  BCAST("broadcast_power", pow, mx_kc_bin_grad_pow),
  BCAST("broadcast_maximum", max, mx_kc_bin_grad_max),
  BCAST("broadcast_minimum", min, mx_kc_bin_grad_min),
  BCAST("broadcast_hypot", hypot, mx_kc_bin_grad_hypot),
  BCAST("broadcast_equal", eq, mx_kc_grad_zeros),
  BCAST("broadcast_not_equal", ne, mx_kc_grad_zeros),
  BCAST("broadcast_greater", gt, mx_kc_grad_zeros),
  BCAST("broadcast_greater_equal", ge, mx_kc_grad_zeros),
  BCAST("broadcast_lesser", lt, mx_kc_grad_zeros),
  BCAST("broadcast_lesser_equal", le, mx_kc_grad_zeros),
  BCAST("broadcast_logical_and", and, mx_kc_grad_zeros),
  BCAST("broadcast_logical_or", or, mx_kc_grad_zeros),
  BCAST("broadcast_logical_xor", xor, mx_kc_grad_zeros),
  {.op = "elemwise_add", .fwd = mx_kc_elemwise_add, .bwd = mx_kc_bin_grad_add_fast,
   .dtypes = MX_KC_NUMERIC | MX_KC_DT(MX_FLOAT16) | MX_KC_DT(MX_BFLOAT16), .flags = IP | G},
  ELEMW("elemwise_sub", sub, mx_kc_bin_grad_sub_fast),
  ELEMW("elemwise_mul", mul, mx_kc_bin_grad_mul),
  ELEMW("elemwise_div", div, mx_kc_bin_grad_div),
  ELEMW("_mod", mod, mx_kc_bin_grad_mod),
  ELEMW("_power", pow, mx_kc_bin_grad_pow),
  ELEMW("_maximum", max, mx_kc_bin_grad_max),
  ELEMW("_minimum", min, mx_kc_bin_grad_min),
  SCAL("_plus_scalar", add, mx_kc_scal_grad_copy),
  SCAL("_minus_scalar", sub, mx_kc_scal_grad_copy),
  RSCAL("_rminus_scalar", sub, mx_kc_rscal_grad_sub),
  SCAL("_mul_scalar", mul, mx_kc_scal_grad_mul),
  SCAL("_div_scalar", div, mx_kc_scal_grad_div),
  RSCAL("_rdiv_scalar", div, mx_kc_rscal_grad_div),
  SCAL("_mod_scalar", mod, mx_kc_scal_grad_mod),
  RSCAL("_rmod_scalar", mod, mx_kc_rscal_grad_mod),
  SCAL("_power_scalar", pow, mx_kc_scal_grad_pow),
  RSCAL("_rpower_scalar", pow, mx_kc_rscal_grad_pow),
  SCAL("_maximum_scalar", max, mx_kc_scal_grad_max),
  SCAL("_minimum_scalar", min, mx_kc_scal_grad_min),
  SCAL("_hypot_scalar", hypot, mx_kc_scal_grad_hypot),
  SCAL("_equal_scalar", eq, mx_kc_grad_zeros),
  SCAL("_not_equal_scalar", ne, mx_kc_grad_zeros),
  SCAL("_greater_scalar", gt, mx_kc_grad_zeros),
  SCAL("_greater_equal_scalar", ge, mx_kc_grad_zeros),
  SCAL("_lesser_scalar", lt, mx_kc_grad_zeros),
  SCAL("_lesser_equal_scalar", le, mx_kc_grad_zeros),
  SCAL("_logical_and_scalar", and, mx_kc_grad_zeros),
  SCAL("_logical_or_scalar", or, mx_kc_grad_zeros),
  SCAL("_logical_xor_scalar", xor, mx_kc_grad_zeros),

  /* unary.c */
  MX_KC_UNARY_OPS(UNARY)
  {.op = "clip", .fwd = mx_kc_clip, .bwd = mx_kc_clip_grad, .dtypes = MX_KC_NUMERIC, .flags = IP | G},
  {.op = "identity", .fwd = mx_kc_identity, .bwd = mx_kc_identity_grad, .dtypes = MX_KC_ALL, .flags = IP | G},
  {.op = "zeros_like", .fwd = mx_kc_zeros_like, .bwd = mx_kc_grad_zeros_float, .dtypes = MX_KC_ALL, .flags = IP | G},
  {.op = "ones_like", .fwd = mx_kc_ones_like, .bwd = mx_kc_grad_zeros_float, .dtypes = MX_KC_ALL, .flags = IP | G},
  {.op = "Cast", .fwd = mx_kc_cast, .bwd = mx_kc_cast_grad, .dtypes = MX_KC_ALL | MX_KC_DT(MX_BFLOAT16),
   .flags = IP | G},

  /* views and copies (shape.c, nn.c): run when the engine cannot make a view */
  MOVE("Reshape", mx_kc_identity_grad),
  MOVE("Flatten", mx_kc_identity_grad),
  MOVE("expand_dims", mx_kc_identity_grad),
  MOVE("squeeze", mx_kc_identity_grad),
  MOVE("BlockGrad", mx_kc_grad_zeros),
  {.op = "MakeLoss", .fwd = mx_kc_identity, .bwd = mx_kc_make_loss_grad,
   .supports = mx_kc_supports_make_loss, .dtypes = MX_KC_FLOATS, .flags = IP | G},

  /* reduce.c (prod/nanprod's gradients take a temporary) */
  REDUCE(sum, G), REDUCE(mean, G), REDUCE(nansum, G), REDUCE(max, G), REDUCE(min, G),
  REDUCE(norm, G), REDUCE(prod, 0), REDUCE(nanprod, 0),
  {.op = "argmax", .fwd = mx_kc_argmax, .dtypes = MX_KC_NUMERIC, .flags = G},
  {.op = "argmin", .fwd = mx_kc_argmin, .dtypes = MX_KC_NUMERIC, .flags = G},

  /* shape moves */
  {.op = "Concat", .fwd = mx_kc_concat, .bwd = mx_kc_concat_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "SliceChannel", .fwd = mx_kc_slice_channel, .bwd = mx_kc_slice_channel_grad,
   .dtypes = MX_KC_ALL, .flags = G},
  {.op = "stack", .fwd = mx_kc_stack, .bwd = mx_kc_stack_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "transpose", .fwd = mx_kc_transpose, .bwd = mx_kc_transpose_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "SwapAxis", .fwd = mx_kc_swapaxis, .bwd = mx_kc_swapaxis_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "slice", .fwd = mx_kc_slice, .bwd = mx_kc_slice_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "slice_axis", .fwd = mx_kc_slice_axis, .bwd = mx_kc_slice_axis_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "reverse", .fwd = mx_kc_reverse, .bwd = mx_kc_reverse_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "tile", .fwd = mx_kc_tile, .bwd = mx_kc_tile_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "Crop", .fwd = mx_kc_crop, .bwd = mx_kc_crop_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "repeat", .fwd = mx_kc_repeat, .bwd = mx_kc_repeat_grad, .dtypes = MX_KC_ALL, .flags = G},

  /* index.c (take's gradient adds with atomics) */
  {.op = "take", .fwd = mx_kc_take, .bwd = mx_kc_take_grad, .supports = mx_kc_supports_take,
   .dtypes = MX_KC_ALL, .flags = G},
  {.op = "pick", .fwd = mx_kc_pick, .bwd = mx_kc_pick_grad, .dtypes = MX_KC_ALL, .flags = G},
  {.op = "one_hot", .fwd = mx_kc_one_hot, .dtypes = MX_KC_NUMERIC, .flags = G},
  {.op = "where", .fwd = mx_kc_where, .bwd = mx_kc_where_grad, .dtypes = MX_KC_ALL, .flags = G},

  /* nn.c: loss heads and layers.  Random ops bake c->rng into the launch:
   * not graph-safe. */
  {.op = "SoftmaxOutput", .fwd = mx_kc_softmax_output, .bwd = mx_kc_softmax_output_grad,
   .supports = mx_kc_supports_softmax_output, .dtypes = MX_KC_FLOATS, .flags = G},
  {.op = "LinearRegressionOutput", .fwd = mx_kc_linreg, .bwd = mx_kc_linreg_grad,
   .supports = mx_kc_supports_float, .dtypes = MX_KC_FLOATS, .flags = G},
  {.op = "LogisticRegressionOutput", .fwd = mx_kc_logreg, .bwd = mx_kc_linreg_grad,
   .supports = mx_kc_supports_float, .dtypes = MX_KC_FLOATS, .flags = G},
  {.op = "MAERegressionOutput", .fwd = mx_kc_linreg, .bwd = mx_kc_mae_grad,
   .supports = mx_kc_supports_float, .dtypes = MX_KC_FLOATS, .flags = G},
  {.op = "LeakyReLU", .fwd = mx_kc_leaky, .bwd = mx_kc_leaky_grad,
   .supports = mx_kc_supports_float, .dtypes = MX_KC_FLOATS, .flags = 0},
  {.op = "Dropout", .fwd = mx_kc_dropout, .bwd = mx_kc_dropout_grad,
   .supports = mx_kc_supports_float, .dtypes = MX_KC_FLOATS, .flags = IP},
  {.op = "Embedding", .fwd = mx_kc_embedding, .bwd = mx_kc_embedding_grad,
   .supports = mx_kc_supports_embedding, .dtypes = MX_KC_NUMERIC | MX_KC_DT(MX_FLOAT16), .flags = G},

  /* optimizer.c: the states are updated in place */
  UPDATE(sgd_update), UPDATE(sgd_mom_update), UPDATE(nag_mom_update), UPDATE(adam_update),
  UPDATE(rmsprop_update), UPDATE(rmspropalex_update), UPDATE(adagrad_update),
  UPDATE(adadelta_update),

  /* random.c */
  {.op = "random_uniform", .fwd = mx_kc_random_uniform, .dtypes = MX_KC_FLOATS, .flags = 0},
  {.op = "random_normal", .fwd = mx_kc_random_normal, .dtypes = MX_KC_FLOATS, .flags = 0},

  {.op = NULL},
};
