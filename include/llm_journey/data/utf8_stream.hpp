// Utf8Stream: bytes in (a token's bytes at a time), whole UTF-8 characters out. A byte-level BPE
// token can end inside a character; its bytes are held back until the character completes. Bytes
// that can never form a character become U+FFFD, one per maximal invalid subpart, as Unicode
// recommends (section 3.9) and Python's bytes.decode("utf-8", errors="replace") does, so the output
// is always valid UTF-8 and the concatenated output equals that decode of all the bytes.
#pragma once
#include <string>
#include <string_view>

namespace lj::data {

class Utf8Stream {
 public:
  // Appends bytes; returns the characters now complete (possibly none).
  std::string push(std::string_view bytes);
  // The end of the stream: an incomplete sequence left over becomes U+FFFD.
  std::string finish();
  size_t pending() const { return held_.size(); }  // bytes held back

 private:
  std::string held_;
};

}  // namespace lj::data
