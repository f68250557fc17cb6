// Containers: Sequential (chains unary modules) and ModuleList (holds any modules, named 0, 1, ...).
#pragma once
#include <memory>
#include <type_traits>
#include <vector>

#include "llm_journey/nn/layers.hpp"

namespace lj::nn {

class ModuleList : public Module {
 public:
  ModuleList() = default;

  template <typename M>
  M& push_back(M&& m) {
    static_assert(std::is_base_of_v<Module, std::decay_t<M>>, "ModuleList holds Modules");
    auto p = std::make_shared<std::decay_t<M>>(std::forward<M>(m));
    p->train(training_);
    modules_.push_back(p);
    return *p;
  }
  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  Module& operator[](size_t i) const;
  // The i-th module as its concrete type; throws if it is something else.
  template <typename M>
  M& get(size_t i) const {
    auto* m = dynamic_cast<M*>(&(*this)[i]);
    LJ_CHECK(m != nullptr, "ModuleList::get: module ", i, " is a ", (*this)[i].type_name(), ", not the type asked for");
    return *m;
  }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

  std::string type_name() const override { return "ModuleList"; }
  void visit(Visitor& v) override;

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  template <typename... M>
  explicit Sequential(M&&... m) {
    (push_back(std::forward<M>(m)), ...);
  }
  template <typename M>
  M& push_back(M&& m) {
    static_assert(std::is_base_of_v<UnaryModule, std::decay_t<M>>, "Sequential holds modules with forward(x)");
    auto p = std::make_shared<std::decay_t<M>>(std::forward<M>(m));
    p->train(training_);
    modules_.push_back(p);
    return *p;
  }
  size_t size() const { return modules_.size(); }
  UnaryModule& operator[](size_t i) const;
  Tensor forward(const Tensor& x) override;

  std::string type_name() const override { return "Sequential"; }
  void visit(Visitor& v) override;

 private:
  std::vector<std::shared_ptr<UnaryModule>> modules_;
};

}  // namespace lj::nn
