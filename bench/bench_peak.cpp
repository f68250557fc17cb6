// The machine's own peaks, and the library's matrix products against them.
//
// Peaks, measured rather than assumed (CPUs differ: on some, 512-bit FMA runs at the 256-bit rate):
//   fp32 FMA, 256-bit and 512-bit registers: 12 independent chains of fused multiply-adds per thread,
//     enough to cover the FMA latency on two FMA units;
//   bf16 dot product (vdpbf16ps, AVX512_BF16): the same, where the CPU has it; 2 multiply-adds of bf16
//     pairs per fp32 lane per instruction.
// Then kernels::gemm (fp32) and kernels::gemm_bf16 at the products of a training step (768 x 128 x 384,
// 768 x 512 x 128) and a large one (2048 x 768 x 2304), in GFLOP/s and % of the peak of their kind.
// Every thread runs the kernel at once, as the library's products do (OMP_NUM_THREADS threads).
//
// Usage: bench_peak [--json]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "llm_journey/runtime.hpp"
#include "ops/gemm/gemm.hpp"
#include "ops/kernels.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

constexpr int kChains = 12;
volatile double g_sink;
constexpr long kIters = 20'000'000;

__attribute__((target("avx2,fma"))) double fma256(long iters) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm256_set1_ps(static_cast<float>(c));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iters; i++)
    for (int c = 0; c < kChains; c++) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  float s = 0, out[8];
  for (int c = 0; c < kChains; c++) {
    _mm256_storeu_ps(out, acc[c]);
    s += out[0];
  }
  return s;
}

__attribute__((target("avx512f"))) double fma512(long iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm512_set1_ps(static_cast<float>(c));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iters; i++)
    for (int c = 0; c < kChains; c++) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  float s = 0;
  for (int c = 0; c < kChains; c++) s += _mm512_reduce_add_ps(acc[c]);
  return s;
}

__attribute__((target("avx512f,avx512bf16"))) double dpbf16(long iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm512_set1_ps(static_cast<float>(c));
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380);
  for (long i = 0; i < iters; i++)
    for (int c = 0; c < kChains; c++) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  float s = 0;
  for (int c = 0; c < kChains; c++) s += _mm512_reduce_add_ps(acc[c]);
  return s;
}

// GFLOP/s of `kernel` run by every thread at once; flops_per_iter counts one multiply-add as 2.
double peak(double (*kernel)(long), double flops_per_iter) {
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double sink = 0;
    int threads = 1;
    const double t0 = now();
#pragma omp parallel reduction(+ : sink)
    {
#ifdef _OPENMP
#pragma omp single
      threads = omp_get_num_threads();
#endif
      sink += kernel(kIters / 10);
    }
    const double t = now() - t0;
    g_sink = sink;  // the sums are used, so the chains are computed
    best = std::max(best, threads * (kIters / 10) * flops_per_iter / t / 1e9);
  }
  return best;
}

struct Shape {
  int64_t M, K, N;
};

// GFLOP/s of C (M,N) = A (M,K) B (K,N), best of several calls.
template <typename T>
double gemm_rate(const Shape& s) {
  std::vector<T> a(static_cast<size_t>(s.M * s.K)), b(static_cast<size_t>(s.K * s.N));
  for (size_t i = 0; i < a.size(); i++) a[i] = T{};
  std::vector<float> c(static_cast<size_t>(s.M * s.N));
  auto call = [&] {
    if constexpr (std::is_same_v<T, float>)
      lj::kernels::gemm<float>(false, false, s.M, s.N, s.K, 1.0f, a.data(), s.K, b.data(), s.N, 0.0f, c.data(), s.N);
    else
      lj::kernels::gemm_bf16(false, false, s.M, s.N, s.K, 1.0f, a.data(), s.K, b.data(), s.N, 0.0f, c.data(), s.N);
  };
  call();
  const double flops = 2.0 * static_cast<double>(s.M) * s.N * s.K;
  const int reps = flops > 1e9 ? 5 : 50;
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    const double t0 = now();
    call();
    best = std::min(best, now() - t0);
  }
  return flops / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const bool json = argc > 1 && std::string(argv[1]) == "--json";
  __builtin_cpu_init();
  const bool has512 = __builtin_cpu_supports("avx512f");
  const bool hasbf16 = __builtin_cpu_supports("avx512bf16");
  const double p256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? peak(fma256, kChains * 8 * 2) : 0;
  const double p512 = has512 ? peak(fma512, kChains * 16 * 2) : 0;
  const double pbf16 = hasbf16 ? peak(dpbf16, kChains * 32 * 2) : 0;
  const double fp32_peak = std::max(p256, p512);
  const std::vector<Shape> shapes = {{768, 128, 384}, {768, 512, 128}, {2048, 768, 2304}};
  std::vector<double> f32, b16;
  for (const Shape& s : shapes) {
    f32.push_back(gemm_rate<float>(s));
    b16.push_back(gemm_rate<lj::bfloat16>(s));
  }
  const int threads = lj::runtime().num_threads();
  if (json) {
    std::printf("{\"threads\": %d, \"isa\": \"%s\", \"fma256\": %.1f, \"fma512\": %.1f, \"dpbf16\": %.1f, \"gemm\": [",
                threads, lj::runtime().gemm_isa().c_str(), p256, p512, pbf16);
    for (size_t i = 0; i < shapes.size(); i++)
      std::printf("%s{\"M\": %lld, \"K\": %lld, \"N\": %lld, \"f32\": %.1f, \"bf16\": %.1f}", i ? ", " : "",
                  static_cast<long long>(shapes[i].M), static_cast<long long>(shapes[i].K),
                  static_cast<long long>(shapes[i].N), f32[i], b16[i]);
    std::printf("]}\n");
    return 0;
  }
  std::printf("threads: %d; oneDNN instruction set: %s\n", threads, lj::runtime().gemm_isa().c_str());
  std::printf("peak fp32 FMA, 256-bit registers: %7.1f GFLOP/s\n", p256);
  if (has512) std::printf("peak fp32 FMA, 512-bit registers: %7.1f GFLOP/s\n", p512);
  else std::printf("peak fp32 FMA, 512-bit registers: (no AVX-512)\n");
  if (hasbf16) std::printf("peak bf16 dot product (vdpbf16ps): %6.1f GFLOP/s\n", pbf16);
  else std::printf("peak bf16 dot product: (no AVX512_BF16 on this CPU: bf16 products run widened to fp32)\n");
  std::printf("\n%-18s %10s %9s %10s %9s\n", "product M x K x N", "fp32 GF/s", "% fp32", "bf16 GF/s",
              hasbf16 ? "% bf16" : "% fp32");
  for (size_t i = 0; i < shapes.size(); i++) {
    char name[32];
    std::snprintf(name, sizeof name, "%lldx%lldx%lld", static_cast<long long>(shapes[i].M),
                  static_cast<long long>(shapes[i].K), static_cast<long long>(shapes[i].N));
    std::printf("%-18s %10.1f %8.0f%% %10.1f %8.0f%%\n", name, f32[i], 100 * f32[i] / fp32_peak, b16[i],
                100 * b16[i] / (hasbf16 ? pbf16 : fp32_peak));
  }
}
