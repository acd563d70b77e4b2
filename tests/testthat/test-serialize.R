# saveRDS()/readRDS() of NDArrays, symbols and models (src/r/serialize-r.c).

small_model <- function() {
  set.seed(11)
  x <- matrix(rnorm(600), 3)
  y <- as.numeric(x[1, ] - x[3, ] > 0)
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(
    mx.symbol.Activation(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 4, name = "fc1"),
                         act_type = "relu"), num_hidden = 2, name = "fc2"), name = "softmax")
  m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 2, array.batch.size = 25,
                                   learning.rate = 0.1, verbose = FALSE)
  list(model = m, x = x)
}

test_that("NDArrays of every dtype keep values, shape and dtype through saveRDS", {
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  for (dt in c("float32", "float64", "int32", "uint8")) {
    v <- rand_array(c(3, 2, 4), dt)
    a <- mx.nd.array(v, dtype = dt)
    saveRDS(a, f)
    b <- readRDS(f)
    expect_identical(dim(b), c(3L, 2L, 4L))
    expect_identical(mx.nd.dtype(b), dt)
    expect_identical(as.array(b), as.array(a))
  }
})

test_that("a restored NDArray is a live array: arithmetic, writes, sharing kept", {
  a <- mx.nd.array(matrix(c(1, 2, 3, 4.5), 2))
  r <- unserialize(serialize(list(p = a, q = a, s = 7), NULL))
  expect_equal(as.array(r$p * 2), matrix(c(2, 4, 6, 9), 2))
  r$p[1, 1] <- 10
  expect_equal(as.array(r$q)[1, 1], 10)        # one array, as before saving
  expect_equal(as.array(a)[1, 1], 1)           # the original is untouched
  # a restored array saved again keeps its (new) values
  r2 <- unserialize(serialize(r$q, NULL))
  expect_equal(as.array(r2), matrix(c(10, 2, 3, 4.5), 2))
})

test_that("save()/load() keep NDArrays too", {
  e <- new.env()
  e$z <- mx.nd.array(c(2, 4, 8))
  g <- tempfile(fileext = ".RData")
  on.exit(unlink(g))
  save(list = "z", envir = e, file = g)
  e2 <- new.env()
  load(g, envir = e2)
  expect_equal(as.array(e2$z), c(2, 4, 8))
})

test_that("symbols survive saveRDS with their graph", {
  net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 3, name = "fc")
  s <- unserialize(serialize(net, NULL))
  expect_identical(arguments(s), c("data", "fc_weight", "fc_bias"))
  expect_identical(as.json(s), as.json(net))
  sh <- mx.symbol.infer.shape(s, data = c(5, 7))
  expect_identical(sh$out.shapes[[1]], c(3L, 7L))
})

test_that("a model restored with readRDS predicts identically", {
  s <- small_model()
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  saveRDS(s$model, f)
  m2 <- readRDS(f)
  expect_s3_class(m2, "MXFeedForwardModel")
  expect_identical(predict(m2, s$x, array.layout = "colmajor"), predict(s$model, s$x, array.layout = "colmajor"))
})

test_that("a model restored in a fresh R process predicts identically", {
  s <- small_model()
  d <- tempfile()
  dir.create(d)
  on.exit(unlink(d, recursive = TRUE))
  saveRDS(s$model, file.path(d, "m.rds"))
  saveRDS(s$x, file.path(d, "x.rds"))
  lib <- dirname(system.file(package = "mxnet"))
  # readRDS before library(): R loads mxnet to restore the arrays
  code <- sprintf(paste0(".libPaths(c(%s, .libPaths())); m <- readRDS(%s); ",
                         "library(mxnet); p <- predict(m, readRDS(%s), array.layout = 'colmajor'); ",
                         "saveRDS(p, %s)"),
                  deparse(lib), deparse(file.path(d, "m.rds")), deparse(file.path(d, "x.rds")),
                  deparse(file.path(d, "p.rds")))
  rc <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(code)), stdout = FALSE, stderr = FALSE)
  expect_identical(rc, 0L)
  expect_identical(readRDS(file.path(d, "p.rds")), predict(s$model, s$x, array.layout = "colmajor"))
})

test_that("format version 2 keeps no values and says so, never a crash", {
  a <- mx.nd.array(1:3)
  b <- unserialize(serialize(a, NULL, version = 2))
  expect_error(as.array(b), "no longer exists", class = "mxnet_value_error")
  expect_null(dim(b))
  net <- mx.symbol.Variable("data")
  s <- unserialize(serialize(net, NULL, version = 2))
  expect_error(arguments(s), "no longer exists", class = "mxnet_value_error")
})

test_that("corrupt saved bytes are a classed error, not a crash", {
  a <- mx.nd.array(1:4)
  r <- serialize(a, NULL)
  # the array's bytes sit near the end of the stream: damage its header magic
  b <- unserialize(r)
  p <- unclass(b)[[1]]
  expect_true(is.mx.ndarray(b))
  r2 <- r
  k <- length(r2) - 40L
  r2[k:(k + 3L)] <- as.raw(0xff)
  b2 <- tryCatch(unserialize(r2), error = function(e) NULL)
  if (!is.null(b2)) expect_error(as.array(b2), class = "mxnet_error")
  expect_equal(as.array(a), 1:4)
})

test_that("mx.serialize keeps what the model holds beside its parameters", {
  s <- small_model()
  m <- s$model
  m$history <- data.frame(epoch = 1:2, train = c(0.5, 0.7))
  u <- mx.unserialize(mx.serialize(m))
  expect_identical(u$history, m$history)
  expect_identical(predict(u, s$x, array.layout = "colmajor"), predict(m, s$x, array.layout = "colmajor"))
})
