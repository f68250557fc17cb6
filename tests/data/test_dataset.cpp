// The text corpus: reading with UTF-8 checks, nanoGPT's 90/10 split, training windows drawn as
// torch.randint draws them, resumable sampling, and evaluation windows.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <numeric>
#include <set>

#include <unistd.h>

#include "data_test_util.hpp"
#include "llm_journey/data/dataset.hpp"

using namespace lj::data;
using lj::test::expect_error;

namespace {
// A file of these bytes in the temporary directory, removed when the test is done.
struct TempText {
  TempText(const std::string& name, const std::string& bytes)
      : path(testing::TempDir() + std::to_string(::getpid()) + "_" + name) {  // tests run in parallel
    std::ofstream(path, std::ios::binary) << bytes;
  }
  ~TempText() { std::remove(path.c_str()); }
  TempText(const TempText&) = delete;
  TempText& operator=(const TempText&) = delete;
  const std::string path;
};
std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}
}  // namespace

TEST(TextFile, MissingAndNonUtf8FilesAreNamed) {
  expect_error([] { read_text_file("/nonexistent/corpus.txt"); }, {"/nonexistent/corpus.txt"});
  const TempText bad("lj_bad_utf8.txt", "hello\nw\xC3\xA9rld \xFF!");
  expect_error([&] { read_text_file(bad.path); }, {bad.path, "byte offset 13", "line 2", "0xFF"});
  const TempText truncated("lj_truncated.txt", "abc\xE2\x82");
  expect_error([&] { read_text_file(truncated.path); }, {truncated.path, "byte offset 3"});
  const TempText good("lj_good.txt", "w\xC3\xA9rld\n");
  EXPECT_EQ(read_text_file(good.path), "w\xC3\xA9rld\n");
}

TEST(TextSplit, CutsAtCodePoints) {
  // 10 characters, 20 bytes: the cut is after the 9th character, int(10 * 0.9) = 9.
  std::string text;
  for (int i = 0; i < 10; i++) text += "\xC3\xA9";
  TextSplit s = split_text(text);
  EXPECT_EQ(s.train.size(), 18u);
  EXPECT_EQ(s.val, "\xC3\xA9");
  EXPECT_EQ(split_text("abcdefghijklmnopqrs").train, "abcdefghijklmnopq");  // int(19 * 0.9) = 17
  expect_error([] { split_text("abc", 1.5); }, {"train_fraction=1.5"});
}

TEST(TextSplit, TinyShakespeareAsNanoGpt) {
  const std::string path = lj::test::shakespeare_path();
  if (!lj::test::file_exists(path)) GTEST_SKIP() << path << " is missing (make data)";
  CharTokenizer tok = CharTokenizer::from_text(read_text_file(path));
  Dataset data = Dataset::from_file(path, tok);
  EXPECT_EQ(data.train().size(), 1003854u);  // nanoGPT's prepare.py: train has 1,003,854 tokens
  EXPECT_EQ(data.val().size(), 111540u);     // val has 111,540 tokens
  EXPECT_EQ(&data.tokens(Split::val), &data.val());
  // The split is between "...O, tell me that" style lines; just check the seam decodes back.
  EXPECT_EQ(tok.decode(data.train()) + tok.decode(data.val()), read_text_file(path));
}

TEST(Batches, WindowsAreShiftedByOne) {
  const std::vector<int64_t> tokens = {10, 11, 12, 13, 14, 15, 16};
  Batch b = batch_at(tokens, {0, 3, 2}, 3);
  EXPECT_EQ(b.x.shape(), (lj::Shape{3, 3}));
  EXPECT_EQ(b.y.shape(), (lj::Shape{3, 3}));
  EXPECT_EQ(b.x_ids, (std::vector<int64_t>{10, 11, 12, 13, 14, 15, 12, 13, 14}));
  EXPECT_EQ(b.y_ids, (std::vector<int64_t>{11, 12, 13, 14, 15, 16, 13, 14, 15}));
  EXPECT_EQ(b.x.to_vector(), (std::vector<float>{10, 11, 12, 13, 14, 15, 12, 13, 14}));
  EXPECT_EQ(b.y.to_vector(), (std::vector<float>{11, 12, 13, 14, 15, 16, 13, 14, 15}));
  expect_error([&] { batch_at(tokens, {4}, 3); }, {"window start 4", "block_size=3", "there are 7"});
}

TEST(Batches, StartsMatchTorchRandint) {
  for (const auto& c : lj::test::data_ref("random_starts.json")) {
    lj::Generator gen(c["seed"].get<uint64_t>());
    const int64_t n = c["n"], T = c["block_size"], B = c["batch_size"];
    for (const auto& expected : c["starts"])  // two draws in a row from one generator
      EXPECT_EQ(random_starts(n, B, T, gen), expected.get<std::vector<int64_t>>()) << "seed " << c["seed"] << " n " << n;
  }
}

TEST(Batches, EveryStartIsReachableAndNoneBeyond) {
  const std::vector<int64_t> tokens = iota(10);
  const int64_t T = 3;  // starts 0..6: the last window is x = [6, 9), y = [7, 10)
  lj::Generator gen(0);
  std::set<int64_t> seen;
  for (int k = 0; k < 200; k++) {
    Batch b = get_batch(tokens, 8, T, gen);
    for (int64_t r = 0; r < 8; r++) {
      const int64_t s = b.x_ids[r * T];
      seen.insert(s);
      for (int64_t t = 0; t < T; t++) {
        EXPECT_EQ(b.x_ids[r * T + t], s + t);
        EXPECT_EQ(b.y_ids[r * T + t], s + t + 1);
      }
    }
  }
  EXPECT_EQ(seen, (std::set<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  // Exactly T + 1 tokens: one window only.
  for (int64_t s : random_starts(4, 16, 3, gen)) EXPECT_EQ(s, 0);
  expect_error([&] { random_starts(3, 1, 3, gen); }, {"3 tokens", "block_size=3", "needs 4"});
}

TEST(Batches, SamplerResumesExactly) {
  const std::vector<int64_t> tokens = iota(1000);
  BatchSampler a(tokens, 4, 16, 1337);
  for (int i = 0; i < 3; i++) a.next();
  const std::string state = a.state();
  std::vector<std::vector<int64_t>> rest;
  for (int i = 0; i < 4; i++) rest.push_back(a.next().x_ids);

  BatchSampler b(tokens, 4, 16, 999);  // another seed: the state replaces it
  b.set_state(state);
  EXPECT_EQ(b.batches_drawn(), 3);
  for (int i = 0; i < 4; i++) EXPECT_EQ(b.next().x_ids, rest[i]) << "batch " << i;
  EXPECT_EQ(b.batches_drawn(), 7);

  // The sampler draws what get_batch draws from a generator seeded alike.
  BatchSampler c(tokens, 4, 16, 1337);
  lj::Generator gen(1337);
  EXPECT_EQ(c.next().x_ids, get_batch(tokens, 4, 16, gen).x_ids);

  BatchSampler wrong(tokens, 8, 16, 1337);
  expect_error([&] { wrong.set_state(state); }, {"batch_size=4", "batch_size=8"});
  expect_error([&] { wrong.set_state("{}"); }, {"malformed state"});
}

TEST(EvalWindows, EveryBlockSizeTokensLastIncompleteDropped) {
  EXPECT_EQ(num_eval_windows(10, 3), 3);  // starts 0, 3, 6: the last needs tokens up to 10
  EXPECT_EQ(num_eval_windows(9, 3), 2);   // start 6 would need a 10th token
  EXPECT_EQ(num_eval_windows(4, 3), 1);
  EXPECT_EQ(num_eval_windows(3, 3), 0);
  EXPECT_EQ(num_eval_windows(0, 3), 0);

  const std::vector<int64_t> tokens = iota(10);
  Batch all = eval_batch(tokens, 3, 0, 100);  // count clipped to the 3 windows
  EXPECT_EQ(all.batch_size, 3);
  EXPECT_EQ(all.x_ids, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(all.y_ids, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  Batch last = eval_batch(tokens, 3, 2, 1);
  EXPECT_EQ(last.x_ids, (std::vector<int64_t>{6, 7, 8}));
  EXPECT_EQ(last.y_ids, (std::vector<int64_t>{7, 8, 9}));
  expect_error([&] { eval_batch(tokens, 3, 3, 1); }, {"windows [3, 4)", "3 evaluation windows"});
}

TEST(Dataset, BpeTokenisedSplits) {
  const std::string text = "the cat sat on the mat. the dog sat on the log. ";
  BpeTokenizer tok = BpeTokenizer::train(text, 280);
  Dataset data(text, tok);
  TextSplit parts = split_text(text);
  EXPECT_EQ(data.train(), tok.encode(parts.train));
  EXPECT_EQ(data.val(), tok.encode(parts.val));
  EXPECT_EQ(tok.decode(data.train()) + tok.decode(data.val()), text);
}
