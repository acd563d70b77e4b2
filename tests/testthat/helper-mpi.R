# MPI jobs for the distributed tests (test-kvstore-mpi.R, test-sparse-dist.R):
# each starts an MPI job of R workers on this machine (loopback/shared
# memory) under a wall-clock limit.  Skipped, with the reason printed, only
# when mpirun or the MPI build is missing.

mpi_skip <- function() {
  skip_if(Sys.which("mpirun") == "", "mpirun not found (apt-get install openmpi-bin libopenmpi-dev)")
  skip_if_not(mx.features()[["MPI"]], "this build of mxnet has no MPI")
  skip_if(nzchar(Sys.getenv("OMPI_COMM_WORLD_SIZE")), "already inside an MPI job")
}

# Run `code` (R source text) on np workers; each worker's `result` variable is
# saved and returned in rank order.  Returns list(status, output, seconds,
# results).
run_mpi <- function(np, code, timeout = 60, env = character()) {
  dir <- tempfile("mpi")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  script <- file.path(dir, "worker.R")
  writeLines(c("suppressMessages(library(mxnet))",
               "options(mxnet.threads = 1L)",
               "RANK <- as.integer(Sys.getenv('OMPI_COMM_WORLD_RANK', '0'))",
               sprintf("OUT <- %s", deparse(dir)),
               "result <- NULL",
               code,
               "saveRDS(result, file.path(OUT, sprintf('rank%d.rds', RANK)))"), script)
  root <- if (Sys.info()[["user"]] == "root") c("--allow-run-as-root") else character()
  args <- c(if (nzchar(Sys.which("timeout"))) c("-k", "5", timeout, "mpirun") else character(),
            "-np", np, "--oversubscribe", "--bind-to", "none", root,
            "-x", "R_LIBS", "-x", "OMP_NUM_THREADS=1", file.path(R.home("bin"), "Rscript"), script)
  cmd <- if (nzchar(Sys.which("timeout"))) "timeout" else "mpirun"
  t0 <- proc.time()[["elapsed"]]
  out <- suppressWarnings(system2(cmd, shQuote(args), stdout = TRUE, stderr = TRUE,
                                  env = c(paste0("R_LIBS=", paste(.libPaths(), collapse = ":")), env)))
  secs <- proc.time()[["elapsed"]] - t0
  status <- attr(out, "status") %||% 0L
  files <- file.path(dir, sprintf("rank%d.rds", seq_len(np) - 1L))
  results <- lapply(files, function(f) if (file.exists(f)) readRDS(f) else NULL)
  list(status = status, output = paste(out, collapse = "\n"), seconds = secs, results = results,
       dir = dir)
}

expect_job_ok <- function(r) {
  if (r$status != 0L) cat(r$output, "\n")
  expect_identical(r$status, 0L)
}
