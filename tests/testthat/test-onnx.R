# ONNX import and export (R/onnx.R).

# Forward of a symbol (first output) with named R arrays for its arguments
# and auxiliary states (mx.symbol.bind: ONNX names such as "s" must not be
# partially matched against mx.simple.bind's arguments).
onnx_forward <- function(sym, values) {
  nd <- function(ns) lapply(values[ns], function(v) mx.nd.array(as.array(v)))
  ex <- mxnet:::mx.symbol.bind(sym, mx.cpu(), nd(arguments(sym)), nd(auxiliary.states(sym)), "null")
  mx.exec.forward(ex, is.train = FALSE)
  as.array(ex$outputs[[1L]])
}
onnx_params <- function(m) lapply(c(m$arg.params, m$aux.params), as.array)
strip <- function(a) { attr(a, "name") <- NULL; a }
enc <- asNamespace("mxnet")

# A hand-built model: the nodes given (NodeProto bytes), float initializers,
# one input "x" of shape `xdims` (C order) and the output "y".
tiny_model <- function(nodes, inits = list(), xdims = c(2, 3), opset = 13) {
  vi <- function(n, d) enc$pb.bytes(if (n == "x") 11 else 12, enc$onnx.enc.value.info(n, d))
  g <- c(unlist(lapply(nodes, function(n) enc$pb.bytes(1, n))),
         unlist(lapply(names(inits), function(n) enc$pb.bytes(5, enc$onnx.enc.tensor(n, inits[[n]])))),
         vi("x", xdims), enc$pb.bytes(12, enc$pb.str(1, "y")))
  f <- tempfile(fileext = ".onnx")
  writeBin(c(enc$pb.int(1, 7), enc$pb.bytes(7, g), enc$pb.bytes(8, c(enc$pb.str(1, ""), enc$pb.int(2, opset)))), f)
  f
}
node <- function(op, inputs, output, attrs = list()) enc$onnx.enc.node(op, inputs, output, output, attrs)

test_that("the protobuf encoder writes varints (negative int64 too) that the decoder reads back", {
  for (v in c(0, 1, 127, 128, 300, 2^31, 2^40 + 5, -1, -2, -300)) {
    b <- enc$pb.ints(1, v)
    s <- .Call(enc$C_mx_r_pb_scan, b, 0, length(b))
    expect_equal(.Call(enc$C_mx_r_pb_varints, b, s$offset, s$length), v)
  }
  expect_length(enc$pb.varint(-1), 10L)
})

test_that("Gemm (transB, alpha, beta), Relu and Softmax import and match R", {
  set.seed(1)
  W <- matrix(rnorm(12), 4, 3)  # C shape (3, 4): B of x (2,3) %*% B -> (2, 4)
  b <- rnorm(4)
  f <- tiny_model(list(node("Gemm", c("x", "W", "b"), "g", list(alpha = 2, beta = 0.5)),
                       node("Relu", "g", "r"), node("Softmax", "r", "y", list(axis = 1L))),
                  list(W = W, b = b))
  m <- mx.onnx.import(f)
  x <- matrix(rnorm(6), 3, 2)  # R dims of the C (2, 3) input
  ref <- pmax(2 * W %*% x + 0.5 * b, 0)   # R: column j = sample j
  ref <- apply(ref, 2, function(v) exp(v) / sum(exp(v)))
  expect_equal(onnx_forward(m$symbol, c(list(x = x), onnx_params(m))), ref, tolerance = 1e-5)
  expect_equal(m$input.shape, list(x = c(3, 2)))
  # transB = 1: B is stored (N, K) and used as FullyConnected's weight directly
  f2 <- tiny_model(list(node("Gemm", c("x", "W2", "b"), "y", list(transB = 1L))), list(W2 = t(W), b = b))
  m2 <- mx.onnx.import(f2)
  expect_equal(names(m2$arg.params), c("W2", "b"))
  expect_equal(onnx_forward(m2$symbol, c(list(x = x), onnx_params(m2))), W %*% x + b, tolerance = 1e-5)
})

test_that("PyTorch-exported CNNs (BatchNorm kept and folded) give torch's outputs", {
  x <- mx.onnx.read.tensor(test_path("fixtures", "onnx_tiny_x.pb"))
  y <- mx.onnx.read.tensor(test_path("fixtures", "onnx_tiny_y.pb"))
  expect_equal(dim(x), c(8, 8, 1, 2))
  expect_equal(attr(y, "name"), "y")
  for (f in c("onnx_tiny_bn.onnx", "onnx_tiny_folded.onnx")) {
    m <- mx.onnx.import(test_path("fixtures", f))
    expect_equal(m$input.shape, list(x = c(8, 8, 1, 2)))
    out <- onnx_forward(m$symbol, c(list(x = strip(x)), onnx_params(m)))
    expect_equal(out, strip(y), tolerance = 1e-5, info = f)
  }
  m <- mx.onnx.import(test_path("fixtures", "onnx_tiny_bn.onnx"))
  expect_length(m$aux.params, 2L)  # running mean and variance are auxiliary states
})

test_that("unsupported ops and attributes give classed errors that name them", {
  f <- tiny_model(list(node("Abs", "x", "y")))
  err <- expect_error(mx.onnx.import(f), class = "mxnet_unsupported_error")
  expect_match(conditionMessage(err), "'Abs' is not supported; supported: .*Conv.*Gemm")
  f <- tiny_model(list(node("MaxPool", "x", "y", list(kernel_shape = c(2L, 2L), auto_pad = "SAME_UPPER"))),
                  xdims = c(1, 1, 4, 4))
  expect_error(mx.onnx.import(f), "SAME_UPPER", class = "mxnet_unsupported_error")
  f <- tiny_model(list(node("MaxPool", "x", "y", list(kernel_shape = c(2L, 2L), pads = c(0L, 0L, 1L, 1L)))),
                  xdims = c(1, 1, 4, 4))
  expect_error(mx.onnx.import(f), "asymmetric pads", class = "mxnet_unsupported_error")
  f <- tiny_model(list(node("Reshape", c("x", "s"), "y")))
  expect_error(mx.onnx.import(f), "must be a constant", class = "mxnet_unsupported_error")
})

test_that("truncated files, absurd sizes and non-ONNX input give io errors naming the file", {
  src <- test_path("fixtures", "onnx_tiny_bn.onnx")
  b <- readBin(src, "raw", file.size(src))
  f <- tempfile(fileext = ".onnx")
  for (n in c(10, 100, 1000, length(b) - 7)) {
    writeBin(b[seq_len(n)], f)
    expect_error(mx.onnx.import(f), basename(f), class = "mxnet_io_error")
  }
  writeBin(charToRaw("hello, world"), f)
  expect_error(mx.onnx.import(f), basename(f), class = "mxnet_io_error")
  expect_error(mx.onnx.import(tempfile()), class = "mxnet_io_error")
  # a tensor claiming 2^40 x 2^40 elements and one whose raw data is short
  big <- c(enc$pb.ints(1, c(2^40, 2^40)), enc$pb.int(2, 1), enc$pb.bytes(9, as.raw(1:8)))
  writeBin(big, f)
  expect_error(mx.onnx.read.tensor(f), "claims the shape", class = "mxnet_io_error")
  short <- c(enc$pb.ints(1, c(2, 3)), enc$pb.int(2, 1), enc$pb.bytes(9, as.raw(1:8)))
  writeBin(short, f)
  expect_error(mx.onnx.read.tensor(f), "holds 8 bytes", class = "mxnet_io_error")
  odd <- c(enc$pb.ints(1, 2), enc$pb.int(2, 8), enc$pb.str(8, "s"))  # type 8: strings
  writeBin(odd, f)
  expect_error(mx.onnx.read.tensor(f), "data type 8", class = "mxnet_io_error")
})
