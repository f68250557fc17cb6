// The text corpus: reading, the 90/10 split, training windows and evaluation windows.
#include "llm_journey/data/dataset.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llm_journey/data/unicode.hpp"
#include "llm_journey/error.hpp"

namespace lj::data {

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  LJ_CHECK(!std::filesystem::is_directory(path, ec), "'", path, "' is a folder, not a text file");
  std::ifstream in(path, std::ios::binary);
  LJ_CHECK(in.good(), "cannot open text file '", path, "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  LJ_CHECK(!in.bad(), "error while reading text file '", path, "'");
  std::string text = ss.str();
  check_utf8(text, "text file '" + path + "'");
  return text;
}

TextSplit split_text(std::string_view text, double train_fraction) {
  LJ_CHECK(train_fraction >= 0.0 && train_fraction <= 1.0, "split_text: train_fraction=", train_fraction,
           " is not in [0, 1]");
  check_utf8(text, "split_text");
  const size_t n = count_code_points(text);
  const size_t n_train = static_cast<size_t>(std::floor(static_cast<double>(n) * train_fraction));  // int(n*0.9)
  size_t byte = 0;
  for (size_t cp = 0; cp < n_train; cp++) byte += decode_utf8(text, byte).length;
  return {std::string(text.substr(0, byte)), std::string(text.substr(byte))};
}

Dataset::Dataset(std::string_view text, const Tokenizer& tokenizer, double train_fraction) {
  TextSplit parts = split_text(text, train_fraction);
  train_ = tokenizer.encode(parts.train);
  val_ = tokenizer.encode(parts.val);
}

Dataset Dataset::from_file(const std::string& path, const Tokenizer& tokenizer, double train_fraction) {
  return Dataset(read_text_file(path), tokenizer, train_fraction);
}

Batch batch_at(const std::vector<int64_t>& tokens, const std::vector<int64_t>& starts, int64_t block_size) {
  LJ_CHECK(block_size >= 1, "batch_at: block_size=", block_size, " must be at least 1");
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t B = static_cast<int64_t>(starts.size()), T = block_size;
  Batch b;
  b.batch_size = B;
  b.block_size = T;
  b.x = Tensor::empty({B, T});
  b.y = Tensor::empty({B, T});
  b.x_ids.resize(B * T);
  b.y_ids.resize(B * T);
  float* x = b.x.mutable_data();
  float* y = b.y.mutable_data();
  for (int64_t r = 0; r < B; r++) {
    const int64_t s = starts[r];
    LJ_CHECK(s >= 0 && s + T + 1 <= n, "batch_at: window start ", s, " with block_size=", T,
             " needs tokens up to ", s + T + 1, " but there are ", n);
    for (int64_t t = 0; t < T; t++) {
      b.x_ids[r * T + t] = tokens[s + t];
      b.y_ids[r * T + t] = tokens[s + t + 1];
      x[r * T + t] = static_cast<float>(tokens[s + t]);
      y[r * T + t] = static_cast<float>(tokens[s + t + 1]);
    }
  }
  return b;
}

std::vector<int64_t> random_starts(int64_t num_tokens, int64_t batch_size, int64_t block_size, Generator& gen) {
  LJ_CHECK(batch_size >= 1 && block_size >= 1, "random_starts: batch_size=", batch_size, " and block_size=",
           block_size, " must be at least 1");
  LJ_CHECK(num_tokens >= block_size + 1, "random_starts: ", num_tokens, " tokens are too few for one window of block_size=",
           block_size, " (needs ", block_size + 1, ")");
  // torch.randint(high, ...) on the CPU: draw % range, with a 64-bit draw once the range reaches 2^32.
  const uint64_t range = static_cast<uint64_t>(num_tokens - block_size);
  std::vector<int64_t> starts(batch_size);
  for (auto& s : starts)
    s = static_cast<int64_t>(range >= (1ULL << 32) ? gen.random64() % range : gen.random() % range);
  return starts;
}

Batch get_batch(const std::vector<int64_t>& tokens, int64_t batch_size, int64_t block_size, Generator& gen) {
  return batch_at(tokens, random_starts(static_cast<int64_t>(tokens.size()), batch_size, block_size, gen), block_size);
}

Batch get_batch_share(const std::vector<int64_t>& tokens, int64_t batch_size, int64_t block_size, Generator& gen,
                      int64_t part, int64_t parts) {
  LJ_CHECK(parts >= 1 && part >= 0 && part < parts, "get_batch_share: part=", part, " is not in [0, parts=", parts, ")");
  LJ_CHECK(batch_size % parts == 0, "get_batch_share: batch_size=", batch_size, " is not a multiple of the ", parts,
           " processes sharing it");
  const std::vector<int64_t> all = random_starts(static_cast<int64_t>(tokens.size()), batch_size, block_size, gen);
  const int64_t rows = batch_size / parts;
  return batch_at(tokens, std::vector<int64_t>(all.begin() + part * rows, all.begin() + (part + 1) * rows), block_size);
}

BatchSampler::BatchSampler(const std::vector<int64_t>& tokens, int64_t batch_size, int64_t block_size, uint64_t seed)
    : tokens_(&tokens), batch_size_(batch_size), block_size_(block_size), gen_(seed) {
  LJ_CHECK(static_cast<int64_t>(tokens.size()) >= block_size + 1, "BatchSampler: ", tokens.size(),
           " tokens are too few for one window of block_size=", block_size);
}

Batch BatchSampler::next() {
  Batch b = get_batch(*tokens_, batch_size_, block_size_, gen_);
  batches_drawn_++;
  return b;
}

Batch BatchSampler::next_share(int64_t part, int64_t parts) {
  Batch b = get_batch_share(*tokens_, batch_size_, block_size_, gen_, part, parts);
  batches_drawn_++;
  return b;
}

std::string BatchSampler::state() const {
  return nlohmann::json{{"generator", gen_.state()},
                        {"batches_drawn", batches_drawn_},
                        {"batch_size", batch_size_},
                        {"block_size", block_size_}}
      .dump();
}

void BatchSampler::set_state(const std::string& state) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(state);
    LJ_CHECK(j.is_object(), "not an object");
    const int64_t B = j.at("batch_size").get<int64_t>(), T = j.at("block_size").get<int64_t>();
    LJ_CHECK(B == batch_size_ && T == block_size_, "BatchSampler::set_state: the state is for batch_size=", B,
             " block_size=", T, " but this sampler has batch_size=", batch_size_, " block_size=", block_size_);
    gen_.set_state(j.at("generator").get<std::string>());
    batches_drawn_ = j.at("batches_drawn").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::str_cat("BatchSampler::set_state: malformed state (", e.what(), "): ", state.substr(0, 80)));
  }
}

int64_t num_eval_windows(int64_t num_tokens, int64_t block_size) {
  LJ_CHECK(block_size >= 1, "num_eval_windows: block_size=", block_size, " must be at least 1");
  return num_tokens <= block_size ? 0 : (num_tokens - 1) / block_size;
}

Batch eval_batch(const std::vector<int64_t>& tokens, int64_t block_size, int64_t first, int64_t count) {
  const int64_t total = num_eval_windows(static_cast<int64_t>(tokens.size()), block_size);
  LJ_CHECK(first >= 0 && first < total && count >= 1, "eval_batch: windows [", first, ", ", first + count,
           ") are not within the ", total, " evaluation windows of ", tokens.size(), " tokens with block_size=",
           block_size);
  std::vector<int64_t> starts;
  for (int64_t w = first; w < std::min(total, first + count); w++) starts.push_back(w * block_size);
  return batch_at(tokens, starts, block_size);
}

}  // namespace lj::data
