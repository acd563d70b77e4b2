# The fused RNN op (src/ops/rnn.c) against a plain-R reference, finite
# differences, and an unrolled graph of FullyConnected/Activation ops.
# Arrays are R order: data c(I, N, T) is the engine's (T, N, I).

# Unpack MXNet's flat parameter vector: list over layer/direction k = l*D + d
# of wx (in x GH: the transpose of the engine's (GH, in)), wh, bx, bh.
rnn_unpack <- function(w, mode, I, H, L, D) {
  G <- rnn_gates(mode); GH <- G * H
  out <- vector("list", L * D); pos <- 0
  take <- function(n) { v <- w[pos + seq_len(n)]; pos <<- pos + n; v }
  for (l in seq_len(L)) for (d in seq_len(D)) {
    inl <- if (l == 1) I else D * H
    out[[(l - 1) * D + d]] <- list(wx = matrix(take(inl * GH), inl, GH), wh = matrix(take(H * GH), H, GH))
  }
  for (k in seq_len(L * D)) { out[[k]]$bx <- take(GH); out[[k]]$bh <- take(GH) }
  out
}

sigm <- function(x) 1 / (1 + exp(-x))

# One direction of one layer: X list over time of (N x in); returns list(h, hT, cT).
rnn_ref_dir <- function(X, p, h, cc, mode, H, rev) {
  Tn <- length(X); out <- vector("list", Tn)
  cols <- function(a, k) a[, (k - 1) * H + seq_len(H), drop = FALSE]
  times <- if (rev) rev(seq_len(Tn)) else seq_len(Tn)
  for (t in times) {
    gx <- sweep(X[[t]] %*% p$wx, 2, p$bx, "+")
    gh <- sweep(h %*% p$wh, 2, p$bh, "+")
    if (mode == "lstm") {
      a <- gx + gh
      i <- sigm(cols(a, 1)); f <- sigm(cols(a, 2)); g <- tanh(cols(a, 3)); o <- sigm(cols(a, 4))
      cc <- f * cc + i * g; h <- o * tanh(cc)
    } else if (mode == "gru") {
      r <- sigm(cols(gx, 1) + cols(gh, 1)); z <- sigm(cols(gx, 2) + cols(gh, 2))
      n <- tanh(cols(gx, 3) + r * cols(gh, 3))
      h <- (1 - z) * n + z * h
    } else {
      a <- gx + gh
      h <- if (mode == "rnn_tanh") tanh(a) else pmax(a, 0)
    }
    out[[t]] <- h
  }
  list(h = out, hT = h, cT = cc)
}

# The whole op: x R c(I, N, T), hx/cx R c(H, N, L*D); returns out c(D*H, N, T), hy, cy.
rnn_ref <- function(x, w, hx, cx, mode, H, L, D) {
  I <- dim(x)[1]; N <- dim(x)[2]; Tn <- dim(x)[3]
  P <- rnn_unpack(w, mode, I, H, L, D)
  X <- lapply(seq_len(Tn), function(t) t(matrix(x[, , t], I, N)))
  hy <- cy <- array(0, c(H, N, L * D))
  for (l in seq_len(L)) {
    res <- lapply(seq_len(D), function(d) {
      k <- (l - 1) * D + d
      cc <- if (mode == "lstm") t(matrix(cx[, , k], H, N)) else NULL
      rnn_ref_dir(X, P[[k]], t(matrix(hx[, , k], H, N)), cc, mode, H, d == 2)
    })
    for (d in seq_len(D)) {
      k <- (l - 1) * D + d
      hy[, , k] <- t(res[[d]]$hT)
      if (mode == "lstm") cy[, , k] <- t(res[[d]]$cT)
    }
    X <- lapply(seq_len(Tn), function(t) do.call(cbind, lapply(res, function(r) r$h[[t]])))
  }
  out <- array(0, c(D * H, N, Tn))
  for (t in seq_len(Tn)) out[, , t] <- t(X[[t]])
  list(out = out, hy = hy, cy = cy)
}

rnn_case <- function(mode, I, N, Tn, H, L, D, scale = 0.5) {
  list(x = array(runif(I * N * Tn, -1, 1), c(I, N, Tn)),
       w = runif(rnn_nparams(mode, I, H, L, D), -scale, scale),
       hx = array(runif(H * N * L * D, -1, 1), c(H, N, L * D)),
       cx = array(runif(H * N * L * D, -1, 1), c(H, N, L * D)))
}

rnn_inputs <- function(cs, mode) {
  ins <- list(cs$x, cs$w, cs$hx)
  if (mode == "lstm") ins[[4]] <- cs$cx
  ins
}

MODES <- c("rnn_relu", "rnn_tanh", "lstm", "gru")

test_that("RNN forward matches the R reference for every cell, 1-2 layers, both directions", {
  set.seed(1)
  for (mode in MODES) for (L in 1:2) for (D in 1:2) for (dtype in c("float64", "float32")) {
    I <- 3; N <- 2; Tn <- 4; H <- 5
    cs <- rnn_case(mode, I, N, Tn, H, L, D)
    ref <- rnn_ref(cs$x, cs$w, cs$hx, cs$cx, mode, H, L, D)
    nd <- lapply(rnn_inputs(cs, mode), function(a) mx.nd.array(a, ctx = mx.cpu(), dtype = dtype))
    got <- mxnet:::nd.invoke("RNN", nd, list(state_size = H, num_layers = L, mode = mode,
                                             bidirectional = D == 2, state_outputs = TRUE))
    tol <- if (dtype == "float64") 1e-10 else 1e-5
    label <- sprintf("%s L=%d D=%d %s", mode, L, D, dtype)
    expect_length(got, if (mode == "lstm") 3L else 2L)
    expect_equal(as.array(got[[1]]), ref$out, tolerance = tol, label = label)
    expect_equal(as.array(got[[2]]), ref$hy, tolerance = tol, label = label)
    if (mode == "lstm") expect_equal(as.array(got[[3]]), ref$cy, tolerance = tol, label = label)
  }
})

test_that("RNN without state_outputs has one output; odd shapes work", {
  set.seed(2)
  cs <- rnn_case("gru", 1, 3, 1, 2, 1, 1)
  nd <- lapply(rnn_inputs(cs, "gru"), function(a) mx.nd.array(a, ctx = mx.cpu(), dtype = "float64"))
  got <- mxnet:::nd.invoke("RNN", nd, list(state_size = 2, num_layers = 1, mode = "gru"))
  expect_equal(as.array(got), rnn_ref(cs$x, cs$w, cs$hx, cs$cx, "gru", 2, 1, 1)$out, tolerance = 1e-10)
})

test_that("RNN gradients match finite differences for every cell and direction", {
  set.seed(3)
  for (mode in MODES) for (D in 1:2) {
    L <- 2; I <- 3; N <- 2; Tn <- 3; H <- 3
    cs <- rnn_case(mode, I, N, Tn, H, L, D)
    if (mode == "rnn_relu") cs$x <- cs$x + sign(cs$x) * 0.2
    check_grad("RNN", rnn_inputs(cs, mode),
               list(state_size = H, num_layers = L, mode = mode, bidirectional = D == 2,
                    state_outputs = TRUE),
               n.check = 25L, tol = 1e-6, label = sprintf("%s D=%d", mode, D))
  }
})

test_that("RNN gradients are right with dropout between layers (fixed seed)", {
  set.seed(4)
  cs <- rnn_case("lstm", 2, 2, 3, 3, 2, 2)
  check_grad("RNN", rnn_inputs(cs, "lstm"),
             list(state_size = 3, num_layers = 2, mode = "lstm", bidirectional = TRUE, p = 0.4),
             n.check = 20L, tol = 1e-6)
})

test_that("RNN in a symbol infers its parameter size from the data shape", {
  data <- mx.symbol.Variable("data")
  for (mode in MODES) {
    s <- mx.symbol.RNN(data = data, state_size = 7, num_layers = 2, mode = mode,
                       bidirectional = TRUE, name = "rnn")
    sh <- mx.symbol.infer.shape(s, data = c(5, 4, 6))
    expect_equal(sh$arg.shapes$rnn_parameters, rnn_nparams(mode, 5, 7, 2, 2), label = mode)
    expect_equal(sh$arg.shapes$rnn_state, c(7, 4, 4))
    expect_equal(sh$out.shapes[[1]], c(14, 4, 6))
  }
  s <- mx.symbol.RNN(data = data, state_size = 7, num_layers = 1, mode = "lstm", name = "r")
  expect_setequal(arguments(s), c("data", "r_parameters", "r_state", "r_state_cell"))
  ex <- mx.simple.bind(s, ctx = mx.cpu(), data = c(5, 4, 6))
  expect_equal(dim(ex$ref.arg.arrays$r_parameters), rnn_nparams("lstm", 5, 7, 1, 1))
})

test_that("RNN refuses what it does not offer with classed errors", {
  x <- mx.nd.array(array(0, c(2, 1, 1)), ctx = mx.cpu())
  w <- mx.nd.array(rep(0, rnn_nparams("rnn_tanh", 2, 2, 1, 1)), ctx = mx.cpu())
  h <- mx.nd.array(array(0, c(2, 1, 1)), ctx = mx.cpu())
  inv <- function(...) mxnet:::nd.invoke("RNN", list(x, w, h),
                                         c(list(state_size = 2, num_layers = 1, mode = "rnn_tanh"), list(...)))
  expect_error(inv(projection_size = 2), class = "mxnet_error", regexp = "projection_size")
  expect_error(inv(use_sequence_length = TRUE), class = "mxnet_error", regexp = "use_sequence_length")
  expect_error(inv(p = 2), class = "mxnet_error", regexp = "'p'")
  expect_error(mxnet:::nd.invoke("RNN", list(x, mx.nd.array(1:3, ctx = mx.cpu()), h),
                                 list(state_size = 2, num_layers = 1, mode = "rnn_tanh")),
               class = "mxnet_error", regexp = "parameters")
})

# Run an executor: set inputs by name, forward, backward with ones; return
# list(outputs, grads) as R arrays.
exec_run <- function(sym, vals) {
  shapes <- lapply(vals, function(v) if (is.null(dim(v))) length(v) else dim(v))
  ex <- do.call(mx.simple.bind, c(list(symbol = sym, ctx = mx.cpu(), grad.req = "write"), shapes))
  mx.exec.update.arg.arrays(ex, lapply(vals, function(v) mx.nd.array(v, ctx = mx.cpu())), match.name = TRUE)
  mx.exec.forward(ex, is.train = TRUE)
  outs <- lapply(ex$ref.outputs, as.array)
  mx.exec.backward(ex, lapply(outs, function(o) mx.nd.array(array(1, dim(o) %||% length(o)), ctx = mx.cpu())))
  list(outputs = outs, grads = lapply(ex$ref.grad.arrays, function(g) if (is.null(g)) NULL else as.array(g)))
}

test_that("fused LSTM equals an unrolled graph of FullyConnected/Activation ops, values and gradients", {
  set.seed(5)
  I <- 3; N <- 2; Tn <- 3; H <- 4
  cs <- rnn_case("lstm", I, N, Tn, H, 1, 1)
  gh <- 4 * H
  wi <- array(cs$w[seq_len(I * gh)], c(I, gh)); wh <- array(cs$w[I * gh + seq_len(H * gh)], c(H, gh))
  bi <- cs$w[(I + H) * gh + seq_len(gh)]; bh <- cs$w[(I + H + 1) * gh + seq_len(gh)]
  # unrolled: one FullyConnected pair per step, gates split i, f, g, o
  v <- mx.symbol.Variable
  W <- lapply(c(wi = "wi", bi = "bi", wh = "wh", bh = "bh"), v)
  h <- v("h0"); cc <- v("c0"); outs <- list()
  for (t in seq_len(Tn)) {
    a <- mx.symbol.FullyConnected(data = v(paste0("x", t)), weight = W$wi, bias = W$bi, num_hidden = gh) +
      mx.symbol.FullyConnected(data = h, weight = W$wh, bias = W$bh, num_hidden = gh)
    s <- mx.symbol.split(a, num_outputs = 4, axis = 1)
    cc <- mx.symbol.Activation(s[[2]], act_type = "sigmoid") * cc +
      mx.symbol.Activation(s[[1]], act_type = "sigmoid") * mx.symbol.Activation(s[[3]], act_type = "tanh")
    h <- mx.symbol.Activation(s[[4]], act_type = "sigmoid") * mx.symbol.Activation(cc, act_type = "tanh")
    outs[[t]] <- h
  }
  vals <- list(h0 = t(t(cs$hx[, , 1])), c0 = t(t(cs$cx[, , 1])), wi = wi, wh = wh, bi = bi, bh = bh)
  for (t in seq_len(Tn)) vals[[paste0("x", t)]] <- matrix(cs$x[, , t], I, N)
  un <- exec_run(mx.symbol.Group(outs), vals)
  fused <- mx.symbol.RNN(data = v("xs"), parameters = v("w"), state = v("hx"), state_cell = v("cx"),
                         state_size = H, num_layers = 1, mode = "lstm", name = "rnn")
  fu <- exec_run(fused, list(xs = cs$x, w = cs$w, hx = cs$hx, cx = cs$cx))
  for (t in seq_len(Tn)) expect_equal(fu$outputs[[1]][, , t], un$outputs[[t]], tolerance = 1e-5)
  g <- fu$grads$w
  expect_equal(array(g[seq_len(I * gh)], c(I, gh)), un$grads$wi, tolerance = 1e-4)
  expect_equal(array(g[I * gh + seq_len(H * gh)], c(H, gh)), un$grads$wh, tolerance = 1e-4)
  expect_equal(g[(I + H) * gh + seq_len(gh)], un$grads$bi, tolerance = 1e-4)
  expect_equal(g[(I + H + 1) * gh + seq_len(gh)], un$grads$bh, tolerance = 1e-4)
  for (t in seq_len(Tn)) expect_equal(fu$grads$xs[, , t], un$grads[[paste0("x", t)]], tolerance = 1e-4)
  expect_equal(fu$grads$hx[, , 1], un$grads$h0, tolerance = 1e-4)
  expect_equal(fu$grads$cx[, , 1], un$grads$c0, tolerance = 1e-4)
})

# ---------------------------------------------------------------- R RNN API

test_that("mx.io.bucket.iter visits every batch, pads the last one and counts sequence lengths", {
  b <- list("3" = list(data = matrix(c(1, 2, 0, 4, 5, 6, 7, 0, 0), 3), label = c(0, 1, 2)),
            "2" = list(data = matrix(1:4, 2), label = c(5, 6)))
  it <- mx.io.bucket.iter(b, batch.size = 2)
  seen <- list()
  while (it$iter.next()) {
    v <- it$value()
    seen[[length(seen) + 1]] <- list(bucket = names(it$bucketID), pad = it$num.pad(),
                                     label = as.array(v$label), mask = as.array(v$seq.mask),
                                     dim = dim(v$data))
  }
  expect_length(seen, 3)
  expect_equal(vapply(seen, function(s) s$bucket, ""), c("3", "3", "2"))
  expect_equal(vapply(seen, function(s) s$pad, 0), c(0, 1, 0))
  expect_equal(seen[[1]]$mask, c(2, 3))
  expect_equal(seen[[2]]$label, c(2, 0))        # padded with the bucket's first sequence
  expect_equal(seen[[3]]$dim, c(2, 2))
  expect_false(it$iter.next())
  it$reset()
  expect_true(it$iter.next())
  expect_error(mx.io.bucket.iter(list(list(data = 1)), 2), class = "mxnet_value_error")
})

# sequences of tokens 1..4; class 1 when the last token is > 2
bucket_data <- function(lens, n) {
  b <- lapply(lens, function(len) {
    x <- matrix(sample(1:4, len * n, TRUE), len)
    list(data = x, label = as.numeric(x[len, ] > 2))
  })
  names(b) <- lens
  b
}

test_that("a bucketed sequence classifier trains with mx.model.buckets (loss falls)", {
  set.seed(7)
  mx.set.seed(7)
  lens <- c(4, 6)
  data <- bucket_data(lens, 64)
  it <- mx.io.bucket.iter(data, batch.size = 32, shuffle = TRUE)
  it0 <- mx.io.bucket.iter(data, batch.size = 32)
  syms <- lapply(lens, function(s)
    rnn.graph(num_rnn_layer = 1, input_size = 5, num_embed = 4, num_hidden = 16, num_decode = 2,
              loss_output = "softmax", config = "seq-to-one", cell_type = "lstm"))
  names(syms) <- lens
  loss.of <- function(model) {
    pred <- as.array(mx.infer.rnn(it0, model, ctx = mx.cpu()))
    lab <- unlist(lapply(data, function(b) b$label))
    -mean(log(pred[cbind(lab + 1, seq_along(lab))]))
  }
  m1 <- mx.model.buckets(syms, it, num.round = 1, ctx = mx.cpu(), verbose = FALSE,
                         optimizer = mx.opt.create("adam", learning.rate = 0.02))
  l1 <- loss.of(m1)
  logger <- mx.metric.logger$new()
  m2 <- mx.model.buckets(syms, it, num.round = 25, ctx = mx.cpu(), verbose = FALSE,
                         arg.params = m1$arg.params, metric = mx.metric.accuracy,
                         epoch.end.callback = mx.callback.log.train.metric(1, logger),
                         optimizer = mx.opt.create("adam", learning.rate = 0.02))
  l2 <- loss.of(m2)
  expect_true(l2 < 0.5 * l1, label = sprintf("loss %.3f -> %.3f", l1, l2))
  expect_length(logger$train, 25)
  expect_gt(tail(logger$train, 1), 0.9)
  expect_setequal(names(m2$arg.params), c("embed.weight", "rnn.params.weight", "cls.weight", "cls.bias"))
})

test_that("rnn.graph and rnn.graph.unroll give the R reference's outputs (LSTM, one-to-one)", {
  set.seed(8)
  I <- 3; N <- 2; Tn <- 4; H <- 5
  x <- array(runif(I * Tn * N, -1, 1), c(I, Tn, N))           # (features, seq, batch)
  w <- runif(rnn_nparams("lstm", I, H, 1, 1), -0.5, 0.5)
  w[(I + H + 1) * 4 * H + seq_len(4 * H)] <- 0   # h2h bias: the unrolled first step has no h2h
  fused <- rnn.graph(num_rnn_layer = 1, num_hidden = H, num_decode = 1, config = "one-to-one",
                     cell_type = "lstm")
  ex <- mxnet:::infer.forward(fused, mx.cpu(), list(data = mx.nd.array(x)),
                              list(rnn.params.weight = mx.nd.array(w)), list())
  xt <- aperm(x, c(1, 3, 2))                                    # (features, batch, seq)
  ref <- rnn_ref(xt, w, array(0, c(H, N, 1)), array(0, c(H, N, 1)), "lstm", H, 1, 1)$out
  expect_equal(as.array(ex$ref.outputs[[1]]), aperm(ref, c(1, 3, 2)), tolerance = 1e-5)
  # unrolled: the same weights, gates reordered to i, g, f, o and no initial state
  gh <- 4 * H
  perm <- c(1:H, 2 * H + 1:H, H + 1:H, 3 * H + 1:H)
  wi <- matrix(w[seq_len(I * gh)], I)[, perm]; wh <- matrix(w[I * gh + seq_len(H * gh)], H)[, perm]
  bi <- w[(I + H) * gh + seq_len(gh)][perm]; bh <- w[(I + H + 1) * gh + seq_len(gh)][perm]
  un <- rnn.graph.unroll(num_rnn_layer = 1, seq_len = Tn, num_hidden = H, num_decode = 1,
                         config = "one-to-one", cell_type = "lstm")
  p <- lapply(list(l1.i2h.weight = wi, l1.h2h.weight = wh, l1.i2h.bias = bi, l1.h2h.bias = bh), mx.nd.array)
  eu <- mxnet:::infer.forward(un, mx.cpu(), list(data = mx.nd.array(x)), p, list())
  expect_equal(as.array(eu$ref.outputs[[1]]), aperm(ref, c(1, 3, 2)), tolerance = 1e-5)
})

test_that("RNN parameter gradients are the same whether or not the data wants a gradient", {
  set.seed(9)
  cs <- rnn_case("gru", 3, 2, 4, 3, 2, 2)
  mk <- function(dn) mx.symbol.RNN(data = mx.symbol.Variable(dn), parameters = mx.symbol.Variable("w"),
                                   state = mx.symbol.Variable("hx"), state_size = 3, num_layers = 2,
                                   mode = "gru", bidirectional = TRUE)
  a <- exec_run(mk("data"), list(data = cs$x, w = cs$w, hx = cs$hx))   # "data": no gradient
  b <- exec_run(mk("xs"), list(xs = cs$x, w = cs$w, hx = cs$hx))
  expect_null(a$grads$data)
  expect_equal(dim(b$grads$xs), dim(cs$x))
  expect_equal(a$grads$w, b$grads$w, tolerance = 1e-6)
  expect_equal(a$grads$hx, b$grads$hx, tolerance = 1e-6)
})

test_that("inference helpers return the outputs and final states", {
  set.seed(10)
  H <- 4
  un <- rnn.graph.unroll(num_rnn_layer = 2, seq_len = 3, input_size = 6, num_embed = 3, num_hidden = H,
                         num_decode = 6, config = "one-to-one", output_last_state = TRUE)
  shapes <- list(data = c(3, 2), init_1_h = c(H, 2), init_1_c = c(H, 2), init_2_h = c(H, 2), init_2_c = c(H, 2))
  p <- mx.model.init.params(un, shapes, NULL, mx.init.uniform(0.5), mx.cpu())$arg.params
  out <- mx.infer.rnn.one.unroll(mx.nd.array(matrix(c(1, 2, 5, 0, 3, 4), 3)), un, num_hidden = H,
                                 arg.params = p, aux.params = list(), ctx = mx.cpu())
  expect_length(out, 5)                                  # hidden sequence, then h, c of each layer
  hs <- as.array(out[[1]])                               # (H, seq, batch)
  expect_equal(dim(hs), c(H, 3, 2))
  expect_equal(as.array(out[[4]]), hs[, 3, ], tolerance = 1e-6)   # last layer's final h
  # fused graph over a bucket iterator: output, state and cell of the last batch
  net <- rnn.graph(num_rnn_layer = 1, input_size = 6, num_embed = 3, num_hidden = H, num_decode = 6,
                   config = "one-to-one", cell_type = "lstm", output_last_state = TRUE)
  it <- mx.io.bucket.iter(list("3" = list(data = matrix(c(1, 2, 5, 0, 3, 4), 3), label = c(0, 1))), 2)
  q <- mx.model.init.params(net, list(data = c(3, 2)), NULL, mx.init.uniform(0.5), mx.cpu())$arg.params
  o <- mx.infer.rnn.one(it, net, q[c("embed.weight", "rnn.params.weight")], list(), ctx = mx.cpu())
  expect_length(o, 3)
  expect_equal(dim(o[[2]]), c(H, 2, 1))
  expect_equal(as.array(o[[2]])[, , 1], as.array(o[[1]])[, 3, ], tolerance = 1e-6)
})

test_that("masked graphs use SequenceLast", {
  has <- mxnet:::rnn.op.exists("SequenceLast")
  mk <- function(config, masking) rnn.graph(num_rnn_layer = 1, input_size = 6, num_embed = 3, num_hidden = 4,
                                            num_decode = 2, config = config, cell_type = "gru", masking = masking)
  if (!has) expect_error(mk("seq-to-one", TRUE), class = "mxnet_unsupported_error")
  skip_if_not(has, "the SequenceLast op is not in this build (it comes with the sequence-ops branch)")
  set.seed(11)
  x <- matrix(c(1, 2, 0, 3, 4, 5), 3)                     # lengths 2 and 3
  q <- mx.model.init.params(mk("one-to-one", FALSE), list(data = c(3, 2)), NULL, mx.init.uniform(0.5),
                            mx.cpu())$arg.params
  all <- as.array(mxnet:::infer.forward(mk("one-to-one", FALSE), mx.cpu(), list(data = mx.nd.array(x)), q,
                                        list())$ref.outputs[[1]])
  last <- as.array(mxnet:::infer.forward(mk("seq-to-one", TRUE), mx.cpu(),
                                         list(data = mx.nd.array(x), seq.mask = mx.nd.array(c(2, 3))), q,
                                         list())$ref.outputs[[1]])
  expect_equal(last, cbind(all[, 2, 1], all[, 3, 2]), tolerance = 1e-6)
})
