# Random arrays: random_uniform / random_normal and mx.runif / mx.rnorm.
# The engine's generator is seeded from R's at every call, so set.seed()
# makes results reproducible whatever the thread count.

test_that("set.seed makes random arrays reproducible; other seeds differ", {
  for (f in list(function() mx.runif(c(3, 4)), function() mx.rnorm(c(3, 4)),
                 function() mx.nd.random.uniform(low = -1, high = 2, shape = 50),
                 function() mx.nd.random.normal(loc = 1, scale = 3, shape = c(5, 10), dtype = "float64"))) {
    set.seed(1)
    a <- as.array(f())
    set.seed(1)
    b <- as.array(f())
    set.seed(2)
    d <- as.array(f())
    expect_identical(a, b)
    expect_false(identical(a, d))
    # consecutive calls without reseeding differ too
    expect_false(identical(as.array(f()), as.array(f())))
  }
  mx.set.seed(7)
  a <- as.array(mx.runif(10))
  set.seed(7)
  expect_identical(as.array(mx.runif(10)), a)
})

test_that("uniform draws are plausible on 1e5 values", {
  set.seed(51)
  for (dt in c("float32", "float64")) {
    x <- as.array(mx.nd.random.uniform(low = -2, high = 3, shape = 1e5, dtype = dt))
    expect_equal(length(x), 1e5)
    expect_true(all(x >= -2 & x < 3))
    expect_lt(abs(mean(x) - 0.5), 0.05)                   # sd of the mean ~ 0.005
    expect_lt(abs(sd(x) - 5 / sqrt(12)), 0.05)
    counts <- tabulate(floor((x + 2) / 0.5) + 1, 10)      # 10 bins of 1e4 expected
    expect_true(all(counts > 9000 & counts < 11000))
    expect_gt(length(unique(x)), 9e4)
  }
  # defaults: [0, 1)
  x <- as.array(mx.nd.uniform(shape = c(100, 100)))
  expect_true(all(x >= 0 & x < 1))
  expect_lt(abs(mean(x) - 0.5), 0.05)
  # low == high is allowed: a constant
  expect_nd_equal(mx.nd.random.uniform(low = 2, high = 2, shape = 5), rep(2, 5))
})

test_that("normal draws are plausible on 1e5 values", {
  set.seed(52)
  for (dt in c("float32", "float64")) {
    x <- as.array(mx.nd.random.normal(loc = 1, scale = 2, shape = c(100, 1000), dtype = dt))
    expect_equal(dim(x), c(100, 1000))
    expect_lt(abs(mean(x) - 1), 0.05)                     # sd of the mean ~ 0.006
    expect_lt(abs(sd(x) - 2), 0.05)
    expect_lt(abs(mean(abs(x - 1) < 2) - 0.6827), 0.01)   # one-sigma mass
    expect_lt(abs(mean(x > 1 + 2 * 1.96) - 0.025), 0.005) # upper tail
    expect_true(all(is.finite(x)))
  }
  x <- as.array(mx.nd.normal(shape = 1e4))
  expect_lt(abs(mean(x)), 0.06)
  expect_nd_equal(mx.nd.random.normal(loc = 3, scale = 0, shape = 4), rep(3, 4))
})

test_that("the values do not depend on the thread count", {
  old <- options(mxnet.threads = 1L)
  on.exit(options(old))
  get <- function() {
    set.seed(99)
    list(as.array(mx.runif(1e5)), as.array(mx.rnorm(c(7, 1e4 + 3))),
         as.array(mx.runif(c(3, 5e4 + 1), dtype = "float64")),
         as.array(mx.rnorm(1e5 + 1, dtype = "float64")))
  }
  one <- get()
  options(mxnet.threads = 2L)
  two <- get()
  expect_identical(one, two)
})

test_that("float64 and float16 outputs", {
  set.seed(53)
  x <- mx.runif(1000, min = 1, max = 2, dtype = "float64")
  expect_identical(mx.nd.dtype(x), "float64")
  v <- as.array(x)
  expect_true(all(v >= 1 & v < 2))
  # genuinely double precision: not all values are float32 numbers
  expect_false(isTRUE(all.equal(v, in_dtype(v, "float32"), tolerance = 0)))
  h <- mx.runif(c(10, 100), min = -1, max = 1, dtype = "float16")
  expect_identical(mx.nd.dtype(h), "float16")
  hv <- as.array(h)
  expect_equal(dim(hv), c(10, 100))
  expect_true(all(hv >= -1 & hv <= 1))
  expect_identical(hv, in_dtype(hv, "float16"))
  expect_lt(abs(mean(hv)), 0.1)
  n <- mx.rnorm(c(50, 40), mean = 5, sd = 0.5, dtype = "float16")
  expect_identical(mx.nd.dtype(n), "float16")
  nv <- as.array(n)
  expect_lt(abs(mean(nv) - 5), 0.1)
  expect_lt(abs(sd(nv) - 0.5), 0.1)
})

test_that("mx.runif / mx.rnorm take R-order shapes, contexts and empty shapes", {
  expect_equal(dim(mx.runif(c(2, 3, 4))), c(2, 3, 4))
  expect_equal(dim(mx.rnorm(c(5, 1))), c(5, 1))
  expect_equal(dim(mx.runif(7)), 7L)
  expect_equal(dim(mx.runif(c(0, 3))), c(0, 3))
  expect_equal(dim(mx.rnorm(rep(2, 8))), rep(2, 8))
  expect_equal(dim(mx.runif(c(2, 2), ctx = mx.cpu())), c(2, 2))
  x <- as.array(mx.runif(c(4, 6), min = 10, max = 11))
  expect_true(all(x >= 10 & x < 11))
})

test_that("bad parameters are R errors naming the parameter", {
  expect_error(mx.nd.random.uniform(low = 2, high = 1, shape = 3), "high")
  expect_error(mx.runif(3, min = 1, max = 0), "high")
  expect_error(mx.nd.random.normal(scale = -1, shape = 3), "scale")
  expect_error(mx.rnorm(3, sd = -0.1), "scale")
  expect_error(mx.nd.random.uniform(low = -Inf, shape = 3), "low")
  expect_error(mx.nd.random.uniform(shape = 3, dtype = "int32"), "dtype")
  expect_error(mx.rnorm(3, dtype = "uint8"), "dtype")
  expect_error(mx.nd.random.uniform(shape = 3, dtype = "float128"), "dtype")
  expect_error(mx.nd.random.uniform(shape = c(2, -1)), "shape")
  expect_error(mx.nd.random.uniform(shape = rep(1, 9)), "shape")
  expect_error(mx.nd.random.normal(loc = NaN, shape = 2), "loc")
})
