#include "tensor/strided.hpp"

#include <cstring>

namespace lj::detail {

bool is_contiguous(const Shape& shape, const DimVector& strides) {
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

// Calls row(dense_index, strided_offset, length, stride) for every row of the last dimension.
template <typename F>
static void for_each_strided_row(const Shape& shape, const DimVector& strides, F f) {
  const size_t nd = shape.size();
  const int64_t n = shape.numel();
  if (n == 0) return;
  if (nd == 0) {
    f(0, 0, 1, 1);
    return;
  }
  const int64_t inner = shape[nd - 1], inner_stride = strides[nd - 1];
  DimVector idx(nd, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; i += inner) {
    f(i, off, inner, inner_stride);
    for (size_t d = nd - 1; d-- > 0;) {  // advance the outer index like an odometer
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

template <typename T>
void copy_strided(T* dst, const T* src, const Shape& shape, const DimVector& strides) {
  if (is_contiguous(shape, strides)) {
    std::memcpy(dst, src, sizeof(T) * shape.numel());
    return;
  }
  for_each_strided_row(shape, strides, [&](int64_t i, int64_t o, int64_t n, int64_t st) {
    if (st == 1) std::memcpy(dst + i, src + o, sizeof(T) * static_cast<size_t>(n));
    else for (int64_t j = 0; j < n; j++) dst[i + j] = src[o + j * st];
  });
}
template void copy_strided<float>(float*, const float*, const Shape&, const DimVector&);
template void copy_strided<bfloat16>(bfloat16*, const bfloat16*, const Shape&, const DimVector&);

void set_strided(float* dst, const float* src, const Shape& shape, const DimVector& strides) {
  if (is_contiguous(shape, strides)) {
    std::memcpy(dst, src, sizeof(float) * shape.numel());
    return;
  }
  for_each_strided_row(shape, strides, [&](int64_t i, int64_t o, int64_t n, int64_t st) {
    if (st == 1) std::memcpy(dst + o, src + i, sizeof(float) * static_cast<size_t>(n));
    else for (int64_t j = 0; j < n; j++) dst[o + j * st] = src[i + j];
  });
}

void add_strided(float* dst, const float* src, const Shape& shape, const DimVector& strides) {
  for_each_strided_row(shape, strides, [&](int64_t i, int64_t o, int64_t n, int64_t st) {
    if (st == 1) {  // the usual case (a transposed head split): a contiguous row, vectorised
      float* d = dst + o;
      const float* s = src + i;
      for (int64_t j = 0; j < n; j++) d[j] += s[j];
    } else {
      for (int64_t j = 0; j < n; j++) dst[o + j * st] += src[i + j];
    }
  });
}

}  // namespace lj::detail
