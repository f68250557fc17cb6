// The backward pass: topological sort (iterative), then one reverse sweep.
#include "llm_journey/autograd.hpp"

#include <cstring>
#include <unordered_set>

namespace lj {

static thread_local bool g_grad_enabled = true;
bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool on) { g_grad_enabled = on; }

static std::shared_ptr<TensorImpl> dense_empty_like(const TensorImpl& t) {
  auto g = std::make_shared<TensorImpl>();
  g->storage = std::make_shared<Storage>(sizeof(float) * static_cast<size_t>(t.shape.numel()));
  g->shape = t.shape;
  g->strides = contiguous_strides(t.shape);
  return g;
}

static std::shared_ptr<TensorImpl> dense_zeros_like(const TensorImpl& t) {
  auto g = dense_empty_like(t);
  std::memset(g->storage->ptr, 0, sizeof(float) * static_cast<size_t>(t.shape.numel()));
  return g;
}

float* Node::grad(size_t i) {
  TensorImpl* t = inputs[i].impl();
  if (!t->requires_grad) return nullptr;
  if (!t->grad) t->grad = dense_zeros_like(*t);
  return t->grad->data();
}

float* Node::grad(size_t i, bool& accumulate) {
  TensorImpl* t = inputs[i].impl();
  accumulate = true;
  if (!t->requires_grad) return nullptr;
  if (!t->grad) {
    t->grad = dense_empty_like(*t);
    accumulate = false;
  }
  return t->grad->data();
}

namespace autograd {

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

template <typename Range>
static bool any_needs_grad(const Range& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) { return any_needs_grad(inputs); }
bool needs_grad(std::initializer_list<Tensor> inputs) { return any_needs_grad(inputs); }

void attach(Tensor& out, const char* name, std::vector<Tensor> inputs, Node::Backward backward) {
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  out.impl()->requires_grad = true;
  out.impl()->grad_fn = std::move(node);
}

}  // namespace autograd

void Tensor::backward(const Tensor& gradient) const {
  TensorImpl* root = impl();
  LJ_CHECK(root->requires_grad, "backward: the tensor (shape ", shape(),
           ") does not require a gradient; no parameter or input with requires_grad led to it");
  if (gradient.defined()) {
    LJ_CHECK(gradient.shape() == shape(), "backward: gradient shape ", gradient.shape(), " differs from tensor shape ",
             shape());
  } else {
    LJ_CHECK(numel() == 1, "backward: the tensor has shape ", shape(),
             "; only a single-element tensor can start backward without an explicit gradient");
  }

  // Topological order by an explicit-stack depth-first search: a node comes after all its inputs.
  // The order owns its tensors: freeing a node's graph during the sweep may drop the last other
  // reference to an intermediate tensor that comes later in the sweep.
  std::vector<std::shared_ptr<TensorImpl>> order;
  std::unordered_set<TensorImpl*> visited;
  std::vector<std::pair<std::shared_ptr<TensorImpl>, size_t>> stack{{impl_ptr(), 0}};
  visited.insert(root);
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    Node* fn = t->grad_fn.get();
    if (fn && next < fn->inputs.size()) {
      const std::shared_ptr<TensorImpl>& in = fn->inputs[next++].impl_ptr();
      if (in->requires_grad && in->grad_fn && !visited.count(in.get())) {
        visited.insert(in.get());
        stack.push_back({in, 0});
      }
    } else {
      order.push_back(std::move(t));
      stack.pop_back();
    }
  }

  // Seed the root's gradient, then sweep from the root towards the leaves.
  std::shared_ptr<TensorImpl> seed = dense_zeros_like(*root);
  if (gradient.defined()) {
    Tensor g = gradient.contiguous();
    std::memcpy(seed->data(), g.data(), sizeof(float) * static_cast<size_t>(numel()));
  } else {
    seed->data()[0] = 1.0f;
  }
  if (root->grad_fn) {
    root->grad = seed;
  } else {  // backward() on a leaf accumulates into its own gradient
    if (!root->grad) root->grad = dense_zeros_like(*root);
    for (int64_t i = 0; i < numel(); i++) root->grad->data()[i] += seed->data()[i];
    return;
  }
  for (size_t k = order.size(); k-- > 0;) {
    std::shared_ptr<TensorImpl> t = std::move(order[k]);
    std::shared_ptr<Node> fn = std::move(t->grad_fn);  // free the graph as we go (retain_graph=False)
    std::shared_ptr<TensorImpl> g = std::move(t->grad);  // intermediate gradients are not kept
    if (!fn || !g) continue;
    if (fn->gradient_passes_through) {
      TensorImpl* base = fn->inputs[0].impl();
      if (base->requires_grad && !base->grad) {
        auto alias = std::make_shared<TensorImpl>();
        alias->storage = g->storage;
        alias->offset = g->offset;
        alias->shape = base->shape;
        alias->strides = contiguous_strides(base->shape);
        base->grad = std::move(alias);
        continue;
      }
    }
    fn->backward(*fn, g->data());
  }
}

}  // namespace lj
