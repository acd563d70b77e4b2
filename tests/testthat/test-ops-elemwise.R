# Element-wise binary ops: values against base R over every dtype, with
# broadcasting, empty, one-element and 8-dimensional arrays.

binary_ops <- list(
  # name = list(op, reference for floats, reference for integers, rhs domain)
  add = list("broadcast_add", function(a, b) a + b, function(a, b) a + b),
  sub = list("broadcast_sub", function(a, b) a - b, function(a, b) a - b),
  mul = list("broadcast_mul", function(a, b) a * b, function(a, b) a * b),
  div = list("broadcast_div", function(a, b) a / b, r_int_div),
  mod = list("broadcast_mod", function(a, b) a %% b, r_int_mod),
  pow = list("broadcast_power", function(a, b) a^b, function(a, b) trunc(a^b), "pow"),
  max = list("broadcast_maximum", pmax, pmax),
  min = list("broadcast_minimum", pmin, pmin),
  hypot = list("broadcast_hypot", function(a, b) sqrt(a^2 + b^2), function(a, b) trunc(sqrt(a^2 + b^2))),
  eq = list("broadcast_equal", function(a, b) as.numeric(a == b), function(a, b) as.numeric(a == b)),
  ne = list("broadcast_not_equal", function(a, b) as.numeric(a != b), function(a, b) as.numeric(a != b)),
  gt = list("broadcast_greater", function(a, b) as.numeric(a > b), function(a, b) as.numeric(a > b)),
  ge = list("broadcast_greater_equal", function(a, b) as.numeric(a >= b), function(a, b) as.numeric(a >= b)),
  lt = list("broadcast_lesser", function(a, b) as.numeric(a < b), function(a, b) as.numeric(a < b)),
  le = list("broadcast_lesser_equal", function(a, b) as.numeric(a <= b), function(a, b) as.numeric(a <= b)),
  and = list("broadcast_logical_and", function(a, b) as.numeric(a != 0 & b != 0), function(a, b) as.numeric(a != 0 & b != 0)),
  or = list("broadcast_logical_or", function(a, b) as.numeric(a != 0 | b != 0), function(a, b) as.numeric(a != 0 | b != 0)),
  xor = list("broadcast_logical_xor", function(a, b) as.numeric(xor(a != 0, b != 0)), function(a, b) as.numeric(xor(a != 0, b != 0)))
)

shape_pairs <- list(
  list(c(3, 4), c(3, 4)),
  list(c(3, 4), 3),                 # vector along the first R dimension
  list(c(3, 4), c(1, 4)),
  list(c(1, 4), c(3, 1)),
  list(c(2, 3, 4), c(2, 1, 4)),
  list(c(5, 2), 1),                 # one-element operand
  list(1, 1),
  list(c(0, 4), c(1, 4)),           # empty
  list(rep(2, 8), c(2, 1, 2, 1, 2, 1, 2, 1)),   # 8 dimensions
  list(c(7), c(7))
)

values_for <- function(name, dims, dtype, side) {
  if (name == "pow" && side == "rhs")
    return(array(as.double(sample(0:3, prod(dims), replace = TRUE)), dims))
  if (name == "pow" && dtype %in% c("uint8")) return(array(as.double(sample(0:3, prod(dims), replace = TRUE)), dims))
  if (name == "pow") return(array(if (dtype %in% INT_DTYPES) as.double(sample(-3:3, prod(dims), TRUE)) else runif(prod(dims), 0.1, 2), dims))
  if (name %in% c("div", "mod") && side == "rhs" && dtype %in% FLOAT_DTYPES)
    return(array(sample(c(-1, 1), prod(dims), TRUE) * runif(prod(dims), 0.5, 3), dims))
  v <- rand_array(dims, dtype)
  if (name %in% c("eq", "ne", "ge", "le", "and", "or", "xor")) v[] <- round(v)   # make ties likely
  v
}

test_that("binary ops match base R for every dtype and broadcast shape", {
  set.seed(42)
  for (name in names(binary_ops)) {
    spec <- binary_ops[[name]]
    for (dtype in DTYPES) {
      for (sp in shape_pairs) {
        a <- values_for(name, sp[[1]], dtype, "lhs")
        b <- values_for(name, sp[[2]], dtype, "rhs")
        if (dtype %in% c("uint8") && name == "div") b[] <- pmax(b, 0)
        an <- in_dtype(a, dtype)
        bn <- in_dtype(b, dtype)
        od <- r_broadcast_dims(dim(an) %||% length(an), dim(bn) %||% length(bn))
        ref_fun <- if (dtype %in% INT_DTYPES) spec[[3]] else spec[[2]]
        expected <- array(r_wrap(ref_fun(r_broadcast(an, od), r_broadcast(bn, od)), dtype), od)
        if (dtype == "float16") expected <- in_dtype(expected, "float16")
        got <- mxnet:::nd.invoke(spec[[1]], list(mx.nd.array(a, dtype = dtype), mx.nd.array(b, dtype = dtype)))
        expect_identical(mx.nd.dtype(got), dtype)
        expect_nd_equal(got, expected, tolerance = if (dtype == "float16") 4e-3 else NULL)
      }
    }
  }
})

test_that("R operators dispatch to the broadcast and scalar ops", {
  set.seed(1)
  a <- matrix(runif(12, 0.5, 3), 3, 4)
  x <- mx.nd.array(a)
  af <- in_dtype(a, "float32")
  expect_nd_equal(x + 2, af + 2)
  expect_nd_equal(2 + x, 2 + af)
  expect_nd_equal(x - 2, af - 2)
  expect_nd_equal(2 - x, 2 - af)
  expect_nd_equal(x * 3, af * 3)
  expect_nd_equal(x / 3, af / 3)
  expect_nd_equal(3 / x, 3 / af)
  expect_nd_equal(x^2, af^2)
  expect_nd_equal(2^x, 2^af)
  expect_nd_equal(x %% 0.7, af %% 0.7, tolerance = 1e-5)
  expect_nd_equal(2.5 %% x, 2.5 %% af, tolerance = 1e-5)
  expect_nd_equal(x %/% 0.7, af %/% 0.7)
  expect_nd_equal(x > 1.5, num(af > 1.5))
  expect_nd_equal(1.5 > x, num(1.5 > af))
  expect_nd_equal(x >= 1.5, num(af >= 1.5))
  expect_nd_equal(1.5 <= x, num(1.5 <= af))
  expect_nd_equal(x == x, array(1, dim(a)))
  expect_nd_equal(-x, -af)
  expect_nd_equal(+x, af)
  expect_nd_equal(!(x > 1.5), num(!(af > 1.5)))
  expect_nd_equal((x > 1) & (x < 2), num(af > 1 & af < 2))
  expect_nd_equal((x < 1) | (x > 2), num(af < 1 | af > 2))
  # an R array operand is converted to the NDArray's dtype
  b <- matrix(1:12, 3, 4)
  expect_nd_equal(x + b, af + b)
  expect_nd_equal(b - x, b - af)
  # integer dtypes follow MXNet: the scalar is converted to the dtype
  xi <- mx.nd.array(c(-7, 7, 5), dtype = "int32")
  expect_nd_equal(xi %/% 2, c(-4, 3, 2))
  expect_nd_equal(xi %% 3, c(-7, 7, 5) %% 3)
  expect_nd_equal(xi / 0, c(0, 0, 0))
})

test_that("same-shape elemwise ops check shapes", {
  x <- mx.nd.array(matrix(1:6, 2))
  expect_nd_equal(mx.nd.elemwise.add(x, x), matrix(1:6, 2) * 2)
  expect_nd_equal(mx.nd.elemwise.mul(x, x), matrix(1:6, 2)^2)
  expect_error(mx.nd.elemwise.add(x, mx.nd.array(1:2)), "differ")
})

test_that("out= writes into an existing array, also in place", {
  x <- mx.nd.array(1:4)
  y <- mx.nd.array(c(10, 20, 30, 40))
  o <- mx.nd.zeros(4)
  r <- mx.nd.broadcast.add(x, y, out = o)
  expect_nd_equal(o, c(11, 22, 33, 44))
  expect_identical(r, o)
  mx.nd.broadcast.mul(x, y, out = x)             # in place
  expect_nd_equal(x, c(10, 40, 90, 160))
  z <- mx.nd.array(matrix(1:4, 2))
  mx.nd.broadcast.add(z, mx.nd.array(c(1, 1)), out = z)
  expect_nd_equal(z, matrix(1:4, 2) + 1)
  expect_error(mx.nd.broadcast.add(x, y, out = mx.nd.zeros(3)), "shape")
  # a float64 out receives the converted float32 result
  o64 <- mx.nd.zeros(4, dtype = "float64")
  mx.nd.broadcast.add(mx.nd.array(1:4), mx.nd.array(1:4), out = o64)
  expect_identical(mx.nd.dtype(o64), "float64")
  expect_nd_equal(o64, c(2, 4, 6, 8))
})

test_that("bad operands give clear errors", {
  x <- mx.nd.array(1:3)
  expect_error(x + mx.nd.array(1:3, dtype = "float64"), "different dtypes")
  expect_error(x + mx.nd.array(1:4), "cannot be broadcast")
  expect_error(x + NA, "NA")
  expect_error(x + "a", "cannot apply")
  expect_error(mx.nd.broadcast.add(x, 1), "'rhs' must be an MXNDArray")
})
