# Data frames and factors: one-hot encoding kept in the model, factor labels,
# predict(type = "class" / "prob" / "raw") (R/dataframe.R).

tab_data <- function(n = 240, seed = 5) {
  set.seed(seed)
  df <- data.frame(a = rnorm(n), g = factor(sample(c("u", "v", "w"), n, TRUE)), b = runif(n),
                   ok = sample(c(TRUE, FALSE), n, TRUE))
  cls <- factor(ifelse(df$a + 2 * (df$g == "v") - 1 > 0, "yes", "no"))
  list(df = df, cls = cls)
}

tab_net <- function(k = 2) mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"),
                                                                           num_hidden = k, name = "fc"), name = "softmax")

tab_fit <- function(d, ...) mx.model.FeedForward.create(tab_net(), X = d$df, y = d$cls, num.round = 15,
                                                        array.batch.size = 30, learning.rate = 0.2,
                                                        verbose = FALSE, ...)

test_that("factor columns are one-hot encoded as model.matrix does", {
  d <- tab_data(20)
  enc <- mxnet:::df.encoding(d$df)
  m <- mxnet:::df.encode(enc, d$df)
  ref <- cbind(a = d$df$a, model.matrix(~ g - 1, d$df), b = d$df$b, ok = as.numeric(d$df$ok))
  expect_identical(dim(m), c(6L, 20L))              # features x examples
  expect_equal(unname(t(m)), unname(ref))
  expect_identical(rownames(m), c("a", "gu", "gv", "gw", "b", "ok"))
})

test_that("a model trained on a data frame keeps its encoding and label levels", {
  d <- tab_data()
  m <- tab_fit(d)
  expect_identical(m$label.levels, c("no", "yes"))
  expect_identical(m$encoding$levels$g, c("u", "v", "w"))
  expect_identical(dim(m$arg.params$fc_weight), c(6L, 2L))
  # the same model on the encoded matrix gives the same raw output
  x <- mxnet:::df.encode(m$encoding, d$df)
  raw <- predict(m, d$df)
  expect_identical(raw, predict(m, x, array.layout = "colmajor"))
  expect_identical(dim(raw), c(2L, nrow(d$df)))
  # it learned the rule
  expect_gt(mean(predict(m, d$df, type = "class") == d$cls), 0.9)
})

test_that("type = \"prob\" and \"class\" follow the raw output and the levels", {
  d <- tab_data()
  m <- tab_fit(d)
  raw <- predict(m, newdata = d$df)
  p <- predict(m, newdata = d$df, type = "prob")
  expect_identical(colnames(p), c("no", "yes"))
  expect_equal(unname(p), t(raw))
  cl <- predict(m, newdata = d$df, type = "class")
  expect_s3_class(cl, "factor")
  expect_identical(levels(cl), c("no", "yes"))
  expect_identical(as.character(cl), c("no", "yes")[max.col(t(raw), ties.method = "first")])
  expect_error(predict(m, d$df, type = "bogus"))
})

test_that("new data is encoded by level name, whatever its factor's level order", {
  d <- tab_data()
  m <- tab_fit(d)
  nd <- d$df[1:30, ]
  nd2 <- nd
  nd2$g <- factor(as.character(nd$g), levels = c("w", "v", "u"))
  nd3 <- nd
  nd3$g <- as.character(nd$g)
  nd4 <- cbind(extra = 1, nd[, rev(names(nd))])      # other columns, other order
  ref <- predict(m, nd)
  expect_identical(predict(m, nd2), ref)
  expect_identical(predict(m, nd3), ref)
  expect_identical(predict(m, nd4), ref)
})

test_that("unknown levels, missing columns, NA and wrong types are classed errors", {
  d <- tab_data()
  m <- tab_fit(d)
  nd <- d$df[1:4, ]
  bad <- nd
  bad$g <- factor(c("u", "z", "u", "v"))
  expect_error(predict(m, bad), "unknown in training", class = "mxnet_value_error")
  expect_error(predict(m, nd[, c("a", "b", "ok")]), "lacks the column g", class = "mxnet_value_error")
  na <- nd
  na$a[2] <- NA
  expect_error(predict(m, na), "NA", class = "mxnet_value_error")
  wrong <- nd
  wrong$a <- as.character(wrong$a)
  expect_error(predict(m, wrong), "was numeric", class = "mxnet_value_error")
  expect_error(mx.model.FeedForward.create(tab_net(), X = data.frame(d = Sys.Date() + 1:4), y = 1:4,
                                           num.round = 1, verbose = FALSE), class = "mxnet_value_error")
})

test_that("eval.data takes a data frame with factor labels, encoded as in training", {
  d <- tab_data()
  m <- tab_fit(d, eval.metric = mx.metric.accuracy,
               eval.data = list(data = d$df[1:120, ], label = d$cls[1:120]))
  cl <- predict(m, d$df[1:120, ], type = "class")
  expect_equal(tail(m$history$validation, 1), mean(cl == d$cls[1:120]), tolerance = 1e-6)
  expect_error(tab_fit(d, eval.data = d$df), "needs its labels", class = "mxnet_value_error")
})

test_that("a data frame is one row per observation, even when square", {
  set.seed(8)
  df <- as.data.frame(matrix(rnorm(16), 4))
  y <- c(0, 1, 0, 1)
  m <- mx.model.FeedForward.create(tab_net(), X = df, y = y, num.round = 1, array.batch.size = 2,
                                   learning.rate = 0.1, verbose = FALSE)
  expect_identical(predict(m, df), predict(m, t(as.matrix(df)), array.layout = "colmajor"))
  # numeric labels: class gives 0-based codes, prob has no level names
  expect_identical(predict(m, df, type = "class"), max.col(t(predict(m, df)), ties.method = "first") - 1L)
  expect_null(colnames(predict(m, df, type = "prob")))
})

test_that("saveRDS keeps the encoding and the levels", {
  d <- tab_data()
  m <- tab_fit(d)
  m2 <- unserialize(serialize(m, NULL))
  expect_identical(predict(m2, d$df, type = "class"), predict(m, d$df, type = "class"))
  m3 <- mx.unserialize(mx.serialize(m))
  expect_identical(predict(m3, d$df, type = "prob"), predict(m, d$df, type = "prob"))
})

test_that("mx.mlp(y ~ ., data = df) trains a classifier on the formula's variables", {
  d <- tab_data()
  df <- cbind(d$df, cls = d$cls)
  set.seed(1)
  m <- mx.mlp(cls ~ ., data = df, hidden_node = c(8, 4), num.round = 30, array.batch.size = 30,
              learning.rate = 0.3, momentum = 0.9, initializer = mx.init.Xavier(), verbose = FALSE)
  expect_identical(dim(m$arg.params$fc1_weight), c(6L, 8L))     # a, g (3), b, ok
  expect_identical(dim(m$arg.params$fc3_weight), c(4L, 2L))     # one output per level
  expect_identical(m$label.levels, c("no", "yes"))
  cl <- predict(m, newdata = df, type = "class")
  expect_gt(mean(cl == df$cls), 0.9)
  # the response column is not needed to predict
  expect_identical(predict(m, newdata = d$df, type = "class"), cl)
  # formula and data frame in either order build the same network
  set.seed(1)
  m2 <- mx.mlp(cls ~ ., df, hidden_node = c(8, 4), num.round = 30, array.batch.size = 30,
               learning.rate = 0.3, momentum = 0.9, initializer = mx.init.Xavier(), verbose = FALSE)
  expect_identical(arguments(m2$symbol), arguments(m$symbol))
  expect_identical(predict(m2, newdata = df), predict(m, newdata = df))   # same seed, same model
})

test_that("the formula picks variables; transformations apply again in predict", {
  d <- tab_data()
  df <- cbind(d$df, cls = d$cls)
  m <- mx.mlp(cls ~ a + g, data = df, hidden_node = 4, num.round = 2, array.batch.size = 30,
              learning.rate = 0.1, verbose = FALSE)
  expect_identical(dim(m$arg.params$fc1_weight), c(4L, 4L))
  m2 <- mx.mlp(cls ~ exp(b) + g, data = df, hidden_node = 4, num.round = 2, array.batch.size = 30,
               learning.rate = 0.1, verbose = FALSE)
  expect_identical(m2$encoding$columns, c("exp(b)", "g"))
  nd <- d$df[1:10, ]
  x <- rbind(exp(nd$b), t(model.matrix(~ g - 1, nd)))
  expect_equal(predict(m2, newdata = nd), predict(m2, x, array.layout = "colmajor"))
})

test_that("a numeric response gives a regression with one output", {
  set.seed(3)
  df <- data.frame(u = runif(200), v = runif(200))
  df$z <- 2 * df$u - df$v
  m <- mx.mlp(z ~ u + v, data = df, hidden_node = 6, num.round = 40, array.batch.size = 20,
              learning.rate = 0.05, verbose = FALSE)
  expect_identical(outputs(m$symbol), "linreg_output")
  p <- predict(m, newdata = df)
  expect_length(p, 200L)
  expect_lt(sqrt(mean((p - df$z)^2)), sd(df$z))
})

test_that("formula misuse is a classed error", {
  d <- tab_data()
  expect_error(mx.mlp(cls ~ ., data = as.matrix(d$df[c("a", "b")]), hidden_node = 2),
               "needs a data frame", class = "mxnet_value_error")
  expect_error(mx.mlp(cls ~ nothere, data = cbind(d$df, cls = d$cls), hidden_node = 2, verbose = FALSE),
               "does not fit", class = "mxnet_value_error")
  expect_error(mx.mlp(~ a, data = d$df, hidden_node = 2), "response", class = "mxnet_value_error")
  expect_error(mx.mlp(matrix(1, 2, 2), c(0, 1), hidden_node = 2), "out_node", class = "mxnet_value_error")
})
