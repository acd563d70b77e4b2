# Callbacks driven by a fake training environment.

# A metric whose batch value is the prediction itself, and an env holding
# a train and an eval state with the given values.
value_metric <- mx.metric.custom("score", function(label, pred) pred)
fake_env <- function(train = NULL, eval = NULL) {
  env <- new.env()
  env$metric <- value_metric
  if (!is.null(train)) env$train.metric <- value_metric$update(NULL, train, value_metric$init())
  if (!is.null(eval)) env$eval.metric <- value_metric$update(NULL, eval, value_metric$init())
  env
}

test_that("mx.metric.logger is a reference class generator with train/eval fields", {
  lg <- mx.metric.logger$new()
  expect_s4_class(lg, "mx.metric.logger")
  expect_identical(lg$train, numeric(0))
  expect_identical(lg$eval, numeric(0))
  lg2 <- lg
  lg2$train <- 1
  expect_equal(lg$train, 1)          # reference semantics
})

test_that("log.train.metric reports every period batches and fills the logger", {
  lg <- mx.metric.logger$new()
  cb <- mx.callback.log.train.metric(5, lg)
  env <- fake_env(train = 0.75, eval = 0.5)
  expect_silent(expect_true(cb(1, 3, env)))
  expect_length(lg$train, 0)
  expect_message(expect_message(expect_true(cb(1, 5, env)), "Batch \\[5\\] Train-score=0.75"),
                 "Batch \\[5\\] Validation-score=0.5")
  expect_equal(lg$train, 0.75)
  expect_equal(lg$eval, 0.5)
  # epoch end (nbatch 0): records, prints nothing
  expect_silent(cb(1, 0, env))
  expect_equal(lg$train, c(0.75, 0.75))
  # verbose = FALSE silences the messages
  expect_silent(cb(1, 10, env, verbose = FALSE))
  expect_equal(length(lg$train), 3)
  # without a logger it only reports
  cb2 <- mx.callback.log.train.metric(1)
  expect_message(expect_message(cb2(2, 1, fake_env(train = 0.1, eval = 0.2)), "Train-score=0.1"),
                 "Validation-score=0.2")
  expect_error(mx.callback.log.train.metric(1, logger = list()), "logger")
})

test_that("speedometer reports samples/sec and the train metric every frequency batches", {
  cb <- mx.callback.log.speedometer(batch.size = 100, frequency = 2)
  env <- fake_env(train = 0.9)
  expect_silent(cb(1, 1, env))                 # starts the clock
  Sys.sleep(0.05)
  expect_message(cb(1, 2, env), "Batch \\[2\\] Speed: [0-9.e+]+ samples/sec Train-score=0.9")
  expect_silent(cb(1, 3, env))
  expect_silent(cb(1, 4, env, verbose = FALSE))
  # a new epoch restarts the clock instead of reporting
  expect_silent(cb(2, 1, env))
  Sys.sleep(0.02)
  msgs <- character(0)
  withCallingHandlers(cb(2, 2, env), message = function(m) {
    msgs <<- c(msgs, conditionMessage(m))
    invokeRestart("muffleMessage")
  })
  expect_length(msgs, 1L)
  speed <- as.numeric(sub(".*Speed: ([^ ]+) samples.*", "\\1", msgs))
  expect_true(is.finite(speed) && speed > 0)
  # the Python-style name is the same callback
  sp <- mx.callback.Speedometer(32, 1)
  expect_silent(sp(1, 1, env))
  expect_message(sp(1, 2, env), "samples/sec")
  expect_true(sp(1, 3, env, verbose = FALSE))
})

test_that("save.checkpoint calls mx.model.save every period epochs", {
  calls <- list()
  local_save <- function(model, prefix, iteration) {
    calls[[length(calls) + 1]] <<- list(model = model, prefix = prefix, iteration = iteration)
    invisible(TRUE)
  }
  cb <- mx.callback.save.checkpoint("/tmp/ckpt", period = 2)
  # give the callback a mx.model.save to find (the real one belongs to the model code)
  environment(cb) <- list2env(list(mx.model.save = local_save), parent = environment(cb))
  env <- fake_env()
  env$model <- "the model"
  expect_true(cb(1, 0, env))
  expect_length(calls, 0)
  expect_message(expect_true(cb(2, 0, env)), "ckpt-0002.params")
  expect_length(calls, 1)
  expect_equal(calls[[1]], list(model = "the model", prefix = "/tmp/ckpt", iteration = 2))
  expect_silent(cb(4, 0, env, verbose = FALSE))
  expect_length(calls, 2)
})

run_early_stop <- function(cb, evals, trains = NULL) {
  for (it in seq_along(evals)) {
    env <- fake_env(train = if (is.null(trains)) NULL else trains[it], eval = evals[it])
    if (!cb(it, 0, env)) return(it)
  }
  NA
}

test_that("early stop after bad.steps epochs without improvement (minimise)", {
  cb <- mx.callback.early.stop(bad.steps = 2)
  expect_equal(run_early_stop(cb, c(1.0, 0.8, 0.9, 0.7, 0.75, 0.71, 0.6)), 6)
  cb <- mx.callback.early.stop(bad.steps = 1)
  expect_equal(run_early_stop(cb, c(1.0, 0.8, 0.8)), 3)     # a tie is no improvement
  cb <- mx.callback.early.stop(bad.steps = 3)
  expect_true(is.na(run_early_stop(cb, c(5, 4, 3, 2, 1))))
  # a new run (epoch 1 again) forgets the old best
  cb <- mx.callback.early.stop(bad.steps = 1)
  expect_true(is.na(run_early_stop(cb, c(0.1, 0.05))))
  expect_true(is.na(run_early_stop(cb, c(0.9, 0.8))))
})

test_that("early stop with maximize = TRUE treats larger values as better", {
  cb <- mx.callback.early.stop(bad.steps = 2, maximize = TRUE)
  expect_equal(run_early_stop(cb, c(0.5, 0.6, 0.55, 0.7, 0.65, 0.69, 0.9)), 6)
  cb <- mx.callback.early.stop(bad.steps = 1, maximize = TRUE)
  expect_true(is.na(run_early_stop(cb, c(0.1, 0.2, 0.3, 0.4))))
  # negative scores work (the best starts unset, not at 0)
  cb <- mx.callback.early.stop(bad.steps = 1, maximize = TRUE)
  expect_true(is.na(run_early_stop(cb, c(-3, -2, -1))))
  expect_equal(run_early_stop(cb, c(-3, -4)), 2)
})

test_that("early stop on thresholds of the train and eval metrics", {
  # minimise: stop once the value falls below the threshold
  cb <- mx.callback.early.stop(train.metric = 0.2)
  expect_equal(run_early_stop(cb, evals = c(9, 9, 9, 9), trains = c(0.5, 0.3, 0.1, 0.05)), 3)
  cb <- mx.callback.early.stop(eval.metric = 0.3)
  expect_equal(run_early_stop(cb, evals = c(0.5, 0.35, 0.25)), 3)
  # maximise: stop once the value exceeds the threshold
  cb <- mx.callback.early.stop(train.metric = 0.9, maximize = TRUE)
  expect_equal(run_early_stop(cb, evals = c(0, 0, 0), trains = c(0.5, 0.95, 0.99)), 2)
  cb <- mx.callback.early.stop(eval.metric = 0.8, maximize = TRUE)
  expect_true(is.na(run_early_stop(cb, evals = c(0.1, 0.5, 0.8))))
  # without an eval metric in env only the train rule applies
  cb <- mx.callback.early.stop(eval.metric = 0.8, bad.steps = 1)
  expect_true(cb(1, 0, fake_env(train = 0.1)))
  expect_true(cb(2, 0, fake_env(train = 0.1)))
})

test_that("early stop explains itself only when verbose", {
  cb <- mx.callback.early.stop(bad.steps = 1, verbose = TRUE)
  expect_true(cb(1, 0, fake_env(eval = 0.5)))
  expect_message(expect_false(cb(2, 0, fake_env(eval = 0.6))), "Best score=0.5, iteration \\[1\\]")
  cb <- mx.callback.early.stop(bad.steps = 1)
  expect_true(cb(1, 0, fake_env(eval = 0.5)))
  expect_silent(expect_false(cb(2, 0, fake_env(eval = 0.6))))
})

# mx.callback.early.stopping (R/history.R): keras-style patience, min.delta
# and the best weights. A history-like env for unit checks:
hist_env <- function(values, metric = "accuracy") {
  env <- new.env()
  h <- data.frame(epoch = seq_along(values), train = NA_real_, validation = values, lr = 0.1, time = 0)
  attr(h, "metric") <- metric
  env$history <- h
  env$model <- length(values)          # stands for that epoch's weights
  env
}
run_stopping <- function(cb, values, metric = "accuracy") {
  restored <- NULL
  for (i in seq_along(values)) {
    env <- hist_env(values[seq_len(i)], metric)
    env$restore.model <- restored
    go <- cb(i, 0L, env)
    restored <- env$restore.model
    if (!go) return(list(stop = i, best = restored))
  }
  list(stop = NA, best = restored)
}

test_that("early stopping waits 'patience' epochs without improvement", {
  r <- run_stopping(mx.callback.early.stopping(patience = 2), c(0.5, 0.7, 0.6, 0.65, 0.9))
  expect_identical(r$stop, 4L)
  expect_identical(r$best, 2L)
  r <- run_stopping(mx.callback.early.stopping(patience = 3), c(0.5, 0.7, 0.6, 0.65, 0.9))
  expect_true(is.na(r$stop))
  expect_identical(r$best, 5L)
  # a loss (name not accuracy-like): smaller is better
  r <- run_stopping(mx.callback.early.stopping(patience = 1), c(3, 2, 2.5), metric = "rmse")
  expect_identical(r$stop, 3L)
  expect_identical(r$best, 2L)
  r <- run_stopping(mx.callback.early.stopping(patience = 1, maximize = TRUE), c(3, 2, 2.5), metric = "rmse")
  expect_identical(r$stop, 2L)
})

test_that("min.delta: smaller gains do not count as improvement", {
  v <- c(0.50, 0.505, 0.509, 0.52)
  expect_identical(run_stopping(mx.callback.early.stopping(patience = 2, min.delta = 0.01), v)$stop, 3L)
  expect_true(is.na(run_stopping(mx.callback.early.stopping(patience = 2), v)$stop))
})

test_that("early stopping checks its arguments and says what it lacks", {
  expect_error(mx.callback.early.stopping(patience = 0), "patience")
  expect_error(mx.callback.early.stopping(min.delta = -1), class = "mxnet_value_error")
  cb <- mx.callback.early.stopping()
  env <- hist_env(NA_real_)
  expect_error(cb(1, 0, env), "eval.data", class = "mxnet_value_error")
  expect_error(cb(1, 0, new.env()), "history", class = "mxnet_value_error")
  cb <- mx.callback.early.stopping(patience = 1, verbose = TRUE)
  cb(1, 0, hist_env(0.5))
  expect_message(cb(2, 0, hist_env(c(0.5, 0.4))), "Early stopping at epoch 2: best validation accuracy=0.5 at epoch 1")
})

test_that("training stops early and returns the best epoch's weights", {
  set.seed(9)
  x <- matrix(rnorm(80), 2)
  y <- as.numeric(x[1, ] > 0)
  # the metric's values per call: odd calls are the (single) training batch,
  # even ones the validation pass; validation peaks at epoch 2
  vals <- c(0, 0.5, 0, 0.7, 0, 0.6, 0, 0.65, 0, 0.9, 0, 0.95)
  k <- 0
  metric <- mx.metric.custom("score", function(label, pred) { k <<- k + 1; vals[k] })
  stopper <- mx.callback.early.stopping(patience = 2, maximize = TRUE)
  weights <- list()
  cb <- function(iteration, nbatch, env, verbose) {
    weights[[iteration]] <<- as.array(env$model$arg.params[[1]])
    stopper(iteration, nbatch, env, verbose)
  }
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2),
                                 name = "softmax")
  m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 6, array.batch.size = 40,
                                   learning.rate = 0.5, eval.data = list(data = x, label = y),
                                   eval.metric = metric, epoch.end.callback = cb, verbose = FALSE,
                                   array.layout = "colmajor")
  expect_identical(nrow(m$history), 4L)
  expect_identical(attr(m$history, "best.epoch"), 2L)
  expect_equal(m$history$validation, c(0.5, 0.7, 0.6, 0.65))
  expect_identical(as.array(m$arg.params[[1]]), weights[[2]])
  expect_false(identical(weights[[2]], weights[[4]]))
  # MXNet's callback keeps its behaviour: no restoring, the last weights
  k <- 0
  weights <- list()
  stopper <- mx.callback.early.stop(bad.steps = 2, maximize = TRUE)
  m2 <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 6, array.batch.size = 40,
                                    learning.rate = 0.5, eval.data = list(data = x, label = y),
                                    eval.metric = metric, epoch.end.callback = cb, verbose = FALSE,
                                    array.layout = "colmajor")
  expect_identical(nrow(m2$history), 4L)
  expect_identical(as.array(m2$arg.params[[1]]), weights[[4]])
})
