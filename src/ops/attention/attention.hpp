// Scaled dot-product attention: what every kernel shares, and the list of kernels.
//
//   forward:  S = Q K^T / sqrt(d_k);  P = softmax over the allowed keys (0 elsewhere);  O = (P * drop) V
//   backward: dV += (P*drop)^T dO;  dP = (dO V^T) * drop;  dS = P * (dP - rowsum(P * dP))
//             dQ += dS K / sqrt(d_k);  dK += dS^T Q / sqrt(d_k)
// Masked keys are skipped rather than given a large negative score, so no future token can leak and
// a row with no allowed key is exactly zero.
//
// The kernels (each in its own file, each checked against reference.cpp by test_attention_variants):
//   reference       plain loops, the formula above                                 reference.cpp
//   heads_in_lanes  many short heads at once, one per vector lane (float)         heads_in_lanes.cpp
//   short_rows      short key sequences, row by row in registers                  short_rows.cpp
//   gemm_rows       the products through gemm, a block of query rows at a time    gemm_rows.cpp
//   flash           tiles of queries x tiles of keys, online softmax; keeps only   flash.cpp
//                   the output and each row's log-sum-exp, O(T) memory
// dispatch.cpp holds the table: the first variant whose predicate accepts the call runs.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "ops/fast_math.hpp"
#include "ops/kernels.hpp"
#include "ops/row_reduce.hpp"

namespace lj::kernels {

// How many keys query i may see: all S, or j <= i + causal_offset.
inline int64_t visible_keys(int64_t i, bool causal, int64_t causal_offset, int64_t S) {
  return causal ? std::min(S, std::max<int64_t>(0, i + causal_offset + 1)) : S;
}

// Scores s[j0 .. j0 + n) of query i set to -inf where the key may not be seen: beyond jend (the
// future) or blocked by the mask row mrow (null: no mask; entries ms apart).
template <typename T>
inline void block_scores(T* s, int64_t j0, int64_t n, int64_t jend, const float* mrow, int64_t ms) {
  for (int64_t j = std::max<int64_t>(jend - j0, 0); j < n; j++) s[j] = T(-INFINITY);
  if (mrow)
    for (int64_t j = 0; j < std::min(n, jend - j0); j++)
      if (mrow[(j0 + j) * ms] == 0.0f) s[j] = T(-INFINITY);
}

// --- the flash path's dropout: a hash of (seed, index), the same draw in forward and backward ----
// index = ((b H + h) T + i) S + j; kept when the top 24 bits of splitmix64's finaliser fall below
// (1 - p) 2^24.
inline uint32_t flash_keep_threshold(double p) { return static_cast<uint32_t>((1.0 - p) * 16777216.0); }
inline bool flash_kept(uint64_t seed, uint64_t index, uint32_t keep_below) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<uint32_t>(z >> 40) < keep_below;
}

// --- the softmax, once for every kernel -------------------------------------------------------
//
// V is a float, a double, or a GCC vector of floats (one attention head per lane): every step is an
// element-wise operation, so one text serves all.
template <typename V>
inline V exp_v(V x) {
  if constexpr (std::is_same_v<V, double>) return std::exp(x);
  else return fast::exp_each(x);
}
template <typename V>
inline V max_of(const V* s, int64_t n) {
  if constexpr (std::is_floating_point_v<V>) {
    return row_max<V>(n, [&](auto at) { return at(s); });
  } else {
    V m = V{} - INFINITY;
    for (int64_t j = 0; j < n; j++) m = s[j] > m ? s[j] : m;
    return m;
  }
}
template <typename V>
inline V sum_of(const V* s, int64_t n) {
  if constexpr (std::is_floating_point_v<V>) {
    return row_sum<V>(n, [&](auto at) { return at(s); });
  } else {
    V sum{};
    for (int64_t j = 0; j < n; j++) sum += s[j];
    return sum;
  }
}

// s[0 .. n) = exp(s - top), top the row's maximum (-inf where no key is allowed: then every exp is
// exp(-inf - 0) = 0); returns their sum.
template <typename V>
inline V exp_shifted(V* s, int64_t n, V top) {
  const V shift = top == -INFINITY ? V{} : top;
#pragma omp simd
  for (int64_t j = 0; j < n; j++) s[j] = exp_v(s[j] - shift);
  return sum_of(s, n);
}

// One step of the online softmax over a row's scores s[0 .. n) (-inf where not allowed). The row's
// earlier keys had maximum m and sum l = sum exp(s - m). Replaces s by exp(s - m'), m' the new
// maximum, updates m and l, and returns exp(m - m'): the factor for whatever was accumulated with
// the old maximum. A row that has seen no allowed key keeps m = -inf, l = 0 and all-zero s.
// Over a whole row at once (m = -inf, l = 0 given) this is softmax_row_in_place's first half.
template <typename V>
inline V softmax_step(V* s, int64_t n, V& m, V& l) {
  const V top = max_of(s, n);
  const V m_new = top > m ? top : m;
  const V sum = exp_shifted(s, n, m_new);
  const V alpha = exp_v(m - (m_new == -INFINITY ? V{} : m_new));
  l = l * alpha + sum;
  m = m_new;
  return alpha;
}

// 1 / l, or 0 for a row with no allowed key (its weights and output stay zeros, never NaN).
template <typename V>
inline V inverse_sum(V l) {
  return l > 0 ? (V{} + 1) / l : V{};
}

// The softmax of a whole row of n scores (-inf where not allowed), in place.
template <typename T>
inline void softmax_row_in_place(T* s, int64_t n) {
  const T inv = inverse_sum(exp_shifted(s, n, max_of(s, n)));
#pragma omp simd
  for (int64_t j = 0; j < n; j++) s[j] *= inv;
}

// --- the variants ---------------------------------------------------------------------------
// Everything a forward call has: weights (B,H,T,S) contiguous or null; lse (B,H,T) or null, each
// row's log-sum-exp for the flash backward (-inf for a row with no allowed key); drop (B,H,T,S)
// multipliers or null (the materialized paths, torch's masks); flash_drop for the flash path's own.
template <typename T>
struct AttentionArgs {
  AttentionDims d;
  const T* q;
  Layout lq;
  const T* k;
  Layout lk;
  const T* v;
  Layout lv;
  T* out;
  Layout lo;
  T* weights = nullptr;
  T* lse = nullptr;
  const T* drop = nullptr;
  FlashDropout flash_drop{};
  MaskView mask{};
  bool causal = false;
  int64_t causal_offset = 0;
};
// The backward's extra: gradients (each may be null) with their layouts, dO, and for flash the
// forward's output O (layout lo of the forward).
template <typename T>
struct AttentionGrads {
  T* dq;
  Layout ldq;
  T* dk;
  Layout ldk;
  T* dv;
  Layout ldv;
  const T* dout;
  Layout ldo;
};

template <typename T>
struct AttentionVariant {
  const char* name;
  bool materializes;  // keeps the weights for its backward (else the rows' log-sum-exp)
  bool (*selects)(const AttentionArgs<T>&);
  void (*forward)(const AttentionArgs<T>&);
  void (*backward)(const AttentionArgs<T>&, const AttentionGrads<T>&);
};

template <typename T>
bool has_dropout(const AttentionArgs<T>& a) {
  return a.drop || a.flash_drop.p > 0;
}

// Each file's entry points.
template <typename T> void attention_forward_reference(const AttentionArgs<T>& a);
template <typename T> void attention_backward_reference(const AttentionArgs<T>& a, const AttentionGrads<T>& g);
template <typename T> bool short_rows_selects(const AttentionArgs<T>& a);
template <typename T> void attention_forward_short_rows(const AttentionArgs<T>& a);
template <typename T> void attention_backward_short_rows(const AttentionArgs<T>& a, const AttentionGrads<T>& g);
bool heads_in_lanes_selects(const AttentionArgs<float>& a);
void attention_forward_heads_in_lanes(const AttentionArgs<float>& a);
template <typename T> void attention_forward_gemm_rows(const AttentionArgs<T>& a);
template <typename T> void attention_backward_gemm_rows(const AttentionArgs<T>& a, const AttentionGrads<T>& g);
template <typename T> bool flash_selects(const AttentionArgs<T>& a);
template <typename T> void attention_forward_flash(const AttentionArgs<T>& a);
template <typename T> void attention_backward_flash(const AttentionArgs<T>& a, const AttentionGrads<T>& g);

// The table, fastest-first for its range; the last entry accepts every call.
template <typename T>
const AttentionVariant<T>* attention_variants(int* count);
// The variant that runs for a call: the first whose predicate accepts it. With materialized_only,
// the first that keeps the weights.
template <typename T>
const AttentionVariant<T>& select_attention_variant(const AttentionArgs<T>& a, bool materialized_only = false);
template <typename T>
const AttentionVariant<T>& attention_variant_named(const char* name);

}  // namespace lj::kernels
