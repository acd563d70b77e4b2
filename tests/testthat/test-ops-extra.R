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
