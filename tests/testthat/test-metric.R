# Metrics against direct R computations, with NDArray and R inputs.

softmax_cols <- function(m) {
  e <- exp(m - rep(apply(m, 2, max), each = nrow(m)))
  e / rep(colSums(e), each = nrow(m))
}
rand_class_batch <- function(nclass = 5, n = 40) {
  list(label = sample(0:(nclass - 1), n, replace = TRUE),
       pred = softmax_cols(matrix(rnorm(nclass * n), nclass)))
}

# Direct R definitions (pred: c(classes, N), label: 0-based ids).
r_accuracy <- function(l, p) mean(apply(p, 2, which.max) - 1 == l)
r_top_k <- function(l, p, k = 5)
  mean(vapply(seq_along(l), function(i) (l[i] + 1) %in% order(p[, i], decreasing = TRUE)[seq_len(k)],
              logical(1)))
r_mse <- function(l, p) mean((l - p)^2)
r_rmse <- function(l, p) sqrt(mean((l - p)^2))
r_mae <- function(l, p) mean(abs(l - p))
r_rmsle <- function(l, p) sqrt(mean((log(1 + p) - log(1 + l))^2))
r_logloss <- function(l, p) {
  p <- pmin(pmax(p, 1e-15), 1 - 1e-15)
  -mean(l * log(p) + (1 - l) * log(1 - p))
}
r_logistic_acc <- function(l, p) mean((p > 0.5) == l)
r_perplexity <- function(l, p) {
  keep <- l != -1
  exp(-mean(log(p[cbind(l[keep] + 1, which(keep))])))
}

# Feed batches as R values and as NDArrays; the value must be the mean of
# the per-batch R values.
check_metric <- function(metric, ref, batches, name, tol = 1e-6, dtype = "float32") {
  expect_s3_class(metric, "mx.metric")
  exp_val <- mean(vapply(batches, function(b) ref(b$label, b$pred), numeric(1)))
  s_r <- metric$init()
  s_nd <- metric$init()
  s_mix <- metric$init()
  for (b in batches) {
    s_r <- metric$update(b$label, b$pred, s_r)
    s_nd <- metric$update(mx.nd.array(b$label, dtype = dtype), mx.nd.array(b$pred, dtype = dtype),
                          s_nd)
    s_mix <- metric$update(b$label, mx.nd.array(b$pred, dtype = dtype), s_mix)
  }
  for (s in list(s_r, s_nd, s_mix)) {
    res <- metric$get(s)
    expect_equal(res$name, name)
    expect_equal(res$value, exp_val, tolerance = tol, info = name)
  }
}

test_that("classification metrics match R on random batches", {
  set.seed(1)
  batches <- lapply(1:3, function(i) rand_class_batch(7, 50))
  check_metric(mx.metric.accuracy, r_accuracy, batches, "accuracy")
  check_metric(mx.metric.top_k_accuracy, r_top_k, batches, "top_k_accuracy")
  check_metric(mx.metric.Perplexity, r_perplexity, batches, "Perplexity", tol = 1e-5)
  # multi-class log-loss: -mean(log p[label])
  check_metric(mx.metric.logloss,
               function(l, p) -mean(log(p[cbind(l + 1, seq_along(l))])), batches, "logloss",
               tol = 1e-5)
})

test_that("accuracy breaks ties towards the first class, like argmax", {
  pred <- matrix(c(0.5, 0.5, 0, 0.2, 0.4, 0.4), 3)
  m <- mx.metric.accuracy
  expect_equal(m$get(m$update(c(0, 1), pred, m$init()))$value, 1)
  expect_equal(m$get(m$update(mx.nd.array(c(0, 1)), mx.nd.array(pred), m$init()))$value, 1)
  expect_equal(m$get(m$update(c(1, 2), pred, m$init()))$value, 0)
})

test_that("top_k_accuracy counts ties like order() and handles k >= classes", {
  pred <- matrix(c(0.1, 0.3, 0.3, 0.3, 0.0, 0.0), 6, 1)
  l <- 0:5
  pm <- pred[, rep(1, 6)]
  m <- mx.metric.top_k_accuracy
  # top 5 of (0.1, 0.3, 0.3, 0.3, 0, 0): classes 2, 3, 4, 1, 5 (1-based)
  expect_equal(m$get(m$update(l, pm, m$init()))$value, r_top_k(l, pm))
  expect_equal(r_top_k(l, pm), 5 / 6)
  few <- matrix(runif(6), 3)
  expect_equal(m$get(m$update(c(0, 2), few, m$init()))$value, 1)
})

test_that("accuracy uses the class dimension of higher-dimensional predictions", {
  set.seed(4)
  # R dims c(W, C, N): classes on the second-to-last R dim (engine axis 1)
  p <- array(runif(4 * 3 * 5), c(4, 3, 5))
  l <- array(sample(0:2, 20, TRUE), c(4, 5))
  cls <- apply(p, c(1, 3), which.max) - 1
  want <- mean(cls == l)
  m <- mx.metric.accuracy
  expect_equal(m$get(m$update(l, p, m$init()))$value, want)
  expect_equal(m$get(m$update(mx.nd.array(l), mx.nd.array(p), m$init()))$value, want)
})

test_that("regression metrics match R on random batches", {
  set.seed(2)
  batches <- lapply(1:4, function(i) list(label = runif(30, 0, 3), pred = runif(30, 0, 3)))
  check_metric(mx.metric.mse, r_mse, batches, "mse")
  check_metric(mx.metric.rmse, r_rmse, batches, "rmse")
  check_metric(mx.metric.mae, r_mae, batches, "mae")
  check_metric(mx.metric.rmsle, r_rmsle, batches, "rmsle")
  check_metric(mx.metric.mse, r_mse, batches, "mse", tol = 1e-12, dtype = "float64")
  # a c(1, N) prediction against N labels
  b <- list(list(label = runif(10), pred = matrix(runif(10), 1)))
  check_metric(mx.metric.rmse, function(l, p) r_rmse(l, as.vector(p)), b, "rmse")
  expect_error(mx.metric.mse$update(1:3, 1:4, mx.metric.mse$init()), "labels")
})

test_that("binary log-loss and logistic accuracy match R", {
  set.seed(3)
  batches <- lapply(1:3, function(i) {
    p <- runif(25)
    p[1:2] <- c(0, 1)          # clipped at 1e-15
    list(label = rbinom(25, 1, 0.5), pred = p)
  })
  batches[[1]]$label[1:2] <- c(0, 1)
  check_metric(mx.metric.logloss, r_logloss, batches, "logloss", tol = 1e-6)
  check_metric(mx.metric.logistic_acc, r_logistic_acc, batches, "accuracy")
  # certain and right: the clipped loss is tiny but finite
  v <- mx.metric.logloss$get(mx.metric.logloss$update(mx.nd.array(c(1, 0)), mx.nd.array(c(1, 0)),
                                                      mx.metric.logloss$init()))$value
  expect_true(is.finite(v))
  expect_lt(v, 1e-10)
})

test_that("Perplexity ignores labels equal to -1", {
  pred <- matrix(c(0.5, 0.5, 0.2, 0.8, 0.9, 0.1), 2)
  l <- c(0, -1, 0)
  want <- exp(-mean(log(c(0.5, 0.9))))
  m <- mx.metric.Perplexity
  expect_equal(m$get(m$update(l, pred, m$init()))$value, want)
  expect_equal(m$get(m$update(mx.nd.array(l), mx.nd.array(pred, dtype = "float64"), m$init()))$value,
               want, tolerance = 1e-12)
})

test_that("values are the mean of per-batch values (not pooled)", {
  m <- mx.metric.accuracy
  s <- m$init()
  s <- m$update(c(0, 0), matrix(c(1, 0, 1, 0), 2), s)                # 2 of 2 right
  s <- m$update(c(1, 1, 1, 1), matrix(c(1, 0, 1, 0, 1, 0, 0, 1), 2), s)   # 1 of 4 right
  expect_equal(m$get(s)$value, (1 + 0.25) / 2)
  expect_equal(s, c(2, 1.25))
  expect_true(is.nan(m$get(m$init())$value))
})

test_that("mx.metric.custom wraps an R function", {
  m <- mx.metric.custom("maxerr", function(label, pred) max(abs(as.array(label) - as.array(pred))))
  s <- m$update(mx.nd.array(c(1, 2)), mx.nd.array(c(1, 4)), m$init())
  s <- m$update(c(0, 0), c(1, 0), s)
  expect_equal(m$get(s), list(name = "maxerr", value = 1.5))
  # a feval returning an NDArray works too
  m2 <- mx.metric.custom("s", function(label, pred) mx.nd.array(sum(pred)))
  expect_equal(m2$get(m2$update(NULL, 1:3, m2$init()))$value, 6)
  expect_error(mx.metric.custom("x", 3), "feval")
})
