// Training a GPT, as nanoGPT's train.py does: AdamW with nanoGPT's parameter groups, warmup then
// cosine learning rate, gradient accumulation, gradient-norm clipping, periodic train/val loss
// estimates, and checkpoints from which a run resumes bit for bit.
//
// A checkpoint is one safetensors file:
//   tensors  the model under nanoGPT's names (transformer.wte.weight, ..., lm_head.weight, the tied
//            weight stored under both names as nanoGPT's state_dict does), and the optimizer state as
//            "optimizer.<group>.<index>.exp_avg" / ".exp_avg_sq" / ".step" and "optimizer.step"
//   metadata "format": "llm-journey-gpt", "model_config" (GPTConfig JSON), "tokenizer" (its JSON),
//            "train_config", "iter" (iterations done), "sampler" (the training batch sampler's state:
//            its generator and the batches drawn), "eval_rng" and "dropout_rng" (generator states),
//            "history" (the losses so far), "data_checksum" (FNV-1a of the tensor data, checked at load;
//            a file without it still loads)
// Loading refuses a file whose data does not match its checksum, a weight that is not finite, and a
// tied weight whose two stored copies differ.
// It is written to a temporary file in the same folder (a name of its own per process and save, so two
// writers never share one), then renamed over the old one: a crash while writing leaves the last good
// checkpoint intact. A run holds an OutputLock on its folder, so a second run on it is refused.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "llm_journey/autocast.hpp"
#include "llm_journey/data/dataset.hpp"
#include "llm_journey/data/tokenizer.hpp"
#include "llm_journey/nn/gpt.hpp"
#include "llm_journey/optim.hpp"

namespace lj::dist {
class World;
class GradientAverager;
}  // namespace lj::dist

namespace lj::train {

struct TrainConfig {
  nn::GPTConfig model;
  int64_t batch_size = 12;
  int64_t grad_accum = 1;        // micro-batches per iteration
  int64_t max_iters = 2000;
  int64_t warmup_iters = 100;
  int64_t lr_decay_iters = -1;   // -1: max_iters
  double lr = 1e-3, min_lr = 1e-4;
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.99;
  double grad_clip = 1.0;        // 0: no clipping
  int64_t eval_interval = 250;   // estimate the losses every this many iterations (and at the end)
  int64_t eval_iters = 20;       // batches per estimate
  uint64_t seed = 1337;
  Dtype dtype = Dtype::f32;      // the products' precision in training steps: bf16 = autocast (autocast.hpp)

  void check() const;
  std::string to_json() const;
  static TrainConfig from_json(const std::string& json);
};

struct EvalPoint {
  int64_t iter;
  double train_loss, val_loss;
};

struct History {
  std::vector<double> loss;      // the training loss of each iteration (mean over micro-batches)
  std::vector<EvalPoint> evals;  // the periodic estimates
};

// One iteration as Trainer::run reports it.
struct StepReport {
  int64_t iter;        // iterations done, this one included
  double loss;         // its training loss
  double grad_norm;    // the gradients' global L2 norm, before clipping
  double seconds;      // the step's wall time
};

// What Trainer::run does besides the steps; every field may be left at its default.
struct RunOptions {
  std::string checkpoint = {};  // written (save_checkpoint) after every estimate; "": no checkpoints
  int64_t stop_at = -1;    // stop when iter() reaches this, before max_iters (an interrupted run); -1: none
  std::function<void(const EvalPoint&)> on_eval = {};   // after each estimate and its checkpoint
  std::function<void(const StepReport&)> on_step = {};  // after each iteration
};

// A training loss, gradient norm or loss estimate that is not finite (a diverged run). The step that
// met it updated nothing, and Trainer::run wrote no checkpoint after the last finite estimate.
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

class Trainer {
 public:
  // A fresh run: set_seed(config.seed), then the model, then the optimizer.
  Trainer(const TrainConfig& config, const data::Dataset& dataset, const data::Tokenizer& tokenizer);
  // A run resumed from a checkpoint written by save_checkpoint; the dataset must be the same corpus.
  // max_iters may be raised (the schedule follows the new value).
  static std::unique_ptr<Trainer> resume(const std::string& checkpoint_path, const data::Dataset& dataset,
                                         int64_t max_iters = -1);

  // The run loop, the one the tool, the tests and the lessons use: from iter() to max_iters (or
  // options.stop_at), with a loss estimate, then a checkpoint, at every eval_interval-th iteration and
  // at the end (none twice at one iteration, so a resumed run does not repeat the estimate it saved).
  // A non-finite loss, gradient norm or estimate stops it with NonFiniteError, naming the iteration and
  // the last checkpoint written, which holds the last finite state.
  void run(const RunOptions& options = {});

  // One iteration: grad_accum forward/backward passes, clipping, one AdamW step. Returns the loss.
  // Throws NonFiniteError, before updating anything, if the loss or the gradient norm is not finite.
  double step();
  double last_grad_norm() const { return last_grad_norm_; }
  // nanoGPT's estimate_loss: the mean loss of eval_iters random batches of each split, in eval mode,
  // drawn from the trainer's own evaluation generator.
  EvalPoint estimate_loss();
  bool done() const { return iter_ >= config_.max_iters; }
  // A new total for the run (a resumed run trained on); the schedule follows it unless
  // lr_decay_iters is set.
  void set_max_iters(int64_t max_iters);
  // The precision of the steps from here on (a resumed run may change it; the weights are fp32 either way).
  void set_dtype(Dtype dtype);
  int64_t iter() const { return iter_; }
  double lr_at(int64_t it) const;

  void save_checkpoint(const std::string& path) const;

  // Data parallelism (distributed.hpp, src/distributed/trainer.cpp): from here on this trainer is
  // rank world.rank() of world.size(). Each iteration it draws its share of every global batch
  // (batch_size rows in all, which must be a multiple of the ranks), the gradients are averaged
  // over the ranks before clipping and the AdamW step, and the loss estimates split their batches
  // the same way. Throws lj::Error on every rank if the ranks hold different data, configurations,
  // weights or optimizer states. With dropout, each rank draws its masks from a generator seeded by
  // (seed, rank, iteration), so a resumed run draws the same. A world of one changes nothing.
  void distribute(const dist::World& world);
  // A fingerprint of the weights, the optimizer state and the iteration, to check the ranks agree.
  uint64_t state_fingerprint() const;
  // The gradient averaging's time so far (null in a single-process run).
  const dist::GradientAverager* gradient_averager() const { return averager_.get(); }

  nn::GPT& model() { return *model_; }
  optim::AdamW& optimizer() { return *optimizer_; }
  const TrainConfig& config() const { return config_; }
  const History& history() const { return history_; }
  const data::Tokenizer& tokenizer() const { return *tokenizer_; }

 private:
  Trainer(const TrainConfig& config, const data::Dataset& dataset, const data::Tokenizer& tokenizer, bool seed);
  TrainConfig config_;
  const data::Dataset* dataset_;
  std::unique_ptr<data::Tokenizer> tokenizer_;
  std::unique_ptr<nn::GPT> model_;
  std::unique_ptr<optim::AdamW> optimizer_;
  data::BatchSampler sampler_;
  Generator eval_gen_;
  int64_t iter_ = 0;
  double last_grad_norm_ = 0;
  History history_;
  const dist::World* world_ = nullptr;  // set by distribute() when there is more than one rank
  std::shared_ptr<dist::GradientAverager> averager_;
  // The data-parallel hooks of step(), defined in src/distributed/trainer.cpp.
  data::Batch next_batch();
  double average_over_ranks(double loss);
};

// What a training run will hold in memory, estimated from its configuration before anything is
// allocated: the parameters, their gradients, AdamW's two moments, and the activations one
// micro-batch keeps for backward (per layer and token about 10 n_embd + 2 d_ff floats and n_head * block_size
// attention weights; the logits and their gradient, 3 vocab_size floats per token).
struct MemoryEstimate {
  double parameters = 0;  // count, the tied embedding once
  double parameter_bytes = 0, gradient_bytes = 0, optimizer_bytes = 0, activation_bytes = 0;
  double total_bytes() const { return parameter_bytes + gradient_bytes + optimizer_bytes + activation_bytes; }
};
MemoryEstimate estimate_memory(const TrainConfig& config);
// The memory the system can give without swapping (MemAvailable of /proc/meminfo), in bytes; -1 if unknown.
double available_memory();

// A model and tokenizer read back from a checkpoint (for generate and eval).
struct LoadedModel {
  std::unique_ptr<nn::GPT> model;
  std::unique_ptr<data::Tokenizer> tokenizer;
};
LoadedModel load_checkpoint(const std::string& path);

// An exclusive lock on a training run's output folder (flock on DIR/.lock, created with the folder if
// need be), held for the object's life; the system drops it when the process ends, however it ends.
// A second lock on the same folder, from this process or another, throws an Error naming the folder.
// Once held, the partial checkpoints an interrupted save left there (*.safetensors.tmp*) are removed
// and listed in removed().
class OutputLock {
 public:
  explicit OutputLock(const std::string& dir);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  const std::vector<std::string>& removed() const { return removed_; }

 private:
  int fd_ = -1;
  std::vector<std::string> removed_;
};

// The mean cross-entropy over the evaluation windows of `tokens` (starts every block_size tokens, the
// last incomplete window dropped; see data::eval_batch), in batches of batch_size windows. Returns
// the mean over all predicted tokens; perplexity is its exp.
struct EvalResult {
  double loss;
  int64_t windows, tokens;
};
EvalResult evaluate(nn::GPT& model, const std::vector<int64_t>& tokens, int64_t batch_size = 32);

}  // namespace lj::train
