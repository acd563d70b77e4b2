# embedding-split-bench.R -- an Embedding(10^6, 16) + FullyConnected model
# trained by mx.model.FeedForward.create with sparse_grad = TRUE, the
# executor's dense gradient (options(mxnet.embedding.split = FALSE), the path
# before issue 11's split) against the split graph (the default: the lookup
# outside the executor, a row_sparse gradient of the batch's rows).
#
# "csr" trains FullyConnected(16) + FullyConnected(1) on the same indices as
# a 10^6-feature bag of words (a dgCMatrix, the first layer by sparse dot).
#
# Each run is its own R process (peak RSS = its VmHWM), the modes
# alternating; a run trains `epochs` epochs of random indices (SGD, batch
# 128, 10 indices per example) and reports the mean time of the epochs after
# the first (from the model's history).
#
# Usage: R_LIBS=.lib Rscript bench/embedding-split-bench.R [pairs [epochs [examples]]]
#        (MXNET_BENCH_NDEV=2: train on that many CPU devices, ctx = list(mx.cpu(0), ...))
#        (children: Rscript bench/embedding-split-bench.R child MODE EPOCHS EXAMPLES)

args <- commandArgs(TRUE)
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))

hwm <- function() {
  s <- grep("^VmHWM", readLines("/proc/self/status"), value = TRUE)
  as.numeric(gsub("[^0-9]", "", s)) * 1024
}

child <- function(mode, epochs, n) {
  suppressMessages(library(mxnet))
  mx.threads(2)
  K <- 1e6
  set.seed(1)
  x <- matrix(sample.int(K, 10 * n, TRUE) - 1, 10, n)
  y <- runif(n)
  net <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(
    mx.symbol.Embedding(mx.symbol.Variable("data"), input_dim = K, output_dim = 16, sparse_grad = TRUE,
                        name = "emb")), num_hidden = 1, name = "fc"), name = "lro")
  if (mode == "csr") {
    # the same indices as a bag of words: a FullyConnected(16) over 10^6 CSR features
    x <- Matrix::sparseMatrix(i = as.vector(x) + 1, j = rep(seq_len(n), each = 10), x = 1, dims = c(K, n))
    net <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.FullyConnected(
      mx.symbol.Variable("data"), num_hidden = 16, name = "fc1"), num_hidden = 1, name = "fc"), name = "lro")
  }
  options(mxnet.embedding.split = mode != "dense")
  base <- hwm()
  mx.set.seed(2)
  nd <- as.integer(Sys.getenv("MXNET_BENCH_NDEV", "1"))
  ctx <- if (nd > 1L) lapply(seq_len(nd) - 1L, mx.cpu) else mx.cpu()
  m <- mx.model.FeedForward.create(net, X = x, y = y, ctx = ctx, num.round = epochs,
                                   array.batch.size = 128, array.layout = "colmajor",
                                   learning.rate = 0.1, verbose = FALSE)
  w <- as.array(m$arg.params$fc_weight)
  cat(sprintf("%s %.4f %.1f %.1f %.6f\n", mode, mean(m$history$time[-1]), base / 2^20, hwm() / 2^20,
              sum(w)))
}

if (length(args) && args[1] == "child") {
  child(args[2], as.integer(args[3]), as.integer(args[4]))
} else {
  pairs <- if (length(args) >= 1) as.integer(args[1]) else 3L
  epochs <- if (length(args) >= 2) as.integer(args[2]) else 3L
  n <- if (length(args) >= 3) as.integer(args[3]) else 12800L
  rscript <- file.path(R.home("bin"), "Rscript")
  rows <- list()
  for (p in seq_len(pairs)) for (mode in c("dense", "split", "csr")) {
    out <- system2(rscript, c(self, "child", mode, epochs, n), stdout = TRUE)
    f <- strsplit(tail(out, 1), " ")[[1]]
    rows[[length(rows) + 1L]] <- data.frame(mode = f[1], epoch.s = as.numeric(f[2]), base.MB = as.numeric(f[3]),
                                            peak.MB = as.numeric(f[4]), fc.sum = as.numeric(f[5]))
    print(rows[[length(rows)]], row.names = FALSE)
  }
  r <- do.call(rbind, rows)
  med <- aggregate(cbind(epoch.s, base.MB, peak.MB) ~ mode, r, stats::median)
  cat(sprintf("\n%d examples, batch 128, %d epochs per run (first excluded), median of %d runs per mode\n",
              n, epochs, pairs))
  print(med, row.names = FALSE)
  d <- med[med$mode == "dense", ]
  s <- med[med$mode == "split", ]
  cat(sprintf("time per epoch dense / split: %.2fx; peak RSS above base: dense %.1f MB, split %.1f MB\n",
              d$epoch.s / s$epoch.s, d$peak.MB - d$base.MB, s$peak.MB - s$base.MB))
  cat(sprintf("csr: a dense batch of %d x 10^6 float32 features would take %.0f MB\n", 128L, 128 * 1e6 * 4 / 2^20))
}
