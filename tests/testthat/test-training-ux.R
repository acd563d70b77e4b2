# Training conveniences: the progress bar's text, interrupting training,
# checkpoints that keep the last k and the best, validation.split and the
# layout message.

ux_data <- function(n = 200) {
  set.seed(5)
  x <- matrix(rnorm(2 * n), 2)
  list(x = x, y = as.numeric(x[1, ] + 0.5 * x[2, ] > 0))
}
ux_net <- function()
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2),
                          name = "softmax")
ux_fit <- function(..., verbose = FALSE) {
  d <- ux_data()
  mx.model.FeedForward.create(ux_net(), X = d$x, y = d$y, array.batch.size = 20, learning.rate = 0.2,
                              array.layout = "colmajor", eval.metric = mx.metric.accuracy,
                              verbose = verbose, ...)
}
collect_messages <- function(expr) {
  msgs <- character(0)
  withCallingHandlers(expr, message = function(m) {
    msgs <<- c(msgs, conditionMessage(m))
    invokeRestart("muffleMessage")
  })
  msgs
}

test_that("the progress line shows the bar, speed, ETA and metric", {
  line <- mxnet:::progress.line(3, 5, 10, 2, 20, list(name = "accuracy", value = 0.8125), width = 10)
  # 5 of 10 batches: half the bar; 100 samples in 2 s; 2 s more for 5 batches
  expect_identical(line, "Epoch 3 [=====     ] 5/10 50 samples/s ETA 2s accuracy=0.8125")
  first <- mxnet:::progress.line(1, 7, NA, 0.5, 32)
  expect_identical(first, "Epoch 1 batch 7 448 samples/s")
  expect_identical(mxnet:::progress.secs(125), "2m05s")
  expect_identical(mxnet:::progress.secs(7260), "2h01m")
})

test_that("non-interactive verbose training logs lines and draws no bar", {
  expect_false(mxnet:::progress.wanted(TRUE))     # tests run non-interactively
  expect_false(mxnet:::progress.wanted(FALSE))
  msgs <- collect_messages(ux_fit(num.round = 2, verbose = TRUE))
  expect_length(grep("^\\[[12]\\] Train-accuracy=", msgs), 2L)
  expect_length(grep("Time cost", msgs), 2L)
  expect_false(any(grepl("^Epoch|samples/s", msgs)))
  expect_length(collect_messages(ux_fit(num.round = 2, verbose = FALSE)), 0L)
})

test_that("an interrupt from a callback returns the model trained so far with a warning", {
  seen <- NULL
  stop_at <- function(iteration, nbatch, env, verbose) {
    if (iteration == 2 && nbatch == 3) {
      seen <<- as.array(env$model$arg.params[[1L]])   # the model after epoch 1
      signalCondition(structure(class = c("interrupt", "condition"), list(message = "", call = NULL)))
    }
    TRUE
  }
  expect_warning(m <- ux_fit(num.round = 5, batch.end.callback = stop_at),
                 "interrupted in epoch 2 after batch 3")
  expect_s3_class(m, "MXFeedForwardModel")
  expect_identical(as.integer(m$history$epoch), 1L)   # only epoch 1 finished
  # three more updates happened in epoch 2: the weights moved on from epoch 1's
  expect_false(isTRUE(all.equal(as.array(m$arg.params[[1L]]), seen)))
  d <- ux_data()
  expect_identical(dim(predict(m, d$x, array.layout = "colmajor")), c(2L, 200L))
  # the engine's interrupted error is an interrupt condition too
  eng <- function(iteration, nbatch, env, verbose) {
    if (nbatch == 2) stop(structure(class = c("mxnet_interrupted_error", "mxnet_error", "interrupt", "condition"),
                                    list(message = "interrupted", call = NULL)))
    TRUE
  }
  expect_warning(m2 <- ux_fit(num.round = 3, batch.end.callback = eng), "epoch 1 after batch 2")
  expect_identical(nrow(m2$history), 0L)
})

test_that("a real SIGINT (R's own interrupt) during training returns the model", {
  skip_on_os("windows")
  ctrl_c <- function(iteration, nbatch, env, verbose) {
    if (iteration == 2 && nbatch == 4) {
      tools::pskill(Sys.getpid(), tools::SIGINT)
      Sys.sleep(0.5)                      # R notices the interrupt here
    }
    TRUE
  }
  expect_warning(m <- ux_fit(num.round = 4, batch.end.callback = ctrl_c), "epoch 2 after batch 4")
  expect_identical(as.integer(m$history$epoch), 1L)
})

test_that("save.checkpoint keeps the last k checkpoints and the best one", {
  dir <- tempfile("ckpt")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  prefix <- file.path(dir, "m")
  # a fixed validation sequence through a custom metric: best at epoch 2
  vals <- c(0.5, 0.9, 0.6, 0.7, 0.8, 0.65)
  cb <- mx.callback.save.checkpoint(prefix, keep = 2, save.best = "validation", maximize = TRUE)
  env <- new.env()
  m <- ux_fit(num.round = 1)
  env$model <- m
  for (it in seq_along(vals)) {
    env$history <- structure(data.frame(epoch = seq_len(it), train = NA, validation = vals[seq_len(it)]),
                             metric = "score")
    expect_true(cb(it, 0L, env, verbose = FALSE))
  }
  files <- sort(list.files(dir, "params$"))
  expect_identical(files, c("m-0002.params", "m-0005.params", "m-0006.params"))
  expect_identical(attr(cb, "state")$best, 2L)
  # the kept best loads back
  b <- mx.model.load(prefix, 2)
  expect_equal(as.array(b$arg.params[[1L]]), as.array(m$arg.params[[1L]]))
  # defaults keep every checkpoint (MXNet's behaviour), every `period` epochs
  all <- mx.callback.save.checkpoint(file.path(dir, "all"), period = 2)
  for (it in 1:6) all(it, 0L, env, verbose = FALSE)
  expect_identical(sort(list.files(dir, "^all-.*params$")), sprintf("all-%04d.params", c(2, 4, 6)))
  expect_error(mx.callback.save.checkpoint(prefix, keep = 0), "keep")
  env$history <- structure(data.frame(epoch = 1L, train = 0.5, validation = NA_real_), metric = "acc")
  expect_error(mx.callback.save.checkpoint(prefix, save.best = "validation")(1, 0, env), class = "mxnet_value_error")
})

test_that("validation.split holds out the last fraction as eval.data", {
  d <- ux_data()
  m <- ux_fit(num.round = 2, validation.split = 0.25)
  expect_false(anyNA(m$history$validation))
  # the same as passing the last 50 examples as eval.data and training on the rest
  set.seed(9)
  ref <- mx.model.FeedForward.create(ux_net(), X = d$x[, 1:150], y = d$y[1:150], array.batch.size = 20,
                                     learning.rate = 0.2, array.layout = "colmajor", num.round = 2,
                                     eval.data = list(data = d$x[, 151:200], label = d$y[151:200]),
                                     eval.metric = mx.metric.accuracy, verbose = FALSE)
  set.seed(9)
  m <- mx.model.FeedForward.create(ux_net(), X = d$x, y = d$y, array.batch.size = 20, learning.rate = 0.2,
                                   array.layout = "colmajor", num.round = 2, validation.split = 0.25,
                                   eval.metric = mx.metric.accuracy, verbose = FALSE)
  expect_equal(m$history$validation, ref$history$validation)
  expect_equal(as.array(m$arg.params[[1L]]), as.array(ref$arg.params[[1L]]))
  # row-major data frames split by rows
  df <- data.frame(a = d$x[1, ], b = d$x[2, ])
  set.seed(9)
  mdf <- mx.model.FeedForward.create(ux_net(), X = df, y = d$y, array.batch.size = 20, learning.rate = 0.2,
                                     num.round = 2, validation.split = 0.25,
                                     eval.metric = mx.metric.accuracy, verbose = FALSE)
  expect_equal(mdf$history$validation, ref$history$validation)
  expect_error(ux_fit(num.round = 1, validation.split = 1), class = "mxnet_value_error")
  expect_error(ux_fit(num.round = 1, validation.split = 0.2, eval.data = list(data = d$x, label = d$y)),
               "either eval.data or validation.split")
})

test_that("array.layout = \"auto\" says which layout it chose, only when verbose", {
  d <- ux_data()
  fit <- function(x, verbose)
    mx.model.FeedForward.create(ux_net(), X = x, y = d$y, array.batch.size = 20, num.round = 1,
                                learning.rate = 0.1, verbose = verbose)
  msgs <- collect_messages(fit(t(d$x), TRUE))
  expect_true(any(grepl("'X' is 200 x 2 with 200 labels, so it is read as \"rowmajor\"", msgs, fixed = TRUE)))
  msgs <- collect_messages(fit(d$x, TRUE))
  expect_true(any(grepl("read as \"colmajor\" (examples as columns)", msgs, fixed = TRUE)))
  expect_length(collect_messages(fit(d$x, FALSE)), 0L)
})

test_that("the bar object draws through 'progress' when it is installed", {
  skip_if_not_installed("progress")
  b <- mxnet:::progress.start(1, 4, 10)
  for (i in 1:4) expect_no_error(b$tick(i, list(name = "accuracy", value = i / 4)))
  expect_null(b$done())
})

test_that("?mxnet.options documents every option the package reads", {
  rd <- system.file("help", package = "mxnet")
  skip_if(!nzchar(rd), "mxnet's help is not installed")
  db <- tools::Rd_db("mxnet")
  page <- paste(as.character(db[["mxnet.options.Rd"]]), collapse = "")
  # the options read by the R code (the installed package's functions)
  ns <- asNamespace("mxnet")
  read <- unique(unlist(lapply(ls(ns, all.names = TRUE), function(f) {
    fn <- get(f, ns)
    if (!is.function(fn)) return(NULL)
    regmatches(paste(deparse(fn), collapse = ""),
               gregexpr("(?<=getOption\\(\")mxnet\\.[a-z.]+", paste(deparse(fn), collapse = ""), perl = TRUE))[[1L]]
  })))
  read <- c(read, "mxnet.threads")   # read by the C side (src/r/common-r.c)
  expect_true(length(read) >= 7L)
  for (o in read) expect_true(grepl(o, page, fixed = TRUE), info = o)
})
