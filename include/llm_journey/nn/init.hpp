// Weight initialisation, as torch.nn.init does it (same formulas, same draws from the generator).
#pragma once
#include "llm_journey/random.hpp"
#include "llm_journey/tensor.hpp"

namespace lj::nn::init {

void uniform_(Tensor& t, double from, double to, Generator& gen = default_generator());
void normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator& gen = default_generator());
void zeros_(Tensor& t);
void ones_(Tensor& t);
// U(-bound, bound), bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) (leaky_relu).
void kaiming_uniform_(Tensor& t, double a = 0.0, Generator& gen = default_generator());

}  // namespace lj::nn::init
