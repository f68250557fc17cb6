"""Loads the weights export_for_torch wrote (PyTorch's names) into PyTorch's own layers with strict
load_state_dict and checks that PyTorch computes what we computed. Usage: check_export.py DIR"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torch_ref"))
from safetensors_lite import load  # noqa: E402

ATOL = 1e-5
d = sys.argv[1]
x = torch.from_numpy(np.load(os.path.join(d, "export.x.npy")))
D, H, F = 16, 2, 24
ok = True


def check(what, got, path):
    global ok
    want = np.load(os.path.join(d, path))
    diff = float(np.abs(got.detach().numpy().astype(np.float64) - want).max())
    print(f"{what}: max |torch - ours| = {diff:.3g} (tolerance {ATOL})")
    ok = ok and got.shape == want.shape and diff <= ATOL


mha = nn.MultiheadAttention(D, H, batch_first=True).eval()
mha.load_state_dict(load(os.path.join(d, "export_mha.safetensors")), strict=True)
with torch.no_grad():
    y, attn = mha(x, x, x, need_weights=True, average_attn_weights=False)
check("nn.MultiheadAttention output", y, "export_mha.y.npy")
check("nn.MultiheadAttention per-head weights", attn, "export_mha.attn.npy")

layer = nn.TransformerEncoderLayer(D, H, F, dropout=0.0, activation="gelu", batch_first=True, norm_first=True).eval()
layer.load_state_dict(load(os.path.join(d, "export_block.safetensors")), strict=True)
with torch.no_grad():
    check("nn.TransformerEncoderLayer output", layer(x), "export_block.y.npy")
sys.exit(0 if ok else 1)
