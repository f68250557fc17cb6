"""Writes the files the io tests read: PyTorch layers trained a few steps, their inputs, outputs and
per-head attention weights, and one array per dtype in both formats.

Weights: safetensors (safetensors_lite) under PyTorch's own names, plus one file under ours, converted
here by hand. Arrays: numpy's .npy. Every expected value is computed by PyTorch. Run: make_io_refs.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_lite import save  # noqa: E402

torch.set_num_threads(1)
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
B, T, D, H, FF = 2, 7, 32, 4, 64


def train(module, forward, steps=5):
    """A few Adam steps towards a random target, so that no weight keeps its default value."""
    opt = torch.optim.Adam(module.parameters(), lr=1e-2)
    x, target = torch.randn(B, T, D), torch.randn(B, T, D)
    module.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = ((forward(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
    module.eval()


def blocked_mask(kind):
    """PyTorch's bool attn_mask, True = blocked."""
    if kind == "causal":
        return torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    if kind == "random":
        g = torch.Generator().manual_seed(5)
        m = torch.rand(T, T, generator=g) < 0.4
        m.fill_diagonal_(False)  # no row fully blocked
        return m
    return None


def write_case(name, weights, x, y, attn, flags, mask=None):
    save(weights, os.path.join(OUT, name + ".safetensors"))
    np.save(os.path.join(OUT, name + ".x.npy"), x.numpy())
    np.save(os.path.join(OUT, name + ".y.npy"), y.detach().numpy())
    np.save(os.path.join(OUT, name + ".attn.npy"), attn.detach().numpy())
    if mask is not None:
        np.save(os.path.join(OUT, name + ".mask.npy"), mask.numpy())
        flags = flags + ["--attn-mask", os.path.join(OUT, name + ".mask.npy")]
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"flags": flags}, f)


def mha_case(name, mask_kind=None, our_names=False):
    torch.manual_seed(len(name))
    mha = nn.MultiheadAttention(D, H, dropout=0.1, batch_first=True)
    train(mha, lambda x: mha(x, x, x, need_weights=False)[0])
    mask = blocked_mask(mask_kind)
    x = torch.randn(B, T, D)
    with torch.no_grad():
        y, attn = mha(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    sd = {k: v.clone() for k, v in mha.state_dict().items()}
    if our_names:  # the split, written out by hand on the Python side
        w, b = sd.pop("in_proj_weight"), sd.pop("in_proj_bias")
        for i, n in enumerate(("w_q", "w_k", "w_v")):
            sd[f"{n}.weight"], sd[f"{n}.bias"] = w[i * D:(i + 1) * D].clone(), b[i * D:(i + 1) * D].clone()
        sd["w_o.weight"], sd["w_o.bias"] = sd.pop("out_proj.weight"), sd.pop("out_proj.bias")
    flags = ["--module", "mha", "--d-model", str(D), "--heads", str(H)]
    if mask_kind == "causal":
        flags.append("--causal")
        mask_for_cli = None
    else:
        mask_for_cli = mask
    write_case(name, sd, x, y, attn, flags, mask_for_cli)


def block_case(name, norm_first, activation, mask_kind=None):
    torch.manual_seed(len(name) + 100)
    layer = nn.TransformerEncoderLayer(D, H, dim_feedforward=FF, dropout=0.1, activation=activation,
                                       batch_first=True, norm_first=norm_first)
    train(layer, layer)
    mask = blocked_mask(mask_kind)
    x = torch.randn(B, T, D)
    with torch.no_grad():
        y = layer(x, src_mask=mask)
        h = layer.norm1(x) if norm_first else x
        _, attn = layer.self_attn(h, h, h, attn_mask=mask, need_weights=True, average_attn_weights=False)
    flags = ["--module", "block", "--d-model", str(D), "--heads", str(H), "--d-ff", str(FF), "--activation", activation]
    if norm_first:
        flags.append("--norm-first")
    if mask_kind == "causal":
        flags.append("--causal")
    write_case(name, dict(layer.state_dict()), x, y, attn, flags, mask if mask_kind == "random" else None)


def dtype_files():
    """One array per dtype, from a pattern the C++ test recomputes: exact in every dtype."""
    i = torch.arange(12).reshape(3, 4)
    arrays = {
        "F32": (i - 5).float() * 0.25, "F64": (i - 5).double() * 0.125, "F16": ((i - 5).float() * 0.25).half(),
        "BF16": ((i - 5).float() * 0.25).bfloat16(), "I64": (i - 5) * 1000000000000, "I32": ((i - 5) * 100000).int(),
        "U16": (i * 5000).to(torch.int32), "U8": (i * 20).to(torch.uint8), "BOOL": i % 3 == 0,
    }
    u16 = arrays.pop("U16").numpy().astype(np.uint16)  # torch 1.13 has no uint16
    save(arrays, os.path.join(OUT, "dtypes.safetensors"), {"format": "pt", "note": "héllo"})
    for name, t in arrays.items():
        if name != "BF16":
            np.save(os.path.join(OUT, f"dtype_{name}.npy"), t.numpy())
    np.save(os.path.join(OUT, "dtype_U16.npy"), u16)
    # The U16 safetensors entry, written by hand (the helper maps torch dtypes only).
    save_u16(u16)


def save_u16(a):
    import struct
    blob = a.tobytes()
    h = json.dumps({"U16": {"dtype": "U16", "shape": list(a.shape), "data_offsets": [0, len(blob)]}}).encode()
    with open(os.path.join(OUT, "dtype_U16.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + blob)


mha_case("mha")
mha_case("mha_ours", our_names=True)
mha_case("mha_causal", mask_kind="causal")
mha_case("mha_mask", mask_kind="random")
for nf in (False, True):
    for act in ("relu", "gelu"):
        block_case(f"block_{'pre' if nf else 'post'}_{act}", nf, act)
block_case("block_pre_gelu_causal", True, "gelu", mask_kind="causal")
block_case("block_post_relu_mask", False, "relu", mask_kind="random")
dtype_files()
with open(os.path.join(OUT, "cases.txt"), "w") as f:
    f.write("\n".join(n[:-5] for n in sorted(os.listdir(OUT)) if n.endswith(".json")) + "\n")
