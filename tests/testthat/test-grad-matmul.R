# Gradients of dot and batch_dot (matmul.c) against finite differences for
# every transpose combination, N-d and 1-d operands; float32 (oneDNN or
# OpenBLAS when built with them) against float64; dtype errors.

fb <- function(op, ins, params = NULL, og) mxnet:::nd.forward.backward(op, ins, params, og)

# Engine-shape array (R dims reversed).
earr <- function(eshape, lo = -1, hi = 1) {
  v <- runif(prod(eshape), lo, hi)
  if (length(eshape) == 1L) array(v, eshape) else array(v, rev(eshape))
}

TR <- list(c(FALSE, FALSE), c(TRUE, FALSE), c(FALSE, TRUE), c(TRUE, TRUE))
tp <- function(t) list(transpose_a = t[1], transpose_b = t[2])

# Engine shapes of lhs and rhs for contraction K given the transposes:
# lhs (a..., K) or (K, a...); rhs (K, b...) or (b..., K).
dot_shapes <- function(a, b, K, t) {
  list(if (t[1]) c(K, a) else c(a, K), if (t[2]) c(b, K) else c(K, b))
}

test_that("dot has correct gradients for every transpose combination", {
  set.seed(301)
  for (t in TR) {
    for (ab in list(list(3, 5), list(c(2, 3), 5), list(3, c(2, 4)), list(c(2, 2), c(3, 2)))) {
      s <- dot_shapes(ab[[1]], ab[[2]], 4, t)
      lbl <- paste("dot", deparse(t), deparse(s))
      check_grad("dot", list(earr(s[[1]]), earr(s[[2]])), tp(t), label = lbl)
    }
  }
  for (t in TR[c(1, 4)]) {
    s <- dot_shapes(3, 2, 4, t)
    check_grad("_dot_builtin", list(earr(s[[1]]), earr(s[[2]])), tp(t))
  }
})

test_that("dot has correct gradients with 1-d operands", {
  set.seed(302)
  for (t in TR) {
    check_grad("dot", list(earr(4), earr(4)), tp(t), label = paste("vec.vec", deparse(t)))
    # vector . matrix: the vector is one row whatever transpose_a says
    rhs <- if (t[2]) earr(c(5, 4)) else earr(c(4, 5))
    check_grad("dot", list(earr(4), rhs), tp(t), label = paste("vec.mat", deparse(t)))
    lhs <- if (t[1]) earr(c(4, 3)) else earr(c(3, 4))
    check_grad("dot", list(lhs, earr(4)), tp(t), label = paste("mat.vec", deparse(t)))
  }
  # values: vector . vector
  r <- fb("dot", list(mx.nd.array(c(1, 2, 3), dtype = "float64"), mx.nd.array(c(4, 5, 6), dtype = "float64")),
          NULL, list(mx.nd.array(2, dtype = "float64")))
  expect_nd_equal(r$grads[[1]], c(8, 10, 12), tolerance = 0)
  expect_nd_equal(r$grads[[2]], c(2, 4, 6), tolerance = 0)
})

test_that("batch_dot has correct gradients for every transpose combination", {
  set.seed(303)
  for (t in TR) {
    for (bs in list(2, c(2, 3), 1)) {
      M <- 3; K <- 4; N <- 2
      ls <- c(bs, if (t[1]) c(K, M) else c(M, K))
      rs <- c(bs, if (t[2]) c(N, K) else c(K, N))
      lbl <- paste("batch_dot", deparse(t), deparse(bs))
      check_grad("batch_dot", list(earr(ls), earr(rs)), tp(t), label = lbl, n.check = 12)
    }
  }
  check_grad("_batch_dot_builtin", list(earr(c(2, 3, 4)), earr(c(2, 2, 4))),
             list(transpose_b = TRUE))
})

test_that("float32 gradients agree with float64", {
  set.seed(304)
  cmp <- function(op, ls, rs, pr, tol = 1e-5) {
    a <- in_dtype(earr(ls), "float32")
    b <- in_dtype(earr(rs), "float32")
    out <- mxnet:::nd.invoke(op, list(mx.nd.array(a, dtype = "float64"), mx.nd.array(b, dtype = "float64")), pr)
    G <- in_dtype(array(runif(length(out), -1, 1), dim(out) %||% length(out)), "float32")
    run <- function(dt) fb(op, list(mx.nd.array(a, dtype = dt), mx.nd.array(b, dtype = dt)), pr,
                           list(mx.nd.array(G, dtype = dt)))$grads
    g64 <- run("float64")
    g32 <- run("float32")
    for (j in 1:2) {
      expect_identical(mx.nd.dtype(g32[[j]]), "float32")
      expect_nd_equal(g32[[j]], as.array(g64[[j]]), tolerance = tol)
    }
  }
  for (t in TR) {
    s <- dot_shapes(c(4, 17), 9, 33, t)
    cmp("dot", s[[1]], s[[2]], tp(t))
    cmp("batch_dot", c(5, if (t[1]) c(33, 17) else c(17, 33)), c(5, if (t[2]) c(9, 33) else c(33, 9)), tp(t))
  }
  cmp("dot", 40, 40, NULL)
  cmp("dot", c(64, 130), c(130, 70), NULL)    # large enough for threads
})

test_that("empty contractions give zero gradients", {
  # lhs (3, 0) . rhs (0, 2): the output (3, 2) is zeros, the gradients empty
  r <- fb("dot", list(mx.nd.zeros(c(0, 3), dtype = "float64"), mx.nd.zeros(c(2, 0), dtype = "float64")),
          NULL, list(mx.nd.ones(c(2, 3), dtype = "float64")))
  expect_equal(dim(r$grads[[1]]), c(0, 3))
  # lhs (0, 4) . rhs (4, 2): empty output, the rhs gradient is zeros
  r <- fb("dot", list(mx.nd.zeros(c(4, 0), dtype = "float64"), mx.nd.ones(c(2, 4), dtype = "float64")),
          NULL, list(mx.nd.zeros(c(2, 0), dtype = "float64")))
  expect_true(all(as.array(r$grads[[2]]) == 0))
})

test_that("integer gradients are an error", {
  a <- mx.nd.array(matrix(1:6, 2, 3), dtype = "int32")
  b <- mx.nd.array(matrix(1:6, 3, 2), dtype = "int32")
  expect_error(fb("dot", list(b, a), NULL, list(mx.nd.ones(c(2, 2), dtype = "int32"))), "floating-point")
})
