// The reference: scaled dot-product attention as its formula, in plain loops, one (b, h, i) at a time.
//   S_ij = q_i . k_j / sqrt(d_k)   for the keys j query i may see (j <= i + offset when causal, mask true)
//   P_ij = exp(S_ij - max_j S_ij) / sum_j exp(S_ij - max_j S_ij),   0 for the others
//   o_i  = sum_j P_ij drop_ij v_j
// and back:
//   dV_j += sum_i P_ij drop_ij dO_i;   dP_ij = drop_ij dO_i . v_j;   dS_ij = P_ij (dP_ij - sum_j' P_ij' dP_ij')
//   dQ_i += sum_j dS_ij k_j / sqrt(d_k);   dK_j += sum_i dS_ij q_i / sqrt(d_k)
// Every fast variant is tested against these (test_attention_variants); it never runs in the library.
// It keeps the weights (materializes), and computes the lse of each row when asked.
#include <cmath>
#include <vector>

#include "ops/attention/attention.hpp"

namespace lj::kernels {

namespace {
template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T s = 0;
  for (int64_t c = 0; c < n; c++) s += a[c] * b[c];
  return s;
}
template <typename T>
bool allowed(const AttentionArgs<T>& a, int64_t b, int64_t h, int64_t i, int64_t j) {
  if (j >= visible_keys(i, a.causal, a.causal_offset, a.d.S)) return false;
  const MaskView& m = a.mask;
  return !m.data || m.data[b * m.b + h * m.h + i * m.t + j * m.s] != 0.0f;
}
template <typename T>
T drop_at(const AttentionArgs<T>& a, int64_t bh, int64_t i, int64_t j) {
  return a.drop ? a.drop[(bh * a.d.T + i) * a.d.S + j] : T(1);
}
}  // namespace

template <typename T>
void attention_forward_reference(const AttentionArgs<T>& a) {
  const AttentionDims& d = a.d;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  std::vector<T> p(static_cast<size_t>(d.S));
  for (int64_t b = 0; b < d.B; b++)
    for (int64_t h = 0; h < d.H; h++)
      for (int64_t i = 0; i < d.T; i++) {
        const int64_t bh = b * d.H + h;
        const T* qi = a.q + b * a.lq.b + h * a.lq.h + i * a.lq.t;
        T m = -INFINITY;
        for (int64_t j = 0; j < d.S; j++) {
          p[j] = allowed(a, b, h, i, j) ? scale * dot(qi, a.k + b * a.lk.b + h * a.lk.h + j * a.lk.t, d.dk) : -INFINITY;
          m = std::max(m, p[j]);
        }
        T sum = 0;
        for (int64_t j = 0; j < d.S; j++) {
          p[j] = p[j] == -INFINITY ? T(0) : std::exp(p[j] - m);
          sum += p[j];
        }
        for (int64_t j = 0; j < d.S; j++) p[j] = sum > 0 ? p[j] / sum : T(0);
        if (a.weights) std::copy(p.begin(), p.end(), a.weights + (bh * d.T + i) * d.S);
        if (a.lse) a.lse[bh * d.T + i] = sum > 0 ? m + std::log(sum) : -INFINITY;
        T* oi = a.out + b * a.lo.b + h * a.lo.h + i * a.lo.t;
        for (int64_t c = 0; c < d.dv; c++) {
          T o = 0;
          for (int64_t j = 0; j < d.S; j++)
            o += p[j] * drop_at(a, bh, i, j) * a.v[b * a.lv.b + h * a.lv.h + j * a.lv.t + c];
          oi[c] = o;
        }
      }
}

// Needs the weights the forward wrote.
template <typename T>
void attention_backward_reference(const AttentionArgs<T>& a, const AttentionGrads<T>& g) {
  const AttentionDims& d = a.d;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.dk));
  std::vector<T> dp(static_cast<size_t>(d.S));
  for (int64_t b = 0; b < d.B; b++)
    for (int64_t h = 0; h < d.H; h++)
      for (int64_t i = 0; i < d.T; i++) {
        const int64_t bh = b * d.H + h;
        const T* p = a.weights + (bh * d.T + i) * d.S;
        const T* dOi = g.dout + b * g.ldo.b + h * g.ldo.h + i * g.ldo.t;
        const T* qi = a.q + b * a.lq.b + h * a.lq.h + i * a.lq.t;
        T rowdot = 0;
        for (int64_t j = 0; j < d.S; j++) {
          const T* vj = a.v + b * a.lv.b + h * a.lv.h + j * a.lv.t;
          dp[j] = drop_at(a, bh, i, j) * dot(dOi, vj, d.dv);
          rowdot += p[j] * dp[j];
          if (g.dv)
            for (int64_t c = 0; c < d.dv; c++)
              g.dv[b * g.ldv.b + h * g.ldv.h + j * g.ldv.t + c] += p[j] * drop_at(a, bh, i, j) * dOi[c];
        }
        for (int64_t j = 0; j < d.S; j++) {
          const T ds = p[j] * (dp[j] - rowdot) * scale;
          const T* kj = a.k + b * a.lk.b + h * a.lk.h + j * a.lk.t;
          for (int64_t c = 0; c < d.dk; c++) {
            if (g.dq) g.dq[b * g.ldq.b + h * g.ldq.h + i * g.ldq.t + c] += ds * kj[c];
            if (g.dk) g.dk[b * g.ldk.b + h * g.ldk.h + j * g.ldk.t + c] += ds * qi[c];
          }
        }
      }
}

template void attention_forward_reference<float>(const AttentionArgs<float>&);
template void attention_forward_reference<double>(const AttentionArgs<double>&);
template void attention_backward_reference<float>(const AttentionArgs<float>&, const AttentionGrads<float>&);
template void attention_backward_reference<double>(const AttentionArgs<double>&, const AttentionGrads<double>&);

}  // namespace lj::kernels
