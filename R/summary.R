# Layer tables of symbols and models in the style of keras's summary(), and
# a short str() of models.

#' Layer table of a symbol or model
#'
#' One row per operator of the network, in execution order: its name, op,
#' output shape (R order, the batch last) and the number of parameters it
#' owns; then the totals (trainable, and non-trainable: auxiliary states such
#' as BatchNorm's moving statistics, and \code{fixed.param}). With
#' \code{batch.size}, the memory an executor of that batch plans for its
#' intermediate buffers (\code{\link{mx.exec.memory}}, inference and
#' training) is added.
#'
#' \code{print()} of a model shows this table; a model remembers the shape of
#' its training input, so no \code{shape} is needed for it.
#'
#' @param object An \code{MXSymbol} or \code{MXFeedForwardModel}.
#' @param shape The input shape(s): an unnamed vector for the data input
#'   (per example, or with the batch last), or a named list, as
#'   \code{\link{graph.viz}} takes. Needed for the output shapes of a symbol.
#' @param batch.size A batch size for the planned memory, or \code{NULL}.
#' @param x An \code{mx.summary}.
#' @param ... Unused.
#' @return An \code{mx.summary}: a data frame of the layers with attributes
#'   \code{total}, \code{trainable}, \code{non.trainable} and \code{memory}.
#' @examples
#' net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(
#'   mx.symbol.Activation(mx.symbol.FullyConnected(mx.symbol.Variable("data"),
#'     num_hidden = 16, name = "fc1"), act_type = "relu", name = "relu1"),
#'   num_hidden = 3, name = "fc2"), name = "softmax")
#' summary(net, shape = 8, batch.size = 32)
#' @export
summary.MXSymbol <- function(object, shape = NULL, batch.size = NULL, ...)
  summary.layers(object, summary.shape(object, shape), NULL, batch.size)

#' @rdname summary.MXSymbol
#' @export
summary.MXFeedForwardModel <- function(object, shape = NULL, batch.size = NULL, ...) {
  model <- if (is.serialized(object)) mx.unserialize(object) else object
  sh <- if (is.null(shape)) model$input.shape else summary.shape(model$symbol, shape)
  summary.layers(model$symbol, sh, model, batch.size)
}

# Input shapes as a named list with the batch (1 unless given) last.
summary.shape <- function(symbol, shape) {
  if (is.null(shape)) return(NULL)
  if (is.numeric(shape) && is.null(names(shape))) {
    args <- arguments(symbol)
    shape <- stats::setNames(list(c(shape, 1)), if ("data" %in% args) "data" else args[1L])
  }
  if (!is.list(shape) || is.null(names(shape)) || !all(vapply(shape, is.numeric, TRUE)))
    mx.error("value", "argument 'shape' must be a numeric vector or a named list of them")
  shape
}

summary.layers <- function(symbol, shape, model, batch.size) {
  nodes <- .Call(C_mx_r_sym_graph, symbol)
  shapes <- if (is.null(shape)) NULL else viz.shapes(symbol, shape)
  pshape <- summary.param.shapes(symbol, shape, model)
  ops <- Filter(function(nd) nd$op != "null", nodes)
  count <- function(nd) {
    ins <- vapply(nodes[nd$inputs + 1L], function(s) if (s$op == "null") s$name else "", "")
    sum(vapply(pshape$all[intersect(ins, names(pshape$all))], prod, 0))
  }
  out <- vapply(ops, function(nd) {
    s <- shapes[[paste0(nd$name, "_output")]]
    if (is.null(s)) "?" else paste0("(", paste(c(utils::head(s, -1L), "batch"), collapse = ", "), ")")
  }, "")
  tab <- data.frame(layer = vapply(ops, `[[`, "", "name"), op = vapply(ops, `[[`, "", "op"),
                    output.shape = out, params = vapply(ops, count, 0), stringsAsFactors = FALSE)
  total <- sum(vapply(pshape$all, prod, 0))
  fixed <- sum(vapply(pshape$all[pshape$fixed], prod, 0))
  structure(tab, class = c("mx.summary", "data.frame"), total = total,
            trainable = total - fixed, non.trainable = fixed,
            memory = summary.memory(symbol, shape, batch.size))
}

# Shapes of every parameter and auxiliary state (the model's arrays, else
# inferred), and which of them are not trained (auxiliary states).
summary.param.shapes <- function(symbol, shape, model) {
  if (!is.null(model)) {
    arg <- lapply(model$arg.params, dim)
    aux <- lapply(model$aux.params, dim)
  } else {
    sh <- if (is.null(shape)) NULL else do.call(mx.symbol.infer.shape, c(list(symbol), shape))
    if (is.null(sh)) return(list(all = list(), fixed = character(0)))
    keep <- setdiff(names(sh$arg.shapes), c(names(shape), model.label.args(symbol)))
    arg <- sh$arg.shapes[keep]
    aux <- sh$aux.shapes
  }
  list(all = c(arg, aux), fixed = names(aux))
}

# Planned bytes of the intermediate buffers for one batch size, for
# inference and for training (NULL when no batch size or shape is known).
summary.memory <- function(symbol, shape, batch.size) {
  if (is.null(batch.size) || is.null(shape)) return(NULL)
  batch.size <- model.check.whole(batch.size, "batch.size")
  shp <- lapply(shape, function(s) { s[length(s)] <- batch.size; s })
  bytes <- function(req) {
    ex <- do.call(mx.simple.bind, c(list(symbol, ctx = mx.cpu(), grad.req = req), shp))
    mx.exec.memory(ex)[["planned_bytes"]]
  }
  c(batch.size = batch.size, inference = bytes("null"), training = bytes("write"))
}

#' @rdname summary.MXSymbol
#' @export
print.mx.summary <- function(x, ...) {
  tab <- as.data.frame(unclass(x), stringsAsFactors = FALSE)[c("layer", "op", "output.shape", "params")]
  tab$params <- format(tab$params, big.mark = ",")
  names(tab) <- c("Layer", "Op", "Output shape", "Params")
  lines <- utils::capture.output(print(tab, row.names = FALSE, right = FALSE))
  rule <- strrep("-", max(nchar(lines)))
  fmt <- function(v) format(v, big.mark = ",", scientific = FALSE)
  cat(lines[1L], rule, lines[-1L], rule, sep = "\n")
  cat(sprintf("Total params: %s\nTrainable params: %s\nNon-trainable params: %s\n",
              fmt(attr(x, "total")), fmt(attr(x, "trainable")), fmt(attr(x, "non.trainable"))))
  m <- attr(x, "memory")
  if (!is.null(m))
    cat(sprintf("Planned memory for a batch of %d: %s (inference), %s (training)\n", as.integer(m[["batch.size"]]),
                summary.bytes(m[["inference"]]), summary.bytes(m[["training"]])))
  invisible(x)
}

summary.bytes <- function(b) {
  u <- c("B", "KiB", "MiB", "GiB")
  k <- max(0L, min(3L, floor(log(max(b, 1), 1024))))
  sprintf("%.4g %s", b / 1024^k, u[k + 1L])
}

#' @export
print.MXFeedForwardModel <- function(x, ...) {
  if (isTRUE(x$is.serialized)) {
    cat("<MXFeedForwardModel (serialized)>\n")
    return(invisible(x))
  }
  n <- sum(vapply(x$arg.params, length, 0))
  cat(sprintf("<MXFeedForwardModel: %s; %d parameter arrays, %s values; %d auxiliary states>\n",
              paste(outputs(x$symbol), collapse = ", "), length(x$arg.params),
              format(n, big.mark = ","), length(x$aux.params)))
  if (!is.null(x$input.shape)) print(summary(x))
  if (!is.null(x$history) && nrow(x$history))
    cat(sprintf("Trained %d epoch%s\n", nrow(x$history), if (nrow(x$history) == 1L) "" else "s"))
  invisible(x)
}

#' @importFrom utils str
#' @export
str.MXFeedForwardModel <- function(object, ...) {
  cat(sprintf("MXFeedForwardModel: %d parameter arrays (%s values), %d auxiliary states%s\n",
              length(object$arg.params), format(sum(vapply(object$arg.params, length, 0)), big.mark = ","),
              length(object$aux.params),
              if (is.null(object$history)) "" else sprintf(", history of %d epochs", nrow(object$history))))
  invisible(NULL)
}
