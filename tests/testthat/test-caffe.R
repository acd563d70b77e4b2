# Caffe interop: the prototxt parser, CaffeOp / CaffeLoss translation into
# native ops.

# Forward of a symbol (first output) with the given named R arrays.
sym_forward <- function(sym, args, aux = list()) {
  ex <- do.call(mx.simple.bind, c(list(sym, ctx = mx.cpu(), grad.req = "null"), lapply(args, dim)))
  mx.exec.update.arg.arrays(ex, lapply(args, mx.nd.array), match.name = TRUE)
  if (length(aux)) mx.exec.update.aux.arrays(ex, lapply(aux, mx.nd.array), match.name = TRUE)
  mx.exec.forward(ex, is.train = FALSE)
  as.array(ex$outputs[[1L]])
}
caffe_layer <- function(x, text, ...) mx.symbol.CaffeOp(data_0 = x, prototxt = text, ...)

test_that("the prototxt parser reads nesting, repeats, lists, strings, enums and comments", {
  p <- mxnet:::caffe.pt.parse(paste(
    "name: 'n\\'x' # comment",
    "layer { type: \"Pooling\" bottom: \"a\" bottom: \"b\"; pooling_param < pool: AVE kernel_size: 3 > }",
    "input_dim: [1, 3, 224, 224] flag: true", sep = "\n"))
  expect_identical(mxnet:::pt.get(p, "name"), "n'x")
  l <- mxnet:::pt.get(p, "layer")
  expect_identical(unlist(mxnet:::pt.all(l, "bottom")), c("a", "b"))
  pp <- mxnet:::pt.get(l, "pooling_param")
  expect_identical(mxnet:::pt.enum(pp, "pool", c("MAX", "AVE", "STOCHASTIC"), "MAX"), "AVE")
  expect_identical(mxnet:::pt.num(pp, "kernel_size"), 3)
  expect_identical(mxnet:::pt.num(p, "input_dim"), c(1, 3, 224, 224))
  expect_true(mxnet:::pt.bool(p, "flag", FALSE))
})

test_that("malformed prototxt gives a classed error naming the problem", {
  for (bad in c("layer { type: \"ReLU\"", "layer { type: \"ReLU }", "layer { : }",
                "a: [1, 2", "layer } ", paste(rep("a {", 100), collapse = " ")))
    expect_error(mxnet:::caffe.pt.parse(bad), class = "mxnet_value_error")
  e <- tryCatch(mxnet:::caffe.pt.parse("x { y: 1", where = "net.prototxt", kind = "io"),
                mxnet_error = function(e) e)
  expect_s3_class(e, "mxnet_io_error")
  expect_match(conditionMessage(e), "net.prototxt")
  x <- mx.symbol.Variable("x")
  expect_error(caffe_layer(x, "layer{type:\"LRN\"}"), "InnerProduct", class = "mxnet_unsupported_error")
  expect_error(caffe_layer(x, "layer{type:\"ReLU\"} layer{type:\"ReLU\"}"), class = "mxnet_value_error")
  expect_error(caffe_layer(x, "layer{type:\"InnerProduct\" inner_product_param{num_output: 3}}",
                           num_weight = 1), "2 weight", class = "mxnet_value_error")
  expect_error(mx.symbol.CaffeOp(data_1 = x, prototxt = "layer{type:\"ReLU\"}"), class = "mxnet_value_error")
})

test_that("the talk's CaffeOp MLP runs unchanged and trains", {
  data <- mx.symbol.Variable("data")
  fc1 <- mx.symbol.CaffeOp(data_0 = data, num_weight = 2, name = "fc1",
    prototxt = "layer{type:\"InnerProduct\" inner_product_param{num_output: 128} }")
  act1 <- mx.symbol.CaffeOp(data_0 = fc1, prototxt = "layer{type:\"TanH\"}")
  fc2 <- mx.symbol.CaffeOp(data_0 = act1, num_weight = 2, name = "fc2",
    prototxt = "layer{type:\"InnerProduct\" inner_product_param{num_output: 64} }")
  act2 <- mx.symbol.CaffeOp(data_0 = fc2, prototxt = "layer{type:\"TanH\"}")
  fc3 <- mx.symbol.CaffeOp(data_0 = act2, num_weight = 2, name = "fc3",
    prototxt = "layer{type:\"InnerProduct\" inner_product_param{num_output: 10}}")
  label <- mx.symbol.Variable("softmax_label")
  mlp <- mx.symbol.CaffeLoss(data = fc3, label = label, grad_scale = 1, name = "softmax",
                             prototxt = "layer{type:\"SoftmaxWithLoss\"}")
  expect_identical(arguments(mlp), c("data", "fc1_0_weight", "fc1_1_bias", "fc2_0_weight",
                                     "fc2_1_bias", "fc3_0_weight", "fc3_1_bias", "softmax_label"))
  set.seed(1)
  n <- 500
  y <- sample(0:9, n, TRUE)
  X <- matrix(rnorm(784 * 10), 784)[, y + 1] + matrix(rnorm(784 * n, sd = 2), 784)
  m <- mx.model.FeedForward.create(mlp, X = X, y = y, num.round = 4, array.batch.size = 50,
                                   learning.rate = 0.05, momentum = 0.9,
                                   array.layout = "colmajor", verbose = FALSE)
  p <- predict(m, X, array.layout = "colmajor")
  expect_gt(mean(max.col(t(p)) - 1 == y), 0.5)   # chance is 0.1
})

test_that("Caffe pooling rounds up; convolution geometry is Caffe's (h, w)", {
  set.seed(2)
  x <- array(rnorm(9 * 9 * 2), c(9, 9, 2, 1))
  s <- caffe_layer(mx.symbol.Variable("x"),
                   "layer{type:'Pooling' pooling_param{pool: MAX kernel_size: 2 stride: 2}}")
  o <- sym_forward(s, list(x = x))
  expect_identical(dim(o), c(5L, 5L, 2L, 1L))
  expect_equal(o[5, 5, , 1], x[9, 9, , 1], tolerance = 1e-6)
  expect_equal(o[2, 3, 1, 1], max(x[3:4, 5:6, 1, 1]), tolerance = 1e-6)
  a <- caffe_layer(mx.symbol.Variable("x"),
                   "layer{type:'Pooling' pooling_param{pool: AVE global_pooling: true}}")
  expect_equal(as.vector(sym_forward(a, list(x = x))), apply(x, 3, mean), tolerance = 1e-6)
  cv <- caffe_layer(mx.symbol.Variable("x"), num_weight = 1, name = "cv", paste(
    "layer{type:'Convolution' convolution_param{num_output: 3 kernel_h: 3 kernel_w: 1",
    "stride_h: 2 pad_h: 1 bias_term: false}}"))
  expect_identical(arguments(cv), c("x", "cv_0_weight"))
  w <- array(rnorm(1 * 3 * 2 * 3), c(1, 3, 2, 3))
  o <- sym_forward(cv, list(x = x, cv_0_weight = w))
  expect_identical(dim(o), c(9L, 5L, 3L, 1L))
  # output row i (C order h) = sum over kh, c of w * x at h = 2i - 1 + kh (0-based)
  ref <- sum(sapply(1:3, function(kh) sum(w[1, kh, , 2] * x[4, 2 * 3 - 3 + kh, , 1])))
  expect_equal(o[4, 3, 2, 1], ref, tolerance = 1e-5)
})

test_that("Eltwise SUM (with coefficients), PROD and MAX compute what they say", {
  set.seed(3)
  a <- array(rnorm(12), c(3, 4)); b <- array(rnorm(12), c(3, 4)); c3 <- array(rnorm(12), c(3, 4))
  va <- mx.symbol.Variable("a"); vb <- mx.symbol.Variable("b"); vc <- mx.symbol.Variable("c")
  elt <- function(op) mx.symbol.CaffeOp(data_0 = va, data_1 = vb, data_2 = vc, num_data = 3,
                                        prototxt = sprintf("layer{type:'Eltwise' eltwise_param{%s}}", op))
  args <- list(a = a, b = b, c = c3)
  expect_equal(sym_forward(elt("operation: PROD"), args), a * b * c3, tolerance = 1e-5)
  expect_equal(sym_forward(elt("operation: MAX"), args), pmax(a, b, c3), tolerance = 1e-6)
  expect_equal(sym_forward(elt(""), args), a + b + c3, tolerance = 1e-5)
  expect_equal(sym_forward(elt("coeff: 2 coeff: -1 coeff: 0.5"), args), 2 * a - b + 0.5 * c3,
               tolerance = 1e-5)
  cat2 <- mx.symbol.CaffeOp(data_0 = va, data_1 = vb, num_data = 2,
                            prototxt = "layer{type:'Concat' concat_param{axis: 0}}")
  expect_equal(sym_forward(cat2, list(a = a, b = b)), cbind(a, b), tolerance = 1e-6,
               ignore_attr = TRUE)
})

test_that("ReLU slope, Power, Sigmoid, Reshape and BatchNorm match R references", {
  set.seed(4)
  x <- array(rnorm(2 * 3 * 4 * 2), c(2, 3, 4, 2))
  vx <- mx.symbol.Variable("x")
  f <- function(text, ...) sym_forward(caffe_layer(vx, text, ...), list(x = x))
  expect_equal(f("layer{type:'ReLU' relu_param{negative_slope: 0.1}}"), ifelse(x > 0, x, 0.1 * x),
               tolerance = 1e-6)
  expect_equal(f("layer{type:'Power' power_param{power: 2 scale: 2 shift: 1}}"), (1 + 2 * x)^2,
               tolerance = 1e-5)
  expect_equal(f("layer{type:'Sigmoid'}"), 1 / (1 + exp(-x)), tolerance = 1e-6)
  expect_identical(dim(f("layer{type:'Reshape' reshape_param{shape{dim: 0 dim: -1}}}")), c(24L, 2L))
  bn <- caffe_layer(vx, "layer{type:'BatchNorm' batch_norm_param{use_global_stats: true}}",
                    num_weight = 3, name = "bn")
  expect_identical(auxiliary.states(bn), c("bn_0_moving_mean", "bn_1_moving_var"))
  m <- c(0.5, -1, 2, 0); v <- c(1, 2, 0.5, 4)
  o <- sym_forward(bn, list(x = x), list(bn_0_moving_mean = array(m), bn_1_moving_var = array(v)))
  ref <- sweep(sweep(x, 3, m), 3, sqrt(v + 1e-5), "/")
  expect_equal(o, ref, tolerance = 1e-5)
})
