# mx.model.FeedForward.create, predict, checkpoints, serialisation, errors.

two_class_data <- function(n = 300, seed = 1) {
  set.seed(seed)
  x <- matrix(rnorm(2 * n), 2)
  list(x = x, y = as.numeric(x[1, ] + 0.5 * x[2, ] > 0))
}

small_net <- function() {
  h <- mx.symbol.Activation(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 8, name = "fc1"),
                            act_type = "tanh", name = "t1")
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(h, num_hidden = 2, name = "fc2"), name = "softmax")
}

test_that("FeedForward.create learns a separable problem; predict has MXNet's layout", {
  d <- two_class_data()
  set.seed(10)
  m <- mx.model.FeedForward.create(small_net(), X = d$x, y = d$y, num.round = 8,
                                   array.batch.size = 30, learning.rate = 0.2, momentum = 0.9,
                                   eval.metric = mx.metric.accuracy, array.layout = "colmajor",
                                   verbose = FALSE)
  expect_s3_class(m, "MXFeedForwardModel")
  expect_identical(sort(names(m$arg.params)), sort(c("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias")))
  p <- predict(m, d$x, array.layout = "colmajor")
  expect_identical(dim(p), c(2L, 300L))
  expect_equal(colSums(p), rep(1, 300), tolerance = 1e-5)
  expect_gt(mean(max.col(t(p)) - 1 == d$y), 0.95)
  # row-major input gives the same predictions
  expect_identical(predict(m, t(d$x), array.layout = "rowmajor"), p)
  expect_output(print(m), "MXFeedForwardModel")
})

test_that("set.seed makes training reproducible", {
  d <- two_class_data(120)
  fit <- function() {
    set.seed(3)
    m <- mx.model.FeedForward.create(small_net(), X = d$x, y = d$y, num.round = 2,
                                     array.batch.size = 40, learning.rate = 0.1,
                                     array.layout = "colmajor", verbose = FALSE)
    as.array(m$arg.params$fc1_weight)
  }
  expect_identical(fit(), fit())
})

test_that("checkpoints save and load with identical predictions; serialize round trips", {
  d <- two_class_data(100)
  set.seed(2)
  m <- mx.model.FeedForward.create(small_net(), X = d$x, y = d$y, num.round = 2,
                                   array.batch.size = 25, learning.rate = 0.1,
                                   array.layout = "colmajor", verbose = FALSE)
  prefix <- file.path(tempdir(), "ckpt-test")
  mx.model.save(m, prefix, 7)
  expect_true(file.exists(paste0(prefix, "-symbol.json")))
  expect_true(file.exists(paste0(prefix, "-0007.params")))
  keys <- names(mx.nd.load(paste0(prefix, "-0007.params")))
  expect_true(all(c("arg:fc1_weight", "arg:fc2_bias") %in% keys))
  m2 <- mx.model.load(prefix, 7)
  p1 <- predict(m, d$x, array.layout = "colmajor")
  expect_identical(predict(m2, d$x, array.layout = "colmajor"), p1)
  s <- mx.serialize(m)
  f <- tempfile(fileext = ".rds")
  saveRDS(s, f)
  m3 <- mx.unserialize(readRDS(f))
  expect_identical(predict(m3, d$x, array.layout = "colmajor"), p1)
  # checkpoint callback writes every period
  cb.prefix <- file.path(tempdir(), "cb")
  set.seed(2)
  mx.model.FeedForward.create(small_net(), X = d$x, y = d$y, num.round = 2, array.batch.size = 25,
                              learning.rate = 0.1, array.layout = "colmajor", verbose = FALSE,
                              epoch.end.callback = mx.callback.save.checkpoint(cb.prefix))
  expect_true(file.exists(paste0(cb.prefix, "-0002.params")))
})

test_that("a BatchNorm network trains and keeps its auxiliary states", {
  set.seed(4)
  x <- array(rnorm(8 * 8 * 3 * 40), c(8, 8, 3, 40))
  y <- as.numeric(apply(x[, , 1, ], 3, mean) > 0)
  m <- mx.model.FeedForward.create(bn_concat_net(), X = x, y = y, num.round = 2,
                                   array.batch.size = 20, learning.rate = 0.05, verbose = FALSE)
  expect_identical(sort(names(m$aux.params)),
                   sort(c("bn1_moving_mean", "bn1_moving_var", "bn2_moving_mean", "bn2_moving_var")))
  expect_false(all(as.array(m$aux.params$bn1_moving_mean) == 0))   # updated by training
  expect_identical(dim(predict(m, x)), c(3L, 40L))
  # prediction runs on the model's own auxiliary states and leaves them as they were
  ex <- mxnet:::exec.simple.bind(m$symbol, mx.cpu(), "null", NULL, list(data = c(8, 8, 3, 20)),
                                  share = c(m$arg.params, m$aux.params))
  for (n in names(m$aux.params)) expect_true(identical(ex$ref.aux.arrays[[n]], m$aux.params[[n]]), info = n)
  mv <- as.array(m$aux.params$bn1_moving_var)
  p1 <- predict(m, x)
  expect_identical(as.array(m$aux.params$bn1_moving_var), mv)
  expect_equal(predict(m, x), p1)
})

test_that("several contexts split the batch and agree with one", {
  d <- two_class_data(80)
  fit <- function(ctx) {
    set.seed(5)
    m <- mx.model.FeedForward.create(small_net(), X = d$x, y = d$y, ctx = ctx, num.round = 2,
                                     array.batch.size = 20, learning.rate = 0.1,
                                     array.layout = "colmajor", verbose = FALSE)
    as.array(m$arg.params$fc2_weight)
  }
  expect_equal(fit(list(mx.cpu(), mx.cpu())), fit(mx.cpu()), tolerance = 1e-5)
})

test_that("mx.mlp builds and trains", {
  d <- two_class_data(200)
  set.seed(6)
  m <- mx.mlp(t(d$x), d$y, hidden_node = c(6, 4), out_node = 2, num.round = 5, array.batch.size = 20,
              learning.rate = 0.2, momentum = 0.9, array.layout = "rowmajor", verbose = FALSE,
              initializer = mx.init.Xavier())
  expect_identical(sort(names(m$arg.params)),
                   sort(paste0("fc", rep(1:3, each = 2), c("_weight", "_bias"))))
  expect_gt(mean(max.col(t(predict(m, t(d$x), array.layout = "rowmajor"))) - 1 == d$y), 0.8)
})

test_that("bad training input gives clear errors", {
  d <- two_class_data(50)
  net <- small_net()
  expect_error(mx.model.FeedForward.create(net, X = d$x, y = d$y[-1], array.layout = "colmajor",
                                           verbose = FALSE), "labels")
  x <- d$x
  x[1, 3] <- NA
  expect_error(mx.model.FeedForward.create(net, X = x, y = d$y, array.layout = "colmajor", verbose = FALSE), "NA")
  expect_error(mx.model.FeedForward.create(net, X = d$x, y = d$y + 5, array.layout = "colmajor",
                                           num.round = 1, verbose = FALSE), "label")
  expect_error(mx.model.FeedForward.create(net, X = "a", y = d$y, verbose = FALSE), "X")
  expect_error(mx.model.FeedForward.create(net, X = d$x, y = d$y, ctx = "cpu", verbose = FALSE), "ctx")
  expect_error(mx.model.FeedForward.create(net, X = d$x, y = d$y, array.layout = "colmajor", verbose = FALSE,
                                           arg.params = list(nosuch = mx.nd.zeros(1)),
                                           aux.params = list()), "nosuch")
  sq <- matrix(0, 50, 50)
  expect_error(mx.model.FeedForward.create(net, X = sq, y = d$y, verbose = FALSE), "layout")
})

test_that("predict finds the layout of matrix input from the model", {
  d <- two_class_data(60)
  set.seed(1)
  m <- mx.model.FeedForward.create(small_net(), X = d$x, y = d$y, num.round = 1, array.batch.size = 20,
                                   learning.rate = 0.1, array.layout = "colmajor", verbose = FALSE)
  expect_identical(predict(m, d$x), predict(m, d$x, array.layout = "colmajor"))
  expect_identical(predict(m, t(d$x)), predict(m, d$x, array.layout = "colmajor"))
  expect_error(predict(m, matrix(0, 3, 5)), "fits")
})

test_that("W3: two layers with the same name are an error, not a model with unfilled weights", {
  set.seed(1)
  X <- matrix(rnorm(60), 3)
  y <- rep(0:2, length.out = 20)
  fc <- mx.symbol.FullyConnected(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 3,
                                                          name = "fc"), num_hidden = 3, name = "fc")
  expect_error(mx.model.FeedForward.create(mx.symbol.SoftmaxOutput(fc), X = X, y = y, num.round = 2,
                                           array.batch.size = 10, learning.rate = 0.5,
                                           array.layout = "colmajor", verbose = FALSE),
               "duplicated argument name 'fc_(weight|bias)'")
})

test_that("predict runs on the model's own weights, not a copy of them", {
  d <- two_class_data(60)
  set.seed(7)
  m <- mx.model.FeedForward.create(small_net(), X = d$x, y = d$y, num.round = 1, array.batch.size = 20,
                                   learning.rate = 0.1, array.layout = "colmajor", verbose = FALSE)
  p <- predict(m, d$x, array.layout = "colmajor")
  ex <- mxnet:::exec.simple.bind(m$symbol, mx.cpu(), "null", NULL, list(data = c(2, 20)),
                                  share = c(m$arg.params, m$aux.params))
  for (n in names(m$arg.params)) expect_true(identical(ex$ref.arg.arrays[[n]], m$arg.params[[n]]), info = n)
  expect_false(any(vapply(ex$ref.arg.arrays[c("data", "softmax_label")], identical, TRUE, m$arg.params[[1]])))
  # a float64 weight is not shared: predict converts it, the model keeps it
  m64 <- m
  m64$arg.params$fc2_weight <- mx.nd.copyto(m$arg.params$fc2_weight, mx.cpu(), "float64")
  ex64 <- mxnet:::exec.simple.bind(m64$symbol, mx.cpu(), "null", NULL, list(data = c(2, 20)),
                                  share = c(m64$arg.params, m64$aux.params))
  expect_false(identical(ex64$ref.arg.arrays$fc2_weight, m64$arg.params$fc2_weight))
  expect_equal(predict(m64, d$x, array.layout = "colmajor"), p, tolerance = 1e-6)
  expect_identical(mx.nd.dtype(m64$arg.params$fc2_weight), "float64")
  # predicting leaves the weights as they were
  w <- as.array(m$arg.params$fc1_weight)
  invisible(predict(m, d$x, array.layout = "colmajor"))
  expect_identical(as.array(m$arg.params$fc1_weight), w)
})

