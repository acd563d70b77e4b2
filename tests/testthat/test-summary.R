# summary()/print()/str() of symbols and models (R/summary.R).

mlp_sym <- function() {
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(
    mx.symbol.Activation(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 16, name = "fc1"),
                         act_type = "relu", name = "relu1"), num_hidden = 3, name = "fc2"), name = "softmax")
}

test_that("a symbol's table has every op with its output shape and parameters", {
  s <- summary(mlp_sym(), shape = 8)
  expect_s3_class(s, "mx.summary")
  expect_identical(s$layer, c("fc1", "relu1", "fc2", "softmax"))
  expect_identical(s$op, c("FullyConnected", "Activation", "FullyConnected", "SoftmaxOutput"))
  expect_identical(s$output.shape, c("(16, batch)", "(16, batch)", "(3, batch)", "(3, batch)"))
  expect_equal(s$params, c(8 * 16 + 16, 0, 16 * 3 + 3, 0))
  expect_equal(attr(s, "total"), 195)
  expect_null(attr(s, "memory"))
  out <- capture.output(print(s))
  expect_true(any(grepl("^Total params: 195$", out)))
  expect_true(any(grepl("^ fc1 +FullyConnected +\\(16, batch\\) +144", out)))
})

test_that("auxiliary states count as non-trainable; convolution shapes are R order", {
  net <- mx.symbol.BatchNorm(mx.symbol.Convolution(mx.symbol.Variable("data"), kernel = c(3, 3),
                                                   num_filter = 4, name = "conv"), name = "bn")
  s <- summary(net, shape = c(8, 8, 1))
  expect_identical(s$output.shape, c("(6, 6, 4, batch)", "(6, 6, 4, batch)"))
  expect_equal(s$params, c(3 * 3 * 1 * 4 + 4, 4 * 4))
  expect_equal(c(attr(s, "trainable"), attr(s, "non.trainable")), c(48, 8))
})

test_that("planned memory for a batch is the executor's planned bytes", {
  net <- mlp_sym()
  s <- summary(net, shape = list(data = c(8, 1)), batch.size = 32)
  m <- attr(s, "memory")
  ex <- mx.simple.bind(net, ctx = mx.cpu(), grad.req = "null", data = c(8, 32))
  expect_equal(m[["inference"]], mx.exec.memory(ex)[["planned_bytes"]])
  ex2 <- mx.simple.bind(net, ctx = mx.cpu(), grad.req = "write", data = c(8, 32))
  expect_equal(m[["training"]], mx.exec.memory(ex2)[["planned_bytes"]])
  expect_output(print(s), "Planned memory for a batch of 32")
  expect_error(summary(net, shape = 8, batch.size = 1.5), "whole number")
})

test_that("without shapes, a symbol's table still lists the ops", {
  s <- summary(mlp_sym())
  expect_identical(s$output.shape, rep("?", 4))
  expect_error(summary(mlp_sym(), shape = "a"), class = "mxnet_value_error")
})

test_that("a trained model prints its table from its own parameters; str() is one line", {
  set.seed(4)
  x <- matrix(rnorm(100), 5)
  y <- as.numeric(x[1, ] > 0)
  m <- mx.model.FeedForward.create(mlp_sym(), X = x, y = y, num.round = 1, array.batch.size = 10,
                                   learning.rate = 0.1, verbose = FALSE, array.layout = "colmajor")
  s <- summary(m)
  expect_equal(s$params, c(5 * 16 + 16, 0, 51, 0))
  expect_equal(attr(s, "total"), sum(vapply(m$arg.params, length, 0)))
  out <- capture.output(print(m))
  expect_match(out[1], "MXFeedForwardModel")
  expect_true(any(grepl("^Total params: 147$", out)))
  expect_true(any(grepl("^Trained 1 epoch$", out)))
  expect_length(capture.output(str(m)), 1L)
  expect_identical(summary(mx.serialize(m))$params, s$params)
})
