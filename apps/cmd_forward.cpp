// llm-journey forward: runs one attention layer or transformer block, in eval mode, on weights and an
// input from files — e.g. a layer trained in PyTorch — and writes the output (and the per-head
// attention weights) as .npy.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "llm_journey/io.hpp"
#include "llm_journey/nn/transformer.hpp"
#include "llm_journey/torch_names.hpp"

namespace lj::cli {

namespace {
struct ForwardOptions {
  std::string module, weights, input, output, attention_weights, attn_mask, activation = "relu";
  int64_t d_model = 0, heads = 0, d_ff = 0;
  bool norm_first = false, causal = false;
};

int run_forward(const ForwardOptions& o) {
  LJ_CHECK(o.module == "mha" || o.module == "block", "forward: --module '", o.module, "' is not one of: mha, block");
  nn::StateDict weights = io::load_safetensors(o.weights);
  Tensor x = io::load_npy(o.input);
  LJ_CHECK(x.dim() == 3 && x.size(2) == o.d_model, o.input, ": input shape ", x.shape(),
           " should be (batch, length, d_model=", o.d_model, ")");

  // PyTorch's bool attn_mask is True = blocked; ours is 1 = may attend.
  Tensor mask;
  if (!o.attn_mask.empty()) mask = io::mask_from_torch(io::load_npy(o.attn_mask));

  Tensor y, attn;
  if (o.module == "mha") {
    nn::MultiHeadAttention mha(o.d_model, o.heads, 0.0, o.causal);
    mha.eval();
    try {
      mha.load_state_dict(io::mha_from_any(weights));
    } catch (const Error& e) {
      throw Error(o.weights + ": " + e.what());
    }
    mha.need_weights = !o.attention_weights.empty();
    y = mha(x, x, x, mask);
    if (mha.need_weights) attn = mha.attention_weights();
  } else {
    const int64_t d_ff = o.d_ff > 0 ? o.d_ff : 4 * o.d_model;
    nn::BlockOptions bo;
    bo.norm_first = o.norm_first;
    bo.causal = o.causal;
    bo.activation = nn::activation_from_string(o.activation);
    nn::TransformerBlock block(o.d_model, o.heads, d_ff, 0.0, bo);
    block.eval();
    try {
      block.load_state_dict(io::block_from_any(weights));
    } catch (const Error& e) {
      throw Error(o.weights + ": " + e.what());
    }
    block.attention.need_weights = !o.attention_weights.empty();
    y = block(x, mask);
    if (block.attention.need_weights) attn = block.attention.attention_weights();
  }
  io::save_npy(o.output, y);
  if (!o.attention_weights.empty()) io::save_npy(o.attention_weights, attn);
  return 0;
}
}  // namespace

Command add_forward_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("forward", "Run an attention layer or a transformer block (eval mode) on weights and an input from files");
  auto o = std::make_shared<ForwardOptions>();
  cmd->add_option("--module", o->module, "mha or block")->required();
  cmd->add_option("--d-model", o->d_model, "Model width D")->required()->check(kPositiveInt);
  cmd->add_option("--heads", o->heads, "Number of attention heads H")->required()->check(kPositiveInt);
  cmd->add_option("--d-ff", o->d_ff, "Feed-forward width (block; default 4 D)")->check(kPositiveInt);
  cmd->add_flag("--norm-first", o->norm_first, "Pre-norm block (PyTorch's norm_first=True)");
  cmd->add_option("--activation", o->activation, "relu or gelu (block)")->check(CLI::IsMember({"relu", "gelu"}));
  cmd->add_flag("--causal", o->causal, "Each position attends only to itself and earlier ones");
  cmd->add_option("--attn-mask", o->attn_mask, ".npy bool mask (T, T) in PyTorch's polarity: True = blocked");
  cmd->add_option("--weights", o->weights, "safetensors with our names or PyTorch's")->required();
  cmd->add_option("--input", o->input, ".npy input (B, T, D); for mha it is query, key and value")->required();
  cmd->add_option("--output", o->output, ".npy output (B, T, D)")->required();
  cmd->add_option("--attention-weights", o->attention_weights, ".npy per-head attention weights (B, H, T, T)");
  return {cmd, [o] { return run_forward(*o); }};
}

}  // namespace lj::cli
