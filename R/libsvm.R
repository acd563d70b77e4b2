#' LibSVM data iterator
#'
#' Reads LibSVM text files (plain or gzip-compressed) into memory and
#' iterates over them in dense mini-batches: data \code{c(data.shape,
#' batch.size)}, labels \code{c(batch.size)} (or \code{c(label.shape,
#' batch.size)}). Each line is \code{label index:value index:value ...} with
#' 0-based feature indices below \code{data.shape}, as in MXNet's
#' \code{LibSVMIter}; absent features are 0. With \code{label.libsvm} the
#' labels come from the features of a second LibSVM file (its own first
#' column is ignored), one line per example. Batches are dense unless
#' \code{data.storage = "csr"}: then the file is kept in CSR form (memory
#' proportional to its non-zeros) and each batch's data is a CSR
#' \code{MXNDArraySparse} (see \code{\link{mx.nd.sparse.csr}}) of R
#' dimensions \code{c(data.shape, batch.size)}, as MXNet's iterator
#' delivers (MXNet's only mode).
#'
#' The last batch is full size: with \code{round.batch = TRUE} its missing
#' examples are taken from the start of the data, otherwise they keep what the
#' previous batch left (dense) or are empty rows labelled 0 (CSR);
#' \code{num.pad()} counts them either way.
#' A malformed line or a feature index out of range gives an error of class
#' \code{mxnet_io_error} naming the file and the line.
#'
#' @param data.libsvm Path of the data file.
#' @param data.shape Number of features (a single number).
#' @param label.libsvm Optional path of a LibSVM label file (\code{NULL} or
#'   \code{"NULL"}: labels from the data file).
#' @param label.shape Labels per example in \code{label.libsvm}.
#' @param batch.size Examples per batch.
#' @param num.parts,part.index Read part \code{part.index} (0-based) of
#'   \code{num.parts} contiguous parts of the lines.
#' @param round.batch Pad the last batch with examples from the start.
#' @param data.storage \code{"default"} (dense batches) or \code{"csr"}.
#' @param ... Other MXNet parameters, accepted and ignored (underscore
#'   spellings of the arguments above are understood).
#' @return An iterator of class \code{c("MXLibSVMIter", "MXDataIter")}.
#' @examples
#' f <- tempfile(fileext = ".t")
#' writeLines(c("1 0:0.5 2:1.2", "-2", "-3 0:0.6 1:2.4 2:1.2", "4 2:-1.2"), f)
#' it <- mx.io.LibSVMIter(data.libsvm = f, data.shape = 3, batch.size = 3)
#' mx.io.extract(it, "data")
#' mx.io.extract(it, "label")
#' @export
mx.io.LibSVMIter <- function(data.libsvm, data.shape, label.libsvm = NULL, label.shape = 1,
                             batch.size = 128, num.parts = 1, part.index = 0, round.batch = TRUE,
                             data.storage = "default", ...) {
  over <- io.dotted.args(list(...), names(formals(sys.function())))
  for (k in names(over)) assign(k, over[[k]])
  batch.size <- io.check.batch.size(batch.size)
  round.batch <- io.check.flag(round.batch, "round.batch")
  width <- img.check.int(data.shape, "data.shape", 1, 2^31 - 1)
  num.parts <- img.check.int(num.parts, "num.parts", 1, 1e9)
  part.index <- img.check.int(part.index, "part.index", 0, num.parts - 1)
  if (!identical(data.storage, "default") && !identical(data.storage, "csr"))
    mx.error("value", "argument 'data.storage' must be \"default\" or \"csr\"")
  csr <- data.storage == "csr"
  d <- .Call(C_mx_r_io_libsvm_load, data.libsvm, width, num.parts, part.index, csr)
  label <- d[[length(d)]]
  if (!is.null(label.libsvm) && !identical(label.libsvm, "NULL")) {
    lw <- img.check.int(label.shape, "label.shape", 1, 2^31 - 1)
    l <- .Call(C_mx_r_io_libsvm_load, label.libsvm, lw, num.parts, part.index, FALSE)
    if (dim(l[[1L]])[2L] != dim(label))
      mx.error("io", sprintf("mx.io.LibSVMIter: '%s' has %d examples but '%s' has %d", data.libsvm,
                             dim(label), label.libsvm, dim(l[[1L]])[2L]))
    label <- if (lw == 1) mx.nd.array(as.array(l[[1L]])[1L, ], ctx = mx.cpu()) else l[[1L]]
  }
  n <- dim(d[[length(d)]])
  if (csr) return(sparse.csr.iter(d, width, label, batch.size, wrap = round.batch))
  io.staged.iter(d[[1L]], label, seq.int(0L, length.out = n), batch.size, wrap = round.batch,
                 class = "MXLibSVMIter")
}
