#include <cmath>

#include "llm_journey/nn/embedding.hpp"
#include "llm_journey/ops_lm.hpp"
#include "torch_ref.hpp"

using namespace lj;
using lj::test::RefFile;
using lj::test::max_abs_diff;

TEST(Embedding, InitIsTorchsDraws) {
  RefFile r("gpt_ops");
  set_seed(11);
  nn::Embedding emb(65, 32);
  EXPECT_EQ(max_abs_diff(emb.weight, r["embedding.init"]), 0.0f);
}

TEST(Embedding, ForwardAndBackwardMatchTorch) {
  RefFile r("gpt_ops");
  set_seed(11);
  nn::Embedding emb(65, 32);
  Tensor y = emb(r["embedding.ids"]);
  EXPECT_EQ(y.shape(), Shape({4, 9, 32}));
  EXPECT_EQ(max_abs_diff(y, r["embedding.out"]), 0.0f);
  y.backward(r["embedding.dy"]);
  EXPECT_TRUE(test::close_abs(emb.weight.grad(), r["embedding.grad"], 1e-6f));  // repeated ids sum
}

TEST(Embedding, BadIdsAreNamed) {
  Tensor w = Tensor::zeros({5, 3});
  try {
    embedding(w, Tensor::from_vector({1, 5}, {2}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("index 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(embedding(w, Tensor::from_vector({1.5f}, {1})), Error);
  EXPECT_THROW(embedding(w, Tensor::from_vector({-1}, {1})), Error);
}

TEST(PositionalEncoding, IsTheSinusoidFormula) {
  const int64_t d = 10, L = 50;
  nn::PositionalEncoding pe(d, L);
  for (int64_t pos = 0; pos < L; pos++)
    for (int64_t j = 0; j < d; j++) {
      const int64_t i2 = j - j % 2;  // 2i
      const double angle = pos / std::pow(10000.0, static_cast<double>(i2) / d);
      const double want = j % 2 == 0 ? std::sin(angle) : std::cos(angle);
      EXPECT_NEAR(pe.pe.data()[pos * d + j], want, 1e-6) << pos << "," << j;
    }
  Tensor x = Tensor::zeros({2, 7, d});
  Tensor y = pe(x);
  EXPECT_EQ(max_abs_diff(y.select(0, 1), pe.pe.slice(0, 0, 7)), 0.0f);
  EXPECT_EQ(count_parameters(pe), 0);
  EXPECT_THROW(pe(Tensor::zeros({1, L + 1, d})), Error);
}

TEST(LearnedPositionalEmbedding, AddsATrainedTable) {
  set_seed(3);
  nn::LearnedPositionalEmbedding pos(8, 16);
  Tensor x = randn({2, 5, 8}).requires_grad_();
  Tensor y = pos(x);
  EXPECT_EQ(max_abs_diff(y.select(0, 0), x.select(0, 0) + pos.positions.weight.slice(0, 0, 5)), 0.0f);
  y.sum().backward();
  // each of the first 5 positions is used by both sequences
  EXPECT_FLOAT_EQ(pos.positions.weight.grad().data()[0], 2.0f);
  EXPECT_FLOAT_EQ(pos.positions.weight.grad().data()[5 * 8], 0.0f);
  EXPECT_EQ(count_parameters(pos), 16 * 8);
}
