#!/usr/bin/env python3
"""Generation at batch 1, GPT-2 124M's shape with random weights: our decoder per weight format against
the memory-bandwidth limit and, where a virtual environment build/bench-venv has transformers, against
transformers + PyTorch at the same dtype. Each case runs in its own process, so each peak memory is its
own, with one thread and with all of them (each figure the faster), as PyTorch gets. On a shared
machine a neighbour can only slow a run down: every figure is the best of several.

Run: bench/decode_compare.py [BUILD_DIR]
"""
import os
import re
import subprocess
import sys

build = sys.argv[1] if len(sys.argv) > 1 else "build"
exe = os.path.join(build, "bench", "bench_decode")
venv_python = os.path.join(build, "bench-venv", "bin", "python")

bw = subprocess.run([exe, "bandwidth", "10"], capture_output=True, text=True, check=True).stdout
print(bw, end="")
gbs = max(float(g) for g in re.findall(r"([\d.]+) GB/s", bw))

rows = []
for dtype in ["fp32", "bf16", "int8"]:
    best, best_prefill = None, 0.0
    for threads in sorted({1, os.cpu_count()}):  # as PyTorch below: the faster thread count, per case
        out = subprocess.run([exe, "decode", dtype, "64"], capture_output=True, text=True, check=True,
                             env=dict(os.environ, OMP_NUM_THREADS=str(threads))).stdout
        print(f"{threads} thread(s): {out}", end="")
        mb = float(re.search(r"weights ([\d.]+) MB", out).group(1))
        tps = float(re.search(r"\(([\d.]+) tokens/s, ", out).group(1))
        prefill = float(re.search(r"prefill 512 tokens [\d.]+ s \(([\d.]+) tokens/s\)", out).group(1))
        peak = float(re.search(r"peak RSS (\d+) MB", out).group(1))
        best_prefill = max(best_prefill, prefill)
        if best is None or tps > best[2]:
            best = ("llm-journey", dtype, tps, gbs * 1e3 / mb, 0.0, peak)
    rows.append(best[:4] + (best_prefill,) + best[5:])

HF = r"""
import resource, sys, time, torch
from transformers import GPT2Config, GPT2LMHeadModel
dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[sys.argv[1]]
torch.set_num_threads(int(sys.argv[2]))
torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config()).eval().to(dtype)
prompt = torch.randint(0, 50257, (1, 512))
best_p = best_d = 1e30
with torch.no_grad():
    for _ in range(3):
        t0 = time.perf_counter(); model(prompt); best_p = min(best_p, time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.generate(prompt[:, :16], do_sample=True, top_k=40, max_new_tokens=64, min_new_tokens=64,
                       pad_token_id=0)
        best_d = min(best_d, time.perf_counter() - t0)
print(f"{512 / best_p:.1f} {64 / best_d:.2f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
print(torch.__version__, file=sys.stderr)
"""
if os.path.exists(venv_python):
    for dtype in ["fp32", "bf16"]:
        best = None
        for threads in sorted({1, os.cpu_count()}):  # PyTorch at its best: the faster thread count, per case
            try:
                r = subprocess.run([venv_python, "-c", HF, dtype, str(threads)], capture_output=True, text=True,
                                   check=True, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
            except subprocess.CalledProcessError as e:
                print(f"transformers {dtype} failed: {e.stderr[-500:]}")
                continue
            p, d, m = (float(v) for v in r.stdout.split()[-3:])
            print(f"transformers {dtype}, {threads} thread(s), torch {r.stderr.split()[-1]}: prefill {p:.1f} tokens/s, "
                  f"decode {d:.2f} tokens/s, peak RSS {m:.0f} MB")
            if best is None or d > best[2]:
                best = ("transformers", dtype, d, None, p, m)
        if best:
            rows.append(best)
else:
    print(f"(no {venv_python}: transformers + PyTorch not compared)")

print(f"\nbandwidth {gbs:.2f} GB/s; limit = bandwidth / weight bytes per token\n")
print(f"| | dtype | decode tokens/s | limit tokens/s | % of limit | prefill 512 tokens/s | peak RSS MB |")
print(f"|---|---|---|---|---|---|---|")
for who, dtype, tps, limit, prefill, peak in rows:
    lim = f"{limit:.1f}" if limit else ""
    pct = f"{100 * tps / limit:.0f}%" if limit else ""
    print(f"| {who} | {dtype} | {tps:.2f} | {lim} | {pct} | {prefill:.1f} | {peak:.0f} |")
