# MXNet 1.9.1's R RNN API: graphs (rnn.graph over the fused RNN op,
# rnn.graph.unroll over FullyConnected cells), the bucket iterator and
# bucketed training (mx.model.buckets). Inference: R/rnn-infer.R.

# A symbol of one of the Sequence* ops, created by name (their R wrappers
# come with the ops, from another branch).
rnn.sequence.op <- function(op, ...) mx.symbol.internal.create(op, list(...))

# Whether the engine registers an op (code that needs an op another
# branch adds checks first).
rnn.op.exists <- function(name) name %in% vapply(mx.internal.op.info(), function(o) o$name, "")

rnn.need.op <- function(name) {
  if (!rnn.op.exists(name))
    mx.error("unsupported", sprintf("this graph needs the %s op, which this build does not offer", name))
}

rnn.check.count <- function(x, what, min = 1) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < min || x != round(x))
    mx.error("value", sprintf("argument '%s' must be a whole number >= %d", what, min))
}

# The loss head on top of the decoder (NULL: the decoder itself).
rnn.loss <- function(decode, label, loss_output, ignore_label, name) {
  if (is.null(loss_output)) return(decode)
  switch(loss_output,
    softmax = mx.symbol.SoftmaxOutput(data = decode, label = label, use_ignore = ignore_label != -1,
                                      ignore_label = ignore_label, name = name),
    linear = mx.symbol.LinearRegressionOutput(data = decode, label = label, name = name),
    logistic = mx.symbol.LogisticRegressionOutput(data = decode, label = label, name = name),
    MAE = mx.symbol.MAERegressionOutput(data = decode, label = label, name = name),
    mx.error("value", "argument 'loss_output' must be NULL, \"softmax\", \"linear\", \"logistic\" or \"MAE\""))
}

# The last step of a (seq, batch, features) [TNC] sequence; with masking, the
# last step within each sequence's length (SequenceLast).
rnn.last.step <- function(x, masking, seq.mask, name) {
  if (masking || rnn.op.exists("SequenceLast")) {
    rnn.need.op("SequenceLast")
    if (masking) return(rnn.sequence.op("SequenceLast", data = x, use_sequence_length = TRUE,
                                        sequence_length = seq.mask, name = name))
    return(rnn.sequence.op("SequenceLast", data = x, use_sequence_length = FALSE, name = name))
  }
  last <- mx.symbol.slice_axis(data = x, axis = 0, begin = -1, end = NULL)
  mx.symbol.reshape(data = last, shape = c(0, -1), reverse = TRUE, name = name)
}

# Decoder and loss of a graph whose recurrent output is x (seq, batch, features).
rnn.head <- function(x, config, masking, seq.mask, label, num_decode, loss_output,
                     ignore_label, prefix) {
  v <- mx.symbol.Variable
  if (config == "seq-to-one") {
    mask <- rnn.last.step(x, masking, seq.mask, paste0(prefix, "mask"))
    if (is.null(loss_output)) return(mask)
  } else if (config == "one-to-one") {
    if (masking) {
      rnn.need.op("SequenceMask")
      mask <- rnn.sequence.op("SequenceMask", data = x, use_sequence_length = TRUE,
                              sequence_length = seq.mask, value = 0, name = paste0(prefix, "mask"))
    } else mask <- mx.symbol.identity(data = x, name = paste0(prefix, "mask"))
    mask <- mx.symbol.swapaxes(data = mask, dim1 = 0, dim2 = 1, name = paste0(prefix, "swap_post"))
    if (is.null(loss_output)) return(mask)
    mask <- mx.symbol.reshape(data = mask, shape = c(0, -1), reverse = TRUE)
    label <- mx.symbol.reshape(data = label, shape = -1)
  } else {
    mx.error("value", "argument 'config' must be \"seq-to-one\" or \"one-to-one\"")
  }
  decode <- mx.symbol.FullyConnected(data = mask, weight = v(paste0(prefix, "cls.weight")),
                                     bias = v(paste0(prefix, "cls.bias")), num_hidden = num_decode,
                                     name = paste0(prefix, "decode"))
  rnn.loss(decode, label, loss_output, ignore_label, paste0(prefix, "loss"))
}

#' Recurrent network graphs
#'
#' \code{rnn.graph} builds a sequence model over the fused \code{RNN} op:
#' optional embedding, \code{num_rnn_layer} recurrent layers, and a decoder
#' (fully connected layer and loss) on the last step (\code{config =
#' "seq-to-one"}) or on every step (\code{"one-to-one"}).
#' \code{rnn.graph.unroll} builds the same model unrolled over
#' \code{seq_len} steps of FullyConnected/Activation cells (LSTM or GRU, with
#' one set of weights per layer).
#'
#' The data is \code{(seq_len, batch)} in R order, token indices, when
#' \code{num_embed} is given, else \code{(features, seq_len, batch)}; labels are \code{batch} (seq-to-one) or
#' \code{(seq_len, batch)} values. The arguments are named as in MXNet:
#' \code{data}, \code{label}, \code{seq.mask} (sequence lengths, with
#' \code{masking}), \code{embed.weight}, \code{rnn.params.weight},
#' \code{rnn.state}, \code{rnn.state.cell} (LSTM), \code{cls.weight},
#' \code{cls.bias}. Masking and the unrolled seq-to-one graph use the
#' \code{SequenceMask}/\code{SequenceLast} ops where this build has them (a
#' classed error otherwise).
#'
#' @param num_rnn_layer Number of stacked recurrent layers.
#' @param input_size Number of token levels (with \code{num_embed}).
#' @param num_embed Embedding size, or \code{NULL} for numeric input of one
#'   feature per step.
#' @param num_hidden State size of each layer.
#' @param num_decode Outputs of the decoder.
#' @param dropout Dropout between layers (training only).
#' @param ignore_label Label ignored by the softmax loss (-1: none).
#' @param bidirectional Whether the layers run in both directions.
#' @param loss_output \code{NULL} (no loss: the decoder's input),
#'   \code{"softmax"}, \code{"linear"}, \code{"logistic"} or \code{"MAE"}.
#' @param config \code{"seq-to-one"} or \code{"one-to-one"}.
#' @param cell_type \code{"lstm"}, \code{"gru"}, \code{"rnn_tanh"} or
#'   \code{"rnn_relu"} (\code{rnn.graph.unroll}: \code{"lstm"} or \code{"gru"}).
#' @param masking Whether padded steps are masked using \code{seq.mask}.
#' @param output_last_state Whether the final states are outputs too.
#' @param rnn.state,rnn.state.cell Symbols of the initial states (default:
#'   variables \code{rnn.state}, \code{rnn.state.cell}).
#' @param prefix Prefix of the node names.
#' @return An MXSymbol.
#' @examples
#' net <- rnn.graph(num_rnn_layer = 1, input_size = 10, num_embed = 4, num_hidden = 8,
#'                  num_decode = 2, loss_output = "softmax", config = "one-to-one",
#'                  cell_type = "lstm")
#' arguments(net)
#' @export
rnn.graph <- function(num_rnn_layer, input_size = NULL, num_embed = NULL, num_hidden, num_decode,
                      dropout = 0, ignore_label = -1, bidirectional = FALSE, loss_output = NULL,
                      config, cell_type, masking = FALSE, output_last_state = FALSE,
                      rnn.state = NULL, rnn.state.cell = NULL, prefix = "") {
  rnn.check.count(num_rnn_layer, "num_rnn_layer")
  rnn.check.count(num_hidden, "num_hidden")
  if (!is.character(cell_type) || !cell_type %in% c("lstm", "gru", "rnn_tanh", "rnn_relu"))
    mx.error("value", "argument 'cell_type' must be \"lstm\", \"gru\", \"rnn_tanh\" or \"rnn_relu\"")
  v <- mx.symbol.Variable
  data <- v("data")
  if (is.null(rnn.state)) rnn.state <- v("rnn.state")
  if (cell_type == "lstm" && is.null(rnn.state.cell)) rnn.state.cell <- v("rnn.state.cell")
  if (!is.null(num_embed))
    data <- mx.symbol.Embedding(data = data, input_dim = input_size, weight = v("embed.weight"),
                                output_dim = num_embed, name = "embed")
  data <- mx.symbol.swapaxes(data = data, dim1 = 0, dim2 = 1, name = paste0(prefix, "swap_pre"))
  args <- list(data = data, parameters = v("rnn.params.weight"), state = rnn.state,
               state_size = num_hidden, num_layers = num_rnn_layer, bidirectional = bidirectional,
               mode = cell_type, state_outputs = output_last_state, p = dropout,
               name = paste0(prefix, "RNN"))
  if (cell_type == "lstm") args$state_cell <- rnn.state.cell
  rnn <- do.call(mx.symbol.RNN, args)
  out <- rnn.head(rnn[[1]], config, masking, v("seq.mask"), v("label"), num_decode,
                  loss_output, ignore_label, prefix)
  if (output_last_state) {
    st <- if (cell_type == "lstm") list(rnn[[2]], rnn[[3]]) else list(rnn[[2]])
    return(mx.symbol.Group(c(list(out), st)))
  }
  out
}

# One LSTM step of rnn.graph.unroll (MXNet's gate order in these graphs:
# input, transform, forget, output); prev NULL: zero initial state.
rnn.lstm.cell <- function(num_hidden, x, prev, p, name) {
  g <- mx.symbol.FullyConnected(data = x, weight = p$i2h.weight, bias = p$i2h.bias,
                                num_hidden = num_hidden * 4, name = paste0(name, ".i2h"))
  if (!is.null(prev))
    g <- g + mx.symbol.FullyConnected(data = prev$h, weight = p$h2h.weight, bias = p$h2h.bias,
                                      num_hidden = num_hidden * 4, name = paste0(name, ".h2h"))
  s <- mx.symbol.split(g, num_outputs = 4, axis = 1, squeeze_axis = FALSE, name = paste0(name, ".slice"))
  act <- function(k, a) mx.symbol.Activation(s[[k]], act_type = a)
  nc <- act(1, "sigmoid") * act(2, "tanh")
  if (!is.null(prev)) nc <- act(3, "sigmoid") * prev$c + nc
  list(h = act(4, "sigmoid") * mx.symbol.Activation(nc, act_type = "tanh"), c = nc)
}

# One GRU step of rnn.graph.unroll (MXNet's form: update and reset gates,
# the reset applied to h before its product).
rnn.gru.cell <- function(num_hidden, x, prev, p, name) {
  fc <- function(d, w, b, n, nm) mx.symbol.FullyConnected(data = d, weight = w, bias = b, num_hidden = n,
                                                           name = paste0(name, nm))
  g <- fc(x, p$gates.i2h.weight, p$gates.i2h.bias, num_hidden * 2, ".gates.i2h")
  if (!is.null(prev)) g <- g + fc(prev$h, p$gates.h2h.weight, p$gates.h2h.bias, num_hidden * 2, ".gates.h2h")
  s <- mx.symbol.split(g, num_outputs = 2, axis = 1, squeeze_axis = FALSE, name = paste0(name, ".split"))
  upd <- mx.symbol.Activation(s[[1]], act_type = "sigmoid")
  rst <- mx.symbol.Activation(s[[2]], act_type = "sigmoid")
  hr <- if (is.null(prev)) rst * 0 else prev$h * rst
  ht <- mx.symbol.Activation(fc(x, p$trans.i2h.weight, p$trans.i2h.bias, num_hidden, ".trans.i2h") +
                               fc(hr, p$trans.h2h.weight, p$trans.h2h.bias, num_hidden, ".trans.h2h"),
                             act_type = "tanh")
  list(h = if (is.null(prev)) upd * ht else prev$h + upd * (ht - prev$h))
}

rnn.cell.params <- function(cell_type, prefix, i) {
  nm <- if (cell_type == "lstm") c("i2h.weight", "i2h.bias", "h2h.weight", "h2h.bias") else
    c(outer(c("gates.", "trans."), c("i2h.weight", "i2h.bias", "h2h.weight", "h2h.bias"), paste0))
  p <- lapply(nm, function(n) mx.symbol.Variable(paste0(prefix, "l", i, ".", n)))
  names(p) <- nm
  p
}

#' @rdname rnn.graph
#' @param seq_len Number of steps to unroll.
#' @param init.state List (one per layer) of \code{list(h =, c =)} initial
#'   state symbols; \code{NULL}: variables \code{init_<prefix><layer>_h} (and
#'   \code{_c}) when \code{output_last_state}, else zero states.
#' @param data_name,label_name Names of the data and label variables.
#' @export
rnn.graph.unroll <- function(num_rnn_layer, seq_len, input_size = NULL, num_embed = NULL, num_hidden,
                             num_decode, dropout = 0, ignore_label = -1, loss_output = NULL,
                             init.state = NULL, config, cell_type = "lstm", masking = FALSE,
                             output_last_state = FALSE, prefix = "", data_name = "data",
                             label_name = "label") {
  rnn.check.count(num_rnn_layer, "num_rnn_layer")
  rnn.check.count(seq_len, "seq_len")
  rnn.check.count(num_hidden, "num_hidden")
  if (!is.character(cell_type) || !cell_type %in% c("lstm", "gru"))
    mx.error("value", "argument 'cell_type' must be \"lstm\" or \"gru\" for an unrolled graph")
  v <- mx.symbol.Variable
  if (is.null(init.state) && output_last_state)
    init.state <- lapply(seq_len(num_rnn_layer), function(i) {
      st <- list(h = v(paste0("init_", prefix, i, "_h")))
      if (cell_type == "lstm") st$c <- v(paste0("init_", prefix, i, "_c"))
      st
    })
  params <- lapply(seq_len(num_rnn_layer), function(i) rnn.cell.params(cell_type, prefix, i))
  cell <- if (cell_type == "lstm") rnn.lstm.cell else rnn.gru.cell
  data <- mx.symbol.swapaxes(data = v(data_name), dim1 = 0, dim2 = 1, name = paste0(prefix, "swap_pre"))
  if (!is.null(num_embed))
    data <- mx.symbol.Embedding(data = data, input_dim = input_size, weight = v(paste0(prefix, "embed.weight")),
                                output_dim = num_embed, name = paste0(prefix, "embed"))
  steps <- mx.symbol.split(data = data, axis = 0, num_outputs = seq_len, squeeze_axis = TRUE)
  states <- init.state
  hidden.all <- list()
  for (t in seq_len(seq_len)) {
    h <- if (seq_len == 1) steps else steps[[t]]
    for (i in seq_len(num_rnn_layer)) {
      if (dropout > 0 && i > 1) h <- mx.symbol.Dropout(data = h, p = dropout)
      st <- cell(num_hidden, h, if (length(states) >= i) states[[i]] else NULL, params[[i]],
                 paste0(prefix, "t", t, ".l", i))
      h <- st$h
      states[[i]] <- st
    }
    hidden.all[[t]] <- h
  }
  concat <- do.call(mx.symbol.concat, c(hidden.all, list(num_args = seq_len, dim = 0,
                                                         name = paste0(prefix, "concat"))))
  concat <- mx.symbol.reshape(data = concat, shape = c(num_hidden, -1, seq_len),
                              name = paste0(prefix, "rnn_reshape"))
  out <- rnn.head(concat, config, masking, v(paste0(prefix, "seq.mask")), v(label_name),
                  num_decode, loss_output, ignore_label, prefix)
  if (output_last_state) return(mx.symbol.Group(c(list(out), unlist(states, recursive = FALSE))))
  out
}

# ------------------------------------------------------------ bucket iterator

#' Iterator over buckets of sequences
#'
#' Each bucket holds sequences of one length: \code{buckets} is a list named
#' by the sequence length, each element \code{list(data =, label =)} with
#' \code{data} a \code{(seq_len, n)} matrix and \code{label} a vector of
#' \code{n} values or a \code{(seq_len, n)} matrix. An epoch visits every
#' batch of every bucket (in random order with \code{shuffle}); a bucket's
#' last batch is filled up with its first sequences (\code{num.pad()} says
#' how many). \code{value()} returns \code{data}, \code{label} and
#' \code{seq.mask} (the number of elements of each sequence that are not
#' \code{data.mask.element}) as NDArrays; \code{bucketID} is the current
#' batch number within its bucket, named by the bucket.
#'
#' @param buckets Named list of buckets (see above).
#' @param batch.size Sequences per batch.
#' @param data.mask.element The padding value in \code{data}.
#' @param shuffle Whether batches and sequences are visited in random order.
#' @param seed Seed of the shuffling (R's generator).
#' @return An iterator (environment of class \code{BucketIter}) with
#'   \code{reset()}, \code{iter.next()}, \code{value()}, \code{num.pad()}.
#' @examples
#' b <- list("3" = list(data = matrix(1:12, 3), label = c(0, 1, 0, 1)),
#'           "5" = list(data = matrix(1:10, 5), label = c(1, 0)))
#' it <- mx.io.bucket.iter(b, batch.size = 2)
#' it$reset()
#' while (it$iter.next()) print(dim(it$value()$data))
#' @export
mx.io.bucket.iter <- function(buckets, batch.size, data.mask.element = 0, shuffle = FALSE, seed = 123) {
  bucket.check(buckets)
  rnn.check.count(batch.size, "batch.size")
  it <- new.env()
  it$buckets <- buckets
  it$batch.size <- as.integer(batch.size)
  it$data.mask.element <- data.mask.element
  it$shuffle <- isTRUE(shuffle)
  it$seed <- seed
  it$bucketID <- NULL
  it$batch <- 0L
  it$reset <- function() bucket.reset(it)
  it$iter.next <- function() {
    it$batch <- it$batch + 1L
    it$bucketID <- it$bucket.plan[it$batch]
    it$batch <= length(it$bucket.plan)
  }
  it$value <- function() bucket.value(it)
  it$num.pad <- function() bucket.pad(it)
  class(it) <- "BucketIter"
  it$reset()
  it
}

bucket.check <- function(buckets) {
  if (!is.list(buckets) || !length(buckets) || is.null(names(buckets)) ||
      anyNA(suppressWarnings(as.integer(names(buckets)))))
    mx.error("value", "argument 'buckets' must be a list named by sequence length")
  for (b in buckets) {
    if (!is.list(b) || !is.matrix(b$data) || is.null(b$label))
      mx.error("value", "each bucket must be list(data = <(seq_len, n) matrix>, label = <labels>)")
    n <- ncol(b$data)
    nl <- if (is.null(dim(b$label))) length(b$label) else tail(dim(b$label), 1)
    if (n != nl) mx.error("value", sprintf("a bucket has %d sequences but %d labels", n, nl))
  }
}

bucket.cols <- function(b, idx) {
  lab <- if (is.null(dim(b$label))) b$label[idx] else b$label[, idx, drop = FALSE]
  list(data = b$data[, idx, drop = FALSE], label = lab)
}

bucket.reset <- function(it) {
  n <- vapply(it$buckets, function(b) ncol(b$data), 0)
  it$batch.per.bucket <- ceiling(n / it$batch.size)
  it$last.batch.pad <- (it$batch.size - n %% it$batch.size) %% it$batch.size
  plan.names <- rep(names(it$buckets), times = it$batch.per.bucket)
  if (it$shuffle) {
    set.seed(it$seed)
    plan.names <- sample(plan.names)
    it$buckets <- lapply(it$buckets, function(b) bucket.cols(b, sample(ncol(b$data))))
  }
  plan <- stats::ave(seq_along(plan.names), plan.names, FUN = seq_along)
  names(plan) <- plan.names
  it$bucket.plan <- plan
  it$batch <- 0L
  it$bucketID <- plan[1]
  invisible(it)
}

bucket.pad <- function(it) {
  b <- names(it$bucketID)
  if (it$bucketID == it$batch.per.bucket[[b]]) it$last.batch.pad[[b]] else 0
}

bucket.value <- function(it) {
  b <- names(it$bucketID)
  idx <- (it$bucketID - 1) * it$batch.size + seq_len(it$batch.size)
  pad <- bucket.pad(it)
  if (pad > 0) idx <- c(idx[seq_len(it$batch.size - pad)], seq_len(pad))
  v <- bucket.cols(it$buckets[[b]], idx)
  seq.mask <- as.integer(b) - colSums(v$data == it$data.mask.element)
  list(data = mx.nd.array(v$data), label = mx.nd.array(v$label), seq.mask = mx.nd.array(seq.mask))
}

# ------------------------------------------------------------ bucketed training

# The symbol of the iterator's current bucket.
bucket.symbol <- function(symbol, data) {
  if (!is.list(symbol) || is.mx.symbol(symbol)) return(symbol)
  s <- symbol[[names(data$bucketID)]]
  if (is.null(s)) mx.error("value", sprintf("no symbol for bucket '%s'", names(data$bucketID)))
  s
}

# An executor of sym for the batch's inputs; other arguments are zeros.
bucket.bind <- function(sym, ctx, batch, grad.names) {
  args <- arguments(sym)
  inputs <- intersect(names(batch), args)
  shapes <- lapply(batch[inputs], function(a) dim(a) %||% length(a))
  req <- stats::setNames(ifelse(args %in% grad.names, "write", "null"), args)
  do.call(mx.simple.bind, c(list(symbol = sym, ctx = ctx, grad.req = req), shapes))
}

# Copy values into an executor's arguments by name (those it has).
bucket.set <- function(exec, values) {
  values <- values[intersect(names(values), names(exec$ref.arg.arrays))]
  if (length(values)) mx.exec.update.arg.arrays(exec, values, match.name = TRUE)
}

#' Train a model over bucketed sequences
#'
#' Trains \code{symbol} (one symbol, or a list of symbols named by bucket)
#' on a bucket iterator (\code{\link{mx.io.bucket.iter}}): for each batch the
#' executor of its bucket (bound once per bucket, sharing the parameters) runs
#' forward and backward and the optimizer updates the parameters. Parameters
#' are initialised by \code{initializer} where their names say how (names
#' ending in \code{weight}, \code{bias}, ...); other arguments (initial
#' states) start at zero and are not trained.
#'
#' @param symbol An MXSymbol or a list of them named by bucket.
#' @param train.data,eval.data Bucket iterators (\code{eval.data} optional).
#' @param metric A metric (e.g. \code{mx.metric.accuracy}) or \code{NULL}.
#' @param arg.params,aux.params Named lists of initial values (override the
#'   initializer).
#' @param fixed.params Names of parameters that are not trained.
#' @param num.round Last epoch.
#' @param begin.round First epoch.
#' @param initializer Initializer (\code{\link{mx.init.uniform}} etc.).
#' @param optimizer An optimizer or its name (then created with
#'   \code{rescale.grad = 1 / batch size}).
#' @param ctx Device (a list: its first).
#' @param batch.end.callback,epoch.end.callback Callbacks
#'   \code{function(iteration, nbatch, env, verbose)} (e.g.
#'   \code{\link{mx.callback.log.train.metric}}; \code{env} holds
#'   \code{metric}, \code{train.metric}, \code{eval.metric} and, at epoch
#'   end, \code{model}); an epoch callback returning \code{FALSE} stops
#'   training.
#' @param kvstore Ignored (one device); kept for MXNet compatibility.
#' @param verbose Whether to print the metrics.
#' @param metric_cpu Ignored (metrics run on the CPU).
#' @return A model: \code{list(symbol, arg.params, aux.params)} of class
#'   \code{MXFeedForwardModel}.
#' @examples
#' set.seed(1)
#' mk <- function(len, n) { x <- matrix(sample(1:4, len * n, TRUE), len)
#'   list(data = x, label = as.numeric(x[len, ] > 2)) }
#' it <- mx.io.bucket.iter(list("4" = mk(4, 32), "6" = mk(6, 32)), batch.size = 16)
#' syms <- lapply(c("4" = 4, "6" = 6), function(s)
#'   rnn.graph(num_rnn_layer = 1, input_size = 5, num_embed = 4, num_hidden = 8, num_decode = 2,
#'             loss_output = "softmax", config = "seq-to-one", cell_type = "gru"))
#' m <- mx.model.buckets(syms, it, num.round = 2, ctx = mx.cpu(), verbose = FALSE,
#'                       optimizer = mx.opt.create("adam", learning.rate = 0.01))
#' names(m$arg.params)
#' @export
mx.model.buckets <- function(symbol, train.data, eval.data = NULL, metric = NULL, arg.params = NULL,
                             aux.params = NULL, fixed.params = NULL, num.round = 1, begin.round = 1,
                             initializer = mx.init.uniform(0.01), optimizer = "sgd", ctx = NULL,
                             batch.end.callback = NULL, epoch.end.callback = NULL, kvstore = "local",
                             verbose = TRUE, metric_cpu = TRUE) {
  if (!inherits(train.data, "BucketIter") && !is.environment(train.data))
    mx.error("value", "argument 'train.data' must be a bucket iterator (mx.io.bucket.iter)")
  ctx <- if (is.null(ctx)) mx.ctx.default() else if (is.mx.context(ctx)) ctx else ctx[[1]]
  train.data$reset()
  if (!train.data$iter.next()) mx.error("value", "train.data is empty")
  batch <- train.data$value()
  sym <- bucket.symbol(symbol, train.data)
  inputs <- intersect(names(batch), arguments(sym))
  shapes <- do.call(mx.symbol.infer.shape, c(list(sym), lapply(batch[inputs], dim)))
  if (is.null(shapes)) mx.error("value", "cannot infer the parameter shapes from the first batch")
  pshapes <- shapes$arg.shapes[setdiff(names(shapes$arg.shapes), inputs)]
  init <- mx.init.create(initializer, pshapes, ctx, skip.unknown = TRUE)
  init[names(arg.params)] <- arg.params
  params <- lapply(names(pshapes), function(n) init[[n]] %||% mx.nd.zeros(pshapes[[n]], ctx))
  names(params) <- names(pshapes)
  aux <- mx.init.create(initializer, shapes$aux.shapes, ctx, skip.unknown = TRUE)
  aux[names(aux.params)] <- aux.params
  train <- setdiff(intersect(names(init), names(params)), fixed.params)
  if (is.character(optimizer))
    optimizer <- mx.opt.create(optimizer, rescale.grad = 1 / tail(dim(batch$data), 1))
  updater <- mx.opt.get.updater(optimizer, params[train])
  execs <- list()
  exec.of <- function(it) {
    key <- names(it$bucketID) %||% "1"
    if (is.null(execs[[key]])) execs[[key]] <<- bucket.bind(bucket.symbol(symbol, it), ctx, it$value(), train)
    execs[[key]]
  }
  top <- environment()
  train.metric <- eval.metric <- NULL
  # one pass over an iterator; the metric state goes to train.metric or
  # eval.metric of this environment (what the callbacks read)
  run.epoch <- function(it, is.train) {
    state <- if (!is.null(metric)) metric$init()
    it$reset()
    nbatch <- 0
    while (it$iter.next()) {
      b <- it$value()
      ex <- exec.of(it)
      bucket.set(ex, c(b, params))
      if (length(aux)) mx.exec.update.aux.arrays(ex, aux, match.name = TRUE)
      mx.exec.forward(ex, is.train = is.train)
      if (is.train) {
        mx.exec.backward(ex)
        params[train] <<- updater(ex$ref.arg.arrays[train], ex$ref.grad.arrays[train])
        aux <<- ex$ref.aux.arrays
      }
      if (!is.null(metric)) state <- metric$update(b$label, ex$ref.outputs[[1]], state)
      if (is.train) train.metric <<- state else eval.metric <<- state
      nbatch <- nbatch + 1
      if (is.train && !is.null(batch.end.callback)) batch.end.callback(iteration, nbatch, top)
    }
    if (!is.null(metric)) metric$get(state)
  }
  for (iteration in begin.round:num.round) {
    eval.metric <- NULL
    res <- run.epoch(train.data, TRUE)
    if (verbose && !is.null(res)) message("[", iteration, "] Train-", res$name, "=", res$value)
    if (!is.null(eval.data)) {
      res <- run.epoch(eval.data, FALSE)
      if (verbose && !is.null(res)) message("[", iteration, "] Validation-", res$name, "=", res$value)
    }
    model <- bucket.model(symbol, params[train], aux)
    if (!is.null(epoch.end.callback) &&
        identical(epoch.end.callback(iteration, 0, top, verbose = verbose), FALSE)) break
  }
  model
}

bucket.model <- function(symbol, params, aux) {
  cpu <- function(l) lapply(l, function(a) mx.nd.copyto(a, mx.cpu()))
  structure(list(symbol = symbol, arg.params = cpu(params), aux.params = cpu(aux)),
            class = "MXFeedForwardModel")
}
