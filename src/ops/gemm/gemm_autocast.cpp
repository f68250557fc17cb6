// Autocast products: C = op(A) op(B) + beta C with A and B rounded to bf16 and the products summed in
// float32, as torch.autocast("cpu", dtype=torch.bfloat16) computes a matrix product (kernels.hpp).
//
// A product of two bf16 values is exact in float32 (8 + 8 bits of mantissa), so the only rounding is
// that of the inputs, and the sums are float32 sums either way. Two paths compute it:
//   bf16_gemm  the inputs stored as bf16, the product by gemm_bf16 (oneDNN's AVX512-BF16 / AMX
//              kernels, at up to twice to four times the float32 rate);
//   f32_gemm   the inputs rounded to bf16 but stored as float32 (the low 16 bits zero), the product by
//              the float32 GEMM. On a CPU without bf16 instructions this is the fastest correct way:
//              gemm_bf16 would widen its inputs to float32 on every call (gemm_bf16.cpp), where these
//              buffers are widened once, and a weight's once per optimizer step.
// tests/test_autocast.cpp checks that both give the same bits where both can run.
#include <cstring>

#include "llm_journey/runtime.hpp"
#include "ops/kernels.hpp"
#include "ops/parallel.hpp"

namespace lj::kernels {

AutocastPath autocast_path() {
  return runtime().has_bf16_instructions() ? AutocastPath::bf16_gemm : AutocastPath::f32_gemm;
}

Dtype autocast_buffer_dtype(AutocastPath path) { return path == AutocastPath::bf16_gemm ? Dtype::bf16 : Dtype::f32; }

// to_float(to_bfloat16(x)) without leaving float32, branch-free so that it vectorizes: add half a unit
// of the 16th bit (ties to the even neighbour), then clear the low 16 bits. NaN -> torch's quiet NaN.
void round_to_bf16_values(float* y, const float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    std::memcpy(&u, &x[i], 4);
    const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    const uint32_t v = (u & 0x7fffffffu) > 0x7f800000u ? 0x7fc00000u : r;
    std::memcpy(&y[i], &v, 4);
  }
}

void round_for_autocast(AutocastPath path, void* dst, const float* x, int64_t rows, int64_t cols, int64_t ld,
                        bool parallel) {
  auto run = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * ld;
      if (path == AutocastPath::f32_gemm) {
        round_to_bf16_values(static_cast<float*>(dst) + r * cols, xr, cols);
      } else {
        bfloat16* yr = static_cast<bfloat16*>(dst) + r * cols;
        for (int64_t c = 0; c < cols; c++) yr[c] = to_bfloat16(xr[c]);
      }
    }
  };
  if (parallel)
    parallel_for(rows, rows * cols, run);
  else if (rows > 0)
    run(0, rows);
}

void gemm_autocast(AutocastPath path, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const void* A,
                   int64_t lda, const void* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (path == AutocastPath::bf16_gemm)
    gemm_bf16(trans_a, trans_b, M, N, K, 1.0f, static_cast<const bfloat16*>(A), lda, static_cast<const bfloat16*>(B),
              ldb, beta, C, ldc);
  else
    gemm<float>(trans_a, trans_b, M, N, K, 1.0f, static_cast<const float*>(A), lda, static_cast<const float*>(B), ldb,
                beta, C, ldc);
}

}  // namespace lj::kernels
