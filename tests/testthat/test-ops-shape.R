# Shape ops against base R on every dtype.
#
# Conventions (see helper r_dim_of): an R array with dim c(d1, ..., dk) is
# the engine shape (dk, ..., d1); engine axis a is R dimension k - a. Tuple
# parameters given as R vectors are reversed into engine order by the glue;
# strings such as "(0, -1)" are passed as they are (engine order).

rdims <- function(x) dim(x) %||% length(x)

# Values of an R array in a dtype, and the NDArray holding them.
nd_in <- function(dims, dtype) {
  x <- in_dtype(rand_array(dims, dtype), dtype)
  list(r = array(x, dims), nd = mx.nd.array(x, dtype = dtype))
}

# ----------------------------------------------------------------- reshape

# MXNet's documented examples, in engine order: input (2, 3, 4).
reshape_cases <- list(
  list("(4, 0, 2)", c(4, 3, 2)),
  list("(2, 0, 0)", c(2, 3, 4)),
  list("(6, 1, -1)", c(6, 1, 4)),
  list("(3, -1, 8)", c(3, 1, 8)),
  list("(-1,)", 24),
  list("(-2,)", c(2, 3, 4)),
  list("(2, -2)", c(2, 3, 4)),
  list("(-2, 1, 1)", c(2, 3, 4, 1, 1)),
  list("(-3, 4)", c(6, 4)),
  list("(-3, -1)", c(6, 4)),
  list("(-3, -2)", c(6, 4)),
  list("(0, -3)", c(2, 12)),
  list("(-4, 1, 2, -2)", c(1, 2, 3, 4)),
  list("(2, -4, -1, 3, -2)", c(2, 1, 3, 4)),
  list("(-4, -1, 1, 0, 4)", c(2, 1, 3, 4))
)

test_that("reshape applies every special value in engine order", {
  x <- array(seq_len(24), c(4, 3, 2))          # engine (2, 3, 4)
  for (cs in reshape_cases) {
    expected <- array(seq_len(24), rev(cs[[2]]))
    # as an engine-order string ...
    expect_nd_equal(mx.nd.reshape(mx.nd.array(x), shape = cs[[1]]), expected)
    # ... and as an R vector (reversed by the glue)
    v <- rev(eval(parse(text = sub("^\\(", "c(", sub(",\\)$", ")", cs[[1]])))))
    expect_nd_equal(mx.nd.Reshape(mx.nd.array(x), shape = v), expected)
  }
})

test_that("reshape with reverse = TRUE applies the special values right to left", {
  x <- mx.nd.array(array(seq_len(200), c(4, 5, 10)))   # engine (10, 5, 4)
  expect_equal(dim(mx.nd.reshape(x, shape = "(-1, 0)")), c(5, 40))
  expect_equal(dim(mx.nd.reshape(x, shape = "(-1, 0)", reverse = TRUE)), c(4, 50))
  expect_equal(dim(mx.nd.reshape(x, shape = c(0, -1), reverse = TRUE)), c(4, 50))
  expect_equal(dim(mx.nd.reshape(x, shape = "(0, -3)", reverse = TRUE)), c(20, 10))
  expect_nd_equal(mx.nd.reshape(x, shape = "(-1, 0)", reverse = TRUE), array(seq_len(200), c(4, 50)))
})

test_that("reshape keeps values for every dtype, also empty, one-element and 8-d", {
  set.seed(31)
  for (dt in DTYPES) {
    for (cs in list(list(c(3, 4), c(2, 6)), list(c(0, 3), c(0, 3)), list(1, c(1, 1, 1)),
                    list(c(2, 1, 2, 1, 2, 1, 2, 2), c(4, 8)), list(c(4, 8), rep(2, 5)))) {
      x <- nd_in(cs[[1]], dt)
      got <- mx.nd.reshape(x$nd, shape = cs[[2]])
      expect_identical(mx.nd.dtype(got), dt)
      expect_nd_equal(got, array(x$r, cs[[2]]))
    }
  }
})

test_that("reshape returns a view; out= copies", {
  for (dt in DTYPES) {
    x <- mx.nd.array(array(1:24, c(2, 3, 4)), dtype = dt)
    y <- mx.nd.reshape(x, shape = c(6, 4))
    y[1, 1] <- 99
    expect_equal(as.array(x)[1, 1, 1], 99)
    y[6, 4] <- 77
    expect_equal(as.array(x)[2, 3, 4], 77)
    z <- mx.nd.zeros(c(4, 6), dtype = dt)
    r <- mx.nd.reshape(x, shape = c(4, 6), out = z)
    expect_nd_equal(z, array(as.array(x), c(4, 6)))
    z[1, 1] <- 5
    expect_equal(as.array(x)[1, 1, 1], 99)
  }
  # the other view ops share memory too
  x <- mx.nd.array(array(1:24, c(2, 3, 4)))
  f <- mx.nd.Flatten(x)
  f[2, 1] <- -1
  expect_equal(as.array(x)[2, 1, 1], -1)
  e <- mx.nd.expand.dims(x, axis = 0)
  e[1, 1, 1, 1] <- -2
  expect_equal(as.array(x)[1, 1, 1], -2)
  s <- mx.nd.squeeze(mx.nd.reshape(x, shape = c(2, 1, 12)))
  s[1, 1] <- -3
  expect_equal(as.array(x)[1, 1, 1], -3)
})

test_that("reshape reports bad shapes by parameter name", {
  x <- mx.nd.array(array(1:24, c(2, 3, 4)))
  expect_error(mx.nd.reshape(x, shape = c(-1, -1)), "shape")
  expect_error(mx.nd.reshape(x, shape = c(5, 5)), "shape")
  expect_error(mx.nd.reshape(x, shape = c(7, -1)), "shape")
  expect_error(mx.nd.reshape(x, shape = "(-4, 3, 3)"), "shape")
  expect_error(mx.nd.reshape(x, shape = "(-4, -1, -1)"), "shape")
  expect_error(mx.nd.reshape(x, shape = c(-5, 1)), "shape")
  expect_error(mx.nd.reshape(x, shape = "(0, 0, 0, 0)"), "shape")
  expect_error(mx.nd.reshape(x, shape = c(1.5, 2)), "shape")
  expect_error(mx.nd.reshape(mx.nd.zeros(c(0, 3)), shape = "(-1, 0)"), "shape")
  expect_error(mx.nd.reshape(x, shape = c(6, 4), reverse = "x"), "reverse")
  expect_error(mx.nd.reshape(x), "shape")
})

# ---------------------------------------------------- Flatten, expand, squeeze

test_that("Flatten collapses all engine axes but the first", {
  for (dt in DTYPES) {
    for (d in list(c(2, 3, 4), c(5), c(0, 3), c(3, 0, 2), c(1, 1), rep(2, 8))) {
      x <- nd_in(d, dt)
      # engine (d[nd], ..., d[1]) -> (d[nd], prod(the rest)) = R c(prod(d[-nd]), d[nd])
      expected <- array(x$r, c(prod(d[-length(d)]), d[length(d)]))
      got <- mx.nd.flatten(x$nd)
      expect_identical(mx.nd.dtype(got), dt)
      expect_nd_equal(got, expected)
    }
  }
})

test_that("expand_dims inserts an axis of extent 1", {
  for (dt in DTYPES) {
    x <- nd_in(c(2, 3), dt)
    expect_nd_equal(mx.nd.expand.dims(x$nd, axis = 0), array(x$r, c(2, 3, 1)))
    expect_nd_equal(mx.nd.expand.dims(x$nd, axis = 1), array(x$r, c(2, 1, 3)))
    expect_nd_equal(mx.nd.expand.dims(x$nd, axis = 2), array(x$r, c(1, 2, 3)))
    expect_nd_equal(mx.nd.expand.dims(x$nd, axis = -1), array(x$r, c(1, 2, 3)))
    expect_nd_equal(mx.nd.expand.dims(x$nd, axis = -3), array(x$r, c(2, 3, 1)))
  }
  e <- mx.nd.zeros(c(0, 2))
  expect_equal(dim(mx.nd.expand.dims(e, axis = 1)), c(0, 1, 2))
  seven <- mx.nd.zeros(rep(1, 7))
  expect_equal(dim(mx.nd.expand.dims(seven, axis = 0)), rep(1, 8))
  expect_error(mx.nd.expand.dims(mx.nd.zeros(rep(1, 8)), axis = 0), "8")
  expect_error(mx.nd.expand.dims(mx.nd.zeros(c(2, 3)), axis = 3), "axis")
  expect_error(mx.nd.expand.dims(mx.nd.zeros(c(2, 3)), axis = -4), "axis")
  expect_error(mx.nd.expand.dims(mx.nd.zeros(c(2, 3))), "axis")
})

test_that("squeeze removes axes of extent 1", {
  for (dt in DTYPES) {
    x <- nd_in(c(1, 3, 1, 2), dt)                 # engine (2, 1, 3, 1)
    expect_nd_equal(mx.nd.squeeze(x$nd), array(x$r, c(3, 2)))
    expect_nd_equal(mx.nd.squeeze(x$nd, axis = 1), array(x$r, c(1, 3, 2)))
    expect_nd_equal(mx.nd.squeeze(x$nd, axis = c(3, 1)), array(x$r, c(3, 2)))
    expect_nd_equal(mx.nd.squeeze(x$nd, axis = -1), array(x$r, c(3, 1, 2)))
  }
  expect_equal(dim(mx.nd.squeeze(mx.nd.zeros(c(1, 1)))), 1L)
  expect_equal(dim(mx.nd.squeeze(mx.nd.zeros(1))), 1L)
  expect_equal(dim(mx.nd.squeeze(mx.nd.zeros(c(1, 0, 1)))), 0L)
  expect_equal(dim(mx.nd.squeeze(mx.nd.zeros(c(2, 1, 1, 1, 1, 1, 1, 3)))), c(2, 3))
  expect_error(mx.nd.squeeze(mx.nd.zeros(c(1, 3)), axis = 0), "axis")
  expect_error(mx.nd.squeeze(mx.nd.zeros(c(1, 3)), axis = 2), "axis")
  expect_error(mx.nd.squeeze(mx.nd.zeros(c(1, 1)), axis = c(0, 0)), "axis")
})

# ------------------------------------------------------ transpose, SwapAxis

# R permutation equivalent to the engine permutation perm (0-based, engine
# order): output R dim j is input R dim nd - perm[nd - j].
r_perm_of <- function(perm) {
  nd <- length(perm)
  nd - perm[nd - seq_len(nd) + 1]
}

test_that("transpose permutes axes like aperm", {
  set.seed(32)
  shapes <- list(c(3, 4), c(2, 3, 4), c(0, 3, 2), 5, 1, c(2, 1, 3, 1, 2, 2, 1, 2))
  for (dt in DTYPES) {
    for (d in shapes) {
      x <- nd_in(d, dt)
      nd <- length(d)
      # default: all axes reversed, which is R's default aperm
      expect_nd_equal(mx.nd.transpose(x$nd), if (nd == 1) x$r else aperm(x$r))
      perm <- sample(nd) - 1                       # engine order, 0-based
      s <- paste0("(", paste(perm, collapse = ", "), if (nd == 1) ",", ")")
      expect_nd_equal(mx.nd.transpose(x$nd, axes = s), aperm(x$r, r_perm_of(perm)))
      # as an R vector (reversed by the glue): out R dim j = in R dim nd - v[j]
      v <- rev(perm)
      expect_nd_equal(mx.nd.transpose(x$nd, axes = v), aperm(x$r, nd - v))
    }
  }
  m <- matrix(1:6, 2)
  expect_nd_equal(t(mx.nd.array(m)), t(m))
  big <- array(runif(64 * 50 * 33), c(64, 50, 33))   # several threads
  expect_nd_equal(mx.nd.transpose(mx.nd.array(big, dtype = "float64"), axes = "(1, 2, 0)"),
                  aperm(big, r_perm_of(c(1, 2, 0))))
  expect_error(mx.nd.transpose(mx.nd.array(m), axes = c(0, 0)), "axes")
  expect_error(mx.nd.transpose(mx.nd.array(m), axes = c(0, 1, 2)), "axes")
  expect_error(mx.nd.transpose(mx.nd.array(m), axes = c(0, 2)), "axes")
})

test_that("SwapAxis interchanges two engine axes", {
  for (dt in DTYPES) {
    x <- nd_in(c(2, 3, 4), dt)
    expect_nd_equal(mx.nd.SwapAxis(x$nd, dim1 = 0, dim2 = 2), aperm(x$r, c(3, 2, 1)))
    expect_nd_equal(mx.nd.swapaxes(x$nd, dim1 = 0, dim2 = 1), aperm(x$r, c(1, 3, 2)))
    expect_nd_equal(mx.nd.swapaxes(x$nd, dim1 = -1, dim2 = 1), aperm(x$r, c(2, 1, 3)))
    expect_nd_equal(mx.nd.swapaxes(x$nd), x$r)
  }
  e <- mx.nd.zeros(c(0, 2, 3))
  expect_equal(dim(mx.nd.swapaxes(e, dim1 = 0, dim2 = 2)), c(3, 2, 0))
  expect_error(mx.nd.swapaxes(e, dim1 = 3), "dim1")
  expect_error(mx.nd.swapaxes(e, dim2 = -4), "dim2")
})

# ---------------------------------------------------------- concat, stack

# Concatenate R arrays along R dimension `along`.
r_bind <- function(xs, along) {
  nd <- length(dim(xs[[1]]))
  perm <- c(setdiff(seq_len(nd), along), along)
  parts <- lapply(xs, function(x) aperm(x, perm))
  d <- dim(parts[[1]])
  d[nd] <- sum(vapply(parts, function(p) dim(p)[nd], 0))
  res <- array(as.double(unlist(lapply(parts, as.vector))), d)
  aperm(res, order(perm))
}

test_that("concat joins along an engine axis", {
  set.seed(33)
  for (dt in DTYPES) {
    for (d in list(c(4, 3, 2), c(2, 0, 3), rep(2, 8), 1)) {
      nd <- length(d)
      for (ax in seq_len(nd) - 1) {
        j <- nd - ax                                  # R dimension
        ds <- lapply(c(1, 3, 2), function(k) { dd <- d; dd[j] <- k; dd })
        xs <- lapply(ds, function(dd) nd_in(dd, dt))
        expected <- r_bind(lapply(xs, `[[`, "r"), j)
        got <- mx.nd.concat(lapply(xs, `[[`, "nd"), dim = ax)
        expect_identical(mx.nd.dtype(got), dt)
        expect_nd_equal(got, expected)
        expect_nd_equal(mx.nd.Concat(xs[[1]]$nd, xs[[2]]$nd, xs[[3]]$nd, dim = ax - nd), expected)
      }
    }
  }
  # default dim = 1: the second-to-last R dimension
  a <- array(1:24, c(4, 3, 2))
  expect_nd_equal(mx.nd.concat(mx.nd.array(a), mx.nd.array(a)), r_bind(list(a, a), 2))
  # one input is a copy
  expect_nd_equal(mx.nd.concat(mx.nd.array(a)), a)
  # many inputs, several threads
  big <- lapply(1:5, function(i) array(runif(300 * 200), c(300, 200)))
  expect_nd_equal(mx.nd.concat(lapply(big, mx.nd.array, dtype = "float64"), dim = 0), r_bind(big, 2))
  expect_error(mx.nd.concat(mx.nd.array(a), mx.nd.array(array(1:12, c(2, 3, 2))), dim = 0), "c\\(4, 3, 2\\)")
  expect_error(mx.nd.concat(mx.nd.array(a), mx.nd.array(a), dim = 3), "dim")
  expect_error(mx.nd.concat(mx.nd.array(a), mx.nd.array(a, dtype = "int32")), "dtype")
  expect_error(mx.nd.concat(mx.nd.array(a), mx.nd.array(a), num_args = 3), "input")
})

test_that("stack joins along a new engine axis", {
  set.seed(34)
  for (dt in DTYPES) {
    for (d in list(c(4, 3), c(0, 2), 1, rep(2, 7))) {
      nd <- length(d)
      for (ax in 0:nd) {
        j <- nd + 1 - ax                              # new R dimension
        xs <- lapply(1:3, function(i) nd_in(d, dt))
        ins <- lapply(xs, function(x) {
          dd <- append(d, 1, after = j - 1)
          array(x$r, dd)
        })
        expected <- r_bind(ins, j)
        got <- mx.nd.stack(lapply(xs, `[[`, "nd"), axis = ax)
        expect_identical(mx.nd.dtype(got), dt)
        expect_nd_equal(got, expected)
      }
    }
  }
  a <- mx.nd.zeros(c(2, 3))
  expect_equal(dim(mx.nd.stack(a, a, axis = -1)), c(2, 2, 3))
  expect_error(mx.nd.stack(a, mx.nd.zeros(c(3, 2))), "stack")
  expect_error(mx.nd.stack(a, a, axis = 3), "axis")
  expect_error(mx.nd.stack(mx.nd.zeros(rep(1, 8)), mx.nd.zeros(rep(1, 8))), "8")
})

# ----------------------------------------------------------------- slicing

# 0-based indices selected by Python's slice(b, e, s) on an axis of length n
# (NA = None).
py_idx <- function(n, b, e, s) {
  if (is.na(s)) s <- 1
  if (s > 0) {
    b <- if (is.na(b)) 0 else if (b < 0) max(b + n, 0) else min(b, n)
    e <- if (is.na(e)) n else if (e < 0) max(e + n, 0) else min(e, n)
    if (e > b) seq(b, e - 1, by = s) else integer(0)
  } else {
    b <- if (is.na(b)) n - 1 else if (b < 0) max(b + n, -1) else min(b, n - 1)
    e <- if (is.na(e)) -1 else if (e < 0) max(e + n, -1) else min(e, n - 1)
    if (b > e) seq(b, e + 1, by = s) else integer(0)
  }
}

# Index an R array with one (1-based) index vector per R dimension.
r_index <- function(x, idx) {
  d <- rdims(x)
  od <- vapply(idx, length, 0)
  if (prod(od) == 0) return(array(numeric(0), od))
  m <- as.matrix(expand.grid(idx))
  array(array(x, d)[m], od)
}

test_that("slice follows Python slicing per axis (R vectors align to the last R dims)", {
  expect_nd_equal(mx.nd.slice(mx.nd.array(1:10), begin = 8, end = NA, step = -2), c(9, 7, 5, 3, 1))
  expect_nd_equal(mx.nd.slice(mx.nd.array(1:10), begin = 2, end = -3), 3:7)
  expect_nd_equal(mx.nd.slice(mx.nd.array(1:10), begin = -100, end = 100, step = 3), c(1, 4, 7, 10))
  expect_nd_equal(mx.nd.slice(mx.nd.array(1:10), begin = NA, end = NA, step = -1), 10:1)
  expect_nd_equal(mx.nd.slice(mx.nd.array(1:10), begin = 5, end = 5), numeric(0))
  expect_nd_equal(mx.nd.crop(mx.nd.array(1:10), begin = 1, end = 3), 2:3)
  set.seed(35)
  shapes <- list(c(5, 4), c(3, 4, 5), c(0, 3), 1, c(2, 1, 3, 1, 2, 2, 1, 3))
  for (dt in DTYPES) {
    for (d in shapes) {
      x <- nd_in(d, dt)
      nd <- length(d)
      for (rep in 1:3) {
        m <- sample(nd, 1)                           # entries given
        rd <- seq(nd - m + 1, nd)                    # R dims they address
        pick <- function(v) ifelse(runif(m) < 0.2, NA, v)
        b <- pick(sample(-6:6, m, TRUE))
        e <- pick(sample(-6:6, m, TRUE))
        s <- pick(sample(c(-3:-1, 1:3), m, TRUE))
        idx <- lapply(seq_len(nd), function(j) seq_len(d[j]))
        for (i in seq_len(m)) idx[[rd[i]]] <- py_idx(d[rd[i]], b[i], e[i], s[i]) + 1
        expected <- r_index(x$r, idx)
        got <- mx.nd.slice(x$nd, begin = b, end = e, step = s)
        expect_identical(mx.nd.dtype(got), dt)
        expect_nd_equal(got, expected)
        if (all(is.na(s) | s == 1)) {
          expect_nd_equal(mx.nd.slice(x$nd, begin = b, end = e), expected)
        }
      }
    }
  }
  # engine-order strings with None
  x <- array(1:60, c(3, 4, 5))                     # engine (5, 4, 3)
  expect_nd_equal(mx.nd.slice(mx.nd.array(x), begin = "(1, None)", end = "(4, 2)"), x[, 1:2, 2:4])
  expect_nd_equal(mx.nd.slice(mx.nd.array(x), begin = "(None, None, None)", end = "(None, None, None)",
                              step = "(-1, 2, -2)"), x[c(3, 1), c(1, 3), 5:1])
  # errors name the parameter
  expect_error(mx.nd.slice(mx.nd.array(x), begin = c(0, 0), end = 1), "end")
  expect_error(mx.nd.slice(mx.nd.array(x), begin = 0, end = 1, step = 0), "step")
  expect_error(mx.nd.slice(mx.nd.array(x), begin = 0, end = 1, step = c(1, 1)), "step")
  expect_error(mx.nd.slice(mx.nd.array(x), begin = rep(0, 4), end = rep(1, 4)), "begin")
  expect_error(mx.nd.slice(mx.nd.array(x), end = 1), "begin")
})

test_that("slice_axis slices one engine axis", {
  set.seed(36)
  for (dt in DTYPES) {
    x <- nd_in(c(4, 5, 6), dt)
    idx <- list(1:4, 1:5, 1:6)
    for (ax in 0:2) {
      j <- 3 - ax
      len <- c(4, 5, 6)[j]
      i2 <- idx
      i2[[j]] <- 2:3
      expect_nd_equal(mx.nd.slice.axis(x$nd, axis = ax, begin = 1, end = 3), r_index(x$r, i2))
      i2[[j]] <- (len - 2):len
      expect_nd_equal(mx.nd.slice.axis(x$nd, axis = ax, begin = -3, end = NULL), r_index(x$r, i2))
      i2[[j]] <- 1:(len - 1)
      expect_nd_equal(mx.nd.slice.axis(x$nd, axis = ax - 3, begin = 0, end = -1), r_index(x$r, i2))
    }
    e <- nd_in(c(3, 0), dt)
    expect_equal(dim(mx.nd.slice.axis(e$nd, axis = 0, begin = 0)), c(3, 0))
    o <- nd_in(rep(2, 8), dt)
    expect_nd_equal(mx.nd.slice.axis(o$nd, axis = 7, begin = 1, end = 2), o$r[2, , , , , , , , drop = FALSE])
  }
  x <- mx.nd.zeros(c(4, 5))
  expect_error(mx.nd.slice.axis(x, axis = 2, begin = 0), "axis")
  expect_error(mx.nd.slice.axis(x, axis = 0, begin = 5), "begin")     # engine axis 0 has length 5
  expect_error(mx.nd.slice.axis(x, axis = 0, begin = -6), "begin")
  expect_error(mx.nd.slice.axis(x, axis = 0, begin = 0, end = 6), "end")
  expect_error(mx.nd.slice.axis(x, axis = 0, begin = 3, end = 2), "end")
  expect_error(mx.nd.slice.axis(x, axis = 0), "begin")
})

# ------------------------------------------------------ tile, repeat, reverse

r_tile <- function(x, reps) {
  d <- rdims(x)
  n <- max(length(d), length(reps))
  d <- c(d, rep(1, n - length(d)))
  reps <- c(reps, rep(1, n - length(reps)))
  od <- d * reps
  idx <- lapply(seq_len(n), function(k) rep(seq_len(d[k]), reps[k]))
  r_index(array(x, d), idx)
}

test_that("tile repeats the array like numpy's tile (R reps align to the first R dims)", {
  set.seed(37)
  for (dt in DTYPES) {
    for (cs in list(list(c(2, 3), c(2, 2)), list(c(2, 3), 3), list(c(2, 3), c(1, 2, 2)),
                    list(4, c(2, 1, 3)), list(c(0, 2), c(2, 3)), list(c(2, 3), c(0, 1)),
                    list(1, 1), list(c(1, 2, 1, 2, 1, 2, 1, 1), c(2, 1, 2, 1, 1, 1, 1, 3)))) {
      x <- nd_in(cs[[1]], dt)
      got <- mx.nd.tile(x$nd, reps = cs[[2]])
      expect_identical(mx.nd.dtype(got), dt)
      expect_nd_equal(got, r_tile(x$r, cs[[2]]))
    }
  }
  expect_error(mx.nd.tile(mx.nd.zeros(2), reps = -1), "reps")
  expect_error(mx.nd.tile(mx.nd.zeros(rep(1, 8)), reps = rep(1, 9)), "reps")
  expect_error(mx.nd.tile(mx.nd.zeros(2)), "reps")
})

test_that("repeat repeats elements along an engine axis or the flat array", {
  for (dt in DTYPES) {
    x <- nd_in(c(2, 3), dt)
    expect_nd_equal(mx.nd.repeat(x$nd, repeats = 2), rep(as.vector(x$r), each = 2))
    expect_nd_equal(mx.nd.repeat(x$nd, repeats = 3, axis = 0), r_index(x$r, list(1:2, rep(1:3, each = 3))))
    expect_nd_equal(mx.nd.repeat(x$nd, repeats = 2, axis = 1), r_index(x$r, list(rep(1:2, each = 2), 1:3)))
    expect_nd_equal(mx.nd.repeat(x$nd, repeats = 2, axis = -1), r_index(x$r, list(rep(1:2, each = 2), 1:3)))
    expect_equal(dim(mx.nd.repeat(x$nd, repeats = 0, axis = 0)), c(2, 0))
    e <- nd_in(c(0, 3), dt)
    expect_equal(dim(mx.nd.repeat(e$nd, repeats = 2, axis = 0)), c(0, 6))
    o <- nd_in(rep(2, 8), dt)
    i8 <- rep(list(1:2), 8)
    i8[[1]] <- rep(1:2, each = 2)
    expect_nd_equal(mx.nd.repeat(o$nd, repeats = 2, axis = 7), r_index(o$r, i8))
  }
  expect_error(mx.nd.repeat(mx.nd.zeros(2), repeats = -1), "repeats")
  expect_error(mx.nd.repeat(mx.nd.zeros(2), repeats = 1, axis = 1), "axis")
})

test_that("reverse flips the given engine axes", {
  set.seed(38)
  for (dt in DTYPES) {
    for (d in list(c(3, 4, 5), 6, c(0, 3), 1, c(2, 1, 3, 1, 2, 2, 1, 2))) {
      x <- nd_in(d, dt)
      nd <- length(d)
      axes <- sample(nd, sample(nd, 1)) - 1
      idx <- lapply(seq_len(nd), function(j) seq_len(d[j]))
      for (a in axes) idx[[nd - a]] <- rev(idx[[nd - a]])
      got <- mx.nd.reverse(x$nd, axis = axes)
      expect_identical(mx.nd.dtype(got), dt)
      expect_nd_equal(got, r_index(x$r, idx))
      expect_nd_equal(mx.nd.flip(x$nd, axis = axes - nd), r_index(x$r, idx))
    }
  }
  expect_error(mx.nd.reverse(mx.nd.zeros(c(2, 2)), axis = 2), "axis")
  expect_error(mx.nd.reverse(mx.nd.zeros(c(2, 2)), axis = c(1, 1)), "axis")
  expect_error(mx.nd.reverse(mx.nd.zeros(c(2, 2))), "axis")
})
