// Training data from a text file: read (UTF-8 checked), split 90/10 as nanoGPT does, tokenised;
// random training windows from a seeded generator; evaluation windows every block_size tokens.
//
// A window starting at token i is x = tokens[i, i+T), y = tokens[i+1, i+T+1): y is x shifted by one,
// the next token at every position.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "llm_journey/data/tokenizer.hpp"
#include "llm_journey/random.hpp"
#include "llm_journey/tensor.hpp"

namespace lj::data {

// The whole file as bytes. Throws lj::Error naming the file when it cannot be read, and the file and
// byte offset when it is not valid UTF-8.
std::string read_text_file(const std::string& path);

// The text cut at code point floor(n * train_fraction): nanoGPT's data[:int(n*0.9)], data[int(n*0.9):]
// on a Python str. Tiny-shakespeare (1,115,394 characters) gives 1,003,854 and 111,540.
struct TextSplit {
  std::string train, val;
};
TextSplit split_text(std::string_view text, double train_fraction = 0.9);

enum class Split { train, val };

// A corpus split then tokenised (each part separately, as nanoGPT's prepare.py does).
class Dataset {
 public:
  Dataset(std::string_view text, const Tokenizer& tokenizer, double train_fraction = 0.9);
  static Dataset from_file(const std::string& path, const Tokenizer& tokenizer, double train_fraction = 0.9);

  const std::vector<int64_t>& train() const { return train_; }
  const std::vector<int64_t>& val() const { return val_; }
  const std::vector<int64_t>& tokens(Split split) const { return split == Split::train ? train_ : val_; }

 private:
  std::vector<int64_t> train_, val_;
};

// B windows of T tokens. x and y are (B, T) tensors holding the token ids as floats (exact below
// 2^24); x_ids and y_ids are the same ids, row-major, as integers.
struct Batch {
  Tensor x, y;
  std::vector<int64_t> x_ids, y_ids;
  int64_t batch_size = 0, block_size = 0;
};

// The windows starting at the given token offsets (each must satisfy start + T + 1 <= tokens.size()).
Batch batch_at(const std::vector<int64_t>& tokens, const std::vector<int64_t>& starts, int64_t block_size);

// nanoGPT's get_batch: starts i uniform over [0, n - T - 1], drawn as torch.randint(n - T, (B,))
// draws them from the same generator state (one 32-bit draw each, i = draw % (n - T); 64-bit draws
// when n - T >= 2^32). Needs n >= T + 1 tokens.
std::vector<int64_t> random_starts(int64_t num_tokens, int64_t batch_size, int64_t block_size, Generator& gen);
Batch get_batch(const std::vector<int64_t>& tokens, int64_t batch_size, int64_t block_size, Generator& gen);
// One process's share of that batch in a data-parallel run: rows [part * B / parts, (part + 1) * B / parts)
// of what get_batch would return. The generator advances by the whole batch, so `parts` processes
// whose generators are in one state draw between them exactly the batch one process would.
// batch_size must be a multiple of parts.
Batch get_batch_share(const std::vector<int64_t>& tokens, int64_t batch_size, int64_t block_size, Generator& gen,
                      int64_t part, int64_t parts);

// Random training batches from a generator of its own, with a state to save and restore so that a
// resumed run draws the same batches as one that never stopped. `tokens` must outlive the sampler.
class BatchSampler {
 public:
  BatchSampler(const std::vector<int64_t>& tokens, int64_t batch_size, int64_t block_size, uint64_t seed);
  Batch next();
  Batch next_share(int64_t part, int64_t parts);  // get_batch_share's rows of the batch next() would give
  int64_t batches_drawn() const { return batches_drawn_; }
  // A JSON object: {"generator": Generator::state(), "batches_drawn": n, "batch_size": B, "block_size": T}.
  std::string state() const;
  void set_state(const std::string& state);  // B and T must match this sampler's

 private:
  const std::vector<int64_t>* tokens_;
  int64_t batch_size_, block_size_;
  Generator gen_;
  int64_t batches_drawn_ = 0;
};

// Evaluation windows: starts s = 0, T, 2T, ... while s + T + 1 <= n (input [s, s+T), targets
// [s+1, s+T+1)); the last incomplete window is dropped, so there are floor((n - 1) / T) of them.
int64_t num_eval_windows(int64_t num_tokens, int64_t block_size);
// Windows [first, first + count) of that sequence, count clipped at the last one.
Batch eval_batch(const std::vector<int64_t>& tokens, int64_t block_size, int64_t first, int64_t count);

}  // namespace lj::data
