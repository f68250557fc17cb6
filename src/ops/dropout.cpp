// Inverted dropout: y = x * m / (1-p) with m ~ Bernoulli(1-p), drawn in torch's order; dx = dy * m / (1-p).
#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"

namespace lj {

Tensor dropout(const Tensor& x_in, double p, bool training, Generator& gen) {
  LJ_CHECK(p >= 0.0 && p < 1.0, "dropout: probability p=", p, " must be in [0, 1)");
  if (!training || p == 0.0) return x_in;
  Tensor x = x_in.contiguous();
  const int64_t n = x.numel();
  // torch: noise = bernoulli(1-p); noise /= (1-p) in float; y = x * noise
  Tensor noise = Tensor::empty(x.shape());
  float* m = noise.mutable_data();
  gen.fill_bernoulli(m, n, 1.0 - p);
  const float keep = static_cast<float>(1.0 - p);
  for (int64_t i = 0; i < n; i++) m[i] = m[i] / keep;
  Tensor y = Tensor::empty(x.shape());
  const float* X = x.data();
  float* Y = y.mutable_data();
  for (int64_t i = 0; i < n; i++) Y[i] = X[i] * m[i];
  autograd::record(y, "dropout", {x}, [noise, n](Node& node, const float* g) {
    if (float* dx = node.grad(0)) {
      const float* m = noise.data();
      for (int64_t i = 0; i < n; i++) dx[i] += g[i] * m[i];
    }
  });
  return y;
}

}  // namespace lj
