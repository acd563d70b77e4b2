# CSR training data and Embeddings in distributed training (kvstore =
# "dist_sync"): each worker trains on its part of every global batch, the
# split FullyConnected's or Embedding's row_sparse weight gradient is summed
# over the workers (R/model-sparse.R, model.split.allreduce), and the result
# is the single-process model.
# MPI jobs: helper-mpi.R.

# Worker code that counts the split gradients and their allreduces.
split_count_code <- "count <- new.env(); count$grads <- 0; count$sums <- 0
ns <- asNamespace('mxnet')
suppressMessages({
  trace(mxnet:::model.split.grads, bquote(assign('grads', .(count)$grads + 1, envir = .(count))), print = FALSE, where = ns)
  trace(mxnet:::model.split.allreduce, bquote(assign('sums', .(count)$sums + 1, envir = .(count))), print = FALSE, where = ns)
})"

# A worker's script: 96 examples of 30 features (the last 10 in no example),
# CSR; `np` workers share global batches of 24, each on the devices `ctx`.
# It counts the split gradients and their allreduces.
csr_dist_code <- function(np, opt, ctx = "mx.cpu()") sprintf("
N <- 96; F <- 30
set.seed(5)
dm <- matrix(rbinom(F * N, 1, 0.2) * runif(F * N), F, N)
dm[21:30, ] <- 0
y <- as.numeric(colSums(dm[1:10, ]) > 1)
X <- mx.nd.cast.storage(dm, 'csr')
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Activation(
  mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 6, name = 'fc1'), act_type = 'tanh'),
  num_hidden = 2, name = 'fc2'), name = 'sm')
%s
set.seed(3)
p0 <- mx.model.init.params(net, list(data = c(F, 4)), list(sm_label = 4), mx.init.uniform(0.3), mx.cpu())$arg.params
set.seed(100 + RANK)                     # different seeds on every worker
if (RANK == 0L) set.seed(11)             # rank 0's draws (the shuffle) win
m <- mx.model.FeedForward.create(net, X = X, y = y, ctx = %s, num.round = 3, array.batch.size = %d,
  arg.params = p0, kvstore = 'dist_sync', eval.data = list(data = X, label = y),
  eval.metric = mx.metric.accuracy, verbose = FALSE, %s)
result <- list(arg = lapply(m$arg.params, as.array), w0 = as.array(p0$fc1_weight), grads = count$grads,
               sums = count$sums, history = m$history)", split_count_code, ctx, 24L %/% np, opt)

# The same with an Embedding: 96 sequences of 6 tokens from a vocabulary of
# 50 (the last 10 in no sequence), Embedding (sparse_grad) -> FullyConnected.
emb_dist_code <- function(np, opt, ctx = "mx.cpu()") sprintf("
N <- 96; V <- 50
set.seed(5)
X <- matrix(sample(0:39, 6 * N, replace = TRUE), 6, N)
y <- as.numeric(colSums(X < 10) > 1)
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(
  mx.symbol.Embedding(mx.symbol.Variable('data'), input_dim = V, output_dim = 4, sparse_grad = TRUE,
                      name = 'emb')),
  num_hidden = 2, name = 'fc'), name = 'sm')
%s
set.seed(3)
p0 <- mx.model.init.params(net, list(data = c(6, 4)), list(sm_label = 4), mx.init.uniform(0.3), mx.cpu())$arg.params
set.seed(100 + RANK)
if (RANK == 0L) set.seed(11)
m <- mx.model.FeedForward.create(net, X = X, y = y, ctx = %s, num.round = 3, array.batch.size = %d,
  array.layout = 'colmajor', arg.params = p0, kvstore = 'dist_sync',
  eval.data = list(data = X, label = y), eval.metric = mx.metric.accuracy, verbose = FALSE, %s)
result <- list(arg = lapply(m$arg.params, as.array), w0 = as.array(p0$emb_weight), grads = count$grads,
               sums = count$sums, history = m$history)", split_count_code, ctx, 24L %/% np, opt)

csr_dist_check <- function(opt, ctx = "mx.cpu()", code = csr_dist_code) {
  runs <- lapply(c(1L, 2L), function(np) {
    r <- run_mpi(np, code(np, opt, if (np == 1L) "mx.cpu()" else ctx), timeout = 120)
    expect_job_ok(r)
    r$results
  })
  one <- runs[[1]][[1]]
  two <- runs[[2]]
  expect_equal(one$grads, 3 * 4)                        # one process: 3 epochs x 4 batches, split
  expect_equal(one$sums, 0)
  for (x in two) {
    expect_equal(x$grads, 3 * 4)                        # each worker: the split, 4 half batches an epoch
    expect_equal(x$sums, 3 * 4)
    expect_identical(x$arg, two[[1]]$arg)               # the workers stay identical
  }
  for (w in names(one$arg)) expect_equal(two[[1]]$arg[[w]], one$arg[[w]], tolerance = 1e-5, info = w)
  expect_equal(two[[1]]$history$validation, one$history$validation, tolerance = 1e-6)
  one
}

test_that("dist_sync with CSR data: 2 workers train the single-process model (sgd with momentum)", {
  mpi_skip()
  one <- csr_dist_check("learning.rate = 0.3, momentum = 0.9")
  expect_gt(max(one$history$train), 0.8)
  # two devices on each worker: the devices' slices, then the workers' sum
  csr_dist_check("learning.rate = 0.3, momentum = 0.9", "list(mx.cpu(0), mx.cpu(1))")
})

test_that("dist_sync with CSR data: 2 workers train the single-process model (adam, lazily)", {
  mpi_skip()
  one <- csr_dist_check("optimizer = 'adam', learning.rate = 0.05, wd = 0.01")
  # Adam with weight decay moves every row it touches: the features no example holds keep
  # their initial weights, the others move
  expect_equal(dim(one$arg$fc1_weight), c(30L, 6L))
  expect_equal(one$arg$fc1_weight[21:30, ], one$w0[21:30, ], tolerance = 1e-7)
  expect_gt(min(apply(abs(one$arg$fc1_weight[1:20, ] - one$w0[1:20, ]), 1, max)), 1e-4)
})

test_that("dist_sync with an Embedding: 2 workers train the single-process model, lazily", {
  mpi_skip()
  one <- csr_dist_check("learning.rate = 0.3, momentum = 0.9", code = emb_dist_code)
  expect_gt(max(one$history$train), 0.65)   # the majority class is 0.53
  csr_dist_check("learning.rate = 0.3, momentum = 0.9", "list(mx.cpu(0), mx.cpu(1))", code = emb_dist_code)
  one <- csr_dist_check("optimizer = 'adam', learning.rate = 0.05, wd = 0.01", code = emb_dist_code)
  # vocabulary entries 40-49 are in no sequence: their rows keep their initial weights (lazy
  # Adam with weight decay), the used ones move
  expect_equal(dim(one$arg$emb_weight), c(4L, 50L))
  expect_equal(one$arg$emb_weight[, 41:50], one$w0[, 41:50], tolerance = 1e-7)
  expect_gt(min(apply(abs(one$arg$emb_weight[, 1:40] - one$w0[, 1:40]), 2, max)), 1e-4)
})
