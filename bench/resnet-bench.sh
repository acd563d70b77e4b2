#!/bin/sh
# ResNet on the CPU, this package against PyTorch, side by side in one run
# (issue 9): peak resident memory and img/s for training and inference, with
# and without mirror, and the ratios.  Each measurement is a fresh process
# (its own peak memory); the two sides alternate, rounds times.
# Usage: R_LIBS=.lib sh bench/resnet-bench.sh [threads] [steps] [rounds]
# Env: CONFIGS, a list of "mode:depth:batch[:mirror]" (default below).
T=${1:-2}; STEPS=${2:-5}; ROUNDS=${3:-2}
D=$(dirname "$0")
CONFIGS=${CONFIGS:-"train:50:8 train:50:8:mirror infer:50:8 train:20:64 train:50:32 train:50:32:mirror"}
printf "%-22s %5s %10s %10s %10s %10s %8s %8s\n" config round ours_img_s torch_img_s ours_MB torch_MB speed mem
for c in $CONFIGS; do
  mode=$(echo "$c" | cut -d: -f1); depth=$(echo "$c" | cut -d: -f2)
  batch=$(echo "$c" | cut -d: -f3); mir=$(echo "$c" | cut -d: -f4)
  r=1
  while [ "$r" -le "$ROUNDS" ]; do
    o=$(Rscript "$D/resnet-cpu.R" "$mode" "$depth" "$batch" "$T" "$STEPS" $mir 2>/dev/null | tail -1)
    p=$(/usr/bin/python3 "$D/resnet_torch.py" "$mode" "$depth" "$batch" "$T" "$STEPS" 2>/dev/null | tail -1)
    echo "$c $r $o $p" | awk '{printf "%-22s %5s %10.2f %10.2f %10.0f %10.0f %7.2fx %7.2fx\n",
      $1, $2, $3, $8, $4, $9, $3 / $8, $4 / $9}'
    r=$((r + 1))
  done
done
