// The generator and the default initialisation against torch's, draw for draw.
#include "torch_ref.hpp"

namespace lj {
namespace {

using test::RefFile;

TEST(Random, RandnRandBernoulliRandintMatchTorch) {
  RefFile ref("rng");
  for (int seed : {0, 42, 1234}) {
    set_seed(seed);
    for (int n : {1, 2, 3, 5, 15, 16, 17, 31, 32, 100, 1000, 1280}) {
      std::string key = "randn." + std::to_string(seed) + "." + std::to_string(n);
      // bit for bit, including the AVX2 path torch takes for 16 or more values
      EXPECT_EQ(randn({n}).to_vector(), ref[key].to_vector()) << key;
    }
    for (int n : {1, 7, 100}) {
      std::string key = "rand." + std::to_string(seed) + "." + std::to_string(n);
      EXPECT_EQ(rand({n}).to_vector(), ref[key].to_vector()) << key;
    }
    Tensor b = Tensor::empty({300});
    default_generator().fill_bernoulli(b.mutable_data(), 300, 0.9);
    EXPECT_EQ(b.to_vector(), ref["bernoulli." + std::to_string(seed)].to_vector());
    EXPECT_EQ(randint(0, 65, {50}).to_vector(), ref["randint." + std::to_string(seed)].to_vector());
    EXPECT_EQ(randn({7, 9}).to_vector(), ref["randn2d." + std::to_string(seed)].to_vector());
  }
}

TEST(Random, SameSeedSameSequence) {
  set_seed(5);
  auto a = randn({40}).to_vector();
  auto b = randn({3}).to_vector();
  set_seed(5);
  EXPECT_EQ(randn({40}).to_vector(), a);
  EXPECT_EQ(randn({3}).to_vector(), b);
}

TEST(Random, StateRoundTrip) {
  set_seed(9);
  randn({3});  // leaves a cached normal sample
  std::string s = default_generator().state();
  auto a = randn({5}).to_vector();
  default_generator().set_state(s);
  EXPECT_EQ(randn({5}).to_vector(), a);
  EXPECT_THROW(default_generator().set_state("garbage"), Error);
}

TEST(Init, DefaultInitialisationMatchesTorch) {
  RefFile ref("init");
  set_seed(7);
  nn::Linear lin(64, 32);
  nn::LayerNorm ln(64);
  nn::MultiHeadAttention mha(64, 8);
  nn::TransformerBlock block(64, 8, 256, 0.1);
  EXPECT_TRUE(test::close_abs(lin.weight, ref["linear.weight"], 0));
  EXPECT_TRUE(test::close_abs(lin.bias, ref["linear.bias"], 0));
  EXPECT_TRUE(test::close_abs(ln.weight, ref["ln.weight"], 0));
  EXPECT_TRUE(test::close_abs(ln.bias, ref["ln.bias"], 0));
  for (auto& [name, p] : mha.named_parameters()) EXPECT_TRUE(test::close_abs(p, ref["mha." + name], 0)) << name;
  for (auto& [name, p] : block.named_parameters()) EXPECT_TRUE(test::close_abs(p, ref["block." + name], 0)) << name;
  // torch.nn.Embedding(65, 32) draws N(0, 1) next.
  Tensor emb = randn({65, 32});
  EXPECT_EQ(emb.to_vector(), ref["embedding.weight"].to_vector());
  // Training-mode dropout draws the same masks as torch: the same output.
  Tensor x = randn({2, 10, 64});
  EXPECT_EQ(x.to_vector(), ref["block.x"].to_vector());
  EXPECT_TRUE(test::close_abs(block(x), ref["block.train_out"], 1e-5f));
}

}  // namespace
}  // namespace lj
