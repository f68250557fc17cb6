// A tiny character-level language model, trained by the lessons in seconds so that their pictures
// show learned weights rather than noise: token and position embeddings, one transformer block,
// a final LayerNorm and a linear head.
//
//   logits = head(norm(block(E_tok[x] + E_pos[0..T))))          x: (B, T) character ids
//   loss   = cross_entropy(logits, next characters)             ln(vocab) before any training
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <llm_journey/llm_journey.hpp>
#include <llm_journey/nn/embedding.hpp>
#include <llm_journey/ops_lm.hpp>
#include <llm_journey/optim.hpp>

namespace lj::lessons {

// The lesson's own short text, and its characters as ids (the vocabulary is the sorted set of
// characters it uses).
struct CharText {
  explicit CharText(std::string text);
  std::string text;
  std::string vocab;         // vocab[id] is the character
  std::vector<int64_t> ids;  // the text as ids
  std::vector<int64_t> encode(const std::string& s) const;  // throws on a character outside the vocabulary
  std::vector<std::string> tokens(const std::string& s) const;  // one string per character
};
const std::string& lesson_text();  // about 1,800 characters of plain prose

class CharModel : public nn::Module {
 public:
  CharModel(int64_t vocab, int64_t context, int64_t d_model, int64_t num_heads, int64_t d_ff,
            nn::BlockOptions options = {.norm_first = true, .causal = true});
  // ids: B rows of T <= context ids -> logits (B, T, vocab)
  Tensor forward(const std::vector<std::vector<int64_t>>& ids);
  std::string type_name() const override { return "CharModel"; }
  void visit(nn::Visitor& v) override;

  int64_t vocab, context, d_model;
  nn::Embedding token_embedding, position_embedding;  // (vocab, d_model), (context, d_model)
  nn::TransformerBlock block;
  nn::LayerNorm norm;
  nn::Linear head;
};

// Mean cross-entropy of logits (B, T, V) against targets (B rows of T ids).
Tensor char_cross_entropy(const Tensor& logits, const std::vector<std::vector<int64_t>>& targets);

struct TrainResult {
  std::vector<double> losses;  // one per step
  double final_loss = 0;       // the mean of the last 10 steps
};
// AdamW without weight decay (Adam; beta 0.9, 0.999) on random windows of the text, drawn from a generator seeded with `seed`.
TrainResult train_char_model(CharModel& model, const CharText& data, int steps, int batch, double lr, uint64_t seed);

}  // namespace lj::lessons
