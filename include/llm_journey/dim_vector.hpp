// DimVector: the dimensions or strides of a tensor, stored inline up to kInline of them.
//
// Every op makes and copies tensor metadata: an output's shape and strides, a view's, a temporary
// shape. With std::vector each was a heap allocation; a small TransformerBlock forward made about 80
// of them. Ranks above kInline (rare) go to the heap. The interface is the part of std::vector that
// shapes use.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <type_traits>
#include <vector>

namespace lj {

class DimVector {
 public:
  static constexpr size_t kInline = 6;
  using value_type = int64_t;
  using iterator = int64_t*;
  using const_iterator = const int64_t*;

  DimVector() = default;
  explicit DimVector(size_t n, int64_t value = 0) { resize(n, value); }
  DimVector(std::initializer_list<int64_t> values) { assign(values.begin(), values.end()); }
  template <typename It, typename = std::enable_if_t<!std::is_integral_v<It>>>
  DimVector(It first, It last) {
    assign(first, last);
  }
  DimVector(const std::vector<int64_t>& v) { assign(v.begin(), v.end()); }  // NOLINT: implicit by design
  DimVector(const DimVector& o) { assign(o.begin(), o.end()); }
  DimVector(DimVector&& o) noexcept { take(o); }
  DimVector& operator=(const DimVector& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  DimVector& operator=(DimVector&& o) noexcept {
    if (this != &o) {
      free_heap();
      take(o);
    }
    return *this;
  }
  ~DimVector() { free_heap(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return ptr(); }
  const int64_t* data() const { return ptr(); }
  int64_t* begin() { return ptr(); }
  int64_t* end() { return ptr() + size_; }
  const int64_t* begin() const { return ptr(); }
  const int64_t* end() const { return ptr() + size_; }
  int64_t& operator[](size_t i) { return ptr()[i]; }
  int64_t operator[](size_t i) const { return ptr()[i]; }
  int64_t& back() { return ptr()[size_ - 1]; }
  int64_t back() const { return ptr()[size_ - 1]; }

  void reserve(size_t n) {
    if (n <= capacity()) return;
    auto* p = new int64_t[n];
    std::copy(begin(), end(), p);
    free_heap();
    heap_ = p;
    cap_ = n;
  }
  void resize(size_t n, int64_t value = 0) {
    reserve(n);
    for (size_t i = size_; i < n; i++) ptr()[i] = value;
    size_ = n;
  }
  void clear() { size_ = 0; }
  void push_back(int64_t v) {
    if (size_ == capacity()) reserve(2 * capacity());
    ptr()[size_++] = v;
  }
  void pop_back() { size_--; }
  iterator insert(const_iterator pos, int64_t v) {
    const size_t i = static_cast<size_t>(pos - begin());
    push_back(v);
    std::rotate(begin() + i, end() - 1, end());
    return begin() + i;
  }
  iterator erase(const_iterator pos) {
    const size_t i = static_cast<size_t>(pos - begin());
    std::copy(begin() + i + 1, end(), begin() + i);
    size_--;
    return begin() + i;
  }
  template <typename It>
  void assign(It first, It last) {
    const auto n = static_cast<size_t>(std::distance(first, last));
    size_ = 0;
    reserve(n);
    std::copy(first, last, ptr());
    size_ = n;
  }

  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }
  operator std::vector<int64_t>() const { return vec(); }  // NOLINT: implicit by design

  friend bool operator==(const DimVector& a, const DimVector& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator==(const DimVector& a, const std::vector<int64_t>& b) {
    return a.size_ == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  size_t capacity() const { return heap_ ? cap_ : kInline; }
  int64_t* ptr() { return heap_ ? heap_ : inline_; }
  const int64_t* ptr() const { return heap_ ? heap_ : inline_; }
  void free_heap() {
    delete[] heap_;
    heap_ = nullptr;
    cap_ = 0;
  }
  void take(DimVector& o) {
    size_ = o.size_;
    if (o.heap_) {
      heap_ = o.heap_;
      cap_ = o.cap_;
      o.heap_ = nullptr;
      o.cap_ = 0;
    } else {
      std::copy(o.inline_, o.inline_ + o.size_, inline_);
    }
    o.size_ = 0;
  }

  int64_t inline_[kInline] = {};
  int64_t* heap_ = nullptr;
  size_t size_ = 0, cap_ = 0;
};

}  // namespace lj
