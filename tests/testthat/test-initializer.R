# Initializers: name rules, distributions, Xavier scale, reproducibility.

default <- mxnet:::mx.init.internal.default

test_that("mx.init.internal.default follows the name suffix rules", {
  zeros <- c("fc1_bias", "bn_beta", "bn_moving_mean", "x_moving_avg")
  ones <- c("bn_gamma", "bn_moving_var", "bn_moving_inv_var")
  for (n in zeros) {
    a <- default(n, c(2, 3), mx.cpu())
    expect_equal(dim(a), c(2L, 3L))
    expect_true(all(as.array(a) == 0), info = n)
  }
  for (n in ones) expect_true(all(as.array(default(n, 4, mx.cpu())) == 1), info = n)
  expect_null(default("data", c(2, 3), mx.cpu()))
  expect_null(default("softmax_label", 10, mx.cpu()))
  expect_error(default("conv_foo", 3, mx.cpu()), "conv_foo", class = "mxnet_value_error")
  # MXNet 1.9.1's message, which its own test matches
  expect_error(default("X", c(5, 10), mx.cpu()), "Unkown initialization pattern for  X")
  expect_null(default("conv_foo", 3, mx.cpu(), allow.unknown = TRUE))
})

test_that("initializers randomise *weight and apply the defaults elsewhere", {
  for (init in list(mx.init.uniform(0.5), mx.init.normal(2), mx.init.Xavier())) {
    w <- init("fc_weight", c(20, 30), mx.cpu())
    expect_true(is.mx.ndarray(w))
    expect_equal(dim(w), c(20L, 30L))
    expect_gt(length(unique(as.vector(as.array(w)))), 500)
    expect_true(all(as.array(init("fc_bias", 30, mx.cpu())) == 0))
    expect_true(all(as.array(init("bn_gamma", 30, mx.cpu())) == 1))
    expect_null(init("data", c(20, 8), mx.cpu()))
    expect_error(init("fc_foo", 3, mx.cpu()), "fc_foo")
    expect_null(init("fc_foo", 3, mx.cpu(), allow.unknown = TRUE))
  }
})

test_that("uniform and normal initializers have the requested spread", {
  set.seed(1)
  u <- as.vector(as.array(mx.init.uniform(0.07)("w_weight", c(200, 500), mx.cpu())))
  expect_true(all(u >= -0.07 & u <= 0.07))
  expect_gt(max(u), 0.069)
  expect_lt(min(u), -0.069)
  expect_equal(sd(u), 0.07 / sqrt(3), tolerance = 0.02)
  n <- as.vector(as.array(mx.init.normal(0.3)("w_weight", c(200, 500), mx.cpu())))
  expect_equal(mean(n), 0, tolerance = 0.01)
  expect_equal(sd(n), 0.3, tolerance = 0.02)
})

test_that("Xavier scale uses fan_out = last R dim, fan_in = the others", {
  set.seed(2)
  shape <- c(5, 5, 8, 40)        # conv weight: kernel 5x5, 8 inputs, 40 filters
  fan_in <- 5 * 5 * 8
  fan_out <- 40
  for (ft in c("avg", "in", "out")) {
    f <- switch(ft, avg = (fan_in + fan_out) / 2, "in" = fan_in, out = fan_out)
    s <- sqrt(3 / f)
    x <- as.vector(as.array(mx.init.Xavier(factor_type = ft)("c_weight", shape, mx.cpu())))
    expect_true(all(abs(x) <= s * (1 + 1e-6)), info = ft)
    expect_gt(max(abs(x)), 0.99 * s)
    expect_equal(sd(x), s / sqrt(3), tolerance = 0.03)
  }
  s <- sqrt(2 / ((300 + 100) / 2))
  g <- as.vector(as.array(mx.init.Xavier("gaussian", "avg", 2)("fc_weight", c(300, 100), mx.cpu())))
  expect_equal(mean(g), 0, tolerance = 0.01)
  expect_equal(sd(g), s, tolerance = 0.02)
  expect_error(mx.init.Xavier(rnd_type = "triangle"))
  expect_error(mx.init.Xavier(factor_type = "sum"))
})

test_that("set.seed makes initialisation reproducible", {
  shapes <- list(fc1_weight = c(10, 20), fc1_bias = 20, fc2_weight = c(20, 3))
  set.seed(11)
  a <- mx.init.create(mx.init.Xavier(), shapes, mx.cpu())
  set.seed(11)
  b <- mx.init.create(mx.init.Xavier(), shapes, mx.cpu())
  set.seed(12)
  c2 <- mx.init.create(mx.init.Xavier(), shapes, mx.cpu())
  for (n in names(shapes)) expect_identical(as.array(a[[n]]), as.array(b[[n]]))
  expect_false(identical(as.array(a$fc1_weight), as.array(c2$fc1_weight)))
  # the two weights are different draws
  expect_false(isTRUE(all.equal(as.vector(as.array(a$fc1_weight))[1:60],
                                as.vector(as.array(a$fc2_weight)))))
})

test_that("mx.init.create builds a named list of arrays with the given shapes", {
  shapes <- list(data = c(28, 28, 1, 64), conv_weight = c(5, 5, 1, 20), conv_bias = 20,
                 bn_moving_var = 20, softmax_label = 64)
  p <- mx.init.create(mx.init.uniform(0.01), shapes, mx.cpu())
  expect_named(p, c("conv_weight", "conv_bias", "bn_moving_var"))
  expect_equal(dim(p$conv_weight), c(5L, 5L, 1L, 20L))
  expect_equal(dim(p$conv_bias), 20L)
  expect_equal(mx.nd.dtype(p$conv_weight), "float32")
  expect_equal(mx.init.create(mx.init.uniform(0.01), list()), list())
  # unknown names: dropped by default, an error otherwise
  p <- mx.init.create(mx.init.uniform(0.01), list(fc_weight = c(2, 2), mystery = 3))
  expect_named(p, "fc_weight")
  expect_error(mx.init.create(mx.init.uniform(0.01), list(mystery = 3), skip.unknown = FALSE),
               "mystery")
  expect_error(mx.init.create("uniform", list(a_weight = 2)), "initializer")
})
