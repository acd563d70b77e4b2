#' mxnet: scalable deep learning for R
#'
#' Imperative n-dimensional arrays (\code{mx.nd.*}), declarative symbols
#' (\code{mx.symbol.*}) and model training, computed by a C engine that ships
#' with the package. The R API follows MXNet's R package.
#'
#' Dimensions: an R array with \code{dim = c(d1, ..., dk)} is the same memory as
#' an engine tensor of shape \code{(dk, ..., d1)}; the batch is the last R
#' dimension. Tuple parameters (\code{shape}, \code{kernel}, \code{begin}, ...)
#' are given in R order and reversed on the way in; scalar \code{axis}/\code{dim}
#' arguments count engine (C) axes, 0 being the last R dimension, as in MXNet.
#'
#' Options: \code{mxnet.threads} (threads of the engine; default: all cores,
#' capped by \env{OMP_THREAD_LIMIT}).
#'
#' @keywords internal
#' @useDynLib mxnet, .registration = TRUE, .fixes = "C_"
"_PACKAGE"
