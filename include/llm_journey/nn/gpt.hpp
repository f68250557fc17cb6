// GPT: a decoder-only transformer language model, as nanoGPT's model.py writes it.
//
//   x = drop(wte(idx) + wpe(pos))                                   token + learned position embeddings
//   for each block:  x = x + attn(ln_1(x));   x = x + mlp(ln_2(x))   pre-norm, causal
//   logits = lm_head(ln_f(x))                                       lm_head.weight is wte.weight (tied)
//
//   attn(x) = resid_drop(c_proj(softmax(Q K^T / sqrt(d)) V)),  [Q K V] = c_attn(x) split in thirds
//   mlp(x)  = resid_drop(c_proj(GELU(c_fc(x))))                  c_fc: C -> 4C, c_proj: 4C -> C
//
// The parameter names are nanoGPT's (transformer.h.0.attn.c_attn.weight, ...), so that its
// checkpoints map one to one. Initialisation is nanoGPT's, from the same draws: every module is first
// built with PyTorch's default initialisation, in nanoGPT's order, then every Linear and Embedding
// weight is redrawn from N(0, 0.02) in module order (biases zeroed), and finally each residual
// projection (c_proj) from N(0, 0.02 / sqrt(2 n_layer)). After set_seed(s) the weights equal
// nanoGPT's after torch.manual_seed(s).
//
// We do not reuse MultiHeadAttention/TransformerBlock here: nanoGPT fuses Q, K and V into one c_attn
// projection (one matrix product instead of three), names its layers differently and needs K and V
// for the KV cache; the maths below is the same scaled_dot_product_attention, Linear and LayerNorm.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "llm_journey/nn/containers.hpp"
#include "llm_journey/nn/embedding.hpp"
#include "llm_journey/nn/layers.hpp"
#include "llm_journey/random.hpp"

namespace lj::nn {

struct GPTConfig {
  int64_t block_size = 256;  // the longest context
  int64_t vocab_size = 65;
  int64_t n_layer = 6;
  int64_t n_head = 6;
  int64_t n_embd = 384;
  double dropout = 0.0;
  bool bias = false;  // biases in the Linear layers and LayerNorms (GPT-2 has them; nanoGPT's default is off)
  int64_t d_ff = 0;   // the MLP's hidden width; 0: 4 n_embd, as in GPT-2 and nanoGPT
  int64_t mlp_width() const { return d_ff > 0 ? d_ff : 4 * n_embd; }

  void check() const;         // every value sensible, or an Error naming it
  std::string to_json() const;  // {"block_size": 256, ...}
  static GPTConfig from_json(const std::string& json);
};

// The keys and values of one layer, for generation: (B, H, capacity, head_dim), the first `length`
// positions filled.
struct KVCache {
  std::vector<Tensor> k, v;  // one per layer
  int64_t length = 0;
  int64_t capacity = 0;
};

class CausalSelfAttention : public Module {
 public:
  CausalSelfAttention(const GPTConfig& config);
  // x (B, T, C) -> (B, T, C). With a cache, x holds the T newest positions: their keys and values are
  // appended to the cache, and they attend to everything cached before them. Given a residual
  // (B, T, C), returns residual + the attention's output, the sum taken inside c_proj's product.
  Tensor forward(const Tensor& x, KVCache* cache = nullptr, size_t layer = 0, const Tensor& residual = Tensor());
  // The weights of the last forward, per head (B, H, T, S), before dropout, cut from the graph: the
  // rows are the queries, the columns the keys (S = T without a cache). Short sequences keep them for
  // free (their kernel's backward pass needs them); longer ones run flash attention, which stores
  // none: set need_weights before the forward to have them made (B x H x T x S floats more). Without
  // it this is an Error naming the shapes. Asking never changes the output.
  const Tensor& attention_weights() const;
  bool need_weights = false;
  std::string type_name() const override { return "CausalSelfAttention"; }
  std::string extra_repr() const override;
  void visit(Visitor& v) override;

  int64_t n_head, n_embd;
  double dropout;
  Linear c_attn, c_proj;
  Dropout resid_dropout;

 private:
  Tensor attention_weights_;
  Shape last_scores_;  // (B, H, T, S) of the last forward
};

class MLP : public UnaryModule {
 public:
  MLP(const GPTConfig& config);
  Tensor forward(const Tensor& x) override;
  // residual + forward(x), the sum taken inside c_proj's product
  Tensor forward(const Tensor& x, const Tensor& residual);
  std::string type_name() const override { return "MLP"; }
  void visit(Visitor& v) override;

  Linear c_fc, c_proj;
  Dropout dropout;
};

class GPTBlock : public Module {
 public:
  GPTBlock(const GPTConfig& config);
  Tensor forward(const Tensor& x, KVCache* cache = nullptr, size_t layer = 0);
  std::string type_name() const override { return "Block"; }
  void visit(Visitor& v) override;

  LayerNorm ln_1;
  CausalSelfAttention attn;
  LayerNorm ln_2;
  MLP mlp;
};

// nanoGPT's `transformer` ModuleDict.
class GPTTransformer : public Module {
 public:
  GPTTransformer(const GPTConfig& config);
  std::string type_name() const override { return "ModuleDict"; }
  void visit(Visitor& v) override;
  GPTBlock& block(size_t i) const { return h.get<GPTBlock>(i); }

  Embedding wte, wpe;
  Dropout drop;
  ModuleList h;
  LayerNorm ln_f;
};

class GPT : public Module {
 public:
  explicit GPT(const GPTConfig& config);

  // idx (B, T) token ids as floats, T <= block_size -> logits (B, T, vocab_size).
  Tensor forward(const Tensor& idx);
  Tensor operator()(const Tensor& idx) { return forward(idx); }
  // The mean cross-entropy of forward(idx) against targets (B, T) (ignore_index -100).
  Tensor loss(const Tensor& idx, const Tensor& targets);

  // Generation with a KV cache (no gradient): an empty cache for batch B and up to block_size
  // positions; forward_cached appends idx (B, T_new) at position cache.length and returns the logits
  // of the new positions (B, T_new, vocab_size).
  KVCache make_cache(int64_t batch) const;
  Tensor forward_cached(const Tensor& idx, KVCache& cache);

  std::string type_name() const override { return "GPT"; }
  void visit(Visitor& v) override;

  GPTConfig config;
  GPTTransformer transformer;
  Linear lm_head;  // its weight is transformer.wte.weight

 private:
  Tensor embed(const Tensor& idx, int64_t start);
};

// Sampling options for generate(): temperature scales the logits; top_k > 0 keeps only the k most
// likely tokens; every draw comes from `gen`, so a seed fixes the text.
struct SampleOptions {
  double temperature = 1.0;
  int64_t top_k = 0;
  bool use_cache = true;
};

// Appends max_new_tokens tokens to each row of prompt (B, T0) -> (B, T0 + max_new_tokens), as
// nanoGPT's generate: the context is cropped to the last block_size tokens. With the cache, a step
// costs one position; once the text outgrows block_size the positions shift, so each further step
// recomputes the cropped window (the results equal generation without the cache).
Tensor generate(GPT& model, const Tensor& prompt, int64_t max_new_tokens, const SampleOptions& options,
                Generator& gen);
// The sampling step alone: a token id drawn from softmax(logits / temperature) over the top k.
int64_t sample_token(const float* logits, int64_t V, const SampleOptions& options, Generator& gen);

}  // namespace lj::nn
