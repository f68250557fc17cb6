#include "llm_journey/runtime.hpp"

#include "llm_journey/error.hpp"
#include "ops/gemm/gemm.hpp"
#include "runtime/state.hpp"
#include "tensor/allocator.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lj {

Runtime::Runtime() : state_(std::make_unique<State>()) { state_->memory.free_lists.resize(detail::kFreeLists); }
Runtime::~Runtime() = default;

Runtime& runtime() {
  static Runtime* r = new Runtime;  // never destroyed: see runtime.hpp
  return *r;
}

int Runtime::num_threads() const {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void Runtime::set_num_threads(int n) {
  LJ_CHECK(n >= 1, "Runtime::set_num_threads: n=", n, " must be at least 1");
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

double Runtime::thread_speed(int t) const {
  if (t < 0 || t >= State::kMaxThreads) return 1.0;
  const double s = state_->thread_speed[t].load(std::memory_order_relaxed);
  return s > 0 ? s : 1.0;
}

void Runtime::reset_thread_speeds() {
  for (auto& s : state_->thread_speed) s.store(0.0, std::memory_order_relaxed);
}

size_t Runtime::cached_bytes() const {
  std::lock_guard<std::mutex> lock(state_->memory.mu);
  return state_->memory.cached;
}

size_t Runtime::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(state_->memory.mu);
  return state_->memory.in_use;
}

void Runtime::release_cached_memory() { detail::release_cached(state_->memory); }

std::string Runtime::gemm_isa() const { return kernels::onednn_isa(); }
bool Runtime::has_bf16_instructions() const { return kernels::cpu_has_bf16_instructions(); }

int num_threads() { return runtime().num_threads(); }
void release_cached_memory() { runtime().release_cached_memory(); }

}  // namespace lj
