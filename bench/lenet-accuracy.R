# The talk's LeNet on Fashion-MNIST with the issue's recipe (batch 128, lr
# 0.05, momentum 0.9, wd 1e-5, 5 epochs, MXNet's default initializer
# mx.init.uniform(0.01)), for several seeds, and PyTorch's reference run
# (../shared/bench/fashion_lenet_torch.py, 2 threads) in the same session.
#
#   R_LIBS=.lib Rscript bench/lenet-accuracy.R [seeds] [epochs] [torch: 0/1]
args <- commandArgs(trailingOnly = TRUE)
seeds <- if (length(args) >= 1) eval(parse(text = args[[1]])) else 1:3
epochs <- if (length(args) >= 2) as.integer(args[[2]]) else 5L
run.torch <- if (length(args) >= 3) as.integer(args[[3]]) == 1L else TRUE
bench.dir <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
source(file.path(bench.dir, "fashion-common.R"))
rows <- list()
for (s in seeds) {
  train <- mx.io.MNISTIter(image = f("train-images-idx3-ubyte.gz"), label = f("train-labels-idx1-ubyte.gz"),
                           batch.size = 128, shuffle = TRUE, seed = s, silent = TRUE)
  test <- mx.io.MNISTIter(image = f("t10k-images-idx3-ubyte.gz"), label = f("t10k-labels-idx1-ubyte.gz"),
                          batch.size = 100, shuffle = FALSE, silent = TRUE)
  set.seed(s)
  acc <- numeric(0)
  times <- numeric(0)
  logger <- function(iteration, nbatch, env, verbose = TRUE) {
    acc[iteration] <<- env$eval.metric[[2]] / env$eval.metric[[1]]
    TRUE
  }
  t0 <- proc.time()[["elapsed"]]
  ep.t <- t0
  timer <- function(iteration, nbatch, env, verbose = TRUE) {
    now <- proc.time()[["elapsed"]]
    times[iteration] <<- now - ep.t
    ep.t <<- now
    r <- mx.metric.accuracy$get(env$eval.metric)
    acc[iteration] <<- r$value
    TRUE
  }
  m <- mx.model.FeedForward.create(get_symbol(10), X = train, eval.data = test, num.round = epochs,
                                   learning.rate = 0.05, momentum = 0.9, wd = 1e-5,
                                   eval.metric = mx.metric.accuracy, epoch.end.callback = timer,
                                   verbose = FALSE)
  rows[[length(rows) + 1]] <- data.frame(seed = s, t(setNames(round(acc, 4), paste0("acc_ep", seq_along(acc)))),
                                         seconds_per_epoch = round(median(times), 1),
                                         img_per_s = round(60000 / median(times)))
  print(rows[[length(rows)]], row.names = FALSE)
}
res <- do.call(rbind, rows)
cat("\n## mxnet (train loop incl. evaluation of 10k test images per epoch)\n")
print(res, row.names = FALSE)
cat(sprintf("final test accuracy: median %.4f, range %.4f-%.4f over %d seeds\n",
            median(res[[paste0("acc_ep", epochs)]]), min(res[[paste0("acc_ep", epochs)]]),
            max(res[[paste0("acc_ep", epochs)]]), nrow(res)))
if (run.torch) {
  shared <- "/work/shared/bench"
  cat("\n## PyTorch reference, same session\n")
  out <- system2("/usr/bin/python3", c(file.path(shared, "fashion_lenet_torch.py"), "--epochs", epochs,
                                       "--threads", 2, "--seed", 0), stdout = TRUE, stderr = TRUE)
  cat(out, sep = "\n")
}
