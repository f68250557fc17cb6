// The ranks of a data-parallel run over MPI, and the gradient average. Without MPI (LJ_MPI undefined)
// a World is a world of one and every collective is the identity.
#include "llm_journey/distributed.hpp"

#include <algorithm>
#include <thread>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "llm_journey/error.hpp"

#ifdef LJ_MPI
#include <mpi.h>
#include <unistd.h>
#endif

namespace lj::dist {

bool built_with_mpi() {
#ifdef LJ_MPI
  return true;
#else
  return false;
#endif
}

#ifdef LJ_MPI
static bool started_by_launcher() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
}

// MPI_Allreduce and friends take int counts: larger buffers go in pieces of at most 2^30 elements.
constexpr int64_t kMaxCount = int64_t{1} << 30;
#endif

#ifndef LJ_MPI
static const char* launcher_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(name)) return v;
  return nullptr;
}
#endif

World::World() {
#ifdef LJ_MPI
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && !started_by_launcher()) return;
  if (!initialized) MPI_Init(nullptr, nullptr);
  mpi_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
#else
  // N copies of a tool that cannot talk to each other would each train alone, on the same folder.
  const char* n = launcher_size();
  LJ_CHECK(!n || std::string(n) == "1", "this llm-journey was built without MPI, but mpirun started ", n,
           " copies of it; install libopenmpi-dev, build again (CMake finds MPI), or run it without mpirun");
#endif
}

// Marks a collective as being waited in, for the watchdog.
class CollectiveWait {
 public:
  CollectiveWait(const World& w, const char* what) : w_(w) {
    w_.waiting_since_.store(std::chrono::steady_clock::now().time_since_epoch().count());
    w_.waiting_in_.store(what);
  }
  ~CollectiveWait() { w_.waiting_in_.store(nullptr); }

 private:
  const World& w_;
};

void World::set_timeout(double seconds) {
  LJ_CHECK(seconds >= 0, "set_timeout: seconds=", seconds, " must be non-negative (0: no limit)");
  timeout_ = seconds;
  if (size_ == 1 || seconds == 0 || watchdog_.joinable()) return;
  watchdog_ = std::thread([this] {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const char* what = waiting_in_.load();
      if (!what) continue;
      const int64_t since = waiting_since_.load();
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch() -
                                        std::chrono::steady_clock::duration(since))
              .count();
      if (waiting_in_.load() != what || waited < timeout_) continue;
      std::fprintf(stderr,
                   "llm-journey: rank %d of %d (%s): no answer from the other ranks for %.0f s in %s; a rank or "
                   "its host is down or unreachable. Stopping this rank; resume from the last checkpoint\n",
                   rank_, size_, processor_name().c_str(), waited, what);
      std::fflush(stderr);
      std::_Exit(1);  // the main thread is inside MPI: nothing else can end this process now
    }
  });
}

World::~World() {
  stop_.store(true);
  if (watchdog_.joinable()) watchdog_.join();
#ifdef LJ_MPI
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (mpi_ && !finalized) MPI_Finalize();
#endif
}

std::string World::processor_name() const {
#ifdef LJ_MPI
  if (mpi_) {
    char name[MPI_MAX_PROCESSOR_NAME];
    int len = 0;
    MPI_Get_processor_name(name, &len);
    return std::string(name, static_cast<size_t>(len));
  }
#endif
  return "localhost";
}

void World::allreduce_sum(float* x, int64_t n) const {
#ifdef LJ_MPI
  if (!mpi_ || size_ == 1) return;
  CollectiveWait wait(*this, "the gradient allreduce");
  for (int64_t i = 0; i < n; i += kMaxCount)
    MPI_Allreduce(MPI_IN_PLACE, x + i, static_cast<int>(std::min(kMaxCount, n - i)), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
#else
  (void)x, (void)n;
#endif
}

void World::allreduce_sum(double* x, int64_t n) const {
#ifdef LJ_MPI
  if (!mpi_ || size_ == 1) return;
  CollectiveWait wait(*this, "an allreduce of losses");
  for (int64_t i = 0; i < n; i += kMaxCount)
    MPI_Allreduce(MPI_IN_PLACE, x + i, static_cast<int>(std::min(kMaxCount, n - i)), MPI_DOUBLE, MPI_SUM,
                  MPI_COMM_WORLD);
#else
  (void)x, (void)n;
#endif
}

std::vector<uint64_t> World::allgather(uint64_t value) const {
  std::vector<uint64_t> all(static_cast<size_t>(size_), value);
#ifdef LJ_MPI
  if (mpi_ && size_ > 1) {
    CollectiveWait wait(*this, "a comparison of the ranks' states");
    MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
  }
#endif
  return all;
}

void World::abort(int code) const {
  std::fflush(stdout);
  std::fflush(stderr);
#ifdef LJ_MPI
  if (mpi_) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

void GradientAverager::average(const std::vector<Tensor>& params) {
  if (world_->size() == 1) return;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t total = 0;
  for (const auto& p : params) total += p.numel();
  buffer_.resize(static_cast<size_t>(total));
  // Pack in parameter order (the same on every rank); a parameter no backward pass reached counts as
  // zeros, and stays without a gradient.
  float* at = buffer_.data();
  for (const auto& p : params) {
    const Tensor g = p.grad();
    if (g.defined())
      std::memcpy(at, g.data(), static_cast<size_t>(p.numel()) * sizeof(float));
    else
      std::memset(at, 0, static_cast<size_t>(p.numel()) * sizeof(float));
    at += p.numel();
  }
  world_->allreduce_sum(buffer_.data(), total);
  const float inv = 1.0f / static_cast<float>(world_->size());
  at = buffer_.data();
  for (const auto& p : params) {
    const Tensor g = p.grad();
    if (g.defined()) {
      float* dst = g.mutable_data();  // the gradient is overwritten with the average
      for (int64_t i = 0; i < p.numel(); i++) dst[i] = at[i] * inv;
    }
    at += p.numel();
  }
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  calls_++;
}

uint64_t fingerprint(const void* bytes, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

void check_same_on_all_ranks(const World& world, uint64_t value, const std::string& what) {
  const std::vector<uint64_t> all = world.allgather(value);
  for (size_t r = 1; r < all.size(); r++) {
    if (all[r] == all[0]) continue;
    char a[17], b[17];
    std::snprintf(a, sizeof a, "%016llx", static_cast<unsigned long long>(all[0]));
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(all[r]));
    throw Error(detail::str_cat("ranks disagree on ", what, ": rank 0 has fingerprint ", a, ", rank ", r,
                                " has ", b));
  }
}

}  // namespace lj::dist
