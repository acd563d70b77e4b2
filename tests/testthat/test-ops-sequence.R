# SequenceMask, SequenceLast and SequenceReverse (src/ops/sequence.c)
# against R references, gradients against finite differences, errors, and
# use inside an executor. References index C-order arrays [t, b, r] (axis 0)
# or [b, t, r] (axis 1); these ops have no GPU kernel, so everything runs
# on explicit CPU contexts (with_cpu, helper-layers.R).

seq_inv <- function(op, ins, params) mxnet:::nd.invoke(op, ins, params)

# C-order (T, B, R) or (B, T, R) data; lens per batch entry
mask_ref <- function(x, lens, value, axis) {
  for (b in seq_along(lens)) {
    t <- seq_len(dim(x)[axis + 1L])
    t <- t[t > lens[b]]
    if (axis == 0) x[t, b, ] <- value else x[b, t, ] <- value
  }
  x
}
last_ref <- function(x, lens, axis)
  t(vapply(seq_along(lens), function(b) if (axis == 0) x[lens[b], b, ] else x[b, lens[b], ], numeric(dim(x)[3])))
reverse_ref <- function(x, lens) {
  y <- x
  for (b in seq_along(lens)) if (lens[b] > 0) y[seq_len(lens[b]), b, ] <- x[rev(seq_len(lens[b])), b, ]
  y
}

test_that("SequenceMask masks the steps past each length", { with_cpu({
  set.seed(1)
  for (dt in c("float32", "float64")) {
    x <- array(round(runif(5 * 3 * 2, -5, 5)), c(5, 3, 2))      # engine (T=5, B=3, 2)
    lens <- c(2, 5, 0)
    y <- seq_inv("SequenceMask", list(nd_c(x, dt), mx.nd.array(lens, ctx = mx.cpu())),
                 list(use_sequence_length = TRUE, value = -7))
    expect_nd_equal(y, cp(mask_ref(x, lens, -7, 0)), dtype = dt)
    xb <- aperm(x, c(2, 1, 3))                                   # engine (B, T, 2), axis 1
    y <- seq_inv("SequenceMask", list(nd_c(xb, dt), mx.nd.array(lens, ctx = mx.cpu(), dtype = "int32")),
                 list(use_sequence_length = TRUE, axis = 1))
    expect_nd_equal(y, cp(mask_ref(xb, lens, 0, 1)), dtype = dt)
    # without lengths: the identity
    expect_nd_equal(seq_inv("SequenceMask", list(nd_c(x, dt)), NULL), cp(x), dtype = dt)
  }
}) })

test_that("SequenceLast picks the last valid step", { with_cpu({
  set.seed(2)
  x <- array(runif(4 * 3 * 2), c(4, 3, 2)); lens <- c(1, 4, 3)
  y <- seq_inv("SequenceLast", list(nd_c(x), mx.nd.array(lens, ctx = mx.cpu())), list(use_sequence_length = TRUE))
  expect_nd_equal(y, cp(last_ref(x, lens, 0)))
  xb <- aperm(x, c(2, 1, 3))
  y <- seq_inv("SequenceLast", list(nd_c(xb), mx.nd.array(lens, ctx = mx.cpu())),
               list(use_sequence_length = TRUE, axis = 1))
  expect_nd_equal(y, cp(last_ref(xb, lens, 1)))
  expect_nd_equal(seq_inv("SequenceLast", list(nd_c(x)), NULL), cp(x[4, , ]))
  # 2-d data (T, B): the output is (B)
  x2 <- matrix(1:12, 4, 3)
  expect_nd_equal(seq_inv("SequenceLast", list(nd_c(x2), mx.nd.array(c(2, 1, 4), ctx = mx.cpu())),
                          list(use_sequence_length = TRUE)), c(2, 5, 12))
}) })

test_that("SequenceReverse reverses the first length steps", { with_cpu({
  set.seed(3)
  x <- array(runif(5 * 3 * 2), c(5, 3, 2)); lens <- c(3, 5, 0)
  y <- seq_inv("SequenceReverse", list(nd_c(x), mx.nd.array(lens, ctx = mx.cpu())), list(use_sequence_length = TRUE))
  expect_nd_equal(y, cp(reverse_ref(x, lens)))
  expect_nd_equal(seq_inv("SequenceReverse", list(nd_c(x, "float32")), NULL), cp(x[5:1, , ]), dtype = "float32")
}) })

test_that("the sequence ops have correct gradients", { with_cpu({
  set.seed(4)
  x <- array(runif(3 * 4 * 5, -1, 1), c(3, 4, 5))                # engine (T=5, B=4, 3)
  lens <- c(2, 5, 1, 4)
  check_grad("SequenceMask", list(x, lens), list(use_sequence_length = TRUE, value = 2), wrt = 1)
  check_grad("SequenceMask", list(aperm(x, c(1, 3, 2)), lens), list(use_sequence_length = TRUE, axis = 1),
             wrt = 1, label = "SequenceMask axis 1")
  check_grad("SequenceLast", list(x, lens), list(use_sequence_length = TRUE), wrt = 1)
  check_grad("SequenceLast", list(aperm(x, c(1, 3, 2)), lens), list(use_sequence_length = TRUE, axis = 1),
             wrt = 1, label = "SequenceLast axis 1")
  check_grad("SequenceReverse", list(x, lens), list(use_sequence_length = TRUE), wrt = 1)
  g <- check_grad("SequenceReverse", list(x), NULL)
  expect_equal(dim(g[[1]]), dim(x))
}) })

test_that("bad lengths and parameters are classed errors", { with_cpu({
  x <- nd_c(array(0, c(4, 3, 2)))
  e <- function(op, ins, params) expect_error(seq_inv(op, ins, params), class = "mxnet_error")
  e("SequenceMask", list(x, mx.nd.array(c(1, 5, 2), ctx = mx.cpu())), list(use_sequence_length = TRUE))
  e("SequenceMask", list(x, mx.nd.array(c(1, -1, 2), ctx = mx.cpu())), list(use_sequence_length = TRUE))
  e("SequenceMask", list(x, mx.nd.array(c(1, 2), ctx = mx.cpu())), list(use_sequence_length = TRUE))
  e("SequenceMask", list(x), list(axis = 2))
  e("SequenceLast", list(x, mx.nd.array(c(1, 0, 2), ctx = mx.cpu())), list(use_sequence_length = TRUE))
  e("SequenceReverse", list(x), list(axis = 1))
  e("SequenceLast", list(nd_c(1:4)), NULL)
  expect_error(seq_inv("SequenceMask", list(x, mx.nd.array(c(NaN, 1, 1), ctx = mx.cpu())),
                       list(use_sequence_length = TRUE)), "sequence_length\\[1\\]", class = "mxnet_error")
}) })

test_that("the sequence ops work in an executor with an inferred length shape", { with_cpu({
  data <- mx.symbol.Variable("data"); len <- mx.symbol.Variable("len")
  net <- mx.symbol.SequenceReverse(data, len, use_sequence_length = TRUE)
  net <- mx.symbol.SequenceMask(net, len, use_sequence_length = TRUE, value = 0)
  net <- mx.symbol.SequenceLast(net, len, use_sequence_length = TRUE, name = "last")
  expect_equal(arguments(net), c("data", "len"))
  sh <- mx.symbol.infer.shape(net, data = c(2, 3, 4))            # engine (T=4, B=3, 2)
  expect_equal(sh$arg.shapes$len, 3)
  expect_equal(sh$out.shapes[[1]], c(2, 3))
  ex <- mx.simple.bind(net, ctx = mx.cpu(), data = c(2, 3, 4), grad.req = c(data = "write", len = "null"))
  x <- array(runif(24), c(2, 3, 4)); lens <- c(4, 2, 1)
  mx.exec.update.arg.arrays(ex, list(data = mx.nd.array(x, ctx = mx.cpu()), len = mx.nd.array(lens, ctx = mx.cpu())),
                            match.name = TRUE)
  mx.exec.forward(ex, is.train = TRUE)
  # reversed then last valid step = the first step of every sequence
  expect_nd_equal(ex$ref.outputs[[1]], x[, , 1], tolerance = 1e-6)
  mx.exec.backward(ex, mx.nd.ones(c(2, 3), ctx = mx.cpu()))
  g <- as.array(ex$ref.grad.arrays$data)
  expect_equal(g[, , 1], matrix(1, 2, 3))
  expect_equal(sum(g), 6)
  expect_true(exists("mx.symbol.SequenceMask") && exists("mx.nd.SequenceLast") && exists("mx.nd.SequenceReverse"))
}) })

# ------------------------------------------------------------------ CTCLoss

# -log p(label | x) by enumerating every path (x: T x A activations)
ctc_brute <- function(x, lab, blank) {
  if (nrow(x) == 0) return(if (length(lab)) Inf else 0)
  pr <- exp(x - apply(x, 1, max)); pr <- pr / rowSums(pr)
  paths <- as.matrix(expand.grid(rep(list(seq_len(ncol(x)) - 1), nrow(x))))
  keep <- apply(paths, 1, function(p) {
    p <- p[c(TRUE, diff(p) != 0)]
    p <- p[p != blank]
    length(p) == length(lab) && all(p == lab)
  })
  tot <- sum(apply(paths[keep, , drop = FALSE], 1, function(p) prod(pr[cbind(seq_along(p), p + 1)])))
  -log(tot)
}

test_that("CTCLoss equals -log p(label) over every alignment", { with_cpu({
  set.seed(5)
  T <- 4; N <- 3; A <- 3
  x <- array(rnorm(T * N * A), c(T, N, A))                      # C order (T, N, A)
  # blank first: labels 1..A-1, padded with 0
  lab <- rbind(c(1, 2, 0), c(2, 2, 0), c(1, 0, 0))
  want <- vapply(1:N, function(n) ctc_brute(x[, n, ], lab[n, lab[n, ] != 0], 0), 0)
  for (dt in c("float32", "float64")) {
    l <- mxnet:::nd.invoke("CTCLoss", list(nd_c(x, dt), nd_c(lab, dt)), NULL)
    expect_nd_equal(l, want, tolerance = if (dt == "float32") 1e-5 else 1e-10, dtype = dt)
  }
  # blank last: labels 0..A-2, padded with -1; lengths given as inputs
  lab2 <- rbind(c(0, 1, -1), c(1, -1, -1), c(0, 0, 1))
  want2 <- vapply(1:N, function(n) ctc_brute(x[, n, ], lab2[n, lab2[n, ] >= 0], A - 1), 0)
  expect_nd_equal(mx.nd.ctc.loss(nd_c(x), nd_c(lab2), blank_label = "last"), want2, tolerance = 1e-10)
  dl <- c(4, 3, 2); ll <- c(2, 1, 1)
  want3 <- vapply(1:N, function(n) ctc_brute(x[seq_len(dl[n]), n, , drop = FALSE][, 1, ], lab2[n, seq_len(ll[n])], A - 1), 0)
  l3 <- mxnet:::nd.invoke("CTCLoss", list(nd_c(x), nd_c(lab2), nd_c(dl), nd_c(ll)),
                          list(use_data_lengths = TRUE, use_label_lengths = TRUE, blank_label = "last"))
  expect_nd_equal(l3, want3, tolerance = 1e-10)
  # a label longer than the data can emit: infinite loss
  l4 <- mxnet:::nd.invoke("CTCLoss", list(nd_c(x[1:2, , , drop = FALSE]), nd_c(rbind(c(1, 1, 2), c(1, 0, 0), c(2, 0, 0)))), NULL)
  expect_equal(as.array(l4)[1], Inf)
}) })

test_that("CTCLoss has correct gradients and rejects bad labels", { with_cpu({
  set.seed(6)
  x <- array(rnorm(4 * 2 * 5), c(4, 2, 5))                      # R order: alphabet 4, batch 2, T 5
  lab <- matrix(c(1, 3, 3, 2, 0, 0), 3)                         # R order (L 3, batch 2)
  check_grad("CTCLoss", list(x, lab), NULL, wrt = 1)
  check_grad("CTCLoss", list(x, lab, c(5, 3)), list(use_data_lengths = TRUE), wrt = 1, label = "data lengths")
  e <- function(ins, params) expect_error(mxnet:::nd.invoke("CTCLoss", lapply(ins, nd_c), params), class = "mxnet_error")
  xc <- array(0, c(3, 2, 4))
  e(list(xc, rbind(c(1, 4), c(1, 0))), NULL)                    # 4 is not a symbol of a 4-symbol alphabet... blank first
  e(list(xc, rbind(c(1, 3), c(1, 0))), list(blank_label = "last"))   # 3 is the blank
  e(list(xc, rbind(c(1, 2), c(1, 0)), c(3, 5)), list(use_data_lengths = TRUE))
  e(list(xc, rbind(c(1, 2), c(1, 0)), c(3, -1)), list(use_label_lengths = TRUE))
  e(list(array(0, c(3, 2)), rbind(c(1, 2), c(1, 0))), NULL)
  e(list(xc, rbind(c(1, 2), c(1, 0), c(1, 1))), NULL)
  expect_true(exists("mx.symbol.CTCLoss") && exists("mx.symbol.ctc_loss"))
}) })

test_that("CTCLoss trains inside MakeLoss in an executor", { with_cpu({
  set.seed(7)
  data <- mx.symbol.Variable("data"); label <- mx.symbol.Variable("label")
  h <- mx.symbol.FullyConnected(data, num_hidden = 4, flatten = FALSE, name = "proj")
  loss <- mx.symbol.MakeLoss(mx.symbol.CTCLoss(h, label, name = "ctc"))
  ex <- mx.simple.bind(loss, ctx = mx.cpu(), data = c(3, 2, 6), label = c(2, 2), grad.req = "write")
  x <- array(rnorm(36), c(3, 2, 6)); y <- matrix(c(1, 2, 3, 3), 2)
  w <- mx.nd.array(array(rnorm(12, sd = 0.1), c(3, 4)), ctx = mx.cpu())
  losses <- numeric(0)
  for (i in 1:30) {
    mx.exec.update.arg.arrays(ex, list(data = mx.nd.array(x, ctx = mx.cpu()), label = mx.nd.array(y, ctx = mx.cpu()),
                                       proj_weight = w, proj_bias = mx.nd.zeros(4, ctx = mx.cpu())), match.name = TRUE)
    mx.exec.forward(ex, is.train = TRUE)
    losses <- c(losses, sum(as.array(ex$ref.outputs[[1]])))
    mx.exec.backward(ex)
    w <- w - 0.1 * ex$ref.grad.arrays$proj_weight
  }
  expect_lt(losses[30], losses[1] * 0.5)
}) })
