// Longer sequences through gemm, a block of query rows at a time; keeps the weights (B, H, T, S).
// Under a causal mask a block multiplies only the keys its last query can see, which halves the
// work of long causal sequences.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/attention/attention.hpp"
#include "ops/parallel.hpp"

namespace lj::kernels {

constexpr int64_t kRowBlock = 64;

template <typename T>
void attention_forward_gemm_rows(const AttentionArgs<T>& a) {
  const AttentionDims d = a.d;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  const int64_t BH = d.B * d.H, TS = d.T * d.S;
  parallel_for(BH, BH * TS * (d.dk + d.dv), [&](int64_t i0, int64_t i1) {
    std::vector<T> dropped(a.drop ? static_cast<size_t>(TS) : 0);
    for (int64_t bh = i0; bh < i1; bh++) {
      const int64_t b = bh / d.H, h = bh % d.H;
      T* P = a.weights + bh * TS;  // (T,S)
      for (int64_t r0 = 0; r0 < d.T; r0 += kRowBlock) {  // only the keys a block of queries can see
        const int64_t r1 = std::min(d.T, r0 + kRowBlock), kend = visible_keys(r1 - 1, a.causal, a.causal_offset, d.S);
        gemm<T>(false, true, r1 - r0, kend, d.dk, scale, a.q + b * a.lq.b + h * a.lq.h + r0 * a.lq.t, a.lq.t,
                a.k + b * a.lk.b + h * a.lk.h, a.lk.t, T(0), P + r0 * d.S, d.S);
      }
      // Softmax over the allowed keys j < jend (the rest are in the future, or beyond what the GEMM
      // wrote) and not masked; every row over its whole length, so that a causal row's varying
      // length does not leave the loops to scalar code.
      const float* mrow0 = a.mask.data ? a.mask.data + b * a.mask.b + h * a.mask.h : nullptr;
      for (int64_t i = 0; i < d.T; i++) {
        T* p = P + i * d.S;
        block_scores(p, 0, d.S, visible_keys(i, a.causal, a.causal_offset, d.S), mrow0 ? mrow0 + i * a.mask.t : nullptr,
                     a.mask.s);
        softmax_row_in_place(p, d.S);
      }
      const T* A = P;
      if (a.drop) {
        const T* dr = a.drop + bh * TS;
        for (int64_t i = 0; i < TS; i++) dropped[static_cast<size_t>(i)] = P[i] * dr[i];
        A = dropped.data();
      }
      for (int64_t r0 = 0; r0 < d.T; r0 += kRowBlock) {
        const int64_t r1 = std::min(d.T, r0 + kRowBlock), kend = visible_keys(r1 - 1, a.causal, a.causal_offset, d.S);
        gemm<T>(false, false, r1 - r0, d.dv, kend, T(1), A + r0 * d.S, d.S, a.v + b * a.lv.b + h * a.lv.h, a.lv.t, T(0),
                a.out + b * a.lo.b + h * a.lo.h + r0 * a.lo.t, a.lo.t);
      }
    }
  });
}

template <typename T>
void attention_backward_gemm_rows(const AttentionArgs<T>& a, const AttentionGrads<T>& gr) {
  const AttentionDims d = a.d;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  const int64_t BH = d.B * d.H, TS = d.T * d.S;
  parallel_for(BH, BH * TS * (d.dk + d.dv) * 2, [&](int64_t i0, int64_t i1) {
    std::vector<T> dP(static_cast<size_t>(TS)), dropped(a.drop ? static_cast<size_t>(TS) : 0);
    for (int64_t bh = i0; bh < i1; bh++) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const T* P = a.weights + bh * TS;
      const T* dO = gr.dout + b * gr.ldo.b + h * gr.ldo.h;
      const T* Q = a.q + b * a.lq.b + h * a.lq.h;
      const T* K = a.k + b * a.lk.b + h * a.lk.h;
      const T* V = a.v + b * a.lv.b + h * a.lv.h;
      const T* Pd = P;
      if (a.drop) {
        const T* dr = a.drop + bh * TS;
        for (int64_t i = 0; i < TS; i++) dropped[static_cast<size_t>(i)] = P[i] * dr[i];
        Pd = dropped.data();
      }
      for (int64_t r0 = 0; r0 < d.T; r0 += kRowBlock) {  // keys beyond kend have P = 0 for these rows
        const int64_t r1 = std::min(d.T, r0 + kRowBlock), rows = r1 - r0;
        const int64_t kend = visible_keys(r1 - 1, a.causal, a.causal_offset, d.S);
        T* dPr = dP.data() + r0 * d.S;
        if (gr.dv)
          gemm<T>(true, false, kend, d.dv, rows, T(1), Pd + r0 * d.S, d.S, dO + r0 * gr.ldo.t, gr.ldo.t, T(1),
                  gr.dv + b * gr.ldv.b + h * gr.ldv.h, gr.ldv.t);
        if (!gr.dq && !gr.dk) continue;
        gemm<T>(false, true, rows, kend, d.dv, T(1), dO + r0 * gr.ldo.t, gr.ldo.t, V, a.lv.t, T(0), dPr, d.S);
        for (int64_t i = 0; i < rows; i++) {  // through the dropout, then the softmax, row by row
          const T* p = P + (r0 + i) * d.S;
          T* g = dPr + i * d.S;
          if (a.drop) {
            const T* dr = a.drop + bh * TS + (r0 + i) * d.S;
            for (int64_t j = 0; j < kend; j++) g[j] *= dr[j];
          }
          const T dot = row_sum<T>(kend, [&](auto at) { return at(p) * at(g); });
#pragma omp simd
          for (int64_t j = 0; j < kend; j++) g[j] = p[j] * (g[j] - dot);
        }
        if (gr.dq)
          gemm<T>(false, false, rows, d.dk, kend, scale, dPr, d.S, K, a.lk.t, T(1),
                  gr.dq + b * gr.ldq.b + h * gr.ldq.h + r0 * gr.ldq.t, gr.ldq.t);
        if (gr.dk)
          gemm<T>(true, false, kend, d.dk, rows, scale, dPr, d.S, Q + r0 * a.lq.t, a.lq.t, T(1),
                  gr.dk + b * gr.ldk.b + h * gr.ldk.h, gr.ldk.t);
      }
    }
  });
}

template void attention_forward_gemm_rows<float>(const AttentionArgs<float>&);
template void attention_forward_gemm_rows<double>(const AttentionArgs<double>&);
template void attention_backward_gemm_rows<float>(const AttentionArgs<float>&, const AttentionGrads<float>&);
template void attention_backward_gemm_rows<double>(const AttentionArgs<double>&, const AttentionGrads<double>&);

}  // namespace lj::kernels
