// Cross-entropy fused with log-softmax: never materialises the log-probabilities.
//   forward:  lse_i = m_i + log sum_j exp(x_ij - m_i),  m_i = max_j x_ij;   loss = mean_i (lse_i - x_i,t_i)
//   backward: dx_ij += g / count * (exp(x_ij - lse_i) - [j == t_i]),  zero for ignored rows
// The row sums run in double, so the loss does not depend on the order of the additions.
#include <cmath>
#include <limits>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops_lm.hpp"
#include "ops/fast_math.hpp"
#include "ops/parallel.hpp"

namespace lj {
namespace kernels {

// x (N,V), t (N) ids or ignore; lse (N) saved for backward (NaN-free: ignored rows get 0).
// Returns the sum of the losses of the counted rows.
double cross_entropy_forward(float* lse, const float* x, const int64_t* t, int64_t N, int64_t V, int64_t ignore) {
  std::vector<double> row_loss(static_cast<size_t>(N), 0.0);
  parallel_for(N, N * V * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * V;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < V; j++) m = std::max(m, xr[j]);
      double s = 0;  // each exp in float (fast::exp, within 1 ulp and vectorised), summed in double
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < V; j++) s += static_cast<double>(fast::exp(xr[j] - m));
      const double l = static_cast<double>(m) + std::log(s);
      lse[r] = static_cast<float>(l);
      row_loss[static_cast<size_t>(r)] = t[r] == ignore ? 0.0 : l - static_cast<double>(xr[t[r]]);
    }
  });
  double total = 0;
  for (double l : row_loss) total += l;
  return total;
}

void cross_entropy_backward(float* dx, const float* x, const float* lse, const int64_t* t, int64_t N, int64_t V,
                            int64_t ignore, float scale) {
  parallel_for(N, N * V * 2, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      if (t[r] == ignore) continue;
      const float* xr = x + r * V;
      float* d = dx + r * V;
      const float l = lse[r];
#pragma omp simd
      for (int64_t j = 0; j < V; j++) d[j] += scale * fast::exp(xr[j] - l);
      d[t[r]] -= scale;
    }
  });
}

}  // namespace kernels

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets, int64_t ignore_index) {
  LJ_CHECK(logits.dim() >= 1, "cross_entropy: logits must have a class dimension, got a scalar");
  const int64_t V = logits.size(-1);
  const int64_t N = V ? logits.numel() / V : 0;
  LJ_CHECK(static_cast<int64_t>(targets.size()) == N, "cross_entropy: ", targets.size(), " targets for ", N,
           " rows of logits of shape ", logits.shape());
  int64_t count = 0;
  for (size_t i = 0; i < targets.size(); i++) {
    if (targets[i] == ignore_index) continue;
    LJ_CHECK(targets[i] >= 0 && targets[i] < V, "cross_entropy: target ", targets[i], " at position ", i,
             " is out of range for ", V, " classes (ignore_index=", ignore_index, ")");
    count++;
  }
  Tensor x = logits.contiguous();
  Tensor lse = Tensor::empty({N});
  const double total = kernels::cross_entropy_forward(lse.mutable_data(), x.data(), targets.data(), N, V, ignore_index);
  Tensor y = Tensor::scalar(count ? static_cast<float>(total / static_cast<double>(count))
                                  : std::numeric_limits<float>::quiet_NaN());
  autograd::record(y, "cross_entropy", {x}, [lse, targets, N, V, ignore_index, count](Node& n, const float* g) {
    float* dx = n.grad(0);
    if (!dx || count == 0) return;
    kernels::cross_entropy_backward(dx, n.inputs[0].data(), lse.data(), targets.data(), N, V, ignore_index,
                                    g[0] / static_cast<float>(count));
  });
  return y;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  return cross_entropy(logits, tensor_to_ids(targets, "cross_entropy: target"), ignore_index);
}

}  // namespace lj
