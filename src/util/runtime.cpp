#include "llm_journey/runtime.hpp"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lj {

std::string blas_core() {
  const char* name = openblas_get_corename();
  return name ? name : "unknown";
}

int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// The fastest OpenBLAS 0.3.21 core type whose instructions this CPU has.
static const char* best_core_for_this_cpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

void use_fast_blas(int argc, char** argv) {
  (void)argc;
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("LJ_BLAS_REEXEC")) return;  // chosen already
  const std::string core = blas_core();
  const char* best = best_core_for_this_cpu();
  if (!best || (core != "Prescott" && core != "Core2" && core != "Nehalem" && core != "Atom")) return;
  setenv("OPENBLAS_CORETYPE", best, 1);
  setenv("LJ_BLAS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the slow kernels
}

}  // namespace lj
