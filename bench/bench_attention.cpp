// Attention at long context: time and peak extra memory of one forward, and of one forward+backward,
// for the op (which picks its kernel by shape) and for each kernel forced through the table.
//   bench_attention [--B 1] [--H 8] [--d 64] [--T 4096] [--causal] [--reps 5] [--kernel op|flash|gemm_rows]
// prints one line per measurement; bench/attention_compare.py runs it beside PyTorch. The peak is
// the process's VmHWM after /proc/self/clear_refs reset it, minus the resident size before the call:
// what the call itself adds (the allocator's cache is emptied before each call).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <llm_journey/llm_journey.hpp>
#include <llm_journey/runtime.hpp>

#include "ops/attention/attention.hpp"

namespace {

using namespace lj;

double status_mb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, n, key) == 0) return std::stod(line.substr(n + 1)) / 1024.0;  // kB
  return -1;
}
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Options {
  int64_t B = 1, H = 8, d = 64, T = 4096;
  bool causal = false;
  int reps = 5;
  std::string kernel = "op";
};

// One forward (and backward) through the op, or through a named kernel with the buffers it keeps.
void run(const Options& o, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dy, bool backward) {
  if (o.kernel == "op") {
    if (!backward) {
      NoGradGuard no_grad;
      AttentionResult r = scaled_dot_product_attention(q, k, v, Tensor(), o.causal);
      return;
    }
    AttentionResult r = scaled_dot_product_attention(q, k, v, Tensor(), o.causal);
    r.output.backward(dy);
    return;
  }
  const auto& variant = kernels::attention_variant_named<float>(o.kernel.c_str());
  const int64_t B = o.B, H = o.H, T = o.T, d = o.d;
  const kernels::Layout l{H * T * d, T * d, d};
  std::vector<float> out(static_cast<size_t>(B * H * T * d)),
      keep(static_cast<size_t>(variant.materializes ? B * H * T * T : B * H * T));
  kernels::AttentionArgs<float> a{{B, H, T, T, d, d}, q.data(), l, k.data(), l, v.data(), l,
                                  out.data(), l};
  a.causal = o.causal;
  (variant.materializes ? a.weights : a.lse) = keep.data();
  variant.forward(a);
  if (!backward) return;
  std::vector<float> dq(out.size()), dk(out.size()), dv(out.size());
  variant.backward(a, {dq.data(), l, dk.data(), l, dv.data(), l, dy.data(), l});
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto next = [&]() { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--B") o.B = std::stoll(next());
    else if (a == "--H") o.H = std::stoll(next());
    else if (a == "--d") o.d = std::stoll(next());
    else if (a == "--T") o.T = std::stoll(next());
    else if (a == "--causal") o.causal = true;
    else if (a == "--reps") o.reps = std::stoi(next());
    else if (a == "--kernel") o.kernel = next();
    else {
      std::fprintf(stderr, "bench_attention: unknown option '%s'\n", a.c_str());
      return 2;
    }
  }
  set_seed(0);
  Tensor q = randn({o.B, o.H, o.T, o.d}).requires_grad_(), k = randn({o.B, o.H, o.T, o.d}).requires_grad_(),
         v = randn({o.B, o.H, o.T, o.d}).requires_grad_(), dy = randn({o.B, o.H, o.T, o.d});
  for (bool backward : {false, true}) {
    double best = 1e30, peak = 0;
    for (int r = 0; r < o.reps; r++) {
      for (Tensor* t : {&q, &k, &v}) t->zero_grad();
      release_cached_memory();  // what the call needs shows as new resident memory
      const double before = status_mb("VmRSS:");
      reset_peak();
      const double t0 = now();
      run(o, q, k, v, dy, backward);
      best = std::min(best, now() - t0);
      peak = std::max(peak, status_mb("VmHWM:") - before);
    }
    std::printf("ours kernel=%s B=%lld H=%lld T=%lld d=%lld causal=%d %s best_ms=%.2f extra_mb=%.1f\n",
                o.kernel.c_str(), (long long)o.B, (long long)o.H, (long long)o.T, (long long)o.d, o.causal ? 1 : 0,
                backward ? "fwd+bwd" : "fwd", best * 1e3, peak);
  }
}
