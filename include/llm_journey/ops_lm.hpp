// The ops a language model adds to ops.hpp: looking up embeddings, and the cross-entropy loss fused
// with log-softmax.
//
// Token ids travel as float tensors (our tensors are float32): every id is an integer, exact in
// float32 below 2^24 = 16,777,216, far above any vocabulary here (GPT-2's is 50,257). A value that is
// not an integer in range is an error that names it.
#pragma once
#include <cstdint>
#include <vector>

#include "llm_journey/tensor.hpp"

namespace lj {

// y[..., :] = weight[indices[...], :]: weight (V, C), indices any shape of integer ids in [0, V)
// -> (indices.shape..., C). The gradient scatters back: dweight[id] += dy (ids may repeat).
Tensor embedding(const Tensor& weight, const Tensor& indices);

// The default ignore_index, as in torch.nn.functional.cross_entropy.
constexpr int64_t kIgnoreIndex = -100;

// Mean over the non-ignored targets of -log softmax(logits)[target], computed in one pass:
//   loss_i = logsumexp(logits_i) - logits_i[t_i]
//   dlogits_i = (softmax(logits_i) - onehot(t_i)) * g / count,  zero for ignored rows
// logits (N, V), or (..., V) flattened to rows; targets: integer ids, one per row (any shape with N
// elements), each in [0, V) or equal to ignore_index. With every target ignored the loss is NaN, as
// in PyTorch.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = kIgnoreIndex);
Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets, int64_t ignore_index = kIgnoreIndex);

// Float ids <-> integer ids, with a check that each float is a whole number.
Tensor ids_to_tensor(const std::vector<int64_t>& ids, const Shape& shape);
std::vector<int64_t> tensor_to_ids(const Tensor& t, const char* what = "ids");

}  // namespace lj
