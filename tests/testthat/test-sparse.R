# Sparse arrays (R/sparse.R, src/ops/sparse.c): CSR and row_sparse storage,
# conversions, dot, element-wise ops, lazy updates, LibSVM CSR batches and
# the sparse logistic model. References are plain R (and Matrix) results.

library(mxnet)

cpu <- mx.cpu()

# An R matrix with about `density` non-zeros, some empty columns (CSR rows).
sparse_matrix <- function(nr, nc, density = 0.3, seed = 1) {
  set.seed(seed)
  m <- matrix(rbinom(nr * nc, 1, density) * round(rnorm(nr * nc), 3), nr, nc)
  if (nc > 2) m[, 2] <- 0
  m
}

has_matrix <- requireNamespace("Matrix", quietly = TRUE)

test_that("CSR from a dense array, from components and back, float32 and float64, odd shapes", {
  for (dtype in c("float32", "float64")) {
    for (sz in list(c(7, 5), c(1, 1), c(3, 1), c(1, 4), c(6, 9))) {
      m <- sparse_matrix(sz[1], sz[2], seed = sum(sz))
      x <- mx.nd.cast.storage(mx.nd.array(m, ctx = cpu, dtype = dtype), "csr")
      expect_s3_class(x, "MXNDArrayCSR")
      expect_identical(mx.nd.stype(x), "csr")
      expect_equal(dim(x), dim(m))
      expect_equal(mx.nd.sparse.nnz(x), sum(m != 0))
      expect_identical(mx.nd.dtype(x$data), dtype)
      expect_equal(as.array(x), m, tolerance = tol_for(dtype))
      # the components are the compressed R columns (dgCMatrix layout)
      p <- c(0, cumsum(colSums(m != 0)))
      expect_equal(as.vector(as.array(x$indptr)), p)
      expect_equal(as.vector(as.array(x$indices)), (row(m) - 1)[m != 0])
      y <- mx.nd.sparse.csr(m[m != 0], (row(m) - 1)[m != 0], p, dim(m), dtype = dtype)
      expect_equal(as.array(y), m, tolerance = tol_for(dtype))
      expect_equal(as.array(mx.nd.cast.storage(y, "default")), m, tolerance = tol_for(dtype))
    }
  }
  z <- mx.nd.cast.storage(matrix(0, 3, 4), "csr")
  expect_equal(mx.nd.sparse.nnz(z), 0)
  expect_equal(as.array(z), matrix(0, 3, 4))
})

test_that("CSR converts from and to Matrix::dgCMatrix with the same R orientation", {
  skip_if_not(has_matrix, "the Matrix package is not installed")
  m <- sparse_matrix(8, 6)
  S <- methods::as(m, "CsparseMatrix")
  x <- mx.nd.sparse.csr(S)
  expect_equal(dim(x), dim(S))
  expect_equal(as.array(x), m, tolerance = 1e-6)
  expect_equal(as.vector(as.array(x$indptr)), S@p)
  expect_equal(as.vector(as.array(x$indices)), S@i)
  back <- mx.nd.sparse.as.dgCMatrix(x)
  expect_s4_class(back, "dgCMatrix")
  expect_equal(as.matrix(back), m, tolerance = 1e-6)
  # a triplet matrix and cast.storage from a Matrix object
  Tm <- Matrix::sparseMatrix(i = c(1, 3, 2), j = c(1, 1, 4), x = c(5, 6, 7), dims = c(3, 4), repr = "T")
  expect_equal(as.array(mx.nd.cast.storage(Tm, "csr")), as.matrix(Tm))
  expect_equal(as.array(mx.nd.cast.storage(Tm, "default")), as.matrix(Tm))
})

test_that("malformed CSR and row_sparse components give classed errors", {
  v <- c(1, 2, 3)
  expect_error(mx.nd.sparse.csr(v, c(0, 2, 5), c(0, 2, 3), c(5, 2)), "indices", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(v, c(0, 2, 9), c(0, 2, 3), c(5, 2)), "\\[0, 5\\)", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(v, c(0, 2, -1), c(0, 2, 3), c(5, 2)), class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(v, c(2, 0, 1), c(0, 2, 3), c(5, 2)), "increasing", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(v, c(0, 1, 2), c(1, 2, 3), c(5, 2)), "indptr", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(v, c(0, 1, 2), c(0, 2, 1), c(5, 2)), "indptr", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(v, c(0, 1, 2), c(0, 2, 4), c(5, 2)), "indptr", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(v, c(0, 1, 2), c(0, 3), c(5, 2)), "entries", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(v, c(0, 1), c(0, 2, 3), c(5, 2)), "entries", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(c(1, NA, 3), c(0, 1, 2), c(0, 2, 3), c(5, 2)), "NA", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.csr(v, c(0, 1, 2), c(0, 2, 3), c(5, -2)), "shape", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.row_sparse(matrix(1, 2, 2), c(3, 1), c(2, 5)), "increasing", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.row_sparse(matrix(1, 2, 2), c(1, 5), c(2, 5)), "\\[0, 5\\)", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.row_sparse(matrix(1, 2, 2), c(1, 2, 3), c(2, 5)), "entries", class = "mxnet_value_error")
  expect_error(mx.nd.sparse.row_sparse(matrix(1, 3, 2), c(1, 2), c(2, 5)), "shape", class = "mxnet_value_error")
  # the kernels check the components themselves (objects built by hand)
  nd64 <- function(x) mx.nd.array(x, ctx = cpu, dtype = "int64")
  bad <- list(list(c(0, 7, 1), c(0, 2, 3)), list(c(1, 0, 1), c(0, 2, 3)),
              list(c(0, 1, 1), c(0, 3, 2)), list(c(0, 1, 1), c(1, 2, 3)))
  for (b in bad) {
    e <- tryCatch(mxnet:::nd.invoke("_sparse_csr_to_dense", list(mx.nd.array(v, ctx = cpu), nd64(b[[1]]), nd64(b[[2]])),
                                    list(num_cols = 5)), error = function(e) e)
    expect_s3_class(e, "mxnet_error")
    obj <- mxnet:::sparse.new("csr", c(2, 5), data = mx.nd.array(v, ctx = cpu), indices = nd64(b[[1]]),
                              indptr = nd64(b[[2]]))
    expect_error(mx.nd.dot(obj, mx.nd.ones(c(3, 5), ctx = cpu)), class = "mxnet_error")
  }
  e <- tryCatch(mxnet:::nd.invoke("_sparse_rsp_to_dense", list(mx.nd.ones(c(2, 2), ctx = cpu), nd64(c(1, 1))),
                                  list(num_rows = 4)), error = function(e) e)
  expect_s3_class(e, "mxnet_error")
  expect_error(mx.nd.cast.storage(mx.nd.zeros(c(2, 2, 2), ctx = cpu), "csr"), "2-dimensional",
               class = "mxnet_value_error")
  expect_error(mx.nd.cast.storage(matrix(1, 2, 2), "dense"), "stype", class = "mxnet_value_error")
})

test_that("row_sparse arrays: construction, cast.storage both ways, 3-d data", {
  for (dtype in c("float32", "float64")) {
    m <- sparse_matrix(4, 7, density = 0.2)
    r <- mx.nd.cast.storage(mx.nd.array(m, ctx = cpu, dtype = dtype), "row_sparse")
    expect_s3_class(r, "MXNDArrayRowSparse")
    kept <- which(colSums(m != 0) > 0)
    expect_equal(as.vector(as.array(r$indices)), kept - 1)
    expect_equal(dim(r), dim(m))
    expect_equal(mx.nd.sparse.nnz(r), 4 * length(kept))
    expect_equal(as.array(r), m, tolerance = tol_for(dtype))
    built <- mx.nd.sparse.row_sparse(m[, kept, drop = FALSE], kept - 1, dim(m), dtype = dtype)
    expect_equal(as.array(built), m, tolerance = tol_for(dtype))
    # csr <-> row_sparse
    expect_equal(as.array(mx.nd.cast.storage(r, "csr")), m, tolerance = tol_for(dtype))
    expect_equal(as.array(mx.nd.cast.storage(mx.nd.cast.storage(m, "csr"), "row_sparse")), m,
                 tolerance = 1e-6)
  }
  a <- array(0, c(2, 3, 5))
  a[, , c(2, 5)] <- rnorm(12)
  r3 <- mx.nd.cast.storage(a, "row_sparse")
  expect_equal(as.vector(as.array(r3$indices)), c(1, 4))
  expect_equal(as.array(r3), a, tolerance = 1e-6)
  v <- mx.nd.sparse.row_sparse(c(3, 4), c(0, 6), 9)
  expect_equal(as.array(v), c(3, 0, 0, 0, 0, 0, 4, 0, 0))
})

test_that("dot(csr, dense) and its transpose match R's matrix products", {
  for (dtype in c("float32", "float64")) {
    tol <- if (dtype == "float32") 1e-5 else 1e-12
    for (sz in list(c(7, 5, 3), c(1, 1, 1), c(40, 33, 6), c(5, 4, 1))) {
      m <- sparse_matrix(sz[1], sz[2], seed = sz[3])   # engine (sz[2], sz[1])
      x <- mx.nd.cast.storage(mx.nd.array(m, ctx = cpu, dtype = dtype), "csr")
      r <- matrix(rnorm(sz[3] * sz[1]), sz[3], sz[1])  # engine (sz[1], sz[3])
      got <- as.array(mx.nd.dot(x, mx.nd.array(r, ctx = cpu, dtype = dtype)))
      expect_equal(matrix(got, sz[3]), r %*% m, tolerance = tol)
      r2 <- matrix(rnorm(sz[3] * sz[2]), sz[3], sz[2])
      got2 <- as.array(mx.nd.dot(x, mx.nd.array(r2, ctx = cpu, dtype = dtype), transpose_a = TRUE))
      expect_equal(matrix(got2, sz[3]), r2 %*% t(m), tolerance = tol)
      # the row-sparse form holds the rows the CSR columns use
      g <- mx.nd.sparse.dot(x, mx.nd.array(r2, ctx = cpu, dtype = dtype), transpose_a = TRUE,
                            forward_stype = "row_sparse")
      expect_s3_class(g, "MXNDArrayRowSparse")
      expect_equal(as.vector(as.array(g$indices)), which(rowSums(m != 0) > 0) - 1)
      expect_equal(matrix(as.array(g), sz[3]), r2 %*% t(m), tolerance = tol)
    }
  }
  # a vector rhs is one column; R matrices are accepted
  m <- sparse_matrix(6, 4)
  x <- mx.nd.cast.storage(m, "csr")
  v <- rnorm(6)
  expect_equal(as.array(mx.nd.dot(x, mx.nd.array(v, ctx = cpu))), as.vector(v %*% m), tolerance = 1e-5)
  expect_equal(as.array(mx.nd.dot(x, v)), as.vector(v %*% m), tolerance = 1e-5)
  if (has_matrix) {
    S <- methods::as(m, "CsparseMatrix")
    r <- matrix(rnorm(12), 2, 6)
    expect_equal(as.array(mx.nd.dot(mx.nd.sparse.csr(S), r)), as.matrix(r %*% S), tolerance = 1e-5)
  }
  expect_error(mx.nd.dot(x, mx.nd.ones(c(6, 2), ctx = cpu), transpose_b = TRUE), class = "mxnet_unsupported_error")
  expect_error(mx.nd.dot(x, mx.nd.ones(c(5, 2), ctx = cpu)), class = "mxnet_error")
  expect_error(mx.nd.dot(x, mx.nd.ones(c(2, 6), ctx = cpu, dtype = "float64")), "dtype", class = "mxnet_error")
})

test_that("dot(csr, dense) gradients (values and dense operand) match finite differences", {
  m <- sparse_matrix(6, 5, density = 0.5)
  x <- mx.nd.cast.storage(m, "csr")
  vals <- as.vector(as.array(x$data))
  idx <- as.vector(as.array(x$indices))
  ptr <- as.vector(as.array(x$indptr))
  dt <- c("float64", "int64", "int64", "float64")
  for (ta in c(FALSE, TRUE)) {
    rhs <- matrix(rnorm(3 * if (ta) 5 else 6), 3)   # engine (rows, 3)
    g <- check_grad("_sparse_dot_csr_dense", list(vals, idx, ptr, rhs),
                    list(transpose_a = ta, num_cols = 6), wrt = c(1L, 4L), dtype = dt,
                    label = sprintf("sparse dot, transpose_a = %s", ta))
    expect_equal(dim(g[[4]]), dim(rhs))
  }
})

test_that("element-wise ops keep sparsity and match dense results", {
  m <- sparse_matrix(6, 5)
  for (stype in c("csr", "row_sparse")) {
    x <- mx.nd.cast.storage(m, stype)
    n0 <- mx.nd.sparse.nnz(x)
    check <- function(y, ref) {
      expect_identical(mx.nd.stype(y), stype)
      expect_equal(mx.nd.sparse.nnz(y), n0)
      expect_equal(as.array(y), ref, tolerance = 1e-5)
    }
    check(x * 3, m * 3)
    check(2.5 * x, m * 2.5)
    check(x / 4, m / 4)
    check(x^2, m^2)
    check(-x, -m)
    check(abs(x), abs(m))
    check(sign(x), sign(m))
    check(sqrt(abs(x)), sqrt(abs(m)))
    check(mx.nd.square(x), m^2)
    check(mx.nd.negative(x), -m)
    check(mx.nd.abs(x), abs(m))
    check(mx.nd.sqrt(abs(x)), sqrt(abs(m)))
    check(mx.nd.sign(x), sign(m))
    expect_error(x + 1, class = "mxnet_unsupported_error")
    expect_error(exp(x), class = "mxnet_unsupported_error")
    expect_error(mx.nd.square(x, out = mx.nd.zeros(c(6, 5))), class = "mxnet_unsupported_error")
  }
  a <- sparse_matrix(3, 8, density = 0.2, seed = 3)
  b <- sparse_matrix(3, 8, density = 0.2, seed = 4)
  ra <- mx.nd.cast.storage(a, "row_sparse")
  rb <- mx.nd.cast.storage(b, "row_sparse")
  s <- ra + rb
  expect_s3_class(s, "MXNDArrayRowSparse")
  expect_equal(as.vector(as.array(s$indices)), which(colSums(a != 0) + colSums(b != 0) > 0) - 1)
  expect_equal(as.array(s), a + b, tolerance = 1e-6)
  expect_equal(as.array(ra - rb), a - b, tolerance = 1e-6)
  expect_error(ra + mx.nd.cast.storage(matrix(1, 3, 7), "row_sparse"), class = "mxnet_value_error")
  expect_error(ra + mx.nd.cast.storage(a, "csr"), class = "mxnet_unsupported_error")
})

test_that("lazy updates equal dense updates on the touched rows and leave the others alone", {
  set.seed(5)
  for (dtype in c("float32", "float64")) {
    tol <- tol_for(dtype) * 10
    w0 <- matrix(rnorm(3 * 9), 3, 9)     # engine (9 rows, 3)
    rows <- c(1, 4, 8)                   # 0-based engine rows
    gd <- matrix(rnorm(9), 3, 3)
    gdense <- matrix(0, 3, 9)
    gdense[, rows + 1] <- gd
    grad <- mx.nd.sparse.row_sparse(gd, rows, c(3, 9), dtype = dtype)
    nd <- function(a) mx.nd.array(a, ctx = cpu, dtype = dtype)
    touched <- rows + 1
    # SGD without weight decay: equal to the dense update everywhere
    w <- nd(w0)
    mx.sparse.sgd.update(w, grad, lr = 0.3, rescale.grad = 0.5, clip.gradient = 0.4)
    ref <- as.array(mx.nd.sgd.update(nd(w0), nd(gdense), lr = 0.3, rescale_grad = 0.5, clip_gradient = 0.4))
    expect_equal(as.array(w), ref, tolerance = tol)
    expect_equal(as.array(w)[, -touched], w0[, -touched], tolerance = tol)
    # with weight decay only the touched rows decay
    w <- nd(w0)
    mx.sparse.sgd.update(w, grad, lr = 0.3, wd = 0.1)
    ref <- as.array(mx.nd.sgd.update(nd(w0), nd(gdense), lr = 0.3, wd = 0.1))
    expect_equal(as.array(w)[, touched], ref[, touched], tolerance = tol)
    expect_equal(as.array(w)[, -touched], w0[, -touched], tolerance = tol)
    # AdaGrad and Adam: touched rows as the dense ops, the rest (and states) untouched
    h0 <- matrix(runif(27), 3, 9)
    w <- nd(w0); h <- nd(h0)
    mx.sparse.adagrad.update(w, grad, h, lr = 0.2, wd = 0.01)
    wr <- nd(w0); hr <- nd(h0)
    mx.nd.adagrad.update(wr, nd(gdense), hr, lr = 0.2, wd = 0.01, out = wr)
    expect_equal(as.array(w)[, touched], as.array(wr)[, touched], tolerance = tol)
    expect_equal(as.array(h)[, touched], as.array(hr)[, touched], tolerance = tol)
    expect_equal(as.array(w)[, -touched], w0[, -touched], tolerance = tol)
    expect_equal(as.array(h)[, -touched], h0[, -touched], tolerance = tol)
    # SGD with momentum: the touched rows (weight and momentum) as sgd_mom_update
    u0 <- matrix(rnorm(27) * 0.1, 3, 9)
    w <- nd(w0); u <- nd(u0)
    mx.sparse.sgd.update(w, grad, lr = 0.2, wd = 0.05, momentum = 0.9, mom = u)
    wr <- nd(w0); ur <- nd(u0)
    mx.nd.sgd.mom.update(wr, nd(gdense), ur, lr = 0.2, wd = 0.05, momentum = 0.9, out = wr)
    expect_equal(as.array(w)[, touched], as.array(wr)[, touched], tolerance = tol)
    expect_equal(as.array(u)[, touched], as.array(ur)[, touched], tolerance = tol)
    expect_equal(as.array(w)[, -touched], w0[, -touched], tolerance = tol)
    expect_equal(as.array(u)[, -touched], u0[, -touched], tolerance = tol)
    m0 <- matrix(rnorm(27) * 0.1, 3, 9); v0 <- matrix(runif(27) * 0.1, 3, 9)
    w <- nd(w0); mm <- nd(m0); vv <- nd(v0)
    mx.sparse.adam.update(w, grad, mm, vv, lr = 0.05, wd = 0.01)
    wr <- nd(w0); mr <- nd(m0); vr <- nd(v0)
    mx.nd.adam.update(wr, nd(gdense), mr, vr, lr = 0.05, wd = 0.01, out = wr)
    expect_equal(as.array(w)[, touched], as.array(wr)[, touched], tolerance = tol)
    expect_equal(as.array(mm)[, touched], as.array(mr)[, touched], tolerance = tol)
    expect_equal(as.array(vv)[, touched], as.array(vr)[, touched], tolerance = tol)
    expect_equal(as.array(w)[, -touched], w0[, -touched], tolerance = tol)
    expect_equal(as.array(mm)[, -touched], m0[, -touched], tolerance = tol)
  }
  # a gradient of another shape, or rows out of range, are errors
  w <- mx.nd.zeros(c(3, 9), ctx = cpu)
  expect_error(mx.sparse.sgd.update(w, mx.nd.sparse.row_sparse(matrix(1, 2, 1), 0, c(2, 9)), lr = 1),
               class = "mxnet_value_error")
  bad <- mxnet:::sparse.new("row_sparse", c(9, 3), data = mx.nd.ones(c(3, 1), ctx = cpu),
                            indices = mx.nd.array(12, ctx = cpu, dtype = "int64"))
  expect_error(mx.sparse.sgd.update(w, bad, lr = 1), class = "mxnet_error")
  expect_equal(as.array(w), matrix(0, 3, 9))
})

test_that("FeedForward training updates an Embedding with sparse_grad = TRUE lazily", {
  d <- mx.symbol.Variable("data")
  net <- function(sparse) mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(
    mx.symbol.Embedding(d, input_dim = 20, output_dim = 4, sparse_grad = sparse, name = "emb")),
    num_hidden = 1, name = "fc"), name = "lro")
  set.seed(3)
  # every batch of 8 (in order) holds each of the rows 0..9 among its 24
  # indices; rows 10..19 never occur
  x <- matrix(0, 3, 32)
  for (b in 0:3) x[, b * 8 + 1:8] <- c(0:9, sample(0:9, 14, TRUE))
  y <- runif(32)
  w0 <- matrix(runif(4 * 20, -0.5, 0.5), 4, 20)
  params <- list(emb_weight = mx.nd.array(w0, ctx = cpu), fc_weight = mx.nd.array(matrix(0.1, 12, 1), ctx = cpu),
                 fc_bias = mx.nd.array(0, ctx = cpu))
  train <- function(sparse, opt, ...)
    as.array(mx.model.FeedForward.create(net(sparse), X = mx.io.arrayiter(x, y, batch.size = 8, shuffle = FALSE),
                                         ctx = cpu, num.round = 2, optimizer = opt,
                                         arg.params = lapply(params, function(a) mx.nd.copyto(a, cpu)),
                                         verbose = FALSE, ...)$arg.params$emb_weight)
  for (o in list(list("sgd", momentum = 0.9), list("adam"), list("adagrad"))) {
    lazy <- do.call(train, c(list(TRUE), o, list(learning.rate = 0.1, wd = 0.05)))
    dense <- do.call(train, c(list(FALSE), o, list(learning.rate = 0.1, wd = 0.05)))
    expect_equal(lazy[, 11:20], w0[, 11:20], tolerance = 1e-7, info = o[[1]])   # never touched
    expect_gt(max(abs(dense[, 11:20] - w0[, 11:20])), 1e-3)                     # decayed densely
    expect_equal(lazy[, 1:10], dense[, 1:10], tolerance = 1e-5, info = o[[1]])  # touched every step
    expect_gt(max(abs(lazy[, 1:10] - w0[, 1:10])), 1e-3)
  }
  expect_error(train(TRUE, "rmsprop", learning.rate = 0.01), "lazy update", class = "mxnet_unsupported_error")
})

# ---- Embedding(sparse_grad = TRUE) outside the executor (R/model-sparse.R)

# Train with options(mxnet.embedding.split = split): TRUE computes the
# Embedding outside the executor, FALSE keeps the executor's dense gradient.
train_split <- function(split, ...) {
  old <- options(mxnet.embedding.split = split)
  on.exit(options(old))
  mx.model.FeedForward.create(..., ctx = cpu, verbose = FALSE)
}
# A copy of a list of NDArrays (arg.params are not consumed by training, but
# each run gets its own).
copy_params <- function(p) lapply(p, function(a) mx.nd.copyto(a, cpu))
# Does the executor of a run see the split? The traced grads helper counts.
split_calls <- function(expr) {
  count <- new.env()
  count$n <- 0
  suppressMessages(trace(mxnet:::model.split.grads, bquote(assign("n", .(count)$n + length(splits), envir = .(count))),
                         print = FALSE, where = asNamespace("mxnet")))
  on.exit(suppressMessages(untrace(mxnet:::model.split.grads, where = asNamespace("mxnet"))))
  force(expr)
  count$n
}

# train(cb) with cb as batch.end.callback: list(model, held), held the bytes
# the engine holds in each batch callback above what it held before training
# (after a garbage collection, so only live arrays count).
bytes_during <- function(train) {
  invisible(gc(verbose = FALSE))
  base <- mx.memory.stats()[["bytes_in_use"]]
  held <- numeric(0)
  cb <- function(iteration, nbatch, env, verbose) {
    invisible(gc(verbose = FALSE))
    held <<- c(held, mx.memory.stats()[["bytes_in_use"]] - base)
    TRUE
  }
  m <- train(cb)
  list(model = m, held = held)
}

test_that("the split Embedding's row_sparse gradient equals the dense Embedding backward", {
  set.seed(11)
  K <- 7; D <- 3
  for (dtype in c("float32", "float64")) {
    idx <- matrix(c(6, 0, 2.7, -1, 9, 2, 2, NaN, 4.2, 0), 2)    # clipped, truncated, repeated
    og <- array(rnorm(D * length(idx)), c(D, dim(idx)))
    batch <- list(data = mx.nd.array(idx, ctx = cpu))
    ex <- new.env()
    ex$ref.grad.arrays <- list(e_output_in = mx.nd.array(og, ctx = cpu, dtype = dtype))
    splits <- list(list(kind = "emb", weight = "e_weight", input = "e_output_in", index = "data",
                        params = list(input_dim = as.character(K), output_dim = as.character(D))))
    g <- mxnet:::model.split.grads(splits, list(ex), list(NULL, NULL), c("w0", "e_weight"), batch,
                                   list(fields = c(data = "data")))[[2]]
    expect_s3_class(g, "MXNDArrayRowSparse")
    expect_equal(dim(g), c(D, K))
    # plain R: rows read (0-based), each the sum of its positions' out-gradients
    v <- as.vector(idx)
    r <- ifelse(is.nan(v) | v <= 0, 0, pmin(trunc(v), K - 1))
    ref <- matrix(0, D, K)
    og2 <- matrix(og, D)
    for (k in seq_along(v)) ref[, r[k] + 1] <- ref[, r[k] + 1] + og2[, k]
    expect_equal(as.vector(as.array(g$indices)), sort(unique(r)))
    expect_nd_equal(g$data, ref[, sort(unique(r)) + 1], tolerance = tol_for(dtype) * 10)
    # the dense Embedding backward of an executor gives the same matrix
    net <- mx.symbol.Embedding(mx.symbol.Variable("data"), input_dim = K, output_dim = D, name = "e")
    dex <- mx.simple.bind(net, ctx = cpu, grad.req = c(e_weight = "write"), data = dim(idx))
    mx.exec.update.arg.arrays(dex, list(data = mx.nd.array(idx, ctx = cpu)), match.name = TRUE)
    mx.exec.forward(dex, is.train = TRUE)
    mx.exec.backward(dex, list(mx.nd.array(og, ctx = cpu)))
    expect_equal(as.array(g), as.array(dex$ref.grad.arrays$e_weight), tolerance = 1e-5)
  }
})

test_that("split Embeddings train as the executor's dense gradient does: several inputs, two consumers", {
  # two Embeddings, each with its own indices; neither index input remains an
  # executor argument; eval.data of another batch size shares the arrays
  set.seed(12)
  n <- 40
  d <- list(user = sample(0:4, n, TRUE), item = sample(0:9, n, TRUE))
  d$score <- (d$user + d$item) / 10
  iter <- function(bs) {
    src <- mx.io.arrayiter(rbind(d$user, d$item), d$score, batch.size = bs, shuffle = FALSE)
    it <- new.env()
    it$reset <- function() src$reset(); it$iter.next <- function() src$iter.next()
    it$num.pad <- function() src$num.pad()
    it$value <- function() {
      v <- src$value(); x <- as.array(v$data)
      list(user = mx.nd.array(x[1, ]), item = mx.nd.array(x[2, ]), score = v$label)
    }
    it
  }
  u <- mx.symbol.Embedding(mx.symbol.Variable("user"), input_dim = 5, output_dim = 3, sparse_grad = TRUE, name = "uemb")
  i <- mx.symbol.Embedding(mx.symbol.Variable("item"), input_dim = 10, output_dim = 3, sparse_grad = TRUE, name = "iemb")
  mf <- mx.symbol.LinearRegressionOutput(mx.symbol.Flatten(mx.symbol.sum_axis(u * i, axis = 1)),
                                         label = mx.symbol.Variable("score"), name = "pred")
  p0 <- list(uemb_weight = mx.nd.array(matrix(runif(15, -0.5, 0.5), 3), ctx = cpu),
             iemb_weight = mx.nd.array(matrix(runif(30, -0.5, 0.5), 3), ctx = cpu))
  run <- function(split, opt, ...)
    train_split(split, mf, X = iter(8), num.round = 3, optimizer = opt, arg.params = copy_params(p0),
                input.names = c("user", "item"), output.names = "score", eval.data = iter(5),
                eval.metric = mx.metric.rmse, ...)
  for (o in list(list("sgd", momentum = 0.9), list("adam"), list("adagrad"))) {
    calls <- split_calls(a <- do.call(run, c(list(TRUE), o, list(learning.rate = 0.1, wd = 0.01))))
    expect_equal(calls, 2 * 3 * 5)                       # 2 embeddings x 3 epochs x 5 batches
    b <- do.call(run, c(list(FALSE), o, list(learning.rate = 0.1, wd = 0.01)))
    for (w in names(p0)) expect_equal(as.array(a$arg.params[[w]]), as.array(b$arg.params[[w]]),
                                      tolerance = 1e-5, info = paste(o[[1]], w))
    expect_equal(a$history$eval.metric, b$history$eval.metric, tolerance = 1e-5)
    expect_gt(max(abs(as.array(a$arg.params$iemb_weight) - as.array(p0$iemb_weight))), 1e-3)
    # the model keeps the user's symbol: prediction and its arguments
    expect_equal(arguments(a$symbol), arguments(mf))
    expect_equal(predict(a, iter(8)), predict(b, iter(8)), tolerance = 1e-5)
  }
  # p0 is the caller's: training copies it
  expect_equal(dim(as.array(p0$uemb_weight)), c(3L, 5L))
  # an Embedding whose output feeds two consumers (and data that is also a
  # FullyConnected input: the index input stays an executor argument)
  x <- matrix(sample(0:11, 3 * 24, TRUE), 3, 24); y <- runif(24)
  dv <- mx.symbol.Variable("data")
  e <- mx.symbol.Embedding(dv, input_dim = 12, output_dim = 4, sparse_grad = TRUE, name = "emb")
  h <- mx.symbol.FullyConnected(mx.symbol.Flatten(e), num_hidden = 2, name = "fc1") +
    mx.symbol.FullyConnected(mx.symbol.Flatten(mx.symbol.tanh(e)), num_hidden = 2, name = "fc2") +
    mx.symbol.FullyConnected(dv, num_hidden = 2, name = "fc3")
  net2 <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(h, num_hidden = 1, name = "out"), name = "lro")
  mx.set.seed(3)
  p2 <- mx.model.init.params(net2, list(data = c(3, 6)), list(lro_label = 6), mx.init.uniform(0.3), cpu)$arg.params
  run2 <- function(split) train_split(split, net2, X = mx.io.arrayiter(x, y, batch.size = 6, shuffle = FALSE),
                                      num.round = 2, learning.rate = 0.05, momentum = 0.5,
                                      arg.params = copy_params(p2))
  expect_equal(split_calls(a <- run2(TRUE)), 2 * 4)
  b <- run2(FALSE)
  for (w in names(p2)) expect_equal(as.array(a$arg.params[[w]]), as.array(b$arg.params[[w]]), tolerance = 1e-5, info = w)
  # a weight two Embeddings share falls back to the executor's gradient, without error
  tied <- mx.symbol.Variable("tied_weight")
  e1 <- mx.symbol.Embedding(dv, weight = tied, input_dim = 12, output_dim = 4, sparse_grad = TRUE, name = "e1")
  e2 <- mx.symbol.Embedding(dv + 1, weight = tied, input_dim = 12, output_dim = 4, sparse_grad = TRUE, name = "e2")
  net3 <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(e1 * e2), num_hidden = 1), name = "lro")
  mx.set.seed(4)
  p3 <- mx.model.init.params(net3, list(data = c(3, 6)), list(lro_label = 6), mx.init.uniform(0.3), cpu)$arg.params
  run3 <- function(split) train_split(split, net3, X = mx.io.arrayiter(x, y, batch.size = 6, shuffle = FALSE),
                                      num.round = 2, learning.rate = 0.05, arg.params = copy_params(p3))
  expect_equal(split_calls(a <- run3(TRUE)), 0)
  b <- run3(FALSE)
  expect_equal(as.array(a$arg.params$tied_weight), as.array(b$arg.params$tied_weight), tolerance = 1e-6)
})

test_that("split Embeddings: restarts with begin.round, callbacks and checkpoints see the weight", {
  set.seed(13)
  x <- matrix(sample(0:29, 2 * 32, TRUE), 2, 32); y <- runif(32)
  net <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(
    mx.symbol.Embedding(mx.symbol.Variable("data"), input_dim = 30, output_dim = 5, sparse_grad = TRUE, name = "emb")),
    num_hidden = 1, name = "fc"), name = "lro")
  mx.set.seed(5)
  p <- mx.model.init.params(net, list(data = c(2, 8)), list(lro_label = 8), mx.init.uniform(0.3), cpu)$arg.params
  it <- function() mx.io.arrayiter(x, y, batch.size = 8, shuffle = FALSE)
  prefix <- file.path(tempfile("emb-split"), "m")
  dir.create(dirname(prefix))
  seen <- list()
  cb <- function(iteration, nbatch, env, verbose) {
    seen[[iteration]] <<- as.array(env$model$arg.params$emb_weight)
    TRUE
  }
  whole <- train_split(TRUE, net, X = it(), num.round = 3, learning.rate = 0.2, arg.params = copy_params(p),
                       epoch.end.callback = function(...) { cb(...); mx.callback.save.checkpoint(prefix)(...) })
  first <- train_split(TRUE, net, X = it(), num.round = 1, learning.rate = 0.2, arg.params = copy_params(p))
  rest <- train_split(TRUE, net, X = it(), begin.round = 2, num.round = 3, learning.rate = 0.2,
                      arg.params = first$arg.params)
  dense <- train_split(FALSE, net, X = it(), num.round = 3, learning.rate = 0.2, arg.params = copy_params(p))
  w <- as.array(whole$arg.params$emb_weight)
  expect_equal(as.array(rest$arg.params$emb_weight), w, tolerance = 1e-6)
  expect_equal(as.array(dense$arg.params$emb_weight), w, tolerance = 1e-5)
  expect_equal(seen[[1]], as.array(first$arg.params$emb_weight), tolerance = 1e-6)
  expect_equal(seen[[3]], w, tolerance = 1e-6)
  loaded <- mx.model.load(prefix, 3)
  expect_equal(as.array(loaded$arg.params$emb_weight), w, tolerance = 1e-6)
  expect_equal(predict(loaded, x, array.layout = "colmajor"), predict(whole, x, array.layout = "colmajor"),
               tolerance = 1e-6)
  # arg.params of the wrong shape are an error naming the weight
  bad <- copy_params(p)
  bad$emb_weight <- mx.nd.zeros(c(5, 31), ctx = cpu)
  expect_error(train_split(TRUE, net, X = it(), num.round = 1, arg.params = bad), "emb_weight")
})

test_that("a 10^6 x 16 Embedding trains with no vocabulary-sized array but the weight, touching the batch's rows only", {
  K <- 1e6; D <- 16
  set.seed(14)
  x <- matrix(sample.int(K, 4 * 64, TRUE) - 1, 4, 64)        # 2 batches of 32 x 4 indices
  y <- runif(64)
  net <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(
    mx.symbol.Embedding(mx.symbol.Variable("data"), input_dim = K, output_dim = D, sparse_grad = TRUE,
                        name = "emb")), num_hidden = 1, name = "fc"), name = "lro")
  vocab <- K * D * 4
  run <- function(split) bytes_during(function(cb) {
    mx.set.seed(6)
    train_split(split, net, X = mx.io.arrayiter(x, y, batch.size = 32, shuffle = FALSE), num.round = 1,
                initializer = mx.init.uniform(0.1), learning.rate = 0.5, batch.end.callback = cb)
  })
  a <- run(TRUE)
  expect_length(a$held, 2)
  expect_lt(max(a$held), 1.25 * vocab)             # the weight alone (SGD keeps no state)
  b <- run(FALSE)
  expect_gt(min(b$held), 1.9 * vocab)              # weight + the executor's dense gradient
  # the update changed the rows the batches use and no other (the weight as
  # initialised: the same seed, the same initializer)
  mx.set.seed(6)
  w0 <- mx.model.init.params(net, list(data = c(4, 32)), list(lro_label = 32), mx.init.uniform(0.1), cpu)$arg.params$emb_weight
  diff <- a$model$arg.params$emb_weight - w0
  changed <- which(as.vector(as.array(mxnet:::nd.invoke("_sparse_row_nnz", list(diff)))) > 0) - 1
  expect_equal(changed, sort(unique(as.vector(x))))
  expect_equal(as.array(a$model$arg.params$emb_weight), as.array(b$model$arg.params$emb_weight), tolerance = 1e-6)
})

test_that("CSR data: a first FullyConnected by sparse dot trains as dense data does, and predicts", {
  skip_if_not(has_matrix, "the Matrix package is not installed")
  set.seed(15)
  F <- 40; n <- 48
  S <- Matrix::rsparsematrix(F, n, 0.1)
  S[31:40, ] <- 0                                      # features no example has
  S <- methods::as(S, "CsparseMatrix")
  y <- as.numeric(Matrix::colSums(S[1:10, ]) > 0)
  dv <- mx.symbol.Variable("data")
  mlp <- function(no_bias) mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Activation(
    mx.symbol.FullyConnected(dv, num_hidden = 6, no_bias = no_bias, name = "fc1"), act_type = "tanh"),
    num_hidden = 2, name = "fc2"), name = "sm")
  dense <- as.matrix(S)                                # shuffled as S is, from the same seed
  for (no_bias in c(FALSE, TRUE)) {
    net <- mlp(no_bias)
    mx.set.seed(7)
    p <- mx.model.init.params(net, list(data = c(F, 16)), list(sm_label = 16), mx.init.uniform(0.3), cpu)$arg.params
    run <- function(X, ...) {
      mx.set.seed(12)
      mx.model.FeedForward.create(net, X = X, y = y, ctx = cpu, num.round = 3, array.batch.size = 16,
                                  arg.params = copy_params(p), array.layout = "colmajor", verbose = FALSE, ...)
    }
    # plain SGD: the lazy step is the dense step, the batches come in the same shuffled order
    expect_equal(split_calls(a <- run(S, learning.rate = 0.2)), 3 * 3)
    b <- run(dense, learning.rate = 0.2)
    for (w in names(p)) expect_equal(as.array(a$arg.params[[w]]), as.array(b$arg.params[[w]]), tolerance = 1e-5,
                                     info = paste(w, no_bias))
    expect_equal(dim(as.array(a$arg.params$fc1_weight)), c(F, 6L))
    expect_gt(max(abs(as.array(a$arg.params$fc1_weight) - as.array(p$fc1_weight))), 1e-3)
    # prediction from the Matrix, the CSR array and the dense matrix agree
    pd <- predict(b, as.matrix(S), array.layout = "colmajor")
    expect_equal(predict(a, S), pd, tolerance = 1e-5)
    expect_equal(predict(a, mx.nd.sparse.csr(S), array.batch.size = 10), pd, tolerance = 1e-5)
    # Adam with weight decay: the columns of features no batch holds stay as initialised
    ad <- run(S, optimizer = "adam", learning.rate = 0.05, wd = 0.1)
    expect_equal(as.array(ad$arg.params$fc1_weight)[31:40, ], as.array(p$fc1_weight)[31:40, ], tolerance = 1e-7)
    expect_gt(max(abs(as.array(ad$arg.params$fc1_weight)[1:30, ] - as.array(p$fc1_weight)[1:30, ])), 1e-3)
  }
  # examples as rows ("auto" sees the labels), eval.data as CSR, a CSR array as X
  net <- mlp(FALSE)
  m <- mx.model.FeedForward.create(net, X = Matrix::t(S), y = y, ctx = cpu, num.round = 2, array.batch.size = 16,
                                   learning.rate = 0.2, eval.data = list(data = S, label = y),
                                   eval.metric = mx.metric.accuracy, verbose = FALSE)
  expect_equal(nrow(m$history), 2L)
  expect_false(anyNA(m$history$validation))
  m2 <- mx.model.FeedForward.create(net, X = mx.nd.sparse.csr(S), y = y, ctx = cpu, num.round = 1,
                                    array.batch.size = 16, learning.rate = 0.2, verbose = FALSE)
  expect_equal(dim(predict(m2, S)), c(2L, n))
  # data that another layer reads too is given densely, batch by batch (no split)
  two <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(dv, num_hidden = 1, name = "a") +
                                          mx.symbol.FullyConnected(dv * 2, num_hidden = 1, name = "b"), name = "lro")
  mx.set.seed(8)
  p2 <- mx.model.init.params(two, list(data = c(F, 16)), list(lro_label = 16), mx.init.uniform(0.3), cpu)$arg.params
  run2 <- function(X) {
    mx.set.seed(13)
    mx.model.FeedForward.create(two, X = X, y = y, ctx = cpu, num.round = 2, array.batch.size = 16, learning.rate = 0.1,
                                arg.params = copy_params(p2), array.layout = "colmajor", verbose = FALSE)
  }
  expect_equal(split_calls(a <- run2(S)), 0)
  b <- run2(dense)
  for (w in names(p2)) expect_equal(as.array(a$arg.params[[w]]), as.array(b$arg.params[[w]]), tolerance = 1e-5)
  # bad sparse data: a classed error
  expect_error(mx.model.FeedForward.create(net, X = S, y = y[-1], ctx = cpu, num.round = 1, verbose = FALSE),
               class = "mxnet_value_error")
  expect_error(mx.model.FeedForward.create(net, X = mx.nd.sparse.csr(S), y = y, ctx = cpu, num.round = 1,
                                           array.layout = "rowmajor", verbose = FALSE), class = "mxnet_value_error")
})

# A small CSR problem that needs no Matrix package: F features x n examples
# (examples as R columns), the class from features 2:11; with `ids` the first
# feature is the example's position, so batches tell which examples they hold.
csr_problem <- function(n = 64, F = 30, ids = FALSE, seed = 21) {
  set.seed(seed)
  dm <- matrix(rbinom(F * n, 1, 0.25) * runif(F * n, 0.5, 1), F, n)
  y <- as.numeric(colSums(dm[2:11, ]) > 1.2)
  if (ids) dm[1, ] <- seq_len(n)
  list(dm = dm, X = mx.nd.cast.storage(dm, "csr"), y = y)
}

test_that("CSR training batches are shuffled once, as mx.io.arrayiter's: each example once an epoch, labels with them", {
  d <- csr_problem(ids = TRUE)
  visit <- function(seed, shuffle = TRUE) {
    mx.set.seed(seed)
    it <- mxnet:::sparse.model.iter(d$X, d$y, 16, "auto", "X", shuffle)
    epochs <- lapply(1:2, function(e) {
      it$reset()
      ids <- labs <- NULL
      while (it$iter.next()) {
        b <- it$value()
        expect_true(inherits(b$data, "MXNDArrayCSR"))
        ids <- c(ids, as.array(b$data)[1, ])
        labs <- c(labs, as.array(b$label))
      }
      list(ids = ids, labs = labs)
    })
    expect_identical(epochs[[2]], epochs[[1]])          # drawn once: reset() keeps the order
    epochs[[1]]
  }
  a <- visit(1)
  expect_false(identical(a$ids, as.numeric(seq_len(64))))
  expect_equal(sort(a$ids), seq_len(64))                # every example once
  expect_equal(a$labs, d$y[a$ids])                      # labels stay with their examples
  expect_identical(visit(1), a)                         # the seed fixes the order
  expect_false(identical(visit(2)$ids, a$ids))
  expect_equal(visit(1, shuffle = FALSE)$ids, seq_len(64))
  # the order mx.io.arrayiter draws from the same seed
  mx.set.seed(1)
  expect_equal(as.vector(mx.io.extract(mx.io.arrayiter(d$dm, d$y, batch.size = 16, shuffle = TRUE), "data")[1, ]),
               a$ids)
  # a worker's part (distributed training): slices of the same global batches
  mx.set.seed(1)
  it <- mxnet:::sparse.model.iter(d$X, d$y, 8, "auto", "X", TRUE)
  parts <- lapply(0:1, function(r) as.array(mx.io.extract(it$shard(2L, r), "data"))[1, ])
  expect_equal(as.vector(rbind(matrix(parts[[1]], 8), matrix(parts[[2]], 8))), a$ids)
})

test_that("FeedForward shuffles CSR data as it shuffles dense data, converges, and predicts in input order", {
  d <- csr_problem(n = 96)
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Activation(
    mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 8, name = "fc1"), act_type = "tanh"),
    num_hidden = 2, name = "fc2"), name = "sm")
  run <- function(X, ctx = cpu, num.round = 25, ...) {
    mx.set.seed(4)
    mx.model.FeedForward.create(net, X = X, y = d$y, ctx = ctx, num.round = num.round, array.batch.size = 16,
                                learning.rate = 0.3, initializer = mx.init.uniform(0.3),
                                eval.metric = mx.metric.accuracy, verbose = FALSE, ...)
  }
  expect_equal(split_calls(a <- run(d$X)), 25 * 6)       # the sparse dot path
  b <- run(d$dm, array.layout = "colmajor")              # dense data, shuffled by mx.io.arrayiter
  for (w in names(a$arg.params))
    expect_equal(as.array(a$arg.params[[w]]), as.array(b$arg.params[[w]]), tolerance = 1e-5, info = w)
  # in input order the model differs: the shuffle is real
  mx.set.seed(4)
  c0 <- mx.model.FeedForward.create(net, X = mx.io.arrayiter(d$dm, d$y, batch.size = 16), ctx = cpu, num.round = 25,
                                    learning.rate = 0.3, initializer = mx.init.uniform(0.3), verbose = FALSE)
  expect_gt(max(abs(as.array(c0$arg.params$fc1_weight) - as.array(a$arg.params$fc1_weight))), 1e-4)
  expect_gt(tail(a$history$train, 1), 0.95)
  p <- predict(a, d$X, array.batch.size = 20)            # input order, last batch padded
  expect_equal(dim(p), c(2L, 96L))
  expect_equal(p, predict(b, d$dm, array.layout = "colmajor"), tolerance = 1e-5)
  expect_gt(mean(max.col(t(p)) - 1 == d$y), 0.95)
  # the default device (a GPU under MXNET_TEST_CTX=gpu: batches become dense there)
  g <- run(d$X, ctx = mx.ctx.default(), num.round = 2)
  expect_equal(dim(predict(g, d$X)), c(2L, 96L))
})

test_that("CSR data on several CPU devices: the split's sparse dot per device slice trains as one device does", {
  d <- csr_problem(n = 48)
  net <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.Activation(
    mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 5, name = "fc1"), act_type = "tanh"),
    num_hidden = 1, name = "fc2"), name = "lro")
  run <- function(ctx, y = d$y, ...) {
    mx.set.seed(6)
    mx.model.FeedForward.create(net, X = d$X, y = y, ctx = ctx, num.round = 3, array.batch.size = 12,
                                initializer = mx.init.uniform(0.3), verbose = FALSE, ...)
  }
  for (opt in list(list(learning.rate = 0.1, momentum = 0.9), list(optimizer = "adam", learning.rate = 0.02, wd = 0.01))) {
    expect_equal(split_calls(a <- do.call(run, c(list(cpu), opt))), 3 * 4)
    expect_equal(split_calls(b <- do.call(run, c(list(list(mx.cpu(0), mx.cpu(1))), opt))), 3 * 4)
    for (w in names(a$arg.params))
      expect_equal(as.array(b$arg.params[[w]]), as.array(a$arg.params[[w]]), tolerance = 1e-5, info = w)
  }
  expect_equal(predict(b, d$X), predict(a, d$X), tolerance = 1e-5)
  # bad CSR data stays a classed error, with and without a shuffle
  expect_error(run(cpu, learning.rate = 0.1, y = d$y[-1]), class = "mxnet_value_error")
  expect_error(run(list(mx.cpu(0), mx.cpu(1)), learning.rate = 0.1, array.layout = "rowmajor"),
               class = "mxnet_value_error")
})

test_that("CSR data over 10^6 features: no feature-sized array but the weight, only the batch's features change", {
  skip_if_not(has_matrix, "the Matrix package is not installed")
  F <- 1e6; H <- 16; n <- 64
  set.seed(16)
  S <- Matrix::sparseMatrix(i = sample.int(F, 640, TRUE), j = rep(seq_len(n), each = 10), x = runif(640),
                            dims = c(F, n))
  y <- runif(n)
  net <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.FullyConnected(
    mx.symbol.Variable("data"), num_hidden = H, name = "fc1"), num_hidden = 1, name = "fc2"), name = "lro")
  r <- bytes_during(function(cb) {
    mx.set.seed(9)
    mx.model.FeedForward.create(net, X = S, y = y, ctx = cpu, num.round = 1, array.batch.size = 32,
                                initializer = mx.init.uniform(0.1), learning.rate = 0.5, batch.end.callback = cb,
                                verbose = FALSE)
  })
  m <- r$model
  expect_length(r$held, 2)
  expect_lt(max(r$held), 1.25 * F * H * 4)              # the (transposed) weight alone
  mx.set.seed(9)
  invisible(mx.runif(n, ctx = cpu))                      # training draws its shuffle first
  w0 <- mx.model.init.params(net, list(data = c(F, 32)), list(lro_label = 32), mx.init.uniform(0.1), cpu)$arg.params$fc1_weight
  diff <- mx.nd.transpose(m$arg.params$fc1_weight - w0)  # engine (features, hidden)
  changed <- which(as.vector(as.array(mxnet:::nd.invoke("_sparse_row_nnz", list(diff)))) > 0)
  expect_equal(changed, sort(unique(S@i + 1)))
})

test_that("the sparse logistic model learns a separable problem with each optimizer", {
  set.seed(7)
  nf <- 200; n <- 300
  # each example has 5 features; class 1 draws them from 0..99, class 0 from 100..199
  y <- rep(c(0, 1), length.out = n)
  idx <- lapply(y, function(c) sort(sample.int(100, 5) - 1 + (1 - c) * 100))
  X <- mx.nd.sparse.csr(rep(1, 5 * n), unlist(idx), seq(0, 5 * n, by = 5), c(nf, n))
  for (opt in c("sgd", "adagrad", "adam")) {
    lr <- switch(opt, sgd = 2, adagrad = 0.5, adam = 0.05)
    fit <- mx.sparse.logistic(X, y, optimizer = opt, learning.rate = lr, num.round = 8, batch.size = 32)
    expect_lt(fit$loss[8], fit$loss[1])
    expect_lt(fit$loss[8], 0.2)
    p <- predict(fit, X)
    expect_equal(as.numeric(p > 0.5), y)
  }
  # every feature in a batch moves, features never seen stay at 0
  X2 <- mx.nd.sparse.csr(c(1, 1), c(0, 3), c(0, 1, 2), c(10, 2))
  fit <- mx.sparse.logistic(X2, c(1, 0), learning.rate = 1, num.round = 1, batch.size = 2, shuffle = FALSE)
  w <- as.vector(as.array(fit$weight))
  expect_equal(w[-c(1, 4)], rep(0, 8))
  expect_equal(w[c(1, 4)], c(0.25, -0.25), tolerance = 1e-6)   # lr * (y - 0.5) / 2
  expect_error(mx.sparse.logistic(X2, c(1, 2)), class = "mxnet_value_error")
})

test_that("LibSVMIter with data.storage = 'csr' gives the dense iterator's batches as CSR", {
  f <- tempfile(fileext = ".t")
  writeLines(c("1 0:0.5 2:1.2", "-2", "-3 2:1.2 0:0.6 1:2.4", "4 2:-1.2", "5 1:3 1:4", ""), f)
  dense <- mx.io.LibSVMIter(data.libsvm = f, data.shape = 3, batch.size = 3)
  sparse <- mx.io.LibSVMIter(data.libsvm = f, data.shape = 3, batch.size = 3, data.storage = "csr")
  dense$reset(); sparse$reset()
  k <- 0
  while (dense$iter.next()) {
    expect_true(sparse$iter.next())
    k <- k + 1
    ds <- dense$value(); sp <- sparse$value()
    expect_s3_class(sp$data, "MXNDArrayCSR")
    expect_equal(dim(sp$data), c(3, 3))
    expect_equal(as.array(sp$data), as.array(ds$data), tolerance = 1e-6)
    expect_equal(as.array(sp$label), as.array(ds$label))
    expect_equal(sparse$num.pad(), dense$num.pad())
  }
  expect_equal(k, 2)
  expect_false(sparse$iter.next())
  # the repeated index keeps its last value (as the dense reader)
  sparse$reset(); sparse$iter.next(); sparse$iter.next()
  expect_equal(as.array(sparse$value()$data)[2, 2], 4)
  bad <- tempfile(fileext = ".t")
  writeLines(c("1 0:0.5", "2 7:1"), bad)
  expect_error(mx.io.LibSVMIter(data.libsvm = bad, data.shape = 3, batch.size = 1, data.storage = "csr"),
               "line 2", class = "mxnet_io_error")
  writeLines(c("1 0:0.5", "2 1:"), bad)
  expect_error(mx.io.LibSVMIter(data.libsvm = bad, data.shape = 3, batch.size = 1, data.storage = "csr"),
               class = "mxnet_io_error")
  expect_error(mx.io.LibSVMIter(data.libsvm = f, data.shape = 3, data.storage = "rsp"),
               class = "mxnet_value_error")
  # round.batch = FALSE: the last batch ends in empty rows labelled 0
  nr <- mx.io.LibSVMIter(data.libsvm = f, data.shape = 3, batch.size = 3, data.storage = "csr",
                         round.batch = FALSE)
  nr$reset(); nr$iter.next(); nr$iter.next()
  expect_equal(nr$num.pad(), 1)
  expect_equal(as.array(nr$value()$data), cbind(c(0, 0, -1.2), c(0, 4, 0), 0), tolerance = 1e-6)
  expect_equal(as.array(nr$value()$label), c(4, 5, 0))
  expect_false(nr$iter.next())
})

test_that("CSR components may be NDArrays, and LibSVM CSR batches take labels from a label file", {
  m <- sparse_matrix(5, 4)
  p <- c(0, cumsum(colSums(m != 0)))
  x <- mx.nd.sparse.csr(mx.nd.array(m[m != 0], ctx = cpu), mx.nd.array((row(m) - 1)[m != 0], ctx = cpu),
                        mx.nd.array(p, ctx = cpu), dim(m), dtype = "float64")
  expect_identical(mx.nd.dtype(x$data), "float64")
  expect_identical(mx.nd.dtype(x$indices), "int64")
  expect_equal(as.array(x), m, tolerance = 1e-6)
  f <- tempfile(fileext = ".t")
  lf <- tempfile(fileext = ".t")
  writeLines(c("0 1:1", "0 0:2", "0 2:3"), f)
  writeLines(c("0 0:1 1:5", "0 0:2", "0 1:7"), lf)
  it <- mx.io.LibSVMIter(data.libsvm = f, data.shape = 3, label.libsvm = lf, label.shape = 2,
                         batch.size = 2, data.storage = "csr")
  it$reset()
  expect_true(it$iter.next())
  expect_equal(as.array(it$value()$label), matrix(c(1, 5, 2, 0), 2))
  expect_equal(as.array(it$value()$data), matrix(c(0, 1, 0, 2, 0, 0), 3))
  expect_true(it$iter.next())
  expect_equal(it$num.pad(), 1L)
  expect_equal(as.array(it$value()$data), matrix(c(0, 0, 3, 0, 1, 0), 3))
  expect_false(it$iter.next())
  it$reset()
  expect_equal(it$num.pad(), 0L)
})

test_that("sparse arrays save and load in MXNet's row_sparse and csr records, beside dense ones", {
  set.seed(3)
  m <- matrix(0, 5, 7); m[sample(35, 9)] <- rnorm(9)
  x <- mx.nd.cast.storage(mx.nd.array(m, dtype = "float64", ctx = mx.cpu()), "csr")
  a <- array(0, c(3, 2, 6)); a[, , c(2, 5)] <- rnorm(12)
  r <- mx.nd.cast.storage(mx.nd.array(a, ctx = mx.cpu()), "row_sparse")
  d <- mx.nd.array(1:4)
  f <- tempfile(fileext = ".params")
  mx.nd.save(list(csr = x, dense = d, rsp = r), f)
  for (l in list(mx.nd.load(f), mx.nd.deserialize(mx.nd.serialize(list(csr = x, dense = d, rsp = r))))) {
    expect_identical(names(l), c("csr", "dense", "rsp"))
    expect_s3_class(l$csr, "MXNDArrayCSR")
    expect_s3_class(l$rsp, "MXNDArrayRowSparse")
    expect_identical(mx.nd.dtype(l$csr$data), "float64")
    expect_equal(as.array(l$csr), m)
    expect_equal(as.array(l$rsp), a, tolerance = 1e-7)
    expect_equal(as.array(l$dense), 1:4)
  }
  one <- mx.nd.load({ mx.nd.save(x, f); f })         # a lone sparse array
  expect_equal(as.array(one[[1]]), m)
})

test_that("a saved csr record has MXNet's layout, byte for byte", {
  x <- mx.nd.sparse.csr(c(1, 2, 3), indices = c(0, 2, 2), indptr = c(0, 2, 3), shape = c(3, 2))
  b <- mx.nd.serialize(x)
  con <- rawConnection(b); on.exit(close(con))
  u32 <- function(n = 1) readBin(con, "integer", n, size = 4, endian = "little")
  u64 <- function(n = 1) vapply(seq_len(n), function(i) sum(readBin(con, "integer", 2, size = 4) * c(1, 2^32)), 0)
  shape <- function() { k <- u32(); u64(k) }
  expect_equal(u64(3), c(0x112, 0, 1))                 # list magic, reserved, one array
  expect_identical(u32(), -107742519L)                 # 0xF993FAC9: V2 record
  expect_identical(u32(), 2L)                          # csr
  expect_equal(shape(), 3)                             # storage shape: nnz
  expect_equal(shape(), c(2, 3))                       # C shape (rows, cols) of the R 3 x 2 matrix
  expect_identical(u32(2), c(1L, 0L))                  # cpu(0)
  expect_identical(u32(), 0L)                          # float32
  expect_identical(u32(), 6L); expect_equal(shape(), 3)   # indptr: int64, rows + 1
  expect_identical(u32(), 6L); expect_equal(shape(), 3)   # indices: int64, nnz
  expect_equal(readBin(con, "numeric", 3, size = 4), c(1, 2, 3))
  expect_equal(u64(3), c(0, 2, 3))
  expect_equal(u64(3), c(0, 2, 2))
  expect_equal(u64(), 0)                               # no names
})

test_that("corrupt sparse records give io errors naming the file and array, never a crash", {
  x <- mx.nd.sparse.csr(c(1, 2, 3), indices = c(0, 2, 2), indptr = c(0, 2, 3), shape = c(3, 2))
  b <- mx.nd.serialize(list(w = x))
  f <- tempfile()
  bad <- b; bad[length(b) - 8 - 1 - 24 - 24 + 1] <- as.raw(9)   # indptr[1] = 9
  writeBin(bad, f)
  expect_error(mx.nd.load(f), "array 1 is not a valid csr array", class = "mxnet_io_error")
  expect_error(mx.nd.load(f), basename(f), fixed = TRUE)
  writeBin(b[seq_len(length(b) - 30)], f)
  expect_error(mx.nd.load(f), "truncated", class = "mxnet_error")
  for (k in seq(25, length(b), by = 3)) {                           # every truncation point
    r <- tryCatch({ mx.nd.deserialize(b[seq_len(k)]); "ok" }, mxnet_error = function(e) "error")
    expect_identical(r, if (k == length(b)) "ok" else "error")
  }
})

test_that("split Embeddings on several CPU devices train as one device and as the dense gradient do", {
  # each device looks up its slice of the batch into its executor's input;
  # the weight's row_sparse gradient comes from the devices' out-gradients
  set.seed(15)
  x <- matrix(sample(0:19, 3 * 36, TRUE), 3, 36); y <- runif(36)
  net <- mx.symbol.LinearRegressionOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(mx.symbol.tanh(
    mx.symbol.Embedding(mx.symbol.Variable("data"), input_dim = 20, output_dim = 4, sparse_grad = TRUE,
                        name = "emb"))), num_hidden = 1, name = "fc"), name = "lro")
  mx.set.seed(5)
  p0 <- mx.model.init.params(net, list(data = c(3, 12)), list(lro_label = 12), mx.init.uniform(0.3), cpu)$arg.params
  run <- function(split, ctx, ...) {
    old <- options(mxnet.embedding.split = split)
    on.exit(options(old))
    mx.set.seed(6)                                       # the same shuffle
    mx.model.FeedForward.create(net, X = x, y = y, ctx = ctx, num.round = 3, array.batch.size = 12,
                                arg.params = copy_params(p0), verbose = FALSE, ...)
  }
  two <- list(mx.cpu(0), mx.cpu(1))
  for (opt in list(list(learning.rate = 0.1, momentum = 0.9), list(optimizer = "adam", learning.rate = 0.05, wd = 0.01))) {
    expect_equal(split_calls(a <- do.call(run, c(list(TRUE, cpu), opt))), 3 * 3)
    expect_equal(split_calls(b <- do.call(run, c(list(TRUE, two), opt))), 3 * 3)
    dense <- do.call(run, c(list(FALSE, two), opt))
    for (w in names(p0)) {
      expect_equal(as.array(b$arg.params[[w]]), as.array(a$arg.params[[w]]), tolerance = 1e-5, info = w)
      expect_equal(as.array(b$arg.params[[w]]), as.array(dense$arg.params[[w]]), tolerance = 1e-5, info = w)
    }
    expect_gt(max(abs(as.array(b$arg.params$emb_weight) - as.array(p0$emb_weight))), 1e-3)
  }
  expect_equal(predict(b, x), predict(a, x), tolerance = 1e-5)
})
