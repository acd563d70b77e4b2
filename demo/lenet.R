# The talk's LeNet ("Scalable Deep Learning Using MXNet"), unchanged, trained
# on Fashion-MNIST (Debian's dataset-fashion-mnist package) on the CPU.
# Shows progress per batch, train/validation accuracy and time per epoch,
# saves a checkpoint, reloads it and predicts the test set.
#
#   R_LIBS=.lib Rscript demo/lenet.R [epochs]
library(mxnet)
args <- commandArgs(trailingOnly = TRUE)
epochs <- if (length(args)) as.integer(args[[1]]) else 5L
dir <- Sys.getenv("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
files <- file.path(dir, c("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"))
if (!all(file.exists(files)))
  stop("Fashion-MNIST not found in ", dir, " (apt-get install dataset-fashion-mnist)")

# ---- the talk's code, unchanged ------------------------------------------
get_symbol <- function(num_classes = 1000) {
  data <- mx.symbol.Variable('data')
  conv1 <- mx.symbol.Convolution(data = data, kernel = c(5, 5), num_filter = 20)
  tanh1 <- mx.symbol.Activation(data = conv1, act_type = "tanh")
  pool1 <- mx.symbol.Pooling(data = tanh1, pool_type = "max", kernel = c(2, 2), stride = c(2, 2))
  conv2 <- mx.symbol.Convolution(data = pool1, kernel = c(5, 5), num_filter = 50)
  tanh2 <- mx.symbol.Activation(data = conv2, act_type = "tanh")
  pool2 <- mx.symbol.Pooling(data = tanh2, pool_type = "max", kernel = c(2, 2), stride = c(2, 2))
  flatten <- mx.symbol.Flatten(data = pool2)
  fc1 <- mx.symbol.FullyConnected(data = flatten, num_hidden = 500)
  tanh3 <- mx.symbol.Activation(data = fc1, act_type = "tanh")
  fc2 <- mx.symbol.FullyConnected(data = tanh3, num_hidden = num_classes)
  lenet <- mx.symbol.SoftmaxOutput(data = fc2, name = 'softmax')
  return(lenet)
}
# ---------------------------------------------------------------------------

cat("mxnet threads:", mx.threads(), "\n")
train <- mx.io.MNISTIter(image = files[1], label = files[2], batch.size = 128,
                         shuffle = TRUE, flat = FALSE, seed = 1)
test <- mx.io.MNISTIter(image = files[3], label = files[4], batch.size = 100,
                        shuffle = FALSE, flat = FALSE)
lenet <- get_symbol(num_classes = 10)
print(mx.symbol.infer.shape(lenet, data = c(28, 28, 1, 128))$arg.shapes)

set.seed(0)
t0 <- proc.time()[["elapsed"]]
model <- mx.model.FeedForward.create(
  lenet, X = train, eval.data = test, ctx = mx.cpu(), num.round = epochs,
  learning.rate = 0.05, momentum = 0.9, wd = 0.00001,
  eval.metric = mx.metric.accuracy,
  batch.end.callback = mx.callback.log.speedometer(batch.size = 128, frequency = 100))
cat(sprintf("training: %.1f s for %d epochs\n", proc.time()[["elapsed"]] - t0, epochs))

prefix <- file.path(tempdir(), "lenet")
mx.model.save(model, prefix, epochs)
reloaded <- mx.model.load(prefix, epochs)
test.x <- mx.io.extract(test, "data")
test.y <- mx.io.extract(test, "label")
prob <- predict(reloaded, test.x)
acc <- mean(max.col(t(prob)) - 1 == test.y)
same <- identical(prob, predict(model, test.x))
cat(sprintf("test accuracy after %d epochs (reloaded checkpoint): %.4f; same predictions as before saving: %s\n",
            epochs, acc, same))
