#' Devices (contexts)
#'
#' \code{mx.cpu()} and \code{mx.gpu(i)} name the device an array lives on or a
#' computation runs on. \code{mx.ctx.default()} returns (and with an argument,
#' sets) the device used when a function's \code{ctx} is \code{NULL}.
#'
#' @param dev.id Device number (0-based).
#' @param new A context to make the default, or \code{NULL} to only query.
#' @param x An object.
#' @param nd An MXNDArray.
#' @return A context object (class \code{MXContext}); \code{is.mx.context}
#'   returns a logical; \code{ctx} the context of an array.
#' @examples
#' mx.cpu()
#' is.mx.context(mx.cpu())
#' ctx(mx.nd.zeros(c(2, 2)))
#' @name mx.context
NULL

mx.context.new <- function(device, dev.id) {
  if (!is.numeric(dev.id) || length(dev.id) != 1L || is.na(dev.id) ||
      dev.id < 0 || dev.id != round(dev.id))
    stop("argument 'dev.id' must be a single non-negative whole number", call. = FALSE)
  structure(list(device = device, device_id = as.integer(dev.id),
                 device_typeid = if (device == "cpu") 1L else 2L),
            class = "MXContext")
}

#' @rdname mx.context
#' @export
mx.cpu <- function(dev.id = 0) mx.context.new("cpu", dev.id)

#' @rdname mx.context
#' @export
mx.gpu <- function(dev.id = 0) mx.context.new("gpu", dev.id)

#' @rdname mx.context
#' @export
mx.ctx.default <- function(new = NULL) {
  if (!is.null(new)) {
    if (!is.mx.context(new)) stop("argument 'new' must be a context such as mx.cpu()", call. = FALSE)
    .MXNetEnv$ctx <- new
  }
  .MXNetEnv$ctx
}

#' @rdname mx.context
#' @export
is.mx.context <- function(x) inherits(x, "MXContext")

#' @rdname mx.context
#' @export
ctx <- function(nd) .Call(C_mx_r_nd_info, nd)$ctx

#' @export
format.MXContext <- function(x, ...) paste0(x$device, "(", x$device_id, ")")

#' @export
print.MXContext <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

#' Number of GPUs this build can use
#'
#' GPUs are found on first use: the package loads its CUDA module (built when
#' the CUDA toolkit was present at installation) only then. Without a GPU the
#' count is 0 and \code{mx.features()["GPU"]} says why (built without CUDA,
#' no NVIDIA driver, the module or a CUDA library could not be loaded, ...).
#' With the environment variable \code{MXNET_FAKE_GPU=1}, \code{mx.gpu(0)}
#' and \code{mx.gpu(1)} are fake devices on host memory that run every GPU
#' code path with the CPU kernels (for testing on machines without a GPU).
#'
#' @return An integer.
#' @examples
#' mx.gpu.count()
#' @export
mx.gpu.count <- function() .Call(C_mx_r_gpu_count)

#' Wait for queued GPU work
#'
#' GPU operations are queued and run asynchronously; reading values
#' (\code{as.array}, printing, saving) waits for them. \code{mx.nd.waitall}
#' waits for every device, which benchmarks need before stopping a clock. It
#' also reports a failure of earlier asynchronous work. On the CPU it returns
#' at once.
#'
#' @return \code{NULL}, invisibly.
#' @examples
#' mx.nd.waitall()
#' @export
mx.nd.waitall <- function() invisible(.Call(C_mx_r_waitall))

# Choose the GPU backend again (tests switch MXNET_FAKE_GPU on and off);
# refused while GPU arrays are alive.
mx.gpu.reset <- function() {
  gc()
  invisible(.Call(C_mx_r_gpu_reset))
}
