# Feed-forward models: training (mx.model.FeedForward.create), prediction,
# checkpoints (MXNet's -symbol.json + -NNNN.params), serialisation.

#' Initialise the parameters of a symbol
#'
#' @param symbol An MXSymbol.
#' @param input.shape,output.shape Named lists of input and output (label)
#'   shapes in R order.
#' @param initializer An initializer (e.g. \code{mx.init.uniform(0.01)}).
#' @param ctx Device.
#' @return \code{list(arg.params, aux.params)}: named lists of MXNDArrays
#'   (inputs and labels excluded).
#' @examples
#' net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 3, name = "fc")
#' p <- mx.model.init.params(net, list(data = c(4, 8)), NULL, mx.init.uniform(0.1), mx.cpu())
#' names(p$arg.params)
#' @export
mx.model.init.params <- function(symbol, input.shape, output.shape, initializer, ctx = NULL) {
  if (is.null(ctx)) ctx <- mx.ctx.default()
  shapes <- c(input.shape, output.shape)
  sh <- do.call(mx.symbol.infer.shape, c(list(symbol), shapes))
  if (is.null(sh)) stop("cannot infer the parameter shapes from the input shapes", call. = FALSE)
  arg.shapes <- sh$arg.shapes[!names(sh$arg.shapes) %in% names(shapes)]
  list(arg.params = mx.init.create(initializer, arg.shapes, ctx, skip.unknown = TRUE),
       aux.params = mx.init.create(initializer, sh$aux.shapes, ctx, skip.unknown = TRUE))
}

# --------------------------------------------------------------- data input

# Turn X (array/matrix/iterator) and y into an iterator; decides the layout.
model.iter <- function(X, y, batch.size, shuffle, array.layout = "auto", what = "X", kv = NULL,
                       verbose = FALSE) {
  if (is.mx.dataiter(X)) return(X)
  if (is.list(X) && !is.data.frame(X) && !inherits(X, "MXNDArraySparse") && !is.null(X$data)) {
    y <- X$label
    X <- X$data
  }
  # sparse data: in a distributed run, kv.shard.iter takes this worker's part
  if (sparse.is.data(X))
    return(sparse.model.iter(X, if (is.factor(y)) as.integer(y) - 1L else y, batch.size, array.layout, what, shuffle))
  if (is.data.frame(X)) X <- df.encode(df.encoding(X), X)
  if (!is.numeric(X) && !is.logical(X))
    stop(sprintf("argument '%s' must be a numeric array or matrix, or a data iterator", what), call. = FALSE)
  if (anyNA(X)) stop(sprintf("argument '%s' contains NA", what), call. = FALSE)
  if (any(is.infinite(X))) stop(sprintf("argument '%s' contains Inf or -Inf", what), call. = FALSE)
  X <- model.layout(X, y, array.layout, what, verbose)
  if (is.null(y)) y <- rep(0, tail(dim(X) %||% length(X), 1))
  if (is.factor(y)) y <- as.integer(y) - 1L
  if (anyNA(y)) stop("the labels contain NA", call. = FALSE)
  if (is.numeric(y) && any(is.infinite(y))) stop("the labels contain Inf or -Inf", call. = FALSE)
  n <- tail(dim(X) %||% length(X), 1)
  ny <- tail(dim(y) %||% length(y), 1)
  if (n != ny)
    stop(sprintf("'%s' has %d examples (its last dimension) but the labels have %d%s", what, n, ny,
                 if (is.matrix(X) && nrow(X) == ny) "; for row-major data use array.layout = \"rowmajor\"" else ""),
         call. = FALSE)
  p <- if (is.null(kv)) 1L else kv$num.workers
  mx.io.arrayiter(X, y, batch.size = batch.size, shuffle = shuffle, num.parts = p,
                  part.index = if (p > 1L) kv$rank else 0L)
}

model.layout <- function(X, y, layout, what, verbose = FALSE) {
  d <- dim(X)
  if (length(d) != 2L) return(X)
  layout <- match.arg(layout, c("auto", "colmajor", "rowmajor"))
  if (layout == "auto") {
    if (is.null(y)) stop("array.layout = \"auto\" needs labels; say \"colmajor\" or \"rowmajor\"", call. = FALSE)
    n <- length(y)
    if (d[1] == n && d[2] == n)
      stop(sprintf("cannot tell the layout of the square matrix '%s'; set array.layout", what), call. = FALSE)
    layout <- if (d[1] == n) "rowmajor" else "colmajor"
    if (verbose)
      message(sprintf("array.layout = \"auto\": '%s' is %d x %d with %d labels, so it is read as \"%s\" (examples as %s)",
                      what, d[1], d[2], n, layout, if (layout == "rowmajor") "rows" else "columns"))
  }
  if (layout == "rowmajor") t(X) else X
}

# validation.split: the last fraction of the examples (after the layout is
# settled) becomes eval.data, as keras holds it out (before any shuffling).
model.split <- function(tab, fraction, layout, verbose) {
  if (!is.numeric(fraction) || length(fraction) != 1L || !is.finite(fraction) || fraction < 0 || fraction >= 1)
    mx.error("value", "argument 'validation.split' must be a number in [0, 1)")
  if (fraction == 0) return(list(tab = tab, layout = layout))
  if (is.mx.dataiter(tab$X) || (is.list(tab$X) && !is.numeric(tab$X)) || sparse.is.data(tab$X))
    mx.error("value", "validation.split needs array or data frame data, not an iterator or list")
  if (!is.null(tab$eval.data)) mx.error("value", "give either eval.data or validation.split, not both")
  X <- model.layout(tab$X, tab$y, layout, "X", verbose)
  n <- model.last(dim(X) %||% length(X))
  k <- floor(n * fraction)
  if (k < 1L || k >= n)
    mx.error("value", sprintf("validation.split = %g of %d examples leaves no validation or no training data", fraction, n))
  cut <- function(a, i) {
    d <- dim(a)
    if (is.null(d)) return(a[i])
    idx <- c(rep(list(TRUE), length(d) - 1L), list(i))
    do.call(`[`, c(list(a), idx, list(drop = FALSE)))
  }
  train <- seq_len(n - k)
  held <- seq.int(n - k + 1L, n)
  tab$eval.data <- list(data = cut(X, held), label = cut(tab$y, held))
  tab$X <- cut(X, train)
  tab$y <- cut(tab$y, train)
  list(tab = tab, layout = "colmajor")
}

# ------------------------------------------------------------------ training

#' Train a feed-forward network
#'
#' MXNet's R training function: binds one executor per context (a list of
#' contexts splits each batch), initialises the parameters, and runs
#' \code{num.round} epochs of forward, backward and optimizer updates, with
#' the metric, callbacks and evaluation MXNet's R package has.
#'
#' @param symbol The network (an MXSymbol ending in a loss such as
#'   \code{SoftmaxOutput}).
#' @param X Training data: an array with the examples along the last
#'   dimension (a matrix: see \code{array.layout}), a data frame (always one
#'   row per observation; numeric and logical columns as they are, factor and
#'   character columns one-hot encoded, the encoding kept in
#'   \code{model$encoding} for \code{predict}), a sparse matrix (a
#'   \code{Matrix} sparse matrix or a CSR \code{MXNDArraySparse}, examples as
#'   R columns; a \code{Matrix} with examples as rows is read by
#'   \code{array.layout} as a dense matrix is; shuffled as array data are),
#'   or a data iterator. With CSR data on CPU devices (one or several, also
#'   in distributed training), a \code{FullyConnected} that reads the data
#'   input (and nothing else does) runs as a sparse dot product outside the
#'   executor, and its weight is updated lazily on the features each
#'   (global) batch holds (\code{"sgd"},
#'   \code{"adam"}, \code{"adagrad"}); other networks get each batch as a
#'   dense array.
#' @param y Labels (0-based classes, or a factor, whose levels the model
#'   keeps in \code{model$label.levels}) when \code{X} is not an iterator.
#' @param ctx A context or a list of contexts.
#' @param begin.round First epoch number.
#' @param num.round Last epoch number (as in MXNet, not a count: epochs
#'   \code{begin.round}, ..., \code{num.round} run; none when
#'   \code{num.round < begin.round}, e.g. \code{num.round = 0}, and the
#'   initial parameters are returned).
#' @param optimizer An optimizer name (\code{"sgd"}, ...) or object; the
#'   arguments in \code{...} (\code{learning.rate}, \code{momentum},
#'   \code{wd}, ...) go to \code{\link{mx.opt.create}}. The weight of an
#'   \code{Embedding} with \code{sparse_grad = TRUE} (indices from the data)
#'   is updated lazily on a CPU: \code{"sgd"}, \code{"adam"} and
#'   \code{"adagrad"} touch only the rows the batch uses, as MXNet's
#'   \code{lazy_update}. On CPU devices such an Embedding runs outside
#'   the executor, so its gradient is formed for those rows only (no
#'   vocabulary-sized gradient array; see \code{\link{mxnet.options}},
#'   \code{mxnet.embedding.split}).
#' @param initializer Parameter initializer.
#' @param eval.data Validation data: \code{list(data =, label =)} (data as
#'   \code{X}, a data frame encoded as \code{X}) or an iterator.
#' @param eval.metric A metric such as \code{mx.metric.accuracy}.
#' @param epoch.end.callback,batch.end.callback Callbacks
#'   \code{function(iteration, nbatch, env, verbose)}.
#' @param array.batch.size Batch size for array input.
#' @param array.layout \code{"auto"}, \code{"colmajor"} (examples are
#'   columns) or \code{"rowmajor"} (examples are rows) for matrix input.
#' @param kvstore How gradients are combined: a type for
#'   \code{\link{mx.kv.create}} or an \code{MXKVStore}. \code{"local"} (the
#'   default) sums over the devices of \code{ctx}; \code{"dist_sync"} also
#'   sums over the worker processes of an MPI job (started by
#'   \code{\link{mx.launch}}, \code{mpirun} or \code{srun}): each worker
#'   trains on its part of the data (array and sparse data, and
#'   \code{mx.io.arrayiter}, \code{mx.io.MNISTIter} and \code{mx.io.CSVIter} made with
#'   \code{num.parts = 1}, are split by rank; give other iterators
#'   \code{num.parts} and \code{part.index}), with
#'   \code{array.batch.size} examples per worker per step and the gradient
#'   scaled by 1 / (batch size x workers), as MXNet did. Rank 0's
#'   initial parameters win, metrics and BatchNorm statistics are averaged
#'   over workers, only rank 0 logs and writes checkpoints, and an early stop
#'   on rank 0 stops every worker. An error on any worker ends the whole job.
#' @param verbose Print progress.
#' @param arg.params,aux.params Initial parameters (e.g. to resume).
#' @param input.names,output.names Names of the data and label inputs.
#' @param fixed.param Parameters that are not trained.
#' @param allow.extra.params Ignore names in \code{arg.params} the symbol
#'   does not have.
#' @param validation.split A fraction in [0, 1): hold out the last
#'   \code{validation.split} of the examples of array or data frame data (in
#'   their given order) as \code{eval.data}, as keras does.
#' @param ... Optimizer arguments.
#' @section Interrupting:
#' A Ctrl-C (or the engine's \code{mxnet_interrupted_error}) during training
#' ends it with a warning naming the epoch and batch, and returns the model
#' as trained so far (its history holds the finished epochs). A checkpoint
#' being written by \code{\link{mx.callback.save.checkpoint}} is finished
#' first.
#' @section Progress:
#' With \code{verbose = TRUE}, interactive sessions show a progress bar per
#' epoch (batches, samples per second, time left, running training metric)
#' when the 'progress' package is installed
#' (\code{options(mxnet.progress = FALSE)} turns it off); every session gets
#' the log lines per epoch.
#' @section Non-finite parameters:
#' Hyper-parameters and array data must be finite (errors name the
#' argument). After each epoch the parameters are checked: if training made
#' any of them NaN or Inf (diverging), a warning names them, once per call.
#' \code{options(mxnet.nan.action = "stop")} makes this an error (training
#' stops at that epoch), \code{"none"} skips the check; the default is
#' \code{"warn"}.
#' @return A model: \code{list(symbol, arg.params, aux.params, history)} of
#'   class \code{MXFeedForwardModel}; \code{history} holds the metrics,
#'   learning rate and time per epoch (see \code{\link{mx.history}}).
#' @examples
#' set.seed(1)
#' x <- matrix(rnorm(400), 2)             # 2 features x 200 examples
#' y <- as.numeric(x[1, ] + x[2, ] > 0)
#' net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"),
#'                                num_hidden = 2), name = "softmax")
#' m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 3,
#'                                  array.batch.size = 20, learning.rate = 0.1,
#'                                  eval.metric = mx.metric.accuracy, verbose = FALSE)
#' mean(max.col(t(predict(m, x))) - 1 == y)
#' @export
mx.model.FeedForward.create <- function(symbol, X, y = NULL, ctx = NULL, begin.round = 1,
                                        num.round = 10, optimizer = "sgd",
                                        initializer = mx.init.uniform(0.01),
                                        eval.data = NULL, eval.metric = NULL,
                                        epoch.end.callback = NULL, batch.end.callback = NULL,
                                        array.batch.size = 128, array.layout = "auto",
                                        kvstore = "local", verbose = TRUE,
                                        arg.params = NULL, aux.params = NULL,
                                        input.names = NULL, output.names = NULL,
                                        fixed.param = NULL, allow.extra.params = FALSE,
                                        validation.split = 0, ...) {
  if (!is.mx.symbol(symbol)) stop("argument 'symbol' must be an MXSymbol", call. = FALSE)
  begin.round <- model.check.whole(begin.round, "begin.round")
  num.round <- model.check.whole(num.round, "num.round")
  if (!is.null(eval.metric) && !(inherits(eval.metric, "mx.metric") ||
                                 (is.list(eval.metric) && is.function(eval.metric$update))))
    stop(sprintf("argument 'eval.metric' must be a metric such as mx.metric.accuracy, not %s",
                 if (is.character(eval.metric)) sprintf("the string \"%s\"", eval.metric[1L]) else class(eval.metric)[1L]),
         call. = FALSE)
  if (is.null(ctx)) ctx <- mx.ctx.default()
  if (is.mx.context(ctx)) ctx <- list(ctx)
  if (!is.list(ctx) || !length(ctx) || !all(vapply(ctx, is.mx.context, TRUE)))
    stop("argument 'ctx' must be a context or a list of contexts", call. = FALSE)
  kv <- model.kvstore(kvstore, verbose)
  if (kv$num.workers > 1L) kv.sync.rng(kv)
  tab <- model.tabular(X, y, eval.data)
  talk <- verbose && kv$rank == 0L
  sp <- model.split(tab, validation.split, if (is.data.frame(X)) "colmajor" else array.layout, talk)
  tab <- sp$tab
  if (validation.split > 0) eval.data <- tab$eval.data
  train.iter <- model.iter(tab$X, tab$y, array.batch.size, shuffle = TRUE, sp$layout, "X", kv, talk)
  if (kv$num.workers > 1L) train.iter <- kv.shard.iter(kv, train.iter, verbose)
  eval.iter <- if (is.null(eval.data)) NULL else
    model.iter(tab$eval.data, NULL, array.batch.size, shuffle = FALSE,
               if (validation.split > 0 || (is.list(eval.data) && is.data.frame(eval.data$data))) "colmajor"
               else array.layout, "eval.data", verbose = talk)
  if (kv$num.workers > 1L && !is.null(eval.iter)) eval.iter <- kv.shard.eval(kv, eval.iter, eval.metric)
  arg.names <- arguments(symbol)
  if (is.null(input.names)) input.names <- if ("data" %in% arg.names) "data" else arg.names[1L]
  if (is.null(output.names)) output.names <- grep("label$", arg.names, value = TRUE)
  train.iter$reset()
  if (!train.iter$iter.next()) stop("the training data has no batch", call. = FALSE)
  b0 <- train.iter$value()
  feeds <- model.feeds(b0, input.names, output.names)
  feeds$csr <- model.csr.fields(feeds, b0)
  input.shapes <- lapply(feeds$fields, function(f) dim(b0[[f]]))
  batch.size <- model.last(input.shapes[[1L]])
  # parameters; those made here are released once the executors hold copies
  owned <- list()
  if (is.null(arg.params) || is.null(aux.params)) {
    ins <- names(feeds$fields) %in% input.names
    p <- mx.model.init.params(symbol, input.shapes[ins], input.shapes[!ins], initializer, mx.cpu())
    owned <- c(p$arg.params, p$aux.params)
    if (is.null(arg.params)) arg.params <- p$arg.params
    if (is.null(aux.params)) aux.params <- p$aux.params
    rm(p)
  }
  param.names <- setdiff(arg.names, c(input.names, output.names))
  unknown.fixed <- setdiff(fixed.param, param.names)
  if (length(unknown.fixed))
    warning(sprintf("fixed.param names %s, not a parameter of the symbol (parameters: %s)",
                    paste(unknown.fixed, collapse = ", "), paste(param.names, collapse = ", ")), call. = FALSE)
  extra <- setdiff(names(arg.params), param.names)
  if (length(extra) && !allow.extra.params)
    stop(sprintf("arg.params has names the symbol does not have: %s (allow.extra.params = TRUE ignores them)",
                 paste(extra, collapse = ", ")), call. = FALSE)
  missing.p <- setdiff(param.names, names(arg.params))
  if (length(missing.p)) stop(sprintf("arg.params lacks %s", paste(missing.p, collapse = ", ")), call. = FALSE)
  # MXNet's rule: the per-worker batch times the workers is the batch
  if (is.character(optimizer))
    optimizer <- mx.opt.create(optimizer, rescale.grad = 1 / (batch.size * kv$num.workers), ...)
  arg.params <- arg.params[param.names]
  if (kv$num.workers > 1L) {
    # every worker starts from rank 0's parameters, whatever its seed
    arg.params <- kv.broadcast.params(kv, arg.params)
    aux.params <- kv.broadcast.params(kv, aux.params)
    owned <- c(owned, arg.params, aux.params)
  }
  model <- model.train(symbol, ctx, input.shapes, arg.params, aux.params, begin.round, num.round,
                       optimizer, train.iter, eval.iter, eval.metric, epoch.end.callback,
                       batch.end.callback, kv, verbose && kv$rank == 0L, feeds, fixed.param, owned)
  # the input shapes of one example (batch 1), for summary()
  model$input.shape <- lapply(input.shapes[names(feeds$fields) %in% input.names],
                              function(s) { s[length(s)] <- 1L; s })
  model$encoding <- tab$encoding
  model$label.levels <- tab$levels
  model
}

# The next training batch; in a distributed run only while every worker has
# one (a worker with more batches than the others skips its extra ones, which
# would otherwise leave the others waiting in a mismatched collective).
model.next.batch <- function(iter, kv, dist) {
  has <- iter$iter.next()
  if (!dist) return(has)
  .Call(C_mx_r_kv_allreduce_num, kv$handle, as.double(has)) == kv$num.workers
}

model.check.whole <- function(x, name) {
  if (!is.numeric(x) || length(x) != 1L || !is.finite(x) || x != round(x))
    stop(sprintf("argument '%s' must be a whole number, not %s", name,
                 paste(deparse(x), collapse = "")), call. = FALSE)
  as.integer(x)
}

# After each epoch: are the parameters still finite? Otherwise warn (once),
# or stop with options(mxnet.nan.action = "stop"); "none" skips the check.
model.check.finite <- function(weights, iteration) {
  action <- getOption("mxnet.nan.action", "warn")
  if (!is.character(action) || length(action) != 1L || !action %in% c("warn", "stop", "none"))
    stop("option 'mxnet.nan.action' must be \"warn\", \"stop\" or \"none\"", call. = FALSE)
  if (action == "none") return(FALSE)
  bad <- names(weights)[!vapply(weights, function(w) is.finite(sum(w)), TRUE)]
  if (!length(bad)) return(FALSE)
  msg <- sprintf(paste0("training made parameters non-finite (NaN or Inf) in epoch %d: %s; lower the ",
                        "learning rate, clip gradients or check the data"),
                 iteration, paste(bad, collapse = ", "))
  if (action == "stop") stop(msg, call. = FALSE)
  warning(msg, call. = FALSE)
  TRUE
}

# Which batch field feeds each input and label of the symbol: the field with
# the argument's name (multi-input iterators yield list(user =, item =,
# label =)), else `data` for the first input and `label` for the first
# output, as MXNet's iterators name them. A label the batches lack is not fed.
model.feeds <- function(batch, input.names, output.names) {
  fields <- names(batch)
  pick <- function(name, fallback) if (name %in% fields) name else fallback
  f <- vapply(input.names, function(n) pick(n, if (n == input.names[1L]) "data" else n), "")
  absent <- f[!f %in% fields]
  if (length(absent))
    stop(sprintf("the iterator's batches have no field '%s' for the input '%s' (fields: %s)",
                 absent[1L], names(absent)[1L], paste(fields, collapse = ", ")), call. = FALSE)
  o <- vapply(output.names, function(n) pick(n, if (n == output.names[1L]) "label" else n), "")
  o <- o[o %in% fields]
  list(fields = c(f, o), label = if (length(o)) o[[1L]] else "label")
}

# The training loop: per batch it copies the data in, runs forward and
# backward in C, sums gradients over devices, applies the fused update op
# per parameter and updates the metric; R only calls the callbacks.
model.train <- function(symbol, ctx, input.shapes, arg.params, aux.params, begin.round, end.round,
                        optimizer, train.iter, eval.iter, metric, epoch.end.callback,
                        batch.end.callback, kv, verbose, feeds, fixed.param, owned = list()) {
  if (kv$num.workers > 1L) {
    mx.kv.state$rank <- kv$rank
    on.exit(mx.kv.state$rank <- 0L, add = TRUE)
    return(kv.guard(kv, model.train.loop(symbol, ctx, input.shapes, arg.params, aux.params, begin.round,
                                         end.round, optimizer, train.iter, eval.iter, metric,
                                         epoch.end.callback, batch.end.callback, kv, verbose, feeds,
                                         fixed.param, owned)))
  }
  model.train.loop(symbol, ctx, input.shapes, arg.params, aux.params, begin.round, end.round,
                   optimizer, train.iter, eval.iter, metric, epoch.end.callback,
                   batch.end.callback, kv, verbose, feeds, fixed.param, owned)
}

model.train.loop <- function(symbol, ctx, input.shapes, arg.params, aux.params, begin.round, end.round,
                             optimizer, train.iter, eval.iter, metric, epoch.end.callback,
                             batch.end.callback, kv, verbose, feeds, fixed.param, owned = list()) {
  ndev <- length(ctx)
  dist <- kv$num.workers > 1L
  batch.size <- tail(input.shapes[[1L]], 1)
  if (batch.size < ndev)
    stop(sprintf("the batch size %d is smaller than the %d devices in 'ctx'", batch.size, ndev), call. = FALSE)
  slices <- split.batch(batch.size, ndev)
  param.names <- names(arg.params)
  grad.req <- ifelse(param.names %in% fixed.param, "null", "write")
  names(grad.req) <- param.names
  # sparse_grad Embeddings, CSR data: the executors may run a split graph (model-sparse.R)
  bind <- model.graph.split(symbol, grad.req, feeds, input.shapes, ctx)
  execs <- lapply(seq_len(ndev), function(i) {
    shp <- lapply(bind$shapes, function(s) { s[length(s)] <- slices[[i]]$n; s })
    # the gradients live in the plan: read after backward, before the next forward
    ex <- exec.simple.bind(bind$symbol, ctx[[i]], bind$grad.req, NULL, shp, planned.grads = TRUE)
    mx.exec.update.arg.arrays(ex, arg.params, match.name = TRUE)
    mx.exec.update.aux.arrays(ex, aux.params, match.name = TRUE)
    ex
  })
  held <- model.split.weights(bind$splits, arg.params, owned, execs[[1L]])
  feeds$splits <- bind$splits
  feeds$held <- held
  .Call(C_mx_r_nd_release, Filter(function(a) !any(vapply(held, identical, TRUE, a)), owned))
  if (verbose) message(sprintf("Start training with %d device%s%s", ndev, if (ndev > 1) "s" else "",
                               if (dist) sprintf(" on each of %d workers", kv$num.workers) else ""))
  # the first executor holds the master copy of the weights
  weights <- c(execs[[1L]]$ref.arg.arrays, held)[param.names]
  grads <- lapply(param.names, function(n) execs[[1L]]$ref.grad.arrays[[n]])
  live <- param.names[!vapply(grads, is.null, TRUE)]
  grads.live <- execs[[1L]]$ref.grad.arrays[live]
  dev.grads <- lapply(execs, function(ex) ex$ref.grad.arrays[live])
  # options(mxnet.dist.overlap = TRUE), one device per worker: gradients are
  # allreduced by a communication thread while backward runs (off by default:
  # MPI busy-waits, which slows a worker that has no spare core; docs/kvstore.md)
  overlap <- if (dist && ndev == 1L && isTRUE(getOption("mxnet.dist.overlap", FALSE)))
    .Call(C_mx_r_kv_overlap_new, kv$handle, execs[[1L]]$ptr, unname(grads.live))
  if (!is.null(overlap)) on.exit(.Call(C_mx_r_kv_overlap_free, overlap), add = TRUE)
  updater <- mx.opt.get.updater(optimizer, weights)
  sparse <- if (!dist) model.sparse.inputs(bind$symbol, live, feeds)
  env <- new.env()
  lazy <- model.lazy(env, function() model.extract(symbol, execs, param.names,
                                                   held = model.split.params(bind$splits, held)))
  eval.cache <- model.eval.cache(execs, slices, bind$symbol, ctx, bind$shapes)
  nan.seen <- FALSE
  env$history <- history.empty(metric)
  show.bar <- progress.wanted(verbose)
  bar <- NULL
  epoch.batches <- NA_integer_
  nbatch <- 0L
  iteration <- begin.round
  # a Ctrl-C (R's, or the engine's mxnet_interrupted_error) ends training with
  # the model as trained so far (not in a distributed run: there it ends the
  # job); the loop runs in this frame, so its variables are seen below
  epochs <- quote({
    for (iteration in if (end.round >= begin.round) seq(begin.round, end.round) else integer(0)) {
      t0 <- proc.time()[["elapsed"]]
      nbatch <- 0L
      env$train.metric <- if (!is.null(metric)) metric$init() else NULL
      train.iter$reset()
      bar <- if (show.bar) progress.start(iteration, epoch.batches, batch.size * kv$num.workers)
      while (model.next.batch(train.iter, kv, dist)) {
        batch <- train.iter$value()
        for (i in seq_len(ndev)) {
          ex <- execs[[i]]
          model.load.batch(ex, batch, slices[[i]], ndev, feeds)
          mx.exec.forward(ex, is.train = TRUE)
          mx.exec.backward(ex)
        }
        if (ndev > 1) .Call(C_mx_r_kv_reduce_lists, grads.live, dev.grads, kv$handle)
        if (!is.null(overlap)) .Call(C_mx_r_kv_overlap_wait, overlap)
        else if (dist) .Call(C_mx_r_kv_allreduce, kv$handle, grads.live)
        g <- if (length(sparse)) model.sparse.grads(sparse, grads, param.names, batch, feeds) else grads
        g <- model.split.grads(bind$splits, execs, g, param.names, batch, feeds)
        if (dist && length(bind$splits)) g <- model.split.allreduce(kv, bind$splits, g, param.names)
        updater(weights, g)
        if (ndev > 1) model.broadcast.weights(execs, param.names)
        if (!is.null(metric))
          for (i in seq_len(ndev))
            env$train.metric <- metric$update(model.batch.label(batch, slices[[i]], ndev, feeds),
                                              execs[[i]]$ref.outputs[[1L]], env$train.metric)
        nbatch <- nbatch + 1L
        env$metric <- metric
        if (!is.null(batch.end.callback)) batch.end.callback(iteration, nbatch, env, verbose = verbose)
        if (!is.null(bar)) bar$tick(nbatch, if (!is.null(metric)) metric$get(env$train.metric))
      }
      if (!is.null(bar)) bar <- bar$done()
      epoch.batches <- nbatch
      if (dist) env$train.metric <- kv.sum.state(kv, env$train.metric)
      if (!is.null(metric) && verbose) {
        r <- metric$get(env$train.metric)
        message(sprintf("[%d] Train-%s=%s", iteration, r$name, format(r$value, digits = 6)))
      }
      if (!is.null(eval.iter)) {
        env$eval.metric <- model.evaluate(eval.cache, eval.iter, metric, feeds)
        if (isTRUE(eval.iter$sharded)) env$eval.metric <- kv.sum.state(kv, env$eval.metric)
        if (!is.null(metric) && verbose) {
          r <- metric$get(env$eval.metric)
          message(sprintf("[%d] Validation-%s=%s", iteration, r$name, format(r$value, digits = 6)))
        }
      }
      secs <- proc.time()[["elapsed"]] - t0
      if (verbose) message(sprintf("[%d] Time cost=%.3f s", iteration, secs))
      env$history <- history.add(env$history, iteration, metric, env, optimizer, secs)
      if (!nan.seen) nan.seen <- model.check.finite(weights, iteration)
      if (dist) kv.average.aux(kv, execs)
      lazy$epoch.end()
      if (!is.null(epoch.end.callback)) {
        cont <- epoch.end.callback(iteration, 0L, env, verbose = verbose)
        # rank 0 decides, so that every worker leaves at the same epoch
        if (dist) cont <- kv.decide(kv, !isFALSE(cont))
        if (isFALSE(cont)) break
      }
      lazy$resume(!is.null(batch.end.callback) && iteration < end.round)
    }
    NULL
  })
  stopped <- if (dist) eval(epochs) else tryCatch(eval(epochs), interrupt = function(e) e)
  if (!is.null(stopped)) {
    if (!is.null(bar)) bar$done()
    warning(sprintf("training interrupted in epoch %d after batch %d: returning the model as trained so far",
                    iteration, nbatch), call. = FALSE)
  }
  # an early-stopping callback may ask for the weights of its best epoch
  # the executors go with this call: a model on the CPU takes their arrays
  # rather than copies of them
  model <- env$restore.model %||% (if (is.null(stopped)) lazy$value()) %||%
    model.extract(symbol, execs, param.names, copy = !(length(execs) == 1L && ctx[[1L]]$device == "cpu"),
                  held = model.split.params(bind$splits, held))
  model$history <- env$history
  model
}

# An executor for another batch size that shares a trained executor's
# parameter and auxiliary arrays (no copies).
model.share.exec <- function(ex, symbol, ctx, input.shapes, n) {
  shp <- lapply(input.shapes, function(s) { s[length(s)] <- n; s })
  args <- ex$ref.arg.arrays
  for (nm in names(shp)) args[[nm]] <- mx.nd.zeros(shp[[nm]], ctx)
  reqs <- rep("null", length(args))
  names(reqs) <- names(args)
  exec.bind(symbol, ctx, args, reqs, ex$ref.aux.arrays)
}

# Equal contiguous slices of a batch (ceil(B / n) each, the last smaller).
split.batch <- function(batch.size, n) {
  step <- ceiling(batch.size / n)
  lapply(seq_len(n), function(i) {
    b <- (i - 1) * step
    e <- min(batch.size, i * step)
    list(begin = b, end = e, n = e - b)
  })
}

model.slice <- function(a, sl, ndev) {
  if (ndev == 1L) return(a)
  d <- dim(a)
  idx <- rep(list(NULL), length(d))
  idx[[length(d)]] <- seq.int(sl$begin + 1L, sl$end)
  .Call(C_mx_r_nd_index_get, a, idx)
}

# Embedding weights with sparse_grad = TRUE whose indices are a network
# input fed from the batch, on the CPU: weight name -> input name.  Their
# gradient reaches the optimizer as a row_sparse array of the rows the batch
# used, so sgd, adam and adagrad update those rows alone (MXNet's lazy
# update).  Not in distributed training, where other workers' rows count too.
model.sparse.inputs <- function(symbol, live, feeds) {
  nodes <- .Call(C_mx_r_json_parse, charToRaw(as.json(symbol)))$nodes
  out <- character(0)
  for (nd in nodes) {
    flag <- tolower(nd$attrs$sparse_grad %||% "false")
    if (!identical(nd$op, "Embedding") || !flag %in% c("true", "1") || length(nd$inputs) < 2L) next
    src <- nodes[[nd$inputs[[1L]][[1L]] + 1L]]
    w <- nodes[[nd$inputs[[2L]][[1L]] + 1L]]
    if (identical(src$op, "null") && src$name %in% names(feeds$fields) && w$name %in% live)
      out[[w$name]] <- src$name
  }
  out
}

# The gradients with those of `sparse` as row_sparse arrays: the rows that
# the batch's indices select, mapped as the Embedding kernel maps them
# (clipped to [0, K - 1], truncated).
model.sparse.grads <- function(sparse, grads, param.names, batch, feeds) {
  for (w in names(sparse)) {
    i <- match(w, param.names)
    g <- grads[[i]]
    info <- .Call(C_mx_r_nd_info, g)
    if (info$ctx$device != "cpu") next
    v <- as.vector(as.array(batch[[feeds$fields[[sparse[[w]]]]]]))
    rows <- sort(unique(model.emb.rows(v, model.last(dim(g)))))
    data <- nd.invoke("take", list(g, mx.nd.array(rows, ctx = mx.cpu())), list(axis = 0L))
    grads[[i]] <- mx.nd.sparse.row_sparse(data, indices = rows, shape = dim(g), dtype = info$dtype)
  }
  grads
}

# A batch into an executor's inputs (an input a split graph lacks is skipped;
# sparse batches become dense), and the split nodes (model-sparse.R).
model.load.batch <- function(ex, batch, sl, ndev, feeds) {
  for (n in names(feeds$fields)) {
    x <- batch[[feeds$fields[[n]]]]
    if (is.null(x) || is.null(ex$ref.arg.arrays[[n]])) next
    if (inherits(x, "MXNDArraySparse")) x <- mx.nd.cast.storage(x, "default")
    .Call(C_mx_r_nd_copy_into, model.slice(x, sl, ndev), ex$ref.arg.arrays[[n]])
  }
  model.split.forward(ex, batch, sl, ndev, feeds)
}

model.batch.label <- function(batch, sl, ndev, feeds) model.slice(batch[[feeds$label]], sl, ndev)

model.last <- function(x) x[length(x)]

# The first `keep` examples (last R dim) of an NDArray of any rank.
model.keep.first <- function(a, keep) {
  idx <- rep(list(NULL), length(dim(a)))
  idx[[length(idx)]] <- seq_len(keep)
  .Call(C_mx_r_nd_index_get, a, idx)
}

# Executors for evaluation: the training executors, or (for another batch
# size) executors sharing their arrays, made once per batch size.
model.eval.cache <- function(execs, slices, symbol, ctx, input.shapes) {
  train.bs <- model.last(input.shapes[[1L]])
  cache <- new.env()
  cache$bs <- -1
  cache$make <- function(ebs) {
    if (ebs == train.bs) {
      cache$use.execs <- execs
      cache$use.slices <- slices
      return(invisible(NULL))
    }
    if (ebs != cache$bs) {
      cache$bs <- ebs
      cache$slices <- split.batch(ebs, length(execs))
      cache$execs <- lapply(seq_along(execs), function(i)
        model.share.exec(execs[[i]], symbol, ctx[[i]], input.shapes, cache$slices[[i]]$n))
    }
    cache$use.execs <- cache$execs
    cache$use.slices <- cache$slices
  }
  cache
}

# One pass over the evaluation data; returns the metric state (NULL without a
# metric). The padding of the last batch is trimmed from outputs and labels
# along their last (example) dimension, whatever their rank.
model.evaluate <- function(cache, iter, metric, feeds) {
  state <- if (!is.null(metric)) metric$init() else NULL
  iter$reset()
  while (iter$iter.next()) {
    batch <- iter$value()
    pad <- iter$num.pad()
    ebs <- model.last(dim(batch[[feeds$fields[[1L]]]]))
    cache$make(ebs)
    ndev <- length(cache$use.execs)
    for (i in seq_len(ndev)) {
      ex <- cache$use.execs[[i]]
      sl <- cache$use.slices[[i]]
      model.load.batch(ex, batch, sl, ndev, feeds)
      mx.exec.forward(ex, is.train = FALSE)
      if (is.null(metric)) next
      lab <- model.batch.label(batch, sl, ndev, feeds)
      out <- ex$ref.outputs[[1L]]
      keep <- sl$n - max(0, pad - (ebs - sl$end))
      if (keep <= 0) next
      if (keep < sl$n) {
        lab <- model.keep.first(lab, keep)
        out <- model.keep.first(out, keep)
      }
      state <- metric$update(lab, out, state)
    }
  }
  state
}

model.broadcast.weights <- function(execs, names) {
  w0 <- execs[[1L]]$ref.arg.arrays
  for (i in seq_along(execs)[-1L]) {
    wi <- execs[[i]]$ref.arg.arrays
    for (n in intersect(names, names(w0))) .Call(C_mx_r_nd_copy_into, w0[[n]], wi[[n]])
  }
}

# Parameters copied to the CPU; auxiliary states averaged over devices.
# env$model for the callbacks, as MXNet's: the model at the end of the last
# finished epoch (NULL before).  Its copy of the parameters is made when a
# callback first reads it, so training without callbacks holds no copy
# (100 MB for ResNet-50); when batch callbacks exist it is made before the
# next epoch changes the weights (resume).  The last epoch's copy goes back
# to the memory pool when the next epoch ends, rather than at R's next
# garbage collection.  value(): the copy, or NULL if none.
model.lazy <- function(env, extract) {
  held <- NULL
  ready <- FALSE      # the executors hold the last finished epoch's weights
  makeActiveBinding("model", function(v) {
    if (!missing(v)) held <<- v
    else if (is.null(held) && ready) held <<- extract()
    held
  }, env)
  list(value = function() held,
       epoch.end = function() {
         big <- !is.null(held) && sum(vapply(held$arg.params, function(a) prod(dim(a)), 0)) >= 2^22
         held <<- NULL
         if (big) invisible(gc(verbose = FALSE))
         ready <<- TRUE
       },
       resume = function(keep) {
         if (keep && is.null(held)) held <<- extract()
         ready <<- FALSE
       })
}

# The trained model from the first executor (and `held`, the parameters the
# training loop holds outside it): copies on the CPU, or (copy = FALSE, an
# executor on the CPU about to be dropped) its own arrays.
model.extract <- function(symbol, execs, param.names, copy = TRUE, held = list()) {
  take <- if (copy) function(a) mx.nd.copyto(a, mx.cpu()) else identity
  arg <- lapply(c(execs[[1L]]$ref.arg.arrays, held)[param.names], take)
  aux <- lapply(execs[[1L]]$ref.aux.arrays, take)
  if (length(execs) > 1L && length(aux)) {
    for (n in names(aux)) {
      for (i in seq_along(execs)[-1L])
        mx.nd.broadcast.add(aux[[n]], mx.nd.copyto(execs[[i]]$ref.aux.arrays[[n]], mx.cpu()), out = aux[[n]])
      aux[[n]] <- aux[[n]] / length(execs)
    }
  }
  structure(list(symbol = symbol, arg.params = arg, aux.params = aux), class = "MXFeedForwardModel")
}

# ---------------------------------------------------------------- prediction

#' Predict with a feed-forward model
#'
#' Runs the network forward (inference mode) over \code{X} and returns its
#' first output with the examples along the last dimension: for a classifier,
#' a \code{classes x N} matrix of probabilities (MXNet's layout; take
#' \code{max.col(t(p)) - 1} for 0-based classes).
#'
#' @param object An \code{MXFeedForwardModel}.
#' @param X,newdata Data: array, matrix, data frame (one row per
#'   observation, encoded as in training), sparse matrix (as in
#'   \code{\link{mx.model.FeedForward.create}}) or iterator; \code{newdata}
#'   is R's usual name for it.
#' @param ctx Device (default \code{mx.ctx.default()}).
#' @param array.batch.size Batch size.
#' @param array.layout Layout of matrix input (see
#'   \code{mx.model.FeedForward.create}).
#' @param allow.extra.params Ignore parameters the symbol does not use.
#' @param type \code{"raw"} (MXNet's layout, the default), \code{"prob"}
#'   (an examples x classes matrix, the columns named by the levels of a
#'   factor label) or \code{"class"} (the most probable class: a factor with
#'   the training labels' levels, else 0-based integers).
#' @param ... Unused.
#' @return An R array (see \code{type}).
#' @examples
#' net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"),
#'                                num_hidden = 3), name = "sm")
#' p <- mx.model.init.params(net, list(data = c(2, 5)), list(sm_label = 5), mx.init.uniform(0.1))
#' m <- structure(list(symbol = net, arg.params = p$arg.params, aux.params = p$aux.params),
#'                class = "MXFeedForwardModel")
#' dim(predict(m, matrix(rnorm(10), 2), array.layout = "colmajor"))
#' @export
predict.MXFeedForwardModel <- function(object, X, ctx = NULL, array.batch.size = 128,
                                       array.layout = "auto", allow.extra.params = FALSE,
                                       type = c("raw", "class", "prob"), newdata = NULL, ...) {
  model <- if (is.serialized(object)) mx.unserialize(object) else object
  type <- match.arg(type)
  if (missing(X)) X <- newdata
  if (is.null(ctx)) ctx <- mx.ctx.default()
  if (is.data.frame(X)) {
    if (!is.null(model$terms)) X <- stats::model.frame(model$terms, X, na.action = stats::na.pass)
    X <- df.encode(model$encoding %||% df.encoding(X), X)
    array.layout <- "colmajor"
  }
  if (sparse.is.data(X)) {
    if (array.layout == "auto") array.layout <- "colmajor"
  } else if (!is.mx.dataiter(X)) {
    if (is.matrix(X) && array.layout == "auto") array.layout <- predict.layout(model, X)
    X <- model.layout(X, NULL, if (array.layout == "auto") "colmajor" else array.layout, "X")
    array.layout <- "colmajor"
  }
  it <- model.iter(X, NULL, array.batch.size, shuffle = FALSE, array.layout, "X")
  it$reset()
  if (!it$iter.next()) stop("no data to predict", call. = FALSE)
  b <- it$value()
  feeds <- predict.feeds(model, b)
  feeds$csr <- model.csr.fields(feeds, b)
  shapes <- lapply(feeds$fields, function(f) dim(b[[f]]))
  # a FullyConnected over CSR data runs by sparse dot (model-sparse.R)
  req <- rep("write", length(model$arg.params))
  names(req) <- names(model$arg.params)
  bind <- model.graph.split(model$symbol, req, feeds, shapes, list(ctx), embeddings = FALSE)
  # the model's own parameters where they fit: prediction holds one copy of
  # the weights (inference writes no argument or auxiliary array)
  ex <- exec.simple.bind(bind$symbol, ctx, "null", NULL, bind$shapes,
                         share = c(model$arg.params, model$aux.params))
  predict.set.params(ex, model, names(feeds$fields), allow.extra.params)
  feeds$splits <- bind$splits
  feeds$held <- model.split.weights(bind$splits, model$arg.params, list(), ex)
  res <- list()
  it$reset()
  while (it$iter.next()) {
    b <- it$value()
    model.load.batch(ex, b, NULL, 1L, feeds)
    mx.exec.forward(ex, is.train = FALSE)
    out <- ex$ref.outputs[[1L]]
    pad <- it$num.pad()
    if (pad > 0) out <- model.keep.first(out, model.last(dim(out)) - pad)
    res[[length(res) + 1L]] <- .Call(C_mx_r_nd_to_r, out)
  }
  predict.type(model.join.last(res), type, model$label.levels)
}

# R arrays (batches) joined along their last dimension; a plain vector when
# the result has one dimension (predict, mx.nd.arraypacker).
model.join.last <- function(parts) {
  d <- dim(parts[[1L]])
  n <- sum(vapply(parts, function(p) model.last(dim(p)), 0))
  out <- array(unlist(lapply(parts, as.vector)), c(d[-length(d)], n))
  if (length(dim(out)) == 1L) dim(out) <- NULL
  out
}

# The inputs prediction feeds: every argument of the symbol that the batches
# have a field for (multi-input models), else the data input from `data`.
predict.feeds <- function(model, batch) {
  arg.names <- arguments(model$symbol)
  ins <- setdiff(intersect(arg.names, names(batch)),
                 c(names(model$arg.params), names(model$aux.params), model.label.args(model$symbol)))
  if (!length(ins)) ins <- if ("data" %in% arg.names) "data" else arg.names[1L]
  model.feeds(batch, ins, character(0))
}

# Copy the model's parameters into a prediction executor; every argument
# that is neither fed nor a label must be among them (never zeros).
predict.set.params <- function(ex, model, fed, allow.extra.params) {
  arg.names <- arguments(model$symbol)
  params <- model$arg.params
  extra <- setdiff(names(params), arg.names)
  if (length(extra) && !allow.extra.params)
    stop(sprintf("the model has parameters the symbol does not use: %s (allow.extra.params = TRUE ignores them)",
                 paste(extra, collapse = ", ")), call. = FALSE)
  lacking <- setdiff(arg.names, c(fed, names(params), model.label.args(model$symbol)))
  if (length(lacking))
    stop(sprintf("the model lacks %s (neither a parameter in arg.params nor an input of the data)",
                 paste(lacking, collapse = ", ")), call. = FALSE)
  lacking.aux <- setdiff(auxiliary.states(model$symbol), names(model$aux.params))
  if (length(lacking.aux))
    stop(sprintf("the model lacks the auxiliary state%s %s", if (length(lacking.aux) > 1L) "s" else "",
                 paste(lacking.aux, collapse = ", ")), call. = FALSE)
  mx.exec.update.arg.arrays(ex, params[names(params) %in% arg.names], match.name = TRUE)
  if (length(model$aux.params)) mx.exec.update.aux.arrays(ex, model$aux.params, match.name = TRUE)
}

# Label arguments: variables ending in "label", and the second input of the
# loss heads (*Output ops), e.g. LinearRegressionOutput(label = score).
model.label.args <- function(symbol) {
  nodes <- .Call(C_mx_r_sym_graph, symbol)
  heads <- Filter(function(nd) grepl("Output$", nd$op) && length(nd$inputs) >= 2L, nodes)
  lab <- unlist(lapply(heads, function(nd) {
    src <- nodes[[nd$inputs[2L] + 1L]]
    if (src$op == "null") src$name
  }))
  args <- arguments(symbol)
  unique(c(grep("label$", args, value = TRUE), lab))
}

# array.layout = "auto" for prediction: the orientation whose feature count
# fits the model's parameters (MXNet's rule).
predict.layout <- function(model, X) {
  arg.names <- arguments(model$symbol)
  data.name <- if ("data" %in% arg.names) "data" else arg.names[1L]
  fits <- function(nfeat) {
    shp <- list()
    shp[[data.name]] <- c(nfeat, 1L)
    sh <- tryCatch(do.call(mx.symbol.infer.shape, c(list(model$symbol), shp)), error = function(e) NULL)
    if (is.null(sh)) return(FALSE)
    p <- model$arg.params
    all(vapply(names(p), function(n) is.null(sh$arg.shapes[[n]]) || identical(as.integer(dim(p[[n]])), sh$arg.shapes[[n]]), TRUE))
  }
  col <- fits(nrow(X))
  row <- fits(ncol(X))
  if (col && !row) return("colmajor")
  if (row && !col) return("rowmajor")
  if (col && row) stop("cannot tell the layout of a square matrix; set array.layout", call. = FALSE)
  stop(sprintf("neither dimension of X (%d x %d) fits the model's input", nrow(X), ncol(X)), call. = FALSE)
}

# --------------------------------------------------------------- checkpoints

#' Save and load checkpoints
#'
#' MXNet's checkpoint files: \code{<prefix>-symbol.json} and
#' \code{<prefix>-<4-digit iteration>.params} (parameters named
#' \code{arg:<name>} and \code{aux:<name>}), readable by MXNet itself.
#' \code{mx.model.save} writes both files beside their targets and replaces
#' the targets only when both were written: after an error neither file has
#' changed.
#'
#' @param model An \code{MXFeedForwardModel}.
#' @param prefix File name prefix.
#' @param iteration Epoch number.
#' @return \code{mx.model.load}: an \code{MXFeedForwardModel}.
#' @examples
#' net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2, name = "fc")
#' p <- mx.model.init.params(net, list(data = c(3, 4)), NULL, mx.init.uniform(0.1))
#' m <- structure(list(symbol = net, arg.params = p$arg.params, aux.params = p$aux.params),
#'                class = "MXFeedForwardModel")
#' prefix <- file.path(tempdir(), "model")
#' mx.model.save(m, prefix, 1)
#' names(mx.model.load(prefix, 1)$arg.params)
#' @export
mx.model.save <- function(model, prefix, iteration) {
  if (!inherits(model, "MXFeedForwardModel")) stop("argument 'model' must be an MXFeedForwardModel", call. = FALSE)
  if (is.serialized(model)) model <- mx.unserialize(model)
  arrays <- c(model$arg.params, model$aux.params)
  names(arrays) <- c(if (length(model$arg.params)) paste0("arg:", names(model$arg.params)),
                     if (length(model$aux.params)) paste0("aux:", names(model$aux.params)))
  targets <- c(paste0(prefix, "-symbol.json"), sprintf("%s-%04d.params", prefix, as.integer(iteration)))
  # both files are written beside their targets first; the targets change
  # only when both writes succeeded, and together (a failed rename restores)
  tmp <- vapply(targets, function(f) tempfile(".mxsave", dirname(f)), "")
  on.exit(unlink(tmp))
  mx.symbol.save(model$symbol, tmp[[1L]])
  mx.nd.save(arrays, tmp[[2L]])
  model.replace.files(tmp, targets)
  invisible(NULL)
}

# Move each new file onto its target; if one cannot be moved, put back the
# targets already replaced and stop.
model.replace.files <- function(new, targets) {
  backup <- vapply(targets, function(f) tempfile(".mxold", dirname(f)), "")
  had <- file.exists(targets) & !dir.exists(targets)
  done <- 0L
  undo <- function() {
    for (k in seq_len(done)) {
      unlink(targets[k])
      if (had[k]) file.rename(backup[k], targets[k])
    }
  }
  for (k in seq_along(targets)) {
    if (had[k] && !file.rename(targets[k], backup[k])) { undo(); model.save.fail(targets[k]) }
    if (!suppressWarnings(file.rename(new[k], targets[k]))) {
      if (had[k]) file.rename(backup[k], targets[k])
      undo()
      model.save.fail(targets[k])
    }
    done <- k
  }
  unlink(backup[had])
}

model.save.fail <- function(target)
  stop(sprintf("mx.model.save: cannot replace '%s'%s; no checkpoint file was changed", target,
               if (dir.exists(target)) " (a directory)" else ""), call. = FALSE)

#' @rdname mx.model.save
#' @export
mx.model.load <- function(prefix, iteration) {
  symbol <- mx.symbol.load(paste0(prefix, "-symbol.json"))
  arrays <- mx.nd.load(sprintf("%s-%04d.params", prefix, as.integer(iteration)))
  nm <- names(arrays)
  if (is.null(nm)) stop("the parameter file has no names (arg:/aux:)", call. = FALSE)
  arg <- arrays[startsWith(nm, "arg:")]
  names(arg) <- substring(names(arg), 5L)
  aux <- arrays[startsWith(nm, "aux:")]
  names(aux) <- substring(names(aux), 5L)
  structure(list(symbol = symbol, arg.params = arg, aux.params = aux), class = "MXFeedForwardModel")
}

#' A multi-layer perceptron in one call
#'
#' MXNet's \code{mx.mlp(data, label, ...)}, and a formula interface:
#' \code{mx.mlp(y ~ ., data = df, hidden_node = c(64, 32))} takes the response
#' and the variables of the formula from the data frame (a factor response
#' gives a classifier with one output per level, \code{out_node} and
#' \code{out_activation = "softmax"} by default; a numeric one a regression,
#' \code{out_node = 1} and \code{"rmse"}). The model keeps the formula's
#' terms, so \code{predict(model, newdata = df2, type = "class")} takes a data
#' frame with the same variables. Variables enter as they are (factors one-hot
#' encoded); interactions and transformations in the formula pick their
#' variables but are not expanded, the network learns them.
#'
#' @param data,label Training data and labels (see
#'   \code{mx.model.FeedForward.create}); or a formula and a data frame, in
#'   either order.
#' @param hidden_node Sizes of the hidden layers.
#' @param out_node Size of the output layer.
#' @param dropout Dropout rate after each hidden layer, or \code{NULL}.
#' @param activation Hidden activation (one per layer or one for all).
#' @param out_activation \code{"softmax"}, \code{"rmse"} or \code{"logistic"}.
#' @param ctx Device(s).
#' @param ... Passed to \code{mx.model.FeedForward.create}.
#' @return A model.
#' @examples
#' set.seed(2)
#' x <- matrix(rnorm(300), 100)
#' y <- as.numeric(x[, 1] > 0)
#' m <- mx.mlp(x, y, hidden_node = 5, out_node = 2, num.round = 2,
#'             array.batch.size = 20, learning.rate = 0.1, array.layout = "rowmajor",
#'             verbose = FALSE)
#' df <- data.frame(x1 = x[, 1], x2 = x[, 2], g = factor(x[, 3] > 0),
#'                  y = factor(ifelse(y == 1, "pos", "neg")))
#' m <- mx.mlp(y ~ ., data = df, hidden_node = c(8, 4), num.round = 3,
#'             array.batch.size = 20, learning.rate = 0.1, verbose = FALSE)
#' table(predict(m, newdata = df, type = "class"), df$y)
#' @export
mx.mlp <- function(data, label, hidden_node = 1, out_node, dropout = NULL, activation = "tanh",
                   out_activation = "softmax", ctx = mx.ctx.default(), ...) {
  fo <- mlp.formula(data, if (missing(label)) NULL else label)
  if (!is.null(fo)) {
    data <- fo$X
    label <- fo$y
    if (missing(out_node)) out_node <- if (is.factor(label)) nlevels(label) else 1L
    if (missing(out_activation) && !is.factor(label)) out_activation <- "rmse"
  }
  if (missing(out_node)) mx.error("value", "argument 'out_node' (the size of the output layer) is missing")
  model <- mlp.fit(data, label, hidden_node, out_node, dropout, activation, out_activation, ctx, ...)
  if (!is.null(fo)) model$terms <- fo$terms
  model
}

# The response, variables and terms of mx.mlp's formula (NULL without one).
mlp.formula <- function(data, label) {
  if (inherits(label, "formula")) {
    fo <- label
    df <- data
  } else if (inherits(data, "formula")) {
    fo <- data
    df <- label
  } else {
    return(NULL)
  }
  if (!is.data.frame(df)) mx.error("value", "a formula needs a data frame: mx.mlp(y ~ ., data = df)")
  if (length(fo) != 3L) mx.error("value", "the formula needs a response: y ~ x1 + x2 or y ~ .")
  mf <- tryCatch(stats::model.frame(fo, df, na.action = stats::na.pass),
                 error = function(e) mx.error("value", paste("the formula does not fit the data:", conditionMessage(e))))
  tt <- attr(mf, "terms")
  list(X = mf[-1L], y = stats::model.response(mf), terms = stats::delete.response(tt))
}

mlp.fit <- function(data, label, hidden_node, out_node, dropout, activation, out_activation, ctx, ...) {
  m <- length(hidden_node)
  if (!is.null(dropout) && (length(dropout) != 1L || dropout < 0 || dropout >= 1))
    stop("argument 'dropout' must be a single number in [0, 1)", call. = FALSE)
  act <- rep_len(activation, m)
  net <- mx.symbol.Variable("data")
  for (i in seq_len(m)) {
    net <- mx.symbol.FullyConnected(data = net, num_hidden = hidden_node[i], name = paste0("fc", i))
    net <- mx.symbol.Activation(data = net, act_type = act[i], name = paste0(act[i], i))
    if (!is.null(dropout)) net <- mx.symbol.Dropout(data = net, p = dropout)
  }
  net <- mx.symbol.FullyConnected(data = net, num_hidden = out_node, name = paste0("fc", m + 1))
  net <- switch(match.arg(out_activation, c("softmax", "rmse", "logistic")),
                softmax = mx.symbol.SoftmaxOutput(data = net, name = "softmax"),
                rmse = mx.symbol.LinearRegressionOutput(data = net, name = "linreg"),
                logistic = mx.symbol.LogisticRegressionOutput(data = net, name = "logreg"))
  mx.model.FeedForward.create(net, X = data, y = label, ctx = ctx, ...)
}
