// nanoGPT's CPU configuration trained for 2000 iterations on tiny-shakespeare must reach the
// validation loss that PyTorch reaches with the same model, configuration and seed: 1.9049, the mean
// over every window of the whole validation split, measured by tools/quality_reference.py with
// Debian's torch 1.13.1 (its 20-batch estimate: 1.9017). nanoGPT's README quotes "1.88" for this
// configuration; neither PyTorch's run nor ours reaches it (see the closing note), so the
// bar is PyTorch's own figure, not a number of ours. The loss checked here is the whole split's
// (less noisy than nanoGPT's 20-batch estimate, which is printed too).
//
// The same run with bf16 autocast (TrainConfig::dtype) must end within 0.01 of the fp32 run.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "data/data_test_util.hpp"
#include "llm_journey/train.hpp"
#include "torch_ref.hpp"

using namespace lj;

namespace {

// nanoGPT's CPU configuration, trained with the products in `dtype`; the whole val split's loss.
double train_cpu_config(const data::CharTokenizer& tok, const data::Dataset& ds, Dtype dtype) {
  train::TrainConfig c;
  c.model = {.block_size = 64, .vocab_size = tok.vocab_size(), .n_layer = 4, .n_head = 4, .n_embd = 128,
             .dropout = 0.0, .bias = false};
  c.batch_size = 12;
  c.max_iters = 2000;
  c.lr = 1e-3;
  c.min_lr = 1e-4;
  c.warmup_iters = 100;
  c.weight_decay = 0.1;
  c.beta1 = 0.9;
  c.beta2 = 0.99;
  c.grad_clip = 1.0;
  c.eval_iters = 20;
  c.eval_interval = c.max_iters;  // estimates at the start and the end only
  c.dtype = dtype;
  auto t0 = std::chrono::steady_clock::now();
  train::Trainer t(c, ds, tok);
  t.run();
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const train::EvalPoint est = t.history().evals.back();
  train::EvalResult full = train::evaluate(t.model(), ds.val(), 64);
  std::printf("%s: 2000 iterations in %.1f s; estimate: train %.4f val %.4f; whole val split (%lld windows): %.4f\n",
              dtype_name(dtype), train_s, est.train_loss, est.val_loss, static_cast<long long>(full.windows),
              full.loss);
  return full.loss;
}

}  // namespace

// And the same run in mixed precision (bf16 autocast, fp32 master weights) ends within 0.01 of the
// fp32 run with the same seed. In one test, so that the fp32 run serves both checks.
TEST(Quality, NanoGPTCpuConfigReachesPyTorchValLoss) {
  const std::string path = test::shakespeare_path();
  if (!test::file_exists(path)) GTEST_SKIP() << "no corpus at " << path << " (make data)";
  const std::string text = data::read_text_file(path);
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  const double fp32 = train_cpu_config(tok, ds, Dtype::f32);
  constexpr double kPyTorchWholeSplitValLoss = 1.9049;
  EXPECT_LE(fp32, kPyTorchWholeSplitValLoss);
  const double bf16 = train_cpu_config(tok, ds, Dtype::bf16);
  EXPECT_NEAR(bf16, fp32, 0.01) << "bf16 autocast against fp32, same seed";
  EXPECT_NE(bf16, fp32);  // the products did run in bf16
}
