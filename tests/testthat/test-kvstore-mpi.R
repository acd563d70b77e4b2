# Distributed kvstores under mpirun: each test starts an MPI job of R
# workers on this machine (loopback/shared memory) under a wall-clock limit.
# Skipped, with the reason printed, only when mpirun or the MPI build is
# missing (mpi_skip, run_mpi: helper-mpi.R).

test_that("dist_sync: ranks, sums, broadcast from rank 0 and a barrier across 2 and 4 workers", {
  mpi_skip()
  code <- "
kv <- mx.kv.create('dist_sync')
a <- mx.nd.array(c(1, 2, 3) * (RANK + 1))
kv$init('w', list(a))
init <- mx.nd.zeros(3); kv$pull('w', list(list(init)))
kv$push('w', list(list(a), list(a)))          # two devices per worker
s <- mx.nd.zeros(3); kv$pull('w', list(list(s)))
kv$barrier()
big <- mx.nd.array(rep(RANK + 1, 5e6))         # 20 MB: several buckets
.Call(mxnet:::C_mx_r_kv_allreduce, kv$handle, list(big, mx.nd.array(RANK, dtype = 'float64')))
result <- list(rank = kv$rank, n = kv$num.workers, init = as.array(init), sum = as.array(s),
               big = range(as.array(big)), a = as.array(a))"
  for (np in c(2L, 4L)) {
    r <- run_mpi(np, code)
    expect_job_ok(r)
    for (k in seq_len(np)) {
      x <- r$results[[k]]
      expect_identical(x$rank, k - 1L)
      expect_identical(x$n, np)
      expect_equal(x$init, c(1, 2, 3))                 # rank 0's value
      expect_equal(x$sum, c(1, 2, 3) * 2 * sum(seq_len(np)))
      expect_equal(x$big, rep(sum(seq_len(np)), 2))
      expect_equal(x$a, c(1, 2, 3) * k)                # the user's array untouched
    }
  }
})

# The bucket rule of src/kvstore/buckets.c, in R: arrays last to first; one of
# at least 512 KB gets ceiling(n / cap) buckets of its own; smaller ones fill
# packed buckets of cap elements, split where one fills.
bucket_count <- function(elems, cap, bytes = 4) {
  nb <- 0; room <- 0
  for (m in rev(elems)) {
    if (m * bytes >= 512 * 1024) { nb <- nb + ceiling(m / cap); room <- 0; next }
    while (m > 0) {
      if (room == 0) { nb <- nb + 1; room <- cap }
      k <- min(m, room); m <- m - k; room <- room - k
    }
  }
  nb
}

test_that("buckets: 2 MB on one host, the packing rule, and sums of every piece", {
  mpi_skip()
  elems <- c(100, 20000, 300000, 5000, 32768, 7)
  code <- sprintf("
kv <- mx.kv.create('dist_sync')
info0 <- .Call(mxnet:::C_mx_r_kv_info, kv$handle)
.Call(mxnet:::C_mx_r_kv_configure, kv$handle, NA_real_, 65536, NA)
xs <- lapply(c(%s), function(n) mx.nd.array(seq_len(n) * (RANK + 1)))
.Call(mxnet:::C_mx_r_kv_allreduce, kv$handle, xs)
result <- list(bytes = info0$bucket.bytes, local = .Call(mxnet:::C_mx_r_kv_info, mx.kv.create('local')$handle)$bucket.bytes,
               stats = .Call(mxnet:::C_mx_r_kv_info, kv$handle)$stats, ok = vapply(xs, function(x)
                 isTRUE(all.equal(as.array(x), seq_along(as.array(x)) * 3)), TRUE))", paste(elems, collapse = ", "))
  r <- run_mpi(2L, code)
  expect_job_ok(r)
  x <- r$results[[1]]
  expect_identical(x$bytes, 2 * 1048576)     # every worker on this host
  expect_identical(x$local, 16 * 1048576)
  expect_true(all(x$ok))
  expect_identical(bucket_count(elems, 16384), 24)
  expect_identical(x$stats[3], 24)            # one call: 19 in place + 5 packed
})

train_code <- function(bs, rounds = 20, extra = "", bn = FALSE) sprintf("
set.seed(100 + RANK); mx.set.seed(100 + RANK)      # different seeds on every worker
N <- 640
set.seed(5); x <- matrix(rnorm(12 * N), 12); y <- as.numeric(colSums(x[1:4, ]) > 0)
set.seed(100 + RANK)
data <- mx.symbol.Variable('data')
h <- mx.symbol.FullyConnected(data, num_hidden = 10, name = 'fc1')
if (%s) h <- mx.symbol.BatchNorm(h, name = 'bn')
h <- mx.symbol.Activation(h, act_type = 'relu')
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(h, num_hidden = 2, name = 'fc2'), name = 'softmax')
acc <- numeric(0)
cb <- function(iteration, nbatch, env, verbose) { acc[iteration] <<- env$metric$get(env$train.metric)$value; TRUE }
%s
if (RANK == 0L) set.seed(11)
m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = %d, array.batch.size = %d,
  learning.rate = 0.05, momentum = 0.9, initializer = mx.init.Xavier(), eval.metric = mx.metric.accuracy,
  kvstore = 'dist_sync', epoch.end.callback = cb, verbose = FALSE)
result <- list(arg = lapply(m$arg.params, as.array), aux = lapply(m$aux.params, as.array), acc = acc)", bn, extra, rounds, bs)

test_that("1 x 128, 2 x 64 and 4 x 32 workers train the same model; workers stay identical", {
  mpi_skip()
  # 640 examples / 128 = 5 steps per epoch, 4 epochs = 20 steps
  runs <- lapply(c(1L, 2L, 4L), function(np) {
    r <- run_mpi(np, train_code(128L %/% np, rounds = 4))
    expect_job_ok(r)
    r$results
  })
  ref <- runs[[1]][[1]]
  expect_true(all(diff(ref$acc) >= -0.05))
  for (res in runs[-1]) {
    for (k in seq_along(res)) {
      # bit-identical across workers
      expect_identical(res[[k]]$arg, res[[1]]$arg)
      expect_identical(res[[k]]$aux, res[[1]]$aux)
    }
    for (n in names(ref$arg)) expect_equal(res[[1]]$arg[[n]], ref$arg[[n]], tolerance = 1e-5)
    expect_equal(res[[1]]$acc, ref$acc, tolerance = 1e-6)
  }
})

test_that("with BatchNorm, the workers' statistics are averaged and stay identical", {
  mpi_skip()
  r <- run_mpi(2L, train_code(32L, rounds = 2, bn = TRUE))
  expect_job_ok(r)
  expect_identical(r$results[[2]]$aux, r$results[[1]]$aux)
  expect_identical(r$results[[2]]$arg, r$results[[1]]$arg)
  expect_setequal(names(r$results[[1]]$aux), c("bn_moving_mean", "bn_moving_var"))
  expect_true(all(r$results[[1]]$aux$bn_moving_var > 0))
})

test_that("a bfloat16 net trains across workers: half gradients summed, master copies kept alike", {
  mpi_skip()
  code <- "
set.seed(5); N <- 640; x <- matrix(rnorm(12 * N), 12); y <- as.numeric(colSums(x[1:4, ]) > 0)
d <- mx.symbol.Cast(mx.symbol.Variable('data'), dtype = 'bfloat16')
h <- mx.symbol.Activation(mx.symbol.BatchNorm(mx.symbol.FullyConnected(d, num_hidden = 10, name = 'fc1'),
                                              name = 'bn'), act_type = 'relu')
o <- mx.symbol.Cast(mx.symbol.FullyConnected(h, num_hidden = 2, name = 'fc2'), dtype = 'float32')
net <- mx.symbol.SoftmaxOutput(o, name = 'softmax')
acc <- numeric(0)
cb <- function(iteration, nbatch, env, verbose) { acc[iteration] <<- env$metric$get(env$train.metric)$value; TRUE }
set.seed(100 + RANK); mx.set.seed(100 + RANK)
m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 4, array.batch.size = 32,
  learning.rate = 0.05, momentum = 0.9, initializer = mx.init.Xavier(), eval.metric = mx.metric.accuracy,
  kvstore = 'dist_sync', epoch.end.callback = cb, verbose = FALSE)
result <- list(arg = lapply(m$arg.params, as.array), dtype = vapply(m$arg.params, mx.nd.dtype, ''),
               aux = lapply(m$aux.params, as.array), acc = acc)"
  r <- run_mpi(2L, code)
  expect_job_ok(r)
  res <- r$results
  expect_identical(res[[1]]$dtype[c("fc1_weight", "fc2_bias", "bn_gamma")],
                   c(fc1_weight = "bfloat16", fc2_bias = "bfloat16", bn_gamma = "float32"))
  expect_identical(res[[2]]$arg, res[[1]]$arg)   # the same summed gradients, the same masters
  expect_identical(res[[2]]$aux, res[[1]]$aux)
  expect_gt(res[[1]]$acc[4], 0.85)
})

test_that("rank 0 alone writes checkpoints, and an early stop on rank 0 stops every worker", {
  mpi_skip()
  dir <- tempfile("ckpt")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  extra <- sprintf("
ck <- mx.callback.save.checkpoint(file.path(%s, sprintf('model-r%%d', RANK)))
cb <- function(iteration, nbatch, env, verbose) {
  ck(iteration, nbatch, env, verbose)
  acc[iteration] <<- 1
  !(RANK == 0L && iteration == 2L)       # only rank 0 asks to stop, after epoch 2
}", deparse(dir))
  r <- run_mpi(2L, train_code(32L, rounds = 6, extra))
  expect_job_ok(r)
  expect_equal(length(r$results[[1]]$acc), 2L)
  expect_equal(length(r$results[[2]]$acc), 2L)
  files <- list.files(dir)
  expect_setequal(files, c("model-r0-symbol.json", "model-r0-0001.params", "model-r0-0002.params"))
  m <- mx.model.load(file.path(dir, "model-r0"), 2)
  expect_equal(lapply(m$arg.params, as.array), r$results[[1]]$arg, tolerance = 1e-6)
})

fault_code <- function(fault) sprintf("
options(mxnet.dist.timeout = 4)
x <- matrix(rnorm(4 * 400), 4); y <- as.numeric(x[1, ] > 0)
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 2), name = 'softmax')
cb <- function(iteration, nbatch, env, verbose) {
  if (RANK == 1L && iteration == 2L && nbatch == 3L) { %s }
  TRUE
}
m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 1000, array.batch.size = 10,
  learning.rate = 0.01, kvstore = 'dist_sync', batch.end.callback = cb, verbose = FALSE)", fault)

fault_check <- function(fault, bound, pattern) {
  r <- run_mpi(2L, fault_code(fault), timeout = 60)
  expect_false(identical(r$status, 0L))
  expect_lt(r$seconds, bound)
  expect_match(r$output, pattern)
  Sys.sleep(0.5)
  # "[/]tmp/..." matches the workers' command lines but not pgrep's own shell
  pat <- paste0("[", substr(r$dir, 1, 1), "]", substring(r$dir, 2))
  left <- suppressWarnings(system2("pgrep", c("-f", shQuote(pat)), stdout = TRUE))
  expect_length(left, 0L)
}

test_that("a worker's R error ends the job, naming the worker", {
  mpi_skip()
  fault_check("stop('deliberate failure')", 20, "worker 1 of 2.*deliberate failure")
})

test_that("a killed worker ends the job", {
  mpi_skip()
  fault_check("tools::pskill(Sys.getpid(), tools::SIGKILL)", 20, "signal 9|killed|exited")
})

test_that("a stuck worker ends the job at the collective's deadline", {
  mpi_skip()
  fault_check("Sys.sleep(600)", 25, "timed out after [0-9.]+ s")
})

test_that("dist_sync_device stages device arrays through host memory (fake GPUs)", {
  mpi_skip()
  r <- run_mpi(2L, "
kv <- mx.kv.create('dist_sync_device')
g <- list(mx.nd.array(c(1, 2) * (RANK + 1), mx.gpu(0)), mx.nd.array(c(5, 5) * (RANK + 1), mx.gpu(1)))
kv$init(0, list(mx.nd.zeros(2, mx.gpu(0))))
kv$push(0, list(list(g[[1]]), list(g[[2]])))
o <- mx.nd.zeros(2, mx.gpu(1)); kv$pull(0, list(list(o)))
h <- mx.nd.array(rep(RANK + 1, 10), mx.gpu(0), dtype = 'float16')
.Call(mxnet:::C_mx_r_kv_allreduce, kv$handle, list(h))
result <- list(sum = as.array(o), half = as.array(h), type = kv$type)",
    env = "MXNET_FAKE_GPU=1")
  expect_job_ok(r)
  for (x in r$results) {
    expect_equal(x$sum, (c(1, 2) + c(5, 5)) * 3)
    expect_equal(x$half, rep(3, 10))
    expect_identical(x$type, "dist_sync_device")
  }
})

test_that("dist_sync_device: when one worker cannot set up or join the GPU collective, all stage through the host", {
  # fail:1, worker 1's join fails; notready:1, worker 1 cannot join, and
  # since a real join (ncclCommInitRank) waits for every worker, they all say
  # whether they can join first (the fake errs on any join then)
  mpi_skip()
  code <- "
kv <- mx.kv.create('dist_sync_device')
a <- mx.nd.array(c(1, 2, 3) * (RANK + 1), mx.gpu(0))
.Call(mxnet:::C_mx_r_kv_allreduce, kv$handle, list(a))
.Call(mxnet:::C_mx_r_kv_allreduce, kv$handle, list(a))
result <- list(a = as.array(a), coll = .Call(mxnet:::C_mx_r_kv_info, kv$handle)$stats[5])"
  why <- c("fail:1" = "worker 1 cannot join", "notready:1" = "worker 1 is not ready")
  for (knob in names(why)) {
    r <- run_mpi(2L, code, env = c("MXNET_FAKE_GPU=1", paste0("MXNET_FAKE_GPU_RANKS=", knob)))
    expect_job_ok(r)
    for (x in r$results) {
      expect_equal(x$a, c(1, 2, 3) * 3 * 2, info = knob)   # summed twice over 2 workers: x (1 + 2), then x 2
      expect_equal(x$coll, 0, info = knob)
    }
    expect_match(r$output, paste("stages gradients through host memory: fake GPUs:", why[[knob]]))
    expect_no_match(r$output, "joined although")
  }
})

test_that("fp16 compression of the allreduce keeps sums to half precision", {
  mpi_skip()
  r <- run_mpi(2L, "
kv <- mx.kv.create('dist_sync')
.Call(mxnet:::C_mx_r_kv_configure, kv$handle, NA_real_, 4096, TRUE)
v <- seq(-2, 2, length.out = 3000) * (RANK + 1)
a <- mx.nd.array(v)
.Call(mxnet:::C_mx_r_kv_allreduce, kv$handle, list(a))
result <- list(a = as.array(a), stats = .Call(mxnet:::C_mx_r_kv_info, kv$handle)$stats)")
  expect_job_ok(r)
  want <- seq(-2, 2, length.out = 3000) * 3
  expect_equal(r$results[[1]]$a, want, tolerance = 2e-3)
  expect_identical(r$results[[1]]$a, r$results[[2]]$a)
  expect_gte(r$results[[1]]$stats[3], 2)    # 6000 bytes of halves in 4 KiB buckets
})

test_that("workers with unequal numbers of batches stop together", {
  mpi_skip()
  r <- run_mpi(2L, "
set.seed(1)
n <- if (RANK == 0L) 400 else 240                 # parts of 10 and 6 batches of 20
it <- mx.io.arrayiter(matrix(rnorm(3 * n), 3), as.numeric(runif(n) > 0.5), batch.size = 20,
                      num.parts = 2, part.index = RANK)
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 2, name = 'fc'), name = 'softmax')
steps <- 0
cb <- function(iteration, nbatch, env, verbose) { steps <<- steps + 1; TRUE }
m <- mx.model.FeedForward.create(net, X = it, num.round = 2, learning.rate = 0.1, kvstore = 'dist_sync',
  batch.end.callback = cb, verbose = FALSE)
result <- list(steps = steps, w = as.array(m$arg.params$fc_weight))", timeout = 60)
  expect_job_ok(r)
  expect_equal(r$results[[1]]$steps, 12)
  expect_equal(r$results[[2]]$steps, 12)
  expect_identical(r$results[[1]]$w, r$results[[2]]$w)
})

test_that("overlapping the allreduce with backward gives the same model", {
  mpi_skip()
  code <- function(ov) sprintf("
options(mxnet.dist.overlap = %s)
set.seed(3); x <- matrix(rnorm(30 * 384), 30); y <- as.numeric(colSums(x[1:4, ]) > 0)
data <- mx.symbol.Variable('data')
h <- mx.symbol.Activation(mx.symbol.FullyConnected(data, num_hidden = 300, name = 'fc1'), act_type = 'relu')
h <- mx.symbol.Activation(mx.symbol.FullyConnected(h, num_hidden = 600, name = 'fc2'), act_type = 'relu')
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(h, num_hidden = 2, name = 'fc3'), name = 'softmax')
kv <- mx.kv.create('dist_sync')
.Call(mxnet:::C_mx_r_kv_configure, kv$handle, NA_real_, 65536, NA)   # several buckets
m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 2, array.batch.size = 32,
  learning.rate = 0.05, momentum = 0.9, initializer = mx.init.Xavier(), kvstore = kv, verbose = FALSE)
ex <- mx.simple.bind(net, data = c(30, 8), softmax_label = 8, grad.req = 'write')
ovok <- !is.null(.Call(mxnet:::C_mx_r_kv_overlap_new, kv$handle, ex$ptr, unname(ex$ref.grad.arrays[c('fc1_weight', 'fc1_bias')])))
result <- list(arg = lapply(m$arg.params, as.array), stats = .Call(mxnet:::C_mx_r_kv_info, kv$handle)$stats,
               ovok = ovok)", ov)
  on <- run_mpi(2L, code("TRUE"))
  off <- run_mpi(2L, code("FALSE"))
  expect_job_ok(on)
  expect_job_ok(off)
  expect_true(on$results[[1]]$ovok)                  # this MPI allows the communication thread
  expect_identical(on$results[[1]]$arg, on$results[[2]]$arg)
  for (n in names(off$results[[1]]$arg))
    expect_equal(on$results[[1]]$arg[[n]], off$results[[1]]$arg[[n]], tolerance = 1e-6)
  # fc2's 720 KB weight is reduced in place; the rest is packed into 64 KB buckets
  expect_gt(on$results[[1]]$stats[3] / on$results[[1]]$stats[1], 3)
})

test_that("unsplit MNISTIter and CSVIter are split by rank like an explicitly split iterator", {
  mpi_skip()
  r <- run_mpi(2L, "
set.seed(5); n <- 256
px <- matrix(sample(0:255, 784 * n, TRUE), 784); lab <- sample(0:1, n, TRUE)
img <- file.path(OUT, sprintf('img%d', RANK)); lbl <- file.path(OUT, sprintf('lbl%d', RANK))
con <- file(img, 'wb'); writeBin(as.integer(c(2051, n, 28, 28)), con, size = 4, endian = 'big'); writeBin(as.raw(px), con); close(con)
con <- file(lbl, 'wb'); writeBin(as.integer(c(2049, n)), con, size = 4, endian = 'big'); writeBin(as.raw(lab), con); close(con)
csv <- file.path(OUT, sprintf('x%d.csv', RANK)); ycsv <- file.path(OUT, sprintf('y%d.csv', RANK))
write.table(t(px / 256), csv, sep = ',', row.names = FALSE, col.names = FALSE)
write.table(lab, ycsv, row.names = FALSE, col.names = FALSE)
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 2, name = 'fc'), name = 'softmax')
fit <- function(it) {
  mx.set.seed(1)
  m <- mx.model.FeedForward.create(net, X = it, num.round = 2, learning.rate = 0.1,
    initializer = mx.init.Xavier(), kvstore = 'dist_sync', verbose = FALSE)
  as.array(m$arg.params$fc_weight)
}
csv.it <- function(...) mx.io.CSVIter(data.csv = csv, data.shape = 784, label.csv = ycsv, batch.size = 32, ...)
result <- list(
  mnist = fit(mx.io.MNISTIter(image = img, label = lbl, batch.size = 32, shuffle = FALSE, flat = TRUE, silent = TRUE)),
  array = fit(mx.io.arrayiter(px / 256, lab, batch.size = 32, num.parts = 2, part.index = RANK)),
  csv = fit(csv.it()), csv.parts = fit(csv.it(num.parts = 2, part.index = RANK)))", timeout = 90)
  expect_job_ok(r)
  x <- r$results[[1]]
  expect_identical(x$mnist, r$results[[2]]$mnist)
  expect_equal(x$mnist, x$array, tolerance = 1e-6)
  expect_equal(x$csv, x$csv.parts, tolerance = 1e-6)
  expect_equal(x$csv, x$array, tolerance = 1e-5)      # CSV holds px / 256 as text
})

test_that("evaluation data is split between workers, each example counted once", {
  mpi_skip()
  r <- run_mpi(2L, "
set.seed(4); x <- matrix(rnorm(5 * 256), 5); y <- as.numeric(colSums(x[1:2, ]) > 0)
xe <- matrix(rnorm(5 * 101), 5); ye <- as.numeric(colSums(xe[1:2, ]) > 0)
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 2, name = 'fc'), name = 'softmax')
seen <- NULL
m <- mx.model.FeedForward.create(net, X = x, y = y, eval.data = list(data = xe, label = ye), num.round = 1,
  array.batch.size = 16, learning.rate = 0.1, initializer = mx.init.Xavier(), kvstore = 'dist_sync',
  eval.metric = mx.metric.accuracy, verbose = FALSE,
  epoch.end.callback = function(iteration, nbatch, env, verbose) { seen <<- env$eval.metric; TRUE })
p <- max.col(t(predict(m, xe, array.layout = 'colmajor'))) - 1
b <- ceiling(seq_len(101) / 16)                       # one process's batches of 16
result <- list(state = seen, batch.acc = tapply(p == ye, b, mean))", timeout = 60)
  expect_job_ok(r)
  for (k in 1:2) {   # MXNet's accuracy: the mean of batch means, over one process's 7 batches
    expect_equal(r$results[[k]]$state[1], 7)
    expect_equal(r$results[[k]]$state[2], sum(r$results[[k]]$batch.acc), tolerance = 1e-12)
  }
})

test_that("an unsplit array iterator given by the user is split by rank, in rank 0's order", {
  mpi_skip()
  code <- function(user) sprintf("
set.seed(3); x <- matrix(rnorm(6 * 256), 6); y <- as.numeric(colSums(x[1:2, ]) > 0)
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 2, name = 'fc'), name = 'softmax')
set.seed(11 + 7 * RANK)                                # only rank 0's draws count
X <- if (%s) mx.io.arrayiter(x, y, batch.size = 32, shuffle = TRUE) else x
m <- mx.model.FeedForward.create(net, X = X, y = y, num.round = 2, array.batch.size = 32,
  learning.rate = 0.1, initializer = mx.init.Xavier(), kvstore = 'dist_sync', verbose = FALSE)
result <- list(w = as.array(m$arg.params$fc_weight))", user)
  it <- run_mpi(2L, code("TRUE"))
  arr <- run_mpi(2L, code("FALSE"))
  expect_job_ok(it)
  expect_job_ok(arr)
  expect_identical(it$results[[1]]$w, it$results[[2]]$w)
  expect_equal(it$results[[1]]$w, arr$results[[1]]$w, tolerance = 1e-6)
  bad <- run_mpi(2L, "
x <- matrix(rnorm(3 * (100 + 20 * RANK)), 3)
it <- mx.io.arrayiter(x, as.numeric(x[1, ] > 0), batch.size = 10)
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 2), name = 'softmax')
m <- mx.model.FeedForward.create(net, X = it, num.round = 1, kvstore = 'dist_sync', verbose = FALSE)", timeout = 40)
  expect_false(identical(bad$status, 0L))
  expect_match(bad$output, "holds 120 examples, rank 0's 100")
})
