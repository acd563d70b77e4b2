# Gradients of the unary ops (unary.c) against finite differences, float32
# against float64, exact zeros, Cast and the dtype errors.

fb <- function(op, ins, params = NULL, og) mxnet:::nd.forward.backward(op, ins, params, og)

# float32 analytic gradient vs the float64 one on the same (float32-exact)
# inputs and output gradients.
cmp32 <- function(op, inputs, params = NULL, tol = 1e-5, wrt = seq_along(inputs)) {
  inputs <- lapply(inputs, in_dtype, dtype = "float32")
  outs <- mxnet:::nd.invoke(op, lapply(inputs, mx.nd.array, dtype = "float64"), params)
  if (inherits(outs, "MXNDArray")) outs <- list(outs)
  G <- lapply(outs, function(o) in_dtype(array(runif(length(o), -1, 1), dim(o) %||% length(o)), "float32"))
  run <- function(dt) fb(op, lapply(inputs, mx.nd.array, dtype = dt), params,
                         lapply(G, mx.nd.array, dtype = dt))$grads
  g64 <- run("float64")
  g32 <- run("float32")
  for (j in wrt) {
    expect_identical(mx.nd.dtype(g32[[j]]), "float32")
    expect_nd_equal(g32[[j]], as.array(g64[[j]]), tolerance = tol)
  }
}

# Random values in [lo, hi] kept at least `gap` away from the points in `avoid`.
rvals <- function(d, lo, hi, avoid = numeric(0), gap = 0.05) {
  v <- runif(prod(d), lo, hi)
  for (a in avoid) v[abs(v - a) < gap] <- a + gap * sign(v[abs(v - a) < gap] - a + 1e-300)
  array(v, d)
}

test_that("smooth unary ops have correct gradients", {
  set.seed(101)
  d <- c(3, 4, 2)
  domains <- list(
    abs = c(-2, 2), sqrt = c(0.3, 3), rsqrt = c(0.3, 3), square = c(-2, 2), exp = c(-2, 2),
    log = c(0.3, 3), log1p = c(-0.6, 3), expm1 = c(-2, 2), log2 = c(0.3, 3), log10 = c(0.3, 3),
    sin = c(-3, 3), cos = c(-3, 3), tan = c(-1.2, 1.2), arcsin = c(-0.9, 0.9),
    arccos = c(-0.9, 0.9), arctan = c(-3, 3), sinh = c(-2, 2), cosh = c(-2, 2), tanh = c(-2, 2),
    arcsinh = c(-3, 3), arccosh = c(1.2, 4), arctanh = c(-0.9, 0.9), sigmoid = c(-4, 4),
    relu = c(-2, 2), softsign = c(-3, 3), negative = c(-2, 2), reciprocal = c(0.3, 3),
    cbrt = c(0.2, 3), gamma = c(0.4, 4), gammaln = c(0.2, 6), degrees = c(-3, 3),
    radians = c(-100, 100), identity = c(-2, 2), `_copy` = c(-2, 2))
  for (op in names(domains)) {
    r <- domains[[op]]
    x <- rvals(d, r[1], r[2], avoid = if (op %in% c("abs", "relu", "softsign")) 0 else numeric(0))
    check_grad(op, list(x), label = op)
  }
  # negative arguments: cbrt, reciprocal, gamma/gammaln between the poles
  check_grad("cbrt", list(array(runif(8, -3, -0.2), c(2, 4))))
  check_grad("reciprocal", list(array(runif(8, -3, -0.3), c(2, 4))))
  check_grad("gamma", list(array(runif(8, -2.9, -2.1), c(2, 4))))
  check_grad("gammaln", list(array(runif(8, -3.9, -3.1), c(2, 4))))
  # one element and 8 dimensions
  check_grad("tanh", list(array(0.3, 1)))
  check_grad("exp", list(array(runif(2^8, -1, 1), rep(2, 8))), n.check = 10)
})

test_that("gammaln's gradient is the digamma function", {
  x <- c(1e-3, 0.1, 0.5, 1, 1.5, 2, 3.7, 9.99, 10, 25, 1e3, 1e6, -0.5, -1.5, -2.25, -10.3)
  g <- fb("gammaln", list(mx.nd.array(x, dtype = "float64")), NULL,
          list(mx.nd.ones(length(x), dtype = "float64")))$grads[[1]]
  expect_nd_equal(g, digamma(x), tolerance = 1e-12)
  # poles give NaN
  g <- fb("gammaln", list(mx.nd.array(c(0, -2), dtype = "float64")), NULL,
          list(mx.nd.ones(2, dtype = "float64")))$grads[[1]]
  expect_true(all(is.nan(as.array(g))))
  # gamma: gamma(x) digamma(x)
  x <- c(0.3, 1.7, 4.2, -1.5)
  g <- fb("gamma", list(mx.nd.array(x, dtype = "float64")), NULL,
          list(mx.nd.ones(4, dtype = "float64")))$grads[[1]]
  expect_nd_equal(g, gamma(x) * digamma(x), tolerance = 1e-12)
})

test_that("zero-gradient ops give exact zeros", {
  set.seed(102)
  x <- array(runif(24, -3, 3), c(4, 6))
  x[abs(x - round(x)) < 0.05] <- 0.3          # away from the jumps of floor/ceil
  x[abs(x - round(x) - 0.5) < 0.05] <- 0.3    # ... and of round/rint
  for (op in c("sign", "round", "rint", "floor", "ceil", "trunc", "fix", "logical_not",
               "zeros_like", "ones_like")) {
    g <- check_grad(op, list(x), label = op)
    expect_true(all(g[[1]] == 0), label = op)
  }
  # also float32, and float16 where the op takes it (nothing is computed)
  zero_in <- function(op, dt) {
    r <- fb(op, list(mx.nd.array(x, dtype = dt)), NULL, list(mx.nd.ones(dim(x), dtype = dt)))
    expect_identical(mx.nd.dtype(r$grads[[1]]), dt)
    expect_true(all(as.array(r$grads[[1]]) == 0))
  }
  for (op in c("sign", "floor", "zeros_like", "ones_like")) zero_in(op, "float32")
  for (op in c("zeros_like", "ones_like")) zero_in(op, "float16")
})

test_that("relu and abs use MXNet's values at 0", {
  x <- mx.nd.array(c(-1, 0, 2), dtype = "float64")
  og <- list(mx.nd.array(c(5, 6, 7), dtype = "float64"))
  expect_nd_equal(fb("relu", list(x), NULL, og)$grads[[1]], c(0, 0, 7))
  expect_nd_equal(fb("abs", list(x), NULL, og)$grads[[1]], c(-5, 0, 7))
})

test_that("clip passes the gradient where a_min <= x <= a_max", {
  set.seed(103)
  x <- rvals(c(5, 4), -3, 3, avoid = c(-1, 1.5))
  g <- check_grad("clip", list(x), list(a_min = -1, a_max = 1.5))
  expect_true(all(g[[1]][x < -1 | x > 1.5] == 0))
  # the bounds themselves are inside (MXNet)
  r <- fb("clip", list(mx.nd.array(c(-2, -1, 0, 1.5, 2), dtype = "float64")),
          list(a_min = -1, a_max = 1.5), list(mx.nd.array(c(1, 2, 3, 4, 5), dtype = "float64")))
  expect_nd_equal(r$grads[[1]], c(0, 2, 3, 4, 0))
  r <- fb("clip", list(mx.nd.array(c(-2, -1, 0, 1.5, 2), dtype = "float32")),
          list(a_min = -1, a_max = 1.5), list(mx.nd.array(c(1, 2, 3, 4, 5), dtype = "float32")))
  expect_nd_equal(r$grads[[1]], c(0, 2, 3, 4, 0))
})

test_that("Cast converts the gradient back to the input dtype", {
  set.seed(104)
  x <- array(runif(6, -2, 2), c(2, 3))
  check_grad("Cast", list(x), list(dtype = "float64"))
  og <- in_dtype(array(runif(6, -1, 1), c(2, 3)), "float32")
  r <- fb("Cast", list(mx.nd.array(x, dtype = "float64")), list(dtype = "float32"),
          list(mx.nd.array(og, dtype = "float32")))
  expect_identical(mx.nd.dtype(r$outputs[[1]]), "float32")
  expect_identical(mx.nd.dtype(r$grads[[1]]), "float64")
  expect_nd_equal(r$grads[[1]], og, tolerance = 0)
  og <- array(runif(6, -1, 1), c(2, 3))
  r <- fb("cast", list(mx.nd.array(x, dtype = "float32")), list(dtype = "float64"),
          list(mx.nd.array(og, dtype = "float64")))
  expect_identical(mx.nd.dtype(r$grads[[1]]), "float32")
  expect_nd_equal(r$grads[[1]], in_dtype(og, "float32"), tolerance = 0)
  # to float16 and back
  r <- fb("Cast", list(mx.nd.array(x, dtype = "float32")), list(dtype = "float16"),
          list(mx.nd.array(array(c(0.5, 1, -2, 4, 0.25, 8), c(2, 3)), dtype = "float16")))
  expect_nd_equal(r$grads[[1]], array(c(0.5, 1, -2, 4, 0.25, 8), c(2, 3)), tolerance = 0)
  # an integer input has no gradient
  expect_error(fb("Cast", list(mx.nd.array(1:3, dtype = "int32")), list(dtype = "float32"),
                  list(mx.nd.ones(3))), "floating-point")
})

test_that("float32 gradients agree with float64", {
  set.seed(105)
  d <- c(7, 5)
  cmp32("tanh", list(array(runif(35, -3, 3), d)))
  cmp32("sigmoid", list(array(runif(35, -5, 5), d)))
  cmp32("exp", list(array(runif(35, -2, 2), d)))
  cmp32("sqrt", list(array(runif(35, 0.2, 4), d)))
  cmp32("relu", list(array(runif(35, -2, 2), d)))
  cmp32("log", list(array(runif(35, 0.2, 4), d)))
  cmp32("sin", list(array(runif(35, -3, 3), d)))
  cmp32("arctan", list(array(runif(35, -3, 3), d)))
  cmp32("softsign", list(array(runif(35, -3, 3), d)))
  cmp32("gammaln", list(array(runif(35, 0.5, 5), d)), tol = 1e-4)
  cmp32("clip", list(array(runif(35, -3, 3), d)), list(a_min = -1, a_max = 1))
  # large enough for several threads
  cmp32("tanh", list(array(runif(70000, -3, 3), c(700, 100))))
})

test_that("gradients of integer arrays are an error", {
  x <- mx.nd.array(c(1, 2, 3), dtype = "int32")
  expect_error(fb("abs", list(x), NULL, list(x)), "floating-point")
  expect_error(fb("exp", list(x), NULL, list(x)), "floating-point")
  expect_error(fb("identity", list(x), NULL, list(x)), "floating-point")
  expect_error(fb("floor", list(x), NULL, list(x)), "floating-point")
  expect_error(fb("clip", list(x), list(a_min = 0, a_max = 2), list(x)), "floating-point")
})
