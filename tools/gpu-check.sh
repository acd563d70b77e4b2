#!/usr/bin/env bash
# tools/gpu-check.sh -- the GPU check of issue 7: one run, at most 8 minutes,
# on a machine with one H100 or H200, CUDA, PyTorch and Python but no R.
#
#   here (the CPU machine, in the checkout the device tool sends):
#     make gpu-pack          # device/: R packed by ../shared/tools/device-r-pack.sh,
#                            # the package built for sm_90 (without oneDNN), and
#                            # gpu_torch.py / gpu_torch_best.py (../shared does not travel)
#   there (the device tool: carry ["device"], timeout_s 540):
#     bash tools/gpu-check.sh
#
# Steps, each appended to $OUT/gpu-check.md as it ends (a timeout keeps what
# was done), each with its own time limit inside an overall budget:
#   1. setup: the GPU (nvidia-smi), cuDNN/cuBLAS libraries onto
#      LD_LIBRARY_PATH, R unpacked, ldd of the package's shared objects,
#      mx.features() and mx.gpu.count() (stops here without a GPU)
#   2. the test suite with mx.gpu() as the default device (MXNET_TEST_CTX=gpu,
#      MXNET_CUDA_SYNC=1, strict float32 convolutions), file by file through
#      tools/gpu-tests.R, device-heavy files first: every op's values against
#      R references and gradients against finite differences on the GPU
#      kernels, test-gpu-*.R, the executor, training, memory
#   3. bench/gpu-bench.R (ours), 4. gpu_torch.py's protocol on the same
#      workloads, 5. gpu_torch_best.py (CUDA-graph LeNet, channels-last
#      ResNet-50): PyTorch on the same GPU in the same run
#   6. one markdown table, ours beside PyTorch's
#
# Knobs: OUT (results folder; the device tool sets it), MXNET_GPU_CHECK_DIR
# (default device), MXNET_GPU_CHECK_SECONDS (budget, default 480),
# MXNET_GPU_CHECK_DRY=1 (a check of this script on a machine without a GPU:
# goes on without GPUs and runs the benchmark on the CPU at tiny sizes).
set -u
cd "$(dirname "$0")/.." || exit 2
DEV=${MXNET_GPU_CHECK_DIR:-device}
OUT=${OUT:-$PWD/build/gpu-check}
mkdir -p "$OUT"
RES=$OUT/gpu-check.md
BUDGET=${MXNET_GPU_CHECK_SECONDS:-480}
T0=$(date +%s)
DRY=${MXNET_GPU_CHECK_DRY:-0}
export DEV OUT OMP_THREAD_LIMIT=${OMP_THREAD_LIMIT:-8} PYTHONUNBUFFERED=1

left() { echo $((BUDGET - ($(date +%s) - T0))); }
note() { printf '%s\n' "$*" | tee -a "$RES"; }

# step NAME LIMIT LOG CMD...: CMD (a command or an exported function) with
# the smaller of LIMIT and the time left, its output appended to $OUT/LOG;
# one result line in gpu-check.md
step() {
  local name=$1 lim=$2 log=$3 l s rc what
  shift 3
  l=$(left)
  if [ "$lim" -gt "$l" ]; then lim=$l; fi
  if [ "$lim" -le 5 ]; then note "- $name: SKIPPED (out of time)"; return 124; fi
  s=$(date +%s)
  echo "### $name (limit ${lim}s)" >> "$OUT/$log"
  timeout -k 5 "$lim" bash -c '"$@"' step "$@" >> "$OUT/$log" 2>&1
  rc=$?
  case $rc in
    0) what=ok ;;
    124|137) what="TIMED OUT after ${lim}s" ;;
    *) what="FAILED (exit $rc)" ;;
  esac
  note "- $name: $what in $(($(date +%s) - s))s (log: $log)"
  return $rc
}

# Folders holding NAME: PyTorch's wheels first (matched with its CUDA), then
# a system toolkit.
lib_dir() {
  local name=$1 d f
  for d in $(python3 -c 'import site, os
ps = site.getsitepackages() + [site.getusersitepackages()]
try:
    import torch; ps.insert(0, os.path.dirname(os.path.dirname(torch.__file__)))
except Exception: pass
print(" ".join(os.path.join(p, "nvidia") for p in ps))' 2>/dev/null) \
           /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/lib/x86_64-linux-gnu; do
    [ -d "$d" ] || continue
    f=$(find "$d" -maxdepth 4 -name "$name" 2>/dev/null | head -n 1)
    if [ -n "$f" ]; then dirname "$f"; return 0; fi
  done
  return 1
}

# One markdown table from the results in $OUT (also: gpu-check.sh --table).
render_table() {
  python3 - "$OUT" "${1:-unknown GPU}" <<'EOF'
import csv, os, re, sys
out, gpu = sys.argv[1], sys.argv[2]
def read(name):
    p = os.path.join(out, name)
    return open(p).read() if os.path.exists(p) else ""
ours = {}
if os.path.exists(os.path.join(out, "bench-mxnet.csv")):
    for r in csv.DictReader(open(os.path.join(out, "bench-mxnet.csv"))):
        ours[(r["workload"], r["batch"], r["dtype"])] = r
torch = {}
for m in re.finditer(r"^(\S+)\s+train (\S+)\s+batch\s+(\d+):\s+(\d+) img/s.*peak alloc\s+(\d+) MiB",
                     read("4-bench-torch.log"), re.M):
    torch[(m.group(1), m.group(3), m.group(2))] = (m.group(4), m.group(5))
best = {}
for m in re.finditer(r"^lenet cuda-graph train batch (\d+): (\d+) img/s", read("5-bench-torch-best.log"), re.M):
    best[("lenet", m.group(1))] = (f"{int(m.group(2)):,} (CUDA graph)", "")
m = re.search(r"^resnet50 fp32 channels-last batch 64: (\d+) img/s peak (\d+) MiB", read("5-bench-torch-best.log"), re.M)
if m: best[("resnet50", "64")] = (f"{int(m.group(1)):,} (channels-last, peak {int(m.group(2)):,} MiB)", m.group(2))
rows = [("LeNet, batch 128", ("lenet", "128", "float32"), ("lenet", "128", "fp32"), ("lenet", "128")),
        ("LeNet, batch 1024", ("lenet", "1024", "float32"), ("lenet", "1024", "fp32"), ("lenet", "1024")),
        ("ResNet-50, batch 64, fp32", ("resnet50", "64", "float32"), ("resnet50", "64", "fp32"), ("resnet50", "64")),
        ("ResNet-50, batch 64, bf16", ("resnet50", "64", "bfloat16"), ("resnet50", "64", "bf16-cl"), None),
        ("Inception-BN, batch 64 (PyTorch: GoogLeNet-BN)", ("inception-bn", "64", "float32"),
         ("googlenet-bn", "64", "fp32"), None)]
def num(x):
    try: return float(x)
    except (TypeError, ValueError): return None
def fmt(x): return "" if x is None else f"{x:,.0f}"
def ratio(a, b): return f"{a / b:.2f}x" if a and b else ""
print()
print(f"Training throughput and peak device memory, {gpu}, same run (tools/gpu-check.sh):")
print()
print("| workload | mxnet img/s | mxnet peak MiB | PyTorch img/s | PyTorch peak MiB | speed ratio | memory ratio | PyTorch best img/s | note |")
print("|---|---|---|---|---|---|---|---|---|")
for label, ok, tk, bk in rows:
    o = ours.get(ok, {}); t = torch.get(tk, (None, None)); b = best.get(bk, ("", "")) if bk else ("", "")
    oi, op, ti, tp = num(o.get("img_s")), num(o.get("peak_mib")), num(t[0]), num(t[1])
    note = o.get("note", "") if o else "not run"
    if tk[2] == "bf16-cl": note = (note + "; " if note else "") + "PyTorch: bf16 autocast, channels-last"
    print(f"| {label} | {fmt(oi)} | {fmt(op)} | {fmt(ti)} | {fmt(tp)} | {ratio(oi, ti)} | {ratio(op, tp)} | {b[0]} | {note} |")
print()
print("Ratios: ours / PyTorch (speed: higher is better; memory: lower is better). mxnet peak = the "
      "device pool's peak bytes (mx.memory.stats(mx.gpu())); PyTorch = torch.cuda.max_memory_allocated.")
EOF
}

if [ "${1:-}" = --table ]; then
  render_table "$(grep -m 1 -v "^###" "$OUT/1-setup.log" 2>/dev/null)"
  exit 0
fi

: > "$RES"
note "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
note ""

# ------------------------------------------------------------ 1. setup
setup_machine() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader
  nvidia-smi -L
  uname -a
  echo "cores: $(nproc)"
}
export -f setup_machine
step "machine" 20 1-setup.log setup_machine
GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null | head -n 1)
note "- GPU: ${GPU:-none found by nvidia-smi}"

# PyTorch runs with the machine's own library path: the packed R's
# libraries (Debian's zlib, OpenSSL, ICU, ...) are for R alone
ORIG_LD=${LD_LIBRARY_PATH:-}
libs=""
for n in libcudnn.so.9 libcublas.so.13 libcublasLt.so.13; do
  d=$(lib_dir "$n") || { note "- library $n: NOT FOUND (the GPU module will not load)"; continue; }
  case ":$libs:" in *":$d:"*) ;; *) libs=${libs:+$libs:}$d ;; esac
done
export LD_LIBRARY_PATH=${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
note "- libraries: $libs"

if [ ! -f "$DEV/r/device-r-activate.sh" ] || [ ! -d "$DEV/lib/mxnet" ]; then
  note "- $DEV/ is incomplete: run \`make gpu-pack\` on the CPU machine and carry \"$DEV\""
  exit 1
fi
# shellcheck disable=SC1091
activate_r() { . "$DEV/r/device-r-activate.sh" "$DEV/r" && R --version | head -n 1; }
export -f activate_r
step "unpack R" 60 1-setup.log activate_r
# shellcheck disable=SC1091
. "$DEV/r/device-r-activate.sh" "$DEV/r" > /dev/null 2>&1   # again in this shell (fast: unpacked)
export R_LIBS="$PWD/$DEV/lib"

check_ldd() {
  local bad=0 f
  for f in "$DEV"/lib/mxnet/libs/*.so; do
    echo "== $f"; ldd "$f"
    if ldd "$f" | grep -q 'not found'; then bad=1; fi
  done
  return $bad
}
export -f check_ldd
step "ldd of the package's shared objects" 15 1-setup.log check_ldd ||
  note "  missing: $(grep 'not found' "$OUT/1-setup.log" | sort -u | tr -s ' \t\n' ' ')"

# shellcheck disable=SC2016
step "mx.features() and mx.gpu.count()" 40 1-setup.log Rscript -e '
  suppressMessages(library(mxnet)); print(mx.features()); n <- mx.gpu.count()
  cat("RESULT gpus", n, "\n"); if (n == 0) quit(status = 3)'
NGPU=$(sed -n 's/^RESULT gpus \([0-9]*\).*/\1/p' "$OUT/1-setup.log" | tail -n 1)
note "- mxnet sees ${NGPU:-0} GPU(s); CUDA: $(grep '^CUDA ' "$OUT/1-setup.log" | tail -n 1 | cut -c11-)"
if [ "${NGPU:-0}" = 0 ] && [ "$DRY" != 1 ]; then
  note "- stopping: the package cannot use this GPU (see 1-setup.log)"
  exit 1
fi

# --------------------------------------------------------- 2. GPU tests
# strict float32 convolutions: the tests compare with the CPU at 1e-4 and
# more tightly, which TF32's 10-bit mantissa (the default, as PyTorch's) does
# not meet; the benchmarks below keep the default.  tools/gpu-tests.R runs
# the files one by one, device-heavy ones first, a line each as it ends, so
# that a time limit keeps what was reached.
step "the test suite on gpu(0) (MXNET_TEST_CTX=gpu, MXNET_CUDA_SYNC=1, MXNET_CUDA_ALLOW_TF32_CONV=0)" 140 2-tests.log env MXNET_TEST_CTX=gpu MXNET_CUDA_SYNC=1 MXNET_CUDA_ALLOW_TF32_CONV=0 Rscript tools/gpu-tests.R
grep -E '^RESULT ' "$OUT/2-tests.log" | sed 's/^RESULT /  /' | tee -a "$RES"
grep -E '^FAILED ' "$OUT/2-tests.log" | head -n 40 | sed 's/^FAILED /  failed: /' | tee -a "$RES"
nfail=$(grep -c '^FAILED ' "$OUT/2-tests.log")
[ "$nfail" -gt 40 ] && note "  ... $nfail failed tests in all (2-tests.log)"
grep -q '^RESULT ' "$OUT/2-tests.log" ||
  note "  reached $(grep -c '^FILE ' "$OUT/2-tests.log") test files before the limit (2-tests.log)"

# -------------------------------------------------------- 3-5. benchmarks
rm -f "$OUT/bench-mxnet.csv"
BENCH_ARGS=""
[ "$DRY" = 1 ] && BENCH_ARGS="--ctx cpu --tiny"
# shellcheck disable=SC2086
step "bench/gpu-bench.R (ours)" 120 3-bench-mxnet.log Rscript bench/gpu-bench.R --out "$OUT/bench-mxnet.csv" $BENCH_ARGS

TORCH_DIR=$DEV/bench
[ -f "$TORCH_DIR/gpu_torch.py" ] || TORCH_DIR=../shared/bench
export TORCH_DIR
# gpu_torch.py runs its whole list when run; take its definitions (protocol,
# models) and run the workloads of our table
torch_subset() {
  python3 - "$TORCH_DIR/gpu_torch.py" <<'EOF'
import sys
src = open(sys.argv[1]).read()
exec(compile(src[:src.index('\nprint("torch"')], sys.argv[1], "exec"))
print("torch", torch.__version__, "cudnn", torch.backends.cudnn.version(), torch.cuda.get_device_name(0),
      "cudnn.allow_tf32", torch.backends.cudnn.allow_tf32, "matmul.allow_tf32",
      torch.backends.cuda.matmul.allow_tf32, flush=True)
torch.backends.cudnn.benchmark = True
bench("lenet", LeNet(), (1, 28, 28), 128, 10)
bench("lenet", LeNet(), (1, 28, 28), 1024, 10)
bench("resnet50", tvm.resnet50(), (3, 224, 224), 64, 1000)
bench("resnet50", tvm.resnet50(), (3, 224, 224), 64, 1000, mode="bf16-cl")
bench("googlenet-bn", tvm.googlenet(aux_logits=False, init_weights=True), (3, 224, 224), 64, 1000)
EOF
}
export -f torch_subset
step "PyTorch, gpu_torch.py protocol" 90 4-bench-torch.log env LD_LIBRARY_PATH="$ORIG_LD" bash -c torch_subset
step "PyTorch best, gpu_torch_best.py" 60 5-bench-torch-best.log \
  env LD_LIBRARY_PATH="$ORIG_LD" python3 "$TORCH_DIR/gpu_torch_best.py"

# -------------------------------------------------------------- 6. table
LD_LIBRARY_PATH="$ORIG_LD" render_table "${GPU:-unknown GPU}" | tee -a "$RES"
note ""
note "- total: $(($(date +%s) - T0))s"
echo "results: $RES"
