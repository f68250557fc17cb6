// Flash attention: O(T) memory. Queries in tiles of kQueryTile rows (kBackwardRows backward)
// against keys in tiles of kKeyTile, with the online softmax (attention.hpp, softmax_step): each
// row keeps its running maximum m and sum l, and the output accumulated so far is rescaled by
// exp(m_old - m_new) whenever the maximum grows. Only the output and each row's log-sum-exp,
// lse = m + log l, are kept; the backward pass recomputes each tile's probabilities as
// P = exp(S - lse), and uses
//   rowsum(P * dP) = rowsum(dO * O)   (O = (P * drop) V)
// so that no (T, S) array ever exists. Under a causal mask a query tile stops at the last key its
// last row may see: whole tiles above the diagonal are never computed, and only the tiles that
// cross it are masked element by element.
// Forward threads over (batch, head, query tile); backward over (batch, head), or with fewer heads
// than threads over key tiles then query tiles (see attention_backward_flash). Either way every value
// is computed on one thread in a fixed order, so the results do not depend on how the work is split.
// The weights are made only when asked (a.weights non-null), after the output, from the lse: asking
// never changes the output.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/attention/attention.hpp"
#include "ops/parallel.hpp"

namespace lj::kernels {

constexpr int64_t kQueryTile = 64;
constexpr int64_t kKeyTile = 256;
// The backward pass's query tiles are taller: its products dV += P^T dO and dK += dS^T Q sum over the
// tile's rows, and 64 of them leave those products short.
constexpr int64_t kBackwardRows = 128;
// Flash runs from this many scores per head: past the training shapes (T = S = 256), where the
// materializing kernels are faster and their weights are small.
constexpr int64_t kFlashMinScores = 256 * 256;

template <typename T>
bool flash_selects(const AttentionArgs<T>& a) {
  return a.d.T * a.d.S > kFlashMinScores;
}

namespace {

// The pieces of one (b, h): the inputs, the gradients, where each row starts.
template <typename T>
struct Head {
  const T *Q, *K, *V;
  int64_t b, h, bh;
  const float* mask;  // the mask's (b, h) plane, or null
};

template <typename T>
Head<T> head(const AttentionArgs<T>& a, int64_t bh) {
  const int64_t b = bh / a.d.H, h = bh % a.d.H;
  return {a.q + b * a.lq.b + h * a.lq.h, a.k + b * a.lk.b + h * a.lk.h, a.v + b * a.lv.b + h * a.lv.h, b, h, bh,
          a.mask.data ? a.mask.data + b * a.mask.b + h * a.mask.h : nullptr};
}

// S (rows, n; rows ldS apart) = Q[r0 ..] K[j0 ..]^T / sqrt(d_k), with -inf where a query may not see
// a key. Tiles wholly below the diagonal and without a mask need no per-element check.
template <typename T>
void tile_scores(T* S, int64_t ldS, const AttentionArgs<T>& a, const Head<T>& hd, int64_t r0, int64_t rows,
                 int64_t j0, int64_t n, T scale) {
  gemm<T>(false, true, rows, n, a.d.dk, scale, hd.Q + r0 * a.lq.t, a.lq.t, hd.K + j0 * a.lk.t, a.lk.t, T(0), S, ldS);
  const bool crosses = a.causal && j0 + n > visible_keys(r0, a.causal, a.causal_offset, a.d.S);
  if (!crosses && !hd.mask) return;
  for (int64_t r = 0; r < rows; r++)
    block_scores(S + r * ldS, j0, n, visible_keys(r0 + r, a.causal, a.causal_offset, a.d.S),
                 hd.mask ? hd.mask + (r0 + r) * a.mask.t : nullptr, a.mask.s);
}

// p[0 .. n) of row i, keys from j0, times their dropout multipliers.
template <typename T>
void apply_dropout(T* p, const AttentionArgs<T>& a, int64_t bh, int64_t i, int64_t j0, int64_t n) {
  const uint64_t base = static_cast<uint64_t>((bh * a.d.T + i) * a.d.S + j0);
  const uint32_t keep_below = flash_keep_threshold(a.flash_drop.p);
  const T mult = static_cast<T>(1.0 / (1.0 - a.flash_drop.p));
  for (int64_t j = 0; j < n; j++) p[j] *= flash_kept(a.flash_drop.seed, base + j, keep_below) ? mult : T(0);
}

}  // namespace

template <typename T>
void attention_forward_flash(const AttentionArgs<T>& a) {
  const AttentionDims d = a.d;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  const int64_t tiles = (d.T + kQueryTile - 1) / kQueryTile, items = d.B * d.H * tiles;
  const bool dropping = a.flash_drop.p > 0;
  parallel_for(items, d.B * d.H * d.T * d.S * (d.dk + d.dv), [&](int64_t i0, int64_t i1) {
    std::vector<T> S(static_cast<size_t>(kQueryTile * kKeyTile)), acc(static_cast<size_t>(kQueryTile * d.dv)),
        m(kQueryTile), l(kQueryTile);
    for (int64_t item = i0; item < i1; item++) {
      const int64_t bh = item / tiles, r0 = item % tiles * kQueryTile, rows = std::min(kQueryTile, d.T - r0);
      const Head<T> hd = head(a, bh);
      const int64_t kend = visible_keys(r0 + rows - 1, a.causal, a.causal_offset, d.S);
      std::fill(acc.begin(), acc.end(), T(0));
      std::fill(m.begin(), m.end(), T(-INFINITY));
      std::fill(l.begin(), l.end(), T(0));
      for (int64_t j0 = 0; j0 < kend; j0 += kKeyTile) {
        const int64_t n = std::min(kKeyTile, kend - j0);
        tile_scores(S.data(), kKeyTile, a, hd, r0, rows, j0, n, scale);
        for (int64_t r = 0; r < rows; r++) {
          T* s = S.data() + r * kKeyTile;
          const T alpha = softmax_step(s, n, m[r], l[r]);
          T* o = acc.data() + r * d.dv;
#pragma omp simd
          for (int64_t c = 0; c < d.dv; c++) o[c] *= alpha;
          if (dropping) apply_dropout(s, a, bh, r0 + r, j0, n);  // after the sum: l is over P, not P * drop
        }
        gemm<T>(false, false, rows, d.dv, n, T(1), S.data(), kKeyTile, hd.V + j0 * a.lv.t, a.lv.t, T(1), acc.data(),
                d.dv);
      }
      T* out = a.out + hd.b * a.lo.b + hd.h * a.lo.h;
      for (int64_t r = 0; r < rows; r++) {
        const T inv = inverse_sum(l[r]);
        for (int64_t c = 0; c < d.dv; c++) out[(r0 + r) * a.lo.t + c] = acc[r * d.dv + c] * inv;
        if (a.lse) a.lse[bh * d.T + r0 + r] = l[r] > 0 ? m[r] + std::log(l[r]) : T(-INFINITY);
      }
      if (!a.weights) continue;
      // Asked for the weights: P = exp(S - lse) row by row, zeros past what the rows may see.
      for (int64_t r = 0; r < rows; r++) m[r] = l[r] > 0 ? m[r] + std::log(l[r]) : T(-INFINITY);
      T* W = a.weights + (bh * d.T + r0) * d.S;
      for (int64_t j0 = 0; j0 < d.S; j0 += kKeyTile) {
        const int64_t n = std::min(kKeyTile, d.S - j0);
        if (j0 < kend) tile_scores(S.data(), kKeyTile, a, hd, r0, rows, j0, std::min(n, kend - j0), scale);
        for (int64_t r = 0; r < rows; r++) {
          const T* s = S.data() + r * kKeyTile;
          T* w = W + r * d.S + j0;
          for (int64_t j = 0; j < n; j++)
            w[j] = j0 + j < kend && m[r] != T(-INFINITY) ? exp_v(s[j] - m[r]) : T(0);
        }
      }
    }
  });
}

namespace {

// A backward thread's tiles: P and dS (kBackwardRows, kKeyTile), P * drop when dropping, and the
// rows' D_i = rowsum(P * dP) = dO_i . O_i.
template <typename T>
struct BackwardScratch {
  std::vector<T> P, dS, Pd, D;
  explicit BackwardScratch(bool dropping)
      : P(static_cast<size_t>(kBackwardRows * kKeyTile)),
        dS(static_cast<size_t>(kBackwardRows * kKeyTile)),
        Pd(dropping ? static_cast<size_t>(kBackwardRows * kKeyTile) : 0),
        D(kBackwardRows) {}
};

// The gradients of one (b, h), each null where not wanted.
template <typename T>
struct HeadGrads {
  T *dq, *dk, *dv;
};
template <typename T>
HeadGrads<T> head_grads(const AttentionGrads<T>& g, const Head<T>& hd, bool dq, bool dk, bool dv) {
  return {dq && g.dq ? g.dq + hd.b * g.ldq.b + hd.h * g.ldq.h : nullptr,
          dk && g.dk ? g.dk + hd.b * g.ldk.b + hd.h * g.ldk.h : nullptr,
          dv && g.dv ? g.dv + hd.b * g.ldv.b + hd.h * g.ldv.h : nullptr};
}

// D for the query rows r0 .. r0 + rows.
template <typename T>
void row_dots(T* D, const AttentionArgs<T>& a, const AttentionGrads<T>& g, const Head<T>& hd, int64_t r0,
              int64_t rows) {
  const T* O = a.out + hd.b * a.lo.b + hd.h * a.lo.h;
  const T* dO = g.dout + hd.b * g.ldo.b + hd.h * g.ldo.h;
  for (int64_t r = 0; r < rows; r++) {
    const T *o = O + (r0 + r) * a.lo.t, *go = dO + (r0 + r) * g.ldo.t;
    T s = 0;
    for (int64_t c = 0; c < a.d.dv; c++) s += go[c] * o[c];
    D[r] = s;
  }
}

// One (query tile, key tile) pair: P = exp(S - lse), then whichever of dV, dQ, dK `out` holds.
template <typename T>
void backward_tile(const AttentionArgs<T>& a, const AttentionGrads<T>& g, const Head<T>& hd, HeadGrads<T> out,
                   BackwardScratch<T>& w, int64_t r0, int64_t rows, int64_t j0, int64_t n, T scale) {
  const AttentionDims& d = a.d;
  const bool dropping = a.flash_drop.p > 0;
  const T* dO = g.dout + hd.b * g.ldo.b + hd.h * g.ldo.h;
  const T* lse = a.lse + hd.bh * d.T;
  tile_scores(w.P.data(), kKeyTile, a, hd, r0, rows, j0, n, scale);
  for (int64_t r = 0; r < rows; r++) {  // P = exp(S - lse); a row that sees no key stays 0
    T* p = w.P.data() + r * kKeyTile;
    const T shift = lse[r0 + r];
    if (shift == T(-INFINITY)) {
      std::fill(p, p + n, T(0));
      continue;
    }
#pragma omp simd
    for (int64_t j = 0; j < n; j++) p[j] = exp_v(p[j] - shift);
  }
  if (out.dv) {  // dV += (P * drop)^T dO
    const T* A = w.P.data();
    if (dropping) {
      for (int64_t r = 0; r < rows; r++) {
        std::copy(w.P.data() + r * kKeyTile, w.P.data() + r * kKeyTile + n, w.Pd.data() + r * kKeyTile);
        apply_dropout(w.Pd.data() + r * kKeyTile, a, hd.bh, r0 + r, j0, n);
      }
      A = w.Pd.data();
    }
    gemm<T>(true, false, n, d.dv, rows, T(1), A, kKeyTile, dO + r0 * g.ldo.t, g.ldo.t, T(1), out.dv + j0 * g.ldv.t,
            g.ldv.t);
  }
  if (!out.dq && !out.dk) return;
  // dP = (dO V^T) * drop;  dS = P * (dP - D)
  gemm<T>(false, true, rows, n, d.dv, T(1), dO + r0 * g.ldo.t, g.ldo.t, hd.V + j0 * a.lv.t, a.lv.t, T(0), w.dS.data(),
          kKeyTile);
  for (int64_t r = 0; r < rows; r++) {
    T* ds = w.dS.data() + r * kKeyTile;
    const T* p = w.P.data() + r * kKeyTile;
    if (dropping) apply_dropout(ds, a, hd.bh, r0 + r, j0, n);
    const T Dr = w.D[r];
#pragma omp simd
    for (int64_t j = 0; j < n; j++) ds[j] = p[j] * (ds[j] - Dr);
  }
  if (out.dq)  // dQ += dS K / sqrt(d_k)
    gemm<T>(false, false, rows, d.dk, n, scale, w.dS.data(), kKeyTile, hd.K + j0 * a.lk.t, a.lk.t, T(1),
            out.dq + r0 * g.ldq.t, g.ldq.t);
  if (out.dk)  // dK += dS^T Q / sqrt(d_k)
    gemm<T>(true, false, n, d.dk, rows, scale, w.dS.data(), kKeyTile, hd.Q + r0 * a.lq.t, a.lq.t, T(1),
            out.dk + j0 * g.ldk.t, g.ldk.t);
}

int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace

// Needs the forward's output in a.out (layout a.lo) and its lse.
// With at least as many heads as threads, one thread takes whole heads: query tiles in order, and
// for each the key tiles in order, adding into dQ, dK and dV. With fewer heads (one long sequence)
// that would leave threads idle, so two passes split each head instead: dK and dV by key tile
// (every query tile in order), then dQ by query tile (every key tile in order). Each gradient
// element gets the same terms in the same order either way, so the bits do not depend on the split;
// the second way recomputes P and dP once more.
template <typename T>
void attention_backward_flash(const AttentionArgs<T>& a, const AttentionGrads<T>& g) {
  const AttentionDims d = a.d;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  const bool dropping = a.flash_drop.p > 0;
  const int64_t BH = d.B * d.H, work = BH * d.T * d.S * (d.dk + d.dv) * 2;
  const int64_t q_tiles = (d.T + kBackwardRows - 1) / kBackwardRows, k_tiles = (d.S + kKeyTile - 1) / kKeyTile;
  auto query_tile = [&](int64_t qt, int64_t& r0, int64_t& rows) {
    r0 = qt * kBackwardRows;
    rows = std::min(kBackwardRows, d.T - r0);
    return visible_keys(r0 + rows - 1, a.causal, a.causal_offset, d.S);  // the tile's keys end here
  };
  if (BH >= max_threads()) {
    parallel_for(BH, work, [&](int64_t i0, int64_t i1) {
      BackwardScratch<T> w(dropping);
      for (int64_t bh = i0; bh < i1; bh++) {
        const Head<T> hd = head(a, bh);
        const HeadGrads<T> out = head_grads(g, hd, true, true, true);
        for (int64_t qt = 0; qt < q_tiles; qt++) {
          int64_t r0, rows;
          const int64_t kend = query_tile(qt, r0, rows);
          row_dots(w.D.data(), a, g, hd, r0, rows);
          for (int64_t j0 = 0; j0 < kend; j0 += kKeyTile)
            backward_tile(a, g, hd, out, w, r0, rows, j0, std::min(kKeyTile, kend - j0), scale);
        }
      }
    });
    return;
  }
  if (g.dk || g.dv)
    parallel_for(BH * k_tiles, work, [&](int64_t i0, int64_t i1) {
      BackwardScratch<T> w(dropping);
      for (int64_t item = i0; item < i1; item++) {
        const Head<T> hd = head(a, item / k_tiles);
        const HeadGrads<T> out = head_grads(g, hd, false, true, true);
        const int64_t j0 = item % k_tiles * kKeyTile;
        for (int64_t qt = 0; qt < q_tiles; qt++) {
          int64_t r0, rows;
          const int64_t kend = query_tile(qt, r0, rows);
          if (kend <= j0) continue;  // the whole query tile is before this key tile
          row_dots(w.D.data(), a, g, hd, r0, rows);
          backward_tile(a, g, hd, out, w, r0, rows, j0, std::min(kKeyTile, kend - j0), scale);
        }
      }
    });
  if (g.dq)
    parallel_for(BH * q_tiles, work, [&](int64_t i0, int64_t i1) {
      BackwardScratch<T> w(dropping);
      for (int64_t item = i0; item < i1; item++) {
        const Head<T> hd = head(a, item / q_tiles);
        const HeadGrads<T> out = head_grads(g, hd, true, false, false);
        int64_t r0, rows;
        const int64_t kend = query_tile(item % q_tiles, r0, rows);
        row_dots(w.D.data(), a, g, hd, r0, rows);
        for (int64_t j0 = 0; j0 < kend; j0 += kKeyTile)
          backward_tile(a, g, hd, out, w, r0, rows, j0, std::min(kKeyTile, kend - j0), scale);
      }
    });
}

template bool flash_selects<float>(const AttentionArgs<float>&);
template bool flash_selects<double>(const AttentionArgs<double>&);
template void attention_forward_flash<float>(const AttentionArgs<float>&);
template void attention_forward_flash<double>(const AttentionArgs<double>&);
template void attention_backward_flash<float>(const AttentionArgs<float>&, const AttentionGrads<float>&);
template void attention_backward_flash<double>(const AttentionArgs<double>&, const AttentionGrads<double>&);

}  // namespace lj::kernels
