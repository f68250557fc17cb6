// llm-journey: tensors with autograd, the transformer's modules, and training, in C++.
#pragma once
#include "llm_journey/autograd.hpp"
#include "llm_journey/error.hpp"
#include "llm_journey/nn/attention.hpp"
#include "llm_journey/nn/containers.hpp"
#include "llm_journey/nn/layers.hpp"
#include "llm_journey/nn/module.hpp"
#include "llm_journey/nn/transformer.hpp"
#include "llm_journey/ops.hpp"
#include "llm_journey/random.hpp"
#include "llm_journey/tensor.hpp"
#include "llm_journey/utils.hpp"
#include "llm_journey/viz.hpp"
