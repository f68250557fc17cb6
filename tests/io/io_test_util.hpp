// Helpers for the io tests: temporary files and checking an error's message.
#pragma once
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "llm_journey/error.hpp"

namespace lj::test {

// A fresh path in the test's temporary directory, removed by the destructor.
struct TempFile {
  // The name carries the process id and the test's name: ctest runs each test as its own process, in
  // parallel, and two tests writing one path would read each other's bytes.
  explicit TempFile(const std::string& name) : path(::testing::TempDir() + "lj_io_" + std::to_string(::getpid()) + "_" + current_test() + "_" + name) {}
  static std::string current_test() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "none";
    for (char& c : name)
      if (c == '/') c = '_';  // parameterised tests: "Suite/Case.Name/0"
    return name;
  }
  ~TempFile() { std::remove(path.c_str()); }
  void write(const std::vector<uint8_t>& bytes) const {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  std::string path;
};

// Runs f, which must throw lj::Error whose message holds every one of `parts`.
template <typename F>
::testing::AssertionResult throws_with(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks \"" << p << "\": " << msg;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-lj::Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace lj::test
