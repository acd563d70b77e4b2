# Sparse arrays: CSR and row_sparse, as R objects over dense NDArrays.
#
# The engine's NDArray is dense. A sparse array is a list of class
# c("MXNDArrayCSR", "MXNDArraySparse") or c("MXNDArrayRowSparse",
# "MXNDArraySparse") holding its components as dense CPU NDArrays and its
# engine (C order) shape; the kernels are internal ops of src/ops/sparse.c
# that take the components as inputs. See docs/sparse.md.

sparse.fail <- function(...) mx.error("value", sprintf(...))

sparse.new <- function(stype, shape, ...) {
  cls <- if (stype == "csr") "MXNDArrayCSR" else "MXNDArrayRowSparse"
  structure(list(stype = stype, shape = as.numeric(shape), ...), class = c(cls, "MXNDArraySparse"))
}

# An R vector or NDArray as a plain R vector (for checks).
sparse.values <- function(x) if (inherits(x, "MXNDArray")) as.vector(as.array(x)) else as.vector(x)

sparse.nd <- function(x, dtype, arg) {
  if (inherits(x, "MXNDArray")) return(mx.nd.copyto(x, mx.cpu(), dtype))
  if (!is.numeric(x) && !is.logical(x)) sparse.fail("argument '%s' must be numeric", arg)
  if (anyNA(x)) sparse.fail("argument '%s' contains NA", arg)
  mx.nd.array(as.vector(x), ctx = mx.cpu(), dtype = dtype)
}

sparse.check.shape <- function(shape, n) {
  if (!is.numeric(shape) || length(shape) != n || anyNA(shape) || any(shape < 0) ||
      any(shape != floor(shape)))
    sparse.fail("argument 'shape' must be %d non-negative whole number(s)", n)
  as.numeric(shape)
}

# 0-based indices: whole numbers in [0, bound).
sparse.check.index <- function(i, bound, what) {
  if (length(i) && (anyNA(i) || any(i != floor(i)) || any(i < 0) || any(i >= bound)))
    sparse.fail("%s must be whole numbers in [0, %s)", what, format(bound))
  invisible(i)
}

#' Sparse arrays: CSR and row_sparse
#'
#' \code{mx.nd.sparse.csr} builds a compressed-sparse-row matrix,
#' \code{mx.nd.sparse.row_sparse} an array of which only some rows are
#' stored (MXNet's \code{csr} and \code{row_sparse} storage types; MXNet's
#' Python constructors are \code{csr_matrix} and \code{row_sparse_array}).
#' The components are kept as CPU NDArrays: \code{data} (the values, float32
#' or float64), \code{indices} and \code{indptr} (int64).
#'
#' Orientation follows the package's dense rule (R dimensions are the engine
#' dimensions reversed). A CSR array of engine shape \code{(rows, cols)}
#' (MXNet's view: \code{indptr} has \code{rows + 1} entries, \code{indices}
#' are column numbers) has R dimensions \code{c(cols, rows)}: its compressed
#' engine rows are the R columns, so its components are exactly those of a
#' \code{Matrix::dgCMatrix} of \code{dim = shape} (\code{x}, \code{i},
#' \code{p}), and \code{as.array} gives that R matrix. A data set with one
#' example per R column (the package's convention) is then a CSR array with
#' one example per engine row, as MXNet expects. A \code{dgCMatrix} with
#' examples in rows needs \code{Matrix::t()} first.
#'
#' For \code{row_sparse}, \code{data} holds the stored rows: its last R
#' dimension (the engine's first) has one entry per element of
#' \code{indices}, the 0-based row numbers (strictly increasing) along the
#' last R dimension of \code{shape}.
#'
#' Bad components (lengths, an \code{indptr} that does not start at 0, does
#' not end at the number of values or decreases, indices out of range or not
#' strictly increasing within a row) give an error of class
#' \code{mxnet_value_error}.
#'
#' @param data Values: an R vector or NDArray; for \code{mx.nd.sparse.csr}
#'   also a \code{dgCMatrix} (other \code{Matrix} sparse classes are
#'   converted), whose components and dimensions are used; for
#'   \code{row_sparse} an R array or NDArray of the stored rows.
#' @param indices 0-based indices (see Details).
#' @param indptr For CSR: where each engine row (R column) starts, length
#'   \code{rows + 1}.
#' @param shape Dimensions in R order (\code{c(cols, rows)} for CSR).
#' @param dtype \code{"float32"} or \code{"float64"}.
#' @return An object of class \code{MXNDArraySparse}.
#' @examples
#' # the R matrix [1 0; 0 0; 2 3] (3 x 2) in CSR: columns are compressed
#' x <- mx.nd.sparse.csr(c(1, 2, 3), indices = c(0, 2, 2), indptr = c(0, 2, 3), shape = c(3, 2))
#' as.array(x)
#' mx.nd.sparse.nnz(x)
#' r <- mx.nd.sparse.row_sparse(matrix(1:4, 2), indices = c(1, 3), shape = c(2, 5))
#' as.array(r)
#' @export
mx.nd.sparse.csr <- function(data, indices = NULL, indptr = NULL, shape = NULL, dtype = "float32") {
  if (methods::is(data, "sparseMatrix")) {
    m <- sparse.from.Matrix(data)
    data <- m@x
    indices <- m@i
    indptr <- m@p
    shape <- dim(m)
  }
  shape <- sparse.check.shape(shape, 2L)
  if (!dtype %in% c("float32", "float64")) sparse.fail("argument 'dtype' must be \"float32\" or \"float64\"")
  v <- sparse.values(data)
  i <- sparse.values(indices)
  p <- sparse.values(indptr)
  if (length(i) != length(v)) sparse.fail("'indices' has %d entries but 'data' %d", length(i), length(v))
  if (length(p) != shape[2L] + 1)
    sparse.fail("'indptr' must have %s entries (shape[2] + 1), not %d", format(shape[2L] + 1), length(p))
  if (anyNA(p) || p[1L] != 0 || any(diff(p) < 0) || p[length(p)] != length(v))
    sparse.fail("'indptr' must start at 0, never decrease and end at the number of values (%d)", length(v))
  sparse.check.index(i, shape[1L], "'indices'")
  row <- rep.int(seq_len(shape[2L]), diff(p))
  if (length(i) > 1L && any(diff(i) <= 0 & diff(row) == 0))
    sparse.fail("'indices' must be strictly increasing within each compressed row (R column)")
  sparse.new("csr", rev(shape), data = sparse.nd(data, dtype, "data"),
             indices = sparse.nd(i, "int64", "indices"), indptr = sparse.nd(p, "int64", "indptr"))
}

#' @rdname mx.nd.sparse.csr
#' @export
mx.nd.sparse.row_sparse <- function(data, indices, shape, dtype = "float32") {
  if (!dtype %in% c("float32", "float64")) sparse.fail("argument 'dtype' must be \"float32\" or \"float64\"")
  d <- if (inherits(data, "MXNDArray")) dim(data) else dim(data) %||% length(data)
  shape <- sparse.check.shape(shape, length(d))
  i <- sparse.values(indices)
  k <- length(d)
  if (length(i) != d[k]) sparse.fail("'indices' has %d entries but 'data' holds %d rows", length(i), d[k])
  if (!all(d[-k] == shape[-k])) sparse.fail("the rows of 'data' do not match 'shape'")
  sparse.check.index(i, shape[k], "'indices'")
  if (any(diff(i) <= 0)) sparse.fail("'indices' must be strictly increasing")
  nd <- if (inherits(data, "MXNDArray")) mx.nd.copyto(data, mx.cpu(), dtype) else
    mx.nd.array(if (is.null(dim(data))) as.vector(data) else data, ctx = mx.cpu(), dtype = dtype)
  sparse.new("row_sparse", rev(shape), data = nd, indices = sparse.nd(i, "int64", "indices"))
}

# A Matrix sparse matrix as a dgCMatrix.
sparse.from.Matrix <- function(x) {
  if (!requireNamespace("Matrix", quietly = TRUE))
    mx.error("unsupported", "the Matrix package is needed to convert Matrix objects")
  if (!methods::is(x, "dgCMatrix")) x <- methods::as(methods::as(x, "CsparseMatrix"), "generalMatrix")
  if (!methods::is(x, "dgCMatrix")) x <- methods::as(x, "dMatrix")
  x
}

#' Number of stored values of a sparse array
#'
#' @param x An \code{MXNDArraySparse}.
#' @return The number of stored values (for row_sparse: the elements of the
#'   stored rows).
#' @examples
#' mx.nd.sparse.nnz(mx.nd.cast.storage(mx.nd.array(diag(3)), "csr"))
#' @export
mx.nd.sparse.nnz <- function(x) {
  if (!inherits(x, "MXNDArraySparse")) sparse.fail("argument 'x' must be an MXNDArraySparse")
  length(x$data)
}

#' Storage type of an array
#'
#' @param x An MXNDArray or MXNDArraySparse.
#' @return \code{"default"}, \code{"csr"} or \code{"row_sparse"}.
#' @examples
#' mx.nd.stype(mx.nd.zeros(c(2, 2)))
#' @export
mx.nd.stype <- function(x) if (inherits(x, "MXNDArraySparse")) x$stype else "default"

#' Convert between dense, CSR and row_sparse storage
#'
#' MXNet's \code{cast_storage}. A dense 2-dimensional array becomes CSR
#' (its R columns are compressed, see \code{\link{mx.nd.sparse.csr}}), any
#' dense array row_sparse (the engine's rows, R's last dimension, that hold a
#' non-zero); sparse arrays become dense. CSR to row_sparse and back go
#' through the dense array. R matrices and \code{Matrix} sparse matrices are
#' accepted too.
#'
#' @param x An MXNDArray, MXNDArraySparse, R matrix or \code{dgCMatrix}.
#' @param stype \code{"default"}, \code{"csr"} or \code{"row_sparse"}.
#' @return An MXNDArray (\code{"default"}) or MXNDArraySparse.
#' @examples
#' m <- matrix(c(0, 1, 0, 0, 2, 0), 3)
#' x <- mx.nd.cast.storage(m, "csr")
#' x
#' all.equal(as.array(mx.nd.cast.storage(x, "default")), m)
#' @export
mx.nd.cast.storage <- function(x, stype) {
  if (!is.character(stype) || length(stype) != 1L || !stype %in% c("default", "csr", "row_sparse"))
    sparse.fail("argument 'stype' must be \"default\", \"csr\" or \"row_sparse\"")
  if (methods::is(x, "sparseMatrix")) x <- mx.nd.sparse.csr(x)
  if (is.numeric(x) || is.logical(x)) x <- mx.nd.array(x, ctx = mx.cpu())
  if (identical(mx.nd.stype(x), stype)) return(x)
  if (inherits(x, "MXNDArraySparse")) {
    dense <- if (x$stype == "csr")
      nd.invoke("_sparse_csr_to_dense", list(x$data, x$indices, x$indptr), list(num_cols = x$shape[2L]))
    else nd.invoke("_sparse_rsp_to_dense", list(x$data, x$indices), list(num_rows = x$shape[1L]))
    return(if (stype == "default") dense else mx.nd.cast.storage(dense, stype))
  }
  if (!inherits(x, "MXNDArray")) sparse.fail("argument 'x' must be an array, not %s", class(x)[1L])
  x <- mx.nd.copyto(x, mx.cpu())
  d <- dim(x)
  if (stype == "csr") {
    if (length(d) != 2L) sparse.fail("CSR needs a 2-dimensional array, not %d dimensions", length(d))
    p <- c(0, cumsum(as.array(nd.invoke("_sparse_row_nnz", list(x)))))
    parts <- nd.invoke("_sparse_csr_from_dense", list(x, mx.nd.array(p, ctx = mx.cpu(), dtype = "int64")),
                       list(nnz = p[length(p)]))
    return(sparse.new("csr", rev(d), data = parts[[1L]], indices = parts[[2L]],
                      indptr = mx.nd.array(p, ctx = mx.cpu(), dtype = "int64")))
  }
  flat <- mx.nd.reshape(x, shape = c(prod(d[-length(d)]), d[length(d)]))
  sparse.rsp.rows(x, which(as.array(nd.invoke("_sparse_row_nnz", list(flat))) > 0) - 1)
}

# The engine rows `rows` (0-based, increasing) of a dense CPU array as a
# row_sparse array of its shape.
sparse.rsp.rows <- function(x, rows) {
  d <- dim(x)
  k <- length(d)
  idx <- mx.nd.array(rows, ctx = mx.cpu(), dtype = "int64")
  data <- if (length(rows)) mx.nd.take(x, idx, axis = 0) else mx.nd.zeros(c(d[-k], 0), ctx = mx.cpu(), dtype = mx.nd.dtype(x))
  sparse.new("row_sparse", rev(d), data = data, indices = idx)
}

#' A sparse array as a Matrix::dgCMatrix
#'
#' The R matrix of \code{as.array(x)} (2-dimensional arrays), without
#' building the dense matrix for CSR arrays. Needs the Matrix package.
#'
#' @param x An MXNDArraySparse (or a dense 2-dimensional MXNDArray).
#' @return A \code{dgCMatrix}.
#' @examples
#' if (requireNamespace("Matrix", quietly = TRUE)) {
#'   m <- mx.nd.sparse.as.dgCMatrix(mx.nd.cast.storage(mx.nd.array(diag(2)), "csr"))
#'   print(m)
#' }
#' @export
mx.nd.sparse.as.dgCMatrix <- function(x) {
  if (!requireNamespace("Matrix", quietly = TRUE))
    mx.error("unsupported", "the Matrix package is needed for dgCMatrix")
  x <- mx.nd.cast.storage(x, "csr")
  Matrix::sparseMatrix(i = as.vector(as.array(x$indices)), p = as.vector(as.array(x$indptr)),
                       x = as.vector(as.array(x$data)), dims = rev(x$shape), index1 = FALSE)
}

#' Sparse array methods
#'
#' \code{dim} (R order), \code{length}, \code{as.array}, \code{as.matrix},
#' \code{print}. Element-wise operations that keep zeros act on the stored
#' values and keep the storage type: multiplication and division by a
#' scalar, \code{^} with a positive scalar, unary minus, \code{abs},
#' \code{sign}, \code{sqrt}, \code{trunc}, \code{sin}, \code{tan},
#' \code{sinh}, \code{tanh}, \code{asin}, \code{atan}, \code{asinh},
#' \code{atanh}, \code{expm1}, \code{log1p}, and \code{mx.nd.square},
#' \code{mx.nd.negative}, \code{mx.nd.abs}, \code{mx.nd.sqrt},
#' \code{mx.nd.sign}. Two row_sparse arrays of one shape add (\code{+}) and
#' subtract on the union of their rows. Other operations give an error of
#' class \code{mxnet_unsupported_error}: convert with
#' \code{\link{mx.nd.cast.storage}} first.
#'
#' @param x,e1,e2 MXNDArraySparse (or a number for the other operand).
#' @param ... Unused.
#' @return See Details.
#' @examples
#' x <- mx.nd.cast.storage(matrix(c(0, -2, 0, 4), 2), "csr")
#' as.array(abs(x) * 2)
#' dim(x)
#' @name MXNDArraySparse
NULL

#' @rdname MXNDArraySparse
#' @export
dim.MXNDArraySparse <- function(x) rev(x$shape)

#' @rdname MXNDArraySparse
#' @export
length.MXNDArraySparse <- function(x) prod(x$shape)

#' @rdname MXNDArraySparse
#' @export
as.array.MXNDArraySparse <- function(x, ...) as.array(mx.nd.cast.storage(x, "default"))

#' @rdname MXNDArraySparse
#' @export
as.matrix.MXNDArraySparse <- function(x, ...) as.matrix(mx.nd.cast.storage(x, "default"))

#' @rdname MXNDArraySparse
#' @export
format.MXNDArraySparse <- function(x, ...)
  sprintf("<MXNDArraySparse %s %s %s, %d stored>", x$stype, mx.nd.dtype(x$data),
          paste0("c(", paste(format(dim(x), scientific = FALSE), collapse = ", "), ")"),
          mx.nd.sparse.nnz(x))

#' @rdname MXNDArraySparse
#' @export
print.MXNDArraySparse <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  if (length(x) <= 100) print(as.array(x))
  invisible(x)
}

# The same sparse array with f applied to its stored values.
sparse.map <- function(x, f) {
  x$data <- f(x$data)
  x
}

sparse.zero.math <- c("abs", "sign", "sqrt", "trunc", "sin", "tan", "sinh", "tanh", "asin", "atan",
                      "asinh", "atanh", "expm1", "log1p")

#' @rdname MXNDArraySparse
#' @export
Math.MXNDArraySparse <- function(x, ...) {
  gen <- .Generic
  if (!gen %in% sparse.zero.math)
    mx.error("unsupported", sprintf("%s() does not keep zeros: use mx.nd.cast.storage(x, \"default\") first", gen))
  f <- get(gen, baseenv())
  sparse.map(x, function(d) f(d))
}

#' @rdname MXNDArraySparse
#' @export
Ops.MXNDArraySparse <- function(e1, e2) {
  gen <- .Generic
  if (missing(e2)) {
    if (gen == "-") return(sparse.map(e1, function(d) -d))
    if (gen == "+") return(e1)
  } else {
    s1 <- inherits(e1, "MXNDArraySparse")
    s2 <- inherits(e2, "MXNDArraySparse")
    if (s1 && s2 && gen %in% c("+", "-") && e1$stype == "row_sparse" && e2$stype == "row_sparse")
      return(sparse.rsp.add(e1, if (gen == "-") -e2 else e2))
    scalar <- function(v) is.numeric(v) && length(v) == 1L && is.null(dim(v)) && is.finite(v)
    if (s1 && scalar(e2) && (gen %in% c("*", "/") || (gen == "^" && e2 > 0)))
      return(sparse.map(e1, function(d) switch(gen, "*" = d * e2, "/" = d / e2, "^" = d^e2)))
    if (s2 && scalar(e1) && gen == "*") return(sparse.map(e2, function(d) e1 * d))
  }
  mx.error("unsupported", sprintf("'%s' is not defined here for sparse arrays (it would not keep zeros, or the storage types differ): use mx.nd.cast.storage(x, \"default\") first", gen))
}

sparse.rsp.add <- function(a, b) {
  if (!identical(a$shape, b$shape))
    sparse.fail("row_sparse +: shapes %s and %s differ", deparse(dim(a)), deparse(dim(b)))
  rows <- sort(union(as.array(a$indices), as.array(b$indices)))
  idx <- mx.nd.array(rows, ctx = mx.cpu(), dtype = "int64")
  sparse.new("row_sparse", a$shape, indices = idx,
             data = nd.invoke("_sparse_rsp_add", list(a$data, a$indices, b$data, b$indices, idx)))
}

# Called by the generated wrappers of dot, square, negative, abs, sqrt and
# sign when their first input is sparse (R/generate.R: gen.nd.sparse).
nd.sparse.op <- function(op, args) {
  if (!is.null(args$out)) mx.error("unsupported", sprintf("%s: 'out' is not supported for sparse arrays", op))
  x <- args[[1L]]
  switch(op,
    dot = mx.nd.sparse.dot(x, args$rhs, transpose_a = args$transpose_a, transpose_b = args$transpose_b),
    square = x^2, negative = -x, abs = abs(x), sqrt = sqrt(x), sign = sign(x))
}

#' Product of a CSR matrix and a dense matrix
#'
#' MXNet's \code{dot} with a CSR left operand; \code{mx.nd.dot(lhs, rhs)}
#' calls it when \code{lhs} is sparse. In engine order a CSR \code{lhs} of
#' shape \code{(M, K)} times a dense \code{rhs} of shape \code{(K, N)}
#' gives \code{(M, N)}, or, with \code{transpose_a}, \code{lhs} transposed
#' times \code{rhs} of shape \code{(M, N)} gives \code{(K, N)}. In R order
#' (\code{X} the R matrix of \code{lhs}, \code{R} that of \code{rhs}) the
#' result is \code{R \%*\% X}, or \code{R \%*\% t(X)} with
#' \code{transpose_a}. A 1-dimensional \code{rhs} is a single column.
#' Rows are computed in parallel. With \code{forward_stype = "row_sparse"}
#' (and \code{transpose_a}) only the rows of the result that can be
#' non-zero (the columns the CSR matrix uses) are computed and returned as
#' a row_sparse array: the gradient of a linear model's weight.
#'
#' @param lhs A CSR MXNDArraySparse.
#' @param rhs A dense MXNDArray (or R matrix/vector), float32 or float64 as
#'   \code{lhs}.
#' @param transpose_a Use \code{lhs} transposed.
#' @param transpose_b Must be \code{FALSE} (not supported with CSR).
#' @param forward_stype \code{"default"} (dense result) or
#'   \code{"row_sparse"} (only with \code{transpose_a}).
#' @return An MXNDArray, or an MXNDArraySparse for \code{"row_sparse"}.
#' @examples
#' X <- mx.nd.cast.storage(matrix(c(1, 0, 0, 2, 0, 3), 3), "csr")  # engine (2, 3)
#' w <- mx.nd.array(matrix(1:6, 2, 3))                             # engine (3, 2)
#' as.array(mx.nd.dot(X, w))   # = matrix(1:6, 2, 3) %*% matrix(c(1, 0, 0, 2, 0, 3), 3)
#' @export
mx.nd.sparse.dot <- function(lhs, rhs, transpose_a = FALSE, transpose_b = FALSE, forward_stype = "default") {
  if (!inherits(lhs, "MXNDArrayCSR")) mx.error("unsupported", "sparse dot needs a CSR left operand")
  if (isTRUE(as.logical(transpose_b))) mx.error("unsupported", "dot: transpose_b is not supported with a CSR operand")
  ta <- isTRUE(as.logical(transpose_a))
  if (!inherits(rhs, "MXNDArray")) rhs <- mx.nd.array(rhs, ctx = mx.cpu(), dtype = mx.nd.dtype(lhs$data))
  else if (mx.nd.info(rhs)$ctx$device != "cpu") rhs <- mx.nd.copyto(rhs, mx.cpu())
  d <- dim(rhs)
  if (length(d) == 1L) rhs <- mx.nd.reshape(rhs, shape = c(1, d))
  else if (length(d) != 2L) sparse.fail("dot: rhs must have 1 or 2 dimensions, not %d", length(d))
  if (identical(forward_stype, "row_sparse")) {
    if (!ta) mx.error("unsupported", "dot: forward_stype = \"row_sparse\" needs transpose_a = TRUE")
    rows <- sort(unique(as.vector(as.array(lhs$indices))))
    idx <- mx.nd.array(rows, ctx = mx.cpu(), dtype = "int64")
    data <- nd.invoke("_sparse_dot_csr_dense_rsp", list(lhs$data, lhs$indices, lhs$indptr, rhs, idx))
    if (length(d) == 1L) data <- mx.nd.reshape(data, shape = length(rows))
    return(sparse.new("row_sparse", c(lhs$shape[2L], rev(d)[-1L]), data = data, indices = idx))
  }
  if (!identical(forward_stype, "default")) sparse.fail("argument 'forward_stype' must be \"default\" or \"row_sparse\"")
  o <- nd.invoke("_sparse_dot_csr_dense", list(lhs$data, lhs$indices, lhs$indptr, rhs),
                 list(transpose_a = ta, num_cols = lhs$shape[2L]))
  if (length(d) == 1L) mx.nd.reshape(o, shape = dim(o)[2L]) else o
}

# ---------------------------------------------------------------- batches

# CSR components kept as R vectors, for slicing engine rows (examples).
sparse.csr.host <- function(x)
  list(data = as.vector(as.array(x$data)), indices = as.vector(as.array(x$indices)),
       indptr = as.vector(as.array(x$indptr)), ncols = x$shape[2L], dtype = mx.nd.dtype(x$data))

# Engine rows `rows` (0-based) of a host CSR as an MXNDArraySparse, then
# `pad` empty rows.
sparse.csr.rows <- function(h, rows, pad = 0L) {
  from <- h$indptr[rows + 1L]
  len <- h$indptr[rows + 2L] - from
  sel <- sequence(len, from = from + 1)
  len <- c(len, integer(pad))
  sparse.new("csr", c(length(len), h$ncols),
             data = mx.nd.array(h$data[sel], ctx = mx.cpu(), dtype = h$dtype),
             indices = mx.nd.array(h$indices[sel], ctx = mx.cpu(), dtype = "int64"),
             indptr = mx.nd.array(c(0, cumsum(len)), ctx = mx.cpu(), dtype = "int64"))
}

# mx.io.LibSVMIter(data.storage = "csr"): d = list(values, indices, indptr,
# labels) from the reader; the examples in the file's order.
sparse.csr.iter <- function(d, width, label, batch.size, wrap = TRUE) {
  h <- sparse.csr.host(sparse.new("csr", c(dim(d[[3L]]) - 1, width), data = d[[1L]],
                                  indices = d[[2L]], indptr = d[[3L]]))
  sparse.csr.batches(h, as.array(label), seq.int(0L, length.out = length(h$indptr) - 1L), batch.size, wrap)
}

# Batches of a host CSR `h` (sparse.csr.host) with R labels `lab`: batch b
# holds the engine rows order[b*B + 1 .. b*B + B] (0-based `order`) as a CSR
# array of batch.size examples, the labels with them; the last batch is
# filled from the start of the order with wrap, else with empty rows labelled
# 0; num.pad counts them.
sparse.csr.batches <- function(h, lab, order, batch.size, wrap) {
  n <- length(order)
  # state: the number of batches delivered since reset, and the last one
  st <- new.env(parent = emptyenv())
  st$done <- 0
  it <- new.env(parent = emptyenv())
  it$batch.size <- batch.size
  it$reset <- function() invisible(st$done <- 0)
  it$num.pad <- function() as.integer(max(0, st$done * batch.size - n))
  it$value <- function() st$batch
  it$iter.next <- function() {
    if (st$done * batch.size >= n) return(FALSE)
    pos <- st$done * batch.size + seq_len(batch.size) - 1L
    pad <- if (wrap) 0L else sum(pos >= n)
    rows <- order[(if (wrap) pos %% n else pos[pos < n]) + 1L]
    l <- if (is.matrix(lab)) cbind(lab[, rows + 1L, drop = FALSE], matrix(0, nrow(lab), pad))
         else c(lab[rows + 1L], numeric(pad))
    st$batch <- list(data = sparse.csr.rows(h, rows, pad), label = mx.nd.array(l, ctx = mx.cpu()))
    st$done <- st$done + 1
    TRUE
  }
  io.new.iter(it, "MXLibSVMIter")
}

# Is X sparse data for mx.model.FeedForward.create / predict?
sparse.is.data <- function(X) inherits(X, "MXNDArraySparse") || methods::is(X, "sparseMatrix")

# X of mx.model.FeedForward.create or predict as an iterator of CSR batches
# (the last batch filled from the start of the order): a CSR array or Matrix
# sparse matrix with the examples as R columns ("colmajor"); "rowmajor", or
# "auto" with as many R rows as labels, takes a Matrix's transpose.  With
# shuffle the examples are permuted once, here, as mx.io.arrayiter permutes
# them (mx.set.seed makes it reproducible).  Its shard() gives a worker's part
# of a distributed run, as mx.io.arrayiter's does.
sparse.model.iter <- function(X, y, batch.size, layout, what, shuffle = FALSE) {
  layout <- match.arg(layout, c("auto", "colmajor", "rowmajor"))
  if (methods::is(X, "sparseMatrix")) {
    if (layout == "auto" && !is.null(y) && nrow(X) == length(y) && ncol(X) != length(y)) layout <- "rowmajor"
    X <- mx.nd.sparse.csr(if (layout == "rowmajor") Matrix::t(X) else X)
  } else if (layout == "rowmajor") {
    sparse.fail("argument '%s': a CSR array has its examples as R columns; array.layout = \"rowmajor\" needs a Matrix", what)
  }
  if (!inherits(X, "MXNDArrayCSR")) sparse.fail("argument '%s': sparse data must be CSR, not %s", what, X$stype)
  n <- X$shape[1L]
  if (is.null(y)) y <- numeric(n)
  if (!is.numeric(y) || length(y) != n || anyNA(y))
    sparse.fail("'%s' has %s examples (R columns) but %d labels (or labels that are NA)", what, format(n), length(y))
  batch.size <- io.check.batch.size(batch.size)
  h <- sparse.csr.host(X)
  order <- io.order(n, isTRUE(shuffle))
  it <- sparse.csr.batches(h, y, order, batch.size, TRUE)
  it$shard <- io.shard.fn(order, batch.size, TRUE, function(o, w) sparse.csr.batches(h, y, o, batch.size, w))
  it
}

# ------------------------------------------------------- sparse training

#' Lazy (row-sparse) optimizer updates
#'
#' Update only the weight rows a row_sparse gradient holds (MXNet's
#' \code{lazy_update}; its row-sparse \code{sgd_update}, \code{adam_update}
#' and \code{_sparse_adagrad_update}). The formulas are those of the dense
#' update ops (\code{mx.nd.sgd.update}, \code{mx.nd.adam.update},
#' \code{mx.nd.adagrad.update}) applied to the stored rows; weight decay
#' acts on those rows only. The weight and the states (\code{history};
#' \code{mean} and \code{var}), dense CPU arrays of the weight's shape, are
#' updated in place.
#'
#' @param weight A dense float32 or float64 CPU MXNDArray.
#' @param grad A row_sparse MXNDArraySparse of the weight's shape.
#' @param lr Learning rate.
#' @param wd Weight decay.
#' @param rescale.grad Factor the gradient is multiplied by first.
#' @param clip.gradient Clip the rescaled gradient to
#'   \code{[-clip.gradient, clip.gradient]}; negative: no clipping.
#' @param momentum SGD's momentum (with \code{mom}: \code{sgd_mom_update}'s
#'   formula on the stored rows and their momentum).
#' @param mom,history,mean,var Optimizer states (dense, the weight's shape).
#' @param beta1,beta2,epsilon Adam and AdaGrad constants.
#' @return \code{weight}, invisibly (updated in place).
#' @examples
#' w <- mx.nd.zeros(c(2, 5))
#' g <- mx.nd.sparse.row_sparse(matrix(1, 2, 2), indices = c(0, 3), shape = c(2, 5))
#' mx.sparse.sgd.update(w, g, lr = 0.5)
#' as.array(w)
#' @export
mx.sparse.sgd.update <- function(weight, grad, lr, wd = 0, rescale.grad = 1, clip.gradient = -1,
                                 momentum = 0, mom = NULL) {
  if (momentum == 0 && is.null(mom))
    return(sparse.update("_sparse_rsp_sgd_update", weight, grad, list(),
                         list(lr = lr, wd = wd, rescale_grad = rescale.grad, clip_gradient = clip.gradient)))
  if (is.null(mom)) sparse.fail("argument 'mom' (the momentum state) is needed when momentum is not 0")
  sparse.update("_sparse_rsp_sgd_mom_update", weight, grad, list(mom),
                list(lr = lr, momentum = momentum, wd = wd, rescale_grad = rescale.grad,
                     clip_gradient = clip.gradient))
}

#' @rdname mx.sparse.sgd.update
#' @export
mx.sparse.adagrad.update <- function(weight, grad, history, lr, epsilon = 1e-7, wd = 0,
                                     rescale.grad = 1, clip.gradient = -1)
  sparse.update("_sparse_rsp_adagrad_update", weight, grad, list(history),
                list(lr = lr, epsilon = epsilon, wd = wd, rescale_grad = rescale.grad,
                     clip_gradient = clip.gradient))

#' @rdname mx.sparse.sgd.update
#' @export
mx.sparse.adam.update <- function(weight, grad, mean, var, lr, beta1 = 0.9, beta2 = 0.999,
                                  epsilon = 1e-8, wd = 0, rescale.grad = 1, clip.gradient = -1)
  sparse.update("_sparse_rsp_adam_update", weight, grad, list(mean, var),
                list(lr = lr, beta1 = beta1, beta2 = beta2, epsilon = epsilon, wd = wd,
                     rescale_grad = rescale.grad, clip_gradient = clip.gradient))

sparse.update <- function(op, weight, grad, states, params) {
  nd.check(weight, "weight")
  if (!inherits(grad, "MXNDArrayRowSparse")) sparse.fail("argument 'grad' must be a row_sparse array")
  if (!identical(rev(grad$shape), as.numeric(dim(weight))))
    sparse.fail("the gradient's shape %s differs from the weight's %s", deparse(dim(grad)), deparse(dim(weight)))
  nd.invoke(op, c(list(weight, grad$data, grad$indices), states), params, out = weight)
  invisible(weight)
}

#' Logistic regression on CSR data with lazy updates
#'
#' Trains \code{p = sigmoid(x . w + b)} by mini-batch gradient descent on
#' the log loss. Each batch's weight gradient is
#' \code{dot(X, err, transpose_a = TRUE)} computed as a row_sparse array
#' (rows: the features present in the batch), and the update touches only
#' those rows (\code{\link{mx.sparse.sgd.update}} and friends), so a step
#' costs time proportional to the batch's non-zeros, whatever the number of
#' features. Examples are the engine rows of \code{X} (the R columns, see
#' \code{\link{mx.nd.sparse.csr}}).
#'
#' @param X A CSR MXNDArraySparse of R dimensions \code{c(features,
#'   examples)}, or a \code{dgCMatrix} of those dimensions.
#' @param y Labels in \{0, 1\}, one per example.
#' @param optimizer \code{"sgd"}, \code{"adam"} or \code{"adagrad"}.
#' @param learning.rate Learning rate.
#' @param num.round Passes over the data.
#' @param batch.size Examples per batch.
#' @param wd Weight decay (touched rows only).
#' @param shuffle Shuffle the examples every pass.
#' @param verbose Print the mean loss of every pass.
#' @return A list of class \code{MXSparseLogistic}: \code{weight} (an
#'   MXNDArray of R dimensions \code{c(1, features)}), \code{bias}, and
#'   \code{loss} (mean log loss of each pass).
#' @examples
#' X <- mx.nd.sparse.csr(c(1, 1, 1, 1), indices = c(0, 1, 2, 3), indptr = 0:4, shape = c(4, 4))
#' fit <- mx.sparse.logistic(X, y = c(1, 0, 1, 0), learning.rate = 1, num.round = 20, batch.size = 2)
#' round(predict(fit, X), 2)
#' @export
mx.sparse.logistic <- function(X, y, optimizer = "sgd", learning.rate = 0.1, num.round = 10,
                               batch.size = 128, wd = 0, shuffle = TRUE, verbose = FALSE) {
  if (methods::is(X, "sparseMatrix")) X <- mx.nd.sparse.csr(X)
  if (!inherits(X, "MXNDArrayCSR")) sparse.fail("argument 'X' must be a CSR array")
  h <- sparse.csr.host(X)
  n <- X$shape[1L]
  nf <- X$shape[2L]
  if (!is.numeric(y) || length(y) != n || !all(y %in% c(0, 1)))
    sparse.fail("argument 'y' must hold %s labels in {0, 1}", format(n))
  if (!optimizer %in% c("sgd", "adam", "adagrad"))
    sparse.fail("argument 'optimizer' must be \"sgd\", \"adam\" or \"adagrad\"")
  batch.size <- io.check.batch.size(batch.size)
  w <- mx.nd.zeros(c(1, nf), ctx = mx.cpu(), dtype = h$dtype)
  s1 <- if (optimizer != "sgd") mx.nd.zeros(c(1, nf), ctx = mx.cpu(), dtype = h$dtype)
  s2 <- if (optimizer == "adam") mx.nd.zeros(c(1, nf), ctx = mx.cpu(), dtype = h$dtype)
  b <- 0
  losses <- numeric(0)
  for (round in seq_len(num.round)) {
    order <- if (shuffle) sample.int(n) - 1L else seq_len(n) - 1L
    total <- 0
    for (first in seq(1L, n, by = batch.size)) {
      rows <- order[first:min(n, first + batch.size - 1L)]
      Xb <- sparse.csr.rows(h, rows)
      p <- 1 / (1 + exp(-(as.vector(as.array(mx.nd.sparse.dot(Xb, w))) + b)))
      yb <- y[rows + 1L]
      total <- total - sum(yb * log(pmax(p, 1e-12)) + (1 - yb) * log(pmax(1 - p, 1e-12)))
      err <- mx.nd.array(matrix(p - yb, nrow = 1L), ctx = mx.cpu(), dtype = h$dtype)
      g <- mx.nd.sparse.dot(Xb, err, transpose_a = TRUE, forward_stype = "row_sparse")
      rs <- 1 / length(rows)
      switch(optimizer,
        sgd = mx.sparse.sgd.update(w, g, learning.rate, wd = wd, rescale.grad = rs),
        adagrad = mx.sparse.adagrad.update(w, g, s1, learning.rate, wd = wd, rescale.grad = rs),
        adam = mx.sparse.adam.update(w, g, s1, s2, learning.rate, wd = wd, rescale.grad = rs))
      b <- b - learning.rate * mean(p - yb)
    }
    losses <- c(losses, total / n)
    if (verbose) message(sprintf("round %d: log loss %.5f", round, total / n))
  }
  structure(list(weight = w, bias = b, loss = losses), class = "MXSparseLogistic")
}

#' Predicted probabilities of a sparse logistic model
#'
#' @param object An \code{MXSparseLogistic} from \code{\link{mx.sparse.logistic}}.
#' @param newdata A CSR MXNDArraySparse (or \code{dgCMatrix}) with the
#'   training data's features as R rows.
#' @param ... Unused.
#' @return Probabilities, one per example (R column of \code{newdata}).
#' @examples
#' X <- mx.nd.sparse.csr(c(1, 1), indices = c(0, 1), indptr = 0:2, shape = c(2, 2))
#' fit <- mx.sparse.logistic(X, y = c(1, 0), learning.rate = 1, num.round = 5, batch.size = 2)
#' predict(fit, X)
#' @export
predict.MXSparseLogistic <- function(object, newdata, ...) {
  if (methods::is(newdata, "sparseMatrix")) newdata <- mx.nd.sparse.csr(newdata)
  1 / (1 + exp(-(as.vector(as.array(mx.nd.sparse.dot(newdata, object$weight))) + object$bias)))
}

# ------------------------------------------------------------- saving

# mx.nd.save's side of sparse arrays (MXNet's row_sparse and csr records):
# the stored values go as the array, list(stype, C-order shape, index
# arrays) to the C writer; NULL for dense arrays (and for an all-dense list).
sparse.save.parts <- function(x) {
  if (!any(vapply(x, inherits, NA, "MXNDArraySparse"))) return(list(arrays = x, sparse = NULL))
  list(arrays = lapply(x, function(a) if (inherits(a, "MXNDArraySparse")) a$data else a),
       sparse = lapply(x, function(a) if (!inherits(a, "MXNDArraySparse")) NULL else
         list(stype = if (a$stype == "csr") 2L else 1L, shape = as.numeric(a$shape),
              aux = if (a$stype == "csr") list(a$indptr, a$indices) else list(a$indices))))
}

# mx.nd.load's side: sparse records become sparse arrays, checked as their
# constructors check them; a record that fails is an io error naming it.
sparse.load.parts <- function(res, where) {
  sp <- attr(res, "sparse")
  if (is.null(sp)) return(res)
  attr(res, "sparse") <- NULL
  for (i in which(!vapply(sp, is.null, NA))) {
    e <- sp[[i]]
    csr <- e$stype == 2L
    res[[i]] <- tryCatch(
      if (csr) mx.nd.sparse.csr(res[[i]], indices = e$aux[[2L]], indptr = e$aux[[1L]], shape = rev(e$shape),
                                dtype = mx.nd.dtype(res[[i]]))
      else mx.nd.sparse.row_sparse(res[[i]], indices = e$aux[[1L]], shape = rev(e$shape),
                                   dtype = mx.nd.dtype(res[[i]])),
      mxnet_value_error = function(err)
        mx.error("io", sprintf("%s: array %d is not a valid %s array: %s", where, i,
                               if (csr) "csr" else "row_sparse", conditionMessage(err))))
  }
  res
}
