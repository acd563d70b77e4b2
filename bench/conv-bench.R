# Convolution and pooling benchmarks on LeNet's layer shapes (batch 128):
# ms per forward and per backward, oneDNN vs the built-in im2col path, at 1
# and 2 threads; optionally the same shapes in PyTorch (bench/conv-bench.py).
#
#   R_LIBS=.lib Rscript bench/conv-bench.R [reps]
#
# Backward is timed as (forward + backward) - forward through the gradient
# test entry (nd.forward.backward), which computes every input gradient
# (conv1's data gradient included, which a training step does not need).
# Imperative calls keep oneDNN primitives in the shared cache, so after the
# warm-up these are the cached timings an executor sees.
#
# Results (2-core AMD EPYC / AVX-512 VM, oneDNN 2.6, ms, minimum of 20 calls
# from bench/conv-kernels.c; "default" = the fixed per-operation choice):
#                      forward  data grad  weight+bias grad
#   conv1 default 1T     1.72      1.24        1.38
#   conv1 default 2T     0.87      0.77        0.68
#   conv2 default 1T     4.79      5.12        5.33
#   conv2 default 2T     2.62      2.79        2.72
#   conv1 builtin 2T     1.13      0.79        1.72
#   pool1 1T / 2T        0.31 / 0.16   1.63 / 0.81 (backward)
#   pool2 1T / 2T        0.10 / 0.05   0.43 / 0.22
# PyTorch 1.13 on the same shapes (bench/conv-bench.py, medians):
#   conv1 1T 2.14 fwd, 1.86 bwd (weights only); 2T 1.07, 0.93
#   conv2 1T 7.68 fwd, 17.0 bwd; 2T 3.83, 8.52
#   pool1 1T 6.76 fwd, 0.77 bwd; pool2 1T 1.91, 0.20
# LeNet's convolution and pooling layers per training step (conv1 without
# data gradient): 20.9 ms at 1 thread (PyTorch 38.2), 11.0 ms at 2 (19.5).
suppressPackageStartupMessages(library(mxnet))
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args)) as.integer(args[[1]]) else 9L

# Median over `reps` samples of the time of one call.  Each sample is a few
# calls timed with Sys.time() after a gc(), so results freed by R go back
# to the engine's pool first (otherwise every call maps fresh memory, and
# the page faults cost as much as a pooling layer).
median_time <- function(f, reps, k = 5L) {
  for (i in 1:8) f()                    # warm-up (builds and tunes the primitives)
  t <- numeric(reps)
  for (i in seq_len(reps)) {
    invisible(gc(FALSE))
    t0 <- Sys.time()
    for (j in seq_len(k)) f()
    t[i] <- as.double(Sys.time() - t0, units = "secs") / k
  }
  median(t)
}

set.seed(1)
nd <- function(d, s = 1) mx.nd.array(array(runif(prod(d), -s, s), d))
layers <- list(
  conv1 = list(op = "Convolution", x = c(28, 28, 1, 128), w = c(5, 5, 1, 20), b = 20,
               p = list(kernel = c(5, 5), num_filter = 20)),
  conv2 = list(op = "Convolution", x = c(12, 12, 20, 128), w = c(5, 5, 20, 50), b = 50,
               p = list(kernel = c(5, 5), num_filter = 50)),
  pool1 = list(op = "Pooling", x = c(24, 24, 20, 128),
               p = list(kernel = c(2, 2), stride = c(2, 2), pool_type = "max")),
  pool2 = list(op = "Pooling", x = c(8, 8, 50, 128),
               p = list(kernel = c(2, 2), stride = c(2, 2), pool_type = "max")))

rows <- list()
for (nm in names(layers)) {
  L <- layers[[nm]]
  ins <- if (L$op == "Convolution") list(nd(L$x), nd(L$w, 0.1), nd(L$b)) else list(nd(L$x))
  y <- mxnet:::nd.invoke(L$op, ins, L$p)
  og <- list(nd(dim(y)))
  impls <- if (L$op == "Convolution") c(default = "Convolution", builtin = "_Convolution_builtin") else c(C = "Pooling")
  for (impl in names(impls)) for (th in 1:2) {
    options(mxnet.threads = th)
    op <- impls[[impl]]
    tf <- median_time(function() mxnet:::nd.invoke(op, ins, L$p), reps)
    tfb <- median_time(function() mxnet:::nd.forward.backward(op, ins, L$p, og), reps)
    rows[[length(rows) + 1]] <- data.frame(layer = nm, impl = impl, threads = th,
                                           fwd_ms = round(tf * 1e3, 2),
                                           bwd_ms = round((tfb - tf) * 1e3, 2))
  }
}
res <- do.call(rbind, rows)
print(res, row.names = FALSE)

py <- "/usr/bin/python3"
script <- file.path("bench", "conv-bench.py")
if (file.exists(py) && file.exists(script)) {
  cat("\nPyTorch (same shapes):\n")
  system2(py, c(script, reps))
}
