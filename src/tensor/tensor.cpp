// Tensor construction, metadata, data access and printing.
#include "llm_journey/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "llm_journey/autograd.hpp"
#include "tensor/allocator.hpp"
#include "tensor/strided.hpp"
#include "tensor/tracking.hpp"

namespace lj {

std::string Shape::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << '[';
  for (size_t i = 0; i < s.size(); i++) os << (i ? ", " : "") << s[i];
  return os << ']';
}

// The same byte count goes to the allocator and back, which rounds it to its size class.
static size_t storage_bytes(size_t nbytes) { return nbytes > 0 ? nbytes : 4; }

static uint64_t next_storage_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

Storage::Storage(size_t nbytes)
    : ptr(detail::storage_alloc(storage_bytes(nbytes))), nbytes(nbytes), id(next_storage_id()) {}

Storage::~Storage() { detail::storage_free(ptr, storage_bytes(nbytes)); }

DimVector contiguous_strides(const Shape& shape) {
  DimVector st(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

static void check_shape(const Shape& shape, const char* what) {
  for (int64_t d : shape)
    LJ_CHECK(d >= 0, what, ": shape ", shape, " has a negative dimension");
}

Tensor Tensor::empty(const Shape& shape, Dtype dtype) {
  check_shape(shape, "Tensor::empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * element_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, Dtype dtype) {
  if (dtype == Dtype::f32) return full(shape, 0.0f);
  Tensor t = empty(shape, dtype);
  std::memset(t.impl()->storage->ptr, 0, t.impl()->storage->nbytes);  // +0.0 in both dtypes
  return t;
}
Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  float* p = t.mutable_data();
  if (value == 0.0f) {
    std::memset(p, 0, sizeof(float) * t.numel());
  } else {
    for (int64_t i = 0; i < t.numel(); i++) p[i] = value;
  }
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  check_shape(shape, "Tensor::from_vector");
  LJ_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "Tensor::from_vector: ", values.size(),
           " values do not fill shape ", shape, " (", shape.numel(), " elements)");
  Tensor t = empty(shape);
  if (!values.empty()) std::memcpy(t.mutable_data(), values.data(), sizeof(float) * values.size());
  return t;
}

Tensor Tensor::arange(int64_t n) {
  Tensor t = empty({n});
  float* p = t.mutable_data();
  for (int64_t i = 0; i < n; i++) p[i] = static_cast<float>(i);
  return t;
}

TensorImpl* Tensor::impl() const {
  LJ_CHECK(impl_ != nullptr, "Tensor: use of an undefined tensor (default-constructed or an absent grad)");
  return impl_.get();
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  LJ_CHECK(d >= -n && d < n, "Tensor::size: dim ", d, " is out of range for a tensor of shape ", shape());
  return shape()[static_cast<size_t>(d < 0 ? d + n : d)];
}

bool Tensor::is_contiguous() const {
  return detail::is_contiguous(shape(), strides());
}

float Tensor::item() const {
  LJ_CHECK(numel() == 1, "Tensor::item: the tensor has ", numel(), " elements (shape ", shape(),
           "); item() needs exactly one");
  return dtype() == Dtype::bf16 ? to_float(*impl()->data_as<bfloat16>()) : *data();
}

std::vector<float> Tensor::to_vector() const {
  Tensor c = contiguous().to(Dtype::f32);
  return std::vector<float>(c.data(), c.data() + c.numel());
}

void Tensor::dtype_mismatch(Dtype want, const char* accessor) const {
  throw Error(detail::str_cat("Tensor::", accessor, ": the tensor (shape ", shape(), ") is ", dtype_name(dtype()),
                              ", not ", dtype_name(want), "; convert it with .to(lj::", dtype_name(want), ")"));
}

// Elements converted one by one: float -> bf16 rounds to nearest even, bf16 -> float is exact.
Tensor Tensor::to(Dtype target) const {
  if (dtype() == target) return *this;
  LJ_CHECK(target == Dtype::f32 || !autograd::needs_grad({this}), "Tensor::to(bf16): the tensor (shape ", shape(),
           ") requires grad, and bf16 tensors take no gradients; detach() it or convert under NoGradGuard");
  const Tensor src = contiguous();
  Tensor out = empty(shape(), target);
  const int64_t n = numel();
  if (target == Dtype::bf16) {
    const float* x = src.data();
    bfloat16* y = out.impl()->data_as<bfloat16>();
    for (int64_t i = 0; i < n; i++) y[i] = to_bfloat16(x[i]);
  } else {
    const bfloat16* x = src.impl()->data_as<bfloat16>();
    float* y = out.impl()->data();
    for (int64_t i = 0; i < n; i++) y[i] = to_float(x[i]);
  }
  return out;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  if (dtype() == Dtype::bf16) {  // a plain copy: bf16 tensors take no gradients
    detail::copy_strided(out.impl()->data_as<bfloat16>(), impl()->data_as<bfloat16>(), shape(), strides());
    return out;
  }
  detail::copy_strided(out.impl()->data(), data(), shape(), strides());
  autograd::record(out, "clone", {*this}, [](Node& n, const float* g) {
    if (float* gx = n.grad(0))
      for (int64_t i = 0, e = n.inputs[0].numel(); i < e; i++) gx[i] += g[i];
  });
  return out;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

void Tensor::copy_(const Tensor& src) {
  LJ_CHECK(src.shape() == shape(), "Tensor::copy_: source shape ", src.shape(), " differs from destination shape ",
           shape());
  LJ_CHECK(is_contiguous(), "Tensor::copy_: the destination (shape ", shape(), ") must be contiguous");
  LJ_CHECK(src.dtype() == dtype(), "Tensor::copy_: source dtype ", dtype_name(src.dtype()), " differs from destination dtype ",
           dtype_name(dtype()), "; convert with .to()");
  if (dtype() == Dtype::bf16) {
    detail::copy_strided(detail::data_for_write<bfloat16>(*this), src.impl()->data_as<bfloat16>(), src.shape(),
                         src.strides());
    return;
  }
  detail::copy_strided(detail::data_for_write(*this), src.data(), src.shape(), src.strides());
}

void Tensor::fill_(float value) {
  LJ_CHECK(is_contiguous(), "Tensor::fill_: the tensor (shape ", shape(), ") must be contiguous");
  check_dtype(Dtype::f32, "fill_");
  float* p = detail::data_for_write(*this);
  for (int64_t i = 0; i < numel(); i++) p[i] = value;
}

Tensor& Tensor::requires_grad_(bool on) {
  LJ_CHECK(is_leaf() || on, "Tensor::requires_grad_: only leaf tensors can stop requiring a gradient");
  LJ_CHECK(!on || dtype() == Dtype::f32, "Tensor::requires_grad_: the tensor is ", dtype_name(dtype()),
           "; only float32 tensors take gradients");
  impl()->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  const auto& g = impl()->grad;
  return g ? Tensor(g) : Tensor();
}

void Tensor::zero_grad() { impl()->grad.reset(); }

std::string Tensor::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  std::vector<float> v = t.to_vector();
  const Shape& s = t.shape();
  std::ostringstream body;
  body << std::fixed << std::setprecision(4);
  if (s.empty()) {
    body << v[0];
  } else {
    // Nested brackets, one row of the last dimension per line; long tensors are abbreviated.
    DimVector st = contiguous_strides(s);
    size_t nd = s.size();
    int64_t n = t.numel();
    if (n > 1000) {
      body << "[... " << n << " values ...]";
    } else {
      for (int64_t i = 0; i < n; i++) {
        size_t opened = 0;
        for (size_t d = 0; d < nd; d++)
          if (i % (st[d] * s[d]) == 0) opened++;
        if (i > 0) body << (opened > 0 ? std::string(opened, '\n') + std::string(nd - opened, ' ') : " ");
        body << std::string(opened, '[') << v[i];
        size_t closed = 0;
        for (size_t d = 0; d < nd; d++)
          if ((i + 1) % (st[d] * s[d]) == 0) closed++;
        body << std::string(closed, ']') << (i + 1 < n ? "," : "");
      }
    }
  }
  os << "tensor(" << body.str() << ", shape=" << s;
  if (t.dtype() != Dtype::f32) os << ", dtype=" << dtype_name(t.dtype());
  if (t.requires_grad()) os << ", requires_grad=True";
  return os << ")";
}

}  // namespace lj
