# Caffe interop without Caffe: a protobuf text-format (prototxt) parser, the
# translation of Caffe layers into native ops (mx.symbol.CaffeOp,
# mx.symbol.CaffeLoss) and, in caffe-import.R, the import of whole models.

# ---------------------------------------------------------------- prototxt

# Parse protobuf text format into a "prototxt message": a list whose names are
# the field names, in file order, repeated fields appearing once per value.
# Scalars are character strings (quoted strings unescaped); sub-messages are
# messages. `where` names the source in errors; `kind` is the error kind.
caffe.pt.parse <- function(text, where = "prototxt", kind = "value") {
  if (!is.character(text) || length(text) != 1L || is.na(text))
    mx.error("value", "argument 'prototxt' must be a single string")
  if (Encoding(text) == "latin1") text <- enc2utf8(text)   # else the bytes must be UTF-8
  if (!validUTF8(text)) mx.error(kind, sprintf("%s: malformed prototxt: not UTF-8 text", where))
  re <- paste0("\"(\\\\.|[^\"\\\\])*\"|'(\\\\.|[^'\\\\])*'|#[^\n]*|",
               "[A-Za-z0-9_.+-]+|[^[:space:]]")
  tok <- regmatches(text, gregexpr(re, text, perl = TRUE))[[1L]]
  st <- new.env(parent = emptyenv())
  st$tok <- tok[!startsWith(tok, "#")]
  st$i <- 1L
  st$fail <- function(msg) mx.error(kind, sprintf("%s: malformed prototxt: %s", where, msg))
  pt.message(st, NULL, 0L)
}

pt.message <- function(st, close, depth) {
  if (depth > 64L) st$fail("messages nested more than 64 deep")
  vals <- list()
  nms <- character()
  repeat {
    t <- st$tok[st$i]
    if (is.na(t)) {
      if (is.null(close)) break
      st$fail(sprintf("unexpected end of text, missing '%s'", close))
    }
    st$i <- st$i + 1L
    if (!is.null(close) && t == close) break
    if (!grepl("^[A-Za-z_][A-Za-z0-9_]*$", t))
      st$fail(sprintf("expected a field name, found '%s'", t))
    v <- pt.value(st, depth)
    at <- length(vals) + seq_along(v)   # grown in place: c() made long messages quadratic
    vals[at] <- v
    nms[at] <- t
    if (isTRUE(st$tok[st$i] %in% c(";", ","))) st$i <- st$i + 1L
  }
  names(vals) <- nms
  vals
}

# The value(s) after a field name: a message, a [list] or one scalar.
pt.value <- function(st, depth) {
  if (depth > 64L) st$fail("values nested more than 64 deep")
  t <- st$tok[st$i]
  if (identical(t, ":")) { st$i <- st$i + 1L; t <- st$tok[st$i] }
  if (is.na(t)) st$fail("unexpected end of text, missing a value")
  if (t %in% c("{", "<")) {
    st$i <- st$i + 1L
    return(list(pt.message(st, if (t == "{") "}" else ">", depth + 1L)))
  }
  if (t != "[") return(list(pt.scalar(st)))
  st$i <- st$i + 1L
  out <- list()
  while (!identical(st$tok[st$i], "]")) {
    if (length(out)) {
      if (!identical(st$tok[st$i], ",")) st$fail("expected ',' or ']' in a list")
      st$i <- st$i + 1L
    }
    v <- pt.value(st, depth + 1L)
    out[length(out) + seq_along(v)] <- v
  }
  st$i <- st$i + 1L
  out
}

pt.scalar <- function(st) {
  t <- st$tok[st$i]
  st$i <- st$i + 1L
  q <- substr(t, 1L, 1L)
  if (q %in% c("\"", "'")) {
    if (nchar(t) < 2L || substr(t, nchar(t), nchar(t)) != q) st$fail("unterminated string")
    s <- substr(t, 2L, nchar(t) - 1L)
    s <- gsub("\\\\n", "\n", gsub("\\\\t", "\t", s))
    return(gsub("\\\\(.)", "\\1", s))
  }
  if (!grepl("^[A-Za-z0-9_.+-]+$", t)) st$fail(sprintf("unexpected '%s'", t))
  t
}

# Field accessors of a parsed message.
# A field holds values (strings) or messages; the accessors check which, as
# a file may hold anything. pt.get: the first value (a message when
# `message`, by default when the default is a list()); pt.strs: every value.
pt.all <- function(msg, field) unname(msg[names(msg) == field])
pt.kind <- function(field, message)
  mx.error("value", sprintf("field '%s' must be %s", field,
                            if (message) "a message { ... }" else "a value, not a message"))
pt.get <- function(msg, field, default = NULL, message = is.list(default)) {
  i <- match(field, names(msg))
  if (is.na(i)) return(default)
  if (is.list(msg[[i]]) != message) pt.kind(field, message)
  msg[[i]]
}
pt.strs <- function(msg, field) {
  v <- pt.all(msg, field)
  if (any(vapply(v, is.list, NA))) pt.kind(field, FALSE)
  as.character(unlist(v))
}
pt.msgs <- function(msg, field) {
  v <- pt.all(msg, field)
  if (!all(vapply(v, is.list, NA))) pt.kind(field, TRUE)
  v
}
# Numbers of a field; one number unless `many` (by default when the default
# is not one number).
pt.num <- function(msg, field, default = NA_real_, many = length(default) != 1L) {
  v <- pt.strs(msg, field)
  if (!length(v)) return(default)
  if (!many && length(v) > 1L)
    mx.error("value", sprintf("field '%s' must be given once, not %d times", field, length(v)))
  x <- suppressWarnings(as.numeric(v))
  bad <- match(FALSE, is.finite(x))
  if (!is.na(bad)) mx.error("value", sprintf("field '%s' must be a finite number, not '%s'", field, v[[bad]]))
  x
}
pt.bool <- function(msg, field, default) {
  v <- pt.get(msg, field)
  if (is.null(v)) return(default)
  if (!(v %in% c("true", "false", "1", "0", "True", "False")))
    mx.error("value", sprintf("field '%s' must be true or false, not '%s'", field, v))
  v %in% c("true", "1", "True")
}
# An enum field given by name or number; `values` are the names in number order.
pt.enum <- function(msg, field, values, default) {
  v <- pt.get(msg, field, default)
  if (grepl("^[0-9]+$", v)) v <- values[as.integer(v) + 1L]
  if (is.na(v) || !(v %in% values))
    mx.error("value", sprintf("field '%s' must be one of %s", field, paste(values, collapse = ", ")))
  v
}

# ---------------------------------------------------------------- layers

# Caffe's (h, w) geometry fields of a convolution or pooling parameter, as R
# order tuples c(w, h): `base` is "kernel", "stride" or "pad".
caffe.hw <- function(p, base, default) {
  one <- if (base == "kernel") "kernel_size" else base
  v <- pt.num(p, one, numeric())
  hw <- c(pt.num(p, paste0(base, "_h")), pt.num(p, paste0(base, "_w")))
  if (!all(is.na(hw))) return(rev(ifelse(is.na(hw), default, hw)))
  if (length(v) == 0L) return(c(default, default))
  if (length(v) == 1L) return(c(v, v))
  if (length(v) == 2L) return(rev(v))
  mx.error("unsupported", sprintf("only 2-D %s values are supported", base))
}

# The Caffe layer types translated into native ops.
caffe.layer.types <- c("InnerProduct", "Convolution", "Deconvolution", "Pooling", "ReLU",
                       "TanH", "Sigmoid", "AbsVal", "Dropout", "Softmax", "SoftmaxWithLoss",
                       "EuclideanLoss", "SigmoidCrossEntropyLoss", "Flatten", "Concat",
                       "Eltwise", "BatchNorm", "Scale", "Power", "Reshape", "Split", "Permute",
                       "Slice", "LRN")

# Translate one parsed layer. `inputs`: list of input symbols; `name`: the
# node name; `wname(i, role)`: the variable name of blob i (1-based) whose
# native role is `role` ("weight", "bias", "moving_mean", ...); `scale`: the
# parsed Scale layer fused into a BatchNorm, if any. Returns the symbol with
# attribute "blobs": the variable names in Caffe blob order.
caffe.translate <- function(layer, inputs, name, wname, scale = NULL, grad.scale = 1) {
  type <- pt.get(layer, "type", "")
  if (!(type %in% caffe.layer.types))
    mx.error("unsupported", sprintf(
      "Caffe layer type '%s' is not supported (no Caffe is linked); supported types: %s",
      type, paste(caffe.layer.types, collapse = ", ")))
  x <- inputs[[1L]]
  act <- function(t) list(mx.symbol.Activation(data = x, act_type = t, name = name), character())
  res <- switch(type,
    InnerProduct = caffe.fc(pt.get(layer, "inner_product_param", list()), x, name, wname),
    Convolution = caffe.conv(pt.get(layer, "convolution_param", list()), x, name, wname, FALSE),
    Deconvolution = caffe.conv(pt.get(layer, "convolution_param", list()), x, name, wname, TRUE),
    Pooling = caffe.pool(pt.get(layer, "pooling_param", list()), x, name),
    ReLU = caffe.relu(pt.get(layer, "relu_param", list()), x, name),
    TanH = act("tanh"), Sigmoid = act("sigmoid"),
    AbsVal = list(mx.symbol.abs(data = x, name = name), character()),
    Dropout = list(mx.symbol.Dropout(data = x, name = name,
                                     p = pt.num(pt.get(layer, "dropout_param", list()),
                                                "dropout_ratio", 0.5)), character()),
    Softmax = list(mx.symbol.softmax(data = x, name = name,
                                     axis = pt.num(pt.get(layer, "softmax_param", list()), "axis", 1)),
                   character()),
    SoftmaxWithLoss = caffe.softmax.loss(layer, inputs, name, grad.scale),
    EuclideanLoss = caffe.loss2(mx.symbol.LinearRegressionOutput, inputs, name, grad.scale),
    SigmoidCrossEntropyLoss = caffe.loss2(mx.symbol.LogisticRegressionOutput, inputs, name, grad.scale),
    Flatten = list(mx.symbol.Flatten(data = x, name = name), character()),
    Concat = caffe.concat(pt.get(layer, "concat_param", list()), inputs, name),
    Eltwise = caffe.eltwise(pt.get(layer, "eltwise_param", list()), inputs, name),
    BatchNorm = caffe.bn(pt.get(layer, "batch_norm_param", list()), x, name, wname, scale),
    Scale = mx.error("unsupported", "a Caffe Scale layer is supported only right after a BatchNorm layer"),
    Power = caffe.power(pt.get(layer, "power_param", list()), x, name),
    LRN = caffe.lrn(pt.get(layer, "lrn_param", list()), x, name),
    Reshape = caffe.reshape(pt.get(layer, "reshape_param", list()), x, name),
    Permute = list(mx.symbol.transpose(data = x, name = name,
                                       axes = rev(pt.num(pt.get(layer, "permute_param", list()),
                                                         "order", numeric()))), character()),
    Slice = caffe.slice(pt.get(layer, "slice_param", list()), x, name,
                        max(1L, length(pt.strs(layer, "top")))),
    Split = list(x, character()))
  structure(res[[1L]], blobs = res[[2L]])
}

caffe.fc <- function(p, x, name, wname) {
  bias <- pt.bool(p, "bias_term", TRUE)
  if (pt.bool(p, "transpose", FALSE) || pt.num(p, "axis", 1) != 1)
    mx.error("unsupported", "InnerProduct with transpose or axis other than 1 is not supported")
  n <- pt.num(p, "num_output")
  if (is.na(n)) mx.error("value", "InnerProduct needs inner_product_param { num_output }")
  b <- c(wname(1L, "weight"), if (bias) wname(2L, "bias"))
  args <- list(data = x, weight = mx.symbol.Variable(b[1L]), num_hidden = n,
               no_bias = !bias, name = name)
  if (bias) args$bias <- mx.symbol.Variable(b[2L])
  list(do.call(mx.symbol.FullyConnected, args), b)
}

caffe.conv <- function(p, x, name, wname, deconv) {
  bias <- pt.bool(p, "bias_term", TRUE)
  n <- pt.num(p, "num_output")
  if (is.na(n)) mx.error("value", "Convolution needs convolution_param { num_output }")
  b <- c(wname(1L, "weight"), if (bias) wname(2L, "bias"))
  args <- list(data = x, weight = mx.symbol.Variable(b[1L]), num_filter = n,
               kernel = caffe.hw(p, "kernel", NA), stride = caffe.hw(p, "stride", 1),
               pad = caffe.hw(p, "pad", 0), num_group = pt.num(p, "group", 1),
               no_bias = !bias, name = name)
  if (anyNA(args$kernel)) mx.error("value", "Convolution needs a kernel_size")
  d <- pt.num(p, "dilation", numeric())
  if (length(d)) args$dilate <- rep_len(rev(d), 2L)
  if (bias) args$bias <- mx.symbol.Variable(b[2L])
  op <- if (deconv) mx.symbol.Deconvolution else mx.symbol.Convolution
  list(do.call(op, args), b)
}

caffe.pool <- function(p, x, name) {
  type <- pt.enum(p, "pool", c("MAX", "AVE", "STOCHASTIC"), "MAX")
  if (type == "STOCHASTIC") mx.error("unsupported", "STOCHASTIC pooling is not supported")
  glob <- pt.bool(p, "global_pooling", FALSE)
  args <- list(data = x, pool_type = if (type == "MAX") "max" else "avg",
               pooling_convention = "full", global_pool = glob, name = name,
               kernel = if (glob) c(1, 1) else caffe.hw(p, "kernel", NA),
               stride = caffe.hw(p, "stride", 1), pad = caffe.hw(p, "pad", 0))
  if (anyNA(args$kernel)) mx.error("value", "Pooling needs a kernel_size or global_pooling")
  list(do.call(mx.symbol.Pooling, args), character())
}

caffe.relu <- function(p, x, name) {
  slope <- pt.num(p, "negative_slope", 0)
  s <- if (slope == 0) mx.symbol.Activation(data = x, act_type = "relu", name = name)
       else mx.symbol.LeakyReLU(data = x, act_type = "leaky", slope = slope, name = name)
  list(s, character())
}

caffe.softmax.loss <- function(layer, inputs, name, grad.scale) {
  if (length(inputs) < 2L) mx.error("value", "SoftmaxWithLoss needs data and label inputs")
  lp <- pt.get(layer, "loss_param", list())
  args <- list(data = inputs[[1L]], label = inputs[[2L]], grad_scale = grad.scale, name = name)
  ig <- pt.num(lp, "ignore_label")
  if (!is.na(ig)) { args$use_ignore <- TRUE; args$ignore_label <- ig }
  list(do.call(mx.symbol.SoftmaxOutput, args), character())
}

caffe.loss2 <- function(op, inputs, name, grad.scale) {
  if (length(inputs) < 2L) mx.error("value", "a Caffe loss layer needs data and label inputs")
  list(op(data = inputs[[1L]], label = inputs[[2L]], grad_scale = grad.scale, name = name),
       character())
}

caffe.concat <- function(p, inputs, name) {
  axis <- pt.num(p, "axis", pt.num(p, "concat_dim", 1))
  args <- c(unname(inputs), list(num_args = length(inputs), dim = axis, name = name))
  list(do.call(mx.symbol.Concat, args), character())
}

# Eltwise: SUM (with optional coefficients), PROD and MAX, each as written.
caffe.eltwise <- function(p, inputs, name) {
  op <- pt.enum(p, "operation", c("PROD", "SUM", "MAX"), "SUM")
  coef <- pt.num(p, "coeff", numeric())
  if (length(coef) && (op != "SUM" || length(coef) != length(inputs)))
    mx.error("value", "Eltwise coeff needs operation SUM and one coefficient per input")
  if (length(coef)) inputs <- Map(function(s, k) if (k == 1) s else s * k, inputs, coef)
  f <- switch(op, SUM = mx.symbol.elemwise_add, PROD = mx.symbol.elemwise_mul,
              MAX = mx.symbol.broadcast_maximum)
  out <- inputs[[1L]]
  n <- length(inputs)
  if (n < 2L) return(list(mx.symbol.identity(data = out, name = name), character()))
  for (i in 2:n) out <- f(out, inputs[[i]], name = if (i == n) name else NULL)
  list(out, character())
}

# BatchNorm (Caffe: mean, variance, scale factor; no gamma or beta) with an
# optional following Scale layer that gives gamma (and beta).
caffe.bn <- function(p, x, name, wname, scale) {
  b <- c(wname(1L, "moving_mean"), wname(2L, "moving_var"), wname(3L, "scale_factor"))
  glob <- pt.bool(p, "use_global_stats", FALSE)
  args <- list(data = x, eps = pt.num(p, "eps", 1e-5), use_global_stats = glob,
               momentum = pt.num(p, "moving_average_fraction", 0.999),
               moving_mean = mx.symbol.Variable(b[1L]), moving_var = mx.symbol.Variable(b[2L]),
               fix_gamma = is.null(scale), name = name)
  g <- c(wname(NA, "gamma"), wname(NA, "beta"))
  # no beta in Caffe's BatchNorm, nor in a Scale without bias_term: fixed at 0
  if (is.null(scale) || !pt.bool(pt.get(scale, "scale_param", list()), "bias_term", FALSE))
    args$beta <- mx.symbol.Variable(g[2L], lr.mult = 0, wd.mult = 0)
  list(do.call(mx.symbol.BatchNorm, args), b)
}

# LRN across channels: x / (k + alpha / n * sum over n channels of x^2)^beta,
# Caffe's definition and MXNet's LRN op
caffe.lrn <- function(p, x, name) {
  region <- pt.get(p, "norm_region", "ACROSS_CHANNELS")
  if (!(region %in% list("ACROSS_CHANNELS", 0)))
    mx.error("unsupported", sprintf("Caffe LRN layer '%s': norm_region WITHIN_CHANNEL is not supported", name))
  n <- pt.num(p, "local_size", 5)
  if (n %% 2 != 1) mx.error("value", sprintf("Caffe LRN layer '%s': local_size must be odd, not %s", name, n))
  list(mx.symbol.LRN(data = x, nsize = n, alpha = pt.num(p, "alpha", 1), beta = pt.num(p, "beta", 0.75),
                     knorm = pt.num(p, "k", 1), name = name), character())
}

caffe.power <- function(p, x, name) {
  pw <- pt.num(p, "power", 1)
  sc <- pt.num(p, "scale", 1)
  sh <- pt.num(p, "shift", 0)
  y <- x
  if (sc != 1) y <- y * sc
  if (sh != 0) y <- y + sh
  if (pw != 1) y <- y^pw
  list(mx.symbol.identity(data = y, name = name), character())
}

caffe.reshape <- function(p, x, name) {
  dims <- pt.num(pt.get(p, "shape", list()), "dim", numeric())
  if (!length(dims)) mx.error("value", "Reshape needs reshape_param { shape { dim: ... } }")
  if (pt.num(p, "axis", 0) != 0 || pt.num(p, "num_axes", -1) != -1)
    mx.error("unsupported", "Reshape with axis or num_axes is not supported")
  list(mx.symbol.Reshape(data = x, shape = rev(dims), name = name), character())
}

# Slice: at slice points, or into n equal parts (n = the number of tops);
# a group of the parts.
caffe.slice <- function(p, x, name, n) {
  axis <- pt.num(p, "axis", pt.num(p, "slice_dim", 1))
  pts <- pt.num(p, "slice_point", numeric())
  if (!length(pts))
    return(list(mx.symbol.SliceChannel(data = x, num_outputs = n, axis = axis, name = name), character()))
  if (length(pts) + 1L != n) mx.error("value", "Slice needs one top more than slice points")
  b <- c(0, pts)
  parts <- lapply(seq_len(n), function(k) {
    args <- list(data = x, axis = axis, begin = b[k], name = paste0(name, "_part", k - 1L))
    if (k < n) args$end <- b[k + 1L]
    do.call(mx.symbol.slice_axis, args)
  })
  list(mx.symbol.Group(parts), character())
}

# The one layer of a CaffeOp/CaffeLoss prototxt string.
caffe.one.layer <- function(prototxt) {
  net <- caffe.pt.parse(prototxt)
  layers <- c(pt.msgs(net, "layer"), pt.msgs(net, "layers"))
  if (length(layers) != 1L)
    mx.error("value", sprintf("prototxt must hold exactly one layer{}, found %d", length(layers)))
  layers[[1L]]
}

caffe.names <- new.env(parent = emptyenv())
caffe.auto.name <- function(hint) {
  k <- get0(hint, envir = caffe.names, ifnotfound = 0L)
  assign(hint, k + 1L, envir = caffe.names)
  paste0(hint, k)
}

caffe.op.inputs <- function(dots, num.data, prefix) {
  inputs <- lapply(seq_len(num.data) - 1L, function(i) {
    s <- dots[[paste0(prefix, i)]]
    if (is.null(s)) mx.error("value", sprintf("input '%s%d' is missing", prefix, i))
    if (!is.mx.symbol(s)) mx.error("value", sprintf("input '%s%d' must be an MXSymbol", prefix, i))
    s
  })
  extra <- setdiff(names(dots), paste0(prefix, seq_len(num.data) - 1L))
  if (length(extra) || (length(dots) && is.null(names(dots))))
    mx.error("value", sprintf("unexpected arguments: %s", paste(extra, collapse = ", ")))
  inputs
}

#' Caffe layers as native operators
#'
#' \code{mx.symbol.CaffeOp} and \code{mx.symbol.CaffeLoss} take the arguments
#' of MXNet's Caffe plugin, but no Caffe is linked: the one layer of
#' \code{prototxt} (protobuf text format, \code{layer{type: "..." ...}}) is
#' translated into this package's native operators, so the network trains,
#' saves and runs on every device like any other. Translated types:
#' InnerProduct (FullyConnected), Convolution, Deconvolution, Pooling (MAX
#' and AVE, rounding the output size up as Caffe does:
#' \code{pooling_convention = "full"}), ReLU (LeakyReLU for a
#' \code{negative_slope}), TanH, Sigmoid, AbsVal, Dropout, Softmax, Flatten,
#' Concat, Eltwise (SUM with coefficients, PROD and MAX), BatchNorm (Caffe's
#' BatchNorm has no gamma or beta: gamma is fixed at 1 and beta is not
#' learned), Power, Reshape, Permute, Slice (as a group of outputs) and
#' Split; as losses SoftmaxWithLoss
#' (SoftmaxOutput), EuclideanLoss (LinearRegressionOutput) and
#' SigmoidCrossEntropyLoss (LogisticRegressionOutput); LRN across channels
#' (the LRN op).  Custom C++
#' layers cannot be offered; other types give an \code{mxnet_unsupported_error}
#' that lists the supported ones.
#'
#' The weights are arguments named as MXNet named them: \code{<name>_0_weight},
#' \code{<name>_1_bias} (BatchNorm: \code{<name>_0_moving_mean} and
#' \code{<name>_1_moving_var} are auxiliary states).
#'
#' @param ... The inputs \code{data_0}, ..., \code{data_<num_data - 1>}
#'   (CaffeOp) or \code{data} and \code{label} (CaffeLoss), as symbols.
#' @param num_data Number of inputs (default 1).
#' @param num_weight Number of Caffe blobs (weights) of the layer: 2 for an
#'   InnerProduct or Convolution with bias, 1 without, 0 for layers without
#'   weights. Checked against the layer.
#' @param num_out Number of outputs (checked; more than 1 only for Slice).
#' @param prototxt The layer, in protobuf text format.
#' @param name Name of the node (default: \code{caffeop<k>}).
#' @return An MXSymbol.
#' @examples
#' data <- mx.symbol.Variable("data")
#' fc1 <- mx.symbol.CaffeOp(data_0 = data, num_weight = 2, name = "fc1",
#'   prototxt = "layer{type:\"InnerProduct\" inner_product_param{num_output: 128} }")
#' act1 <- mx.symbol.CaffeOp(data_0 = fc1, prototxt = "layer{type:\"TanH\"}")
#' arguments(act1)
#' @export
mx.symbol.CaffeOp <- function(..., num_data = 1, num_weight = 0, num_out = 1,
                              prototxt = "layer{}", name = NULL) {
  inputs <- caffe.op.inputs(list(...), num_data, "data_")
  layer <- caffe.one.layer(prototxt)
  if (is.null(name)) name <- caffe.auto.name("caffeop")
  wname <- function(i, role) if (is.na(i)) paste0(name, "_", role) else
    paste0(name, "_", i - 1L, "_", role)
  s <- caffe.translate(layer, inputs, name, wname)
  nb <- length(attr(s, "blobs"))
  if (nb != num_weight)
    mx.error("value", sprintf("num_weight = %s, but this %s layer has %d weight blobs",
                              format(num_weight), pt.get(layer, "type"), nb))
  attr(s, "blobs") <- NULL
  if (length(s) != num_out)
    mx.error("value", sprintf("num_out = %s, but this %s layer has %d outputs", format(num_out),
                              pt.get(layer, "type"), length(s)))
  s
}

#' @rdname mx.symbol.CaffeOp
#' @param data,label The prediction and label symbols of CaffeLoss.
#' @param grad_scale Scale of the gradient (the loss weight).
#' @examples
#' loss <- mx.symbol.CaffeLoss(data = act1, label = mx.symbol.Variable("softmax_label"),
#'   grad_scale = 1, name = "softmax", prototxt = "layer{type:\"SoftmaxWithLoss\"}")
#' @export
mx.symbol.CaffeLoss <- function(data, label, grad_scale = 1, num_data = 2, num_out = 1,
                                prototxt = "layer{}", name = NULL) {
  if (!is.mx.symbol(data) || !is.mx.symbol(label))
    mx.error("value", "arguments 'data' and 'label' must be MXSymbols")
  if (!identical(as.numeric(num_data), 2) || !identical(as.numeric(num_out), 1))
    mx.error("unsupported", "CaffeLoss supports num_data = 2 and num_out = 1")
  layer <- caffe.one.layer(prototxt)
  if (!(pt.get(layer, "type", "") %in% c("SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss")))
    mx.error("unsupported", sprintf(
      "CaffeLoss supports SoftmaxWithLoss, EuclideanLoss and SigmoidCrossEntropyLoss, not '%s'",
      pt.get(layer, "type", "")))
  if (is.null(name)) name <- caffe.auto.name("caffeloss")
  s <- caffe.translate(layer, list(data, label), name, NULL, grad.scale = grad_scale)
  attr(s, "blobs") <- NULL
  s
}

# ---------------------------------------------------------------- binary files

# One message level of buf[off, off + len) (src/io/protobuf.c); errors name
# the file.
caffe.pb.scan <- function(buf, off, len, where) {
  tryCatch(.Call(C_mx_r_pb_scan, buf, off, len), mxnet_io_error = function(e)
    mx.error("io", sprintf("%s: %s", where, conditionMessage(e))))
}
# Indices of field `num` in a scan, checking the wire type.
caffe.pb.fields <- function(s, num, wires, what, where) {
  i <- which(s$field == num)
  bad <- i[!(s$wire[i] %in% wires)]
  if (length(bad))
    mx.error("io", sprintf("%s: %s (field %d) has wire type %d at byte %.0f", where, what, num,
                           s$wire[bad[1L]], s$offset[bad[1L]]))
  i
}
caffe.pb.string <- function(buf, s, i, where) {
  if (!length(i)) return(NA_character_)
  b <- buf[s$offset[i[1L]] + seq_len(s$length[i[1L]])]
  if (any(b == as.raw(0L))) mx.error("io", sprintf("%s: a name holds a NUL byte", where))
  rawToChar(b)
}
# Packed or unpacked repeated numbers of field `num`: wire 2 holds packed
# values of `size` bytes (0: varints), the fixed wire types one value each.
caffe.pb.numbers <- function(buf, s, num, size, what, where) {
  fixed <- c(`4` = 5L, `8` = 1L, `0` = 0L)[[as.character(size)]]
  out <- list()
  for (i in caffe.pb.fields(s, num, c(2L, fixed), what, where)) {
    if (s$wire[i] != 2L) { out[[length(out) + 1L]] <- s$value[i]; next }
    off <- s$offset[i]; len <- s$length[i]
    out[[length(out) + 1L]] <- if (size == 0) {
      tryCatch(.Call(C_mx_r_pb_varints, buf, off, len), mxnet_io_error = function(e)
        mx.error("io", sprintf("%s: %s: %s", where, what, conditionMessage(e))))
    } else {
      if (len %% size != 0)
        mx.error("io", sprintf("%s: packed %s of %.0f bytes is not a multiple of %d", where, what, len, size))
      readBin(buf[off + seq_len(len)], "numeric", n = len / size, size = size, endian = "little")
    }
  }
  unlist(out, use.names = FALSE) %||% numeric()
}

# A BlobProto: list(dims = C-order dims, data = values).
caffe.pb.blob <- function(buf, off, len, where) {
  s <- caffe.pb.scan(buf, off, len, where)
  dims <- NULL
  for (i in caffe.pb.fields(s, 7L, 2L, "BlobProto.shape", where)) {
    sh <- caffe.pb.scan(buf, s$offset[i], s$length[i], where)
    dims <- caffe.pb.numbers(buf, sh, 1L, 0, "BlobShape.dim", where)
  }
  if (is.null(dims)) {
    legacy <- vapply(1:4, function(k) {
      i <- caffe.pb.fields(s, k, 0L, "BlobProto.num/channels/height/width", where)
      if (length(i)) s$value[i[length(i)]] else 1
    }, 0)
    dims <- legacy
  }
  data <- caffe.pb.numbers(buf, s, 5L, 4, "BlobProto.data", where)
  if (!length(data)) data <- caffe.pb.numbers(buf, s, 8L, 8, "BlobProto.double_data", where)
  if (!io.dims.ok(dims) || length(data) != prod(dims))
    mx.error("io", sprintf("%s: a blob of shape (%s) holds %d values", where,
                           paste(dims, collapse = ", "), length(data)))
  list(dims = dims, data = data)
}

caffe.read.raw <- function(file, what) {
  if (!is.character(file) || length(file) != 1L || is.na(file))
    mx.error("value", sprintf("argument '%s' must be a file name", what))
  size <- file.size(file)
  if (is.na(size)) mx.error("io", sprintf("cannot open %s file '%s'", what, file))
  readBin(file, "raw", size)
}

# The blobs of every layer of a .caffemodel (NetParameter; V2 `layer` 100 and
# V1 `layers` 2): a list named by layer name, each a list of blobs.
caffe.read.model <- function(file) {
  buf <- caffe.read.raw(file, "caffemodel")
  s <- caffe.pb.scan(buf, 0, length(buf), file)
  out <- list()
  for (i in caffe.pb.fields(s, 100L, 2L, "NetParameter.layer", file))
    out <- c(out, caffe.pb.layer(buf, s$offset[i], s$length[i], 1L, 7L, file))
  for (i in caffe.pb.fields(s, 2L, 2L, "NetParameter.layers", file))
    out <- c(out, caffe.pb.layer(buf, s$offset[i], s$length[i], 4L, 6L, file))
  out
}
caffe.pb.layer <- function(buf, off, len, f.name, f.blobs, where) {
  s <- caffe.pb.scan(buf, off, len, where)
  name <- caffe.pb.string(buf, s, caffe.pb.fields(s, f.name, 2L, "layer name", where), where)
  blobs <- lapply(caffe.pb.fields(s, f.blobs, 2L, "layer blobs", where), function(i)
    caffe.pb.blob(buf, s$offset[i], s$length[i], where))
  if (is.na(name) || !length(blobs)) return(list())
  stats::setNames(list(blobs), name)
}

#' Read a Caffe mean file
#'
#' Reads a \code{.binaryproto} mean image (a Caffe BlobProto, decoded by
#' the package's own protobuf reader).
#' @param file The \code{.binaryproto} file.
#' @param rgb \code{TRUE} to reverse the channels: Caffe stores means in
#'   the BGR order of the images it was trained on, while this package's
#'   image iterators give RGB.
#' @return An R array \code{c(width, height, channels)} (the batch axis of a
#'   1-image blob dropped).
#' @examples
#' f <- tempfile(fileext = ".binaryproto")
#' # a 1 x 3 x 1 x 2 blob: num 1, channels 3, height 1, width 2, packed data
#' writeBin(as.raw(c(0x08, 1, 0x10, 3, 0x18, 1, 0x20, 2, 0x2a, 24)), f)
#' con <- file(f, "ab"); writeBin(as.numeric(1:6), con, size = 4); close(con)
#' mx.caffe.read.mean(f)[, , 1]
#' @export
mx.caffe.read.mean <- function(file, rgb = FALSE) {
  buf <- caffe.read.raw(file, "mean")
  b <- io.guard(file, caffe.pb.blob(buf, 0, length(buf), file))
  d <- rev(b$dims)
  if (length(d) == 4L) {
    if (d[4L] != 1) mx.error("io", sprintf("%s: a mean file holds one image, not %g", file, d[4L]))
    d <- d[1:3]
  }
  a <- array(b$data, d)
  if (rgb && length(d) == 3L) a <- a[, , rev(seq_len(d[3L])), drop = FALSE]
  a
}

# ---------------------------------------------------------------- import

# V1 (`layers`) type names and numbers -> V2 type names.
caffe.v1.types <- c(ABSVAL = "AbsVal", CONCAT = "Concat", CONVOLUTION = "Convolution",
                    DATA = "Data", DECONVOLUTION = "Deconvolution", DROPOUT = "Dropout",
                    ELTWISE = "Eltwise", EUCLIDEAN_LOSS = "EuclideanLoss", FLATTEN = "Flatten",
                    INNER_PRODUCT = "InnerProduct", LRN = "LRN", POOLING = "Pooling",
                    POWER = "Power", RELU = "ReLU", SIGMOID = "Sigmoid", SOFTMAX = "Softmax",
                    SOFTMAX_LOSS = "SoftmaxWithLoss", SPLIT = "Split", TANH = "TanH")
caffe.v1.numbers <- c(`35` = "ABSVAL", `3` = "CONCAT", `4` = "CONVOLUTION", `5` = "DATA",
                      `39` = "DECONVOLUTION", `6` = "DROPOUT", `25` = "ELTWISE",
                      `7` = "EUCLIDEAN_LOSS", `8` = "FLATTEN", `14` = "INNER_PRODUCT",
                      `15` = "LRN", `17` = "POOLING", `26` = "POWER", `18` = "RELU",
                      `19` = "SIGMOID", `20` = "SOFTMAX", `21` = "SOFTMAX_LOSS", `22` = "SPLIT",
                      `23` = "TANH")
caffe.layer.type <- function(layer) {
  t <- pt.get(layer, "type", "")
  if (t %in% names(caffe.v1.numbers)) t <- caffe.v1.numbers[[t]]
  if (t %in% names(caffe.v1.types)) t <- caffe.v1.types[[t]]
  layer$type <- t
  layer
}
caffe.input.types <- c("Input", "Data", "ImageData", "HDF5Data", "MemoryData", "DummyData")

# The input of a net: list(name, shape = R-order dims or NULL).
caffe.net.input <- function(net, layers) {
  name <- pt.get(net, "input")
  dims <- pt.num(net, "input_dim", numeric())
  sh <- pt.get(net, "input_shape", message = TRUE)
  if (!is.null(sh)) dims <- pt.num(sh, "dim", numeric())
  first <- Filter(function(l) l$type %in% caffe.input.types, layers)
  if (is.null(name) && length(first)) {
    name <- pt.get(first[[1L]], "top")
    ip <- pt.get(first[[1L]], "input_param", list())
    dims <- pt.num(pt.get(ip, "shape", list()), "dim", numeric())
  }
  if (length(c(pt.all(net, "input"), first)) > 1L)
    mx.error("unsupported", "only nets with one input are supported")
  list(name = name %||% "data", shape = if (length(dims)) rev(dims) else NULL)
}

caffe.clean.name <- function(x) gsub("[-/]", "_", x)

# Translate the layers of a parsed net; returns list(symbol, blobs) where
# blobs maps each Caffe layer with weights to its variable names.
caffe.net.symbol <- function(layers, input, where) {
  tops <- list()
  tops[[input$name]] <- mx.symbol.Variable("data")
  blobs <- list()
  produced <- used <- character()
  skip <- FALSE
  for (i in seq_along(layers)) {
    if (skip) { skip <- FALSE; next }
    l <- layers[[i]]
    inc <- pt.get(l, "include", list())
    if (l$type %in% caffe.input.types || identical(pt.get(inc, "phase"), "TRAIN")) next
    raw.name <- pt.get(l, "name", paste0(tolower(l$type), i))
    name <- caffe.clean.name(raw.name)
    inputs <- lapply(pt.strs(l, "bottom"), function(b) tops[[b]] %||% mx.error("io",
      sprintf("%s: bottom '%s' of layer '%s' is not the top of an earlier layer", where, b, raw.name)))
    if (!length(inputs)) mx.error("io", sprintf("%s: layer '%s' has no bottom", where, raw.name))
    nxt <- if (i < length(layers)) layers[[i + 1L]] else list(type = "")
    tops.l <- pt.strs(l, "top")
    top <- tops.l[1L] %||% raw.name
    scale <- NULL
    if (l$type == "BatchNorm" && nxt$type == "Scale" && identical(pt.get(nxt, "bottom"), top)) {
      scale <- nxt
      skip <- TRUE
      top <- pt.strs(nxt, "top")[1L] %||% top
    }
    s <- caffe.translate(l, inputs, name, function(k, role) paste0(name, "_", role), scale)
    if (length(attr(s, "blobs")))
      blobs[[length(blobs) + 1L]] <- list(layer = raw.name, type = l$type, names = attr(s, "blobs"),
                                          scale = if (!is.null(scale)) pt.get(scale, "name"), name = name)
    attr(s, "blobs") <- NULL
    if (length(tops.l) > 1L && l$type != "Split") {
      for (k in seq_along(tops.l)) tops[[tops.l[k]]] <- s[[k]]
    } else {
      for (t in c(top, if (l$type == "Split") tops.l)) tops[[t]] <- s
    }
    made <- unique(c(top, tops.l))
    used <- setdiff(union(used, pt.strs(l, "bottom")), made)
    produced <- c(setdiff(produced, made), made)
  }
  # the net's outputs: the blobs no later layer consumes, as Caffe has them
  outs <- setdiff(produced, used)
  if (!length(outs)) mx.error("io", sprintf("%s: the net has no layers to translate", where))
  sym <- if (length(outs) == 1L) tops[[outs]] else mx.symbol.Group(unname(tops[outs]))
  list(symbol = sym, blobs = blobs)
}

# Caffe blobs -> arg/aux params with the inferred shapes (R order).
caffe.net.params <- function(net, model, shapes, where) {
  arg <- list(); aux <- list()
  fit <- function(b, nm, shp, what) {
    if (is.null(shp)) return(NULL)
    if (length(b$data) != prod(shp))
      mx.error("io", sprintf("%s: blob %s has %d values, the symbol's %s needs (%s)", where, what,
                             length(b$data), nm, paste(rev(shp), collapse = ", ")))
    array(b$data, shp)
  }
  for (rec in net$blobs) {
    bl <- model[[rec$layer]]
    if (length(bl) < length(rec$names) - (rec$type == "BatchNorm"))
      mx.error("io", sprintf("%s: the caffemodel has %d blobs for layer '%s', it needs %d", where,
                             length(bl), rec$layer, length(rec$names)))
    if (rec$type == "BatchNorm") {
      sf <- if (length(bl) > 2L) bl[[3L]]$data else 0
      if (length(sf) != 1L || is.na(sf))
        mx.error("io", sprintf("%s: the scale factor blob of BatchNorm layer '%s' holds (%s), not one number",
                               where, rec$layer, paste(sf, collapse = ", ")))
      f <- if (sf != 0) 1 / sf else 0
      for (k in 1:2) aux[[rec$names[k]]] <- f * fit(bl[[k]], rec$names[k],
                                                   shapes$aux.shapes[[rec$names[k]]], rec$layer)
      # gamma and beta from the Scale layer; 1 and 0 where Caffe has none
      gb <- paste0(rec$name, c("_gamma", "_beta"))
      sb <- if (!is.null(rec$scale)) model[[rec$scale]]
      if (!is.null(rec$scale) && !length(sb))
        mx.error("io", sprintf("%s: no blobs for Scale layer '%s'", where, rec$scale))
      for (k in 1:2) {
        shp <- shapes$arg.shapes[[gb[k]]]
        arg[[gb[k]]] <- if (k <= length(sb)) fit(sb[[k]], gb[k], shp, rec$scale) else array(2 - k, shp)
      }
      next
    }
    for (k in seq_along(rec$names))
      arg[[rec$names[k]]] <- fit(bl[[k]], rec$names[k], shapes$arg.shapes[[rec$names[k]]], rec$layer)
  }
  list(arg = arg, aux = aux)
}

#' Import a Caffe model
#'
#' Translates a Caffe net (\code{.prototxt}, V2 \code{layer} or legacy V1
#' \code{layers}) into a symbol of native operators and reads its weights
#' from a \code{.caffemodel} with the package's own protobuf decoder (no
#' Caffe, no protobuf library). The layer types are those of
#' \code{\link{mx.symbol.CaffeOp}}, with Caffe's semantics: pooling rounds the
#' output size up, a BatchNorm layer followed by a Scale layer becomes one
#' BatchNorm with learned gamma and beta (moving mean and variance divided
#' by Caffe's scale factor), Eltwise PROD and MAX are products and maxima.
#' Layer names have \code{-} and \code{/} replaced by \code{_}; the one input
#' is named \code{data}. The symbol's outputs are the blobs that no layer
#' consumes (a group when there are several, as in detection nets).
#'
#' Caffe models were trained on BGR images: feed BGR input, or use
#' \code{swap.rgb = TRUE} to reverse the input channels of the first
#' convolution so that RGB input (this package's image iterators) gives the
#' same result. See \code{\link{mx.caffe.read.mean}} for mean files.
#' @param prototxt The net definition (text format).
#' @param caffemodel The trained weights (binary), or \code{NULL} for the
#'   symbol alone.
#' @param input.shape Input shape in R order (\code{c(width, height,
#'   channels, batch)}); by default the prototxt's.
#' @param swap.rgb Reverse the channels of the first convolution with 3
#'   input channels.
#' @return An \code{MXFeedForwardModel}: a list with \code{symbol},
#'   \code{arg.params}, \code{aux.params} (lists of MXNDArrays; empty
#'   without \code{caffemodel}) and \code{input.shape}; \code{predict()}
#'   works on it.
#' @examples
#' f <- tempfile(fileext = ".prototxt")
#' writeLines(c('input: "data" input_dim: [1, 3, 8, 8]',
#'   'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"',
#'   '  convolution_param { num_output: 4 kernel_size: 3 } }',
#'   'layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"',
#'   '  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }'), f)
#' m <- mx.caffe.import(f)
#' mx.symbol.infer.shape(m$symbol, data = m$input.shape)$out.shapes
#' @export
mx.caffe.import <- function(prototxt, caffemodel = NULL, input.shape = NULL, swap.rgb = FALSE) {
  raw <- caffe.read.raw(prototxt, "prototxt")
  nul <- match(as.raw(0L), raw)
  if (!is.na(nul)) mx.error("io", sprintf("%s: malformed prototxt: a NUL byte at byte %d", prototxt, nul))
  text <- rawToChar(raw)
  net <- io.where(prototxt, "", {
    netp <- caffe.pt.parse(text, prototxt, "io")
    layers <- lapply(c(pt.msgs(netp, "layer"), pt.msgs(netp, "layers")), caffe.layer.type)
    input <- caffe.net.input(netp, layers)
    c(caffe.net.symbol(layers, input, prototxt), list(input = input))
  })
  shape <- input.shape %||% net$input$shape
  res <- list(symbol = net$symbol, arg.params = list(), aux.params = list(), input.shape = shape)
  if (is.null(caffemodel)) return(structure(res, class = "MXFeedForwardModel"))
  if (is.null(shape)) mx.error("value", "the prototxt gives no input shape: give 'input.shape'")
  shapes <- mx.symbol.infer.shape(net$symbol, data = shape)
  p <- caffe.net.params(net, io.guard(caffemodel, caffe.read.model(caffemodel)), shapes, caffemodel)
  if (swap.rgb) p$arg <- caffe.swap.rgb(p$arg, net$blobs)
  res$arg.params <- lapply(p$arg, mx.nd.array)
  res$aux.params <- lapply(p$aux, mx.nd.array)
  structure(res, class = "MXFeedForwardModel")
}

caffe.swap.rgb <- function(arg, blobs) {
  for (rec in blobs) {
    if (rec$type != "Convolution") next
    w <- arg[[rec$names[1L]]]
    if (dim(w)[3L] == 3L) arg[[rec$names[1L]]] <- w[, , 3:1, , drop = FALSE]
    break
  }
  arg
}
