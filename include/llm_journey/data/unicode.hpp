// UTF-8 and the bits of Unicode the tokenizers need: decoding code points, validating text, and
// GPT-2's pre-tokenisation pattern written out by hand.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lj::data {

// One step of strict UTF-8 decoding (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF). `length` is the number of bytes consumed; an invalid sequence gives valid=false,
// length=1 and code_point = the offending byte.
struct Utf8Char {
  char32_t code_point;
  int length;
  bool valid;
};
Utf8Char decode_utf8(std::string_view text, size_t offset);

// Appends the UTF-8 form of a code point (which must be <= U+10FFFF and not a surrogate).
void append_utf8(std::string& out, char32_t code_point);

// The byte offset of the first invalid UTF-8 sequence, or std::string::npos when the text is valid.
size_t find_invalid_utf8(std::string_view text);

// Throws lj::Error naming `what` (a file name, say) and the byte offset of the first invalid sequence.
void check_utf8(std::string_view text, const std::string& what);

// The number of code points in valid UTF-8 text.
size_t count_code_points(std::string_view text);

// The text with every invalid sequence replaced by U+FFFD, for display (decoded token bytes may end
// inside a character).
std::string to_valid_utf8(std::string_view bytes);

// "U+00E9 'é'" (or "byte 0xFF" for a lone invalid byte): how error messages name a character.
std::string describe_code_point(char32_t code_point, bool valid = true);

// Unicode general categories L (Lu Ll Lt Lm Lo) and N (Nd Nl No), from the Unicode 14.0 tables in
// src/data/unicode_tables.inc; White_Space is the Unicode property (PropList.txt), which is what \s
// means in the `regex` module and in tiktoken.
bool is_letter(char32_t c);
bool is_number(char32_t c);
bool is_white_space(char32_t c);

// GPT-2's pre-tokenisation, the pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// matched left to right by hand (alternatives in order, as a backtracking regex engine does).
// The pieces are views into `text` and concatenate back to it exactly. Any bytes are accepted:
// a byte that is not part of valid UTF-8 counts as one character of the "other" class
// [^\s\p{L}\p{N}], so invalid input still splits deterministically.
std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

}  // namespace lj::data
