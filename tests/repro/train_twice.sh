#!/usr/bin/env bash
# Reproducible runs: the same `train` command, run in separate processes, writes the same checkpoint,
# byte for byte, on 2 threads and on 1; and the checkpoints of 1 and 2 threads are the same too
# (results do not depend on the thread count).
# Usage: train_twice.sh LLM_JOURNEY_BINARY WORK_DIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
# A corpus of its own, so the test needs no download: 40 KB of varied text made by a fixed rule.
python3 - "$work/text.txt" <<'PY'
import sys
words = "the quick brown fox jumps over a lazy dog while seven bold kings sing of rain and salt".split()
out, x = [], 12345
for _ in range(8000):
    x = (1103515245 * x + 12345) % 2**31
    out.append(words[x % len(words)] + ("\n" if x % 11 == 0 else " "))
open(sys.argv[1], "w").write("".join(out))
PY
# Large enough that the products and loops run on both threads: 768 rows of 128 wide.
args=(--data "$work/text.txt" --n-layer 2 --n-head 4 --n-embd 128 --block-size 64 --batch-size 12
      --max-iters 12 --eval-interval 6 --eval-iters 2 --dropout 0.1 --seed 7 --lr 1e-3 --warmup-iters 2)
run() {  # run THREADS NAME
  OMP_NUM_THREADS=$1 "$bin" train "${args[@]}" --out "$work/$2" > "$work/$2.log" 2>&1 ||
    { cat "$work/$2.log"; echo "train failed ($2)"; exit 1; }
  md5sum < "$work/$2/checkpoint.safetensors" | cut -d' ' -f1
}
a2=$(run 2 a2); b2=$(run 2 b2); a1=$(run 1 a1); b1=$(run 1 b1)
echo "2 threads: $a2 $b2"
echo "1 thread:  $a1 $b1"
status=0
[ "$a2" = "$b2" ] || { echo "FAIL: two runs on 2 threads wrote different checkpoints"; status=1; }
[ "$a1" = "$b1" ] || { echo "FAIL: two runs on 1 thread wrote different checkpoints"; status=1; }
[ "$a1" = "$a2" ] || { echo "FAIL: 1 and 2 threads wrote different checkpoints"; status=1; }
grep -h "val" "$work/a2.log" | tail -1
exit $status
