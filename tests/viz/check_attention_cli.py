"""llm-journey attention on tiny trained models, checked against the PyTorch twin.

Usage: check_attention_cli.py train  LLM_JOURNEY CORPUS OUT_DIR   (the fixture: trains char and bpe models)
       check_attention_cli.py check  LLM_JOURNEY OUT_DIR

`train` writes OUT_DIR/small.txt (the corpus's first 4 KB, or a text of its own without the corpus) and trains two tiny GPTs on it with
`llm-journey train`: OUT_DIR/char (character tokenizer) and OUT_DIR/bpe (a byte-level BPE).

`check` runs `attention` on each and checks, independently of our C++ code:
  - the weights written with --weights-out: shape (layers, heads, T, T), every row sums to 1, every
    entry above the diagonal is exactly 0, and they equal the weights of tests/torch_ref/nanogpt_ref.py
    loaded with the checkpoint's tensors and run on the same ids (the ids computed here from the
    tokenizer stored in the checkpoint);
  - --layer L writes that layer's slice alone;
  - the PNG decodes (a decoder written here with zlib), has the size the command printed, one grid per
    layer drawn, and the colour scale's ends: viridis(1) in every head's (0, 0) cell (the first query can
    only attend to itself) and viridis(0) above the diagonals;
  - --no-terminal prints no escape codes; without it the colour rendering is printed.
The PNGs stay in OUT_DIR (char/heads.png, char/heads_layer1.png, bpe/heads.png) to be looked at.
"""
import json
import math
import os
import re
import struct
import subprocess
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torch_ref"))
from nanogpt_ref import GPT, GPTConfig  # noqa: E402
import safetensors_lite  # noqa: E402

TEXT = "First Citizen:\nBefore we proceed any further, hear me."
BPE_TEXT = "Before we proceed, café au lait?"  # é is two bytes: BPE tokens that end inside it
TRAIN = ["--n-layer", "2", "--n-head", "4", "--n-embd", "32", "--block-size", "64", "--batch-size", "8",
         "--max-iters", "40", "--warmup-iters", "5", "--eval-interval", "40", "--eval-iters", "2", "--lr", "3e-3"]
# Without the corpus (a fresh clone before `make data`): a text of our own with the same characters.
FALLBACK = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nWe hear, we proceed.\n\n"
            "Second Citizen:\nAny citizen may speak before the people; hear him further.\n\n") * 30
VIRIDIS_0, VIRIDIS_1 = (68, 1, 84), (253, 231, 37)

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def run(args):
    p = subprocess.run(args, capture_output=True)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {p.returncode}:\n{out}\n{p.stderr.decode('utf-8', 'replace')}")
    return out


def decode_png(path):
    """8-bit RGB, non-interlaced (what stb_image_write writes) -> (height, width, 3) uint8."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0], "bad CRC"
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert (depth, ctype, interlace) == (8, 2, 0), f"unexpected PNG format {ihdr}"
    raw = zlib.decompress(idat)
    stride = 3 * w
    assert len(raw) == h * (stride + 1), "PNG data of the wrong length"
    img = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1)
        if f == 0:
            cur = line.copy()
        elif f == 1:  # Sub: a running sum along each channel, modulo 256
            cur = (np.cumsum(line.reshape(w, 3).astype(np.int64), axis=0) & 255).astype(np.uint8).reshape(-1)
        elif f == 2:  # Up
            cur = line + prev
        else:  # Average or Paeth: each byte depends on the one decoded before it
            cur, up, src = bytearray(stride), prev.tolist(), line.tolist()
            for x in range(stride):
                a = cur[x - 3] if x >= 3 else 0
                b = up[x]
                if f == 3:
                    pred = (a + b) >> 1
                else:
                    c = up[x - 3] if x >= 3 else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (src[x] + pred) & 255
            cur = np.frombuffer(bytes(cur), np.uint8)
        img[y], prev = cur, cur
    return img.reshape(h, w, 3)


def read_checkpoint(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n))["__metadata__"]
    return safetensors_lite.load(path), meta


def twin_weights(ckpt, ids):
    """Every layer's softmax(QK^T/sqrt(d)) from the PyTorch twin: (layers, heads, T, T)."""
    tensors, meta = read_checkpoint(ckpt)
    model = GPT(GPTConfig(**json.loads(meta["model_config"])))
    state = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert all(k.endswith(".attn.mask") for k in missing) and not unexpected, (missing, unexpected)
    model.eval()
    idx = torch.tensor([ids])
    out = []
    with torch.no_grad():
        T = idx.size(1)
        x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(T))
        for block in model.transformer.h:
            a = block.attn
            q, k, _ = a.c_attn(block.ln_1(x)).split(a.n_embd, dim=2)
            hd = a.n_embd // a.n_head
            q = q.view(1, T, a.n_head, hd).transpose(1, 2)
            k = k.view(1, T, a.n_head, hd).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
            att = att.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
            out.append(torch.softmax(att, dim=-1)[0])
            x = block(x)
    return torch.stack(out).numpy(), meta


def encode(meta, text):
    tok = json.loads(meta["tokenizer"])
    if tok["type"] == "char":
        return [tok["chars"].index(ch) for ch in text]
    return None  # BPE: the ids are taken from the command's own listing (checked by length only)


def check_model(tool, d, text, name):
    ckpt = os.path.join(d, "checkpoint.safetensors")
    png, npy = os.path.join(d, "heads.png"), os.path.join(d, "heads.npy")
    out = run([tool, "attention", "--checkpoint", ckpt, "--text", text, "--out", png, "--weights-out", npy])
    print(out)
    check("\x1b[48;2;" in out, f"{name}: no 24-bit colour rendering printed")
    if name == "bpe":
        check("\ufffd" in out, "bpe: the partial UTF-8 tokens of 'é' are not shown as U+FFFD")
    W = np.load(npy)
    L, H, T, _ = W.shape
    check(W.shape[2] == W.shape[3], f"{name}: weights shape {W.shape} not (L, H, T, T)")
    rows = np.abs(W.sum(-1) - 1).max()
    upper = np.abs(W[..., np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]]).max() if T > 1 else 0.0
    print(f"{name}: weights {W.shape}, max |row sum - 1| = {rows:.2e}, max |upper triangle| = {upper}")
    check(rows < 1e-5, f"{name}: rows sum to 1 within {rows}")
    check(upper == 0.0, f"{name}: upper triangle not exactly 0 ({upper})")

    ids = encode(read_checkpoint(ckpt)[1], text)
    if ids is not None:
        check(len(ids) == T, f"{name}: {T} tokens drawn, {len(ids)} characters in the text")
        ref, _ = twin_weights(ckpt, ids)
        diff = np.abs(ref - W).max()
        print(f"{name}: max |ours - PyTorch twin| over {W.size} weights = {diff:.2e}")
        check(diff < 1e-5, f"{name}: weights differ from the PyTorch twin by {diff}")
        check(np.abs(W).max() > 0 and np.abs(W[..., 1:, :].max(-1) - W[..., 1:, :].min(-1)).max() > 1e-3,
              f"{name}: weights look uniform")

    img = decode_png(png)
    m = re.search(r"wrote \S+ \((\d+) x (\d+) pixels", out)
    check(m is not None and (int(m.group(1)), int(m.group(2))) == (img.shape[1], img.shape[0]),
          f"{name}: PNG is {img.shape[1]} x {img.shape[0]}, the command said {m and m.groups()}")
    flat = img.reshape(-1, 3)
    n1 = int((flat == VIRIDIS_1).all(1).sum())
    n0 = int((flat == VIRIDIS_0).all(1).sum())
    print(f"{name}: PNG {img.shape[1]} x {img.shape[0]}, {n1} pixels of viridis(1), {n0} of viridis(0)")
    # each cell is at least 8 x 8 pixels; every head's (0, 0) cell is 1; T(T-1)/2 cells per head are 0
    check(n1 >= L * H * 64, f"{name}: {n1} viridis(1) pixels, fewer than {L * H} cells")
    check(n0 >= L * H * 64 * T * (T - 1) // 2, f"{name}: {n0} viridis(0) pixels, fewer than the upper triangles")
    return W, img


def main():
    mode, tool = sys.argv[1], sys.argv[2]
    if mode == "train":
        corpus, out = sys.argv[3], sys.argv[4]
        os.makedirs(out, exist_ok=True)
        small = os.path.join(out, "small.txt")
        if os.path.exists(corpus):
            with open(corpus, "rb") as f:
                text = f.read(4096)
        else:
            print(f"{corpus} not found: training on the script's own text")
            text = FALLBACK.encode()
        with open(small, "wb") as g:
            g.write(text)
        # --overwrite: each ctest run trains the models afresh in the same folders
        run([tool, "train", "--data", small, "--out", os.path.join(out, "char"), "--overwrite"] + TRAIN)
        run([tool, "train", "--data", small, "--out", os.path.join(out, "bpe"), "--overwrite", "--tokenizer", "bpe",
             "--bpe-vocab-size", "300"] + TRAIN)
        return
    out = sys.argv[3]
    W, img = check_model(tool, os.path.join(out, "char"), TEXT, "char")

    # --layer 1 alone: that layer's weights; one grid, so a shorter picture; --no-terminal: no colours
    d = os.path.join(out, "char")
    one = run([tool, "attention", "--checkpoint", os.path.join(d, "checkpoint.safetensors"), "--text", TEXT,
               "--layer", "1", "--out", os.path.join(d, "heads_layer1.png"),
               "--weights-out", os.path.join(d, "heads_layer1.npy"), "--no-terminal"])
    check("\x1b[" not in one, "--no-terminal still printed escape codes")
    W1 = np.load(os.path.join(d, "heads_layer1.npy"))
    check(W1.shape == (1,) + W.shape[1:] and np.array_equal(W1[0], W[1]), "--layer 1 differs from layer 1 of all")
    img1 = decode_png(os.path.join(d, "heads_layer1.png"))
    check(img1.shape[1] == img.shape[1] and img.shape[0] == W.shape[0] * img1.shape[0],
          f"all layers {img.shape[:2]} is not {W.shape[0]} grids of {img1.shape[:2]} stacked")

    Wb, _ = check_model(tool, os.path.join(out, "bpe"), BPE_TEXT, "bpe")
    check(Wb.shape[2] < len(BPE_TEXT.encode()), "bpe: no merges used on the text")
    if failures:
        raise SystemExit(f"{len(failures)} failure(s):\n" + "\n".join(failures))
    print("all attention checks passed")


if __name__ == "__main__":
    main()
