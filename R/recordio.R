# RecordIO files (MXNet's .rec format) and image record headers:
# mx.io.MXRecordIO, mx.io.MXIndexedRecordIO, mx.io.recordio.pack/unpack.
# The framing is done in C (src/io/recordio.c); these are thin closures in
# the style of the iterators of R/io.R.

rec.check.flag <- function(flag) {
  if (!is.character(flag) || length(flag) != 1L || !(flag %in% c("r", "w")))
    mx.error("value", "argument 'flag' must be \"r\" (read) or \"w\" (write)")
  flag
}

rec.check.raw <- function(buf) {
  if (!is.raw(buf)) mx.error("value", "argument 'buf' must be a raw vector (see mx.io.recordio.pack)")
  buf
}

#' Read and write RecordIO files
#'
#' \code{mx.io.MXRecordIO} opens a RecordIO file (MXNet's \code{.rec} format,
#' byte-compatible with MXNet and dmlc-core) for sequential reading
#' (\code{flag = "r"}) or writing (\code{flag = "w"}), like Python's
#' \code{mx.recordio.MXRecordIO}. The object holds the methods
#' \describe{
#'   \item{\code{write(buf)}}{append a record (a raw vector); returns its byte
#'     offset invisibly.}
#'   \item{\code{read()}}{the next record as a raw vector, \code{NULL} at the
#'     end of the file.}
#'   \item{\code{reset()}}{rewind a reader (a writer starts a new file).}
#'   \item{\code{tell()}}{the current byte offset.}
#'   \item{\code{close()}}{close the file (also done when the object is
#'     garbage collected).}
#' }
#' \code{mx.io.MXIndexedRecordIO} adds an index file of
#' \code{key<TAB>offset} lines (as written by MXNet's \code{im2rec.py} and
#' \code{\link{im2rec}}) for random access: \code{write.idx(key, buf)},
#' \code{read.idx(key)}, \code{seek(key)} and the vector \code{keys()}.
#'
#' A truncated record, a wrong magic number or a length running past the end
#' of the file gives an error of class \code{mxnet_io_error} naming the file,
#' the record and its offset.
#'
#' @param uri Path of the \code{.rec} file.
#' @param flag \code{"r"} to read, \code{"w"} to write (truncates).
#' @param idx.path Path of the index file.
#' @return An object of class \code{"MXRecordIO"} (or
#'   \code{c("MXIndexedRecordIO", "MXRecordIO")}).
#' @seealso \code{\link{mx.io.recordio.pack}} for image records,
#'   \code{\link{im2rec}}, \code{\link{mx.io.ImageRecordIter}}.
#' @examples
#' f <- tempfile(fileext = ".rec")
#' w <- mx.io.MXRecordIO(f, "w")
#' w$write(charToRaw("hello"))
#' w$write(as.raw(1:10))
#' w$close()
#' r <- mx.io.MXRecordIO(f, "r")
#' rawToChar(r$read())
#' r$read()
#' r$read()    # NULL: the end
#' r$close()
#' @export
mx.io.MXRecordIO <- function(uri, flag = "r") {
  rec.open(uri, flag, NULL, "MXRecordIO")
}

#' @rdname mx.io.MXRecordIO
#' @export
mx.io.MXIndexedRecordIO <- function(idx.path, uri, flag = "r") {
  it <- rec.open(uri, flag, idx.path, c("MXIndexedRecordIO", "MXRecordIO"))
  idx <- if (flag == "r") .Call(C_mx_r_recordio_read_idx, idx.path) else list(numeric(), numeric())
  it$keys <- function() idx[[1L]]
  offset.of <- function(key) {
    k <- match(key, idx[[1L]])
    if (length(key) != 1L || is.na(k)) mx.error("value", sprintf("key %s is not in the index '%s'",
                                                                 format(key[1L]), idx.path))
    idx[[2L]][k]
  }
  it$seek <- function(key) invisible(.Call(C_mx_r_recordio_seek, it$handle, offset.of(key)))
  it$read.idx <- function(key) {
    it$seek(key)
    it$read()
  }
  it$write.idx <- function(key, buf) {
    if (!is.numeric(key) || length(key) != 1L || is.na(key) || key < 0 || key != floor(key))
      mx.error("value", "argument 'key' must be a non-negative whole number")
    off <- .Call(C_mx_r_recordio_write, it$handle, rec.check.raw(buf), as.double(key))
    idx[[1L]] <<- c(idx[[1L]], key)
    idx[[2L]] <<- c(idx[[2L]], off)
    invisible(off)
  }
  it
}

rec.open <- function(uri, flag, idx.path, class) {
  flag <- rec.check.flag(flag)
  it <- new.env(parent = emptyenv())
  it$handle <- .Call(C_mx_r_recordio_open, uri, flag == "w", if (flag == "w") idx.path)
  it$uri <- uri
  it$flag <- flag
  it$write <- function(buf) {
    if (flag != "w") mx.error("value", "the RecordIO file was opened for reading (flag = \"r\")")
    invisible(.Call(C_mx_r_recordio_write, it$handle, rec.check.raw(buf), -1))
  }
  it$read <- function() {
    if (flag != "r") mx.error("value", "the RecordIO file was opened for writing (flag = \"w\")")
    .Call(C_mx_r_recordio_read, it$handle)
  }
  it$tell <- function() .Call(C_mx_r_recordio_tell, it$handle)
  it$close <- function() invisible(.Call(C_mx_r_recordio_close, it$handle))
  it$reset <- function() {
    if (flag == "r") return(invisible(.Call(C_mx_r_recordio_seek, it$handle, 0)))
    it$close()
    it$handle <- .Call(C_mx_r_recordio_open, uri, TRUE, idx.path)
    invisible(NULL)
  }
  class(it) <- class
  it
}

#' @export
print.MXRecordIO <- function(x, ...) {
  cat(sprintf("<%s> '%s' (%s)\n", class(x)[1L], x$uri, if (x$flag == "r") "read" else "write"))
  invisible(x)
}

#' Pack and unpack image records
#'
#' An image record is MXNet's \code{IRHeader} (flag, label, id, id2: 24
#' bytes) followed by the image file's bytes. A label vector of length > 1 is
#' stored as MXNet's Python \code{pack} does: \code{flag} = the number of
#' labels, \code{label} = 0 and the labels after the header.
#'
#' @param header A list with \code{label} (a number or a vector), and
#'   optionally \code{id}, \code{id2} (whole numbers, default 0) and
#'   \code{flag} (computed from the label when missing).
#' @param s A raw vector: the payload (\code{pack}) or a record
#'   (\code{unpack}).
#' @return \code{pack}: a raw vector. \code{unpack}: a list with
#'   \code{header} (\code{flag}, \code{label}, \code{id}, \code{id2}) and
#'   \code{s}, the payload.
#' @examples
#' rec <- mx.io.recordio.pack(list(label = c(1, 2.5), id = 7), charToRaw("img"))
#' length(rec)
#' str(mx.io.recordio.unpack(rec))
#' @export
mx.io.recordio.pack <- function(header, s) {
  if (!is.list(header) || is.null(header$label) || !is.numeric(header$label) || anyNA(header$label))
    mx.error("value", "argument 'header' must be a list with a numeric 'label'")
  lab <- as.double(header$label)
  flag <- if (length(lab) == 1L) 0 else length(lab)
  if (!is.null(header$flag) && length(lab) == 1L) flag <- header$flag
  if (flag != 0 && length(lab) == 1L)
    mx.error("value", "header$flag must be 0 with a single label")
  .Call(C_mx_r_irheader_pack, as.double(flag), lab, as.double(if (is.null(header$id)) 0 else header$id),
        as.double(if (is.null(header$id2)) 0 else header$id2), rec.check.raw(s))
}

#' @rdname mx.io.recordio.pack
#' @export
mx.io.recordio.unpack <- function(s) {
  u <- .Call(C_mx_r_irheader_unpack, rec.check.raw(s))
  list(header = list(flag = u[[1L]], label = u[[2L]], id = u[[3L]], id2 = u[[4L]]), s = u[[5L]])
}
