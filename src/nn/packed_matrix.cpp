// PackedMatrix: a Linear's weight in float32, bfloat16 or 8-bit, and the products that read it.
#include <algorithm>
#include <cstring>

#include "io/half.hpp"
#include "llm_journey/error.hpp"
#include "llm_journey/nn/decoder.hpp"
#include "ops/kernels.hpp"
#include "ops/matvec.hpp"
#include "ops/parallel.hpp"

namespace lj::nn {

WeightFormat parse_weight_format(const std::string& name) {
  if (name == "fp32") return WeightFormat::f32;
  if (name == "bf16") return WeightFormat::bf16;
  if (name == "int8") return WeightFormat::int8;
  throw Error("unknown weight format '" + name + "': expected fp32, bf16 or int8");
}

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32: return "fp32";
    case WeightFormat::bf16: return "bf16";
    case WeightFormat::int8: return "int8";
  }
  return "?";
}

PackedMatrix::PackedMatrix(const float* w, int64_t rows_, int64_t cols_, WeightFormat format_)
    : rows(rows_), cols(cols_), format(format_) {
  LJ_CHECK(rows > 0 && cols > 0, "PackedMatrix: shape [", rows, ", ", cols, "] must be positive");
  const size_t n = static_cast<size_t>(rows * cols);
  switch (format) {
    case WeightFormat::f32: f32_.assign(w, w + n); break;
    case WeightFormat::bf16:
      bf16_.resize(n);
      ops::pack_bf16(bf16_.data(), w, static_cast<int64_t>(n));
      break;
    case WeightFormat::int8:
      q_.resize(n);
      scales_.resize(static_cast<size_t>(rows * ops::q8_blocks(cols)));
      ops::pack_q8(q_.data(), scales_.data(), w, rows, cols);
      break;
  }
}

size_t PackedMatrix::bytes() const {
  return f32_.size() * 4 + bf16_.size() * 2 + q_.size() + scales_.size() * 4;
}

void PackedMatrix::rows_f32(int64_t r0, int64_t r1, float* out) const {
  LJ_CHECK(0 <= r0 && r0 <= r1 && r1 <= rows, "PackedMatrix: rows [", r0, ", ", r1, ") out of [0, ", rows, ")");
  const int64_t n = (r1 - r0) * cols;
  switch (format) {
    case WeightFormat::f32: std::memcpy(out, f32_.data() + r0 * cols, sizeof(float) * static_cast<size_t>(n)); break;
    case WeightFormat::bf16:
      for (int64_t i = 0; i < n; i++) out[i] = io::detail::bf16_to_float(bf16_[static_cast<size_t>(r0 * cols + i)]);
      break;
    case WeightFormat::int8: {
      const int64_t nb = ops::q8_blocks(cols);
      for (int64_t r = r0; r < r1; r++)
        for (int64_t k = 0; k < cols; k++)  // w = d q
          out[(r - r0) * cols + k] = scales_[static_cast<size_t>(r * nb + k / ops::kQ8Block)] *
                                     static_cast<float>(q_[static_cast<size_t>(r * cols + k)]);
      break;
    }
  }
}

void PackedMatrix::row(int64_t r, float* out) const { rows_f32(r, r + 1, out); }

// Rows of W per float32 panel in a matrix product: about 1 MB of panel, so it stays in cache
// while the GEMM reads it.
static int64_t panel_rows(int64_t cols) { return std::max<int64_t>(16, (int64_t{1} << 18) / cols); }

void PackedMatrix::matmul(float* y, const float* x, int64_t M, const float* bias, bool accumulate) const {
  LJ_CHECK(M >= 1, "PackedMatrix::matmul: M=", M, " must be positive");
  const int64_t N = rows, K = cols;
  if (M == 1) {
    // y = W x: bound by reading W, split by rows over the threads.
    const ops::MatvecKernels& kern = ops::matvec_best();
    parallel_for(N, N * K, [&](int64_t r0, int64_t r1) {
      float tmp[256];
      for (int64_t a = r0; a < r1; a += 256) {
        const int64_t b = std::min(r1, a + 256);
        const size_t o = static_cast<size_t>(a * K);  // tmp[i] is row a + i
        switch (format) {
          case WeightFormat::f32: kern.f32(tmp, f32_.data() + o, x, 0, b - a, K); break;
          case WeightFormat::bf16: kern.bf16(tmp, bf16_.data() + o, x, 0, b - a, K); break;
          case WeightFormat::int8:
            kern.q8(tmp, q_.data() + o, scales_.data() + a * ops::q8_blocks(K), x, 0, b - a, K);
            break;
        }
        for (int64_t n = a; n < b; n++) y[n] = (accumulate ? y[n] : 0.0f) + tmp[n - a] + (bias ? bias[n] : 0.0f);
      }
    });
    return;
  }
  // y (M, N) = x (M, K) W^T: one GEMM, or one per float32 panel of W's rows.
  if (format == WeightFormat::f32) {
    kernels::gemm<float>(false, true, M, N, K, 1.0f, x, K, f32_.data(), K, accumulate ? 1.0f : 0.0f, y, N);
  } else {
    const int64_t P = std::min(N, panel_rows(K));
    std::vector<float> panel(static_cast<size_t>(P * K));
    for (int64_t r0 = 0; r0 < N; r0 += P) {
      const int64_t r1 = std::min(N, r0 + P);
      rows_f32(r0, r1, panel.data());
      kernels::gemm<float>(false, true, M, r1 - r0, K, 1.0f, x, K, panel.data(), K, accumulate ? 1.0f : 0.0f, y + r0,
                           N);
    }
  }
  if (bias)
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) y[m * N + n] += bias[n];
}

}  // namespace lj::nn
