# Half-precision training (MXNet's recipe), for the benchmark scripts: the
# net with its data cast to dtype at the input and its scores cast back to
# float32 before the loss (a SoftmaxOutput named "softmax"); simple.bind then
# gives dtype weights (BatchNorm's stay float32), and the updater keeps
# float32 master copies of them. float32: the net itself.
cast_net <- function(net, dtype) {
  if (dtype == "float32") return(net)
  scores <- children(net)[[1]]    # SoftmaxOutput's data
  body <- mx.apply(scores, data = mx.symbol.Cast(mx.symbol.Variable("data"), dtype = dtype,
                                                 name = "data_cast"))
  mx.symbol.SoftmaxOutput(mx.symbol.Cast(body, dtype = "float32", name = "scores_cast"),
                          name = "softmax")
}
