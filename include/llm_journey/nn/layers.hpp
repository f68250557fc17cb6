// The basic layers: Linear, LayerNorm, Dropout, ReLU, GELU. Initialised as PyTorch initialises them,
// from the same generator draws, so a layer built in the same order as its PyTorch twin has the
// same weights.
#pragma once
#include <cstdint>

#include "llm_journey/nn/module.hpp"
#include "llm_journey/ops.hpp"
#include "llm_journey/random.hpp"

namespace lj::nn {

// A module with one input and one output, usable in Sequential.
class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

// y = x W^T + b.  weight (out, in): kaiming-uniform, i.e. U(-1/sqrt(in), 1/sqrt(in)); bias likewise.
class Linear : public UnaryModule {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;  // (..., in) -> (..., out)
  // residual + forward(x) in one pass (linear_add); residual (..., out).
  Tensor forward_add(const Tensor& x, const Tensor& residual);
  using UnaryModule::operator();
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  void visit(Visitor& v) override;

  int64_t in_features, out_features;
  Tensor weight, bias;  // bias undefined when bias=false

  // How the cached W^T was served so far (see LinearWeightCache).
  LinearWeightCache::Stats weight_cache_stats() const { return weight_t_.stats(); }

 private:
  LinearWeightCache weight_t_;  // W^T for inputs of few rows (see ops.hpp)
};

// y = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension. weight 1, bias 0.
class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(int64_t normalized_shape, double eps = 1e-5, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  void visit(Visitor& v) override;

  int64_t normalized_shape;
  double eps;
  Tensor weight, bias;
};

// Zeroes a fraction p in training and scales the rest by 1/(1-p); the identity in eval mode.
class Dropout : public UnaryModule {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  void visit(Visitor&) override {}

  double p;
};

class ReLU : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
  void visit(Visitor&) override {}
};

class GELU : public UnaryModule {
 public:
  explicit GELU(bool tanh_approximation = false) : tanh_approximation(tanh_approximation) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GELU"; }
  std::string extra_repr() const override;
  void visit(Visitor&) override {}

  bool tanh_approximation;
};

}  // namespace lj::nn
