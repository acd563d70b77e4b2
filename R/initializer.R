# Parameter initializers (MXNet's R API). An initializer is
# function(name, shape, ctx, allow.unknown = FALSE) returning an NDArray (or
# NULL): names ending in "weight" are drawn at random by the initializer,
# the rest follow mx.init.internal.default's suffix rules. Random draws go
# through the engine (mx.runif / mx.rnorm), whose seeds come from R's RNG, so
# set.seed() makes them reproducible.

init.suffix <- function(name, suffix) endsWith(name, suffix)

# Initial value of a non-weight parameter from its name; NULL for inputs
# (names ending in "data" or "label") and, with allow.unknown, for names
# without a rule.
mx.init.internal.default <- function(name, shape, ctx = NULL, allow.unknown = FALSE) {
  if (!is.character(name) || length(name) != 1L)
    stop("argument 'name' must be a single string", call. = FALSE)
  if (init.suffix(name, "data") || init.suffix(name, "label")) return(NULL)
  zeros <- c("bias", "beta", "moving_mean", "moving_avg")
  ones <- c("gamma", "moving_var", "moving_inv_var")
  for (s in zeros) if (init.suffix(name, s)) return(mx.nd.zeros(shape, ctx))
  for (s in ones) if (init.suffix(name, s)) return(mx.nd.ones(shape, ctx))
  if (allow.unknown) return(NULL)
  # MXNet 1.9.1's wording first (its tests and scripts match on it, misspelling
  # and double space included), then which suffixes have a rule
  mx.error("value", sprintf(paste0("Unkown initialization pattern for  %s: the name must end in ",
                                   "weight, bias, gamma, beta, moving_mean, moving_var, ",
                                   "moving_inv_var or moving_avg"), name))
}

init.is.weight <- function(name) {
  if (!is.character(name) || length(name) != 1L)
    stop("argument 'name' must be a single string", call. = FALSE)
  endsWith(name, "weight")
}

#' Initializers
#'
#' An initializer is \code{function(name, shape, ctx, allow.unknown = FALSE)}
#' returning the initial NDArray of the parameter \code{name} (dimensions
#' \code{shape} in R order). Parameters whose names end in \code{weight} are
#' drawn at random: \code{mx.init.uniform(scale)} from U(-scale, scale),
#' \code{mx.init.normal(sd)} from N(0, sd), \code{mx.init.Xavier} from
#' U(-s, s) or N(0, s) with \code{s = sqrt(magnitude / factor)}, where
#' \code{fan_out} is the last R dimension of the weight, \code{fan_in} the
#' product of the other dimensions, and \code{factor} is
#' \code{(fan_in + fan_out) / 2} (\code{"avg"}), \code{fan_in} (\code{"in"})
#' or \code{fan_out} (\code{"out"}). Other names by suffix: \code{bias},
#' \code{beta}, \code{moving_mean}, \code{moving_avg} give zeros; \code{gamma},
#' \code{moving_var}, \code{moving_inv_var} give ones; names ending in
#' \code{data} or \code{label} (inputs) give \code{NULL}; anything else is an
#' error, or \code{NULL} when \code{allow.unknown} is \code{TRUE}.
#'
#' Random values come from the engine's generator, seeded from R's, so
#' \code{set.seed()} makes them reproducible.
#'
#' @param scale Half-width of the uniform distribution.
#' @param sd Standard deviation of the normal distribution.
#' @param rnd_type \code{"uniform"} or \code{"gaussian"}.
#' @param factor_type \code{"avg"}, \code{"in"} or \code{"out"}.
#' @param magnitude Scale numerator (3 gives Glorot's uniform bound).
#' @return An initializer function.
#' @examples
#' init <- mx.init.Xavier(magnitude = 2)
#' w <- init("fc1_weight", c(100, 50), mx.cpu())
#' range(as.array(w))
#' as.array(init("fc1_bias", 3, mx.cpu()))
#' @name mx.init
#' @export
mx.init.uniform <- function(scale) {
  if (!is.numeric(scale) || length(scale) != 1L || is.na(scale) || scale < 0)
    stop("argument 'scale' must be a non-negative number", call. = FALSE)
  function(name, shape, ctx = NULL, allow.unknown = FALSE) {
    if (!init.is.weight(name))
      return(mx.init.internal.default(name, shape, ctx, allow.unknown))
    mx.runif(shape, -scale, scale, ctx)
  }
}

#' @rdname mx.init
#' @export
mx.init.normal <- function(sd) {
  if (!is.numeric(sd) || length(sd) != 1L || is.na(sd) || sd < 0)
    stop("argument 'sd' must be a non-negative number", call. = FALSE)
  function(name, shape, ctx = NULL, allow.unknown = FALSE) {
    if (!init.is.weight(name))
      return(mx.init.internal.default(name, shape, ctx, allow.unknown))
    mx.rnorm(shape, 0, sd, ctx)
  }
}

#' @rdname mx.init
#' @export
mx.init.Xavier <- function(rnd_type = "uniform", factor_type = "avg", magnitude = 3) {
  rnd_type <- match.arg(rnd_type, c("uniform", "gaussian"))
  factor_type <- match.arg(factor_type, c("avg", "in", "out"))
  if (!is.numeric(magnitude) || length(magnitude) != 1L || is.na(magnitude) || magnitude < 0)
    stop("argument 'magnitude' must be a non-negative number", call. = FALSE)
  function(name, shape, ctx = NULL, allow.unknown = FALSE) {
    if (!init.is.weight(name))
      return(mx.init.internal.default(name, shape, ctx, allow.unknown))
    nd <- length(shape)
    fan_out <- if (nd) shape[nd] else 1
    fan_in <- if (nd > 1) prod(shape[-nd]) else 1
    factor <- switch(factor_type, avg = (fan_in + fan_out) / 2, "in" = fan_in, out = fan_out)
    scale <- if (factor > 0) sqrt(magnitude / factor) else 0
    if (rnd_type == "uniform") mx.runif(shape, -scale, scale, ctx)
    else mx.rnorm(shape, 0, scale, ctx)
  }
}

#' Initialize a list of parameters
#'
#' Applies an initializer to every named shape.
#'
#' @param initializer An initializer (\code{\link{mx.init.uniform}} and
#'   friends).
#' @param shape.array A named list of shapes (R order).
#' @param ctx The device (default \code{mx.ctx.default()}).
#' @param skip.unknown Leave out names without an initialization rule
#'   (instead of failing). Inputs (names ending in \code{data} or
#'   \code{label}) are always left out.
#' @return A named list of NDArrays.
#' @examples
#' p <- mx.init.create(mx.init.uniform(0.1),
#'                     list(fc_weight = c(4, 3), fc_bias = 3, data = c(4, 10)))
#' names(p)
#' @export
mx.init.create <- function(initializer, shape.array, ctx = NULL, skip.unknown = TRUE) {
  if (!is.function(initializer))
    stop("argument 'initializer' must be an initializer function (e.g. mx.init.uniform(0.01))",
         call. = FALSE)
  if (length(shape.array) == 0L) return(list())
  nms <- names(shape.array)
  if (is.null(nms) || any(!nzchar(nms)))
    stop("argument 'shape.array' must be a named list of shapes", call. = FALSE)
  ret <- lapply(seq_along(nms), function(i)
    initializer(nms[[i]], shape.array[[i]], ctx, allow.unknown = skip.unknown))
  names(ret) <- nms
  ret[!vapply(ret, is.null, logical(1))]
}
