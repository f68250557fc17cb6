// Notebook 02, Exercises: the five exercises at the end of the notebook, solved and drawn.
//
// 1. Experiment with different numbers of attention heads and observe parameter counts
// 2. Modify the feed-forward dimension ratio (currently 4x) and analyze the impact
// 3. Implement a function to visualize attention weights for each head
// 4. Compare the output distributions with and without layer normalization
// 5. Stack multiple transformer blocks and pass data through the entire stack
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <llm_journey/llm_journey.hpp>
#include <llm_journey/train.hpp>

#include "lessons.hpp"

namespace lj::lessons {

using nn::MultiHeadAttention;
using nn::TransformerBlock;

static std::vector<double> as_doubles(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  return {v.begin(), v.end()};
}

static std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// The lesson's own short text: about 1,800 characters of plain prose, learned in seconds.
const std::string& lesson_text() {
  static const std::string text =
      "the cat sat on the mat and the dog sat on the log. the cat saw the dog and the dog saw the cat. "
      "a head of attention looks back at the letters before it and takes what it needs. one head may look "
      "at the letter just before, another at the start of the word, another at the space that ended the "
      "last word. the model adds what the heads found and passes it on to the next layer. "
      "the sun is up and the day is long. the rain is gone and the road is dry. we walk to the hill and "
      "we look at the sea. the sea is wide and the sky is blue. the boat is on the sea and the man is in "
      "the boat. the man has a net and the net is full of fish. the fish are for the cat and the dog. "
      "when the night comes the stars come out one by one. the moon is white and the wind is cold. "
      "we go home and we sit by the fire. the fire is warm and the tea is hot. we read a book and we "
      "sleep. in the morning the birds sing and the light comes back to the hill. the cat sat on the mat "
      "and the dog sat on the log, and the day began again. a letter follows a letter, a word follows a "
      "word, and a model that has read enough of them can guess the next one. it is never sure, but it "
      "is often right: after a space comes the start of a word, after a q comes a u, after the comes a "
      "space. that is all a language model does, one letter at a time. ";
  return text;
}

// A one-block character GPT (pre-norm, causal, as nanoGPT's) trained on the lesson's text by the
// library's Trainer: Adam at a constant rate (no weight decay, warmup or clipping), batches of 16
// windows of 32 characters. Returns the trainer, whose history holds the loss of every step.
static std::unique_ptr<train::Trainer> train_char_gpt(const data::Dataset& ds, const data::CharTokenizer& tok,
                                                      int64_t n_head, int64_t n_embd, int64_t d_ff, int64_t steps,
                                                      uint64_t seed) {
  train::TrainConfig c;
  c.model = {.block_size = 32, .vocab_size = tok.vocab_size(), .n_layer = 1, .n_head = n_head, .n_embd = n_embd,
             .dropout = 0.0, .bias = true, .d_ff = d_ff};
  c.batch_size = 16;
  c.max_iters = steps;
  c.warmup_iters = 0;
  c.lr = c.min_lr = 3e-3;
  c.weight_decay = 0.0;
  c.beta2 = 0.999;
  c.grad_clip = 0.0;
  c.eval_interval = steps;  // estimates at the start and the end
  c.eval_iters = 4;
  c.seed = seed;
  auto t = std::make_unique<train::Trainer>(c, ds, tok);
  t->run();
  return t;
}

// The mean of the last 10 steps' losses.
static double final_loss(const std::vector<double>& losses) {
  const size_t tail = std::min<size_t>(10, losses.size());
  double sum = 0;
  for (size_t i = losses.size() - tail; i < losses.size(); i++) sum += losses[i];
  return sum / static_cast<double>(tail);
}

static void exercise_1_heads(Notebook& nb) {
  nb.cell("Exercise 1. Heads and parameters", R"(Experiment with different numbers of attention heads and observe
parameter counts. The four projections W^Q, W^K, W^V, W^O are each d_model x d_model (plus a bias of
d_model): the heads split d_model into h slices of head_dim = d_model / h, they add no weights. So the
count is 4 (d_model^2 + d_model) whatever the number of heads.)");
  std::vector<std::vector<std::string>> rows;
  std::printf("%8s | %6s | %10s | %12s | %s\n", "d_model", "heads", "head_dim", "parameters", "4 (d^2 + d)");
  for (int64_t d_model : {64, 512})
    for (int64_t heads : {1, 2, 4, 8, 16}) {
      MultiHeadAttention mha(d_model, heads);
      int64_t params = count_parameters(mha);
      int64_t formula = 4 * (d_model * d_model + d_model);
      std::printf("%8lld | %6lld | %10lld | %12s | %s\n", static_cast<long long>(d_model), static_cast<long long>(heads),
                  static_cast<long long>(mha.d_k), with_commas(params).c_str(), with_commas(formula).c_str());
      rows.push_back({std::to_string(d_model), std::to_string(heads), std::to_string(mha.d_k), with_commas(params),
                      params == formula ? "yes" : "NO"});
    }
  std::printf("The parameter count depends on d_model only: more heads means smaller heads, not more weights.\n");
  nb.figure(viz::plot_table("Multi-head attention: parameters by number of heads",
                            {"d_model", "heads", "head_dim", "parameters", "= 4 (d^2 + d)"}, rows),
            "ex1_heads_table");
}

static void exercise_2_ffn_ratio(Notebook& nb) {
  nb.cell("Exercise 2. The feed-forward ratio", R"(Modify the feed-forward dimension ratio (currently 4x) and analyze
the impact: d_ff = ratio x d_model for ratios 1, 2, 4 and 8, at d_model = 64 with 8 heads. For each: the
block's parameters and the share of them in the FFN (2 d_model d_ff + d_ff + d_model), the forward time
on a (8, 64, 64) batch (median of 15 runs), and the loss reached by 150 steps of Adam on next-character
prediction over the lesson's own short text (a one-block character GPT with that d_ff, trained by the
library's Trainer, seed 0, same data order).)");
  const int64_t d_model = 64, num_heads = 8;
  const std::string& text = lesson_text();
  const auto tok = data::CharTokenizer::from_text(text);
  const data::Dataset ds(text, tok);
  const int64_t V = tok.vocab_size();
  std::printf("Text: %zu characters, vocabulary %lld; a model that knows nothing scores ln(%lld) = %.4f\n",
              text.size(), static_cast<long long>(V), static_cast<long long>(V), std::log(static_cast<double>(V)));
  std::printf("%5s | %6s | %12s | %9s | %13s | %s\n", "ratio", "d_ff", "block params", "FFN share", "forward (ms)",
              "loss after 150 steps");
  viz::LinePlot curves{"Training loss by FFN ratio", "step", "cross-entropy", {}, false, false};
  viz::Series time_series{"forward time", {}, {}}, loss_series{"loss after 150 steps", {}, {}};
  std::vector<std::vector<std::string>> rows;
  for (int64_t ratio : {1, 2, 4, 8}) {
    int64_t d_ff = ratio * d_model;
    set_seed(0);
    TransformerBlock block(d_model, num_heads, d_ff);
    block.eval();
    int64_t params = count_parameters(block), ffn = count_parameters(block.feed_forward);
    Tensor x = randn({8, 64, d_model});
    std::vector<double> times;
    {
      NoGradGuard no_grad;
      for (int run = 0; run < 16; run++) {
        auto t0 = std::chrono::steady_clock::now();
        Tensor y = block(x);
        auto t1 = std::chrono::steady_clock::now();
        if (run > 0) times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());  // run 0 warms up
      }
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    double ms = times[times.size() / 2];

    const auto trainer = train_char_gpt(ds, tok, num_heads, d_model, d_ff, 150, /*seed=*/0);
    const std::vector<double>& losses = trainer->history().loss;
    const double loss = final_loss(losses);
    std::printf("%5lld | %6lld | %12s | %8.1f%% | %13.3f | %.4f\n", static_cast<long long>(ratio),
                static_cast<long long>(d_ff), with_commas(params).c_str(), 100.0 * ffn / params, ms, loss);
    rows.push_back({std::to_string(ratio) + "x", std::to_string(d_ff), with_commas(params),
                    fmt("%.1f%%", 100.0 * ffn / params), fmt("%.3f", ms), fmt("%.4f", loss)});
    viz::Series s{"ratio " + std::to_string(ratio), {}, losses};
    for (size_t i = 0; i < losses.size(); i++) s.x.push_back(static_cast<double>(i + 1));
    curves.series.push_back(std::move(s));
    time_series.x.push_back(static_cast<double>(ratio));
    time_series.y.push_back(ms);
    loss_series.x.push_back(static_cast<double>(ratio));
    loss_series.y.push_back(loss);
  }
  std::printf("A wider FFN holds most of the block's weights and most of its time; the last column is what\n"
              "that width buys in 150 steps on this text.\n");
  nb.figure(viz::plot_table("Feed-forward ratio: size, speed and loss",
                            {"ratio", "d_ff", "block params", "FFN share", "forward (ms)", "loss @150"}, rows),
            "ex2_ffn_table");
  nb.figure(viz::plot_lines_panels(
                {curves,
                 viz::LinePlot{"Forward time, (8, 64, 64) batch", "d_ff / d_model", "milliseconds", {time_series}},
                 viz::LinePlot{"Loss after 150 steps", "d_ff / d_model", "cross-entropy", {loss_series}}},
                "Feed-forward ratio: training curves, forward time and loss reached"),
            "ex2_ffn_ratio", "Training loss per step for each ratio, the block's forward time, and the final loss.");
}

static void exercise_3_attention_maps(Notebook& nb) {
  nb.cell("Exercise 3. Attention weights per head", R"(Implement a function to visualize attention weights for
each head. The library draws them: `viz::plot_attention(weights, query_tokens, key_tokens, title)` makes
a grid of (T x S) heatmaps, one per head, labelled with the tokens, with a colour scale, and
`viz::ansi_attention` draws the same in a 24-bit-colour terminal. Weights of an untrained block are
noise, so the lesson first trains a small character GPT (one causal pre-norm block, 4 heads, 400 steps
of the library's Trainer, a few seconds) and then looks at what its heads do on a sentence.)");
  const std::string& text = lesson_text();
  const auto tok = data::CharTokenizer::from_text(text);
  const data::Dataset ds(text, tok);
  const auto trainer = train_char_gpt(ds, tok, 4, 64, 256, 400, /*seed=*/1);
  nn::GPT& model = trainer->model();
  std::printf("Trained: loss %.4f -> %.4f\n", trainer->history().loss.front(), final_loss(trainer->history().loss));

  const std::string sentence = "the cat sat on the mat.";
  const std::vector<int64_t> ids = tok.encode(sentence);
  model.eval();
  model.transformer.block(0).attn.need_weights = true;  // ask for them: long sequences would otherwise keep none
  {
    NoGradGuard no_grad;
    model.forward(ids_to_tensor(ids, {1, static_cast<int64_t>(ids.size())}));
  }
  Tensor weights = model.transformer.block(0).attn.attention_weights();  // (1, H, T, T)
  std::vector<std::string> tokens;
  for (int64_t id : ids) tokens.push_back(tok.decode({id}));
  std::cout << viz::ansi_attention(weights, tokens, tokens, "Attention per head on \"" + sentence + "\"");

  // What each head mostly does: its mean weight on the token itself and on the one before.
  std::vector<float> w = weights.to_vector();
  int64_t H = weights.size(1), T = weights.size(2);
  for (int64_t h = 0; h < H; h++) {
    double self = 0, prev = 0;
    for (int64_t t = 1; t < T; t++) {
      self += w[(h * T + t) * T + t] / (T - 1);
      prev += w[(h * T + t) * T + t - 1] / (T - 1);
    }
    std::printf("head %lld: mean weight on itself %.2f, on the previous character %.2f\n", static_cast<long long>(h),
                self, prev);
  }
  nb.figure(viz::plot_attention(weights, tokens, tokens, "Learned attention per head on \"" + sentence + "\""),
            "ex3_attention_heads", "Rows are queries, columns keys; causal, so the upper triangle is zero.");
}

// A block's output with its two LayerNorms skipped: the same residual lines, unnormalised.
//   post-norm without norm:  x = x + MHA(x);  x = x + FFN(x)
static Tensor block_without_norm(TransformerBlock& block, const Tensor& x) {
  Tensor y = x + block.attention(x, x, x);
  return y + block.feed_forward(y);
}

static void exercise_4_layer_norm(Notebook& nb) {
  nb.cell("Exercise 4. With and without LayerNorm", R"(Compare the output distributions with and without layer
normalization. The same block (d_model 64, 8 heads, d_ff 256, eval mode) on the same input (8, 32, 64):
once as written, x = norm2(y + FFN(y)) with y = norm1(x + MHA(x)), and once with both norms skipped.
LayerNorm puts every token's vector back to mean 0 and variance 1 (before its weight and bias, here
1 and 0); without it, each residual addition widens the distribution.)");
  set_seed(0);
  TransformerBlock block(64, 8, 256);
  block.eval();
  Tensor x = randn({8, 32, 64});
  NoGradGuard no_grad;
  Tensor with_norm = block(x), without_norm = block_without_norm(block, x);
  std::printf("%-16s mean % .4f  std %.4f\n", "input", x.mean().item(), x.std().item());
  std::printf("%-16s mean % .4f  std %.4f\n", "with LayerNorm", with_norm.mean().item(), with_norm.std().item());
  std::printf("%-16s mean % .4f  std %.4f\n", "without", without_norm.mean().item(), without_norm.std().item());
  nb.figure(viz::plot_histograms({{"input x", as_doubles(x), 50, viz::palette(7)},
                                  {"block(x), with LayerNorm", as_doubles(with_norm), 50, viz::palette(0)},
                                  {"block(x), norms skipped", as_doubles(without_norm), 50, viz::palette(1)}},
                                 "Transformer block output with and without layer normalization", "activation",
                                 "count", 380, 340),
            "ex4_layer_norm", "Histograms of all 16,384 values of each tensor.");
}

static void exercise_5_stacking(Notebook& nb) {
  nb.cell("Exercise 5. Passing data through a stack", R"(Stack multiple transformer blocks and pass data through
the entire stack: 24 blocks (d_model 64, 8 heads, d_ff 256, eval mode), the same weights in three
arrangements, and after each layer the mean, std and norm (Frobenius, over the whole (4, 16, 64) batch) of
the activations.
- post-norm (the notebook's block): x = LN(x + MHA(x)); x = LN(x + FFN(x)) keeps every layer at std 1.
- pre-norm (GPT-2): x = x + MHA(LN(x)); x = x + FFN(LN(x)): the residual stream grows, slowly.
- no norm: x = x + MHA(x); x = x + FFN(x): nothing holds the scale, and it grows layer after layer.)");
  const int layers = 24;
  set_seed(0);
  std::vector<std::unique_ptr<TransformerBlock>> blocks;
  for (int i = 0; i < layers; i++) {
    blocks.push_back(std::make_unique<TransformerBlock>(64, 8, 256));
    blocks.back()->eval();
  }
  Tensor x0 = randn({4, 16, 64});
  NoGradGuard no_grad;
  const char* names[] = {"post-norm", "pre-norm", "no norm"};
  std::vector<viz::Series> means, stds, norms;
  std::vector<std::vector<double>> std_at(3);
  for (int variant = 0; variant < 3; variant++) {
    viz::Series m{names[variant], {}, {}}, s{names[variant], {}, {}}, n{names[variant], {}, {}};
    Tensor x = x0;
    auto record = [&](int layer) {
      m.x.push_back(layer), s.x.push_back(layer), n.x.push_back(layer);
      m.y.push_back(x.mean().item()), s.y.push_back(x.std().item()), n.y.push_back(x.norm().item());
    };
    record(0);
    for (int i = 0; i < layers; i++) {
      TransformerBlock& b = *blocks[i];
      b.options.norm_first = variant == 1;
      x = variant == 2 ? block_without_norm(b, x) : b(x);
      record(i + 1);
    }
    std_at[variant] = s.y;
    means.push_back(m), stds.push_back(s), norms.push_back(n);
  }
  std::printf("%6s | %22s | %22s | %22s\n", "layer", "post-norm mean/std", "pre-norm mean/std", "no norm mean/std");
  for (int layer : {0, 1, 2, 4, 6, 12, 18, 24})
    std::printf("%6d | % 10.4f %11.4f | % 10.4f %11.4f | % 10.4f %11.4f\n", layer, means[0].y[layer],
                stds[0].y[layer], means[1].y[layer], stds[1].y[layer], means[2].y[layer], stds[2].y[layer]);
  std::printf("After 24 layers the std is %.2f (post-norm), %.2f (pre-norm) and %.2f (no norm).\n", std_at[0][layers],
              std_at[1][layers], std_at[2][layers]);
  nb.figure(viz::plot_lines_panels({viz::LinePlot{"Mean", "layer", "mean of activations", means},
                                    viz::LinePlot{"Std (log scale)", "layer", "std of activations", stds, true},
                                    viz::LinePlot{"Norm (log scale)", "layer", "Frobenius norm", norms, true}},
                                   "Activations through 24 stacked blocks", 400, 360),
            "ex5_stacking", "Layer 0 is the input; the same 24 blocks' weights in each arrangement.");
}

void lesson_02_exercises(Notebook& nb) {
  nb.cell("Exercises", R"(1. Experiment with different numbers of attention heads and observe parameter counts
2. Modify the feed-forward dimension ratio (currently 4x) and analyze the impact
3. Implement a function to visualize attention weights for each head
4. Compare the output distributions with and without layer normalization
5. Stack multiple transformer blocks and pass data through the entire stack)");
  exercise_1_heads(nb);
  exercise_2_ffn_ratio(nb);
  exercise_3_attention_maps(nb);
  exercise_4_layer_norm(nb);
  exercise_5_stacking(nb);
}

}  // namespace lj::lessons
