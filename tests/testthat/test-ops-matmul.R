# Matrix products: dot and batch_dot against R's %*%.
#
# R/C reversal: an R matrix A with dim c(m, k) is the engine (C, row-major)
# matrix t(A) of shape (k, m) -- the same memory read the other way. The
# engine's dot computes op(lhs) %*% op(rhs) on those C matrices, and the
# result comes back to R transposed again. So for R matrices
#   as.array(dot(A, B))                  == t(t(A) %*% t(B)) == B %*% A
#   as.array(dot(A, B, transpose_a = T)) == t(A %*% t(B))    == B %*% t(A)
#   as.array(dot(A, B, transpose_b = T)) == t(t(A) %*% B)    == t(B) %*% A
#   as.array(dot(A, B, both))            == t(A %*% B)       == t(B) %*% t(A)
# i.e. the R result is opR(B) %*% opR(A): MXNet's R behaviour, kept on purpose.
#
# For N-d arrays the reference below rebuilds the engine's matrices
# explicitly: the memory of an R array read row-major as an (r x c) matrix is
# t(matrix(values, nrow = c)).

c_mat <- function(v, rows, cols) t(matrix(as.vector(v), nrow = cols, ncol = rows))

# Expected R result of dot(a, b) from the engine's definition (C shapes).
ref_dot <- function(a, b, ta = FALSE, tb = FALSE) {
  sa <- rev(dim(a) %||% length(a))
  sb <- rev(dim(b) %||% length(b))
  if (length(sa) == 1L && length(sb) == 1L) return(array(sum(as.vector(a) * as.vector(b)), 1L))
  # lhs as a (rows x cols) C matrix; out dims it contributes
  if (ta) {
    L <- t(c_mat(a, sa[1], prod(sa[-1])))
    lo <- if (length(sa) > 1L) sa[-1] else integer(0)
  } else {
    L <- c_mat(a, prod(sa[-length(sa)]), sa[length(sa)])
    lo <- if (length(sa) > 1L) sa[-length(sa)] else integer(0)
  }
  if (tb) {
    R <- t(c_mat(b, prod(sb[-length(sb)]), sb[length(sb)]))
    ro <- if (length(sb) > 1L) sb[-length(sb)] else integer(0)
  } else {
    R <- c_mat(b, sb[1], prod(sb[-1]))
    ro <- if (length(sb) > 1L) sb[-1] else integer(0)
  }
  C <- L %*% R                                  # engine result as a matrix
  os <- c(lo, ro)                               # engine output shape
  array(as.vector(t(C)), rev(os))               # its memory, R dims
}

dot_ops <- c(dot = "dot", builtin = "_dot_builtin")

dot_call <- function(op, a, b, ta = FALSE, tb = FALSE)
  mxnet:::nd.invoke(op, list(a, b), list(transpose_a = ta, transpose_b = tb))

test_that("dot of R matrices is B %*% A with every transpose combination", {
  set.seed(11)
  A <- matrix(runif(12, -2, 2), 3, 4)   # C (4, 3)
  for (op in dot_ops) {
    for (dt in c("float32", "float64")) {
      a <- mx.nd.array(A, dtype = dt)
      Af <- in_dtype(A, dt)
      B <- matrix(runif(15, -2, 2), 5, 3)
      Bf <- in_dtype(B, dt)
      tol <- if (dt == "float32") 1e-5 else 1e-12
      expect_nd_equal(dot_call(op, a, mx.nd.array(B, dtype = dt)), Bf %*% Af, tolerance = tol)
      B2 <- matrix(runif(20, -2, 2), 5, 4)
      expect_nd_equal(dot_call(op, a, mx.nd.array(B2, dtype = dt), ta = TRUE),
                      in_dtype(B2, dt) %*% t(Af), tolerance = tol)
      B3 <- matrix(runif(15, -2, 2), 3, 5)
      expect_nd_equal(dot_call(op, a, mx.nd.array(B3, dtype = dt), tb = TRUE),
                      t(in_dtype(B3, dt)) %*% Af, tolerance = tol)
      B4 <- matrix(runif(20, -2, 2), 4, 5)
      expect_nd_equal(dot_call(op, a, mx.nd.array(B4, dtype = dt), ta = TRUE, tb = TRUE),
                      t(in_dtype(B4, dt)) %*% t(Af), tolerance = tol)
    }
  }
  # the generated wrapper, and mx.nd.dot(B, A) for A %*% B
  A <- matrix(1:6, 2, 3)
  B <- matrix(1:12, 3, 4)
  expect_nd_equal(mx.nd.dot(mx.nd.array(B), mx.nd.array(A)), A %*% B)
  expect_nd_equal(mx.nd.dot(mx.nd.array(A), mx.nd.array(A), transpose_b = TRUE),
                  t(A) %*% A)
})

dot_shapes <- list(
  # lhs R dims, rhs R dims, transpose_a, transpose_b (valid combinations)
  list(c(4, 3), c(5, 4), FALSE, FALSE),
  list(c(4, 3), c(5, 3), TRUE, FALSE),
  list(c(4, 3), c(4, 5), FALSE, TRUE),
  list(c(4, 3), c(3, 5), TRUE, TRUE),
  list(c(3, 2, 4), c(2, 3), FALSE, FALSE),       # 3-d lhs: C (4, 2, 3) . (3, 2)
  list(c(3, 2, 4), c(5, 4), TRUE, FALSE),        # contracts C axis 0 (4)
  list(c(3, 2, 4), c(3, 2, 2), FALSE, TRUE),     # rhs C (2, 2, 3): last axis 3
  list(c(3, 2, 4), c(4, 5, 2), TRUE, TRUE),      # C (4, 2, 3)^T . (2, 5, 4)^T
  list(5, 5, FALSE, FALSE),                      # vector . vector -> (1,)
  list(5, c(3, 5), FALSE, FALSE),                # vector . matrix
  list(c(5, 3), 5, FALSE, FALSE),                # matrix . vector
  list(c(5, 3), 3, TRUE, FALSE),
  list(1, 1, FALSE, FALSE),                      # one element
  list(c(1, 1), c(1, 1), FALSE, FALSE),
  list(c(0, 3), c(4, 0), FALSE, FALSE),          # K = 0: zeros
  list(c(3, 0), c(2, 3), FALSE, FALSE),          # M = 0: empty result
  list(c(3, 2), c(0, 3), FALSE, FALSE),          # N = 0
  list(c(2, 1, 2, 1, 2, 1, 2, 3), c(4, 2), FALSE, FALSE),  # 8-d lhs -> 8-d result
  list(c(2, 3), c(2, 1, 2, 1, 2, 1, 2, 2), FALSE, FALSE)   # 8-d rhs -> 8-d result
)

test_that("dot matches the reference on N-d shapes for every dtype", {
  set.seed(12)
  for (sp in dot_shapes) {
    for (dt in DTYPES) {
      a <- rand_array(sp[[1]], dt, -2, 2)
      b <- rand_array(sp[[2]], dt, -2, 2)
      an <- in_dtype(a, dt)
      bn <- in_dtype(b, dt)
      expected <- ref_dot(an, bn, sp[[3]], sp[[4]])
      if (dt %in% INT_DTYPES) expected <- r_wrap(expected, dt)
      if (dt == "float16") expected <- in_dtype(expected, "float16")
      tol <- switch(dt, float32 = 1e-5, float16 = 4e-3, float64 = 1e-12, 0)
      ops <- if (dt == "float32") dot_ops else "dot"
      for (op in ops) {
        got <- dot_call(op, mx.nd.array(a, dtype = dt), mx.nd.array(b, dtype = dt), sp[[3]], sp[[4]])
        expect_identical(mx.nd.dtype(got), dt)
        expect_nd_equal(got, expected, tolerance = tol)
      }
    }
  }
})

test_that("integer dot wraps around like the dtype instead of trapping", {
  A <- matrix(c(50000, 60000, 70000, 80000), 2, 2)
  got <- mx.nd.dot(mx.nd.array(A, dtype = "int32"), mx.nd.array(A, dtype = "int32"))
  expect_nd_equal(got, r_wrap(A %*% A, "int32"))
  got <- mx.nd.dot(mx.nd.array(A, dtype = "int64"), mx.nd.array(A, dtype = "int64"))
  expect_nd_equal(got, A %*% A)
  U <- matrix(c(200, 100, 50, 25), 2, 2)
  got <- mx.nd.dot(mx.nd.array(U, dtype = "uint8"), mx.nd.array(U, dtype = "uint8"))
  expect_nd_equal(got, (U %*% U) %% 256)
})

test_that("a 1024 x 1024 float32 dot agrees with R's %*% (oneDNN and built-in)", {
  set.seed(13)
  n <- 1024
  A <- matrix(runif(n * n, -1, 1), n)
  B <- matrix(runif(n * n, -1, 1), n)
  expected <- in_dtype(B, "float32") %*% in_dtype(A, "float32")
  a <- mx.nd.array(A)
  b <- mx.nd.array(B)
  for (op in dot_ops) expect_nd_equal(dot_call(op, a, b), expected, tolerance = 1e-4)
  # transposed operands go through the packing paths
  expected_tt <- t(in_dtype(A, "float32") %*% in_dtype(B, "float32"))  # t(B) %*% t(A)
  for (op in dot_ops) expect_nd_equal(dot_call(op, a, b, TRUE, TRUE), expected_tt, tolerance = 1e-4)
  # float64 (built-in kernel, several threads)
  a64 <- mx.nd.array(A[1:300, ], dtype = "float64")
  b64 <- mx.nd.array(B[, 1:300], dtype = "float64")
  expect_nd_equal(mx.nd.dot(a64, b64), B[, 1:300] %*% A[1:300, ], tolerance = 1e-12)
})

test_that("dot results do not depend on the thread count", {
  set.seed(14)
  A <- matrix(runif(200 * 150), 200)
  B <- matrix(runif(150 * 200), 150)
  res <- list()
  for (nt in 1:2) {
    old <- options(mxnet.threads = nt)
    res[[nt]] <- lapply(c("float64", "int32"), function(dt)
      as.array(mx.nd.dot(mx.nd.array(round(A * 10), dtype = dt), mx.nd.array(round(B * 10), dtype = dt))))
    options(old)
  }
  expect_identical(res[[1]], res[[2]])
  expect_equal(res[[1]][[1]], round(B * 10) %*% round(A * 10))
})

test_that("dot reports shape mismatches with both shapes and bad parameters by name", {
  a <- mx.nd.array(matrix(1:6, 2, 3))
  b <- mx.nd.array(matrix(1:20, 4, 5))
  expect_error(mx.nd.dot(a, b), "c\\(2, 3\\).*c\\(4, 5\\)")
  expect_error(mx.nd.dot(a, b, transpose_a = TRUE), "c\\(2, 3\\).*c\\(4, 5\\)")
  expect_error(mx.nd.dot(a, a, transpose_a = "maybe"), "transpose_a")
  expect_error(mx.nd.dot(a, b, transpose_b = NA), "transpose_b")
  expect_error(mx.nd.dot(a, mx.nd.array(matrix(1:6, 3, 2), dtype = "float64")), "dtype")
  expect_error(mx.nd.dot(mx.nd.array(1:3), mx.nd.array(1:4)), "c\\(3\\).*c\\(4\\)")
})

# --------------------------------------------------------------- batch_dot

# R slices: result[, , i] = opR(rhs[, , i]) %*% opR(lhs[, , i]) (see the top).
ref_batch_dot <- function(a, b, ta, tb) {
  nb <- dim(a)[3]
  outs <- lapply(seq_len(nb), function(i) {
    A <- matrix(a[, , i], dim(a)[1], dim(a)[2])
    B <- matrix(b[, , i], dim(b)[1], dim(b)[2])
    (if (tb) t(B) else B) %*% (if (ta) t(A) else A)
  })
  m <- if (nb) outs[[1]] else NULL
  d <- if (nb) dim(m) else {
    # empty batch: dims from the shapes
    A <- matrix(0, dim(a)[1], dim(a)[2]); B <- matrix(0, dim(b)[1], dim(b)[2])
    dim((if (tb) t(B) else B) %*% (if (ta) t(A) else A))
  }
  array(as.double(unlist(lapply(outs, as.vector))), c(d, nb))
}

test_that("batch_dot matches per-slice %*% for every transpose and dtype", {
  set.seed(21)
  # R dims: lhs c(K, M, B) = C (B, M, K); rhs c(N, K, B) = C (B, K, N)
  cases <- list(
    list(c(4, 3, 5), c(2, 4, 5)),     # no transposes: K = 4
    list(c(1, 1, 1), c(1, 1, 1)),
    list(c(4, 3, 0), c(2, 4, 0)),     # empty batch
    list(c(0, 3, 2), c(2, 0, 2))      # K = 0
  )
  for (cs in cases) {
    for (ta in c(FALSE, TRUE)) {
      for (tb in c(FALSE, TRUE)) {
        da <- cs[[1]]
        db <- cs[[2]]
        if (ta) da <- da[c(2, 1, 3)]
        if (tb) db <- db[c(2, 1, 3)]
        for (dt in DTYPES) {
          a <- rand_array(da, dt, -2, 2)
          b <- rand_array(db, dt, -2, 2)
          expected <- ref_batch_dot(in_dtype(a, dt), in_dtype(b, dt), ta, tb)
          if (dt %in% INT_DTYPES) expected <- r_wrap(expected, dt)
          if (dt == "float16") expected <- in_dtype(expected, "float16")
          tol <- switch(dt, float32 = 1e-5, float16 = 4e-3, float64 = 1e-12, 0)
          ops <- if (dt == "float32") c("batch_dot", "_batch_dot_builtin") else "batch_dot"
          for (op in ops) {
            got <- mxnet:::nd.invoke(op, list(mx.nd.array(a, dtype = dt), mx.nd.array(b, dtype = dt)),
                                     list(transpose_a = ta, transpose_b = tb))
            expect_identical(mx.nd.dtype(got), dt)
            expect_nd_equal(got, expected, tolerance = tol)
          }
        }
      }
    }
  }
})

test_that("batch_dot with many small products (one thread each) is right", {
  set.seed(22)
  a <- array(runif(16 * 16 * 64), c(16, 16, 64))
  b <- array(runif(16 * 16 * 64), c(16, 16, 64))
  for (dt in c("float64", "int32")) {
    av <- if (dt == "int32") round(a * 10) else a
    bv <- if (dt == "int32") round(b * 10) else b
    expected <- ref_batch_dot(av, bv, FALSE, FALSE)
    got <- mx.nd.batch.dot(mx.nd.array(av, dtype = dt), mx.nd.array(bv, dtype = dt))
    expect_nd_equal(got, expected)
    got <- mxnet:::nd.invoke("_batch_dot_builtin", list(mx.nd.array(av), mx.nd.array(bv)))
    expect_nd_equal(got, expected, tolerance = 1e-5)
  }
})

test_that("batch_dot checks its shapes", {
  a <- mx.nd.array(array(1:24, c(4, 3, 2)))
  expect_error(mx.nd.batch.dot(a, mx.nd.array(array(1:24, c(2, 3, 4)))), "c\\(4, 3, 2\\).*c\\(2, 3, 4\\)")
  expect_error(mx.nd.batch.dot(mx.nd.array(matrix(1:4, 2)), mx.nd.array(matrix(1:4, 2))), "dimensions")
  expect_error(mx.nd.batch.dot(a, mx.nd.array(array(1:24, c(2, 4, 3)))), "batch")
  expect_error(mx.nd.batch.dot(a, a, transpose_b = "x"), "transpose_b")
})
