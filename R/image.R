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

#' Make image lists from a folder tree
#'
#' Writes MXNet's \code{.lst} files (\code{index<TAB>label<TAB>path}, one
#' image per line, paths relative to \code{root}) like \code{im2rec.py
#' --list}: with \code{recursive = TRUE} every sub-folder of \code{root} is a
#' class, labelled 0, 1, ... in sorted order; otherwise the images directly in
#' \code{root} get label 0. The images are shuffled with R's generator (so
#' \code{set.seed()} fixes the order) unless \code{shuffle = FALSE}, then split
#' into \code{prefix_train.lst}, \code{prefix_val.lst} and
#' \code{prefix_test.lst} by \code{train.ratio} and \code{test.ratio} (one file
#' \code{prefix.lst} when \code{train.ratio = 1}).
#'
#' @param prefix Path prefix of the list files.
#' @param root Folder of the images.
#' @param exts File extensions taken (case-insensitive).
#' @param train.ratio,test.ratio Fractions of the images in the training
#'   and test lists; the rest go to the validation list.
#' @param recursive One class per sub-folder.
#' @param shuffle Shuffle the images before splitting.
#' @return The paths of the list files written (invisibly), named
#'   \code{train}, \code{val}, \code{test} (or \code{all}); attribute
#'   \code{classes} holds the class folder of each label.
#' @seealso \code{\link{im2rec}}
#' @examples
#' root <- file.path(tempdir(), "imgs")
#' for (cl in c("cat", "dog")) dir.create(file.path(root, cl), recursive = TRUE)
#' for (i in 1:3) {
#'   writeBin(mx.image.encode(array(i * 40, c(8, 8, 3))), file.path(root, "cat", paste0(i, ".jpg")))
#'   writeBin(mx.image.encode(array(255 - i * 40, c(8, 8, 3))), file.path(root, "dog", paste0(i, ".jpg")))
#' }
#' lst <- im2rec.list(file.path(tempdir(), "pets"), root, train.ratio = 0.5)
#' readLines(lst[["train"]])
#' @export
im2rec.list <- function(prefix, root, exts = c(".jpeg", ".jpg", ".png"), train.ratio = 1,
                        test.ratio = 0, recursive = TRUE, shuffle = TRUE) {
  if (!is.character(root) || length(root) != 1L || !dir.exists(root))
    mx.error("io", sprintf("im2rec.list: folder '%s' does not exist", format(root)))
  if (!is.numeric(train.ratio) || !is.numeric(test.ratio) || length(train.ratio) != 1L ||
      length(test.ratio) != 1L || train.ratio < 0 || test.ratio < 0 || train.ratio + test.ratio > 1)
    mx.error("value", "train.ratio and test.ratio must be in [0, 1] with a sum of at most 1")
  pattern <- paste0("(", paste(gsub(".", "\\.", exts, fixed = TRUE), collapse = "|"), ")$")
  if (isTRUE(recursive)) {
    classes <- sort(list.dirs(root, full.names = FALSE, recursive = FALSE))
    files <- lapply(classes, function(cl)
      file.path(cl, sort(list.files(file.path(root, cl), pattern, ignore.case = TRUE, recursive = TRUE))))
    label <- rep(seq_along(classes) - 1, lengths(files))
    files <- unlist(files)
  } else {
    classes <- "."
    files <- sort(list.files(root, pattern, ignore.case = TRUE))
    label <- rep(0, length(files))
  }
  if (!length(files)) mx.error("io", sprintf("im2rec.list: no images (%s) under '%s'",
                                             paste(exts, collapse = " "), root))
  idx <- seq_along(files) - 1
  ord <- if (isTRUE(shuffle)) sample.int(length(files)) else seq_along(files)
  n <- length(files)
  n.test <- floor(n * test.ratio)
  n.train <- floor(n * train.ratio)
  parts <- if (train.ratio == 1) list(all = ord) else
    list(train = ord[n.test + seq_len(n.train)], val = ord[-seq_len(n.test + n.train)],
         test = ord[seq_len(n.test)])
  out <- character()
  for (nm in names(parts)) {
    f <- if (nm == "all") paste0(prefix, ".lst") else paste0(prefix, "_", nm, ".lst")
    k <- parts[[nm]]
    writeLines(sprintf("%d\t%f\t%s", idx[k], label[k], files[k]), f)
    out[[nm]] <- f
  }
  attr(out, "classes") <- classes
  invisible(out)
}

#' Pack images into a RecordIO file
#'
#' Reads the images of a \code{.lst} file (see \code{\link{im2rec.list}};
#' \code{index<TAB>label_1 ... label_k<TAB>path}) and writes them as image
#' records to \code{output_rec} and its index (\code{.idx} next to it), the
#' format of \code{\link{mx.io.ImageRecordIter}} and MXNet's
#' \code{im2rec}. The arguments are those of MXNet R's \code{im2rec}. Each
#' image is decoded (JPEG or PNG), optionally cropped to its centre square
#' (\code{center_crop}) and resized so that its short side is \code{new_size}
#' (bilinear), then encoded again (\code{encoding}, \code{quality});
#' \code{unchanged = 1} stores the files' bytes as they are. Records are
#' made by \code{num_thread} threads and written in list order; unlike MXNet
#' R, the index file is always written. An unreadable or corrupt image stops
#' with an error of class \code{mxnet_io_error} naming it.
#'
#' @param image_lst Path of the \code{.lst} file.
#' @param root Folder the list's paths are relative to.
#' @param output_rec Path of the \code{.rec} file to write; the index goes
#'   to the same path with extension \code{.idx}.
#' @param label_width Labels per image in the list.
#' @param pack_label Store the labels after the header even when
#'   \code{label_width} is 1.
#' @param new_size Short side after resizing; -1 keeps the size.
#' @param nsplit,partid Pack only part \code{partid} (0-based) of
#'   \code{nsplit} contiguous parts of the list.
#' @param center_crop Crop the centre square before resizing.
#' @param quality JPEG quality (1-100) or PNG compression level (0-9).
#' @param color_mode 1: colour, 0: grey.
#' @param unchanged 1: store the image files unchanged.
#' @param inter_method Interpolation: only 1 (bilinear) is offered.
#' @param encoding \code{".jpg"} or \code{".png"}.
#' @param num_thread Threads reading and encoding images.
#' @return The path of the \code{.rec} file, invisibly.
#' @seealso \code{\link{mx.io.MXIndexedRecordIO}} to read single records.
#' @examples
#' root <- file.path(tempdir(), "imgs2")
#' dir.create(file.path(root, "a"), recursive = TRUE)
#' for (i in 1:4) writeBin(mx.image.encode(array(i * 50, c(12, 9, 3))),
#'                         file.path(root, "a", paste0(i, ".jpg")))
#' lst <- im2rec.list(file.path(tempdir(), "small"), root, shuffle = FALSE)
#' rec <- im2rec(lst, root, file.path(tempdir(), "small.rec"), new_size = 6)
#' r <- mx.io.MXRecordIO(rec, "r")
#' dim(mx.image.decode(mx.io.recordio.unpack(r$read())$s))
#' r$close()
#' @export
im2rec <- function(image_lst, root, output_rec, label_width = 1, pack_label = 0, new_size = -1,
                   nsplit = 1, partid = 0, center_crop = 0, quality = 95, color_mode = 1,
                   unchanged = 0, inter_method = 1, encoding = ".jpg", num_thread = 1) {
  if (!is.character(image_lst) || length(image_lst) != 1L || !file.exists(image_lst))
    mx.error("io", sprintf("im2rec: list file '%s' does not exist", format(image_lst)))
  label_width <- img.check.int(label_width, "label_width", 1, 1e6)
  nsplit <- img.check.int(nsplit, "nsplit", 1, 1e9)
  partid <- img.check.int(partid, "partid", 0, nsplit - 1)
  if (!(encoding %in% c(".jpg", ".png"))) mx.error("value", "encoding must be \".jpg\" or \".png\"")
  quality <- img.check.int(quality, "quality", 0, 100)
  if (encoding == ".png" && quality > 9) quality <- 9L   # MXNet passed 95 on to PNG too
  if (!identical(as.numeric(inter_method), 1))
    mx.error("value", "im2rec: only inter_method = 1 (bilinear) is available")
  lines <- readLines(image_lst, warn = FALSE)
  lines <- lines[nzchar(lines)]
  fields <- strsplit(lines, "\t", fixed = TRUE)
  bad <- which(lengths(fields) != label_width + 2L)
  if (length(bad))
    mx.error("io", sprintf("im2rec: line %d of '%s' has %d fields; label_width = %d needs %d",
                           bad[1], image_lst, length(fields[[bad[1]]]), label_width, label_width + 2L))
  m <- matrix(unlist(fields), nrow = label_width + 2L)
  ids <- suppressWarnings(as.numeric(m[1, ]))
  labels <- matrix(suppressWarnings(as.numeric(m[1 + seq_len(label_width), ])), nrow = label_width)
  if (anyNA(ids) || anyNA(labels)) mx.error("io", sprintf("im2rec: '%s' has a non-numeric index or label", image_lst))
  n <- length(ids)
  part <- seq.int(floor(n / nsplit * partid) + 1, length.out = floor(n / nsplit * (partid + 1)) - floor(n / nsplit * partid))
  paths <- path.expand(file.path(root, m[label_width + 2L, part]))
  opts <- as.integer(c(new_size, center_crop != 0, quality, encoding == ".png",
                       if (color_mode == 0) 1 else 3, unchanged != 0, pack_label != 0,
                       img.check.int(num_thread, "num_thread", 1, 64)))
  idx <- sub("\\.rec$", "", output_rec)
  .Call(C_mx_r_im2rec, paths, as.double(labels[, part, drop = FALSE]), label_width, ids[part], opts,
        output_rec, paste0(idx, ".idx"))
  invisible(output_rec)
}
