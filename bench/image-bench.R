# Decode throughput of mx.io.ImageRecordIter (issue 10), 1 and 2 threads.
#   R_LIBS=.lib Rscript bench/image-bench.R [epochs]
# Set 1: the JPEG photographs of Debian's opencv-doc (about 600 files, stored
# unchanged in a .rec by im2rec(unchanged = 1)): decode, short side to 256,
# random 224 x 224 crop, random mirror, mean/std normalisation.
# Set 2: the same photographs as 224 x 224 JPEGs (centre square, q95): the
# same pipeline without the resize.  Each figure: images per second over
# whole epochs (after one warm-up epoch), read from the iterator by R.
library(mxnet)
args <- commandArgs(trailingOnly = TRUE)
epochs <- if (length(args)) as.integer(args[1]) else 2L
files <- list.files("/usr/share/doc/opencv-doc", "\\.jpe?g$", recursive = TRUE, full.names = TRUE)
if (!length(files)) stop("install opencv-doc for the photographs")
work <- file.path(tempdir(), "imgbench")
dir.create(work, showWarnings = FALSE)
lst <- file.path(work, "photos.lst")
writeLines(sprintf("%d\t0\t%s", seq_along(files) - 1, files), lst)
photos <- im2rec(lst, "/", file.path(work, "photos.rec"), unchanged = 1)
small <- im2rec(lst, "/", file.path(work, "small.rec"), center_crop = 1, new_size = 224,
                quality = 95, num_thread = 2)
cat(sprintf("%d images; %.1f MB of photographs, %.1f MB at 224 x 224\n", length(files),
            file.size(photos) / 1e6, file.size(small) / 1e6))

rate <- function(rec, threads, resize) {
  it <- mx.io.ImageRecordIter(rec, data.shape = c(224, 224, 3), batch.size = 32, resize = resize,
                              rand.crop = TRUE, rand.mirror = TRUE, mean.r = 123.68,
                              mean.g = 116.28, mean.b = 103.53, std.r = 58.395, std.g = 57.12,
                              std.b = 57.375, preprocess.threads = threads, prefetch.buffer = 4)
  pass <- function() {
    it$reset()
    n <- 0
    while (it$iter.next()) n <- n + 32 - it$num.pad()
    n
  }
  pass()
  t <- system.time(for (e in seq_len(epochs)) n <- pass())[["elapsed"]]
  n * epochs / t
}
res <- expand.grid(threads = 1:2, set = c("photos, resize 256", "224 x 224 JPEGs"))
res$img.per.s <- mapply(function(th, set) {
  if (set == "photos, resize 256") rate(photos, th, 256) else rate(small, th, -1)
}, res$threads, as.character(res$set))
res$vs.1.thread <- res$img.per.s / rep(res$img.per.s[res$threads == 1], each = 2)
print(res, digits = 4)
