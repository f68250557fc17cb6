// llm-journey attention --checkpoint C --text "..." --out heads.png: what each head of a trained GPT
// looks at. The text goes through the model once (eval mode, no dropout); every layer's attention
// weights softmax(Q K^T / sqrt(d)) (B=1, H, T, T) are drawn as a grid of heatmaps, one panel per head,
// rows the query tokens and columns the key tokens, on one colour scale from 0 to 1.
//
// Without --layer, every layer is drawn and the grids are stacked top to bottom in the one PNG
// (layer 0 first), so that one picture shows how the patterns change with depth; --layer L draws
// only that layer. The same grids are printed in 24-bit terminal colour unless --no-terminal.
// --weights-out W.npy writes the weights drawn, (layers drawn, H, T, T) float32.
//
// A text longer than the model's block_size is an error rather than silently cropped: the model has
// no position embedding past block_size, and the learner should choose which part to look at.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "llm_journey/autograd.hpp"
#include "llm_journey/data/unicode.hpp"
#include "llm_journey/io.hpp"
#include "llm_journey/ops_lm.hpp"
#include "llm_journey/train.hpp"
#include "llm_journey/viz.hpp"

namespace lj::cli {

namespace {
struct AttentionArgs {
  std::string checkpoint, text, out = "heads.png", weights_out;
  int64_t layer = -1;  // -1: all
  bool no_terminal = false;
};

// Each token decoded on its own: a BPE token may hold part of a UTF-8 character, shown as U+FFFD.
std::vector<std::string> token_strings(const data::Tokenizer& tok, const std::vector<int64_t>& ids) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back(data::to_valid_utf8(tok.decode({id})));
  return out;
}

// Panels per row: all heads in one row up to 4; 6 or 9 heads as rows of 3; otherwise rows of 4.
int grid_columns(int64_t heads) {
  if (heads <= 4) return static_cast<int>(heads);
  if (heads % 3 == 0 && heads <= 9) return 3;
  return 4;
}

viz::Image stack_vertically(const std::vector<viz::Image>& images) {
  int w = 0, h = 0;
  for (const auto& im : images) {
    w = std::max(w, im.width());
    h += im.height();
  }
  viz::Image out(w, h);
  int y = 0;
  for (const auto& im : images) {
    out.paste(im, 0, y);
    y += im.height();
  }
  return out;
}

int run_attention(const AttentionArgs& a) {
  LJ_CHECK(!a.text.empty(), "attention: --text is empty; give the text whose attention to draw");
  train::LoadedModel m = train::load_checkpoint(a.checkpoint);
  nn::GPT& model = *m.model;
  const nn::GPTConfig& c = model.config;
  std::vector<int64_t> ids;
  try {
    ids = m.tokenizer->encode(a.text);
  } catch (const Error& e) {
    throw Error(std::string("attention: the text cannot be encoded by this checkpoint's ") + m.tokenizer->type() +
                " tokenizer: " + e.what());
  }
  const int64_t T = static_cast<int64_t>(ids.size());
  LJ_CHECK(T > 0, "attention: the text encodes to no tokens");
  LJ_CHECK(T <= c.block_size, "attention: the text is ", T, " tokens but this model's block_size is ", c.block_size,
           "; shorten the text to at most ", c.block_size, " tokens");
  LJ_CHECK(a.layer >= -1 && a.layer < c.n_layer, "attention: --layer ", a.layer, " is out of range: the model has ",
           c.n_layer, " layers (0 to ", c.n_layer - 1, "; omit --layer for all)");

  model.eval();
  for (int64_t l = 0; l < c.n_layer; l++)  // ask for the weights: a long text runs flash attention, which keeps none
    model.transformer.block(static_cast<size_t>(l)).attn.need_weights = true;
  {
    NoGradGuard no_grad;
    model.forward(ids_to_tensor(ids, {1, T}));
  }
  const std::vector<std::string> tokens = token_strings(*m.tokenizer, ids);
  const int64_t first = a.layer < 0 ? 0 : a.layer, last = a.layer < 0 ? c.n_layer - 1 : a.layer;
  const int64_t L = last - first + 1, H = c.n_head;

  std::printf("%lld tokens, %lld layers of %lld heads (%s tokenizer): ", static_cast<long long>(T),
              static_cast<long long>(c.n_layer), static_cast<long long>(H), m.tokenizer->type().c_str());
  for (const auto& t : tokens) std::printf("[%s]", viz::token_label(t).c_str());
  std::printf("\n");

  std::vector<viz::Image> grids;
  Tensor all = Tensor::empty({L, H, T, T});
  for (int64_t l = first; l <= last; l++) {
    Tensor w = model.transformer.block(static_cast<size_t>(l)).attn.attention_weights().contiguous();  // (1,H,T,T)
    LJ_CHECK(w.shape() == Shape({1, H, T, T}), "attention: layer ", l, " recorded weights of shape ", w.shape(),
             ", expected [1, ", H, ", ", T, ", ", T, "]");
    std::memcpy(all.mutable_data() + (l - first) * H * T * T, w.data(), sizeof(float) * static_cast<size_t>(H * T * T));
    const std::string title = "Layer " + std::to_string(l) + " of " + std::to_string(c.n_layer) +
                              ": attention weights per head (rows: queries, columns: keys)";
    grids.push_back(viz::plot_attention(w, tokens, tokens, title, 0, grid_columns(H)));
    if (!a.no_terminal) std::cout << viz::ansi_attention(w, tokens, tokens, title) << "\n";
  }
  viz::Image img = stack_vertically(grids);
  img.save_png(a.out);
  std::printf("wrote %s (%d x %d pixels: %lld layer grid%s of %lld heads)\n", a.out.c_str(), img.width(),
              img.height(), static_cast<long long>(L), L == 1 ? "" : "s", static_cast<long long>(H));
  if (!a.weights_out.empty()) {
    io::save_npy(a.weights_out, all);
    std::printf("wrote %s: weights (%lld, %lld, %lld, %lld) = (layers, heads, queries, keys)\n",
                a.weights_out.c_str(), static_cast<long long>(L), static_cast<long long>(H),
                static_cast<long long>(T), static_cast<long long>(T));
  }
  return 0;
}
}  // namespace

Command add_attention_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("attention", "Draw the per-head attention weights of a trained GPT on a text");
  auto a = std::make_shared<AttentionArgs>();
  cmd->add_option("--checkpoint", a->checkpoint, "A checkpoint.safetensors written by train")->required();
  cmd->add_option("--text", a->text, "The text to run through the model (at most block_size tokens)")->required();
  cmd->add_option("--out", a->out, "The PNG to write: one grid of heads per layer, stacked top to bottom")
      ->capture_default_str();
  cmd->add_option("--layer", a->layer, "Draw only this layer (0-based); default: all layers")->check(kNonNegativeInt);
  cmd->add_option("--weights-out", a->weights_out, "Also write the weights drawn as .npy (layers, heads, T, T)");
  cmd->add_flag("--no-terminal", a->no_terminal, "Do not print the colour rendering in the terminal");
  return {cmd, [a] { return run_attention(*a); }};
}

}  // namespace lj::cli
