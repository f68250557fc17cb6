// The transformer block and its feed-forward network.
//
//   FFN(x) = linear2(activation(linear1(x)))
//   post-norm (default, the seed's formula):  x = norm1(x + drop(MHA(x)));  x = norm2(x + drop(FFN(x)))
//   pre-norm (GPT-2, nanoGPT):                x = x + drop(MHA(norm1(x)));  x = x + drop(FFN(norm2(x)))
#pragma once
#include <cstdint>

#include "llm_journey/nn/attention.hpp"
#include "llm_journey/nn/layers.hpp"

namespace lj::nn {

enum class Activation { relu, gelu };
const char* to_string(Activation a);
Activation activation_from_string(const std::string& name);  // "relu" or "gelu"

class FeedForward : public UnaryModule {
 public:
  // Children linear1 (d_model -> d_ff) and linear2 (d_ff -> d_model), created in that order.
  FeedForward(int64_t d_model, int64_t d_ff, Activation activation = Activation::relu);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "FeedForward"; }
  std::string extra_repr() const override;
  void visit(Visitor& v) override;

  Activation activation;
  Linear linear1, linear2;
};

struct BlockOptions {
  bool norm_first = false;  // pre-norm instead of the seed's post-norm
  bool causal = false;      // each position attends only to itself and earlier positions
  Activation activation = Activation::relu;
};

class TransformerBlock : public UnaryModule {
 public:
  // Children attention, feed_forward, norm1, norm2, created in that order; dropout after the
  // attention and after the feed-forward network, and on the attention weights.
  TransformerBlock(int64_t d_model, int64_t num_heads, int64_t d_ff, double dropout = 0.0, BlockOptions options = {});

  // x (B, T, d_model) -> (B, T, d_model); the mask goes to the attention.
  Tensor forward(const Tensor& x, const Tensor& mask);
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  Tensor operator()(const Tensor& x, const Tensor& mask = Tensor()) { return forward(x, mask); }

  std::string type_name() const override { return "TransformerBlock"; }
  std::string extra_repr() const override;
  void visit(Visitor& v) override;

  BlockOptions options;
  MultiHeadAttention attention;
  FeedForward feed_forward;
  LayerNorm norm1, norm2;
  Dropout drop;
};

}  // namespace lj::nn
