# Tensor ops of src/ops/tensor.c (broadcast_to/axis/like, add_n, cumsum,
# topk/sort/argsort, reshape_like, diag, argmax_channel, batch_take,
# gather_nd/scatter_nd, erf/erfinv) and Cast between every dtype, against
# plain R.  Engine axis a of a k-dimensional array is R dimension k - a; a
# matrix's engine rows are its R columns.  Indices are 0-based.

CPU <- mx.cpu()
MOVE_DTYPES <- c("float32", "float64", "float16", "uint8", "int8", "int32", "int64")

nd <- function(x, dtype = "float64") mx.nd.array(x, ctx = CPU, dtype = dtype)
vals_for <- function(dims, dtype) {
  if (dtype == "int8") return(array(as.double(sample(-20:20, prod(dims), TRUE)), dims))
  in_dtype(rand_array(dims, dtype), dtype)
}

test_that("broadcast_to repeats length-1 dimensions, 0 keeps a dimension, every dtype", {
  set.seed(1)
  for (dt in MOVE_DTYPES) {
    x <- vals_for(c(1, 3, 1), dt)
    y <- mx.nd.broadcast.to(nd(x, dt), shape = c(4, 3, 2))
    expect_identical(mx.nd.dtype(y), dt)
    expect_equal(as.array(y), r_broadcast(x, c(4, 3, 2)), info = dt)
    expect_equal(as.array(mx.nd.broadcast.to(nd(x, dt), shape = c(5, 0, 0))),
                 r_broadcast(x, c(5, 3, 1)), info = dt)
  }
  e <- tryCatch(mx.nd.broadcast.to(nd(array(1:6, c(2, 3))), shape = c(4, 3)), error = identity)
  expect_s3_class(e, "mxnet_shape_error")
  expect_error(mx.nd.broadcast.to(nd(1:3), shape = c(3, 2)), "'shape'", class = "mxnet_value_error")
  check_grad("broadcast_to", list(array(runif(3), c(1, 3, 1))), list(shape = c(4, 3, 2)))
})

test_that("broadcast_axis (alias broadcast_axes) and broadcast_like", {
  set.seed(2)
  x <- array(runif(6), c(1, 3, 2))
  # engine axis 2 of a 3-d array is R dimension 1
  expect_equal(as.array(mx.nd.broadcast.axis(nd(x), axis = 2, size = 5)), r_broadcast(x, c(5, 3, 2)))
  z <- array(runif(3), c(1, 3, 1))
  expect_equal(as.array(mx.nd.broadcast.axes(nd(z), axis = c(0, 2), size = c(2, 4))),
               r_broadcast(z, c(4, 3, 2)))
  expect_error(mx.nd.broadcast.axis(nd(x), axis = 1, size = 2), "length 1", class = "mxnet_shape_error")
  expect_error(mx.nd.broadcast.axis(nd(z), axis = c(0, 2), size = 2), "'size'", class = "mxnet_value_error")
  rhs <- nd(array(0, c(4, 3, 2)), "int32")
  y <- mx.nd.broadcast.like(nd(z, "float32"), rhs)
  expect_identical(mx.nd.dtype(y), "float32")
  expect_equal(as.array(y), r_broadcast(in_dtype(z, "float32"), c(4, 3, 2)), tolerance = 1e-7)
  # lhs R dims (1, 3) = engine (3, 1); engine axis 1 takes rhs engine axis 0 (R dim 2, length 7)
  l <- array(runif(3), c(1, 3))
  y2 <- mx.nd.broadcast.like(nd(l), nd(array(0, c(2, 7))), lhs_axes = 1, rhs_axes = 0)
  expect_equal(as.array(y2), r_broadcast(l, c(7, 3)))
  expect_error(mx.nd.broadcast.like(nd(l), nd(array(0, c(2, 7))), lhs_axes = 1),
               "rhs_axes", class = "mxnet_value_error")
  check_grad("broadcast_axis", list(x), list(axis = 2, size = 3))
  check_grad("broadcast_like", list(z, array(0, c(4, 3, 2))), list(), wrt = 1)
})

test_that("add_n (alias ElementWiseSum) adds any number of arrays", {
  set.seed(3)
  xs <- lapply(1:4, function(i) array(runif(15), c(3, 5)))
  y <- mx.nd.add.n(nd(xs[[1]]), nd(xs[[2]]), nd(xs[[3]]), nd(xs[[4]]))
  expect_equal(as.array(y), Reduce(`+`, xs))
  y2 <- mx.nd.ElementWiseSum(nd(xs[[1]], "float32"), nd(xs[[2]], "float32"))
  expect_equal(as.array(y2), in_dtype(xs[[1]], "float32") + in_dtype(xs[[2]], "float32"), tolerance = 1e-6)
  big <- nd(c(2^31 - 1, 5), "int32")
  expect_equal(as.array(mx.nd.add.n(big, nd(c(1, 5), "int32"))), c(-2^31, 10))   # wraps as MXNet
  expect_error(mx.nd.add.n(nd(1:3), nd(1:4)), "shape", class = "mxnet_shape_error")
  check_grad("add_n", xs[1:3], list(num_args = 3))
})

test_that("cumsum along an axis and over the flattened array", {
  set.seed(4)
  x <- array(runif(24, -2, 2), c(4, 3, 2))
  expect_equal(as.array(mx.nd.cumsum(nd(x))), cumsum(as.vector(x)))
  # engine axis 2 = R dimension 1
  expect_equal(as.array(mx.nd.cumsum(nd(x), axis = 2)), aperm(apply(x, c(2, 3), cumsum), c(1, 2, 3)))
  # engine axis 0 = R dimension 3
  ref <- x
  ref[, , 2] <- x[, , 1] + x[, , 2]
  expect_equal(as.array(mx.nd.cumsum(nd(x), axis = 0)), ref)
  yi <- mx.nd.cumsum(nd(1:5, "int32"), dtype = "float64")
  expect_identical(mx.nd.dtype(yi), "float64")
  expect_equal(as.array(yi), cumsum(1:5))
  expect_error(mx.nd.cumsum(nd(x), axis = 3), "axis", class = "mxnet_value_error")
  check_grad("cumsum", list(x), list(axis = 1))
  check_grad("cumsum", list(x), list())
})

test_that("topk returns values, indices, masks or both; sort and argsort", {
  set.seed(5)
  x <- matrix(sample(40, 20) / 4, 5, 4)   # distinct values
  k <- 3
  # engine axis -1 = R dimension 1: each R column is one line
  ord <- apply(x, 2, order, decreasing = TRUE)[1:k, ]
  vals <- sapply(1:4, function(j) x[ord[, j], j])
  expect_equal(as.array(mx.nd.topk(nd(x), k = k)), ord - 1)
  expect_equal(as.array(mx.nd.topk(nd(x), k = k, ret_typ = "value")), vals)
  both <- mx.nd.topk(nd(x), k = k, ret_typ = "both", dtype = "int32")
  expect_equal(as.array(both[[1]]), vals)
  expect_identical(mx.nd.dtype(both[[2]]), "int32")
  expect_equal(as.array(both[[2]]), ord - 1)
  mask <- array(0, dim(x))
  for (j in 1:4) mask[ord[, j], j] <- 1
  expect_equal(as.array(mx.nd.topk(nd(x), k = k, ret_typ = "mask")), mask)
  asc <- apply(x, 2, order)[1:2, ]
  expect_equal(as.array(mx.nd.topk(nd(x), k = 2, is_ascend = TRUE)), asc - 1)
  expect_equal(as.array(mx.nd.topk(nd(x), axis = "None", k = 4, ret_typ = "value")),
               sort(as.vector(x), decreasing = TRUE)[1:4])
  # engine axis 0 = R dimension 2 (along each R row)
  expect_equal(as.array(mx.nd.topk(nd(x), axis = 0, k = 1, ret_typ = "value")),
               matrix(apply(x, 1, max), 5, 1))
  for (dt in c("float32", "int32", "int8", "uint8", "float16")) {
    xi <- in_dtype(matrix(sample(0:60, 20), 5, 4), dt)
    expect_equal(as.array(mx.nd.sort(nd(xi, dt))), apply(xi, 2, sort), info = dt)
    expect_equal(as.array(mx.nd.argsort(nd(xi, dt), is_ascend = FALSE)),
                 apply(xi, 2, order, decreasing = TRUE) - 1, info = dt)
  }
  expect_equal(as.array(mx.nd.sort(nd(x), axis = "None", is_ascend = FALSE)), sort(as.vector(x), decreasing = TRUE))
  expect_identical(mx.nd.dtype(mx.nd.argsort(nd(x), dtype = "int64")), "int64")
  expect_error(mx.nd.topk(nd(x), k = 6), "'k'", class = "mxnet_value_error")
  expect_error(mx.nd.topk(nd(x), ret_typ = "foo"), "ret_typ")
  check_grad("topk", list(x), list(k = 2, ret_typ = "value"))
  check_grad("topk", list(x), list(k = 2, ret_typ = "both", axis = 0, dtype = "float64"))
  check_grad("sort", list(x), list(is_ascend = FALSE))
})

test_that("reshape_like reshapes to rhs's shape or part of it", {
  set.seed(6)
  x <- array(runif(12), c(6, 2))
  y <- mx.nd.reshape.like(nd(x), nd(array(0, c(3, 4)), "int32"))
  expect_equal(as.array(y), array(x, c(3, 4)))
  # engine (2, 6): replace engine axis 1 (6) by rhs's engine axes 0..1 = (2, 3)
  y2 <- mx.nd.reshape.like(nd(x), nd(array(0, c(3, 2))), lhs_begin = 1, lhs_end = 2,
                           rhs_begin = 0, rhs_end = 2)
  expect_equal(as.array(y2), array(x, c(3, 2, 2)))
  expect_error(mx.nd.reshape.like(nd(x), nd(array(0, c(5, 2)))), "sizes differ", class = "mxnet_shape_error")
  check_grad("reshape_like", list(x, array(0, c(4, 3))), list(), wrt = 1)
})

test_that("diag builds and extracts diagonals", {
  set.seed(7)
  v <- runif(3)
  expect_equal(as.array(mx.nd.diag(nd(v))), diag(v))
  # engine k = 1 is above the engine diagonal: below it in the R matrix
  m <- matrix(0, 4, 4)
  m[cbind(2:4, 1:3)] <- v
  expect_equal(as.array(mx.nd.diag(nd(v), k = 1)), m)
  x <- matrix(runif(12), 3, 4)
  expect_equal(as.array(mx.nd.diag(nd(x))), diag(x))
  expect_equal(as.array(mx.nd.diag(nd(x), k = -1)), x[cbind(1:3, 2:4)])
  expect_equal(as.array(mx.nd.diag(nd(x), k = 2)), x[cbind(3, 1)])
  a <- array(runif(24), c(4, 3, 2))
  # engine (2, 3, 4), axes 0 and 1 = R dims 3 and 2; the rest (R dim 1) stays
  ref <- t(sapply(1:2, function(t) a[, t, t]))
  expect_equal(as.array(mx.nd.diag(nd(a))), ref)
  expect_error(mx.nd.diag(nd(a), axis1 = 1, axis2 = 1), "differ", class = "mxnet_value_error")
  check_grad("diag", list(v), list(k = -1))
  check_grad("diag", list(x), list(k = 1))
  check_grad("diag", list(a), list(axis1 = 2, axis2 = 0))
})

test_that("argmax_channel and batch_take", {
  set.seed(8)
  x <- matrix(runif(20), 5, 4)
  expect_equal(as.array(mx.nd.argmax.channel(nd(x))), apply(x, 2, which.max) - 1)
  a <- matrix(runif(20), 5, 4)
  idx <- c(0, 4, 2, 7)   # 7 is clipped to 4
  ref <- sapply(1:4, function(i) a[min(idx[i], 4) + 1, i])
  for (dt in c("float32", "int32")) {
    ad <- in_dtype(a * 10, dt)
    expect_equal(as.array(mx.nd.batch.take(nd(ad, dt), nd(idx, "int32"))),
                 sapply(1:4, function(i) ad[min(idx[i], 4) + 1, i]), info = dt)
  }
  expect_equal(as.array(mx.nd.batch.take(nd(a), nd(idx))), ref)
  expect_error(mx.nd.batch.take(nd(a), nd(1:3)), "row", class = "mxnet_shape_error")
})

test_that("gather_nd and scatter_nd are inverse index ops", {
  set.seed(9)
  m <- matrix(runif(12), 3, 4)          # engine shape (4, 3)
  ind <- matrix(c(0, 1, 3, -1, 0, 2), 3, 2)  # engine (2, 3): tuples (0,-1), (1,0), (3,2)
  ref <- c(m[3, 1], m[1, 2], m[3, 4])
  expect_equal(as.array(mx.nd.gather.nd(nd(m), nd(ind))), ref)
  # slices: one index per tuple picks engine rows (R columns)
  expect_equal(as.array(mx.nd.gather.nd(nd(m), nd(matrix(c(2, 0), 2, 1)))), m[, c(3, 1)])
  s <- mx.nd.scatter.nd(nd(ref), nd(ind), shape = c(3, 4))
  z <- matrix(0, 3, 4)
  z[cbind(c(3, 1, 3), c(1, 2, 4))] <- ref
  expect_equal(as.array(s), z)
  for (dt in c("int8", "float16", "int64"))
    expect_equal(as.array(mx.nd.gather.nd(nd(round(m * 9), dt), nd(ind, "int32"))),
                 round(ref * 9), info = dt)
  expect_error(mx.nd.gather.nd(nd(m), nd(matrix(c(0, 5), 1, 2))), "out of range", class = "mxnet_value_error")
  expect_error(mx.nd.scatter.nd(nd(1:2), nd(ind), shape = c(3, 4)), "data has shape", class = "mxnet_shape_error")
  check_grad("gather_nd", list(m, ind), list(), wrt = 1)
  check_grad("scatter_nd", list(ref, ind), list(shape = c(3, 4)), wrt = 1)
})

test_that("choose_element_0index is pick", {
  x <- matrix(runif(12), 3, 4)
  i <- c(0, 2, 1, 2)
  expect_equal(as.array(mx.nd.choose.element.0index(nd(x), nd(i))), as.array(mx.nd.pick(nd(x), nd(i))))
  expect_equal(as.array(mx.nd.choose.element.0index(nd(x), nd(i))), x[cbind(i + 1, 1:4)])
})

test_that("erf and erfinv match R's normal distribution functions", {
  x <- c(-3, -1.5, -0.2, 0, 0.3, 1, 2.5)
  r_erf <- function(x) 2 * pnorm(x * sqrt(2)) - 1
  r_erfinv <- function(y) qnorm((y + 1) / 2) / sqrt(2)
  expect_equal(as.array(mx.nd.erf(nd(x))), r_erf(x), tolerance = 1e-12)
  expect_equal(as.array(mx.nd.erf(nd(x, "float32"))), r_erf(in_dtype(x, "float32")), tolerance = 1e-6)
  y <- c(-0.999, -0.7, -0.1, 0, 0.2, 0.9, 0.99999)
  expect_equal(as.array(mx.nd.erfinv(nd(y))), r_erfinv(y), tolerance = 1e-10)
  expect_equal(as.array(mx.nd.erfinv(nd(c(-1, 1, 2)))), c(-Inf, Inf, NaN))
  expect_equal(as.array(mx.nd.erf(nd(c(-2, 0, 3), "int32"))), c(0, 0, 0))
  check_grad("erf", list(x), list())
  check_grad("erfinv", list(y[2:6]), list())
})

test_that("Cast converts between every dtype, saturating into integer ranges", {
  all_dt <- c("float32", "float64", "float16", "bfloat16", "uint8", "int8", "int32", "int64")
  v <- c(0, 1, 2, 7, 100, 120)   # exact in every dtype
  for (from in all_dt) for (to in all_dt) {
    y <- mx.nd.Cast(nd(v, from), dtype = to)
    expect_identical(mx.nd.dtype(y), to)
    expect_equal(as.array(y), v, info = paste(from, "->", to))
    expect_equal(as.array(mx.nd.cast(y, dtype = from)), v, info = paste(to, "->", from, "round trip"))
  }
  f <- nd(c(-300.7, -128.5, -1.9, -0.5, 0.5, 1.9, 127.6, 255.9, 300, NaN))
  # floats truncate towards zero, then saturate in the target's range; NaN gives 0
  expect_equal(as.array(mx.nd.Cast(f, dtype = "int8")), c(-128, -128, -1, 0, 0, 1, 127, 127, 127, 0))
  expect_equal(as.array(mx.nd.Cast(f, dtype = "uint8")), c(0, 0, 0, 0, 0, 1, 127, 255, 255, 0))
  expect_equal(as.array(mx.nd.Cast(f, dtype = "int32")), c(-300, -128, -1, 0, 0, 1, 127, 255, 300, 0))
  expect_equal(as.array(mx.nd.Cast(nd(c(1e10, -1e10)), dtype = "int32")), c(2^31 - 1, -2^31))
  # integer to narrower integer saturates as well
  expect_equal(as.array(mx.nd.Cast(nd(c(-1000, -5, 200, 1000), "int32"), dtype = "int8")), c(-128, -5, 127, 127))
  expect_equal(as.array(mx.nd.Cast(nd(c(-5, 200, 1000), "int64"), dtype = "uint8")), c(0, 200, 255))
  expect_equal(as.array(mx.nd.Cast(nd(c(-5, 100), "int8"), dtype = "uint8")), c(0, 100))
  # float16 rounds to nearest even and overflows to Inf
  expect_equal(as.array(mx.nd.Cast(nd(c(2049, 70000, -70000)), dtype = "float16")), c(2048, Inf, -Inf))
  expect_error(mx.nd.Cast(nd(1), dtype = "complex64"), "dtype")
})

test_that("shape_array, size_array and slice_like", {
  x <- array(runif(24), c(4, 3, 2))
  s <- mx.nd.shape.array(nd(x))
  expect_identical(mx.nd.dtype(s), "int64")
  expect_equal(as.array(s), c(2, 3, 4))            # engine order: rev(dim(x))
  expect_equal(as.array(mx.nd.size.array(nd(x))), 24)
  like <- nd(array(0, c(2, 3, 1)), "int32")
  expect_equal(as.array(mx.nd.slice.like(nd(x), like)), x[1:2, , 1, drop = FALSE])
  # engine axis 2 only (R dimension 1)
  expect_equal(as.array(mx.nd.slice.like(nd(x), like, axes = 2)), x[1:2, , , drop = FALSE])
  expect_error(mx.nd.slice.like(nd(x), nd(array(0, c(5, 3, 2)))), "larger", class = "mxnet_shape_error")
  check_grad("slice_like", list(x, array(0, c(3, 2, 1))), list(), wrt = 1)
})

test_that("ravel_multi_index and unravel_index are inverses", {
  # coordinates in engine order (rows of an engine (2, 4) array = columns of this R matrix)
  co <- matrix(c(0, 1, 2, 1, 3, 0, 4, 2), 4, 2)    # tuples (0,3), (1,0), (2,4), (1,2)
  dims <- c(5, 3)                                   # R order: engine shape (3, 5)
  flat <- co[, 1] * 5 + co[, 2]
  expect_equal(as.array(mx.nd.ravel.multi.index(nd(co), shape = dims)), flat)
  expect_equal(as.array(mx.nd.unravel.index(nd(flat), shape = dims)), co)
  expect_error(mx.nd.ravel.multi.index(nd(co), shape = c(5, 3, 2)), "coordinates", class = "mxnet_shape_error")
})

test_that("depth_to_space and space_to_depth move blocks as MXNet's reshape-transpose", {
  N <- 2; C <- 8; H <- 2; W <- 3; b <- 2
  x <- array(seq_len(N * C * H * W), c(W, H, C, N))   # engine (N, C, H, W)
  # reference in engine index terms: y[n, c, h b + i, w b + j] = x[n, (i b + j) C' + c, h, w]
  Cp <- C / b^2
  y <- array(0, c(W * b, H * b, Cp, N))
  for (n in 1:N) for (cc in 0:(Cp - 1)) for (yy in 0:(H * b - 1)) for (xx in 0:(W * b - 1)) {
    i <- yy %% b; j <- xx %% b
    y[xx + 1, yy + 1, cc + 1, n] <- x[xx %/% b + 1, yy %/% b + 1, (i * b + j) * Cp + cc + 1, n]
  }
  for (dt in c("float32", "int8")) {
    d2s <- mx.nd.depth.to.space(nd(x %% 100, dt), block_size = b)
    expect_equal(as.array(d2s), y %% 100, info = dt)
    expect_equal(as.array(mx.nd.space.to.depth(d2s, block_size = b)), x %% 100, info = dt)
  }
  expect_error(mx.nd.depth.to.space(nd(array(0, c(2, 2, 3, 1))), block_size = 2), "multiple", class = "mxnet_shape_error")
  check_grad("depth_to_space", list(array(runif(48), c(3, 2, 8, 1))), list(block_size = 2))
  check_grad("space_to_depth", list(array(runif(48), c(4, 6, 2, 1))), list(block_size = 2))
})

test_that("rcbrt is 1 / cbrt", {
  x <- c(0.2, 1, 8, 27.5, 3)
  expect_equal(as.array(mx.nd.rcbrt(nd(x))), 1 / x^(1 / 3), tolerance = 1e-12)
  expect_equal(as.array(mx.nd.rcbrt(nd(-8))), -0.5)
  check_grad("rcbrt", list(x), list())
})

test_that("khatri_rao is the column-wise Kronecker product", {
  set.seed(10)
  # R matrices share their rows (engine columns)
  A1 <- matrix(rnorm(6), 3, 2); A2 <- matrix(rnorm(12), 3, 4); A3 <- matrix(rnorm(3), 3, 1)
  ref <- t(sapply(1:3, function(k) kronecker(kronecker(A1[k, ], A2[k, ]), A3[k, ])))
  expect_equal(as.array(mx.nd.khatri.rao(nd(A1), nd(A2), nd(A3))), ref)
  expect_error(mx.nd.khatri.rao(nd(A1), nd(matrix(1, 2, 2))), "columns", class = "mxnet_shape_error")
  check_grad("khatri_rao", list(A1, A2), list(num_args = 2))
})
