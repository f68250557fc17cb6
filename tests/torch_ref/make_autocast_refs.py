"""PyTorch references for mixed-precision (bf16 autocast) training: tests/gpt/test_autocast.cpp.

Each case runs the same weights and inputs twice, in float32 and under
torch.autocast("cpu", dtype=torch.bfloat16), and keeps outputs and gradients as float32. Nothing
here comes from our C++ code.
Run: make_autocast_refs.py OUT_DIR
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nanogpt_ref import GPT, GPTConfig  # noqa: E402
from safetensors_lite import save  # noqa: E402

torch.set_num_threads(1)
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)


def autocast(on):
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=on)


def linear_case(t):
    torch.manual_seed(31)
    x, w, b = torch.randn(6, 5, 48), torch.randn(40, 48) * 0.2, torch.randn(40)
    dy = torch.randn(6, 5, 40)
    t.update({"linear.x": x, "linear.w": w, "linear.b": b, "linear.dy": dy})
    for tag, on in [("fp32", False), ("bf16", True)]:
        xs, ws, bs = (v.clone().requires_grad_(True) for v in (x, w, b))
        with autocast(on):
            y = F.linear(xs, ws, bs)
        y.float().backward(dy)
        t.update({f"linear.{tag}.y": y.float(), f"linear.{tag}.dx": xs.grad, f"linear.{tag}.dw": ws.grad,
                  f"linear.{tag}.db": bs.grad})


def matmul_case(t):
    torch.manual_seed(32)
    a, b = torch.randn(3, 10, 24), torch.randn(3, 24, 12)
    dy = torch.randn(3, 10, 12)
    t.update({"matmul.a": a, "matmul.b": b, "matmul.dy": dy})
    for tag, on in [("fp32", False), ("bf16", True)]:
        As, Bs = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
        with autocast(on):
            y = As @ Bs
        y.float().backward(dy)
        t.update({f"matmul.{tag}.y": y.float(), f"matmul.{tag}.da": As.grad, f"matmul.{tag}.db": Bs.grad})


def attention_case(t):
    """Causal attention written as nanoGPT writes it (PyTorch 1.13 has no fused kernel)."""
    torch.manual_seed(33)
    B, H, T, d = 2, 3, 20, 16
    q, k, v, do = (torch.randn(B, H, T, d) for _ in range(4))
    t.update({"attn.q": q, "attn.k": k, "attn.v": v, "attn.do": do})
    mask = torch.tril(torch.ones(T, T))
    for tag, on in [("fp32", False), ("bf16", True)]:
        qs, ks, vs = (x.clone().requires_grad_(True) for x in (q, k, v))
        with autocast(on):
            att = (qs @ ks.transpose(-2, -1)) * (1.0 / math.sqrt(d))
            att = att.masked_fill(mask == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = att @ vs
        y.float().backward(do)
        t.update({f"attn.{tag}.y": y.float(), f"attn.{tag}.dq": qs.grad, f"attn.{tag}.dk": ks.grad,
                  f"attn.{tag}.dv": vs.grad})


def gpt_case(t):
    """nanoGPT's CPU configuration (4 layers, 4 heads, 128 wide, block 64), a batch of 4."""
    cfg = GPTConfig(block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128)
    torch.manual_seed(7)
    model = GPT(cfg)
    t.update({f"gpt.init.{k}": v.detach().clone() for k, v in model.state_dict().items() if not k.endswith(".mask")})
    g = torch.Generator().manual_seed(107)
    idx = torch.randint(0, cfg.vocab_size, (4, 64), generator=g)
    tg = torch.randint(0, cfg.vocab_size, (4, 64), generator=g)
    t.update({"gpt.idx": idx.float(), "gpt.targets": tg.float()})
    for tag, on in [("fp32", False), ("bf16", True)]:
        model.zero_grad(set_to_none=True)
        with autocast(on):
            logits, loss = model(idx, tg)
        loss.backward()
        t.update({f"gpt.{tag}.logits": logits.float(), f"gpt.{tag}.loss": loss.float().reshape(1)})
        for k, p in model.named_parameters():
            assert p.dtype == torch.float32 and p.grad.dtype == torch.float32
            t[f"gpt.{tag}.grad.{k}"] = p.grad.clone()


t = {}
linear_case(t)
matmul_case(t)
attention_case(t)
gpt_case(t)
save(t, os.path.join(OUT, "autocast.safetensors"))
