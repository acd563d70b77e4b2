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
