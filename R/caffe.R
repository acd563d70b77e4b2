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
    vals <- c(vals, v)
    nms <- c(nms, rep(t, length(v)))
    if (isTRUE(st$tok[st$i] %in% c(";", ","))) st$i <- st$i + 1L
  }
  names(vals) <- nms
  vals
}

# The value(s) after a field name: a message, a [list] or one scalar.
pt.value <- function(st, depth) {
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
    out <- c(out, pt.value(st, depth))
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
pt.all <- function(msg, field) unname(msg[names(msg) == field])
pt.get <- function(msg, field, default = NULL) {
  i <- match(field, names(msg))
  if (is.na(i)) default else msg[[i]]
}
pt.num <- function(msg, field, default = NA_real_) {
  v <- pt.all(msg, field)
  if (!length(v)) return(default)
  x <- suppressWarnings(as.numeric(unlist(v)))
  if (anyNA(x)) mx.error("value", sprintf("field '%s' must be a number, not '%s'", field, v[[1L]]))
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
                       "Eltwise", "BatchNorm", "Scale", "Power", "Reshape", "Split")

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
    Reshape = caffe.reshape(pt.get(layer, "reshape_param", list()), x, name),
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
  if (is.null(scale)) {
    args$beta <- mx.symbol.Variable(g[2L], lr.mult = 0, wd.mult = 0, init = "zero")
  } else if (!pt.bool(pt.get(scale, "scale_param", list()), "bias_term", FALSE)) {
    args$beta <- mx.symbol.Variable(g[2L], lr.mult = 0, wd.mult = 0, init = "zero")
  }
  list(do.call(mx.symbol.BatchNorm, args), b)
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

# The one layer of a CaffeOp/CaffeLoss prototxt string.
caffe.one.layer <- function(prototxt) {
  net <- caffe.pt.parse(prototxt)
  layers <- c(pt.all(net, "layer"), pt.all(net, "layers"))
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
#' learned), Power, Reshape and Split; as losses SoftmaxWithLoss
#' (SoftmaxOutput), EuclideanLoss (LinearRegressionOutput) and
#' SigmoidCrossEntropyLoss (LogisticRegressionOutput). LRN and custom C++
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
#' @param num_out Number of outputs (only 1 is supported).
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
  if (!identical(as.numeric(num_out), 1))
    mx.error("unsupported", "CaffeOp supports one output (num_out = 1)")
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
