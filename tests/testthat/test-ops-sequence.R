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
