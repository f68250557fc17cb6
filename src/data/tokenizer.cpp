// What the tokenizers share: restoring one from its serialised form, and GPT-2's byte alphabet.
#include "llm_journey/data/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include "llm_journey/error.hpp"

namespace lj::data {

std::unique_ptr<Tokenizer> Tokenizer::deserialize(const std::string& serialized) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(serialized);
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::str_cat("Tokenizer::deserialize: not JSON (", e.what(), "): ", serialized.substr(0, 80)));
  }
  LJ_CHECK(j.is_object() && j.contains("type") && j["type"].is_string(),
           "Tokenizer::deserialize: expected a JSON object with a \"type\", got ", serialized.substr(0, 80));
  const std::string type = j["type"].get<std::string>();
  if (type == "char") return std::make_unique<CharTokenizer>(CharTokenizer::from_json(serialized));
  if (type == "bpe") return std::make_unique<BpeTokenizer>(BpeTokenizer::from_json(serialized));
  throw Error(detail::str_cat("Tokenizer::deserialize: unknown tokenizer type '", type, "' (expected char or bpe)"));
}

std::vector<char32_t> gpt2_bytes_to_unicode() {
  // bs = [ord('!')..ord('~')] + [ord('¡')..ord('¬')] + [ord('®')..ord('ÿ')]; the rest get 256, 257, ...
  std::vector<char32_t> map(256, 0);
  std::vector<bool> printable(256, false);
  for (int b = '!'; b <= '~'; b++) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; b++) map[b] = printable[b] ? static_cast<char32_t>(b) : next++;
  return map;
}

}  // namespace lj::data
