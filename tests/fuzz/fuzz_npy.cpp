// libFuzzer harness for the .npy parser: any input either parses or throws lj::Error, never crashes
// or reads out of bounds (ASan, UBSan). What parses must serialize and parse back the same.
#include <cstddef>
#include <cstdint>

#include "llm_journey/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lj::io::Array a;
  try {
    a = lj::io::parse_npy(data, size, "fuzz-input");
  } catch (const lj::Error&) {
    return 0;
  }
  std::vector<uint8_t> bytes = lj::io::serialize_npy(a);
  if (!(lj::io::parse_npy(bytes.data(), bytes.size(), "fuzz-roundtrip") == a)) __builtin_trap();
  return 0;
}
