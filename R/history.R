# Training history: one row per epoch, recorded by mx.model.FeedForward.create
# in model$history, drawn by plot() (base graphics) and ggplot2::autoplot().

# The history so far with the row of one epoch added.
history.add <- function(hist, iteration, metric, env, optimizer, seconds) {
  value <- function(state) if (is.null(metric) || is.null(state)) NA_real_ else as.double(metric$get(state)$value)[1L]
  lr <- optimizer$env$lr
  row <- data.frame(epoch = iteration, train = value(env$train.metric), validation = value(env$eval.metric),
                    lr = if (is.numeric(lr) && length(lr) == 1L) lr else NA_real_, time = seconds)
  h <- rbind(hist, row)
  attr(h, "metric") <- if (is.null(metric)) NA_character_ else metric$get(metric$init())$name
  class(h) <- c("mx.history", "data.frame")
  h
}

# An empty history (no epoch ran).
history.empty <- function(metric)
  history.add(NULL, 0L, metric, list(), list(), 0)[0L, ]

#' Training history of a model
#'
#' \code{\link{mx.model.FeedForward.create}} keeps in \code{model$history} a
#' data frame of class \code{mx.history} with one row per epoch:
#' \code{epoch}, \code{train} and \code{validation} (the value of
#' \code{eval.metric} on the training data during the epoch and on
#' \code{eval.data} at its end; \code{NA} without a metric or validation
#' data), \code{lr} (the optimizer's learning rate at the end of the epoch)
#' and \code{time} (seconds). Its attribute \code{"metric"} names the metric.
#' Callbacks see the history so far as \code{env$history}.
#'
#' \code{plot()} draws the metric per epoch with base graphics;
#' \code{ggplot2::autoplot()} does the same with ggplot2 when it is installed.
#' Both accept the model or its history.
#'
#' @param x,object An \code{mx.history} or an \code{MXFeedForwardModel}.
#' @param y Unused.
#' @param ... Further graphical parameters for \code{matplot}.
#' @return \code{plot}: \code{x}, invisibly; \code{autoplot}: a ggplot object.
#' @examples
#' set.seed(3)
#' x <- matrix(rnorm(400), 2)
#' y <- as.numeric(x[1, ] > 0)
#' net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"),
#'                                num_hidden = 2), name = "softmax")
#' m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 4,
#'                                  array.batch.size = 20, learning.rate = 0.1,
#'                                  eval.data = list(data = x, label = y),
#'                                  eval.metric = mx.metric.accuracy, verbose = FALSE)
#' m$history
#' plot(m)
#' @name mx.history
#' @export
plot.mx.history <- function(x, y, ...) {
  sets <- c("train", "validation")
  sets <- sets[vapply(sets, function(s) any(!is.na(x[[s]])), TRUE)]
  if (!length(sets) || !nrow(x))
    mx.error("value", "the history has no metric values to plot (train with an eval.metric)")
  vals <- as.matrix(as.data.frame(x)[sets])
  graphics::matplot(x$epoch, vals, type = "b", lty = 1, pch = seq_along(sets), col = seq_along(sets),
                    xlab = "epoch", ylab = attr(x, "metric") %||% "metric", ...)
  graphics::legend("topleft", legend = sets, lty = 1, pch = seq_along(sets), col = seq_along(sets), bty = "n")
  invisible(x)
}

#' @rdname mx.history
#' @export
plot.MXFeedForwardModel <- function(x, y, ...) {
  if (is.null(x$history)) mx.error("value", "the model has no training history")
  plot(x$history, ...)
}

#' @rdname mx.history
#' @exportS3Method ggplot2::autoplot
autoplot.mx.history <- function(object, ...) {
  sets <- c("train", "validation")
  long <- data.frame(epoch = rep(object$epoch, 2L), value = c(object$train, object$validation),
                     set = factor(rep(sets, each = nrow(object)), sets))
  long <- long[!is.na(long$value), , drop = FALSE]
  if (!nrow(long)) mx.error("value", "the history has no metric values to plot (train with an eval.metric)")
  aes <- do.call(ggplot2::aes, list(x = quote(epoch), y = quote(value), colour = quote(set)))
  ggplot2::ggplot(long, aes) + ggplot2::geom_line() + ggplot2::geom_point() +
    ggplot2::labs(x = "epoch", y = attr(object, "metric") %||% "metric", colour = NULL)
}

#' @rdname mx.history
#' @exportS3Method ggplot2::autoplot
autoplot.MXFeedForwardModel <- function(object, ...) {
  if (is.null(object$history)) mx.error("value", "the model has no training history")
  autoplot.mx.history(object$history, ...)
}

#' Early stopping with patience, minimum improvement and the best weights
#'
#' An epoch-end callback for \code{\link{mx.model.FeedForward.create}} in the
#' style of keras's \code{callback_early_stopping}: it watches the
#' \code{validation} (or \code{train}) value of \code{eval.metric} in the
#' training history and stops training once \code{patience} epochs in a row
#' did not improve on the best value by more than \code{min.delta}. With
#' \code{restore.best = TRUE} the model returned holds the weights of the
#' best epoch (whether training stopped early or ran to the end), and its
#' history's attribute \code{"best.epoch"} names that epoch.
#'
#' MXNet's \code{\link{mx.callback.early.stop}} (thresholds and
#' \code{bad.steps}, no restoring) keeps its behaviour.
#'
#' @param patience Epochs without improvement before stopping.
#' @param min.delta The smallest change that counts as an improvement.
#' @param monitor \code{"validation"} (needs \code{eval.data}) or
#'   \code{"train"}.
#' @param maximize \code{TRUE} when larger values are better; \code{NULL}
#'   guesses from the metric's name (accuracy, AUC, F1, precision, recall:
#'   larger; anything else, such as RMSE or log-loss: smaller).
#' @param restore.best Return the best epoch's weights.
#' @param verbose Say when and why training stops.
#' @return A callback \code{function(iteration, nbatch, env, verbose)}.
#' @examples
#' set.seed(3)
#' x <- matrix(rnorm(400), 2)
#' y <- as.numeric(x[1, ] > 0)
#' net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"),
#'                                num_hidden = 2), name = "softmax")
#' m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 20,
#'        array.batch.size = 20, learning.rate = 0.1, verbose = FALSE,
#'        eval.data = list(data = x, label = y), eval.metric = mx.metric.accuracy,
#'        epoch.end.callback = mx.callback.early.stopping(patience = 2))
#' nrow(m$history); attr(m$history, "best.epoch")
#' @export
mx.callback.early.stopping <- function(patience = 3, min.delta = 0, monitor = c("validation", "train"),
                                       maximize = NULL, restore.best = TRUE, verbose = FALSE) {
  cb.check.count(patience, "patience")
  if (!is.numeric(min.delta) || length(min.delta) != 1L || !is.finite(min.delta) || min.delta < 0)
    mx.error("value", "argument 'min.delta' must be a number >= 0")
  monitor <- match.arg(monitor)
  show <- isTRUE(verbose)
  st <- new.env(parent = emptyenv())
  function(iteration, nbatch, env, verbose = TRUE) {
    h <- env$history
    if (is.null(h) || !nrow(h))
      mx.error("value", "mx.callback.early.stopping needs the history of mx.model.FeedForward.create")
    if (nrow(h) == 1L) st$best <- NULL          # a new training run
    value <- h[[monitor]][nrow(h)]
    if (is.na(value))
      mx.error("value", sprintf("no %s value to watch: train with an eval.metric%s", monitor,
                                if (monitor == "validation") " and eval.data" else ""))
    up <- history.maximize(h, maximize)
    gain <- if (is.null(st$best)) Inf else if (up) value - st$best else st$best - value
    if (gain > min.delta) {
      st$best <- value
      st$epoch <- iteration
      st$bad <- 0
      if (restore.best) env$restore.model <- env$model
    } else {
      st$bad <- st$bad + 1
    }
    if (restore.best) attr(env$history, "best.epoch") <- st$epoch
    if (st$bad < patience) return(TRUE)
    if (show && isTRUE(verbose)) message(sprintf("Early stopping at epoch %d: best %s %s=%s at epoch %d", iteration,
                                                   monitor, attr(h, "metric"), format(st$best, digits = 6), st$epoch))
    FALSE
  }
}
