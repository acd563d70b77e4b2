# GPU training throughput and peak device memory, with the protocol of
# ../shared/bench/gpu_torch.py so the figures sit beside PyTorch's on the
# same GPU (tools/gpu-check.sh runs both and prints one table).
#
#   R_LIBS=.lib Rscript bench/gpu-bench.R [--out FILE.csv] [--only NAME,...]
#                                         [--ctx gpu|cpu] [--tiny]
#
# Workloads: the talk's LeNet at batch 128 and 1024, ResNet-50 (MXNet's
# pre-activation ResNet at depth 50, the convolutions of torchvision's) at
# batch 64 in float32 and bfloat16, Inception-BN at batch 64; 224x224 images.
# Protocol (gpu_torch.py's med_time): synthetic data on the device, 5 warm-up
# steps, then 3 repeats of 20 timed steps, each timed repeat ending with a
# wait for the device; img/s = batch / median step time (min and max too).
# One step = forward + backward (softmax cross-entropy) + SGD (lr 0.01,
# momentum 0.9, wd 1e-5).  Peak = the device pool's peak bytes
# (mx.memory.stats(ctx)), set against torch.cuda.max_memory_allocated; each
# workload runs in a fresh R process, so every peak is its own.
#
# --ctx cpu --tiny checks the script itself on a machine without a GPU
# (tiny images and batches, one short repeat); its figures mean nothing.
args <- commandArgs(trailingOnly = TRUE)
opt_value <- function(name, default) {
  k <- match(name, args)
  if (is.na(k) || k == length(args)) default else args[[k + 1]]
}

WORKLOADS <- list(
  list(name = "lenet", batch = 128, dtype = "float32"),
  list(name = "lenet", batch = 1024, dtype = "float32"),
  list(name = "resnet50", batch = 64, dtype = "float32"),
  list(name = "resnet50", batch = 64, dtype = "bfloat16"),
  list(name = "inception-bn", batch = 64, dtype = "float32"))

# ------------------------------------------------------------- networks

lenet <- function() {
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
  mx.symbol.SoftmaxOutput(data = fc2, name = "softmax")
}

bn_relu <- function(x) mx.symbol.Activation(mx.symbol.BatchNorm(x, fix_gamma = FALSE, eps = 2e-5),
                                             act_type = "relu")
conv <- function(x, nf, k, s = 1, p = 0)
  mx.symbol.Convolution(x, num_filter = nf, kernel = c(k, k), stride = c(s, s), pad = c(p, p),
                        no_bias = TRUE)

# ResNet-50, pre-activation bottlenecks (stride in the 3x3 convolution)
resnet50 <- function(classes = 1000) {
  unit <- function(x, nf, stride, match) {
    a1 <- bn_relu(x)
    c1 <- conv(a1, nf / 4, 1)
    c2 <- conv(bn_relu(c1), nf / 4, 3, stride, 1)
    c3 <- conv(bn_relu(c2), nf, 1)
    c3 + (if (match) x else conv(a1, nf, 1, stride))
  }
  x <- mx.symbol.BatchNorm(mx.symbol.Variable("data"), fix_gamma = TRUE, eps = 2e-5)
  x <- bn_relu(conv(x, 64, 7, 2, 3))
  x <- mx.symbol.Pooling(x, kernel = c(3, 3), stride = c(2, 2), pad = c(1, 1), pool_type = "max")
  units <- c(3, 4, 6, 3)
  filters <- c(256, 512, 1024, 2048)
  for (i in seq_along(units)) {
    x <- unit(x, filters[i], if (i == 1) 1 else 2, FALSE)
    for (j in seq_len(units[i] - 1)) x <- unit(x, filters[i], 1, TRUE)
  }
  x <- mx.symbol.Pooling(bn_relu(x), kernel = c(7, 7), global_pool = TRUE, pool_type = "avg")
  fc <- mx.symbol.FullyConnected(mx.symbol.Flatten(x), num_hidden = classes)
  mx.symbol.SoftmaxOutput(fc, name = "softmax")
}

# Inception-BN and the half-precision recipe (cast_net): next to this script
bench_dir <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                             value = TRUE)[1])))
source(file.path(bench_dir, "inception-bn.R"))
source(file.path(bench_dir, "half-net.R"))

# ---------------------------------------------------------------- worker

# Wait for the device: mx.nd.waitall() where the package has it, else a
# read of a small array (a read waits for the device's queue).
device_wait <- function(probe) {
  ns <- asNamespace("mxnet")
  if (exists("mx.nd.waitall", envir = ns)) get("mx.nd.waitall", envir = ns)()
  else invisible(as.array(probe))
}

bind_for <- function(net, ctx, dshape, dtype) {
  mx.simple.bind(cast_net(net, dtype), ctx = ctx, data = dshape, grad.req = "write")
}

run_worker <- function(name, batch, dtype, ctx, tiny) {
  size <- if (name == "lenet") 28 else if (tiny) 64 else 224
  chans <- if (name == "lenet") 1 else 3
  classes <- if (name == "lenet") 10 else if (tiny) 10 else 1000
  net <- switch(name, lenet = lenet(), resnet50 = resnet50(classes),
                `inception-bn` = inception_bn(classes))
  dshape <- c(size, size, chans, batch)
  set.seed(0)
  t_bind <- proc.time()[["elapsed"]]
  ex <- bind_for(net, ctx, dshape, dtype)
  p <- mx.model.init.params(net, list(data = dshape), list(softmax_label = batch),
                            mx.init.Xavier(), mx.cpu())
  mx.exec.update.arg.arrays(ex, p$arg.params, match.name = TRUE)
  if (length(p$aux.params)) mx.exec.update.aux.arrays(ex, p$aux.params, match.name = TRUE)
  mx.exec.update.arg.arrays(ex, list(data = mx.nd.array(array(runif(prod(dshape)), dshape)),
                                     softmax_label = mx.nd.array(sample(0:(classes - 1), batch, TRUE))),
                            match.name = TRUE)
  pnames <- setdiff(arguments(net), c("data", "softmax_label"))
  weights <- ex$ref.arg.arrays[pnames]
  grads <- ex$ref.grad.arrays[pnames]
  opt <- mx.opt.create("sgd", learning.rate = 0.01, momentum = 0.9, wd = 1e-5,
                       rescale.grad = 1 / batch)
  upd <- mx.opt.get.updater(opt, weights, ctx = ctx)
  probe <- weights[[which.min(vapply(weights, function(w) prod(dim(w)), 0))]]
  step <- function() {
    mx.exec.forward(ex, is.train = TRUE)
    mx.exec.backward(ex)
    upd(weights, grads)
  }
  warm <- if (tiny) 1 else 5
  reps <- if (tiny) 1 else 3
  iters <- if (tiny) 2 else 20
  step()
  device_wait(probe)
  t_bind <- proc.time()[["elapsed"]] - t_bind     # bind + first step (algorithm search)
  for (i in seq_len(warm - 1)) step()
  device_wait(probe)
  times <- numeric(reps)
  for (r in seq_len(reps)) {
    t0 <- proc.time()[["elapsed"]]
    for (i in seq_len(iters)) step()
    device_wait(probe)
    times[r] <- (proc.time()[["elapsed"]] - t0) / iters
  }
  peak <- mx.memory.stats(ctx)[["bytes_peak"]] / 2^20
  m <- mx.exec.memory(ex)   # the plan: intermediate buffers + bound arrays
  planned <- (m[["planned_bytes"]] + m[["external_bytes"]]) / 2^20
  cat(sprintf("RESULT %s %d %s %.1f %.1f %.1f %.0f %.0f %.1f\n", name, batch, dtype,
              batch / median(times), batch / max(times), batch / min(times), peak, planned,
              t_bind))
}

# ------------------------------------------------------------------ main

if (length(args) >= 1 && args[[1]] == "--worker") {
  suppressPackageStartupMessages(library(mxnet))
  ctx <- if (args[[5]] == "cpu") mx.cpu() else mx.gpu(0)
  run_worker(args[[2]], as.integer(args[[3]]), args[[4]], ctx, args[[6]] == "tiny")
  quit(save = "no")
}

out <- opt_value("--out", "")
ctx_name <- opt_value("--ctx", "gpu")
tiny <- "--tiny" %in% args
only <- opt_value("--only", "")
work <- WORKLOADS
if (nzchar(only)) work <- Filter(function(w) w$name %in% strsplit(only, ",")[[1]], work)
script <- normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1]))
rscript <- file.path(R.home("bin"), "Rscript")
fields <- c("workload", "batch", "dtype", "img_s", "img_s_min", "img_s_max", "peak_mib",
            "planned_mib", "bind_s", "note")
if (nzchar(out) && !file.exists(out)) cat(paste(fields, collapse = ","), "\n", sep = "", file = out)
cat(sprintf("gpu-bench on %s%s: %s\n", ctx_name, if (tiny) " (tiny sizes: a check of the script)" else "",
            format(Sys.time(), "%Y-%m-%d %H:%M:%S")))
for (w in work) {
  batch <- if (tiny) min(w$batch, 4) else w$batch
  res <- suppressWarnings(system2(rscript, c(shQuote(script), "--worker", w$name, batch, w$dtype,
                                             ctx_name, if (tiny) "tiny" else "full"),
                                  stdout = TRUE, stderr = TRUE))
  line <- grep("^RESULT ", res, value = TRUE)
  if (length(line)) {
    v <- strsplit(line[length(line)], " ")[[1]][-1]
    row <- c(v, "")
    cat(sprintf("%-13s batch %5s %-8s %10s img/s (min %s max %s)  peak %s MiB  planned %s MiB  bind+first step %s s\n",
                v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]))
  } else {
    # the worker's last error line says why (e.g. no bfloat16, an op without a GPU kernel)
    k <- grep("^Error", res)
    why <- if (length(k)) paste(trimws(res[k[1]:min(k[1] + 1, length(res))]), collapse = " ")
           else tail(c("", res), 1)
    why <- gsub("[,\n\r]", ";", why)
    row <- c(w$name, batch, w$dtype, rep("", 6), why)
    cat(sprintf("%-13s batch %5d %-8s FAILED: %s\n", w$name, batch, w$dtype, why))
  }
  if (nzchar(out)) cat(paste(row, collapse = ","), "\n", sep = "", file = out, append = TRUE)
}
