// Hugging Face GPT-2 safetensors -> nn::GPT (the layout rules are in gpt_import.hpp).
#include "llm_journey/nn/gpt_import.hpp"

#include "llm_journey/io.hpp"

namespace lj::nn {

std::unique_ptr<GPT> load_hf_gpt2(const std::string& path, int64_t n_head) {
  io::TensorMap raw = io::load_safetensors(path);
  io::TensorMap t;  // names without the "transformer." prefix
  for (auto& [name, tensor] : raw) t[name.rfind("transformer.", 0) == 0 ? name.substr(12) : name] = tensor;
  auto get = [&](const std::string& name) -> const Tensor& {
    auto it = t.find(name);
    LJ_CHECK(it != t.end(), "load_hf_gpt2: ", path, " has no tensor '", name, "' (nor 'transformer.", name,
             "'); is it a GPT-2 model.safetensors?");
    return it->second;
  };
  const Tensor& wte = get("wte.weight");
  const Tensor& wpe = get("wpe.weight");
  LJ_CHECK(wte.dim() == 2 && wpe.dim() == 2 && wte.size(1) == wpe.size(1), "load_hf_gpt2: ", path,
           ": wte ", wte.shape(), " and wpe ", wpe.shape(), " should be (vocab, n_embd) and (n_positions, n_embd)");
  GPTConfig c;
  c.vocab_size = wte.size(0);
  c.block_size = wpe.size(0);
  c.n_embd = wte.size(1);
  c.n_layer = 0;
  while (t.count("h." + std::to_string(c.n_layer) + ".ln_1.weight")) c.n_layer++;
  c.n_head = n_head > 0 ? n_head : c.n_embd / 64;
  c.bias = true;
  c.dropout = 0.0;
  c.check();
  auto model = std::make_unique<GPT>(c);
  for (auto& [name, p] : model->named_parameters()) {
    if (name == "lm_head.weight") continue;  // tied to wte
    const std::string key = name.rfind("transformer.", 0) == 0 ? name.substr(12) : name;
    Tensor src = get(key);
    const bool conv1d = p.dim() == 2 && key.rfind("h.", 0) == 0;  // c_attn, c_proj, c_fc: (in, out)
    if (conv1d) {
      LJ_CHECK(src.dim() == 2 && src.size(0) == p.size(1) && src.size(1) == p.size(0), "load_hf_gpt2: ", path, ": '",
               key, "' has shape ", src.shape(), ", expected the Conv1D shape [", p.size(1), ", ", p.size(0), "]");
      src = src.transpose(0, 1);
    }
    LJ_CHECK(src.shape() == p.shape(), "load_hf_gpt2: ", path, ": '", key, "' has shape ", src.shape(),
             ", the model expects ", p.shape());
    p.copy_(src);
  }
  model->eval();
  return model;
}

}  // namespace lj::nn
