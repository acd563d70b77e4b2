# Regenerate R/ops-generated.R from the op registry of an installed build.
# Usage (from the package root, after R CMD INSTALL -l .lib .):
#   Rscript tools/generate-ops.R [.lib]
args <- commandArgs(trailingOnly = TRUE)
lib <- if (length(args)) args[[1L]] else ".lib"
library(mxnet, lib.loc = lib)
txt <- mxnet:::mx.internal.generate.ops()
writeLines(txt, "R/ops-generated.R")
cat(sprintf("wrote R/ops-generated.R (%d lines, hash %s)\n", length(txt),
            sub('.*"(.*)"', "\\1", txt[length(txt)])))
