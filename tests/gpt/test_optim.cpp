#include <cmath>

#include "llm_journey/nn/embedding.hpp"
#include "llm_journey/nn/transformer.hpp"
#include "llm_journey/optim.hpp"
#include "torch_ref.hpp"

using namespace lj;
using lj::test::RefFile;
using lj::test::max_abs_diff;

TEST(AdamW, TwelveStepsWithClippingAndScheduleMatchTorch) {
  RefFile r("gpt_ops");
  Tensor w = r["adamw.w0"].clone().detach().requires_grad_();
  Tensor b = r["adamw.b0"].clone().detach().requires_grad_();
  optim::AdamW opt({{{w}, 0.1}, {{b}, 0.0}}, {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8});
  for (int s = 0; s < 12; s++) {
    const std::string k = std::to_string(s);
    w.impl()->grad = r["adamw.gw." + k].clone().impl_ptr();
    b.impl()->grad = r["adamw.gb." + k].clone().impl_ptr();
    const double norm = optim::clip_grad_norm({w, b}, s % 2 == 0 ? 1.0 : 1e9);
    EXPECT_NEAR(norm, r["adamw.norm." + k].item(), 1e-5 * norm);
    EXPECT_TRUE(test::close_rel(w.grad(), r["adamw.clipped_gw." + k], 1e-6f)) << "step " << s;
    const double lr = optim::cosine_lr(s, 1e-2, 1e-3, 3, 10);
    EXPECT_FLOAT_EQ(static_cast<float>(lr), r["adamw.lr." + k].item());
    opt.set_lr(lr);
    opt.step();
    EXPECT_TRUE(test::close_abs(w, r["adamw.w." + k], 2e-6f)) << "step " << s;
    EXPECT_TRUE(test::close_abs(b, r["adamw.b." + k], 2e-6f)) << "step " << s;
  }
  auto st = opt.state();
  EXPECT_TRUE(test::close_rel(st[0].second, r["adamw.exp_avg_w"], 1e-6f));
  EXPECT_TRUE(test::close_rel(st[1].second, r["adamw.exp_avg_sq_w"], 1e-6f));
}

// The trainer's clipping: step(clip_coefficient(grad_norm)) leaves the weights and the state exactly
// as clip_grad_norm then step() does, whether the coefficient clips or not.
TEST(AdamW, GradScaleIsClippingBitForBit) {
  RefFile r("gpt_ops");
  Tensor w1 = r["adamw.w0"].clone().detach().requires_grad_(), w2 = w1.clone().detach().requires_grad_();
  Tensor b1 = r["adamw.b0"].clone().detach().requires_grad_(), b2 = b1.clone().detach().requires_grad_();
  optim::AdamW clipped({{{w1}, 0.1}, {{b1}, 0.0}}, {.lr = 1e-2, .beta2 = 0.99});
  optim::AdamW scaled({{{w2}, 0.1}, {{b2}, 0.0}}, {.lr = 1e-2, .beta2 = 0.99});
  int clipped_steps = 0;
  for (int s = 0; s < 12; s++) {
    const std::string k = std::to_string(s);
    const double max_norm = s % 2 == 0 ? 1.0 : 1e9;
    w1.impl()->grad = r["adamw.gw." + k].clone().impl_ptr();
    b1.impl()->grad = r["adamw.gb." + k].clone().impl_ptr();
    w2.impl()->grad = r["adamw.gw." + k].clone().impl_ptr();
    b2.impl()->grad = r["adamw.gb." + k].clone().impl_ptr();
    const double norm = optim::clip_grad_norm({w1, b1}, max_norm);
    clipped.step();
    EXPECT_EQ(optim::grad_norm({w2, b2, w2}), norm) << "step " << s;
    const float coef = optim::clip_coefficient(norm, max_norm);
    clipped_steps += coef < 1.0f;
    scaled.step(coef);
    EXPECT_EQ(max_abs_diff(w1, w2), 0.0f) << "step " << s;
    EXPECT_EQ(max_abs_diff(b1, b2), 0.0f) << "step " << s;
  }
  EXPECT_GT(clipped_steps, 0);
  for (size_t i = 0; i < clipped.state().size(); i++)
    EXPECT_EQ(max_abs_diff(clipped.state()[i].second, scaled.state()[i].second), 0.0f) << clipped.state()[i].first;
  EXPECT_THROW(optim::clip_coefficient(1.0, 0.0), Error);
}

TEST(AdamW, StateRoundTripsAndChecksShapes) {
  Tensor w = Tensor::ones({3, 2}).requires_grad_();
  optim::AdamW a({w});
  w.impl()->grad = Tensor::full({3, 2}, 0.5f).impl_ptr();
  a.step();
  Tensor w2 = Tensor::ones({3, 2}).requires_grad_();
  optim::AdamW b({w2});
  b.load_state(a.state());
  EXPECT_EQ(b.steps(), 1);
  EXPECT_EQ(max_abs_diff(b.state()[0].second, a.state()[0].second), 0.0f);
  Tensor w3 = Tensor::ones({2, 2}).requires_grad_();
  optim::AdamW c({w3});
  EXPECT_THROW(c.load_state(a.state()), Error);
}

TEST(AdamW, TiedWeightListedTwiceIsAnError) {
  Tensor w = Tensor::ones({2, 2}).requires_grad_();
  EXPECT_THROW(optim::AdamW({w, w}), Error);
}

TEST(Schedule, CosineMatchesNanoGPT) {
  RefFile r("gpt_ops");
  auto its = r["lr.its"].to_vector();
  auto want = r["lr.values"].to_vector();
  for (size_t i = 0; i < its.size(); i++)
    EXPECT_FLOAT_EQ(static_cast<float>(optim::cosine_lr(static_cast<int64_t>(its[i]), 1e-3, 1e-4, 100, 2000)), want[i])
        << "it " << its[i];
}

TEST(ParamGroups, NoDecayForBiasesNormsAndEmbeddings) {
  struct M : nn::Module {
    nn::Embedding emb{10, 4};
    nn::Linear lin{4, 4};
    nn::LayerNorm ln{4};
    std::string type_name() const override { return "M"; }
    void visit(nn::Visitor& v) override {
      v.child("emb", emb);
      v.child("lin", lin);
      v.child("ln", ln);
    }
  } m;
  auto g = optim::param_groups(m, 0.1);
  ASSERT_EQ(g.size(), 2u);
  ASSERT_EQ(g[0].params.size(), 1u);
  EXPECT_TRUE(g[0].params[0].same(m.lin.weight));
  EXPECT_EQ(g[0].weight_decay, 0.1);
  EXPECT_EQ(g[1].params.size(), 4u);  // emb.weight, lin.bias, ln.weight, ln.bias
  EXPECT_EQ(g[1].weight_decay, 0.0);
}
