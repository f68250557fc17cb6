// Linear and matmul under autocast (autocast_ops.hpp): the same formulas as linear.cpp,
//   forward:  y = x W^T + b             backward: dx += dy W,  dW += dy^T x,  db += sum_rows(dy)
// with x, W and dy rounded to bf16 before each product and the products summed in float32. The bias,
// its gradient and the residual stay float32 (torch's autocast would round the bias too, and the
// output; see tests/gpt/test_autocast.cpp for what that changes).
#include <algorithm>
#include <cstring>

#include "llm_journey/autograd.hpp"
#include "ops/autocast_ops.hpp"
#include "ops/parallel.hpp"

namespace lj {

using kernels::AutocastPath;

// x (rows, cols), dense, rounded into a new tensor of the given shape in the path's buffer type.
static Tensor rounded_rows(const float* x, const Shape& shape, int64_t rows, int64_t cols, AutocastPath path) {
  Tensor r = Tensor::empty(shape, kernels::autocast_buffer_dtype(path));
  kernels::round_for_autocast(path, autocast_mutable_data(r), x, rows, cols, cols);
  return r;
}

Tensor rounded_for_autocast(const Tensor& x_in, AutocastPath path) {
  const Tensor x = x_in.contiguous();
  const int64_t cols = x.dim() ? x.size(-1) : 1, rows = cols ? x.numel() / cols : 0;
  return rounded_rows(x.data(), x.shape(), rows, cols, path);
}

const void* autocast_data(const Tensor& t) {
  return t.dtype() == Dtype::bf16 ? static_cast<const void*>(t.data_ptr<bfloat16>()) : static_cast<const void*>(t.data());
}

void* autocast_mutable_data(const Tensor& t) {
  return t.dtype() == Dtype::bf16 ? static_cast<void*>(t.mutable_data_ptr<bfloat16>())
                                  : static_cast<void*>(t.mutable_data());
}

// dy (rows, cols) rounded into a buffer of the path's type.
static Tensor rounded_gradient(const float* dy, int64_t rows, int64_t cols, AutocastPath path) {
  return rounded_rows(dy, {rows, cols}, rows, cols, path);
}

Tensor linear_autocast(const Tensor& x, const Tensor& w, const Tensor& b, LinearWeightCache* cache,
                       const Tensor& residual, const char* op) {
  const AutocastPath path = kernels::autocast_path();
  const int64_t out = w.size(0), in = w.size(1), N = x.numel() / (in ? in : 1);
  Shape ys = x.shape();
  ys[ys.size() - 1] = out;
  const bool add = residual.defined();
  // The weight's bf16 copy: made once per optimizer step when the layer keeps a cache.
  const Tensor wr = cache ? cache->rounded_bf16(w) : rounded_for_autocast(w, path);
  const Tensor xr = rounded_for_autocast(x, path);
  Tensor y = Tensor::empty(ys);
  float* Y = y.mutable_data();
  const Tensor r = add ? residual.contiguous() : Tensor();
  const float* bias = b.defined() ? b.data() : nullptr;
  const float* res = add ? r.data() : nullptr;
  if (bias || add) {  // y = residual + b, then the product adds onto it
    parallel_for(N, N * out, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) {
        float* yr = Y + i * out;
        if (add) std::memcpy(yr, res + i * out, sizeof(float) * static_cast<size_t>(out));
        else std::fill(yr, yr + out, 0.0f);
        if (bias) {
#pragma omp simd
          for (int64_t j = 0; j < out; j++) yr[j] += bias[j];
        }
      }
    });
  }
  kernels::gemm_autocast(path, false, true, N, out, in, autocast_data(xr), in, autocast_data(wr), in,
                         bias || add ? 1.0f : 0.0f, Y, out);
  if (!autograd::needs_grad({&x, &w, &b, &residual})) return y;
  std::vector<Tensor> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  if (add) inputs.push_back(residual);
  const bool has_b = b.defined();
  // The backward pass rounds x again rather than keep xr: on the f32_gemm path xr is as large as x
  // (4 bytes a value), and one more pass over x costs little next to the products.
  autograd::attach(y, op, std::move(inputs), [N, in, out, has_b, add, path, wr](Node& n, const float* dy) {
    bool acc_dx, acc_dw, acc_db = true, acc_r = true;
    float* dx = n.grad(0, acc_dx);
    float* dw = n.grad(1, acc_dw);
    float* db = has_b ? n.grad(2, acc_db) : nullptr;
    if (dx || dw) {
      const Tensor dyr = rounded_gradient(dy, N, out, path);
      if (dx)
        kernels::gemm_autocast(path, false, false, N, in, out, autocast_data(dyr), out, autocast_data(wr), in,
                               acc_dx ? 1.0f : 0.0f, dx, in);
      if (dw) {
        const Tensor xr = rounded_for_autocast(n.inputs[0], path);
        kernels::gemm_autocast(path, true, false, out, in, N, autocast_data(dyr), out, autocast_data(xr), in,
                               acc_dw ? 1.0f : 0.0f, dw, in);
      }
    }
    if (db)  // float32 sums of the float32 gradient
      kernels::linear_backward<float>(nullptr, nullptr, db, dy, nullptr, nullptr, N, in, out, false, false, acc_db);
    if (float* dr = add ? n.grad(has_b ? 3 : 2, acc_r) : nullptr) {  // the residual's gradient is dy itself
      parallel_for(N * out, N * out, [&](int64_t i0, int64_t i1) {
        if (acc_r) {
#pragma omp simd
          for (int64_t i = i0; i < i1; i++) dr[i] += dy[i];
        } else {
          std::memcpy(dr + i0, dy + i0, sizeof(float) * static_cast<size_t>(i1 - i0));
        }
      });
    }
  });
  return y;
}

Tensor matmul_autocast(const Tensor& a_in, const Tensor& b_in, int64_t M, int64_t N, int64_t K) {
  const AutocastPath path = kernels::autocast_path();
  const Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Shape os(a.shape().begin(), a.shape().end() - 1);
  os.push_back(N);
  Tensor y = Tensor::empty(os);
  const int64_t batch = Shape(a.shape().begin(), a.shape().end() - 2).numel();
  const Tensor ar = rounded_for_autocast(a, path), br = rounded_for_autocast(b, path);
  float* Y = y.mutable_data();
  auto at = [path](const Tensor& t, int64_t i) { return kernels::autocast_at(path, autocast_data(t), i); };
  if (b.dim() == 2) {  // (..., M, K) @ (K, N): one product with the batch folded into M
    kernels::gemm_autocast(path, false, false, batch * M, N, K, at(ar, 0), K, at(br, 0), N, 0.0f, Y, N);
    if (!autograd::needs_grad({a, b})) return y;
    autograd::record(y, "matmul", {a, b}, [batch, M, N, K, path, ar, br](Node& n, const float* dy) {
      float* da = n.grad(0);
      float* db = n.grad(1);
      if (!da && !db) return;
      const Tensor dyr = rounded_gradient(dy, batch * M, N, path);
      if (da)
        kernels::gemm_autocast(path, false, true, batch * M, K, N, autocast_data(dyr), N, autocast_data(br), N, 1.0f,
                               da, K);
      if (db)
        kernels::gemm_autocast(path, true, false, K, N, batch * M, autocast_data(ar), K, autocast_data(dyr), N, 1.0f,
                               db, N);
    });
    return y;
  }
  LJ_CHECK(Shape(a.shape().begin(), a.shape().end() - 2) == Shape(b.shape().begin(), b.shape().end() - 2),
           "matmul: batch dimensions of ", a.shape(), " and ", b.shape(), " must be equal");
  parallel_for(batch, batch * M * N * K, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      kernels::gemm_autocast(path, false, false, M, N, K, at(ar, i * M * K), K, at(br, i * K * N), N, 0.0f,
                             Y + i * M * N, N);
  });
  if (!autograd::needs_grad({a, b})) return y;
  autograd::record(y, "matmul", {a, b}, [batch, M, N, K, path, ar, br, at](Node& n, const float* dy) {
    float* da = n.grad(0);
    float* db = n.grad(1);
    if (!da && !db) return;
    const Tensor dyr = rounded_gradient(dy, batch * M, N, path);
    parallel_for(batch, batch * M * N * K, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) {
        if (da)
          kernels::gemm_autocast(path, false, true, M, K, N, at(dyr, i * M * N), N, at(br, i * K * N), N, 1.0f,
                                 da + i * M * K, K);
        if (db)
          kernels::gemm_autocast(path, true, false, K, N, M, at(ar, i * M * K), K, at(dyr, i * M * N), N, 1.0f,
                                 db + i * K * N, N);
      }
    });
  });
  return y;
}

}  // namespace lj
