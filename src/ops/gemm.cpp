// Matrix products: OpenBLAS, except for tiny ones.
//
// Attention at small sizes multiplies many tiny matrices (10 x 10 x 8 per head at the seed's shape);
// there a BLAS call costs more in dispatch than the arithmetic, so products under kSmallMacs
// multiply-adds run in the loops below, ordered so the compiler vectorises the innermost one over
// contiguous memory. Everything larger goes to OpenBLAS.
#include <cblas.h>

#include <vector>

#include "ops/kernels.hpp"
#include "ops/parallel.hpp"

namespace lj::kernels {

constexpr double kSmallMacs = 16384;

// C = alpha op(A) op(B) + beta C for tiny sizes.
template <typename T>
static void small_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                       const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    T* c = C + i * ldc;
    if (beta == T(0)) {
      for (int64_t j = 0; j < N; j++) c[j] = 0;
    } else if (beta != T(1)) {
      for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
  }
  // C[i,:] += alpha A[i,k] B[k,:], the innermost loop over contiguous rows of B (and of C). A
  // transposed B is first copied into that layout: at these sizes it fits in a few cache lines.
  thread_local std::vector<T> bt;
  if (tb) {
    bt.resize(static_cast<size_t>(K * N));
    for (int64_t j = 0; j < N; j++)
      for (int64_t k = 0; k < K; k++) bt[static_cast<size_t>(k * N + j)] = B[j * ldb + k];
    B = bt.data();
    ldb = N;
  }
  for (int64_t i = 0; i < M; i++) {
    T* c = C + i * ldc;
    for (int64_t k = 0; k < K; k++) {
      const T a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
      const T* b = B + k * ldb;
      for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
    }
  }
}

// Below this many multiply-adds a product runs on the calling thread: waking a second thread costs
// more than it saves, and on a busy machine a sleeping one can stall the product for milliseconds.
constexpr double kGemmParallelMin = 4.0 * 1024 * 1024;

template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (static_cast<double>(M) * N * K < kSmallMacs) return small_gemm<float>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  // OpenBLAS (OpenMP build) takes its thread count from omp_get_max_threads() at each call.
  const bool serial = static_cast<double>(M) * N * K < kGemmParallelMin && !omp_in_parallel();
  const int threads = serial ? omp_get_max_threads() : 0;
  if (serial && threads > 1) omp_set_num_threads(1);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
  if (serial && threads > 1) omp_set_num_threads(threads);
}

template <>
void gemm<double>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                  const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (static_cast<double>(M) * N * K < kSmallMacs) return small_gemm<double>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

}  // namespace lj::kernels
