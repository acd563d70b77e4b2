# Reductions: values against base R for every dtype over single, several,
# negative and excluded axes, with keepdims; empty, one-element and
# 8-dimensional arrays; chunked and parallel paths; parameter errors.
#
# Axes are C axes: axis k is R dimension ndim - k (r_dim_of).

INT_RANGE <- list(uint8 = c(0, 255), int32 = c(-2^31, 2^31 - 1), int64 = c(-2^63, 2^63))
r_sat <- function(v, dtype) {
  v[is.nan(v)] <- 0
  trunc(pmin(pmax(v, INT_RANGE[[dtype]][1]), INT_RANGE[[dtype]][2]))
}

r_which_nan_first <- function(v, pick) {
  if (any(is.nan(v))) which(is.nan(v))[1] - 1 else pick(v) - 1
}

# name = list(op, params, float reference, integer reference (NULL: the float
# one, saturated), needs a non-empty axis?)
reduce_ops <- list(
  sum = list("sum", list(), sum, NULL, FALSE),
  mean = list("mean", list(), mean,
              function(v) if (length(v)) trunc(sum(v) / length(v)) else 0, FALSE),
  prod = list("prod", list(), prod, NULL, FALSE),
  nansum = list("nansum", list(), function(v) sum(v[!is.nan(v)]), NULL, FALSE),
  nanprod = list("nanprod", list(), function(v) prod(v[!is.nan(v)]), NULL, FALSE),
  max = list("max", list(), max, NULL, TRUE),
  min = list("min", list(), min, NULL, TRUE),
  norm1 = list("norm", list(ord = 1), function(v) sum(abs(v)), NULL, FALSE),
  norm2 = list("norm", list(ord = 2), function(v) sqrt(sum(v^2)), NULL, FALSE)
)

# R reference of a reduction over C axes `axes` (NULL = all) of R array a.
r_reduce <- function(a, axes, f, keepdims = FALSE, exclude = FALSE) {
  d <- dim(a) %||% length(a)
  nd <- length(d)
  rd <- if (is.null(axes) || !length(axes)) seq_len(nd) else sort(unique(r_dim_of((axes + nd) %% nd, nd)))
  if (exclude && length(axes)) rd <- setdiff(seq_len(nd), rd)
  kept <- setdiff(seq_len(nd), rd)
  m <- matrix(aperm(array(as.vector(a), d), c(kept, rd)), nrow = prod(d[kept]))
  v <- vapply(seq_len(nrow(m)), function(i) f(m[i, ]), 0)
  od <- if (keepdims) replace(d, rd, 1L) else if (length(kept)) d[kept] else 1L
  array(v, od)
}

reduce_cases <- list(
  # dims, list of (axis, keepdims, exclude)
  list(c(3, 4, 5), list(list(NULL, FALSE, FALSE), list(0, FALSE, FALSE), list(1, FALSE, FALSE),
                        list(2, TRUE, FALSE), list(-1, FALSE, FALSE), list(c(0, 2), FALSE, FALSE),
                        list(c(0, 1), TRUE, FALSE), list(c(2, 1), FALSE, FALSE),
                        list(1, FALSE, TRUE), list(c(0, 2), TRUE, TRUE), list(NULL, TRUE, FALSE),
                        list(c(-3, -1), FALSE, FALSE), list(c(0, 1, 2), FALSE, TRUE))),
  list(c(0, 4), list(list(NULL, FALSE, FALSE), list(0, FALSE, FALSE), list(1, TRUE, FALSE))),
  list(1, list(list(NULL, FALSE, FALSE), list(0, TRUE, FALSE))),
  list(c(1, 1, 1), list(list(1, FALSE, FALSE), list(NULL, TRUE, FALSE))),
  list(7, list(list(0, FALSE, FALSE), list(NULL, TRUE, FALSE))),
  list(c(2, 1, 3, 1, 2, 2, 1, 2), list(list(NULL, FALSE, FALSE), list(c(0, 3, 5), FALSE, FALSE),
                                       list(7, TRUE, FALSE), list(c(1, 2), FALSE, TRUE),
                                       list(c(0, 2, 4, 6), FALSE, FALSE), list(-8, FALSE, FALSE))),
  list(c(2, 3, 2, 3), list(list(c(0, 2), FALSE, FALSE), list(c(1, 3), TRUE, FALSE),
                           list(c(0, 3), FALSE, FALSE)))
)

reduce_values <- function(name, dims, dtype) {
  n <- prod(dims)
  if (name %in% c("prod", "nanprod")) {
    # factors whose products are exact in double (powers of two)
    f <- if (dtype == "uint8") c(1, 2) else if (dtype %in% INT_DTYPES) c(-2, -1, 1, 2) else c(-2, -1, 1, 2, 0.5)
    v <- array(sample(f, n, TRUE), dims)
  } else {
    v <- rand_array(dims, dtype)
    if (name %in% c("max", "min") && dtype %in% FLOAT_DTYPES) v[] <- round(v)   # ties
  }
  # NaN: skipped by nansum/nanprod, propagated by max/min and the others
  if (dtype %in% FLOAT_DTYPES && n > 30) v[c(3, 17)] <- NaN
  v
}

test_that("reductions match base R for every dtype, axis set and shape", {
  set.seed(17)
  for (name in names(reduce_ops)) {
    spec <- reduce_ops[[name]]
    for (dtype in DTYPES) {
      for (cs in reduce_cases) {
        dims <- cs[[1]]
        a <- reduce_values(name, dims, dtype)
        an <- in_dtype(a, dtype)
        x <- mx.nd.array(a, dtype = dtype)
        for (ax in cs[[2]]) {
          axes <- ax[[1]]
          nd <- length(dims)
          rd <- if (is.null(axes)) seq_len(nd) else r_dim_of((axes + nd) %% nd, nd)
          if (isTRUE(ax[[3]])) rd <- setdiff(seq_len(nd), rd)
          if (spec[[5]] && any(dims[rd] == 0)) next        # tested with the errors below
          if (spec[[1]] == "norm" && isTRUE(ax[[3]])) next  # norm has no exclude (as MXNet)
          params <- c(spec[[2]], list(axis = axes, keepdims = ax[[2]]),
                      if (spec[[1]] != "norm") list(exclude = ax[[3]]))
          got <- mxnet:::nd.invoke(spec[[1]], list(x), params)
          expect_identical(mx.nd.dtype(got), dtype)
          f <- if (dtype %in% INT_DTYPES) {
            fi <- spec[[4]] %||% spec[[3]]
            function(v) r_sat(fi(v), dtype)
          } else spec[[3]]
          expected <- r_reduce(an, axes, f, ax[[2]], ax[[3]])
          if (dtype == "float16") expected <- in_dtype(expected, "float16")
          expect_nd_equal(got, expected)
        }
      }
    }
  }
})

test_that("argmax and argmin match base R (first index on ties, NaN wins)", {
  set.seed(23)
  arg_ref <- function(pick) function(v) r_which_nan_first(v, pick)
  cases <- list(list(c(3, 4, 5), list(NULL, 0, 1, 2, -1, -3)),
                list(c(6, 2), list(NULL, 0, 1)),
                list(7, list(NULL, 0, -1)),
                list(1, list(NULL, 0)),
                list(c(0, 4), list(0)),                   # empty result
                list(c(2, 1, 3, 1, 2, 2, 1, 2), list(NULL, 0, 4, 7)))
  for (op in c("argmax", "argmin")) {
    pick <- if (op == "argmax") which.max else which.min
    for (dtype in DTYPES) {
      for (cs in cases) {
        a <- array(round(rand_array(cs[[1]], dtype)), cs[[1]])      # many ties
        if (dtype %in% FLOAT_DTYPES && length(a) > 30) a[c(2, 5)] <- NaN
        an <- in_dtype(a, dtype)
        x <- mx.nd.array(a, dtype = dtype)
        for (axis in cs[[2]]) {
          for (keep in c(FALSE, TRUE)) {
            got <- mxnet:::nd.invoke(op, list(x), list(axis = axis, keepdims = keep))
            expect_identical(mx.nd.dtype(got), dtype)
            expect_nd_equal(got, r_reduce(an, axis, arg_ref(pick), keep))
          }
        }
      }
    }
  }
  # the class axis of an R c(classes, N) prediction is C axis 1 (R dim 1)
  p <- matrix(c(0.1, 0.7, 0.2, 0.5, 0.3, 0.2), 3, 2)
  expect_nd_equal(mx.nd.argmax(mx.nd.array(p), axis = 1), c(1, 0))
  expect_nd_equal(mx.nd.argmin(mx.nd.array(p), axis = 1), c(0, 2))
  expect_nd_equal(mx.nd.argmax(mx.nd.array(p)), 1)
  # indices beyond the range of uint8 saturate
  big <- mx.nd.array(c(rep(0, 300), 1), dtype = "uint8")
  expect_nd_equal(mx.nd.argmax(big), 255)
})

test_that("aliases, R generics and mx.nd wrappers", {
  set.seed(29)
  a <- array(runif(24, -2, 2), c(2, 3, 4))
  af <- in_dtype(a, "float32")
  x <- mx.nd.array(a)
  expect_nd_equal(mx.nd.sum.axis(x, axis = 0), apply(af, c(1, 2), sum))
  expect_nd_equal(mx.nd.max.axis(x, axis = 2), apply(af, c(2, 3), max))
  expect_nd_equal(mx.nd.min.axis(x, axis = 1, keepdims = TRUE), array(apply(af, c(1, 3), min), c(2, 1, 4)))
  expect_nd_equal(mx.nd.mean(x, axis = c(0, 1)), apply(af, 1, mean))
  expect_nd_equal(mx.nd.nansum(x), sum(af))
  expect_nd_equal(mx.nd.norm(x), sqrt(sum(af^2)))
  expect_nd_equal(mx.nd.norm(x, ord = 1, axis = 1), apply(abs(af), c(1, 3), sum))
  expect_nd_equal(mx.nd.prod(x, axis = 2, exclude = TRUE), apply(af, 1, prod))
  expect_identical(dim(mx.nd.sum(x)), 1L)
  expect_identical(dim(mx.nd.sum(x, keepdims = TRUE)), c(1L, 1L, 1L))
  expect_equal(sum(x), sum(af), tolerance = 1e-6)
  expect_equal(max(x), max(af))
  expect_equal(min(x), min(af))
  expect_equal(range(x), range(af))
  expect_equal(mean(x), mean(af), tolerance = 1e-6)
  expect_equal(prod(x), prod(af), tolerance = 1e-6)
  expect_equal(sum(x, 1, x), sum(af, 1, af), tolerance = 1e-6)
  expect_true(all(x > -3))
  expect_false(any(x > 3))
  xi <- mx.nd.array(1:10, dtype = "int32")
  expect_identical(sum(xi), 55)
  expect_identical(prod(xi), prod(1:10) * 1)
  expect_identical(range(xi), c(1, 10))
  expect_identical(mean(xi), 5)                  # integer mean truncates, as MXNet
  n <- mx.nd.array(c(1, NaN, 3))
  expect_identical(max(n), NaN)
  expect_identical(min(n), NaN)
  expect_nd_equal(mx.nd.nansum(n), 4)
  expect_nd_equal(mx.nd.nanprod(n), 3)
  # 0-dimensional input
  s <- mx.nd.zeros(integer(0)) + 2
  expect_nd_equal(mx.nd.sum(s), 2)
})

test_that("large reductions (chunked, parallel) are right and independent of the thread count", {
  set.seed(31)
  n <- 100003
  a <- runif(n, -1, 1)
  af <- in_dtype(a, "float32")
  m <- matrix(runif(3 * 40001), 3)            # C shape (40001, 3)
  mf <- in_dtype(m, "float32")
  c3 <- array(runif(5 * 9000 * 4), c(5, 9000, 4))
  w <- matrix(runif(1000 * 300), 1000)        # C shape (300, 1000): wide inner blocks
  run <- function() {
    x <- mx.nd.array(a)
    xm <- mx.nd.array(m)
    x3 <- mx.nd.array(c3, dtype = "float64")
    list(sum = as.array(mx.nd.sum(x)), mean = as.array(mx.nd.mean(x)),
         max = as.array(mx.nd.max(x)), norm = as.array(mx.nd.norm(x)),
         am = as.array(mx.nd.argmax(x)),
         rows = as.array(mx.nd.sum(xm, axis = 0)),        # R rowSums: (outer 1, R 40001, inner 3)
         cols = as.array(mx.nd.sum(xm, axis = 1)),        # colSums: inner 1, many outputs
         mid = as.array(mx.nd.sum(x3, axis = 1)),         # middle R dim, chunked, inner 5
         skip = as.array(mx.nd.sum(x3, axis = c(0, 2))),  # transposed path
         amr = as.array(mx.nd.argmax(xm, axis = 0)),
         wide = as.array(mx.nd.sum(mx.nd.array(w), axis = 0)),
         wmax = as.array(mx.nd.argmax(mx.nd.array(w), axis = 0)),
         isum = as.array(mx.nd.sum(mx.nd.array(round(a * 1000), dtype = "int64"))))
  }
  old <- getOption("mxnet.threads")
  on.exit(options(mxnet.threads = old))
  options(mxnet.threads = 1L)
  r1 <- run()
  options(mxnet.threads = 2L)
  r2 <- run()
  expect_identical(r1, r2)
  expect_nd_equal(mx.nd.array(r2$sum), sum(af), tolerance = 1e-6)
  expect_equal(as.vector(r2$mean), mean(af), tolerance = 1e-6)
  expect_equal(as.vector(r2$max), max(af))
  expect_equal(as.vector(r2$norm), sqrt(sum(af^2)), tolerance = 1e-6)
  expect_equal(as.vector(r2$am), which.max(af) - 1)
  expect_equal(as.vector(r2$rows), rowSums(mf), tolerance = 1e-6)
  expect_equal(as.vector(r2$cols), colSums(mf), tolerance = 1e-6)
  expect_equal(r2$mid, apply(c3, c(1, 3), sum), tolerance = 1e-12)
  expect_equal(as.vector(r2$skip), apply(c3, 2, sum), tolerance = 1e-12)
  expect_equal(as.vector(r2$amr), apply(mf, 1, which.max) - 1)
  expect_equal(as.vector(r2$isum), sum(round(a * 1000)))
  expect_equal(as.vector(r2$wide), rowSums(in_dtype(w, "float32")), tolerance = 1e-6)
  expect_equal(as.vector(r2$wmax), apply(in_dtype(w, "float32"), 1, which.max) - 1)
  # ties across chunks: the first index wins; a NaN in a later chunk wins
  t <- rep(1, 30000)
  t[c(9000, 25000)] <- 5
  expect_nd_equal(mx.nd.argmax(mx.nd.array(t)), 8999)
  t[20000] <- NaN
  expect_nd_equal(mx.nd.argmax(mx.nd.array(t)), 19999)
  expect_nd_equal(mx.nd.max(mx.nd.array(t)), NaN)
  expect_nd_equal(mx.nd.argmin(mx.nd.array(rep(2, 30000))), 0)
})

test_that("integer reductions saturate instead of overflowing", {
  u <- mx.nd.array(rep(200, 10), dtype = "uint8")
  expect_nd_equal(mx.nd.sum(u), 255)
  expect_nd_equal(mx.nd.prod(u), 255)
  expect_nd_equal(mx.nd.mean(u), 200)
  i <- mx.nd.array(c(2^31 - 1, 2^31 - 1, -5), dtype = "int32")
  expect_nd_equal(mx.nd.sum(i), 2^31 - 1)
  expect_nd_equal(mx.nd.mean(i), trunc((2 * (2^31 - 1) - 5) / 3))
  expect_nd_equal(mx.nd.prod(mx.nd.array(c(-65536, 65536), dtype = "int32")), -2^31)
  expect_nd_equal(mx.nd.prod(mx.nd.array(c(2^32, 2^32, -1, 3), dtype = "int64")), -2^63)
  expect_nd_equal(mx.nd.prod(mx.nd.array(c(2^32, 2^32, 0), dtype = "int64")), 0)
  expect_nd_equal(mx.nd.norm(mx.nd.array(c(3, 4), dtype = "int32")), 5)
})

test_that("empty reductions: sum 0, prod 1, mean NaN; max/min/argmax/argmin fail", {
  e <- mx.nd.array(array(numeric(0), c(0, 3)))
  expect_nd_equal(mx.nd.sum(e, axis = 1), c(0, 0, 0))
  expect_nd_equal(mx.nd.prod(e, axis = 1), c(1, 1, 1))
  expect_nd_equal(mx.nd.mean(e, axis = 1), c(NaN, NaN, NaN))
  expect_nd_equal(mx.nd.mean(mx.nd.array(array(numeric(0), c(0, 3)), dtype = "int32"), axis = 1), c(0, 0, 0))
  expect_nd_equal(mx.nd.sum(e), 0)
  expect_nd_equal(mx.nd.norm(e), 0)
  expect_nd_equal(mx.nd.sum(e, axis = 0), numeric(0))
  expect_nd_equal(mx.nd.max(e, axis = 0), numeric(0))
  expect_nd_equal(mx.nd.argmax(e, axis = 0), numeric(0))
  expect_error(mx.nd.max(e, axis = 1), "max.*zero-length")
  expect_error(mx.nd.min(e), "min.*zero-length")
  expect_error(mx.nd.max.axis(e, axis = 1, keepdims = TRUE), "max.*zero-length")
  expect_error(mx.nd.argmax(e, axis = 1), "argmax.*zero-length")
  expect_error(mx.nd.argmin(e), "argmin.*zero-length")
  expect_identical(sum(e), 0)
  expect_identical(mean(e), NaN)
})

test_that("out= receives the result", {
  x <- mx.nd.array(matrix(1:6, 2))
  o <- mx.nd.zeros(3)
  r <- mx.nd.sum(x, axis = 1, out = o)
  expect_identical(r, o)
  expect_nd_equal(o, colSums(matrix(1:6, 2)))
  expect_error(mx.nd.sum(x, axis = 1, out = mx.nd.zeros(2)), "shape")
})

test_that("bad parameters give errors naming them", {
  x <- mx.nd.array(array(1:24, c(2, 3, 4)))
  expect_error(mx.nd.sum(x, axis = 3), "axis")
  expect_error(mx.nd.sum(x, axis = -4), "axis")
  expect_error(mx.nd.sum(x, axis = c(0, 0)), "axis.*duplicate|duplicate.*axis")
  expect_error(mx.nd.mean(x, axis = c(0, -3)), "axis.*duplicate|duplicate.*axis")
  expect_error(mx.nd.max(x, axis = 1.5), "axis")
  expect_error(mx.nd.sum(x, axis = c(0, NA)), "axis")
  expect_error(mx.nd.sum(x, keepdims = "maybe"), "keepdims")
  expect_error(mx.nd.sum(x, exclude = 2), "exclude")
  expect_error(mx.nd.norm(x, ord = 3), "ord")
  expect_error(mx.nd.norm(x, axis = 5), "axis")
  expect_error(mx.nd.argmax(x, axis = 3), "axis")
  expect_error(mx.nd.argmin(x, axis = c(0, 1)), "axis")
  expect_error(mxnet:::nd.invoke("sum", list(x), list(axes = 1)), "axes")
})
