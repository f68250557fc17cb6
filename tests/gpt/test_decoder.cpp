// Generation over packed weights (nn::Decoder): the packing and every matrix-vector variant against
// torch, a Hugging Face GPT-2 directory against a plain-PyTorch twin, the sliding context, and the
// UTF-8 stream against Python's decoder.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "gpt/hf_dir.hpp"
#include "llm_journey/data/utf8_stream.hpp"
#include "llm_journey/nn/decoder.hpp"
#include "llm_journey/nn/gpt_import.hpp"
#include "ops/matvec.hpp"
#include "torch_ref.hpp"
#include "data/data_test_util.hpp"

using namespace lj;

namespace {

std::vector<float> vec(const Tensor& t) { return t.to_vector(); }

// |got - want| <= (K + 2) u sum_k |w_k x_k| + u |want|, u = 2^-24: the bound of a float32 sum of K
// products (plus a block's scale) against the exact sum, which the reference holds rounded to float32.
::testing::AssertionResult within_sum_bound(const std::vector<float>& got, const Tensor& want, const Tensor& abs_sum,
                                            int64_t K) {
  const std::vector<float> w = vec(want), a = vec(abs_sum);
  const double u = std::ldexp(1.0, -24);
  for (size_t n = 0; n < w.size(); n++) {
    const double bound = (static_cast<double>(K) + 2) * u * a[n] + u * std::abs(w[n]);
    if (!(std::abs(static_cast<double>(got[n]) - w[n]) <= bound))
      return ::testing::AssertionFailure() << "row " << n << ": got " << got[n] << ", torch " << w[n] << ", bound "
                                           << bound;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

TEST(Pack, Bf16RoundsAsTorch) {
  test::RefFile r("decoder_pack");
  const std::vector<float> in = vec(r["bf16.input"]), bits = vec(r["bf16.bits"]);
  std::vector<uint16_t> got(in.size());
  ops::pack_bf16(got.data(), in.data(), static_cast<int64_t>(in.size()));
  auto is_nan = [](uint16_t b) { return (b & 0x7F80) == 0x7F80 && (b & 0x7F) != 0; };
  for (size_t i = 0; i < in.size(); i++) {
    const auto want = static_cast<uint16_t>(bits[i]);
    if (std::isnan(in[i]))  // a NaN's sign and payload are torch's choice (its vector and scalar paths differ)
      EXPECT_TRUE(is_nan(got[i]) && is_nan(want)) << got[i] << " " << want;
    else
      EXPECT_EQ(got[i], want) << "value " << in[i];
  }
}

TEST(Pack, Int8BlocksAsTorch) {
  test::RefFile r("decoder_pack");
  for (const std::string c : {"small", "odd", "wide"}) {
    const Tensor w = r[c + ".w"];
    const int64_t N = w.size(0), K = w.size(1);
    std::vector<int8_t> q(static_cast<size_t>(N * K));
    std::vector<float> d(static_cast<size_t>(N * ops::q8_blocks(K)));
    ops::pack_q8(q.data(), d.data(), vec(w).data(), N, K);
    const std::vector<float> want_q = vec(r[c + ".q"]), want_d = vec(r[c + ".d"]);
    ASSERT_EQ(want_d.size(), d.size()) << c;
    for (size_t i = 0; i < q.size(); i++) ASSERT_EQ(q[i], static_cast<int8_t>(want_q[i])) << c << " weight " << i;
    for (size_t i = 0; i < d.size(); i++) ASSERT_EQ(d[i], want_d[i]) << c << " scale " << i;
  }
}

TEST(Matvec, EveryVariantMatchesTorchWithinTheSumBound) {
  test::RefFile r("decoder_pack");
  int ran = 0;
  for (const ops::MatvecKernels* k : ops::matvec_variants()) {
    if (!k->supported()) continue;
    ran++;
    for (const std::string c : {"small", "odd", "wide"}) {
      const Tensor wt = r[c + ".w"];
      const int64_t N = wt.size(0), K = wt.size(1);
      const std::vector<float> w = vec(wt), x = vec(r[c + ".x"]);
      std::vector<uint16_t> wb(w.size());
      ops::pack_bf16(wb.data(), w.data(), static_cast<int64_t>(w.size()));
      std::vector<int8_t> q(w.size());
      std::vector<float> d(static_cast<size_t>(N * ops::q8_blocks(K)));
      ops::pack_q8(q.data(), d.data(), w.data(), N, K);
      std::vector<float> y(static_cast<size_t>(N), NAN);
      // in two calls, [0, 3) and [3, N): a thread's share starts anywhere
      const int64_t mid = std::min<int64_t>(3, N);
      k->f32(y.data(), w.data(), x.data(), 0, mid, K);
      k->f32(y.data(), w.data(), x.data(), mid, N, K);
      EXPECT_TRUE(within_sum_bound(y, r[c + ".y_f32"], r[c + ".abs_f32"], K)) << k->name << " f32 " << c;
      k->bf16(y.data(), wb.data(), x.data(), 0, mid, K);
      k->bf16(y.data(), wb.data(), x.data(), mid, N, K);
      EXPECT_TRUE(within_sum_bound(y, r[c + ".y_bf16"], r[c + ".abs_bf16"], K)) << k->name << " bf16 " << c;
      k->q8(y.data(), q.data(), d.data(), x.data(), 0, mid, K);
      k->q8(y.data(), q.data(), d.data(), x.data(), mid, N, K);
      EXPECT_TRUE(within_sum_bound(y, r[c + ".y_q8"], r[c + ".abs_q8"], K)) << k->name << " q8 " << c;
    }
  }
  EXPECT_GE(ran, 1);
  // The variant that runs is the last one the CPU supports.
  const ops::MatvecKernels* last = nullptr;
  for (const ops::MatvecKernels* k : ops::matvec_variants())
    if (k->supported()) last = k;
  EXPECT_EQ(&ops::matvec_best(), last);
  if (__builtin_cpu_supports("avx512f")) EXPECT_STREQ(ops::matvec_best().name, "avx512");
}

TEST(PackedMatrix, ProductsOfOneAndManyRowsMatchTorch) {
  test::RefFile r("decoder_pack");
  for (const std::string c : {"odd", "wide"}) {
    const Tensor wt = r[c + ".w"];
    const int64_t N = wt.size(0), K = wt.size(1);
    const std::vector<float> w = vec(wt), x = vec(r[c + ".x"]);
    const std::vector<float> xs = [&] {  // three rows: x, 0, x
      std::vector<float> v(x);
      v.resize(static_cast<size_t>(2 * K), 0.0f);
      v.insert(v.end(), x.begin(), x.end());
      return v;
    }();
    for (auto [f, ref] : {std::pair{nn::WeightFormat::f32, "f32"}, {nn::WeightFormat::bf16, "bf16"},
                          {nn::WeightFormat::int8, "q8"}}) {
      nn::PackedMatrix p(w.data(), N, K, f);
      std::vector<float> y(static_cast<size_t>(N));
      p.matmul(y.data(), x.data(), 1, nullptr, false);
      EXPECT_TRUE(within_sum_bound(y, r[c + ".y_" + ref], r[c + ".abs_" + ref], K)) << c << " " << ref << " M=1";
      // three rows through the GEMM path (over float32 panels of the packed rows), added to y = 0
      std::vector<float> y3(static_cast<size_t>(3 * N), 0.0f);
      p.matmul(y3.data(), xs.data(), 3, nullptr, /*accumulate=*/true);
      for (int64_t n = 0; n < N; n++) EXPECT_EQ(y3[static_cast<size_t>(N + n)], 0.0f);
      EXPECT_TRUE(within_sum_bound(std::vector<float>(y3.begin(), y3.begin() + N), r[c + ".y_" + ref],
                                   r[c + ".abs_" + ref], K)) << c << " " << ref << " M=3 row 0";
      EXPECT_TRUE(within_sum_bound(std::vector<float>(y3.begin() + 2 * N, y3.end()), r[c + ".y_" + ref],
                                   r[c + ".abs_" + ref], K)) << c << " " << ref << " M=3 row 2";
    }
  }
}

TEST(Utf8Stream, MatchesPythonsReplaceDecodingWhateverTheSplit) {
  test::RefFile r("decoder_utf8");
  const std::vector<float> bytes = vec(r["utf8.bytes"]), lens = vec(r["utf8.lengths"]), outs = vec(r["utf8.out"]),
                           out_lens = vec(r["utf8.out_lengths"]);
  std::mt19937 rng(7);
  size_t bi = 0, oi = 0;
  for (size_t c = 0; c < lens.size(); c++) {
    std::string in, want;
    for (size_t i = 0; i < static_cast<size_t>(lens[c]); i++) in += static_cast<char>(static_cast<int>(bytes[bi++]));
    for (size_t i = 0; i < static_cast<size_t>(out_lens[c]); i++) want += static_cast<char>(static_cast<int>(outs[oi++]));
    for (int split = 0; split < 3; split++) {  // whole, byte by byte, random pieces
      data::Utf8Stream s;
      std::string got;
      size_t i = 0;
      while (i < in.size()) {
        const size_t n = split == 0 ? in.size() : split == 1 ? 1 : 1 + rng() % 4;
        const std::string piece = s.push(std::string_view(in).substr(i, n));
        EXPECT_EQ(data::find_invalid_utf8(piece), std::string::npos) << "case " << c;
        got += piece;
        i += n;
      }
      got += s.finish();
      EXPECT_EQ(got, want) << "case " << c << " split " << split;
    }
  }
  data::Utf8Stream s;  // an incomplete character is held back until it completes
  EXPECT_EQ(s.push("a\xE2\x82"), "a");
  EXPECT_EQ(s.pending(), 2u);
  EXPECT_EQ(s.push("\xAC"), "\xE2\x82\xAC");
}

// --- a Hugging Face GPT-2 directory --------------------------------------------------------------

namespace {

std::string shakespeare_head(size_t n) {
  std::string t = data::read_text_file(test::shakespeare_path());
  return t.substr(0, n);
}

// The twin's logits for the ids of `prompt`.
Tensor twin_logits(const std::string& dir, const std::vector<int64_t>& ids, const std::string& prompt) {
  const std::string tmp = test::temp_dir("twin_io");
  io::save_safetensors(tmp + "/ids.safetensors", {{"ids", ids_to_tensor(ids, {static_cast<int64_t>(ids.size())})}});
  test::write_text(tmp + "/prompt.txt", prompt);
  const std::string cmd = std::string("/usr/bin/python3 ") + LJ_SOURCE_DIR + "/tests/torch_ref/hf_gpt2_twin.py " + dir +
                          " " + tmp + "/ids.safetensors " + tmp + "/prompt.txt " + tmp + "/logits.safetensors";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("the twin failed: " + cmd);
  Tensor logits = io::load_safetensors(tmp + "/logits.safetensors").at("logits");
  std::filesystem::remove_all(tmp);
  return logits;
}

}  // namespace

TEST(HFGPT2Dir, LogitsEqualAPlainTorchTwinInPrefillAndTokenByToken) {
  const test::HFDir d = test::make_hf_gpt2_dir(
      "hf_twin", shakespeare_head(20000), 320,
      nn::GPTConfig{.block_size = 64, .vocab_size = 0, .n_layer = 2, .n_head = 4, .n_embd = 64}, 11);
  nn::HFGPT2 hf = nn::load_hf_gpt2_dir(d.dir);
  EXPECT_EQ(hf.model->config.n_head, 4);
  EXPECT_EQ(hf.model->config.n_layer, 2);
  EXPECT_EQ(hf.model->config.block_size, 64);
  EXPECT_TRUE(hf.gelu_tanh);
  const std::string prompt = "ROMEO:\nBut soft, what light through yonder window breaks? It is the east";
  const std::vector<int64_t> ids = hf.tokenizer->encode(prompt);
  ASSERT_GE(ids.size(), 10u);
  ASSERT_LE(ids.size(), 64u);
  const Tensor want = twin_logits(d.dir, ids, prompt);
  nn::Decoder dec(*hf.model, {.format = nn::WeightFormat::f32, .gelu_tanh = hf.gelu_tanh,
                              .layer_norm_eps = hf.layer_norm_eps});
  EXPECT_TRUE(test::close_abs(dec.logits(ids), want, 1e-4f));  // the prompt in one pass
  dec.reset();
  const int64_t V = want.size(1);
  for (size_t t = 0; t < ids.size(); t++) {  // one token at a time through the cache
    const float* got = dec.append({ids[t]});
    Tensor row = Tensor::from_vector(std::vector<float>(got, got + V), {V});
    EXPECT_TRUE(test::close_abs(row, want.select(0, static_cast<int64_t>(t)), 1e-4f)) << "position " << t;
  }
  std::filesystem::remove_all(d.dir);
}

TEST(HFGPT2Dir, BadDirectoriesAreNamed) {
  const test::HFDir d = test::make_hf_gpt2_dir(
      "hf_bad", shakespeare_head(5000), 270,
      nn::GPTConfig{.block_size = 16, .vocab_size = 0, .n_layer = 1, .n_head = 2, .n_embd = 32}, 3);
  const std::string cfg = data::read_text_file(d.dir + "/config.json");
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json j = nlohmann::json::parse(cfg);
    if (value.is_null()) j.erase(key);
    else j[key] = value;
    test::write_text(d.dir + "/config.json", j.dump());
  };
  auto expect_error = [&](std::initializer_list<std::string> fragments) {
    test::expect_error([&] { nn::load_hf_gpt2_dir(d.dir); }, fragments);
  };
  with("n_head", 5);
  expect_error({"n_embd=32", "n_head=5"});
  with("n_layer", 3);
  expect_error({"n_layer=3", "has 1"});
  with("n_positions", 17);
  expect_error({"n_positions=17", "has 16"});
  with("activation_function", "relu");
  expect_error({"activation_function 'relu'"});
  with("n_embd", -4);
  expect_error({"'n_embd' = -4"});
  with("n_head", nullptr);
  expect_error({"no 'n_head'"});
  with("model_type", "llama");
  expect_error({"\"llama\""});
  test::write_text(d.dir + "/config.json", "{\"n_head\": 2,");
  expect_error({"config.json is not valid JSON"});
  test::write_text(d.dir + "/config.json", cfg);
  nn::load_hf_gpt2_dir(d.dir);  // restored: loads
  std::filesystem::remove(d.dir + "/merges.txt");
  expect_error({"has no merges.txt"});
  test::expect_error([&] { nn::load_hf_gpt2_dir(d.dir + "/nothing"); }, {"nothing", "is not a directory"});
  std::filesystem::remove_all(d.dir);
}

// --- the sliding context ------------------------------------------------------------------------

TEST(Decoder, SlidesPastBlockSizeAndEachStepEqualsTheWindowRecomputed) {
  set_seed(5);
  nn::GPT model(nn::GPTConfig{.block_size = 16, .vocab_size = 40, .n_layer = 2, .n_head = 2, .n_embd = 32});
  model.eval();
  nn::Decoder dec(model, {});
  std::vector<int64_t> text = {1, 2, 3, 4, 5};
  const float* logits = dec.append(text);
  int64_t cuts = 0;
  size_t last_size = dec.context().size();
  for (int step = 0; step < 60; step++) {
    // the context is the end of the text, between ceil(16/2) and 16 tokens once past the start
    const std::vector<int64_t>& ctx = dec.context();
    ASSERT_LE(ctx.size(), 16u);
    ASSERT_TRUE(std::equal(ctx.begin(), ctx.end(), text.end() - static_cast<long>(ctx.size())));
    if (text.size() > 16) ASSERT_GE(ctx.size(), 8u);
    if (ctx.size() < last_size) cuts++;
    last_size = ctx.size();
    // the logits are those of the window computed from scratch by the model (tested against torch)
    Tensor want = model.forward(ids_to_tensor(ctx, {1, static_cast<int64_t>(ctx.size())}))
                      .select(1, static_cast<int64_t>(ctx.size()) - 1)
                      .select(0, 0);
    Tensor got = Tensor::from_vector(std::vector<float>(logits, logits + 40), {40});
    ASSERT_TRUE(test::close_abs(got, want, 1e-5f)) << "step " << step;
    const int64_t next = std::max_element(logits, logits + 40) - logits;
    text.push_back(next);
    logits = dec.append({next});
  }
  if (dec.context().size() < last_size) cuts++;
  EXPECT_EQ(dec.recomputes(), cuts);
  EXPECT_GE(cuts, 5);  // 65 tokens through a window of 16 that is cut to 8: one cut per 8 tokens
}
