// Mixed precision, as torch.autocast("cpu", dtype=torch.bfloat16).
//
//   {
//     lj::Autocast guard(lj::bf16);
//     Tensor loss = cross_entropy(model.forward(x), y);  // products in bf16, the rest in fp32
//     loss.backward();
//   }
//
// Inside the scope, matrix products (Linear, attention's Q K^T and P V, the LM head) take their inputs
// rounded to bf16 and accumulate in fp32; their outputs are fp32. Everything else (layer norm, softmax,
// GELU, the loss) computes in fp32 as it always does, and parameters, gradients and optimizer state
// stay fp32. The scope belongs to the calling thread, as torch's does (and as NoGradGuard's does).
//
// Why the master weights stay fp32: bf16 keeps 8 bits of mantissa, so an update smaller than 1/256 of a
// weight rounds away entirely. AdamW's steps (lr ~1e-3 of the weight's scale) are exactly that size.
#pragma once
#include "llm_journey/dtype.hpp"

namespace lj {

// The precision the calling thread's matrix products compute in: f32 unless an Autocast is active.
Dtype autocast_dtype();

class Autocast {
 public:
  explicit Autocast(Dtype dtype, bool enabled = true);  // enabled=false: a scope that changes nothing
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  Dtype prev_;
};

}  // namespace lj
