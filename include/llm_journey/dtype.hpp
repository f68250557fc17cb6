// Element types. A tensor holds float32 (the default, and what every op computes in) or bfloat16.
//
// bfloat16 is float32 with the low 16 bits of the mantissa dropped: the same 8-bit exponent, so the
// same range, and 8 bits of precision (7 stored, one implicit) instead of 24. Converting a float
// rounds to the nearest bfloat16, ties to even, exactly as torch's `.to(torch.bfloat16)` does; a
// NaN stays a NaN. Converting back is exact: the 16 bits are the float's top half.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace lj {

enum class Dtype : uint8_t { f32, bf16 };
inline constexpr Dtype f32 = Dtype::f32;
inline constexpr Dtype bf16 = Dtype::bf16;

inline size_t element_size(Dtype dt) { return dt == Dtype::bf16 ? 2 : 4; }
inline const char* dtype_name(Dtype dt) { return dt == Dtype::bf16 ? "bf16" : "f32"; }

// One bfloat16 value: its 16 bits. A type of its own, so that a buffer of them is never mistaken for
// integers or halves.
struct bfloat16 {
  uint16_t bits = 0;
};

// float -> bfloat16, round to nearest, ties to even. NaN -> the quiet NaN 0x7fc0 (torch's).
inline bfloat16 to_bfloat16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {0x7fc0};
  const uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);  // ties go to the even neighbour
  return {static_cast<uint16_t>((u + rounding_bias) >> 16)};
}

// bfloat16 -> float, exact.
inline float to_float(bfloat16 b) {
  const uint32_t u = static_cast<uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace lj
