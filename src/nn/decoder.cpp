// Decoder: generation over packed weights, with a KV cache that slides past block_size (decoder.hpp).
#include "llm_journey/nn/decoder.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"

namespace lj::nn {

static Tensor copy_of(const Tensor& t) {
  return t.defined() ? Tensor::from_vector(t.to_vector(), t.shape()) : Tensor();
}
static std::vector<float> bias_of(const Linear& lin) { return lin.bias.defined() ? lin.bias.to_vector() : std::vector<float>(); }
static const float* ptr(const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); }
static PackedMatrix pack(const Linear& lin, WeightFormat f) {
  const std::vector<float> w = lin.weight.to_vector();  // (out, in)
  return PackedMatrix(w.data(), lin.weight.size(0), lin.weight.size(1), f);
}

Decoder::Decoder(const GPT& model, const DecoderOptions& options) : config_(model.config), options_(options) {
  config_.check();
  const int64_t V = config_.vocab_size, C = config_.n_embd, H = config_.n_head, hd = C / H;
  {
    const std::vector<float> wte = model.transformer.wte.weight.to_vector();
    wte_ = PackedMatrix(wte.data(), V, C, options.format);
  }
  wpe_ = copy_of(model.transformer.wpe.weight);
  ln_f_w_ = copy_of(model.transformer.ln_f.weight);
  ln_f_b_ = copy_of(model.transformer.ln_f.bias);
  for (int64_t i = 0; i < config_.n_layer; i++) {
    const GPTBlock& b = model.transformer.block(static_cast<size_t>(i));
    Layer l;
    l.ln_1_w = copy_of(b.ln_1.weight);
    l.ln_1_b = copy_of(b.ln_1.bias);
    l.ln_2_w = copy_of(b.ln_2.weight);
    l.ln_2_b = copy_of(b.ln_2.bias);
    l.c_attn = pack(b.attn.c_attn, options.format);
    l.attn_proj = pack(b.attn.c_proj, options.format);
    l.c_fc = pack(b.mlp.c_fc, options.format);
    l.mlp_proj = pack(b.mlp.c_proj, options.format);
    l.c_attn_b = bias_of(b.attn.c_attn);
    l.attn_proj_b = bias_of(b.attn.c_proj);
    l.c_fc_b = bias_of(b.mlp.c_fc);
    l.mlp_proj_b = bias_of(b.mlp.c_proj);
    l.k = Tensor::zeros({1, H, config_.block_size, hd});
    l.v = Tensor::zeros({1, H, config_.block_size, hd});
    layers_.push_back(std::move(l));
  }
}

size_t Decoder::weight_bytes() const {
  size_t n = wte_.bytes();
  for (const Layer& l : layers_) n += l.c_attn.bytes() + l.attn_proj.bytes() + l.c_fc.bytes() + l.mlp_proj.bytes();
  return n;
}

size_t Decoder::cache_bytes() const {
  size_t n = 0;
  for (const Layer& l : layers_) n += 2 * sizeof(float) * static_cast<size_t>(l.k.numel());
  return n;
}

void Decoder::reset() { context_.clear(); }

// x (1, T, H, hd) viewed as (1, H, T, hd), any strides with a contiguous last dimension, into
// cache (1, H, capacity, hd) at positions [start, start + T).
static void store(Tensor& cache, const Tensor& x, int64_t start) {
  const int64_t H = x.size(1), T = x.size(2), hd = x.size(3), cap = cache.size(2);
  const auto& st = x.strides();
  float* dst = cache.mutable_data();
  const float* src = x.data();
  for (int64_t h = 0; h < H; h++)
    for (int64_t t = 0; t < T; t++)
      std::memcpy(dst + (h * cap + start + t) * hd, src + h * st[1] + t * st[2], sizeof(float) * static_cast<size_t>(hd));
}

Tensor Decoder::forward(const std::vector<int64_t>& tokens, int64_t start) {
  NoGradGuard no_grad;
  const int64_t T = static_cast<int64_t>(tokens.size()), C = config_.n_embd, H = config_.n_head, hd = C / H;
  const int64_t V = config_.vocab_size;
  LJ_CHECK(T >= 1 && start >= 0 && start + T <= config_.block_size, "Decoder: positions [", start, ", ", start + T,
           ") do not fit block_size=", config_.block_size);
  const float eps = options_.layer_norm_eps;
  // x = wte[idx] + wpe[pos]
  Tensor x = Tensor::empty({1, T, C});
  {
    float* xp = x.mutable_data();
    const float* wpe = wpe_.data();
    for (int64_t t = 0; t < T; t++) {
      const int64_t id = tokens[static_cast<size_t>(t)];
      LJ_CHECK(id >= 0 && id < V, "Decoder: token id ", id, " at position ", t, " is outside the vocabulary [0, ", V, ")");
      wte_.row(id, xp + t * C);
      for (int64_t c = 0; c < C; c++) xp[t * C + c] += wpe[(start + t) * C + c];
    }
  }
  for (Layer& l : layers_) {
    // x = x + attn(ln_1(x))
    Tensor h = layer_norm(x, l.ln_1_w, l.ln_1_b, eps);
    Tensor qkv = Tensor::empty({1, T, 3, H, hd});
    l.c_attn.matmul(qkv.mutable_data(), h.data(), T, ptr(l.c_attn_b), false);
    store(l.k, qkv.select(2, 1).transpose(1, 2), start);
    store(l.v, qkv.select(2, 2).transpose(1, 2), start);
    AttentionResult r = scaled_dot_product_attention(qkv.select(2, 0).transpose(1, 2), l.k.slice(2, 0, start + T),
                                                     l.v.slice(2, 0, start + T), Tensor(), /*causal=*/true, 0.0,
                                                     /*training=*/false, /*causal_offset=*/start);
    Tensor y = r.output.transpose(1, 2).reshape({1, T, C}).contiguous();
    l.attn_proj.matmul(x.mutable_data(), y.data(), T, ptr(l.attn_proj_b), /*accumulate=*/true);
    // x = x + mlp(ln_2(x))
    h = layer_norm(x, l.ln_2_w, l.ln_2_b, eps);
    Tensor f = Tensor::empty({1, T, 4 * C});
    l.c_fc.matmul(f.mutable_data(), h.data(), T, ptr(l.c_fc_b), false);
    f = gelu(f, options_.gelu_tanh);
    l.mlp_proj.matmul(x.mutable_data(), f.data(), T, ptr(l.mlp_proj_b), /*accumulate=*/true);
  }
  return layer_norm(x, ln_f_w_, ln_f_b_, eps);
}

const float* Decoder::append(const std::vector<int64_t>& tokens) {
  LJ_CHECK(!tokens.empty(), "Decoder::append: no tokens");
  const int64_t W = config_.block_size, n = static_cast<int64_t>(tokens.size());
  const int64_t have = static_cast<int64_t>(context_.size());
  Tensor x;
  if (have + n <= W) {
    x = forward(tokens, have);
    context_.insert(context_.end(), tokens.begin(), tokens.end());
  } else {
    // Cut to the last ceil(W/2) tokens (or the last min(n, W) new ones, if more) and recompute.
    std::vector<int64_t> all = context_;
    all.insert(all.end(), tokens.begin(), tokens.end());
    const int64_t keep = std::min<int64_t>(static_cast<int64_t>(all.size()), std::max(W - W / 2, std::min(n, W)));
    std::vector<int64_t> window(all.end() - keep, all.end());
    context_.clear();
    x = forward(window, 0);
    context_ = std::move(window);
    recomputes_++;
  }
  const int64_t T = x.size(1), C = config_.n_embd;
  next_logits_.resize(static_cast<size_t>(config_.vocab_size));
  wte_.matmul(next_logits_.data(), x.data() + (T - 1) * C, 1, nullptr, false);
  return next_logits_.data();
}

Tensor Decoder::logits(const std::vector<int64_t>& tokens) {
  context_.clear();
  Tensor x = forward(tokens, 0);
  context_ = tokens;
  const int64_t T = static_cast<int64_t>(tokens.size());
  Tensor out = Tensor::empty({T, config_.vocab_size});
  wte_.matmul(out.mutable_data(), x.data(), T, nullptr, false);
  return out;
}

std::pair<double, int64_t> Decoder::mean_loss(const std::vector<int64_t>& tokens) {
  const int64_t T = config_.block_size, V = config_.vocab_size, n = static_cast<int64_t>(tokens.size());
  double sum = 0;
  int64_t count = 0;
  for (int64_t s = 0; s + T + 1 <= n; s += T) {
    Tensor l = logits(std::vector<int64_t>(tokens.begin() + s, tokens.begin() + s + T));
    const float* p = l.data();
    for (int64_t t = 0; t < T; t++) {  // -log softmax(logits)_target
      const float* row = p + t * V;
      const double m = *std::max_element(row, row + V);
      double z = 0;
      for (int64_t j = 0; j < V; j++) z += std::exp(static_cast<double>(row[j]) - m);
      const int64_t target = tokens[static_cast<size_t>(s + t + 1)];
      LJ_CHECK(target >= 0 && target < V, "Decoder::mean_loss: token id ", target, " outside [0, ", V, ")");
      sum += m + std::log(z) - row[target];
      count++;
    }
  }
  LJ_CHECK(count > 0, "Decoder::mean_loss: ", n, " tokens make no window of block_size=", T, " + 1");
  return {sum / static_cast<double>(count), count};
}

}  // namespace lj::nn
