# The generator of R/ops-generated.R: one mx.nd.<op> wrapper (with roxygen
# documentation) per public operator and alias of the C registry. Run it with
# `make generate` (tools/generate-ops.R); a test fails when the generated file
# no longer matches the registry.

mx.internal.op.info <- function() .Call(C_mx_r_op_info)

mx.internal.hash <- function(lines) .Call(C_mx_r_hash, as.character(lines))

# R name of an op: every "_" becomes "." (MXNet's rule).
gen.r.name <- function(op, prefix = "mx.nd.") {
  if (!length(op)) return(character(0))   # paste0 would give a bare prefix
  paste0(prefix, gsub("_", ".", op, fixed = TRUE))
}

gen.rd.escape <- function(s) {
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("%", "\\%", s, fixed = TRUE)
  s <- gsub("{", "\\{", s, fixed = TRUE)
  gsub("}", "\\}", s, fixed = TRUE)
}

gen.default <- function(p) {
  if (isTRUE(p$required)) return(NA_character_)          # no default
  d <- p$default
  if (is.na(d) || p$type %in% c("shape", "float tuple", "context")) return("NULL")
  switch(p$type,
    boolean = if (d %in% c("1", "True", "true")) "TRUE" else "FALSE",
    int = , float = {
      v <- suppressWarnings(as.numeric(d))
      if (is.na(v)) "NULL" else if (is.infinite(v)) (if (v > 0) "Inf" else "-Inf") else format(v, digits = 15)
    },
    deparse(d))
}

gen.param.doc <- function(p) {
  kind <- switch(p$type, shape = "tuple of integers, in R order", "float tuple" = "tuple of numbers, in R order",
                 enum = paste0("one of ", paste0("\"", strsplit(p$choices, "|", fixed = TRUE)[[1L]], "\"", collapse = ", ")),
                 p$type)
  dflt <- if (isTRUE(p$required)) "required" else if (is.na(p$default)) "optional" else paste0("default ", p$default)
  paste0("(", kind, "; ", dflt, ") ", p$doc)
}

gen.one <- function(op, rname, canonical.rname) {
  inputs <- op$inputs
  params <- op$params
  pnames <- vapply(params, function(p) p$name, "")
  has.ctx <- "ctx" %in% pnames
  if (op$variadic) {
    formals <- "..."
    inputs.expr <- NULL   # see nd.variadic below
  } else if (isTRUE(op$optional_inputs) && length(inputs) > 1L) {
    # inputs after the first may be left out (e.g. bias with no_bias)
    formals <- c(inputs[1L], paste0(inputs[-1L], " = NULL"))
    inputs.expr <- paste0("nd.inputs(", paste(inputs, collapse = ", "), ")")
  } else {
    formals <- inputs
    inputs.expr <- paste0("list(", paste(inputs, collapse = ", "), ")")
  }
  for (p in params) {
    # a variadic op's num_args is counted from the arrays by the C glue
    d <- if (op$variadic && p$name == "num_args") "NULL" else gen.default(p)
    formals <- c(formals, if (is.na(d)) p$name else paste0(p$name, " = ", d))
  }
  formals <- c(formals, "out = NULL")
  params.expr <- if (length(params)) paste0("list(", paste0(pnames, " = ", pnames, collapse = ", "), ")") else "NULL"
  body <- paste0("  .Call(C_mx_r_nd_invoke, \"", op$name, "\", ", inputs.expr, ", ", params.expr, ", out)")
  if (op$name %in% gen.nd.sparse) {
    args <- c(inputs, pnames, "out")
    body <- c(paste0("  if (inherits(", inputs[1L], ", \"MXNDArraySparse\")) return(nd.sparse.op(\"",
                     op$name, "\", list(", paste0(args, " = ", args, collapse = ", "), ")))"), body)
  }
  if (op$variadic) {
    # MXNet's order after a leading list of arrays: the parameters, then out
    late <- c(pnames, "out")
    body <- c(paste0("  a <- nd.variadic(list(...), list(", paste0(late, " = ", late, collapse = ", "),
                     "), c(", paste0("missing(", late, ")", collapse = ", "), "))"),
              paste0("  .Call(C_mx_r_nd_invoke, \"", op$name, "\", a$inputs, a$params[c(",
                     paste0("\"", pnames, "\"", collapse = ", "), ")], a$params$out)"))
  }
  lines <- character(0)
  if (rname == canonical.rname) {
    doc <- gen.rd.escape(op$doc)
    title <- sub("\\.$", "", sub("^(.*?\\.)( .*)?$", "\\1", doc))
    lines <- c(lines, paste0("#' ", title), "#'", paste0("#' ", doc), "#'")
    if (op$variadic)
      lines <- c(lines, paste0("#' @param ... MXNDArrays, or one list of them (\\code{data = list(...)}) ",
                               "followed, as in MXNet, by the parameters by position (",
                               paste0("\\code{", c(vapply(params, function(p) p$name, ""), "out"), "}", collapse = ", "), ")."))
    else
      for (i in inputs) lines <- c(lines, paste0("#' @param ", i, " An MXNDArray."))
    for (p in params) lines <- c(lines, paste0("#' @param ", p$name, " ", gen.rd.escape(gen.param.doc(p))))
    lines <- c(lines,
      "#' @param out Optional MXNDArray (a list for several outputs) to write the result into; it is returned.",
      paste0("#' @return ", if (op$num_outputs == 1L) "An MXNDArray." else "A list of MXNDArrays."),
      paste0("#' @details Engine operator \\code{", op$name, "}",
             if (length(op$aliases)) paste0(" (aliases: ", paste0("\\code{", gen.rd.escape(op$aliases), "}", collapse = ", "), ")") else "",
             ". Tuple parameters are given in R order and reversed for the engine; ",
             "scalar axis parameters count engine axes (0 is the last R dimension)."))
  } else {
    lines <- c(lines, paste0("#' @rdname ", canonical.rname))
  }
  lines <- c(lines, "#' @export",
    paste0(rname, " <- function(", paste(formals, collapse = ", "), ") {"))
  if (has.ctx) lines <- c(lines, "  if (is.null(ctx)) ctx <- mx.ctx.default()")
  lines <- c(lines, body, "}", "")
  lines
}

# Symbol wrappers: mx.symbol.<Op> (name kept verbatim), arguments in `...`.
gen.symbol.one <- function(op, rname, canonical.rname) {
  lines <- character(0)
  if (rname == canonical.rname) {
    doc <- gen.rd.escape(op$doc)
    title <- sub("\\.$", "", sub("^(.*?\\.)( .*)?$", "\\1", doc))
    ins <- if (op$variadic) "any number of input symbols (by position, or as one list)"
           else paste0("inputs ", paste0("\\code{", op$inputs, "}", collapse = ", "),
                       " (symbols, by position or by name; inputs not given become variables named \\code{<name>_<input>})")
    if (op$variadic)
      ins <- paste0(ins, ", e.g. \\code{data = list(a, b)}; after a leading list, MXNet's positional order ",
                    paste0("\\code{", c(gen.dotted(op$params), "name"), "}", collapse = ", "))
    lines <- c(lines, paste0("#' ", title, " (symbol)"), "#'", paste0("#' ", doc), "#'",
      paste0("#' @param ... The ", ins, "; parameters by name (a dot may replace an underscore, e.g. ",
             "\\code{no.bias}); \\code{name}, the node's name (default: the op's name with a counter); ",
             "\\code{attr}, a named character vector of attributes."),
      "#' @return An MXSymbol.")
    if (length(op$params)) {
      lines <- c(lines, "#' @section Parameters:", "#' \\describe{")
      for (p in op$params)
        lines <- c(lines, paste0("#'   \\item{\\code{", p$name, "}}{", gen.rd.escape(gen.param.doc(p)), "}"))
      lines <- c(lines, "#' }")
    }
    lines <- c(lines, paste0("#' @details Engine operator \\code{", op$name, "}",
      if (length(op$aliases)) paste0(" (aliases: ", paste0("\\code{", gen.rd.escape(op$aliases), "}", collapse = ", "), ")") else "",
      ". Tuple parameters are given in R order; scalar axis parameters count engine axes ",
      "(0 is the last R dimension). Saved in JSON under its canonical name."))
  } else {
    lines <- c(lines, paste0("#' @rdname ", canonical.rname))
  }
  args <- if (op$variadic)
    paste0("sym.variadic(list(...), c(", paste0("\"", c(gen.dotted(op$params), "name"), "\"", collapse = ", "), "))")
  else "list(...)"
  c(lines, "#' @export",
    paste0(rname, " <- function(...) mx.symbol.internal.create(\"", op$name, "\", ", args, ")"), "")
}

# Parameter names as MXNet's R symbol functions spell them (num_args -> num.args).
gen.dotted <- function(params) gsub("_", ".", vapply(params, function(p) p$name, ""), fixed = TRUE)

# Ops whose mx.nd wrapper hands sparse arrays (R/sparse.R) to nd.sparse.op.
gen.nd.sparse <- c("dot", "square", "negative", "abs", "sqrt", "sign")

# Names whose symbol versions are written by hand (as in MXNet's R package).
gen.symbol.skip <- c("min", "min_axis")

# Text of R/ops-generated.R; with.hash = FALSE leaves out the final hash line.
mx.internal.generate.ops <- function(with.hash = TRUE) {
  ops <- mx.internal.op.info()
  lines <- c("# Generated by mx.internal.generate.ops() (make generate): do not edit by hand.",
             "# One wrapper per public operator and alias of the engine's op registry.", "")
  seen <- character(0)
  for (op in ops) {
    if (startsWith(op$name, "_")) next
    canonical <- gen.r.name(op$name)
    names.r <- c(canonical, gen.r.name(op$aliases[!startsWith(op$aliases, "_")]))
    for (rn in unique(names.r)) {
      if (rn %in% seen) next
      seen <- c(seen, rn)
      lines <- c(lines, gen.one(op, rn, canonical))
    }
  }
  lines <- c(lines, "# ---- symbol wrappers", "")
  seen <- character(0)
  for (op in ops) {
    if (startsWith(op$name, "_")) next
    nms <- c(op$name, op$aliases[!startsWith(op$aliases, "_")])
    nms <- nms[!nms %in% gen.symbol.skip]
    if (!length(nms)) next
    canonical <- paste0("mx.symbol.", nms[1L])
    for (nm in unique(nms)) {
      rn <- paste0("mx.symbol.", nm)
      if (rn %in% seen) next
      seen <- c(seen, rn)
      lines <- c(lines, gen.symbol.one(op, rn, canonical))
    }
  }
  if (with.hash)
    lines <- c(lines, paste0(".mx.generated.hash <- \"", mx.internal.hash(lines), "\""))
  lines
}

# Inputs that may be left out (NULL) are dropped.
nd.inputs <- function(...) Filter(Negate(is.null), list(...))

# Inputs and parameters of a variadic op's wrapper: arrays given in `...`, or
# a leading list of them followed (MXNet's signature f(data, p1, p2, ..., out))
# by parameters by position, which fill the parameters not named, in order.
# `params` holds the named values, `missing` which of them were not given.
nd.variadic <- function(dots, params, missing) {
  first <- if (length(dots)) dots[[1L]] else NULL
  if (is.list(first) && !inherits(first, "MXNDArray")) {
    extra <- dots[-1L]
    if (length(extra)) {
      if (!is.null(names(extra)) && any(nzchar(names(extra))))
        stop(sprintf("unknown argument '%s'", names(extra)[nzchar(names(extra))][1L]), call. = FALSE)
      free <- names(params)[missing]
      if (length(extra) > length(free))
        stop(sprintf("too many arguments after the list of arrays (at most %d: %s)",
                     length(free), paste(free, collapse = ", ")), call. = FALSE)
      params[free[seq_along(extra)]] <- extra
    }
    dots <- first
  }
  list(inputs = unname(mx.internal.rewrap(dots, "MXNDArray")), params = params)
}

# Arguments of a variadic op's symbol wrapper: after a leading list of
# symbols, unnamed non-symbol arguments take the names in `order` (MXNet's
# positional order, e.g. num.args, dim, name) that were not given by name.
sym.variadic <- function(args, order) {
  if (!length(args) || !is.list(args[[1L]]) || is.mx.symbol(args[[1L]])) return(args)
  nm <- names(args)
  if (is.null(nm)) nm <- character(length(args))
  pos <- which(!nzchar(nm) & !vapply(args, is.mx.symbol, TRUE))
  pos <- pos[pos > 1L]
  if (!length(pos)) return(args)
  given <- gsub("_", ".", nm[nzchar(nm)], fixed = TRUE)
  free <- setdiff(order, given)
  if (length(pos) > length(free))
    stop(sprintf("too many arguments after the list of symbols (at most %d: %s)",
                 length(free), paste(free, collapse = ", ")), call. = FALSE)
  nm[pos] <- free[seq_along(pos)]
  names(args) <- nm
  args
}
