// parallel_for: splits [0, n) into contiguous chunks over the OpenMP threads when the work is large
// enough to pay for waking them, and runs serially otherwise. OpenBLAS is the OpenMP build, so its
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

template <typename F>
void parallel_for(int64_t n, int64_t work, F f) {
#ifdef _OPENMP
  if (work >= kParallelGrain && n > 1 && !omp_in_parallel() && omp_get_max_threads() > 1) {
#pragma omp parallel
    {
      int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
      int64_t chunk = (n + nt - 1) / nt;
      int64_t i0 = t * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
      if (i0 < i1) f(i0, i1);
    }
    return;
  }
#endif
  (void)work;
  if (n > 0) f(0, n);
}

}  // namespace lj
