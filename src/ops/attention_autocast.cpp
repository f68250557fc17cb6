// Scaled dot-product attention under autocast (autocast_ops.hpp), head by head:
//
//   forward:  S = Qb Kb^T / sqrt(d_k)   P = softmax over the allowed keys   O = (P * drop)b Vb
//   backward: dV += (P * drop)b^T dOb   dP = (dOb Vb^T) * drop   dS = P * (dP - rowsum(P * dP))
//             dQ += (dS)b Kb / sqrt(d_k)   dK += (dS)b^T Qb / sqrt(d_k)
//
// Xb is X rounded to bf16; every product sums in float32 (kernels::gemm_autocast), and the scaling,
// the mask, the softmax and its backward run in float32, as torch's autocast would have them (it
// rounds their outputs to bf16 too, which we do not). The scores are materialized, (B,H,T,S) floats,
// so that P can be rounded before its product with V: the fused kernels of src/ops/attention/
// never hold P whole.
#include <cmath>
#include <vector>

#include "ops/autocast_ops.hpp"
#include "ops/parallel.hpp"

namespace lj {

using kernels::AutocastPath;

namespace {

// Head (b, h)'s rows of x (n rows of c values, rows l.t apart) rounded into dst, dense.
void round_head(AutocastPath path, const Tensor& dst, const float* x, const kernels::Layout& l, int64_t b, int64_t h,
                int64_t H, int64_t n, int64_t c) {
  void* d = const_cast<void*>(kernels::autocast_at(path, autocast_mutable_data(dst), (b * H + h) * n * c));
  kernels::round_for_autocast(path, d, x + b * l.b + h * l.h, n, c, l.t, /*parallel=*/false);
}

// Row i of head bh's P * drop, rounded into dst (S values of the path's buffer type).
void round_dropped_row(AutocastPath path, void* dst, const float* p, const float* drop, int64_t bh, int64_t i,
                       const kernels::AttentionDims& d, float* scratch) {
  const float* src = p;
  if (drop) {
    const float* dr = drop + (bh * d.T + i) * d.S;
    for (int64_t j = 0; j < d.S; j++) scratch[j] = p[j] * dr[j];
    src = scratch;
  }
  kernels::round_for_autocast(path, dst, src, 1, d.S, d.S, /*parallel=*/false);
}

const float* mask_row(const kernels::MaskView& m, int64_t b, int64_t h, int64_t i) {
  return m.data ? m.data + b * m.b + h * m.h + i * m.t : nullptr;
}

}  // namespace

AutocastAttentionSaved attention_forward_autocast(const kernels::AttentionArgs<float>& a) {
  const kernels::AttentionDims& d = a.d;
  const AutocastPath path = kernels::autocast_path();
  const Dtype bt = kernels::autocast_buffer_dtype(path);
  AutocastAttentionSaved s{path,
                           Tensor::empty({d.B, d.H, d.T, d.dk}, bt),
                           Tensor::empty({d.B, d.H, d.S, d.dk}, bt),
                           Tensor::empty({d.B, d.H, d.S, d.dv}, bt),
                           Tensor::empty({d.B, d.H, d.T, d.S})};
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d.dk)));
  float* P = s.weights.mutable_data();
  const void* qr = autocast_data(s.qr);
  const void* kr = autocast_data(s.kr);
  const void* vr = autocast_data(s.vr);
  const int64_t work = d.B * d.H * d.T * d.S * (d.dk + d.dv);
  parallel_for(d.B * d.H, work, [&](int64_t bh0, int64_t bh1) {
    // per head: (P * drop) rounded (T, S); a bf16 buffer fits in a float buffer of the same count
    std::vector<float> pdr(static_cast<size_t>(d.T * d.S)), row(static_cast<size_t>(d.S));
    for (int64_t bh = bh0; bh < bh1; bh++) {
      const int64_t b = bh / d.H, h = bh % d.H;
      round_head(path, s.qr, a.q, a.lq, b, h, d.H, d.T, d.dk);
      round_head(path, s.kr, a.k, a.lk, b, h, d.H, d.S, d.dk);
      round_head(path, s.vr, a.v, a.lv, b, h, d.H, d.S, d.dv);
      float* Ph = P + bh * d.T * d.S;
      kernels::gemm_autocast(path, false, true, d.T, d.S, d.dk, kernels::autocast_at(path, qr, bh * d.T * d.dk), d.dk,
                             kernels::autocast_at(path, kr, bh * d.S * d.dk), d.dk, 0.0f, Ph, d.S);
      for (int64_t i = 0; i < d.T; i++) {
        float* p = Ph + i * d.S;
#pragma omp simd
        for (int64_t j = 0; j < d.S; j++) p[j] *= scale;
        kernels::block_scores(p, 0, d.S, kernels::visible_keys(i, a.causal, a.causal_offset, d.S),
                              mask_row(a.mask, b, h, i), a.mask.s);
        kernels::softmax_row_in_place(p, d.S);
        round_dropped_row(path, const_cast<void*>(kernels::autocast_at(path, pdr.data(), i * d.S)), p, a.drop, bh, i, d,
                          row.data());
      }
      kernels::gemm_autocast(path, false, false, d.T, d.dv, d.S, pdr.data(), d.S,
                             kernels::autocast_at(path, vr, bh * d.S * d.dv), d.dv, 0.0f,
                             a.out + b * a.lo.b + h * a.lo.h, a.lo.t);
    }
  });
  return s;
}

void attention_backward_autocast(const kernels::AttentionArgs<float>& a, const AutocastAttentionSaved& s,
                                 const kernels::AttentionGrads<float>& g) {
  const kernels::AttentionDims& d = a.d;
  const AutocastPath path = s.path;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d.dk)));
  const float* P = s.weights.data();
  const void* qr = autocast_data(s.qr);
  const void* kr = autocast_data(s.kr);
  const void* vr = autocast_data(s.vr);
  const int64_t work = d.B * d.H * d.T * d.S * (2 * d.dk + 2 * d.dv);
  parallel_for(d.B * d.H, work, [&](int64_t bh0, int64_t bh1) {
    // per head: dO rounded (T, dv), dP (T, S) in float32, dS rounded (T, S); a bf16 buffer fits in a
    // float buffer of the same count
    std::vector<float> gor(static_cast<size_t>(d.T * d.dv)), dP(static_cast<size_t>(d.T * d.S)),
        dsr(static_cast<size_t>(d.T * d.S)), row(static_cast<size_t>(d.S));
    for (int64_t bh = bh0; bh < bh1; bh++) {
      const int64_t b = bh / d.H, h = bh % d.H;
      kernels::round_for_autocast(path, gor.data(), g.dout + b * g.ldo.b + h * g.ldo.h, d.T, d.dv, g.ldo.t, false);
      const void* qr_h = kernels::autocast_at(path, qr, bh * d.T * d.dk);
      const void* kr_h = kernels::autocast_at(path, kr, bh * d.S * d.dk);
      if (g.dv) {  // (P * drop) rounded again, into dsr (free until dS)
        for (int64_t i = 0; i < d.T; i++)
          round_dropped_row(path, const_cast<void*>(kernels::autocast_at(path, dsr.data(), i * d.S)),
                            P + (bh * d.T + i) * d.S, a.drop, bh, i, d, row.data());
        kernels::gemm_autocast(path, true, false, d.S, d.dv, d.T, dsr.data(), d.S, gor.data(), d.dv, 1.0f,
                               g.dv + b * g.ldv.b + h * g.ldv.h, g.ldv.t);
      }
      if (!g.dq && !g.dk) continue;
      kernels::gemm_autocast(path, false, true, d.T, d.S, d.dv, gor.data(), d.dv,
                             kernels::autocast_at(path, vr, bh * d.S * d.dv), d.dv, 0.0f, dP.data(), d.S);
      for (int64_t i = 0; i < d.T; i++) {
        const float* p = P + (bh * d.T + i) * d.S;
        float* dp = dP.data() + i * d.S;
        if (a.drop) {
          const float* dr = a.drop + (bh * d.T + i) * d.S;
          for (int64_t j = 0; j < d.S; j++) dp[j] *= dr[j];
        }
        float dot = 0;
        for (int64_t j = 0; j < d.S; j++) dot += p[j] * dp[j];
#pragma omp simd
        for (int64_t j = 0; j < d.S; j++) dp[j] = p[j] * (dp[j] - dot) * scale;
      }
      kernels::round_for_autocast(path, dsr.data(), dP.data(), d.T, d.S, d.S, false);
      if (g.dq)
        kernels::gemm_autocast(path, false, false, d.T, d.dk, d.S, dsr.data(), d.S, kr_h, d.dk, 1.0f,
                               g.dq + b * g.ldq.b + h * g.ldq.h, g.ldq.t);
      if (g.dk)
        kernels::gemm_autocast(path, true, false, d.S, d.dk, d.T, dsr.data(), d.S, qr_h, d.dk, 1.0f,
                               g.dk + b * g.ldk.b + h * g.ldk.h, g.ldk.t);
    }
  });
}

}  // namespace lj
