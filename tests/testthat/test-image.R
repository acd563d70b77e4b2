# Image decoding and encoding (src/io/image.c), resizing (image-aug.c),
# im2rec (im2rec.c) and mx.io.ImageRecordIter (image-iter.c).

skip_if_not(all(mx.features()[c("JPEG", "PNG")]), "this build has no libjpeg or libpng")

# A smooth colour test image c(w, h, 3) of whole numbers.
test_image <- function(w = 40, h = 30) {
  x <- array(0, c(w, h, 3))
  x[, , 1] <- outer(seq(0, 255, length.out = w), rep(1, h))
  x[, , 2] <- outer(rep(1, w), seq(0, 255, length.out = h))
  x[, , 3] <- 128 + 60 * sin(outer(1:w / 6, 1:h / 5, "+"))
  round(x)
}

test_that("PNG round trip is exact, in colour and grey", {
  x <- test_image()
  expect_identical(mx.image.decode(mx.image.encode(x, ".png")), array(as.integer(x), dim(x)))
  g <- x[, , 2, drop = FALSE]
  expect_identical(mx.image.decode(mx.image.encode(g, ".png"), channels = 1),
                   array(as.integer(g), dim(g)))
  d3 <- mx.image.decode(mx.image.encode(g, ".png"), channels = 3)   # grey expanded
  expect_identical(d3[, , 1], d3[, , 3])
  expect_identical(d3[, , 2], array(as.integer(g), dim(g))[, , 1])
})

test_that("JPEG round trip is close at high quality", {
  x <- test_image()
  d <- mx.image.decode(mx.image.encode(x, ".jpg", quality = 100))
  expect_equal(dim(d), c(40L, 30L, 3L))
  expect_lt(mean(abs(d - x)), 2)
  g <- mx.image.decode(mx.image.encode(x, ".jpg", quality = 100), channels = 1)
  expect_lt(mean(abs(g[, , 1] - (0.299 * x[, , 1] + 0.587 * x[, , 2] + 0.114 * x[, , 3]))), 2)
})

# PNG files made here byte by byte (R reference for png-fast.c, which
# decodes 8-bit grey and RGB without libpng): rows filtered with the given
# PNG filter types (0 none, 1 sub, 2 up, 3 average, 4 Paeth), the zlib
# stream from memCompress, cut into `idat` chunks; `before` adds chunks
# between IHDR and the first IDAT.
png_crc_table <- vapply(0:255, function(n) {
  k <- n
  for (i in 1:8) k <- if (bitwAnd(k, 1L)) bitwXor(-306674912L, bitwShiftR(k, 1L)) else bitwShiftR(k, 1L)
  k
}, 1L)   # -306674912L: the bits of 0xEDB88320
png_crc <- function(b) {
  k <- -1L
  for (v in as.integer(b)) k <- bitwXor(png_crc_table[bitwAnd(bitwXor(k, v), 255L) + 1L], bitwShiftR(k, 8L))
  bitwNot(k)
}
png_be32 <- function(v) writeBin(as.integer(v), raw(), size = 4, endian = "big")
png_chunk <- function(type, data = raw(0)) {
  td <- c(charToRaw(type), data)
  c(png_be32(length(data)), td, png_be32(png_crc(td)))
}
png_filter_row <- function(r, up, bpp, f) {
  a <- c(rep(0, bpp), head(r, -bpp)); c <- c(rep(0, bpp), head(up, -bpp))
  pred <- switch(f + 1, 0, a, up, (a + up) %/% 2, {
    p <- a + up - c; pa <- abs(p - a); pb <- abs(p - up); pc <- abs(p - c)
    ifelse(pa <= pb & pa <= pc, a, ifelse(pb <= pc, up, c))
  })
  c(f, (r - pred) %% 256)
}
png_craft <- function(x, filters = 0, idat = 1, before = NULL) {
  w <- dim(x)[1]; h <- dim(x)[2]; ch <- dim(x)[3]
  rows <- lapply(seq_len(h), function(y) as.vector(t(matrix(x[, y, ], w, ch))))
  up <- rep(0, w * ch)
  body <- unlist(lapply(seq_len(h), function(y) {
    f <- png_filter_row(rows[[y]], up, ch, filters[(y - 1) %% length(filters) + 1])
    up <<- rows[[y]]
    f
  }))
  z <- memCompress(as.raw(body), "gzip")
  cuts <- split(z, ceiling(seq_along(z) * idat / length(z)))
  ihdr <- c(png_be32(w), png_be32(h), as.raw(c(8, if (ch == 1) 0 else 2, 0, 0, 0)))
  c(as.raw(c(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)), png_chunk("IHDR", ihdr), before,
    unlist(lapply(cuts, function(b) png_chunk("IDAT", b)), use.names = FALSE), png_chunk("IEND"))
}

test_that("PNGs made byte by byte decode exactly: every filter, grey and RGB, split data", {
  skip_if_not_installed("png")
  set.seed(3)
  x <- test_image(17, 10)
  x[, 4:6, ] <- sample(0:255, 17 * 3 * 3, replace = TRUE)   # noise: large differences
  g <- x[, , 3, drop = FALSE]
  # path 1: png-fast.c alone (NULL where it declines); 2: libpng alone
  each_path <- function(b, ch, want, fast = TRUE) {
    f <- .Call(mxnet:::C_mx_r_image_decode, b, ch, 0L, 1L)
    if (fast) expect_identical(f, want) else expect_null(f)
    expect_identical(.Call(mxnet:::C_mx_r_image_decode, b, ch, 0L, 2L), want)
    expect_identical(mx.image.decode(b, channels = ch), want)
  }
  for (f in list(0, 1, 2, 3, 4, 0:4, c(4, 3, 1, 2))) {
    each_path(png_craft(x, f), 3L, array(as.integer(x), dim(x)))
    each_path(png_craft(g, f), 1L, array(as.integer(g), dim(g)))
  }
  each_path(png_craft(x, 0:4, idat = 5), 3L, array(as.integer(x), dim(x)))
  one <- array(c(7L, 250L, 3L), c(1, 1, 3))
  each_path(png_craft(one, 4), 3L, one)
  # a harmless chunk is skipped; one that may change colours goes to libpng
  each_path(png_craft(x, 0:4, before = png_chunk("tEXt", charToRaw("a\001b"))), 3L,
            array(as.integer(x), dim(x)))
  each_path(png_craft(x, 1, before = png_chunk("sRGB", as.raw(0))), 3L, array(as.integer(x), dim(x)),
            fast = FALSE)
  # the files of our encoder and of the png package take the fast path
  each_path(mx.image.encode(x, ".png"), 3L, array(as.integer(x), dim(x)))
  p <- tempfile(fileext = ".png")
  png::writePNG(aperm(g, c(2, 1, 3))[, , 1] / 255, p)
  each_path(readBin(p, "raw", file.size(p)), 1L, array(as.integer(g), dim(g)))
  # grey decoded to RGB and RGB to grey go through libpng's conversions
  expect_identical(mx.image.decode(png_craft(g, 2), channels = 3)[, , 2], array(as.integer(g), dim(g))[, , 1])
  expect_identical(dim(mx.image.decode(png_craft(x, 2), channels = 1)), c(17L, 10L, 1L))
})

test_that("damaged PNGs that the fast path refuses fail in libpng with classed errors", {
  x <- test_image(9, 5)
  p <- png_craft(x, 0:4)
  idat <- 8 + 25 + 8 + 2                           # the second byte of the zlib stream
  bad_crc <- p; bad_crc[idat] <- as.raw(bitwXor(as.integer(p[idat]), 1L))
  expect_error(mx.image.decode(bad_crc), "PNG", class = "mxnet_io_error")
  bad_filter <- png_craft(x, 5)                    # no filter type 5
  expect_error(mx.image.decode(bad_filter), "PNG", class = "mxnet_io_error")
  short <- png_craft(x[, 1:4, , drop = FALSE], 0)   # rows for a 9 x 4 image under a 9 x 5 header
  short[17:24] <- p[17:24]
  short[30:33] <- png_be32(png_crc(short[13:29]))
  expect_error(mx.image.decode(short), "PNG", class = "mxnet_io_error")
  expect_null(.Call(mxnet:::C_mx_r_image_decode, short, 3L, 0L, 1L))
  # libpng reads a file without IEND; the fast path leaves it to libpng
  expect_null(.Call(mxnet:::C_mx_r_image_decode, head(p, -12), 3L, 0L, 1L))
  expect_identical(mx.image.decode(head(p, -12)), array(as.integer(x), dim(x)))
})

test_that("fuzz: a JPEG header claiming a huge progressive image fails without a gigabyte buffer", {
  # 479 bytes from fuzz-image-record.c (tools/fuzz/findings/image-record-jpeg-huge-coefficients.bin):
  # libjpeg allocated about 1 GB of coefficient buffers before failing on the data
  h <- "ffd8ffe000104a46494600010100000100012500ffdb00430003030203020203036c6c6c6c030304030304050805050404050a07070608ffffffff0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f171816141812141514ffdb00430103040405040509050509140d0b0d1414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414ffc00011087a49444103012200021101031101ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122133410613516107227114328191a1082342b1c11552d1f024336238393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa3a2a5a6a4a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e500000012e6e7e8e9eaf1f2000000a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00c4f0e7f057a6e95ff1eb5e65e130cfe0000000000000480f1d000200003c9f0a7c43ce3eaebdee9dcfffd9"
  b <- as.raw(strtoi(substring(h, seq(1, nchar(h), 2), seq(2, nchar(h), 2)), 16L))
  expect_error(mx.image.decode(b), "JPEG too large: its decoding buffers would exceed 512 MB",
               class = "mxnet_io_error")
})

test_that("decoded pixels match the jpeg and png packages", {
  skip_if_not_installed("jpeg")
  skip_if_not_installed("png")
  x <- test_image(33, 21)
  f <- tempfile(fileext = ".jpg")
  jpeg::writeJPEG(aperm(x, c(2, 1, 3)) / 255, f, quality = 0.8)
  ours <- mx.image.decode(readBin(f, "raw", file.size(f)))
  theirs <- round(aperm(jpeg::readJPEG(f), c(2, 1, 3)) * 255)
  expect_equal(max(abs(ours - theirs)), 0)
  p <- tempfile(fileext = ".png")
  png::writePNG(aperm(x, c(2, 1, 3)) / 255, p)
  expect_equal(mx.image.decode(readBin(p, "raw", file.size(p))), array(as.integer(x), dim(x)))
  # and they read what we write
  ours.png <- mx.image.encode(x, ".png")
  expect_equal(round(aperm(png::readPNG(ours.png), c(2, 1, 3)) * 255), x)
})

test_that("real photographs from opencv-doc decode like the jpeg package", {
  skip_if_not_installed("jpeg")
  files <- list.files("/usr/share/doc/opencv-doc/examples/data", "\\.jpg$", full.names = TRUE)
  skip_if(!length(files), "opencv-doc is not installed")
  for (f in head(files, 3)) {
    b <- readBin(f, "raw", file.size(f))
    if (b[1] != as.raw(0xff)) next                     # three .jpg files are PNGs
    ours <- mx.image.decode(b)
    theirs <- jpeg::readJPEG(f)
    if (length(dim(theirs)) == 2) theirs <- array(theirs, c(dim(theirs), 3))
    expect_equal(max(abs(ours - round(aperm(theirs, c(2, 1, 3)) * 255))), 0, info = f)
  }
})

test_that("corrupt and truncated images give classed errors, not crashes", {
  x <- test_image()
  j <- mx.image.encode(x, ".jpg")
  p <- mx.image.encode(x, ".png")
  expect_error(mx.image.decode(j[1:(length(j) %/% 2)]), "JPEG", class = "mxnet_io_error")
  expect_error(mx.image.decode(j[1:20]), "JPEG", class = "mxnet_io_error")
  expect_error(mx.image.decode(p[1:(length(p) - 30)]), "PNG", class = "mxnet_io_error")
  bad <- j; bad[200:260] <- as.raw(0xff)
  expect_error(mx.image.decode(bad), class = "mxnet_io_error")
  expect_error(mx.image.decode(charToRaw("GIF89a....")), "not a JPEG or PNG",
               class = "mxnet_io_error")
  set.seed(3)
  for (i in 1:30) {                    # random byte damage: an error or an image, never a crash
    b <- j
    k <- sample(length(b), 5)
    b[k] <- as.raw(sample(0:255, 5))
    r <- tryCatch(mx.image.decode(b), mxnet_io_error = function(e) "error")
    expect_true(identical(r, "error") || identical(dim(r), c(40L, 30L, 3L)))
  }
  expect_error(mx.image.encode(x, ".gif"), class = "mxnet_value_error")
  expect_error(mx.image.encode(x + 300, ".png"), class = "mxnet_value_error")
  expect_error(mx.image.decode(j, channels = 2), class = "mxnet_value_error")
})

test_that("bilinear resize matches an R reference", {
  x <- test_image(20, 12)
  ref_resize <- function(x, w, h) {   # OpenCV's pixel-centre bilinear, clamped at the borders
    coord <- function(n, m) {
      s <- pmax((seq_len(m) - 0.5) * n / m - 0.5, 0)
      i <- pmin(floor(s), n - 1)
      list(i0 = i + 1, i1 = pmin(i + 2, n), w = ifelse(i >= n - 1, 0, s - i))
    }
    cx <- coord(dim(x)[1], w)
    cy <- coord(dim(x)[2], h)
    out <- array(0, c(w, h, dim(x)[3]))
    for (k in seq_len(dim(x)[3])) {
      m <- x[, , k]
      top <- m[cx$i0, cy$i0] * (1 - cx$w) + m[cx$i1, cy$i0] * cx$w
      bot <- m[cx$i0, cy$i1] * (1 - cx$w) + m[cx$i1, cy$i1] * cx$w
      out[, , k] <- top * rep(1 - cy$w, each = w) + bot * rep(cy$w, each = w)
    }
    out
  }
  for (s in list(c(7, 5), c(40, 30), c(20, 12), c(33, 7))) {
    ours <- .Call(mxnet:::C_mx_r_image_resize, x, s[1], s[2])
    expect_lte(max(abs(ours - ref_resize(x, s[1], s[2]))), 1)
  }
})

# A folder tree of small JPEGs: one class per folder, images whose mean
# colour tells the class.
make_tree <- function(root, classes = c("blue", "red"), per = 4, w = 24, h = 18) {
  for (k in seq_along(classes)) {
    dir.create(file.path(root, classes[k]), recursive = TRUE, showWarnings = FALSE)
    for (i in seq_len(per)) {
      x <- test_image(w, h)
      x[, , if (k == 1) 3 else 1] <- 230
      writeBin(mx.image.encode(x, ".jpg", 95), file.path(root, classes[k], sprintf("img%02d.jpg", i)))
    }
  }
  root
}

test_that("im2rec.list writes MXNet's .lst with one class per folder and a split", {
  root <- make_tree(tempfile("tree"))
  writeLines("not an image", file.path(root, "red", "notes.txt"))
  pre <- tempfile("list")
  set.seed(5)
  l <- im2rec.list(pre, root, train.ratio = 0.75, test.ratio = 0)
  expect_equal(attr(l, "classes"), c("blue", "red"))
  tr <- read.delim(l[["train"]], header = FALSE, stringsAsFactors = FALSE)
  va <- read.delim(l[["val"]], header = FALSE, stringsAsFactors = FALSE)
  expect_equal(nrow(tr), 6)
  expect_equal(nrow(va), 2)
  all <- rbind(tr, va)
  expect_setequal(all$V1, 0:7)
  expect_equal(all$V2, ifelse(grepl("^blue/", all$V3), 0, 1))
  expect_match(readLines(l[["train"]])[1], "^[0-9]+\t[01]\\.000000\t(blue|red)/img0[1-4]\\.jpg$")
  one <- im2rec.list(pre, root, shuffle = FALSE)
  expect_equal(readLines(one[["all"]])[1:2], c("0\t0.000000\tblue/img01.jpg", "1\t0.000000\tblue/img02.jpg"))
  expect_error(im2rec.list(pre, tempfile()), class = "mxnet_io_error")
})

test_that("im2rec packs records with headers, resize, centre crop, .idx and threads", {
  root <- make_tree(tempfile("tree"), w = 30, h = 20)
  lst <- im2rec.list(tempfile("list"), root, shuffle = FALSE)
  rec1 <- tempfile(fileext = ".rec")
  im2rec(lst, root, rec1, new_size = 10, num_thread = 1)
  rec2 <- tempfile(fileext = ".rec")
  im2rec(lst, root, rec2, new_size = 10, num_thread = 3)
  expect_identical(readBin(rec1, "raw", file.size(rec1)), readBin(rec2, "raw", file.size(rec2)))
  idx <- sub("rec$", "idx", rec1)
  r <- mx.io.MXIndexedRecordIO(idx, rec1, "r")
  expect_equal(r$keys(), 0:7)
  u <- mx.io.recordio.unpack(r$read.idx(5))
  expect_equal(u$header[c("flag", "label", "id")], list(flag = 0, label = 1, id = 5))
  img <- mx.image.decode(u$s)
  expect_equal(dim(img), c(15L, 10L, 3L))               # 30 x 20 -> short side 10
  expect_gt(mean(img[, , 1]), 200)                       # a red image
  r$close()
  # centre crop + PNG + grey: lossless check against our own pipeline
  rec3 <- tempfile(fileext = ".rec")
  im2rec(lst, root, rec3, center_crop = 1, encoding = ".png", color_mode = 0)
  r <- mx.io.MXRecordIO(rec3, "r")
  g <- mx.image.decode(mx.io.recordio.unpack(r$read())$s, channels = 1)
  r$close()
  f <- file.path(root, "blue", "img01.jpg")
  full <- mx.image.decode(readBin(f, "raw", file.size(f)), channels = 1)
  expect_identical(g, full[6:25, , , drop = FALSE])      # centre 20 x 20 of 30 x 20
  # pass-through keeps the file's bytes; multi-label lists pack labels
  ml <- tempfile(fileext = ".lst")
  writeLines(c("3\t1\t2.5\tblue/img01.jpg", "9\t0\t-1\tred/img02.jpg"), ml)
  rec4 <- tempfile(fileext = ".rec")
  im2rec(ml, root, rec4, label_width = 2, unchanged = 1)
  r <- mx.io.MXRecordIO(rec4, "r")
  u <- mx.io.recordio.unpack(r$read())
  r$close()
  expect_equal(u$header$flag, 2)
  expect_equal(u$header$label, c(1, 2.5))
  expect_equal(u$header$id, 3)
  expect_identical(u$s, readBin(f, "raw", file.size(f)))
})

test_that("im2rec names a corrupt or missing image", {
  root <- make_tree(tempfile("tree"), per = 2)
  writeBin(as.raw(c(0xff, 0xd8, 0xff, 1:50)), file.path(root, "red", "img02.jpg"))
  lst <- im2rec.list(tempfile("list"), root, shuffle = FALSE)
  expect_error(im2rec(lst, root, tempfile(fileext = ".rec"), num_thread = 2),
               "red/img02.jpg", class = "mxnet_io_error")
  file.remove(file.path(root, "red", "img02.jpg"))
  expect_error(im2rec(lst, root, tempfile(fileext = ".rec")), "cannot open", class = "mxnet_io_error")
  expect_error(im2rec(lst, root, tempfile(fileext = ".rec"), label_width = 2),
               "label_width", class = "mxnet_io_error")
})

# ---------------------------------------------------------------- ImageRecordIter

# n PNG records of w x h colour images with label k - 1 and id k - 1;
# image k (1-based) is a fixed non-periodic pattern, so that no two crop
# windows of it are equal.
image_k <- function(k, w, h) {
  x <- 0:(w - 1)
  y <- 0:(h - 1)
  a <- outer(outer(x, y, function(x, y) (x + 1)^2 * 7 + (y + 2)^3 * 3 + x * y * 5), 0:2,
             function(v, c) v + 101 * c + 11 * k)
  a %% 256
}
write_png_rec <- function(n, w = 10, h = 8, labels = NULL) {
  f <- tempfile(fileext = ".rec")
  wr <- mx.io.MXRecordIO(f, "w")
  for (k in seq_len(n)) {
    lab <- if (is.null(labels)) k - 1 else labels[[k]]
    wr$write(mx.io.recordio.pack(list(label = lab, id = k - 1), mx.image.encode(image_k(k, w, h), ".png")))
  }
  wr$close()
  f
}
all_batches <- function(it) {
  it$reset()
  out <- list()
  while (it$iter.next())
    out[[length(out) + 1]] <- list(data = as.array(it$value()$data), label = as.array(it$value()$label),
                                   pad = it$num.pad())
  out
}

test_that("ImageRecordIter: centre crop, normalisation and padding are exact", {
  f <- write_png_rec(5)
  it <- mx.io.ImageRecordIter(f, data.shape = c(6, 4, 3), batch.size = 2, mean.r = 10, mean.g = 20,
                              mean.b = 30, std.r = 2, std.g = 4, std.b = 8, scale = 0.5)
  expect_equal(it$num.records, 5)
  b <- all_batches(it)
  expect_length(b, 3)
  expect_equal(vapply(b, `[[`, 0, "pad"), c(0, 0, 1))
  expect_equal(dim(b[[1]]$data), c(6L, 4L, 3L, 2L))
  for (k in 1:5) {
    bb <- b[[(k - 1) %/% 2 + 1]]
    img <- image_k(k, 10, 8)[3:8, 3:6, ]                   # centre window (2, 2)
    ref <- sweep(sweep(img, 3, c(10, 20, 30)) * 0.5, 3, c(2, 4, 8), "/")
    expect_equal(bb$data[, , , (k - 1) %% 2 + 1], ref, tolerance = 1e-6)
    expect_equal(bb$label[(k - 1) %% 2 + 1], k - 1)
  }
  # round.batch: the last batch is completed with the first example
  expect_equal(b[[3]]$data[, , , 2], b[[1]]$data[, , , 1])
  expect_equal(b[[3]]$label[2], 0)
  nb <- all_batches(mx.io.ImageRecordIter(f, data.shape = c(6, 4, 3), batch.size = 2, round.batch = FALSE))
  expect_equal(nb[[3]]$pad, 1)
  expect_true(all(nb[[3]]$data[, , , 2] == 0))
  u8 <- all_batches(mx.io.ImageRecordUInt8Iter(f, data.shape = c(10, 8, 3), batch.size = 5, mirror = TRUE))
  expect_equal(u8[[1]]$data[, , , 3], image_k(3, 10, 8)[10:1, , ])
})

test_that("ImageRecordIter: random crops and flips are valid windows, reproducible across threads", {
  f <- write_png_rec(12, w = 14, h = 11)
  mk <- function(threads) mx.io.ImageRecordIter(f, data.shape = c(8, 6, 3), batch.size = 5,
                                                rand.crop = TRUE, rand.mirror = TRUE, shuffle = TRUE,
                                                preprocess.threads = threads, prefetch.buffer = 2)
  set.seed(11)
  b1 <- all_batches(mk(1))
  set.seed(11)
  b3 <- all_batches(mk(3))
  expect_identical(b1, b3)
  labs <- unlist(lapply(b1, `[[`, "label"))
  expect_setequal(labs[1:12], 0:11)                    # a permutation, then 3 wrapped
  windows <- character()
  for (bb in b1) for (j in 1:5) {
    x <- bb$data[, , , j]
    img <- image_k(bb$label[j] + 1, 14, 11)
    hit <- NULL
    for (x0 in 0:6) for (y0 in 0:5) {
      w <- img[x0 + 1:8, y0 + 1:6, ]
      if (all(w == x)) hit <- c(hit, sprintf("%d,%d,0", x0, y0))
      if (all(w[8:1, , ] == x)) hit <- c(hit, sprintf("%d,%d,1", x0, y0))
    }
    expect_length(hit, 1)
    windows <- c(windows, hit)
  }
  expect_gt(length(unique(windows)), 5)                # the crops do vary
  expect_true(any(grepl(",1$", windows)) && any(grepl(",0$", windows)))
  set.seed(12)
  expect_false(identical(all_batches(mk(2)), b1))       # another seed, other batches
})

test_that("ImageRecordIter: parts, label.width, image lists and indexes", {
  f <- write_png_rec(10)
  p1 <- all_batches(mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 5,
                                          num.parts = 2, part.index = 1))
  expect_equal(p1[[1]]$label, 5:9)
  ml <- write_png_rec(3, labels = list(c(1, 2), c(3, 4), c(5, 6)))
  b <- all_batches(mx.io.ImageRecordIter(ml, data.shape = c(10, 8, 3), batch.size = 3, label.width = 2))
  expect_equal(b[[1]]$label, matrix(1:6, 2))
  lst <- tempfile(fileext = ".lst")
  writeLines(sprintf("%d\t%d\t%d\tx.png", 0:2, 10 * (0:2), -(0:2)), lst)
  b <- all_batches(mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 3, label.width = 2,
                                         path.imglist = lst, num.parts = 3))
  expect_equal(b[[1]]$label, rbind(c(0, 10, 20), c(0, -1, -2)))
  expect_error(all_batches(mx.io.ImageRecordIter(ml, data.shape = c(10, 8, 3), batch.size = 3)),
               "label.width", class = "mxnet_io_error")
  # im2rec's .idx gives the same batches as the scan
  root <- make_tree(tempfile("tree"), per = 3)
  l <- im2rec.list(tempfile("list"), root, shuffle = FALSE)
  rec <- im2rec(l, root, tempfile(fileext = ".rec"))
  a <- all_batches(mx.io.ImageRecordIter(rec, data.shape = c(16, 16, 3), batch.size = 4))
  i <- all_batches(mx.io.ImageRecordIter(rec, data.shape = c(16, 16, 3), batch.size = 4,
                                         path.imgidx = sub("rec$", "idx", rec)))
  expect_identical(a, i)
  expect_error(mx.io.ImageRecordIter(rec, data.shape = c(16, 16, 3), batch.size = 4,
                                     max_rotate_angle = 10), class = "mxnet_unsupported_error")
  expect_error(mx.io.ImageRecordIter(rec, data.shape = c(16, 16, 2), batch.size = 4),
               class = "mxnet_value_error")
})

test_that("ImageRecordIter: a corrupt image or record is an error naming file and record", {
  f <- tempfile(fileext = ".rec")
  wr <- mx.io.MXRecordIO(f, "w")
  good <- mx.image.encode(image_k(1, 10, 8), ".jpg")
  for (k in 1:4) wr$write(mx.io.recordio.pack(list(label = k, id = k),
                                              if (k == 3) good[1:100] else good))
  wr$close()
  it <- mx.io.ImageRecordIter(f, data.shape = c(8, 8, 3), batch.size = 2, preprocess.threads = 2)
  expect_true(it$iter.next())
  e <- tryCatch(it$iter.next(), error = function(e) e)
  expect_s3_class(e, "mxnet_io_error")
  expect_match(conditionMessage(e), sprintf("file '.*%s', record 2 \\(id 3\\).*JPEG", basename(f)))
  it$reset()
  expect_true(it$iter.next())                          # usable again after reset
  b <- readBin(f, "raw", file.size(f))
  writeBin(b[1:(length(b) - 40)], f)                   # truncate the last record
  expect_error(mx.io.ImageRecordIter(f, data.shape = c(8, 8, 3), batch.size = 2),
               "record 3 .*truncated", class = "mxnet_io_error")
})

test_that("a small conv net trains on a generated image folder through ImageRecordIter", {
  root <- file.path(tempfile("shapes"))
  set.seed(2)
  for (cl in c("horizontal", "vertical")) {
    dir.create(file.path(root, cl), recursive = TRUE)
    for (i in 1:40) {
      x <- array(runif(20 * 20 * 3, 0, 80), c(20, 20, 3))
      pos <- sample(4:16, 1)
      if (cl == "horizontal") x[, pos + 0:2, ] <- 230 else x[pos + 0:2, , ] <- 230
      writeBin(mx.image.encode(x, ".jpg", 90), file.path(root, cl, sprintf("%02d.jpg", i)))
    }
  }
  l <- im2rec.list(tempfile("list"), root)
  rec <- im2rec(l, root, tempfile(fileext = ".rec"))
  it <- mx.io.ImageRecordIter(rec, data.shape = c(18, 18, 3), batch.size = 16, shuffle = TRUE,
                              rand.crop = TRUE, rand.mirror = TRUE, scale = 1 / 255,
                              mean.r = 64, mean.g = 64, mean.b = 64, preprocess.threads = 2)
  data <- mx.symbol.Variable("data")
  net <- mx.symbol.Convolution(data, kernel = c(3, 3), num_filter = 8)
  net <- mx.symbol.Activation(net, act_type = "relu")
  net <- mx.symbol.Pooling(net, pool_type = "max", kernel = c(2, 2), stride = c(2, 2))
  net <- mx.symbol.Flatten(net)
  net <- mx.symbol.FullyConnected(net, num_hidden = 2)
  net <- mx.symbol.SoftmaxOutput(net)
  mx.set.seed(3)
  model <- mx.model.FeedForward.create(net, X = it, num.round = 8, learning.rate = 0.1,
                                       momentum = 0.9, eval.metric = mx.metric.accuracy,
                                       array.batch.size = 16, verbose = FALSE)
  test.it <- mx.io.ImageRecordIter(rec, data.shape = c(18, 18, 3), batch.size = 16, scale = 1 / 255,
                                   mean.r = 64, mean.g = 64, mean.b = 64)
  prob <- predict(model, test.it)
  labels <- mx.io.extract(test.it, "label")
  expect_equal(dim(prob), c(2L, 80L))
  expect_gt(mean(max.col(t(prob)) - 1 == labels), 0.9)
})

test_that("ImageRecordIter: colour and HLS jitter act as documented", {
  f <- tempfile(fileext = ".rec")
  wr <- mx.io.MXRecordIO(f, "w")
  grey <- array(100, c(6, 5, 3))
  col <- image_k(1, 6, 5)
  wr$write(mx.io.recordio.pack(list(label = 0), mx.image.encode(grey, ".png")))
  wr$write(mx.io.recordio.pack(list(label = 1), mx.image.encode(col, ".png")))
  wr$close()
  run <- function(...) {
    set.seed(4)
    all_batches(mx.io.ImageRecordIter(f, data.shape = c(6, 5, 3), batch.size = 2, ...))[[1]]$data
  }
  # HLS conversion round trip: a negligible hue shift leaves the image
  expect_lte(max(abs(run(random.h = 1e-4)[, , , 2] - col)), 1)
  l <- run(random.l = 60)[, , , 1]                      # grey: only lightness moves
  expect_equal(length(unique(as.vector(l))), 1)
  expect_true(l[1] >= 40 && l[1] <= 160 && l[1] != 100)
  expect_equal(run(saturation = 0.8, random.s = 50)[, , , 1], grey)   # grey has no saturation
  b <- run(brightness = 0.5)
  alpha <- b[1, 1, 1, 1] / 100
  expect_true(alpha >= 0.5 && alpha <= 1.5 && alpha != 1)
  b2 <- b[, , , 2]                                      # its own factor, the same for every pixel
  ok <- col > 30 & b2 < 250
  alpha2 <- median(b2[ok] / col[ok])
  expect_lte(max(abs(b2 - pmin(col * alpha2, 255))), 1.5)
  i <- run(max.random.illumination = 10, std.r = 2, std.g = 2, std.b = 2)[, , , 1]
  expect_equal(length(unique(as.vector(i))), 1)
  expect_true(abs(i[1] - 50) <= 5 && i[1] != 50)
})

# ------------------------------------------------ bad records, skipped and counted

# A .rec of records made by `payloads` (raw image bytes, or a function of
# nothing returning a whole record): labels and ids 0, 1, ...; returns the
# path with attribute "offsets" (each record's byte offset).
write_rec <- function(payloads) {
  f <- tempfile(fileext = ".rec")
  wr <- mx.io.MXRecordIO(f, "w")
  off <- numeric()
  for (k in seq_along(payloads)) {
    off[k] <- wr$tell()
    p <- payloads[[k]]
    wr$write(if (is.raw(p)) mx.io.recordio.pack(list(label = k - 1, id = k - 1), p) else p())
  }
  wr$close()
  structure(f, offsets = off)
}
png_k <- function(k) mx.image.encode(image_k(k + 1, 10, 8), ".png")   # the image of label k
# Every delivered example must be the image of its label (PNG, no crop: exact).
expect_examples_match <- function(batches) {
  for (bb in batches) for (j in seq_along(bb$label))
    expect_equal(bb$data[, , , j], image_k(bb$label[j] + 1, 10, 8))
}
collect_warnings <- function(expr) {
  w <- list()
  value <- withCallingHandlers(expr, warning = function(c) {
    w[[length(w) + 1L]] <<- c
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = w)
}

# Good PNGs (labels 0-11) with bad ones at 2, 5, 6 and 9, and the last
# record (11) cut short.
bad_rec <- function() {
  set.seed(21)
  jpg <- mx.image.encode(image_k(3, 10, 8), ".jpg")
  crc <- png_k(6)
  crc[length(crc) - 20] <- xor(crc[length(crc) - 20], as.raw(0x55))   # inside IDAT: CRC mismatch
  head <- mx.io.recordio.pack(list(label = 9, id = 9), png_k(9))
  head[1:4] <- as.raw(0xff)                                  # flag 2^32 - 1: more labels than bytes
  p <- lapply(0:11, png_k)
  p[[3]] <- jpg[1:(length(jpg) %/% 2)]                        # truncated JPEG
  p[[6]] <- as.raw(sample(0:255, 300, TRUE))                   # random bytes
  p[[7]] <- crc
  p[[10]] <- function() head
  f <- write_rec(p)
  b <- readBin(f, "raw", file.size(f))
  writeBin(b[1:(length(b) - 60)], f)                          # truncate the last record
  f
}

test_that("the corrupt images of the fixtures fail to decode", {
  jpg <- mx.image.encode(image_k(3, 10, 8), ".jpg")
  expect_error(mx.image.decode(jpg[1:(length(jpg) %/% 2)]), class = "mxnet_io_error")
  crc <- png_k(6)
  crc[length(crc) - 20] <- xor(crc[length(crc) - 20], as.raw(0x55))
  expect_error(mx.image.decode(crc), "PNG", class = "mxnet_io_error")
})

test_that("ImageRecordIter(bad.records = \"skip\") leaves bad records out, counts and reports them", {
  f <- bad_rec()
  off <- attr(f, "offsets")
  it <- mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 3, bad.records = "skip",
                              preprocess.threads = 2)
  expect_equal(it$num.records, 11)                           # the truncated one is not located
  r <- collect_warnings(all_batches(it))
  b <- r$value
  expect_equal(lapply(b, `[[`, "label"), list(c(0, 1, 3), c(4, 7, 8), c(10, 0, 1)))
  expect_equal(vapply(b, `[[`, 0, "pad"), c(0, 0, 2))
  expect_examples_match(b)
  expect_length(r$warnings, 1)
  expect_s3_class(r$warnings[[1]], "mxnet_skip_warning")
  expect_match(conditionMessage(r$warnings[[1]]), "skipped 5 bad records")
  bad <- it$bad.records()
  expect_equal(attr(bad, "count"), 5)
  expect_equal(bad$file, rep(f[[1]], 5))
  expect_equal(bad$record, c(11, 2, 5, 6, 9))                # framing damage first (found by the scan)
  expect_equal(bad$offset, off[c(12, 3, 6, 7, 10)])
  expect_match(bad$reason[1], "truncated")
  expect_match(bad$reason[2], "JPEG")
  expect_match(bad$reason[3], "not a JPEG or PNG")
  expect_match(bad$reason[4], "PNG")
  expect_match(bad$reason[5], "labels")
  # the same every epoch, and without round.batch the last batch is padded with zeros
  r2 <- collect_warnings(all_batches(it))
  expect_identical(r2$value, b)
  expect_length(r2$warnings, 1)
  z <- suppressWarnings(all_batches(mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 3,
                                                           bad.records = "skip", round.batch = FALSE)))
  expect_equal(z[[3]]$label, c(10, 0, 0))
  expect_equal(z[[3]]$pad, 2)
  expect_true(all(z[[3]]$data[, , , 2:3] == 0))
  # an epoch stopped early warns at the reset
  it$reset()
  expect_true(it$iter.next())
  expect_true(it$iter.next())                                # passed records 2, 5 and 6
  expect_warning(it$reset(), "skipped 4 bad records", class = "mxnet_skip_warning")
  expect_equal(attr(it$bad.records(), "count"), 1)           # the new epoch: the scan's damage
})

test_that("without skipping, bad records are errors naming the file and record", {
  f <- bad_rec()
  expect_error(mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 3),
               "record 11 .*truncated", class = "mxnet_io_error")
  b <- readBin(f, "raw", file.size(f))
  g <- tempfile(fileext = ".rec")
  writeBin(b[1:attr(f, "offsets")[12]], g)                   # without the truncated record
  it <- mx.io.ImageRecordIter(g, data.shape = c(10, 8, 3), batch.size = 3)
  e <- tryCatch(all_batches(it), error = function(e) e)
  expect_s3_class(e, "mxnet_io_error")
  expect_match(conditionMessage(e), sprintf("file '.*%s', record 2 \\(id 2\\).*JPEG", basename(g)))
  expect_error(mx.io.ImageRecordIter(g, data.shape = c(10, 8, 3), batch.size = 3, bad.records = "drop"),
               class = "mxnet_value_error")
})

test_that("skipping gives the same batches and report whatever the threads and prefetch", {
  f <- bad_rec()
  run <- function(threads, prefetch) {
    it <- mx.io.ImageRecordIter(f, data.shape = c(8, 6, 3), batch.size = 4, shuffle = TRUE,
                                rand.crop = TRUE, rand.mirror = TRUE, bad.records = "skip",
                                preprocess.threads = threads, prefetch.buffer = prefetch)
    set.seed(8)
    it$reset()
    b <- suppressWarnings(all_batches(it))
    list(b = b, bad = it$bad.records())
  }
  one <- run(1, 1)
  two <- run(2, 3)
  expect_identical(one, two)
  labs <- unlist(lapply(one$b, `[[`, "label"))
  expect_setequal(labs[1:7], c(0, 1, 3, 4, 7, 8, 10))        # the good ones, shuffled, then 1 wrapped
  expect_length(labs, 8)
  expect_equal(one$b[[2]]$pad, 1)
  expect_equal(attr(one$bad, "count"), 5)
  expect_setequal(one$bad$record, c(11, 2, 5, 6, 9))
})

test_that("framing damage is skipped by resynchronising at the next record head", {
  f <- write_rec(lapply(0:7, png_k))
  off <- attr(f, "offsets")
  b <- readBin(f, "raw", file.size(f))
  b[off[3] + 1:4] <- as.raw(c(1, 2, 3, 4))                    # wrong magic number of record 2
  b[off[6] + 5:8] <- as.raw(c(0xff, 0xff, 0xff, 0x1f))        # absurd length of record 5
  writeBin(b, f)
  expect_error(mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 2),
               "record 2 .*bad magic", class = "mxnet_io_error")
  it <- mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 2, bad.records = "skip")
  r <- collect_warnings(all_batches(it))
  expect_equal(unlist(lapply(r$value, `[[`, "label")), c(0, 1, 3, 4, 6, 7))
  expect_examples_match(r$value)
  expect_equal(it$bad.records()$offset, off[c(3, 6)])
  expect_equal(it$bad.records()$record, c(2, 4))             # numbered among the records found
  expect_match(it$bad.records()$reason[1], "bad magic")
  expect_match(it$bad.records()$reason[2], "past the end")
  expect_length(r$warnings, 1)
  # with an index, each damaged record fails (and is skipped) on its own
  idx <- tempfile(fileext = ".idx")
  writeLines(sprintf("%d\t%.0f", 0:7, off), idx)
  ib <- suppressWarnings(all_batches(mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 2,
                                                           path.imgidx = idx, bad.records = "skip")))
  expect_identical(ib, r$value)
  # parts: each counts the damage before its own records
  p1 <- mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 2, num.parts = 2,
                              part.index = 1, bad.records = "skip")
  expect_equal(attr(p1$bad.records(), "count"), 1)
  expect_equal(unlist(lapply(suppressWarnings(all_batches(p1)), `[[`, "label")), c(4, 6, 7, 4))
})

test_that("an epoch of bad records only ends at once, with the warning", {
  f <- write_rec(list(as.raw(1:40), as.raw(41:90), charToRaw("not an image at all")))
  it <- mx.io.ImageRecordIter(f, data.shape = c(10, 8, 3), batch.size = 2, bad.records = "skip",
                              preprocess.threads = 2)
  expect_warning(expect_false(it$iter.next()), "skipped 3 bad records", class = "mxnet_skip_warning")
  expect_equal(attr(it$bad.records(), "count"), 3)
  expect_false(suppressWarnings(it$iter.next()))
})

test_that("im2rec(bad_images = \"skip\") leaves unreadable images out and warns once", {
  root <- make_tree(tempfile("tree"), per = 3)
  writeBin(as.raw(c(0xff, 0xd8, 0xff, 1:50)), file.path(root, "red", "img02.jpg"))
  lst <- im2rec.list(tempfile("list"), root, shuffle = FALSE)
  file.remove(file.path(root, "blue", "img03.jpg"))
  rec <- tempfile(fileext = ".rec")
  r <- collect_warnings(im2rec(lst, root, rec, num_thread = 2, bad_images = "skip"))
  expect_length(r$warnings, 1)
  expect_s3_class(r$warnings[[1]], "mxnet_skip_warning")
  expect_match(conditionMessage(r$warnings[[1]]), "skipped 2 of 6 .*blue/img03.jpg, red/img02.jpg")
  expect_equal(attr(r$value, "skipped"), c("blue/img03.jpg", "red/img02.jpg"))
  x <- mx.io.MXIndexedRecordIO(sub("rec$", "idx", rec), rec, "r")
  expect_equal(x$keys(), c(0, 1, 3, 5))                      # the list's indexes of the others
  expect_equal(mx.io.recordio.unpack(x$read.idx(5))$header$id, 5)
  x$close()
  b <- all_batches(mx.io.ImageRecordIter(rec, data.shape = c(16, 16, 3), batch.size = 4))
  expect_equal(b[[1]]$label, c(0, 0, 1, 1))
  expect_error(im2rec(lst, root, tempfile(fileext = ".rec")), "cannot open", class = "mxnet_io_error")
  expect_error(im2rec(lst, root, tempfile(fileext = ".rec"), bad_images = "ignore"),
               class = "mxnet_value_error")
})
