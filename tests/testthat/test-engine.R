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
