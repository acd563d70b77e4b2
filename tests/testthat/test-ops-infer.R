# Op-level shape inference seen through symbols.

test_that("K6: element-wise ops fill an unknown input's shape from the other input", {
  a <- mx.symbol.Variable("a")
  b <- mx.symbol.Variable("b")
  for (s in list(a - b, a + b, a * b, a / b)) {
    sh <- mx.symbol.infer.shape(s, a = c(3, 4))
    expect_false(is.null(sh))
    expect_equal(sh$arg.shapes$b, c(3L, 4L))
    expect_equal(sh$out.shapes[[1]], c(3L, 4L))
  }
  expect_error(mx.symbol.infer.shape(a - b, a = c(3, 4), b = c(4, 3)), "differ")
})

test_that("K6: predict() on MakeLoss(square(Reshape(fc, shape = 0) - label)) (CustomLossFunction)", {
  set.seed(1)
  X <- matrix(rnorm(13 * 40), 40, 13)
  y <- rnorm(40)
  data <- mx.symbol.Variable("data")
  label <- mx.symbol.Variable("label")
  fc <- mx.symbol.FullyConnected(data, num_hidden = 1, name = "fc")
  loss <- mx.symbol.MakeLoss(mx.symbol.square(mx.symbol.Reshape(fc, shape = 0) - label))
  sh <- mx.symbol.infer.shape(loss, data = c(13, 20))
  expect_equal(sh$arg.shapes$label, 20L)
  mx.set.seed(0)
  m <- mx.model.FeedForward.create(loss, X = X, y = y, num.round = 1, array.batch.size = 20,
                                   learning.rate = 0.01, array.layout = "rowmajor", verbose = FALSE)
  p <- predict(m, X[1:7, ], array.layout = "rowmajor")
  expect_equal(length(p), 7L)
  expect_true(all(is.finite(p)))
})
