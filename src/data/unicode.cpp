// UTF-8 decoding, the Unicode category tables, and GPT-2's pre-tokenisation pattern by hand.
#include "llm_journey/data/unicode.hpp"

#include <algorithm>
#include <cstdio>

#include "llm_journey/error.hpp"

namespace lj::data {

namespace {
struct CodePointRange {
  char32_t first, last;
};
#include "unicode_tables.inc"

template <size_t N>
bool in_ranges(const CodePointRange (&ranges)[N], char32_t c) {
  auto it = std::upper_bound(std::begin(ranges), std::end(ranges), c,
                             [](char32_t v, const CodePointRange& r) { return v < r.first; });
  return it != std::begin(ranges) && c <= std::prev(it)->last;
}
}  // namespace

Utf8Char decode_utf8(std::string_view text, size_t offset) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(offset);
  const Utf8Char invalid{b0, 1, false};
  if (b0 < 0x80) return {b0, 1, true};
  int length;
  char32_t cp, min;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return invalid;  // a continuation byte or 0xF8..0xFF
  }
  if (offset + length > text.size()) return invalid;
  for (int i = 1; i < length; i++) {
    const unsigned char b = byte(offset + i);
    if ((b & 0xC0) != 0x80) return invalid;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return invalid;  // overlong, too big, surrogate
  return {cp, length, true};
}

void append_utf8(std::string& out, char32_t c) {
  LJ_CHECK(c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF), "append_utf8: ", static_cast<uint32_t>(c),
           " is not a Unicode scalar value");
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

size_t find_invalid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {  // the common ASCII case
      i++;
      continue;
    }
    Utf8Char ch = decode_utf8(text, i);
    if (!ch.valid) return i;
    i += ch.length;
  }
  return std::string::npos;
}

std::string describe_code_point(char32_t c, bool valid) {
  char buf[32];
  if (!valid) {
    std::snprintf(buf, sizeof buf, "byte 0x%02X", static_cast<unsigned>(c));
    return buf;
  }
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  std::string s = buf;
  if (c >= 0x20 && c != 0x7F && !(c >= 0x80 && c < 0xA0)) {  // printable: show it too
    s += " '";
    append_utf8(s, c);
    s += "'";
  }
  return s;
}

void check_utf8(std::string_view text, const std::string& what) {
  const size_t bad = find_invalid_utf8(text);
  if (bad == std::string::npos) return;
  const size_t line = 1 + std::count(text.begin(), text.begin() + bad, '\n');
  throw Error(detail::str_cat(what, ": not valid UTF-8 at byte offset ", bad, " (line ", line, ", ",
                              describe_code_point(static_cast<unsigned char>(text[bad]), false), ")"));
}

size_t count_code_points(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // count lead bytes
  return n;
}

std::string to_valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    Utf8Char ch = decode_utf8(bytes, i);
    if (ch.valid)
      out.append(bytes.substr(i, ch.length));
    else
      out += "\xEF\xBF\xBD";  // U+FFFD
    i += ch.length;
  }
  return out;
}

bool is_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return in_ranges(kLetterRanges, c);
}

bool is_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return in_ranges(kNumberRanges, c);
}

bool is_white_space(char32_t c) {
  // PropList.txt, White_Space.
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

namespace {

enum class Class { letter, number, space, other };

struct Char {
  Class cls;
  int length;
  bool is_space_0x20;
};

Char classify(std::string_view text, size_t i) {
  Utf8Char ch = decode_utf8(text, i);
  if (!ch.valid) return {Class::other, 1, false};
  const char32_t c = ch.code_point;
  Class cls = is_letter(c) ? Class::letter : is_number(c) ? Class::number : is_white_space(c) ? Class::space : Class::other;
  return {cls, ch.length, c == U' '};
}

// The end of the run of characters of class `cls` starting at i (i itself if none).
size_t run_end(std::string_view text, size_t i, Class cls) {
  while (i < text.size()) {
    Char ch = classify(text, i);
    if (ch.cls != cls) break;
    i += ch.length;
  }
  return i;
}

// The length of the contraction 's 't 're 've 'm 'll 'd at i, or 0.
size_t contraction(std::string_view text, size_t i) {
  if (text[i] != '\'' || i + 1 >= text.size()) return 0;
  const char a = text[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= text.size()) return 0;
  const char b = text[i + 2];
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

}  // namespace

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
  std::vector<std::string_view> pieces;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = i + contraction(text, i);  // 's|'t|'re|'ve|'m|'ll|'d
    if (end == i) {
      const Char first = classify(text, i);
      // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space (U+0020), then a run of one class.
      size_t start = i;
      Class cls = first.cls;
      if (first.is_space_0x20 && i + 1 < text.size()) {
        const Char next = classify(text, i + 1);
        if (next.cls != Class::space) start = i + 1, cls = next.cls;
      }
      if (cls != Class::space) {
        end = run_end(text, start, cls);
      } else {
        // `\s+(?!\S)`: the whitespace run, less its last character when a non-space follows it;
        // when that leaves nothing, `\s+` takes the single character.
        end = run_end(text, i, Class::space);
        if (end < text.size()) {
          size_t last = i;  // the start of the run's last character
          for (size_t j = i; j < end; j += classify(text, j).length) last = j;
          if (last > i) end = last;
        }
      }
    }
    pieces.push_back(text.substr(i, end - i));
    i = end;
  }
  return pieces;
}

}  // namespace lj::data
