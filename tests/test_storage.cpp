// Tensor storage: the caching allocator hands freed buffers out again; every buffer is 64-byte
// aligned and holds what was written to it, whatever its earlier life.
#include <cstdint>

#include "llm_journey/runtime.hpp"
#include "tensor/allocator.hpp"
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

// Every size class has a free list of its own: a buffer is only ever handed out again for a request
// it is large enough for, and never mixed with a neighbouring class.
TEST(Storage, EachSizeClassHasItsOwnFreeList) {
  size_t prev_cls = 0, prev_index = 0;
  bool first = true;
  for (size_t bytes = 1; bytes <= (size_t(1) << 26); bytes += 1 + bytes / 97) {
    const size_t cls = detail::size_class(bytes), index = detail::class_index(cls);
    ASSERT_GE(cls, bytes);
    ASSERT_LE(cls, bytes + bytes / 8 + 64) << "bytes=" << bytes;
    if (!first) {
      ASSERT_GE(cls, prev_cls);
      if (cls == prev_cls) ASSERT_EQ(index, prev_index) << "bytes=" << bytes;
      else ASSERT_GT(index, prev_index) << "bytes=" << bytes << " class " << cls << " after " << prev_cls;
    }
    first = false;
    prev_cls = cls;
    prev_index = index;
  }
  EXPECT_EQ(detail::class_index(64), 0u);
  EXPECT_LT(detail::class_index(detail::size_class(size_t(1) << 62)), 16u + 8 * 64);
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
