"""The seed notebook 02, run in PyTorch on the course library's twin: what lesson 02 must print."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
import torch
import torch.nn as nn
from course import MultiHeadAttention, TransformerBlock, set_seed, count_parameters

set_seed(42)
d_model, num_heads, batch_size, seq_len = 64, 8, 2, 10
mha = MultiHeadAttention(d_model, num_heads, dropout=0.1)
print(f"Multi-Head Attention parameters: {count_parameters(mha)}")
x = torch.randn(batch_size, seq_len, d_model)
print(f"Input shape: {list(x.shape)}")
output = mha(x, x, x)
print(f"Output shape: {list(output.shape)}")
for config in [{"num_heads": 1, "d_model": 64}, {"num_heads": 4, "d_model": 64}, {"num_heads": 8, "d_model": 64}]:
    mha = MultiHeadAttention(config["d_model"], config["num_heads"])
    print(f"Heads: {config['num_heads']:2d} | Parameters: {count_parameters(mha):,}")
d_model, num_heads, d_ff = 64, 8, 256
block = TransformerBlock(d_model, num_heads, d_ff, dropout=0.1)
print(f"Transformer block parameters: {count_parameters(block):,}")
x = torch.randn(batch_size, seq_len, d_model)
output = block(x)
print(f"Input shape: {list(x.shape)}")
print(f"Output shape: {list(output.shape)}")
x = torch.randn(1, 5, d_model)
output = block(x)
print(f"Input mean: {x.mean():.4f}, std: {x.std():.4f}")
print(f"Output mean: {output.mean():.4f}, std: {output.std():.4f}")
for num_layers in [1, 6, 12, 24]:
    blocks = nn.ModuleList([TransformerBlock(d_model, num_heads, d_ff) for _ in range(num_layers)])
    total_params = sum(count_parameters(block) for block in blocks)
    print(f"Layers: {num_layers:2d} | Total parameters: {total_params:,}")
