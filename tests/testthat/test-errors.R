# Bad input across the public NDArray API gives R errors that name the
# argument (or the subscript) and say what is wrong; every error is a classed
# condition (?mxnet_error), so tests match on class as well as wording.

test_that("mx.nd.array rejects missing values and values a dtype cannot hold", {
  expect_error(mx.nd.array(c(1, NA)), "'src.array' contains NA \\(element 2\\)")
  expect_error(mx.nd.array(NA), "'src.array' contains NA \\(element 1\\)")
  expect_error(mx.nd.array(c(3L, NA_integer_)), "'src.array' contains NA \\(element 2\\)")
  expect_error(mx.nd.array(matrix(c(1, 2, NA, 4), 2)), "'src.array' contains NA")
  for (dt in INT_DTYPES) {
    expect_error(mx.nd.array(c(1, NaN), dtype = dt), sprintf("'src.array' contains NaN.*%s", dt))
    expect_error(mx.nd.array(c(Inf, 1), dtype = dt), sprintf("'src.array'.*infinite.*%s", dt))
  }
  # NaN and Inf are fine in floating-point dtypes
  for (dt in FLOAT_DTYPES) {
    a <- as.array(mx.nd.array(c(NaN, Inf, -Inf), dtype = dt))
    expect_true(is.nan(a[1]))
    expect_identical(as.vector(a[2:3]), c(Inf, -Inf))
  }
})

test_that("mx.nd.array rejects objects of the wrong type", {
  expect_error(mx.nd.array("a"), "'src.array'.*character")
  expect_error(mx.nd.array(matrix("a", 2, 2)), "'src.array'.*character")
  expect_error(mx.nd.array(list(1, 2)), "'src.array'.*list")
  expect_error(mx.nd.array(data.frame(a = 1:2)), "'src.array' is a data frame")
  expect_error(mx.nd.array(NULL), "'src.array'.*NULL")
  expect_error(mx.nd.array(1 + 2i), "'src.array'.*complex")
  expect_error(mx.nd.array(array(0, rep(1, 9))), "'dim\\(src.array\\)' has 9 dimensions")
})

test_that("bad dtype and ctx arguments are named", {
  for (bad in list("foo", "int16", NA_character_, 3, TRUE, c("float32", "int32"))) {
    expect_error(mx.nd.array(1:2, dtype = bad), "'dtype'")
    expect_error(mx.nd.zeros(2, dtype = bad), "'dtype'")
  }
  expect_error(mx.nd.array(1:2, dtype = "foo"), "unknown dtype \"foo\"", class = "mxnet_value_error")
  expect_error(mx.nd.copyto(mx.nd.array(1), dtype = "foo"), "'dtype'")
  for (bad in list("cpu", 1, list(device = "cpu"), structure(list(device = "cpu"), class = "MXContext"))) {
    expect_error(mx.nd.array(1:2, ctx = bad), "'ctx'")
    expect_error(mx.nd.ones(2, ctx = bad), "'ctx'")
  }
  expect_error(mx.nd.array(1:2, ctx = structure(list(device = "cpu"), class = "MXContext")),
               "'ctx' is a malformed MXContext")
  expect_error(mx.cpu(-1), "'dev.id'")
  expect_error(mx.gpu(NA), "'dev.id'")
  expect_error(mx.gpu(1.5), "'dev.id'")
  expect_error(mx.ctx.default("cpu"), "'new'")
  expect_error(mx.memory.stats(ctx = "cpu"), "'ctx'")
})

test_that("a GPU context without a GPU says why there is none", {
  skip_if(mx.gpu.count() > 0, "this machine has GPUs")
  why <- "no GPU support|no NVIDIA driver|GPU module|no GPU found|MXNET_CUDA=no"
  expect_error(mx.nd.array(1:2, ctx = mx.gpu()), why, class = "mxnet_unsupported_error")
  expect_error(mx.nd.zeros(c(2, 2), ctx = mx.gpu(0)), why)
  expect_error(mx.nd.copyto(mx.nd.array(1), ctx = mx.gpu()), why)
})

test_that("bad shapes are named and explained", {
  expect_error(mx.nd.zeros(c(-1, 2)), "'shape' must contain non-negative whole numbers",
               class = "mxnet_value_error")
  expect_error(mx.nd.zeros(c(2, 2.5)), "'shape' must contain non-negative whole numbers")
  expect_error(mx.nd.ones(rep(1, 9)), "'shape' has 9 dimensions; at most 8")
  expect_error(mx.nd.zeros(c(NA, 2)), "'shape' contains NA")
  expect_error(mx.nd.zeros(c(2, NaN)), "'shape' contains NA")
  expect_error(mx.nd.zeros("a"), "'shape' must be a numeric vector")
  expect_error(mx.nd.zeros(list(2)), "'shape' must be a numeric vector")
  expect_error(mx.nd.zeros(1e20), "'shape'")
  # too large to exist: refused, not attempted
  expect_error(mx.nd.zeros(c(1e6, 1e6, 1e3)), "cannot allocate", class = "mxnet_memory_error")
  expect_error(mx.nd.zeros(c(2^31, 2^31, 2^31)), "too large")
  expect_error(mx.nd.full(2, "a"), "'value' must be a single number")
  expect_error(mx.nd.full(2, 1:2), "'value' must be a single number")
  expect_error(mx.nd.full(2, NA), "'value' must not be NA")
  expect_error(mx.nd.full(2, Inf, dtype = "int32"), "'value' must be finite")
  x <- mx.nd.array(1:6)
  expect_error(dim(x) <- c(4, 2), "cannot reshape c\\(6\\) into c\\(4, 2\\)")
  expect_error(dim(x) <- c(2, NA), "'value' contains NA")
  expect_error(dim(x) <- c(-2, -3), "'value' must contain non-negative")
  expect_identical(dim(x), 6L)                    # unchanged
})

test_that("unknown and ill-typed op parameters are named", {
  x <- mx.nd.array(1:3)
  y <- mx.nd.array(4:6)
  expect_error(mx.nd.broadcast.add(x, y, foo = 1), "unused argument \\(foo = 1\\)")
  expect_error(mxnet:::nd.invoke("broadcast_add", list(x, y), list(foo = 1)),
               "broadcast_add: unknown argument 'foo'")
  expect_error(mxnet:::nd.invoke("broadcast_add", list(x, y), list(1)), "params must be named")
  expect_error(mxnet:::nd.invoke("_plus_scalar", list(x), list(scalar = "a")),
               "_plus_scalar: parameter 'scalar' cannot parse 'a'")
  expect_error(mxnet:::nd.invoke("_plus_scalar", list(x), list(scalar = c(1, 2))),
               "'scalar' must be a single value")
  expect_error(mxnet:::nd.invoke("_plus_scalar", list(x), list(scalar = NA)), "'scalar' must not be NA")
  expect_error(mxnet:::nd.invoke("_plus_scalar", list(x), list(scalar = list(1))),
               "'scalar' has an unsupported type \\(list\\)")
  expect_error(mxnet:::nd.invoke("_plus_scalar", list(x), list(scalr = 1)), "unknown argument 'scalr'")
  expect_error(mxnet:::nd.invoke("no_such_op", list(x)), "unknown operator 'no_such_op'")
  expect_error(mxnet:::nd.invoke("broadcast_add", list(x)), "expects 2 inputs, got 1")
  expect_error(mxnet:::nd.invoke("broadcast_add", list(x, 1)), "'rhs' must be an MXNDArray")
  expect_error(mx.nd.broadcast.add(x, 1:3), "'rhs' must be an MXNDArray")
  expect_error(mx.nd.broadcast.add("a", y), "'lhs' must be an MXNDArray")
  expect_error(mx.nd.broadcast.add(x, y, out = 1), "'out'")
  expect_error(mx.nd.broadcast.add(x, y, out = mx.nd.zeros(2)), "'out' has shape c\\(2\\)")
  expect_error(x + mx.nd.array(1:2), "shapes c\\(3\\) and c\\(2\\) cannot be broadcast",
               class = "mxnet_shape_error")
  expect_error(x + "a", "cannot apply '\\+'.*character")
  expect_error(x * list(1), "cannot apply '\\*'.*list")
  expect_error(x - NA, "'-': the operand contains NA")
  # NaN is a value, not a missing one
  expect_true(all(is.nan(as.array(x + NaN))))
  expect_true(all(is.nan(as.array(NaN * x))))
  expect_identical(as.vector(as.array(x + Inf)), rep(Inf, 3))
})

# The message of an error (NA if none). Used for calls that inline a freed
# NDArray (group generics, `[<-`): rlang's error tracing, which expect_error
# turns on, summarises inlined objects with dim(), which fails for them too.
err_msg <- function(expr) tryCatch({ expr; NA_character_ }, error = conditionMessage)

test_that("freed NDArrays give a clear error and print without crashing", {
  f <- tempfile(fileext = ".rds")
  on.exit(unlink(f))
  x <- mx.nd.array(matrix(1:6, 2))
  saveRDS(x, f, version = 2)   # format 2 keeps no values (see ?mx.serialize)
  y <- readRDS(f)
  expect_true(is.mx.ndarray(y))
  expect_output(print(y), "memory released")
  expect_identical(format(y), "<MXNDArray: memory released>")
  gone <- "memory no longer exists"
  expect_error(as.array(y), paste0("'x' .*", gone))
  expect_null(dim(y))          # a released array has no dims and no elements
  expect_identical(length(y), 0L)
  expect_error(mx.nd.dtype(y), gone)
  expect_error(as.matrix(y), gone)
  expect_error(y[1, 1], gone)
  expect_error(y[1, 1] <- 5, gone)
  expect_error(dim(y) <- 6, gone)
  expect_error(t(y), gone)
  expect_error(y + 1, gone)
  expect_error(y + x, paste0("'lhs' .*", gone))
  expect_error(x + y, paste0("'rhs' .*", gone))
  expect_match(err_msg(x[1, 1] <- y), paste0("'value' .*", gone))
  expect_error(mx.nd.copyto(y), paste0("'src' .*", gone))
  expect_error(mx.nd.array(y), gone)
  expect_error(mx.nd.save(y, tempfile()), paste0("'ndarray\\[\\[1\\]\\]' .*", gone))
  expect_error(mx.nd.serialize(list(a = y)), gone)
  expect_match(err_msg(sum(y)), gone)
  expect_match(err_msg(mean(y)), gone)
  expect_error(mx.nd.broadcast.add(x, y, out = x), gone)
  expect_error(mx.nd.broadcast.add(x, x, out = y), paste0("'out' .*", gone))
  # the message says how to keep NDArrays
  expect_error(as.array(y), "mx.nd.save")
  # the original is unaffected
  expect_identical(as.array(x), matrix(as.double(1:6), 2))
  # the same through save()/load() of an environment
  e <- new.env()
  e$z <- mx.nd.ones(3)
  g <- tempfile(fileext = ".RData")
  on.exit(unlink(g), add = TRUE)
  save(list = "z", envir = e, file = g, version = 2)
  e2 <- new.env()
  load(g, envir = e2)
  expect_error(as.array(e2$z), gone)
})

test_that("indexing errors name the subscript", {
  m <- mx.nd.array(matrix(1:6, 2))
  expect_error(m[3, 1], "subscript out of bounds \\(subscript 1: index 3, extent 2\\)")
  expect_error(m[1, 4], "subscript out of bounds \\(subscript 2: index 4, extent 3\\)")
  expect_error(m[10], "subscript out of bounds \\(subscript 1: index 10, extent 6\\)")
  expect_error(m[1, 1, 1], "incorrect number of dimensions: the MXNDArray has 2, but 3 subscripts")
  expect_error(m[NA, 1], "must not contain NA \\(subscript 1\\)")
  expect_error(m[1, NA_integer_], "must not contain NA \\(subscript 2\\)")
  expect_error(m[1, c(1, NA)], "must not contain NA \\(subscript 2\\)")
  expect_error(m[NA], "must not contain NA")
  expect_error(m[c(TRUE, TRUE, TRUE), 1], "logical subscript too long \\(subscript 1")
  expect_error(m["a", 1], "no dimnames")
  expect_error(m[list(1), 1], "invalid subscript type 'list'")
  expect_error(m[-1:1, 1], "negative")
  # what R allows works the same: zeros, negatives, fractions, logicals
  r <- matrix(as.double(1:6), 2)
  expect_identical(as.vector(as.array(m[0:2, 1])), r[0:2, 1])
  expect_identical(as.vector(as.array(m[-1, ])), r[-1, ])
  expect_identical(as.vector(as.array(m[2.7, 3])), r[2.7, 3])
  expect_identical(as.vector(as.array(m[c(TRUE, FALSE), ])), r[c(TRUE, FALSE), ])
  expect_identical(as.array(m[, -7]), r[, -7])
})

test_that("`[<-` rejects NA, wrong types and wrong lengths", {
  m <- mx.nd.array(matrix(1:6, 2))
  before <- as.array(m)
  expect_error(m[1, 1] <- NA, "'value' contains NA")
  expect_error(m[1, ] <- c(1, NA, 2), "'value' contains NA")
  expect_error(m[, 1] <- NA_real_, "'value' contains NA")
  expect_error(m[1, 1] <- "a", "'value' must be numeric or an MXNDArray")
  expect_error(m[1, 1] <- list(1), "'value' must be numeric or an MXNDArray")
  expect_error(m[1, ] <- c(1, 2), "replacement has 2 values; the selection has 3")
  expect_error(m[1, ] <- 1:4, "replacement has 4 values; the selection has 3")
  expect_error(m[1, 1] <- mx.nd.array(1:2), "replacement has 2 values; the selection has 1")
  expect_error(m[3, 1] <- 1, "subscript out of bounds \\(subscript 1")
  expect_error(m[1, 1, 1] <- 2, "incorrect number of dimensions")
  expect_error(m[NA] <- 1, "must not contain NA")
  expect_identical(as.array(m), before)             # nothing was written
  m[1, ] <- 7
  expect_identical(as.array(m)[1, ], c(7, 7, 7))
  m[2, ] <- c(4, 5, 6)
  expect_identical(as.array(m)[2, ], c(4, 5, 6))
})

# The condition of an expression (NULL if none).
cnd_of <- function(expr) tryCatch({ expr; NULL }, condition = identity)

test_that("S6: engine errors are classed conditions carrying the status", {
  a <- mx.nd.ones(c(2, 3))
  b <- mx.nd.ones(c(3, 2))
  e <- cnd_of(a + b)
  expect_identical(class(e), c("mxnet_shape_error", "mxnet_error", "error", "condition"))
  expect_identical(e$status, 2L)
  expect_identical(e$status_name, "shape")
  expect_identical(e$kind, "shape")
  # the call is the user's, not the package's internal one
  expect_identical(conditionCall(e), quote(a + b))
  f <- function(x) mx.nd.dot(x, x)
  expect_identical(conditionCall(cnd_of(f(a))), quote(mx.nd.dot(x, x)))
  expect_identical(conditionCall(cnd_of(lapply(1, function(i) a - b))), quote(a - b))
  # each kind
  i32 <- mx.nd.array(array(1:16, c(4, 4, 1, 1)), dtype = "int32")
  expect_error(mx.nd.Convolution(i32, mx.nd.ones(c(2, 2, 1, 1)), kernel = c(2, 2),
                                 num_filter = 1, no_bias = TRUE),
               "different dtypes", class = "mxnet_dtype_error")
  expect_error(mx.nd.zeros(c(2, -2)), "'shape'", class = "mxnet_value_error")
  expect_error(mxnet:::nd.invoke("broadcast_add", list(a)), "expects 2 inputs",
               class = "mxnet_value_error")
  expect_error(mx.nd.zeros(c(1e6, 1e6, 1e3)), class = "mxnet_memory_error")
  expect_error(mx.nd.save(list(a = a), file.path(tempfile(), "no", "f")), "cannot open",
               class = "mxnet_io_error")
  bad <- tempfile()
  on.exit(unlink(bad))
  writeBin(as.raw(1:40), bad)
  e <- cnd_of(mx.nd.load(bad))
  expect_s3_class(e, "mxnet_io_error")
  expect_identical(e$status_name, "format")           # the finer status is kept
  expect_error(mx.symbol.load.json("{"), class = "mxnet_io_error")
  skip_if(mx.gpu.count() > 0, "this build has GPUs")
  expect_error(mx.nd.zeros(2, ctx = mx.gpu()), class = "mxnet_unsupported_error")
})

test_that("S6: R-level errors use the same classes (mx.error)", {
  e <- cnd_of(mx.threads(-1))
  expect_s3_class(e, "mxnet_value_error")
  expect_identical(conditionCall(e), quote(mx.threads(-1)))
  expect_true(is.na(e$status))
  g <- function() mxnet:::mx.error("io", "no such file")
  expect_error(g(), "no such file", class = "mxnet_io_error")
  # the interrupted kind is an interrupt, not an error: try() lets it through
  e <- mxnet:::mx.error.condition("interrupted", "interrupted by the user")
  expect_identical(class(e), c("mxnet_interrupted_error", "mxnet_error", "interrupt", "condition"))
  got <- tryCatch(tryCatch(stop(e), error = function(e) "error"), interrupt = function(e) "interrupt")
  expect_identical(got, "interrupt")
  # every engine status maps to a kind
  kinds <- c("shape", "dtype", "value", "io", "memory", "unsupported", "interrupted", "dist")
  expect_true(all(mxnet:::mx.status.kinds %in% kinds))
  expect_setequal(names(mxnet:::mx.status.kinds),
                  c("arg", "shape", "dtype", "nomem", "io", "format", "unsupported", "device",
                    "aborted", "internal", "dist"))
  expect_error(mxnet:::mx.error("dist", "a worker is gone"), class = "mxnet_dist_error")
})
