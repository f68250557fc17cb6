"""A plain-PyTorch GPT-2 that reads a Hugging Face GPT-2 directory (model.safetensors, config.json,
vocab.json, merges.txt) as transformers' GPT2LMHeadModel does in eval mode: Conv1D weights stored
(in, out) and applied as x @ W + b, the fused c_attn split into q, k, v, "gelu_new" the tanh GELU,
lm_head tied to wte. Nothing here comes from our C++ code.

Run: hf_gpt2_twin.py DIR IDS.safetensors PROMPT.txt OUT.safetensors
  IDS holds "ids" (T,) as float32; the script checks that they spell PROMPT through vocab.json and
  GPT-2's bytes_to_unicode, then writes "logits" (T, vocab_size).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_lite import load, save  # noqa: E402


def bytes_to_unicode():  # GPT-2's encoder.py
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def main(d, ids_path, prompt_path, out_path):
    torch.set_num_threads(1)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    w = {k[len("transformer."):] if k.startswith("transformer.") else k: v
         for k, v in load(os.path.join(d, "model.safetensors")).items()}
    ids = load(ids_path)["ids"].long()

    with open(os.path.join(d, "vocab.json"), encoding="utf-8") as f:
        itos = {i: s for s, i in json.load(f).items()}
    byte_decoder = {c: b for b, c in bytes_to_unicode().items()}
    text = bytes(byte_decoder[c] for i in ids.tolist() for c in itos[i]).decode("utf-8")
    with open(prompt_path, encoding="utf-8") as f:
        prompt = f.read()
    assert text == prompt, f"the ids spell {text!r}, not the prompt {prompt!r}"

    C, H, eps = cfg["n_embd"], cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5)
    hd = C // H
    act = cfg.get("activation_function", "gelu_new")
    gelu = (lambda x: F.gelu(x, approximate="tanh")) if act in ("gelu_new", "gelu_pytorch_tanh") else F.gelu
    T = ids.numel()
    with torch.no_grad():
        x = w["wte.weight"][ids] + w["wpe.weight"][:T]
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        for layer in range(cfg["n_layer"]):
            p = f"h.{layer}."
            h = F.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
            qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
            q, k, v = (t.view(T, H, hd).transpose(0, 1) for t in qkv.split(C, dim=-1))
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(0, 1).reshape(T, C)
            x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
            h = F.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
            x = x + gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] \
                + w[p + "mlp.c_proj.bias"]
        x = F.layer_norm(x, (C,), w["ln_f.weight"], w["ln_f.bias"], eps)
        logits = x @ w["wte.weight"].t()
    save({"logits": logits}, out_path)


if __name__ == "__main__":
    main(*sys.argv[1:5])
