// The learning-rate schedule and gradient clipping (formulas in optim.hpp).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <unordered_set>

#include "llm_journey/optim.hpp"
#include "ops/parallel.hpp"

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

// The gradients of params, each tensor once, skipping parameters without one.
static std::vector<Tensor> distinct_grads(const std::vector<Tensor>& params) {
  std::unordered_set<const TensorImpl*> seen;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (seen.insert(p.impl()).second && p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

// The sum of squares is taken in double over fixed blocks of every gradient, the blocks in parallel
// and their sums added in order: the same bits whatever the number of threads.
constexpr int64_t kNormBlock = 16384;

static double norm_of(const std::vector<Tensor>& grads) {
  struct Block {
    const float* d;
    int64_t n;
  };
  std::vector<Block> blocks;
  for (const Tensor& g : grads) {
    const float* d = g.data();
    for (int64_t i = 0; i < g.numel(); i += kNormBlock) blocks.push_back({d + i, std::min(kNormBlock, g.numel() - i)});
  }
  std::vector<double> sums(blocks.size());
  parallel_for(static_cast<int64_t>(blocks.size()), static_cast<int64_t>(blocks.size()) * kNormBlock,
               [&](int64_t b0, int64_t b1) {
                 for (int64_t b = b0; b < b1; b++) {
                   const float* d = blocks[static_cast<size_t>(b)].d;
                   double s = 0;
#pragma omp simd reduction(+ : s)
                   for (int64_t i = 0; i < blocks[static_cast<size_t>(b)].n; i++) s += static_cast<double>(d[i]) * d[i];
                   sums[static_cast<size_t>(b)] = s;
                 }
               });
  double sq = 0;
  for (double s : sums) sq += s;
  return std::sqrt(sq);
}

double grad_norm(const std::vector<Tensor>& params) { return norm_of(distinct_grads(params)); }

float clip_coefficient(double norm, double max_norm) {
  LJ_CHECK(max_norm > 0, "clip_coefficient: max_norm=", max_norm, " must be positive");
  return static_cast<float>(std::min(1.0, max_norm / (norm + 1e-6)));
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  LJ_CHECK(max_norm > 0, "clip_grad_norm: max_norm=", max_norm, " must be positive");
  std::vector<Tensor> grads = distinct_grads(params);
  const double norm = norm_of(grads);
  const float coef = clip_coefficient(norm, max_norm);
  if (coef < 1.0f)
    for (Tensor& g : grads) {
      float* d = g.mutable_data();
      parallel_for(g.numel(), g.numel(), [&](int64_t i0, int64_t i1) {
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) d[i] *= coef;
      });
    }
  return norm;
}

}  // namespace lj::optim
