#!/usr/bin/env bash
# Two ranks as two hosts: two network namespaces on this machine joined by a veth pair (10.200.17.1
# and 10.200.17.2 in a private /30), Open MPI over TCP between them (btl tcp,self: no shared memory,
# and its out-of-band channel on the veth too). mpirun runs in the first namespace and starts the
# second rank in the other through a launch agent that stands in for ssh (`ip netns exec`).
# Checks that each rank ran in its own namespace, and that the run's checkpoint is the one the same
# 2-rank run gives on one host (shared memory), bit for bit. Then cuts the link in the middle of a
# run: each rank must stop by itself within 30 s (--collective-timeout 10), rank 0 saying why. (mpirun
# itself goes on waiting for the other host's daemon; the test ends it.)
# Exits 77 (ctest: SKIPPED) with the reason when namespaces cannot be made here (not root, no
# iproute2, or no CAP_SYS_ADMIN / CAP_NET_ADMIN in a container).
# usage: mpi_two_hosts_netns.sh path/to/llm-journey path/to/mpirun
set -uo pipefail
LJ=$1
MPIRUN=$2
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "network namespaces need root (running as uid $(id -u))"
command -v ip > /dev/null || skip "no 'ip' command (install iproute2)"

tag=lj$$
ns_a=${tag}_a ns_b=${tag}_b
dir=$(mktemp -d /tmp/lj_mpi_netns.XXXXXX)
cleanup() {
  ip netns del "$ns_a" 2> /dev/null
  ip netns del "$ns_b" 2> /dev/null  # deleting a namespace deletes its end of the veth, and so the pair
  rm -rf "$dir"
}
trap cleanup EXIT

ip netns add "$ns_a" 2> "$dir/err" || skip "cannot create a network namespace: $(cat "$dir/err")"
ip netns add "$ns_b" 2> "$dir/err" || skip "cannot create a network namespace: $(cat "$dir/err")"
ip link add "${tag}va" type veth peer name "${tag}vb" 2> "$dir/err" || skip "cannot create a veth pair: $(cat "$dir/err")"
ip link set "${tag}va" netns "$ns_a" && ip link set "${tag}vb" netns "$ns_b" &&
  ip -n "$ns_a" addr add 10.200.17.1/30 dev "${tag}va" && ip -n "$ns_b" addr add 10.200.17.2/30 dev "${tag}vb" &&
  ip -n "$ns_a" link set "${tag}va" up && ip -n "$ns_b" link set "${tag}vb" up &&
  ip -n "$ns_a" link set lo up && ip -n "$ns_b" link set lo up || fail "setting up the veth pair"

# The launch agent mpirun calls as it would ssh: agent HOST COMMAND...
cat > "$dir/agent.sh" << EOF
#!/bin/sh
host=\$1; shift
case "\$host" in
  10.200.17.1) ns=$ns_a ;;
  10.200.17.2) ns=$ns_b ;;
  *) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" sh -c "\$*"
EOF
chmod +x "$dir/agent.sh"
printf '10.200.17.1 slots=1\n10.200.17.2 slots=1\n' > "$dir/hostfile"

RANDOM=5
words=("the " "king " "queen " "shall " "speak " "now, " "and " "we " "go."$'\n')
for i in $(seq 6000); do printf '%s' "${words[RANDOM % 9]}"; done > "$dir/corpus.txt"
COMMON=(--data "$dir/corpus.txt" --n-layer 1 --n-head 2 --n-embd 32 --block-size 32 --batch-size 8
        --warmup-iters 10 --eval-interval 100 --eval-iters 2 --seed 7)
ARGS=("${COMMON[@]}" --max-iters 200)
# Each rank notes the network namespace it runs in, then becomes the trainer.
RANK_CMD='readlink /proc/self/ns/net > "$0/ns.$OMPI_COMM_WORLD_RANK"; shift; exec "$@"'

start=$SECONDS
timeout 120 ip netns exec "$ns_a" "$MPIRUN" --allow-run-as-root --bind-to none -np 2 --hostfile "$dir/hostfile" \
  --mca plm_rsh_agent "$dir/agent.sh" --mca btl tcp,self --mca btl_tcp_if_include 10.200.17.0/30 \
  --mca oob_tcp_if_include 10.200.17.0/30 -x OMP_NUM_THREADS=1 \
  sh -c "$RANK_CMD" "$dir" _ "$LJ" train "${ARGS[@]}" --out "$dir/tcp" > "$dir/tcp.log" 2>&1 ||
  { cat "$dir/tcp.log"; fail "the 2-host run failed"; }
echo "2 hosts over TCP: $((SECONDS - start)) s"
grep -E '^(data-parallel|steady|gradient)' "$dir/tcp.log"
[ "$(cat "$dir/ns.0")" = "$(ip netns exec "$ns_a" readlink /proc/self/ns/net)" ] || fail "rank 0 did not run in $ns_a"
[ "$(cat "$dir/ns.1")" = "$(ip netns exec "$ns_b" readlink /proc/self/ns/net)" ] || fail "rank 1 did not run in $ns_b"
echo "rank 0 ran in $ns_a ($(cat "$dir/ns.0")), rank 1 in $ns_b ($(cat "$dir/ns.1"))"

timeout 120 "$MPIRUN" --allow-run-as-root --oversubscribe --bind-to none -np 2 -x OMP_NUM_THREADS=1 \
  "$LJ" train "${ARGS[@]}" --out "$dir/local" > "$dir/local.log" 2>&1 || { cat "$dir/local.log"; fail "the 1-host run failed"; }
cmp "$dir/tcp/checkpoint.safetensors" "$dir/local/checkpoint.safetensors" ||
  fail "the 2-host checkpoint differs from the 1-host one"
echo "the 2-host run's checkpoint equals the 1-host 2-rank run's, bit for bit"

# A host that vanishes: the veth goes down after the checkpoint at iteration 100.
ip netns exec "$ns_a" "$MPIRUN" --allow-run-as-root --bind-to none -np 2 --hostfile "$dir/hostfile" \
  --mca plm_rsh_agent "$dir/agent.sh" --mca btl tcp,self --mca btl_tcp_if_include 10.200.17.0/30 \
  --mca oob_tcp_if_include 10.200.17.0/30 -x OMP_NUM_THREADS=1 \
  "$LJ" train "${COMMON[@]}" --max-iters 100000 --collective-timeout 10 --out "$dir/cut" > "$dir/cut.log" 2>&1 &
mpirun_pid=$!
for _ in $(seq 600); do grep -q '^step 100:' "$dir/cut.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^step 100:' "$dir/cut.log" || { kill $mpirun_pid; cat "$dir/cut.log"; fail "no checkpoint at iteration 100 within 60 s"; }
ip -n "$ns_b" link set "${tag}vb" down
cut_at=$SECONDS
lj_exe=$(readlink -f "$LJ")
ranks_left() { { ip netns pids "$ns_a"; ip netns pids "$ns_b"; } | while read -r p; do
  [ "$(readlink /proc/$p/exe 2> /dev/null)" = "$lj_exe" ] && echo "$p"; done; }
for _ in $(seq 300); do [ -z "$(ranks_left)" ] && break; sleep 0.1; done
left=$(ranks_left)
stopped_after=$((SECONDS - cut_at))
kill $mpirun_pid 2> /dev/null; sleep 1; kill -9 $mpirun_pid 2> /dev/null
for p in $(ip netns pids "$ns_a") $(ip netns pids "$ns_b"); do kill -9 "$p" 2> /dev/null; done
[ -z "$left" ] || { cat "$dir/cut.log"; fail "ranks still running 30 s after the link was cut: $left"; }
grep -q 'no answer from the other ranks for .* s in' "$dir/cut.log" || { cat "$dir/cut.log"; fail "rank 0 did not say why it stopped"; }
echo "link cut: both ranks stopped within $stopped_after s; rank 0: $(grep -m1 'no answer' "$dir/cut.log" | cut -c1-110)..."
echo PASS
