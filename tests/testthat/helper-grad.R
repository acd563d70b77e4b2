# Gradient checks against central finite differences (float64).
#
# check_grad(op, inputs, params): inputs are R arrays; the loss is
# L = sum_k sum(G_k * output_k) with fixed random G_k, so dL/dx = the op's
# backward with out_grads G. For up to n.check elements of each input in
# `wrt`, (L(x + eps) - L(x - eps)) / (2 eps) must match the analytic
# gradient within tol (relative to max(1, |values|)). Random ops see the same
# seed in every evaluation. Returns the analytic gradients (R arrays).
check_grad <- function(op, inputs, params = NULL, wrt = seq_along(inputs),
                       eps = 1e-6, tol = 1e-5, n.check = 20L, is.train = TRUE,
                       seed = 11L, dtype = "float64", label = op) {
  # dtype: one for every input, or one per input (e.g. int64 index inputs)
  to_nd <- function(ins) Map(function(a, dt) mx.nd.array(a, dtype = dt), ins, rep_len(dtype, length(ins)))
  run <- function(ins, og) {
    set.seed(seed)
    mxnet:::nd.forward.backward(op, to_nd(ins), params, og, is.train)
  }
  # output shapes from one forward (with zero output gradients)
  set.seed(seed)
  outs <- mxnet:::nd.invoke(op, to_nd(inputs), params)
  if (inherits(outs, "MXNDArray")) outs <- list(outs)
  set.seed(seed + 1000L)
  G <- lapply(outs, function(o) array(runif(length(o), -1, 1), dim(o) %||% length(o)))
  Gnd <- lapply(G, function(g) mx.nd.array(g, dtype = dtype[1L]))
  res <- run(inputs, Gnd)
  ana <- lapply(res$grads, function(g) if (is.null(g)) NULL else as.array(g))
  loss <- function(ins) {
    o <- run(ins, Gnd)$outputs
    sum(vapply(seq_along(o), function(k) sum(G[[k]] * as.array(o[[k]])), 0))
  }
  set.seed(seed + 2000L)
  for (j in wrt) {
    x <- inputs[[j]]
    n <- length(x)
    if (n == 0) next
    idx <- if (n <= n.check) seq_len(n) else sort(sample.int(n, n.check))
    num <- vapply(idx, function(i) {
      xp <- inputs; xm <- inputs
      xp[[j]][i] <- xp[[j]][i] + eps
      xm[[j]][i] <- xm[[j]][i] - eps
      (loss(xp) - loss(xm)) / (2 * eps)
    }, 0)
    a <- as.vector(ana[[j]])[idx]
    bad <- which(abs(num - a) > tol * pmax(1, abs(num), abs(a)))
    testthat::expect(length(bad) == 0L,
      if (length(bad)) sprintf("%s: gradient of input %d differs at element %d: analytic %.8g, numeric %.8g",
                               label, j, idx[bad[1]], a[bad[1]], num[bad[1]]) else "")
  }
  invisible(ana)
}

# Convolution-family float32 results against the float64 built-in op:
# cs = list(op, ref (its _*_builtin twin), x, w, b (input dims), p (params)).
# The op runs its fixed choice, then with tuning 7 calls (the three
# implementations -- oneDNN blocked and plain layouts, built-in -- timed
# twice each, then the fastest; per operation: forward, data and weight
# gradients); the float32 built-in op once. Outputs and the gradients of
# data, weight and bias must match. Arrays live on ctx.
check_f32_against_builtin <- function(cs, ctx = mx.ctx.default()) {
  u <- function(d, lo = -1, hi = 1) array(runif(prod(d), lo, hi), d)
  nd <- function(a, dt) mx.nd.array(a, ctx = ctx, dtype = dt)
  fb <- function(op, ins, prm, og, dt)
    mxnet:::nd.forward.backward(op, lapply(ins, nd, dt = dt), prm, list(nd(og, dt)))
  ins <- list(u(cs$x), u(cs$w, -0.2, 0.2), u(cs$b))
  y64 <- mxnet:::nd.invoke(cs$ref, lapply(ins, nd, dt = "float64"), cs$p)
  og <- u(dim(y64))
  ref <- fb(cs$ref, ins, cs$p, og, "float64")
  for (op in c(cs$op, cs$ref)) for (rep in if (op == cs$ref) 1 else 1:8) {
    r <- fb(op, ins, if (rep > 1) c(cs$p, cudnn_tune = "fastest") else cs$p, og, "float32")
    testthat::expect_equal(dim(r$outputs[[1]]), dim(y64))
    expect_nd_equal(r$outputs[[1]], as.array(ref$outputs[[1]]), tolerance = 1e-4)
    for (j in 1:3)
      expect_nd_equal(r$grads[[j]], as.array(ref$grads[[j]]), tolerance = 2e-4)
  }
}
