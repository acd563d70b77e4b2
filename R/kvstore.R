# The kvstore (MXNet's R API, src/kvstore in C): sums values over the devices
# of a process and, for dist_* types, across the worker processes of an MPI
# job. docs/kvstore.md tells the design.

mx.kv.state <- new.env(parent = emptyenv())
mx.kv.state$rank <- 0L          # of the training in progress (checkpoints)
mx.kv.state$finalizer <- FALSE

#' Create a KVStore
#'
#' A key-value store that sums the values pushed for a key over devices and,
#' for the distributed types, over the worker processes of a job, as MXNet's
#' KVStore did. \code{mx.model.FeedForward.create(kvstore = )} uses one to
#' combine gradients; it can also be used directly, as in MXNet's
#' \code{demo/basic_kvstore.R}.
#'
#' Types:
#' \describe{
#'   \item{\code{"local"}}{(and MXNet's \code{"local_update_cpu"},
#'     \code{"local_allreduce_cpu"}, \code{"local_allreduce_device"},
#'     \code{"device"}, \code{"nccl"}) one process: values are summed over its
#'     devices.}
#'   \item{\code{"dist_sync"}}{(and \code{"dist_sync_device"},
#'     \code{"dist_device_sync"}) one process per worker, started by
#'     \code{mpirun} or \code{srun} (see \code{\link{mx.launch}}): values are
#'     summed over the devices of each worker, then over the workers by an MPI
#'     allreduce, so every worker holds the same sum and applies the same
#'     update (no server processes). Outside an MPI launcher the store is one
#'     worker (rank 0 of 1). Device arrays are staged through host memory.}
#'   \item{\code{"dist_async"}}{refused with an \code{mxnet_unsupported_error}:
#'     asynchronous updates need parameter servers.}
#' }
#'
#' The store is an environment with MXNet's fields and methods:
#' \code{kv$type}, \code{kv$rank}, \code{kv$num.workers},
#' \code{kv$update.on.kvstore}, \code{kv$init(keys, values)},
#' \code{kv$push(keys, value.lists, priority)},
#' \code{kv$pull(keys, out.lists, priority)},
#' \code{kv$set.optimizer(optimizer)}, \code{kv$barrier()} and
#' \code{kv$set.gradient.compression(list(type = "fp16"))}, which sends
#' float16 values between workers (summed in float32 on arrival; half the
#' bytes, about 3 significant digits; off by default; MXNet's \code{"2bit"}
#' is refused because a sum of 2-bit codes is not a 2-bit code).
#' \code{value.lists} and \code{out.lists} are lists over devices, each a list
#' of one NDArray per key. Without an optimizer a push stores the sum of the
#' pushed values; with one, the sum is applied as a gradient to the stored
#' value. \code{init} on a distributed store takes rank 0's values, so every
#' worker starts from the same state.
#'
#' Every collective of a distributed store has a deadline,
#' \code{getOption("mxnet.dist.timeout", 600)} seconds (0: none): past it, or
#' when a worker has died, the call fails with an \code{mxnet_dist_error};
#' training then ends the whole job (\code{\link{mx.model.FeedForward.create}}
#' does so itself).
#'
#' @param type The kvstore type.
#' @return An \code{MXKVStore}.
#' @examples
#' kv <- mx.kv.create()
#' dlist <- lapply(1:3, function(i) list(x = mx.nd.array(c(i, i + 1), mx.cpu(i))))
#' kv$init(c(0), dlist[[1]])
#' kv$push(c(0), dlist, 0)
#' kv$pull(c(0), dlist, 0)
#' as.array(dlist[[1]][[1]])   # 1 + 2 + 3, 2 + 3 + 4
#' @export
mx.kv.create <- function(type = "local") {
  if (!is.character(type) || length(type) != 1L || is.na(type))
    mx.error("value", "argument 'type' must be a kvstore type such as \"local\" or \"dist_sync\"")
  handle <- .Call(C_mx_r_kv_create, type)
  info <- .Call(C_mx_r_kv_info, handle)
  if (info$dist) kv.at.exit()
  timeout <- getOption("mxnet.dist.timeout", 600)
  if (!is.numeric(timeout) || length(timeout) != 1L || is.na(timeout) || timeout < 0)
    mx.error("value", "option 'mxnet.dist.timeout' must be a number of seconds (0: no deadline)")
  .Call(C_mx_r_kv_configure, handle, as.double(timeout), NA_real_, NA)
  kv.object(handle, info)
}

#' @export
print.MXKVStore <- function(x, ...) {
  cat(sprintf("MXKVStore \"%s\": %s\n", x$type, .Call(C_mx_r_kv_info, x$handle)$describe))
  invisible(x)
}

is.mx.kvstore <- function(x) inherits(x, "MXKVStore")

# MPI_Finalize when R exits (mpirun reports a worker that exits without it).
kv.at.exit <- function() {
  if (mx.kv.state$finalizer) return(invisible())
  mx.kv.state$finalizer <- TRUE
  reg.finalizer(mx.kv.state, function(e) .Call(C_mx_r_kv_finalize), onexit = TRUE)
  invisible()
}

kv.object <- function(handle, info) {
  kv <- new.env(parent = emptyenv())
  store <- new.env(parent = emptyenv())
  opt <- new.env(parent = emptyenv())
  kv$handle <- handle
  kv$type <- info$type
  kv$rank <- info$rank
  kv$num.workers <- info$num.workers
  kv$update.on.kvstore <- !info$type %in% c("local_allreduce_cpu", "local_allreduce_device")
  kv$init <- function(keys, values) {
    keys <- kv.keys(keys)
    values <- kv.values(values, length(keys), "values")
    copies <- lapply(values, function(v) mx.nd.copyto(v, ctx(v)))
    .Call(C_mx_r_kv_broadcast, handle, copies, 0L)
    for (i in seq_along(keys)) assign(keys[i], copies[[i]], envir = store)
    invisible(kv)
  }
  kv$push <- function(keys, value.lists, priority = 0) {
    keys <- kv.keys(keys)
    value.lists <- kv.device.lists(value.lists, length(keys), "value.lists")
    stored <- kv.stored(store, keys)
    merged <- lapply(stored, function(s) mx.nd.zeros(dim(s), ctx(s), dtype = mx.nd.dtype(s)))
    .Call(C_mx_r_kv_reduce_lists, merged, value.lists, handle)
    .Call(C_mx_r_kv_allreduce, handle, merged)
    for (i in seq_along(keys)) {
      if (is.null(opt$optimizer)) {
        .Call(C_mx_r_nd_copy_into, merged[[i]], stored[[i]])
      } else {
        k <- keys[i]
        if (!exists(k, envir = opt$states, inherits = FALSE))
          assign(k, list(opt$optimizer$create.state(kv.index(k), stored[[i]])), envir = opt$states)
        st <- opt$optimizer$update(kv.index(k), stored[[i]], merged[[i]], get(k, envir = opt$states)[[1L]])
        assign(k, list(st), envir = opt$states)
      }
    }
    invisible(kv)
  }
  kv$pull <- function(keys, out.lists, priority = 0) {
    keys <- kv.keys(keys)
    out.lists <- kv.device.lists(out.lists, length(keys), "out.lists")
    stored <- kv.stored(store, keys)
    for (dev in out.lists)
      for (i in seq_along(keys)) .Call(C_mx_r_nd_copy_into, stored[[i]], dev[[i]])
    invisible(kv)
  }
  kv$set.optimizer <- function(optimizer) {
    if (!inherits(optimizer, "mx.optimizer") && !(is.list(optimizer) && is.function(optimizer$update)))
      mx.error("value", "argument 'optimizer' must be an optimizer from mx.opt.create()")
    opt$optimizer <- optimizer
    opt$states <- new.env(parent = emptyenv())
    invisible(kv)
  }
  kv$set.gradient.compression <- function(compression.params) {
    type <- if (is.list(compression.params)) compression.params$type else compression.params
    if (!is.character(type) || length(type) != 1L)
      mx.error("value", "compression.params must be list(type = \"fp16\") or list(type = \"none\")")
    if (identical(type, "2bit"))
      mx.error("unsupported", paste("2-bit compression is not supported: a sum of 2-bit codes is not a 2-bit code,",
                                    "so it cannot ride an allreduce; use list(type = \"fp16\")"))
    if (!type %in% c("fp16", "none"))
      mx.error("value", sprintf("unknown compression type \"%s\" (known: fp16, none)", type))
    .Call(C_mx_r_kv_configure, handle, NA_real_, NA_real_, type == "fp16")
    invisible(kv)
  }
  kv$barrier <- function() {
    .Call(C_mx_r_kv_barrier, handle)
    invisible(kv)
  }
  class(kv) <- "MXKVStore"
  lockBinding("handle", kv)
  kv
}

kv.keys <- function(keys) {
  if (!(is.numeric(keys) || is.character(keys)) || !length(keys) || anyNA(keys))
    mx.error("value", "keys must be a vector of integers or strings")
  if (is.numeric(keys) && any(keys != round(keys))) mx.error("value", "numeric keys must be whole numbers")
  as.character(keys)
}

kv.index <- function(k) {
  i <- suppressWarnings(as.integer(k))
  if (is.na(i)) k else i
}

kv.values <- function(values, n, what) {
  if (inherits(values, "MXNDArray")) values <- list(values)
  if (!is.list(values) || length(values) != n || !all(vapply(values, inherits, TRUE, "MXNDArray")))
    mx.error("value", sprintf("%s must be a list of %d NDArray%s, one per key", what, n, if (n == 1) "" else "s"))
  unname(values)
}

# A list over devices of lists over keys (one device may be given bare).
kv.device.lists <- function(x, n, what) {
  if (inherits(x, "MXNDArray") || (is.list(x) && length(x) && inherits(x[[1L]], "MXNDArray")))
    x <- list(x)
  if (!is.list(x) || !length(x))
    mx.error("value", sprintf("%s must be a list (one entry per device) of lists of NDArrays", what))
  lapply(x, kv.values, n = n, what = sprintf("each device's entry of %s", what))
}

kv.stored <- function(store, keys) {
  lapply(keys, function(k) {
    if (!exists(k, envir = store, inherits = FALSE))
      mx.error("value", sprintf("key %s was not initialised: call kv$init() first", k))
    get(k, envir = store)
  })
}

# ------------------------------------------------------------ training side

# The kvstore of a training run: a type name or a store.
model.kvstore <- function(kvstore, verbose) {
  if (is.mx.kvstore(kvstore)) return(kvstore)
  if (!is.character(kvstore) || length(kvstore) != 1L || is.na(kvstore))
    mx.error("value", "argument 'kvstore' must be a kvstore type such as \"local\" or \"dist_sync\", or a store from mx.kv.create()")
  kv <- mx.kv.create(kvstore)
  info <- .Call(C_mx_r_kv_info, kv$handle)
  if (info$dist && kv$num.workers == 1L && verbose)
    message(sprintf("kvstore \"%s\": %s; training as one worker", kv$type, info$describe))
  kv
}

# Every worker draws what rank 0 draws (shuffles, initialisation).
kv.sync.rng <- function(kv) {
  if (!exists(".Random.seed", envir = globalenv(), inherits = FALSE)) stats::runif(1)
  seed <- get(".Random.seed", envir = globalenv())
  assign(".Random.seed", .Call(C_mx_r_kv_broadcast_vec, kv$handle, seed, 0L), envir = globalenv())
  invisible()
}

# An iterator's order made rank 0's on every worker (an iterator's shard()
# calls it), after checking that every worker holds as many examples.
kv.order.sync <- function(kv, what) function(o) {
  n0 <- .Call(C_mx_r_kv_broadcast_vec, kv$handle, length(o), 0L)
  if (n0 != length(o))
    mx.error("value", sprintf(paste("the %s iterator of worker %d holds %d examples, rank 0's %d:",
                                    "give every worker the same data, or split it yourself with",
                                    "num.parts and part.index"), what, kv$rank, length(o), n0))
  .Call(C_mx_r_kv_broadcast_vec, kv$handle, as.integer(o), 0L)
}

# The worker's part of a training iterator: an unsplit iterator with a
# shard() (arrayiter, MNISTIter, CSVIter) is split by rank (with rank 0's
# example order); other iterators are used as given (they take num.parts and
# part.index themselves).
kv.shard.iter <- function(kv, iter, verbose) {
  if (is.function(iter$shard)) return(iter$shard(kv$num.workers, kv$rank, kv.order.sync(kv, "training")))
  if (identical(iter$num.parts, 1L) && verbose)
    message("each worker reads all of the training iterator; give it num.parts = kv$num.workers ",
            "and part.index = kv$rank to split the data between workers")
  iter
}

# The evaluation iterator split between workers (each example once), when it
# can be split and the metric's state is a sum that kv.sum.state adds up;
# otherwise every worker evaluates all of it.
kv.shard.eval <- function(kv, iter, metric) {
  if (is.null(metric) || !is.numeric(metric$init()) || !is.function(iter$shard)) return(iter)
  it <- iter$shard(kv$num.workers, kv$rank, kv.order.sync(kv, "evaluation"), exact = TRUE)
  it$sharded <- TRUE
  it
}

# Copies of a list of NDArrays holding rank 0's values.
kv.broadcast.params <- function(kv, params) {
  if (!length(params)) return(params)
  out <- lapply(params, function(a) mx.nd.copyto(a, ctx(a)))
  .Call(C_mx_r_kv_broadcast, kv$handle, unname(out), 0L)
  out
}

# A metric state summed over workers (numeric states; others left alone).
kv.sum.state <- function(kv, state) {
  if (is.numeric(state)) .Call(C_mx_r_kv_allreduce_num, kv$handle, state) else state
}

# BatchNorm statistics (auxiliary states) averaged over workers.
kv.average.aux <- function(kv, execs) {
  aux <- unlist(lapply(execs, function(ex) unname(ex$ref.aux.arrays)), recursive = FALSE)
  if (!length(aux)) return(invisible())
  .Call(C_mx_r_kv_allreduce, kv$handle, aux)
  for (a in aux) nd.invoke("_mul_scalar", list(a), list(scalar = 1 / kv$num.workers), a)
  invisible()
}

# Rank 0's decision, on every worker.
kv.decide <- function(kv, go) .Call(C_mx_r_kv_broadcast_vec, kv$handle, as.integer(go), 0L) == 1L

# Run a distributed computation; on an error or interrupt, say which worker
# failed and end the whole job (the others would wait for it forever).
kv.guard <- function(kv, expr) {
  end.job <- function(e) {
    message(sprintf("[worker %d of %d] %s: %s; ending the job", kv$rank, kv$num.workers,
                    if (inherits(e, "interrupt")) "interrupted" else "error", conditionMessage(e)))
    .Call(C_mx_r_kv_end_job, kv$handle, 1L)
    e
  }
  withCallingHandlers(expr, error = end.job, interrupt = end.job)
}
