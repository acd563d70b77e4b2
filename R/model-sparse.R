# Embeddings with sparse_grad = TRUE in mx.model.FeedForward.create without a
# dense vocabulary-sized gradient.
#
# The graph is split at each such Embedding: the executor is bound on a
# symbol where the Embedding's output is a new input variable
# "<name>_output_in" (with a gradient), and the weight is no longer an
# executor argument but an array the training loop holds.  Per batch the
# lookup runs imperatively into that input (model.load.batch), and after
# backward the input's gradient (batch-sized) becomes the weight's row_sparse
# gradient: t(onehot(indices)) . out_grad, MXNet's sparse dot with a
# row_sparse result, whose rows are the indices the batch uses.  The returned
# model keeps the user's symbol and the weight among its arg.params.

# One split Embedding: weight, input (the new variable), index (the input
# that holds the indices) and params (the op's parameters for the lookup).
# Only where every rule holds: the indices are an input the batches feed,
# the weight is trained and used by this node alone, and the node's output
# is not a head of the network; other Embeddings keep the dense gradient.
model.emb.find <- function(p, trained, feeds) {
  nodes <- p$nodes
  first <- function(entries) vapply(entries, function(i) i[[1L]], 0) + 1
  heads <- first(p$heads)
  uses <- tabulate(c(unlist(lapply(nodes, function(nd) first(nd$inputs))), heads), length(nodes))
  names.all <- vapply(nodes, function(nd) nd$name, "")
  found <- list()
  for (k in seq_along(nodes)) {
    nd <- nodes[[k]]
    flag <- tolower(nd$attrs$sparse_grad %||% "false")
    if (!identical(nd$op, "Embedding") || !flag %in% c("true", "1") || length(nd$inputs) < 2L) next
    s <- nd$inputs[[1L]][[1L]] + 1
    w <- nd$inputs[[2L]][[1L]] + 1
    input <- paste0(nd$name, "_output_in")
    if (!identical(nodes[[s]]$op, "null") || !nodes[[s]]$name %in% names(feeds$fields) ||
        !nodes[[w]]$name %in% trained || uses[w] != 1L || k %in% heads || input %in% names.all) next
    found[[length(found) + 1L]] <- list(node = k, weight = nodes[[w]]$name, input = input,
                                        index = nodes[[s]]$name,
                                        params = nd$attrs[intersect(names(nd$attrs), c("input_dim", "output_dim", "dtype"))])
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

# What the executors are bound on: list(symbol, shapes, grad.req, embs).
# Without a split Embedding (or for several devices, distributed training, a
# GPU, or options(mxnet.embedding.split = FALSE)) the user's symbol, shapes
# and requests, and no embs.
model.emb.split <- function(symbol, grad.req, feeds, input.shapes, ctx, dist) {
  plain <- list(symbol = symbol, shapes = input.shapes, grad.req = grad.req, embs = list())
  if (dist || length(ctx) != 1L || ctx[[1L]]$device != "cpu" ||
      !isTRUE(getOption("mxnet.embedding.split", TRUE))) return(plain)
  p <- .Call(C_mx_r_json_parse, charToRaw(as.json(symbol)))
  embs <- model.emb.find(p, names(grad.req)[grad.req != "null"], feeds)
  if (!length(embs)) return(plain)
  for (e in embs) p$nodes[[e$node]] <- list(op = "null", name = e$input, attrs = list(), inputs = list())
  split <- mx.symbol.load.json(model.json.write(p))
  args <- arguments(split)
  shapes <- input.shapes[names(input.shapes) %in% args]
  for (e in embs) shapes[[e$input]] <- c(as.numeric(e$params$output_dim), input.shapes[[e$index]])
  req <- grad.req[names(grad.req) %in% args]
  req[vapply(embs, `[[`, "", "input")] <- "write"
  list(symbol = split, shapes = shapes, grad.req = req, embs = embs)
}

# The split weights as arrays the training loop holds (named list), of the
# dtype of the executor's lookup input: an array training made itself (in
# `owned`) is taken as it is, one the caller gave is copied (the caller's
# array is not changed, as with executor arguments).
model.emb.weights <- function(embs, arg.params, owned, ex) {
  held <- list()
  for (e in embs) {
    dt <- mx.nd.dtype(ex$ref.arg.arrays[[e$input]])
    a <- arg.params[[e$weight]]
    want <- c(as.numeric(e$params$output_dim), as.numeric(e$params$input_dim))
    if (!identical(as.numeric(dim(a)), want))
      stop(sprintf("'arg.params': '%s' has dims %s, the network's is %s", e$weight,
                   paste(dim(a), collapse = "x"), paste(want, collapse = "x")), call. = FALSE)
    mine <- any(vapply(owned, identical, TRUE, a)) && mx.nd.info(a)$ctx$device == "cpu" &&
      mx.nd.dtype(a) == dt
    held[[e$weight]] <- if (mine) a else mx.nd.copyto(a, mx.cpu(), dt)
  }
  held
}

# The 0-based weight rows the Embedding kernel reads for index values v
# (clipped to [0, K - 1], truncated; NaN reads row 0).
model.emb.rows <- function(v, K) {
  v[is.na(v)] <- 0
  pmin(pmax(trunc(v), 0), K - 1)
}

# The lookup of each split Embedding into its executor input (a no-op for an
# executor without that input); indices on another device come to the CPU.
model.emb.lookup <- function(ex, batch, sl, ndev, feeds) {
  for (e in feeds$embs) {
    dst <- ex$ref.arg.arrays[[e$input]]
    if (is.null(dst)) next
    idx <- model.slice(batch[[feeds$fields[[e$index]]]], sl, ndev)
    if (mx.nd.info(idx)$ctx$device != "cpu") idx <- mx.nd.copyto(idx, mx.cpu())
    nd.invoke("Embedding", list(idx, e$array), e$params, out = dst)
  }
}

# The gradients with each split weight's as a row_sparse array: the sum of
# the out-gradient rows of the positions that read each row, i.e.
# t(onehot(rows)) . out_grad with a row_sparse result (rows: those used).
model.emb.grads <- function(embs, ex, grads, param.names, batch, feeds) {
  for (e in embs) {
    v <- as.vector(as.array(batch[[feeds$fields[[e$index]]]]))
    K <- as.numeric(e$params$input_dim)
    og <- ex$ref.grad.arrays[[e$input]]
    dt <- mx.nd.dtype(og)
    n <- length(v)
    onehot <- sparse.new("csr", c(n, K), data = mx.nd.ones(n, ctx = mx.cpu(), dtype = dt),
                         indices = mx.nd.array(model.emb.rows(v, K), ctx = mx.cpu(), dtype = "int64"),
                         indptr = mx.nd.array(seq.int(0, n), ctx = mx.cpu(), dtype = "int64"))
    og <- mx.nd.reshape(og, shape = c(dim(og)[1L], n))
    grads[[match(e$weight, param.names)]] <- mx.nd.sparse.dot(onehot, og, transpose_a = TRUE,
                                                             forward_stype = "row_sparse")
  }
  grads
}
