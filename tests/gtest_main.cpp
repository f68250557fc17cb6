// The tests' main. Nothing to set up first: the library needs no init call (see runtime.hpp).
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
