// Byte-level BPE: encoding with GPT-2's merge rule, decoding, serialisation and GPT-2's files.
// (Training is in bpe_train.cpp.)
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "llm_journey/data/tokenizer.hpp"
#include "llm_journey/data/unicode.hpp"
#include "llm_journey/error.hpp"

namespace lj::data {

namespace {
uint64_t pair_key(int64_t left, int64_t right) {
  return (static_cast<uint64_t>(left) << 32) | static_cast<uint64_t>(right);
}
}  // namespace

BpeTokenizer::BpeTokenizer(std::vector<std::string> tokens, const std::vector<std::pair<int64_t, int64_t>>& merges)
    : tokens_(std::move(tokens)) {
  const int64_t V = static_cast<int64_t>(tokens_.size());
  LJ_CHECK(V < (int64_t{1} << 31), "BpeTokenizer: ", V, " tokens are too many");
  std::unordered_map<std::string, int64_t> id_of;
  for (int64_t id = 0; id < V; id++) {
    LJ_CHECK(!tokens_[id].empty(), "BpeTokenizer: token ", id, " is empty");
    auto [it, fresh] = id_of.emplace(tokens_[id], id);
    LJ_CHECK(fresh, "BpeTokenizer: tokens ", it->second, " and ", id, " stand for the same bytes");
  }
  for (int b = 0; b < 256; b++) {
    auto it = id_of.find(std::string(1, static_cast<char>(b)));
    LJ_CHECK(it != id_of.end(), "BpeTokenizer: no token stands for the single byte ", b,
             ", so some text could not be encoded");
    byte_ids_[b] = it->second;
  }
  for (size_t rank = 0; rank < merges.size(); rank++) {
    const auto [l, r] = merges[rank];
    LJ_CHECK(l >= 0 && l < V && r >= 0 && r < V, "BpeTokenizer: merge ", rank, " (", l, ", ", r,
             ") names a token outside [0, ", V, ")");
    auto it = id_of.find(tokens_[l] + tokens_[r]);
    LJ_CHECK(it != id_of.end(), "BpeTokenizer: merge ", rank, " (", l, ", ", r, ") makes bytes that no token stands for");
    LJ_CHECK(merge_rank_.emplace(pair_key(l, r), static_cast<int64_t>(rank)).second, "BpeTokenizer: merge ", rank,
             " (", l, ", ", r, ") repeats an earlier merge");
    merges_.push_back({l, r, it->second});
  }
  bytes_then_merges_ = V == 256 + static_cast<int64_t>(merges_.size());
  for (int64_t id = 0; id < V && bytes_then_merges_; id++)
    bytes_then_merges_ = id < 256 ? byte_ids_[id] == id : merges_[id - 256].result == id;
}

const std::string& BpeTokenizer::token_bytes(int64_t id) const {
  LJ_CHECK(id >= 0 && id < vocab_size(), "BpeTokenizer: id ", id, " is outside the vocabulary [0, ", vocab_size(), ")");
  return tokens_[id];
}

// GPT-2's bpe(): while some adjacent pair has a merge, take the pair of lowest rank and merge all
// its occurrences left to right. Done here in O(n log n): a linked list of tokens and a min-heap of
// (rank, position); the entries of one rank are merged together, in position order, as one pass.
std::vector<int64_t> BpeTokenizer::encode_piece(std::string_view piece) const {
  const int64_t n = static_cast<int64_t>(piece.size());
  std::vector<int64_t> tok(n);
  for (int64_t i = 0; i < n; i++) tok[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
  if (n < 2 || merges_.empty()) return tok;

  std::vector<int64_t> next(n), prev(n);
  std::vector<bool> alive(n, true);
  for (int64_t i = 0; i < n; i++) next[i] = i + 1 < n ? i + 1 : -1, prev[i] = i - 1;
  const auto rank_of = [&](int64_t pos) -> int64_t {  // the rank of the pair starting at pos, or -1
    if (next[pos] < 0) return -1;
    auto it = merge_rank_.find(pair_key(tok[pos], tok[next[pos]]));
    return it == merge_rank_.end() ? -1 : it->second;
  };
  using Entry = std::pair<int64_t, int64_t>;  // (rank, position)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  for (int64_t i = 0; i + 1 < n; i++)
    if (int64_t r = rank_of(i); r >= 0) heap.push({r, i});

  std::vector<int64_t> positions;
  while (!heap.empty()) {
    const int64_t rank = heap.top().first;
    positions.clear();
    while (!heap.empty() && heap.top().first == rank) positions.push_back(heap.top().second), heap.pop();
    std::sort(positions.begin(), positions.end());  // node positions keep the text's order
    for (int64_t pos : positions) {
      if (!alive[pos] || rank_of(pos) != rank) continue;  // stale, or overlapped by the previous merge
      const int64_t right = next[pos];
      tok[pos] = merges_[rank].result;
      alive[right] = false;
      next[pos] = next[right];
      if (next[pos] >= 0) prev[next[pos]] = pos;
      // The new pairs: their ranks differ from `rank` (the merged token is longer than either part).
      if (prev[pos] >= 0)
        if (int64_t r = rank_of(prev[pos]); r >= 0) heap.push({r, prev[pos]});
      if (int64_t r = rank_of(pos); r >= 0) heap.push({r, pos});
    }
  }
  std::vector<int64_t> out;
  for (int64_t i = 0; i >= 0; i = next[i]) out.push_back(tok[i]);
  return out;
}

std::vector<int64_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 3);
  std::unordered_map<std::string_view, std::vector<int64_t>> seen;  // pieces repeat: words, spaces
  for (std::string_view piece : gpt2_pretokenize(text)) {
    auto it = seen.find(piece);
    if (it == seen.end()) it = seen.emplace(piece, encode_piece(piece)).first;
    ids.insert(ids.end(), it->second.begin(), it->second.end());
  }
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); i++) {
    LJ_CHECK(ids[i] >= 0 && ids[i] < vocab_size(), "BpeTokenizer::decode: id ", ids[i], " at position ", i,
             " is outside the vocabulary [0, ", vocab_size(), ")");
    out += tokens_[ids[i]];
  }
  return out;
}

std::string BpeTokenizer::serialize() const {
  std::vector<int64_t> flat;
  flat.reserve(2 * merges_.size());
  for (const Merge& m : merges_) flat.push_back(m.left), flat.push_back(m.right);
  nlohmann::json j{{"type", "bpe"}, {"pretokenizer", "gpt2"}, {"merges", flat}};
  if (!bytes_then_merges_) {
    static const char* hex = "0123456789abcdef";
    std::vector<std::string> tokens;
    tokens.reserve(tokens_.size());
    for (const std::string& t : tokens_) {
      std::string h;
      for (unsigned char c : t) h += hex[c >> 4], h += hex[c & 15];
      tokens.push_back(std::move(h));
    }
    j["tokens"] = std::move(tokens);
  }
  return j.dump();
}

BpeTokenizer BpeTokenizer::from_json(const std::string& serialized) {
  nlohmann::json j;
  std::vector<std::string> tokens;
  std::vector<std::pair<int64_t, int64_t>> merges;
  try {
    j = nlohmann::json::parse(serialized);
    LJ_CHECK(j.is_object() && j.value("type", "") == "bpe", "BpeTokenizer::from_json: expected {\"type\":\"bpe\", ...}, got ",
             serialized.substr(0, 80));
    const std::string pre = j.value("pretokenizer", "gpt2");
    LJ_CHECK(pre == "gpt2", "BpeTokenizer::from_json: unknown pretokenizer '", pre, "' (expected gpt2)");
    const auto flat = j.at("merges").get<std::vector<int64_t>>();
    LJ_CHECK(flat.size() % 2 == 0, "BpeTokenizer::from_json: \"merges\" has an odd length ", flat.size());
    for (size_t i = 0; i < flat.size(); i += 2) merges.push_back({flat[i], flat[i + 1]});
    if (j.contains("tokens")) {
      for (const std::string& h : j.at("tokens").get<std::vector<std::string>>()) {
        LJ_CHECK(h.size() % 2 == 0, "BpeTokenizer::from_json: token ", tokens.size(), " has odd-length hex '", h, "'");
        std::string t;
        for (size_t k = 0; k < h.size(); k += 2) {
          const auto nibble = [&](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            throw Error(detail::str_cat("BpeTokenizer::from_json: token ", tokens.size(), " has bad hex '", h, "'"));
          };
          t += static_cast<char>(nibble(h[k]) * 16 + nibble(h[k + 1]));
        }
        tokens.push_back(std::move(t));
      }
    } else {  // ids 0..255 are the bytes, then one per merge
      for (int b = 0; b < 256; b++) tokens.push_back(std::string(1, static_cast<char>(b)));
      for (size_t i = 0; i < merges.size(); i++) {
        const auto [l, r] = merges[i];
        const int64_t have = static_cast<int64_t>(tokens.size());
        LJ_CHECK(l >= 0 && l < have && r >= 0 && r < have, "BpeTokenizer::from_json: merge ", i, " (", l, ", ", r,
                 ") names a token not yet made (ids below ", have, ")");
        tokens.push_back(tokens[l] + tokens[r]);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::str_cat("BpeTokenizer::from_json: malformed (", e.what(), "): ", serialized.substr(0, 80)));
  }
  return BpeTokenizer(std::move(tokens), merges);
}

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LJ_CHECK(in.good(), "cannot open '", path, "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

BpeTokenizer BpeTokenizer::from_gpt2_files(const std::string& vocab_json_path, const std::string& merges_txt_path) {
  const std::string vocab = read_file(vocab_json_path);  // in this order, so errors name the first
  return from_gpt2(vocab, read_file(merges_txt_path));
}

BpeTokenizer BpeTokenizer::from_gpt2(const std::string& vocab_json, const std::string& merges_txt) {
  // vocab.json's strings spell bytes in GPT-2's alphabet: undo bytes_to_unicode.
  std::unordered_map<char32_t, char> byte_of;
  const std::vector<char32_t> alphabet = gpt2_bytes_to_unicode();
  for (int b = 0; b < 256; b++) byte_of[alphabet[b]] = static_cast<char>(b);

  nlohmann::json vocab;
  try {
    vocab = nlohmann::json::parse(vocab_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::str_cat("GPT-2 vocab.json: not JSON: ", e.what()));
  }
  LJ_CHECK(vocab.is_object() && !vocab.empty(), "GPT-2 vocab.json: expected an object of token -> id");
  const int64_t V = static_cast<int64_t>(vocab.size());
  std::vector<std::string> tokens(V);
  std::vector<bool> filled(V, false);
  std::unordered_map<std::string, int64_t> id_of;  // keyed by vocab.json's spelling
  for (const auto& [name, value] : vocab.items()) {
    LJ_CHECK(value.is_number_integer(), "GPT-2 vocab.json: the id of '", name, "' is not an integer");
    const int64_t id = value.get<int64_t>();
    LJ_CHECK(id >= 0 && id < V, "GPT-2 vocab.json: '", name, "' has id ", id, " outside [0, ", V, ") (ids must be dense)");
    LJ_CHECK(!filled[id], "GPT-2 vocab.json: id ", id, " is given twice");
    std::string bytes;
    for (size_t i = 0; i < name.size();) {
      Utf8Char ch = decode_utf8(name, i);
      auto it = byte_of.find(ch.code_point);
      LJ_CHECK(ch.valid && it != byte_of.end(), "GPT-2 vocab.json: token '", name, "' (id ", id, ") has ",
               describe_code_point(ch.code_point, ch.valid), ", which is not in GPT-2's byte alphabet");
      bytes += it->second;
      i += ch.length;
    }
    tokens[id] = std::move(bytes);
    filled[id] = true;
    id_of[name] = id;
  }

  std::vector<std::pair<int64_t, int64_t>> merges;
  std::istringstream lines(merges_txt);
  std::string line;
  for (int64_t line_no = 1; std::getline(lines, line); line_no++) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t sp = line.find(' ');
    LJ_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < line.size() && line.find(' ', sp + 1) == std::string::npos,
             "GPT-2 merges.txt line ", line_no, ": expected two tokens separated by one space, got '", line, "'");
    const std::string left = line.substr(0, sp), right = line.substr(sp + 1);
    for (const std::string* part : {&left, &right})
      LJ_CHECK(id_of.count(*part), "GPT-2 merges.txt line ", line_no, ": token '", *part, "' is not in vocab.json");
    LJ_CHECK(id_of.count(left + right), "GPT-2 merges.txt line ", line_no, ": the merged token '", left + right,
             "' is not in vocab.json");
    merges.push_back({id_of[left], id_of[right]});
  }
  return BpeTokenizer(std::move(tokens), merges);
}

}  // namespace lj::data
