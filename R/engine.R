#' What this build of mxnet has
#'
#' One entry per optional library that configure looked for: \code{TRUE} when
#' the build uses it. The \code{detail} attribute (shown by \code{print}) says
#' what was found, as configure printed it at installation.
#'
#' @param x The result of \code{mx.features()}.
#' @param ... Unused.
#' @return A named logical vector of class \code{mx.features}.
#' @examples
#' mx.features()
#' @export
mx.features <- function() structure(.Call(C_mx_r_features), class = "mx.features")

#' @rdname mx.features
#' @export
print.mx.features <- function(x, ...) {
  d <- attr(x, "detail")
  for (n in names(x)) cat(sprintf("%-9s %-5s %s\n", n, if (x[[n]]) "yes" else "no", d[[n]]))
  invisible(x)
}

#' Threads used by the engine
#'
#' The engine's parallel kernels use \code{getOption("mxnet.threads")} threads
#' when set, else \env{OMP_NUM_THREADS}, else all processors; always capped by
#' \env{OMP_THREAD_LIMIT} (OpenMP's thread limit). \code{mx.threads(n)} sets
#' the option.
#'
#' Counts above 4 threads per processor are refused: \code{mx.threads(n)}
#' signals an error of class \code{mxnet_value_error}, and an option set
#' directly to such a count gives a warning and the largest allowed count.
#'
#' In a forked child process, such as the workers of
#' \code{parallel::mclapply}, the engine runs on one thread whatever the
#' setting: OpenMP's threads do not survive \code{fork()}, so a child that
#' waited for them would hang. Parallel workers therefore use one core each,
#' which is what \code{mclapply} intends. Socket clusters
#' (\code{parallel::makeCluster}) start fresh R processes and use the setting.
#'
#' @param n Number of threads (0 = automatic), or \code{NULL} to query.
#' @return The number of threads now in use.
#' @examples
#' mx.threads()
#' @export
mx.threads <- function(n = NULL) {
  if (!is.null(n)) {
    if (!is.numeric(n) || length(n) != 1L || is.na(n) || n < 0 || n != round(n))
      mx.error("value", "argument 'n' must be a non-negative whole number")
    .Call(C_mx_r_threads, n)        # refuses more than 4 threads per processor
    options(mxnet.threads = as.integer(n))
  }
  .Call(C_mx_r_threads, NULL)
}

#' Engine memory
#'
#' NDArray memory comes from a pool: freed blocks are kept (up to a limit,
#' 1 GiB by default) for reuse, so the process keeps that memory after the
#' NDArrays are gone. \code{mx.memory.stats} reports bytes in use, the peak,
#' bytes cached and allocation counts; \code{mx.memory.release} returns the
#' cached blocks to the system (with the GNU C library it also trims the C heap,
#' \code{malloc_trim}, so the process's resident size drops too);
#' \code{mx.memory.limit} sets the cache limit. Memory of
#' NDArrays no longer referenced from R returns to the pool when R's garbage
#' collector runs; the engine calls \code{gc()} itself when its memory grows
#' by more than \code{mx.memory.gc.threshold()} bytes.
#'
#' @param ctx Device (default CPU).
#' @param bytes New limit or threshold in bytes, or \code{NULL} to query.
#' @return \code{mx.memory.stats}: a named numeric vector. The others: the
#'   previous value (invisibly for release).
#' @examples
#' mx.memory.stats()
#' @export
mx.memory.stats <- function(ctx = mx.cpu()) .Call(C_mx_r_pool_stats, ctx)

#' @rdname mx.memory.stats
#' @export
mx.memory.release <- function(ctx = mx.cpu()) invisible(.Call(C_mx_r_pool_release, ctx))

#' @rdname mx.memory.stats
#' @export
mx.memory.limit <- function(bytes = NULL) .Call(C_mx_r_pool_limit, bytes)

#' @rdname mx.memory.stats
#' @export
mx.memory.gc.threshold <- function(bytes = NULL) .Call(C_mx_r_set_gc_threshold, bytes)
