# A mutation fuzzer for mx.io.CSVIter, run from R.  The CSV text is parsed by
# R's scan() (R/io.R), so there is no C reader for libFuzzer; this script
# drives the whole R path (io.read.csv, mx.nd.array, the batch gathering of
# src/io/batch.c) with mutated CSV files.  Run it on a normal build, and on
# the sanitized build of tools/asan-check.sh to catch memory errors in C.
#   R_LIBS=.lib Rscript tools/fuzz/fuzz-csv.R <seed folder> [runs] [seed] [artifacts]
# (seed folder: the csv/ folder that make-seeds.R writes.)
# For every mutated file, with a random data.shape (often the width of the
# first line), batch size and round.batch: either mx.io.CSVIter fails with an
# R error that has a message, or mx.io.extract returns c(data.shape, n)
# values equal (to float32 precision) to scan()'s reading of the file (not
# compared when the file has empty fields).  The
# label file, when used, is the same file.  A violation saves the input and
# stops with an error.
library(mxnet)
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else file.path("tools", "fuzz", "corpus", "csv")
runs <- if (length(args) >= 2) as.numeric(args[2]) else 10000
set.seed(if (length(args) >= 3) as.integer(args[3]) else 1)
art <- if (length(args) >= 4) args[4] else tempdir()
seeds <- lapply(list.files(dir, full.names = TRUE), function(f) readBin(f, "raw", file.size(f)))
if (!length(seeds)) stop("no seed files in ", dir)
alphabet <- charToRaw("0123456789,,,\n\n\r .-+eE\"NAInfx#\t")

mutate <- function(x) {
  for (k in seq_len(sample(1:4, 1))) {
    n <- length(x)
    op <- sample(1:5, 1)
    pos <- sample.int(n + 1L, 1) - 1L
    if (op == 1 && n) x[max(pos, 1L)] <- sample(alphabet, 1)
    if (op == 2) x <- append(x, sample(c(alphabet, as.raw(sample(0:255, 1))), 1), after = pos)
    if (op == 3 && n) x <- x[-max(pos, 1L)]
    if (op == 4 && n) {
      from <- sample.int(n, 1)
      x <- append(x, x[from:min(n, from + sample(0:8, 1))], after = pos)
    }
    if (op == 5) x <- c(x[seq_len(pos)], seeds[[sample.int(length(seeds), 1)]])
  }
  x[x != as.raw(0)]
}

first.width <- function(f) {
  l <- tryCatch(readLines(f, n = 1L, warn = FALSE), error = function(e) character(0))
  if (!length(l)) return(1)
  max(1, length(strsplit(l, ",", fixed = TRUE, useBytes = TRUE)[[1]]))
}

reference <- function(f, width) {
  v <- tryCatch(suppressWarnings(scan(f, what = 0, sep = ",", quiet = TRUE)),
                error = function(e) NULL)
  if (is.null(v) || length(v) %% width != 0) return(NULL)
  v
}

check <- function(ok, f, what) {
  if (ok) return(invisible())
  dest <- file.path(art, sprintf("csv-finding-%s", basename(f)))
  file.copy(f, dest, overwrite = TRUE)
  stop(sprintf("fuzz-csv: %s (input saved as %s)", what, dest), call. = FALSE)
}

f <- tempfile(fileext = ".csv")
loaded <- 0
failed <- 0
uncompared <- 0
for (i in seq_len(runs)) {
  writeBin(mutate(seeds[[sample.int(length(seeds), 1)]]), f)
  w <- if (runif(1) < 0.8) first.width(f) else sample(1:4, 1)
  shape <- if (w %% 2 == 0 && runif(1) < 0.3) c(2, w / 2) else w
  label <- if (runif(1) < 0.2) f else NULL
  r <- tryCatch({
    it <- suppressWarnings(mx.io.CSVIter(data.csv = f, data.shape = shape, label.csv = label,
                                         label.shape = shape, batch.size = sample(1:5, 1),
                                         round.batch = runif(1) < 0.5))
    mx.io.extract(it, "data")
  }, error = function(e) e)
  if (inherits(r, "error")) {
    failed <- failed + 1
    check(nzchar(conditionMessage(r)), f, "an error without a message")
    next
  }
  loaded <- loaded + 1
  n <- length(r) / w
  check(identical(dim(r), as.integer(c(shape, n))), f, "wrong dimensions")
  ref <- reference(f, w)
  # empty fields: R's scan() drops an empty last field of a line in the
  # iterator's reading (multi.line = FALSE) but not in this one; no oracle
  if (is.null(ref) || anyNA(ref)) { uncompared <- uncompared + 1; next }
  check(length(ref) == length(r), f, "loaded a different number of values than scan() reads")
  want <- as.vector(as.array(mx.nd.array(ref)))      # float32 rounding, as the iterator
  got <- as.vector(r)
  same <- (is.na(want) & is.na(got)) | (!is.na(want) & !is.na(got) & want == got)
  check(all(same), f, "values differ from scan()")
}
cat(sprintf(paste("fuzz-csv: %d runs, %d loaded (%d of them with empty fields, not compared),",
                  "%d refused with an error, no finding\n"),
            as.integer(runs), as.integer(loaded), as.integer(uncompared), as.integer(failed)))
