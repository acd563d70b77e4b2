# Gradients of the element-wise binary and scalar ops vs finite differences.

test_that("broadcast and same-shape binary ops have correct gradients", {
  set.seed(5)
  pos <- function(d) array(runif(prod(d), 0.5, 2), d)
  any <- function(d) array(runif(prod(d), -2, 2), d)
  shapes <- list(list(c(3, 4), c(3, 4)), list(c(3, 4), 3), list(c(2, 3, 4), c(2, 1, 4)),
                 list(c(1, 4), c(3, 1)))
  for (sp in shapes) {
    for (op in c("broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_maximum",
                 "broadcast_minimum"))
      check_grad(op, list(any(sp[[1]]), any(sp[[2]])), label = paste(op, deparse(sp)))
    for (op in c("broadcast_div", "broadcast_power", "broadcast_hypot"))
      check_grad(op, list(pos(sp[[1]]), pos(sp[[2]])), label = paste(op, deparse(sp)))
  }
  for (op in c("elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_power",
               "_maximum", "_minimum"))
    check_grad(op, list(pos(c(2, 5)), pos(c(2, 5))))
  # comparisons: zero gradient
  g <- check_grad("broadcast_greater", list(any(c(3, 2)), any(c(3, 2))))
  expect_true(all(g[[1]] == 0) && all(g[[2]] == 0))
})

test_that("scalar ops have correct gradients (scalar on either side)", {
  set.seed(6)
  x <- array(runif(12, 0.5, 2), c(3, 4))
  for (op in c("_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar",
               "_div_scalar", "_rdiv_scalar", "_power_scalar", "_rpower_scalar",
               "_maximum_scalar", "_minimum_scalar", "_hypot_scalar"))
    check_grad(op, list(x), list(scalar = 1.3))
  g <- check_grad("_lesser_scalar", list(x), list(scalar = 1))
  expect_true(all(g[[1]] == 0))
})

test_that("the gradient machinery reports ops without gradients", {
  x <- mx.nd.array(1:3, dtype = "float64")
  expect_error(mxnet:::nd.forward.backward("one_hot", list(x), list(depth = 3), list(x)),
               "no gradient")
  expect_error(mxnet:::nd.forward.backward("broadcast_add", list(x, x), NULL, list(mx.nd.zeros(2))),
               "does not match")
})
