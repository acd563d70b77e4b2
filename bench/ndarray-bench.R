# NDArray benchmarks, measured side by side with the machine's own ceilings in
# one run (ratios, not absolute times: the machines are shared and noisy).
#
#   R_LIBS=.lib Rscript bench/ndarray-bench.R [reps]
#
# 1. 1e7-element float32 add / multiply vs the STREAM triad bandwidth
#    (../shared/bench/stream_triad.c, compiled and run here).
# 2. 1024 x 1024 float32 mx.nd.dot vs the GEMM ceiling
#    (../shared/bench/gemm_ceiling.c with OpenBLAS forced to SkylakeX kernels).
# 3. The cost of one small op called from R (1 x 1 arrays, 10,000 calls).
suppressPackageStartupMessages(library(mxnet))
args <- commandArgs(trailingOnly = TRUE)
reps <- if (length(args)) as.integer(args[[1]]) else 15L
shared <- normalizePath(file.path("..", "shared", "bench"), mustWork = FALSE)
if (!dir.exists(shared)) shared <- "/work/shared/bench"

# Median over `reps` samples of the time of one call; each sample times a
# block of calls lasting at least ~50 ms (system.time resolves 1 ms).
median_time <- function(f, reps) {
  f()                                   # warm-up
  t1 <- system.time(f(), gcFirst = FALSE)[["elapsed"]]
  k <- max(1L, as.integer(ceiling(0.05 / max(t1, 1e-4))))
  t <- numeric(reps)
  for (i in seq_len(reps))
    t[i] <- system.time(for (j in seq_len(k)) f(), gcFirst = FALSE)[["elapsed"]] / k
  median(t)
}
# Wall time of n calls, timed in one block (system.time resolution is 1 ms).
per_call_us <- function(f, n) {
  for (i in 1:200) f()
  t <- system.time(for (i in seq_len(n)) f(), gcFirst = TRUE)[["elapsed"]]
  t / n * 1e6
}

tmp <- tempfile("mxbench")
dir.create(tmp)
cc <- function(src, out, flags) {
  st <- system2("gcc", c(flags, "-o", file.path(tmp, out), file.path(shared, src), if (out == "gemm") c("-lopenblas", "-lm")),
                stdout = TRUE, stderr = TRUE)
  file.exists(file.path(tmp, out))
}

cat("# mxnet NDArray benchmark,", format(Sys.time(), "%Y-%m-%d %H:%M %Z"), "\n")
cat("# machine:", system("lscpu | sed -n 's/^Model name: *//p'", intern = TRUE), ",",
    parallel::detectCores(), "cores\n")
f <- mx.features()
cat("# build: oneDNN", f[["ONEDNN"]], "OpenMP", f[["OPENMP"]], "\n\n")

# ---- ceilings (measured now)
triad <- c(`1` = NA, `2` = NA)
if (cc("stream_triad.c", "stream", c("-O3", "-march=native", "-fopenmp"))) {
  out <- system2(file.path(tmp, "stream"), c("256", "6", "1", "2"), stdout = TRUE)
  for (l in grep("^triad", out, value = TRUE)) {
    p <- strsplit(trimws(l), " +")[[1]]
    triad[p[2]] <- as.numeric(p[4])
  }
}
gemm <- c(`1` = NA, `2` = NA)
if (cc("gemm_ceiling.c", "gemm", c("-O2"))) {
  out <- system2("env", c("-u", "OPENBLAS_L2_SIZE", "OPENBLAS_CORETYPE=SkylakeX",
                          file.path(tmp, "gemm"), "5", "0.3", "1", "2", "--", "1024"), stdout = TRUE)
  for (l in grep("^[12] ", out, value = TRUE)) {
    p <- strsplit(trimws(l), " +")[[1]]
    gemm[p[1]] <- as.numeric(p[5])
  }
}

A <- mx.runif(c(1024, 1024))
B <- mx.runif(c(1024, 1024))
O <- mx.nd.zeros(c(1024, 1024))
rows <- list()
# 1e7 elements (3 x 40 MB: resident in this machine's large L3) and 1e8
# (3 x 400 MB: DRAM-bound, comparable with the triad's 3 x 256 MiB arrays).
for (n in c(1e7, 1e8)) {
  a <- mx.runif(n)
  b <- mx.runif(n)
  o <- mx.nd.zeros(n)
  gb <- function(s) 12 * n / s / 1e9        # read a, read b, write out (STREAM counting)
  for (t in c(1L, 2L)) {
    options(mxnet.threads = t)
    r <- if (n == 1e8) max(3L, reps %/% 3L) else reps
    ta <- median_time(function() mx.nd.broadcast.add(a, b, out = o), r)
    tm <- median_time(function() mx.nd.broadcast.mul(a, b, out = o), r)
    tf <- if (n == 1e7) median_time(function() a + b, r) else NA
    td <- median_time(function() mx.nd.dot(A, B, out = O), reps)
    gf <- 2 * 1024^3 / td / 1e9
    tr <- triad[[as.character(t)]]
    gc0 <- gemm[[as.character(t)]]
    rows[[length(rows) + 1]] <- data.frame(
      elements = format(n, scientific = TRUE), threads = t,
      add_GBs = round(gb(ta), 1), mul_GBs = round(gb(tm), 1), add_fresh_GBs = round(gb(tf), 1),
      triad_GBs = tr, add_vs_triad = round(gb(ta) / tr, 2), mul_vs_triad = round(gb(tm) / tr, 2),
      dot_GFLOPs = round(gf, 1), gemm_ceiling_GFLOPs = gc0, dot_vs_ceiling = round(gf / gc0, 2))
  }
  rm(a, b, o); invisible(gc())
}
res <- do.call(rbind, rows)
cat("## add/multiply (float32, out= preallocated; add_fresh = `a + b`, a new array per call) and 1024^2 dot vs the machine's ceilings\n")
print(res, row.names = FALSE)

options(mxnet.threads = 2L)
x <- mx.nd.array(1)
y <- mx.nd.array(2)
z <- mx.nd.zeros(1)
calls <- 10000L
small <- data.frame(
  call = c("x + y (Ops dispatch)", "mx.nd.broadcast.add(x, y)", "mx.nd.broadcast.add(x, y, out = z)",
           "mx.nd.exp(x)", "as.array(x)", "base R: (function(a, b) a + b)(1, 2)"),
  us_per_call = round(c(
    per_call_us(function() x + y, calls),
    per_call_us(function() mx.nd.broadcast.add(x, y), calls),
    per_call_us(function() mx.nd.broadcast.add(x, y, out = z), calls),
    per_call_us(function() mx.nd.exp(x), calls),
    per_call_us(function() as.array(x), calls),
    per_call_us(function() (function(a, b) a + b)(1, 2), calls)), 2))
cat("\n## One small op from R (1x1 arrays, 10,000 calls)\n")
print(small, row.names = FALSE)
unlink(tmp, recursive = TRUE)
