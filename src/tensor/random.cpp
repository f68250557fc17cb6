// PyTorch's CPU random number generation, reproduced (see random.hpp for the formulas).
#include "llm_journey/random.hpp"

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

// Box-Muller over 16 uniforms: the first 8 give the radii, the last 8 the angles.
static void normal_fill_16(float* x, float mean, float std) {
  for (int j = 0; j < 8; j++) {
    const float u1 = 1 - x[j];  // [0, 1) -> (0, 1] for the log
    const float u2 = x[j + 8];
    const float radius = std::sqrt(-2 * std::log(u1));
    const float theta = static_cast<float>(2.0f * std::numbers::pi * u2);
    x[j] = radius * std::cos(theta) * std + mean;
    x[j + 8] = radius * std::sin(theta) * std + mean;
  }
}

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
  gen.fill_normal(t.data(), t.numel(), 0.0f, 1.0f);
  return t;
}

Tensor rand(const Shape& shape, Generator& gen) { return uniform(shape, 0.0f, 1.0f, gen); }

Tensor uniform(const Shape& shape, float from, float to, Generator& gen) {
  Tensor t = Tensor::empty(shape);
  gen.fill_uniform(t.data(), t.numel(), from, to);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen) {
  LJ_CHECK(high > low, "randint: high=", high, " must be greater than low=", low);
  uint64_t range = static_cast<uint64_t>(high - low);
  LJ_CHECK(range < (1ULL << 24), "randint: range ", range, " is too wide to be held exactly in float32");
  Tensor t = Tensor::empty(shape);
  float* x = t.data();
  for (int64_t i = 0; i < t.numel(); i++) x[i] = static_cast<float>(static_cast<int64_t>(gen.random() % range) + low);
  return t;
}

}  // namespace lj
