# The GPU code paths on fake devices (MXNET_FAKE_GPU=1): host memory that
# only the GPU paths may touch, the CPU kernels as GPU kernels. Copies,
# dispatch, pools, out-of-memory handling, executors and training run
# exactly as they will on a real GPU; only the kernels differ (those are
# tested against the CPU in test-gpu-cuda.R on a GPU machine).

# Switch to fake devices for one test (restored afterwards). When the whole
# suite already runs on them (MXNET_TEST_CTX=gpu), nothing is switched.
with_fake_gpu <- function(code, env = character()) {
  expr <- substitute(code)
  where <- new.env(parent = parent.frame())     # the test's arrays die with it
  already <- nzchar(Sys.getenv("MXNET_FAKE_GPU"))
  if (already && length(env) == 0L) return(eval(expr, where))
  if (already) testthat::skip("needs its own fake devices; the suite runs on fake GPUs")
  if (identical(Sys.getenv("MXNET_TEST_CTX"), "gpu"))
    testthat::skip("the suite runs on a real GPU, which holds arrays")
  old <- Sys.getenv(c("MXNET_FAKE_GPU", names(env)), unset = NA, names = TRUE)
  do.call(Sys.setenv, as.list(c(MXNET_FAKE_GPU = "1", env)))
  mxnet:::mx.gpu.reset()
  on.exit({
    rm(list = ls(where, all.names = TRUE), envir = where)
    for (k in names(old)) if (is.na(old[[k]])) Sys.unsetenv(k) else do.call(Sys.setenv, as.list(old[k]))
    mxnet:::mx.gpu.reset()
  })
  eval(expr, where)
}

# A small MLP trained with a kvstore of the given type on ctx: the model and
# the backend collectives the kvstore ran.
kv_train <- function(ctx, type = "device") {
  set.seed(9)
  x <- matrix(rnorm(10 * 80), 10)
  y <- as.numeric(colSums(x[1:3, ]) > 0)
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(
    mx.symbol.Activation(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 6, name = "f1"),
                         act_type = "tanh"), num_hidden = 2, name = "f2"), name = "softmax")
  kv <- mx.kv.create(type)
  m <- mx.model.FeedForward.create(net, X = x, y = y, ctx = ctx, num.round = 2, array.batch.size = 20,
                                   learning.rate = 0.3, momentum = 0.9, initializer = mx.init.Xavier(),
                                   kvstore = kv, verbose = FALSE)
  list(m = m, collectives = .Call(mxnet:::C_mx_r_kv_info, kv$handle)$stats[5])
}

test_that("fake GPUs: two devices, reported by mx.features", {
  with_fake_gpu({
    expect_equal(mx.gpu.count(), 2L)
    f <- mx.features()
    expect_true(f[["GPU"]])
    expect_match(attr(f, "detail")[["GPU"]], "2 devices \\(fake backend\\)")
  })
})

test_that("fake GPUs: values survive every copy route, in every dtype", {
  with_fake_gpu({
    for (dt in c("float32", "float64", "float16", "bfloat16", "uint8", "int32", "int64")) {
      x <- array(c(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), c(3, 4))
      g0 <- mx.nd.array(x, ctx = mx.gpu(0), dtype = dt)
      expect_equal(as.array(g0), x)
      expect_identical(mx.nd.dtype(g0), dt)
      expect_equal(as.array(g0 * 2 + 1), x * 2 + 1)         # bridged where not native
      expect_equal(ctx(g0)$device_id, 0L)
      g1 <- mx.nd.copyto(g0, mx.gpu(1))
      expect_equal(ctx(g1)$device_id, 1L)
      expect_equal(as.array(g1), x)
      back <- mx.nd.copyto(g1, mx.cpu())
      expect_equal(as.array(back), x)
      cast <- mx.nd.copyto(g1, mx.gpu(0), dtype = "float64")   # device to device with a cast
      expect_equal(mx.nd.dtype(cast), "float64")
      expect_equal(as.array(cast), x)
      up <- mx.nd.copyto(mx.nd.array(x, dtype = "int32"), mx.gpu(1), dtype = dt)  # host to device with a cast
      expect_equal(as.array(up), x)
    }
  })
})

test_that("fake GPUs: fills, indexing and assignment on device arrays", {
  with_fake_gpu({
    z <- mx.nd.zeros(c(2, 3), ctx = mx.gpu(1))
    expect_equal(as.array(z), matrix(0, 2, 3))
    f <- mx.nd.full(c(2, 3), 2.5, ctx = mx.gpu(0), dtype = "float64")
    expect_equal(as.array(f), matrix(2.5, 2, 3))
    a <- mx.nd.array(matrix(1:6, 2), ctx = mx.gpu(0))
    expect_equal(as.array(a[2, ]), c(2, 4, 6))
    expect_equal(ctx(a[2, ])$device, "gpu")
    a[1, 2] <- 100
    expect_equal(as.array(a), matrix(c(1, 2, 100, 4, 5, 6), 2))
    a[, 3] <- mx.nd.array(c(7, 8), ctx = mx.gpu(0))
    expect_equal(as.array(a)[, 3], c(7, 8))
  })
})

test_that("fake GPUs: ops give the CPU's values; mixing devices is a clear error", {
  with_fake_gpu({
    set.seed(3)
    x <- array(runif(2 * 3 * 8 * 8), c(8, 8, 3, 2))
    w <- array(runif(4 * 3 * 3 * 3), c(3, 3, 3, 4))
    run <- function(ctx) {
      xd <- mx.nd.array(x, ctx = ctx)
      wd <- mx.nd.array(w, ctx = ctx)
      c1 <- mx.nd.Convolution(data = xd, weight = wd, kernel = c(3, 3), num_filter = 4, no_bias = TRUE)
      p <- mx.nd.Pooling(mx.nd.relu(c1), kernel = c(2, 2), stride = c(2, 2), pool_type = "max")
      s <- mx.nd.softmax(mx.nd.flatten(p))
      list(as.array(c1), as.array(s), as.array(mx.nd.sum(s * 2 + 1)))
    }
    expect_equal(run(mx.gpu(0)), run(mx.cpu()))
    a <- mx.nd.ones(3, ctx = mx.gpu(0))
    b <- mx.nd.ones(3, ctx = mx.gpu(1))
    expect_error(a + b, class = "mxnet_unsupported_error", regexp = "different devices")
  })
})

test_that("fake GPUs: mx.nd.save and checkpoints read device arrays back", {
  with_fake_gpu({
    f <- tempfile(fileext = ".params")
    on.exit(unlink(f))
    x <- matrix(c(1.5, -2, 3, 4), 2)
    mx.nd.save(list(w = mx.nd.array(x, ctx = mx.gpu(1)), b = mx.nd.array(1:3, ctx = mx.gpu(0))), f)
    l <- mx.nd.load(f)
    expect_equal(as.array(l$w), x)
    expect_equal(as.array(l$b), 1:3)
    expect_equal(ctx(l$w)$device, "cpu")
  })
})

test_that("fake GPUs: running out of device memory is a recoverable memory error", {
  with_fake_gpu(env = c(MXNET_FAKE_GPU_MEM = "64M"), {
    keep <- mx.nd.zeros(c(4, 1024, 1024), ctx = mx.gpu(0))       # 16 MiB
    expect_error(mx.nd.zeros(c(16, 1024, 1024), ctx = mx.gpu(0)), # 64 MiB more
                 class = "mxnet_memory_error", regexp = "GPU out of memory on gpu\\(0\\)")
    # the cache is returned to the device before giving up
    tmp <- mx.nd.zeros(c(8, 1024, 1024), ctx = mx.gpu(0)); rm(tmp); gc()
    expect_gt(mx.memory.stats(mx.gpu(0))[["bytes_cached"]], 0)
    big <- mx.nd.zeros(c(11, 1024, 1024), ctx = mx.gpu(0))     # fits only once the cache is freed
    expect_equal(dim(big), c(11, 1024, 1024))
    expect_equal(mx.memory.stats(mx.gpu(0))[["bytes_cached"]], 0)
    expect_equal(as.array(keep[1, 1, 1]), 0)
    # other devices are untouched
    expect_equal(as.array(mx.nd.ones(2, ctx = mx.gpu(1))), c(1, 1))
  })
})

test_that("fake GPUs: device pools count bytes, reuse blocks and round large ones", {
  with_fake_gpu({
    mx.memory.release(mx.gpu(1))
    s0 <- mx.memory.stats(mx.gpu(1))
    a <- mx.nd.zeros(c(3, 1000, 1000), ctx = mx.gpu(1))   # 12 MB: rounded to 2 MiB steps
    s1 <- mx.memory.stats(mx.gpu(1))
    expect_equal(s1[["bytes_in_use"]] - s0[["bytes_in_use"]], 6 * 2^21)
    rm(a); gc()
    b <- mx.nd.zeros(c(3, 1000, 990), ctx = mx.gpu(1))    # reuses the cached block
    s2 <- mx.memory.stats(mx.gpu(1))
    expect_equal(s2[["n_reuse"]] - s1[["n_reuse"]], 1)
    expect_equal(mx.memory.stats()[["bytes_in_use"]] >= 0, TRUE)
  })
})

test_that("fake GPUs: an op without a GPU kernel fails at bind, naming it", {
  with_fake_gpu(env = c(MXNET_FAKE_GPU_NO_KERNEL = "Pooling", MXNET_FAKE_GPU_NO_GRAD = "Activation"), {
    data <- mx.symbol.Variable("data")
    net <- mx.symbol.Pooling(mx.symbol.Activation(data, act_type = "relu"), kernel = c(1, 1),
                             global_pool = TRUE, pool_type = "avg", name = "pool1")
    expect_error(mx.simple.bind(net, ctx = mx.gpu(0), data = c(2, 2, 3, 5)),
                 class = "mxnet_unsupported_error", regexp = "pool1: Pooling has no GPU kernel")
    expect_error(mx.nd.Pooling(mx.nd.ones(c(2, 2, 1, 1), ctx = mx.gpu(0)), kernel = c(1, 1)),
                 class = "mxnet_unsupported_error", regexp = "Pooling has no GPU kernel")
    act <- mx.symbol.Activation(mx.symbol.FullyConnected(data, num_hidden = 4), act_type = "relu",
                                name = "relu1")
    ex <- mx.simple.bind(act, ctx = mx.gpu(0), data = c(5, 2), grad.req = "write")
    mx.exec.forward(ex, is.train = TRUE)
    expect_error(mx.exec.backward(ex, list(mx.nd.ones(c(4, 2), ctx = mx.gpu(0)))),
                 class = "mxnet_unsupported_error", regexp = "Activation: no gradient on the GPU")
  })
})

test_that("fake GPUs: 3-D Convolution, Deconvolution and Pooling fail at bind (the CUDA kernels are 2-D)", {
  with_fake_gpu({
    data <- mx.symbol.Variable("data")
    conv <- mx.symbol.Convolution(data, kernel = c(3, 3, 3), num_filter = 2, name = "conv3")
    expect_error(mx.simple.bind(conv, ctx = mx.gpu(0), data = c(5, 5, 5, 1, 2)),
                 class = "mxnet_unsupported_error",
                 regexp = "conv3: Convolution: not supported on the GPU: only 1-D and 2-D")
    deconv <- mx.symbol.Deconvolution(data, kernel = c(2, 2, 2), num_filter = 2, name = "up3")
    expect_error(mx.simple.bind(deconv, ctx = mx.gpu(0), data = c(3, 3, 3, 1, 2)),
                 class = "mxnet_unsupported_error", regexp = "Deconvolution: not supported on the GPU")
    pool <- mx.symbol.Pooling(data, kernel = c(2, 2, 2), pool_type = "max", name = "pool3")
    expect_error(mx.simple.bind(pool, ctx = mx.gpu(0), data = c(4, 4, 4, 1, 2)),
                 class = "mxnet_unsupported_error", regexp = "pool3: Pooling: not supported on the GPU")
    expect_error(mx.nd.Pooling(mx.nd.ones(c(2, 2, 2, 1, 1), ctx = mx.gpu(0)), global_pool = TRUE),
                 class = "mxnet_unsupported_error", regexp = "Pooling: not supported on the GPU")
    # the same ops in 2-D still run there
    ex <- mx.simple.bind(mx.symbol.Convolution(data, kernel = c(3, 3), num_filter = 2), ctx = mx.gpu(0),
                         data = c(5, 5, 1, 2))
    expect_s3_class(ex, "MXExecutor")
    rm(ex); gc()
  })
})

test_that("fake GPUs: executors give the CPU's outputs and gradients, with grad_req add", {
  with_fake_gpu({
    set.seed(7)
    data <- mx.symbol.Variable("data")
    fc <- mx.symbol.FullyConnected(data, num_hidden = 5, name = "fc")
    bn <- mx.symbol.BatchNorm(fc, name = "bn")
    net <- mx.symbol.SoftmaxOutput(mx.symbol.Activation(bn, act_type = "tanh"), name = "sm")
    shapes <- list(data = c(6, 4), sm_label = 4)
    vals <- list(data = matrix(rnorm(24), 6), fc_weight = matrix(rnorm(30), 6),
                 fc_bias = rnorm(5), bn_gamma = runif(5), bn_beta = rnorm(5), sm_label = c(0, 1, 4, 2))
    run <- function(ctx) {
      ex <- do.call(mx.simple.bind, c(list(net, ctx = ctx, grad.req = "add"), shapes))
      mx.exec.update.arg.arrays(ex, lapply(vals, mx.nd.array, ctx = ctx), match.name = TRUE)
      for (g in ex$ref.grad.arrays) if (!is.null(g)) g[] <- 0
      for (i in 1:2) {
        mx.exec.forward(ex, is.train = TRUE)
        mx.exec.backward(ex)
      }
      c(list(out = as.array(ex$ref.outputs[[1]])),
        lapply(ex$ref.grad.arrays[c("fc_bias", "fc_weight", "bn_gamma")], as.array),
        lapply(ex$ref.aux.arrays, as.array))
    }
    expect_equal(run(mx.gpu(1)), run(mx.cpu()), tolerance = 1e-6)
  })
})

test_that("fake GPUs: mx.exec.memory reports the planned device bytes", {
  with_fake_gpu({
    data <- mx.symbol.Variable("data")
    h <- data
    for (i in 1:4) h <- mx.symbol.Activation(mx.symbol.FullyConnected(h, num_hidden = 256), act_type = "relu")
    net <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(h, num_hidden = 1))
    plain <- mx.simple.bind(net, ctx = mx.gpu(0), data = c(256, 512), grad.req = "write")
    mem <- mx.exec.memory(plain)
    expect_gt(mem[["planned_bytes"]], 0)
    before <- mx.memory.stats(mx.gpu(0))[["bytes_in_use"]]
    again <- mx.simple.bind(net, ctx = mx.gpu(0), data = c(256, 512), grad.req = "write")
    expect_equal(mx.exec.memory(again)[["planned_bytes"]], mem[["planned_bytes"]])
    expect_gte(mx.memory.stats(mx.gpu(0))[["bytes_in_use"]] - before, mem[["planned_bytes"]])
  })
})

test_that("fake GPUs: the talk's LeNet trains on mx.gpu(0) exactly as on the CPU", {
  with_fake_gpu({
    set.seed(5)
    d <- list(x = array(runif(28 * 28 * 256), c(28, 28, 1, 256)), y = sample(0:9, 256, TRUE))
    net <- get_symbol(10)
    fit <- function(ctx) {
      mx.set.seed(11)
      m <- mx.model.FeedForward.create(net, X = d$x, y = d$y, ctx = ctx, num.round = 2,
                                       array.batch.size = 64, learning.rate = 0.05, momentum = 0.9,
                                       wd = 1e-5, eval.metric = mx.metric.accuracy, verbose = FALSE)
      list(params = lapply(m$arg.params, as.array), pred = predict(m, d$x, ctx = ctx))
    }
    g <- fit(mx.gpu(0))
    c <- fit(mx.cpu())
    expect_equal(g$params, c$params, tolerance = 1e-6)
    expect_equal(g$pred, c$pred, tolerance = 1e-6)
  })
})

test_that("without a GPU, GPU work is a classed error that says why", {
  if (mx.gpu.count() > 0) skip("this machine has GPUs")
  f <- mx.features()
  expect_false(f[["GPU"]])
  why <- attr(f, "detail")[["GPU"]]
  expect_match(why, "^none: ")
  e <- tryCatch(mx.nd.zeros(2, ctx = mx.gpu()), error = function(e) e)
  expect_s3_class(e, "mxnet_unsupported_error")
  expect_match(conditionMessage(e), sub("^none: ", "", why), fixed = TRUE)
})

test_that("fake GPUs: the device kvstore sums over GPUs and trains over two GPUs like one CPU", {
  with_fake_gpu({
    kv <- mx.kv.create("device")
    vals <- list(list(mx.nd.array(c(1, 2), mx.gpu(0))), list(mx.nd.array(c(10, 20), mx.gpu(1))),
                 list(mx.nd.array(c(100, 200), mx.cpu())))
    kv$init(5, list(mx.nd.zeros(2, mx.gpu(1))))
    kv$push(5, vals)
    outs <- list(list(mx.nd.zeros(2, mx.gpu(0))), list(mx.nd.zeros(2, mx.cpu())))
    kv$pull(5, outs)
    for (o in outs) expect_equal(as.array(o[[1]]), c(111, 222))
    one <- kv_train(mx.cpu())$m
    two <- kv_train(list(mx.gpu(0), mx.gpu(1)))
    expect_equal(two$collectives, 8)           # one reduction per step through the backend (NCCL's place)
    two.local <- kv_train(list(mx.gpu(0), mx.gpu(1)), "local")
    expect_equal(two.local$collectives, 0)     # "local" copies and adds
    expect_setequal(names(two$m$arg.params), c("f1_weight", "f1_bias", "f2_weight", "f2_bias"))
    for (n in names(one$arg.params)) {
      expect_equal(as.array(two$m$arg.params[[n]]), as.array(one$arg.params[[n]]), tolerance = 1e-5)
      expect_equal(as.array(two.local$m$arg.params[[n]]), as.array(two$m$arg.params[[n]]), tolerance = 1e-6)
    }
  })
})

test_that("fake GPUs: a device kvstore whose collective cannot start sums with copies and adds, once warned", {
  # as when libnccl cannot be opened: the backend queued nothing
  with_fake_gpu({
    one <- kv_train(mx.cpu())$m
    out <- capture.output(two <- kv_train(list(mx.gpu(0), mx.gpu(1))), type = "message")
    expect_equal(two$collectives, 0)
    expect_equal(sum(grepl("sums gradients with copies and adds: fake GPUs: no collective", out)), 1)
    for (n in names(one$arg.params))
      expect_equal(as.array(two$m$arg.params[[n]]), as.array(one$arg.params[[n]]), tolerance = 1e-5)
  }, env = c(MXNET_FAKE_GPU_NO_REDUCE = "1"))
})
