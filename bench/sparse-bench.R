# sparse-bench.R -- sparse logistic regression on bag-of-words data built
# from R's own documentation, and dot(csr, dense) against PyTorch's
# torch.sparse.mm, side by side in one run.
#
# Documents: every Rd help page of R's base packages (tools::Rd_db) and every
# paragraph of the text files under R.home("doc"). Features: words and word
# bigrams hashed into 10^6 buckets (and 2^15 buckets, where the dense model
# fits in memory), weights 1 + log(count), each document L2-normalised.
# Label: the page belongs to package stats.
#
# Each measurement runs in a child R process (peak RSS = its VmHWM):
#   base      loads the data and the package only;
#   sparse F  trains mx.sparse.logistic on the CSR data (lazy SGD);
#   dense F   trains the same model (same batches, same SGD step) on the
#             dense array (only where it fits: F = 2^15).
# The dense memory at 10^6 features is computed, not allocated.
#
# Usage: R_LIBS=.lib Rscript bench/sparse-bench.R [rounds [learning.rate]]
#        (children: Rscript bench/sparse-bench.R child MODE F DIR ROUNDS LR)

args <- commandArgs(TRUE)
suppressMessages(library(mxnet))
self <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))

hwm <- function() {
  s <- grep("^VmHWM", readLines("/proc/self/status"), value = TRUE)
  as.numeric(gsub("[^0-9]", "", s)) * 1024
}

# --------------------------------------------------------------- the data

doc.texts <- function() {
  pk <- c("base", "stats", "utils", "graphics", "grDevices", "methods", "tools", "datasets",
          "grid", "splines", "stats4", "parallel", "compiler", "tcltk")
  text <- character(0)
  label <- numeric(0)
  for (p in pk) {
    db <- tryCatch(tools::Rd_db(p), error = function(e) list())
    text <- c(text, vapply(db, function(rd) paste(unlist(rd), collapse = " "), "", USE.NAMES = FALSE))
    label <- c(label, rep(as.numeric(p == "stats"), length(db)))
  }
  files <- list.files(R.home("doc"), recursive = TRUE, full.names = TRUE)
  files <- files[!grepl("\\.(pdf|png|jpg|gif|gz|css|js|svg|jpeg)$", files, ignore.case = TRUE)]
  for (f in files) {
    txt <- tryCatch(readLines(f, warn = FALSE), error = function(e) character(0))
    if (!length(txt)) next
    txt <- iconv(txt, "UTF-8", "ASCII", sub = " ")
    txt[is.na(txt)] <- ""
    paras <- vapply(split(txt, cumsum(!nzchar(trimws(txt)))), paste, "", collapse = " ")
    paras <- paras[nchar(paras) > 200]
    text <- c(text, paras)
    label <- c(label, rep(0, length(paras)))
  }
  list(text = text, label = label)
}

# A word's hash: polynomial over its bytes modulo a prime (deterministic).
word.hash <- function(words) {
  P <- 2147483629
  vapply(words, function(w) {
    h <- 0
    for (b in as.integer(charToRaw(w))) h <- (h * 131 + b) %% P
    h
  }, 0, USE.NAMES = FALSE)
}

# CSR components (engine rows = documents) of the hashed words and bigrams.
bag.of.words <- function(d, nfeat) {
  toks <- strsplit(tolower(iconv(d$text, "UTF-8", "ASCII", sub = " ")), "[^a-z0-9_.]+")
  toks <- lapply(toks, function(t) t[nchar(t) > 1])
  vocab <- unique(unlist(toks))
  vh <- word.hash(vocab)
  doc <- rep(seq_along(toks) - 1, lengths(toks))
  h <- vh[match(unlist(toks), vocab)]
  nxt <- c(h[-1], NA)
  same <- c(doc[-1] == doc[-length(doc)], FALSE)
  big <- (h[same] * 31 + nxt[same]) %% 2147483629
  feats <- list()
  for (F in nfeat) {
    key <- c(doc * F + h %% F, doc[same] * F + big %% F)
    r <- rle(sort(key))
    val <- 1 + log(r$lengths)
    row <- r$values %/% F
    ss <- as.vector(rowsum(val^2, row))          # by sorted row, as row is
    val <- val / sqrt(ss[match(row, unique(row))])
    feats[[as.character(F)]] <- list(indptr = c(0, cumsum(tabulate(row + 1, length(toks)))),
                                     indices = r$values %% F, values = as.numeric(val))
  }
  feats
}

write.csr <- function(x, label, F, dir) {
  con <- file(file.path(dir, sprintf("csr-%d.bin", F)), "wb")
  writeBin(as.double(c(length(x$indptr) - 1, F, length(x$values))), con)
  writeBin(as.double(x$indptr), con)
  writeBin(as.double(x$indices), con)
  writeBin(as.double(x$values), con, size = 4)
  writeBin(as.double(label), con, size = 4)
  close(con)
}

read.csr <- function(F, dir) {
  con <- file(file.path(dir, sprintf("csr-%d.bin", F)), "rb")
  on.exit(close(con))
  hd <- readBin(con, "double", 3)
  p <- readBin(con, "double", hd[1] + 1)
  i <- readBin(con, "double", hd[3])
  v <- readBin(con, "double", hd[3], size = 4)
  y <- readBin(con, "double", hd[1], size = 4)
  list(X = mx.nd.sparse.csr(v, i, p, c(hd[2], hd[1])), y = y)
}

# ---------------------------------------------------------------- training

# The dense twin of mx.sparse.logistic (SGD, no shuffling): the same batches
# and step on a dense array of R dims c(F, n).
dense.logistic <- function(Xd, y, lr, rounds, B) {
  n <- length(y)
  F <- dim(Xd)[1]
  w <- mx.nd.zeros(c(1, F), ctx = mx.cpu())
  b <- 0
  loss <- numeric(0)
  for (r in seq_len(rounds)) {
    total <- 0
    for (first in seq(1L, n, by = B)) {
      rows <- (first:min(n, first + B - 1L)) - 1
      Xb <- mx.nd.take(Xd, mx.nd.array(rows, ctx = mx.cpu()), axis = 0)
      p <- 1 / (1 + exp(-(as.vector(as.array(mx.nd.dot(Xb, w))) + b)))
      yb <- y[rows + 1]
      total <- total - sum(yb * log(pmax(p, 1e-12)) + (1 - yb) * log(pmax(1 - p, 1e-12)))
      err <- mx.nd.array(matrix(p - yb, nrow = 1), ctx = mx.cpu())
      g <- mx.nd.dot(Xb, err, transpose_a = TRUE)
      mx.nd.sgd.update(w, g, lr = lr, rescale_grad = 1 / length(rows), out = w)
      b <- b - lr * mean(p - yb)
    }
    loss <- c(loss, total / n)
  }
  loss
}

child <- function(mode, F, dir, rounds, lr) {
  mx.threads(2)
  d <- read.csr(F, dir)
  t0 <- proc.time()[["elapsed"]]
  loss <- NA
  if (mode == "sparse") {
    fit <- mx.sparse.logistic(d$X, d$y, learning.rate = lr, num.round = rounds, batch.size = 64,
                              shuffle = FALSE)
    loss <- fit$loss[rounds]
    acc <- mean((predict(fit, d$X) > 0.5) == d$y)
  } else if (mode == "dense") {
    Xd <- mx.nd.cast.storage(d$X, "default")
    loss <- dense.logistic(Xd, d$y, lr, rounds, 64)[rounds]
    acc <- NA
  } else acc <- NA
  cat(sprintf("RESULT %s %d %.3f %.0f %.6f %.4f\n", mode, F, proc.time()[["elapsed"]] - t0, hwm(),
              loss, acc))
}

# ------------------------------------------------------ dot vs PyTorch

dot.bench <- function(F, dir, k = 16, reps = 5) {
  mx.threads(2)
  d <- read.csr(F, dir)
  set.seed(1)
  W <- matrix(runif(k * F, -1, 1), k, F)          # engine (F, k)
  con <- file(file.path(dir, "rhs.bin"), "wb")
  writeBin(as.double(W), con, size = 4)
  close(con)
  Wn <- mx.nd.array(W, ctx = mx.cpu())
  o <- mx.nd.dot(d$X, Wn)
  tm <- vapply(seq_len(reps), function(i) system.time(as.array(mx.nd.dot(d$X, Wn)))[["elapsed"]], 0)
  ref <- as.array(o)
  U <- mx.nd.array(matrix(runif(k * length(d$y)), k), ctx = mx.cpu())
  tt <- vapply(seq_len(reps), function(i)
    system.time(as.array(mx.nd.dot(d$X, U, transpose_a = TRUE)))[["elapsed"]], 0)
  py <- system2("/usr/bin/python3", c(file.path(dirname(self), "sparse-bench-torch.py"),
                                      file.path(dir, sprintf("csr-%d.bin", F)),
                                      file.path(dir, "rhs.bin"), k, reps, file.path(dir, "torch-out.bin")),
                stdout = TRUE)
  tout <- readBin(file.path(dir, "torch-out.bin"), "double", length(ref), size = 4)
  list(mx = median(tm), mxT = median(tt), torch = as.numeric(sub(".* ", "", grep("^TORCH", py, value = TRUE))),
       maxdiff = max(abs(tout - as.vector(ref))), torchinfo = grep("^INFO", py, value = TRUE))
}

# ------------------------------------------------------------------ main

if (length(args) && args[1] == "child") {
  child(args[2], as.numeric(args[3]), args[4], as.integer(args[5]), as.numeric(args[6]))
  quit(save = "no")
}

rounds <- if (length(args)) as.integer(args[1]) else 10L
lr <- if (length(args) > 1) as.numeric(args[2]) else 8
dir <- tempfile("sparse-bench")
dir.create(dir)
t0 <- proc.time()[["elapsed"]]
d <- doc.texts()
set.seed(42)
perm <- sample.int(length(d$label))         # one fixed order for every run (no shuffling in
d <- list(text = d$text[perm], label = d$label[perm])   # the loops, so sparse and dense agree)
sizes <- c(1e6, 2^15)
bw <- bag.of.words(d, sizes)
for (F in sizes) write.csr(bw[[as.character(F)]], d$label, F, dir)
n <- length(d$label)
nnz <- length(bw[["1e+06"]]$values)
cat(sprintf("data: %d documents (%d positive), %d non-zeros at 10^6 features, built in %.1f s\n",
            n, sum(d$label), nnz, proc.time()[["elapsed"]] - t0))
d.label <- d$label
rm(d, bw)
run.child <- function(mode, F) {
  out <- system2(file.path(R.home("bin"), "Rscript"), c(self, "child", mode, F, dir, rounds, lr), stdout = TRUE)
  r <- strsplit(grep("^RESULT", out, value = TRUE), " ")[[1]]
  suppressWarnings(data.frame(mode = mode, features = F, seconds = as.numeric(r[4]), peak.rss.mb = as.numeric(r[5]) / 2^20,
             final.loss = as.numeric(r[6]), accuracy = as.numeric(r[7])))
}
res <- rbind(run.child("base", 1e6), run.child("sparse", 1e6), run.child("base", 2^15),
             run.child("sparse", 2^15), run.child("dense", 2^15))
cat(sprintf("logistic regression, SGD, batch 64, %d rounds, learning rate %g; majority-class accuracy %.4f\n",
            rounds, lr, 1 - mean(d.label)))
print(res, row.names = FALSE)
cat(sprintf("dense data at 10^6 features would need %.1f GB (float32), the CSR data %.1f MB\n",
            n * 1e6 * 4 / 1e9, (nnz * (4 + 8) + (n + 1) * 8) / 2^20))
db <- dot.bench(1e6, dir)
cat(sprintf("dot(csr %d x 10^6, dense 10^6 x 16): mxnet %.4f s, torch.sparse.mm %.4f s (median of 5; max |diff| %.2g)\n",
            n, db$mx, db$torch, db$maxdiff))
cat(sprintf("dot(csr, dense, transpose_a = TRUE) (10^6 x 16 result): mxnet %.4f s\n", db$mxT))
cat(db$torchinfo, sep = "\n")
unlink(dir, recursive = TRUE)
