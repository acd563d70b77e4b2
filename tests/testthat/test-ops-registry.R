# The op registry: every name and alias once, within the registry's limits.

test_that("S3: op names and aliases are unique and the registry is below its cap", {
  info <- mxnet:::mx.internal.op.info()
  names <- unlist(lapply(info, function(op) c(op$name, op$aliases)))
  expect_equal(anyDuplicated(names), 0L, info = names[duplicated(names)])
  cap <- attr(info, "max_ops")
  expect_true(is.numeric(cap) && length(cap) == 1L)
  expect_lt(length(info), cap)
  expect_gt(length(info), 100L)
})

test_that("S2: every op's parameter names are set and unique", {
  for (op in mxnet:::mx.internal.op.info()) {
    pn <- vapply(op$params, function(p) p$name, "")
    expect_false(any(is.na(pn) | pn == ""), info = op$name)
    expect_equal(anyDuplicated(pn), 0L, info = op$name)
  }
})

test_that("S9: the ops the mirror option keeps carry MX_OPF_NO_MIRROR", {
  info <- mxnet:::mx.internal.op.info()
  flag <- setNames(vapply(info, function(op) isTRUE(op$no_mirror), NA),
                   vapply(info, function(op) op$name, ""))
  keep <- c("Convolution", "Deconvolution", "FullyConnected", "Concat", "dot", "batch_dot")
  expect_true(all(flag[keep]), info = paste(keep[!flag[keep]], collapse = ", "))
  expect_false(any(flag[c("Activation", "elemwise_add", "Reshape")]))
})
