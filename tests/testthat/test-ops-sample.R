# Random samplers and shuffle (src/ops/sample.c): moments within generous
# bounds (about 6 standard errors) with fixed seeds, reproducibility under
# mx.set.seed(), parameter errors.

CPU <- mx.cpu()
N <- 20000L

# mean and variance of x within k standard errors of (m, v); kurt: the
# distribution's fourth central moment over v^2 (bounds the variance's error)
expect_moments <- function(x, m, v, kurt = 9, k = 6, info = NULL) {
  n <- length(x)
  expect_lt(abs(mean(x) - m), k * sqrt(v / n), label = paste(info, "mean"))
  expect_lt(abs(var(x) - v), k * v * sqrt((kurt - 1) / n), label = paste(info, "variance"))
}

test_that("random_* samplers have the right moments", {
  mx.set.seed(42)
  x <- as.array(mx.nd.random.exponential(lam = 2, shape = N, ctx = CPU, dtype = "float64"))
  expect_true(all(x >= 0))
  expect_moments(x, 0.5, 0.25, info = "exponential")
  for (a in c(0.4, 3)) {
    x <- as.array(mx.nd.random.gamma(alpha = a, beta = 2, shape = N, ctx = CPU, dtype = "float64"))
    expect_true(all(x >= 0))
    expect_moments(x, 2 * a, 4 * a, kurt = 3 + 6 / a, info = paste("gamma", a))
  }
  for (lam in c(0.5, 4, 30)) {
    x <- as.array(mx.nd.random.poisson(lam = lam, shape = N, ctx = CPU))
    expect_true(all(x == round(x) & x >= 0))
    expect_moments(x, lam, lam, kurt = 3 + 1 / lam, info = paste("poisson", lam))
  }
  x <- as.array(mx.nd.random.negative.binomial(k = 3, p = 0.4, shape = N, ctx = CPU))
  expect_moments(x, 3 * 0.6 / 0.4, 3 * 0.6 / 0.16, kurt = 12, info = "negative binomial")
  x <- as.array(mx.nd.random.generalized.negative.binomial(mu = 2, alpha = 0.5, shape = N, ctx = CPU))
  expect_moments(x, 2, 2 + 0.5 * 4, kurt = 12, info = "generalized negative binomial")
  x <- as.array(mx.nd.random.randint(low = -3, high = 5, shape = c(100, 200), ctx = CPU))
  expect_identical(dim(x), c(100L, 200L))
  expect_setequal(unique(as.vector(x)), -3:4)
  expect_moments(as.vector(x), 0.5, (8^2 - 1) / 12, kurt = 1.8, info = "randint")
  expect_identical(mx.nd.dtype(mx.nd.random.randint(low = 0, high = 2, shape = 3, ctx = CPU, dtype = "int64")), "int64")
})

test_that("sample_* draw per parameter element", {
  mx.set.seed(7)
  mu <- mx.nd.array(c(-2, 5), ctx = CPU, dtype = "float64")
  sg <- mx.nd.array(c(1, 3), ctx = CPU, dtype = "float64")
  x <- as.array(mx.nd.sample.normal(mu, sg, shape = N))
  expect_identical(dim(x), c(N, 2L))     # R order: the samples first
  expect_moments(x[, 1], -2, 1, kurt = 3, info = "normal 1")
  expect_moments(x[, 2], 5, 9, kurt = 3, info = "normal 2")
  u <- as.array(mx.nd.sample.uniform(mx.nd.array(c(0, 10), ctx = CPU), mx.nd.array(c(1, 20), ctx = CPU), shape = N))
  expect_true(all(u[, 1] >= 0 & u[, 1] < 1 & u[, 2] >= 10 & u[, 2] < 20))
  expect_moments(u[, 2], 15, 100 / 12, kurt = 1.8, info = "uniform")
  lam <- mx.nd.array(c(1, 25), ctx = CPU)
  p <- as.array(mx.nd.sample.poisson(lam, shape = N))
  expect_moments(p[, 2], 25, 25, kurt = 3.04, info = "sample poisson")
  e <- as.array(mx.nd.sample.exponential(lam, shape = N))
  expect_moments(e[, 2], 1 / 25, 1 / 625, info = "sample exponential")
  g <- as.array(mx.nd.sample.gamma(mx.nd.array(c(2, 9), ctx = CPU), mx.nd.array(c(1, 0.5), ctx = CPU), shape = N))
  expect_moments(g[, 2], 4.5, 2.25, kurt = 3 + 6 / 9, info = "sample gamma")
  nb <- as.array(mx.nd.sample.negative.binomial(mx.nd.array(2, ctx = CPU), mx.nd.array(0.5, ctx = CPU), shape = N))
  expect_moments(as.vector(nb), 2, 4, kurt = 12, info = "sample negative binomial")
  gn <- as.array(mx.nd.sample.generalized.negative.binomial(mx.nd.array(3, ctx = CPU), mx.nd.array(0, ctx = CPU), shape = N))
  expect_moments(as.vector(gn), 3, 3, kurt = 3.4, info = "alpha 0 is Poisson")
  expect_error(mx.nd.sample.gamma(mx.nd.array(c(1, -1), ctx = CPU), mx.nd.array(c(1, 1), ctx = CPU)),
               "alpha", class = "mxnet_value_error")
  expect_error(mx.nd.sample.normal(mu, mx.nd.array(1:3, ctx = CPU)), "shapes", class = "mxnet_shape_error")
})

test_that("sample_multinomial draws categories with the given probabilities", {
  mx.set.seed(3)
  pr <- matrix(c(0.2, 0.5, 0.3, 0.7, 0.1, 0.2), 3, 2)   # R columns = distributions
  s <- mx.nd.sample.multinomial(mx.nd.array(pr, ctx = CPU), shape = N)
  x <- as.array(s)
  expect_identical(dim(x), c(N, 2L))
  expect_identical(mx.nd.dtype(s), "int32")
  for (j in 1:2) {
    f <- tabulate(x[, j] + 1, 3) / N
    expect_true(all(abs(f - pr[, j]) < 6 * sqrt(pr[, j] * (1 - pr[, j]) / N)), info = j)
  }
  both <- mx.nd.sample.multinomial(mx.nd.array(pr, ctx = CPU), shape = 5, get_prob = TRUE)
  k <- as.array(both[[1]])
  expect_equal(as.array(both[[2]]), log(cbind(pr[k[, 1] + 1, 1], pr[k[, 2] + 1, 2])), tolerance = 1e-6)
  expect_error(mx.nd.sample.multinomial(mx.nd.array(c(0.5, 0.6), ctx = CPU)), "sum to", class = "mxnet_value_error")
})

test_that("samplers and shuffle are reproducible under mx.set.seed and differ across seeds", {
  draw <- function(seed) {
    mx.set.seed(seed)
    list(as.array(mx.nd.random.gamma(alpha = 0.7, shape = 50, ctx = CPU)),
         as.array(mx.nd.random.poisson(lam = 20, shape = 50, ctx = CPU)),
         as.array(mx.nd.sample.multinomial(mx.nd.array(c(0.3, 0.7), ctx = CPU), shape = 50)),
         as.array(mx.nd.shuffle(mx.nd.array(matrix(1:40, 4, 10), ctx = CPU))))
  }
  a <- draw(11)
  expect_identical(a, draw(11))
  b <- draw(12)
  for (i in seq_along(a)) expect_false(identical(a[[i]], b[[i]]), info = i)
  # one thread gives the same numbers as two
  old <- mx.threads()
  on.exit(mx.threads(old))
  mx.threads(1L)
  expect_identical(a, draw(11))
})

test_that("shuffle permutes the slices of the last R dimension", {
  mx.set.seed(5)
  for (dt in c("float32", "int8", "float16", "int64")) {
    m <- matrix(1:30, 3, 10)
    s <- as.array(mx.nd.shuffle(mx.nd.array(m, ctx = CPU, dtype = dt)))
    expect_identical(dim(s), dim(m))
    # every column survives intact; the order changes
    expect_setequal(apply(s, 2, paste, collapse = ","), apply(m, 2, paste, collapse = ","))
  }
  v <- as.array(mx.nd.shuffle(mx.nd.array(1:1000, ctx = CPU, dtype = "int32")))
  expect_setequal(v, 1:1000)
  expect_false(identical(v, 1:1000))
})

test_that("sampler parameters are checked", {
  expect_error(mx.nd.random.exponential(lam = 0, shape = 2), "lam", class = "mxnet_value_error")
  expect_error(mx.nd.random.gamma(alpha = -1, shape = 2), "alpha", class = "mxnet_value_error")
  expect_error(mx.nd.random.negative.binomial(k = 1, p = 1.5, shape = 2), "'p'", class = "mxnet_value_error")
  expect_error(mx.nd.random.randint(low = 3, high = 3, shape = 2), "high", class = "mxnet_value_error")
  expect_error(mx.nd.random.randint(low = 0, high = 3, shape = 2, dtype = "float32"), "int32", class = "mxnet_dtype_error")
  expect_error(mx.nd.random.poisson(lam = 1, shape = c(2, -1)), "negative", class = "mxnet_value_error")
})
