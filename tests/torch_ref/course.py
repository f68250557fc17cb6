"""The course library (llm_journey.models, llm_journey.utils) written in PyTorch: the reference twin
of our C++ modules. Same parameter names, same creation order, same dropout placement, so that a
module built here after torch.manual_seed(s) has the weights ours has after lj::set_seed(s)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def set_seed(seed):
    torch.manual_seed(seed)


def count_parameters(model):
    seen, n = set(), 0
    for p in model.parameters():
        if p.requires_grad and p.data_ptr() not in seen:
            seen.add(p.data_ptr())
            n += p.numel()
    return n


def attention(q, k, v, mask=None, causal=False, dropout=None):
    """softmax(QK^T/sqrt(d_k)) V; mask True (1) = may attend. Returns output and pre-dropout weights."""
    d_k = q.size(-1)
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d_k)
    T, S = scores.shape[-2:]
    allowed = torch.ones(T, S, dtype=torch.bool)
    if causal:
        allowed = torch.tril(allowed)
    if mask is not None:
        allowed = allowed & mask.bool()
    scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    weights = torch.nan_to_num(weights, nan=0.0)  # rows with no allowed key -> zeros
    p = dropout(weights) if dropout is not None else weights
    return torch.matmul(p, v), weights


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, dropout=0.0, causal=False):
        super().__init__()
        assert d_model % num_heads == 0
        self.d_model, self.num_heads, self.d_k, self.causal = d_model, num_heads, d_model // num_heads, causal
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        self.attention_weights = None

    def forward(self, query, key, value, mask=None):
        B, T, _ = query.shape
        S = key.size(1)
        Q = self.w_q(query).view(B, T, self.num_heads, self.d_k).transpose(1, 2)
        K = self.w_k(key).view(B, S, self.num_heads, self.d_k).transpose(1, 2)
        V = self.w_v(value).view(B, S, self.num_heads, self.d_k).transpose(1, 2)
        out, self.attention_weights = attention(Q, K, V, mask, self.causal, self.dropout)
        out = out.transpose(1, 2).contiguous().view(B, T, self.d_model)
        return self.w_o(out)


class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff, activation="relu"):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.activation = F.gelu if activation == "gelu" else F.relu

    def forward(self, x):
        return self.linear2(self.activation(self.linear1(x)))


class TransformerBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm_first=False, causal=False, activation="relu"):
        super().__init__()
        self.norm_first = norm_first
        self.attention = MultiHeadAttention(d_model, num_heads, dropout, causal)
        self.feed_forward = FeedForward(d_model, d_ff, activation)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask=None):
        if self.norm_first:
            h = self.norm1(x)
            x = x + self.drop(self.attention(h, h, h, mask))
            return x + self.drop(self.feed_forward(self.norm2(x)))
        x = self.norm1(x + self.drop(self.attention(x, x, x, mask)))
        return self.norm2(x + self.drop(self.feed_forward(x)))
