// The element-wise maths, one struct per op: f is the forward formula and df its derivative,
// written once and used both by the float kernels and by the double-precision gradient checks.
#pragma once
#include <cmath>
#include <numbers>

#include "ops/fast_math.hpp"

namespace lj::pointwise {

// Unary: y = f(x);  dx = g * df(x, y)
struct Neg {
  template <typename T> static T f(T x) { return -x; }
  template <typename T> static T df(T, T) { return T(-1); }
};
struct Exp {
  template <typename T> static T f(T x) { return std::exp(x); }
  template <typename T> static T df(T, T y) { return y; }
};
struct Log {
  template <typename T> static T f(T x) { return std::log(x); }
  template <typename T> static T df(T x, T) { return T(1) / x; }
};
struct Tanh {
  template <typename T> static T f(T x) { return std::tanh(x); }
  template <typename T> static T df(T, T y) { return T(1) - y * y; }
};
struct Sqrt {
  template <typename T> static T f(T x) { return std::sqrt(x); }
  template <typename T> static T df(T, T y) { return T(0.5) / y; }
};
struct Abs {
  template <typename T> static T f(T x) { return std::abs(x); }
  template <typename T> static T df(T x, T) { return x > 0 ? T(1) : (x < 0 ? T(-1) : T(0)); }
};
struct Sigmoid {
  template <typename T> static T f(T x) { return T(1) / (T(1) + std::exp(-x)); }
  template <typename T> static T df(T, T y) { return y * (T(1) - y); }
};
struct Relu {
  template <typename T> static T f(T x) { return x > 0 ? x : T(0); }
  template <typename T> static T df(T x, T) { return x > 0 ? T(1) : T(0); }
};
// GELU(x) = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
// (float: the vectorisable erf and exp of fast_math.hpp)
struct Gelu {
  template <typename T> static T f(T x) { return T(0.5) * x * (T(1) + fast::erf_of(x * T(std::numbers::sqrt2 / 2))); }
  template <typename T> static T df(T x, T) {
    if constexpr (std::is_same_v<T, float>) {  // Phi and phi share one exp: e^{-(x/sqrt 2)^2} = e^{-x^2/2}
      float e;
      const float cdf = 0.5f * (1.0f + fast::erf_and_exp(x * static_cast<float>(std::numbers::sqrt2 / 2), e));
      return cdf + x * e * static_cast<float>(std::numbers::inv_sqrtpi * std::numbers::sqrt2 / 2);
    } else {
      const T cdf = T(0.5) * (T(1) + fast::erf_of(x * T(std::numbers::sqrt2 / 2)));
      const T pdf = fast::exp_of(T(-0.5) * x * x) * T(std::numbers::inv_sqrtpi * std::numbers::sqrt2 / 2);
      return cdf + x * pdf;
    }
  }
};
// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
struct GeluTanh {
  static constexpr double kBeta = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;  // sqrt(2/pi)
  template <typename T> static T f(T x) {
    return T(0.5) * x * (T(1) + std::tanh(T(kBeta) * (x + T(0.044715) * x * x * x)));
  }
  template <typename T> static T df(T x, T) {
    const T inner = T(kBeta) * (x + T(0.044715) * x * x * x);
    const T t = std::tanh(inner);
    const T dinner = T(kBeta) * (T(1) + T(3 * 0.044715) * x * x);
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
  }
};
// y = x^p (p fixed)
struct Pow {
  template <typename T> static T f(T x, T p) { return std::pow(x, p); }
  template <typename T> static T df(T x, T p) { return p * std::pow(x, p - T(1)); }
};

// Binary: y = f(a, b);  da = g * da(a, b),  db = g * db(a, b)
struct Add {
  template <typename T> static T f(T a, T b) { return a + b; }
  template <typename T> static T da(T, T) { return T(1); }
  template <typename T> static T db(T, T) { return T(1); }
};
struct Sub {
  template <typename T> static T f(T a, T b) { return a - b; }
  template <typename T> static T da(T, T) { return T(1); }
  template <typename T> static T db(T, T) { return T(-1); }
};
struct Mul {
  template <typename T> static T f(T a, T b) { return a * b; }
  template <typename T> static T da(T, T b) { return b; }
  template <typename T> static T db(T a, T) { return a; }
};
struct Div {
  template <typename T> static T f(T a, T b) { return a / b; }
  template <typename T> static T da(T, T b) { return T(1) / b; }
  template <typename T> static T db(T a, T b) { return -a / (b * b); }
};

}  // namespace lj::pointwise
