// llm-journey generate --checkpoint C --prompt P: samples text from a trained GPT with a KV cache.
#include <cstdio>

#include "commands.hpp"
#include "llm_journey/ops_lm.hpp"
#include "llm_journey/train.hpp"

namespace lj::cli {

namespace {
struct GenerateArgs {
  std::string checkpoint, prompt = "\n";
  int64_t max_new_tokens = 500, top_k = 200;
  double temperature = 0.8;
  uint64_t seed = 1337;
  bool no_cache = false;
};

int run_generate(const GenerateArgs& a) {
  train::LoadedModel m = train::load_checkpoint(a.checkpoint);
  std::vector<int64_t> ids = m.tokenizer->encode(a.prompt);
  LJ_CHECK(!ids.empty(), "generate: the prompt is empty; give at least one character (the default is a newline)");
  Tensor prompt = ids_to_tensor(ids, {1, static_cast<int64_t>(ids.size())});
  Generator gen(a.seed);
  nn::SampleOptions o{.temperature = a.temperature, .top_k = a.top_k, .use_cache = !a.no_cache};
  Tensor out = nn::generate(*m.model, prompt, a.max_new_tokens, o, gen);
  std::vector<int64_t> all = tensor_to_ids(out);
  std::fwrite(a.prompt.data(), 1, a.prompt.size(), stdout);
  const std::string text = m.tokenizer->decode(std::vector<int64_t>(all.begin() + static_cast<long>(ids.size()), all.end()));
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::printf("\n");
  return 0;
}
}  // namespace

Command add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Sample text from a trained GPT checkpoint (with a KV cache)");
  auto a = std::make_shared<GenerateArgs>();
  cmd->add_option("--checkpoint", a->checkpoint, "A checkpoint.safetensors written by train")->required();
  cmd->add_option("--prompt", a->prompt, "The text to continue")->capture_default_str();
  cmd->add_option("--max-new-tokens", a->max_new_tokens, "Tokens to add")->capture_default_str();
  cmd->add_option("--temperature", a->temperature, "Softmax temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--top-k", a->top_k, "Sample among the k most likely tokens (0: all)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the sampler")->capture_default_str();
  cmd->add_flag("--no-cache", a->no_cache, "Recompute the whole context at every step");
  return {cmd, [a] { return run_generate(*a); }};
}

}  // namespace lj::cli
