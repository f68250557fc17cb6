// Week 1: Introduction to Transformers
// Notebook 02: Multi-Head Attention and Transformer Blocks
//
// This notebook explores Multi-Head Attention (MHA) and how it enables the model to attend to
// different representation subspaces.
//
// Learning Objectives
// - Understand the motivation for multi-head attention
// - Implement and test multi-head attention
// - Build a complete transformer block
// - Analyze the role of feed-forward networks and residual connections
#include <cstdio>
#include <iostream>
#include <llm_journey/llm_journey.hpp>

#include "lessons.hpp"

namespace lj::lessons {

using nn::ModuleList;
using nn::MultiHeadAttention;
using nn::TransformerBlock;

int lesson_02(Notebook& nb) {
  nb.cell("", R"(This notebook explores Multi-Head Attention (MHA) and how it enables the model to attend to
different representation subspaces.

- Understand the motivation for multi-head attention
- Implement and test multi-head attention
- Build a complete transformer block
- Analyze the role of feed-forward networks and residual connections)");
  std::printf("# Week 1: Introduction to Transformers\n");
  std::printf("## Notebook 02: Multi-Head Attention and Transformer Blocks\n");

  set_seed(42);

  nb.cell("1. Multi-Head Attention", R"(Instead of performing a single attention function, multi-head attention
projects the queries, keys, and values h times with different learned linear projections.

$$MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,   head_i = Attention(Q W^Q_i, K W^K_i, V W^V_i)$$

This allows the model to jointly attend to information from different representation subspaces.)");
  int64_t d_model = 64;
  int64_t num_heads = 8;
  int64_t batch_size = 2;
  int64_t seq_len = 10;

  {
    MultiHeadAttention mha(d_model, num_heads, /*dropout=*/0.1);
    std::cout << "Multi-Head Attention parameters: " << count_parameters(mha) << "\n";

    Tensor x = randn({batch_size, seq_len, d_model});
    std::cout << "Input shape: " << x.shape() << "\n";

    Tensor output = mha(x, x, x);
    std::cout << "Output shape: " << output.shape() << "\n";
  }

  nb.cell("2. Why Multiple Heads?", R"(Multiple heads allow the model to:
- Attend to different positions simultaneously
- Capture different aspects of the relationships between tokens
- Learn different attention patterns for syntax, semantics, etc.)");
  struct Config {
    int64_t num_heads, d_model;
  };
  for (Config config : {Config{1, 64}, Config{4, 64}, Config{8, 64}}) {
    MultiHeadAttention mha(config.d_model, config.num_heads);
    int64_t params = count_parameters(mha);
    std::printf("Heads: %2lld | Parameters: %s\n", static_cast<long long>(config.num_heads), with_commas(params).c_str());
  }

  nb.cell("3. Transformer Block", R"(A transformer block combines:
1. Multi-head self-attention
2. Feed-forward network (two linear layers with activation)
3. Layer normalization
4. Residual connections

$$TransformerBlock(x) = LayerNorm(x + FFN(LayerNorm(x + MHA(x))))$$)");
  d_model = 64;
  num_heads = 8;
  int64_t d_ff = 256;  // Feed-forward dimension (typically 4x d_model)

  TransformerBlock block(d_model, num_heads, d_ff, /*dropout=*/0.1);
  std::cout << "Transformer block parameters: " << with_commas(count_parameters(block)) << "\n";

  Tensor x = randn({batch_size, seq_len, d_model});
  Tensor output = block(x);
  std::cout << "Input shape: " << x.shape() << "\n";
  std::cout << "Output shape: " << output.shape() << "\n";

  nb.cell("4. Residual Connections and Layer Normalization", R"(These components are crucial for training deep networks:
- **Residual connections**: Enable gradient flow through deep networks
- **Layer normalization**: Stabilizes training and speeds up convergence)");
  x = randn({1, 5, d_model});
  output = block(x);
  // The output should be different from input but preserves information flow
  std::printf("Input mean: %.4f, std: %.4f\n", x.mean().item(), x.std().item());
  std::printf("Output mean: %.4f, std: %.4f\n", output.mean().item(), output.std().item());

  nb.cell("5. Stacking Transformer Blocks",
          "Modern LLMs stack many transformer blocks (12, 24, or even 96 layers). Let's see how this scales.");
  for (int num_layers : {1, 6, 12, 24}) {
    ModuleList blocks;
    for (int i = 0; i < num_layers; i++) blocks.push_back(TransformerBlock(d_model, num_heads, d_ff));
    int64_t total_params = 0;
    for (auto& b : blocks) total_params += count_parameters(*b);
    std::printf("Layers: %2d | Total parameters: %s\n", num_layers, with_commas(total_params).c_str());
  }

  // The notebook's five exercises, solved and drawn (lesson_02_exercises.cpp).
  lesson_02_exercises(nb);
  return 0;
}

}  // namespace lj::lessons
