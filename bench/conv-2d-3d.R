# 2-D convolution and pooling paths touched by the 3-D work (issue 11), and
# the 3-D ops themselves: CPU ms (user + system) per forward and per forward +
# backward, minimum over rounds, 1 thread (CPU time rather than wall time, so
# that a machine shared with other jobs still gives comparable figures).
# Run it against two installed builds one after the other (e.g. the
# branch's base commit and the branch) to compare the 2-D paths; the lines
# are "layer impl fwd_ms fwdbwd_ms".
#
#   R_LIBS=<lib> Rscript bench/conv-2d-3d.R [rounds]
suppressPackageStartupMessages(library(mxnet))
args <- commandArgs(trailingOnly = TRUE)
rounds <- if (length(args)) as.integer(args[[1]]) else 7L
options(mxnet.threads = 1L)

# Fastest of `rounds` CPU timings of k calls (k chosen so that one timing
# takes about 0.2 s), per call.
best_ms <- function(f) {
  for (i in 1:3) f()
  one <- max(sum(system.time(f())[c("user.self", "sys.self")]), 1e-3)
  k <- max(2L, as.integer(0.2 / one))
  t <- vapply(seq_len(rounds), function(r) {
    invisible(gc(FALSE))
    sum(system.time(for (j in seq_len(k)) f())[c("user.self", "sys.self")]) / k
  }, 0)
  1e3 * min(t)
}

set.seed(1)
u <- function(d, s = 1, dt = "float32") mx.nd.array(array(runif(prod(d), -s, s), d), dtype = dt)
conv <- function(x, w, p) list(ins = list(u(x), u(w, 0.1), u(w[length(w)])), p = p)
cases <- list(
  "conv2 5x5 (LeNet) builtin f32" = c(conv(c(12, 12, 20, 64), c(5, 5, 20, 50),
                                           list(kernel = c(5, 5), num_filter = 50)), op = "_Convolution_builtin"),
  "conv 3x3 s2 pad1 builtin f32" = c(conv(c(32, 32, 16, 16), c(3, 3, 16, 24),
                                          list(kernel = c(3, 3), num_filter = 24, stride = c(2, 2), pad = c(1, 1))),
                                     op = "_Convolution_builtin"),
  "conv 3x3 pad1 oneDNN f32" = c(conv(c(32, 32, 32, 16), c(3, 3, 32, 32),
                                      list(kernel = c(3, 3), num_filter = 32, pad = c(1, 1))), op = "Convolution"),
  "pool 3x3 s2 pad1 max" = list(ins = list(u(c(56, 56, 32, 8))), op = "Pooling",
                                p = list(kernel = c(3, 3), stride = c(2, 2), pad = c(1, 1), pool_type = "max")),
  "pool 2x2 s2 max (fast path)" = list(ins = list(u(c(24, 24, 20, 64))), op = "Pooling",
                                       p = list(kernel = c(2, 2), stride = c(2, 2), pool_type = "max")),
  "pool global avg" = list(ins = list(u(c(7, 7, 256, 32))), op = "Pooling",
                           p = list(global_pool = TRUE, pool_type = "avg")))
if (exists("mx.nd.Convolution") && !inherits(try(mxnet:::nd.invoke("Pooling", list(u(c(2, 2, 2, 1, 1))),
                                                     list(kernel = c(2, 2, 2))), silent = TRUE), "try-error")) {
  cases <- c(cases, list(
    "conv3d 3x3x3 pad1 oneDNN f32" = c(conv(c(16, 16, 16, 16, 4), c(3, 3, 3, 16, 16),
                                            list(kernel = c(3, 3, 3), num_filter = 16, pad = c(1, 1, 1))),
                                       op = "Convolution"),
    "conv3d 3x3x3 pad1 builtin f32" = c(conv(c(16, 16, 16, 16, 4), c(3, 3, 3, 16, 16),
                                             list(kernel = c(3, 3, 3), num_filter = 16, pad = c(1, 1, 1))),
                                        op = "_Convolution_builtin"),
    "pool3d 2x2x2 s2 max" = list(ins = list(u(c(16, 16, 16, 16, 4))), op = "Pooling",
                                 p = list(kernel = c(2, 2, 2), stride = c(2, 2, 2), pool_type = "max"))))
}
for (nm in names(cases)) {
  cs <- cases[[nm]]
  y <- mxnet:::nd.invoke(cs$op, cs$ins, cs$p)
  og <- list(u(dim(y)))
  f <- best_ms(function() mxnet:::nd.invoke(cs$op, cs$ins, cs$p))
  fb <- best_ms(function() mxnet:::nd.forward.backward(cs$op, cs$ins, cs$p, og))
  cat(sprintf("%-34s %8.2f %8.2f\n", nm, f, fb))
}
