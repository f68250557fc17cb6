// The bf16 dtype: rounding as torch rounds, storage, views, products, files, and clear errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "llm_journey/io.hpp"
#include "llm_journey/llm_journey.hpp"
#include "torch_ref.hpp"

namespace lj {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(Bf16, RoundsAsTorchDoes) {
  test::RefFile ref("bf16");
  const std::vector<float> x = ref["x"].to_vector(), want = ref["x.bf16"].to_vector();
  const Tensor b = Tensor::from_vector(x, {static_cast<int64_t>(x.size())}).to(bf16);
  ASSERT_EQ(b.dtype(), bf16);
  const bfloat16* p = b.data_ptr<bfloat16>();
  for (size_t i = 0; i < x.size(); i++)
    ASSERT_EQ(static_cast<uint32_t>(p[i].bits) << 16, bits_of(want[i])) << "x=" << x[i] << " (index " << i << ")";
  const std::vector<float> back = b.to(f32).to_vector();  // widening is exact
  for (size_t i = 0; i < x.size(); i++) ASSERT_EQ(bits_of(back[i]), bits_of(want[i])) << i;
}

TEST(Bf16, NaNStaysNaN) {
  const Tensor b = Tensor::from_vector({std::nanf(""), -std::nanf("")}, {2}).to(bf16);
  for (float v : b.to_vector()) EXPECT_TRUE(std::isnan(v));
}

TEST(Bf16, ViewsKeepTheDtype) {
  const Tensor a = Tensor::arange(12).reshape({3, 4}).to(bf16);
  const Tensor t = a.transpose(0, 1);
  EXPECT_EQ(t.dtype(), bf16);
  EXPECT_FALSE(t.is_contiguous());
  const Tensor c = t.contiguous();
  EXPECT_EQ(c.dtype(), bf16);
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(a.slice(1, 1, 3).select(0, 2).to_vector(), (std::vector<float>{9, 10}));
  EXPECT_EQ(a.select(0, 1).select(0, 3).item(), 7.0f);
  EXPECT_EQ(a.detach().dtype(), bf16);
  EXPECT_EQ(Tensor::zeros({5}, bf16).to_vector(), std::vector<float>(5, 0.0f));
  EXPECT_NE(a.str().find("dtype=bf16"), std::string::npos) << a.str();
  Tensor d = Tensor::zeros({3, 4}, bf16);
  d.copy_(a);
  EXPECT_EQ(d.to_vector(), a.to_vector());
}

TEST(Bf16, MatmulSumsExactProductsInFloat32) {
  test::RefFile ref("bf16");
  for (const std::string n : {"small", "mid", "large"}) {
    const Tensor a = ref[n + ".a"].to(bf16), b = ref[n + ".b"].to(bf16);
    ASSERT_EQ(a.to(f32).to_vector(), ref[n + ".a"].to_vector()) << "the reference values are bf16 already";
    const Tensor y = matmul(a, b);
    EXPECT_EQ(y.dtype(), f32);
    // float32 sums of exact products, against double sums: float32 rounding only
    EXPECT_TRUE(test::close_rel(y, ref[n + ".out"], 1e-5f)) << n;
    // a transposed operand (a strided view) gives the same
    const Tensor bt = b.transpose(0, 1).contiguous().transpose(0, 1);
    EXPECT_FALSE(bt.is_contiguous());
    EXPECT_TRUE(test::close_rel(matmul(a, bt), ref[n + ".out"], 1e-5f)) << n;
  }
  // batched: two halves of the rows of `mid` against the same B, stacked
  const Tensor a = ref["mid.a"].reshape({2, 20, 96}).to(bf16);
  const Tensor b = ref["mid.b"].to(bf16);
  EXPECT_TRUE(test::close_rel(matmul(a, b).reshape({40, 72}), ref["mid.out"], 1e-5f));
}

TEST(Bf16, SafetensorsKeepTheBytes) {
  // written by torch as BF16: read as bf16, the bytes as they are, then written back unchanged
  const std::string in = test::refs_dir() + "/bf16_stored.safetensors";
  const io::TensorMap kept = io::load_safetensors(in, nullptr, /*keep_bf16=*/true);
  const Tensor w = kept.at("w");
  ASSERT_EQ(w.dtype(), bf16);
  const io::Array raw = io::read_safetensors(in).arrays.at("w");
  ASSERT_EQ(raw.dtype(), io::DType::BF16);
  ASSERT_EQ(std::memcmp(w.data_ptr<bfloat16>(), raw.data(), raw.nbytes()), 0);
  test::RefFile ref("bf16");
  const std::vector<float> want = ref["x.bf16"].to_vector();
  const std::vector<float> got = w.to_vector();
  for (size_t i = 0; i < got.size(); i++) EXPECT_EQ(bits_of(got[i]), bits_of(want[i])) << i;
  // without keep_bf16 the same file loads as float32, as before
  EXPECT_EQ(io::load_safetensors(in).at("w").dtype(), f32);

  const std::string out = (std::filesystem::temp_directory_path() /
                           ("lj_bf16_" + std::to_string(getpid()) + ".safetensors")).string();
  io::save_safetensors(out, {{"w", w}, {"f", Tensor::ones({2})}});
  const io::Safetensors back = io::read_safetensors(out);
  EXPECT_EQ(back.arrays.at("w"), raw) << "a bf16 tensor is written as BF16, byte for byte";
  EXPECT_EQ(back.arrays.at("f").dtype(), io::DType::F32);
  std::filesystem::remove(out);
}

TEST(Bf16, ErrorsNameTheDtype) {
  const Tensor b = Tensor::ones({2, 3}).to(bf16);
  try {
    (void)b.data();
    FAIL() << "data() on a bf16 tensor must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is bf16, not f32"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)Tensor::ones({2}).data_ptr<bfloat16>(), Error);
  EXPECT_THROW(b + b, Error);  // ops compute in float32: a bf16 operand is refused, not misread
  EXPECT_THROW(matmul(b, Tensor::ones({3, 2})), Error);
  Tensor leaf = Tensor::ones({2}).requires_grad_();
  EXPECT_THROW(leaf.to(bf16), Error);
  {
    NoGradGuard no_grad;
    EXPECT_EQ(leaf.to(bf16).dtype(), bf16);
  }
  Tensor c = Tensor::zeros({2}, bf16);
  EXPECT_THROW(c.requires_grad_(), Error);
  EXPECT_THROW(c.fill_(1.0f), Error);
}

}  // namespace
}  // namespace lj
