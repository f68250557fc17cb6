// The character-level tokenizer: one id per Unicode code point of the vocabulary.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "llm_journey/data/tokenizer.hpp"
#include "llm_journey/data/unicode.hpp"
#include "llm_journey/error.hpp"

namespace lj::data {

CharTokenizer::CharTokenizer(std::vector<char32_t> chars) : chars_(std::move(chars)), ascii_ids_(128, -1) {
  LJ_CHECK(!chars_.empty(), "CharTokenizer: the vocabulary is empty");
  for (size_t i = 0; i < chars_.size(); i++) {
    const char32_t c = chars_[i];
    LJ_CHECK(c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF), "CharTokenizer: vocabulary entry ", i, " (",
             static_cast<uint32_t>(c), ") is not a Unicode scalar value");
    const bool seen = c < 128 ? ascii_ids_[c] >= 0 : other_ids_.count(c) > 0;
    LJ_CHECK(!seen, "CharTokenizer: ", describe_code_point(c), " appears twice in the vocabulary");
    if (c < 128)
      ascii_ids_[c] = static_cast<int32_t>(i);
    else
      other_ids_[c] = static_cast<int64_t>(i);
  }
}

CharTokenizer CharTokenizer::from_text(std::string_view text) {
  check_utf8(text, "CharTokenizer::from_text");
  LJ_CHECK(!text.empty(), "CharTokenizer::from_text: the text is empty");
  bool ascii[128] = {};
  std::vector<char32_t> chars;
  for (size_t i = 0; i < text.size();) {
    const unsigned char b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      ascii[b] = true;
      i++;
      continue;
    }
    Utf8Char ch = decode_utf8(text, i);
    chars.push_back(ch.code_point);
    i += ch.length;
  }
  std::sort(chars.begin(), chars.end());
  chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
  std::vector<char32_t> all;
  for (char32_t c = 0; c < 128; c++)
    if (ascii[c]) all.push_back(c);
  all.insert(all.end(), chars.begin(), chars.end());  // code point order = Python's sorted(set(text))
  return CharTokenizer(std::move(all));
}

std::vector<int64_t> CharTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    Utf8Char ch = decode_utf8(text, i);
    LJ_CHECK(ch.valid, "CharTokenizer::encode: not valid UTF-8 at byte offset ", i, " (",
             describe_code_point(ch.code_point, false), ")");
    int64_t id = -1;
    if (ch.code_point < 128) {
      id = ascii_ids_[ch.code_point];
    } else if (auto it = other_ids_.find(ch.code_point); it != other_ids_.end()) {
      id = it->second;
    }
    LJ_CHECK(id >= 0, "CharTokenizer::encode: character ", describe_code_point(ch.code_point), " at byte offset ", i,
             " is not in the vocabulary of ", chars_.size(), " characters");
    ids.push_back(id);
    i += ch.length;
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); i++) {
    LJ_CHECK(ids[i] >= 0 && ids[i] < vocab_size(), "CharTokenizer::decode: id ", ids[i], " at position ", i,
             " is outside the vocabulary [0, ", vocab_size(), ")");
    append_utf8(out, chars_[ids[i]]);
  }
  return out;
}

std::string CharTokenizer::serialize() const {
  std::string chars;
  for (char32_t c : chars_) append_utf8(chars, c);
  return nlohmann::json{{"type", "char"}, {"chars", chars}}.dump();
}

CharTokenizer CharTokenizer::from_json(const std::string& serialized) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(serialized);
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::str_cat("CharTokenizer::from_json: not JSON: ", e.what()));
  }
  LJ_CHECK(j.is_object() && j.value("type", "") == "char" && j.contains("chars") && j["chars"].is_string(),
           "CharTokenizer::from_json: expected {\"type\":\"char\",\"chars\":\"...\"}, got ",
           serialized.substr(0, 80));
  const std::string chars = j["chars"].get<std::string>();
  check_utf8(chars, "CharTokenizer::from_json: \"chars\"");
  std::vector<char32_t> cps;
  for (size_t i = 0; i < chars.size();) {
    Utf8Char ch = decode_utf8(chars, i);
    cps.push_back(ch.code_point);
    i += ch.length;
  }
  return CharTokenizer(std::move(cps));
}

}  // namespace lj::data
