"""Writes the PyTorch reference values for the language-model tests (tests/gpt).

Embedding, cross-entropy, AdamW, the learning-rate schedule, gradient clipping and, further down, a
nanoGPT-equivalent GPT of our own making (nanogpt_ref.py). Nothing here comes from our C++ code.
Run: make_gpt_refs.py OUT_DIR
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_lite import save  # noqa: E402

torch.set_num_threads(1)
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)


def embedding_case(t):
    torch.manual_seed(11)
    emb = torch.nn.Embedding(65, 32)  # its init: N(0, 1), drawn as ours after set_seed(11)
    t["embedding.init"] = emb.weight.detach().clone()
    ids = torch.randint(0, 65, (4, 9))
    ids[0, :3] = 5  # repeated ids: their gradients add up
    y = emb(ids)
    dy = torch.randn(y.shape)
    y.backward(dy)
    t.update({"embedding.ids": ids.float(), "embedding.out": y, "embedding.dy": dy,
              "embedding.grad": emb.weight.grad})


def cross_entropy_case(t):
    torch.manual_seed(12)
    for name, (N, V), scale in [("small", (7, 11), 1.0), ("wide", (64, 65), 5.0), ("gpt2", (4, 50257), 3.0)]:
        x = (torch.randn(N, V) * scale).requires_grad_(True)
        tg = torch.randint(0, V, (N,))
        if name != "gpt2":
            tg[1] = -100  # ignored
        loss = F.cross_entropy(x, tg, ignore_index=-100)
        loss.backward(torch.tensor(0.7))
        t.update({f"ce.{name}.logits": x, f"ce.{name}.targets": tg.float(), f"ce.{name}.loss": loss.reshape(1),
                  f"ce.{name}.grad": x.grad})


def adamw_case(t):
    """Two groups (decay and none), 12 steps of a changing lr, with clipping before each step."""
    torch.manual_seed(13)
    w = torch.randn(6, 5, requires_grad=True)
    b = torch.randn(5, requires_grad=True)
    t["adamw.w0"], t["adamw.b0"] = w.detach().clone(), b.detach().clone()
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.99), eps=1e-8)
    for step in range(12):
        gw, gb = torch.randn(6, 5) * (step + 1), torch.randn(5) * (step + 1)
        t[f"adamw.gw.{step}"], t[f"adamw.gb.{step}"] = gw, gb
        w.grad, b.grad = gw.clone(), gb.clone()
        norm = torch.nn.utils.clip_grad_norm_([w, b], 1.0 if step % 2 == 0 else 1e9)
        t[f"adamw.norm.{step}"] = norm.reshape(1)
        t[f"adamw.clipped_gw.{step}"] = w.grad.clone()
        lr = cosine_lr(step, 1e-2, 1e-3, 3, 10)
        for g in opt.param_groups:
            g["lr"] = lr
        t[f"adamw.lr.{step}"] = torch.tensor([lr], dtype=torch.float64).float()
        opt.step()
        t[f"adamw.w.{step}"], t[f"adamw.b.{step}"] = w.detach().clone(), b.detach().clone()
    st = opt.state[w]
    t["adamw.exp_avg_w"], t["adamw.exp_avg_sq_w"] = st["exp_avg"], st["exp_avg_sq"]


def cosine_lr(it, lr, min_lr, warmup, decay_iters):
    """nanoGPT's get_lr."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay_iters:
        return min_lr
    ratio = (it - warmup) / (decay_iters - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def schedule_case(t):
    its = list(range(0, 2100, 7))
    t["lr.its"] = torch.tensor(its, dtype=torch.float32)
    t["lr.values"] = torch.tensor([cosine_lr(i, 1e-3, 1e-4, 100, 2000) for i in its], dtype=torch.float64).float()


t = {}
embedding_case(t)
cross_entropy_case(t)
adamw_case(t)
schedule_case(t)
save(t, os.path.join(OUT, "gpt_ops.safetensors"))

if __name__ == "__main__" and os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpt_model_refs.py")):
    import gpt_model_refs  # noqa: E402
    gpt_model_refs.write(OUT)
print(f"wrote the GPT PyTorch references to {OUT}")
