# Index ops (take, pick, one_hot, where) against base R on every dtype.
# Engine axis a of an array with k dimensions is R dimension k - a; indices
# are 0-based as in MXNet.

rdims <- function(x) dim(x) %||% length(x)

nd_in <- function(dims, dtype) {
  x <- in_dtype(rand_array(dims, dtype), dtype)
  list(r = array(x, dims), nd = mx.nd.array(x, dtype = dtype))
}

# Index fix-up by mode (values already truncated).
fix_index <- function(v, n, mode) {
  v <- trunc(v)
  switch(mode, clip = pmin(pmax(v, 0), n - 1), wrap = v %% n)
}

# take in R terms: along R dimension j, the result has dims
# c(d[1:(j-1)], dim(idx), d[(j+1):k]) and takes a's slices at idx + 1.
r_take <- function(a, idx, j) {
  d <- rdims(a)
  di <- rdims(idx)
  k <- length(d)
  before <- d[seq_len(j - 1)]
  after <- d[seq_len(k - j) + j]
  od <- c(before, di, after)
  if (prod(od) == 0) return(array(numeric(0), od))
  m <- arrayInd(seq_len(prod(od)), od)
  nb <- length(before)
  ni <- length(di)
  im <- m[, nb + seq_len(ni), drop = FALSE]
  lin <- 1 + as.vector((im - 1) %*% cumprod(c(1, di))[seq_len(ni)])
  src <- cbind(m[, seq_len(nb), drop = FALSE], as.vector(idx)[lin] + 1,
               m[, nb + ni + seq_len(k - j), drop = FALSE])
  array(array(a, d)[src], od)
}

IDX_DTYPES <- c("float32", "float64", "float16", "uint8", "int32", "int64")

test_that("take gathers along an engine axis for every data and index dtype", {
  set.seed(41)
  cases <- list(
    list(c(4, 3), 5),                 # matrix, vector of indices
    list(c(4, 3), c(2, 2)),           # matrix of indices
    list(c(2, 3, 4), c(3, 2)),
    list(5, 7),
    list(1, 1),
    list(c(3, 2), 0),                 # no indices
    list(c(2, 1, 2, 1, 2, 1, 2), 1),  # 7-d data -> 7-d result
    list(c(2, 2, 2, 2), c(1, 2, 1, 2, 1)) # 4 + 5 - 1 = 8 dimensions
  )
  for (cs in cases) {
    k <- length(cs[[1]])
    for (ax in seq_len(k) - 1) {
      j <- k - ax
      n <- cs[[1]][j]
      for (dt in DTYPES) {
        a <- nd_in(cs[[1]], dt)
        for (it in sample(IDX_DTYPES, 1)) {
          for (mode in c("clip", "wrap")) {
            raw <- if (it == "uint8") sample(0:(2 * n + 2), prod(cs[[2]]), TRUE)
                   else round(runif(prod(cs[[2]]), -2 * n - 2, 2 * n + 2), 1)
            iv <- in_dtype(array(raw, cs[[2]]), it)
            idx <- array(fix_index(iv, n, mode), cs[[2]])
            got <- mx.nd.take(a$nd, mx.nd.array(iv, dtype = it), axis = ax, mode = mode)
            expect_identical(mx.nd.dtype(got), dt)
            expect_nd_equal(got, r_take(a$r, idx, j))
          }
        }
      }
    }
  }
})

test_that("take: default axis 0 is the last R dimension; float indices truncate; raise errors", {
  m <- matrix(1:12, 3, 4)                         # engine (4, 3)
  x <- mx.nd.array(m)
  expect_nd_equal(mx.nd.take(x, mx.nd.array(c(3, 0, 1.9))), m[, c(4, 1, 2)])
  expect_nd_equal(mx.nd.take(x, mx.nd.array(c(-0.5, 2.7)), axis = 1), m[c(1, 3), ])
  expect_nd_equal(mx.nd.take(x, mx.nd.array(c(-1, 4)), axis = -2, mode = "wrap"), m[, c(4, 1)])
  expect_nd_equal(mx.nd.take(x, mx.nd.array(c(3, 0)), mode = "raise"), m[, c(4, 1)])
  expect_error(mx.nd.take(x, mx.nd.array(c(4, 0)), mode = "raise"), "range")
  expect_error(mx.nd.take(x, mx.nd.array(-1), mode = "raise"), "range")
  expect_error(mx.nd.take(x, mx.nd.array(0), mode = "nearest"), "mode")
  expect_error(mx.nd.take(x, mx.nd.array(0), axis = 2), "axis")
  expect_error(mx.nd.take(mx.nd.zeros(c(2, 0)), mx.nd.array(0)), "length 0")
  expect_error(mx.nd.take(mx.nd.zeros(rep(2, 8)), mx.nd.zeros(c(2, 2))), "dimensions")
  # a large gather uses several threads
  big <- matrix(runif(200 * 300), 200, 300)
  iv <- sample(0:199, 500, TRUE)
  expect_nd_equal(mx.nd.take(mx.nd.array(big, dtype = "float64"), mx.nd.array(iv, dtype = "int32"), axis = 1),
                  big[iv + 1, ])
})

# ------------------------------------------------------------------ pick

test_that("pick selects one element per position along an axis", {
  set.seed(42)
  for (d in list(c(4, 3), c(3, 4, 2), 5, c(2, 0), c(2, 1, 2, 1, 2, 1, 2, 2))) {
    k <- length(d)
    for (ax in seq_len(k) - 1) {
      j <- k - ax
      n <- d[j]
      if (n == 0) next
      od <- d[-j]
      if (length(od) == 0) od <- integer(0)
      for (dt in DTYPES) {
        x <- nd_in(d, dt)
        for (mode in c("clip", "wrap")) {
          it <- sample(IDX_DTYPES, 1)
          no <- max(prod(od), if (length(od)) 0 else 1)
          raw <- if (it == "uint8") sample(0:(n + 2), no, TRUE) else sample((-n - 2):(n + 2), no, TRUE)
          iv <- in_dtype(array(raw, if (length(od)) od else 1), it)
          fx <- fix_index(iv, n, mode)
          # reference: data[..., fx + 1 at R dim j, ...]
          m <- arrayInd(seq_len(no), if (length(od)) od else 1)
          src <- matrix(0, no, k)
          src[, -j] <- m[, seq_len(k - 1)]
          src[, j] <- as.vector(fx) + 1
          vals <- if (no) array(x$r, d)[src] else numeric(0)
          expected <- array(vals, if (length(od)) od else 1)
          got <- mx.nd.pick(x$nd, mx.nd.array(iv, dtype = it), axis = ax, mode = mode)
          expect_identical(mx.nd.dtype(got), dt)
          expect_nd_equal(got, expected)
          kd <- d
          kd[j] <- 1
          got <- mx.nd.pick(x$nd, mx.nd.array(iv, dtype = it), axis = ax - k, keepdims = TRUE, mode = mode)
          expect_nd_equal(got, array(vals, kd))
        }
      }
    }
  }
  # default axis -1 is the first R dimension: one class index per column
  p <- matrix(1:12, 3, 4)
  expect_nd_equal(mx.nd.pick(mx.nd.array(p), mx.nd.array(c(0, 2, 1, 2))), p[cbind(c(1, 3, 2, 3), 1:4)])
  # the index may carry the kept axis
  expect_nd_equal(mx.nd.pick(mx.nd.array(p), mx.nd.array(matrix(c(0, 2, 1, 2), 1))), p[cbind(c(1, 3, 2, 3), 1:4)])
  expect_error(mx.nd.pick(mx.nd.array(p), mx.nd.array(1:3)), "index")
  expect_error(mx.nd.pick(mx.nd.array(p), mx.nd.array(1:4), axis = 2), "axis")
  expect_error(mx.nd.pick(mx.nd.array(p), mx.nd.array(1:4), mode = "raise"), "mode")
  expect_error(mx.nd.pick(mx.nd.array(p), mx.nd.array(1:4), keepdims = "no"), "keepdims")
})

# --------------------------------------------------------------- one_hot

r_one_hot <- function(idx, depth, on, off) {
  v <- trunc(as.vector(idx))
  res <- matrix(off, depth, length(v))
  ok <- which(v >= 0 & v < depth)
  res[cbind(v[ok] + 1, ok)] <- on
  array(res, c(depth, rdims(idx)))
}

test_that("one_hot encodes along a new first R dimension", {
  set.seed(43)
  for (d in list(5, c(3, 4), c(2, 0), 1, rep(2, 7))) {
    for (it in IDX_DTYPES) {
      raw <- if (it == "uint8") sample(0:6, prod(d), TRUE) else sample(-2:6, prod(d), TRUE)
      iv <- in_dtype(array(raw, d), it)
      for (dt in DTYPES) {
        on <- if (dt == "uint8") 7 else 2.5
        off <- if (dt == "uint8") 1 else -0.5
        if (dt %in% INT_DTYPES) { on <- trunc(on); off <- if (dt == "uint8") off else -1 }
        got <- mx.nd.one.hot(mx.nd.array(iv, dtype = it), depth = 5, on_value = on, off_value = off, dtype = dt)
        expect_identical(mx.nd.dtype(got), dt)
        expect_nd_equal(got, r_one_hot(iv, 5, on, off))
      }
    }
  }
  got <- mx.nd.one.hot(mx.nd.array(c(0, 2, 1.7, -1, 3)), depth = 3)
  expect_identical(mx.nd.dtype(got), "float32")
  expect_nd_equal(got, cbind(c(1, 0, 0), c(0, 0, 1), c(0, 1, 0), 0, 0))
  expect_equal(dim(mx.nd.one.hot(mx.nd.array(1:3), depth = 0)), c(0, 3))
  expect_error(mx.nd.one.hot(mx.nd.array(1:3)), "depth")
  expect_error(mx.nd.one.hot(mx.nd.array(1:3), depth = -1), "depth")
  expect_error(mx.nd.one.hot(mx.nd.array(1:3), depth = 2, dtype = "float8"), "dtype")
  expect_error(mx.nd.one.hot(mx.nd.zeros(rep(1, 8)), depth = 2), "dimensions")
})

# ----------------------------------------------------------------- where

test_that("where selects from x or y by a condition of any dtype", {
  set.seed(44)
  for (d in list(c(3, 4), 6, c(2, 3, 4), c(0, 3), 1, c(2, 1, 2, 1, 2, 1, 2, 3))) {
    for (dt in DTYPES) {
      x <- nd_in(d, dt)
      y <- nd_in(d, dt)
      for (ct in sample(IDX_DTYPES, 3)) {
        cv <- in_dtype(array(sample(c(0, 0, 1, 2, 0.5), prod(d), TRUE), d), ct)
        expected <- array(ifelse(cv != 0, x$r, y$r), d)
        got <- mx.nd.where(mx.nd.array(cv, dtype = ct), x$nd, y$nd)
        expect_identical(mx.nd.dtype(got), dt)
        expect_nd_equal(got, expected)
        # a vector condition selects whole slices along the last R dimension
        k <- length(d)
        cr <- in_dtype(sample(c(0, 1, 3), d[k], TRUE), ct)
        expected <- array(ifelse(rep(cr, each = prod(d[-k])) != 0, x$r, y$r), d)
        got <- mx.nd.where(mx.nd.array(cr, dtype = ct), x$nd, y$nd)
        expect_nd_equal(got, expected)
      }
    }
  }
  # NaN conditions count as true, as in MXNet (NaN != 0)
  got <- mx.nd.where(mx.nd.array(c(NaN, 0), dtype = "float16"), mx.nd.array(1:2), mx.nd.array(3:4))
  expect_nd_equal(got, c(1, 4))
  big <- array(runif(4e4), c(200, 200))
  expect_nd_equal(mx.nd.where(mx.nd.array(big > 0.5), mx.nd.array(big, dtype = "float64"), mx.nd.zeros(c(200, 200), dtype = "float64")),
                  ifelse(big > 0.5, big, 0))
  x <- mx.nd.array(matrix(1:6, 2))
  expect_error(mx.nd.where(mx.nd.array(1:2), x, x), "condition")
  expect_error(mx.nd.where(x, x, mx.nd.array(1:6)), "y")
  expect_error(mx.nd.where(x, x, mx.nd.array(matrix(1:6, 2), dtype = "int32")), "dtype")
})
