#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "llm_journey/error.hpp"

namespace lj::io::detail {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LJ_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  std::shared_ptr<MappedFile> f(new MappedFile);
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      f->data_ = static_cast<const uint8_t*>(p);
      f->mapped_ = true;
    } else {  // some file systems cannot map: read instead
      f->copy_.reset(new uint8_t[f->size_]);
      size_t got = 0;
      while (got < f->size_) {
        ssize_t r = ::pread(fd, f->copy_.get() + got, f->size_ - got, static_cast<off_t>(got));
        if (r <= 0) {
          ::close(fd);
          throw Error(path + ": read failed after " + std::to_string(got) + " bytes");
        }
        got += static_cast<size_t>(r);
      }
      f->data_ = f->copy_.get();
    }
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  LJ_CHECK(f, path, ": cannot open for writing: ", std::strerror(errno));
  bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fclose(f) == 0) && ok;
  LJ_CHECK(ok, path, ": write failed (", bytes.size(), " bytes)");
}

}  // namespace lj::io::detail
