# Shared by test-caffe.R and test-torch.R: train a 784-input, 10-class net
# (the talk's MLPs) on separable synthetic data; returns the training accuracy.
ten_class_accuracy <- function(net, seed, ...) {
  set.seed(seed)
  n <- 500
  y <- sample(0:9, n, TRUE)
  X <- matrix(rnorm(784 * 10), 784)[, y + 1] + matrix(rnorm(784 * n, sd = 2), 784)
  m <- mx.model.FeedForward.create(net, X = X, y = y, num.round = 4, array.batch.size = 50,
                                   learning.rate = 0.05, momentum = 0.9,
                                   array.layout = "colmajor", verbose = FALSE, ...)
  p <- predict(m, X, array.layout = "colmajor")
  mean(max.col(t(p)) - 1 == y)
}
