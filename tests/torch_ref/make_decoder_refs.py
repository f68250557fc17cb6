"""References for the packed weights of generation (tests/gpt/test_decoder.cpp): torch's bfloat16
rounding, 8-bit blocks of 32 (llama.cpp's Q8_0 with a float32 scale, rounded as torch.round), and
matrix-vector products over the rounded weights, in float64. Nothing here comes from our C++ code.
Run: make_decoder_refs.py OUT_DIR
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_lite import save  # noqa: E402

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


def q8(w, block=32):
    """(N, K) -> q (N, K), d (N, ceil(K / 32)): d = max|w| / 127 per block, q = round(w / d)."""
    N, K = w.shape
    nb = (K + block - 1) // block
    q = torch.zeros_like(w)
    d = torch.zeros(N, nb)
    for b in range(nb):
        blk = w[:, b * block:(b + 1) * block]
        s = blk.abs().amax(dim=1) / 127
        d[:, b] = s
        safe = torch.where(s == 0, torch.ones_like(s), s)
        q[:, b * block:(b + 1) * block] = torch.where(s[:, None] == 0, torch.zeros_like(blk), torch.round(blk / safe[:, None]))
    return q, d


t = {}
# bfloat16: random values of every magnitude, exact ties (1 + 2^-8 rounds down to even, 1 + 3 * 2^-8 up),
# subnormals, the largest floats (rounding to inf), infinities and a NaN.
special = torch.tensor([1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 2**-130, -2**-140, 3.4e38, -3.39e38, float("inf"),
                        float("-inf"), float("nan"), 0.0, -0.0, 65504.0, 1e-3, 0.1])
vals = torch.cat([special, torch.randn(2000) * torch.exp(torch.randn(2000) * 4)])
t["bf16.input"] = vals
t["bf16.bits"] = (vals.bfloat16().view(torch.int16).int() & 0xFFFF).float()

for name, (N, K) in {"small": (5, 33), "odd": (37, 100), "wide": (64, 768)}.items():
    w = torch.randn(N, K) * 0.05
    if name == "odd":
        w[0, :32] = torch.arange(32) - 15.5  # d = 16.5 / 127: w / d lands near, not on, the ties
        w[1, :32] = 0.0                      # an all-zero block: d = 0, q = 0
        w[2, :32] = torch.tensor([127.0, 2.5, -3.5, 0.5, -0.5, 1.5] + [0.0] * 26)  # d = 1: exact ties, to even
    x = torch.randn(K)
    q, d = q8(w)
    t[f"{name}.w"] = w
    t[f"{name}.x"] = x
    t[f"{name}.q"] = q
    t[f"{name}.d"] = d
    deq = (q.view(N, -1) * torch.repeat_interleave(d, 32, dim=1)[:, :K]).double()
    t[f"{name}.y_q8"] = (deq @ x.double()).float()
    t[f"{name}.abs_q8"] = (deq.abs() @ x.double().abs()).float()
    wb = w.bfloat16().double()
    t[f"{name}.y_bf16"] = (wb @ x.double()).float()
    t[f"{name}.abs_bf16"] = (wb.abs() @ x.double().abs()).float()
    t[f"{name}.y_f32"] = (w.double() @ x.double()).float()
    t[f"{name}.abs_f32"] = (w.double().abs() @ x.double().abs()).float()
save(t, os.path.join(OUT, "decoder_pack.safetensors"))

# UTF-8 streams: random concatenations of whole characters of every length and of sequences that
# can never complete (truncated, overlong, surrogate, past U+10FFFF, stray bytes), decoded by Python
# with errors="replace".
import random  # noqa: E402

rng = random.Random(1)
pieces = [b"a", b"\n", "é".encode(), "€".encode(), "😀".encode(), "中".encode(), b"\xed\xa0\x80", b"\xe0\x80\xaf",
          b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xc1", b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xe2\x82", b"\xf0\x9f\x98",
          b"\xc3", b"\xf5\x80", b"\xf0\x8f\xbf\xbf"]
cases = [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(200)]
cases += [b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3", b"\xe2\x82a", b"\xf0\x9f\x98\x80"]  # ends held back, then flushed
outs = [c.decode("utf-8", errors="replace").encode("utf-8") for c in cases]
t2 = {"utf8.bytes": torch.tensor([b for c in cases for b in c], dtype=torch.float32),
      "utf8.lengths": torch.tensor([len(c) for c in cases], dtype=torch.float32),
      "utf8.out": torch.tensor([b for o in outs for b in o], dtype=torch.float32),
      "utf8.out_lengths": torch.tensor([len(o) for o in outs], dtype=torch.float32)}
save(t2, os.path.join(OUT, "decoder_utf8.safetensors"))
