# Gradients of the reductions (reduce.c) against finite differences, with
# axis lists, negative axes, keepdims and exclude; zeros in prod, NaN in the
# nan* ops, ties in max/min; float32 against float64; dtype errors.

fb <- function(op, ins, params = NULL, og) mxnet:::nd.forward.backward(op, ins, params, og)

# Engine-shape array (R dims reversed).
earr <- function(eshape, lo = -2, hi = 2) {
  v <- runif(prod(eshape), lo, hi)
  if (length(eshape) == 1L) array(v, eshape) else array(v, rev(eshape))
}

# Axis parameter variants (engine axes).
AXES <- list(list(), list(axis = 0), list(axis = 2), list(axis = -1), list(axis = c(0, 2)),
             list(axis = c(0, 1, 2)), list(axis = 1, keepdims = TRUE),
             list(axis = c(0, 2), keepdims = TRUE), list(axis = 1, exclude = TRUE),
             list(axis = c(-1, 0), exclude = TRUE, keepdims = TRUE), list(keepdims = TRUE))

test_that("sum, mean, nansum, prod, nanprod, max and min have correct gradients", {
  set.seed(201)
  for (op in c("sum", "mean", "nansum", "prod", "nanprod", "max", "min")) {
    for (pr in AXES) {
      x <- earr(c(2, 3, 4), 0.5, 2) * sample(c(-1, 1), 24, TRUE)
      check_grad(op, list(x), pr, label = paste(op, deparse(pr)))
    }
    # 4-d with two separate reduced blocks, and a 1-d input
    check_grad(op, list(earr(c(3, 2, 4, 2), 0.5, 1.5)), list(axis = c(0, 2)), label = paste(op, "4-d"))
    check_grad(op, list(earr(c(3, 2, 4, 2), 0.5, 1.5)), list(axis = c(1, 3), keepdims = TRUE),
               label = paste(op, "4-d keepdims"))
    check_grad(op, list(earr(5, 0.5, 1.5)), NULL, label = paste(op, "1-d"))
  }
  check_grad("sum_axis", list(earr(c(3, 4))), list(axis = 1))
  check_grad("max_axis", list(earr(c(3, 4))), list(axis = 0))
  check_grad("min_axis", list(earr(c(3, 4))), list(axis = -2, keepdims = TRUE))
})

test_that("sum and mean over long axes (chunked forward) have correct gradients", {
  set.seed(202)
  x <- earr(c(3, 20000))
  g <- fb("mean", list(mx.nd.array(x, dtype = "float64")), list(axis = 1),
          list(mx.nd.array(c(1, 2, 3), dtype = "float64")))$grads[[1]]
  expect_nd_equal(g, array(rep(c(1, 2, 3) / 20000, each = 20000), c(20000, 3)))
  g <- fb("sum", list(mx.nd.array(x, dtype = "float64")), list(axis = 0),
          list(mx.nd.array(1:20000, dtype = "float64")))$grads[[1]]
  expect_nd_equal(g, array(rep(1:20000, 3), c(20000, 3)))
})

test_that("prod's gradient is exact with zeros", {
  # engine (3, 4): row 1 has no zero, row 2 one zero, row 3 two zeros
  x <- rbind(c(1.5, -2, 0.5, 3), c(2, 0, -1.5, 0.5), c(0, 1.25, 0, 2))   # R (3, 4) = engine (4, 3)
  x <- t(x)                                                           # engine (3, 4) rows as above
  g <- check_grad("prod", list(x), list(axis = 1))
  og <- mx.nd.array(c(1, 1, 1), dtype = "float64")
  r <- fb("prod", list(mx.nd.array(x, dtype = "float64")), list(axis = 1), list(og))$grads[[1]]
  expected <- apply(x, 2, function(v) sapply(seq_along(v), function(i) prod(v[-i])))
  expect_nd_equal(r, expected, tolerance = 0)
  expect_false(any(is.nan(as.array(r))))
  # several reduced blocks (transposed path) with zeros
  y <- earr(c(2, 3, 2, 2), 0.5, 1.5)
  y[c(1, 7, 8)] <- 0
  check_grad("prod", list(y), list(axis = c(0, 2)))
  check_grad("prod", list(y), list(axis = c(1, 3), keepdims = TRUE))
})

test_that("nansum and nanprod give NaN positions a zero gradient", {
  set.seed(203)
  x <- earr(c(3, 4), 0.5, 1.5)
  x[c(2, 7, 8)] <- NaN
  for (op in c("nansum", "nanprod")) {
    for (pr in list(list(), list(axis = 0), list(axis = 1, keepdims = TRUE))) {
      g <- check_grad(op, list(x), pr, label = paste(op, deparse(pr)))
      expect_true(all(g[[1]][is.nan(x)] == 0))
      expect_false(any(is.nan(g[[1]])))
    }
  }
})

test_that("max and min give every tied position the full gradient (as MXNet)", {
  x <- cbind(c(1, 3, 3, 2), c(-1, -1, 0.5, -1))        # R (4, 2) = engine (2, 4)
  og <- list(mx.nd.array(c(10, 20), dtype = "float64"))
  gmax <- fb("max", list(mx.nd.array(x, dtype = "float64")), list(axis = 1), og)$grads[[1]]
  expect_nd_equal(gmax, cbind(c(0, 10, 10, 0), c(0, 0, 20, 0)), tolerance = 0)
  gmin <- fb("min", list(mx.nd.array(x, dtype = "float64")), list(axis = 1), og)$grads[[1]]
  expect_nd_equal(gmin, cbind(c(10, 0, 0, 0), c(20, 20, 0, 20)), tolerance = 0)
  gall <- fb("max", list(mx.nd.array(x, dtype = "float32")), NULL,
             list(mx.nd.array(5, dtype = "float32")))$grads[[1]]
  expect_nd_equal(gall, cbind(c(0, 5, 5, 0), c(0, 0, 0, 0)), tolerance = 0)
})

test_that("norm (ord 1 and 2) has correct gradients", {
  set.seed(204)
  for (ord in 1:2) {
    for (pr in list(list(), list(axis = 0), list(axis = -1), list(axis = c(0, 2)),
                    list(axis = 1, keepdims = TRUE), list(keepdims = TRUE))) {
      x <- earr(c(2, 3, 4), 0.2, 2) * sample(c(-1, 1), 24, TRUE)
      check_grad("norm", list(x), c(list(ord = ord), pr), label = paste("norm", ord, deparse(pr)))
    }
  }
  # the L2 norm of zeros has gradient 0 (MXNet gives NaN)
  r <- fb("norm", list(mx.nd.zeros(c(3, 2), dtype = "float64")), list(axis = 1),
          list(mx.nd.ones(2, dtype = "float64")))$grads[[1]]
  expect_true(all(as.array(r) == 0))
  r <- fb("norm", list(mx.nd.array(c(0, -2, 3), dtype = "float64")), list(ord = 1),
          list(mx.nd.array(2, dtype = "float64")))$grads[[1]]
  expect_nd_equal(r, c(0, -2, 2), tolerance = 0)
})

test_that("float32 gradients agree with float64", {
  set.seed(205)
  x <- in_dtype(earr(c(5, 6, 7), 0.5, 1.5), "float32")
  for (op in c("sum", "mean", "nansum", "prod", "max", "min", "norm")) {
    for (pr in list(list(axis = 1), list(axis = c(0, 2)), list())) {
      out <- mxnet:::nd.invoke(op, list(mx.nd.array(x, dtype = "float64")), pr)
      G <- in_dtype(array(runif(length(out)), dim(out) %||% length(out)), "float32")
      g64 <- fb(op, list(mx.nd.array(x, dtype = "float64")), pr, list(mx.nd.array(G, dtype = "float64")))$grads[[1]]
      g32 <- fb(op, list(mx.nd.array(x, dtype = "float32")), pr, list(mx.nd.array(G, dtype = "float32")))$grads[[1]]
      expect_identical(mx.nd.dtype(g32), "float32")
      expect_nd_equal(g32, as.array(g64), tolerance = 1e-5)
    }
  }
})

test_that("empty arrays give empty gradients", {
  r <- fb("sum", list(mx.nd.zeros(c(0, 3), dtype = "float64")), list(axis = 1),
          list(mx.nd.zeros(3, dtype = "float64")))
  expect_equal(dim(r$grads[[1]]), c(0, 3))
  r <- fb("prod", list(mx.nd.zeros(c(2, 0, 3), dtype = "float64")), list(axis = c(0, 2)),
          list(mx.nd.zeros(0, dtype = "float64")))
  expect_equal(dim(r$grads[[1]]), c(2, 0, 3))
})

test_that("argmax and argmin have no gradient; integer gradients are an error", {
  x <- mx.nd.array(c(1, 3, 2), dtype = "float64")
  expect_error(fb("argmax", list(x), list(axis = 0), list(mx.nd.zeros(1, dtype = "float64"))),
               "no gradient")
  expect_error(fb("argmin", list(x), NULL, list(mx.nd.zeros(1, dtype = "float64"))), "no gradient")
  xi <- mx.nd.array(c(1, 3, 2), dtype = "int32")
  for (op in c("sum", "mean", "prod", "max", "norm"))
    expect_error(fb(op, list(xi), NULL, list(mx.nd.ones(1, dtype = "int32"))), "floating-point",
                 label = op)
})
