// parallel_for: splits [0, n) into contiguous chunks over the OpenMP threads when the work is large
// enough to pay for waking them, and runs serially otherwise. oneDNN is the OpenMP build, so its
// threads are these same threads: no second pool spins against ours.
#pragma once
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lj {

// Below this many element-operations a loop runs on the calling thread. At this size a pass over
// memory (a residual add of 768 x 128 floats, a training step's) takes tens of microseconds, several
// times what the fork and join cost; the seed's tensors (20 x 256 at most) stay far below it.
constexpr int64_t kParallelGrain = 65536;

// --- Splits by measured speed ------------------------------------------------------------------
//
// On this kind of machine the two vCPUs do not run at one speed: for seconds at a time one runs a
// training step 1.7x slower than the other. Split evenly, every parallel region then waits for the
// slower thread. Instead each region's threads time their own share, and the next region is split
// in proportion to the speeds seen so far (a moving average). Every loop split this way computes each
// output element on one thread in the same order whatever the split, so results do not depend on it.
struct Balance {
  static constexpr int kMaxThreads = 64;  // threads beyond this many are not used
  // The share of [0, n) for each of nt threads, as nt + 1 boundaries, each a multiple of `align`
  // (except n). If a non-empty share would be under min_part items, the split is even instead.
  static void bounds(int64_t n, int nt, int64_t align, int64_t min_part, int64_t* b);
  // What the threads of a region split by bounds() took, in seconds: updates the speeds.
  static void record(int nt, const int64_t* b, const double* seconds);
  static double now();
  // The current relative speed of thread t (1 = the mean), for tests and notes.
  static double speed(int t);
  // Back to equal speeds (tests).
  static void reset();
};

#ifdef _OPENMP
// f(i0, i1) on each thread's part of [0, n), the parts from Balance::bounds(n, ..., align, min_part),
// each part timed and the times recorded. Call outside a parallel region.
template <typename F>
void balanced_for(int64_t n, int64_t align, int64_t min_part, F f) {
  const int nt = omp_get_max_threads() < Balance::kMaxThreads ? omp_get_max_threads() : Balance::kMaxThreads;
  int64_t b[Balance::kMaxThreads + 1];
  double seconds[Balance::kMaxThreads] = {};
  Balance::bounds(n, nt, align, min_part, b);
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    if (b[t] < b[t + 1]) {
      const double t0 = Balance::now();
      f(b[t], b[t + 1]);
      seconds[t] = Balance::now() - t0;
    }
  }
  Balance::record(nt, b, seconds);
}
#endif

template <typename F>
void parallel_for(int64_t n, int64_t work, F f) {
#ifdef _OPENMP
  if (work >= kParallelGrain && n > 1 && !omp_in_parallel() && omp_get_max_threads() > 1)
    return balanced_for(n, 1, 1, f);
#endif
  (void)work;
  if (n > 0) f(0, n);
}

}  // namespace lj
