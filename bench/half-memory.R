# Planned and bound memory of a network in float32 against the same network
# in bfloat16 (the Cast recipe of docs/half-precision.md), with and without
# the mirror, from mx.exec.memory (no training):
#   R_LIBS=.lib Rscript bench/half-memory.R [batch] [size]
# planned: the executor's arena (activations, gradients, scratch and, in
# half precision, the float32 copies of values whose kernels do not take
# half); external: the bound arguments, auxiliary states and gradients.
suppressMessages(library(mxnet))
args <- commandArgs(trailingOnly = TRUE)
batch <- if (length(args) >= 1) as.integer(args[[1]]) else 16L
size <- if (length(args) >= 2) as.integer(args[[2]]) else 64L
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])))
source(file.path(here, "inception-bn.R"))
source(file.path(here, "half-net.R"))

cat(sprintf("Inception-BN, 10 classes, %dx%d, batch %d, on the CPU\n", size, size, batch))
cat(sprintf("%-9s %-7s %12s %13s %10s\n", "dtype", "mirror", "planned MiB", "external MiB", "total MiB"))
for (mirror in c(FALSE, TRUE)) {
  options(mxnet.backward.mirror = mirror)
  for (dt in c("float32", "bfloat16")) {
    ex <- mx.simple.bind(cast_net(inception_bn(10), dt), data = c(size, size, 3, batch),
                         grad.req = "write")
    m <- mx.exec.memory(ex)
    p <- m[["planned_bytes"]] / 2^20
    e <- m[["external_bytes"]] / 2^20
    cat(sprintf("%-9s %-7s %12.1f %13.1f %10.1f\n", dt, mirror, p, e, p + e))
    rm(ex)
    gc()
  }
}
