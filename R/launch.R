#' Start a distributed training job
#'
#' Runs an R script as an MPI job of \code{n} worker processes, on this
#' machine or on a list of hosts, through the package's launcher script
#' (\code{system.file("scripts", "mx-launch.sh", package = "mxnet")}, also in
#' the source tree's \code{tools/}). The script is an ordinary MXNet R script
#' that trains with \code{kvstore = "dist_sync"}; each worker trains on its
#' part of the data and all end with the same model (see
#' \code{\link{mx.model.FeedForward.create}}).
#'
#' The command line binds one worker per core (none when the workers
#' outnumber the cores), passes \code{R_LIBS}, \code{OMP_NUM_THREADS} and
#' every \code{MXNET_*} variable to the workers, and sets Open MPI's TCP
#' keepalive (5 s, 2 s, 3 probes) so that a lost host ends the job in about
#' 20 seconds instead of leaving \code{mpirun} waiting (when the job is already
#' being aborted, data in flight makes Linux retry for minutes: set
#' \code{sysctl net.ipv4.tcp_retries2=5} on the hosts). As root it adds
#' \code{--allow-run-as-root}. Every host needs the same R library (or a
#' shared one) and passwordless ssh from this one. Under Slurm, run
#' \code{srun --mpi=pmix Rscript train.R} inside the allocation instead: the
#' package reads only the MPI environment.
#'
#' @param script Path of the R script.
#' @param n Number of worker processes.
#' @param hosts \code{NULL} (this machine) or hosts with their slots, such as
#'   \code{c("h1:2", "h2:2")}.
#' @param threads OpenMP threads per worker.
#' @param args Further arguments for the script.
#' @param dry.run Return the command line instead of running it.
#' @return The exit status of the job (0 when every worker succeeded),
#'   invisibly; with \code{dry.run = TRUE} the command line.
#' @examples
#' mx.launch("train.R", n = 4, hosts = c("h1:2", "h2:2"), dry.run = TRUE)
#' @export
mx.launch <- function(script, n = 2, hosts = NULL, threads = 1, args = character(),
                      dry.run = FALSE) {
  whole <- function(x) is.numeric(x) && length(x) == 1L && !is.na(x) && x == round(x) && x >= 1
  if (!is.character(script) || length(script) != 1L || is.na(script))
    mx.error("value", "argument 'script' must be the path of an R script")
  if (!whole(n)) mx.error("value", "argument 'n' must be a whole number of workers >= 1")
  if (!whole(threads)) mx.error("value", "argument 'threads' must be a whole number >= 1")
  if (!is.null(hosts) && (!is.character(hosts) || !length(hosts) || anyNA(hosts) ||
                          !all(grepl("^[A-Za-z0-9_.:-]+$", hosts))))
    mx.error("value", "argument 'hosts' must be host names with slots, such as c(\"h1:2\", \"h2:2\")")
  if (!isTRUE(dry.run) && !file.exists(script)) mx.error("io", sprintf("no script '%s'", script))
  launcher <- system.file("scripts", "mx-launch.sh", package = "mxnet")
  cmd <- c(launcher, "-n", format(n, scientific = FALSE), "-t", format(threads, scientific = FALSE),
           if (!is.null(hosts)) c("-H", paste(hosts, collapse = ",")),
           if (isTRUE(dry.run)) "--dry-run",
           "--", script, as.character(args))
  # the workers find this R and this package's library
  env <- c(paste0("RSCRIPT=", shQuote(file.path(R.home("bin"), "Rscript"))),
           paste0("R_LIBS=", shQuote(paste(.libPaths(), collapse = ":"))))
  if (isTRUE(dry.run))
    return(system2("sh", shQuote(cmd), stdout = TRUE, env = env))
  status <- system2("sh", shQuote(cmd), env = env)
  if (status != 0L) warning(sprintf("the job ended with exit status %d", status), call. = FALSE)
  invisible(status)
}
