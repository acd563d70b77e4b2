# Training in float16 and bfloat16 with float32 master weights: executors
# bridge half values through float32 copies where a kernel does not take
# them (src/engine/bridge.c), simple.bind gives a net that casts its data to
# half precision half-precision weights, and the updater keeps float32
# master copies (MXNet's multi_precision). Runs on the test context (the
# fake GPU with MXNET_TEST_CTX=gpu).

half_types <- c("float16", "bfloat16")
# a real GPU runs some ops in half precision natively (cuBLAS, cuDNN), which
# the CPU and the fake GPU (the CPU's kernels) compute on float32 copies
real_gpu <- function() mx.ctx.default()$device == "gpu" && !nzchar(Sys.getenv("MXNET_FAKE_GPU"))

# A small conv net whose body computes in dtype (data cast in, scores cast out).
half_lenet <- function(dtype) {
  d <- mx.symbol.Variable("data")
  if (dtype != "float32") d <- mx.symbol.Cast(d, dtype = dtype, name = "to_half")
  c1 <- mx.symbol.Convolution(d, kernel = c(5, 5), num_filter = 6, name = "c1")
  bn <- mx.symbol.BatchNorm(c1, name = "bn")
  a1 <- mx.symbol.Activation(bn, act_type = "relu", name = "a1")
  p1 <- mx.symbol.Pooling(a1, pool_type = "max", kernel = c(2, 2), stride = c(2, 2), name = "p1")
  fc <- mx.symbol.FullyConnected(mx.symbol.Flatten(p1), num_hidden = 4, name = "fc")
  if (dtype != "float32") fc <- mx.symbol.Cast(fc, dtype = "float32", name = "to_f32")
  mx.symbol.SoftmaxOutput(fc, name = "sm")
}

# Four classes of 12x12 images, each with a bright band of its own.
band_data <- function(n = 256, seed = 7) {
  set.seed(seed)
  x <- array(runif(12 * 12 * n), c(12, 12, 1, n))
  y <- sample(0:3, n, TRUE)
  for (i in seq_len(n)) x[1:3 + 3 * y[i], , 1, i] <- x[1:3 + 3 * y[i], , 1, i] + 1.5
  list(x = x, y = y)
}

test_that("a net that casts its data to half precision binds half weights, float32 BatchNorm parameters", {
  for (dt in half_types) {
    ty <- mx.symbol.infer.type(half_lenet(dt))
    expect_identical(unname(ty$arg.types[c("data", "c1_weight", "c1_bias", "fc_weight", "sm_label")]),
                     c("float32", dt, dt, dt, "float32"))
    expect_identical(unname(ty$arg.types[c("bn_gamma", "bn_beta")]), c("float32", "float32"))
    expect_identical(unname(ty$aux.types), c("float32", "float32"))
    ex <- mx.simple.bind(half_lenet(dt), data = c(12, 12, 1, 8), grad.req = "write")
    expect_identical(mx.nd.dtype(ex$ref.arg.arrays$c1_weight), dt)
    expect_identical(mx.nd.dtype(ex$ref.grad.arrays$fc_weight), dt)
    expect_identical(mx.nd.dtype(ex$ref.aux.arrays$bn_moving_var), "float32")
    expect_identical(mx.nd.dtype(ex$ref.outputs[[1]]), "float32")
  }
  # BatchNorm refuses parameters of another dtype than float32 or the data's
  expect_error(mx.symbol.infer.type(mx.symbol.BatchNorm(mx.symbol.Variable("x"), name = "b"),
                                    x = "float16", b_gamma = "float64"),
               "for float16 data it must be float32", class = "mxnet_dtype_error")
})

test_that("an executor on half values computes in float32 between ops, one conversion per value", {
  for (dt in half_types) {
    set.seed(3)
    xv <- in_dtype(matrix(rnorm(8), 4, 2), dt)
    wv <- in_dtype(matrix(rnorm(12), 4, 3), dt)
    a <- mx.symbol.Variable("a")
    w <- mx.symbol.Variable("w")
    f1 <- mx.symbol.FullyConnected(a, weight = w, num_hidden = 3, no_bias = TRUE, name = "f1")
    f2 <- mx.symbol.FullyConnected(a, weight = w, num_hidden = 3, no_bias = TRUE, name = "f2")
    net <- mx.symbol.Activation(f1 + f2, act_type = "tanh", name = "act")
    x <- mx.nd.array(xv, dtype = dt)
    W <- mx.nd.array(wv, dtype = dt)
    ex <- mxnet:::mx.symbol.bind(net, mx.ctx.default(), list(a = x, w = W), list(), "null")
    mx.exec.profile(ex, TRUE)
    mx.exec.forward(ex, is.train = FALSE)
    out <- ex$ref.outputs[[1]]
    expect_identical(mx.nd.dtype(out), dt)
    # float32 from the half inputs to the output, which is rounded once
    x32 <- mx.nd.array(xv, ctx = mx.ctx.default())
    w32 <- mx.nd.array(wv, ctx = mx.ctx.default())
    g <- mx.nd.FullyConnected(x32, w32, num_hidden = 3, no_bias = TRUE)
    ref <- mx.nd.cast(mx.nd.Activation(g + g, act_type = "tanh"), dt)
    if (real_gpu()) {   # FullyConnected and tanh in dt there: a rounding each
      expect_equal(as.array(out), as.array(ref), tolerance = if (dt == "float16") 4e-3 else 3e-2)
      next
    }
    expect_identical(as.array(out), as.array(ref))
    # a (read by f1 and f2) and w are converted to float32 once each, the
    # output back to dt; f1, f2, the sum and tanh pass float32 on
    prof <- mx.exec.profile(ex)
    expect_identical(prof$calls[prof$op == "Cast" & prof$phase == "forward"], 3)
  }
})

test_that("gradients through half values match float32 gradients within half precision", {
  for (dt in half_types) {
    set.seed(5)
    d <- band_data(16)
    net <- half_lenet(dt)
    ex <- mx.simple.bind(net, data = dim(d$x), grad.req = "write")
    ref <- mx.simple.bind(half_lenet("float32"), data = dim(d$x), grad.req = "write")
    init <- mx.model.init.params(half_lenet("float32"), list(data = dim(d$x)), NULL,
                                 mx.init.uniform(0.2), mx.cpu())
    # the float32 net starts from the weights rounded to dt, and the data too
    p32 <- lapply(init$arg.params, function(a) mx.nd.array(in_dtype(as.array(a), dt)))
    xr <- in_dtype(d$x, dt)
    mx.exec.update.arg.arrays(ex, c(init$arg.params, list(data = mx.nd.array(d$x), sm_label = mx.nd.array(d$y))),
                              match.name = TRUE)
    mx.exec.update.arg.arrays(ref, c(p32, list(data = mx.nd.array(xr), sm_label = mx.nd.array(d$y))),
                              match.name = TRUE)
    for (e in list(ex, ref)) {
      mx.exec.forward(e, is.train = TRUE)
      mx.exec.backward(e)
    }
    tol <- if (dt == "float16") 0.02 else 0.1
    expect_equal(as.array(ex$ref.outputs[[1]]), as.array(ref$ref.outputs[[1]]), tolerance = tol)
    for (nm in c("c1_weight", "bn_beta", "fc_weight", "fc_bias")) {
      g <- as.array(ex$ref.grad.arrays[[nm]])
      g0 <- as.array(ref$ref.grad.arrays[[nm]])
      expect_identical(mx.nd.dtype(ex$ref.grad.arrays[[nm]]), if (nm == "bn_beta") "float32" else dt)
      expect_lt(sqrt(sum((g - g0)^2)) / sqrt(sum(g0^2)), tol, label = paste(dt, nm))
    }
  }
})

test_that("the mirror recomputes half-precision nets to the same gradients", {
  d <- band_data(16)
  grads <- function(mirror) {
    old <- options(mxnet.backward.mirror = mirror)
    on.exit(options(old))
    ex <- mx.simple.bind(half_lenet("bfloat16"), data = dim(d$x), grad.req = "write")
    mx.set.seed(1)
    init <- mx.model.init.params(half_lenet("bfloat16"), list(data = dim(d$x)), NULL,
                                 mx.init.uniform(0.2), mx.cpu())
    mx.exec.update.arg.arrays(ex, c(init$arg.params, list(data = mx.nd.array(d$x), sm_label = mx.nd.array(d$y))),
                              match.name = TRUE)
    mx.exec.forward(ex, is.train = TRUE)
    mx.exec.backward(ex)
    lapply(ex$ref.grad.arrays[c("c1_weight", "fc_weight")], as.array)
  }
  # cuDNN's weight-gradient algorithms may add in any order on a real GPU
  if (real_gpu()) expect_equal(grads(TRUE), grads(FALSE), tolerance = 1e-2)
  else expect_identical(grads(TRUE), grads(FALSE))
})

test_that("the updater keeps float32 master copies of half weights", {
  for (dt in half_types) {
    w <- mx.nd.array(c(1, -2), dtype = dt, ctx = mx.ctx.default())
    step <- if (dt == "float16") 1e-4 else 1e-3   # under half the spacing below 1
    g <- mx.nd.array(c(step, step), dtype = dt, ctx = mx.ctx.default())
    upd <- mx.opt.get.updater(mx.opt.create("sgd", learning.rate = 1), list(w))
    for (i in 1:10) upd(list(w), list(g))
    # each step alone rounds back to the weight; ten of them add up
    gr <- in_dtype(step, dt)
    expect_identical(mx.nd.dtype(w), dt)
    expect_identical(as.array(w), in_dtype(c(1, -2) - 10 * gr, dt))
    expect_false(as.array(w)[1] == 1)
    # any optimizer: adam on the master copy
    w2 <- mx.nd.array(c(0.5, 0.25), dtype = dt, ctx = mx.ctx.default())
    w32 <- mx.nd.array(c(0.5, 0.25), ctx = mx.ctx.default())
    u2 <- mx.opt.get.updater(mx.opt.create("adam", learning.rate = 0.01), list(w2))
    u32 <- mx.opt.get.updater(mx.opt.create("adam", learning.rate = 0.01), list(w32))
    for (i in 1:3) {
      u2(list(w2), list(mx.nd.array(c(0.5, -1), dtype = dt, ctx = mx.ctx.default())))
      u32(list(w32), list(mx.nd.array(c(0.5, -1), ctx = mx.ctx.default())))
    }
    expect_identical(as.array(w2), in_dtype(as.array(w32), dt))
    # multi_precision = FALSE refuses them, with the weight unchanged
    u3 <- mx.opt.get.updater(mx.opt.create("sgd", learning.rate = 1, multi_precision = FALSE), list(w2))
    before <- as.array(w2)
    expect_error(u3(list(w2), list(g)), "float32 master copy", class = "mxnet_dtype_error")
    expect_identical(as.array(w2), before)
  }
  expect_error(mx.opt.create("sgd", multi_precision = NA), "multi_precision")
})

test_that("FeedForward trains float16 and bfloat16 nets as well as float32, and checkpoints keep their dtypes", {
  d <- band_data()
  acc <- c()
  for (dt in c("float32", half_types)) {
    mx.set.seed(2)
    m <- mx.model.FeedForward.create(half_lenet(dt), X = d$x, y = d$y, ctx = mx.ctx.default(),
                                     num.round = 3, array.batch.size = 32, learning.rate = 0.05,
                                     momentum = 0.9, initializer = mx.init.uniform(0.1),
                                     verbose = FALSE)
    expect_identical(mx.nd.dtype(m$arg.params$c1_weight), dt)
    expect_identical(mx.nd.dtype(m$arg.params$bn_gamma), "float32")
    p <- predict(m, d$x)
    acc[dt] <- mean(max.col(t(p)) - 1 == d$y)
    if (dt == "float32") next
    prefix <- file.path(tempdir(), paste0("half-", dt))
    mx.model.save(m, prefix, 3)
    m2 <- mx.model.load(prefix, 3)
    expect_identical(mx.nd.dtype(m2$arg.params$fc_weight), dt)
    expect_identical(as.array(m2$arg.params$fc_weight), as.array(m$arg.params$fc_weight))
    expect_identical(predict(m2, d$x), p)
  }
  expect_gt(acc[["float32"]], 0.9)
  expect_gt(acc[["float16"]], acc[["float32"]] - 0.05)
  expect_gt(acc[["bfloat16"]], acc[["float32"]] - 0.05)
})

test_that("half-precision nets train on two devices as on one", {
  d <- band_data(128)
  on.gpu <- mx.ctx.default()$device == "gpu"
  skip_if(on.gpu && mx.gpu.count() < 2, "needs two GPUs")
  ctxs <- if (on.gpu) list(mx.gpu(0), mx.gpu(1)) else list(mx.cpu(0), mx.cpu(1))
  # no BatchNorm: the two halves' gradients add up to the whole batch's
  net <- function(dt) {
    x <- mx.symbol.Cast(mx.symbol.Flatten(mx.symbol.Variable("data")), dtype = dt)
    h <- mx.symbol.Activation(mx.symbol.FullyConnected(x, num_hidden = 16, name = "h"), act_type = "tanh")
    o <- mx.symbol.Cast(mx.symbol.FullyConnected(h, num_hidden = 4, name = "o"), dtype = "float32")
    mx.symbol.SoftmaxOutput(o, name = "sm")
  }
  for (dt in half_types) {
    fit <- function(ctx) {
      mx.set.seed(4)
      mx.model.FeedForward.create(net(dt), X = d$x, y = d$y, ctx = ctx, num.round = 2,
                                  array.batch.size = 32, learning.rate = 0.1,
                                  initializer = mx.init.uniform(0.1), verbose = FALSE)
    }
    m1 <- fit(ctxs[[1]])
    m2 <- fit(ctxs)
    expect_identical(mx.nd.dtype(m2$arg.params$o_weight), dt)
    w1 <- as.array(m1$arg.params$h_weight)
    w2 <- as.array(m2$arg.params$h_weight)
    # each device's gradient is rounded to dt before the sum: a few ulps apart
    expect_lt(max(abs(w1 - w2)) / max(abs(w1)), if (dt == "float16") 0.01 else 0.05)
    expect_gt(mean(max.col(t(predict(m2, d$x))) - 1 == d$y), 0.8)
  }
})
