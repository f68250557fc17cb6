// Mixed precision (llm_journey/autocast.hpp) against torch.autocast("cpu", dtype=torch.bfloat16):
// references from tests/torch_ref/make_autocast_refs.py (the autocast_refs fixture).
//
// How close we can be, and why not closer: both sides round a product's inputs to bf16 (nearest,
// ties to even) and sum in float32, but torch's autocast also rounds each product's OUTPUT to bf16
// and runs what follows on bf16 tensors (the bias add, GELU, the residual sums, the attention
// scaling and softmax); ours keeps float32 outputs. That is one more bf16 rounding (relative error
// up to 2^-9 = 0.2%) per op on torch's side, compounded through the layers, so the two agree to
// about 1e-2 in the norm-wise relative error ||ours - torch|| / ||torch||, not bit for bit. Measured
// here: see each test's bound. Our float32 results agree with torch's float32 to ~1e-6, and our bf16
// results differ from our float32 ones by far more than that (so a test would catch autocast that
// silently did nothing).
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "llm_journey/autocast.hpp"
#include "llm_journey/nn/gpt.hpp"
#include "llm_journey/nn/layers.hpp"
#include "llm_journey/ops_lm.hpp"
#include "llm_journey/optim.hpp"
#include "llm_journey/runtime.hpp"
#include "llm_journey/train.hpp"
#include "ops/gemm/gemm.hpp"
#include "ops/kernels.hpp"
#include "torch_ref.hpp"

using namespace lj;
using lj::test::RefFile;

namespace {

// ||got - want|| / ||want||, in double.
double rel_err(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.shape(), want.shape());
  const auto a = got.to_vector(), b = want.to_vector();
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); i++) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

bool all_finite(const Tensor& t) {
  for (float v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

// The bounds. kFp32: ours in float32 against torch in float32. kBf16: ours under autocast against
// torch under autocast (see the top of the file). kDiffers: ours under autocast must be at least this
// far from ours in float32.
constexpr double kFp32 = 1e-5;
constexpr double kBf16 = 1e-2;
constexpr double kDiffers = 1e-4;

Tensor rounded(const Tensor& t) { return t.to(Dtype::bf16).to(Dtype::f32); }

Tensor leaf(const Tensor& t) { return t.clone().requires_grad_(true); }

// (B,T,3,H,d) from three (B,H,T,d).
Tensor pack_qkv(const Tensor& q, const Tensor& k, const Tensor& v) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), d = q.size(3);
  Tensor out = Tensor::empty({B, T, 3, H, d});
  float* o = out.mutable_data();
  const Tensor* src[3] = {&q, &k, &v};
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t i = 0; i < 3; i++)
        for (int64_t h = 0; h < H; h++)
          for (int64_t j = 0; j < d; j++)
            o[(((b * T + t) * 3 + i) * H + h) * d + j] = src[i]->data()[((b * H + h) * T + t) * d + j];
  return out;
}

}  // namespace

// --- the two ways to compute a product --------------------------------------------------------

TEST(Autocast, RoundingIsTorchsRoundToNearestEven) {
  const uint32_t bits[] = {0x3f800000u, 0x3f808000u /* tie, even below */, 0x3f818000u /* tie, odd below */,
                           0x3f80ffffu, 0xbf80c000u, 0x7f7fffffu /* rounds up to inf */, 0x7f800000u,
                           0xff800000u, 0x7fc00001u /* NaN */, 0x00000001u /* subnormal */, 0x80000000u};
  for (uint32_t u : bits) {
    float x, y;
    std::memcpy(&x, &u, 4);
    kernels::round_to_bf16_values(&y, &x, 1);
    const float want = to_float(to_bfloat16(x));
    EXPECT_EQ(std::memcmp(&y, &want, 4), 0) << std::hex << u;
  }
}

// The bf16_gemm path (bf16 buffers, gemm_bf16) and the f32_gemm path (float32 buffers of bf16
// values, the float32 GEMM) give the same bits. On a CPU without bf16 instructions gemm_bf16 runs
// its widened_f32 variant, so both can run here; on one with them, the bf16 path is oneDNN's.
TEST(Autocast, BothPathsGiveTheSameBits) {
  const int64_t shapes[][3] = {{64, 96, 80}, {5, 7, 9}, {128, 384, 128}};
  for (const auto& s : shapes) {
    for (int t = 0; t < 4; t++) {
      const bool ta = t & 1, tb = t & 2;
      const int64_t M = s[0], N = s[1], K = s[2];
      set_seed(static_cast<uint64_t>(M + t));
      const Tensor A = randn({ta ? K : M, ta ? M : K}), B = randn({tb ? N : K, tb ? K : N});
      const int64_t lda = A.size(1), ldb = B.size(1);
      std::vector<float> c[2];
      for (int p = 0; p < 2; p++) {
        const auto path = p == 0 ? kernels::AutocastPath::bf16_gemm : kernels::AutocastPath::f32_gemm;
        const Tensor a = Tensor::empty(A.shape(), kernels::autocast_buffer_dtype(path));
        const Tensor b = Tensor::empty(B.shape(), kernels::autocast_buffer_dtype(path));
        void* pa = p == 0 ? static_cast<void*>(a.mutable_data_ptr<bfloat16>()) : a.mutable_data();
        void* pb = p == 0 ? static_cast<void*>(b.mutable_data_ptr<bfloat16>()) : b.mutable_data();
        kernels::round_for_autocast(path, pa, A.data(), A.size(0), A.size(1), lda);
        kernels::round_for_autocast(path, pb, B.data(), B.size(0), B.size(1), ldb);
        c[p].assign(static_cast<size_t>(M * N), 0.5f);
        kernels::gemm_autocast(path, ta, tb, M, N, K, pa, lda, pb, ldb, 1.0f, c[p].data(), N);
        if (p == 0 && !runtime().has_bf16_instructions())
          EXPECT_STREQ(kernels::last_gemm_variant(), "widened_f32");
      }
      EXPECT_EQ(std::memcmp(c[0].data(), c[1].data(), c[0].size() * sizeof(float)), 0)
          << M << "x" << N << "x" << K << " trans " << ta << tb;
    }
  }
}

TEST(Autocast, ThePathFollowsTheCpu) {
  EXPECT_EQ(kernels::autocast_path() == kernels::AutocastPath::bf16_gemm, runtime().has_bf16_instructions());
}

// --- the ops, against torch -----------------------------------------------------------------

TEST(Autocast, LinearMatchesTorch) {
  RefFile r("autocast");
  for (const char* tag : {"fp32", "bf16"}) {
    const bool bf = std::string(tag) == "bf16";
    Tensor x = leaf(r["linear.x"]), w = leaf(r["linear.w"]), b = leaf(r["linear.b"]);
    Tensor y;
    {
      Autocast guard(Dtype::bf16, bf);
      y = linear(x, w, b);
    }
    (y * r["linear.dy"]).sum().backward();  // the backward pass outside the scope: it follows the forward
    const std::string p = std::string("linear.") + tag + ".";
    const double tol = bf ? kBf16 : kFp32;
    EXPECT_LT(rel_err(y, r[p + "y"]), tol);
    EXPECT_LT(rel_err(x.grad(), r[p + "dx"]), tol);
    EXPECT_LT(rel_err(w.grad(), r[p + "dw"]), tol);
    EXPECT_LT(rel_err(b.grad(), r[p + "db"]), tol);
    if (bf) {
      EXPECT_GT(rel_err(y, r["linear.fp32.y"]), kDiffers);
      EXPECT_GT(rel_err(w.grad(), r["linear.fp32.dw"]), kDiffers);
      std::printf("linear vs torch autocast: y %.2e dx %.2e dw %.2e db %.2e\n", rel_err(y, r[p + "y"]),
                  rel_err(x.grad(), r[p + "dx"]), rel_err(w.grad(), r[p + "dw"]), rel_err(b.grad(), r[p + "db"]));
    }
  }
}

// Under autocast, linear is float32 linear over bf16-rounded inputs, bit for bit; its backward the
// float32 backward with dy rounded too.
TEST(Autocast, LinearIsFloat32LinearOfRoundedInputs) {
  RefFile r("autocast");
  Tensor x = leaf(r["linear.x"]), w = leaf(r["linear.w"]);
  Tensor y;
  {
    Autocast guard(Dtype::bf16);
    y = linear(x, w, r["linear.b"]);
  }
  (y * r["linear.dy"]).sum().backward();
  Tensor xr = leaf(rounded(r["linear.x"])), wr = leaf(rounded(r["linear.w"]));
  Tensor yr = linear(xr, wr, r["linear.b"]);
  EXPECT_EQ(test::max_abs_diff(y, yr), 0.0f);
  (yr * rounded(r["linear.dy"])).sum().backward();
  EXPECT_EQ(test::max_abs_diff(x.grad(), xr.grad()), 0.0f);
  EXPECT_EQ(test::max_abs_diff(w.grad(), wr.grad()), 0.0f);
}

TEST(Autocast, MatmulMatchesTorch) {
  RefFile r("autocast");
  for (const char* tag : {"fp32", "bf16"}) {
    const bool bf = std::string(tag) == "bf16";
    Tensor a = leaf(r["matmul.a"]), b = leaf(r["matmul.b"]);
    Tensor y;
    {
      Autocast guard(Dtype::bf16, bf);
      y = matmul(a, b);
    }
    (y * r["matmul.dy"]).sum().backward();
    const std::string p = std::string("matmul.") + tag + ".";
    const double tol = bf ? kBf16 : kFp32;
    EXPECT_LT(rel_err(y, r[p + "y"]), tol);
    EXPECT_LT(rel_err(a.grad(), r[p + "da"]), tol);
    EXPECT_LT(rel_err(b.grad(), r[p + "db"]), tol);
    if (bf) EXPECT_GT(rel_err(y, r["matmul.fp32.y"]), kDiffers);
  }
}

// Causal attention over (B,H,T,d) views and over packed projections (B,T,3,H,d), as the GPT runs it.
TEST(Autocast, AttentionMatchesTorch) {
  RefFile r("autocast");
  const Tensor q0 = r["attn.q"], k0 = r["attn.k"], v0 = r["attn.v"], dout = r["attn.do"];
  for (const char* tag : {"fp32", "bf16"}) {
    const bool bf = std::string(tag) == "bf16";
    const std::string p = std::string("attn.") + tag + ".";
    const double tol = bf ? kBf16 : kFp32;
    for (bool packed : {false, true}) {
      SCOPED_TRACE(std::string(tag) + (packed ? " packed" : " views"));
      Tensor q = leaf(q0), k = leaf(k0), v = leaf(v0), qkv;
      Tensor y;
      {
        Autocast guard(Dtype::bf16, bf);
        if (packed) {  // (B,T,3,H,d) from the three (B,H,T,d)
          qkv = leaf(pack_qkv(q0, k0, v0));
          y = scaled_dot_product_attention_packed(qkv, /*causal=*/true, 0.0, false).output;
        } else {
          y = scaled_dot_product_attention(q, k, v, Tensor(), /*causal=*/true).output;
        }
      }
      (y * dout).sum().backward();
      EXPECT_LT(rel_err(y, r[p + "y"]), tol);
      Tensor dq = packed ? qkv.grad().select(2, 0).transpose(1, 2) : q.grad();
      Tensor dk = packed ? qkv.grad().select(2, 1).transpose(1, 2) : k.grad();
      Tensor dv = packed ? qkv.grad().select(2, 2).transpose(1, 2) : v.grad();
      EXPECT_LT(rel_err(dq.contiguous(), r[p + "dq"]), tol);
      EXPECT_LT(rel_err(dk.contiguous(), r[p + "dk"]), tol);
      EXPECT_LT(rel_err(dv.contiguous(), r[p + "dv"]), tol);
      if (bf) {
        EXPECT_GT(rel_err(y, r["attn.fp32.y"]), kDiffers);
        EXPECT_GT(rel_err(dq.contiguous(), r["attn.fp32.dq"]), kDiffers);
        std::printf("attention (%s) vs torch autocast: y %.2e dq %.2e dk %.2e dv %.2e\n", packed ? "packed" : "views",
                    rel_err(y, r[p + "y"]), rel_err(dq.contiguous(), r[p + "dq"]),
                    rel_err(dk.contiguous(), r[p + "dk"]), rel_err(dv.contiguous(), r[p + "dv"]));
      }
    }
  }
}

// nanoGPT's CPU configuration: logits, loss and every parameter's gradient.
TEST(Autocast, GPTMatchesTorch) {
  RefFile r("autocast");
  const nn::GPTConfig cfg{.block_size = 64, .vocab_size = 65, .n_layer = 4, .n_head = 4, .n_embd = 128};
  nn::GPT model(cfg);
  for (auto& [name, p] : model.named_parameters()) p.copy_(r["gpt.init." + name]);
  std::map<std::string, Tensor> ours_fp32;
  for (const char* tag : {"fp32", "bf16"}) {
    const bool bf = std::string(tag) == "bf16";
    const std::string p = std::string("gpt.") + tag + ".";
    const double tol = bf ? kBf16 : kFp32;
    for (auto& pr : model.parameters()) pr.zero_grad();
    Tensor logits, loss;
    {
      Autocast guard(Dtype::bf16, bf);
      logits = model(r["gpt.idx"]);
      loss = cross_entropy(logits, r["gpt.targets"]);
      loss.backward();
    }
    EXPECT_LT(rel_err(logits, r[p + "logits"]), tol);
    EXPECT_NEAR(loss.item(), r[p + "loss"].item(), bf ? 2e-3 : 1e-5);
    double worst = 0;
    std::string worst_name;
    for (auto& [name, prm] : model.named_parameters()) {
      if (name == "lm_head.weight") continue;  // the tied weight: its gradient is wte's
      ASSERT_TRUE(prm.grad().defined()) << name;
      EXPECT_TRUE(all_finite(prm.grad())) << name;
      const double e = rel_err(prm.grad(), r[p + "grad." + name]);
      EXPECT_LT(e, tol) << name;
      if (e > worst) worst = e, worst_name = name;
      if (bf) EXPECT_GT(rel_err(prm.grad(), ours_fp32[name]), kDiffers) << name;
      else ours_fp32[name] = prm.grad().clone();
    }
    if (bf) {
      EXPECT_GT(rel_err(logits, r["gpt.fp32.logits"]), kDiffers);
      std::printf("GPT vs torch autocast: logits %.2e, loss %.5f vs %.5f, worst gradient %.2e (%s)\n",
                  rel_err(logits, r[p + "logits"]), loss.item(), r[p + "loss"].item(), worst, worst_name.c_str());
    }
  }
}

// --- the weight's bf16 copy ----------------------------------------------------------------

// nn::Linear rounds its weight once per optimizer step, however many products use it.
TEST(Autocast, TheWeightIsRoundedOncePerStep) {
  set_seed(3);
  nn::Linear lin(32, 24);
  optim::AdamW opt(lin.parameters());
  const Tensor x = randn({5, 32});
  Autocast guard(Dtype::bf16);
  for (int step = 0; step < 3; step++) {
    for (int use = 0; use < 4; use++) lin(x).sum().backward();  // 4 forwards and 4 backwards
    opt.step();
    opt.zero_grad();
  }
  const auto st = lin.weight_cache_stats();
  EXPECT_EQ(st.rounded_rebuilt, 3);
  EXPECT_EQ(st.rounded_reused, 9);
  // A weight written behind the library's back (untracked) is rounded again at every call, never stale.
  lin.weight.mutable_data()[0] = 1000.0f;
  EXPECT_EQ(lin(x).data()[0], linear(x, lin.weight, lin.bias).data()[0]);
}

// --- training ----------------------------------------------------------------------------

namespace {

std::string corpus() {
  const char* words[] = {"the ", "king ", "queen ", "shall ", "speak ", "now, ", "and ", "we ", "go.\n"};
  Generator g(5);
  std::string s;
  for (int i = 0; i < 6000; i++) s += words[g.random() % 9];
  return s;
}

}  // namespace

// A bf16 run interrupted and resumed from its (float32) checkpoint is the run not interrupted, bit
// for bit; and it is not the float32 run.
TEST(Autocast, ResumedBf16RunEqualsUninterruptedRunBitForBit) {
  const std::string text = corpus();
  auto tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig c;
  c.model = {.block_size = 16, .vocab_size = tok.vocab_size(), .n_layer = 2, .n_head = 2, .n_embd = 32,
             .dropout = 0.1};
  c.batch_size = 4;
  c.grad_accum = 2;
  c.max_iters = 12;
  c.warmup_iters = 3;
  c.lr = 3e-3;
  c.min_lr = 3e-4;
  c.eval_interval = 4;
  c.eval_iters = 2;
  c.dtype = Dtype::bf16;
  const auto dir = std::filesystem::temp_directory_path() / ("lj_bf16_resume_" + std::to_string(::getpid()));
  const std::string a_ckpt = (dir / "a" / "checkpoint.safetensors").string();
  const std::string b_ckpt = (dir / "b" / "checkpoint.safetensors").string();

  train::Trainer a(c, ds, tok);
  a.run({.checkpoint = a_ckpt});
  {
    train::Trainer b(c, ds, tok);
    b.run({.checkpoint = b_ckpt, .stop_at = 6});
    b.save_checkpoint(b_ckpt);
  }
  auto b = train::Trainer::resume(b_ckpt, ds);
  EXPECT_EQ(b->config().dtype, Dtype::bf16);  // the checkpoint says so
  b->run({.checkpoint = b_ckpt});
  ASSERT_EQ(a.history().loss.size(), 12u);
  ASSERT_EQ(b->history().loss.size(), 12u);
  for (size_t i = 0; i < 12; i++) EXPECT_EQ(a.history().loss[i], b->history().loss[i]) << "iteration " << i;
  auto pa = a.model().named_parameters(), pb = b->model().named_parameters();
  for (size_t i = 0; i < pa.size(); i++) {
    EXPECT_EQ(pa[i].second.dtype(), Dtype::f32) << pa[i].first;  // master weights stay float32
    EXPECT_EQ(test::max_abs_diff(pa[i].second, pb[i].second), 0.0f) << pa[i].first;
  }

  c.dtype = Dtype::f32;
  train::Trainer f(c, ds, tok);
  f.run({});
  EXPECT_NE(f.history().loss.back(), a.history().loss.back());  // autocast did something
  EXPECT_NEAR(f.history().loss.back(), a.history().loss.back(), 0.05);
  std::filesystem::remove_all(dir);
}
