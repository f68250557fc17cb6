// Optimisation: AdamW, the warmup-then-cosine learning rate, and gradient-norm clipping.
//
// AdamW (Loshchilov & Hutter), exactly as torch.optim.AdamW (PyTorch 1.13) computes it, per parameter:
//   t += 1
//   p   = p * (1 - lr * weight_decay)                 decoupled weight decay
//   m   = beta1 * m + (1 - beta1) * g
//   v   = beta2 * v + (1 - beta2) * g^2
//   p  -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "llm_journey/nn/module.hpp"
#include "llm_journey/tensor.hpp"

namespace lj::optim {

// Parameters that share a weight decay.
struct ParamGroup {
  std::vector<Tensor> params;
  double weight_decay = 0.0;
};

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // used when the constructor is given plain parameters
};

// nanoGPT's grouping: matrices decay; biases, LayerNorm weights and embeddings (hence a weight tied to
// an embedding) do not. A tensor listed twice (tied) is kept once, under its first owner.
std::vector<ParamGroup> param_groups(nn::Module& model, double weight_decay);

class AdamW {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
  AdamW(const std::vector<Tensor>& params, AdamWOptions options = {});  // one group, options.weight_decay

  // One update of every parameter that has a gradient (those without one are skipped, as torch does).
  // Each gradient enters as grad * grad_scale, its value unchanged: with the coefficient of
  // clip_coefficient, the same update, bit for bit, as clip_grad_norm followed by step(), and one
  // pass over the gradients fewer.
  void step(float grad_scale = 1.0f);
  // Drops every parameter's gradient (set_to_none, torch's default since 2.0).
  void zero_grad();

  double lr() const { return options_.lr; }
  void set_lr(double lr) { options_.lr = lr; }
  const AdamWOptions& options() const { return options_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  int64_t steps() const { return steps_; }

  // The state for checkpoints, as named tensors "<g>.<i>.exp_avg", "<g>.<i>.exp_avg_sq" (group g,
  // parameter i) plus "step" (a one-element tensor). load_state checks every shape.
  std::vector<std::pair<std::string, Tensor>> state() const;
  void load_state(const std::vector<std::pair<std::string, Tensor>>& state);

 private:
  struct Slot {
    Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
  };
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<Slot>> slots_;
  AdamWOptions options_;
  int64_t steps_ = 0;
};

// nanoGPT's schedule for iteration `it` (0-based):
//   it < warmup:         lr * (it + 1) / (warmup + 1)
//   it > decay_iters:    min_lr
//   otherwise:           min_lr + 0.5 * (1 + cos(pi * (it - warmup) / (decay_iters - warmup))) * (lr - min_lr)
double cosine_lr(int64_t it, double lr, double min_lr, int64_t warmup_iters, int64_t decay_iters);

// Scales the gradients so that their global L2 norm is at most max_norm, as
// torch.nn.utils.clip_grad_norm_: coef = min(1, max_norm / (norm + 1e-6)), every gradient *= coef.
// Returns the norm before clipping. Parameters without a gradient are skipped; duplicates count once.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);
// Its parts: the global L2 norm of the gradients (the same skipping), and coef for that norm.
double grad_norm(const std::vector<Tensor>& params);
float clip_coefficient(double norm, double max_norm);

}  // namespace lj::optim
