// Matrix products: one reference kernel, the fast variants, and the dispatcher that picks one.
//
//   C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C        row-major, op(X) = X or X^T
//
// kernels::gemm (kernels.hpp) is the dispatcher: it runs the first variant, in the order below,
// whose predicate holds for the call. Each variant sits in a file of its own:
//   gemm_small.cpp    products under kSmallGemmMacs multiply-adds, in our own loops (a library call
//                     costs more than the arithmetic there: attention at the seed's shape multiplies
//                     10 x 10 x 8 per head)
//   gemm_onednn.cpp   everything else in float32, through oneDNN, which picks its kernels from the
//                     CPU's features at run time (AVX2, AVX-512, ...); bf16 products on CPUs with
//                     bf16 instructions
//   gemm_bf16.cpp     bf16 products on CPUs without them: panels widened to float32 (exactly), then
//                     the float32 dispatcher
// gemm_reference is the formula itself; tests/test_gemm_variants.cpp runs every variant against it
// inside its own range and checks which variant the dispatcher chose.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "llm_journey/dtype.hpp"

namespace lj::kernels {

template <typename TIn, typename TOut = TIn>
struct GemmArgs {
  bool trans_a, trans_b;
  int64_t M, N, K;
  TOut alpha;
  const TIn* A;
  int64_t lda;
  const TIn* B;
  int64_t ldb;
  TOut beta;
  TOut* C;
  int64_t ldc;
  double macs() const { return static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K); }
};

// The formula, one dot product per element of C, summed in k order. T: float, double, or bfloat16
// inputs with a float C.
template <typename TIn, typename TOut>
void gemm_reference(const GemmArgs<TIn, TOut>& g);

// A fast variant: the predicate that says when it runs, and the kernel.
template <typename TIn, typename TOut = TIn>
struct GemmVariant {
  const char* name;
  bool (*applies)(const GemmArgs<TIn, TOut>&);
  void (*run)(const GemmArgs<TIn, TOut>&);
};

// The variants in the order the dispatcher tries them (the last one applies to every call).
const std::vector<GemmVariant<float>>& gemm_variants_f32();
const std::vector<GemmVariant<double>>& gemm_variants_f64();
const std::vector<GemmVariant<bfloat16, float>>& gemm_variants_bf16();

// The name of the variant that served this thread's last product (tests).
const char* last_gemm_variant();

// The variants, for the dispatcher's tables.
bool small_gemm_applies_f32(const GemmArgs<float>& g);
void small_gemm_f32(const GemmArgs<float>& g);
bool small_gemm_applies_f64(const GemmArgs<double>& g);
void small_gemm_f64(const GemmArgs<double>& g);
bool onednn_gemm_applies_f32(const GemmArgs<float>& g);
void onednn_gemm_f32(const GemmArgs<float>& g);
bool onednn_gemm_applies_bf16(const GemmArgs<bfloat16, float>& g);
void onednn_gemm_bf16(const GemmArgs<bfloat16, float>& g);
bool widened_gemm_applies_bf16(const GemmArgs<bfloat16, float>& g);
void widened_gemm_bf16(const GemmArgs<bfloat16, float>& g);

// Whether this CPU multiplies bf16 natively (AVX512_BF16 or AMX), as oneDNN sees it.
bool cpu_has_bf16_instructions();
// oneDNN's name for the instruction set it runs on ("avx512_core", ...), for reports.
std::string onednn_isa();

}  // namespace lj::kernels
