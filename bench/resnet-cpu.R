# One ResNet run on the CPU for bench/resnet-bench.sh; prints one line
# "img_per_s peak_rss_mb planned_mb workspace_mb external_mb".
# Usage: Rscript resnet-cpu.R train|infer|plan depth(50|20|inception) batch threads steps [mirror|nofold]
# ResNet-50 as torchvision's resnet50 (conv-BatchNorm-relu, bottlenecks with
# the stride in the 3x3 convolution, projection shortcuts); ResNet-20 as in
# He et al. for CIFAR.  Synthetic data of one batch, reused every step.
suppressMessages(library(mxnet))
a <- commandArgs(TRUE)
mode <- a[1]; depth <- a[2]; batch <- as.integer(a[3])
threads <- as.integer(a[4]); steps <- as.integer(a[5]); mirror <- isTRUE(a[6] == "mirror")
# inference folds BatchNorm and relu into the convolutions (the package's
# default); "nofold" runs them one by one
options(mxnet.threads = threads, mxnet.backward.mirror = mirror, mxnet.inference.fold = !isTRUE(a[6] == "nofold"))
cbr <- function(x, nf, k, s, p, relu = TRUE) {
  y <- mx.symbol.BatchNorm(mx.symbol.Convolution(x, num_filter = nf, kernel = c(k, k), stride = c(s, s),
                                                 pad = c(p, p), no_bias = TRUE), fix_gamma = FALSE, eps = 1e-5)
  if (relu) mx.symbol.Activation(y, act_type = "relu") else y
}
bottleneck <- function(x, width, stride, project) {
  y <- cbr(x, width, 1, 1, 0)
  y <- cbr(y, width, 3, stride, 1)
  y <- cbr(y, width * 4, 1, 1, 0, relu = FALSE)
  sc <- if (project) cbr(x, width * 4, 1, stride, 0, relu = FALSE) else x
  mx.symbol.Activation(y + sc, act_type = "relu")
}
resnet50 <- function() {
  x <- cbr(mx.symbol.Variable("data"), 64, 7, 2, 3)
  x <- mx.symbol.Pooling(x, kernel = c(3, 3), stride = c(2, 2), pad = c(1, 1), pool_type = "max")
  for (i in 1:4) for (j in seq_len(c(3, 4, 6, 3)[i]))
    x <- bottleneck(x, 64 * 2^(i - 1), if (j == 1 && i > 1) 2 else 1, j == 1)
  x <- mx.symbol.Pooling(x, kernel = c(7, 7), global_pool = TRUE, pool_type = "avg")
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(x), num_hidden = 1000), name = "softmax")
}
basic <- function(x, nf, stride) {
  y <- cbr(cbr(x, nf, 3, stride, 1), nf, 3, 1, 1, relu = FALSE)
  sc <- if (stride > 1) cbr(x, nf, 1, stride, 0, relu = FALSE) else x
  mx.symbol.Activation(y + sc, act_type = "relu")
}
resnet20 <- function() {
  x <- cbr(mx.symbol.Variable("data"), 16, 3, 1, 1)
  for (i in 1:3) for (j in 1:3) x <- basic(x, 16 * 2^(i - 1), if (j == 1 && i > 1) 2 else 1)
  x <- mx.symbol.Pooling(x, kernel = c(8, 8), global_pool = TRUE, pool_type = "avg")
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(x), num_hidden = 10), name = "softmax")
}
# "inception": the talk's Inception-BN (bench/inception-bn.R)
source(file.path(dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                                 value = TRUE)[1]))), "inception-bn.R"))
net <- switch(depth, "50" = resnet50(), "20" = resnet20(), inception = inception_bn())
side <- if (depth == "20") 32 else 224
classes <- if (depth == "20") 10 else 1000
set.seed(1)
x <- array(runif(side * side * 3 * batch), c(side, side, 3, batch))
y <- sample(0:(classes - 1), batch, replace = TRUE)
peak.mb <- function() {
  s <- readLines("/proc/self/status")
  as.numeric(sub("[^0-9]*([0-9]+).*", "\\1", grep("^VmHWM", s, value = TRUE))) / 1024
}
warm <- 2
if (mode == "train") {
  stamps <- numeric(0); mem <- NULL
  cb <- function(iteration, nbatch, env, verbose) {
    stamps <<- c(stamps, as.numeric(Sys.time()))
    TRUE
  }
  mx.set.seed(1)
  m <- mx.model.FeedForward.create(net, X = x, y = y, ctx = mx.cpu(), num.round = warm + steps,
                                   array.batch.size = batch, optimizer = "sgd", learning.rate = 0.01,
                                   momentum = 0.9, initializer = mx.init.Xavier(), verbose = FALSE,
                                   epoch.end.callback = cb)
  dt <- diff(stamps)[-seq_len(warm - 1)]
} else if (mode == "plan") {   # the training executor's plan, bound alone
  ex <- mx.simple.bind(net, ctx = mx.cpu(), data = dim(x), softmax_label = batch, grad.req = "write")
  mem <- mx.exec.memory(ex)
  dt <- NA
} else {
  ex <- mx.simple.bind(net, ctx = mx.cpu(), data = dim(x), grad.req = "null")
  # weights drawn by the engine into the executor's own arrays (out =), as
  # torchvision builds its weights in place: no R copies (doubles) and no
  # temporaries of them
  for (n in setdiff(names(ex$ref.arg.arrays), "data"))   # ref: no copies of the arrays
    mx.nd.random.normal(0, 0.01, shape = dim(ex$ref.arg.arrays[[n]]), out = ex$ref.arg.arrays[[n]])
  mx.exec.update.arg.arrays(ex, list(data = mx.nd.array(x)), match.name = TRUE)
  invisible(gc())
  mem <- mx.exec.memory(ex)
  stamps <- numeric(0)
  for (i in seq_len(warm + steps)) {
    mx.exec.forward(ex, is.train = FALSE)
    invisible(as.array(ex$ref.outputs[[1]])[1])
    stamps <- c(stamps, as.numeric(Sys.time()))
  }
  dt <- diff(stamps)[-seq_len(warm - 1)]
}
if (is.null(mem)) mem <- c(planned_bytes = NA, workspace_bytes = NA, external_bytes = NA)
cat(sprintf("%.2f %.0f %.0f %.0f %.0f\n", batch / median(dt), peak.mb(), mem[["planned_bytes"]] / 2^20,
            mem[["workspace_bytes"]] / 2^20, mem[["external_bytes"]] / 2^20))
