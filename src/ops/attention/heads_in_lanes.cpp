// Many short heads at once: one head per vector lane.
//
// At the seed's shapes (2 x 8 = 16 heads of 10 x 10 x 8) the row-wise kernel (short_rows.cpp) spends its time
// on work that is not arithmetic: per head, transposing K, reducing rows across lanes, padding 10
// keys to 16. Here 16 (batch, head) pairs share each vector instead, one pair per lane. A query's
// d_k values become d_k vectors of 16 lanes, and so on for keys and values; then every step, the
// scores, the row maximum, the exponentials, the sums and P V, is a vertical vector operation with
// no padding and no reduction across lanes. The data goes in and out through 16 x 8 transposes in
// registers. Used for float, without dropout or an explicit mask, when there are enough heads to
// fill the lanes; the arithmetic per element is the row-wise kernel's.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/attention/attention.hpp"
#include "ops/parallel.hpp"

namespace lj::kernels {

constexpr int64_t kLanesMinHeads = 8;

bool heads_in_lanes_selects(const AttentionArgs<float>& a) {
  return short_rows_selects(a) && !has_dropout(a) && !a.mask.data && a.d.B * a.d.H >= kLanesMinHeads;
}

namespace {

using F16 = float __attribute__((vector_size(64)));
using F8 = float __attribute__((vector_size(32)));
using I16 = int32_t __attribute__((vector_size(64)));
constexpr int kLanes = 16;


// A 16 x 8 block (lane l, column c) held in 8 vectors, in one of four layouts; each of the three
// steps of a transpose swaps one bit of the register number with one bit of the position in it.
//   0: rows     register l/2,                position (l%2) c          (two rows per register)
//   1:          register c2 l2 l1,           position l0 l3 c1 c0
//   2:          register c2 c1 l1,           position l0 l3 l2 c0
//   3: lanes    register c,                  position l
struct Place {
  int reg, pos;
};
constexpr Place place(int layout, int l, int c) {
  const int l0 = l & 1, l1 = (l >> 1) & 1, l2 = (l >> 2) & 1, l3 = l >> 3, c0 = c & 1, c1 = (c >> 1) & 1, c2 = c >> 2;
  switch (layout) {
    case 0: return {l >> 1, l0 * 8 + c};
    case 1: return {c2 * 4 + l2 * 2 + l1, l0 * 8 + l3 * 4 + c1 * 2 + c0};
    case 2: return {c2 * 4 + c1 * 2 + l1, l0 * 8 + l3 * 4 + l2 * 2 + c0};
    default: return {c, l};
  }
}

// One step from layout `from` to layout `to`: output register r takes lanes of input registers a[r]
// and b[r], by index[r] (0-15 from a, 16-31 from b).
struct TransposeStep {
  int a[8], b[8];
  int32_t index[8][16];
};
constexpr TransposeStep make_step(int from, int to) {
  TransposeStep s{};
  for (int r = 0; r < 8; r++) s.a[r] = s.b[r] = -1;
  for (int l = 0; l < 16; l++)
    for (int c = 0; c < 8; c++) {
      const Place dst = place(to, l, c), src = place(from, l, c);
      const int r = dst.reg;
      if (s.a[r] < 0 || s.a[r] == src.reg) s.a[r] = src.reg;
      else s.b[r] = src.reg;
      s.index[r][dst.pos] = src.reg == s.a[r] ? src.pos : 16 + src.pos;
    }
  return s;
}
constexpr TransposeStep kToLanes[3] = {make_step(0, 1), make_step(1, 2), make_step(2, 3)};
constexpr TransposeStep kToRows[3] = {make_step(3, 2), make_step(2, 1), make_step(1, 0)};
// Every output register of every step draws on exactly two input registers.
constexpr bool two_inputs_each(const TransposeStep (&steps)[3]) {
  for (const TransposeStep& s : steps)
    for (int r = 0; r < 8; r++)
      if (s.a[r] < 0 || s.b[r] < 0 || s.a[r] == s.b[r]) return false;
  return true;
}
static_assert(two_inputs_each(kToLanes) && two_inputs_each(kToRows));

inline void transpose_step(F16* out, const F16* in, const TransposeStep& s) {
  for (int r = 0; r < 8; r++) {
    I16 index;
    std::memcpy(&index, s.index[r], sizeof index);
    out[r] = __builtin_shuffle(in[s.a[r]], in[s.b[r]], index);
  }
}

// dst[c][l] = row[l][c] for c < width: 16 rows (row[l], l >= n repeating row[n-1]) into width
// vectors of 16 lanes.
inline void rows_to_lanes(F16* dst, const float* const row[kLanes], int64_t width) {
  int64_t c0 = 0;
  for (; c0 + 8 <= width; c0 += 8) {
    F16 x[8], y[8];
    for (int k = 0; k < 8; k++) {
      F8 lo, hi;
      std::memcpy(&lo, row[2 * k] + c0, sizeof lo);
      std::memcpy(&hi, row[2 * k + 1] + c0, sizeof hi);
      x[k] = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    }
    transpose_step(y, x, kToLanes[0]);
    transpose_step(x, y, kToLanes[1]);
    transpose_step(dst + c0, x, kToLanes[2]);
  }
  for (int64_t c = c0; c < width; c++)
    for (int l = 0; l < kLanes; l++) dst[c][l] = row[l][c];
}

// row[l][c] = src[c][l] for c < width and l < n: the inverse of rows_to_lanes.
inline void lanes_to_rows(float* const row[kLanes], int n, const F16* src, int64_t width) {
  int64_t c0 = 0;
  for (; c0 + 8 <= width; c0 += 8) {
    F16 x[8], y[8];
    transpose_step(y, src + c0, kToRows[0]);
    transpose_step(x, y, kToRows[1]);
    transpose_step(y, x, kToRows[2]);
    for (int l = 0; l < n; l++) {
      const F16 pair = y[l / 2];
      const F8 half = l % 2 ? __builtin_shufflevector(pair, pair, 8, 9, 10, 11, 12, 13, 14, 15)
                            : __builtin_shufflevector(pair, pair, 0, 1, 2, 3, 4, 5, 6, 7);
      std::memcpy(row[l] + c0, &half, sizeof half);
    }
  }
  for (int64_t c = c0; c < width; c++)
    for (int l = 0; l < n; l++) row[l][c] = src[c][l];
}

// D > 0: d_k = d_v = D known at compile time (the seed's 8), so the loops over it unroll.
template <int D>
void forward_lanes(const AttentionArgs<float>& a) {
  AttentionDims d = a.d;
  const float *q = a.q, *k = a.k, *v = a.v;
  const Layout lq = a.lq, lk = a.lk, lv = a.lv, lo = a.lo;
  float *out = a.out, *weights = a.weights;
  const bool causal = a.causal;
  const int64_t causal_offset = a.causal_offset;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.dk));
  if (D > 0) d.dk = d.dv = D;
  const int64_t BH = d.B * d.H, TS = d.T * d.S, groups = (BH + kLanes - 1) / kLanes;
  parallel_for(groups, BH * TS * (d.dk + d.dv), [&](int64_t g0, int64_t g1) {
    // per thread, kept between calls: Q (d_k), K (S, d_k), V (S, d_v), P (S), O (d_v), as vectors
    thread_local std::vector<F16> scratch;
    scratch.resize(static_cast<size_t>(d.dk + d.S * d.dk + d.S * d.dv + d.S + d.dv));
    F16* const Q = scratch.data();
    F16* const K = Q + d.dk;
    F16* const V = K + d.S * d.dk;
    F16* const P = V + d.S * d.dv;
    F16* const O = P + d.S;
    for (int64_t g = g0; g < g1; g++) {
      const int n = static_cast<int>(std::min<int64_t>(kLanes, BH - g * kLanes));
      const float *qb[kLanes], *kb[kLanes], *vb[kLanes];
      float *ob[kLanes], *wb[kLanes];
      for (int l = 0; l < kLanes; l++) {  // lanes past the last head repeat it, and are not written
        const int64_t bh = g * kLanes + std::min(l, n - 1), b = bh / d.H, h = bh % d.H;
        qb[l] = q + b * lq.b + h * lq.h;
        kb[l] = k + b * lk.b + h * lk.h;
        vb[l] = v + b * lv.b + h * lv.h;
        ob[l] = out + b * lo.b + h * lo.h;
        wb[l] = weights + bh * TS;
      }
      const float* row[kLanes];
      float* dst[kLanes];
      for (int64_t j = 0; j < d.S; j++) {
        for (int l = 0; l < kLanes; l++) row[l] = kb[l] + j * lk.t;
        rows_to_lanes(K + j * d.dk, row, d.dk);
        for (int l = 0; l < kLanes; l++) row[l] = vb[l] + j * lv.t;
        rows_to_lanes(V + j * d.dv, row, d.dv);
      }
      for (int64_t i = 0; i < d.T; i++) {
        for (int l = 0; l < kLanes; l++) row[l] = qb[l] + i * lq.t;
        rows_to_lanes(Q, row, d.dk);
        const int64_t jend = visible_keys(i, causal, causal_offset, d.S);
        F16 m = F16{} - INFINITY;
        int64_t j = 0;
        for (; j + 2 <= jend; j += 2) {  // scaled scores and their maximum, two keys at a time
          const F16 *k0 = K + j * d.dk, *k1 = k0 + d.dk;
          F16 s0{}, s1{};
          for (int64_t c = 0; c < d.dk; c++) {
            s0 += Q[c] * k0[c];
            s1 += Q[c] * k1[c];
          }
          P[j] = s0 * scale;
          P[j + 1] = s1 * scale;
          m = P[j] > m ? P[j] : m;
          m = P[j + 1] > m ? P[j + 1] : m;
        }
        for (; j < jend; j++) {
          const F16* kj = K + j * d.dk;
          F16 s{};
          for (int64_t c = 0; c < d.dk; c++) s += Q[c] * kj[c];
          P[j] = s * scale;
          m = P[j] > m ? P[j] : m;
        }
        const F16 inv = inverse_sum(exp_shifted(P, jend, m));  // no visible key: weights and output 0
        for (int64_t j = 0; j < jend; j++) P[j] *= inv;
        for (int64_t j = jend; j < d.S; j++) P[j] = F16{};
        for (int64_t c = 0; c < d.dv; c++) {  // each sum in a register, the d_v sums independent
          F16 o{};
          for (int64_t j = 0; j < jend; j++) o += P[j] * V[j * d.dv + c];
          O[c] = o;
        }
        for (int l = 0; l < kLanes; l++) dst[l] = wb[l] + i * d.S;
        lanes_to_rows(dst, n, P, d.S);
        for (int l = 0; l < kLanes; l++) dst[l] = ob[l] + i * lo.t;
        lanes_to_rows(dst, n, O, d.dv);
      }
    }
  });
}

}  // namespace

void attention_forward_heads_in_lanes(const AttentionArgs<float>& a) {
  if (a.d.dk == 8 && a.d.dv == 8) return forward_lanes<8>(a);
  forward_lanes<0>(a);
}

}  // namespace lj::kernels
