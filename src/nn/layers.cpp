#include "llm_journey/nn/layers.hpp"

#include <cmath>
#include <sstream>

#include "llm_journey/ops.hpp"
#include "llm_journey/nn/init.hpp"
#include "tensor/tracking.hpp"

namespace lj::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias, Generator& gen) : in_features(in), out_features(out) {
  LJ_CHECK(in >= 0 && out >= 0, "Linear: in_features=", in, " and out_features=", out, " must be non-negative");
  weight = Tensor::empty({out, in});
  detail::track_writes(weight);  // so that weight_t_ can trust its version (see Storage)
  init::kaiming_uniform_(weight, std::sqrt(5.0), gen);  // PyTorch's default for Linear
  weight.requires_grad_();
  if (with_bias) {
    const double bound = in > 0 ? 1.0 / std::sqrt(static_cast<double>(in)) : 0.0;
    bias = Tensor::empty({out});
    init::uniform_(bias, -bound, bound, gen);
    bias.requires_grad_();
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias, &weight_t_); }

Tensor Linear::forward_add(const Tensor& x, const Tensor& residual) {
  return linear_add(residual, x, weight, bias, &weight_t_);
}

std::string Linear::extra_repr() const {
  std::ostringstream os;
  os << "in_features=" << in_features << ", out_features=" << out_features << ", bias=" << (bias.defined() ? "True" : "False");
  return os.str();
}

void Linear::visit(Visitor& v) {
  v.parameter("weight", weight);
  if (bias.defined()) v.parameter("bias", bias);
}

LayerNorm::LayerNorm(int64_t n, double eps, bool with_bias) : normalized_shape(n), eps(eps) {
  LJ_CHECK(n > 0, "LayerNorm: normalized_shape=", n, " must be positive");
  weight = Tensor::ones({n}).requires_grad_();
  if (with_bias) bias = Tensor::zeros({n}).requires_grad_();
}

Tensor LayerNorm::forward(const Tensor& x) {
  LJ_CHECK(x.dim() >= 1 && x.size(-1) == normalized_shape, "LayerNorm: input shape ", x.shape(),
           " does not end in normalized_shape=", normalized_shape);
  return layer_norm(x, weight, bias, static_cast<float>(eps));
}

std::string LayerNorm::extra_repr() const {
  std::ostringstream os;
  os << "(" << normalized_shape << ",), eps=" << eps << ", elementwise_affine=True";
  return os.str();
}

void LayerNorm::visit(Visitor& v) {
  v.parameter("weight", weight);
  if (bias.defined()) v.parameter("bias", bias);
}

Dropout::Dropout(double p) : p(p) {
  LJ_CHECK(p >= 0.0 && p < 1.0, "Dropout: probability p=", p, " must be in [0, 1)");
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training()); }

std::string Dropout::extra_repr() const {
  std::ostringstream os;
  os << "p=" << p << ", inplace=False";
  return os.str();
}

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor GELU::forward(const Tensor& x) { return gelu(x, tanh_approximation); }
std::string GELU::extra_repr() const { return tanh_approximation ? "approximate='tanh'" : "approximate='none'"; }

}  // namespace lj::nn
