# LSTM training step, side by side with PyTorch's nn.LSTM in one run:
# 2 layers, hidden 650, sequence 35, batch 32, input 650, CPU, same threads.
#
#   R_LIBS=.lib Rscript bench/lstm-bench.R [threads] [reps]
#
# One step = forward (is.train) + backward of the fused RNN op bound in an
# executor (gradients of data, parameters and initial states), against
# bench/lstm-bench.py (forward + backward of nn.LSTM, data gradient too),
# run by /usr/bin/python3 right after.  Prints medians and the speed ratio
# (PyTorch time / mxnet time: > 1 means mxnet is faster).
suppressPackageStartupMessages(library(mxnet))
args <- commandArgs(trailingOnly = TRUE)
nt <- if (length(args) > 0) as.integer(args[[1]]) else 2L
reps <- if (length(args) > 1) as.integer(args[[2]]) else 10L
options(mxnet.threads = nt)
Tn <- 35; N <- 32; I <- 650; H <- 650; L <- 2
set.seed(1)
sym <- mx.symbol.RNN(data = mx.symbol.Variable("seq"), state_size = H, num_layers = L,
                     mode = "lstm", name = "lstm")
ex <- mx.simple.bind(sym, ctx = mx.cpu(), grad.req = "write", seq = c(I, N, Tn))   # "seq": gets a gradient, as x does in PyTorch
args0 <- lapply(ex$ref.arg.arrays, function(a) {
  d <- dim(a)
  mx.nd.array(array(runif(prod(d), -0.05, 0.05), d))
})
args0$seq <- mx.nd.array(array(runif(I * N * Tn, -1, 1), c(I, N, Tn)))
mx.exec.update.arg.arrays(ex, args0, match.name = TRUE)
g <- mx.nd.array(array(runif(H * N * Tn, -1, 1), c(H, N, Tn)))
step <- function() {
  mx.exec.forward(ex, is.train = TRUE)
  mx.exec.backward(ex, list(g))
  mx.nd.waitall()   # wait for the result (a no-op on the CPU, whose ops run synchronously)
}
for (i in 1:3) step()
ts <- vapply(seq_len(reps), function(i) system.time(step())[["elapsed"]], 0)
mx_s <- median(ts)
py <- system2("/usr/bin/python3", c(file.path("bench", "lstm-bench.py"), nt, reps), stdout = TRUE)
py_s <- as.double(tail(py, 1))
cat(sprintf("LSTM 2x650, seq 35, batch 32, %d thread(s): mxnet %.1f ms/step, PyTorch %.1f ms/step, ratio (PyTorch/mxnet) %.2f\n",
            nt, 1000 * mx_s, 1000 * py_s, py_s / mx_s))
