// The reference matrix-vector kernels (plain loops, one per format), the load-time conversions, and
// the choice of variant. Compiled for baseline x86-64 (CMakeLists.txt): this file must run anywhere.
#include "ops/matvec.hpp"

#include <algorithm>
#include <cmath>

#include "io/half.hpp"

namespace lj::ops {

// y_n = sum_k W_nk x_k
static void f32_reference(float* y, const float* W, const float* x, int64_t r0, int64_t r1, int64_t K) {
  for (int64_t n = r0; n < r1; n++) {
    const float* w = W + n * K;
    float s = 0;
    for (int64_t k = 0; k < K; k++) s += w[k] * x[k];
    y[n] = s;
  }
}

static void bf16_reference(float* y, const uint16_t* W, const float* x, int64_t r0, int64_t r1, int64_t K) {
  for (int64_t n = r0; n < r1; n++) {
    const uint16_t* w = W + n * K;
    float s = 0;
    for (int64_t k = 0; k < K; k++) s += io::detail::bf16_to_float(w[k]) * x[k];
    y[n] = s;
  }
}

// y_n = sum_b d_nb sum_{k in block b} q_nk x_k
static void q8_reference(float* y, const int8_t* q, const float* scales, const float* x, int64_t r0, int64_t r1,
                         int64_t K) {
  const int64_t nb = q8_blocks(K);
  for (int64_t n = r0; n < r1; n++) {
    float s = 0;
    for (int64_t b = 0; b < nb; b++) {
      float block = 0;
      for (int64_t k = b * kQ8Block; k < std::min(K, (b + 1) * kQ8Block); k++)
        block += static_cast<float>(q[n * K + k]) * x[k];
      s += scales[n * nb + b] * block;
    }
    y[n] = s;
  }
}

static bool always() { return true; }
static const MatvecKernels kReference{"reference", always, f32_reference, bf16_reference, q8_reference};

// Defined in matvec_avx2.cpp and matvec_avx512.cpp.
extern const MatvecKernels kMatvecAvx2;
extern const MatvecKernels kMatvecAvx512;

const std::vector<const MatvecKernels*>& matvec_variants() {
  static const std::vector<const MatvecKernels*> all{&kReference, &kMatvecAvx2, &kMatvecAvx512};
  return all;
}

const MatvecKernels& matvec_best() {
  static const MatvecKernels* best = [] {
    const MatvecKernels* b = &kReference;
    for (const MatvecKernels* k : matvec_variants())
      if (k->supported()) b = k;  // listed slowest to fastest
    return b;
  }();
  return *best;
}

void pack_bf16(uint16_t* dst, const float* w, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = io::detail::float_to_bf16(w[i]);
}

void pack_q8(int8_t* q, float* scales, const float* w, int64_t N, int64_t K) {
  const int64_t nb = q8_blocks(K);
  for (int64_t n = 0; n < N; n++)
    for (int64_t b = 0; b < nb; b++) {
      const int64_t k0 = b * kQ8Block, k1 = std::min(K, k0 + kQ8Block);
      float amax = 0;
      for (int64_t k = k0; k < k1; k++) amax = std::max(amax, std::abs(w[n * K + k]));
      const float d = amax / 127.0f;
      scales[n * nb + b] = d;
      for (int64_t k = k0; k < k1; k++)  // nearbyint: half to even, as torch.round
        q[n * K + k] = d == 0 ? 0 : static_cast<int8_t>(std::nearbyint(w[n * K + k] / d));
    }
}

}  // namespace lj::ops
