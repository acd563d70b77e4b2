#!/bin/sh
# mx-launch.sh -- start an mxnet R training script as an MPI job (one worker
# process per slot), as mx.launch() does from R.  Usage:
#   mx-launch.sh [-n N] [-H h1:2,h2:2] [-t THREADS] [-m "MPIRUN OPTIONS"] [--dry-run] train.R [ARGS...]
# -n      number of workers (default 2)
# -H      hosts with slots; written to a host file (default: this machine)
# -t      OpenMP threads per worker (default 1)
# -m      further mpirun options (e.g. "--mca btl_tcp_if_include 10.0.0.0/8")
# --dry-run  print the mpirun command line and exit
# The command binds one worker per core (none when the workers outnumber the
# cores), passes R_LIBS, OMP_NUM_THREADS and every MXNET_* variable to the
# workers, and sets Open MPI's TCP keepalive so that a lost host ends the
# job in about 20 s instead of hanging mpirun.  As root it adds
# --allow-run-as-root.  Under Slurm use `srun --mpi=pmix Rscript train.R`.
set -eu
n=2; hosts=""; threads=1; dry=0; extra=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    -H) hosts=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -m) extra=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    --) shift; break ;;
    -*) echo "mx-launch.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "mx-launch.sh: name the R script to run" >&2; exit 2; }
case "$n" in ''|*[!0-9]*) echo "mx-launch.sh: -n must be a number of workers" >&2; exit 2 ;; esac
case "$threads" in ''|*[!0-9]*) echo "mx-launch.sh: -t must be a number of threads" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] || { echo "mx-launch.sh: -n must be at least 1" >&2; exit 2; }
if [ "$dry" = 0 ] && ! command -v mpirun > /dev/null 2>&1; then
  echo "mx-launch.sh: mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 127
fi

set -- "$@"
opts="-np $n --map-by slot"
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
bind="--bind-to core"
if [ -n "$hosts" ]; then
  hostfile=${TMPDIR:-/tmp}/mx-launch-hosts.$$
  trap 'rm -f "$hostfile"' EXIT   # also when mpirun fails (set -e)
  [ "$dry" = 1 ] || echo "$hosts" | tr ',' '\n' | sed -e 's/:\([0-9][0-9]*\)$/ slots=\1/' > "$hostfile"
  opts="$opts --hostfile $hostfile"
elif [ "$n" -gt "$cores" ]; then
  opts="$opts --oversubscribe"
  bind="--bind-to none"
fi
case " $extra " in *" --bind-to "*) bind="" ;; esac
opts="$opts $bind"
opts="$opts --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 3"
[ "$(id -u)" != 0 ] || opts="$opts --allow-run-as-root"
opts="$opts -x OMP_NUM_THREADS=$threads${extra:+ $extra}"
[ -z "${R_LIBS:-}" ] || opts="$opts -x R_LIBS"
for v in $(env | sed -n 's/^\(MXNET_[A-Za-z0-9_]*\)=.*/\1/p'); do opts="$opts -x $v"; done
rscript=${RSCRIPT:-Rscript}
if [ "$dry" = 1 ]; then
  echo "mpirun $opts $rscript $*"
  exit 0
fi
# shellcheck disable=SC2086
mpirun $opts "$rscript" "$@"
