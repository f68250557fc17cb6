// The walks over visit(): names, parameters, modes, printing.
#include "llm_journey/nn/module.hpp"

#include <functional>
#include <iostream>
#include <sstream>
#include <unordered_set>

#include "llm_journey/utils.hpp"

namespace lj::nn {

namespace {
// Adapts two lambdas to the Visitor interface.
struct LambdaVisitor : Visitor {
  std::function<void(const std::string&, Tensor&)> on_param;
  std::function<void(const std::string&, Module&)> on_child;
  void parameter(const std::string& n, Tensor& p) override {
    if (on_param) on_param(n, p);
  }
  void child(const std::string& n, Module& m) override {
    if (on_child) on_child(n, m);
  }
};

void collect_parameters(Module& m, const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) {
  LambdaVisitor v;
  v.on_param = [&](const std::string& n, Tensor& p) {
    if (p.defined()) out.emplace_back(prefix + n, p);
  };
  v.on_child = [&](const std::string& n, Module& c) { collect_parameters(c, prefix + n + ".", out); };
  m.visit(v);
}
}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() {
  std::vector<std::pair<std::string, Tensor>> out;
  collect_parameters(*this, "", out);
  return out;
}

std::vector<Tensor> Module::parameters() {
  std::vector<Tensor> out;
  for (auto& [n, p] : named_parameters()) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_children() {
  std::vector<std::pair<std::string, Module*>> out;
  LambdaVisitor v;
  v.on_child = [&](const std::string& n, Module& c) { out.emplace_back(n, &c); };
  visit(v);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (size_t i = 0; i < out.size(); i++) {  // breadth-first would reorder; insert children after parent
    auto [prefix, m] = out[i];
    auto kids = m->named_children();
    size_t at = i + 1;
    for (auto& [n, c] : kids) out.insert(out.begin() + static_cast<long>(at++), {prefix.empty() ? n : prefix + "." + n, c});
  }
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : named_children()) c->train(on);
}

void Module::zero_grad() {
  for (auto& p : parameters()) p.zero_grad();
}

static void print_module(std::ostream& os, Module& m, int indent) {
  os << m.type_name() << "(";
  auto kids = m.named_children();
  std::string extra = m.extra_repr();
  if (kids.empty()) {
    os << extra << ")";
    return;
  }
  std::string pad(static_cast<size_t>(indent + 2), ' ');
  if (!extra.empty()) os << "\n" << pad << extra;
  for (auto& [n, c] : kids) {
    os << "\n" << pad << "(" << n << "): ";
    print_module(os, *c, indent + 2);
  }
  os << "\n" << std::string(static_cast<size_t>(indent), ' ') << ")";
}

std::string Module::str() const {
  std::ostringstream os;
  print_module(os, const_cast<Module&>(*this), 0);
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.str(); }

}  // namespace lj::nn

namespace lj {

int64_t count_parameters(nn::Module& module) {
  std::unordered_set<const float*> seen;
  int64_t n = 0;
  for (auto& [name, p] : module.named_parameters())
    if (p.requires_grad() && seen.insert(p.data()).second) n += p.numel();
  return n;
}

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); i++) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

}  // namespace lj

namespace lj::nn {

StateDict Module::state_dict() {
  StateDict out;
  for (auto& [name, p] : named_parameters()) out.emplace(name, p.detach());
  return out;
}

void Module::load_state_dict(const StateDict& dict, bool strict) {
  auto params = named_parameters();
  std::vector<std::string> missing, unexpected, misshaped;
  std::unordered_set<std::string> ours;
  for (auto& [name, p] : params) {
    ours.insert(name);
    auto it = dict.find(name);
    if (it == dict.end()) {
      missing.push_back(name + " " + p.shape().str());
    } else if (!it->second.defined() || it->second.shape() != p.shape()) {
      misshaped.push_back(name + ": expected " + p.shape().str() + ", given " +
                          (it->second.defined() ? it->second.shape().str() : std::string("undefined")));
    }
  }
  for (auto& [name, t] : dict)
    if (!ours.count(name)) unexpected.push_back(name + " " + (t.defined() ? t.shape().str() : std::string("undefined")));
  if (!strict) {
    missing.clear();
    unexpected.clear();
  }
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    std::string msg = "load_state_dict: the state dict does not fit " + type_name() + ":";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      msg += std::string("\n  ") + what + " (" + std::to_string(names.size()) + "):";
      for (auto& n : names) msg += "\n    " + n;
    };
    list("missing", missing);
    list("unexpected", unexpected);
    list("wrong shape", misshaped);
    throw Error(msg);
  }
  for (auto& [name, p] : params) {
    auto it = dict.find(name);
    if (it != dict.end()) p.copy_(it->second);
  }
}

}  // namespace lj::nn
