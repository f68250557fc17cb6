#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "llm_journey/io.hpp"
#include "llm_journey/train.hpp"
#include "torch_ref.hpp"

using namespace lj;

namespace {

// A small corpus with some structure to learn, the same every time.
std::string corpus() {
  const char* words[] = {"the ", "king ", "queen ", "shall ", "speak ", "now, ", "and ", "we ", "go.\n"};
  Generator g(5);
  std::string s;
  for (int i = 0; i < 6000; i++) s += words[g.random() % 9];
  return s;
}

train::TrainConfig small_config() {
  train::TrainConfig c;
  c.model = {.block_size = 16, .vocab_size = 0, .n_layer = 2, .n_head = 2, .n_embd = 32, .dropout = 0.1};
  c.batch_size = 4;
  c.grad_accum = 2;
  c.max_iters = 12;
  c.warmup_iters = 3;
  c.lr = 3e-3;
  c.min_lr = 3e-4;
  c.eval_interval = 4;
  c.eval_iters = 2;
  return c;
}

}  // namespace

TEST(Train, ResumedRunEqualsUninterruptedRunBitForBit) {
  const std::string text = corpus();
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig c = small_config();
  c.model.vocab_size = tok.vocab_size();
  const auto dir = std::filesystem::temp_directory_path() / ("lj_resume_" + std::to_string(::getpid()));
  const std::string a_ckpt = (dir / "a" / "checkpoint.safetensors").string();
  const std::string b_ckpt = (dir / "b" / "checkpoint.safetensors").string();

  train::Trainer a(c, ds, tok);
  a.run({.checkpoint = a_ckpt});

  {
    train::Trainer b(c, ds, tok);
    b.run({.checkpoint = b_ckpt, .stop_at = 6});  // stopped between two evaluations
    b.save_checkpoint(b_ckpt);
  }
  auto b = train::Trainer::resume(b_ckpt, ds);
  EXPECT_EQ(b->iter(), 6);
  b->run({.checkpoint = b_ckpt});

  std::vector<int64_t> eval_iters;  // every eval_interval-th iteration and the end, once each
  for (const auto& e : b->history().evals) eval_iters.push_back(e.iter);
  EXPECT_EQ(eval_iters, (std::vector<int64_t>{0, 4, 8, 12}));
  ASSERT_EQ(a.history().loss.size(), 12u);
  ASSERT_EQ(b->history().loss.size(), 12u);
  for (size_t i = 0; i < 12; i++) EXPECT_EQ(a.history().loss[i], b->history().loss[i]) << "iteration " << i;
  ASSERT_EQ(a.history().evals.size(), b->history().evals.size());
  for (size_t i = 0; i < a.history().evals.size(); i++) {
    EXPECT_EQ(a.history().evals[i].iter, b->history().evals[i].iter);
    EXPECT_EQ(a.history().evals[i].val_loss, b->history().evals[i].val_loss);
  }
  auto pa = a.model().named_parameters(), pb = b->model().named_parameters();
  for (size_t i = 0; i < pa.size(); i++) EXPECT_EQ(test::max_abs_diff(pa[i].second, pb[i].second), 0.0f) << pa[i].first;
  EXPECT_LT(a.history().loss.back(), std::log(static_cast<double>(tok.vocab_size())));  // it learned something

  // The checkpoint: nanoGPT's names, the config and tokenizer in the metadata, no temporary left.
  io::Metadata meta;
  io::TensorMap t = io::load_safetensors(a_ckpt, &meta);
  for (const char* name : {"transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight",
                           "transformer.h.1.attn.c_attn.weight", "transformer.h.1.attn.c_proj.weight",
                           "transformer.h.0.ln_2.weight", "transformer.h.0.mlp.c_fc.weight",
                           "transformer.h.0.mlp.c_proj.weight", "transformer.ln_f.weight", "lm_head.weight"})
    EXPECT_TRUE(t.count(name)) << name;
  EXPECT_EQ(t["transformer.h.1.attn.c_attn.weight"].shape(), Shape({96, 32}));
  EXPECT_EQ(nn::GPTConfig::from_json(meta["model_config"]).to_json(), c.model.to_json());
  EXPECT_EQ(data::Tokenizer::deserialize(meta["tokenizer"])->serialize(), tok.serialize());
  for (const auto& entry : std::filesystem::directory_iterator(dir / "a"))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  train::LoadedModel lm = train::load_checkpoint(a_ckpt);
  EXPECT_EQ(test::max_abs_diff(lm.model->lm_head.weight, a.model().lm_head.weight), 0.0f);
  EXPECT_TRUE(lm.model->lm_head.weight.same(lm.model->transformer.wte.weight));
  std::filesystem::remove_all(dir);
}

TEST(Train, EvaluateUsesEveryFullWindow) {
  const std::string text = corpus();
  auto tok = data::CharTokenizer::from_text(text);
  set_seed(0);
  nn::GPT m({.block_size = 16, .vocab_size = tok.vocab_size(), .n_layer = 1, .n_head = 2, .n_embd = 16});
  std::vector<int64_t> ids = tok.encode(text.substr(0, 16 * 10 + 5));
  train::EvalResult r = train::evaluate(m, ids, 3);
  EXPECT_EQ(r.windows, 10);
  // the same by hand: one batch of all ten windows
  data::Batch b = data::eval_batch(ids, 16, 0, 10);
  NoGradGuard ng;
  EXPECT_NEAR(r.loss, cross_entropy(m(b.x), b.y_ids).item(), 1e-6);
}

TEST(Train, BadCheckpointsAreNamed) {
  const auto p = std::filesystem::temp_directory_path() / ("lj_bad_ckpt_" + std::to_string(::getpid()) + ".safetensors");
  io::save_safetensors(p.string(), {{"x", Tensor::zeros({2})}});
  try {
    train::load_checkpoint(p.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer"), std::string::npos) << e.what();
  }
  std::filesystem::remove(p);
  EXPECT_THROW(train::load_checkpoint("/nonexistent/checkpoint.safetensors"), Error);
}

// Two writers of one checkpoint (two runs on one folder, before the lock, or two trainers in one
// process) each write a temporary of their own: neither finds its temporary moved away by the other.
TEST(Train, TwoWritersOfOneCheckpointNeverShareATemporary) {
  const std::string text = corpus();
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig c = small_config();
  c.model.vocab_size = tok.vocab_size();
  const auto dir = std::filesystem::temp_directory_path() / ("lj_two_writers_" + std::to_string(::getpid()));
  const std::string ckpt = (dir / "checkpoint.safetensors").string();
  train::Trainer a(c, ds, tok), b(c, ds, tok);
  std::string errors[2];
  auto save_many = [&](train::Trainer& t, std::string& error) {
    try {
      for (int i = 0; i < 200; i++) t.save_checkpoint(ckpt);
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::thread ta(save_many, std::ref(a), std::ref(errors[0])), tb(save_many, std::ref(b), std::ref(errors[1]));
  ta.join();
  tb.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_NO_THROW(train::load_checkpoint(ckpt));
  std::filesystem::remove_all(dir);
}

TEST(Train, OutputLockRefusesASecondHolderAndClearsPartialSaves) {
  const auto dir = std::filesystem::temp_directory_path() / ("lj_lock_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto partial = dir / "checkpoint.safetensors.tmp";
  std::ofstream(partial) << "half a checkpoint";
  std::ofstream(dir / "notes.txt") << "kept";
  {
    train::OutputLock first(dir.string());
    EXPECT_FALSE(std::filesystem::exists(partial));
    ASSERT_EQ(first.removed().size(), 1u);
    EXPECT_EQ(first.removed()[0], partial.string());
    EXPECT_TRUE(std::filesystem::exists(dir / "notes.txt"));
    try {
      train::OutputLock second(dir.string());
      FAIL() << "a second lock on " << dir << " was granted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("another run is using the output folder " + dir.string()), std::string::npos)
          << e.what();
    }
  }
  EXPECT_NO_THROW(train::OutputLock again(dir.string()));  // released with its holder
  std::filesystem::remove_all(dir);
}

// The run loop reports each step and each estimate, and writes the checkpoint before on_eval is called.
TEST(Train, RunReportsEveryStepAndEstimate) {
  const std::string text = corpus();
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig c = small_config();
  c.model.vocab_size = tok.vocab_size();
  c.max_iters = 6;
  const auto dir = std::filesystem::temp_directory_path() / ("lj_run_" + std::to_string(::getpid()));
  const std::string ckpt = (dir / "checkpoint.safetensors").string();
  train::Trainer t(c, ds, tok);
  std::vector<int64_t> steps, evals;
  t.run({.checkpoint = ckpt,
         .on_eval =
             [&](const train::EvalPoint& e) {
               evals.push_back(e.iter);
               io::Metadata meta;
               io::load_safetensors(ckpt, &meta);
               EXPECT_EQ(meta.at("iter"), std::to_string(e.iter));
             },
         .on_step =
             [&](const train::StepReport& s) {
               steps.push_back(s.iter);
               EXPECT_EQ(s.loss, t.history().loss.back());
               EXPECT_TRUE(std::isfinite(s.grad_norm) && s.grad_norm > 0) << s.grad_norm;
             }});
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(evals, (std::vector<int64_t>{0, 4, 6}));
  std::filesystem::remove_all(dir);
}

// A learning rate of 1e30 makes the weights overflow within a few steps: the run stops at the first
// non-finite number, names it, and leaves the last finite checkpoint on disk.
TEST(Train, ADivergedRunStopsAndKeepsTheLastGoodCheckpoint) {
  const std::string text = corpus();
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig c = small_config();
  c.model.vocab_size = tok.vocab_size();
  c.lr = 1e30;
  c.min_lr = 0;
  c.warmup_iters = 0;
  c.eval_interval = 1;
  const auto dir = std::filesystem::temp_directory_path() / ("lj_diverged_" + std::to_string(::getpid()));
  const std::string ckpt = (dir / "checkpoint.safetensors").string();
  train::Trainer t(c, ds, tok);
  try {
    t.run({.checkpoint = ckpt});
    FAIL() << "a run at lr=1e30 finished " << t.iter() << " iterations";
  } catch (const train::NonFiniteError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("the run has diverged"), std::string::npos) << m;
    EXPECT_NE(m.find("the last good checkpoint, iteration "), std::string::npos) << m;
  }
  EXPECT_LT(t.iter(), c.max_iters);
  for (double l : t.history().loss) EXPECT_TRUE(std::isfinite(l));
  io::Metadata meta;
  io::TensorMap saved = io::load_safetensors(ckpt, &meta);
  EXPECT_LE(std::stoll(meta.at("iter")), t.iter());
  for (const auto& [name, tensor] : saved)
    for (float v : tensor.to_vector()) ASSERT_TRUE(std::isfinite(v)) << name;
  std::filesystem::remove_all(dir);
}

namespace {
// A checkpoint of a short run, and the expectation that loading `path` fails naming `fragment`.
std::string saved_checkpoint(const std::string& name) {
  const std::string text = corpus();
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig c = small_config();
  c.model.vocab_size = tok.vocab_size();
  c.max_iters = 2;
  const auto path = std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()) + ".safetensors");
  train::Trainer t(c, ds, tok);
  t.run();
  t.save_checkpoint(path.string());
  return path.string();
}
void expect_load_error(const std::string& path, const std::string& fragment) {
  for (int k = 0; k < 2; k++) {  // for generate and eval, and for train --resume
    try {
      if (k == 0) train::load_checkpoint(path);
      else {
        const std::string text = corpus();
        auto tok = data::CharTokenizer::from_text(text);
        data::Dataset ds(text, tok);
        train::Trainer::resume(path, ds);
      }
      ADD_FAILURE() << (k == 0 ? "load_checkpoint" : "resume") << " accepted " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}
}  // namespace

TEST(Train, AFlippedByteInTheDataIsRefused) {
  const std::string path = saved_checkpoint("lj_flipped_");
  const auto size = std::filesystem::file_size(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size - 6));  // inside the last tensor's data, far from the header
    char b;
    f.read(&b, 1);
    b = static_cast<char>(b ^ 0x10);
    f.seekp(static_cast<std::streamoff>(size - 6));
    f.write(&b, 1);
  }
  expect_load_error(path, "is damaged: its tensor data gives the checksum fnv1a64:");
  std::filesystem::remove(path);
}

TEST(Train, AFileWithoutAChecksumStillLoads) {
  const std::string path = saved_checkpoint("lj_no_checksum_");
  io::Metadata meta;
  io::TensorMap t = io::load_safetensors(path, &meta);
  ASSERT_EQ(meta.count("data_checksum"), 1u);
  meta.erase("data_checksum");
  io::save_safetensors(path, t, meta);
  EXPECT_NO_THROW(train::load_checkpoint(path));
  std::filesystem::remove(path);
}

// Rewrites the checkpoint at `path` with f applied to its tensors, and no checksum (as an older or
// foreign writer would), so only the checks on the values can catch what f did.
template <typename F>
void rewrite(const std::string& path, F f) {
  io::Metadata meta;
  io::TensorMap t = io::load_safetensors(path, &meta);
  meta.erase("data_checksum");
  f(t);
  io::save_safetensors(path, t, meta);
}

TEST(Train, TiedCopiesThatDisagreeAreRefused) {
  const std::string path = saved_checkpoint("lj_tied_");
  rewrite(path, [](io::TensorMap& t) { t.at("lm_head.weight").mutable_data()[5] += 1.0f; });
  expect_load_error(path, "is tied to '");
  std::filesystem::remove(path);
}

TEST(Train, NonFiniteWeightsAreRefused) {
  const std::string path = saved_checkpoint("lj_nan_");
  rewrite(path, [](io::TensorMap& t) { t.at("transformer.h.0.mlp.c_fc.weight").mutable_data()[3] = std::nanf(""); });
  expect_load_error(path, "'transformer.h.0.mlp.c_fc.weight' holds the non-finite value nan at index 3");
  std::filesystem::remove(path);
}

TEST(Train, NonFiniteSettingsAreNamed) {
  train::TrainConfig c = small_config();
  c.model.vocab_size = 10;
  c.lr = INFINITY;
  EXPECT_THROW(
      try { c.check(); } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("lr=inf must be a finite number"), std::string::npos) << e.what();
        throw;
      },
      Error);
}

// GPT-2 small (124M): 124,439,808 parameters with the tied embedding counted once, as Hugging Face's
// GPT2LMHeadModel reports them (nanoGPT's configuration: vocab 50257, block 1024, 12 x 768, biases).
TEST(Train, MemoryEstimateCountsGpt2SmallsParameters) {
  train::TrainConfig c;
  c.model = {.block_size = 1024, .vocab_size = 50257, .n_layer = 12, .n_head = 12, .n_embd = 768, .bias = true};
  const train::MemoryEstimate m = train::estimate_memory(c);
  EXPECT_EQ(m.parameters, 124439808.0);
  EXPECT_EQ(m.optimizer_bytes, 8 * 124439808.0);
}

TEST(Train, ARunTooLargeForTheMachineIsRefusedBeforeAllocating) {
  const std::string text = corpus();
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig c = small_config();
  c.model.vocab_size = tok.vocab_size();
  c.model.n_embd = 1000000;  // 12 x 2 x 10^12 weights: 96 TB, and 4 x that with gradients and moments
  c.model.n_head = 1;
  try {
    train::Trainer t(c, ds, tok);
    FAIL() << "a model of 24e12 parameters was built";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("train: this run needs about "), std::string::npos) << m;
    EXPECT_NE(m.find("but the machine has "), std::string::npos) << m;
    EXPECT_NE(m.find("n_embd=1000000"), std::string::npos) << m;
  }
}

TEST(Train, AFailedAllocationSaysWhatItWasFor) {
  try {
    Tensor t = Tensor::empty({int64_t{1} << 46});  // 256 TB
    FAIL() << "256 TB were allocated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of memory: cannot allocate 281474976710656 bytes"), std::string::npos)
        << e.what();
  }
}

// The MLP's width is a setting (d_ff; 0 keeps nanoGPT's 4 n_embd), saved with the model and read back.
TEST(Train, AnMlpWidthOfItsOwnIsBuiltSavedAndLoaded) {
  const std::string text = corpus();
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig c = small_config();
  c.model.vocab_size = tok.vocab_size();
  c.model.d_ff = 48;
  c.max_iters = 1;
  train::Trainer t(c, ds, tok);
  EXPECT_EQ(t.model().transformer.block(0).mlp.c_fc.weight.shape(), Shape({48, 32}));
  EXPECT_EQ(t.model().transformer.block(1).mlp.c_proj.weight.shape(), Shape({32, 48}));
  const auto path = std::filesystem::temp_directory_path() / ("lj_dff_" + std::to_string(::getpid()) + ".safetensors");
  t.run();
  t.save_checkpoint(path.string());
  EXPECT_EQ(train::load_checkpoint(path.string()).model->config.d_ff, 48);
  std::filesystem::remove(path);
  // nanoGPT's config JSON (no d_ff) still reads as 4 n_embd
  EXPECT_EQ(nn::GPTConfig::from_json(R"({"block_size":8,"vocab_size":5,"n_layer":1,"n_head":2,"n_embd":16})").mlp_width(), 64);
}
