#!/usr/bin/env python3
"""Trains a GPT side by side: llm-journey's `train` (fp32, and bf16 autocast with --dtype bf16) and a
nanoGPT-equivalent PyTorch model of our own (tests/torch_ref/nanogpt_ref.py, its attention through
F.scaled_dot_product_attention where PyTorch has it, as nanoGPT's model.py does), eager and
torch.compile, fp32 and torch.autocast("cpu", dtype=torch.bfloat16). The same data, batches of the
same shape, AdamW with the same groups, warmup + cosine, clipping. Prints tokens/s and the peak memory
(max RSS of that process) of each, and the ratios to PyTorch's best.

  bench/train_compare.py [--config cpu|default] [--build build] [--iters N] [--repeats 2]
                         [--data ../shared/data/tinyshakespeare.txt]

--config cpu: nanoGPT's CPU configuration (4 layers, 4 heads, 128 wide, block 64, batch 12; 300
iterations by default). --config default: the tool's default model (6 layers, 6 heads, 384 wide,
block 256, batch 12; 30 iterations by default).

Both time the same thing: --iters training steps (batch, forward, backward, clipping, update) after 10
warm-up iterations (which include torch.compile's compilation); ours from the `steady throughput` line
of `train`, which leaves out its loss estimates and checkpoint saves.

Each side gets its best thread settings for this 2-core machine: ours 2 threads with its own defaults
(runtime.hpp); PyTorch OMP_WAIT_POLICY=PASSIVE at the faster of 2 threads and 1 (torch.set_num_threads),
per case. Run this with build/bench-venv/bin/python to compare with the current PyTorch from PyPI.
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TRAINING = dict(batch_size=12, lr=1e-3, min_lr=1e-4, warmup=100, weight_decay=0.1, beta1=0.9, beta2=0.99,
                grad_clip=1.0, dropout=0.0)
CONFIGS = {
    "cpu": dict(TRAINING, n_layer=4, n_head=4, n_embd=128, block_size=64, iters=300,
                title="nanoGPT CPU config (4L/4H/128, block 64, batch 12)", bf16_target=4.0),
    "default": dict(TRAINING, n_layer=6, n_head=6, n_embd=384, block_size=256, iters=30,
                    title="the tool's default config (6L/6H/384, block 256, batch 12)", bf16_target=1.5),
}
FP32_TARGET = 3.0  # ours in fp32 against PyTorch's best of its four


def torch_run(data, c, iters, max_iters, threads, compiled, bf16):
    """The PyTorch side, in this (child) process; prints its time and its peak RSS."""
    import math
    import resource
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(ROOT, "tests", "torch_ref"))
    import nanogpt_ref
    from nanogpt_ref import GPT, GPTConfig

    if hasattr(F, "scaled_dot_product_attention"):  # PyTorch 2.x: its fused attention, as nanoGPT's model.py
        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=True)
            return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))
        nanogpt_ref.CausalSelfAttention.forward = forward
    torch.set_num_threads(threads)
    torch.manual_seed(1337)
    text = open(data, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    ids = torch.tensor([stoi[ch] for ch in text[:int(len(text) * 0.9)]], dtype=torch.long)
    model = GPT(GPTConfig(block_size=c["block_size"], vocab_size=len(chars), n_layer=c["n_layer"],
                          n_head=c["n_head"], n_embd=c["n_embd"], dropout=c["dropout"], bias=False))
    opt = torch.optim.AdamW(model.param_groups(c["weight_decay"]), lr=c["lr"], betas=(c["beta1"], c["beta2"]))
    step_model = torch.compile(model) if compiled else model

    def lr_at(it):
        if it < c["warmup"]:
            return c["lr"] * (it + 1) / (c["warmup"] + 1)
        ratio = (it - c["warmup"]) / (max_iters - c["warmup"])
        return c["min_lr"] + 0.5 * (1 + math.cos(math.pi * ratio)) * (c["lr"] - c["min_lr"])

    B, T = c["batch_size"], c["block_size"]
    t0 = None
    for it in range(iters + 10):
        if it == 10:
            t0 = time.perf_counter()  # after a warm-up (and the compilation)
        ix = torch.randint(len(ids) - T, (B,))
        x = torch.stack([ids[i:i + T] for i in ix])
        y = torch.stack([ids[i + 1:i + 1 + T] for i in ix])
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            _, loss = step_model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"TORCH iters {iters} seconds {dt:.3f} loss {loss.item():.4f} rss {rss:.1f} version {torch.__version__}")


def run_child(cmd, env):
    """Runs cmd; returns (stdout, returncode, its own peak RSS in MB)."""
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return out, p.returncode, usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--iters", type=int, default=0, help="training steps timed (default: the config's)")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare.txt"))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-threads", type=int, default=2, help=argparse.SUPPRESS)
    ap.add_argument("--torch-compile", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-bf16", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    c = CONFIGS[a.config]
    iters = a.iters or c["iters"]
    if a.torch_child:
        return torch_run(a.data, c, iters, 2000, a.torch_threads, a.torch_compile, a.torch_bf16)
    env = dict(os.environ, OMP_NUM_THREADS="2")
    torch_env = dict(env, OMP_WAIT_POLICY="PASSIVE")
    tokens_per_iter = c["batch_size"] * c["block_size"]

    def ours_once(dtype):
        # the real command, with the loss estimates pushed past the end (one at iteration 0 and one
        # at the end, each of a single batch) so that the timing is of training
        out_dir = os.path.join("/tmp", f"lj_bench_{os.getpid()}")
        cmd = [os.path.join(a.build, "llm-journey"), "train", "--data", a.data, "--out", out_dir, "--overwrite",
               "--n-layer", str(c["n_layer"]), "--n-head", str(c["n_head"]), "--n-embd", str(c["n_embd"]),
               "--block-size", str(c["block_size"]), "--batch-size", str(c["batch_size"]), "--max-iters", str(iters + 10),
               "--lr", str(c["lr"]), "--min-lr", str(c["min_lr"]), "--warmup-iters", str(c["warmup"]),
               "--weight-decay", str(c["weight_decay"]), "--beta2", str(c["beta2"]), "--grad-clip", str(c["grad_clip"]),
               "--eval-interval", str(10 ** 9), "--eval-iters", "1", "--dtype", dtype]
        out, rc, rss = run_child(cmd, env)
        # the steady throughput: the training steps after the first 10, as the PyTorch side times them
        m = re.search(r"steady throughput: [\d,]+ tok/s \((\d+) training steps after the first 10, in ([\d.]+) s\)", out)
        if rc != 0 or not m:
            sys.exit(f"llm-journey train failed:\n{out}")
        subprocess.run(["rm", "-rf", out_dir])
        return int(m.group(1)) * tokens_per_iter / float(m.group(2)), rss

    def torch_once(threads, compiled, bf16):
        cmd = [sys.executable, __file__, "--torch-child", "--config", a.config, "--iters", str(iters), "--data", a.data,
               "--torch-threads", str(threads)] + (["--torch-compile"] if compiled else []) + (["--torch-bf16"] if bf16 else [])
        out, rc, rss = run_child(cmd, dict(torch_env, OMP_NUM_THREADS=str(threads)))
        m = re.search(r"TORCH iters (\d+) seconds ([\d.]+) loss \S+ rss ([\d.]+) version (\S+)", out)
        if rc != 0 or not m:
            sys.exit(f"the PyTorch run failed ({' '.join(cmd)}):\n{out}")
        torch_once.version = m.group(4)
        return int(m.group(1)) * tokens_per_iter / float(m.group(2)), rss

    # This machine is shared: a neighbour can slow a run down, never speed it up. Every case runs
    # --repeats times (PyTorch's at both thread counts once, then at its faster one), the cases
    # interleaved, and each keeps its best.
    rows = {}  # name -> [tokens/s, ...], peak RSS, note

    def add(name, result, note=""):
        tps, rss = result
        r = rows.setdefault(name, [[], 0.0, note])
        r[0].append(tps)
        r[1] = max(r[1], rss)

    torch_cases = [(f"PyTorch {'compile' if comp else 'eager'} {'bf16' if bf else 'fp32'}", comp, bf)
                   for comp in (False, True) for bf in (False, True)]
    best_threads = {}
    for rep in range(a.repeats):
        for dtype in ("fp32", "bf16"):
            add(f"llm-journey {dtype}", ours_once(dtype), "2 threads")
        for name, comp, bf in torch_cases:
            if rep == 0:
                by_threads = {t: torch_once(t, comp, bf) for t in (2, 1)}
                best_threads[name] = max(by_threads, key=lambda t: by_threads[t][0])
                add(name, by_threads[best_threads[name]], f"{best_threads[name]} thread(s)")
            else:
                add(name, torch_once(best_threads[name], comp, bf))

    torch_best_name = max((n for n in rows if n.startswith("PyTorch")), key=lambda n: max(rows[n][0]))
    torch_best = max(rows[torch_best_name][0])
    print(f"{c['title']}, {iters} iterations timed; best of {a.repeats} runs each (under load: a shared machine)")
    print(f"PyTorch {getattr(torch_once, 'version', '?')}, OMP_WAIT_POLICY=PASSIVE, each case at the faster of 2 and 1 threads")
    print(f"{'':22s}{'tokens/s':>10s}{'x best PyTorch':>16s}{'peak RSS MB':>13s}  runs")
    for name, (tps, rss, note) in rows.items():
        print(f"{name:22s}{max(tps):10,.0f}{max(tps) / torch_best:15.2f}x{rss:13.1f}  "
              f"{', '.join(f'{t:,.0f}' for t in tps)} ({note})")
    fp32 = max(rows["llm-journey fp32"][0]) / torch_best
    bf16 = max(rows["llm-journey bf16"][0]) / torch_best
    print(f"targets against PyTorch's best ({torch_best_name}): fp32 >= {FP32_TARGET:g}x (now {fp32:.2f}x), "
          f"bf16 >= {c['bf16_target']:g}x (now {bf16:.2f}x); llm-journey bf16 / fp32: "
          f"{max(rows['llm-journey bf16'][0]) / max(rows['llm-journey fp32'][0]):.2f}")


if __name__ == "__main__":
    main()
