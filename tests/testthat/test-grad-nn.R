# Gradients of the NN ops (src/ops/nn.c) against central finite differences.
# Inputs are R arrays (R order: an R dim c(d1, ..., dk) is the engine shape
# (dk, ..., d1)); values avoid the kinks of relu-like functions.

anyv <- function(d, lo = -2, hi = 2) array(runif(prod(d), lo, hi), d)
away <- function(d, lo = 0.1, hi = 2) array(runif(prod(d), lo, hi) * sample(c(-1, 1), prod(d), TRUE), d)

test_that("FullyConnected has correct gradients for data, weight and bias", {
  set.seed(1)
  # data engine (4, 2, 3): 4 rows of 6 inputs; weight engine (5, 6)
  check_grad("FullyConnected", list(anyv(c(3, 2, 4)), anyv(c(6, 5)), anyv(5)), list(num_hidden = 5))
  check_grad("FullyConnected", list(anyv(c(6, 1)), anyv(c(6, 2))), list(num_hidden = 2, no_bias = TRUE))
  # flatten = FALSE: the last engine axis (3 inputs)
  check_grad("FullyConnected", list(anyv(c(3, 2, 4)), anyv(c(3, 5)), anyv(5)),
             list(num_hidden = 5, flatten = FALSE))
})

test_that("Activation has correct gradients for every act_type", {
  set.seed(2)
  for (a in c("relu", "sigmoid", "tanh", "softrelu", "softsign"))
    check_grad("Activation", list(away(c(4, 5))), list(act_type = a), label = a)
})

test_that("LeakyReLU has correct gradients, prelu's gamma included", {
  set.seed(3)
  x <- away(c(4, 3, 2))                           # engine (2, 3, 4): 3 channels
  for (a in c("leaky", "elu", "selu", "gelu"))
    check_grad("LeakyReLU", list(x), list(act_type = a, slope = 0.3), label = a)
  check_grad("LeakyReLU", list(x, runif(3, 0.1, 0.9)), list(act_type = "prelu"), label = "prelu")
  check_grad("LeakyReLU", list(x, 0.4), list(act_type = "prelu"), label = "prelu, one gamma")
  check_grad("LeakyReLU", list(x), list(act_type = "rrelu"), label = "rrelu, training")
  check_grad("LeakyReLU", list(x), list(act_type = "rrelu"), is.train = FALSE, label = "rrelu, inference")
})

test_that("softmax and log_softmax have correct gradients", {
  set.seed(4)
  x <- anyv(c(4, 3, 2))
  for (op in c("softmax", "log_softmax")) {
    for (ax in c(-1, 0, 1)) check_grad(op, list(x), list(axis = ax), label = paste(op, ax))
    check_grad(op, list(x), list(temperature = 1.7), label = paste(op, "temperature"))
  }
})

test_that("BatchNorm has correct gradients in training and with global statistics", {
  set.seed(5)
  x <- anyv(c(3, 2, 4), -1, 3)                    # engine (4, 2, 3): 2 channels
  ins <- list(x, runif(2, 0.5, 1.5), runif(2, -1, 1), runif(2, -1, 1), runif(2, 0.5, 2))
  for (fg in c(FALSE, TRUE)) {
    g <- check_grad("BatchNorm", ins, list(fix_gamma = fg), wrt = 1:3, label = paste("fix_gamma", fg))
    if (fg) expect_true(all(g[[2]] == 0))
    expect_null(g[[4]])
  }
  check_grad("BatchNorm", ins, list(fix_gamma = FALSE, use_global_stats = TRUE), wrt = 1:3,
             label = "use_global_stats")
  check_grad("BatchNorm", ins, list(fix_gamma = FALSE), wrt = 1:3, is.train = FALSE, label = "inference")
  check_grad("BatchNorm", list(anyv(c(5, 3)), runif(5, 0.5, 1.5), runif(5), runif(5), runif(5, 0.5, 2)),
             list(fix_gamma = FALSE, axis = -1, eps = 0.01), wrt = 1:3, label = "axis -1")
})

test_that("Dropout has the gradient of its mask", {
  set.seed(6)
  check_grad("Dropout", list(anyv(c(6, 5))), list(p = 0.4))
  check_grad("Dropout", list(anyv(c(6, 5, 2))), list(p = 0.5, axes = 1))
  check_grad("Dropout", list(anyv(c(6, 5))), list(p = 0.4), is.train = FALSE, label = "Dropout inference")
})

test_that("Embedding, Crop, SliceChannel and BlockGrad have correct gradients", {
  set.seed(7)
  # Embedding: the weight's gradient (indices repeat); none for the indices
  g <- check_grad("Embedding", list(c(0, 2, 2, 3, 1, 2), anyv(c(3, 4))),
                  list(input_dim = 4, output_dim = 3), wrt = 2)
  expect_true(all(g[[1]] == 0))
  x <- anyv(c(5, 4, 2, 2))
  check_grad("Crop", list(x), list(h_w = c(2, 3), offset = c(1, 1)))
  check_grad("Crop", list(x), list(h_w = c(3, 2), center_crop = TRUE))
  g <- check_grad("Crop", list(x, anyv(c(3, 3, 1, 1))), list(offset = c(2, 0)))
  expect_true(all(g[[2]] == 0))
  y <- anyv(c(4, 3, 2))
  check_grad("SliceChannel", list(y), list(num_outputs = 3))
  check_grad("SliceChannel", list(y), list(num_outputs = 2, axis = 0, squeeze_axis = TRUE))
  check_grad("SliceChannel", list(y), list(num_outputs = 4, axis = -1))
  # BlockGrad: the output moves with the input, but the gradient is zero
  r <- mxnet:::nd.forward.backward("BlockGrad", list(mx.nd.array(y, dtype = "float64")), NULL,
                                   list(mx.nd.array(anyv(dim(y)), dtype = "float64")))
  expect_equal(as.array(r$grads[[1]]), array(0, dim(y)))
})

# Loss heads: the gradient is that of the loss they stand for (not of their
# output), checked against finite differences of that loss.
check_loss_grad <- function(op, inputs, params, lossfn, eps = 1e-6, tol = 1e-6) {
  nd <- lapply(inputs, function(a) mx.nd.array(a, dtype = "float64"))
  o <- mxnet:::nd.invoke(op, nd, params)
  r <- mxnet:::nd.forward.backward(op, nd, params, list(o))
  ana <- as.array(r$grads[[1]])
  x <- inputs[[1]]
  num <- vapply(seq_along(x), function(i) {
    xp <- x; xm <- x
    xp[i] <- xp[i] + eps; xm[i] <- xm[i] - eps
    (lossfn(xp) - lossfn(xm)) / (2 * eps)
  }, 0)
  expect_equal(as.vector(ana), num, tolerance = tol, label = op)
}

test_that("loss heads give the gradients of their losses", {
  set.seed(8)
  x <- anyv(c(4, 5))                     # engine (5, 4): 5 examples, 4 classes
  lab <- c(0, 3, 1, 1, 2)
  ce <- function(x) {
    z <- sweep(x, 2, apply(x, 2, max))
    -sum(z[cbind(lab + 1, 1:5)] - log(colSums(exp(z))))
  }
  check_loss_grad("SoftmaxOutput", list(x, lab), NULL, ce)
  check_loss_grad("SoftmaxOutput", list(x, lab), list(normalization = "batch", grad_scale = 2),
                  function(x) 2 * ce(x) / 5)
  l <- anyv(c(4, 5))
  check_loss_grad("LinearRegressionOutput", list(x, l), NULL, function(x) sum((x - l)^2) / 2 / 4)
  check_loss_grad("LogisticRegressionOutput", list(x, l > 0), NULL, function(x) {
    p <- 1 / (1 + exp(-x))
    -sum((l > 0) * log(p) + (l <= 0) * log(1 - p)) / 4
  })
  check_loss_grad("MAERegressionOutput", list(x, l), list(grad_scale = 3), function(x) 3 * sum(abs(x - l)) / 4)
  check_loss_grad("MakeLoss", list(x), list(grad_scale = 0.5), function(x) 0.5 * sum(x))
})
