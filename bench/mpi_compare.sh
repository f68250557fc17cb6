#!/usr/bin/env bash
# Data parallelism on this machine: 1 rank x 2 threads against 2 ranks x 1 thread (mpirun), for
# nanoGPT's CPU configuration and the tool's default one. Prints each side's steady throughput (the
# training steps after the first 10, as `train` reports it; best of REPEATS runs, as a neighbour on a
# shared machine can only slow a run down), the gradient allreduce's time per step inside training
# (rank 0's, including any wait for the slower rank), and the allreduce of the same buffer alone,
# after a barrier (bench/mpi_allreduce.cpp): the communication by itself, for the scaling estimate
# in the README.
# usage: bench/mpi_compare.sh [BUILD_DIR] [DATA] [STEPS] [REPEATS]
#   STEPS: timed steps for nanoGPT's configuration (the default configuration gets STEPS / 4, at least 4)
set -euo pipefail
BUILD=${1:-build}
DATA=${2:-../shared/data/tinyshakespeare.txt}
STEPS=${3:-60}
REPEATS=${4:-2}
LJ=$BUILD/llm-journey
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
[ -x "$LJ" ] || { echo "no $LJ: build it first (cmake --build $BUILD --target llm-journey)"; exit 1; }
[ -f "$DATA" ] || { echo "no data file $DATA (make data)"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$BUILD/mpi_allreduce" ] || [ "$here/mpi_allreduce.cpp" -nt "$BUILD/mpi_allreduce" ]; then
  mpicxx -O2 -std=c++17 "$here/mpi_allreduce.cpp" -o "$BUILD/mpi_allreduce"
fi
tmp=$(mktemp -d /tmp/lj_mpi_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

steady() { sed -n 's/^steady throughput: \([0-9,]*\) tok\/s.*/\1/p' "$1" | tr -d ,; }
allreduce_ms() { sed -n 's/^gradient allreduce: \([0-9.]*\) ms per step.*/\1/p' "$1"; }
allreduce_bytes() { sed -n 's/^gradient allreduce: [0-9.]* ms per step on rank 0 (\([0-9,]*\) bytes.*/\1/p' "$1" | tr -d ,; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 < b + 0 || b == "") ? a : b }'; }

printf '%-10s %14s %14s %8s %18s %12s %16s\n' config "1x2 tok/s" "2x1 tok/s" "ratio" "allreduce in step" "bytes" "allreduce alone"
for cfg in nanogpt default; do
  if [ $cfg = nanogpt ]; then
    model=(--n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch-size 12)
    steps=$STEPS
  else
    model=(--n-layer 6 --n-head 6 --n-embd 384 --block-size 256 --batch-size 12)
    steps=$((STEPS / 4 < 4 ? 4 : STEPS / 4))
  fi
  args=(train --data "$DATA" "${model[@]}" --max-iters $((steps + 10)) --eval-interval 1000000000 --eval-iters 1
        --warmup-iters 100)
  best1=0 best2=0 ms=""
  for r in $(seq "$REPEATS"); do
    OMP_NUM_THREADS=2 "$LJ" "${args[@]}" --out "$tmp/one.$cfg.$r" > "$tmp/one.log" 2>&1 || { cat "$tmp/one.log"; exit 1; }
    best1=$(max "$best1" "$(steady "$tmp/one.log")")
    "${MPIRUN[@]}" -np 2 -x OMP_NUM_THREADS=1 "$LJ" "${args[@]}" --out "$tmp/two.$cfg.$r" > "$tmp/two.log" 2>&1 ||
      { cat "$tmp/two.log"; exit 1; }
    best2=$(max "$best2" "$(steady "$tmp/two.log")")
    ms=$(min "$(allreduce_ms "$tmp/two.log")" "$ms")
  done
  bytes=$(allreduce_bytes "$tmp/two.log")
  alone=$("${MPIRUN[@]}" -np 2 "$BUILD/mpi_allreduce" $((bytes / 4)) 50 | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
  printf '%-10s %14s %14s %8s %15s ms %12s %13s ms\n' $cfg "$best1" "$best2" \
    "$(awk -v a="$best2" -v b="$best1" 'BEGIN { printf "%.2f", a / b }')" "$ms" "$bytes" "$alone"
done
