#include "op.h"
const mx_op mx_ops_random[] = {
  {NULL, {NULL}, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
