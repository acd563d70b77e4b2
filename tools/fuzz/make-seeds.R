# Writes the seed corpora of the fuzz harnesses into subfolders of the folder
# given as the first argument (default tools/fuzz/corpus), one per harness:
#   ndarray-load/  files from mx.nd.serialize plus hand-built V1, V3 and
#                  legacy (pre-0.11) records
#   symbol-json/   JSON of real symbols (LeNet, an MLP, a BatchNorm/Concat
#                  net, ...) and hand-written legacy (MXNet 0.8) files
#   mnist/         small idx image/label pairs in fuzz-mnist.c's layout,
#                  plain, compressed by the harness, and raw gzip
#   io-batch/      shapes, rows and shuffle draws in fuzz-io-batch.c's layout
#   csv/           small CSV files for fuzz-csv.R
#   recordio/      .rec files (split records, image headers) and an .idx
#   image-record/  image records (JPEG, PNG) in fuzz-image-record.c's layout
#   recordio-skip/ .rec files of good and bad images in fuzz-recordio-skip.c's
#                  layout
#   R_LIBS=.lib Rscript tools/fuzz/make-seeds.R /tmp/corpus
library(mxnet)
args <- commandArgs(trailingOnly = TRUE)
top <- if (length(args)) args[1] else file.path("tools", "fuzz", "corpus")
script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
repo <- normalizePath(file.path(dirname(script), "..", ".."))
dir <- NULL
put <- function(name, bytes) {
  if (is.character(bytes)) bytes <- charToRaw(paste(bytes, collapse = "\n"))
  writeBin(bytes, file.path(dir, name))
}
into <- function(sub) {
  dir <<- file.path(top, sub)
  dir.create(dir, showWarnings = FALSE, recursive = TRUE)
}

u32 <- function(v) { v <- as.numeric(v) %% 2^32; as.raw(floor(v / 256^(0:3)) %% 256) }
u64 <- function(v) c(u32(v %% 2^32), u32(floor(v / 2^32)))
f32 <- function(x) writeBin(as.double(x), raw(), size = 4L, endian = "little")

# ---------------------------------------------------------------- ndarray-load
into("ndarray-load")
rec <- function(magic, shape, flag, data, stype = TRUE)
  c(u32(magic), if (stype) u32(0), u32(length(shape)), unlist(lapply(shape, u64)),
    u32(1), u32(0), u32(flag), data)
legacy <- function(shape, flag, data)
  c(u32(length(shape)), unlist(lapply(shape, u32)), u32(1), u32(0), u32(flag), data)
container <- function(recs, names = NULL)
  c(u64(0x112), u64(0), u64(length(recs)), unlist(recs), u64(length(names)),
    unlist(lapply(names, function(s) c(u64(nchar(s, "bytes")), charToRaw(s)))))

put("named-dtypes", mx.nd.serialize(list(
  a = mx.nd.array(matrix(1:6, 2)), b = mx.nd.array(c(-1, 5), dtype = "int64"),
  c = mx.nd.array(1:3, dtype = "uint8"), d = mx.nd.array(c(0.5, 2), dtype = "float64"),
  e = mx.nd.array(1:2, dtype = "float16"), f = mx.nd.array(7, dtype = "int32"))))
put("scalar-empty", mx.nd.serialize(list(mx.nd.zeros(integer(0)), mx.nd.zeros(c(0, 3)))))
put("eight-dims", mx.nd.serialize(list(x = mx.nd.ones(rep(2, 8)))))
put("sparse", mx.nd.serialize(list(
  csr = mx.nd.sparse.csr(c(1, 2, 3), indices = c(0, 2, 2), indptr = c(0, 2, 3), shape = c(3, 2)),
  dense = mx.nd.ones(2),
  rsp = mx.nd.sparse.row_sparse(array(1:8, c(2, 2, 2)), indices = c(0, 3), shape = c(2, 2, 5)))))
put("old-records", container(list(
  legacy(c(2, 2), 0, f32(1:4)),
  rec(0xF993FAC8, 3, 0, f32(1:3), stype = FALSE),
  rec(0xF993FACA, numeric(0), 0, f32(9)),
  c(u32(0xF993FAC9), u32(0), u32(0))), c("legacy", "v1", "v3", "none")))

# ---------------------------------------------------------------- symbol-json
into("symbol-json")
source(file.path(repo, "tests", "testthat", "helper-lenet.R"), local = TRUE)
put("lenet.json", as.json(get_symbol(10)))
put("bn-concat.json", as.json(bn_concat_net()))
put("mlp.json", as.json(deep_mlp(layers = 2, width = 16)))
put("lenet-internals.json", as.json(internals(get_symbol(10))))
v <- mx.symbol.Variable("w", shape = c(3, 4), lr.mult = 2, wd.mult = 0, init = "zeros")
put("variable-attrs.json", as.json(v))
x <- mx.symbol.Variable("x")
sl <- mx.symbol.SliceChannel(x, num_outputs = 3, name = "sl")
put("slice-group.json", as.json(mx.symbol.Group(list(sl[[1]] + 1, sl[[3]] * sl[[2]],
                                                     mx.symbol.Dropout(x, p = 0.25)))))
put("reshape-ops.json", as.json(mx.symbol.LinearRegressionOutput(
  mx.symbol.sum(mx.symbol.Reshape(mx.symbol.transpose(x), shape = c(-1, 2)), axis = 1),
  name = "lro")))
put("escaped-names.json", as.json(mx.symbol.Variable("a\"b\\c\n\td\u00e9")))
put("tiny-1.9.1.json", c(
  '{"nodes": [{"op": "null", "name": "data", "inputs": []},',
  '  {"op": "null", "name": "fc1_weight", "inputs": []},',
  '  {"op": "null", "name": "fc1_bias", "inputs": []},',
  '  {"op": "FullyConnected", "name": "fc1", "attrs": {"num_hidden": "10"},',
  '   "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},',
  '  {"op": "null", "name": "sm_label", "inputs": []},',
  '  {"op": "SoftmaxOutput", "name": "sm", "inputs": [[3, 0, 0], [4, 0, 0]]}],',
  ' "arg_nodes": [0, 1, 2, 4], "node_row_ptr": [0, 1, 2, 3, 4, 5, 6],',
  ' "heads": [[5, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}}'))
put("legacy-0.8-bn.json", c(
  '{"nodes": [',
  '  {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},',
  '  {"op": "null", "param": {}, "name": "conv_weight", "inputs": [], "backward_source_id": -1,',
  '   "attr": {"lr_mult": "2", "ctx_group": "dev1"}},',
  '  {"op": "null", "param": {}, "name": "conv_bias", "inputs": [], "backward_source_id": -1},',
  '  {"op": "Convolution", "param": {"kernel": "(3, 3)", "num_filter": "8", "no_bias": "False",',
  '   "pad": "(1, 1)", "stride": "(1, 1)", "workspace": "512"}, "name": "conv",',
  '   "attr": {"weight_wd_mult": "0.5"},',
  '   "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1},',
  '  {"op": "null", "param": {}, "name": "bn_gamma", "inputs": [], "backward_source_id": -1},',
  '  {"op": "null", "param": {}, "name": "bn_beta", "inputs": [], "backward_source_id": -1},',
  '  {"op": "BatchNorm", "param": {"eps": "0.001", "fix_gamma": "True", "momentum": "0.9",',
  '   "use_global_stats": "False"}, "name": "bn", "inputs": [[3, 0], [4, 0], [5, 0]],',
  '   "backward_source_id": -1},',
  '  {"op": "argmax", "param": {"axis": "-1"}, "name": "am", "inputs": [[6, 0]],',
  '   "backward_source_id": -1},',
  '  {"op": "Activation", "param": {"act_type": "relu"}, "name": "relu", "inputs": [[6, 0]],',
  '   "backward_source_id": -1}],',
  ' "arg_nodes": [0, 1, 2, 4, 5], "heads": [[8, 0], [7, 0]]}'))
put("numbers-as-attrs.json", c(
  '{"nodes": [{"op": "null", "name": "data", "inputs": []},',
  '  {"op": "Pooling", "name": "p", "attrs": {"kernel": "(2, 2)", "global_pool": true,',
  '   "pool_type": "avg", "stride": "(2, 2)"}, "inputs": [[0, 0]]},',
  '  {"op": "Concat", "name": "c", "attrs": {"dim": 1}, "inputs": [[1, 0], [0, 0, 0]]}],',
  ' "heads": [[2, 0]], "attrs": {"mxnet_version": ["int", 10600]}}'))
# A libFuzzer dictionary next to the folders (-dict=<top>/symbol-json.dict):
# JSON keys, operator names and parameter names of the registry.
gen <- readLines(file.path(repo, "R", "ops-generated.R"))
ops <- unique(sub('.*C_mx_r_nd_invoke, "([^"]*)".*', "\\1",
                  grep('C_mx_r_nd_invoke, "', gen, value = TRUE)))
params <- unique(unlist(lapply(ops, function(o) {
  f <- get0(paste0("mx.symbol.", o), envir = asNamespace("mxnet"))
  if (is.function(f)) names(formals(f))
})))
params <- setdiff(gsub(".", "_", params, fixed = TRUE), c("...", "name", "attr", "data"))
words <- c("nodes", "heads", "op", "name", "inputs", "attrs", "param", "attr", "arg_nodes",
           "node_row_ptr", "mxnet_version", "null", "backward_source_id", "int",
           "__shape__", "__lr_mult__", "lr_mult", "ctx_group", ops, params)
writeLines(sprintf('"%s"', unique(words)), file.path(top, "symbol-json.dict"))

# ---------------------------------------------------------------- mnist
# fuzz-mnist.c layout: flags, part index, image length (big-endian u16),
# image file, label file.
into("mnist")
be32 <- function(v) rev(u32(v))
idx.pair <- function(n, rows, cols, seed = 1) {
  set.seed(seed)
  list(img = c(be32(2051), be32(n), be32(rows), be32(cols),
               as.raw(sample(0:255, n * rows * cols, replace = TRUE))),
       lab = c(be32(2049), be32(n), as.raw(sample(0:9, n, replace = TRUE))))
}
mnist.seed <- function(flags, part, p) {
  li <- length(p$img)
  c(as.raw(flags), as.raw(part %% 256), as.raw(li %/% 256), as.raw(li %% 256), p$img, p$lab)
}
gzip.file <- function(bytes) {           # a real gzip file through R's gzcon
  f <- tempfile()
  con <- gzfile(f, "wb")
  writeBin(bytes, con)
  close(con)
  on.exit(unlink(f))
  readBin(f, "raw", file.size(f))
}
p <- idx.pair(5, 4, 3)
put("plain", mnist.seed(0x10, 0, p))
put("flat-shuffle", mnist.seed(0x13, 7, p))
put("parts-3-of-2", mnist.seed(0x30, 2, idx.pair(7, 2, 2, 2)))
put("gzip-by-harness", mnist.seed(0x1c, 0, idx.pair(4, 3, 3, 3)))
put("empty", mnist.seed(0x10, 0, idx.pair(0, 28, 28)))
put("raw-gzip", mnist.seed(0x10, 0, lapply(idx.pair(3, 2, 5, 4), gzip.file)))
put("bad-parts", mnist.seed(0x00, 0, p))

# ---------------------------------------------------------------- io-batch
# fuzz-io-batch.c layout: dtype and flags, trailing ndim, 3 extents, examples,
# batch size, rows to gather, the rows, then doubles for the shuffle.
into("io-batch")
dbl <- function(x) writeBin(as.double(x), raw(), size = 8L, endian = "little")
batch.seed <- function(flags, ext, n, b, rows, u)
  c(as.raw(c(flags, length(ext), c(ext, 0, 0, 0)[1:3], n, b, length(rows))),
    as.raw(rows %% 256), dbl(u))
put("float32-2x3", batch.seed(0, c(2, 3), 5, 4, c(4, 0, 2), c(0.1, 0.9, 0.5, 0.3, 0.7)))
put("int64-vector", batch.seed(4, integer(0), 7, 3, c(6, 5, 6), c(NaN, -1, 2, 0.999, 0, 1, 0.5)))
put("out-of-range", batch.seed(2, 4, 3, 3, c(1, 3, -1), c(0.2, 0.2, 0.2)))
put("overlap", batch.seed(0x20, 2, 4, 4, c(0, 1), 0.5))
put("other-shape", batch.seed(0x11, c(2, 2), 4, 4, 1, 0.5))

# ---------------------------------------------------------------- csv
# CSV files for fuzz-csv.R (mx.io.CSVIter through R's scan()).
into("csv")
put("ints.csv", "1,2,3\n4,5,6\n7,8,9\n10,11,12\n")
put("floats.csv", "0.5,-1e-3,2.25E2\n1,2,3\n")
put("spaces-crlf.csv", " 1 , 2\r\n3,4\r\n\r\n")
put("one-col.csv", "1\n2\n3\n4\n5\n6\n7\n")
put("special.csv", "Inf,-Inf,0x1A\n\"3\",1e308,-0\n")
# ---------------------------------------------------------------- recordio
# .rec files from the writer: plain, split around the magic number, empty
# records, image records with one and several labels (also read as .idx).
into("recordio")
rec.file <- function(recs) {
  f <- tempfile()
  w <- mx.io.MXRecordIO(f, "w")
  for (r in recs) w$write(r)
  w$close()
  on.exit(unlink(f))
  readBin(f, "raw", file.size(f))
}
magic <- u32(0xced7230a)
put("plain", rec.file(list(as.raw(1:5), charToRaw("abcdefgh"), raw(0))))
put("split", rec.file(list(c(as.raw(1:4), magic, as.raw(5:8), magic, as.raw(9)), c(magic, magic))))
put("image-headers", rec.file(list(mx.io.recordio.pack(list(label = 3, id = 1), as.raw(1:7)),
                                   mx.io.recordio.pack(list(label = c(1, 2, 3), id = 2), raw(0)))))
put("index", "0\t0\n1\t16\n2\t40\n")

# ---------------------------------------------------------------- image-record
# fuzz-image-record.c layout: flags, output width - 1, height - 1, resize,
# then an image record (header + JPEG or PNG).
into("image-record")
grad <- array(0, c(13, 9, 3))
grad[, , 1] <- seq(0, 255, length.out = 13)
grad[, , 2] <- rep(seq(0, 255, length.out = 9), each = 13)
grad[, , 3] <- 90
img.seed <- function(flags, w, h, resize, payload, label = 1)
  c(as.raw(c(flags, w - 1, h - 1, resize)), mx.io.recordio.pack(list(label = label, id = 5), payload))
put("jpeg-colour", img.seed(0x06, 8, 6, 0, mx.image.encode(grad, ".jpg", 90)))
put("jpeg-grey-resize", img.seed(0x3b, 5, 5, 7, mx.image.encode(grad[, , 1], ".jpg", 50)))
put("png-colour-jitter", img.seed(0x30, 16, 12, 0, mx.image.encode(grad, ".png"), c(1, 2)))
put("png-grey", img.seed(0x09, 4, 4, 0, mx.image.encode(grad[, , 2], ".png", 9)))
put("jpeg-progressive-like", img.seed(0x00, 13, 9, 9, mx.image.encode(grad, ".jpg", 100)))

# ---------------------------------------------------------------- recordio-skip
# fuzz-recordio-skip.c layout: flags (batch size - 1, round_batch, shuffle,
# threads), then a .rec of small images, good and bad.
into("recordio-skip")
png.rec <- function(k) mx.io.recordio.pack(list(label = k, id = k), mx.image.encode(grad * k / 4, ".png"))
good <- lapply(1:4, png.rec)
put("good", c(as.raw(0x05), rec.file(good)))
put("bad-image", c(as.raw(0x16), rec.file(c(good[1:2], list(mx.io.recordio.pack(list(label = 7), as.raw(1:40))),
                                              good[3:4]))))
put("split-jpeg", c(as.raw(0x1b), rec.file(list(mx.io.recordio.pack(list(label = 1), c(mx.image.encode(grad, ".jpg"), magic)),
                                                good[[2]]))))
cat("seeds written to", top, "\n")
