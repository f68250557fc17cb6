// The reference product and the dispatcher (see gemm.hpp for the variants).
#include "ops/gemm/gemm.hpp"

#include "llm_journey/error.hpp"
#include "ops/kernels.hpp"

namespace lj::kernels {

// C[i,j] = alpha * sum_k op(A)[i,k] op(B)[k,j] + beta * C[i,j]
template <typename TIn, typename TOut>
void gemm_reference(const GemmArgs<TIn, TOut>& g) {
  for (int64_t i = 0; i < g.M; i++)
    for (int64_t j = 0; j < g.N; j++) {
      TOut sum = 0;
      for (int64_t k = 0; k < g.K; k++) {
        const TIn a = g.trans_a ? g.A[k * g.lda + i] : g.A[i * g.lda + k];
        const TIn b = g.trans_b ? g.B[j * g.ldb + k] : g.B[k * g.ldb + j];
        if constexpr (std::is_same_v<TIn, bfloat16>) sum += to_float(a) * to_float(b);
        else sum += a * b;
      }
      TOut& c = g.C[i * g.ldc + j];
      c = g.beta == TOut(0) ? g.alpha * sum : g.alpha * sum + g.beta * c;  // beta 0 ignores C, as BLAS
    }
}
template void gemm_reference<float, float>(const GemmArgs<float>&);
template void gemm_reference<double, double>(const GemmArgs<double>&);
template void gemm_reference<bfloat16, float>(const GemmArgs<bfloat16, float>&);

const std::vector<GemmVariant<float>>& gemm_variants_f32() {
  static const std::vector<GemmVariant<float>> v{{"small", small_gemm_applies_f32, small_gemm_f32},
                                                 {"onednn", onednn_gemm_applies_f32, onednn_gemm_f32}};
  return v;
}

const std::vector<GemmVariant<double>>& gemm_variants_f64() {
  // double serves the finite-difference tests only, at small sizes: the reference is enough there.
  static const std::vector<GemmVariant<double>> v{
      {"small", small_gemm_applies_f64, small_gemm_f64},
      {"reference", [](const GemmArgs<double>&) { return true; }, gemm_reference<double, double>}};
  return v;
}

const std::vector<GemmVariant<bfloat16, float>>& gemm_variants_bf16() {
  static const std::vector<GemmVariant<bfloat16, float>> v{
      {"onednn_bf16", onednn_gemm_applies_bf16, onednn_gemm_bf16},
      {"widened_f32", widened_gemm_applies_bf16, widened_gemm_bf16}};
  return v;
}

static thread_local const char* g_last_variant = "";
const char* last_gemm_variant() { return g_last_variant; }

template <typename TIn, typename TOut>
static void dispatch(const std::vector<GemmVariant<TIn, TOut>>& variants, const GemmArgs<TIn, TOut>& g) {
  if (g.M == 0 || g.N == 0) return;
  for (const auto& v : variants)
    if (v.applies(g)) {
      v.run(g);  // which may call the dispatcher again (widened_f32): the outer variant is recorded
      g_last_variant = v.name;
      return;
    }
  throw Error("gemm: no variant applies");  // the last variant of each table applies to every call
}

template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  dispatch(gemm_variants_f32(), GemmArgs<float>{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc});
}

template <>
void gemm<double>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                  const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  dispatch(gemm_variants_f64(), GemmArgs<double>{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc});
}

void gemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const bfloat16* A, int64_t lda,
               const bfloat16* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  dispatch(gemm_variants_bf16(), GemmArgs<bfloat16, float>{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc});
}

}  // namespace lj::kernels
