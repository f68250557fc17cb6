// Weights in and out: safetensors and .npy files, read and written.
//
// Two levels:
//   - typed arrays (io::Array): every dtype a file can hold, kept bit for bit, so any file round-trips
//     exactly (read_safetensors / write_safetensors, read_npy / write_npy);
//   - float32 tensors (lj::Tensor), what the library computes with (load_safetensors / save_safetensors,
//     load_npy / save_npy). Loading converts any dtype to float32 (F16 and BF16 exactly; integers
//     exactly up to 2^24).
//
// Every reader checks the whole file before trusting it: a malformed file gets an lj::Error that names
// the file and what is wrong, never a crash or a read out of bounds. The parse_* functions do the same
// on bytes already in memory (`name` is what the messages call them).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llm_journey/tensor.hpp"

namespace lj::io {

// The element types, spelled as safetensors spells them.
enum class DType { F32, F64, F16, BF16, I64, I32, U16, U8, BOOL };

const char* dtype_name(DType d);                  // "F32", "BF16", ...
size_t dtype_size(DType d);                       // bytes per element
DType dtype_from_name(const std::string& name);   // throws lj::Error naming the unknown dtype

// An n-d array in C order with little-endian elements, of any DType. Cheap to copy: the bytes are
// shared, and may live in a memory-mapped file that stays mapped while any array still uses it.
class Array {
 public:
  Array() = default;  // an empty F32 array, shape [0]
  // Owns `bytes`, whose size must be numel(shape) * dtype_size(dtype).
  Array(DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes);
  // A view of `size` bytes at `data`, kept alive by `owner`.
  Array(DType dtype, std::vector<int64_t> shape, std::shared_ptr<const void> owner, const uint8_t* data, size_t size);

  // Typed construction and access: T is float, double, int64_t, int32_t, uint16_t, uint8_t or bool
  // (F16 and BF16 go through to_tensor / from_tensor).
  template <typename T>
  static Array from_values(const std::vector<T>& values, std::vector<int64_t> shape);
  template <typename T>
  std::vector<T> values() const;  // the dtype must be T's

  // tensor <-> array: any dtype to float32, or a BF16 array to a bf16 tensor with keep_bf16 (its bytes
  // copied, no detour through float); a tensor to any dtype (rounded to nearest even for F16 and
  // BF16, truncated toward zero for integers, nonzero -> true for BOOL). Without a dtype, a tensor
  // keeps its own: F32 or BF16.
  Tensor to_tensor(bool keep_bf16 = false) const;
  static Array from_tensor(const Tensor& t);
  static Array from_tensor(const Tensor& t, DType dtype);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const;
  const uint8_t* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  // Same dtype, same shape, same bytes.
  friend bool operator==(const Array& a, const Array& b);

 private:
  void check_size(size_t nbytes) const;
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_ = {0};  // default: empty, consistent with no bytes
  std::shared_ptr<const void> owner_;
  const uint8_t* data_ = nullptr;
  size_t nbytes_ = 0;
};

using Metadata = std::map<std::string, std::string>;  // safetensors' "__metadata__": strings only
using ArrayMap = std::map<std::string, Array>;
using TensorMap = std::map<std::string, Tensor>;

// --- safetensors -------------------------------------------------------------------------------
// 8 bytes little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, ...,
// "__metadata__": {...}}, then the data; offsets are relative to the end of the header.

struct Safetensors {
  ArrayMap arrays;
  Metadata metadata;
};

// Every tensor in its own dtype; the file is memory-mapped and the arrays view the mapping.
Safetensors read_safetensors(const std::string& path);
Safetensors parse_safetensors(const uint8_t* data, size_t size, const std::string& name,
                              std::shared_ptr<const void> owner = nullptr);
void write_safetensors(const std::string& path, const ArrayMap& arrays, const Metadata& metadata = {});
std::vector<uint8_t> serialize_safetensors(const ArrayMap& arrays, const Metadata& metadata = {});

// Every tensor as float32 (F16 and BF16 converted on load), or with keep_bf16 BF16 ones as bf16
// tensors; `metadata`, if given, receives the map.
TensorMap load_safetensors(const std::string& path, Metadata* metadata = nullptr, bool keep_bf16 = false);
// Tensors stored as `dtype`, or without one each in its own (F32 or BF16).
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {},
                      std::optional<DType> dtype = std::nullopt);

// --- .npy --------------------------------------------------------------------------------------
// numpy's format: magic, version, a Python-dict header {'descr', 'fortran_order', 'shape'}, the data.
// Read: float32, float64, float16, int32, int64, uint16, uint8 and bool, C order, little-endian;
// Fortran-order and big-endian files are rejected. BF16 has no numpy dtype and cannot be written.

Array read_npy(const std::string& path);
Array parse_npy(const uint8_t* data, size_t size, const std::string& name);
void write_npy(const std::string& path, const Array& array);
std::vector<uint8_t> serialize_npy(const Array& array);

Tensor load_npy(const std::string& path);  // any dtype, as float32
void save_npy(const std::string& path, const Tensor& tensor, DType dtype = DType::F32);

}  // namespace lj::io

namespace lj::nn {
class Module;
}

namespace lj {

// A module's state dict to and from a safetensors file (float32; `metadata` goes to "__metadata__").
// load reads any dtype as float32, then load_state_dict(dict, strict).
void save(nn::Module& module, const std::string& path, const io::Metadata& metadata = {});
void load(nn::Module& module, const std::string& path, bool strict = true);

}  // namespace lj
