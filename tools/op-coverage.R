# Op coverage against MXNet 1.9.1: which public op names (each one an
# mx.nd.<op> and mx.symbol.<Op> wrapper in 1.9.1's R package) this package's
# registry has, and why the others are not offered.  Writes docs/op-coverage.md.
#
#   Rscript tools/op-coverage.R [LIB] [MIRROR_GIT_DIR]
#
# LIB: library holding the installed package (default .lib).  MXNET_191_OPS
# below was scanned from MXNet 1.9.1's sources (src/operator/**/*.cc):
# NNVM_REGISTER_OP, MXNET_REGISTER_OP_PROPERTY, MXNET_OPERATOR_REGISTER_*
# and add_alias names not starting with "_" (1.9.1's R exporter makes those
# internal), less the numpy-only macro arguments (equal, greater, ...: their
# ops are _npi_*), plus the names built by token pasting (sample_<distr>,
# random_pdf_<distr>).  Given MIRROR_GIT_DIR (a git directory with the 1.9.1
# tag), the scan is redone and compared with the list.

args <- commandArgs(trailingOnly = TRUE)
lib <- if (length(args) >= 1L) args[[1L]] else ".lib"
mirror <- if (length(args) >= 2L) args[[2L]] else NULL

MXNET_191_OPS <- c(
  "Activation", "BatchNorm", "BatchNorm_v1", "BilinearSampler", "BlockGrad", "CTCLoss", "Cast",
  "Concat", "Convolution", "Convolution_v1", "Correlation", "Crop", "CuDNNBatchNorm", "Custom",
  "Deconvolution", "Dropout", "ElementWiseSum", "Embedding", "Flatten", "FullyConnected",
  "GridGenerator", "GroupNorm", "IdentityAttachKLSparseReg", "InstanceNorm", "L2Normalization",
  "LRN", "LayerNorm", "LeakyReLU", "LinearRegressionOutput", "LogisticRegressionOutput",
  "MAERegressionOutput", "MakeLoss", "Pad", "Pooling", "Pooling_v1", "RNN", "ROIPooling",
  "Reshape", "SVMOutput", "SequenceLast", "SequenceMask", "SequenceReverse", "SliceChannel",
  "Softmax", "SoftmaxActivation", "SoftmaxOutput", "SpatialTransformer", "SwapAxis",
  "UpSampling", "abs", "adam_update", "add_n", "all_finite", "amp_cast", "amp_multicast",
  "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "argmax", "argmax_channel",
  "argmin", "argsort", "batch_dot", "batch_take", "broadcast_add", "broadcast_axes",
  "broadcast_axis", "broadcast_div", "broadcast_equal", "broadcast_greater",
  "broadcast_greater_equal", "broadcast_hypot", "broadcast_lesser", "broadcast_lesser_equal",
  "broadcast_like", "broadcast_logical_and", "broadcast_logical_or", "broadcast_logical_xor",
  "broadcast_maximum", "broadcast_minimum", "broadcast_minus", "broadcast_mod",
  "broadcast_mul", "broadcast_not_equal", "broadcast_plus", "broadcast_power", "broadcast_sub",
  "broadcast_to", "cast", "cast_storage", "cbrt", "ceil", "choose_element_0index", "clip",
  "col2im", "concat", "cos", "cosh", "crop", "ctc_loss", "cumsum", "degrees", "depth_to_space",
  "diag", "dot", "elemwise_add", "elemwise_div", "elemwise_mul", "elemwise_sub", "erf",
  "erfinv", "exp", "expand_dims", "expm1", "fix", "flatten", "flip", "floor", "ftml_update",
  "ftrl_update", "gamma", "gammaln", "gather_nd", "hard_sigmoid", "identity", "im2col",
  "khatri_rao", "lamb_update_phase1", "lamb_update_phase2", "linalg_det", "linalg_extractdiag",
  "linalg_extracttrian", "linalg_gelqf", "linalg_gemm", "linalg_gemm2", "linalg_inverse",
  "linalg_makediag", "linalg_maketrian", "linalg_potrf", "linalg_potri", "linalg_slogdet",
  "linalg_sumlogdiag", "linalg_syrk", "linalg_trmm", "linalg_trsm", "log", "log10", "log1p",
  "log2", "log_softmax", "logical_not", "make_loss", "max", "max_axis", "mean", "min",
  "min_axis", "moments", "mp_lamb_update_phase1", "mp_lamb_update_phase2", "mp_nag_mom_update",
  "mp_sgd_mom_update", "mp_sgd_update", "multi_all_finite", "multi_lars",
  "multi_mp_sgd_mom_update", "multi_mp_sgd_update", "multi_sgd_mom_update", "multi_sgd_update",
  "multi_sum_sq", "nag_mom_update", "nanprod", "nansum", "negative", "norm", "normal",
  "one_hot", "ones_like", "pad", "pick", "preloaded_multi_mp_sgd_mom_update",
  "preloaded_multi_mp_sgd_update", "preloaded_multi_sgd_mom_update",
  "preloaded_multi_sgd_update", "prod", "radians", "random_exponential", "random_gamma",
  "random_generalized_negative_binomial", "random_negative_binomial", "random_normal",
  "random_pdf_dirichlet", "random_pdf_exponential", "random_pdf_gamma",
  "random_pdf_generalized_negative_binomial", "random_pdf_negative_binomial",
  "random_pdf_normal", "random_pdf_poisson", "random_pdf_uniform", "random_poisson",
  "random_randint", "random_uniform", "ravel_multi_index", "rcbrt", "reciprocal", "relu",
  "repeat", "reset_arrays", "reshape", "reshape_like", "reverse", "rint", "rmsprop_update",
  "rmspropalex_update", "round", "rsqrt", "sample_exponential", "sample_gamma",
  "sample_generalized_negative_binomial", "sample_multinomial", "sample_negative_binomial",
  "sample_normal", "sample_poisson", "sample_uniform", "scatter_nd", "sgd_mom_update",
  "sgd_update", "shape_array", "shuffle", "sigmoid", "sign", "signsgd_update", "signum_update",
  "sin", "sinh", "size_array", "slice", "slice_axis", "slice_like", "smooth_l1", "softmax",
  "softmax_cross_entropy", "softmin", "softsign", "sort", "space_to_depth", "split", "sqrt",
  "square", "squeeze", "stack", "stop_gradient", "sum", "sum_axis", "swapaxes", "take", "tan",
  "tanh", "tile", "topk", "transpose", "trunc", "uniform", "unravel_index", "where",
  "zeros_like"
)

# Why a missing op is not offered (names not listed here: planned).
REASONS <- c(
  CuDNNBatchNorm = "not offered: a cuDNN-only variant of BatchNorm in MXNet's CUDA builds; BatchNorm covers it",
  Custom = "not offered: 1.9.1's R package had no API to register custom operators, only this wrapper",
  BatchNorm_v1 = "not offered: deprecated legacy version of BatchNorm",
  Convolution_v1 = "not offered: deprecated legacy version of Convolution",
  Pooling_v1 = "not offered: deprecated legacy version of Pooling",
  IdentityAttachKLSparseReg = "not offered: legacy sparsity regulariser with no users in the R examples",
  cast_storage = "not offered as an engine op: sparse arrays are R objects over dense NDArrays; mx.nd.cast.storage() in R/sparse.R converts (docs/sparse.md)"
)
LAYERS_ISSUE11 <- c("RNN", "SequenceLast", "SequenceMask", "SequenceReverse", "LRN", "UpSampling",
                    "LayerNorm", "InstanceNorm", "GroupNorm", "L2Normalization", "Pad", "pad",
                    "CTCLoss", "ctc_loss", "ROIPooling", "SpatialTransformer", "GridGenerator",
                    "BilinearSampler", "SoftmaxActivation")

reason_of <- function(op) {
  if (op %in% names(REASONS)) return(REASONS[[op]])
  if (op %in% LAYERS_ISSUE11) return("planned: issue 11 (layers and recurrent networks)")
  "planned"
}

# Redo the scan of the sources (see the header) from a git directory.
scan_mirror <- function(gitdir) {
  pat <- paste0("NNVM_REGISTER_OP\\(\\s*[A-Za-z0-9_]+\\s*\\)|MXNET_REGISTER_OP_PROPERTY\\(\\s*[A-Za-z0-9_]+|",
                "add_alias\\(\"[A-Za-z0-9_]+\"\\)|MXNET_OPERATOR_REGISTER_[A-Z_]+\\(\\s*[A-Za-z0-9_]+")
  hits <- system2("git", c(paste0("--git-dir=", gitdir), "grep", "-h", "-o", "-E", shQuote(pat), "1.9.1",
                           "--", shQuote("src/operator/*.cc"), shQuote("src/operator/**/*.cc")), stdout = TRUE)
  n <- unique(sub(".*\\(\\s*\"?([A-Za-z0-9_]+)\"?\\)?$", "\\1", hits))
  n <- setdiff(n[!startsWith(n, "_")], c("equal", "greater", "greater_equal", "less", "less_equal",
                                         "not_equal", "name", "distr"))
  d <- c("uniform", "normal", "gamma", "exponential", "poisson", "negative_binomial",
         "generalized_negative_binomial")
  sort(unique(c(n, paste0("sample_", d), paste0("random_pdf_", c(d, "dirichlet")))))
}

if (!is.null(mirror)) {
  scanned <- scan_mirror(mirror)
  if (!setequal(scanned, MXNET_191_OPS))
    stop("the scan differs from MXNET_191_OPS: ",
         paste(c(setdiff(scanned, MXNET_191_OPS), setdiff(MXNET_191_OPS, scanned)), collapse = ", "))
}

.libPaths(c(normalizePath(lib), .libPaths()))
info <- mxnet:::mx.internal.op.info()
have <- unique(unlist(lapply(info, function(op) c(op$name, op$aliases))))
ops <- sort(unique(MXNET_191_OPS))
present <- ops[ops %in% have]
missing <- ops[!ops %in% have]

out <- c(
  "# Op coverage against MXNet 1.9.1",
  "",
  "Generated by `Rscript tools/op-coverage.R` (do not edit by hand). MXNet 1.9.1 registers",
  sprintf("%d public op names (each an `mx.nd.<op>` and `mx.symbol.<Op>` wrapper in its R package);", length(ops)),
  sprintf("this package offers %d of them and lists the %d others below with the reason.", length(present), length(missing)),
  "`tests/testthat/test-op-coverage.R` fails when an op listed as present is missing from the registry.",
  "",
  sprintf("## Present (%d)", length(present)),
  "",
  paste0("- `", present, "`"),
  "",
  sprintf("## Missing (%d)", length(missing)),
  "",
  "| op | status |",
  "|---|---|",
  sprintf("| `%s` | %s |", missing, vapply(missing, reason_of, ""))
)
writeLines(out, "docs/op-coverage.md")
cat(sprintf("docs/op-coverage.md: %d present, %d missing of %d\n", length(present), length(missing), length(ops)))
