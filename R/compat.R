# Internal functions of MXNet 1.9.1's R package that published scripts call
# with `mxnet:::` (known-defects K10). Not exported, as in MXNet.

# Concat from one list holding the input symbols (unnamed) and the
# parameters (named: num.args, dim, name), e.g. googlenet, inception-bn.
mx.varg.symbol.Concat <- function(...) mx.symbol.internal.create("Concat", mx.varg.args(list(...)))
mx.varg.symbol.concat <- mx.varg.symbol.Concat

# A list argument is spliced into the call (MXNet's varg functions took one
# list of everything).
mx.varg.args <- function(args) {
  if (length(args) == 1L && is.list(args[[1L]]) && !is.mx.symbol(args[[1L]]) && is.null(names(args)))
    return(args[[1L]])
  args
}

# The data and label argument names of a symbol: the arguments ending in
# "data" and "label" (CGAN example). At most one of each.
mx.model.check.arguments <- function(symbol) {
  args <- arguments(symbol)
  pick <- function(suffix) {
    hit <- args[endsWith(args, suffix)]
    if (length(hit) > 1L)
      stop(sprintf("several arguments end in '%s': %s", suffix, paste(hit, collapse = ", ")), call. = FALSE)
    hit
  }
  c(pick("data"), pick("label"))
}

# A copy of x whose region begin..end (0-based, end exclusive, R order) holds
# `value` (MXNet's _crop_assign).
mx.nd.internal.crop.assign <- function(x, value, begin, end) {
  d <- dim(x)
  if (length(begin) != length(d) || length(end) != length(d))
    stop(sprintf("'begin' and 'end' need %d values, one per dimension", length(d)), call. = FALSE)
  if (any(begin < 0) || any(end > d) || any(end <= begin))
    stop("'begin' and 'end' must satisfy 0 <= begin < end <= dim(x)", call. = FALSE)
  y <- mx.nd.copyto(x)
  idx <- lapply(seq_along(d), function(k) seq.int(begin[k] + 1, end[k]))
  .Call(C_mx_r_nd_index_set, y, idx, value)
  y
}

# Collects NDArrays (e.g. predicted batches) and returns them as one R array
# joined along the last dimension (the aclImdb example).
mx.nd.arraypacker <- function() {
  parts <- list()
  push <- function(nd) {
    parts[[length(parts) + 1L]] <<- .Call(C_mx_r_nd_to_r, nd)
    invisible(NULL)
  }
  get <- function() if (length(parts)) model.join.last(parts)
  list(push = push, get = get)
}
