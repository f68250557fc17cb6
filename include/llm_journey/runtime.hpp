// The runtime environment: threads and the BLAS kernels in use.
#pragma once
#include <string>

namespace lj {

// Debian 12's OpenBLAS (0.3.21) does not recognise recent Intel CPUs and falls back to its Prescott
// (SSE3) kernels, 4-5x slower than its AVX-512 ones on the same CPU. OpenBLAS picks its kernels when
// it loads, from OPENBLAS_CORETYPE, so the choice must be made before the process starts:
// if OPENBLAS_CORETYPE is unset and OpenBLAS chose a generic core while the CPU supports AVX-512
// (SkylakeX kernels) or AVX2 (Haswell kernels), this re-executes the program with OPENBLAS_CORETYPE
// set; otherwise it returns. Call it first thing in main(). The CLI, tests and benchmarks do.
void use_fast_blas(int argc, char** argv);

// The OpenBLAS core in use ("SkylakeX", "Prescott", ...) and the number of threads.
std::string blas_core();
int num_threads();

}  // namespace lj
