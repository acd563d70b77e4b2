# ONNX import and export (issue 12). Files are read with the package's own
# protobuf decoder (src/io/protobuf.c, through the caffe.pb.* helpers of
# R/caffe.R) and written with a small encoder below; no protobuf library.
# Field numbers: onnx.proto (ModelProto, GraphProto, NodeProto,
# AttributeProto, TensorProto, ValueInfoProto).
#
# Dimensions: an ONNX tensor of shape (d1, ..., dk) is, byte for byte, the R
# array with dim = c(dk, ..., d1) (DESIGN.md), so no data is transposed.
# Tuple parameters are handed to the ops as strings in C order ("(3, 3)"),
# which the op layer does not reverse.

# ---------------------------------------------------------------- reading

# Every string of repeated field `num`.
onnx.pb.strings <- function(buf, s, num, what, where) {
  vapply(caffe.pb.fields(s, num, 2L, what, where), function(i) caffe.pb.string(buf, s, i, where), "")
}
# The last value of scalar field `num`: a varint (every int of onnx.proto),
# or with wire = 5L a float.
onnx.pb.one <- function(buf, s, num, what, where, default = NULL, wire = 0L) {
  i <- caffe.pb.fields(s, num, wire, what, where)
  if (length(i)) s$value[i[length(i)]] else default
}
# ONNX element types read here (TensorProto.DataType): code -> bytes, kind.
onnx.types <- list(`1` = c(4, "float"), `2` = c(1, "uint8"), `3` = c(1, "int8"), `5` = c(2, "int16"),
                   `6` = c(4, "int32"), `7` = c(8, "int64"), `9` = c(1, "bool"), `11` = c(8, "double"))
onnx.raw.values <- function(b, type) {
  n <- length(b)
  switch(type,
    float = readBin(b, "numeric", n %/% 4, size = 4, endian = "little"),
    double = readBin(b, "numeric", n %/% 8, size = 8, endian = "little"),
    int32 = readBin(b, "integer", n %/% 4, size = 4, endian = "little"),
    int16 = readBin(b, "integer", n %/% 2, size = 2, endian = "little"),
    int8 = readBin(b, "integer", n, size = 1, signed = TRUE),
    int64 = {
      v <- readBin(b, "integer", n %/% 4, size = 4, endian = "little")
      lo <- v[c(TRUE, FALSE)]; hi <- v[c(FALSE, TRUE)]
      ifelse(lo < 0, lo + 2^32, lo) + hi * 2^32
    },
    as.integer(b))
}
# A TensorProto: list(name, dims (C order), value = R array or vector).
onnx.tensor <- function(buf, off, len, where) {
  s <- caffe.pb.scan(buf, off, len, where)
  name <- caffe.pb.string(buf, s, caffe.pb.fields(s, 8L, 2L, "TensorProto.name", where), where)
  dims <- caffe.pb.numbers(buf, s, 1L, 0, "TensorProto.dims", where)
  code <- onnx.pb.one(buf, s, 2L, "TensorProto.data_type", where, 0)
  if (length(caffe.pb.fields(s, 14L, 0L, "TensorProto.data_location", where)) &&
      onnx.pb.one(buf, s, 14L, "data_location", where) == 1)
    mx.error("io", sprintf("%s: tensor '%s' is stored in an external file (not supported)", where, name))
  ty <- onnx.types[[as.character(code)]]
  if (is.null(ty)) mx.error("io", sprintf("%s: tensor '%s' has data type %g, not supported", where, name, code))
  if (!io.dims.ok(dims) || prod(dims) > 2^31 - 1)
    mx.error("io", sprintf("%s: tensor '%s' claims the shape (%s)", where, name, paste(dims, collapse = ", ")))
  raw <- caffe.pb.fields(s, 9L, 2L, "TensorProto.raw_data", where)
  v <- if (length(raw)) {
    i <- raw[length(raw)]
    if (s$length[i] != prod(dims) * as.numeric(ty[1L]))
      mx.error("io", sprintf("%s: tensor '%s' of shape (%s) holds %.0f bytes", where, name,
                             paste(dims, collapse = ", "), s$length[i]))
    onnx.raw.values(buf[s$offset[i] + seq_len(s$length[i])], ty[2L])
  } else switch(ty[2L],
    float = caffe.pb.numbers(buf, s, 4L, 4, "TensorProto.float_data", where),
    double = caffe.pb.numbers(buf, s, 10L, 8, "TensorProto.double_data", where),
    int64 = caffe.pb.numbers(buf, s, 7L, 0, "TensorProto.int64_data", where),
    caffe.pb.numbers(buf, s, 5L, 0, "TensorProto.int32_data", where))
  if (length(v) != prod(dims))
    mx.error("io", sprintf("%s: tensor '%s' of shape (%s) holds %d values", where, name,
                           paste(dims, collapse = ", "), length(v)))
  list(name = name, dims = dims, value = if (length(dims) > 1L) array(v, rev(dims)) else as.numeric(v))
}
# The types ONNX gives the attributes that the converters read
# (AttributeProto.AttributeType: 1 float, 2 int, 3 string, 4 tensor, 7 ints).
onnx.attr.types <- c(alpha = 1, beta = 1, epsilon = 1, momentum = 1, group = 2, ceil_mode = 2,
                     count_include_pad = 2, training_mode = 2, transA = 2, transB = 2, axis = 2,
                     allowzero = 2, auto_pad = 3, value = 4, kernel_shape = 7, strides = 7,
                     dilations = 7, pads = 7, perm = 7, shape = 7)
# The attributes of a node as a named list.
onnx.attrs <- function(buf, s, where) {
  out <- list()
  for (i in caffe.pb.fields(s, 5L, 2L, "NodeProto.attribute", where)) {
    a <- caffe.pb.scan(buf, s$offset[i], s$length[i], where)
    name <- caffe.pb.string(buf, a, caffe.pb.fields(a, 1L, 2L, "AttributeProto.name", where), where)
    type <- onnx.pb.one(buf, a, 20L, "AttributeProto.type", where, 0)
    if (is.na(name) || !nzchar(name)) mx.error("io", sprintf("%s: a node attribute has no name", where))
    if (name %in% names(onnx.attr.types) && type != onnx.attr.types[[name]])
      mx.error("io", sprintf("%s: attribute '%s' has type %g, ONNX defines %d", where, name, type,
                             onnx.attr.types[[name]]))
    out[[name]] <- switch(as.character(type),
      `1` = {
        v <- onnx.pb.one(buf, a, 2L, "AttributeProto.f", where, NULL, 5L)
        if (length(v) && !is.finite(v)) mx.error("io", sprintf("%s: float attribute '%s' is %g", where, name, v))
        v },
      `2` = onnx.pb.one(buf, a, 3L, "AttributeProto.i", where),
      `3` = caffe.pb.string(buf, a, caffe.pb.fields(a, 4L, 2L, "AttributeProto.s", where), where),
      `4` = { j <- caffe.pb.fields(a, 5L, 2L, "AttributeProto.t", where)
              if (!length(j)) mx.error("io", sprintf("%s: attribute '%s' has no tensor", where, name))
              onnx.tensor(buf, a$offset[j[1L]], a$length[j[1L]], where)$value },
      `6` = caffe.pb.numbers(buf, a, 7L, 4, "AttributeProto.floats", where),
      `7` = caffe.pb.numbers(buf, a, 8L, 0, "AttributeProto.ints", where),
      list(unsupported = type))
  }
  out
}
onnx.node <- function(buf, off, len, where) {
  s <- caffe.pb.scan(buf, off, len, where)
  op <- caffe.pb.string(buf, s, caffe.pb.fields(s, 4L, 2L, "NodeProto.op_type", where), where)
  if (is.na(op)) mx.error("io", sprintf("%s: a node has no op_type", where))
  output <- onnx.pb.strings(buf, s, 2L, "NodeProto.output", where)
  if (!length(output) || !nzchar(output[1L]))
    mx.error("io", sprintf("%s: a %s node has no output name", where, op))
  list(op = op, input = onnx.pb.strings(buf, s, 1L, "NodeProto.input", where), output = output,
       name = caffe.pb.string(buf, s, caffe.pb.fields(s, 3L, 2L, "NodeProto.name", where), where),
       domain = caffe.pb.string(buf, s, caffe.pb.fields(s, 7L, 2L, "NodeProto.domain", where), where),
       attr = onnx.attrs(buf, s, where))
}
# A ValueInfoProto: list(name, dims (C order; NA for symbolic dimensions)).
onnx.value.info <- function(buf, off, len, where) {
  s <- caffe.pb.scan(buf, off, len, where)
  name <- caffe.pb.string(buf, s, caffe.pb.fields(s, 1L, 2L, "ValueInfoProto.name", where), where)
  if (is.na(name) || !nzchar(name)) mx.error("io", sprintf("%s: a graph input or output has no name", where))
  dims <- NULL
  sub <- function(m, num, what) {
    i <- caffe.pb.fields(m, num, 2L, what, where)
    if (length(i)) caffe.pb.scan(buf, m$offset[i[1L]], m$length[i[1L]], where)
  }
  tt <- sub(s, 2L, "ValueInfoProto.type")
  tt <- if (!is.null(tt)) sub(tt, 1L, "TypeProto.tensor_type")
  sh <- if (!is.null(tt)) sub(tt, 2L, "TypeProto.Tensor.shape")
  if (!is.null(sh)) dims <- vapply(caffe.pb.fields(sh, 1L, 2L, "TensorShapeProto.dim", where), function(i) {
    d <- caffe.pb.scan(buf, sh$offset[i], sh$length[i], where)
    onnx.pb.one(buf, d, 1L, "Dimension.dim_value", where, NA_real_)
  }, 0)
  list(name = name, dims = dims)
}
# A whole .onnx file: list(opset, nodes, initializers, inputs, outputs).
onnx.read.model <- function(file) {
  buf <- caffe.read.raw(file, "ONNX")
  s <- caffe.pb.scan(buf, 0, length(buf), file)
  opset <- 1
  for (i in caffe.pb.fields(s, 8L, 2L, "ModelProto.opset_import", file)) {
    o <- caffe.pb.scan(buf, s$offset[i], s$length[i], file)
    dom <- caffe.pb.string(buf, o, caffe.pb.fields(o, 1L, 2L, "OperatorSetId.domain", file), file)
    if (is.na(dom) || dom %in% c("", "ai.onnx")) opset <- onnx.pb.one(buf, o, 2L, "OperatorSetId.version", file, 1)
  }
  g <- caffe.pb.fields(s, 7L, 2L, "ModelProto.graph", file)
  if (!length(g)) mx.error("io", sprintf("%s: not an ONNX model (no graph)", file))
  s <- caffe.pb.scan(buf, s$offset[g[1L]], s$length[g[1L]], file)
  each <- function(num, what, f) lapply(caffe.pb.fields(s, num, 2L, what, file), function(i)
    f(buf, s$offset[i], s$length[i], file))
  inits <- each(5L, "GraphProto.initializer", onnx.tensor)
  list(opset = opset, nodes = each(1L, "GraphProto.node", onnx.node),
       initializers = stats::setNames(lapply(inits, `[[`, "value"), vapply(inits, `[[`, "", "name")),
       inputs = each(11L, "GraphProto.input", onnx.value.info),
       outputs = vapply(each(12L, "GraphProto.output", onnx.value.info), `[[`, "", "name"))
}

#' Read an ONNX tensor file
#'
#' Reads a serialized ONNX \code{TensorProto} (the \code{input_0.pb} and
#' \code{output_0.pb} files of ONNX's test data).
#' @param file The \code{.pb} file.
#' @return An R array in R dimension order (an ONNX tensor of shape
#'   \code{(N, C, H, W)} gives \code{dim = c(W, H, C, N)}), or a vector for
#'   1-D tensors; the tensor's name is the attribute \code{"name"}.
#' @examples
#' f <- tempfile(fileext = ".pb")
#' # dims 2 and 3 (packed), data_type 1 (float), six packed floats
#' con <- file(f, "wb")
#' writeBin(as.raw(c(0x0a, 2, 2, 3, 0x10, 1, 0x22, 24)), con)
#' writeBin(as.numeric(1:6), con, size = 4); close(con)
#' mx.onnx.read.tensor(f)
#' @export
mx.onnx.read.tensor <- function(file) {
  buf <- caffe.read.raw(file, "tensor")
  t <- io.guard(file, onnx.tensor(buf, 0, length(buf), file))
  structure(t$value, name = if (!is.na(t$name)) t$name)
}

# ---------------------------------------------------------------- import

# The conversion state: symbols by tensor name, constants (initializers and
# Constant nodes), which constants became arguments or auxiliary states, and
# the known C-order shapes of the graph inputs.
onnx.state <- function(model, where) {
  st <- new.env(parent = emptyenv())
  st$where <- where
  st$opset <- model$opset
  st$vals <- list()
  st$consts <- model$initializers
  st$args <- character()
  st$aux <- character()
  st$shapes <- list()
  for (v in model$inputs) {
    if (v$name %in% names(st$consts)) next
    st$vals[[v$name]] <- mx.symbol.Variable(v$name)
    if (!is.null(v$dims) && !anyNA(v$dims)) st$shapes[[v$name]] <- rev(v$dims)
  }
  st
}
# A C-order tuple for an op parameter, checked (files may hold anything).
onnx.tup <- function(x) {
  if (!length(x) || anyNA(x) || any(abs(x) > .Machine$integer.max))
    mx.error("io", sprintf("a tuple attribute holds (%s)", paste(x, collapse = ", ")))
  sym.tuple(x)
}
onnx.has <- function(name) !is.na(name) & nzchar(name)
# The symbol of tensor `name`; a constant becomes an argument (or, for
# BatchNormalization statistics, an auxiliary state) of that name.
onnx.in <- function(st, name, aux = FALSE) {
  if (!is.null(st$vals[[name]])) return(st$vals[[name]])
  if (is.null(st$consts[[name]]))
    mx.error("io", sprintf("%s: tensor '%s' is used before it is computed", st$where, name))
  if (aux) st$aux <- union(st$aux, name) else st$args <- union(st$args, name)
  st$vals[[name]] <- mx.symbol.Variable(name)
}
onnx.const <- function(st, name, what) {
  v <- st$consts[[name]]
  if (is.null(v)) mx.error("unsupported", sprintf("%s: %s ('%s') must be a constant", st$where, what, name))
  v
}
# The C-order shape of a symbol, from the graph inputs' shapes.
onnx.shape.of <- function(st, sym, what) {
  args <- st$shapes[intersect(arguments(sym), names(st$shapes))]
  for (a in setdiff(arguments(sym), names(args)))
    if (!is.null(st$consts[[a]])) args[[a]] <- dim(st$consts[[a]]) %||% length(st$consts[[a]])
  sh <- tryCatch(do.call(mx.symbol.infer.shape, c(list(symbol = sym), args))$out.shapes[[1L]],
                 error = function(e) NULL)
  if (is.null(sh))
    mx.error("unsupported", sprintf("%s: %s needs the input shapes, which the file does not give", st$where, what))
  rev(sh)
}
onnx.axis <- function(st, sym, axis, what) {
  if (axis >= 0) return(axis)
  rank <- length(onnx.shape.of(st, sym, what))
  if (axis < -rank) mx.error("io", sprintf("%s: axis %g is outside the rank %d", what, axis, rank))
  axis + rank
}
onnx.pads <- function(n, k) {
  p <- n$attr$pads %||% rep(0, 2 * k)
  if (length(p) != 2 * k)
    mx.error("io", sprintf("ONNX %s: pads holds %d values, not 2 x %d", n$op, length(p), k))
  if (!identical(n$attr$auto_pad %||% "NOTSET", "NOTSET") && !identical(n$attr$auto_pad, "VALID"))
    mx.error("unsupported", sprintf("ONNX %s: auto_pad = %s is not supported (give explicit pads)",
                                    n$op, n$attr$auto_pad))
  if (any(p[seq_len(k)] != p[k + seq_len(k)]))
    mx.error("unsupported", sprintf("ONNX %s: asymmetric pads (%s) are not supported", n$op,
                                    paste(p, collapse = ", ")))
  onnx.tup(p[seq_len(k)])
}

onnx.check.rank <- function(st, n, name, k) {
  if (length(k) > 2L)
    mx.error("unsupported", sprintf("%s: %s '%s': %d-D windows are not supported (1-D and 2-D only)",
                                    st$where, n$op, name, length(k)))
}
onnx.conv <- function(st, n, name) {
  x <- onnx.in(st, n$input[1L])
  wdims <- if (!is.null(st$consts[[n$input[2L]]])) rev(dim(st$consts[[n$input[2L]]]))
           else rev(st$shapes[[n$input[2L]]])
  k <- n$attr$kernel_shape %||% wdims[-(1:2)]
  onnx.check.rank(st, n, name, k)
  if (is.null(wdims) || !length(k)) mx.error("unsupported", sprintf("%s: Conv '%s' has no known weight shape", st$where, name))
  bias <- length(n$input) > 2L && onnx.has(n$input[3L])
  args <- list(data = x, weight = onnx.in(st, n$input[2L]), kernel = onnx.tup(k),
               stride = onnx.tup(n$attr$strides %||% rep(1, length(k))),
               dilate = onnx.tup(n$attr$dilations %||% rep(1, length(k))),
               pad = onnx.pads(n, length(k)), num_filter = wdims[1L],
               num_group = n$attr$group %||% 1, no_bias = !bias, name = name)
  if (bias) args$bias <- onnx.in(st, n$input[3L])
  do.call(mx.symbol.Convolution, args)
}
onnx.pool <- function(type) function(st, n, name) {
  if (length(n$output) > 1L && onnx.has(n$output[2L]))
    mx.error("unsupported", sprintf("%s: %s '%s': the Indices output is not supported", st$where, n$op, name))
  if (any((n$attr$dilations %||% 1) != 1))
    mx.error("unsupported", sprintf("%s: %s '%s': dilations are not supported", st$where, n$op, name))
  k <- n$attr$kernel_shape
  onnx.check.rank(st, n, name, k)
  args <- list(data = onnx.in(st, n$input[1L]), pool_type = type, kernel = onnx.tup(k),
               stride = onnx.tup(n$attr$strides %||% rep(1, length(k))), pad = onnx.pads(n, length(k)),
               pooling_convention = if (identical(n$attr$ceil_mode, 1)) "full" else "valid", name = name)
  if (type == "avg") args$count_include_pad <- identical(n$attr$count_include_pad, 1)
  do.call(mx.symbol.Pooling, args)
}
onnx.global.pool <- function(type) function(st, n, name)
  mx.symbol.Pooling(data = onnx.in(st, n$input[1L]), pool_type = type, global_pool = TRUE,
                    kernel = "(1, 1)", name = name)
onnx.bn <- function(st, n, name) {
  if (identical(n$attr$training_mode, 1) || sum(onnx.has(n$output)) > 1L)
    mx.error("unsupported", sprintf("%s: BatchNormalization '%s' in training mode is not supported", st$where, name))
  mx.symbol.BatchNorm(data = onnx.in(st, n$input[1L]), gamma = onnx.in(st, n$input[2L]),
                      beta = onnx.in(st, n$input[3L]), moving_mean = onnx.in(st, n$input[4L], TRUE),
                      moving_var = onnx.in(st, n$input[5L], TRUE), eps = n$attr$epsilon %||% 1e-5,
                      momentum = n$attr$momentum %||% 0.9, fix_gamma = FALSE, name = name)
}
onnx.gemm <- function(st, n, name) {
  a <- onnx.in(st, n$input[1L])
  alpha <- n$attr$alpha %||% 1; beta <- n$attr$beta %||% 1
  ta <- identical(n$attr$transA, 1); tb <- identical(n$attr$transB, 1)
  w <- st$consts[[n$input[2L]]]
  if (!ta && !is.null(w) && length(dim(w)) == 2L) {
    # FullyConnected's weight is (N, K) in C order, which is B itself when transB = 1.
    if (!tb) w <- t(w)
    wname <- n$input[2L]
    if (!tb || alpha != 1) {
      wname <- paste0(name, "_weight")
      st$consts[[wname]] <- w * alpha
    }
    y <- mx.symbol.FullyConnected(data = a, weight = onnx.in(st, wname), num_hidden = ncol(w),
                                  no_bias = TRUE, name = name)
  } else {
    y <- mx.symbol.dot(a, onnx.in(st, n$input[2L]), transpose_a = ta, transpose_b = tb, name = name)
    if (alpha != 1) y <- y * alpha
  }
  if (length(n$input) < 3L || !onnx.has(n$input[3L])) return(y)
  cc <- onnx.in(st, n$input[3L])
  mx.symbol.broadcast_add(y, if (beta != 1) cc * beta else cc)
}
onnx.matmul <- function(st, n, name) {
  a <- onnx.in(st, n$input[1L]); b <- onnx.in(st, n$input[2L])
  ra <- length(onnx.shape.of(st, a, "MatMul")); rb <- length(onnx.shape.of(st, b, "MatMul"))
  if (ra == 2L && rb == 2L) return(mx.symbol.dot(a, b, name = name))
  if (ra == 3L && rb == 3L) return(mx.symbol.batch_dot(a, b, name = name))
  mx.error("unsupported", sprintf("%s: MatMul '%s' of ranks %d and %d (2-D or batched 3-D only)",
                                  st$where, name, ra, rb))
}
# Softmax and LogSoftmax: before opset 13 the input is flattened to 2-D at
# `axis` (default 1); from 13 on the op runs along `axis` (default -1).
onnx.softmax <- function(fun) function(st, n, name) {
  x <- onnx.in(st, n$input[1L])
  if (st$opset >= 13) return(fun(data = x, axis = n$attr$axis %||% -1, name = name))
  sh <- onnx.shape.of(st, x, n$op)
  axis <- onnx.axis(st, x, n$attr$axis %||% 1, n$op)
  if (axis == length(sh) - 1L) return(fun(data = x, axis = -1, name = name))
  flat <- mx.symbol.Reshape(x, shape = onnx.tup(c(prod(sh[seq_len(axis)]), -1)))
  mx.symbol.Reshape(fun(data = flat, axis = -1), shape = onnx.tup(sh), name = name)
}
onnx.flatten <- function(st, n, name) {
  x <- onnx.in(st, n$input[1L])
  axis <- n$attr$axis %||% 1
  if (axis == 1) return(mx.symbol.Flatten(x, name = name))
  sh <- onnx.shape.of(st, x, "Flatten")
  axis <- onnx.axis(st, x, axis, "Flatten")
  mx.symbol.Reshape(x, shape = onnx.tup(c(prod(sh[seq_len(axis)]), -1)), name = name)
}
onnx.reshape <- function(st, n, name) {
  s <- if (length(n$input) > 1L) onnx.const(st, n$input[2L], "the shape of Reshape") else n$attr$shape
  if (identical(n$attr$allowzero, 1) && any(s == 0))
    mx.error("unsupported", sprintf("%s: Reshape '%s' with allowzero = 1 and a 0 in the shape", st$where, name))
  mx.symbol.Reshape(onnx.in(st, n$input[1L]), shape = onnx.tup(s), name = name)
}
onnx.concat <- function(st, n, name) {
  if (!length(n$input)) mx.error("io", sprintf("%s: Concat '%s' has no inputs", st$where, name))
  xs <- lapply(n$input, onnx.in, st = st)
  axis <- onnx.axis(st, xs[[1L]], n$attr$axis %||% 1, "Concat")
  do.call(mx.symbol.Concat, c(xs, list(dim = axis, name = name)))
}
onnx.binary <- function(fun) function(st, n, name)
  fun(onnx.in(st, n$input[1L]), onnx.in(st, n$input[2L]), name = name)
onnx.unary <- function(fun, ...) function(st, n, name) fun(data = onnx.in(st, n$input[1L]), name = name, ...)
onnx.dropout <- function(st, n, name) {
  if (sum(onnx.has(n$output)) > 1L)
    mx.error("unsupported", sprintf("%s: Dropout '%s': the mask output is not supported", st$where, name))
  mx.symbol.identity(onnx.in(st, n$input[1L]), name = name)
}
onnx.transpose <- function(st, n, name) {
  x <- onnx.in(st, n$input[1L])
  perm <- n$attr$perm %||% rev(seq_along(onnx.shape.of(st, x, "Transpose")) - 1)
  mx.symbol.transpose(x, axes = onnx.tup(perm), name = name)
}
# LRN across channels, x / (bias + alpha / size * sum of squares)^beta: the
# LRN op's formula (knorm = bias), for an odd window (the op's centred one).
onnx.lrn <- function(st, n, name) {
  size <- n$attr$size
  if (is.null(size) || size %% 2 != 1)
    mx.error("unsupported", sprintf("%s: LRN '%s': size %s (an odd size is supported)", st$where, name,
                                    format(size %||% "missing")))
  mx.symbol.LRN(data = onnx.in(st, n$input[1L]), nsize = size, alpha = n$attr$alpha %||% 1e-4,
                beta = n$attr$beta %||% 0.75, knorm = n$attr$bias %||% 1, name = name)
}
onnx.leaky <- function(st, n, name)
  mx.symbol.LeakyReLU(data = onnx.in(st, n$input[1L]), act_type = "leaky", slope = n$attr$alpha %||% 0.01,
                      name = name)

# ONNX op -> converter(state, node, name) returning the output symbol.
onnx.importers <- list(
  Conv = onnx.conv, Gemm = onnx.gemm, MatMul = onnx.matmul,
  Relu = onnx.unary(mx.symbol.Activation, act_type = "relu"),
  Tanh = onnx.unary(mx.symbol.Activation, act_type = "tanh"),
  Sigmoid = onnx.unary(mx.symbol.Activation, act_type = "sigmoid"),
  Softplus = onnx.unary(mx.symbol.Activation, act_type = "softrelu"), LeakyRelu = onnx.leaky,
  Softmax = onnx.softmax(mx.symbol.softmax), LogSoftmax = onnx.softmax(mx.symbol.log_softmax),
  MaxPool = onnx.pool("max"), AveragePool = onnx.pool("avg"),
  GlobalAveragePool = onnx.global.pool("avg"), GlobalMaxPool = onnx.global.pool("max"),
  BatchNormalization = onnx.bn, Flatten = onnx.flatten, Reshape = onnx.reshape, Concat = onnx.concat,
  Add = onnx.binary(mx.symbol.broadcast_add), Sub = onnx.binary(mx.symbol.broadcast_sub),
  Mul = onnx.binary(mx.symbol.broadcast_mul), Div = onnx.binary(mx.symbol.broadcast_div),
  Dropout = onnx.dropout, Identity = onnx.unary(mx.symbol.identity), Transpose = onnx.transpose,
  LRN = onnx.lrn)

onnx.convert.node <- function(st, n) {
  if (identical(n$op, "Constant")) {
    if (is.null(n$attr$value)) mx.error("unsupported", sprintf("%s: Constant '%s' without a tensor value", st$where, n$output[1L]))
    st$consts[[n$output[1L]]] <- n$attr$value
    return(invisible())
  }
  f <- onnx.importers[[n$op]]
  if (is.null(f) || !(is.na(n$domain) || n$domain %in% c("", "ai.onnx")))
    mx.error("unsupported", sprintf("%s: ONNX op '%s' is not supported; supported: %s", st$where,
                                    n$op, paste(c(sort(names(onnx.importers)), "Constant"), collapse = ", ")))
  bad <- vapply(n$attr, function(a) is.list(a) && !is.null(a$unsupported), NA)
  if (any(bad)) mx.error("unsupported", sprintf("%s: %s attribute '%s' has an unsupported type", st$where,
                                                n$op, names(n$attr)[bad][1L]))
  name <- n$output[1L]
  st$vals[[name]] <- f(st, n, name)
}

#' Import an ONNX model
#'
#' Reads an \code{.onnx} file (with the package's own protobuf decoder) and
#' translates its graph into native operators. Supported ONNX ops: Conv,
#' Gemm, MatMul (2-D, batched 3-D), Relu, Tanh, Sigmoid, Softplus, LeakyRelu,
#' Softmax, LogSoftmax, MaxPool, AveragePool, GlobalAveragePool,
#' GlobalMaxPool, BatchNormalization (inference), Flatten, Reshape, Concat,
#' Add, Sub, Mul, Div, Dropout, Identity, Transpose, LRN (odd sizes) and Constant; others
#' give an \code{mxnet_unsupported_error} that lists these.
#' @param file The \code{.onnx} file.
#' @return An \code{MXFeedForwardModel}: a list with \code{symbol} (the
#'   graph outputs, grouped when there are several), \code{arg.params} and
#'   \code{aux.params} (lists of MXNDArrays: the initializers, named as in
#'   the file; BatchNormalization statistics are auxiliary states) and
#'   \code{input.shape} (the shapes of the data inputs in R order, where
#'   the file gives them).
#' @examples
#' x <- mx.symbol.Variable("data")
#' net <- mx.symbol.FullyConnected(x, num_hidden = 3, name = "fc")
#' arg <- list(fc_weight = mx.nd.array(matrix(0.1, 4, 3)), fc_bias = mx.nd.zeros(3))
#' f <- tempfile(fileext = ".onnx")
#' mx.onnx.export(list(symbol = net, arg.params = arg, aux.params = list()), f,
#'                input.shape = list(data = c(4, 2)))
#' m <- mx.onnx.import(f)
#' names(m$arg.params)
#' @export
mx.onnx.import <- function(file) {
  model <- io.guard(file, onnx.read.model(file))
  st <- onnx.state(model, file)
  for (n in model$nodes) io.where(file, sprintf("ONNX %s '%s': ", n$op, n$output[1L]), onnx.convert.node(st, n))
  missing <- setdiff(model$outputs, names(st$vals))
  if (length(missing)) mx.error("io", sprintf("%s: graph output '%s' is never computed", file, missing[1L]))
  outs <- st$vals[model$outputs]
  sym <- if (length(outs) == 1L) outs[[1L]] else mx.symbol.Group(unname(outs))
  nd <- function(names) lapply(st$consts[names], function(v) mx.nd.array(as.array(v)))
  structure(list(symbol = sym, arg.params = nd(st$args), aux.params = nd(st$aux),
                 input.shape = st$shapes), class = "MXFeedForwardModel")
}

# ---------------------------------------------------------------- encoding

# Protobuf wire encoding (the writing half of src/io/protobuf.c's format):
# varints (two's complement for negative int64), length-delimited fields,
# fixed32 floats.
pb.varint <- function(x) {
  x <- as.numeric(x)
  hi <- floor(x / 2^32); lo <- x - hi * 2^32
  if (hi < 0) hi <- hi + 2^32
  out <- raw()
  repeat {
    b <- lo %% 128
    lo <- floor(lo / 128) + (hi %% 128) * 2^25
    hi <- floor(hi / 128)
    if (lo == 0 && hi == 0) return(c(out, as.raw(b)))
    out <- c(out, as.raw(b + 128))
  }
}
pb.key <- function(num, wire) pb.varint(num * 8 + wire)
pb.bytes <- function(num, b) c(pb.key(num, 2), pb.varint(length(b)), b)
pb.str <- function(num, s) pb.bytes(num, charToRaw(enc2utf8(s)))
pb.int <- function(num, x) c(pb.key(num, 0), pb.varint(x))
pb.float <- function(num, x) c(pb.key(num, 5), writeBin(as.numeric(x), raw(), size = 4, endian = "little"))
pb.ints <- function(num, xs) pb.bytes(num, unlist(lapply(xs, pb.varint)) %||% raw())

# A TensorProto: float32 (raw_data) or int64 (int64_data) values with C-order dims.
onnx.enc.tensor <- function(name, value, int64 = FALSE) {
  dims <- rev(dim(value) %||% length(value))
  body <- c(if (length(dims)) pb.ints(1, dims), pb.int(2, if (int64) 7 else 1), pb.str(8, name))
  if (int64) c(body, pb.ints(7, as.vector(value)))
  else c(body, pb.bytes(9, writeBin(as.numeric(value), raw(), size = 4, endian = "little")))
}
onnx.enc.value.info <- function(name, dims) {
  shape <- unlist(lapply(dims, function(d) pb.bytes(1, pb.int(1, d))))
  type <- pb.bytes(1, c(pb.int(1, 1), pb.bytes(2, shape %||% raw())))
  c(pb.str(1, name), pb.bytes(2, type))
}
# An AttributeProto from an R value: integer-valued numbers -> INT(S), other
# numbers -> FLOAT(S), a string -> STRING; `ints` forces INTS.
onnx.enc.attr <- function(name, v) {
  head <- pb.str(1, name)
  if (is.character(v)) return(c(head, pb.str(4, v), pb.int(20, 3)))
  many <- length(v) != 1L || isTRUE(attr(v, "list"))
  if (is.integer(v)) {
    if (many) return(c(head, pb.ints(8, v), pb.int(20, 7)))
    return(c(head, pb.int(3, v), pb.int(20, 2)))
  }
  if (many) c(head, pb.bytes(7, writeBin(as.numeric(v), raw(), size = 4, endian = "little")), pb.int(20, 6))
  else c(head, pb.float(2, v), pb.int(20, 1))
}
onnx.enc.node <- function(op, inputs, output, name, attrs = list()) {
  a <- unlist(lapply(names(attrs), function(k) pb.bytes(5, onnx.enc.attr(k, attrs[[k]]))))
  c(unlist(lapply(inputs, function(s) pb.str(1, s))), pb.str(2, output), pb.str(3, name), pb.str(4, op), a)
}

# ---------------------------------------------------------------- export

# "(5, 3)" -> c(5L, 3L) (MXNet's tuple strings are in C order).
onnx.tuple <- function(s) {
  if (is.null(s)) return(NULL)
  v <- strsplit(gsub("[][() ]", "", s), ",", fixed = TRUE)[[1L]]
  as.integer(v[nzchar(v)])
}
onnx.flag <- function(s, default) if (is.null(s)) default else tolower(s) %in% c("true", "1")
onnx.num <- function(s, default) if (is.null(s)) default else as.numeric(s)

# The exporters: function(e, nd, ins) with `e` the export state, `nd` the
# node (op, name, attrs) and `ins` its input tensor names; each adds ONNX
# nodes with e$node() and returns the name of its output.
onnx.exp.conv <- function(e, nd, ins) {
  a <- nd$attrs; k <- onnx.tuple(a[["kernel"]]); n <- length(k)
  pad <- onnx.tuple(a[["pad"]]) %||% rep(0L, n)
  bias <- !onnx.flag(a[["no_bias"]], FALSE)
  e$node("Conv", ins[seq_len(if (bias) 3L else 2L)], nd$name, list(
    kernel_shape = k, strides = onnx.tuple(a[["stride"]]) %||% rep(1L, n),
    dilations = onnx.tuple(a[["dilate"]]) %||% rep(1L, n), pads = c(pad, pad),
    group = as.integer(onnx.num(a[["num_group"]], 1))))
}
onnx.exp.fc <- function(e, nd, ins) {
  a <- nd$attrs; x <- ins[1L]
  if (length(e$shape(x)) != 2L) {
    if (!onnx.flag(a[["flatten"]], TRUE)) onnx.exp.refuse(nd, "flatten = FALSE on an input that is not 2-D")
    x <- e$node("Flatten", x, paste0(nd$name, "_flatten"), list(axis = 1L))
  }
  bias <- !onnx.flag(a[["no_bias"]], FALSE)
  e$node("Gemm", c(x, ins[2L], if (bias) ins[3L]), nd$name, list(transB = 1L))
}
onnx.exp.act <- function(e, nd, ins) {
  op <- c(relu = "Relu", tanh = "Tanh", sigmoid = "Sigmoid", softrelu = "Softplus")[nd$attrs[["act_type"]]]
  if (is.na(op)) onnx.exp.refuse(nd, paste("act_type", nd$attrs[["act_type"]]))
  e$node(op, ins[1L], nd$name)
}
onnx.exp.lrn <- function(e, nd, ins) {
  a <- nd$attrs
  e$node("LRN", ins[1L], nd$name, list(size = as.integer(onnx.num(a[["nsize"]], NA)),
                                      alpha = onnx.num(a[["alpha"]], 1e-4), beta = onnx.num(a[["beta"]], 0.75),
                                      bias = onnx.num(a[["knorm"]], 2)))
}
onnx.exp.leaky <- function(e, nd, ins) {
  if (!identical(nd$attrs[["act_type"]] %||% "leaky", "leaky")) onnx.exp.refuse(nd, nd$attrs[["act_type"]])
  e$node("LeakyRelu", ins[1L], nd$name, list(alpha = onnx.num(nd$attrs[["slope"]], 0.25)))
}
onnx.exp.pool <- function(e, nd, ins) {
  a <- nd$attrs; type <- a[["pool_type"]] %||% "max"
  if (!(type %in% c("max", "avg"))) onnx.exp.refuse(nd, paste("pool_type", type))
  if (onnx.flag(a[["global_pool"]], FALSE))
    return(e$node(if (type == "max") "GlobalMaxPool" else "GlobalAveragePool", ins[1L], nd$name))
  k <- onnx.tuple(a[["kernel"]]); n <- length(k)
  pad <- onnx.tuple(a[["pad"]]) %||% rep(0L, n)
  conv <- a[["pooling_convention"]] %||% "valid"
  if (!(conv %in% c("valid", "full"))) onnx.exp.refuse(nd, paste("pooling_convention", conv))
  at <- list(kernel_shape = k, strides = onnx.tuple(a[["stride"]]) %||% rep(1L, n), pads = c(pad, pad),
             ceil_mode = as.integer(conv == "full"))
  if (type == "avg") at$count_include_pad <- as.integer(onnx.flag(a[["count_include_pad"]], TRUE))
  e$node(if (type == "max") "MaxPool" else "AveragePool", ins[1L], nd$name, at)
}
onnx.exp.bn <- function(e, nd, ins) {
  a <- nd$attrs
  if (onnx.flag(a[["fix_gamma"]], TRUE)) {
    # MXNet ignores gamma (uses 1) when fix_gamma is set.
    ins[2L] <- paste0(nd$name, "_fixed_gamma")
    e$init(ins[2L], rep(1, e$shape(ins[3L])))
  }
  e$node("BatchNormalization", ins[1:5], nd$name,
         list(epsilon = onnx.num(a[["eps"]], 1e-3), momentum = onnx.num(a[["momentum"]], 0.9)))
}
onnx.exp.softmax <- function(op, default) function(e, nd, ins)
  e$node(op, ins[1L], nd$name, list(axis = as.integer(onnx.num(nd$attrs[["axis"]], default))))
onnx.exp.reshape <- function(e, nd, ins) {
  s <- onnx.tuple(nd$attrs[["shape"]])
  if (is.null(s) || any(s < -1)) onnx.exp.refuse(nd, "shape codes other than 0 and -1")
  e$init(paste0(nd$name, "_shape"), s, int64 = TRUE)
  e$node("Reshape", c(ins[1L], paste0(nd$name, "_shape")), nd$name)
}
onnx.exp.concat <- function(e, nd, ins)
  e$node("Concat", ins, nd$name, list(axis = as.integer(onnx.num(nd$attrs[["dim"]], 1))))
onnx.exp.same <- function(op) function(e, nd, ins) e$node(op, ins, nd$name)
onnx.exp.scalar <- function(op, reverse = FALSE) function(e, nd, ins) {
  k <- paste0(nd$name, "_scalar")
  e$init(k, array(onnx.num(nd$attrs[["scalar"]], 0), 1))
  e$node(op, if (reverse) c(k, ins[1L]) else c(ins[1L], k), nd$name)
}
onnx.exp.transpose <- function(e, nd, ins) {
  axes <- onnx.tuple(nd$attrs[["axes"]])
  e$node("Transpose", ins[1L], nd$name, if (length(axes)) list(perm = axes) else list())
}
onnx.exp.dot <- function(e, nd, ins) {
  if (onnx.flag(nd$attrs[["transpose_a"]], FALSE) || onnx.flag(nd$attrs[["transpose_b"]], FALSE))
    onnx.exp.refuse(nd, "transposed operands")
  e$node("MatMul", ins[1:2], nd$name)
}
onnx.exp.refuse <- function(nd, what) {
  if (is.null(what)) mx.error("unsupported", sprintf(
    "ONNX export: op '%s' (node '%s') is not supported; supported: %s", nd$op, nd$name,
    paste(sort(names(onnx.exporters)), collapse = ", ")))
  mx.error("unsupported", sprintf("ONNX export: %s '%s': %s is not supported", nd$op, nd$name, what))
}

onnx.exporters <- list(
  Convolution = onnx.exp.conv, FullyConnected = onnx.exp.fc, Activation = onnx.exp.act,
  LeakyReLU = onnx.exp.leaky, Pooling = onnx.exp.pool, BatchNorm = onnx.exp.bn, LRN = onnx.exp.lrn,
  relu = onnx.exp.same("Relu"), tanh = onnx.exp.same("Tanh"), sigmoid = onnx.exp.same("Sigmoid"),
  softmax = onnx.exp.softmax("Softmax", -1), log_softmax = onnx.exp.softmax("LogSoftmax", -1),
  SoftmaxOutput = onnx.exp.softmax("Softmax", 1), SoftmaxActivation = onnx.exp.softmax("Softmax", 1),
  Flatten = onnx.exp.same("Flatten"), Reshape = onnx.exp.reshape, Concat = onnx.exp.concat,
  elemwise_add = onnx.exp.same("Add"), broadcast_add = onnx.exp.same("Add"),
  elemwise_sub = onnx.exp.same("Sub"), broadcast_sub = onnx.exp.same("Sub"),
  elemwise_mul = onnx.exp.same("Mul"), broadcast_mul = onnx.exp.same("Mul"),
  elemwise_div = onnx.exp.same("Div"), broadcast_div = onnx.exp.same("Div"),
  `_plus_scalar` = onnx.exp.scalar("Add"), `_minus_scalar` = onnx.exp.scalar("Sub"),
  `_mul_scalar` = onnx.exp.scalar("Mul"), `_div_scalar` = onnx.exp.scalar("Div"),
  `_rminus_scalar` = onnx.exp.scalar("Sub", TRUE), `_rdiv_scalar` = onnx.exp.scalar("Div", TRUE),
  Dropout = onnx.exp.same("Identity"), identity = onnx.exp.same("Identity"),
  `_copy` = onnx.exp.same("Identity"), transpose = onnx.exp.transpose, dot = onnx.exp.dot,
  batch_dot = onnx.exp.dot)

onnx.export.state <- function(shapes) {
  e <- new.env(parent = emptyenv())
  e$nodes <- list(); e$inits <- list(); e$used <- character(); e$shapes <- shapes
  e$node <- function(op, inputs, name, attrs = list()) {
    e$nodes[[length(e$nodes) + 1L]] <- onnx.enc.node(op, inputs, name, name, attrs)
    e$used <- union(e$used, inputs)
    name
  }
  e$init <- function(name, value, int64 = FALSE) e$inits[[name]] <- onnx.enc.tensor(name, value, int64)
  e$shape <- function(name) e$shapes[[name]]
  e
}
# C-order shapes of every node output and variable, by node name.
onnx.export.shapes <- function(sym, input.shape) {
  inner <- internals(sym)
  sh <- tryCatch(do.call(mx.symbol.infer.shape, c(list(symbol = inner), input.shape)),
                 error = function(e) mx.error("value", sprintf(
                   "ONNX export: the shapes cannot be inferred from 'input.shape' (%s)", conditionMessage(e))))
  if (length(sh$out.shapes) != length(outputs(inner)))
    mx.error("value", "ONNX export: 'input.shape' and the parameters do not determine every shape")
  out <- stats::setNames(lapply(sh$out.shapes, rev), sub("_output$", "", outputs(inner)))
  c(out, lapply(sh$arg.shapes, rev), lapply(sh$aux.shapes, rev))
}

# The GraphProto bytes of a symbol with its parameters (R arrays by name).
onnx.export.graph <- function(sym, params, input.shape) {
  known <- params[intersect(names(params), arguments(sym))]
  known <- c(input.shape, lapply(known, function(p) dim(p) %||% length(p)))
  e <- onnx.export.state(onnx.export.shapes(sym, known))
  graph <- .Call(C_mx_r_sym_graph, sym)
  names <- vapply(graph, `[[`, "", "name")
  for (nd in graph) {
    if (nd$op == "null") {
      if (!is.null(params[[nd$name]])) e$init(nd$name, params[[nd$name]])
      next
    }
    f <- onnx.exporters[[nd$op]]
    if (is.null(f)) onnx.exp.refuse(nd, NULL)
    nd$attrs <- as.list(nd$attrs)
    f(e, nd, names[nd$inputs + 1L])
  }
  missing <- setdiff(intersect(e$used, names[vapply(graph, `[[`, "", "op") == "null"]),
                     c(names(e$inits), names(input.shape)))
  if (length(missing)) mx.error("value", sprintf("ONNX export: no value for '%s' (not in arg.params, aux.params or input.shape)", missing[1L]))
  inputs <- intersect(names(input.shape), e$used)
  vi <- function(num, ns) unlist(lapply(ns, function(n) pb.bytes(num, onnx.enc.value.info(n, e$shapes[[n]]))))
  c(unlist(lapply(e$nodes, function(n) pb.bytes(1, n))), pb.str(2, "mxnet"),
    unlist(lapply(e$inits[intersect(names(e$inits), e$used)], function(t) pb.bytes(5, t))),
    vi(11, inputs), vi(12, sub("_output$", "", outputs(sym))))
}

#' Export a model to ONNX
#'
#' Writes a model as an ONNX file (opset 13, float32), with the package's
#' own protobuf encoder. Supported ops: Convolution, FullyConnected (as
#' Gemm), Activation (relu, tanh, sigmoid, softrelu), LeakyReLU (leaky),
#' Pooling (max, avg, global; valid or full convention), BatchNorm
#' (inference; \code{fix_gamma} writes a gamma of ones), softmax,
#' log_softmax, SoftmaxOutput (as Softmax over axis 1), Flatten, Reshape
#' (codes 0 and -1), Concat, elementwise and broadcast add/sub/mul/div, the
#' scalar forms, Dropout and identity (as Identity), transpose and dot
#' (MatMul). Others give an \code{mxnet_unsupported_error} that lists
#' these. Label variables (of SoftmaxOutput) are left out.
#' @param model An \code{MXFeedForwardModel} (from
#'   \code{mx.model.FeedForward.create}, \code{mx.caffe.import},
#'   \code{mx.onnx.import}) or a list with \code{symbol}, \code{arg.params}
#'   and \code{aux.params}.
#' @param file The \code{.onnx} file to write.
#' @param input.shape The input shapes in R order: a named list
#'   (\code{list(data = c(28, 28, 1, 1))}) or a vector for an input called
#'   \code{data}; by default \code{model$input.shape}. The file's shapes,
#'   batch size included, are fixed to these.
#' @return \code{file}, invisibly.
#' @examples
#' x <- mx.symbol.Variable("data")
#' net <- mx.symbol.Activation(mx.symbol.FullyConnected(x, num_hidden = 2, name = "fc"),
#'                             act_type = "relu")
#' arg <- list(fc_weight = mx.nd.array(matrix(1:6 / 6, 3, 2)), fc_bias = mx.nd.zeros(2))
#' f <- tempfile(fileext = ".onnx")
#' mx.onnx.export(list(symbol = net, arg.params = arg, aux.params = list()), f,
#'                input.shape = c(3, 1))
#' file.size(f)
#' @export
mx.onnx.export <- function(model, file, input.shape = NULL) {
  if (!is.list(model) || !is.mx.symbol(model$symbol))
    mx.error("value", "argument 'model' must be a model or a list with 'symbol', 'arg.params' and 'aux.params'")
  if (!is.character(file) || length(file) != 1L || is.na(file))
    mx.error("value", "argument 'file' must be a file name")
  input.shape <- input.shape %||% model$input.shape
  if (is.numeric(input.shape)) input.shape <- list(data = input.shape)
  if (!is.list(input.shape) || is.null(names(input.shape)))
    mx.error("value", "argument 'input.shape' must be a named list of input shapes (R order)")
  graph <- onnx.export.graph(model$symbol, lapply(c(model$arg.params, model$aux.params), as.array),
                             input.shape)
  bytes <- c(pb.int(1, 7), pb.str(2, "mxnet-r"), pb.bytes(7, graph), pb.bytes(8, c(pb.str(1, ""), pb.int(2, 13))))
  tryCatch(writeBin(bytes, file), error = function(e)
    mx.error("io", sprintf("cannot write ONNX file '%s': %s", file, conditionMessage(e))))
  invisible(file)
}
