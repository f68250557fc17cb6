// The plain kernels behind the ops: raw pointers, a shape comment on each, gradients accumulated with
// +=. Each is instantiated for float (the library) and double (the finite-difference tests).
#pragma once
#include <cstdint>

#include "llm_journey/dtype.hpp"

namespace lj::kernels {

// --- matrix products (row-major; the variants and their dispatcher: ops/gemm/gemm.hpp) ------------
// Products under this many multiply-adds run in our own loops (gemm_small.cpp), the rest in oneDNN.
constexpr double kSmallGemmMacs = 16384;
// C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C; beta 0 ignores what C held.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);
// The same with bf16 A and B, products summed in float32 into a float32 C.
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const bfloat16* A,
               int64_t lda, const bfloat16* B, int64_t ldb, float beta, float* C, int64_t ldc);

// --- autocast products (bf16 inputs, float32 sums; ops/gemm/gemm_autocast.cpp) --------------------
// The two ways to run them, chosen by autocast_path(): on CPUs with bf16 instructions, bf16 buffers
// and a bf16 GEMM (gemm_bf16 -> oneDNN); elsewhere, float32 buffers holding bf16-rounded values and
// the float32 GEMM. Both sum the same exact products in float32.
enum class AutocastPath { bf16_gemm, f32_gemm };
AutocastPath autocast_path();  // bf16_gemm where runtime().has_bf16_instructions()
// The element type of an autocast buffer on that path: Dtype::bf16 or Dtype::f32.
Dtype autocast_buffer_dtype(AutocastPath path);
// x (rows, cols), rows ld apart, rounded to bf16 (nearest, ties to even) into dst (rows, cols), dense,
// of the path's buffer type. `parallel`: split the rows over the threads (not from inside a
// parallel region).
void round_for_autocast(AutocastPath path, void* dst, const float* x, int64_t rows, int64_t cols, int64_t ld,
                        bool parallel = true);
// x rounded to bf16 and kept in float32: to_float(to_bfloat16(x)), n values (the f32_gemm path's buffers).
void round_to_bf16_values(float* y, const float* x, int64_t n);
// C (M,N) = op(A) op(B) + beta C over buffers of the path's type made by round_for_autocast; lda and
// ldb count elements of that type.
void gemm_autocast(AutocastPath path, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const void* A,
                   int64_t lda, const void* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Element i of an autocast buffer of the path's type, as a pointer (for sub-matrices).
inline const void* autocast_at(AutocastPath path, const void* p, int64_t i) {
  return path == AutocastPath::bf16_gemm ? static_cast<const void*>(static_cast<const bfloat16*>(p) + i)
                                         : static_cast<const void*>(static_cast<const float*>(p) + i);
}

// --- linear: y = x W^T + b ------------------------------------------------------------------------
// x (N,in)  w (out,in), or with ld_wt > 0 W^T (in,out) with rows ld_wt apart  b (out) or null  y (N,out)
// add_to_y: y += x W^T + b (y holds a residual), not y = x W^T + b.
template <typename T>
void linear_forward(T* y, const T* x, const T* w, const T* b, int64_t N, int64_t in, int64_t out,
                    int64_t ld_wt = 0, bool add_to_y = false);
// any of dx, dw, db may be null
template <typename T>
// acc_*: add into the gradient (+=) or write it (=).
void linear_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, int64_t N, int64_t in, int64_t out,
                     bool acc_dx = true, bool acc_dw = true, bool acc_db = true);

// --- activations (n values) -----------------------------------------------------------------------
template <typename T> void relu_forward(T* y, const T* x, int64_t n);
template <typename T> void relu_backward(T* dx, const T* dy, const T* x, int64_t n);
template <typename T> void gelu_forward(T* y, const T* x, int64_t n, bool tanh_approx);
template <typename T> void gelu_backward(T* dx, const T* dy, const T* x, int64_t n, bool tanh_approx);

// --- softmax over rows: x, y (N,C) ------------------------------------------------------------------
template <typename T> void softmax_forward(T* y, const T* x, int64_t N, int64_t C);
// One row of n values; a row of only -inf gives zeros and returns false.
template <typename T> bool softmax_row(T* y, const T* x, int64_t n);
template <typename T> void softmax_backward(T* dx, const T* dy, const T* y, int64_t N, int64_t C);
template <typename T> void log_softmax_forward(T* y, const T* x, int64_t N, int64_t C);
template <typename T> void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t N, int64_t C);

// --- layer norm over rows: x, y (N,C); weight, bias (C) or null; mean, rstd (N) saved for backward --
template <typename T>
void layer_norm_forward(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias, int64_t N, int64_t C,
                        T eps);
template <typename T>
void layer_norm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* weight, const T* mean,
                         const T* rstd, int64_t N, int64_t C, bool acc_dx = true, bool acc_dw = true,
                         bool acc_db = true);

// --- scaled dot-product attention -----------------------------------------------------------------
// q (B,H,T,dk), k (B,H,S,dk), v (B,H,S,dv), out (B,H,T,dv), each strided with a contiguous last
// dimension: element (b,h,t,:) starts at b*lay.b + h*lay.h + t*lay.t.
struct Layout {
  int64_t b, h, t;
};
struct AttentionDims {
  int64_t B, H, T, S, dk, dv;
};
// An optional 0/1 mask broadcast to (B,H,T,S) by its strides (0 along broadcast dimensions).
struct MaskView {
  const float* data = nullptr;
  int64_t b = 0, h = 0, t = 0, s = 0;
};
// The flash path's dropout: each (b, h, i, j) kept with probability 1 - p by a hash of (seed, its
// index), so the backward pass draws the same mask without storing it. p = 0: none.
struct FlashDropout {
  uint64_t seed = 0;
  double p = 0.0;
};
// weights (B,H,T,S) contiguous: the softmax, saved for backward.
// drop (B,H,T,S) or null: dropout multipliers (0 or 1/(1-p)) applied to the weights before @ V.
template <typename T>
void attention_forward(T* out, Layout lo, T* weights, const T* drop, const T* q, Layout lq, const T* k, Layout lk,
                       const T* v, Layout lv, MaskView mask, bool causal, int64_t causal_offset, AttentionDims d);
// These two run the materialized variants (src/ops/attention/): the first of heads-in-lanes,
// short-rows and gemm-rows that takes the shape. The op itself may choose flash (O(T) memory).
// dq, dk, dv may be null, each with its own layout. Accumulates.
template <typename T>
void attention_backward(T* dq, Layout ldq, T* dk, Layout ldk, T* dv, Layout ldv, const T* dout, Layout ldo, const T* weights, const T* drop, const T* q,
                        Layout lq, const T* k, Layout lk, const T* v, Layout lv, bool causal, int64_t causal_offset, AttentionDims d);

}  // namespace lj::kernels
