#!/bin/sh
# Fail unless R CMD check ended with no ERROR and no WARNING.
log=${1:-mxnet.Rcheck/00check.log}
[ -f "$log" ] || { echo "check-status: $log not found"; exit 1; }
st=$(grep '^Status:' "$log" | tail -n 1)
echo "check-status: $st"
case "$st" in
  *ERROR*|*WARNING*) grep -B2 -A12 -E '\.\.\. (ERROR|WARNING)' "$log"; exit 1 ;;
  Status:*) exit 0 ;;
  *) echo "check-status: no status line in $log"; exit 1 ;;
esac
