// libFuzzer harness for the safetensors parser: any input either parses or throws lj::Error, never
// crashes or reads out of bounds (ASan, UBSan). What parses must serialize and parse back the same.
#include <cstddef>
#include <cstdint>

#include "llm_journey/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lj::io::Safetensors st;
  try {
    st = lj::io::parse_safetensors(data, size, "fuzz-input");
  } catch (const lj::Error&) {
    return 0;
  }
  std::vector<uint8_t> bytes = lj::io::serialize_safetensors(st.arrays, st.metadata);
  lj::io::Safetensors back = lj::io::parse_safetensors(bytes.data(), bytes.size(), "fuzz-roundtrip");
  if (back.metadata != st.metadata || back.arrays.size() != st.arrays.size()) __builtin_trap();
  for (const auto& [name, a] : st.arrays)
    if (!(back.arrays.at(name) == a)) __builtin_trap();
  return 0;
}
