// Matrix products: OpenBLAS, except for tiny ones.
//
// Attention at small sizes multiplies many tiny matrices (10 x 10 x 8 per head at the seed's shape);
// there a BLAS call costs more in dispatch than the arithmetic, so products under kSmallGemmMacs
// multiply-adds run in the loops below, ordered so the compiler vectorises the innermost one over
// contiguous memory. Everything larger goes to OpenBLAS.
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "ops/kernels.hpp"
#include "ops/parallel.hpp"

namespace lj::kernels {

// C[i,:] += alpha op(A)[i,:] B for a compile-time width N: the row of C stays in registers across k
// (with a run-time N it would go through memory, one store-to-load round trip per k).
template <typename T, int N>
static void small_gemm_rows(bool ta, int64_t M, int64_t K, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
                            T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    T acc[N] = {};
    for (int64_t k = 0; k < K; k++) {
      const T a = ta ? A[k * lda + i] : A[i * lda + k];
      const T* b = B + k * ldb;
#pragma omp simd
      for (int j = 0; j < N; j++) acc[j] += a * b[j];
    }
    T* c = C + i * ldc;
#pragma omp simd
    for (int j = 0; j < N; j++) c[j] += alpha * acc[j];
  }
}

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
  if (tb && !ta) {  // C[i,j] += alpha <A[i,:], B[j,:]>: four dot products at a time, independent chains
    for (int64_t i = 0; i < M; i++) {
      const T* a = A + i * lda;
      T* c = C + i * ldc;
      int64_t j = 0;
      for (; j + 4 <= N; j += 4) {
        const T *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int64_t k = 0; k < K; k++) {
          s0 += a[k] * b0[k];
          s1 += a[k] * b1[k];
          s2 += a[k] * b2[k];
          s3 += a[k] * b3[k];
        }
        c[j] += alpha * s0;
        c[j + 1] += alpha * s1;
        c[j + 2] += alpha * s2;
        c[j + 3] += alpha * s3;
      }
      for (; j < N; j++) {
        const T* bj = B + j * ldb;
        T s0 = 0;
        for (int64_t k = 0; k < K; k++) s0 += a[k] * bj[k];
        c[j] += alpha * s0;
      }
    }
    return;
  }
  if (!tb) {
    switch (N) {  // the widths of attention heads at small sizes
      case 8: return small_gemm_rows<T, 8>(ta, M, K, alpha, A, lda, B, ldb, C, ldc);
      case 16: return small_gemm_rows<T, 16>(ta, M, K, alpha, A, lda, B, ldb, C, ldc);
      case 32: return small_gemm_rows<T, 32>(ta, M, K, alpha, A, lda, B, ldb, C, ldc);
      case 64: return small_gemm_rows<T, 64>(ta, M, K, alpha, A, lda, B, ldb, C, ldc);
      default: break;
    }
  }
  // C[i,:] += alpha A[i,k] B[k,:], the innermost loop over contiguous rows of B and C.
  for (int64_t i = 0; i < M; i++) {
    T* c = C + i * ldc;
    for (int64_t k = 0; k < K; k++) {
      const T a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
      if (tb) {
        for (int64_t j = 0; j < N; j++) c[j] += a * B[j * ldb + k];
      } else {
        const T* b = B + k * ldb;
        for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
      }
    }
  }
}

// Below this many multiply-adds a product runs on the calling thread: waking a second thread costs
// more than it saves, and on a busy machine a sleeping one can stall the product for milliseconds.
constexpr double kGemmParallelMin = 4.0 * 1024 * 1024;
// Up to this many, a threaded product is split into one serial OpenBLAS call per thread (below);
// above it OpenBLAS's own threading, which shares one packed copy of B, is as fast or faster.
constexpr double kGemmSplitMax = 128.0 * 1024 * 1024;
// The smallest block of a split product, in multiply-adds (see gemm<float>).
constexpr double kGemmBlockMin = 2.0 * 1024 * 1024;

// One cblas_sgemm call; OpenBLAS threads it as omp_get_max_threads() says (serially inside a
// parallel region).
static void openblas_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                         const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const double macs = static_cast<double>(M) * N * K;
  if (macs < kSmallGemmMacs) return small_gemm<float>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  // Inside a parallel region (one head of batched attention per thread) OpenBLAS runs serially.
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (macs < kGemmParallelMin || threads == 1) {
    // OpenBLAS (OpenMP build) takes its thread count from omp_get_max_threads() at each call; below
    // 256K multiply-adds it stays serial by itself.
    const bool hold_to_one = threads > 1 && macs >= 262144;
    if (hold_to_one) omp_set_num_threads(1);
    openblas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (hold_to_one) omp_set_num_threads(threads);
    return;
  }
  if (macs > kGemmSplitMax) return openblas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  // Medium products: one serial OpenBLAS call per thread on a block of rows of C (or of columns, when
  // C has few rows). At the training sizes of a small GPT (768 x 128 x 384, say) this is 1.3-1.6x
  // faster than OpenBLAS's own threading, which synchronises its threads inside the product.
  // Blocks are multiples of 16 rows, OpenBLAS's register tile.
  // The blocks follow the threads' measured speeds (Balance, parallel.hpp). Each element of C is the
  // same sum in the same order whatever the split, as long as every block takes OpenBLAS's regular
  // path: its small-matrix kernel (up to 1M multiply-adds on SkylakeX) orders the sum differently,
  // so no block is made smaller than kGemmBlockMin.
  const bool by_rows = M >= 64 * threads || M >= N;
  const int64_t extent = by_rows ? M : N;
  const double per_item = static_cast<double>(by_rows ? N : M) * static_cast<double>(K);
  balanced_for(extent, 16, static_cast<int64_t>(std::ceil(kGemmBlockMin / per_item)), [&](int64_t i0, int64_t i1) {
    if (by_rows)
      openblas_sgemm(ta, tb, i1 - i0, N, K, alpha, ta ? A + i0 : A + i0 * lda, lda, B, ldb, beta, C + i0 * ldc, ldc);
    else
      openblas_sgemm(ta, tb, M, i1 - i0, K, alpha, A, lda, tb ? B + i0 * ldb : B + i0, ldb, beta, C + i0, ldc);
  });
}

template <>
void gemm<double>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
                  const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (static_cast<double>(M) * N * K < kSmallGemmMacs) return small_gemm<double>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta,
              C, static_cast<int>(ldc));
}

}  // namespace lj::kernels
