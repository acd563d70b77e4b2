# 3-D Convolution, Deconvolution and Pooling (NCDHW) against loop-based R
# references, their gradients against finite differences, and a small 3-D
# network trained with FeedForward.create.
#
# R order throughout: data c(W, H, D, C, N); convolution weight
# c(kw, kh, kd, C / groups, F); deconvolution weight c(kw, kh, kd, F / groups, C);
# spatial params c(w, h, d).  Every call names mx.cpu() (or runs under
# with_cpu(), helper-layers.R): the 3-D kernels have no GPU version (on a GPU
# context they fail at bind, test-gpu-fake.R).

sp3 <- function(v) rep_len(v, 3L)

r_conv3 <- function(x, w, b = NULL, stride = 1, pad = 0, dilate = 1, groups = 1) {
  s <- sp3(stride); p <- sp3(pad); d <- sp3(dilate)
  n_in <- dim(x)[1:3]; C <- dim(x)[4]; N <- dim(x)[5]
  k <- dim(w)[1:3]; Cg <- dim(w)[4]; F <- dim(w)[5]
  o <- (n_in + 2 * p - d * (k - 1) - 1) %/% s + 1
  xp <- array(0, c(n_in + 2 * p, C, N))
  xp[p[1] + seq_len(n_in[1]), p[2] + seq_len(n_in[2]), p[3] + seq_len(n_in[3]), , ] <- x
  idx <- function(a, t) (seq_len(o[a]) - 1) * s[a] + (t - 1) * d[a] + 1
  out <- array(0, c(o, F, N))
  Fg <- F / groups
  for (n in seq_len(N)) for (f in seq_len(F)) {
    g <- (f - 1) %/% Fg
    acc <- array(0, o)
    for (ci in seq_len(Cg)) for (l in seq_len(k[3])) for (i in seq_len(k[2])) for (j in seq_len(k[1]))
      acc <- acc + w[j, i, l, ci, f] * array(xp[idx(1, j), idx(2, i), idx(3, l), g * Cg + ci, n], o)
    out[, , , f, n] <- acc + if (is.null(b)) 0 else b[f]
  }
  out
}

r_deconv3 <- function(x, w, b = NULL, stride = 1, pad = 0, dilate = 1, adj = 0, groups = 1) {
  s <- sp3(stride); p <- sp3(pad); d <- sp3(dilate); a <- sp3(adj)
  n_in <- dim(x)[1:3]; C <- dim(x)[4]; N <- dim(x)[5]
  k <- dim(w)[1:3]; Fg <- dim(w)[4]; F <- Fg * groups
  full <- (n_in - 1) * s + d * (k - 1) + 1 + a
  idx <- function(ax, t) (seq_len(n_in[ax]) - 1) * s[ax] + (t - 1) * d[ax] + 1
  out <- array(0, c(full, F, N))
  Cg <- C / groups
  for (n in seq_len(N)) for (cc in seq_len(C)) {
    g <- (cc - 1) %/% Cg
    for (fl in seq_len(Fg)) for (l in seq_len(k[3])) for (i in seq_len(k[2])) for (j in seq_len(k[1])) {
      f <- g * Fg + fl
      out[idx(1, j), idx(2, i), idx(3, l), f, n] <- out[idx(1, j), idx(2, i), idx(3, l), f, n] +
        w[j, i, l, fl, cc] * x[, , , cc, n]
    }
  }
  o <- full - 2 * p
  out <- out[p[1] + seq_len(o[1]), p[2] + seq_len(o[2]), p[3] + seq_len(o[3]), , , drop = FALSE]
  if (!is.null(b)) for (f in seq_len(F)) out[, , , f, ] <- out[, , , f, ] + b[f]
  out
}

r_pool3 <- function(x, kernel = 1, stride = 1, pad = 0, type = "max", convention = "valid",
                    global = FALSE, cip = TRUE) {
  n_in <- dim(x)[1:3]; C <- dim(x)[4]; N <- dim(x)[5]
  if (global) {
    k <- n_in; s <- c(1, 1, 1); p <- c(0, 0, 0); o <- c(1, 1, 1)
  } else {
    k <- sp3(kernel); s <- sp3(stride); p <- sp3(pad)
    span <- n_in + 2 * p
    o <- if (convention == "full") ceiling((span - k) / s) + 1 else (span - k) %/% s + 1
  }
  out <- array(0, c(o, C, N))
  for (n in seq_len(N)) for (cc in seq_len(C))
    for (od in seq_len(o[3])) for (oh in seq_len(o[2])) for (ow in seq_len(o[1])) {
      lo <- (c(ow, oh, od) - 1) * s - p
      hi <- pmin(lo + k, n_in + p)
      area <- prod(hi - lo)
      lo <- pmax(lo, 0); hi <- pmin(hi, n_in)
      if (!cip) area <- prod(hi - lo)
      v <- x[(lo[1] + 1):hi[1], (lo[2] + 1):hi[2], (lo[3] + 1):hi[3], cc, n]
      out[ow, oh, od, cc, n] <- switch(type, max = max(v), avg = sum(v) / area, sum = sum(v))
    }
  out
}

urand3 <- function(d, lo = -1, hi = 1) array(runif(prod(d), lo, hi), d)
nd3 <- function(x, dtype = "float64") mx.nd.array(x, ctx = mx.cpu(), dtype = dtype)
tol3 <- function(dtype) if (dtype == "float64") 1e-10 else 1e-4

test_that("3-D Convolution matches the R reference (odd sizes, stride, pad, dilate, groups, no_bias)", {
  set.seed(111)
  cases <- list(
    list(x = c(5, 4, 3, 2, 2), k = c(3, 2, 2), F = 3, stride = 1, pad = 0, dilate = 1, g = 1),
    list(x = c(7, 6, 5, 4, 1), k = c(3, 3, 3), F = 4, stride = 2, pad = c(1, 0, 1), dilate = 1, g = 2),
    list(x = c(6, 5, 7, 2, 2), k = c(2, 2, 3), F = 2, stride = c(1, 2, 2), pad = 1, dilate = c(2, 1, 2), g = 1),
    list(x = c(5, 5, 4, 3, 1), k = 1, F = 6, stride = 1, pad = 0, dilate = 1, g = 3))
  for (cs in cases) for (no_bias in c(FALSE, TRUE)) {
    k <- sp3(cs$k)
    C <- cs$x[4]
    x <- urand3(cs$x)
    w <- urand3(c(k, C / cs$g, cs$F))
    b <- runif(cs$F, -1, 1)
    ref <- r_conv3(x, w, if (no_bias) NULL else b, cs$stride, cs$pad, cs$dilate, cs$g)
    prm <- list(kernel = k, num_filter = cs$F, stride = sp3(cs$stride), pad = sp3(cs$pad),
                dilate = sp3(cs$dilate), num_group = cs$g, no_bias = no_bias)
    for (dt in c("float32", "float64")) for (op in c("Convolution", "_Convolution_builtin")) {
      ins <- list(nd3(x, dt), nd3(w, dt))
      if (!no_bias) ins[[3]] <- nd3(b, dt)
      # float32 Convolution: the fixed choice (oneDNN where built), then with
      # tuning each implementation in turn
      for (rep in if (dt == "float32" && op == "Convolution") 1:4 else 1) {
        y <- mxnet:::nd.invoke(op, ins, if (rep > 1) c(prm, cudnn_tune = "fastest") else prm)
        expect_identical(dim(y), dim(ref))
        expect_equal(mx.nd.dtype(y), dt)
        expect_nd_equal(y, ref, tolerance = tol3(dt))
      }
    }
  }
  # the generated wrapper, with the layout named
  x <- urand3(c(4, 4, 4, 2, 1)); w <- urand3(c(3, 3, 3, 2, 2)); b <- runif(2)
  y <- mx.nd.Convolution(nd3(x, "float32"), nd3(w, "float32"), nd3(b, "float32"), kernel = c(3, 3, 3),
                         num_filter = 2, pad = c(1, 1, 1), layout = "NCDHW")
  expect_nd_equal(y, r_conv3(x, w, b, pad = 1), tolerance = 1e-4)
})

test_that("3-D Deconvolution matches the R reference (stride, pad, adj, dilate, groups, target_shape)", {
  set.seed(112)
  cases <- list(
    list(x = c(3, 4, 2, 2, 2), k = c(3, 2, 2), F = 3, stride = 1, pad = 0, adj = 0, dilate = 1, g = 1),
    list(x = c(3, 3, 3, 4, 1), k = c(3, 3, 3), F = 2, stride = 2, pad = 1, adj = c(1, 0, 1), dilate = 1, g = 2),
    list(x = c(4, 3, 2, 2, 1), k = c(2, 3, 2), F = 2, stride = c(2, 1, 3), pad = c(0, 1, 1), adj = 0,
         dilate = c(1, 2, 1), g = 1))
  for (cs in cases) for (no_bias in c(TRUE, FALSE)) {
    C <- cs$x[4]
    x <- urand3(cs$x)
    w <- urand3(c(cs$k, cs$F / cs$g, C))
    b <- runif(cs$F, -1, 1)
    ref <- r_deconv3(x, w, if (no_bias) NULL else b, cs$stride, cs$pad, cs$dilate, cs$adj, cs$g)
    prm <- list(kernel = cs$k, num_filter = cs$F, stride = sp3(cs$stride), pad = sp3(cs$pad),
                adj = sp3(cs$adj), dilate = sp3(cs$dilate), num_group = cs$g, no_bias = no_bias)
    for (dt in c("float32", "float64")) for (op in c("Deconvolution", "_Deconvolution_builtin")) {
      ins <- list(nd3(x, dt), nd3(w, dt))
      if (!no_bias) ins[[3]] <- nd3(b, dt)
      y <- mxnet:::nd.invoke(op, ins, prm)
      expect_identical(dim(y), dim(ref))
      expect_nd_equal(y, ref, tolerance = tol3(dt))
    }
  }
  # target_shape sets pad and adj (MXNet's rule): full size 9 per axis here
  x <- urand3(c(4, 4, 4, 1, 1)); w <- urand3(c(3, 3, 3, 1, 1))
  y <- mxnet:::nd.invoke("Deconvolution", list(nd3(x), nd3(w)),
                         list(kernel = c(3, 3, 3), num_filter = 1, stride = c(2, 2, 2), target_shape = c(8, 7, 9)))
  expect_identical(dim(y), c(8L, 7L, 9L, 1L, 1L))
  # tot = 9 - target: pad ceil(tot / 2), adj tot %% 2
  expect_nd_equal(y, r_deconv3(x, w, stride = 2, pad = c(1, 1, 0), adj = c(1, 0, 0)), tolerance = 1e-10)
})

test_that("3-D Pooling matches the R reference (max, avg, sum; pad, full, global, count_include_pad)", {
  set.seed(113)
  x <- urand3(c(7, 6, 5, 2, 2))
  cases <- list(
    list(kernel = c(2, 2, 2), stride = c(2, 2, 2)),
    list(kernel = c(3, 2, 3), stride = c(2, 1, 2), pad = c(1, 1, 1)),
    list(kernel = c(3, 3, 2), stride = c(2, 2, 2), pooling_convention = "full"),
    list(kernel = c(3, 3, 3), stride = c(2, 2, 1), pad = c(1, 0, 1), pooling_convention = "full"),
    list(global_pool = TRUE))
  for (cs in cases) for (type in c("max", "avg", "sum")) {
    ref <- r_pool3(x, cs$kernel %||% 1, cs$stride %||% 1, cs$pad %||% 0, type,
                   cs$pooling_convention %||% "valid", isTRUE(cs$global_pool))
    for (dt in c("float32", "float64")) {
      y <- mxnet:::nd.invoke("Pooling", list(nd3(x, dt)), c(cs, pool_type = type))
      expect_identical(dim(y), dim(ref))
      expect_nd_equal(y, ref, tolerance = if (dt == "float64") 1e-12 else 1e-5)
    }
  }
  for (cip in c(TRUE, FALSE)) {
    y <- mx.nd.Pooling(nd3(x), kernel = c(3, 3, 3), stride = c(2, 2, 2), pad = c(1, 1, 1),
                       pool_type = "avg", count_include_pad = cip)
    expect_nd_equal(y, r_pool3(x, 3, 2, 1, "avg", cip = cip), tolerance = 1e-12)
  }
  # the 2x2x2 max window ignores padded cells (all inputs negative)
  xn <- urand3(c(3, 3, 3, 1, 1), -2, -1)
  y <- mx.nd.Pooling(nd3(xn), kernel = c(2, 2, 2), stride = c(2, 2, 2), pad = c(1, 1, 1))
  expect_nd_equal(y, r_pool3(xn, 2, 2, 1, "max"), tolerance = 1e-12)
  expect_true(all(as.array(y) < 0))
})

test_that("3-D shapes are inferred as MXNet does, and errors name the problem", {
  data <- mx.symbol.Variable("data")
  conv <- mx.symbol.Convolution(data, kernel = c(3, 3, 3), stride = c(2, 2, 1), pad = c(1, 1, 1),
                                num_filter = 4, name = "c")
  pool <- mx.symbol.Pooling(conv, kernel = c(2, 2, 2), stride = c(2, 2, 2), pool_type = "max",
                            pooling_convention = "full")
  deconv <- mx.symbol.Deconvolution(pool, kernel = c(2, 2, 2), stride = c(2, 2, 2), num_filter = 3,
                                    name = "d")
  s <- mx.symbol.infer.shape(deconv, data = c(9, 8, 7, 2, 5))
  expect_identical(s$arg.shapes$c_weight, c(3L, 3L, 3L, 2L, 4L))
  expect_identical(s$arg.shapes$c_bias, 4L)
  expect_identical(s$arg.shapes$d_weight, c(2L, 2L, 2L, 3L, 4L))
  # conv: (9 + 2 - 3) %/% 2 + 1 = 5, (8 + 2 - 3) %/% 2 + 1 = 4, 7; full pool: 3, 2, 4;
  # deconv: (in - 1) * 2 + 2
  expect_identical(s$out.shapes[[1]], c(6L, 4L, 8L, 3L, 5L))
  x <- nd3(array(0, c(4, 4, 4, 2, 1)))
  w <- nd3(array(0, c(3, 3, 3, 2, 2)))
  conv3 <- function(...) mxnet:::nd.invoke("Convolution", list(x, w), list(no_bias = TRUE, ...))
  expect_error(conv3(kernel = c(3, 3, 3), num_filter = 2, stride = c(1, 1)), "'stride'",
               class = "mxnet_error")
  expect_error(conv3(kernel = c(5, 3, 3), num_filter = 2), "'kernel'.*width", class = "mxnet_error")
  expect_error(conv3(kernel = c(3, 3, 3), num_filter = 2, layout = "NCHW"), "'layout'", class = "mxnet_error")
  expect_error(conv3(kernel = c(3, 3, 3), num_filter = 2, layout = "NDHWC"), "'layout' NDHWC is not supported",
               class = "mxnet_unsupported_error")
  expect_error(conv3(kernel = c(3, 3, 3, 3), num_filter = 2), "'kernel'", class = "mxnet_error")
  expect_error(conv3(kernel = c(3, 3), num_filter = 2), "5 dimensions|4 dimensions", class = "mxnet_error")
  expect_error(mxnet:::nd.invoke("Convolution", list(x, nd3(array(0, c(3, 3, 2, 2, 2)))),
                                 list(kernel = c(3, 3, 3), num_filter = 2, no_bias = TRUE)),
               "weight has shape c\\(3, 3, 2, 2, 2\\), expected c\\(3, 3, 3, 2, 2\\)")
  expect_error(mx.nd.Pooling(x, kernel = c(5, 2, 2)), "'kernel'", class = "mxnet_error")
  expect_error(mx.nd.Pooling(x, kernel = c(2, 2)), "dimensions", class = "mxnet_error")
  expect_error(mx.nd.Deconvolution(x, w, kernel = c(3, 3, 3), num_filter = 2, target_shape = c(5, 0, 5)),
               "'target_shape'", class = "mxnet_error")
})

test_that("3-D gradients (data, weight, bias) match finite differences", {
  # check_grad makes its arrays on the default context: the CPU here
  with_cpu({
    set.seed(114)
    cases <- list(
      list(x = c(4, 3, 3, 2, 2), w = c(2, 2, 2, 2, 3), p = list(kernel = c(2, 2, 2), num_filter = 3)),
      list(x = c(5, 4, 5, 4, 1), w = c(3, 2, 3, 2, 2),
           p = list(kernel = c(3, 2, 3), num_filter = 2, stride = c(2, 1, 2), pad = c(1, 1, 0),
                    dilate = c(1, 2, 1), num_group = 2)))
    for (cs in cases) for (op in c("Convolution", "_Convolution_builtin")) {
      F <- cs$p$num_filter
      check_grad(op, list(urand3(cs$x), urand3(cs$w), urand3(F)), cs$p, label = paste(op, deparse(cs$p)))
      check_grad(op, list(urand3(cs$x), urand3(cs$w)), c(cs$p, no_bias = TRUE),
                 label = paste(op, "no_bias", deparse(cs$p)))
    }
    dcases <- list(
      list(x = c(3, 2, 3, 2, 2), w = c(3, 2, 2, 2, 2),
           p = list(kernel = c(3, 2, 2), num_filter = 2, stride = c(2, 1, 2), pad = c(1, 0, 1), adj = c(1, 0, 1))),
      list(x = c(2, 3, 2, 4, 1), w = c(2, 2, 3, 1, 4),
           p = list(kernel = c(2, 2, 3), num_filter = 2, stride = c(2, 2, 1), num_group = 2)))
    for (cs in dcases) for (op in c("Deconvolution", "_Deconvolution_builtin")) {
      F <- cs$p$num_filter
      check_grad(op, list(urand3(cs$x), urand3(cs$w), urand3(F)), c(cs$p, no_bias = FALSE),
                 label = paste(op, deparse(cs$p)))
    }
    x <- urand3(c(5, 4, 5, 2, 1))
    pcases <- list(
      list(kernel = c(2, 2, 2), stride = c(2, 2, 2)),
      list(kernel = c(3, 2, 3), stride = c(2, 1, 2), pad = c(1, 1, 1)),
      list(kernel = c(2, 3, 2), stride = c(2, 2, 2), pooling_convention = "full"),
      list(global_pool = TRUE))
    for (cs in pcases) for (type in c("max", "avg", "sum"))
      check_grad("Pooling", list(x), c(cs, pool_type = type), label = paste("3-D", type, deparse(cs)))
    check_grad("Pooling", list(x), list(kernel = c(3, 3, 3), pad = c(1, 1, 1), pool_type = "avg",
                                        count_include_pad = FALSE), label = "3-D avg no pad count")
  })
})

test_that("float32 3-D gradients (oneDNN where available) agree with the float64 built-in ones", {
  set.seed(115)
  cases <- list(
    list(op = "Convolution", ref = "_Convolution_builtin", x = c(9, 8, 7, 16, 2), w = c(3, 3, 3, 16, 16),
         p = list(kernel = c(3, 3, 3), num_filter = 16, pad = c(1, 1, 1)), b = 16),
    list(op = "Convolution", ref = "_Convolution_builtin", x = c(7, 6, 5, 3, 3), w = c(3, 3, 3, 3, 8),
         p = list(kernel = c(3, 3, 3), num_filter = 8, stride = c(2, 2, 2), pad = c(1, 0, 1)), b = 8),
    list(op = "Convolution", ref = "_Convolution_builtin", x = c(6, 6, 5, 4, 2), w = c(3, 3, 3, 2, 4),
         p = list(kernel = c(3, 3, 3), num_filter = 4, num_group = 2, dilate = c(1, 2, 1)), b = 4),
    list(op = "Deconvolution", ref = "_Deconvolution_builtin", x = c(4, 3, 3, 4, 2), w = c(3, 3, 3, 2, 4),
         p = list(kernel = c(3, 3, 3), num_filter = 2, stride = c(2, 2, 2), pad = c(1, 1, 1),
                  adj = c(1, 0, 1), no_bias = FALSE), b = 2))
  for (cs in cases) check_f32_against_builtin(cs, ctx = mx.cpu())
})

test_that("3-D executors take their scratch from the planned workspace and match imperative calls", {
  set.seed(117)
  x <- urand3(c(7, 6, 5, 16, 2))
  data <- mx.symbol.Variable("data")
  for (op in c("Convolution", "_Convolution_builtin")) {
    conv <- mxnet:::mx.symbol.internal.create(op, list(data = data, kernel = c(3, 3, 3), pad = c(1, 1, 1),
                                                       num_filter = 16, name = "c"))
    net <- mx.symbol.Deconvolution(conv, kernel = c(2, 2, 2), stride = c(2, 2, 2), num_filter = 3, name = "d")
    ex <- mx.simple.bind(net, ctx = mx.cpu(), data = dim(x),
                         grad.req = c(data = "write", c_weight = "write", c_bias = "write", d_weight = "write"))
    expect_gt(mx.exec.memory(ex)[["workspace_bytes"]], 0)
    w <- urand3(c(3, 3, 3, 16, 16), -0.2, 0.2); b <- runif(16); dw <- urand3(c(2, 2, 2, 3, 16))
    mx.exec.update.arg.arrays(ex, list(data = nd3(x, "float32"), c_weight = nd3(w, "float32"),
                                       c_bias = nd3(b, "float32"), d_weight = nd3(dw, "float32")),
                              match.name = TRUE)
    before <- .Call(mxnet:::C_mx_r_scratch_fallbacks)
    mx.exec.forward(ex, is.train = TRUE)
    mx.exec.backward(ex, list(nd3(array(1, dim(ex$ref.outputs[[1]])), "float32")))
    expect_identical(.Call(mxnet:::C_mx_r_scratch_fallbacks)[["calls"]], before[["calls"]])
    ref <- r_deconv3(r_conv3(x, w, b, pad = 1), dw, stride = 2)
    expect_nd_equal(ex$ref.outputs[[1]], ref, tolerance = 1e-4)
    # the gradients of sum(output) against imperative backward calls, layer by layer
    cp <- list(kernel = c(3, 3, 3), pad = c(1, 1, 1), num_filter = 16)
    dp <- list(kernel = c(2, 2, 2), stride = c(2, 2, 2), num_filter = 3)
    f32 <- function(a) nd3(a, "float32")
    yc <- mxnet:::nd.invoke(op, list(f32(x), f32(w), f32(b)), cp)
    og <- f32(array(1, dim(ref)))
    g1 <- mxnet:::nd.forward.backward("Deconvolution", list(yc, f32(dw)), dp, list(og))$grads
    g0 <- mxnet:::nd.forward.backward(op, list(f32(x), f32(w), f32(b)), cp, list(g1[[1]]))$grads
    expect_nd_equal(ex$ref.grad.arrays$d_weight, as.array(g1[[2]]), tolerance = 1e-4)
    expect_nd_equal(ex$ref.grad.arrays$data, as.array(g0[[1]]), tolerance = 1e-4)
    expect_nd_equal(ex$ref.grad.arrays$c_weight, as.array(g0[[2]]), tolerance = 1e-4)
    expect_nd_equal(ex$ref.grad.arrays$c_bias, as.array(g0[[3]]), tolerance = 1e-4)
  }
})

test_that("a small 3-D network (Conv3D + Pool3D + FC + SoftmaxOutput) trains and its loss falls", {
  # two classes of 8x8x8 volumes: a bright blob in the front or the back half
  set.seed(116)
  n <- 64
  y <- rep(0:1, n / 2)
  X <- array(rnorm(8 * 8 * 8 * n, sd = 0.3), c(8, 8, 8, 1, n))
  for (i in seq_len(n)) {
    z <- if (y[i] == 0) 2:3 else 6:7
    X[3:6, 3:6, z, 1, i] <- X[3:6, 3:6, z, 1, i] + 1
  }
  data <- mx.symbol.Variable("data")
  net <- mx.symbol.Convolution(data, kernel = c(3, 3, 3), pad = c(1, 1, 1), num_filter = 4, name = "conv")
  net <- mx.symbol.Activation(net, act_type = "relu")
  net <- mx.symbol.Pooling(net, kernel = c(2, 2, 2), stride = c(2, 2, 2), pool_type = "max")
  net <- mx.symbol.FullyConnected(mx.symbol.Flatten(net), num_hidden = 2, name = "fc")
  net <- mx.symbol.SoftmaxOutput(net, name = "softmax")
  mx.set.seed(3)
  m <- mx.model.FeedForward.create(net, X = X, y = y, ctx = mx.cpu(), num.round = 6,
                                   array.batch.size = 16, learning.rate = 0.05, momentum = 0.9,
                                   eval.metric = mx.metric.logloss, verbose = FALSE)
  loss <- m$history$train
  expect_length(loss, 6L)
  expect_lt(loss[6], 0.5 * loss[1])
  p <- predict(m, X, ctx = mx.cpu())
  expect_identical(dim(p), c(2L, as.integer(n)))
  expect_gt(mean(max.col(t(p)) - 1 == y), 0.9)
})
