// AdamW: one fused loop over every parameter's elements (the formulas are in optim.hpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "llm_journey/nn/embedding.hpp"
#include "llm_journey/nn/layers.hpp"
#include "llm_journey/optim.hpp"
#include "ops/parallel.hpp"
#include "tensor/tracking.hpp"

namespace lj::optim {

std::vector<ParamGroup> param_groups(nn::Module& model, double weight_decay) {
  ParamGroup decay{{}, weight_decay}, no_decay{{}, 0.0};
  std::unordered_set<const TensorImpl*> seen;
  for (auto& [prefix, m] : model.named_modules()) {
    const bool table = dynamic_cast<nn::Embedding*>(m) || dynamic_cast<nn::LayerNorm*>(m);
    // parameters owned directly by m: walk m's own list, skip those of its children
    for (auto& [name, p] : m->named_parameters()) {
      if (name.find('.') != std::string::npos) continue;
      if (!p.requires_grad() || !seen.insert(p.impl()).second) continue;
      (table || name == "bias" || p.dim() < 2 ? no_decay : decay).params.push_back(p);
    }
  }
  return {decay, no_decay};
}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options) : groups_(std::move(groups)), options_(options) {
  LJ_CHECK(options.lr >= 0, "AdamW: lr=", options.lr, " must be non-negative");
  LJ_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1, "AdamW: betas (",
           options.beta1, ", ", options.beta2, ") must be in [0, 1)");
  LJ_CHECK(options.eps >= 0, "AdamW: eps=", options.eps, " must be non-negative");
  std::unordered_set<const TensorImpl*> seen;
  for (auto& g : groups_) {
    LJ_CHECK(g.weight_decay >= 0, "AdamW: weight_decay=", g.weight_decay, " must be non-negative");
    std::vector<Slot> slots;
    for (auto& p : g.params) {
      LJ_CHECK(p.defined() && p.is_contiguous() && p.is_leaf(), "AdamW: parameters must be contiguous leaf tensors");
      LJ_CHECK(seen.insert(p.impl()).second, "AdamW: a parameter of shape ", p.shape(),
               " appears twice; list a tied weight once");
      slots.push_back({Tensor::zeros(p.shape()), Tensor::zeros(p.shape()), 0});
    }
    slots_.push_back(std::move(slots));
  }
}

AdamW::AdamW(const std::vector<Tensor>& params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{ParamGroup{params, options.weight_decay}}, options) {}

void AdamW::step(float grad_scale) {
  steps_++;
  const double lr = options_.lr, b1 = options_.beta1, b2 = options_.beta2;
  // One segment per parameter with a gradient; then one parallel sweep over all their elements, so
  // that a model of many small tensors pays for one fork/join, not one per tensor. Each element's
  // update depends on that element alone, so the split does not change the result.
  struct Segment {
    float *w, *m, *v;
    const float* g;
    int64_t n;
    float decay, step_size, bc2_sqrt;
  };
  std::vector<Segment> segments;
  int64_t total = 0;
  for (size_t gi = 0; gi < groups_.size(); gi++) {
    const float decay = static_cast<float>(1.0 - lr * groups_[gi].weight_decay);
    for (size_t i = 0; i < groups_[gi].params.size(); i++) {
      Tensor& p = groups_[gi].params[i];
      Tensor g = p.grad();
      if (!g.defined()) continue;
      Slot& s = slots_[gi][i];
      s.step++;
      const double bc1 = 1.0 - std::pow(b1, static_cast<double>(s.step));
      const double bc2 = 1.0 - std::pow(b2, static_cast<double>(s.step));
      segments.push_back({detail::data_for_write(p), s.exp_avg.mutable_data(), s.exp_avg_sq.mutable_data(), g.data(), p.numel(), decay,
                          static_cast<float>(lr / bc1), static_cast<float>(std::sqrt(bc2))});
      total += p.numel();
    }
  }
  const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
  const float a1 = static_cast<float>(1.0 - b1), a2 = static_cast<float>(1.0 - b2);
  const float eps = static_cast<float>(options_.eps);
  // The gradients stay alive in their parameters until this returns.
  parallel_for(total, total * 4, [&](int64_t e0, int64_t e1) {
    int64_t base = 0;
    for (const Segment& sg : segments) {
      const int64_t j0 = std::max<int64_t>(e0 - base, 0), j1 = std::min<int64_t>(e1 - base, sg.n);
      base += sg.n;
      if (j0 >= j1) continue;
      float* w = sg.w;
      float* m = sg.m;
      float* v = sg.v;
      const float* gd = sg.g;
      const float decay = sg.decay, step_size = sg.step_size, bc2_sqrt = sg.bc2_sqrt;
#pragma omp simd
      for (int64_t j = j0; j < j1; j++) {
        const float g = gd[j] * grad_scale;
        w[j] *= decay;
        m[j] = m[j] * fb1 + g * a1;
        v[j] = v[j] * fb2 + g * g * a2;
        const float denom = std::sqrt(v[j]) / bc2_sqrt + eps;
        w[j] -= step_size * (m[j] / denom);
      }
    }
  });
}

void AdamW::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

std::vector<std::pair<std::string, Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t g = 0; g < slots_.size(); g++)
    for (size_t i = 0; i < slots_[g].size(); i++) {
      const std::string k = std::to_string(g) + "." + std::to_string(i) + ".";
      out.emplace_back(k + "exp_avg", slots_[g][i].exp_avg);
      out.emplace_back(k + "exp_avg_sq", slots_[g][i].exp_avg_sq);
      out.emplace_back(k + "step", Tensor::scalar(static_cast<float>(slots_[g][i].step)));
    }
  out.emplace_back("step", Tensor::scalar(static_cast<float>(steps_)));
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, Tensor>>& state) {
  auto find = [&](const std::string& name) -> const Tensor& {
    for (auto& [n, t] : state)
      if (n == name) return t;
    throw Error("AdamW::load_state: the state has no entry '" + name + "'");
  };
  for (size_t g = 0; g < slots_.size(); g++)
    for (size_t i = 0; i < slots_[g].size(); i++) {
      const std::string k = std::to_string(g) + "." + std::to_string(i) + ".";
      Slot& s = slots_[g][i];
      for (auto [name, dst] : {std::pair{"exp_avg", &s.exp_avg}, std::pair{"exp_avg_sq", &s.exp_avg_sq}}) {
        const Tensor& src = find(k + name);
        LJ_CHECK(src.shape() == dst->shape(), "AdamW::load_state: '", k, name, "' has shape ", src.shape(),
                 ", the parameter has shape ", dst->shape());
        dst->copy_(src);
      }
      s.step = static_cast<int64_t>(find(k + "step").item());
    }
  steps_ = static_cast<int64_t>(find("step").item());
}

}  // namespace lj::optim
