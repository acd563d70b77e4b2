# NDArrays: imperative n-dimensional arrays held by the C engine.
#
# An MXNDArray is a length-1 list of class "MXNDArray" holding an external
# pointer; its finalizer returns the memory to the engine's pool. NDArrays are
# references: `[<-` and `out =` write into the same memory every holder sees.

nd.check <- function(x, arg = "x") {
  if (!inherits(x, "MXNDArray"))
    stop(sprintf("argument '%s' must be an MXNDArray", arg), call. = FALSE)
  invisible(x)
}

nd.check.valid <- function(x) {
  if (!.Call(C_mx_r_nd_valid, x)) .Call(C_mx_r_nd_info, x)   # raises the released-memory error
}

nd.invoke <- function(op, inputs, params = NULL, out = NULL)
  .Call(C_mx_r_nd_invoke, op, inputs, params, out)

# Forward and backward of one op (gradient tests): list(outputs, grads).
nd.forward.backward <- function(op, inputs, params = NULL, out.grads = list(), is.train = TRUE)
  .Call(C_mx_r_nd_forward_backward, op, inputs, params, out.grads, is.train)

#' Create an NDArray from an R vector, matrix or array
#'
#' The values are copied; the dimensions keep their R order (an R array with
#' \code{dim = c(d1, ..., dk)} becomes an engine tensor of shape
#' \code{(dk, ..., d1)}, the same memory). A vector becomes a 1-dimensional
#' array.
#'
#' @param src.array A numeric, integer or logical vector, matrix or array (or
#'   an MXNDArray, which is copied). Missing values (\code{NA}) are not
#'   allowed; \code{NaN} and \code{Inf} are kept in floating-point dtypes.
#' @param ctx The device (default \code{mx.ctx.default()}).
#' @param dtype Element type: \code{"float32"} (default), \code{"float64"},
#'   \code{"float16"}, \code{"bfloat16"}, \code{"uint8"}, \code{"int8"}, \code{"int32"} or
#'   \code{"int64"}. Values are converted (truncated towards zero and saturated for integer
#'   types; rounded to nearest even for float16 and bfloat16, which are storage types: ops
#'   compute them in float32).
#' @return An MXNDArray.
#' @examples
#' x <- mx.nd.array(matrix(1:6, 2, 3))
#' dim(x)
#' as.array(x * 2)
#' @export
mx.nd.array <- function(src.array, ctx = NULL, dtype = "float32") {
  if (is.null(ctx)) ctx <- mx.ctx.default()
  if (inherits(src.array, "MXNDArray"))
    return(.Call(C_mx_r_nd_copyto, src.array, ctx, dtype))
  if (is.factor(src.array))
    stop("argument 'src.array' is a factor; use as.integer() for its codes", call. = FALSE)
  if (is.data.frame(src.array))
    stop("argument 'src.array' is a data frame; convert it with as.matrix() first", call. = FALSE)
  .Call(C_mx_r_nd_from_r, src.array, dim(src.array), dtype, ctx)
}

#' Arrays filled with a constant
#'
#' @param shape Dimensions in R order (\code{c(rows, cols)} for a matrix);
#'   \code{integer(0)} gives a 0-dimensional scalar.
#' @param value The fill value.
#' @inheritParams mx.nd.array
#' @return An MXNDArray.
#' @examples
#' as.array(mx.nd.ones(c(2, 3)))
#' as.array(mx.nd.full(c(2, 2), 7, dtype = "int32"))
#' @name mx.nd.zeros
#' @export
mx.nd.zeros <- function(shape, ctx = NULL, dtype = "float32") {
  if (is.null(ctx)) ctx <- mx.ctx.default()
  .Call(C_mx_r_nd_full, shape, 0, dtype, ctx)
}

#' @rdname mx.nd.zeros
#' @export
mx.nd.ones <- function(shape, ctx = NULL, dtype = "float32") {
  if (is.null(ctx)) ctx <- mx.ctx.default()
  .Call(C_mx_r_nd_full, shape, 1, dtype, ctx)
}

#' @rdname mx.nd.zeros
#' @export
mx.nd.full <- function(shape, value, ctx = NULL, dtype = "float32") {
  if (is.null(ctx)) ctx <- mx.ctx.default()
  .Call(C_mx_r_nd_full, shape, value, dtype, ctx)
}

#' Copy an NDArray to another device or element type
#'
#' @param src An MXNDArray.
#' @param ctx The target device (default: the same device).
#' @param dtype The target element type (default: the same type).
#' @return A new MXNDArray.
#' @examples
#' x <- mx.nd.array(1:3)
#' y <- mx.nd.copyto(x, mx.cpu(), dtype = "float64")
#' @export
mx.nd.copyto <- function(src, ctx = NULL, dtype = NULL)
  .Call(C_mx_r_nd_copyto, src, ctx, dtype)

#' Is this an NDArray?
#'
#' @param src.array An object.
#' @return \code{TRUE} for an MXNDArray.
#' @examples
#' is.mx.ndarray(mx.nd.zeros(1))
#' @export
is.mx.ndarray <- function(src.array) inherits(src.array, "MXNDArray")

#' Element type, size and device of an NDArray
#'
#' @param x An MXNDArray.
#' @return \code{mx.nd.dtype}: the dtype name. \code{mx.nd.info}: a list with
#'   \code{dtype}, \code{ctx}, \code{size} (elements) and \code{bytes}.
#' @examples
#' mx.nd.dtype(mx.nd.zeros(2, dtype = "int32"))
#' @export
mx.nd.dtype <- function(x) .Call(C_mx_r_nd_info, x)$dtype

#' @rdname mx.nd.dtype
#' @export
mx.nd.info <- function(x) .Call(C_mx_r_nd_info, x)

#' Convert an NDArray to an R array
#'
#' \code{as.array} copies the values into an R double array with the same
#' dimensions (a plain vector for a 1-D NDArray, as MXNet); \code{as.matrix} needs one or two dimensions; \code{as.vector}
#' drops the dimensions.
#'
#' @param x An MXNDArray.
#' @param mode See \code{\link[base]{as.vector}}.
#' @param ... Unused.
#' @return An R array, matrix or vector.
#' @examples
#' x <- mx.nd.array(array(1:24, c(2, 3, 4)))
#' dim(as.array(x))
#' @name as.array.MXNDArray
#' @export
as.array.MXNDArray <- function(x, ...) {
  a <- .Call(C_mx_r_nd_to_r, x)
  if (length(dim(a)) == 1L) dim(a) <- NULL   # a plain vector, as MXNet
  a
}

#' @rdname as.array.MXNDArray
#' @export
as.matrix.MXNDArray <- function(x, ...) {
  a <- .Call(C_mx_r_nd_to_r, x)
  d <- dim(a)
  if (length(d) == 2L) return(a)
  if (length(d) <= 1L) return(matrix(a, ncol = 1L))
  stop(sprintf("as.matrix needs an MXNDArray with 1 or 2 dimensions, not %d", length(d)), call. = FALSE)
}

#' @rdname as.array.MXNDArray
#' @export
as.vector.MXNDArray <- function(x, mode = "any") as.vector(.Call(C_mx_r_nd_to_r, x), mode)

#' @rdname as.array.MXNDArray
#' @export
as.double.MXNDArray <- function(x, ...) as.vector(.Call(C_mx_r_nd_to_r, x), "double")

#' @export
dim.MXNDArray <- function(x) .Call(C_mx_r_nd_dim, x)

#' @export
`dim<-.MXNDArray` <- function(x, value) .Call(C_mx_r_nd_reshape, x, value)

#' @export
length.MXNDArray <- function(x) {
  if (!.Call(C_mx_r_nd_valid, x)) return(0L)
  n <- .Call(C_mx_r_nd_info, x)$size
  if (n <= .Machine$integer.max) as.integer(n) else n
}

#' @export
t.MXNDArray <- function(x) {
  nd.check.valid(x)
  if (length(dim(x)) != 2L) stop("t() needs a 2-dimensional MXNDArray", call. = FALSE)
  nd.invoke("transpose", list(x))
}

#' @export
format.MXNDArray <- function(x, ...) {
  if (!.Call(C_mx_r_nd_valid, x)) return("<MXNDArray: memory released>")
  info <- .Call(C_mx_r_nd_info, x)
  d <- dim(x)
  paste0("<MXNDArray ", info$dtype, " ",
         if (length(d)) paste(d, collapse = "x") else "scalar",
         " ", format(info$ctx), ">")
}

#' @export
print.MXNDArray <- function(x, ...) {
  if (.Call(C_mx_r_nd_valid, x)) print(as.array(x), ...)
  cat(format(x), "\n", sep = "")
  invisible(x)
}

# ------------------------------------------------------------ operators

ops.table <- list(
  # generic = c(array op, array-scalar op, scalar-array op)
  "+" = c("broadcast_add", "_plus_scalar", "_plus_scalar"),
  "-" = c("broadcast_sub", "_minus_scalar", "_rminus_scalar"),
  "*" = c("broadcast_mul", "_mul_scalar", "_mul_scalar"),
  "/" = c("broadcast_div", "_div_scalar", "_rdiv_scalar"),
  "^" = c("broadcast_power", "_power_scalar", "_rpower_scalar"),
  "%%" = c("broadcast_mod", "_mod_scalar", "_rmod_scalar"),
  "==" = c("broadcast_equal", "_equal_scalar", "_equal_scalar"),
  "!=" = c("broadcast_not_equal", "_not_equal_scalar", "_not_equal_scalar"),
  ">" = c("broadcast_greater", "_greater_scalar", "_lesser_scalar"),
  ">=" = c("broadcast_greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar"),
  "<" = c("broadcast_lesser", "_lesser_scalar", "_greater_scalar"),
  "<=" = c("broadcast_lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar"),
  "&" = c("broadcast_logical_and", "_logical_and_scalar", "_logical_and_scalar"),
  "|" = c("broadcast_logical_or", "_logical_or_scalar", "_logical_or_scalar")
)

#' Arithmetic, comparison and logic on NDArrays
#'
#' \code{+ - * / ^ \%\% \%/\%}, comparisons (giving 0/1 in the array's dtype),
#' \code{& | !}, with another NDArray (broadcasting like MXNet's
#' \code{broadcast_*} ops: shapes aligned at the first R dimension), a number,
#' or an R array (converted to the NDArray's dtype). The result is a new
#' MXNDArray.
#'
#' @param e1,e2 MXNDArrays or numbers.
#' @return An MXNDArray.
#' @examples
#' x <- mx.nd.array(matrix(1:6, 2))
#' as.array(x * 2 + 1)
#' as.array(x > 3)
#' as.array(x + mx.nd.array(c(10, 20)))  # broadcast along the first R dim
#' @name Ops.MXNDArray
#' @export
Ops.MXNDArray <- function(e1, e2) {
  gen <- .Generic
  if (missing(e2)) {
    switch(gen,
      "-" = return(nd.invoke("negative", list(e1))),
      "+" = return(e1),
      "!" = return(nd.invoke("_equal_scalar", list(e1), list(scalar = 0))),
      stop(sprintf("unary '%s' is not defined for MXNDArray", gen), call. = FALSE))
  }
  if (gen == "%/%") {
    q <- e1 / e2
    if (mx.nd.dtype(q) %in% c("float32", "float64", "float16", "bfloat16")) return(nd.invoke("floor", list(q)))
    return((e1 - e1 %% e2) / e2)
  }
  ops <- ops.table[[gen]]
  if (is.null(ops)) stop(sprintf("'%s' is not defined for MXNDArray", gen), call. = FALSE)
  nd1 <- inherits(e1, "MXNDArray")
  nd2 <- inherits(e2, "MXNDArray")
  if (nd1 && nd2) return(nd.invoke(ops[1L], list(e1, e2)))
  if (nd1) { arr <- e1; other <- e2; rev <- FALSE } else { arr <- e2; other <- e1; rev <- TRUE }
  if (!is.numeric(other) && !is.logical(other))
    stop(sprintf("cannot apply '%s' to an MXNDArray and an object of class %s",
                 gen, class(other)[1L]), call. = FALSE)
  if (anyNA(other) && !any(is.nan(other)))
    stop(sprintf("'%s': the operand contains NA", gen), call. = FALSE)
  # (scalar parameters cannot carry NaN: a NaN operand goes the array way)
  if (length(other) == 1L && is.null(dim(other)) && !is.nan(other)) {
    return(nd.invoke(if (rev) ops[3L] else ops[2L], list(arr), list(scalar = as.double(other))))
  }
  info <- .Call(C_mx_r_nd_info, arr)
  o <- mx.nd.array(other, ctx = info$ctx, dtype = info$dtype)
  if (rev) nd.invoke(ops[1L], list(o, arr)) else nd.invoke(ops[1L], list(arr, o))
}

#' Math functions on NDArrays
#'
#' \code{abs}, \code{sign}, \code{sqrt}, \code{exp}, \code{expm1}, \code{log}
#' (with \code{base}), \code{log2}, \code{log10}, \code{log1p}, \code{sin},
#' \code{cos}, \code{tan}, \code{asin}, \code{acos}, \code{atan}, \code{sinh},
#' \code{cosh}, \code{tanh}, \code{asinh}, \code{acosh}, \code{atanh},
#' \code{floor}, \code{ceiling}, \code{trunc}, \code{round} (half to even, as
#' R; \code{digits} allowed), \code{gamma}, \code{lgamma}. Results keep the
#' dtype (integer inputs are computed in double precision and converted back).
#'
#' @param x An MXNDArray.
#' @param ... \code{digits} for \code{round}, \code{base} for \code{log}.
#' @return An MXNDArray.
#' @examples
#' as.array(sqrt(mx.nd.array(c(1, 4, 9))))
#' @name Math.MXNDArray
#' @export
Math.MXNDArray <- function(x, ...) {
  gen <- .Generic
  op <- switch(gen,
    abs = "abs", sign = "sign", sqrt = "sqrt", exp = "exp", expm1 = "expm1",
    log1p = "log1p", log2 = "log2", log10 = "log10", sin = "sin", cos = "cos",
    tan = "tan", asin = "arcsin", acos = "arccos", atan = "arctan",
    sinh = "sinh", cosh = "cosh", tanh = "tanh", asinh = "arcsinh",
    acosh = "arccosh", atanh = "arctanh", floor = "floor", ceiling = "ceil",
    trunc = "trunc", gamma = "gamma", lgamma = "gammaln",
    log = "log", round = "rint", NULL)
  if (is.null(op))
    stop(sprintf("%s() is not supported for MXNDArray; convert with as.array() first", gen), call. = FALSE)
  args <- list(...)
  if (gen == "log" && length(args)) {
    base <- args[[1L]]
    return(nd.invoke("log", list(x)) / log(base))
  }
  if (gen == "round" && length(args) && !identical(as.numeric(args[[1L]]), 0)) {
    # x * 10^digits overflows (float32 already at digits 39): round in R, in
    # double precision, with base R's handling of extreme digits
    info <- .Call(C_mx_r_nd_info, x)
    return(mx.nd.array(round(.Call(C_mx_r_nd_to_r, x), args[[1L]]), ctx = info$ctx, dtype = info$dtype))
  }
  nd.invoke(op, list(x))
}

summary.value <- function(gen, x) {
  if (!inherits(x, "MXNDArray")) return(x)
  nd.check.valid(x)
  if (length(x) == 0L) return(numeric(0))
  switch(gen,
    sum = as.double(nd.invoke("sum", list(x))),
    prod = as.double(nd.invoke("prod", list(x))),
    max = as.double(nd.invoke("max", list(x))),
    min = as.double(nd.invoke("min", list(x))),
    range = c(as.double(nd.invoke("min", list(x))), as.double(nd.invoke("max", list(x)))),
    all = as.double(nd.invoke("min", list(x != 0))) == 1,
    any = as.double(nd.invoke("max", list(x != 0))) == 1)
}

#' Summaries of NDArrays
#'
#' \code{sum}, \code{prod}, \code{max}, \code{min}, \code{range}, \code{all},
#' \code{any} and \code{mean} reduce over all elements and return R numbers
#' (use \code{mx.nd.sum} and friends to reduce over axes into an NDArray).
#'
#' @param ... MXNDArrays or numbers.
#' @param na.rm Passed to the base function for the combined values.
#' @param x An MXNDArray.
#' @return A number (a logical for \code{all}/\code{any}).
#' @examples
#' x <- mx.nd.array(1:10)
#' sum(x)
#' mean(x)
#' @name Summary.MXNDArray
#' @export
Summary.MXNDArray <- function(..., na.rm = FALSE) {
  gen <- .Generic
  if (!gen %in% c("sum", "prod", "max", "min", "range", "all", "any"))
    stop(sprintf("%s() is not supported for MXNDArray", gen), call. = FALSE)
  vals <- lapply(list(...), function(x) summary.value(gen, x))
  do.call(gen, c(vals, na.rm = na.rm))
}

#' @rdname Summary.MXNDArray
#' @export
mean.MXNDArray <- function(x, ...) {
  nd.check.valid(x)
  if (length(x) == 0L) return(NaN)
  as.double(nd.invoke("mean", list(x)))
}

# ------------------------------------------------------------ indexing

# Evaluate the subscripts of a `[` call into a list of 1-based index vectors
# (NULL = the whole axis), one per R dimension.
nd.subscripts <- function(d, subs, env) {
  lapply(seq_along(d), function(k) {
    if (identical(subs[[k]], quote(expr = ))) return(NULL)
    v <- eval(subs[[k]], env)
    if (inherits(v, "MXNDArray"))
      stop("an MXNDArray cannot be a subscript: use as.vector(i) for indices or as.vector(m) != 0 for a mask",
           call. = FALSE)
    if (is.character(v)) stop("MXNDArrays have no dimnames: index with numbers or logicals", call. = FALSE)
    if (!is.numeric(v) && !is.logical(v)) stop(sprintf("invalid subscript type '%s'", typeof(v)), call. = FALSE)
    if (anyNA(v)) stop(sprintf("subscripts must not contain NA (subscript %d)", k), call. = FALSE)
    if (is.numeric(v) && any(v < -.Machine$integer.max))
      stop(sprintf("subscript %d: index %s is outside R's integer range", k, format(min(v))), call. = FALSE)
    if (is.numeric(v) && any(v >= d[k] + 1))
      stop(sprintf("subscript out of bounds (subscript %d: index %s, extent %s)",
                   k, format(max(v)), format(d[k])), call. = FALSE)
    if (is.logical(v) && length(v) > d[k])
      stop(sprintf("(subscript) logical subscript too long (subscript %d: length %d, extent %s)",
                   k, length(v), format(d[k])), call. = FALSE)
    i <- seq_len(d[k])[v]
    if (anyNA(i)) stop(sprintf("subscript out of bounds (subscript %d)", k), call. = FALSE)
    i
  })
}

# A single subscript that is a numeric matrix with one column per dimension
# selects one element per row (R's matrix subscript): turn it into flat
# 1-based indices. Other subscripts come back evaluated (evaluated once).
nd.matrix.subscript <- function(d, sub, env) {
  if (identical(sub, quote(expr = ))) return(sub)
  v <- eval(sub, env)
  if (!is.matrix(v) || !is.numeric(v) || ncol(v) != length(d)) return(v)
  if (anyNA(v)) stop("a matrix subscript must not contain NA", call. = FALSE)
  if (any(v < 1)) stop("negative or zero values are not allowed in a matrix subscript", call. = FALSE)
  v <- floor(v)
  over <- which(t(v) > d)   # column-wise comparison with the extents
  if (length(over))
    stop(sprintf("subscript out of bounds (matrix subscript row %d)", (over[1L] - 1L) %/% length(d) + 1L),
         call. = FALSE)
  as.vector((v - 1) %*% cumprod(c(1, d[-length(d)]))) + 1
}

#' Extract or replace parts of an NDArray
#'
#' Indexing works as for R arrays: one subscript per dimension (numbers,
#' negative numbers, logicals, or empty), a single subscript for the
#' flattened array, or a numeric matrix with one column per dimension
#' selecting one element per row (\code{x[cbind(i, j)]}). \code{drop = TRUE} drops dimensions of extent 1.
#' Replacement writes into the NDArray's memory (every reference to it sees
#' the change) and takes a number, an R vector or an MXNDArray.
#'
#' @param x An MXNDArray.
#' @param ... Subscripts.
#' @param drop Drop dimensions of extent 1.
#' @param value Replacement values (recycled only from length 1).
#' @return \code{[}: a new MXNDArray; \code{[<-}: \code{x}.
#' @examples
#' x <- mx.nd.array(matrix(1:12, 3, 4))
#' as.array(x[2, ])
#' as.array(x[-1, 2:3])
#' x[1, 1] <- 100
#' as.array(x)[1, 1]
#' @name Extract.MXNDArray
#' @export
`[.MXNDArray` <- function(x, ..., drop = TRUE) {
  nd.check.valid(x)
  subs <- as.list(substitute(list(...)))[-1L]
  d <- dim(x)
  env <- parent.frame()
  if (length(subs) == 1L && length(d) != 1L) {
    subs[[1L]] <- nd.matrix.subscript(d, subs[[1L]], env)
    flat <- .Call(C_mx_r_nd_reshape, x, length(x))
    idx <- nd.subscripts(length(x), subs, env)
    return(.Call(C_mx_r_nd_index_get, flat, idx))
  }
  if (length(subs) != length(d))
    stop(sprintf("incorrect number of dimensions: the MXNDArray has %d, but %d subscripts were given",
                 length(d), length(subs)), call. = FALSE)
  idx <- nd.subscripts(d, subs, env)
  res <- .Call(C_mx_r_nd_index_get, x, idx)
  if (isTRUE(drop)) {
    rd <- dim(res)
    keep <- rd != 1L
    if (!all(keep)) {
      nd <- if (any(keep)) rd[keep] else 1L
      res <- .Call(C_mx_r_nd_reshape, res, nd)
    }
  }
  res
}

#' @rdname Extract.MXNDArray
#' @export
`[<-.MXNDArray` <- function(x, ..., value) {
  nd.check.valid(x)
  subs <- as.list(substitute(list(...)))[-1L]
  d <- dim(x)
  env <- parent.frame()
  if (length(subs) == 1L && length(d) != 1L) {
    subs[[1L]] <- nd.matrix.subscript(d, subs[[1L]], env)
    flat <- .Call(C_mx_r_nd_reshape, x, length(x))
    .Call(C_mx_r_nd_index_set, flat, nd.subscripts(length(x), subs, env), value)
    return(x)
  }
  if (length(subs) != length(d))
    stop(sprintf("incorrect number of dimensions: the MXNDArray has %d, but %d subscripts were given",
                 length(d), length(subs)), call. = FALSE)
  .Call(C_mx_r_nd_index_set, x, nd.subscripts(d, subs, env), value)
  x
}

# ------------------------------------------------------------ files

#' Save and load NDArrays
#'
#' Writes MXNet's binary NDArray list format (the format of \code{.params}
#' checkpoint files), readable by MXNet itself; reads that format including
#' the layouts of older MXNet versions. A file is written beside the target
#' and renamed, so a failed save never destroys an existing file.
#'
#' @param ndarray An MXNDArray or a (named) list of them.
#' @param filename File path.
#' @return \code{mx.nd.save}: \code{NULL}, invisibly. \code{mx.nd.load}: a list
#'   of MXNDArrays, named when the file stores names.
#' @examples
#' f <- tempfile(fileext = ".params")
#' mx.nd.save(list(w = mx.nd.array(1:3)), f)
#' as.array(mx.nd.load(f)$w)
#' @export
mx.nd.save <- function(ndarray, filename) {
  if (inherits(ndarray, c("MXNDArray", "MXNDArraySparse"))) ndarray <- list(ndarray)
  if (!is.list(ndarray)) stop("argument 'ndarray' must be an MXNDArray or a list of them", call. = FALSE)
  if (is.character(filename) && length(filename) == 1L && !is.na(filename))
    filename <- normalizePath(filename, mustWork = FALSE)   # write through symlinks
  p <- sparse.save.parts(unname(ndarray))
  invisible(.Call(C_mx_r_nd_save, p$arrays, nd.list.names(ndarray), filename, p$sparse))
}

#' @rdname mx.nd.save
#' @export
mx.nd.load <- function(filename) {
  if (!is.character(filename) || length(filename) != 1L || is.na(filename))
    stop("argument 'filename' must be a single file name", call. = FALSE)
  if (!file.exists(filename)) stop(sprintf("file '%s' does not exist", filename), call. = FALSE)
  sparse.load.parts(.Call(C_mx_r_nd_load, filename), sprintf("'%s'", filename))
}

nd.list.names <- function(x) {
  nm <- names(x)
  if (is.null(nm) || all(!is.na(nm) & nm == "")) return(NULL)
  if (any(is.na(nm) | nm == "")) stop("either every element of 'ndarray' is named or none is", call. = FALSE)
  nm
}

#' Serialise NDArrays to a raw vector
#'
#' The same bytes \code{\link{mx.nd.save}} writes to a file, kept in memory
#' (NDArrays themselves also survive \code{saveRDS}: see \code{\link{mx.serialize}}).
#'
#' @param ndarray An MXNDArray or a (named) list of them.
#' @param x A raw vector.
#' @return \code{mx.nd.serialize}: a raw vector; \code{mx.nd.deserialize}: a
#'   list of MXNDArrays.
#' @examples
#' r <- mx.nd.serialize(list(a = mx.nd.ones(2)))
#' as.array(mx.nd.deserialize(r)$a)
#' @export
mx.nd.serialize <- function(ndarray) {
  if (inherits(ndarray, c("MXNDArray", "MXNDArraySparse"))) ndarray <- list(ndarray)
  if (!is.list(ndarray)) stop("argument 'ndarray' must be an MXNDArray or a list of them", call. = FALSE)
  p <- sparse.save.parts(unname(ndarray))
  .Call(C_mx_r_nd_save_raw, p$arrays, nd.list.names(ndarray), p$sparse)
}

#' @rdname mx.nd.serialize
#' @export
mx.nd.deserialize <- function(x) sparse.load.parts(.Call(C_mx_r_nd_load_raw, x), "the raw vector")
