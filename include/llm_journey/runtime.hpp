// The runtime environment: threads and the BLAS kernels in use.
#pragma once
#include <string>

namespace lj {

// Call first thing in main(): init_runtime(argc, argv). The CLI, the tests and the benchmarks do.
// Two settings must be made before the process starts, because OpenBLAS and the OpenMP runtime read
// them when they load; if either is missing, the program re-executes itself once with them set:
//
// - OPENBLAS_CORETYPE. Debian 12's OpenBLAS (0.3.21) does not recognise recent Intel CPUs and falls
//   back to its Prescott (SSE3) kernels, 4-5x slower than its AVX-512 ones on the same CPU. If it
//   chose such a generic core and the CPU has AVX-512 (or AVX2), SkylakeX (or Haswell) is set.
// - GOMP_SPINCOUNT. An idle OpenMP thread spins for a while before it sleeps (300,000 turns by
//   default). On a busy machine — tests run in parallel, a build alongside — spinning threads take
//   the cores the working ones need, and a 4 ms layer takes 200 ms. Unless OMP_WAIT_POLICY or
//   GOMP_SPINCOUNT is set, a short spin (10,000 turns, a few microseconds) is set: long enough to
//   bridge the gaps between the kernels of one layer, short enough to yield a busy machine.
void init_runtime(int argc, char** argv);

// The OpenBLAS core in use ("SkylakeX", "Prescott", ...) and the number of threads.
std::string blas_core();
int num_threads();

// Tensor buffers that are freed are kept for reuse (up to the program's peak use, at least 256 MiB).
// This hands the kept ones back to the system.
void release_cached_memory();

}  // namespace lj
