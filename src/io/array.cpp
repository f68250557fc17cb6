// io::Array: dtypes and a typed, shared byte buffer. No tensor code here, so the parsers and this file
// build alone (the fuzzers compile them without the rest of the library).
#include <cstring>

#include "io/checked.hpp"
#include "llm_journey/io.hpp"

namespace lj::io {

namespace {
struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {{DType::F32, "F32", 4}, {DType::F64, "F64", 8}, {DType::F16, "F16", 2},
                                 {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
                                 {DType::U16, "U16", 2},  {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1}};

template <typename T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::U16; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }
template <> constexpr DType dtype_of<bool>() { return DType::BOOL; }

using detail::shape_str;
}  // namespace

const char* dtype_name(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i.name;
  return "?";
}

size_t dtype_size(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i.size;
  return 0;
}

DType dtype_from_name(const std::string& name) {
  for (const auto& i : kDTypes)
    if (name == i.name) return i.dtype;
  throw Error("unknown dtype '" + name + "' (known: F32, F64, F16, BF16, I64, I32, U16, U8, BOOL)");
}

Array::Array(DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes) : dtype_(dtype), shape_(std::move(shape)) {
  check_size(bytes.size());
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  data_ = owned->data();
  nbytes_ = owned->size();
  owner_ = std::move(owned);
}

Array::Array(DType dtype, std::vector<int64_t> shape, std::shared_ptr<const void> owner, const uint8_t* data, size_t size)
    : dtype_(dtype), shape_(std::move(shape)), owner_(std::move(owner)), data_(data), nbytes_(size) {
  check_size(size);
}

void Array::check_size(size_t nbytes) const {
  auto want = detail::checked_nbytes(shape_, dtype_size(dtype_));
  LJ_CHECK(want && *want == nbytes, "io::Array: ", nbytes, " bytes do not hold shape ", shape_str(shape_), " of ",
           dtype_name(dtype_));
}

int64_t Array::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

template <typename T>
Array Array::from_values(const std::vector<T>& values, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    LJ_CHECK(d >= 0, "io::Array: negative dimension in shape ", shape_str(shape));
    n *= d;
  }
  LJ_CHECK(n == static_cast<int64_t>(values.size()), "io::Array: ", values.size(), " values do not fill shape ",
           shape_str(shape));
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if constexpr (std::is_same_v<T, bool>) {
    for (size_t i = 0; i < values.size(); i++) bytes[i] = values[i] ? 1 : 0;
  } else if (!bytes.empty()) {
    std::memcpy(bytes.data(), values.data(), bytes.size());
  }
  return Array(dtype_of<T>(), std::move(shape), std::move(bytes));
}

template <typename T>
std::vector<T> Array::values() const {
  LJ_CHECK(dtype_ == dtype_of<T>(), "io::Array: asked for ", dtype_name(dtype_of<T>()), " values of a ",
           dtype_name(dtype_), " array");
  std::vector<T> out(static_cast<size_t>(numel()));
  if constexpr (std::is_same_v<T, bool>) {
    for (size_t i = 0; i < out.size(); i++) out[i] = data_[i] != 0;
  } else if (!out.empty()) {
    std::memcpy(out.data(), data_, nbytes_);  // memcpy: mapped data need not be aligned
  }
  return out;
}

#define LJ_ARRAY_TYPES(T)                                                          \
  template Array Array::from_values<T>(const std::vector<T>&, std::vector<int64_t>); \
  template std::vector<T> Array::values<T>() const;
LJ_ARRAY_TYPES(float)
LJ_ARRAY_TYPES(double)
LJ_ARRAY_TYPES(int64_t)
LJ_ARRAY_TYPES(int32_t)
LJ_ARRAY_TYPES(uint16_t)
LJ_ARRAY_TYPES(uint8_t)
LJ_ARRAY_TYPES(bool)
#undef LJ_ARRAY_TYPES

bool operator==(const Array& a, const Array& b) {
  return a.dtype_ == b.dtype_ && a.shape_ == b.shape_ && a.nbytes_ == b.nbytes_ &&
         (a.nbytes_ == 0 || std::memcmp(a.data_, b.data_, a.nbytes_) == 0);
}

}  // namespace lj::io
