"""A NaN at the last position of a causal multi-head attention's input: which positions' outputs are
NaN, in `llm-journey forward --causal` and in PyTorch (nn.MultiheadAttention with the causal mask, and
nanoGPT's masked_fill path). PyTorch spreads the NaN to every position: the mask gives the later key a
weight of 0, but 0 x NaN is NaN in the product of the weights with the values. The tool must do what
PyTorch does, whichever that is. Usage: nan_under_causal_mask.py LLM_JOURNEY"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "torch_ref"))
import safetensors_lite as st  # noqa: E402

binary = sys.argv[1]
torch.manual_seed(0)
D, H, T = 16, 4, 5
mha = torch.nn.MultiheadAttention(D, H, batch_first=True)
x = torch.randn(1, T, D)
x[0, T - 1, 0] = float("nan")
mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = blocked
with torch.no_grad():
    y_torch, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    # nanoGPT's path: scores masked with -inf, softmax, then the weights times the values
    q = k = v = x.view(1, T, H, D // H).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)).masked_fill(mask, float("-inf")).softmax(-1)
    y_nanogpt = att @ v
want = torch.isnan(y_torch[0]).any(-1).tolist()
assert want == torch.isnan(y_nanogpt[0].transpose(0, 1).reshape(T, D)).any(-1).tolist(), "PyTorch's two paths differ"

with tempfile.TemporaryDirectory() as tmp:
    st.save(dict(mha.state_dict()), os.path.join(tmp, "w.safetensors"))
    np.save(os.path.join(tmp, "x.npy"), x.numpy())
    subprocess.run([binary, "forward", "--module", "mha", "--d-model", str(D), "--heads", str(H), "--causal",
                    "--weights", os.path.join(tmp, "w.safetensors"), "--input", os.path.join(tmp, "x.npy"),
                    "--output", os.path.join(tmp, "y.npy")], check=True)
    got = np.isnan(np.load(os.path.join(tmp, "y.npy"))[0]).any(-1).tolist()
print(f"positions with a NaN output: PyTorch {want}, llm-journey {got}")
sys.exit(0 if got == want else 1)
