// Products through oneDNN (the "onednn" and "onednn_bf16" variants of gemm.hpp).
//
// oneDNN picks its kernels from the CPU's features when it loads: AVX2, AVX-512, AVX512_BF16, AMX.
// Debian builds it with OpenMP, so its threads are ours. Each element of C is summed the same way
// whatever the number of threads (tests/test_reproducible.cpp checks a training run's bits on 1 and
// 2 threads).
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <mutex>
#include <tuple>

#include "llm_journey/error.hpp"
#include "ops/gemm/gemm.hpp"
#include "ops/kernels.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace lj::kernels {

// Below this many multiply-adds a product runs on the calling thread: waking a second thread costs
// more than it saves, and on a busy machine a sleeping one can stall the product for milliseconds.
constexpr double kGemmParallelMin = 4.0 * 1024 * 1024;

static void check(dnnl_status_t status, const char* what) {
  LJ_CHECK(status == dnnl_success, "gemm: oneDNN's ", what, " failed with status ", static_cast<int>(status));
}

// Runs f with OpenMP's thread count held to one when the product is too small to share, and restores
// it (oneDNN takes its thread count from omp_get_max_threads() at each call; inside a parallel
// region it runs on the calling thread by itself).
template <typename F>
static void with_threads_for(double macs, F f) {
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  if (threads > 1 && macs < kGemmParallelMin && !omp_in_parallel()) {
    omp_set_num_threads(1);
    f();
    omp_set_num_threads(threads);
    return;
  }
#else
  (void)macs;
#endif
  f();
}

bool onednn_gemm_applies_f32(const GemmArgs<float>&) { return true; }

void onednn_gemm_f32(const GemmArgs<float>& g) {
  with_threads_for(g.macs(), [&] {
    check(dnnl_sgemm(g.trans_a ? 'T' : 'N', g.trans_b ? 'T' : 'N', g.M, g.N, g.K, g.alpha, g.A, g.lda, g.B, g.ldb,
                     g.beta, g.C, g.ldc),
          "sgemm");
  });
}

std::string onednn_isa() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

bool cpu_has_bf16_instructions() {
  static const bool has = (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
  return has;
}

// --- bf16 x bf16 -> f32, on CPUs with bf16 instructions ------------------------------------------
//
// oneDNN's BLAS-like interface has no bf16 product, so this one goes through its matmul primitive.
// A primitive is compiled for one shape (tens of microseconds to milliseconds), so primitives are kept
// by shape: a training run multiplies the same few shapes at every step.

namespace {

using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float, float, int>;

struct PrimitiveCache {
  std::mutex mu;
  std::map<Key, dnnl::matmul> primitives;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
};

PrimitiveCache& bf16_cache() {
  static PrimitiveCache cache;
  return cache;
}

// A (M,K) or its transpose, as strides over the same memory.
dnnl::memory::desc matrix(int64_t rows, int64_t cols, int64_t ld, bool transposed, dnnl::memory::data_type dt) {
  return dnnl::memory::desc({rows, cols}, dt, transposed ? dnnl::memory::dims{1, ld} : dnnl::memory::dims{ld, 1});
}

}  // namespace

bool onednn_gemm_applies_bf16(const GemmArgs<bfloat16, float>&) { return cpu_has_bf16_instructions(); }

void onednn_gemm_bf16(const GemmArgs<bfloat16, float>& g) {
  using dt = dnnl::memory::data_type;
  const auto a = matrix(g.M, g.K, g.lda, g.trans_a, dt::bf16);
  const auto b = matrix(g.K, g.N, g.ldb, g.trans_b, dt::bf16);
  const auto c = matrix(g.M, g.N, g.ldc, false, dt::f32);
  PrimitiveCache& cache = bf16_cache();
#ifdef _OPENMP
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  const int threads = 1;
#endif
  const Key key{g.trans_a, g.trans_b, g.M, g.N, g.K, g.lda, g.ldb, g.ldc, g.alpha, g.beta, threads};
  dnnl::matmul prim;
  {
    std::lock_guard<std::mutex> lock(cache.mu);
    auto it = cache.primitives.find(key);
    if (it == cache.primitives.end()) {
      dnnl::primitive_attr attr;
      if (g.alpha != 1.0f) attr.set_output_scales(0, {g.alpha});
      if (g.beta != 0.0f) {
        dnnl::post_ops ops;
        ops.append_sum(g.beta);
        attr.set_post_ops(ops);
      }
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, cache.engine);
      it = cache.primitives.emplace(key, dnnl::matmul(pd)).first;
    }
    prim = it->second;
  }
  dnnl::stream stream(cache.engine);
  dnnl::memory A(a, cache.engine, const_cast<bfloat16*>(g.A)), B(b, cache.engine, const_cast<bfloat16*>(g.B)),
      C(c, cache.engine, g.C);
  prim.execute(stream, {{DNNL_ARG_SRC, A}, {DNNL_ARG_WEIGHTS, B}, {DNNL_ARG_DST, C}});
  stream.wait();
}

}  // namespace lj::kernels
