# saveRDS()/readRDS() of NDArrays, symbols and models, and MXNet's
# mx.serialize()/mx.unserialize() (src/r/serialize-r.c does the work).

#' Saving NDArrays, symbols and models with saveRDS
#'
#' \code{saveRDS()}, \code{serialize()} and \code{save()} keep MXNDArrays,
#' MXSymbols and models (which hold both) with their values: no extra step is
#' needed, and \code{readRDS()} gives back objects that work at once, in the
#' same session or in a new one (where \code{readRDS} loads the package).
#' An NDArray keeps its values, shape and dtype and comes back on the CPU; a
#' symbol keeps its graph (its JSON); objects shared inside one saved object
#' stay shared. Each object is rebuilt on its first use after \code{readRDS}.
#' This uses R's serialization format 3 (R's default since 3.6.0): with
#' \code{version = 2} the objects come back without values, and using them is
#' an error that says so (never a crash).
#'
#' MXNet's \code{mx.serialize} is kept: it turns a model into plain R values
#' (the symbol's JSON and the parameters as \code{\link{mx.nd.serialize}}
#' bytes), which any R version or format can store; \code{mx.unserialize}
#' turns them back, and \code{predict} accepts both forms.
#'
#' @param model An \code{MXFeedForwardModel} (or a serialized one).
#' @return \code{mx.serialize}: a list of class \code{MXFeedForwardModel} with
#'   \code{is.serialized = TRUE}; \code{mx.unserialize}: a usable model.
#' @examples
#' net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2)
#' p <- mx.model.init.params(net, list(data = c(3, 4)), NULL, mx.init.uniform(0.1))
#' m <- structure(list(symbol = net, arg.params = p$arg.params, aux.params = p$aux.params),
#'                class = "MXFeedForwardModel")
#' f <- tempfile(fileext = ".rds")
#' saveRDS(m, f)
#' m2 <- readRDS(f)
#' identical(as.array(m2$arg.params[[1]]), as.array(m$arg.params[[1]]))
#' s <- mx.serialize(m)
#' names(mx.unserialize(s)$arg.params)
#' @aliases mxnet-serialization
#' @export
mx.serialize <- function(model) {
  if (isTRUE(model$is.serialized)) return(model)
  structure(c(list(symbol_json = as.json(model$symbol),
                   arg.params = mx.nd.serialize(model$arg.params),
                   aux.params = mx.nd.serialize(model$aux.params),
                   is.serialized = TRUE), model.extras(model)), class = "MXFeedForwardModel")
}

#' @rdname mx.serialize
#' @export
mx.unserialize <- function(model) {
  if (!isTRUE(model$is.serialized)) return(model)
  structure(c(list(symbol = mx.symbol.load.json(model$symbol_json),
                   arg.params = mx.nd.deserialize(model$arg.params),
                   aux.params = mx.nd.deserialize(model$aux.params)), model.extras(model)),
            class = "MXFeedForwardModel")
}

# What a model holds beside its symbol and parameters (history, data
# encoding), kept by mx.serialize and mx.unserialize.
model.extras <- function(model)
  model[setdiff(names(model), c("symbol", "symbol_json", "arg.params", "aux.params", "is.serialized"))]

#' @rdname mx.serialize
#' @return \code{is.serialized}: \code{TRUE} for a model made by
#'   \code{mx.serialize} (\code{predict} accepts both kinds).
#' @export
is.serialized <- function(model) isTRUE(model$is.serialized)
