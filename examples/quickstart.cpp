// The first program a user writes: the seed notebook's modules, a forward and a backward pass.
#include <llm_journey/llm_journey.hpp>
#include <iostream>
int main() {
  lj::set_seed(42);
  lj::nn::MultiHeadAttention mha(64, 8, /*dropout=*/0.1);
  std::cout << lj::count_parameters(mha) << "\n";          // 16640
  lj::Tensor x = lj::randn({2, 10, 64});
  lj::Tensor out = mha(x, x, x);                            // shape [2, 10, 64]
  lj::nn::TransformerBlock block(64, 8, 256, /*dropout=*/0.1);
  lj::Tensor y = block(x);
  std::cout << y.shape() << " " << y.mean().item() << " " << y.std().item() << "\n";

  block.eval();
  {
    lj::NoGradGuard no_grad;                                // no graph is recorded
    lj::Tensor z = block(x);
  }
  block.train();
  block(x).sum().backward();                                // gradients of every parameter
  for (const auto& [name, p] : block.named_parameters())    // "attention.w_q.weight", ...
    std::cout << name << " " << p.shape() << " " << p.grad().std().item() << "\n";
}
