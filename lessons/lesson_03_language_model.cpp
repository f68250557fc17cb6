// Week 1: Introduction to Transformers
// Notebook 03: A complete language model
//
// From attention blocks to a model that writes text: token embeddings, positional encoding, the GPT
// architecture (nanoGPT's), a short training run with its loss curve, and samples.
//
// Learning Objectives
// - Turn token ids into vectors, and tell the model where each token stands
// - Assemble a decoder-only transformer with a tied output layer
// - Train it with AdamW, warmup and a cosine learning rate
// - Sample text with temperature and top-k
#include <cmath>
#include <cstdio>
#include <llm_journey/data/dataset.hpp>
#include <llm_journey/llm_journey.hpp>
#include <llm_journey/viz.hpp>

#include "lessons.hpp"

namespace lj::lessons {

// The first 200,000 characters of tiny-shakespeare, or a few verses when the corpus is not at hand.
static std::string shakespeare_or_verses() {
  for (const char* p : {"../shared/data/tinyshakespeare.txt", "data/tinyshakespeare.txt"}) {
    try {
      return data::read_text_file(p).substr(0, 200000);
    } catch (const Error&) {
    }
  }
  std::string s;
  for (int i = 0; i < 300; i++)
    s += "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
         "The slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles\n";
  return s;
}

int lesson_03(Notebook& nb) {
  nb.cell("", R"(From attention blocks to a model that writes text: token embeddings, positional encoding, the
GPT architecture, a short training run with its loss curve, and samples.)");
  set_seed(42);

  // ## 1. Embeddings
  // A token id indexes a row of a learned table: embedding(id) = W[id], W (vocab_size, d_model).
  nb.cell("1. Embeddings", R"(A token id indexes a row of a learned table: embedding(id) = W[id], W (vocab_size, d_model).)");
  nn::Embedding emb(65, 8);
  Tensor ids = Tensor::from_vector({0, 1, 1, 64}, {1, 4});
  Tensor vecs = emb(ids);
  const bool same = vecs.select(1, 1).to_vector() == vecs.select(1, 2).to_vector();
  std::printf("ids (1, 4) -> vectors %s; the two 1s get the same row: %s\n", vecs.shape().str().c_str(),
              same ? "yes" : "no");

  // ## 2. Positional encoding
  // Attention is blind to order. "Attention Is All You Need" adds a fixed pattern:
  //   PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
  // GPT instead learns a second table, wpe, indexed by position.
  nb.cell("2. Positional encoding", R"(Attention is blind to order. "Attention Is All You Need" adds a fixed pattern:
$$PE(pos, 2i) = sin(pos / 10000^{2i/d}),  PE(pos, 2i+1) = cos(pos / 10000^{2i/d})$$
GPT instead learns a second table, wpe, indexed by position.)");
  nn::PositionalEncoding pe(16, 64);
  std::printf("PE (64 positions x 16 dims), as shades (dark -1 ... light +1):\n");
  const char* shades = " .:-=+*#%@";
  for (int64_t pos = 0; pos < 64; pos += 4) {
    std::printf("  pos %2lld  ", static_cast<long long>(pos));
    for (int64_t j = 0; j < 16; j++) {
      const float v = pe.pe.data()[pos * 16 + j];
      std::printf("%c%c", shades[std::min(9, static_cast<int>((v + 1.0f) * 4.999f))], shades[std::min(9, static_cast<int>((v + 1.0f) * 4.999f))]);
    }
    std::printf("\n");
  }
  {
    std::vector<float> v = pe.pe.to_vector();
    viz::Heatmap h{"PE(pos, j)", 64, 16, {v.begin(), v.end()}, {}, {}};
    nb.figure(viz::plot_heatmaps({h}, {.title = "Sinusoidal positional encoding", .row_axis = "position",
                                       .col_axis = "dimension", .vmin = -1.0, .vmax = 1.0, .columns = 1}),
              "positional_encoding", "sin on even dimensions, cos on odd ones; lower frequencies to the right");
  }

  // ## 3. The model
  // x = wte(idx) + wpe(pos); N pre-norm causal blocks; logits = lm_head(ln_f(x)), lm_head tied to wte.
  nb.cell("3. The model", R"(x = wte(idx) + wpe(pos); N pre-norm causal blocks; logits = lm_head(ln_f(x)), with lm_head tied to wte.)");
  const std::string text = shakespeare_or_verses();
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig c;
  c.model = {.block_size = 32, .vocab_size = tok.vocab_size(), .n_layer = 2, .n_head = 4, .n_embd = 64};
  c.batch_size = 16;
  c.max_iters = 150;
  c.warmup_iters = 10;
  c.lr = 3e-3;
  c.min_lr = 3e-4;
  c.eval_interval = 50;
  c.eval_iters = 5;
  train::Trainer trainer(c, ds, tok);
  std::printf("%s\n", trainer.model().str().substr(0, 400).c_str());
  std::printf("...\nparameters: %s (the tied weight counted once)\n", with_commas(count_parameters(trainer.model())).c_str());
  std::printf("vocabulary: %lld characters; a model that knows nothing scores ln(%lld) = %.4f\n",
              static_cast<long long>(tok.vocab_size()), static_cast<long long>(tok.vocab_size()),
              std::log(static_cast<double>(tok.vocab_size())));

  // ## 4. Training
  // AdamW (no decay on biases, norms, embeddings), warmup then cosine, gradients clipped at 1.
  nb.cell("4. Training", R"(AdamW (no decay on biases, norms and embeddings), warmup then cosine learning rate, gradients clipped at 1.)");
  trainer.run({.on_eval = [](const train::EvalPoint& e) {
    std::printf("step %3lld: train loss %.4f, val loss %.4f\n", static_cast<long long>(e.iter), e.train_loss, e.val_loss);
  }});
  std::printf("\nloss curve (one bar per 10 iterations):\n");
  const auto& h = trainer.history().loss;
  for (size_t i = 0; i < h.size(); i += 10)
    std::printf("  %4zu %6.3f %s\n", i, h[i], std::string(static_cast<size_t>(h[i] * 10), '#').c_str());

  // ## 5. Samples
  // generate() feeds the model its own output, one token at a time, with a KV cache.
  {
    viz::Series s{"train loss", {}, h};
    for (size_t i = 0; i < h.size(); i++) s.x.push_back(static_cast<double>(i));
    viz::Series v{"val loss (estimate)", {}, {}};
    for (const auto& ev : trainer.history().evals) {
      v.x.push_back(static_cast<double>(ev.iter));
      v.y.push_back(ev.val_loss);
    }
    nb.figure(viz::plot_lines({.title = "Training loss", .xlabel = "iteration", .ylabel = "cross-entropy",
                               .series = {s, v}, .markers = false}),
              "loss_curve");
  }

  nb.cell("5. Samples", R"(generate() feeds the model its own output, one token at a time, with a KV cache.)");
  Generator gen(7);
  Tensor prompt = ids_to_tensor(tok.encode("\n"), {1, 1});
  Tensor out = nn::generate(trainer.model(), prompt, 200, {.temperature = 0.8, .top_k = 20}, gen);
  std::printf("%s\n", tok.decode(tensor_to_ids(out)).c_str());
  return 0;
}

}  // namespace lj::lessons
