// Layer normalisation over the last dimension.
//   forward:  xhat = (x - mean) * rstd,   rstd = 1 / sqrt(var + eps) (biased var),   y = xhat * w + b
//   backward: dxhat = dy * w
//             dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
//             dw += sum_rows(dy * xhat),  db += sum_rows(dy)
#include <algorithm>
#include <cmath>
#include <vector>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"
#include "ops/kernels.hpp"
#include "ops/parallel.hpp"
#include "ops/row_reduce.hpp"

namespace lj {
namespace kernels {

template <typename T>
void layer_norm_forward(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t N, int64_t C,
                        T eps) {
  parallel_for(N, N * C * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const T* xr = x + r * C;
      const T m = row_sum<T>(C, [&](auto at) { return at(xr); }) / static_cast<T>(C);
      // two passes: the variance of x - mean, not E[x^2] - mean^2, which cancels
      const T ss = row_sum<T>(C, [&](auto at) {
        const auto d = at(xr) - m;
        return d * d;
      });
      const T s = T(1) / std::sqrt(ss / static_cast<T>(C) + eps);
      T* yr = y + r * C;
      if (weight && bias) {
#pragma omp simd
        for (int64_t j = 0; j < C; j++) yr[j] = (xr[j] - m) * s * weight[j] + bias[j];
      } else {
        for (int64_t j = 0; j < C; j++) yr[j] = (xr[j] - m) * s * (weight ? weight[j] : T(1)) + (bias ? bias[j] : T(0));
      }
      if (mean) {  // kept for the backward pass
        mean[r] = m;
        rstd[r] = s;
      }
    }
  });
}

// dx for one row. W: a weight is given; ACC: add into dx.
template <typename T, bool W, bool ACC>
static void layer_norm_backward_row(T* dx, const T* gr, const T* xr, const T* weight, T m, T s, int64_t C) {
  const T sum_g = row_sum<T>(C, [&](auto at) {
    if constexpr (W) return at(gr) * at(weight);
    else return at(gr);
  });
  const T sum_gx = row_sum<T>(C, [&](auto at) {
    if constexpr (W) return at(gr) * at(weight) * (at(xr) - m);
    else return at(gr) * (at(xr) - m);
  });
  const T mg = sum_g / static_cast<T>(C), mgx = sum_gx * s / static_cast<T>(C);
#pragma omp simd
  for (int64_t j = 0; j < C; j++) {
    const T g = W ? gr[j] * weight[j] : gr[j];
    const T d = s * (g - mg - (xr[j] - m) * s * mgx);
    if constexpr (ACC) dx[j] += d;
    else dx[j] = d;
  }
}

// The weight and bias gradients are column sums over the rows. They are taken in fixed blocks of
// kColumnSumRows rows while each block's rows are in cache from the dx pass (any thread may take a
// block), then the blocks' sums are added in order: the same bits whatever the split.
constexpr int64_t kColumnSumRows = 32;

template <typename T>
void layer_norm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* weight, const T* mean,
                         const T* rstd, int64_t N, int64_t C, bool acc_dx, bool acc_dw, bool acc_db) {
  auto row = weight ? (acc_dx ? layer_norm_backward_row<T, true, true> : layer_norm_backward_row<T, true, false>)
                    : (acc_dx ? layer_norm_backward_row<T, false, true> : layer_norm_backward_row<T, false, false>);
  const int64_t blocks = (N + kColumnSumRows - 1) / kColumnSumRows;
  const bool columns = dweight || dbias;
  // per block: the weight's column sums, then the bias's
  std::vector<T> partial(columns ? static_cast<size_t>(blocks * 2 * C) : 0, T(0));
  parallel_for(blocks, N * C * 6, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; blk++) {
      T* pw = columns ? partial.data() + blk * 2 * C : nullptr;
      T* pb = pw ? pw + C : nullptr;
      for (int64_t r = blk * kColumnSumRows; r < std::min(N, (blk + 1) * kColumnSumRows); r++) {
        const T* xr = x + r * C;
        const T* gr = dy + r * C;
        if (dx) row(dx + r * C, gr, xr, weight, mean[r], rstd[r], C);
        if (dweight) {
          const T m = mean[r], s = rstd[r];
#pragma omp simd
          for (int64_t j = 0; j < C; j++) pw[j] += gr[j] * (xr[j] - m) * s;
        }
        if (dbias) {
#pragma omp simd
          for (int64_t j = 0; j < C; j++) pb[j] += gr[j];
        }
      }
    }
  });
  if (!columns) return;
  if (dweight && !acc_dw) std::fill(dweight, dweight + C, T(0));
  if (dbias && !acc_db) std::fill(dbias, dbias + C, T(0));
  for (int64_t blk = 0; blk < blocks; blk++) {
    const T* pw = partial.data() + blk * 2 * C;
    if (dweight) {
#pragma omp simd
      for (int64_t j = 0; j < C; j++) dweight[j] += pw[j];
    }
    if (dbias) {
#pragma omp simd
      for (int64_t j = 0; j < C; j++) dbias[j] += pw[C + j];
    }
  }
}

template void layer_norm_forward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                        int64_t, float);
template void layer_norm_forward<double>(double*, double*, double*, const double*, const double*, const double*,
                                         int64_t, int64_t, double);
template void layer_norm_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                         const float*, const float*, int64_t, int64_t, bool, bool, bool);
template void layer_norm_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                          const double*, const double*, int64_t, int64_t, bool, bool, bool);
}  // namespace kernels

Tensor layer_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, float eps) {
  LJ_CHECK(x_in.dim() >= 1, "layer_norm: input must have at least one dimension, got a scalar");
  const int64_t C = x_in.size(-1);
  if (weight.defined())
    LJ_CHECK(weight.dim() == 1 && weight.size(0) == C, "layer_norm: weight shape ", weight.shape(), " should be [", C,
             "] for input shape ", x_in.shape());
  if (bias.defined())
    LJ_CHECK(bias.dim() == 1 && bias.size(0) == C, "layer_norm: bias shape ", bias.shape(), " should be [", C,
             "] for input shape ", x_in.shape());
  Tensor x = x_in.contiguous();
  const int64_t N = C ? x.numel() / C : 0;
  Tensor y = Tensor::empty(x.shape());
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  const bool has_w = w.defined(), has_b = b.defined();
  // The row statistics are kept only for a backward pass; without one nothing else is allocated.
  const bool grad = autograd::needs_grad({&x, &w, &b});
  Tensor mean = grad ? Tensor::empty({N}) : Tensor(), rstd = grad ? Tensor::empty({N}) : Tensor();
  kernels::layer_norm_forward<float>(y.mutable_data(), grad ? mean.mutable_data() : nullptr, grad ? rstd.mutable_data() : nullptr,
                                     x.data(), has_w ? w.data() : nullptr,
                                     has_b ? b.data() : nullptr, N, C, eps);
  if (!grad) return y;
  std::vector<Tensor> inputs{x, has_w ? w : Tensor::empty({0}), has_b ? b : Tensor::empty({0})};
  autograd::attach(y, "layer_norm", std::move(inputs), [mean, rstd, N, C, has_w, has_b](Node& n, const float* g) {
    bool acc_dx, acc_dw = true, acc_db = true;
    float* dx = n.grad(0, acc_dx);
    float* dw = has_w ? n.grad(1, acc_dw) : nullptr;
    float* db = has_b ? n.grad(2, acc_db) : nullptr;
    kernels::layer_norm_backward<float>(dx, dw, db, g, n.inputs[0].data(),
                                        has_w ? n.inputs[1].data() : nullptr, mean.data(),
                                        rstd.data(), N, C, acc_dx, acc_dw, acc_db);
  });
  return y;
}

}  // namespace lj
