// Reductions: sum, mean, var, std (over everything or one dimension). Sums accumulate in double.
//   d sum / dx_i = 1,  d mean / dx_i = 1/n,  d var / dx_i = 2 (x_i - mean) / (n - unbiased)
#include <cmath>
#include <limits>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"

namespace lj {

Tensor sum(const Tensor& a_in) {
  Tensor a = a_in.contiguous();
  const int64_t n = a.numel();
  const float* x = a.data();
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += x[i];
  Tensor y = Tensor::scalar(static_cast<float>(s));
  autograd::record(y, "sum", {a}, [n](Node& node, const float* g) {
    if (float* dx = node.grad(0))
      for (int64_t i = 0; i < n; i++) dx[i] += g[0];
  });
  return y;
}

Tensor mean(const Tensor& a) {
  LJ_CHECK(a.numel() > 0, "mean: the tensor (shape ", a.shape(), ") is empty");
  return mul_scalar(sum(a), 1.0f / static_cast<float>(a.numel()));
}

// Viewed as (outer, n, inner) around `dim`.
Tensor sum(const Tensor& a_in, int64_t dim, bool keepdim) {
  const int64_t nd = a_in.dim();
  LJ_CHECK(dim >= -nd && dim < nd, "sum: dim ", dim, " is out of range for a tensor of shape ", a_in.shape());
  if (dim < 0) dim += nd;
  Tensor a = a_in.contiguous();
  const Shape& s = a.shape();
  int64_t outer = 1, inner = 1;
  const int64_t n = s[static_cast<size_t>(dim)];
  for (int64_t i = 0; i < dim; i++) outer *= s[static_cast<size_t>(i)];
  for (int64_t i = dim + 1; i < nd; i++) inner *= s[static_cast<size_t>(i)];
  DimVector os;
  for (int64_t i = 0; i < nd; i++) {
    if (i != dim) os.push_back(s[static_cast<size_t>(i)]);
    else if (keepdim) os.push_back(1);
  }
  Tensor y = Tensor::empty(Shape(os));
  const float* x = a.data();
  float* Y = y.mutable_data();
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double acc = 0;
      for (int64_t k = 0; k < n; k++) acc += x[(o * n + k) * inner + i];
      Y[o * inner + i] = static_cast<float>(acc);
    }
  autograd::record(y, "sum_dim", {a}, [outer, n, inner](Node& node, const float* g) {
    if (float* dx = node.grad(0))
      for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < n; k++)
          for (int64_t i = 0; i < inner; i++) dx[(o * n + k) * inner + i] += g[o * inner + i];
  });
  return y;
}

Tensor mean(const Tensor& a, int64_t dim, bool keepdim) {
  const int64_t n = a.size(dim);
  LJ_CHECK(n > 0, "mean: dim ", dim, " of shape ", a.shape(), " is empty");
  return mul_scalar(sum(a, dim, keepdim), 1.0f / static_cast<float>(n));
}

Tensor var(const Tensor& a_in, bool unbiased) {
  Tensor a = a_in.contiguous();
  const int64_t n = a.numel();
  const int64_t dof = n - (unbiased ? 1 : 0);
  const float* x = a.data();
  double m = 0;
  for (int64_t i = 0; i < n; i++) m += x[i];
  m /= static_cast<double>(n);
  double ss = 0;
  for (int64_t i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
  // torch returns nan when there are too few values (n <= 1 for the unbiased estimate).
  const float v = dof > 0 ? static_cast<float>(ss / static_cast<double>(dof)) : std::numeric_limits<float>::quiet_NaN();
  Tensor y = Tensor::scalar(v);
  autograd::record(y, "var", {a}, [n, dof, m](Node& node, const float* g) {
    if (float* dx = node.grad(0)) {
      const float* x = node.inputs[0].data();
      for (int64_t i = 0; i < n; i++) dx[i] += static_cast<float>(g[0] * 2.0 * (x[i] - m) / static_cast<double>(dof));
    }
  });
  return y;
}

Tensor std(const Tensor& a, bool unbiased) { return sqrt(var(a, unbiased)); }

Tensor Tensor::sum() const { return lj::sum(*this); }
Tensor Tensor::sum(int64_t d, bool keepdim) const { return lj::sum(*this, d, keepdim); }
Tensor Tensor::mean() const { return lj::mean(*this); }
Tensor Tensor::mean(int64_t d, bool keepdim) const { return lj::mean(*this, d, keepdim); }
Tensor Tensor::var(bool unbiased) const { return lj::var(*this, unbiased); }
Tensor Tensor::std(bool unbiased) const { return lj::std(*this, unbiased); }
Tensor Tensor::norm() const { return lj::sqrt(lj::sum(lj::mul(*this, *this))); }

Tensor Tensor::max() const {
  LJ_CHECK(numel() > 0, "max: the tensor (shape ", shape(), ") is empty");
  std::vector<float> v = to_vector();
  float m = v[0];
  for (float x : v) m = (x > m || std::isnan(x)) ? x : m;
  return Tensor::scalar(m);
}

Tensor Tensor::min() const {
  LJ_CHECK(numel() > 0, "min: the tensor (shape ", shape(), ") is empty");
  std::vector<float> v = to_vector();
  float m = v[0];
  for (float x : v) m = (x < m || std::isnan(x)) ? x : m;
  return Tensor::scalar(m);
}

}  // namespace lj
