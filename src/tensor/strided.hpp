// Helpers for strided (non-contiguous) memory: walking a view element by element in row-major order.
#pragma once
#include <cstdint>
#include <vector>

#include "llm_journey/tensor.hpp"

namespace lj::detail {

bool is_contiguous(const Shape& shape, const DimVector& strides);

// dst (dense, row-major) = src viewed through (shape, strides). T: float or bfloat16.
template <typename T>
void copy_strided(T* dst, const T* src, const Shape& shape, const DimVector& strides);

// dst viewed through (shape, strides) += src (dense, row-major).
void add_strided(float* dst, const float* src, const Shape& shape, const DimVector& strides);

// dst viewed through (shape, strides) = src (dense, row-major).
void set_strided(float* dst, const float* src, const Shape& shape, const DimVector& strides);

}  // namespace lj::detail
