/*
 * dnn-table.c -- the GPU kernel records of the cuBLAS / cuDNN ops
 * (mx_gpu_kernels_dnn, listed by ops-table.c), the module hooks
 * mx_cuda_dnn_init / mx_cuda_dnn_shutdown (device.c calls them), parameter
 * lookup by name, and per-call scratch memory.
 */
#include "cudnn-desc.h"

/* ------------------------------------------------ parameters by name */

static const mx_op *find_op(const char *name, mx_status *rc) {
  const mx_op *op = mx_host->op_find(name);
  *rc = op ? MX_OK : mx_error(MX_ERR_INTERNAL, "GPU module: op '%s' is not in the registry", name);
  return op;
}

mx_status mx_dnn_param(const char *op_name, const char *key, int *out) {
  mx_status rc;
  const mx_op *op = find_op(op_name, &rc);
  if (!op) return rc;
  int i = mx_host->op_param_index(op, key);
  if (i < 0 || i >= op->num_params)
    return mx_error(MX_ERR_INTERNAL, "GPU module: op '%s' has no parameter '%s'", op_name, key);
  *out = i;
  return MX_OK;
}

mx_status mx_dnn_choice(const char *op_name, const char *key, const char *choice, int *out) {
  int i;
  mx_status rc = mx_dnn_param(op_name, key, &i);
  if (rc) return rc;
  const mx_op *op = find_op(op_name, &rc);
  const char *choices = op->params[i].choices;
  int k = choices ? mx_dnn_choice_pos(choices, choice) : -1;
  if (k < 0)
    return mx_error(MX_ERR_INTERNAL, "GPU module: parameter '%s' of op '%s' has no choice '%s'",
                    key, op_name, choice);
  *out = k;
  return MX_OK;
}

/* ------------------------------------------------ hooks */

mx_status mx_cuda_dnn_init(void) {
  mx_status rc;
  if ((rc = mx_dnn_gemm_init())) return rc;
  if ((rc = mx_dnn_conv_init())) return rc;
  if ((rc = mx_dnn_pool_init())) return rc;
  if ((rc = mx_dnn_bn_init())) return rc;
  if ((rc = mx_dnn_rnn_init())) return rc;
  return mx_dnn_act_init();
}

void mx_cuda_dnn_shutdown(void) {
  mx_dnn_conv_shutdown();
  mx_dnn_rnn_shutdown();
}

/* ------------------------------------------------ the table */

#define F32_F64 ((1u << MX_FLOAT32) | (1u << MX_FLOAT64))
/* float16 and bfloat16 tensors, float32 arithmetic (cuBLAS COMPUTE_32F,
 * cuDNN's float compute type): no float32 copies for these ops */
#define FLOATS (F32_F64 | (1u << MX_FLOAT16) | (1u << MX_BFLOAT16))

const mx_gpu_kernel mx_gpu_kernels_dnn[] = {
  {"FullyConnected", mx_dnn_fc_fwd, mx_dnn_fc_bwd, mx_dnn_matmul_supports, FLOATS, 0},
  {"dot", mx_dnn_dot_fwd, mx_dnn_dot_bwd, mx_dnn_matmul_supports, FLOATS, 0},
  {"batch_dot", mx_dnn_batch_dot_fwd, mx_dnn_batch_dot_bwd, mx_dnn_matmul_supports, FLOATS, 0},
  {"Convolution", mx_dnn_conv_fwd, mx_dnn_conv_bwd, mx_dnn_conv_supports, FLOATS, 0},
  {"Deconvolution", mx_dnn_deconv_fwd, mx_dnn_deconv_bwd, mx_dnn_deconv_supports, FLOATS, 0},
  {"Pooling", mx_dnn_pool_fwd, mx_dnn_pool_bwd, mx_dnn_pool_supports, FLOATS, MX_GPUF_GRAPH},
  {"BatchNorm", mx_dnn_bn_fwd, mx_dnn_bn_bwd, mx_dnn_bn_supports, FLOATS, 0},
  {"RNN", mx_dnn_rnn_fwd, mx_dnn_rnn_bwd, mx_dnn_rnn_supports, F32_F64, 0},
  {"Activation", mx_dnn_activation_fwd, mx_dnn_activation_bwd, NULL, FLOATS,
   MX_GPUF_INPLACE | MX_GPUF_GRAPH},
  {"softmax", mx_dnn_softmax_fwd, mx_dnn_softmax_bwd, mx_dnn_softmax_supports, FLOATS, 0},
  {"log_softmax", mx_dnn_log_softmax_fwd, mx_dnn_log_softmax_bwd, mx_dnn_log_softmax_supports,
   FLOATS, 0},
  {NULL, NULL, NULL, NULL, 0, 0},
};
