// The autograd engine itself: accumulation, reuse, views, no-grad, and its errors.
#include "torch_ref.hpp"

namespace lj {
namespace {

TEST(Autograd, TensorUsedTwiceGetsTheSumOfItsGradients) {
  Tensor a = Tensor::from_vector({1, 2, 3}, {3}).requires_grad_();
  Tensor b = a + a;  // db/da = 2
  b.sum().backward();
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{2, 2, 2}));
  Tensor c = Tensor::from_vector({1, 2, 3}, {3}).requires_grad_();
  (c * c).sum().backward();  // 2c
  EXPECT_EQ(c.grad().to_vector(), (std::vector<float>{2, 4, 6}));
}

TEST(Autograd, DiamondGraph) {
  Tensor x = Tensor::from_vector({0.5f, -1.0f}, {2}).requires_grad_();
  Tensor h = tanh(x);
  Tensor y = (h * h + h * 3.0f).sum();  // dy/dx = (2h + 3)(1 - h^2)
  y.backward();
  auto g = x.grad().to_vector();
  for (int i = 0; i < 2; i++) {
    float hv = std::tanh(x.to_vector()[i]);
    EXPECT_NEAR(g[i], (2 * hv + 3) * (1 - hv * hv), 1e-6);
  }
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCallsUntilZeroed) {
  Tensor w = Tensor::from_vector({1, 2}, {2}).requires_grad_();
  (w * 3.0f).sum().backward();
  (w * 3.0f).sum().backward();
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{6, 6}));
  w.zero_grad();
  EXPECT_FALSE(w.grad().defined());
}

TEST(Autograd, ViewsSendGradientsToTheirBase) {
  Tensor x = Tensor::arange(12).reshape({3, 4}).detach().requires_grad_();
  Tensor y = x.transpose(0, 1).slice(0, 1, 3);  // columns 1 and 2 of x
  (y * y).sum().backward();
  auto g = x.grad().to_vector();
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) EXPECT_EQ(g[i * 4 + j], (j == 1 || j == 2) ? 2.0f * (i * 4 + j) : 0.0f);
}

// A gradient written on first use (not zero-filled, then added to) must still add up when a second
// path or a second backward call reaches the same tensor. The buffers come from the storage cache,
// so a kernel that wrote where it should have added would leave a stale value behind.
TEST(Autograd, FirstWriteThenAccumulateAcrossPathsAndCalls) {
  const std::vector<float> c{1, -2, 3, -4, 5, -6}, d{0.5f, 0.25f, 2, 4, -1, 8};
  Tensor cw = Tensor::from_vector(c, {6}), dw = Tensor::from_vector(d, {6});
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  // a contiguous reshape hands its gradient buffer to x; the second reshape then adds into it
  (x.reshape({6}) * cw + x.reshape({6}) * dw).sum().backward();
  std::vector<float> want(6);
  for (int i = 0; i < 6; i++) want[i] = c[i] + d[i];
  EXPECT_EQ(x.grad().to_vector(), want);
  (x.reshape({6}) * cw).sum().backward();  // a second call adds
  for (int i = 0; i < 6; i++) want[i] += c[i];
  EXPECT_EQ(x.grad().to_vector(), want);
  // linear (GEMM beta 0 on first write), layer norm, GELU and add, each reached twice
  Tensor w = Tensor::from_vector({1, 0, 0, 1, 2, -1}, {2, 3}).requires_grad_();
  Tensor v = Tensor::from_vector({0.5f, -1, 2}, {3}).requires_grad_();
  Tensor h = Tensor::from_vector({0.1f, 0.2f, -0.3f, 0.7f, -0.2f, 0.4f}, {2, 3}).requires_grad_();
  auto loss = [&] {
    Tensor a = linear(h, w) + linear(h, w);                   // (2, 2): 2 h W^T
    Tensor n = layer_norm(h, v, Tensor()) + layer_norm(h, v, Tensor());
    return (a * a).sum() + (gelu(n) * n).sum() + (gelu(n) + gelu(n)).sum();
  };
  loss().backward();
  const auto gw1 = w.grad().to_vector(), gv1 = v.grad().to_vector(), gh1 = h.grad().to_vector();
  loss().backward();  // every gradient doubles (the same sums, added once more)
  const auto gw2 = w.grad().to_vector(), gv2 = v.grad().to_vector(), gh2 = h.grad().to_vector();
  for (size_t i = 0; i < gw1.size(); i++) EXPECT_NEAR(gw2[i], 2 * gw1[i], 1e-5 * (1 + std::fabs(gw1[i])));
  for (size_t i = 0; i < gv1.size(); i++) EXPECT_NEAR(gv2[i], 2 * gv1[i], 1e-5 * (1 + std::fabs(gv1[i])));
  for (size_t i = 0; i < gh1.size(); i++) EXPECT_NEAR(gh2[i], 2 * gh1[i], 1e-5 * (1 + std::fabs(gh1[i])));
  // and the first call's values are the analytic ones for the linear part: d/dW sum (2 h W^T)^2 = 8 (hW^T)^T h
  w.zero_grad();
  h.zero_grad();
  Tensor a = linear(h, w) + linear(h, w);
  (a * a).sum().backward();
  const auto hv = h.to_vector(), wv = w.to_vector(), g = w.grad().to_vector();
  for (int o = 0; o < 2; o++)
    for (int i = 0; i < 3; i++) {
      double want_g = 0;
      for (int r = 0; r < 2; r++) {
        double y = 0;
        for (int k = 0; k < 3; k++) y += hv[r * 3 + k] * wv[o * 3 + k];
        want_g += 8 * y * hv[r * 3 + i];
      }
      EXPECT_NEAR(g[o * 3 + i], want_g, 1e-5);
    }
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor w = Tensor::ones({2}).requires_grad_();
  {
    NoGradGuard guard;
    Tensor y = w * 2.0f;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
  }
  EXPECT_TRUE((w * 2.0f).requires_grad());
}

TEST(Autograd, DeepChainDoesNotRecurse) {
  Tensor x = Tensor::ones({1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 200000; i++) y = y * 1.0f;  // a recursive walk would overflow the stack
  y.sum().backward();
  EXPECT_EQ(x.grad().item(), 1.0f);
}

TEST(Autograd, DetachCutsTheGraph) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  Tensor y = (x * 2.0f).detach();
  EXPECT_FALSE(y.requires_grad());
  Tensor z = (x * y).sum();
  z.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 2}));
}

TEST(Autograd, Errors) {
  Tensor x = Tensor::ones({2});
  EXPECT_THROW(x.sum().backward(), Error);  // nothing requires a gradient
  Tensor w = Tensor::ones({2}).requires_grad_();
  try {
    (w * 2.0f).backward();
    FAIL() << "backward on a non-scalar without a gradient must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW((w * 2.0f).backward(Tensor::ones({3})), Error);
}

TEST(Tensor, ShapeAndValues) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.shape().str(), "[2, 3]");
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.transpose(0, 1).to_vector(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_FALSE(t.transpose(0, 1).is_contiguous());
  EXPECT_EQ(t.reshape({3, -1}).shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(t.select(1, 2).to_vector(), (std::vector<float>{3, 6}));
  EXPECT_EQ(t.mean().item(), 3.5f);
  EXPECT_NEAR(t.std().item(), 1.8708287f, 1e-6);  // unbiased, as torch.std
  EXPECT_EQ(t.max().item(), 6.0f);
  EXPECT_EQ(t.unsqueeze(0).shape(), (std::vector<int64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace lj
