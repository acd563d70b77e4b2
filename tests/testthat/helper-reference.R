# R references for engine ops.

# Broadcast an R array to dims `od` (R order; shapes are aligned at the first
# R dimension, which is the last engine axis).
r_broadcast <- function(x, od) {
  dx <- if (is.null(dim(x))) length(x) else dim(x)
  dx <- c(dx, rep(1L, length(od) - length(dx)))
  n <- prod(od)
  if (n == 0) return(array(numeric(0), od))
  if (length(od) == 1L) return(array(as.vector(x)[if (dx[1] == 1L) rep(1L, od) else seq_len(od)], od))
  idx <- arrayInd(seq_len(n), od)
  for (k in seq_along(od)) if (dx[k] == 1L) idx[, k] <- 1L
  array(array(as.vector(x), dx)[idx], od)
}

r_broadcast_dims <- function(da, db) {
  n <- max(length(da), length(db))
  da <- c(da, rep(1L, n - length(da)))
  db <- c(db, rep(1L, n - length(db)))
  ifelse(da == 1L, db, da)
}

# Wrap results the way the engine's integer types do.
r_wrap <- function(x, dtype) {
  if (dtype == "uint8") return(x %% 256)
  if (dtype == "int32") return(((x + 2^31) %% 2^32) - 2^31)
  x
}

r_int_div <- function(a, b) ifelse(b == 0, 0, trunc(a / b))
r_int_mod <- function(a, b) ifelse(b == 0, 0, a %% b)

# Logical or numeric -> double, keeping dims.
num <- function(x) { d <- dim(x); x <- as.double(x); if (!is.null(d)) dim(x) <- d; x }

`%||%` <- function(a, b) if (is.null(a)) b else a
