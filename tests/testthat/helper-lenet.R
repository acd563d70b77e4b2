# The talk's LeNet, exactly as on the slide.
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

# A network with BatchNorm and Concat (two branches).
bn_concat_net <- function() {
  data <- mx.symbol.Variable("data")
  c1 <- mx.symbol.Convolution(data = data, kernel = c(3, 3), pad = c(1, 1), num_filter = 4, name = "conv1")
  b1 <- mx.symbol.BatchNorm(data = c1, name = "bn1")
  a1 <- mx.symbol.Activation(data = b1, act_type = "relu", name = "relu1")
  c2 <- mx.symbol.Convolution(data = data, kernel = c(1, 1), num_filter = 2, name = "conv2")
  b2 <- mx.symbol.BatchNorm(data = c2, fix_gamma = FALSE, name = "bn2")
  cat <- mx.symbol.Concat(a1, b2, dim = 1, name = "concat")
  p <- mx.symbol.Pooling(data = cat, global_pool = TRUE, kernel = c(1, 1), pool_type = "avg", name = "gpool")
  fc <- mx.symbol.FullyConnected(data = mx.symbol.Flatten(p), num_hidden = 3, name = "fc")
  mx.symbol.SoftmaxOutput(data = fc, name = "softmax")
}

# A deep MLP: `layers` hidden layers of `width`.
deep_mlp <- function(layers = 50, width = 64, classes = 10) {
  net <- mx.symbol.Variable("data")
  for (i in seq_len(layers)) {
    net <- mx.symbol.FullyConnected(data = net, num_hidden = width, name = paste0("fc", i))
    net <- mx.symbol.Activation(data = net, act_type = "relu", name = paste0("relu", i))
  }
  net <- mx.symbol.FullyConnected(data = net, num_hidden = classes, name = "out")
  mx.symbol.SoftmaxOutput(data = net, name = "softmax")
}
