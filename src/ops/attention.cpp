// Scaled dot-product attention, the op: checks, the dropout draw, the choice of kernel, and the
// autograd record. The kernels, and the formula they compute, are in src/ops/attention/.
//
// Which kernel runs depends on the shapes only (dispatch.cpp), never on whether the weights are
// asked for: short sequences run a kernel that keeps the weights (B, H, T, S) for its backward pass,
// and those are returned for free; long ones run flash attention, which keeps only the output and
// each row's log-sum-exp (O(T) memory), and makes the weights only when asked, after the output.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"
#include "ops/attention/attention.hpp"
#include "ops/autocast_ops.hpp"

namespace lj {

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

// What a forward leaves for its backward: the kernel that ran, and the weights (materializing
// kernels) or each row's log-sum-exp and a copy of the output (flash).
struct Saved {
  const kernels::AttentionVariant<float>* variant = nullptr;
  Tensor weights, lse, out, drop;
  kernels::FlashDropout flash_drop;
};

// Chooses the kernel for a's shapes, draws the dropout its way, allocates what it keeps and runs
// it. With need_weights the flash kernel also writes the weights, after the output.
Saved attend(kernels::AttentionArgs<float>& a, const Tensor& out, double dropout_p, bool training, bool need_weights,
             bool needs_grad, Generator& gen) {
  const kernels::AttentionDims& d = a.d;
  Saved s;
  const bool dropping = training && dropout_p > 0.0;
  a.flash_drop.p = dropping ? dropout_p : 0.0;
  s.variant = &kernels::select_attention_variant(a);
  if (s.variant->materializes) {
    a.flash_drop = {};
    s.drop = attention_dropout(d.B, d.H, d.T, d.S, dropout_p, training, gen);  // torch's masks, drawn as torch does
    a.drop = s.drop.defined() ? s.drop.data() : nullptr;
    s.weights = Tensor::empty({d.B, d.H, d.T, d.S});
    a.weights = s.weights.mutable_data();
  } else {
    if (dropping) a.flash_drop.seed = gen.random64();
    s.lse = Tensor::empty({d.B, d.H, d.T});
    a.lse = s.lse.mutable_data();
    if (need_weights) {
      s.weights = Tensor::empty({d.B, d.H, d.T, d.S});
      a.weights = s.weights.mutable_data();
    }
  }
  s.flash_drop = a.flash_drop;
  s.variant->forward(a);
  if (!s.variant->materializes && needs_grad) {  // the backward reads O; the output itself may change
    s.out = Tensor::empty({d.B, d.T, d.H, d.dv}).transpose(1, 2);
    std::memcpy(s.out.mutable_data(), out.data(), sizeof(float) * static_cast<size_t>(out.numel()));
  }
  return s;
}

// The kernel's arguments for the backward pass of a forward that left s.
kernels::AttentionArgs<float> backward_args(kernels::AttentionArgs<float> a, const Saved& s) {
  a.weights = s.weights.defined() ? const_cast<float*>(s.weights.data()) : nullptr;
  a.lse = s.lse.defined() ? const_cast<float*>(s.lse.data()) : nullptr;
  a.drop = s.drop.defined() ? s.drop.data() : nullptr;
  a.flash_drop = s.flash_drop;
  if (s.out.defined()) {
    a.out = const_cast<float*>(s.out.data());
    a.lo = layout_of(s.out);
  }
  a.mask = {};  // the materializing backward passes see the mask in the weights; flash's caller sets it again
  return a;
}

AttentionResult attention_impl(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask_in,
                               bool causal, double dropout_p, bool training, int64_t causal_offset, Generator& gen,
                               bool need_weights) {
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

  // The output is stored as (B, T, H, dv) and returned as its (B, H, T, dv) view, so that merging the
  // heads back into (B, T, H*dv) costs nothing.
  Tensor out = Tensor::empty({B, T, H, dv}).transpose(1, 2);
  kernels::AttentionArgs<float> a{{B, H, T, S, dk, dv}, q.data(), layout_of(q), k.data(), layout_of(k),
                                  v.data(), layout_of(v), out.mutable_data(), layout_of(out)};
  a.mask = mv;
  a.causal = causal;
  a.causal_offset = causal_offset;
  if (autocast_bf16()) {  // the products in bf16 (attention_autocast.cpp); torch's dropout masks
    const Tensor drop = attention_dropout(B, H, T, S, dropout_p, training, gen);
    a.drop = drop.defined() ? drop.data() : nullptr;
    AutocastAttentionSaved s = attention_forward_autocast(a);
    const Tensor weights = s.weights;
    autograd::record(out, op, {q, k, v}, [s = std::move(s), a, drop, mask](Node& n, const float* g) {
      const kernels::AttentionDims& d = a.d;
      attention_backward_autocast(a, s, {n.grad(0), dense_layout(d.H, d.T, d.dk), n.grad(1), dense_layout(d.H, d.S, d.dk),
                                         n.grad(2), dense_layout(d.H, d.S, d.dv), g, dense_layout(d.H, d.T, d.dv)});
    });
    return {out, weights};
  }
  const bool grad = autograd::needs_grad({q, k, v});
  Saved s = attend(a, out, dropout_p, training, need_weights, grad, gen);
  const Tensor weights = s.weights;
  if (grad) {  // (the closure is built only when it is kept: at the seed's sizes its copies are measurable)
    kernels::AttentionArgs<float> ba = backward_args(a, s);
    ba.mask = mv;  // flash recomputes the masked scores; the closure holds `mask`, whose data this points to
    autograd::record(out, op, {q, k, v}, [s = std::move(s), ba, mask](Node& n, const float* g) {
      const kernels::AttentionDims& d = ba.d;
      s.variant->backward(ba, {n.grad(0), dense_layout(d.H, d.T, d.dk), n.grad(1), dense_layout(d.H, d.S, d.dk),
                               n.grad(2), dense_layout(d.H, d.S, d.dv), g, dense_layout(d.H, d.T, d.dv)});
    });
  }
  return {out, weights};
}

}  // namespace

AttentionResult scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                             const Tensor& mask_in, bool causal, double dropout_p, bool training,
                                             int64_t causal_offset, Generator& gen) {
  return attention_impl(q_in, k_in, v_in, mask_in, causal, dropout_p, training, causal_offset, gen, false);
}

AttentionResult scaled_dot_product_attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                                          const Tensor& mask, bool causal, double dropout_p,
                                                          bool training, int64_t causal_offset, Generator& gen) {
  return attention_impl(q, k, v, mask, causal, dropout_p, training, causal_offset, gen, true);
}

AttentionResult scaled_dot_product_attention_packed(const Tensor& qkv_in, bool causal, double dropout_p, bool training,
                                                    Generator& gen, bool need_weights) {
  const char* op = "scaled_dot_product_attention_packed";
  LJ_CHECK(qkv_in.dim() == 5 && qkv_in.size(2) == 3, op, ": qkv must be (B, T, 3, H, d), got shape ", qkv_in.shape());
  LJ_CHECK(dropout_p >= 0.0 && dropout_p < 1.0, op, ": dropout probability p=", dropout_p, " must be in [0, 1)");
  const Tensor qkv = qkv_in.contiguous();
  const int64_t B = qkv.size(0), T = qkv.size(1), H = qkv.size(3), d = qkv.size(4);
  // Q, K and V are the three (B, H, T, d) views of qkv: rows 3 H d apart, heads d apart.
  const kernels::Layout lp{T * 3 * H * d, d, 3 * H * d};
  const int64_t k_at = H * d, v_at = 2 * H * d;
  Tensor out = Tensor::empty({B, T, H, d}).transpose(1, 2);
  const float* p = qkv.data();
  kernels::AttentionArgs<float> a{{B, H, T, T, d, d}, p, lp, p + k_at, lp, p + v_at, lp, out.mutable_data(), layout_of(out)};
  a.causal = causal;
  if (autocast_bf16()) {  // as in attention_impl
    const Tensor drop = attention_dropout(B, H, T, T, dropout_p, training, gen);
    a.drop = drop.defined() ? drop.data() : nullptr;
    AutocastAttentionSaved s = attention_forward_autocast(a);
    const Tensor weights = s.weights;
    autograd::record(out, op, {qkv}, [s = std::move(s), a, drop, lp, k_at, v_at](Node& n, const float* g) {
      float* dp = n.grad(0);
      if (dp)
        attention_backward_autocast(a, s, {dp, lp, dp + k_at, lp, dp + v_at, lp, g, dense_layout(a.d.H, a.d.T, a.d.dv)});
    });
    return {out, weights};
  }
  const bool grad = autograd::needs_grad({qkv});
  Saved s = attend(a, out, dropout_p, training, need_weights, grad, gen);
  const Tensor weights = s.weights;
  if (grad) {
    // The backward pass adds dQ, dK and dV straight into the gradient of qkv, in the same layout.
    const kernels::AttentionArgs<float> ba = backward_args(a, s);
    autograd::record(out, op, {qkv}, [s = std::move(s), ba, lp, k_at, v_at](Node& n, const float* g) {
      float* dp = n.grad(0);
      if (!dp) return;
      kernels::AttentionArgs<float> a = ba;
      const float* p = n.inputs[0].data();
      a.q = p, a.k = p + k_at, a.v = p + v_at;
      s.variant->backward(a, {dp, lp, dp + k_at, lp, dp + v_at, lp, g, dense_layout(a.d.H, a.d.T, a.d.dv)});
    });
  }
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
