// IEEE half (F16) and bfloat16 (BF16) <-> float32, bit exact: widening is exact, narrowing rounds to
// nearest even, as torch's .half() and .bfloat16() do.
#pragma once
#include <cstdint>
#include <cstring>

#include "llm_journey/dtype.hpp"

namespace lj::io::detail {

inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// One definition of bfloat16 rounding: lj::to_bfloat16 (dtype.hpp).
inline float bf16_to_float(uint16_t h) { return to_float(bfloat16{h}); }
inline uint16_t float_to_bf16(float f) { return to_bfloat16(f).bits; }

// F16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
inline float f16_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | (man << 13));  // inf, NaN
  if (exp == 0) {
    if (man == 0) return bits_to_float(sign);
    // subnormal: man * 2^-24, exact in float32
    float v = static_cast<float>(man) * 5.9604644775390625e-08f;
    return sign ? -v : v;
  }
  return bits_to_float(sign | ((exp + 112) << 23) | (man << 13));
}

inline uint16_t float_to_f16(float f) {
  uint32_t u = float_to_bits(f);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;             // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;            // rounds to >= 65520: inf
  if (a < 0x38800000u) {                                  // below the smallest normal half, 2^-14
    // subnormal half: value / 2^-24, rounded to nearest even
    float v = bits_to_float(a) * 16777216.0f;             // exact: scaling by a power of two
    uint32_t m = static_cast<uint32_t>(v);
    float rest = v - static_cast<float>(m);
    if (rest > 0.5f || (rest == 0.5f && (m & 1u))) m++;
    return sign | static_cast<uint16_t>(m);
  }
  // normal: rebias exponent, round the 13 dropped mantissa bits to nearest even
  uint32_t r = a + 0xfffu + ((a >> 13) & 1u);
  return sign | static_cast<uint16_t>((r - 0x38000000u) >> 13);
}

}  // namespace lj::io::detail
