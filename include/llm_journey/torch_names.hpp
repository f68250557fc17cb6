// PyTorch's own layers <-> ours: state-dict names and layouts, and mask polarity.
//
//   nn.MultiheadAttention            ours (MultiHeadAttention)
//     in_proj_weight (3D, D)    ->     w_q.weight, w_k.weight, w_v.weight   rows [0,D), [D,2D), [2D,3D)
//     in_proj_bias   (3D)       ->     w_q.bias,   w_k.bias,   w_v.bias
//     out_proj.weight / .bias   ->     w_o.weight / .bias
//
//   nn.TransformerEncoderLayer       ours (TransformerBlock)
//     self_attn.*               ->     attention.*  (as above)
//     linear1.*, linear2.*      ->     feed_forward.linear1.*, feed_forward.linear2.*
//     norm1.*, norm2.*          ->     norm1.*, norm2.*
//
// Both layers agree with ours in eval mode with batch_first=True (norm_first either way, relu or
// gelu). Layouts PyTorch uses for other options (separate q/k/v_proj_weight when kdim != embed_dim,
// bias_k/bias_v) have no counterpart here and are rejected by name.
#pragma once
#include <string>

#include "llm_journey/nn/module.hpp"

namespace lj::io {

// Each converter takes every key it knows and fails (lj::Error listing them) on keys left over or
// missing, so nothing is dropped silently.
nn::StateDict mha_from_torch(const nn::StateDict& torch_dict);
nn::StateDict mha_to_torch(const nn::StateDict& ours);
nn::StateDict block_from_torch(const nn::StateDict& torch_dict);
nn::StateDict block_to_torch(const nn::StateDict& ours);

// Whichever naming the dict uses (PyTorch's is recognised by its in_proj_weight), ours out.
nn::StateDict mha_from_any(const nn::StateDict& dict);
nn::StateDict block_from_any(const nn::StateDict& dict);

// Masks: ours are 1 = may attend (as scaled_dot_product_attention's bool masks); nn.MultiheadAttention's
// bool attn_mask / key_padding_mask are True = blocked. Each is 1 - the other.
Tensor mask_from_torch(const Tensor& blocked);
Tensor mask_to_torch(const Tensor& allowed);

}  // namespace lj::io
