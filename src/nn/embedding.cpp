#include "llm_journey/nn/embedding.hpp"

#include <cmath>
#include <sstream>

#include "llm_journey/nn/init.hpp"
#include "llm_journey/ops.hpp"
#include "llm_journey/ops_lm.hpp"

namespace lj::nn {

Embedding::Embedding(int64_t n, int64_t d, Generator& gen) : num_embeddings(n), embedding_dim(d) {
  LJ_CHECK(n > 0 && d > 0, "Embedding: num_embeddings=", n, " and embedding_dim=", d, " must be positive");
  weight = Tensor::empty({n, d});
  init::normal_(weight, 0.0, 1.0, gen);  // torch.nn.Embedding's reset_parameters
  weight.requires_grad_();
}

Tensor Embedding::forward(const Tensor& ids) { return embedding(weight, ids); }

std::string Embedding::extra_repr() const {
  std::ostringstream os;
  os << num_embeddings << ", " << embedding_dim;
  return os.str();
}

void Embedding::visit(Visitor& v) { v.parameter("weight", weight); }

PositionalEncoding::PositionalEncoding(int64_t d, int64_t max_len, double dropout)
    : d_model(d), max_len(max_len), drop(dropout) {
  LJ_CHECK(d > 0 && max_len > 0, "PositionalEncoding: d_model=", d, " and max_len=", max_len, " must be positive");
  pe = Tensor::zeros({max_len, d});
  float* p = pe.mutable_data();
  for (int64_t pos = 0; pos < max_len; pos++)
    for (int64_t i = 0; 2 * i < d; i++) {
      // angle = pos / 10000^(2i/d), in double, then rounded once
      const double angle = static_cast<double>(pos) / std::pow(10000.0, static_cast<double>(2 * i) / static_cast<double>(d));
      p[pos * d + 2 * i] = static_cast<float>(std::sin(angle));
      if (2 * i + 1 < d) p[pos * d + 2 * i + 1] = static_cast<float>(std::cos(angle));
    }
}

Tensor PositionalEncoding::forward(const Tensor& x) {
  LJ_CHECK(x.dim() == 3 && x.size(2) == d_model && x.size(1) <= max_len, "PositionalEncoding: input shape ",
           x.shape(), " should be (batch, length <= max_len=", max_len, ", d_model=", d_model, ")");
  return drop(x + pe.slice(0, 0, x.size(1)));
}

std::string PositionalEncoding::extra_repr() const {
  std::ostringstream os;
  os << "d_model=" << d_model << ", max_len=" << max_len;
  return os.str();
}

void PositionalEncoding::visit(Visitor& v) { v.child("drop", drop); }

LearnedPositionalEmbedding::LearnedPositionalEmbedding(int64_t d, int64_t max_len, double dropout, Generator& gen)
    : positions(max_len, d, gen), drop(dropout) {}

Tensor LearnedPositionalEmbedding::forward(const Tensor& x) {
  LJ_CHECK(x.dim() == 3 && x.size(2) == positions.embedding_dim && x.size(1) <= positions.num_embeddings,
           "LearnedPositionalEmbedding: input shape ", x.shape(), " should be (batch, length <= max_len=",
           positions.num_embeddings, ", d_model=", positions.embedding_dim, ")");
  return drop(x + positions(Tensor::arange(x.size(1))));
}

void LearnedPositionalEmbedding::visit(Visitor& v) {
  v.child("positions", positions);
  v.child("drop", drop);
}

}  // namespace lj::nn
