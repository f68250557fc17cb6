// AVX2 matrix-vector kernels (see matvec.hpp). This file is compiled for baseline x86-64 and only
// these functions are built for AVX2 and FMA; they run only where the CPU reports both.
// Four rows at a time share each load of x; 8 lanes per step; the sums are float32.
#include "ops/matvec.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

namespace lj::ops {
namespace {

#define LJ_AVX2 __attribute__((target("avx2,fma")))

constexpr int R = 4;  // rows per pass (a compile-time count, so that the sums stay in registers)

LJ_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
LJ_AVX2 inline __m256 load_bf16(const uint16_t* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}
LJ_AVX2 inline __m256 load_q8(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
inline float bits_float(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

// The rows of a pass are contiguous, read together at `step` bytes per iteration: a prefetch
// kPrefetch bytes ahead of that front keeps more memory reads in flight than the hardware
// prefetcher alone (a prefetch past the end of the matrix is harmless: it never faults). Measured on
// GPT-2's lm_head, one thread: bf16 and int8 read faster with it, float32 did not (4 lines per step
// already keep the hardware prefetcher ahead), so float32 goes without.
constexpr uintptr_t kPrefetch = 4096;
LJ_AVX2 inline void prefetch_ahead(const void* group, uintptr_t consumed, uintptr_t step) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(group) + consumed + kPrefetch;
  for (uintptr_t o = 0; o < step; o += 64) _mm_prefetch(reinterpret_cast<const char*>(a + o), _MM_HINT_T0);
}

template <typename W, int rows>
LJ_AVX2 void rows_fp(float* y, const W* w, const float* x, int64_t n, int64_t K) {
  __m256 acc[rows];
  for (int r = 0; r < rows; r++) acc[r] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    if (sizeof(W) == 2 && k % 16 == 0) prefetch_ahead(w + n * K, static_cast<uintptr_t>(k) * rows * sizeof(W), 16 * rows * sizeof(W));
    const __m256 xv = _mm256_loadu_ps(x + k);
    for (int r = 0; r < rows; r++) {
      const W* p = w + (n + r) * K + k;
      __m256 wv;
      if constexpr (sizeof(W) == 4) wv = _mm256_loadu_ps(reinterpret_cast<const float*>(p));
      else wv = load_bf16(reinterpret_cast<const uint16_t*>(p));
      acc[r] = _mm256_fmadd_ps(wv, xv, acc[r]);
    }
  }
  for (int r = 0; r < rows; r++) {
    float s = hsum(acc[r]);
    for (int64_t j = k; j < K; j++) {
      const W v = w[(n + r) * K + j];
      if constexpr (sizeof(W) == 4) s += bits_float(v) * x[j];
      else s += bits_float(static_cast<uint32_t>(v) << 16) * x[j];
    }
    y[n + r] = s;
  }
}

template <typename W>
LJ_AVX2 void matvec_fp(float* y, const W* w, const float* x, int64_t r0, int64_t r1, int64_t K) {
  int64_t n = r0;
  for (; n + R <= r1; n += R) rows_fp<W, R>(y, w, x, n, K);
  switch (r1 - n) {  // the rows left, fewer than R
    case 3: rows_fp<W, 3>(y, w, x, n, K); break;
    case 2: rows_fp<W, 2>(y, w, x, n, K); break;
    case 1: rows_fp<W, 1>(y, w, x, n, K); break;
    default: break;
  }
}

LJ_AVX2 void f32_avx2(float* y, const float* W, const float* x, int64_t r0, int64_t r1, int64_t K) {
  matvec_fp<uint32_t>(y, reinterpret_cast<const uint32_t*>(W), x, r0, r1, K);
}
LJ_AVX2 void bf16_avx2(float* y, const uint16_t* W, const float* x, int64_t r0, int64_t r1, int64_t K) {
  matvec_fp<uint16_t>(y, W, x, r0, r1, K);
}

template <int rows>
LJ_AVX2 void rows_q8(float* y, const int8_t* q, const float* scales, const float* x, int64_t n, int64_t K) {
  const int64_t nb = q8_blocks(K), full = K / kQ8Block;
  __m256 acc[rows];
  for (int r = 0; r < rows; r++) acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < full; b++) {
    const int64_t k = b * kQ8Block;
    prefetch_ahead(q + n * K, static_cast<uintptr_t>(k) * rows, kQ8Block * rows);
    const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8), x2 = _mm256_loadu_ps(x + k + 16),
                 x3 = _mm256_loadu_ps(x + k + 24);
    for (int r = 0; r < rows; r++) {
      const int8_t* p = q + (n + r) * K + k;
      __m256 block = _mm256_mul_ps(load_q8(p), x0);
      block = _mm256_fmadd_ps(load_q8(p + 8), x1, block);
      block = _mm256_fmadd_ps(load_q8(p + 16), x2, block);
      block = _mm256_fmadd_ps(load_q8(p + 24), x3, block);
      acc[r] = _mm256_fmadd_ps(block, _mm256_set1_ps(scales[(n + r) * nb + b]), acc[r]);
    }
  }
  for (int r = 0; r < rows; r++) {
    float s = hsum(acc[r]);
    if (full < nb) {  // the shorter last block
      float block = 0;
      for (int64_t k = full * kQ8Block; k < K; k++) block += static_cast<float>(q[(n + r) * K + k]) * x[k];
      s += scales[(n + r) * nb + full] * block;
    }
    y[n + r] = s;
  }
}

LJ_AVX2 void q8_avx2(float* y, const int8_t* q, const float* scales, const float* x, int64_t r0, int64_t r1,
                     int64_t K) {
  int64_t n = r0;
  for (; n + R <= r1; n += R) rows_q8<R>(y, q, scales, x, n, K);
  switch (r1 - n) {  // the rows left, fewer than R
    case 3: rows_q8<3>(y, q, scales, x, n, K); break;
    case 2: rows_q8<2>(y, q, scales, x, n, K); break;
    case 1: rows_q8<1>(y, q, scales, x, n, K); break;
    default: break;
  }
}

bool avx2_supported() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

}  // namespace

extern const MatvecKernels kMatvecAvx2{"avx2", avx2_supported, f32_avx2, bf16_avx2, q8_avx2};

}  // namespace lj::ops

#else  // not x86-64: the variant exists, never supported

namespace lj::ops {
static bool never() { return false; }
extern const MatvecKernels kMatvecAvx2{"avx2", never, nullptr, nullptr, nullptr};
}  // namespace lj::ops

#endif
