/* Filled in by its owner; the table ends with a zeroed record. */
#include "op.h"
const mx_op mx_ops_conv[] = {
  {NULL, {NULL}, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
