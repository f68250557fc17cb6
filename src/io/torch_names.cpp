// PyTorch's nn.MultiheadAttention / nn.TransformerEncoderLayer state dicts <-> ours.
#include "llm_journey/torch_names.hpp"

#include <set>

namespace lj::io {

namespace {
using nn::StateDict;

// Takes keys out of a copy of the input; what is left at the end is reported as unexpected.
class Taker {
 public:
  Taker(const StateDict& d, std::string what) : left_(d), what_(std::move(what)) {}
  Tensor take(const std::string& name) {
    auto it = left_.find(name);
    if (it == left_.end()) {
      missing_.push_back(name);
      return Tensor();
    }
    Tensor t = it->second;
    left_.erase(it);
    return t;
  }
  bool has(const std::string& name) const { return left_.count(name) > 0; }
  void finish() const {
    if (missing_.empty() && left_.empty()) return;
    std::string msg = what_ + ":";
    if (!missing_.empty()) {
      msg += " missing";
      for (auto& n : missing_) msg += " '" + n + "'";
      msg += ";";
    }
    if (!left_.empty()) {
      msg += " unexpected";
      for (auto& [n, t] : left_) msg += " '" + n + "' " + t.shape().str();
      msg += ";";
    }
    msg.pop_back();
    throw Error(msg);
  }

 private:
  StateDict left_;
  std::string what_;
  std::vector<std::string> missing_;
};

// The packed projection's rows split in three, each a contiguous copy.
void split_in_proj(Taker& in, const std::string& src, StateDict& out, const std::string& dst) {
  for (const char* q : {"q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v"})
    LJ_CHECK(!in.has(src + q), "nn.MultiheadAttention state dict has '", src, q,
             "': separate key/value sizes (kdim, vdim) and add_bias_kv have no counterpart in MultiHeadAttention");
  Tensor w = in.take(src + "in_proj_weight"), b = in.take(src + "in_proj_bias");
  if (w.defined()) {
    LJ_CHECK(w.dim() == 2 && w.size(0) == 3 * w.size(1), "nn.MultiheadAttention: ", src, "in_proj_weight has shape ",
             w.shape(), ", expected (3 * d_model, d_model)");
    const int64_t D = w.size(1);
    const char* names[] = {"w_q", "w_k", "w_v"};
    for (int i = 0; i < 3; i++) out[dst + names[i] + ".weight"] = w.slice(0, i * D, (i + 1) * D).contiguous().clone().detach();
    if (b.defined()) {
      LJ_CHECK(b.dim() == 1 && b.size(0) == 3 * D, "nn.MultiheadAttention: ", src, "in_proj_bias has shape ",
               b.shape(), ", expected (", 3 * D, ")");
      for (int i = 0; i < 3; i++) out[dst + names[i] + ".bias"] = b.slice(0, i * D, (i + 1) * D).contiguous().clone().detach();
    }
  }
}

// Rows stacked: (D, ...) x 3 -> (3D, ...).
Tensor stack_rows(const Tensor& a, const Tensor& b, const Tensor& c) {
  Shape s = a.shape();
  LJ_CHECK(b.shape() == s && c.shape() == s, "mha_to_torch: w_q, w_k, w_v differ in shape: ", a.shape(), ", ",
           b.shape(), ", ", c.shape());
  s[0] *= 3;
  Tensor out = Tensor::empty(s);
  const int64_t D = a.size(0);
  out.slice(0, 0, D).copy_(a);
  out.slice(0, D, 2 * D).copy_(b);
  out.slice(0, 2 * D, 3 * D).copy_(c);
  return out;
}

void move(Taker& in, const std::string& src, StateDict& out, const std::string& dst) {
  for (const char* p : {"weight", "bias"}) {
    Tensor t = in.take(src + "." + p);
    if (t.defined()) out[dst + "." + p] = t;
  }
}

void mha_in(Taker& in, const std::string& src, StateDict& out, const std::string& dst) {
  split_in_proj(in, src, out, dst);
  move(in, src + "out_proj", out, dst + "w_o");
}

void mha_out(Taker& in, const std::string& src, StateDict& out, const std::string& dst) {
  Tensor q = in.take(src + "w_q.weight"), k = in.take(src + "w_k.weight"), v = in.take(src + "w_v.weight");
  if (q.defined() && k.defined() && v.defined()) out[dst + "in_proj_weight"] = stack_rows(q, k, v);
  Tensor qb = in.take(src + "w_q.bias"), kb = in.take(src + "w_k.bias"), vb = in.take(src + "w_v.bias");
  if (qb.defined() && kb.defined() && vb.defined()) out[dst + "in_proj_bias"] = stack_rows(qb, kb, vb);
  move(in, src + "w_o", out, dst + "out_proj");
}
}  // namespace

StateDict mha_from_torch(const StateDict& torch_dict) {
  Taker in(torch_dict, "mha_from_torch: not an nn.MultiheadAttention state dict");
  StateDict out;
  mha_in(in, "", out, "");
  in.finish();
  return out;
}

StateDict mha_to_torch(const StateDict& ours) {
  Taker in(ours, "mha_to_torch: not a MultiHeadAttention state dict");
  StateDict out;
  mha_out(in, "", out, "");
  in.finish();
  return out;
}

StateDict block_from_torch(const StateDict& torch_dict) {
  Taker in(torch_dict, "block_from_torch: not an nn.TransformerEncoderLayer state dict");
  StateDict out;
  mha_in(in, "self_attn.", out, "attention.");
  move(in, "linear1", out, "feed_forward.linear1");
  move(in, "linear2", out, "feed_forward.linear2");
  move(in, "norm1", out, "norm1");
  move(in, "norm2", out, "norm2");
  in.finish();
  return out;
}

StateDict block_to_torch(const StateDict& ours) {
  Taker in(ours, "block_to_torch: not a TransformerBlock state dict");
  StateDict out;
  mha_out(in, "attention.", out, "self_attn.");
  move(in, "feed_forward.linear1", out, "linear1");
  move(in, "feed_forward.linear2", out, "linear2");
  move(in, "norm1", out, "norm1");
  move(in, "norm2", out, "norm2");
  in.finish();
  return out;
}

StateDict mha_from_any(const StateDict& dict) { return dict.count("in_proj_weight") ? mha_from_torch(dict) : dict; }

StateDict block_from_any(const StateDict& dict) {
  return dict.count("self_attn.in_proj_weight") ? block_from_torch(dict) : dict;
}

Tensor mask_from_torch(const Tensor& blocked) { return 1.0f - blocked; }
Tensor mask_to_torch(const Tensor& allowed) { return 1.0f - allowed; }

}  // namespace lj::io
