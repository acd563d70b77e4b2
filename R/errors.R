#' Errors signalled by mxnet
#'
#' Every error of the engine, and every bad argument found by the package,
#' reaches R as a condition of class
#' \code{c("mxnet_<kind>_error", "mxnet_error", "error", "condition")}, so it
#' can be caught by kind with \code{tryCatch(..., mxnet_shape_error = function(e) ...)}
#' or as a whole with \code{mxnet_error = }. The kinds are
#' \describe{
#'   \item{\code{shape}}{shapes do not agree (engine status \code{shape}).}
#'   \item{\code{dtype}}{an element type is not supported or does not match
#'     (\code{dtype}).}
#'   \item{\code{value}}{an argument or parameter is invalid (\code{arg}).}
#'   \item{\code{io}}{a file cannot be opened, read or written, or is malformed
#'     (\code{io}, \code{format}).}
#'   \item{\code{memory}}{an allocation failed (\code{nomem}).}
#'   \item{\code{unsupported}}{a valid request this build or device cannot
#'     serve (\code{unsupported}, \code{device}), and broken engine invariants
#'     (\code{internal}, a bug: please report it).}
#'   \item{\code{dist}}{a collective operation across the workers of a
#'     distributed job failed or passed its deadline (\code{dist}); see
#'     \code{\link{mx.kv.create}}.}
#'   \item{\code{interrupted}}{the user interrupted a computation
#'     (\code{aborted}). This condition has class
#'     \code{c("mxnet_interrupted_error", "mxnet_error", "interrupt", "condition")}:
#'     it is not an \code{error}, so \code{try()} and \code{tryCatch(error = )}
#'     let it through as they let R's own interrupts through, and
#'     \code{tryCatch(interrupt = )} catches it. The package stays usable.}
#' }
#' Besides \code{message} and \code{call} (the call of the mxnet function you
#' made, such as \code{a + b} or \code{mx.nd.dot(x, y)}, not an internal one),
#' the condition has fields \code{kind}, \code{status} (the engine's status
#' code, an integer; \code{NA} for errors found in R) and \code{status_name}
#' (the engine's finer status name, e.g. \code{"format"} for a malformed file).
#'
#' @name mxnet_error
#' @aliases mxnet_shape_error mxnet_dtype_error mxnet_value_error mxnet_io_error
#'   mxnet_memory_error mxnet_unsupported_error mxnet_interrupted_error
#'   mxnet_dist_error
#' @examples
#' a <- mx.nd.ones(c(2, 3))
#' b <- mx.nd.ones(c(3, 2))
#' e <- tryCatch(a + b, mxnet_shape_error = function(e) e)
#' class(e)
#' conditionMessage(e)
#' e$status_name
NULL

# Kind of each engine status name (mx_status_name() in src/engine/error.c).
mx.status.kinds <- c(arg = "value", shape = "shape", dtype = "dtype", nomem = "memory",
                     io = "io", format = "io", unsupported = "unsupported",
                     device = "unsupported", aborted = "interrupted", internal = "unsupported",
                     dist = "dist")

# The condition object of an mxnet error.
mx.error.condition <- function(kind, message, call = NULL, status = NA_integer_,
                               status.name = NA_character_) {
  base <- if (identical(kind, "interrupted")) "interrupt" else "error"
  structure(class = c(sprintf("mxnet_%s_error", kind), "mxnet_error", base, "condition"),
            list(message = message, call = call, kind = kind, status = status,
                 status_name = status.name))
}

# Signal an mxnet error of a kind (see ?mxnet_error) from R code of the
# package: mx.error("value", "argument 'n' must be ..."). The call shown is
# the user's call into the package unless `call` is given.
mx.error <- function(kind, message, call) {
  if (!(kind %in% mx.status.kinds)) kind <- "unsupported"
  if (missing(call)) call <- mx.user.call(sys.nframe() - 1L)
  stop(mx.error.condition(kind, message, call))
}

# Called by the C glue (src/r/common-r.c) with the engine status.
mx.engine.error <- function(status, name, message) {
  kind <- if (name %in% names(mx.status.kinds)) mx.status.kinds[[name]] else "unsupported"
  call <- mx.user.call(sys.nframe() - 1L)
  stop(mx.error.condition(kind, message, call, as.integer(status), name))
}

# The call by which the user entered the package, searching outwards from
# frame `from`: the outermost of the consecutive package frames (base R's
# frames in between, such as lapply or do.call, are passed over). S3 methods
# show their generic: `a + b`, not Ops.MXNDArray(a, b).
mx.user.call <- function(from) {
  ns <- topenv(environment(mx.user.call))
  found <- 0L
  for (i in rev(seq_len(max(0L, from)))) {
    env <- environment(sys.function(i))
    if (is.null(env)) next
    top <- topenv(env)
    if (identical(top, ns)) found <- i
    else if (!base.r.namespace(top)) break
  }
  if (found == 0L) return(NULL)
  call <- sys.call(found)
  generic <- get0(".Generic", envir = sys.frame(found), inherits = FALSE)
  if (is.character(generic) && length(generic) == 1L && nzchar(generic) && is.call(call))
    call[[1L]] <- as.name(generic)
  call
}

base.r.namespace <- function(env) {
  identical(env, baseenv()) || identical(env, .BaseNamespaceEnv) ||
    (isNamespace(env) && getNamespaceName(env) %in% c("methods", "utils", "stats"))
}
