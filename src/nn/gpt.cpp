// GPT (nanoGPT's model.py): the modules, their initialisation and the forward passes.
#include "llm_journey/nn/gpt.hpp"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llm_journey/autograd.hpp"
#include "llm_journey/nn/init.hpp"
#include "llm_journey/ops.hpp"
#include "llm_journey/ops_lm.hpp"

namespace lj::nn {

void GPTConfig::check() const {
  LJ_CHECK(block_size > 0, "GPTConfig: block_size=", block_size, " must be positive");
  LJ_CHECK(vocab_size > 0 && vocab_size < 16777216, "GPTConfig: vocab_size=", vocab_size,
           " must be in [1, 2^24) (ids travel as float32)");
  LJ_CHECK(n_layer > 0, "GPTConfig: n_layer=", n_layer, " must be positive");
  LJ_CHECK(n_head > 0 && n_embd > 0, "GPTConfig: n_head=", n_head, " and n_embd=", n_embd, " must be positive");
  LJ_CHECK(n_embd % n_head == 0, "GPTConfig: n_embd=", n_embd, " is not divisible by n_head=", n_head);
  LJ_CHECK(dropout >= 0.0 && dropout < 1.0, "GPTConfig: dropout=", dropout, " must be in [0, 1)");
  LJ_CHECK(d_ff >= 0, "GPTConfig: d_ff=", d_ff, " must be positive, or 0 for 4 n_embd");
}

std::string GPTConfig::to_json() const {
  nlohmann::json j = {{"block_size", block_size}, {"vocab_size", vocab_size}, {"n_layer", n_layer},
                      {"n_head", n_head},         {"n_embd", n_embd},         {"dropout", dropout},
                      {"bias", bias}};
  if (d_ff > 0) j["d_ff"] = d_ff;  // written only when not nanoGPT's 4 n_embd
  return j.dump();
}

GPTConfig GPTConfig::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(std::string("GPTConfig: the model config is not valid JSON: ") + e.what());
  }
  LJ_CHECK(j.is_object(), "GPTConfig: the model config should be a JSON object, got: ", text);
  GPTConfig c;
  auto get_int = [&](const char* k, int64_t& dst) {
    LJ_CHECK(j.contains(k) && j[k].is_number_integer(), "GPTConfig: '", k, "' is missing or not an integer in ", text);
    dst = j[k].get<int64_t>();
  };
  get_int("block_size", c.block_size);
  get_int("vocab_size", c.vocab_size);
  get_int("n_layer", c.n_layer);
  get_int("n_head", c.n_head);
  get_int("n_embd", c.n_embd);
  if (j.contains("dropout")) {
    LJ_CHECK(j["dropout"].is_number(), "GPTConfig: 'dropout' is not a number in ", text);
    c.dropout = j["dropout"].get<double>();
  }
  if (j.contains("d_ff")) get_int("d_ff", c.d_ff);
  if (j.contains("bias")) {
    LJ_CHECK(j["bias"].is_boolean(), "GPTConfig: 'bias' is not true or false in ", text);
    c.bias = j["bias"].get<bool>();
  }
  c.check();
  return c;
}

static const GPTConfig& checked(const GPTConfig& c) {
  c.check();
  return c;
}

// --- attention -------------------------------------------------------------------------------------

CausalSelfAttention::CausalSelfAttention(const GPTConfig& c)
    : n_head(c.n_head),
      n_embd(c.n_embd),
      dropout(c.dropout),
      c_attn(c.n_embd, 3 * c.n_embd, c.bias),
      c_proj(c.n_embd, c.n_embd, c.bias),
      resid_dropout(c.dropout) {}

// Copies x (B, H, T, hd), any strides with a contiguous last dimension, into cache (B, H, cap, hd) at
// position `start`.
static void append_to_cache(Tensor& cache, const Tensor& x, int64_t start) {
  const int64_t B = x.size(0), H = x.size(1), T = x.size(2), hd = x.size(3), cap = cache.size(2);
  LJ_CHECK(start + T <= cap, "KVCache: ", start, " cached + ", T, " new positions exceed its capacity ", cap);
  const auto& st = x.strides();
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t t = 0; t < T; t++)
        std::memcpy(cache.mutable_data() + ((b * H + h) * cap + start + t) * hd, x.data() + b * st[0] + h * st[1] + t * st[2],
                    sizeof(float) * static_cast<size_t>(hd));
}

// residual + drop(proj(y)); when the dropout is the identity (p = 0, or not training), the sum is
// taken inside the product (linear_add), as a block's residual connections are.
static Tensor project_add(Linear& proj, Dropout& drop, const Tensor& y, const Tensor& residual) {
  if (!residual.defined()) return drop(proj(y));
  if (drop.p == 0.0 || !drop.is_training()) return proj.forward_add(y, residual);
  return residual + drop(proj(y));
}

Tensor CausalSelfAttention::forward(const Tensor& x, KVCache* cache, size_t layer, const Tensor& residual) {
  LJ_CHECK(x.dim() == 3 && x.size(2) == n_embd, "CausalSelfAttention: input shape ", x.shape(),
           " should be (batch, length, n_embd=", n_embd, ")");
  const int64_t B = x.size(0), T = x.size(1), hd = n_embd / n_head;
  // [Q K V] = c_attn(x): (B, T, 3C) viewed as (B, T, 3, H, hd); each third as (B, H, T, hd), a view.
  Tensor qkv = c_attn(x).view({B, T, 3, n_head, hd});
  AttentionResult r;
  int64_t S = T;  // the keys
  if (!cache) {
    // Attention over the packed projections: the same as over the three views below, but the
    // backward pass writes dQ, dK and dV straight into c_attn's output gradient.
    r = scaled_dot_product_attention_packed(qkv, /*causal=*/true, dropout, is_training(), default_generator(),
                                            need_weights);
  } else {
    Tensor q = qkv.select(2, 0).transpose(1, 2);
    Tensor k = qkv.select(2, 1).transpose(1, 2);
    Tensor v = qkv.select(2, 2).transpose(1, 2);
    const int64_t start = cache->length;
    append_to_cache(cache->k[layer], k, start);
    append_to_cache(cache->v[layer], v, start);
    k = cache->k[layer].slice(2, 0, start + T);
    v = cache->v[layer].slice(2, 0, start + T);
    // the new queries are the last T of start + T positions
    S = start + T;
    r = need_weights ? scaled_dot_product_attention_with_weights(q, k, v, Tensor(), /*causal=*/true, dropout,
                                                                 is_training(), start)
                     : scaled_dot_product_attention(q, k, v, Tensor(), /*causal=*/true, dropout, is_training(), start);
  }
  attention_weights_ = r.weights.defined() ? r.weights.detach() : Tensor();
  last_scores_ = {B, n_head, T, S};
  // (B, H, T, hd) -> (B, T, H, hd) -> (B, T, C): the output is stored as (B, T, H, hd), so this is free.
  return project_add(c_proj, resid_dropout, r.output.transpose(1, 2).reshape({B, T, n_embd}), residual);
}

const Tensor& CausalSelfAttention::attention_weights() const {
  LJ_CHECK(attention_weights_.defined(), "CausalSelfAttention: no attention weights were kept by the last forward ",
           "(scores ", last_scores_, " ran flash attention, which stores none); set need_weights = true before the ",
           "forward to have them (B*H*T*S floats)");
  return attention_weights_;
}

std::string CausalSelfAttention::extra_repr() const {
  std::ostringstream os;
  os << "n_head=" << n_head << ", n_embd=" << n_embd << ", dropout=" << dropout;
  return os.str();
}

void CausalSelfAttention::visit(Visitor& v) {
  v.child("c_attn", c_attn);
  v.child("c_proj", c_proj);
  v.child("resid_dropout", resid_dropout);
}

// --- MLP and block ---------------------------------------------------------------------------------

MLP::MLP(const GPTConfig& c)
    : c_fc(c.n_embd, c.mlp_width(), c.bias), c_proj(c.mlp_width(), c.n_embd, c.bias), dropout(c.dropout) {}

Tensor MLP::forward(const Tensor& x) { return dropout(c_proj(gelu(c_fc(x)))); }

Tensor MLP::forward(const Tensor& x, const Tensor& residual) {
  return project_add(c_proj, dropout, gelu(c_fc(x)), residual);
}

void MLP::visit(Visitor& v) {
  v.child("c_fc", c_fc);
  v.child("c_proj", c_proj);
  v.child("dropout", dropout);
}

GPTBlock::GPTBlock(const GPTConfig& c)
    : ln_1(c.n_embd, 1e-5, c.bias), attn(c), ln_2(c.n_embd, 1e-5, c.bias), mlp(c) {}

Tensor GPTBlock::forward(const Tensor& x_in, KVCache* cache, size_t layer) {
  // x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)), each sum inside the projection's product
  Tensor x = attn.forward(ln_1(x_in), cache, layer, x_in);
  return mlp.forward(ln_2(x), x);
}

void GPTBlock::visit(Visitor& v) {
  v.child("ln_1", ln_1);
  v.child("attn", attn);
  v.child("ln_2", ln_2);
  v.child("mlp", mlp);
}

GPTTransformer::GPTTransformer(const GPTConfig& c)
    : wte(c.vocab_size, c.n_embd), wpe(c.block_size, c.n_embd), drop(c.dropout), ln_f(c.n_embd, 1e-5, c.bias) {
  // Blocks after the embeddings, as nanoGPT creates them (ln_f's creation draws nothing).
  for (int64_t i = 0; i < c.n_layer; i++) h.push_back(GPTBlock(c));
}

void GPTTransformer::visit(Visitor& v) {
  v.child("wte", wte);
  v.child("wpe", wpe);
  v.child("drop", drop);
  v.child("h", h);
  v.child("ln_f", ln_f);
}

// --- the model ---------------------------------------------------------------------------------------

GPT::GPT(const GPTConfig& c)
    : config(checked(c)), transformer(c), lm_head(c.n_embd, c.vocab_size, /*bias=*/false) {
  transformer.wte.weight = lm_head.weight;  // weight tying, as nanoGPT: the tensor is lm_head's
  // nanoGPT's _init_weights, applied in module order (the tied weight is drawn twice: as wte, then as
  // lm_head), then the scaled residual projections.
  for (auto& [name, m] : named_modules()) {
    if (auto* lin = dynamic_cast<Linear*>(m)) {
      init::normal_(lin->weight, 0.0, 0.02);
      if (lin->bias.defined()) init::zeros_(lin->bias);
    } else if (auto* emb = dynamic_cast<Embedding*>(m)) {
      init::normal_(emb->weight, 0.0, 0.02);
    }
  }
  const double proj_std = 0.02 / std::sqrt(2.0 * static_cast<double>(c.n_layer));
  for (auto& [name, p] : named_parameters())
    if (name.size() >= 13 && name.compare(name.size() - 13, 13, "c_proj.weight") == 0) init::normal_(p, 0.0, proj_std);
}

Tensor GPT::embed(const Tensor& idx, int64_t start) {
  LJ_CHECK(idx.dim() == 2, "GPT: idx should be (batch, length) token ids, got shape ", idx.shape());
  const int64_t T = idx.size(1);
  LJ_CHECK(T >= 1 && start + T <= config.block_size, "GPT: cannot run a sequence of length ", start + T,
           ": block_size is only ", config.block_size);
  Tensor pos = Tensor::empty({T});
  for (int64_t t = 0; t < T; t++) pos.mutable_data()[t] = static_cast<float>(start + t);
  return transformer.drop(transformer.wte(idx) + transformer.wpe(pos));
}

Tensor GPT::forward(const Tensor& idx) {
  Tensor x = embed(idx, 0);
  for (size_t i = 0; i < transformer.h.size(); i++) x = transformer.block(i).forward(x);
  return lm_head(transformer.ln_f(x));
}

Tensor GPT::loss(const Tensor& idx, const Tensor& targets) {
  LJ_CHECK(targets.shape() == idx.shape(), "GPT::loss: targets shape ", targets.shape(), " differs from idx shape ",
           idx.shape());
  return cross_entropy(forward(idx), targets);
}

KVCache GPT::make_cache(int64_t batch) const {
  LJ_CHECK(batch > 0, "GPT::make_cache: batch=", batch, " must be positive");
  KVCache c;
  c.capacity = config.block_size;
  const int64_t hd = config.n_embd / config.n_head;
  for (int64_t i = 0; i < config.n_layer; i++) {
    c.k.push_back(Tensor::zeros({batch, config.n_head, c.capacity, hd}));
    c.v.push_back(Tensor::zeros({batch, config.n_head, c.capacity, hd}));
  }
  return c;
}

Tensor GPT::forward_cached(const Tensor& idx, KVCache& cache) {
  NoGradGuard no_grad;
  LJ_CHECK(!cache.k.empty() && cache.k[0].size(0) == idx.size(0), "GPT::forward_cached: the cache was made for batch ",
           cache.k.empty() ? 0 : cache.k[0].size(0), ", idx has shape ", idx.shape());
  Tensor x = embed(idx, cache.length);
  for (size_t i = 0; i < transformer.h.size(); i++) x = transformer.block(i).forward(x, &cache, i);
  cache.length += idx.size(1);
  return lm_head(transformer.ln_f(x));
}

void GPT::visit(Visitor& v) {
  v.child("transformer", transformer);
  v.child("lm_head", lm_head);
}

}  // namespace lj::nn
