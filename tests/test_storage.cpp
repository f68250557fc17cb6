// Tensor storage: the caching allocator hands freed buffers out again; every buffer is 64-byte
// aligned and holds what was written to it, whatever its earlier life.
#include <cstdint>

#include "llm_journey/runtime.hpp"
#include "torch_ref.hpp"

namespace lj {
namespace {

TEST(Storage, BuffersAreAlignedAndIndependent) {
  std::vector<Tensor> live;
  for (int64_t n : {1, 3, 16, 17, 255, 1000, 4096, 100000, 1 << 20}) {
    Tensor a = Tensor::full({n}, 1.0f), b = Tensor::full({n}, 2.0f);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 64, 0u) << n;
    EXPECT_NE(a.data(), b.data());
    EXPECT_EQ(a.sum().item(), static_cast<float>(n));
    EXPECT_EQ(b.sum().item(), 2.0f * static_cast<float>(n));
    live.push_back(a);
  }
}

TEST(Storage, AFreedBufferIsReusedForTheSameSize) {
  Tensor a = Tensor::full({5000}, 3.0f);
  const float* p = a.data();
  a = Tensor();  // freed: kept in the cache
  Tensor b = Tensor::zeros({5000});
  Tensor c = Tensor::zeros({5001});  // same size class
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_TRUE(b.data() == p || c.data() == p);
#endif
  EXPECT_EQ(b.sum().item(), 0.0f);  // zeros means zeros, whatever the buffer held before
  EXPECT_EQ(c.sum().item(), 0.0f);
  b = Tensor();
  c = Tensor();
  release_cached_memory();  // hands everything kept back to the system
  Tensor d = Tensor::full({5000}, 4.0f);
  EXPECT_EQ(d.sum().item(), 20000.0f);
}

}  // namespace
}  // namespace lj
