// Module behaviour: names, counts, modes, dropout, attention weights, masks.
#include <cmath>

#include "llm_journey/nn/init.hpp"
#include "torch_ref.hpp"

namespace lj {
namespace {

TEST(Modules, ParameterNamesInCreationOrder) {
  nn::TransformerBlock block(64, 8, 256);
  std::vector<std::string> names;
  for (auto& [n, p] : block.named_parameters()) names.push_back(n);
  std::vector<std::string> want = {
      "attention.w_q.weight",        "attention.w_q.bias",          "attention.w_k.weight", "attention.w_k.bias",
      "attention.w_v.weight",        "attention.w_v.bias",          "attention.w_o.weight", "attention.w_o.bias",
      "feed_forward.linear1.weight", "feed_forward.linear1.bias",   "feed_forward.linear2.weight",
      "feed_forward.linear2.bias",   "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"};
  EXPECT_EQ(names, want);
}

TEST(Modules, CountParametersKnownAnswers) {
  EXPECT_EQ(count_parameters(*std::make_unique<nn::MultiHeadAttention>(64, 8)), 16640);
  nn::TransformerBlock block(64, 8, 256);
  EXPECT_EQ(count_parameters(block), 49984);
  // torch.nn.TransformerEncoderLayer(128, nhead, dim_feedforward=256) has 132,480 parameters.
  nn::TransformerBlock enc(128, 8, 256);
  EXPECT_EQ(count_parameters(enc), 132480);
  nn::ModuleList blocks;
  for (int i = 0; i < 6; i++) blocks.push_back(nn::TransformerBlock(64, 8, 256));
  EXPECT_EQ(count_parameters(blocks), 299904);
}

// A module whose two children share one weight tensor (tied weights).
struct Tied : nn::Module {
  nn::Linear a{4, 4, false}, b{4, 4, false};
  Tied() { b.weight = a.weight; }
  std::string type_name() const override { return "Tied"; }
  void visit(nn::Visitor& v) override {
    v.child("a", a);
    v.child("b", b);
  }
};

TEST(Modules, SharedTensorsCountOnce) {
  Tied t;
  EXPECT_EQ(t.named_parameters().size(), 2u);
  EXPECT_EQ(count_parameters(t), 16);
}

TEST(Modules, FrozenParametersDoNotCount) {
  nn::Linear lin(3, 2);
  lin.bias = lin.bias.detach();  // requires_grad off
  EXPECT_EQ(count_parameters(lin), 6);
}

TEST(Modules, TrainAndEvalReachEveryChild) {
  nn::ModuleList blocks;
  blocks.push_back(nn::TransformerBlock(16, 2, 32, 0.1));
  blocks.push_back(nn::TransformerBlock(16, 2, 32, 0.1));
  blocks.eval();
  for (auto& [n, m] : blocks.named_modules()) EXPECT_FALSE(m->is_training()) << n;
  blocks.train();
  for (auto& [n, m] : blocks.named_modules()) EXPECT_TRUE(m->is_training()) << n;
}

TEST(Modules, DropoutIsIdentityInEvalAndScalesInTraining) {
  set_seed(0);
  nn::Dropout drop(0.25);
  Tensor x = Tensor::ones({100000});
  Tensor y = drop(x);
  int64_t zeros = 0;
  for (float v : y.to_vector()) {
    if (v == 0.0f) zeros++;
    else EXPECT_FLOAT_EQ(v, 1.0f / 0.75f);
  }
  EXPECT_NEAR(static_cast<double>(zeros) / 100000.0, 0.25, 0.01);
  drop.eval();
  EXPECT_TRUE(drop(x).same(x));
}

TEST(Modules, EvalModeIsDeterministic) {
  set_seed(1);
  nn::TransformerBlock block(32, 4, 64, 0.3);
  Tensor x = randn({2, 5, 32});
  block.eval();
  EXPECT_EQ(block(x).to_vector(), block(x).to_vector());
  block.train();
  EXPECT_NE(block(x).to_vector(), block(x).to_vector());
}

// A run that asks for the weights against one that does not, bit for bit: at a short sequence (whose
// kernel keeps them anyway) and at a long one (flash attention, which makes them only when asked).
TEST(Modules, AskingForAttentionWeightsNeverChangesTheOutput) {
  set_seed(2);
  nn::MultiHeadAttention mha(32, 4, 0.0, /*causal=*/true);
  for (int64_t T : {6, 300}) {
    SCOPED_TRACE("T=" + std::to_string(T));
    Tensor x = randn({2, T, 32});
    mha.need_weights = false;
    Tensor y_not_asked = mha(x, x, x);
    if (T == 300)  // flash kept none, and says how to have them
      EXPECT_THROW(mha.attention_weights(), Error);
    mha.need_weights = true;
    Tensor y_asked = mha(x, x, x);
    EXPECT_EQ(y_not_asked.to_vector(), y_asked.to_vector());
    Tensor w = mha.attention_weights();
    EXPECT_EQ(w.shape(), (Shape{2, 4, T, T}));
    // rows of the weights sum to 1, and nothing above the diagonal
    auto v = w.to_vector();
    for (size_t r = 0; r < v.size() / T; r++) {
      double s = 0;
      for (int64_t j = 0; j < T; j++) s += v[r * T + j];
      EXPECT_NEAR(s, 1.0, 1e-6);
      for (int64_t j = r % T + 1; j < T; j++) EXPECT_EQ(v[r * T + j], 0.0f);
    }
  }
}

TEST(Modules, CausalAttentionLeaksNoFutureToken) {
  set_seed(3);
  nn::TransformerBlock block(32, 4, 64, 0.0, {.causal = true});
  block.eval();
  Tensor x = randn({1, 8, 32});
  Tensor y = block(x);
  // Changing token 5 must leave outputs 0..4 untouched, bit for bit.
  Tensor x2 = x.clone().detach();
  for (int j = 0; j < 32; j++) x2.mutable_data()[5 * 32 + j] += 10.0f;
  Tensor y2 = block(x2);
  EXPECT_EQ(y.slice(1, 0, 5).to_vector(), y2.slice(1, 0, 5).to_vector());
  EXPECT_NE(y.slice(1, 5, 6).to_vector(), y2.slice(1, 5, 6).to_vector());
  // and the weights above the diagonal are exactly zero
  auto w = block.attention.attention_weights().to_vector();
  for (int h = 0; h < 4; h++)
    for (int i = 0; i < 8; i++)
      for (int j = i + 1; j < 8; j++) EXPECT_EQ(w[(h * 8 + i) * 8 + j], 0.0f);
}

TEST(Modules, CausalFlagEqualsExplicitMask) {
  set_seed(4);
  Tensor q = randn({2, 3, 5, 4}), k = randn({2, 3, 5, 4}), v = randn({2, 3, 5, 4});
  auto a = scaled_dot_product_attention(q, k, v, Tensor(), true);
  auto b = scaled_dot_product_attention(q, k, v, causal_mask(5));
  EXPECT_EQ(a.output.to_vector(), b.output.to_vector());
}

TEST(Modules, FullyMaskedRowsGiveZerosNotNaN) {
  set_seed(5);
  Tensor q = randn({1, 2, 3, 4}), k = randn({1, 2, 3, 4}), v = randn({1, 2, 3, 4});
  Tensor mask = Tensor::zeros({3, 3});
  auto r = scaled_dot_product_attention(q, k, v, mask);
  for (float x : r.output.to_vector()) EXPECT_EQ(x, 0.0f);
  for (float x : r.weights.to_vector()) EXPECT_EQ(x, 0.0f);
}

// nn::Linear keeps W^T for inputs of few rows; a weight changed in place (through data(), by an
// optimizer, by load_state_dict) must be seen at the next call, exactly as without the cache.
TEST(Modules, LinearSeesItsWeightChangeAfterACachedCall) {
  set_seed(6);
  nn::Linear lin(64, 32);
  Tensor x = randn({2, 10, 64});  // 20 rows: the cached path
  NoGradGuard no_grad;
  auto close = [](const Tensor& a, const Tensor& b) {
    auto u = a.to_vector(), v = b.to_vector();
    float e = 0;
    for (size_t i = 0; i < u.size(); i++) e = std::max(e, std::fabs(u[i] - v[i]));
    return e;
  };
  EXPECT_LT(close(lin(x), linear(x, lin.weight, lin.bias)), 1e-5f);
  lin.weight.mutable_data()[5 * 64 + 7] += 1.0f;  // one element, in place
  Tensor y = lin(x), ref = linear(x, lin.weight, lin.bias);
  EXPECT_LT(close(y, ref), 1e-5f);
  EXPECT_NEAR(y.to_vector()[5], ref.to_vector()[5], 1e-5f);  // row 0, output 5 moved by x[0, 7]
  lin.weight.fill_(0.5f);  // every element
  EXPECT_LT(close(lin(x), linear(x, lin.weight, lin.bias)), 1e-4f);
  lin.weight = randn({32, 64});  // a new tensor
  EXPECT_LT(close(lin(x), linear(x, lin.weight, lin.bias)), 1e-5f);
  Tensor one = randn({1, 64});  // a single row (generation with a KV cache)
  EXPECT_LT(close(lin(one), linear(one, lin.weight, lin.bias)), 1e-4f);
}

// The cache trusts an unchanged storage version only while every write to the weight went through
// the library (init, copy_, fill_, an optimizer step). Reading through data() keeps that trust; once
// mutable_data() has handed out a pointer it compares values, so that a write through a pointer taken long before is still seen.
TEST(Modules, LinearCacheTrustsTheVersionOnlyOfTrackedWrites) {
  set_seed(7);
  nn::Linear lin(64, 32);
  Tensor x = randn({20, 64});
  auto error = [&] {
    NoGradGuard no_grad;
    auto u = lin(x).to_vector(), v = linear(x, lin.weight, lin.bias).to_vector();
    float e = 0;
    for (size_t i = 0; i < u.size(); i++) e = std::max(e, std::fabs(u[i] - v[i]));
    return e;
  };
  using Stats = LinearWeightCache::Stats;
  auto expect_stats = [&](int64_t by_version, int64_t by_compare, int64_t rebuilt) {
    const Stats s = lin.weight_cache_stats();
    EXPECT_EQ(s.unchanged_by_version, by_version);
    EXPECT_EQ(s.unchanged_by_compare, by_compare);
    EXPECT_EQ(s.rebuilt, rebuilt);
  };
  EXPECT_LT(error(), 1e-5f);
  EXPECT_LT(error(), 1e-5f);
  expect_stats(1, 0, 1);  // built once, then trusted by version

  // An optimizer step changes every weight in place.
  optim::AdamW opt(lin.parameters(), {});
  lin(x).sum().backward();
  opt.step();
  EXPECT_LT(error(), 1e-5f);
  expect_stats(2, 0, 2);  // the forward before the step was served by version too

  // copy_, fill_ and init write in place too; copying equal values is found equal by comparing.
  lin.weight.copy_(randn({32, 64}));
  EXPECT_LT(error(), 1e-5f);
  lin.weight.copy_(lin.weight.clone());
  EXPECT_LT(error(), 1e-5f);
  nn::init::normal_(lin.weight, 0.0, 0.1);
  EXPECT_LT(error(), 1e-5f);
  lin.weight.fill_(0.25f);
  EXPECT_LT(error(), 1e-5f);
  EXPECT_LT(error(), 1e-5f);
  expect_stats(3, 1, 5);

  // Reading through data() (printing a weight's statistics, say) changes nothing: still trusted.
  EXPECT_NE(lin.weight.data(), nullptr);
  EXPECT_GT(lin.weight.std().item(), -1.0f);
  EXPECT_LT(error(), 1e-5f);
  expect_stats(4, 1, 5);

  // A mutable pointer, taken before the next calls and written through after them.
  float* w = lin.weight.mutable_data();
  EXPECT_LT(error(), 1e-5f);
  EXPECT_LT(error(), 1e-5f);
  w[3 * 64 + 5] = 2.0f;
  EXPECT_LT(error(), 1e-5f);
  w[7] = -1.0f;
  EXPECT_LT(error(), 1e-5f);
  expect_stats(4, 3, 7);  // no longer trusted by version, however unchanged
}

TEST(Modules, PrintsLikePyTorch) {
  nn::FeedForward ff(4, 8);
  EXPECT_EQ(ff.str(),
            "FeedForward(\n  activation=relu\n  (linear1): Linear(in_features=4, out_features=8, bias=True)\n"
            "  (linear2): Linear(in_features=8, out_features=4, bias=True)\n)");
}

}  // namespace
}  // namespace lj
