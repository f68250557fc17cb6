// Branch-free float exp and erf that the compiler can vectorise (glibc's expf/erff are calls it
// cannot). Accuracy: exp within 1 ulp over the float range (Cephes expf), and exactly 0 below
// -87.33 (so exp(-inf) = 0 for masked scores); erf within 5e-7 absolute (Abramowitz & Stegun 7.1.26,
// the approximation torch's vectorised GELU uses). The double kernels (gradient checks) keep std::exp
// and std::erf: exp_of / erf_of pick by type.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace lj::fast {

// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 (ln 2 in two parts), exp(r) by a
// degree-6 polynomial (Cephes expf). V is float or a GCC vector of floats; every lane of a vector
// goes through the same operations as a float, so both give the same bits.
template <typename V>
inline V exp_each(V x) {
  const V lo = V{} + -87.3365447505531f, hi = V{} + 88.3762626647949f;
  const auto underflow = x < lo;
  x = x < hi ? x : hi;
  x = x > lo ? x : lo;
  // round to nearest by adding and removing 1.5 * 2^23: plain arithmetic, so it vectorises
  const V n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  V r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const V r2 = r * r;
  V p = V{} + 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r2 + r + 1.0f;
  V two_n;  // 2^n, n in [-126, 127], by its exponent bits
  if constexpr (std::is_same_v<V, float>) {
    two_n = std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
  } else {
    using I = decltype(n < n);  // the int32 vector of V's width
    const I e = (__builtin_convertvector(n, I) + 127) << 23;
    std::memcpy(&two_n, &e, sizeof two_n);
  }
  return underflow ? V{} : p * two_n;
}

inline float exp(float x) { return exp_each(x); }

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
