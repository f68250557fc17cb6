"""References for lj::nn::GPT: weights right after initialisation, logits, loss and every gradient."""
import os

import torch

from nanogpt_ref import GPT, GPTConfig
from safetensors_lite import save


def model_case(out, name, cfg, seed, B, T):
    torch.manual_seed(seed)
    model = GPT(cfg)
    t = {f"init.{k}": v.detach().clone() for k, v in model.state_dict().items() if not k.endswith(".mask")}
    g = torch.Generator().manual_seed(seed + 100)
    idx = torch.randint(0, cfg.vocab_size, (B, T), generator=g)
    tg = torch.randint(0, cfg.vocab_size, (B, T), generator=g)
    logits, loss = model(idx, tg)
    loss.backward()
    t.update({"idx": idx.float(), "targets": tg.float(), "logits": logits, "loss": loss.reshape(1)})
    for k, p in model.named_parameters():
        t[f"grad.{k}"] = p.grad
    save(t, os.path.join(out, name + ".safetensors"))


def write(out):
    model_case(out, "gpt_small", GPTConfig(block_size=16, vocab_size=65, n_layer=2, n_head=4, n_embd=32), 5, 3, 16)
    model_case(out, "gpt_small_bias", GPTConfig(block_size=16, vocab_size=65, n_layer=2, n_head=4, n_embd=32,
                                                bias=True), 6, 2, 11)
    model_case(out, "gpt_cpu", GPTConfig(block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128), 7, 4, 64)


def interop(out):
    """A nanoGPT-style ckpt.pt + meta.pkl, and a Hugging Face GPT-2 layout model.safetensors (Conv1D
    weights stored (in, out), names without nanoGPT's 'transformer.' prefix), with the logits that
    PyTorch computes for them."""
    import pickle
    cfg = GPTConfig(block_size=32, vocab_size=12, n_layer=2, n_head=2, n_embd=16, bias=True)
    torch.manual_seed(21)
    model = GPT(cfg)
    with torch.no_grad():  # non-trivial LayerNorm weights and biases
        for k, p in model.named_parameters():
            if k.endswith("bias") or "ln" in k:
                p.add_(torch.randn(p.shape) * 0.1)
    chars = sorted("abcdefghij \n")
    sd = model.state_dict()
    torch.save({"model": {"_orig_mod." + k: v for k, v in sd.items()}, "iter_num": 5,
                "model_args": dict(n_layer=2, n_head=2, n_embd=16, block_size=32, bias=True, vocab_size=12,
                                   dropout=0.0)}, os.path.join(out, "nanogpt_ckpt.pt"))
    with open(os.path.join(out, "nanogpt_meta.pkl"), "wb") as f:
        pickle.dump({"vocab_size": 12, "itos": dict(enumerate(chars)), "stoi": {c: i for i, c in enumerate(chars)}}, f)
    hf = {}
    for k, v in sd.items():
        if k.endswith(".attn.mask") or k == "lm_head.weight":
            continue
        name = k[len("transformer."):]
        if any(name.endswith(s) for s in ("c_attn.weight", "c_proj.weight", "c_fc.weight")):
            v = v.t().contiguous()  # Conv1D: (in, out)
        hf[name] = v
    hf["h.0.attn.bias"] = torch.tril(torch.ones(32, 32)).view(1, 1, 32, 32)  # a buffer some files carry
    save(hf, os.path.join(out, "hf_gpt2.safetensors"), metadata={"format": "pt"})
    idx = torch.randint(0, 12, (2, 20))
    logits, _ = model(idx)
    save({"idx": idx.float(), "logits": logits}, os.path.join(out, "interop_logits.safetensors"))


_write_models = write


def write(out):  # noqa: F811
    _write_models(out)
    interop(out)
