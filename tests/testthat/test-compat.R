# MXNet 1.9.1 compatibility of the R front end (known-defects.md §3, §6, §9).

test_that("K1: c() of symbols and NDArrays gives a list of them", {
  a <- mx.symbol.Variable("a"); b <- mx.symbol.Variable("b")
  l <- c(a, b)
  expect_true(is.list(l) && !is.mx.symbol(l))
  expect_length(l, 2)
  expect_true(all(vapply(l, is.mx.symbol, TRUE)))
  expect_identical(arguments(mx.symbol.Concat(c(a, b), num.args = 2)), c("a", "b"))
  expect_identical(outputs(mx.symbol.Group(c(a, b))), c("a", "b"))
  # list building from NULL and from a list splices the bare pointers: still usable
  for (l0 in list(NULL, list())) {
    l <- l0
    l <- c(l, a)
    l <- c(l, b)
    expect_identical(outputs(mx.symbol.Group(l)), c("a", "b"))
    expect_identical(arguments(mx.symbol.concat(data = l, num.args = 2, dim = 1)), c("a", "b"))
    expect_identical(arguments(mx.symbol.FullyConnected(l[[2]], num_hidden = 2, name = "fc")),
                     c("b", "fc_weight", "fc_bias"))
  }
  expect_identical(outputs(mx.symbol.Group(unlist(list(list(a), list(b))))), c("a", "b"))
  expect_length(c(a, list(b, a), NULL), 3)
  x1 <- mx.nd.ones(c(2, 3)); x2 <- mx.nd.zeros(c(2, 3))
  v <- c(x1, x2)
  expect_true(is.list(v) && all(vapply(v, is.mx.ndarray, TRUE)))
  r <- mx.nd.concat(data = c(x1, x2), num_args = 2, dim = 0)
  expect_equal(as.array(r), cbind(matrix(1, 2, 3), matrix(0, 2, 3)))
  # a pointer of the other kind is refused, not misread
  expect_error(mx.symbol.Group(c(list(), x1)))
})

test_that("K2: as.array of a 1-D NDArray is a plain vector", {
  a <- as.array(mx.nd.zeros(10))
  expect_null(dim(a))
  expect_identical(a, rep(0, 10))
  expect_identical(dim(as.array(mx.nd.zeros(c(2, 3)))), c(2L, 3L))
  label <- c(0, 1, 1); pred <- mx.nd.array(c(0.1, 0.9, 0.6))
  expect_equal(mean(label == round(as.array(pred))), 1)
})

mf.data <- function(n = 40) {
  set.seed(3)
  user <- sample(0:4, n, TRUE); item <- sample(0:5, n, TRUE)
  list(user = user, item = item, score = (user + item) / 5)
}
mf.symbol <- function() {
  user <- mx.symbol.Variable("user"); item <- mx.symbol.Variable("item")
  score <- mx.symbol.Variable("score")
  u <- mx.symbol.Embedding(data = user, input_dim = 5, output_dim = 3, name = "uemb")
  i <- mx.symbol.Embedding(data = item, input_dim = 6, output_dim = 3, name = "iemb")
  pred <- mx.symbol.sum_axis(u * i, axis = 1)
  pred <- mx.symbol.Flatten(pred)
  mx.symbol.LinearRegressionOutput(data = pred, label = score, name = "pred")
}

test_that("K4: RefClass iterators containing Rcpp_MXArrayDataIter train a model", {
  d <- mf.data()
  CustomIter <- setRefClass("CustomIterK4", fields = c("iter1", "iter2"),
    contains = "Rcpp_MXArrayDataIter",
    methods = list(initialize = function(iter1, iter2) {
      .self$iter1 <- iter1; .self$iter2 <- iter2; .self
    }, value = function() {
      list(user = .self$iter1$value()$data, item = .self$iter2$value()$data,
           score = .self$iter1$value()$label)
    }, iter.next = function() { .self$iter1$iter.next(); .self$iter2$iter.next() },
    reset = function() { .self$iter1$reset(); .self$iter2$reset() },
    num.pad = function() .self$iter1$num.pad(),
    finalize = function() { .self$iter1$finalize(); .self$iter2$finalize() }))
  it <- CustomIter$new(mx.io.arrayiter(d$user, d$score, batch.size = 10),
                       mx.io.arrayiter(d$item, d$score, batch.size = 10))
  expect_true(is.mx.dataiter(it))
  m <- mx.model.FeedForward.create(mf.symbol(), X = it, num.round = 2, learning.rate = 0.05,
                                   input.names = c("user", "item"), output.names = "score",
                                   eval.metric = mx.metric.rmse, verbose = FALSE)
  expect_setequal(names(m$arg.params), c("uemb_weight", "iemb_weight"))
  # a plain environment with the four methods is an iterator too
  inner <- mx.io.arrayiter(matrix(rnorm(20), 2), rep(0:1, 5), batch.size = 5)
  e <- new.env()
  e$reset <- function() inner$reset(); e$iter.next <- function() inner$iter.next()
  e$value <- function() inner$value(); e$num.pad <- function() inner$num.pad()
  expect_true(is.mx.dataiter(e))
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2))
  m2 <- mx.model.FeedForward.create(net, X = e, num.round = 1, verbose = FALSE)
  expect_equal(dim(predict(m2, e)), c(2L, 10L))
  expect_false(is.mx.dataiter(list(reset = 1)))
})

test_that("K5: a model with several inputs trains and predicts", {
  d <- mf.data()
  it <- new.env()
  src <- mx.io.arrayiter(rbind(d$user, d$item), d$score, batch.size = 8)
  it$reset <- function() src$reset(); it$iter.next <- function() src$iter.next()
  it$num.pad <- function() src$num.pad()
  it$value <- function() {
    v <- src$value(); x <- as.array(v$data)
    list(user = mx.nd.array(x[1, ]), item = mx.nd.array(x[2, ]), score = v$label)
  }
  mx.set.seed(1)
  m <- mx.model.FeedForward.create(mf.symbol(), X = it, num.round = 30, learning.rate = 0.1,
                                   initializer = mx.init.uniform(0.5),
                                   input.names = c("user", "item"), output.names = "score",
                                   eval.data = it, verbose = FALSE)
  p <- predict(m, it)
  expect_length(p, 40)
  expect_lt(sqrt(mean((p - d$score)^2)), sqrt(mean((mean(d$score) - d$score)^2)))
  expect_error(mx.model.FeedForward.create(mf.symbol(), X = it, num.round = 1,
                                           input.names = c("user", "nope"), output.names = "score",
                                           verbose = FALSE), "no field 'nope'")
})

test_that("K3: variadic wrappers take a data list with MXNet's positional order", {
  x1 <- mx.nd.array(matrix(1:6, 2)); x2 <- mx.nd.array(matrix(7:12, 2))
  both <- cbind(matrix(1:6, 2), matrix(7:12, 2))
  # concat / Concat: (data, num_args, dim, out)
  expect_equal(as.array(mx.nd.concat(list(x1, x2), 2, 0)), both)
  expect_equal(as.array(mx.nd.Concat(list(x1, x2), 2, 1)), rbind(matrix(1:6, 2), matrix(7:12, 2)))
  expect_equal(as.array(mx.nd.concat(data = list(x1, x2), num_args = 2, dim = 0)), both)
  expect_equal(as.array(mx.nd.concat(list(x1, x2), dim = 0)), both)
  expect_equal(as.array(mx.nd.concat(x1, x2, dim = 0)), both)
  o <- mx.nd.zeros(c(2, 6))
  mx.nd.concat(list(x1, x2), 2, 0, o)
  expect_equal(as.array(o), both)
  expect_error(mx.nd.concat(list(x1, x2), 2, 0, o, 5), "too many arguments")
  # stack: (data, axis, num_args, out)
  s <- mx.nd.stack(list(x1, x2), 0)
  expect_equal(dim(s), c(2L, 3L, 2L))
  expect_equal(as.array(s)[, , 2], matrix(7:12, 2))
  expect_equal(dim(mx.nd.stack(list(x1, x2), 0, 2)), c(2L, 3L, 2L))
  # Crop: (data, num_args, offset, h_w, center_crop)
  img <- mx.nd.array(array(1:32, c(4, 4, 1, 2)))
  cr <- mx.nd.Crop(list(img), 1, c(1, 1), c(2, 2))
  expect_equal(dim(cr), c(2L, 2L, 1L, 2L))
  expect_equal(as.array(cr), as.array(mx.nd.Crop(img, num_args = 1, offset = c(1, 1), h_w = c(2, 2))))
  # symbols: Concat/concat(data, num.args, dim, name), stack(data, axis, num.args, name)
  a <- mx.symbol.Variable("a"); b <- mx.symbol.Variable("b")
  cs <- mx.symbol.Concat(list(a, b), 2, 0, "cat")
  expect_identical(outputs(cs), "cat_output")
  expect_identical(mx.symbol.infer.shape(cs, a = c(2, 3), b = c(2, 4))$out.shapes$cat_output, c(2L, 7L))
  cs2 <- mx.symbol.concat(list(a, b), 2, name = "c2")
  expect_identical(mx.symbol.infer.shape(cs2, a = c(2, 3), b = c(5, 3))$out.shapes$c2_output, c(7L, 3L))
  cs3 <- mx.symbol.Concat(c(a, b), num.args = 2, dim = 0)
  expect_identical(mx.symbol.infer.shape(cs3, a = c(2, 3), b = c(2, 4))$out.shapes[[1]], c(2L, 7L))
  st <- mx.symbol.stack(list(a, b), 0, 2, "st")
  expect_identical(mx.symbol.infer.shape(st, a = c(2, 3), b = c(2, 3))$out.shapes$st_output, c(2L, 3L, 2L))
  expect_identical(outputs(mx.symbol.Group(list(a, b))), c("a", "b"))
  expect_error(mx.symbol.Concat(list(a, b), 2, 0, "x", 7), "too many arguments")
})

test_that("K11: no stray mx.nd. export", {
  expect_false("mx.nd." %in% getNamespaceExports("mxnet"))
  expect_identical(mxnet:::gen.r.name(character(0)), character(0))
})

test_that("K8: Adam follows MXNet 1.9.1's R optimizer (no bias correction by default)", {
  one.step <- function(...) {
    loss <- mx.symbol.LinearRegressionOutput(
      mx.symbol.FullyConnected(mx.symbol.Variable("data"), weight = mx.symbol.Variable("fc_weight"),
                               no.bias = TRUE, name = "fc1", num_hidden = 1),
      label = mx.symbol.Variable("label"), name = "loss")
    exec <- mx.simple.bind(loss, data = c(2, 3), label = 3, grad.req = "write")
    mx.exec.update.arg.arrays(exec, list(data = mx.nd.array(array(1:6, 2:3)), label = mx.nd.array(c(5, 11, 16)),
                                         fc_weight = mx.nd.array(array(c(1.1, 1.8), c(2, 1)))), match.name = TRUE)
    upd <- mx.opt.get.updater(mx.opt.create("adam", learning.rate = 1, beta1 = 0.9, beta2 = 0.999,
                                            epsilon = 1e-8, wd = 0, rescale.grad = 1, ...),
                              exec$ref.arg.arrays)
    mx.exec.forward(exec, is.train = TRUE)
    mx.exec.backward(exec)
    as.array(upd(exec$ref.arg.arrays, exec$ref.grad.arrays)$fc_weight)
  }
  # 1.9.1: 4.26, 4.96 (step 0.1 g / sqrt(0.001 g^2) = 3.162)
  expect_equal(as.vector(one.step()), c(1.1, 1.8) + sqrt(1000) / 10, tolerance = 1e-5)
  expect_equal(as.vector(one.step(bias.correction = TRUE)), c(2.1, 2.8), tolerance = 1e-5)
})

compat.setup <- function() {
  set.seed(1)
  list(X = matrix(rnorm(60), 3), y = rep(0:2, length.out = 20),
       net = mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 3,
                                                              name = "fc")))
}
compat.train <- function(s, ...) {
  args <- list(...)
  if (is.null(args$X)) args$X <- s$X
  if (is.null(args$array.batch.size)) args$array.batch.size <- 10
  do.call(mx.model.FeedForward.create,
          c(list(s$net, y = s$y, array.layout = "colmajor", verbose = FALSE), args))
}

test_that("W1: matrix subscripts read and write one element per row", {
  x <- mx.nd.array(matrix(1:12, 3))
  expect_equal(as.array(x[cbind(1, 2)]), 4)
  expect_equal(as.array(x[cbind(c(1, 3), c(2, 4))]), c(4, 12))
  x[cbind(c(1, 3), c(2, 4))] <- 99
  m <- matrix(1:12, 3); m[cbind(c(1, 3), c(2, 4))] <- 99
  expect_equal(as.array(x), m)
  a <- array(1:24, 2:4); xa <- mx.nd.array(a)
  idx <- cbind(c(2, 1), c(3, 1), c(4, 2))
  expect_equal(as.array(xa[idx]), a[idx])
  expect_error(x[cbind(4, 1)], "out of bounds")
  expect_error(x[cbind(-1, 1)], "not allowed")
  # a two-column matrix on a 3-D array is still a flat subscript, as in R
  expect_equal(as.array(xa[cbind(1, 2)]), a[cbind(1, 2)])
})

test_that("W4: num.round is the last epoch; none run when it is below begin.round", {
  s <- compat.setup()
  for (case in list(c(1, 0, 0), c(5, 3, 0), c(2, 4, 3), c(1, 1, 1))) {
    n <- 0
    m <- compat.train(s, begin.round = case[1], num.round = case[2],
                      epoch.end.callback = function(...) { n <<- n + 1; TRUE })
    expect_equal(n, case[3])
  }
  expect_s3_class(m, "MXFeedForwardModel")
})

test_that("W5: a model missing a parameter is an error at predict, also after mx.model.load", {
  s <- compat.setup()
  m <- compat.train(s, num.round = 2, learning.rate = 0.5)
  m2 <- m; m2$arg.params$fc_weight <- NULL
  expect_error(predict(m2, s$X[, 1:3], array.layout = "colmajor"), "lacks fc_weight")
  prefix <- file.path(tempfile(), "m"); dir.create(dirname(prefix))
  mx.model.save(m2, prefix, 1)
  expect_error(predict(mx.model.load(prefix, 1), s$X[, 1:3], array.layout = "colmajor"), "lacks fc_weight")
  expect_equal(dim(predict(m, s$X[, 1:3], array.layout = "colmajor")), c(3L, 3L))
})

test_that("W6: non-finite hyper-parameters and data are refused; NaN parameters warn or stop", {
  s <- compat.setup()
  expect_error(compat.train(s, num.round = 1, learning.rate = Inf), "learning.rate")
  expect_error(compat.train(s, num.round = 1, wd = Inf), "'wd'")
  expect_error(compat.train(s, num.round = 1, momentum = -Inf), "momentum")
  expect_error(compat.train(s, num.round = 1, optimizer = "adam", beta1 = 1), "beta1")
  expect_error(compat.train(s, num.round = 1, optimizer = "adam", epsilon = 0), "epsilon")
  X <- s$X; X[2] <- Inf
  expect_error(compat.train(s, X = X, num.round = 1), "contains Inf")
  expect_warning(compat.train(s, X = s$X * 1e30, num.round = 2, learning.rate = 1e30), "non-finite")
  old <- options(mxnet.nan.action = "stop"); on.exit(options(old))
  expect_error(compat.train(s, X = s$X * 1e30, num.round = 2, learning.rate = 1e30), "non-finite")
  options(mxnet.nan.action = "none")
  expect_silent(compat.train(s, X = s$X * 1e30, num.round = 1, learning.rate = 1e30))
})

test_that("W7: round() with extreme digits gives base R's results", {
  v <- c(1.25, 2.5, -3.75)
  for (d in c(39, 400, -400, 1, -1))
    expect_equal(as.array(round(mx.nd.array(v), d)), in_dtype(round(v, d), "float32"))
  expect_equal(as.array(round(mx.nd.array(v, dtype = "float64"), 1)), round(v, 1))
})

test_that("Q9: an index outside the integer range is an error", {
  x <- mx.nd.array(matrix(1:4, 2))
  expect_error(x[-1e10, 1], "integer range")
  expect_equal(as.array(x[-3, 1]), c(1, 2))
})

test_that("Q10, E1, E2, E3: argument checks of FeedForward.create", {
  s <- compat.setup()
  expect_warning(compat.train(s, num.round = 1, fixed.param = "fc_wieght"), "fc_wieght")
  expect_error(compat.train(s, num.round = 1, eval.metric = "accuracy"), "eval.metric.*mx.metric.accuracy")
  expect_error(compat.train(s, num.round = NA), "'num.round' must be a whole number")
  expect_error(compat.train(s, num.round = "a"), "'num.round' must be a whole number")
  expect_error(compat.train(s, num.round = 1, array.batch.size = 2, ctx = list(mx.cpu(), mx.cpu(), mx.cpu())),
               "batch size 2 is smaller than the 3 devices")
})

test_that("K9: mx.symbol.bind takes grad.reqs as a list", {
  s <- mx.symbol.Variable("a") * mx.symbol.Variable("b")
  ex <- mxnet:::mx.symbol.bind(s, mx.cpu(), list(a = mx.nd.array(1:2), b = mx.nd.array(3:4)), list(),
                               grad.reqs = list("null", "write"))
  mx.exec.forward(ex, is.train = TRUE)
  mx.exec.backward(ex, mx.nd.ones(2))
  expect_null(ex$ref.grad.arrays$a)
  expect_equal(as.array(ex$ref.grad.arrays$b), c(1, 2))
  expect_error(mxnet:::mx.symbol.bind(s, mx.cpu(), list(a = mx.nd.array(1:2), b = mx.nd.array(3:4)), list(),
                                      grad.reqs = list("null", 2)), "one string per argument")
})

test_that("K10: the internals scripts call with ::: exist", {
  a <- mx.symbol.Variable("a"); b <- mx.symbol.Variable("b")
  cs <- mxnet:::mx.varg.symbol.Concat(list(a, b, num.args = 2, dim = 1, name = "cc"))
  expect_identical(outputs(cs), "cc_output")
  expect_identical(mx.symbol.infer.shape(cs, a = c(2, 3), b = c(2, 3))$out.shapes$cc_output, c(4L, 3L))
  sm <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2),
                                name = "sm")
  expect_identical(mxnet:::mx.model.check.arguments(sm), c("data", "sm_label"))
  expect_error(mxnet:::mx.model.check.arguments(mx.symbol.Variable("data") + mx.symbol.Variable("xdata")),
               "several arguments end in 'data'")
  x <- mx.nd.ones(c(2, 3, 4))
  y <- mxnet:::mx.nd.internal.crop.assign(x, mx.nd.zeros(c(2, 1, 3)), begin = c(0, 0, 0), end = c(2, 1, 3))
  e <- array(1, c(2, 3, 4)); e[1:2, 1, 1:3] <- 0
  expect_equal(as.array(y), e)
  expect_equal(as.array(x), array(1, c(2, 3, 4)))   # a copy
  p <- mxnet:::mx.nd.arraypacker()
  p$push(mx.nd.array(matrix(1:4, 2))); p$push(mx.nd.array(matrix(5:6, 2)))
  expect_equal(p$get(), matrix(1:6, 2))
})

test_that("K12: predict works on a serialized model; is.serialized", {
  s <- compat.setup()
  m <- compat.train(s, num.round = 1)
  sm <- mx.serialize(m)
  expect_true(is.serialized(sm))
  expect_false(is.serialized(m))
  expect_equal(predict(sm, s$X, array.layout = "colmajor"), predict(m, s$X, array.layout = "colmajor"))
})

test_that("K13, W10: graph.viz takes MXNet's arguments and escapes names", {
  net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 4, name = "fc")
  g <- graph.viz(net, shape = c(8, 2), direction = "LR", type = "graph", graph.title = "My net",
                 graph.width.px = 300, graph.height.px = 200)
  expect_s3_class(g, "mx.graph.dot")
  expect_match(g, "rankdir=LR;", fixed = TRUE)
  expect_match(g, "label=\"8x2\"", fixed = TRUE)
  expect_match(g, "label=\"My net\"", fixed = TRUE)
  expect_match(g, "size=\"4.16667,2.77778\"", fixed = TRUE)
  expect_error(graph.viz(net, direction = "up"), "direction")
  expect_warning(graph.viz(net, type = "vis"), "not available")
  bad <- mx.symbol.FullyConnected(mx.symbol.Variable("x\", color=\"red"), num_hidden = 2, name = "a\\b")
  gb <- graph.viz(bad)
  expect_match(gb, "label=\"x\\\", color=\\\"red\"", fixed = TRUE)
  expect_match(gb, "a\\\\b", fixed = TRUE)
  if (nzchar(Sys.which("dot"))) {
    expect_match(attr(gb, "svg"), "<svg")
    f <- tempfile(fileext = ".png")
    graph.viz(net, file = f)
    expect_gt(file.size(f), 100)
  } else {
    expect_null(attr(gb, "svg"))
    expect_error(graph.viz(net, file = tempfile(fileext = ".png")), "dot")
  }
})

test_that("K14: update.aux.arrays and update.grad.arrays take arg.arrays =", {
  net <- mx.symbol.BatchNorm(mx.symbol.Variable("data"), name = "bn")
  ex <- mx.simple.bind(net, data = c(3, 2), grad.req = "write")
  mx.exec.update.aux.arrays(ex, arg.arrays = list(bn_moving_mean = mx.nd.array(c(1, 2, 3))), match.name = TRUE)
  expect_equal(as.array(ex$ref.aux.arrays$bn_moving_mean), c(1, 2, 3))
  mx.exec.update.grad.arrays(ex, arg.arrays = list(bn_gamma = mx.nd.array(c(7, 8, 9))), match.name = TRUE)
  expect_equal(as.array(ex$ref.grad.arrays$bn_gamma), c(7, 8, 9))
})

test_that("I2: mx.model.save replaces both checkpoint files or neither", {
  s <- compat.setup()
  m <- compat.train(s, num.round = 1)
  d <- tempfile(); dir.create(d)
  writeLines("{}", file.path(d, "m-symbol.json"))
  dir.create(file.path(d, "m-0001.params"))
  expect_error(mx.model.save(m, file.path(d, "m"), 1), "cannot replace.*no checkpoint file was changed")
  expect_identical(readLines(file.path(d, "m-symbol.json")), "{}")
  expect_setequal(list.files(d, all.files = TRUE, no.. = TRUE), c("m-symbol.json", "m-0001.params"))
  # a normal save replaces both, and loads back
  writeLines("{}", file.path(d, "n-symbol.json"))
  mx.model.save(m, file.path(d, "n"), 1)
  m2 <- mx.model.load(file.path(d, "n"), 1)
  expect_equal(as.array(m2$arg.params$fc_weight), as.array(m$arg.params$fc_weight))
  mx.model.save(mx.serialize(m), file.path(d, "n"), 2)
  expect_true(file.exists(file.path(d, "n-0002.params")))
})

test_that("L2: evaluation trims a padded last batch of 3-D outputs", {
  set.seed(2)
  X <- array(rnorm(4 * 2 * 10), c(4, 1, 2, 10))   # width 4, height 1, 2 channels, 10 examples
  y <- matrix(rep(0:1, 20), 4, 10)                # a class per position
  net <- mx.symbol.SoftmaxOutput(mx.symbol.Convolution(mx.symbol.Variable("data"), kernel = c(1, 1),
                                                       num_filter = 2, name = "conv"),
                                 multi_output = TRUE, name = "sm")
  seen <- NULL
  metric <- mx.metric.custom("shape", function(label, pred) { seen <<- rbind(seen, dim(pred)); 0 })
  m <- mx.model.FeedForward.create(net, X = X, y = y, eval.data = list(data = X, label = y), num.round = 1,
                                   array.batch.size = 4, eval.metric = metric, verbose = FALSE)
  expect_equal(seen[nrow(seen), ], c(4, 1, 2, 2))   # 10 examples in batches of 4: the last keeps 2
})
