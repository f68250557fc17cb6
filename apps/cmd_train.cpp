// llm-journey train --data FILE [options]: trains a GPT (nanoGPT's train.py) and writes
// OUT/checkpoint.safetensors at every evaluation; --resume continues from it bit for bit.
// Under mpirun it is one rank of a data-parallel run (distributed.hpp): every rank trains, rank 0
// alone locks the output folder, prints, checkpoints and plots.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "llm_journey/distributed.hpp"
#include "llm_journey/train.hpp"
#include "llm_journey/utils.hpp"
#include "llm_journey/viz.hpp"

namespace lj::cli {

namespace {

struct TrainArgs {
  std::string data, out = "out", tokenizer = "char", dtype = "fp32";
  int64_t bpe_vocab = 512;
  bool resume = false, overwrite = false;
  double collective_timeout = 300;  // under mpirun: the longest wait for the other ranks
  train::TrainConfig config;
  CLI::App* cmd = nullptr;  // to tell the flags given from the defaults
};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The flags a resumed run cannot change: each one given must agree with the checkpoint.
struct Fixed {
  const char* flag;
  std::string (*value)(const train::TrainConfig&);
};
const Fixed kFixedWhenResuming[] = {
    {"--n-layer", [](const train::TrainConfig& c) { return std::to_string(c.model.n_layer); }},
    {"--n-head", [](const train::TrainConfig& c) { return std::to_string(c.model.n_head); }},
    {"--n-embd", [](const train::TrainConfig& c) { return std::to_string(c.model.n_embd); }},
    {"--block-size", [](const train::TrainConfig& c) { return std::to_string(c.model.block_size); }},
    {"--dropout", [](const train::TrainConfig& c) { return num(c.model.dropout); }},
    {"--bias", [](const train::TrainConfig& c) { return std::string(c.model.bias ? "on" : "off"); }},
    {"--batch-size", [](const train::TrainConfig& c) { return std::to_string(c.batch_size); }},
    {"--grad-accum", [](const train::TrainConfig& c) { return std::to_string(c.grad_accum); }},
    {"--lr", [](const train::TrainConfig& c) { return num(c.lr); }},
    {"--min-lr", [](const train::TrainConfig& c) { return num(c.min_lr); }},
    {"--warmup-iters", [](const train::TrainConfig& c) { return std::to_string(c.warmup_iters); }},
    {"--weight-decay", [](const train::TrainConfig& c) { return num(c.weight_decay); }},
    {"--beta2", [](const train::TrainConfig& c) { return num(c.beta2); }},
    {"--grad-clip", [](const train::TrainConfig& c) { return num(c.grad_clip); }},
    {"--eval-interval", [](const train::TrainConfig& c) { return std::to_string(c.eval_interval); }},
    {"--eval-iters", [](const train::TrainConfig& c) { return std::to_string(c.eval_iters); }},
    {"--seed", [](const train::TrainConfig& c) { return std::to_string(c.seed); }},
};

void check_resume_flags(const TrainArgs& a, const train::Trainer& t, const std::string& ckpt) {
  for (const Fixed& f : kFixedWhenResuming) {
    if (a.cmd->count(f.flag) == 0) continue;
    const std::string given = f.value(a.config), saved = f.value(t.config());
    LJ_CHECK(given == saved, "train: ", f.flag, " ", given, " differs from the checkpoint's ", saved, " (", ckpt,
             "); a resumed run keeps the configuration it was started with: drop the flag, or start a new run "
             "with another --out");
  }
  const auto& tok = t.tokenizer();
  LJ_CHECK(a.cmd->count("--tokenizer") == 0 || a.tokenizer == tok.type(), "train: --tokenizer ", a.tokenizer,
           " differs from the checkpoint's ", tok.type(), " tokenizer (", ckpt, "); drop the flag, or start a new run");
  LJ_CHECK(a.cmd->count("--bpe-vocab-size") == 0 || (tok.type() == "bpe" && a.bpe_vocab == tok.vocab_size()),
           "train: --bpe-vocab-size ", a.bpe_vocab, " differs from the checkpoint's ", tok.type(),
           " tokenizer with vocabulary ", tok.vocab_size(), " (", ckpt, "); drop the flag, or start a new run");
}

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

int train_on(const dist::World& world, const TrainArgs& a) {
  const bool lead = world.is_lead();
  const std::string ckpt = (std::filesystem::path(a.out) / "checkpoint.safetensors").string();
  LJ_CHECK(!(a.resume && a.overwrite), "train: --resume and --overwrite exclude each other");
  if (!a.resume && a.cmd->count("--min-lr") == 0 && a.config.lr < a.config.min_lr)
    throw Error("train: --lr " + num(a.config.lr) + " is below --min-lr, the rate the cosine schedule ends at, whose "
                "default is " + num(a.config.min_lr) + ": lower --min-lr too (to at most " + num(a.config.lr) + ")");
  // held to the end: a second run on this folder is refused (the other ranks write nothing there)
  std::unique_ptr<train::OutputLock> lock;
  if (lead) {
    lock = std::make_unique<train::OutputLock>(a.out);
    for (const auto& f : lock->removed()) std::printf("removed %s, left by an interrupted save\n", f.c_str());
  }
  if (a.resume)
    LJ_CHECK(std::filesystem::exists(ckpt), "train: --resume: there is no checkpoint ", ckpt, " to resume");
  else
    LJ_CHECK(a.overwrite || !std::filesystem::exists(ckpt), "train: ", ckpt,
             " already holds a model; give --resume to continue training it, or --overwrite to replace it with a "
             "new run (or choose another --out)");
  std::unique_ptr<data::Tokenizer> tok;
  std::unique_ptr<train::Trainer> trainer;
  const std::string text = data::read_text_file(a.data);
  if (a.resume) {
    auto loaded = train::load_checkpoint(ckpt);  // its tokenizer tokenises the corpus the same way
    tok = std::move(loaded.tokenizer);
  } else if (a.tokenizer == "char") {
    tok = std::make_unique<data::CharTokenizer>(data::CharTokenizer::from_text(text));
  } else if (a.tokenizer == "bpe") {
    tok = std::make_unique<data::BpeTokenizer>(data::BpeTokenizer::train(text, a.bpe_vocab));
  } else {
    throw Error("train: --tokenizer '" + a.tokenizer + "' is not one of: char, bpe");
  }
  data::Dataset dataset(text, *tok);
  if (a.resume) {
    trainer = train::Trainer::resume(ckpt, dataset);
    check_resume_flags(a, *trainer, ckpt);
    if (a.cmd->count("--dtype") && a.config.dtype != trainer->config().dtype) {
      if (lead)
        std::printf("--dtype %s replaces the checkpoint's %s for the steps from here on\n", a.dtype.c_str(),
                    trainer->config().dtype == Dtype::bf16 ? "bf16" : "fp32");
      trainer->set_dtype(a.config.dtype);
    }
    const int64_t it = trainer->iter(), saved_total = trainer->config().max_iters;
    if (a.cmd->count("--max-iters")) {
      LJ_CHECK(a.config.max_iters > it, "train: --max-iters ", a.config.max_iters, " is not beyond the checkpoint's iteration ",
               it, " (", ckpt, "): nothing to do; with --resume, --max-iters is the new total");
      if (a.config.max_iters != saved_total) {
        trainer->set_max_iters(a.config.max_iters);
        if (lead && trainer->config().lr_decay_iters < 0) {
          std::printf("--max-iters %lld replaces the checkpoint's %lld: the cosine learning rate now decays to min_lr at "
                      "iteration %lld\n",
                      static_cast<long long>(a.config.max_iters), static_cast<long long>(saved_total),
                      static_cast<long long>(a.config.max_iters));
        } else if (lead) {
          std::printf("--max-iters %lld replaces the checkpoint's %lld; the learning rate schedule is unchanged "
                      "(lr_decay_iters=%lld)\n",
                      static_cast<long long>(a.config.max_iters), static_cast<long long>(saved_total),
                      static_cast<long long>(trainer->config().lr_decay_iters));
        }
      }
    } else {
      LJ_CHECK(it < saved_total, "train: the checkpoint ", ckpt, " has finished its ", saved_total,
               " iterations: nothing to do; give --max-iters with a larger total to train on");
    }
    if (lead)
      std::printf("resuming %s at iteration %lld of %lld\n", ckpt.c_str(), static_cast<long long>(trainer->iter()),
                static_cast<long long>(trainer->config().max_iters));
  } else {
    train::TrainConfig c = a.config;
    c.model.vocab_size = tok->vocab_size();
    trainer = std::make_unique<train::Trainer>(c, dataset, *tok);
  }
  trainer->distribute(world);
  const auto& c = trainer->config();
  if (lead) {
    if (world.size() > 1)
      std::printf("data-parallel: %d ranks, %lld of the %lld sequences of each batch per rank (rank 0 on %s)\n",
                  world.size(), static_cast<long long>(c.batch_size / world.size()), static_cast<long long>(c.batch_size),
                  world.processor_name().c_str());
    std::printf("corpus %s: %s train tokens, %s val tokens, %s tokenizer with vocabulary %lld\n", a.data.c_str(),
                with_commas(static_cast<int64_t>(dataset.train().size())).c_str(),
                with_commas(static_cast<int64_t>(dataset.val().size())).c_str(), tok->type().c_str(),
                static_cast<long long>(tok->vocab_size()));
    std::printf("model: %lld layers, %lld heads, %lld dims, block %lld, bias %s: %s parameters\n",
                static_cast<long long>(c.model.n_layer), static_cast<long long>(c.model.n_head),
                static_cast<long long>(c.model.n_embd), static_cast<long long>(c.model.block_size),
                c.model.bias ? "on" : "off", with_commas(count_parameters(trainer->model())).c_str());
    std::printf("expected initial loss ln(%lld) = %.4f\n", static_cast<long long>(tok->vocab_size()),
                std::log(static_cast<double>(tok->vocab_size())));
    std::fflush(stdout);
  }

  const bool tty = isatty(fileno(stderr));
  const int64_t tokens_per_iter = c.batch_size * c.grad_accum * c.model.block_size;
  const int64_t first_iter = trainer->iter();
  // The steady throughput: the training steps alone, after the first kWarmupIters (while the
  // allocator and the caches fill), without the loss estimates and checkpoints.
  constexpr int64_t kWarmupIters = 10;
  double steady_seconds = 0;
  int64_t steady_iters = 0;
  auto t0 = std::chrono::steady_clock::now();
  train::RunOptions run{.checkpoint = lead ? ckpt : std::string()};
  run.on_eval = [&](const train::EvalPoint& e) {
    if (world.size() > 1)  // the ranks still hold the same model (checked at every estimate)
      dist::check_same_on_all_ranks(world, trainer->state_fingerprint(), "the weights after training");
    if (!lead) return;
    std::fprintf(stderr, "%sstep %lld: train loss %.4f, val loss %.4f (checkpoint %s)\n", tty ? "\r\033[K" : "",
                 static_cast<long long>(e.iter), e.train_loss, e.val_loss, ckpt.c_str());
  };
  run.on_step = [&](const train::StepReport& s) {
    if (s.iter - first_iter > kWarmupIters) {
      steady_seconds += s.seconds;
      steady_iters++;
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int64_t done = s.iter - first_iter;
    const double tps = static_cast<double>(done * tokens_per_iter) / std::max(elapsed, 1e-9);
    const double eta = elapsed / static_cast<double>(done) * static_cast<double>(c.max_iters - s.iter);
    if (lead && (tty || s.iter % 100 == 0 || s.iter == c.max_iters)) {
      const int width = 24;
      const int filled = static_cast<int>(width * s.iter / std::max<int64_t>(1, c.max_iters));
      std::fprintf(stderr, "%s[%s%s] iter %lld/%lld | loss %.4f | %s tok/s | ETA %s%s", tty ? "\r\033[K" : "",
                   std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(width - filled), '.').c_str(), static_cast<long long>(s.iter),
                   static_cast<long long>(c.max_iters), s.loss, with_commas(static_cast<int64_t>(tps)).c_str(),
                   format_duration(eta).c_str(), tty ? "" : "\n");
    }
  };
  trainer->run(run);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!lead) return 0;
  const auto& last = trainer->history().evals.back();
  // the loss curve: every iteration's training loss and the periodic estimates
  viz::Series train_s{"train loss", {}, trainer->history().loss}, val_s{"val loss (estimate)", {}, {}};
  for (size_t i = 0; i < train_s.y.size(); i++) train_s.x.push_back(static_cast<double>(i + 1));
  for (const auto& e : trainer->history().evals) {
    val_s.x.push_back(static_cast<double>(e.iter));
    val_s.y.push_back(e.val_loss);
  }
  const std::string png = (std::filesystem::path(a.out) / "loss.png").string();
  viz::plot_lines({.title = "Training loss", .xlabel = "iteration", .ylabel = "cross-entropy",
                   .series = {train_s, val_s}, .markers = false})
      .save_png(png);
  std::printf("loss curve: %s\n", png.c_str());
  std::printf("done: %lld iterations in %.1f s; train loss %.4f, val loss %.4f; checkpoint %s\n",
              static_cast<long long>(trainer->iter() - first_iter), elapsed, last.train_loss, last.val_loss,
              ckpt.c_str());
  if (steady_iters > 0)
    std::printf("steady throughput: %s tok/s (%lld training steps after the first %lld, in %.3f s)\n",
                with_commas(static_cast<int64_t>(static_cast<double>(steady_iters * tokens_per_iter) / steady_seconds))
                    .c_str(),
                static_cast<long long>(steady_iters), static_cast<long long>(kWarmupIters), steady_seconds);
  if (const auto* avg = trainer->gradient_averager(); avg && avg->calls() > 0)
    std::printf("gradient allreduce: %.2f ms per step on rank 0 (%s bytes, %lld steps, including waiting for the "
                "slowest rank)\n",
                1e3 * avg->seconds() / static_cast<double>(avg->calls()), with_commas(avg->bytes_per_call()).c_str(),
                static_cast<long long>(avg->calls()));
  return 0;
}

// One rank's run. In a world of more than one, an error on any rank ends them all at once (MPI_Abort):
// returning would leave the others waiting for it in the next collective.
int run_train(const TrainArgs& a) {
  dist::World world;
  if (world.size() == 1) return train_on(world, a);
  try {
    world.set_timeout(a.collective_timeout);
    return train_on(world, a);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "llm-journey: error on rank %d of %d (%s): %s\n", world.rank(), world.size(),
                 world.processor_name().c_str(), e.what());
    world.abort(1);
  }
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a GPT language model on a UTF-8 text file (nanoGPT's train.py)");
  auto a = std::make_shared<TrainArgs>();
  a->cmd = cmd;
  auto& c = a->config;
  cmd->add_option("--data", a->data, "The training text (UTF-8); split 90/10 into train and val")->required();
  cmd->add_option("--out", a->out, "Folder for checkpoint.safetensors")->capture_default_str();
  cmd->add_flag("--resume", a->resume, "Continue from OUT/checkpoint.safetensors");
  cmd->add_flag("--overwrite", a->overwrite, "Replace the model in OUT/checkpoint.safetensors with a new run");
  cmd->add_option("--tokenizer", a->tokenizer, "char or bpe")->capture_default_str();
  cmd->add_option("--bpe-vocab-size", a->bpe_vocab, "Vocabulary size when training a BPE tokenizer")->capture_default_str()->check(kPositiveInt);
  cmd->add_option("--n-layer", c.model.n_layer, "Transformer blocks")->capture_default_str()->check(kPositiveInt);
  cmd->add_option("--n-head", c.model.n_head, "Attention heads")->capture_default_str()->check(kPositiveInt);
  cmd->add_option("--n-embd", c.model.n_embd, "Model width")->capture_default_str()->check(kPositiveInt);
  cmd->add_option("--block-size", c.model.block_size, "Context length")->capture_default_str()->check(kPositiveInt);
  cmd->add_option("--dropout", c.model.dropout, "Dropout probability")->capture_default_str();
  cmd->add_flag("--bias", c.model.bias, "Biases in Linear layers and LayerNorms");
  cmd->add_option("--batch-size", c.batch_size, "Sequences per micro-batch (under mpirun: over all ranks)")
      ->capture_default_str()
      ->check(kPositiveInt);
  cmd->add_option("--grad-accum", c.grad_accum, "Micro-batches per iteration")->capture_default_str()->check(kPositiveInt);
  cmd->add_option("--max-iters", c.max_iters, "Iterations (with --resume: the new total; default: the checkpoint's)")
      ->capture_default_str()
      ->check(kNonNegativeInt);
  cmd->add_option("--lr", c.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", c.min_lr, "Learning rate at the end of the cosine")->capture_default_str();
  cmd->add_option("--warmup-iters", c.warmup_iters, "Linear warmup iterations")->capture_default_str()->check(kNonNegativeInt);
  cmd->add_option("--weight-decay", c.weight_decay, "AdamW weight decay (matrices only)")->capture_default_str();
  cmd->add_option("--beta2", c.beta2, "AdamW beta2")->capture_default_str();
  cmd->add_option("--grad-clip", c.grad_clip, "Gradient-norm clip (0: off)")->capture_default_str();
  cmd->add_option("--eval-interval", c.eval_interval, "Estimate the losses and checkpoint every N iterations")
      ->capture_default_str()->check(kPositiveInt);
  cmd->add_option("--eval-iters", c.eval_iters, "Batches per loss estimate")->capture_default_str()->check(kPositiveInt);
  cmd->add_option("--seed", c.seed, "Seed for the initialisation, batches and dropout")->capture_default_str();
  cmd->add_option("--dtype", a->dtype,
                  "Precision of the matrix products: fp32, or bf16 (autocast: bf16 inputs, fp32 sums; weights, "
                  "gradients and AdamW stay fp32). With --resume: the checkpoint's unless given")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->each([&c](const std::string& v) { c.dtype = v == "bf16" ? Dtype::bf16 : Dtype::f32; });
  cmd->add_option("--collective-timeout", a->collective_timeout,
                  "Under mpirun: seconds a rank waits for the others in one exchange before it stops (0: no limit)")
      ->capture_default_str();
  return {cmd, [a] { return run_train(*a); }};
}

}  // namespace lj::cli
