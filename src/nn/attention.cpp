#include "llm_journey/nn/attention.hpp"

#include <sstream>

namespace lj::nn {

ScaledDotProductAttention::ScaledDotProductAttention(double dropout, bool causal) : dropout(dropout), causal(causal) {
  LJ_CHECK(dropout >= 0.0 && dropout < 1.0, "ScaledDotProductAttention: dropout=", dropout, " must be in [0, 1)");
}

AttentionResult ScaledDotProductAttention::forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                   const Tensor& mask) {
  return scaled_dot_product_attention(q, k, v, mask, causal, dropout, is_training());
}

std::string ScaledDotProductAttention::extra_repr() const {
  std::ostringstream os;
  os << "dropout=" << dropout << ", causal=" << (causal ? "True" : "False");
  return os.str();
}

static int64_t checked_head_dim(int64_t d_model, int64_t num_heads) {
  LJ_CHECK(d_model > 0, "MultiHeadAttention: d_model=", d_model, " must be positive");
  LJ_CHECK(num_heads > 0, "MultiHeadAttention: num_heads=", num_heads, " must be positive");
  LJ_CHECK(d_model % num_heads == 0, "MultiHeadAttention: d_model=", d_model, " is not divisible by num_heads=",
           num_heads);
  return d_model / num_heads;
}

MultiHeadAttention::MultiHeadAttention(int64_t d_model, int64_t num_heads, double dropout, bool causal)
    : d_model(d_model),
      num_heads(num_heads),
      d_k(checked_head_dim(d_model, num_heads)),
      dropout(dropout),
      causal(causal),
      w_q(d_model, d_model),
      w_k(d_model, d_model),
      w_v(d_model, d_model),
      w_o(d_model, d_model) {
  LJ_CHECK(dropout >= 0.0 && dropout < 1.0, "MultiHeadAttention: dropout=", dropout, " must be in [0, 1)");
}

Tensor MultiHeadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask) {
  auto check3 = [&](const Tensor& t, const char* what) {
    LJ_CHECK(t.dim() == 3 && t.size(2) == d_model, "MultiHeadAttention: ", what, " shape ", t.shape(),
             " should be (batch, length, d_model=", d_model, ")");
  };
  check3(query, "query");
  check3(key, "key");
  check3(value, "value");
  const int64_t B = query.size(0), T = query.size(1), S = key.size(1);
  LJ_CHECK(key.size(0) == B && value.size(0) == B, "MultiHeadAttention: batch sizes differ: query ", query.shape(),
           ", key ", key.shape(), ", value ", value.shape());
  LJ_CHECK(value.size(1) == S, "MultiHeadAttention: key ", key.shape(), " and value ", value.shape(),
           " differ in length");
  // Project, then split d_model into heads: (B, T, d_model) -> (B, T, H, d_k) -> (B, H, T, d_k), as views.
  Tensor Q = w_q(query).view({B, T, num_heads, d_k}).transpose(1, 2);
  Tensor K = w_k(key).view({B, S, num_heads, d_k}).transpose(1, 2);
  Tensor V = w_v(value).view({B, S, num_heads, d_k}).transpose(1, 2);
  AttentionResult r = need_weights ? scaled_dot_product_attention_with_weights(Q, K, V, mask, causal, dropout, is_training())
                                    : scaled_dot_product_attention(Q, K, V, mask, causal, dropout, is_training());
  attention_weights_ = r.weights;
  last_scores_ = {B, num_heads, T, S};
  // Concatenate the heads: (B, H, T, d_k) -> (B, T, H, d_k) -> (B, T, d_model), then W^O.
  return w_o(r.output.transpose(1, 2).reshape({B, T, d_model}));
}

const Tensor& MultiHeadAttention::attention_weights() const {
  LJ_CHECK(attention_weights_.defined(), "MultiHeadAttention: no attention weights were kept by the last forward ",
           "(scores ", last_scores_, " ran flash attention, which stores none); set need_weights = true before the ",
           "forward to have them (B*H*T*S floats)");
  return attention_weights_;
}

std::string MultiHeadAttention::extra_repr() const {
  std::ostringstream os;
  os << "d_model=" << d_model << ", num_heads=" << num_heads << ", d_k=" << d_k << ", dropout=" << dropout
     << (causal ? ", causal=True" : "");
  return os.str();
}

void MultiHeadAttention::visit(Visitor& v) {
  v.child("w_q", w_q);
  v.child("w_k", w_k);
  v.child("w_v", w_v);
  v.child("w_o", w_o);
}

}  // namespace lj::nn
