#include "llm_journey/nn/containers.hpp"

#include <string>

namespace lj::nn {

Module& ModuleList::operator[](size_t i) const {
  LJ_CHECK(i < modules_.size(), "ModuleList: index ", i, " is out of range for a list of ", modules_.size());
  return *modules_[i];
}

void ModuleList::visit(Visitor& v) {
  for (size_t i = 0; i < modules_.size(); i++) v.child(std::to_string(i), *modules_[i]);
}

UnaryModule& Sequential::operator[](size_t i) const {
  LJ_CHECK(i < modules_.size(), "Sequential: index ", i, " is out of range for ", modules_.size(), " modules");
  return *modules_[i];
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : modules_) y = m->forward(y);
  return y;
}

void Sequential::visit(Visitor& v) {
  for (size_t i = 0; i < modules_.size(); i++) v.child(std::to_string(i), *modules_[i]);
}

}  // namespace lj::nn
