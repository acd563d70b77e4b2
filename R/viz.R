#' Draw a symbol as a Graphviz graph
#'
#' Returns the network as Graphviz DOT text (one box per op with its main
#' parameters, one ellipse per input; parameters and labels are left out as
#' in MXNet's drawing). With \code{shape} given, edges are labelled with the
#' shapes that flow along them. Rendering needs a Graphviz tool or the
#' DiagrammeR package (optional): \code{DiagrammeR::grViz(graph.viz(net))}.
#'
#' @param symbol An MXSymbol.
#' @param shape Input shapes (R order) as a named list, e.g.
#'   \code{list(data = c(28, 28, 1, 1))}, or \code{NULL}.
#' @param direction \code{"TD"} (top-down) or \code{"LR"}.
#' @param type Kept for MXNet compatibility; only \code{"graph"} is produced.
#' @param graph.width.px,graph.height.px Kept for MXNet compatibility.
#' @return A character string of class \code{mx.graph.dot} (DOT text).
#' @examples
#' net <- mx.symbol.Activation(mx.symbol.FullyConnected(mx.symbol.Variable("data"),
#'                             num_hidden = 4), act_type = "relu")
#' cat(graph.viz(net, shape = list(data = c(8, 2))))
#' @export
graph.viz <- function(symbol, shape = NULL, direction = "TD", type = "graph",
                      graph.width.px = NULL, graph.height.px = NULL) {
  if (!is.mx.symbol(symbol)) stop("argument 'symbol' must be an MXSymbol", call. = FALSE)
  nodes <- .Call(C_mx_r_sym_graph, symbol)
  shapes <- NULL
  if (!is.null(shape)) {
    inter <- internals(symbol)
    sh <- do.call(mx.symbol.infer.shape, c(list(inter), shape))
    if (!is.null(sh)) shapes <- c(sh$arg.shapes, sh$out.shapes, sh$aux.shapes)
  }
  hidden <- function(nm) grepl("(weight|bias|gamma|beta|moving_mean|moving_var|label)$", nm)
  lines <- c("digraph mxnet {", sprintf("  rankdir=%s;", if (direction == "LR") "LR" else "TB"),
             "  node [fontsize=10, fontname=\"Helvetica\"];")
  keep <- logical(length(nodes))
  for (i in seq_along(nodes)) {
    nd <- nodes[[i]]
    if (nd$op == "null") {
      if (hidden(nd$name)) next
      keep[i] <- TRUE
      lines <- c(lines, sprintf("  n%d [label=\"%s\", shape=ellipse];", i - 1L, nd$name))
    } else {
      keep[i] <- TRUE
      a <- nd$attrs
      a <- a[!startsWith(names(a), "__")]
      detail <- if (length(a)) paste0("\\n", paste(sprintf("%s=%s", names(a), a), collapse = "\\n")) else ""
      lines <- c(lines, sprintf("  n%d [label=\"%s\\n%s%s\", shape=box, style=filled, fillcolor=\"%s\"];",
                                i - 1L, nd$op, nd$name, detail, viz.color(nd$op)))
    }
  }
  for (i in seq_along(nodes)) {
    nd <- nodes[[i]]
    if (nd$op == "null") next
    for (e in nd$inputs) {
      src <- e + 1L
      if (!keep[src]) next
      lab <- ""
      if (!is.null(shapes)) {
        s <- nodes[[src]]
        key <- if (s$op == "null") s$name else paste0(s$name, "_output")
        if (!is.null(shapes[[key]])) lab <- sprintf(" [label=\"%s\"]", paste(shapes[[key]], collapse = "x"))
      }
      lines <- c(lines, sprintf("  n%d -> n%d%s;", src - 1L, i - 1L, lab))
    }
  }
  structure(paste(c(lines, "}"), collapse = "\n"), class = c("mx.graph.dot", "character"))
}

viz.color <- function(op) {
  if (op %in% c("Convolution", "Deconvolution")) return("#fb8072")
  if (op == "FullyConnected") return("#fb8072")
  if (op %in% c("Activation", "LeakyReLU")) return("#ffffb3")
  if (op == "Pooling") return("#80b1d3")
  if (op %in% c("BatchNorm")) return("#bebada")
  if (grepl("Output$|Loss$", op)) return("#b3de69")
  "#8dd3c7"
}

#' @export
print.mx.graph.dot <- function(x, ...) {
  cat(x, "\n")
  invisible(x)
}
