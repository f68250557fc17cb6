// Bad input: each case gets an lj::Error whose message names the values involved.
#include "torch_ref.hpp"

namespace lj {
namespace {

// Runs f, expects an lj::Error whose message contains every fragment.
template <typename F>
void expect_error(F f, std::initializer_list<const char*> fragments) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const char* frag : fragments)
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << "message: " << e.what() << "\nmissing: " << frag;
  }
}

TEST(BadInput, HeadsDoNotDivideDModel) {
  expect_error([] { nn::MultiHeadAttention(64, 5); },
               {"MultiHeadAttention: d_model=64 is not divisible by num_heads=5"});
  expect_error([] { nn::TransformerBlock(30, 4, 64); }, {"d_model=30", "num_heads=4"});
}

TEST(BadInput, DropoutOutsideRange) {
  expect_error([] { nn::Dropout(1.0); }, {"p=1", "[0, 1)"});
  expect_error([] { nn::Dropout(-0.1); }, {"p=-0.1"});
  expect_error([] { nn::MultiHeadAttention(64, 8, 1.5); }, {"dropout=1.5"});
  expect_error([] { nn::TransformerBlock(64, 8, 256, 2.0); }, {"2"});
}

TEST(BadInput, WrongRankInput) {
  nn::MultiHeadAttention mha(64, 8);
  Tensor x2 = Tensor::zeros({10, 64});
  expect_error([&] { mha(x2, x2, x2); }, {"query shape [10, 64]", "d_model=64"});
  nn::TransformerBlock block(64, 8, 256);
  expect_error([&] { block(Tensor::zeros({2, 10, 32})); }, {"[2, 10, 32]", "d_model=64"});
}

TEST(BadInput, MismatchedShapes) {
  nn::MultiHeadAttention mha(64, 8);
  Tensor q = Tensor::zeros({2, 10, 64}), k = Tensor::zeros({3, 10, 64}), v = Tensor::zeros({2, 7, 64});
  expect_error([&] { mha(q, k, k); }, {"batch sizes differ", "[2, 10, 64]", "[3, 10, 64]"});
  expect_error([&] { mha(q, q, v); }, {"[2, 10, 64]", "[2, 7, 64]", "differ in length"});
  expect_error([] { Tensor::zeros({2, 3}) + Tensor::zeros({4}); }, {"[2, 3]", "[4]", "do not broadcast"});
  expect_error([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); }, {"[2, 3]", "[4, 5]"});
  nn::Linear lin(8, 4);
  expect_error([&] { lin(Tensor::zeros({3, 5})); }, {"[3, 5]", "in_features=8"});
}

TEST(BadInput, MaskThatDoesNotBroadcast) {
  nn::MultiHeadAttention mha(64, 8);
  Tensor x = Tensor::zeros({2, 10, 64});
  expect_error([&] { mha(x, x, x, Tensor::ones({10, 9})); }, {"mask of shape [10, 9]", "[2, 8, 10, 10]"});
  expect_error([&] { mha(x, x, x, Tensor::ones({3, 1, 10, 10})); }, {"[3, 1, 10, 10]"});
}

TEST(BadInput, MaskThatIsNotBoolean) {
  // An additive mask (0 / -inf) in place of a boolean one would silently invert the meaning.
  nn::MultiHeadAttention mha(16, 2);
  Tensor x = Tensor::zeros({1, 3, 16});
  Tensor additive = Tensor::full({3, 3}, -1e9f);
  expect_error([&] { mha(x, x, x, additive); }, {"mask value", "not boolean"});
}

TEST(BadInput, ReshapeAndIndexing) {
  Tensor t = Tensor::zeros({2, 3});
  expect_error([&] { t.reshape({4, 2}); }, {"[4, 2]", "[2, 3]"});
  expect_error([&] { t.transpose(0, 2); }, {"dim 2", "[2, 3]"});
  expect_error([&] { t.slice(1, 1, 5); }, {"[1, 5)", "size 3"});
  expect_error([&] { t.item(); }, {"6 elements"});
  expect_error([] { Tensor::from_vector({1, 2, 3}, {2, 2}); }, {"3 values", "[2, 2]"});
}

}  // namespace
}  // namespace lj
