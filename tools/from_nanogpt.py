#!/usr/bin/env python3
"""Converts a nanoGPT checkpoint (ckpt.pt) and its character vocabulary (meta.pkl) into a file that
`llm-journey generate` and `llm-journey eval` read:

  python3 tools/from_nanogpt.py --checkpoint out-shakespeare-char/ckpt.pt \
      --meta data/shakespeare_char/meta.pkl --out model.safetensors

The weights keep nanoGPT's names (a torch.compile "_orig_mod." prefix is removed; the attention-mask
buffers are dropped); the model config (ckpt["model_args"]) and the tokenizer (meta.pkl's itos, as a
character tokenizer) go in the metadata. Runs with Debian's python3-torch; needs nothing else.
"""
import argparse
import json
import os
import pickle
import struct
import sys

import torch


def save_safetensors(tensors, path, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous().cpu()
        b = t.reshape(-1).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def convert(checkpoint, meta_path, out):
    ckpt = torch.load(checkpoint, map_location="cpu")
    if "model" not in ckpt or "model_args" not in ckpt:
        sys.exit(f"{checkpoint}: not a nanoGPT checkpoint (it needs 'model' and 'model_args')")
    args = ckpt["model_args"]
    with open(meta_path, "rb") as f:
        meta = pickle.load(f)
    if "itos" not in meta:
        sys.exit(f"{meta_path}: no 'itos' (only nanoGPT's character vocabularies are supported)")
    itos = meta["itos"]
    chars = "".join(itos[i] for i in range(len(itos)))
    if list(chars) != sorted(chars) or any(len(itos[i]) != 1 for i in range(len(itos))):
        sys.exit(f"{meta_path}: the vocabulary is not the sorted distinct characters nanoGPT's prepare.py writes")
    vocab = args["vocab_size"]
    if vocab != len(chars):
        sys.exit(f"{checkpoint}: vocab_size={vocab} but {meta_path} has {len(chars)} characters "
                 "(was the model trained with a padded vocabulary?)")
    tensors = {}
    for k, v in ckpt["model"].items():
        k = k[len("_orig_mod."):] if k.startswith("_orig_mod.") else k
        if k.endswith(".attn.bias") or k.endswith(".attn.mask") or k.endswith(".attn.masked_bias"):
            continue  # causal-mask buffers, not weights
        tensors[k] = v
    if "lm_head.weight" not in tensors:
        tensors["lm_head.weight"] = tensors["transformer.wte.weight"]
    config = {"block_size": args["block_size"], "vocab_size": vocab, "n_layer": args["n_layer"],
              "n_head": args["n_head"], "n_embd": args["n_embd"], "dropout": float(args.get("dropout", 0.0)),
              "bias": bool(args.get("bias", False))}
    metadata = {"format": "llm-journey-gpt", "model_config": json.dumps(config),
                "tokenizer": json.dumps({"type": "char", "chars": chars}), "source": "nanoGPT " + checkpoint}
    save_safetensors(tensors, out, metadata)
    print(f"wrote {out}: {len(tensors)} tensors, config {config}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="nanoGPT's ckpt.pt")
    ap.add_argument("--meta", required=True, help="nanoGPT's meta.pkl (character vocabulary)")
    ap.add_argument("--out", required=True, help="the .safetensors file to write")
    a = ap.parse_args()
    convert(a.checkpoint, a.meta, a.out)


if __name__ == "__main__":
    main()
