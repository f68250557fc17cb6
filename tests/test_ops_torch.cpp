// Every op's output and input gradients against torch's, on the same inputs and upstream gradient.
#include <functional>

#include "torch_ref.hpp"

namespace lj {
namespace {

using test::RefFile;

const RefFile& ops_ref() {
  static RefFile ref("ops");
  return ref;
}

// Runs fn on leaf copies of the reference inputs, back-propagates the reference dy and compares.
void check_op(const std::string& name, int n_inputs, const std::function<Tensor(std::vector<Tensor>&)>& fn) {
  const RefFile& ref = ops_ref();
  std::vector<Tensor> xs;
  for (int i = 0; i < n_inputs; i++) {
    Tensor x = ref[name + ".in." + std::to_string(i)].clone().detach();
    xs.push_back(x.requires_grad_());
  }
  Tensor y = fn(xs);
  EXPECT_TRUE(test::close_abs(y, ref[name + ".out"], 1e-5f)) << name << " forward";
  y.backward(ref[name + ".dy"]);
  for (int i = 0; i < n_inputs; i++)
    EXPECT_TRUE(test::close_rel(xs[i].grad(), ref[name + ".grad." + std::to_string(i)], 1e-5f))
        << name << " gradient of input " << i;
}

TEST(OpsTorch, BroadcastingArithmetic) {
  check_op("add_bcast", 2, [](auto& x) { return x[0] + x[1]; });
  check_op("sub_bcast", 2, [](auto& x) { return x[0] - x[1]; });
  check_op("mul_bcast", 2, [](auto& x) { return x[0] * x[1]; });
  check_op("div_bcast", 2, [](auto& x) { return x[0] / x[1]; });
  check_op("mul_same", 2, [](auto& x) { return x[0] * x[1]; });
}

TEST(OpsTorch, Unary) {
  check_op("exp", 1, [](auto& x) { return exp(x[0]); });
  check_op("log", 1, [](auto& x) { return log(x[0]); });
  check_op("tanh", 1, [](auto& x) { return tanh(x[0]); });
  check_op("sqrt", 1, [](auto& x) { return sqrt(x[0]); });
  check_op("sigmoid", 1, [](auto& x) { return sigmoid(x[0]); });
  check_op("relu", 1, [](auto& x) { return relu(x[0]); });
  check_op("gelu", 1, [](auto& x) { return gelu(x[0]); });
  check_op("gelu_tanh", 1, [](auto& x) { return gelu(x[0], true); });
  check_op("pow3", 1, [](auto& x) { return pow(x[0], 3.0f); });
}

TEST(OpsTorch, SoftmaxAndLayerNorm) {
  check_op("softmax", 1, [](auto& x) { return softmax(x[0], -1); });
  check_op("softmax_dim1", 1, [](auto& x) { return softmax(x[0], 1); });
  check_op("log_softmax", 1, [](auto& x) { return log_softmax(x[0], -1); });
  check_op("layer_norm", 3, [](auto& x) { return layer_norm(x[0], x[1], x[2]); });
}

TEST(OpsTorch, LinearAndMatmul) {
  check_op("linear", 3, [](auto& x) { return linear(x[0], x[1], x[2]); });
  check_op("matmul_2d", 2, [](auto& x) { return matmul(x[0], x[1]); });
  check_op("matmul_nd_2d", 2, [](auto& x) { return matmul(x[0], x[1]); });
  check_op("matmul_batched", 2, [](auto& x) { return matmul(x[0], x[1]); });
}

// nn::Linear on at most 64 rows uses its cached W^T, multiplied in blocks of rows (and stored with
// padded rows when wide); the first call builds the cache, the second reuses it. 65 rows take the
// uncached product.
TEST(OpsTorch, LinearModuleOnFewRows) {
  const RefFile& ref = ops_ref();
  for (const char* name : {"linear_module_20x256x64_bias", "linear_module_20x256x64_nobias",
                           "linear_module_5x512x128_nobias", "linear_module_64x384x96_bias",
                           "linear_module_1x1024x32_nobias", "linear_module_20x64x256_nobias",
                           "linear_module_65x256x64_nobias"}) {
    const std::string n = name;
    const Tensor& w = ref[n + ".weight"];
    const bool bias = ref.has(n + ".bias");
    nn::Linear lin(w.size(1), w.size(0), bias);
    {
      NoGradGuard no_grad;
      lin.weight.copy_(w);
      if (bias) lin.bias.copy_(ref[n + ".bias"]);
    }
    for (int call = 0; call < 2; call++)
      EXPECT_TRUE(test::close_abs(lin(ref[n + ".x"]), ref[n + ".out"], 1e-5f)) << n << ", call " << call;
  }
}

TEST(OpsTorch, LinearAdd) {
  check_op("linear_add", 4, [](auto& x) { return linear_add(x[0], x[1], x[2], x[3]); });
  check_op("linear_add_nobias", 3, [](auto& x) { return linear_add(x[0], x[1], x[2]); });
  check_op("linear_add_96x128x512", 3, [](auto& x) { return linear_add(x[0], x[1], x[2]); });
  // through nn::Linear::forward_add: the first call builds the cached W^T, the second reuses it
  const RefFile& ref = ops_ref();
  for (const char* name : {"linear_add", "linear_add_20x256x64"}) {
    const std::string n = name;
    const Tensor& w = ref[n + ".in.2"];
    nn::Linear lin(w.size(1), w.size(0), true);
    {
      NoGradGuard no_grad;
      lin.weight.copy_(w);
      lin.bias.copy_(ref[n + ".in.3"]);
    }
    for (int call = 0; call < 2; call++) {
      Tensor r = ref[n + ".in.0"].clone().detach().requires_grad_();
      Tensor x = ref[n + ".in.1"].clone().detach().requires_grad_();
      lin.zero_grad();
      Tensor y = lin.forward_add(x, r);
      EXPECT_TRUE(test::close_abs(y, ref[n + ".out"], 1e-5f)) << n << ", call " << call;
      y.backward(ref[n + ".dy"]);
      EXPECT_TRUE(test::close_rel(r.grad(), ref[n + ".grad.0"], 1e-5f)) << n << ", call " << call;
      EXPECT_TRUE(test::close_rel(x.grad(), ref[n + ".grad.1"], 1e-5f)) << n << ", call " << call;
      EXPECT_TRUE(test::close_rel(lin.weight.grad(), ref[n + ".grad.2"], 1e-5f)) << n << ", call " << call;
      EXPECT_TRUE(test::close_rel(lin.bias.grad(), ref[n + ".grad.3"], 1e-5f)) << n << ", call " << call;
    }
    EXPECT_EQ(lin.weight_cache_stats().rebuilt, 1) << n;
    EXPECT_GT(lin.weight_cache_stats().unchanged_by_version + lin.weight_cache_stats().unchanged_by_compare, 0) << n;
  }
  // a residual that already has a gradient when linear_add's turn comes (here from the outer sum,
  // which runs first) gets dy added onto it
  {
    Tensor r = ref["linear_add.in.0"].clone().detach().requires_grad_();
    Tensor y = linear_add(r, ref["linear_add.in.1"], ref["linear_add.in.2"], ref["linear_add.in.3"]) + r;
    y.backward(ref["linear_add.dy"]);
    EXPECT_TRUE(test::close_rel(r.grad(), ref["linear_add.grad.0"] * 2.0f, 1e-6f));
  }
  EXPECT_THROW(linear_add(Tensor::zeros({4, 6}), Tensor::zeros({4, 6}), Tensor::zeros({7, 6})), Error);
  EXPECT_THROW(linear_add(Tensor(), Tensor::zeros({4, 6}), Tensor::zeros({7, 6})), Error);
}

TEST(OpsTorch, ReductionsAndViews) {
  check_op("sum", 1, [](auto& x) { return x[0].sum(); });
  check_op("sum_dim", 1, [](auto& x) { return x[0].sum(1); });
  check_op("mean_dim_keep", 1, [](auto& x) { return x[0].mean(-1, true); });
  check_op("std", 1, [](auto& x) { return x[0].std(); });
  check_op("var_biased", 1, [](auto& x) { return x[0].var(false); });
  check_op("transpose_reshape", 1, [](auto& x) { return x[0].transpose(0, 2).reshape({4, -1}) * 2.0f; });
  check_op("permute_slice", 1, [](auto& x) { return x[0].permute({2, 0, 1}).slice(0, 1, 3).sum(0); });
  check_op("reuse", 1, [](auto& x) { return x[0] * x[0] + x[0]; });
}

TEST(OpsTorch, ScaledDotProductAttention) {
  const RefFile& ref = ops_ref();
  for (const char* name : {"sdpa_plain", "sdpa_causal", "sdpa_masked", "sdpa_long_causal", "sdpa_long_masked",
                           "sdpa_heads", "sdpa_heads_causal"}) {
    const std::string n = name;
    Tensor mask = ref.has(n + ".mask") ? ref[n + ".mask"] : Tensor();
    const bool causal = n.find("causal") != std::string::npos;
    Tensor weights;
    check_op(n, 3, [&](auto& x) {
      AttentionResult r = scaled_dot_product_attention(x[0], x[1], x[2], mask, causal);
      weights = r.weights;
      return r.output;
    });
    EXPECT_TRUE(test::close_abs(weights, ref[n + ".weights"], 1e-6f)) << n << " weights";
  }
}

// Attention over packed projections (B, T, 3, H, d), in every kernel's size range; its gradient
// lands in qkv directly.
TEST(OpsTorch, ScaledDotProductAttentionPacked) {
  const RefFile& ref = ops_ref();
  for (const char* name : {"sdpa_packed_gpt", "sdpa_packed_long", "sdpa_packed_rows", "sdpa_packed_lanes"}) {
    const std::string n = name;
    const bool causal = n != "sdpa_packed_long";
    Tensor weights;
    check_op(n, 1, [&](auto& x) {
      AttentionResult r = scaled_dot_product_attention_packed(x[0], causal);
      weights = r.weights;
      return r.output;
    });
    EXPECT_TRUE(test::close_abs(weights, ref[n + ".weights"], 1e-6f)) << n << " weights";
  }
}

TEST(OpsTorch, ScaledDotProductAttentionPackedRejectsBadShapes) {
  EXPECT_THROW(scaled_dot_product_attention_packed(Tensor::zeros({2, 4, 2, 3, 8})), Error);
  EXPECT_THROW(scaled_dot_product_attention_packed(Tensor::zeros({2, 4, 3 * 3 * 8})), Error);
  EXPECT_THROW(scaled_dot_product_attention_packed(Tensor::zeros({2, 4, 3, 3, 8}), true, 1.0, true), Error);
}

// Long sequences run flash attention (no weights kept): against PyTorch, forward within 1e-5 and
// gradients within 1e-5 relative, and with the weights asked for, those too.
TEST(OpsTorch, ScaledDotProductAttentionFlash) {
  const RefFile& ref = ops_ref();
  for (const char* name : {"sdpa_flash_causal", "sdpa_flash_masked", "sdpa_flash_cross", "sdpa_flash_one_query",
                           "sdpa_flash_kv_offset"}) {
    const std::string n = name;
    Tensor mask = ref.has(n + ".mask") ? ref[n + ".mask"] : Tensor();
    const bool causal = n == "sdpa_flash_causal" || n == "sdpa_flash_kv_offset";
    check_op(n, 3, [&](auto& x) {
      const int64_t offset = x[1].size(2) - x[0].size(2);
      AttentionResult r = scaled_dot_product_attention(x[0], x[1], x[2], mask, causal, 0.0, false, offset);
      EXPECT_FALSE(r.weights.defined()) << n << ": the flash path keeps no weights";
      AttentionResult w = scaled_dot_product_attention_with_weights(x[0], x[1], x[2], mask, causal, 0.0, false, offset);
      EXPECT_EQ(w.output.to_vector(), r.output.to_vector()) << n << ": asking for the weights changed the output";
      EXPECT_TRUE(test::close_abs(w.weights, ref[n + ".weights"], 1e-6f)) << n << " weights";
      return r.output;
    });
  }
  check_op("sdpa_packed_flash", 1, [&](auto& x) { return scaled_dot_product_attention_packed(x[0], true).output; });
}

}  // namespace
}  // namespace lj