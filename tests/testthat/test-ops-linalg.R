# linalg_* ops (src/ops/linalg.c) against base R (chol, chol2inv, solve,
# det, backsolve-free triangular products), batched over leading axes, with
# gradients against finite differences.  The engine sees every R matrix
# transposed: an R array of dims (n, m, b) is b engine matrices t(x[, , q]).

CPU <- mx.cpu()
nd <- function(x, dtype = "float64") mx.nd.array(x, ctx = CPU, dtype = dtype)
la <- function(op, ins, params = list(), dtype = "float64")
  mxnet:::nd.invoke(op, lapply(ins, nd, dtype = dtype), params)

# R array (n, m, b) <-> list of engine matrices
E <- function(x) lapply(seq_len(dim(x)[3]), function(q) t(x[, , q]))
R3 <- function(ms) array(unlist(lapply(ms, t)), c(ncol(ms[[1]]), nrow(ms[[1]]), length(ms)))

spd <- function(n) { m <- matrix(rnorm(n * n), n); crossprod(m) + n * diag(n) }
tri_lower <- function(m) { m[upper.tri(m)] <- 0; m }

test_that("linalg_gemm and linalg_gemm2 multiply batches of matrices", {
  set.seed(1)
  a <- array(rnorm(24), c(4, 3, 2))      # engine: 2 matrices 3 x 4
  b <- array(rnorm(40), c(5, 4, 2))      # engine: 2 matrices 4 x 5
  cc <- array(rnorm(30), c(5, 3, 2))     # engine: 3 x 5
  ref2 <- R3(Map(function(x, y) 0.5 * x %*% y, E(a), E(b)))
  for (dt in c("float64", "float32")) {
    expect_equal(as.array(la("linalg_gemm2", list(a, b), list(alpha = 0.5), dt)), ref2,
                 tolerance = if (dt == "float32") 1e-5 else 1e-12, info = dt)
  }
  ref <- R3(Map(function(x, y, z) 2 * t(x) %*% y + 3 * z, E(array(aperm(a, c(2, 1, 3)), c(3, 4, 2))), E(b), E(cc)))
  at <- aperm(a, c(2, 1, 3))             # engine matrices 4 x 3: transpose_a gives 3 x 4
  expect_equal(as.array(la("linalg_gemm", list(at, b, cc), list(transpose_a = TRUE, alpha = 2, beta = 3))),
               R3(Map(function(x, y, z) 2 * t(x) %*% y + 3 * z, E(at), E(b), E(cc))))
  bt <- aperm(b, c(2, 1, 3))
  expect_equal(as.array(la("linalg_gemm2", list(a, bt), list(transpose_b = TRUE))),
               R3(Map(function(x, y) x %*% t(y), E(a), E(bt))))
  # a plain R matrix product: the engine's A B is R's t(B) ... so gemm2(B, A) gives A %*% B in R
  A <- matrix(rnorm(6), 2, 3); B <- matrix(rnorm(12), 3, 4)
  expect_equal(as.array(mx.nd.linalg.gemm2(nd(B), nd(A))), A %*% B)
  expect_error(la("linalg_gemm2", list(a, a)), "columns", class = "mxnet_shape_error")
  expect_error(la("linalg_gemm2", list(a, b), list(axis = 0)), "axis", class = "mxnet_unsupported_error")
  expect_error(la("linalg_gemm2", list(a, b), list(), "int32"), "float", class = "mxnet_dtype_error")
  check_grad("linalg_gemm", list(at, b, cc), list(transpose_a = TRUE, alpha = 2, beta = 3))
  check_grad("linalg_gemm2", list(a, bt), list(transpose_b = TRUE, alpha = 0.7))
  check_grad("linalg_gemm2", list(at, bt), list(transpose_a = TRUE, transpose_b = TRUE))
})

test_that("linalg_potrf and linalg_potri match chol and chol2inv", {
  set.seed(2)
  s <- array(c(spd(4), spd(4)), c(4, 4, 2))
  # engine L (lower) is R's upper chol factor once transposed back
  L <- as.array(la("linalg_potrf", list(s)))
  expect_equal(L[, , 1], chol(s[, , 1]))
  expect_equal(L[, , 2], chol(s[, , 2]))
  expect_equal(as.array(la("linalg_potri", list(L)))[, , 2], chol2inv(chol(s[, , 2])))
  expect_equal(as.array(la("linalg_potrf", list(s), dtype = "float32")), L, tolerance = 1e-5)
  bad <- matrix(c(1, 2, 2, 1), 2)
  expect_error(la("linalg_potrf", list(bad)), "positive definite", class = "mxnet_value_error")
  expect_error(la("linalg_potrf", list(matrix(1, 2, 3))), "square", class = "mxnet_shape_error")
  # potrf reads one triangle of a symmetric matrix: perturb both (i, j) and (j, i)
  x <- spd(3)
  G <- matrix(runif(9, -1, 1), 3)
  res <- mxnet:::nd.forward.backward("linalg_potrf", list(nd(x)), NULL, list(nd(G)), TRUE)
  ana <- as.array(res$grads[[1]])
  f <- function(m) sum(G * as.array(la("linalg_potrf", list(m))))
  eps <- 1e-6
  for (i in 1:3) for (j in 1:i) {
    e <- matrix(0, 3, 3); e[i, j] <- e[j, i] <- eps
    num <- (f(x + e) - f(x - e)) / (2 * eps)
    expect_equal(if (i == j) ana[i, i] else ana[i, j] + ana[j, i], num, tolerance = 1e-6)
  }
  expect_equal(ana, t(ana))   # a symmetric gradient, as MXNet's
  Lg <- t(chol(spd(3)))       # R matrix whose engine matrix is the lower factor t(Lg)... kept lower below
  check_grad("linalg_potri", list(t(Lg)), list())
})

test_that("linalg_trmm and linalg_trsm use one triangle of A", {
  set.seed(3)
  A <- matrix(rnorm(9), 3) + diag(4, 3)
  B <- matrix(rnorm(12), 4, 3)               # engine 3 x 4
  Ae <- t(A); Be <- t(B)
  for (lower in c(TRUE, FALSE)) for (tr in c(FALSE, TRUE)) {
    T <- if (lower) tri_lower(Ae) else t(tri_lower(t(Ae)))
    opA <- if (tr) t(T) else T
    expect_equal(as.array(la("linalg_trmm", list(A, B), list(lower = lower, transpose = tr, alpha = 2))),
                 t(2 * opA %*% Be))
    expect_equal(as.array(la("linalg_trsm", list(A, B), list(lower = lower, transpose = tr, alpha = 2))),
                 t(2 * solve(opA, Be)))
    Br <- t(matrix(rnorm(12), 4, 3))          # R 3 x 4 = engine 4 x 3, A from the right
    expect_equal(as.array(la("linalg_trsm", list(A, Br), list(lower = lower, transpose = tr, rightside = TRUE))),
                 t(t(Br) %*% solve(opA)))
    expect_equal(as.array(la("linalg_trmm", list(A, Br), list(lower = lower, transpose = tr, rightside = TRUE))),
                 t(t(Br) %*% opA))
  }
  expect_error(la("linalg_trsm", list(A, matrix(1, 3, 4))), "rows", class = "mxnet_shape_error")
  check_grad("linalg_trmm", list(A, B), list(alpha = 1.5))
  check_grad("linalg_trmm", list(A, t(B)), list(rightside = TRUE, lower = FALSE, transpose = TRUE))
  check_grad("linalg_trsm", list(A, B), list(alpha = 0.5, transpose = TRUE))
  check_grad("linalg_trsm", list(A, t(B)), list(rightside = TRUE, lower = FALSE))
})

test_that("linalg_syrk, sumlogdiag, det, slogdet and inverse", {
  set.seed(4)
  a <- array(rnorm(24), c(4, 3, 2))
  expect_equal(as.array(la("linalg_syrk", list(a), list(alpha = 2))),
               R3(lapply(E(a), function(m) 2 * m %*% t(m))))
  expect_equal(as.array(la("linalg_syrk", list(a), list(transpose = TRUE))),
               R3(lapply(E(a), function(m) t(m) %*% m)))
  s <- array(c(spd(3), spd(3)), c(3, 3, 2))
  expect_equal(as.array(la("linalg_sumlogdiag", list(s))), sapply(1:2, function(q) sum(log(diag(s[, , q])))))
  m <- array(rnorm(18), c(3, 3, 2))
  expect_equal(as.array(la("linalg_det", list(m))), sapply(1:2, function(q) det(m[, , q])))
  expect_equal(as.array(la("linalg_det", list(m[, , 1]))), det(m[, , 1]))
  sl <- la("linalg_slogdet", list(m))
  expect_equal(as.array(sl[[1]]), sapply(1:2, function(q) sign(det(m[, , q]))))
  expect_equal(as.array(sl[[2]]), sapply(1:2, function(q) log(abs(det(m[, , q])))))
  expect_equal(as.array(la("linalg_inverse", list(m)))[, , 2], solve(m[, , 2]))
  expect_equal(as.array(la("linalg_det", list(matrix(c(1, 2, 2, 4), 2)))), 0)
  expect_error(la("linalg_inverse", list(matrix(c(1, 2, 2, 4), 2))), "singular", class = "mxnet_value_error")
  check_grad("linalg_syrk", list(a), list(alpha = 2))
  check_grad("linalg_syrk", list(a), list(transpose = TRUE))
  check_grad("linalg_sumlogdiag", list(s), list())
  check_grad("linalg_det", list(m), list())
  check_grad("linalg_slogdet", list(m), list())
  check_grad("linalg_inverse", list(m), list())
})

test_that("linalg extract/make diag and triangle are inverse pairs", {
  set.seed(5)
  x <- array(rnorm(32), c(4, 4, 2))
  xe <- E(x)
  expect_equal(as.array(la("linalg_extractdiag", list(x))), sapply(xe, diag))
  # engine offset 1: entries (i, i + 1) of the engine matrix
  expect_equal(as.array(la("linalg_extractdiag", list(x), list(offset = 1))),
               sapply(xe, function(m) m[cbind(1:3, 2:4)]))
  v <- matrix(rnorm(6), 3, 2)
  md <- as.array(la("linalg_makediag", list(v), list(offset = -1)))
  expect_equal(E(md)[[2]], { z <- matrix(0, 4, 4); z[cbind(2:4, 1:3)] <- v[, 2]; z })
  # packed row by row in engine order
  low <- function(m, k = 0) unlist(lapply(seq_len(nrow(m)), function(i) m[i, seq_len(ncol(m)) <= i - k]))
  up <- function(m, k = 0) unlist(lapply(seq_len(nrow(m)), function(i) m[i, seq_len(ncol(m)) >= i + k]))
  expect_equal(as.array(la("linalg_extracttrian", list(x))), sapply(xe, low))
  expect_equal(as.array(la("linalg_extracttrian", list(x), list(lower = FALSE))), sapply(xe, up))
  expect_equal(as.array(la("linalg_extracttrian", list(x), list(offset = 1))), sapply(xe, up, k = 1))
  expect_equal(as.array(la("linalg_extracttrian", list(x), list(offset = -2))), sapply(xe, low, k = 2))
  packed <- la("linalg_extracttrian", list(x))
  back <- as.array(mxnet:::nd.invoke("linalg_maketrian", list(packed), list()))
  expect_equal(E(back)[[1]], tri_lower(xe[[1]]))
  expect_error(la("linalg_maketrian", list(1:4)), "triangular number", class = "mxnet_shape_error")
  expect_error(la("linalg_extractdiag", list(x), list(offset = 4)), "offset", class = "mxnet_value_error")
  check_grad("linalg_extractdiag", list(x), list(offset = -1))
  check_grad("linalg_makediag", list(v), list(offset = 2))
  check_grad("linalg_extracttrian", list(x), list(lower = FALSE))
  check_grad("linalg_maketrian", list(matrix(rnorm(12), 6, 2)), list(offset = 1))
})

test_that("linalg_gelqf gives A = L Q with orthonormal Q and a positive lower L", {
  set.seed(6)
  a <- array(rnorm(30), c(5, 3, 2))          # engine: 2 matrices 3 x 5
  res <- la("linalg_gelqf", list(a))
  Q <- E(as.array(res[[1]]))
  L <- E(as.array(res[[2]]))
  for (q in 1:2) {
    qrd <- qr(t(E(a)[[q]]))                  # A^T = Q' R' (Householder, signs free)
    s <- sign(diag(qr.R(qrd)))
    expect_equal(L[[q]], t(diag(s) %*% qr.R(qrd)))
    expect_equal(Q[[q]], t(qr.Q(qrd) %*% diag(s)))
    expect_equal(Q[[q]] %*% t(Q[[q]]), diag(3))
    expect_equal(L[[q]] %*% Q[[q]], E(a)[[q]])
  }
  expect_error(la("linalg_gelqf", list(matrix(1, 2, 3))), "columns", class = "mxnet_shape_error")
  check_grad("linalg_gelqf", list(a), list())
})
