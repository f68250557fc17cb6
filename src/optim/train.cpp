// The training loop's pieces: one iteration, loss estimates, checkpoints (the format is in train.hpp).
#include "llm_journey/train.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "llm_journey/autograd.hpp"
#include "llm_journey/distributed.hpp"
#include "llm_journey/io.hpp"
#include "llm_journey/ops_lm.hpp"

namespace lj::train {

using nlohmann::json;

void TrainConfig::check() const {
  model.check();
  LJ_CHECK(batch_size > 0, "train: batch_size=", batch_size, " must be positive");
  LJ_CHECK(grad_accum > 0, "train: grad_accum=", grad_accum, " must be positive");
  LJ_CHECK(max_iters >= 0, "train: max_iters=", max_iters, " must be non-negative");
  LJ_CHECK(warmup_iters >= 0, "train: warmup_iters=", warmup_iters, " must be non-negative");
  for (auto [name, v] : {std::pair{"lr", lr}, {"min_lr", min_lr}, {"weight_decay", weight_decay}, {"beta1", beta1},
                          {"beta2", beta2}, {"grad_clip", grad_clip}})
    LJ_CHECK(std::isfinite(v), "train: ", name, "=", v, " must be a finite number");
  LJ_CHECK(lr > 0, "train: lr=", lr, " must be positive");
  LJ_CHECK(min_lr >= 0 && min_lr <= lr, "train: min_lr=", min_lr, " must be between 0 and lr=", lr);
  LJ_CHECK(weight_decay >= 0, "train: weight_decay=", weight_decay, " must be non-negative");
  LJ_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "train: beta1=", beta1, " and beta2=", beta2,
           " must be in [0, 1)");
  LJ_CHECK(grad_clip >= 0, "train: grad_clip=", grad_clip, " must be non-negative (0 turns clipping off)");
  LJ_CHECK(eval_interval > 0, "train: eval_interval=", eval_interval, " must be positive");
  LJ_CHECK(eval_iters > 0, "train: eval_iters=", eval_iters, " must be positive");
}

std::string TrainConfig::to_json() const {
  json j = {{"model", json::parse(model.to_json())},
            {"batch_size", batch_size}, {"grad_accum", grad_accum}, {"max_iters", max_iters},
            {"warmup_iters", warmup_iters}, {"lr_decay_iters", lr_decay_iters}, {"lr", lr}, {"min_lr", min_lr},
            {"weight_decay", weight_decay}, {"beta1", beta1}, {"beta2", beta2}, {"grad_clip", grad_clip},
            {"eval_interval", eval_interval}, {"eval_iters", eval_iters}, {"seed", seed},
            {"dtype", dtype_name(dtype)}};
  return j.dump();
}

TrainConfig TrainConfig::from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    TrainConfig c;
    c.model = nn::GPTConfig::from_json(j.at("model").dump());
    c.batch_size = j.at("batch_size").get<int64_t>();
    c.grad_accum = j.at("grad_accum").get<int64_t>();
    c.max_iters = j.at("max_iters").get<int64_t>();
    c.warmup_iters = j.at("warmup_iters").get<int64_t>();
    c.lr_decay_iters = j.at("lr_decay_iters").get<int64_t>();
    c.lr = j.at("lr").get<double>();
    c.min_lr = j.at("min_lr").get<double>();
    c.weight_decay = j.at("weight_decay").get<double>();
    c.beta1 = j.at("beta1").get<double>();
    c.beta2 = j.at("beta2").get<double>();
    c.grad_clip = j.at("grad_clip").get<double>();
    c.eval_interval = j.at("eval_interval").get<int64_t>();
    c.eval_iters = j.at("eval_iters").get<int64_t>();
    c.seed = j.at("seed").get<uint64_t>();
    if (j.contains("dtype")) {  // checkpoints written before mixed precision have none: fp32
      const std::string d = j.at("dtype").get<std::string>();
      LJ_CHECK(d == "f32" || d == "bf16", "train: dtype=\"", d, "\" must be f32 or bf16");
      c.dtype = d == "bf16" ? Dtype::bf16 : Dtype::f32;
    }
    c.check();
    return c;
  } catch (const json::exception& e) {
    throw Error(std::string("train: the training config in the checkpoint is malformed: ") + e.what());
  }
}

MemoryEstimate estimate_memory(const TrainConfig& c) {
  const double C = static_cast<double>(c.model.n_embd), L = static_cast<double>(c.model.n_layer);
  const double V = static_cast<double>(c.model.vocab_size), T = static_cast<double>(c.model.block_size);
  const double H = static_cast<double>(c.model.n_head), B = static_cast<double>(c.batch_size);
  const double F = static_cast<double>(c.model.mlp_width()), bias = c.model.bias ? 1.0 : 0.0;
  // wte, wpe; per block: ln_1, c_attn (3C x C), c_proj (C x C), ln_2, c_fc (F x C), mlp c_proj; ln_f.
  const double per_block = 2 * C * (1 + bias) + 4 * C * C + 2 * F * C + bias * (3 * C + C + F + C);
  MemoryEstimate m;
  m.parameters = V * C + T * C + L * per_block + C * (1 + bias);
  m.parameter_bytes = 4 * m.parameters;
  m.gradient_bytes = 4 * m.parameters;
  m.optimizer_bytes = 8 * m.parameters;
  m.activation_bytes = 4 * B * T * (L * (10 * C + 2 * F + H * T) + 3 * V);
  return m;
}

double available_memory() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return -1;
  char line[256];
  double kb = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
  std::fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

static std::string gigabytes(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g GB", bytes / 1e9);
  return buf;
}

// Refuses, before allocating, a run that cannot fit in the memory the system has left.
static void check_fits(const TrainConfig& c) {
  const MemoryEstimate m = estimate_memory(c);
  const double avail = available_memory();
  if (avail < 0 || m.total_bytes() <= avail) return;
  throw Error(detail::str_cat(
      "train: this run needs about ", gigabytes(m.total_bytes()), " (", gigabytes(m.parameter_bytes), " for ",
      static_cast<int64_t>(m.parameters), " parameters, as much again for their gradients, ",
      gigabytes(m.optimizer_bytes), " for AdamW's moments, ", gigabytes(m.activation_bytes),
      " of activations for a batch of ", c.batch_size, " x ", c.model.block_size, " tokens), but the machine has ",
      gigabytes(avail), " available; make n_embd=", c.model.n_embd, ", n_layer=", c.model.n_layer,
      ", batch_size=", c.batch_size, " or block_size=", c.model.block_size, " smaller"));
}

static TrainConfig checked(const TrainConfig& c, const data::Tokenizer& tok) {
  c.check();
  LJ_CHECK(c.model.vocab_size == tok.vocab_size(), "train: the model's vocab_size=", c.model.vocab_size,
           " differs from the tokenizer's ", tok.vocab_size());
  return c;
}

Trainer::Trainer(const TrainConfig& config, const data::Dataset& dataset, const data::Tokenizer& tokenizer)
    : Trainer(config, dataset, tokenizer, true) {}

Trainer::Trainer(const TrainConfig& config, const data::Dataset& dataset, const data::Tokenizer& tokenizer, bool seed)
    : config_(checked(config, tokenizer)),
      dataset_(&dataset),
      tokenizer_(tokenizer.clone()),
      sampler_(dataset.train(), config.batch_size, config.model.block_size, config.seed),
      eval_gen_(config.seed + 1) {
  const int64_t T = config.model.block_size;
  LJ_CHECK(static_cast<int64_t>(dataset.train().size()) > T && static_cast<int64_t>(dataset.val().size()) > T,
           "train: the splits have ", dataset.train().size(), " and ", dataset.val().size(),
           " tokens; each needs more than block_size=", T);
  check_fits(config_);
  if (seed) set_seed(config.seed);  // the model's initialisation, then dropout, draw from here
  model_ = std::make_unique<nn::GPT>(config.model);
  optimizer_ = std::make_unique<optim::AdamW>(
      optim::param_groups(*model_, config.weight_decay),
      optim::AdamWOptions{.lr = config.lr, .beta1 = config.beta1, .beta2 = config.beta2, .eps = 1e-8});
}

void Trainer::set_max_iters(int64_t max_iters) {
  LJ_CHECK(max_iters >= 0, "train: max_iters=", max_iters, " must be non-negative");
  config_.max_iters = max_iters;
}

void Trainer::set_dtype(Dtype dtype) { config_.dtype = dtype; }

double Trainer::lr_at(int64_t it) const {
  const int64_t decay = config_.lr_decay_iters < 0 ? config_.max_iters : config_.lr_decay_iters;
  return optim::cosine_lr(it, config_.lr, config_.min_lr, std::min(config_.warmup_iters, decay), decay);
}

double Trainer::step() {
  model_->train();
  optimizer_->set_lr(lr_at(iter_));
  double total = 0;
  Autocast autocast(config_.dtype);  // bf16: the products of forward and backward in bf16
  for (int64_t micro = 0; micro < config_.grad_accum; micro++) {
    data::Batch b = next_batch();  // this rank's share when data-parallel
    Tensor loss = cross_entropy(model_->forward(b.x), b.y_ids);
    total += loss.item();
    // gradients of the mean over the micro-batches
    (config_.grad_accum > 1 ? loss * (1.0f / static_cast<float>(config_.grad_accum)) : loss).backward();
  }
  double mean = total / static_cast<double>(config_.grad_accum);
  // The gradients are complete here. A data-parallel run averages them (and the loss) over its ranks
  // now, before they are measured, clipped and applied: every rank then takes the same step.
  if (world_) mean = average_over_ranks(mean);
  const std::vector<Tensor> params = model_->parameters();
  last_grad_norm_ = optim::grad_norm(params);
  if (!std::isfinite(mean) || !std::isfinite(last_grad_norm_)) {
    optimizer_->zero_grad();
    throw NonFiniteError(detail::str_cat("train: iteration ", iter_ + 1, ": the training loss is ", mean,
                                         " and the gradient norm ", last_grad_norm_,
                                         "; the run has diverged (is the learning rate lr=", config_.lr,
                                         " too high?). Nothing was updated"));
  }
  // Clipping as clip_grad_norm then step() would do it, with the scaling inside the update's pass.
  const float grad_scale = config_.grad_clip > 0 ? optim::clip_coefficient(last_grad_norm_, config_.grad_clip) : 1.0f;
  optimizer_->step(grad_scale);
  optimizer_->zero_grad();
  iter_++;
  history_.loss.push_back(mean);
  return mean;
}

void Trainer::run(const RunOptions& o) {
  int64_t saved_iter = -1;  // the iteration of the last checkpoint this run wrote
  auto diverged = [&](const std::string& what) {
    std::string kept = o.checkpoint.empty()  ? std::string("no checkpoint was asked for")
                       : saved_iter < 0      ? "no checkpoint was written by this run; " + o.checkpoint + " is as it was"
                                             : detail::str_cat("the last good checkpoint, iteration ", saved_iter, ", is kept in ", o.checkpoint);
    return NonFiniteError(what + "; " + kept);
  };
  for (;;) {
    const auto& evals = history_.evals;
    if ((iter_ % config_.eval_interval == 0 || done()) && (evals.empty() || evals.back().iter != iter_)) {
      const EvalPoint e = estimate_loss();
      if (!std::isfinite(e.train_loss) || !std::isfinite(e.val_loss))
        throw diverged(detail::str_cat("train: iteration ", e.iter, ": the loss estimate is not finite (train ",
                                       e.train_loss, ", val ", e.val_loss, "); the run has diverged"));
      if (!o.checkpoint.empty()) {
        save_checkpoint(o.checkpoint);
        saved_iter = iter_;
      }
      if (o.on_eval) o.on_eval(e);
    }
    if (done() || iter_ == o.stop_at) break;
    const auto t0 = std::chrono::steady_clock::now();
    double loss;
    try {
      loss = step();
    } catch (const NonFiniteError& e) {
      throw diverged(e.what());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.on_step) o.on_step({iter_, loss, last_grad_norm_, seconds});
  }
}

EvalPoint Trainer::estimate_loss() {
  NoGradGuard no_grad;
  model_->eval();
  double out[2];
  for (int s = 0; s < 2; s++) {
    const auto& tokens = s == 0 ? dataset_->train() : dataset_->val();
    double sum = 0;
    for (int64_t k = 0; k < config_.eval_iters; k++) {
      const int64_t B = config_.batch_size, T = config_.model.block_size;
      data::Batch b = world_ ? data::get_batch_share(tokens, B, T, eval_gen_, world_->rank(), world_->size())
                             : data::get_batch(tokens, B, T, eval_gen_);
      sum += cross_entropy(model_->forward(b.x), b.y_ids).item();
    }
    out[s] = sum / static_cast<double>(config_.eval_iters);
  }
  if (world_) {  // each rank's mean is over an equal share of every batch: the mean of the means
    world_->allreduce_sum(out, 2);
    for (double& o : out) o /= static_cast<double>(world_->size());
  }
  model_->train();
  EvalPoint e{iter_, out[0], out[1]};
  history_.evals.push_back(e);
  return e;
}

// --- checkpoints ---------------------------------------------------------------------------------

static json history_json(const History& h) {
  json evals = json::array();
  for (const auto& e : h.evals) evals.push_back({e.iter, e.train_loss, e.val_loss});
  return {{"loss", h.loss}, {"evals", evals}};
}

// A checksum of the tensors' data: FNV-1a over 64-bit words, every tensor in name order with its name
// mixed in. Each step, (h ^ w) * odd prime, is a bijection of h, so a change to any one word changes
// the result.
static std::string data_checksum(const io::TensorMap& tensors) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](uint64_t w) { h = (h ^ w) * 1099511628211ull; };
  for (const auto& [name, t] : tensors) {
    for (char ch : name) mix(static_cast<unsigned char>(ch));
    const Tensor c = t.contiguous();
    const float* p = c.data();
    const int64_t n = c.numel();
    int64_t i = 0;
    for (uint64_t w; i + 2 <= n; i += 2) {
      std::memcpy(&w, p + i, sizeof w);
      mix(w);
    }
    if (i < n) {
      uint32_t w;
      std::memcpy(&w, p + i, sizeof w);
      mix(w);
    }
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// A damaged file is refused: its data must match the checksum it was written with (a file from
// before checksums has none, and loads).
static void check_data(const io::TensorMap& tensors, const io::Metadata& meta, const std::string& path) {
  auto it = meta.find("data_checksum");
  if (it == meta.end()) return;
  const std::string got = data_checksum(tensors);
  LJ_CHECK(got == it->second, "checkpoint ", path, " is damaged: its tensor data gives the checksum ", got,
           ", but it was written with ", it->second);
}

void Trainer::save_checkpoint(const std::string& path) const {
  io::TensorMap tensors;
  for (auto& [name, p] : model_->named_parameters()) tensors[name] = p;
  for (auto& [name, t] : optimizer_->state()) tensors["optimizer." + name] = t;
  io::Metadata meta{{"format", "llm-journey-gpt"},
                    {"model_config", config_.model.to_json()},
                    {"tokenizer", tokenizer_->serialize()},
                    {"train_config", config_.to_json()},
                    {"iter", std::to_string(iter_)},
                    {"sampler", sampler_.state()},
                    {"eval_rng", eval_gen_.state()},
                    {"dropout_rng", default_generator().state()},
                    {"history", history_json(history_).dump()},
                    {"data_checksum", data_checksum(tensors)}};
  const std::filesystem::path final_path(path);
  if (final_path.has_parent_path()) std::filesystem::create_directories(final_path.parent_path());
  // A name no other writer uses: two processes, or two trainers in one, never share a temporary.
  static std::atomic<uint64_t> saves{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(saves++);
  io::save_safetensors(tmp, tensors, meta);
  std::error_code ec;
  std::filesystem::rename(tmp, final_path, ec);  // atomic on POSIX: readers see the old or the new file
  LJ_CHECK(!ec, "train: cannot move the checkpoint ", tmp, " to ", path, ": ", ec.message());
}

static const std::string& meta_at(const io::Metadata& m, const std::string& key, const std::string& path) {
  auto it = m.find(key);
  LJ_CHECK(it != m.end(), "checkpoint ", path, " has no metadata '", key,
           "'; is it a checkpoint written by llm-journey train?");
  return it->second;
}

static void load_weights(nn::GPT& model, const io::TensorMap& tensors, const std::string& path) {
  std::vector<std::pair<std::string, Tensor>> loaded;  // name and parameter, to find tied copies
  for (auto& [name, p] : model.named_parameters()) {
    auto it = tensors.find(name);
    LJ_CHECK(it != tensors.end(), "checkpoint ", path, " has no tensor '", name, "'");
    const Tensor& t = it->second;
    LJ_CHECK(t.shape() == p.shape(), "checkpoint ", path, ": '", name, "' has shape ", t.shape(),
             ", the model expects ", p.shape());
    const Tensor c = t.contiguous();
    const float* v = c.data();
    for (int64_t i = 0; i < c.numel(); i++)
      LJ_CHECK(std::isfinite(v[i]), "checkpoint ", path, ": '", name, "' holds the non-finite value ", v[i],
               " at index ", i, "; the run that wrote it had diverged");
    // A tied weight (lm_head.weight is transformer.wte.weight) is stored under both names: the copies
    // must agree, or one of them would be dropped unseen.
    for (const auto& [other, q] : loaded) {
      if (!q.same(p)) continue;
      const Tensor a = tensors.at(other).contiguous();
      for (int64_t i = 0; i < c.numel(); i++)
        LJ_CHECK(a.data()[i] == v[i], "checkpoint ", path, ": '", name, "' is tied to '", other,
                 "' but differs from it (at index ", i, ": ", v[i], " against ", a.data()[i], ")");
    }
    p.copy_(t);
    loaded.emplace_back(name, p);
  }
}

LoadedModel load_checkpoint(const std::string& path) {
  io::Metadata meta;
  io::TensorMap tensors = io::load_safetensors(path, &meta);
  check_data(tensors, meta, path);
  LoadedModel out;
  out.tokenizer = data::Tokenizer::deserialize(meta_at(meta, "tokenizer", path));
  nn::GPTConfig cfg = nn::GPTConfig::from_json(meta_at(meta, "model_config", path));
  LJ_CHECK(cfg.vocab_size == out.tokenizer->vocab_size(), "checkpoint ", path, ": the model's vocab_size=",
           cfg.vocab_size, " differs from its tokenizer's ", out.tokenizer->vocab_size());
  out.model = std::make_unique<nn::GPT>(cfg);
  load_weights(*out.model, tensors, path);
  out.model->eval();
  return out;
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& path, const data::Dataset& dataset, int64_t max_iters) {
  io::Metadata meta;
  io::TensorMap tensors = io::load_safetensors(path, &meta);
  check_data(tensors, meta, path);
  LJ_CHECK(meta_at(meta, "format", path) == "llm-journey-gpt", "checkpoint ", path, " has format '",
           meta.at("format"), "', expected llm-journey-gpt");
  TrainConfig cfg = TrainConfig::from_json(meta_at(meta, "train_config", path));
  if (max_iters >= 0) cfg.max_iters = max_iters;
  auto tok = data::Tokenizer::deserialize(meta_at(meta, "tokenizer", path));
  std::unique_ptr<Trainer> t(new Trainer(cfg, dataset, *tok, false));
  load_weights(*t->model_, tensors, path);
  std::vector<std::pair<std::string, Tensor>> state;
  for (auto& [name, tensor] : tensors)
    if (name.rfind("optimizer.", 0) == 0) state.emplace_back(name.substr(10), tensor);
  t->optimizer_->load_state(state);
  t->iter_ = std::stoll(meta_at(meta, "iter", path));
  t->sampler_.set_state(meta_at(meta, "sampler", path));
  t->eval_gen_.set_state(meta_at(meta, "eval_rng", path));
  default_generator().set_state(meta_at(meta, "dropout_rng", path));
  json h = json::parse(meta_at(meta, "history", path));
  t->history_.loss = h.at("loss").get<std::vector<double>>();
  for (auto& e : h.at("evals")) t->history_.evals.push_back({e[0].get<int64_t>(), e[1].get<double>(), e[2].get<double>()});
  return t;
}

// --- the output folder's lock ----------------------------------------------------------------------

OutputLock::OutputLock(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  LJ_CHECK(!ec, "train: cannot create the output folder ", dir, ": ", ec.message());
  const std::string lock_path = (std::filesystem::path(dir) / ".lock").string();
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  LJ_CHECK(fd_ >= 0, "train: cannot open the lock file ", lock_path, ": ", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    LJ_CHECK(err != EWOULDBLOCK, "train: another run is using the output folder ", dir, " (it holds ", lock_path,
             "); wait for it to finish, or give another --out");
    throw Error("train: cannot lock " + lock_path + ": " + std::strerror(err));
  }
  // Nothing else writes here now: any temporary is what a killed save left behind.
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.find(".safetensors.tmp") != std::string::npos) {
      std::error_code rm;
      if (std::filesystem::remove(entry.path(), rm)) removed_.push_back(entry.path().string());
    }
  }
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the flock
}

EvalResult evaluate(nn::GPT& model, const std::vector<int64_t>& tokens, int64_t batch_size) {
  LJ_CHECK(batch_size > 0, "evaluate: batch_size=", batch_size, " must be positive");
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t T = model.config.block_size;
  const int64_t n = data::num_eval_windows(static_cast<int64_t>(tokens.size()), T);
  LJ_CHECK(n > 0, "evaluate: ", tokens.size(), " tokens make no window of block_size + 1 = ", T + 1);
  double sum = 0;
  for (int64_t first = 0; first < n; first += batch_size) {
    data::Batch b = data::eval_batch(tokens, T, first, batch_size);
    sum += static_cast<double>(cross_entropy(model.forward(b.x), b.y_ids).item()) * static_cast<double>(b.batch_size);
  }
  model.train(was_training);
  return {sum / static_cast<double>(n), n, n * T};
}

}  // namespace lj::train
