#!/bin/sh
# cli_train.sh CASE LLM_JOURNEY: the train command under a user's mistakes; each CASE trains a tiny model
# in a fresh folder and checks the exit status and the message.
set -u
case_name=$1; lj=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
i=0; while [ $i -lt 150 ]; do echo "the king shall speak now, and we go to the sea."; i=$((i+1)); done > "$work/text.txt"
tiny="--data $work/text.txt --n-layer 1 --n-head 2 --n-embd 16 --block-size 8 --batch-size 2 --eval-iters 1 --eval-interval 2"
out="$work/out"
fail() { echo "FAIL: $*"; exit 1; }
# expect PATTERN ARGS...: the command fails and says PATTERN
expect() { pattern=$1; shift
  msg=$("$lj" train "$@" 2>&1) && fail "exited 0: train $*"
  printf '%s\n' "$msg" | tail -3
  printf '%s' "$msg" | grep -qF -- "$pattern" || fail "message lacks: $pattern"; }
train_ok() { msg=$("$lj" train "$@" 2>&1) || { printf '%s\n' "$msg"; fail "train $* failed"; }; }
train_ok $tiny --out "$out" --max-iters 4
case $case_name in
  overwrite)  # a second run on the folder must not replace the trained model unasked
    before=$(md5sum < "$out/checkpoint.safetensors")
    expect "already holds a model; give --resume to continue training it, or --overwrite" $tiny --out "$out" --max-iters 2
    [ "$(md5sum < "$out/checkpoint.safetensors")" = "$before" ] || fail "the checkpoint changed"
    train_ok $tiny --out "$out" --max-iters 2 --overwrite
    printf '%s' "$msg" | grep -q "done: 2 iterations" || fail "--overwrite did not train a new run: $msg" ;;
  locked)  # a second run while another holds the folder (flock(1) holds it while train runs)
    msg=$(flock "$out/.lock" "$lj" train $tiny --out "$out" --resume --max-iters 6 2>&1) && fail "exited 0 under a held lock"
    printf '%s\n' "$msg"
    printf '%s' "$msg" | grep -qF "another run is using the output folder $out" || fail "message lacks the folder" ;;
  partial_save)  # a killed save's temporary is removed at the next start
    head -c 100000 /dev/urandom > "$out/checkpoint.safetensors.tmp"
    train_ok $tiny --out "$out" --resume --max-iters 6
    printf '%s' "$msg" | grep -qF "removed $out/checkpoint.safetensors.tmp, left by an interrupted save" || fail "not said: $msg"
    [ ! -e "$out/checkpoint.safetensors.tmp" ] || fail "the partial save is still there" ;;
  resume_conflict)
    expect "--lr 0.5 differs from the checkpoint's 0.001" $tiny --out "$out" --resume --max-iters 6 --lr 0.5
    expect "--dropout 0.2 differs from the checkpoint's 0" $tiny --out "$out" --resume --max-iters 6 --dropout 0.2
    train_ok $tiny --out "$out" --resume --max-iters 6 --lr 0.001 ;;  # the same value is no conflict
  resume_nothing_to_do)
    expect "--max-iters 3 is not beyond the checkpoint's iteration 4" $tiny --out "$out" --resume --max-iters 3
    expect "has finished its 4 iterations: nothing to do" --data "$work/text.txt" --out "$out" --resume ;;
  resume_extend)  # the new total is applied and said; without --max-iters the run keeps its own total
    train_ok --data "$work/text.txt" --out "$out" --resume --max-iters 6
    printf '%s' "$msg" | grep -qF -- "--max-iters 6 replaces the checkpoint's 4: the cosine learning rate now decays" || fail "not said: $msg"
    printf '%s' "$msg" | grep -qF "done: 2 iterations" || fail "did not train 2 more: $msg" ;;
  diverged)  # a learning rate that overflows the weights: stopped, named, the last good checkpoint kept
    expect "the run has diverged" $tiny --out "$work/out2" --lr 1e30 --min-lr 0 --warmup-iters 0 --max-iters 20
    "$lj" eval --checkpoint "$work/out2/checkpoint.safetensors" --data "$work/text.txt" >/dev/null 2>&1 ||
      fail "the checkpoint kept does not load"
    expect "lr=inf must be a finite number" $tiny --out "$work/out3" --lr inf ;;
  perplexity)  # a perplexity of e^98 in scientific notation, not 43 digits
    /usr/bin/python3 "$(dirname "$0")/scale_logits.py" "$out/checkpoint.safetensors" "$work/big.safetensors" 300
    msg=$("$lj" eval --checkpoint "$work/big.safetensors" --data "$work/text.txt" 2>/dev/null) || fail "eval failed"
    echo "$msg"
    printf '%s' "$msg" | grep -Eq '^loss [0-9]+\.[0-9]{4} perplexity [1-9]\.[0-9]{4}e\+[0-9]+$' || fail "not in scientific notation" ;;
  bf16)  # --dtype bf16: a run resumed (in the checkpoint's dtype) ends in the uninterrupted run's checkpoint,
         # which is not the fp32 run's, and which eval and generate read as any other
    flat="--lr 0.001 --min-lr 0.001 --warmup-iters 0"  # a schedule that does not follow --max-iters
    train_ok $tiny $flat --out "$work/a" --max-iters 8 --dtype bf16
    train_ok $tiny $flat --out "$work/b" --max-iters 4 --dtype bf16
    train_ok --data "$work/text.txt" --out "$work/b" --resume --max-iters 8
    cmp "$work/a/checkpoint.safetensors" "$work/b/checkpoint.safetensors" || fail "the resumed bf16 run differs"
    train_ok $tiny $flat --out "$work/f" --max-iters 8
    cmp -s "$work/a/checkpoint.safetensors" "$work/f/checkpoint.safetensors" && fail "bf16 trained the fp32 run"
    "$lj" eval --checkpoint "$work/a/checkpoint.safetensors" --data "$work/text.txt" >/dev/null 2>&1 || fail "eval failed"
    "$lj" generate --checkpoint "$work/a/checkpoint.safetensors" --prompt "the" --max-new-tokens 4 >/dev/null 2>&1 ||
      fail "generate failed"
    train_ok --data "$work/text.txt" --out "$work/b" --resume --max-iters 10 --dtype fp32
    printf '%s' "$msg" | grep -qF -- "--dtype fp32 replaces the checkpoint's bf16" || fail "not said: $msg"
    expect "fp16" $tiny --out "$work/c" --dtype fp16 ;;
  *) fail "unknown case $case_name" ;;
esac
echo ok
