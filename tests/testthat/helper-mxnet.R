# Shared helpers for the tests.
options(mxnet.threads = 2L)

DTYPES <- c("float32", "float64", "float16", "uint8", "int32", "int64")
FLOAT_DTYPES <- c("float32", "float64", "float16")
INT_DTYPES <- c("uint8", "int32", "int64")

# Random R values suited to a dtype (whole numbers for integer types).
rand_values <- function(n, dtype, lo = -3, hi = 3) {
  if (dtype == "uint8") return(as.double(sample(0:20, n, replace = TRUE)))
  if (dtype %in% INT_DTYPES) return(as.double(sample(-20:20, n, replace = TRUE)))
  runif(n, lo, hi)
}
rand_array <- function(dims, dtype = "float32", lo = -3, hi = 3) {
  v <- rand_values(prod(dims), dtype, lo, hi)
  if (length(dims) == 1L) array(v, dims) else array(v, dims)
}

# The values an R array takes once stored in a dtype (float rounding).
in_dtype <- function(x, dtype) as.array(mx.nd.array(x, dtype = dtype))

tol_for <- function(dtype) switch(dtype, float32 = 2e-6, float64 = 1e-12, float16 = 2e-3, 0)

# Compare an NDArray with an R array: same dims (R order) and values.
expect_nd_equal <- function(object, expected, tolerance = NULL, dtype = NULL) {
  act <- as.array(object)
  if (is.null(dtype)) dtype <- mx.nd.dtype(object)
  if (is.null(tolerance)) tolerance <- tol_for(dtype)
  exp_dim <- if (is.null(dim(expected))) length(expected) else dim(expected)
  act_dim <- if (is.null(dim(act))) length(act) else dim(act)   # 1-D: a plain vector
  testthat::expect_equal(as.integer(act_dim), as.integer(exp_dim))
  a <- as.vector(act)
  e <- as.double(as.vector(expected))
  testthat::expect_equal(length(a), length(e))
  if (length(a) != length(e)) return(invisible(FALSE))
  same <- (a == e) | (is.nan(a) & is.nan(e))
  same[is.na(same)] <- FALSE
  close <- abs(a - e) <= tolerance * pmax(1, abs(e))
  close[is.na(close)] <- FALSE
  ok <- same | close
  bad <- which(!ok)
  testthat::expect(length(bad) == 0L,
    if (length(bad)) sprintf("%d of %d values differ; first at %d: got %.9g, expected %.9g (tolerance %g)",
                             length(bad), length(a), bad[1], a[bad[1]], e[bad[1]], tolerance) else "")
  invisible(TRUE)
}

# Engine (C) axis -> R dimension number (1-based).
r_dim_of <- function(axis, ndim) ndim - axis

# Bytes of resident memory of this R process (Linux), NA elsewhere.
rss_bytes <- function() {
  f <- "/proc/self/status"
  if (!file.exists(f)) return(NA_real_)
  l <- grep("^VmRSS:", readLines(f), value = TRUE)
  as.numeric(gsub("[^0-9]", "", l)) * 1024
}

# MXNET_TEST_CTX=gpu runs the whole suite with mx.gpu() as the default
# device (with MXNET_FAKE_GPU=1 on machines without a GPU): every array made
# without an explicit ctx, every executor and every model then takes the
# GPU code paths.
if (identical(Sys.getenv("MXNET_TEST_CTX"), "gpu")) mx.ctx.default(mx.gpu())
TEST_CTX <- mx.ctx.default()
TEST_DEV <- format(TEST_CTX)   # "cpu(0)" or "gpu(0)"

# Set environment variable `name` to `value` until the calling function
# (env) returns, then restore it (or unset it when it was unset).
with_env_var <- function(name, value, env = parent.frame()) {
  old <- Sys.getenv(name, unset = NA)
  do.call(Sys.setenv, setNames(list(value), name))
  restore <- substitute(if (is.na(old)) Sys.unsetenv(name) else do.call(Sys.setenv, setNames(list(old), name)),
                        list(old = old, name = name))
  do.call(on.exit, list(restore, add = TRUE), envir = env)
}
