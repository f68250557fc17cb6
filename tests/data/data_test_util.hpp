// Helpers shared by the data tests.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "llm_journey/error.hpp"

namespace lj::test {

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// The corpus the tests may read (never committed): $LJ_SHAKESPEARE, else ../shared/data next to the
// repository (CI), else data/ (where `make data` puts it). Tests that need it skip when it is absent.
inline std::string shakespeare_path() {
  if (const char* p = std::getenv("LJ_SHAKESPEARE")) return p;
  const std::string shared = std::string(LJ_SOURCE_DIR) + "/../shared/data/tinyshakespeare.txt";
  const std::string local = std::string(LJ_SOURCE_DIR) + "/data/tinyshakespeare.txt";
  return file_exists(shared) || !file_exists(local) ? shared : local;
}

// Runs f, expects lj::Error whose message contains every fragment.
template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "no lj::Error thrown";
  } catch (const lj::Error& e) {
    const std::string msg = e.what();
    for (const std::string& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "message: " << msg << "\nmissing: " << frag;
  }
}

}  // namespace lj::test

#include <nlohmann/json.hpp>

namespace lj::test {

// A JSON file written by tests/torch_ref/make_data_refs.py into $LJ_REFS/data.
inline nlohmann::json data_ref(const std::string& name) {
  const char* dir = std::getenv("LJ_REFS");
  const std::string path = std::string(dir ? dir : "refs") + "/data/" + name;
  std::ifstream in(path);
  if (!in.good()) throw std::runtime_error("missing reference " + path + " (run ctest: the data_refs fixture writes it)");
  return nlohmann::json::parse(in);
}

inline std::string data_ref_path(const std::string& name) {
  const char* dir = std::getenv("LJ_REFS");
  return std::string(dir ? dir : "refs") + "/data/" + name;
}

}  // namespace lj::test
