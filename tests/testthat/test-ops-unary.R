# Unary element-wise ops: values against base R for every dtype, with empty,
# one-element and 8-dimensional arrays; integer dtypes are computed in double
# and converted back (NaN -> 0, saturating) except the ops exact on integers.

INT_RANGE <- list(uint8 = c(0, 255), int32 = c(-2^31, 2^31 - 1), int64 = c(-2^63, 2^63))

# A double result converted to an integer dtype the way the engine does.
r_to_int <- function(v, dtype) {
  v[is.nan(v)] <- 0
  rg <- INT_RANGE[[dtype]]
  trunc(pmin(pmax(v, rg[1]), rg[2]))
}

# exact for perfect cubes (x^(1/3) is not always)
r_cbrt <- function(x) { r <- sign(x) * abs(x)^(1 / 3); ifelse(round(r)^3 == x, round(r), r) }
r_round_away <- function(x) sign(x) * floor(abs(x) + 0.5)
r_gamma_c <- function(x) ifelse(x == 0, Inf, suppressWarnings(gamma(x)))   # C tgamma(0) = Inf

# name = list(reference, float domain (lo, hi) or a generator, exact on integers?)
unary_ops <- list(
  abs = list(abs, c(-3, 3), TRUE),
  sign = list(sign, c(-3, 3), TRUE),
  sqrt = list(sqrt, c(0, 5), FALSE),
  rsqrt = list(function(x) 1 / sqrt(x), c(0.1, 5), FALSE),
  square = list(function(x) x^2, c(-3, 3), TRUE),
  exp = list(exp, c(-3, 3), FALSE),
  log = list(log, c(0.05, 5), FALSE),
  log1p = list(log1p, c(-0.9, 3), FALSE),
  expm1 = list(expm1, c(-3, 3), FALSE),
  log2 = list(log2, c(0.05, 5), FALSE),
  log10 = list(log10, c(0.05, 5), FALSE),
  sin = list(sin, c(-4, 4), FALSE),
  cos = list(cos, c(-4, 4), FALSE),
  tan = list(tan, c(-1.4, 1.4), FALSE),
  arcsin = list(asin, c(-0.99, 0.99), FALSE),
  arccos = list(acos, c(-0.99, 0.99), FALSE),
  arctan = list(atan, c(-4, 4), FALSE),
  sinh = list(sinh, c(-3, 3), FALSE),
  cosh = list(cosh, c(-3, 3), FALSE),
  tanh = list(tanh, c(-3, 3), FALSE),
  arcsinh = list(asinh, c(-4, 4), FALSE),
  arccosh = list(acosh, c(1, 5), FALSE),
  arctanh = list(atanh, c(-0.99, 0.99), FALSE),
  sigmoid = list(function(x) 1 / (1 + exp(-x)), c(-6, 6), FALSE),
  relu = list(function(x) pmax(x, 0), c(-3, 3), TRUE),
  softsign = list(function(x) x / (1 + abs(x)), c(-3, 3), FALSE),
  round = list(r_round_away, "halves", TRUE),
  rint = list(round, "halves", TRUE),           # R's round: halves to even
  floor = list(floor, "halves", TRUE),
  ceil = list(ceiling, "halves", TRUE),
  trunc = list(trunc, "halves", TRUE),
  fix = list(trunc, "halves", TRUE),
  negative = list(function(x) -x, c(-3, 3), TRUE),
  reciprocal = list(function(x) 1 / x, "nonzero", FALSE),
  cbrt = list(r_cbrt, c(-8, 8), FALSE),
  gamma = list(r_gamma_c, c(0.1, 5), FALSE),
  gammaln = list(lgamma, c(0.1, 6), FALSE),
  degrees = list(function(x) x * 180 / pi, c(-4, 4), FALSE),
  radians = list(function(x) x * pi / 180, c(-200, 200), FALSE),
  logical_not = list(function(x) as.numeric(x == 0), "halves", TRUE),
  identity = list(identity, c(-3, 3), TRUE),
  zeros_like = list(function(x) x * 0, c(-3, 3), TRUE),
  ones_like = list(function(x) x * 0 + 1, c(-3, 3), TRUE)
)

unary_shapes <- list(c(3, 4), 1, c(0, 4), rep(2, 8), 7, c(2, 3, 5))

unary_values <- function(domain, dims, dtype) {
  n <- prod(dims)
  if (dtype %in% INT_DTYPES) return(array(rand_values(n, dtype), dims))
  v <- if (identical(domain, "halves")) {
    # exact halves (ties) and zeros mixed with random values
    ifelse(runif(n) < 0.5, sample(seq(-3, 3, by = 0.5), n, TRUE), runif(n, -3, 3))
  } else if (identical(domain, "nonzero")) {
    sample(c(-1, 1), n, TRUE) * runif(n, 0.2, 3)
  } else {
    runif(n, domain[1], domain[2])
  }
  array(v, dims)
}

# Integer reference of an op: exact ops wrap like the engine, others go
# through double and are converted back.
unary_int_ref <- function(name, ref, x, dtype) {
  v <- suppressWarnings(ref(x))
  if (unary_ops[[name]][[3]]) {
    if (dtype == "uint8" && name %in% c("negative", "square")) return(v %% 256)
    return(r_wrap(v, dtype))
  }
  r_to_int(v, dtype)
}

test_that("unary ops match base R for every dtype and shape", {
  set.seed(7)
  for (name in names(unary_ops)) {
    spec <- unary_ops[[name]]
    for (dtype in DTYPES) {
      for (dims in unary_shapes) {
        a <- unary_values(spec[[2]], dims, dtype)
        an <- in_dtype(a, dtype)
        got <- mxnet:::nd.invoke(name, list(mx.nd.array(a, dtype = dtype)))
        expect_identical(mx.nd.dtype(got), dtype)
        if (dtype %in% INT_DTYPES) {
          expected <- array(unary_int_ref(name, spec[[1]], as.vector(an), dtype), dim(an) %||% length(an))
          tol <- 0
        } else {
          expected <- array(suppressWarnings(spec[[1]](as.vector(an))), dim(an) %||% length(an))
          if (dtype == "float16") expected <- in_dtype(expected, "float16")
          tol <- NULL
        }
        expect_nd_equal(got, expected, tolerance = tol)
      }
    }
  }
})

test_that("aliases and R wrappers reach the same kernels", {
  x <- mx.nd.array(c(-1.5, 0, 2))
  expect_nd_equal(mxnet:::nd.invoke("_copy", list(x)), c(-1.5, 0, 2))
  expect_nd_equal(mx.nd.identity(x), c(-1.5, 0, 2))
  expect_nd_equal(mx.nd.zeros.like(x), c(0, 0, 0))
  expect_nd_equal(mx.nd.ones.like(x), c(1, 1, 1))
  expect_nd_equal(mx.nd.logical.not(x), c(0, 1, 0))
  expect_nd_equal(mx.nd.relu(x), c(0, 0, 2))
  expect_nd_equal(mx.nd.cast(x, dtype = "int32"), c(-1, 0, 2))
  # float16 is handled natively by the copies and Cast
  h <- mx.nd.array(c(0.1, 65504, -2), dtype = "float16")
  expect_identical(mx.nd.dtype(mx.nd.identity(h)), "float16")
  expect_nd_equal(mx.nd.identity(h), in_dtype(c(0.1, 65504, -2), "float16"))
  expect_nd_equal(mx.nd.ones.like(h), c(1, 1, 1))
  expect_identical(mx.nd.dtype(mx.nd.zeros.like(h)), "float16")
})

test_that("special float values follow IEEE and R", {
  v <- c(NaN, Inf, -Inf, -1, 0, -0.5)
  for (dtype in FLOAT_DTYPES) {
    x <- mx.nd.array(v, dtype = dtype)
    expect_nd_equal(mx.nd.abs(x), abs(v))
    expect_nd_equal(mx.nd.sign(x), sign(v))                       # sign(NaN) is NaN
    expect_nd_equal(mx.nd.relu(x), c(NaN, Inf, 0, 0, 0, 0))       # relu keeps NaN
    expect_nd_equal(suppressWarnings(mx.nd.sqrt(x)), suppressWarnings(sqrt(v)))
    expect_nd_equal(mx.nd.log(x), suppressWarnings(log(v)))
    expect_nd_equal(mx.nd.exp(x), exp(v))
    expect_nd_equal(mx.nd.sigmoid(x), 1 / (1 + exp(-v)))
    expect_nd_equal(mx.nd.tanh(x), tanh(v))
    expect_nd_equal(mx.nd.negative(x), -v)
    expect_nd_equal(mx.nd.square(x), v^2)
    expect_nd_equal(mx.nd.reciprocal(x), 1 / v)
    expect_nd_equal(mx.nd.clip(x, a_min = -0.25, a_max = 2), c(NaN, 2, -0.25, -0.25, 0, -0.25))
    expect_nd_equal(mx.nd.rint(x), round(v))
    expect_nd_equal(mx.nd.round(x), c(NaN, Inf, -Inf, -1, 0, -1))
  }
})

test_that("integer dtypes wrap, saturate and never trap", {
  i32 <- mx.nd.array(c(-2^31, 2^31 - 1, 50000, -7, 0), dtype = "int32")
  expect_nd_equal(mx.nd.negative(i32), c(-2^31, -2^31 + 1, -50000, 7, 0))   # -INT_MIN wraps
  expect_nd_equal(mx.nd.abs(i32), c(-2^31, 2^31 - 1, 50000, 7, 0))
  expect_nd_equal(mx.nd.square(i32), c(0, 1, r_wrap(2.5e9, "int32"), 49, 0))
  expect_nd_equal(mx.nd.exp(i32), c(0, 2^31 - 1, 2^31 - 1, 0, 1))           # saturated
  expect_nd_equal(mx.nd.sqrt(i32), c(0, 46340, 223, 0, 0))                  # NaN -> 0
  expect_nd_equal(mx.nd.log(i32), c(0, 21, 10, 0, -2^31))                   # log(0) = -Inf
  expect_nd_equal(mx.nd.reciprocal(i32), c(0, 0, 0, 0, 2^31 - 1))           # 1/0 = Inf
  u8 <- mx.nd.array(c(0, 1, 2, 255), dtype = "uint8")
  expect_nd_equal(mx.nd.negative(u8), c(0, 255, 254, 1))                    # modulo 256
  expect_nd_equal(-u8, c(0, 255, 254, 1))
  expect_nd_equal(mx.nd.square(u8), c(0, 1, 4, 1))
  expect_nd_equal(mx.nd.sign(u8), c(0, 1, 1, 1))
  expect_nd_equal(mx.nd.log(u8), c(0, 0, 0, 5))
  expect_nd_equal(mx.nd.gamma(u8), c(255, 1, 1, 255))
  i64 <- mx.nd.array(c(-3, 40, 0), dtype = "int64")
  expect_nd_equal(mx.nd.exp(i64), c(0, trunc(exp(40)), 1))
  expect_nd_equal(mx.nd.gamma(mx.nd.array(c(21, 30, -1), dtype = "int64")), c(2432902008176640000, 2^63, 0))
})

test_that("clip bounds every dtype, integer bounds as MXNet casts them", {
  set.seed(3)
  for (dtype in DTYPES) {
    for (dims in unary_shapes) {
      a <- unary_values(c(-3, 3), dims, dtype)
      an <- as.vector(in_dtype(a, dtype))
      got <- mx.nd.clip(mx.nd.array(a, dtype = dtype), a_min = -1.25, a_max = 7.5)
      expected <- if (dtype %in% INT_DTYPES)
        ifelse(an > 7.5, 7, ifelse(an < -1.25, -1, an)) else pmin(pmax(an, -1.25), 7.5)
      expect_nd_equal(got, array(expected, dim(in_dtype(a, dtype)) %||% length(an)))
    }
  }
  # a_min above a_max: a value above a_max gets a_max (MXNet's order)
  expect_nd_equal(mx.nd.clip(mx.nd.array(c(0, 5, 10)), a_min = 6, a_max = 4), c(6, 4, 4))
  expect_nd_equal(mx.nd.clip(mx.nd.array(c(0, 100, 300), dtype = "uint8"), a_min = -5, a_max = 1000),
                  c(0, 100, 255))
})

test_that("Cast converts between every pair of dtypes", {
  v <- c(-300.7, -1.5, -0.4, 0, 0.6, 1.5, 254.9, 255.5, 300.2, 70000.3, 3e9, NaN)
  for (from in DTYPES) {
    src_v <- if (from %in% FLOAT_DTYPES) v else c(-300, -1, 0, 1, 254, 255, 300, 70000)
    x <- mx.nd.array(src_v, dtype = from)
    xv <- as.array(x)
    for (to in DTYPES) {
      got <- mx.nd.Cast(x, dtype = to)
      expect_identical(mx.nd.dtype(got), to)
      expected <- if (to %in% INT_DTYPES) {
        e <- xv
        e[is.nan(e)] <- 0
        trunc(pmin(pmax(e, INT_RANGE[[to]][1]), INT_RANGE[[to]][2]))
      } else {
        in_dtype(xv, to)
      }
      expect_nd_equal(got, expected, tolerance = 0)
    }
  }
  # every shape, empty included
  for (dims in unary_shapes) {
    a <- array(runif(prod(dims), -3, 3), dims)
    expect_nd_equal(mx.nd.cast(mx.nd.array(a, dtype = "float64"), dtype = "float32"), in_dtype(a, "float32"))
  }
})

test_that("large arrays (parallel loops) and in-place calls give the same values", {
  set.seed(11)
  a <- runif(50001, -4, 4)
  af <- in_dtype(a, "float32")
  x <- mx.nd.array(a)
  expect_nd_equal(mx.nd.relu(x), pmax(af, 0))
  expect_nd_equal(mx.nd.sigmoid(x), 1 / (1 + exp(-af)))
  expect_nd_equal(mx.nd.tanh(x), tanh(af))
  expect_nd_equal(mx.nd.exp(x), exp(af))
  expect_nd_equal(mx.nd.square(x), af^2)
  expect_nd_equal(mx.nd.sqrt(mx.nd.abs(x)), sqrt(abs(af)))
  expect_nd_equal(mx.nd.gammaln(x), lgamma(af))
  xi <- mx.nd.array(round(a * 10), dtype = "int32")
  expect_nd_equal(mx.nd.negative(xi), -round(a * 10))
  # out = the input itself
  y <- mx.nd.array(a)
  r <- mx.nd.relu(y, out = y)
  expect_identical(r, y)
  expect_nd_equal(y, pmax(af, 0))
  mx.nd.sqrt(y, out = y)
  expect_nd_equal(y, sqrt(pmax(af, 0)))
  z <- mx.nd.array(c(1, 2, 3), dtype = "int32")
  mx.nd.Cast(z, dtype = "int32", out = z)
  expect_nd_equal(z, c(1, 2, 3))
  o <- mx.nd.zeros(3, dtype = "float64")
  mx.nd.Cast(z, dtype = "float64", out = o)
  expect_nd_equal(o, c(1, 2, 3))
})

test_that("R generics on NDArrays give base R's answers", {
  set.seed(5)
  a <- matrix(c(0.5, 1.5, 2.5, -0.5, -1.5, -2.5, runif(6, -5, 5)), 3, 4)
  af <- in_dtype(a, "float32")
  x <- mx.nd.array(a)
  expect_nd_equal(abs(x), abs(af))
  expect_nd_equal(sign(x), sign(af))
  expect_nd_equal(sqrt(abs(x)), sqrt(abs(af)))
  expect_nd_equal(round(x), round(af))          # halves to even
  expect_nd_equal(round(x, 1), round(af, 1), tolerance = 1e-6)
  expect_nd_equal(floor(x), floor(af))
  expect_nd_equal(ceiling(x), ceiling(af))
  expect_nd_equal(trunc(x), trunc(af))
  expect_nd_equal(exp(x), exp(af))
  expect_nd_equal(log(abs(x)), log(abs(af)))
  expect_nd_equal(log(abs(x), 2), log2(abs(af)))
  expect_nd_equal(log2(abs(x)), log2(abs(af)))
  expect_nd_equal(log10(abs(x)), log10(abs(af)))
  expect_nd_equal(cos(x), cos(af))
  expect_nd_equal(atan(x), atan(af))
  expect_nd_equal(tanh(x), tanh(af))
  expect_nd_equal(lgamma(abs(x) + 0.1), lgamma(abs(af) + as.vector(in_dtype(0.1, "float32"))))
  expect_nd_equal(-x, -af)
  expect_nd_equal(x %/% 2, af %/% 2)
  expect_nd_equal(mx.nd.array(c(7, -7, 0.5)) %/% 2, c(3, -4, 0))
  expect_error(cummax(x), "not supported")
})

test_that("parameter errors name the parameter", {
  x <- mx.nd.array(1:3)
  expect_error(mxnet:::nd.invoke("clip", list(x), list(a_max = 1)), "a_min")
  expect_error(mxnet:::nd.invoke("clip", list(x), list(a_min = 1)), "a_max")
  expect_error(mx.nd.clip(x, a_min = 0), "a_max")
  expect_error(mx.nd.clip(x, a_min = NaN, a_max = 1), "a_min")
  expect_error(mx.nd.Cast(x, dtype = "int7"), "dtype")
  expect_error(mxnet:::nd.invoke("Cast", list(x)), "dtype")
  expect_error(mx.nd.cast(x, dtype = 3), "dtype")
  expect_error(mxnet:::nd.invoke("sqrt", list(x), list(axis = 1)), "axis")
  expect_error(mxnet:::nd.invoke("sqrt", list(x, x)), "input")
})
