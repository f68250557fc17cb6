// Module::state_dict / load_state_dict and lj::save / lj::load.
#include "io_test_util.hpp"
#include "llm_journey/llm_journey.hpp"

using namespace lj;
using lj::test::TempFile;
using lj::test::throws_with;

namespace {

TEST(StateDict, NamesAreTheParameterNames) {
  nn::TransformerBlock block(16, 2, 32);
  auto sd = block.state_dict();
  auto params = block.named_parameters();
  ASSERT_EQ(sd.size(), params.size());
  for (auto& [name, p] : params) {
    ASSERT_TRUE(sd.count(name)) << name;
    EXPECT_EQ(sd.at(name).data(), p.data()) << name << " should share storage, as in PyTorch";
  }
  EXPECT_TRUE(sd.count("attention.w_q.weight") && sd.count("feed_forward.linear2.bias") && sd.count("norm2.weight"));
}

TEST(StateDict, LoadCopiesEveryValue) {
  set_seed(1);
  nn::TransformerBlock a(16, 2, 32), b(16, 2, 32);
  auto sd = a.state_dict();
  b.load_state_dict(sd);
  for (auto& [name, p] : b.named_parameters()) EXPECT_EQ(p.to_vector(), sd.at(name).to_vector()) << name;
  EXPECT_NE(b.state_dict().at("norm1.weight").data(), sd.at("norm1.weight").data()) << "copied, not aliased";
}

TEST(StateDict, OneErrorListsEveryProblem) {
  nn::TransformerBlock block(16, 2, 32);
  auto sd = block.state_dict();
  Tensor before = sd.at("norm1.bias").clone();
  sd.erase("attention.w_k.bias");
  sd.erase("norm2.weight");
  sd["attention.w_q.weight"] = Tensor::zeros({16, 8});
  sd["feed_forward.linear1.bias"] = Tensor::zeros({33});
  sd["extra.weight"] = Tensor::zeros({3, 3});
  sd["norm1.bias"] = Tensor::full({16}, 7.0f);
  EXPECT_TRUE(throws_with([&] { block.load_state_dict(sd); },
                          {"missing (2)", "attention.w_k.bias [16]", "norm2.weight [16]", "unexpected (1)",
                           "extra.weight [3, 3]", "wrong shape (2)", "attention.w_q.weight: expected [16, 16], given [16, 8]",
                           "feed_forward.linear1.bias: expected [32], given [33]"}));
  EXPECT_EQ(block.state_dict().at("norm1.bias").to_vector(), before.to_vector()) << "nothing is copied on error";
}

TEST(StateDict, NonStrictIgnoresNamesButNotShapes) {
  nn::Linear lin(4, 3);
  nn::StateDict sd = {{"weight", Tensor::ones({3, 4})}, {"other", Tensor::ones({1})}};
  lin.load_state_dict(sd, /*strict=*/false);
  EXPECT_EQ(lin.weight.to_vector(), std::vector<float>(12, 1.0f));
  sd["bias"] = Tensor::ones({4});
  EXPECT_TRUE(throws_with([&] { lin.load_state_dict(sd, false); }, {"bias: expected [3], given [4]"}));
  EXPECT_TRUE(throws_with([&] { lin.load_state_dict({{"weight", Tensor::ones({3, 4})}}); }, {"missing (1)", "bias [3]"}));
}

TEST(StateDict, SaveAndLoadThroughSafetensors) {
  set_seed(2);
  nn::TransformerBlock a(16, 2, 32), b(16, 2, 32);
  TempFile f("block.safetensors");
  save(a, f.path, {{"what", "test"}});
  load(b, f.path);
  for (auto& [name, p] : a.named_parameters()) EXPECT_EQ(p.to_vector(), b.state_dict().at(name).to_vector()) << name;
  nn::MultiHeadAttention mha(16, 2);
  EXPECT_TRUE(throws_with([&] { load(mha, f.path); }, {f.path, "missing (8)", "unexpected"}));
}

}  // namespace
