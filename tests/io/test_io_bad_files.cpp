// Malformed safetensors and .npy files: each gets an lj::Error naming the file and what is wrong.
#include <cstring>

#include "io_test_util.hpp"
#include "llm_journey/io.hpp"

using namespace lj;
using lj::test::TempFile;
using lj::test::throws_with;

namespace {

// A safetensors file from a header text and `data` bytes of zeros; `n` overrides the header length.
std::vector<uint8_t> st_bytes(const std::string& header, size_t data, int64_t n = -1) {
  uint64_t len = n < 0 ? header.size() : static_cast<uint64_t>(n);
  std::vector<uint8_t> out(8 + header.size() + data, 0);
  for (int i = 0; i < 8; i++) out[i] = static_cast<uint8_t>(len >> (8 * i));
  if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

::testing::AssertionResult st_fails(const std::vector<uint8_t>& bytes, const std::vector<std::string>& parts) {
  TempFile f("bad.safetensors");
  f.write(bytes);
  auto all = parts;
  all.push_back(f.path);  // the message names the file
  return throws_with([&] { io::read_safetensors(f.path); }, all);
}

const std::string kGood = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}})";

TEST(SafetensorsBad, GoodFileReads) {  // the baseline the cases below break
  TempFile f("good.safetensors");
  f.write(st_bytes(kGood, 12));
  EXPECT_EQ(io::read_safetensors(f.path).arrays.size(), 2u);
}

TEST(SafetensorsBad, TruncatedBeforeHeaderLength) { EXPECT_TRUE(st_fails({1, 2, 3}, {"truncated", "3 bytes"})); }

TEST(SafetensorsBad, EmptyFile) { EXPECT_TRUE(st_fails({}, {"truncated", "0 bytes"})); }

TEST(SafetensorsBad, TruncatedData) {
  EXPECT_TRUE(st_fails(st_bytes(kGood, 10), {"tensor 'b'", "out of range", "holds 10 bytes"}));
}

TEST(SafetensorsBad, HeaderLengthLargerThanFile) {
  EXPECT_TRUE(st_fails(st_bytes(kGood, 12, 1000), {"header length 1000 is larger than the file"}));
}

TEST(SafetensorsBad, AbsurdHeaderLength) {
  EXPECT_TRUE(st_fails(st_bytes(kGood, 12, INT64_MAX), {"header length 9223372036854775807 is larger than the file"}));
}

TEST(SafetensorsBad, NotJson) { EXPECT_TRUE(st_fails(st_bytes("{\"a\": [1, 2", 0), {"not valid JSON"})); }

// Found by the fuzzer: a number too large for any JSON number type made the JSON library throw
// out_of_range rather than parse_error.
TEST(SafetensorsBad, NumberTooLarge) {
  EXPECT_TRUE(st_fails(st_bytes("{\"u\": {\"dtype\": 7777777777e7777777777777777777}}", 0), {"cannot be read", "406"}));
}

TEST(SafetensorsBad, HeaderNotAnObject) { EXPECT_TRUE(st_fails(st_bytes("[1, 2]", 0), {"must be a JSON object"})); }

TEST(SafetensorsBad, OffsetsOutOfRange) {
  std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[100,108]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 8), {"tensor 'a'", "[100, 108]", "out of range"}));
}

TEST(SafetensorsBad, OffsetsOverlap) {
  std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 12), {"tensor 'b'", "overlap tensor 'a'"}));
}

TEST(SafetensorsBad, OffsetsLeaveAGap) {
  std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 12), {"bytes [4, 8)", "belong to no tensor", "do not cover the data"}));
}

TEST(SafetensorsBad, TrailingDataNotCovered) {
  EXPECT_TRUE(st_fails(st_bytes(kGood, 16), {"bytes [12, 16)", "end of the data", "do not cover the data"}));
}

TEST(SafetensorsBad, OffsetsEndBeforeBegin) {
  std::string h = R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 4), {"tensor 'a'", "end before they begin"}));
}

TEST(SafetensorsBad, NegativeOffset) {
  std::string h = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[-4,0]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 4), {"tensor 'a'", "non-negative integer", "-4"}));
}

TEST(SafetensorsBad, UnknownDtype) {
  std::string h = R"({"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 4), {"tensor 'a'", "unknown dtype 'F8_E4M3'"}));
}

TEST(SafetensorsBad, ShapeDisagreesWithOffsets) {
  std::string h = R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 20), {"tensor 'a'", "shape [2, 3] of F32 needs 24 bytes", "hold 20"}));
}

TEST(SafetensorsBad, DuplicateName) {
  std::string h = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 2), {"duplicate name 'a'"}));
}

TEST(SafetensorsBad, NonUtf8Name) {
  std::string h = "{\"a\xff\xfe\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
  EXPECT_TRUE(st_fails(st_bytes(h, 1), {"not valid UTF-8", "names must be UTF-8"}));
}

TEST(SafetensorsBad, AbsurdShape) {
  // 2^62 * 2^62 elements: the product overflows 64 bits; checked before any allocation.
  std::string h = R"({"a":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,4]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 4), {"tensor 'a'", "absurd size"}));
}

TEST(SafetensorsBad, HugeButRepresentableShape) {  // fits in 64 bits, far beyond the file
  std::string h = R"({"a":{"dtype":"F64","shape":[1000000000000],"data_offsets":[0,8000000000000]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 8), {"tensor 'a'", "out of range"}));
}

TEST(SafetensorsBad, DeeplyNestedHeader) {  // refused before parsing: no walk of it can recurse deeply
  std::string h = "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_TRUE(st_fails(st_bytes(h, 0), {"nests deeper than 16 levels", "at byte 28"}));
}

TEST(SafetensorsBad, MissingField) {
  std::string h = R"({"a":{"dtype":"F32","shape":[1]}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 4), {"tensor 'a'", "data_offsets"}));
}

TEST(SafetensorsBad, MetadataNotStrings) {
  std::string h = R"({"__metadata__":{"epoch":3}})";
  EXPECT_TRUE(st_fails(st_bytes(h, 0), {"__metadata__", "'epoch'", "must be a string"}));
}

TEST(SafetensorsBad, MissingFileNamesIt) {
  EXPECT_TRUE(throws_with([] { io::read_safetensors("/nonexistent/w.safetensors"); },
                          {"/nonexistent/w.safetensors", "cannot open"}));
}

// --- .npy --------------------------------------------------------------------------------------

std::vector<uint8_t> npy_bytes(const std::string& header, size_t data, int64_t n = -1) {
  uint64_t len = n < 0 ? header.size() : static_cast<uint64_t>(n);
  const uint8_t magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(len), static_cast<uint8_t>(len >> 8)};
  std::vector<uint8_t> out(sizeof magic + header.size() + data, 0);
  std::memcpy(out.data(), magic, sizeof magic);
  if (!header.empty()) std::memcpy(out.data() + sizeof magic, header.data(), header.size());
  return out;
}

::testing::AssertionResult npy_fails(const std::vector<uint8_t>& bytes, const std::vector<std::string>& parts) {
  TempFile f("bad.npy");
  f.write(bytes);
  auto all = parts;
  all.push_back(f.path);
  return throws_with([&] { io::read_npy(f.path); }, all);
}

const char* kNpy = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";

TEST(NpyBad, GoodFileReads) {
  TempFile f("good.npy");
  f.write(npy_bytes(kNpy, 24));
  EXPECT_EQ(io::read_npy(f.path).shape(), (std::vector<int64_t>{2, 3}));
}

TEST(NpyBad, Truncated) { EXPECT_TRUE(npy_fails({0x93, 'N', 'U'}, {"truncated", "3 bytes"})); }

TEST(NpyBad, NotNpy) { EXPECT_TRUE(npy_fails(st_bytes(kGood, 12), {"not a .npy file"})); }

TEST(NpyBad, HeaderLengthLargerThanFile) {
  EXPECT_TRUE(npy_fails(npy_bytes(kNpy, 0, 60000), {"header length 60000 is larger than the file"}));
}

TEST(NpyBad, TruncatedData) {
  EXPECT_TRUE(npy_fails(npy_bytes(kNpy, 20), {"truncated", "shape [2, 3] of <f4 needs 24 bytes", "holds 20"}));
}

TEST(NpyBad, TrailingBytes) { EXPECT_TRUE(npy_fails(npy_bytes(kNpy, 30), {"6 unexpected bytes after the data"})); }

TEST(NpyBad, FortranOrder) {
  EXPECT_TRUE(npy_fails(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24),
                        {"Fortran-order", "not supported"}));
}

TEST(NpyBad, BigEndian) {
  EXPECT_TRUE(npy_fails(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24),
                        {"big-endian", "'>f4'", "not supported"}));
}

TEST(NpyBad, UnknownDtype) {
  EXPECT_TRUE(npy_fails(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }\n", 24),
                        {"unsupported .npy dtype '<c8'"}));
}

TEST(NpyBad, AbsurdShape) {
  EXPECT_TRUE(npy_fails(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n", 8),
                        {"absurd size"}));
}

TEST(NpyBad, DimensionOverflowing64Bits) {
  EXPECT_TRUE(npy_fails(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }\n", 8),
                        {"absurd dimension"}));
}

TEST(NpyBad, MalformedHeader) {
  EXPECT_TRUE(npy_fails(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3\n", 24), {".npy header"}));
}

TEST(NpyBad, DuplicateKey) {
  EXPECT_TRUE(npy_fails(npy_bytes("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", 4),
                        {"duplicate key 'descr'"}));
}

TEST(NpyBad, MissingKey) {
  EXPECT_TRUE(npy_fails(npy_bytes("{'descr': '<f4', 'shape': (1,), }\n", 4), {"no 'fortran_order'"}));
}

}  // namespace

// A broken header is quoted in part, not whole: a 7,000-character string cut by a control character.
TEST(SafetensorsBad, ABrokenLongHeaderIsQuotedShort) {
  const std::string header = R"({"__metadata__":{"history":")" + std::string(7000, 'a') + "\x01\"}}";
  TempFile f("long.safetensors");
  f.write(st_bytes(header, 0));
  try {
    io::read_safetensors(f.path);
    FAIL() << "accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("the header is not valid JSON"), std::string::npos) << m;
    EXPECT_NE(m.find("characters ...]"), std::string::npos) << m;
    EXPECT_LT(m.size(), 400u) << m;
  }
}
