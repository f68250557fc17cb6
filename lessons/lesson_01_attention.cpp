// Week 1: Introduction to Transformers
// Notebook 01: Scaled Dot-Product Attention from First Principles
//
// The notebook before multi-head attention: one head, written out. The scores Q K^T, why they are
// divided by sqrt(d_k), the softmax that turns them into weights, and the masks that stop a query
// from seeing the future (causal) or the padding of a shorter sequence.
//
//   Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <llm_journey/llm_journey.hpp>

#include "lessons.hpp"

namespace lj::lessons {

// Prints a (T, S) matrix with row and column labels.
static void print_matrix(const Tensor& m, const std::vector<std::string>& rows, const std::vector<std::string>& cols) {
  std::vector<float> v = m.contiguous().to_vector();
  int64_t T = m.size(-2), S = m.size(-1);
  std::printf("%6s", "");
  for (int64_t j = 0; j < S; j++) std::printf("%8s", cols[j].c_str());
  std::printf("\n");
  for (int64_t i = 0; i < T; i++) {
    std::printf("%6s", rows[i].c_str());
    for (int64_t j = 0; j < S; j++) std::printf("%8.4f", v[i * S + j]);
    std::printf("\n");
  }
}

static viz::Heatmap heatmap(const std::string& title, const Tensor& m, const std::vector<std::string>& rows,
                            const std::vector<std::string>& cols) {
  std::vector<float> v = m.contiguous().to_vector();
  return {title, m.size(-2), m.size(-1), {v.begin(), v.end()}, rows, cols};
}

int lesson_01(Notebook& nb) {
  nb.cell("", R"(Attention lets every token of a sequence gather information from the others. Each token asks a
question (its query q), offers a label (its key k) and carries a content (its value v). A query's match
with each key is a score; the softmax turns the scores into weights that sum to 1; the output is the
weighted sum of the values.

$$Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V$$)");
  std::printf("# Week 1: Introduction to Transformers\n");
  std::printf("## Notebook 01: Scaled Dot-Product Attention from First Principles\n");
  set_seed(42);
  std::vector<std::string> tokens = {"The", "cat", "sat", "on", "the", "mat"};
  const int64_t T = 6, d_k = 16;

  nb.cell("1. The scores", R"(Queries, keys and values for six tokens, d_k = 16, drawn at random here (in a model they
are learned projections of the token vectors). The score of query i against key j is their dot product:
S = Q K^T, a (T x T) matrix.)");
  Tensor q = randn({1, 1, T, d_k}), k = randn({1, 1, T, d_k}), v = randn({1, 1, T, d_k});
  Tensor scores = matmul(q, k.transpose(-2, -1));  // (1, 1, T, T)
  std::cout << "Q: " << q.shape() << "  K: " << k.shape() << "  V: " << v.shape() << "\n";
  std::cout << "scores = Q K^T: " << scores.shape() << "\n";
  print_matrix(scores, tokens, tokens);
  viz::HeatmapStyle raw;
  raw.title = "Raw scores Q K^T";
  raw.vmin = raw.vmax = 0;  // the data's range
  nb.figure(viz::plot_heatmaps({heatmap("scores", scores, tokens, tokens)}, raw), "scores");

  nb.cell("2. Why divide by sqrt(d_k)?", R"(With q and k of d_k independent entries of mean 0 and variance 1,
q . k is a sum of d_k products of variance 1: its variance is d_k. The larger the head, the wider the
scores, and the softmax of wide scores puts almost all the weight on one key: the gradients through the
others vanish. Dividing by sqrt(d_k) brings the variance back to 1 whatever d_k.)");
  std::printf("%6s | %14s | %14s | %20s | %20s\n", "d_k", "var(q.k)", "var(q.k/sqrt)", "max weight, unscaled",
              "max weight, scaled");
  viz::Series var_raw{"q . k", {}, {}}, var_scaled{"q . k / sqrt(d_k)", {}, {}};
  viz::Series max_raw{"softmax(q . k)", {}, {}}, max_scaled{"softmax(q . k / sqrt(d_k))", {}, {}};
  for (int64_t d : {4, 16, 64, 256, 1024}) {
    const int64_t rows = 500, keys = 8;
    Tensor qs = randn({rows, 1, d}), ks = randn({rows, keys, d});
    Tensor s = matmul(qs, ks.transpose(1, 2));  // (rows, 1, keys)
    Tensor s_scaled = s / std::sqrt(static_cast<float>(d));
    auto mean_max = [&](const Tensor& logits) {
      std::vector<float> w = softmax(logits, -1).to_vector();
      double total = 0;
      for (int64_t r = 0; r < rows; r++) total += *std::max_element(w.begin() + r * keys, w.begin() + (r + 1) * keys);
      return total / rows;
    };
    double vr = s.var().item(), vs = s_scaled.var().item(), mr = mean_max(s), ms = mean_max(s_scaled);
    std::printf("%6lld | %14.2f | %14.4f | %20.4f | %20.4f\n", static_cast<long long>(d), vr, vs, mr, ms);
    for (auto* series : {&var_raw, &var_scaled, &max_raw, &max_scaled}) series->x.push_back(static_cast<double>(d));
    var_raw.y.push_back(vr), var_scaled.y.push_back(vs), max_raw.y.push_back(mr), max_scaled.y.push_back(ms);
  }
  std::printf("With 8 keys, uniform weights would be 0.125 each: unscaled, the largest weight heads for 1.\n");
  nb.figure(viz::plot_lines_panels({viz::LinePlot{"Variance of the scores", "d_k", "variance (log)", {var_raw, var_scaled}, true},
                                    viz::LinePlot{"Largest softmax weight (8 keys)", "d_k", "mean of the row maximum",
                                                  {max_raw, max_scaled}}},
                                   "What the sqrt(d_k) scaling does", 460, 360),
            "scaling", "Left: var(q . k) grows as d_k; scaled it stays 1. Right: unscaled, the softmax saturates.");

  nb.cell("3. The softmax", R"(softmax(z)_j = exp(z_j) / sum_k exp(z_k), along each row: every weight is positive
and each row sums to 1. The output of each query is the weighted sum of the values: O = W V.)");
  Tensor weights = softmax(scores / std::sqrt(static_cast<float>(d_k)), -1);
  print_matrix(weights, tokens, tokens);
  std::printf("row sums: %s\n", weights.sum(-1).str().c_str());
  Tensor out = matmul(weights, v);
  std::cout << "output = weights V: " << out.shape() << "\n";
  AttentionResult ref = scaled_dot_product_attention(q, k, v);
  std::printf("largest difference from lj::scaled_dot_product_attention: %.3g\n", (ref.output - out).abs().max().item());

  nb.cell("4. Masks", R"(A causal mask lets query i see only keys j <= i: a language model must not look at the
token it is predicting. A padding mask hides the positions added to make a short sequence as long as
the others. Masked scores are set to -inf before the softmax, so their weights are exactly 0 and every
row still sums to 1. Here the second sequence is four tokens long, padded to six.)");
  Tensor qb = randn({2, 1, T, d_k}), kb = randn({2, 1, T, d_k}), vb = randn({2, 1, T, d_k});
  // padding: (B, 1, 1, S), 1 = may attend; sequence 1 has two padding positions at the end.
  Tensor padding = Tensor::ones({2, 1, 1, T});
  padding.mutable_data()[T + 4] = padding.mutable_data()[T + 5] = 0.0f;
  AttentionResult plain = scaled_dot_product_attention(qb, kb, vb);
  AttentionResult causal = scaled_dot_product_attention(qb, kb, vb, Tensor(), /*causal=*/true);
  AttentionResult padded = scaled_dot_product_attention(qb, kb, vb, padding);
  AttentionResult both = scaled_dot_product_attention(qb, kb, vb, padding, /*causal=*/true);
  std::vector<std::string> padded_tokens = {"A", "dog", "ran", ".", "<pad>", "<pad>"};
  std::printf("causal weights, sequence 0:\n");
  print_matrix(causal.weights.select(0, 0).select(0, 0), tokens, tokens);
  std::printf("padding-masked weights, sequence 1:\n");
  print_matrix(padded.weights.select(0, 1).select(0, 0), padded_tokens, padded_tokens);
  // The checks the notebook asks for: masked weights exactly zero, every row summing to 1.
  std::vector<float> wc = causal.weights.to_vector(), wp = padded.weights.to_vector();
  double masked_max = 0, worst_row = 0;
  for (int64_t b = 0; b < 2; b++)
    for (int64_t i = 0; i < T; i++) {
      double row_c = 0, row_p = 0;
      for (int64_t j = 0; j < T; j++) {
        float c = wc[(b * T + i) * T + j], p = wp[(b * T + i) * T + j];
        if (j > i) masked_max = std::max(masked_max, static_cast<double>(std::abs(c)));
        if (b == 1 && j >= 4) masked_max = std::max(masked_max, static_cast<double>(std::abs(p)));
        row_c += c, row_p += p;
      }
      worst_row = std::max({worst_row, std::abs(row_c - 1), std::abs(row_p - 1)});
    }
  std::printf("largest masked weight: %g (exactly zero: %s)\n", masked_max, masked_max == 0 ? "yes" : "NO");
  std::printf("largest |row sum - 1|: %.2g\n", worst_row);
  viz::HeatmapStyle grid;
  grid.title = "Attention weights under each mask (sequence 1: four tokens and two pads)";
  grid.columns = 4;
  nb.figure(viz::plot_heatmaps({heatmap("no mask", plain.weights.select(0, 1).select(0, 0), padded_tokens, padded_tokens),
                                heatmap("causal", causal.weights.select(0, 1).select(0, 0), padded_tokens, padded_tokens),
                                heatmap("padding", padded.weights.select(0, 1).select(0, 0), padded_tokens, padded_tokens),
                                heatmap("causal + padding", both.weights.select(0, 1).select(0, 0), padded_tokens,
                                        padded_tokens)},
                               grid),
            "masks", "Masked weights are exactly 0 (darkest); each row sums to 1.");
  std::cout << viz::ansi_heatmaps({heatmap("causal + padding", both.weights.select(0, 1).select(0, 0), padded_tokens,
                                           padded_tokens)},
                                  grid);
  return 0;
}

}  // namespace lj::lessons
