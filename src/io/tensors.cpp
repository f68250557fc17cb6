// Files <-> float32 tensors, and a module's weights to and from safetensors.
#include <cmath>
#include <cstring>

#include "io/half.hpp"
#include "llm_journey/io.hpp"
#include "llm_journey/nn/module.hpp"

namespace lj::io {

namespace {
template <typename T>
T load_le(const uint8_t* p) {  // memcpy: mapped data need not be aligned
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void store_le(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}
// float -> integer, truncated toward zero and saturated (NaN -> 0), so no conversion is undefined.
template <typename I>
I to_int(float f) {
  if (std::isnan(f)) return 0;
  double d = std::trunc(static_cast<double>(f));
  if (d <= static_cast<double>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
  if (d >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(d);
}
}  // namespace

Tensor Array::to_tensor(bool keep_bf16) const {
  if (keep_bf16 && dtype_ == DType::BF16) {  // the bytes as they are
    Tensor t = Tensor::empty(Shape(shape_), Dtype::bf16);
    if (nbytes_) std::memcpy(t.mutable_data_ptr<bfloat16>(), data_, nbytes_);
    return t;
  }
  Tensor t = Tensor::empty(Shape(shape_));
  float* out = t.mutable_data();
  const int64_t n = numel();
  const uint8_t* p = data_;
  switch (dtype_) {
    case DType::F32:
      if (n) std::memcpy(out, p, nbytes_);
      break;
    case DType::F64:
      for (int64_t i = 0; i < n; i++) out[i] = static_cast<float>(load_le<double>(p + 8 * i));
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; i++) out[i] = detail::f16_to_float(load_le<uint16_t>(p + 2 * i));
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; i++) out[i] = detail::bf16_to_float(load_le<uint16_t>(p + 2 * i));
      break;
    case DType::I64:
      for (int64_t i = 0; i < n; i++) out[i] = static_cast<float>(load_le<int64_t>(p + 8 * i));
      break;
    case DType::I32:
      for (int64_t i = 0; i < n; i++) out[i] = static_cast<float>(load_le<int32_t>(p + 4 * i));
      break;
    case DType::U16:
      for (int64_t i = 0; i < n; i++) out[i] = static_cast<float>(load_le<uint16_t>(p + 2 * i));
      break;
    case DType::U8:
      for (int64_t i = 0; i < n; i++) out[i] = static_cast<float>(p[i]);
      break;
    case DType::BOOL:
      for (int64_t i = 0; i < n; i++) out[i] = p[i] != 0 ? 1.0f : 0.0f;
      break;
  }
  return t;
}

Array Array::from_tensor(const Tensor& t) {
  LJ_CHECK(t.defined(), "io::Array::from_tensor: the tensor is undefined");
  return from_tensor(t, t.dtype() == Dtype::bf16 ? DType::BF16 : DType::F32);
}

Array Array::from_tensor(const Tensor& t, DType dtype) {
  LJ_CHECK(t.defined(), "io::Array::from_tensor: the tensor is undefined");
  if (t.dtype() == Dtype::bf16 && dtype == DType::BF16) {  // the bytes as they are
    const Tensor c = t.contiguous();
    std::vector<uint8_t> bytes(static_cast<size_t>(c.numel()) * 2);
    if (!bytes.empty()) std::memcpy(bytes.data(), c.data_ptr<bfloat16>(), bytes.size());
    return Array(dtype, t.shape().vec(), std::move(bytes));
  }
  std::vector<float> v = t.to_vector();
  const size_t n = v.size(), s = dtype_size(dtype);
  std::vector<uint8_t> bytes(n * s);
  uint8_t* p = bytes.data();
  switch (dtype) {
    case DType::F32:
      if (n) std::memcpy(p, v.data(), n * 4);
      break;
    case DType::F64:
      for (size_t i = 0; i < n; i++) store_le<double>(p + 8 * i, v[i]);
      break;
    case DType::F16:
      for (size_t i = 0; i < n; i++) store_le<uint16_t>(p + 2 * i, detail::float_to_f16(v[i]));
      break;
    case DType::BF16:
      for (size_t i = 0; i < n; i++) store_le<uint16_t>(p + 2 * i, detail::float_to_bf16(v[i]));
      break;
    case DType::I64:
      for (size_t i = 0; i < n; i++) store_le<int64_t>(p + 8 * i, to_int<int64_t>(v[i]));
      break;
    case DType::I32:
      for (size_t i = 0; i < n; i++) store_le<int32_t>(p + 4 * i, to_int<int32_t>(v[i]));
      break;
    case DType::U16:
      for (size_t i = 0; i < n; i++) store_le<uint16_t>(p + 2 * i, to_int<uint16_t>(v[i]));
      break;
    case DType::U8:
      for (size_t i = 0; i < n; i++) p[i] = to_int<uint8_t>(v[i]);
      break;
    case DType::BOOL:
      for (size_t i = 0; i < n; i++) p[i] = v[i] != 0.0f ? 1 : 0;
      break;
  }
  return Array(dtype, t.shape().vec(), std::move(bytes));
}

TensorMap load_safetensors(const std::string& path, Metadata* metadata, bool keep_bf16) {
  Safetensors f = read_safetensors(path);
  TensorMap out;
  for (const auto& [name, a] : f.arrays) out.emplace(name, a.to_tensor(keep_bf16));
  if (metadata) *metadata = std::move(f.metadata);
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata,
                      std::optional<DType> dtype) {
  ArrayMap arrays;
  for (const auto& [name, t] : tensors) {
    LJ_CHECK(t.defined(), path, ": tensor '", name, "' is undefined");
    arrays.emplace(name, dtype ? Array::from_tensor(t, *dtype) : Array::from_tensor(t));
  }
  write_safetensors(path, arrays, metadata);
}

Tensor load_npy(const std::string& path) { return read_npy(path).to_tensor(); }

void save_npy(const std::string& path, const Tensor& tensor, DType dtype) {
  write_npy(path, Array::from_tensor(tensor, dtype));
}

}  // namespace lj::io

namespace lj {

void save(nn::Module& module, const std::string& path, const io::Metadata& metadata) {
  io::save_safetensors(path, module.state_dict(), metadata);
}

void load(nn::Module& module, const std::string& path, bool strict) {
  auto dict = io::load_safetensors(path);
  try {
    module.load_state_dict(dict, strict);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

}  // namespace lj
