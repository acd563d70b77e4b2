# The talk's Inception-BN, shared by bench/gpu-bench.R and bench/resnet-cpu.R.
# Inception with batch normalization (Ioffe & Szegedy 2015), as in MXNet's
# example symbol
inception_bn <- function(classes = 1000) {
  cf <- function(x, nf, k, s = 1, p = 0)
    mx.symbol.Activation(mx.symbol.BatchNorm(
      mx.symbol.Convolution(x, num_filter = nf, kernel = c(k, k), stride = c(s, s), pad = c(p, p)),
      fix_gamma = FALSE, eps = 2e-5), act_type = "relu")
  pool <- function(x, type, s = 1, p = 1)
    mx.symbol.Pooling(x, kernel = c(3, 3), stride = c(s, s), pad = c(p, p), pool_type = type)
  inc_a <- function(x, n1, n3r, n3, nd3r, nd3, ptype, proj)
    mx.symbol.Concat(cf(x, n1, 1), cf(cf(x, n3r, 1), n3, 3, 1, 1),
                     cf(cf(cf(x, nd3r, 1), nd3, 3, 1, 1), nd3, 3, 1, 1),
                     cf(pool(x, ptype), proj, 1), num.args = 4)
  inc_b <- function(x, n3r, n3, nd3r, nd3)
    mx.symbol.Concat(cf(cf(x, n3r, 1), n3, 3, 2, 1),
                     cf(cf(cf(x, nd3r, 1), nd3, 3, 1, 1), nd3, 3, 2, 1),
                     pool(x, "max", 2, 1), num.args = 3)
  x <- cf(mx.symbol.Variable("data"), 64, 7, 2, 3)
  x <- pool(x, "max", 2, 0)
  x <- cf(cf(x, 64, 1), 192, 3, 1, 1)
  x <- pool(x, "max", 2, 0)
  x <- inc_a(x, 64, 64, 64, 64, 96, "avg", 32)
  x <- inc_a(x, 64, 64, 96, 64, 96, "avg", 64)
  x <- inc_b(x, 128, 160, 64, 96)
  x <- inc_a(x, 224, 64, 96, 96, 128, "avg", 128)
  x <- inc_a(x, 192, 96, 128, 96, 128, "avg", 128)
  x <- inc_a(x, 160, 128, 160, 128, 160, "avg", 128)
  x <- inc_a(x, 96, 128, 192, 160, 192, "avg", 128)
  x <- inc_b(x, 128, 192, 192, 256)
  x <- inc_a(x, 352, 192, 320, 160, 224, "avg", 128)
  x <- inc_a(x, 352, 192, 320, 192, 224, "max", 128)
  x <- mx.symbol.Pooling(x, kernel = c(7, 7), global_pool = TRUE, pool_type = "avg")
  fc <- mx.symbol.FullyConnected(mx.symbol.Flatten(x), num_hidden = classes)
  mx.symbol.SoftmaxOutput(fc, name = "softmax")
}
