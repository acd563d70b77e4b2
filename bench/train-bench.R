# Training throughput side by side with PyTorch (../shared/bench/cpu_torch.py),
# the per-op profile of a LeNet training step, and the memory planner.
#
#   R_LIBS=.lib Rscript bench/train-bench.R [repeats] [rounds]
#
# The protocol follows cpu_torch.py: batch 128, a pool of 4 random batches,
# warm-up iterations, then `repeats` timed repeats of `iters` iterations; one
# iteration = copy the batch in + forward + backward (softmax cross-entropy)
# + SGD step (lr 0.05, momentum 0.9, wd 1e-5); img/s = median over repeats.
# Each (workload, threads) pair runs in a fresh process, ours and torch's
# alternating, `rounds` times, so both see the same machine conditions.
args <- commandArgs(trailingOnly = TRUE)
# the reference workloads: MXNET_BENCH_SHARED, else ../shared/bench beside the checkout
shared <- Sys.getenv("MXNET_BENCH_SHARED", file.path("..", "shared", "bench"))
shared <- normalizePath(shared, mustWork = FALSE)
if (!file.exists(file.path(shared, "cpu_torch.py")))
  stop("cannot find cpu_torch.py in '", shared, "': set MXNET_BENCH_SHARED to the shared bench folder")

WORK <- list(lenet = c(batch = 128, warmup = 10, iters = 40),
             mlp = c(batch = 128, warmup = 50, iters = 600))

# ------------------------------------------------------------------ worker
if (length(args) >= 1 && args[[1]] == "--worker") {
  suppressPackageStartupMessages(library(mxnet))
  name <- args[[2]]
  threads <- as.integer(args[[3]])
  repeats <- as.integer(args[[4]])
  options(mxnet.threads = threads)
  w <- WORK[[name]]
  batch <- w[["batch"]]
  if (name == "lenet") {
    data <- mx.symbol.Variable("data")
    conv1 <- mx.symbol.Convolution(data = data, kernel = c(5, 5), num_filter = 20)
    tanh1 <- mx.symbol.Activation(data = conv1, act_type = "tanh")
    pool1 <- mx.symbol.Pooling(data = tanh1, pool_type = "max", kernel = c(2, 2), stride = c(2, 2))
    conv2 <- mx.symbol.Convolution(data = pool1, kernel = c(5, 5), num_filter = 50)
    tanh2 <- mx.symbol.Activation(data = conv2, act_type = "tanh")
    pool2 <- mx.symbol.Pooling(data = tanh2, pool_type = "max", kernel = c(2, 2), stride = c(2, 2))
    fc1 <- mx.symbol.FullyConnected(data = mx.symbol.Flatten(data = pool2), num_hidden = 500)
    tanh3 <- mx.symbol.Activation(data = fc1, act_type = "tanh")
    fc2 <- mx.symbol.FullyConnected(data = tanh3, num_hidden = 10)
    net <- mx.symbol.SoftmaxOutput(data = fc2, name = "softmax")
    dshape <- c(28, 28, 1, batch)
  } else {
    h <- mx.symbol.Variable("data")
    for (k in c(128, 64)) h <- mx.symbol.Activation(mx.symbol.FullyConnected(h, num_hidden = k), act_type = "relu")
    net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(h, num_hidden = 10), name = "softmax")
    dshape <- c(784, batch)
  }
  set.seed(0)
  ex <- mx.simple.bind(net, data = dshape, grad.req = "write")
  pnames <- setdiff(arguments(net), c("data", "softmax_label"))
  p <- mx.model.init.params(net, list(data = dshape), list(softmax_label = batch), mx.init.Xavier(), mx.cpu())
  mx.exec.update.arg.arrays(ex, p$arg.params, match.name = TRUE)
  weights <- ex$ref.arg.arrays[pnames]
  grads <- ex$ref.grad.arrays[pnames]
  opt <- mx.opt.create("sgd", learning.rate = 0.05, momentum = 0.9, wd = 1e-5, rescale.grad = 1 / batch)
  upd <- mx.opt.get.updater(opt, weights)
  pool <- lapply(1:4, function(i) list(data = mx.nd.array(array(runif(prod(dshape)), dshape)),
                                      label = mx.nd.array(sample(0:9, batch, TRUE))))
  dslot <- ex$ref.arg.arrays$data
  lslot <- ex$ref.arg.arrays$softmax_label
  step <- function(i) {
    b <- pool[[(i %% 4) + 1]]
    .Call(mxnet:::C_mx_r_nd_copy_into, b$data, dslot)
    .Call(mxnet:::C_mx_r_nd_copy_into, b$label, lslot)
    mx.exec.forward(ex, is.train = TRUE)
    mx.exec.backward(ex)
    upd(weights, grads)
  }
  for (i in seq_len(w[["warmup"]])) step(i)
  rates <- numeric(repeats)
  for (r in seq_len(repeats)) {
    t0 <- proc.time()[["elapsed"]]
    for (i in seq_len(w[["iters"]])) step(i)
    rates[r] <- w[["iters"]] * batch / (proc.time()[["elapsed"]] - t0)
  }
  rss <- as.numeric(gsub("[^0-9]", "", grep("^VmHWM:", readLines("/proc/self/status"), value = TRUE))) / 1024
  cat(sprintf("RESULT %s %d %.1f %.1f %.1f %.0f\n", name, threads, median(rates), min(rates), max(rates), rss))
  if (name == "lenet" && threads == 2L) {
    mx.exec.profile(ex, TRUE)
    for (i in 1:20) step(i)
    prof <- mx.exec.profile(ex)
    prof$ms_per_step <- round(1000 * prof$seconds / 20, 3)
    cat("PROFILE\n")
    print(prof[, c("op", "phase", "ms_per_step", "share")], row.names = FALSE)
  }
  quit(save = "no")
}

# ---------------------------------------------------------------- driver
suppressPackageStartupMessages(library(mxnet))
repeats <- if (length(args) >= 1) as.integer(args[[1]]) else 5L
rounds <- if (length(args) >= 2) as.integer(args[[2]]) else 2L
self <- normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
rscript <- file.path(R.home("bin"), "Rscript")

ours <- function(name, t) {
  out <- system2(rscript, c(self, "--worker", name, t, repeats), stdout = TRUE, stderr = TRUE,
                 env = paste0("R_LIBS=", Sys.getenv("R_LIBS")))
  r <- strsplit(grep("^RESULT", out, value = TRUE), " ")[[1]]
  prof <- if (any(out == "PROFILE")) out[(which(out == "PROFILE") + 1):length(out)] else NULL
  list(median = as.numeric(r[4]), min = as.numeric(r[5]), max = as.numeric(r[6]), rss = as.numeric(r[7]), prof = prof)
}
torch <- function(name, t, best = FALSE) {
  env <- if (best) c("OPENBLAS_CORETYPE=SkylakeX") else character(0)
  extra <- if (best) c("--openblas-threads", "1") else character(0)
  cmd <- c(if (best) c("-u", "OPENBLAS_L2_SIZE", env), "/usr/bin/python3", file.path(shared, "cpu_torch.py"),
           "--workloads", name, "--threads", t, "--repeats", repeats, extra)
  out <- system2("env", cmd, stdout = TRUE, stderr = TRUE)
  l <- grep(paste0("^", name, " "), out, value = TRUE)
  v <- strsplit(trimws(l), " +")[[1]]
  as.numeric(v[4])
}

cat("# training throughput,", format(Sys.time(), "%Y-%m-%d %H:%M %Z"), "; machine:",
    system("lscpu | sed -n 's/^Model name: *//p'", intern = TRUE), ",", parallel::detectCores(), "cores\n")
cat("# repeats", repeats, "per run; rounds", rounds, "(ours and torch alternate); img/s medians\n")
res <- list()
profile <- NULL
for (round in seq_len(rounds)) for (name in names(WORK)) for (t in 1:2) {
  o <- ours(name, t)
  if (!is.null(o$prof)) profile <- o$prof
  tb <- torch(name, t)
  tbest <- torch(name, t, best = TRUE)
  res[[length(res) + 1]] <- data.frame(round = round, workload = name, threads = t,
                                       mxnet = o$median, torch = tb, torch_best_cfg = tbest,
                                       mxnet_rss_mib = o$rss)
  cat(sprintf("round %d %-6s %d threads: mxnet %8.1f  torch %8.1f  torch(best cfg) %8.1f img/s\n",
              round, name, t, o$median, tb, tbest))
}
r <- do.call(rbind, res)
agg <- aggregate(cbind(mxnet, torch, torch_best_cfg) ~ workload + threads, data = r, FUN = median)
agg$vs_torch <- round(agg$mxnet / agg$torch, 2)
agg$vs_torch_best_cfg <- round(agg$mxnet / agg$torch_best_cfg, 2)
best.anchor <- c(lenet = 3350, mlp = 110989)
agg$vs_best_anchor <- round(agg$mxnet / best.anchor[agg$workload], 2)
cat("\n## medians over rounds\n")
print(agg, row.names = FALSE)
cat("\n## LeNet training step, 2 threads: time per op (ms per step, 20 steps)\n")
cat(profile, sep = "\n")

# memory planner
cat("\n## memory planner: planned vs unplanned bytes (training executors)\n")
lenet <- {
  data <- mx.symbol.Variable("data")
  conv1 <- mx.symbol.Convolution(data = data, kernel = c(5, 5), num_filter = 20)
  pool1 <- mx.symbol.Pooling(mx.symbol.Activation(conv1, act_type = "tanh"), pool_type = "max", kernel = c(2, 2), stride = c(2, 2))
  conv2 <- mx.symbol.Convolution(data = pool1, kernel = c(5, 5), num_filter = 50)
  pool2 <- mx.symbol.Pooling(mx.symbol.Activation(conv2, act_type = "tanh"), pool_type = "max", kernel = c(2, 2), stride = c(2, 2))
  fc1 <- mx.symbol.FullyConnected(mx.symbol.Flatten(pool2), num_hidden = 500)
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Activation(fc1, act_type = "tanh"), num_hidden = 10), name = "softmax")
}
mlp50 <- {
  h <- mx.symbol.Variable("data")
  for (i in 1:50) h <- mx.symbol.Activation(mx.symbol.FullyConnected(h, num_hidden = 256), act_type = "relu")
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(h, num_hidden = 10), name = "softmax")
}
bncat <- {
  data <- mx.symbol.Variable("data")
  b <- function(x, k, n) mx.symbol.Activation(mx.symbol.BatchNorm(mx.symbol.Convolution(x, kernel = c(k, k), pad = c((k - 1) / 2, (k - 1) / 2), num_filter = n)), act_type = "relu")
  x <- b(data, 3, 32)
  for (i in 1:4) x <- mx.symbol.Concat(b(x, 1, 16), b(x, 3, 16), dim = 1)
  mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(mx.symbol.Pooling(x, global_pool = TRUE, kernel = c(1, 1), pool_type = "avg")), num_hidden = 10), name = "softmax")
}
chain <- {
  h <- mx.symbol.Variable("data")
  for (i in 1:50) h <- mx.symbol.Activation(h * 1.01, act_type = "tanh")
  mx.symbol.MakeLoss(mx.symbol.sum(h))
}
mem <- function(net, mirror, ...) {
  old <- options(mxnet.backward.mirror = mirror)
  on.exit(options(old))
  m <- mx.exec.memory(mx.simple.bind(net, grad.req = "write", ...))
  c(planned_MB = m[["planned_bytes"]] / 1e6, unplanned_MB = m[["unplanned_bytes"]] / 1e6)
}
rows <- list(
  c(net = "LeNet, batch 128", mem(lenet, FALSE, data = c(28, 28, 1, 128)), mirror_MB = mem(lenet, TRUE, data = c(28, 28, 1, 128))[[1]]),
  c(net = "MLP 50 x 256 relu, batch 128", mem(mlp50, FALSE, data = c(784, 128)), mirror_MB = mem(mlp50, TRUE, data = c(784, 128))[[1]]),
  c(net = "BatchNorm/Concat net, 32x32x3, batch 64", mem(bncat, FALSE, data = c(32, 32, 3, 64)), mirror_MB = mem(bncat, TRUE, data = c(32, 32, 3, 64))[[1]]),
  c(net = "50 tanh chain, 1000x128", mem(chain, FALSE, data = c(1000, 128)), mirror_MB = mem(chain, TRUE, data = c(1000, 128))[[1]]))
mt <- as.data.frame(do.call(rbind, rows), stringsAsFactors = FALSE)
for (k in 2:4) mt[[k]] <- round(as.numeric(mt[[k]]), 2)
mt$ratio <- round(mt$planned_MB / mt$unplanned_MB, 3)
mt$mirror_ratio <- round(mt$mirror_MB / mt$unplanned_MB, 3)
print(mt, row.names = FALSE)
