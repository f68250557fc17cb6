// The caching allocator behind tensor storage (see allocator.hpp).
//
// Sizes are rounded up to classes of eight steps per power of two (at most 12.5% slack), so that
// buffers whose size changes a little (a KV cache growing by one token) still reuse each other.
// The cache holds at most max(256 MiB, the peak of bytes in use) so it never more than doubles the
// program's footprint; beyond that freed buffers go straight back to the system.
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "llm_journey/error.hpp"
#include "runtime/state.hpp"
#include "tensor/allocator.hpp"

namespace lj::detail {

size_t size_class(size_t bytes) {
  if (bytes <= 1024) return (bytes + 63) / 64 * 64;
  const size_t step = std::bit_floor(bytes) / 8;
  return (bytes + step - 1) / step * step;
}

// The free list of a size class: 16 lists of 64-byte steps up to 1 KiB, then eight per power of two
// up to 2^64. (A hash map here cost a hash and a probe on every tensor made and freed.)
size_t class_index(size_t cls) {
  if (cls <= 1024) return cls / 64 - 1;
  const size_t top = std::bit_floor(cls), step = top / 8;
  return 16 + (static_cast<size_t>(std::countr_zero(top)) - 10) * 8 + (cls - top) / step;
}

using Cache = Runtime::State::Memory;
// The cache holds at most max(this, the peak of bytes in use).
constexpr size_t kMinCap = size_t(256) << 20;

static Cache& cache() { return runtime().state().memory; }

void release_cached(Cache& c) {
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& list : c.free_lists) {
    for (void* p : list) std::free(p);
    list.clear();
  }
  c.cached = 0;
}

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer every buffer goes to malloc and back, so a use after free is caught.
constexpr bool kCaching = false;
#else
constexpr bool kCaching = true;
#endif

// What was asked for, rather than a bare std::bad_alloc.
[[noreturn]] static void out_of_memory(size_t bytes) {
  throw Error(detail::str_cat("out of memory: cannot allocate ", bytes, " bytes (", bytes / 4,
                              " floats) for a tensor"));
}

void* storage_alloc(size_t bytes) {
  if (!kCaching) {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) out_of_memory(bytes);
    return p;
  }
  const size_t cls = size_class(bytes ? bytes : 1);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.in_use += cls;
    if (c.in_use > c.peak_in_use) c.peak_in_use = c.in_use;
    auto& list = c.free_lists[class_index(cls)];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      c.cached -= cls;
      return p;
    }
  }
  void* p = std::aligned_alloc(64, cls);
  if (!p) {
    std::lock_guard<std::mutex> lock(c.mu);
    c.in_use -= cls;
    out_of_memory(bytes);
  }
  return p;
}

void storage_free(void* p, size_t bytes) {
  if (!p) return;
  if (!kCaching) return std::free(p);
  const size_t cls = size_class(bytes ? bytes : 1);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.in_use -= cls;
    const size_t cap = c.peak_in_use > kMinCap ? c.peak_in_use : kMinCap;
    if (c.cached + cls <= cap) {
      c.free_lists[class_index(cls)].push_back(p);
      c.cached += cls;
      return;
    }
  }
  std::free(p);
}

}  // namespace lj::detail
