#!/bin/sh
# Distributed benchmarks (issue 8), 2 workers on this machine, one per core:
#   1. allreduce bandwidth inside the kvstore against a raw MPI_Allreduce of the
#      same bytes, in the same run (bench/kv-allreduce.R, bench/mpi-allreduce.c);
#   2. weak scaling of LeNet and ResNet-20 training (bench/dist-scaling.R).
# Usage: R_LIBS=.lib sh bench/dist-bench.sh   (results: bench/RESULTS.md)
set -eu
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' 0
mpicc -O2 -o "$tmp/mpi-allreduce" bench/mpi-allreduce.c
MPIRUN="mpirun -np 2 --bind-to core --map-by core -x R_LIBS -x OMP_NUM_THREADS"
sizes="1 4 16 64"
echo "== allreduce, 2 workers, shared memory: best and median seconds"
for round in 1 2 3; do
  $MPIRUN "$tmp/mpi-allreduce" $sizes | sed 's/^/raw /'
  $MPIRUN Rscript bench/kv-allreduce.R $sizes
done > "$tmp/ar.txt"
Rscript -e '
  d <- read.table(commandArgs(TRUE)[1], col.names = c("layout", "mb", "best", "median"))
  a <- aggregate(cbind(best, median) ~ layout + mb, d, min)
  raw <- a[a$layout == "raw", ]
  for (l in c("one", "packed64")) {
    x <- a[a$layout == l, ]
    r <- raw[match(x$mb, raw$mb), ]
    cat(sprintf("| %s | %g MB | %.2f GB/s | %.2f GB/s | %.2f |\n", l, x$mb, x$mb / 1024 / x$best,
                r$mb / 1024 / r$best, r$best / x$best), sep = "")
  }' "$tmp/ar.txt"
echo "== weak scaling (per-worker batch 64, one thread per worker)"
for net in lenet resnet20; do
  one=$(Rscript bench/dist-scaling.R $net local | tail -n 1)
  nocomm=$($MPIRUN Rscript bench/dist-scaling.R $net local | tail -n 1)
  two=$($MPIRUN Rscript bench/dist-scaling.R $net dist_sync | tail -n 1)
  echo "$net: 1 process: $one; 2 processes without communication: $nocomm; 2 workers dist_sync: $two"
done

# 3. two simulated hosts (network namespaces, veth, 1 Gbit/s tbf on each
#    link): the kvstore's allreduce against raw MPI over TCP (root only)
if [ "$(id -u)" = 0 ] && command -v ip > /dev/null; then
  fx=tests/testthat/fixtures
  sh $fx/netns-down.sh
  sh $fx/netns-up.sh 2 1gbit
  printf '198.18.0.1 slots=1\n198.18.0.2 slots=1\n' > "$tmp/hosts"
  NS="ip netns exec mxh1 mpirun -np 2 --hostfile $tmp/hosts --bind-to none --mca plm_rsh_agent $PWD/$fx/nsagent.sh
      --mca oob_tcp_if_include 198.18.0.0/24 --mca btl_tcp_if_include 198.18.0.0/24 --mca btl tcp,self -x R_LIBS"
  echo "== allreduce, 2 hosts over veth with tbf 1 Gbit/s (line rate 0.125 GB/s)"
  { $NS "$tmp/mpi-allreduce" 4 16 | sed 's/^/raw /'; $NS Rscript bench/kv-allreduce.R 4 16; } > "$tmp/tbf.txt"
  sh $fx/netns-down.sh
  Rscript -e '
    d <- read.table(commandArgs(TRUE)[1], col.names = c("layout", "mb", "best", "median"))
    for (i in seq_len(nrow(d))) cat(sprintf("| %s | %g MB | best %.3f GB/s | median %.3f GB/s |\n",
      d$layout[i], d$mb[i], d$mb[i] / 1024 / d$best[i], d$mb[i] / 1024 / d$median[i]))' "$tmp/tbf.txt"
fi
