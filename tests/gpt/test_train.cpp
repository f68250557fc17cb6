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

// The command's loop: estimate (and checkpoint) every eval_interval iterations, stop at `stop`.
void run(train::Trainer& t, const std::string& ckpt, int64_t stop) {
  while (true) {
    const auto& ev = t.history().evals;
    if ((t.iter() % t.config().eval_interval == 0 || t.done()) && (ev.empty() || ev.back().iter != t.iter())) {
      t.estimate_loss();
      t.save_checkpoint(ckpt);
    }
    if (t.done() || t.iter() == stop) break;
    t.step();
  }
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
  run(a, a_ckpt, -1);

  {
    train::Trainer b(c, ds, tok);
    run(b, b_ckpt, 6);  // stopped between two evaluations
    b.save_checkpoint(b_ckpt);
  }
  auto b = train::Trainer::resume(b_ckpt, ds);
  EXPECT_EQ(b->iter(), 6);
  run(*b, b_ckpt, -1);

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
      for (int i = 0; i < 20; i++) t.save_checkpoint(ckpt);
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
