// The Trainer's data-parallel part (train.hpp, distributed.hpp): joining a World, drawing this
// rank's share of each batch, averaging the gradients and the loss over the ranks.
#include <cstring>

#include "llm_journey/distributed.hpp"
#include "llm_journey/train.hpp"

namespace lj::train {

static uint64_t fingerprint_tensor(const Tensor& t, uint64_t h) {
  const Tensor c = t.is_contiguous() ? t : t.clone();
  return dist::fingerprint(c.data(), static_cast<size_t>(c.numel()) * sizeof(float), h);
}

static uint64_t fingerprint_string(const std::string& s, uint64_t h = 14695981039346656037ULL) {
  return dist::fingerprint(s.data(), s.size(), h);
}

uint64_t Trainer::state_fingerprint() const {
  uint64_t h = fingerprint_string(std::to_string(iter_));
  for (auto& [name, p] : model_->named_parameters()) h = fingerprint_tensor(p, fingerprint_string(name, h));
  for (auto& [name, t] : optimizer_->state()) h = fingerprint_tensor(t, fingerprint_string(name, h));
  return h;
}

void Trainer::distribute(const dist::World& world) {
  if (world.size() == 1) return;
  LJ_CHECK(config_.batch_size % world.size() == 0, "train: batch_size=", config_.batch_size,
           " is not a multiple of the ", world.size(), " ranks; each rank trains on an equal share of every batch");
  // Everything a rank computes from must be the same everywhere: a host with another copy of the
  // corpus or another build would otherwise train a different model without a word.
  const auto& train = dataset_->train();
  const auto& val = dataset_->val();
  dist::check_same_on_all_ranks(world, fingerprint_string(config_.to_json()), "the training configuration");
  dist::check_same_on_all_ranks(world, fingerprint_string(tokenizer_->serialize()), "the tokenizer");
  dist::check_same_on_all_ranks(
      world,
      dist::fingerprint(val.data(), val.size() * sizeof(int64_t),
                        dist::fingerprint(train.data(), train.size() * sizeof(int64_t))),
      "the training data (is the --data file the same on every host?)");
  dist::check_same_on_all_ranks(world, fingerprint_string(eval_gen_.state(), fingerprint_string(sampler_.state())),
                                "the batch sampler's state");
  dist::check_same_on_all_ranks(world, state_fingerprint(), "the initial weights and optimizer state");
  world_ = &world;
  averager_ = std::make_shared<dist::GradientAverager>(world);
}

// The masks of dropout: each rank draws its own, from a generator seeded by the run's seed, the rank
// and the batch's index, so that they depend on nothing a checkpoint does not hold.
static uint64_t dropout_seed(uint64_t seed, int rank, int64_t batch) {
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
  for (uint64_t v : {static_cast<uint64_t>(rank), static_cast<uint64_t>(batch)}) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xbf58476d1ce4e5b9ULL;
  }
  return h;
}

data::Batch Trainer::next_batch() {
  if (!world_) return sampler_.next();
  if (config_.model.dropout > 0)
    default_generator().manual_seed(dropout_seed(config_.seed, world_->rank(), sampler_.batches_drawn()));
  return sampler_.next_share(world_->rank(), world_->size());
}

double Trainer::average_over_ranks(double loss) {
  averager_->average(model_->parameters());
  world_->allreduce_sum(&loss, 1);
  return loss / static_cast<double>(world_->size());
}

}  // namespace lj::train
