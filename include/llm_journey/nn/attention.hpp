// Attention modules.
//
//   Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V
//   MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,   head_i = Attention(Q W^Q_i, K W^K_i, V W^V_i)
//
// Masks are boolean (stored as 0/1 floats) and mean "may attend" where true, as in PyTorch's
// scaled_dot_product_attention. (nn.MultiheadAttention's masks mean the opposite: convert with
// 1 - mask at that boundary.) A mask broadcasts against the scores (B, H, T, S) from the right:
// (T, S) for all sequences, (B, 1, 1, S) for padding.
#pragma once
#include <cstdint>

#include "llm_journey/nn/layers.hpp"
#include "llm_journey/ops.hpp"

namespace lj::nn {

// softmax(QK^T / sqrt(d_k)) V on (B, H, T, d_k); returns the output and the weights (B, H, T, S).
class ScaledDotProductAttention : public Module {
 public:
  explicit ScaledDotProductAttention(double dropout = 0.0, bool causal = false);
  AttentionResult forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = Tensor());
  AttentionResult operator()(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = Tensor()) {
    return forward(q, k, v, mask);
  }
  std::string type_name() const override { return "ScaledDotProductAttention"; }
  std::string extra_repr() const override;
  void visit(Visitor&) override {}

  double dropout;
  bool causal;
};

class MultiHeadAttention : public Module {
 public:
  // Parameters w_q, w_k, w_v, w_o: Linear(d_model, d_model) with bias, created in that order.
  // dropout applies to the attention weights in training.
  MultiHeadAttention(int64_t d_model, int64_t num_heads, double dropout = 0.0, bool causal = false);

  // query (B, T, d_model), key and value (B, S, d_model) -> (B, T, d_model).
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask = Tensor());
  Tensor operator()(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask = Tensor()) {
    return forward(query, key, value, mask);
  }
  // The weights of the last forward, per head (B, H, T, S), before dropout. Short sequences (up to
  // 256 x 256 scores per head) keep them for free: their kernel's backward pass needs them anyway.
  // Longer ones run flash attention, which stores none: set need_weights before the forward to have
  // them made (B x H x T x S floats more); without it this is an Error naming the shapes. Asking
  // never changes the output.
  const Tensor& attention_weights() const;
  bool need_weights = false;

  std::string type_name() const override { return "MultiHeadAttention"; }
  std::string extra_repr() const override;
  void visit(Visitor& v) override;

  int64_t d_model, num_heads, d_k;
  double dropout;
  bool causal;
  Linear w_q, w_k, w_v, w_o;

 private:
  Tensor attention_weights_;
  Shape last_scores_;  // (B, H, T, S) of the last forward
};

}  // namespace lj::nn
