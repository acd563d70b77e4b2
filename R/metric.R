# Evaluation metrics (MXNet's R API). A metric is
#   list(init = function() state,
#        update = function(label, pred, state) state,
#        get = function(state) list(name =, value =))
# of class "mx.metric"; the state is c(batches, sum of batch values) and the
# value is the mean of the per-batch values, as in MXNet's R package.
#
# Labels and predictions may be NDArrays or R arrays. Predictions of
# classifiers have R dims c(classes, N) (C shape (N, classes)); more
# dimensions put the class on the second-to-last R dim (C axis 1), as
# MXNet's argmax(axis = 1). Labels are 0-based class ids. With NDArray
# inputs the common metrics are computed by engine ops, so only a few
# numbers reach R.

#' Metrics
#'
#' \code{mx.metric.custom(name, feval)} turns \code{feval(label, pred)}, which
#' returns one number per batch, into a metric whose value is the mean of the
#' batch values. The predefined metrics:
#' \describe{
#'   \item{\code{mx.metric.accuracy}}{share of samples whose arg-max class
#'     (over the class dimension: the first R dimension of a
#'     \code{c(classes, N)} prediction) equals the label.}
#'   \item{\code{mx.metric.top_k_accuracy}}{share of samples whose label is
#'     among the 5 highest-scoring classes (ties broken towards the lower
#'     class id).}
#'   \item{\code{mx.metric.mse}, \code{mx.metric.rmse}, \code{mx.metric.mae},
#'     \code{mx.metric.rmsle}}{mean squared error, its square root, mean
#'     absolute error and root mean squared log error, over the flattened
#'     label and prediction.}
#'   \item{\code{mx.metric.logloss}}{binary log-loss of probabilities clipped
#'     to \code{[1e-15, 1 - 1e-15]} when prediction and label have the same
#'     length; with a \code{c(classes, N)} prediction and \code{N} labels,
#'     the multi-class cross-entropy \code{-mean(log(p[label]))}.}
#'   \item{\code{mx.metric.logistic_acc}}{accuracy of probabilities
#'     thresholded at 0.5 (named \code{"accuracy"}, as in MXNet).}
#'   \item{\code{mx.metric.Perplexity}}{\code{exp} of the mean negative log
#'     probability of the label class, ignoring labels equal to -1.}
#' }
#'
#' @param name The metric's name.
#' @param feval \code{function(label, pred)} returning a number.
#' @return A metric: a list of class \code{mx.metric} with \code{init()},
#'   \code{update(label, pred, state)} and \code{get(state)}, which returns
#'   \code{list(name, value)}.
#' @examples
#' m <- mx.metric.accuracy
#' pred <- matrix(c(0.9, 0.1, 0.2, 0.8, 0.6, 0.4), 2)   # 2 classes, 3 samples
#' s <- m$init()
#' s <- m$update(c(0, 1, 1), pred, s)
#' m$get(s)
#' mae <- mx.metric.custom("mae", function(label, pred) mean(abs(label - pred)))
#' mae$get(mae$update(c(1, 2), c(1.5, 2.5), mae$init()))
#' @name mx.metric
#' @export
mx.metric.custom <- function(name, feval) {
  if (!is.character(name) || length(name) != 1L)
    stop("argument 'name' must be a single string", call. = FALSE)
  if (!is.function(feval)) stop("argument 'feval' must be a function(label, pred)", call. = FALSE)
  force(name)
  init <- function() c(0, 0)
  update <- function(label, pred, state) {
    m <- feval(label, pred)
    if (inherits(m, "MXNDArray")) m <- as.double(as.array(m))
    c(state[[1L]] + 1, state[[2L]] + as.double(m)[1L])
  }
  get <- function(state) list(name = name, value = state[[2L]] / state[[1L]])
  structure(list(init = init, update = update, get = get), class = "mx.metric")
}

# ------------------------------------------------------------- helpers

metric.is.nd <- function(x) inherits(x, "MXNDArray")

# Flatten an NDArray (a view).
metric.flat <- function(x) nd.invoke("Reshape", list(x), list(shape = -1))

metric.cast <- function(x, dtype)
  if (mx.nd.dtype(x) == dtype) x else nd.invoke("Cast", list(x), list(dtype = dtype))

# An NDArray version of x on the device of `like` (converting R values).
metric.as.nd <- function(x, like, dtype = mx.nd.dtype(like)) {
  if (metric.is.nd(x)) {
    if (!identical(ctx(x), ctx(like))) x <- mx.nd.copyto(x, ctx(like))
    return(metric.cast(x, dtype))
  }
  mx.nd.array(as.double(x), ctx = ctx(like), dtype = dtype)
}

# R matrix c(classes, samples) from a prediction array (class = second-to-last
# R dim when there are more than two).
metric.pred.matrix <- function(pred) {
  pred <- as.array(pred)
  d <- dim(pred)
  if (is.null(d) || length(d) < 2L)
    stop("the prediction must have a class dimension: R dims c(classes, N)", call. = FALSE)
  nd <- length(d)
  if (nd > 2L) {
    pred <- aperm(pred, c(nd - 1L, seq_len(nd)[-(nd - 1L)]))
    d <- dim(pred)
  }
  matrix(pred, d[1L])
}

metric.check.len <- function(label, n, what) {
  if (length(label) != n)
    stop(sprintf("%s: %d labels for %d predictions", what, length(label), n), call. = FALSE)
}

# Same-length flattened (label, pred) for the regression metrics: both R
# vectors, or both float NDArrays of pred's dtype.
metric.pair <- function(label, pred, what) {
  if (!metric.is.nd(label) && !metric.is.nd(pred)) {
    l <- as.double(label)
    p <- as.double(pred)
    metric.check.len(l, length(p), what)
    return(list(l, p))
  }
  like <- if (metric.is.nd(pred)) pred else label
  dt <- mx.nd.dtype(like)
  if (!dt %in% c("float32", "float64")) dt <- "float32"
  l <- metric.flat(metric.as.nd(label, like, dt))
  p <- metric.flat(metric.as.nd(pred, like, dt))
  metric.check.len(l, length(p), what)
  list(l, p)
}

# ------------------------------------------------------------ accuracy

metric.fn.accuracy <- function(label, pred) {
  if (metric.is.nd(pred)) {
    am <- metric.flat(nd.invoke("argmax", list(pred), list(axis = 1L)))
    lab <- metric.flat(metric.as.nd(label, am))
    metric.check.len(lab, length(am), "accuracy")
    n <- length(am)
    return(if (n) sum(am == lab) / n else NaN)   # exact count (a float32 mean rounds)
  }
  pm <- metric.pred.matrix(pred)
  cls <- max.col(t(pm), ties.method = "first") - 1
  lab <- as.double(as.array(label))
  metric.check.len(lab, length(cls), "accuracy")
  mean(cls == lab)
}

metric.fn.top_k <- function(label, pred, top_k = 5L) {
  pm <- metric.pred.matrix(pred)
  lab <- as.double(as.array(label))
  n <- ncol(pm)
  metric.check.len(lab, n, "top_k_accuracy")
  nc <- nrow(pm)
  if (n == 0L) return(NaN)
  ok <- lab >= 0 & lab < nc & lab == round(lab)
  li <- ifelse(ok, lab + 1, 1)
  v <- pm[cbind(li, seq_len(n))]
  vv <- rep(v, each = nc)
  # rank of the label's class when sorted decreasingly, ties to the lower id
  greater <- colSums(pm > vv)
  ahead <- colSums(pm == vv & row(pm) < rep(li, each = nc))
  mean(ok & (greater + ahead) < top_k)
}

# ---------------------------------------------------------- regression

metric.fn.mse <- function(label, pred) {
  lp <- metric.pair(label, pred, "mse")
  d <- lp[[2L]] - lp[[1L]]
  mean(d * d)
}
metric.fn.rmse <- function(label, pred) sqrt(metric.fn.mse(label, pred))
metric.fn.mae <- function(label, pred) {
  lp <- metric.pair(label, pred, "mae")
  mean(abs(lp[[2L]] - lp[[1L]]))
}
metric.fn.rmsle <- function(label, pred) {
  lp <- metric.pair(label, pred, "rmsle")
  d <- log1p(lp[[2L]]) - log1p(lp[[1L]])
  sqrt(mean(d * d))
}

# ------------------------------------------------------------ log-loss

metric.eps <- 1e-15

metric.fn.logloss <- function(label, pred) {
  np <- length(pred)
  nl <- length(label)
  if (np != nl) {
    # multi-class cross-entropy: pred c(classes, N), N labels
    if (metric.is.nd(pred)) {
      lab <- metric.flat(metric.as.nd(label, pred))
      pk <- metric.flat(nd.invoke("pick", list(pred, lab), list(axis = 1L)))
      metric.check.len(lab, length(pk), "logloss")
      pk <- nd.invoke("clip", list(metric.cast(pk, "float64")), list(a_min = metric.eps, a_max = 1))
      return(-mean(log(pk)))
    }
    pm <- metric.pred.matrix(pred)
    lab <- as.double(as.array(label))
    metric.check.len(lab, ncol(pm), "logloss")
    pk <- pm[cbind(lab + 1, seq_len(ncol(pm)))]
    return(-mean(log(pmin(pmax(pk, metric.eps), 1))))
  }
  if (metric.is.nd(pred) || metric.is.nd(label)) {
    like <- if (metric.is.nd(pred)) pred else label
    # float64: 1 - 1e-15 is 1 in float32 and log(1 - p) would be -Inf
    l <- metric.flat(metric.as.nd(label, like, "float64"))
    p <- metric.flat(metric.as.nd(pred, like, "float64"))
    p <- nd.invoke("clip", list(p), list(a_min = metric.eps, a_max = 1 - metric.eps))
    return(-mean(l * log(p) + (1 - l) * log(1 - p)))
  }
  l <- as.double(label)
  p <- pmin(pmax(as.double(pred), metric.eps), 1 - metric.eps)
  -mean(l * log(p) + (1 - l) * log(1 - p))
}

metric.fn.logistic_acc <- function(label, pred) {
  lp <- metric.pair(label, pred, "logistic_acc")
  n <- length(lp[[2L]])
  if (n) sum((lp[[2L]] > 0.5) == lp[[1L]]) / n else NaN
}

# ---------------------------------------------------------- perplexity

metric.fn.perplexity <- function(label, pred, mask_element = -1) {
  if (metric.is.nd(pred)) {
    lab <- metric.flat(metric.as.nd(label, pred))
    pk <- metric.flat(nd.invoke("pick", list(pred, lab), list(axis = 1L)))
    metric.check.len(lab, length(pk), "Perplexity")
    mask <- metric.cast(lab != mask_element, "float64")
    pk <- nd.invoke("clip", list(metric.cast(pk, "float64")), list(a_min = 1e-10, a_max = 1e300))
    nll <- -sum(log(pk) * mask) / sum(mask)
    return(exp(nll))
  }
  pm <- metric.pred.matrix(pred)
  lab <- as.double(as.array(label))
  metric.check.len(lab, ncol(pm), "Perplexity")
  keep <- lab != mask_element
  pk <- pm[cbind(lab[keep] + 1, which(keep))]
  exp(-sum(log(pmax(pk, 1e-10))) / sum(keep))
}

#' @rdname mx.metric
#' @format NULL
#' @export
mx.metric.accuracy <- mx.metric.custom("accuracy", metric.fn.accuracy)

#' @rdname mx.metric
#' @format NULL
#' @export
mx.metric.top_k_accuracy <- mx.metric.custom("top_k_accuracy", metric.fn.top_k)

#' @rdname mx.metric
#' @format NULL
#' @export
mx.metric.mse <- mx.metric.custom("mse", metric.fn.mse)

#' @rdname mx.metric
#' @format NULL
#' @export
mx.metric.rmse <- mx.metric.custom("rmse", metric.fn.rmse)

#' @rdname mx.metric
#' @format NULL
#' @export
mx.metric.mae <- mx.metric.custom("mae", metric.fn.mae)

#' @rdname mx.metric
#' @format NULL
#' @export
mx.metric.rmsle <- mx.metric.custom("rmsle", metric.fn.rmsle)

#' @rdname mx.metric
#' @format NULL
#' @export
mx.metric.logloss <- mx.metric.custom("logloss", metric.fn.logloss)

#' @rdname mx.metric
#' @format NULL
#' @export
mx.metric.logistic_acc <- mx.metric.custom("accuracy", metric.fn.logistic_acc)

#' @rdname mx.metric
#' @format NULL
#' @export
mx.metric.Perplexity <- mx.metric.custom("Perplexity", metric.fn.perplexity)
