# Mutation fuzzer for the interop readers written in R (R/pytorch.R: zip +
# restricted unpickler; R/safetensors.R; R/caffe.R's and R/onnx.R's protobuf
# walks over src/io/protobuf.c): mutates the test fixtures (byte changes, insertions,
# deletions, truncation, splices of two inputs) and requires each reader to
# return or to fail with an mxnet_error; any other outcome (a plain R error,
# a crash of the process) is a finding, saved under the artifacts folder.
#   R_LIBS=.lib Rscript tools/fuzz/fuzz-interop.R [runs] [seed] [artifacts]
suppressMessages(library(mxnet))
args <- commandArgs(trailingOnly = TRUE)
runs <- if (length(args) >= 1) as.integer(args[1]) else 10000L
seed <- if (length(args) >= 2) as.integer(args[2]) else 1L
art <- if (length(args) >= 3) args[3] else tempdir()
fx <- "tests/testthat/fixtures"
hex <- function(h) as.raw(strtoi(substring(h, seq(1, nchar(h), 2), seq(2, nchar(h), 2)), 16L))
seeds <- list(
  pt = list(read = mx.torch.load, inputs = lapply(file.path(fx, c("tiny.pt", "evil.pt")),
                                                  function(f) readBin(f, "raw", file.size(f)))),
  safetensors = list(read = mx.safetensors.load,
                     inputs = list(readBin(file.path(fx, "tiny_io.safetensors"), "raw", 1e5))),
  caffemodel = list(read = mxnet:::caffe.read.model,
                    inputs = list(hex("a206150a01613a102a080000c03f000000c03a040a020201"),
                                  hex("1212220162320d08011001180120012d0000803f"))),
  onnx = list(read = mx.onnx.import, inputs = lapply(file.path(fx, c("onnx_tiny_bn.onnx", "onnx_tiny_folded.onnx")),
                                                    function(f) readBin(f, "raw", file.size(f)))),
  onnx.tensor = list(read = mx.onnx.read.tensor, inputs = list(readBin(file.path(fx, "onnx_tiny_x.pb"), "raw", 1e4))),
  mean = list(read = mx.caffe.read.mean,
              inputs = list(c(as.raw(c(8, 1, 16, 3, 24, 1, 32, 2, 42, 24)),
                              writeBin(as.numeric(1:6), raw(), size = 4)))))
mutate <- function(b, other) {
  n <- length(b)
  switch(sample(5, 1),
    { i <- sample(n, min(n, sample(1:4, 1))); b[i] <- as.raw(sample(0:255, length(i), TRUE)); b },
    { i <- sample(0:n, 1); append(b, as.raw(sample(0:255, sample(1:8, 1), TRUE)), i) },
    { i <- sample(n, 1); b[-seq(i, min(n, i + sample(0:7, 1)))] },
    b[seq_len(sample(0:n, 1))],
    c(b[seq_len(sample(0:n, 1))], other[seq.int(sample(length(other), 1), length(other))]))
}
set.seed(seed)
f <- tempfile()
findings <- 0L
for (k in seq_len(runs)) {
  kind <- names(seeds)[(k - 1L) %% length(seeds) + 1L]
  s <- seeds[[kind]]
  b <- mutate(s$inputs[[sample(length(s$inputs), 1)]], s$inputs[[sample(length(s$inputs), 1)]])
  writeBin(b, f)
  r <- tryCatch({ s$read(f); "ok" }, mxnet_error = function(e) "mxnet_error",
                error = function(e) conditionMessage(e))
  if (!(r %in% c("ok", "mxnet_error"))) {
    findings <- findings + 1L
    out <- file.path(art, sprintf("interop-%s-%d", kind, k))
    writeBin(b, out)
    cat(sprintf("finding %s: %s (saved %s)\n", kind, r, out))
  }
}
cat(sprintf("fuzz-interop: %d runs, %d findings\n", runs, findings))
