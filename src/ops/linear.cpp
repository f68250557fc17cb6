// Linear layers and matrix products. The products go to kernels::gemm (ops/gemm/); the bias is ours.
//   forward:  y = x W^T + b
//   backward: dx += dy W,  dW += dy^T x,  db += sum_rows(dy)
#include <algorithm>
#include <cstring>
#include <mutex>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"
#include "ops/autocast_ops.hpp"
#include "ops/kernels.hpp"
#include "ops/parallel.hpp"

namespace lj {
namespace kernels {

template <typename T>
void linear_forward(T* y, const T* x, const T* w, const T* b, int64_t N, int64_t in, int64_t out, int64_t ld_wt,
                    bool add_to_y) {
  if (b) {  // y = b (or y += b), then the product adds onto it
    parallel_for(N, N * out, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) {
        T* yr = y + i * out;
        if (add_to_y) {
#pragma omp simd
          for (int64_t j = 0; j < out; j++) yr[j] += b[j];
        } else {
          std::copy(b, b + out, yr);
        }
      }
    });
  }
  const T beta = b || add_to_y ? T(1) : T(0);
  if (ld_wt == 0) return gemm<T>(false, true, N, out, in, T(1), x, in, w, in, beta, y, out);
  // W^T in blocks of kb rows, each block a product of its own that adds into y: a block of at most
  // 8192 values (32 KB) stays in L1 while every row of x passes over it. (Measured with OpenBLAS,
  // before oneDNN: given all of W^T at once its small-matrix kernel was slower, 1.4x at 5-20 rows of
  // 512 -> 128 and 3.7x at 4 rows of 384 -> 1152.)
  int64_t kb = std::max<int64_t>(64, 8192 / std::max<int64_t>(out, 1));
  if (static_cast<double>(N) * out * kb < kSmallGemmMacs) kb = in;  // blocks too small to pay for a library call
  for (int64_t k0 = 0; k0 < in; k0 += kb)
    gemm<T>(false, false, N, out, std::min(kb, in - k0), T(1), x + k0, in, w + k0 * ld_wt, ld_wt, k0 > 0 ? T(1) : beta,
            y, out);
}

template <typename T>
void linear_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, int64_t N, int64_t in, int64_t out,
                     bool acc_dx, bool acc_dw, bool acc_db) {
  if (dx) gemm<T>(false, false, N, in, out, T(1), dy, out, w, in, acc_dx ? T(1) : T(0), dx, in);
  if (dw) gemm<T>(true, false, out, in, N, T(1), dy, out, x, in, acc_dw ? T(1) : T(0), dw, in);
  if (db) {
    if (!acc_db) std::fill(db, db + out, T(0));
    for (int64_t i = 0; i < N; i++)
      for (int64_t j = 0; j < out; j++) db[j] += dy[i * out + j];
  }
}

template void linear_forward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t,
                                    int64_t, bool);
template void linear_forward<double>(double*, const double*, const double*, const double*, int64_t, int64_t, int64_t,
                                     int64_t, bool);
template void linear_backward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t, int64_t,
                                     int64_t, bool, bool, bool);
template void linear_backward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t,
                                      int64_t, int64_t, bool, bool, bool);
}  // namespace kernels

// --- the transposed-weight cache ----------------------------------------------------------------

// Products with at most this many rows use a cached W^T (measured: 20 x 64 x 64 takes 1.0 us in NN
// form against 3.0 us in NT form; at 128 rows the two are equal).
constexpr int64_t kCachedRowsMax = 64;
// Weights larger than this (in elements) are not cached: the copy and the compare would cost
// memory and time out of proportion to a product with so few rows.
constexpr int64_t kCachedWeightMax = int64_t(1) << 20;

// Rows of W^T wider than this are stored 16 floats longer than they are: OpenBLAS's small-matrix
// kernel reads B down its columns, and rows 256 or 512 floats apart fall into the same few L1 cache
// sets (cblas_sgemm on 20 rows: 20 x 64 -> 256 takes 6.7 us with rows 256 apart, 4.8 us with 272;
// 20 x 128 -> 384, 19 -> 14 us; at 64 columns or fewer, no difference). As nn::Linear, 20 rows of
// 64 -> 256 run 1.13-1.35x faster; the seed's block forward, 0.99-1.04x (within the noise).
constexpr int64_t kUnpaddedColsMax = 64;
constexpr int64_t kRowPad = 16;

struct LinearWeightCache::Packed {
  int64_t out = 0, in = 0, ld = 0;
  std::vector<float> source;      // the weight (out, in) the transpose was made from
  std::vector<float> transposed;  // (in, out), rows ld apart
};

struct LinearWeightCache::State {
  std::mutex mu;
  std::shared_ptr<const Packed> packed;
  // The storage and version `packed` was last found equal to, while its writes were tracked (see
  // Storage): as long as both still hold, the weight is unchanged without comparing it.
  bool key_valid = false;
  uint64_t storage_id = 0, version = 0;
  int64_t offset = 0;
  // The weight rounded to bf16 for autocast products, and the storage and version it was made from
  // (kept only while the weight's writes are tracked: an optimizer step bumps the version once).
  Tensor rounded;
  bool rounded_key_valid = false;
  uint64_t rounded_storage_id = 0, rounded_version = 0;
  int64_t rounded_offset = 0;
  Stats stats;
};

LinearWeightCache::LinearWeightCache() : state_(std::make_unique<State>()) {}
LinearWeightCache::~LinearWeightCache() = default;
LinearWeightCache::LinearWeightCache(const LinearWeightCache&) : state_(std::make_unique<State>()) {}
LinearWeightCache& LinearWeightCache::operator=(const LinearWeightCache&) {
  state_ = std::make_unique<State>();
  return *this;
}

LinearWeightCache::Stats LinearWeightCache::stats() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->stats;
}

std::shared_ptr<const LinearWeightCache::Packed> LinearWeightCache::transposed(const Tensor& weight) {
  const int64_t out = weight.size(0), in = weight.size(1);
  const float* w = weight.data();
  const Storage& storage = *weight.impl()->storage;
  const int64_t offset = weight.impl()->offset;
  // Read before the values are: a write that lands in between counts a newer version than the one
  // recorded, and the next call compares.
  const bool tracked = storage.writes_tracked.load(std::memory_order_acquire);
  const uint64_t version = storage.version.load(std::memory_order_acquire);
  State& st = *state_;
  std::lock_guard<std::mutex> lock(st.mu);
  auto remember = [&] {
    st.key_valid = tracked;
    st.storage_id = storage.id;
    st.version = version;
    st.offset = offset;
  };
  const auto& cur = st.packed;
  const size_t n = static_cast<size_t>(out * in);
  if (cur && cur->out == out && cur->in == in) {
    if (tracked && st.key_valid && st.storage_id == storage.id && st.offset == offset && st.version == version) {
      st.stats.unchanged_by_version++;
      return cur;
    }
    if (std::memcmp(cur->source.data(), w, n * sizeof(float)) == 0) {
      st.stats.unchanged_by_compare++;
      remember();
      return cur;
    }
  }
  st.stats.rebuilt++;
  remember();
  auto p = std::make_shared<Packed>();
  p->out = out;
  p->in = in;
  p->ld = out > kUnpaddedColsMax ? out + kRowPad : out;
  p->source.assign(w, w + n);
  p->transposed.assign(static_cast<size_t>(in * p->ld), 0.0f);
  for (int64_t j0 = 0; j0 < out; j0 += 16)  // in 16 x 16 tiles, so both sides stay in cache
    for (int64_t k0 = 0; k0 < in; k0 += 16)
      for (int64_t j = j0; j < std::min(out, j0 + 16); j++)
        for (int64_t k = k0; k < std::min(in, k0 + 16); k++)
          p->transposed[static_cast<size_t>(k * p->ld + j)] = w[j * in + k];
  st.packed = p;
  return p;
}

Tensor LinearWeightCache::rounded_bf16(const Tensor& weight) {
  const kernels::AutocastPath path = kernels::autocast_path();
  const Storage& storage = *weight.impl()->storage;
  const int64_t offset = weight.impl()->offset;
  const bool tracked = storage.writes_tracked.load(std::memory_order_acquire);  // before the values are read
  const uint64_t version = storage.version.load(std::memory_order_acquire);
  State& st = *state_;
  std::lock_guard<std::mutex> lock(st.mu);
  if (st.rounded.defined() && tracked && st.rounded_key_valid && st.rounded_storage_id == storage.id &&
      st.rounded_offset == offset && st.rounded_version == version && st.rounded.shape() == weight.shape() &&
      st.rounded.dtype() == kernels::autocast_buffer_dtype(path)) {
    st.stats.rounded_reused++;
    return st.rounded;
  }
  st.stats.rounded_rebuilt++;
  st.rounded = rounded_for_autocast(weight, path);
  st.rounded_key_valid = tracked;
  st.rounded_storage_id = storage.id;
  st.rounded_offset = offset;
  st.rounded_version = version;
  return st.rounded;
}

// linear, and linear_add when `residual` is defined: y starts as a copy of the residual and the
// product adds onto it.
static Tensor linear_impl(const Tensor& x_in, const Tensor& weight, const Tensor& bias, LinearWeightCache* cache,
                          const Tensor& residual, const char* op) {
  LJ_CHECK(weight.dim() == 2, op, ": weight must be 2-D (out_features, in_features), got shape ", weight.shape());
  const int64_t out = weight.size(0), in = weight.size(1);
  LJ_CHECK(x_in.dim() >= 1 && x_in.size(-1) == in, op, ": input shape ", x_in.shape(),
           " does not end in in_features=", in, " (weight shape ", weight.shape(), ")");
  if (bias.defined())
    LJ_CHECK(bias.dim() == 1 && bias.size(0) == out, op, ": bias shape ", bias.shape(), " should be [", out, "]");
  Tensor x = x_in.contiguous(), w = weight.contiguous(), b = bias.defined() ? bias.contiguous() : Tensor();
  const int64_t N = x.numel() / (in ? in : 1);
  Shape ys = x.shape();
  ys[ys.size() - 1] = out;
  const bool add = residual.defined();
  if (add)
    LJ_CHECK(residual.shape() == ys, op, ": residual shape ", residual.shape(), " should be the output's, ", ys);
  if (autocast_bf16()) return linear_autocast(x, w, b, cache, residual, op);  // autocast_products.cpp
  Tensor y = Tensor::empty(ys);
  if (add) {
    const Tensor r = residual.contiguous();
    const float* src = r.data();
    float* dst = y.mutable_data();
    parallel_for(y.numel(), y.numel(), [&](int64_t i0, int64_t i1) {
      std::memcpy(dst + i0, src + i0, sizeof(float) * static_cast<size_t>(i1 - i0));
    });
  }
  std::shared_ptr<const LinearWeightCache::Packed> wt;  // held until the product is done
  if (cache && N <= kCachedRowsMax && out * in <= kCachedWeightMax && N * out * in > 0)
    wt = cache->transposed(w);
  kernels::linear_forward<float>(y.mutable_data(), x.data(), wt ? wt->transposed.data() : w.data(),
                                 b.defined() ? b.data() : nullptr, N, in, out, wt ? wt->ld : 0, add);
  if (!autograd::needs_grad({&x, &w, &b, &residual})) return y;
  std::vector<Tensor> inputs{x, w};  // then the bias and the residual, those given
  if (b.defined()) inputs.push_back(b);
  if (add) inputs.push_back(residual);
  const bool has_b = b.defined();
  autograd::attach(y, op, std::move(inputs), [N, in, out, has_b, add](Node& n, const float* dy) {
    bool acc_dx, acc_dw, acc_db = true, acc_r = true;
    float* dx = n.grad(0, acc_dx);
    float* dw = n.grad(1, acc_dw);
    float* db = has_b ? n.grad(2, acc_db) : nullptr;
    kernels::linear_backward<float>(dx, dw, db, dy, n.inputs[0].data(), n.inputs[1].data(), N, in, out, acc_dx, acc_dw,
                                    acc_db);
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

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, LinearWeightCache* cache) {
  return linear_impl(x, weight, bias, cache, Tensor(), "linear");
}

Tensor linear_add(const Tensor& residual, const Tensor& x, const Tensor& weight, const Tensor& bias,
                  LinearWeightCache* cache) {
  LJ_CHECK(residual.defined(), "linear_add: the residual is undefined");
  return linear_impl(x, weight, bias, cache, residual, "linear_add");
}

// bf16 @ bf16 -> float32: products summed in float32, as a bf16 matrix unit does; no gradient (bf16
// tensors take none).
static Tensor matmul_bf16(const Tensor& a_in, const Tensor& b_in, int64_t M, int64_t N, int64_t K) {
  const Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Shape os(a.shape().begin(), a.shape().end() - 1);
  os.push_back(N);
  Tensor y = Tensor::empty(os);
  const int64_t batch = Shape(a.shape().begin(), a.shape().end() - 2).numel();
  const bfloat16* A = a.data_ptr<bfloat16>();
  const bfloat16* B = b.data_ptr<bfloat16>();
  float* Y = y.mutable_data();
  if (b.dim() == 2) {
    kernels::gemm_bf16(false, false, batch * M, N, K, 1.0f, A, K, B, N, 0.0f, Y, N);
    return y;
  }
  LJ_CHECK(Shape(a.shape().begin(), a.shape().end() - 2) == Shape(b.shape().begin(), b.shape().end() - 2),
           "matmul: batch dimensions of ", a.shape(), " and ", b.shape(), " must be equal");
  for (int64_t i = 0; i < batch; i++)
    kernels::gemm_bf16(false, false, M, N, K, 1.0f, A + i * M * K, K, B + i * K * N, N, 0.0f, Y + i * M * N, N);
  return y;
}

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  LJ_CHECK(a_in.dim() >= 2 && b_in.dim() >= 2, "matmul: both operands need at least 2 dimensions, got shapes ",
           a_in.shape(), " and ", b_in.shape());
  const int64_t M = a_in.size(-2), K = a_in.size(-1), N = b_in.size(-1);
  LJ_CHECK(b_in.size(-2) == K, "matmul: shapes ", a_in.shape(), " and ", b_in.shape(), " cannot be multiplied (", K,
           " != ", b_in.size(-2), ")");
  LJ_CHECK(a_in.dtype() == b_in.dtype(), "matmul: operands of dtypes ", dtype_name(a_in.dtype()), " and ",
           dtype_name(b_in.dtype()), " (shapes ", a_in.shape(), " and ", b_in.shape(),
           "); convert one with .to() so both are f32 or both bf16");
  if (a_in.dtype() == Dtype::bf16) return matmul_bf16(a_in, b_in, M, N, K);
  if (autocast_bf16()) return matmul_autocast(a_in, b_in, M, N, K);  // autocast_products.cpp
  Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Shape os(a.shape().begin(), a.shape().end() - 1);
  os.push_back(N);
  Tensor y = Tensor::empty(os);
  int64_t batch = a.numel() / (M * K > 0 ? M * K : 1);
  if (M * K == 0) batch = Shape(a.shape().begin(), a.shape().end() - 2).numel();
  if (b.dim() == 2) {  // (..., M, K) @ (K, N): one product with the batch folded into M
    kernels::gemm<float>(false, false, batch * M, N, K, 1.0f, a.data(), K, b.data(), N, 0.0f, y.mutable_data(), N);
    autograd::record(y, "matmul", {a, b}, [batch, M, N, K](Node& n, const float* dy) {
      if (float* da = n.grad(0))
        kernels::gemm<float>(false, true, batch * M, K, N, 1.0f, dy, N, n.inputs[1].data(), N, 1.0f, da, K);
      if (float* db = n.grad(1))
        kernels::gemm<float>(true, false, K, N, batch * M, 1.0f, n.inputs[0].data(), K, dy, N, 1.0f, db, N);
    });
    return y;
  }
  LJ_CHECK(Shape(a.shape().begin(), a.shape().end() - 2) == Shape(b.shape().begin(), b.shape().end() - 2),
           "matmul: batch dimensions of ", a.shape(), " and ", b.shape(), " must be equal");
  parallel_for(batch, batch * M * N * K, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      kernels::gemm<float>(false, false, M, N, K, 1.0f, a.data() + i * M * K, K, b.data() + i * K * N, N, 0.0f,
                           y.mutable_data() + i * M * N, N);
  });
  autograd::record(y, "matmul", {a, b}, [batch, M, N, K](Node& n, const float* dy) {
    float* da = n.grad(0);
    float* db = n.grad(1);
    const float* A = n.inputs[0].data();
    const float* B = n.inputs[1].data();
    parallel_for(batch, batch * M * N * K, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) {
        if (da) kernels::gemm<float>(false, true, M, K, N, 1.0f, dy + i * M * N, N, B + i * K * N, N, 1.0f, da + i * M * K, K);
        if (db) kernels::gemm<float>(true, false, K, N, M, 1.0f, A + i * M * K, K, dy + i * M * N, N, 1.0f, db + i * K * N, N);
      }
    });
  });
  return y;
}

Tensor Tensor::matmul(const Tensor& other) const { return lj::matmul(*this, other); }

}  // namespace lj
