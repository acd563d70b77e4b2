#' Options the mxnet package reads
#'
#' Every R option the package reads, with its default. Set them with
#' \code{options()}; they are read when used, so a change takes effect at the
#' next call.
#'
#' \describe{
#'   \item{\code{mxnet.threads}}{Threads of the engine's parallel kernels
#'     (default unset: \env{OMP_NUM_THREADS}, else all processors). Set it
#'     with \code{\link{mx.threads}}, which checks the value.}
#'   \item{\code{mxnet.plan.memory}}{\code{TRUE} (default): executors plan
#'     their memory, reusing buffers between nodes; \code{FALSE} gives every
#'     node its own buffers (see \code{\link{mx.simple.bind}}).}
#'   \item{\code{mxnet.inplace}}{\code{TRUE} (default): operators may write
#'     their output over an input that nothing else needs.}
#'   \item{\code{mxnet.backward.mirror}}{\code{TRUE} recomputes cheap nodes
#'     in backward instead of keeping them, to save memory; default
#'     \code{NULL}: the environment variable
#'     \env{MXNET_BACKWARD_DO_MIRROR=1}, as in MXNet.}
#'   \item{\code{mxnet.backward.mirror.conv}}{With the mirror on, the share
#'     (0 to 1, default 0.1) of all convolutions' forward work that may be
#'     recomputed in backward too: the convolutions with the least work per
#'     output value go first (on ResNet-50, the stem and the 1x1
#'     convolutions that widen the channels). 0 keeps every convolution's
#'     output, as MXNet's mirror did.}
#'   \item{\code{mxnet.inference.fold}}{\code{TRUE} (default): executors
#'     bound without gradients compute a Convolution with the BatchNorm (and
#'     relu) that follows it in one call when they run with \code{is.train =
#'     FALSE} (see \code{\link{mx.simple.bind}}; ResNet-50 inference 15 \%
#'     faster on the CPU); \code{FALSE}: the ops run one by one.}
#'   \item{\code{mxnet.nan.action}}{What
#'     \code{\link{mx.model.FeedForward.create}} does when training makes a
#'     parameter NaN or Inf: \code{"warn"} (default), \code{"stop"} or
#'     \code{"none"} (no check).}
#'   \item{\code{mxnet.progress}}{\code{TRUE} (default): interactive
#'     training with \code{verbose = TRUE} shows a progress bar per epoch
#'     when the 'progress' package is installed; \code{FALSE} keeps only the
#'     log lines.}
#'   \item{\code{mxnet.dist.timeout}}{Seconds every collective of a
#'     distributed kvstore may take before it fails with an
#'     \code{mxnet_dist_error} (default 600; 0: no deadline); see
#'     \code{\link{mx.kv.create}}.}
#'   \item{\code{mxnet.dist.overlap}}{\code{TRUE} lets a communication
#'     thread allreduce gradients while backward runs, in distributed
#'     training with one device per worker (default \code{FALSE}: MPI
#'     busy-waits, which slows a worker without a spare core).}
#'   \item{\code{mxnet.embedding.split}}{\code{TRUE} (default):
#'     \code{\link{mx.model.FeedForward.create}} computes an
#'     \code{Embedding} with \code{sparse_grad = TRUE} outside the executor,
#'     so that its weight's gradient is formed for the batch's rows only
#'     (no vocabulary-sized gradient array); \code{FALSE}: the executor
#'     computes the dense gradient and the rows are taken from it.}
#' }
#'
#' Environment variables the CPU convolution reads:
#' \env{MXNET_CONV_WINOGRAD=0} (read per call) keeps oneDNN's Winograd
#' convolution out (by default 3x3 layers of stride 1 with enough channels
#' run it where the executor's memory plan has room for its scratch);
#' \env{MXNET_CUDNN_AUTOTUNE_DEFAULT=1} (read once) times every
#' implementation of a convolution that leaves \code{cudnn_tune} unset on
#' its first calls and keeps the fastest; \env{MXNET_CONV_IMPL=builtin}
#' (read once) forces the built-in im2col convolution.
#' \env{MXNET_EXEC_BLOCKED=0} (read per bind) keeps every value of an
#' executor in the plain layout (by default values between convolutions
#' whose channels fill 16-channel blocks are kept in oneDNN's blocked
#' layout, \code{mx.exec.memory(exec)[["n_blocked"]]} counts them).
#' @name mxnet.options
#' @aliases mxnet-options
#' @examples
#' old <- options(mxnet.nan.action = "stop", mxnet.progress = FALSE)
#' getOption("mxnet.nan.action")
#' options(old)
NULL
