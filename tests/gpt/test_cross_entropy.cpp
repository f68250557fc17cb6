#include <cmath>

#include "llm_journey/ops_lm.hpp"
#include "torch_ref.hpp"

using namespace lj;
using lj::test::RefFile;
using lj::test::max_abs_diff;

class CrossEntropy : public ::testing::TestWithParam<const char*> {};

TEST_P(CrossEntropy, LossAndGradientMatchTorch) {
  RefFile r("gpt_ops");
  const std::string k = std::string("ce.") + GetParam() + ".";
  Tensor x = r[k + "logits"].clone().detach().requires_grad_();
  Tensor loss = cross_entropy(x, r[k + "targets"]);
  EXPECT_NEAR(loss.item(), r[k + "loss"].item(), 2e-6 * std::max(1.0f, std::abs(r[k + "loss"].item())));
  loss.backward(Tensor::scalar(0.7f));
  EXPECT_TRUE(test::close_abs(x.grad(), r[k + "grad"], 1e-7f));
}

INSTANTIATE_TEST_SUITE_P(Cases, CrossEntropy, ::testing::Values("small", "wide", "gpt2"));

TEST(CrossEntropyChecks, AcceptsBatchedLogitsAndIntegerTargets) {
  RefFile r("gpt_ops");
  Tensor x = r["ce.wide.logits"];
  std::vector<int64_t> t = tensor_to_ids(r["ce.wide.targets"]);
  Tensor l3 = cross_entropy(x.reshape({8, 8, 65}), t);
  EXPECT_NEAR(l3.item(), r["ce.wide.loss"].item(), 1e-5);
}

TEST(CrossEntropyChecks, AllIgnoredIsNaNAndBadTargetsAreNamed) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_TRUE(std::isnan(cross_entropy(x, std::vector<int64_t>{-100, -100}).item()));
  try {
    cross_entropy(x, std::vector<int64_t>{0, 3});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("target 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cross_entropy(x, std::vector<int64_t>{0}), Error);
}

TEST(CrossEntropyChecks, UniformLogitsGiveLogV) {
  Tensor x = Tensor::zeros({4, 65});
  EXPECT_NEAR(cross_entropy(x, std::vector<int64_t>{0, 1, 2, 64}).item(), std::log(65.0), 1e-6);
}
