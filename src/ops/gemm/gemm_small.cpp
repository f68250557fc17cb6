// Small products in our own loops (the "small" variant of gemm.hpp).
//
// Attention at small sizes multiplies many tiny matrices (10 x 10 x 8 per head at the seed's shape);
// there a library call costs more in dispatch than the arithmetic, so products under kSmallGemmMacs
// multiply-adds run in the loops below, ordered so the compiler vectorises the innermost one over
// contiguous memory.
#include "ops/gemm/gemm.hpp"
#include "ops/kernels.hpp"

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

template <typename T>
static bool applies(const GemmArgs<T>& g) {
  return g.macs() < kSmallGemmMacs;
}

bool small_gemm_applies_f32(const GemmArgs<float>& g) { return applies(g); }
bool small_gemm_applies_f64(const GemmArgs<double>& g) { return applies(g); }
void small_gemm_f32(const GemmArgs<float>& g) {
  small_gemm<float>(g.trans_a, g.trans_b, g.M, g.N, g.K, g.alpha, g.A, g.lda, g.B, g.ldb, g.beta, g.C, g.ldc);
}
void small_gemm_f64(const GemmArgs<double>& g) {
  small_gemm<double>(g.trans_a, g.trans_b, g.M, g.N, g.K, g.alpha, g.A, g.lda, g.B, g.ldb, g.beta, g.C, g.ldc);
}

}  // namespace lj::kernels
