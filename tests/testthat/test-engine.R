# Engine-wide behaviour: thread counts, forked children, interrupts.

test_that("C1: mx.threads refuses absurd counts and the option is capped", {
  old <- options(mxnet.threads = 2L)
  on.exit(options(old))
  expect_error(mx.threads(1e6), "at most", class = "mxnet_value_error")
  expect_error(mx.threads(65536), class = "mxnet_value_error")
  expect_error(mx.threads(-1), class = "mxnet_value_error")
  expect_identical(getOption("mxnet.threads"), 2L)        # unchanged
  a <- mx.nd.ones(c(200, 200))
  options(mxnet.threads = 1e6)
  expect_warning(r <- sum(mx.nd.dot(a, a)), "more threads than mxnet uses")
  expect_equal(r, 200^3)
  expect_lte(mx.threads(), 4L * parallel::detectCores())
  options(mxnet.threads = 2L)
  expect_equal(sum(mx.nd.dot(a, a)), 200^3)
})

test_that("H1: a forked child runs parallel ops after the parent used threads", {
  skip_on_os("windows")
  old <- options(mxnet.threads = 2L)
  on.exit(options(old))
  a <- mx.nd.ones(c(300, 300))
  b <- mx.nd.ones(c(200, 200, 10))
  # start OpenMP's thread pool in the parent
  expect_equal(sum(mx.nd.dot(a, a)), 300^3)
  expect_equal(sum(exp(b * 0)), 4e5)
  work <- function() c(mx.threads(), sum(mx.nd.dot(a, a)), sum(exp(b * 0)))
  job <- parallel::mcparallel(work())
  res <- parallel::mccollect(job, wait = FALSE, timeout = 60)
  if (is.null(res)) {                  # a hung child fails the test, not the suite
    tools::pskill(job$pid, tools::SIGKILL)
    parallel::mccollect(job)
  }
  expect_false(is.null(res))
  expect_equal(unname(res[[1]]), c(1, 300^3, 4e5))
  # mclapply, as in the report
  expect_equal(parallel::mclapply(1:2, function(i) sum(mx.nd.dot(a, a)), mc.cores = 2),
               list(300^3, 300^3))
  # the parent keeps its threads
  expect_identical(mx.threads(), 2L)
})

# Send SIGINT to this R process after `seconds`, from a background shell.
interrupt_after <- function(seconds) {
  system(sprintf("sh -c 'sleep %g; kill -INT %d' >/dev/null 2>&1 &", seconds, Sys.getpid()))
}
# The class of the interrupt that stopped expr, or "finished" (then the late
# interrupt is absorbed here, so it cannot stop the test run).
interrupted_by <- function(expr) {
  tryCatch({
    force(expr)
    tryCatch(Sys.sleep(10), interrupt = function(e) NULL)
    "finished"
  }, interrupt = function(e) class(e)[1L])
}

test_that("Q8: an interrupt during one long imperative op reaches the user's tryCatch", {
  skip_on_cran()
  skip_on_os("windows")
  old <- options(mxnet.threads = 2L)
  on.exit(options(old))
  # a GEMM of about 10 s (float64: the built-in GEMM, polled between row blocks)
  a <- mx.nd.ones(c(4000, 4000), dtype = "float64")
  interrupt_after(1)
  expect_identical(interrupted_by(mx.nd.dot(a, a)), "mxnet_interrupted_error")
  # float32 (oneDNN's GEMM when built with it)
  b <- mx.nd.ones(c(6000, 6000))
  interrupt_after(1)
  expect_identical(interrupted_by(for (i in 1:20) mx.nd.dot(b, b)), "mxnet_interrupted_error")
  # a built-in convolution of several seconds, polled between chunks of images
  x <- mx.nd.ones(c(32, 32, 512, 32))
  w <- mx.nd.ones(c(5, 5, 512, 512))
  interrupt_after(1)
  expect_identical(interrupted_by(mxnet:::nd.invoke("_Convolution_builtin", list(x, w),
                                                   list(kernel = c(5, 5), num_filter = 512,
                                                        no_bias = TRUE))),
                   "mxnet_interrupted_error")
  # the default (oneDNN) convolution: one primitive cannot be stopped, so an
  # imperative call runs its batch in chunks and polls between them
  x <- mx.nd.ones(c(32, 32, 512, 64))
  interrupt_after(1)
  expect_identical(interrupted_by(mx.nd.Convolution(x, w, kernel = c(5, 5), num_filter = 512,
                                                    no_bias = TRUE)),
                   "mxnet_interrupted_error")
  # the condition says what happened; the package is still usable
  interrupt_after(1)
  e <- tryCatch(mx.nd.dot(a, a), interrupt = identity)
  expect_s3_class(e, "mxnet_error")
  expect_identical(e$status_name, "aborted")
  expect_match(conditionMessage(e), "interrupted")
  expect_identical(conditionCall(e), quote(mx.nd.dot(a, a)))
  s <- mx.nd.ones(c(3, 3))
  expect_identical(as.array(mx.nd.dot(s, s)), matrix(3, 3, 3))
  expect_equal(sum(mxnet:::nd.invoke("_Convolution_builtin", list(mx.nd.ones(c(4, 4, 1, 1)),
                                                                  mx.nd.ones(c(2, 2, 1, 1))),
                                     list(kernel = c(2, 2), num_filter = 1, no_bias = TRUE))),
               36)
})

test_that("Q8: an interrupt stops an executor's forward pass and leaves it usable", {
  skip_on_cran()
  skip_on_os("windows")
  data <- mx.symbol.Variable("data")
  net <- mx.symbol.FullyConnected(data, num_hidden = 4000, no_bias = TRUE, name = "fc")
  ex <- mx.simple.bind(net, data = c(4000, 4000), ctx = mx.cpu(), grad.req = "null")
  mx.exec.update.arg.arrays(ex, list(data = mx.nd.ones(c(4000, 4000)),
                                     fc_weight = mx.nd.ones(c(4000, 4000))),
                            match.name = TRUE)
  interrupt_after(1)
  expect_identical(interrupted_by(for (i in 1:30) mx.exec.forward(ex, is.train = FALSE)),
                   "mxnet_interrupted_error")
  mx.exec.forward(ex, is.train = FALSE)
  expect_equal(as.array(ex$ref.outputs[[1]])[1:2, 1], c(4000, 4000))
})

test_that("Q8: long products, run in row blocks between polls, give the same values", {
  set.seed(3)
  # 800 x 1200 x 1200 multiply-adds > 2^30: several blocks of rows
  A <- matrix(runif(1200 * 800), 1200)        # R dims; the engine sees 800 x 1200
  B <- matrix(runif(1200 * 1200), 1200)
  got <- as.array(mx.nd.dot(mx.nd.array(A, dtype = "float64"), mx.nd.array(B, dtype = "float64")))
  expect_equal(got, B %*% A, tolerance = 1e-12)
  # the same through FullyConnected (mx_gemm), float32
  W <- matrix(runif(1200 * 1200, -0.1, 0.1), 1200)
  fc <- mx.nd.FullyConnected(mx.nd.array(A), mx.nd.array(W), num_hidden = 1200, no_bias = TRUE)
  expect_equal(as.array(fc), t(W) %*% A, tolerance = 1e-5)
})

test_that("L4: wrapping engine arrays keeps none alive after the R objects go", {
  invisible(gc())
  before <- mx.memory.stats(TEST_CTX)[["n_live"]]
  x <- lapply(1:50, function(i) mx.nd.ones(10))
  y <- mx.nd.ones(c(100, 100))
  expect_identical(mx.memory.stats(TEST_CTX)[["n_live"]] - before, 51)
  rm(x, y)
  invisible(gc())
  expect_identical(mx.memory.stats(TEST_CTX)[["n_live"]], before)
})

test_that("E4: mx.symbol.load of a directory says so", {
  expect_error(mx.symbol.load(tempdir()), "is a directory", class = "mxnet_io_error")
})

test_that("Q11: mx.memory.release empties the pool and the package goes on", {
  x <- mx.nd.ones(c(512, 512))
  rm(x)
  invisible(gc())
  expect_gt(mx.memory.stats()[["bytes_cached"]], 0)
  mx.memory.release()
  expect_identical(mx.memory.stats()[["bytes_cached"]], 0)
  expect_identical(as.vector(as.array(mx.nd.ones(2) + 1)), c(2, 2))
})
