// llm-journey generate (--checkpoint C | --model DIR) --prompt P: samples text from a GPT, streaming
// it as it is made. The model runs as an nn::Decoder: weights in float32, bf16 or int8 (--dtype),
// the prompt in one pass, then one token at a time with the KV cache.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "llm_journey/data/utf8_stream.hpp"
#include "llm_journey/nn/decoder.hpp"
#include "llm_journey/nn/gpt_import.hpp"
#include "llm_journey/train.hpp"

namespace lj::cli {

namespace {
struct GenerateArgs {
  std::string checkpoint, model, prompt = "\n", dtype = "fp32";
  int64_t max_new_tokens = 500, top_k = 200;
  double temperature = 0.8;
  uint64_t seed = 1337;
  bool no_cache = false;
};

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void write(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

int run_generate(const GenerateArgs& a) {
  LJ_CHECK(a.checkpoint.empty() != a.model.empty(),
           "generate: give either --checkpoint (a checkpoint written by train) or --model (a Hugging Face GPT-2 "
           "directory), not ", a.checkpoint.empty() ? "neither" : "both");
  LJ_CHECK(std::isfinite(a.temperature) && a.temperature >= 0, "generate: --temperature ", a.temperature,
           " must be a finite number >= 0");
  LJ_CHECK(a.max_new_tokens >= 0, "generate: --max-new-tokens ", a.max_new_tokens, " must be non-negative");
  LJ_CHECK(a.top_k >= 0, "generate: --top-k ", a.top_k, " must be non-negative (0 keeps every token)");
  nn::DecoderOptions options;
  options.format = nn::parse_weight_format(a.dtype);
  std::unique_ptr<nn::GPT> gpt;
  std::unique_ptr<data::Tokenizer> tokenizer;
  if (!a.model.empty()) {
    nn::HFGPT2 hf = nn::load_hf_gpt2_dir(a.model);
    gpt = std::move(hf.model);
    tokenizer = std::move(hf.tokenizer);
    options.gelu_tanh = hf.gelu_tanh;
    options.layer_norm_eps = hf.layer_norm_eps;
  } else {
    train::LoadedModel m = train::load_checkpoint(a.checkpoint);
    gpt = std::move(m.model);
    tokenizer = std::move(m.tokenizer);
  }
  nn::Decoder decoder(*gpt, options);
  gpt.reset();  // the decoder holds its own (converted) copy of the weights
  const int64_t block = decoder.config().block_size;
  // Sample only among tokens the tokenizer can spell (a padded embedding has more rows).
  const int64_t V = std::min(decoder.config().vocab_size, tokenizer->vocab_size());

  std::vector<int64_t> ids = tokenizer->encode(a.prompt);
  LJ_CHECK(!ids.empty(), "generate: the prompt is empty; give at least one character (the default is a newline)");
  if (static_cast<int64_t>(ids.size()) > block)
    std::fprintf(stderr, "generate: the prompt has %zu tokens; the model sees the last %lld (block_size)\n", ids.size(),
                 static_cast<long long>(block));
  Generator gen(a.seed);
  const nn::SampleOptions so{.temperature = a.temperature, .top_k = a.top_k, .use_cache = !a.no_cache};
  data::Utf8Stream stream;  // the prompt too: it may end inside a character that the first token completes
  write(stream.push(a.prompt));
  std::vector<int64_t> all = ids;
  const double t0 = now();
  const float* logits = decoder.append(ids);  // the prompt in one pass
  const double t1 = now();
  for (int64_t i = 0; i < a.max_new_tokens; i++) {
    const int64_t next = nn::sample_token(logits, V, so, gen);
    all.push_back(next);
    write(stream.push(tokenizer->decode({next})));
    if (i + 1 == a.max_new_tokens) break;
    if (!a.no_cache) {
      logits = decoder.append({next});
    } else {  // recompute the last block_size tokens from scratch
      decoder.reset();
      logits = decoder.append(std::vector<int64_t>(all.end() - std::min<int64_t>(block, static_cast<int64_t>(all.size())), all.end()));
    }
  }
  write(stream.finish() + "\n");
  const double t2 = now();
  const double prompt_tokens = static_cast<double>(std::min<int64_t>(block, static_cast<int64_t>(ids.size())));
  std::fprintf(stderr, "prompt: %.0f tokens in %.3f s (%.1f tokens/s); generated: %lld tokens in %.3f s (%.1f tokens/s); "
               "%s weights, %.1f MB\n", prompt_tokens, t1 - t0, prompt_tokens / (t1 - t0),
               static_cast<long long>(a.max_new_tokens), t2 - t1,
               a.max_new_tokens > 0 ? static_cast<double>(a.max_new_tokens) / (t2 - t1) : 0.0, a.dtype.c_str(),
               static_cast<double>(decoder.weight_bytes()) / 1e6);
  return 0;
}
}  // namespace

Command add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Sample text from a GPT (a checkpoint, or a Hugging Face GPT-2), streamed");
  auto a = std::make_shared<GenerateArgs>();
  cmd->add_option("--checkpoint", a->checkpoint, "A checkpoint.safetensors written by train");
  cmd->add_option("--model", a->model,
                  "A Hugging Face GPT-2 directory (model.safetensors, config.json, vocab.json, merges.txt)");
  cmd->add_option("--dtype", a->dtype, "Weights as fp32, bf16 or int8 (8-bit, one scale per 32 weights)")
      ->capture_default_str();
  cmd->add_option("--prompt", a->prompt, "The text to continue")->capture_default_str();
  cmd->add_option("--max-new-tokens", a->max_new_tokens, "Tokens to add")->capture_default_str();
  cmd->add_option("--temperature", a->temperature, "Softmax temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--top-k", a->top_k, "Sample among the k most likely tokens (0: all)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the sampler")->capture_default_str();
  cmd->add_flag("--no-cache", a->no_cache, "Recompute the whole context at every step");
  return {cmd, [a] { return run_generate(*a); }};
}

}  // namespace lj::cli
