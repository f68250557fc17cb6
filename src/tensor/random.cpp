// PyTorch's CPU random number generation, reproduced (see random.hpp for the formulas).
#include "llm_journey/random.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>
#include <sstream>

namespace lj {

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  engine_.seed(static_cast<uint32_t>(seed));  // torch keeps the low 32 bits for mt19937
  has_next_normal_ = false;
}

uint64_t Generator::random64() {
  uint64_t hi = engine_();
  uint64_t lo = engine_();
  return (hi << 32) | lo;
}

float Generator::uniform_float(float from, float to) {
  float x = static_cast<float>(random() & ((1u << 24) - 1)) * (1.0f / static_cast<float>(1u << 24));
  return x * (to - from) + from;
}

double Generator::uniform_double(double from, double to) {
  double x = static_cast<double>(random64() & ((1ULL << 53) - 1)) * (1.0 / static_cast<double>(1ULL << 53));
  return x * (to - from) + from;
}

double Generator::normal_double(double mean, double std) {
  if (has_next_normal_) {
    has_next_normal_ = false;
    return next_normal_ * std + mean;
  }
  double u1 = uniform_double(0.0, 1.0);
  double u2 = uniform_double(0.0, 1.0);
  double r = std::sqrt(-2.0 * std::log1p(-u2));
  double theta = 2.0 * std::numbers::pi * u1;
  next_normal_ = r * std::sin(theta);
  has_next_normal_ = true;
  return r * std::cos(theta) * std + mean;
}

void Generator::fill_uniform(float* x, int64_t n, float from, float to) {
  for (int64_t i = 0; i < n; i++) x[i] = uniform_float(from, to);
}

// torch fills normal tensors of 16 or more floats with its AVX2 kernel: Box-Muller with the Cephes
// single-precision log and sincos polynomials (as in avx_mathfun), evaluated with the fused multiply-adds
// its compiler chose (checked bit for bit against torch in tests/test_random.cpp).
// The same operations, one lane at a time, give the same bits.
namespace {

float bits_to_float(uint32_t u) { return std::bit_cast<float>(u); }
uint32_t float_to_bits(float f) { return std::bit_cast<uint32_t>(f); }

// Natural log for x in (0, 1]: split x = m * 2^e with m in [sqrt(1/2), sqrt(2)), then a polynomial in m-1.
float cephes_logf(float x) {
  x = std::max(x, bits_to_float(0x00800000u));  // the smallest normal float
  int32_t e_int = static_cast<int32_t>(float_to_bits(x) >> 23) - 0x7f;
  x = bits_to_float((float_to_bits(x) & ~0x7f800000u) | float_to_bits(0.5f));  // mantissa in [0.5, 1)
  float e = static_cast<float>(e_int) + 1.0f;
  const bool small = x < 0.707106781186547524f;
  const float t = small ? x : 0.0f;
  x = x - 1.0f;
  e = e - (small ? 1.0f : 0.0f);
  x = x + t;
  const float z = x * x;
  float y = 7.0376836292E-2f;
  for (float c : {-1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f, 1.4249322787E-1f, -1.6668057665E-1f,
                  2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f})
    y = std::fma(y, x, c);
  y = std::fma(y * x, z, e * -2.12194440e-4f);
  y = std::fma(z, -0.5f, y);
  x = x + y;
  return std::fma(e, 0.693359375f, x);
}

// sin and cos together: reduce by multiples of pi/4 (in three parts), then the Cephes polynomials.
void cephes_sincosf(float x, float* s, float* c) {
  const bool negative = std::signbit(x);
  x = std::fabs(x);
  int32_t j = static_cast<int32_t>(x * 1.27323954473516f);  // x * 4/pi
  j = (j + 1) & ~1;
  const float y = static_cast<float>(j);
  const bool swap_sin = (j & 4) != 0, poly_sin = (j & 2) == 0, neg_cos = ((~(j - 2)) & 4) != 0;
  x = std::fma(y, -0.78515625f, x);
  x = std::fma(y, -2.4187564849853515625e-4f, x);
  x = std::fma(y, -3.77489497744594108e-8f, x);
  const float z = x * x;
  float yc = 2.443315711809948E-005f;
  yc = std::fma(yc, z, -1.388731625493765E-003f);
  yc = std::fma(yc, z, 4.166664568298827E-002f);
  yc = std::fma(yc * z, z, -(z * 0.5f)) + 1.0f;
  float ys = -1.9515295891E-4f;
  ys = std::fma(ys, z, 8.3321608736E-3f);
  ys = std::fma(ys, z, -1.6666654611E-1f);
  ys = std::fma(ys * z, x, x);
  const float sv = poly_sin ? ys : yc, cv = poly_sin ? yc : ys;
  *s = (negative != swap_sin) ? -sv : sv;
  *c = neg_cos ? -cv : cv;
}

// Box-Muller over 16 uniforms: the first 8 give the radii, the last 8 the angles.
void normal_fill_16(float* x, float mean, float std) {
  for (int j = 0; j < 8; j++) {
    const float u1 = 1.0f - x[j];  // [0, 1) -> (0, 1] for the log
    const float u2 = x[j + 8];
    const float radius = std::sqrt(-2.0f * cephes_logf(u1));
    const float theta = 6.28318530717958647692f * u2;
    float s, c;
    cephes_sincosf(theta, &s, &c);
    x[j] = std::fma(radius * c, std, mean);
    x[j + 8] = std::fma(radius * s, std, mean);
  }
}

}  // namespace

void Generator::fill_normal(float* x, int64_t n, float mean, float std) {
  if (n < 16) {
    for (int64_t i = 0; i < n; i++) x[i] = static_cast<float>(normal_double(mean, std));
    return;
  }
  for (int64_t i = 0; i < n; i++) x[i] = uniform_float(0.0f, 1.0f);
  for (int64_t i = 0; i + 16 <= n; i += 16) normal_fill_16(x + i, mean, std);
  if (n % 16 != 0) {  // torch redraws the last 16 values
    float* tail = x + n - 16;
    for (int i = 0; i < 16; i++) tail[i] = uniform_float(0.0f, 1.0f);
    normal_fill_16(tail, mean, std);
  }
}

void Generator::fill_bernoulli(float* x, int64_t n, double p) {
  for (int64_t i = 0; i < n; i++) x[i] = uniform_double(0.0, 1.0) < p ? 1.0f : 0.0f;
}

std::string Generator::state() const {
  std::ostringstream os;
  os << seed_ << ' ' << has_next_normal_ << ' ';
  os.precision(17);
  os << next_normal_ << ' ' << engine_;
  return os.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream is(state);
  Generator g;
  is >> g.seed_ >> g.has_next_normal_ >> g.next_normal_ >> g.engine_;
  LJ_CHECK(!is.fail(), "Generator::set_state: malformed state string of ", state.size(), " bytes");
  *this = g;
}

Generator& default_generator() {
  static Generator gen;
  return gen;
}

void set_seed(uint64_t seed) { default_generator().manual_seed(seed); }

Tensor randn(const Shape& shape, Generator& gen) {
  Tensor t = Tensor::empty(shape);
  gen.fill_normal(t.mutable_data(), t.numel(), 0.0f, 1.0f);
  return t;
}

Tensor rand(const Shape& shape, Generator& gen) { return uniform(shape, 0.0f, 1.0f, gen); }

Tensor uniform(const Shape& shape, float from, float to, Generator& gen) {
  Tensor t = Tensor::empty(shape);
  gen.fill_uniform(t.mutable_data(), t.numel(), from, to);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen) {
  LJ_CHECK(high > low, "randint: high=", high, " must be greater than low=", low);
  uint64_t range = static_cast<uint64_t>(high - low);
  LJ_CHECK(range < (1ULL << 24), "randint: range ", range, " is too wide to be held exactly in float32");
  Tensor t = Tensor::empty(shape);
  float* x = t.mutable_data();
  for (int64_t i = 0; i < t.numel(); i++) x[i] = static_cast<float>(static_cast<int64_t>(gen.random() % range) + low);
  return t;
}

}  // namespace lj
