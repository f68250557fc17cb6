// Training byte-level BPE: repeatedly merge the most frequent adjacent pair.
//
// The corpus is cut by GPT-2's pre-tokenisation, and identical pieces are counted once with their
// frequency (tiny-shakespeare: ~1.1M bytes, ~25k distinct pieces). Pair counts are kept up to date
// incrementally: a merge rewrites only the pieces that contain its pair, and a max-heap with lazy
// deletion finds the next most frequent pair.
#include <algorithm>
#include <queue>
#include <unordered_map>

#include "llm_journey/data/tokenizer.hpp"
#include "llm_journey/data/unicode.hpp"
#include "llm_journey/error.hpp"

namespace lj::data {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct Candidate {
  int64_t count;
  uint64_t key;
  // The top of the heap is the largest count; among equal counts, the smallest (left, right).
  bool operator<(const Candidate& o) const { return count != o.count ? count < o.count : key > o.key; }
};

}  // namespace

BpeTokenizer BpeTokenizer::train(std::string_view text, int64_t vocab_size) {
  LJ_CHECK(vocab_size >= 256 && vocab_size < (int64_t{1} << 31), "BpeTokenizer::train: vocab_size=", vocab_size,
           " must be at least 256 (the byte tokens)");
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> freq;
  {
    std::unordered_map<std::string_view, int32_t> index;
    for (std::string_view piece : gpt2_pretokenize(text)) {
      auto [it, fresh] = index.emplace(piece, static_cast<int32_t>(words.size()));
      if (fresh) {
        words.emplace_back(piece.begin(), piece.end());
        for (int32_t& s : words.back()) s &= 0xFF;  // char -> byte value
        freq.push_back(0);
      }
      freq[it->second]++;
    }
  }

  std::unordered_map<uint64_t, int64_t> count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // the words a pair may occur in
  for (int32_t w = 0; w < static_cast<int32_t>(words.size()); w++)
    for (size_t i = 0; i + 1 < words[w].size(); i++) {
      const uint64_t k = pair_key(words[w][i], words[w][i + 1]);
      count[k] += freq[w];
      auto& ws = where[k];
      if (ws.empty() || ws.back() != w) ws.push_back(w);
    }
  std::priority_queue<Candidate> heap;
  for (const auto& [k, c] : count) heap.push({c, k});

  std::vector<std::pair<int64_t, int64_t>> merges;
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; b++) tokens.push_back(std::string(1, static_cast<char>(b)));
  std::vector<int64_t> last_step(words.size(), -1);  // visits each word once per merge
  std::unordered_map<uint64_t, int64_t> delta;
  std::vector<int32_t> merged;

  while (static_cast<int64_t>(tokens.size()) < vocab_size) {
    while (!heap.empty()) {  // drop the stale entries
      auto it = count.find(heap.top().key);
      if (it != count.end() && it->second == heap.top().count && it->second > 0) break;
      heap.pop();
    }
    if (heap.empty()) break;  // no pair left: the corpus is fully merged
    const uint64_t key = heap.top().key;
    heap.pop();
    const int32_t a = static_cast<int32_t>(key >> 32), b = static_cast<int32_t>(key & 0xFFFFFFFFu);
    const int32_t t = static_cast<int32_t>(tokens.size());
    const int64_t step = static_cast<int64_t>(merges.size());
    merges.push_back({a, b});
    tokens.push_back(tokens[a] + tokens[b]);

    delta.clear();
    for (int32_t w : where[key]) {
      if (last_step[w] == step) continue;
      last_step[w] = step;
      std::vector<int32_t>& word = words[w];
      merged.clear();
      for (size_t i = 0; i < word.size();) {  // left to right, non-overlapping
        if (i + 1 < word.size() && word[i] == a && word[i + 1] == b) {
          merged.push_back(t);
          i += 2;
        } else {
          merged.push_back(word[i++]);
        }
      }
      if (merged.size() == word.size()) continue;  // a stale entry of `where`
      const int64_t f = freq[w];
      for (size_t i = 0; i + 1 < word.size(); i++) delta[pair_key(word[i], word[i + 1])] -= f;
      for (size_t i = 0; i + 1 < merged.size(); i++) {
        const uint64_t k = pair_key(merged[i], merged[i + 1]);
        delta[k] += f;
        if (merged[i] == t || merged[i + 1] == t) {
          auto& ws = where[k];
          if (ws.empty() || ws.back() != w) ws.push_back(w);
        }
      }
      word.swap(merged);
    }
    where.erase(key);
    for (const auto& [k, d] : delta) {
      if (d == 0) continue;
      int64_t& c = count[k];
      c += d;
      if (c > 0)
        heap.push({c, k});
      else
        count.erase(k);
    }
  }
  return BpeTokenizer(std::move(tokens), merges);
}

}  // namespace lj::data
