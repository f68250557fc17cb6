// The tiny character model of char_model.hpp and its training loop.
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
      token_embedding(randn({vocab, d_model}).requires_grad_()),  // as nn.Embedding: N(0, 1)
      position_embedding(randn({context, d_model}).requires_grad_()),
      block(d_model, num_heads, d_ff, 0.0, options),
      norm(d_model),
      head(d_model, vocab) {}

void CharModel::visit(nn::Visitor& v) {
  v.parameter("token_embedding", token_embedding);
  v.parameter("position_embedding", position_embedding);
  v.child("block", block);
  v.child("norm", norm);
  v.child("head", head);
}

// One-hot rows (B, T, V): an embedding lookup written as a product, E[x] = onehot(x) @ E.
static Tensor one_hot(const std::vector<std::vector<int64_t>>& ids, int64_t vocab) {
  int64_t B = static_cast<int64_t>(ids.size()), T = static_cast<int64_t>(ids.at(0).size());
  Tensor out = Tensor::zeros({B, T, vocab});
  float* p = out.data();
  for (int64_t b = 0; b < B; b++) {
    LJ_CHECK(static_cast<int64_t>(ids[b].size()) == T, "one_hot: row ", b, " has ", ids[b].size(), " ids, not ", T);
    for (int64_t t = 0; t < T; t++) {
      int64_t id = ids[b][t];
      LJ_CHECK(id >= 0 && id < vocab, "one_hot: id ", id, " is outside the vocabulary of ", vocab);
      p[(b * T + t) * vocab + id] = 1.0f;
    }
  }
  return out;
}

Tensor CharModel::forward(const std::vector<std::vector<int64_t>>& ids) {
  int64_t T = static_cast<int64_t>(ids.at(0).size());
  LJ_CHECK(T >= 1 && T <= context, "CharModel: T=", T, " is not between 1 and the context ", context);
  Tensor x = matmul(one_hot(ids, vocab), token_embedding) + position_embedding.slice(0, 0, T);
  return head(norm(block(x)));
}

Tensor char_cross_entropy(const Tensor& logits, const std::vector<std::vector<int64_t>>& targets) {
  // -mean over positions of log softmax(logits)[target]
  Tensor picked = mul(log_softmax(logits, -1), one_hot(targets, logits.size(-1)));
  return neg(sum(picked)) / static_cast<float>(logits.numel() / logits.size(-1));
}

TrainResult train_char_model(CharModel& model, const CharText& data, int steps, int batch, double lr, uint64_t seed) {
  Generator gen(seed);
  int64_t T = model.context, n = static_cast<int64_t>(data.ids.size());
  LJ_CHECK(n > T + 1, "train_char_model: the text has ", n, " characters, fewer than the context ", T, " + 2");
  std::vector<Tensor> params = model.parameters();
  std::vector<std::vector<float>> m(params.size()), v(params.size());
  for (size_t i = 0; i < params.size(); i++) m[i].assign(params[i].numel(), 0.f), v[i].assign(params[i].numel(), 0.f);
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  TrainResult result;
  model.train();
  for (int step = 1; step <= steps; step++) {
    std::vector<std::vector<int64_t>> x(batch), y(batch);
    for (int b = 0; b < batch; b++) {
      int64_t start = static_cast<int64_t>(gen.random() % static_cast<uint32_t>(n - T - 1));
      x[b].assign(data.ids.begin() + start, data.ids.begin() + start + T);
      y[b].assign(data.ids.begin() + start + 1, data.ids.begin() + start + T + 1);
    }
    model.zero_grad();
    Tensor loss = char_cross_entropy(model.forward(x), y);
    loss.backward();
    result.losses.push_back(loss.item());
    // Adam: m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr m_hat / (sqrt(v_hat) + eps)
    double c1 = 1 - std::pow(beta1, step), c2 = 1 - std::pow(beta2, step);
    for (size_t i = 0; i < params.size(); i++) {
      Tensor g = params[i].grad();
      if (!g.defined()) continue;
      const float* gp = g.data();
      float* p = params[i].data();
      for (int64_t k = 0; k < params[i].numel(); k++) {
        m[i][k] = static_cast<float>(beta1 * m[i][k] + (1 - beta1) * gp[k]);
        v[i][k] = static_cast<float>(beta2 * v[i][k] + (1 - beta2) * gp[k] * gp[k]);
        p[k] -= static_cast<float>(lr * (m[i][k] / c1) / (std::sqrt(v[i][k] / c2) + eps));
      }
    }
  }
  model.eval();
  size_t tail = std::min<size_t>(10, result.losses.size());
  for (size_t i = result.losses.size() - tail; i < result.losses.size(); i++) result.final_loss += result.losses[i] / tail;
  return result;
}

}  // namespace lj::lessons
