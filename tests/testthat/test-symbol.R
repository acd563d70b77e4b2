# Symbols: composition, MXNet's naming, shape inference, JSON, attributes.

test_that("the talk's LeNet has MXNet's argument names and shapes (R order)", {
  mx.symbol.reset.names()
  lenet <- get_symbol(num_classes = 10)
  expect_identical(arguments(lenet),
    c("data", "convolution0_weight", "convolution0_bias", "convolution1_weight",
      "convolution1_bias", "fullyconnected0_weight", "fullyconnected0_bias",
      "fullyconnected1_weight", "fullyconnected1_bias", "softmax_label"))
  expect_identical(outputs(lenet), "softmax_output")
  expect_identical(auxiliary.states(lenet), character(0))
  sh <- mx.symbol.infer.shape(lenet, data = c(28, 28, 1, 128))
  expect_identical(sh$arg.shapes, list(
    data = c(28L, 28L, 1L, 128L), convolution0_weight = c(5L, 5L, 1L, 20L),
    convolution0_bias = 20L, convolution1_weight = c(5L, 5L, 20L, 50L),
    convolution1_bias = 50L, fullyconnected0_weight = c(800L, 500L),
    fullyconnected0_bias = 500L, fullyconnected1_weight = c(500L, 10L),
    fullyconnected1_bias = 10L, softmax_label = 128L))
  expect_identical(sh$out.shapes, list(softmax_output = c(10L, 128L)))
  # incomplete shapes give NULL
  expect_null(mx.symbol.infer.shape(lenet, softmax_label = 128))
  # a second LeNet counts on
  l2 <- get_symbol(10)
  expect_true("convolution2_weight" %in% arguments(l2))
})

test_that("BatchNorm and Concat: auxiliary states and shapes", {
  net <- bn_concat_net()
  expect_identical(arguments(net),
    c("data", "conv1_weight", "conv1_bias", "bn1_gamma", "bn1_beta", "conv2_weight",
      "conv2_bias", "bn2_gamma", "bn2_beta", "fc_weight", "fc_bias", "softmax_label"))
  expect_identical(auxiliary.states(net),
    c("bn1_moving_mean", "bn1_moving_var", "bn2_moving_mean", "bn2_moving_var"))
  sh <- mx.symbol.infer.shape(net, data = c(8, 8, 3, 5))
  expect_identical(sh$arg.shapes$conv1_weight, c(3L, 3L, 3L, 4L))
  expect_identical(sh$arg.shapes$bn2_gamma, 2L)
  expect_identical(sh$arg.shapes$fc_weight, c(6L, 3L))
  expect_identical(sh$aux.shapes$bn1_moving_var, 4L)
  expect_identical(sh$out.shapes$softmax_output, c(3L, 5L))
  internal <- internals(net)
  expect_true(all(c("concat_output", "bn1_output", "gpool_output") %in% outputs(internal)))
  expect_identical(outputs(internal[["concat_output"]]), "concat_output")
  expect_identical(arguments(children(internal[["concat_output"]])),
                   arguments(mx.symbol.Group(internal[["relu1_output"]], internal[["bn2_output"]])))
})

test_that("JSON round trips and is MXNet's format", {
  net <- bn_concat_net()
  j <- as.json(net)
  expect_match(j, "\"mxnet_version\": \\[\"int\", 10901\\]")
  expect_match(j, "\"op\": \"BatchNorm\"")
  expect_match(j, "\"kernel\": \"\\(3, 3\\)\"")
  back <- mx.symbol.load.json(j)
  expect_identical(as.json(back), j)
  expect_identical(arguments(back), arguments(net))
  expect_identical(auxiliary.states(back), auxiliary.states(net))
  f <- tempfile(fileext = ".json")
  mx.symbol.save(net, f)
  expect_identical(as.json(mx.symbol.load(f)), j)
  # R order is reversed into MXNet's order in the file
  s <- mx.symbol.Convolution(mx.symbol.Variable("data"), kernel = c(3, 5), num_filter = 2, name = "c")
  expect_match(as.json(s), "\"kernel\": \"\\(5, 3\\)\"")
  # operator names are canonical, not aliases
  expect_match(as.json(mx.symbol.Softmax(mx.symbol.Variable("x"), name = "sm")), "\"op\": \"SoftmaxOutput\"")
  expect_match(as.json(mx.symbol.Variable("a") + mx.symbol.Variable("b")), "\"op\": \"elemwise_add\"")
  expect_match(as.json(mx.symbol.Variable("a") + 1), "\"op\": \"_plus_scalar\"")
})

test_that("a legacy (MXNet 0.8) JSON with BatchNorm loads and gets its auxiliary states", {
  legacy <- '{
    "nodes": [
      {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
      {"op": "null", "param": {}, "name": "conv_weight", "inputs": [], "backward_source_id": -1,
       "attr": {"lr_mult": "2"}},
      {"op": "null", "param": {}, "name": "conv_bias", "inputs": [], "backward_source_id": -1},
      {"op": "Convolution", "param": {"kernel": "(3, 3)", "num_filter": "8", "no_bias": "False",
       "pad": "(1, 1)", "stride": "(1, 1)", "workspace": "512"}, "name": "conv",
       "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1},
      {"op": "null", "param": {}, "name": "bn_gamma", "inputs": [], "backward_source_id": -1},
      {"op": "null", "param": {}, "name": "bn_beta", "inputs": [], "backward_source_id": -1},
      {"op": "BatchNorm", "param": {"eps": "0.001", "fix_gamma": "True", "momentum": "0.9",
       "use_global_stats": "False"}, "name": "bn", "inputs": [[3, 0], [4, 0], [5, 0]],
       "backward_source_id": -1},
      {"op": "Activation", "param": {"act_type": "relu"}, "name": "relu", "inputs": [[6, 0]],
       "backward_source_id": -1}
    ],
    "arg_nodes": [0, 1, 2, 4, 5],
    "heads": [[7, 0]]
  }'
  s <- mx.symbol.load.json(legacy)
  expect_identical(arguments(s), c("data", "conv_weight", "conv_bias", "bn_gamma", "bn_beta"))
  expect_identical(auxiliary.states(s), c("bn_moving_mean", "bn_moving_var"))
  expect_identical(mx.symbol.attributes(internals(s)[["conv_weight"]]), c("__lr_mult__" = "2"))
  sh <- mx.symbol.infer.shape(s, data = c(6, 6, 3, 2))
  expect_identical(sh$aux.shapes$bn_moving_mean, 8L)
  # saving it writes the 1.9.1 layout, which loads back the same
  expect_identical(arguments(mx.symbol.load.json(as.json(s))), arguments(s))
})

test_that("malformed JSON gives R errors", {
  expect_error(mx.symbol.load.json("{"), "JSON")
  expect_error(mx.symbol.load.json("{\"nodes\": []}"), "heads")
  expect_error(mx.symbol.load.json('{"nodes": [{"op": "NoSuchOp", "name": "x", "inputs": []}], "heads": [[0,0,0]]}'),
               "NoSuchOp")
  expect_error(mx.symbol.load.json('{"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": [[3,0,0]]}'),
               "node 3")
  expect_error(mx.symbol.load.json('{"nodes": [{"op": "FullyConnected", "name": "fc", "attrs": {"num_hidden": "x"}, "inputs": []}], "heads": [[0,0,0]]}'),
               "num_hidden")
  expect_error(mx.symbol.load(tempfile()), "does not exist")
})

test_that("variables carry attributes; attributes can be set", {
  v <- mx.symbol.Variable("w", shape = c(3, 4), lr.mult = 2, wd.mult = 0, init = "zeros")
  a <- mx.symbol.attributes(v)
  expect_identical(a[["__shape__"]], "(4, 3)")
  expect_identical(a[["__lr_mult__"]], "2")
  expect_identical(a[["__wd_mult__"]], "0")
  expect_identical(a[["__init__"]], "zeros")
  mx.symbol.set.attr(v, mood = "happy")
  expect_identical(mx.symbol.attributes(v)[["mood"]], "happy")
  expect_identical(v$attributes$mood, "happy")
  fc <- mx.symbol.FullyConnected(v, num_hidden = 2, name = "fc", attr = c(ctx_group = "dev1"))
  expect_identical(mx.symbol.attributes(fc)[["ctx_group"]], "dev1")
  expect_error(mx.symbol.set.attr(fc, num_hidden = "3"), "parameter")
  # the shape hint makes shapes inferable
  expect_identical(mx.symbol.infer.shape(v * 2)$out.shapes[[1]], c(3L, 4L))
})

test_that("symbol arithmetic and math build the right graph", {
  a <- mx.symbol.Variable("a")
  b <- mx.symbol.Variable("b")
  expr <- (a * 2 + b - 1) / (b + 3) - a^2 + 2^b %% 3
  ex <- mx.simple.bind(expr, a = c(2, 3), b = c(2, 3))
  set.seed(3)
  A <- matrix(runif(6), 2); B <- matrix(runif(6), 2)
  mx.exec.update.arg.arrays(ex, list(a = A, b = B))
  mx.exec.forward(ex, is.train = FALSE)
  Af <- in_dtype(A, "float32"); Bf <- in_dtype(B, "float32")
  expect_nd_equal(ex$ref.outputs[[1]], (Af * 2 + Bf - 1) / (Bf + 3) - Af^2 + 2^Bf %% 3, tolerance = 1e-5)
  e2 <- mx.simple.bind(-a + abs(b) + exp(a) + mx.symbol.min(a, b) + mx.symbol.min(a, 0.5), a = 4, b = 4)
  mx.exec.update.arg.arrays(e2, list(a = c(-1, 0.2, 0.7, 2), b = c(1, -0.5, 0.3, 3)))
  mx.exec.forward(e2, is.train = FALSE)
  A <- c(-1, 0.2, 0.7, 2); B <- c(1, -0.5, 0.3, 3)
  expect_nd_equal(e2$ref.outputs[[1]], -A + abs(B) + exp(A) + pmin(A, B) + pmin(A, 0.5), tolerance = 1e-5)
  expect_error(a + "x", "single number")
  expect_error(a > b, "not defined")
})

test_that("mx.apply composes, Group and get.output work", {
  net <- mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 4, name = "fc")
  pre <- mx.symbol.Activation(mx.symbol.Variable("x"), act_type = "relu", name = "pre")
  comp <- mx.apply(net, data = pre)
  expect_identical(arguments(comp), c("x", "fc_weight", "fc_bias"))
  expect_identical(arguments(net), c("data", "fc_weight", "fc_bias"))   # unchanged
  expect_error(mx.apply(net, nosuch = pre), "no argument named")
  g <- mx.symbol.Group(net, pre)
  expect_identical(outputs(g), c("fc_output", "pre_output"))
  expect_identical(length(g), 2L)
  expect_identical(outputs(g[[2]]), "pre_output")
  expect_identical(outputs(g$get.output(1)), "fc_output")
  expect_identical(g$arguments, arguments(g))
  sp <- mx.symbol.SliceChannel(mx.symbol.Variable("d"), num_outputs = 3, name = "split")
  expect_identical(outputs(sp), c("split_output0", "split_output1", "split_output2"))
  expect_identical(mx.symbol.infer.shape(sp, d = c(6, 4))$out.shapes[[3]], c(2L, 4L))
})

test_that("bad symbol input gives errors that name the node or argument", {
  d <- mx.symbol.Variable("data")
  expect_error(mx.symbol.FullyConnected(d, num_hiden = 3), "num_hiden")
  expect_error(mx.symbol.FullyConnected(d), "num_hidden")
  expect_error(mx.symbol.FullyConnected(d, num_hidden = "a"), "num_hidden")
  expect_error(mx.symbol.Convolution(d, kernel = c(3, 3), num_filter = 2, nosuchinput = d), "nosuchinput")
  expect_error(mx.symbol.Activation(d, act_type = "foo"), "act_type")
  fc <- mx.symbol.FullyConnected(d, num_hidden = 3, name = "myfc")
  expect_error(mx.symbol.infer.shape(fc, data = c(4, 2), myfc_weight = c(5, 3)), "myfc")
  expect_error(mx.symbol.infer.shape(fc, nosuch = c(4, 2)), "nosuch")
  expect_error(mx.symbol.Variable(""), "name")
  expect_error(arguments(mx.nd.zeros(2)), "MXSymbol")
})

test_that("printing and graph.viz", {
  net <- get_symbol(10)
  expect_output(print(net), "softmax_output")
  dot <- graph.viz(net, shape = list(data = c(28, 28, 1, 1)))
  expect_s3_class(dot, "mx.graph.dot")
  expect_match(dot, "^digraph")
  expect_match(dot, "Convolution")
  expect_match(dot, "label=\"24x24x20x1\"")
  expect_false(grepl("weight", dot))
})

test_that("C2: many-output symbols and outputs picked with [[ survive garbage collection", {
  # the pattern of "slice the channels, combine the slices" scripts (kaggle-ndsb2: 30 frames)
  pick <- function(k) {
    frames <- mx.symbol.SliceChannel(mx.symbol.Variable("data"), num.outputs = k)
    for (i in 1:3) d <- frames[[i + 1]]
    d
  }
  for (k in c(30, 300)) {
    d <- pick(k)
    invisible(gc())
    expect_identical(arguments(d), "data")
    expect_match(outputs(d), "_output3$")
  }
  f <- function() {
    frames <- mx.symbol.SliceChannel(mx.symbol.Variable("data"), num.outputs = 30)
    for (i in 1:3) d <- frames[[i + 1]]
    NULL
  }
  f(); invisible(gc())
  s <- mx.symbol.SliceChannel(mx.symbol.Variable("x"), num.outputs = 30)
  expect_length(outputs(s), 30L)
  # slices recombined: values survive a round trip through 30 outputs
  cat30 <- mx.symbol.Concat(lapply(1:30, function(i) s[[i]]), num.args = 30, dim = 1)
  ex <- mx.simple.bind(cat30, x = c(2, 30, 3), grad.req = "null")
  x <- array(rnorm(180), c(2, 30, 3))
  mx.exec.update.arg.arrays(ex, list(x = mx.nd.array(x)), match.name = TRUE)
  mx.exec.forward(ex, is.train = FALSE)
  expect_equal(as.array(ex$ref.outputs[[1]]), x, tolerance = 1e-6)
  # beyond the engine's limit: a clean error, not a corrupted graph
  expect_error(mx.symbol.SliceChannel(mx.symbol.Variable("y"), num.outputs = 2000), "limit of 1024")
  invisible(gc())
})

test_that("Q6: many JSON attributes load; repeated keys keep their place and take the last value", {
  keys <- sprintf("a%d", 1:20000)
  attrs <- paste0(sprintf("\"%s\": \"%d\"", keys, seq_along(keys)), collapse = ", ")
  json <- sprintf(paste0('{"nodes": [{"op": "null", "name": "data", "attr": {"a2": "old", "b": "x"},',
                         ' "attrs": {%s}, "inputs": []}], "arg_nodes": [0], "node_row_ptr": [0, 1],',
                         ' "heads": [[0, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}}'), attrs)
  s <- mx.symbol.load.json(json)
  a <- mx.symbol.attributes(s)
  expect_length(a, 20001L)
  expect_identical(names(a)[1:3], c("a2", "b", "a1"))
  expect_identical(unname(unlist(a[c("a2", "b", "a20000")])), c("2", "x", "20000"))
  back <- mx.symbol.attributes(mx.symbol.load.json(as.json(s)))
  expect_identical(back[order(names(back))], a[order(names(a))])
})

test_that("W9/Q4/Q5: bad __shape__ hints and uncountable shapes are errors at inference", {
  hinted <- function(h) {
    v <- mx.symbol.Variable("data")
    mx.symbol.set.attr(v, "__shape__" = h)
    mx.symbol.FullyConnected(v, num_hidden = 2)
  }
  expect_error(mx.symbol.infer.shape(hinted("(99999999999999999999, 2)")),
               "variable 'data': __shape__ hint .* overflows")
  expect_error(mx.symbol.infer.shape(hinted("garbage")), "variable 'data': __shape__ hint 'garbage'")
  expect_error(mx.symbol.infer.shape(hinted("(3, -4)")), "negative")
  expect_error(mx.symbol.infer.shape(hinted("(4294967296, 4294967296, 4)")), "64-bit")
  expect_equal(mx.symbol.infer.shape(hinted("(3, 4)"))$arg.shapes$data, c(4, 3))
  expect_equal(mx.symbol.infer.shape(hinted("[5,]"))$arg.shapes$data, 5)
  expect_null(mx.symbol.infer.shape(hinted("(0, 4)")))        # 0: unknown, as in MXNet
  expect_equal(mx.symbol.infer.shape(hinted("garbage"), data = c(4, 3))$out.shapes[[1]], c(2, 3))
  c1 <- mx.symbol.Convolution(mx.symbol.Variable("data"), kernel = c(1, 1), num_filter = 1e6, name = "c1")
  expect_error(mx.symbol.infer.shape(c1, data = c(1e6, 1e6, 3, 1e3)),
               "c1 \\(Convolution\\): output 1 would have shape .* 64-bit")
  expect_error(mx.symbol.infer.shape(mx.symbol.Variable("x"), x = c(3e9, 3e9, 3e9)), "argument 'x'")
  expect_error(mx.symbol.infer.shape(c1, nodata = 3), "no argument named 'nodata'")
})

test_that("S5: the graph description comes from the engine's read-only accessor", {
  sc <- mx.symbol.SliceChannel(mx.symbol.Variable("data"), num.outputs = 2, name = "sc")
  net <- mx.symbol.FullyConnected(sc[[2]] + sc[[1]], num_hidden = 3, name = "fc")
  g <- .Call(mxnet:::C_mx_r_sym_graph, net)
  expect_identical(vapply(g, `[[`, "", "op"),
                   c("null", "SliceChannel", "elemwise_add", "null", "null", "FullyConnected"))
  expect_identical(vapply(g, `[[`, "", "name")[c(1, 2, 4, 6)], c("data", "sc", "fc_weight", "fc"))
  expect_identical(g[[2]]$inputs, 0L)
  expect_identical(g[[3]]$inputs, c(1L, 1L))      # both outputs of the one SliceChannel node
  expect_identical(g[[6]]$inputs, c(2L, 3L, 4L))
  expect_identical(g[[6]]$attrs[["num_hidden"]], "3")
  expect_length(g[[1]]$attrs, 0L)
})

test_that("fuzz: an op node with many outputs works (SliceChannel num_outputs = 60); past the limit it is refused", {
  # found by tools/fuzz/fuzz-symbol-json: such a node loaded and composed, and
  # composition, shape and type inference then wrote past their 16-entry
  # output arrays (the crash of known defect C2 with 30 outputs).  The limit
  # is now 1024 outputs; beyond it the engine refuses the node.
  x <- mx.symbol.Variable("x")
  works <- function(s, nout) {
    expect_length(outputs(s), nout)
    expect_length(mx.symbol.infer.type(s)$out.types, nout)
    expect_length(mx.symbol.infer.shape(s, x = c(60, 2))$out.shapes, nout)
  }
  works(mx.symbol.SliceChannel(x, num_outputs = 60), 60L)
  json <- '{"nodes": [{"op": "null", "name": "x", "inputs": []},
    {"op": "SliceChannel", "name": "sl", "attrs": {"num_outputs": "60"}, "inputs": [[0, 0, 0]]}],
    "heads": [[1, 59, 0]], "attrs": {"mxnet_version": ["int", 10901]}}'
  works(mx.symbol.load.json(json), 1L)
  # past the engine's limit (1024): refused with an error, not an overflow
  expect_error(mx.symbol.load.json(gsub("60", "2000", json)), "outputs")
  s <- mx.symbol.load.json(as.json(mx.symbol.SliceChannel(x, num_outputs = 16)))
  expect_length(outputs(s), 16L)
  expect_length(mx.symbol.infer.type(s)$out.types, 16L)
})

test_that("fuzz: an mxnet_version outside the int range is refused (\"mxnet_version\": [\"int\", 1e11])", {
  # found by tools/fuzz/fuzz-symbol-json: the version was cast to int unchecked
  json <- '{"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": [[0, 0, 0]],
    "attrs": {"mxnet_version": ["int", VERSION]}}'
  expect_error(mx.symbol.load.json(sub("VERSION", "1e11", json)), "mxnet_version")
  expect_error(mx.symbol.load.json(sub("VERSION", "10901.5", json)), "mxnet_version")
  expect_identical(arguments(mx.symbol.load.json(sub("VERSION", "10901", json))), "x")
})
