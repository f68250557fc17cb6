// Softmax and log-softmax over rows.
//   softmax:     y_j = exp(x_j - max) / sum_k exp(x_k - max);     dx_j = y_j (dy_j - sum_k dy_k y_k)
//   log_softmax: y_j = x_j - max - log sum_k exp(x_k - max);      dx_j = dy_j - exp(y_j) sum_k dy_k
#include <cmath>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"
#include "ops/fast_math.hpp"
#include "ops/kernels.hpp"
#include "ops/parallel.hpp"
#include "ops/row_reduce.hpp"

namespace lj {
namespace kernels {

// One row: y = softmax(x) over n values. Returns false (and zeros) if every value is -inf.
template <typename T>
bool softmax_row(T* y, const T* x, int64_t n) {
  const T m = row_max<T>(n, [&](auto at) { return at(x); });
  if (m == -INFINITY) {
    for (int64_t j = 0; j < n; j++) y[j] = 0;
    return false;
  }
#pragma omp simd
  for (int64_t j = 0; j < n; j++) y[j] = fast::exp_of(x[j] - m);
  const T inv = T(1) / row_sum<T>(n, [&](auto at) { return at(y); });
#pragma omp simd
  for (int64_t j = 0; j < n; j++) y[j] *= inv;
  return true;
}

template <typename T>
void softmax_forward(T* y, const T* x, int64_t N, int64_t C) {
  parallel_for(N, N * C * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) softmax_row(y + r * C, x + r * C, C);
  });
}

template <typename T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t N, int64_t C) {
  parallel_for(N, N * C * 2, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const T* yr = y + r * C;
      const T* gr = dy + r * C;
      const T dot = row_sum<T>(C, [&](auto at) { return at(gr) * at(yr); });
#pragma omp simd
      for (int64_t j = 0; j < C; j++) dx[r * C + j] += yr[j] * (gr[j] - dot);
    }
  });
}

template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t N, int64_t C) {
  parallel_for(N, N * C * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const T* xr = x + r * C;
      const T m = row_max<T>(C, [&](auto at) { return at(xr); });
      T* yr = y + r * C;
#pragma omp simd
      for (int64_t j = 0; j < C; j++) yr[j] = fast::exp_of(xr[j] - m);  // y holds exp for a moment
      const T lse = m + std::log(row_sum<T>(C, [&](auto at) { return at(yr); }));
#pragma omp simd
      for (int64_t j = 0; j < C; j++) yr[j] = xr[j] - lse;
    }
  });
}

template <typename T>
void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t N, int64_t C) {
  parallel_for(N, N * C * 2, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const T* gr = dy + r * C;
      const T s = row_sum<T>(C, [&](auto at) { return at(gr); });
      const T* yr = y + r * C;
#pragma omp simd
      for (int64_t j = 0; j < C; j++) dx[r * C + j] += gr[j] - fast::exp_of(yr[j]) * s;
    }
  });
}

#define LJ_INSTANTIATE(T)                                                          \
  template bool softmax_row<T>(T*, const T*, int64_t);                             \
  template void softmax_forward<T>(T*, const T*, int64_t, int64_t);                \
  template void softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t);     \
  template void log_softmax_forward<T>(T*, const T*, int64_t, int64_t);            \
  template void log_softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t);
LJ_INSTANTIATE(float)
LJ_INSTANTIATE(double)
#undef LJ_INSTANTIATE
}  // namespace kernels

// Softmax along `dim`: moved to the last dimension, computed over rows, moved back.
template <bool Log>
static Tensor softmax_impl(const Tensor& x_in, int64_t dim, const char* name) {
  const int64_t nd = x_in.dim();
  LJ_CHECK(nd >= 1, name, ": needs at least one dimension, got a scalar");
  LJ_CHECK(dim >= -nd && dim < nd, name, ": dim ", dim, " is out of range for a tensor of shape ", x_in.shape());
  if (dim < 0) dim += nd;
  if (dim != nd - 1) return softmax_impl<Log>(x_in.transpose(dim, -1), -1, name).transpose(dim, -1);
  Tensor x = x_in.contiguous();
  const int64_t C = x.size(-1), N = C ? x.numel() / C : 0;
  Tensor y = Tensor::empty(x.shape());
  if (N > 0 && C > 0) {
    if (Log) kernels::log_softmax_forward<float>(y.mutable_data(), x.data(), N, C);
    else kernels::softmax_forward<float>(y.mutable_data(), x.data(), N, C);
  }
  if (autograd::needs_grad({&x})) {
    Tensor ys = y.detach();
    autograd::record(y, name, {x}, [ys, N, C](Node& n, const float* g) {
      if (float* dx = n.grad(0)) {
        if (Log) kernels::log_softmax_backward<float>(dx, g, ys.data(), N, C);
        else kernels::softmax_backward<float>(dx, g, ys.data(), N, C);
      }
    });
  }
  return y;
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl<false>(x, dim, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl<true>(x, dim, "log_softmax"); }

}  // namespace lj
