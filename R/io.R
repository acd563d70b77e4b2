# Data iterators: mx.io.arrayiter, mx.io.MNISTIter, mx.io.CSVIter and
# mx.io.extract.
#
# An iterator is an environment of class c(<specific>, "MXDataIter") holding
# the protocol's closures, so MXNet scripts' `iter$reset()`,
# `iter$iter.next()`, `iter$value()`, `iter$num.pad()` and `iter$batch.size`
# work unchanged.  The data are held once as NDArrays; batches are produced in
# C (views of the loaded set, or rows gathered into a staging array), never by
# copying large arrays in R.  value() returns the same arrays until the next
# iter.next() overwrites them: copy (as.array) what must survive a step.

io.fail <- function(...) stop(sprintf(...), call. = FALSE)

io.check.batch.size <- function(batch.size) {
  if (!is.numeric(batch.size) || length(batch.size) != 1L || is.na(batch.size) ||
      batch.size < 1 || batch.size != floor(batch.size) || batch.size > .Machine$integer.max)
    io.fail("argument 'batch.size' must be a positive whole number")
  as.integer(batch.size)
}

io.check.flag <- function(x, arg) {
  if (!(is.logical(x) || is.numeric(x)) || length(x) != 1L || is.na(x))
    io.fail("argument '%s' must be TRUE or FALSE", arg)
  as.logical(x)
}

# MXNet's generated iterator wrappers sent key=value pairs to C with dots
# turned into underscores, so `batch_size = 100` worked as well as
# `batch.size = 100`.  Return the underscore spellings of our own arguments
# (renamed); other unknown keys are ignored, as MXNet ignored them.
io.dotted.args <- function(dots, formal.names) {
  nm <- names(dots)
  if (is.null(nm)) return(list())
  dotted <- gsub("_", ".", nm, fixed = TRUE)
  keep <- nm != dotted & dotted %in% formal.names
  out <- dots[keep]
  names(out) <- dotted[keep]
  out
}

io.new.iter <- function(env, class) {
  # custom iterators wrapping ours call finalize() (MXNet's Rcpp method)
  env$finalize <- function() invisible(NULL)
  class(env) <- c(class, "MXDataIter")
  lockBinding("batch.size", env)
  env
}

# The engine of arrayiter and CSVIter: `data` and `label` are CPU NDArrays
# whose last R dim is the example; batch b holds the examples
# order[b*B + 1 .. b*B + B] (1-based positions into the 0-based `order`).
# The last batch is always full: its missing rows wrap around to the start of
# the order when `wrap` (CSVIter round.batch) and otherwise keep what the
# previous batch left in the staging arrays (MXNet R's arrayiter quirk; zeros
# when there is a single batch).  num.pad() counts them.
io.staged.iter <- function(data, label, order, batch.size, wrap, class) {
  n <- length(order)
  B <- batch.size
  nbatch <- ceiling(n / B)
  ddim <- dim(data)
  ldim <- dim(label)
  stage.data <- mx.nd.zeros(c(ddim[-length(ddim)], B), ctx = mx.cpu())
  stage.label <- mx.nd.zeros(c(ldim[-length(ldim)], B), ctx = mx.cpu())
  batch <- list(data = stage.data, label = stage.label)
  cursor <- 0
  pad <- 0L
  it <- new.env(parent = emptyenv())
  it$batch.size <- B
  it$reset <- function() {
    cursor <<- 0
    pad <<- 0L
    invisible(NULL)
  }
  it$iter.next <- function() {
    if (cursor >= nbatch) return(FALSE)
    first <- cursor * B
    take <- min(B, n - first)
    rows <- order[first + seq_len(take)]
    pad <<- as.integer(B - take)
    if (pad > 0L && wrap) rows <- c(rows, rep_len(order, pad))
    .Call(C_mx_r_io_gather, data, rows, stage.data)
    .Call(C_mx_r_io_gather, label, rows, stage.label)
    cursor <<- cursor + 1
    TRUE
  }
  it$value <- function() batch
  it$num.pad <- function() pad
  io.new.iter(it, class)
}

# Part r of p of an order for distributed training: global batch k (of
# batch.size * p examples) gives its r-th slice to part r, so p parts of batch
# B see, step by step, the examples one worker of batch p * B would. Every
# part has the same number of full batches; positions past the end wrap
# around to the start (as MXNet's round.batch).
io.part.order <- function(order, batch.size, p, r) {
  n <- length(order)
  nbatch <- ceiling(n / (batch.size * p))
  pos <- as.vector(outer(seq_len(batch.size) - 1 + r * batch.size, (seq_len(nbatch) - 1) * batch.size * p, "+"))
  order[pos %% n + 1]
}

# Part r of p of an order for evaluation: every example once, in whole
# batches of the unsplit iterator (so a metric summed over the parts sees the
# batches one process would).
io.part.range <- function(order, batch.size, p, r) {
  n <- length(order)
  nb <- ceiling(n / batch.size)
  from <- floor(r * nb / p) * batch.size
  to <- min(n, floor((r + 1) * nb / p) * batch.size)
  order[seq_len(max(0, to - from)) + from]
}

# An iterator's shard(): part r of p of `order` (after `sync`), as training
# batches (every part the same number of full batches) or, with exact = TRUE,
# for evaluation (each example once, the last batch padded).  make(order,
# wrap) builds the iterator over an order (io.staged.fn: a staged one).
io.shard.fn <- function(order, batch.size, wrap, make)
  function(num.parts, part.index, sync = identity, exact = FALSE) {
    o <- sync(order)
    if (exact) make(io.part.range(o, batch.size, num.parts, part.index), FALSE)
    else make(io.part.order(o, batch.size, num.parts, part.index), wrap)
  }

io.staged.fn <- function(data, label, batch.size, class)
  function(o, wrap) io.staged.iter(data, label, o, batch.size, wrap, class)

# The 0-based order in which an in-memory iterator visits n examples: as
# given, or (shuffle) a Fisher-Yates pass driven by mx.runif(n), so that
# set.seed() / mx.set.seed() make it reproducible.
io.order <- function(n, shuffle) {
  if (!shuffle) return(seq.int(0L, length.out = n))
  .Call(C_mx_r_io_shuffle_order, as.double(as.array(mx.runif(n, ctx = mx.cpu()))))
}

io.check.parts <- function(num.parts, part.index) {
  ok <- function(x) is.numeric(x) && length(x) == 1L && !is.na(x) && x == round(x)
  if (!ok(num.parts) || num.parts < 1) mx.error("value", "num.parts must be a whole number >= 1")
  if (!ok(part.index) || part.index < 0 || part.index >= num.parts)
    mx.error("value", "part.index must be a whole number in 0..num.parts - 1")
  c(as.integer(num.parts), as.integer(part.index))
}

#' Iterate over an R array in mini-batches
#'
#' An in-memory data iterator: the examples are the last dimension of
#' \code{data} and \code{label} (the columns of a matrix, as everywhere in
#' MXNet R). Each batch holds \code{batch.size} examples with R dimensions
#' \code{c(d1, ..., d(k-1), batch.size)}; a label vector gives label batches of
#' dimension \code{c(batch.size)}.
#'
#' The iterator follows MXNet R's protocol: \code{iter$reset()},
#' \code{iter$iter.next()} (\code{TRUE} while a batch was produced),
#' \code{iter$value()} (\code{list(data = , label = )} of NDArrays),
#' \code{iter$num.pad()} and \code{iter$batch.size}.
#'
#' The last batch is always full: \code{iter$num.pad()} reports how many of its
#' trailing examples are padding, which, as in MXNet, are not zeroed but hold
#' what the previous batch left in the batch buffer (zeros when there is only
#' one batch); \code{predict} and \code{\link{mx.io.extract}} drop them. The
#' arrays returned by \code{value()} are overwritten by the next
#' \code{iter.next()}.
#'
#' With \code{shuffle = TRUE} the order is drawn once, at construction, by a
#' Fisher-Yates pass driven by \code{mx.runif(num.data)} (so \code{set.seed()}
#' makes it reproducible); \code{reset()} does not reshuffle.
#'
#' @param data A numeric vector, matrix or array; examples along the last
#'   dimension.
#' @param label A vector (one label per example) or an array whose last
#'   dimension is the example.
#' @param batch.size Examples per batch.
#' @param shuffle Visit the examples in a random order.
#' @param num.parts,part.index Deliver only part \code{part.index} (0-based)
#'   of \code{num.parts}, for distributed training: global batch k of
#'   \code{batch.size * num.parts} examples gives its \code{part.index}-th
#'   slice to this part, so the parts together see what one iterator of the
#'   global batch would; all parts have the same number of full batches
#'   (examples wrap around from the start). The shuffled order is the same on
#'   every worker when the R seeds agree, which
#'   \code{mx.model.FeedForward.create} ensures.
#' @return An iterator of class \code{c("MXArrayDataIter", "MXDataIter")}.
#' @examples
#' x <- matrix(1:20, nrow = 2)        # 10 examples of 2 features
#' y <- 0:9
#' iter <- mx.io.arrayiter(x, y, batch.size = 4)
#' iter$reset()
#' while (iter$iter.next()) {
#'   b <- iter$value()
#'   print(dim(b$data))
#' }
#' iter$num.pad()                     # 2 padding examples in the last batch
#' @export
mx.io.arrayiter <- function(data, label, batch.size = 128, shuffle = FALSE, num.parts = 1,
                            part.index = 0) {
  batch.size <- io.check.batch.size(batch.size)
  shuffle <- io.check.flag(shuffle, "shuffle")
  parts <- io.check.parts(num.parts, part.index)
  if (inherits(data, "MXNDArray")) data <- as.array(data)
  if (inherits(label, "MXNDArray")) label <- as.array(label)
  if (is.data.frame(data)) data <- as.matrix(data)
  if (is.data.frame(label)) label <- if (ncol(label) == 1L) label[[1L]] else t(as.matrix(label))
  ddim <- dim(data)
  if (is.null(ddim)) ddim <- length(data)
  ldim <- dim(label)
  if (is.null(ldim)) ldim <- length(label)
  num.data <- ldim[length(ldim)]
  if (ddim[length(ddim)] != num.data)
    io.fail(paste0("mx.io.arrayiter: data has %.0f examples (its last dimension) but label has %.0f; ",
                   "examples must be the last dimension (columns of a matrix): ",
                   "transpose row-major data with t()"), ddim[length(ddim)], num.data)
  if (num.data < 1) io.fail("mx.io.arrayiter: there are no examples")
  data.nd <- mx.nd.array(data, ctx = mx.cpu())
  label.nd <- mx.nd.array(label, ctx = mx.cpu())
  order <- io.order(num.data, shuffle)
  if (parts[1L] > 1L) order <- io.part.order(order, batch.size, parts[1L], parts[2L])
  it <- io.staged.iter(data.nd, label.nd, order, batch.size, wrap = FALSE, class = "MXArrayDataIter")
  it$num.parts <- parts[1L]
  # for mx.model.FeedForward.create in a distributed run: this iterator's
  # part of the data, the order made the same on every worker by `sync`
  if (parts[1L] == 1L)
    it$shard <- io.shard.fn(order, batch.size, FALSE, io.staged.fn(data.nd, label.nd, batch.size, "MXArrayDataIter"))
  it
}

#' MNIST data iterator
#'
#' Reads MNIST-format idx files (images and labels, plain or gzip-compressed)
#' into memory and iterates over them in mini-batches: data of R dimensions
#' \code{c(28, 28, 1, batch.size)} (\code{c(784, batch.size)} when
#' \code{flat = TRUE}), pixel values scaled by 1/256, and labels
#' \code{c(batch.size)} (the class as a number).
#'
#' Only full batches are produced: the trailing \code{count \%\% batch.size}
#' examples are dropped and \code{num.pad()} is always 0. With
#' \code{shuffle = TRUE} the examples are permuted once, at load, by a
#' generator seeded with \code{seed}; \code{reset()} rewinds without
#' reshuffling, so every epoch sees the same order. The permutation is not
#' MXNet's (which used C++'s \code{std::mt19937}), so shuffled orders differ
#' from MXNet's for the same seed.
#'
#' Batches are views of the loaded set (no copy): do not modify them in place.
#'
#' @param image,label Paths of the idx image and label files.
#' @param batch.size Examples per batch.
#' @param shuffle Permute the examples once at load.
#' @param flat Deliver images as vectors of \code{rows * cols} values.
#' @param seed Seed of the permutation.
#' @param silent Do not report what was loaded.
#' @param num.parts,part.index Read only part \code{part.index} (0-based) of
#'   \code{num.parts} contiguous parts (distributed training). Left at 1,
#'   \code{\link{mx.model.FeedForward.create}} splits the examples between
#'   the workers of a \code{dist_sync} run itself, batch by batch as
#'   \code{\link{mx.io.arrayiter}} does.
#' @param ... Other MXNet iterator parameters (\code{data.shape},
#'   \code{prefetch.buffer}, ...) are accepted and ignored; underscore
#'   spellings of the arguments above (\code{batch_size}) are understood.
#' @return An iterator of class \code{c("MXMNISTIter", "MXDataIter")}.
#' @examples
#' # a tiny idx pair: 3 images of 2 x 2 pixels
#' img <- tempfile(); lab <- tempfile()
#' con <- file(img, "wb")
#' writeBin(c(2051L, 3L, 2L, 2L), con, size = 4, endian = "big")
#' writeBin(as.raw(0:11 * 20), con); close(con)
#' con <- file(lab, "wb")
#' writeBin(c(2049L, 3L), con, size = 4, endian = "big")
#' writeBin(as.raw(c(7, 1, 4)), con); close(con)
#' iter <- mx.io.MNISTIter(img, lab, batch.size = 2, shuffle = FALSE, silent = TRUE)
#' iter$iter.next()
#' dim(iter$value()$data)
#' as.array(iter$value()$label)
#' @export
mx.io.MNISTIter <- function(image = "./train-images-idx3-ubyte",
                            label = "./train-labels-idx1-ubyte",
                            batch.size = 128, shuffle = TRUE, flat = FALSE, seed = 0,
                            silent = FALSE, num.parts = 1, part.index = 0, ...) {
  over <- io.dotted.args(list(...), names(formals(sys.function())))
  for (k in names(over)) assign(k, over[[k]])
  batch.size <- io.check.batch.size(batch.size)
  shuffle <- io.check.flag(shuffle, "shuffle")
  flat <- io.check.flag(flat, "flat")
  silent <- io.check.flag(silent, "silent")
  sets <- .Call(C_mx_r_io_mnist_load, image, label, shuffle, seed, flat, num.parts, part.index)
  data <- sets$data
  lab <- sets$label
  n <- dim(lab)
  nbatch <- n %/% batch.size
  if (!silent) {
    shp <- dim(data)
    shp[length(shp)] <- batch.size
    message(sprintf("MNISTIter: load %.0f images, shuffle=%d, shape=c(%s)", n, as.integer(shuffle),
                    paste(shp, collapse = ", ")))
  }
  cursor <- 0
  batch <- NULL
  it <- new.env(parent = emptyenv())
  it$batch.size <- batch.size
  it$num.parts <- as.integer(num.parts)
  it$reset <- function() {
    cursor <<- 0
    invisible(NULL)
  }
  it$iter.next <- function() {
    if (cursor >= nbatch) return(FALSE)
    first <- cursor * batch.size
    batch <<- list(data = .Call(C_mx_r_io_slice0, data, first, first + batch.size),
                   label = .Call(C_mx_r_io_slice0, lab, first, first + batch.size))
    cursor <<- cursor + 1
    TRUE
  }
  it$value <- function() {
    if (is.null(batch)) io.fail("MNISTIter: call iter.next() before value()")
    batch
  }
  it$num.pad <- function() 0L
  # for mx.model.FeedForward.create in a distributed run (as mx.io.arrayiter)
  if (num.parts == 1) it$shard <- io.shard.fn(seq.int(0L, length.out = n), batch.size, FALSE,
                                           io.staged.fn(data, lab, batch.size, "MXMNISTIter"))
  io.new.iter(it, "MXMNISTIter")
}

# Read a header-less CSV file of numbers: one example per line, prod(shape)
# values each; returns an R array c(shape, examples).
io.read.csv <- function(file, shape, arg, shape.arg) {
  if (!is.character(file) || length(file) != 1L || is.na(file))
    io.fail("argument '%s' must be a single file name", arg)
  if (!is.numeric(shape) || !length(shape) || anyNA(shape) || any(shape < 1) ||
      any(shape != floor(shape)))
    io.fail("argument '%s' must be a vector of positive whole numbers", shape.arg)
  path <- path.expand(file)
  if (!file.exists(path) || dir.exists(path)) io.fail("%s: file '%s' does not exist", arg, file)
  width <- prod(shape)
  first <- readLines(path, n = 1L, warn = FALSE)
  if (!length(first)) io.fail("%s: file '%s' is empty", arg, file)
  ncol <- length(scan(text = first, what = "", sep = ",", quiet = TRUE))
  if (ncol != width)
    io.fail("%s: the lines of '%s' have %d values but %s = c(%s) needs %.0f", arg, file, ncol,
            shape.arg, paste(shape, collapse = ", "), width)
  cols <- tryCatch(
    scan(path, what = rep(list(0), width), sep = ",", multi.line = FALSE, quiet = TRUE),
    error = function(e) io.fail("%s: cannot read '%s': %s", arg, file, conditionMessage(e)))
  m <- do.call(rbind, cols)
  if (anyNA(m)) io.fail("%s: '%s' contains missing values", arg, file)
  dim(m) <- c(shape, ncol(m))
  m
}

#' CSV data iterator
#'
#' Reads header-less CSV files of numbers into memory, one example per line,
#' and iterates over them in mini-batches of R dimensions
#' \code{c(data.shape, batch.size)}. A line holds the example's values in
#' MXNet's (row-major) order, which is R's column-major order of
#' \code{data.shape}: \code{data.shape = c(28, 28, 1)} reads lines of 784
#' pixels, row after row of the image.
#'
#' The last batch is full size: with \code{round.batch = TRUE} (MXNet's
#' default) its missing examples are taken from the start of the data, and
#' with \code{FALSE} they keep what the previous batch left in the buffer (as
#' in MXNet, which does not drop or shorten the batch); either way
#' \code{num.pad()} counts them, so \code{predict} and
#' \code{\link{mx.io.extract}} can drop them. Unlike MXNet, whose round-robin
#' continued the next epoch where the wrap stopped, \code{reset()} always
#' restarts at the first example, so every pass sees the same batches.
#'
#' @param data.csv Path of the data file.
#' @param data.shape Shape of one example, in R order.
#' @param label.csv Path of the label file, or \code{NULL} (or MXNet's
#'   \code{"NULL"}) for all-zero labels.
#' @param label.shape Shape of one label; labels of shape 1 are delivered as
#'   a vector \code{c(batch.size)}.
#' @param batch.size Examples per batch.
#' @param round.batch Pad the last batch with examples from the start.
#' @param num.parts,part.index Deliver only part \code{part.index} (0-based) of
#'   \code{num.parts}, for distributed training, as \code{\link{mx.io.arrayiter}}
#'   splits each global batch (every part gets the same number of full
#'   batches). Left at 1, \code{\link{mx.model.FeedForward.create}} splits
#'   the file between the workers of a \code{dist_sync} run itself.
#' @param ... Other MXNet iterator parameters, accepted and ignored
#'   (underscore spellings of the arguments above are understood).
#' @return An iterator of class \code{c("MXCSVIter", "MXDataIter")}.
#' @examples
#' f <- tempfile(fileext = ".csv")
#' write.table(matrix(1:12, nrow = 4, byrow = TRUE), f, sep = ",",
#'             row.names = FALSE, col.names = FALSE)
#' iter <- mx.io.CSVIter(data.csv = f, data.shape = 3, batch.size = 3)
#' mx.io.extract(iter, "data")
#' @export
mx.io.CSVIter <- function(data.csv, data.shape, label.csv = NULL, label.shape = 1,
                          batch.size = 128, round.batch = TRUE, num.parts = 1, part.index = 0, ...) {
  over <- io.dotted.args(list(...), names(formals(sys.function())))
  for (k in names(over)) assign(k, over[[k]])
  batch.size <- io.check.batch.size(batch.size)
  round.batch <- io.check.flag(round.batch, "round.batch")
  parts <- io.check.parts(num.parts, part.index)
  data <- io.read.csv(data.csv, data.shape, "data.csv", "data.shape")
  n <- dim(data)[length(dim(data))]
  if (is.null(label.csv) || identical(label.csv, "NULL")) {
    if (!is.numeric(label.shape) || !length(label.shape) || anyNA(label.shape) ||
        any(label.shape < 1))
      io.fail("argument 'label.shape' must be a vector of positive whole numbers")
    label <- array(0, c(label.shape, n))
  } else {
    label <- io.read.csv(label.csv, label.shape, "label.csv", "label.shape")
    nl <- dim(label)[length(dim(label))]
    if (nl != n) io.fail("mx.io.CSVIter: data.csv has %.0f lines but label.csv has %.0f", n, nl)
  }
  if (prod(label.shape) == 1) dim(label) <- NULL
  data.nd <- mx.nd.array(data, ctx = mx.cpu())
  label.nd <- mx.nd.array(label, ctx = mx.cpu())
  order <- seq.int(0L, length.out = n)
  if (parts[1L] > 1L) order <- io.part.order(order, batch.size, parts[1L], parts[2L])
  it <- io.staged.iter(data.nd, label.nd, order, batch.size, wrap = round.batch, class = "MXCSVIter")
  it$num.parts <- parts[1L]
  if (parts[1L] == 1L)
    it$shard <- io.shard.fn(order, batch.size, round.batch, io.staged.fn(data.nd, label.nd, batch.size, "MXCSVIter"))
  it
}

#' Extract one field of a data iterator over a whole pass
#'
#' Resets the iterator, runs one pass, and concatenates the field of every
#' batch along the last dimension, dropping the padding of the last batch
#' (\code{num.pad()}); the iterator is reset again afterwards.
#'
#' @param iter A data iterator.
#' @param field \code{"data"} or \code{"label"} (any name of \code{value()}).
#' @return An R array whose last dimension is the example.
#' @examples
#' iter <- mx.io.arrayiter(matrix(1:10, nrow = 2), 1:5, batch.size = 2)
#' mx.io.extract(iter, "data")
#' mx.io.extract(iter, "label")
#' @export
mx.io.extract <- function(iter, field) {
  if (!is.character(field) || length(field) != 1L || is.na(field))
    io.fail("argument 'field' must be a single name such as \"data\" or \"label\"")
  iter$reset()
  parts <- list()
  inner <- NULL
  total <- 0
  while (iter$iter.next()) {
    x <- iter$value()[[field]]
    if (is.null(x)) io.fail("mx.io.extract: the iterator's batches have no field '%s'", field)
    a <- as.array(x)
    d <- dim(a)
    if (is.null(d)) d <- length(a)
    nb <- d[length(d)]
    keep <- nb - iter$num.pad()
    inner <- d[-length(d)]
    v <- as.vector(a)
    if (keep < nb) v <- v[seq_len(keep * prod(inner))]
    parts[[length(parts) + 1L]] <- v
    total <- total + keep
  }
  iter$reset()
  if (!length(parts)) io.fail("mx.io.extract: the iterator produced no batch")
  res <- unlist(parts, use.names = FALSE)
  dim(res) <- c(inner, total)
  res
}

#' Is this a data iterator?
#'
#' Data iterators are the iterators of this package (class
#' \code{"MXDataIter"}) and custom ones: any reference class object or
#' environment with the methods \code{reset()}, \code{iter.next()} (returns
#' \code{TRUE} while there is a batch), \code{value()} (a named list of
#' MXNDArrays, e.g. \code{data} and \code{label}, or one field per input
#' name) and \code{num.pad()} (padding examples in the current batch); a
#' \code{batch.size} field is optional. As in MXNet, a reference class may
#' declare \code{contains = "Rcpp_MXArrayDataIter"} (a virtual class here).
#'
#' @param x An object.
#' @return \code{TRUE} for a data iterator.
#' @examples
#' is.mx.dataiter(mx.io.arrayiter(1:4, 1:4, batch.size = 2))
#' is.mx.dataiter(1:4)
#' Wrap <- setRefClass("Wrap", fields = "it", contains = "Rcpp_MXArrayDataIter",
#'   methods = list(reset = function() it$reset(), iter.next = function() it$iter.next(),
#'                  value = function() it$value(), num.pad = function() it$num.pad()))
#' is.mx.dataiter(Wrap$new(it = mx.io.arrayiter(1:4, 1:4, batch.size = 2)))
#' @export
is.mx.dataiter <- function(x) {
  if (inherits(x, "MXDataIter")) return(TRUE)
  if (!is.environment(x)) return(FALSE)
  has <- function(m) tryCatch(is.function(eval(call("$", x, m))), error = function(e) FALSE)
  all(vapply(c("reset", "iter.next", "value", "num.pad"), has, TRUE))
}

#' MXNet's base class of custom data iterators
#'
#' A virtual reference class, so that custom iterators written for MXNet
#' (\code{setRefClass("MyIter", contains = "Rcpp_MXArrayDataIter", ...)})
#' work unchanged. It has no fields or methods: a subclass provides
#' \code{reset}, \code{iter.next}, \code{value} and \code{num.pad} (see
#' \code{\link{is.mx.dataiter}}).
#' @name Rcpp_MXArrayDataIter-class
#' @exportClass Rcpp_MXArrayDataIter
setRefClass("Rcpp_MXArrayDataIter", fields = list(), contains = "VIRTUAL")

#' @export
print.MXDataIter <- function(x, ...) {
  cat(sprintf("<%s> batch.size %d\n", class(x)[1L], as.integer(x$batch.size)))
  invisible(x)
}
