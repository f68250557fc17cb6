// llm-journey eval --checkpoint C --data FILE: mean cross-entropy and perplexity over a whole file,
// in windows starting every block_size tokens (input [s, s+T), targets [s+1, s+T+1); the last
// incomplete window dropped). With --dtype, through nn::Decoder with its weights in that format (the
// same windows), to see what bf16 or int8 weights cost in perplexity.
#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "llm_journey/nn/decoder.hpp"
#include "llm_journey/train.hpp"
#include "llm_journey/utils.hpp"

namespace lj::cli {

Command add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Cross-entropy and perplexity of a checkpoint over a text file");
  auto checkpoint = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto batch = std::make_shared<int64_t>(32);
  auto dtype = std::make_shared<std::string>();
  cmd->add_option("--checkpoint", *checkpoint, "A checkpoint.safetensors written by train")->required();
  cmd->add_option("--data", *file, "The text to score (UTF-8)")->required();
  cmd->add_option("--batch-size", *batch, "Windows per forward pass")->capture_default_str()->check(kPositiveInt);
  cmd->add_option("--dtype", *dtype, "Score with the weights in fp32, bf16 or int8 (generation's decoder)");
  return {cmd, [checkpoint, file, batch, dtype] {
            train::LoadedModel m = train::load_checkpoint(*checkpoint);
            std::vector<int64_t> tokens = m.tokenizer->encode(data::read_text_file(*file));
            train::EvalResult r;
            if (dtype->empty()) {
              r = train::evaluate(*m.model, tokens, *batch);
            } else {
              nn::Decoder decoder(*m.model, {.format = nn::parse_weight_format(*dtype)});
              auto [loss, n] = decoder.mean_loss(tokens);
              const int64_t T = m.model->config.block_size;
              r = {loss, n / T, n};
            }
            std::fprintf(stderr, "%s tokens in %s windows of %lld\n", with_commas(r.tokens).c_str(),
                         with_commas(r.windows).c_str(), static_cast<long long>(m.model->config.block_size));
            // e^loss: a diverged model's e^470 in scientific notation, not 204 digits
            const double ppl = std::exp(r.loss);
            std::printf(ppl < 1e6 ? "loss %.4f perplexity %.2f\n" : "loss %.4f perplexity %.4e\n", r.loss, ppl);
            return 0;
          }};
}

}  // namespace lj::cli
