# Learning-rate schedulers. A scheduler is function(optimizerEnv): the
# optimizer calls it before each update, after counting that update, with its
# environment (lr, count, num_update); the scheduler changes lr in place.
#
# num_update counts updates from 1 (the first update of a weight has
# num_update 1, as in MXNet's Python optimizers); MXNet's R optimizers started
# at 0, which shifted every change by one update.

sched.check <- function(factor_val, stop_factor_lr) {
  if (!is.numeric(factor_val) || length(factor_val) != 1L || is.na(factor_val) ||
      factor_val > 1 || factor_val <= 0)
    stop("argument 'factor_val' must be a number in (0, 1] (the factor the learning rate is multiplied by)",
         call. = FALSE)
  if (!is.numeric(stop_factor_lr) || length(stop_factor_lr) != 1L || is.na(stop_factor_lr))
    stop("argument 'stop_factor_lr' must be a number", call. = FALSE)
}

sched.apply <- function(env, factor_val, stop_factor_lr, verbose) {
  lr <- env$lr * factor_val
  if (lr < stop_factor_lr) {
    lr <- stop_factor_lr
    if (verbose) message("Update[", env$num_update, "]: now learning rate arrived at ", lr,
                         ", will not change in the future")
  } else if (verbose) {
    message("Update[", env$num_update, "]: learning rate is changed to ", lr)
  }
  env$lr <- lr
}

#' Learning-rate schedulers
#'
#' \code{mx.lr_scheduler.FactorScheduler} multiplies the learning rate by
#' \code{factor_val} every \code{step} updates: updates \code{1..step} use the
#' initial rate, updates \code{step+1..2*step} the rate times
#' \code{factor_val}, and so on. \code{mx.lr_scheduler.MultiFactorScheduler}
#' multiplies it by \code{factor_val} once past each update count in the
#' increasing vector \code{step}. The rate never falls below
#' \code{stop_factor_lr}.
#'
#' A scheduler is \code{function(optimizerEnv)}; give it to an optimizer as
#' \code{lr_scheduler} (for example through \code{mx.model.FeedForward.create(...,
#' lr_scheduler = )}). Updates are counted per weight; \code{num_update} is the
#' largest count, i.e. the number of batches seen.
#'
#' @param step \code{FactorScheduler}: the number of updates between changes
#'   (at least 1). \code{MultiFactorScheduler}: increasing update counts.
#' @param factor_val The factor (at most 1).
#' @param stop_factor_lr The smallest learning rate.
#' @param verbose Report each change with \code{message()}.
#' @return A scheduler function.
#' @examples
#' sched <- mx.lr_scheduler.FactorScheduler(step = 2, factor_val = 0.5, verbose = FALSE)
#' opt <- mx.opt.create("sgd", learning.rate = 1, lr_scheduler = sched)
#' w <- mx.nd.zeros(1)
#' lrs <- sapply(1:6, function(i) {
#'   opt$update(1, w, mx.nd.ones(1), NULL)
#'   opt$env$lr
#' })
#' lrs  # 1 1 0.5 0.5 0.25 0.25
#' @name mx.lr_scheduler
#' @export
mx.lr_scheduler.FactorScheduler <- function(step, factor_val, stop_factor_lr = 1e-8,
                                            verbose = TRUE) {
  if (!is.numeric(step) || length(step) != 1L || is.na(step) || step < 1)
    stop("argument 'step' must be a number of updates, at least 1", call. = FALSE)
  sched.check(factor_val, stop_factor_lr)
  force(verbose)
  function(optimizerEnv) {
    if (is.null(optimizerEnv$count)) optimizerEnv$count <- 0
    while (optimizerEnv$num_update > optimizerEnv$count + step) {
      optimizerEnv$count <- optimizerEnv$count + step
      sched.apply(optimizerEnv, factor_val, stop_factor_lr, verbose)
    }
    invisible(NULL)
  }
}

#' @rdname mx.lr_scheduler
#' @export
mx.lr_scheduler.MultiFactorScheduler <- function(step, factor_val, stop_factor_lr = 1e-8,
                                                 verbose = TRUE) {
  if (!is.numeric(step) || length(step) < 1L || anyNA(step))
    stop("argument 'step' must be an increasing vector of update counts", call. = FALSE)
  if (any(diff(step) <= 0)) stop("argument 'step' must be increasing", call. = FALSE)
  if (any(step < 1)) stop("argument 'step' must hold update counts of at least 1", call. = FALSE)
  sched.check(factor_val, stop_factor_lr)
  force(verbose)
  function(optimizerEnv) {
    k <- optimizerEnv$cur_step_ind
    if (is.null(k)) k <- 1L
    while (k <= length(step) && optimizerEnv$num_update > step[k]) {
      optimizerEnv$count <- step[k]
      k <- k + 1L
      sched.apply(optimizerEnv, factor_val, stop_factor_lr, verbose)
    }
    optimizerEnv$cur_step_ind <- k
    invisible(NULL)
  }
}
