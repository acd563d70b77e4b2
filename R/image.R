# Images: decoding and encoding (JPEG through libjpeg-turbo, PNG through
# libpng; src/io/image.c), im2rec() and mx.io.ImageRecordIter.

img.check.raw <- function(buf, arg = "buf") {
  if (!is.raw(buf)) mx.error("value", sprintf("argument '%s' must be a raw vector", arg))
  buf
}

img.check.choice <- function(x, arg, choices) {
  if (!is.character(x) || length(x) < 1L || !(x[1] %in% choices))
    mx.error("value", sprintf("argument '%s' must be one of %s", arg,
                              paste0("\"", choices, "\"", collapse = ", ")))
  x[1]
}

# A warning of class mxnet_skip_warning (bad records or images skipped).
img.skip.warning <- function(msg)
  warning(structure(class = c("mxnet_skip_warning", "warning", "condition"),
                    list(message = msg, call = NULL)))

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
  .Call(C_mx_r_image_decode, img.check.raw(buf), channels, 0L, 0L)
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
#'   writeBin(mx.image.encode(array(255 - i * 40, c(8, 8, 3))),
#'            file.path(root, "dog", paste0(i, ".jpg")))
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
#' with an error of class \code{mxnet_io_error} naming it (as MXNet R's
#' \code{im2rec} does), or with \code{bad_images = "skip"} is left out, as
#' MXNet's \code{im2rec.py} does: no record and no index line for it, and
#' one warning of class \code{mxnet_skip_warning} giving their number and
#' the first names; the other records keep their list indexes as ids.
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
#' @param bad_images \code{"error"} (the default) or \code{"skip"}: what an
#'   image file that cannot be read or decoded does.
#' @return The path of the \code{.rec} file, invisibly; when images were
#'   skipped, its attribute \code{skipped} holds their paths (as in the
#'   list).
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
                   unchanged = 0, inter_method = 1, encoding = ".jpg", num_thread = 1,
                   bad_images = c("error", "skip")) {
  skip <- img.check.choice(bad_images, "bad_images", c("error", "skip")) == "skip"
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
                       img.check.int(num_thread, "num_thread", 1, 64), skip))
  idx <- sub("\\.rec$", "", output_rec)
  skipped <- .Call(C_mx_r_im2rec, paths, as.double(labels[, part, drop = FALSE]), label_width,
                   ids[part], opts, output_rec, paste0(idx, ".idx"))
  if (!length(skipped)) return(invisible(output_rec))
  names <- m[label_width + 2L, part][skipped + 1]
  img.skip.warning(sprintf("im2rec: skipped %d of %d images that cannot be read or decoded: %s%s (first: %s)",
                           length(names), length(part), paste(utils::head(names, 5), collapse = ", "),
                           if (length(names) > 5) ", ..." else "", attr(skipped, "why")))
  invisible(structure(output_rec, skipped = names))
}

# MXNet parameters of ImageRecordIter that this package does not implement,
# with the values that mean "off" (accepted; anything else is an error).
img.iter.unsupported <- list(mean.img = "", max.rotate.angle = 0, rotate = -1, max.shear.ratio = 0,
                             max.crop.size = -1, min.crop.size = -1, max.random.scale = 1,
                             min.random.scale = 1, max.aspect.ratio = 0, random.resized.crop = FALSE,
                             pad = 0, pca.noise = 0, inter.method = 1, shuffle.chunk.size = 0)

img.read.list <- function(path, width) {
  if (is.null(path) || identical(path, "")) return(list(ids = numeric(), labels = numeric()))
  if (!file.exists(path)) mx.error("io", sprintf("path.imglist: file '%s' does not exist", path))
  f <- strsplit(readLines(path, warn = FALSE), "\t", fixed = TRUE)
  f <- f[lengths(f) > 0]
  if (any(lengths(f) < width + 1L))
    mx.error("io", sprintf("path.imglist '%s': lines need an index and %d labels", path, width))
  m <- vapply(f, function(x) suppressWarnings(as.numeric(x[seq_len(width + 1L)])), numeric(width + 1L))
  m <- matrix(m, nrow = width + 1L)
  if (anyNA(m)) mx.error("io", sprintf("path.imglist '%s': non-numeric index or label", path))
  list(ids = m[1, ], labels = as.double(m[-1, , drop = FALSE]))
}

#' Image record iterator
#'
#' Reads a RecordIO file of images (made by \code{\link{im2rec}} or MXNet's
#' \code{im2rec}) and delivers augmented mini-batches: data of R dimensions
#' \code{c(data.shape, batch.size)} = \code{c(width, height, channels,
#' batch.size)}, float32 (\code{ImageRecordUInt8Iter}: uint8, without
#' normalisation), channel 1 red; labels \code{c(batch.size)} or
#' \code{c(label.width, batch.size)}. The iterator has MXNet's protocol
#' (\code{reset}, \code{iter.next}, \code{value}, \code{num.pad}) and plugs
#' into \code{\link{mx.model.FeedForward.create}} and \code{predict}.
#'
#' Per image, in MXNet's order: decode (JPEG through libjpeg-turbo, with
#' its DCT scaling when \code{resize} allows, or PNG), resize the short side
#' to \code{resize}, upscale an image smaller than \code{data.shape} keeping
#' its aspect ratio, crop \code{data.shape} at random (\code{rand.crop}) or in
#' the centre, brightness / contrast / saturation jitter in a random order,
#' HLS jitter (\code{random.h}, \code{random.s}, \code{random.l}, in
#' OpenCV's units: hue 0-180, the others 0-255), then mirror
#' (\code{rand.mirror}: with probability 1/2) and normalise:
#' \code{(x - mean) * scale * (1 + U(-max.random.contrast, max.random.contrast)) / std
#' + U(-max.random.illumination, max.random.illumination) * scale / std}.
#' Bilinear resampling only; contrast and saturation use the grey of the RGB
#' image and HLS offsets are uniform (MXNet 1.9.1 mixed up BGR weights and
#' drew skewed offsets).
#'
#' \code{preprocess.threads} threads decode ahead into
#' \code{prefetch.buffer} batches while the model trains. When the model's
#' threads fill every core, the decoding threads make the next batch at once
#' but wait with the later ones until the running op ends, so that they do
#' not stall its threads (see \code{\link{mx.threads}}). The arrays of
#' \code{value()} are read in place (no copy): they stay valid until the next
#' \code{iter.next()} or \code{reset()}, then are refilled; copy
#' (\code{as.array}) what must survive a step. Each
#' \code{reset()} draws one seed from R's generator, from which the epoch's
#' shuffle and every image's random draws derive: \code{set.seed()} makes the
#' batches reproducible whatever the thread count. With \code{shuffle} the
#' whole part is permuted every epoch (no \code{.idx} needed: the record
#' offsets are found by a scan of the headers, or read from
#' \code{path.imgidx}).
#'
#' The last batch is always full: with \code{round.batch = TRUE} its missing
#' examples are the first ones of the epoch, otherwise zeros; either way
#' \code{num.pad()} counts them (MXNet 1.9.1 reported 0 for stale rows).
#' \code{reset()} restarts at the first batch.
#'
#' Labels come from \code{path.imglist} (by the records' ids) when given,
#' else from the records' label vectors (their length must be
#' \code{label.width}), else from the header's label. A record that cannot be
#' read or decoded gives an error of class \code{mxnet_io_error} naming the
#' file and the record.
#'
#' \code{bad.records = "skip"} (not an MXNet parameter) skips such records
#' instead: an image that cannot be decoded (corrupt, truncated, not JPEG or
#' PNG), a record whose image header cannot be unpacked, and, with
#' \code{path.imgidx}, a record whose framing is damaged are left out, and
#' the batches are filled from the next good records, so every batch stays
#' full and \code{num.pad()} counts only the padding of the last one. Without
#' \code{path.imgidx}, damage to the file's framing found when the records
#' are first located (a wrong magic number, a bad continuation flag, a
#' length running past the end of the file, a truncated last record) is
#' skipped by resuming at the next record head (a magic number with the flag
#' of a record's start, which the format escapes inside payloads) and counts
#' in every epoch. What stays an error: a file that cannot be opened or
#' read, a malformed \code{.idx}, labels that do not fit \code{label.width}
#' or \code{path.imglist}, and a part with no readable record. The skips do
#' not change with the thread count or the prefetching. \code{bad.records()}
#' returns those of the current epoch (since the last \code{reset()}): a
#' data frame of the first 10 (\code{file}, \code{record}: the record's
#' 0-based number in the file, or for framing damage the number of the record
#' after it; \code{offset}: its byte offset; \code{reason}) with attribute
#' \code{count}, the number skipped. Each epoch with skips ends (at the
#' \code{iter.next()} that returns \code{FALSE}, or at a \code{reset()}
#' that cuts it short) with one warning of class \code{mxnet_skip_warning}
#' giving the count and the first reason.
#'
#' @param path.imgrec Path of the \code{.rec} file.
#' @param data.shape \code{c(width, height, channels)}, channels 1 (grey) or 3.
#' @param batch.size Examples per batch.
#' @param path.imglist Optional \code{.lst} file giving the labels.
#' @param path.imgidx Optional \code{.idx} file (saves the scan at start).
#' @param label.width Labels per example.
#' @param shuffle Permute the records every epoch.
#' @param rand.crop,rand.mirror,mirror Random crop, random and constant
#'   horizontal flip.
#' @param mean.r,mean.g,mean.b,std.r,std.g,std.b,scale Normalisation.
#' @param resize Short side after decoding (-1: no resize).
#' @param max.random.contrast,max.random.illumination Random contrast and
#'   illumination of the normalisation.
#' @param brightness,contrast,saturation Colour jitter ranges (0: off).
#' @param random.h,random.s,random.l HLS jitter ranges (0: off).
#' @param num.parts,part.index Read part \code{part.index} (0-based) of
#'   \code{num.parts} contiguous parts of the records (distributed training).
#' @param round.batch Complete the last batch with the first examples.
#' @param preprocess.threads Decoding threads; 0 = the package's thread count
#'   (\code{options(mxnet.threads)}).
#' @param prefetch.buffer Batches decoded ahead.
#' @param dtype \code{"float32"} or \code{"uint8"} (no normalisation).
#' @param bad.records \code{"error"} (the default) or \code{"skip"}: what a
#'   record that cannot be read or decoded does (see Details).
#' @param ... Other MXNet parameters: underscore spellings of the above are
#'   understood; rotation, shear, scale and aspect warps, \code{pad},
#'   \code{pca.noise}, \code{mean.img} and \code{random.resized.crop} are not
#'   implemented (an error unless at their defaults); the rest (\code{seed},
#'   \code{verbose}, \code{ctx}, ...) are ignored.
#' @return An iterator of class \code{c("MXImageRecordIter", "MXDataIter")};
#'   besides MXNet's methods it has \code{bad.records()}.
#' @examples
#' root <- file.path(tempdir(), "iterimgs")
#' dir.create(file.path(root, "a"), recursive = TRUE)
#' for (i in 1:5) writeBin(mx.image.encode(array(i * 40, c(20, 16, 3))),
#'                         file.path(root, "a", paste0(i, ".jpg")))
#' lst <- im2rec.list(file.path(tempdir(), "iter"), root, shuffle = FALSE)
#' rec <- im2rec(lst, root, file.path(tempdir(), "iter.rec"))
#' it <- mx.io.ImageRecordIter(rec, data.shape = c(16, 16, 3), batch.size = 2,
#'                             rand.crop = TRUE, rand.mirror = TRUE, scale = 1 / 255)
#' while (it$iter.next()) print(dim(it$value()$data))
#' it$num.pad()
#' @export
mx.io.ImageRecordIter <- function(path.imgrec, data.shape, batch.size, path.imglist = "",
                                  path.imgidx = "", label.width = 1, shuffle = FALSE,
                                  rand.crop = FALSE, rand.mirror = FALSE, mirror = FALSE,
                                  mean.r = 0, mean.g = 0, mean.b = 0, std.r = 1, std.g = 1, std.b = 1,
                                  scale = 1, resize = -1, max.random.contrast = 0,
                                  max.random.illumination = 0, brightness = 0, contrast = 0,
                                  saturation = 0, random.h = 0, random.s = 0, random.l = 0,
                                  num.parts = 1, part.index = 0, round.batch = TRUE,
                                  preprocess.threads = 0, prefetch.buffer = 4, dtype = "float32",
                                  bad.records = c("error", "skip"), ...) {
  dots <- list(...)
  over <- io.dotted.args(dots, names(formals(sys.function())))
  for (k in names(over)) assign(k, over[[k]])
  names(dots) <- gsub("_", ".", names(dots), fixed = TRUE)
  for (k in intersect(names(dots), names(img.iter.unsupported)))
    if (!identical(as.vector(dots[[k]]), img.iter.unsupported[[k]]) &&
        !isTRUE(all.equal(dots[[k]], img.iter.unsupported[[k]])))
      mx.error("unsupported", sprintf("ImageRecordIter: parameter '%s' is not implemented", k))
  if (!is.numeric(data.shape) || length(data.shape) != 3L || anyNA(data.shape) ||
      any(data.shape < 1) || !(data.shape[3] %in% c(1, 3)))
    mx.error("value", "argument 'data.shape' must be c(width, height, channels) with 1 or 3 channels")
  if (!(dtype %in% c("float32", "uint8"))) mx.error("value", "argument 'dtype' must be \"float32\" or \"uint8\"")
  skip <- img.check.choice(bad.records, "bad.records", c("error", "skip")) == "skip"
  batch.size <- io.check.batch.size(batch.size)
  label.width <- img.check.int(label.width, "label.width", 1, 1e6)
  num.parts <- img.check.int(num.parts, "num.parts", 1, 1e9)
  part.index <- img.check.int(part.index, "part.index", 0, num.parts - 1)
  flags <- list(shuffle = shuffle, rand.crop = rand.crop, rand.mirror = rand.mirror,
                mirror = mirror, round.batch = round.batch)
  flags <- vapply(names(flags), function(k) io.check.flag(flags[[k]], k), TRUE)
  nums <- c(mean.r = mean.r, mean.g = mean.g, mean.b = mean.b, std.r = std.r, std.g = std.g,
            std.b = std.b, scale = scale, max.random.contrast = max.random.contrast,
            max.random.illumination = max.random.illumination, brightness = brightness,
            contrast = contrast, saturation = saturation, random.h = random.h,
            random.s = random.s, random.l = random.l)
  if (!is.numeric(nums) || length(nums) != 15L || any(!is.finite(nums)))
    mx.error("value", "the normalisation and jitter parameters must be single finite numbers")
  if (any(nums[c("std.r", "std.g", "std.b")] == 0)) mx.error("value", "std.r/g/b must not be 0")
  lst <- img.read.list(path.imglist, label.width)
  params <- c(w = data.shape[1], h = data.shape[2], c = data.shape[3],
              resize = img.check.int(resize, "resize", -1, 1e5), flags + 0, nums,
              uint8 = dtype == "uint8", batch.size = batch.size, label.width = label.width,
              num.parts = num.parts, part.index = part.index,
              preprocess.threads = img.check.int(preprocess.threads, "preprocess.threads", 0, 64),
              prefetch.buffer = img.check.int(prefetch.buffer, "prefetch.buffer", 1, 1024),
              skip.bad = skip)
  storage.mode(params) <- "double"
  handle <- .Call(C_mx_r_image_iter_new, path.imgrec, if (nzchar(path.imgidx)) path.imgidx,
                  params, as.double(lst$ids), as.double(lst$labels))
  slots <- .Call(C_mx_r_image_iter_slots, handle)        # batches are read in place
  slots <- lapply(slots, function(s) list(data = s[[1L]], label = s[[2L]]))
  batch <- NULL
  pad <- 0L
  it <- new.env(parent = emptyenv())
  it$batch.size <- batch.size
  it$num.records <- .Call(C_mx_r_image_iter_size, handle)
  warned <- TRUE
  started <- FALSE                                       # iter.next() called in this epoch
  it$bad.records <- function() img.bad.records(handle, path.imgrec)
  warn.bad <- function() {
    if (warned) return(invisible(NULL))
    warned <<- TRUE
    b <- it$bad.records()
    if (attr(b, "count") > 0)
      img.skip.warning(sprintf("ImageRecordIter: skipped %.0f bad record%s of '%s' in this epoch (first: record %.0f: %s); see bad.records()",
                               attr(b, "count"), if (attr(b, "count") == 1) "" else "s", path.imgrec,
                               b$record[1], b$reason[1]))
  }
  it$reset <- function() {
    batch <<- NULL
    if (started) warn.bad()
    started <<- FALSE
    warned <<- !skip
    .Call(C_mx_r_image_iter_reset, handle)
    invisible(NULL)
  }
  it$iter.next <- function() {
    started <<- TRUE
    p <- .Call(C_mx_r_image_iter_next, handle)
    if (is.null(p)) {
      batch <<- NULL
      warn.bad()
      return(FALSE)
    }
    batch <<- slots[[p[1L] + 1L]]
    pad <<- p[2L]
    TRUE
  }
  it$value <- function() {
    if (is.null(batch)) mx.error("value", "ImageRecordIter: call iter.next() before value()")
    batch
  }
  it$num.pad <- function() pad
  it$reset()
  io.new.iter(it, "MXImageRecordIter")
}

# The records an ImageRecordIter skipped this epoch: a data frame of the
# first ones with attribute "count".
img.bad.records <- function(handle, file) {
  b <- .Call(C_mx_r_image_iter_bad, handle)
  structure(data.frame(file = rep(file, length(b[[2]])), record = b[[2]], offset = b[[3]],
                       reason = b[[4]], stringsAsFactors = FALSE), count = b[[1]])
}

#' @rdname mx.io.ImageRecordIter
#' @export
mx.io.ImageRecordUInt8Iter <- function(path.imgrec, data.shape, batch.size, ...) {
  mx.io.ImageRecordIter(path.imgrec, data.shape, batch.size, ..., dtype = "uint8")
}
