# A 2-worker dist_sync training through Slurm (sbatch + srun --mpi=pmix) on a
# one-node cluster started for the test from Debian's slurm-wlm and munge
# (fixtures/slurm-up.sh). Needs root (the daemons) and those packages; skips
# with the reason otherwise.

test_that("sbatch + srun --mpi=pmix trains a 2-worker dist_sync job", {
  need <- c("sbatch", "srun", "sinfo", "slurmctld", "slurmd", "munged")
  missing <- need[Sys.which(need) == ""]
  skip_if(length(missing) > 0, sprintf("Slurm test: %s not found (apt-get install slurm-wlm munge)",
                                       paste(missing, collapse = ", ")))
  skip_if(Sys.info()[["user"]] != "root", "Slurm test: starting slurmctld and slurmd needs root")
  skip_if_not(mx.features()[["MPI"]], "this build of mxnet has no MPI")
  skip_if(nzchar(Sys.getenv("SLURM_JOB_ID")), "already inside a Slurm job")
  dir <- tempfile("slurm")
  dir.create(dir)
  up <- test_path("fixtures", "slurm-up.sh")
  down <- test_path("fixtures", "slurm-down.sh")
  on.exit({
    system2("sh", c(down, dir), stdout = FALSE, stderr = FALSE)
    unlink(dir, recursive = TRUE)
  })
  out <- suppressWarnings(system2("timeout", c("60", "sh", up, dir), stdout = TRUE, stderr = TRUE))
  skip_if(!is.null(attr(out, "status")),
          sprintf("Slurm test: the one-node cluster did not start: %s", paste(tail(out, 3), collapse = " ")))
  worker <- file.path(dir, "worker.R")
  writeLines(c(
    "suppressMessages(library(mxnet))",
    "options(mxnet.threads = 1L)",
    "set.seed(5); x <- matrix(rnorm(8 * 256), 8); y <- as.numeric(colSums(x[1:3, ]) > 0)",
    "net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 2, name = 'fc'), name = 'softmax')",
    "kv <- mx.kv.create('dist_sync')",
    "m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 3, array.batch.size = 32,",
    "  learning.rate = 0.1, kvstore = kv, initializer = mx.init.Xavier(), verbose = FALSE)",
    sprintf("saveRDS(list(rank = kv$rank, n = kv$num.workers, w = as.array(m$arg.params$fc_weight)), file.path(%s, sprintf('rank%%d.rds', kv$rank)))",
            deparse(dir))), worker)
  job <- file.path(dir, "job.sh")
  writeLines(c("#!/bin/sh", "#SBATCH -n 2", sprintf("#SBATCH -o %s/job.out", dir),
               sprintf("export R_LIBS=%s", shQuote(paste(.libPaths(), collapse = ":"))),
               sprintf("srun --mpi=pmix %s %s", shQuote(file.path(R.home("bin"), "Rscript")), shQuote(worker))),
             job)
  env <- paste0("SLURM_CONF=", file.path(dir, "slurm.conf"))
  res <- suppressWarnings(system2("timeout", c("120", "sbatch", "--wait", job), stdout = TRUE, stderr = TRUE,
                                  env = env))
  log <- if (file.exists(file.path(dir, "job.out"))) readLines(file.path(dir, "job.out")) else character()
  if (!is.null(attr(res, "status"))) cat(res, log, sep = "\n")
  expect_null(attr(res, "status"))
  r <- lapply(0:1, function(k) {
    f <- file.path(dir, sprintf("rank%d.rds", k))
    if (file.exists(f)) readRDS(f) else NULL
  })
  expect_false(is.null(r[[1]]))
  expect_false(is.null(r[[2]]))
  skip_if(is.null(r[[1]]) || is.null(r[[2]]))
  expect_identical(c(r[[1]]$rank, r[[2]]$rank), 0:1)
  expect_identical(c(r[[1]]$n, r[[2]]$n), c(2L, 2L))
  expect_identical(r[[1]]$w, r[[2]]$w)
  # the same model as one worker with the global batch of 64
  set.seed(5); x <- matrix(rnorm(8 * 256), 8); y <- as.numeric(colSums(x[1:3, ]) > 0)
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2, name = "fc"),
                                 name = "softmax")
  m1 <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 3, array.batch.size = 64,
                                    learning.rate = 0.1, initializer = mx.init.Xavier(), verbose = FALSE)
  expect_equal(r[[1]]$w, as.array(m1$arg.params$fc_weight), tolerance = 1e-5)
})
