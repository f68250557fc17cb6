// The character-level tokenizer: nanoGPT's shakespeare_char vocabulary, UTF-8, errors, serialisation.
#include <gtest/gtest.h>

#include "data_test_util.hpp"
#include "llm_journey/data/dataset.hpp"
#include "llm_journey/data/tokenizer.hpp"

using namespace lj::data;
using lj::test::expect_error;

TEST(CharTokenizer, VocabularyIsSortedDistinctCharacters) {
  CharTokenizer tok = CharTokenizer::from_text("hello world");
  // sorted(set("hello world")) = [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
  EXPECT_EQ(tok.vocab_size(), 8);
  EXPECT_EQ(tok.encode("hello"), (std::vector<int64_t>{3, 2, 4, 4, 5}));
  EXPECT_EQ(tok.decode({7, 5, 6, 4, 1}), "world");
  EXPECT_EQ(tok.type(), "char");
}

TEST(CharTokenizer, Utf8IsOneTokenPerCodePoint) {
  const std::string text = "naïve café — 東京 🙂!";
  CharTokenizer tok = CharTokenizer::from_text(text);
  std::vector<int64_t> ids = tok.encode(text);
  EXPECT_EQ(ids.size(), 18u);  // len("naïve café — 東京 🙂!") in Python
  EXPECT_EQ(tok.decode(ids), text);
  // Code point order, as Python's sorted(set(text)): 京 is U+4EAC, 東 U+6771.
  const std::vector<char32_t> expected = {U' ', U'!', U'a', U'c', U'e', U'f', U'n', U'v', U'é', U'ï',
                                          U'—', U'京', U'東', U'🙂'};
  EXPECT_EQ(tok.chars(), expected);
}

TEST(CharTokenizer, UnknownCharacterIsNamed) {
  CharTokenizer tok = CharTokenizer::from_text("abc");
  expect_error([&] { tok.encode("abz"); }, {"U+007A 'z'", "byte offset 2", "3 characters"});
  expect_error([&] { tok.encode("ab\xC3\xA9"); }, {"U+00E9 'é'", "byte offset 2"});
  expect_error([&] { tok.encode("a\n"); }, {"U+000A", "byte offset 1"});
}

TEST(CharTokenizer, InvalidUtf8IsAnError) {
  expect_error([] { CharTokenizer::from_text("ab\xFF"); }, {"byte offset 2", "0xFF"});
  CharTokenizer tok = CharTokenizer::from_text("abc");
  expect_error([&] { tok.encode("a\xC3"); }, {"not valid UTF-8", "byte offset 1"});
  expect_error([&] { tok.encode("\xED\xA0\x80"); }, {"byte offset 0"});  // a surrogate
  expect_error([&] { tok.encode("\xC0\xAF"); }, {"byte offset 0"});      // overlong '/'
}

TEST(CharTokenizer, DecodeRejectsOutOfRangeIds) {
  CharTokenizer tok = CharTokenizer::from_text("abc");
  expect_error([&] { tok.decode({0, 3}); }, {"id 3", "position 1", "[0, 3)"});
  expect_error([&] { tok.decode({-1}); }, {"id -1"});
}

TEST(CharTokenizer, SerialisesAndRestores) {
  const std::string text = "To be, or not to be:\nthat is the question. Ça va? ☃";
  CharTokenizer tok = CharTokenizer::from_text(text);
  const std::string s = tok.serialize();
  std::unique_ptr<Tokenizer> back = Tokenizer::deserialize(s);
  EXPECT_EQ(back->type(), "char");
  EXPECT_EQ(back->vocab_size(), tok.vocab_size());
  EXPECT_EQ(back->encode(text), tok.encode(text));
  EXPECT_EQ(back->serialize(), s);
  // The format other tools (tools/from_nanogpt.py) write: ids are positions in "chars".
  std::unique_ptr<Tokenizer> t2 = Tokenizer::deserialize(R"({"type":"char","chars":"ba\n"})");
  EXPECT_EQ(t2->encode("ab\n"), (std::vector<int64_t>{1, 0, 2}));
}

TEST(CharTokenizer, MalformedSerialisationIsAnError) {
  expect_error([] { Tokenizer::deserialize("not json"); }, {"not JSON"});
  expect_error([] { Tokenizer::deserialize(R"({"type":"word"})"); }, {"unknown tokenizer type 'word'"});
  expect_error([] { Tokenizer::deserialize(R"({"type":"char","chars":"aba"})"); }, {"U+0061 'a'", "twice"});
  expect_error([] { Tokenizer::deserialize(R"({"type":"char"})"); }, {"expected"});
  expect_error([] { Tokenizer::deserialize(R"({"type":"char","chars":""})"); }, {"empty"});
}

TEST(CharTokenizer, TinyShakespeareHas65Characters) {
  const std::string path = lj::test::shakespeare_path();
  if (!lj::test::file_exists(path)) GTEST_SKIP() << path << " is missing (make data)";
  const std::string text = read_text_file(path);
  CharTokenizer tok = CharTokenizer::from_text(text);
  EXPECT_EQ(tok.vocab_size(), 65);
  // nanoGPT's meta.pkl: itos[0] = '\n', itos[1] = ' ', itos[13] = 'A', itos[39] = 'a'.
  EXPECT_EQ(tok.chars()[0], U'\n');
  EXPECT_EQ(tok.chars()[1], U' ');
  EXPECT_EQ(tok.chars()[13], U'A');
  EXPECT_EQ(tok.chars()[39], U'a');
  EXPECT_EQ(tok.encode("First Citizen"), (std::vector<int64_t>{18, 47, 56, 57, 58, 1, 15, 47, 58, 47, 64, 43, 52}));
  std::vector<int64_t> ids = tok.encode(text);
  EXPECT_EQ(ids.size(), 1115394u);
  EXPECT_EQ(tok.decode(ids), text);
}
