// The learning-rate schedule and gradient clipping (formulas in optim.hpp).
#include <cmath>
#include <numbers>
#include <unordered_set>

#include "llm_journey/optim.hpp"

namespace lj::optim {

double cosine_lr(int64_t it, double lr, double min_lr, int64_t warmup_iters, int64_t decay_iters) {
  LJ_CHECK(warmup_iters >= 0 && decay_iters >= warmup_iters, "cosine_lr: need 0 <= warmup_iters=", warmup_iters,
           " <= decay_iters=", decay_iters);
  if (it < warmup_iters) return lr * static_cast<double>(it + 1) / static_cast<double>(warmup_iters + 1);
  if (it > decay_iters || decay_iters == warmup_iters) return min_lr;
  const double ratio = static_cast<double>(it - warmup_iters) / static_cast<double>(decay_iters - warmup_iters);
  const double coeff = 0.5 * (1.0 + std::cos(std::numbers::pi * ratio));
  return min_lr + coeff * (lr - min_lr);
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  LJ_CHECK(max_norm > 0, "clip_grad_norm: max_norm=", max_norm, " must be positive");
  std::unordered_set<const TensorImpl*> seen;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (seen.insert(p.impl()).second && p.grad().defined()) grads.push_back(p.grad());
  // torch: the norm of the per-tensor norms; accumulated here in double
  double sq = 0;
  for (const Tensor& g : grads) {
    const float* d = g.data();
    const int64_t n = g.numel();
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += static_cast<double>(d[i]) * d[i];
    sq += s;
  }
  const double norm = std::sqrt(sq);
  const float coef = static_cast<float>(std::min(1.0, max_norm / (norm + 1e-6)));
  if (coef < 1.0f)
    for (Tensor& g : grads) {
      float* d = g.data();
      const int64_t n = g.numel();
#pragma omp simd
      for (int64_t i = 0; i < n; i++) d[i] *= coef;
    }
  return norm;
}

}  // namespace lj::optim
