// Round trips through safetensors and .npy for every dtype, bit for bit, and the float conversions.
#include <cmath>
#include <limits>

#include "io_test_util.hpp"
#include "llm_journey/io.hpp"
#include "torch_ref.hpp"

using namespace lj;
using lj::test::TempFile;
using lj::test::throws_with;

namespace {

// One array per dtype, with values at the edges of each type.
io::ArrayMap every_dtype() {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor halves = Tensor::from_vector({0.0f, -0.0f, 1.0f / 3.0f, 65504.0f, -2.5f, 6.0e-8f, inf, -inf}, {2, 4});
  io::ArrayMap m;
  m.emplace("F32", io::Array::from_values<float>({1.5f, -0.0f, 3.4e38f, 1e-45f, inf, -inf}, {2, 3}));
  m.emplace("F64", io::Array::from_values<double>({1.0 / 3.0, -1e300, 5e-324}, {3}));
  m.emplace("F16", io::Array::from_tensor(halves, io::DType::F16));
  m.emplace("BF16", io::Array::from_tensor(halves, io::DType::BF16));
  m.emplace("I64", io::Array::from_values<int64_t>({INT64_MIN, -1, 0, INT64_MAX}, {2, 2}));
  m.emplace("I32", io::Array::from_values<int32_t>({INT32_MIN, 7, INT32_MAX}, {3, 1}));
  m.emplace("U16", io::Array::from_values<uint16_t>({0, 1, 65535}, {3}));
  m.emplace("U8", io::Array::from_values<uint8_t>({0, 128, 255}, {1, 3}));
  m.emplace("BOOL", io::Array::from_values<bool>({true, false, true, true}, {4}));
  m.emplace("scalar", io::Array::from_values<float>({2.0f}, {}));
  m.emplace("empty", io::Array::from_values<float>({}, {0, 5}));
  return m;
}

TEST(IoFormats, SafetensorsRoundTripEveryDtype) {
  TempFile f("every.safetensors");
  auto arrays = every_dtype();
  io::Metadata meta = {{"format", "pt"}, {"step", "100"}, {"note", "h\xc3\xa9llo"}};
  io::write_safetensors(f.path, arrays, meta);
  auto back = io::read_safetensors(f.path);
  EXPECT_EQ(back.metadata, meta);
  ASSERT_EQ(back.arrays.size(), arrays.size());
  for (auto& [name, a] : arrays) {
    ASSERT_TRUE(back.arrays.count(name)) << name;
    EXPECT_TRUE(back.arrays.at(name) == a) << name << " changed in the round trip";
    EXPECT_EQ(back.arrays.at(name).dtype(), a.dtype()) << name;
  }
  // And written again, the same bytes.
  EXPECT_EQ(io::serialize_safetensors(back.arrays, back.metadata), io::serialize_safetensors(arrays, meta));
}

TEST(IoFormats, NpyRoundTripEveryDtype) {
  for (auto& [name, a] : every_dtype()) {
    if (a.dtype() == io::DType::BF16) continue;  // numpy has no bfloat16
    TempFile f(name + ".npy");
    io::write_npy(f.path, a);
    io::Array back = io::read_npy(f.path);
    EXPECT_TRUE(back == a) << name << " changed in the round trip";
  }
}

TEST(IoFormats, NpyRefusesBf16) {
  TempFile f("bf16.npy");
  auto a = io::Array::from_tensor(Tensor::ones({2}), io::DType::BF16);
  EXPECT_TRUE(throws_with([&] { io::write_npy(f.path, a); }, {f.path, "no dtype for BF16"}));
}

TEST(IoFormats, TypedValuesComeBack) {
  auto m = every_dtype();
  EXPECT_EQ(m.at("I64").values<int64_t>(), (std::vector<int64_t>{INT64_MIN, -1, 0, INT64_MAX}));
  EXPECT_EQ(m.at("BOOL").values<bool>(), (std::vector<bool>{true, false, true, true}));
  EXPECT_TRUE(throws_with([&] { m.at("I64").values<float>(); }, {"asked for F32 values of a I64 array"}));
}

// Half precision: the rounding torch uses (round to nearest even), exact widening.
TEST(IoFormats, HalfConversions) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor x = Tensor::from_vector({1.0f / 3.0f, 65504.0f, 65520.0f, 1e-8f, 3e-8f, 1.0f + 1.0f / 2048.0f, -2.5f}, {7});
  // torch.tensor([1/3, 65504, 65520, 1e-8, 3e-8, 1 + 2**-11, -2.5]).half().float()
  std::vector<float> f16 = {0.333251953125f, 65504.0f, inf, 0.0f, 5.9604644775390625e-08f, 1.0f, -2.5f};
  EXPECT_EQ(io::Array::from_tensor(x, io::DType::F16).to_tensor().to_vector(), f16);
  // torch.tensor([...]).bfloat16().float()
  std::vector<float> bf16 = {0.333984375f, 65536.0f, 65536.0f, 1.0011717677116394e-08f, 3.003515303134918e-08f, 1.0f, -2.5f};
  EXPECT_EQ(io::Array::from_tensor(x, io::DType::BF16).to_tensor().to_vector(), bf16);
}

TEST(IoFormats, TensorsThroughBothFormats) {
  set_seed(0);
  Tensor a = randn({3, 4, 5}), b = randn({7});
  TempFile st("t.safetensors"), np("t.npy");
  io::save_safetensors(st.path, {{"a", a}, {"b.weight", b.transpose(0, 0)}}, {{"k", "v"}});
  io::Metadata meta;
  auto back = io::load_safetensors(st.path, &meta);
  EXPECT_EQ(back.at("a").to_vector(), a.to_vector());
  EXPECT_EQ(back.at("b.weight").to_vector(), b.to_vector());
  EXPECT_EQ(meta.at("k"), "v");
  // A strided view is written in row-major order.
  Tensor t = a.transpose(0, 2);
  io::save_npy(np.path, t);
  Tensor u = io::load_npy(np.path);
  EXPECT_EQ(u.shape(), t.shape());
  EXPECT_EQ(u.to_vector(), t.to_vector());
}

TEST(IoFormats, ArraysOutliveTheMapping) {
  io::Array kept;
  {
    TempFile f("kept.safetensors");
    io::write_safetensors(f.path, every_dtype());
    kept = io::read_safetensors(f.path).arrays.at("I32");
  }  // file removed, last Safetensors gone: the mapping lives on in `kept`
  EXPECT_EQ(kept.values<int32_t>(), (std::vector<int32_t>{INT32_MIN, 7, INT32_MAX}));
}

}  // namespace
