# mx.io.LibSVMIter (src/io/libsvm.c, R/libsvm.R): dense batches of LibSVM files.

# An R reference reader of LibSVM lines.
ref_libsvm <- function(lines, width) {
  lines <- lines[nzchar(trimws(lines))]
  x <- matrix(0, width, length(lines))
  y <- numeric(length(lines))
  for (i in seq_along(lines)) {
    tok <- strsplit(trimws(lines[i]), "[ \t]+")[[1]]
    y[i] <- as.numeric(tok[1])
    for (t in tok[-1]) {
      kv <- as.numeric(strsplit(t, ":")[[1]])
      x[kv[1] + 1, i] <- kv[2]
    }
  }
  list(x = x, y = y)
}

test_that("LibSVMIter gives MXNet's documented example densely", {
  f <- tempfile(fileext = ".t")
  lines <- c("1.0 0:0.5 2:1.2", "-2.0", "-3.0 0:0.6 1:2.4 2:1.2", "4 2:-1.2")
  writeLines(lines, f)
  it <- mx.io.LibSVMIter(data.libsvm = f, data.shape = 3, batch.size = 3)
  expect_s3_class(it, "MXLibSVMIter")
  ref <- ref_libsvm(lines, 3)
  expect_equal(mx.io.extract(it, "data"), ref$x, tolerance = 1e-7)
  expect_equal(as.vector(mx.io.extract(it, "label")), ref$y)
  it$reset()
  it$iter.next(); it$iter.next()
  expect_equal(it$num.pad(), 2)
  expect_equal(as.array(it$value()$data)[, 2], ref$x[, 1], tolerance = 1e-7)  # wrapped
})

test_that("LibSVMIter: random files, parts, label files, gzip", {
  set.seed(8)
  n <- 23
  w <- 7
  lines <- vapply(seq_len(n), function(i) {
    k <- sort(sample(0:(w - 1), sample(0:w, 1)))
    paste(c(sample(0:3, 1), sprintf("%d:%.4f", k, rnorm(length(k)))), collapse = if (i %% 2) " " else "\t")
  }, "")
  f <- tempfile(fileext = ".gz")
  con <- gzfile(f, "w"); writeLines(c(lines[1:5], "", lines[-(1:5)]), con); close(con)
  ref <- ref_libsvm(lines, w)
  it <- mx.io.LibSVMIter(f, w, batch_size = 5, round.batch = FALSE)
  expect_equal(mx.io.extract(it, "data"), ref$x, tolerance = 1e-6)
  expect_equal(as.vector(mx.io.extract(it, "label")), ref$y)
  p2 <- mx.io.LibSVMIter(f, w, batch.size = 4, num.parts = 3, part.index = 2)
  rows <- (floor(n * 2 / 3) + 1):n
  expect_equal(mx.io.extract(p2, "data"), ref$x[, rows], tolerance = 1e-6)
  lf <- tempfile()
  writeLines(sprintf("0 0:%d 1:%d", seq_len(n), -seq_len(n)), lf)
  it2 <- mx.io.LibSVMIter(f, w, label.libsvm = lf, label.shape = 2, batch.size = 6)
  expect_equal(mx.io.extract(it2, "label"), rbind(seq_len(n), -seq_len(n)))
  writeLines(sprintf("0 0:%d", seq_len(n)), lf)
  it3 <- mx.io.LibSVMIter(f, w, label.libsvm = lf, batch.size = 6)
  expect_equal(as.vector(mx.io.extract(it3, "label")), seq_len(n))
})

test_that("LibSVMIter: malformed files give classed errors naming file and line", {
  f <- tempfile(fileext = ".t")
  writeLines(c("1 0:1", "2 5:1"), f)
  expect_error(mx.io.LibSVMIter(f, 3, batch.size = 2), "line 2: feature index 5",
               class = "mxnet_io_error")
  writeLines(c("1 0:1", "", "x 1:2"), f)
  expect_error(mx.io.LibSVMIter(f, 3, batch.size = 2), "line 3: expected a label",
               class = "mxnet_io_error")
  writeLines(c("1 0:1 2"), f)
  expect_error(mx.io.LibSVMIter(f, 3, batch.size = 2), "line 1: expected index:value",
               class = "mxnet_io_error")
  expect_error(mx.io.LibSVMIter(tempfile(), 3, batch.size = 2), class = "mxnet_io_error")
  expect_error(mx.io.LibSVMIter(f, 0, batch.size = 2), class = "mxnet_value_error")
})
