// Embedding lookup: a gather forward, a scatter-add backward.
//   forward:  y[n, :] = W[id_n, :]          ids (N), W (V, C), y (N, C)
//   backward: dW[id_n, :] += dy[n, :]
#include <cmath>
#include <cstring>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops_lm.hpp"
#include "ops/parallel.hpp"

namespace lj {
namespace kernels {

void embedding_forward(float* y, const float* w, const int64_t* ids, int64_t N, int64_t C) {
  parallel_for(N, N * C, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; n++) std::memcpy(y + n * C, w + ids[n] * C, sizeof(float) * static_cast<size_t>(C));
  });
}

// Serial over rows, so that repeated ids add up in a fixed order (deterministic results); parallel
// over columns instead, which never collide.
void embedding_backward(float* dw, const float* dy, const int64_t* ids, int64_t N, int64_t C) {
  parallel_for(C, N * C, [&](int64_t c0, int64_t c1) {
    for (int64_t n = 0; n < N; n++) {
      float* d = dw + ids[n] * C;
      const float* g = dy + n * C;
      for (int64_t c = c0; c < c1; c++) d[c] += g[c];
    }
  });
}

}  // namespace kernels

std::vector<int64_t> tensor_to_ids(const Tensor& t, const char* what) {
  std::vector<float> v = t.to_vector();
  std::vector<int64_t> ids(v.size());
  for (size_t i = 0; i < v.size(); i++) {
    LJ_CHECK(std::isfinite(v[i]) && v[i] == std::floor(v[i]) && std::abs(v[i]) < 16777216.0f, what, ": value ", v[i],
             " at flat index ", i, " is not an integer id");
    ids[i] = static_cast<int64_t>(v[i]);
  }
  return ids;
}

Tensor ids_to_tensor(const std::vector<int64_t>& ids, const Shape& shape) {
  LJ_CHECK(static_cast<int64_t>(ids.size()) == shape.numel(), "ids_to_tensor: ", ids.size(),
           " ids do not fill shape ", shape);
  Tensor t = Tensor::empty(shape);
  for (size_t i = 0; i < ids.size(); i++) {
    LJ_CHECK(ids[i] > -16777216 && ids[i] < 16777216, "ids_to_tensor: id ", ids[i], " at index ", i,
             " is not exact in float32");
    t.mutable_data()[i] = static_cast<float>(ids[i]);
  }
  return t;
}

Tensor embedding(const Tensor& weight_in, const Tensor& indices) {
  LJ_CHECK(weight_in.dim() == 2, "embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape ",
           weight_in.shape());
  const int64_t V = weight_in.size(0), C = weight_in.size(1);
  std::vector<int64_t> ids = tensor_to_ids(indices, "embedding: index");
  for (size_t i = 0; i < ids.size(); i++)
    LJ_CHECK(ids[i] >= 0 && ids[i] < V, "embedding: index ", ids[i], " at flat position ", i,
             " is out of range for ", V, " embeddings");
  Tensor w = weight_in.contiguous();
  const int64_t N = static_cast<int64_t>(ids.size());
  Shape ys = indices.shape();
  ys.push_back(C);
  Tensor y = Tensor::empty(ys);
  kernels::embedding_forward(y.mutable_data(), w.data(), ids.data(), N, C);
  autograd::record(y, "embedding", {w}, [ids = std::move(ids), N, C](Node& n, const float* g) {
    if (float* dw = n.grad(0)) kernels::embedding_backward(dw, g, ids.data(), N, C);
  });
  return y;
}

}  // namespace lj
