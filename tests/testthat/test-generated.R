# R/ops-generated.R must match the op registry of this build (run
# `make generate` after changing an op descriptor).

test_that("generated wrappers are up to date with the op registry", {
  regenerated <- mxnet:::mx.internal.generate.ops(with.hash = FALSE)
  expect_identical(mxnet:::mx.internal.hash(regenerated), mxnet:::.mx.generated.hash,
                   label = "hash of the wrappers the registry generates now")
})

test_that("every public op and alias has an exported wrapper with its parameters", {
  ns <- getNamespaceExports("mxnet")
  for (op in mxnet:::mx.internal.op.info()) {
    if (startsWith(op$name, "_")) next
    for (nm in c(op$name, op$aliases[!startsWith(op$aliases, "_")])) {
      rn <- paste0("mx.nd.", gsub("_", ".", nm, fixed = TRUE))
      expect_true(rn %in% ns, label = rn)
      f <- getExportedValue("mxnet", rn)
      params <- vapply(op$params, function(p) p$name, "")
      expect_true(all(c(params, "out") %in% names(formals(f))), label = paste(rn, "formals"))
    }
  }
})
