// Weights back to PyTorch: builds our MultiHeadAttention and a pre-norm GELU TransformerBlock, nudges
// their weights off the defaults, runs them on an input, and writes the weights under PyTorch's names
// with the input and our outputs. check_export.py loads them into nn.MultiheadAttention and
// nn.TransformerEncoderLayer (strict load_state_dict) and compares. Usage: export_for_torch OUT_DIR
#include <cstdio>

#include "llm_journey/llm_journey.hpp"

using namespace lj;

static void nudge(nn::Module& m) {  // LayerNorm's default weights (1) and biases (0) would hide a swap
  for (auto& [name, p] : m.named_parameters()) p.copy_(p.detach() + randn(p.shape()) * 0.1f);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: export_for_torch OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  set_seed(3);
  const int64_t B = 2, T = 5, D = 16, H = 2, F = 24;
  Tensor x = randn({B, T, D});
  io::save_npy(out + "/export.x.npy", x);

  nn::MultiHeadAttention mha(D, H);
  nudge(mha);
  mha.eval();
  io::save_npy(out + "/export_mha.y.npy", mha(x, x, x));
  io::save_npy(out + "/export_mha.attn.npy", mha.attention_weights());
  io::save_safetensors(out + "/export_mha.safetensors", io::mha_to_torch(mha.state_dict()));

  nn::BlockOptions o;
  o.norm_first = true;
  o.activation = nn::Activation::gelu;
  nn::TransformerBlock block(D, H, F, 0.0, o);
  nudge(block);
  block.eval();
  io::save_npy(out + "/export_block.y.npy", block(x));
  io::save_safetensors(out + "/export_block.safetensors", io::block_to_torch(block.state_dict()));
  std::printf("wrote %s/export_{mha,block}.*\n", out.c_str());
  return 0;
}
