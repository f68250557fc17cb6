// Files written by PyTorch and numpy (make_io_refs.py): every dtype read exactly, numpy's .npy bytes
// reproduced exactly, and PyTorch's layer state dicts converted both ways without loss.
#include <fstream>
#include <iterator>

#include "io_test_util.hpp"
#include "llm_journey/llm_journey.hpp"
#include "torch_ref.hpp"

using namespace lj;
using lj::test::throws_with;

namespace {

std::string io_refs() { return lj::test::refs_dir() + "/io/"; }

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The pattern make_io_refs.py writes, i = 0..11 in a (3, 4) array.
std::vector<double> pattern(const std::string& dtype) {
  std::vector<double> v;
  for (int i = 0; i < 12; i++) {
    if (dtype == "F32" || dtype == "F16" || dtype == "BF16") v.push_back((i - 5) * 0.25);
    else if (dtype == "F64") v.push_back((i - 5) * 0.125);
    else if (dtype == "I64") v.push_back((i - 5) * 1e12);
    else if (dtype == "I32") v.push_back((i - 5) * 100000.0);
    else if (dtype == "U16") v.push_back(i * 5000.0);
    else if (dtype == "U8") v.push_back(i * 20.0);
    else v.push_back(i % 3 == 0);
  }
  return v;
}

std::vector<double> as_doubles(const io::Array& a) {
  std::vector<double> out;
  switch (a.dtype()) {
    case io::DType::F64: return a.values<double>();
    case io::DType::I64: for (auto x : a.values<int64_t>()) out.push_back(static_cast<double>(x)); return out;
    case io::DType::I32: for (auto x : a.values<int32_t>()) out.push_back(x); return out;
    case io::DType::U16: for (auto x : a.values<uint16_t>()) out.push_back(x); return out;
    case io::DType::U8: for (auto x : a.values<uint8_t>()) out.push_back(x); return out;
    case io::DType::BOOL: for (bool x : a.values<bool>()) out.push_back(x); return out;
    default: for (float x : a.to_tensor().to_vector()) out.push_back(x); return out;
  }
}

TEST(TorchFiles, SafetensorsFromPyTorchEveryDtype) {
  auto f = io::read_safetensors(io_refs() + "dtypes.safetensors");
  EXPECT_EQ(f.metadata.at("format"), "pt");
  EXPECT_EQ(f.metadata.at("note"), "h\xc3\xa9llo");
  f.arrays.merge(io::read_safetensors(io_refs() + "dtype_U16.safetensors").arrays);
  for (const char* name : {"F32", "F64", "F16", "BF16", "I64", "I32", "U16", "U8", "BOOL"}) {
    ASSERT_TRUE(f.arrays.count(name)) << name;
    const io::Array& a = f.arrays.at(name);
    EXPECT_STREQ(io::dtype_name(a.dtype()), name);
    EXPECT_EQ(a.shape(), (std::vector<int64_t>{3, 4})) << name;
    EXPECT_EQ(as_doubles(a), pattern(name)) << name;
  }
}

TEST(TorchFiles, NpyFromNumpyEveryDtypeAndSameBytesBack) {
  for (const char* name : {"F32", "F64", "F16", "I64", "I32", "U16", "U8", "BOOL"}) {
    std::string path = io_refs() + "dtype_" + name + ".npy";
    io::Array a = io::read_npy(path);
    EXPECT_STREQ(io::dtype_name(a.dtype()), name);
    EXPECT_EQ(as_doubles(a), pattern(name)) << name;
    EXPECT_EQ(io::serialize_npy(a), file_bytes(path)) << name << ": our .npy differs from numpy's, byte for byte";
  }
}

void expect_same(const nn::StateDict& a, const nn::StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_EQ(t.shape(), b.at(name).shape()) << name;
    EXPECT_EQ(t.to_vector(), b.at(name).to_vector()) << name;
  }
}

TEST(TorchFiles, TransformerEncoderLayerNamesBothWays) {
  auto torch_sd = io::load_safetensors(io_refs() + "block_pre_gelu.safetensors");
  auto ours = io::block_from_torch(torch_sd);
  nn::TransformerBlock block(32, 4, 64);
  block.load_state_dict(ours);  // strict: every name and shape fits
  // Rows [D, 2D) of in_proj_weight are W^K.
  EXPECT_EQ(ours.at("attention.w_k.weight").to_vector(), torch_sd.at("self_attn.in_proj_weight").slice(0, 32, 64).to_vector());
  expect_same(io::block_to_torch(block.state_dict()), torch_sd);
}

TEST(TorchFiles, MultiheadAttentionNamesBothWays) {
  auto torch_sd = io::load_safetensors(io_refs() + "mha.safetensors");
  nn::MultiHeadAttention mha(32, 4);
  mha.load_state_dict(io::mha_from_any(torch_sd));
  expect_same(io::mha_to_torch(mha.state_dict()), torch_sd);
  auto ours = io::load_safetensors(io_refs() + "mha_ours.safetensors");
  expect_same(io::mha_from_any(ours), ours);  // our names pass through
}

TEST(TorchFiles, ConversionErrorsNameTheKeys) {
  auto torch_sd = io::load_safetensors(io_refs() + "mha.safetensors");
  torch_sd.erase("in_proj_bias");
  torch_sd["bias_k"] = Tensor::zeros({1, 1, 32});
  EXPECT_TRUE(throws_with([&] { io::mha_from_torch(torch_sd); }, {"bias_k", "add_bias_kv"}));
  torch_sd.erase("bias_k");
  torch_sd["extra"] = Tensor::zeros({2});
  EXPECT_TRUE(throws_with([&] { io::mha_from_torch(torch_sd); }, {"missing 'in_proj_bias'", "unexpected 'extra' [2]"}));
}

TEST(TorchFiles, MaskPolarity) {
  // PyTorch's bool mask, True = blocked, becomes ours, 1 = may attend; the output matches PyTorch's.
  Tensor blocked = io::load_npy(io_refs() + "mha_mask.mask.npy");
  Tensor allowed = io::mask_from_torch(blocked);
  auto b = blocked.to_vector(), a = allowed.to_vector();
  for (size_t i = 0; i < a.size(); i++) EXPECT_EQ(a[i], 1.0f - b[i]);
  EXPECT_EQ(io::mask_to_torch(allowed).to_vector(), b);
  nn::MultiHeadAttention mha(32, 4);
  mha.load_state_dict(io::mha_from_torch(io::load_safetensors(io_refs() + "mha_mask.safetensors")));
  mha.eval();
  Tensor x = io::load_npy(io_refs() + "mha_mask.x.npy");
  EXPECT_TRUE(lj::test::close_abs(mha(x, x, x, allowed), io::load_npy(io_refs() + "mha_mask.y.npy"), 1e-5f));
  EXPECT_TRUE(lj::test::close_abs(mha.attention_weights(), io::load_npy(io_refs() + "mha_mask.attn.npy"), 1e-5f));
  // The wrong polarity would not match: the test can fail.
  EXPECT_FALSE(lj::test::close_abs(mha(x, x, x, blocked), io::load_npy(io_refs() + "mha_mask.y.npy"), 1e-3f));
}

}  // namespace
