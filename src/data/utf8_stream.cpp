// Utf8Stream (utf8_stream.hpp): Unicode's table 3-7 of well-formed UTF-8 byte sequences.
#include "llm_journey/data/utf8_stream.hpp"

#include <cstdint>

namespace lj::data {

static const char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// The length of the sequence a lead byte starts, and the range allowed for its second byte
// (E0, ED, F0 and F4 narrow it to exclude overlong forms, surrogates and values past U+10FFFF);
// 0 for a byte that cannot start one.
static int sequence_length(uint8_t b, uint8_t& lo, uint8_t& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) {
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    return 3;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    return 4;
  }
  return 0;
}

std::string Utf8Stream::push(std::string_view bytes) {
  held_.append(bytes);
  std::string out;
  size_t i = 0;
  const size_t n = held_.size();
  while (i < n) {
    const auto b = static_cast<uint8_t>(held_[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
      i++;
      continue;
    }
    uint8_t lo, hi;
    const int len = sequence_length(b, lo, hi);
    if (len == 0) {
      out += kReplacement;
      i++;
      continue;
    }
    int j = 1;
    for (; j < len; j++) {
      if (i + j >= n) break;  // incomplete so far: hold back
      const auto c = static_cast<uint8_t>(held_[i + j]);
      if (c < (j == 1 ? lo : 0x80) || c > (j == 1 ? hi : 0xBF)) break;
    }
    if (j == len) {
      out.append(held_, i, static_cast<size_t>(len));
      i += static_cast<size_t>(len);
    } else if (i + j >= n) {
      break;  // a valid prefix reaching the end: wait for more bytes
    } else {
      out += kReplacement;  // the maximal subpart i..i+j-1 can never complete
      i += static_cast<size_t>(j);
    }
  }
  held_.erase(0, i);
  return out;
}

std::string Utf8Stream::finish() {
  std::string out = push("");
  if (!held_.empty()) out += kReplacement;
  held_.clear();
  return out;
}

}  // namespace lj::data
