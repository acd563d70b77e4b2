# Op parameters and dtypes that MXNet 1.9.1 scripts use.

test_that("K15: Reshape accepts the deprecated target_shape (and keep_highest)", {
  x <- mx.nd.array(array(1:24, c(4, 6)))
  expect_equal(as.array(mx.nd.Reshape(x, target_shape = c(12, 2))), array(1:24, c(12, 2)))
  expect_equal(dim(mx.nd.Reshape(x, target_shape = c(0, 3))), c(8L, 3L))
  expect_equal(dim(mx.nd.Reshape(x, target_shape = c(2, 2, 1), keep_highest = TRUE)), c(2L, 2L, 6L))
  d <- mx.symbol.Variable("d")
  sh <- mx.symbol.infer.shape(mx.symbol.Reshape(d, target_shape = c(12, 2)), d = c(4, 6))
  expect_equal(sh$out.shapes[[1]], c(12L, 2L))
  sh <- mx.symbol.infer.shape(mx.symbol.Reshape(data = d, target_shape = c(0)), d = c(4, 6))
  expect_equal(sh$out.shapes[[1]], 24L)
  expect_error(mx.nd.Reshape(x, shape = 24, target_shape = 24), "cannot be used together")
  expect_error(mx.nd.Reshape(x, target_shape = c(5, 5)), "target_shape")
  expect_error(mx.nd.Reshape(x), "shape")
})
