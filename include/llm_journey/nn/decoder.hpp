// Decoder: a GPT prepared for generation, with its weight matrices kept in one of three formats
// (float32, bfloat16, 8-bit) and read directly by the products: no float32 copy of a compressed
// model is ever made.
//
// The maths is GPT's (gpt.hpp), one batch row:
//   x = wte[idx] + wpe[pos];   for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
//   logits = ln_f(x) wte^T      (lm_head is wte: one packed matrix serves both)
//
// Decoding one token reads every weight once, so its speed is bounded by memory bandwidth: about
// 500 MB per token for GPT-2 124M in float32, 250 MB in bf16, 140 MB in int8. A token's products
// are matrix-vector products over the packed weights (src/ops/matvec*.cpp, AVX-512 / AVX2 / plain,
// chosen at run time). A prompt goes through in one pass: its products are matrix products (GEMM),
// over float32 panels of a few rows of each packed matrix at a time.
//
// Context longer than block_size: the keys and values of GPT-2 depend on absolute positions, so a
// window cannot simply rotate. When a new token would overflow, the context is cut to its last
// ceil(block_size / 2) tokens and recomputed in one pass; it then grows token by token again. That
// costs one prefill per block_size / 2 tokens instead of one window per token; each token then sees
// between block_size / 2 and block_size tokens of context (nanoGPT's generate always sees
// block_size, recomputing the window at every step).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "llm_journey/nn/gpt.hpp"

namespace lj::nn {

enum class WeightFormat { f32, bf16, int8 };
// "fp32", "bf16" or "int8"; anything else is an error naming it.
WeightFormat parse_weight_format(const std::string& name);
const char* weight_format_name(WeightFormat f);

// A weight matrix W (rows = out, cols = in), as Linear stores it, packed in one format:
//   f32   as is;   bf16  rounded to nearest even;   int8  one float32 scale per block of 32 along a
//   row, d = max|w| / 127, q = round_half_even(w / d) (llama.cpp's Q8_0; see src/ops/matvec.hpp).
class PackedMatrix {
 public:
  PackedMatrix() = default;
  PackedMatrix(const float* w, int64_t rows, int64_t cols, WeightFormat format);

  // y (M, rows) = x (M, cols) W^T + bias (or null); with accumulate, y += that instead.
  void matmul(float* y, const float* x, int64_t M, const float* bias, bool accumulate) const;
  // Row r of W, as float32 (an embedding lookup), into out (cols).
  void row(int64_t r, float* out) const;
  // Rows [r0, r1) as float32, into out (r1 - r0, cols).
  void rows_f32(int64_t r0, int64_t r1, float* out) const;

  int64_t rows = 0, cols = 0;
  WeightFormat format = WeightFormat::f32;
  size_t bytes() const;  // what one pass over the matrix reads

 private:
  std::vector<float> f32_;
  std::vector<uint16_t> bf16_;
  std::vector<int8_t> q_;
  std::vector<float> scales_;  // (rows, ceil(cols / 32))
};

struct DecoderOptions {
  WeightFormat format = WeightFormat::f32;
  bool gelu_tanh = false;       // GPT-2's "gelu_new"; nanoGPT (and our checkpoints) use the exact GELU
  float layer_norm_eps = 1e-5f;
};

class Decoder {
 public:
  // Copies (and converts) the model's weights: the GPT may be freed afterwards.
  Decoder(const GPT& model, const DecoderOptions& options);

  // Appends tokens to the context and returns the logits that follow (vocab_size floats, valid until
  // the next call). Sliding past block_size as described above; at most the last block_size tokens
  // of a long input are kept (as nanoGPT crops the prompt).
  const float* append(const std::vector<int64_t>& tokens);
  // The logits of every position of tokens (T <= block_size), from an empty context: (T, vocab_size).
  // Leaves the context holding tokens.
  Tensor logits(const std::vector<int64_t>& tokens);
  void reset();
  // The mean cross-entropy of predicting tokens[s + 1 .. s + block_size] from tokens[s .. s + block_size)
  // over windows starting every block_size tokens, the last incomplete one dropped (as
  // train::evaluate), in double. Returns the loss and the number of tokens scored.
  std::pair<double, int64_t> mean_loss(const std::vector<int64_t>& tokens);

  const std::vector<int64_t>& context() const { return context_; }  // the tokens in the cache
  int64_t recomputes() const { return recomputes_; }  // how many times the context was cut
  const GPTConfig& config() const { return config_; }
  const DecoderOptions& options() const { return options_; }
  size_t weight_bytes() const;  // bytes of weights read per decoded token
  size_t cache_bytes() const;   // the KV cache's size

 private:
  struct Layer {
    Tensor ln_1_w, ln_1_b, ln_2_w, ln_2_b;
    PackedMatrix c_attn, attn_proj, c_fc, mlp_proj;
    std::vector<float> c_attn_b, attn_proj_b, c_fc_b, mlp_proj_b;  // empty without biases
    Tensor k, v;  // the cache: (1, H, block_size, head_dim)
  };
  // Runs tokens at positions [start, start + T) with the cache holding [0, start); returns ln_f(x) (T, C).
  Tensor forward(const std::vector<int64_t>& tokens, int64_t start);

  GPTConfig config_;
  DecoderOptions options_;
  PackedMatrix wte_;  // (vocab, C): the embedding and the output projection
  Tensor wpe_, ln_f_w_, ln_f_b_;
  std::vector<Layer> layers_;
  std::vector<int64_t> context_;
  std::vector<float> next_logits_;
  int64_t recomputes_ = 0;
};

}  // namespace lj::nn
