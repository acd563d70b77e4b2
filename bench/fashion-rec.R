# Fashion-MNIST through image files (issue 10): the 70,000 images written as
# PNG files in one folder per class, listed by im2rec.list, packed by im2rec,
# read by mx.io.ImageRecordIter; the talk's LeNet trained with the recipe of
# bench/lenet-accuracy.R, side by side with the same training from the idx
# files (mx.io.MNISTIter) in the same session.
#
#   R_LIBS=.lib Rscript bench/fashion-rec.R [epochs] [seed]
args <- commandArgs(trailingOnly = TRUE)
epochs <- if (length(args) >= 1) as.integer(args[[1]]) else 5L
seed <- if (length(args) >= 2) as.integer(args[[2]]) else 1L
bench.dir <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
source(file.path(bench.dir, "fashion-common.R"))
idx <- function(img, lab, batch, shuffle = FALSE)
  mx.io.MNISTIter(image = f(img), label = f(lab), batch.size = batch, shuffle = shuffle,
                  seed = seed, silent = TRUE)
work <- file.path(tempdir(), "fashion")
t0 <- proc.time()[["elapsed"]]
pack <- function(img, lab, name) {
  it <- idx(img, lab, 1000)
  x <- round(mx.io.extract(it, "data") * 256)          # c(28, 28, 1, n), bytes
  y <- as.vector(mx.io.extract(it, "label"))
  root <- file.path(work, name)
  for (k in 0:9) dir.create(file.path(root, k), recursive = TRUE, showWarnings = FALSE)
  for (i in seq_along(y))
    writeBin(mx.image.encode(x[, , , i], ".png", 1), file.path(root, y[i], sprintf("%05d.png", i)))
  lst <- im2rec.list(file.path(work, name), root, shuffle = FALSE)
  im2rec(lst[["all"]], root, file.path(work, paste0(name, ".rec")), unchanged = 1)
}
train.rec <- pack("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "train")
test.rec <- pack("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "test")
cat(sprintf("wrote 70,000 PNG files and packed them: %.1f s; train.rec %.1f MB\n",
            proc.time()[["elapsed"]] - t0, file.size(train.rec) / 1e6))

train <- function(train.iter, test.iter) {
  acc <- numeric(0)
  times <- numeric(0)
  ep.t <- proc.time()[["elapsed"]]
  timer <- function(iteration, nbatch, env, verbose = TRUE) {
    now <- proc.time()[["elapsed"]]
    times[iteration] <<- now - ep.t
    ep.t <<- now
    acc[iteration] <<- mx.metric.accuracy$get(env$eval.metric)$value
    TRUE
  }
  set.seed(seed)
  mx.model.FeedForward.create(get_symbol(10), X = train.iter, eval.data = test.iter, num.round = epochs,
                              learning.rate = 0.05, momentum = 0.9, wd = 1e-5,
                              eval.metric = mx.metric.accuracy, epoch.end.callback = timer,
                              verbose = FALSE)
  c(setNames(round(acc, 4), paste0("acc_ep", seq_along(acc))),
    s_per_epoch = round(median(times), 2))
}
res <- rbind(
  idx = train(idx("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 128, TRUE),
              idx("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 100)),
  rec = train(mx.io.ImageRecordIter(train.rec, data.shape = c(28, 28, 1), batch.size = 128,
                                    shuffle = TRUE, scale = 1 / 256, preprocess.threads = 1),
              mx.io.ImageRecordIter(test.rec, data.shape = c(28, 28, 1), batch.size = 100,
                                    scale = 1 / 256, preprocess.threads = 1)))
print(res)
cat(sprintf("ImageRecordIter speed / MNISTIter speed (time per epoch incl. evaluation): %.3f\n",
            res["idx", "s_per_epoch"] / res["rec", "s_per_epoch"]))
