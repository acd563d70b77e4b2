# tools/gpu-tests.R -- the test files of the GPU check (tools/gpu-check.sh,
# step 2), one at a time in the order below, each reported on its own line as
# soon as it ends, with the first lines of every failure: a time limit then
# leaves the files it reached, and their failures, in the log.
#
#   Rscript tools/gpu-tests.R [TESTDIR]      (MXNET_TEST_CTX=gpu set by the caller)
#
# First what runs on the device: the GPU files, the ops' values and
# gradients, the executor, training, memory; then the rest. Files that run
# nothing on the test device (multi-process kvstores, readers, interop) are
# left out; `make test` runs them on the CPU.
suppressMessages(library(mxnet))
library(testthat)
dir <- commandArgs(trailingOnly = TRUE)[1]
if (is.na(dir)) dir <- "tests/testthat"

# the order: fast files that exercise the device most first (about 85 s on
# the 2-core CPU machine's fake GPU, tests/testthat's own timings), then
# slower value tests, then the finite-difference gradient files (50-120 s each)
first <- c("gpu-build", "gpu-fake", "ndarray", "ops-conv", "ops-nn", "rnn-device", "executor",
           "exec-blocked", "memory", "kvstore", "random", "plan-frugal", "ops-matmul", "ops-layers",
           "ops-extra", "ops-conv3d", "bfloat16", "half-train", "errors", "optimizer", "model", "ops-tensor",
           "ops-shape", "ops-index", "ops-elemwise", "ops-reduce", "ops-unary", "grad-conv", "grad-nn",
           "grad-matmul", "grad-elemwise", "grad-unary", "grad-reduce", "grad-shape", "grad-index",
           "sparse", "rnn")
left.out <- c("kvstore-mpi", "kvstore-netns", "kvstore-slurm", "recordio", "libsvm", "onnx", "torch",
              "caffe", "op-coverage")
all <- sub("^test-(.*)\\.R$", "\\1", list.files(dir, "^test-.*\\.R$"))
order <- c(intersect(first, all), setdiff(sort(all), c(first, left.out)))

failures <- function(res) {
  out <- character()
  for (t in res) for (e in t$results)
    if (inherits(e, c("expectation_failure", "expectation_error")))
      out <- c(out, sprintf("  %s: %s", t$test, substr(gsub("\\s+", " ", conditionMessage(e)), 1, 300)))
  out
}

totals <- c(files = 0, passed = 0, failed = 0, errors = 0, skipped = 0)
for (f in order) {
  t0 <- proc.time()[[3]]
  res <- tryCatch(test_file(file.path(dir, paste0("test-", f, ".R")), reporter = "silent",
                            stop_on_failure = FALSE, load_package = "none"),
                  error = function(e) e)
  if (inherits(res, "error")) {
    cat(sprintf("FILE %s: could not run: %s\n", f, conditionMessage(res)))
    totals["errors"] <- totals["errors"] + 1
    flush(stdout())
    next
  }
  d <- as.data.frame(res)
  n <- c(1, sum(d$passed), sum(d$failed), sum(d$error), sum(d$skipped))
  totals <- totals + n
  cat(sprintf("FILE %s: %d passed, %d failed, %d errors, %d skipped (%.0f s)\n", f, n[2], n[3], n[4],
              n[5], proc.time()[[3]] - t0))
  bad <- failures(res)
  if (length(bad)) cat(paste0("FAILED ", f, bad, collapse = "\n"), "\n", sep = "")
  flush(stdout())   # a time limit kills this process: keep every line so far
}
cat(sprintf("RESULT %d files: %d expectations passed, %d failed, %d errors, %d skipped\n",
            totals[["files"]], totals[["passed"]], totals[["failed"]], totals[["errors"]],
            totals[["skipped"]]))
if (totals[["failed"]] + totals[["errors"]] > 0) quit(status = 1)
