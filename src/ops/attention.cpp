// Scaled dot-product attention, fused: one pass per (batch, head) that never materialises Q K^T for
// more than one head at a time outside the saved weights.
//   forward:  S = Q K^T / sqrt(d_k);  P = softmax over the allowed keys (0 elsewhere);  O = (P * drop) V
//   backward: dV += (P*drop)^T dO;  dP = (dO V^T) * drop;  dS = P * (dP - rowsum(P * dP))
//             dQ += dS K / sqrt(d_k);  dK += dS^T Q / sqrt(d_k)
// Masked keys are skipped rather than given a large negative score, so no future token can leak and
// a row with no allowed key is exactly zero.
// Three forward kernels, by size: many short heads at once, one per vector lane; short key
// sequences row by row; longer ones through gemm, a block of query rows at a time.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"
#include "ops/fast_math.hpp"
#include "ops/kernels.hpp"
#include "ops/parallel.hpp"
#include "ops/row_reduce.hpp"

namespace lj {
namespace kernels {

// Queries are processed in blocks of rows; under a causal mask a block multiplies only the keys its
// last query can see, which halves the work of long causal sequences.
constexpr int64_t kRowBlock = 64;

// How many keys query i may see: all S, or j <= i + causal_offset.
inline int64_t visible_keys(int64_t i, bool causal, int64_t causal_offset, int64_t S) {
  return causal ? std::min(S, std::max<int64_t>(0, i + causal_offset + 1)) : S;
}

// --- Short key sequences (S < 64): one head at a time, row by row, in registers ---------------
//
// At small sizes (the seed's heads are 10 x 10 x 8) a matrix-product call per head costs more than
// its arithmetic. Here each head's keys are transposed once into Kt (dk, S8), S rounded up to a
// multiple of 8, so a query's scores are a few 8-wide vector sums over d_k; the softmax, the
// dropout and P V follow on the same row while it is in cache. The backward pass works the same
// way with V transposed. Both run for float and double (the finite-difference tests use double).
constexpr int64_t kSmallKeys = 64;

// Measured forward+backward on a 2-core AVX-512 machine: the row-wise path is 1.7x faster at the
// seed's 10 x 8 heads, 3-4x at 32 x 8, 16 x 16 and 48 x 4; the products through gemm win from
// S x d = 512 (64 x 8) and at S = 64, where OpenBLAS's blocks fit exactly (64 x 4: 2.6x).
inline bool short_path(const AttentionDims& d) {
  return d.S < kSmallKeys && d.S * std::max(d.dk, d.dv) <= 256;
}

template <typename T>
struct Vec8Of;
template <>
struct Vec8Of<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct Vec8Of<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <typename T>
using Vec8 = typename Vec8Of<T>::type;

template <typename T>
inline Vec8<T> load8(const T* p) {
  Vec8<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
inline void store8(T* p, Vec8<T> v) {
  std::memcpy(p, &v, sizeof v);
}

// (0, 1, ..., 7) as a vector.
template <typename T>
inline Vec8<T> lane_index() {
  return Vec8<T>{0, 1, 2, 3, 4, 5, 6, 7};
}

// The lanes of v combined by op, by halving: three shuffles instead of eight extractions.
template <typename T, typename Op>
inline T reduce_lanes(Vec8<T> v, Op op) {
  using I = decltype(v < v);
  v = op(v, __builtin_shuffle(v, I{4, 5, 6, 7, 0, 1, 2, 3}));
  v = op(v, __builtin_shuffle(v, I{2, 3, 0, 1, 6, 7, 4, 5}));
  v = op(v, __builtin_shuffle(v, I{1, 0, 3, 2, 5, 4, 7, 6}));
  return v[0];
}

// dst (n, S8) = src (S, n)^T with rows S..S8 zero; src rows ld apart.
template <typename T>
inline void transpose_padded(T* dst, const T* src, int64_t ld, int64_t S, int64_t S8, int64_t n) {
  for (int64_t c = 0; c < n; c++) {
    T* d = dst + c * S8;
    for (int64_t j = 0; j < S; j++) d[j] = src[j * ld + c];
    for (int64_t j = S; j < S8; j++) d[j] = 0;
  }
}

// y (S8) = sum_c a[c] * Bt[c, :] for c < n: a row times a transposed (n, S8) block.
template <typename T>
inline void row_times_transposed(T* y, const T* a, const T* Bt, int64_t n, int64_t S8) {
  for (int64_t j = 0; j < S8; j += 8) {
    Vec8<T> acc{};
    for (int64_t c = 0; c < n; c++) acc += a[c] * load8(Bt + c * S8 + j);
    store8(y + j, acc);
  }
}

// Y (R rows, n) = W (R rows, m; rows ldw apart, entries ws apart) @ B (m, n; rows ldb apart), or
// Y += alpha * that when accumulating; R rows at a time so that R independent sums hide the
// multiply-add latency.
template <typename T, int R>
inline void weighted_rows_block(T* Y, int64_t ldy, const T* W, int64_t ldw, int64_t ws, const T* B, int64_t ldb,
                                int64_t m, int64_t n, T alpha, bool accumulate) {
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    Vec8<T> acc[R] = {};
    for (int64_t j = 0; j < m; j++) {
      const Vec8<T> b = load8(B + j * ldb + c);
      for (int r = 0; r < R; r++) acc[r] += W[r * ldw + j * ws] * b;
    }
    for (int r = 0; r < R; r++)
      store8(Y + r * ldy + c, accumulate ? load8(Y + r * ldy + c) + alpha * acc[r] : acc[r]);
  }
  for (; c < n; c++) {  // columns past the last multiple of 8: R independent scalar sums
    T acc[R] = {};
    for (int64_t j = 0; j < m; j++)
      for (int r = 0; r < R; r++) acc[r] += W[r * ldw + j * ws] * B[j * ldb + c];
    for (int r = 0; r < R; r++) Y[r * ldy + c] = accumulate ? Y[r * ldy + c] + alpha * acc[r] : acc[r];
  }
}

// Y (M, n) = W (M, m) @ B (m, n), or Y += alpha * W @ B; W's rows ldw apart, its entries ws apart
// (so W may be a transposed view: ldw = 1, ws = row length).
template <typename T>
void weighted_rows(T* Y, int64_t ldy, const T* W, int64_t ldw, int64_t ws, const T* B, int64_t ldb, int64_t M,
                   int64_t m, int64_t n, T alpha = T(1), bool accumulate = false) {
  int64_t i = 0;
  for (; i + 4 <= M; i += 4)
    weighted_rows_block<T, 4>(Y + i * ldy, ldy, W + i * ldw, ldw, ws, B, ldb, m, n, alpha, accumulate);
  for (; i < M; i++) weighted_rows_block<T, 1>(Y + i * ldy, ldy, W + i * ldw, ldw, ws, B, ldb, m, n, alpha, accumulate);
}

// D > 0: d_k = d_v = D known at compile time (the seed's 8), so the loops over it unroll.
template <typename T, int D>
void attention_forward_short(T* out, Layout lo, T* weights, const T* drop, const T* q, Layout lq, const T* k,
                             Layout lk, const T* v, Layout lv, MaskView mask, bool causal, int64_t causal_offset,
                             AttentionDims d) {
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  const int64_t BH = d.B * d.H, TS = d.T * d.S, S8 = (d.S + 7) / 8 * 8;
  const int64_t dk = D > 0 ? D : d.dk;
  parallel_for(BH, BH * TS * (d.dk + d.dv), [&](int64_t i0, int64_t i1) {
    std::vector<T> Kt(static_cast<size_t>(dk * S8)), E(static_cast<size_t>(d.T * S8)),
        A(drop ? static_cast<size_t>(TS) : 0);
    for (int64_t bh = i0; bh < i1; bh++) {
      const int64_t b = bh / d.H, h = bh % d.H;
      transpose_padded(Kt.data(), k + b * lk.b + h * lk.h, lk.t, d.S, S8, dk);
      // raw scores Q K^T, four query rows at a time (four independent sums hide the latency)
      const T* Q = q + b * lq.b + h * lq.h;
      for (int64_t i = 0; i < d.T; i += 4) {
        const T* qr[4];
        for (int r = 0; r < 4; r++) qr[r] = Q + std::min(i + r, d.T - 1) * lq.t;
        for (int64_t j = 0; j < S8; j += 8) {
          Vec8<T> acc[4] = {};
          for (int64_t c = 0; c < dk; c++) {
            const Vec8<T> kv = load8(Kt.data() + c * S8 + j);
            for (int r = 0; r < 4; r++) acc[r] += qr[r][c] * kv;
          }
          for (int r = 0; r < 4 && i + r < d.T; r++) store8(E.data() + (i + r) * S8 + j, acc[r]);
        }
      }
      // scaled and shifted by the row's maximum; keys beyond jend (the future) and masked keys get
      // -inf, hence weight exactly 0. Rows are read and written as whole vectors: scalar stores
      // read back as vectors would stall on store forwarding.
      for (int64_t i = 0; i < d.T; i++) {
        T* s = E.data() + i * S8;
        const int64_t jend = visible_keys(i, causal, causal_offset, d.S);
        Vec8<T> vmax = Vec8<T>{} - T(INFINITY);
        for (int64_t j = 0; j < S8; j += 8) {
          Vec8<T> acc = load8(s + j);
          acc = (lane_index<T>() + T(j) < T(jend)) ? acc * scale : Vec8<T>{} - T(INFINITY);
          vmax = acc > vmax ? acc : vmax;
          store8(s + j, acc);
        }
        T m = -INFINITY;
        if (mask.data) {  // masked keys: -inf
          const float* mrow = mask.data + b * mask.b + h * mask.h + i * mask.t;
          for (int64_t j = 0; j < jend; j++) {
            if (mrow[j * mask.s] == 0.0f) s[j] = -INFINITY;
            m = std::max(m, s[j]);
          }
        } else {
          m = reduce_lanes<T>(vmax, [](Vec8<T> a, Vec8<T> b) { return a > b ? a : b; });
        }
        if (m == -INFINITY) m = 0;  // no allowed key: every exp is 0 and the row stays zeros
        for (int64_t j = 0; j < S8; j += 8) store8(s + j, load8(s + j) - m);
      }
      T* e = E.data();
#pragma omp simd
      for (int64_t t = 0; t < d.T * S8; t++) e[t] = fast::exp_of(e[t]);
      T* P = weights + bh * TS;  // (T, S)
      for (int64_t i = 0; i < d.T; i++) {
        const T* ei = e + i * S8;
        Vec8<T> vsum{};
        for (int64_t j = 0; j < S8; j += 8) vsum += load8(ei + j);
        const T sum = reduce_lanes<T>(vsum, [](Vec8<T> a, Vec8<T> b) { return a + b; });
        const T inv = sum > 0 ? T(1) / sum : T(0);
        for (int64_t j = 0; j < d.S; j++) P[i * d.S + j] = ei[j] * inv;
      }
      const T* W = P;
      if (drop) {
        const T* dr = drop + bh * TS;
        for (int64_t t = 0; t < TS; t++) A[static_cast<size_t>(t)] = P[t] * dr[t];
        W = A.data();
      }
      weighted_rows(out + b * lo.b + h * lo.h, lo.t, W, d.S, 1, v + b * lv.b + h * lv.h, lv.t, d.T, d.S, d.dv);
    }
  });
}

template <typename T, int D>
void attention_backward_short(T* dq, Layout ldq, T* dk, Layout ldk, T* dv, Layout ldv, const T* dout, Layout ldo,
                              const T* weights, const T* drop, const T* q, Layout lq, const T* k, Layout lk,
                              const T* v, Layout lv, bool causal, int64_t causal_offset, AttentionDims d) {
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  const int64_t BH = d.B * d.H, TS = d.T * d.S, S8 = (d.S + 7) / 8 * 8;
  const int64_t dvn = D > 0 ? D : d.dv;
  parallel_for(BH, BH * TS * (d.dk + d.dv) * 2, [&](int64_t i0, int64_t i1) {
    std::vector<T> Vt(static_cast<size_t>(dvn * S8)), dS(static_cast<size_t>(TS)), Pd(drop ? static_cast<size_t>(TS) : 0);
    alignas(64) T g[kSmallKeys];
    for (int64_t bh = i0; bh < i1; bh++) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const T* P = weights + bh * TS;
      const T* dO = dout + b * ldo.b + h * ldo.h;
      const T* Q = q + b * lq.b + h * lq.h;
      const T* K = k + b * lk.b + h * lk.h;
      const T* V = v + b * lv.b + h * lv.h;
      const T* dr = drop ? drop + bh * TS : nullptr;
      const T* A = P;  // the weights as applied to V: P * drop
      if (drop) {
        for (int64_t t = 0; t < TS; t++) Pd[static_cast<size_t>(t)] = P[t] * dr[t];
        A = Pd.data();
      }
      if (dq || dk) {
        transpose_padded(Vt.data(), V, lv.t, d.S, S8, dvn);
        for (int64_t i = 0; i < d.T; i++) {  // dS = P * (dP - rowsum(P * dP)),  dP = (dO V^T) * drop
          const int64_t jend = visible_keys(i, causal, causal_offset, d.S);
          row_times_transposed(g, dO + i * ldo.t, Vt.data(), dvn, S8);
          const T* p = P + i * d.S;
          T* ds = dS.data() + i * d.S;
          if (dr)
            for (int64_t j = 0; j < jend; j++) g[j] *= dr[i * d.S + j];
          T dot = 0;
          for (int64_t j = 0; j < jend; j++) dot += p[j] * g[j];
          for (int64_t j = 0; j < jend; j++) ds[j] = p[j] * (g[j] - dot);
          for (int64_t j = jend; j < d.S; j++) ds[j] = 0;
        }
        // dQ += dS K / sqrt(d_k)
        if (dq) weighted_rows(dq + b * ldq.b + h * ldq.h, ldq.t, dS.data(), d.S, 1, K, lk.t, d.T, d.S, d.dk, scale, true);
      }
      // the keys' gradients, sums over the queries: dK += dS^T Q / sqrt(d_k),  dV += (P * drop)^T dO
      if (dk) weighted_rows(dk + b * ldk.b + h * ldk.h, ldk.t, dS.data(), 1, d.S, Q, lq.t, d.S, d.T, d.dk, scale, true);
      if (dv) weighted_rows(dv + b * ldv.b + h * ldv.h, ldv.t, A, 1, d.S, dO, ldo.t, d.S, d.T, d.dv, T(1), true);
    }
  });
}

// --- Many short heads at once: one head per vector lane -----------------------------------------
//
// At the seed's shapes (2 x 8 = 16 heads of 10 x 10 x 8) the row-wise kernel above spends its time
// on work that is not arithmetic: per head, transposing K, reducing rows across lanes, padding 10
// keys to 16. Here 16 (batch, head) pairs share each vector instead, one pair per lane. A query's
// d_k values become d_k vectors of 16 lanes, and so on for keys and values; then every step, the
// scores, the row maximum, the exponentials, the sums and P V, is a vertical vector operation with
// no padding and no reduction across lanes. The data goes in and out through 16 x 8 transposes in
// registers. Used for float, without dropout or an explicit mask, when there are enough heads to
// fill the lanes; the arithmetic per element is the row-wise kernel's.
using F16 = float __attribute__((vector_size(64)));
using F8 = float __attribute__((vector_size(32)));
using I16 = int32_t __attribute__((vector_size(64)));
constexpr int kLanes = 16;
constexpr int64_t kLanesMinHeads = 8;

inline bool lanes_path(const AttentionDims& d, const void* drop, const MaskView& mask) {
  return short_path(d) && !drop && !mask.data && d.B * d.H >= kLanesMinHeads;
}

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
void attention_forward_lanes(float* out, Layout lo, float* weights, const float* q, Layout lq, const float* k,
                             Layout lk, const float* v, Layout lv, bool causal, int64_t causal_offset,
                             AttentionDims d) {
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
        F16 sum{};
        for (int64_t j = 0; j < jend; j++) {
          P[j] = fast::exp_each(P[j] - m);
          sum += P[j];
        }
        const F16 inv = sum > 0 ? 1.0f / sum : F16{};  // no visible key: weights and output 0
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

template <typename T>
void attention_forward(T* out, Layout lo, T* weights, const T* drop, const T* q, Layout lq, const T* k, Layout lk,
                       const T* v, Layout lv, MaskView mask, bool causal, int64_t causal_offset, AttentionDims d) {
  if constexpr (std::is_same_v<T, float>)
    if (lanes_path(d, drop, mask))
      return d.dk == 8 && d.dv == 8
                 ? attention_forward_lanes<8>(out, lo, weights, q, lq, k, lk, v, lv, causal, causal_offset, d)
                 : attention_forward_lanes<0>(out, lo, weights, q, lq, k, lk, v, lv, causal, causal_offset, d);
  if (short_path(d)) {
    if (d.dk == 8 && d.dv == 8)
      return attention_forward_short<T, 8>(out, lo, weights, drop, q, lq, k, lk, v, lv, mask, causal, causal_offset, d);
    return attention_forward_short<T, 0>(out, lo, weights, drop, q, lq, k, lk, v, lv, mask, causal, causal_offset, d);
  }
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  const int64_t BH = d.B * d.H, TS = d.T * d.S;
  parallel_for(BH, BH * TS * (d.dk + d.dv), [&](int64_t i0, int64_t i1) {
    std::vector<T> dropped(drop ? static_cast<size_t>(TS) : 0);
    for (int64_t bh = i0; bh < i1; bh++) {
      const int64_t b = bh / d.H, h = bh % d.H;
      T* P = weights + bh * TS;  // (T,S)
      for (int64_t r0 = 0; r0 < d.T; r0 += kRowBlock) {  // only the keys a block of queries can see
        const int64_t r1 = std::min(d.T, r0 + kRowBlock), kend = visible_keys(r1 - 1, causal, causal_offset, d.S);
        gemm<T>(false, true, r1 - r0, kend, d.dk, scale, q + b * lq.b + h * lq.h + r0 * lq.t, lq.t,
                k + b * lk.b + h * lk.h, lk.t, T(0), P + r0 * d.S, d.S);
      }
      const float* mrow0 = mask.data ? mask.data + b * mask.b + h * mask.h : nullptr;
      // Softmax over the allowed keys j < jend (the rest are in the future, or beyond what the GEMM
      // wrote) and not masked. Each row is shifted by its maximum, with -inf where not allowed; then
      // one exp over the whole (T, S) block, then each row is normalised. Every loop runs over whole
      // rows (keys from jend on are set to -inf first): a causal row's varying length would leave its
      // loops to scalar code. A row with no allowed key is all -inf, sums to 0 and stays zeros, never
      // NaN.
      for (int64_t i = 0; i < d.T; i++) {
        T* p = P + i * d.S;
        const int64_t jend = visible_keys(i, causal, causal_offset, d.S);
        if (mrow0) {
          const float* mrow = mrow0 + i * mask.t;
          for (int64_t j = 0; j < jend; j++)
            if (mrow[j * mask.s] == 0.0f) p[j] = -INFINITY;
        }
        std::fill(p + jend, p + d.S, T(-INFINITY));
        T m = row_max<T>(d.S, [&](auto at) { return at(p); });
        if (m == -INFINITY) m = 0;
#pragma omp simd
        for (int64_t j = 0; j < d.S; j++) p[j] -= m;
      }
#pragma omp simd
      for (int64_t t = 0; t < TS; t++) P[t] = fast::exp_of(P[t]);
      for (int64_t i = 0; i < d.T; i++) {
        T* p = P + i * d.S;
        const T sum = row_sum<T>(d.S, [&](auto at) { return at(p); });
        const T inv = sum > 0 ? T(1) / sum : T(0);
#pragma omp simd
        for (int64_t j = 0; j < d.S; j++) p[j] *= inv;
      }
      const T* A = P;
      if (drop) {
        const T* dr = drop + bh * TS;
        for (int64_t i = 0; i < TS; i++) dropped[static_cast<size_t>(i)] = P[i] * dr[i];
        A = dropped.data();
      }
      for (int64_t r0 = 0; r0 < d.T; r0 += kRowBlock) {
        const int64_t r1 = std::min(d.T, r0 + kRowBlock), kend = visible_keys(r1 - 1, causal, causal_offset, d.S);
        gemm<T>(false, false, r1 - r0, d.dv, kend, T(1), A + r0 * d.S, d.S, v + b * lv.b + h * lv.h, lv.t, T(0),
                out + b * lo.b + h * lo.h + r0 * lo.t, lo.t);
      }
    }
  });
}

template <typename T>
void attention_backward(T* dq, Layout ldq, T* dk, Layout ldk, T* dv, Layout ldv, const T* dout, Layout ldo,
                        const T* weights, const T* drop, const T* q, Layout lq, const T* k, Layout lk, const T* v,
                        Layout lv, bool causal, int64_t causal_offset, AttentionDims d) {
  if (short_path(d)) {
    if (d.dk == 8 && d.dv == 8)
      return attention_backward_short<T, 8>(dq, ldq, dk, ldk, dv, ldv, dout, ldo, weights, drop, q, lq, k, lk, v, lv,
                                            causal, causal_offset, d);
    return attention_backward_short<T, 0>(dq, ldq, dk, ldk, dv, ldv, dout, ldo, weights, drop, q, lq, k, lk, v, lv,
                                          causal, causal_offset, d);
  }
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  const int64_t BH = d.B * d.H, TS = d.T * d.S;
  parallel_for(BH, BH * TS * (d.dk + d.dv) * 2, [&](int64_t i0, int64_t i1) {
    std::vector<T> dP(static_cast<size_t>(TS)), dropped(drop ? static_cast<size_t>(TS) : 0);
    for (int64_t bh = i0; bh < i1; bh++) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const T* P = weights + bh * TS;
      const T* dO = dout + b * ldo.b + h * ldo.h;
      const T* Q = q + b * lq.b + h * lq.h;
      const T* K = k + b * lk.b + h * lk.h;
      const T* V = v + b * lv.b + h * lv.h;
      const T* Pd = P;
      if (drop) {
        const T* dr = drop + bh * TS;
        for (int64_t i = 0; i < TS; i++) dropped[static_cast<size_t>(i)] = P[i] * dr[i];
        Pd = dropped.data();
      }
      for (int64_t r0 = 0; r0 < d.T; r0 += kRowBlock) {  // keys beyond kend have P = 0 for these rows
        const int64_t r1 = std::min(d.T, r0 + kRowBlock), rows = r1 - r0;
        const int64_t kend = visible_keys(r1 - 1, causal, causal_offset, d.S);
        T* dPr = dP.data() + r0 * d.S;
        if (dv)
          gemm<T>(true, false, kend, d.dv, rows, T(1), Pd + r0 * d.S, d.S, dO + r0 * ldo.t, ldo.t, T(1),
                  dv + b * ldv.b + h * ldv.h, ldv.t);
        if (!dq && !dk) continue;
        gemm<T>(false, true, rows, kend, d.dv, T(1), dO + r0 * ldo.t, ldo.t, V, lv.t, T(0), dPr, d.S);
        for (int64_t i = 0; i < rows; i++) {  // through the dropout, then the softmax, row by row
          const T* p = P + (r0 + i) * d.S;
          T* g = dPr + i * d.S;
          if (drop) {
            const T* dr = drop + bh * TS + (r0 + i) * d.S;
            for (int64_t j = 0; j < kend; j++) g[j] *= dr[j];
          }
          const T dot = row_sum<T>(kend, [&](auto at) { return at(p) * at(g); });
#pragma omp simd
          for (int64_t j = 0; j < kend; j++) g[j] = p[j] * (g[j] - dot);
        }
        if (dq)
          gemm<T>(false, false, rows, d.dk, kend, scale, dPr, d.S, K, lk.t, T(1), dq + b * ldq.b + h * ldq.h + r0 * ldq.t,
                  ldq.t);
        if (dk)
          gemm<T>(true, false, kend, d.dk, rows, scale, dPr, d.S, Q + r0 * lq.t, lq.t, T(1), dk + b * ldk.b + h * ldk.h,
                  ldk.t);
      }
    }
  });
}

template void attention_forward<float>(float*, Layout, float*, const float*, const float*, Layout, const float*, Layout,
                                       const float*, Layout, MaskView, bool, int64_t, AttentionDims);
template void attention_forward<double>(double*, Layout, double*, const double*, const double*, Layout, const double*,
                                        Layout, const double*, Layout, MaskView, bool, int64_t, AttentionDims);
template void attention_backward<float>(float*, Layout, float*, Layout, float*, Layout, const float*, Layout,
                                        const float*, const float*, const float*, Layout, const float*, Layout,
                                        const float*, Layout, bool, int64_t, AttentionDims);
template void attention_backward<double>(double*, Layout, double*, Layout, double*, Layout, const double*, Layout,
                                         const double*, const double*, const double*, Layout, const double*, Layout,
                                         const double*, Layout, bool, int64_t, AttentionDims);
}  // namespace kernels

namespace {

// A 4-D tensor whose last dimension is contiguous, as the kernel's layout.
Tensor last_dim_contiguous(const Tensor& t) { return t.strides()[3] == 1 || t.size(3) == 1 ? t : t.contiguous(); }

kernels::Layout layout_of(const Tensor& t) { return {t.strides()[0], t.strides()[1], t.strides()[2]}; }

kernels::Layout dense_layout(int64_t H, int64_t T, int64_t D) { return {H * T * D, T * D, D}; }

// The dropout applied to the attention weights, as 0 or 1/(1-p) per (B,H,T,S) element: torch's
// dropout(P) draws bernoulli(1-p) over (B,H,T,S) in order. Undefined when there is none.
Tensor attention_dropout(int64_t B, int64_t H, int64_t T, int64_t S, double dropout_p, bool training, Generator& gen) {
  if (!training || dropout_p <= 0.0) return Tensor();
  Tensor drop = Tensor::empty({B, H, T, S});
  gen.fill_bernoulli(drop.mutable_data(), drop.numel(), 1.0 - dropout_p);
  const float keep = static_cast<float>(1.0 - dropout_p);
  float* dd = drop.mutable_data();
  for (int64_t i = 0; i < drop.numel(); i++) dd[i] = dd[i] / keep;
  return drop;
}

}  // namespace

AttentionResult scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                             const Tensor& mask_in, bool causal, double dropout_p, bool training,
                                             int64_t causal_offset, Generator& gen) {
  const char* op = "scaled_dot_product_attention";
  LJ_CHECK(q_in.dim() == 4 && k_in.dim() == 4 && v_in.dim() == 4, op,
           ": query, key and value must be 4-D (B, H, T, d), got shapes ", q_in.shape(), ", ", k_in.shape(), ", ",
           v_in.shape());
  const int64_t B = q_in.size(0), H = q_in.size(1), T = q_in.size(2), dk = q_in.size(3);
  const int64_t S = k_in.size(2), dv = v_in.size(3);
  LJ_CHECK(k_in.size(0) == B && v_in.size(0) == B && k_in.size(1) == H && v_in.size(1) == H, op,
           ": batch and head dimensions differ between query ", q_in.shape(), ", key ", k_in.shape(), " and value ",
           v_in.shape());
  LJ_CHECK(k_in.size(3) == dk, op, ": key ", k_in.shape(), " and query ", q_in.shape(), " differ in d_k");
  LJ_CHECK(v_in.size(2) == S, op, ": key ", k_in.shape(), " and value ", v_in.shape(), " differ in length");
  LJ_CHECK(dropout_p >= 0.0 && dropout_p < 1.0, op, ": dropout probability p=", dropout_p, " must be in [0, 1)");
  Tensor q = last_dim_contiguous(q_in), k = last_dim_contiguous(k_in), v = last_dim_contiguous(v_in);

  kernels::MaskView mv;
  Tensor mask;
  if (mask_in.defined()) {
    LJ_CHECK(mask_in.dim() <= 4, op, ": mask of shape ", mask_in.shape(),
             " does not broadcast to the attention scores' shape [", B, ", ", H, ", ", T, ", ", S, "]");
    mask = mask_in.contiguous();
    const int64_t full[4] = {B, H, T, S};
    int64_t st[4] = {0, 0, 0, 0};
    auto cs = contiguous_strides(mask.shape());
    const int64_t off = 4 - mask.dim();
    for (int64_t i = 0; i < mask.dim(); i++) {
      const int64_t m = mask.size(i);
      LJ_CHECK(m == full[off + i] || m == 1, op, ": mask of shape ", mask.shape(),
               " does not broadcast to the attention scores' shape [", B, ", ", H, ", ", T, ", ", S, "]");
      st[off + i] = m == 1 ? 0 : cs[static_cast<size_t>(i)];
    }
    const float* md = mask.data();
    for (int64_t i = 0; i < mask.numel(); i++)
      LJ_CHECK(md[i] == 0.0f || md[i] == 1.0f, op, ": mask value ", md[i], " at flat index ", i,
               " is not boolean; use 1 (true) for 'may attend' and 0 (false) for 'blocked'");
    mv = {md, st[0], st[1], st[2], st[3]};
  }

  Tensor drop = attention_dropout(B, H, T, S, dropout_p, training, gen);

  // The output is stored as (B, T, H, dv) and returned as its (B, H, T, dv) view, so that merging the
  // heads back into (B, T, H*dv) costs nothing.
  Tensor out = Tensor::empty({B, T, H, dv}).transpose(1, 2);
  Tensor weights = Tensor::empty({B, H, T, S});
  const kernels::AttentionDims dims{B, H, T, S, dk, dv};
  kernels::attention_forward<float>(out.mutable_data(), layout_of(out), weights.mutable_data(), drop.defined() ? drop.data() : nullptr,
                                    q.data(), layout_of(q), k.data(), layout_of(k), v.data(), layout_of(v), mv, causal,
                                    causal_offset, dims);
  autograd::record(out, "scaled_dot_product_attention", {q, k, v},
                   [weights, drop, dims, causal, causal_offset](Node& n, const float* g) {
    const Tensor &q = n.inputs[0], &k = n.inputs[1], &v = n.inputs[2];
    kernels::attention_backward<float>(
        n.grad(0), dense_layout(dims.H, dims.T, dims.dk), n.grad(1), dense_layout(dims.H, dims.S, dims.dk), n.grad(2),
        dense_layout(dims.H, dims.S, dims.dv), g, dense_layout(dims.H, dims.T, dims.dv), weights.data(),
        drop.defined() ? drop.data() : nullptr, q.data(), layout_of(q), k.data(), layout_of(k), v.data(), layout_of(v),
        causal, causal_offset, dims);
  });
  return {out, weights};
}

AttentionResult scaled_dot_product_attention_packed(const Tensor& qkv_in, bool causal, double dropout_p, bool training,
                                                    Generator& gen) {
  const char* op = "scaled_dot_product_attention_packed";
  LJ_CHECK(qkv_in.dim() == 5 && qkv_in.size(2) == 3, op, ": qkv must be (B, T, 3, H, d), got shape ", qkv_in.shape());
  LJ_CHECK(dropout_p >= 0.0 && dropout_p < 1.0, op, ": dropout probability p=", dropout_p, " must be in [0, 1)");
  const Tensor qkv = qkv_in.contiguous();
  const int64_t B = qkv.size(0), T = qkv.size(1), H = qkv.size(3), d = qkv.size(4);
  // Q, K and V are the three (B, H, T, d) views of qkv: rows 3 H d apart, heads d apart.
  const kernels::Layout lp{T * 3 * H * d, d, 3 * H * d};
  const int64_t k_at = H * d, v_at = 2 * H * d;
  Tensor drop = attention_dropout(B, H, T, T, dropout_p, training, gen);
  Tensor out = Tensor::empty({B, T, H, d}).transpose(1, 2);
  Tensor weights = Tensor::empty({B, H, T, T});
  const kernels::AttentionDims dims{B, H, T, T, d, d};
  const float* p = qkv.data();
  kernels::attention_forward<float>(out.mutable_data(), layout_of(out), weights.mutable_data(), drop.defined() ? drop.data() : nullptr,
                                    p, lp, p + k_at, lp, p + v_at, lp, kernels::MaskView{}, causal, 0, dims);
  // The backward pass adds dQ, dK and dV straight into the gradient of qkv, in the same layout.
  autograd::record(out, op, {qkv}, [weights, drop, dims, causal, lp, k_at, v_at](Node& n, const float* g) {
    float* dp = n.grad(0);
    if (!dp) return;
    const float* p = n.inputs[0].data();
    kernels::attention_backward<float>(dp, lp, dp + k_at, lp, dp + v_at, lp, g, dense_layout(dims.H, dims.T, dims.dv),
                                       weights.data(), drop.defined() ? drop.data() : nullptr, p, lp, p + k_at, lp,
                                       p + v_at, lp, causal, 0, dims);
  });
  return {out, weights};
}

Tensor causal_mask(int64_t T, int64_t S) {
  if (S < 0) S = T;
  LJ_CHECK(T >= 0 && S >= T, "causal_mask: need 0 <= T <= S, got T=", T, ", S=", S);
  Tensor m = Tensor::zeros({T, S});
  for (int64_t i = 0; i < T; i++)
    for (int64_t j = 0; j <= i + (S - T); j++) m.mutable_data()[i * S + j] = 1.0f;
  return m;
}

}  // namespace lj
