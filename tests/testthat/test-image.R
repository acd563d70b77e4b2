# Image decoding and encoding (src/io/image.c), resizing (image-aug.c).

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
