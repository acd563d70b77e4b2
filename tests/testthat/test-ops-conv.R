# Convolution, Deconvolution and Pooling against loop-based R references.
#
# R order throughout: 2-D data c(W, H, C, N), 1-D data c(W, C, N);
# convolution weight c(kw, kh, C / groups, F) (1-D: c(kw, C / groups, F));
# deconvolution weight c(kw, kh, F / groups, C); spatial params c(w, h).

as4 <- function(x) if (length(dim(x)) == 3L) array(x, c(dim(x)[1], 1, dim(x)[2:3])) else x
sp2 <- function(v, one, h) { v <- rep_len(v, 2L); if (one) v[2] <- h; v }

r_conv <- function(x, w, b = NULL, stride = 1, pad = 0, dilate = 1, groups = 1) {
  one <- length(dim(x)) == 3L
  s <- sp2(stride, one, 1); p <- sp2(pad, one, 0); d <- sp2(dilate, one, 1)
  x <- as4(x); w <- as4(w)
  W <- dim(x)[1]; H <- dim(x)[2]; C <- dim(x)[3]; N <- dim(x)[4]
  kw <- dim(w)[1]; kh <- dim(w)[2]; Cg <- dim(w)[3]; F <- dim(w)[4]
  Wo <- (W + 2 * p[1] - d[1] * (kw - 1) - 1) %/% s[1] + 1
  Ho <- (H + 2 * p[2] - d[2] * (kh - 1) - 1) %/% s[2] + 1
  xp <- array(0, c(W + 2 * p[1], H + 2 * p[2], C, N))
  xp[p[1] + seq_len(W), p[2] + seq_len(H), , ] <- x
  out <- array(0, c(Wo, Ho, F, N))
  Fg <- F / groups
  for (n in seq_len(N)) for (f in seq_len(F)) {
    g <- (f - 1) %/% Fg
    acc <- matrix(0, Wo, Ho)
    for (ci in seq_len(Cg)) for (i in seq_len(kh)) for (j in seq_len(kw)) {
      iw <- (seq_len(Wo) - 1) * s[1] + (j - 1) * d[1] + 1
      ih <- (seq_len(Ho) - 1) * s[2] + (i - 1) * d[2] + 1
      acc <- acc + w[j, i, ci, f] * xp[iw, ih, g * Cg + ci, n, drop = FALSE][, , 1, 1]
    }
    out[, , f, n] <- acc + if (is.null(b)) 0 else b[f]
  }
  if (one) array(out, c(Wo, F, N)) else out
}

r_deconv <- function(x, w, b = NULL, stride = 1, pad = 0, dilate = 1, adj = 0, groups = 1) {
  one <- length(dim(x)) == 3L
  s <- sp2(stride, one, 1); p <- sp2(pad, one, 0); d <- sp2(dilate, one, 1); a <- sp2(adj, one, 0)
  x <- as4(x); w <- as4(w)
  W <- dim(x)[1]; H <- dim(x)[2]; C <- dim(x)[3]; N <- dim(x)[4]
  kw <- dim(w)[1]; kh <- dim(w)[2]; Fg <- dim(w)[3]; F <- Fg * groups
  Wf <- (W - 1) * s[1] + d[1] * (kw - 1) + 1 + a[1]
  Hf <- (H - 1) * s[2] + d[2] * (kh - 1) + 1 + a[2]
  full <- array(0, c(Wf, Hf, F, N))
  Cg <- C / groups
  for (n in seq_len(N)) for (cc in seq_len(C)) {
    g <- (cc - 1) %/% Cg
    for (fl in seq_len(Fg)) for (i in seq_len(kh)) for (j in seq_len(kw)) {
      ow <- (seq_len(W) - 1) * s[1] + (j - 1) * d[1] + 1
      oh <- (seq_len(H) - 1) * s[2] + (i - 1) * d[2] + 1
      f <- g * Fg + fl
      full[ow, oh, f, n] <- full[ow, oh, f, n] + w[j, i, fl, cc] * x[, , cc, n]
    }
  }
  Wo <- Wf - 2 * p[1]; Ho <- Hf - 2 * p[2]
  out <- full[p[1] + seq_len(Wo), p[2] + seq_len(Ho), , , drop = FALSE]
  if (!is.null(b)) for (f in seq_len(F)) out[, , f, ] <- out[, , f, ] + b[f]
  if (one) array(out, c(Wo, F, N)) else out
}

r_pool <- function(x, kernel = 1, stride = 1, pad = 0, type = "max", convention = "valid",
                   global = FALSE, cip = TRUE, pv = 2) {
  one <- length(dim(x)) == 3L
  x <- as4(x)
  W <- dim(x)[1]; H <- dim(x)[2]; C <- dim(x)[3]; N <- dim(x)[4]
  inn <- c(W, H)
  if (global) {
    k <- inn; s <- c(1, 1); p <- c(0, 0)
  } else {
    k <- sp2(kernel, one, 1); s <- sp2(stride, one, 1); p <- sp2(pad, one, 0)
  }
  o <- pe <- c(0, 0)
  for (a in 1:2) {
    if (global) { o[a] <- 1; pe[a] <- 0; next }
    if (convention == "same") {
      o[a] <- ceiling(inn[a] / s[a])
      tot <- max(0, (o[a] - 1) * s[a] + k[a] - inn[a])
      p[a] <- tot %/% 2; pe[a] <- tot - p[a]
      next
    }
    span <- inn[a] + 2 * p[a]
    o[a] <- if (convention == "full") ceiling((span - k[a]) / s[a]) + 1 else (span - k[a]) %/% s[a] + 1
    pe[a] <- p[a]
  }
  out <- array(0, c(o[1], o[2], C, N))
  for (n in seq_len(N)) for (cc in seq_len(C)) for (oh in seq_len(o[2])) for (ow in seq_len(o[1])) {
    w0 <- (ow - 1) * s[1] - p[1]; h0 <- (oh - 1) * s[2] - p[2]
    w1 <- min(w0 + k[1], W + pe[1]); h1 <- min(h0 + k[2], H + pe[2])
    area <- (w1 - w0) * (h1 - h0)
    w0 <- max(w0, 0); h0 <- max(h0, 0); w1 <- min(w1, W); h1 <- min(h1, H)
    if (!cip) area <- (w1 - w0) * (h1 - h0)
    v <- if (w1 > w0 && h1 > h0) x[(w0 + 1):w1, (h0 + 1):h1, cc, n] else numeric(0)
    out[ow, oh, cc, n] <- switch(type, max = max(v), avg = sum(v) / area, sum = sum(v),
                                 lp = sum(v^pv)^(1 / pv))
  }
  if (one) array(out, c(o[1], C, N)) else out
}

nd <- function(x, dtype) mx.nd.array(x, dtype = dtype)
conv_tol <- function(dtype) if (dtype == "float64") 1e-10 else 1e-4
CONV_OPS <- c("Convolution", "_Convolution_builtin")
DECONV_OPS <- c("Deconvolution", "_Deconvolution_builtin")

# MXNET_CONV_WINOGRAD for the rest of the calling function (the
# convolution cache keys on it).
with_winograd <- function(on, env = parent.frame())
  with_env_var("MXNET_CONV_WINOGRAD", if (on) "1" else "0", env)

test_that("Convolution matches the R reference (2-D, 1-D, stride, pad, dilate, groups)", {
  set.seed(21)
  cases <- list(
    list(x = c(7, 6, 4, 2), k = c(3, 2), F = 6, stride = c(2, 1), pad = c(1, 0), dilate = 1, g = 1),
    list(x = c(8, 7, 4, 3), k = c(3, 3), F = 4, stride = 1, pad = c(2, 1), dilate = c(2, 1), g = 2),
    list(x = c(5, 5, 1, 2), k = c(5, 5), F = 3, stride = 1, pad = 0, dilate = 1, g = 1),
    list(x = c(9, 6, 6, 2), k = c(2, 3), F = 6, stride = c(3, 2), pad = c(1, 1), dilate = c(1, 2), g = 3),
    list(x = c(11, 4, 2), k = 3, F = 5, stride = 2, pad = 1, dilate = 2, g = 1),
    list(x = c(10, 4, 3), k = 4, F = 2, stride = 1, pad = 0, dilate = 1, g = 2))
  for (cs in cases) for (no_bias in c(FALSE, TRUE)) {
    x <- array(runif(prod(cs$x), -1, 1), cs$x)
    nd1 <- length(cs$x) == 3L
    C <- cs$x[length(cs$x) - 1]
    wdim <- if (nd1) c(cs$k, C / cs$g, cs$F) else c(cs$k, C / cs$g, cs$F)
    w <- array(runif(prod(wdim), -1, 1), wdim)
    b <- runif(cs$F, -1, 1)
    ref <- r_conv(x, w, if (no_bias) NULL else b, cs$stride, cs$pad, cs$dilate, cs$g)
    prm <- list(kernel = cs$k, num_filter = cs$F, stride = cs$stride, pad = cs$pad,
                dilate = cs$dilate, num_group = cs$g, no_bias = no_bias)
    for (dt in c("float32", "float64")) for (op in CONV_OPS) {
      ins <- list(nd(x, dt), nd(w, dt))
      if (!no_bias) ins[[3]] <- nd(b, dt)
      # float32 with oneDNN: the fixed choice, then (tuning) the blocked
      # layout, the plain layout and the built-in path in turn
      for (rep in if (dt == "float32" && op == "Convolution") 1:4 else 1) {
        y <- mxnet:::nd.invoke(op, ins, if (rep > 1) c(prm, cudnn_tune = "fastest") else prm)
        expect_equal(mx.nd.dtype(y), dt)
        expect_nd_equal(y, ref, tolerance = conv_tol(dt))
      }
    }
  }
})

test_that("oneDNN and built-in convolution agree on LeNet-like shapes (float32), repeated calls", {
  set.seed(22)
  x <- array(runif(12 * 12 * 20 * 8, -1, 1), c(12, 12, 20, 8))
  w <- array(runif(5 * 5 * 20 * 50, -0.1, 0.1), c(5, 5, 20, 50))
  b <- runif(50)
  prm <- list(kernel = c(5, 5), num_filter = 50)
  ref <- as.array(mxnet:::nd.invoke("_Convolution_builtin", list(nd(x, "float64"), nd(w, "float64"), nd(b, "float64")), prm))
  # repeated calls reuse cached primitives; with tuning the first six time
  # the three implementations (blocked and plain oneDNN layouts, built-in)
  # in turn, then the fastest runs
  for (rep in 1:8) {
    a <- mxnet:::nd.invoke("Convolution", list(nd(x, "float32"), nd(w, "float32"), nd(b, "float32")),
                           c(prm, cudnn_tune = "limited_workspace"))
    expect_nd_equal(a, ref, tolerance = 1e-4)
  }
  for (tune in c("off", "fastest")) for (rep in 1:2) {
    a <- mxnet:::nd.invoke("Convolution", list(nd(x, "float32"), nd(w, "float32"), nd(b, "float32")),
                           c(prm, cudnn_tune = tune))
    expect_nd_equal(a, ref, tolerance = 1e-4)
  }
  bi <- mxnet:::nd.invoke("_Convolution_builtin", list(nd(x, "float32"), nd(w, "float32"), nd(b, "float32")), prm)
  expect_nd_equal(bi, ref, tolerance = 1e-4)
  # a different batch size after the cached one
  x2 <- x[, , , 1:3, drop = FALSE]
  a2 <- mxnet:::nd.invoke("Convolution", list(nd(x2, "float32"), nd(w, "float32"), nd(b, "float32")), prm)
  expect_nd_equal(a2, ref[, , , 1:3, drop = FALSE], tolerance = 1e-4)
  # the generated wrapper, threads 1 and 2
  for (th in 1:2) {
    old <- options(mxnet.threads = th)
    y <- mx.nd.Convolution(nd(x, "float32"), nd(w, "float32"), nd(b, "float32"), kernel = c(5, 5), num_filter = 50)
    options(old)
    expect_nd_equal(y, ref, tolerance = 1e-4)
  }
})

test_that("Convolution in float16 goes through float32", {
  set.seed(23)
  x <- array(runif(6 * 5 * 2 * 2, -1, 1), c(6, 5, 2, 2))
  w <- array(runif(3 * 3 * 2 * 3, -1, 1), c(3, 3, 2, 3))
  b <- runif(3)
  y <- mxnet:::nd.invoke("Convolution", list(nd(x, "float16"), nd(w, "float16"), nd(b, "float16")),
                         list(kernel = c(3, 3), num_filter = 3, pad = c(1, 1)))
  expect_equal(mx.nd.dtype(y), "float16")
  ref <- r_conv(in_dtype(x, "float16"), in_dtype(w, "float16"), in_dtype(b, "float16"), pad = 1)
  expect_nd_equal(y, ref, tolerance = 1e-2)
})

test_that("Deconvolution matches the R reference", {
  set.seed(24)
  cases <- list(
    list(x = c(4, 3, 3, 2), k = c(3, 2), F = 4, stride = c(2, 1), pad = c(1, 0), dilate = 1, adj = c(1, 0), g = 1),
    list(x = c(5, 4, 4, 2), k = c(2, 3), F = 6, stride = c(2, 3), pad = c(0, 1), dilate = c(2, 1), adj = 0, g = 2),
    list(x = c(3, 3, 2, 1), k = c(3, 3), F = 2, stride = 1, pad = 0, dilate = 1, adj = 0, g = 1),
    list(x = c(6, 3, 2), k = 3, F = 4, stride = 3, pad = 1, dilate = 1, adj = 2, g = 1),
    list(x = c(5, 4, 2), k = 2, F = 2, stride = 1, pad = 0, dilate = 3, adj = 0, g = 2))
  for (cs in cases) for (no_bias in c(TRUE, FALSE)) {
    x <- array(runif(prod(cs$x), -1, 1), cs$x)
    nd1 <- length(cs$x) == 3L
    C <- cs$x[length(cs$x) - 1]
    wdim <- c(cs$k, cs$F / cs$g, C)
    w <- array(runif(prod(wdim), -1, 1), wdim)
    b <- runif(cs$F, -1, 1)
    ref <- r_deconv(x, w, if (no_bias) NULL else b, cs$stride, cs$pad, cs$dilate, cs$adj, cs$g)
    prm <- list(kernel = cs$k, num_filter = cs$F, stride = cs$stride, pad = cs$pad,
                dilate = cs$dilate, adj = cs$adj, num_group = cs$g, no_bias = no_bias)
    for (dt in c("float32", "float64")) for (op in DECONV_OPS) {
      ins <- list(nd(x, dt), nd(w, dt))
      if (!no_bias) ins[[3]] <- nd(b, dt)
      for (rep in if (dt == "float32" && op == "Deconvolution") 1:4 else 1) {
        y <- mxnet:::nd.invoke(op, ins, if (rep > 1) c(prm, cudnn_tune = "fastest") else prm)
        expect_nd_equal(y, ref, tolerance = conv_tol(dt))
      }
    }
  }
})

test_that("Deconvolution: no_bias defaults to TRUE and target_shape sets pad and adj", {
  set.seed(25)
  x <- array(runif(4 * 4 * 3 * 2, -1, 1), c(4, 4, 3, 2))
  w <- array(runif(3 * 3 * 2 * 3, -1, 1), c(3, 3, 2, 3))
  y <- mxnet:::nd.invoke("Deconvolution", list(nd(x, "float64"), nd(w, "float64")),
                         list(kernel = c(3, 3), num_filter = 2, stride = c(2, 2)))
  expect_nd_equal(y, r_deconv(x, w, stride = 2))
  # target 8 x 7: full size 9, so pad (1 + 1) %/% 2 = 1 and adj 1 %% 2 = 1 (width),
  # pad 1 and adj 0 (height)
  for (op in DECONV_OPS) {
    y <- mxnet:::nd.invoke(op, list(nd(x, "float64"), nd(w, "float64")),
                           list(kernel = c(3, 3), num_filter = 2, stride = c(2, 2),
                                target_shape = c(8, 7), pad = c(5, 5)))
    expect_equal(dim(y), c(8, 7, 2, 2))
    expect_nd_equal(y, r_deconv(x, w, stride = 2, pad = c(1, 1), adj = c(1, 0)))
  }
  expect_error(mxnet:::nd.invoke("Deconvolution", list(nd(x, "float64"), nd(w, "float64")),
                                 list(kernel = c(3, 3), num_filter = 2, target_shape = c(20, 20))),
               "target_shape")
})

test_that("Pooling matches the R reference (types, conventions, padding, global, 1-D)", {
  set.seed(26)
  x <- array(runif(7 * 6 * 3 * 2, -1, 1), c(7, 6, 3, 2))
  x1 <- array(runif(9 * 3 * 2, -1, 1), c(9, 3, 2))
  cases <- list(
    list(k = c(2, 2), s = c(2, 2), p = 0, conv = "valid"),
    list(k = c(3, 2), s = c(2, 1), p = c(1, 1), conv = "valid"),
    list(k = c(3, 3), s = c(2, 2), p = c(1, 0), conv = "full"),
    list(k = c(2, 3), s = c(2, 2), p = 0, conv = "same"),
    list(k = c(3, 3), s = c(1, 1), p = c(1, 1), conv = "valid"))
  for (dt in c("float32", "float64")) {
    tol <- if (dt == "float64") 1e-12 else 1e-5
    for (cs in cases) for (type in c("max", "avg", "sum")) for (cip in c(TRUE, FALSE)) {
      if (!cip && type != "avg") next
      prm <- list(kernel = cs$k, stride = cs$s, pad = cs$p, pool_type = type,
                  pooling_convention = cs$conv)
      if (!cip) prm$count_include_pad <- FALSE
      y <- mxnet:::nd.invoke("Pooling", list(nd(x, dt)), prm)
      expect_nd_equal(y, r_pool(x, cs$k, cs$s, cs$p, type, cs$conv, cip = cip), tolerance = tol)
    }
    # lp pooling on positive data
    xp <- abs(x) + 0.1
    for (pv in 1:3) {
      y <- mxnet:::nd.invoke("Pooling", list(nd(xp, dt)),
                             list(kernel = c(2, 3), stride = c(1, 2), pool_type = "lp", p_value = pv))
      expect_nd_equal(y, r_pool(xp, c(2, 3), c(1, 2), 0, "lp", pv = pv), tolerance = tol)
    }
    # global pooling ignores kernel, stride and pad
    for (type in c("max", "avg", "sum")) {
      y <- mxnet:::nd.invoke("Pooling", list(nd(x, dt)), list(global_pool = TRUE, pool_type = type))
      expect_nd_equal(y, r_pool(x, type = type, global = TRUE), tolerance = tol)
      y <- mxnet:::nd.invoke("Pooling", list(nd(x, dt)),
                             list(global_pool = TRUE, pool_type = type, kernel = c(2, 2), pad = c(1, 1)))
      expect_equal(dim(y), c(1, 1, 3, 2))
      y1 <- mxnet:::nd.invoke("Pooling", list(nd(x1, dt)), list(global_pool = TRUE, pool_type = type))
      expect_nd_equal(y1, r_pool(x1, type = type, global = TRUE), tolerance = tol)
    }
    # 1-D
    for (type in c("max", "avg", "sum")) for (conv in c("valid", "full")) {
      y <- mxnet:::nd.invoke("Pooling", list(nd(x1, dt)),
                             list(kernel = 3, stride = 2, pad = 1, pool_type = type,
                                  pooling_convention = conv))
      expect_nd_equal(y, r_pool(x1, 3, 2, 1, type, conv), tolerance = tol)
    }
  }
  # the generated wrapper; LeNet shape
  xl <- array(runif(24 * 24 * 4 * 3), c(24, 24, 4, 3))
  y <- mx.nd.Pooling(nd(xl, "float32"), kernel = c(2, 2), stride = c(2, 2), pool_type = "max")
  expect_nd_equal(y, r_pool(in_dtype(xl, "float32"), c(2, 2), c(2, 2), 0, "max"))
})

test_that("max pooling ignores padded cells and ties go to the first maximum", {
  x <- array(-(1:16), c(4, 4, 1, 1))     # all negative: padding zeros must not win
  y <- mxnet:::nd.invoke("Pooling", list(nd(x, "float64")), list(kernel = c(3, 3), pad = c(1, 1)))
  expect_nd_equal(y, r_pool(x, c(3, 3), 1, c(1, 1), "max"))
  expect_true(all(as.array(y) < 0))
  xt <- array(1, c(4, 4, 1, 1))
  for (k in list(c(2, 2), c(3, 3))) {
    r <- mxnet:::nd.forward.backward("Pooling", list(nd(xt, "float64")),
                                     list(kernel = k, stride = c(2, 2), pooling_convention = "full"),
                                     list(mx.nd.array(array(1, if (k[1] == 2) c(2, 2, 1, 1) else c(2, 2, 1, 1)), dtype = "float64")))
    g <- as.array(r$grads[[1]])
    # windows start at (1, 1), (3, 1), (1, 3), (3, 3) (R order): each sends 1 to its start
    expect_equal(g[, , 1, 1], matrix(c(1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0), 4, 4))
  }
})

test_that("shape inference fills weight and bias from the data and checks given ones", {
  data <- mx.symbol.Variable("data")
  net <- mx.symbol.Convolution(data, kernel = c(5, 5), num_filter = 20, name = "conv")
  s <- mx.symbol.infer.shape(net, data = c(28, 28, 1, 128))
  expect_equal(s$arg.shapes$conv_weight, c(5, 5, 1, 20))
  expect_equal(s$arg.shapes$conv_bias, 20)
  expect_equal(s$out.shapes[[1]], c(24, 24, 20, 128))
  net <- mx.symbol.Convolution(data, kernel = c(3, 2), num_filter = 6, num_group = 2,
                               stride = c(2, 1), pad = c(1, 1), no_bias = TRUE, name = "c1")
  expect_equal(arguments(net), c("data", "c1_weight"))
  s <- mx.symbol.infer.shape(net, data = c(9, 8, 4, 2))
  expect_equal(s$arg.shapes$c1_weight, c(3, 2, 2, 6))
  expect_equal(s$out.shapes[[1]], c(5, 9, 6, 2))
  net <- mx.symbol.Convolution(data, kernel = 3, num_filter = 4, name = "c1d")
  s <- mx.symbol.infer.shape(net, data = c(10, 3, 2))
  expect_equal(s$arg.shapes$c1d_weight, c(3, 3, 4))
  expect_equal(s$out.shapes[[1]], c(8, 4, 2))
  net <- mx.symbol.Deconvolution(data, kernel = c(4, 4), stride = c(2, 2), pad = c(1, 1),
                                 num_filter = 3, name = "dc")
  expect_equal(arguments(net), c("data", "dc_weight"))
  s <- mx.symbol.infer.shape(net, data = c(5, 6, 8, 2))
  expect_equal(s$arg.shapes$dc_weight, c(4, 4, 3, 8))
  expect_equal(s$out.shapes[[1]], c(10, 12, 3, 2))
  net <- mx.symbol.Deconvolution(data, kernel = c(3, 3), num_filter = 3, no_bias = FALSE, name = "dc")
  s <- mx.symbol.infer.shape(net, data = c(5, 6, 8, 2))
  expect_equal(s$arg.shapes$dc_bias, 3)
  net <- mx.symbol.Pooling(data, kernel = c(2, 2), stride = c(2, 2), pool_type = "max")
  expect_equal(mx.symbol.infer.shape(net, data = c(24, 24, 20, 128))$out.shapes[[1]], c(12, 12, 20, 128))
  net <- mx.symbol.Pooling(data, kernel = c(3, 3), stride = c(2, 2), pooling_convention = "full")
  expect_equal(mx.symbol.infer.shape(net, data = c(8, 7, 2, 1))$out.shapes[[1]], c(4, 3, 2, 1))
  # given shapes are checked, naming the input (R order)
  x <- mx.nd.array(array(0, c(6, 6, 2, 1)))
  expect_error(mxnet:::nd.invoke("Convolution", list(x, mx.nd.array(array(0, c(3, 3, 1, 4))), mx.nd.array(1:4)),
                                 list(kernel = c(3, 3), num_filter = 4)),
               "weight has shape c\\(3, 3, 1, 4\\), expected c\\(3, 3, 2, 4\\)")
  expect_error(mxnet:::nd.invoke("Convolution", list(x, mx.nd.array(array(0, c(3, 3, 2, 4))), mx.nd.array(1:3)),
                                 list(kernel = c(3, 3), num_filter = 4)),
               "bias has shape c\\(3\\), expected c\\(4\\)")
})

test_that("parameter and layout errors name the parameter", {
  x <- mx.nd.array(array(0, c(6, 6, 4, 1)))
  w <- mx.nd.array(array(0, c(3, 3, 4, 2)))
  b <- mx.nd.array(c(0, 0))
  conv <- function(...) mxnet:::nd.invoke("Convolution", list(x, w, b), list(...))
  expect_error(conv(kernel = c(3, 3), num_filter = 2, stride = c(1, 1, 1)), "'stride'")
  expect_error(conv(kernel = c(3, 3), num_filter = 2, stride = c(0, 1)), "'stride'")
  expect_error(conv(kernel = c(3, 3), num_filter = 2, pad = c(-1, 0)), "'pad'")
  expect_error(conv(kernel = c(3, 3), num_filter = 2, dilate = c(1, 2, 3)), "'dilate'")
  expect_error(conv(kernel = c(3, 3, 3), num_filter = 2), "5 dimensions for a 3-D convolution")
  expect_error(conv(kernel = c(9, 9), num_filter = 2), "'kernel'")
  expect_error(conv(kernel = c(3, 3), num_filter = 2, num_group = 3), "'num_group'")
  expect_error(conv(kernel = c(3, 3), num_filter = 0), "'num_filter'")
  expect_error(conv(kernel = c(3, 3)), "num_filter")
  expect_error(conv(kernel = c(3, 3), num_filter = 2, layout = "NHWC"), "'layout' NHWC is not supported")
  expect_error(conv(kernel = c(3, 3), num_filter = 2, layout = "NCW"), "'layout'")
  expect_error(conv(kernel = c(3, 3), num_filter = 2, cudnn_tune = "bogus"), "'cudnn_tune'")
  expect_silent(conv(kernel = c(3, 3), num_filter = 2, layout = "NCHW", cudnn_tune = "fastest",
                     workspace = 512, cudnn_off = TRUE))
  expect_error(mxnet:::nd.invoke("Convolution", list(mx.nd.array(array(0, c(6, 4, 1))), w, b),
                                 list(kernel = c(3, 3), num_filter = 2)), "dimensions")
  xi <- mx.nd.array(array(0, c(6, 6, 4, 1)), dtype = "int32")
  expect_error(mxnet:::nd.invoke("Convolution", list(xi, mx.nd.array(array(0, c(3, 3, 4, 2)), dtype = "int32"),
                                                     mx.nd.array(c(0, 0), dtype = "int32")),
                                 list(kernel = c(3, 3), num_filter = 2)), "floating-point")
  dx <- mx.nd.array(array(0, c(4, 4, 2, 1)))
  dw <- mx.nd.array(array(0, c(3, 3, 2, 2)))
  expect_error(mxnet:::nd.invoke("Deconvolution", list(dx, dw), list(kernel = c(3, 3), num_filter = 4, num_group = 3)),
               "'num_group'")
  expect_error(mxnet:::nd.invoke("Deconvolution", list(dx, dw), list(kernel = c(3, 3), num_filter = 2, adj = c(1, 1, 1))),
               "'adj'")
  expect_error(mxnet:::nd.invoke("Deconvolution", list(dx, dw), list(kernel = c(3, 3), num_filter = 2, pad = c(5, 5))),
               "'pad'")
  expect_error(mxnet:::nd.invoke("Deconvolution", list(dx, dw), list(kernel = c(3, 3), num_filter = 2, layout = "NDHWC")),
               "'layout'")
  pool <- function(...) mxnet:::nd.invoke("Pooling", list(x), list(...))
  expect_error(pool(pool_type = "max"), "'kernel'")
  expect_error(pool(kernel = c(2, 2), pool_type = "lp"), "'p_value'")
  expect_error(pool(kernel = c(2, 2), pool_type = "lp", p_value = 4), "'p_value'")
  expect_error(pool(kernel = c(2, 2), pool_type = "median"), "'pool_type'")
  expect_error(pool(kernel = c(2, 2), stride = c(1, 1, 1)), "'stride'")
  expect_error(pool(kernel = c(7, 7)), "'kernel'")
  expect_error(pool(kernel = c(2, 2), layout = "NHWC"), "'layout' NHWC is not supported")
  expect_error(pool(kernel = c(2, 2, 2)), "5 dimensions for a 3-D pooling")
  expect_error(pool(kernel = c(2, 2), pooling_convention = "wide"), "'pooling_convention'")
  expect_error(pool(kernel = c(2, 2), pooling_convention = "same", pad = c(1, 1)), "'pad'")
})

test_that("Q8: a large imperative convolution runs its batch in chunks with the same values", {
  # about 1 GFLOP per image, 9 images: an imperative call splits the batch
  # (chunks of 4, 4 and 1, polling for Ctrl-C between them); an executor
  # keeps one primitive for the whole batch
  set.seed(8)
  x <- mx.nd.array(array(runif(119 * 119 * 64 * 9, -1, 1), c(119, 119, 64, 9)))
  w <- mx.nd.array(array(runif(3 * 3 * 64 * 64, -0.1, 0.1), c(3, 3, 64, 64)))
  b <- mx.nd.array(runif(64))
  y <- mx.nd.Convolution(x, w, b, kernel = c(3, 3), num_filter = 64)
  net <- mx.symbol.Convolution(mx.symbol.Variable("data"), kernel = c(3, 3), num_filter = 64, name = "c")
  ex <- mx.simple.bind(net, data = dim(x), grad.req = "null")
  mx.exec.update.arg.arrays(ex, list(data = x, c_weight = w, c_bias = b), match.name = TRUE)
  mx.exec.forward(ex, is.train = FALSE)
  expect_equal(dim(y), c(117L, 117L, 64L, 9L))
  expect_equal(as.array(y), as.array(ex$ref.outputs[[1]]), tolerance = 1e-5)
  # the last image (the chunk of one) against a call on that image alone
  y9 <- mx.nd.Convolution(x[, , , 9, drop = FALSE], w, b, kernel = c(3, 3), num_filter = 64)
  expect_equal(as.array(y)[, , , 9], as.array(y9)[, , , 1], tolerance = 1e-5)
})

test_that("an executor's convolution with large activations runs its batch in chunks of images", {
  # 3.5 MB of input and output per image: the forward runs 2 images at a
  # time, so its reorder buffers (the step's scratch) are a chunk's
  set.seed(31)
  dims <- c(96, 96, 32, 6)
  x <- array(runif(prod(dims), -1, 1), dims)
  w <- array(runif(3 * 3 * 32 * 64, -0.1, 0.1), c(3, 3, 32, 64))
  b <- runif(64)
  prm <- list(kernel = c(3, 3), num_filter = 64, pad = c(1, 1))
  ref <- as.array(mxnet:::nd.invoke("_Convolution_builtin", list(nd(x, "float64"), nd(w, "float64"),
                                                                  nd(b, "float64")), prm))
  net <- mx.symbol.Convolution(mx.symbol.Variable("data"), kernel = c(3, 3), num_filter = 64,
                               pad = c(1, 1), name = "c")
  run <- function(xs, is.train, wino = TRUE) {
    with_winograd(wino)
    ex <- mx.simple.bind(net, ctx = mx.cpu(), data = dim(xs), grad.req = if (is.train) "write" else "null")
    mx.exec.update.arg.arrays(ex, list(data = mx.nd.array(xs), c_weight = mx.nd.array(w),
                                       c_bias = mx.nd.array(b)), match.name = TRUE)
    mx.exec.forward(ex, is.train = is.train)
    list(y = as.array(ex$ref.outputs[[1]]), ws = mx.exec.memory(ex)[["workspace_bytes"]])
  }
  per.image <- (96 * 96 * (32 + 64)) * 4
  for (wino in c(FALSE, TRUE)) for (is.train in c(FALSE, TRUE)) {
    r <- run(x, is.train, wino)
    expect_equal(r$y, ref, tolerance = 1e-5)
    # not the batch's 6 images (Winograd adds its transformed tiles, 2.25
    # times a chunk's input and output)
    if (!is.train) expect_lt(r$ws, if (wino) 6 * per.image else 3 * per.image)
  }
  # each image alone gives the same values as its chunk
  for (i in c(1, 4, 6)) {
    one <- run(x[, , , i, drop = FALSE], FALSE)$y
    expect_equal(one[, , , 1], ref[, , , i], tolerance = 1e-5)
  }
})

test_that("3x3 convolutions of stride 1 run Winograd where the plan has room, with the direct values", {
  # 32 -> 48 channels, 32 x 32, batch 4: 256 output tiles of 4 x 4 and
  # 1.3 MB of input and output, so oneDNN's Winograd fits (wino_fits in
  # nn-conv.c).  An executor runs it where its larger scratch stays under
  # the plan's peak: here the 6x upsampling after the convolution makes the
  # peak.  Alone, the convolution is the peak, and the plan keeps the
  # direct one (bit-identical to MXNET_CONV_WINOGRAD=0, same plan); an
  # imperative call (no plan) runs Winograd.  Winograd and direct agree to
  # float32 rounding and differ in the last bits (another algorithm ran).
  set.seed(41)
  x <- array(runif(32 * 32 * 32 * 4, -1, 1), c(32, 32, 32, 4))
  w <- array(runif(3 * 3 * 32 * 48, -0.1, 0.1), c(3, 3, 32, 48))
  b <- runif(48)
  conv <- mx.symbol.Convolution(mx.symbol.Variable("data"), kernel = c(3, 3), num_filter = 48,
                                pad = c(1, 1), name = "c")
  nets <- list(alone = conv, tail = mx.symbol.UpSampling(conv, scale = 6, sample_type = "nearest",
                                                         num_args = 1))
  run <- function(wino, net) {
    with_winograd(wino)
    ex <- mx.simple.bind(net, ctx = mx.cpu(), data = dim(x),
                         grad.req = c(data = "write", c_weight = "write", c_bias = "write"))
    mx.exec.update.arg.arrays(ex, list(data = mx.nd.array(x), c_weight = mx.nd.array(w),
                                       c_bias = mx.nd.array(b)), match.name = TRUE)
    mx.exec.forward(ex, is.train = TRUE)
    set.seed(7)
    dy <- array(runif(prod(dim(ex$ref.outputs[[1]])), -1, 1), dim(ex$ref.outputs[[1]]))
    mx.exec.backward(ex, list(mx.nd.array(dy)))
    c(list(y = as.array(ex$ref.outputs[[1]]), planned = mx.exec.memory(ex)[["planned_bytes"]]),
      lapply(ex$ref.grad.arrays, as.array))
  }
  ref <- as.array(mxnet:::nd.invoke("_Convolution_builtin", list(nd(x, "float64"), nd(w, "float64"),
                                                                  nd(b, "float64")),
                                    list(kernel = c(3, 3), num_filter = 48, pad = c(1, 1))))
  grads <- c("y", "data", "c_weight", "c_bias")
  wi <- run(TRUE, nets$tail); di <- run(FALSE, nets$tail)
  expect_equal(wi$y[seq(1, 192, 6), seq(1, 192, 6), , ], ref, tolerance = 1e-5)
  for (k in grads) expect_equal(wi[[k]], di[[k]], tolerance = 1e-5)
  for (k in c("y", "data", "c_weight")) expect_gt(max(abs(wi[[k]] - di[[k]])), 0)
  expect_lte(wi$planned, 1.01 * di$planned)
  wa <- run(TRUE, nets$alone); da <- run(FALSE, nets$alone)
  expect_equal(da$y, ref, tolerance = 1e-5)
  for (k in grads) expect_identical(wa[[k]], da[[k]])
  expect_equal(wa$planned, da$planned)
  imp <- function(wino) {
    with_winograd(wino)
    as.array(mx.nd.Convolution(mx.nd.array(x), mx.nd.array(w), mx.nd.array(b), kernel = c(3, 3),
                               num_filter = 48, pad = c(1, 1)))
  }
  yi <- imp(TRUE)
  expect_equal(yi, ref, tolerance = 1e-5)
  expect_gt(max(abs(yi - imp(FALSE))), 0)
})

test_that("inference folding with Winograd convolutions gives the unfolded values", {
  set.seed(42)
  x <- array(runif(32 * 32 * 32 * 6, -1, 1), c(32, 32, 32, 6))
  # the upsampling makes the plan's peak, so the folded convolution runs
  # Winograd (it differs from the direct one in the last bits)
  net <- mx.symbol.UpSampling(mx.symbol.Activation(mx.symbol.BatchNorm(mx.symbol.Convolution(
    mx.symbol.Variable("data"), kernel = c(3, 3), num_filter = 32, pad = c(1, 1), no_bias = TRUE,
    name = "c"), fix_gamma = FALSE, name = "bn"), act_type = "relu"), scale = 6,
    sample_type = "nearest", num_args = 1)
  args <- list(data = mx.nd.array(x), c_weight = mx.nd.array(array(runif(9 * 32 * 32, -0.1, 0.1),
                                                                   c(3, 3, 32, 32))),
               bn_gamma = mx.nd.array(runif(32, 0.5, 1.5)), bn_beta = mx.nd.array(runif(32, -0.5, 0.5)))
  aux <- list(bn_moving_mean = mx.nd.array(runif(32, -0.2, 0.2)),
              bn_moving_var = mx.nd.array(runif(32, 0.5, 2)))
  run <- function(fold, wino = TRUE) {
    with_winograd(wino)
    old <- options(mxnet.inference.fold = fold)
    on.exit(options(old), add = TRUE)
    ex <- mx.simple.bind(net, ctx = mx.cpu(), data = dim(x), grad.req = "null")
    mx.exec.update.arg.arrays(ex, args, match.name = TRUE)
    mx.exec.update.aux.arrays(ex, aux, match.name = TRUE)
    mx.exec.forward(ex, is.train = FALSE)
    as.array(ex$ref.outputs[[1]])
  }
  folded <- run(TRUE)
  expect_equal(folded, run(FALSE), tolerance = 1e-5)
  expect_gt(max(abs(folded - run(TRUE, wino = FALSE))), 0)
})

test_that("an executor's convolution gradients match the R reference over steps (dy reordered once)", {
  # the data gradient's primitive reorders dy into the planned workspace and
  # the weight gradient's reads it there; a second step with another dy
  # must not see the first one's copy.  Direct (12 x 12) and Winograd
  # (32 x 32) layers, with bias.
  r_dw <- function(x, dy, pad) {
    xp <- array(0, dim(x) + c(2 * pad, 2 * pad, 0, 0))
    xp[pad + seq_len(dim(x)[1]), pad + seq_len(dim(x)[2]), , ] <- x
    W <- dim(dy)[1]; H <- dim(dy)[2]
    D <- matrix(aperm(dy, c(1, 2, 4, 3)), ncol = dim(dy)[3])
    out <- array(0, c(3, 3, dim(x)[3], dim(dy)[3]))
    for (i in 1:3) for (j in 1:3) {
      xs <- xp[j - 1 + seq_len(W), i - 1 + seq_len(H), , , drop = FALSE]
      out[j, i, , ] <- crossprod(matrix(aperm(xs, c(1, 2, 4, 3)), ncol = dim(x)[3]), D)
    }
    out
  }
  set.seed(43)
  for (side in c(12, 32)) {
    x <- array(runif(side * side * 32 * 4, -1, 1), c(side, side, 32, 4))
    w <- array(runif(3 * 3 * 32 * 48, -0.1, 0.1), c(3, 3, 32, 48))
    net <- mx.symbol.Convolution(mx.symbol.Variable("data"), kernel = c(3, 3), num_filter = 48,
                                 pad = c(1, 1), name = "c")
    ex <- mx.simple.bind(net, ctx = mx.cpu(), data = dim(x),
                         grad.req = c(data = "write", c_weight = "write", c_bias = "write"))
    mx.exec.update.arg.arrays(ex, list(data = mx.nd.array(x), c_weight = mx.nd.array(w),
                                       c_bias = mx.nd.array(runif(48))), match.name = TRUE)
    for (step in 1:2) {
      dy <- array(runif(side * side * 48 * 4, -1, 1), c(side, side, 48, 4))
      mx.exec.forward(ex, is.train = TRUE)
      mx.exec.backward(ex, list(mx.nd.array(dy)))
      expect_equal(as.array(ex$ref.grad.arrays$data), r_deconv(dy, w, pad = 1), tolerance = 1e-5)
      expect_equal(as.array(ex$ref.grad.arrays$c_weight), r_dw(x, dy, 1), tolerance = 1e-5)
      expect_equal(as.array(ex$ref.grad.arrays$c_bias), apply(dy, 3, sum), tolerance = 1e-5)
    }
  }
})

test_that("a Deconvolution whose convolution fits Winograd matches the reference", {
  # its forward is the data gradient of a 3x3 stride-1 convolution of 32 ->
  # 48 channels on 32 x 32 images: Winograd in an imperative call
  set.seed(44)
  x <- array(runif(32 * 32 * 48 * 4, -1, 1), c(32, 32, 48, 4))
  w <- array(runif(3 * 3 * 32 * 48, -0.1, 0.1), c(3, 3, 32, 48))
  prm <- list(kernel = c(3, 3), num_filter = 32, pad = c(1, 1))
  ref <- as.array(mxnet:::nd.invoke("_Deconvolution_builtin", list(nd(x, "float64"), nd(w, "float64")), prm))
  run <- function(wino) {
    with_winograd(wino)
    as.array(mxnet:::nd.invoke("Deconvolution", list(nd(x, "float32"), nd(w, "float32")), prm))
  }
  yw <- run(TRUE)
  expect_equal(yw, ref, tolerance = 1e-5)
  expect_equal(run(FALSE), ref, tolerance = 1e-5)
  expect_gt(max(abs(yw - run(FALSE))), 0)
})
