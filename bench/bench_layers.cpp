// The layer benchmarks (Google Benchmark). bench/compare.py runs the same cases in PyTorch and prints
// the side-by-side table; each case reports its FLOP count so the table can give GFLOP/s.
#include <benchmark/benchmark.h>
#include "ops/kernels.hpp"

#include <llm_journey/llm_journey.hpp>
#include <llm_journey/runtime.hpp>

namespace {

using namespace lj;

struct Case {
  int64_t B, T, D, H, F;
  bool causal, norm_first, gelu;
};
const Case kSeed{2, 10, 64, 8, 256, false, false, false};
const Case kLarge{8, 256, 384, 6, 1536, true, true, true};

// Matrix-product FLOPs of one forward pass (2 per multiply-add); backward is about twice that.
double attention_flops(const Case& c) {
  const double N = c.B * c.T, pairs = c.causal ? c.T * (c.T + 1) / 2.0 : double(c.T) * c.T;
  return 4 * 2 * N * c.D * c.D + 2 * 2 * c.B * pairs * c.D;
}
double block_flops(const Case& c) { return attention_flops(c) + 2 * 2 * double(c.B) * c.T * c.D * c.F; }

nn::BlockOptions options(const Case& c) {
  return {.norm_first = c.norm_first, .causal = c.causal,
          .activation = c.gelu ? nn::Activation::gelu : nn::Activation::relu};
}

void BM_MHAForward(benchmark::State& state, Case c) {
  set_seed(0);
  nn::MultiHeadAttention mha(c.D, c.H, 0.0, c.causal);
  mha.eval();
  Tensor x = randn({c.B, c.T, c.D});
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(mha(x, x, x).data());
  state.counters["flops"] = attention_flops(c);
}

void BM_BlockForward(benchmark::State& state, Case c) {
  set_seed(0);
  nn::TransformerBlock block(c.D, c.H, c.F, 0.0, options(c));
  block.eval();
  Tensor x = randn({c.B, c.T, c.D});
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(block(x).data());
  state.counters["flops"] = block_flops(c);
}

void BM_BlockForwardBackward(benchmark::State& state, Case c) {
  set_seed(0);
  nn::TransformerBlock block(c.D, c.H, c.F, 0.0, options(c));
  Tensor x = randn({c.B, c.T, c.D}).requires_grad_();
  Tensor dy = randn({c.B, c.T, c.D});
  for (auto _ : state) {
    block.zero_grad();
    x.zero_grad();
    block(x).backward(dy);
  }
  state.counters["flops"] = 3 * block_flops(c);
}

// A large single-precision product through the library's own dispatcher (oneDNN).
void BM_PeakSGEMM(benchmark::State& state) {
  const int n = 2048;
  std::vector<float> a(n * n, 1.0f), b(n * n, 0.5f), c(n * n);
  for (auto _ : state)
    lj::kernels::gemm<float>(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  state.counters["flops"] = 2.0 * n * n * n;
}

BENCHMARK_CAPTURE(BM_MHAForward, seed, kSeed)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_BlockForward, seed, kSeed)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_BlockForwardBackward, seed, kSeed)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_MHAForward, large, kLarge)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BlockForward, large, kLarge)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BlockForwardBackward, large, kLarge)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PeakSGEMM)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("gemm_isa", lj::runtime().gemm_isa());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
