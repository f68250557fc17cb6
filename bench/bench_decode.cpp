// Generation at batch 1, GPT-2 124M's shape with random weights, against the memory-bandwidth limit.
//
//   bench_decode bandwidth           a STREAM-like read kernel: GB/s reading 1 GiB, best of N
//   bench_decode matvec DTYPE [reps] one product over GPT-2's lm_head (50257 x 768), GB/s of weights
//   bench_decode decode DTYPE [N]    fp32 | bf16 | int8: prefill of a 512-token prompt, then N decoded
//                                    tokens (default 64), best of 3; peak memory
//
// bench/decode_compare.py runs each in its own process (so each peak is its own) and prints the table.
// Decoding a token reads every weight once: the limit is weight bytes per token / read bandwidth.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <llm_journey/llm_journey.hpp>
#include <llm_journey/nn/decoder.hpp>
#include <llm_journey/runtime.hpp>
#include <omp.h>

namespace {

using namespace lj;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// Read bandwidth: every thread sums its share of a 1 GiB array of 64-bit integers (integer sums may
// be reordered, so the compiler vectorises the loop; nothing is written). Best of `reps`.
int bandwidth(int reps) {
  const size_t n = (size_t{1} << 30) / sizeof(uint64_t);
  std::vector<uint64_t> a(n);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) a[i] = i;  // first touch by the thread that reads it
  uint64_t sink = 0;
  for (int threads : {1, omp_get_max_threads()}) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
      const double t0 = now();
      uint64_t total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) num_threads(threads)
      for (size_t i = 0; i < n; i++) total += a[i];
      best = std::min(best, now() - t0);
      sink += total;
    }
    std::printf("read bandwidth, %d thread%s: %.2f GB/s (1 GiB, best of %d)\n", threads, threads > 1 ? "s" : "",
                static_cast<double>(n * sizeof(uint64_t)) / best / 1e9, reps);
  }
  return sink == 42 ? 1 : 0;
}

// One matrix-vector product over a packed (50257, 768) matrix, GPT-2's lm_head: GB/s of weights read,
// best of `reps`. Against `bandwidth`, this separates the kernel from the rest of a decoding step.
int matvec(const std::string& dtype, int reps) {
  const int64_t N = 50257, K = 768;
  std::vector<float> w(static_cast<size_t>(N * K)), x(static_cast<size_t>(K)), y(static_cast<size_t>(N));
  Generator gen(0);
  for (auto& v : w) v = static_cast<float>(gen.uniform_double(-0.1, 0.1));
  for (auto& v : x) v = static_cast<float>(gen.uniform_double(-1, 1));
  nn::PackedMatrix p(w.data(), N, K, nn::parse_weight_format(dtype));
  w = {};
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    const double t0 = now();
    p.matmul(y.data(), x.data(), 1, nullptr, false);
    best = std::min(best, now() - t0);
  }
  std::printf("matvec %s (50257 x 768): %.1f MB in %.2f ms, %.2f GB/s (best of %d)\n", dtype.c_str(),
              static_cast<double>(p.bytes()) / 1e6, 1e3 * best, static_cast<double>(p.bytes()) / best / 1e9, reps);
  return y[0] == 12345.0f ? 1 : 0;
}

int decode(const std::string& dtype, int64_t n_new) {
  nn::GPTConfig c{.block_size = 1024, .vocab_size = 50257, .n_layer = 12, .n_head = 12, .n_embd = 768, .bias = true};
  nn::DecoderOptions o{.format = nn::parse_weight_format(dtype), .gelu_tanh = true};
  std::unique_ptr<nn::Decoder> dec;
  {
    set_seed(0);
    nn::GPT model(c);
    dec = std::make_unique<nn::Decoder>(model, o);
  }
  Generator gen(1);
  std::vector<int64_t> prompt(512);
  for (auto& t : prompt) t = static_cast<int64_t>(gen.uniform_double(0, 1) * 50257) % 50257;
  const nn::SampleOptions so{.temperature = 1.0, .top_k = 40};
  double best_prefill = 1e30, best_decode = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    dec->reset();
    const double t0 = now();
    const float* logits = dec->append(prompt);
    best_prefill = std::min(best_prefill, now() - t0);
    // decode from a short context (as a chat turn would): 16 prompt tokens, then n_new tokens
    dec->reset();
    logits = dec->append(std::vector<int64_t>(prompt.begin(), prompt.begin() + 16));
    const double t1 = now();
    for (int64_t i = 0; i < n_new; i++) logits = dec->append({nn::sample_token(logits, c.vocab_size, so, gen)});
    best_decode = std::min(best_decode, now() - t1);
  }
  std::printf("dtype %s: weights %.1f MB; prefill 512 tokens %.3f s (%.1f tokens/s); decode %lld tokens %.3f s "
              "(%.2f tokens/s, %.1f ms/token); peak RSS %.0f MB\n",
              dtype.c_str(), static_cast<double>(dec->weight_bytes()) / 1e6, best_prefill, 512 / best_prefill,
              static_cast<long long>(n_new), best_decode, static_cast<double>(n_new) / best_decode,
              1e3 * best_decode / static_cast<double>(n_new), peak_rss_mb());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "";
  if (what == "bandwidth") return bandwidth(argc > 2 ? std::atoi(argv[2]) : 10);
  if (what == "matvec" && argc > 2) return matvec(argv[2], argc > 3 ? std::atoi(argv[3]) : 20);
  if (what == "decode" && argc > 2) return decode(argv[2], argc > 3 ? std::atoll(argv[3]) : 64);
  std::fprintf(stderr, "usage: bench_decode bandwidth [reps] | matvec fp32|bf16|int8 [reps] | decode fp32|bf16|int8 [tokens]\n");
  return 2;
}
