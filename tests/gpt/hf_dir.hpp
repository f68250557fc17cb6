// A small GPT-2 in Hugging Face's layout, made by the tests themselves: random weights (with
// non-trivial layer norms and biases) written as model.safetensors with Conv1D (in, out) weights and
// HF's names, a config.json, and a BPE trained by our own trainer written as vocab.json/merges.txt.
#pragma once
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "llm_journey/autograd.hpp"
#include "llm_journey/data/dataset.hpp"
#include "llm_journey/data/unicode.hpp"
#include "llm_journey/io.hpp"
#include "llm_journey/nn/gpt.hpp"
#include "llm_journey/random.hpp"

namespace lj::test {

inline std::string temp_dir(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / ("lj_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

// vocab.json and merges.txt for a tokenizer whose ids are bytes then merges (our trainer's).
inline void write_gpt2_tokenizer(const std::string& dir, const data::BpeTokenizer& tok) {
  const std::vector<char32_t> alphabet = data::gpt2_bytes_to_unicode();
  auto spell = [&](int64_t id) {
    std::string s;
    for (unsigned char b : tok.token_bytes(id)) data::append_utf8(s, alphabet[b]);
    return s;
  };
  nlohmann::json vocab = nlohmann::json::object();
  for (int64_t id = 0; id < tok.vocab_size(); id++) vocab[spell(id)] = id;
  if (static_cast<int64_t>(vocab.size()) != tok.vocab_size())
    throw std::runtime_error("two tokens spell the same bytes: not expressible as vocab.json");
  write_text(dir + "/vocab.json", vocab.dump());
  std::string merges = "#version: 0.2\n";
  for (const auto& m : tok.merges()) merges += spell(m.left) + " " + spell(m.right) + "\n";
  write_text(dir + "/merges.txt", merges);
}

struct HFDir {
  std::string dir;
  nn::GPTConfig config;
};

// A GPT-2 of the given shape over a BPE of `bpe_vocab` tokens trained on `corpus`.
inline HFDir make_hf_gpt2_dir(const std::string& name, const std::string& corpus, int64_t bpe_vocab,
                              nn::GPTConfig c, uint64_t seed) {
  HFDir r;
  r.dir = temp_dir(name);
  const data::BpeTokenizer tok = data::BpeTokenizer::train(corpus, bpe_vocab);
  write_gpt2_tokenizer(r.dir, tok);
  c.vocab_size = tok.vocab_size();
  c.bias = true;
  c.dropout = 0.0;
  r.config = c;
  set_seed(seed);
  nn::GPT m(c);
  NoGradGuard no_grad;
  io::TensorMap t;
  for (auto& [name_, p] : m.named_parameters()) {
    if (name_ == "lm_head.weight") continue;
    std::string key = name_.substr(std::string("transformer.").size());
    Tensor v = p;
    if (key.find("ln") != std::string::npos || (key.size() > 4 && key.compare(key.size() - 4, 4, "bias") == 0))
      v = p + randn(p.shape()) * 0.1f;  // layer norms and biases away from 1 and 0
    else
      v = p * 5.0f;  // N(0, 0.1) rather than nanoGPT's N(0, 0.02): activations of order 1, where the GELU
                     // variants differ (with small weights the exact and tanh GELU give the same logits)
    if (v.dim() == 2 && key.rfind("h.", 0) == 0) v = v.transpose(0, 1).contiguous();  // Conv1D: (in, out)
    t[key] = v.contiguous();
  }
  Tensor mask = Tensor::zeros({1, 1, c.block_size, c.block_size});  // the causal buffer HF files carry
  for (int64_t i = 0; i < c.block_size; i++)
    for (int64_t j = 0; j <= i; j++) mask.mutable_data()[i * c.block_size + j] = 1;
  t["h.0.attn.bias"] = mask;
  io::save_safetensors(r.dir + "/model.safetensors", t, {{"format", "pt"}});
  nlohmann::json cfg = {{"model_type", "gpt2"}, {"n_embd", c.n_embd}, {"n_head", c.n_head},
                        {"n_layer", c.n_layer}, {"n_positions", c.block_size}, {"n_ctx", c.block_size},
                        {"vocab_size", c.vocab_size}, {"layer_norm_epsilon", 1e-5},
                        {"activation_function", "gelu_new"}};
  write_text(r.dir + "/config.json", cfg.dump(2));
  return r;
}

}  // namespace lj::test
