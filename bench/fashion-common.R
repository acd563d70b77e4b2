# Shared start of the Fashion-MNIST benchmarks (lenet-accuracy.R,
# fashion-rec.R, imagerec-train-speed.R): the package with 2 threads, the
# talk's LeNet (get_symbol from tests/testthat/helper-lenet.R) and `f()`, the
# path of a file of Debian's dataset-fashion-mnist.  Sourced with the path
# of the calling script's folder in `bench.dir`.
suppressPackageStartupMessages(library(mxnet))
options(mxnet.threads = 2L)
source(file.path(bench.dir, "..", "tests", "testthat", "helper-lenet.R"))
f <- function(x) file.path("/usr/share/datasets/fashion-mnist", x)
