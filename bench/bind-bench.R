# Graph-size scaling of symbol building, JSON save/load, shape inference and
# binding (issue 6, H2/Q6): a chain of n relu nodes, and one JSON node with
# many attributes.  Not a test: it prints seconds (elapsed, one run each).
#
#   R_LIBS=.lib Rscript bench/bind-bench.R [sizes...]
#
# sizes default to 1000 4000 16000 64000 200000.
suppressPackageStartupMessages(library(mxnet))
args <- commandArgs(trailingOnly = TRUE)
sizes <- if (length(args)) as.numeric(args) else c(1000, 4000, 16000, 64000, 200000)

secs <- function(expr) {
  t <- system.time(v <- force(expr))[["elapsed"]]
  list(value = v, t = t)
}

chain_row <- function(n) {
  b <- secs({
    s <- mx.symbol.Variable("x")
    for (i in seq_len(n)) s <- mx.symbol.relu(s)
    s
  })
  s <- b$value
  j <- secs(mx.symbol.save(s, f <- tempfile(fileext = ".json")))
  l <- secs(mx.symbol.load(f))
  unlink(f)
  stopifnot(identical(length(arguments(l$value)), 1L))
  i <- secs(mx.symbol.infer.shape(s, x = c(3, 2)))
  stopifnot(identical(as.numeric(i$value$out.shapes[[1]]), c(3, 2)))
  x <- secs(mx.simple.bind(s, x = c(3, 2), grad.req = "write"))
  f <- secs({ mx.exec.forward(x$value, is.train = TRUE); mx.exec.backward(x$value) })
  data.frame(nodes = n, build = b$t, save.json = j$t, load.json = l$t, infer.shape = i$t,
             simple.bind = x$t, fwd.bwd = f$t)
}

# many arguments: a chain of n FullyConnected layers (2n weights and biases)
fc_row <- function(n) {
  s <- mx.symbol.Variable("data")
  for (i in seq_len(n)) s <- mx.symbol.FullyConnected(s, num_hidden = 2, name = paste0("fc", i))
  i <- secs(mx.symbol.infer.shape(s, data = c(2, 3)))
  x <- secs(mx.simple.bind(s, data = c(2, 3), grad.req = "write"))
  data.frame(layers = n, arguments = length(arguments(s)), infer.shape = i$t, simple.bind = x$t)
}

attr_row <- function(k) {
  keys <- sprintf("a%d", seq_len(k))
  attrs <- paste0(sprintf("\"%s\": \"1\"", keys), collapse = ", ")
  json <- sprintf(paste0('{"nodes": [{"op": "null", "name": "data", "attrs": {%s}, "inputs": []}],',
                         ' "arg_nodes": [0], "node_row_ptr": [0, 1], "heads": [[0, 0, 0]],',
                         ' "attrs": {"mxnet_version": ["int", 10901]}}'), attrs)
  l <- secs(mx.symbol.load.json(json))
  stopifnot(length(mx.symbol.attributes(l$value)) == k)
  data.frame(attributes = k, load.json = l$t)
}

cat(sprintf("R %s, %s, %d-core machine\n", getRversion(), R.version$platform,
            parallel::detectCores()))
cat("\nrelu chains (seconds):\n")
print(do.call(rbind, lapply(sizes, chain_row)), row.names = FALSE)
cat("\nFullyConnected chains (seconds):\n")
print(do.call(rbind, lapply(c(2000, 8000, 32000), fc_row)), row.names = FALSE)
cat("\none variable with k attributes, JSON load (seconds):\n")
print(do.call(rbind, lapply(c(10000, 40000, 100000), attr_row)), row.names = FALSE)
