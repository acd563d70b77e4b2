# The kvstore in one process (local types, MXNet's API) and multi-device
# training; test-kvstore-mpi.R runs the distributed types under mpirun.

test_that("MXNet's basic_kvstore demo gives the sum over three devices", {
  kv <- mx.kv.create()
  dlist <- lapply(1:3, function(i) list(x = mx.nd.array(c(i, i + 1), mx.cpu(i))))
  kv$init(c(0), dlist[[1]])
  kv$push(c(0), dlist, 0)
  kv$pull(c(0), dlist, 0)
  for (d in dlist) expect_equal(as.array(d[[1]]), c(6, 9))
  expect_identical(kv$type, "local")
  expect_identical(kv$rank, 0L)
  expect_identical(kv$num.workers, 1L)
  expect_true(kv$update.on.kvstore)
  expect_false(mx.kv.create("local_allreduce_cpu")$update.on.kvstore)
  expect_output(print(kv), "MXKVStore \"local\"")
})

test_that("several keys and an optimizer on the store: pushes are gradients", {
  kv <- mx.kv.create("local")
  w <- list(mx.nd.array(c(1, 2, 3)), mx.nd.array(matrix(1, 2, 2)))
  kv$init(c(3, 7), w)
  expect_equal(as.array(w[[1]]), c(1, 2, 3))     # init copies, the values stay the user's
  kv$set.optimizer(mx.opt.create("sgd", learning.rate = 0.5))
  g <- lapply(1:2, function(i) list(mx.nd.array(c(1, 1, 1) * i), mx.nd.array(matrix(i, 2, 2))))
  kv$push(c(3, 7), g)
  out <- list(list(mx.nd.zeros(3), mx.nd.zeros(c(2, 2))))
  kv$pull(c(3, 7), out)
  expect_equal(as.array(out[[1]][[1]]), c(1, 2, 3) - 0.5 * 3)
  expect_equal(as.array(out[[1]][[2]]), matrix(1 - 0.5 * 3, 2, 2))
  # one device's list may be given bare; string keys work too
  kv2 <- mx.kv.create()
  kv2$init("w", list(mx.nd.array(1:4)))
  kv2$push("w", list(mx.nd.array(c(1, 1, 1, 1))))
  o <- mx.nd.zeros(4)
  kv2$pull("w", list(o))
  expect_equal(as.array(o), c(1, 1, 1, 1))
})

test_that("bad kvstore types and calls give classed errors", {
  expect_error(mx.kv.create("bogus"), class = "mxnet_value_error")
  expect_error(mx.kv.create("dist_async"), "parameter-server", class = "mxnet_unsupported_error")
  expect_error(mx.kv.create(3), class = "mxnet_value_error")
  kv <- mx.kv.create()
  expect_error(kv$push(1, list(list(mx.nd.ones(2)))), "not initialised", class = "mxnet_value_error")
  kv$init(1, list(mx.nd.ones(2)))
  expect_error(kv$push(1, list(list(mx.nd.ones(3)))), class = "mxnet_shape_error")
  expect_error(kv$push(1, list(list(1, 2))), class = "mxnet_value_error")
  expect_error(kv$push(c(1, 2), list(list(mx.nd.ones(2)))), class = "mxnet_value_error")
  expect_error(kv$init(1.5, list(mx.nd.ones(2))), class = "mxnet_value_error")
  expect_error(kv$set.optimizer("sgd"), class = "mxnet_value_error")
})

test_that("a dist_sync store outside mpirun is one worker", {
  skip_if(nzchar(Sys.getenv("OMPI_COMM_WORLD_SIZE")), "running under mpirun")
  kv <- mx.kv.create("dist_sync")
  expect_identical(kv$num.workers, 1L)
  expect_identical(kv$rank, 0L)
  a <- mx.nd.array(c(1, 2))
  kv$init(0, list(a))
  kv$push(0, list(list(a), list(a)))
  kv$pull(0, list(list(a)))
  expect_equal(as.array(a), c(2, 4))
  expect_silent(kv$barrier())
  expect_output(print(kv), "one worker: not started by mpirun")
})

test_that("the kvstore argument of FeedForward.create is honoured (W11)", {
  x <- matrix(rnorm(40), 2)
  y <- as.numeric(x[1, ] > 0)
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2),
                                 name = "softmax")
  expect_error(mx.model.FeedForward.create(net, X = x, y = y, num.round = 1, array.batch.size = 10,
                                           kvstore = "bogus", verbose = FALSE),
               "unknown kvstore type", class = "mxnet_value_error")
  expect_error(mx.model.FeedForward.create(net, X = x, y = y, num.round = 1, array.batch.size = 10,
                                           kvstore = "dist_async", verbose = FALSE),
               class = "mxnet_unsupported_error")
  expect_error(mx.model.FeedForward.create(net, X = x, y = y, num.round = 1, array.batch.size = 10,
                                           kvstore = NA, verbose = FALSE),
               class = "mxnet_value_error")
  kv <- mx.kv.create("local")
  m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 1, array.batch.size = 10,
                                   kvstore = kv, verbose = FALSE)
  expect_s3_class(m, "MXFeedForwardModel")
})

# the same training on one device and on two distinct devices (K7): the sum of
# the two halves' gradients is the whole batch's gradient
train_small <- function(ctx, kvstore = "local", seed = 3) {
  set.seed(seed)
  x <- matrix(rnorm(20 * 120), 20)
  y <- as.numeric(colSums(x[1:5, ]) > 0)
  data <- mx.symbol.Variable("data")
  h <- mx.symbol.Activation(mx.symbol.FullyConnected(data, num_hidden = 8, name = "fc1"), act_type = "tanh")
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(h, num_hidden = 2, name = "fc2"), name = "softmax")
  mx.model.FeedForward.create(net, X = x, y = y, ctx = ctx, num.round = 3, array.batch.size = 40,
                              learning.rate = 0.2, momentum = 0.9, initializer = mx.init.Xavier(),
                              kvstore = kvstore, verbose = FALSE)
}

test_that("training over two distinct CPU devices equals one device (K7)", {
  one <- train_small(mx.cpu(0))
  two <- train_small(list(mx.cpu(0), mx.cpu(1)))
  three <- train_small(list(mx.cpu(0), mx.cpu(1), mx.cpu(2)), kvstore = "local_allreduce_cpu")
  for (n in names(one$arg.params)) {
    expect_equal(as.array(two$arg.params[[n]]), as.array(one$arg.params[[n]]), tolerance = 1e-5)
    expect_equal(as.array(three$arg.params[[n]]), as.array(one$arg.params[[n]]), tolerance = 1e-5)
  }
})

test_that("a reduction sums arrays of any device into the first (C)", {
  a <- mx.nd.array(c(1, 2), mx.cpu(0))
  b <- mx.nd.array(c(10, 20), mx.cpu(1))
  d <- mx.nd.zeros(2)
  .Call(mxnet:::C_mx_r_kv_reduce, d, list(a, b, b))
  expect_equal(as.array(d), c(21, 42))
  .Call(mxnet:::C_mx_r_kv_reduce, a, list(a, b))
  expect_equal(as.array(a), c(11, 22))
  expect_error(.Call(mxnet:::C_mx_r_kv_reduce, b, list(a, b)), class = "mxnet_value_error")
  expect_error(.Call(mxnet:::C_mx_r_kv_reduce, d, list(mx.nd.ones(3))), class = "mxnet_shape_error")
})

test_that("arrayiter parts split every global batch between the workers", {
  x <- matrix(seq_len(2 * 24), 2)
  y <- seq_len(24) - 1
  seen <- function(p, r, bs) {
    it <- mx.io.arrayiter(x, y, batch.size = bs, num.parts = p, part.index = r)
    it$reset()
    out <- list()
    while (it$iter.next()) out[[length(out) + 1L]] <- as.array(it$value()$label)
    out
  }
  whole <- seen(1, 0, 8)
  halves <- list(seen(2, 0, 4), seen(2, 1, 4))
  expect_length(halves[[1]], 3)
  expect_length(halves[[2]], 3)
  for (k in 1:3) expect_equal(c(halves[[1]][[k]], halves[[2]][[k]]), whole[[k]])
  # uneven: 24 examples, 2 parts of 5 -> 3 global batches of 10, wrapping around
  odd <- list(seen(2, 0, 5), seen(2, 1, 5))
  expect_equal(lengths(odd), c(3L, 3L))
  expect_equal(sort(unique(unlist(odd))), y)
  expect_error(mx.io.arrayiter(x, y, num.parts = 2, part.index = 2), class = "mxnet_value_error")
  expect_error(mx.io.arrayiter(x, y, num.parts = 0), class = "mxnet_value_error")
})

test_that("mx.launch builds the mpirun command line and checks its arguments", {
  cmd <- mx.launch("train.R", n = 4, hosts = c("h1:2", "h2:2"), threads = 2, args = c("--epochs", "5"),
                   dry.run = TRUE)
  expect_match(cmd, "^mpirun -np 4 ")
  expect_match(cmd, "--hostfile ")
  expect_match(cmd, "oob_tcp_keepalive_time 5")
  expect_match(cmd, "OMP_NUM_THREADS=2")
  expect_match(cmd, "Rscript train.R --epochs 5$")
  expect_error(mx.launch("train.R", n = 0), class = "mxnet_value_error")
  expect_error(mx.launch("train.R", hosts = "h1;rm -rf /"), class = "mxnet_value_error")
  expect_error(mx.launch(tempfile(fileext = ".R")), class = "mxnet_io_error")
})

test_that("gradient compression: fp16 and none accepted, 2bit refused with the reason", {
  kv <- mx.kv.create()
  expect_silent(kv$set.gradient.compression(list(type = "fp16")))
  expect_silent(kv$set.gradient.compression(list(type = "none")))
  expect_error(kv$set.gradient.compression(list(type = "2bit")), "2-bit", class = "mxnet_unsupported_error")
  expect_error(kv$set.gradient.compression(list(type = "zip")), class = "mxnet_value_error")
})

test_that("CSVIter parts split the global batches like arrayiter", {
  f <- tempfile(fileext = ".csv")
  write.table(matrix(1:24, ncol = 1), f, sep = ",", row.names = FALSE, col.names = FALSE)
  on.exit(unlink(f))
  get <- function(...) as.vector(mx.io.extract(mx.io.CSVIter(data.csv = f, data.shape = 1, ...), "data"))
  whole <- get(batch.size = 8)
  p0 <- get(batch.size = 4, num.parts = 2, part.index = 0)
  p1 <- get(batch.size = 4, num.parts = 2, part.index = 1)
  expect_equal(c(rbind(matrix(p0, 4), matrix(p1, 4))), whole)
  expect_error(mx.io.CSVIter(data.csv = f, data.shape = 1, num.parts = 2, part.index = 5),
               class = "mxnet_value_error")
})
