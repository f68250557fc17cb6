// Tensor: an N-d array in PyTorch's dimension order, with reverse-mode autograd. Elements are
// float32 (every op computes in it) or bfloat16 (storage, conversion and matrix products; see dtype.hpp).
//
// A Tensor is a cheap handle (a shared pointer) to a TensorImpl: shape, strides, an offset into a
// shared Storage, and the autograd state (requires_grad, grad, grad_fn). Views (reshape of a
// contiguous tensor, transpose, slice) share storage. Gradients are always dense and contiguous.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "llm_journey/dim_vector.hpp"
#include "llm_journey/dtype.hpp"
#include "llm_journey/error.hpp"

namespace lj {

// The shape of a tensor: behaves like std::vector<int64_t>, prints as [2, 10, 64].
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  Shape(const std::vector<int64_t>& dims) : dims_(dims) {}  // NOLINT: implicit by design
  Shape(DimVector dims) : dims_(std::move(dims)) {}          // NOLINT: implicit by design
  template <typename It, typename = std::enable_if_t<!std::is_integral_v<It>>>
  Shape(It first, It last) : dims_(first, last) {}

  size_t size() const { return dims_.size(); }
  bool empty() const { return dims_.empty(); }
  int64_t operator[](size_t i) const { return dims_[i]; }
  int64_t& operator[](size_t i) { return dims_[i]; }
  int64_t back() const { return dims_.back(); }
  const int64_t* begin() const { return dims_.begin(); }
  const int64_t* end() const { return dims_.end(); }
  void push_back(int64_t d) { dims_.push_back(d); }
  const DimVector& dims() const { return dims_; }
  std::vector<int64_t> vec() const { return dims_.vec(); }
  operator std::vector<int64_t>() const { return dims_.vec(); }  // NOLINT: implicit by design
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : dims_) n *= d;
    return n;
  }
  std::string str() const;

  friend bool operator==(const Shape& a, const Shape& b) { return a.dims_ == b.dims_; }
  friend bool operator==(const Shape& a, const std::vector<int64_t>& b) { return a.dims_ == b; }

 private:
  DimVector dims_;
};
std::ostream& operator<<(std::ostream& os, const Shape& s);

// 64-byte aligned, uninitialised buffer shared by a tensor and its views.
//
// Write tracking, for caches of values derived from a storage (nn::Linear keeps W^T): `version` counts
// the library's own in-place writes (Tensor::copy_ and fill_, nn::init, optimizer steps), and
// `writes_tracked` says that every write since tracking began went through them, so that an unchanged
// (id, version) means unchanged values. Tracking is turned on for an nn::Linear's weight when it is
// made, and turned off for good the first time Tensor::mutable_data() hands out a pointer: what the
// caller writes through it is not counted, so from then on a cache compares values instead. Reading
// through Tensor::data() changes nothing.
struct Storage {
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* const ptr;
  const size_t nbytes;
  const uint64_t id;  // unique for the life of the process, never reused
  std::atomic<uint64_t> version{0};
  std::atomic<bool> writes_tracked{false};
};

class Tensor;
struct Node;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;
  Shape shape;
  DimVector strides;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // dense, contiguous, same shape; null until backward
  std::shared_ptr<Node> grad_fn;     // null for leaves
  Dtype dtype = Dtype::f32;
  // The first element, unchecked (the library's own use, where the dtype is known).
  template <typename T>
  T* data_as() const {
    return static_cast<T*>(storage->ptr) + offset;
  }
  float* data() const { return data_as<float>(); }
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- factories -----------------------------------------------------------------------------
  static Tensor empty(const Shape& shape, Dtype dtype = Dtype::f32);  // uninitialised
  static Tensor zeros(const Shape& shape, Dtype dtype = Dtype::f32);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor scalar(float value) { return full({}, value); }
  static Tensor arange(int64_t n);

  // --- metadata ------------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl()->shape; }
  Shape sizes() const { return shape(); }
  const DimVector& strides() const { return impl()->strides; }
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape().numel(); }
  bool is_contiguous() const;
  TensorImpl* impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }
  Dtype dtype() const { return impl()->dtype; }

  // --- data ----------------------------------------------------------------------------------
  // The first element; mind the strides. data() reads; mutable_data() is for writing, and since the
  // library cannot see what the caller writes through it, it ends write tracking of the storage (see
  // Storage). Both are for float32 tensors; a bf16 tensor's elements are data_ptr<bfloat16>().
  const float* data() const {
    check_dtype(Dtype::f32, "data");
    return impl()->data();
  }
  float* mutable_data() const {
    check_dtype(Dtype::f32, "mutable_data");
    end_write_tracking();
    return impl()->data();
  }
  template <typename T>
  const T* data_ptr() const {
    check_dtype(dtype_of<T>(), "data_ptr");
    return impl()->data_as<T>();
  }
  template <typename T>
  T* mutable_data_ptr() const {
    check_dtype(dtype_of<T>(), "mutable_data_ptr");
    end_write_tracking();
    return impl()->data_as<T>();
  }
  // A copy in another dtype (this tensor if it already has it). float32 -> bf16 rounds to nearest,
  // ties to even, as torch does. No gradient flows through a conversion to bf16: bf16 tensors take
  // none, so converting one that requires grad, with gradients on, is an error.
  Tensor to(Dtype dtype) const;
  float item() const;                    // as a float, whatever the dtype
  std::vector<float> to_vector() const;  // row-major, whatever the strides, as floats
  Tensor contiguous() const;             // this tensor if already contiguous, else a copy
  Tensor clone() const;                  // a contiguous copy, recorded by autograd
  Tensor detach() const;                 // same storage, cut from the graph
  void copy_(const Tensor& src);         // in place, no autograd; shapes must match
  void fill_(float value);               // in place, no autograd
  std::string str() const;               // values, in the style of torch's repr (small tensors)

  // --- autograd ------------------------------------------------------------------------------
  bool requires_grad() const { return impl()->requires_grad; }
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return impl()->grad_fn == nullptr; }
  Tensor grad() const;  // undefined Tensor until a backward pass reaches this tensor
  void zero_grad();     // drops the gradient (like set_to_none=True)
  // Back-propagates from this tensor. A scalar seeds with 1; otherwise pass the gradient.
  void backward(const Tensor& gradient = Tensor()) const;

  // --- views ---------------------------------------------------------------------------------
  Tensor reshape(const Shape& shape) const;  // one dimension may be -1
  Tensor view(const Shape& shape) const { return reshape(shape); }
  Tensor flatten() const { return reshape({-1}); }
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end) const;  // [start, end) along dim
  Tensor select(int64_t dim, int64_t index) const;              // drops dim
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;

  // --- maths (see ops.hpp for the rest) ---------------------------------------------------------
  Tensor sum() const;
  Tensor sum(int64_t dim, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(int64_t dim, bool keepdim = false) const;
  Tensor var(bool unbiased = true) const;
  Tensor std(bool unbiased = true) const;  // unbiased by default, as torch.std
  Tensor max() const;                      // no gradient
  Tensor min() const;                      // no gradient
  Tensor abs() const;
  Tensor pow(float exponent) const;
  Tensor sqrt() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor tanh() const;
  Tensor norm() const;  // Frobenius
  Tensor matmul(const Tensor& other) const;

 private:
  template <typename T>
  static constexpr Dtype dtype_of() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, bfloat16>, "float or lj::bfloat16");
    return std::is_same_v<T, float> ? Dtype::f32 : Dtype::bf16;
  }
  void check_dtype(Dtype want, const char* accessor) const {
    if (impl()->dtype != want) dtype_mismatch(want, accessor);
  }
  [[noreturn]] void dtype_mismatch(Dtype want, const char* accessor) const;
  void end_write_tracking() const {
    std::atomic<bool>& tracked = impl()->storage->writes_tracked;
    if (tracked.load(std::memory_order_relaxed)) tracked.store(false, std::memory_order_release);
  }
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, float s);
Tensor operator-(const Tensor& a, float s);
Tensor operator*(const Tensor& a, float s);
Tensor operator/(const Tensor& a, float s);
inline Tensor operator+(float s, const Tensor& a) { return a + s; }
inline Tensor operator*(float s, const Tensor& a) { return a * s; }
Tensor operator-(float s, const Tensor& a);

// Contiguous row-major strides for a shape.
DimVector contiguous_strides(const Shape& shape);

}  // namespace lj
