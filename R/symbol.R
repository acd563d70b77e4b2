# Symbols: declarative networks. An MXSymbol is a length-1 list of class
# "MXSymbol" holding an external pointer to the engine's graph; composing
# symbols shares graph nodes.

#' Create a symbolic variable
#'
#' A named placeholder: network inputs (\code{data}, labels) and parameters
#' are variables. Optional hints are stored as MXNet's hidden attributes.
#'
#' @param name The variable's name.
#' @param attr Named character vector (or list) of extra attributes.
#' @param shape Shape hint in R order (stored as \code{__shape__}).
#' @param lr.mult,wd.mult Learning-rate and weight-decay multipliers.
#' @param dtype Element type hint.
#' @param init Initializer description (a string, stored as \code{__init__}).
#' @return An MXSymbol.
#' @examples
#' data <- mx.symbol.Variable("data")
#' arguments(data)
#' @export
mx.symbol.Variable <- function(name, attr = NULL, shape = NULL, lr.mult = NULL,
                               wd.mult = NULL, dtype = NULL, init = NULL) {
  a <- sym.attr.list(attr)
  if (!is.null(shape)) a[["__shape__"]] <- sym.tuple(rev(shape))
  if (!is.null(lr.mult)) a[["__lr_mult__"]] <- sym.num(lr.mult)
  if (!is.null(wd.mult)) a[["__wd_mult__"]] <- sym.num(wd.mult)
  if (!is.null(dtype)) a[["__dtype__"]] <- as.character(dtype)
  if (!is.null(init)) a[["__init__"]] <- as.character(init)
  .Call(C_mx_r_sym_variable, name, if (length(a)) unlist(a) else NULL)
}

sym.attr.list <- function(attr) {
  if (is.null(attr)) return(list())
  if (is.null(names(attr)) || any(names(attr) == ""))
    stop("argument 'attr' must be named", call. = FALSE)
  as.list(vapply(attr, as.character, ""))
}
sym.tuple <- function(x) {
  x <- as.integer(x)
  if (length(x) == 1L) paste0("(", x, ",)") else paste0("(", paste(x, collapse = ", "), ")")
}
sym.num <- function(x) format(as.numeric(x), digits = 15)

# Create an op node from the arguments of a generated wrapper.
mx.symbol.internal.create <- function(op, args) {
  args <- lapply(args, mx.internal.rewrap, class = "MXSymbol")
  name <- args[["name"]]
  attr <- args[["attr"]]
  args[["name"]] <- NULL
  args[["attr"]] <- NULL
  a <- sym.attr.list(attr)
  .Call(C_mx_r_sym_create, op, args, name, if (length(a)) unlist(a) else NULL)
}

#' Is this a symbol?
#' @param x An object.
#' @return \code{TRUE} for an MXSymbol.
#' @examples
#' is.mx.symbol(mx.symbol.Variable("x"))
#' @export
is.mx.symbol <- function(x) inherits(x, "MXSymbol")

#' Group symbols into one symbol with several outputs
#'
#' @param ... MXSymbols, or one list of them.
#' @return An MXSymbol.
#' @examples
#' a <- mx.symbol.Variable("a"); b <- mx.symbol.Variable("b")
#' outputs(mx.symbol.Group(a, b))
#' @export
mx.symbol.Group <- function(...) {
  s <- list(...)
  if (length(s) == 1L && is.list(s[[1L]]) && !is.mx.symbol(s[[1L]])) s <- s[[1L]]
  .Call(C_mx_r_sym_group, mx.internal.rewrap(s, "MXSymbol"))
}

#' Combine symbols or NDArrays into a list
#'
#' \code{c()} of MXSymbols (or MXNDArrays) gives a plain list of them, as in
#' MXNet, so \code{mx.symbol.Group(c(a, b))} and
#' \code{mx.symbol.concat(c(a, b), num.args = 2)} work. Lists among the
#' arguments are spliced in; \code{NULL}s are dropped.
#'
#' @param ... MXSymbols, MXNDArrays, or lists of them.
#' @return A list.
#' @examples
#' a <- mx.symbol.Variable("a"); b <- mx.symbol.Variable("b")
#' length(c(a, b))
#' @name c.MXSymbol
#' @export
c.MXSymbol <- function(...) mx.internal.combine(list(...))

#' @rdname c.MXSymbol
#' @export
c.MXNDArray <- function(...) mx.internal.combine(list(...))

mx.internal.combine <- function(args) {
  out <- list()
  for (i in seq_along(args)) {
    a <- args[[i]]
    if (is.null(a)) next
    if (is.list(a) && !inherits(a, c("MXSymbol", "MXNDArray"))) {
      out <- c(out, a)
    } else {
      out[[length(out) + 1L]] <- a
      nm <- names(args)[i]
      if (!is.null(nm) && nzchar(nm)) names(out)[length(out)] <- nm
    }
  }
  out
}

# c(<list or NULL>, sym) and unlist() use base R's c(), which splices the
# length-1 list inside an MXSymbol/MXNDArray and leaves its bare external
# pointer. Wrap such pointers again (the C glue checks each pointer's tag, so
# a pointer of the other kind is refused there, never misread).
mx.internal.rewrap <- function(x, class) {
  if (typeof(x) == "externalptr") return(structure(list(x), class = class))
  if (is.list(x) && !inherits(x, c("MXSymbol", "MXNDArray", "MXContext")))
    for (i in seq_along(x))
      if (typeof(x[[i]]) == "externalptr") x[[i]] <- structure(list(x[[i]]), class = class)
  x
}

#' Arguments, outputs, auxiliary states, internals and children of a symbol
#'
#' \code{arguments}: the inputs and parameters (variables), in graph order.
#' \code{outputs}: output names (\code{<node>_output}).
#' \code{auxiliary.states}: variables that are auxiliary states (BatchNorm's
#' moving statistics). \code{internals}: a symbol whose outputs are every
#' node's outputs. \code{children}: a symbol grouping the inputs of the output
#' node(s) (\code{NULL} for a variable).
#'
#' @param x An MXSymbol.
#' @return Character vectors, or MXSymbols.
#' @examples
#' fc <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 10, name = "fc1")
#' arguments(fc)
#' outputs(fc)
#' @name mx.symbol.arguments
#' @export
arguments <- function(x) .Call(C_mx_r_sym_list, x, 0L)

#' @rdname mx.symbol.arguments
#' @export
outputs <- function(x) .Call(C_mx_r_sym_list, x, 1L)

#' @rdname mx.symbol.arguments
#' @export
auxiliary.states <- function(x) .Call(C_mx_r_sym_list, x, 2L)

#' @rdname mx.symbol.arguments
#' @export
internals <- function(x) .Call(C_mx_r_sym_internals, x)

#' @rdname mx.symbol.arguments
#' @export
children <- function(x) .Call(C_mx_r_sym_children, x)

#' Infer the shapes of a symbol's arguments, outputs and auxiliary states
#'
#' @param symbol An MXSymbol.
#' @param ... Input shapes in R order, e.g. \code{data = c(28, 28, 1, 100)}.
#' @return A list with \code{arg.shapes}, \code{out.shapes} and
#'   \code{aux.shapes} (named lists of R-order dims), or \code{NULL} when the
#'   given shapes do not determine them all.
#' @examples
#' net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 10)
#' mx.symbol.infer.shape(net, data = c(784, 128))$arg.shapes
#' @export
mx.symbol.infer.shape <- function(symbol, ...) {
  shapes <- list(...)
  if (length(shapes) == 1L && is.list(shapes[[1L]]) && is.null(names(shapes))) shapes <- shapes[[1L]]
  .Call(C_mx_r_sym_infer_shape, symbol, shapes)
}

#' Infer the element types of a symbol's arguments and outputs
#'
#' @param symbol An MXSymbol.
#' @param ... Input types, e.g. \code{data = "float32"}.
#' @return A list with \code{arg.types}, \code{out.types}, \code{aux.types}.
#' @examples
#' net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 10)
#' mx.symbol.infer.type(net, data = "float64")$arg.types
#' @export
mx.symbol.infer.type <- function(symbol, ...) .Call(C_mx_r_sym_infer_type, symbol, list(...))

#' Compose symbols: bind variables of one symbol to other symbols
#'
#' @param x An MXSymbol.
#' @param ... \code{argument = symbol} pairs, and optionally \code{name}.
#' @return A new MXSymbol.
#' @examples
#' net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 4, name = "fc")
#' pre <- mx.symbol.Activation(mx.symbol.Variable("x"), act_type = "relu")
#' arguments(mx.apply(net, data = pre))
#' @export
mx.apply <- function(x, ...) {
  args <- list(...)
  name <- args[["name"]]
  args[["name"]] <- NULL
  .Call(C_mx_r_sym_compose, x, args, name)
}

#' Symbols as JSON text and files
#'
#' MXNet's symbol JSON (what \code{mx.model.save} writes as
#' \code{<prefix>-symbol.json}); loading also accepts the legacy format of
#' MXNet <= 0.8 and creates the auxiliary states such files omit.
#'
#' @param symbol,x An MXSymbol.
#' @param filename,file.name File path.
#' @param json.str JSON text.
#' @return \code{as.json}: a string; loaders: an MXSymbol.
#' @examples
#' net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 4, name = "fc")
#' j <- as.json(net)
#' identical(arguments(mx.symbol.load.json(j)), arguments(net))
#' @name mx.symbol.save
#' @export
as.json <- function(x) .Call(C_mx_r_sym_to_json, x)

#' @rdname mx.symbol.save
#' @export
mx.symbol.load.json <- function(json.str) .Call(C_mx_r_sym_from_json, json.str)

#' @rdname mx.symbol.save
#' @export
mx.symbol.save <- function(symbol, filename) {
  if (!is.character(filename) || length(filename) != 1L || is.na(filename))
    stop("argument 'filename' must be a single file name", call. = FALSE)
  txt <- as.json(symbol)
  tmp <- paste0(filename, ".tmp-mxnet")
  ok <- tryCatch({ writeLines(txt, tmp, useBytes = TRUE); TRUE }, error = function(e) FALSE,
                 warning = function(w) FALSE)
  if (!ok || !file.rename(tmp, filename)) {
    unlink(tmp)
    stop(sprintf("cannot write '%s'", filename), call. = FALSE)
  }
  invisible(NULL)
}

#' @rdname mx.symbol.save
#' @export
mx.symbol.load <- function(file.name) {
  if (!is.character(file.name) || length(file.name) != 1L || is.na(file.name))
    stop("argument 'file.name' must be a single file name", call. = FALSE)
  if (!file.exists(file.name)) stop(sprintf("file '%s' does not exist", file.name), call. = FALSE)
  if (dir.exists(file.name)) mx.error("io", sprintf("'%s' is a directory, not a symbol file", file.name))
  txt <- paste(readLines(file.name, warn = FALSE, encoding = "UTF-8"), collapse = "\n")
  mx.symbol.load.json(txt)
}

#' Attributes of a symbol's node
#'
#' @param x An MXSymbol (one node).
#' @param ... \code{key = "value"} pairs to set.
#' @return \code{mx.symbol.attributes}: a named character vector;
#'   \code{mx.symbol.set.attr}: \code{x}, invisibly (the node is changed).
#' @examples
#' v <- mx.symbol.Variable("w", lr.mult = 2)
#' mx.symbol.attributes(v)
#' @export
mx.symbol.attributes <- function(x) .Call(C_mx_r_sym_attrs, x)

#' @rdname mx.symbol.attributes
#' @export
mx.symbol.set.attr <- function(x, ...) {
  a <- list(...)
  if (length(a) && (is.null(names(a)) || any(names(a) == "")))
    stop("attributes must be named", call. = FALSE)
  for (k in names(a)) .Call(C_mx_r_sym_set_attr, x, k, as.character(a[[k]]))
  invisible(x)
}

#' @export
`[[.MXSymbol` <- function(x, i) {
  if (is.character(i)) {
    o <- outputs(x)
    k <- match(i, o)
    if (is.na(k)) stop(sprintf("the symbol has no output '%s'", i), call. = FALSE)
    i <- k
  }
  .Call(C_mx_r_sym_output, x, i)
}

#' @export
length.MXSymbol <- function(x) .Call(C_mx_r_sym_num_outputs, x)

# MXNet's Rcpp members, reachable as sym$...
#' @export
`$.MXSymbol` <- function(x, name) {
  switch(name,
    arguments = arguments(x),
    outputs = outputs(x),
    auxiliary.states = auxiliary.states(x),
    attributes = as.list(mx.symbol.attributes(x)),
    name = .Call(C_mx_r_sym_name, x),
    get.internals = function() internals(x),
    get.children = function() children(x),
    get.output = function(i) x[[i]],
    as.json = function() as.json(x),
    save = function(filename) mx.symbol.save(x, filename),
    infer.shape = function(shapes) mx.symbol.infer.shape(x, shapes),
    apply = function(args) do.call(mx.apply, c(list(x), args)),
    debug.str = function() format(x),
    stop(sprintf("MXSymbol has no member '%s'", name), call. = FALSE))
}

#' @export
`$<-.MXSymbol` <- function(x, name, value) {
  if (name != "attributes") stop(sprintf("cannot set '%s' of an MXSymbol", name), call. = FALSE)
  do.call(mx.symbol.set.attr, c(list(x), as.list(value)))
  x
}

#' @export
format.MXSymbol <- function(x, ...) {
  if (!mx.symbol.valid(x)) return("<MXSymbol: released>")
  o <- outputs(x)
  a <- arguments(x)
  paste0("<MXSymbol ", paste(o, collapse = ", "), "; ", length(a), " argument",
         if (length(a) == 1L) "" else "s", ">")
}

mx.symbol.valid <- function(x) {
  is.mx.symbol(x) && !identical(tryCatch(arguments(x), error = function(e) NULL), NULL)
}

#' @export
print.MXSymbol <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  if (mx.symbol.valid(x)) {
    a <- arguments(x)
    cat("  arguments: ", paste(a, collapse = ", "), "\n", sep = "")
    aux <- auxiliary.states(x)
    if (length(aux)) cat("  auxiliary states: ", paste(aux, collapse = ", "), "\n", sep = "")
  }
  invisible(x)
}

# ------------------------------------------------------------- operators

sym.binary <- list(
  # generic = c(symbol op, symbol-scalar op, scalar-symbol op)
  "+" = c("elemwise_add", "_plus_scalar", "_plus_scalar"),
  "-" = c("elemwise_sub", "_minus_scalar", "_rminus_scalar"),
  "*" = c("elemwise_mul", "_mul_scalar", "_mul_scalar"),
  "/" = c("elemwise_div", "_div_scalar", "_rdiv_scalar"),
  "^" = c("_power", "_power_scalar", "_rpower_scalar"),
  "%%" = c("_mod", "_mod_scalar", "_rmod_scalar")
)

#' Arithmetic on symbols
#'
#' \code{+ - * / ^ \%\%} between symbols (same shapes, MXNet's
#' \code{elemwise_*} ops) or a symbol and a number; \code{\%/\%} is
#' \code{floor(e1 / e2)}.
#' @param e1,e2 MXSymbols or numbers.
#' @return An MXSymbol.
#' @examples
#' a <- mx.symbol.Variable("a"); b <- mx.symbol.Variable("b")
#' arguments(a * 2 + b)
#' @name Ops.MXSymbol
#' @export
Ops.MXSymbol <- function(e1, e2) {
  gen <- .Generic
  if (missing(e2)) {
    if (gen == "-") return(mx.symbol.internal.create("_rminus_scalar", list(e1, scalar = 0)))
    if (gen == "+") return(e1)
    stop(sprintf("unary '%s' is not defined for MXSymbol", gen), call. = FALSE)
  }
  if (gen == "%/%") return(mx.symbol.internal.create("floor", list(e1 / e2)))
  ops <- sym.binary[[gen]]
  if (is.null(ops)) stop(sprintf("'%s' is not defined for MXSymbol", gen), call. = FALSE)
  s1 <- is.mx.symbol(e1)
  s2 <- is.mx.symbol(e2)
  if (s1 && s2) return(mx.symbol.internal.create(ops[1L], list(e1, e2)))
  num <- if (s1) e2 else e1
  if (!is.numeric(num) || length(num) != 1L || is.na(num))
    stop(sprintf("'%s': a symbol combines with another symbol or a single number", gen), call. = FALSE)
  if (s1) mx.symbol.internal.create(ops[2L], list(e1, scalar = num))
  else mx.symbol.internal.create(ops[3L], list(e2, scalar = num))
}

#' @export
Math.MXSymbol <- function(x, ...) {
  op <- switch(.Generic, abs = "abs", sign = "sign", sqrt = "sqrt", exp = "exp", log = "log",
               expm1 = "expm1", log1p = "log1p", sin = "sin", cos = "cos", tan = "tan",
               tanh = "tanh", floor = "floor", ceiling = "ceil", trunc = "trunc",
               round = "rint", NULL)
  if (is.null(op)) stop(sprintf("%s() is not supported for MXSymbol", .Generic), call. = FALSE)
  mx.symbol.internal.create(op, list(x))
}

#' Reset the counters of automatic symbol names
#'
#' Unnamed nodes are called after their op plus a counter
#' (\code{convolution0}, \code{convolution1}, ...); this restarts the
#' counters, e.g. to rebuild a network with the same names.
#' @return \code{NULL}, invisibly.
#' @examples
#' mx.symbol.reset.names()
#' @export
mx.symbol.reset.names <- function() invisible(.Call(C_mx_r_sym_reset_names))

#' Element-wise minimum of symbols
#'
#' MXNet's hand-written \code{mx.symbol.min}: the element-wise minimum of
#' two symbols, or of a symbol and a number (use
#' \code{mx.symbol.min_axis}-style reductions through \code{mx.symbol.sum}
#' and friends).
#' @param e1,e2 MXSymbols or numbers (at least one symbol).
#' @return An MXSymbol.
#' @examples
#' a <- mx.symbol.Variable("a")
#' arguments(mx.symbol.min(a, 0))
#' @export
mx.symbol.min <- function(e1, e2) {
  if (is.mx.symbol(e1) && is.mx.symbol(e2)) return(mx.symbol.internal.create("_minimum", list(e1, e2)))
  if (is.mx.symbol(e1)) return(mx.symbol.internal.create("_minimum_scalar", list(e1, scalar = e2)))
  if (is.mx.symbol(e2)) return(mx.symbol.internal.create("_minimum_scalar", list(e2, scalar = e1)))
  stop("mx.symbol.min needs at least one symbol", call. = FALSE)
}
