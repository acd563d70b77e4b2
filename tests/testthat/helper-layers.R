# Helpers of test-ops-layers.R and test-ops-sequence.R. Those ops have no GPU
# kernel, so their tests run on explicit CPU contexts, also when the suite
# runs with MXNET_TEST_CTX=gpu.

# Evaluate expr with mx.cpu() as the default context.
with_cpu <- function(expr) {
  old <- mx.ctx.default()
  mx.ctx.default(mx.cpu())
  on.exit(mx.ctx.default(old))
  expr
}
# C-order R array (dim() = engine shape) <-> the package's R order
cp <- function(a) if (length(dim(a)) > 1L) aperm(a, rev(seq_along(dim(a)))) else a
nd_c <- function(a, dtype = "float64") mx.nd.array(cp(a), ctx = mx.cpu(), dtype = dtype)
