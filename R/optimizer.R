# Optimizers: MXNet's R optimizers (mx.opt.*) on top of the fused update ops
# of src/ops/optimizer.c (sgd_update, sgd_mom_update, nag_mom_update,
# adam_update, rmsprop_update, rmspropalex_update, adagrad_update,
# adadelta_update).
#
# An optimizer is a list of class "mx.optimizer":
#   create.state(index, weight)       -> NULL, an NDArray or a list of NDArrays
#   update(index, weight, grad, state) -> the state; the weight (and the state
#                                         arrays) are updated in place by one
#                                         fused op call (out = weight)
#   env                                -> the optimizer's environment: lr, wd,
#                                         num_update, count, lr_scheduler and
#                                         the per-index update counts
# Per update: count the update of this index, let the scheduler (if any)
# adjust env$lr, then call the fused op once.

# The environment shared by an optimizer's closures.
opt.env <- function(learning.rate, wd, lr_scheduler) {
  if (!is.null(lr_scheduler) && !is.function(lr_scheduler))
    stop("argument 'lr_scheduler' must be a function(optimizerEnv) or NULL", call. = FALSE)
  env <- new.env(parent = emptyenv())
  env$lr <- learning.rate
  env$wd <- wd
  env$count <- 0          # schedulers: updates at the last lr change
  env$num_update <- 0     # max over indices of the updates done so far
  env$lr_scheduler <- lr_scheduler
  env$counts <- numeric(0)  # update counts of whole-number indices
  env$index.count <- new.env(parent = emptyenv())   # of other keys
  env
}

# Count one update of weight `index` (MXNet's _update_count: the count
# includes this update, num_update is the largest count over indices), then
# run the scheduler, which may change env$lr. Returns this index's count.
opt.count <- function(env, index) {
  n <- opt.tally(env, index)
  if (!is.null(env$lr_scheduler)) env$lr_scheduler(env)
  n
}

# Add one to the update counts of distinct `indices` (whole numbers, as the
# updater's: a vector; other keys: an environment) and raise num_update to
# the largest; returns the new counts.
opt.tally <- function(env, indices) {
  if (is.numeric(indices) && length(indices) > 0L &&
      isTRUE(all(indices >= 1 & indices <= 1e6 & indices == trunc(indices)))) {
    cnt <- env$counts
    m <- max(indices)
    if (length(cnt) < m) cnt <- c(cnt, numeric(m - length(cnt)))
    n <- cnt[indices] + 1
    cnt[indices] <- n
    env$counts <- cnt
  } else {
    n <- vapply(indices, function(i) {
      key <- as.character(i)
      v <- env$index.count[[key]]
      v <- if (is.null(v)) 1 else v + 1
      env$index.count[[key]] <- v
      v
    }, 0, USE.NAMES = FALSE)
  }
  if (max(n) > env$num_update) env$num_update <- max(n)
  n
}

opt.clip <- function(clip_gradient) {
  if (is.null(clip_gradient)) return(-1)
  if (!is.numeric(clip_gradient) || length(clip_gradient) != 1L || is.na(clip_gradient))
    stop("argument 'clip_gradient' must be a number (negative: no clipping) or NULL", call. = FALSE)
  as.double(clip_gradient)
}

# A finite number within [lower, upper) (or [lower, upper] when upper.open
# is FALSE); non-finite hyper-parameters would turn every weight into NaN.
opt.check.num <- function(x, name, lower = -Inf, upper = Inf, lower.open = FALSE) {
  if (!is.numeric(x) || length(x) != 1L || !is.finite(x))
    stop(sprintf("argument '%s' must be a single finite number", name), call. = FALSE)
  if (x < lower || (lower.open && x == lower) || x >= upper)
    stop(sprintf("argument '%s' must be %s %s%s (got %s)", name, if (lower.open) ">" else ">=",
                 format(lower), if (is.finite(upper)) paste(" and <", format(upper)) else "",
                 format(x)), call. = FALSE)
  as.double(x)
}

# An array of zeros like the weight (same shape, dtype and device).
opt.zeros.like <- function(weight) nd.invoke("zeros_like", list(weight))

# One fused update: the dense op, or for a row_sparse gradient (an Embedding
# with sparse_grad = TRUE in mx.model.FeedForward.create) its lazy version,
# which updates the stored rows only (MXNet's lazy_update).
opt.lazy.ops <- c(sgd_update = "_sparse_rsp_sgd_update", sgd_mom_update = "_sparse_rsp_sgd_mom_update",
                  adam_update = "_sparse_rsp_adam_update", adagrad_update = "_sparse_rsp_adagrad_update")
opt.invoke <- function(op, inputs, params, weight) {
  grad <- inputs[[2L]]
  if (!inherits(grad, "MXNDArrayRowSparse")) return(nd.invoke(op, inputs, params, weight))
  lazy <- opt.lazy.ops[op]
  if (is.na(lazy))
    mx.error("unsupported", sprintf("%s has no lazy update for row_sparse gradients (sgd, adam and adagrad have); use sparse_grad = FALSE", op))
  nd.invoke(lazy, c(list(weight, grad$data, grad$indices), inputs[-(1:2)]), params, weight)
}

opt.new <- function(create.state, update, env)
  structure(list(create.state = create.state, update = update, env = env),
            class = "mx.optimizer")

# ------------------------------------------------------------------- SGD

# SGD and NAG differ only in the fused op applied when there is momentum.
opt.momentum <- function(mom.op, learning.rate, momentum, wd, rescale.grad, clip_gradient,
                         lr_scheduler) {
  learning.rate <- opt.check.num(learning.rate, "learning.rate", 0)
  momentum <- opt.check.num(momentum, "momentum", 0)
  env <- opt.env(learning.rate, opt.check.num(wd, "wd", 0), lr_scheduler)
  params <- list(lr = learning.rate, momentum = momentum, wd = 0,
                 rescale_grad = opt.check.num(rescale.grad, "rescale.grad"),
                 clip_gradient = opt.clip(clip_gradient))
  params.plain <- params[names(params) != "momentum"]
  create.state <- function(index, weight) {
    if (momentum == 0) NULL else opt.zeros.like(weight)
  }
  update <- function(index, weight, grad, state) {
    opt.count(env, index)
    p <- if (is.null(state)) params.plain else params
    p$lr <- env$lr
    p$wd <- env$wd
    if (is.null(state)) opt.invoke("sgd_update", list(weight, grad), p, weight)
    else opt.invoke(mom.op, list(weight, grad, state), p, weight)
    state
  }
  # SGD's updates of several dense weights as one multi-weight call (the
  # same kernel per weight, so the same values), counted and scheduled
  # weight by weight as `update` does
  multi <- if (mom.op == "sgd_mom_update") c("multi_sgd_update", "multi_sgd_mom_update")
  update.multi <- if (!is.null(multi)) function(indices, weights, grads, states) {
    n <- length(indices)
    if (is.null(env$lr_scheduler)) {        # lr and wd stay: count at once
      opt.tally(env, indices)
      lrs <- rep(env$lr, n)
      wds <- rep(env$wd, n)
    } else {
      lrs <- wds <- numeric(n)
      for (k in seq_len(n)) {
        opt.count(env, indices[[k]])
        lrs[k] <- env$lr
        wds[k] <- env$wd
      }
    }
    p <- if (momentum == 0) params.plain else params
    p$lr <- p$wd <- NULL
    # the op's inputs: weight, grad[, state] per weight
    per <- if (momentum == 0) 2L else 3L
    args <- vector("list", per * n)
    args[seq.int(1L, by = per, length.out = n)] <- weights
    args[seq.int(2L, by = per, length.out = n)] <- grads
    if (per == 3L) args[seq.int(3L, by = per, length.out = n)] <- states
    weights <- unname(weights)
    # at most opt.multi.max weights a call: lrs and wds are engine tuples
    for (at in seq.int(1L, n, by = opt.multi.max)) {
      last <- min(n, at + opt.multi.max - 1L)
      k <- at:last
      nd.invoke(multi[[per - 1L]], args[(per * (at - 1L) + 1L):(per * last)],
                c(list(lrs = lrs[k], wds = wds[k]), p, list(num_weights = length(k))), weights[k])
    }
    states
  }
  o <- opt.new(create.state, update, env)
  o$update.multi <- update.multi
  o
}

mx.opt.sgd <- function(learning.rate = 0.01, momentum = 0, wd = 0, rescale.grad = 1,
                       clip_gradient = -1, lr_scheduler = NULL)
  opt.momentum("sgd_mom_update", learning.rate, momentum, wd, rescale.grad, clip_gradient,
               lr_scheduler)

# ------------------------------------------------------------------- NAG

mx.opt.nag <- function(learning.rate = 0.01, momentum = 0, wd = 0, rescale.grad = 1,
                       clip_gradient = -1, lr_scheduler = NULL)
  opt.momentum("nag_mom_update", learning.rate, momentum, wd, rescale.grad, clip_gradient,
               lr_scheduler)

# ------------------------------------------------------------------ Adam

mx.opt.adam <- function(learning.rate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8,
                        wd = 0, rescale.grad = 1, clip_gradient = -1, lr_scheduler = NULL,
                        bias.correction = FALSE) {
  learning.rate <- opt.check.num(learning.rate, "learning.rate", 0)
  beta1 <- opt.check.num(beta1, "beta1", 0, 1)
  beta2 <- opt.check.num(beta2, "beta2", 0, 1)
  if (!is.logical(bias.correction) || length(bias.correction) != 1L || is.na(bias.correction))
    stop("argument 'bias.correction' must be TRUE or FALSE", call. = FALSE)
  env <- opt.env(learning.rate, opt.check.num(wd, "wd", 0), lr_scheduler)
  params <- list(lr = learning.rate, beta1 = beta1, beta2 = beta2,
                 epsilon = opt.check.num(epsilon, "epsilon", 0, lower.open = TRUE), wd = 0,
                 rescale_grad = opt.check.num(rescale.grad, "rescale.grad"),
                 clip_gradient = opt.clip(clip_gradient))
  create.state <- function(index, weight)
    list(mean = opt.zeros.like(weight), variance = opt.zeros.like(weight))
  update <- function(index, weight, grad, state) {
    t <- opt.count(env, index)
    p <- params
    # MXNet 1.9.1's R optimizer passes the rate unchanged; Python MXNet (and
    # the Adam paper) fold the bias correction into it
    p$lr <- if (bias.correction) env$lr * sqrt(1 - beta2^t) / (1 - beta1^t) else env$lr
    p$wd <- env$wd
    opt.invoke("adam_update", list(weight, grad, state$mean, state$variance), p, weight)
    state
  }
  opt.new(create.state, update, env)
}

# --------------------------------------------------------------- RMSProp

mx.opt.rmsprop <- function(learning.rate = 0.002, centered = TRUE, gamma1 = 0.95,
                           gamma2 = 0.9, epsilon = 1e-4, wd = 0, rescale.grad = 1,
                           clip_gradient = -1, lr_scheduler = NULL) {
  learning.rate <- opt.check.num(learning.rate, "learning.rate", 0)
  env <- opt.env(learning.rate, opt.check.num(wd, "wd", 0), lr_scheduler)
  centered <- isTRUE(centered)
  params <- list(lr = learning.rate, gamma1 = opt.check.num(gamma1, "gamma1"),
                 gamma2 = opt.check.num(gamma2, "gamma2"),
                 epsilon = opt.check.num(epsilon, "epsilon"), wd = 0,
                 rescale_grad = opt.check.num(rescale.grad, "rescale.grad"),
                 clip_gradient = opt.clip(clip_gradient))
  if (!centered) params$gamma2 <- NULL
  create.state <- function(index, weight) {
    if (centered)
      list(n = opt.zeros.like(weight), g = opt.zeros.like(weight),
           delta = opt.zeros.like(weight))
    else
      list(n = opt.zeros.like(weight))
  }
  update <- function(index, weight, grad, state) {
    opt.count(env, index)
    p <- params
    p$lr <- env$lr
    p$wd <- env$wd
    if (centered)
      opt.invoke("rmspropalex_update", list(weight, grad, state$n, state$g, state$delta),
                p, weight)
    else
      opt.invoke("rmsprop_update", list(weight, grad, state$n), p, weight)
    state
  }
  opt.new(create.state, update, env)
}

# --------------------------------------------------------------- AdaGrad

mx.opt.adagrad <- function(learning.rate = 0.05, epsilon = 1e-8, wd = 0, rescale.grad = 1,
                           clip_gradient = -1, lr_scheduler = NULL) {
  learning.rate <- opt.check.num(learning.rate, "learning.rate", 0)
  env <- opt.env(learning.rate, opt.check.num(wd, "wd", 0), lr_scheduler)
  params <- list(lr = learning.rate, epsilon = opt.check.num(epsilon, "epsilon"), wd = 0,
                 rescale_grad = opt.check.num(rescale.grad, "rescale.grad"),
                 clip_gradient = opt.clip(clip_gradient))
  create.state <- function(index, weight) opt.zeros.like(weight)
  update <- function(index, weight, grad, state) {
    opt.count(env, index)
    p <- params
    p$lr <- env$lr
    p$wd <- env$wd
    opt.invoke("adagrad_update", list(weight, grad, state), p, weight)
    state
  }
  opt.new(create.state, update, env)
}

# -------------------------------------------------------------- AdaDelta

mx.opt.adadelta <- function(rho = 0.90, epsilon = 1e-5, wd = 0, rescale.grad = 1,
                            clip_gradient = -1) {
  env <- opt.env(NA_real_, opt.check.num(wd, "wd", 0), NULL)
  params <- list(rho = opt.check.num(rho, "rho"), epsilon = opt.check.num(epsilon, "epsilon"),
                 wd = 0, rescale_grad = opt.check.num(rescale.grad, "rescale.grad"),
                 clip_gradient = opt.clip(clip_gradient))
  create.state <- function(index, weight)
    list(acc.g = opt.zeros.like(weight), acc.delta = opt.zeros.like(weight))
  update <- function(index, weight, grad, state) {
    opt.count(env, index)
    p <- params
    p$wd <- env$wd
    opt.invoke("adadelta_update", list(weight, grad, state$acc.g, state$acc.delta), p, weight)
    state
  }
  opt.new(create.state, update, env)
}

#' Create an optimizer by name
#'
#' The optimizers of MXNet's R package, each running one fused update op per
#' weight and batch (\code{sgd_update}, \code{sgd_mom_update},
#' \code{nag_mom_update}, \code{adam_update}, \code{rmsprop_update},
#' \code{rmspropalex_update}, \code{adagrad_update}, \code{adadelta_update}).
#'
#' Arguments (\code{...}) and defaults by name:
#' \describe{
#'   \item{\code{"sgd"}}{\code{learning.rate = 0.01}, \code{momentum = 0},
#'     \code{wd = 0}, \code{rescale.grad = 1}, \code{clip_gradient = -1}
#'     (negative or \code{NULL}: no clipping), \code{lr_scheduler = NULL}.
#'     \code{mom = momentum * mom - lr * (clip(rescale.grad * grad) + wd * w);
#'     w = w + mom}.}
#'   \item{\code{"nag"}}{as \code{"sgd"}, with Nesterov momentum.}
#'   \item{\code{"adam"}}{\code{learning.rate = 1e-3}, \code{beta1 = 0.9},
#'     \code{beta2 = 0.999}, \code{epsilon = 1e-8}, \code{wd},
#'     \code{rescale.grad}, \code{clip_gradient}, \code{lr_scheduler},
#'     \code{bias.correction = FALSE}. By default, as MXNet 1.9.1's R
#'     package, the step is \code{lr * m / (sqrt(v) + epsilon)} with the raw
#'     moving averages \code{m} and \code{v} (no bias correction: early steps
#'     are about \code{sqrt(1 - beta2) / (1 - beta1)}, 3.16 with the defaults,
#'     times larger than in the Adam paper). \code{bias.correction = TRUE}
#'     gives the paper's (and Python MXNet's) update, folding the correction
#'     into the rate: \code{lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)},
#'     \code{t} the number of updates of that weight. \code{beta1} and
#'     \code{beta2} must lie in [0, 1) and \code{epsilon} be positive.}
#'   \item{\code{"rmsprop"}}{\code{learning.rate = 0.002}, \code{centered =
#'     TRUE} (Graves' variant), \code{gamma1 = 0.95}, \code{gamma2 = 0.9},
#'     \code{epsilon = 1e-4}, \code{wd}, \code{rescale.grad},
#'     \code{clip_gradient}, \code{lr_scheduler}.}
#'   \item{\code{"adagrad"}}{\code{learning.rate = 0.05}, \code{epsilon =
#'     1e-8}, \code{wd}, \code{rescale.grad}, \code{clip_gradient},
#'     \code{lr_scheduler}.}
#'   \item{\code{"adadelta"}}{\code{rho = 0.9}, \code{epsilon = 1e-5},
#'     \code{wd}, \code{rescale.grad}, \code{clip_gradient}.}
#' }
#' Every hyper-parameter must be a finite number (an error names the
#' argument); \code{learning.rate}, \code{wd} and \code{momentum} must not
#' be negative.
#'
#' float16 and bfloat16 weights (a network that casts its data to half
#' precision, \code{mx.symbol.Cast(data, dtype = "float16")}, has them) are
#' updated through float32 master copies, as MXNet's \code{multi_precision}:
#' the updater (\code{\link{mx.opt.get.updater}}) keeps a float32 copy of
#' each such weight, runs the optimizer on it with the gradient converted to
#' float32, and writes the rounded result into the weight.
#'
#' An optimizer is a list with \code{create.state(index, weight)} (the state
#' NDArrays of one weight, or \code{NULL}), \code{update(index, weight, grad,
#' state)} (updates \code{weight} and the state arrays in place and returns
#' the state) and \code{env}, the environment holding \code{lr}, \code{wd},
#' \code{num_update} and the per-weight update counts, which a learning-rate
#' scheduler (\code{\link{mx.lr_scheduler.FactorScheduler}}) adjusts.
#'
#' @param name \code{"sgd"}, \code{"nag"}, \code{"adam"}, \code{"rmsprop"},
#'   \code{"adagrad"} or \code{"adadelta"}.
#' @param ... Arguments of the optimizer (see Details).
#' @param multi_precision \code{TRUE} (the default): float32 master copies of
#'   half-precision weights. \code{FALSE} refuses half-precision weights
#'   (updating them in half precision would round small steps away).
#' @return An optimizer (class \code{mx.optimizer}).
#' @seealso \code{\link{mx.opt.get.updater}}
#' @examples
#' opt <- mx.opt.create("sgd", learning.rate = 0.1, momentum = 0.9)
#' w <- mx.nd.array(c(1, 2, 3))
#' state <- opt$create.state(1, w)
#' state <- opt$update(1, w, mx.nd.array(c(0.5, 0.5, 0.5)), state)
#' as.array(w)
#' @export
mx.opt.create <- function(name, ..., multi_precision = TRUE) {
  if (!is.character(name) || length(name) != 1L)
    stop("argument 'name' must be the name of an optimizer", call. = FALSE)
  if (!isTRUE(multi_precision) && !isFALSE(multi_precision))
    stop("argument 'multi_precision' must be TRUE or FALSE", call. = FALSE)
  o <- switch(name,
    sgd = mx.opt.sgd(...),
    nag = mx.opt.nag(...),
    adam = mx.opt.adam(...),
    rmsprop = mx.opt.rmsprop(...),
    adagrad = mx.opt.adagrad(...),
    adadelta = mx.opt.adadelta(...),
    stop(sprintf("unknown optimizer '%s' (known: sgd, nag, adam, rmsprop, adagrad, adadelta)",
                 name), call. = FALSE))
  o$multi.precision <- multi_precision
  o
}

#' Updater function of an optimizer
#'
#' Returns a function that applies one optimizer step to a list of weights
#' given the list of their gradients. Optimizer states are created on first
#' use of each weight (on the weight's device); weights are updated in place
#' (one fused op call per weight) and the list of weights is returned.
#' Entries whose gradient is \code{NULL} are left unchanged. float16 and
#' bfloat16 weights are updated through float32 master copies that the
#' updater keeps (see \code{\link{mx.opt.create}}, \code{multi_precision}).
#'
#' @param optimizer An optimizer from \code{\link{mx.opt.create}} (or its
#'   name, created with default arguments).
#' @param weights The list of weight NDArrays (its length fixes the number of
#'   states).
#' @param ctx Unused (states live on each weight's device); kept for MXNet
#'   compatibility.
#' @return \code{function(weight.list, grad.list)} returning the updated
#'   weight list.
#' @examples
#' w <- list(mx.nd.array(c(1, 2)), mx.nd.array(3))
#' upd <- mx.opt.get.updater(mx.opt.create("adam", learning.rate = 0.1), w)
#' w <- upd(w, list(mx.nd.array(c(1, -1)), NULL))
#' as.array(w[[1]])
#' @export
mx.opt.get.updater <- function(optimizer, weights, ctx = NULL) {
  if (is.character(optimizer)) optimizer <- mx.opt.create(optimizer)
  if (!is.list(optimizer) || !is.function(optimizer$update) ||
      !is.function(optimizer$create.state))
    stop("argument 'optimizer' must be an optimizer from mx.opt.create()", call. = FALSE)
  n <- length(weights)
  states <- vector("list", n)
  created <- logical(n)
  update <- opt.master.update(optimizer$update)
  create.state <- opt.master.state(optimizer$create.state, !isFALSE(optimizer$multi.precision))
  function(weight.list, grad.list) {
    idx <- seq_len(min(length(weight.list), length(grad.list)))
    todo <- idx[!vapply(grad.list[idx], is.null, NA) & !vapply(weight.list[idx], is.null, NA)]
    if (length(created) < length(idx)) {
      created[(length(created) + 1L):length(idx)] <<- FALSE
      length(states) <<- length(idx)
    }
    for (i in todo[!created[todo]]) {
      states[i] <<- list(create.state(i, weight.list[[i]]))
      created[i] <<- TRUE
    }
    many <- is.function(optimizer$update.multi) && length(todo) > 1L &&
      .Call(C_mx_r_nd_all_cpu_dtype, c(weight.list[todo], grad.list[todo]), "float32")
    if (many) optimizer$update.multi(todo, weight.list[todo], grad.list[todo], states[todo])
    else for (i in todo) states[i] <<- list(update(i, weight.list[[i]], grad.list[[i]], states[[i]]))
    weight.list
  }
}

# Multi-precision (MXNet's multi_precision): a float16 or bfloat16 weight is
# updated through a float32 master copy, which the optimizer's state and
# update see in its place (with the gradient converted to float32); the
# weight receives the master copy rounded after each step.  Small steps that
# half precision would round away accumulate in the master copy.
opt.half <- function(a) is.mx.ndarray(a) && mx.nd.dtype(a) %in% c("float16", "bfloat16")

# The state of a half weight (made on its first update) holds the master
# copy; multi_precision = FALSE refuses the weight there, before any update.
opt.master.state <- function(create.state, multi.precision) {
  force(create.state)
  function(index, weight) {
    if (!opt.half(weight)) return(create.state(index, weight))
    if (!multi.precision)
      mx.error("dtype", paste("a float16 or bfloat16 weight is updated through a float32 master copy:",
                              "create the optimizer with multi_precision = TRUE"))
    master <- mx.nd.cast(weight, "float32")
    structure(list(master = master, state = create.state(index, master)), class = "mx.opt.master")
  }
}

opt.master.update <- function(update) {
  force(update)
  function(index, weight, grad, state) {
    if (!inherits(state, "mx.opt.master")) return(update(index, weight, grad, state))
    g <- if (inherits(grad, "MXNDArrayRowSparse")) grad else mx.nd.cast(grad, "float32")
    state$state <- update(index, state$master, g, state$state)
    nd.invoke("Cast", list(state$master), list(dtype = mx.nd.dtype(weight)), weight)
    state
  }
}

# The most values an engine tuple parameter holds (MX_MAX_TUPLE, mx.h).
# The updater sends SGD's weights in such calls when the weights and their
# gradients are all dense float32 CPU arrays (one device and dtype a call;
# row_sparse gradients take the lazy updates one by one).
opt.multi.max <- 16L
