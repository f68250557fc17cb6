// Row reductions in vector registers: the sum or the maximum of term(j) over j in [0, n).
//
// GCC 12 compiles `#pragma omp simd reduction` with one private copy per lane in memory, and ends by
// adding those copies one after another: a chain of 16 dependent adds per reduction. At the rows of a
// small model (layer norm over 64 values: two sums per row) that chain took longer than the row.
// Here two vector accumulators run over the row, their lanes are combined as a tree (4 levels deep
// for 16 floats) and the last n mod 16 values are added on the end.
//
// `term` is a generic lambda taking `at`, which reads a row: at(p) is p[j] for one j, or the vector
// p[j .. j+16) (8 for double), so one expression serves both:
//     T ss = row_sum<T>(C, [&](auto at) { auto d = at(x) - mean; return d * d; });
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace lj::kernels {

template <typename T>
struct RowVec {
  static constexpr int kLanes = 64 / sizeof(T);
  typedef T type __attribute__((vector_size(64)));
};

template <typename T>
struct VectorAt {  // at(p) = p[j .. j + kLanes)
  int64_t j;
  typename RowVec<T>::type operator()(const T* p) const {
    typename RowVec<T>::type v;
    std::memcpy(&v, p + j, sizeof v);
    return v;
  }
};

template <typename T>
struct ScalarAt {  // at(p) = p[j]
  int64_t j;
  T operator()(const T* p) const { return p[j]; }
};

// The lanes of v combined pairwise, halves first: log2(lanes) dependent steps.
template <typename T, typename Combine>
inline T combine_lanes(typename RowVec<T>::type v, Combine combine) {
  constexpr int L = RowVec<T>::kLanes;
  T lane[L];
  std::memcpy(lane, &v, sizeof v);
  for (int w = L / 2; w > 0; w /= 2)
    for (int l = 0; l < w; l++) lane[l] = combine(lane[l], lane[l + w]);
  return lane[0];
}

template <typename T, typename Term>
inline T row_sum(int64_t n, Term term) {
  using V = typename RowVec<T>::type;
  constexpr int L = RowVec<T>::kLanes;
  V a0{}, a1{};
  int64_t j = 0;
  for (; j + 2 * L <= n; j += 2 * L) {
    a0 += term(VectorAt<T>{j});
    a1 += term(VectorAt<T>{j + L});
  }
  if (j + L <= n) {
    a0 += term(VectorAt<T>{j});
    j += L;
  }
  T s = j > 0 ? combine_lanes<T>(a0 + a1, [](T a, T b) { return a + b; }) : T(0);
  for (; j < n; j++) s += term(ScalarAt<T>{j});
  return s;
}

// The largest term, -inf for an empty row. NaN is not propagated (as `a > b ? a : b`).
template <typename T, typename Term>
inline T row_max(int64_t n, Term term) {
  using V = typename RowVec<T>::type;
  constexpr int L = RowVec<T>::kLanes;
  V a0 = V{} - T(INFINITY), a1 = a0;
  int64_t j = 0;
  for (; j + 2 * L <= n; j += 2 * L) {
    const V x0 = term(VectorAt<T>{j}), x1 = term(VectorAt<T>{j + L});
    a0 = x0 > a0 ? x0 : a0;
    a1 = x1 > a1 ? x1 : a1;
  }
  if (j + L <= n) {
    const V x0 = term(VectorAt<T>{j});
    a0 = x0 > a0 ? x0 : a0;
    j += L;
  }
  auto max2 = [](T a, T b) { return a > b ? a : b; };
  T m = j > 0 ? combine_lanes<T>(a1 > a0 ? a1 : a0, max2) : T(-INFINITY);
  for (; j < n; j++) m = max2(term(ScalarAt<T>{j}), m);
  return m;
}

}  // namespace lj::kernels
