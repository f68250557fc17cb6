// Splits of parallel loops by the threads' measured speeds (parallel.hpp).
#include "ops/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "runtime/state.hpp"

namespace lj {

namespace {

static_assert(Balance::kMaxThreads == Runtime::State::kMaxThreads);

constexpr double kAlpha = 0.2;        // weight of the newest region in the moving average
constexpr double kMinSeconds = 20e-6; // regions shorter than this on some thread teach nothing
constexpr double kMaxShare = 3.0;     // no thread gets more than 3x (or less than 1/3 of) an even share

double speed_of(int t) { return runtime().thread_speed(t); }

}  // namespace

double Balance::now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Balance::speed(int t) { return t >= 0 && t < kMaxThreads ? speed_of(t) : 1.0; }

void Balance::reset() { runtime().reset_thread_speeds(); }

void Balance::bounds(int64_t n, int nt, int64_t align, int64_t min_part, int64_t* b) {
  double total = 0;
  for (int t = 0; t < nt; t++) total += speed_of(t);
  b[0] = 0;
  double cum = 0;
  for (int t = 0; t < nt; t++) {
    cum += speed_of(t);
    int64_t e = t + 1 == nt ? n : static_cast<int64_t>(static_cast<double>(n) * cum / total + 0.5);
    if (t + 1 < nt) e = std::min(n, (e + align / 2) / align * align);
    b[t + 1] = std::max(b[t], e);
  }
  // A part smaller than min_part (but not empty): split evenly instead, as before any measurement.
  for (int t = 0; t < nt; t++)
    if (b[t + 1] > b[t] && b[t + 1] - b[t] < min_part) {
      const int64_t even = ((n + nt - 1) / nt + align - 1) / align * align;
      for (int u = 0; u <= nt; u++) b[u] = std::min(n, u * even);
      return;
    }
}

void Balance::record(int nt, const int64_t* b, const double* seconds) {
  double rate[kMaxThreads], mean = 0;
  for (int t = 0; t < nt; t++) {
    if (b[t + 1] <= b[t] || seconds[t] < kMinSeconds) return;
    rate[t] = static_cast<double>(b[t + 1] - b[t]) / seconds[t];
    mean += rate[t];
  }
  mean /= nt;
  double sum = 0, next[kMaxThreads];
  for (int t = 0; t < nt; t++) {
    const double r = std::clamp(rate[t] / mean, 1.0 / kMaxShare, kMaxShare);
    next[t] = (1 - kAlpha) * speed_of(t) + kAlpha * r;
    sum += next[t];
  }
  auto& speeds = runtime().state().thread_speed;
  for (int t = 0; t < nt; t++) speeds[t].store(next[t] * nt / sum, std::memory_order_relaxed);
}

}  // namespace lj
