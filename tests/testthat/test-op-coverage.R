# docs/op-coverage.md (written by tools/op-coverage.R) lists the MXNet 1.9.1
# op names this package offers: each must be in the registry, with its
# mx.nd wrapper.  The docs folder is not part of the built package, so the
# check runs from a source checkout only.

test_that("every op docs/op-coverage.md lists as present is registered", {
  f <- file.path("..", "..", "docs", "op-coverage.md")
  if (!file.exists(f)) skip("docs/op-coverage.md is not here (tests of the built package)")
  l <- readLines(f)
  start <- grep("^## Present", l)
  end <- grep("^## Missing", l)
  expect_length(start, 1L)
  expect_length(end, 1L)
  present <- sub("^- `(.*)`$", "\\1", grep("^- `", l[start:end], value = TRUE))
  expect_gt(length(present), 150L)
  info <- mxnet:::mx.internal.op.info()
  have <- unlist(lapply(info, function(op) c(op$name, op$aliases)))
  expect_true(all(present %in% have), info = paste(setdiff(present, have), collapse = ", "))
  ns <- getNamespaceExports("mxnet")
  wrappers <- paste0("mx.nd.", gsub("_", ".", present, fixed = TRUE))
  expect_true(all(wrappers %in% ns), info = paste(setdiff(wrappers, ns), collapse = ", "))
  # the missing ones carry a reason
  rows <- grep("^\\| `", l[end:length(l)], value = TRUE)
  expect_true(all(grepl("\\| (planned|not offered)", rows)), info = paste(rows[!grepl("\\| (planned|not offered)", rows)], collapse = "\n"))
})
