// Element-wise ops with broadcasting. The formulas live in elementwise.hpp; this file walks the
// memory. A broadcast input's gradient is the output gradient summed over the broadcast dimensions.
#include "ops/elementwise.hpp"

#include "llm_journey/autograd.hpp"
#include "llm_journey/ops.hpp"
#include "ops/parallel.hpp"

namespace lj {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  DimVector out(n);
  for (size_t i = 0; i < n; i++) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    LJ_CHECK(da == db || da == 1 || db == 1, "shapes ", a, " and ", b, " do not broadcast (dimension ", i, ": ", da,
             " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return Shape(out);
}

// Strides that read a contiguous tensor of shape `s` as if it had shape `out` (0 on broadcast dims).
static DimVector broadcast_strides(const Shape& s, const Shape& out) {
  DimVector st(out.size(), 0);
  auto cs = contiguous_strides(s);
  const size_t off = out.size() - s.size();
  for (size_t i = 0; i < s.size(); i++) st[off + i] = s[i] == 1 ? 0 : cs[i];
  return st;
}

// Calls f(i, ia, ib) for each output element i with the matching input offsets.
template <typename F>
static void for_each_broadcast(const Shape& out, const DimVector& sa, const DimVector& sb, F f) {
  const size_t nd = out.size();
  const int64_t n = out.numel();
  if (n == 0) return;
  if (nd == 0) return f(0, 0, 0);
  const int64_t inner = out[nd - 1], ia_s = sa[nd - 1], ib_s = sb[nd - 1];
  DimVector idx(nd, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < n; i += inner) {
    for (int64_t j = 0; j < inner; j++) f(i + j, oa + j * ia_s, ob + j * ib_s);
    for (size_t d = nd - 1; d-- > 0;) {
      idx[d]++;
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < out[d]) break;
      oa -= sa[d] * out[d];
      ob -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

// A gradient's elements d[i] for i in [i0, i1): value(i) on the gradient's first write, added after.
template <typename F>
static void write_gradient(float* d, int64_t i0, int64_t i1, bool accumulate, F value) {
  if (accumulate) {
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) d[i] += value(i);
  } else {
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) d[i] = value(i);
  }
}

template <typename Op>
static Tensor binary(const Tensor& a_in, const Tensor& b_in, const char* name) {
  Tensor a = a_in.contiguous(), b = b_in.contiguous();
  const float* A = a.data();
  const float* B = b.data();
  if (a.shape() == b.shape()) {  // the common case: no broadcasting
    Tensor y = Tensor::empty(a.shape());
    float* Y = y.mutable_data();
    const int64_t n = y.numel();
    parallel_for(n, n, [&](int64_t i0, int64_t i1) {
#pragma omp simd
      for (int64_t i = i0; i < i1; i++) Y[i] = Op::f(A[i], B[i]);
    });
    autograd::record(y, name, {a, b}, [n](Node& node, const float* g) {
      const float* A = node.inputs[0].data();
      const float* B = node.inputs[1].data();
      bool acc_a = true, acc_b = true;
      float* da = node.grad(0, acc_a);
      float* db = node.grad(1, acc_b);
      parallel_for(n, n * 2, [&](int64_t i0, int64_t i1) {
        if (da) write_gradient(da, i0, i1, acc_a, [&](int64_t i) { return g[i] * Op::da(A[i], B[i]); });
        if (db) write_gradient(db, i0, i1, acc_b, [&](int64_t i) { return g[i] * Op::db(A[i], B[i]); });
      });
    });
    return y;
  }
  Shape out = broadcast_shapes(a.shape(), b.shape());
  auto sa = broadcast_strides(a.shape(), out), sb = broadcast_strides(b.shape(), out);
  Tensor y = Tensor::empty(out);
  float* Y = y.mutable_data();
  for_each_broadcast(out, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) { Y[i] = Op::f(A[ia], B[ib]); });
  autograd::record(y, name, {a, b}, [out, sa, sb](Node& node, const float* g) {
    const float* A = node.inputs[0].data();
    const float* B = node.inputs[1].data();
    float* da = node.grad(0);
    float* db = node.grad(1);
    for_each_broadcast(out, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
      if (da) da[ia] += g[i] * Op::da(A[ia], B[ib]);
      if (db) db[ib] += g[i] * Op::db(A[ia], B[ib]);
    });
  });
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary<pointwise::Add>(a, b, "add"); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary<pointwise::Sub>(a, b, "sub"); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary<pointwise::Mul>(a, b, "mul"); }
Tensor div(const Tensor& a, const Tensor& b) { return binary<pointwise::Div>(a, b, "div"); }

// y = f(x) element by element, with an optional fixed parameter (pow's exponent).
template <typename Op, typename... P>
static Tensor unary(const Tensor& x_in, const char* name, P... p) {
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape());
  const float* X = x.data();
  float* Y = y.mutable_data();
  const int64_t n = x.numel();
  parallel_for(n, n * 8, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) Y[i] = Op::f(X[i], p...);
  });
  if (autograd::needs_grad({&x})) {
    Tensor ysaved = y.detach();
    autograd::record(y, name, {x}, [n, ysaved, p...](Node& node, const float* g) {
      bool acc;
      float* dx = node.grad(0, acc);
      if (!dx) return;
      const float* X = node.inputs[0].data();
      const float* Y = ysaved.data();
      parallel_for(n, n * 8, [&](int64_t i0, int64_t i1) {
        write_gradient(dx, i0, i1, acc, [&](int64_t i) {
          if constexpr (sizeof...(P) == 0) return g[i] * Op::df(X[i], Y[i]);
          else return g[i] * Op::df(X[i], p...);
        });
      });
    });
  }
  return y;
}

Tensor neg(const Tensor& a) { return unary<pointwise::Neg>(a, "neg"); }
Tensor exp(const Tensor& a) { return unary<pointwise::Exp>(a, "exp"); }
Tensor log(const Tensor& a) { return unary<pointwise::Log>(a, "log"); }
Tensor tanh(const Tensor& a) { return unary<pointwise::Tanh>(a, "tanh"); }
Tensor sqrt(const Tensor& a) { return unary<pointwise::Sqrt>(a, "sqrt"); }
Tensor abs(const Tensor& a) { return unary<pointwise::Abs>(a, "abs"); }
Tensor sigmoid(const Tensor& a) { return unary<pointwise::Sigmoid>(a, "sigmoid"); }
Tensor relu(const Tensor& a) { return unary<pointwise::Relu>(a, "relu"); }
Tensor gelu(const Tensor& a, bool tanh_approximation) {
  return tanh_approximation ? unary<pointwise::GeluTanh>(a, "gelu_tanh") : unary<pointwise::Gelu>(a, "gelu");
}
Tensor pow(const Tensor& a, float exponent) { return unary<pointwise::Pow>(a, "pow", exponent); }

Tensor add_scalar(const Tensor& a, float s) { return add(a, Tensor::scalar(s)); }
Tensor mul_scalar(const Tensor& a, float s) { return mul(a, Tensor::scalar(s)); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, float s) { return add(a, Tensor::scalar(s)); }
Tensor operator-(const Tensor& a, float s) { return sub(a, Tensor::scalar(s)); }
Tensor operator*(const Tensor& a, float s) { return mul(a, Tensor::scalar(s)); }
Tensor operator/(const Tensor& a, float s) { return div(a, Tensor::scalar(s)); }
Tensor operator-(float s, const Tensor& a) { return sub(Tensor::scalar(s), a); }

Tensor Tensor::abs() const { return lj::abs(*this); }
Tensor Tensor::pow(float e) const { return lj::pow(*this, e); }
Tensor Tensor::sqrt() const { return lj::sqrt(*this); }
Tensor Tensor::exp() const { return lj::exp(*this); }
Tensor Tensor::log() const { return lj::log(*this); }
Tensor Tensor::tanh() const { return lj::tanh(*this); }

}  // namespace lj
