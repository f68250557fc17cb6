// MultiHeadAttention and TransformerBlock against their PyTorch twins (tests/torch_ref/course.py) on the
// same weights and inputs: outputs within 1e-5, every input and parameter gradient within 1e-4 of the
// largest reference value, at the seed's shape (2, 10, 64), 8 heads, and at (4, 128, 256), 8 heads.
#include "torch_ref.hpp"

namespace lj {
namespace {

using test::RefFile;

constexpr float kForwardAtol = 1e-5f;
constexpr float kGradRtol = 1e-4f;

struct Shapes {
  int64_t D, H, F;
};
Shapes shapes_of(const std::string& tag) { return tag == "seed" ? Shapes{64, 8, 256} : Shapes{256, 8, 1024}; }

void check_grads(nn::Module& m, const RefFile& ref, const std::string& prefix, const std::vector<Tensor>& inputs) {
  for (size_t i = 0; i < inputs.size(); i++)
    EXPECT_TRUE(test::close_rel(inputs[i].grad(), ref["grad.in." + std::to_string(i)], kGradRtol)) << "input " << i;
  auto params = m.named_parameters();
  for (auto& [name, p] : params) {
    Tensor want = ref["grad.param." + prefix + name];
    if (name.ends_with("w_k.bias")) {
      // Zero in exact arithmetic: the key bias adds q.b_k to a whole row of scores, and softmax
      // ignores a constant added to a row. Both sides hold only round-off; check that it is round-off,
      // i.e. tiny next to the key weights' gradient.
      std::string w = name.substr(0, name.size() - 4) + "weight";
      float scale = test::max_abs(ref["grad.param." + prefix + w]);
      EXPECT_LE(test::max_abs(p.grad()), 1e-5f * scale) << name;
      EXPECT_LE(test::max_abs(want), 1e-5f * scale) << name << " (reference)";
      continue;
    }
    EXPECT_TRUE(test::close_rel(p.grad(), want, kGradRtol)) << name;
  }
}

class ModulesTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(ModulesTorch, SelfAttention) {
  RefFile ref("mha_self_" + GetParam());
  Shapes s = shapes_of(GetParam());
  nn::MultiHeadAttention mha(s.D, s.H);
  test::load_params(mha, ref, "attention.");
  Tensor x = ref["in.0"].clone().detach().requires_grad_();
  Tensor y = mha(x, x, x);
  EXPECT_TRUE(test::close_abs(y, ref["out"], kForwardAtol));
  EXPECT_TRUE(test::close_abs(mha.attention_weights(), ref["attn"], 1e-6f));
  y.backward(ref["dy"]);
  check_grads(mha, ref, "attention.", {x});
}

TEST_P(ModulesTorch, CrossAttentionWithPaddingMask) {
  RefFile ref("mha_cross_" + GetParam());
  Shapes s = shapes_of(GetParam());
  nn::MultiHeadAttention mha(s.D, s.H);
  test::load_params(mha, ref);
  std::vector<Tensor> in;
  for (int i = 0; i < 3; i++) in.push_back(ref["in." + std::to_string(i)].clone().detach().requires_grad_());
  Tensor y = mha(in[0], in[1], in[2], ref["mask"]);
  EXPECT_TRUE(test::close_abs(y, ref["out"], kForwardAtol));
  y.backward(ref["dy"]);
  check_grads(mha, ref, "", in);
}

TEST_P(ModulesTorch, TransformerBlockVariants) {
  struct Variant {
    const char* name;
    nn::BlockOptions options;
  };
  Shapes s = shapes_of(GetParam());
  for (Variant v : {Variant{"post_relu", {}},
                    Variant{"pre_gelu_causal", {.norm_first = true, .causal = true, .activation = nn::Activation::gelu}},
                    Variant{"post_gelu", {.activation = nn::Activation::gelu}},
                    Variant{"pre_relu", {.norm_first = true}}}) {
    SCOPED_TRACE(v.name);
    RefFile ref(std::string("block_") + v.name + "_" + GetParam());
    nn::TransformerBlock block(s.D, s.H, s.F, 0.0, v.options);
    test::load_params(block, ref);
    Tensor x = ref["in.0"].clone().detach().requires_grad_();
    Tensor y = block(x);
    EXPECT_TRUE(test::close_abs(y, ref["out"], kForwardAtol));
    y.backward(ref["dy"]);
    check_grads(block, ref, "", {x});
  }
}

TEST_P(ModulesTorch, TransformerBlockWithMaskBlockingARow) {
  RefFile ref("block_masked_" + GetParam());
  Shapes s = shapes_of(GetParam());
  nn::TransformerBlock block(s.D, s.H, s.F);
  test::load_params(block, ref);
  Tensor x = ref["in.0"].clone().detach().requires_grad_();
  Tensor y = block(x, ref["mask"]);
  EXPECT_TRUE(test::close_abs(y, ref["out"], kForwardAtol));
  // Query 1 may attend nothing: its weights are zeros, not NaN.
  Tensor w = block.attention.attention_weights();
  for (float v : w.slice(2, 1, 2).to_vector()) ASSERT_EQ(v, 0.0f);
  EXPECT_TRUE(test::close_abs(w, ref["attn"], 1e-6f));
  y.backward(ref["dy"]);
  check_grads(block, ref, "", {x});
}

INSTANTIATE_TEST_SUITE_P(Shapes, ModulesTorch, ::testing::Values("seed", "large"));

}  // namespace
}  // namespace lj
