// Embeddings: token ids to vectors, and the two ways of telling the model where a token stands.
//
//   Embedding:                 y = W[id],  W (num_embeddings, embedding_dim) ~ N(0, 1) as torch draws it
//   PositionalEncoding:        x + PE[:T],  PE(pos, 2i) = sin(pos / 10000^(2i/d)),
//                                           PE(pos, 2i+1) = cos(pos / 10000^(2i/d))   (Vaswani et al. 2017)
//   LearnedPositionalEmbedding: x + P[:T],  P (max_len, d) a trained Embedding (GPT's wpe)
#pragma once
#include <cstdint>

#include "llm_journey/nn/layers.hpp"
#include "llm_journey/random.hpp"

namespace lj::nn {

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen = default_generator());
  // ids: integer ids as floats (see ops_lm.hpp), any shape -> (ids.shape..., embedding_dim).
  Tensor forward(const Tensor& ids);
  Tensor operator()(const Tensor& ids) { return forward(ids); }
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  void visit(Visitor& v) override;

  int64_t num_embeddings, embedding_dim;
  Tensor weight;
};

// Adds the fixed sinusoidal table, then dropout. x (B, T, d_model) with T <= max_len.
class PositionalEncoding : public UnaryModule {
 public:
  PositionalEncoding(int64_t d_model, int64_t max_len = 5000, double dropout = 0.0);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PositionalEncoding"; }
  std::string extra_repr() const override;
  void visit(Visitor& v) override;  // only the dropout child: the table is a buffer, not a parameter

  int64_t d_model, max_len;
  Tensor pe;  // (max_len, d_model), no gradient
  Dropout drop;
};

// Adds a trained table of positions, then dropout. x (B, T, d_model) with T <= max_len.
class LearnedPositionalEmbedding : public UnaryModule {
 public:
  LearnedPositionalEmbedding(int64_t d_model, int64_t max_len, double dropout = 0.0,
                             Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LearnedPositionalEmbedding"; }
  void visit(Visitor& v) override;

  Embedding positions;
  Dropout drop;
};

}  // namespace lj::nn
