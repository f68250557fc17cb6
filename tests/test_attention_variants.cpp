// Every attention kernel against the plain reference (src/ops/attention/reference.cpp), at shapes
// inside its own range, checking that the dispatcher picks it there; float and double; causal and
// not, with a KV-cache offset, a mask with a fully blocked row, and dropout (each path's own masks,
// given to the reference as multipliers). Forward within 1e-5, gradients within 1e-4 relative to the
// gradient's largest value (float); 1e-12 in double.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "llm_journey/llm_journey.hpp"
#include "ops/attention/attention.hpp"

namespace lj::kernels {
namespace {

struct Case {
  AttentionDims d;
  bool causal = false;
  int64_t causal_offset = 0;
  bool mask = false;
  double dropout = 0.0;
};

std::string describe(const char* variant, const Case& c) {
  const AttentionDims& d = c.d;
  return std::string(variant) + " B,H,T,S,dk,dv=" + std::to_string(d.B) + "," + std::to_string(d.H) + "," +
         std::to_string(d.T) + "," + std::to_string(d.S) + "," + std::to_string(d.dk) + "," + std::to_string(d.dv) +
         (c.causal ? " causal+" + std::to_string(c.causal_offset) : "") + (c.mask ? " mask" : "") +
         (c.dropout > 0 ? " dropout" : "");
}

template <typename T>
std::vector<T> random_values(int64_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist;
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<T>(dist(gen));
  return v;
}

// max |a - b| <= tol * max |b| (relative to the reference's scale), or <= tol (absolute)
template <typename T>
::testing::AssertionResult close(const std::vector<T>& got, const std::vector<T>& want, double tol, bool relative,
                                 const char* what) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < got.size(); i++) {
    if (std::isnan(static_cast<double>(got[i]))) return ::testing::AssertionFailure() << what << ": NaN at " << i;
    diff = std::max(diff, std::abs(static_cast<double>(got[i]) - static_cast<double>(want[i])));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  // relative to the largest value; a gradient that is exactly zero (T = S = 1: a softmax of one key) absolutely
  const double bound = relative && scale > 0 ? tol * scale : tol;
  if (diff <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": max difference " << diff << " > " << bound << " (max |want| "
                                       << scale << ")";
}

// Runs `variant` and the reference on the same inputs; checks outputs, weights (where the variant
// keeps them) and the three gradients.
template <typename T>
void check_against_reference(const AttentionVariant<T>& variant, const Case& c, bool in_range = true) {
  SCOPED_TRACE(describe(variant.name, c));
  const AttentionDims d = c.d;
  const int64_t BH = d.B * d.H;
  // q, k, v, out and the gradients as (B, T, H, d) storage, like the op's; the mask (T, S), broadcast
  const std::vector<T> q = random_values<T>(BH * d.T * d.dk, 1), k = random_values<T>(BH * d.S * d.dk, 2),
                       v = random_values<T>(BH * d.S * d.dv, 3), dout = random_values<T>(BH * d.T * d.dv, 4);
  auto lay = [&](int64_t L, int64_t D) { return Layout{L * d.H * D, D, d.H * D}; };
  std::vector<float> mask(static_cast<size_t>(d.T * d.S), 1.0f);
  std::mt19937 mgen(5);
  for (auto& m : mask) m = mgen() % 4 == 0 ? 0.0f : 1.0f;
  for (int64_t j = 0; j < d.S && d.T > 2; j++) mask[static_cast<size_t>(2 * d.S + j)] = 0;  // query 2 sees nothing

  AttentionArgs<T> a{d, q.data(), lay(d.T, d.dk), k.data(), lay(d.S, d.dk), v.data(), lay(d.S, d.dv), nullptr,
                     lay(d.T, d.dv)};
  a.causal = c.causal;
  a.causal_offset = c.causal_offset;
  if (c.mask) a.mask = {mask.data(), 0, 0, d.S, 1};
  // The dropout multipliers: torch-style (a tensor) for the materializing variants, the hash for flash;
  // the reference gets the same multipliers as a tensor either way.
  std::vector<T> drop;
  if (c.dropout > 0) {
    drop.resize(static_cast<size_t>(BH * d.T * d.S));
    const uint64_t seed = 1234;
    const uint32_t keep_below = flash_keep_threshold(c.dropout);
    for (size_t i = 0; i < drop.size(); i++)
      drop[i] = flash_kept(seed, i, keep_below) ? static_cast<T>(1.0 / (1.0 - c.dropout)) : T(0);
    if (variant.materializes) {
      a.drop = drop.data();
    } else {
      a.flash_drop = {seed, c.dropout};
    }
  }
  if (in_range) EXPECT_STREQ(select_attention_variant(a).name, variant.name) << "the dispatcher does not pick it here";

  // the variant
  std::vector<T> out(static_cast<size_t>(BH * d.T * d.dv)), weights(static_cast<size_t>(BH * d.T * d.S)),
      lse(static_cast<size_t>(BH * d.T));
  AttentionArgs<T> av = a;
  av.out = out.data();
  if (variant.materializes) av.weights = weights.data();
  else av.lse = lse.data();
  variant.forward(av);
  std::vector<T> dq(q.size()), dk(k.size()), dv(v.size());
  variant.backward(av, {dq.data(), av.lq, dk.data(), av.lk, dv.data(), av.lv, dout.data(), av.lo});

  // the reference
  AttentionArgs<T> ar = a;
  ar.flash_drop = {};
  ar.drop = drop.empty() ? nullptr : drop.data();
  std::vector<T> out_r(out.size()), weights_r(weights.size()), lse_r(lse.size());
  ar.out = out_r.data();
  ar.weights = weights_r.data();
  ar.lse = lse_r.data();
  attention_forward_reference(ar);
  std::vector<T> dq_r(q.size()), dk_r(k.size()), dv_r(v.size());
  attention_backward_reference(ar, {dq_r.data(), ar.lq, dk_r.data(), ar.lk, dv_r.data(), ar.lv, dout.data(), ar.lo});

  const bool f32 = std::is_same_v<T, float>;
  EXPECT_TRUE(close(out, out_r, f32 ? 1e-5 : 1e-12, false, "output"));
  if (variant.materializes) EXPECT_TRUE(close(weights, weights_r, f32 ? 1e-6 : 1e-12, false, "weights"));
  else EXPECT_TRUE(close(lse, lse_r, f32 ? 1e-5 : 1e-12, false, "log-sum-exp"));
  EXPECT_TRUE(close(dq, dq_r, f32 ? 1e-4 : 1e-12, true, "dQ"));
  EXPECT_TRUE(close(dk, dk_r, f32 ? 1e-4 : 1e-12, true, "dK"));
  EXPECT_TRUE(close(dv, dv_r, f32 ? 1e-4 : 1e-12, true, "dV"));
  if (c.mask && d.T > 2)  // the fully blocked row: zeros, not NaN
    for (int64_t b = 0; b < d.B; b++)
      for (int64_t h = 0; h < d.H; h++)
        for (int64_t j = 0; j < d.dv; j++)
          EXPECT_EQ(out[static_cast<size_t>(((b * d.T + 2) * d.H + h) * d.dv + j)], T(0));
}

// The shapes of each variant's range, in every combination of causal, mask and dropout it takes.
std::vector<Case> cases_for(const char* name) {
  const std::string n = name;
  std::vector<AttentionDims> dims;
  bool masks = true, dropout = true;
  if (n == "heads_in_lanes") {  // >= 8 heads, S < 64 and S d <= 256, no mask, no dropout
    dims = {{2, 8, 10, 10, 8, 8}, {3, 7, 9, 11, 12, 5}, {1, 9, 13, 13, 6, 8}};
    masks = dropout = false;
  } else if (n == "short_rows") {  // S < 64 and S d <= 256
    dims = {{2, 2, 3, 4, 5, 3}, {1, 2, 10, 10, 8, 8}, {1, 1, 3, 40, 4, 6}};
  } else if (n == "flash") {  // more than 256 x 256 scores per head; T and S not multiples of the tiles
    dims = {{1, 2, 300, 300, 16, 12}, {2, 1, 263, 270, 8, 8}, {1, 1, 1, 66000, 4, 4}, {1, 2, 130, 600, 8, 8}};
  } else {  // gemm_rows: the rest
    dims = {{1, 2, 70, 70, 4, 3}, {2, 2, 64, 64, 32, 32}, {1, 1, 5, 72, 4, 5}, {1, 1, 256, 256, 8, 8}};
  }
  std::vector<Case> cases;
  for (const AttentionDims& d : dims)
    for (int causal = 0; causal < 2; causal++)
      for (int mask = 0; mask <= (masks ? 1 : 0); mask++)
        for (int drop = 0; drop <= (dropout ? 1 : 0); drop++)
          cases.push_back({d, causal == 1, causal ? std::max<int64_t>(d.S - d.T, 0) : 0, mask == 1, drop ? 0.3 : 0.0});
  return cases;
}

template <typename T>
void check_every_variant() {
  int n = 0;
  const AttentionVariant<T>* variants = attention_variants<T>(&n);
  int checked = 0;
  for (int i = 0; i < n; i++) {
    const AttentionVariant<T>& v = variants[i];
    if (std::string(v.name) == "reference") continue;
    for (const Case& c : cases_for(v.name)) check_against_reference(v, c);
    checked++;
  }
  EXPECT_EQ(checked, n - 1);
}

TEST(AttentionVariants, EachMatchesTheReferenceInItsRangeFloat) { check_every_variant<float>(); }
TEST(AttentionVariants, EachMatchesTheReferenceInItsRangeDouble) { check_every_variant<double>(); }

// Flash at shapes outside the range the dispatcher gives it: T = 1, S != T either way, a single
// tile, tiles cut short, a causal offset, a query that sees no key.
template <typename T>
void check_flash_anywhere() {
  const AttentionVariant<T>& flash = attention_variant_named<T>("flash");
  for (const AttentionDims& d : {AttentionDims{1, 1, 1, 1, 4, 4}, AttentionDims{2, 3, 1, 7, 8, 8},
                                 AttentionDims{1, 2, 5, 3, 4, 6}, AttentionDims{1, 1, 65, 257, 8, 8},
                                 AttentionDims{2, 1, 129, 129, 16, 16}})
    for (bool causal : {false, true})
      for (bool mask : {false, true})
        for (double p : {0.0, 0.25}) {
          // S < T under the causal flag: the first queries see no key at all
          check_against_reference(flash, Case{d, causal, causal ? d.S - d.T : 0, mask, p}, /*in_range=*/false);
        }
}

TEST(AttentionVariants, FlashMatchesTheReferenceAtAnyShapeFloat) { check_flash_anywhere<float>(); }
TEST(AttentionVariants, FlashMatchesTheReferenceAtAnyShapeDouble) { check_flash_anywhere<double>(); }

// The flash path's dropout: about 1 - p of the elements kept (within 5 standard deviations of the
// binomial count), and through the op, the same seed gives the same bits, forward and backward.
TEST(AttentionVariants, FlashDropoutKeepsOneMinusPAndRepeatsWithTheSeed) {
  for (double p : {0.1, 0.5}) {
    const int64_t n = 1 << 20;
    const uint32_t keep_below = flash_keep_threshold(p);
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) kept += flash_kept(42, static_cast<uint64_t>(i), keep_below);
    const double expected = n * (1 - p), sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(kept), expected, 5 * sd) << "p=" << p;
  }
  auto run = [](uint64_t seed) {
    set_seed(seed);
    Tensor q = randn({1, 2, 300, 8}).requires_grad_(), k = randn({1, 2, 300, 8}).requires_grad_(),
           v = randn({1, 2, 300, 8}).requires_grad_();
    AttentionResult r = scaled_dot_product_attention(q, k, v, Tensor(), true, 0.3, /*training=*/true);
    EXPECT_FALSE(r.weights.defined()) << "not the flash path";
    r.output.sum().backward();
    std::vector<float> all = r.output.to_vector();
    for (const Tensor& t : {q, k, v})
      for (float x : t.grad().to_vector()) all.push_back(x);
    return all;
  };
  const std::vector<float> a = run(7), b = run(7), c = run(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

// With fewer heads than threads the flash backward splits each head by key tiles, then by query
// tiles; with more, one thread takes whole heads. The same terms in the same order: the same bits.
TEST(AttentionVariants, FlashBackwardGivesTheSameBitsSplitOrNot) {
  const AttentionVariant<float>& flash = attention_variant_named<float>("flash");
  const AttentionDims d{1, 1, 300, 530, 8, 8};
  const std::vector<float> q = random_values<float>(d.T * d.dk, 1), k = random_values<float>(d.S * d.dk, 2),
                           v = random_values<float>(d.S * d.dv, 3), dout = random_values<float>(d.T * d.dv, 4);
  auto grads = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> out(static_cast<size_t>(d.T * d.dv)), lse(static_cast<size_t>(d.T));
    AttentionArgs<float> a{d, q.data(), {0, 0, d.dk}, k.data(), {0, 0, d.dk}, v.data(), {0, 0, d.dv}, out.data(),
                           {0, 0, d.dv}};
    a.causal = true;
    a.causal_offset = d.S - d.T;
    a.lse = lse.data();
    a.flash_drop = {99, 0.2};
    flash.forward(a);
    std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
    flash.backward(a, {dq.data(), a.lq, dk.data(), a.lk, dv.data(), a.lv, dout.data(), a.lo});
    omp_set_num_threads(before);
    dq.insert(dq.end(), dk.begin(), dk.end());
    dq.insert(dq.end(), dv.begin(), dv.end());
    return dq;
  };
  EXPECT_EQ(grads(1), grads(2));
}

}  // namespace
}  // namespace lj::kernels
