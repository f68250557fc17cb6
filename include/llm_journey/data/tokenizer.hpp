// Tokenizers: text <-> token ids. Two kinds, behind one interface:
//   CharTokenizer  one token per Unicode code point; the vocabulary is the sorted distinct characters
//                  of a corpus (nanoGPT's shakespeare_char: 65 for tiny-shakespeare).
//   BpeTokenizer   byte-level byte-pair encoding: 256 byte tokens plus learned merges, trained here or
//                  loaded from GPT-2's vocab.json and merges.txt. decode(encode(b)) == b for any bytes.
// A tokenizer serialises to a JSON string (for a checkpoint's metadata) and is restored from it with
// Tokenizer::deserialize.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lj::data {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual std::vector<int64_t> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;  // throws on an unknown id
  virtual int64_t vocab_size() const = 0;
  virtual std::string type() const = 0;  // "char" or "bpe"

  // A JSON object with a "type" field; see each class for the rest.
  virtual std::string serialize() const = 0;
  static std::unique_ptr<Tokenizer> deserialize(const std::string& serialized);

  virtual std::unique_ptr<Tokenizer> clone() const = 0;
};

// One token per code point. Text must be valid UTF-8 (encode names the byte offset of the first
// invalid sequence); a character outside the vocabulary is an error naming it and its offset.
// Ids are positions in chars(): from_text sorts the characters by code point, which is Python's
// sorted(set(text)) order, so ids agree with nanoGPT's stoi.
// Serialised as {"type":"char","chars":"\n !$&',-.3:;?ABC..."} (the characters in id order).
class CharTokenizer : public Tokenizer {
 public:
  explicit CharTokenizer(std::vector<char32_t> chars);  // distinct code points, in id order
  static CharTokenizer from_text(std::string_view text);
  static CharTokenizer from_json(const std::string& serialized);

  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(chars_.size()); }
  std::string type() const override { return "char"; }
  std::string serialize() const override;
  std::unique_ptr<Tokenizer> clone() const override { return std::make_unique<CharTokenizer>(*this); }

  const std::vector<char32_t>& chars() const { return chars_; }

 private:
  std::vector<char32_t> chars_;
  std::vector<int32_t> ascii_ids_;                    // 128 entries, -1 when absent
  std::unordered_map<char32_t, int64_t> other_ids_;  // the non-ASCII characters
};

// Byte-level BPE. Text is first cut by GPT-2's pre-tokenisation pattern (gpt2_pretokenize in
// unicode.hpp); each piece starts as one token per byte, then GPT-2's rule applies: repeatedly take
// the adjacent pair with the lowest merge rank and merge every occurrence of it, left to right.
// Special tokens such as GPT-2's <|endoftext|> decode to their text but are never produced by
// encode (like tiktoken's encode_ordinary).
//
// train() learns merges on a corpus: ids 0..255 are the bytes, id 256+i the i-th merge. Each step
// merges the most frequent adjacent pair (counted within pre-tokenised pieces); ties go to the
// smallest (left id, right id). Training stops early if no pair is left.
//
// Serialised as {"type":"bpe","pretokenizer":"gpt2","merges":[l0,r0,l1,r1,...]} and, when ids are
// not bytes-then-merges (GPT-2's files), "tokens":["hex bytes of id 0", ...].
class BpeTokenizer : public Tokenizer {
 public:
  static BpeTokenizer train(std::string_view text, int64_t vocab_size);
  // GPT-2's files, by path or by content: vocab.json maps token strings (bytes through GPT-2's
  // bytes_to_unicode) to ids; merges.txt lists "left right" pairs in rank order.
  static BpeTokenizer from_gpt2_files(const std::string& vocab_json_path, const std::string& merges_txt_path);
  static BpeTokenizer from_gpt2(const std::string& vocab_json, const std::string& merges_txt);
  static BpeTokenizer from_json(const std::string& serialized);

  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  std::string type() const override { return "bpe"; }
  std::string serialize() const override;
  std::unique_ptr<Tokenizer> clone() const override { return std::make_unique<BpeTokenizer>(*this); }

  // One pre-tokenised piece, BPE-merged (no pre-tokenisation applied).
  std::vector<int64_t> encode_piece(std::string_view piece) const;
  const std::string& token_bytes(int64_t id) const;  // the bytes a token stands for
  struct Merge {
    int64_t left, right, result;
  };
  const std::vector<Merge>& merges() const { return merges_; }  // in rank order

 private:
  BpeTokenizer() = default;
  // tokens: the bytes of each id; merges: (left, right) id pairs in rank order.
  BpeTokenizer(std::vector<std::string> tokens, const std::vector<std::pair<int64_t, int64_t>>& merges);

  std::vector<std::string> tokens_;
  std::vector<Merge> merges_;
  int64_t byte_ids_[256] = {};                           // the token of each single byte
  std::unordered_map<uint64_t, int64_t> merge_rank_;  // (left << 32 | right) -> rank
  bool bytes_then_merges_ = false;                    // ids are 0..255 bytes, then merge results
};

// GPT-2's bytes_to_unicode: the printable byte values map to themselves, the other 68 to U+0100..
// in order, so every byte is a visible character in vocab.json.
std::vector<char32_t> gpt2_bytes_to_unicode();

}  // namespace lj::data
