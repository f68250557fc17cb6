"""Writes the PyTorch reference values the C++ tests compare against.

Every file holds the inputs, the weights (under our parameter names), the outputs and the gradients
that PyTorch computes — nothing here comes from our own code. Run: make_refs.py OUT_DIR
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import course  # noqa: E402
from safetensors_lite import save  # noqa: E402

torch.set_num_threads(1)
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)


def module_case(name, module, inputs, mask=None, seed=0):
    """Forward and backward of `module` on `inputs`, with a random upstream gradient."""
    g = torch.Generator().manual_seed(seed + 1)
    module.zero_grad(set_to_none=True)
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = module(*xs, mask) if mask is not None else module(*xs)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    t = {"out": y, "dy": dy}
    for i, x in enumerate(xs):
        t[f"in.{i}"] = x
        t[f"grad.in.{i}"] = x.grad
    for pname, p in module.named_parameters():
        t[f"param.{pname}"] = p
        t[f"grad.param.{pname}"] = p.grad
    if mask is not None:
        t["mask"] = mask.float()
    if hasattr(module, "attention") and getattr(module.attention, "attention_weights", None) is not None:
        t["attn"] = module.attention.attention_weights
    elif getattr(module, "attention_weights", None) is not None:
        t["attn"] = module.attention_weights
    save(t, os.path.join(OUT, name + ".safetensors"))


def rng_case():
    t = {}
    for seed in (0, 42, 1234):
        torch.manual_seed(seed)
        for n in (1, 2, 3, 5, 15, 16, 17, 31, 32, 100, 1000, 1280):
            t[f"randn.{seed}.{n}"] = torch.randn(n)
        for n in (1, 7, 100):
            t[f"rand.{seed}.{n}"] = torch.rand(n)
        t[f"bernoulli.{seed}"] = torch.empty(300).bernoulli_(0.9)
        t[f"randint.{seed}"] = torch.randint(0, 65, (50,)).float()
        t[f"randn2d.{seed}"] = torch.randn(7, 9)
    save(t, os.path.join(OUT, "rng.safetensors"))


def init_case():
    """Default initialisation, as drawn after manual_seed(7) in creation order."""
    torch.manual_seed(7)
    lin = torch.nn.Linear(64, 32)
    ln = torch.nn.LayerNorm(64)
    mha = course.MultiHeadAttention(64, 8)
    block = course.TransformerBlock(64, 8, 256, dropout=0.1)
    emb = torch.nn.Embedding(65, 32)
    t = {"linear.weight": lin.weight, "linear.bias": lin.bias, "ln.weight": ln.weight, "ln.bias": ln.bias,
         "embedding.weight": emb.weight}
    t.update({f"mha.{k}": v for k, v in mha.named_parameters()})
    t.update({f"block.{k}": v for k, v in block.named_parameters()})
    # Dropout in training mode, drawn after the weights: the same mask as ours.
    x = torch.randn(2, 10, 64)
    t["block.x"] = x
    t["block.train_out"] = block(x)
    save(t, os.path.join(OUT, "init.safetensors"))


def modules():
    torch.manual_seed(0)
    for tag, (B, T, D, H, F) in {"seed": (2, 10, 64, 8, 256), "large": (4, 128, 256, 8, 1024)}.items():
        mha = course.MultiHeadAttention(D, H)
        x = torch.randn(B, T, D)
        # self-attention: query = key = value = x (one input, gradients summed)
        class Self(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.attention = m

            def forward(self, a, mask=None):
                return self.attention(a, a, a, mask)
        module_case(f"mha_self_{tag}", Self(mha), [x])
        # cross-attention with a padding mask (B,1,1,S): different q, k, v and lengths
        S = T + 3
        q, k, v = torch.randn(B, T, D), torch.randn(B, S, D), torch.randn(B, S, D)
        pad = torch.ones(B, 1, 1, S, dtype=torch.bool)
        pad[0, ..., S - 4:] = False
        module_case(f"mha_cross_{tag}", mha, [q, k, v], mask=pad)
        for variant, kw in {"post_relu": {}, "pre_gelu_causal": dict(norm_first=True, causal=True, activation="gelu"),
                            "post_gelu": dict(activation="gelu"), "pre_relu": dict(norm_first=True)}.items():
            block = course.TransformerBlock(D, H, F, **kw)
            module_case(f"block_{variant}_{tag}", block, [torch.randn(B, T, D)])
        # a block with an explicit (T,T) mask that blocks some rows entirely
        block = course.TransformerBlock(D, H, F)
        m = torch.tril(torch.ones(T, T, dtype=torch.bool))
        m[1] = False  # query 1 may attend nothing: its weights must be zeros, not NaN
        module_case(f"block_masked_{tag}", block, [torch.randn(B, T, D)], mask=m)


def ops():
    torch.manual_seed(3)
    t = {}

    def grad_case(name, fn, *shapes, positive=False, scales=None):
        scales = scales or [1.0] * len(shapes)  # inputs of O(1) outputs: a weight scaled by 1/sqrt(fan_in)
        xs = [((torch.rand(s) + 0.5 if positive else torch.randn(s)) * k).requires_grad_(True)
              for s, k in zip(shapes, scales)]
        y = fn(*xs)
        dy = torch.randn(y.shape)
        y.backward(dy)
        t[f"{name}.out"] = y
        t[f"{name}.dy"] = dy
        for i, x in enumerate(xs):
            t[f"{name}.in.{i}"] = x
            t[f"{name}.grad.{i}"] = x.grad

    grad_case("add_bcast", lambda a, b: a + b, (4, 1, 5), (3, 1))
    grad_case("sub_bcast", lambda a, b: a - b, (2, 3, 4), (4,))
    grad_case("mul_bcast", lambda a, b: a * b, (2, 3, 4), (2, 1, 4))
    grad_case("div_bcast", lambda a, b: a / b, (3, 4), (4,), positive=True)
    grad_case("mul_same", lambda a, b: a * b, (6, 7), (6, 7))
    grad_case("exp", torch.exp, (5, 6))
    grad_case("log", torch.log, (5, 6), positive=True)
    grad_case("tanh", torch.tanh, (5, 6))
    grad_case("sqrt", torch.sqrt, (5, 6), positive=True)
    grad_case("sigmoid", torch.sigmoid, (5, 6))
    grad_case("relu", torch.relu, (5, 6))
    grad_case("gelu", F.gelu, (5, 6))
    grad_case("gelu_tanh", lambda a: F.gelu(a, approximate="tanh"), (5, 6))
    grad_case("pow3", lambda a: a ** 3, (5, 6))
    grad_case("softmax", lambda a: torch.softmax(a, -1), (4, 5, 7))
    grad_case("softmax_dim1", lambda a: torch.softmax(a, 1), (4, 5, 7))
    grad_case("log_softmax", lambda a: torch.log_softmax(a, -1), (4, 5, 7))
    grad_case("layer_norm", lambda a, w, b: F.layer_norm(a, (7,), w, b), (4, 5, 7), (7,), (7,))
    grad_case("linear", lambda a, w, b: F.linear(a, w, b), (2, 5, 8), (3, 8), (3,))
    # nn::Linear on at most 64 rows multiplies by a cached W^T, in blocks of its rows and with padded
    # rows when wide: these shapes split it into 2-8 blocks, or pad it, with and without a bias
    for rows, fan_in, fan_out, bias in [(20, 256, 64, True), (20, 256, 64, False), (5, 512, 128, False),
                                        (64, 384, 96, True), (1, 1024, 32, False), (20, 64, 256, False),
                                        (65, 256, 64, False)]:
        name = f"linear_module_{rows}x{fan_in}x{fan_out}_{'bias' if bias else 'nobias'}"
        t[f"{name}.x"] = torch.randn(rows, fan_in)
        t[f"{name}.weight"] = torch.randn(fan_out, fan_in) / math.sqrt(fan_in)
        b = torch.randn(fan_out) if bias else None
        if bias:
            t[f"{name}.bias"] = b
        t[f"{name}.out"] = F.linear(t[f"{name}.x"], t[f"{name}.weight"], b)
    # residual + F.linear: inputs (residual, x, weight[, bias]); 4 x 5 rows go through the op, 20 x 256
    # -> 64 also through nn::Linear's cached W^T (two blocks of rows of W^T, both adding onto y), and
    # 96 rows through the threaded product
    grad_case("linear_add", lambda r, x, w, b: r + F.linear(x, w, b), (4, 5, 7), (4, 5, 6), (7, 6), (7,))
    grad_case("linear_add_nobias", lambda r, x, w: r + F.linear(x, w), (4, 5, 7), (4, 5, 6), (7, 6))
    grad_case("linear_add_20x256x64", lambda r, x, w, b: r + F.linear(x, w, b), (20, 64), (20, 256), (64, 256), (64,),
              scales=[1, 1, 1 / 16, 1])
    grad_case("linear_add_96x128x512", lambda r, x, w: r + F.linear(x, w), (96, 512), (96, 128), (512, 128),
              scales=[1, 1, 1 / math.sqrt(128)])
    grad_case("matmul_2d", torch.matmul, (5, 8), (8, 3))
    grad_case("matmul_nd_2d", torch.matmul, (2, 5, 8), (8, 3))
    grad_case("matmul_batched", torch.matmul, (2, 3, 5, 8), (2, 3, 8, 4))
    grad_case("sum", lambda a: a.sum(), (3, 4))
    grad_case("sum_dim", lambda a: a.sum(1), (3, 4, 5))
    grad_case("mean_dim_keep", lambda a: a.mean(-1, keepdim=True), (3, 4, 5))
    grad_case("std", lambda a: a.std(), (3, 4))
    grad_case("var_biased", lambda a: a.var(unbiased=False), (3, 4))
    grad_case("transpose_reshape", lambda a: a.transpose(0, 2).reshape(4, -1) * 2, (3, 4, 5))
    grad_case("permute_slice", lambda a: a.permute(2, 0, 1)[1:3].sum(0), (3, 4, 5))
    grad_case("reuse", lambda a: a * a + a, (4, 4))

    # scaled dot-product attention: plain, causal, masked with a fully blocked row, S != T; short key
    # sequences take the row-wise kernel, long ones (S > 64) the one through gemm: both are checked.
    # With 8 or more heads and no mask, the forward runs 16 heads at a time, one per vector lane: the
    # "heads" cases have 21 and 18 of them (a partial group), and d_k, d_v and S that are not
    # multiples of 8 (the transposes' scalar tails)
    def sdpa(mask=None, causal=False):
        def f(q, k, v):
            out, w = course.attention(q, k, v, mask, causal)
            t_w.append(w)
            return out
        return f
    for name, mask, causal, (B, H, T, S, dk, dv) in [
            ("sdpa_plain", None, False, (2, 3, 6, 6, 4, 5)), ("sdpa_causal", None, True, (2, 3, 6, 6, 4, 5)),
            ("sdpa_masked", "blocked_row", False, (2, 3, 5, 7, 4, 5)),
            ("sdpa_long_causal", None, True, (2, 3, 70, 70, 4, 5)),
            ("sdpa_long_masked", "blocked_row", False, (2, 3, 5, 72, 4, 5)),
            ("sdpa_heads", None, False, (3, 7, 9, 11, 12, 5)),
            ("sdpa_heads_causal", None, True, (2, 9, 13, 13, 6, 8))]:
        t_w = []
        m = None
        if mask == "blocked_row":
            m = torch.rand(B, 1, T, S) > 0.3
            m[1, 0, 2] = False
            t[f"{name}.mask"] = m.float()
        grad_case(name, sdpa(m, causal), (B, H, T, dk), (B, H, S, dk), (B, H, S, dv))
        t[f"{name}.weights"] = t_w[0]
    # packed projections qkv (B, T, 3, H, d): the three thirds as (B, H, T, d) views, the course's
    # attention over them, and the gradient of qkv; the gemm path (T 64 and 70), the row-wise one (2
    # heads) and the one with a head per vector lane (18 heads)
    for name, causal, (B, T, H, d) in [("sdpa_packed_gpt", True, (2, 64, 4, 32)),
                                       ("sdpa_packed_long", False, (2, 70, 3, 5)),
                                       ("sdpa_packed_rows", True, (2, 5, 2, 4)),
                                       ("sdpa_packed_lanes", True, (2, 13, 9, 6))]:
        t_w = []
        f = sdpa(None, causal)
        grad_case(name, lambda qkv: f(*(qkv[:, :, i].transpose(1, 2) for i in range(3))), (B, T, 3, H, d))
        t[f"{name}.weights"] = t_w[0]
    # long sequences (more than 256 x 256 scores per head), where flash attention runs: T not a multiple
    # of its tiles (64 queries, 256 keys), a mask with a fully blocked row, cross-attention with S != T,
    # one query over many keys, the KV-cache offset (queries the last T of S positions: an explicit
    # mask here, our causal flag with offset S - T there), and packed projections
    for name, mask, causal, (B, H, T, S, dk, dv) in [
            ("sdpa_flash_causal", None, True, (1, 2, 300, 300, 16, 12)),
            ("sdpa_flash_masked", "blocked_row", False, (2, 1, 263, 270, 8, 8)),
            ("sdpa_flash_cross", None, False, (1, 2, 200, 530, 8, 4)),
            ("sdpa_flash_one_query", None, False, (1, 1, 1, 66000, 4, 4)),
            ("sdpa_flash_kv_offset", "kv_offset", False, (1, 2, 270, 333, 8, 8))]:
        t_w = []
        m = None
        if mask == "blocked_row":
            m = torch.rand(B, 1, T, S) > 0.3
            m[1, 0, 2] = False
            t[f"{name}.mask"] = m.float()
        elif mask == "kv_offset":
            m = torch.ones(T, S, dtype=torch.bool).tril(S - T)
        grad_case(name, sdpa(m, causal), (B, H, T, dk), (B, H, S, dk), (B, H, S, dv))
        t[f"{name}.weights"] = t_w[0]
    t_w = []
    f = sdpa(None, True)
    grad_case("sdpa_packed_flash", lambda qkv: f(*(qkv[:, :, i].transpose(1, 2) for i in range(3))), (1, 300, 3, 2, 16))
    save(t, os.path.join(OUT, "ops.safetensors"))


def bf16_case():
    """float32 -> bfloat16 rounding as torch does it, and products of bf16 matrices."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4096, generator=g) * torch.logspace(-36, 38, 4096).float()
    # ties (the dropped half exactly 0x8000, with an even and an odd kept part), the neighbours of
    # ties, the largest finite values, infinities and signed zeros. No subnormals: torch flushes them
    # to zero on CPUs whose bf16 conversion instruction it uses, and rounds them elsewhere.
    bits = torch.tensor([0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff, 0x7f7fffff, 0x7f7f8000, 0x7f7f7fff,
                         0x7f800000, 0xff800000, 0x80000000, 0x00000000, 0x3f800000, 0xbf808000, 0xc0018000],
                        dtype=torch.int64).to(torch.int32)
    x = torch.cat([x, bits.view(torch.float32)])
    t = {"x": x, "x.bf16": x.to(torch.bfloat16).float()}
    for name, (M, K, N) in [("small", (3, 5, 4)), ("mid", (40, 96, 72)), ("large", (128, 384, 256))]:
        a = torch.randn(M, K, generator=g).to(torch.bfloat16)
        b = torch.randn(K, N, generator=g).to(torch.bfloat16)
        t[f"{name}.a"], t[f"{name}.b"] = a.float(), b.float()
        t[f"{name}.out"] = (a.double() @ b.double()).float()  # exact products, summed in double
    save(t, os.path.join(OUT, "bf16.safetensors"))
    save({"w": x[:64].reshape(8, 8).to(torch.bfloat16)}, os.path.join(OUT, "bf16_stored.safetensors"))


rng_case()
init_case()
bf16_case()
modules()
ops()
print(f"wrote the PyTorch references to {OUT}")
