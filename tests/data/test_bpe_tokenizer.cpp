// Byte-level BPE: GPT-2's pre-tokenisation and encoder checked against an independent Python
#include <map>
// implementation (tests/torch_ref/make_data_refs.py), training against a plain Python trainer,
// exact round trips for any bytes, serialisation, and errors in GPT-2's files.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "data_test_util.hpp"
#include "llm_journey/data/dataset.hpp"
#include "llm_journey/data/tokenizer.hpp"
#include "llm_journey/data/unicode.hpp"

using namespace lj::data;
using lj::test::data_ref;
using lj::test::expect_error;

namespace {

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

// GPT-2's bpe() as written in encoder.py (quadratic; for checking the heap version on long pieces).
std::vector<int64_t> naive_gpt2_bpe(const BpeTokenizer& tok, std::string_view piece) {
  std::vector<int64_t> word;
  for (unsigned char c : piece) word.push_back(tok.encode_piece(std::string(1, static_cast<char>(c)))[0]);
  std::map<std::pair<int64_t, int64_t>, int64_t> rank;
  for (size_t r = 0; r < tok.merges().size(); r++) rank[{tok.merges()[r].left, tok.merges()[r].right}] = r;
  while (word.size() > 1) {
    int64_t best = -1;
    for (size_t i = 0; i + 1 < word.size(); i++)
      if (auto it = rank.find({word[i], word[i + 1]}); it != rank.end() && (best < 0 || it->second < best)) best = it->second;
    if (best < 0) break;
    const auto& m = tok.merges()[best];
    std::vector<int64_t> out;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == m.left && word[i + 1] == m.right) {
        out.push_back(m.result);
        i += 2;
      } else {
        out.push_back(word[i++]);
      }
    }
    word = out;
  }
  return word;
}

BpeTokenizer gpt2_test_tokenizer() {
  return BpeTokenizer::from_gpt2_files(lj::test::data_ref_path("vocab.json"), lj::test::data_ref_path("merges.txt"));
}

}  // namespace

TEST(Gpt2Pretokenize, MatchesThePatternInPython) {
  for (const auto& c : data_ref("pretokenize.json")) {
    const std::string text = c["text"];
    std::vector<std::string> got;
    for (std::string_view p : gpt2_pretokenize(text)) got.emplace_back(p);
    EXPECT_EQ(got, c["pieces"].get<std::vector<std::string>>()) << "text: " << text;
  }
}

TEST(Gpt2Pretokenize, PiecesCoverAnyBytes) {
  std::mt19937 rng(1);
  for (int k = 0; k < 200; k++) {
    const std::string s = random_bytes(rng, rng() % 64);
    std::string joined;
    for (std::string_view p : gpt2_pretokenize(s)) {
      EXPECT_FALSE(p.empty());
      joined += p;
    }
    EXPECT_EQ(joined, s);
  }
}

TEST(BpeTokenizer, TrainingMatchesAPlainTrainer) {
  const auto ref = data_ref("bpe_train.json");
  BpeTokenizer tok = BpeTokenizer::train(ref["corpus"].get<std::string>(), ref["vocab_size"].get<int64_t>());
  const auto expected = ref["merges"].get<std::vector<std::pair<int64_t, int64_t>>>();
  ASSERT_EQ(tok.merges().size(), expected.size());
  for (size_t i = 0; i < expected.size(); i++) {
    EXPECT_EQ(tok.merges()[i].left, expected[i].first) << "merge " << i;
    EXPECT_EQ(tok.merges()[i].right, expected[i].second) << "merge " << i;
    EXPECT_EQ(tok.merges()[i].result, 256 + static_cast<int64_t>(i));
  }
  EXPECT_EQ(tok.vocab_size(), ref["vocab_size"].get<int64_t>());
}

TEST(BpeTokenizer, Gpt2FilesEncodeAsGpt2sEncoder) {
  BpeTokenizer tok = gpt2_test_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 256 + 220 + 1);
  EXPECT_EQ(tok.token_bytes(tok.vocab_size() - 1), "<|endoftext|>");
  EXPECT_EQ(tok.token_bytes(0), "!");  // GPT-2's ids start with the printable bytes
  for (const auto& c : data_ref("gpt2_encode.json")) {
    const std::string text = c["text"];
    const std::vector<int64_t> ids = tok.encode(text);
    EXPECT_EQ(ids, c["ids"].get<std::vector<int64_t>>()) << "text: " << text;
    EXPECT_EQ(tok.decode(ids), text);
  }
}

TEST(BpeTokenizer, HeapMergingEqualsGpt2sLoopOnLongPieces) {
  BpeTokenizer tok = gpt2_test_tokenizer();
  std::mt19937 rng(2);
  const std::string alphabet = "aeth 0Ġ'\n";
  for (int k = 0; k < 300; k++) {
    std::string piece;
    const size_t n = 1 + rng() % 200;
    for (size_t i = 0; i < n; i++) piece += k % 2 ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() & 0xFF);
    ASSERT_EQ(tok.encode_piece(piece), naive_gpt2_bpe(tok, piece)) << "case " << k;
  }
  // Overlapping occurrences: "0000" merges left to right.
  EXPECT_EQ(tok.encode_piece("000"), naive_gpt2_bpe(tok, "000"));
}

TEST(BpeTokenizer, RoundTripIsExactForAnyBytes) {
  const auto ref = data_ref("bpe_train.json");
  BpeTokenizer trained = BpeTokenizer::train(ref["corpus"].get<std::string>(), 400);
  BpeTokenizer gpt2 = gpt2_test_tokenizer();
  std::mt19937 rng(3);
  std::vector<std::string> cases = {"", std::string(1, '\0'), "\xFF\xFE", "\xC3", "a\xC3(b", "\xED\xA0\x80",
                                    "\xF4\x90\x80\x80", "\xC0\xAF", "caf\xC3\xA9 \xE2\x82", std::string(5000, ' '),
                                    std::string(3000, '\xFF')};
  for (int k = 0; k < 200; k++) cases.push_back(random_bytes(rng, rng() % 300));
  cases.push_back(random_bytes(rng, 20000));
  for (const std::string& s : cases) {
    EXPECT_EQ(trained.decode(trained.encode(s)), s);
    EXPECT_EQ(gpt2.decode(gpt2.encode(s)), s);
  }
}

TEST(BpeTokenizer, SerialisesAndRestores) {
  const auto ref = data_ref("bpe_train.json");
  const std::string corpus = ref["corpus"];
  BpeTokenizer trained = BpeTokenizer::train(corpus, 300);
  BpeTokenizer gpt2 = gpt2_test_tokenizer();
  for (const BpeTokenizer* tok : {&trained, &gpt2}) {
    const std::string s = tok->serialize();
    std::unique_ptr<Tokenizer> back = Tokenizer::deserialize(s);
    EXPECT_EQ(back->type(), "bpe");
    EXPECT_EQ(back->vocab_size(), tok->vocab_size());
    EXPECT_EQ(back->encode(corpus), tok->encode(corpus));
    EXPECT_EQ(back->serialize(), s);
  }
  // Bytes-then-merges ids need no token list; GPT-2's order does.
  EXPECT_EQ(trained.serialize().find("\"tokens\""), std::string::npos);
  EXPECT_NE(gpt2.serialize().find("\"tokens\""), std::string::npos);
}

TEST(BpeTokenizer, TrainingEdgeCases) {
  expect_error([] { BpeTokenizer::train("abc", 255); }, {"vocab_size=255"});
  BpeTokenizer bytes_only = BpeTokenizer::train("abc", 256);
  EXPECT_EQ(bytes_only.vocab_size(), 256);
  EXPECT_EQ(bytes_only.encode("ab"), (std::vector<int64_t>{'a', 'b'}));
  // "aaaa" has only so many pairs to merge: training stops early.
  BpeTokenizer small = BpeTokenizer::train("aaaa", 1000);
  EXPECT_EQ(small.vocab_size(), 258);  // aa, then aaaa
  EXPECT_EQ(small.encode("aaaaa"), (std::vector<int64_t>{257, 'a'}));
  // Ties go to the smallest (left, right): "ab" and "cd" are equally frequent.
  BpeTokenizer tie = BpeTokenizer::train("cd-ab", 257);
  EXPECT_EQ(tie.merges()[0].left, 'a');
  EXPECT_EQ(tie.merges()[0].right, 'b');
}

TEST(BpeTokenizer, DecodeRejectsOutOfRangeIds) {
  BpeTokenizer tok = BpeTokenizer::train("abc", 256);
  expect_error([&] { tok.decode({97, 256}); }, {"id 256", "position 1", "[0, 256)"});
}

TEST(BpeTokenizer, MalformedGpt2FilesAreNamed) {
  std::string vocab = "{";
  const std::vector<char32_t> alphabet = gpt2_bytes_to_unicode();
  for (int b = 0; b < 256; b++) {
    std::string s;
    append_utf8(s, alphabet[b]);
    nlohmann::json key = s;
    vocab += (b ? "," : "") + key.dump() + ":" + std::to_string(b);
  }
  const std::string good_vocab = vocab + R"(,"ab":256})";
  EXPECT_EQ(BpeTokenizer::from_gpt2(good_vocab, "#version: 0.2\na b\n").encode("abab"), (std::vector<int64_t>{256, 256}));
  expect_error([&] { BpeTokenizer::from_gpt2(good_vocab, "#version: 0.2\na c\n"); }, {"line 2", "'ac'", "not in vocab.json"});
  expect_error([&] { BpeTokenizer::from_gpt2(good_vocab, "a b c\n"); }, {"line 1", "two tokens"});
  expect_error([&] { BpeTokenizer::from_gpt2(good_vocab, "ab \xE2\x98\x83\n"); }, {"line 1", "'\xE2\x98\x83' is not in vocab.json"});
  expect_error([&] { BpeTokenizer::from_gpt2(vocab + R"(,"ab":300})", ""); }, {"'ab'", "id 300", "dense"});
  expect_error([&] { BpeTokenizer::from_gpt2(vocab + R"(,"a b":256})", ""); }, {"'a b'", "U+0020"});
  expect_error([&] { BpeTokenizer::from_gpt2(R"({"a":0})", ""); }, {"single byte 0"});
  expect_error([&] { BpeTokenizer::from_gpt2("[1,2", ""); }, {"not JSON"});
  expect_error([] { BpeTokenizer::from_gpt2_files("/nonexistent/vocab.json", "/nonexistent/merges.txt"); },
               {"/nonexistent/vocab.json"});
  expect_error([] { Tokenizer::deserialize(R"({"type":"bpe","merges":[97,98,300,1]})"); }, {"merge 1", "300"});
  expect_error([] { Tokenizer::deserialize(R"({"type":"bpe","merges":[97]})"); }, {"odd length"});
}

TEST(BpeTokenizer, TinyShakespeareTrainsToVocab512) {
  const std::string path = lj::test::shakespeare_path();
  if (!lj::test::file_exists(path)) GTEST_SKIP() << path << " is missing (make data)";
  const std::string text = read_text_file(path);
  const auto t0 = std::chrono::steady_clock::now();
  BpeTokenizer tok = BpeTokenizer::train(text, 512);
  const auto t1 = std::chrono::steady_clock::now();
  const std::vector<int64_t> ids = tok.encode(text);
  const auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(tok.vocab_size(), 512);
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_LT(ids.size(), text.size() * 55 / 100);  // 256 merges on English: about 1.9 bytes a token
  std::printf("tiny-shakespeare: train to 512 in %.2f s, encode in %.2f s, %zu bytes -> %zu tokens\n",
              std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count(),
              text.size(), ids.size());
}
