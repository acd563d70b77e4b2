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

test_that("fuzz: attributes of the wrong type or length give io errors naming the file and node", {
  # tools/fuzz/findings/interop-onnx-pads-3.onnx: 3 pads for a 2-D window
  # ("missing value where TRUE/FALSE needed" before the fix)
  f <- tiny_model(list(node("MaxPool", "x", "y", list(kernel_shape = c(2L, 2L), pads = c(1L, 1L, 1L)))),
                  xdims = c(1, 1, 4, 4))
  expect_error(mx.onnx.import(f), paste0(basename(f), ".*MaxPool 'y'.*pads holds 3 values"),
               class = "mxnet_io_error")
  # tools/fuzz/findings/interop-onnx-shape-string.onnx: Reshape's shape as a
  # STRING ("non-numeric argument to mathematical function"), and a FLOAT
  # kernel_shape
  f <- tiny_model(list(node("Reshape", "x", "y", list(shape = "3,2"))))
  expect_error(mx.onnx.import(f), "attribute 'shape' has type 3, ONNX defines 7", class = "mxnet_io_error")
  f <- tiny_model(list(node("MaxPool", "x", "y", list(kernel_shape = 2.5))), xdims = c(1, 1, 4, 4))
  expect_error(mx.onnx.import(f), "attribute 'kernel_shape' has type 1", class = "mxnet_io_error")
  # the well-typed versions import
  f <- tiny_model(list(node("Reshape", "x", "y", list(shape = c(3L, 2L)))))
  expect_s3_class(mx.onnx.import(f), "MXFeedForwardModel")
})

test_that("review: a tensor of dims (0, 2^40, 2) is refused as a claimed shape", {
  # tools/fuzz/findings/interop-onnx-tensor-dims-0-2e40.pb (before: "malformed
  # file (the dims contain missing values)" from array(), through the guard)
  f <- tempfile(fileext = ".pb")
  writeBin(c(enc$pb.ints(1, c(0, 2^40, 2)), enc$pb.int(2, 1)), f)
  expect_error(mx.onnx.read.tensor(f), "claims the shape \\(0, 1099511627776, 2\\)", class = "mxnet_io_error")
})

test_that("review: a negative axis beyond the rank is an io error (Flatten, Softmax before opset 13, Concat)", {
  # tools/fuzz/findings/interop-onnx-flatten-axis-minus-5.onnx: seq_len() of a
  # negative count failed with "argument must be coercible to non-negative integer"
  for (m in list(list("Flatten", 13), list("Softmax", 11), list("Concat", 13))) {
    f <- tiny_model(list(node(m[[1]], "x", "y", list(axis = -5L))), xdims = c(2, 3, 4), opset = m[[2]])
    expect_error(mx.onnx.import(f), paste0(basename(f), ".*axis -5 is outside the rank 3"), class = "mxnet_io_error")
  }
  f <- tiny_model(list(node("Flatten", "x", "y", list(axis = -1L))), xdims = c(2, 3, 4))
  expect_identical(mx.symbol.infer.shape(mx.onnx.import(f)$symbol, x = c(4, 3, 2))$out.shapes[[1]], c(4L, 6L))
})

test_that("review: a NaN float attribute and an int field with a fixed wire type are io errors", {
  # tools/fuzz/findings/interop-onnx-gemm-alpha-nan.onnx ("missing value where
  # TRUE/FALSE needed" in the Gemm converter) and
  # interop-onnx-opset-fixed64-nan.onnx (the opset read as a NaN double)
  f <- tiny_model(list(node("Gemm", c("x", "w"), "y", list(alpha = NaN, transB = 1L))), list(w = matrix(1, 4, 3)))
  expect_error(mx.onnx.import(f), "float attribute 'alpha' is NaN", class = "mxnet_io_error")
  g <- c(enc$pb.bytes(1, node("Relu", "x", "y")), enc$pb.bytes(11, enc$onnx.enc.value.info("x", c(2, 3))),
         enc$pb.bytes(12, enc$pb.str(1, "y")))
  writeBin(c(enc$pb.int(1, 7), enc$pb.bytes(7, g),
             enc$pb.bytes(8, c(enc$pb.str(1, ""), enc$pb.key(2, 1), as.raw(c(0, 0, 0, 0, 0, 0, 0xf8, 0x7f))))), f)
  expect_error(mx.onnx.import(f), "OperatorSetId.version \\(field 2\\) has wire type 1", class = "mxnet_io_error")
  f <- tiny_model(list(node("Gemm", c("x", "w"), "y", list(alpha = 2, transB = 1L))), list(w = matrix(1, 4, 3)))
  expect_equal(as.array(mx.onnx.import(f)$arg.params$y_weight), matrix(2, 4, 3))
})

test_that("review: inputs without a name and nodes without an output are io errors naming the file", {
  # tools/fuzz/findings/interop-onnx-input-without-name.onnx: the nameless
  # input reached mx.symbol.Variable ("argument 'name' must be a single
  # string", a value error without the file)
  mk <- function(g) {
    f <- tempfile(fileext = ".onnx")
    writeBin(c(enc$pb.int(1, 7), enc$pb.bytes(7, g), enc$pb.bytes(8, c(enc$pb.str(1, ""), enc$pb.int(2, 13)))), f)
    f
  }
  x <- enc$pb.bytes(11, enc$onnx.enc.value.info("x", c(2, 3)))
  y <- enc$pb.bytes(12, enc$pb.str(1, "y"))
  relu <- enc$pb.bytes(1, node("Relu", "x", "y"))
  for (g in list(c(relu, enc$pb.bytes(11, enc$pb.bytes(2, raw())), x, y),
                 c(relu, enc$pb.bytes(11, enc$onnx.enc.value.info("", c(2, 3))), y), c(relu, x, enc$pb.bytes(12, raw())))) {
    f <- mk(g)
    expect_error(mx.onnx.import(f), paste0(basename(f), ": a graph input or output has no name"), class = "mxnet_io_error")
  }
  for (out in list(raw(), enc$pb.str(2, ""))) {
    f <- mk(c(enc$pb.bytes(1, c(enc$pb.str(1, "x"), out, enc$pb.str(4, "Relu"))), x, y))
    expect_error(mx.onnx.import(f), paste0(basename(f), ": a Relu node has no output name"), class = "mxnet_io_error")
  }
  expect_s3_class(mx.onnx.import(mk(c(relu, x, y))), "MXFeedForwardModel")
  f <- tiny_model(list(node("Concat", character(), "y")))     # was a Concat symbol of no inputs
  expect_error(mx.onnx.import(f), "Concat 'y' has no inputs", class = "mxnet_io_error")
})

# ---------------------------------------------------------------- libonnx-testdata

onnx_testdata <- "/usr/share/libonnx-testdata/data"
# The single-op and small models of Debian's libonnx-testdata whose ops map
# to ours. Left out (import refuses them with mxnet_unsupported_error, see
# the next test): auto_pad SAME_*, pooling dilations and Indices outputs, 3-D
# pooling and convolution, 4-D MatMul, BatchNormalization training mode,
# Dropout's mask output, Reshape with a run-time shape input (ours needs a
# constant), optional/sequence types. pytorch-operator's add_* models feed
# uninitialised float64 tensors whose values overflow float32.
# logsoftmax_large_number is left out: our log_softmax loses float32
# precision on inputs near 1e4 (2.4e-4 off; a matter of the op, not import).
onnx_node_tests <- c(
  paste0("node/test_", c(
    "add", "add_bcast", "sub", "sub_bcast", "sub_example", "mul", "mul_bcast", "mul_example",
    "div", "div_bcast", "div_example",
    "averagepool_1d_default", "averagepool_2d_ceil", "averagepool_2d_default", "averagepool_2d_pads",
    "averagepool_2d_pads_count_include_pad", "averagepool_2d_precomputed_pads",
    "averagepool_2d_precomputed_pads_count_include_pad", "averagepool_2d_precomputed_strides",
    "averagepool_2d_strides", "maxpool_1d_default", "maxpool_2d_ceil", "maxpool_2d_default",
    "maxpool_2d_pads", "maxpool_2d_precomputed_pads", "maxpool_2d_precomputed_strides", "maxpool_2d_strides",
    "globalaveragepool", "globalaveragepool_precomputed", "globalmaxpool", "globalmaxpool_precomputed",
    "batchnorm_epsilon", "batchnorm_example",
    paste0("concat_", c("1d_axis_0", "1d_axis_negative_1", "2d_axis_0", "2d_axis_1", "2d_axis_negative_1",
                        "2d_axis_negative_2", "3d_axis_0", "3d_axis_1", "3d_axis_2", "3d_axis_negative_1",
                        "3d_axis_negative_2", "3d_axis_negative_3")),
    "conv_with_strides_and_asymmetric_padding", "conv_with_strides_no_padding", "conv_with_strides_padding",
    "dropout_default", "dropout_default_old", "dropout_random_old", "identity",
    paste0("flatten_", c("axis0", "axis1", "axis2", "axis3", "default_axis", "negative_axis1",
                         "negative_axis2", "negative_axis3", "negative_axis4")),
    paste0("gemm_", c("all_attributes", "alpha", "beta", "default_matrix_bias", "default_no_bias",
                      "default_scalar_bias", "default_single_elem_vector_bias", "default_vector_bias",
                      "default_zero_bias", "transposeA", "transposeB")),
    "lrn", "lrn_default", "matmul_2d", "matmul_3d", "relu", "sigmoid", "sigmoid_example", "tanh", "tanh_example",
    "softplus", "softplus_example",
    "leakyrelu", "leakyrelu_default", "leakyrelu_example",
    paste0("softmax_", c("axis_0", "axis_1", "axis_2", "default_axis", "example", "large_number", "negative_axis")),
    paste0("logsoftmax_", c("axis_0", "axis_1", "axis_2", "default_axis", "example_1", "negative_axis")),
    paste0("transpose_all_permutations_", 0:5), "transpose_default")),
  paste0("pytorch-converted/test_", c(
    "AvgPool2d", "AvgPool2d_stride", "BatchNorm1d_3d_input_eval", "BatchNorm2d_eval",
    "BatchNorm2d_momentum_eval", "BatchNorm3d_eval", "BatchNorm3d_momentum_eval",
    "Conv1d", "Conv1d_dilated", "Conv1d_groups", "Conv1d_pad1", "Conv1d_pad1size1", "Conv1d_pad2",
    "Conv1d_pad2size1", "Conv1d_stride", "Conv2d", "Conv2d_depthwise", "Conv2d_depthwise_padded",
    "Conv2d_depthwise_strided", "Conv2d_depthwise_with_multiplier", "Conv2d_dilated", "Conv2d_groups",
    "Conv2d_groups_thnn", "Conv2d_no_bias", "Conv2d_padding", "Conv2d_strided", "LeakyReLU",
    "LeakyReLU_with_negval", "Linear", "Linear_no_bias", "LogSoftmax", "MaxPool1d", "MaxPool1d_stride",
    "MaxPool2d", "PixelShuffle", "ReLU", "Sigmoid", "Softmax", "Tanh", "log_softmax_dim3",
    "log_softmax_lastdim", "softmax_functional_dim3", "softmax_lastdim")),
  paste0("pytorch-operator/test_operator_", c("addmm", "concat2", "conv", "flatten", "maxpool", "mm",
                                              "non_float_params", "permute2", "view")),
  "simple/test_single_relu_model")

# Import one test model, feed test_data_set_0's inputs (the graph inputs
# that are not initializers, in order) and return list(got, expected).
onnx_run_testdata <- function(dir) {
  d <- file.path(onnx_testdata, dir)
  m <- mx.onnx.import(file.path(d, "model.onnx"))
  model <- mxnet:::onnx.read.model(file.path(d, "model.onnx"))
  ins <- lapply(sort(Sys.glob(file.path(d, "test_data_set_0", "input_*.pb"))), mx.onnx.read.tensor)
  free <- setdiff(vapply(model$inputs, `[[`, "", "name"), names(model$initializers))
  names(ins) <- free[seq_along(ins)]
  ref <- mx.onnx.read.tensor(file.path(d, "test_data_set_0", "output_0.pb"))
  list(got = onnx_forward(m$symbol, c(lapply(ins, strip), onnx_params(m))), expected = strip(ref))
}

test_that("libonnx-testdata models of our ops match their reference outputs", {
  skip_if_not(dir.exists(onnx_testdata), "libonnx-testdata is not installed: no ONNX reference models")
  for (t in onnx_node_tests) {
    r <- onnx_run_testdata(t)
    expect_equal(as.vector(r$got), as.vector(r$expected), tolerance = 1e-5, info = t)
    if (!is.null(dim(r$expected))) expect_equal(dim(r$got), dim(r$expected), info = t)
  }
})

test_that("libonnx-testdata models outside our op set are refused with the reason", {
  skip_if_not(dir.exists(onnx_testdata), "libonnx-testdata is not installed: no ONNX reference models")
  refused <- c(averagepool_2d_same_upper = "SAME_UPPER", maxpool_2d_dilations = "dilations",
               maxpool_with_argmax_2d_precomputed_pads = "Indices", conv_with_autopad_same = "SAME_LOWER",
               matmul_4d = "ranks 4 and 4", batchnorm_example_training_mode = "training mode",
               dropout_default_mask = "mask", maxpool_3d_default = "3-D windows", abs = "'Abs' is not supported",
               reshape_reordered_all_dims = "must be a constant")
  for (t in names(refused)) {
    f <- file.path(onnx_testdata, "node", paste0("test_", t), "model.onnx")
    expect_error(mx.onnx.import(f), refused[[t]], class = "mxnet_unsupported_error", info = t)
    expect_error(mx.onnx.import(f), paste0("test_", t, "/model.onnx"), info = t)
  }
})

# ---------------------------------------------------------------- checks in Python

has_onnx_py <- function() file.exists("/usr/bin/python3") &&
  system2("/usr/bin/python3", c("-c", shQuote("import onnx, torch")), stdout = FALSE, stderr = FALSE) == 0
# onnx.checker and an independent evaluation (torch functional ops, and
# onnxruntime where installed) of `f` on x; returns the evaluated output.
python_check <- function(f, x) {
  xin <- tempfile(fileext = ".pb"); yout <- tempfile(fileext = ".pb")
  writeBin(enc$onnx.enc.tensor("x", x), xin)
  out <- system2("/usr/bin/python3", c(test_path("fixtures", "check-onnx.py"), f, xin, yout),
                 stdout = TRUE, stderr = TRUE)
  expect_true("checker ok" %in% out, info = paste(out, collapse = "\n"))
  ort <- grep("^onnxruntime-diff", out, value = TRUE)
  if (length(ort)) expect_lt(as.numeric(sub("onnxruntime-diff ", "", ort)), 1e-4)
  else message("onnxruntime is not installed: outputs checked with PyTorch's functional ops only")
  strip(mx.onnx.read.tensor(yout))
}

# ---------------------------------------------------------------- export

# ResNet-20 for 32x32x3 images (He et al.: 3 stages of 3 basic blocks, 16,
# 32 and 64 filters, 1x1 projections where the stage halves the size).
resnet20 <- function(classes = 10) {
  cbr <- function(x, nf, stride, name, relu = TRUE, k = 3) {
    c <- mx.symbol.Convolution(x, kernel = c(k, k), stride = c(stride, stride), pad = rep((k - 1) / 2, 2),
                               num_filter = nf, no_bias = TRUE, name = paste0(name, "_conv"))
    b <- mx.symbol.BatchNorm(c, fix_gamma = FALSE, eps = 1e-5, name = paste0(name, "_bn"))
    if (relu) mx.symbol.Activation(b, act_type = "relu", name = paste0(name, "_relu")) else b
  }
  x <- mx.symbol.Variable("data")
  x <- mx.symbol.BatchNorm(x, name = "bn_data")  # fix_gamma = TRUE: exported with a gamma of ones
  x <- cbr(x, 16, 1, "stem")
  for (s in 1:3) for (u in 1:3) {
    nf <- 16 * 2^(s - 1); stride <- if (s > 1 && u == 1) 2 else 1; nm <- sprintf("s%du%d", s, u)
    y <- cbr(cbr(x, nf, stride, paste0(nm, "a")), nf, 1, paste0(nm, "b"), relu = FALSE)
    sc <- if (stride == 2) cbr(x, nf, 2, paste0(nm, "p"), relu = FALSE, k = 1) else x
    x <- mx.symbol.Activation(y + sc, act_type = "relu", name = paste0(nm, "_out"))
  }
  p <- mx.symbol.Pooling(x, global_pool = TRUE, kernel = c(1, 1), pool_type = "avg", name = "gap")
  fc <- mx.symbol.FullyConnected(mx.symbol.Flatten(p), num_hidden = classes, name = "fc")
  mx.symbol.SoftmaxOutput(fc, name = "softmax")
}
# Random parameters and BatchNorm statistics for a symbol.
random_model <- function(sym, shape, seed, ...) {
  set.seed(seed)
  sh <- mx.symbol.infer.shape(sym, data = shape, ...)
  rnd <- function(s, n) if (grepl("moving_var$", n)) array(runif(prod(s), 0.5, 1.5), s)
                        else array(rnorm(prod(s), sd = if (grepl("weight$", n)) sqrt(2 / prod(s[-length(s)])) else 0.1), s)
  args <- setdiff(names(sh$arg.shapes), c("data", "softmax_label"))
  list(symbol = sym, arg.params = lapply(stats::setNames(args, args), function(n) mx.nd.array(rnd(sh$arg.shapes[[n]], n))),
       aux.params = lapply(stats::setNames(names(sh$aux.shapes), names(sh$aux.shapes)),
                           function(n) mx.nd.array(rnd(sh$aux.shapes[[n]], n))))
}
# Our forward of a model on x (labels, if any, are zeros).
model_forward <- function(m, x) {
  v <- c(list(data = x), onnx_params(m))
  if ("softmax_label" %in% arguments(m$symbol)) v$softmax_label <- numeric(dim(x)[length(dim(x))])
  onnx_forward(m$symbol, v)
}
# The re-imported file's forward on x.
reimport_forward <- function(f, x) {
  m <- mx.onnx.import(f)
  onnx_forward(m$symbol, c(stats::setNames(list(x), names(m$input.shape)[1L]), onnx_params(m)))
}
trained_lenet <- function() {
  set.seed(3)
  X <- array(runif(28 * 28 * 64), c(28, 28, 1, 64)); y <- sample(0:9, 64, TRUE)
  mx.set.seed(3)
  mx.model.FeedForward.create(get_symbol(10), X = X, y = y, ctx = mx.cpu(), num.round = 1,
                              array.batch.size = 32, learning.rate = 0.05, verbose = FALSE)
}

test_that("an exported LeNet from FeedForward.create re-imports with the same outputs", {
  m <- trained_lenet()
  f <- tempfile(fileext = ".onnx")
  expect_identical(mx.onnx.export(m, f, input.shape = c(28, 28, 1, 4)), f)
  x <- array(runif(28 * 28 * 4), c(28, 28, 1, 4))
  ours <- model_forward(m, x)
  expect_equal(reimport_forward(f, x), ours, tolerance = 1e-6)
  expect_equal(ours, predict(m, x), tolerance = 1e-5)
  m2 <- mx.onnx.import(f)
  expect_setequal(names(m2$arg.params), names(m$arg.params))
  expect_false("softmax_label" %in% arguments(m2$symbol))
})

test_that("an exported ResNet-20 (BatchNorm, residual adds, global pooling) re-imports with the same outputs", {
  m <- random_model(resnet20(), c(32, 32, 3, 2), 5)
  f <- tempfile(fileext = ".onnx")
  mx.onnx.export(m, f, input.shape = list(data = c(32, 32, 3, 2)))
  x <- array(rnorm(32 * 32 * 3 * 2), c(32, 32, 3, 2))
  expect_equal(reimport_forward(f, x), model_forward(m, x), tolerance = 1e-5)
  m2 <- mx.onnx.import(f)
  expect_length(m2$aux.params, 2L * 22L)  # 21 conv BatchNorms + bn_data: mean and variance each
  expect_equal(as.array(m2$arg.params$bn_data_fixed_gamma), rep(1, 3))
})

# One of each remaining exported op: Concat, LeakyReLU, softrelu, average
# pooling with the full convention, Reshape, transpose, dot, the scalar
# forms, elementwise sub/mul/div, Dropout, log_softmax.
many_ops <- function() {
  x <- mx.symbol.Variable("data")
  a <- mx.symbol.Convolution(x, kernel = c(3, 3), pad = c(1, 1), num_filter = 3, name = "ca")
  b <- mx.symbol.LeakyReLU(mx.symbol.Convolution(x, kernel = c(1, 1), num_filter = 2, name = "cb"),
                           act_type = "leaky", slope = 0.2, name = "lk")
  z <- mx.symbol.Concat(mx.symbol.Activation(a, act_type = "softrelu", name = "sp"), b, dim = 1, name = "cat")
  z <- mx.symbol.Pooling(z, kernel = c(3, 3), stride = c(2, 2), pool_type = "avg",
                         pooling_convention = "full", name = "ap")   # 8x8 -> 4x4 (floor: 3x3)
  z <- mx.symbol.Dropout(z, p = 0.5, name = "drop")
  z <- mx.symbol.Reshape(z, shape = c(16, 5, 0), name = "rs")        # R order: C (N, 5, 16)
  z <- mx.symbol.transpose(z, axes = "(0, 2, 1)", name = "tr")       # C (N, 16, 5)
  z <- mx.symbol.Reshape(z, shape = c(80, -1), name = "flat")        # C (N, 80)
  w <- mx.symbol.Variable("w")
  z <- mx.symbol.dot(z, w, name = "mm")                              # C (N, 80) x (80, 6)
  z <- (1 - z * 0.5) / 2 + z / (z * z + 1) - z
  mx.symbol.log_softmax(z + 0.1, axis = -1, name = "out")
}

test_that("the other exported ops re-import with the same outputs", {
  m <- random_model(many_ops(), c(8, 8, 1, 2), 9, w = c(6, 80))
  f <- tempfile(fileext = ".onnx")
  mx.onnx.export(m, f, input.shape = c(8, 8, 1, 2))
  x <- array(rnorm(8 * 8 * 2), c(8, 8, 1, 2))
  ours <- model_forward(m, x)
  expect_equal(dim(ours), c(6, 2))
  expect_equal(reimport_forward(f, x), ours, tolerance = 1e-5)
  skip_if_not(has_onnx_py(), "python3-onnx or python3-torch is not installed: no onnx.checker / PyTorch check")
  expect_equal(python_check(f, x), ours, tolerance = 1e-5)
})

test_that("LRN exports, re-imports and matches PyTorch's local_response_norm; even sizes are refused", {
  x <- mx.symbol.Variable("data")
  m <- list(symbol = mx.symbol.LRN(mx.symbol.Activation(x, act_type = "relu"), nsize = 3, alpha = 0.3,
                                   beta = 0.6, knorm = 1.5, name = "lrn"),
            arg.params = list(), aux.params = list())
  f <- tempfile(fileext = ".onnx")
  mx.onnx.export(m, f, input.shape = c(4, 3, 5, 2))
  xa <- array(rnorm(4 * 3 * 5 * 2), c(4, 3, 5, 2))
  ours <- model_forward(m, xa)
  # the R formula: channels are R dim 3
  r <- pmax(xa, 0); want <- r
  for (c in 1:5) {
    w <- max(1, c - 1):min(5, c + 1)
    want[, , c, ] <- r[, , c, ] / (1.5 + 0.3 / 3 * apply(r[, , w, , drop = FALSE]^2, c(1, 2, 4), sum))^0.6
  }
  expect_equal(ours, want, tolerance = 1e-5)
  expect_equal(reimport_forward(f, xa), ours, tolerance = 1e-5)
  g <- mxnet:::onnx.read.model(f)
  expect_true("LRN" %in% vapply(g$nodes, `[[`, "", "op"))
  even <- tiny_model(list(node("LRN", "x", "y", list(size = 2L))), xdims = c(1, 2, 3, 3))
  expect_error(mx.onnx.import(even), "size 2", class = "mxnet_unsupported_error")
  skip_if_not(has_onnx_py(), "python3-onnx or python3-torch is not installed: no onnx.checker / PyTorch check")
  expect_equal(python_check(f, xa), ours, tolerance = 1e-5)
})

test_that("export refuses what it cannot write, with classed errors", {
  x <- mx.symbol.Variable("data")
  m <- list(symbol = mx.symbol.exp(x), arg.params = list(), aux.params = list())
  err <- expect_error(mx.onnx.export(m, tempfile(), input.shape = c(3, 2)), class = "mxnet_unsupported_error")
  expect_match(conditionMessage(err), "op 'exp' .*not supported; supported: .*Convolution")
  m$symbol <- mx.symbol.Pooling(x, kernel = c(2, 2), pool_type = "sum")
  expect_error(mx.onnx.export(m, tempfile(), input.shape = c(4, 4, 1, 1)), "pool_type sum",
               class = "mxnet_unsupported_error")
  m$symbol <- mx.symbol.FullyConnected(x, num_hidden = 2, flatten = FALSE, name = "fc")
  m$arg.params <- list(fc_weight = mx.nd.zeros(c(4, 2)), fc_bias = mx.nd.zeros(2))
  expect_error(mx.onnx.export(m, tempfile(), input.shape = c(4, 3, 2)), "flatten = FALSE",
               class = "mxnet_unsupported_error")
  m$arg.params <- list()
  m$symbol <- mx.symbol.FullyConnected(x, num_hidden = 2, name = "fc")
  expect_error(mx.onnx.export(m, tempfile()), "input.shape", class = "mxnet_value_error")
  expect_error(mx.onnx.export(m, tempfile(), input.shape = c(3, 2)), "fc_weight", class = "mxnet_value_error")
  m$symbol <- mx.symbol.dot(x, mx.symbol.Variable("w"))
  expect_error(mx.onnx.export(m, tempfile(), input.shape = c(3, 2)), "do not determine", class = "mxnet_value_error")
  expect_error(mx.onnx.export(list(1), tempfile()), class = "mxnet_value_error")
  m$symbol <- mx.symbol.Activation(x, act_type = "relu")
  expect_error(suppressWarnings(mx.onnx.export(m, file.path(tempfile(), "no", "such.onnx"), input.shape = c(3, 2))),
               "cannot write", class = "mxnet_io_error")
})

test_that("exported LeNet and ResNet-20 pass onnx.checker and PyTorch gives our outputs", {
  skip_if_not(has_onnx_py(), "python3-onnx or python3-torch is not installed: no onnx.checker / PyTorch check")
  m <- trained_lenet()
  f <- tempfile(fileext = ".onnx")
  mx.onnx.export(m, f, input.shape = c(28, 28, 1, 4))
  x <- array(runif(28 * 28 * 4), c(28, 28, 1, 4))
  expect_equal(python_check(f, x), model_forward(m, x), tolerance = 1e-5)
  m <- random_model(resnet20(), c(32, 32, 3, 2), 5)
  mx.onnx.export(m, f, input.shape = c(32, 32, 3, 2))
  x <- array(rnorm(32 * 32 * 3 * 2), c(32, 32, 3, 2))
  expect_equal(python_check(f, x), model_forward(m, x), tolerance = 1e-5)
})

test_that("a PyTorch model imported and exported again gives torch's outputs in PyTorch", {
  skip_if_not(has_onnx_py(), "python3-onnx or python3-torch is not installed: no PyTorch check")
  m <- mx.onnx.import(test_path("fixtures", "onnx_tiny_bn.onnx"))
  f <- tempfile(fileext = ".onnx")
  mx.onnx.export(m, f)
  x <- strip(mx.onnx.read.tensor(test_path("fixtures", "onnx_tiny_x.pb")))
  y <- strip(mx.onnx.read.tensor(test_path("fixtures", "onnx_tiny_y.pb")))
  expect_equal(python_check(f, x), y, tolerance = 1e-5)
})
