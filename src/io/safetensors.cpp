// safetensors: read and write. The parser trusts nothing: every size and offset is checked, with
// overflow-safe arithmetic, before a single tensor byte is touched.
//
//   [8 bytes: N, little-endian u64][N bytes: JSON header][data]
//   header = {name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {key: value strings}}
//   offsets are relative to the start of the data; sorted by begin, the tensors tile the data exactly.
#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "io/checked.hpp"
#include "io/mapped_file.hpp"
#include "llm_journey/io.hpp"

namespace lj::io {

namespace {
using nlohmann::json;
using detail::shape_str;

// Like the reference implementation: a header beyond this is not a real file.
constexpr uint64_t kMaxHeader = 100u << 20;

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

// A real header nests three levels ({name: {"shape": [...]}}); refusing deep nesting up front keeps
// every later walk of the JSON (printing, freeing) far from the stack's limit.
constexpr int kMaxDepth = 16;

void check_depth(const char* p, size_t n, const std::string& file) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      LJ_CHECK(++depth <= kMaxDepth, file, ": the header nests deeper than ", kMaxDepth, " levels (at byte ", 8 + i, ")");
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
}

// A parser's message quotes the token it stopped in ("last read: '...'"), which can be kilobytes of a
// header: keep its start and its end, where the fault is.
std::string excerpt(const std::string& what) {
  constexpr size_t kHead = 160, kTail = 80;
  if (what.size() <= kHead + kTail + 40) return what;
  return what.substr(0, kHead) + " [... " + std::to_string(what.size() - kHead - kTail) + " characters ...] " +
         what.substr(what.size() - kTail);
}

// Parses the header JSON, rejecting duplicate keys at any depth (nlohmann would keep the last).
json parse_header(const char* p, size_t n, const std::string& file) {
  check_depth(p, n, file);
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) keys.emplace_back();
    else if (ev == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    else if (ev == json::parse_event_t::key && !keys.empty() && duplicate.empty() &&
             !keys.back().insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(p, p + n, cb);
  } catch (const json::parse_error& e) {
    const std::string what = excerpt(e.what());
    if (what.find("UTF-8") != std::string::npos)
      throw Error(file + ": the header is not valid UTF-8 (tensor names must be UTF-8): " + what);
    throw Error(file + ": the header is not valid JSON: " + what);
  } catch (const json::exception& e) {  // e.g. a number too large for any type (out_of_range 406)
    throw Error(file + ": the header cannot be read: " + excerpt(e.what()));
  }
  LJ_CHECK(duplicate.empty(), file, ": duplicate name '", duplicate, "' in the header");
  return header;
}

// A value for an error message: scalars in full, containers by kind only (dumping a deeply nested
// one would recurse without bound).
std::string brief(const json& v) {
  if (v.is_array()) return "a list of " + std::to_string(v.size());
  if (v.is_object()) return "an object of " + std::to_string(v.size());
  std::string s = v.dump();
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

uint64_t as_size(const json& v, const std::string& file, const std::string& what) {
  LJ_CHECK(v.is_number_unsigned(), file, ": ", what, " must be a non-negative integer, got ", brief(v));
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const json& info, const std::string& file) {
  const std::string where = file + ": tensor '" + name + "'";
  LJ_CHECK(info.is_object(), where, ": expected {\"dtype\", \"shape\", \"data_offsets\"}, got ", brief(info));
  for (auto& [key, v] : info.items())
    LJ_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", where, ": unknown field '", key, "'");
  LJ_CHECK(info.contains("dtype") && info.contains("shape") && info.contains("data_offsets"), where,
           ": needs \"dtype\", \"shape\" and \"data_offsets\"");
  Entry e;
  e.name = name;
  const json& dt = info["dtype"];
  LJ_CHECK(dt.is_string(), where, ": dtype must be a string, got ", brief(dt));
  try {
    e.dtype = dtype_from_name(dt.get<std::string>());
  } catch (const Error& err) {
    throw Error(where + ": " + err.what());
  }
  const json& shape = info["shape"];
  LJ_CHECK(shape.is_array(), where, ": shape must be a list, got ", brief(shape));
  for (const json& d : shape) {
    uint64_t v = as_size(d, file, "tensor '" + name + "': each dimension");
    LJ_CHECK(v <= static_cast<uint64_t>(INT64_MAX), where, ": dimension ", v, " is absurd");
    e.shape.push_back(static_cast<int64_t>(v));
  }
  const json& off = info["data_offsets"];
  LJ_CHECK(off.is_array() && off.size() == 2, where, ": data_offsets must be [begin, end], got ", brief(off));
  e.begin = as_size(off[0], file, "tensor '" + name + "': data_offsets");
  e.end = as_size(off[1], file, "tensor '" + name + "': data_offsets");
  LJ_CHECK(e.begin <= e.end, where, ": data_offsets [", e.begin, ", ", e.end, "] end before they begin");
  auto nbytes = detail::checked_nbytes(e.shape, dtype_size(e.dtype));
  LJ_CHECK(nbytes, where, ": shape ", shape_str(e.shape), " of ", dtype_name(e.dtype),
           " declares an absurd size (more than 2^63 bytes)");
  LJ_CHECK(*nbytes == e.end - e.begin, where, ": shape ", shape_str(e.shape), " of ", dtype_name(e.dtype), " needs ",
           *nbytes, " bytes but data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin);
  return e;
}
}  // namespace

Safetensors parse_safetensors(const uint8_t* data, size_t size, const std::string& file,
                              std::shared_ptr<const void> owner) {
  LJ_CHECK(size >= 8, file, ": truncated: ", size, " bytes, but a safetensors file starts with an 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | data[i];
  LJ_CHECK(n <= size - 8, file, ": header length ", n, " is larger than the file (", size, " bytes): truncated or not safetensors");
  LJ_CHECK(n <= kMaxHeader, file, ": header length ", n, " is absurd (more than ", kMaxHeader, " bytes)");
  LJ_CHECK(n >= 2, file, ": header length ", n, " is too small for a JSON object");
  json header = parse_header(reinterpret_cast<const char*>(data + 8), n, file);
  LJ_CHECK(header.is_object(), file, ": the header must be a JSON object, got ", header.type_name());

  Safetensors out;
  std::vector<Entry> entries;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      LJ_CHECK(info.is_object(), file, ": __metadata__ must be an object of strings, got ", brief(info));
      for (auto& [k, v] : info.items()) {
        LJ_CHECK(v.is_string(), file, ": __metadata__ value of '", k, "' must be a string, got ", brief(v));
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, info, file));
  }

  // Sorted by offset, the tensors must tile the data [0, data_size) without gap or overlap.
  const uint64_t data_size = size - 8 - n;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    LJ_CHECK(e.end <= data_size, file, ": tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
             "] are out of range: the data holds ", data_size, " bytes (truncated file?)");
    LJ_CHECK(e.begin >= at, file, ": tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end, "] overlap tensor '",
             prev ? prev->name : "", "' ending at ", at);
    LJ_CHECK(e.begin == at, file, ": bytes [", at, ", ", e.begin, ") of the data belong to no tensor (before tensor '",
             e.name, "'): the offsets do not cover the data");
    at = e.end;
    prev = &e;
  }
  LJ_CHECK(at == data_size, file, ": bytes [", at, ", ", data_size,
           ") at the end of the data belong to no tensor: the offsets do not cover the data");

  const uint8_t* base = data + 8 + n;
  for (Entry& e : entries)
    out.arrays.emplace(e.name, Array(e.dtype, std::move(e.shape), owner, base + e.begin, e.end - e.begin));
  return out;
}

Safetensors read_safetensors(const std::string& path) {
  auto file = detail::MappedFile::open(path);
  return parse_safetensors(file->data(), file->size(), path, file);
}

std::vector<uint8_t> serialize_safetensors(const ArrayMap& arrays, const Metadata& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, a] : arrays) {
    LJ_CHECK(name != "__metadata__", "safetensors: a tensor cannot be named __metadata__");
    header[name] = {{"dtype", dtype_name(a.dtype())}, {"shape", a.shape()}, {"data_offsets", {offset, offset + a.nbytes()}}};
    offset += a.nbytes();
  }
  std::string h;
  try {
    h = header.dump();
  } catch (const json::type_error& e) {  // names that are not UTF-8
    throw Error(std::string("safetensors: tensor names and metadata must be UTF-8: ") + e.what());
  }
  h.append((8 - h.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::vector<uint8_t> out(8 + h.size() + offset);
  uint64_t n = h.size();
  for (int i = 0; i < 8; i++) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, h.data(), h.size());
  uint8_t* p = out.data() + 8 + h.size();
  for (const auto& [name, a] : arrays) {
    if (a.nbytes()) std::memcpy(p, a.data(), a.nbytes());
    p += a.nbytes();
  }
  return out;
}

void write_safetensors(const std::string& path, const ArrayMap& arrays, const Metadata& metadata) {
  std::vector<uint8_t> bytes;
  try {
    bytes = serialize_safetensors(arrays, metadata);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  detail::write_file(path, bytes);
}

}  // namespace lj::io
