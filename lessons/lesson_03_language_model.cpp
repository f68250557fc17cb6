// Week 1: Introduction to Transformers
// Notebook 03: A complete language model
//
// From attention blocks to a model that writes text: token embeddings, positional encoding, the GPT
// architecture (nanoGPT's), a training run on Shakespeare with its loss curve, samples, and the same
// run in bf16 mixed precision.
//
// Learning Objectives
// - Turn token ids into vectors, and tell the model where each token stands
// - Assemble a decoder-only transformer with a tied output layer
// - Train it with AdamW, warmup and a cosine learning rate, and judge it on text it never saw
// - Sample text with temperature and top-k
// - See what bf16 rounds away, and why mixed precision keeps the master weights in fp32
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <llm_journey/data/dataset.hpp>
#include <llm_journey/llm_journey.hpp>
#include <llm_journey/viz.hpp>

#include "lessons.hpp"

namespace lj::lessons {

// Where the lesson looks for tiny-shakespeare, relative to the working directory: beside the project
// (../shared/data) and where `make data` puts it (data/).
static const char* const kCorpusPlaces[] = {"../shared/data/tinyshakespeare.txt", "data/tinyshakespeare.txt"};

// What the lesson trains on and what it is judged on, never the same text: one string that
// data::Dataset cuts at train_fraction, the first part for training and the rest held out.
struct Corpus {
  std::string text;
  double train_fraction = 0.9;
  bool shakespeare = false;  // tiny-shakespeare, or the two passages below
  std::string source;        // the file it came from
};

// Without the corpus: Hamlet's soliloquy to learn from, and a sonnet held out to judge by. The model
// will learn the soliloquy by heart; the sonnet shows how little that says about other text.
static const char* const kSoliloquy =
    "To be, or not to be, that is the question:\n"
    "Whether 'tis nobler in the mind to suffer\n"
    "The slings and arrows of outrageous fortune,\n"
    "Or to take arms against a sea of troubles\n"
    "And by opposing end them. To die, to sleep;\n"
    "No more; and by a sleep to say we end\n"
    "The heart-ache and the thousand natural shocks\n"
    "That flesh is heir to: 'tis a consummation\n"
    "Devoutly to be wish'd. To die, to sleep;\n"
    "To sleep, perchance to dream: ay, there's the rub;\n"
    "For in that sleep of death what dreams may come,\n"
    "When we have shuffled off this mortal coil,\n"
    "Must give us pause: there's the respect\n"
    "That makes calamity of so long life;\n"
    "For who would bear the whips and scorns of time,\n"
    "The oppressor's wrong, the proud man's contumely,\n"
    "The pangs of despised love, the law's delay,\n"
    "The insolence of office and the spurns\n"
    "That patient merit of the unworthy takes,\n"
    "When he himself might his quietus make\n"
    "With a bare bodkin? who would fardels bear,\n"
    "To grunt and sweat under a weary life,\n"
    "But that the dread of something after death,\n"
    "The undiscover'd country from whose bourn\n"
    "No traveller returns, puzzles the will\n"
    "And makes us rather bear those ills we have\n"
    "Than fly to others that we know not of?\n"
    "Thus conscience does make cowards of us all;\n"
    "And thus the native hue of resolution\n"
    "Is sicklied o'er with the pale cast of thought,\n"
    "And enterprises of great pith and moment\n"
    "With this regard their currents turn awry,\n"
    "And lose the name of action.\n";
static const char* const kSonnet18 =
    "Shall I compare thee to a summer's day?\n"
    "Thou art more lovely and more temperate:\n"
    "Rough winds do shake the darling buds of May,\n"
    "And summer's lease hath all too short a date:\n"
    "Sometime too hot the eye of heaven shines,\n"
    "And often is his gold complexion dimm'd;\n"
    "And every fair from fair sometime declines,\n"
    "By chance or nature's changing course untrimm'd;\n"
    "But thy eternal summer shall not fade\n"
    "Nor lose possession of that fair thou owest;\n"
    "Nor shall Death brag thou wander'st in his shade,\n"
    "When in eternal lines to time thou growest:\n"
    "So long as men can breathe or eyes can see,\n"
    "So long lives this and this gives life to thee.\n";

// tiny-shakespeare from --data or the first place it is found, split 90/10 as nanoGPT does; else the
// two passages above, saying so.
static Corpus find_corpus(const LessonOptions& options) {
  std::string path = options.data;  // given: read it, or fail naming it
  for (const char* p : kCorpusPlaces)
    if (path.empty() && std::filesystem::is_regular_file(p)) path = p;
  if (!path.empty()) {
    std::printf("corpus: %s\n", path.c_str());
    return {data::read_text_file(path), 0.9, true, path};
  }
  std::printf("No corpus found: looked for %s and %s (relative to %s).\n", kCorpusPlaces[0], kCorpusPlaces[1],
              std::filesystem::current_path().c_str());
  std::printf("`make data` downloads tiny-shakespeare to data/; `llm-journey lesson 03 --data FILE` takes any text.\n");
  std::printf("Until then the lesson trains on Hamlet's soliloquy and holds out Sonnet 18, a different text,\n"
              "to report its validation loss on.\n");
  const std::string train = kSoliloquy, held_out = kSonnet18;  // ASCII: bytes are code points
  // The cut falls between the two texts: floor(n * fraction) = train.size() exactly.
  const double fraction = (static_cast<double>(train.size()) + 0.5) / static_cast<double>(train.size() + held_out.size());
  return {train + held_out, fraction, false, "built-in passages"};
}

// A run's throughput: tokens per second of wall time over its steps after the first few (which
// fill caches and settle the threads' split of the work).
static double tokens_per_second(const std::vector<double>& step_seconds, int64_t tokens_per_step) {
  const size_t skip = std::min<size_t>(10, step_seconds.size() / 10);
  double seconds = 0;
  for (size_t i = skip; i < step_seconds.size(); i++) seconds += step_seconds[i];
  return seconds > 0 ? static_cast<double>(step_seconds.size() - skip) * static_cast<double>(tokens_per_step) / seconds : 0;
}

static viz::Series loss_series(const std::string& label, const std::vector<double>& loss, size_t n) {
  viz::Series s{label, {}, {}};
  for (size_t i = 0; i < std::min(n, loss.size()); i++) {
    s.x.push_back(static_cast<double>(i + 1));
    s.y.push_back(loss[i]);
  }
  return s;
}

static float bf16_round(float x) { return to_float(to_bfloat16(x)); }

int lesson_03(Notebook& nb, const LessonOptions& options) {
  nb.cell("", R"(From attention blocks to a model that writes text: token embeddings, positional encoding, the
GPT architecture, a training run on Shakespeare with its loss curve, samples, and the same run in
bf16 mixed precision.)");
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

  // ## 3. The corpus
  // tiny-shakespeare: 1.1 million characters of the plays. The first 90% is for training; the last 10%
  // is held out, and the validation loss is measured there only, on text the model never saw.
  nb.cell("3. The corpus", R"(tiny-shakespeare: 1.1 million characters of the plays. The first 90% is for training; the
last 10% is held out, and the validation loss is measured there only, on text the model never saw.
A validation loss measured on the training text would only say how well the model remembers it.)");
  const Corpus corpus = find_corpus(options);
  auto tok = data::CharTokenizer::from_text(corpus.text);
  data::Dataset ds(corpus.text, tok, corpus.train_fraction);
  std::printf("%s characters: %s to train on, %s held out\n",
              with_commas(static_cast<int64_t>(ds.train().size() + ds.val().size())).c_str(),
              with_commas(static_cast<int64_t>(ds.train().size())).c_str(),
              with_commas(static_cast<int64_t>(ds.val().size())).c_str());

  // ## 4. The model
  // x = wte(idx) + wpe(pos); N pre-norm causal blocks; logits = lm_head(ln_f(x)), lm_head tied to wte.
  // nanoGPT's configuration for a CPU: 4 layers, 4 heads, 128 wide, a context of 64 characters.
  nb.cell("4. The model", R"(x = wte(idx) + wpe(pos); N pre-norm causal blocks; logits = lm_head(ln_f(x)), with lm_head
tied to wte. The size is nanoGPT's configuration for a CPU: 4 layers, 4 heads, 128 wide, a context
of 64 characters, batches of 12.)");
  train::TrainConfig c;
  c.model = {.block_size = 64, .vocab_size = tok.vocab_size(), .n_layer = 4, .n_head = 4, .n_embd = 128};
  c.batch_size = 12;
  c.max_iters = corpus.shakespeare ? 2000 : 300;  // about 45 s at 36,000 tokens/s; the passage needs far less
  c.warmup_iters = corpus.shakespeare ? 100 : 30;
  // nanoGPT's 1e-3 is for runs of 5,000 steps; a short run gains from larger steps. Measured on
  // tiny-shakespeare over these 2,000 steps, val loss: 1.90 at 1e-3, 1.80 at 2e-3, 1.77 at 3e-3 and 5e-3.
  c.lr = 3e-3;
  c.min_lr = 3e-4;
  c.eval_interval = corpus.shakespeare ? 250 : 50;
  c.eval_iters = 20;
  if (options.quick) {  // the tests' run: the same sections, a few steps
    c.max_iters = 30;
    c.warmup_iters = 5;
    c.eval_interval = 10;
    c.eval_iters = 2;
  }
  train::Trainer trainer(c, ds, tok);
  {
    const std::string s = trainer.model().str();  // the first lines, up to the first block's attention
    std::string head = s.substr(0, s.find("(c_proj)"));
    head.erase(head.find_last_not_of(" \n") + 1);
    std::printf("%s\n  ...\n", head.c_str());
  }
  std::printf("parameters: %s (the tied weight counted once)\n", with_commas(count_parameters(trainer.model())).c_str());
  std::printf("vocabulary: %lld characters; a model that knows nothing scores ln(%lld) = %.4f\n",
              static_cast<long long>(tok.vocab_size()), static_cast<long long>(tok.vocab_size()),
              std::log(static_cast<double>(tok.vocab_size())));

  // ## 5. Training
  // AdamW (no decay on biases, norms, embeddings), warmup then cosine, gradients clipped at 1.
  // Each estimate averages 20 random batches of each split; the last line measures the whole held-out text.
  nb.cell("5. Training", R"(AdamW (no decay on biases, norms and embeddings), warmup then cosine learning rate, gradients
clipped at 1. Every few hundred steps the losses are estimated on 20 random batches of each split;
at the end the validation loss is measured over the whole held-out text.)");
  const int64_t tokens_per_step = c.batch_size * c.model.block_size;
  std::vector<double> fp32_seconds;
  std::printf("training %lld steps of %lld tokens in fp32\n", static_cast<long long>(c.max_iters),
              static_cast<long long>(tokens_per_step));
  trainer.run({.on_eval = [&](const train::EvalPoint& e) {
                 double t = 0;
                 for (double s : fp32_seconds) t += s;
                 std::printf("step %4lld: train loss %.4f, val loss %.4f  (%.1f s of training)\n", static_cast<long long>(e.iter),
                             e.train_loss, e.val_loss, t);
                 std::fflush(stdout);
               },
               .on_step = [&](const train::StepReport& r) { fp32_seconds.push_back(r.seconds); }});
  const double fp32_speed = tokens_per_second(fp32_seconds, tokens_per_step);
  {
    const int64_t T = c.model.block_size, windows = data::num_eval_windows(static_cast<int64_t>(ds.val().size()), T);
    if (!options.quick) {
      const train::EvalResult val = train::evaluate(trainer.model(), ds.val());
      std::printf("val loss over the whole held-out text (%s windows of %lld characters): %.4f\n",
                  with_commas(windows).c_str(), static_cast<long long>(T), val.loss);
    } else {  // the first 16 windows
      const std::vector<int64_t> part(ds.val().begin(), ds.val().begin() + std::min<int64_t>(windows, 16) * T + 1);
      const train::EvalResult val = train::evaluate(trainer.model(), part);
      std::printf("val loss over the first %lld of the %s held-out windows of %lld characters (--quick): %.4f\n",
                  static_cast<long long>(val.windows), with_commas(windows).c_str(), static_cast<long long>(T), val.loss);
    }
  }
  {
    // Is the model still learning what carries over to new text, or learning its training text by heart?
    const auto& evals = trainer.history().evals;
    const auto best = std::min_element(evals.begin(), evals.end(),
                                       [](const train::EvalPoint& a, const train::EvalPoint& b) { return a.val_loss < b.val_loss; });
    if (best == evals.end() - 1)
      std::printf("The val loss was still falling at the last estimate: a longer run would do better.\n");
    else if (evals.back().val_loss < best->val_loss + 0.05)  // within the estimates' noise
      std::printf("The val loss levelled off: lowest at step %lld (%.4f), %.4f at the end.\n",
                  static_cast<long long>(best->iter), best->val_loss, evals.back().val_loss);
    else
      std::printf("The val loss was lowest at step %lld (%.4f) and rose after it (to %.4f) while the train loss kept\n"
                  "falling: from there on the model learned its training text by heart (overfitting).\n",
                  static_cast<long long>(best->iter), best->val_loss, evals.back().val_loss);
  }
  std::printf("training speed: %s tokens/s\n", with_commas(std::llround(fp32_speed)).c_str());

  const auto& h = trainer.history().loss;
  const size_t bar_every = std::max<size_t>(1, h.size() / 20);
  std::printf("\nloss curve (one bar per %zu iterations):\n", bar_every);
  for (size_t i = 0; i < h.size(); i += bar_every)
    std::printf("  %4zu %6.3f %s\n", i + 1, h[i], std::string(static_cast<size_t>(h[i] * 10), '#').c_str());
  {
    viz::Series v{"val loss (estimate)", {}, {}};
    for (const auto& ev : trainer.history().evals) {
      v.x.push_back(static_cast<double>(ev.iter));
      v.y.push_back(ev.val_loss);
    }
    nb.figure(viz::plot_lines({.title = "Training loss", .xlabel = "iteration", .ylabel = "cross-entropy",
                               .series = {loss_series("train loss", h, h.size()), v}, .markers = false}),
              "loss_curve");
  }

  // ## 6. Samples
  // generate() feeds the model its own output, one token at a time, with a KV cache.
  nb.cell("6. Samples", R"(generate() feeds the model its own output, one token at a time, with a KV cache.)");
  Generator gen(7);
  Tensor prompt = ids_to_tensor(tok.encode("\n"), {1, 1});
  Tensor out = nn::generate(trainer.model(), prompt, options.quick ? 100 : 500, {.temperature = 0.8, .top_k = 20}, gen);
  std::printf("%s\n", tok.decode(tensor_to_ids(out)).c_str());

  // ## 7. What bf16 rounds away
  // bf16 is fp32 with the low 16 bits of the mantissa dropped: the same range, 8 significant bits
  // (7 stored, one implicit) instead of 24. From 1 to 2 its numbers are 2^-7 apart; rounding to the
  // nearest moves a value by up to half of that, a relative 2^-9 = 0.2%.
  nb.cell("7. What bf16 rounds away", R"(bf16 is fp32 with the low 16 bits of the mantissa dropped: the same 8-bit exponent, so the same
range, but 8 significant bits (7 stored, one implicit) instead of 24. Between 1 and 2 its numbers
are 2^-7 = 0.0078125 apart, and rounding moves a value by up to half that: a relative 2^-9, 0.2%.
A number closer to 1 than 1/256 is 1 again.)");
  struct Example {
    const char* name;
    float x;
    const char* note;
  };
  std::printf("%-10s %-13s %s\n", "x", "bf16(x)", "");
  for (const Example& e : {Example{"1 + 1/128", 1.0f + 1.0f / 128, "exact: the bf16 number after 1"},
                           {"1 + 1/256", 1.0f + 1.0f / 256, "halfway: a tie goes to the even neighbour"},
                           {"1 + 1/512", 1.0f + 1.0f / 512, "rounded away"},
                           {"pi", 3.14159265f, "three digits"},
                           {"0.1", 0.1f, "not exact in fp32 either, but closer"},
                           {"1000.7", 1000.7f, "above 512 the spacing is 4"}})
    std::printf("%-10s %-13.9g %s\n", e.name, bf16_round(e.x), e.note);
  std::printf("\nA dot product of 128 terms, as a Linear layer of this model computes one output:\n");
  {
    Generator g(1);
    const std::vector<float> a = randn({128}, g).to_vector(), b = randn({128}, g).to_vector();
    double exact = 0;
    float f32 = 0, bf16_inputs = 0;
    for (size_t i = 0; i < a.size(); i++) {
      exact += static_cast<double>(a[i]) * b[i];
      f32 += a[i] * b[i];
      bf16_inputs += bf16_round(a[i]) * bf16_round(b[i]);  // bf16 inputs, fp32 sum: what autocast does
    }
    std::printf("  exact                            %10.7f\n", exact);
    std::printf("  fp32                             %10.7f  (relative error %.0e)\n", f32, std::fabs(f32 - exact) / std::fabs(exact));
    std::printf("  bf16 inputs, summed in fp32      %10.7f  (relative error %.0e)\n", bf16_inputs,
                std::fabs(bf16_inputs - exact) / std::fabs(exact));
    std::printf("  Two or three correct digits: plenty for a product inside a noisy training step, where the\n"
                "  gradient of one batch is itself only an estimate. Not enough to keep a running total.\n");
  }
  // A weight of 0.05 and an update of 1e-3 of its size, 1000 times over.
  std::printf("\nAn update of 1e-3 of a weight's size, added 1000 times, with the weight kept in fp32 and in bf16:\n");
  {
    const float update = 5e-5f;
    float w32 = 0.05f;
    bfloat16 w16 = to_bfloat16(0.05f);
    viz::Series s32{"weight in fp32", {0}, {w32}}, s16{"weight in bf16", {0}, {to_float(w16)}};
    std::printf("  %-19s fp32 %.6f, bf16 %.6f (0.05 itself is not a bf16 number)\n", "at the start:", w32, to_float(w16));
    for (int step = 1; step <= 1000; step++) {
      w32 += update;
      w16 = to_bfloat16(to_float(w16) + update);
      s32.x.push_back(step);
      s32.y.push_back(w32);
      s16.x.push_back(step);
      s16.y.push_back(to_float(w16));
      if (step == 1 || step == 10 || step == 100 || step == 1000)
        std::printf("  %-19s fp32 %.6f, bf16 %.6f\n",
                    ("after " + std::to_string(step) + (step == 1 ? " update:" : " updates:")).c_str(), w32, to_float(w16));
    }
    std::printf("  near 0.05 the bf16 numbers are 2^-12 = %.6f apart: 0.00005 is under half that and rounds away.\n",
                std::ldexp(1.0, -12));
    nb.figure(viz::plot_lines({.title = "w += 0.00005, 1000 times", .xlabel = "updates", .ylabel = "w",
                               .series = {s32, s16}, .markers = false}),
              "bf16_weight_update", "in bf16 every update rounds away and the weight never moves");
  }
  {
    // The trained model: how many of its weights would ignore a step the size of its last learning rate?
    int64_t total = 0, lost = 0;
    const float step = static_cast<float>(c.min_lr);
    std::set<const float*> seen;  // the tied weight once
    for (const Tensor& p : trainer.model().parameters())
      if (seen.insert(p.data()).second)
        for (float w : p.to_vector()) {
          const float stored = bf16_round(w);
          total++;
          lost += bf16_round(stored + step) == stored && bf16_round(stored - step) == stored;
        }
    std::printf("\nAn AdamW step moves a weight by lr * m / sqrt(v): at most about lr. Even a full step of this run's\n"
                "last lr (%g) would leave %.0f%% of the trained model's %s weights where they are if they\n"
                "were stored in bf16.\n",
                c.min_lr, 100.0 * static_cast<double>(lost) / static_cast<double>(total), with_commas(total).c_str());
  }
  std::printf("So mixed precision keeps the master weights, their gradients and AdamW's moments in fp32, and\n"
              "rounds only the inputs of the matrix products to bf16, summing in fp32.\n");

  // ## 8. fp32 and bf16 side by side
  // The same model, seed and batches, with the matrix products in bf16 (lj::Autocast, set by
  // TrainConfig::dtype). A shorter run, a quarter of the steps on the same schedule, to keep the lesson short.
  nb.cell("8. fp32 and bf16 side by side", R"(The same model, seed and batches, with the matrix products taking bf16 inputs (TrainConfig::dtype
sets an lj::Autocast scope around each step). To keep the lesson short the bf16 run takes only the
first quarter of the steps, on the full run's schedule. The two runs draw the same batches, so
their curves share the batch-to-batch noise, and any gap between them is the rounding's doing.)");
  train::TrainConfig c16 = c;
  c16.dtype = bf16;
  c16.eval_interval = c.max_iters;  // no loss estimates along the way (they draw no training batches, so
  c16.eval_iters = 1;               // the steps are the same either way)
  train::Trainer bf16_trainer(c16, ds, tok);
  const int64_t bf16_steps = c.max_iters / 4;
  std::vector<double> bf16_seconds;
  bf16_trainer.run({.stop_at = bf16_steps,
                    .on_step = [&](const train::StepReport& r) { bf16_seconds.push_back(r.seconds); }});
  const double bf16_speed = tokens_per_second(bf16_seconds, tokens_per_step);
  const double fp32_same_steps = tokens_per_second({fp32_seconds.begin(), fp32_seconds.begin() + bf16_steps}, tokens_per_step);
  const auto& h16 = bf16_trainer.history().loss;
  double gap = 0;
  for (size_t i = 0; i < h16.size(); i++) gap = std::max(gap, std::fabs(h16[i] - h[i]));
  std::printf("speed over the first %lld steps: fp32 %s tokens/s, bf16 %s tokens/s (%.2fx)\n",
              static_cast<long long>(bf16_steps), with_commas(std::llround(fp32_same_steps)).c_str(),
              with_commas(std::llround(bf16_speed)).c_str(), fp32_same_steps > 0 ? bf16_speed / fp32_same_steps : 0.0);
  std::printf("loss at step %lld: fp32 %.4f, bf16 %.4f; the largest gap between the curves: %.4f\n",
              static_cast<long long>(bf16_steps), h[h16.size() - 1], h16.back(), gap);
  if (gap == 0)
    std::printf("The curves are identical to the bit: this build's matrix products do not take bf16 inputs yet,\n"
                "so its bf16 run computes in fp32.\n");
  nb.figure(viz::plot_lines({.title = "Training loss, fp32 and bf16 autocast", .xlabel = "iteration",
                             .ylabel = "cross-entropy",
                             .series = {loss_series("fp32, " + with_commas(std::llround(fp32_same_steps)) + " tokens/s", h, h16.size()),
                                        loss_series("bf16 autocast, " + with_commas(std::llround(bf16_speed)) + " tokens/s",
                                                    h16, h16.size())},
                             .markers = false}),
            "fp32_vs_bf16", "the same model, seed and batches; the products' inputs in bf16 or fp32");
  return 0;
}

}  // namespace lj::lessons
