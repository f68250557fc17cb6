#include <cmath>

#include "llm_journey/nn/gpt.hpp"
#include "llm_journey/ops_lm.hpp"
#include "torch_ref.hpp"

using namespace lj;
using lj::test::max_abs_diff;
using lj::test::RefFile;

namespace {

struct Case {
  const char* name;
  nn::GPTConfig config;
  uint64_t seed;
};

const Case kCases[] = {
    {"gpt_small", {.block_size = 16, .vocab_size = 65, .n_layer = 2, .n_head = 4, .n_embd = 32}, 5},
    {"gpt_small_bias", {.block_size = 16, .vocab_size = 65, .n_layer = 2, .n_head = 4, .n_embd = 32, .bias = true}, 6},
    {"gpt_cpu", {.block_size = 64, .vocab_size = 65, .n_layer = 4, .n_head = 4, .n_embd = 128}, 7},
};

class GPTvsTorch : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(GPTvsTorch, InitialisationIsNanoGPTsFromTheSameDraws) {
  const Case& c = GetParam();
  RefFile r(c.name);
  set_seed(c.seed);
  nn::GPT model(c.config);
  size_t n = 0;
  for (auto& [name, p] : model.named_parameters()) {
    ASSERT_TRUE(r.has("init." + name)) << name;
    EXPECT_TRUE(test::close_abs(p, r["init." + name], 1e-7f)) << name;
    n++;
  }
  size_t want = 0;
  for (auto& [name, t] : r.all()) want += name.rfind("init.", 0) == 0;
  EXPECT_EQ(n, want);  // the same names, lm_head.weight included (tied)
  EXPECT_TRUE(model.lm_head.weight.same(model.transformer.wte.weight));
}

TEST_P(GPTvsTorch, LogitsLossAndGradientsMatch) {
  const Case& c = GetParam();
  RefFile r(c.name);
  nn::GPT model(c.config);
  for (auto& [name, p] : model.named_parameters()) p.copy_(r["init." + name]);
  Tensor logits = model(r["idx"]);
  EXPECT_TRUE(test::close_abs(logits, r["logits"], 1e-5f));
  Tensor loss = cross_entropy(logits, r["targets"]);
  EXPECT_NEAR(loss.item(), r["loss"].item(), 1e-5);
  loss.backward();
  for (auto& [name, p] : model.named_parameters()) {
    if (name == "lm_head.weight") continue;  // the tied weight: its gradient is wte's
    EXPECT_TRUE(test::close_rel(p.grad(), r["grad." + name], 1e-4f)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, GPTvsTorch, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(GPT, CountsTheTiedWeightOnce) {
  nn::GPTConfig shakespeare{.block_size = 256, .vocab_size = 65, .n_layer = 6, .n_head = 6, .n_embd = 384};
  nn::GPT m(shakespeare);
  EXPECT_EQ(count_parameters(m), 10745088);
}

TEST(GPT, CountsGPT2Small) {
  nn::GPTConfig gpt2{.block_size = 1024, .vocab_size = 50257, .n_layer = 12, .n_head = 12, .n_embd = 768, .bias = true};
  nn::GPT m(gpt2);
  EXPECT_EQ(count_parameters(m), 124439808);
}

TEST(GPT, ConfigChecksAndJson) {
  nn::GPTConfig c{.block_size = 8, .vocab_size = 10, .n_layer = 1, .n_head = 3, .n_embd = 16};
  try {
    nn::GPT m(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("n_embd=16 is not divisible by n_head=3"), std::string::npos) << e.what();
  }
  c.n_head = 4;
  c.bias = true;
  c.dropout = 0.25;
  nn::GPTConfig d = nn::GPTConfig::from_json(c.to_json());
  EXPECT_EQ(d.to_json(), c.to_json());
  EXPECT_THROW(nn::GPTConfig::from_json("{\"block_size\": 8}"), Error);
  EXPECT_THROW(nn::GPTConfig::from_json("not json"), Error);
  nn::GPT m(d);
  EXPECT_THROW(m(Tensor::zeros({1, 9})), Error);   // longer than block_size
  EXPECT_THROW(m(Tensor::full({1, 2}, 10)), Error);  // id out of range
}

TEST(GPT, NoFutureTokenLeaks) {
  set_seed(1);
  nn::GPT m({.block_size = 12, .vocab_size = 20, .n_layer = 2, .n_head = 2, .n_embd = 16});
  Tensor a = randint(0, 20, {1, 12});
  Tensor b = a.clone();
  b.mutable_data()[11] = static_cast<float>((static_cast<int>(a.data()[11]) + 1) % 20);
  Tensor la = m(a), lb = m(b);
  EXPECT_EQ(max_abs_diff(la.slice(1, 0, 11), lb.slice(1, 0, 11)), 0.0f);
  EXPECT_GT(max_abs_diff(la.slice(1, 11, 12), lb.slice(1, 11, 12)), 0.0f);
}

TEST(Generate, CacheGivesTheSameLogitsAndTokens) {
  set_seed(2);
  nn::GPT m({.block_size = 16, .vocab_size = 30, .n_layer = 2, .n_head = 4, .n_embd = 32, .bias = true});
  m.eval();
  Tensor prompt = randint(0, 30, {2, 5});
  // logits: prefill 5, then one position at a time, against full recomputation
  nn::KVCache cache = m.make_cache(2);
  Tensor seq = randint(0, 30, {2, 16});
  Tensor lc = m.forward_cached(seq.slice(1, 0, 5), cache);
  Tensor full = m(seq);
  EXPECT_LT(max_abs_diff(lc, full.slice(1, 0, 5)), 1e-5f);
  for (int64_t t = 5; t < 16; t++) {
    Tensor l1 = m.forward_cached(seq.slice(1, t, t + 1), cache);
    EXPECT_LT(max_abs_diff(l1, full.slice(1, t, t + 1)), 1e-5f) << t;
  }
  EXPECT_THROW(m.forward_cached(seq.slice(1, 0, 1), cache), Error);  // full
  // tokens: 30 new ones, past block_size, sampled with temperature and top-k
  for (int64_t top_k : {0, 5}) {
    Generator g1(7), g2(7);
    nn::SampleOptions with{.temperature = 0.8, .top_k = top_k, .use_cache = true};
    nn::SampleOptions without = with;
    without.use_cache = false;
    Tensor a = nn::generate(m, prompt, 30, with, g1);
    Tensor b = nn::generate(m, prompt, 30, without, g2);
    EXPECT_EQ(a.shape(), Shape({2, 35}));
    EXPECT_EQ(max_abs_diff(a, b), 0.0f) << "top_k " << top_k;
    EXPECT_EQ(max_abs_diff(a.slice(1, 0, 5), prompt), 0.0f);
  }
  // a one-token prompt (the cache starts empty)
  Generator g3(8), g4(8);
  Tensor one = prompt.slice(1, 0, 1).contiguous();
  EXPECT_EQ(max_abs_diff(nn::generate(m, one, 20, {.use_cache = true}, g3),
                         nn::generate(m, one, 20, {.use_cache = false}, g4)), 0.0f);
}

TEST(Generate, SamplingRespectsTopKAndSeed) {
  std::vector<float> logits{0.0f, 5.0f, 4.0f, -3.0f, 1.0f};
  Generator g(3);
  for (int i = 0; i < 200; i++) {
    int64_t t = nn::sample_token(logits.data(), 5, {.temperature = 1.0, .top_k = 2}, g);
    EXPECT_TRUE(t == 1 || t == 2) << t;
  }
  EXPECT_EQ(nn::sample_token(logits.data(), 5, {.temperature = 0.0}, g), 1);  // greedy
  Generator a(9), b(9);
  for (int i = 0; i < 20; i++)
    EXPECT_EQ(nn::sample_token(logits.data(), 5, {}, a), nn::sample_token(logits.data(), 5, {}, b));
  EXPECT_THROW(nn::sample_token(logits.data(), 5, {.temperature = -1.0}, g), Error);
}
