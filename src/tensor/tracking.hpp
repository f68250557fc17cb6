// The library's side of write tracking (see Storage in tensor.hpp): its own in-place writes count a
// new version and keep tracking on; a module turns tracking on for the weights it makes.
#pragma once
#include "llm_journey/tensor.hpp"

namespace lj::detail {

// A mutable pointer for an in-place write by the library itself: the storage gets a new version.
template <typename T = float>
inline T* data_for_write(const Tensor& t) {
  t.impl()->storage->version.fetch_add(1, std::memory_order_acq_rel);
  return t.impl()->data_as<T>();
}

// For a tensor just made, whose storage no caller holds a pointer to yet.
inline void track_writes(const Tensor& t) { t.impl()->storage->writes_tracked.store(true, std::memory_order_release); }

}  // namespace lj::detail
