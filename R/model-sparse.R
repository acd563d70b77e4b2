# Sparse layers in mx.model.FeedForward.create without dense vocabulary- or
# feature-sized gradients: an Embedding with sparse_grad = TRUE, and a
# FullyConnected that reads CSR data (X a dgCMatrix or CSR array).
#
# The graph is split at each such node: the executor is bound on a symbol
# where the node's output is a new input variable "<name>_output_in" (with a
# gradient), and the node's parameters are no longer executor arguments but
# arrays the training loop holds.  Per batch the node runs imperatively into
# that input (model.load.batch), and after backward the input's gradient
# (batch-sized) gives the parameters' gradients:
#   Embedding:       weight gradient t(onehot(indices)) . out_grad, MXNet's
#                    sparse dot with a row_sparse result (the rows the batch
#                    uses);
#   FullyConnected:  the weight is held transposed (features x hidden), so
#                    its gradient t(X) . out_grad is row_sparse over the
#                    features the batch holds; the bias gradient is the sum
#                    of out_grad over the batch.
# The optimizer then updates those rows lazily.  The returned model keeps the
# user's symbol and its parameters in their usual layout.

# The split nodes: list(kind, node, weight, bias, input, index, params).
# Embedding: sparse_grad = TRUE, indices an input the batches feed (training
# only).  FullyConnected: its data is an input fed CSR batches (`csr`) that
# nothing else reads.  Both need trained parameters that no other node reads
# and an output that is not an output of the network; other nodes keep the
# executor's gradients.
model.split.find <- function(p, trained, feeds, csr, embeddings = TRUE) {
  nodes <- p$nodes
  first <- function(entries) vapply(entries, function(i) i[[1L]], 0) + 1
  heads <- first(p$heads)
  uses <- tabulate(c(unlist(lapply(nodes, function(nd) first(nd$inputs))), heads), length(nodes))
  names.all <- vapply(nodes, function(nd) nd$name, "")
  own <- function(i) names.all[i] %in% trained && uses[i] == 1L
  found <- list()
  for (k in seq_along(nodes)) {
    nd <- nodes[[k]]
    ins <- first(nd$inputs)
    input <- paste0(nd$name, "_output_in")
    if (length(ins) < 2L || k %in% heads || input %in% names.all || !identical(nodes[[ins[1L]]]$op, "null") ||
        !all(vapply(ins[-1L], own, NA))) next
    index <- names.all[ins[1L]]
    keep <- function(...) nd$attrs[intersect(names(nd$attrs), c(...))]
    flag <- tolower(nd$attrs$sparse_grad %||% "false") %in% c("true", "1")
    s <- if (embeddings && identical(nd$op, "Embedding") && flag && index %in% names(feeds$fields))
      list(kind = "emb", params = keep("input_dim", "output_dim", "dtype"))
    else if (identical(nd$op, "FullyConnected") && index %in% csr && uses[ins[1L]] == 1L)
      list(kind = "fc", params = keep("num_hidden", "no_bias", "flatten"), bias = names.all[ins[3L]])
    if (!is.null(s))
      found[[length(found) + 1L]] <- c(s, list(node = k, weight = names.all[ins[2L]], input = input, index = index))
  }
  found
}

# A parsed symbol JSON (C_mx_r_json_parse) written back as JSON text.
model.json.write <- function(p) {
  str <- function(x) st.json.str(x)
  entry <- function(e) sprintf("[%s]", paste(vapply(e, function(v) sprintf("%d", as.integer(v)), ""), collapse = ","))
  node <- function(nd) {
    a <- nd$attrs
    attrs <- if (length(a)) paste0(str(names(a)), ":", str(vapply(a, as.character, "")), collapse = ",") else ""
    sprintf("{\"op\":%s,\"name\":%s,\"attrs\":{%s},\"inputs\":[%s]}", str(nd$op), str(nd$name), attrs,
            paste(vapply(nd$inputs, entry, ""), collapse = ","))
  }
  v <- p$attrs$mxnet_version[[2L]]
  sprintf("{\"nodes\":[%s],\"heads\":[%s]%s}", paste(vapply(p$nodes, node, ""), collapse = ","),
          paste(vapply(p$heads, entry, ""), collapse = ","),
          if (is.null(v)) "" else sprintf(",\"attrs\":{\"mxnet_version\":[\"int\",%d]}", as.integer(v)))
}

# What the executors are bound on: list(symbol, shapes, grad.req, splits).
# Without a split node (or on a GPU) the user's symbol, shapes and requests,
# and no splits.  A FullyConnected reading CSR data is split on one or
# several CPU devices, in one process or distributed (model.split.allreduce);
# so is an Embedding (each device looks up its slice of the batch; the
# weight's gradient comes from the devices' out-gradients joined), unless
# options(mxnet.embedding.split = FALSE).  `grad.req` is named by parameter;
# prediction passes every parameter as "write" and embeddings = FALSE, and
# binds without gradients.
model.graph.split <- function(symbol, grad.req, feeds, input.shapes, ctx, embeddings = TRUE) {
  plain <- list(symbol = symbol, shapes = input.shapes, grad.req = grad.req, splits = list())
  if (!all(vapply(ctx, function(c) c$device == "cpu", NA))) return(plain)
  p <- .Call(C_mx_r_json_parse, charToRaw(as.json(symbol)))
  embeddings <- embeddings && isTRUE(getOption("mxnet.embedding.split", TRUE))
  splits <- model.split.find(p, names(grad.req)[grad.req != "null"], feeds, feeds$csr, embeddings)
  if (!length(splits)) return(plain)
  for (s in splits) p$nodes[[s$node]] <- list(op = "null", name = s$input, attrs = list(), inputs = list())
  split <- mx.symbol.load.json(model.json.write(p))
  args <- arguments(split)
  shapes <- input.shapes[names(input.shapes) %in% args]
  for (s in splits) {
    d <- input.shapes[[s$index]]
    shapes[[s$input]] <- if (s$kind == "emb") c(as.numeric(s$params$output_dim), d)
                         else c(as.numeric(s$params$num_hidden), model.last(d))
  }
  req <- grad.req[names(grad.req) %in% args]
  req[vapply(splits, `[[`, "", "input")] <- "write"
  list(symbol = split, shapes = shapes, grad.req = req, splits = splits)
}

# The split parameters as arrays the training loop holds, in the layout it
# trains them (named list), of the dtype of the executor's split input: an
# array training made itself (in `owned`) is taken as it is, one the caller
# gave is copied (the caller's array is not changed, as with executor
# arguments).  A FullyConnected weight is held transposed.
model.split.weights <- function(splits, arg.params, owned, ex) {
  held <- list()
  for (s in splits) {
    dt <- mx.nd.dtype(ex$ref.arg.arrays[[s$input]])
    take <- function(a) {
      mine <- any(vapply(owned, identical, TRUE, a)) && mx.nd.info(a)$ctx$device == "cpu" && mx.nd.dtype(a) == dt
      if (mine) a else mx.nd.copyto(a, mx.cpu(), dt)
    }
    a <- arg.params[[s$weight]]
    if (s$kind == "emb") {
      want <- c(as.numeric(s$params$output_dim), as.numeric(s$params$input_dim))
      if (!identical(as.numeric(dim(a)), want))
        stop(sprintf("'arg.params': '%s' has dims %s, the network's is %s", s$weight,
                     paste(dim(a), collapse = "x"), paste(want, collapse = "x")), call. = FALSE)
      held[[s$weight]] <- take(a)
    } else {
      ok <- mx.nd.info(a)$ctx$device == "cpu" && mx.nd.dtype(a) == dt
      held[[s$weight]] <- mx.nd.transpose(if (ok) a else mx.nd.copyto(a, mx.cpu(), dt))
      if (!is.na(s$bias)) held[[s$bias]] <- take(arg.params[[s$bias]])
    }
  }
  held
}

# The held parameters in the model's layout (FullyConnected weights
# transposed back), for the model the training returns and its callbacks.
model.split.params <- function(splits, held) {
  for (s in splits) if (s$kind == "fc") held[[s$weight]] <- mx.nd.transpose(held[[s$weight]])
  held
}

# The fed inputs whose batches are CSR arrays.
model.csr.fields <- function(feeds, batch)
  names(feeds$fields)[vapply(feeds$fields, function(f) inherits(batch[[f]], "MXNDArrayCSR"), NA)]

# The 0-based weight rows the Embedding kernel reads for index values v
# (clipped to [0, K - 1], truncated; NaN reads row 0).
model.emb.rows <- function(v, K) {
  v[is.na(v)] <- 0
  pmin(pmax(trunc(v), 0), K - 1)
}

# A batch field for a split node on the CPU, the device's slice `sl` of it
# (a FullyConnected's as CSR).
model.split.field <- function(batch, s, feeds, sl, ndev) {
  x <- batch[[feeds$fields[[s$index]]]]
  if (s$kind == "fc") {
    if (!inherits(x, "MXNDArrayCSR")) x <- mx.nd.cast.storage(mx.nd.copyto(x, mx.cpu()), "csr")
    return(if (ndev == 1L) x else sparse.csr.rows(sparse.csr.host(x), seq.int(sl$begin, sl$end - 1L)))
  }
  x <- model.slice(x, sl, ndev)
  if (mx.nd.info(x)$ctx$device != "cpu") mx.nd.copyto(x, mx.cpu()) else x
}

# Each split node computed into its executor input (a no-op for an executor
# without that input).
model.split.forward <- function(ex, batch, sl, ndev, feeds) {
  for (s in feeds$splits) {
    dst <- ex$ref.arg.arrays[[s$input]]
    if (is.null(dst)) next
    x <- model.split.field(batch, s, feeds, sl, ndev)
    if (s$kind == "emb") {
      # the weight is on the CPU; another device's input takes a copy
      if (ndev == 1L) nd.invoke("Embedding", list(x, feeds$held[[s$weight]]), s$params, out = dst)
      else .Call(C_mx_r_nd_copy_into, nd.invoke("Embedding", list(x, feeds$held[[s$weight]]), s$params), dst)
      next
    }
    o <- mx.nd.sparse.dot(x, feeds$held[[s$weight]])
    b <- if (!is.na(s$bias)) feeds$held[[s$bias]]
    if (!is.null(b)) o <- nd.invoke("broadcast_add", list(o, mx.nd.reshape(b, shape = c(length(b), 1))))
    .Call(C_mx_r_nd_copy_into, o, dst)
  }
}

# The gradient of a split node's output over the whole batch: the devices'
# slices, joined on the CPU.
model.split.outgrad <- function(execs, input) {
  og <- lapply(execs, function(ex) ex$ref.grad.arrays[[input]])
  if (length(og) == 1L) return(og[[1L]])
  nd.invoke("Concat", lapply(og, mx.nd.copyto, mx.cpu()), list(num_args = length(og), dim = 0L))
}

# The gradients with those of the split parameters: row_sparse for the
# weights (the rows the batch uses), dense for a FullyConnected bias.
model.split.grads <- function(splits, execs, grads, param.names, batch, feeds) {
  for (s in splits) {
    og <- model.split.outgrad(execs, s$input)
    x <- model.split.field(batch, s, feeds, NULL, 1L)
    if (s$kind == "fc") {
      if (!is.na(s$bias)) grads[[match(s$bias, param.names)]] <- nd.invoke("sum", list(og), list(axis = 0L))
    } else {
      v <- as.vector(as.array(x))
      K <- as.numeric(s$params$input_dim)
      n <- length(v)
      x <- sparse.new("csr", c(n, K), data = mx.nd.ones(n, ctx = mx.cpu(), dtype = mx.nd.dtype(og)),
                      indices = mx.nd.array(model.emb.rows(v, K), ctx = mx.cpu(), dtype = "int64"),
                      indptr = mx.nd.array(seq.int(0, n), ctx = mx.cpu(), dtype = "int64"))
      og <- mx.nd.reshape(og, shape = c(dim(og)[1L], n))
    }
    grads[[match(s$weight, param.names)]] <- mx.nd.sparse.dot(x, og, transpose_a = TRUE, forward_stype = "row_sparse")
  }
  grads
}

# Distributed training: the split gradients summed over the workers.  A
# FullyConnected's or an Embedding's row_sparse weight gradient travels as a
# dense array of the weight's shape beside a mask of the rows (features,
# vocabulary entries) it holds, so that the sum keeps every row some
# worker's batch holds: the rows one process would update lazily on the
# global batch.  Biases are summed as they are.
model.split.allreduce <- function(kv, splits, grads, param.names) {
  fc <- Filter(function(s) s$kind == "fc", splits)
  w <- match(vapply(splits, `[[`, "", "weight"), param.names)
  b <- match(Filter(Negate(is.na), vapply(fc, `[[`, "", "bias")), param.names)
  dense <- lapply(grads[w], mx.nd.cast.storage, "default")
  masks <- lapply(grads[w], function(g) {
    m <- numeric(g$shape[1L])
    m[as.vector(as.array(g$indices)) + 1] <- 1
    mx.nd.array(m, ctx = mx.cpu())
  })
  .Call(C_mx_r_kv_allreduce, kv$handle, unname(c(dense, masks, grads[b])))
  for (k in seq_along(w))
    grads[[w[k]]] <- sparse.rsp.rows(dense[[k]], which(as.array(masks[[k]]) > 0) - 1)
  grads
}
