# mx.nd.save / mx.nd.load / mx.nd.serialize / mx.nd.deserialize: round trips,
# files built byte by byte from the format description (MXNet's binary NDArray
# list: container, V2/V3/V1 records and the pre-0.11 legacy layout), corrupted
# input, unsupported content, and saves that must not destroy existing files.

# ---------------------------------------------------------------- bytes
# Little-endian encoders, independent of the package's writer.

u32 <- function(v) {                 # one unsigned (or two's complement) 32-bit word
  v <- as.numeric(v) %% 2^32
  as.raw(floor(v / 256^(0:3)) %% 256)
}
u64 <- function(v) {                 # exact for |v| < 2^53 and for powers of two
  v <- as.numeric(v)
  c(u32(v %% 2^32), u32(floor(v / 2^32)))
}
f32 <- function(x) writeBin(as.double(x), raw(), size = 4L, endian = "little")
f64 <- function(x) writeBin(as.double(x), raw(), size = 8L, endian = "little")
i32s <- function(x) unlist(lapply(x, u32))
i64s <- function(x) unlist(lapply(x, u64))
f16bits <- function(bits) writeBin(as.integer(bits), raw(), size = 2L, endian = "little")

REC_V1 <- 0xF993FAC8
REC_V2 <- 0xF993FAC9
REC_V3 <- 0xF993FACA
FLAG <- c(float32 = 0, float64 = 1, float16 = 2, uint8 = 3, int32 = 4, int8 = 5,
          int64 = 6, bool = 7, int16 = 8, bfloat16 = 12)

# A V2/V3 record (stype = NULL gives a V1 record, which has no storage type).
# `shape` is the C shape (reverse of the R dims).
rec <- function(shape, flag, data, magic = REC_V2, stype = 0, dev = c(1, 0)) {
  c(u32(magic), if (!is.null(stype)) u32(stype), u32(length(shape)),
    unlist(lapply(shape, u64)), u32(dev[1]), u32(dev[2]), u32(flag), data)
}
rec_v1 <- function(shape, flag, data) rec(shape, flag, data, magic = REC_V1, stype = NULL)
# Pre-0.11 record: no magic, u32 ndim and u32 dims.
rec_legacy <- function(shape, flag, data, dev = c(1, 0)) {
  c(u32(length(shape)), unlist(lapply(shape, u32)), u32(dev[1]), u32(dev[2]), u32(flag), data)
}
name_bytes <- function(nms) unlist(lapply(nms, function(s) {
  b <- if (is.raw(s)) s else charToRaw(enc2utf8(s))
  c(u64(length(b)), b)
}))
container <- function(records, names = NULL, n = length(records), k = length(names)) {
  c(u64(0x112), u64(0), u64(n), unlist(records), u64(k), name_bytes(names))
}

write_bytes <- function(bytes) {
  f <- tempfile(fileext = ".params")
  writeBin(bytes, f)
  f
}
read_bytes <- function(f) readBin(f, "raw", file.size(f))

expect_same_nd <- function(got, want) {
  expect_identical(dim(got), dim(want))
  expect_identical(mx.nd.dtype(got), mx.nd.dtype(want))
  expect_identical(as.array(got), as.array(want))
}

# ------------------------------------------------------------ round trips

test_that("save/load and serialize/deserialize round-trip every dtype and shape", {
  set.seed(1)
  shapes <- list(5L, c(3L, 4L), rep(2L, 8), c(0L, 3L), c(3L, 0L), 1L, integer(0))
  f <- tempfile(fileext = ".params")
  on.exit(unlink(f))
  for (dtype in DTYPES) {
    arrs <- lapply(shapes, function(d) {
      if (length(d) == 0L) mx.nd.full(integer(0), if (dtype == "uint8") 200 else -7, dtype = dtype)
      else mx.nd.array(rand_array(d, dtype), dtype = dtype)
    })
    names(arrs) <- paste0("arg:p", seq_along(arrs))
    for (named in c(TRUE, FALSE)) {
      lst <- if (named) arrs else unname(arrs)
      mx.nd.save(lst, f)
      got <- mx.nd.load(f)
      expect_identical(names(got), names(lst))
      expect_length(got, length(lst))
      for (i in seq_along(lst)) expect_same_nd(got[[i]], lst[[i]])
      r <- mx.nd.serialize(lst)
      expect_identical(r, read_bytes(f))          # the same bytes as the file
      got2 <- mx.nd.deserialize(r)
      expect_identical(names(got2), names(lst))
      for (i in seq_along(lst)) expect_same_nd(got2[[i]], lst[[i]])
    }
  }
  # 0-dimensional scalars stay 0-dimensional
  s <- mx.nd.load({ mx.nd.save(list(s = mx.nd.zeros(integer(0))), f); f })$s
  expect_identical(dim(s), integer(0))
  expect_identical(as.array(s), 0)
})

test_that("a single NDArray and an empty list round-trip", {
  f <- tempfile(fileext = ".params")
  on.exit(unlink(f))
  x <- mx.nd.array(matrix(c(1.5, -2, 3, 4e10, 0, -0.25), 2), dtype = "float64")
  mx.nd.save(x, f)
  got <- mx.nd.load(f)
  expect_null(names(got))
  expect_length(got, 1L)
  expect_same_nd(got[[1]], x)
  got <- mx.nd.deserialize(mx.nd.serialize(x))
  expect_length(got, 1L)
  expect_same_nd(got[[1]], x)
  mx.nd.save(list(), f)
  expect_identical(read_bytes(f), c(u64(0x112), u64(0), u64(0), u64(0)))
  expect_length(mx.nd.load(f), 0L)
})

test_that("special floating-point values survive bit for bit", {
  v <- c(NaN, Inf, -Inf, -0, 1e-40, .Machine$double.xmax)
  for (dtype in FLOAT_DTYPES) {
    x <- mx.nd.array(v, dtype = dtype)
    r <- mx.nd.serialize(list(x = x))
    y <- mx.nd.deserialize(r)$x
    expect_identical(mx.nd.serialize(list(x = y)), r)
    a <- as.array(y)
    expect_true(is.nan(a[1]))
    expect_identical(as.vector(a[2:3]), c(Inf, -Inf))
    expect_identical(1 / a[4], -Inf)        # negative zero kept
  }
})

# --------------------------------------------------------- byte layouts

test_that("mx.nd.save writes the reference's 85-byte worked example", {
  hex <- paste(
    "12 01 00 00 00 00 00 00", "00 00 00 00 00 00 00 00", "01 00 00 00 00 00 00 00",
    "c9 fa 93 f9", "00 00 00 00", "01 00 00 00", "03 00 00 00 00 00 00 00",
    "01 00 00 00", "00 00 00 00", "00 00 00 00",
    "00 00 80 3f 00 00 00 40 00 00 40 40",
    "01 00 00 00 00 00 00 00", "01 00 00 00 00 00 00 00", "77")
  want <- as.raw(strtoi(strsplit(hex, " ")[[1]], 16L))
  expect_length(want, 85L)
  f <- tempfile(fileext = ".params")
  on.exit(unlink(f))
  mx.nd.save(list(w = mx.nd.array(c(1, 2, 3))), f)
  expect_identical(read_bytes(f), want)
  expect_identical(mx.nd.serialize(list(w = mx.nd.array(c(1, 2, 3)))), want)
  # and our independent encoder agrees with it
  expect_identical(container(list(rec(3, FLAG[["float32"]], f32(1:3))), "w"), want)
})

test_that("hand-built files with V2, V1, V3 and legacy records load correctly", {
  nms <- c("arg:a", "b", "c", "d", "e", "f", "v1", "v3scalar", "v3", "legacy", "legacy2",
           "none", "empty", "\u00e9t\u00e9")
  recs <- list(
    rec(c(2, 3), FLAG[["float32"]], f32(1:6)),
    rec(4, FLAG[["float64"]], f64(c(0.1, -2.5, 1e300, 123456789.125))),
    rec(c(2, 2), FLAG[["int32"]], i32s(c(-7, 0, 2^31 - 1, -2^31))),
    rec(3, FLAG[["int64"]], i64s(c(-5, 2^40, 2^53))),
    rec(c(1, 5), FLAG[["uint8"]], as.raw(c(0, 1, 127, 128, 255))),
    rec(4, FLAG[["float16"]], f16bits(c(0x3C00, 0xC000, 0x3800, 0x7BFF))),
    rec_v1(c(2, 2), FLAG[["float32"]], f32(c(1.5, 2.5, 3.5, 4.5))),
    rec(numeric(0), FLAG[["float64"]], f64(42), magic = REC_V3),
    rec(c(1, 2), FLAG[["int32"]], i32s(c(9, -9)), magic = REC_V3),
    rec_legacy(c(3, 2), FLAG[["float32"]], f32((1:6) / 2), dev = c(2, 1)),  # saved on gpu(1)
    rec_legacy(2, FLAG[["float64"]], f64(c(pi, exp(1)))),
    c(u32(REC_V2), u32(0), u32(0)),                     # V2 ndim 0: a "none" array, record ends
    rec(c(0, 3), FLAG[["float32"]], raw(0)),
    rec(1, FLAG[["int32"]], i32s(77)),
    rec(5, FLAG[["bfloat16"]], f16bits(c(0x3F80, 0xC000, 0x3F00, 0x7F7F, 0xFF80)))
  )
  nms <- c(nms, "bf")
  f <- write_bytes(container(recs, nms))
  on.exit(unlink(f))
  l <- mx.nd.load(f)
  expect_identical(names(l), nms)
  chk <- function(x, dtype, dims, values) {
    expect_identical(mx.nd.dtype(x), dtype)
    expect_identical(as.integer(dim(x)), as.integer(dims))
    expect_identical(as.vector(as.array(x)), as.double(values))
  }
  chk(l$`arg:a`, "float32", c(3, 2), 1:6)                 # R dims = reversed C shape
  expect_identical(as.array(l$`arg:a`), array(as.double(1:6), c(3, 2)))
  chk(l$b, "float64", 4, c(0.1, -2.5, 1e300, 123456789.125))
  chk(l$c, "int32", c(2, 2), c(-7, 0, 2^31 - 1, -2^31))
  chk(l$d, "int64", 3, c(-5, 2^40, 2^53))
  chk(l$e, "uint8", c(5, 1), c(0, 1, 127, 128, 255))
  chk(l$f, "float16", 4, c(1, -2, 0.5, 65504))
  chk(l$bf, "bfloat16", 5, c(1, -2, 0.5, 2^127 * (2 - 2^-7), -Inf))
  chk(l$v1, "float32", c(2, 2), c(1.5, 2.5, 3.5, 4.5))
  chk(l$v3scalar, "float64", integer(0), 42)
  chk(l$v3, "int32", c(2, 1), c(9, -9))
  chk(l$legacy, "float32", c(2, 3), (1:6) / 2)
  expect_identical(ctx(l$legacy)$device, "cpu")          # placed on the CPU
  chk(l$legacy2, "float64", 2, c(pi, exp(1)))
  expect_identical(length(l$none), 0L)
  chk(l$empty, "float32", c(3, 0), numeric(0))
  chk(l[[14]], "int32", 1, 77)
  # the same bytes through a raw vector
  l2 <- mx.nd.deserialize(read_bytes(f))
  expect_identical(names(l2), nms)
  for (i in seq_along(l)) expect_same_nd(l2[[i]], l[[i]])
})

test_that("a 2016-style file (legacy records only, no names) loads", {
  bytes <- container(list(
    rec_legacy(c(10, 4), FLAG[["float32"]], f32(seq(0, 3.9, by = 0.1))),
    rec_legacy(10, FLAG[["float32"]], f32(rep(0.5, 10))),
    rec_legacy(c(1, 2, 1, 2), FLAG[["float32"]], f32(c(-1, 1, -2, 2)))))
  l <- mx.nd.deserialize(bytes)
  expect_null(names(l))
  expect_length(l, 3L)
  expect_identical(dim(l[[1]]), c(4L, 10L))
  expect_equal(as.vector(as.array(l[[1]])), seq(0, 3.9, by = 0.1), tolerance = 1e-6)
  expect_identical(dim(l[[2]]), 10L)
  expect_identical(dim(l[[3]]), c(2L, 1L, 2L, 1L))
  expect_identical(as.vector(as.array(l[[3]])), c(-1, 1, -2, 2))
})

# ---------------------------------------------------------- unsupported

test_that("unsupported or malformed content gives clear errors", {
  ok <- rec(2, FLAG[["float32"]], f32(1:2))
  load_err <- function(bytes) {
    e1 <- tryCatch({ mx.nd.deserialize(bytes); NULL }, error = conditionMessage)
    f <- write_bytes(bytes)
    on.exit(unlink(f))
    e2 <- tryCatch({ mx.nd.load(f); NULL }, error = conditionMessage)
    expect_false(is.null(e1))
    expect_false(is.null(e2))
    e1
  }
  # sparse storage (row_sparse = 1, csr = 2) with a dense record's body: the
  # storage shape and index arrays (test-sparse.R) are missing
  for (st in 1:2)
    expect_match(load_err(container(list(rec(2, FLAG[["float32"]], f32(1:2), stype = st)))), "^array 1 ")
  expect_match(load_err(container(list(rec(2, FLAG[["float32"]], f32(1:2), stype = 77)))),
               "invalid storage type \\(77\\)")
  # dtypes this build cannot hold
  for (dt in c("int16", "bool"))
    expect_match(load_err(container(list(rec(2, FLAG[[dt]], raw(4))))),
                 paste0(dt, ".*not supported"))
  expect_match(load_err(container(list(rec(2, 99, raw(8))))), "dtype")
  # bad magic numbers
  expect_match(load_err(c(u64(0x113), u64(0), u64(0), u64(0))), "not an MXNet NDArray file")
  expect_match(load_err(charToRaw("PK\003\004 definitely not params")), "not an MXNet NDArray file")
  expect_match(load_err(container(list(c(u32(0xF993FACB), raw(40))))), "unrecognised record header")
  # K not in {0, N}
  expect_match(load_err(container(list(ok, ok), names = "a")), "1 names for 2 arrays")
  expect_match(load_err(container(list(ok), names = c("a", "b"))), "2 names for 1 arrays")
  # a NUL byte inside a name
  expect_match(load_err(container(list(ok), names = list(as.raw(c(0x61, 0x00, 0x62))))), "NUL")
  # too many dimensions, in each record kind
  expect_match(load_err(container(list(rec(rep(1, 9), 0, f32(1))))), "dimensions")
  expect_match(load_err(container(list(rec(rep(1, 9), 0, f32(1), magic = REC_V3)))), "dimensions")
  expect_match(load_err(container(list(rec_legacy(rep(1, 9), 0, f32(1))))), "dimensions")
  expect_match(load_err(container(list(rec(c(2, 2), 0, f32(1:4), dev = c(7, 0))))), "device type")
  # trailing garbage after the names is harmless (MXNet ignores it too)
  l <- mx.nd.deserialize(c(container(list(ok), "a"), as.raw(1:3)))
  expect_identical(as.vector(as.array(l$a)), c(1, 2))
})

# ------------------------------------------------------ corrupted input

# Loads `bytes`; returns "error: <message>" or a canonical re-serialisation.
probe <- function(bytes) {
  res <- tryCatch(mx.nd.deserialize(bytes), error = function(e) e)
  if (inherits(res, "error")) return(paste("error:", conditionMessage(res)))
  for (x in res) {                         # touch what was loaded
    dim(x); mx.nd.dtype(x)
    # dims beyond R's int range give a clean error (and no warning)
    tryCatch(as.array(x), error = function(e)
      testthat::expect_match(conditionMessage(e), "longer than an R array allows"))
  }
  # (a corrupted file may hold empty names, which mx.nd.save refuses)
  r <- mx.nd.serialize(unname(res))
  paste(c(as.character(r), names(res)), collapse = " ")
}

test_that("corrupted input never crashes or allocates absurd memory", {
  set.seed(20240601)
  base1 <- mx.nd.serialize(list(
    w = mx.nd.array(matrix(1:6, 2)),
    i = mx.nd.array(c(-1, 5, 9), dtype = "int64"),
    s = mx.nd.full(integer(0), 3, dtype = "float16"),
    e = mx.nd.zeros(c(0, 2), dtype = "uint8"),
    d = mx.nd.array(c(0.5, 2), dtype = "float64")))
  base2 <- container(list(
    rec_legacy(c(2, 2), FLAG[["float32"]], f32(1:4)),
    rec_v1(3, FLAG[["int32"]], i32s(1:3)),
    rec(numeric(0), FLAG[["uint8"]], as.raw(7), magic = REC_V3),
    rec(c(1, 2), FLAG[["float16"]], f16bits(c(0x3C00, 0x4000)))))
  bases <- list(base1, base2)
  st0 <- mx.memory.stats()
  t0 <- proc.time()[["elapsed"]]
  msgs <- character(0)
  n_ok <- 0L
  n_variants <- 0L
  record <- function(out) {
    n_variants <<- n_variants + 1L
    if (startsWith(out, "error:")) msgs <<- c(msgs, out) else n_ok <<- n_ok + 1L
    out
  }

  # 1. every truncation is an error that says so
  for (b in bases) {
    for (len in 0:(length(b) - 1L)) {
      out <- record(probe(b[seq_len(len)]))
      expect_match(out, "^error: .*truncated", info = sprintf("truncated to %d bytes", len))
    }
    expect_false(startsWith(probe(b), "error:"))
  }

  huge <- list(rep(as.raw(0xff), 8), u64(2^63), u64(2^62), u64(2^40), u64(2^32), u64(2^31),
               c(u32(0xFFFFFFFF), u32(0)), c(u32(9), u32(0)), c(u32(0x7FFFFFFF), u32(0)))
  variants <- list()
  for (b in bases) {
    n <- length(b)
    # 2. random bit flips (1 to 3 bits)
    for (k in 1:300) {
      v <- b
      for (j in seq_len(sample(3, 1))) {
        p <- sample(n, 1)
        v[p] <- xor(v[p], as.raw(bitwShiftL(1L, sample(0:7, 1))))
      }
      variants[[length(variants) + 1L]] <- v
    }
    # 3. random byte overwrites (1 to 4 bytes)
    for (k in 1:200) {
      v <- b
      p <- sample(n, sample(4, 1))
      v[p] <- as.raw(sample(0:255, length(p), replace = TRUE))
      variants[[length(variants) + 1L]] <- v
    }
    # 4. huge counts, dims and lengths written over every 4-byte aligned offset
    for (p in seq(1L, n - 7L, by = 4L)) {
      for (h in huge[sample(length(huge), 2)]) {
        v <- b
        v[p:(p + 7L)] <- h
        variants[[length(variants) + 1L]] <- v
      }
    }
  }
  outs <- vapply(variants, function(v) record(probe(v)), "")
  expect_gte(n_variants, 1000L)

  # a sample through files gives the same outcome as through raw vectors
  f <- tempfile(fileext = ".params")
  on.exit(unlink(f))
  for (i in sample(length(variants), 60)) {
    writeBin(variants[[i]], f)
    res <- tryCatch(mx.nd.load(f), error = function(e) e)
    if (startsWith(outs[i], "error:")) {
      expect_s3_class(res, "error")
    } else {
      expect_false(inherits(res, "error"))
      if (!inherits(res, "error"))
        expect_identical(paste(c(as.character(mx.nd.serialize(unname(res))), names(res)),
                               collapse = " "), outs[i])
    }
  }

  # both outcomes happen, every error has a real message, none from the allocator
  expect_gt(n_ok, 0L)
  expect_gt(length(msgs), 500L)
  expect_false(any(msgs == "error: " | grepl("unknown engine error", msgs)))
  expect_false(any(grepl("cannot allocate|out of memory", msgs)))
  # bounded memory: nothing near a large allocation happened
  gc()
  st1 <- mx.memory.stats()
  expect_lte(st1[["bytes_peak"]], max(st0[["bytes_peak"]], st0[["bytes_in_use"]] + 16 * 2^20))
  expect_lt(st1[["n_live"]], st0[["n_live"]] + 100)
  expect_lt(proc.time()[["elapsed"]] - t0, 120)      # generous sanity bound
})

test_that("huge counts in the container are rejected before allocating", {
  st0 <- mx.memory.stats()
  ok <- rec(2, FLAG[["float32"]], f32(1:2))
  expect_error(mx.nd.deserialize(container(list(ok), n = 2^62)), "claims")
  expect_error(mx.nd.deserialize(c(container(list(ok))[1:16], rep(as.raw(0xff), 8), ok, u64(0))),
               "claims")
  # a dimension of 2^40 float64 elements (8 TB) with 16 bytes of data
  expect_error(mx.nd.deserialize(container(list(rec(2^40, FLAG[["float64"]], f64(1:2))))),
               "truncated")
  # the product of dims overflows int64
  expect_error(mx.nd.deserialize(container(list(rec(c(2^32, 2^32, 2^32), 0, raw(8))))),
               "too large|truncated")
  # a name length of 2^62
  bad_name <- c(container(list(ok), k = 1), u64(2^62), charToRaw("abc"))
  expect_error(mx.nd.deserialize(bad_name), "truncated")
  expect_lte(mx.memory.stats()[["bytes_peak"]], max(st0[["bytes_peak"]], st0[["bytes_in_use"]] + 2^20))
})

# ------------------------------------------------ saving never loses data

test_that("a failed save leaves an existing file unchanged", {
  d <- tempfile("mxio")
  dir.create(d)
  on.exit(unlink(d, recursive = TRUE))
  f <- file.path(d, "model.params")
  mx.nd.save(list(w = mx.nd.array(1:3)), f)
  before <- read_bytes(f)
  freed <- unserialize(serialize(mx.nd.array(1:2), NULL, version = 2))   # no values
  expect_error(mx.nd.save(list(a = mx.nd.array(1:5), b = 1), f), "ndarray\\[\\[2\\]\\]")
  expect_identical(read_bytes(f), before)
  expect_error(mx.nd.save(list(a = mx.nd.array(1:5), b = freed), f), "no longer exists")
  expect_identical(read_bytes(f), before)
  expect_error(mx.nd.save(list(mx.nd.array(1:5), "x"), f), "ndarray\\[\\[2\\]\\]")
  expect_identical(read_bytes(f), before)
  expect_error(mx.nd.save(setNames(list(mx.nd.array(1), mx.nd.array(2)), c("a", "")), f), "named")
  expect_identical(read_bytes(f), before)
  expect_error(mx.nd.save(setNames(list(mx.nd.array(1), mx.nd.array(2)), c("a", NA)), f), "named")
  expect_identical(read_bytes(f), before)
  # writing into a directory that does not exist
  g <- file.path(d, "no-such-dir", "model.params")
  expect_error(mx.nd.save(list(w = mx.nd.array(1:3)), g), "no-such-dir")
  expect_false(file.exists(g))
  # no temporary files are left behind
  expect_identical(list.files(d), "model.params")
  # a successful save replaces the file
  mx.nd.save(list(v = mx.nd.array(c(9, 8)), u = mx.nd.zeros(2, dtype = "int32")), f)
  expect_false(identical(read_bytes(f), before))
  l <- mx.nd.load(f)
  expect_identical(names(l), c("v", "u"))
  expect_identical(as.vector(as.array(l$v)), c(9, 8))
  expect_identical(list.files(d), "model.params")
})

# ------------------------------------------------------------ arguments

test_that("bad arguments name the argument", {
  f <- tempfile(fileext = ".params")
  on.exit(unlink(f))
  x <- mx.nd.array(1:3)
  expect_error(mx.nd.load(123), "'filename'")
  expect_error(mx.nd.load(c("a", "b")), "'filename'")
  expect_error(mx.nd.load(NA_character_), "'filename'")
  expect_error(mx.nd.load(file.path(tempdir(), "missing.params")), "missing\\.params.*does not exist")
  expect_error(mx.nd.load(tempdir()), "is a directory", class = "mxnet_io_error")
  expect_error(mx.nd.save(x, 123), "'filename'")
  expect_error(mx.nd.save(x, c(f, f)), "'filename'")
  expect_error(mx.nd.save(x, NA_character_), "'filename'")
  expect_error(mx.nd.save(list(1), f), "'ndarray\\[\\[1\\]\\]'.*MXNDArray")
  expect_error(mx.nd.save(1:3, f), "'ndarray'")
  expect_error(mx.nd.save(NULL, f), "'ndarray'")
  expect_error(mx.nd.save(list(a = x, x), f), "'ndarray'.*named")
  expect_error(mx.nd.serialize(list(x, 2)), "'ndarray\\[\\[2\\]\\]'")
  expect_error(mx.nd.serialize("x"), "'ndarray'")
  expect_error(mx.nd.deserialize("abc"), "'x'.*raw")
  expect_error(mx.nd.deserialize(NULL), "'x'.*raw")
  expect_false(file.exists(f))
})

test_that("H3/Q7: endless, special or lying files fail before a large allocation", {
  skip_on_os("windows")
  expect_error(mx.nd.load("/dev/zero"), "not a regular file", class = "mxnet_io_error")
  expect_error(mx.nd.load("/dev/null"), "not a regular file", class = "mxnet_io_error")
  expect_error(mx.nd.load(tempdir()), "is a directory", class = "mxnet_io_error")
  # a header claiming 2^40 float32 elements (4 TiB) in a small file
  big <- write_bytes(container(list(rec(2^40, FLAG[["float32"]], f32(1:4)))))
  on.exit(unlink(big))
  before <- mx.memory.stats()[["n_system_alloc"]]
  expect_error(mx.nd.load(big), "truncated.*needs 4398046511104 bytes", class = "mxnet_io_error")
  expect_error(mx.nd.deserialize(read_bytes(big)), "truncated", class = "mxnet_io_error")
  # a header claiming 2^40 arrays
  many <- write_bytes(c(u64(0x112), u64(0), u64(2^40), raw(16)))
  on.exit(unlink(many), add = TRUE)
  expect_error(mx.nd.load(many), "claims 1099511627776 arrays", class = "mxnet_io_error")
  expect_identical(mx.memory.stats()[["n_system_alloc"]], before)
  # files that are not NDArray files are refused from their first bytes
  short <- write_bytes(as.raw(1:3))
  on.exit(unlink(short), add = TRUE)
  expect_error(mx.nd.load(short), "not an MXNet NDArray file", class = "mxnet_io_error")
  empty <- write_bytes(raw(0))
  on.exit(unlink(empty), add = TRUE)
  expect_error(mx.nd.load(empty), "not an MXNet NDArray file", class = "mxnet_io_error")
  # the package still works
  ok <- tempfile()
  on.exit(unlink(ok), add = TRUE)
  mx.nd.save(list(a = mx.nd.ones(2)), ok)
  expect_identical(as.vector(as.array(mx.nd.load(ok)$a)), c(1, 1))
})

test_that("I1: mx.nd.save keeps the mode of a file it replaces and refuses a read-only one", {
  skip_on_os("windows")
  f <- tempfile(fileext = ".params")
  on.exit(unlink(f))
  mx.nd.save(list(a = mx.nd.ones(1)), f)
  Sys.chmod(f, "0640")
  mx.nd.save(list(b = mx.nd.zeros(1)), f)
  expect_identical(names(mx.nd.load(f)), "b")
  expect_identical(format(file.info(f)$mode), "640")
  Sys.chmod(f, "0600")
  mx.nd.save(list(c = mx.nd.zeros(1)), f)
  expect_identical(format(file.info(f)$mode), "600")
  # a directory is not replaced
  expect_error(mx.nd.save(list(a = mx.nd.ones(1)), tempdir()), "is a directory",
               class = "mxnet_io_error")
  # write protection: as saveRDS, refuse (root may write anyway, so skip there)
  Sys.chmod(f, "0444")
  skip_if(file.access(f, 2) == 0, "write permission is not enforced for this user (root)")
  expect_error(mx.nd.save(list(d = mx.nd.ones(1)), f), "Permission denied",
               class = "mxnet_io_error")
  expect_identical(names(mx.nd.load(f)), "c")
  expect_identical(format(file.info(f)$mode), "444")
})

test_that("I1: mx.nd.save writes through a symbolic link, as saveRDS does", {
  skip_on_os("windows")
  f <- tempfile(fileext = ".params")
  l <- tempfile(fileext = ".params")
  on.exit(unlink(c(f, l)))
  mx.nd.save(list(a = mx.nd.ones(1)), f)
  skip_if_not(file.symlink(f, l))
  mx.nd.save(list(b = mx.nd.zeros(1)), l)
  expect_true(nzchar(Sys.readlink(l)))            # still a link
  expect_identical(names(mx.nd.load(f)), "b")     # the target was written
})
