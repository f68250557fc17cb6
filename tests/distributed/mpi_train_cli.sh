#!/usr/bin/env bash
# `llm-journey train` under mpirun, 2 ranks on this machine:
#   1. a batch that does not split evenly, and ranks given different data, stop every rank with a
#      message naming the values, in bounded time;
#   2. a full run prints from rank 0 alone and writes one checkpoint;
#   3. the same run with rank 1 killed (SIGKILL) after the checkpoint at iteration 50: mpirun stops
#      rank 0 and says which rank died, within 30 s; resuming from the last checkpoint on 2 ranks then
#      finishes with the same checkpoint, bit for bit, as the run that was never interrupted (with
#      dropout on, so the per-rank dropout streams are covered too);
#   4. a checkpoint written by one process resumes on 2 ranks, and that one on 1 process again.
# usage: mpi_train_cli.sh path/to/llm-journey path/to/mpirun
set -uo pipefail
LJ=$1
MPIRUN=$2
MPI=("$MPIRUN" --allow-run-as-root --oversubscribe --bind-to none -x OMP_NUM_THREADS=1)
dir=$(mktemp -d /tmp/lj_mpi_cli.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A corpus with some structure, the same every time.
RANDOM=5
words=("the " "king " "queen " "shall " "speak " "now, " "and " "we " "go."$'\n')
for i in $(seq 6000); do printf '%s' "${words[RANDOM % 9]}"; done > "$dir/corpus.txt"
# The same characters in another order: the same vocabulary, different data.
rev "$dir/corpus.txt" > "$dir/other.txt"

MODEL=(--n-layer 1 --n-head 2 --n-embd 32 --block-size 32 --dropout 0.1 --grad-accum 2 --max-iters 400
       --warmup-iters 10 --eval-interval 50 --eval-iters 2 --seed 7)
ARGS=(--data "$dir/corpus.txt" --batch-size 8 "${MODEL[@]}")

# 1a. an uneven share
start=$SECONDS
timeout 60 "${MPI[@]}" -np 2 "$LJ" train --data "$dir/corpus.txt" --batch-size 5 "${MODEL[@]}" --out "$dir/uneven" > "$dir/uneven.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "batch_size=5 on 2 ranks: exit code $rc"
grep -q "batch_size=5 is not a multiple of the 2 ranks" "$dir/uneven.log" || { cat "$dir/uneven.log"; fail "no message naming batch_size=5"; }
echo "uneven batch: stopped in $((SECONDS - start)) s with: $(grep -m1 'batch_size=5' "$dir/uneven.log")"

# 1b. ranks with different data (MPMD: rank 0 reads corpus.txt, rank 1 other.txt)
timeout 60 "${MPI[@]}" -np 1 "$LJ" train "${ARGS[@]}" --out "$dir/mixed" : \
  -np 1 "$LJ" train --data "$dir/other.txt" --batch-size 8 "${MODEL[@]}" --out "$dir/mixed" > "$dir/mixed.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "ranks with different data: exit code $rc"
grep -q "ranks disagree on the training data" "$dir/mixed.log" || { cat "$dir/mixed.log"; fail "no message on the data"; }
echo "different data: $(grep -m1 'ranks disagree' "$dir/mixed.log")"

# 2. the reference run
timeout 120 "${MPI[@]}" -np 2 "$LJ" train "${ARGS[@]}" --out "$dir/ref" > "$dir/ref.out" 2> "$dir/ref.err" ||
  { cat "$dir/ref.out" "$dir/ref.err"; fail "the 2-rank run failed"; }
[ "$(grep -c '^corpus ' "$dir/ref.out")" = 1 ] || fail "expected one 'corpus' line (rank 0 only): $(cat "$dir/ref.out")"
[ "$(grep -c '^done: ' "$dir/ref.out")" = 1 ] || fail "expected one 'done' line"
[ "$(grep -c '^step 400:' "$dir/ref.err")" = 1 ] || fail "expected one 'step 400' line: $(cat "$dir/ref.err")"
grep -q '^data-parallel: 2 ranks, 4 of the 8 sequences' "$dir/ref.out" || fail "no data-parallel line"
grep -q '^gradient allreduce: ' "$dir/ref.out" || fail "no allreduce timing"
[ -f "$dir/ref/checkpoint.safetensors" ] && [ -f "$dir/ref/loss.png" ] || fail "no checkpoint or plot"
grep -E '^(data-parallel|steady|gradient)' "$dir/ref.out"

# 3. kill rank 1 after the checkpoint at iteration 50
"${MPI[@]}" -np 2 "$LJ" train "${ARGS[@]}" --out "$dir/killed" > "$dir/killed.out" 2> "$dir/killed.err" &
mpirun_pid=$!
for _ in $(seq 600); do grep -q '^step 50:' "$dir/killed.err" 2>/dev/null && break; sleep 0.1; done
grep -q '^step 50:' "$dir/killed.err" || { kill $mpirun_pid; fail "no checkpoint at iteration 50 within 60 s"; }
rank1=""
for p in $(pgrep -P $mpirun_pid); do
  tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && rank1=$p
done
[ -n "$rank1" ] || { kill $mpirun_pid; fail "rank 1's process not found among mpirun's children"; }
killed_at=$SECONDS
kill -9 "$rank1"
rc=""
for _ in $(seq 300); do
  if ! kill -0 $mpirun_pid 2>/dev/null; then wait $mpirun_pid; rc=$?; break; fi
  sleep 0.1
done
if [ -z "$rc" ]; then kill -9 $mpirun_pid; cat "$dir/killed.err"; fail "mpirun still running 30 s after rank 1 was killed"; fi
[ "$rc" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
grep -q 'exited on signal 9' "$dir/killed.err" "$dir/killed.out" || { cat "$dir/killed.err"; fail "no message naming the killed rank"; }
grep -q '^done: ' "$dir/killed.out" && fail "the killed run finished: make it longer"
echo "rank 1 killed: mpirun stopped in $((SECONDS - killed_at)) s, exit code $rc, saying: $(grep -m1 'exited on signal' "$dir/killed.err" "$dir/killed.out" | cut -d: -f2-)"

# ... and resuming from its last checkpoint ends where the uninterrupted run ended
timeout 120 "${MPI[@]}" -np 2 "$LJ" train "${ARGS[@]}" --out "$dir/killed" --resume > "$dir/resumed.out" 2> "$dir/resumed.err" ||
  { cat "$dir/resumed.out" "$dir/resumed.err"; fail "the resumed run failed"; }
grep '^resuming' "$dir/resumed.out"
cmp "$dir/ref/checkpoint.safetensors" "$dir/killed/checkpoint.safetensors" ||
  fail "the resumed run's checkpoint differs from the uninterrupted run's"
echo "resumed after the kill: the final checkpoint equals the uninterrupted run's, bit for bit"

# 4. 1 process -> 2 ranks -> 1 process
SMALL=(--data "$dir/corpus.txt" --batch-size 8 --n-layer 1 --n-head 2 --n-embd 32 --block-size 32 --eval-interval 50
       --eval-iters 2 --seed 7)
OMP_NUM_THREADS=1 timeout 60 "$LJ" train "${SMALL[@]}" --max-iters 50 --out "$dir/hop" > "$dir/hop1.log" 2>&1 ||
  { cat "$dir/hop1.log"; fail "the 1-process run failed"; }
timeout 60 "${MPI[@]}" -np 2 "$LJ" train "${SMALL[@]}" --max-iters 100 --out "$dir/hop" --resume > "$dir/hop2.log" 2>&1 ||
  { cat "$dir/hop2.log"; fail "resuming a 1-process checkpoint on 2 ranks failed"; }
grep -q '^resuming .* at iteration 50 of 100' "$dir/hop2.log" && grep -q '^step 100:' "$dir/hop2.log" ||
  { cat "$dir/hop2.log"; fail "the 2-rank resume did not train from 50 to 100"; }
OMP_NUM_THREADS=1 timeout 60 "$LJ" train "${SMALL[@]}" --max-iters 150 --out "$dir/hop" --resume > "$dir/hop3.log" 2>&1 ||
  { cat "$dir/hop3.log"; fail "resuming a 2-rank checkpoint in 1 process failed"; }
grep -q '^resuming .* at iteration 100 of 150' "$dir/hop3.log" && grep -q '^step 150:' "$dir/hop3.log" ||
  { cat "$dir/hop3.log"; fail "the 1-process resume did not train from 100 to 150"; }
echo "1 process -> 2 ranks -> 1 process: resumed at 50 and at 100, trained to 150"
echo PASS
