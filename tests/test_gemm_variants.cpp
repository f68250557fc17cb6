// Every matrix-product variant against the reference kernel, inside its own range, and the
// dispatcher's choice (ops/gemm/gemm.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "llm_journey/runtime.hpp"
#include "ops/gemm/gemm.hpp"
#include "ops/kernels.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lj::kernels {
namespace {

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
};

template <typename T>
std::vector<T> random_values(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> nd;
  std::vector<T> v(n);
  for (auto& x : v) {
    if constexpr (std::is_same_v<T, bfloat16>) x = to_bfloat16(static_cast<float>(nd(gen)));
    else x = static_cast<T>(nd(gen));
  }
  return v;
}

// The operands of a case, with padded leading dimensions so that strides are exercised too.
template <typename TIn, typename TOut>
struct Operands {
  std::vector<TIn> A, B;
  std::vector<TOut> C0;
  int64_t lda, ldb, ldc;
  Operands(const Case& c, uint32_t seed) {
    lda = (c.ta ? c.M : c.K) + 3;
    ldb = (c.tb ? c.K : c.N) + 5;
    ldc = c.N + 2;
    A = random_values<TIn>(static_cast<size_t>((c.ta ? c.K : c.M) * lda), seed);
    B = random_values<TIn>(static_cast<size_t>((c.tb ? c.N : c.K) * ldb), seed + 1);
    C0 = random_values<TOut>(static_cast<size_t>(c.M * ldc), seed + 2);
  }
  GemmArgs<TIn, TOut> args(const Case& c, TOut* C) const {
    return {c.ta, c.tb, c.M, c.N, c.K, static_cast<TOut>(c.alpha), A.data(), lda, B.data(), ldb,
            static_cast<TOut>(c.beta), C, ldc};
  }
};

// Runs `variant` and the reference on the same operands; the largest difference over the largest
// reference value.
template <typename TIn, typename TOut>
double relative_error(const GemmVariant<TIn, TOut>& variant, const Case& c) {
  Operands<TIn, TOut> op(c, 7);
  std::vector<TOut> got = op.C0, want = op.C0;
  variant.run(op.args(c, got.data()));
  gemm_reference(op.args(c, want.data()));
  double err = 0, scale = 1e-30;
  for (int64_t i = 0; i < c.M; i++)
    for (int64_t j = 0; j < c.N; j++) {
      const size_t k = static_cast<size_t>(i * op.ldc + j);
      err = std::max(err, std::fabs(static_cast<double>(got[k]) - static_cast<double>(want[k])));
      scale = std::max(scale, std::fabs(static_cast<double>(want[k])));
    }
  for (size_t k = 0; k < got.size(); k++)  // the padding between rows is left alone
    if (static_cast<int64_t>(k % static_cast<size_t>(op.ldc)) >= c.N) EXPECT_EQ(got[k], op.C0[k]);
  return err / scale;
}

std::vector<Case> cases_in(double min_macs, double max_macs) {
  std::vector<Case> out;
  const int64_t dims[][3] = {{1, 1, 1}, {3, 5, 7}, {10, 8, 10}, {20, 64, 64}, {17, 33, 9},
                             {64, 128, 96}, {130, 70, 200}, {256, 384, 128}};
  for (const auto& d : dims) {
    const double macs = static_cast<double>(d[0]) * d[1] * d[2];
    if (macs < min_macs || macs >= max_macs) continue;
    for (int t = 0; t < 4; t++)
      for (float beta : {0.0f, 1.0f, 0.5f}) out.push_back({(t & 1) != 0, (t & 2) != 0, d[0], d[1], d[2], 1.0f, beta});
    out.push_back({false, true, d[0], d[1], d[2], 0.25f, 1.0f});
  }
  return out;
}

template <typename TIn, typename TOut>
const GemmVariant<TIn, TOut>& find(const std::vector<GemmVariant<TIn, TOut>>& table, const std::string& name) {
  for (const auto& v : table)
    if (name == v.name) return v;
  throw std::runtime_error("no gemm variant " + name);
}

TEST(GemmVariants, SmallMatchesTheReferenceInItsRange) {
  for (const Case& c : cases_in(0, kSmallGemmMacs)) {
    EXPECT_TRUE(find(gemm_variants_f32(), "small").applies(Operands<float, float>(c, 1).args(c, nullptr)));
    EXPECT_LT(relative_error(find(gemm_variants_f32(), "small"), c), 1e-6) << c.M << "x" << c.N << "x" << c.K;
    EXPECT_LT(relative_error(find(gemm_variants_f64(), "small"), c), 1e-13) << c.M << "x" << c.N << "x" << c.K;
  }
}

TEST(GemmVariants, OneDnnMatchesTheReference) {
  for (const Case& c : cases_in(0, 1e12))  // it serves any size; the dispatcher sends it the larger
    EXPECT_LT(relative_error(find(gemm_variants_f32(), "onednn"), c), 1e-6)
        << c.ta << c.tb << " " << c.M << "x" << c.N << "x" << c.K << " beta " << c.beta;
}

TEST(GemmVariants, Bf16VariantsMatchTheReference) {
  for (const Case& c : cases_in(0, 1e12))
    EXPECT_LT(relative_error(find(gemm_variants_bf16(), "widened_f32"), c), 1e-6) << c.M << "x" << c.N << "x" << c.K;
}

// The native variant is dispatched to only on CPUs with bf16 instructions, where oneDNN runs its bf16
// kernels at twice the fp32 rate. On AVX-512 CPUs without them, oneDNN still builds the same matmul
// primitive with emulated bf16 arithmetic (slowly: "gemm:jit", about a tenth of sgemm's rate), so the
// variant itself (descriptors, strides, transposes, alpha, beta, the primitive cache) is checked here
// as well. Only where oneDNN has no bf16 matmul at all (AVX2 CPUs) is it skipped.
TEST(GemmVariants, NativeBf16VariantMatchesTheReference) {
  const auto& native = find(gemm_variants_bf16(), "onednn_bf16");
  try {
    relative_error(native, cases_in(0, 1e12).front());
  } catch (const std::exception& e) {
    GTEST_SKIP() << "oneDNN (" << onednn_isa() << ") has no bf16 matmul on this CPU: " << e.what();
  }
  for (const Case& c : cases_in(0, 1e12))
    EXPECT_LT(relative_error(native, c), 1e-6) << c.ta << c.tb << " " << c.M << "x" << c.N << "x" << c.K << " beta " << c.beta;
}

TEST(GemmVariants, TheDispatcherPicksBySize) {
  std::vector<float> a(256 * 256, 1.0f), b(256 * 256, 1.0f), c(256 * 256);
  gemm<float>(false, false, 10, 10, 8, 1.0f, a.data(), 8, b.data(), 10, 0.0f, c.data(), 10);
  EXPECT_STREQ(last_gemm_variant(), "small");
  gemm<float>(false, true, 20, 64, 64, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64);
  EXPECT_STREQ(last_gemm_variant(), "onednn");
  std::vector<bfloat16> ha(256 * 256, to_bfloat16(1.0f)), hb(256 * 256, to_bfloat16(0.5f));
  gemm_bf16(false, false, 64, 64, 64, 1.0f, ha.data(), 64, hb.data(), 64, 0.0f, c.data(), 64);
  EXPECT_STREQ(last_gemm_variant(), cpu_has_bf16_instructions() ? "onednn_bf16" : "widened_f32");
  EXPECT_EQ(c[0], 32.0f);
}

// The products of a training step give the same bits on one thread and on two: results do not
// depend on the thread count.
TEST(GemmVariants, ResultsDoNotDependOnTheThreadCount) {
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  for (const Case& c : {Case{false, true, 768, 384, 128, 1, 0}, Case{false, false, 768, 128, 384, 1, 0},
                        Case{true, false, 384, 128, 768, 1, 0}, Case{false, true, 768, 65, 128, 1, 1},
                        Case{false, false, 2048, 512, 768, 1, 0}}) {
    Operands<float, float> op(c, 3);
    std::vector<float> one = op.C0, two = op.C0;
    omp_set_num_threads(1);
    gemm<float>(c.ta, c.tb, c.M, c.N, c.K, c.alpha, op.A.data(), op.lda, op.B.data(), op.ldb, c.beta, one.data(), op.ldc);
    omp_set_num_threads(2);
    gemm<float>(c.ta, c.tb, c.M, c.N, c.K, c.alpha, op.A.data(), op.lda, op.B.data(), op.ldb, c.beta, two.data(), op.ldc);
    EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0)
        << c.ta << c.tb << " " << c.M << "x" << c.N << "x" << c.K;
  }
  omp_set_num_threads(threads);
#else
  GTEST_SKIP() << "built without OpenMP";
#endif
}

}  // namespace
}  // namespace lj::kernels
