// Branch-free float exp and erf that the compiler can vectorise (glibc's expf/erff are calls it
// cannot). Accuracy: exp within 1 ulp over the float range (Cephes expf), and exactly 0 below
// -87.33 (so exp(-inf) = 0 for masked scores); erf within 5e-7 absolute (Abramowitz & Stegun 7.1.26,
// the approximation torch's vectorised GELU uses). The double kernels (gradient checks) keep std::exp
// and std::erf: exp_of / erf_of pick by type.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace lj::fast {

// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 (ln 2 in two parts), exp(r) by a
// degree-6 polynomial (Cephes expf).
inline float exp(float x) {
  const bool underflow = x < -87.3365447505531f;
  x = x < 88.3762626647949f ? x : 88.3762626647949f;
  x = x > -87.3365447505531f ? x : -87.3365447505531f;
  // round to nearest by adding and removing 1.5 * 2^23: plain arithmetic, so it vectorises
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r2 + r + 1.0f;
  const int32_t e = static_cast<int32_t>(n) + 127;
  const float y = p * std::bit_cast<float>(static_cast<uint32_t>(e) << 23);
  return underflow ? 0.0f : y;
}

// erf(x) = sign(x) (1 - t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^{-x^2}),  t = 1 / (1 + p|x|);
// e^{-x^2}, computed on the way, goes to `e` (GELU's backward needs both).
inline float erf_and_exp(float x, float& e) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  float r = 1.061405429f;
  r = r * t - 1.453152027f;
  r = r * t + 1.421413741f;
  r = r * t - 0.284496736f;
  r = r * t + 0.254829592f;
  e = exp(-ax * ax);
  return std::copysign(1.0f - r * t * e, x);
}

inline float erf(float x) {
  float e;
  return erf_and_exp(x, e);
}

template <typename T>
inline T exp_of(T x) {
  if constexpr (std::is_same_v<T, float>) return exp(x);
  else return std::exp(x);
}
template <typename T>
inline T erf_of(T x) {
  if constexpr (std::is_same_v<T, float>) return erf(x);
  else return std::erf(x);
}

}  // namespace lj::fast
