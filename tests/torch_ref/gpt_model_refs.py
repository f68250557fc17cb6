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
