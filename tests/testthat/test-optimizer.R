# Fused optimizer ops, optimizers (mx.opt.create / mx.opt.get.updater) and
# learning-rate schedulers, against R re-implementations of the same maths.

clipg <- function(g, b) if (b >= 0) pmin(pmax(g, -b), b) else g

# R references of the fused ops: take the weight, the gradient and the states
# (a list), return list(weight, states).
ref_ops <- list(
  sgd_update = function(w, g, s, p) {
    list((1 - p$lr * p$wd) * w - p$lr * clipg(p$rescale_grad * g, p$clip_gradient), s)
  },
  sgd_mom_update = function(w, g, s, p) {
    m <- p$momentum * s[[1]] - p$lr * (clipg(p$rescale_grad * g, p$clip_gradient) + p$wd * w)
    list(w + m, list(m))
  },
  nag_mom_update = function(w, g, s, p) {
    d <- clipg(p$rescale_grad * g, p$clip_gradient) + p$wd * w
    m0 <- s[[1]]
    m <- p$momentum * m0 - p$lr * d
    # MXNet's NAGMomKernel, written out as in its source
    wn <- w - p$momentum * m0 + (p$momentum + 1) * (p$momentum * m0 - p$lr * d)
    list(wn, list(m))
  },
  adam_update = function(w, g, s, p) {
    gr <- clipg(p$rescale_grad * g + p$wd * w, p$clip_gradient)
    m <- p$beta1 * s[[1]] + (1 - p$beta1) * gr
    v <- p$beta2 * s[[2]] + (1 - p$beta2) * gr^2
    list(w - p$lr * m / (sqrt(v) + p$epsilon), list(m, v))
  },
  rmsprop_update = function(w, g, s, p) {
    gr <- clipg(p$rescale_grad * g + p$wd * w, p$clip_gradient)
    n <- (1 - p$gamma1) * gr^2 + p$gamma1 * s[[1]]
    list(clipg(w - p$lr * gr / sqrt(n + p$epsilon), p$clip_weights), list(n))
  },
  rmspropalex_update = function(w, g, s, p) {
    gr <- clipg(p$rescale_grad * g + p$wd * w, p$clip_gradient)
    n <- (1 - p$gamma1) * gr^2 + p$gamma1 * s[[1]]
    gb <- (1 - p$gamma1) * gr + p$gamma1 * s[[2]]
    d <- p$gamma2 * s[[3]] - p$lr * gr / sqrt(n - gb^2 + p$epsilon)
    list(clipg(w + d, p$clip_weights), list(n, gb, d))
  },
  adagrad_update = function(w, g, s, p) {
    gr <- clipg(p$rescale_grad * g, p$clip_gradient)
    h <- s[[1]] + gr^2
    list(w - p$lr * (gr / sqrt(h + p$epsilon) + p$wd * w), list(h))
  },
  adadelta_update = function(w, g, s, p) {
    gr <- clipg(p$rescale_grad * g, p$clip_gradient)
    ag <- p$rho * s[[1]] + (1 - p$rho) * gr^2
    d <- sqrt(s[[2]] + p$epsilon) / sqrt(ag + p$epsilon) * gr
    ad <- p$rho * s[[2]] + (1 - p$rho) * d^2
    list(w - d - p$wd * w, list(ag, ad))
  }
)

# Parameters per op: with clipping active and without.
op_params <- list(
  sgd_update = list(lr = 0.1, wd = 0.01, rescale_grad = 0.5, clip_gradient = 0.4),
  sgd_mom_update = list(lr = 0.1, momentum = 0.9, wd = 0.01, rescale_grad = 0.5, clip_gradient = 0.4),
  nag_mom_update = list(lr = 0.1, momentum = 0.9, wd = 0.01, rescale_grad = 0.5, clip_gradient = 0.4),
  adam_update = list(lr = 0.01, beta1 = 0.8, beta2 = 0.99, epsilon = 1e-6, wd = 0.02,
                     rescale_grad = 0.5, clip_gradient = 0.4),
  rmsprop_update = list(lr = 0.01, gamma1 = 0.9, epsilon = 1e-6, wd = 0.02, rescale_grad = 0.5,
                        clip_gradient = 0.4, clip_weights = 0.9),
  rmspropalex_update = list(lr = 0.01, gamma1 = 0.9, gamma2 = 0.8, epsilon = 1e-4, wd = 0.02,
                            rescale_grad = 0.5, clip_gradient = 0.4, clip_weights = 0.9),
  adagrad_update = list(lr = 0.1, epsilon = 1e-7, wd = 0.02, rescale_grad = 0.5, clip_gradient = 0.4),
  adadelta_update = list(rho = 0.85, epsilon = 1e-5, wd = 0.02, rescale_grad = 0.5, clip_gradient = 0.4)
)
n_states <- c(sgd_update = 0, sgd_mom_update = 1, nag_mom_update = 1, adam_update = 2,
              rmsprop_update = 1, rmspropalex_update = 3, adagrad_update = 1, adadelta_update = 2)

# Run `steps` updates of `op` with out = weight; compare weight and states
# (the very same NDArrays) with the R reference after every step.
check_op <- function(op, params, dtype = "float64", steps = 4, dims = c(3, 4)) {
  set.seed(42)
  w <- array(runif(prod(dims), -1, 1), dims)
  s <- lapply(seq_len(n_states[[op]]), function(k) array(0, dims))
  if (op == "rmspropalex_update") s[[1]] <- array(runif(prod(dims), 0.5, 1), dims)
  w_nd <- mx.nd.array(w, dtype = dtype)
  s_nd <- lapply(s, mx.nd.array, dtype = dtype)
  tol <- if (dtype == "float64") 1e-12 else 1e-5
  for (step in seq_len(steps)) {
    g <- array(runif(prod(dims), -2, 2), dims)
    g <- in_dtype(g, dtype)
    ref <- ref_ops[[op]](w, g, s, params)
    res <- mxnet:::nd.invoke(op, c(list(w_nd, mx.nd.array(g, dtype = dtype)), s_nd), params, w_nd)
    expect_identical(res, w_nd)
    w <- ref[[1]]
    s <- ref[[2]]
    expect_nd_equal(w_nd, w, tolerance = tol)
    for (k in seq_along(s)) expect_nd_equal(s_nd[[k]], s[[k]], tolerance = tol)
    if (dtype != "float64") {   # keep the reference on the engine's values
      w <- as.array(w_nd)
      s <- lapply(s_nd, as.array)
    }
  }
  invisible(TRUE)
}

test_that("each fused update op matches its formula (float64, several steps, clipping)", {
  for (op in names(ref_ops)) check_op(op, op_params[[op]], "float64", steps = 4)
})

test_that("fused update ops: one step without clipping and in float32", {
  for (op in names(ref_ops)) {
    p <- op_params[[op]]
    p$clip_gradient <- -1
    if (!is.null(p$clip_weights)) p$clip_weights <- -1
    check_op(op, p, "float64", steps = 1, dims = 5)
    check_op(op, op_params[[op]], "float32", steps = 3, dims = c(2, 3, 2))
  }
})

test_that("sgd_mom_update by hand on a small fixed problem", {
  w <- mx.nd.array(c(1, -2, 3), dtype = "float64")
  g <- mx.nd.array(c(4, 0.2, -1), dtype = "float64")
  m <- mx.nd.array(c(0.5, 0, -0.5), dtype = "float64")
  mx.nd.sgd.mom.update(w, g, m, lr = 0.1, momentum = 0.9, wd = 0.1, rescale_grad = 0.5,
                       clip_gradient = 1, out = w)
  # rescaled grad: 2 -> clipped 1, 0.1, -0.5
  mom <- c(0.9 * 0.5 - 0.1 * (1 + 0.1 * 1), 0 - 0.1 * (0.1 + 0.1 * -2),
           0.9 * -0.5 - 0.1 * (-0.5 + 0.1 * 3))
  expect_equal(as.double(m), mom, tolerance = 1e-14)
  expect_equal(as.double(w), c(1, -2, 3) + mom, tolerance = 1e-14)
  # without out = the weight keeps its value; the state still moves
  w2 <- mx.nd.array(c(1, 1, 1), dtype = "float64")
  m2 <- mx.nd.zeros(3, dtype = "float64")
  r <- mx.nd.sgd.mom.update(w2, mx.nd.ones(3, dtype = "float64"), m2, lr = 1)
  expect_equal(as.double(w2), c(1, 1, 1))
  expect_equal(as.double(r), c(0, 0, 0))
  expect_equal(as.double(m2), c(-1, -1, -1))
})

test_that("float32 SGD with momentum: the vectorized loop rounds as the formula in float32", {
  # float32 arithmetic in R order: m = mo*m - lr*(clip(rs*g) + wd*w); w = w + m
  set.seed(12)
  n <- 70001                               # several blocks and a tail
  w0 <- runif(n, -2, 2); g0 <- rnorm(n) * 40; m0 <- rnorm(n); g0[c(3, 9)] <- c(NaN, Inf)
  f <- function(x) as.array(mx.nd.array(x))   # round to float32
  for (cg in c(-1, 0.7)) for (th in 1:2) {
    old <- options(mxnet.threads = th)
    w <- mx.nd.array(w0); g <- mx.nd.array(g0); m <- mx.nd.array(m0)
    mx.nd.sgd.mom.update(w, g, m, lr = 0.05, momentum = 0.9, wd = 1e-3, rescale_grad = 0.125,
                         clip_gradient = cg, out = w)
    options(old)
    gg <- f(0.125 * f(g0))
    if (cg >= 0) gg <- pmin(pmax(gg, -f(cg)), f(cg))
    gg[3] <- NaN
    mm <- f(f(f(0.9) * f(m0)) - f(f(0.05) * f(gg + f(f(1e-3) * f(w0)))))
    expect_equal(as.array(m), mm, tolerance = 1e-6)
    expect_equal(as.array(w), f(f(w0) + mm), tolerance = 1e-6)
    expect_true(is.nan(as.array(w)[3]))
    expect_equal(is.infinite(as.array(w)[9]), cg < 0)
  }
})

test_that("the updater updates several SGD weights in one call, exactly as one by one", {
  set.seed(5)
  dims <- c(list(c(4, 3), 7, c(2, 2, 5)), lapply(1:30, function(k) c(k, 2)))   # more than a call takes
  mk <- function(dtype = "float32") lapply(dims, function(d) mx.nd.array(array(rnorm(prod(d)), d), dtype = dtype))
  for (mom in c(0, 0.9)) {
    set.seed(5); ws1 <- mk(); set.seed(5); ws2 <- mk()
    mk.opt <- function() mx.opt.create("sgd", learning.rate = 0.1, momentum = mom, wd = 0.01,
                                       rescale.grad = 0.5, clip_gradient = 2,
                                       lr_scheduler = mx.lr_scheduler.FactorScheduler(step = 2, factor_val = 0.5))
    o1 <- mk.opt(); o2 <- mk.opt()
    o2$update.multi <- NULL                # the same optimizer, one weight at a time
    u1 <- mx.opt.get.updater(o1, ws1); u2 <- mx.opt.get.updater(o2, ws2)
    for (step in 1:5) {
      gs <- lapply(dims, function(d) mx.nd.array(array(rnorm(prod(d)) * step, d)))
      suppressMessages({u1(ws1, gs); u2(ws2, gs)})
    }
    for (k in seq_along(dims)) expect_identical(as.array(ws1[[k]]), as.array(ws2[[k]]))
    expect_equal(o1$env$lr, o2$env$lr)
    expect_lt(o1$env$lr, 0.1)              # the scheduler ran
  }
  # weights of two dtypes: one at a time, the same values
  ws <- c(mk()[1:2], list(mx.nd.array(1:3, dtype = "float64")))
  gs <- lapply(ws, function(a) mx.nd.ones(dim(a), dtype = mx.nd.dtype(a)))
  u <- mx.opt.get.updater(mx.opt.create("sgd", learning.rate = 1), ws)
  u(ws, gs)
  expect_equal(as.array(ws[[3]]), c(0, 1, 2))
})

test_that("a multi-weight update writes each weight in place, and a crossed out list still gets the right values", {
  set.seed(7)
  mk <- function(n) mx.nd.array(rnorm(n))
  w1 <- mk(5000); g1 <- mk(5000); m1 <- mk(5000); w2 <- mk(5000); g2 <- mk(5000); m2 <- mk(5000)
  a1 <- as.array(w1); a2 <- as.array(w2)
  p <- list(lrs = c(0.1, 0.2), wds = c(0, 0), momentum = 0, rescale_grad = 1, clip_gradient = -1, num_weights = 2L)
  z1 <- mx.nd.zeros(5000); z2 <- mx.nd.zeros(5000)
  before <- mx.memory.stats()[["n_alloc"]]
  invisible(mxnet:::nd.invoke("multi_sgd_mom_update", list(w1, g1, z1, w2, g2, z2), p, list(w1, w2)))
  expect_equal(mx.memory.stats()[["n_alloc"]], before)          # no temporary outputs
  e1 <- a1 - 0.1 * as.array(g1); e2 <- a2 - 0.2 * as.array(g2)
  expect_equal(as.array(w1), e1, tolerance = 1e-6)
  expect_equal(as.array(w2), e2, tolerance = 1e-6)
  # output 0 into weight 2 and output 1 into weight 1: computed aside, then written
  invisible(mxnet:::nd.invoke("multi_sgd_mom_update", list(w1, g1, z1, w2, g2, z2), p, list(w2, w1)))
  expect_equal(as.array(w2), e1 - 0.1 * as.array(g1), tolerance = 1e-6)
  expect_equal(as.array(w1), e2 - 0.2 * as.array(g2), tolerance = 1e-6)
})

test_that("sgd_update defaults: wd 0, rescale 1, no clipping", {
  w <- mx.nd.array(c(1, 2), dtype = "float64")
  mx.nd.sgd.update(w, mx.nd.array(c(10, -10), dtype = "float64"), lr = 0.5, out = w)
  expect_equal(as.double(w), c(-4, 7))
  expect_error(mx.nd.sgd.update(w, w), "lr")
})

test_that("update ops check shapes and refuse float16", {
  w <- mx.nd.zeros(c(2, 3))
  expect_error(mx.nd.sgd.mom.update(w, w, mx.nd.zeros(c(3, 2)), lr = 1, out = w), "shape")
  h <- mx.nd.zeros(3, dtype = "float16")
  expect_error(mx.nd.sgd.update(h, h, lr = 1, out = h), "float16")
  expect_error(mx.nd.adam.update(w, w, w, mx.nd.zeros(c(2, 3), dtype = "float64"), lr = 1),
               "dtype")
})

test_that("update ops run on large arrays (parallel loop) like on small ones", {
  n <- 70000
  set.seed(3)
  w0 <- runif(n)
  g <- runif(n, -1, 1)
  w <- mx.nd.array(w0, dtype = "float64")
  m <- mx.nd.zeros(n, dtype = "float64")
  mx.nd.sgd.mom.update(w, mx.nd.array(g, dtype = "float64"), m, lr = 0.1, momentum = 0.5,
                       wd = 0.01, out = w)
  expect_equal(as.double(w), w0 - 0.1 * (g + 0.01 * w0), tolerance = 1e-13)
})

# ------------------------------------------------------------ optimizers

# R re-implementations of the optimizers (state per weight, t = update count).
ref_optimizer <- function(name, args) {
  a <- function(k, def) if (is.null(args[[k]])) def else args[[k]]
  lr <- a("learning.rate", switch(name, sgd = 0.01, nag = 0.01, adam = 1e-3, rmsprop = 0.002,
                                  adagrad = 0.05, adadelta = NA))
  wd <- a("wd", 0)
  rs <- a("rescale.grad", 1)
  cg <- a("clip_gradient", -1)
  states <- list()
  t <- 0
  function(i, w, g) {
    st <- states[[as.character(i)]]
    t <<- t + 1
    switch(name,
      sgd = , nag = {
        mo <- a("momentum", 0)
        if (is.null(st)) st <- 0 * w
        gr <- clipg(rs * g, cg) + wd * w
        if (mo == 0) w <- w - lr * gr
        else {
          st <- mo * st - lr * gr
          w <- if (name == "sgd") w + st else w + mo * st - lr * gr
        }
      },
      adam = {
        b1 <- a("beta1", 0.9); b2 <- a("beta2", 0.999); eps <- a("epsilon", 1e-8)
        if (is.null(st)) st <- list(m = 0 * w, v = 0 * w)
        gr <- clipg(rs * g + wd * w, cg)
        st$m <- b1 * st$m + (1 - b1) * gr
        st$v <- b2 * st$v + (1 - b2) * gr^2
        lrt <- if (isTRUE(args$bias.correction)) lr * sqrt(1 - b2^t) / (1 - b1^t) else lr
        w <- w - lrt * st$m / (sqrt(st$v) + eps)
      },
      rmsprop = {
        g1 <- a("gamma1", 0.95); g2 <- a("gamma2", 0.9); eps <- a("epsilon", 1e-4)
        centered <- a("centered", TRUE)
        if (is.null(st)) st <- list(n = 0 * w, g = 0 * w, d = 0 * w)
        gr <- clipg(rs * g + wd * w, cg)
        st$n <- (1 - g1) * gr^2 + g1 * st$n
        if (centered) {
          st$g <- (1 - g1) * gr + g1 * st$g
          st$d <- g2 * st$d - lr * gr / sqrt(st$n - st$g^2 + eps)
          w <- w + st$d
        } else {
          w <- w - lr * gr / sqrt(st$n + eps)
        }
      },
      adagrad = {
        eps <- a("epsilon", 1e-8)
        if (is.null(st)) st <- 0 * w
        gr <- clipg(rs * g, cg)
        st <- st + gr^2
        w <- w - lr * (gr / sqrt(st + eps) + wd * w)
      },
      adadelta = {
        rho <- a("rho", 0.9); eps <- a("epsilon", 1e-5)
        if (is.null(st)) st <- list(ag = 0 * w, ad = 0 * w)
        gr <- clipg(rs * g, cg)
        st$ag <- rho * st$ag + (1 - rho) * gr^2
        d <- sqrt(st$ad + eps) / sqrt(st$ag + eps) * gr
        st$ad <- rho * st$ad + (1 - rho) * d^2
        w <- w - d - wd * w
      })
    states[[as.character(i)]] <<- st
    w
  }
}

check_optimizer <- function(name, args, steps = 3) {
  set.seed(7)
  dims <- list(c(3, 2), 4)
  w <- lapply(dims, function(d) array(runif(prod(d), -1, 1), d))
  w_nd <- lapply(w, mx.nd.array, dtype = "float64")
  opt <- do.call(mx.opt.create, c(list(name), args))
  expect_s3_class(opt, "mx.optimizer")
  upd <- mx.opt.get.updater(opt, w_nd)
  # one reference per weight: the update count t is per weight
  refs <- lapply(seq_along(w), function(i) ref_optimizer(name, args))
  for (s in seq_len(steps)) {
    g <- lapply(dims, function(d) array(runif(prod(d), -2, 2), d))
    res <- upd(w_nd, lapply(g, mx.nd.array, dtype = "float64"))
    expect_length(res, 2L)
    for (i in seq_along(w)) {
      w[[i]] <- refs[[i]](i, w[[i]], g[[i]])
      expect_identical(res[[i]], w_nd[[i]])
      expect_nd_equal(w_nd[[i]], w[[i]], tolerance = 1e-12)
    }
  }
}

test_that("every optimizer matches an R re-implementation over 3 steps", {
  check_optimizer("sgd", list())
  check_optimizer("sgd", list(learning.rate = 0.1, momentum = 0.9, wd = 0.01,
                              rescale.grad = 0.5, clip_gradient = 0.6))
  check_optimizer("nag", list(learning.rate = 0.1, momentum = 0.9, wd = 0.01, rescale.grad = 0.5))
  check_optimizer("nag", list(learning.rate = 0.1))
  check_optimizer("adam", list())
  check_optimizer("adam", list(learning.rate = 0.05, beta1 = 0.8, wd = 0.01, clip_gradient = 0.5))
  check_optimizer("adam", list(learning.rate = 0.05, beta1 = 0.8, bias.correction = TRUE))
  check_optimizer("rmsprop", list())
  check_optimizer("rmsprop", list(centered = FALSE, learning.rate = 0.01, wd = 0.01))
  check_optimizer("adagrad", list(wd = 0.01, rescale.grad = 0.25))
  check_optimizer("adadelta", list())
  check_optimizer("adadelta", list(rho = 0.8, wd = 0.01, clip_gradient = 0.3))
})

test_that("optimizer defaults follow MXNet's R package", {
  f <- function(name) lapply(formals(get(paste0("mx.opt.", name), asNamespace("mxnet"))), eval)
  expect_equal(f("sgd")[c("learning.rate", "momentum", "wd", "rescale.grad", "clip_gradient")],
               list(learning.rate = 0.01, momentum = 0, wd = 0, rescale.grad = 1, clip_gradient = -1))
  expect_null(f("sgd")$lr_scheduler)
  expect_equal(f("rmsprop")[c("learning.rate", "centered", "gamma1", "gamma2", "epsilon")],
               list(learning.rate = 0.002, centered = TRUE, gamma1 = 0.95, gamma2 = 0.9, epsilon = 1e-4))
  expect_equal(f("adam")[c("learning.rate", "beta1", "beta2", "epsilon")],
               list(learning.rate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8))
  expect_equal(f("adagrad")[c("learning.rate", "epsilon")], list(learning.rate = 0.05, epsilon = 1e-8))
  expect_equal(f("adadelta")[c("rho", "epsilon")], list(rho = 0.9, epsilon = 1e-5))
  expect_equal(f("nag")[c("learning.rate", "momentum")], list(learning.rate = 0.01, momentum = 0))
  expect_error(mx.opt.create("nesterov"), "unknown optimizer")
  expect_error(mx.opt.create("sgd", learnig.rate = 1), "unused argument")
})

test_that("updater: NULL gradients leave weights unchanged; states are created lazily", {
  created <- 0
  opt <- mx.opt.create("sgd", learning.rate = 1, momentum = 0.5)
  cs <- opt$create.state
  opt$create.state <- function(index, weight) { created <<- created + 1; cs(index, weight) }
  w <- list(a = mx.nd.array(c(1, 2)), b = mx.nd.array(5))
  upd <- mx.opt.get.updater(opt, w)
  expect_equal(created, 0)
  w <- upd(w, list(NULL, mx.nd.array(1)))
  expect_equal(created, 1)
  expect_equal(as.double(w$a), c(1, 2))
  expect_equal(as.double(w$b), 4)
  w <- upd(w, list(mx.nd.array(c(1, 1)), mx.nd.array(1)))
  expect_equal(created, 2)
  expect_equal(as.double(w$a), c(0, 1))
  expect_equal(as.double(w$b), 5 - 1 - 1.5)
  expect_equal(opt$env$num_update, 2)
})

test_that("update() returns the state and updates the weight in place", {
  opt <- mx.opt.create("adam", learning.rate = 0.1, bias.correction = TRUE)
  w <- mx.nd.array(c(1, 2), dtype = "float64")
  st <- opt$create.state(1, w)
  expect_named(st, c("mean", "variance"))
  expect_equal(mx.nd.dtype(st$mean), "float64")
  st2 <- opt$update(1, w, mx.nd.array(c(1, -1), dtype = "float64"), st)
  expect_identical(st2, st)
  expect_equal(as.double(st$mean), c(0.1, -0.1))
  # first step of bias-corrected Adam moves by about lr in the gradient's direction
  expect_equal(as.double(w), c(0.9, 2.1), tolerance = 1e-6)
  expect_null(mx.opt.create("sgd")$create.state(1, w))
})

# ------------------------------------------------------------ schedulers

lr_sequence <- function(sched, n, lr = 1, nweights = 1) {
  opt <- mx.opt.create("sgd", learning.rate = lr, lr_scheduler = sched)
  w <- lapply(seq_len(nweights), function(i) mx.nd.zeros(1))
  vapply(seq_len(n), function(b) {
    for (i in seq_len(nweights)) opt$update(i, w[[i]], mx.nd.ones(1), NULL)
    opt$env$lr
  }, numeric(1))
}

test_that("FactorScheduler multiplies the rate every step updates, down to stop_factor_lr", {
  s <- mx.lr_scheduler.FactorScheduler(step = 2, factor_val = 0.5, verbose = FALSE)
  expect_equal(lr_sequence(s, 7), c(1, 1, 0.5, 0.5, 0.25, 0.25, 0.125))
  # several weights: counted per batch, not per weight
  s <- mx.lr_scheduler.FactorScheduler(step = 2, factor_val = 0.5, verbose = FALSE)
  expect_equal(lr_sequence(s, 5, nweights = 3), c(1, 1, 0.5, 0.5, 0.25))
  s <- mx.lr_scheduler.FactorScheduler(step = 1, factor_val = 0.1, stop_factor_lr = 0.005,
                                       verbose = FALSE)
  expect_equal(lr_sequence(s, 5), c(1, 0.1, 0.01, 0.005, 0.005))
  expect_error(mx.lr_scheduler.FactorScheduler(step = 0, factor_val = 0.5), "step")
  expect_error(mx.lr_scheduler.FactorScheduler(step = 2, factor_val = 2), "factor_val")
})

test_that("the scheduler's rate is the one the update uses", {
  s <- mx.lr_scheduler.FactorScheduler(step = 1, factor_val = 0.5, verbose = FALSE)
  opt <- mx.opt.create("sgd", learning.rate = 1, lr_scheduler = s)
  w <- mx.nd.zeros(1, dtype = "float64")
  for (i in 1:3) opt$update(1, w, mx.nd.ones(1, dtype = "float64"), NULL)
  expect_equal(as.double(w), -(1 + 0.5 + 0.25))
})

test_that("MultiFactorScheduler changes the rate after each listed update count", {
  s <- mx.lr_scheduler.MultiFactorScheduler(step = c(2, 5), factor_val = 0.1, verbose = FALSE)
  expect_equal(lr_sequence(s, 7), c(1, 1, 0.1, 0.1, 0.1, 0.01, 0.01))
  expect_error(mx.lr_scheduler.MultiFactorScheduler(step = c(5, 2), factor_val = 0.1), "increasing")
})

test_that("schedulers report changes with message() only when verbose", {
  s <- mx.lr_scheduler.FactorScheduler(step = 1, factor_val = 0.5)
  expect_message(lr_sequence(s, 2), "learning rate is changed to 0.5")
  s <- mx.lr_scheduler.FactorScheduler(step = 1, factor_val = 0.5, stop_factor_lr = 0.6)
  expect_message(lr_sequence(s, 2), "will not change")
  s <- mx.lr_scheduler.MultiFactorScheduler(step = 1, factor_val = 0.5, verbose = FALSE)
  expect_silent(lr_sequence(s, 3))
})

test_that("updates are counted per weight, at once for several, by any key", {
  opt <- mx.opt.create("sgd", learning.rate = 0.1, momentum = 0.9)
  w <- lapply(1:3, function(i) mx.nd.array(c(1, 2)))
  g <- lapply(1:3, function(i) mx.nd.array(c(1, 1)))
  upd <- mx.opt.get.updater(opt, w)
  upd(w, g)
  upd(w, list(g[[1]], NULL, g[[3]]))   # the second weight has no gradient
  expect_equal(opt$env$counts, c(2, 1, 2))
  expect_equal(opt$env$num_update, 2)
  # one weight at a time and other keys (an index given by the caller)
  expect_equal(mxnet:::opt.count(opt$env, 2), 2)
  expect_equal(mxnet:::opt.count(opt$env, "emb"), 1)
  expect_equal(mxnet:::opt.count(opt$env, "emb"), 2)
  expect_equal(mxnet:::opt.count(opt$env, 2.5), 1)
  expect_equal(opt$env$counts, c(2, 2, 2))
  for (k in 1:2) mxnet:::opt.count(opt$env, 7)
  expect_equal(opt$env$counts, c(2, 2, 2, 0, 0, 0, 2))
  expect_equal(opt$env$num_update, 2)
  mxnet:::opt.count(opt$env, "emb")
  expect_equal(opt$env$num_update, 3)
})

test_that("the updater takes weights on different CPU devices one by one", {
  # a multi-weight call needs one device: weights on cpu(0) and cpu(1)
  # (a split layer's weight beside a second device's executor) update apart
  w <- list(mx.nd.array(c(1, 2), ctx = mx.cpu(0)), mx.nd.array(c(3, 4), ctx = mx.cpu(1)))
  g <- list(mx.nd.array(c(1, 1), ctx = mx.cpu(0)), mx.nd.array(c(2, 2), ctx = mx.cpu(1)))
  opt <- mx.opt.create("sgd", learning.rate = 0.1, momentum = 0.9)
  upd <- mx.opt.get.updater(opt, w)
  for (k in 1:2) w <- upd(w, g)
  # two momentum steps: m1 = -lr g, m2 = 0.9 m1 - lr g; w2 = w0 + m1 + m2
  expect_equal(as.double(w[[1]]), c(1, 2) - 0.1 * c(1, 1) * 2.9, tolerance = 1e-6)
  expect_equal(as.double(w[[2]]), c(3, 4) - 0.1 * c(2, 2) * 2.9, tolerance = 1e-6)
  expect_equal(mx.nd.info(w[[2]])$ctx$device_id, 1L)
})
