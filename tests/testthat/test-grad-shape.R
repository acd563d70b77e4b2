# Gradients of the shape ops (shape.c) against finite differences: every
# reshape special value, transpose axes, concat/stack, slices with negative
# steps, tile, repeat, reverse; float16 for the ops that only move data;
# dtype errors.  Tuple parameters are given as engine-order strings.

fb <- function(op, ins, params = NULL, og) mxnet:::nd.forward.backward(op, ins, params, og)

# Engine-shape array (R dims reversed).
earr <- function(eshape, lo = -1, hi = 1) {
  v <- runif(prod(eshape), lo, hi)
  if (length(eshape) == 1L) array(v, eshape) else array(v, rev(eshape))
}

test_that("Reshape, Flatten, expand_dims and squeeze pass the gradient through", {
  set.seed(401)
  x <- earr(c(2, 3, 4))
  for (s in c("(4, 0, 2)", "(2, 0, 0)", "(6, 1, -1)", "(3, -1, 8)", "(-1,)", "(-2,)", "(2, -2)",
              "(-2, 1, 1)", "(-3, 4)", "(-3, -1)", "(-3, -2)", "(0, -3)", "(-4, 1, 2, -2)",
              "(2, -4, -1, 3, -2)", "(-4, -1, 1, 0, 4)")) {
    g <- check_grad("Reshape", list(x), list(shape = s), label = s, n.check = 8)
    expect_equal(dim(g[[1]]), dim(x))
  }
  check_grad("reshape", list(x), list(shape = "(-1, 0)", reverse = TRUE), n.check = 8)
  check_grad("reshape", list(x), list(shape = c(6, 4)), n.check = 8)        # R vector
  check_grad("Flatten", list(x), n.check = 8)
  check_grad("flatten", list(earr(c(2, 1, 3, 2))), n.check = 8)
  for (ax in c(0, 3, -1, -4, 2)) check_grad("expand_dims", list(x), list(axis = ax), n.check = 8)
  y <- earr(c(2, 1, 3, 1))
  for (pr in list(list(), list(axis = "(1,)"), list(axis = "(-1,)"), list(axis = "(1, 3)")))
    check_grad("squeeze", list(y), pr, n.check = 8)
  # the gradient is the output gradient's values
  og <- array(runif(24), c(6, 4))
  r <- fb("reshape", list(mx.nd.array(x, dtype = "float64")), list(shape = c(6, 4)),
          list(mx.nd.array(og, dtype = "float64")))
  expect_nd_equal(r$grads[[1]], array(og, dim(x)), tolerance = 0)
})

test_that("transpose and SwapAxis have correct gradients", {
  set.seed(402)
  x <- earr(c(2, 3, 4))
  for (ax in c("()", "(0, 1, 2)", "(1, 2, 0)", "(2, 0, 1)", "(0, 2, 1)", "(-1, 0, 1)"))
    check_grad("transpose", list(x), list(axes = ax), label = ax)
  check_grad("transpose", list(earr(c(2, 3, 2, 2))), list(axes = "(3, 1, 0, 2)"))
  check_grad("transpose", list(earr(c(3, 4))))
  for (d in list(c(0, 2), c(-1, 1), c(1, 1)))
    check_grad("SwapAxis", list(x), list(dim1 = d[1], dim2 = d[2]), label = deparse(d))
  check_grad("swapaxes", list(x), list(dim1 = 2, dim2 = 0))
})

test_that("Concat and stack split the gradient", {
  set.seed(403)
  for (dm in c(0, 1, 2, -1)) {
    shapes <- lapply(c(1, 3, 2), function(k) { s <- c(2, 3, 4); s[(dm %% 3) + 1] <- k; s })
    check_grad("Concat", lapply(shapes, earr), list(dim = dm), label = paste("Concat", dm), n.check = 10)
  }
  check_grad("concat", list(earr(c(2, 3))), list(dim = 1))
  check_grad("Concat", list(earr(c(2, 0, 3)), earr(c(2, 2, 3))), list(dim = 1))
  for (ax in c(0, 1, 2, -1))
    check_grad("stack", lapply(1:3, function(i) earr(c(2, 3))), list(axis = ax),
               label = paste("stack", ax), n.check = 10)
  check_grad("stack", list(earr(4)), list(axis = 0))
})

test_that("slice and slice_axis scatter the gradient into zeros", {
  set.seed(404)
  x <- earr(c(4, 5, 6))
  cases <- list(
    list("(1, 0, 2)", "(3, 5, 6)", "()"),
    list("(None, 2, 3)", "(None, 0, 0)", "(None, -1, -2)"),
    list("(-1, None, None)", "(None, None, None)", "(-1, -2, -3)"),
    list("(0, 1, 5)", "(4, 5, 0)", "(2, 3, -2)"),
    list("(1,)", "(3,)", "(1,)"),
    list("(-100, 2)", "(100, 4)", "(3, 1)"),
    list("(3, 4)", "(0, 0)", "(-2, -4)"))
  for (cs in cases) {
    pr <- list(begin = cs[[1]], end = cs[[2]], step = cs[[3]])
    g <- check_grad("slice", list(x), pr, label = paste(unlist(cs), collapse = " "), n.check = 30)
    # unsliced positions get exactly 0
    ones <- fb("slice", list(mx.nd.array(x, dtype = "float64")), pr,
               list(mx.nd.ones(dim(mxnet:::nd.invoke("slice", list(mx.nd.array(x)), pr)), dtype = "float64")))
    got <- as.array(ones$grads[[1]])
    expect_true(all(got %in% c(0, 1)))
    expect_equal(sum(got), prod(dim(ones$outputs[[1]])))
  }
  # R vector form (reversed by the glue), NA = None
  check_grad("crop", list(x), list(begin = c(NA, 4, 3), end = c(NA, 0, 0), step = c(NA, -2, -1)))
  for (pr in list(list(axis = 0, begin = 1, end = 3), list(axis = 1, begin = -3),
                  list(axis = -1, begin = 0, end = -1), list(axis = 2, begin = 2, end = 3)))
    check_grad("slice_axis", list(x), pr, label = deparse(pr), n.check = 30)
})

test_that("tile and repeat sum the gradient over the copies", {
  set.seed(405)
  x <- earr(c(2, 3, 2))
  for (reps in c("(2,)", "(2, 1, 3)", "(1, 3, 1)", "(2, 1, 1, 2)", "(3, 2, 2, 1, 1)", "()"))
    check_grad("tile", list(x), list(reps = reps), label = reps, n.check = 12)
  check_grad("tile", list(earr(3)), list(reps = "(4, 2)"))
  for (pr in list(list(repeats = 3, axis = 0), list(repeats = 2, axis = 1),
                  list(repeats = 3, axis = -1), list(repeats = 2), list(repeats = 1, axis = 2)))
    check_grad("repeat", list(x), pr, label = deparse(pr), n.check = 12)
  # values: tile of a vector sums the tiles
  og <- c(1, 2, 3, 10, 20, 30)
  r <- fb("tile", list(mx.nd.array(c(0, 0, 0), dtype = "float64")), list(reps = "(2,)"),
          list(mx.nd.array(og, dtype = "float64")))
  expect_nd_equal(r$grads[[1]], c(11, 22, 33), tolerance = 0)
  r <- fb("repeat", list(mx.nd.array(c(0, 0, 0), dtype = "float64")), list(repeats = 2),
          list(mx.nd.array(og, dtype = "float64")))
  expect_nd_equal(r$grads[[1]], c(3, 13, 50), tolerance = 0)
  # zero copies: zero gradients
  r <- fb("tile", list(mx.nd.array(c(1, 2, 3), dtype = "float64")), list(reps = "(0,)"),
          list(mx.nd.zeros(0, dtype = "float64")))
  expect_true(all(as.array(r$grads[[1]]) == 0))
  r <- fb("repeat", list(mx.nd.array(c(1, 2, 3), dtype = "float64")), list(repeats = 0),
          list(mx.nd.zeros(0, dtype = "float64")))
  expect_true(all(as.array(r$grads[[1]]) == 0))
  # float32 against float64, large enough for threads
  a <- in_dtype(earr(c(50, 40)), "float32")
  G <- in_dtype(array(runif(50 * 40 * 12), c(40 * 3, 50 * 4)), "float32")
  g <- lapply(c("float64", "float32"), function(dt)
    fb("tile", list(mx.nd.array(a, dtype = dt)), list(reps = "(4, 3)"), list(mx.nd.array(G, dtype = dt)))$grads[[1]])
  expect_nd_equal(g[[2]], as.array(g[[1]]), tolerance = 1e-6)
})

test_that("reverse has correct gradients", {
  set.seed(406)
  x <- earr(c(2, 3, 4))
  for (ax in c("(0,)", "(1,)", "(0, 2)", "(-1,)", "(0, 1, 2)"))
    check_grad("reverse", list(x), list(axis = ax), label = ax)
  check_grad("flip", list(x), list(axis = 1))
})

test_that("ops that only move data give float16 gradients; adding ones refuse", {
  x <- array(c(0.5, -1, 2, 4, 0.25, -8), c(3, 2))
  og <- array(c(1, 2, 3, 4, 5, 6), c(2, 3))
  for (dt in c("float16", "float32")) {
    r <- fb("transpose", list(mx.nd.array(x, dtype = dt)), NULL, list(mx.nd.array(og, dtype = dt)))
    expect_identical(mx.nd.dtype(r$grads[[1]]), dt)
    expect_nd_equal(r$grads[[1]], t(og), tolerance = 0)
  }
  r <- fb("slice", list(mx.nd.array(x, dtype = "float16")), list(begin = "(1, 2)", end = "(None, None)"),
          list(mx.nd.array(array(7, c(1, 1)), dtype = "float16")))
  expect_nd_equal(r$grads[[1]], array(c(0, 0, 0, 0, 0, 7), c(3, 2)), tolerance = 0)
  r <- fb("reverse", list(mx.nd.array(x, dtype = "float16")), list(axis = 1),
          list(mx.nd.array(array(1:6, c(3, 2)), dtype = "float16")))
  expect_nd_equal(r$grads[[1]], array(c(3, 2, 1, 6, 5, 4), c(3, 2)), tolerance = 0)
  expect_error(fb("tile", list(mx.nd.array(x, dtype = "float16")), list(reps = "(1,)"),
                  list(mx.nd.array(x, dtype = "float16"))), "float32 or float64")
  xi <- mx.nd.array(matrix(1:6, 3, 2), dtype = "int32")
  expect_error(fb("transpose", list(xi), NULL, list(mx.nd.array(matrix(1:6, 2, 3), dtype = "int32"))),
               "floating-point")
  expect_error(fb("reshape", list(xi), list(shape = 6), list(mx.nd.array(1:6, dtype = "int32"))),
               "floating-point")
})
