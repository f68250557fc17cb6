// Reverse-mode autograd, micrograd-style: each op that needs a gradient leaves a Node on its output.
// The Node remembers the op's inputs and a closure that adds the op's contribution into their
// gradients (+=). backward() sorts the graph topologically (iteratively, no recursion) and sweeps
// it in reverse, so a tensor used twice gets the sum of its gradients.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "llm_journey/tensor.hpp"

namespace lj {

struct Node {
  using Backward = std::function<void(Node& self, const float* grad_out)>;
  const char* name = "";
  std::vector<Tensor> inputs;
  Backward backward;
  // Set by views whose elements are their base's, in the base's order (a reshape of a contiguous
  // tensor): the view's gradient is then the base's gradient, and the engine hands the buffer over
  // instead of calling `backward` to copy it, when the base has no gradient yet.
  bool gradient_passes_through = false;
  // The gradient buffer of inputs[i] (dense, contiguous, zero-initialised on first use), or nullptr
  // if that input does not require a gradient. Kernels accumulate into it with +=.
  float* grad(size_t i);
  // The same buffer for a kernel that writes every element: on first use it is left uninitialised and
  // `accumulate` is false (write with =); otherwise `accumulate` is true (add with +=). This saves
  // zero-filling, then re-reading, every gradient the first time it is written.
  float* grad(size_t i, bool& accumulate);
};

// Whether ops record a graph; thread-local, on by default.
bool grad_enabled();
void set_grad_enabled(bool on);

// Scoped: no graph is recorded while it lives (torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

namespace autograd {
// True when an op over these inputs must record a Node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);
// Attaches a Node with this closure to `out` (no checks).
void attach(Tensor& out, const char* name, std::vector<Tensor> inputs, Node::Backward backward);
// Attaches a Node to `out` if any input requires a gradient and grad mode is on. Otherwise nothing
// is built: no input list, no std::function (an op under NoGradGuard allocates only its output).
template <typename F>
void record(Tensor& out, const char* name, std::initializer_list<Tensor> inputs, F&& backward) {
  if (needs_grad(inputs)) attach(out, name, std::vector<Tensor>(inputs), Node::Backward(std::forward<F>(backward)));
}
template <typename F>
void record(Tensor& out, const char* name, std::vector<Tensor> inputs, F&& backward) {
  if (needs_grad(inputs)) attach(out, name, std::move(inputs), Node::Backward(std::forward<F>(backward)));
}
}  // namespace autograd

}  // namespace lj
