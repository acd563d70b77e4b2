# GridGenerator, BilinearSampler, SpatialTransformer and ROIPooling
# (src/ops/spatial.c) against R references on C-order arrays, gradients
# against finite differences, errors, and use in a bound network. CPU only
# (with_cpu, cp and nd_c: helper-layers.R).

sp_rand <- function(d, lo = -1, hi = 1) array(runif(prod(d), lo, hi), d)
sp_inv <- function(op, ins, params) mxnet:::nd.invoke(op, lapply(ins, nd_c), params)

affine_ref <- function(theta, H, W) {
  N <- nrow(theta); g <- array(0, c(N, 2, H, W))
  xs <- if (W > 1) -1 + 2 * (seq_len(W) - 1) / (W - 1) else -1
  ys <- if (H > 1) -1 + 2 * (seq_len(H) - 1) / (H - 1) else -1
  for (n in seq_len(N)) for (r in 1:2) {
    t <- theta[n, (r - 1) * 3 + 1:3]
    g[n, r, , ] <- outer(ys, xs, function(y, x) t[1] * x + t[2] * y + t[3])
  }
  g
}
warp_ref <- function(f) {
  d <- dim(f); g <- f
  g[, 1, , ] <- sweep(f[, 1, , , drop = FALSE], 4, seq_len(d[4]) - 1, "+")[, 1, , ] / ((d[4] - 1) / 2) - 1
  g[, 2, , ] <- sweep(f[, 2, , , drop = FALSE], 3, seq_len(d[3]) - 1, "+")[, 1, , ] / ((d[3] - 1) / 2) - 1
  g
}
sampler_ref <- function(x, g) {
  d <- dim(x); OH <- dim(g)[3]; OW <- dim(g)[4]
  y <- array(0, c(d[1], d[2], OH, OW))
  at <- function(n, c, i, j) if (i >= 0 && i < d[3] && j >= 0 && j < d[4]) x[n, c, i + 1, j + 1] else 0
  for (n in seq_len(d[1])) for (h in seq_len(OH)) for (w in seq_len(OW)) {
    xr <- (g[n, 1, h, w] + 1) * (d[4] - 1) / 2; yr <- (g[n, 2, h, w] + 1) * (d[3] - 1) / 2
    x0 <- floor(xr); y0 <- floor(yr); fx <- xr - x0; fy <- yr - y0
    for (c in seq_len(d[2]))
      y[n, c, h, w] <- at(n, c, y0, x0) * (1 - fy) * (1 - fx) + at(n, c, y0, x0 + 1) * (1 - fy) * fx +
        at(n, c, y0 + 1, x0) * fy * (1 - fx) + at(n, c, y0 + 1, x0 + 1) * fy * fx
  }
  y
}
roi_ref <- function(x, rois, ph, pw, sc) {
  d <- dim(x); R <- nrow(rois); y <- array(0, c(R, d[2], ph, pw))
  rnd <- function(v) sign(v) * floor(abs(v) + 0.5)
  for (r in seq_len(R)) {
    b <- rois[r, 1] + 1; x1 <- rnd(rois[r, 2] * sc); y1 <- rnd(rois[r, 3] * sc)
    x2 <- rnd(rois[r, 4] * sc); y2 <- rnd(rois[r, 5] * sc)
    bh <- max(y2 - y1 + 1, 1) / ph; bw <- max(x2 - x1 + 1, 1) / pw
    for (i in seq_len(ph)) for (j in seq_len(pw)) {
      hs <- min(max(floor((i - 1) * bh) + y1, 0), d[3]); he <- min(max(ceiling(i * bh) + y1, 0), d[3])
      ws <- min(max(floor((j - 1) * bw) + x1, 0), d[4]); we <- min(max(ceiling(j * bw) + x1, 0), d[4])
      if (he > hs && we > ws)
        y[r, , i, j] <- apply(x[b, , (hs + 1):he, (ws + 1):we, drop = FALSE], 2, max)
    }
  }
  y
}

test_that("GridGenerator makes affine and warp grids", { with_cpu({
  set.seed(1)
  th <- sp_rand(c(2, 6))
  # target_shape as an R vector is c(width, height)
  expect_nd_equal(sp_inv("GridGenerator", list(th), list(transform_type = "affine", target_shape = c(5, 3))),
                  cp(affine_ref(th, 3, 5)), tolerance = 1e-12)
  f <- sp_rand(c(2, 2, 3, 4), -2, 2)
  expect_nd_equal(sp_inv("GridGenerator", list(f), list(transform_type = "warp")), cp(warp_ref(f)),
                  tolerance = 1e-12)
  # the identity transform reproduces the data through BilinearSampler
  x <- sp_rand(c(1, 2, 3, 4))
  g <- mxnet:::nd.invoke("GridGenerator", list(nd_c(matrix(c(1, 0, 0, 0, 1, 0), 1))),
                         list(transform_type = "affine", target_shape = "(3, 4)"))
  expect_nd_equal(mxnet:::nd.invoke("BilinearSampler", list(nd_c(x), g), NULL), cp(x), tolerance = 1e-12)
}) })

test_that("BilinearSampler and SpatialTransformer match R references", { with_cpu({
  set.seed(2)
  for (dt in c("float32", "float64")) {
    x <- cp(in_dtype(cp(sp_rand(c(2, 3, 4, 5))), dt))
    g <- cp(in_dtype(cp(sp_rand(c(2, 2, 3, 6), -1.3, 1.3)), dt))   # some points outside
    tol <- if (dt == "float32") 1e-5 else 1e-12
    expect_nd_equal(mxnet:::nd.invoke("BilinearSampler", list(nd_c(x, dt), nd_c(g, dt)), NULL),
                    cp(sampler_ref(x, g)), tolerance = tol)
    th <- cp(in_dtype(cp(sp_rand(c(2, 6))), dt))
    y <- mxnet:::nd.invoke("SpatialTransformer", list(nd_c(x, dt), nd_c(th, dt)),
                           list(target_shape = c(6, 3), transform_type = "affine", sampler_type = "bilinear"))
    expect_nd_equal(y, cp(sampler_ref(x, affine_ref(th, 3, 6))), tolerance = tol)
  }
}) })

test_that("ROIPooling max-pools every roi bin", { with_cpu({
  set.seed(3)
  for (dt in c("float32", "float64")) {
    x <- cp(in_dtype(cp(sp_rand(c(2, 3, 6, 7))), dt))
    rois <- rbind(c(0, 0, 0, 12, 10), c(1, 2.4, 3, 9, 7.6), c(1, 10, 10, 30, 30), c(0, 4, 4, 4, 4))
    y <- mxnet:::nd.invoke("ROIPooling", list(nd_c(x, dt), nd_c(rois, dt)),
                           list(pooled_size = c(3, 2), spatial_scale = 0.5))        # (ph 2, pw 3)
    expect_nd_equal(y, cp(roi_ref(x, rois, 2, 3, 0.5)), dtype = dt)
  }
}) })

test_that("the spatial ops have correct gradients", { with_cpu({
  set.seed(4)
  check_grad("GridGenerator", list(sp_rand(c(6, 2))), list(transform_type = "affine", target_shape = c(4, 3)))
  check_grad("GridGenerator", list(sp_rand(c(4, 3, 2, 2))), list(transform_type = "warp"), label = "warp")
  check_grad("BilinearSampler", list(sp_rand(c(5, 4, 2, 2)), sp_rand(c(3, 4, 2, 2), -1.2, 1.2)), NULL)
  check_grad("SpatialTransformer", list(sp_rand(c(5, 4, 2, 2)), sp_rand(c(6, 2), -0.8, 0.8)),
             list(target_shape = c(3, 4), transform_type = "affine", sampler_type = "bilinear"))
  rois <- t(cbind(c(0, 0, 0, 8, 6), c(1, 2, 2, 9, 9)))
  check_grad("ROIPooling", list(sp_rand(c(6, 5, 2, 2)), t(rois)), list(pooled_size = c(2, 3), spatial_scale = 0.5),
             wrt = 1)
}) })

test_that("bad parameters and shapes of the spatial ops are classed errors", { with_cpu({
  e <- function(op, ins, params) expect_error(sp_inv(op, ins, params), class = "mxnet_error")
  x <- sp_rand(c(1, 2, 3, 4))
  e("GridGenerator", list(sp_rand(c(2, 6))), list(transform_type = "affine"))    # no target_shape
  e("GridGenerator", list(sp_rand(c(2, 5))), list(transform_type = "affine", target_shape = c(2, 2)))
  e("GridGenerator", list(sp_rand(c(1, 3, 2, 2))), list(transform_type = "warp"))
  e("GridGenerator", list(x), list(transform_type = "shear"))
  e("BilinearSampler", list(x, sp_rand(c(1, 3, 2, 2))), NULL)
  e("BilinearSampler", list(x, sp_rand(c(2, 2, 2, 2))), NULL)
  e("SpatialTransformer", list(x, sp_rand(c(1, 6))), list(transform_type = "affine", sampler_type = "bilinear"))
  e("SpatialTransformer", list(x, sp_rand(c(1, 4))),
    list(target_shape = c(2, 2), transform_type = "affine", sampler_type = "bilinear"))
  e("ROIPooling", list(x, matrix(c(0, 0, 0, 1, 1), 1)), list(pooled_size = c(2, 2)))   # spatial_scale
  e("ROIPooling", list(x, matrix(c(0, 0, 0, 1, 1), 1)), list(pooled_size = c(2, 2), spatial_scale = 0))
  e("ROIPooling", list(x, matrix(c(0, 0, 0, 1), 1)), list(pooled_size = c(2, 2), spatial_scale = 1))
  e("ROIPooling", list(x, matrix(c(3, 0, 0, 1, 1), 1)), list(pooled_size = c(2, 2), spatial_scale = 1))
}) })

test_that("a spatial transformer network binds, infers loc's shape and trains a step", { with_cpu({
  set.seed(5)
  data <- mx.symbol.Variable("data")
  loc <- mx.symbol.FullyConnected(mx.symbol.Flatten(data), num_hidden = 6, name = "loc")
  st <- mx.symbol.SpatialTransformer(data, loc, target_shape = c(4, 4), transform_type = "affine",
                                     sampler_type = "bilinear", name = "st")
  rois <- mx.symbol.Variable("rois")
  rp <- mx.symbol.ROIPooling(st, rois, pooled_size = c(2, 2), spatial_scale = 1, name = "rp")
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Flatten(rp), num_hidden = 2, name = "fc"),
                                 name = "sm")
  ex <- mx.simple.bind(net, ctx = mx.cpu(), data = c(5, 5, 2, 3), rois = c(5, 3), grad.req = "write")
  expect_equal(dim(ex$ref.arg.arrays$loc_weight), c(50L, 6L))
  args <- lapply(ex$ref.arg.arrays, function(a) mx.nd.array(array(runif(length(a), -0.3, 0.3), dim(a)), ctx = mx.cpu()))
  args$loc_bias <- mx.nd.array(c(1, 0, 0, 0, 1, 0), ctx = mx.cpu())
  args$rois <- mx.nd.array(t(cbind(c(0, 1, 2), 0, 0, 3, 3)), ctx = mx.cpu())
  args$sm_label <- mx.nd.array(c(0, 1, 1), ctx = mx.cpu())
  mx.exec.update.arg.arrays(ex, args, match.name = TRUE)
  mx.exec.forward(ex, is.train = TRUE)
  mx.exec.backward(ex)
  expect_equal(colSums(as.array(ex$ref.outputs[[1]])), rep(1, 3), tolerance = 1e-5)
  for (k in c("loc_weight", "loc_bias", "fc_weight")) {
    g <- as.array(ex$ref.grad.arrays[[k]])
    expect_true(all(is.finite(g)) && any(g != 0), info = k)
  }
  expect_true(all(as.array(ex$ref.grad.arrays$rois) == 0))
}) })
