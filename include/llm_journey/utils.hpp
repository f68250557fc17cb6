// Utilities used by the lessons: set_seed (random.hpp) and count_parameters.
#pragma once
#include <cstdint>
#include <string>

#include "llm_journey/nn/module.hpp"
#include "llm_journey/random.hpp"

namespace lj {

// The number of trainable parameters (requires_grad), each shared tensor counted once — so a weight
// tied between two layers counts once, as sum(p.numel() for p in model.parameters()) does in PyTorch.
int64_t count_parameters(nn::Module& module);

// 1234567 -> "1,234,567", as Python's f"{n:,}".
std::string with_commas(int64_t n);

}  // namespace lj
