# Training callbacks (MXNet's R API). A callback is
# function(iteration, nbatch, env, verbose = TRUE): `iteration` is the epoch,
# `nbatch` the batch within it (0 at the end of an epoch), `env` the training
# loop's environment (env$metric, env$train.metric, env$eval.metric,
# env$model at epoch end). Returning FALSE from an epoch-end callback stops
# training. Output goes through message().

#' Metric logger
#'
#' A reference class generator with numeric fields \code{train} and
#' \code{eval}; \code{\link{mx.callback.log.train.metric}} appends the metric
#' values to them.
#'
#' @examples
#' logger <- mx.metric.logger$new()
#' logger$train <- c(logger$train, 0.5)
#' logger$train
#' @format NULL
#' @importFrom methods setRefClass new
#' @importFrom utils tail
#' @importFrom stats aggregate
#' @exportClass mx.metric.logger
#' @export mx.metric.logger
mx.metric.logger <- methods::setRefClass("mx.metric.logger",
                                         fields = list(train = "numeric", eval = "numeric"))

cb.check.logger <- function(logger) {
  if (!is.null(logger) && !inherits(logger, "mx.metric.logger"))
    stop("argument 'logger' must be an mx.metric.logger (mx.metric.logger$new()) or NULL",
         call. = FALSE)
}

cb.check.count <- function(x, name) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < 1)
    stop(sprintf("argument '%s' must be a positive number", name), call. = FALSE)
}

#' Log the training metric
#'
#' Reports the training metric (and the evaluation metric when there is one)
#' every \code{period} batches; as an epoch-end callback (\code{nbatch} 0) it
#' reports nothing but records the values in \code{logger}.
#'
#' @param period Report every \code{period} batches.
#' @param logger An \code{\link{mx.metric.logger}} that collects the values,
#'   or \code{NULL}.
#' @return A callback \code{function(iteration, nbatch, env, verbose = TRUE)}.
#' @examples
#' logger <- mx.metric.logger$new()
#' cb <- mx.callback.log.train.metric(10, logger)
#' env <- new.env()
#' env$metric <- mx.metric.accuracy
#' env$train.metric <- env$metric$update(c(0, 1), matrix(c(0.9, 0.1, 0.3, 0.7), 2),
#'                                       env$metric$init())
#' cb(1, 10, env)
#' logger$train
#' @export
mx.callback.log.train.metric <- function(period, logger = NULL) {
  cb.check.count(period, "period")
  cb.check.logger(logger)
  function(iteration, nbatch, env, verbose = TRUE) {
    if (nbatch %% period == 0 && !is.null(env$metric)) {
      if (!is.null(env$train.metric)) {
        result <- env$metric$get(env$train.metric)
        if (nbatch != 0 && verbose)
          message("Batch [", nbatch, "] Train-", result$name, "=", result$value)
        if (!is.null(logger)) logger$train <- c(logger$train, result$value)
      }
      if (!is.null(env$eval.metric)) {
        result <- env$metric$get(env$eval.metric)
        if (nbatch != 0 && verbose)
          message("Batch [", nbatch, "] Validation-", result$name, "=", result$value)
        if (!is.null(logger)) logger$eval <- c(logger$eval, result$value)
      }
    }
    TRUE
  }
}

#' Report the training speed
#'
#' Every \code{frequency} batches, reports the samples per second since the
#' previous report (or since the first batch of the epoch) and the training
#' metric. \code{mx.callback.Speedometer} is the same callback under the name
#' of MXNet's Python API.
#'
#' @param batch.size Samples per batch.
#' @param frequency Report every \code{frequency} batches.
#' @return A callback \code{function(iteration, nbatch, env, verbose = TRUE)}.
#' @examples
#' cb <- mx.callback.log.speedometer(batch.size = 32, frequency = 2)
#' env <- new.env()
#' env$metric <- mx.metric.accuracy
#' env$train.metric <- env$metric$update(c(0, 1), matrix(c(0.9, 0.1, 0.3, 0.7), 2),
#'                                       env$metric$init())
#' for (b in 1:4) cb(1, b, env)
#' @export
mx.callback.log.speedometer <- function(batch.size, frequency = 50) {
  cb.check.count(batch.size, "batch.size")
  cb.check.count(frequency, "frequency")
  st <- new.env(parent = emptyenv())
  st$last <- -1       # nbatch of the previous call
  st$tic <- NULL      # time of the last report (or epoch start)
  st$tic.batch <- 0   # nbatch at tic
  function(iteration, nbatch, env, verbose = TRUE) {
    if (nbatch <= st$last || is.null(st$tic)) {
      # a new epoch (or first call): start timing from this batch
      st$tic <- as.double(Sys.time())
      st$tic.batch <- nbatch
    } else if (nbatch %% frequency == 0) {
      now <- as.double(Sys.time())
      elapsed <- now - st$tic
      done <- nbatch - st$tic.batch
      speed <- if (elapsed > 0) done * batch.size / elapsed else Inf
      if (verbose) {
        msg <- paste0("Batch [", nbatch, "] Speed: ", format(speed, digits = 6), " samples/sec")
        if (!is.null(env$metric) && !is.null(env$train.metric)) {
          result <- env$metric$get(env$train.metric)
          msg <- paste0(msg, " Train-", result$name, "=", result$value)
        }
        message(msg)
      }
      st$tic <- now
      st$tic.batch <- nbatch
    }
    st$last <- nbatch
    TRUE
  }
}

#' @rdname mx.callback.log.speedometer
#' @export
mx.callback.Speedometer <- function(batch.size, frequency = 50)
  mx.callback.log.speedometer(batch.size, frequency)

#' Save checkpoints
#'
#' Every \code{period} epochs, saves the model with
#' \code{mx.model.save(model, prefix, iteration)} (files
#' \code{<prefix>-symbol.json} and \code{<prefix>-<iteration>.params}).
#' With the defaults every checkpoint stays, as in MXNet. With \code{keep = k}
#' only the last \code{k} checkpoints saved by this callback stay (older
#' ones are deleted); \code{save.best = "validation"} (or \code{"train"})
#' also saves the epoch with the best value of that metric in the training
#' history and never deletes it while it is the best. A checkpoint is
#' written completely or not at all, even when training is interrupted.
#'
#' @param prefix Path prefix of the checkpoint files.
#' @param period Save every \code{period} epochs.
#' @param keep How many of the latest checkpoints to keep, or \code{NULL}
#'   for all.
#' @param save.best \code{NULL}, \code{"validation"} or \code{"train"}: also
#'   keep the best epoch by that value of the metric.
#' @param maximize \code{TRUE} when larger metric values are better;
#'   \code{NULL} guesses from the metric's name as
#'   \code{\link{mx.callback.early.stopping}} does.
#' @return A callback \code{function(iteration, nbatch, env, verbose = TRUE)}
#'   for \code{epoch.end.callback}; its attribute \code{"state"} is an
#'   environment with \code{saved} (the epochs on disk) and \code{best}.
#' @examples
#' cb <- mx.callback.save.checkpoint(file.path(tempdir(), "model"), period = 5)
#' # keep the last 2 checkpoints and the best epoch by validation metric
#' cb2 <- mx.callback.save.checkpoint(file.path(tempdir(), "m2"), keep = 2,
#'                                    save.best = "validation")
#' # used as mx.model.FeedForward.create(..., epoch.end.callback = cb)
#' @export
mx.callback.save.checkpoint <- function(prefix, period = 1, keep = NULL, save.best = NULL, maximize = NULL) {
  if (!is.character(prefix) || length(prefix) != 1L)
    stop("argument 'prefix' must be a file path prefix", call. = FALSE)
  cb.check.count(period, "period")
  if (!is.null(keep)) cb.check.count(keep, "keep")
  if (!is.null(save.best)) save.best <- match.arg(save.best, c("validation", "train"))
  st <- new.env(parent = emptyenv())
  st$saved <- integer(0)
  st$best <- NA_integer_
  cb <- function(iteration, nbatch, env, verbose = TRUE) {
    # in a distributed run every worker holds the same model: rank 0 writes it
    if (mx.kv.state$rank != 0L) return(TRUE)
    best <- !is.null(save.best) && cb.is.best(env$history, save.best, maximize)
    if (best) st$best <- as.integer(iteration)
    if (iteration %% period == 0 || best) {
      if (!exists("mx.model.save", mode = "function"))
        stop("mx.model.save() is not available in this build", call. = FALSE)
      save <- get("mx.model.save", mode = "function")
      # an interrupt waits until the files are written and the old ones gone
      suspendInterrupts({
        save(env$model, prefix, iteration)
        st$saved <- union(st$saved, as.integer(iteration))
        if (!is.null(keep)) st$saved <- cb.prune(st$saved, keep, st$best, period, prefix)
      })
      if (verbose) message(sprintf("Model checkpoint saved to %s-%04d.params", prefix, iteration))
    }
    TRUE
  }
  attr(cb, "state") <- st
  cb
}

# Is the history's last value of `what` the best so far?
cb.is.best <- function(h, what, maximize) {
  if (is.null(h) || !nrow(h))
    mx.error("value", "save.best needs the history of mx.model.FeedForward.create")
  v <- h[[what]]
  if (is.na(v[length(v)]))
    mx.error("value", sprintf("save.best = \"%s\" needs %s", what,
                              if (what == "validation") "eval.data and an eval.metric" else "an eval.metric"))
  v <- if (history.maximize(h, maximize)) -v else v
  v[length(v)] <= min(v, na.rm = TRUE) && !any(v[-length(v)] == v[length(v)], na.rm = TRUE)
}

# Are larger values of the history's metric better? `maximize`, or a guess
# from the metric's name (accuracy, AUC, F1, precision, recall: larger).
history.maximize <- function(h, maximize)
  if (is.null(maximize)) grepl("acc|auc|f1|precision|recall", attr(h, "metric"), ignore.case = TRUE) else isTRUE(maximize)

# Delete the parameter files of saved epochs other than the last `keep`
# periodic ones and the best epoch; returns the epochs left.
cb.prune <- function(saved, keep, best, period, prefix) {
  regular <- sort(setdiff(saved[saved %% period == 0], best))
  drop <- setdiff(saved, c(best, regular[seq_along(regular) > length(regular) - keep]))
  unlink(sprintf("%s-%04d.params", prefix, drop))
  setdiff(saved, drop)
}

#' Stop training early
#'
#' An epoch-end callback that stops training (returns \code{FALSE}) when the
#' training metric passes \code{train.metric}, when the evaluation metric
#' passes \code{eval.metric} (below the threshold when \code{maximize =
#' FALSE}, above it when \code{maximize = TRUE}), or after \code{bad.steps}
#' consecutive epochs in which the evaluation metric did not improve on its
#' best value (improve = strictly smaller, or strictly larger with
#' \code{maximize = TRUE}). The best value restarts when training restarts
#' (the epoch number goes down).
#'
#' @param train.metric Threshold for the training metric, or \code{NULL}.
#' @param eval.metric Threshold for the evaluation metric, or \code{NULL}.
#' @param bad.steps Number of epochs without improvement of the evaluation
#'   metric after which to stop, or \code{NULL}.
#' @param maximize \code{TRUE} when larger metric values are better (e.g.
#'   accuracy), \code{FALSE} for losses.
#' @param verbose Report why training stops.
#' @return A callback \code{function(iteration, nbatch, env, verbose = TRUE)}.
#' @examples
#' cb <- mx.callback.early.stop(bad.steps = 2, maximize = TRUE)
#' env <- new.env()
#' env$metric <- mx.metric.custom("acc", function(label, pred) pred)
#' for (it in 1:5) {
#'   env$eval.metric <- env$metric$update(NULL, c(0.5, 0.6, 0.6, 0.55, 0.7)[it],
#'                                        env$metric$init())
#'   if (!cb(it, 0, env)) { cat("stopped at epoch", it, "\n"); break }
#' }
#' @export
mx.callback.early.stop <- function(train.metric = NULL, eval.metric = NULL, bad.steps = NULL,
                                   maximize = FALSE, verbose = FALSE) {
  if (!is.null(bad.steps)) cb.check.count(bad.steps, "bad.steps")
  maximize <- isTRUE(maximize)
  show <- isTRUE(verbose)
  st <- new.env(parent = emptyenv())
  st$best <- NULL
  st$best.iter <- NA
  st$bad <- 0
  st$last <- -Inf
  passed <- function(value, threshold)
    !is.na(value) && (if (maximize) value > threshold else value < threshold)
  better <- function(value, best)
    !is.na(value) && (is.null(best) || (if (maximize) value > best else value < best))
  function(iteration, nbatch, env, verbose = TRUE) {
    say <- show && isTRUE(verbose)
    if (iteration <= st$last) {          # a new training run
      st$best <- NULL
      st$best.iter <- NA
      st$bad <- 0
    }
    st$last <- iteration
    if (!is.null(env$metric)) {
      if (!is.null(train.metric) && !is.null(env$train.metric)) {
        result <- env$metric$get(env$train.metric)
        if (passed(result$value, train.metric)) {
          if (say) message("Train-", result$name, "=", result$value, " reached ", train.metric,
                           ": stopping at iteration [", iteration, "]")
          return(FALSE)
        }
      }
      if (!is.null(eval.metric) && !is.null(env$eval.metric)) {
        result <- env$metric$get(env$eval.metric)
        if (passed(result$value, eval.metric)) {
          if (say) message("Validation-", result$name, "=", result$value, " reached ",
                           eval.metric, ": stopping at iteration [", iteration, "]")
          return(FALSE)
        }
      }
      if (!is.null(bad.steps) && !is.null(env$eval.metric)) {
        value <- env$metric$get(env$eval.metric)$value
        if (better(value, st$best)) {
          st$best <- value
          st$best.iter <- iteration
          st$bad <- 0
        } else {
          st$bad <- st$bad + 1
          if (st$bad >= bad.steps) {
            if (say) message("Best score=", st$best, ", iteration [", st$best.iter, "]")
            return(FALSE)
          }
        }
      }
    }
    TRUE
  }
}
