// Finite-difference gradient checks in double precision: every backward kernel against central
// differences of its own forward kernel, (f(x + h) - f(x - h)) / 2h with h = 1e-6, on a random
// upstream gradient. In double the two agree to ~1e-8; a wrong formula is off by O(1).
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

#include "ops/elementwise.hpp"
#include "ops/kernels.hpp"

namespace lj {
namespace {

using Vec = std::vector<double>;
constexpr double kStep = 1e-6;
constexpr double kTol = 1e-6;  // relative to the largest gradient

Vec random_vec(size_t n, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Vec v(n);
  for (auto& x : v) x = u(g);
  return v;
}

// L(inputs) = sum(f(inputs) * dy). Checks each analytic gradient against central differences of L.
void gradcheck(const char* what, std::vector<Vec*> inputs, size_t out_size,
               const std::function<void(Vec& y)>& forward,
               const std::function<void(const Vec& dy, std::vector<Vec>& grads)>& backward) {
  Vec dy = random_vec(out_size, 99);
  std::vector<Vec> grads;
  for (Vec* x : inputs) grads.emplace_back(x->size(), 0.0);
  backward(dy, grads);
  auto loss = [&] {
    Vec y(out_size);
    forward(y);
    double l = 0;
    for (size_t i = 0; i < out_size; i++) l += y[i] * dy[i];
    return l;
  };
  for (size_t k = 0; k < inputs.size(); k++) {
    Vec& x = *inputs[k];
    double worst = 0, scale = 1e-12;
    for (size_t i = 0; i < x.size(); i++) {
      const double keep = x[i];
      x[i] = keep + kStep;
      const double lp = loss();
      x[i] = keep - kStep;
      const double lm = loss();
      x[i] = keep;
      const double numeric = (lp - lm) / (2 * kStep);
      worst = std::max(worst, std::abs(numeric - grads[k][i]));
      scale = std::max(scale, std::abs(numeric));
    }
    EXPECT_LE(worst / scale, kTol) << what << ": input " << k;
  }
}

template <typename Op>
void unary_check(const char* what, double lo, double hi) {
  Vec x = random_vec(50, 1, lo, hi);
  gradcheck(what, {&x}, x.size(),
            [&](Vec& y) { for (size_t i = 0; i < x.size(); i++) y[i] = Op::f(x[i]); },
            [&](const Vec& dy, std::vector<Vec>& g) {
              for (size_t i = 0; i < x.size(); i++) g[0][i] += dy[i] * Op::df(x[i], Op::f(x[i]));
            });
}

TEST(GradCheck, Unary) {
  using namespace pointwise;
  unary_check<Neg>("neg", -2, 2);
  unary_check<Exp>("exp", -2, 2);
  unary_check<Log>("log", 0.1, 3);
  unary_check<Tanh>("tanh", -2, 2);
  unary_check<Sqrt>("sqrt", 0.1, 3);
  unary_check<Abs>("abs", -2, 2);
  unary_check<Sigmoid>("sigmoid", -3, 3);
  unary_check<Relu>("relu", -2, 2);
  unary_check<Gelu>("gelu", -3, 3);
  unary_check<GeluTanh>("gelu_tanh", -3, 3);
  Vec x = random_vec(30, 2, 0.2, 2.0);
  gradcheck("pow", {&x}, x.size(), [&](Vec& y) { for (size_t i = 0; i < x.size(); i++) y[i] = Pow::f(x[i], 2.5); },
            [&](const Vec& dy, std::vector<Vec>& g) {
              for (size_t i = 0; i < x.size(); i++) g[0][i] += dy[i] * Pow::df(x[i], 2.5);
            });
}

template <typename Op>
void binary_check(const char* what) {
  Vec a = random_vec(40, 3, 0.5, 2), b = random_vec(40, 4, 0.5, 2);
  gradcheck(what, {&a, &b}, a.size(), [&](Vec& y) { for (size_t i = 0; i < a.size(); i++) y[i] = Op::f(a[i], b[i]); },
            [&](const Vec& dy, std::vector<Vec>& g) {
              for (size_t i = 0; i < a.size(); i++) {
                g[0][i] += dy[i] * Op::da(a[i], b[i]);
                g[1][i] += dy[i] * Op::db(a[i], b[i]);
              }
            });
}

TEST(GradCheck, Binary) {
  binary_check<pointwise::Add>("add");
  binary_check<pointwise::Sub>("sub");
  binary_check<pointwise::Mul>("mul");
  binary_check<pointwise::Div>("div");
}

TEST(GradCheck, Linear) {
  const int64_t N = 5, in = 7, out = 4;
  Vec x = random_vec(N * in, 5), w = random_vec(out * in, 6), b = random_vec(out, 7);
  gradcheck("linear", {&x, &w, &b}, N * out,
            [&](Vec& y) { kernels::linear_forward<double>(y.data(), x.data(), w.data(), b.data(), N, in, out); },
            [&](const Vec& dy, std::vector<Vec>& g) {
              kernels::linear_backward<double>(g[0].data(), g[1].data(), g[2].data(), dy.data(), x.data(), w.data(), N,
                                               in, out);
            });
}

TEST(GradCheck, SoftmaxAndLogSoftmax) {
  const int64_t N = 4, C = 9;
  Vec x = random_vec(N * C, 8, -3, 3);
  gradcheck("softmax", {&x}, N * C, [&](Vec& y) { kernels::softmax_forward<double>(y.data(), x.data(), N, C); },
            [&](const Vec& dy, std::vector<Vec>& g) {
              Vec y(N * C);
              kernels::softmax_forward<double>(y.data(), x.data(), N, C);
              kernels::softmax_backward<double>(g[0].data(), dy.data(), y.data(), N, C);
            });
  gradcheck("log_softmax", {&x}, N * C,
            [&](Vec& y) { kernels::log_softmax_forward<double>(y.data(), x.data(), N, C); },
            [&](const Vec& dy, std::vector<Vec>& g) {
              Vec y(N * C);
              kernels::log_softmax_forward<double>(y.data(), x.data(), N, C);
              kernels::log_softmax_backward<double>(g[0].data(), dy.data(), y.data(), N, C);
            });
}

TEST(GradCheck, LayerNorm) {
  const int64_t N = 3, C = 8;
  Vec x = random_vec(N * C, 9, -2, 2), w = random_vec(C, 10), b = random_vec(C, 11);
  Vec mean(N), rstd(N);
  gradcheck("layer_norm", {&x, &w, &b}, N * C,
            [&](Vec& y) {
              kernels::layer_norm_forward<double>(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N,
                                                  C, 1e-5);
            },
            [&](const Vec& dy, std::vector<Vec>& g) {
              Vec y(N * C);
              kernels::layer_norm_forward<double>(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N,
                                                  C, 1e-5);
              kernels::layer_norm_backward<double>(g[0].data(), g[1].data(), g[2].data(), dy.data(), x.data(),
                                                   w.data(), mean.data(), rstd.data(), N, C);
            });
}

// Attention with a mask (one query blocked entirely), causal, and dropout multipliers fixed; for
// short key sequences (the row-wise kernel) and longer ones (the kernel through gemm).
TEST(GradCheck, Attention) {
  // short path (d = 5/3, and d = 8, its unrolled variant), then the gemm path (S > 64; S x d > 256)
  for (const kernels::AttentionDims d : {kernels::AttentionDims{2, 2, 3, 4, 5, 3}, kernels::AttentionDims{1, 2, 3, 5, 8, 8},
                                          kernels::AttentionDims{1, 2, 3, 70, 4, 3}, kernels::AttentionDims{1, 1, 3, 40, 8, 8}}) {
    const int64_t BH = d.B * d.H;
    Vec q = random_vec(BH * d.T * d.dk, 12), k = random_vec(BH * d.S * d.dk, 13), v = random_vec(BH * d.S * d.dv, 14);
    std::vector<float> mask(d.T * d.S, 1.0f);
    mask[1 * d.S + 0] = 0;  // query 1 may not see key 0
    for (int64_t j = 0; j < d.S; j++) mask[2 * d.S + j] = 0;  // query 2 sees nothing
    kernels::MaskView mv{mask.data(), 0, 0, d.S, 1};
    auto lay = [&](int64_t T, int64_t D) { return kernels::Layout{d.H * T * D, T * D, D}; };
    for (bool causal : {false, true}) {
      for (bool with_drop : {false, true}) {
        Vec drop = random_vec(BH * d.T * d.S, 15, 0, 1);
        for (auto& x : drop) x = x < 0.3 ? 0.0 : 1.0 / 0.7;
        const double* dr = with_drop ? drop.data() : nullptr;
        Vec weights(BH * d.T * d.S);
        auto fwd = [&](Vec& y) {
          kernels::attention_forward<double>(y.data(), lay(d.T, d.dv), weights.data(), dr, q.data(), lay(d.T, d.dk),
                                             k.data(), lay(d.S, d.dk), v.data(), lay(d.S, d.dv), mv, causal, 1, d);
        };
        const std::string what = "attention S=" + std::to_string(d.S) + (causal ? " causal" : "");
        gradcheck(what.c_str(), {&q, &k, &v}, BH * d.T * d.dv, fwd, [&](const Vec& dy, std::vector<Vec>& g) {
          Vec y(BH * d.T * d.dv);
          fwd(y);
          kernels::attention_backward<double>(g[0].data(), lay(d.T, d.dk), g[1].data(), lay(d.S, d.dk), g[2].data(),
                                              lay(d.S, d.dv), dy.data(), lay(d.T, d.dv), weights.data(), dr, q.data(),
                                              lay(d.T, d.dk), k.data(), lay(d.S, d.dk), v.data(), lay(d.S, d.dv), causal,
                                              1, d);
        });
      }
    }
  }
}

}  // namespace
}  // namespace lj
