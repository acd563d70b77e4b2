# Engine memory: NDArrays dropped from R return to the pool, the pool reuses
# blocks, the gc trigger bounds the memory of dropped large arrays, and the
# pool's cache can be emptied and limited.

mem <- function(what) mx.memory.stats()[[what]]

# These tests are about the CPU pool, also when the suite runs on a GPU
# (MXNET_TEST_CTX=gpu); test-gpu-fake.R tests the GPU pools.
saved.ctx <- mx.ctx.default()
mx.ctx.default(mx.cpu())

test_that("100,000 small create/drop cycles do not grow memory", {
  y <- mx.nd.array(1:10)
  cycles <- function(n) {
    for (i in seq_len(n)) x <- mx.nd.array(1:10)
    for (i in seq_len(n %/% 3)) x <- y * 2 + 1          # two results a cycle
    for (i in seq_len(n %/% 20)) {
      x <- mx.nd.array(matrix(1:12, 3), dtype = "int32")
      dim(x) <- c(2, 6)                                 # a view sharing the memory
      z <- x[1, 2:3]
    }
    for (i in seq_len(n %/% 20)) x <- mx.nd.deserialize(mx.nd.serialize(list(a = y, b = y)))
    invisible(NULL)
  }
  # warm-up: R's own heap grows to its working size for this loop
  cycles(40000)
  invisible(gc())
  live0 <- mem("n_live")
  rss0 <- rss_bytes()
  alloc0 <- mem("n_alloc")
  reuse0 <- mem("n_reuse")
  cycles(100000)
  invisible(gc())
  expect_lte(mem("n_live"), live0 + 2)
  expect_gte(mem("n_live"), live0 - 2)
  # the pool served most requests from freed blocks
  n_alloc <- mem("n_alloc") - alloc0
  expect_gte(n_alloc, 170000)
  expect_gt((mem("n_reuse") - reuse0) / n_alloc, 0.5)
  expect_identical(as.vector(as.array(y)), as.double(1:10))   # still intact
  if (is.na(rss0)) skip("resident memory is not measurable on this system")
  expect_lt(rss_bytes() - rss0, 20e6)   # a leaked header per array would add ~28 MB
})

test_that("large arrays dropped in a loop are reclaimed through the gc trigger", {
  old <- mx.memory.gc.threshold(64 * 2^20)
  on.exit(mx.memory.gc.threshold(old))
  invisible(gc())
  in_use0 <- mem("bytes_in_use")
  sys0 <- mem("n_system_alloc")
  live0 <- mem("n_live")
  mb8 <- 2^21                                      # float32 elements in 8 MB
  max_use <- 0
  for (i in 1:200) {
    x <- mx.nd.zeros(mb8)
    max_use <- max(max_use, mem("bytes_in_use"))
  }
  y <- mx.nd.ones(mb8)
  for (i in 1:100) {
    x <- y + i                                     # op results (the op path triggers too)
    max_use <- max(max_use, mem("bytes_in_use"))
  }
  expect_identical(as.vector(as.array(x[1:3])), rep(101, 3))
  # never more than the threshold plus a few arrays beyond the start
  expect_lte(max_use - in_use0, 64 * 2^20 + 4 * 8 * 2^20)
  # the dropped blocks were reused, not requested from the system again
  expect_lt(mem("n_system_alloc") - sys0, 40)
  rm(x, y)
  invisible(gc())
  expect_lte(mem("n_live"), live0)
  expect_lte(mem("bytes_in_use"), in_use0)
})

test_that("mx.memory.release empties the cache", {
  xs <- lapply(1:8, function(i) mx.nd.zeros(c(256, 1024)))   # 8 x 1 MB
  rm(xs)
  invisible(gc())
  expect_gte(mem("bytes_cached"), 8 * 2^20)
  live <- mem("n_live")
  in_use <- mem("bytes_in_use")
  expect_null(mx.memory.release())
  expect_identical(mem("bytes_cached"), 0)
  expect_identical(mem("n_live"), live)            # live arrays are untouched
  expect_identical(mem("bytes_in_use"), in_use)
  # and new arrays still work
  z <- mx.nd.ones(c(256, 1024))
  expect_identical(as.vector(as.array(z[1:2, 1024])), c(1, 1))
})

test_that("mx.memory.limit round-trips and bounds the cache", {
  old <- mx.memory.limit()
  on.exit(mx.memory.limit(old))
  expect_identical(mem("bytes_limit"), old)
  expect_identical(mx.memory.limit(4 * 2^20), old)   # returns the previous limit
  expect_identical(mx.memory.limit(), 4 * 2^20)
  expect_identical(mem("bytes_limit"), 4 * 2^20)
  xs <- lapply(1:8, function(i) mx.nd.zeros(c(256, 1024)))
  rm(xs)
  invisible(gc())
  expect_lte(mem("bytes_cached"), 4 * 2^20)
  # lowering the limit below what is cached empties the cache
  mx.memory.limit(old)
  xs <- lapply(1:8, function(i) mx.nd.zeros(c(256, 1024)))
  rm(xs)
  invisible(gc())
  expect_gte(mem("bytes_cached"), 8 * 2^20)
  mx.memory.limit(2^20)
  expect_lte(mem("bytes_cached"), 2^20)
  expect_identical(mx.memory.limit(Inf), 2^20)      # Inf: no limit
  expect_gt(mx.memory.limit(), 2^60)
  expect_error(mx.memory.limit(-1), "'bytes'")
  expect_error(mx.memory.limit(NA), "'bytes'")
})

test_that("mx.memory.gc.threshold round-trips", {
  old <- mx.memory.gc.threshold()
  on.exit(mx.memory.gc.threshold(old))
  expect_identical(mx.memory.gc.threshold(123456), old)
  expect_identical(mx.memory.gc.threshold(), 123456)
  expect_error(mx.memory.gc.threshold(-1), "'bytes'")
  expect_error(mx.memory.gc.threshold(NA), "'bytes'")
  expect_identical(mx.memory.gc.threshold(), 123456)
})

test_that("mx.memory.stats reports consistent numbers", {
  s <- mx.memory.stats()
  expect_true(all(c("bytes_in_use", "bytes_peak", "bytes_cached", "bytes_limit", "n_alloc",
                    "n_reuse", "n_system_alloc", "n_live") %in% names(s)))
  expect_true(all(s >= 0))
  expect_gte(s[["bytes_peak"]], s[["bytes_in_use"]])
  x <- mx.nd.zeros(1000, dtype = "float64")
  s2 <- mx.memory.stats()
  expect_identical(s2[["n_live"]], s[["n_live"]] + 1)
  expect_gte(s2[["bytes_in_use"]] - s[["bytes_in_use"]], 8000)
  expect_error(mx.memory.stats(ctx = "cpu"), "'ctx'")
})

mx.ctx.default(saved.ctx)
