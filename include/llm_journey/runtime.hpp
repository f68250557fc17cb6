// The runtime: the library's tuning state, in one object you can see.
//
// Nothing here needs to be called first. The library needs no environment variable and no init call:
// matrix products go through oneDNN, which picks its kernels from the CPU's features when it loads.
// What the library keeps between calls lives in lj::runtime(), and only there:
//
// - Threads. The OpenMP thread count (all cores by default; OMP_NUM_THREADS or set_num_threads()).
//   oneDNN is built with OpenMP too, so the products and the loops share one pool. Idle OpenMP
//   threads spin a while before they sleep; OpenMP reads how long from OMP_WAIT_POLICY and
//   GOMP_SPINCOUNT when it loads, so that is the user's to set (PASSIVE suits a busy machine).
// - Thread speeds. Parallel loops are split in proportion to each thread's measured speed (virtual
//   CPUs do not all run at one speed). Every loop split this way computes each element on one thread
//   in the same order whatever the split, so the speeds change timings, never results.
// - Memory. Freed tensor buffers are kept for reuse, up to the program's peak use (at least 256 MiB);
//   release_cached_memory() hands them back to the system.
// - Matrix-product kernels. oneDNN's instruction set, and whether bf16 products run natively.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace lj {

class Runtime {
 public:
  // --- threads ---
  int num_threads() const;
  void set_num_threads(int n);  // n >= 1

  // --- thread speeds (for parallel splits) ---
  double thread_speed(int t) const;  // relative, 1 = the mean
  void reset_thread_speeds();

  // --- memory ---
  size_t cached_bytes() const;    // freed buffers kept for reuse
  size_t bytes_in_use() const;    // held by live tensors
  void release_cached_memory();

  // --- matrix-product kernels ---
  std::string gemm_isa() const;          // oneDNN's instruction set: "avx2", "avx512_core", ...
  bool has_bf16_instructions() const;    // AVX512_BF16 or AMX

  struct State;                          // the state itself (src/runtime/state.hpp)
  State& state() { return *state_; }

  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

 private:
  Runtime();
  ~Runtime();
  std::unique_ptr<State> state_;
  friend Runtime& runtime();
};

// The process's runtime, made on first use and never destroyed (tensors in static objects may
// outlive anything destroyed at exit).
Runtime& runtime();

// Shorthands for runtime().num_threads() and runtime().release_cached_memory().
int num_threads();
void release_cached_memory();

}  // namespace lj
