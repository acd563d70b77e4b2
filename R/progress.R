# The per-epoch progress bar of mx.model.FeedForward.create: drawn by the
# 'progress' package (Suggests) in interactive sessions with verbose = TRUE;
# otherwise (a script, knitr, R CMD BATCH, or 'progress' not installed) the
# training loop keeps MXNet's log lines.

# The text of the bar: epoch, batches done (of `total` when known, the number
# of batches of the previous epoch), speed in samples per second, the
# estimated time left in the epoch and the running training metric.
progress.line <- function(epoch, nbatch, total, elapsed, batch.size, metric = NULL, width = 12L) {
  speed <- if (elapsed > 0) nbatch * batch.size / elapsed else NA_real_
  rate <- if (is.na(speed)) "-" else sprintf("%s samples/s", format(signif(speed, 4), big.mark = ","))
  if (is.na(total) || total < nbatch) {
    bar <- sprintf("batch %d", nbatch)
    eta <- ""
  } else {
    full <- as.integer(floor(width * nbatch / total))
    bar <- sprintf("[%s%s] %d/%d", strrep("=", full), strrep(" ", width - full), nbatch, total)
    left <- if (nbatch > 0) elapsed / nbatch * (total - nbatch) else NA_real_
    eta <- if (is.na(left)) "" else sprintf(" ETA %s", progress.secs(left))
  }
  met <- if (is.null(metric)) "" else sprintf(" %s=%s", metric$name, format(metric$value, digits = 4))
  sprintf("Epoch %d %s %s%s%s", epoch, bar, rate, eta, met)
}

progress.secs <- function(s) {
  s <- round(s)
  if (s < 60) sprintf("%ds", s) else if (s < 3600) sprintf("%dm%02ds", s %/% 60, s %% 60)
  else sprintf("%dh%02dm", s %/% 3600, (s %% 3600) %/% 60)
}

# Whether to draw bars: verbose, an interactive session and 'progress'
# installed (options(mxnet.progress = FALSE) turns them off).
progress.wanted <- function(verbose) {
  verbose && interactive() && isTRUE(getOption("mxnet.progress", TRUE)) &&
    requireNamespace("progress", quietly = TRUE)
}

# One epoch's bar: tick(nbatch, metric) redraws it, done() closes it. NULL
# when no bar is wanted.
progress.start <- function(epoch, total, batch.size) {
  pb <- progress::progress_bar$new(format = ":line", total = NA, clear = FALSE, show_after = 0,
                                   stream = stderr())
  t0 <- proc.time()[["elapsed"]]
  list(tick = function(nbatch, metric) {
         line <- progress.line(epoch, nbatch, total, proc.time()[["elapsed"]] - t0, batch.size, metric)
         pb$tick(tokens = list(line = line))
       },
       done = function() { pb$terminate(); NULL })
}
