# One training run for bench/dist-bench.sh: LeNet or ResNet-20 on synthetic
# data, per-worker batch 64, kvstore given; prints "ms_per_step img_per_s"
# (img/s over all workers; the median step time of the second epoch on).
suppressMessages(library(mxnet))
a <- commandArgs(TRUE)
net.name <- a[1]; kvt <- a[2]
options(mxnet.threads = 1L, mxnet.dist.overlap = Sys.getenv("MX_OVERLAP") == "1")
conv.bn <- function(x, f, stride = 1, name) {
  c <- mx.symbol.Convolution(x, kernel = c(3, 3), stride = c(stride, stride), pad = c(1, 1),
                             num_filter = f, no_bias = TRUE, name = paste0(name, "_conv"))
  mx.symbol.BatchNorm(c, name = paste0(name, "_bn"))
}
resnet20 <- function() {
  x <- mx.symbol.Activation(conv.bn(mx.symbol.Variable("data"), 16, 1, "c0"), act_type = "relu")
  k <- 0
  for (stage in 1:3) for (b in 1:3) {
    f <- 16 * 2^(stage - 1); s <- if (stage > 1 && b == 1) 2 else 1
    k <- k + 1
    y <- mx.symbol.Activation(conv.bn(x, f, s, paste0("u", k, "a")), act_type = "relu")
    y <- conv.bn(y, f, 1, paste0("u", k, "b"))
    sc <- if (s == 2) conv.bn(x, f, 2, paste0("u", k, "s")) else x
    x <- mx.symbol.Activation(y + sc, act_type = "relu")
  }
  x <- mx.symbol.Pooling(x, kernel = c(8, 8), pool_type = "avg", global_pool = TRUE)
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(x), num_hidden = 10), name = "softmax")
}
lenet <- function() {
  d <- mx.symbol.Variable("data")
  c1 <- mx.symbol.Pooling(mx.symbol.Activation(mx.symbol.Convolution(d, kernel = c(5, 5), num_filter = 20), act_type = "tanh"),
                          pool_type = "max", kernel = c(2, 2), stride = c(2, 2))
  c2 <- mx.symbol.Pooling(mx.symbol.Activation(mx.symbol.Convolution(c1, kernel = c(5, 5), num_filter = 50), act_type = "tanh"),
                          pool_type = "max", kernel = c(2, 2), stride = c(2, 2))
  f1 <- mx.symbol.Activation(mx.symbol.FullyConnected(mx.symbol.Flatten(c2), num_hidden = 500), act_type = "tanh")
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(f1, num_hidden = 10), name = "softmax")
}
net <- if (net.name == "lenet") lenet() else resnet20()
shape <- if (net.name == "lenet") c(28, 28, 1) else c(32, 32, 3)
steps <- if (net.name == "lenet") 40 else 12
workers <- as.integer(Sys.getenv("OMPI_COMM_WORLD_SIZE", "1"))
n <- 64 * steps * (if (kvt == "dist_sync") workers else 1)
set.seed(1)
x <- array(runif(prod(shape) * n), c(shape, n))
y <- sample(0:9, n, replace = TRUE)
stamps <- numeric(0)
cb <- function(iteration, nbatch, env, verbose) { stamps <<- c(stamps, as.numeric(Sys.time())); TRUE }
kv <- mx.kv.create(kvt)
m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 3, array.batch.size = 64, learning.rate = 0.01,
                                 momentum = 0.9, kvstore = kv, batch.end.callback = cb, verbose = FALSE)
st <- .Call(mxnet:::C_mx_r_kv_info, kv$handle)$stats
dt <- diff(stamps)[-seq_len(steps)]         # drop the first epoch
ms <- median(dt) * 1000
ranks <- if (kvt == "dist_sync") workers else 1
if (Sys.getenv("OMPI_COMM_WORLD_RANK", "0") == "0")
  cat(sprintf("%.2f ms/step %.0f img/s (allreduce %.2f ms/step in %.1f buckets)\n", ms, 64 * ranks / median(dt),
              1000 * st[4] / max(1, st[1]), st[3] / max(1, st[1])))
