// What lj::Runtime holds (see runtime.hpp). The library's own files reach it through
// runtime().state(); nothing else keeps tuning state between calls.
#pragma once
#include <atomic>
#include <mutex>
#include <vector>

#include "llm_journey/runtime.hpp"

namespace lj {

struct Runtime::State {
  // Relative thread speeds, mean 1; 0 (never measured) reads as 1 (ops/parallel.cpp). Relaxed
  // atomics: the library may be called from several threads at once, and a stale speed only makes a
  // split less even.
  static constexpr int kMaxThreads = 64;
  std::atomic<double> thread_speed[kMaxThreads] = {};

  // The caching allocator's free lists and counts (tensor/allocator.cpp).
  struct Memory {
    std::mutex mu;
    std::vector<std::vector<void*>> free_lists;
    size_t cached = 0, in_use = 0, peak_in_use = 0;
  } memory;
};

}  // namespace lj
