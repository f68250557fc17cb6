#include "tensor/strided.hpp"

#include <cstring>

namespace lj::detail {

bool is_contiguous(const Shape& shape, const std::vector<int64_t>& strides) {
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

// Calls f(dense_index, strided_offset) for every element, with the last dimension as the inner loop.
template <typename F>
static void for_each_strided(const Shape& shape, const std::vector<int64_t>& strides, F f) {
  const size_t nd = shape.size();
  const int64_t n = shape.numel();
  if (n == 0) return;
  if (nd == 0) {
    f(0, 0);
    return;
  }
  const int64_t inner = shape[nd - 1], inner_stride = strides[nd - 1];
  std::vector<int64_t> idx(nd, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; i += inner) {
    for (int64_t j = 0; j < inner; j++) f(i + j, off + j * inner_stride);
    for (size_t d = nd - 1; d-- > 0;) {  // advance the outer index like an odometer
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

void copy_strided(float* dst, const float* src, const Shape& shape, const std::vector<int64_t>& strides) {
  if (is_contiguous(shape, strides)) {
    std::memcpy(dst, src, sizeof(float) * shape.numel());
    return;
  }
  for_each_strided(shape, strides, [&](int64_t i, int64_t o) { dst[i] = src[o]; });
}

void add_strided(float* dst, const float* src, const Shape& shape, const std::vector<int64_t>& strides) {
  for_each_strided(shape, strides, [&](int64_t i, int64_t o) { dst[o] += src[i]; });
}

}  // namespace lj::detail
