// The data-parallel batch draw: the ranks' shares, put together in rank order, are the batch one
// process draws from the same generator state, and every rank's generator ends in the same state.
#include <gtest/gtest.h>

#include "llm_journey/data/dataset.hpp"
#include "llm_journey/distributed.hpp"

using namespace lj;

namespace {
std::vector<int64_t> tokens(int64_t n) {
  std::vector<int64_t> t(n);
  for (int64_t i = 0; i < n; i++) t[i] = (i * 7919) % 65;
  return t;
}
}  // namespace

TEST(BatchShare, SharesTogetherAreTheSingleProcessBatch) {
  const auto toks = tokens(5000);
  for (int64_t parts : {1, 2, 3, 4, 12}) {
    Generator single(1337);
    std::vector<Generator> ranks(static_cast<size_t>(parts), Generator(1337));
    for (int draw = 0; draw < 3; draw++) {
      const data::Batch whole = data::get_batch(toks, 12, 16, single);
      std::vector<int64_t> x, y;
      for (int64_t r = 0; r < parts; r++) {
        const data::Batch share = data::get_batch_share(toks, 12, 16, ranks[r], r, parts);
        EXPECT_EQ(share.batch_size, 12 / parts);
        x.insert(x.end(), share.x_ids.begin(), share.x_ids.end());
        y.insert(y.end(), share.y_ids.begin(), share.y_ids.end());
      }
      EXPECT_EQ(x, whole.x_ids) << "parts=" << parts << " draw " << draw;
      EXPECT_EQ(y, whole.y_ids) << "parts=" << parts << " draw " << draw;
      for (const auto& g : ranks) EXPECT_EQ(g.state(), single.state());
    }
  }
}

TEST(BatchShare, SamplerShareAdvancesLikeNext) {
  const auto toks = tokens(3000);
  data::BatchSampler whole(toks, 8, 10, 7), half0(toks, 8, 10, 7), half1(toks, 8, 10, 7);
  for (int i = 0; i < 4; i++) {
    const data::Batch w = whole.next();
    const data::Batch a = half0.next_share(0, 2), b = half1.next_share(1, 2);
    std::vector<int64_t> x = a.x_ids;
    x.insert(x.end(), b.x_ids.begin(), b.x_ids.end());
    EXPECT_EQ(x, w.x_ids);
  }
  EXPECT_EQ(half0.state(), whole.state());
  EXPECT_EQ(half1.state(), whole.state());
}

TEST(BatchShare, UnevenShareIsAnErrorNamingTheValues) {
  const auto toks = tokens(1000);
  Generator g(1);
  try {
    data::get_batch_share(toks, 12, 16, g, 0, 5);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size=12 is not a multiple of the 5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(data::get_batch_share(toks, 12, 16, g, 2, 2), Error);
  EXPECT_THROW(data::get_batch_share(toks, 12, 16, g, -1, 2), Error);
}

TEST(World, WithoutALauncherIsAWorldOfOne) {
  dist::World world;  // ctest starts this binary without mpirun
  EXPECT_EQ(world.size(), 1);
  EXPECT_EQ(world.rank(), 0);
  EXPECT_TRUE(world.is_lead());
  float x[3] = {1, 2, 3};
  world.allreduce_sum(x, 3);
  EXPECT_EQ(x[2], 3.0f);
  EXPECT_NO_THROW(dist::check_same_on_all_ranks(world, 42, "a value"));
}
