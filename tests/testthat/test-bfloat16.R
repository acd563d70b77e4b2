# bfloat16 (MXNet type flag 12): a storage dtype like float16. Conversions
# are checked against an R reference that rounds the float32 bit pattern to
# its top 16 bits (nearest even), built from raw bytes only.

# float32 bit halves of x (R rounds to float32 as writeBin(size = 4) does).
f32_halves <- function(x) {
  b <- matrix(as.integer(writeBin(as.double(x), raw(), size = 4L, endian = "little")), nrow = 4L)
  list(lo = b[1, ] + 256 * b[2, ], hi = b[3, ] + 256 * b[4, ])
}
# float32 with the given upper and lower 16-bit halves.
f32_from_halves <- function(hi, lo = 0 * hi) {
  b <- rbind(lo %% 256, lo %/% 256, hi %% 256, hi %/% 256)
  readBin(as.raw(b), "double", n = length(hi), size = 4L, endian = "little")
}
# Reference float32 -> bfloat16 -> double.
bf16_ref <- function(x) {
  h <- f32_halves(x)
  up <- h$lo > 32768 | (h$lo == 32768 & h$hi %% 2 == 1)
  out <- f32_from_halves(h$hi + up)
  out[is.nan(x)] <- NaN
  out
}
bf16 <- function(x, ...) as.array(mx.nd.array(x, dtype = "bfloat16", ...))
sign_bit <- function(x) f32_halves(x)$hi >= 32768

test_that("the R reference itself rounds to nearest even", {
  expect_identical(bf16_ref(c(1 + 2^-8, 1 + 3 * 2^-8, 1 + 2^-8 + 2^-20)),
                   c(1, 1 + 2^-6, 1 + 2^-7))
})

test_that("bfloat16: name, size, exactly representable values round trip", {
  x <- mx.nd.array(matrix(c(1, -2, 0.5, 3.140625, 256, -1e-3), 2, 3), dtype = "bfloat16")
  expect_identical(mx.nd.dtype(x), "bfloat16")
  expect_identical(dim(x), c(2L, 3L))
  v <- c(0, 1, -2, 0.5, 3.140625, 2^-133, 2^127 * (2 - 2^-7), -2^-126, 65280, 1.5 * 2^100)
  expect_identical(bf16(v), v)
  expect_identical(bf16(v), bf16_ref(v))
  expect_output(print(x), "bfloat16")
  expect_error(mx.nd.array(1, dtype = "bfloat15"), "bfloat16")
})

test_that("bfloat16 rounds to nearest even at and around halfway points", {
  set.seed(11)
  hi <- c(sample(0x0001:0x7f7e, 200, TRUE), sample(0x8001:0xff7e, 200, TRUE), 0x3f80, 0x3f81)
  for (lo in c(0x8000, 0x7fff, 0x8001, 0x0001, 0xffff, 0)) {
    x <- f32_from_halves(hi, rep(lo, length(hi)))
    expect_identical(bf16(x), bf16_ref(x), label = sprintf("low half 0x%04x", lo))
  }
  # ties go to the even neighbour, both ways
  expect_identical(bf16(c(1 + 2^-8, 1 + 3 * 2^-8, -(1 + 2^-8), -(1 + 3 * 2^-8))),
                   c(1, 1 + 2^-6, -1, -(1 + 2^-6)))
  r <- runif(2000, -1e4, 1e4) * 10^sample(-30:30, 2000, TRUE)
  expect_identical(bf16(r), bf16_ref(r))
})

test_that("bfloat16: NaN, Inf, -0, subnormals and overflow", {
  got <- bf16(c(NaN, Inf, -Inf, -0, 0))
  expect_true(is.nan(got[1]))
  expect_identical(got[2:3], c(Inf, -Inf))
  expect_identical(got[4:5], c(0, 0))
  expect_identical(sign_bit(got[4:5]), c(TRUE, FALSE))
  # float32 subnormals keep their top bits (bfloat16 has float32's exponents)
  sub <- f32_from_halves(c(0x0001, 0x0040, 0x8040), c(0x8000, 0x8001, 0x7fff))
  expect_identical(bf16(sub), bf16_ref(sub))
  # the largest finite bfloat16, then overflow: halfway above it and beyond round to Inf
  big <- f32_from_halves(c(0x7f7f, 0x7f7f, 0x7f7f, 0xff7f), c(0x7fff, 0x8000, 0xffff, 0x8000))
  expect_identical(bf16(big), c(2^127 * (2 - 2^-7), Inf, Inf, -Inf))
  expect_identical(bf16(c(3.4e38, -1e300)), c(Inf, -Inf))   # 1e300 saturates to Inf in float32 first
  # float32 NaNs whose payload is only in the low half stay NaN (quiet)
  expect_true(all(is.nan(bf16(f32_from_halves(c(0x7f80, 0xff80), c(1, 0x8000))))))
})

test_that("ops on bfloat16 arrays compute in float32 and round back", {
  set.seed(3)
  a <- bf16_ref(runif(50, -100, 100))
  b <- bf16_ref(runif(50, -100, 100))
  A <- mx.nd.array(a, dtype = "bfloat16")
  B <- mx.nd.array(b, dtype = "bfloat16")
  s <- A + B
  expect_identical(mx.nd.dtype(s), "bfloat16")
  expect_identical(as.array(s), bf16_ref(a + b))          # a + b is exact in double
  expect_identical(as.array(A * B), bf16_ref(a * b))      # 8-bit mantissas: exact product
  # (double results rounded to float32 equal float32 arithmetic for / and sqrt)
  expect_identical(as.array(A / 3), bf16_ref(a / 3))
  expect_identical(as.array(mx.nd.sqrt(abs(A))), bf16_ref(sqrt(abs(a))))
  expect_identical(as.array(A %/% 7), floor(bf16_ref(a / 7)))
  tot <- mx.nd.sum(A)
  expect_identical(mx.nd.dtype(tot), "bfloat16")
  expect_lte(abs(as.array(tot) - sum(a)), 2^-7 * sum(abs(a)))
})

test_that("Cast to and from bfloat16", {
  set.seed(5)
  x <- runif(100, -10, 10)
  f32 <- mx.nd.array(x)
  y <- mx.nd.Cast(f32, dtype = "bfloat16")
  expect_identical(mx.nd.dtype(y), "bfloat16")
  expect_identical(as.array(y), bf16_ref(x))
  back <- mx.nd.Cast(y, dtype = "float32")
  expect_identical(mx.nd.dtype(back), "float32")
  expect_identical(as.array(back), bf16_ref(x))           # widening is exact
  expect_identical(as.array(mx.nd.Cast(y, dtype = "float64")), bf16_ref(x))
  expect_identical(as.array(mx.nd.Cast(y, dtype = "int32")), trunc(bf16_ref(x)))
  h <- mx.nd.Cast(mx.nd.array(c(1, 0.5, -3), dtype = "float16"), dtype = "bfloat16")
  expect_identical(as.array(h), c(1, 0.5, -3))
  expect_identical(as.array(mx.nd.copyto(y, mx.cpu(), dtype = "float64")), bf16_ref(x))
  # integers beyond 8 significant bits round
  expect_identical(as.array(mx.nd.Cast(mx.nd.array(c(257, 259, 1000), dtype = "int32"),
                                       dtype = "bfloat16")), c(256, 260, 1000))
})

test_that("random ops draw bfloat16", {
  r <- mx.nd.random.uniform(shape = c(100), dtype = "bfloat16")
  expect_identical(mx.nd.dtype(r), "bfloat16")
  v <- as.array(r)
  expect_true(all(v >= 0 & v <= 1))
  expect_identical(v, bf16_ref(v))
})

test_that("bfloat16 arrays save and load with their dtype (flag 12)", {
  x <- mx.nd.array(matrix(c(1, -2, 0.5, 3.140625, Inf, 2^-126), 3, 2), dtype = "bfloat16")
  f <- tempfile(fileext = ".params")
  on.exit(unlink(f))
  mx.nd.save(list(w = x), f)
  l <- mx.nd.load(f)
  expect_identical(mx.nd.dtype(l$w), "bfloat16")
  expect_identical(as.array(l$w), as.array(x))
  # the record carries flag 12 and the raw bfloat16 bits
  bytes <- readBin(f, "raw", file.size(f))
  want <- as.raw(c(12, 0, 0, 0, 0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3f,
                   0x49, 0x40, 0x80, 0x7f, 0x80, 0x00))
  at <- which(vapply(seq_len(length(bytes) - length(want) + 1L),
                     function(i) identical(bytes[i - 1L + seq_along(want)], want), TRUE))
  expect_length(at, 1L)
})

test_that("executors compute bfloat16 in float32 copies; imperative gradients and in-place updates refuse it", {
  a <- mx.symbol.Variable("a")
  x <- mx.nd.array(c(1, 3.5, 257), dtype = "bfloat16")
  ex <- mxnet:::mx.symbol.bind(a * 2.01, mx.cpu(), list(a = x), list(), "null")
  mx.exec.forward(ex)
  expect_identical(mx.nd.dtype(ex$ref.outputs[[1]]), "bfloat16")
  expect_identical(as.array(ex$ref.outputs[[1]]), bf16_ref(bf16_ref(c(1, 3.5, 257)) * 2.01))
  expect_error(mxnet:::nd.forward.backward("negative", list(x), NULL, list(x)),
               "gradients are not computed in float16 or bfloat16")
  expect_error(mxnet:::nd.invoke("sgd_update", list(x, x), list(lr = 0.1)),
               "sgd_update: bfloat16 inputs are not supported here")
  expect_error(mxnet:::nd.invoke("BatchNorm", list(x, x, x, x, x), list(axis = 0)),
               "BatchNorm: bfloat16 inputs are not supported here")
})
