// AVX-512 matrix-vector kernels (see matvec.hpp). This file is compiled for baseline x86-64 and only
// these functions are built for AVX-512F; they run only where the CPU reports it.
// Four rows at a time share each load of x; 16 lanes per step; the sums are float32.
#include "ops/matvec.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

namespace lj::ops {
namespace {

#define LJ_AVX512 __attribute__((target("avx512f,fma")))

constexpr int R = 4;  // rows per pass (a compile-time count, so that the sums stay in registers)
constexpr __mmask16 kAll = 0xFFFF;

// GCC 12's plain forms of these intrinsics start from an undefined register and warn
// (-Wmaybe-uninitialized, GCC bug 105593); the zero-masked forms with every lane kept are the same
// instructions without that.
LJ_AVX512 inline float reduce_add(__m512 v) {
  const __m256 lo = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, _mm512_castps_pd(v), 0));
  const __m256 hi = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xFF, _mm512_castps_pd(v), 1));
  const __m256 s8 = _mm256_add_ps(lo, hi);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

LJ_AVX512 inline __m512 load_bf16(const uint16_t* p) {
  const __m512i w = _mm512_maskz_cvtepu16_epi32(kAll, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, w, 16));
}
LJ_AVX512 inline __m512 load_q8(const int8_t* p) {
  const __m512i q = _mm512_maskz_cvtepi8_epi32(kAll, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm512_maskz_cvtepi32_ps(kAll, q);
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
LJ_AVX512 inline void prefetch_ahead(const void* group, uintptr_t consumed, uintptr_t step) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(group) + consumed + kPrefetch;
  for (uintptr_t o = 0; o < step; o += 64) _mm_prefetch(reinterpret_cast<const char*>(a + o), _MM_HINT_T0);
}

// rows n..n+rows-1 (rows <= R): f32 and bf16 share this loop, templated on the weight type.
template <typename W, int rows>
LJ_AVX512 void rows_fp(float* y, const W* w, const float* x, int64_t n, int64_t K) {
  __m512 acc[rows];
  for (int r = 0; r < rows; r++) acc[r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    if constexpr (sizeof(W) == 2) prefetch_ahead(w + n * K, static_cast<uintptr_t>(k) * rows * sizeof(W), 16 * rows * sizeof(W));
    const __m512 xv = _mm512_loadu_ps(x + k);
    for (int r = 0; r < rows; r++) {
      const W* p = w + (n + r) * K + k;
      __m512 wv;
      if constexpr (sizeof(W) == 4) wv = _mm512_loadu_ps(reinterpret_cast<const float*>(p));
      else wv = load_bf16(reinterpret_cast<const uint16_t*>(p));
      acc[r] = _mm512_fmadd_ps(wv, xv, acc[r]);
    }
  }
  for (int r = 0; r < rows; r++) {
    float s = reduce_add(acc[r]);
    for (int64_t j = k; j < K; j++) {
      const W v = w[(n + r) * K + j];
      if constexpr (sizeof(W) == 4) s += bits_float(v) * x[j];
      else s += bits_float(static_cast<uint32_t>(v) << 16) * x[j];
    }
    y[n + r] = s;
  }
}

template <typename W>
LJ_AVX512 void matvec_fp(float* y, const W* w, const float* x, int64_t r0, int64_t r1, int64_t K) {
  int64_t n = r0;
  for (; n + R <= r1; n += R) rows_fp<W, R>(y, w, x, n, K);
  switch (r1 - n) {  // the rows left, fewer than R
    case 3: rows_fp<W, 3>(y, w, x, n, K); break;
    case 2: rows_fp<W, 2>(y, w, x, n, K); break;
    case 1: rows_fp<W, 1>(y, w, x, n, K); break;
    default: break;
  }
}

LJ_AVX512 void f32_avx512(float* y, const float* W, const float* x, int64_t r0, int64_t r1, int64_t K) {
  matvec_fp<uint32_t>(y, reinterpret_cast<const uint32_t*>(W), x, r0, r1, K);
}
LJ_AVX512 void bf16_avx512(float* y, const uint16_t* W, const float* x, int64_t r0, int64_t r1, int64_t K) {
  matvec_fp<uint16_t>(y, W, x, r0, r1, K);
}

template <int rows>
LJ_AVX512 void rows_q8(float* y, const int8_t* q, const float* scales, const float* x, int64_t n, int64_t K) {
  const int64_t nb = q8_blocks(K), full = K / kQ8Block;
  __m512 acc[rows];
  for (int r = 0; r < rows; r++) acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < full; b++) {
    const int64_t k = b * kQ8Block;
    prefetch_ahead(q + n * K, static_cast<uintptr_t>(k) * rows, kQ8Block * rows);
    const __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
    for (int r = 0; r < rows; r++) {
      const int8_t* p = q + (n + r) * K + k;
      const __m512 block = _mm512_fmadd_ps(load_q8(p), x0, _mm512_mul_ps(load_q8(p + 16), x1));
      acc[r] = _mm512_fmadd_ps(block, _mm512_set1_ps(scales[(n + r) * nb + b]), acc[r]);
    }
  }
  for (int r = 0; r < rows; r++) {
    float s = reduce_add(acc[r]);
    if (full < nb) {  // the shorter last block
      float block = 0;
      for (int64_t k = full * kQ8Block; k < K; k++) block += static_cast<float>(q[(n + r) * K + k]) * x[k];
      s += scales[(n + r) * nb + full] * block;
    }
    y[n + r] = s;
  }
}

LJ_AVX512 void q8_avx512(float* y, const int8_t* q, const float* scales, const float* x, int64_t r0, int64_t r1,
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

bool avx512_supported() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"); }

}  // namespace

extern const MatvecKernels kMatvecAvx512{"avx512", avx512_supported, f32_avx512, bf16_avx512, q8_avx512};

}  // namespace lj::ops

#else  // not x86-64: the variant exists, never supported

namespace lj::ops {
static bool never() { return false; }
extern const MatvecKernels kMatvecAvx512{"avx512", never, nullptr, nullptr, nullptr};
}  // namespace lj::ops

#endif
