# Gradients of Convolution, Deconvolution and Pooling against finite
# differences (float64: the built-in kernels), and the float32 oneDNN
# gradients against the float64 built-in ones.

urand <- function(d, lo = -1, hi = 1) array(runif(prod(d), lo, hi), d)

test_that("Convolution gradients (data, weight, bias) match finite differences", {
  set.seed(31)
  cases <- list(
    list(x = c(6, 5, 4, 2), w = c(3, 2, 4, 3), p = list(kernel = c(3, 2), num_filter = 3)),
    list(x = c(7, 6, 4, 2), w = c(3, 3, 2, 4),
         p = list(kernel = c(3, 3), num_filter = 4, stride = c(2, 1), pad = c(1, 2), dilate = c(1, 2), num_group = 2)),
    list(x = c(9, 3, 2), w = c(3, 3, 2), p = list(kernel = 3, num_filter = 2, stride = 2, pad = 1, dilate = 2)),
    list(x = c(8, 4, 2), w = c(2, 2, 4), p = list(kernel = 2, num_filter = 4, num_group = 2)))
  for (cs in cases) for (op in c("Convolution", "_Convolution_builtin")) {
    F <- cs$p$num_filter
    check_grad(op, list(urand(cs$x), urand(cs$w), urand(F)), cs$p, label = paste(op, deparse(cs$p)))
    check_grad(op, list(urand(cs$x), urand(cs$w)), c(cs$p, no_bias = TRUE),
               label = paste(op, "no_bias", deparse(cs$p)))
  }
})

test_that("Deconvolution gradients match finite differences", {
  set.seed(32)
  cases <- list(
    list(x = c(4, 3, 3, 2), w = c(3, 2, 2, 3),
         p = list(kernel = c(3, 2), num_filter = 2, stride = c(2, 1), pad = c(1, 0), adj = c(1, 0))),
    list(x = c(3, 4, 4, 1), w = c(2, 3, 3, 4),
         p = list(kernel = c(2, 3), num_filter = 6, stride = c(2, 2), dilate = c(2, 1), num_group = 2)),
    list(x = c(4, 4, 2, 1), w = c(3, 3, 2, 2),
         p = list(kernel = c(3, 3), num_filter = 2, stride = c(2, 2), target_shape = c(8, 7))),
    list(x = c(5, 2, 2), w = c(3, 3, 2), p = list(kernel = 3, num_filter = 3, stride = 2, pad = 1)))
  for (cs in cases) for (op in c("Deconvolution", "_Deconvolution_builtin")) {
    F <- cs$p$num_filter
    check_grad(op, list(urand(cs$x), urand(cs$w), urand(F)), c(cs$p, no_bias = FALSE),
               label = paste(op, deparse(cs$p)))
    check_grad(op, list(urand(cs$x), urand(cs$w)), cs$p, label = paste(op, "no_bias", deparse(cs$p)))
  }
})

test_that("Pooling gradients match finite differences", {
  set.seed(33)
  x <- urand(c(6, 5, 2, 2))
  x1 <- urand(c(7, 2, 2))
  cases <- list(
    list(kernel = c(2, 2), stride = c(2, 2)),
    list(kernel = c(3, 2), stride = c(2, 1), pad = c(1, 1)),
    list(kernel = c(3, 3), stride = c(2, 2), pad = c(1, 0), pooling_convention = "full"),
    list(kernel = c(2, 3), stride = c(2, 2), pooling_convention = "same"),
    list(global_pool = TRUE))
  for (cs in cases) for (type in c("max", "avg", "sum")) {
    check_grad("Pooling", list(x), c(cs, pool_type = type), label = paste(type, deparse(cs)))
    check_grad("Pooling", list(x1), c(list(kernel = 3, stride = 2, pad = 1), pool_type = type),
               label = paste("1-D", type))
  }
  check_grad("Pooling", list(x), list(kernel = c(3, 3), pad = c(1, 1), pool_type = "avg",
                                      count_include_pad = FALSE))
  xp <- urand(c(5, 4, 2, 1), 0.2, 1.5)
  for (pv in 1:3)
    check_grad("Pooling", list(xp), list(kernel = c(2, 2), stride = c(1, 2), pool_type = "lp", p_value = pv),
               label = paste("lp", pv))
})

test_that("float32 gradients (oneDNN where available) agree with the float64 built-in ones", {
  set.seed(34)
  cases <- list(
    list(op = "Convolution", ref = "_Convolution_builtin", x = c(12, 12, 20, 8), w = c(5, 5, 20, 50),
         p = list(kernel = c(5, 5), num_filter = 50), b = 50),
    list(op = "Convolution", ref = "_Convolution_builtin", x = c(28, 28, 1, 4), w = c(5, 5, 1, 20),
         p = list(kernel = c(5, 5), num_filter = 20), b = 20),
    list(op = "Convolution", ref = "_Convolution_builtin", x = c(9, 8, 6, 3), w = c(3, 3, 2, 6),
         p = list(kernel = c(3, 3), num_filter = 6, num_group = 3, stride = c(2, 1), pad = c(1, 1),
                  dilate = c(2, 1)), b = 6),
    list(op = "Deconvolution", ref = "_Deconvolution_builtin", x = c(5, 4, 6, 2), w = c(4, 4, 3, 6),
         p = list(kernel = c(4, 4), num_filter = 3, stride = c(2, 2), pad = c(1, 1), adj = c(1, 0),
                  no_bias = FALSE), b = 3))
  for (cs in cases) check_f32_against_builtin(cs)
})

test_that("the built-in path split over threads (several chunks of images) agrees with one thread", {
  set.seed(35)
  # 64 images of LeNet's conv2: several chunks per operation, so with 2
  # threads each thread takes a share of the images (partial weight
  # gradients summed); 1 thread runs the chunks one after another
  ins <- list(urand(c(12, 12, 20, 64)), urand(c(5, 5, 20, 50), -0.1, 0.1), urand(50))
  prm <- list(kernel = c(5, 5), num_filter = 50)
  og <- urand(c(8, 8, 50, 64))
  run <- function(dt, th) {
    old <- options(mxnet.threads = th)
    on.exit(options(old))
    r <- mxnet:::nd.forward.backward("_Convolution_builtin", lapply(ins, mx.nd.array, dtype = dt), prm,
                                     list(mx.nd.array(og, dtype = dt)))
    c(list(as.array(r$outputs[[1]])), lapply(r$grads, as.array))
  }
  ref <- run("float64", 1L)
  for (th in 1:2) for (dt in c("float64", "float32")) {
    got <- run(dt, th)
    for (k in seq_along(ref))
      expect_nd_equal(mx.nd.array(got[[k]], dtype = "float64"), ref[[k]],
                      tolerance = if (dt == "float64") 1e-12 else 2e-4)
  }
})
