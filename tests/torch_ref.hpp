// Test helpers: read the PyTorch reference files (safetensors, F32) and compare tensors.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <llm_journey/llm_journey.hpp>

namespace lj::test {

// The directory the torch_refs fixture wrote (LJ_REFS).
inline std::string refs_dir() {
  const char* d = std::getenv("LJ_REFS");
  return d ? d : "refs";
}

// A reference file: name -> float32 tensor.
class RefFile {
 public:
  explicit RefFile(const std::string& name) : path_(refs_dir() + "/" + name + ".safetensors") {
    std::ifstream f(path_, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open reference file " + path_ + " (run the torch_refs fixture)");
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    auto header = nlohmann::json::parse(bytes.substr(8, n));
    const char* data = bytes.data() + 8 + n;
    for (auto& [name, info] : header.items()) {
      if (name == "__metadata__") continue;
      if (info["dtype"] != "F32") throw std::runtime_error(path_ + ": " + name + " is not F32");
      std::vector<int64_t> shape = info["shape"].get<std::vector<int64_t>>();
      size_t a = info["data_offsets"][0], b = info["data_offsets"][1];
      std::vector<float> v((b - a) / 4);
      if (!v.empty()) std::memcpy(v.data(), data + a, b - a);
      tensors_.emplace(name, Tensor::from_vector(v, Shape(shape)));
    }
  }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  Tensor operator[](const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error(path_ + " has no tensor " + name);
    return it->second;
  }
  const std::map<std::string, Tensor>& all() const { return tensors_; }

 private:
  std::string path_;
  std::map<std::string, Tensor> tensors_;
};

inline float max_abs(const Tensor& t) {
  float m = 0;
  for (float x : t.to_vector()) m = std::max(m, std::abs(x));
  return m;
}

inline float max_abs_diff(const Tensor& a, const Tensor& b) {
  auto va = a.to_vector(), vb = b.to_vector();
  float m = 0;
  for (size_t i = 0; i < va.size(); i++) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// Every element within `atol` of the reference.
inline ::testing::AssertionResult close_abs(const Tensor& got, const Tensor& want, float atol) {
  if (!got.defined()) return ::testing::AssertionFailure() << "result is undefined";
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shape " << got.shape() << " != " << want.shape();
  float d = max_abs_diff(got, want);
  if (d <= atol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max abs diff " << d << " > " << atol;
}

// The largest error relative to the reference's largest magnitude: max|got - want| <= rtol * max|want|.
inline ::testing::AssertionResult close_rel(const Tensor& got, const Tensor& want, float rtol) {
  if (!got.defined()) return ::testing::AssertionFailure() << "gradient is undefined";
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << "shape " << got.shape() << " != " << want.shape();
  float scale = max_abs(want);
  float d = max_abs_diff(got, want);
  if (d <= rtol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "relative error " << d / scale << " > " << rtol << " (max|want| " << scale
                                       << ", max abs diff " << d << ")";
}

// Copies the reference's parameters ("param.<prefix><name>") into the module's parameters.
inline void load_params(nn::Module& m, const RefFile& ref, const std::string& prefix = "") {
  for (auto& [name, p] : m.named_parameters()) p.copy_(ref["param." + prefix + name]);
}

}  // namespace lj::test
