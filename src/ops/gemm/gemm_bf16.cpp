// bf16 products on CPUs without bf16 instructions (the "widened_f32" variant of gemm.hpp).
//
// A bf16 value widens to float32 exactly (its 16 bits are the float's top half), and the product of
// two bf16 values is exact in float32 (8 + 8 bits of mantissa), so widening A and B and running the
// float32 product computes the same sums as a native bf16 kernel, up to their order. On such CPUs
// this is also the fastest way: oneDNN emulates bf16 there at a fraction of its float32 speed.
// Widening costs (M + N) K conversions against M N K multiply-adds.
#include <vector>

#include "ops/gemm/gemm.hpp"
#include "ops/kernels.hpp"
#include "ops/parallel.hpp"

namespace lj::kernels {

bool widened_gemm_applies_bf16(const GemmArgs<bfloat16, float>&) { return true; }

// rows x cols of a row-major matrix with leading dimension ld, widened into a dense float buffer.
static std::vector<float> widen(const bfloat16* x, int64_t rows, int64_t cols, int64_t ld) {
  std::vector<float> out(static_cast<size_t>(rows * cols));
  parallel_for(rows, rows * cols, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++)
      for (int64_t c = 0; c < cols; c++) out[static_cast<size_t>(r * cols + c)] = to_float(x[r * ld + c]);
  });
  return out;
}

void widened_gemm_bf16(const GemmArgs<bfloat16, float>& g) {
  // op(A) is (M,K): stored (M,K) rows lda apart, or (K,M) when transposed; likewise B.
  const int64_t a_rows = g.trans_a ? g.K : g.M, a_cols = g.trans_a ? g.M : g.K;
  const int64_t b_rows = g.trans_b ? g.N : g.K, b_cols = g.trans_b ? g.K : g.N;
  const std::vector<float> A = widen(g.A, a_rows, a_cols, g.lda), B = widen(g.B, b_rows, b_cols, g.ldb);
  gemm<float>(g.trans_a, g.trans_b, g.M, g.N, g.K, g.alpha, A.data(), a_cols, B.data(), b_cols, g.beta, g.C, g.ldc);
}

}  // namespace lj::kernels
