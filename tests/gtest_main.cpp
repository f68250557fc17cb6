// The tests' main: the same fast BLAS kernels as the tool (see runtime.hpp), then GoogleTest.
#include <gtest/gtest.h>

#include "llm_journey/runtime.hpp"

int main(int argc, char** argv) {
  lj::init_runtime(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
