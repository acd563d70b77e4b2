#' Random numbers
#'
#' The engine draws from a counter-based generator whose seed comes from R's
#' own random number generator at each call, so \code{set.seed()} alone makes
#' results reproducible (whatever the number of threads).
#' \code{mx.set.seed(seed)} is \code{set.seed(seed)}, kept for MXNet scripts.
#'
#' @param seed An integer seed.
#' @param shape Dimensions in R order.
#' @param min,max Range of the uniform distribution.
#' @param mean,sd Mean and standard deviation of the normal distribution.
#' @param ctx Device (default \code{mx.ctx.default()}).
#' @param dtype \code{"float32"} (default) or \code{"float64"}.
#' @return \code{mx.runif}/\code{mx.rnorm}: an MXNDArray.
#' @examples
#' mx.set.seed(1)
#' a <- as.array(mx.runif(c(2, 3)))
#' set.seed(1)
#' b <- as.array(mx.runif(c(2, 3)))
#' identical(a, b)
#' @export
mx.set.seed <- function(seed) {
  set.seed(seed)
  invisible(NULL)
}

#' @rdname mx.set.seed
#' @export
mx.runif <- function(shape, min = 0, max = 1, ctx = NULL, dtype = "float32") {
  if (is.null(ctx)) ctx <- mx.ctx.default()
  nd.invoke("random_uniform", list(),
            list(low = min, high = max, shape = shape, ctx = ctx, dtype = dtype))
}

#' @rdname mx.set.seed
#' @export
mx.rnorm <- function(shape, mean = 0, sd = 1, ctx = NULL, dtype = "float32") {
  if (is.null(ctx)) ctx <- mx.ctx.default()
  nd.invoke("random_normal", list(),
            list(loc = mean, scale = sd, shape = shape, ctx = ctx, dtype = dtype))
}
