# Gradients of the index ops (index.c) against finite differences: take
# (every mode, repeated indices, several axes), pick, where; indices and
# conditions get exact zeros; one_hot has no gradient; dtype errors.

fb <- function(op, ins, params = NULL, og) mxnet:::nd.forward.backward(op, ins, params, og)

# Engine-shape array (R dims reversed).
earr <- function(eshape, lo = -1, hi = 1) {
  v <- runif(prod(eshape), lo, hi)
  if (length(eshape) == 1L) array(v, eshape) else array(v, rev(eshape))
}
eidx <- function(eshape, vals) {
  v <- as.double(sample(vals, prod(eshape), replace = TRUE))
  if (length(eshape) == 1L) array(v, eshape) else array(v, rev(eshape))
}

test_that("take scatter-adds the gradient for every mode and axis", {
  set.seed(501)
  a <- earr(c(3, 4, 5))
  for (ax in c(0, 1, 2, -1)) {
    len <- c(3, 4, 5)[(ax %% 3) + 1]
    for (mode in c("clip", "wrap", "raise")) {
      vals <- if (mode == "raise") 0:(len - 1) else -3:(len + 3)
      idx <- eidx(c(2, 3), vals)
      idx[1:2] <- idx[3]                      # repeated indices
      g <- check_grad("take", list(a, idx), list(axis = ax, mode = mode), wrt = 1,
                      label = paste("take", ax, mode), n.check = 30)
      expect_true(all(g[[2]] == 0))
    }
  }
  # 1-d indices, 1-d data
  check_grad("take", list(earr(6), array(c(5, 0, 5, 5, 2), 5)), wrt = 1)
  # values: a repeated index accumulates
  r <- fb("take", list(mx.nd.array(c(0, 0, 0), dtype = "float64"), mx.nd.array(c(2, 0, 2, 7, -1))),
          list(mode = "clip"), list(mx.nd.array(c(1, 10, 100, 1000, 10000), dtype = "float64")))
  expect_nd_equal(r$grads[[1]], c(10010, 0, 1101), tolerance = 0)
  expect_identical(mx.nd.dtype(r$grads[[2]]), "float32")
  expect_true(all(as.array(r$grads[[2]]) == 0))
  r <- fb("take", list(mx.nd.array(c(0, 0, 0), dtype = "float64"), mx.nd.array(c(4, -1), dtype = "int32")),
          list(mode = "wrap"), list(mx.nd.array(c(1, 10), dtype = "float64")))
  expect_nd_equal(r$grads[[1]], c(0, 1, 10), tolerance = 0)
  expect_true(all(as.array(r$grads[[2]]) == 0))
  expect_error(fb("take", list(mx.nd.array(c(0, 0, 0), dtype = "float64"), mx.nd.array(3)),
                  list(mode = "raise"), list(mx.nd.array(1, dtype = "float64"))), "raise")
})

test_that("take's float32 gradient agrees with float64 (many rows, threads)", {
  set.seed(502)
  a <- in_dtype(earr(c(50, 64)), "float32")
  idx <- eidx(c(40, 30), 0:49)
  G <- in_dtype(earr(c(40, 30, 64)), "float32")
  g <- lapply(c("float64", "float32"), function(dt)
    fb("take", list(mx.nd.array(a, dtype = dt), mx.nd.array(idx, dtype = "int32")), NULL,
       list(mx.nd.array(G, dtype = dt)))$grads[[1]])
  expect_identical(mx.nd.dtype(g[[2]]), "float32")
  expect_nd_equal(g[[2]], as.array(g[[1]]), tolerance = 1e-5)
  # the same bits with one thread
  old <- options(mxnet.threads = 1L)
  g1 <- fb("take", list(mx.nd.array(a), mx.nd.array(idx, dtype = "int32")), NULL,
           list(mx.nd.array(G)))$grads[[1]]
  options(old)
  expect_identical(as.array(g1), as.array(g[[2]]))
})

test_that("pick sends the gradient to the picked elements", {
  set.seed(503)
  x <- earr(c(3, 4, 5))
  for (ax in c(-1, 0, 1)) {
    es <- c(3, 4, 5)
    a <- (ax %% 3) + 1
    len <- es[a]
    for (keep in c(FALSE, TRUE)) {
      is <- es
      if (keep) is[a] <- 1 else is <- es[-a]
      for (mode in c("clip", "wrap")) {
        idx <- eidx(is, -2:(len + 2))
        g <- check_grad("pick", list(x, idx), list(axis = ax, keepdims = keep, mode = mode), wrt = 1,
                        label = paste("pick", ax, keep, mode), n.check = 30)
        expect_true(all(g[[2]] == 0))
      }
    }
  }
  r <- fb("pick", list(mx.nd.array(matrix(0, 3, 2), dtype = "float64"), mx.nd.array(c(2, 5))),
          list(axis = -1), list(mx.nd.array(c(7, 8), dtype = "float64")))
  expect_nd_equal(r$grads[[1]], matrix(c(0, 0, 7, 0, 0, 8), 3, 2), tolerance = 0)
})

test_that("where masks the gradient; the condition gets zeros", {
  set.seed(504)
  x <- earr(c(3, 4)); y <- earr(c(3, 4))
  cnd <- array(rbinom(12, 1, 0.5), dim(x))
  g <- check_grad("where", list(cnd, x, y), wrt = 2:3)
  expect_true(all(g[[1]] == 0))
  expect_true(all(g[[2]][cnd == 0] == 0) && all(g[[3]][cnd != 0] == 0))
  # a vector condition selects whole rows (engine axis 0 = last R dimension)
  cv <- array(c(1, 0, 1), 3)
  g <- check_grad("where", list(cv, x, y), wrt = 2:3)
  expect_true(all(g[[2]][, 2] == 0) && all(g[[3]][, c(1, 3)] == 0))
  # float16 and a condition of another dtype
  og <- matrix(c(1, 2, 3, 4), 2, 2)
  r <- fb("where", list(mx.nd.array(matrix(c(1, 0, 0, 1), 2, 2), dtype = "int32"),
                        mx.nd.zeros(c(2, 2), dtype = "float16"), mx.nd.zeros(c(2, 2), dtype = "float16")),
          NULL, list(mx.nd.array(og, dtype = "float16")))
  expect_nd_equal(r$grads[[2]], og * c(1, 0, 0, 1), tolerance = 0)
  expect_nd_equal(r$grads[[3]], og * c(0, 1, 1, 0), tolerance = 0)
  expect_identical(mx.nd.dtype(r$grads[[1]]), "int32")
  expect_true(all(as.array(r$grads[[1]]) == 0))
})

test_that("one_hot has no gradient; integer data gradients are an error", {
  expect_error(fb("one_hot", list(mx.nd.array(c(0, 2))), list(depth = 3),
                  list(mx.nd.zeros(c(3, 2)))), "no gradient")
  ai <- mx.nd.array(1:4, dtype = "int32")
  expect_error(fb("take", list(ai, mx.nd.array(c(0, 1))), NULL, list(mx.nd.array(1:2, dtype = "int32"))),
               "floating-point")
  expect_error(fb("pick", list(mx.nd.array(matrix(1:4, 2, 2), dtype = "int32"), mx.nd.array(c(0, 1))),
                  NULL, list(mx.nd.array(1:2, dtype = "int32"))), "floating-point")
  expect_error(fb("take", list(mx.nd.array(1:4, dtype = "float16"), mx.nd.array(c(0, 1))), NULL,
                  list(mx.nd.array(1:2, dtype = "float16"))), "float32 or float64")
})
