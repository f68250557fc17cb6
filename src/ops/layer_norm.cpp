// Layer normalisation over the last dimension.
//   forward:  xhat = (x - mean) * rstd,   rstd = 1 / sqrt(var + eps) (biased var),   y = xhat * w + b
//   backward: dxhat = dy * w
//             dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
//             dw += sum_rows(dy * xhat),  db += sum_rows(dy)
#include <cmath>
#include <vector>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"
#include "ops/kernels.hpp"
#include "ops/parallel.hpp"

namespace lj {
namespace kernels {

template <typename T>
void layer_norm_forward(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t N, int64_t C,
                        T eps) {
  parallel_for(N, N * C * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const T* xr = x + r * C;
      double m = 0;
      for (int64_t j = 0; j < C; j++) m += xr[j];
      m /= static_cast<double>(C);
      double v = 0;
      for (int64_t j = 0; j < C; j++) v += (xr[j] - m) * (xr[j] - m);
      v /= static_cast<double>(C);
      const T s = static_cast<T>(1.0 / std::sqrt(v + static_cast<double>(eps)));
      const T mf = static_cast<T>(m);
      T* yr = y + r * C;
      for (int64_t j = 0; j < C; j++) {
        T h = (xr[j] - mf) * s;
        yr[j] = h * (weight ? weight[j] : T(1)) + (bias ? bias[j] : T(0));
      }
      mean[r] = mf;
      rstd[r] = s;
    }
  });
}

template <typename T>
void layer_norm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* weight, const T* mean,
                         const T* rstd, int64_t N, int64_t C) {
  if (dx) {
    parallel_for(N, N * C * 4, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const T* xr = x + r * C;
        const T* gr = dy + r * C;
        double sum_g = 0, sum_gx = 0;
        for (int64_t j = 0; j < C; j++) {
          const T g = gr[j] * (weight ? weight[j] : T(1));
          sum_g += g;
          sum_gx += g * (xr[j] - mean[r]) * rstd[r];
        }
        const T mg = static_cast<T>(sum_g / static_cast<double>(C));
        const T mgx = static_cast<T>(sum_gx / static_cast<double>(C));
        for (int64_t j = 0; j < C; j++) {
          const T g = gr[j] * (weight ? weight[j] : T(1));
          const T h = (xr[j] - mean[r]) * rstd[r];
          dx[r * C + j] += rstd[r] * (g - mg - h * mgx);
        }
      }
    });
  }
  if (dweight || dbias) {  // column sums: split the columns across threads
    parallel_for(C, N * C * 2, [&](int64_t c0, int64_t c1) {
      for (int64_t r = 0; r < N; r++) {
        const T* xr = x + r * C;
        const T* gr = dy + r * C;
        for (int64_t j = c0; j < c1; j++) {
          if (dweight) dweight[j] += gr[j] * (xr[j] - mean[r]) * rstd[r];
          if (dbias) dbias[j] += gr[j];
        }
      }
    });
  }
}

template void layer_norm_forward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                        int64_t, float);
template void layer_norm_forward<double>(double*, double*, double*, const double*, const double*, const double*,
                                         int64_t, int64_t, double);
template void layer_norm_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                         const float*, const float*, int64_t, int64_t);
template void layer_norm_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                          const double*, const double*, int64_t, int64_t);
}  // namespace kernels

Tensor layer_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, float eps) {
  LJ_CHECK(x_in.dim() >= 1, "layer_norm: input must have at least one dimension, got a scalar");
  const int64_t C = x_in.size(-1);
  if (weight.defined())
    LJ_CHECK(weight.shape() == Shape({C}), "layer_norm: weight shape ", weight.shape(), " should be [", C,
             "] for input shape ", x_in.shape());
  if (bias.defined())
    LJ_CHECK(bias.shape() == Shape({C}), "layer_norm: bias shape ", bias.shape(), " should be [", C,
             "] for input shape ", x_in.shape());
  Tensor x = x_in.contiguous();
  const int64_t N = C ? x.numel() / C : 0;
  Tensor y = Tensor::empty(x.shape());
  Tensor mean = Tensor::empty({N}), rstd = Tensor::empty({N});
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  kernels::layer_norm_forward<float>(y.data(), mean.data(), rstd.data(), x.data(), w.defined() ? w.data() : nullptr,
                                     b.defined() ? b.data() : nullptr, N, C, eps);
  std::vector<Tensor> inputs{x};
  inputs.push_back(w.defined() ? w : Tensor::empty({0}));
  inputs.push_back(b.defined() ? b : Tensor::empty({0}));
  const bool has_w = w.defined(), has_b = b.defined();
  autograd::record(y, "layer_norm", std::move(inputs), [mean, rstd, N, C, has_w, has_b](Node& n, const float* g) {
    kernels::layer_norm_backward<float>(n.grad(0), has_w ? n.grad(1) : nullptr, has_b ? n.grad(2) : nullptr, g,
                                        n.inputs[0].data(), has_w ? n.inputs[1].data() : nullptr, mean.data(),
                                        rstd.data(), N, C);
  });
  return y;
}

}  // namespace lj
