# Training history (model$history), plot() and ggplot2::autoplot().

history_fit <- function(verbose = FALSE, ...) {
  set.seed(21)
  x <- matrix(rnorm(600), 2)
  y <- as.numeric(x[1, ] + 0.5 * x[2, ] > 0)
  xv <- matrix(rnorm(180), 2)   # 90: whole batches (MXNet metrics average the batch values)
  yv <- as.numeric(xv[1, ] + 0.5 * xv[2, ] > 0)
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2),
                                 name = "softmax")
  m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 4, array.batch.size = 30,
                                   learning.rate = 0.2, eval.data = list(data = xv, label = yv),
                                   eval.metric = mx.metric.accuracy, verbose = verbose,
                                   array.layout = "colmajor", ...)
  list(model = m, xv = xv, yv = yv)
}

test_that("the history has one row per epoch with the logged metrics", {
  msgs <- character(0)
  f <- withCallingHandlers(history_fit(verbose = TRUE),
                           message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") })
  h <- f$model$history
  expect_s3_class(h, "mx.history")
  expect_identical(names(h), c("epoch", "train", "validation", "lr", "time"))
  expect_identical(as.integer(h$epoch), 1:4)
  expect_identical(attr(h, "metric"), "accuracy")
  logged <- function(what) as.numeric(sub(".*=", "", grep(what, msgs, value = TRUE)))
  expect_equal(h$train, logged("Train-accuracy"), tolerance = 1e-5)
  expect_equal(h$validation, logged("Validation-accuracy"), tolerance = 1e-5)
  expect_true(all(h$time >= 0))
  expect_equal(h$lr, rep(0.2, 4))
})

test_that("the last validation value is the final model's accuracy", {
  f <- history_fit()
  p <- predict(f$model, f$xv, array.layout = "colmajor")
  expect_equal(tail(f$model$history$validation, 1), mean(max.col(t(p)) - 1 == f$yv), tolerance = 1e-6)
})

test_that("the history records the learning rate a scheduler sets", {
  f <- history_fit(lr_scheduler = mx.lr_scheduler.FactorScheduler(step = 10, factor_val = 0.5, verbose = FALSE))
  # 300 examples / 30 = 10 updates per epoch: the rate halves after each epoch
  expect_equal(f$model$history$lr, 0.2 * 0.5^(0:3), tolerance = 1e-6)
})

test_that("no metric, no epochs: the history says so", {
  set.seed(1)
  x <- matrix(rnorm(40), 2)
  net <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 1),
                                          name = "lro")
  m <- mx.model.FeedForward.create(net, X = x, y = x[1, ], num.round = 2, array.batch.size = 10,
                                   learning.rate = 0.01, verbose = FALSE, array.layout = "colmajor")
  expect_true(all(is.na(m$history$train)))
  expect_identical(nrow(m$history), 2L)
  expect_error(plot(m), "no metric", class = "mxnet_value_error")
  m0 <- mx.model.FeedForward.create(net, X = x, y = x[1, ], num.round = 0, verbose = FALSE,
                                    array.layout = "colmajor")
  expect_identical(nrow(m0$history), 0L)
  m0$history <- NULL
  expect_error(plot(m0), "no training history", class = "mxnet_value_error")
})

test_that("callbacks see the history so far", {
  seen <- integer(0)
  cb <- function(iteration, nbatch, env, verbose) { seen <<- c(seen, nrow(env$history)); TRUE }
  history_fit(epoch.end.callback = cb)
  expect_identical(seen, 1:4)
})

test_that("plot() draws the curves over the epochs", {
  f <- history_fit()
  pdf(NULL)
  on.exit(dev.off())
  expect_identical(plot(f$model), f$model$history)
  usr <- par("usr")
  h <- f$model$history
  expect_true(usr[1] <= 1 && usr[2] >= 4)
  rng <- range(c(h$train, h$validation))
  expect_true(usr[3] <= rng[1] && usr[4] >= rng[2])
})

test_that("ggplot2::autoplot draws the same values", {
  skip_if_not_installed("ggplot2")
  f <- history_fit()
  p <- ggplot2::autoplot(f$model)
  expect_s3_class(p, "ggplot")
  h <- f$model$history
  expect_equal(p$data$value, c(h$train, h$validation))
  expect_identical(levels(p$data$set), c("train", "validation"))
  expect_identical(p$labels$y, "accuracy")
})
