# Per-op overhead from R: one small op (10 x 10 float32 add), through the generated
# wrapper and through the `+` operator (S3 dispatch); median microseconds per call.
#   OMP_THREAD_LIMIT=2 R_LIBS=.lib Rscript bench/op-overhead.R
library(mxnet)
x <- mx.nd.array(matrix(runif(100), 10)); y <- mx.nd.array(matrix(runif(100), 10))
f <- function(n) { t0 <- proc.time()[["elapsed"]]; for (i in 1:n) z <- mx.nd.elemwise.add(x, y); (proc.time()[["elapsed"]] - t0) / n * 1e6 }
g <- function(n) { t0 <- proc.time()[["elapsed"]]; for (i in 1:n) z <- x + y; (proc.time()[["elapsed"]] - t0) / n * 1e6 }
f(2e4); g(2e4)
cat(sprintf("wrapper %.2f us, operator %.2f us\n", median(replicate(5, f(5e4))), median(replicate(5, g(5e4)))))
