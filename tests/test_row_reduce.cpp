// The row reductions the kernels share (src/ops/row_reduce.hpp): every length from empty past three
// vectors, so that the two-accumulator loop, the single vector and the scalar tail are each used
// alone and together, for float (16 lanes) and double (8).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ops/row_reduce.hpp"

namespace lj {
namespace {

template <typename T>
void check_every_length() {
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> u(-2.0, 2.0);
  for (int64_t n = 0; n <= 70; n++) {
    std::vector<T> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
    for (auto& v : x) v = static_cast<T>(u(gen));
    for (auto& v : y) v = static_cast<T>(u(gen));
    double sum = 0, dot = 0;
    T max = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < n; j++) {
      sum += x[j];
      dot += static_cast<double>(x[j]) * y[j];
      max = std::max(max, x[j]);
    }
    const T* xp = x.data();
    const T* yp = y.data();
    EXPECT_NEAR(kernels::row_sum<T>(n, [&](auto at) { return at(xp); }), sum, 1e-5) << "n=" << n;
    EXPECT_NEAR(kernels::row_sum<T>(n, [&](auto at) { return at(xp) * at(yp) + T(0); }), dot, 1e-5) << "n=" << n;
    EXPECT_EQ(kernels::row_max<T>(n, [&](auto at) { return at(xp); }), max) << "n=" << n;
    if (n > 0) {  // the maximum found wherever it sits
      for (int64_t at_j : {int64_t(0), n / 2, n - 1}) {
        std::vector<T> z = x;
        z[static_cast<size_t>(at_j)] = T(100);
        const T* zp = z.data();
        EXPECT_EQ(kernels::row_max<T>(n, [&](auto at) { return at(zp); }), T(100)) << "n=" << n << " j=" << at_j;
      }
    }
  }
  // A row of -inf (every key masked) has maximum -inf.
  std::vector<T> masked(37, -std::numeric_limits<T>::infinity());
  const T* mp = masked.data();
  EXPECT_EQ(kernels::row_max<T>(37, [&](auto at) { return at(mp); }), -std::numeric_limits<T>::infinity());
}

TEST(RowReduce, FloatSumDotAndMaxOverEveryLength) { check_every_length<float>(); }
TEST(RowReduce, DoubleSumDotAndMaxOverEveryLength) { check_every_length<double>(); }

}  // namespace
}  // namespace lj
