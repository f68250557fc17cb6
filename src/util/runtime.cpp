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

void init_runtime(int argc, char** argv) {
  (void)argc;
  if (std::getenv("LJ_RUNTIME_REEXEC")) return;  // this is the re-executed process
  bool reexec = false;
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    const std::string core = blas_core();
    const char* best = best_core_for_this_cpu();
    if (best && (core == "Prescott" || core == "Core2" || core == "Nehalem" || core == "Atom")) {
      setenv("OPENBLAS_CORETYPE", best, 1);
      reexec = true;
    }
  }
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
    setenv("GOMP_SPINCOUNT", "10000", 1);
    reexec = true;
  }
  if (!reexec) return;
  setenv("LJ_RUNTIME_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on as we are
}

}  // namespace lj
