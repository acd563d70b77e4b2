# The NDArray API: creation, conversion, dims, printing, indexing, contexts.

test_that("mx.nd.array keeps values and R dimensions", {
  v <- c(1.5, -2, 3)
  x <- mx.nd.array(v)
  expect_s3_class(x, "MXNDArray")
  expect_true(is.mx.ndarray(x))
  expect_false(is.mx.ndarray(v))
  expect_identical(dim(x), 3L)
  expect_identical(length(x), 3L)
  expect_identical(mx.nd.dtype(x), "float32")
  expect_equal(as.vector(as.array(x)), v)
  m <- matrix(1:6, 2, 3)
  xm <- mx.nd.array(m)
  expect_identical(dim(xm), c(2L, 3L))
  expect_identical(as.matrix(xm), m + 0)
  a <- array(runif(24), c(2, 3, 4))
  expect_identical(dim(as.array(mx.nd.array(a))), c(2L, 3L, 4L))
  expect_equal(as.array(mx.nd.array(a, dtype = "float64")), a)
  a8 <- array(seq_len(2^8), rep(2, 8))
  x8 <- mx.nd.array(a8, dtype = "int32")
  expect_identical(dim(x8), rep(2L, 8))
  expect_identical(as.array(x8), a8 + 0)
  expect_identical(as.vector(mx.nd.array(c(TRUE, FALSE))), c(1, 0))
  # a copy, not a view
  y <- mx.nd.array(x)
  y[1] <- 100
  expect_equal(as.vector(x)[1], 1.5)
})

test_that("dtypes convert like MXNet (rounding, truncation, saturation)", {
  v <- c(0.1, 1 / 3, 65504, 1e-8, -2.5)
  expect_equal(as.vector(mx.nd.array(v)), as.double(as.vector(mx.nd.array(v))))
  f32 <- as.vector(mx.nd.array(v))
  expect_equal(f32, v, tolerance = 1e-7)
  expect_false(identical(f32, v))                      # really float32
  f16 <- as.vector(mx.nd.array(v, dtype = "float16"))
  expect_equal(f16[1:3], c(0.0999755859375, 0.333251953125, 65504))
  expect_equal(as.vector(mx.nd.array(c(70000, -1e6), dtype = "float16")), c(Inf, -Inf))
  expect_identical(as.vector(mx.nd.array(c(1.9, -1.9, 300, -5), dtype = "uint8")), c(1, 0, 255, 0))
  expect_identical(as.vector(mx.nd.array(c(1.9, -1.9), dtype = "int32")), c(1, -1))
  big <- 2^40 + 1
  expect_identical(as.vector(mx.nd.array(big, dtype = "int64")), big)
  expect_identical(as.vector(mx.nd.array(big, dtype = "int32")), 2^31 - 1)
  for (dt in DTYPES) {
    x <- mx.nd.array(1:4, dtype = dt)
    expect_identical(mx.nd.dtype(x), dt)
    expect_identical(as.vector(x), c(1, 2, 3, 4))
    y <- mx.nd.copyto(x, dtype = "float64")
    expect_identical(mx.nd.dtype(y), "float64")
    expect_identical(as.vector(y), c(1, 2, 3, 4))
  }
  expect_equal(as.vector(mx.nd.array(c(NaN, Inf, -Inf))), c(NaN, Inf, -Inf))
})

test_that("zeros, ones and full for every dtype, empty and scalar shapes", {
  for (dt in DTYPES) {
    expect_identical(as.array(mx.nd.zeros(c(2, 3), dtype = dt)), array(0, c(2, 3)))
    expect_identical(as.array(mx.nd.ones(c(3, 1, 2), dtype = dt)), array(1, c(3, 1, 2)))
    expect_identical(as.array(mx.nd.full(4, 7, dtype = dt)), rep(7, 4))   # K2: 1-D gives a plain vector
  }
  e <- mx.nd.zeros(c(0, 3))
  expect_identical(dim(e), c(0L, 3L))
  expect_identical(length(e), 0L)
  expect_identical(dim(as.array(e)), c(0L, 3L))
  s <- mx.nd.full(integer(0), 2.5)
  expect_identical(dim(s), integer(0))
  expect_identical(as.array(s), 2.5)
  expect_identical(length(s), 1L)
  expect_identical(as.array(mx.nd.full(c(2, 2), -0.5, dtype = "float64")), array(-0.5, c(2, 2)))
  expect_identical(dim(mx.nd.ones(rep(1, 8))), rep(1L, 8))
})

test_that("printing shows values, dtype and device", {
  x <- mx.nd.array(matrix(1:4, 2))
  expect_output(print(x), paste0("<MXNDArray float32 2x2 ", TEST_DEV, ">"), fixed = TRUE)
  expect_output(print(x), "\\[2,\\]")
  expect_output(print(mx.nd.full(integer(0), 1, dtype = "int64")), "int64 scalar")
  expect_identical(format(mx.nd.zeros(c(0, 2))), paste0("<MXNDArray float32 0x2 ", TEST_DEV, ">"))
  out <- capture.output(vis <- withVisible(print(x)))
  expect_false(vis$visible)
  expect_identical(vis$value, x)
})

test_that("as.matrix and as.vector", {
  x <- mx.nd.array(1:3)
  expect_identical(as.matrix(x), matrix(c(1, 2, 3), ncol = 1))
  expect_identical(as.vector(x), c(1, 2, 3))
  expect_identical(as.double(x), c(1, 2, 3))
  expect_identical(as.vector(x, "integer"), 1:3)
  expect_error(as.matrix(mx.nd.zeros(c(2, 2, 2))), "1 or 2 dimensions")
})

test_that("dim<- reshapes without copying", {
  x <- mx.nd.array(1:6)
  y <- x
  dim(y) <- c(2, 3)
  expect_identical(dim(y), c(2L, 3L))
  expect_identical(as.array(y), matrix(c(1, 2, 3, 4, 5, 6), 2))
  y[1, 1] <- 10
  expect_identical(as.vector(x)[1], 10)     # shares memory with x
  expect_error({ z <- x; dim(z) <- c(4, 2) }, "sizes differ")
})

test_that("[ matches R's array indexing", {
  set.seed(3)
  a <- array(as.double(1:120), c(4, 5, 6))
  x <- mx.nd.array(a, dtype = "float64")
  # an R result without dims (a vector) is a 1-d NDArray
  check <- function(expr_x, expr_a) {
    if (is.null(dim(expr_a))) expect_identical(as.vector(expr_x), expr_a + 0)
    else expect_identical(as.array(expr_x), expr_a + 0)
  }
  expect_identical(as.vector(x[2, 3, 4]), a[2, 3, 4])
  check(x[2, , ], a[2, , ])
  check(x[, 3, ], a[, 3, ])
  check(x[, , 6], a[, , 6])
  check(x[2:3, c(1, 5), -1], a[2:3, c(1, 5), -1])
  check(x[c(TRUE, FALSE), , 2], a[c(TRUE, FALSE), , 2])
  check(x[4:1, 5:1, ], a[4:1, 5:1, ])
  check(x[2, 3, , drop = FALSE], a[2, 3, , drop = FALSE])
  check(x[c(1, 1, 2), 1, 1], a[c(1, 1, 2), 1, 1])
  expect_identical(as.vector(x[7]), a[7])
  expect_identical(as.vector(x[c(1, 60, 120)]), a[c(1, 60, 120)])
  expect_identical(as.vector(x[-(1:118)]), a[-(1:118)])
  for (i in 1:20) {
    i1 <- sample(4, sample(1:4, 1), replace = TRUE)
    i2 <- -sample(5, sample(1:4, 1))
    i3 <- sample(c(TRUE, FALSE), 6, replace = TRUE)
    if (!any(i3)) i3[1] <- TRUE
    check(x[i1, i2, i3, drop = FALSE], a[i1, i2, i3, drop = FALSE])
  }
  v <- mx.nd.array(1:10)
  expect_identical(as.vector(v[as.vector(v) > 5]), as.double(6:10))
  expect_error(v[v > 5], "cannot be a subscript")
  expect_error(x[5, 1, 1], "out of bounds")
  expect_error(x[1, 1], "dimensions")
  expect_error(x[NA, 1, 1], "NA")
  expect_error(x["a", 1, 1], "dimnames")
  a8 <- array(seq_len(3^8), rep(3, 8))
  x8 <- mx.nd.array(a8, dtype = "int32")
  check(x8[2, , 1, , 3, 1:2, , 2], a8[2, , 1, , 3, 1:2, , 2])
})

test_that("[<- writes in place", {
  a <- matrix(as.double(1:12), 3, 4)
  x <- mx.nd.array(a)
  alias <- x
  x[2, 3] <- -1
  a[2, 3] <- -1
  expect_identical(as.array(x), a)
  expect_identical(as.array(alias), a)       # NDArrays are references
  x[, 1] <- c(7, 8, 9)
  a[, 1] <- c(7, 8, 9)
  expect_identical(as.array(x), a)
  x[1, ] <- mx.nd.array(c(0, 0, 0, 0))
  a[1, ] <- 0
  expect_identical(as.array(x), a)
  x[c(TRUE, FALSE, TRUE), 2:3] <- 5
  a[c(TRUE, FALSE, TRUE), 2:3] <- 5
  expect_identical(as.array(x), a)
  x[12] <- 100
  a[12] <- 100
  expect_identical(as.array(x), a)
  xi <- mx.nd.array(1:4, dtype = "int32")
  xi[2] <- 2.9                               # converted to the dtype
  expect_identical(as.vector(xi), c(1, 2, 3, 4))
  expect_error(x[1, ] <- c(1, 2), "replacement has 2 values")
  expect_error(x[1, 1] <- NA, "NA")
  expect_error(x[1, 1] <- "a", "numeric or an MXNDArray")
})

test_that("contexts", {
  expect_true(is.mx.context(mx.cpu()))
  expect_false(is.mx.context(list()))
  expect_identical(format(mx.cpu()), "cpu(0)")
  expect_identical(format(mx.gpu(1)), "gpu(1)")
  expect_output(print(mx.cpu()), "cpu\\(0\\)")
  expect_identical(mx.ctx.default(), TEST_CTX)
  expect_identical(ctx(mx.nd.zeros(2)), TEST_CTX)
  expect_error(mx.cpu(-1), "dev.id")
  expect_error(mx.ctx.default("cpu"), "context")
  if (mx.gpu.count() == 0L)
    expect_error(mx.nd.zeros(2, ctx = mx.gpu()), "no GPU is available: ")
  expect_error(mx.nd.zeros(2, ctx = list()), "ctx")
})

test_that("mx.features reports configure's findings", {
  f <- mx.features()
  expect_s3_class(f, "mx.features")
  expect_true(all(c("OPENMP", "ONEDNN", "OPENBLAS", "ZLIB", "CUDA", "CUDNN", "NCCL", "MPI") %in% names(f)))
  expect_type(unclass(f), "logical")
  # CUDA: whether configure built the GPU module (test-gpu-build.R checks how)
  expect_identical(f[["CUDA"]], grepl("GPU module mxnet_cuda.so built", attr(f, "detail")[["CUDA"]]))
  expect_output(print(f), "CUDA")
  expect_true(all(nzchar(attr(f, "detail"))))
})

test_that("thread count honours the option, the setter and OMP_THREAD_LIMIT", {
  old <- options(mxnet.threads = 1L)
  on.exit(options(old), add = TRUE)
  expect_identical(mx.threads(), 1L)
  options(mxnet.threads = 2L)
  x <- mx.nd.array(1:3) + 1                  # any op picks the option up
  expect_identical(mx.threads(), 2L)
  expect_identical(mx.threads(1), 1L)
  expect_identical(getOption("mxnet.threads"), 1L)
  lim <- Sys.getenv("OMP_THREAD_LIMIT")
  Sys.setenv(OMP_THREAD_LIMIT = "1")
  on.exit(if (nzchar(lim)) Sys.setenv(OMP_THREAD_LIMIT = lim) else Sys.unsetenv("OMP_THREAD_LIMIT"), add = TRUE)
  expect_identical(mx.threads(8), 1L)
  expect_error(mx.threads(-1), "non-negative")
  options(mxnet.threads = 2L)
})

test_that("memory statistics are reported", {
  st <- mx.memory.stats(TEST_CTX)
  expect_true(all(c("bytes_in_use", "bytes_peak", "bytes_cached", "n_alloc", "n_live") %in% names(st)))
  before <- mx.memory.stats(TEST_CTX)[["n_alloc"]]
  x <- mx.nd.zeros(c(100, 100))
  expect_gt(mx.memory.stats(TEST_CTX)[["n_alloc"]], before)
  expect_gte(mx.memory.stats(TEST_CTX)[["bytes_in_use"]], 40000)
})
