// The tiny character model of char_model.hpp and its training loop (AdamW from optim.hpp).
#include "char_model.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace lj::lessons {

const std::string& lesson_text() {
  static const std::string text =
      "the cat sat on the mat and the dog sat on the log. the cat saw the dog and the dog saw the cat. "
      "a head of attention looks back at the letters before it and takes what it needs. one head may look "
      "at the letter just before, another at the start of the word, another at the space that ended the "
      "last word. the model adds what the heads found and passes it on to the next layer. "
      "the sun is up and the day is long. the rain is gone and the road is dry. we walk to the hill and "
      "we look at the sea. the sea is wide and the sky is blue. the boat is on the sea and the man is in "
      "the boat. the man has a net and the net is full of fish. the fish are for the cat and the dog. "
      "when the night comes the stars come out one by one. the moon is white and the wind is cold. "
      "we go home and we sit by the fire. the fire is warm and the tea is hot. we read a book and we "
      "sleep. in the morning the birds sing and the light comes back to the hill. the cat sat on the mat "
      "and the dog sat on the log, and the day began again. a letter follows a letter, a word follows a "
      "word, and a model that has read enough of them can guess the next one. it is never sure, but it "
      "is often right: after a space comes the start of a word, after a q comes a u, after the comes a "
      "space. that is all a language model does, one letter at a time. ";
  return text;
}

CharText::CharText(std::string t) : text(std::move(t)) {
  std::set<char> chars(text.begin(), text.end());
  vocab.assign(chars.begin(), chars.end());
  ids = encode(text);
}

std::vector<int64_t> CharText::encode(const std::string& s) const {
  std::vector<int64_t> out;
  for (char c : s) {
    size_t i = vocab.find(c);
    LJ_CHECK(i != std::string::npos, "CharText: the character '", std::string(1, c), "' is not in the vocabulary");
    out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

std::vector<std::string> CharText::tokens(const std::string& s) const {
  std::vector<std::string> out;
  for (char c : s) out.emplace_back(1, c);
  return out;
}

CharModel::CharModel(int64_t vocab, int64_t context, int64_t d_model, int64_t num_heads, int64_t d_ff,
                     nn::BlockOptions options)
    : vocab(vocab),
      context(context),
      d_model(d_model),
      token_embedding(vocab, d_model),
      position_embedding(context, d_model),
      block(d_model, num_heads, d_ff, 0.0, options),
      norm(d_model),
      head(d_model, vocab) {}

void CharModel::visit(nn::Visitor& v) {
  v.child("token_embedding", token_embedding);
  v.child("position_embedding", position_embedding);
  v.child("block", block);
  v.child("norm", norm);
  v.child("head", head);
}

static Tensor ids_tensor(const std::vector<std::vector<int64_t>>& ids) {
  std::vector<int64_t> flat;
  for (const auto& row : ids) {
    LJ_CHECK(row.size() == ids.at(0).size(), "CharModel: rows of ", ids[0].size(), " and ", row.size(), " ids");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return ids_to_tensor(flat, {static_cast<int64_t>(ids.size()), static_cast<int64_t>(ids.at(0).size())});
}

Tensor CharModel::forward(const std::vector<std::vector<int64_t>>& ids) {
  int64_t T = static_cast<int64_t>(ids.at(0).size());
  LJ_CHECK(T >= 1 && T <= context, "CharModel: T=", T, " is not between 1 and the context ", context);
  std::vector<int64_t> positions(T);
  for (int64_t t = 0; t < T; t++) positions[t] = t;
  Tensor x = token_embedding(ids_tensor(ids)) + position_embedding(ids_to_tensor(positions, {T}));
  return head(norm(block(x)));
}

Tensor char_cross_entropy(const Tensor& logits, const std::vector<std::vector<int64_t>>& targets) {
  return cross_entropy(logits, ids_tensor(targets));
}

TrainResult train_char_model(CharModel& model, const CharText& data, int steps, int batch, double lr, uint64_t seed) {
  Generator gen(seed);
  int64_t T = model.context, n = static_cast<int64_t>(data.ids.size());
  LJ_CHECK(n > T + 1, "train_char_model: the text has ", n, " characters, fewer than the context ", T, " + 2");
  optim::AdamW opt(model.parameters(), {.lr = lr, .weight_decay = 0.0});
  TrainResult result;
  model.train();
  for (int step = 1; step <= steps; step++) {
    std::vector<std::vector<int64_t>> x(batch), y(batch);
    for (int b = 0; b < batch; b++) {
      int64_t start = static_cast<int64_t>(gen.random() % static_cast<uint32_t>(n - T - 1));
      x[b].assign(data.ids.begin() + start, data.ids.begin() + start + T);
      y[b].assign(data.ids.begin() + start + 1, data.ids.begin() + start + T + 1);
    }
    opt.zero_grad();
    Tensor loss = char_cross_entropy(model.forward(x), y);
    loss.backward();
    opt.step();
    result.losses.push_back(loss.item());
  }
  model.eval();
  size_t tail = std::min<size_t>(10, result.losses.size());
  for (size_t i = result.losses.size() - tail; i < result.losses.size(); i++) result.final_loss += result.losses[i] / tail;
  return result;
}

}  // namespace lj::lessons
