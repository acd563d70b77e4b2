#' Draw a symbol as a Graphviz graph
#'
#' Returns the network as Graphviz DOT text (one box per op with its main
#' parameters, one ellipse per input; parameters and labels are left out as
#' in MXNet's drawing). With \code{shape} given, edges are labelled with the
#' shapes that flow along them. When the Graphviz program \code{dot} is
#' installed (\code{Sys.which("dot")}), the drawing is also rendered: the SVG
#' text is attached as \code{attr(, "svg")}, and \code{file} writes an SVG,
#' PNG or PDF file. Without \code{dot} only the DOT text is returned
#' (\code{DiagrammeR::grViz()} can draw it); asking for \code{file} is then
#' an error.
#'
#' @param symbol An MXSymbol.
#' @param shape Input shapes (R order): a named list, e.g.
#'   \code{list(data = c(28, 28, 1, 1))}, or, as in MXNet, an unnamed vector,
#'   the shape of the data input; \code{NULL} for no shapes.
#' @param direction \code{"TD"} (top-down), \code{"LR"}, \code{"BT"} or
#'   \code{"RL"}.
#' @param type \code{"graph"}. MXNet's \code{"vis"} (an interactive
#'   visNetwork widget) is not available: it gives a warning and the same
#'   graph.
#' @param graph.width.px,graph.height.px Maximum size of the rendered drawing
#'   in pixels (at 72 dpi), or \code{NULL}.
#' @param graph.title A title drawn above the graph, or \code{NULL}.
#' @param file Optional path of a rendered drawing; the format follows the
#'   extension (\code{.svg}, \code{.png} or \code{.pdf}). Needs \code{dot}.
#' @return A character string of class \code{mx.graph.dot} (DOT text), with
#'   attribute \code{"svg"} when \code{dot} is installed.
#' @examples
#' net <- mx.symbol.Activation(mx.symbol.FullyConnected(mx.symbol.Variable("data"),
#'                             num_hidden = 4), act_type = "relu")
#' cat(graph.viz(net, shape = list(data = c(8, 2))))
#' g <- graph.viz(net, shape = c(8, 2), direction = "LR", graph.title = "a layer")
#' @export
graph.viz <- function(symbol, shape = NULL, direction = "TD", type = "graph",
                      graph.width.px = NULL, graph.height.px = NULL, graph.title = NULL,
                      file = NULL) {
  if (!is.mx.symbol(symbol)) stop("argument 'symbol' must be an MXSymbol", call. = FALSE)
  direction <- viz.choice(direction, c("TD", "LR", "BT", "RL"), "direction")
  type <- viz.choice(type, c("graph", "vis"), "type")
  if (type == "vis")
    warning("type = \"vis\" (a visNetwork widget) is not available; returning the Graphviz graph",
            call. = FALSE)
  nodes <- .Call(C_mx_r_sym_graph, symbol)
  shapes <- viz.shapes(symbol, shape)
  lines <- c("digraph mxnet {", sprintf("  rankdir=%s;", if (direction == "TD") "TB" else direction),
             viz.size(graph.width.px, graph.height.px),
             if (!is.null(graph.title))
               sprintf("  labelloc=t; label=\"%s\";", viz.escape(paste(graph.title, collapse = " "))),
             "  node [fontsize=10, fontname=\"Helvetica\"];")
  keep <- vapply(nodes, function(nd) nd$op != "null" || !viz.hidden(nd$name), TRUE)
  for (i in which(keep)) lines <- c(lines, viz.node(nodes[[i]], i - 1L))
  for (i in seq_along(nodes)) {
    nd <- nodes[[i]]
    if (nd$op == "null") next
    for (src in nd$inputs + 1L) {
      if (!keep[src]) next
      lines <- c(lines, sprintf("  n%d -> n%d%s;", src - 1L, i - 1L, viz.edge.label(nodes[[src]], shapes)))
    }
  }
  dot <- structure(paste(c(lines, "}"), collapse = "\n"), class = c("mx.graph.dot", "character"))
  viz.render(dot, file)
}

viz.choice <- function(x, choices, arg) {
  if (!is.character(x) || length(x) != 1L || !x %in% choices)
    stop(sprintf("argument '%s' must be one of %s", arg, paste0("\"", choices, "\"", collapse = ", ")),
         call. = FALSE)
  x
}

# Shapes of every node output, from the input shapes (NULL when not given or
# not inferable). An unnamed vector is the data input's shape (MXNet).
viz.shapes <- function(symbol, shape) {
  if (is.null(shape)) return(NULL)
  if (is.numeric(shape) && is.null(names(shape))) {
    args <- arguments(symbol)
    shape <- list(shape)
    names(shape) <- if ("data" %in% args) "data" else args[1L]
  }
  sh <- do.call(mx.symbol.infer.shape, c(list(internals(symbol)), shape))
  if (is.null(sh)) return(NULL)
  c(sh$arg.shapes, sh$out.shapes, sh$aux.shapes)
}

viz.hidden <- function(nm) grepl("(weight|bias|gamma|beta|moving_mean|moving_var|label)$", nm)

# DOT string escaping: backslashes and double quotes.
viz.escape <- function(s) gsub("([\"\\\\])", "\\\\\\1", s)

viz.node <- function(nd, id) {
  if (nd$op == "null") return(sprintf("  n%d [label=\"%s\", shape=ellipse];", id, viz.escape(nd$name)))
  a <- nd$attrs
  a <- a[!startsWith(names(a), "__")]
  label <- paste(viz.escape(c(nd$op, nd$name, if (length(a)) sprintf("%s=%s", names(a), a))), collapse = "\\n")
  sprintf("  n%d [label=\"%s\", shape=box, style=filled, fillcolor=\"%s\"];", id, label, viz.color(nd$op))
}

viz.edge.label <- function(src, shapes) {
  if (is.null(shapes)) return("")
  key <- if (src$op == "null") src$name else paste0(src$name, "_output")
  if (is.null(shapes[[key]])) return("")
  sprintf(" [label=\"%s\"]", paste(shapes[[key]], collapse = "x"))
}

viz.size <- function(w, h) {
  if (is.null(w) && is.null(h)) return(NULL)
  px <- function(v, arg) {
    if (is.null(v)) return(1e4)
    if (!is.numeric(v) || length(v) != 1L || !is.finite(v) || v <= 0)
      stop(sprintf("argument '%s' must be a positive number of pixels", arg), call. = FALSE)
    v
  }
  sprintf("  size=\"%g,%g\"; dpi=72;", px(w, "graph.width.px") / 72, px(h, "graph.height.px") / 72)
}

# Render with Graphviz's dot when it is installed: SVG text as an attribute,
# and the file asked for.
viz.render <- function(dot, file) {
  exe <- Sys.which("dot")
  if (!nzchar(exe)) {
    if (!is.null(file))
      stop("rendering to a file needs Graphviz's 'dot' program (not found on the PATH)", call. = FALSE)
    return(dot)
  }
  run <- function(fmt, out) {
    src <- tempfile(fileext = ".dot")
    on.exit(unlink(src))
    writeLines(dot, src)
    res <- suppressWarnings(system2(exe, c(paste0("-T", fmt), shQuote(src), "-o", shQuote(out)),
                                    stdout = TRUE, stderr = TRUE))
    status <- attr(res, "status")
    if (!is.null(status) && status != 0)
      stop(sprintf("dot failed: %s", paste(res, collapse = " ")), call. = FALSE)
  }
  svg <- tempfile(fileext = ".svg")
  on.exit(unlink(svg))
  run("svg", svg)
  attr(dot, "svg") <- paste(readLines(svg, warn = FALSE), collapse = "\n")
  if (!is.null(file)) {
    fmt <- tolower(sub("^.*\\.", "", basename(file)))
    if (!fmt %in% c("svg", "png", "pdf"))
      stop("argument 'file' must end in .svg, .png or .pdf", call. = FALSE)
    run(fmt, file)
  }
  dot
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
  cat(as.character(x), "\n")
  invisible(x)
}
