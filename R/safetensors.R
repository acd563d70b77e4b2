# Tensor files shared with PyTorch and torch for R: safetensors (read and
# write) here; PyTorch .pt state dicts in R/pytorch.R.

# Element types: safetensors/torch name -> (size in bytes, our dtype).
st.dtypes <- list(F64 = list(8L, "float64"), F32 = list(4L, "float32"), F16 = list(2L, "float16"),
                  BF16 = list(2L, "float32"), I64 = list(8L, "int64"), I32 = list(4L, "int32"),
                  I16 = list(2L, "int32"), I8 = list(1L, "int32"), U8 = list(1L, "uint8"),
                  BOOL = list(1L, "uint8"))

# Decode n little-endian elements of a safetensors dtype from raw bytes.
st.decode <- function(bytes, dtype, n) {
  switch(dtype,
    F64 = readBin(bytes, "numeric", n = n, size = 8, endian = "little"),
    F32 = readBin(bytes, "numeric", n = n, size = 4, endian = "little"),
    F16 = st.half(readBin(bytes, "integer", n = n, size = 2, signed = FALSE, endian = "little")),
    BF16 = readBin(as.vector(rbind(matrix(as.raw(0L), 2L, n), matrix(bytes, 2L))), "numeric",
                   n = n, size = 4, endian = "little"),
    I64 = {
      w <- matrix(readBin(bytes, "integer", n = 2L * n, size = 4, endian = "little"), 2L)
      lo <- ifelse(w[1L, ] < 0, w[1L, ] + 2^32, w[1L, ])
      w[2L, ] * 2^32 + lo
    },
    I32 = readBin(bytes, "integer", n = n, size = 4, endian = "little"),
    I16 = readBin(bytes, "integer", n = n, size = 2, endian = "little"),
    I8 = readBin(bytes, "integer", n = n, size = 1, endian = "little"),
    U8 = , BOOL = readBin(bytes, "integer", n = n, size = 1, signed = FALSE))
}

# IEEE half bits -> doubles.
st.half <- function(u) {
  s <- ifelse(u >= 32768, -1, 1)
  e <- (u %/% 1024) %% 32
  f <- u %% 1024
  ifelse(e == 0, s * f * 2^-24, ifelse(e == 31, ifelse(f == 0, s * Inf, NaN),
                                        s * (1 + f / 1024) * 2^(e - 15)))
}

st.fail <- function(file, fmt, ...) mx.error("io", sprintf("%s: %s", file, sprintf(fmt, ...)))

#' Read and write safetensors files
#'
#' safetensors is the tensor file format of Hugging Face, PyTorch users and
#' torch for R (the CRAN \code{safetensors} package): an 8-byte header
#' length, a JSON header (name, dtype, shape, byte offsets; optional
#' \code{__metadata__} strings) and the raw little-endian data.
#' \code{mx.safetensors.load} reads F64, F32, F16, BF16 (as float32), I64,
#' I32, I16 and I8 (as int32), U8 and BOOL (as uint8) tensors;
#' \code{mx.safetensors.save} writes float32, float64, int32, int64 and uint8
#' arrays (others as float32). Shapes follow the package's rule: a tensor of
#' shape (d1, ..., dk) in PyTorch is an R array with \code{dim = c(dk, ...,
#' d1)}, the same memory. Use \code{\link{mx.torch.params}} to map PyTorch
#' layer names onto a symbol's arguments.
#' @param file The file.
#' @param arrays A named list of MXNDArrays or R arrays.
#' @param metadata Optional named character vector stored as
#'   \code{__metadata__}.
#' @return \code{mx.safetensors.load}: a named list of MXNDArrays on the CPU,
#'   with attribute \code{"metadata"} (a named character vector or
#'   \code{NULL}). \code{mx.safetensors.save}: the file name, invisibly.
#' @examples
#' f <- tempfile(fileext = ".safetensors")
#' mx.safetensors.save(list(w = mx.nd.array(matrix(1:6, 2, 3))), f)
#' as.array(mx.safetensors.load(f)$w)
#' @export
mx.safetensors.load <- function(file) io.guard(file, st.load.file(file))

st.load.file <- function(file) {
  buf <- caffe.read.raw(file, "safetensors")
  if (length(buf) < 8L) st.fail(file, "too short for a safetensors header")
  n <- zip.u(buf, 0, 8, file)          # (readBin's 32-bit words read 0x80000000 as NA)
  if (n > length(buf) - 8 || n < 2)
    st.fail(file, "header length %.0f does not fit the file of %d bytes", n, length(buf))
  hdr <- tryCatch(.Call(C_mx_r_json_parse, buf[8 + seq_len(n)]), mxnet_error = function(e)
    st.fail(file, "bad header: %s", conditionMessage(e)))
  if (!is.list(hdr) || is.null(names(hdr))) st.fail(file, "the header is not a JSON object")
  meta <- hdr[["__metadata__"]]
  hdr[["__metadata__"]] <- NULL
  base <- 8 + n
  out <- Map(function(h, nm) st.tensor(buf, base, h, nm, file), hdr, names(hdr))
  names(out) <- names(hdr)
  structure(out, metadata = if (length(meta)) unlist(meta))
}

st.tensor <- function(buf, base, h, nm, file) {
  dt <- if (is.list(h)) h$dtype
  if (!is.character(dt) || length(dt) != 1L || !(dt %in% names(st.dtypes)))
    st.fail(file, "tensor '%s' has an unsupported dtype '%s'", nm, paste(format(dt), collapse = ", "))
  shape <- unlist(h$shape) %||% numeric()            # numbers only: not "1" or true
  off <- unlist(h$data_offsets)
  size <- st.dtypes[[dt]][[1L]]
  if (!is.numeric(off) || length(off) != 2L || anyNA(off) || !io.dims.ok(shape) ||
      off[1L] < 0 || off[2L] - off[1L] != prod(shape) * size || base + off[2L] > length(buf))
    st.fail(file, "tensor '%s' (shape %s, offsets %s) does not fit the file", nm,
            paste(shape, collapse = "x"), paste(off, collapse = "-"))
  n <- prod(shape)
  st.nd(st.decode(buf[base + off[1L] + seq_len(n * size)], dt, n), shape, dt)
}

# An NDArray of C-order shape `shape` from values in C order; 0-d tensors
# are marked so that saving writes them back as 0-d.
st.nd <- function(v, shape, dt) {
  a <- mx.nd.array(if (length(shape) > 1L) array(v, rev(shape)) else v, dtype = st.dtypes[[dt]][[2L]])
  if (!length(shape)) attr(a, "torch.0d") <- TRUE
  a
}

# Evaluate a reader; R errors that malformed data may still provoke become
# mxnet_io_error naming the file (mxnet errors pass unchanged).
io.guard <- function(file, expr) {
  tryCatch(expr, error = function(e) {
    if (inherits(e, "mxnet_error")) stop(e)
    mx.error("io", sprintf("%s: malformed file (%s)", file, conditionMessage(e)))
  })
}

# Whether a file's dims (or shape) can be an R array's: whole numbers in
# [0, .Machine$integer.max]. A 0 among them makes the product small, so the
# size checks alone let (0, 2^40) through to array().
io.dims.ok <- function(d)
  is.numeric(d) && !anyNA(d) && all(d >= 0 & d <= .Machine$integer.max & d == floor(d))

# Evaluate a reader step; mxnet errors whose message does not start with
# the file name get "<file>: <what>" in front, keeping their class.
io.where <- function(file, what, expr) {
  tryCatch(expr, mxnet_error = function(e) {
    msg <- conditionMessage(e)
    if (startsWith(msg, file)) stop(e)
    mx.error(sub("^mxnet_(.*)_error$", "\\1", class(e)[1L]), sprintf("%s: %s%s", file, what, msg))
  })
}

# A JSON string literal.
st.json.str <- function(x) {
  x <- gsub("\\\\", "\\\\\\\\", enc2utf8(x))
  x <- gsub("\"", "\\\\\"", x)
  x <- gsub("\n", "\\\\n", x)
  paste0("\"", gsub("[[:cntrl:]]", "", x), "\"")
}

#' @rdname mx.safetensors.load
#' @export
mx.safetensors.save <- function(arrays, file, metadata = NULL) {
  if (!is.list(arrays) || is.null(names(arrays)) || any(!nzchar(names(arrays))) ||
      anyDuplicated(names(arrays)) || any(names(arrays) == "__metadata__"))
    mx.error("value", "argument 'arrays' must be a list with distinct names")
  codes <- c(float32 = "F32", float64 = "F64", int32 = "I32", int64 = "I64", uint8 = "U8")
  parts <- list(); entries <- character(); off <- 0
  for (nm in names(arrays)) {
    a <- arrays[[nm]]
    dt <- if (inherits(a, "MXNDArray")) mx.nd.dtype(a) else "float32"
    if (!(dt %in% names(codes))) dt <- "float32"
    v <- as.array(a)
    shape <- if (isTRUE(attr(a, "torch.0d")) && length(v) == 1L) integer() else rev(dim(v) %||% length(v))
    bytes <- st.encode(v, dt)
    entries <- c(entries, sprintf("%s:{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%.0f,%.0f]}",
                                  st.json.str(nm), codes[[dt]], paste(shape, collapse = ","),
                                  off, off + length(bytes)))
    parts[[length(parts) + 1L]] <- bytes
    off <- off + length(bytes)
  }
  if (length(metadata)) {
    if (is.null(names(metadata))) mx.error("value", "argument 'metadata' must be named")
    entries <- c(sprintf("\"__metadata__\":{%s}", paste0(st.json.str(names(metadata)), ":",
                                                         st.json.str(as.character(metadata)), collapse = ",")),
                 entries)
  }
  hdr <- charToRaw(paste0("{", paste(entries, collapse = ","), "}"))
  hdr <- c(hdr, rep(charToRaw(" "), (8 - length(hdr) %% 8) %% 8))
  con <- file(file, "wb")
  on.exit(close(con))
  writeBin(c(writeBin(c(length(hdr), 0L), raw(), size = 4, endian = "little"), hdr,
             unlist(parts, use.names = FALSE)), con)
  invisible(file)
}

# Little-endian bytes of values in one of our dtypes.
st.encode <- function(v, dt) {
  switch(dt, float32 = writeBin(as.double(v), raw(), size = 4, endian = "little"),
         float64 = writeBin(as.double(v), raw(), size = 8, endian = "little"),
         int32 = writeBin(as.integer(v), raw(), size = 4, endian = "little"),
         uint8 = writeBin(as.integer(v), raw(), size = 1),
         int64 = st.int64.bytes(as.double(v)))
}

st.int64.bytes <- function(v) {
  hi <- floor(v / 2^32)
  lo <- v - hi * 2^32
  lo <- ifelse(lo >= 2^31, lo - 2^32, lo)
  writeBin(as.integer(rbind(lo, hi)), raw(), size = 4, endian = "little")
}
