// GPT weights from elsewhere: Hugging Face's GPT-2 model.safetensors.
//
// Hugging Face stores GPT-2's projections as Conv1D weights, (in, out): each is transposed into our
// Linear's (out, in). Its c_attn is the fused [q k v] projection, columns in that order, so after the
// transpose it is exactly our c_attn (3C x C, q then k then v) — the split into heads happens in the
// attention's view, as in nanoGPT. Names lack nanoGPT's "transformer." prefix (some files have it);
// the causal-mask buffers (".attn.bias", ".attn.masked_bias") are skipped; lm_head is wte (tied).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "llm_journey/data/tokenizer.hpp"
#include "llm_journey/nn/gpt.hpp"

namespace lj::nn {

// The model in a Hugging Face GPT-2 safetensors file. The config comes from the shapes (vocab_size,
// block_size, n_embd, n_layer; bias on); the head count is not in the file: n_head = 0 means
// n_embd / 64, GPT-2's head size (12 for the 124M model).
std::unique_ptr<GPT> load_hf_gpt2(const std::string& path, int64_t n_head = 0);

// A Hugging Face GPT-2 directory: model.safetensors, config.json, vocab.json and merges.txt (any of
// the GPT-2 sizes). config.json gives n_head, the activation ("gelu_new", GPT-2's, is GELU's tanh
// approximation; "gelu" the exact one) and layer_norm_epsilon; its sizes must agree with the
// tensors' shapes (an error names both values otherwise). The tokenizer's vocabulary may be smaller
// than the model's (a padded embedding), never larger.
struct HFGPT2 {
  std::unique_ptr<GPT> model;
  std::unique_ptr<data::BpeTokenizer> tokenizer;
  bool gelu_tanh = true;
  float layer_norm_eps = 1e-5f;
};
HFGPT2 load_hf_gpt2_dir(const std::string& dir);

}  // namespace lj::nn
