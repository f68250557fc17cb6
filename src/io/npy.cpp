// .npy: read and write numpy's array format.
//
//   "\x93NUMPY" major minor | header length (u16 for 1.0, u32 for 2.0 and 3.0) | header | data
//   header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded with spaces to a
//   multiple of 64 bytes and ended by '\n'.
// The header is a Python literal; we parse the small subset numpy writes (a dict of strings, booleans
// and tuples of integers), strictly and within bounds.
#include <cstring>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "io/checked.hpp"
#include "io/mapped_file.hpp"
#include "llm_journey/io.hpp"

namespace lj::io {

namespace {
using detail::shape_str;

struct Descr {
  const char* code;  // without the byte-order character
  DType dtype;
};
// numpy's type codes for our dtypes; BF16 has none.
constexpr Descr kDescrs[] = {{"f4", DType::F32}, {"f8", DType::F64}, {"f2", DType::F16}, {"i8", DType::I64},
                             {"i4", DType::I32}, {"u2", DType::U16}, {"u1", DType::U8},  {"b1", DType::BOOL}};

using Value = std::variant<std::string, bool, std::vector<int64_t>>;

// A recursive-descent parser over [p, end) for the header's dict literal.
class HeaderParser {
 public:
  HeaderParser(const char* p, const char* end, const std::string& file) : p_(p), end_(end), file_(file) {}

  std::map<std::string, Value> dict() {
    std::map<std::string, Value> out;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key = string();
      expect(':');
      skip_space();
      Value v = value();
      LJ_CHECK(out.emplace(key, std::move(v)).second, file_, ": duplicate key '", key, "' in the .npy header");
      skip_space();
      if (peek() == ',') {
        p_++;
        continue;
      }
      LJ_CHECK(peek() == '}', file_, ": .npy header: expected ',' or '}' at '", rest(), "'");
    }
    p_++;
    skip_space();
    LJ_CHECK(p_ == end_, file_, ": .npy header: unexpected text after the dict: '", rest(), "'");
    return out;
  }

 private:
  char peek() const { return p_ < end_ ? *p_ : '\0'; }
  std::string rest() const { return std::string(p_, std::min<size_t>(static_cast<size_t>(end_ - p_), 20)); }
  void skip_space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\t' || *p_ == '\r')) p_++;
  }
  void expect(char c) {
    skip_space();
    LJ_CHECK(peek() == c, file_, ": .npy header: expected '", c, "' at '", rest(), "'");
    p_++;
  }
  std::string string() {
    skip_space();
    char q = peek();
    LJ_CHECK(q == '\'' || q == '"', file_, ": .npy header: expected a quoted string at '", rest(), "'");
    const char* start = ++p_;
    while (p_ < end_ && *p_ != q) p_++;
    LJ_CHECK(p_ < end_, file_, ": .npy header: unterminated string");
    return std::string(start, p_++);
  }
  Value value() {
    char c = peek();
    if (c == '\'' || c == '"') return string();
    if (c == '(') return tuple();
    for (const char* word : {"True", "False"}) {
      size_t n = std::strlen(word);
      if (static_cast<size_t>(end_ - p_) >= n && std::memcmp(p_, word, n) == 0) {
        p_ += n;
        return word[0] == 'T';
      }
    }
    throw Error(file_ + ": .npy header: unexpected value at '" + rest() + "'");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    p_++;  // '('
    while (true) {
      skip_space();
      if (peek() == ')') break;
      LJ_CHECK(peek() >= '0' && peek() <= '9', file_, ": .npy header: shape must be a tuple of non-negative integers, at '",
               rest(), "'");
      uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        LJ_CHECK(!__builtin_mul_overflow(v, 10u, &v) && !__builtin_add_overflow(v, static_cast<uint64_t>(*p_ - '0'), &v) &&
                     v <= static_cast<uint64_t>(INT64_MAX),
                 file_, ": .npy header: absurd dimension in the shape");
        p_++;
      }
      while (peek() == 'L') p_++;  // Python 2 longs
      dims.push_back(static_cast<int64_t>(v));
      skip_space();
      if (peek() == ',') {
        p_++;
        continue;
      }
      LJ_CHECK(peek() == ')', file_, ": .npy header: expected ',' or ')' in the shape at '", rest(), "'");
    }
    p_++;
    return dims;
  }

  const char* p_;
  const char* end_;
  const std::string& file_;
};

DType dtype_from_descr(const std::string& d, const std::string& file) {
  LJ_CHECK(!d.empty(), file, ": empty dtype descr in the .npy header");
  char order = d[0];
  std::string code = d.substr(1);
  LJ_CHECK(order != '>', file, ": big-endian data ('", d, "') is not supported; save it little-endian, e.g. np.save(path, a.astype(a.dtype.newbyteorder('<')))");
  for (const auto& x : kDescrs) {
    if (code != x.code) continue;
    bool one_byte = dtype_size(x.dtype) == 1;
    LJ_CHECK(order == '<' || order == '=' || (one_byte && order == '|'), file, ": unsupported byte order in dtype '", d, "'");
    return x.dtype;
  }
  throw Error(file + ": unsupported .npy dtype '" + d +
              "' (supported: float32, float64, float16, int32, int64, uint16, uint8, bool)");
}

std::string descr_of(DType dtype) {
  for (const auto& x : kDescrs)
    if (x.dtype == dtype) return std::string(dtype_size(dtype) == 1 ? "|" : "<") + x.code;
  throw Error(std::string(".npy has no dtype for ") + dtype_name(dtype) + "; convert it to F32 first");
}
}  // namespace

Array parse_npy(const uint8_t* data, size_t size, const std::string& file) {
  static const uint8_t magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  LJ_CHECK(size >= 10, file, ": truncated: ", size, " bytes is too short for a .npy file");
  LJ_CHECK(std::memcmp(data, magic, 6) == 0, file, ": not a .npy file (no \\x93NUMPY magic)");
  const int major = data[6];
  LJ_CHECK(major >= 1 && major <= 3, file, ": unsupported .npy version ", major, ".", int(data[7]));
  size_t prefix = major == 1 ? 10 : 12;
  LJ_CHECK(size >= prefix, file, ": truncated: ", size, " bytes is too short for a .npy ", major, ".0 preamble");
  uint64_t header_len = major == 1 ? (data[8] | (uint64_t(data[9]) << 8))
                                   : (data[8] | (uint64_t(data[9]) << 8) | (uint64_t(data[10]) << 16) | (uint64_t(data[11]) << 24));
  LJ_CHECK(header_len <= size - prefix, file, ": header length ", header_len, " is larger than the file (", size,
           " bytes): truncated");
  const char* h = reinterpret_cast<const char*>(data + prefix);
  auto dict = HeaderParser(h, h + header_len, file).dict();

  for (auto& [k, v] : dict)
    LJ_CHECK(k == "descr" || k == "fortran_order" || k == "shape", file, ": unexpected key '", k, "' in the .npy header");
  auto get = [&](const char* key) -> const Value& {
    auto it = dict.find(key);
    LJ_CHECK(it != dict.end(), file, ": the .npy header has no '", key, "'");
    return it->second;
  };
  const auto* descr = std::get_if<std::string>(&get("descr"));
  LJ_CHECK(descr, file, ": .npy 'descr' must be a string (structured dtypes are not supported)");
  const auto* fortran = std::get_if<bool>(&get("fortran_order"));
  LJ_CHECK(fortran, file, ": .npy 'fortran_order' must be True or False");
  const auto* shape = std::get_if<std::vector<int64_t>>(&get("shape"));
  LJ_CHECK(shape, file, ": .npy 'shape' must be a tuple");
  DType dtype = dtype_from_descr(*descr, file);
  LJ_CHECK(!*fortran, file, ": Fortran-order (column-major) arrays are not supported; save np.ascontiguousarray(a)");

  auto nbytes = detail::checked_nbytes(*shape, dtype_size(dtype));
  LJ_CHECK(nbytes, file, ": shape ", shape_str(*shape), " of ", *descr, " declares an absurd size (more than 2^63 bytes)");
  const uint64_t have = size - prefix - header_len;
  LJ_CHECK(*nbytes <= have, file, ": truncated: shape ", shape_str(*shape), " of ", *descr, " needs ", *nbytes,
           " bytes of data, the file holds ", have);
  LJ_CHECK(*nbytes == have, file, ": ", have - *nbytes, " unexpected bytes after the data of shape ", shape_str(*shape));
  std::vector<uint8_t> bytes(data + prefix + header_len, data + size);
  return Array(dtype, *shape, std::move(bytes));
}

Array read_npy(const std::string& path) {
  auto file = detail::MappedFile::open(path);
  return parse_npy(file->data(), file->size(), path);
}

std::vector<uint8_t> serialize_npy(const Array& a) {
  std::string shape = "(";
  for (size_t i = 0; i < a.shape().size(); i++) shape += std::to_string(a.shape()[i]) + (a.shape().size() == 1 || i + 1 < a.shape().size() ? ", " : "");
  if (a.shape().size() == 1) shape.pop_back();  // "(3,)"
  shape += ")";
  std::string h = "{'descr': '" + descr_of(a.dtype()) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Version 1.0 while the header fits a u16 length; 2.0 beyond. Pad so the data starts 64-aligned.
  size_t prefix = h.size() + 1 + 10 <= 65535 ? 10 : 12;
  h.append((64 - (prefix + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(prefix == 10 ? 1 : 2), 0};
  for (size_t i = 0; i < prefix - 8; i++) out.push_back(static_cast<uint8_t>(h.size() >> (8 * i)));
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), a.data(), a.data() + a.nbytes());
  return out;
}

void write_npy(const std::string& path, const Array& array) {
  std::vector<uint8_t> bytes;
  try {
    bytes = serialize_npy(array);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  detail::write_file(path, bytes);
}

}  // namespace lj::io
