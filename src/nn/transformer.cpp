#include "llm_journey/nn/transformer.hpp"

#include <sstream>

namespace lj::nn {

const char* to_string(Activation a) { return a == Activation::gelu ? "gelu" : "relu"; }

Activation activation_from_string(const std::string& name) {
  if (name == "relu") return Activation::relu;
  if (name == "gelu") return Activation::gelu;
  throw Error("activation '" + name + "' is not one of: relu, gelu");
}

FeedForward::FeedForward(int64_t d_model, int64_t d_ff, Activation activation)
    : activation(activation), linear1(d_model, d_ff), linear2(d_ff, d_model) {
  LJ_CHECK(d_model > 0 && d_ff > 0, "FeedForward: d_model=", d_model, " and d_ff=", d_ff, " must be positive");
}

Tensor FeedForward::forward(const Tensor& x) {
  Tensor h = linear1(x);
  h = activation == Activation::gelu ? gelu(h) : relu(h);
  return linear2(h);
}

std::string FeedForward::extra_repr() const { return std::string("activation=") + to_string(activation); }

void FeedForward::visit(Visitor& v) {
  v.child("linear1", linear1);
  v.child("linear2", linear2);
}

TransformerBlock::TransformerBlock(int64_t d_model, int64_t num_heads, int64_t d_ff, double dropout,
                                   BlockOptions options)
    : options(options),
      attention(d_model, num_heads, dropout, options.causal),
      feed_forward(d_model, d_ff, options.activation),
      norm1(d_model),
      norm2(d_model),
      drop(dropout) {}

Tensor TransformerBlock::forward(const Tensor& x, const Tensor& mask) {
  if (options.norm_first) {
    Tensor h = norm1(x);
    Tensor y = x + drop(attention(h, h, h, mask));
    return y + drop(feed_forward(norm2(y)));
  }
  Tensor y = norm1(x + drop(attention(x, x, x, mask)));
  return norm2(y + drop(feed_forward(y)));
}

std::string TransformerBlock::extra_repr() const {
  std::ostringstream os;
  os << "norm_first=" << (options.norm_first ? "True" : "False") << ", causal=" << (options.causal ? "True" : "False");
  return os.str();
}

void TransformerBlock::visit(Visitor& v) {
  v.child("attention", attention);
  v.child("feed_forward", feed_forward);
  v.child("norm1", norm1);
  v.child("norm2", norm2);
  v.child("drop", drop);
}

}  // namespace lj::nn
