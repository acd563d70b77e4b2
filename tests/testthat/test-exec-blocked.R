# Blocked activations (issue 9, docs/memory.md): between oneDNN
# convolutions an executor on the CPU keeps values of 16k channels in
# oneDNN's nChw16c layout wherever every op that reads or writes them takes
# it (Convolution, BatchNorm, Pooling, element-wise ops).  Results agree
# with the plain layout (MXNET_EXEC_BLOCKED=0) up to the summation order.

with_blocked <- function(on, env = parent.frame())
  with_env_var("MXNET_EXEC_BLOCKED", if (on) "1" else "0", env)

blk_cbr <- function(x, nf, k, s, p, name, relu = TRUE, ...) {
  c <- mx.symbol.Convolution(x, num_filter = nf, kernel = c(k, k), stride = c(s, s), pad = c(p, p),
                             no_bias = TRUE, name = paste0(name, "_c"), ...)
  y <- mx.symbol.BatchNorm(c, fix_gamma = FALSE, name = paste0(name, "_bn"))
  if (relu) mx.symbol.Activation(y, act_type = "relu") else y
}

# a small ResNet: stem with 3x3/2 max pooling, two residual units (one with
# a projection), 2x2 average pooling, global average pooling
blk_net <- function(pool = "max") {
  x <- blk_cbr(mx.symbol.Variable("data"), 16, 3, 1, 1, "stem")
  x <- mx.symbol.Pooling(x, kernel = c(3, 3), stride = c(2, 2), pad = c(1, 1), pool_type = pool)
  y <- blk_cbr(blk_cbr(x, 16, 3, 1, 1, "u1a"), 16, 3, 1, 1, "u1b", relu = FALSE)
  x <- mx.symbol.Activation(y + x, act_type = "relu")
  y <- blk_cbr(blk_cbr(x, 32, 3, 2, 1, "u2a"), 32, 1, 1, 0, "u2b", relu = FALSE)
  x <- mx.symbol.Activation(y + blk_cbr(x, 32, 1, 2, 0, "u2s", relu = FALSE), act_type = "relu")
  x <- mx.symbol.Pooling(x, kernel = c(2, 2), stride = c(1, 1), pad = c(1, 1), pool_type = "avg",
                         count_include_pad = FALSE)
  x <- mx.symbol.Pooling(x, kernel = c(1, 1), global_pool = TRUE, pool_type = "avg")
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(x), num_hidden = 5), name = "sm")
}

blk_fill <- function(ex, seed = 3, ties = FALSE) {
  set.seed(seed)
  a <- lapply(ex$arg.arrays, function(a) array(rnorm(prod(dim(a))) * 0.3, dim(a)))
  if (ties) a$data <- round(a$data * 2) / 2    # equal cells in max-pooling windows
  a$sm_label <- array(sample(0:4, length(a$sm_label), TRUE) + 0, dim(ex$arg.arrays$sm_label))
  mx.exec.update.arg.arrays(ex, a, match.name = TRUE)
  aux <- lapply(ex$aux.arrays, function(a) array(runif(prod(dim(a))) + 0.5, dim(a)))
  mx.exec.update.aux.arrays(ex, aux, match.name = TRUE)
}

blk_run <- function(on, net, train = TRUE, mirror = FALSE, steps = 2, ties = FALSE, dims = c(14, 14, 16, 3)) {
  with_blocked(on)
  old <- options(mxnet.backward.mirror = mirror)
  on.exit(options(old), add = TRUE)
  ex <- mx.simple.bind(net, ctx = mx.cpu(), data = dims, grad.req = if (train) "write" else "null")
  blk_fill(ex, ties = ties)
  before <- .Call(mxnet:::C_mx_r_scratch_fallbacks)
  for (i in seq_len(steps)) {
    mx.exec.forward(ex, is.train = train)
    if (train) mx.exec.backward(ex)
  }
  # the blocked kernels' scratch (BatchNorm's partial sums) is planned too
  expect_identical(.Call(mxnet:::C_mx_r_scratch_fallbacks)[["calls"]], before[["calls"]])
  list(out = lapply(ex$ref.outputs, as.array),
       grad = lapply(Filter(Negate(is.null), ex$ref.grad.arrays), as.array),
       aux = lapply(ex$ref.aux.arrays, as.array), mem = mx.exec.memory(ex))
}

blk_expect_close <- function(a, b, tol = 1e-5) {
  expect_equal(names(a), names(b))
  for (n in names(a)) {
    scale <- max(1, max(abs(b[[n]])))
    expect_lt(max(abs(a[[n]] - b[[n]])) / scale, tol, label = n)
  }
}

test_that("a ResNet trains the same with blocked activations as in the plain layout", {
  for (pool in c("max", "avg", "sum")) {
    net <- blk_net(pool)
    on <- blk_run(TRUE, net)
    off <- blk_run(FALSE, net)
    expect_gt(on$mem[["n_blocked"]], 20)
    expect_equal(off$mem[["n_blocked"]], 0)
    blk_expect_close(on$out, off$out)
    blk_expect_close(on$grad, off$grad)
    blk_expect_close(on$aux, off$aux)
    # not bit-identical: the blocked BatchNorm sums in another order
    expect_false(identical(on$grad, off$grad))
  }
})

test_that("max pooling on blocked values sends a tie's gradient to the first cell, as the plain kernel", {
  net <- blk_net("max")
  on <- blk_run(TRUE, net, ties = TRUE, steps = 1)
  off <- blk_run(FALSE, net, ties = TRUE, steps = 1)
  blk_expect_close(on$grad, off$grad)
})

test_that("blocked activations agree under the mirror option and at inference (with folding)", {
  net <- blk_net()
  on <- blk_run(TRUE, net, mirror = TRUE)
  off <- blk_run(FALSE, net, mirror = TRUE)
  expect_gt(on$mem[["n_mirrored"]], 0)
  expect_gt(on$mem[["n_blocked"]], 0)
  blk_expect_close(on$grad, off$grad)
  blk_expect_close(on$aux, off$aux)
  on <- blk_run(TRUE, net, train = FALSE, steps = 1)
  off <- blk_run(FALSE, net, train = FALSE, steps = 1)
  expect_gt(on$mem[["n_folded"]], 0)
  expect_gt(on$mem[["n_blocked"]], 0)
  blk_expect_close(on$out, off$out)
})

test_that("values that leave the executor or meet an op without the layout stay plain", {
  x <- mx.symbol.Variable("data")
  c1 <- mx.symbol.Convolution(x, kernel = c(3, 3), pad = c(1, 1), num_filter = 16, name = "c1")
  c2 <- mx.symbol.Convolution(c1, kernel = c(3, 3), pad = c(1, 1), num_filter = 16, name = "c2")
  # a Convolution output read by LRN (no blocked kernels): plain
  lrn <- mx.symbol.LRN(c2, nsize = 3)
  c3 <- mx.symbol.Convolution(lrn, kernel = c(1, 1), num_filter = 16, name = "c3")
  with_blocked(TRUE)
  ex <- mx.simple.bind(mx.symbol.Group(c(c3, c1)), ctx = mx.cpu(), data = c(6, 6, 4, 2), grad.req = "null")
  # c1 is an output, c2 feeds LRN, c3 is an output: nothing blocked
  expect_equal(mx.exec.memory(ex)[["n_blocked"]], 0)
  set.seed(5)
  args <- lapply(ex$arg.arrays, function(a) array(rnorm(prod(dim(a))), dim(a)))
  mx.exec.update.arg.arrays(ex, args, match.name = TRUE)
  mx.exec.forward(ex, is.train = FALSE)
  ref <- mx.nd.Convolution(mx.nd.array(args$data), mx.nd.array(args$c1_weight), mx.nd.array(args$c1_bias),
                           kernel = c(3, 3), pad = c(1, 1), num_filter = 16)
  expect_equal(as.array(ex$ref.outputs[[2]]), as.array(ref), tolerance = 1e-5)
  # channels that do not fill 16-channel blocks: plain
  y <- mx.symbol.Activation(mx.symbol.Convolution(x, kernel = c(3, 3), pad = c(1, 1), num_filter = 24), act_type = "relu")
  out <- mx.symbol.Convolution(y, kernel = c(1, 1), num_filter = 16)
  ex <- mx.simple.bind(mx.symbol.MakeLoss(mx.symbol.sum(out)), ctx = mx.cpu(), data = c(6, 6, 4, 2),
                       grad.req = "write")
  expect_equal(mx.exec.memory(ex)[["n_blocked"]], 0)
})

test_that("depthwise and grouped convolutions train the same on blocked values", {
  x <- blk_cbr(mx.symbol.Variable("data"), 32, 3, 1, 1, "stem")
  y <- blk_cbr(x, 32, 3, 1, 1, "dw", num_group = 32)       # depthwise
  y <- blk_cbr(y, 64, 1, 1, 0, "pw")
  y <- blk_cbr(y, 64, 3, 2, 1, "g4", num_group = 4)        # 16 channels per group
  y <- blk_cbr(y, 48, 3, 1, 1, "g4b", num_group = 4)       # 16 in, 12 out per group
  y <- blk_cbr(y, 48, 3, 1, 1, "g6", num_group = 6)        # 8 per group
  y <- mx.symbol.Pooling(y, kernel = c(1, 1), global_pool = TRUE, pool_type = "avg")
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(y), num_hidden = 5), name = "sm")
  on <- blk_run(TRUE, net, dims = c(10, 10, 3, 2))
  off <- blk_run(FALSE, net, dims = c(10, 10, 3, 2))
  expect_gt(on$mem[["n_blocked"]], 20)
  blk_expect_close(on$out, off$out)
  blk_expect_close(on$grad, off$grad)
  blk_expect_close(on$aux, off$aux)
})

test_that("gradients through blocked values match finite differences", {
  x <- mx.symbol.Variable("data")
  c1 <- mx.symbol.Convolution(x, kernel = c(3, 3), pad = c(1, 1), num_filter = 16, name = "c1")
  b1 <- mx.symbol.BatchNorm(c1, fix_gamma = FALSE, name = "bn1")
  p1 <- mx.symbol.Pooling(mx.symbol.Activation(b1, act_type = "tanh"), kernel = c(2, 2), stride = c(2, 2),
                          pool_type = "avg")
  c2 <- mx.symbol.Convolution(p1, kernel = c(1, 1), num_filter = 16, name = "c2")
  c3 <- mx.symbol.Convolution(c2 + p1, kernel = c(1, 1), num_filter = 4, name = "c3")
  loss <- mx.symbol.MakeLoss(mx.symbol.sum(mx.symbol.square(c3)))
  with_blocked(TRUE)
  ex <- mx.simple.bind(loss, ctx = mx.cpu(), data = c(4, 4, 3, 2), grad.req = "write")
  expect_gt(mx.exec.memory(ex)[["n_blocked"]], 0)
  set.seed(9)
  args <- lapply(ex$arg.arrays, function(a) array(rnorm(prod(dim(a))) * 0.5, dim(a)))
  mx.exec.update.arg.arrays(ex, args, match.name = TRUE)
  mx.exec.forward(ex, is.train = TRUE)
  mx.exec.backward(ex)
  g <- as.array(ex$ref.grad.arrays$c1_weight)
  f <- function(w) {
    a <- args
    a$c1_weight <- w
    mx.exec.update.arg.arrays(ex, a, match.name = TRUE)
    mx.exec.forward(ex, is.train = TRUE)
    as.numeric(as.array(ex$ref.outputs[[1]]))
  }
  set.seed(10)
  for (k in sample(length(g), 6)) {
    h <- 1e-2
    wp <- args$c1_weight; wp[k] <- wp[k] + h
    wm <- args$c1_weight; wm[k] <- wm[k] - h
    fd <- (f(wp) - f(wm)) / (2 * h)
    expect_equal(g[k], fd, tolerance = 2e-2 * max(1, abs(fd)))
  }
})

test_that("Concat joins blocked values along the channels; a part of 8 channels keeps its group plain", {
  module <- function(x, nf2, name) {
    a <- blk_cbr(x, 16, 1, 1, 0, paste0(name, "a"))
    b <- blk_cbr(x, nf2, 3, 1, 1, paste0(name, "b"))
    p <- mx.symbol.Pooling(x, kernel = c(3, 3), stride = c(1, 1), pad = c(1, 1), pool_type = "max")
    mx.symbol.Concat(a, b, p, num.args = 3, dim = 1)
  }
  inception <- function(nf2) {
    x <- blk_cbr(mx.symbol.Variable("data"), 16, 3, 1, 1, "stem")
    x <- blk_cbr(blk_cbr(module(x, nf2, "m1"), 32, 1, 1, 0, "mid"), 32, 3, 1, 1, "mid2")
    x <- module(x, 32, "m2")
    x <- mx.symbol.Pooling(x, kernel = c(1, 1), global_pool = TRUE, pool_type = "avg")
    mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(x), num_hidden = 5), name = "sm")
  }
  net <- inception(32)
  on <- blk_run(TRUE, net, dims = c(8, 8, 3, 2))
  off <- blk_run(FALSE, net, dims = c(8, 8, 3, 2))
  blk_expect_close(on$out, off$out)
  blk_expect_close(on$grad, off$grad)
  net8 <- inception(8)
  narrow <- blk_run(TRUE, net8, dims = c(8, 8, 3, 2))
  narrow_off <- blk_run(FALSE, net8, dims = c(8, 8, 3, 2))
  expect_gt(narrow$mem[["n_blocked"]], 0)
  expect_lt(narrow$mem[["n_blocked"]], on$mem[["n_blocked"]])
  blk_expect_close(narrow$grad, narrow_off$grad)
})

test_that("LeakyReLU's element-wise types take blocked values; prelu keeps them plain", {
  for (act in c("leaky", "elu", "selu", "gelu", "prelu")) {
    x <- blk_cbr(mx.symbol.Variable("data"), 16, 3, 1, 1, "a", relu = FALSE)
    x <- mx.symbol.LeakyReLU(x, act_type = act, slope = 0.2, name = "lk")
    x <- blk_cbr(x, 16, 3, 1, 1, "b")
    x <- mx.symbol.Pooling(x, kernel = c(1, 1), global_pool = TRUE, pool_type = "avg")
    net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(x), num_hidden = 5), name = "sm")
    on <- blk_run(TRUE, net, dims = c(6, 6, 3, 2))
    off <- blk_run(FALSE, net, dims = c(6, 6, 3, 2))
    # the values around the LeakyReLU: a's output and BatchNorm, LeakyReLU, b's input side
    if (act == "prelu") expect_lt(on$mem[["n_blocked"]], 8, label = act)
    else expect_gt(on$mem[["n_blocked"]], 8, label = act)
    blk_expect_close(on$grad, off$grad)
  }
})
