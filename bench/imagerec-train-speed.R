# Training speed through mx.io.ImageRecordIter against the same data in
# memory (issue 10): the 10,000 Fashion-MNIST test images as PNG records,
# the talk's LeNet for one epoch at a time, alternating MNISTIter (idx file,
# in memory) and ImageRecordIter (decoding threads) so that both see the
# same machine load; also the time the training loop spent waiting in
# iter.next().
#   R_LIBS=.lib Rscript bench/imagerec-train-speed.R [rounds] [preprocess.threads] [compute threads]
# (compute threads: mxnet.threads for training, 2 by default as fashion-common.R sets)
args <- commandArgs(trailingOnly = TRUE)
rounds <- if (length(args) >= 1) as.integer(args[[1]]) else 5L
threads <- if (length(args) >= 2) as.integer(args[[2]]) else 1L
bench.dir <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
source(file.path(bench.dir, "fashion-common.R"))
if (length(args) >= 3) options(mxnet.threads = as.integer(args[[3]]))
mnist <- function(batch) mx.io.MNISTIter(image = f("t10k-images-idx3-ubyte.gz"),
                                         label = f("t10k-labels-idx1-ubyte.gz"),
                                         batch.size = batch, shuffle = TRUE, silent = TRUE)
all <- mnist(1000)
x <- round(mx.io.extract(all, "data") * 256)
y <- as.vector(mx.io.extract(all, "label"))
rec <- file.path(tempdir(), "fashion-test.rec")
w <- mx.io.MXRecordIO(rec, "w")
for (i in seq_along(y)) w$write(mx.io.recordio.pack(list(label = y[i]), mx.image.encode(x[, , , i], ".png", 1)))
w$close()
it <- mx.io.ImageRecordIter(rec, data.shape = c(28, 28, 1), batch.size = 128, shuffle = TRUE,
                            scale = 1 / 256, preprocess.threads = threads)
waited <- 0
timed <- new.env()
timed$reset <- function() it$reset()
timed$iter.next <- function() {
  t0 <- proc.time()[["elapsed"]]
  r <- it$iter.next()
  waited <<- waited + proc.time()[["elapsed"]] - t0
  r
}
timed$value <- function() it$value()
timed$num.pad <- function() it$num.pad()
idx <- mnist(128)
res <- NULL
for (r in seq_len(rounds)) for (src in c("MNISTIter", "ImageRecordIter")) {
  set.seed(r)
  waited <- 0
  t <- system.time(mx.model.FeedForward.create(get_symbol(10), X = if (src == "MNISTIter") idx else timed,
                                               num.round = 1, learning.rate = 0.05, momentum = 0.9,
                                               verbose = FALSE))[["elapsed"]]
  res <- rbind(res, data.frame(round = r, iterator = src, img.per.s = round(10000 / t),
                               s.in.iter.next = round(waited, 3),
                               load = as.numeric(strsplit(readLines("/proc/loadavg"), " ")[[1]][1])))
}
print(res, row.names = FALSE)
med <- tapply(res$img.per.s, res$iterator, median)
cat(sprintf("median img/s: MNISTIter %.0f, ImageRecordIter %.0f; ratio %.3f\n", med[["MNISTIter"]],
            med[["ImageRecordIter"]], med[["ImageRecordIter"]] / med[["MNISTIter"]]))
