// Hugging Face GPT-2 safetensors -> nn::GPT (the layout rules are in gpt_import.hpp).
#include "llm_journey/nn/gpt_import.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "llm_journey/data/dataset.hpp"
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

// --- a Hugging Face GPT-2 directory --------------------------------------------------------------

HFGPT2 load_hf_gpt2_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  LJ_CHECK(fs::is_directory(dir), "--model ", dir, " is not a directory (expected a Hugging Face GPT-2 directory with "
                                  "model.safetensors, config.json, vocab.json, merges.txt)");
  for (const char* f : {"model.safetensors", "config.json", "vocab.json", "merges.txt"})
    LJ_CHECK(fs::is_regular_file(fs::path(dir) / f), "--model ", dir, " has no ", f,
             " (a Hugging Face GPT-2 directory holds model.safetensors, config.json, vocab.json, merges.txt)");
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const std::string text = data::read_text_file(config_path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(config_path + " is not valid JSON: " + e.what());
  }
  LJ_CHECK(j.is_object(), config_path, " should hold a JSON object");
  auto get_int = [&](const char* key, int64_t fallback) -> int64_t {
    if (!j.contains(key)) {
      LJ_CHECK(fallback >= 0, config_path, " has no '", key, "'");
      return fallback;
    }
    LJ_CHECK(j[key].is_number_integer() && j[key].get<int64_t>() > 0, config_path, ": '", key, "' = ", j[key].dump(),
             " should be a positive integer");
    return j[key].get<int64_t>();
  };
  if (j.contains("model_type"))
    LJ_CHECK(j["model_type"] == "gpt2", config_path, ": model_type ", j["model_type"].dump(), " is not \"gpt2\"");
  for (const char* key : {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"})
    if (j.contains(key))
      LJ_CHECK(j[key] == false, config_path, ": '", key, "' = ", j[key].dump(), " is not supported (GPT-2 has false)");
  if (j.contains("scale_attn_weights"))
    LJ_CHECK(j["scale_attn_weights"] == true, config_path, ": 'scale_attn_weights' = ", j["scale_attn_weights"].dump(),
             " is not supported (GPT-2 has true)");
  const int64_t n_head = get_int("n_head", -1), n_layer = get_int("n_layer", -1), n_embd = get_int("n_embd", -1);
  const int64_t vocab = get_int("vocab_size", -1);
  const int64_t positions = j.contains("n_positions") ? get_int("n_positions", -1) : get_int("n_ctx", -1);
  HFGPT2 r;
  std::string act = "gelu_new";  // GPT-2's
  if (j.contains("activation_function"))
    act = j["activation_function"].is_string() ? j["activation_function"].get<std::string>() : j["activation_function"].dump();
  if (act == "gelu_new" || act == "gelu_pytorch_tanh") r.gelu_tanh = true;
  else if (act == "gelu") r.gelu_tanh = false;
  else throw Error(config_path + ": activation_function '" + act + "' is not supported (gelu_new, gelu_pytorch_tanh or gelu)");
  if (j.contains("layer_norm_epsilon")) {
    LJ_CHECK(j["layer_norm_epsilon"].is_number() && j["layer_norm_epsilon"].get<double>() > 0 &&
                 j["layer_norm_epsilon"].get<double>() < 1,
             config_path, ": layer_norm_epsilon = ", j["layer_norm_epsilon"].dump(), " should be a number in (0, 1)");
    r.layer_norm_eps = j["layer_norm_epsilon"].get<float>();
  }
  LJ_CHECK(n_embd % n_head == 0, config_path, ": n_embd=", n_embd, " is not divisible by n_head=", n_head);
  const std::string weights = (fs::path(dir) / "model.safetensors").string();
  r.model = load_hf_gpt2(weights, n_head);
  const GPTConfig& c = r.model->config;
  auto agree = [&](const char* key, int64_t in_config, int64_t in_weights) {
    LJ_CHECK(in_config == in_weights, config_path, " says ", key, "=", in_config, " but ", weights, " has ", in_weights);
  };
  agree("n_layer", n_layer, c.n_layer);
  agree("n_embd", n_embd, c.n_embd);
  agree("vocab_size", vocab, c.vocab_size);
  agree("n_positions", positions, c.block_size);
  r.tokenizer = std::make_unique<data::BpeTokenizer>(data::BpeTokenizer::from_gpt2_files(
      (fs::path(dir) / "vocab.json").string(), (fs::path(dir) / "merges.txt").string()));
  LJ_CHECK(r.tokenizer->vocab_size() <= c.vocab_size, dir, ": vocab.json has ", r.tokenizer->vocab_size(),
           " tokens, more than the model's vocab_size=", c.vocab_size);
  return r;
}

}  // namespace lj::nn
