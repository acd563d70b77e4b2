# Two simulated hosts: network namespaces joined by veth pairs through a
# bridge (fixtures/netns-up.sh), the job started by the package's launcher
# (mx-launch.sh) with an ssh stand-in (fixtures/nsagent.sh). Traffic stays
# inside the namespaces the test creates. Needs root, iproute2 and mpirun.

# this run's namespace names (fixtures read MX_NETNS): runs side by side on
# one machine neither share nor remove each other's
NETNS <- sprintf("mx%d", Sys.getpid())
Sys.setenv(MX_NETNS = NETNS)
ns <- function(k) paste0(NETNS, "h", k)

netns_skip <- function() {
  skip_if(Sys.which("mpirun") == "", "mpirun not found (apt-get install openmpi-bin libopenmpi-dev)")
  skip_if_not(mx.features()[["MPI"]], "this build of mxnet has no MPI")
  skip_if(Sys.info()[["user"]] != "root", "network namespaces need root")
  skip_if(Sys.which("ip") == "" || Sys.which("taskset") == "", "ip (iproute2) or taskset not found")
  skip_if(nzchar(Sys.getenv("OMPI_COMM_WORLD_SIZE")), "already inside an MPI job")
}

netns_up <- function(rate = NULL) {
  down <- test_path("fixtures", "netns-down.sh")
  system2("sh", down, stdout = FALSE, stderr = FALSE)
  out <- suppressWarnings(system2("sh", c(test_path("fixtures", "netns-up.sh"), "2", rate),
                                  stdout = TRUE, stderr = TRUE))
  if (!is.null(attr(out, "status"))) {
    system2("sh", down, stdout = FALSE, stderr = FALSE)
    skip(sprintf("network namespaces could not be made: %s", paste(out, collapse = " ")))
  }
}

# Start `code` on the two hosts through the launcher; returns the job's
# status, output and duration, and each rank's saved `result`.
run_hosts <- function(code, timeout = 90) {
  dir <- tempfile("hosts")
  dir.create(dir)
  script <- file.path(dir, "worker.R")
  writeLines(c("suppressMessages(library(mxnet))", "options(mxnet.threads = 1L)", "result <- NULL", code,
               "RANK <- as.integer(Sys.getenv('OMPI_COMM_WORLD_RANK'))",
               sprintf("saveRDS(result, file.path(%s, sprintf('rank%%d.rds', RANK)))", deparse(dir))), script)
  agent <- normalizePath(test_path("fixtures", "nsagent.sh"))
  launcher <- system.file("scripts", "mx-launch.sh", package = "mxnet")
  extra <- paste("--bind-to none --mca plm_rsh_agent", agent,
                 "--mca oob_tcp_if_include 198.18.0.0/24 --mca btl_tcp_if_include 198.18.0.0/24 --mca btl tcp,self")
  args <- c("-k", "5", timeout, "ip", "netns", "exec", ns(1), "sh", launcher, "-n", "2",
            "-H", "198.18.0.1:1,198.18.0.2:1", "-m", shQuote(extra), "--", script)
  env <- c(paste0("R_LIBS=", paste(.libPaths(), collapse = ":")),
           paste0("RSCRIPT=", file.path(R.home("bin"), "Rscript")))
  # output to a file, not a pipe: a process left on a cut-off host may hold
  # the pipe open long after the job ended
  log <- file.path(dir, "job.log")
  t0 <- proc.time()[["elapsed"]]
  status <- suppressWarnings(system2("timeout", args, stdout = log, stderr = log, env = env))
  secs <- proc.time()[["elapsed"]] - t0
  out <- if (file.exists(log)) readLines(log, warn = FALSE) else character()
  res <- lapply(0:1, function(k) {
    f <- file.path(dir, sprintf("rank%d.rds", k))
    if (file.exists(f)) readRDS(f) else NULL
  })
  unlink(dir, recursive = TRUE)
  list(status = status, output = paste(out, collapse = "\n"), seconds = secs, results = res)
}
`%||%` <- function(a, b) if (is.null(a)) b else a

hosts_train <- "
set.seed(5); x <- matrix(rnorm(8 * 256), 8); y <- as.numeric(colSums(x[1:3, ]) > 0)
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 2, name = 'fc'), name = 'softmax')
m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 3, array.batch.size = 32,
  learning.rate = 0.1, kvstore = 'dist_sync', initializer = mx.init.Xavier(), verbose = FALSE)
big <- mx.nd.ones(4e6)
t0 <- Sys.time(); .Call(mxnet:::C_mx_r_kv_allreduce, mx.kv.create('dist_sync')$handle, list(big))
result <- list(w = as.array(m$arg.params$fc_weight), big = range(as.array(big)),
               secs = as.numeric(Sys.time() - t0, units = 'secs'))"

test_that("two hosts in network namespaces train over TCP like one worker", {
  netns_skip()
  netns_up()
  on.exit(system2("sh", test_path("fixtures", "netns-down.sh"), stdout = FALSE, stderr = FALSE))
  r <- run_hosts(hosts_train)
  if (r$status != 0L) cat(r$output, "\n")
  expect_identical(r$status, 0L)
  skip_if(is.null(r$results[[1]]) || is.null(r$results[[2]]), "no results")
  expect_identical(r$results[[1]]$w, r$results[[2]]$w)
  expect_equal(r$results[[1]]$big, c(2, 2))
  set.seed(5); x <- matrix(rnorm(8 * 256), 8); y <- as.numeric(colSums(x[1:3, ]) > 0)
  net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable("data"), num_hidden = 2, name = "fc"),
                                 name = "softmax")
  m1 <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 3, array.batch.size = 64,
                                    learning.rate = 0.1, initializer = mx.init.Xavier(), verbose = FALSE)
  expect_equal(r$results[[1]]$w, as.array(m1$arg.params$fc_weight), tolerance = 1e-5)
})

test_that("a cut link ends the job within the keepalive bound, leaving nothing behind", {
  netns_skip()
  netns_up()
  on.exit(system2("sh", test_path("fixtures", "netns-down.sh"), stdout = FALSE, stderr = FALSE))
  # cut host 2's link once training runs
  cutter <- sprintf("sleep 6; ip -n %s link set eth0 down", ns(2))
  system2("sh", c("-c", shQuote(cutter)), wait = FALSE)
  r <- run_hosts("
options(mxnet.dist.timeout = 10)
x <- matrix(rnorm(4 * 400), 4); y <- as.numeric(x[1, ] > 0)
net <- mx.symbol.SoftmaxOutput(mx.symbol.FullyConnected(mx.symbol.Variable('data'), num_hidden = 2), name = 'softmax')
m <- mx.model.FeedForward.create(net, X = x, y = y, num.round = 1e6, array.batch.size = 10,
  learning.rate = 0.01, kvstore = 'dist_sync', verbose = FALSE)", timeout = 90)
  expect_false(identical(r$status, 0L))
  expect_false(identical(r$status, 124L))          # ended by itself, not by the test's timeout
  expect_lt(r$seconds, 6 + 35)
  # nothing of the job is left on either host (with the hosts' tcp_retries2 = 5
  # of netns-up.sh; without it mpirun waits minutes on data in flight); the
  # cut-off host's daemon needs its own TCP timeout (about 13 s) to notice
  pids <- function() c(system2("ip", c("netns", "pids", ns(1)), stdout = TRUE),
                       system2("ip", c("netns", "pids", ns(2)), stdout = TRUE))
  for (i in 1:40) if (length(left <- pids()) == 0L) break else Sys.sleep(0.5)
  expect_length(left, 0L)
  expect_match(r$output, "lost communication with a remote daemon|timed out after")
})
