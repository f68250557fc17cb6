// Sampling text from a GPT, with or without the KV cache (nanoGPT's generate).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "llm_journey/autograd.hpp"
#include "llm_journey/nn/gpt.hpp"
#include "llm_journey/ops_lm.hpp"

namespace lj::nn {

int64_t sample_token(const float* logits, int64_t V, const SampleOptions& o, Generator& gen) {
  LJ_CHECK(V > 0, "sample_token: no logits");
  LJ_CHECK(o.temperature >= 0, "sample_token: temperature=", o.temperature, " must be non-negative");
  LJ_CHECK(o.top_k >= 0, "sample_token: top_k=", o.top_k, " must be non-negative (0 keeps every token)");
  if (o.temperature == 0) return std::max_element(logits, logits + V) - logits;  // greedy
  // top-k: keep the logits >= the k-th largest (ties kept, as nanoGPT's `logits < v[:, [-1]]`)
  float threshold = -std::numeric_limits<float>::infinity();
  if (o.top_k > 0 && o.top_k < V) {
    std::vector<float> sorted(logits, logits + V);
    std::nth_element(sorted.begin(), sorted.begin() + (o.top_k - 1), sorted.end(), std::greater<float>());
    threshold = sorted[static_cast<size_t>(o.top_k - 1)];
  }
  // p_j = softmax(logits / temperature)_j over the kept tokens, in double
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < V; j++)
    if (logits[j] >= threshold) m = std::max(m, logits[j] / o.temperature);
  std::vector<double> p(static_cast<size_t>(V), 0.0);
  double s = 0;
  for (int64_t j = 0; j < V; j++)
    if (logits[j] >= threshold) s += p[static_cast<size_t>(j)] = std::exp(logits[j] / o.temperature - m);
  // inverse CDF with one uniform draw
  const double u = gen.uniform_double(0.0, 1.0) * s;
  double c = 0;
  int64_t last = 0;
  for (int64_t j = 0; j < V; j++) {
    if (p[static_cast<size_t>(j)] == 0) continue;
    c += p[static_cast<size_t>(j)];
    last = j;
    if (u < c) return j;
  }
  return last;
}

Tensor generate(GPT& model, const Tensor& prompt, int64_t max_new_tokens, const SampleOptions& options,
                Generator& gen) {
  LJ_CHECK(prompt.dim() == 2 && prompt.size(1) >= 1, "generate: the prompt should be (batch, length >= 1) ids, got ",
           prompt.shape());
  LJ_CHECK(max_new_tokens >= 0, "generate: max_new_tokens=", max_new_tokens, " must be non-negative");
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();  // no dropout while sampling
  const int64_t B = prompt.size(0), block = model.config.block_size, V = model.config.vocab_size;
  std::vector<std::vector<int64_t>> rows(static_cast<size_t>(B));
  {
    std::vector<int64_t> ids = tensor_to_ids(prompt, "generate: prompt id");
    for (int64_t b = 0; b < B; b++)
      rows[static_cast<size_t>(b)].assign(ids.begin() + b * prompt.size(1), ids.begin() + (b + 1) * prompt.size(1));
  }
  // The last n tokens of every row, as a (B, n) tensor.
  auto window = [&](int64_t n) {
    Tensor t = Tensor::empty({B, n});
    for (int64_t b = 0; b < B; b++) {
      const auto& r = rows[static_cast<size_t>(b)];
      for (int64_t i = 0; i < n; i++) t.mutable_data()[b * n + i] = static_cast<float>(r[r.size() - static_cast<size_t>(n) + i]);
    }
    return t;
  };
  KVCache cache;
  for (int64_t step = 0; step < max_new_tokens; step++) {
    const int64_t L = static_cast<int64_t>(rows[0].size());
    Tensor logits;  // (B, n, V): the last position is the one we want
    if (options.use_cache && !cache.k.empty() && cache.length == L - 1 && L <= block) {
      logits = model.forward_cached(window(1), cache);  // one new position
    } else if (options.use_cache) {
      cache = model.make_cache(B);  // first step, or the window has moved: (re)fill the cache
      logits = model.forward_cached(window(std::min(L, block)), cache);
    } else {
      logits = model.forward(window(std::min(L, block)));
    }
    const int64_t n = logits.size(1);
    for (int64_t b = 0; b < B; b++)
      rows[static_cast<size_t>(b)].push_back(
          sample_token(logits.data() + (b * n + n - 1) * V, V, options, gen));
  }
  model.train(was_training);
  return window(static_cast<int64_t>(rows[0].size()));
}

}  // namespace lj::nn
