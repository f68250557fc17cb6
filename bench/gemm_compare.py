"""The machine's measured peaks, and matrix products at a training step's shapes in fp32 and bf16:
ours (bench_peak) beside PyTorch's (fp32 through its BLAS, bf16 through oneDNN), each as GFLOP/s and as
% of the peak of its kind. PyTorch at the faster of the machine's thread count and one thread, with
OMP_WAIT_POLICY=PASSIVE. Best of --rounds runs on each side, alternating.
Usage: bench/gemm_compare.py BUILD_DIR [--rounds 3]"""
import argparse
import json
import os
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--torch-child", type=int, default=0, help=argparse.SUPPRESS)
args = ap.parse_args()
SHAPES = [(768, 128, 384), (768, 512, 128), (2048, 768, 2304)]

if args.torch_child:
    import torch

    torch.set_num_threads(args.torch_child)
    out = {}
    for (M, K, N) in SHAPES:
        for dt in (torch.float32, torch.bfloat16):
            a, b = torch.randn(M, K, dtype=dt), torch.randn(K, N, dtype=dt)
            flops = 2.0 * M * N * K
            best = float("inf")
            for _ in range(5 if flops > 1e9 else 50):
                t = time.perf_counter()
                torch.mm(a, b)
                best = min(best, time.perf_counter() - t)
            out[f"{M}x{K}x{N}.{'f32' if dt == torch.float32 else 'bf16'}"] = flops / best / 1e9
    print(json.dumps(out))
    sys.exit(0)

threads = os.cpu_count()
ours, theirs = None, {}
for _ in range(args.rounds):
    r = json.loads(subprocess.run([os.path.join(args.build, "bench", "bench_peak"), "--json"], check=True,
                                  stdout=subprocess.PIPE, text=True,
                                  env=dict(os.environ, OMP_NUM_THREADS=str(threads))).stdout)
    if ours is None:
        ours = r
    else:
        for k in ("fma256", "fma512", "dpbf16"):
            ours[k] = max(ours[k], r[k])
        for g0, g1 in zip(ours["gemm"], r["gemm"]):
            g0["f32"], g0["bf16"] = max(g0["f32"], g1["f32"]), max(g0["bf16"], g1["bf16"])
    for t in sorted({1, threads}):
        p = subprocess.run([sys.executable, os.path.abspath(__file__), args.build, "--torch-child", str(t)],
                           check=True, stdout=subprocess.PIPE, text=True,
                           env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=str(t)))
        for k, v in json.loads(p.stdout).items():
            theirs[k] = max(theirs.get(k, 0.0), v)

fp32_peak = max(ours["fma256"], ours["fma512"])
bf16_peak = ours["dpbf16"] or fp32_peak
print(f"threads: {threads}; oneDNN: {ours['isa']}")
print(f"peaks (GFLOP/s): fp32 FMA 256-bit {ours['fma256']:.0f}, 512-bit {ours['fma512']:.0f}; "
      + (f"bf16 dot product {ours['dpbf16']:.0f}" if ours["dpbf16"] else "no bf16 dot-product instruction"))
print(f"{'product':<16} {'ours fp32':>10} {'% peak':>7} {'torch fp32':>11} {'% peak':>7}"
      f" {'ours bf16':>10} {'% peak':>7} {'torch bf16':>11} {'% peak':>7}")
for g in ours["gemm"]:
    name = f"{g['M']}x{g['K']}x{g['N']}"
    tf, tb = theirs[name + ".f32"], theirs[name + ".bf16"]
    print(f"{name:<16} {g['f32']:>10.0f} {100 * g['f32'] / fp32_peak:>6.0f}% {tf:>11.0f} {100 * tf / fp32_peak:>6.0f}%"
          f" {g['bf16']:>10.0f} {100 * g['bf16'] / bf16_peak:>6.0f}% {tb:>11.0f} {100 * tb / bf16_peak:>6.0f}%")
if not ours["dpbf16"]:
    print("(no bf16 instructions: the bf16 columns are against the fp32 peak)")
