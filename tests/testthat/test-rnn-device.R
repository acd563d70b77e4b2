# The fused RNN op on the test device against the CPU (values, gradients,
# dropout); tools/gpu-tests.R runs this file early on a GPU.

# On a GPU (MXNET_TEST_CTX=gpu; tools/gpu-check.sh) the RNN runs on cuDNN
# (src/cuda/rnn-cudnn.c), on the fake GPU on the CPU kernels: both must give
# the CPU's values and gradients.
rnn_on <- function(ctx, sym, vals, ograds, is.train = TRUE, backward = is.train) {
  shapes <- lapply(vals, dim)
  req <- setNames(rep("write", length(vals)), names(vals))   # the data's gradient too
  ex <- do.call(mx.simple.bind, c(list(symbol = sym, ctx = ctx, grad.req = req), shapes))
  mx.exec.update.arg.arrays(ex, lapply(vals, function(v) mx.nd.array(v, ctx = ctx)), match.name = TRUE)
  mx.exec.forward(ex, is.train = is.train)
  outs <- lapply(ex$ref.outputs, as.array)
  if (backward) mx.exec.backward(ex, lapply(ograds, function(o) mx.nd.array(o, ctx = ctx)))
  list(outputs = outs, grads = if (backward) lapply(ex$ref.grad.arrays, as.array))
}

test_that("RNN on the test device gives the CPU's outputs and gradients", {
  ctx <- mx.ctx.default()
  skip_if(ctx$device == "cpu", "the test device is the CPU")
  set.seed(11)
  I <- 5; N <- 3; Tn <- 4; H <- 6
  for (mode in c("rnn_relu", "rnn_tanh", "lstm", "gru")) for (L in 1:2) {
    D <- L   # one layer one way, two layers both ways
    sym <- mx.symbol.RNN(data = mx.symbol.Variable("data"), parameters = mx.symbol.Variable("w"),
                         state = mx.symbol.Variable("h0"),
                         state_cell = if (mode == "lstm") mx.symbol.Variable("c0"),
                         state_size = H, num_layers = L, bidirectional = D == 2, mode = mode,
                         state_outputs = TRUE, name = "rnn")
    st <- c(H, N, L * D)
    vals <- list(data = array(rnorm(I * N * Tn), c(I, N, Tn)),
                 w = array(runif(rnn_nparams(mode, I, H, L, D), -0.4, 0.4)),
                 h0 = array(rnorm(prod(st), sd = 0.5), st))
    if (mode == "lstm") vals$c0 <- array(rnorm(prod(st), sd = 0.5), st)
    outs <- rnn_on(mx.cpu(), sym, vals, NULL, is.train = FALSE)$outputs
    og <- lapply(outs, function(o) array(rnorm(length(o)), dim(o)))
    cpu <- rnn_on(mx.cpu(), sym, vals, og)
    dev <- rnn_on(ctx, sym, vals, og)
    info <- sprintf("%s, %d layer(s)", mode, L)
    for (k in seq_along(cpu$outputs)) expect_equal(dev$outputs[[k]], cpu$outputs[[k]], tolerance = 1e-4, info = info)
    for (n in names(cpu$grads)) expect_equal(dev$grads[[n]], cpu$grads[[n]], tolerance = 1e-4, info = paste(info, n))
  }
})

test_that("RNN with dropout between layers trains on the test device and infers as the CPU", {
  ctx <- mx.ctx.default()
  skip_if(ctx$device == "cpu", "the test device is the CPU")
  set.seed(12)
  I <- 4; N <- 3; Tn <- 5; H <- 5
  sym <- mx.symbol.RNN(data = mx.symbol.Variable("data"), parameters = mx.symbol.Variable("w"),
                       state = mx.symbol.Variable("h0"), state_cell = mx.symbol.Variable("c0"),
                       state_size = H, num_layers = 2, mode = "lstm", p = 0.5, name = "rnn")
  st <- c(H, N, 2)
  vals <- list(data = array(rnorm(I * N * Tn), c(I, N, Tn)),
               w = array(runif(rnn_nparams("lstm", I, H, 2, 1), -0.4, 0.4)),
               h0 = array(0, st), c0 = array(0, st))
  og <- list(array(1, c(H, N, Tn)))
  tr <- rnn_on(ctx, sym, vals, og)
  expect_true(all(is.finite(tr$outputs[[1]])))
  expect_true(all(is.finite(tr$grads$w)) && any(tr$grads$w != 0))
  expect_equal(rnn_on(ctx, sym, vals, NULL, is.train = FALSE)$outputs,
               rnn_on(mx.cpu(), sym, vals, NULL, is.train = FALSE)$outputs, tolerance = 1e-4)
})

test_that("RNN gradients after a forward with is.train = FALSE are the CPU's on the test device", {
  # no dropout in that forward; on cuDNN, whose inference mode keeps no
  # reserve space, backward runs a training forward without dropout first
  ctx <- mx.ctx.default()
  skip_if(ctx$device == "cpu", "the test device is the CPU")
  set.seed(13)
  I <- 4; N <- 3; Tn <- 5; H <- 5
  for (mode in c("lstm", "gru")) {
    sym <- mx.symbol.RNN(data = mx.symbol.Variable("data"), parameters = mx.symbol.Variable("w"),
                         state = mx.symbol.Variable("h0"),
                         state_cell = if (mode == "lstm") mx.symbol.Variable("c0"),
                         state_size = H, num_layers = 2, bidirectional = TRUE, mode = mode, p = 0.5,
                         name = "rnn")
    st <- c(H, N, 4)
    vals <- list(data = array(rnorm(I * N * Tn), c(I, N, Tn)),
                 w = array(runif(rnn_nparams(mode, I, H, 2, 2), -0.4, 0.4)),
                 h0 = array(rnorm(prod(st), sd = 0.5), st))
    if (mode == "lstm") vals$c0 <- array(rnorm(prod(st), sd = 0.5), st)
    og <- list(array(rnorm(2 * H * N * Tn), c(2 * H, N, Tn)))
    cpu <- rnn_on(mx.cpu(), sym, vals, og, is.train = FALSE, backward = TRUE)
    dev <- rnn_on(ctx, sym, vals, og, is.train = FALSE, backward = TRUE)
    for (n in names(cpu$grads)) {
      expect_true(any(cpu$grads[[n]] != 0), info = paste(mode, n))
      expect_equal(dev$grads[[n]], cpu$grads[[n]], tolerance = 1e-4, info = paste(mode, n))
    }
  }
})
