# Torch interop: mx.th.* tensor functions, mx.symbol.TorchModule.

test_that("mx.th constructors take Torch's sizes and the talk's ctx argument", {
  a <- mx.th.randn(2, 2, ctx = mx.cpu())
  expect_identical(dim(a), c(2L, 2L))
  expect_identical(as.array(mx.th.zeros(2, 3)), matrix(0, 2, 3))
  expect_identical(as.array(mx.th.ones(c(3, 1))), matrix(1, 3, 1))
  expect_identical(as.array(mx.th.eye(3)), diag(3))
  u <- as.array(mx.th.rand(1000))
  expect_true(all(u >= 0 & u < 1))
  expect_gt(sd(as.array(mx.th.randn(4000))), 0.9)
  expect_error(mx.th.zeros(-1, 2), class = "mxnet_value_error")
})

test_that("mx.th math, BLAS, reductions and shapes match R", {
  set.seed(1)
  A <- matrix(runif(6, 0.5, 2), 2, 3); B <- matrix(rnorm(12), 3, 4); v <- runif(3)
  a <- mx.nd.array(A); b <- mx.nd.array(B)
  tol <- 1e-5
  expect_equal(as.array(mx.th.mm(a, b)), A %*% B, tolerance = tol)
  expect_equal(as.vector(as.array(mx.th.mv(a, mx.nd.array(v)))), as.vector(A %*% v), tolerance = tol)
  expect_equal(mx.th.dot(a, a), sum(A * A), tolerance = tol)
  expect_equal(as.array(mx.th.addmm(mx.nd.array(A %*% B), a, b, beta = 2, alpha = -1)), A %*% B,
               tolerance = tol)
  expect_equal(as.array(mx.th.t(a)), t(A), tolerance = tol)
  fs <- c(abs = "abs", exp = "exp", log = "log", sqrt = "sqrt", tanh = "tanh", sin = "sin",
          cos = "cos", floor = "floor", ceil = "ceiling", sign = "sign", log1p = "log1p")
  for (f in names(fs))
    expect_equal(as.array(get(paste0("mx.th.", f))(a)), get(fs[[f]])(A), tolerance = tol, label = f)
  expect_equal(as.array(mx.th.sigmoid(a)), 1 / (1 + exp(-A)), tolerance = tol)
  expect_equal(as.array(mx.th.rsqrt(a)), 1 / sqrt(A), tolerance = tol)
  expect_equal(as.array(mx.th.neg(a)), -A, tolerance = tol)
  expect_equal(as.array(mx.th.clamp(a, 0.8, 1.5)), pmin(pmax(A, 0.8), 1.5), tolerance = tol)
  expect_equal(as.array(mx.th.cmul(a, a)), A * A, tolerance = tol)
  expect_equal(as.array(mx.th.add(a, 2)), A + 2, tolerance = tol)
  expect_equal(as.array(mx.th.cdiv(a, mx.th.add(a, 1))), A / (A + 1), tolerance = tol)
  expect_equal(as.array(mx.th.pow(a, 3)), A^3, tolerance = tol)
  expect_equal(mx.th.sum(a), sum(A), tolerance = tol)
  expect_equal(as.array(mx.th.sum(a, 1)), matrix(colSums(A), 1), tolerance = tol)
  expect_equal(as.array(mx.th.max(a, 2)), matrix(apply(A, 1, max), 2), tolerance = tol)
  expect_equal(mx.th.min(a), min(A), tolerance = tol)
  expect_equal(mx.th.mean(a), mean(A), tolerance = tol)
  expect_equal(mx.th.norm(a), sqrt(sum(A^2)), tolerance = tol)
  expect_equal(mx.th.norm(a, 1), sum(abs(A)), tolerance = tol)
  expect_equal(as.array(mx.th.view(a, 3, -1)), matrix(A, 3, 2), tolerance = tol)
  expect_identical(mx.th.size(b), c(3L, 4L))
  expect_error(mx.th.view(a, 4, 2), class = "mxnet_value_error")
  expect_error(mx.th.sum(a, 3), class = "mxnet_value_error")
  expect_error(mx.th.mm(a, mx.nd.array(v)), class = "mxnet_value_error")
})

test_that("the talk's TorchModule MLP runs unchanged and trains", {
  data <- mx.symbol.Variable("data")
  fc1 <- mx.symbol.TorchModule(data_0 = data, lua_string = "nn.Linear(784, 128)", num_data = 1,
                               num_params = 2, num_outputs = 1, name = "fc1")
  act1 <- mx.symbol.TorchModule(data_0 = fc1, lua_string = "nn.ReLU(false)", num_data = 1,
                                num_params = 0, num_outputs = 1, name = "relu1")
  fc2 <- mx.symbol.TorchModule(data_0 = act1, lua_string = "nn.Linear(128, 64)", num_data = 1,
                               num_params = 2, num_outputs = 1, name = "fc2")
  act2 <- mx.symbol.TorchModule(data_0 = fc2, lua_string = "nn.ReLU(false)", num_data = 1,
                                num_params = 0, num_outputs = 1, name = "relu2")
  fc3 <- mx.symbol.TorchModule(data_0 = act2, lua_string = "nn.Linear(64, 10)", num_data = 1,
                               num_params = 2, num_outputs = 1, name = "fc3")
  mlp <- mx.symbol.SoftmaxOutput(data = fc3, name = "softmax")
  expect_identical(arguments(mlp), c("data", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias",
                                     "fc3_weight", "fc3_bias", "softmax_label"))
  set.seed(2)
  n <- 500
  y <- sample(0:9, n, TRUE)
  X <- matrix(rnorm(784 * 10), 784)[, y + 1] + matrix(rnorm(784 * n, sd = 2), 784)
  m <- mx.model.FeedForward.create(mlp, X = X, y = y, num.round = 4, array.batch.size = 50,
                                   learning.rate = 0.05, momentum = 0.9,
                                   initializer = mx.init.Xavier(),
                                   array.layout = "colmajor", verbose = FALSE)
  p <- predict(m, X, array.layout = "colmajor")
  expect_gt(mean(max.col(t(p)) - 1 == y), 0.5)   # chance is 0.1
})

test_that("TorchModule translates convolution, pooling, view, batch norm and Sequential", {
  x <- mx.symbol.Variable("data")
  net <- mx.symbol.TorchModule(data_0 = x, num_params = 6, name = "seq", lua_string = paste(
    "nn.Sequential():add(nn.SpatialConvolution(1, 4, 3, 3, 1, 1, 1, 1))",
    ":add(nn.SpatialBatchNormalization(4, 1e-5, 0.1)):add(nn.Tanh())",
    ":add(nn.SpatialMaxPooling(2, 2)):add(nn.View(4 * 4 * 4)):add(nn.Linear(64, 10))",
    ":add(nn.LogSoftMax())"))
  expect_identical(arguments(net), c("data", "seq_1_weight", "seq_1_bias", "seq_2_gamma",
                                     "seq_2_beta", "seq_6_weight", "seq_6_bias"))
  sh <- mx.symbol.infer.shape(net, data = c(8, 8, 1, 5))
  expect_identical(sh$out.shapes[[1]], c(10L, 5L))
  expect_identical(sh$arg.shapes$seq_1_weight, c(3L, 3L, 1L, 4L))
  # values: LogSoftMax of a Linear equals R's log-softmax
  set.seed(3)
  W <- matrix(rnorm(12), 4, 3); X <- matrix(rnorm(6), 3, 2)
  s <- mx.symbol.TorchModule(data_0 = x, num_params = 1, name = "l",
                             lua_string = "nn.Sequential():add(nn.Linear(3, 4, false)):add(nn.LogSoftMax())")
  ex <- mx.simple.bind(s, ctx = mx.cpu(), data = dim(X))
  mx.exec.update.arg.arrays(ex, list(data = mx.nd.array(X), l_1_weight = mx.nd.array(t(W))),
                            match.name = TRUE)
  mx.exec.forward(ex, is.train = FALSE)
  z <- W %*% X
  expect_equal(as.array(ex$outputs[[1]]), sweep(z, 2, log(colSums(exp(z)))), tolerance = 1e-5)
})

test_that("unsupported modules and bad lua strings give classed errors", {
  x <- mx.symbol.Variable("data")
  e <- tryCatch(mx.symbol.TorchModule(data_0 = x, lua_string = "nn.LSTM(3, 4)"), mxnet_error = function(e) e)
  expect_s3_class(e, "mxnet_unsupported_error")
  expect_match(conditionMessage(e), "nn.SpatialConvolution")
  for (bad in c("nn.Linear(3, 4", "os.execute('x')", "nn.Linear(3, 4))", "nn.Linear(a, 4)",
                "nn.Tanh():add(nn.ReLU())"))
    expect_error(mx.symbol.TorchModule(data_0 = x, lua_string = bad), class = "mxnet_value_error")
  expect_error(mx.symbol.TorchModule(data_0 = x, lua_string = "nn.Linear(3, 4)", num_params = 1),
               "2 parameters", class = "mxnet_value_error")
})
