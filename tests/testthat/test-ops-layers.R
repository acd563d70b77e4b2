# Layers of src/ops/layers.c (LRN, UpSampling, LayerNorm, InstanceNorm,
# GroupNorm, L2Normalization, Pad, SoftmaxActivation) against R references,
# gradients against finite differences, parameter errors and a small network.
#
# References work on C-order R arrays (dim() = the engine shape); cp()
# converts between those and the R order of the package's boundary. These ops
# have no GPU kernel: everything runs on explicit CPU contexts (with_cpu,
# helper-layers.R).

c_rand <- function(d, dtype = "float64", lo = -2, hi = 2)
  cp(in_dtype(cp(array(runif(prod(d), lo, hi), d)), dtype))
creshape <- function(a, d) cp(array(cp(a), rev(d)))   # C-order reshape
inv1 <- function(op, ins, params = NULL) {
  o <- mxnet:::nd.invoke(op, ins, params)
  if (inherits(o, "MXNDArray")) o else o[[1]]
}
expect_op <- function(op, ins, params, expected, dtype, tol = if (dtype == "float32") 2e-5 else 1e-10)
  expect_nd_equal(inv1(op, lapply(ins, nd_c, dtype = dtype), params), cp(expected), tolerance = tol,
                  dtype = dtype)
FT <- c("float32", "float64")

# ------------------------------------------------------------ references

# (x - mean) / sqrt(var + eps) over the dims not in keep (biased variance)
standardize <- function(x, keep, eps) {
  m <- apply(x, keep, mean)
  z <- sweep(x, keep, m)
  v <- apply(z, keep, function(u) mean(u^2))
  sweep(z, keep, sqrt(v + eps), "/")
}
affine <- function(x, ax, g, b) sweep(sweep(x, ax, g, "*"), ax, b, "+")

lrn_ref <- function(x, nsize, alpha = 1e-4, beta = 0.75, knorm = 2) {
  C <- dim(x)[2]; h <- nsize %/% 2; y <- x
  for (c in seq_len(C)) {
    w <- max(1, c - h):min(C, c + h)
    ss <- apply(x[, w, , , drop = FALSE]^2, c(1, 3, 4), sum)
    y[, c, , ] <- x[, c, , ] / (knorm + alpha / nsize * ss)^beta
  }
  y
}

softmax_keep <- function(x, keep) {
  e <- exp(sweep(x, keep, apply(x, keep, max)))
  sweep(e, keep, apply(e, keep, sum), "/")
}

pad_ref <- function(x, pw, mode, cv = 0) {
  d <- dim(x)
  idx <- lapply(seq_along(d), function(k) {
    b <- pw[2 * k - 1]; a <- pw[2 * k]; n <- d[k]
    vapply(seq_len(n + a + b) - b, function(i) {
      if (i >= 1 && i <= n) return(as.integer(i))
      if (mode == "constant") return(NA_integer_)
      if (mode == "edge") return(if (i < 1) 1L else as.integer(n))
      as.integer(if (i < 1) 2 - i else 2 * n - i)
    }, 0L)
  })
  y <- do.call(`[`, c(list(x), idx, drop = FALSE))
  y[is.na(y)] <- cv
  y
}

nearest_ref <- function(x, s) x[, , rep(seq_len(dim(x)[3]), each = s), rep(seq_len(dim(x)[4]), each = s), drop = FALSE]

bilinear_ref <- function(x, w, s) {
  d <- dim(x); K <- 2 * s - s %% 2; pd <- ceiling((s - 1) / 2)
  y <- array(0, c(d[1], d[2], d[3] * s, d[4] * s))
  for (n in seq_len(d[1])) for (c in seq_len(d[2])) for (i in seq_len(d[3])) for (j in seq_len(d[4]))
    for (ky in seq_len(K)) for (kx in seq_len(K)) {
      oy <- (i - 1) * s - pd + ky; ox <- (j - 1) * s - pd + kx
      if (oy >= 1 && oy <= d[3] * s && ox >= 1 && ox <= d[4] * s)
        y[n, c, oy, ox] <- y[n, c, oy, ox] + x[n, c, i, j] * w[c, 1, ky, kx]
    }
  y
}

# ---------------------------------------------------------------- values

test_that("LRN normalises across channel windows as MXNet", { with_cpu({
  set.seed(1)
  for (dt in FT) {
    x <- c_rand(c(2, 5, 3, 4), dt)
    expect_op("LRN", list(x), list(nsize = 3), lrn_ref(x, 3), dt)
    expect_op("LRN", list(x), list(nsize = 4, alpha = 0.1, beta = 0.5, knorm = 1),
              lrn_ref(x, 4, 0.1, 0.5, 1), dt)
  }
  x <- c_rand(c(1, 7, 1, 1))                  # one-element spatial, odd channels
  expect_op("LRN", list(x), list(nsize = 5, alpha = 1), lrn_ref(x, 5, 1), "float64")
}) })

test_that("LayerNorm, InstanceNorm and GroupNorm match R references", { with_cpu({
  set.seed(2)
  for (dt in FT) {
    x <- c_rand(c(3, 4, 5), dt); g <- c_rand(5, dt); b <- c_rand(5, dt)
    expect_op("LayerNorm", list(x, g, b), NULL, affine(standardize(x, 1:2, 1e-5), 3, g, b), dt)
    g4 <- c_rand(4, dt); b4 <- c_rand(4, dt)
    expect_op("LayerNorm", list(x, g4, b4), list(axis = 1, eps = 0.1),
              affine(standardize(x, c(1, 3), 0.1), 2, g4, b4), dt)
    x4 <- c_rand(c(2, 4, 3, 5), dt)
    expect_op("InstanceNorm", list(x4, g4, b4), NULL, affine(standardize(x4, 1:2, 1e-3), 2, g4, b4), dt)
    g2 <- c_rand(2, dt); b2 <- c_rand(2, dt)
    z <- creshape(standardize(creshape(x4, c(2, 2, 30)), 1:2, 1e-5), dim(x4))
    expect_op("GroupNorm", list(x4, g2, b2), list(num_groups = 2),
              affine(z, 2, rep(g2, each = 2), rep(b2, each = 2)), dt)
  }
  # output_mean_var: mean and standard deviation per normalised slice
  x <- c_rand(c(3, 6)); o <- mxnet:::nd.invoke("LayerNorm", list(nd_c(x), nd_c(rep(1, 6)), nd_c(rep(0, 6))),
                                               list(output_mean_var = TRUE))
  expect_length(o, 3L)
  expect_nd_equal(o[[2]], cp(array(rowMeans(x), c(3, 1))))
  expect_nd_equal(o[[3]], cp(array(sqrt(apply(x, 1, function(u) mean((u - mean(u))^2)) + 1e-5), c(3, 1))))
  o <- mxnet:::nd.invoke("GroupNorm", list(nd_c(c_rand(c(2, 6, 2))), nd_c(rep(1, 3)), nd_c(rep(0, 3))),
                         list(num_groups = 3, output_mean_var = TRUE))
  expect_equal(dim(o[[2]]), c(3L, 2L))          # engine (N, num_groups)
}) })

test_that("L2Normalization and SoftmaxActivation follow their modes", { with_cpu({
  set.seed(3)
  for (dt in FT) {
    x <- c_rand(c(2, 3, 4, 5), dt)
    nrm <- function(keep, eps = 1e-10) sweep(x, keep, sqrt(apply(x^2, keep, sum) + eps), "/")
    expect_op("L2Normalization", list(x), NULL, nrm(1), dt)
    expect_op("L2Normalization", list(x), list(mode = "channel", eps = 0.5), nrm(c(1, 3, 4), 0.5), dt)
    expect_op("L2Normalization", list(x), list(mode = "spatial"), nrm(1:2), dt)
    expect_op("SoftmaxActivation", list(x), NULL, softmax_keep(x, 1), dt)
    expect_op("SoftmaxActivation", list(x), list(mode = "channel"), softmax_keep(x, c(1, 3, 4)), dt)
  }
  x2 <- c_rand(c(3, 7))
  expect_op("SoftmaxActivation", list(x2), NULL, softmax_keep(x2, 1), "float64")
  expect_op("L2Normalization", list(x2), NULL, x2 / sqrt(rowSums(x2^2) + 1e-10), "float64")
}) })

test_that("Pad pads with a constant, the edge or a reflection", { with_cpu({
  set.seed(4)
  for (dt in FT) {
    x <- c_rand(c(2, 3, 4, 5), dt)
    pw <- c(0, 0, 1, 0, 2, 1, 3, 2)            # engine order (before, after) pairs
    s <- sprintf("(%s)", paste(pw, collapse = ","))
    for (m in c("constant", "edge", "reflect"))
      expect_op("Pad", list(x), list(mode = m, pad_width = s, constant_value = 1.5),
                pad_ref(x, pw, m, 1.5), dt)
  }
  # an R vector is reversed: R-order (after, before) pairs per R dimension
  x <- c_rand(c(1, 2, 3, 3))
  y <- mx.nd.pad(nd_c(x), mode = "edge", pad_width = c(2, 1, 0, 1, 0, 0, 0, 0))
  expect_nd_equal(y, cp(pad_ref(x, c(0, 0, 0, 0, 1, 0, 1, 2), "edge")))
  expect_equal(dim(mx.nd.Pad(nd_c(c_rand(c(2, 2, 2))), pad_width = "(1,1,0,0,0,0)")), c(2L, 2L, 4L))
}) })

test_that("UpSampling nearest (one or several inputs) and bilinear match R references", { with_cpu({
  set.seed(5)
  for (dt in FT) {
    x <- c_rand(c(2, 3, 2, 3), dt); x2 <- c_rand(c(2, 3, 4, 6), dt)
    expect_op("UpSampling", list(x), list(scale = 2, sample_type = "nearest"), nearest_ref(x, 2), dt)
    # a second input of twice the size is upsampled by 1 (output = 2x the first)
    cat_ref <- array(0, c(2, 6, 4, 6))
    cat_ref[, 1:3, , ] <- nearest_ref(x, 2); cat_ref[, 4:6, , ] <- x2
    expect_op("UpSampling", list(x, x2), list(scale = 2, sample_type = "nearest", num_args = 2), cat_ref, dt)
    expect_op("UpSampling", list(x, x2), list(scale = 2, sample_type = "nearest", num_args = 2,
                                              multi_input_mode = "sum"), nearest_ref(x, 2) + x2, dt)
    for (s in 2:3) {
      K <- 2 * s - s %% 2
      w <- c_rand(c(3, 1, K, K), dt)
      expect_op("UpSampling", list(x, w), list(scale = s, sample_type = "bilinear", num_filter = 3),
                bilinear_ref(x, w, s), dt)
    }
  }
}) })

# ------------------------------------------------------------- gradients

test_that("the layers have correct gradients", { with_cpu({
  set.seed(6)
  r <- function(d, lo = -2, hi = 2) array(runif(prod(d), lo, hi), d)
  check_grad("LRN", list(r(c(3, 2, 5, 2))), list(nsize = 3, alpha = 0.5, beta = 0.75, knorm = 1))
  check_grad("LRN", list(r(c(2, 2, 4, 1))), list(nsize = 2, alpha = 0.3), label = "LRN even nsize")
  check_grad("LayerNorm", list(r(c(5, 3, 2)), r(5), r(5)), NULL)
  check_grad("LayerNorm", list(r(c(5, 3, 2)), r(3), r(3)), list(axis = 1, eps = 0.01), label = "LayerNorm axis 1")
  check_grad("InstanceNorm", list(r(c(3, 2, 3, 2)), r(3), r(3)), NULL)
  check_grad("GroupNorm", list(r(c(2, 3, 4, 2)), r(2), r(2)), list(num_groups = 2))
  for (m in c("instance", "channel", "spatial"))
    check_grad("L2Normalization", list(r(c(3, 2, 4, 2))), list(mode = m), label = m)
  for (m in c("instance", "channel"))
    check_grad("SoftmaxActivation", list(r(c(3, 4, 2))), list(mode = m), label = m)
  for (m in c("constant", "edge", "reflect"))
    check_grad("Pad", list(r(c(3, 4, 2, 1))), list(mode = m, pad_width = "(0,0,1,1,2,1,1,2)"), label = m)
  check_grad("UpSampling", list(r(c(3, 2, 2, 2))), list(scale = 2, sample_type = "nearest"))
  for (mode in c("concat", "sum"))
    check_grad("UpSampling", list(r(c(2, 2, 2, 2)), r(c(4, 4, 2, 2))),
               list(scale = 2, sample_type = "nearest", num_args = 2, multi_input_mode = mode), label = mode)
  check_grad("UpSampling", list(r(c(3, 2, 2, 2)), r(c(4, 4, 1, 2))),
             list(scale = 2, sample_type = "bilinear", num_filter = 2), label = "bilinear")
}) })

# ---------------------------------------------------------------- errors

test_that("bad parameters and shapes are classed errors", { with_cpu({
  x <- nd_c(c_rand(c(2, 4, 3, 3)))
  e <- function(op, ins, params) expect_error(mxnet:::nd.invoke(op, ins, params), class = "mxnet_error")
  e("LRN", list(x), list(nsize = 0))
  e("LRN", list(x), NULL)                                         # nsize is required
  e("LRN", list(nd_c(1:3)), list(nsize = 1))                      # one axis
  e("GroupNorm", list(x, nd_c(rep(1, 3)), nd_c(rep(0, 3))), list(num_groups = 3))
  e("GroupNorm", list(x, nd_c(rep(1, 2)), nd_c(rep(0, 2))), list(num_groups = 0))
  e("LayerNorm", list(x, nd_c(rep(1, 2)), nd_c(rep(0, 3))), NULL)
  e("LayerNorm", list(x, nd_c(rep(1, 3)), nd_c(rep(0, 3))), list(axis = 4))
  e("LayerNorm", list(x, nd_c(rep(1, 3)), nd_c(rep(0, 3))), list(eps = -1))
  e("InstanceNorm", list(nd_c(c_rand(c(2, 3))), nd_c(rep(1, 3)), nd_c(rep(0, 3))), NULL)
  e("L2Normalization", list(x), list(mode = "pixel"))
  e("L2Normalization", list(nd_c(1:3)), list(mode = "spatial"))
  e("SoftmaxActivation", list(x), list(mode = "batch"))
  e("Pad", list(x), list(pad_width = "(1,1)"))
  e("Pad", list(x), list(mode = "reflect", pad_width = "(0,0,0,0,3,0,0,0)"))
  e("Pad", list(x), list(mode = "wrap", pad_width = "(0,0,0,0,1,1,1,1)"))
  e("UpSampling", list(x), list(scale = 0, sample_type = "nearest"))
  e("UpSampling", list(x), list(scale = 2))                       # sample_type is required
  e("UpSampling", list(x, nd_c(c_rand(c(4, 1, 4, 4)))), list(scale = 2, sample_type = "bilinear"))
  e("UpSampling", list(x, nd_c(c_rand(c(4, 1, 3, 3)))), list(scale = 2, sample_type = "bilinear", num_filter = 4))
  e("UpSampling", list(x, nd_c(c_rand(c(2, 4, 4, 4)))), list(scale = 2, sample_type = "nearest", num_args = 2))
  e("UpSampling", list(nd_c(c_rand(c(2, 3)))), list(scale = 2, sample_type = "nearest"))
  expect_error(mxnet:::nd.invoke("LRN", list(mx.nd.array(1:8, dtype = "int32")), list(nsize = 1)),
               class = "mxnet_error")
}) })

test_that("the generated wrappers exist with MXNet's names", {
  for (op in c("LRN", "UpSampling", "LayerNorm", "InstanceNorm", "GroupNorm", "L2Normalization",
               "Pad", "pad", "SoftmaxActivation")) {
    expect_true(exists(paste0("mx.nd.", op)), info = op)
    expect_true(exists(paste0("mx.symbol.", op)), info = op)
  }
})

# ------------------------------------------------------------ in networks

test_that("the layers infer weight shapes and train inside a network", { with_cpu({
  set.seed(7)
  data <- mx.symbol.Variable("data")
  net <- mx.symbol.Convolution(data, num_filter = 4, kernel = c(3, 3), pad = c(1, 1), name = "conv")
  net <- mx.symbol.GroupNorm(net, num_groups = 2, name = "gn")
  net <- mx.symbol.InstanceNorm(net, name = "inorm")
  net <- mx.symbol.UpSampling(net, scale = 2, sample_type = "bilinear", num_filter = 4, name = "up")
  net <- mx.symbol.LRN(net, nsize = 3, name = "lrn")
  net <- mx.symbol.Pad(net, mode = "edge", pad_width = "(0,0,0,0,1,1,1,1)", name = "pad")
  net <- mx.symbol.Pooling(net, kernel = c(2, 2), stride = c(2, 2), pool_type = "max")
  net <- mx.symbol.Flatten(net)
  net <- mx.symbol.FullyConnected(net, num_hidden = 6, name = "fc1")
  net <- mx.symbol.LayerNorm(net, name = "ln")
  net <- mx.symbol.L2Normalization(net, name = "l2")
  net <- mx.symbol.FullyConnected(net, num_hidden = 2, name = "fc2")
  net <- mx.symbol.SoftmaxOutput(net, name = "sm")
  sh <- mx.symbol.infer.shape(net, data = c(6, 6, 1, 5))
  expect_equal(sh$arg.shapes$gn_gamma, 2)
  expect_equal(sh$arg.shapes$inorm_beta, 4)
  expect_equal(sh$arg.shapes$up_weight, c(4, 4, 1, 4))          # R order of engine (4, 1, 4, 4)
  expect_equal(sh$arg.shapes$ln_gamma, 6)

  ex <- mx.simple.bind(net, ctx = mx.cpu(), data = c(6, 6, 1, 5), grad.req = "write")
  args <- lapply(ex$ref.arg.arrays, function(a) mx.nd.array(array(runif(length(a), -0.5, 0.5), dim(a)), ctx = mx.cpu()))
  args$gn_gamma <- mx.nd.ones(2, ctx = mx.cpu()); args$inorm_gamma <- mx.nd.ones(4, ctx = mx.cpu())
  args$ln_gamma <- mx.nd.ones(6, ctx = mx.cpu())
  args$sm_label <- mx.nd.array(c(0, 1, 0, 1, 1), ctx = mx.cpu())
  mx.exec.update.arg.arrays(ex, args, match.name = TRUE)
  mx.exec.forward(ex, is.train = TRUE)
  mx.exec.backward(ex)
  p <- as.array(ex$ref.outputs[[1]])
  expect_equal(dim(p), c(2L, 5L))
  expect_equal(colSums(p), rep(1, 5), tolerance = 1e-5)
  g <- lapply(ex$ref.grad.arrays[c("conv_weight", "gn_gamma", "inorm_beta", "up_weight", "ln_beta")], as.array)
  for (k in names(g)) expect_true(all(is.finite(g[[k]])) && any(g[[k]] != 0), info = k)

  # a short FeedForward training run of a LayerNorm MLP lowers the loss
  X <- matrix(rnorm(2 * 60), 2); y <- as.numeric(X[1, ] + X[2, ] > 0)
  mlp <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 8, name = "h")
  mlp <- mx.symbol.LayerNorm(mlp, name = "hn")
  mlp <- mx.symbol.Activation(mlp, act_type = "tanh")
  mlp <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mlp, num_hidden = 2, name = "o"), name = "sm")
  logger <- mx.metric.logger$new()
  mx.set.seed(3)
  m <- mx.model.FeedForward.create(mlp, X = X, y = y, ctx = mx.cpu(), num.round = 15,
                                   array.batch.size = 20, learning.rate = 0.2, momentum = 0.9,
                                   eval.metric = mx.metric.accuracy, array.layout = "colmajor",
                                   epoch.end.callback = mx.callback.log.train.metric(1, logger),
                                   verbose = FALSE)
  expect_equal(length(m$arg.params$hn_gamma), 8L)
  acc <- logger$train
  expect_gt(acc[length(acc)], 0.8)
}) })
