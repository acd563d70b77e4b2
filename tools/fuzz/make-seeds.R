# Writes a seed corpus for fuzz-ndarray-load into the folder given as the
# first argument (default tools/fuzz/corpus): files from mx.nd.serialize plus
# hand-built V1, V3 and legacy (pre-0.11) records.
#   Rscript tools/fuzz/make-seeds.R /tmp/corpus
library(mxnet)
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args)) args[1] else file.path("tools", "fuzz", "corpus")
dir.create(dir, showWarnings = FALSE, recursive = TRUE)
put <- function(name, bytes) writeBin(bytes, file.path(dir, name))

u32 <- function(v) { v <- as.numeric(v) %% 2^32; as.raw(floor(v / 256^(0:3)) %% 256) }
u64 <- function(v) c(u32(v %% 2^32), u32(floor(v / 2^32)))
f32 <- function(x) writeBin(as.double(x), raw(), size = 4L, endian = "little")
rec <- function(magic, shape, flag, data, stype = TRUE)
  c(u32(magic), if (stype) u32(0), u32(length(shape)), unlist(lapply(shape, u64)),
    u32(1), u32(0), u32(flag), data)
legacy <- function(shape, flag, data)
  c(u32(length(shape)), unlist(lapply(shape, u32)), u32(1), u32(0), u32(flag), data)
container <- function(recs, names = NULL)
  c(u64(0x112), u64(0), u64(length(recs)), unlist(recs), u64(length(names)),
    unlist(lapply(names, function(s) c(u64(nchar(s, "bytes")), charToRaw(s)))))

put("named-dtypes", mx.nd.serialize(list(
  a = mx.nd.array(matrix(1:6, 2)), b = mx.nd.array(c(-1, 5), dtype = "int64"),
  c = mx.nd.array(1:3, dtype = "uint8"), d = mx.nd.array(c(0.5, 2), dtype = "float64"),
  e = mx.nd.array(1:2, dtype = "float16"), f = mx.nd.array(7, dtype = "int32"))))
put("scalar-empty", mx.nd.serialize(list(mx.nd.zeros(integer(0)), mx.nd.zeros(c(0, 3)))))
put("eight-dims", mx.nd.serialize(list(x = mx.nd.ones(rep(2, 8)))))
put("old-records", container(list(
  legacy(c(2, 2), 0, f32(1:4)),
  rec(0xF993FAC8, 3, 0, f32(1:3), stype = FALSE),
  rec(0xF993FACA, numeric(0), 0, f32(9)),
  c(u32(0xF993FAC9), u32(0), u32(0))), c("legacy", "v1", "v3", "none")))
cat("seeds written to", dir, "\n")
