// Module: the base of every layer, in the manner of torch.nn.Module.
//
// A module holds its parameters and children as ordinary members and lists them once, in visit().
// Everything else — named_parameters, count_parameters, train/eval, printing, state dicts — walks
// that one list, so nothing can go stale.
#pragma once
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "llm_journey/tensor.hpp"

namespace lj::nn {

class Module;

// Parameter name ("attention.w_q.weight") -> tensor, as PyTorch's state_dict.
using StateDict = std::map<std::string, Tensor>;

// What visit() reports: each parameter and each child, by name, in creation order.
class Visitor {
 public:
  virtual ~Visitor() = default;
  virtual void parameter(const std::string& name, Tensor& p) = 0;
  virtual void child(const std::string& name, Module& m) = 0;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;
  Module(const Module&) = delete;  // parameters are shared handles: a copy would alias them
  Module& operator=(const Module&) = delete;

  // "Linear", "MultiHeadAttention", ...
  virtual std::string type_name() const = 0;
  // The part inside the parentheses when printed, e.g. "in_features=64, out_features=64, bias=True".
  virtual std::string extra_repr() const { return ""; }
  // Lists parameters and children; the single source of truth for the walks below.
  virtual void visit(Visitor& v) = 0;

  // Dotted names, depth first in creation order: "attention.w_q.weight", ...
  std::vector<std::pair<std::string, Tensor>> named_parameters();
  std::vector<Tensor> parameters();
  std::vector<std::pair<std::string, Module*>> named_children();
  // This module ("") and all descendants, with dotted names.
  std::vector<std::pair<std::string, Module*>> named_modules();

  // Training mode reaches every descendant: dropout is active only in training.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();

  // Every parameter by dotted name. The tensors share storage with the parameters (detached), as in
  // PyTorch: copy them (clone) to keep a snapshot.
  StateDict state_dict();
  // Copies the dict's tensors into the parameters (no autograd). Strict: the names must match
  // exactly. Missing and unexpected names (strict only) and wrong shapes (always) are gathered into one
  // lj::Error listing them all with the expected and the given shapes; nothing is copied then.
  void load_state_dict(const StateDict& dict, bool strict = true);

  std::string str() const;  // nested, like print(module) in PyTorch

 protected:
  bool training_ = true;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace lj::nn
