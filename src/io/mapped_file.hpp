// A whole file, read-only: memory-mapped where the system allows, else read into memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lj::io::detail {

class MappedFile {
 public:
  // Throws lj::Error naming the path when the file cannot be opened or read.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::unique_ptr<uint8_t[]> copy_;
};

// Writes bytes to path (replacing it), throwing lj::Error on failure.
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace lj::io::detail
