#!/usr/bin/env python3
"""Attention at long context, ours beside PyTorch: best-of-N time and peak extra memory of one forward
and one forward+backward over (B, H, T, d), causal.

    python3 bench/attention_compare.py build [--T 64 256 1024 4096 16384] [--reps 5] [--kernels op flash gemm_rows]

Each side runs in its own process per shape, ours and PyTorch alternately, so a neighbour on a shared
machine slows both alike. PyTorch runs with OMP_WAIT_POLICY=PASSIVE and the same thread count. Its
kernel is torch.nn.functional.scaled_dot_product_attention where that exists (PyTorch >= 2.0: on the
CPU a flash attention); on older versions (Debian's 1.13) the plain formula, which keeps the weights
— the table says which ran. T > 8192 runs PyTorch only where it has the flash kernel. Time: the best of all runs; memory: the largest. Peak extra memory: VmHWM after resetting it (/proc/self/clear_refs),
minus the resident size before the call."""
import argparse
import os
import subprocess
import sys

TORCH_SIDE = r'''
import gc, math, sys, time, torch
import torch.nn.functional as F
B, H, T, d, reps, causal = (int(x) for x in sys.argv[1:7])
torch.manual_seed(0)
def mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024.0
has_sdpa = hasattr(F, "scaled_dot_product_attention")
def attend(q, k, v):
    if has_sdpa:
        return F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
    s = q @ k.transpose(-2, -1) / math.sqrt(d)
    if causal:
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(s, -1) @ v
q, k, v = (torch.randn(B, H, T, d, requires_grad=True) for _ in range(3))
dy = torch.randn(B, H, T, d)
for backward in (False, True):
    best, peak = 1e30, 0.0
    for r in range(reps):
        for t in (q, k, v):
            t.grad = None
        gc.collect()
        before = mb("VmRSS:")
        open("/proc/self/clear_refs", "w").write("5")
        t0 = time.perf_counter()
        if backward:
            attend(q, k, v).backward(dy)
        else:
            with torch.no_grad():
                attend(q, k, v)
        best = min(best, time.perf_counter() - t0)
        peak = max(peak, mb("VmHWM:") - before)
    print(f"torch {torch.__version__} {'sdpa' if has_sdpa else 'formula'} {'fwd+bwd' if backward else 'fwd'} "
          f"best_ms={best * 1e3:.2f} extra_mb={peak:.1f}")
'''


def parse(line):
    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
    return float(fields["best_ms"]), float(fields["extra_mb"])


def best(prev, f, fb):
    """The faster time and the larger memory of two rounds, for the forward and the forward+backward."""
    if not prev:
        return f, fb
    return (min(prev[0][0], f[0]), max(prev[0][1], f[1])), (min(prev[1][0], fb[0]), max(prev[1][1], fb[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--B", type=int, default=1)
    ap.add_argument("--H", type=int, default=8)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--T", type=int, nargs="+", default=[64, 256, 1024, 4096, 16384])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2, help="ours and PyTorch alternately, this many times each")
    ap.add_argument("--kernels", nargs="+", default=["op"])
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--python", default="/usr/bin/python3", help="the Python with PyTorch (Debian's by default)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OMP_WAIT_POLICY="PASSIVE")
    exe = os.path.join(a.build, "bench", "bench_attention")
    print(f"(B, H, T, d) = ({a.B}, {a.H}, T, {a.d}), causal, {a.threads} threads; best of {a.reps} x {a.rounds} rounds")
    print(f"{'T':>6} {'side':<28}{'fwd ms':>10}{'fwd MB':>10}{'fwd+bwd ms':>12}{'fwd+bwd MB':>12}")
    for T in a.T:
        results = {}
        for _ in range(a.rounds):
            for kern in a.kernels:
                out = subprocess.run([exe, "--B", str(a.B), "--H", str(a.H), "--d", str(a.d), "--T", str(T), "--causal",
                                      "--reps", str(a.reps), "--kernel", kern], env=env, check=True,
                                     capture_output=True, text=True).stdout.splitlines()
                f, fb = parse(out[0]), parse(out[1])
                results["ours " + kern] = best(results.get("ours " + kern), f, fb)
            if a.no_torch or T > 8192 and not torch_has_sdpa(a.python):
                continue
            out = subprocess.run([a.python, "-c", TORCH_SIDE, str(a.B), str(a.H), str(T), str(a.d), str(a.reps), "1"],
                                 env=env, check=True, capture_output=True, text=True).stdout.splitlines()
            name = " ".join(out[0].split()[:3])
            f, fb = parse(out[0]), parse(out[1])
            results[name] = best(results.get(name), f, fb)
        for name, ((fm, fmb), (bm, bmb)) in results.items():
            print(f"{T:>6} {name:<28}{fm:>10.2f}{fmb:>10.1f}{bm:>12.2f}{bmb:>12.1f}")
        sys.stdout.flush()


def torch_has_sdpa(python):
    out = subprocess.run([python, "-c", "import torch.nn.functional as F; print(hasattr(F, 'scaled_dot_product_attention'))"],
                         capture_output=True, text=True).stdout.strip()
    return out == "True"


if __name__ == "__main__":
    main()
