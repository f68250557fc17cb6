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

#include "llm_journey/nn/gpt.hpp"

namespace lj::nn {

// The model in a Hugging Face GPT-2 safetensors file. The config comes from the shapes (vocab_size,
// block_size, n_embd, n_layer; bias on); the head count is not in the file: n_head = 0 means
// n_embd / 64, GPT-2's head size (12 for the 124M model).
std::unique_ptr<GPT> load_hf_gpt2(const std::string& path, int64_t n_head = 0);

}  // namespace lj::nn
