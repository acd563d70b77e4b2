# Mutation fuzzer for the interop readers written in R (R/pytorch.R: zip +
# restricted unpickler; R/safetensors.R; R/caffe.R's prototxt parser and its
# protobuf walks over src/io/protobuf.c; R/onnx.R): mutates seed files (byte
# changes, insertions, deletions, truncation, splices of two inputs, tokens
# and boundary integers) and requires each reader to return or to fail with
# an mxnet_error; any other outcome (a plain R error, a run over the time
# limit, a crash of the process) is a finding, saved under the artifacts
# folder.  Errors that io.guard() turned into mxnet_io_error ("malformed
# file (...)") are counted by message: they are classed, but they show where
# a reader trusted its input before checking it.
#   R_LIBS=.lib Rscript tools/fuzz/fuzz-interop.R [runs] [seed] [artifacts] [readers] [seconds]
# runs: per reader (default 10000); readers: comma-separated names from
# `seeds` below (default all); seconds: stop every reader after this long in
# all (default no limit).  A progress line every minute.
suppressMessages(library(mxnet))
args <- commandArgs(trailingOnly = TRUE)
arg <- function(i, default) if (length(args) >= i && nzchar(args[i])) args[i] else default
runs <- as.numeric(arg(1, 10000))
seed <- as.integer(arg(2, 1))
art <- arg(3, tempdir())
budget <- as.numeric(arg(5, Inf))
fx <- "tests/testthat/fixtures"
slurp <- function(f) readBin(f, "raw", file.size(f))
hex <- function(h) as.raw(strtoi(substring(h, seq(1, nchar(h), 2), seq(2, nchar(h), 2)), 16L))

# Prototxt seeds: small nets over every translated layer type, V1 `layers`,
# and the first layers of real prototxt files from Debian's opencv-doc.
pt.seeds <- list(
  c('name: "a" input: "data" input_shape { dim: [1, 3, 8, 8] }',
    'layer { name: "c" type: "Convolution" bottom: "data" top: "c"',
    '  convolution_param { num_output: 2 kernel_h: 3 kernel_w: 2 stride: 2 pad: 1 group: 1 dilation: 1 } }',
    'layer { name: "d" type: "Deconvolution" bottom: "c" top: "d" convolution_param { num_output: 2 kernel_size: [2, 2] bias_term: false } }',
    'layer { name: "p" type: "Pooling" bottom: "d" top: "p" pooling_param { pool: AVE global_pooling: true } }',
    'layer { name: "n" type: "LRN" bottom: "c" top: "n" lrn_param { local_size: 3 alpha: 0.1 beta: 0.75 k: 2 } }',
    'layer { name: "s" type: "Slice" bottom: "n" top: "s1" top: "s2" slice_param { axis: 1 slice_point: 1 } }',
    'layer { name: "e" type: "Eltwise" bottom: "s1" bottom: "s2" top: "e" eltwise_param { operation: SUM coeff: [1, -1] } }',
    'layer { name: "k" type: "Concat" bottom: "e" bottom: "s1" top: "k" concat_param { axis: 1 } }',
    'layer { name: "r" type: "Reshape" bottom: "k" top: "r" reshape_param { shape { dim: [0, -1] } } }',
    'layer { name: "w" type: "Power" bottom: "r" top: "w" power_param { power: 2 scale: 0.5 shift: 1 } }',
    'layer { name: "q" type: "Permute" bottom: "w" top: "q" permute_param { order: [1, 0] } }',
    'layer { name: "f" type: "Flatten" bottom: "q" top: "f" }',
    'layer { name: "o" type: "Dropout" bottom: "f" top: "f" dropout_param { dropout_ratio: 0.25 } }',
    'layer { name: "x" type: "Softmax" bottom: "f" top: "x" softmax_param { axis: 1 } }'),
  c('name: "v1" input: "data" input_dim: 2 input_dim: 4 input_dim: 5 input_dim: 5',
    'layers { name: "c" type: CONVOLUTION bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 3 } }',
    'layers { name: "b" type: "BatchNorm" bottom: "c" top: "c" batch_norm_param { use_global_stats: true eps: 1e-5 } }',
    'layers { name: "sc" type: "Scale" bottom: "c" top: "c" scale_param { bias_term: true } }',
    'layers { name: "r" type: 18 bottom: "c" top: "c" relu_param { negative_slope: 0.1 } }',
    'layers { name: "t" type: TANH bottom: "c" top: "t" }  # a comment',
    "layers < name: 'i' type: 'InnerProduct' bottom: 't' top: 'i' inner_product_param < num_output: 4 > >",
    'layers { name: "l" type: "SoftmaxWithLoss" bottom: "i" bottom: "label" top: "l" loss_param { ignore_label: -1 } }'))
for (f in c("dnn_objdetect/data/SqueezeNet_deploy.prototxt", "text/textbox.prototxt")) {
  f <- file.path("/usr/share/doc/opencv-doc/examples", f)
  if (!file.exists(f)) { cat(sprintf("seed %s: not installed (opencv-doc), skipped\n", f)); next }
  txt <- readLines(f)
  starts <- grep("^layer", txt)                    # the header and the first four layers
  pt.seeds[[length(pt.seeds) + 1L]] <- txt[seq_len(if (length(starts) > 4L) starts[5L] - 1L else length(txt))]
}
pt.seeds <- lapply(pt.seeds, function(l) charToRaw(paste(l, collapse = "\n")))
pt.dict <- c("{", "}", "<", ">", "[", "]", ":", ",", ";", "\"", "'", "\\", "#", "\n", "layer", "layers",
             "top", "bottom", "type", "name", "input_dim", "input_shape", "dim", "-1", "0", "1e308",
             "4294967297", "-0", "nan", "true", "2147483648", "1.5", "\"Slice\"", "\"Eltwise\"",
             "\"Concat\"", "\"Reshape\"", "\"Split\"", "num_output", "kernel_size", "slice_point",
             "axis", "pool", "operation", "PROD", "MAX", "STOCHASTIC", "coeff", "order")

# The caffemodel reader: the protobuf walk (caffe.read.model) and the fitting
# of its blobs to a net (caffe.net.params, as mx.caffe.import does), for a
# small conv + BatchNorm/Scale + InnerProduct net whose symbol and shapes are
# made once; seeds: that net's weights, encoded here, and two bare blobs.
ns <- asNamespace("mxnet")
cm.proto <- tempfile(fileext = ".prototxt")
writeLines(c('input: "data" input_dim: [1, 1, 5, 5]',
             'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 } }',
             'layer { name: "b" type: "BatchNorm" bottom: "c" top: "c" }',
             'layer { name: "s" type: "Scale" bottom: "c" top: "c" scale_param { bias_term: true } }',
             'layer { name: "f" type: "InnerProduct" bottom: "c" top: "f" inner_product_param { num_output: 2 } }'), cm.proto)
cm.netp <- ns$caffe.pt.parse(paste(readLines(cm.proto), collapse = "\n"))
cm.layers <- lapply(ns$pt.msgs(cm.netp, "layer"), ns$caffe.layer.type)
cm.input <- ns$caffe.net.input(cm.netp, cm.layers)
cm.net <- ns$caffe.net.symbol(cm.layers, cm.input, cm.proto)
cm.shapes <- mx.symbol.infer.shape(cm.net$symbol, data = rev(c(1, 1, 5, 5)))
blob <- function(dims) c(ns$pb.bytes(7, ns$pb.ints(1, dims)),
                         ns$pb.bytes(5, writeBin(seq_len(prod(dims)) / 10, raw(), size = 4, endian = "little")))
layer <- function(name, ...) ns$pb.bytes(100, c(ns$pb.str(1, name), unlist(lapply(list(...), ns$pb.bytes, num = 7))))
cm.seed <- c(layer("c", blob(c(2, 1, 3, 3)), blob(2)), layer("b", blob(2), blob(2), blob(1)),
             layer("s", blob(2), blob(2)), layer("f", blob(c(2, 18)), blob(2)))

seeds <- list(
  pt = list(read = mx.torch.load, inputs = lapply(file.path(fx, c("tiny.pt", "evil.pt")), slurp)),
  safetensors = list(read = mx.safetensors.load, inputs = list(slurp(file.path(fx, "tiny_io.safetensors")))),
  caffemodel = list(read = function(f) ns$caffe.net.params(cm.net, ns$caffe.read.model(f), cm.shapes, f),
                    inputs = list(cm.seed, hex("a206150a01613a102a080000c03f000000c03a040a020201"),
                                  hex("1212220162320d08011001180120012d0000803f"))),
  mean = list(read = mx.caffe.read.mean,
              inputs = list(c(as.raw(c(8, 1, 16, 3, 24, 1, 32, 2, 42, 24)),
                              writeBin(as.numeric(1:6), raw(), size = 4)))),
  onnx = list(read = mx.onnx.import,
              inputs = lapply(file.path(fx, c("onnx_tiny_bn.onnx", "onnx_tiny_folded.onnx")), slurp)),
  onnx.tensor = list(read = mx.onnx.read.tensor, inputs = list(slurp(file.path(fx, "onnx_tiny_x.pb")))),
  prototxt = list(read = mx.caffe.import, inputs = pt.seeds, dict = lapply(pt.dict, charToRaw)))
readers <- strsplit(arg(4, paste(names(seeds), collapse = ",")), ",")[[1L]]
if (!all(readers %in% names(seeds)))
  stop(sprintf("unknown readers: %s (known: %s)", paste(setdiff(readers, names(seeds)), collapse = ", "),
               paste(names(seeds), collapse = ", ")))
seeds <- seeds[readers]

# Boundary integers as little-endian bytes, and as protobuf varints.
edges <- list(as.raw(c(0, 0, 0, 0)), as.raw(c(255, 255, 255, 255)), as.raw(c(255, 255, 255, 127)),
              as.raw(c(0, 0, 0, 128)), as.raw(c(1, 0, 0, 0)), as.raw(c(255, 255, 255, 255, 255, 255, 255, 255, 255, 1)),
              as.raw(c(128, 128, 128, 128, 16)), as.raw(255), as.raw(0), as.raw(128))
mutate <- function(b, other, dict) {
  n <- length(b)
  tok <- function() if (length(dict) && runif(1) < 0.7) dict[[sample(length(dict), 1)]] else edges[[sample(length(edges), 1)]]
  switch(sample(7, 1),
    { i <- sample(n, min(n, sample(1:4, 1))); b[i] <- as.raw(sample(0:255, length(i), TRUE)); b },
    { i <- sample(0:n, 1); append(b, as.raw(sample(0:255, sample(1:8, 1), TRUE)), i) },
    { i <- sample(n, 1); b[-seq(i, min(n, i + sample(0:7, 1)))] },
    b[seq_len(sample(0:n, 1))],
    c(b[seq_len(sample(0:n, 1))], other[seq.int(sample(length(other), 1), length(other))]),
    append(b, tok(), sample(0:n, 1)),
    { t <- tok(); i <- sample(n, 1); c(b[seq_len(i - 1L)], t, b[-seq_len(min(n, i - 1L + length(t)))]) })
}

limit <- 10       # seconds per input: more is a finding (a hang)
slow <- 1         # seconds per input counted as slow
set.seed(seed)
f <- file.path(if (dir.exists("/dev/shm")) "/dev/shm" else tempdir(), sprintf("fuzz-interop-%d-%d", Sys.getpid(), seed))
dir.create(art, showWarnings = FALSE, recursive = TRUE)
count <- stats::setNames(numeric(length(seeds)), names(seeds))
tally <- lapply(seeds, function(s) c(ok = 0, mxnet_error = 0, guarded = 0, slow = 0, findings = 0))
guarded <- list()
report <- function(what) {
  cat(sprintf("%s %s (%.0f s): %s\n", format(Sys.time(), "%H:%M:%S", tz = "UTC"), what,
              as.numeric(Sys.time() - t0, units = "secs"),
              paste(sprintf("%s %.0f runs [%s]", names(count), count,
                            vapply(tally, function(x) paste(names(x), x, collapse = " "), "")), collapse = "; ")))
  flush(stdout())
}
t0 <- Sys.time()
next.report <- t0 + 60
repeat {
  live <- names(count)[count < runs]
  if (!length(live) || as.numeric(Sys.time() - t0, units = "secs") > budget) break
  for (kind in live) {
    s <- seeds[[kind]]
    b <- mutate(s$inputs[[sample(length(s$inputs), 1)]], s$inputs[[sample(length(s$inputs), 1)]], s$dict)
    writeBin(b, f)
    t1 <- proc.time()[["elapsed"]]
    setTimeLimit(elapsed = limit, transient = TRUE)
    r <- tryCatch({ s$read(f); "ok" }, mxnet_error = function(e) {
      m <- conditionMessage(e)
      if (grepl("malformed file (", m, fixed = TRUE, useBytes = TRUE)) paste("guarded:", sub(".*malformed file [(]", "", m))
      else "mxnet_error"
    }, error = function(e) conditionMessage(e))
    setTimeLimit(elapsed = Inf)
    r <- substr(iconv(r, "UTF-8", "ASCII", sub = "?"), 1, 300)   # messages may quote invalid bytes
    dt <- proc.time()[["elapsed"]] - t1
    count[[kind]] <- count[[kind]] + 1
    x <- tally[[kind]]
    if (dt > slow) x[["slow"]] <- x[["slow"]] + 1
    if (dt >= limit) r <- sprintf("hang: over %g s (%s)", limit, r)
    if (startsWith(r, "guarded: ")) {
      x[["guarded"]] <- x[["guarded"]] + 1
      key <- paste(kind, substr(gsub("[0-9]+", "N", r), 10, 70))
      if (is.null(guarded[[key]])) {
        guarded[[key]] <- 0
        writeBin(b, file.path(art, sprintf("guarded-%s-%d-%.0f", kind, seed, count[[kind]])))
        cat(sprintf("new guarded error %s (saved guarded-%s-%d-%.0f)\n", key, kind, seed, count[[kind]]))
      }
      guarded[[key]] <- guarded[[key]] + 1
    } else if (r %in% c("ok", "mxnet_error")) {
      x[[r]] <- x[[r]] + 1
    } else {
      x[["findings"]] <- x[["findings"]] + 1
      out <- file.path(art, sprintf("interop-%s-%d-%.0f", kind, seed, count[[kind]]))
      writeBin(b, out)
      cat(sprintf("finding %s: %s (%.1f s; saved %s)\n", kind, r, dt, out))
    }
    tally[[kind]] <- x
    if (Sys.time() > next.report) { report("progress"); next.report <- Sys.time() + 60 }
  }
}
unlink(f)
report("fuzz-interop done")
if (length(guarded)) cat(sprintf("  guarded %7.0f  %s\n", unlist(guarded), names(guarded)), sep = "")
cat(sprintf("fuzz-interop: %s, seed %d, %.0f findings\n", paste(sprintf("%s %.0f", names(count), count), collapse = ", "),
            seed, sum(vapply(tally, `[[`, 0, "findings"))))
