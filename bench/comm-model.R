# A communication model of synchronous data-parallel training (issue 8),
# after ../shared/reference/distributed.md §9.2:
#   p workers, g per machine, N = p / g machines, n gradient bytes, T_c compute
#   time per step (backward = 2/3 of it), k buckets:
#   T_intra = 2 (g - 1) / g * n / B_intra
#   T_inter = k * L(N) * alpha + 2 (N - 1) / N * n / B_net,
#             L(N) = min(2 (N - 1), 2 ceiling(log2 N))   (ring or halving/doubling)
#   T_x     = max(T_comm - phi * (2/3) T_c, T_comm / k)   (phi = 1 with overlap, else 0
#             and then k = ceiling(n / 25 MB); with overlap k >= 4)
#   E       = T_c / (T_c + T_x)                           (weak-scaling efficiency)
# B_net = eta * 0.94 * line rate: 0.94 is TCP goodput (the tbf check gave 0.96),
# eta the kvstore's bandwidth relative to a raw MPI_Allreduce, measured here.
#
# Usage: Rscript bench/comm-model.R [allreduce.txt]
#   allreduce.txt: lines "layout size_mb best_s median_s" as printed by
#   bench/kv-allreduce.R and bench/mpi-allreduce.c ("raw"), from which eta is
#   fitted; without it eta = 1.
args <- commandArgs(TRUE)
eta <- 1
if (length(args)) {
  ar <- read.table(args[1], col.names = c("layout", "mb", "best", "median"))
  ar <- aggregate(best ~ layout + mb, ar, min)
  fit <- function(d) {
    m <- lm(best ~ I(mb * 2^20), data = d)
    c(alpha = unname(coef(m)[1]) / 2, B = 1 / unname(coef(m)[2]))   # p = 2: T = 2 alpha + n / B
  }
  f.ours <- fit(ar[ar$layout == "packed64", ])
  f.raw <- fit(ar[ar$layout == "raw", ])
  eta <- min(1, f.ours[["B"]] / f.raw[["B"]])
  cat(sprintf("fitted on this machine (2 workers, shared memory): raw MPI alpha = %.1f us, B = %.2f GB/s;\n",
              f.raw[["alpha"]] * 1e6, f.raw[["B"]] / 1e9))
  cat(sprintf("kvstore (64 arrays packed in buckets): alpha = %.1f us, B = %.2f GB/s; eta = %.3f\n\n",
              f.ours[["alpha"]] * 1e6, f.ours[["B"]] / 1e9, eta))
} else {
  cat("no allreduce measurements given: eta = 1 (the kvstore as fast as raw MPI)\n\n")
}

efficiency <- function(p, n, Tc, gbit, overlap, g = 8, alpha = 30e-6, B.intra = 150e9, eta = 1) {
  N <- p / g
  B <- eta * 0.94 * gbit * 1e9 / 8
  k <- if (overlap) max(4, ceiling(n / 25e6)) else ceiling(n / 25e6)
  L <- if (N > 1) min(2 * (N - 1), 2 * ceiling(log2(N))) else 0
  T.intra <- 2 * (g - 1) / g * n / B.intra
  T.inter <- if (N > 1) k * L * alpha + 2 * (N - 1) / N * n / B else 0
  Tc.hidden <- if (overlap) (2 / 3) * Tc else 0
  Tx <- max(T.intra + T.inter - Tc.hidden, (T.intra + T.inter) / k)
  Tc / (Tc + Tx)
}

# Validation: MXNet's published Inception-v3 on 16 p2.16xlarge (16 K80 GPUs per
# machine, 95 MB of gradients, 1.053 s per step at batch 32 x 16, in-node efficiency
# 92.0 % from the published 16-GPU point), 25 Gbit/s, no overlap.
v <- sapply(c(128, 256), function(p) 0.92 * efficiency(p, 95e6, 1.053, 25, FALSE, g = 16, B.intra = Inf))
cat(sprintf("validation, Inception-v3 (MXNet's table): model %.1f %% at 128 GPUs (published 87.8 %%), %.1f %% at 256 (85.6 %%)\n\n",
            100 * v[1], 100 * v[2]))

ps <- c(8, 16, 32, 64, 128, 256)
table.for <- function(name, n, Tc) {
  cat(sprintf("%s: %.1f MB of gradients, %.1f ms compute per step\n", name, n / 1e6, Tc * 1e3))
  cat(sprintf("| network | wire | overlap | %s |\n", paste(sprintf("p=%d", ps), collapse = " | ")))
  cat(sprintf("|---|---|---|%s\n", strrep("---:|", length(ps))))
  for (gbit in c(10, 25, 100)) for (wire in c("fp32", "fp16")) for (ov in c(FALSE, TRUE)) {
    bytes <- if (wire == "fp16") n / 2 else n
    e <- sapply(ps, function(p) efficiency(p, bytes, Tc, gbit, ov, eta = eta))
    cat(sprintf("| %d GbE | %s | %s | %s |\n", gbit, wire, if (ov) "full" else "none",
                paste(sprintf("%.0f %%", 100 * e), collapse = " | ")))
  }
  cat("\n")
}
table.for("ResNet-50, fp32, batch 64 per GPU (H200, PyTorch speed)", 102.2e6, 23.4e-3)
table.for("ResNet-50, bf16, batch 256 per GPU", 102.2e6, 54.3e-3)
table.for("Inception-BN, batch 64 per GPU", 45.2e6, 19.3e-3)
