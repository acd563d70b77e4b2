# Inference for the RNN API (MXNet 1.9.1's names): over a bucket iterator
# (mx.infer.rnn, mx.infer.rnn.one) or one batch of an unrolled graph
# (mx.infer.rnn.one.unroll).

infer.ctx <- function(ctx) {
  if (is.null(ctx)) return(mx.ctx.default())
  if (is.mx.context(ctx)) return(ctx)
  if (is.list(ctx) && length(ctx) && is.mx.context(ctx[[1]])) return(ctx[[1]])
  mx.error("value", "argument 'ctx' must be a context or a list of contexts")
}

# Forward (inference) of symbol on one batch: inputs (named NDArrays),
# params (named NDArrays); every other argument zero. Returns the executor.
infer.forward <- function(symbol, ctx, inputs, params, aux.params) {
  args <- arguments(symbol)
  inputs <- inputs[intersect(names(inputs), args)]
  shapes <- lapply(inputs, function(a) dim(a) %||% length(a))
  ex <- do.call(mx.simple.bind, c(list(symbol = symbol, ctx = ctx, grad.req = "null"), shapes))
  bucket.set(ex, c(inputs, params[setdiff(names(params), names(inputs))]))
  if (length(aux.params)) mx.exec.update.aux.arrays(ex, aux.params, match.name = TRUE)
  mx.exec.forward(ex, is.train = FALSE)
  ex
}

#' Inference with recurrent models
#'
#' \code{mx.infer.rnn} predicts every batch of a bucket iterator with a model
#' from \code{\link{mx.model.buckets}} and returns the first output of all
#' batches, padding dropped, joined along the last dimension (an NDArray).
#' \code{mx.infer.rnn.one} runs \code{symbol} over the iterator's batches
#' and returns all outputs of the last batch (states included, for a graph
#' with \code{output_last_state}); \code{input.params} gives values to
#' arguments such as initial states. \code{mx.infer.rnn.one.unroll} runs an
#' unrolled graph (\code{\link{rnn.graph.unroll}}) on one batch of data
#' (\code{(seq_len, batch)} NDArray) from the given initial states
#' (\code{init_states}, a list in the order of the graph's \code{init_}
#' arguments; zeros by default).
#'
#' @param infer.data A bucket iterator (\code{\link{mx.io.bucket.iter}}), or
#'   for \code{mx.infer.rnn.one.unroll} an NDArray.
#' @param model A model (\code{symbol}, \code{arg.params}, \code{aux.params}).
#' @param symbol An MXSymbol.
#' @param arg.params,aux.params Named lists of NDArrays.
#' @param input.params Named list of NDArrays for other arguments.
#' @param num_hidden State size (the shape of the initial states).
#' @param init_states List of initial state NDArrays, or \code{NULL}.
#' @param ctx Device.
#' @return An NDArray, or a list of NDArrays.
#' @examples
#' net <- rnn.graph.unroll(num_rnn_layer = 1, seq_len = 3, input_size = 5, num_embed = 2,
#'                         num_hidden = 4, num_decode = 5, config = "one-to-one",
#'                         loss_output = "softmax", output_last_state = TRUE)
#' p <- mx.model.init.params(net, list(data = c(3, 2), label = c(3, 2),
#'                           init_1_h = c(4, 2), init_1_c = c(4, 2)), NULL,
#'                           mx.init.uniform(0.1), mx.cpu())$arg.params
#' out <- mx.infer.rnn.one.unroll(mx.nd.array(matrix(1:6, 3)), net, num_hidden = 4,
#'                                arg.params = p, aux.params = list(), ctx = mx.cpu())
#' dim(out[[1]])
#' @name mx.infer.rnn
#' @export
mx.infer.rnn <- function(infer.data, model, ctx = mx.cpu()) {
  ctx <- infer.ctx(ctx)
  infer.data$reset()
  cols <- NULL
  lead <- NULL
  while (infer.data$iter.next()) {
    ex <- infer.forward(bucket.symbol(model$symbol, infer.data), ctx, infer.data$value(),
                        model$arg.params, model$aux.params)
    o <- as.array(ex$ref.outputs[[1]])
    d <- dim(o) %||% length(o)
    lead <- d[-length(d)]
    m <- matrix(o, ncol = d[length(d)])
    cols <- cbind(cols, m[, seq_len(ncol(m) - infer.data$num.pad()), drop = FALSE])
  }
  infer.data$reset()
  mx.nd.array(if (length(lead)) array(cols, c(lead, ncol(cols))) else as.vector(cols))
}

#' @rdname mx.infer.rnn
#' @export
mx.infer.rnn.one <- function(infer.data, symbol, arg.params, aux.params, input.params = NULL,
                             ctx = mx.cpu()) {
  ctx <- infer.ctx(ctx)
  infer.data$reset()
  out <- NULL
  while (infer.data$iter.next()) {
    ex <- infer.forward(bucket.symbol(symbol, infer.data), ctx, infer.data$value(),
                        c(input.params, arg.params), aux.params)
    out <- lapply(ex$ref.outputs, function(o) mx.nd.copyto(o, mx.cpu()))
  }
  infer.data$reset()
  out
}

#' @rdname mx.infer.rnn
#' @export
mx.infer.rnn.one.unroll <- function(infer.data, symbol, num_hidden, arg.params, aux.params,
                                    init_states = NULL, ctx = mx.cpu()) {
  ctx <- infer.ctx(ctx)
  if (!is.mx.ndarray(infer.data)) mx.error("value", "argument 'infer.data' must be an NDArray")
  args <- arguments(symbol)
  st.names <- args[startsWith(args, "init_")]
  batch <- tail(dim(infer.data), 1)
  if (is.null(init_states))
    init_states <- lapply(st.names, function(n) mx.nd.zeros(c(num_hidden, batch), ctx))
  if (length(init_states) != length(st.names))
    mx.error("value", sprintf("the graph has %d initial states, init_states gives %d",
                              length(st.names), length(init_states)))
  names(init_states) <- st.names
  inputs <- c(list(data = infer.data, label = infer.data), init_states)
  ex <- infer.forward(symbol, ctx, inputs, arg.params, aux.params)
  lapply(ex$ref.outputs, function(o) mx.nd.copyto(o, mx.cpu()))
}
