# NN layers, losses and normalisation (src/ops/nn.c) against R references.
#
# References are written on "C-order" R arrays: an R array whose dim() is the
# engine shape (d0, ..., dk), indexed [i0, ..., ik] like the engine. cperm()
# converts between that and the R order the package uses at its boundary.

cperm <- function(a) {
  d <- dim(a)
  if (length(d) > 1L) aperm(a, rev(seq_along(d))) else a
}
ndc <- function(a, dtype = "float64") mx.nd.array(cperm(a), dtype = dtype)
asc <- function(nd) cperm(as.array(nd))
expect_c <- function(nd, expected, dtype, tol = NULL)
  expect_nd_equal(nd, cperm(expected), tolerance = tol, dtype = dtype)
# random C-order array, rounded to the dtype
rnd <- function(dims, dtype = "float64", lo = -2, hi = 2)
  cperm(in_dtype(cperm(array(runif(prod(dims), lo, hi), dims)), dtype))
fb <- function(op, inputs, params = NULL, og = NULL, is.train = TRUE) {
  if (is.null(og)) {
    o <- mxnet:::nd.invoke(op, inputs, params)
    if (inherits(o, "MXNDArray")) o <- list(o)
    og <- lapply(o, function(a) mx.nd.ones(dim(a), dtype = mx.nd.dtype(a)))
  }
  mxnet:::nd.forward.backward(op, inputs, params, og, is.train)
}
FT <- c("float32", "float64")
tol32 <- function(dt, t = 1e-5) if (dt == "float32") t else 1e-12

# softmax of a C-order array along C axis ax (0-based)
softmax_ref <- function(a, ax, log = FALSE) {
  d <- dim(a)
  if (is.null(d)) d <- length(a)
  a <- array(a, d)
  m <- setdiff(seq_along(d), ax + 1L)
  f <- function(v) {
    z <- v - max(v)
    if (log) z - log(sum(exp(z))) else exp(z) / sum(exp(z))
  }
  if (!length(m)) return(array(f(a), d))
  r <- apply(a, m, f)
  r <- array(r, c(d[ax + 1L], d[m]))
  aperm(r, order(c(ax + 1L, m)))
}

# ------------------------------------------------------------ FullyConnected

test_that("FullyConnected matches data %*% t(weight) + bias", {
  set.seed(1)
  for (dt in FT) {
    for (N in c(3L, 1L)) {
      X <- rnd(c(N, 2, 3), dt); W <- rnd(c(4, 6), dt); b <- rnd(4, dt)
      Xf <- t(matrix(cperm(X), ncol = N))                  # (N, 6), rows in C order
      ref <- Xf %*% t(W) + matrix(b, N, 4, byrow = TRUE)
      y <- mxnet:::nd.invoke("FullyConnected", list(ndc(X, dt), ndc(W, dt), ndc(b, dt)),
                             list(num_hidden = 4))
      expect_c(y, ref, dt, tol32(dt))
      y0 <- mxnet:::nd.invoke("FullyConnected", list(ndc(X, dt), ndc(W, dt)),
                              list(num_hidden = 4, no_bias = TRUE))
      expect_c(y0, Xf %*% t(W), dt, tol32(dt))
    }
    # flatten = FALSE: the layer acts on the last engine axis
    X <- rnd(c(2, 3, 5), dt); W <- rnd(c(4, 5), dt); b <- rnd(4, dt)
    ref <- array(0, c(2, 3, 4))
    for (i in 1:2) for (j in 1:3) ref[i, j, ] <- W %*% X[i, j, ] + as.vector(b)
    y <- mxnet:::nd.invoke("FullyConnected", list(ndc(X, dt), ndc(W, dt), ndc(b, dt)),
                           list(num_hidden = 4, flatten = FALSE))
    expect_c(y, ref, dt, tol32(dt))
  }
  # the generated wrapper (R order: data c(K, N), weight c(K, H))
  x <- matrix(runif(6), 3, 2); w <- matrix(runif(12), 3, 4)
  y <- mx.nd.FullyConnected(mx.nd.array(x, dtype = "float64"), mx.nd.array(w, dtype = "float64"),
                            mx.nd.array(1:4, dtype = "float64"), num_hidden = 4)
  expect_nd_equal(y, crossprod(w, x) + 1:4)
  # empty batch
  y <- mxnet:::nd.invoke("FullyConnected", list(mx.nd.zeros(c(5, 0)), mx.nd.ones(c(5, 2)),
                                                mx.nd.ones(2)), list(num_hidden = 2))
  expect_equal(dim(as.array(y)), c(2L, 0L))
})

test_that("FullyConnected infers and checks weight and bias shapes", {
  x <- mx.nd.ones(c(3, 4, 2))             # engine (2, 4, 3): 12 inputs per row
  expect_error(mxnet:::nd.invoke("FullyConnected", list(x, mx.nd.ones(c(11, 5)), mx.nd.ones(5)),
                                 list(num_hidden = 5)),
               "input 'weight' has shape c\\(11, 5\\), expected c\\(12, 5\\)")
  expect_error(mxnet:::nd.invoke("FullyConnected", list(x, mx.nd.ones(c(12, 5)), mx.nd.ones(4)),
                                 list(num_hidden = 5)),
               "input 'bias' has shape c\\(4\\), expected c\\(5\\)")
  expect_error(mxnet:::nd.invoke("FullyConnected", list(x, mx.nd.ones(c(12, 5))),
                                 list(num_hidden = 5)), "expects 3 inputs")
  expect_error(mxnet:::nd.invoke("FullyConnected", list(x, mx.nd.ones(c(12, 5)), mx.nd.ones(5)), NULL),
               "num_hidden")
  expect_error(mxnet:::nd.invoke("FullyConnected", list(x, mx.nd.ones(c(12, 0))),
                                 list(num_hidden = 0, no_bias = TRUE)), "num_hidden")
  y <- mxnet:::nd.invoke("FullyConnected", list(x, mx.nd.ones(c(3, 5))),
                         list(num_hidden = 5, no_bias = TRUE, flatten = FALSE))
  expect_equal(dim(as.array(y)), c(5L, 4L, 2L))
  expect_equal(as.vector(as.array(y)), rep(3, 40))
})

# ---------------------------------------------------------------- Activation

test_that("Activation computes relu, sigmoid, tanh, softrelu and softsign", {
  set.seed(2)
  f <- list(relu = function(x) pmax(x, 0), sigmoid = function(x) 1 / (1 + exp(-x)),
            tanh = tanh, softrelu = function(x) ifelse(x > 20, x, log1p(exp(x))),
            softsign = function(x) x / (1 + abs(x)))
  for (dt in FT) {
    x <- in_dtype(array(c(runif(200, -12, 12), runif(100, -0.7, 0.7), 0, -25, 25, 1e-4, -1e-4),
                        c(5, 61)), dt)
    for (a in names(f)) {
      y <- mx.nd.Activation(mx.nd.array(x, dtype = dt), act_type = a)
      expect_nd_equal(y, f[[a]](x), tolerance = if (dt == "float32") 2e-6 else 1e-14)
    }
  }
  # large arrays take the parallel path
  x <- array(runif(70000, -5, 5), c(700, 100))
  expect_nd_equal(mx.nd.Activation(mx.nd.array(x, dtype = "float64"), act_type = "tanh"), tanh(x))
  # NaN propagates, infinities saturate (float32 takes the fast formulas)
  sp <- c(NaN, Inf, -Inf)
  for (dt in FT) {
    X <- mx.nd.array(sp, dtype = dt)
    expect_nd_equal(mx.nd.Activation(X, act_type = "tanh"), c(NaN, 1, -1))
    expect_nd_equal(mx.nd.Activation(X, act_type = "sigmoid"), c(NaN, 1, 0))
    expect_nd_equal(mx.nd.Activation(X, act_type = "relu"), c(NaN, Inf, 0))
    expect_nd_equal(mx.nd.Activation(X, act_type = "softsign"), c(NaN, NaN, NaN))
  }
  expect_error(mx.nd.Activation(mx.nd.ones(2), act_type = "swish"), "act_type")
  expect_equal(dim(as.array(mx.nd.Activation(mx.nd.zeros(c(0, 3)), act_type = "relu"))), c(0L, 3L))
})

# ----------------------------------------------------------------- LeakyReLU

test_that("LeakyReLU computes leaky, elu, selu, gelu, prelu and rrelu", {
  set.seed(3)
  al <- 1.6732632423543772848170429916717; la <- 1.0507009873554804934193349852946
  for (dt in FT) {
    x <- rnd(c(2, 3, 4), dt, -3, 3)
    X <- ndc(x, dt)
    tl <- tol32(dt, 2e-6)
    expect_c(mxnet:::nd.invoke("LeakyReLU", list(X), NULL), ifelse(x > 0, x, 0.25 * x), dt, tl)
    expect_c(mxnet:::nd.invoke("LeakyReLU", list(X), list(act_type = "leaky", slope = 0.1)),
             ifelse(x > 0, x, 0.1 * x), dt, tl)
    expect_c(mxnet:::nd.invoke("LeakyReLU", list(X), list(act_type = "elu", slope = 0.7)),
             ifelse(x > 0, x, 0.7 * expm1(x)), dt, tl)
    expect_c(mxnet:::nd.invoke("LeakyReLU", list(X), list(act_type = "selu")),
             la * ifelse(x > 0, x, al * expm1(x)), dt, tl)
    expect_c(mxnet:::nd.invoke("LeakyReLU", list(X), list(act_type = "gelu")),
             x * pnorm(x), dt, tl)
    # prelu: one slope per channel (engine axis 1), or one for all
    g <- rnd(3, dt, 0, 1)
    ref <- x
    for (ch in 1:3) ref[, ch, ] <- ifelse(x[, ch, ] > 0, x[, ch, ], g[ch] * x[, ch, ])
    expect_c(mxnet:::nd.invoke("LeakyReLU", list(X, ndc(g, dt)), list(act_type = "prelu")), ref, dt, tl)
    expect_c(mxnet:::nd.invoke("LeakyReLU", list(X, mx.nd.array(0.5, dtype = dt)), list(act_type = "prelu")),
             ifelse(x > 0, x, 0.5 * x), dt, tl)
    # rrelu at inference: the mean slope
    expect_c(mxnet:::nd.invoke("LeakyReLU", list(X), list(act_type = "rrelu", lower_bound = 0.1, upper_bound = 0.3)),
             ifelse(x > 0, x, 0.2 * x), dt, tl)
  }
  expect_error(mxnet:::nd.invoke("LeakyReLU", list(mx.nd.ones(c(4, 3, 2)), mx.nd.ones(2)),
                                 list(act_type = "prelu")), "gamma")
  # rrelu in training: a random slope per element in [lower, upper), reproducible
  x <- -array(runif(2000, 0.5, 1), c(40, 50))
  run <- function() {
    set.seed(9)
    r <- fb("LeakyReLU", list(mx.nd.array(x, dtype = "float64")),
            list(act_type = "rrelu", lower_bound = 0.1, upper_bound = 0.3))
    list(y = as.array(r$outputs[[1]]), g = as.array(r$grads[[1]]))
  }
  a <- run(); b <- run()
  s <- a$y / x
  expect_true(all(s >= 0.1 & s < 0.3))
  expect_gt(sd(as.vector(s)), 0.03)
  expect_identical(a$y, b$y)
  expect_equal(a$g, s)                     # gradient = the slope used
})

# ------------------------------------------------------- softmax, log_softmax

test_that("softmax and log_softmax normalise along an axis", {
  set.seed(4)
  for (dt in FT) {
    x <- rnd(c(3, 4, 5), dt, -4, 4)
    for (ax in 0:2) {
      expect_c(mx.nd.softmax(ndc(x, dt), axis = ax), softmax_ref(x, ax), dt, tol32(dt))
      expect_c(mx.nd.log.softmax(ndc(x, dt), axis = ax), softmax_ref(x, ax, log = TRUE), dt, tol32(dt))
    }
    expect_c(mx.nd.softmax(ndc(x, dt)), softmax_ref(x, 2), dt, tol32(dt))
    expect_c(mx.nd.softmax(ndc(x, dt), temperature = 2.5), softmax_ref(x / 2.5, 2), dt, tol32(dt))
    expect_c(mx.nd.log.softmax(ndc(x, dt), axis = 1, temperature = 0.5),
             softmax_ref(x / 0.5, 1, log = TRUE), dt, tol32(dt))
  }
  # one class: all ones; large values stay finite
  expect_nd_equal(mx.nd.softmax(mx.nd.array(matrix(c(3, -1, 1000), 1, 3))), matrix(1, 1, 3))
  y <- as.array(mx.nd.softmax(mx.nd.array(c(1000, 0, -1000), dtype = "float64")))
  expect_equal(as.vector(y), c(1, exp(-1000), 0))
  expect_error(mx.nd.softmax(mx.nd.ones(c(2, 2)), axis = 2), "axis")
  expect_error(mx.nd.softmax(mx.nd.ones(c(2, 2)), temperature = 0), "temperature")
})

# ------------------------------------------------------------- SoftmaxOutput

onehot <- function(lab, K) outer(lab, 0:(K - 1), "==") * 1

test_that("SoftmaxOutput forward is the softmax over classes", {
  set.seed(5)
  for (dt in FT) {
    x <- rnd(c(4, 6), dt, -3, 3)
    lab <- ndc(c(0, 5, 2, 1), dt)
    expect_c(mx.nd.SoftmaxOutput(ndc(x, dt), lab), softmax_ref(x, 1), dt, tol32(dt))
    expect_c(mx.nd.Softmax(ndc(x, dt), lab), softmax_ref(x, 1), dt, tol32(dt))
    # default: (N, rest) flattened
    x4 <- rnd(c(2, 3, 2, 2), dt)
    ref <- array(t(softmax_ref(t(matrix(cperm(x4), ncol = 2)), 1)), c(12, 2))
    y <- mx.nd.SoftmaxOutput(ndc(x4, dt), ndc(c(0, 1), dt))
    expect_nd_equal(y, array(ref, c(2, 2, 3, 2)), tolerance = tol32(dt))
    # multi_output: axis 1 at each position
    expect_c(mx.nd.SoftmaxOutput(ndc(x4, dt), ndc(array(0, c(2, 2, 2)), dt), multi_output = TRUE),
             softmax_ref(x4, 1), dt, tol32(dt))
    # preserve_shape: the last axis
    expect_c(mx.nd.SoftmaxOutput(ndc(x4, dt), ndc(array(0, c(2, 3, 2)), dt), preserve_shape = TRUE),
             softmax_ref(x4, 3), dt, tol32(dt))
  }
  # one class and an empty batch
  expect_nd_equal(mx.nd.SoftmaxOutput(mx.nd.array(matrix(1:3, 1, 3)), mx.nd.zeros(3)), matrix(1, 1, 3))
  expect_equal(dim(as.array(mx.nd.SoftmaxOutput(mx.nd.zeros(c(5, 0)), mx.nd.zeros(0)))), c(5L, 0L))
  # label shapes
  expect_error(mx.nd.SoftmaxOutput(mx.nd.ones(c(5, 4)), mx.nd.zeros(3)), "input 'label' has shape")
  expect_error(mx.nd.SoftmaxOutput(mx.nd.ones(c(2, 2, 3, 2)), mx.nd.zeros(c(2, 2, 3)), multi_output = TRUE),
               "label")
  y <- mx.nd.SoftmaxOutput(mx.nd.ones(c(2, 2, 3, 2)), mx.nd.zeros(c(4, 2)), multi_output = TRUE)
  expect_equal(dim(as.array(y)), c(2L, 2L, 3L, 2L))
})

test_that("SoftmaxOutput gradient is (softmax - onehot(label)) * grad_scale, normalised", {
  set.seed(6)
  for (dt in FT) {
    N <- 5; K <- 4
    x <- rnd(c(N, K), dt)
    lab <- c(0, 3, 3, -1, 1)
    P <- softmax_ref(x, 1)
    go <- function(params, labels = lab) {
      r <- fb("SoftmaxOutput", list(ndc(x, dt), ndc(labels, dt)), params)
      r$grads[[1]]
    }
    lab0 <- c(0, 3, 3, 2, 1)
    expect_c(go(NULL, lab0), P - onehot(lab0, K), dt, tol32(dt))
    expect_c(go(list(grad_scale = 2.5), lab0), 2.5 * (P - onehot(lab0, K)), dt, tol32(dt))
    expect_c(go(list(normalization = "batch"), lab0), (P - onehot(lab0, K)) / N, dt, tol32(dt))
    ign <- lab == -1
    G <- P - onehot(lab, K); G[ign, ] <- 0
    expect_c(go(list(use_ignore = TRUE)), G, dt, tol32(dt))
    expect_c(go(list(use_ignore = TRUE, normalization = "valid", grad_scale = 3)), 3 * G / 4, dt, tol32(dt))
    expect_c(go(list(use_ignore = TRUE, normalization = "batch")), G / N, dt, tol32(dt))
    # another ignore label
    lab2 <- c(0, 2, 2, 1, 2)
    G2 <- P - onehot(lab2, K); G2[lab2 == 2, ] <- 0
    expect_c(go(list(use_ignore = TRUE, ignore_label = 2, normalization = "valid"), lab2), G2 / 2, dt, tol32(dt))
    # label smoothing
    a <- 0.3
    Tg <- onehot(lab0, K) * (1 - a) + (1 - onehot(lab0, K)) * a / (K - 1)
    expect_c(go(list(smooth_alpha = a), lab0), P - Tg, dt, tol32(dt))
    # the output gradient is ignored
    r <- mxnet:::nd.forward.backward("SoftmaxOutput", list(ndc(x, dt), ndc(lab0, dt)), NULL,
                                     list(mx.nd.array(array(7, c(K, N)), dtype = dt)))
    expect_c(r$grads[[1]], P - onehot(lab0, K), dt, tol32(dt))
    expect_equal(as.vector(as.array(r$grads[[2]])), rep(0, N))
  }
  # multi_output: positions of each example, batch normalisation divides by N
  x <- rnd(c(2, 3, 2, 2))
  lab <- array(sample(0:2, 8, TRUE), c(2, 2, 2))
  P <- softmax_ref(x, 1)
  G <- P
  for (n in 1:2) for (i in 1:2) for (j in 1:2) G[n, lab[n, i, j] + 1, i, j] <- G[n, lab[n, i, j] + 1, i, j] - 1
  r <- fb("SoftmaxOutput", list(ndc(x, "float64"), ndc(lab, "float64")),
          list(multi_output = TRUE, normalization = "batch"))
  expect_c(r$grads[[1]], G / 2, "float64")
  # preserve_shape
  x <- rnd(c(2, 3, 4)); lab <- matrix(sample(0:3, 6, TRUE), 2, 3)
  G <- softmax_ref(x, 2)
  for (i in 1:2) for (j in 1:3) G[i, j, lab[i, j] + 1] <- G[i, j, lab[i, j] + 1] - 1
  r <- fb("SoftmaxOutput", list(ndc(x, "float64"), ndc(lab, "float64")), list(preserve_shape = TRUE))
  expect_c(r$grads[[1]], G, "float64")
  # labels of another dtype, one class, empty batch
  r <- fb("SoftmaxOutput", list(mx.nd.array(matrix(0, 3, 2)), mx.nd.array(c(1, 2), dtype = "int32")), NULL)
  expect_nd_equal(r$grads[[1]], matrix(c(1, -2, 1, 1, 1, -2) / 3, 3, 2))
  r <- fb("SoftmaxOutput", list(mx.nd.array(matrix(2, 1, 3)), mx.nd.zeros(3)), NULL)
  expect_nd_equal(r$grads[[1]], matrix(0, 1, 3))
  r <- fb("SoftmaxOutput", list(mx.nd.zeros(c(4, 0)), mx.nd.zeros(0)), list(normalization = "valid"))
  expect_equal(dim(as.array(r$grads[[1]])), c(4L, 0L))
})

test_that("SoftmaxOutput reports bad labels instead of reading out of bounds", {
  x <- mx.nd.ones(c(3, 2))
  expect_error(fb("SoftmaxOutput", list(x, mx.nd.array(c(0, 3))), NULL),
               "label 3 \\(element 2 of 'label'\\) is not a class index in \\[0, 3\\)")
  expect_error(fb("SoftmaxOutput", list(x, mx.nd.array(c(-1, 0))), NULL), "label -1.*use_ignore")
  expect_error(fb("SoftmaxOutput", list(x, mx.nd.array(c(-2, 0))), list(use_ignore = TRUE)), "label -2")
  expect_error(fb("SoftmaxOutput", list(x, mx.nd.array(c(NaN, 0))), NULL), "label nan")
  expect_error(fb("SoftmaxOutput", list(x, mx.nd.array(c(0, 1))), list(out_grad = TRUE)), "out_grad")
})

# ------------------------------------------------------ regression outputs

test_that("regression outputs and their gradients follow MXNet's formulas", {
  set.seed(7)
  for (dt in FT) {
    x <- rnd(c(4, 3), dt); l <- rnd(c(4, 3), dt)
    X <- ndc(x, dt); L <- ndc(l, dt)
    expect_c(mx.nd.LinearRegressionOutput(X, L), x, dt)
    expect_c(mx.nd.MAERegressionOutput(X, L), x, dt)
    s <- 1 / (1 + exp(-x))
    expect_c(mx.nd.LogisticRegressionOutput(X, L), s, dt, tol32(dt, 2e-6))
    r <- fb("LinearRegressionOutput", list(X, L), list(grad_scale = 2))
    expect_c(r$grads[[1]], (x - l) * 2 / 3, dt, tol32(dt))
    expect_equal(as.vector(as.array(r$grads[[2]])), rep(0, 12))
    r <- fb("LogisticRegressionOutput", list(X, L), NULL)
    expect_c(r$grads[[1]], (s - l) / 3, dt, tol32(dt))
    r <- fb("MAERegressionOutput", list(X, L), list(grad_scale = 0.5))
    expect_c(r$grads[[1]], sign(x - l) * 0.5 / 3, dt, tol32(dt))
  }
  # data (N, 1) takes a label (N,); num_output is then 1
  x <- rnd(c(5, 1)); l <- rnd(5)
  r <- fb("LinearRegressionOutput", list(ndc(x), ndc(l)), NULL)
  expect_c(r$grads[[1]], x - as.vector(l), "float64")
  expect_error(mx.nd.LinearRegressionOutput(mx.nd.ones(c(3, 4)), mx.nd.ones(c(4, 3))), "label")
  expect_error(mx.nd.LinearRegressionOutput(mx.nd.ones(c(3, 4)), mx.nd.ones(4)), "label")
  # batch of one, empty batch
  r <- fb("MAERegressionOutput", list(mx.nd.array(matrix(c(1, 2), 2, 1)), mx.nd.array(matrix(c(2, 2), 2, 1))), NULL)
  expect_nd_equal(r$grads[[1]], matrix(c(-0.5, 0), 2, 1))
  y <- mx.nd.LogisticRegressionOutput(mx.nd.zeros(c(2, 0)), mx.nd.zeros(c(2, 0)))
  expect_equal(dim(as.array(y)), c(2L, 0L))
})

test_that("MakeLoss passes the data and has gradient grad_scale", {
  x <- array(c(-1, 0.5, 2, 0, 3, -2), c(3, 2))
  X <- mx.nd.array(x, dtype = "float64")
  expect_nd_equal(mx.nd.MakeLoss(X), x)
  expect_nd_equal(mx.nd.make.loss(X), x)
  g <- function(params) as.array(fb("MakeLoss", list(X), params)$grads[[1]])
  expect_equal(as.vector(g(NULL)), rep(1, 6))
  expect_equal(as.vector(g(list(grad_scale = 3))), rep(3, 6))
  expect_equal(as.vector(g(list(normalization = "batch", grad_scale = 4))), rep(2, 6))   # 2 rows
  expect_equal(as.vector(g(list(normalization = "valid"))), rep(1 / 3, 6))              # 3 > 0
  expect_equal(as.vector(g(list(normalization = "valid", valid_thresh = 1))), rep(1 / 2, 6))
  expect_equal(as.vector(g(list(normalization = "valid", valid_thresh = 10))), rep(1, 6))
})

test_that("BlockGrad is the identity with a zero gradient", {
  x <- array(runif(24), c(2, 3, 4))
  for (dt in c(FT, "float16", "int32")) {
    X <- mx.nd.array(x, dtype = dt)
    expect_nd_equal(mx.nd.BlockGrad(X), as.array(X))
    expect_nd_equal(mx.nd.stop.gradient(X), as.array(X))
  }
  r <- fb("BlockGrad", list(mx.nd.array(x, dtype = "float64")), NULL)
  expect_true(all(as.array(r$grads[[1]]) == 0))
})

# -------------------------------------------------------------- SliceChannel

test_that("SliceChannel splits along an axis", {
  x <- array(1:48, c(4, 3, 4))                 # engine (4, 3, 4)
  for (dt in c(FT, "int32", "float16")) {
    X <- mx.nd.array(x, dtype = dt)
    s <- mx.nd.SliceChannel(X, num_outputs = 3)   # engine axis 1 = R dim 2
    expect_length(s, 3)
    for (k in 1:3) expect_nd_equal(s[[k]], x[, k, , drop = FALSE])
    s <- mx.nd.split(X, num_outputs = 2, axis = 0)  # R dim 3
    for (k in 1:2) expect_nd_equal(s[[k]], x[, , (2 * k - 1):(2 * k), drop = FALSE])
    s <- mx.nd.split(X, num_outputs = 4, axis = -1) # R dim 1
    for (k in 1:4) expect_nd_equal(s[[k]], x[k, , , drop = FALSE])
    s <- mx.nd.split(X, num_outputs = 3, axis = 1, squeeze_axis = TRUE)
    for (k in 1:3) expect_nd_equal(s[[k]], x[, k, ])
  }
  s <- mx.nd.split(mx.nd.array(array(1:6, c(3, 2))), num_outputs = 1, axis = 0)
  expect_nd_equal(s, array(1:6, c(3, 2)))
  expect_error(mx.nd.split(mx.nd.ones(c(4, 3, 4)), num_outputs = 2), "cannot be split")
  expect_error(mx.nd.split(mx.nd.ones(c(4, 4, 4)), num_outputs = 2, squeeze_axis = TRUE), "squeeze_axis")
  s17 <- mx.nd.split(mx.nd.array(matrix(1:136, 4, 34)), num_outputs = 17, axis = 0)
  expect_length(s17, 17L)
  expect_nd_equal(s17[[17]], matrix(1:136, 4, 34)[, 33:34])
  expect_error(mx.nd.split(mx.nd.ones(c(4, 2000)), num_outputs = 2000, axis = 0), "outputs")
  expect_error(mx.nd.split(mx.nd.ones(c(4, 4)), num_outputs = 2, axis = 2), "axis")
  # empty
  s <- mx.nd.split(mx.nd.zeros(c(0, 4)), num_outputs = 2, axis = 0)
  expect_equal(dim(as.array(s[[2]])), c(0L, 2L))
  # backward concatenates the output gradients
  og <- list(mx.nd.array(array(1, c(4, 1, 4)), dtype = "float64"),
             mx.nd.array(array(2, c(4, 1, 4)), dtype = "float64"),
             mx.nd.array(array(3, c(4, 1, 4)), dtype = "float64"))
  r <- mxnet:::nd.forward.backward("SliceChannel", list(mx.nd.array(x, dtype = "float64")),
                                   list(num_outputs = 3), og)
  expect_nd_equal(r$grads[[1]], array(rep(rep(1:3, each = 4), 4), c(4, 3, 4)))
})

# ----------------------------------------------------------------- BatchNorm

bn_ref <- function(x, gamma, beta, mean, var, eps) {
  y <- x
  for (ch in seq_along(gamma))
    y[, ch, , ] <- (x[, ch, , ] - mean[ch]) / sqrt(var[ch] + eps) * gamma[ch] + beta[ch]
  y
}
batch_stats <- function(x) {
  m <- apply(x, 2, mean)
  v <- vapply(seq_along(m), function(ch) mean((x[, ch, , ] - m[ch])^2), 0)
  list(mean = m, var = v)
}

test_that("BatchNorm at inference uses the moving statistics", {
  set.seed(8)
  for (dt in FT) {
    x <- rnd(c(2, 3, 2, 4), dt); g <- rnd(3, dt, 0.5, 1.5); b <- rnd(3, dt)
    mm <- rnd(3, dt); mv <- rnd(3, dt, 0.5, 2)
    ins <- list(ndc(x, dt), ndc(g, dt), ndc(b, dt), ndc(mm, dt), ndc(mv, dt))
    expect_c(mxnet:::nd.invoke("BatchNorm", ins, list(fix_gamma = FALSE)),
             bn_ref(x, g, b, mm, mv, 1e-3), dt, tol32(dt))
    expect_c(mxnet:::nd.invoke("BatchNorm", ins, NULL), bn_ref(x, rep(1, 3), b, mm, mv, 1e-3), dt, tol32(dt))
    expect_c(mx.nd.BatchNorm(ins[[1]], ins[[2]], ins[[3]], ins[[4]], ins[[5]], eps = 0.1, fix_gamma = FALSE),
             bn_ref(x, g, b, mm, mv, 0.1), dt, tol32(dt))
    # moving statistics untouched at inference
    expect_c(ins[[4]], mm, dt)
    # output_mean_var returns the statistics used
    o <- mxnet:::nd.invoke("BatchNorm", ins, list(output_mean_var = TRUE))
    expect_length(o, 3)
    expect_c(o[[2]], mm, dt)
    expect_c(o[[3]], mv, dt)
  }
})

test_that("BatchNorm in training normalises with batch statistics and updates the moving ones", {
  set.seed(9)
  for (dt in FT) {
    x <- rnd(c(3, 2, 2, 3), dt, -1, 3); g <- rnd(2, dt, 0.5, 1.5); b <- rnd(2, dt)
    mm <- rnd(2, dt); mv <- rnd(2, dt, 0.5, 2)
    MM <- ndc(mm, dt); MV <- ndc(mv, dt)
    r <- fb("BatchNorm", list(ndc(x, dt), ndc(g, dt), ndc(b, dt), MM, MV),
            list(fix_gamma = FALSE, momentum = 0.8, output_mean_var = TRUE))
    st <- batch_stats(x)
    expect_c(r$outputs[[1]], bn_ref(x, g, b, st$mean, st$var, 1e-3), dt, tol32(dt))
    expect_c(r$outputs[[2]], st$mean, dt, tol32(dt))
    expect_c(r$outputs[[3]], st$var, dt, tol32(dt))
    # moving = moving * momentum + batch * (1 - momentum), biased variance
    expect_c(MM, mm * 0.8 + st$mean * 0.2, dt, tol32(dt))
    expect_c(MV, mv * 0.8 + st$var * 0.2, dt, tol32(dt))
    expect_length(r$grads, 5)
    expect_null(r$grads[[4]])
    expect_null(r$grads[[5]])
    # use_global_stats: moving statistics, not updated
    MM <- ndc(mm, dt); MV <- ndc(mv, dt)
    r <- fb("BatchNorm", list(ndc(x, dt), ndc(g, dt), ndc(b, dt), MM, MV),
            list(fix_gamma = FALSE, use_global_stats = TRUE))
    expect_c(r$outputs[[1]], bn_ref(x, g, b, mm, mv, 1e-3), dt, tol32(dt))
    expect_c(MM, mm, dt)
    expect_c(MV, mv, dt)
  }
  # another channel axis (the last engine axis), a single element per channel
  x <- rnd(c(4, 5)); st <- list(mean = colMeans(x), var = apply(x, 2, function(v) mean((v - mean(v))^2)))
  MM <- mx.nd.zeros(5, dtype = "float64"); MV <- mx.nd.ones(5, dtype = "float64")
  r <- fb("BatchNorm", list(ndc(x), mx.nd.ones(5, dtype = "float64"), mx.nd.zeros(5, dtype = "float64"), MM, MV),
          list(axis = -1, eps = 1e-5))
  expect_c(r$outputs[[1]], sweep(sweep(x, 2, st$mean), 2, sqrt(st$var + 1e-5), "/"), "float64")
  expect_c(MM, st$mean * 0.1, "float64")
  r <- fb("BatchNorm", list(mx.nd.array(matrix(5, 3, 1)), mx.nd.ones(3), mx.nd.array(1:3),
                            mx.nd.zeros(3), mx.nd.ones(3)), NULL)
  expect_nd_equal(r$outputs[[1]], matrix(1:3, 3, 1))
  # float16 updates its moving statistics too
  x <- rnd(c(4, 2)); MM <- mx.nd.zeros(2, dtype = "float16"); MV <- mx.nd.ones(2, dtype = "float16")
  r <- fb("BatchNorm", list(ndc(x, "float16"), mx.nd.ones(2, dtype = "float16"),
                            mx.nd.zeros(2, dtype = "float16"), MM, MV), list(axis = 1))
  xh <- asc(ndc(x, "float16"))
  expect_c(MM, colMeans(xh) * 0.1, "float16", 2e-3)
  expect_equal(mx.nd.dtype(r$outputs[[1]]), "float16")
})

test_that("BatchNorm infers and checks the shapes of its parameters", {
  x <- mx.nd.ones(c(4, 4, 3, 2))        # engine (2, 3, 4, 4): 3 channels
  c3 <- mx.nd.ones(3)
  expect_error(mxnet:::nd.invoke("BatchNorm", list(x, mx.nd.ones(4), c3, c3, c3), NULL),
               "input 'gamma' has shape c\\(4\\), expected c\\(3\\)")
  expect_error(mxnet:::nd.invoke("BatchNorm", list(x, c3, c3, c3, mx.nd.ones(2)), NULL),
               "input 'moving_var'")
  expect_error(mxnet:::nd.invoke("BatchNorm", list(x, c3, c3, c3), NULL), "expects 5 inputs")
  expect_error(mxnet:::nd.invoke("BatchNorm", list(x, c3, c3, c3, c3), list(axis = 4)), "axis")
  y <- mxnet:::nd.invoke("BatchNorm", list(x, mx.nd.ones(2), mx.nd.ones(2), mx.nd.zeros(2), mx.nd.ones(2)),
                         list(axis = 0))
  expect_equal(dim(as.array(y)), c(4L, 4L, 3L, 2L))
})

# ------------------------------------------------------------------- Dropout

test_that("Dropout keeps about 1 - p, scales by 1/(1 - p), and is reproducible", {
  x <- array(runif(1e5, 1, 2), c(100, 1000))
  X <- mx.nd.array(x)
  run <- function(p, seed = 1, ...) {
    set.seed(seed)
    r <- fb("Dropout", list(X), list(p = p, ...))
    list(y = as.array(r$outputs[[1]]), g = as.array(r$grads[[1]]))
  }
  for (p in c(0.5, 0.2)) {
    a <- run(p)
    kept <- a$y != 0
    expect_lt(abs(mean(kept) - (1 - p)), 0.01)
    expect_equal(a$y[kept], x[kept] / (1 - p), tolerance = 1e-6)
    expect_equal(a$g, kept / (1 - p), tolerance = 1e-6)     # output gradient 1 times the mask
  }
  expect_identical(run(0.5)$y, run(0.5)$y)
  expect_false(identical(run(0.5)$y, run(0.5, seed = 2)$y))
  # inference: identity; mode "always" drops at inference too
  expect_nd_equal(mx.nd.Dropout(X), x)
  set.seed(3)
  y <- as.array(mx.nd.Dropout(X, p = 0.3, mode = "always"))
  expect_lt(abs(mean(y != 0) - 0.7), 0.01)
  r <- fb("Dropout", list(X), list(p = 0.5), is.train = FALSE)
  expect_nd_equal(r$outputs[[1]], x)
  expect_true(all(as.array(r$grads[[1]]) == 1))
  # p = 0 and p = 1
  expect_equal(run(0)$y, as.array(X))
  expect_true(all(run(1)$y == 0))
  expect_error(mx.nd.Dropout(X, p = 1.5), "'p'")
  # float64 and an empty array
  set.seed(4)
  r <- fb("Dropout", list(mx.nd.array(x[1:10, 1:10], dtype = "float64")), list(p = 0.5))
  y <- as.array(r$outputs[[1]])
  expect_true(all(y == 0 | abs(y - 2 * x[1:10, 1:10]) < 1e-12))
  expect_equal(dim(as.array(mx.nd.Dropout(mx.nd.zeros(c(0, 3)), mode = "always"))), c(0L, 3L))
})

test_that("Dropout axes share one mask value along the given axes", {
  x <- array(1, c(5, 40, 30))             # engine (30, 40, 5)
  set.seed(5)
  r <- fb("Dropout", list(mx.nd.array(x)), list(p = 0.5, axes = 1))   # engine axis 1 = R dim 2
  y <- as.array(r$outputs[[1]])
  expect_true(all(apply(y, c(1, 3), function(v) length(unique(v)) == 1)))
  expect_true(any(y == 0) && any(y == 2))
  expect_equal(as.array(r$grads[[1]]), y)
  set.seed(5)
  y <- as.array(fb("Dropout", list(mx.nd.array(x)), list(p = 0.5, axes = c(0, 2)))$outputs[[1]])
  expect_true(all(apply(y, 2, function(v) length(unique(as.vector(v))) == 1)))
  expect_error(mx.nd.Dropout(mx.nd.array(x), axes = 3, mode = "always"), "axes")
})

# ----------------------------------------------------------------- Embedding

test_that("Embedding looks up rows, clipping out-of-range indices", {
  set.seed(10)
  for (dt in FT) {
    w <- rnd(c(6, 3), dt)                  # engine (input_dim 6, output_dim 3)
    idx <- matrix(c(0, 5, 2, 2, 1, 4), 2, 3)
    for (idt in c("float32", "int32", "int64", "uint8")) {
      y <- mx.nd.Embedding(ndc(idx, idt), ndc(w, dt), input_dim = 6, output_dim = 3)
      expect_equal(mx.nd.dtype(y), dt)
      expect_c(y, array(w[idx + 1, ], c(2, 3, 3)), dt)
    }
    y <- mx.nd.Embedding(mx.nd.array(c(-3, 1.7, 9, 6)), ndc(w, dt), input_dim = 6, output_dim = 3)
    expect_c(y, w[c(1, 2, 6, 6), ], dt)
  }
  expect_error(mx.nd.Embedding(mx.nd.ones(2), mx.nd.ones(c(3, 5)), input_dim = 6, output_dim = 3),
               "input 'weight' has shape c\\(3, 5\\), expected c\\(3, 6\\)")
  expect_error(mx.nd.Embedding(mx.nd.ones(2), mx.nd.ones(c(3, 6)), output_dim = 3), "input_dim")
  expect_equal(dim(as.array(mx.nd.Embedding(mx.nd.zeros(0), mx.nd.ones(c(3, 6)), input_dim = 6,
                                            output_dim = 3))), c(3L, 0L))
  # backward: scatter-add into the weight's rows, zero for the indices
  w <- rnd(c(4, 2)); idx <- c(1, 3, 1, 0, 7)
  og <- rnd(c(5, 2))
  r <- mxnet:::nd.forward.backward("Embedding", list(ndc(idx), ndc(w)), list(input_dim = 4, output_dim = 2),
                                   list(ndc(og)))
  ref <- matrix(0, 4, 2)
  for (i in seq_along(idx)) ref[min(idx[i], 3) + 1, ] <- ref[min(idx[i], 3) + 1, ] + og[i, ]
  expect_c(r$grads[[2]], ref, "float64")
  expect_true(all(as.array(r$grads[[1]]) == 0))
})

# ---------------------------------------------------------------------- Crop

test_that("Crop cuts the spatial window of NCHW data", {
  x <- array(seq_len(7 * 6 * 2 * 2), c(7, 6, 2, 2))   # R order: W 7, H 6, C 2, N 2
  for (dt in c(FT, "float16", "int32")) {
    X <- mx.nd.array(x, dtype = dt)
    # h_w and offset in R order: c(w, h), c(x, y)
    expect_nd_equal(mx.nd.Crop(X, h_w = c(3, 2), offset = c(1, 2)), x[2:4, 3:4, , , drop = FALSE])
    expect_nd_equal(mx.nd.Crop(X, h_w = c(3, 2)), x[1:3, 1:2, , , drop = FALSE])
    expect_nd_equal(mx.nd.Crop(X, h_w = c(3, 2), center_crop = TRUE), x[3:5, 3:4, , , drop = FALSE])
    like <- mx.nd.zeros(c(4, 5, 1, 1))
    expect_nd_equal(mx.nd.Crop(X, like, offset = c(2, 1)), x[3:6, 2:6, , , drop = FALSE])
    expect_nd_equal(mx.nd.Crop(list(X, like), center_crop = TRUE), x[2:5, 1:5, , , drop = FALSE])
  }
  expect_error(mx.nd.Crop(mx.nd.array(x), h_w = c(3, 2), offset = c(5, 0)), "does not fit")
  expect_error(mx.nd.Crop(mx.nd.array(x)), "h_w")
  expect_error(mx.nd.Crop(mx.nd.ones(c(3, 3, 3)), h_w = c(1, 1)), "4 dimensions")
  # backward pads the output gradient with zeros
  r <- mxnet:::nd.forward.backward("Crop", list(mx.nd.array(x, dtype = "float64")),
                                   list(h_w = c(3, 2), offset = c(1, 2)),
                                   list(mx.nd.array(array(1:24, c(3, 2, 2, 2)), dtype = "float64")))
  ref <- array(0, dim(x)); ref[2:4, 3:4, , ] <- 1:24
  expect_nd_equal(r$grads[[1]], ref)
})

test_that("large inputs (parallel loops) give the same results", {
  set.seed(11)
  # FullyConnected bias gradient (column sums over 300 rows of 200)
  x <- rnd(c(300, 20)); W <- rnd(c(200, 20)); og <- rnd(c(300, 200))
  r <- mxnet:::nd.forward.backward("FullyConnected", list(ndc(x), ndc(W), mx.nd.zeros(200, dtype = "float64")),
                                   list(num_hidden = 200), list(ndc(og)))
  expect_c(r$outputs[[1]], x %*% t(W), "float64")
  expect_c(r$grads[[1]], og %*% W, "float64")
  expect_c(r$grads[[2]], t(og) %*% x, "float64")
  expect_c(r$grads[[3]], colSums(og), "float64")
  # softmax rows, SoftmaxOutput and BatchNorm over many elements
  x <- rnd(c(400, 100))
  expect_c(mx.nd.softmax(ndc(x)), softmax_ref(x, 1), "float64")
  lab <- sample(0:99, 400, TRUE)
  r <- fb("SoftmaxOutput", list(ndc(x), ndc(lab)), NULL)
  expect_c(r$grads[[1]], softmax_ref(x, 1) - onehot(lab, 100), "float64")
  x <- rnd(c(50, 4, 20, 20))
  MM <- mx.nd.zeros(4, dtype = "float64")
  r <- fb("BatchNorm", list(ndc(x), mx.nd.ones(4, dtype = "float64"), mx.nd.zeros(4, dtype = "float64"),
                            MM, mx.nd.ones(4, dtype = "float64")), NULL)
  st <- batch_stats(x)
  expect_c(r$outputs[[1]], bn_ref(x, rep(1, 4), rep(0, 4), st$mean, st$var, 1e-3), "float64")
  expect_c(MM, st$mean * 0.1, "float64")
  # Embedding scatter-add, SliceChannel and Crop copies
  w <- rnd(c(50, 40)); idx <- sample(0:49, 1000, TRUE); og <- rnd(c(1000, 40))
  r <- mxnet:::nd.forward.backward("Embedding", list(ndc(idx), ndc(w)), list(input_dim = 50, output_dim = 40),
                                   list(ndc(og)))
  expect_c(r$outputs[[1]], w[idx + 1, ], "float64")
  expect_c(r$grads[[2]], rowsum(og, factor(idx, levels = 0:49), reorder = TRUE), "float64")
  x <- array(runif(64 * 6 * 10 * 10), c(10, 10, 6, 64))
  s <- mx.nd.split(mx.nd.array(x, dtype = "float64"), num_outputs = 3)
  expect_nd_equal(s[[3]], x[, , 5:6, , drop = FALSE])
  expect_nd_equal(mx.nd.Crop(mx.nd.array(x, dtype = "float64"), h_w = c(8, 7), offset = c(2, 1)),
                  x[3:10, 2:8, , , drop = FALSE])
})
