// Data-parallel training over MPI: the processes of one run (ranks), each training the same model on
// its share of every batch, with the gradients averaged before each optimizer step.
//
//   mpirun -np 2 llm-journey train --data input.txt --batch-size 12     (each rank: 6 of the 12 rows)
//
// The library is built with MPI when CMake finds one (option LJ_MPI, on by default); without it a
// World is always a world of one and training runs as before. mpi.h is included only by
// src/distributed/world.cpp, so these headers need no MPI.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "llm_journey/tensor.hpp"

namespace lj::dist {

// True when the library was built with MPI.
bool built_with_mpi();

// The ranks of MPI_COMM_WORLD. Make one, in main() or the command that trains, before any other MPI
// use; its destructor finalises MPI. MPI is initialised only when the process was started by an
// MPI launcher (mpirun sets OMPI_COMM_WORLD_SIZE, or PMIX_RANK / PMI_RANK): a plain
// `llm-journey train` does not pay for MPI's start-up, and is a world of one.
//
// Faults: MPI_COMM_WORLD keeps MPI's default handler, errors are fatal. A rank that dies (killed, or
// exits without finalising) makes mpirun stop every other rank and print which one died; a rank that
// catches an lj::Error calls abort(), which does the same at once (see README, "Training on many
// processes"). A host that vanishes from the network sends nothing at all, and TCP would wait for it
// for many minutes: with set_timeout(s), a rank that has waited s seconds inside one collective
// prints which collective and how long, and exits (status 1), which ends the run on its side.
class World {
 public:
  World();
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_lead() const { return rank_ == 0; }  // the rank that writes checkpoints, logs and plots
  bool uses_mpi() const { return mpi_; }       // false for a world of one made without a launcher
  std::string processor_name() const;          // the host this rank runs on

  // In place over every rank: x <- x_0 + x_1 + ... (MPI_Allreduce, MPI_SUM). Every rank gets the same
  // bits: Open MPI picks its algorithm from the rank count and the message size only, and sends each
  // partial sum on, so a rerun with the same ranks adds in the same order.
  void allreduce_sum(float* x, int64_t n) const;
  void allreduce_sum(double* x, int64_t n) const;
  // Every rank's value, in rank order (MPI_Allgather).
  std::vector<uint64_t> allgather(uint64_t value) const;
  // Ends the whole run: MPI_Abort on MPI_COMM_WORLD (every rank stops), or exit(code) in a world of one.
  [[noreturn]] void abort(int code) const;
  // The longest wait inside one collective before this rank gives up (0: wait for ever, the default).
  // Checked once a second by a thread of its own; only in a world of more than one.
  void set_timeout(double seconds);

 private:
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
  // The watchdog of set_timeout: the collective being waited in and since when (steady clock, ns).
  mutable std::atomic<const char*> waiting_in_{nullptr};
  mutable std::atomic<int64_t> waiting_since_{0};
  std::atomic<bool> stop_{false};
  double timeout_ = 0;
  std::thread watchdog_;
  friend class CollectiveWait;
};

// Averages the parameters' gradients over the ranks: one flat buffer in parameter order, one
// MPI_Allreduce, then a multiplication by 1 / size (exact for 2, 4, 8, ... ranks). With one rank it
// does nothing. Counts the time spent, for the throughput report.
class GradientAverager {
 public:
  explicit GradientAverager(const World& world) : world_(&world) {}
  void average(const std::vector<Tensor>& params);
  double seconds() const { return seconds_; }  // total time in average()
  int64_t calls() const { return calls_; }
  int64_t bytes_per_call() const { return static_cast<int64_t>(buffer_.size() * sizeof(float)); }

 private:
  const World* world_;
  std::vector<float> buffer_;
  double seconds_ = 0;
  int64_t calls_ = 0;
};

// A 64-bit FNV-1a fingerprint of bytes, to compare what the ranks hold (weights, data, config).
uint64_t fingerprint(const void* bytes, size_t n, uint64_t seed = 14695981039346656037ULL);

// Throws lj::Error on every rank when the ranks' values differ, naming `what` and the values:
// "ranks disagree on the training data: rank 0 has 5f3a..., rank 1 has 91c2...".
void check_same_on_all_ranks(const World& world, uint64_t value, const std::string& what);

}  // namespace lj::dist
