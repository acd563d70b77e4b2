# Op parameters and dtypes that MXNet 1.9.1 scripts use.

test_that("K15: Reshape accepts the deprecated target_shape (and keep_highest)", {
  x <- mx.nd.array(array(1:24, c(4, 6)))
  expect_equal(as.array(mx.nd.Reshape(x, target_shape = c(12, 2))), array(1:24, c(12, 2)))
  expect_equal(dim(mx.nd.Reshape(x, target_shape = c(0, 3))), c(8L, 3L))
  expect_equal(dim(mx.nd.Reshape(x, target_shape = c(2, 2, 1), keep_highest = TRUE)), c(2L, 2L, 6L))
  d <- mx.symbol.Variable("d")
  sh <- mx.symbol.infer.shape(mx.symbol.Reshape(d, target_shape = c(12, 2)), d = c(4, 6))
  expect_equal(sh$out.shapes[[1]], c(12L, 2L))
  sh <- mx.symbol.infer.shape(mx.symbol.Reshape(data = d, target_shape = c(0)), d = c(4, 6))
  expect_equal(sh$out.shapes[[1]], 24L)
  expect_error(mx.nd.Reshape(x, shape = 24, target_shape = 24), "cannot be used together")
  expect_error(mx.nd.Reshape(x, target_shape = c(5, 5)), "target_shape")
  expect_error(mx.nd.Reshape(x), "shape")
})

test_that("K15: int8 is a dtype (arrays, Cast, arithmetic, save/load)", {
  x <- mx.nd.array(c(-200, -3.7, 0, 5.5, 127, 300), dtype = "int8")
  expect_equal(mx.nd.dtype(x), "int8")
  expect_equal(c(as.array(x)), c(-128, -3, 0, 5, 127, 127))
  expect_equal(c(as.array(mx.nd.Cast(mx.nd.array(c(1.5, -130, 200)), dtype = "int8"))), c(1, -128, 127))
  y <- x + x   # computed in int32, saturated back into int8
  expect_equal(mx.nd.dtype(y), "int8")
  expect_equal(c(as.array(y)), c(-128, -6, 0, 10, 127, 127))
  expect_equal(c(as.array(mx.nd.Cast(x, dtype = "float32"))), c(-128, -3, 0, 5, 127, 127))
  f <- tempfile(fileext = ".params")
  mx.nd.save(list(a = x), f)
  raw <- readBin(f, "raw", file.size(f))
  # MXNet's type flag of int8 is 5; after it come the 6 data bytes and the
  # name list (u64 count, u64 length, "a"): 23 bytes
  flag_at <- length(raw) - 23L - 3L
  expect_equal(readBin(raw[flag_at + 0:3], "integer", size = 4, endian = "little"), 5L)
  r <- mx.nd.load(f)
  expect_equal(mx.nd.dtype(r$a), "int8")
  expect_equal(c(as.array(r$a)), c(as.array(x)))
  s <- mx.symbol.Cast(mx.symbol.Variable("d"), dtype = "int8")
  ex <- mx.simple.bind(s, d = 3)
  mx.exec.update.arg.arrays(ex, list(d = mx.nd.array(c(1.6, -300, 5))), match.name = TRUE)
  mx.exec.forward(ex)
  expect_equal(c(as.array(ex$ref.outputs[[1]])), c(1, -128, 5))
})

test_that("W8: integer power (and hypot) saturate in the array's own dtype, never wrap", {
  expect_equal(c(as.array(mx.nd.array(c(0, 2), dtype = "int32")^-1)), c(2147483647, 0))
  expect_equal(c(as.array(mx.nd.array(c(0, 2), dtype = "int64")^-1)), c(2^63, 0))
  a <- mx.nd.array(c(0, 2, 3), dtype = "int32")
  b <- mx.nd.array(c(-1, 40, -2), dtype = "int32")
  expect_equal(c(as.array(a^b)), c(2147483647, 2147483647, 0))
  expect_equal(c(as.array(mx.nd.broadcast.power(a, b))), c(2147483647, 2147483647, 0))
  u <- mx.nd.array(c(2, 3), dtype = "uint8")
  expect_equal(c(as.array(u^mx.nd.array(c(9, 2), dtype = "uint8"))), c(255, 9))
  h <- mx.nd.broadcast.hypot(mx.nd.array(c(2e9, 3), dtype = "int32"), mx.nd.array(c(2e9, 4), dtype = "int32"))
  expect_equal(c(as.array(h)), c(2147483647, 5))
})
