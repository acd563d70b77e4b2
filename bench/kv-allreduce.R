# Allreduce bandwidth inside the kvstore (run under mpirun by
# bench/dist-bench.sh): float32 arrays summed by C_mx_r_kv_allreduce, each
# call fenced by a barrier, time = max over ranks. Two layouts per size: one
# array (reduced in place) and the same bytes as 64 arrays (packed into
# buckets, as gradients are). Prints "layout size_mb best median".
suppressMessages(library(mxnet))
sizes <- as.numeric(commandArgs(TRUE))
kv <- mx.kv.create("dist_sync")
reps <- 15
time.one <- function(arrays) {
  t <- numeric(0)
  for (r in seq_len(reps + 2)) {
    kv$barrier()
    t0 <- as.numeric(Sys.time())
    .Call(mxnet:::C_mx_r_kv_allreduce, kv$handle, arrays)
    dt <- as.numeric(Sys.time()) - t0
    # max over ranks = sum of the others' zero and this one's time, per rank
    all <- .Call(mxnet:::C_mx_r_kv_allreduce_num, kv$handle, replace(numeric(kv$num.workers), kv$rank + 1, dt))
    if (r > 2) t <- c(t, max(all))
  }
  c(min(t), median(t))
}
for (mb in sizes) {
  n <- mb * 1048576 / 4
  one <- list(mx.nd.ones(n))
  many <- lapply(seq_len(64), function(i) mx.nd.ones(n / 64))
  r1 <- time.one(one)
  r2 <- time.one(many)
  if (kv$rank == 0) {
    cat(sprintf("one %g %.6f %.6f\n", mb, r1[1], r1[2]))
    cat(sprintf("packed64 %g %.6f %.6f\n", mb, r2[1], r2[2]))
  }
}
