// Matrix-vector products over compressed weights, for decoding one token at a time: y = W x with
// W (N, K) row-major in one of three formats, x (K) and y (N) float32. Decoding reads every weight
// once per token, so these products are bound by memory bandwidth; the formats trade precision for
// bytes read:
//   f32   4 bytes a weight
//   bf16  2 bytes: the top half of the float32 bits, rounded to nearest even (torch's .bfloat16())
//   q8    1 + 4/32 bytes: blocks of 32 weights along a row share one float32 scale d = max|w| / 127,
//         w ~ d q with q = round_half_even(w / d) in [-127, 127] (llama.cpp's Q8_0, with a float32
//         scale and torch.round's rounding). A row whose length is not a multiple of 32 ends in a
//         shorter block.
// Only the weights are compressed: x and the sums stay float32.
//
// Each format has a plain reference kernel (matvec.cpp) and hand-written AVX2 and AVX-512 variants
// (matvec_avx2.cpp, matvec_avx512.cpp). The variants are compiled for their instruction set alone
// and chosen at run time from what the CPU reports, so the library runs on any x86-64.
#pragma once
#include <cstdint>
#include <vector>

namespace lj::ops {

constexpr int64_t kQ8Block = 32;
inline int64_t q8_blocks(int64_t K) { return (K + kQ8Block - 1) / kQ8Block; }

// Rows [r0, r1) of y = W x.  W (N, K); scales (N, q8_blocks(K)) for q8.
using MatvecF32 = void (*)(float* y, const float* W, const float* x, int64_t r0, int64_t r1, int64_t K);
using MatvecBF16 = void (*)(float* y, const uint16_t* W, const float* x, int64_t r0, int64_t r1, int64_t K);
using MatvecQ8 = void (*)(float* y, const int8_t* q, const float* scales, const float* x, int64_t r0, int64_t r1,
                          int64_t K);

struct MatvecKernels {
  const char* name;  // "reference", "avx2", "avx512"
  bool (*supported)();
  MatvecF32 f32;
  MatvecBF16 bf16;
  MatvecQ8 q8;
};

// Every variant, the reference first; a variant runs only where supported() says so.
const std::vector<const MatvecKernels*>& matvec_variants();
// The fastest supported variant (chosen once).
const MatvecKernels& matvec_best();

// Conversions at load time (the reference rounding, shared by every variant).
// bf16: round to nearest even, NaN kept quiet (src/io/half.hpp).
void pack_bf16(uint16_t* dst, const float* w, int64_t n);
// q8: W (N, K) -> q (N, K), scales (N, q8_blocks(K)).
void pack_q8(int8_t* q, float* scales, const float* w, int64_t N, int64_t K);

}  // namespace lj::ops
