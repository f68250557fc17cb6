// The differentiable operations, as free functions (torch.nn.functional style).
// Every op works on float32 tensors, records a backward Node when a gradient is needed, and checks
// its arguments with messages that name the values given.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "llm_journey/random.hpp"
#include "llm_journey/tensor.hpp"

namespace lj {

// --- element-wise, with NumPy/PyTorch broadcasting ------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& a, float s);
Tensor mul_scalar(const Tensor& a, float s);
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor pow(const Tensor& a, float exponent);
Tensor sigmoid(const Tensor& a);
Tensor relu(const Tensor& a);
// GELU; exact (erf) by default as torch.nn.GELU(), or the tanh approximation.
Tensor gelu(const Tensor& a, bool tanh_approximation = false);
// The shape two tensors broadcast to; throws naming both shapes if they do not.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// --- reductions -------------------------------------------------------------------------------
Tensor sum(const Tensor& a);
Tensor sum(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor var(const Tensor& a, bool unbiased = true);
Tensor std(const Tensor& a, bool unbiased = true);

// --- linear algebra ----------------------------------------------------------------------------
// (..., M, K) @ (K, N), or batched (..., M, K) @ (..., K, N) with equal batch dimensions. Two bf16
// operands give a float32 result, the products summed in float32 (no gradient).
Tensor matmul(const Tensor& a, const Tensor& b);
// The transpose of a weight, kept between calls for products with few rows (nn::Linear has one).
// With up to 64 rows of x, x W^T runs faster as x (W^T): the product reads both operands in place
// instead of repacking W on every call (oneDNN, 20 x 64 -> 64: 2.2 us against 3.0). At each call the copy is checked against the weight
// and rebuilt whenever the weight changed, however it was changed:
//   - while the weight's writes are tracked (a module's weight that no caller has taken a mutable
//     pointer to, see Storage), an unchanged storage version says it is unchanged;
//   - otherwise its bytes are compared with those the copy was made from.
// Copying a cache gives an empty one. Safe to share between threads.
class LinearWeightCache {
 public:
  struct Packed;
  struct Stats {
    int64_t unchanged_by_version = 0, unchanged_by_compare = 0, rebuilt = 0;
    int64_t rounded_reused = 0, rounded_rebuilt = 0;  // rounded_bf16's calls
  };
  LinearWeightCache();
  ~LinearWeightCache();
  LinearWeightCache(const LinearWeightCache&);
  LinearWeightCache& operator=(const LinearWeightCache&);
  // W^T (in, out) of the weight (out, in), contiguous, as it is now.
  std::shared_ptr<const Packed> transposed(const Tensor& weight);
  // The weight rounded to bf16 for products under autocast (llm_journey/autocast.hpp), in the buffer
  // type of the CPU's autocast path (bf16, or float32 holding bf16 values where the CPU has no bf16
  // instructions). Made again only when the weight changed: while its writes are tracked, once per
  // optimizer step; untracked, at every call.
  Tensor rounded_bf16(const Tensor& weight);
  Stats stats() const;  // how the calls so far were served

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// y = x W^T + b; x (..., in), weight (out, in), bias (out) or undefined. `cache`, if given, keeps
// W^T for calls with few rows (see LinearWeightCache).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              LinearWeightCache* cache = nullptr);
// residual + linear(x, weight, bias), with the product added straight onto a copy of the residual
// (torch.addmm with beta = 1): no separate output to add, and one tensor fewer each way. residual
// has the output's shape. A transformer block's residual connection.
Tensor linear_add(const Tensor& residual, const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                  LinearWeightCache* cache = nullptr);

// --- normalisation and probabilities ------------------------------------------------------------
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
// Normalises over the last dimension; weight and bias (C) may be undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);
// Inverted dropout: in training, zeroes each value with probability p and scales the rest by
// 1/(1-p), drawing the mask as torch does (bernoulli(1-p)); the identity otherwise.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

// --- attention ---------------------------------------------------------------------------------
struct AttentionResult {
  Tensor output;   // (B, H, T, d_v)
  Tensor weights;  // (B, H, T, S): softmax(QK^T/sqrt(d_k)) before dropout, rows of masked keys 0;
                   // undefined when the kernel kept none and they were not asked for (see below)
};
// softmax(Q K^T / sqrt(d_k)) V over q (B,H,T,d_k), k (B,H,S,d_k), v (B,H,S,d_v).
//   mask:   optional, broadcastable to (B,H,T,S); non-zero (true) means "may attend", zero blocks.
//   causal: query i may attend keys j <= i + causal_offset (use causal_offset = S - T when the
//           queries are the last T of S positions, as in generation with a KV cache).
// A query with no key allowed gets all-zero weights and a zero output, never NaN.
//
// The kernel is chosen by the shapes alone. Up to T x S = 256 x 256 scores per head, a kernel that
// keeps the weights for its backward pass runs, and they come back in `weights` at no extra cost;
// its dropout draws torch's masks (bernoulli over (B,H,T,S) in order), so a seeded run matches
// PyTorch's. Beyond that, flash attention runs: O(T) memory, the weights never stored, `weights`
// undefined, and its dropout masks drawn by a hash inside the tiles (same keep probability and
// scaling as torch, not torch's masks).
AttentionResult scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& mask = Tensor(), bool causal = false,
                                             double dropout_p = 0.0, bool training = false,
                                             int64_t causal_offset = 0,
                                             Generator& gen = default_generator());
// The same, and `weights` always defined: on the flash path they are computed after the output
// (which they never change) from each row's log-sum-exp, B x H x T x S floats more (at T = S = 4096
// and 8 heads, 512 MB). For looking at them, not for training.
AttentionResult scaled_dot_product_attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                                          const Tensor& mask = Tensor(), bool causal = false,
                                                          double dropout_p = 0.0, bool training = false,
                                                          int64_t causal_offset = 0,
                                                          Generator& gen = default_generator());

// The same over packed projections, qkv (B, T, 3, H, d) = [Q | K | V] (a fused c_attn's output viewed
// so): self-attention, S = T, d_k = d_v = d. Equal to calling scaled_dot_product_attention on the
// three (B, H, T, d) views qkv.select(2, i).transpose(1, 2); but its backward pass writes dQ, dK and
// dV straight into the gradient of qkv, not through three views that each scatter theirs.
// need_weights: as scaled_dot_product_attention_with_weights.
AttentionResult scaled_dot_product_attention_packed(const Tensor& qkv, bool causal = false, double dropout_p = 0.0,
                                                    bool training = false, Generator& gen = default_generator(),
                                                    bool need_weights = false);

// A (T, S) mask with ones where key j <= query i: causal attention as an explicit mask.
Tensor causal_mask(int64_t T, int64_t S = -1);

}  // namespace lj
