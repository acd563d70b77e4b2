# Images: decoding and encoding (JPEG through libjpeg-turbo, PNG through
# libpng; src/io/image.c), im2rec() and mx.io.ImageRecordIter.

img.check.raw <- function(buf, arg = "buf") {
  if (!is.raw(buf)) mx.error("value", sprintf("argument '%s' must be a raw vector", arg))
  buf
}

img.check.int <- function(x, arg, lo, hi) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x != floor(x) || x < lo || x > hi)
    mx.error("value", sprintf("argument '%s' must be a whole number in [%s, %s]", arg,
                              format(lo), format(hi)))
  as.integer(x)
}

#' Decode and encode JPEG and PNG images
#'
#' \code{mx.image.decode} decodes the bytes of a JPEG or PNG file (the format
#' is recognised from its first bytes) into an integer array of R dimensions
#' \code{c(width, height, channels)} with values 0-255, red first: MXNet R's
#' \code{data.shape} order, so that \code{aperm(x, c(2, 1, 3)) / 255} is what
#' \code{jpeg::readJPEG} returns. \code{mx.image.encode} does the reverse.
#' Corrupt or truncated data give an error of class \code{mxnet_io_error}.
#'
#' @param buf A raw vector: the bytes of an image file
#'   (\code{readBin(file, "raw", file.size(file))}).
#' @param channels 3 (colour; grey images are expanded) or 1 (grey; colour
#'   images are converted).
#' @param img An array \code{c(width, height)} or
#'   \code{c(width, height, channels)} (1 or 3 channels) of values in [0, 255].
#' @param encoding \code{".jpg"} or \code{".png"}.
#' @param quality JPEG quality (1-100) or PNG compression level (0-9).
#' @return \code{mx.image.decode}: an integer array; \code{mx.image.encode}:
#'   a raw vector.
#' @examples
#' img <- array(0, c(32, 16, 3))
#' img[, , 1] <- seq(0, 255, length.out = 32)        # a red gradient
#' png <- mx.image.encode(img, ".png")
#' all(mx.image.decode(png) == round(img))           # PNG is lossless
#' dim(mx.image.decode(mx.image.encode(img, ".jpg", quality = 90), channels = 1))
#' @export
mx.image.decode <- function(buf, channels = 3) {
  channels <- img.check.int(channels, "channels", 1, 3)
  if (channels == 2L) mx.error("value", "argument 'channels' must be 1 or 3")
  .Call(C_mx_r_image_decode, img.check.raw(buf), channels, 0L)
}

#' @rdname mx.image.decode
#' @export
mx.image.encode <- function(img, encoding = ".jpg", quality = if (encoding == ".png") 3 else 95) {
  if (!is.character(encoding) || length(encoding) != 1L || !(encoding %in% c(".jpg", ".png")))
    mx.error("value", "argument 'encoding' must be \".jpg\" or \".png\"")
  quality <- img.check.int(quality, "quality", if (encoding == ".png") 0 else 1,
                           if (encoding == ".png") 9 else 100)
  .Call(C_mx_r_image_encode, img, encoding == ".png", quality)
}
