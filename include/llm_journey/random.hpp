// Random numbers identical to PyTorch's CPU generator.
//
// torch.manual_seed(s) seeds a 32-bit Mersenne Twister (mt19937); its distributions turn the raw
// draws into floats in documented ways, which we reproduce:
//   rand        : (u32 & (2^24-1)) * 2^-24                                   (one draw per value)
//   randn, n<16 : Box-Muller in double from two 53-bit uniforms, the sine cached for the next call
//   randn, n>=16: all uniforms first, then Box-Muller in float over blocks of 16 (the last block
//                 re-drawn when n is not a multiple of 16) — torch's normal_fill
//   bernoulli(p): a 53-bit uniform u per value, 1 if u < p                   (dropout's masks)
// set_seed fixes a sequence of draws, not each call: the same calls in the same order give the
// same numbers.
#pragma once
#include <cstdint>
#include <random>

#include "llm_journey/tensor.hpp"

namespace lj {

class Generator {
 public:
  explicit Generator(uint64_t seed = 67280421310721ULL) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint64_t initial_seed() const { return seed_; }

  uint32_t random() { return engine_(); }
  uint64_t random64();
  float uniform_float(float from, float to);    // 24-bit
  double uniform_double(double from, double to);  // 53-bit
  double normal_double(double mean, double std);  // with torch's cached second sample

  // Fills n floats in place, as torch's tensor methods do on a contiguous tensor.
  void fill_uniform(float* x, int64_t n, float from, float to);  // Tensor.uniform_
  void fill_normal(float* x, int64_t n, float mean, float std);  // Tensor.normal_
  void fill_bernoulli(float* x, int64_t n, double p);            // Tensor.bernoulli_(p)

  // The whole state, for checkpoints: the engine as text, plus the cached normal sample.
  std::string state() const;
  void set_state(const std::string& state);

 private:
  std::mt19937 engine_;
  uint64_t seed_ = 0;
  bool has_next_normal_ = false;
  double next_normal_ = 0.0;
};

// The library's default generator (torch's default CPU generator).
Generator& default_generator();

// Seeds the default generator: after set_seed(s), the draws below equal torch's after
// torch.manual_seed(s).
void set_seed(uint64_t seed);

Tensor randn(const Shape& shape, Generator& gen = default_generator());
Tensor rand(const Shape& shape, Generator& gen = default_generator());
Tensor uniform(const Shape& shape, float from, float to, Generator& gen = default_generator());
// Integers uniform in [low, high), as torch.randint on the CPU for a range below 2^32.
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen = default_generator());

}  // namespace lj
