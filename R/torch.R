# Torch interop without Lua: Torch's tensor function names on NDArrays
# (mx.th.*) and mx.symbol.TorchModule translating `nn` modules into native
# ops. Weight exchange with PyTorch is in R/safetensors.R.

#' Torch's tensor functions on NDArrays
#'
#' MXNet's Torch plugin exposed Lua Torch's tensor functions as
#' \code{mx.th.*}. No Lua is embedded here: these are the same names mapped
#' onto this package's NDArray operators, in the talk's calling style
#' (\code{mx.th.randn(2, 2, ctx = mx.gpu(0))}). Sizes are given as Torch
#' prints them and become R dims (\code{mx.th.zeros(2, 3)} has
#' \code{dim = c(2, 3)}: 2 rows, 3 columns), and \code{mm}, \code{mv},
#' \code{addmm} are R's matrix products (\code{mx.th.mm(a, b)} is
#' \code{a \%*\% b}). Dimensions (\code{dim}) count R dimensions from 1 like
#' Lua Torch, and reductions over a dimension keep it (size 1) as Lua Torch
#' did; without \code{dim} they return a number. \code{view} reshapes in R's
#' (column-major) order, like \code{dim<-}; -1 infers one size.
#'
#' The set: constructors \code{zeros}, \code{ones}, \code{rand} (uniform
#' [0, 1)), \code{randn}, \code{eye}; element-wise \code{abs}, \code{exp},
#' \code{log}, \code{log1p}, \code{sqrt}, \code{rsqrt}, \code{tanh},
#' \code{sigmoid}, \code{sin}, \code{cos}, \code{floor}, \code{ceil},
#' \code{round}, \code{sign}, \code{neg}, \code{square}, \code{clamp};
#' arithmetic \code{add}, \code{sub}, \code{mul} (by a number or
#' element-wise), \code{cmul}, \code{div}, \code{cdiv}, \code{pow};
#' BLAS \code{mm}, \code{mv}, \code{dot}, \code{addmm}; reductions
#' \code{sum}, \code{mean}, \code{max}, \code{min}, \code{norm}; shape
#' \code{t}, \code{view}, \code{size}.
#' @param ... Sizes (constructors) or, for \code{view}, the new sizes.
#' @param ctx Device context (default: the current default).
#' @param x,y,a,b,m,v MXNDArrays (\code{y} may also be a number).
#' @param n Size of the identity matrix.
#' @param dim An R dimension (from 1) to reduce over, or \code{NULL} for all.
#' @param p Order of the norm (1 or 2).
#' @param min,max Clamp bounds.
#' @param e Exponent.
#' @param beta,alpha Scales of \code{addmm}: \code{beta * x + alpha * a \%*\% b}.
#' @return An MXNDArray (a number for whole-array reductions and \code{dot};
#'   an integer vector for \code{size}).
#' @name mx.th
#' @examples
#' a <- mx.th.randn(2, 2, ctx = mx.cpu())
#' b <- mx.th.ones(2, 3)
#' as.array(mx.th.mm(a, b))
#' mx.th.sum(mx.th.abs(a))
#' dim(mx.th.view(b, 3, -1))
NULL

th.sizes <- function(...) {
  s <- as.numeric(unlist(list(...)))
  if (!length(s) || anyNA(s) || any(s < 0) || any(s != floor(s)))
    mx.error("value", "sizes must be non-negative whole numbers")
  s
}
th.ctx <- function(ctx) if (is.null(ctx)) mx.ctx.default() else ctx

#' @rdname mx.th
#' @export
mx.th.zeros <- function(..., ctx = NULL) mx.nd.zeros(th.sizes(...), ctx = th.ctx(ctx))
#' @rdname mx.th
#' @export
mx.th.ones <- function(..., ctx = NULL) mx.nd.ones(th.sizes(...), ctx = th.ctx(ctx))
#' @rdname mx.th
#' @export
mx.th.rand <- function(..., ctx = NULL)
  mx.nd.random.uniform(0, 1, shape = th.sizes(...), ctx = th.ctx(ctx))
#' @rdname mx.th
#' @export
mx.th.randn <- function(..., ctx = NULL)
  mx.nd.random.normal(0, 1, shape = th.sizes(...), ctx = th.ctx(ctx))
#' @rdname mx.th
#' @export
mx.th.eye <- function(n, ctx = NULL) mx.nd.array(diag(th.sizes(n)), ctx = th.ctx(ctx))

#' @rdname mx.th
#' @export
mx.th.abs <- function(x) mx.nd.abs(x)
#' @rdname mx.th
#' @export
mx.th.exp <- function(x) mx.nd.exp(x)
#' @rdname mx.th
#' @export
mx.th.log <- function(x) mx.nd.log(x)
#' @rdname mx.th
#' @export
mx.th.log1p <- function(x) mx.nd.log1p(x)
#' @rdname mx.th
#' @export
mx.th.sqrt <- function(x) mx.nd.sqrt(x)
#' @rdname mx.th
#' @export
mx.th.rsqrt <- function(x) mx.nd.rsqrt(x)
#' @rdname mx.th
#' @export
mx.th.tanh <- function(x) mx.nd.tanh(x)
#' @rdname mx.th
#' @export
mx.th.sigmoid <- function(x) mx.nd.sigmoid(x)
#' @rdname mx.th
#' @export
mx.th.sin <- function(x) mx.nd.sin(x)
#' @rdname mx.th
#' @export
mx.th.cos <- function(x) mx.nd.cos(x)
#' @rdname mx.th
#' @export
mx.th.floor <- function(x) mx.nd.floor(x)
#' @rdname mx.th
#' @export
mx.th.ceil <- function(x) mx.nd.ceil(x)
#' @rdname mx.th
#' @export
mx.th.round <- function(x) mx.nd.round(x)
#' @rdname mx.th
#' @export
mx.th.sign <- function(x) mx.nd.sign(x)
#' @rdname mx.th
#' @export
mx.th.neg <- function(x) mx.nd.negative(x)
#' @rdname mx.th
#' @export
mx.th.square <- function(x) mx.nd.square(x)
#' @rdname mx.th
#' @export
mx.th.clamp <- function(x, min, max) mx.nd.clip(x, a_min = min, a_max = max)

#' @rdname mx.th
#' @export
mx.th.add <- function(x, y) x + y
#' @rdname mx.th
#' @export
mx.th.sub <- function(x, y) x - y
#' @rdname mx.th
#' @export
mx.th.mul <- function(x, y) x * y
#' @rdname mx.th
#' @export
mx.th.cmul <- function(x, y) x * y
#' @rdname mx.th
#' @export
mx.th.div <- function(x, y) x / y
#' @rdname mx.th
#' @export
mx.th.cdiv <- function(x, y) x / y
#' @rdname mx.th
#' @export
mx.th.pow <- function(x, e) x^e

th.matrix <- function(x, what, nd = 2L) {
  if (!inherits(x, "MXNDArray") || length(dim(x)) != nd)
    mx.error("value", sprintf("argument '%s' must be an MXNDArray with %d dimensions", what, nd))
  x
}
#' @rdname mx.th
#' @export
mx.th.mm <- function(a, b) mx.nd.dot(th.matrix(b, "b"), th.matrix(a, "a"))
#' @rdname mx.th
#' @export
mx.th.mv <- function(m, v) mx.nd.dot(th.matrix(v, "v", 1L), th.matrix(m, "m"))
#' @rdname mx.th
#' @export
mx.th.dot <- function(x, y) as.array(mx.nd.sum(x * y))[1L]
#' @rdname mx.th
#' @export
mx.th.addmm <- function(x, a, b, beta = 1, alpha = 1) x * beta + mx.th.mm(a, b) * alpha

# A reduction over an R dimension (kept, size 1) or over everything (a number).
th.reduce <- function(f, x, dim, ...) {
  if (is.null(dim)) return(as.array(f(x, ...))[1L])
  nd <- length(dim(x))
  if (length(dim) != 1L || !(dim %in% seq_len(nd)))
    mx.error("value", sprintf("argument 'dim' must be a dimension of x, from 1 to %d", nd))
  f(x, axis = nd - dim, keepdims = TRUE, ...)
}
#' @rdname mx.th
#' @export
mx.th.sum <- function(x, dim = NULL) th.reduce(mx.nd.sum, x, dim)
#' @rdname mx.th
#' @export
mx.th.mean <- function(x, dim = NULL) th.reduce(mx.nd.mean, x, dim)
#' @rdname mx.th
#' @export
mx.th.max <- function(x, dim = NULL) th.reduce(mx.nd.max, x, dim)
#' @rdname mx.th
#' @export
mx.th.min <- function(x, dim = NULL) th.reduce(mx.nd.min, x, dim)
#' @rdname mx.th
#' @export
mx.th.norm <- function(x, p = 2, dim = NULL) {
  if (!(p %in% c(1, 2))) mx.error("value", "argument 'p' must be 1 or 2")
  th.reduce(mx.nd.norm, x, dim, ord = p)
}

#' @rdname mx.th
#' @export
mx.th.t <- function(x) t(th.matrix(x, "x"))
#' @rdname mx.th
#' @export
mx.th.view <- function(x, ...) {
  s <- as.numeric(unlist(list(...)))
  n <- prod(dim(x))
  if (sum(s == -1) == 1L) s[s == -1] <- n / prod(s[s != -1])
  if (anyNA(s) || any(s < 0) || any(s != floor(s)) || prod(s) != n)
    mx.error("value", sprintf("cannot view %g elements as (%s)", n, paste(unlist(list(...)), collapse = ", ")))
  mx.nd.reshape(x, shape = s)
}
#' @rdname mx.th
#' @export
mx.th.size <- function(x) dim(x)

# ---------------------------------------------------------------- nn modules

# Parse a Lua `nn` expression: nn.Name(args) with :add(expr) chains.
# Returns list(name, args, children).
torch.lua.parse <- function(text) {
  if (!is.character(text) || length(text) != 1L || is.na(text))
    mx.error("value", "argument 'lua_string' must be a single string")
  re <- "[A-Za-z_][A-Za-z0-9_.]*|-?[0-9.]+(e[-+]?[0-9]+)?|[():,]|[^[:space:]]"
  st <- new.env(parent = emptyenv())
  st$tok <- regmatches(text, gregexpr(re, text, perl = TRUE))[[1L]]
  st$i <- 1L
  st$fail <- function(msg) mx.error("value", sprintf("cannot read lua_string '%s': %s", text, msg))
  m <- lua.module(st, 0L)
  if (st$i <= length(st$tok)) st$fail(sprintf("unexpected '%s'", st$tok[st$i]))
  m
}
lua.expect <- function(st, t) {
  if (!identical(st$tok[st$i], t)) st$fail(sprintf("expected '%s'", t))
  st$i <- st$i + 1L
}
# One argument: true, false, nil or arithmetic on numbers (4 * 4 * 16).
lua.arg.value <- function(st) {
  start <- st$i
  depth <- 0L
  while (!is.na(t <- st$tok[st$i]) && !(depth == 0L && t %in% c(",", ")"))) {
    depth <- depth + (t == "(") - (t == ")")
    st$i <- st$i + 1L
  }
  t <- paste(st$tok[seq_len(st$i - start) + start - 1L], collapse = " ")
  if (t %in% c("true", "false")) return(t == "true")
  if (t == "nil") return(NA)
  v <- if (grepl("^[-+*/() 0-9.eE]+$", t)) tryCatch(eval(str2lang(t), baseenv()), error = function(e) NA)
  if (!is.numeric(v) || length(v) != 1L || !is.finite(v)) st$fail(sprintf("bad argument '%s'", t))
  v
}

lua.module <- function(st, depth) {
  if (depth > 32L) st$fail("modules nested too deep")
  name <- st$tok[st$i]
  if (is.na(name) || !startsWith(name, "nn.")) st$fail("expected a module nn.<Name>(...)")
  st$i <- st$i + 1L
  lua.expect(st, "(")
  args <- list()
  while (!identical(st$tok[st$i], ")")) {
    if (length(args)) lua.expect(st, ",")
    args[[length(args) + 1L]] <- lua.arg.value(st)
  }
  st$i <- st$i + 1L
  kids <- list()
  while (identical(st$tok[st$i], ":")) {
    st$i <- st$i + 1L
    lua.expect(st, "add")
    lua.expect(st, "(")
    kids[[length(kids) + 1L]] <- lua.module(st, depth + 1L)
    lua.expect(st, ")")
  }
  list(name = sub("^nn[.]", "", name), args = args, children = kids)
}

torch.modules <- c("Linear", "LogSoftMax", "SoftMax", "Tanh", "ReLU", "Sigmoid",
                   "SpatialConvolution", "SpatialMaxPooling", "SpatialAveragePooling",
                   "View", "Reshape", "Dropout", "BatchNormalization",
                   "SpatialBatchNormalization", "Identity", "Sequential")

# Argument k of a module, or its default.
lua.arg <- function(m, k, default) {
  v <- if (k <= length(m$args)) m$args[[k]] else NA
  if (is.na(v)) default else v
}

# Translate one parsed module applied to x; `prefix` names its parameters.
# Returns list(symbol, params = variable names in Torch's parameters() order).
torch.translate <- function(m, x, name) {
  if (!(m$name %in% torch.modules))
    mx.error("unsupported", sprintf(
      "Torch module nn.%s is not supported (no Lua is embedded); supported modules: %s",
      m$name, paste0("nn.", torch.modules, collapse = ", ")))
  if (length(m$children) && m$name != "Sequential")
    mx.error("value", sprintf("only nn.Sequential takes :add(), not nn.%s", m$name))
  a <- function(k, d = NA) lua.arg(m, k, d)
  act <- function(t) list(mx.symbol.Activation(data = x, act_type = t, name = name), character())
  switch(m$name,
    Sequential = torch.sequential(m$children, x, name),
    Identity = list(mx.symbol.identity(data = x, name = name), character()),
    Linear = torch.linear(a(1), a(2), a(3, TRUE), x, name),
    LogSoftMax = list(mx.symbol.log_softmax(data = x, axis = -1, name = name), character()),
    SoftMax = list(mx.symbol.softmax(data = x, axis = -1, name = name), character()),
    Tanh = act("tanh"), ReLU = act("relu"), Sigmoid = act("sigmoid"),
    SpatialConvolution = torch.conv(m, x, name),
    SpatialMaxPooling = torch.pool(m, x, name, "max"),
    SpatialAveragePooling = torch.pool(m, x, name, "avg"),
    View = , Reshape = torch.view(m, x, name),
    Dropout = list(mx.symbol.Dropout(data = x, p = a(1, 0.5), name = name), character()),
    BatchNormalization = , SpatialBatchNormalization = torch.bn(m, x, name))
}

torch.need <- function(m, k) {
  v <- unlist(m$args)
  if (length(v) < k || anyNA(v[seq_len(k)]) || !is.numeric(v))
    mx.error("value", sprintf("nn.%s needs %d numeric arguments", m$name, k))
}

torch.linear <- function(n.in, n.out, bias, x, name) {
  if (is.na(n.in) || is.na(n.out)) mx.error("value", "nn.Linear needs (inputSize, outputSize)")
  p <- paste0(name, c("_weight", if (bias) "_bias"))
  args <- list(data = x, weight = mx.symbol.Variable(p[1L]), num_hidden = n.out,
               no_bias = !bias, name = name)
  if (bias) args$bias <- mx.symbol.Variable(p[2L])
  list(do.call(mx.symbol.FullyConnected, args), p)
}

torch.conv <- function(m, x, name) {
  torch.need(m, 4L)
  a <- function(k, d) lua.arg(m, k, d)
  p <- paste0(name, c("_weight", "_bias"))
  s <- mx.symbol.Convolution(data = x, weight = mx.symbol.Variable(p[1L]),
                             bias = mx.symbol.Variable(p[2L]), num_filter = a(2),
                             kernel = c(a(3), a(4)), stride = c(a(5, 1), a(6, 1)),
                             pad = c(a(7, 0), a(8, a(7, 0))), name = name)
  list(s, p)
}

torch.pool <- function(m, x, name, type) {
  torch.need(m, 2L)
  a <- function(k, d) lua.arg(m, k, d)
  dflt <- if (type == "max") c(a(1), a(2)) else c(1, 1)
  s <- mx.symbol.Pooling(data = x, pool_type = type, kernel = c(a(1), a(2)),
                         stride = c(a(3, dflt[1L]), a(4, dflt[2L])), pad = c(a(5, 0), a(6, 0)),
                         name = name)
  list(s, character())
}

# View/Reshape of the non-batch dims, in Torch's (row-major) size order.
torch.view <- function(m, x, name) {
  sizes <- unlist(m$args)
  if (!length(sizes) || !is.numeric(sizes)) mx.error("value", sprintf("nn.%s needs sizes", m$name))
  list(mx.symbol.Reshape(data = x, shape = rev(c(0, sizes)), name = name), character())
}

torch.bn <- function(m, x, name) {
  torch.need(m, 1L)
  affine <- isTRUE(lua.arg(m, 4L, TRUE))
  args <- list(data = x, eps = lua.arg(m, 2L, 1e-5), momentum = 1 - lua.arg(m, 3L, 0.1),
               fix_gamma = !affine, name = name)
  if (!affine) args$beta <- mx.symbol.Variable(paste0(name, "_beta"), lr.mult = 0, wd.mult = 0)
  list(do.call(mx.symbol.BatchNorm, args),
       if (affine) paste0(name, c("_gamma", "_beta")) else character())
}

torch.sequential <- function(kids, x, name) {
  params <- character()
  for (k in seq_along(kids)) {
    r <- torch.translate(kids[[k]], x, paste0(name, "_", k))
    x <- r[[1L]]
    params <- c(params, r[[2L]])
  }
  list(mx.symbol.identity(data = x, name = name), params)
}

#' Torch nn modules as native operators
#'
#' Takes the arguments of MXNet's Torch plugin, but no Lua is embedded: the
#' module expression in \code{lua_string} is translated into this package's
#' native operators. Supported: \code{nn.Linear(in, out[, bias])},
#' \code{nn.LogSoftMax()}, \code{nn.SoftMax()} (over the last engine axis),
#' \code{nn.Tanh()}, \code{nn.ReLU()}, \code{nn.Sigmoid()},
#' \code{nn.SpatialConvolution(nIn, nOut, kW, kH[, dW, dH, padW, padH])},
#' \code{nn.SpatialMaxPooling(kW, kH[, dW, dH, padW, padH])},
#' \code{nn.SpatialAveragePooling(...)}, \code{nn.View(sizes...)} and
#' \code{nn.Reshape(sizes...)} (of the non-batch dimensions, in Torch's
#' row-major size order), \code{nn.Dropout(p)},
#' \code{nn.BatchNormalization(n[, eps, momentum, affine])},
#' \code{nn.SpatialBatchNormalization(...)} (Torch's momentum m becomes
#' MXNet's 1 - m), \code{nn.Identity()} and
#' \code{nn.Sequential():add(...):add(...)}. Other modules give an
#' \code{mxnet_unsupported_error} listing these. Parameters are named
#' \code{<name>_weight} and \code{<name>_bias} (BatchNormalization:
#' \code{_gamma}, \code{_beta}, with \code{_moving_mean} and
#' \code{_moving_var} auxiliary states; inside a Sequential, module k is
#' named \code{<name>_<k>}). Lua Torch itself is gone from today's
#' distributions and is not run: trained weights come over by weight
#' exchange with PyTorch and torch for R instead (\code{\link{mx.torch.load}},
#' \code{\link{mx.torch.save}}, \code{\link{mx.safetensors.load}},
#' \code{\link{mx.torch.params}}).
#' @param ... The inputs \code{data_0}, ..., as symbols.
#' @param lua_string The module, e.g. \code{"nn.Linear(784, 128)"}.
#' @param num_data Number of inputs (only 1 is supported).
#' @param num_params Number of parameters (weights) of the module; checked.
#' @param num_outputs Number of outputs (only 1 is supported).
#' @param name Name of the node (default \code{torchmodule<k>}).
#' @return An MXSymbol.
#' @examples
#' data <- mx.symbol.Variable("data")
#' fc1 <- mx.symbol.TorchModule(data_0 = data, lua_string = "nn.Linear(784, 128)",
#'   num_data = 1, num_params = 2, num_outputs = 1, name = "fc1")
#' act1 <- mx.symbol.TorchModule(data_0 = fc1, lua_string = "nn.ReLU(false)",
#'   num_data = 1, num_params = 0, num_outputs = 1, name = "relu1")
#' arguments(act1)
#' @export
mx.symbol.TorchModule <- function(..., lua_string, num_data = 1, num_params = 0,
                                  num_outputs = 1, name = NULL) {
  if (!identical(as.numeric(num_data), 1) || !identical(as.numeric(num_outputs), 1))
    mx.error("unsupported", "TorchModule supports num_data = 1 and num_outputs = 1")
  x <- caffe.op.inputs(list(...), 1, "data_")[[1L]]
  m <- torch.lua.parse(lua_string)
  if (is.null(name)) name <- caffe.auto.name("torchmodule")
  r <- torch.translate(m, x, name)
  if (length(r[[2L]]) != num_params)
    mx.error("value", sprintf("num_params = %s, but nn.%s has %d parameters", format(num_params),
                              m$name, length(r[[2L]])))
  r[[1L]]
}
