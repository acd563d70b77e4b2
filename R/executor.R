# Executors: a symbol bound to arrays. An executor is an environment of class
# "MXExecutor" with MXNet's members: ref.arg.arrays, ref.grad.arrays,
# ref.aux.arrays, ref.outputs (live references), and arg.arrays,
# grad.arrays, aux.arrays, outputs (fresh copies).

grad.req.codes <- c(null = 0L, write = 1L, add = 3L)

exec.options <- function() {
  mirror <- getOption("mxnet.backward.mirror", NULL)
  if (is.null(mirror)) mirror <- identical(Sys.getenv("MXNET_BACKWARD_DO_MIRROR"), "1")
  conv <- getOption("mxnet.backward.mirror.conv", 0.1)
  if (!is.numeric(conv) || length(conv) != 1L || is.na(conv) || conv < 0 || conv > 1)
    mx.error("value", "option 'mxnet.backward.mirror.conv' must be one number in [0, 1]")
  c(plan = isTRUE(getOption("mxnet.plan.memory", TRUE)),
    inplace = isTRUE(getOption("mxnet.inplace", TRUE)),
    mirror = isTRUE(mirror),
    fold = isTRUE(getOption("mxnet.inference.fold", TRUE)),
    mirror.conv = as.double(conv))
}

#' Bind a symbol to arrays
#'
#' \code{mx.simple.bind} infers every shape from the given input shapes,
#' allocates zero-filled arguments, gradients and auxiliary states on
#' \code{ctx}, and binds. Arguments whose names end in \code{data} or
#' \code{label}, or are listed in \code{fixed.param}, get no gradient.
#' Memory planning is on by default (\code{options(mxnet.plan.memory =
#' FALSE)} turns it off); \code{options(mxnet.backward.mirror = TRUE)} (or
#' \env{MXNET_BACKWARD_DO_MIRROR=1}) recomputes cheap nodes in backward to
#' save memory, and the convolutions with the least work per output value
#' within \code{getOption("mxnet.backward.mirror.conv", 0.1)} of all
#' convolutions' forward work (0: keep every convolution output, as MXNet). An
#' executor without gradients (all \code{grad.req} "null") folds, in forward
#' calls with \code{is.train = FALSE}, each BatchNorm that alone reads a
#' Convolution's output (and a relu \code{Activation} after it) into the
#' convolution: one call computes all three, the same values up to rounding
#' (about 1e-6 relative); \code{mx.exec.memory(exec)[["n_folded"]]} counts
#' them. \code{options(mxnet.inference.fold = FALSE)} runs the ops one by one.
#' On the CPU, values between convolutions are kept in oneDNN's blocked
#' layout where every op that reads them can (\code{n_blocked} in
#' \code{mx.exec.memory}; \env{MXNET_EXEC_BLOCKED=0} turns it off).
#'
#' @param symbol An MXSymbol.
#' @param ctx Device (default \code{mx.ctx.default()}).
#' @param grad.req \code{"null"}, \code{"write"} or \code{"add"}: one for all
#'   arguments, or a named vector per argument.
#' @param fixed.param Names of arguments that get no gradient.
#' @param ... Input shapes in R order, e.g. \code{data = c(28, 28, 1, 128)}.
#' @return An executor (class \code{MXExecutor}).
#' @examples
#' net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 3, name = "fc")
#' ex <- mx.simple.bind(net, data = c(4, 2), grad.req = "write")
#' names(ex$ref.arg.arrays)
#' @export
mx.simple.bind <- function(symbol, ctx = NULL, grad.req = "null", fixed.param = NULL, ...) {
  exec.simple.bind(symbol, ctx, grad.req, fixed.param, list(...))
}

# mx.simple.bind with the shapes as a list.  planned.grads: the "write"
# gradients live in the executor's plan (exec.bind).  share: a named list of
# arrays (arguments and auxiliary states) bound as they are where they fit
# (float32 on ctx, the inferred dims) instead of new zeros; predict binds the
# model's own parameters so.
exec.simple.bind <- function(symbol, ctx, grad.req, fixed.param, shapes, planned.grads = FALSE,
                             share = NULL) {
  if (!is.mx.symbol(symbol)) stop("argument 'symbol' must be an MXSymbol", call. = FALSE)
  if (is.null(ctx)) ctx <- mx.ctx.default()
  if (!length(shapes) || is.null(names(shapes)) || any(names(shapes) == ""))
    stop("give the input shapes by name, e.g. data = c(28, 28, 1, 100)", call. = FALSE)
  sh <- do.call(mx.symbol.infer.shape, c(list(symbol), shapes))
  if (is.null(sh))
    stop(sprintf("cannot infer every shape from %s; give the shapes of more inputs (arguments: %s)",
                 paste(names(shapes), collapse = ", "), paste(arguments(symbol), collapse = ", ")),
         call. = FALSE)
  ty <- exec.infer.types(symbol)
  take <- function(s, n, type) {
    a <- share[[n]]
    fits <- is.mx.ndarray(a) && identical(mx.nd.info(a)$ctx, ctx) && mx.nd.dtype(a) == type &&
      identical(as.integer(dim(a)), as.integer(s))
    if (fits) a else mx.nd.zeros(s, ctx, dtype = type)
  }
  type.of <- function(types, names) if (is.null(types)) rep("float32", length(names)) else types[names]
  args <- Map(take, sh$arg.shapes, names(sh$arg.shapes), type.of(ty$arg.types, names(sh$arg.shapes)))
  aux <- Map(take, sh$aux.shapes, names(sh$aux.shapes), type.of(ty$aux.types, names(sh$aux.shapes)))
  arg.names <- names(args)
  reqs <- exec.grad.reqs(arg.names, grad.req, fixed.param)
  exec.bind(symbol, ctx, args, reqs, aux, planned.grads = planned.grads)
}

# The dtypes of a symbol's arguments and auxiliary states when its inputs
# are float32 (or the dtype their variables declare): a net that casts its
# data to float16 or bfloat16 gets half-precision weights.  NULL (float32
# everywhere) when they cannot be inferred.
exec.infer.types <- function(symbol) {
  ty <- tryCatch(mx.symbol.infer.type(symbol), error = function(e) NULL)
  if (is.null(ty) || anyNA(ty$arg.types) || anyNA(ty$aux.types)) NULL else ty
}

exec.grad.reqs <- function(arg.names, grad.req, fixed.param = NULL) {
  if (is.list(grad.req)) {   # MXNet scripts pass list("null", "write", ...)
    if (!all(vapply(grad.req, function(r) is.character(r) && length(r) == 1L, TRUE)))
      stop("argument 'grad.req' must hold one string per argument", call. = FALSE)
    grad.req <- vapply(grad.req, identity, "")
  }
  if (length(grad.req) == 1L && is.null(names(grad.req))) {
    if (!grad.req %in% names(grad.req.codes))
      stop("argument 'grad.req' must be \"null\", \"write\" or \"add\"", call. = FALSE)
    reqs <- rep(grad.req, length(arg.names))
    names(reqs) <- arg.names
    skip <- grepl("(data|label)$", arg.names) | arg.names %in% fixed.param
    reqs[skip] <- "null"
  } else {
    if (is.null(names(grad.req))) {
      if (length(grad.req) != length(arg.names))
        stop("argument 'grad.req' must have one entry per argument", call. = FALSE)
      names(grad.req) <- arg.names
    }
    bad <- setdiff(names(grad.req), arg.names)
    if (length(bad)) stop(sprintf("grad.req names unknown arguments: %s", paste(bad, collapse = ", ")), call. = FALSE)
    reqs <- rep("null", length(arg.names))
    names(reqs) <- arg.names
    reqs[names(grad.req)] <- grad.req
    if (!all(reqs %in% names(grad.req.codes)))
      stop("argument 'grad.req' must contain \"null\", \"write\" or \"add\"", call. = FALSE)
  }
  reqs
}

# Bind existing argument/aux arrays (not copied); gradients allocated per
# req.  planned.grads: a "write" gradient is not an array of its own but a
# block of the executor's plan, alive from its first write in backward to
# the end of backward (so it takes no memory while forward values are
# alive); its contents are valid from backward until the next forward, which
# is how the training loop reads them.  Executors users bind keep MXNet's
# arrays, valid until the next backward.
exec.bind <- function(symbol, ctx, args, reqs, aux, grads = NULL, planned.grads = FALSE) {
  r <- reqs[names(args)]   # by position below: [[name]] is a linear search
  planned <- planned.grads & is.null(grads) & r == "write"
  if (is.null(grads))
    grads <- lapply(seq_along(args), function(i) if (r[[i]] == "null" || planned[[i]]) NULL else
      mx.nd.zeros(dim(args[[i]]) %||% integer(0), ctx, dtype = mx.nd.dtype(args[[i]])))
  names(grads) <- names(args)
  ptr <- .Call(C_mx_r_exec_bind, symbol, ctx, unname(args), unname(grads),
               unname(grad.req.codes[reqs]), unname(aux), unname(c(exec.options(), planned = any(planned))))
  for (i in which(planned)) grads[i] <- list(.Call(C_mx_r_exec_grad, ptr, i))
  e <- new.env(parent = emptyenv())
  e$ptr <- ptr
  e$symbol <- symbol
  e$ctx <- ctx
  e$grad.req <- reqs
  e$ref.arg.arrays <- args
  e$ref.grad.arrays <- grads
  e$ref.aux.arrays <- aux
  outs <- .Call(C_mx_r_exec_outputs, ptr)
  names(outs) <- outputs(symbol)
  e$ref.outputs <- outs
  copy <- function(l) lapply(l, function(a) if (is.null(a)) NULL else mx.nd.copyto(a))
  makeActiveBinding("arg.arrays", function() copy(e$ref.arg.arrays), e)
  makeActiveBinding("grad.arrays", function() copy(e$ref.grad.arrays), e)
  makeActiveBinding("aux.arrays", function() copy(e$ref.aux.arrays), e)
  makeActiveBinding("outputs", function() copy(e$ref.outputs), e)
  class(e) <- "MXExecutor"
  e
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# MXNet's internal bind: the arrays are copied onto ctx.
mx.symbol.bind <- function(symbol, ctx, arg.arrays, aux.arrays, grad.reqs) {
  args <- lapply(arg.arrays, function(a) mx.nd.copyto(a, ctx))
  aux <- lapply(aux.arrays, function(a) mx.nd.copyto(a, ctx))
  reqs <- exec.grad.reqs(names(args), grad.reqs)
  exec.bind(symbol, ctx, args, reqs, aux)
}

#' Run an executor forward or backward
#'
#' @param exec An executor.
#' @param is.train Training mode (Dropout drops, BatchNorm uses batch
#'   statistics and updates its moving averages).
#' @param ... Gradients of the outputs (MXNDArrays) for \code{backward};
#'   omitted: ones (loss outputs need none).
#' @return \code{exec}, invisibly.
#' @examples
#' a <- mx.symbol.Variable("a")
#' ex <- mx.simple.bind(a * a, a = 3, grad.req = "write")
#' mx.exec.update.arg.arrays(ex, list(a = mx.nd.array(c(1, 2, 3))))
#' mx.exec.forward(ex)
#' mx.exec.backward(ex)
#' as.array(ex$ref.grad.arrays$a)   # 2 * a
#' @name mx.exec.forward
#' @export
mx.exec.forward <- function(exec, is.train = TRUE) {
  exec.check(exec)
  .Call(C_mx_r_exec_forward, exec$ptr, is.train)
  invisible(exec)
}

#' @rdname mx.exec.forward
#' @export
mx.exec.backward <- function(exec, ...) {
  exec.check(exec)
  g <- list(...)
  if (length(g) == 1L && is.list(g[[1L]]) && !is.mx.ndarray(g[[1L]])) g <- g[[1L]]
  .Call(C_mx_r_exec_backward, exec$ptr, if (length(g)) unname(g) else NULL)
  invisible(exec)
}

exec.check <- function(exec) {
  if (!inherits(exec, "MXExecutor")) stop("argument 'exec' must be an executor", call. = FALSE)
}

exec.update <- function(targets, arrays, match.name, skip.null, what) {
  if (!is.list(arrays)) stop(sprintf("argument '%s' must be a list of MXNDArrays", what), call. = FALSE)
  if (!length(arrays)) return(invisible(NULL))
  if (match.name) {
    if (is.null(names(arrays))) stop(sprintf("'%s' must be named when match.name = TRUE", what), call. = FALSE)
    arrays <- arrays[names(arrays) %in% names(targets)]
    idx <- match(names(arrays), names(targets))
  } else {
    if (length(arrays) != length(targets))
      stop(sprintf("'%s' has %d arrays; the executor has %d", what, length(arrays), length(targets)), call. = FALSE)
    idx <- seq_along(arrays)
  }
  for (k in seq_along(arrays)) {
    a <- arrays[[k]]
    t <- targets[[idx[k]]]
    if (is.null(a)) {
      if (skip.null) next
      stop(sprintf("'%s' contains NULL (use skip.null = TRUE)", what), call. = FALSE)
    }
    if (is.null(t) || identical(a, t)) next   # an executor bound with this very array
    if (!is.mx.ndarray(a)) a <- mx.nd.array(a)
    if (!identical(dim(a), dim(t)))
      stop(sprintf("'%s': '%s' has dims %s, the executor's array has %s", what, names(targets)[idx[k]],
                   paste(dim(a), collapse = "x"), paste(dim(t), collapse = "x")), call. = FALSE)
    .Call(C_mx_r_nd_copy_into, a, t)
  }
}

#' Copy new values into an executor's arrays
#'
#' @param exec An executor.
#' @param arg.arrays,aux.arrays,grad.arrays Lists of MXNDArrays (or R arrays).
#'   As in MXNet 1.9.1, \code{mx.exec.update.aux.arrays} and
#'   \code{mx.exec.update.grad.arrays} also take them as \code{arg.arrays =}.
#' @param match.name Match by name instead of position.
#' @param skip.null Skip \code{NULL} entries.
#' @return \code{exec}, invisibly (its arrays are changed in place).
#' @examples
#' ex <- mx.simple.bind(mx.symbol.Variable("a") * 2, a = 2)
#' mx.exec.update.arg.arrays(ex, list(a = mx.nd.array(c(1, 5))))
#' mx.exec.forward(ex, is.train = FALSE)
#' as.array(ex$ref.outputs[[1]])
#' @name mx.exec.update.arg.arrays
#' @export
mx.exec.update.arg.arrays <- function(exec, arg.arrays, match.name = FALSE, skip.null = FALSE) {
  exec.check(exec)
  exec.update(exec$ref.arg.arrays, arg.arrays, match.name, skip.null, "arg.arrays")
  invisible(exec)
}

#' @rdname mx.exec.update.arg.arrays
#' @export
mx.exec.update.aux.arrays <- function(exec, aux.arrays, match.name = FALSE, skip.null = FALSE,
                                      arg.arrays) {
  exec.check(exec)
  if (!missing(arg.arrays)) aux.arrays <- arg.arrays   # MXNet 1.9.1's argument name
  exec.update(exec$ref.aux.arrays, aux.arrays, match.name, skip.null, "aux.arrays")
  invisible(exec)
}

#' @rdname mx.exec.update.arg.arrays
#' @export
mx.exec.update.grad.arrays <- function(exec, grad.arrays, match.name = FALSE, skip.null = FALSE,
                                       arg.arrays) {
  exec.check(exec)
  if (!missing(arg.arrays)) grad.arrays <- arg.arrays   # MXNet 1.9.1's argument name
  exec.update(exec$ref.grad.arrays, grad.arrays, match.name, skip.null, "grad.arrays")
  invisible(exec)
}

#' Memory of an executor
#'
#' \code{planned_bytes}: the executor's arena, which holds the intermediate
#' values and each step's kernel scratch (oneDNN's reorder buffers and
#' scratchpads, im2col matrices) at offsets chosen so that what is alive at
#' the same step never shares bytes; \code{peak_live_bytes}: the bytes alive
#' at the busiest step, the least any such placement needs;
#' \code{unplanned_bytes}: the values each in its own buffer plus one scratch
#' block; \code{external_bytes}: the arrays bound from outside (arguments,
#' gradients, auxiliary states, outputs); \code{workspace_bytes}: the largest
#' scratch one step takes (inside the arena); \code{cached_bytes}: what the
#' nodes' kernel state keeps between calls (cached primitives, no buffers);
#' and counts. Planned, external and cached bytes are what the executor
#' holds.
#'
#' @param exec An executor.
#' @return A named numeric vector.
#' @examples
#' net <- mx.symbol.Activation(mx.symbol.Variable("data"), act_type = "relu")
#' mx.exec.memory(mx.simple.bind(net, data = c(10, 4)))
#' @export
mx.exec.memory <- function(exec) {
  exec.check(exec)
  .Call(C_mx_r_exec_memory, exec$ptr)
}

#' Time spent in each op of an executor
#'
#' \code{mx.exec.profile(exec, TRUE)} starts recording the wall time of every
#' step of forward and backward; \code{mx.exec.profile(exec)} returns a data
#' frame by op (and phase), with the total seconds and calls.  On a GPU each
#' step then waits for the device, so the times are those of the work, not of
#' queueing it (and the pass runs without overlap while recording).
#'
#' @param exec An executor.
#' @param on \code{TRUE}/\code{FALSE} to switch recording, \code{NULL} to read.
#' @param by.node Report per node rather than per op.
#' @return A data frame (when reading).
#' @examples
#' net <- mx.symbol.Activation(mx.symbol.Variable("data"), act_type = "tanh")
#' ex <- mx.simple.bind(net, data = c(10, 4))
#' mx.exec.profile(ex, TRUE); mx.exec.forward(ex)
#' mx.exec.profile(ex)
#' @export
mx.exec.profile <- function(exec, on = NULL, by.node = FALSE) {
  exec.check(exec)
  if (!is.null(on)) {
    .Call(C_mx_r_exec_profile, exec$ptr, on)
    return(invisible(exec))
  }
  p <- as.data.frame(.Call(C_mx_r_exec_profile, exec$ptr, NULL), stringsAsFactors = FALSE)
  key <- if (by.node) list(node = p$node, op = p$op, phase = p$phase) else list(op = p$op, phase = p$phase)
  a <- aggregate(cbind(seconds = p$seconds, calls = p$calls) ~ ., data = cbind(as.data.frame(key), seconds = p$seconds, calls = p$calls), FUN = sum)
  a <- a[order(-a$seconds), ]
  a$share <- round(a$seconds / max(sum(a$seconds), 1e-12), 3)
  rownames(a) <- NULL
  a
}

#' @export
print.MXExecutor <- function(x, ...) {
  cat("<MXExecutor ", paste(names(x$ref.outputs), collapse = ", "), "; ",
      length(x$ref.arg.arrays), " arguments>\n", sep = "")
  invisible(x)
}
