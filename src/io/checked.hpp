// Helpers shared by the file parsers: overflow-safe sizes and shape printing (no tensor code, so the
// parsers build alone for fuzzing).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lj::io::detail {

// "[2, 3]", as Shape prints.
inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// numel(shape) * item_size in bytes, or nothing when a dimension is negative or the product
// overflows 2^63.
inline std::optional<uint64_t> checked_nbytes(const std::vector<int64_t>& shape, uint64_t item_size) {
  uint64_t n = item_size;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return std::nullopt;
  }
  if (n > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return n;
}

}  // namespace lj::io::detail
