# RecordIO files (src/io/recordio.c, R/recordio.R): framing byte for byte,
# split records around the magic number, .idx files, image record headers,
# and classed errors for broken files.

magic <- as.raw(c(0x0a, 0x23, 0xd7, 0xce))   # 0xced7230a, little-endian
u32 <- function(x) writeBin(as.integer(x), raw(), size = 4, endian = "little")
lrec <- function(cflag, len) u32(bitwAnd(len, 0x1fffffff) + cflag * 2^29)

# The expected bytes of one record, written from the spec in R.
spec_record <- function(payload) {
  n <- length(payload)
  hits <- integer()
  if (n >= 4) for (i in seq(0, n - 4, by = 4)) if (identical(payload[i + 1:4], magic)) hits <- c(hits, i)
  out <- raw()
  start <- 0
  k <- 0
  for (h in hits) {
    out <- c(out, magic, lrec(if (k == 0) 1 else 2, h - start), payload[seq_len(h - start) + start])
    start <- h + 4
    k <- k + 1
  }
  rest <- n - start
  out <- c(out, magic, lrec(if (k == 0) 0 else 3, rest), payload[seq_len(rest) + start])
  c(out, raw((4 - rest %% 4) %% 4))
}

write_records <- function(recs, f = tempfile(fileext = ".rec")) {
  w <- mx.io.MXRecordIO(f, "w")
  for (r in recs) w$write(r)
  w$close()
  f
}

read_all <- function(f) {
  r <- mx.io.MXRecordIO(f, "r")
  on.exit(r$close())
  out <- list()
  while (!is.null(x <- r$read())) out[[length(out) + 1L]] <- x
  out
}

test_that("records round-trip exactly and match the spec's bytes", {
  set.seed(1)
  recs <- list(raw(0), as.raw(1:5), as.raw(sample(0:255, 1000, TRUE)), charToRaw("abcd"),
               c(magic, as.raw(1:3)),                   # magic at offset 0
               c(as.raw(1:4), magic, magic, as.raw(9)),  # two hits, adjacent
               c(as.raw(1:2), magic, as.raw(7:8)),       # unaligned: not split
               c(as.raw(0:7), magic))                    # magic at the very end
  f <- write_records(recs)
  expect_identical(readBin(f, "raw", file.size(f)), do.call(c, lapply(recs, spec_record)))
  expect_identical(read_all(f), recs)
  expect_equal(file.size(f) %% 4, 0)
})

test_that("split records carry continuation flags 1, 2, 3", {
  rec <- c(as.raw(1:4), magic, as.raw(5:8), magic, as.raw(9))
  f <- write_records(list(rec))
  b <- readBin(f, "raw", file.size(f))
  flags <- function(off) readBin(b[off + 5:8], "integer", size = 4, endian = "little") %/% 2^29
  expect_equal(c(flags(0), flags(12), flags(24)), c(1, 2, 3))
  expect_identical(read_all(f)[[1]], rec)
})

test_that("reset, tell and reading records written by hand", {
  f <- tempfile()
  writeBin(c(spec_record(as.raw(1:3)), spec_record(as.raw(4:9))), f)
  r <- mx.io.MXRecordIO(f, "r")
  expect_identical(r$read(), as.raw(1:3))
  expect_equal(r$tell(), 12)
  expect_identical(r$read(), as.raw(4:9))
  expect_null(r$read())
  r$reset()
  expect_identical(r$read(), as.raw(1:3))
  r$close()
  expect_error(r$read(), class = "mxnet_io_error")
})

test_that("indexed files write key<TAB>offset and read by key", {
  f <- tempfile(fileext = ".rec")
  idx <- tempfile(fileext = ".idx")
  w <- mx.io.MXIndexedRecordIO(idx, f, "w")
  recs <- list(as.raw(1:10), c(magic, as.raw(2)), as.raw(3))
  for (k in seq_along(recs)) w$write.idx(k * 10, recs[[k]])
  w$close()
  lines <- readLines(idx)
  sizes <- vapply(recs, function(r) length(spec_record(r)), 0)
  expect_equal(lines, sprintf("%d\t%d", c(10, 20, 30), cumsum(c(0, sizes[-3]))))
  r <- mx.io.MXIndexedRecordIO(idx, f, "r")
  expect_equal(r$keys(), c(10, 20, 30))
  expect_identical(r$read.idx(30), recs[[3]])
  expect_identical(r$read.idx(20), recs[[2]])
  expect_identical(r$read(), recs[[3]])       # sequential after a seek
  expect_error(r$read.idx(99), class = "mxnet_value_error")
  r$close()
  writeLines(c("1\t0", "2\tx"), idx)
  expect_error(mx.io.MXIndexedRecordIO(idx, f, "r"), "line 2", class = "mxnet_io_error")
})

test_that("image record headers pack and unpack like MXNet's IRHeader", {
  p <- mx.io.recordio.pack(list(label = 3, id = 42, id2 = 0), charToRaw("JPEG"))
  expected <- c(u32(0), writeBin(3, raw(), size = 4, endian = "little"),
                u32(42), u32(0), u32(0), u32(0), charToRaw("JPEG"))
  expect_identical(p, expected)
  u <- mx.io.recordio.unpack(p)
  expect_equal(u$header, list(flag = 0, label = 3, id = 42, id2 = 0))
  expect_identical(u$s, charToRaw("JPEG"))
  m <- mx.io.recordio.unpack(mx.io.recordio.pack(list(label = c(1, 2.5, -4)), as.raw(9)))
  expect_equal(m$header$flag, 3)
  expect_equal(m$header$label, c(1, 2.5, -4))
  expect_identical(m$s, as.raw(9))
  expect_error(mx.io.recordio.unpack(as.raw(1:10)), "shorter", class = "mxnet_io_error")
  bad <- c(u32(5), raw(20), raw(8))                       # announces 5 labels, has 2
  expect_error(mx.io.recordio.unpack(bad), "5 labels", class = "mxnet_io_error")
})

test_that("broken files give classed errors naming the file and record", {
  good <- c(spec_record(as.raw(1:8)), spec_record(as.raw(1:16)))
  f <- tempfile(fileext = ".rec")
  expect_read_error <- function(bytes, pattern) {
    writeBin(bytes, f)
    e <- tryCatch(read_all(f), error = function(e) e)
    expect_s3_class(e, "mxnet_io_error")
    expect_match(conditionMessage(e), basename(f), fixed = TRUE)
    expect_match(conditionMessage(e), pattern)
  }
  expect_read_error(good[1:30], "record 1 at byte 16: truncated")        # cut payload
  expect_read_error(good[1:20], "record 1 .*truncated")                  # cut header
  bad <- good; bad[17] <- as.raw(0)
  expect_read_error(bad, "record 1 .*bad magic")
  absurd <- c(magic, lrec(0, 2^29 - 1), raw(8))
  expect_read_error(absurd, "record 0 .*runs past the end")
  cont <- c(magic, lrec(2, 4), raw(4))                                   # starts mid-record
  expect_read_error(cont, "continuation flag 2")
  unfinished <- c(magic, lrec(1, 4), raw(4))                             # part 1 of ?, then EOF
  expect_read_error(unfinished, "record 0 .*truncated")
  expect_error(mx.io.MXRecordIO(tempfile(), "r"), class = "mxnet_io_error")
  expect_error(mx.io.MXRecordIO(f, "x"), class = "mxnet_value_error")
  w <- mx.io.MXRecordIO(f, "w")
  expect_error(w$write("text"), class = "mxnet_value_error")
  expect_error(w$read(), class = "mxnet_value_error")
  w$close()
})

test_that("a writer that cannot create its file or index names it", {
  bad <- file.path(tempfile(), "no", "such.rec")
  expect_error(mx.io.MXRecordIO(bad, "w"), "such.rec", class = "mxnet_io_error")
  expect_error(mx.io.MXIndexedRecordIO(bad, tempfile(fileext = ".rec"), "w"), "such.rec",
               class = "mxnet_io_error")
})
