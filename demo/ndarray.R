# A short tour of mxnet's imperative NDArrays.
library(mxnet)
cat("mxnet build:\n")
print(mx.features())
cat("threads:", mx.threads(), "\n\n")

set.seed(1)
x <- mx.nd.array(matrix(rnorm(6), 2, 3))      # R dims are kept: 2 x 3
print(x)
y <- abs(x) * 2 + 1                            # Ops and Math group generics
print(y)
cat("sum:", sum(y), " mean:", mean(y), "\n")
s <- mx.nd.sum(y, axis = 0)                    # axis 0 = the last R dimension
print(s)
w <- mx.runif(c(3, 4))                         # set.seed() makes this reproducible
print(mx.nd.dot(w, x))                         # MXNet semantics: R's x %*% w
y[1, ] <- 0                                    # writes into the NDArray
print(y[, 2:3])

f <- tempfile(fileext = ".params")
mx.nd.save(list(x = x, y = y), f)              # MXNet's .params format
back <- mx.nd.load(f)
cat("saved and loaded:", paste(names(back), collapse = ", "), "\n")
stopifnot(identical(as.array(back$x), as.array(x)))
print(mx.memory.stats()[c("bytes_in_use", "bytes_peak", "n_alloc", "n_reuse")])
cat("demo finished\n")
