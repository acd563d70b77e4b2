# Data iterators: mx.io.arrayiter, mx.io.MNISTIter (idx files written here,
# plain and gzip-compressed, and the Debian Fashion-MNIST files when
# installed), mx.io.CSVIter and mx.io.extract.

# Run a whole pass; one entry per batch: list(data, label, pad) as R arrays.
all_batches <- function(iter) {
  out <- list()
  iter$reset()
  while (iter$iter.next()) {
    v <- iter$value()
    out[[length(out) + 1L]] <- list(data = as.array(v$data), label = as.array(v$label),
                                     pad = iter$num.pad())
  }
  out
}

# ---------------------------------------------------------------- arrayiter

test_that("arrayiter delivers batches along the last R dim, with MXNet's stale padding", {
  x <- array(as.numeric(1:60), c(2, 3, 10))
  y <- 0:9
  iter <- mx.io.arrayiter(x, y, batch.size = 4)
  expect_s3_class(iter, "MXArrayDataIter")
  expect_true(is.mx.dataiter(iter))
  expect_false(is.mx.dataiter(x))
  expect_equal(iter$batch.size, 4L)
  b <- all_batches(iter)
  expect_length(b, 3)
  expect_equal(dim(b[[1]]$data), c(2, 3, 4))
  expect_equal(length(b[[1]]$label), 4)  # K2: 1-D is a plain vector
  expect_equal(b[[1]]$data, x[, , 1:4])
  expect_equal(b[[2]]$data, x[, , 5:8])
  expect_equal(as.vector(b[[2]]$label), 4:7)
  expect_equal(sapply(b, `[[`, "pad"), c(0L, 0L, 2L))
  # last batch: examples 9, 10, then the rows batch 2 left behind (7, 8)
  expect_equal(b[[3]]$data, x[, , c(9, 10, 7, 8)])
  expect_equal(as.vector(b[[3]]$label), c(8, 9, 6, 7))
  # a second pass is identical
  expect_identical(all_batches(iter), b)
  # after the pass
  expect_false(iter$iter.next())
})

test_that("arrayiter pads a single batch with zeros; num.pad is (B - n mod B) mod B", {
  x <- matrix(as.numeric(1:6), 2)
  iter <- mx.io.arrayiter(x, c(5, 6, 7), batch.size = 5)
  b <- all_batches(iter)
  expect_length(b, 1)
  expect_equal(b[[1]]$pad, 2L)
  expect_equal(b[[1]]$data, cbind(x, 0, 0), ignore_attr = TRUE)
  expect_equal(as.vector(b[[1]]$label), c(5, 6, 7, 0, 0))
  iter <- mx.io.arrayiter(matrix(0, 2, 8), 1:8, batch.size = 4)
  expect_equal(sapply(all_batches(iter), `[[`, "pad"), c(0L, 0L))
  expect_equal(iter$num.pad(), 0L)
})

test_that("arrayiter handles vector data and array labels", {
  iter <- mx.io.arrayiter(as.numeric(11:15), as.numeric(1:5), batch.size = 2)
  b <- all_batches(iter)
  expect_equal(as.vector(b[[1]]$data), c(11, 12))
  expect_null(dim(b[[1]]$data))  # K2: 1-D is a plain vector
  lab <- matrix(as.numeric(1:10), 2)          # 2 outputs per example, 5 examples
  iter <- mx.io.arrayiter(matrix(as.numeric(1:15), 3), lab, batch.size = 2)
  v <- iter$iter.next()
  expect_true(v)
  expect_equal(dim(iter$value()$label), c(2, 2))
  expect_equal(as.array(iter$value()$label), lab[, 1:2])
})

test_that("arrayiter shuffles once with set.seed and MXNet's Fisher-Yates pass", {
  n <- 37
  x <- rbind(as.numeric(0:(n - 1)), as.numeric(0:(n - 1)) * 10)
  y <- 0:(n - 1)
  set.seed(42)
  it1 <- mx.io.arrayiter(x, y, batch.size = 8, shuffle = TRUE)
  set.seed(42)
  it2 <- mx.io.arrayiter(x, y, batch.size = 8, shuffle = TRUE)
  l1 <- mx.io.extract(it1, "label")
  expect_equal(l1, mx.io.extract(it2, "label"))
  expect_equal(sort(as.vector(l1)), as.numeric(y))           # a permutation
  expect_false(identical(as.vector(l1), as.numeric(y)))
  d1 <- mx.io.extract(it1, "data")
  expect_equal(d1[1, ], as.vector(l1))                        # data follow their labels
  expect_equal(d1[2, ], as.vector(l1) * 10)
  expect_equal(mx.io.extract(it1, "label"), l1)               # reset does not reshuffle
  # the order is MXNet's: swap order[i] with order[floor(u[i] * (i + 1))], i = n-1..1
  set.seed(7)
  u <- as.double(as.array(mx.runif(n)))
  ord <- 0:(n - 1)
  for (i in (n - 1):1) {
    j <- floor(u[i + 1] * (i + 1))
    if (j < i) ord[c(i + 1, j + 1)] <- ord[c(j + 1, i + 1)]
  }
  set.seed(7)
  it3 <- mx.io.arrayiter(x, y, batch.size = 8, shuffle = TRUE)
  expect_equal(as.vector(mx.io.extract(it3, "label")), as.numeric(ord))
  set.seed(8)
  it4 <- mx.io.arrayiter(x, y, batch.size = 8, shuffle = TRUE)
  expect_false(identical(mx.io.extract(it4, "label"), mx.io.extract(it3, "label")))
})

test_that("arrayiter rejects mismatched examples and bad arguments", {
  expect_error(mx.io.arrayiter(matrix(0, 10, 3), 1:10), "transpose")
  expect_error(mx.io.arrayiter(matrix(0, 3, 10), 1:9), "10 examples.*9")
  expect_error(mx.io.arrayiter(matrix(0, 3, 10), 1:10, batch.size = 0), "batch.size")
  expect_error(mx.io.arrayiter(matrix(0, 3, 10), 1:10, shuffle = NA), "shuffle")
})

# ---------------------------------------------------------------- idx files

be32 <- function(v) writeBin(as.integer(v), raw(), size = 4L, endian = "big")

write_bytes <- function(path, bytes, gz = FALSE) {
  con <- if (gz) gzfile(path, "wb") else file(path, "wb")
  writeBin(bytes, con)
  close(con)
  path
}

# n images of rows x cols; image i (0-based) has label i %% 256 and pixels
# (i * 31 + j * 7) %% 256, j = 0.. within the image (row-major).
mnist_files <- function(n, rows = 3, cols = 2, gz = FALSE) {
  rc <- rows * cols
  pix <- as.vector(outer(0:(rc - 1) * 7, 0:(n - 1) * 31, `+`)) %% 256
  ext <- if (gz) ".gz" else ""
  img <- write_bytes(tempfile(fileext = paste0("-images", ext)),
                     c(be32(c(2051, n, rows, cols)), as.raw(pix)), gz)
  lab <- write_bytes(tempfile(fileext = paste0("-labels", ext)),
                     c(be32(c(2049, n)), as.raw((0:(n - 1)) %% 256)), gz)
  list(image = img, label = lab,
       data = array(pix / 256, c(cols, rows, 1, n)),  # R view: width first
       labels = (0:(n - 1)) %% 256)
}

mnist <- function(f, ...) mx.io.MNISTIter(image = f$image, label = f$label, silent = TRUE, ...)

test_that("MNISTIter reads idx files: values / 256, labels, shapes, remainder dropped", {
  for (gz in c(FALSE, TRUE)) {
    f <- mnist_files(10, gz = gz)
    iter <- mnist(f, batch.size = 4, shuffle = FALSE)
    expect_s3_class(iter, "MXMNISTIter")
    expect_true(is.mx.dataiter(iter))
    b <- all_batches(iter)
    expect_length(b, 2)                            # 10 %/% 4; 2 examples dropped
    expect_equal(dim(b[[1]]$data), c(2, 3, 1, 4))
    expect_equal(b[[1]]$data, f$data[, , , 1:4, drop = FALSE])
    expect_equal(b[[2]]$data, f$data[, , , 5:8, drop = FALSE])
    expect_equal(as.vector(b[[2]]$label), f$labels[5:8])
    expect_equal(sapply(b, `[[`, "pad"), c(0L, 0L))
    flat <- all_batches(mnist(f, batch.size = 5, shuffle = FALSE, flat = TRUE))
    expect_length(flat, 2)
    expect_equal(dim(flat[[2]]$data), c(6, 5))
    expect_equal(flat[[2]]$data, matrix(f$data[, , , 6:10], 6))
  }
  f <- mnist_files(3, rows = 2, cols = 2)
  expect_equal(as.vector(all_batches(mnist(f, batch.size = 1, shuffle = FALSE))[[3]]$data),
               as.vector(f$data[, , 1, 3]))
  expect_length(all_batches(mnist(f, batch.size = 4)), 0)   # fewer images than a batch
})

test_that("MNISTIter shuffles once at load, deterministically by seed", {
  f <- mnist_files(60)
  lab <- function(...) as.vector(mx.io.extract(mnist(f, batch.size = 6, ...), "label"))
  s0 <- lab()                                   # shuffle = TRUE, seed = 0 by default
  expect_equal(sort(s0), f$labels)
  expect_false(identical(s0, f$labels))
  expect_equal(lab(seed = 0), s0)
  expect_equal(lab(shuffle = FALSE), f$labels)
  expect_false(identical(lab(seed = 5), s0))
  expect_equal(lab(seed = 5), lab(seed = 5))
  # images follow their labels
  iter <- mnist(f, batch.size = 6, seed = 3)
  d <- mx.io.extract(iter, "data")
  l <- mx.io.extract(iter, "label")
  expect_equal(d, f$data[, , , l + 1, drop = FALSE])
  # reset repeats the order
  iter$reset()
  iter$iter.next()
  first <- as.array(iter$value()$label)
  iter$iter.next()
  iter$reset()
  iter$iter.next()
  expect_equal(as.array(iter$value()$label), first)
  # the gzip file gives the same order
  g <- mnist_files(60, gz = TRUE)
  expect_equal(as.vector(mx.io.extract(mnist(g, batch.size = 6), "label")), s0)
})

test_that("MNISTIter num.parts / part.index select MXNet's contiguous ranges", {
  f <- mnist_files(10)
  part <- function(p, i) as.vector(mx.io.extract(
    mnist(f, batch.size = 1, shuffle = FALSE, num.parts = p, part.index = i), "label"))
  expect_equal(part(3, 0), 0:2)                 # [floor(10/3*0), floor(10/3*1)) = [0, 3)
  expect_equal(part(3, 1), 3:5)                 # [3, 6)
  expect_equal(part(3, 2), 6:9)                 # [6, 10)
  expect_equal(part(4, 3), 7:9)                 # [7, 10)
  expect_equal(unlist(lapply(0:6, function(i) part(7, i))), 0:9)
  g <- mnist_files(10, gz = TRUE)
  expect_equal(as.vector(mx.io.extract(
    mnist(g, batch.size = 1, shuffle = FALSE, num.parts = 3, part.index = 1), "data")),
    as.vector(f$data[, , , 4:6]))
  expect_error(mnist(f, num.parts = 2, part.index = 2), "part.index")
  expect_error(mnist(f, num.parts = 0), "num.parts")
})

test_that("MNISTIter takes MXNet's other spellings and ignores unknown keys", {
  f <- mnist_files(10)
  iter <- mnist(f, batch_size = 5, shuffle = FALSE, data.shape = c(28, 28, 1),
                prefetch.buffer = 2)
  expect_equal(iter$batch.size, 5L)
  expect_length(all_batches(iter), 2)
  expect_message(mx.io.MNISTIter(f$image, f$label, batch.size = 5), "load 10 images")
})

test_that("MNISTIter turns truncated and corrupted files into R errors", {
  f <- mnist_files(10)
  img <- readBin(f$image, "raw", 1000)
  lab <- readBin(f$label, "raw", 1000)
  tmp <- function(bytes, gz = FALSE) write_bytes(tempfile(), bytes, gz)
  load <- function(image = f$image, label = f$label)
    mx.io.MNISTIter(image, label, batch.size = 2, silent = TRUE)
  expect_error(load(image = tmp(img[1:50])), "truncated")
  expect_error(load(image = tmp(img[1:10])), "truncated.*header")
  expect_error(load(image = tmp(raw(0))), "truncated")
  expect_error(load(label = tmp(lab[1:15])), "truncated")
  expect_error(load(label = tmp(lab[1:6])), "truncated")
  # headers that claim far more than the file holds: no huge allocation
  huge <- c(be32(c(2051, 2147483647, 28, 28)), img[17:76])
  expect_error(load(image = tmp(huge)), "truncated")
  expect_error(load(image = tmp(huge, gz = TRUE),
                    label = tmp(c(be32(c(2049, 2147483647)), lab[9:18]), gz = TRUE)),
               "image file.*truncated")
  expect_error(load(image = tmp(c(be32(c(2051, 10, -3, 2)), img[17:76]))), "corrupted")
  expect_error(load(image = tmp(c(be32(c(2051, 10, 2147483647, 2147483647)), img[17:76]))),
               "truncated|corrupted")
  expect_error(load(label = tmp(c(be32(c(2049, 9)), lab[9:17]))), "10 images.*9 labels")
  expect_error(load(image = file.path(tempdir(), "no-such-file")), "cannot open")
  expect_error(load(image = tempdir()), "cannot read|directory")
  # gzip: truncated stream, corrupted deflate data, corrupted CRC
  gzb <- readBin(mnist_files(10, gz = TRUE)$image, "raw", 10000)
  expect_error(load(image = tmp(gzb[1:(length(gzb) %/% 2)])), "truncated|corrupted")
  bad <- gzb
  bad[20:(length(bad) - 8)] <- as.raw(0xff)     # deflate data, not the header
  expect_error(load(image = tmp(bad)), "corrupted")
  crc <- gzb
  crc[length(crc) - 5] <- xor(crc[length(crc) - 5], as.raw(1))
  expect_error(load(image = tmp(crc)), "corrupted")
  # the valid files still load
  expect_length(all_batches(load()), 5)
})

test_that("MNISTIter on Debian's Fashion-MNIST (when installed)", {
  dir <- "/usr/share/datasets/fashion-mnist"
  img <- file.path(dir, "train-images-idx3-ubyte.gz")
  lab <- file.path(dir, "train-labels-idx1-ubyte.gz")
  skip_if_not(file.exists(img) && file.exists(lab))
  skip_if_not(isTRUE(unclass(mx.features())[["ZLIB"]]))
  iter <- mx.io.MNISTIter(img, lab, batch.size = 128, shuffle = FALSE, silent = TRUE)
  nb <- 0
  counts <- numeric(10)
  iter$reset()
  while (iter$iter.next()) {
    nb <- nb + 1
    l <- as.array(iter$value()$label)
    expect_true(all(l >= 0 & l <= 9 & l == floor(l)))
    counts <- counts + tabulate(l + 1, 10)
  }
  expect_equal(nb, 468)                               # 60000 %/% 128
  expect_equal(sum(counts), 468 * 128)
  # the first image, read independently through R's gzfile
  con <- gzfile(img, "rb")
  first <- as.integer(readBin(con, "raw", 16 + 784)[-(1:16)])
  close(con)
  iter$reset()
  iter$iter.next()
  b <- iter$value()
  expect_equal(dim(b$data), c(28, 28, 1, 128))
  expect_equal(as.vector(as.array(b$data)[, , 1, 1]), first / 256)
  flat <- mx.io.MNISTIter(img, lab, batch.size = 100, flat = TRUE, silent = TRUE)
  flat$iter.next()
  expect_equal(dim(flat$value()$data), c(784, 100))
  expect_true(all(range(as.array(flat$value()$data)) >= 0 & range(as.array(flat$value()$data)) < 1))
})

# ---------------------------------------------------------------- CSVIter

test_that("CSVIter reads rows as examples; round.batch wraps, FALSE leaves stale rows", {
  m <- matrix(as.numeric(1:60), nrow = 10, byrow = TRUE)   # 10 examples of 6 values
  f <- tempfile(fileext = ".csv")
  write.table(m, f, sep = ",", row.names = FALSE, col.names = FALSE)
  lf <- tempfile(fileext = ".csv")
  writeLines(as.character(0:9), lf)
  x <- array(t(m), c(3, 2, 10))
  iter <- mx.io.CSVIter(data.csv = f, data.shape = c(3, 2), label.csv = lf, batch.size = 4)
  expect_s3_class(iter, "MXCSVIter")
  b <- all_batches(iter)
  expect_length(b, 3)
  expect_equal(dim(b[[1]]$data), c(3, 2, 4))
  expect_equal(b[[1]]$data, x[, , 1:4])
  expect_equal(b[[3]]$data, x[, , c(9, 10, 1, 2)])
  expect_equal(as.vector(b[[3]]$label), c(8, 9, 0, 1))
  expect_equal(sapply(b, `[[`, "pad"), c(0L, 0L, 2L))
  expect_identical(all_batches(iter), b)               # every pass starts at row 1
  expect_equal(mx.io.extract(iter, "data"), x)
  expect_equal(as.vector(mx.io.extract(iter, "label")), 0:9)
  nr <- all_batches(mx.io.CSVIter(data.csv = f, data.shape = 6, label.csv = lf,
                                  batch.size = 4, round.batch = FALSE))
  expect_equal(nr[[3]]$data, matrix(t(m), 6)[, c(9, 10, 7, 8)])
  expect_equal(nr[[3]]$pad, 2L)
  # no label file: zero labels of label.shape
  z <- mx.io.CSVIter(data.csv = f, data.shape = 6, batch_size = 5)
  expect_equal(z$batch.size, 5L)
  expect_equal(mx.io.extract(z, "label"), array(0, 10))
  z2 <- mx.io.CSVIter(data.csv = f, data.shape = 6, label.csv = "NULL", label.shape = 2,
                      batch.size = 5)
  z2$iter.next()
  expect_equal(dim(z2$value()$label), c(2, 5))
})

test_that("CSVIter reports malformed files", {
  f <- tempfile(fileext = ".csv")
  writeLines(c("1,2,3", "4,5,6"), f)
  expect_error(mx.io.CSVIter(data.csv = f, data.shape = 4), "3 values.*needs 4")
  writeLines(c("1,2,3", "4,5", "7,8,9"), f)
  expect_error(mx.io.CSVIter(data.csv = f, data.shape = 3), "cannot read")
  writeLines(c("1,2,3", "4,x,6"), f)
  expect_error(mx.io.CSVIter(data.csv = f, data.shape = 3), "cannot read")
  writeLines(c("1,2,3", "4,5,6"), f)
  lf <- tempfile(fileext = ".csv")
  writeLines("1", lf)
  expect_error(mx.io.CSVIter(data.csv = f, data.shape = 3, label.csv = lf), "2 lines.*1")
  expect_error(mx.io.CSVIter(data.csv = file.path(tempdir(), "nope.csv"), data.shape = 3),
               "does not exist")
})

# ---------------------------------------------------------------- extract

test_that("mx.io.extract concatenates a pass, drops padding and resets", {
  x <- array(as.numeric(1:42), c(3, 2, 7))
  iter <- mx.io.arrayiter(x, as.numeric(1:7), batch.size = 3)
  expect_equal(mx.io.extract(iter, "data"), x)
  expect_equal(mx.io.extract(iter, "label"), array(as.numeric(1:7), 7))
  expect_true(iter$iter.next())                        # reset afterwards
  expect_equal(as.array(iter$value()$data), x[, , 1:3])
  expect_error(mx.io.extract(iter, "weight"), "no field 'weight'")
  expect_error(mx.io.extract(iter, 1), "field")
})
