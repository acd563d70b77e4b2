# The ops of issue 11's "planned" list: layers and losses (hard_sigmoid,
# softmin, smooth_l1, moments, softmax_cross_entropy, SVMOutput), the
# densities random_pdf_* and the further optimizer updates.  Values against
# plain-R references; gradients against finite differences (helper-grad.R).
# These ops have no GPU kernel: every array here lives on mx.cpu(), also
# when the suite runs with MXNET_TEST_CTX=gpu.

# Run code with mx.cpu() as the default context (check_grad makes its
# arrays on the default context).
on_cpu <- function(code) {
  old <- mx.ctx.default()
  mx.ctx.default(mx.cpu())
  on.exit(mx.ctx.default(old))
  force(code)
}
cpu_nd <- function(x, dtype = "float64") mx.nd.array(x, ctx = mx.cpu(), dtype = dtype)
uarr <- function(d, lo = -2, hi = 2) array(runif(prod(d), lo, hi), d)

# ------------------------------------------------------------ layers, losses

test_that("hard_sigmoid and smooth_l1 match R and have correct gradients", {
  set.seed(101)
  x <- uarr(c(5, 3, 2), -4, 4)
  for (dt in c("float32", "float64")) {
    xx <- in_dtype(x, dt)
    expect_nd_equal(mx.nd.hard.sigmoid(cpu_nd(x, dt)), array(pmax(0, pmin(1, 0.2 * xx + 0.5)), dim(x)), dtype = dt)
    expect_nd_equal(mx.nd.hard.sigmoid(cpu_nd(x, dt), alpha = 0.3, beta = 0.1),
                    array(pmax(0, pmin(1, 0.3 * xx + 0.1)), dim(x)), dtype = dt)
    for (s in c(1, 2.5)) {
      ib <- 1 / s^2
      ref <- ifelse(xx > ib, xx - 0.5 * ib, ifelse(xx < -ib, -xx - 0.5 * ib, 0.5 * xx^2 * s^2))
      expect_nd_equal(mx.nd.smooth.l1(cpu_nd(x, dt), scalar = s), ref, dtype = dt)
    }
  }
  expect_error(mx.nd.hard.sigmoid(cpu_nd(1:3, "int32")), "int32")
  # odd shape, away from the kinks
  xs <- array(c(-3.1, -1.2, 0.3, 0.7, 2.2, 4.1, -0.4), c(7, 1))
  on_cpu({
    check_grad("hard_sigmoid", list(xs), list(alpha = 0.25, beta = 0.4))
    check_grad("smooth_l1", list(xs), list(scalar = 1.3))
    check_grad("smooth_l1", list(uarr(c(3, 4), -3, 3)))
  })
})

test_that("softmin is the softmax of -x/T along an axis, with gradients", {
  set.seed(102)
  x <- uarr(c(4, 3, 2))
  sm <- function(v) exp(v - max(v)) / sum(exp(v - max(v)))
  for (dt in c("float32", "float64")) {
    xx <- in_dtype(x, dt)
    # default axis -1: the first R dimension
    expect_nd_equal(mx.nd.softmin(cpu_nd(x, dt)), apply(xx, c(2, 3), function(v) sm(-v)), dtype = dt)
    # C axis 1 = R dim 2, temperature 2
    ref <- aperm(apply(xx, c(1, 3), function(v) sm(-v / 2)), c(2, 1, 3))
    expect_nd_equal(mx.nd.softmin(cpu_nd(x, dt), axis = 1, temperature = 2), ref, dtype = dt)
  }
  on_cpu({
    check_grad("softmin", list(x))
    check_grad("softmin", list(uarr(c(5, 1))), list(axis = 0, temperature = 0.7))
  })
})

test_that("moments gives the mean and the biased variance over axes, with gradients", {
  set.seed(103)
  x <- uarr(c(4, 3, 2))
  pv <- function(v) mean((v - mean(v))^2)
  for (dt in c("float32", "float64")) {
    xx <- in_dtype(x, dt)
    r <- mx.nd.moments(cpu_nd(x, dt), axes = c(0, 2))     # C axes 0, 2 = R dims 3, 1
    expect_length(r, 2L)
    expect_nd_equal(r[[1]], apply(xx, 2, mean), tolerance = 1e-6, dtype = dt)
    expect_nd_equal(r[[2]], apply(xx, 2, pv), tolerance = 1e-6, dtype = dt)
    r <- mx.nd.moments(cpu_nd(x, dt), axes = 0, keepdims = TRUE)   # R dim 3, kept
    expect_nd_equal(r[[1]], array(apply(xx, c(1, 2), mean), c(4, 3, 1)), tolerance = 1e-6, dtype = dt)
    expect_nd_equal(r[[2]], array(apply(xx, c(1, 2), pv), c(4, 3, 1)), tolerance = 1e-6, dtype = dt)
  }
  r <- mx.nd.moments(cpu_nd(x), axes = c(0, 1, 2))
  expect_nd_equal(r[[1]], mean(x))
  expect_nd_equal(r[[2]], pv(as.vector(x)))
  expect_error(mx.nd.moments(cpu_nd(x)), "axes")
  on_cpu({
    check_grad("moments", list(x), list(axes = c(0, 2)))
    check_grad("moments", list(uarr(c(5, 3))), list(axes = 1, keepdims = TRUE))
  })
})

test_that("softmax_cross_entropy sums -log softmax at the labels; gradient wrt data", {
  set.seed(104)
  x <- uarr(c(5, 3))             # engine (3, 5): 3 rows of 5 classes
  lab <- c(4, 0, 2)
  lse <- function(v) log(sum(exp(v - max(v)))) + max(v)
  ref <- sum(vapply(1:3, function(r) lse(x[, r]) - x[lab[r] + 1, r], 0))
  for (dt in c("float32", "float64")) {
    out <- mx.nd.softmax.cross.entropy(cpu_nd(x, dt), cpu_nd(lab, dt))
    expect_equal(length(as.array(out)), 1L)
    expect_nd_equal(out, ref, tolerance = 1e-6, dtype = dt)
  }
  expect_error(mx.nd.softmax.cross.entropy(cpu_nd(x), cpu_nd(c(0, 5, 1))), "label")
  expect_error(mx.nd.softmax.cross.entropy(cpu_nd(x), cpu_nd(c(0, 1))), "label")
  on_cpu(check_grad("softmax_cross_entropy", list(x, lab), wrt = 1))
})

test_that("SVMOutput passes the data on; its gradient is the (squared) hinge loss's", {
  set.seed(105)
  x <- uarr(c(4, 5), -1.5, 1.5)   # engine (5, 4): 5 rows of 4 scores
  lab <- c(0, 3, 1, 1, 2)
  # MXNet's objective: per row, sum over classes of reg * h^p, h = (margin -/+ score)+
  loss <- function(x, m, reg, l1) {
    s <- 0
    for (r in seq_len(ncol(x))) for (k in seq_len(nrow(x))) {
      h <- if (k == lab[r] + 1) m - x[k, r] else m + x[k, r]
      s <- s + reg * if (l1) max(h, 0) else max(h, 0)^2
    }
    s
  }
  fd <- function(m, reg, l1) {
    g <- x
    for (i in seq_along(x)) {
      xp <- x; xm <- x
      xp[i] <- xp[i] + 1e-6
      xm[i] <- xm[i] - 1e-6
      g[i] <- (loss(xp, m, reg, l1) - loss(xm, m, reg, l1)) / 2e-6
    }
    g
  }
  for (cfg in list(list(1, 1, FALSE), list(0.5, 0.3, FALSE), list(1, 2, TRUE))) {
    prm <- list(margin = cfg[[1]], regularization_coefficient = cfg[[2]], use_linear = cfg[[3]])
    for (dt in c("float32", "float64")) {
      r <- mxnet:::nd.forward.backward("SVMOutput", list(cpu_nd(x, dt), cpu_nd(lab, dt)), prm,
                                       list(cpu_nd(array(0, dim(x)), dt)))
      expect_nd_equal(r$outputs[[1]], in_dtype(x, dt), dtype = dt)
      expect_nd_equal(r$grads[[1]], fd(cfg[[1]], cfg[[2]], cfg[[3]]), tolerance = 1e-5)
      expect_nd_equal(r$grads[[2]], array(0, 5), dtype = dt)
    }
  }
  expect_error(mxnet:::nd.forward.backward("SVMOutput", list(cpu_nd(x), cpu_nd(c(0, 4, 1, 1, 2))),
                                           NULL, list(cpu_nd(x))), "label")
  s <- mx.symbol.SVMOutput(mx.symbol.Variable("data"), mx.symbol.Variable("label"), margin = 2)
  expect_equal(arguments(s), c("data", "label"))
})

# ------------------------------------------------------------- densities

# R order: parameters of R dims rev(P), samples of R dims c(rev(S), rev(P)),
# so column j of a (samples x parameters) matrix belongs to parameter j.
pdf_cases <- function() {
  set.seed(106)
  np <- 3; ns <- 4
  col <- function(v) matrix(rep(v, each = ns), ns)     # parameter per sample
  lo <- runif(np, -1, 0); hi <- lo + runif(np, 1, 2)
  mu <- runif(np, -1, 1); sg <- runif(np, 0.5, 2)
  a <- runif(np, 0.8, 3); b <- runif(np, 0.5, 2)
  lam <- runif(np, 0.5, 3)
  k <- runif(np, 1, 4); pr <- runif(np, 0.2, 0.8)
  gm <- runif(np, 0.5, 3); ga <- runif(np, 0.2, 1)
  cnt <- matrix(sample(0:6, np * ns, TRUE), ns)
  u <- matrix(runif(np * ns), ns)
  list(
    uniform = list(list(col(lo) + u * col(hi - lo), lo, hi), function(x) dunif(x, col(lo), col(hi)), 1:3),
    normal = list(list(matrix(rnorm(np * ns), ns), mu, sg), function(x) dnorm(x, col(mu), col(sg)), 1:3),
    gamma = list(list(matrix(rgamma(np * ns, 2), ns), a, b), function(x) dgamma(x, col(a), rate = col(b)), 1:3),
    exponential = list(list(matrix(rexp(np * ns), ns), lam), function(x) dexp(x, col(lam)), 1:2),
    poisson = list(list(cnt, lam), function(x) dpois(x, col(lam)), 2),
    negative_binomial = list(list(cnt, k, pr), function(x) dnbinom(x, size = col(k), prob = col(pr)), 2:3),
    generalized_negative_binomial = list(list(cnt, gm, ga),
                                         function(x) dnbinom(x, size = 1 / col(ga), mu = col(gm)), 2:3))
}

test_that("random_pdf_* match R's densities (float32, float64, is_log)", {
  cases <- pdf_cases()
  for (d in names(cases)) {
    cs <- cases[[d]]
    ref <- cs[[2]](cs[[1]][[1]])
    for (dt in c("float32", "float64")) {
      ins <- lapply(cs[[1]], cpu_nd, dtype = dt)
      tol <- if (dt == "float32") 1e-5 else 1e-10
      for (lg in c(FALSE, TRUE)) {
        r <- mxnet:::nd.invoke(paste0("random_pdf_", d), ins, list(is_log = lg))
        expect_nd_equal(r, if (lg) log(ref) else ref, tolerance = tol, dtype = dt)
      }
    }
  }
  # wrappers, and parameters of two dimensions: P = engine (2, 3), S = (5,)
  mu <- matrix(runif(6), 3); sg <- matrix(runif(6, 0.5, 1), 3)
  x <- array(rnorm(30), c(5, 3, 2))
  ref <- array(dnorm(x, rep(mu, each = 5), rep(sg, each = 5)), dim(x))
  expect_nd_equal(mx.nd.random.pdf.normal(cpu_nd(x), cpu_nd(mu), cpu_nd(sg)), ref, tolerance = 1e-12)
  expect_error(mx.nd.random.pdf.normal(cpu_nd(x), cpu_nd(mu), cpu_nd(runif(3))), "shape")
  expect_error(mx.nd.random.pdf.exponential(cpu_nd(x), cpu_nd(runif(5))), "shape")
})

test_that("random_pdf_dirichlet matches the Dirichlet density; shapes P + S + (k,)", {
  set.seed(107)
  alpha <- matrix(runif(6, 0.5, 3), 3)            # engine (2, 3): 2 distributions, k = 3
  x <- array(rgamma(24, 1), c(3, 4, 2))           # engine (2, 4, 3): 4 samples each
  x <- sweep(x, c(2, 3), apply(x, c(2, 3), sum), "/")
  ref <- array(0, c(4, 2))
  for (j in 1:2) for (s in 1:4) {
    a <- alpha[, j]
    ref[s, j] <- exp(lgamma(sum(a)) - sum(lgamma(a)) + sum((a - 1) * log(x[, s, j])))
  }
  for (dt in c("float32", "float64")) {
    tol <- if (dt == "float32") 1e-5 else 1e-10
    expect_nd_equal(mx.nd.random.pdf.dirichlet(cpu_nd(x, dt), cpu_nd(alpha, dt)), ref, tolerance = tol, dtype = dt)
    expect_nd_equal(mx.nd.random.pdf.dirichlet(cpu_nd(x, dt), cpu_nd(alpha, dt), is_log = TRUE), log(ref),
                    tolerance = tol, dtype = dt)
  }
  # one vector sample: output (1,)
  r <- mx.nd.random.pdf.dirichlet(cpu_nd(x[, 1, 1]), cpu_nd(alpha[, 1]))
  expect_nd_equal(r, ref[1, 1], tolerance = 1e-12)
  expect_error(mx.nd.random.pdf.dirichlet(cpu_nd(x), cpu_nd(alpha[1:2, ])), "alpha")
  on_cpu({
    check_grad("random_pdf_dirichlet", list(x, alpha))
    check_grad("random_pdf_dirichlet", list(x, alpha), list(is_log = TRUE))
  })
})

test_that("random_pdf_* gradients match finite differences for the continuous inputs", {
  cases <- pdf_cases()
  on_cpu(for (d in names(cases)) for (lg in c(FALSE, TRUE)) {
    cs <- cases[[d]]
    check_grad(paste0("random_pdf_", d), cs[[1]], list(is_log = lg), wrt = cs[[3]],
               label = paste(d, lg))
  })
  # discrete samples get a zero gradient (MXNet)
  cs <- cases$poisson
  r <- mxnet:::nd.forward.backward("random_pdf_poisson", lapply(cs[[1]], cpu_nd), NULL,
                                   list(cpu_nd(array(1, dim(cs[[1]][[1]])))))
  expect_nd_equal(r$grads[[1]], array(0, dim(cs[[1]][[1]])))
})

# ------------------------------------------------------ optimizer updates

clipv <- function(x, b) if (b >= 0) pmin(pmax(x, -b), b) else x
sgn <- function(x) (x > 0) - (x < 0)
vals <- function(a) as.vector(as.array(a))

test_that("signsgd_update and signum_update follow MXNet's formulas over two steps", {
  set.seed(201)
  for (dt in c("float32", "float64")) {
    tol <- if (dt == "float32") 1e-5 else 1e-12
    w <- runif(7, -1, 1); m <- rep(0, 7)
    W <- cpu_nd(w, dt); M <- cpu_nd(m, dt); W2 <- cpu_nd(w, dt)
    w2 <- w
    for (step in 1:2) {
      g <- in_dtype(runif(7, -2, 2), dt)
      mx.nd.signsgd.update(W2, cpu_nd(g, dt), lr = 0.1, wd = 0.05, out = W2)
      w2 <- (1 - 0.1 * 0.05) * w2 - 0.1 * sgn(g)
      expect_nd_equal(W2, w2, tolerance = tol, dtype = dt)
      mx.nd.signum.update(W, cpu_nd(g, dt), M, lr = 0.2, momentum = 0.7, wd = 0.1, rescale_grad = 0.5,
                          clip_gradient = 0.6, wd_lh = 0.01, out = W)
      m <- 0.7 * m - 0.3 * 0.1 * w - 0.3 * clipv(0.5 * g, 0.6)
      w <- (1 - 0.2 * 0.01) * w + 0.2 * sgn(m)
      expect_nd_equal(M, m, tolerance = tol, dtype = dt)
      expect_nd_equal(W, w, tolerance = tol, dtype = dt)
    }
  }
})

test_that("ftml_update and ftrl_update follow MXNet's formulas over two steps", {
  set.seed(202)
  for (dt in c("float32", "float64")) {
    tol <- if (dt == "float32") 1e-5 else 1e-12
    w <- runif(6, -1, 1); d <- v <- z <- rep(0, 6)
    W <- cpu_nd(w, dt); D <- cpu_nd(d, dt); V <- cpu_nd(v, dt); Z <- cpu_nd(z, dt)
    lr <- 0.05; b1 <- 0.6; b2 <- 0.9; eps <- 1e-6; wd <- 0.01
    for (t in 1:2) {
      g <- in_dtype(runif(6, -2, 2), dt)
      mx.nd.ftml.update(W, cpu_nd(g, dt), D, V, Z, lr = lr, beta1 = b1, beta2 = b2, epsilon = eps,
                        t = t, wd = wd, rescale_grad = 0.5, clip_grad = 0.4, out = W)
      gg <- clipv(0.5 * g + wd * w, 0.4)
      v <- b2 * v + (1 - b2) * gg^2
      dt_ <- (1 - b1^t) / lr * (sqrt(v / (1 - b2^t)) + eps)
      z <- b1 * z + (1 - b1) * gg - (dt_ - b1 * d) * w
      d <- dt_
      w <- -z / dt_
      for (pr in list(list(D, d), list(V, v), list(Z, z), list(W, w)))
        expect_nd_equal(pr[[1]], pr[[2]], tolerance = tol * 10, dtype = dt)
    }
    w <- runif(6, -1, 1); z <- n <- rep(0, 6)
    W <- cpu_nd(w, dt); Z <- cpu_nd(z, dt); N <- cpu_nd(n, dt)
    for (step in 1:2) {
      g <- in_dtype(runif(6, -2, 2), dt)
      mx.nd.ftrl.update(W, cpu_nd(g, dt), Z, N, lr = 0.1, lamda1 = 0.05, beta = 1, wd = 0.02,
                        rescale_grad = 2, clip_gradient = 3, out = W)
      gg <- clipv(2 * g, 3)
      z <- z + gg - (sqrt(n + gg^2) - sqrt(n)) * w / 0.1
      n <- n + gg^2
      w <- ifelse(abs(z) > 0.05, (sgn(z) * 0.05 - z) / ((1 + sqrt(n)) / 0.1 + 0.02), 0)
      expect_nd_equal(Z, z, tolerance = tol, dtype = dt)
      expect_nd_equal(N, n, tolerance = tol, dtype = dt)
      expect_nd_equal(W, w, tolerance = tol, dtype = dt)
    }
  }
})

# float16 weight and gradient, float32 master copy (and momentum)
mp_state <- function(w) list(h = cpu_nd(w, "float16"), w32 = cpu_nd(in_dtype(w, "float16"), "float32"))

test_that("mp_sgd_update, mp_sgd_mom_update, mp_nag_mom_update step the float32 master copy", {
  set.seed(203)
  w0 <- runif(9, -1, 1)
  prm <- list(lr = 0.1, wd = 0.02, rescale_grad = 0.5, clip_gradient = 0.8)
  for (op in c("sgd_update", "sgd_mom_update", "nag_mom_update")) {
    mom <- op != "sgd_update"
    p <- if (mom) c(prm, momentum = 0.9) else prm
    s <- mp_state(w0)
    ref_w <- cpu_nd(vals(s$w32), "float32")                     # the float32 op on a copy
    M <- cpu_nd(rep(0, 9), "float32"); Mref <- cpu_nd(rep(0, 9), "float32")
    for (step in 1:3) {
      g <- in_dtype(runif(9, -3, 3), "float16")
      ins <- c(list(s$h, cpu_nd(g, "float16")), if (mom) list(M), list(s$w32))
      res <- mxnet:::nd.invoke(paste0("mp_", op), ins, p, s$h)
      expect_identical(res, s$h)
      mxnet:::nd.invoke(op, c(list(ref_w, cpu_nd(g, "float32")), if (mom) list(Mref)), p, ref_w)
      expect_nd_equal(s$w32, vals(ref_w), tolerance = 1e-6)
      if (mom) expect_nd_equal(M, vals(Mref), tolerance = 1e-6)
      expect_equal(vals(s$h), in_dtype(vals(s$w32), "float16"))
    }
    # plain-R check of the first sgd step
    if (op == "sgd_update") {
      s <- mp_state(w0)
      g <- in_dtype(runif(9, -3, 3), "float16")
      mx.nd.mp.sgd.update(s$h, cpu_nd(g, "float16"), s$w32, lr = 0.1, wd = 0.02, out = s$h)
      expect_nd_equal(s$w32, (1 - 0.1 * 0.02) * in_dtype(w0, "float16") - 0.1 * g, tolerance = 1e-6)
    }
  }
  s <- mp_state(w0)
  expect_error(mx.nd.mp.sgd.update(s$h, cpu_nd(w0, "float16"), cpu_nd(w0, "float64"), lr = 1), "float32")
})

test_that("lamb_update_phase1/2 and their mp_ versions follow MXNet's formulas", {
  set.seed(204)
  w <- runif(8, -1, 1); m <- v <- rep(0, 8)
  b1 <- 0.9; b2 <- 0.99; eps <- 1e-6; wd <- 0.01
  W <- cpu_nd(w, "float64"); M <- cpu_nd(m, "float64"); V <- cpu_nd(v, "float64")
  for (t in 1:2) for (bc in c(TRUE, FALSE)) {
    g <- runif(8, -2, 2)
    G <- mx.nd.lamb.update.phase1(W, cpu_nd(g), M, V, beta1 = b1, beta2 = b2, epsilon = eps, t = t,
                                  bias_correction = bc, wd = wd, rescale_grad = 0.5, clip_gradient = 0.7)
    gg <- clipv(0.5 * g, 0.7)
    m <- b1 * m + (1 - b1) * gg
    v <- b2 * v + (1 - b2) * gg^2
    c1 <- if (bc) 1 - b1^t else 1
    c2 <- if (bc) 1 - b2^t else 1
    gref <- (m / c1) / (sqrt(v / c2) + eps) + wd * w
    expect_nd_equal(G, gref, tolerance = 1e-12)
    expect_nd_equal(M, m, tolerance = 1e-12)
    r1 <- sqrt(sum(w^2)); r2 <- sqrt(sum(gref^2))
    for (lb in list(c(-1, -1), c(0.1, 0.5))) {
      out <- mx.nd.lamb.update.phase2(W, G, cpu_nd(r1), cpu_nd(r2), lr = 0.05,
                                      lower_bound = lb[1], upper_bound = lb[2])
      r1c <- if (lb[1] >= 0) min(max(r1, lb[1]), lb[2]) else r1
      expect_nd_equal(out, w - 0.05 * r1c / r2 * gref, tolerance = 1e-12)
    }
    # r1 = 0: the plain learning rate
    expect_nd_equal(mx.nd.lamb.update.phase2(W, G, cpu_nd(0), cpu_nd(r2), lr = 0.05), w - 0.05 * gref,
                    tolerance = 1e-12)
    mx.nd.lamb.update.phase2(W, G, cpu_nd(r1), cpu_nd(r2), lr = 0.05, out = W)
    w <- w - 0.05 * r1 / r2 * gref
  }
  # mp_: from the float32 master copy; phase one's output is float32
  s <- mp_state(w)
  g <- in_dtype(runif(8, -2, 2), "float16")
  M <- cpu_nd(rep(0, 8), "float32"); V <- cpu_nd(rep(0, 8), "float32")
  G <- mx.nd.mp.lamb.update.phase1(s$h, cpu_nd(g, "float16"), M, V, s$w32, t = 1, wd = wd)
  expect_equal(mx.nd.dtype(G), "float32")
  w32 <- vals(s$w32)
  mm <- 0.1 * g; vv <- 0.001 * g^2
  gref <- (mm / 0.1) / (sqrt(vv / 0.001) + 1e-6) + wd * w32
  expect_nd_equal(G, gref, tolerance = 1e-5)
  out <- mx.nd.mp.lamb.update.phase2(s$h, G, cpu_nd(2, "float32"), cpu_nd(4, "float32"), s$w32, lr = 0.1)
  expect_equal(mx.nd.dtype(out), "float16")
  expect_equal(vals(out), in_dtype(w32 - 0.05 * vals(G), "float16"), tolerance = 1e-3)
  expect_equal(vals(s$w32), w32)      # as in MXNet, the master copy is not changed
})

test_that("multi_* and preloaded_multi_* updates equal the single-weight ops", {
  set.seed(205)
  dims <- list(c(3, 2), 5, c(2, 2, 2))
  lrs <- c(0.1, 0.2, 0.05); wds <- c(0, 0.01, 0.1)
  w <- lapply(dims, function(d) array(runif(prod(d), -1, 1), d))
  g <- lapply(dims, function(d) array(in_dtype(runif(prod(d), -2, 2), "float16"), d))
  for (mom in c(FALSE, TRUE)) for (mp in c(FALSE, TRUE)) for (pre in c(FALSE, TRUE)) {
    wt <- if (mp) "float16" else "float32"
    W <- lapply(w, cpu_nd, dtype = wt)
    W32 <- lapply(w, function(a) cpu_nd(in_dtype(a, wt), "float32"))
    M <- lapply(dims, function(d) cpu_nd(array(0, d), "float32"))
    ins <- do.call(c, lapply(1:3, function(k)
      c(list(W[[k]], cpu_nd(g[[k]], wt)), if (mom) list(M[[k]]), if (mp) list(W32[[k]]))))
    prm <- list(rescale_grad = 0.5, clip_gradient = 0.9, num_weights = 3)
    if (mom) prm$momentum <- 0.8
    if (pre) ins <- c(ins, list(cpu_nd(lrs, "float32"), cpu_nd(wds, "float32")))
    else prm <- c(prm, list(lrs = lrs, wds = wds))
    op <- paste0(if (pre) "preloaded_" else "", "multi_", if (mp) "mp_" else "", "sgd_",
                 if (mom) "mom_" else "", "update")
    res <- mxnet:::nd.invoke(op, ins, prm, W)
    for (k in 1:3) {
      ref <- cpu_nd(in_dtype(w[[k]], wt), "float32")
      Mr <- cpu_nd(array(0, dims[[k]]), "float32")
      sp <- list(lr = lrs[k], wd = wds[k], rescale_grad = 0.5, clip_gradient = 0.9)
      if (mom) sp$momentum <- 0.8
      mxnet:::nd.invoke(if (mom) "sgd_mom_update" else "sgd_update",
                        c(list(ref, cpu_nd(g[[k]], "float32")), if (mom) list(Mr)), sp, ref)
      expect_identical(res[[k]], W[[k]])
      expect_equal(dim(as.array(W[[k]])) %||% length(W[[k]]), dims[[k]])
      if (mp) {
        expect_nd_equal(W32[[k]], as.array(ref), tolerance = 1e-6)
        expect_equal(vals(W[[k]]), in_dtype(vals(ref), "float16"), label = op)
      } else {
        expect_nd_equal(W[[k]], as.array(ref), tolerance = 1e-6)
      }
      if (mom) expect_nd_equal(M[[k]], as.array(Mr), tolerance = 1e-6)
    }
  }
  # the wrappers take the arrays in ...; lrs/wds in the order of the weights
  a <- cpu_nd(c(1, 1), "float32"); b <- cpu_nd(c(2, 2), "float32"); one <- cpu_nd(c(1, 1), "float32")
  r <- mx.nd.multi.sgd.update(a, one, b, one, lrs = c(0.1, 0.5), wds = c(0, 0), num_weights = 2)
  expect_equal(vals(r[[1]]), c(0.9, 0.9), tolerance = 1e-6)
  expect_equal(vals(r[[2]]), c(1.5, 1.5), tolerance = 1e-6)
  expect_error(mx.nd.multi.sgd.update(a, one, b, one, lrs = 0.1, wds = 0, num_weights = 2), "lrs")
  expect_error(mx.nd.multi.sgd.update(a, one, b, one, lrs = 0.1, wds = 0), "input")
  s <- mx.symbol.multi_sgd_mom_update(num_weights = 2, lrs = c(1, 1), wds = c(0, 0), name = "u")
  expect_equal(arguments(s), paste0("u_", c("weight_", "grad_", "mom_"), rep(0:1, each = 3)))
})

test_that("multi_sum_sq, multi_lars, reset_arrays, all_finite, multi_all_finite", {
  set.seed(206)
  x <- array(runif(6, -2, 2), c(3, 2)); y <- runif(4); z <- runif(5)
  for (dt in c("float32", "float64", "float16")) {
    r <- mx.nd.multi.sum.sq(cpu_nd(x, dt), cpu_nd(y, dt), cpu_nd(z, dt), num_arrays = 3)
    expect_equal(mx.nd.dtype(r), "float32")
    expect_equal(vals(r), c(sum(in_dtype(x, dt)^2), sum(in_dtype(y, dt)^2), sum(in_dtype(z, dt)^2)),
                 tolerance = 1e-6)
  }
  lrs <- c(0.1, 0.2, 0.3, 0.4); ws <- c(4, 0, 9, 1); gs <- c(1, 1, 0, 4); wds <- c(0.01, 0, 0.1, 0.2)
  r <- mx.nd.multi.lars(cpu_nd(lrs, "float32"), cpu_nd(ws, "float32"), cpu_nd(gs, "float32"),
                        cpu_nd(wds, "float32"), eta = 0.5, eps = 1e-3, rescale_grad = 2)
  ref <- ifelse(ws > 0 & gs > 0, lrs * 0.5 * sqrt(ws) / (sqrt(gs) * 2 + wds * sqrt(ws) + 1e-3), lrs)
  expect_equal(vals(r), ref, tolerance = 1e-6)
  A <- cpu_nd(x, "float32"); B <- cpu_nd(1:3, "int32"); C <- cpu_nd(y, "float16")
  expect_null(mx.nd.reset.arrays(A, B, C, num_arrays = 3))
  expect_equal(vals(A), rep(0, 6)); expect_equal(vals(B), rep(0, 3)); expect_equal(vals(C), rep(0, 4))
  for (dt in c("float32", "float64", "float16")) {
    expect_equal(vals(mx.nd.all.finite(cpu_nd(x, dt))), 1)
    expect_equal(vals(mx.nd.all.finite(cpu_nd(c(1, NaN), dt))), 0)
    expect_equal(vals(mx.nd.multi.all.finite(cpu_nd(x, dt), cpu_nd(c(-Inf, 1), dt), num_arrays = 2)), 0)
    expect_equal(vals(mx.nd.multi.all.finite(cpu_nd(x, dt), cpu_nd(y, dt), num_arrays = 2)), 1)
  }
  # init_output = FALSE keeps a 0 already there
  o <- cpu_nd(0, "float32")
  mx.nd.all.finite(cpu_nd(x), init_output = FALSE, out = o)
  expect_equal(vals(o), 0)
  mx.nd.all.finite(cpu_nd(x), out = o)
  expect_equal(vals(o), 1)
})

test_that("amp_cast and amp_multicast cast the float types (with gradients)", {
  x <- c(1.5, -2.25, 3)
  expect_equal(mx.nd.dtype(mx.nd.amp.cast(cpu_nd(x, "float32"), dtype = "float16")), "float16")
  expect_equal(mx.nd.dtype(mx.nd.amp.cast(cpu_nd(x, "float16"), dtype = "float32")), "float32")
  i <- mx.nd.amp.cast(cpu_nd(1:3, "int32"), dtype = "float16")     # not a float type: unchanged
  expect_equal(mx.nd.dtype(i), "int32")
  expect_equal(vals(i), 1:3)
  expect_equal(vals(mx.nd.amp.cast(cpu_nd(x, "float32"), dtype = "float16")), x)
  r <- mx.nd.amp.multicast(cpu_nd(x, "float16"), cpu_nd(x, "float32"), cpu_nd(1:3, "int32"), num_outputs = 3)
  expect_equal(vapply(r, mx.nd.dtype, ""), c("float32", "float32", "int32"))
  r <- mx.nd.amp.multicast(cpu_nd(x, "float16"), cpu_nd(x, "float32"), num_outputs = 2, cast_narrow = TRUE)
  expect_equal(vapply(r, mx.nd.dtype, ""), c("float16", "float16"))
  expect_equal(vals(r[[2]]), x)
  # gradients: the output gradient cast back
  fb <- mxnet:::nd.forward.backward("amp_cast", list(cpu_nd(x, "float32")), list(dtype = "float16"),
                                    list(cpu_nd(c(1, 2, 3), "float16")))
  expect_equal(mx.nd.dtype(fb$grads[[1]]), "float32")
  expect_equal(vals(fb$grads[[1]]), c(1, 2, 3))
  fb <- mxnet:::nd.forward.backward("amp_multicast", list(cpu_nd(x, "float16"), cpu_nd(x, "float32")),
                                    list(num_outputs = 2), list(cpu_nd(c(1, 2, 3), "float32"), cpu_nd(c(4, 5, 6), "float32")))
  expect_equal(vapply(fb$grads, mx.nd.dtype, ""), c("float16", "float32"))
  expect_equal(vals(fb$grads[[1]]), c(1, 2, 3))
  expect_equal(vals(fb$grads[[2]]), c(4, 5, 6))
  on_cpu(check_grad("amp_cast", list(x), list(dtype = "float16")))   # float64: passes unchanged
})

# ------------------------------------------------------------- Correlation

# Plain-R Correlation on NCHW arrays given as engine-ordered R arrays
# x[n, c, h, w] (MXNet's CPU definition: patch top-left at
# i*stride1 + max_displacement in the padded inputs).
corr_ref <- function(a, b, k, md, s1, s2, pad, mul) {
  d <- dim(a); N <- d[1]; C <- d[2]; H <- d[3]; W <- d[4]
  padit <- function(x) {
    y <- array(0, c(N, C, H + 2 * pad, W + 2 * pad))
    y[, , pad + seq_len(H), pad + seq_len(W)] <- x
    y
  }
  A <- padit(a); B <- padit(b)
  border <- md + (k - 1) / 2
  Ho <- ceiling((H + 2 * pad - 2 * border) / s1); Wo <- ceiling((W + 2 * pad - 2 * border) / s1)
  rad <- md %/% s2; D <- 2 * rad + 1
  out <- array(0, c(N, D * D, Ho, Wo))
  for (n in 1:N) for (tc in 0:(D * D - 1)) for (i in 0:(Ho - 1)) for (j in 0:(Wo - 1)) {
    x1 <- j * s1 + md; y1 <- i * s1 + md
    x2 <- x1 + (tc %% D - rad) * s2; y2 <- y1 + (tc %/% D - rad) * s2
    pa <- A[n, , y1 + 1:k, x1 + 1:k]; pb <- B[n, , y2 + 1:k, x2 + 1:k]
    out[n, tc + 1, i + 1, j + 1] <- sum(if (mul) pa * pb else abs(pa - pb)) / (k * k * C)
  }
  out
}
to_r <- function(x) aperm(x, 4:1)      # engine-ordered array <-> R order

test_that("Correlation matches a plain-R correlation layer, with gradients", {
  set.seed(301)
  cfgs <- list(list(k = 1, md = 1, s1 = 1, s2 = 1, pad = 0, mul = TRUE),
               list(k = 3, md = 2, s1 = 2, s2 = 2, pad = 2, mul = TRUE),
               list(k = 1, md = 2, s1 = 1, s2 = 1, pad = 1, mul = FALSE))
  for (cf in cfgs) {
    a <- array(runif(2 * 3 * 5 * 6, -1, 1), c(2, 3, 5, 6))    # engine (N, C, H, W)
    b <- array(runif(2 * 3 * 5 * 6, -1, 1), c(2, 3, 5, 6))
    ref <- corr_ref(a, b, cf$k, cf$md, cf$s1, cf$s2, cf$pad, cf$mul)
    prm <- list(kernel_size = cf$k, max_displacement = cf$md, stride1 = cf$s1, stride2 = cf$s2,
                pad_size = cf$pad, is_multiply = cf$mul)
    for (dt in c("float32", "float64")) {
      r <- mxnet:::nd.invoke("Correlation", list(cpu_nd(to_r(a), dt), cpu_nd(to_r(b), dt)), prm)
      expect_nd_equal(r, to_r(ref), tolerance = if (dt == "float32") 1e-5 else 1e-12, dtype = dt)
    }
    on_cpu(check_grad("Correlation", list(to_r(a), to_r(b)), prm, n.check = 12,
                      label = paste("Correlation", cf$k, cf$md, cf$mul)))
  }
  s <- mx.symbol.Correlation(mx.symbol.Variable("a"), mx.symbol.Variable("b"), max_displacement = 2)
  expect_equal(arguments(s), c("a", "b"))
  expect_error(mx.nd.Correlation(cpu_nd(array(0, c(4, 4, 1, 1))), cpu_nd(array(0, c(4, 4, 1, 1))),
                                 kernel_size = 2), "kernel_size")
  expect_error(mx.nd.Correlation(cpu_nd(array(0, c(3, 3, 1, 1))), cpu_nd(array(0, c(3, 3, 1, 1))),
                                 max_displacement = 4), "fit")
})

# ------------------------------------------------------------ im2col, col2im

# R reference in engine terms: x has R dims c(W, H, C, N); the result R dims
# c(L, C * kh * kw, N), row c * kh * kw + i * kw + j, column oh * Wo + ow.
im2col_ref <- function(x, k, s = c(1, 1), d = c(1, 1), p = c(0, 0)) {   # k, s, d, p in R order (w, h)
  W <- dim(x)[1]; H <- dim(x)[2]; C <- dim(x)[3]; N <- dim(x)[4]
  Wo <- (W + 2 * p[1] - (d[1] * (k[1] - 1) + 1)) %/% s[1] + 1
  Ho <- (H + 2 * p[2] - (d[2] * (k[2] - 1) + 1)) %/% s[2] + 1
  out <- array(0, c(Wo * Ho, C * k[1] * k[2], N))
  for (n in 1:N) for (cc in 0:(C - 1)) for (i in 0:(k[2] - 1)) for (j in 0:(k[1] - 1))
    for (oh in 0:(Ho - 1)) for (ow in 0:(Wo - 1)) {
      h <- oh * s[2] - p[2] + i * d[2]; w <- ow * s[1] - p[1] + j * d[1]
      if (h >= 0 && h < H && w >= 0 && w < W)
        out[oh * Wo + ow + 1, cc * k[1] * k[2] + i * k[1] + j + 1, n] <- x[w + 1, h + 1, cc + 1, n]
    }
  out
}

test_that("im2col matches an R reference; col2im is its adjoint; both have gradients", {
  set.seed(7)
  x <- uarr(c(6, 5, 3, 2))
  cases <- list(list(k = c(3, 2)), list(k = c(2, 3), s = c(2, 1), p = c(1, 1)),
                list(k = c(2, 2), d = c(2, 1), p = c(0, 1)))
  for (cs in cases) {
    or <- function(a, b) if (is.null(a)) b else a
    s <- or(cs$s, c(1, 1)); d <- or(cs$d, c(1, 1)); p <- or(cs$p, c(0, 0))
    ref <- im2col_ref(x, cs$k, s, d, p)
    for (dt in c("float32", "float64")) {
      got <- mx.nd.im2col(cpu_nd(x, dt), kernel = cs$k, stride = s, dilate = d, pad = p)
      expect_nd_equal(got, ref, dtype = dt)
    }
    y <- array(rnorm(length(ref)), dim(ref))
    back <- as.array(mx.nd.col2im(cpu_nd(y), output_size = c(6, 5), kernel = cs$k, stride = s,
                                  dilate = d, pad = p))
    expect_equal(dim(back), dim(x))
    expect_equal(sum(ref * y), sum(x * back), tolerance = 1e-12)   # <im2col x, y> = <x, col2im y>
    on_cpu({
      check_grad("im2col", list(x), list(kernel = cs$k, stride = s, dilate = d, pad = p))
      check_grad("col2im", list(y), list(output_size = c(6, 5), kernel = cs$k, stride = s,
                                         dilate = d, pad = p))
    })
  }
  # 1-D and 3-D shapes
  expect_equal(dim(mx.nd.im2col(cpu_nd(uarr(c(9, 4, 2))), kernel = 3, stride = 2)), c(4L, 12L, 2L))
  expect_equal(dim(mx.nd.im2col(cpu_nd(uarr(c(4, 4, 3, 2, 1))), kernel = c(2, 2, 2))), c(18L, 16L, 1L))
  ones <- as.array(mx.nd.col2im(mx.nd.im2col(cpu_nd(array(1, c(4, 4, 1, 1))), kernel = c(3, 3), pad = c(1, 1)),
                                output_size = c(4, 4), kernel = c(3, 3), pad = c(1, 1)))
  cover <- outer(c(2, 3, 3, 2), c(2, 3, 3, 2))             # windows covering each pixel
  expect_equal(ones[, , 1, 1], cover)
  expect_error(mx.nd.col2im(cpu_nd(array(0, c(4, 7, 1))), output_size = c(4, 4), kernel = c(3, 3)),
               "kernel positions", class = "mxnet_error")
  expect_error(mx.nd.col2im(cpu_nd(array(0, c(5, 9, 1))), output_size = c(4, 4), kernel = c(3, 3), pad = c(1, 1)),
               "blocks", class = "mxnet_error")
})
