// The ops' autocast paths (llm_journey/autocast.hpp): what linear, matmul and attention run when the
// calling thread's autocast_dtype() is bf16. Each rounds its product inputs to bf16 and sums in
// float32 (kernels::gemm_autocast); its output, and every gradient it hands back, is float32. The
// backward products round the incoming gradient to bf16 too, as torch's autocast graph does (its
// backward multiplies bf16 tensors). Whether a call is autocast is decided at its forward: the
// backward pass follows, whatever scope it runs in.
#pragma once
#include "llm_journey/autocast.hpp"
#include "llm_journey/ops.hpp"
#include "ops/attention/attention.hpp"
#include "ops/kernels.hpp"

namespace lj {

// Whether this thread's products run in bf16 now.
inline bool autocast_bf16() { return autocast_dtype() == Dtype::bf16; }

// x's values rounded to bf16, as a dense tensor of x's shape in the path's buffer type (bf16 or f32).
Tensor rounded_for_autocast(const Tensor& x, kernels::AutocastPath path);
// The elements of an autocast buffer, whichever its type.
const void* autocast_data(const Tensor& t);
void* autocast_mutable_data(const Tensor& t);

// linear / linear_add (residual defined) under autocast; x, w, b contiguous and checked.
Tensor linear_autocast(const Tensor& x, const Tensor& w, const Tensor& b, LinearWeightCache* cache,
                       const Tensor& residual, const char* op);
// matmul of two float32 tensors under autocast; shapes checked.
Tensor matmul_autocast(const Tensor& a, const Tensor& b, int64_t M, int64_t N, int64_t K);

// Attention under autocast: Q K^T and (P * drop) V with bf16 inputs and float32 sums, the scaling,
// mask and softmax in float32; it keeps the weights P (B,H,T,S) and the rounded Q, K, V for the
// backward pass (which rounds P * drop again, head by head, rather than keep a second (B,H,T,S)).
// a.drop: torch's dropout multipliers (B,H,T,S) or null; a.weights unused.
struct AutocastAttentionSaved {
  kernels::AutocastPath path;
  Tensor qr, kr, vr;  // (B,H,T,dk), (B,H,S,dk), (B,H,S,dv), rounded, dense
  Tensor weights;     // P (B,H,T,S), float32, before dropout
};
AutocastAttentionSaved attention_forward_autocast(const kernels::AttentionArgs<float>& a);
// Adds dQ, dK, dV (each may be null) for the forward that left s; a.mask must be the forward's.
void attention_backward_autocast(const kernels::AttentionArgs<float>& a, const AutocastAttentionSaved& s,
                                 const kernels::AttentionGrads<float>& g);

}  // namespace lj
