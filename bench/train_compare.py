#!/usr/bin/env python3
"""Trains nanoGPT's CPU configuration side by side: llm-journey's `train` and a nanoGPT-equivalent
PyTorch model of our own (tests/torch_ref/nanogpt_ref.py), the same data, batches of the same shape,
AdamW with the same groups, warmup + cosine, clipping. Prints tokens/s of each, the ratio and the
peak memory (max RSS) of each process.

  bench/train_compare.py [--build build] [--iters 300] [--repeats 3] [--data ../shared/data/tinyshakespeare.txt]

Both time the same thing: --iters training steps (batch, forward, backward, clipping, update) after 10
warm-up iterations; ours from the `steady throughput` line of `train`, which leaves out its loss
estimates and checkpoint saves.

Both get their best thread settings for this 2-core machine: ours 2 threads with its own defaults
(runtime.hpp); PyTorch OMP_WAIT_POLICY=PASSIVE at the faster of 2 threads and 1 (torch.set_num_threads),
which on this machine are within a few per cent of each other. Ours picks its kernels from the CPU
(oneDNN); run this with build/bench-venv/bin/python to compare with the current PyTorch from PyPI.
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONFIG = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, lr=1e-3, min_lr=1e-4, warmup=100,
              weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0, dropout=0.0)


def torch_run(data, iters, max_iters, threads):
    """The PyTorch side, in this (child) process; prints tokens/s."""
    import math
    import torch
    sys.path.insert(0, os.path.join(ROOT, "tests", "torch_ref"))
    from nanogpt_ref import GPT, GPTConfig
    torch.set_num_threads(threads)
    torch.manual_seed(1337)
    text = open(data, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([stoi[c] for c in text[:int(len(text) * 0.9)]], dtype=torch.long)
    c = CONFIG
    model = GPT(GPTConfig(block_size=c["block_size"], vocab_size=len(chars), n_layer=c["n_layer"],
                          n_head=c["n_head"], n_embd=c["n_embd"], dropout=c["dropout"], bias=False))
    opt = torch.optim.AdamW(model.param_groups(c["weight_decay"]), lr=c["lr"], betas=(c["beta1"], c["beta2"]))

    def lr_at(it):
        if it < c["warmup"]:
            return c["lr"] * (it + 1) / (c["warmup"] + 1)
        ratio = (it - c["warmup"]) / (max_iters - c["warmup"])
        return c["min_lr"] + 0.5 * (1 + math.cos(math.pi * ratio)) * (c["lr"] - c["min_lr"])

    B, T = c["batch_size"], c["block_size"]
    t0 = None
    for it in range(iters + 10):
        if it == 10:
            t0 = time.perf_counter()  # after a warm-up
        ix = torch.randint(len(ids) - T, (B,))
        x = torch.stack([ids[i:i + T] for i in ix])
        y = torch.stack([ids[i + 1:i + 1 + T] for i in ix])
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
    dt = time.perf_counter() - t0
    print(f"TORCH iters {iters} seconds {dt:.3f} loss {loss.item():.4f}")


def max_rss_mb(usage):
    return usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare.txt"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-threads", type=int, default=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_child:
        return torch_run(a.data, a.iters, 2000, a.torch_threads)
    env = dict(os.environ, OMP_NUM_THREADS="2")
    torch_env = dict(env, OMP_WAIT_POLICY="PASSIVE")
    c = CONFIG
    tokens_per_iter = c["batch_size"] * c["block_size"]

    def ours_once():
        # the real command, with the loss estimates pushed past the end (one at iteration 0 and one
        # at the end, each of a single batch) so that the timing is of training
        out_dir = os.path.join("/tmp", f"lj_bench_{os.getpid()}")
        cmd = [os.path.join(a.build, "llm-journey"), "train", "--data", a.data, "--out", out_dir, "--overwrite",
               "--n-layer", str(c["n_layer"]), "--n-head", str(c["n_head"]), "--n-embd", str(c["n_embd"]),
               "--block-size", str(c["block_size"]), "--batch-size", str(c["batch_size"]), "--max-iters", str(a.iters + 10),
               "--lr", str(c["lr"]), "--min-lr", str(c["min_lr"]), "--warmup-iters", str(c["warmup"]),
               "--weight-decay", str(c["weight_decay"]), "--beta2", str(c["beta2"]), "--grad-clip", str(c["grad_clip"]),
               "--eval-interval", str(10 ** 9), "--eval-iters", "1"]
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        # the steady throughput: the training steps after the first 10, as the PyTorch side times them
        m = re.search(r"steady throughput: [\d,]+ tok/s \((\d+) training steps after the first 10, in ([\d.]+) s\)",
                      p.stdout)
        if p.returncode != 0 or not m:
            sys.exit(f"llm-journey train failed:\n{p.stdout}")
        subprocess.run(["rm", "-rf", out_dir])
        return int(m.group(1)) * tokens_per_iter / float(m.group(2))

    def torch_once(threads):
        q = subprocess.run([sys.executable, __file__, "--torch-child", "--iters", str(a.iters), "--data", a.data,
                            "--torch-threads", str(threads)],
                           env=dict(torch_env, OMP_NUM_THREADS=str(threads)), stdout=subprocess.PIPE, text=True)
        m = re.search(r"TORCH iters (\d+) seconds ([\d.]+)", q.stdout)
        if q.returncode != 0 or not m:
            sys.exit(f"the PyTorch run failed:\n{q.stdout}")
        return int(m.group(1)) * tokens_per_iter / float(m.group(2))

    # This machine is shared: a neighbour can slow a run down, never speed it up. The two sides run
    # alternately, --repeats times each, and each keeps its best.
    # RUSAGE_CHILDREN's maxrss is the largest of all children so far: ours is read after our first
    # run, before any torch child; torch's, the larger, at the end
    ours_all = [ours_once()]
    ours_rss = max_rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN))
    torch_all = {2: [torch_once(2)], 1: [torch_once(1)]}
    for _ in range(a.repeats - 1):
        ours_all.append(ours_once())
        for threads in torch_all:
            torch_all[threads].append(torch_once(threads))
    torch_rss = max_rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN))
    torch_threads = max(torch_all, key=lambda t: max(torch_all[t]))
    ours_tps, torch_tps = max(ours_all), max(torch_all[torch_threads])

    def runs(tps):
        return ", ".join(f"{t:,.0f}" for t in tps)

    print(f"nanoGPT CPU config (4L/4H/128, block 64, batch 12), {a.iters} iterations; ours on 2 threads, PyTorch"
          f" (OMP_WAIT_POLICY=PASSIVE) on the faster of 2 and 1: {torch_threads}")
    print(f"{'':12s}{'tokens/s':>12s}{'peak RSS MB':>14s}")
    print(f"{'llm-journey':12s}{ours_tps:12,.0f}{ours_rss:14.1f}")
    print(f"{'PyTorch':12s}{torch_tps:12,.0f}{torch_rss:14.1f}")
    print(f"ratio (llm-journey / PyTorch): {ours_tps / torch_tps:.2f}x  (target >= 2x); best of {a.repeats} runs each"
          f" (all runs: ours {runs(ours_all)}; PyTorch on 2 threads {runs(torch_all[2])}, on 1 {runs(torch_all[1])})")


if __name__ == "__main__":
    main()
