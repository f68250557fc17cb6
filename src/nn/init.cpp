#include "llm_journey/nn/init.hpp"

#include <cmath>

#include "tensor/tracking.hpp"

namespace lj::nn::init {

static void check_dense(const Tensor& t, const char* op) {
  LJ_CHECK(t.defined() && t.is_contiguous(), op, ": the tensor must be defined and contiguous");
}

void uniform_(Tensor& t, double from, double to, Generator& gen) {
  check_dense(t, "init::uniform_");
  LJ_CHECK(from <= to, "init::uniform_: from=", from, " must not exceed to=", to);
  gen.fill_uniform(detail::data_for_write(t), t.numel(), static_cast<float>(from), static_cast<float>(to));
}

void normal_(Tensor& t, double mean, double std, Generator& gen) {
  check_dense(t, "init::normal_");
  LJ_CHECK(std >= 0, "init::normal_: std=", std, " must be non-negative");
  gen.fill_normal(detail::data_for_write(t), t.numel(), static_cast<float>(mean), static_cast<float>(std));
}

void zeros_(Tensor& t) { t.fill_(0.0f); }
void ones_(Tensor& t) { t.fill_(1.0f); }

void kaiming_uniform_(Tensor& t, double a, Generator& gen) {
  LJ_CHECK(t.dim() >= 2, "init::kaiming_uniform_: fan in is undefined for a tensor of shape ", t.shape());
  int64_t fan_in = t.size(1);
  for (int64_t i = 2; i < t.dim(); i++) fan_in *= t.size(i);
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double std = gain / std::sqrt(static_cast<double>(fan_in));
  const double bound = std::sqrt(3.0) * std;
  uniform_(t, -bound, bound, gen);
}

}  // namespace lj::nn::init
