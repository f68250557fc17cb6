// Splits of parallel loops by measured thread speed (src/ops/parallel.hpp): the split follows the
// recorded speeds, keeps its alignment and minimum, and a product's bits do not depend on it.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "llm_journey/ops.hpp"
#include "llm_journey/tensor.hpp"
#include "ops/kernels.hpp"
#include "ops/parallel.hpp"

namespace lj {
namespace {

// Regions in which thread 0 did its half `ratio` times faster than thread 1.
void teach_skew(double ratio, int regions = 40) {
  const int64_t b[3] = {0, 500, 1000};
  const double seconds[2] = {1e-3, ratio * 1e-3};
  for (int i = 0; i < regions; i++) Balance::record(2, b, seconds);
}

TEST(Balance, SplitFollowsTheMeasuredSpeeds) {
  Balance::reset();
  int64_t b[3];
  Balance::bounds(100, 2, 1, 1, b);
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[1], 50);
  EXPECT_EQ(b[2], 100);
  teach_skew(2.0);  // thread 0 twice as fast: about two thirds of the work
  EXPECT_GT(Balance::speed(0), 1.2);
  EXPECT_LT(Balance::speed(1), 0.8);
  Balance::bounds(99, 2, 1, 1, b);
  EXPECT_NEAR(static_cast<double>(b[1]), 66.0, 2.0);
  EXPECT_EQ(b[2], 99);
  Balance::bounds(1000, 2, 16, 1, b);  // aligned to 16, the end excepted
  EXPECT_EQ(b[1] % 16, 0);
  EXPECT_GT(b[1], 600);
  EXPECT_EQ(b[2], 1000);
  Balance::bounds(100, 2, 16, 40, b);  // thread 1's part would be under 40: the even split
  EXPECT_EQ(b[1], 64);
  EXPECT_EQ(b[2], 100);
  // regions too short to time say nothing
  const double before = Balance::speed(0);
  const int64_t bb[3] = {0, 5, 10};
  const double tiny[2] = {1e-7, 1e-6};
  Balance::record(2, bb, tiny);
  EXPECT_EQ(Balance::speed(0), before);
  Balance::reset();
  EXPECT_EQ(Balance::speed(0), 1.0);
}

// The training step's largest product, threaded by rows; then the same under a split skewed 3:1
// either way. Every element of C is the same sum in the same order: bit for bit equal.
TEST(Balance, ProductBitsDoNotDependOnTheSplit) {
  const int64_t M = 768, N = 384, K = 128;
  std::mt19937 gen(5);
  std::normal_distribution<float> nd;
  std::vector<float> A(M * K), B(N * K);
  for (auto& v : A) v = nd(gen);
  for (auto& v : B) v = nd(gen);
  auto product = [&](bool ta) {
    std::vector<float> C(M * N, 0.0f);
    std::vector<float> At(M * K);
    for (int64_t i = 0; i < M; i++)
      for (int64_t k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
    if (ta) kernels::gemm<float>(true, true, M, N, K, 1.0f, At.data(), M, B.data(), K, 0.0f, C.data(), N);
    else kernels::gemm<float>(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, C.data(), N);
    return C;
  };
  for (bool ta : {false, true}) {
    Balance::reset();
    const std::vector<float> even = product(ta);
    for (double skew : {3.0, 1.0 / 3.0}) {
      Balance::reset();
      teach_skew(skew);
      int64_t b[3];
      Balance::bounds(M, 2, 16, 1, b);
      EXPECT_NE(b[1], M / 2) << "the split should be skewed";
      const std::vector<float> skewed = product(ta);
      EXPECT_EQ(std::memcmp(even.data(), skewed.data(), sizeof(float) * even.size()), 0)
          << "transposed A " << ta << ", skew " << skew;
    }
  }
  Balance::reset();
}

// An element-wise op and a row-wise op under a skewed split give the even split's bits.
TEST(Balance, ElementAndRowOpsDoNotDependOnTheSplit) {
  Balance::reset();
  Tensor x = randn({768, 128}), w = randn({128}), bias = randn({128});
  Tensor g0 = gelu(x), l0 = layer_norm(x, w, bias), s0 = x + g0;
  teach_skew(3.0);
  Tensor g1 = gelu(x), l1 = layer_norm(x, w, bias), s1 = x + g1;
  EXPECT_EQ(std::memcmp(g0.data(), g1.data(), sizeof(float) * static_cast<size_t>(g0.numel())), 0);
  EXPECT_EQ(std::memcmp(l0.data(), l1.data(), sizeof(float) * static_cast<size_t>(l0.numel())), 0);
  EXPECT_EQ(std::memcmp(s0.data(), s1.data(), sizeof(float) * static_cast<size_t>(s0.numel())), 0);
  Balance::reset();
}

}  // namespace
}  // namespace lj
